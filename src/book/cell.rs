//! What the preprocessor writes into a chapter in place of a directive: the output cell under
//! a code block, the "Try it" line, and the list of a chapter's exercises. Markdown where
//! mdBook should render it, HTML where the book's CSS needs a hook (book/theme/captured.css).

use std::fmt::Write as _;

use super::capture::{Captured, utc_minute};
use crate::grade::ExerciseInfo;

/// The output of a run, like a notebook cell's, with where and when it was captured.
pub fn output(command: &str, captured: &Captured) -> String {
    let cores = match captured.cores {
        1 => "1 core".to_string(),
        n => format!("{n} cores"),
    };
    let runtime = captured
        .runtime
        .as_deref()
        .map(|r| format!(" ({})", escape(r)))
        .unwrap_or_default();
    let busy = if was_busy(captured) {
        " <strong>The machine was busy with other work during this run, so it could not show \
         the lesson</strong>: the output says so first; run it again on a quieter machine."
    } else {
        ""
    };
    let caption = format!(
        "Captured by <code>{}</code>{runtime} on {}, on {cores}.{busy}",
        escape(command),
        utc_minute(captured.at)
    );
    let output = captured.output.trim_end_matches('\n');
    let fence = fence_for(output);
    let output = shield(output);
    format!(
        "<div class=\"procbook-output\" {}>\n\n{fence}text\n{output}\n{fence}\n\n\
         <p class=\"procbook-caption\">{caption}</p>\n\n</div>\n",
        run_attribute(command)
    )
}

/// Did the run say that other work kept it from showing its lesson? A demo records
/// `"busy": true` in its result (`demo gil`); a Python script says so in words (03_gil.py).
fn was_busy(captured: &Captured) -> bool {
    let recorded = captured
        .records
        .iter()
        .any(|r| matches!(r, crate::figure::Record::Result { data, .. } if data["busy"] == true));
    recorded
        || captured.output.lines().any(|line| {
            line.contains("This machine was busy") || line.contains("This machine was too busy")
        })
}

/// An output cell with a figure drawn from the same run, under the caption.
pub fn with_figure(cell: &str, figure: &str) -> String {
    match cell.trim_end().strip_suffix("</div>") {
        Some(open) => format!("{open}{figure}\n</div>\n"),
        None => format!("{cell}{figure}"),
    }
}

/// In place of a Python cell's output when the book was built without `python3`.
pub fn no_python(command: &str) -> String {
    format!(
        "<div class=\"procbook-output procbook-missing\" {}>\n\n<p class=\"procbook-caption\">\
         No output here: <code>python3</code> was not installed when this book was built. \
         Run <code>{}</code> from <code>book/src</code> to see it.</p>\n\n</div>\n",
        run_attribute(command),
        escape(command)
    )
}

/// `data-procbook-run="demo four"`: what the served book's "Run on my machine" asks the
/// server to run for this cell (book/theme/live.js; src/book/serve/run.rs).
fn run_attribute(command: &str) -> String {
    let run = command.strip_prefix("procbook ").unwrap_or(command);
    format!("data-procbook-run=\"{}\"", escape(run))
}

/// The "Try it" line: the same command for the terminal and for the REPL.
pub fn try_it(words: &[&str]) -> String {
    let line = escape(&words.join(" "));
    format!(
        "<div class=\"procbook-try\"><span class=\"procbook-try-label\">Try it</span> \
         in a terminal: <code>procbook {line}</code> \
         <span class=\"procbook-try-or\">or in the REPL:</span> <code>{line}</code></div>\n"
    )
}

/// The exercises that go with a chapter.
pub fn exercises(list: &[ExerciseInfo]) -> String {
    if list.is_empty() {
        return "<div class=\"procbook-exercises\">\n\nThis chapter has no exercises of its \
                own.\n\n</div>\n"
            .to_string();
    }
    let mut md = String::from("<div class=\"procbook-exercises\">\n\n");
    for ex in list {
        // `cargo test -p exercises ex03` runs exercise 3's grader.
        let filter = ex.name.split('_').next().unwrap_or(&ex.name);
        let _ = write!(
            md,
            "- **Exercise {n}: `{}`**: {}\\\n  Edit `{}`, then run \
             `cargo test -p exercises {filter}` (or `check {n}` in the REPL). Stuck? `hint {n}`.\n",
            ex.name,
            ex.summary,
            ex.path.display(),
            n = ex.number,
        );
    }
    md.push_str("\n</div>\n");
    md
}

