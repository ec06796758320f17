//! The book's directives, parsed once for both readers of a chapter: mdBook's preprocessor
//! (which turns them into HTML at build time) and the REPL's `lesson N` (which runs them live).
//!
//! In a chapter, `{{#procbook demo pool --workers 3}}` stands where the demo's output goes,
//! `{{#procbook python python/06_pool.py}}` where a Python run's output goes,
//! `{{#procbook try demo pool}}` where the learner is told what to type, and
//! `{{#procbook exercises 6}}` where the chapter's exercises are listed. mdBook's own
//! `{{#include path:anchor}}` is parsed too, so the REPL can show the same code the book does.

use std::path::{Path, PathBuf};

/// One piece of a chapter, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Markdown to show as it is.
    Text(&'a str),
    /// `{{#include path}}` or `{{#include path:anchor}}`, path relative to the chapter.
    Include {
        path: &'a str,
        anchor: Option<&'a str>,
    },
    /// `{{#procbook demo NAME opts…}}`: the words after `demo`, as typed.
    Demo(Vec<&'a str>),
    /// `{{#procbook python FILE}}`: a Python file to run, relative to the chapter.
    Python(&'a str),
    /// `{{#procbook try COMMAND…}}`: a command for the learner to type.
    Try(Vec<&'a str>),
    /// `{{#procbook exercises N}}`: the chapter's exercises.
    Exercises(u32),
    /// A `{{#procbook …}}` that means nothing: kept so the build can fail loudly on it.
    Unknown(&'a str),
}

/// Split a chapter into text and directives. `{{#include}}` and `{{#procbook}}` are recognised
/// anywhere, including inside code fences, as mdBook does.
pub fn parse(chapter: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = chapter;
    while let Some(start) = rest.find("{{#") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = &rest[start + 3..start + len];
        let piece = match inner.split_once(char::is_whitespace) {
            Some(("include", arg)) => {
                let arg = arg.trim();
                let (path, anchor) = match arg.rsplit_once(':') {
                    Some((p, a)) if !a.is_empty() && !a.contains('/') => (p, Some(a)),
                    _ => (arg, None),
                };
                Some(Piece::Include { path, anchor })
            }
            Some(("procbook", arg)) => Some(procbook(arg.trim())),
            _ => None,
        };
        match piece {
            Some(piece) => {
                if start > 0 {
                    pieces.push(Piece::Text(&rest[..start]));
                }
                pieces.push(piece);
            }
            None => pieces.push(Piece::Text(&rest[..start + len + 2])),
        }
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

fn procbook(arg: &str) -> Piece<'_> {
    let mut words = arg.split_whitespace();
    match words.next() {
        Some("demo") => Piece::Demo(words.collect()),
        Some("python") => match words.next() {
            Some(file) => Piece::Python(file),
            None => Piece::Unknown(arg),
        },
        Some("try") => Piece::Try(words.collect()),
        Some("exercises") => match words.next().and_then(|n| n.parse().ok()) {
            Some(n) => Piece::Exercises(n),
            None => Piece::Unknown(arg),
        },
        _ => Piece::Unknown(arg),
    }
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name` in `source`, without any anchor
/// lines, as mdBook's include does; `None` if the anchor is not there.
pub fn anchored(source: &str, anchor: &str) -> Option<String> {
    let mut inside = false;
    let mut found = false;
    let mut lines = Vec::new();
    for line in source.lines() {
        let trimmed = line.trim_start();
        let marker = trimmed
            .strip_prefix("//")
            .or_else(|| trimmed.strip_prefix('#'))
            .map(str::trim);
        match marker {
            Some(m) if m.strip_prefix("ANCHOR:").map(str::trim) == Some(anchor) => {
                inside = true;
                found = true;
                continue;
            }
            Some(m) if m.strip_prefix("ANCHOR_END:").map(str::trim) == Some(anchor) => {
                inside = false;
                continue;
            }
            Some(m) if m.starts_with("ANCHOR") => continue,
            _ => {}
        }
        if inside {
            lines.push(line);
        }
    }
    found.then(|| dedent(&lines))
}

/// Remove the indentation every non-blank line shares (mdBook does the same for anchors).
fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        out.push_str(line.get(indent..).unwrap_or("").trim_end());
        out.push('\n');
    }
    out
}

/// Where an include points, from the chapter's folder.
pub fn resolve(chapter_dir: &Path, path: &str) -> PathBuf {
    chapter_dir.join(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_directives() {
        let text = "Intro\n{{#procbook demo pool --workers 3}}\n```rust\n{{#include ../../src/demos/pool.rs:demo}}\n```\n{{#procbook try demo pool}} {{#procbook exercises 6}}{{#title x}}";
        let pieces = parse(text);
        assert_eq!(
            pieces,
            vec![
                Piece::Text("Intro\n"),
                Piece::Demo(vec!["pool", "--workers", "3"]),
                Piece::Text("\n```rust\n"),
                Piece::Include {
                    path: "../../src/demos/pool.rs",
                    anchor: Some("demo")
                },
                Piece::Text("\n```\n"),
                Piece::Try(vec!["demo", "pool"]),
                Piece::Text(" "),
                Piece::Exercises(6),
                Piece::Text("{{#title x}}"),
            ]
        );
        assert_eq!(
            parse("{{#procbook frobnicate}}"),
            vec![Piece::Unknown("frobnicate")]
        );
        assert_eq!(
            parse("{{#include python/04_process.py}}"),
            vec![Piece::Include {
                path: "python/04_process.py",
                anchor: None
            }]
        );
    }

    #[test]
    fn anchors_are_cut_and_dedented() {
        let src = "fn main() {\n    // ANCHOR: demo\n    let x = 1;\n    // ANCHOR: inner\n    let y = 2;\n    // ANCHOR_END: inner\n    // ANCHOR_END: demo\n}\n";
        assert_eq!(anchored(src, "demo").unwrap(), "let x = 1;\nlet y = 2;\n");
        assert_eq!(anchored(src, "inner").unwrap(), "let y = 2;\n");
        assert!(anchored(src, "missing").is_none());
    }
}
