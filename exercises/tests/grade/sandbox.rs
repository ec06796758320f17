//! Running one grader in the sandbox: the outer half starts it, the inner half runs it.
//!
//! `cargo test` calls [`run`] in the ordinary test process: the outer half. It runs this same
//! test binary again, filtered to the one grader, under the `sandbox` program
//! (src/bin/sandbox.rs), which enforces a deadline and a cap on processes and cleans up
//! everything afterwards. In that re-run, [`run`] finds its own name in `EXERCISES_GRADER` and
//! is the inner half: it calls the learner's code, grades it, and writes the outcome to a file.
//! The outer half turns that outcome, or the sandbox's report of why there is none, into the
//! test's result.

use crate::evidence::{self, LOG_VAR};
use crate::learner;
use crate::message::fill;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{env, fmt, fs, panic, thread};

/// Names the grader the re-run is to run as the inner half.
const GRADER_VAR: &str = "EXERCISES_GRADER";
/// Names the file the inner half writes its outcome to.
const RESULT_VAR: &str = "EXERCISES_RESULT";
/// Overrides the deadline, in milliseconds (procbook's own tests shorten it).
const TIMEOUT_VAR: &str = "EXERCISES_TIMEOUT_MS";
const SANDBOX: &str = env!("CARGO_BIN_EXE_sandbox");
/// How long one grader, your code included, may run.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How many processes your code may have at once (running, or ended but not yet joined).
const MAX_PROCESSES: usize = 32;
/// How much longer than the deadline the sandbox may take to clean up and report.
const SANDBOX_GRACE: Duration = Duration::from_secs(15);
/// How many of the lines your code wrote to stderr a crash message shows.
const HEAD_LINES: usize = 8;

const TIMED_OUT: &str =
    "timed out: your code was still running after {} s, so the grader stopped it.
Look for a loop that never ends, or a wait for something that never comes: a child that is
never told to finish (did you close its stdin?), or a lock that is never let go.";
const TOO_MANY: &str =
    "too many processes: your code had {} processes at once{} (the limit is {}), \
so the grader stopped it.
Does something start processes in a loop that never ends, or do children start children of
their own (a fork bomb)?";
const TOO_MANY_ZOMBIES: &str = ", {} of them ended but never joined";
const LEFT_RUNNING: &str = "your code returned but left {} process(es) running (PID {}): \
join (wait for) every process you start before you return.";
const LEFT_UNJOINED: &str = "{} process(es) your code started (PID {}) ended but were never \
joined: wait() for every process you start, which is how its exit status is collected.";
const EXITED: &str = "your code ended the grader's process with exit status {} before the grader \
could finish: an exercise must return, not call std::process::exit.";
const CRASHED: &str = "your code crashed the grader's process: it was killed by signal {} ({}).{}";
const OUT_OF_MEMORY: &str = "\nIt ran out of memory: is something growing without end?";
const OUTPUT: &str = "\nIt wrote to stderr:\n{}";
const MORE_LINES: &str = "(and {} more lines)";
const INTERRUPTED: &str = "interrupted: the grader was stopped before it finished.";
const NOT_CLEAN: &str = "\n(The sandbox could not stop every process your code started.)";
const BROKEN: &str =
    "the grader's sandbox failed ({}): that is procbook's fault, not yours; please report it.";

/// A grader's verdict on the learner's code: the message a learner reads.
///
/// A test that returns `Err` makes libtest print `Error: {err:?}`, so `Debug` prints the
/// message as it is, without quotes or escapes.
pub struct Failure(String);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs the grader `name`, whose checks are `check`, in the sandbox.
pub fn run(name: &str, check: fn() -> Result<(), String>) -> Result<(), Failure> {
    if env::var(GRADER_VAR).as_deref() == Ok(name) {
        inner(check);
        Ok(())
    } else {
        outer(name).map_err(Failure)
    }
}

