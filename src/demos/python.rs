//! Running the learner's `python3` beside a demo, for a live comparison.
//!
//! The script is embedded in procbook and written to a private scratch folder first: Python's
//! spawn and forkserver start methods (macOS, and Linux from 3.14) make each worker import the
//! main script by path, which `python3 -c` cannot offer. python3 runs in a process group of its
//! own, so Ctrl-C reaches procbook only, and procbook then stops python3 and every process it
//! started. The whole group is stopped on every path, also once python3 itself has exited:
//! what it started (the resource tracker, the forkserver, workers) may outlive it and hold its
//! output open. Its output is read here, with poll, so a run needs no thread of its own.

use std::collections::VecDeque;
use std::fs;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::engine::{self, cancel};
use crate::group;

/// How often a wait for python3's next line looks up to check for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);
/// How long what python3 started may hold its output open after python3 itself has exited,
/// before it is stopped. Python's resource tracker and forkserver exit within milliseconds of
/// their parent; only something stuck takes longer.
const AFTERLIFE: Duration = Duration::from_secs(2);
/// The most of python3's stderr kept for the error message.
const STDERR_KEEP: usize = 64 * 1024;

/// A running `python3 SCRIPT ARGS`, read line by line.
pub struct Python {
    child: Child,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    partial: Vec<u8>,
    lines: VecDeque<String>,
    err_text: Vec<u8>,
    deadline: Instant,
    limit: Duration,
    /// When python3 was first seen to have exited with its output still held open.
    exited_at: Option<Instant>,
    /// Processes of python3's group that outlived it and had to be stopped.
    outlived: usize,
    dir: PathBuf,
    stopped: bool,
}

/// Start `python3` on `source` (saved as `file_name`) with `args`; `Ok(None)` when there is no
/// `python3` on the PATH. It is stopped if it runs longer than `limit`.
pub fn start(
    file_name: &str,
    source: &str,
    args: &[String],
    limit: Duration,
) -> Result<Option<Python>> {
    let dir = crate::scratch::make("python")?;
    let script = dir.join(file_name);
    if let Err(e) = fs::write(&script, source) {
        let _ = fs::remove_dir_all(&dir);
        return Err(e).with_context(|| format!("writing {}", script.display()));
    }
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: only prctl, which is async-signal-safe, runs between fork and exec.
    #[cfg(target_os = "linux")]
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let spawned = {
        let _no_worker_pipes = engine::child::spawn_guard();
        cmd.spawn()
    };
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let _ = fs::remove_dir_all(&dir);
            if e.kind() == std::io::ErrorKind::NotFound {
                return Ok(None);
            }
            return Err(crate::limits::start_error("python3", &e).into());
        }
    };
    group::watch(&child);
    Ok(Some(Python {
        stdout: child.stdout.take(),
        stderr: child.stderr.take(),
        child,
        partial: Vec::new(),
        lines: VecDeque::new(),
        err_text: Vec::new(),
        deadline: Instant::now() + limit,
        limit,
        exited_at: None,
        outlived: 0,
        dir,
        stopped: false,
    }))
}

