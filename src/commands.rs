//! The command table: every command procbook understands, with its help and options. The CLI
//! parses it, the REPL parses each line with it, and help and completion are read from it.

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

use crate::arg::BadNumber;
use crate::bench::BenchArgs;
use crate::book::args::BookArgs;
use crate::demos::{DemoArgs, Out};

/// What `procbook --help` says first.
const ABOUT: &str = "An interactive workbook that teaches multiprocessing by running it: \
real processes, their PIDs and worker names, next to the lesson that explains them.";

#[derive(Parser, Debug)]
#[command(name = "procbook", version, about = ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands shared by the CLI (`procbook demo pool`) and the REPL (`demo pool`).
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum Command {
    /// Run a demo: real processes, with their PIDs and worker names
    Demo(DemoArgs),
    /// Show lesson N: the chapter's text with the live output of its demos
    Lesson {
        /// The lesson number (see `lessons`)
        #[arg(value_name = "N", allow_negative_numbers = true, value_parser = lesson_number)]
        n: u32,
    },
    /// List the lessons
    Lessons,
    /// Build the book as HTML (and open it, or serve it on 127.0.0.1)
    Book(BookArgs),
    /// Measure what processes cost, side by side with Python's multiprocessing
    Bench(BenchArgs),
    /// Grade your exercises (all, or exercise N) and show your progress
    Check {
        /// Grade only this exercise
        #[arg(value_name = "N", allow_negative_numbers = true, value_parser = exercise_number)]
        n: Option<u32>,
    },
    /// Show the hint for exercise N (again: the next step)
    Hint {
        #[arg(value_name = "N", allow_negative_numbers = true, value_parser = exercise_number)]
        n: u32,
    },
    /// List every exercise with its state (graded now)
    List,
    /// Run exercise N's grader and show what your code prints
    Run {
        #[arg(value_name = "N", allow_negative_numbers = true, value_parser = exercise_number)]
        n: u32,
    },
    /// Put exercise N back to its stub (your version is kept under target/procbook/reset/)
    Reset {
        #[arg(value_name = "N", allow_negative_numbers = true, value_parser = exercise_number)]
        n: u32,
    },
    /// Re-grade whenever you save an exercise file; keys h, l, r, c, q (Ctrl-C stops too)
    Watch,
    /// This machine's cores and memory, and the process tree of procbook
    Sys,
}

/// The value parser of `lesson N`: a lesson that exists.
fn lesson_number(text: &str) -> Result<u32, BadNumber> {
    let last = crate::lessons::last();
    let shown = crate::term::shown(text);
    match text.trim().parse::<i128>() {
        Ok(n) if (0..=i128::from(last)).contains(&n) => Ok(n as u32),
        Ok(_) => Err(BadNumber {
            text: format!("there is no lesson {shown}: lessons are 0 to {last}"),
            see_lessons: true,
        }),
        Err(_) => Err(BadNumber {
            text: format!("lesson takes a number, 0 to {last}, not '{shown}'"),
            see_lessons: true,
        }),
    }
}

/// The value parser of `check N` and `hint N`: a number in the exercises' range. (Whether
/// that exercise exists is the grader's to say; an unreadable manifest is too.)
fn exercise_number(text: &str) -> Result<u32, BadNumber> {
    let total = crate::grade::manifest().map_or(u32::MAX as usize, |all| all.len());
    let range = if total == u32::MAX as usize {
        "exercise takes a number".to_string()
    } else {
        format!("exercises are 1 to {total}")
    };
    let shown = crate::term::shown(text);
    match text.trim().parse::<i128>() {
        Ok(n) if (1..=total as i128).contains(&n) => Ok(n as u32),
        Ok(_) => Err(BadNumber {
            text: format!("there is no exercise {shown}: {range}"),
            see_lessons: false,
        }),
        Err(_) => Err(BadNumber {
            text: format!("{range}: '{shown}' is not a number"),
            see_lessons: false,
        }),
    }
}

/// A command's name as typed.
pub fn name(command: &Command) -> &'static str {
    match command {
        Command::Demo(_) => "demo",
        Command::Lesson { .. } => "lesson",
        Command::Lessons => "lessons",
        Command::Book(_) => "book",
        Command::Bench(_) => "bench",
        Command::Check { .. } => "check",
        Command::Hint { .. } => "hint",
        Command::List => "list",
        Command::Run { .. } => "run",
        Command::Reset { .. } => "reset",
        Command::Watch => "watch",
        Command::Sys => "sys",
    }
}

/// The clap description of every command, for help and completion.
pub fn table() -> clap::Command {
    Cli::command()
}

/// The summary lines of every command, for the REPL's welcome and `procbook` before the REPL.
pub fn summary() -> Vec<(String, String)> {
    table()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            (c.get_name().to_string(), about)
        })
        .collect()
}

/// The list of commands, as `procbook` prints it.
pub fn print_summary(out: Out) -> Result<()> {
    writeln!(out, "{ABOUT}\n")?;
    writeln!(out, "Commands:")?;
    for (name, about) in summary() {
        writeln!(out, "  {name:<9} {about}")?;
    }
    writeln!(out, "\nStart with: procbook demo process")?;
    Ok(())
}
