//! Reading libtest's plain-text report: which tests passed, and what each failure said.
//!
//! libtest's machine-readable output (`--format json`) is unstable, so this reads the
//! stable human format: `test NAME ... ok` lines, then one `---- NAME stdout ----` section per
//! failure, holding what the test printed; a grader that fails prints `Error: MESSAGE`.

use std::collections::BTreeMap;

/// What one grader said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The exercise is done.
    Passed,
    /// Not yet; the grader's message says what is still wrong.
    Failed(String),
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }
}

/// Every test libtest reported in `stdout`, by name, with its outcome. Ignored tests are left
/// out; a test that failed without printing anything gets a message saying so.
pub fn parse_test_output(stdout: &str) -> BTreeMap<String, Outcome> {
    let mut outcomes = BTreeMap::new();
    let mut sections: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut section: Option<String> = None;
    for line in stdout.lines() {
        if let Some((name, result)) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.rsplit_once(" ... "))
        {
            match result.trim() {
                "ok" => {
                    outcomes.insert(name.to_string(), Outcome::Passed);
                }
                "FAILED" => {
                    outcomes.insert(name.to_string(), Outcome::Failed(String::new()));
                }
                _ => {}
            }
            continue;
        }
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            section = Some(name.to_string());
            sections.entry(name.to_string()).or_default();
            continue;
        }
        if line == "failures:" || line.starts_with("test result: ") {
            section = None;
            continue;
        }
        if let Some(name) = &section {
            sections.entry(name.clone()).or_default().push(line);
        }
    }
    for (name, lines) in sections {
        let text = lines.join("\n");
        let text = text.trim();
        let message = text.strip_prefix("Error: ").unwrap_or(text).to_string();
        if let Some(Outcome::Failed(m)) = outcomes.get_mut(&name) {
            *m = message;
        }
    }
    for outcome in outcomes.values_mut() {
        if let Outcome::Failed(m) = outcome
            && m.is_empty()
        {
            *m = "the grader failed without saying why".to_string();
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as libtest 1.95 prints it for the exercises' graders (two failed, one passed).
    const REPORT: &str = "
running 3 tests
test ex01_cores ... ok
test ex02_memory ... FAILED
test ex03_gil ... FAILED

failures:

---- ex02_memory stdout ----
Error: not done yet: exercises/src/ex02_memory.rs:27 still has todo!().
Your task: Show that a forked child changes only its own copy.

---- ex03_gil stdout ----
Error: 4 threads were inside work at the same moment: take the GIL first.


failures:
    ex02_memory
    ex03_gil

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.14s
";

    #[test]
    fn reads_outcomes_and_messages() {
        let outcomes = parse_test_output(REPORT);
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes["ex01_cores"], Outcome::Passed);
        assert_eq!(
            outcomes["ex02_memory"],
            Outcome::Failed(
                "not done yet: exercises/src/ex02_memory.rs:27 still has todo!().\n\
                 Your task: Show that a forked child changes only its own copy."
                    .into()
            )
        );
        assert_eq!(
            outcomes["ex03_gil"],
            Outcome::Failed(
                "4 threads were inside work at the same moment: take the GIL first.".into()
            )
        );
    }

    #[test]
    fn a_silent_failure_still_gets_a_message() {
        let outcomes = parse_test_output("test ex01_cores ... FAILED\n");
        assert_eq!(
            outcomes["ex01_cores"],
            Outcome::Failed("the grader failed without saying why".into())
        );
    }

    #[test]
    fn no_tests_no_outcomes() {
        assert!(parse_test_output("error: could not compile `exercises`\n").is_empty());
    }
}
