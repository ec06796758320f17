//! `sandbox`: the referee that runs one grader so that learner code can neither hang nor run away.
//!
//! ```text
//! sandbox --timeout-ms N --max-processes N --report FILE [--worker PATH] -- PROGRAM [ARGS...]
//! ```
//!
//! It starts PROGRAM (one grader, holding your code) in a process group of its own and at a
//! lower priority than itself, then watches it:
//!
//! - **the deadline**: past it, everything is stopped and the report says `timed-out`;
//! - **the processes your code runs**: the sandbox makes itself a *child subreaper*, so every
//!   process started under it stays its descendant, even when orphaned. It counts them in
//!   `/proc` every few milliseconds and stops everything past the cap (`too-many`). The cap
//!   has to be ours: the usual limit, `RLIMIT_NPROC`, does not apply to root.
//!
//! - **the workers your code starts** (with `--worker`): the referee (`sandbox/referee.rs`)
//!   notes for itself which ones ran, who started them, when, and what each did, and answers
//!   the grader's questions about them.
//!
//! PROGRAM gets the sandbox's own standard input (the grader reads a secret there before your
//! code runs, to sign its verdict with).
//!
//! However it ends, the sandbox kills every descendant and reaps it before it exits, so
//! nothing is left behind, not even a zombie. It writes what happened to the report file as
//! `key=value` lines, which the graders read.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use std::{fs, io, thread};

/// How often the watchdog looks at the deadline and counts processes.
const POLL: Duration = Duration::from_millis(5);
/// How long stopping everything may take before the sandbox gives up and says so.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The niceness of the code under test, so the watchdog still gets a core when it spins.
const NICENESS: libc::c_int = 10;
/// The address space each process under test may use: room for any honest exercise.
const MEMORY_LIMIT: libc::rlim_t = 4 << 30;
const USAGE: &str = "usage: sandbox --timeout-ms N --max-processes N --report FILE \
[--worker PATH] -- PROGRAM [ARGS...]";

mod referee;

/// Set by SIGINT, SIGTERM or SIGHUP: stop the code under test, clean up, and leave.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

struct Options {
    timeout: Duration,
    max_processes: usize,
    report: PathBuf,
    worker: Option<PathBuf>,
    program: Vec<OsString>,
}

/// How the run ended.
#[derive(Clone, Copy)]
enum Verdict {
    Finished,
    TimedOut,
    TooMany,
    Interrupted,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Finished => "finished",
            Verdict::TimedOut => "timed-out",
            Verdict::TooMany => "too-many",
            Verdict::Interrupted => "interrupted",
        }
    }
}

