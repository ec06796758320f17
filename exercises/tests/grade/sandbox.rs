//! Running one grader in the sandbox: the outer half starts it, the inner half runs it.
//!
//! `cargo test` calls [`run`] in the ordinary test process: the outer half. It runs this same
//! test binary again, filtered to the one grader, under the `sandbox` program
//! (src/bin/sandbox/main.rs), which enforces a deadline and a cap on processes and cleans up
//! everything afterwards. In that re-run, [`run`] finds its own name in `EXERCISES_GRADER` and
//! is the inner half: it calls the learner's code and grades it against what the sandbox's
//! referee saw the workers do.
//!
//! The verdict does not travel through anything your code could name: before your code runs,
//! the inner half reads a secret the outer half made (on its stdin, which is then at its end),
//! and it signs its verdict with it on stdout. A "pass" that is not signed is no pass. The
//! sandbox is a referee for honest mistakes and runaways, not a security boundary: code
//! written to attack the grader (reading its memory, say) is out of its scope.

use crate::evidence;
use crate::learner;
use crate::message::fill;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use std::{env, fmt, fs, panic, thread};

/// Names the grader the re-run is to run as the inner half.
const GRADER_VAR: &str = "EXERCISES_GRADER";
/// Set by `procbook run N`: the file to write what the learner's code printed to.
const SHOW_VAR: &str = "EXERCISES_SHOW_OUTPUT";
/// Starts the signed verdict line on the inner half's stdout.
const VERDICT: &str = "exercises-verdict";
const WORKER_BIN: &str = env!("CARGO_BIN_EXE_worker");
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
/// A piece of LEFT_RUNNING, to tell whether it was said already.
const LEFT_MARK: &str = "process(es) running";
const LEFT_UNJOINED: &str = "{} process(es) your code started (PID {}) ended but were never \
joined: wait() for every process you start, which is how its exit status is collected.";
const EXITED: &str = "your code ended the grader's process with exit status {} before the grader \
could finish: an exercise must return, not call std::process::exit.";
const CRASHED: &str = "your code crashed the grader's process: it was killed by signal {} ({}).{}";
const OUT_OF_MEMORY: &str = "\nIt ran out of memory: is something growing without end?";
const OUTPUT: &str = "\nIt wrote to stderr:\n{}";
const MORE_LINES: &str = "(and {} more lines)";
const INTERRUPTED: &str = "interrupted: the grader was stopped before it finished.";
const KILLED_SANDBOX: &str = "your code killed the grader's parent, the sandbox (PID {}), with \
signal {} ({}): an exercise must never signal processes it did not start.";
const NO_VERDICT: &str = "the grader's process ended without a signed verdict{}: something \
other than the grader wrote or ended it. Only the grader decides whether an exercise passes.";
const UNSIGNED: &str = " (a verdict line without the grader's secret was printed, and ignored)";
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

