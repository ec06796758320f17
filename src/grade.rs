//! Grading the exercises: runs their graders, reads what they said, and shows progress.
//!
//! The exercises crate holds one grader per exercise, each in a test binary of its own
//! (`tests/ex06_pool_map.rs`), which runs the learner's code in a sandbox and fails with a
//! message that teaches. [`check`] builds them (a compile error blocks only its exercise),
//! runs them, and prints a progress bar, the first unfinished exercise and what its grader
//! said; [`hint`] prints an exercise's hint a step at a time; [`list`], [`run`], [`reset`] and
//! [`watch`] make the learner's loop. Progress is what grading finds, never read from a file.
//! Which exercises exist, their chapters and hints come from the manifest,
//! `exercises/info.toml`, embedded in the binary.
//!
//! Everything is written to the `out` the caller passes, never to stdout, in colour only when
//! the caller has let `colored` use it.

mod cargo;
mod learner;
mod libtest;
mod manifest;
mod place;
mod progress;
mod solutions;
mod watch;

pub use learner::{list, reset, run};
pub use libtest::{Outcome, parse_test_output};
pub use manifest::{ExerciseInfo, exercise, exercises_for_chapter, manifest};
pub use place::{enter_repl, typed};
pub use progress::Progress;

use anyhow::{Result, bail};
use colored::Colorize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The workspace procbook was built in, whose `exercises/` the learner works on. procbook is a
/// workbook run from its own clone, so wherever the binary is started from, the exercises are
/// where cargo compiled it.
const WORKSPACE: &str = env!("CARGO_MANIFEST_DIR");
/// How many characters wide the progress bar's inside is.
const BAR_WIDTH: usize = 30;

const GRADING_ALL: &str = "Grading all {total} exercises...";
const GRADING_ONE: &str = "Grading exercise {n}, {name}...";
const NO_CARGO: &str = "cargo could not build what every exercise needs (the worker, the sandbox, \
the shared library), so none could be graded:";
const NO_GRADER: &str =
    "no grader reported on this exercise: is its test in exercises/tests/grade/?";
const ALL_DONE: &str = "All {total} exercises are done. The solutions in exercises/solutions/ \
are one way to do each; compare them with yours.";
const NOT_GRADED_YET: &str = "Not graded yet; `procbook check {n}` grades it.";
const WHOLE_PICTURE: &str = "`procbook check` grades all {total} and shows your progress.";
const STUCK: &str = "Stuck? `procbook hint {n}` gives a hint; the task is at the top of the file.";

/// What one `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// How many exercises are done: those graded now, and the others as last graded.
    pub done: usize,
    /// How many exercises there are.
    pub total: usize,
    /// The exercises graded this time, in book order, with what their graders said.
    pub graded: Vec<Graded>,
    /// The first exercise, in book order, that is not done; `None` when all are.
    pub next: Option<u32>,
    /// What cargo said when it could not build what every exercise needs (nothing was
    /// graded). An exercise that does not compile is graded as failed, not this.
    pub build_error: Option<String>,
}

/// One exercise's grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graded {
    pub number: u32,
    pub name: String,
    pub outcome: Outcome,
}

/// Grades every exercise (`None`) or exercise `n` alone, and prints the progress bar, the
/// first unfinished exercise and its grader's message.
pub fn check(which: Option<u32>, out: &mut dyn Write) -> Result<Summary> {
    Workbook::default().check(which, out)
}

/// Prints the next step of exercise `n`'s hint: the first time its first step, each time
/// again the next, and after the last, the first again. An unknown `n` is a one-line error
/// naming the valid range.
pub fn hint(n: u32, out: &mut dyn Write) -> Result<()> {
    Workbook::default().hint(n, out)
}

