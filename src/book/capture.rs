//! Running what the book shows, like a notebook's cells: each distinct demo and Python snippet
//! once, each in a fresh process, with its real output and when and where it was captured.
//!
//! A fresh process per capture matters: worker names come from one counter per program
//! (`SpawnPoolWorker-1`, `-2`, …), so a demo run inside the build would show the numbers a
//! learner never sees. Captures that do not read the clock run side by side, as many as there
//! are cores; those that time themselves run alone afterwards, so their timings are honest.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::engine::cancel;
use crate::figure::record::{self, Record};
use crate::group;

/// How long one capture may take before the build gives up on it.
const LIMIT: Duration = Duration::from_secs(120);
/// How long what a capture started may hold its output open after it exited (Python's
/// resource tracker and forkserver leave within milliseconds).
const AFTERLIFE: Duration = Duration::from_secs(2);

/// What a Python snippet that measures time calls (sleeping is not measuring).
const CLOCKS: &[&str] = &[
    "perf_counter",
    "monotonic",
    "process_time",
    "timeit",
    "time.time(",
    "time_ns",
];

/// One thing to run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Job {
    /// `procbook demo WORDS…`
    Demo(Vec<String>),
    /// `python3 FILE`, run in `dir` (the chapter's folder), with `file` as the chapter wrote it.
    Python { dir: PathBuf, file: String },
}

impl Job {
    /// The command as a learner would type it.
    pub fn command(&self) -> String {
        match self {
            Job::Demo(words) => format!("procbook demo {}", words.join(" ")),
            Job::Python { file, .. } => format!("python3 {file}"),
        }
    }

    /// Does this capture read the clock, so that sharing the cores would change what it shows?
    fn timed(&self) -> bool {
        match self {
            Job::Demo(words) => words
                .first()
                .and_then(|name| crate::demos::find(name))
                .is_some_and(|demo| demo.timed),
            Job::Python { dir, file } => std::fs::read_to_string(dir.join(file))
                .map(|source| CLOCKS.iter().any(|clock| source.contains(clock)))
                .unwrap_or(false),
        }
    }
}

/// What one run showed.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Everything it printed, stdout and stderr in the order they were written (Python), or
    /// the demo's own output.
    pub output: String,
    /// When it started.
    pub at: SystemTime,
    /// The cores it could use.
    pub cores: usize,
    /// The interpreter, for Python: `Python 3.14.0`.
    pub runtime: Option<String>,
    /// What a demo recorded of its run (its engine events with their stamps, its results),
    /// for the figure drawn beside the output; empty for Python.
    pub records: Vec<Record>,
}

/// A capture's result: its output, or why there is none to show.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ran(Captured),
    /// There is no `python3` on this machine.
    NoPython,
}

