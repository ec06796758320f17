//! The prompt's helpers for rustyline: Tab completion and inline hints, both read from the
//! command table and the demo table, and the colours of the prompt and hints.

use std::borrow::Cow;

use colored::Colorize;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::{Context, Helper, Validator};

use super::line;
use crate::lessons;

/// What rustyline calls for completion, hints and highlighting.
#[derive(Helper, Validator, Default)]
pub struct ReplHelper;

/// The words that may complete the last word of `before` (the line up to the cursor), and
/// where that word starts.
pub fn complete(before: &str) -> (usize, Vec<String>) {
    // The byte after the last whitespace character, whatever its length in UTF-8 (U+00A0 is
    // two bytes, U+3000 three).
    let start = before
        .char_indices()
        .rfind(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let words: Vec<&str> = before[..start].split_whitespace().collect();
    let mut found: Vec<String> = match words.as_slice() {
        [] => line::visible()
            .iter()
            .map(|c| c.get_name().to_string())
            .collect(),
        ["help"] => line::visible()
            .iter()
            .map(|c| c.get_name().to_string())
            .chain(line::demo_names().map(String::from))
            .collect(),
        [command, given @ ..] if word.starts_with('-') => line::options(command, given)
            .into_iter()
            .filter(|o| !given.contains(&o.as_str()))
            .collect(),
        ["demo"] => line::demo_names().map(String::from).collect(),
        ["lesson"] => {
            // Lessons in their own order (0 1 2 … 10), not as strings sort (0 1 10 11 2 …).
            let mut found: Vec<String> = lessons::all()
                .iter()
                .map(|l| l.number.to_string())
                .collect();
            found.retain(|c| c.starts_with(word));
            return (start, found);
        }
        _ => Vec::new(),
    };
    found.retain(|c| c.starts_with(word));
    found.sort();
    found.dedup();
    (start, found)
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = complete_at(line, pos);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                replacement: format!("{c} "),
                display: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

/// A hint shown dimmed after the cursor; Right arrow accepts its `completion` part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineHint {
    pub display: String,
    pub completion: Option<String>,
}

impl Hint for LineHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.completion.as_deref()
    }
}

/// What to hint after `line` (the cursor at its end): the rest of a command or demo name with
/// what it takes, or what a command expects next.
pub fn hint(line: &str) -> Option<LineHint> {
    if line.trim().is_empty() {
        return None;
    }
    let ends_in_space = line.ends_with(char::is_whitespace);
    let words: Vec<&str> = line.split_whitespace().collect();
    let only = |found: Vec<String>, typed: &str| match found.as_slice() {
        [one] if one.len() > typed.len() => Some(one[typed.len()..].to_string()),
        _ => None,
    };
    match (words.as_slice(), ends_in_space) {
        ([typed], false) => {
            let (_, found) = complete(typed);
            if let Some(command) = line::find(typed) {
                let args = line::args(&command, false);
                return (!args.is_empty()).then(|| LineHint {
                    display: format!(" {args}"),
                    completion: None,
                });
            }
            let rest = only(found, typed)?;
            let command = line::find(&format!("{typed}{rest}"))?;
            let args = line::args(&command, false);
            Some(LineHint {
                display: format!("{rest} {args}").trim_end().to_string(),
                completion: Some(rest),
            })
        }
        (["demo"], true) => Some(LineHint {
            display: format!(
                "NAME: {}",
                line::demo_names().collect::<Vec<_>>().join(", ")
            ),
            completion: None,
        }),
        (["demo", typed], false) => {
            let name = match crate::demos::find(typed) {
                Some(demo) => demo.name.to_string(),
                None => {
                    let (_, found) = complete(line);
                    format!("{typed}{}", only(found, typed)?)
                }
            };
            let demo = crate::demos::find(&name)?;
            let rest = name[typed.len()..].to_string();
            Some(LineHint {
                display: format!("{rest}  ({})", demo.summary),
                completion: (!rest.is_empty()).then_some(rest),
            })
        }
        (["demo", name], true) => {
            let demo = crate::demos::find(name)?;
            let options: Vec<String> = demo
                .options
                .iter()
                .map(|o| line::option_usage("demo", o))
                .collect();
            (!options.is_empty()).then(|| LineHint {
                display: options.join(" "),
                completion: None,
            })
        }
        (["lesson"], true) => Some(LineHint {
            display: format!("N: 0 to {}", lessons::last()),
            completion: None,
        }),
        (["lesson", n], false) => {
            let lesson = lessons::find(n.parse().ok()?).ok()?;
            Some(LineHint {
                display: format!("  ({})", lesson.title),
                completion: None,
            })
        }
        _ => None,
    }
}

/// The hint for `line` with the cursor at byte `pos`: only at the end of the line (a hint in
/// the middle would cover what is typed after the cursor).
pub fn hint_at(line: &str, pos: usize) -> Option<LineHint> {
    if pos < line.len() {
        return None;
    }
    hint(line)
}

/// Tab completion for `line` with the cursor at byte `pos` (any position, on a character
/// boundary or not): where the replaced word starts, and what may replace it.
pub fn complete_at(line: &str, pos: usize) -> (usize, Vec<String>) {
    let mut pos = pos.min(line.len());
    while !line.is_char_boundary(pos) {
        pos -= 1;
    }
    complete(&line[..pos])
}

