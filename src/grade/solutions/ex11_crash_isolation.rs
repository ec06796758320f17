//! Exercise 11: one worker crashes; the other results survive.
//!
//! Book: chapter 10, "When a process crashes" (book/src/10-crashes.md).
//!
//! A reference solution. Each item gets a process of its own; a failed write or read is not
//! returned as an error, because the exit status will say what happened, and that is what
//! decides between a result and a crash.

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
    items
        .iter()
        .map(|&item| square_alone(spawn_worker, item))
        .collect()
}

/// Runs one worker for one item: `Ok(Ok(square))`, or `Ok(Err(crash))` if the worker failed.
fn square_alone(spawn_worker: &dyn Fn() -> Command, item: u64) -> io::Result<Result<u64, Crash>> {
    let mut child: Child = spawn_worker()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // Dropping `stdin` at the end of this block closes it: the worker's cue to finish.
        let _ = writeln!(stdin, "{item}");
    }
    let mut answer = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut answer);
    }
    let status = child.wait()?;
    let exitcode = status
        .code()
        .unwrap_or_else(|| -status.signal().unwrap_or(0));
    match answer.trim().parse() {
        Ok(square) if status.success() => Ok(Ok(square)),
        _ => Ok(Err(Crash { exitcode })),
    }
}
