//! Starting one worker: this same binary, re-executed, with the wire on fd 3 and its output piped.
//!
//! Like Python's spawn start method, a worker is a fresh program run from the start; the entry
//! guard in `main` sees the environment set here and serves tasks instead of running the app.

use std::io::{self, BufRead, BufReader, BufWriter, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::clock::Stamp;
use super::error::{Error, Result};
use super::event::{Event, Stream};

/// Set in a worker's environment: its role, `pool` or `process`.
pub const ROLE_ENV: &str = "PROCBOOK_WORKER";
/// Set in a worker's environment: its name, such as `SpawnPoolWorker-3`.
pub const NAME_ENV: &str = "PROCBOOK_WORKER_NAME";
/// Set in a worker's environment: the file descriptor it writes replies to (stdout stays free
/// for the task's own prints).
pub const WIRE_ENV: &str = "PROCBOOK_WIRE_FD";
/// Set in a worker's environment: the PID of the process that started it.
pub const PARENT_ENV: &str = "PROCBOOK_PARENT_PID";

/// Held while a worker is being spawned: see [`spawn`].
static SPAWNING: Mutex<()> = Mutex::new(());

/// One counter for every child of this program, as Python's `_process_counter`: `Process-1`,
/// then `SpawnPoolWorker-2`, and so on. That is why a notebook that made processes in earlier
/// cells shows `ForkPoolWorker-7` for a new pool's first worker.
static COUNTER: AtomicUsize = AtomicUsize::new(1);

/// The next child's number.
pub fn next_identity() -> usize {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// How many numbers the program's children have taken so far.
pub fn identities_taken() -> usize {
    COUNTER.load(Ordering::Relaxed) - 1
}

/// What a worker is started as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves chunks until told to exit or its stdin closes.
    Pool,
    /// Runs one task and exits with 0, or 1 if the task panicked.
    Process,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pool => "pool",
            Role::Process => "process",
        }
    }
}

/// A started worker: the OS handle, the pipe to send it requests, the pipe its replies come on.
pub struct Spawned {
    pub child: Child,
    pub pid: u32,
    pub requests: BufWriter<ChildStdin>,
    pub replies: io::PipeReader,
    pub output: Drained,
    /// Just after the spawn returned: the child exists and runs this program.
    pub at: Stamp,
}

/// Lets the caller wait until a child's output has all been read, so that a process's last
/// line is reported before its exit, not after.
#[derive(Default)]
pub struct Drained(Vec<mpsc::Receiver<()>>);

impl Drained {
    /// Wait until every output stream hit end of file, or `limit` passed (a grandchild that
    /// inherited the pipe could hold it open; the exit is reported all the same).
    pub fn wait(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for done in self.0.drain(..) {
            let left = deadline.saturating_duration_since(Instant::now());
            // The reader thread holds the sender: `Disconnected` is its end.
            let _ = done.recv_timeout(left);
        }
    }
}

/// The program workers run: the current executable unless told otherwise (tests point it at
/// the built `procbook` binary, since a test harness has no entry guard).
pub fn program(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => std::env::current_exe().map_err(|e| Error::Io {
            what: "finding this program to re-run as a worker".into(),
            reason: e.to_string(),
        }),
    }
}

