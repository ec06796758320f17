//! The learner's loop around the exercises, as in rustlings: `list` every exercise with its
//! state, `run N` to see what my code prints, `reset N` to start an exercise again.

use super::solutions::{self, STUBS};
use super::{Outcome, Progress, Workbook, manifest, typed};
use anyhow::{Context, Result, bail};
use colored::Colorize;
use std::fs;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Set for a grader whose learner output `run` shows: the file the grader writes it to.
const SHOW_VAR: &str = "EXERCISES_SHOW_OUTPUT";

const PRINTED: &str = "Your code printed:";
const PRINTED_NOTHING: &str = "Your code printed nothing (println! output shows here).";
const RESET: &str = "Exercise {n}, {name}, is back to its stub: {path}.";
const KEPT: &str = "Your version is kept in {backup}.";
const NO_STUB: &str = "procbook has no stub for {name}";

/// Grades every exercise and lists each with its state; `None` if stopped.
pub fn list(out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<Option<Progress>> {
    Workbook::default().list(out, stop)
}

/// Grades exercise `n` and shows what its code printed, then the verdict.
pub fn run(n: u32, out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<bool> {
    Workbook::default().run(n, out, stop)
}

/// Puts exercise `n` back to its stub, keeping the learner's version.
pub fn reset(n: u32, out: &mut dyn Write) -> Result<()> {
    Workbook::default().reset(n, out)
}

impl Workbook {
    /// [`list`] for this workbook.
    pub fn list(&self, out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<Option<Progress>> {
        let mut progress = Progress::default();
        // Grade quietly; the list says it all.
        let mut grading = Vec::new();
        let Some(summary) = self.grade(None, &mut progress, &mut grading, stop)? else {
            return Ok(None);
        };
        if let Some(error) = &summary.build_error {
            out.write_all(&grading)?;
            bail!("could not grade: {}", error.lines().next().unwrap_or(""));
        }
        let all = manifest()?;
        writeln!(
            out,
            "{}",
            "  #  exercise              state        chapter".bold()
        )?;
        for e in &all {
            let graded = summary.graded.iter().find(|g| g.name == e.name);
            let state = match graded.map(|g| &g.outcome) {
                Some(Outcome::Passed) => "✓ done".green(),
                Some(Outcome::Failed(m)) if m.contains("still has todo!()") => "· to do".normal(),
                Some(Outcome::Failed(m)) if m.starts_with("it does not compile") => {
                    "✗ no build".red()
                }
                Some(Outcome::Failed(_)) => "✗ not yet".red(),
                None => "? not graded".normal(),
            };
            let mark = if summary.next == Some(e.number) {
                "→"
            } else {
                " "
            };
            writeln!(
                out,
                "{mark}{:>2}  {:<20}  {:<11}  {:>7}  {}",
                e.number,
                e.name,
                state,
                e.chapter,
                e.summary.dimmed()
            )?;
        }
        writeln!(out, "Progress: {}/{} done.", summary.done, summary.total)?;
        if let Some(next) = summary.next {
            let text = format!(
                "`procbook run {next}` shows what your code prints; `procbook check {next}` grades it."
            );
            writeln!(out, "{}", typed(&text).dimmed())?;
        }
        Ok(Some(progress))
    }

    /// [`run`] for this workbook: whether the exercise passed.
    pub fn run(&self, n: u32, out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<bool> {
        let exercise = super::exercise(n)?;
        let dir = self.root.join("target").join("procbook");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let shown = dir.join(format!("run-{}-{n}.txt", std::process::id()));
        let _ = fs::remove_file(&shown);
        let workbook = self
            .clone()
            .with_env(SHOW_VAR, &shown.display().to_string());
        let mut grading = Vec::new();
        let summary = workbook.grade(Some(n), &mut Progress::default(), &mut grading, stop);
        let printed = fs::read_to_string(&shown).ok();
        let _ = fs::remove_file(&shown);
        let Some(summary) = summary? else {
            bail!("stopped before exercise {n} was graded");
        };
        // The "Grading…" line first, then what the code printed, then the verdict.
        let grading = String::from_utf8_lossy(&grading).into_owned();
        let (first, rest) = grading.split_once('\n').unwrap_or((&grading, ""));
        writeln!(out, "{first}")?;
        match printed.as_deref().map(str::trim_end) {
            Some("") => writeln!(out, "{}", PRINTED_NOTHING.dimmed())?,
            Some(text) => {
                writeln!(out, "{}", PRINTED.bold())?;
                for line in text.lines() {
                    writeln!(out, "  {line}")?;
                }
            }
            // No output file: the code did not get to run (it does not compile, say).
            None => {}
        }
        write!(out, "{rest}")?;
        Ok(summary
            .graded
            .iter()
            .any(|g| g.name == exercise.name && g.outcome.passed()))
    }

    /// [`reset`] for this workbook.
    pub fn reset(&self, n: u32, out: &mut dyn Write) -> Result<()> {
        let exercise = super::exercise(n)?;
        let stub = solutions::text(STUBS, &exercise.name)
            .with_context(|| NO_STUB.replace("{name}", &exercise.name))?;
        let path = self.root.join(&exercise.path);
        let mine = fs::read_to_string(&path).ok();
        if mine.as_deref() == Some(stub) {
            writeln!(out, "Exercise {n}, {}, is already its stub.", exercise.name)?;
            return Ok(());
        }
        let mut backup = None;
        if let Some(mine) = mine {
            // Never lose the learner's work: keep it, with the time, under target/.
            let secs = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let dir = self.root.join("target").join("procbook").join("reset");
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let kept = dir.join(format!("{}-{secs}.rs", exercise.name));
            fs::write(&kept, mine).with_context(|| format!("keeping {}", kept.display()))?;
            backup = Some(kept);
        }
        fs::write(&path, stub).with_context(|| format!("writing {}", path.display()))?;
        let text = RESET
            .replace("{n}", &n.to_string())
            .replace("{name}", &exercise.name)
            .replace("{path}", &exercise.path.display().to_string());
        writeln!(out, "{text}")?;
        if let Some(kept) = backup {
            let kept = kept.strip_prefix(&self.root).unwrap_or(&kept);
            writeln!(
                out,
                "{}",
                KEPT.replace("{backup}", &kept.display().to_string())
                    .dimmed()
            )?;
        }
        Ok(())
    }
}