/// The inner half, in the sandbox: take the secret, grade, and print the signed verdict.
fn inner(check: fn() -> Result<(), String>) {
    // Before any of the learner's code runs: the secret, on stdin, which then stays at its end.
    let mut secret = String::new();
    let _ = std::io::stdin().read_to_string(&mut secret);
    let secret = secret.trim().to_string();
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
    let (verdict, message) = match (outcome, left) {
        (Ok(()), None) => ("pass", String::new()),
        (Ok(()), Some(left)) => ("fail", left),
        (Err(message), None) => ("fail", message),
        (Err(message), Some(left)) => ("fail", format!("{message}\n{left}")),
    };
    let text = format!(
        "\n{VERDICT} {secret} {verdict} {}\n{message}\n",
        message.len()
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The signed verdict in what the inner half printed: `Some(Ok)` for a pass, `Some(Err)` with
/// the message for a failure; `None` if there is none; and whether an unsigned one was seen.
fn signed_verdict(stdout: &[u8], secret: &str) -> (Option<Result<(), String>>, bool) {
    let text = String::from_utf8_lossy(stdout);
    let mut unsigned = false;
    let mut rest = text.as_ref();
    while let Some(at) = rest.find(VERDICT) {
        let line_end = rest[at..].find('\n').map_or(rest.len(), |n| at + n);
        let words: Vec<&str> = rest[at..line_end].split(' ').collect();
        match words.as_slice() {
            [_, given, verdict, len] if *given == secret && !secret.is_empty() => {
                let len: usize = len.parse().unwrap_or(0);
                let body = rest.get(line_end + 1..).unwrap_or("");
                let message = body.get(..len).unwrap_or(body).to_string();
                return match *verdict {
                    "pass" => (Some(Ok(())), unsigned),
                    _ => (Some(Err(message)), unsigned),
                };
            }
            _ => unsigned = true,
        }
        rest = &rest[line_end..];
    }
    (None, unsigned)
}

/// What the learner's code printed: the inner half's stdout without libtest's lines and the
/// verdict.
fn learner_output(stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stdout);
    let text = match text.find(VERDICT) {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.starts_with("running 1 test") && !l.starts_with("test result:"))
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
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
    stop_with_parent();
    let scratch = Scratch::new(name).map_err(|e| fill(BROKEN, &[&e]))?;
    let timeout = env::var(TIMEOUT_VAR)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(TIMEOUT, Duration::from_millis);
    let test_binary = env::current_exe().map_err(|e| fill(BROKEN, &[&e]))?;
    let secret = secret().map_err(|e| fill(BROKEN, &[&format!("making a secret: {e}")]))?;
    let mut command = Command::new(SANDBOX);
    command
        .arg("--timeout-ms")
        .arg(timeout.as_millis().to_string())
        .arg("--max-processes")
        .arg(MAX_PROCESSES.to_string())
        .arg("--report")
        .arg(scratch.path("report"))
        .arg("--worker")
        .arg(WORKER_BIN)
        .arg("--")
        .arg(test_binary)
        .args([name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(GRADER_VAR, name)
        .env_remove(SHOW_VAR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl only changes the child's own settings; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            // Should this test process die, the sandbox is told, and cleans up.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
            Ok(())
        });
    }
    let mut sandbox = command
        .spawn()
        .map_err(|e| fill(BROKEN, &[&format!("starting {SANDBOX}: {e}")]))?;
    if let Some(mut stdin) = sandbox.stdin.take() {
        // The secret, then the end of input: the grader reads it before the learner's code runs.
        let _ = stdin.write_all(secret.as_bytes());
    }
    // Read both pipes at once, or a full one would stall the writer; stdout is libtest's
    // chatter, your code's printing and the signed verdict, stderr is where a crash says why.
    let stdout = all_of(sandbox.stdout.take());
    let stderr = head(sandbox.stderr.take(), HEAD_LINES);
    let status = wait_or_stop(&mut sandbox, timeout + SANDBOX_GRACE)?;
    let stderr = stderr
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_default();
    let stdout = stdout
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_default();
    if let Some(path) = env::var_os(SHOW_VAR) {
        // For `procbook run N`, which shows it: the learner's code never sees this path.
        let _ = fs::write(path, learner_output(&stdout));
    }

    let report = fs::read_to_string(scratch.path("report")).unwrap_or_default();
    let report: HashMap<&str, &str> = report.lines().filter_map(|l| l.split_once('=')).collect();
    let field = |key: &str| report.get(key).copied().unwrap_or("");
    if field("verdict").is_empty() {
        // No report: the sandbox itself was ended before it could write one.
        if let Ok(inner) = field("inner").parse::<i32>() {
            // SAFETY: kill only sends a signal, to the group the sandbox made for the grader.
            unsafe { libc::kill(-inner, libc::SIGKILL) };
        }
        if let Some(signal) = status.signal()
            && !interrupted()
        {
            return Err(fill(
                KILLED_SANDBOX,
                &[&sandbox.id(), &signal, &signal_name(signal)],
            ));
        }
        if interrupted() {
            return Err(INTERRUPTED.to_string());
        }
        return Err(fill(
            BROKEN,
            &[&format!("no report ({status}); {}", stderr.join(" / "))],
        ));
    }
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
        "finished" => finished(
            signed_verdict(&stdout, &secret),
            field("status"),
            field("leftovers"),
            &stderr,
        ),
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
    (verdict, unsigned): (Option<Result<(), String>>, bool),
    status: &str,
    leftovers: &str,
    stderr: &[String],
) -> Result<(), String> {
    let pids: Vec<&str> = leftovers.split_whitespace().collect();
    let left_running = fill(LEFT_RUNNING, &[&pids.len(), &pids.join(", ")]);
    match verdict {
        Some(Ok(())) if pids.is_empty() => Ok(()),
        Some(Ok(())) => Err(left_running),
        // The grader already said what was left running, with the number it saw.
        Some(Err(message)) if pids.is_empty() || message.contains(LEFT_MARK) => Err(message),
        Some(Err(message)) => Err(format!("{message}\n{left_running}")),
        // No verdict: the process ended before the grader could give one.
        None => match status.split_once(' ') {
            Some(("exit", code)) => {
                let mut message = fill(EXITED, &[&code]);
                if code == "0" || unsigned {
                    let unsigned = if unsigned { UNSIGNED } else { "" };
                    message = format!("{message}\n{}", fill(NO_VERDICT, &[&unsigned]));
                }
                Err(message)
            }
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

/// 32 random hex digits, from the kernel.
fn secret() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Set when this test process is asked to stop (Ctrl-C, SIGTERM, SIGHUP, or its parent's
/// death): each grader then stops its sandbox, which cleans up, and removes its scratch folder.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn interrupted() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Catches the signals that ask this process to stop, and asks for SIGTERM should its
/// parent (cargo, or procbook) die, so that nothing it started runs on.
fn stop_with_parent() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: the handler only stores to an atomic; prctl changes this process's settings.
        unsafe {
            let handler = on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, handler);
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
            if libc::getppid() == 1 {
                STOP.store(true, Ordering::SeqCst);
            }
        }
    });
}

/// Waits for the sandbox; should it overrun its own deadline, or this process be asked to
/// stop, stops it (SIGTERM lets it clean up) and says so.
fn wait_or_stop(sandbox: &mut Child, limit: Duration) -> Result<ExitStatus, String> {
    let started = Instant::now();
    let mut asked: Option<Instant> = None;
    loop {
        match sandbox.try_wait() {
            Ok(Some(status)) if asked.is_some() && !interrupted() => {
                return Err(fill(
                    BROKEN,
                    &[&format!("it overran its deadline ({status})")],
                ));
            }
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(fill(BROKEN, &[&format!("waiting for it: {e}")])),
        }
        match asked {
            None if interrupted() || started.elapsed() >= limit => {
                // SAFETY: kill only sends a signal, to a child not yet reaped.
                unsafe { libc::kill(sandbox.id() as libc::pid_t, libc::SIGTERM) };
                asked = Some(Instant::now());
            }
            Some(when) if when.elapsed() >= Duration::from_secs(3) => {
                let _ = sandbox.kill();
                let _ = sandbox.wait();
                return Err(fill(
                    BROKEN,
                    &[&"it overran its deadline and had to be killed"],
                ));
            }
            _ => {}
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Reads `pipe` to its end (at most 1 MiB kept) on a thread of its own.
fn all_of(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if kept.len() < (1 << 20) => kept.extend_from_slice(&buf[..n]),
                    Ok(_) => {}
                }
            }
            let _ = send.send(kept);
        });
    }
    receive
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
        remove_stale();
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

/// Removes the scratch folders of grader runs whose process is gone (killed with SIGKILL, say).
fn remove_stale() {
    let Ok(entries) = fs::read_dir(env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("exercises-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').nth(1).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
