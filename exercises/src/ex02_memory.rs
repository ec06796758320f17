//! Exercise 2: a process changes its own copy of memory; a thread changes shared memory.
//!
//! Book: chapter 2, "Processes versus threads" (book/src/02-processes-vs-threads.md).
//!
//! A child started by `fork` begins as a copy of its parent, memory and all. When it changes a
//! value, it changes its own copy, and the parent never sees it. Threads live inside one
//! process and share its memory, so what one thread changes, every thread sees.
//!
//! Your task:
//!
//! 1. `set_in_child`: start a child with [`crate::fork::fork_and_join`]. In the child, set
//!    `*value = new`, then return the value the child now sees: the closure's return value
//!    becomes the child's exit status. Return that exit status. (Afterwards the parent's
//!    `*value` is still the old one, and the grader checks that.)
//! 2. `set_in_thread`: spawn a thread that sets the shared value to `new`; join it; return the
//!    id of the thread that did it (`std::thread::current().id()`, asked inside the thread).
//!
//! Check your work: `procbook check 2` (or `cargo test -p exercises --test ex02_memory`).
//! Stuck? `procbook hint 2`, and again for the next step.

use crate::fork::fork_and_join;
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

/// Sets `*value = new` in a forked child; returns the value the child saw afterwards.
pub fn set_in_child(value: &mut u8, new: u8) -> io::Result<u8> {
    todo!()
}

/// Sets the shared value to `new` from a new thread; returns that thread's id.
pub fn set_in_thread(value: &Arc<Mutex<u8>>, new: u8) -> ThreadId {
    todo!()
}
