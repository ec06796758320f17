//! Exercise 5: join every child, and report the ones that failed.
//!
//! Book: chapter 4, "Creating a process" (book/src/04-creating-a-process.md).
//!
//! A child that ends by itself has an exit code: 0 for success, anything else for failure. A
//! child killed by a signal has none; Python reports it as `exitcode == -N`, for signal N (a
//! child that aborts dies of SIGABRT, signal 6, so its exitcode is -6). On Unix, Rust's
//! `ExitStatus::code()` gives the first and `std::os::unix::process::ExitStatusExt::signal()`
//! the second.
//!
//! Your task: `failed_jobs` starts one child per job, all of them before joining any: job `i`
//! runs the program `worker` with the arguments `jobs[i]`. Then it joins every child and
//! returns the ones that did not succeed, in job order, each with its index and its exit code
//! the way Python would report it.
//!
//! Check your work: `procbook check 5` (or `cargo test -p exercises --test ex05_exit_codes`).
//! Stuck? `procbook hint 5`, and again for the next step.

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
    todo!()
}
