//! Running a parsed command: each command of the table handed to the module that does it.
//! The table (`commands`) only describes; this is where commands meet their handlers.

use anyhow::Result;

use crate::commands::Command;
use crate::demos::{self, Out};

/// Run one command, writing what it shows to `out`.
pub fn run(command: &Command, out: Out) -> Result<()> {
    match command {
        Command::Demo(args) => demos::run(args, out),
        Command::Lesson { n } => crate::lessons::show(*n, out),
        Command::Lessons => crate::lessons::list(out),
        Command::Sys => crate::sys::run(out),
        Command::Bench(args) => crate::bench::run(args, out),
        Command::Book(args) => crate::book::run(args, out),
        Command::Check { n } => {
            // Ctrl-C stops the graders (they run in their own process group) and reaps them.
            let stopped = crate::engine::cancel::requested;
            match crate::grade::Workbook::default().check_until(*n, out, &stopped)? {
                Some(_) => Ok(()),
                None => Err(crate::engine::Error::Interrupted.into()),
            }
        }
        Command::Hint { n } => crate::grade::hint(*n, out),
        Command::List => match crate::grade::list(out, &crate::engine::cancel::requested)? {
            Some(_) => Ok(()),
            None => Err(crate::engine::Error::Interrupted.into()),
        },
        Command::Run { n } => {
            crate::grade::run(*n, out, &crate::engine::cancel::requested)?;
            Ok(())
        }
        Command::Reset { n } => crate::grade::reset(*n, out),
        Command::Watch => crate::grade::watch(out, &crate::engine::cancel::requested),
    }
}
