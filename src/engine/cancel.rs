//! One process-wide "stop what you are doing" flag, raised by Ctrl-C and polled by every wait.
//!
//! Workers run in their own process group, so the terminal's SIGINT reaches only procbook;
//! procbook raises this flag and the engine stops, kills and reaps whatever it started.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask every running engine wait to stop (called from the Ctrl-C handler).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Has a stop been asked for since the last [`clear`]?
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Forget an earlier request (before starting the next command).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}
