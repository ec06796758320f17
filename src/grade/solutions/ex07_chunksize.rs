//! Exercise 7: the chunksize `Pool.map` picks when you do not.
//!
//! Book: chapter 6, "Creating a pool of workers" (book/src/06-creating-a-pool.md).
//!
//! A reference solution, line for line CPython's: a quotient, plus one if anything is left
//! over. For more than zero items that is `len.div_ceil(workers * 4)`.

/// The chunksize CPython's `Pool.map` uses for `len` items on `workers` processes.
pub fn default_chunksize(len: usize, workers: usize) -> usize {
    let (mut chunksize, extra) = (len / (workers * 4), len % (workers * 4));
    if extra != 0 {
        chunksize += 1;
    }
    if len == 0 {
        chunksize = 0;
    }
    chunksize
}
