//! Exercise 6: a pool's `map`, by hand.
//!
//! Book: chapter 5, "What a pool is, and why it is used" (book/src/05-what-is-a-pool.md).
//!
//! A reference solution. Item `i` goes to worker `i % workers`; each worker answers its items
//! in the order it got them, so reading worker `i % workers`'s next answer for item `i` puts
//! every result back in input order.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// Squares `items` on `workers` worker processes; returns the squares in input order.
pub fn pool_map(
    spawn_worker: &dyn Fn() -> Command,
    workers: usize,
    items: &[u64],
) -> io::Result<Vec<u64>> {
    let workers = workers.max(1);
    let mut children: Vec<Child> = (0..workers)
        .map(|_| {
            spawn_worker()
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<io::Result<_>>()?;

    // Send everything, then close every stdin so each worker knows there is no more. (A few
    // dozen short lines fit in a pipe's buffer; for many items, write from a thread.)
    for (i, item) in items.iter().enumerate() {
        let stdin = children[i % workers]
            .stdin
            .as_mut()
            .expect("stdin is piped");
        writeln!(stdin, "{item}")?;
    }
    for child in &mut children {
        drop(child.stdin.take());
    }

    let mut answers: Vec<_> = children
        .iter_mut()
        .map(|child| BufReader::new(child.stdout.take().expect("stdout is piped")).lines())
        .collect();
    let mut results = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        let line = answers[i % workers]
            .next()
            .ok_or_else(|| io::Error::other(format!("worker {} stopped early", i % workers)))??;
        let square = line
            .trim()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{line:?}: {e}")))?;
        results.push(square);
    }
    for mut child in children {
        child.wait()?;
    }
    Ok(results)
}
