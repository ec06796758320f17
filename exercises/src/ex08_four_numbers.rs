//! Exercise 8: four processes, four numbers.
//!
//! Book: chapter 7, "Four processes, four numbers" (book/src/07-four-processes.md).
//!
//! The classic first program: start four processes, each prints a different number, join them
//! all. Run it twice and the lines may come out in a different order: four processes run at
//! once, and nobody chose which prints first.
//!
//! Your task: `four_numbers` starts four children at once, one per number, each running the
//! program `worker` with the arguments `["print", "N"]` (N being its number, as text). Such a
//! worker prints one line, `PID N`: its own process id, a space, and N. Capture each child's
//! stdout (`Stdio::piped()`), join all four, and return the `(pid, number)` pair each one
//! printed, read from its line.
//!
//! Check your work: `procbook check 8` (or `cargo test -p exercises --test ex08_four_numbers`).
//! Stuck? `procbook hint 8`, and again for the next step.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Prints each number from a process of its own; returns every `(pid, number)` printed.
pub fn four_numbers(worker: &Path, numbers: [u32; 4]) -> io::Result<Vec<(u32, u32)>> {
    todo!()
}
