//! Exercise 5: join every child, and report the ones that failed.
//!
//! Book: chapter 4, "Creating a process" (book/src/04-creating-a-process.md).
//!
//! A reference solution: start all, then join all, and turn each `ExitStatus` into Python's
//! `exitcode`.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command};

/// A job whose child did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// The job's index in `jobs`.
    pub index: usize,
    /// Python's `exitcode`: the exit code, or `-N` for a child killed by signal N.
    pub exitcode: i32,
}

/// Runs every job in a child of its own, joins them all, and returns those that failed.
pub fn failed_jobs(worker: &Path, jobs: &[&[&str]]) -> io::Result<Vec<Failed>> {
    let children: Vec<Child> = jobs
        .iter()
        .map(|args| Command::new(worker).args(*args).spawn())
        .collect::<io::Result<_>>()?;
    let mut failed = Vec::new();
    for (index, mut child) in children.into_iter().enumerate() {
        let status = child.wait()?;
        let exitcode = match (status.code(), status.signal()) {
            (Some(code), _) => code,
            (None, Some(signal)) => -signal,
            (None, None) => unreachable!("on Unix a child either exits or is killed by a signal"),
        };
        if exitcode != 0 {
            failed.push(Failed { index, exitcode });
        }
    }
    Ok(failed)
}
