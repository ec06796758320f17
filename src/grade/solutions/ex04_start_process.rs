//! Exercise 4: start a process, and learn its PID and how it ended.
//!
//! Book: chapter 4, "Creating a process" (book/src/04-creating-a-process.md).
//!
//! A reference solution: `spawn` is Python's `start`, `wait` is `join`.

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
    let mut child = Command::new(worker).args(args).spawn()?;
    let pid = child.id();
    let status = child.wait()?;
    Ok(Started { pid, status })
}
