//! Exercise 6: a pool's `map`, by hand.
//!
//! Book: chapter 5, "What a pool is, and why it is used" (book/src/05-what-is-a-pool.md).
//!
//! A pool is a few worker processes started once and fed many items: `pool.map(square, items)`
//! hands the items out to the workers, collects what they send back, and returns the results
//! in the order of the items, whichever worker finished first. Here you do what the pool does.
//!
//! Your task: `pool_map` starts `workers` worker processes, each from `spawn_worker()` (a
//! ready `Command`; set its stdin and stdout to `Stdio::piped()` before you spawn it). A worker
//! reads numbers from its stdin, one a line, and answers each with its square on its stdout,
//! one a line, in the same order. Hand the items out so that every worker gets some (item `i`
//! to worker `i % workers` will do), read the answers back, join every worker, and return the
//! squares in the order of `items`.
//!
//! Two things to know: a worker stops when its stdin is closed (drop the `ChildStdin`), and
//! `BufReader::lines` reads a child's stdout line by line.
//!
//! Check your work: `procbook check 6` (or `cargo test -p exercises --test ex06_pool_map`).
//! Stuck? `procbook hint 6`, and again for the next step.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// Squares `items` on `workers` worker processes; returns the squares in input order.
pub fn pool_map(
    spawn_worker: &dyn Fn() -> Command,
    workers: usize,
    items: &[u64],
) -> io::Result<Vec<u64>> {
    todo!()
}
