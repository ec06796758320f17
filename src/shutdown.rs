//! When procbook is told to stop (SIGTERM, or SIGHUP when its terminal goes away): the running
//! command is asked to stop as Ctrl-C would ask it, and is given a moment to stop and reap its
//! children; then whatever process groups are still running are killed, the scratch folder is
//! removed, and procbook exits with 128 + the signal's number, as a shell reports it.
//!
//! Ctrl-C (SIGINT) stays the gentler signal: it stops the running command, not the REPL
//! (`ctrlc`'s handler in `main`).

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGTERM};
use signal_hook::iterator::Signals;

use crate::engine::cancel;
use crate::{group, limits, scratch};

/// How long the running command gets to stop by itself before procbook exits regardless.
const GRACE: Duration = Duration::from_secs(2);

/// The signal that told procbook to stop, once one has.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Handle SIGTERM and SIGHUP from now on, on a thread of their own. Without that thread (a
/// process limit) they keep their default action, which ends procbook at once; a scratch folder
/// left that way is removed by the next run.
pub fn install() {
    let terminal = Terminal::now();
    let (ready, installed) = std::sync::mpsc::channel();
    let started = limits::spawn("shutdown", move || {
        let signals = Signals::new([SIGTERM, SIGHUP]);
        let _ = ready.send(());
        if let Some(signal) = signals.ok().and_then(|mut s| s.forever().next()) {
            stop(signal, terminal);
        }
    });
    if started.is_ok() {
        // Handled from here on: nothing procbook does later can escape it.
        let _ = installed.recv();
    }
}

/// The signal that told procbook to stop, if one has.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

fn stop(signal: i32, terminal: Option<Terminal>) -> ! {
    RECEIVED.store(signal, Ordering::SeqCst);
    cancel::request();
    // If the command stops in time, `main` returns and the process ends before this wakes:
    // it is a deadline, not a pause. The main thread may also be waiting for a line of input,
    // which no flag can interrupt: then this thread ends the process.
    std::thread::sleep(GRACE);
    group::kill_all();
    scratch::remove();
    // The prompt may have the terminal in raw mode; leave it as it was found.
    if let Some(terminal) = terminal {
        terminal.restore();
        eprintln!(); // off the prompt's line
    }
    // The one exit outside `main`: `main` may be blocked in a read that nothing can wake.
    std::process::exit(128 + signal)
}

/// The terminal's settings on stdin when procbook started, to put back on the way out.
#[derive(Clone, Copy)]
struct Terminal(libc::termios);

impl Terminal {
    fn now() -> Option<Terminal> {
        // SAFETY: tcgetattr writes only into the struct we pass; zeroed is a valid termios.
        unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            (libc::tcgetattr(libc::STDIN_FILENO, &mut settings) == 0).then_some(Terminal(settings))
        }
    }

    fn restore(&self) {
        // SAFETY: tcsetattr only reads the struct we pass.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.0) };
    }
}
