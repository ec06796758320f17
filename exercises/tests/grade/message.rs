//! Filling the graders' message templates: each `{}` in turn takes the next value.
//!
//! The messages themselves are named constants at the top of each grader, so the words a
//! learner reads sit together, apart from the checks.

use std::fmt::Display;

/// Replaces each `{}` in `template` with the next of `values`.
pub fn fill(template: &str, values: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut values = values.iter();
    let mut pieces = template.split("{}");
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        match values.next() {
            Some(value) => out.push_str(&value.to_string()),
            None => out.push_str("{}"),
        }
        out.push_str(piece);
    }
    out
}
