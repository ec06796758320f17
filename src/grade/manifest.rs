//! The exercises' manifest, `exercises/info.toml`, embedded in the binary and read with serde.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::PathBuf;

/// The manifest's text, compiled in so that `procbook` can list and hint exercises from
/// anywhere, and so the book's preprocessor needs no path to it.
const INFO: &str = include_str!("../../exercises/info.toml");

/// One exercise, as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseInfo {
    /// Its number, 1 and up, in book order: the digits of its name.
    pub number: u32,
    /// Its name, which is also its file's stem and its grader's test name: `ex06_pool_map`.
    pub name: String,
    /// The book chapter it practises.
    pub chapter: u32,
    /// The learner's file, relative to the workspace root: `exercises/src/ex06_pool_map.rs`.
    pub path: PathBuf,
    /// One line saying what the exercise asks.
    pub summary: String,
    /// What `procbook hint N` prints: its steps, separated by a line `---`.
    pub hint: String,
}

impl ExerciseInfo {
    /// The hint's steps, from the first pointer to the most detailed.
    pub fn hint_steps(&self) -> Vec<&str> {
        self.hint
            .split("\n---\n")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// `info.toml` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Info {
    exercises: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    chapter: u32,
    summary: String,
    hint: String,
}

/// Every exercise, in book order.
///
/// Checks what the rest of procbook relies on: names `exNN_…` numbered 1, 2, 3… in order, and
/// chapters that never go backwards.
pub fn manifest() -> Result<Vec<ExerciseInfo>> {
    parse(INFO)
}

/// The exercises that practise chapter `ch`, in order (none is not an error).
pub fn exercises_for_chapter(ch: u32) -> Result<Vec<ExerciseInfo>> {
    Ok(manifest()?
        .into_iter()
        .filter(|e| e.chapter == ch)
        .collect())
}

/// The exercise numbered `n`, or an error naming the valid range.
pub fn exercise(n: u32) -> Result<ExerciseInfo> {
    let all = manifest()?;
    let total = all.len();
    all.into_iter()
        .find(|e| e.number == n)
        .with_context(|| format!("no exercise {n}: the exercises are numbered 1 to {total}"))
}

fn parse(text: &str) -> Result<Vec<ExerciseInfo>> {
    let info: Info = toml::from_str(text).context("reading exercises/info.toml")?;
    let mut exercises = Vec::with_capacity(info.exercises.len());
    let mut last_chapter = 0;
    for (i, entry) in info.exercises.into_iter().enumerate() {
        let number = u32::try_from(i + 1)?;
        let digits = format!("ex{number:02}_");
        if !entry.name.starts_with(&digits) {
            bail!(
                "exercises/info.toml: exercise {number} is named {:?}; it should start with {digits:?}",
                entry.name
            );
        }
        if entry.chapter < last_chapter {
            bail!(
                "exercises/info.toml: {} (chapter {}) comes after chapter {last_chapter}; keep book order",
                entry.name,
                entry.chapter
            );
        }
        last_chapter = entry.chapter;
        exercises.push(ExerciseInfo {
            number,
            path: PathBuf::from(format!("exercises/src/{}.rs", entry.name)),
            name: entry.name,
            chapter: entry.chapter,
            summary: entry.summary,
            hint: entry.hint.trim().to_string(),
        });
    }
    Ok(exercises)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_in_book_order_and_every_file_exists() {
        let all = manifest().unwrap();
        assert!(all.len() >= 10, "at least ten exercises");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for e in &all {
            assert!(
                root.join(&e.path).is_file(),
                "{} is missing",
                e.path.display()
            );
            let solution = root
                .join("src/grade/solutions")
                .join(format!("{}.rs", e.name));
            assert!(solution.is_file(), "{} is missing", solution.display());
            let grader = root
                .join("exercises/tests/grade")
                .join(format!("{}.rs", e.name));
            assert!(grader.is_file(), "{} is missing", grader.display());
            assert!(
                (1..=11).contains(&e.chapter),
                "{}: chapter {}",
                e.name,
                e.chapter
            );
        }
    }

    /// The graders read `chapter` and `summary` line by line, without a TOML parser (the
    /// exercises crate keeps to std), so those fields must stay plain.
    #[test]
    fn summaries_are_plain_enough_for_the_graders_line_reader() {
        for e in manifest().unwrap() {
            assert!(
                !e.summary.contains(['"', '\\', '\n']),
                "{}: keep its summary on one line, without quotes or backslashes",
                e.name
            );
            let line = format!("summary = \"{}\"", e.summary);
            assert!(
                INFO.lines().any(|l| l == line),
                "{}: summary not on one line",
                e.name
            );
        }
    }

    #[test]
    fn chapters_list_their_exercises() {
        let all = manifest().unwrap();
        let by_chapter: usize = (0..=12)
            .map(|ch| exercises_for_chapter(ch).unwrap().len())
            .sum();
        assert_eq!(by_chapter, all.len());
        assert!(exercises_for_chapter(99).unwrap().is_empty());
    }

    #[test]
    fn an_unknown_number_names_the_range() {
        let total = manifest().unwrap().len();
        let err = exercise(99).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("no exercise 99: the exercises are numbered 1 to {total}")
        );
    }

    #[test]
    fn names_out_of_order_are_refused() {
        let text = "[[exercises]]\nname = \"ex02_x\"\nchapter = 1\nsummary = \"s\"\nhint = \"h\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("should start with \"ex01_\""), "{err}");
    }
}