/// Grades everything once, then again whenever an exercise file is saved, until `stop()` is
/// true (it is asked at least every 200 ms, during grading too).
pub fn watch(out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<()> {
    Workbook::default().watch(out, stop)
}

/// A clone of procbook whose exercises are graded: where it is, and where cargo builds.
///
/// The functions above use the clone procbook was built in; tests grade a copy elsewhere.
#[derive(Debug, Clone)]
pub struct Workbook {
    root: PathBuf,
    target_dir: Option<PathBuf>,
    env: Vec<(String, String)>,
}

/// Names another clone whose exercises procbook grades (its own tests use a scratch copy).
const WORKSPACE_VAR: &str = "PROCBOOK_WORKSPACE";

impl Default for Workbook {
    fn default() -> Self {
        match std::env::var_os(WORKSPACE_VAR) {
            Some(root) => Workbook::at(root),
            None => Workbook::at(WORKSPACE),
        }
    }
}

impl Workbook {
    /// The workspace at `root`: a `Cargo.toml` whose members include `exercises`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Workbook {
            root: root.into(),
            target_dir: None,
            env: Vec::new(),
        }
    }

    /// Builds the graders in `dir` rather than cargo's default target directory.
    pub fn with_target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    /// Sets `key` to `value` for cargo and the graders, such as `EXERCISES_TIMEOUT_MS`, the
    /// deadline each grader gives the learner's code (10 s unless set).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// [`hint`] for this workbook: which step was shown last is kept in its target folder
    /// (a note for convenience only: it decides nothing).
    pub fn hint(&self, n: u32, out: &mut dyn Write) -> Result<()> {
        let exercise = manifest::exercise(n)?;
        let steps = exercise.hint_steps();
        let note = self.root.join("target").join("procbook").join("hints");
        let text = std::fs::read_to_string(&note).unwrap_or_default();
        let mut shown: Vec<(String, usize)> = text
            .lines()
            .filter_map(|l| {
                let (name, step) = l.split_once(' ')?;
                Some((name.to_string(), step.parse().ok()?))
            })
            .collect();
        let last = shown
            .iter()
            .find(|(name, _)| *name == exercise.name)
            .map(|s| s.1);
        let step = match last {
            Some(last) if last + 1 < steps.len() => last + 1,
            _ => 0,
        };
        writeln!(
            out,
            "{}",
            format!(
                "Hint for exercise {}, {} (chapter {}), step {} of {}:",
                exercise.number,
                exercise.name,
                exercise.chapter,
                step + 1,
                steps.len()
            )
            .bold()
        )?;
        writeln!(out, "{}", steps[step])?;
        let again = if step + 1 < steps.len() {
            format!("`procbook hint {n}` again shows the next step.")
        } else {
            format!("That was the last step; `procbook hint {n}` starts again from the first.")
        };
        writeln!(out, "{}", typed(&again).dimmed())?;
        shown.retain(|(name, _)| *name != exercise.name);
        shown.push((exercise.name.clone(), step));
        let text: String = shown.iter().map(|(n, s)| format!("{n} {s}\n")).collect();
        // Failing to note the step only means the same step is shown next time.
        if let Some(dir) = note.parent() {
            let _ = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&note, text));
        }
        Ok(())
    }

    /// [`check`] for this workbook.
    pub fn check(&self, which: Option<u32>, out: &mut dyn Write) -> Result<Summary> {
        match self.check_until(which, out, &|| false)? {
            Some(summary) => Ok(summary),
            None => bail!("grading was stopped"),
        }
    }

    /// [`watch`] for this workbook.
    pub fn watch(&self, out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<()> {
        watch::watch(self, out, stop)
    }

    /// Grades and prints, as [`check`] does; `None` if `stop()` turned true first, in which
    /// case every process grading started has been stopped.
    pub fn check_until(
        &self,
        which: Option<u32>,
        out: &mut dyn Write,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Summary>> {
        self.grade(which, &mut Progress::default(), out, stop)
    }

    /// Grades every exercise (`None`) or exercise `n`, notes the outcomes in `progress`, and
    /// prints them; the progress bar only when `progress` knows every exercise.
    pub(crate) fn grade(
        &self,
        which: Option<u32>,
        progress: &mut Progress,
        out: &mut dyn Write,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Summary>> {
        let all = manifest()?;
        let total = all.len();
        let chosen: Vec<&ExerciseInfo> = match which {
            Some(n) => vec![
                all.iter()
                    .find(|e| e.number == n)
                    .ok_or_else(|| manifest::exercise(n).unwrap_err())?,
            ],
            None => all.iter().collect(),
        };
        let announce = match which {
            Some(_) => GRADING_ONE
                .replace("{n}", &chosen[0].number.to_string())
                .replace("{name}", &chosen[0].name),
            None => GRADING_ALL.replace("{total}", &total.to_string()),
        };
        writeln!(out, "{}", announce.dimmed())?;
        out.flush()?;

        let names: Vec<&str> = chosen.iter().map(|e| e.name.as_str()).collect();
        let Some(graded) = cargo::run_graders(&self.cargo_setting(), &names, stop)? else {
            return Ok(None);
        };
        let mut outcomes = match graded {
            cargo::Graded::Outcomes(outcomes) => outcomes,
            cargo::Graded::CargoFailed(error) => {
                writeln!(out, "{}", NO_CARGO.red().bold())?;
                writeln!(out, "\n{error}\n")?;
                return Ok(Some(self.summarize(
                    &all,
                    progress,
                    Vec::new(),
                    Some(error),
                )));
            }
        };

        let graded: Vec<Graded> = chosen
            .iter()
            .map(|e| Graded {
                number: e.number,
                name: e.name.clone(),
                outcome: outcomes
                    .remove(&e.name)
                    .unwrap_or_else(|| Outcome::Failed(NO_GRADER.into())),
            })
            .collect();
        for g in &graded {
            progress.set(&g.name, g.outcome.passed());
            if g.outcome.passed() {
                solutions::reveal(&self.root, &g.name, out)?;
            }
        }
        let summary = self.summarize(&all, progress, graded, None);
        let complete = all.iter().all(|e| progress.knows(&e.name));
        print_summary(out, &all, &summary, which, complete)?;
        Ok(Some(summary))
    }

    fn cargo_setting(&self) -> cargo::Setting<'_> {
        cargo::Setting {
            root: &self.root,
            target_dir: self.target_dir.as_deref(),
            env: &self.env,
        }
    }

    fn summarize(
        &self,
        all: &[ExerciseInfo],
        progress: &Progress,
        graded: Vec<Graded>,
        build_error: Option<String>,
    ) -> Summary {
        Summary {
            done: all.iter().filter(|e| progress.is_done(&e.name)).count(),
            total: all.len(),
            next: all
                .iter()
                .find(|e| !progress.is_done(&e.name))
                .map(|e| e.number),
            graded,
            build_error,
        }
    }
}

fn print_summary(
    out: &mut dyn Write,
    all: &[ExerciseInfo],
    summary: &Summary,
    which: Option<u32>,
    complete: bool,
) -> Result<()> {
    // Grading one: say how it went, whatever comes next.
    if which.is_some() {
        for g in &summary.graded {
            match &g.outcome {
                Outcome::Passed => writeln!(
                    out,
                    "{} exercise {}, {}, is done.",
                    "✓".green().bold(),
                    g.number,
                    g.name
                )?,
                Outcome::Failed(message) => {
                    writeln!(
                        out,
                        "{} exercise {}, {}, is not done yet:",
                        "✗".red().bold(),
                        g.number,
                        g.name
                    )?;
                    // The heading has said "not done yet"; a todo!()'s message need not again.
                    let message = message.strip_prefix("not done yet: ").unwrap_or(message);
                    writeln!(out, "{}", indent(&typed(message)))?;
                }
            }
        }
    }
    if !complete {
        // Only this one was graded: a bar would have to guess the others.
        let whole = WHOLE_PICTURE.replace("{total}", &summary.total.to_string());
        writeln!(out, "{}", typed(&whole).dimmed())?;
        return Ok(());
    }
    print_bar(out, summary.done, summary.total)?;
    let Some(next) = summary
        .next
        .and_then(|n| all.iter().find(|e| e.number == n))
    else {
        writeln!(
            out,
            "{}",
            ALL_DONE
                .replace("{total}", &summary.total.to_string())
                .green()
        )?;
        return Ok(());
    };
    let stuck = STUCK.replace("{n}", &next.number.to_string());
    let message = summary
        .graded
        .iter()
        .find(|g| g.number == next.number)
        .and_then(|g| match &g.outcome {
            Outcome::Failed(message) => Some(message.as_str()),
            Outcome::Passed => None,
        });
    // A "not done yet" message already says where the hint is.
    let stuck = match message {
        Some(m) if m.contains("procbook hint") => None,
        _ => Some(stuck),
    };
    if which != Some(next.number) {
        writeln!(
            out,
            "{} exercise {}, {} (chapter {}): {}",
            "Next:".bold(),
            next.number,
            next.name,
            next.chapter,
            next.path.display()
        )?;
        // (When it was the one graded, its message has just been printed.)
        let not_graded = NOT_GRADED_YET.replace("{n}", &next.number.to_string());
        writeln!(out, "{}", indent(&typed(message.unwrap_or(&not_graded))))?;
    }
    if let Some(stuck) = stuck {
        writeln!(out, "{}", typed(&stuck).dimmed())?;
    }
    Ok(())
}

/// `Progress: [##########--------------------] 4/12`
fn print_bar(out: &mut dyn Write, done: usize, total: usize) -> Result<()> {
    let filled = (done * BAR_WIDTH).checked_div(total).unwrap_or(0);
    writeln!(
        out,
        "{} [{}{}] {done}/{total}",
        "Progress:".bold(),
        "#".repeat(filled).green(),
        "-".repeat(BAR_WIDTH - filled).red()
    )?;
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_done_over_total() {
        let mut out = Vec::new();
        print_bar(&mut out, 3, 12).unwrap();
        // Count marks rather than compare text: colour codes may sit between them.
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('#').count(), 7);
        assert_eq!(text.matches('-').count(), 23);
        assert!(text.trim_end().ends_with("] 3/12"), "{text}");
    }

    #[test]
    fn a_hint_for_an_unknown_exercise_names_the_range() {
        let total = manifest().unwrap().len();
        let err = hint(0, &mut Vec::new()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("no exercise 0: the exercises are numbered 1 to {total}")
        );
    }

    #[test]
    fn hints_come_in_steps_and_start_again_after_the_last() {
        let dir = std::env::temp_dir().join(format!("procbook-hints-{}", std::process::id()));
        let workbook = Workbook::at(&dir);
        let mut shown = Vec::new();
        for _ in 0..3 {
            let mut out = Vec::new();
            workbook.hint(1, &mut out).unwrap();
            shown.push(String::from_utf8(out).unwrap());
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(shown[0].contains("step 1 of 2"), "{}", shown[0]);
        // The first step points the way without spelling out the call...
        assert!(!shown[0].contains("available_parallelism"), "{}", shown[0]);
        // ...the next one does, and after the last the first comes again.
        assert!(shown[1].contains("step 2 of 2") && shown[1].contains("available_parallelism"));
        assert!(shown[2].contains("step 1 of 2"), "{}", shown[2]);
    }
}
