//! Exercise 1: how many workers? As many as the cores you may use.
//!
//! Book: chapter 1, "What multiprocessing is, and why it is useful"
//! (book/src/01-what-is-multiprocessing.md).
//!
//! A reference solution. `available_parallelism` asks the kernel which CPUs this thread may
//! run on, which is what Python's `os.process_cpu_count()` does; it also honours a
//! container's CPU quota, which Python's function does not.

use std::io::{self, ErrorKind};
use std::thread;

/// How many workers a pool should start: `requested`, or the CPUs this process may use.
pub fn pool_size(requested: Option<usize>) -> io::Result<usize> {
    match requested {
        Some(0) => Err(io::Error::new(
            ErrorKind::InvalidInput,
            "a pool needs at least one worker",
        )),
        Some(n) => Ok(n),
        None => Ok(thread::available_parallelism()?.get()),
    }
}
