//! What the engine reports while it works. It never prints: the caller decides what to show.

use std::fmt;
use std::ops::Range;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use super::clock::Stamp;

/// How a process ended, in Python's terms: an exit code, or the signal that killed it
/// (`Process.exitcode` is `-N` for signal N).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn from_status(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(-1),
        }
    }

    /// `multiprocessing.Process.exitcode`: the code, or minus the signal number.
    pub fn exitcode(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => -s,
        }
    }

    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => match nix::sys::signal::Signal::try_from(*s) {
                Ok(sig) => write!(f, "killed by {sig}"),
                Err(_) => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// Which of a child's output streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One thing that happened in a process or pool, tagged with who did it and when (`at`, on
/// the machine-wide monotonic clock, so events from different processes share one time line).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A worker or process is up: `at` is just after the spawn returned.
    Started { name: String, pid: u32, at: Stamp },
    /// A line the child printed; `at` is when the parent read it.
    Output {
        name: String,
        pid: u32,
        stream: Stream,
        line: String,
        at: Stamp,
    },
    /// A pool worker finished a chunk: the items at `items` of the input. Both stamps are
    /// taken in the worker, around the chunk's run, and travel back in its reply.
    ChunkDone {
        name: String,
        pid: u32,
        items: Range<usize>,
        started: Stamp,
        at: Stamp,
    },
    /// A worker or process ended; `at` is when it was reaped.
    Exited {
        name: String,
        pid: u32,
        exit: Exit,
        at: Stamp,
    },
    /// A dead worker's place was taken by a new one.
    Replaced {
        old: String,
        old_pid: u32,
        name: String,
        pid: u32,
        at: Stamp,
    },
}