impl Python {
    /// The next line python3 printed, or `None` once its output is closed. Ctrl-C or the time
    /// limit stops python3 and everything it started.
    pub fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            if let Some(line) = self.lines.pop_front() {
                return Ok(Some(line));
            }
            if self.stdout.is_none() {
                return Ok(None);
            }
            if cancel::requested() {
                self.stop();
                return Err(engine::Error::Interrupted.into());
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let with = match self.stop() {
                    0 => String::new(),
                    1 => ", with the process it had started".to_string(),
                    n => format!(", with the {n} processes it had started"),
                };
                bail!(
                    "python3 ran past {} and was stopped{with}",
                    shown(self.limit)
                );
            }
            self.read_some(POLL.min(left))?;
            self.stop_survivors()?;
        }
    }

    /// Once python3 has exited, what it started may hold its output open: give it a moment
    /// to finish, then stop it.
    fn stop_survivors(&mut self) -> Result<()> {
        if self.stopped || !group::has_exited(&self.child).context("waiting for python3")? {
            return Ok(());
        }
        let since = *self.exited_at.get_or_insert_with(Instant::now);
        if since.elapsed() >= AFTERLIFE {
            // python3 is among the group's members no more: every one counted outlived it.
            self.outlived = self.stop();
        }
        Ok(())
    }

    /// Wait up to `timeout` for output, and take what is there.
    fn read_some(&mut self, timeout: Duration) -> Result<()> {
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let (out_ready, err_ready) = {
            let mut fds = Vec::with_capacity(2);
            if let Some(out) = &self.stdout {
                fds.push(PollFd::new(out.as_fd(), PollFlags::POLLIN));
            }
            if let Some(err) = &self.stderr {
                fds.push(PollFd::new(err.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e).context("waiting for python3's output"),
            }
            let ready = |fd: Option<&PollFd>| fd.and_then(PollFd::any).unwrap_or(false);
            match (&self.stdout, &self.stderr) {
                (Some(_), Some(_)) => (ready(fds.first()), ready(fds.get(1))),
                (Some(_), None) => (ready(fds.first()), false),
                (None, Some(_)) => (false, ready(fds.first())),
                (None, None) => (false, false),
            }
        };
        let mut buf = [0u8; 8192];
        if out_ready && let Some(out) = &mut self.stdout {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => {
                    self.stdout = None;
                    if !self.partial.is_empty() {
                        let last = std::mem::take(&mut self.partial);
                        self.lines
                            .push_back(String::from_utf8_lossy(&last).into_owned());
                    }
                }
                Ok(n) => {
                    self.partial.extend_from_slice(&buf[..n]);
                    while let Some(at) = self.partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = self.partial.drain(..=at).collect();
                        let line = String::from_utf8_lossy(&line[..at]);
                        self.lines
                            .push_back(line.trim_end_matches('\r').to_string());
                    }
                }
            }
        }
        if err_ready && let Some(err) = &mut self.stderr {
            match err.read(&mut buf) {
                Ok(0) | Err(_) => self.stderr = None,
                Ok(n) => {
                    self.err_text.extend_from_slice(&buf[..n]);
                    if self.err_text.len() > STDERR_KEEP {
                        let cut = self.err_text.len() - STDERR_KEEP;
                        self.err_text.drain(..cut);
                    }
                }
            }
        }
        Ok(())
    }

    /// Every line still to come, then python3's end: an error, with the last line of its
    /// stderr, if it failed or left processes behind that had to be stopped.
    pub fn finish(mut self) -> Result<Vec<String>> {
        let mut rest = Vec::new();
        while let Some(line) = self.next_line()? {
            rest.push(line);
        }
        // Its output is closed; python3 itself should be ending.
        loop {
            if cancel::requested() {
                self.stop();
                return Err(engine::Error::Interrupted.into());
            }
            if group::has_exited(&self.child).context("waiting for python3")? {
                break;
            }
            if Instant::now() >= self.deadline {
                self.stop();
                bail!(
                    "python3 closed its output but ran on past {}, and was stopped",
                    shown(self.limit)
                );
            }
            self.read_some(POLL)?;
        }
        // Whatever python3 started and left running goes with it (normally nothing, or its
        // resource tracker on its way out).
        self.stop();
        let status = self.child.wait().context("waiting for python3")?;
        // Its stderr closes now that nothing of its group holds it.
        let until = Instant::now() + AFTERLIFE;
        while self.stderr.is_some() && Instant::now() < until {
            self.read_some(POLL)?;
        }
        let err = String::from_utf8_lossy(&self.err_text).into_owned();
        let why = err.lines().rev().find(|l| !l.trim().is_empty());
        let ended = group::describe("python3", &status);
        let outlived = match self.outlived {
            0 => String::new(),
            n => format!(
                " (and left {n} of its processes holding its output for {} s; procbook stopped them)",
                AFTERLIFE.as_secs()
            ),
        };
        if !status.success() {
            bail!("{ended}{outlived}: {}", why.unwrap_or("no message"));
        }
        Ok(rest)
    }

    /// Kill python3's whole group (its workers too) and reap python3; how many of the group
    /// were still running. Safe to call again.
    fn stop(&mut self) -> usize {
        if self.stopped {
            return 0;
        }
        self.stopped = true;
        group::stop(&mut self.child).0
    }
}

/// "120 s", or "500 ms" under a second.
fn shown(limit: Duration) -> String {
    if limit < Duration::from_secs(1) {
        format!("{} ms", limit.as_millis())
    } else {
        format!("{} s", limit.as_secs())
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A script that starts a child holding its stdout, then fails: the child is stopped soon
    /// after, and the message says what python3 did.
    #[test]
    fn what_python3_leaves_running_is_stopped_after_it_exits() {
        let source = "import subprocess, sys\n\
                      p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n\
                      print(p.pid, flush=True)\n\
                      sys.exit('gave up')\n";
        let Some(mut py) = start("leaves.py", source, &[], Duration::from_secs(60)).unwrap() else {
            eprintln!("SKIPPED: no python3 on the PATH");
            return;
        };
        let started = Instant::now();
        let sleeper: i32 = py.next_line().unwrap().unwrap().parse().unwrap();
        let err = format!("{:#}", py.finish().unwrap_err());
        assert!(
            started.elapsed() < AFTERLIFE + Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(
            err.starts_with("python3 exited with status 1 (and left 1 of its processes")
                && err.ends_with(": gave up"),
            "{err}"
        );
        // The sleeper was killed; it may take its new parent a moment to reap it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(format!("/proc/{sleeper}/stat"))
            .is_ok_and(|s| !s.contains(") Z"))
        {
            assert!(Instant::now() < deadline, "the sleeper {sleeper} survived");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_run_past_its_limit_is_stopped_with_its_children() {
        let source = "import subprocess, sys, time\n\
                      subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n\
                      print('started', flush=True)\n\
                      time.sleep(60)\n";
        let Some(mut py) = start("slow.py", source, &[], Duration::from_secs(3)).unwrap() else {
            eprintln!("SKIPPED: no python3 on the PATH");
            return;
        };
        let pgid = py.child.id();
        assert_eq!(py.next_line().unwrap().as_deref(), Some("started"));
        let err = format!("{:#}", py.finish().unwrap_err());
        assert_eq!(
            err,
            "python3 ran past 3 s and was stopped, with the process it had started"
        );
        // SIGKILL is delivered asynchronously: a deadline, not a pause.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !group::members(pgid).is_empty() {
            assert!(
                Instant::now() < deadline,
                "{:?} survived",
                group::members(pgid)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
