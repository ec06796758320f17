//! The entry guard and the worker loop: what a re-executed binary does instead of `main`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::FromRawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;

use serde_json::Value;

use super::child::{NAME_ENV, ROLE_ENV, Role, WIRE_FD};
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
    // SAFETY: fcntl only queries the descriptor; we take fd 3 only if the engine opened it.
    if unsafe { libc::fcntl(WIRE_FD, libc::F_GETFD) } < 0 {
        eprintln!("{name}: started without the engine's reply pipe (fd {WIRE_FD}); exiting");
        return 2;
    }
    // SAFETY: fd 3 is open (checked above) and nothing else in this process owns it.
    let wire = unsafe { File::from_raw_fd(WIRE_FD) };
    // Keep the reply pipe out of any program a task starts, or our exit would not be EOF.
    unsafe { libc::fcntl(WIRE_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
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
        let results: Vec<Result<Value, String>> = items
            .into_iter()
            .map(|item| run_one(registry, &task, item))
            .collect();
        let failed = results.iter().any(Result::is_err);
        let _ = io::stdout().flush();
        if write_frame(&mut replies, &Reply::Done { chunk, results })
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