/// The inner half, in the sandbox: grade, and write the outcome where the outer half looks.
fn inner(check: fn() -> Result<(), String>) {
    learner::quiet_panics();
    let outcome = panic::catch_unwind(check).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(fill(BROKEN, &[&format!("the grader panicked: {what}")]))
    });
    // Asked while this process still holds every pipe it opened, so that a child left waiting
    // on one is still there to be seen.
    let left = left_behind();
    let text = match (outcome, left) {
        (Ok(()), None) => "pass\n".to_string(),
        (Ok(()), Some(left)) => format!("fail\n{left}"),
        (Err(message), None) => format!("fail\n{message}"),
        (Err(message), Some(left)) => format!("fail\n{message}\n{left}"),
    };
    let path = env::var_os(RESULT_VAR).expect("the outer half names a result file");
    fs::write(path, text).expect("writing the grader's result");
}

/// What the code under test left behind when it returned: children still running, or ended
/// and never joined. Every process it starts, it must also join.
fn left_behind() -> Option<String> {
    let below = evidence::descendants();
    let list = |zombie: bool| {
        let pids: Vec<String> = below
            .iter()
            .filter(|p| p.zombie == zombie)
            .map(|p| p.pid.to_string())
            .collect();
        (pids.len(), pids.join(", "))
    };
    let mut said = Vec::new();
    if let (n @ 1.., pids) = list(false) {
        said.push(fill(LEFT_RUNNING, &[&n, &pids]));
    }
    if let (n @ 1.., pids) = list(true) {
        said.push(fill(LEFT_UNJOINED, &[&n, &pids]));
    }
    (!said.is_empty()).then(|| said.join("\n"))
}

