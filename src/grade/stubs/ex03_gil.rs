//! Exercise 3: a simulated GIL lets only one thread work at a time.
//!
//! Book: chapter 3, "The GIL: why Python threads don't speed up CPU work"
//! (book/src/03-the-gil.md).
//!
//! CPython runs Python code only while holding its Global Interpreter Lock, so however many
//! threads you start, one of them runs Python code at any moment. Here you build that: one
//! global lock, and threads that take it for every piece of work.
//!
//! Your task: `run_under_gil` starts `threads` threads at once. Each calls `work(i)` (with `i`
//! its own index, 0 to `threads - 1`) `steps` times, taking the GIL (a `Mutex<()>` you create,
//! shared by all threads) before each call and letting go after it, so threads take turns.
//! Count how many threads are inside `work` at the same moment: add one as a thread goes in,
//! take one away as it comes out, and keep the highest count you see. Return that highest
//! count. Under the GIL it will be 1: that, not a stopwatch, is the proof.
//!
//! Afterwards, try it without the lock and watch the count grow (the grader wants 1, though).
//!
//! Check your work: `procbook check 3` (or `cargo test -p exercises --test ex03_gil`).
//! Stuck? `procbook hint 3`, and again for the next step.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Runs `work` on `threads` threads under one global lock; returns the most threads that
/// were ever inside `work` at once.
pub fn run_under_gil(threads: usize, steps: usize, work: &(dyn Fn(usize) + Sync)) -> usize {
    todo!()
}
