//! Reference solutions, and pristine stubs, for the exercises: kept out of sight, in the
//! binary, and written out only when they are asked for.
//!
//! A solution is shown once its exercise has passed, as rustlings does: it is written to
//! `exercises/solutions/NAME.rs` the first time grading passes it, for the learner to compare
//! with their own. The stubs are what `reset N` puts back. Both live in `src/grade/` (not beside
//! the learner's files), and procbook's own tests prove that every stub fails its grader for
//! its own reason and every solution passes.

use anyhow::{Context, Result};
use colored::Colorize;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

macro_rules! files {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!($dir, "/", $name, ".rs")))),*]
    };
}

/// `(name, text)` of each exercise's reference solution.
pub const SOLUTIONS: &[(&str, &str)] = files!("solutions":
    "ex01_cores", "ex02_memory", "ex03_gil", "ex04_start_process", "ex05_exit_codes",
    "ex06_pool_map", "ex07_chunksize", "ex08_four_numbers", "ex09_by_name", "ex10_framing",
    "ex11_crash_isolation", "ex12_choosing",
);

/// `(name, text)` of each exercise's stub, as shipped.
pub const STUBS: &[(&str, &str)] = files!("stubs":
    "ex01_cores", "ex02_memory", "ex03_gil", "ex04_start_process", "ex05_exit_codes",
    "ex06_pool_map", "ex07_chunksize", "ex08_four_numbers", "ex09_by_name", "ex10_framing",
    "ex11_crash_isolation", "ex12_choosing",
);

const REVEALED: &str =
    "A reference solution is now in {path}: one way to do it; compare it with yours.";

/// The text of `name`'s solution or stub.
pub fn text(files: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
    files.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Where a revealed solution is written.
pub fn solution_path(root: &Path, name: &str) -> PathBuf {
    root.join("exercises")
        .join("solutions")
        .join(format!("{name}.rs"))
}

/// Writes `name`'s solution out, the first time it has passed; says so.
pub fn reveal(root: &Path, name: &str, out: &mut dyn Write) -> Result<()> {
    let path = solution_path(root, name);
    let Some(solution) = text(SOLUTIONS, name) else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().context("a solution path has a folder")?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(&path, solution).with_context(|| format!("writing {}", path.display()))?;
    let shown = path.strip_prefix(root).unwrap_or(&path);
    writeln!(
        out,
        "{}",
        REVEALED
            .replace("{path}", &shown.display().to_string())
            .dimmed()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exercise_has_a_solution_and_a_stub() {
        for exercise in super::super::manifest().unwrap() {
            assert!(
                text(SOLUTIONS, &exercise.name).is_some(),
                "{}",
                exercise.name
            );
            let stub = text(STUBS, &exercise.name).unwrap();
            assert!(
                stub.contains("todo!()"),
                "{}: a stub has todo!()",
                exercise.name
            );
        }
    }
}