/// Run every job, side by side where that cannot change the output; each result is keyed by
/// its job. `procbook` is the binary that runs demos (this one, when it is procbook).
pub fn run_all(jobs: &[Job], procbook: &Path) -> BTreeMap<Job, (Duration, Result<Outcome>)> {
    let python = python_version();
    let cores = cores();
    let (timed, free): (Vec<&Job>, Vec<&Job>) = jobs.iter().partition(|j| j.timed());
    let results = Mutex::new(BTreeMap::new());
    let queue = Mutex::new(free.into_iter());
    let run_one = |job: &Job| {
        let started = Instant::now();
        let outcome = if cancel::requested() {
            Err(anyhow::anyhow!("stopped (Ctrl-C)"))
        } else {
            run(job, procbook, python.as_deref(), cores)
        };
        lock(&results).insert(job.clone(), (started.elapsed(), outcome));
    };
    let drain = || {
        loop {
            // Take the next job and let go of the queue before running it: a lock held in a
            // `while let` would last the whole loop body and run the captures one at a time.
            let next = lock(&queue).next();
            let Some(job) = next else { break };
            run_one(job);
        }
    };
    thread::scope(|s| {
        for _ in 0..cores.min(jobs.len()).max(1) {
            // Fewer threads than asked for (a process limit) only means fewer side by side.
            if thread::Builder::new().spawn_scoped(s, drain).is_err() {
                break;
            }
        }
    });
    drain(); // whatever no thread could take
    for job in timed {
        run_one(job);
    }
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cores this process may use, as the captions report them.
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// `Python 3.14.0`, or `None` when there is no `python3` to run.
pub fn python_version() -> Option<String> {
    let out = Command::new("python3")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn run(job: &Job, procbook: &Path, python: Option<&str>, cores: usize) -> Result<Outcome> {
    let at = SystemTime::now();
    let mut records = Vec::new();
    let (output, runtime) = match job {
        Job::Demo(words) => {
            let recording = Recording::new();
            let mut cmd = Command::new(procbook);
            cmd.arg("demo")
                .args(words)
                .env("NO_COLOR", "1")
                .env(record::ENV, &recording.0);
            let output = run_child(cmd, false, &job.command())?;
            records = record::read(&recording.0)
                .with_context(|| format!("reading what `{}` recorded", job.command()))?;
            (output, None)
        }
        Job::Python { dir, file } => {
            let Some(version) = python else {
                return Ok(Outcome::NoPython);
            };
            let mut cmd = Command::new("python3");
            cmd.arg(file)
                .current_dir(dir)
                .env("PYTHONUNBUFFERED", "1")
                .env("PYTHONDONTWRITEBYTECODE", "1");
            (
                run_child(cmd, true, &job.command())?,
                Some(version.to_string()),
            )
        }
    };
    Ok(Outcome::Ran(Captured {
        output,
        at,
        cores,
        runtime,
        records,
    }))
}

/// A file for one demo to record its run in, removed when done with.
struct Recording(PathBuf);

impl Recording {
    fn new() -> Recording {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("procbook-record-{}-{n}.jsonl", std::process::id()));
        // A file left by an earlier process with this PID would add its lines to ours.
        let _ = std::fs::remove_file(&path);
        Recording(path)
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Run `cmd` in its own process group to the end and return what it printed: stdout and
/// stderr together in the order written when `merge`, else stdout alone (stderr becomes the
/// error message if it fails). The whole group is killed if it runs past [`LIMIT`] or the
/// learner presses Ctrl-C.
fn run_child(mut cmd: Command, merge: bool, what: &str) -> Result<String> {
    cmd.stdin(Stdio::null()).process_group(0);
    let (out_reader, err_reader) = if merge {
        let (reader, writer) = std::io::pipe().context("making a pipe")?;
        cmd.stdout(writer.try_clone()?).stderr(writer);
        (reader, None)
    } else {
        let (out, out_w) = std::io::pipe().context("making a pipe")?;
        let (err, err_w) = std::io::pipe().context("making a pipe")?;
        cmd.stdout(out_w).stderr(err_w);
        (out, Some(err))
    };
    let child = cmd
        .spawn()
        .map_err(|e| crate::limits::start_error(&format!("`{what}`"), &e));
    // The command holds the pipes' write ends; drop them so the readers see the end.
    drop(cmd);
    let mut child = child?;
    group::watch(&child);
    let readers = read_all(out_reader).and_then(|out| match err_reader.map(read_all) {
        Some(Err(e)) => Err(e),
        Some(Ok(err)) => Ok((out, Some(err))),
        None => Ok((out, None)),
    });
    let (out, err) = match readers {
        Ok(readers) => readers,
        Err(e) => {
            let _ = group::stop(&mut child);
            return Err(e.into());
        }
    };
    let deadline = Instant::now() + LIMIT;
    // When the child was first seen to have exited while its output was still held open.
    let mut exited_at = None;
    let mut outlived: Option<usize> = None;
    loop {
        // Looked at without reaping it, so that its group can still be killed by number.
        let exited = match group::has_exited(&child) {
            Ok(exited) => exited,
            Err(e) => {
                let _ = group::stop(&mut child);
                return Err(e).context("waiting for a capture");
            }
        };
        let readers_done = out.is_finished() && err.as_ref().is_none_or(|e| e.is_finished());
        if exited && readers_done {
            break;
        }
        // What it started holds its output open after it exited: stop them, after a moment.
        if exited
            && outlived.is_none()
            && exited_at.get_or_insert_with(Instant::now).elapsed() >= AFTERLIFE
        {
            outlived = Some(group::stop(&mut child).0);
        }
        let stop = if cancel::requested() {
            Some("stopped (Ctrl-C)".to_string())
        } else if Instant::now() > deadline {
            Some(format!("ran past {}s", LIMIT.as_secs()))
        } else {
            None
        };
        if let Some(why) = stop {
            let _ = group::stop(&mut child);
            bail!("`{what}` {why}");
        }
        thread::sleep(Duration::from_millis(5));
    }
    // Whatever it started and left running goes with it; then it is reaped.
    let (_, status) = group::stop(&mut child);
    let status = status.context("waiting for a capture")?;
    if let Some(outlived) = outlived.filter(|&n| n > 0) {
        let processes = if outlived == 1 {
            "process"
        } else {
            "processes"
        };
        bail!(
            "`{what}` exited, but {outlived} {processes} it started held its output open for {} s; procbook stopped them",
            AFTERLIFE.as_secs()
        );
    }
    let out = out.join().unwrap_or_default();
    let err = err
        .map(|e| e.join().unwrap_or_default())
        .unwrap_or_default();
    if !status.success() {
        let said = if merge { &out } else { &err };
        bail!("`{what}` failed ({status}):\n{}", said.trim_end());
    }
    if !err.trim().is_empty() {
        // A demo that succeeded but complained: show it, the learner would see it too.
        return Ok(format!("{out}{err}"));
    }
    Ok(out)
}

fn read_all(
    mut pipe: std::io::PipeReader,
) -> Result<JoinHandle<String>, crate::limits::StartError> {
    crate::limits::spawn("capture-reader", move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// `2026-11-22 at 02:41 UTC`, computed from the Unix clock (days to a civil date as in
/// Howard Hinnant's `civil_from_days`).
pub fn utc_minute(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} at {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil_dates() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(utc_minute(at(0)), "1970-01-01 at 00:00 UTC");
        // 2000-02-29 23:59:59, a leap day in a century leap year.
        assert_eq!(utc_minute(at(951_868_799)), "2000-02-29 at 23:59 UTC");
        // 2026-11-22 02:41:30
        assert_eq!(utc_minute(at(1_795_315_290)), "2026-11-22 at 02:41 UTC");
    }

    #[test]
    fn python_output_keeps_stdout_and_stderr_in_order() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo one; echo two >&2; echo three"]);
        assert_eq!(run_child(cmd, true, "sh").unwrap(), "one\ntwo\nthree\n");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo said; echo broke >&2; exit 3"]);
        let err = run_child(cmd, false, "sh").unwrap_err().to_string();
        assert!(
            err.contains("broke") && err.contains("exit status: 3"),
            "{err}"
        );
    }
}
