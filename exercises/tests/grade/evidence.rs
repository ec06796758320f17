//! What the graders look at besides return values: what the sandbox saw, and `/proc`.
//!
//! Every `worker` reports to the sandbox's referee (src/bin/sandbox/referee.rs), which
//! believes only real worker processes below it and notes for itself who started each, when
//! each started and ended, and what each did. The grader asks the referee; your code has no
//! log to write to and no file to forge.

use std::io::{BufRead, BufReader, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::{fs, time::Duration};

/// The referee's socket: this name followed by the sandbox's PID (the grader's parent).
const REFEREE: &str = "exercises-referee-";

/// One worker process, as the sandbox saw it.
#[derive(Debug, Clone)]
pub struct Worker {
    pub pid: u32,
    /// Its parent when it started, as the sandbox read it from `/proc`.
    pub ppid: u32,
    /// When it started and ended, in ms after the sandbox started (`None`: still running).
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    /// Under a hold: `together` (all awaited workers ran at once) or `timeout`; else `free`.
    pub release: String,
    /// Where its stdout went: `pipe`, `null`, `terminal`, `file`, `inherited`, `other`.
    pub stdout: String,
    /// For a printing worker on a pipe: bytes of its output nobody has read.
    pub unread: Option<i64>,
    /// What it was asked to do (`print 7`) and what it did (`print 7`, `square 4`, ...).
    pub args: String,
    pub acts: Vec<String>,
}

/// One line of what the workers did: process `pid`, child of `ppid`, did `what` (`square 4`).
#[derive(Debug, Clone)]
pub struct Act {
    pub pid: u32,
    pub ppid: u32,
    pub what: String,
}

/// Everything the referee saw since the last [`clear_worker_log`]: the workers, and the
/// processes that tried to pass for one.
pub struct Seen {
    pub workers: Vec<Worker>,
    pub rejected: Vec<String>,
}

fn ask(question: &str) -> Vec<String> {
    let sandbox = std::os::unix::process::parent_id();
    let name = format!("{REFEREE}{sandbox}");
    let stream = SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|addr| UnixStream::connect_addr(&addr))
        .unwrap_or_else(|e| panic!("the sandbox's referee cannot be reached: {e}"));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut writer = stream.try_clone().expect("cloning the referee's socket");
    writer
        .write_all(format!("query\n{question}\n").as_bytes())
        .expect("asking the referee");
    let mut lines = Vec::new();
    for line in BufReader::new(stream).lines() {
        let line = line.expect("reading the referee's answer");
        if line == "ok" || line == "end" {
            return lines;
        }
        lines.push(line);
    }
    panic!("the referee did not finish its answer to {question:?}")
}

/// What the referee saw since the last mark.
pub fn seen() -> Seen {
    let mut seen = Seen {
        workers: Vec::new(),
        rejected: Vec::new(),
    };
    for line in ask("workers") {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [
                "worker",
                pid,
                ppid,
                start,
                end,
                release,
                stdout,
                unread,
                args,
                acts,
            ] => seen.workers.push(Worker {
                pid: pid.parse().unwrap_or(0),
                ppid: ppid.parse().unwrap_or(0),
                start_ms: start.parse().unwrap_or(0),
                end_ms: end.parse().ok(),
                release: release.to_string(),
                stdout: stdout.to_string(),
                unread: unread.parse().ok(),
                args: args.to_string(),
                acts: acts
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
            }),
            ["rejected", who] => seen.rejected.push(who.to_string()),
            _ => {}
        }
    }
    seen
}

/// Every worker since the last mark.
pub fn workers() -> Vec<Worker> {
    seen().workers
}

/// Every act of every worker since the last mark, in the order the workers started.
pub fn worker_log() -> Vec<Act> {
    workers()
        .into_iter()
        .flat_map(|w| {
            w.acts.into_iter().map(move |what| Act {
                pid: w.pid,
                ppid: w.ppid,
                what,
            })
        })
        .collect()
}

/// Forgets the workers seen so far, before calling the learner's code again.
pub fn clear_worker_log() {
    ask("mark");
}

/// Holds back the next `n` workers until all of them have started, or one has waited
/// `patience`: afterwards each says which (`together` or `timeout`).
pub fn hold(n: usize, patience: Duration) {
    ask(&format!("hold {n} {}", patience.as_millis()));
}

/// How long a held worker waits for its siblings: far more than starting a few processes
/// takes on a busy machine, and a quarter of the grader's deadline at most.
pub fn patience() -> Duration {
    let deadline = std::env::var("EXERCISES_TIMEOUT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis);
    (deadline / 4).min(Duration::from_secs(2))
}

/// The acts whose `what` starts with `verb` (`"square"`), with the rest of `what` parsed.
pub fn acts(verb: &str) -> Vec<(Act, u64)> {
    worker_log()
        .into_iter()
        .filter_map(|act| {
            let arg = act.what.strip_prefix(verb)?.trim().parse().ok()?;
            Some((act, arg))
        })
        .collect()
}

/// Those of `rejected` as a message: processes that tried to pass for a worker.
pub fn impostors(seen: &Seen) -> Option<String> {
    (!seen.rejected.is_empty()).then(|| {
        format!(
            "a process that is not the worker program tried to report to the referee as one \
(PID and program: {}): only real workers count; start the worker you were given.",
            seen.rejected.join("; ")
        )
    })
}

/// Those of `pids` that are still children of this process: a child that was joined (waited
/// for) is gone, while one that was not is either still running or a zombie (ended, with
/// nobody having collected its exit status).
pub fn unjoined(pids: &[u32]) -> Vec<u32> {
    let me = std::process::id();
    pids.iter()
        .copied()
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // "PID (COMM) STATE PPID ...": split after the last ')', as COMM may hold one.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            parent == Some(me)
        })
        .collect()
}

/// A process below this one, as `/proc` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Descendant {
    pub pid: u32,
    /// Ended, but not yet joined by its parent.
    pub zombie: bool,
}

/// Every process below this one: children, their children, and so on.
pub fn descendants() -> Vec<Descendant> {
    let mut by_parent: Vec<(u32, Descendant)> = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let zombie = fields.next() == Some("Z");
        if let Some(ppid) = fields.next().and_then(|s| s.parse().ok()) {
            by_parent.push((ppid, Descendant { pid, zombie }));
        }
    }
    let mut found = Vec::new();
    let mut parents = vec![std::process::id()];
    while let Some(parent) = parents.pop() {
        for (_, child) in by_parent.iter().filter(|(ppid, _)| *ppid == parent) {
            parents.push(child.pid);
            found.push(*child);
        }
    }
    found
}