/// The outer half: start the sandbox, wait for it, and read what happened.
fn outer(name: &str) -> Result<(), String> {
    let scratch = Scratch::new(name).map_err(|e| fill(BROKEN, &[&e]))?;
    let timeout = env::var(TIMEOUT_VAR)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(TIMEOUT, Duration::from_millis);
    let test_binary = env::current_exe().map_err(|e| fill(BROKEN, &[&e]))?;
    let mut sandbox = Command::new(SANDBOX)
        .arg("--timeout-ms")
        .arg(timeout.as_millis().to_string())
        .arg("--max-processes")
        .arg(MAX_PROCESSES.to_string())
        .arg("--report")
        .arg(scratch.path("report"))
        .arg("--")
        .arg(test_binary)
        .args([name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(GRADER_VAR, name)
        .env(RESULT_VAR, scratch.path("result"))
        .env(LOG_VAR, scratch.path("worker.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fill(BROKEN, &[&format!("starting {SANDBOX}: {e}")]))?;
    // Read both pipes at once, or a full one would stall the writer; stdout is only libtest's
    // chatter and your code's printing, stderr is where a crash says why.
    let _stdout = head(sandbox.stdout.take(), 0);
    let stderr = head(sandbox.stderr.take(), HEAD_LINES);
    wait_or_stop(&mut sandbox, timeout + SANDBOX_GRACE)?;
    let stderr = stderr
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_default();

    let report = fs::read_to_string(scratch.path("report")).map_err(|e| {
        fill(
            BROKEN,
            &[&format!("no report: {e}; {}", stderr.join(" / "))],
        )
    })?;
    let report: HashMap<&str, &str> = report.lines().filter_map(|l| l.split_once('=')).collect();
    let field = |key: &str| report.get(key).copied().unwrap_or("");
    let not_clean = if field("clean") == "true" {
        ""
    } else {
        NOT_CLEAN
    };
    let verdict = match field("verdict") {
        "timed-out" => Err(fill(TIMED_OUT, &[&timeout.as_secs_f32()])),
        "too-many" => {
            let zombies: usize = field("zombies").parse().unwrap_or(0);
            let zombies = if zombies > 0 {
                fill(TOO_MANY_ZOMBIES, &[&zombies])
            } else {
                String::new()
            };
            Err(fill(TOO_MANY, &[&field("peak"), &zombies, &MAX_PROCESSES]))
        }
        "interrupted" => Err(INTERRUPTED.to_string()),
        "finished" => finished(&scratch, field("status"), field("leftovers"), &stderr),
        other => Err(fill(BROKEN, &[&format!("verdict {other:?}")])),
    };
    match verdict {
        Err(message) => Err(message + not_clean),
        Ok(()) if !not_clean.is_empty() => Err(not_clean.trim().to_string()),
        Ok(()) => Ok(()),
    }
}

/// The grader ran to its end, or the code under it ended the process: which, and how?
fn finished(
    scratch: &Scratch,
    status: &str,
    leftovers: &str,
    stderr: &[String],
) -> Result<(), String> {
    let left_running = || {
        let pids: Vec<&str> = leftovers.split_whitespace().collect();
        fill(LEFT_RUNNING, &[&pids.len(), &pids.join(", ")])
    };
    match fs::read_to_string(scratch.path("result")) {
        Ok(result) => match result.split_once('\n') {
            Some(("pass", _)) if leftovers.trim().is_empty() => Ok(()),
            Some(("pass", _)) => Err(left_running()),
            Some(("fail", message)) if leftovers.trim().is_empty() => Err(message.to_string()),
            Some(("fail", message)) => Err(format!("{message}\n{}", left_running())),
            _ => Err(fill(BROKEN, &[&format!("result {result:?}")])),
        },
        // No result: the process ended before the grader could write one.
        Err(_) => match status.split_once(' ') {
            Some(("exit", code)) => Err(fill(EXITED, &[&code])),
            Some(("signal", signal)) => {
                let number: i32 = signal.parse().unwrap_or(0);
                let mut more = String::new();
                if stderr.iter().any(|l| l.contains("memory allocation of")) {
                    more.push_str(OUT_OF_MEMORY);
                }
                if !stderr.is_empty() {
                    more.push_str(&fill(OUTPUT, &[&stderr.join("\n")]));
                }
                Err(fill(CRASHED, &[&number, &signal_name(number), &more]))
            }
            _ => Err(fill(BROKEN, &[&format!("status {status:?}")])),
        },
    }
}

/// Waits for the sandbox; should it overrun its own deadline, stops it and says so.
fn wait_or_stop(sandbox: &mut Child, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        match sandbox.try_wait() {
            Ok(Some(_)) => return Ok(()),
            Ok(None) if started.elapsed() < limit => thread::sleep(Duration::from_millis(10)),
            Ok(None) => break,
            Err(e) => return Err(fill(BROKEN, &[&format!("waiting for it: {e}")])),
        }
    }
    // SIGTERM lets the sandbox clean up; SIGKILL is for when even that does not happen.
    // SAFETY: kill only sends a signal, to a child not yet reaped, so its PID is still ours.
    unsafe { libc::kill(sandbox.id() as libc::pid_t, libc::SIGTERM) };
    let asked = Instant::now();
    while asked.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = sandbox.try_wait() {
            return Err(fill(BROKEN, &[&"it overran its deadline"]));
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    Err(fill(
        BROKEN,
        &[&"it overran its deadline and had to be killed"],
    ))
}

/// Reads `pipe` to its end on a thread of its own; sends back its first `keep` lines (a crash
/// says why first; a backtrace may follow), and a last line saying how many more there were.
fn head(pipe: Option<impl Read + Send + 'static>, keep: usize) -> mpsc::Receiver<Vec<String>> {
    let (send, receive) = mpsc::channel();
    if let Some(pipe) = pipe {
        thread::spawn(move || {
            let mut first = Vec::new();
            let mut more = 0;
            let mut in_backtrace = false;
            for line in BufReader::new(pipe).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line);
                if line.starts_with("stack backtrace:") {
                    in_backtrace = true;
                }
                if first.len() < keep && !in_backtrace {
                    first.push(line.chars().take(200).collect::<String>());
                } else {
                    more += 1;
                }
            }
            if more > 0 && keep > 0 {
                first.push(fill(MORE_LINES, &[&more]));
            }
            let _ = send.send(first);
        });
    }
    receive
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => "SIGABRT: the process aborted",
        libc::SIGSEGV => "SIGSEGV: a bad memory access, or a stack overflow",
        libc::SIGBUS => "SIGBUS: a bad memory access",
        libc::SIGFPE => "SIGFPE: an arithmetic fault",
        libc::SIGILL => "SIGILL: an illegal instruction",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "SIGPIPE: a write to a pipe nobody reads",
        _ => "a signal",
    }
}

/// A directory of its own for one grader run, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> std::io::Result<Scratch> {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = env::temp_dir().join(format!(
            "exercises-{name}-{}-{}-{nanos}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