/// `text` with every `{{#…}}` escaped as `\{{#…}}`, which mdBook's own link preprocessor
/// (it runs after this one) turns back into `{{#…}}` instead of acting on it.
pub fn shield(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while let Some(at) = rest.find("{{#") {
            let escaped = rest[..at].ends_with('\\');
            out.push_str(&rest[..at]);
            if !escaped && rest[at..].contains("}}") {
                out.push('\\');
            }
            out.push_str("{{#");
            rest = &rest[at + 3..];
        }
        out.push_str(rest);
    }
    out
}

/// A code fence longer than any run of backticks in `text`.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text made safe to put between HTML tags.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Indent every line but the first by `indent`, so a block lands inside the list item or
/// quote its directive was written in.
pub fn indent(block: &str, indent: &str) -> String {
    if indent.is_empty() {
        return block.to_string();
    }
    let mut out = String::new();
    for (i, line) in block.split_inclusive('\n').enumerate() {
        if i > 0 && line.trim() != "" {
            out.push_str(indent);
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn an_output_cell_says_what_ran_when_and_on_how_many_cores() {
        let captured = Captured {
            output: "[SpawnPoolWorker-1 pid 4711] squared 3\n```\n{{#include x}}\n".into(),
            at: UNIX_EPOCH + Duration::from_secs(1_795_315_290),
            cores: 2,
            runtime: None,
            records: Vec::new(),
        };
        let cell = output("procbook demo pool", &captured);
        let with = with_figure(&cell, "<figure>F</figure>");
        assert!(
            with.ends_with("</p>\n\n<figure>F</figure>\n</div>\n"),
            "{with}"
        );
        assert!(
            cell.contains(
                "\n````text\n[SpawnPoolWorker-1 pid 4711] squared 3\n```\n\\{{#include x}}\n````\n"
            ),
            "{cell}"
        );
        assert!(cell.contains("Captured by <code>procbook demo pool</code> on 2026-11-22 at 02:41 UTC, on 2 cores."), "{cell}");
    }

    #[test]
    fn a_busy_run_says_so_in_its_caption_and_a_quiet_one_does_not() {
        let quiet = Captured {
            output: "serial 1.00 cores\n".into(),
            at: UNIX_EPOCH,
            cores: 2,
            runtime: None,
            records: Vec::new(),
        };
        assert!(!output("procbook demo gil", &quiet).contains("was busy"));
        let said = Captured {
            output: "This machine was busy with other work: the serial run had 0.40 cores\n".into(),
            ..quiet.clone()
        };
        assert!(output("python3 python/03_gil.py", &said).contains("The machine was busy"));
        let recorded = Captured {
            records: vec![crate::figure::Record::Result {
                demo: "gil".into(),
                data: serde_json::json!({"busy": true, "runs": []}),
            }],
            ..quiet
        };
        assert!(output("procbook demo gil", &recorded).contains("The machine was busy"));
    }

    #[test]
    fn try_lines_and_exercises() {
        let line = try_it(&["demo", "pool", "--workers", "3"]);
        assert!(line.contains("<code>procbook demo pool --workers 3</code>"));
        assert!(line.contains("or in the REPL:</span> <code>demo pool --workers 3</code>"));
        let ex = ExerciseInfo {
            number: 3,
            name: "ex03_start_process".into(),
            chapter: 4,
            path: "exercises/src/ex03_start_process.rs".into(),
            summary: "Start a child.".into(),
            hint: String::new(),
        };
        let list = exercises(&[ex]);
        assert!(list.contains("`cargo test -p exercises ex03`"), "{list}");
        assert!(list.contains("`hint 3`"), "{list}");
    }

    #[test]
    fn directives_in_output_are_shielded_from_mdbook() {
        assert_eq!(
            shield("a {{#include x}} b\n{{# alone\n"),
            "a \\{{#include x}} b\n{{# alone\n"
        );
    }

    #[test]
    fn blocks_follow_their_directive_in() {
        assert_eq!(indent("a\n\nb\n", "  "), "a\n\n  b\n");
    }
}
