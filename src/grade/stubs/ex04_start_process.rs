//! Exercise 4: start a process, and learn its PID and how it ended.
//!
//! Book: chapter 4, "Creating a process" (book/src/04-creating-a-process.md).
//!
//! In Python, `Process(target=f).start()` starts a child, `p.pid` is its process id, and
//! `p.join()` waits for it to end, after which `p.exitcode` says how. In Rust,
//! `std::process::Command` starts a child, `Child::id` gives its PID, and `Child::wait` joins
//! it, returning its `ExitStatus`.
//!
//! Your task: `start_and_join` starts the program `worker` with the arguments `args`, notes
//! its PID, waits for it to end, and returns both. The child is a separate process, so its PID
//! is not yours (`std::process::id()`).
//!
//! Check your work: `procbook check 4` (or `cargo test -p exercises --test ex04_start_process`).
//! Stuck? `procbook hint 4`, and again for the next step.

use std::io;
use std::path::Path;
use std::process::{Command, ExitStatus};

/// A child that was started and joined.
#[derive(Debug)]
pub struct Started {
    /// The child's process id.
    pub pid: u32,
    /// How the child ended.
    pub status: ExitStatus,
}

/// Starts `worker` with `args`, waits for it, and returns its PID and exit status.
pub fn start_and_join(worker: &Path, args: &[&str]) -> io::Result<Started> {
    todo!()
}