/// A hint as it is drawn without colour: between `‹` and `›`, so it cannot pass for typed
/// text. (rustyline measures the hint as given, so the marks go in the text, not around it
/// when it is drawn.)
pub fn marked(hint: LineHint) -> LineHint {
    LineHint {
        display: format!("‹{}›", hint.display),
        ..hint
    }
}

impl Hinter for ReplHelper {
    type Hint = LineHint;

    fn hint(&self, line: &str, pos: usize, _: &Context<'_>) -> Option<LineHint> {
        let hint = hint_at(line, pos)?;
        Some(if colored::control::SHOULD_COLORIZE.should_colorize() {
            hint
        } else {
            marked(hint)
        })
    }
}

impl Highlighter for ReplHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        if default && colored::control::SHOULD_COLORIZE.should_colorize() {
            Cow::Owned(prompt.green().bold().to_string())
        } else {
            Cow::Borrowed(prompt)
        }
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if colored::control::SHOULD_COLORIZE.should_colorize() {
            Cow::Owned(hint.dimmed().to_string())
        } else {
            Cow::Borrowed(hint)
        }
    }

    fn highlight_char(&self, _: &str, _: usize, _: CmdKind) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(before: &str) -> Vec<String> {
        complete(before).1
    }

    #[test]
    fn commands_demos_and_options_complete() {
        assert_eq!(words("dem"), vec!["demo"]);
        assert_eq!(words("les"), vec!["lesson", "lessons"]);
        assert_eq!(complete("demo po"), (5, vec!["pool".to_string()]));
        assert_eq!(words("demo pool --w"), vec!["--workers"]);
        assert_eq!(
            words("demo pool --workers 2 --"),
            vec!["--chunksize"],
            "an option already given is not offered again"
        );
        assert!(words("demo four --").is_empty());
        assert_eq!(words("bench --j"), vec!["--json"]);
        assert!(words("lesson ").contains(&"12".to_string()));
        assert!(words("help po").contains(&"pool".to_string()));
        assert!(words("frobnicate ").is_empty());
        assert!(words("").contains(&"quit".to_string()));
        assert!(!words("").contains(&"nap".to_string()), "hidden");
    }

    #[test]
    fn hints_finish_names_and_say_what_comes_next() {
        let h = hint("dem").unwrap();
        assert_eq!(h.display, "o [NAME]");
        assert_eq!(h.completion.as_deref(), Some("o"));
        assert_eq!(hint("lesson").unwrap().display, " N");
        assert!(hint("demo ").unwrap().display.contains("pool"));
        let h = hint("demo po").unwrap();
        assert_eq!(h.completion.as_deref(), Some("ol"));
        assert!(h.display.starts_with("ol  ("));
        assert_eq!(
            hint("demo pool ").unwrap().display,
            "[--workers N] [--chunksize K]"
        );
        assert!(hint("lesson 4").unwrap().display.contains("process"));
        assert_eq!(hint("lesson 99"), None);
        assert_eq!(hint(""), None);
        assert_eq!(hint("\"unclosed"), None);
    }

    /// Pieces a learner might type or paste: command words, Unicode spaces of 1 to 3 bytes in
    /// UTF-8, letters, and any character at all.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "demo", "lesson", "help", "bench", "po", "p", "--w", "-", " ", "\u{a0}",
                "\u{3000}", "\u{2003}", "\t", "é", "🦀", "\"",
            ])
            .prop_map(String::from),
            any::<char>().prop_map(String::from),
        ]
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Completion and hints never panic, whatever the line and wherever the cursor; the
        /// word completion replaces starts on a character boundary within the line.
        #[test]
        fn any_line_at_any_cursor(pieces in prop::collection::vec(piece(), 0..6), at in any::<prop::sample::Index>()) {
            let line: String = pieces.concat();
            let boundaries: Vec<usize> = (0..=line.len()).filter(|&i| line.is_char_boundary(i)).collect();
            let pos = boundaries[at.index(boundaries.len())];
            let (start, found) = complete_at(&line, pos);
            prop_assert!(start <= pos && line.is_char_boundary(start));
            for word in &found {
                prop_assert!(word.starts_with(&line[start..pos]));
            }
            let _ = hint_at(&line, pos);
            let _ = hint(&line[..pos]);
            // A cursor between the bytes of a character (rustyline never gives one) is safe too.
            let _ = complete_at(&line, pos + 1);
        }
    }

    #[test]
    fn unicode_spaces_separate_words() {
        assert_eq!(
            hint("demo\u{a0}po").unwrap().completion.as_deref(),
            Some("ol")
        );
        assert_eq!(complete("demo\u{3000}po"), (7, vec!["pool".to_string()]));
        assert!(words("lesson\u{a0}").contains(&"3".to_string()));
    }

    #[test]
    fn lessons_complete_in_their_own_order() {
        let found = words("lesson ");
        let numbers: Vec<u32> = found.iter().map(|n| n.parse().unwrap()).collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(numbers, sorted);
        assert_eq!(words("lesson 1"), vec!["1", "10", "11", "12"]);
    }

    #[test]
    fn without_colour_a_hint_is_marked() {
        assert_eq!(marked(hint("dem").unwrap()).display, "‹o [NAME]›");
    }
}
