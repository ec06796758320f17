//! Exercise 2: a process changes its own copy of memory; a thread changes shared memory.
//!
//! Book: chapter 2, "Processes versus threads" (book/src/02-processes-vs-threads.md).
//!
//! A reference solution. The child's change stays in the child: its exit status proves it saw
//! `new`, while the parent's `*value` is untouched. The thread's change is made in the one
//! memory all threads share, so the caller sees it after the join.

use crate::fork::fork_and_join;
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

/// Sets `*value = new` in a forked child; returns the value the child saw afterwards.
pub fn set_in_child(value: &mut u8, new: u8) -> io::Result<u8> {
    fork_and_join(|| {
        *value = new;
        *value
    })
}

/// Sets the shared value to `new` from a new thread; returns that thread's id.
pub fn set_in_thread(value: &Arc<Mutex<u8>>, new: u8) -> ThreadId {
    let value = Arc::clone(value);
    let writer = thread::spawn(move || {
        // A poisoned lock only means another thread panicked while holding it; the value is
        // still there to set.
        *value.lock().unwrap_or_else(|e| e.into_inner()) = new;
        thread::current().id()
    });
    writer.join().expect("the writer thread panicked")
}
