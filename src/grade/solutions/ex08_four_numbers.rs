//! Exercise 8: four processes, four numbers.
//!
//! Book: chapter 7, "Four processes, four numbers" (book/src/07-four-processes.md).
//!
//! A reference solution: start all four, then read and join each. Reading one child's output
//! to the end before the next is safe here because each prints a single short line.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Prints each number from a process of its own; returns every `(pid, number)` printed.
pub fn four_numbers(worker: &Path, numbers: [u32; 4]) -> io::Result<Vec<(u32, u32)>> {
    let children: Vec<Child> = numbers
        .iter()
        .map(|n| {
            Command::new(worker)
                .args(["print", &n.to_string()])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<io::Result<_>>()?;
    let mut printed = Vec::new();
    for mut child in children {
        let mut line = String::new();
        child
            .stdout
            .take()
            .expect("stdout is piped")
            .read_to_string(&mut line)?;
        child.wait()?;
        printed.push(parse(&line)?);
    }
    Ok(printed)
}

/// Reads `PID N` into `(pid, n)`.
fn parse(line: &str) -> io::Result<(u32, u32)> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("not `PID N`: {line:?}"));
    let (pid, n) = line.trim().split_once(' ').ok_or_else(bad)?;
    Ok((
        pid.parse().map_err(|_| bad())?,
        n.parse().map_err(|_| bad())?,
    ))
}
