//! What can go wrong in the engine, as kinds a caller can branch on.

use std::fmt;
use std::io;
use std::time::Duration;

use super::event::Exit;

/// Why a process, a pool or one of its tasks failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The OS refused to start a worker.
    Spawn { name: String, reason: String },
    /// The OS refused a thread the engine needs (a process or thread limit, or memory).
    Thread { what: String, reason: String },
    /// A worker count outside what procbook allows.
    Workers { asked: usize, max: usize },
    /// The task panicked in the worker; the worker lives on.
    Panicked {
        worker: String,
        pid: u32,
        message: String,
    },
    /// The worker died (aborted, was killed) while running the task.
    WorkerDied {
        worker: String,
        pid: u32,
        exit: Exit,
    },
    /// The task ran past its timeout, so its worker was killed.
    TimedOut {
        worker: String,
        pid: u32,
        after: Duration,
    },
    /// The worker sent something that is not a valid reply.
    Decode { worker: String, reason: String },
    /// A pipe to or from a worker failed.
    Io { what: String, reason: String },
    /// Ctrl-C: the work was stopped and its processes reaped.
    Interrupted,
    /// The pool was closed or terminated before the task ran.
    Closed,
    /// `get` gave up waiting; the task is still running.
    NotReady(Duration),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn { name, reason } => write!(f, "could not start {name}: {reason}"),
            Error::Thread { what, reason } => {
                write!(f, "could not start a thread ({what}): {reason}")
            }
            Error::Workers { asked, max } => {
                write!(f, "{asked} workers is out of range: choose 1 to {max}")
            }
            Error::Panicked {
                worker,
                pid,
                message,
            } => write!(f, "task panicked in {worker} (pid {pid}): {message}"),
            Error::WorkerDied { worker, pid, exit } => {
                write!(f, "{worker} (pid {pid}) died during the task: {exit}")
            }
            Error::TimedOut { worker, pid, after } => write!(
                f,
                "task timed out after {} ms; {worker} (pid {pid}) was killed",
                after.as_millis()
            ),
            Error::Decode { worker, reason } => write!(f, "bad reply from {worker}: {reason}"),
            Error::Io { what, reason } => write!(f, "{what}: {reason}"),
            Error::Interrupted => write!(f, "interrupted; every worker was stopped and reaped"),
            Error::Closed => write!(f, "the pool is closed"),
            Error::NotReady(d) => write!(f, "no result within {} ms", d.as_millis()),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An OS error as a reader wants it: "Resource temporarily unavailable", without std's
/// " (os error 11)" tail, which means nothing to a learner.
pub fn os_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

impl Error {
    /// A thread for `what` could not be started.
    pub fn thread(what: impl Into<String>, e: &io::Error) -> Error {
        Error::Thread {
            what: what.into(),
            reason: os_reason(e),
        }
    }

    /// Worker `name` could not be started.
    pub fn spawn(name: impl Into<String>, e: &io::Error) -> Error {
        Error::Spawn {
            name: name.into(),
            reason: os_reason(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_thread_is_one_plain_line() {
        let e = io::Error::from_raw_os_error(libc::EAGAIN);
        let text = Error::thread("the pool's dispatcher", &e).to_string();
        assert_eq!(
            text,
            "could not start a thread (the pool's dispatcher): Resource temporarily unavailable"
        );
    }
}
