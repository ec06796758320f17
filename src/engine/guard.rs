//! The entry guard and the worker loop: what a re-executed binary does instead of `main`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use serde_json::Value;

use super::child::{NAME_ENV, PARENT_ENV, ROLE_ENV, Role, WIRE_ENV};
use super::clock::Stamp;
use super::task::{self, Registry};
use super::wire::{Reply, Request, read_frame, write_frame};

static WORKER_NAME: OnceLock<String> = OnceLock::new();

// ANCHOR: guard
/// Call this first in `main`. In the parent it returns `None` and `main` goes on; in a worker
/// (this same binary, started by the engine) it serves tasks from `registry` and returns the
/// exit code. This is Rust's `if __name__ == "__main__":` — under spawn, a worker runs the
/// program from the top, and without the guard it would start the whole app again.
pub fn guard(registry: &Registry) -> Option<i32> {
    let role = match std::env::var(ROLE_ENV).ok()?.as_str() {
        "pool" => Role::Pool,
        "process" => Role::Process,
        _ => return None,
    };
    Some(serve(role, registry))
}
// ANCHOR_END: guard

/// Who is running this code: `multiprocessing.current_process()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub name: String,
    pub pid: u32,
}

/// The current process's name (`MainProcess` outside a worker) and PID.
pub fn current_process() -> ProcessInfo {
    ProcessInfo {
        name: WORKER_NAME
            .get()
            .cloned()
            .unwrap_or_else(|| "MainProcess".to_string()),
        pid: std::process::id(),
    }
}

/// The worker loop: read a request, run it, answer, until told to stop or the parent is gone.
fn serve(role: Role, registry: &Registry) -> i32 {
    let name = std::env::var(NAME_ENV).unwrap_or_else(|_| "worker".into());
    let _ = WORKER_NAME.set(name.clone());
    if let Err(why) = die_with_parent() {
        eprintln!("{name}: {why}; exiting");
        return 2;
    }
    let Some(wire) = reply_pipe() else {
        eprintln!("{name}: started without the engine's reply pipe; exiting");
        return 2;
    };
    if role == Role::Pool {
        // A pool task's panic travels back to the parent as its error, as a Python exception
        // does; a lone Process prints it to stderr, as Python prints a traceback.
        panic::set_hook(Box::new(|_| {}));
    }
    let mut replies = BufWriter::new(wire);
    let mut requests = io::stdin().lock();
    loop {
        let (chunk, task, items) = match read_frame::<Request>(&mut requests) {
            Ok(Some(Request::Run { chunk, task, items })) => (chunk, task, items),
            // A clean end of stdin without `Exit` means the parent is gone: stop too.
            Ok(Some(Request::Exit)) | Ok(None) => return 0,
            Err(e) => {
                eprintln!("{name}: bad request: {e}");
                return 2;
            }
        };
        let started = Stamp::now();
        let results: Vec<Result<Value, String>> = items
            .into_iter()
            .map(|item| run_one(registry, &task, item))
            .collect();
        let finished = Stamp::now();
        let failed = results.iter().any(Result::is_err);
        let _ = io::stdout().flush();
        if write_frame(
            &mut replies,
            &Reply::done(chunk, results, started, finished),
        )
        .and_then(|()| replies.flush())
        .is_err()
        {
            return 2; // the parent stopped listening
        }
        if role == Role::Process {
            return i32::from(failed);
        }
    }
}

/// Ask the OS to kill this worker when the thread that started it ends, so a parent killed
/// outright (no chance to clean up) takes its workers with it; then check it has not already
/// happened. Elsewhere than Linux, the parent's death shows as the end of stdin instead.
fn die_with_parent() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and nothing else.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        let expected: Option<u32> = std::env::var(PARENT_ENV).ok().and_then(|p| p.parse().ok());
        if expected.is_some_and(|p| p != std::os::unix::process::parent_id()) {
            return Err("the parent exited while this worker was starting".into());
        }
    }
    Ok(())
}

/// The write end of the reply pipe the engine handed down, made close-on-exec again so that a
/// program a task starts does not inherit it (or our exit would not be the parent's EOF).
fn reply_pipe() -> Option<File> {
    let fd: RawFd = std::env::var(WIRE_ENV).ok()?.parse().ok()?;
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    if fd <= 2 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: the descriptor is open and was inherited for this purpose; nothing else owns it.
    let wire = unsafe { File::from_raw_fd(fd) };
    // SAFETY: setting a descriptor flag on an fd we own.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(wire)
}

/// Run one item, turning a panic into its message.
fn run_one(registry: &Registry, name: &str, item: Value) -> Result<Value, String> {
    let task = task::find(registry, name).ok_or_else(|| format!("no task named {name:?}"))?;
    match panic::catch_unwind(AssertUnwindSafe(|| task.call(item))) {
        Ok(result) => result,
        Err(payload) => Err(payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-text payload".into())),
    }
}