/// Start `program` as worker `name`. Its stdout and stderr lines go to `events` tagged with its
/// name and PID; without `events` they go where this program's own output goes, as in Python.
/// If anything needed to watch it cannot be had (a pipe, a thread), the child is killed and
/// reaped and the failure is the error: nothing is left half-started.
pub fn spawn(
    program: &Path,
    role: Role,
    name: &str,
    events: Option<&Sender<Event>>,
) -> Result<Spawned> {
    let fail = |e: io::Error| Error::spawn(name, &e);
    let (replies, reply_writer) = io::pipe().map_err(fail)?;
    widen(&replies);
    let mut cmd = Command::new(program);
    cmd.env(ROLE_ENV, role.as_str())
        .env(NAME_ENV, name)
        .env(WIRE_ENV, reply_writer.as_raw_fd().to_string())
        .env(PARENT_ENV, std::process::id().to_string())
        .stdin(Stdio::piped())
        // Its own process group: the terminal's Ctrl-C reaches procbook only, which then stops
        // and reaps its workers itself instead of racing them to die.
        .process_group(0);
    if events.is_some() {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = on_spawner(move || {
        // The reply pipe is opened close-on-exec; it is made inheritable only for the instant
        // of this one spawn, under a lock, so no other worker inherits it (a worker holding
        // another's pipe would hide that one's death). Without a `pre_exec` hook, std can use
        // posix_spawn, which does not copy this process's memory map the way fork does.
        let _only_us = spawn_guard();
        set_inheritable(&reply_writer, true)?;
        let spawned = cmd.spawn();
        drop(reply_writer); // the worker holds the only write end now, so its exit is our EOF
        spawned
    })?
    .map_err(fail)?;
    let at = Stamp::now();
    let pid = child.id();
    let mut output = Drained::default();
    let mut watch = || -> Result<ChildStdin> {
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| fail(io::Error::other("no stdin pipe")))?;
        widen(&stdin);
        if let Some(events) = events {
            let streams = [
                child
                    .stdout
                    .take()
                    .map(|s| (Box::new(s) as Box<dyn Read + Send>, Stream::Stdout)),
                child
                    .stderr
                    .take()
                    .map(|s| (Box::new(s) as Box<dyn Read + Send>, Stream::Stderr)),
            ];
            for (stream, which) in streams.into_iter().flatten() {
                output
                    .0
                    .push(forward_lines(stream, which, name, pid, events.clone())?);
            }
        }
        Ok(stdin)
    };
    let stdin = match watch() {
        Ok(stdin) => stdin,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    Ok(Spawned {
        child,
        pid,
        requests: BufWriter::new(stdin),
        replies,
        output,
        at,
    })
}

// ANCHOR: spawner
/// A job for the spawner thread.
type SpawnJob = Box<dyn FnOnce() + Send>;

/// The way to the spawner thread, started on first use.
static SPAWNER: Mutex<Option<Sender<SpawnJob>>> = Mutex::new(None);

/// Run `job` (a spawn) on the engine's one spawner thread, and wait for its result.
///
/// Why a thread of its own: a worker asks Linux to kill it when its parent dies
/// (`PR_SET_PDEATHSIG`, see the entry guard), but to Linux the "parent" is the *thread* that
/// started the child, not the whole program. A worker started from a short-lived thread would
/// be killed the moment that thread returned, while the program and the worker's handle live
/// on. The spawner thread is started once and never ends, so a worker's parent-death signal
/// fires only when the program itself dies, whichever thread asked for the worker.
fn on_spawner<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (answer, result) = mpsc::sync_channel(1);
    let job: SpawnJob = Box::new(move || {
        let _ = answer.send(job());
    });
    {
        let mut spawner = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
        let to_spawner = match spawner.as_ref() {
            Some(tx) => tx,
            None => spawner.insert(start_spawner()?),
        };
        if to_spawner.send(job).is_err() {
            *spawner = None; // it cannot end, but if it did, the next spawn starts another
        }
    }
    result.recv().map_err(|_| Error::Thread {
        what: "the engine's spawner".into(),
        reason: "it stopped".into(),
    })
}

fn start_spawner() -> Result<Sender<SpawnJob>> {
    let (tx, rx) = mpsc::channel::<SpawnJob>();
    thread::Builder::new()
        .name("procbook spawner".into())
        .spawn(move || {
            for job in rx {
                // A job that panicked has dropped its answer; its caller sees an error.
                let _ = panic::catch_unwind(AssertUnwindSafe(job));
            }
        })
        .map_err(|e| Error::thread("the engine's spawner", &e))?;
    Ok(tx)
}
// ANCHOR_END: spawner

/// Hold this while starting any program outside the engine (python3, a helper): while it is
/// held no worker's reply pipe is inheritable, so the program cannot keep one open by accident.
pub fn spawn_guard() -> std::sync::MutexGuard<'static, ()> {
    SPAWNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Room in each pipe to a worker, in bytes: a big chunk (a map of a million items sends
/// about 7 MB) crosses in a few writes instead of one per 64 KiB, Linux's default.
const PIPE_ROOM: libc::c_int = 1 << 20;

/// Give a pipe [`PIPE_ROOM`] where Linux allows it (an unprivileged user may hold only so much
/// pipe memory); where it does not, the pipe keeps its size, which is slower but as correct.
fn widen(pipe: &impl AsRawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: F_SETPIPE_SZ takes an int and changes only the pipe's buffer size.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_ROOM);
    }
}

/// Clear or set close-on-exec on a descriptor.
fn set_inheritable(fd: &impl AsFd, inheritable: bool) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let flags = if inheritable {
        FdFlag::empty()
    } else {
        FdFlag::FD_CLOEXEC
    };
    fcntl(fd.as_fd(), FcntlArg::F_SETFD(flags))?;
    Ok(())
}

/// Read a child's stream line by line on a thread of its own (a full pipe would stall the
/// child), turning each line into an [`Event::Output`]. Ends at the child's exit.
fn forward_lines(
    stream: impl Read + Send + 'static,
    which: Stream,
    name: &str,
    pid: u32,
    events: Sender<Event>,
) -> Result<mpsc::Receiver<()>> {
    let name = name.to_string();
    let what = format!("reading the output of {name}");
    let (done, drained) = mpsc::channel::<()>();
    thread::Builder::new()
        .name(format!("{name} output"))
        .spawn(move || {
            let _done = done;
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        let event = Event::Output {
                            name: name.clone(),
                            pid,
                            stream: which,
                            line,
                            at: Stamp::now(),
                        };
                        if events.send(event).is_err() {
                            break;
                        }
                    }
                }
            }
        })
        .map_err(|e| Error::thread(what, &e))?;
    Ok(drained)
}
