//! Grades exercise 2: a forked child changes its own copy; a thread changes shared memory.

use crate::ex02_memory::{set_in_child, set_in_thread};
use crate::fork::forks_started;
use crate::learner::call;
use crate::message::fill;
use std::sync::{Arc, Mutex};
use std::thread;

const EXERCISE: &str = "ex02_memory";
const BEFORE: u8 = 1;
const NEW: u8 = 42;

const CHILD_ERROR: &str = "set_in_child returned an error: {}";
const NO_CHILD: &str = "set_in_child started no child process: call fork_and_join, and set the \
value inside the closure you give it, which is what runs in the child.";
const PARENT_CHANGED: &str = "after set_in_child, the parent's value is {}, not {}: only the child \
should change it. Set it inside the closure, where the child changes its own copy.";
const CHILD_SAW: &str = "the child exited with {}, but it should exit with the value it sees after \
setting it, {}: make the closure return *value.";
const SAME_THREAD: &str = "set_in_thread returned the id of the thread that called it: spawn a \
new thread, and return thread::current().id() from inside it.";
const THREAD_LOST: &str = "after set_in_thread, the shared value is {}, not {}: the thread should \
set it through the Arc<Mutex<u8>>, and then everyone sees it, because threads share memory.";

pub fn check() -> Result<(), String> {
    let forks_before = forks_started();
    let mut value = BEFORE;
    let seen = call(EXERCISE, "set_in_child", || set_in_child(&mut value, NEW))?
        .map_err(|e| fill(CHILD_ERROR, &[&e]))?;
    if forks_started() == forks_before {
        return Err(NO_CHILD.into());
    }
    if value != BEFORE {
        return Err(fill(PARENT_CHANGED, &[&value, &BEFORE]));
    }
    if seen != NEW {
        return Err(fill(CHILD_SAW, &[&seen, &NEW]));
    }

    let shared = Arc::new(Mutex::new(BEFORE));
    let writer = call(EXERCISE, "set_in_thread", || set_in_thread(&shared, NEW))?;
    if writer == thread::current().id() {
        return Err(SAME_THREAD.into());
    }
    let now = *shared.lock().unwrap_or_else(|e| e.into_inner());
    if now != NEW {
        return Err(fill(THREAD_LOST, &[&now, &NEW]));
    }
    Ok(())
}
