//! Exercise 3: a simulated GIL lets only one thread work at a time.
//!
//! Book: chapter 3, "The GIL: why Python threads don't speed up CPU work"
//! (book/src/03-the-gil.md).
//!
//! A reference solution. Every call to `work` happens between taking the GIL and letting it
//! go, and the count of threads inside is changed while holding it, so the highest count any
//! thread can see is 1.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Runs `work` on `threads` threads under one global lock; returns the most threads that
/// were ever inside `work` at once.
pub fn run_under_gil(threads: usize, steps: usize, work: &(dyn Fn(usize) + Sync)) -> usize {
    let gil = Mutex::new(());
    let inside = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    thread::scope(|scope| {
        for i in 0..threads {
            let (gil, inside, most) = (&gil, &inside, &most);
            scope.spawn(move || {
                for _ in 0..steps {
                    let _held = gil.lock().unwrap_or_else(|e| e.into_inner());
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    work(i);
                    inside.fetch_sub(1, Ordering::SeqCst);
                    // `_held` is dropped here: the GIL goes to whichever thread is waiting.
                }
            });
        }
    });
    most.load(Ordering::SeqCst)
}
