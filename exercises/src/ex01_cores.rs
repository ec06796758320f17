//! Exercise 1: how many workers? As many as the cores you may use.
//!
//! Book: chapter 1, "What multiprocessing is, and why it is useful"
//! (book/src/01-what-is-multiprocessing.md).
//!
//! Processes speed up computing only as far as there are cores to run them on. Python's
//! `os.cpu_count()` counts the machine's logical CPUs; `os.process_cpu_count()` (Python 3.13)
//! counts the ones this process may use, which can be fewer in a container or under `taskset`,
//! and that is how many workers `multiprocessing.Pool()` starts when you give no number. In
//! Rust, `std::thread::available_parallelism()` is the second kind.
//!
//! Your task: `pool_size` returns how many workers a pool should start: `requested` when it is
//! given, and otherwise the number of CPUs this process may use. Asking for zero workers is an
//! error of kind `InvalidInput`, as `Pool(0)` is a `ValueError` in Python: a pool without
//! workers would never finish anything.
//!
//! Check your work: `procbook check 1` (or `cargo test -p exercises --test ex01_cores`).
//! Stuck? `procbook hint 1`, and again for the next step.

use std::io::{self, ErrorKind};
use std::thread;

/// How many workers a pool should start: `requested`, or the CPUs this process may use.
pub fn pool_size(requested: Option<usize>) -> io::Result<usize> {
    todo!()
}
