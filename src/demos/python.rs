//! Running the learner's `python3` beside a demo, for a live comparison.
//!
//! The script is embedded in procbook and written to a private temporary file first: Python's
//! spawn and forkserver start methods (macOS, and Linux from 3.14) make each worker import the
//! main script by path, which `python3 -c` cannot offer. python3 runs in a process group of its
//! own, so Ctrl-C reaches procbook only, and procbook then stops python3 and every process it
//! started, and reaps python3.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::engine::{self, cancel};

/// How often a wait for python3's next line looks up to check for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

/// A running `python3 SCRIPT ARGS`, read line by line.
pub struct Python {
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    deadline: Instant,
    limit: Duration,
    dir: PathBuf,
}

/// Start `python3` on `source` (saved as `file_name`) with `args`; `Ok(None)` when there is no
/// `python3` on the PATH. It is stopped if it runs longer than `limit`.
pub fn start(
    file_name: &str,
    source: &str,
    args: &[String],
    limit: Duration,
) -> Result<Option<Python>> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "procbook-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
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
            return Err(e).context("starting python3");
        }
    };
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take();
    thread::spawn(move || {
        let Some(stdout) = stdout else { return };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = child.stderr.take().map(|mut err| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        })
    });
    Ok(Some(Python {
        child,
        lines,
        stderr,
        deadline: Instant::now() + limit,
        limit,
        dir,
    }))
}

impl Python {
    /// The next line python3 printed, or `None` once it closed its output. Ctrl-C or the time
    /// limit stops python3 and everything it started.
    pub fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            if cancel::requested() {
                self.stop();
                return Err(engine::Error::Interrupted.into());
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.stop();
                bail!(
                    "python3 ran past {} s and was stopped",
                    self.limit.as_secs()
                );
            }
            match self.lines.recv_timeout(POLL.min(left)) {
                Ok(line) => return Ok(Some(line)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            }
        }
    }

    /// Every line still to come, then wait for python3 to exit: an error, with the last line
    /// of its stderr, if it failed.
    pub fn finish(mut self) -> Result<Vec<String>> {
        let mut rest = Vec::new();
        while let Some(line) = self.next_line()? {
            rest.push(line);
        }
        let status = self.child.wait().context("waiting for python3")?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if !status.success() {
            let why = stderr.lines().last().unwrap_or("no message");
            bail!("python3 failed ({status}): {why}");
        }
        Ok(rest)
    }

    /// Kill python3's whole process group (its workers too) and reap python3.
    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
