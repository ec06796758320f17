//! Exercise 7: the chunksize `Pool.map` picks when you do not.
//!
//! Book: chapter 6, "Creating a pool of workers" (book/src/06-creating-a-pool.md).
//!
//! `pool.map(f, items)` does not send items one at a time: it cuts them into chunks, and each
//! chunk crosses the pipe to a worker in one message. Without a `chunksize` argument, CPython
//! picks one so that every worker gets about four chunks:
//!
//! ```text
//! chunksize, extra = divmod(len(items), len(pool) * 4)
//! if extra:
//!     chunksize += 1
//! if len(items) == 0:
//!     chunksize = 0
//! ```
//!
//! Your task: `default_chunksize` returns the same number as that code, for `len` items and a
//! pool of `workers` processes. (`divmod(a, b)` is `(a / b, a % b)`.)
//!
//! Check your work: `procbook check 7` (or `cargo test -p exercises --test ex07_chunksize`).
//! Stuck? `procbook hint 7`, and again for the next step.

/// The chunksize CPython's `Pool.map` uses for `len` items on `workers` processes.
pub fn default_chunksize(len: usize, workers: usize) -> usize {
    todo!()
}
