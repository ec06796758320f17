//! `Process`: one child running one task, as `multiprocessing.Process(target=…, args=…)`.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::Child;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use serde_json::Value;

use super::cancel;
use super::child::{self, Drained, Role, Spawned};
use super::clock::Stamp;
use super::error::{Error, Result};
use super::event::{Event, Exit};
use super::task::Task;
use super::wire::{Request, write_frame};

/// How often a blocked wait looks up from its pipe to check for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// How long an ended child's output may take to arrive before its exit is reported anyway.
pub(crate) const OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// A process not yet started: `Process(target=task, args=(arg,))`.
pub struct ProcessBuilder {
    task: &'static str,
    arg: Result<Value>,
    events: Option<Sender<Event>>,
    program: Option<PathBuf>,
}

impl ProcessBuilder {
    /// Send the child's output and lifecycle to `events` (otherwise its output goes straight
    /// to this program's stdout and stderr, as Python's children do).
    pub fn events(mut self, events: &Sender<Event>) -> Self {
        self.events = Some(events.clone());
        self
    }

    /// Run workers from this executable instead of the current one.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// `p.start()`: spawn the child and hand it its task.
    pub fn start(self) -> Result<Process> {
        let arg = self.arg?;
        let name = format!("Process-{}", child::next_identity());
        let program = child::program(self.program.as_deref())?;
        let Spawned {
            child,
            pid,
            mut requests,
            replies,
            output,
            at,
        } = child::spawn(&program, Role::Process, &name, self.events.as_ref())?;
        let process = Process {
            name,
            pid,
            child,
            replies,
            output,
            exit: None,
            events: self.events,
        };
        process.emit(Event::Started {
            name: process.name.clone(),
            pid,
            at,
        });
        let request = Request::Run {
            chunk: 0,
            task: self.task.to_string(),
            items: vec![arg],
        };
        // The request is one small frame; the child exits after its one task, so the pipe is
        // dropped here and the child sees a clean end after the frame.
        write_frame(&mut requests, &request)
            .and_then(|()| requests.flush())
            .map_err(|e| Error::Io {
                what: format!("sending the task to {}", process.name),
                reason: e.to_string(),
            })?;
        Ok(process)
    }
}

/// A started child process.
pub struct Process {
    name: String,
    pid: u32,
    child: Child,
    replies: std::io::PipeReader,
    output: Drained,
    exit: Option<Exit>,
    events: Option<Sender<Event>>,
}

impl Process {
    /// `Process(target=task, args=(arg,))`: not started until [`ProcessBuilder::start`].
    // Returns a builder on purpose: as in Python, creating a process does not start it.
    #[allow(clippy::new_ret_no_self)]
    pub fn new<A: Serialize, R>(task: &'static Task<A, R>, arg: A) -> ProcessBuilder {
        ProcessBuilder {
            task: task.name,
            arg: serde_json::to_value(arg).map_err(|e| Error::Io {
                what: format!("encoding the argument for {}", task.name),
                reason: e.to_string(),
            }),
            events: None,
            program: None,
        }
    }

    /// `p.name`: `Process-N`, numbered by the program-wide counter.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `p.pid`.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `p.exitcode`: `None` while running, then the exit code, or `-N` if killed by signal N.
    pub fn exitcode(&mut self) -> Option<i32> {
        self.poll_exit().map(Exit::exitcode)
    }

    /// How it ended, once it has.
    pub fn exit(&mut self) -> Option<Exit> {
        self.poll_exit()
    }

    /// `p.is_alive()`.
    pub fn is_alive(&mut self) -> bool {
        self.poll_exit().is_none()
    }

    /// `p.join()`: wait for the child to end and reap it. Ctrl-C stops the wait, kills the child
    /// and reaps it, and gives [`Error::Interrupted`].
    pub fn join(&mut self) -> Result<Exit> {
        self.join_timeout(None)?.ok_or(Error::Interrupted)
    }

    /// `p.join(timeout)`: `Ok(None)` if it is still running when the time is up.
    pub fn join_timeout(&mut self, timeout: Option<Duration>) -> Result<Option<Exit>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(exit) = self.poll_exit() {
                return Ok(Some(exit));
            }
            if cancel::requested() {
                self.kill();
                self.reap();
                return Err(Error::Interrupted);
            }
            let mut wait = POLL;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                wait = wait.min(left);
            }
            if self.wait_for_reply_pipe(wait) {
                // The worker closed its reply pipe: it is exiting, so a blocking wait is short.
                return Ok(Some(self.reap()));
            }
        }
    }

    /// `p.terminate()`: SIGTERM.
    pub fn terminate(&mut self) {
        if self.exit.is_none() {
            let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        }
    }

    /// `p.kill()`: SIGKILL.
    pub fn kill(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
        }
    }

    /// Block up to `wait` on the reply pipe; true once it has reached end of file.
    fn wait_for_reply_pipe(&mut self, wait: Duration) -> bool {
        let mut fds = [PollFd::new(self.replies.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) | Err(_) => false,
            Ok(_) => {
                let mut buf = [0u8; 4096];
                // Drain the reply (the exit code says how the task went); 0 means EOF.
                matches!(self.replies.read(&mut buf), Ok(0) | Err(_))
            }
        }
    }

    fn poll_exit(&mut self) -> Option<Exit> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.record(Exit::from_status(status));
        }
        self.exit
    }

    fn reap(&mut self) -> Exit {
        if let Some(exit) = self.exit {
            return exit;
        }
        let exit = match self.child.wait() {
            Ok(status) => Exit::from_status(status),
            Err(_) => Exit::Code(-1),
        };
        self.record(exit);
        exit
    }

    /// Note how it ended; called just after it was reaped.
    fn record(&mut self, exit: Exit) {
        let at = Stamp::now();
        self.exit = Some(exit);
        self.output.wait(OUTPUT_GRACE);
        self.emit(Event::Exited {
            name: self.name.clone(),
            pid: self.pid,
            exit,
            at,
        });
    }

    fn emit(&self, event: Event) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

impl Drop for Process {
    /// A process handle that goes away takes its child with it: nothing is left running.
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill();
            self.reap();
        }
    }
}