/// One process under the sandbox, as `/proc/PID/stat` describes it.
struct Proc {
    pid: libc::pid_t,
    zombie: bool,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args_os().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("sandbox: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(report) => match fs::write(&options.report, report) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sandbox: writing {}: {e}", options.report.display());
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("sandbox: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_args(args: Vec<OsString>) -> Result<Options, String> {
    let mut timeout = None;
    let mut max_processes = None;
    let mut report = None;
    let mut worker = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{} wants a value", arg.to_string_lossy()))
        };
        match arg.to_str() {
            Some("--timeout-ms") => {
                let ms = value()?
                    .to_string_lossy()
                    .parse()
                    .map_err(|e| format!("{e}"))?;
                timeout = Some(Duration::from_millis(ms));
            }
            Some("--max-processes") => {
                max_processes = Some(
                    value()?
                        .to_string_lossy()
                        .parse()
                        .map_err(|e| format!("{e}"))?,
                );
            }
            Some("--report") => report = Some(PathBuf::from(value()?)),
            Some("--worker") => worker = Some(PathBuf::from(value()?)),
            Some("--") => {
                let program: Vec<OsString> = args.collect();
                if program.is_empty() {
                    return Err("no program after --".into());
                }
                return Ok(Options {
                    timeout: timeout.ok_or("--timeout-ms is required")?,
                    max_processes: max_processes.ok_or("--max-processes is required")?,
                    report: report.ok_or("--report is required")?,
                    worker,
                    program,
                });
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Err("no program to run (put it after --)".into())
}

fn run(options: &Options) -> io::Result<String> {
    // SAFETY: prctl and signal only change this process's own settings; the handler only
    // stores to an atomic, which is async-signal-safe.
    unsafe {
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(signal, handler);
        }
    }

    let referee = match &options.worker {
        Some(worker) => Some(referee::Referee::start(worker.clone())?),
        None => None,
    };
    let me = std::process::id() as libc::pid_t;
    let mut command = Command::new(&options.program[0]);
    command
        .args(&options.program[1..])
        .stdin(Stdio::inherit())
        .process_group(0);
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
    // system calls (prctl, getppid, setpriority, setrlimit), allocating nothing.
    unsafe {
        command.pre_exec(move || {
            // Should the sandbox itself be killed, the code under test dies with it.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
                || libc::getppid() != me
            {
                return Err(io::Error::other("the sandbox went away"));
            }
            libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS);
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    let started = Instant::now();
    // The child is reaped below with waitpid(-1), together with any orphans, so the `Child`
    // handle is only needed for its PID.
    let inner = command.spawn()?.id() as libc::pid_t;
    if let Some(referee) = &referee {
        referee.set_inner(inner as u32);
    }
    // Should the sandbox itself be killed, this tells the grader's outer half which process
    // group to stop.
    let _ = fs::write(&options.report, format!("inner={inner}\n"));

    let mut inner_status = None;
    let mut peak = 0;
    let mut zombies = 0;
    let verdict = loop {
        reap(inner, &mut inner_status);
        if inner_status.is_some() {
            break Verdict::Finished;
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Verdict::Interrupted;
        }
        if started.elapsed() >= options.timeout {
            break Verdict::TimedOut;
        }
        let procs: Vec<Proc> = descendants(me)?
            .into_iter()
            .filter(|p| p.pid != inner)
            .collect();
        if procs.len() > peak {
            peak = procs.len();
            zombies = procs.iter().filter(|p| p.zombie).count();
        }
        if procs.len() > options.max_processes {
            break Verdict::TooMany;
        }
        thread::sleep(POLL);
    };
    let elapsed = started.elapsed();

    // What the code under test left running after it returned: a failure of its own.
    let leftovers: Vec<String> = match verdict {
        Verdict::Finished => descendants(me)?
            .iter()
            .filter(|p| !p.zombie)
            .map(|p| p.pid.to_string())
            .collect(),
        _ => Vec::new(),
    };
    let stopped = stop_all(me, inner, &mut inner_status)?;

    let status = match inner_status {
        Some(s) if libc::WIFEXITED(s) => format!("exit {}", libc::WEXITSTATUS(s)),
        Some(s) if libc::WIFSIGNALED(s) => format!("signal {}", libc::WTERMSIG(s)),
        _ => "unknown".to_string(),
    };
    Ok(format!(
        "verdict={}\nstatus={status}\npeak={peak}\nzombies={zombies}\nleftovers={}\nelapsed_ms={}\nclean={stopped}\n",
        verdict.as_str(),
        leftovers.join(" "),
        elapsed.as_millis(),
    ))
}

/// Reaps every child that has ended, orphans included; notes the status of `inner`.
fn reap(inner: libc::pid_t, inner_status: &mut Option<libc::c_int>) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
        if pid == inner {
            *inner_status = Some(status);
        }
    }
}

/// Kills every descendant and reaps it, until none is left. Returns whether that worked.
fn stop_all(
    me: libc::pid_t,
    inner: libc::pid_t,
    inner_status: &mut Option<libc::c_int>,
) -> io::Result<bool> {
    let started = Instant::now();
    while started.elapsed() < STOP_GRACE {
        // SAFETY: kill only sends signals: to the code's process group first (which reaches a
        // process forked a moment ago), then to each descendant found, in case one left the group.
        unsafe { libc::kill(-inner, libc::SIGKILL) };
        let left = descendants(me)?;
        for p in &left {
            unsafe { libc::kill(p.pid, libc::SIGKILL) };
        }
        reap(inner, inner_status);
        if left.is_empty() {
            return Ok(true);
        }
        thread::sleep(Duration::from_millis(1));
    }
    Ok(false)
}

/// Every process below `root`, found by walking parent links in `/proc`.
fn descendants(root: libc::pid_t) -> io::Result<Vec<Proc>> {
    let mut children: HashMap<libc::pid_t, Vec<Proc>> = HashMap::new();
    for entry in fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        // A process can end between the listing and the read: then it is simply not counted.
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so split after
        // the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("?");
        let Some(ppid) = fields.next().and_then(|s| s.parse().ok()) else {
            continue;
        };
        children.entry(ppid).or_default().push(Proc {
            pid,
            zombie: state == "Z",
        });
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(parent) = queue.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            queue.push(child.pid);
            found.push(child);
        }
    }
    Ok(found)
}
