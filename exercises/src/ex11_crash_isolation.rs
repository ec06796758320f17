//! Exercise 11: one worker crashes; the other results survive.
//!
//! Book: chapter 10, "When a process crashes" (book/src/10-crashes.md).
//!
//! A thread that crashes the process takes every other thread with it. A process that crashes
//! takes only itself: its parent sees an exit status and carries on. That isolation is a
//! reason to use processes even where threads would be faster.
//!
//! Your task: `map_isolated` squares every item in a worker process of its own, from
//! `spawn_worker()` (a ready `Command`, as in exercise 6: write the number and a newline to its
//! stdin, close it, read the square from its stdout). One of the workers will abort. Keep every
//! other result, and report the crashed item as `Err(Crash { exitcode })`, with Python's
//! exitcode (`-6` for SIGABRT; see exercise 5). Results go in the order of `items`.
//!
//! A crashed worker may make a write to it or a read from it fail: that is the crash showing,
//! not a reason to give up on the other items. Join every worker.
//!
//! Check your work: `procbook check 11` (or `cargo test -p exercises --test ex11_crash_isolation`).
//! Stuck? `procbook hint 11`, and again for the next step.

use std::io::{self, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};

/// A worker that did not come back with a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    /// Python's `exitcode`: the exit code, or `-N` for a worker killed by signal N.
    pub exitcode: i32,
}

/// Squares each item in a process of its own; a crash costs only that item's result.
pub fn map_isolated(
    spawn_worker: &dyn Fn() -> Command,
    items: &[u64],
) -> io::Result<Vec<Result<u64, Crash>>> {
    todo!()
}
