//! What the graders look at besides return values: the workers' log and `/proc`.
//!
//! Every `worker` notes what it did in the log named by `EXERCISES_WORKER_LOG` (the sandbox
//! sets it), so a grader knows which process did which work, whatever the code returned.

use std::fs;

/// The variable naming the workers' log, set by the outer half of the sandbox.
pub const LOG_VAR: &str = "EXERCISES_WORKER_LOG";

/// One line of the workers' log: process `pid`, child of `ppid`, did `what` (`square 4`).
#[derive(Debug, Clone)]
pub struct Act {
    pub pid: u32,
    pub ppid: u32,
    pub what: String,
}

/// Everything the workers have noted so far, oldest first.
pub fn worker_log() -> Vec<Act> {
    let Some(path) = std::env::var_os(LOG_VAR) else {
        return Vec::new();
    };
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            Some(Act {
                pid: parts.next()?.parse().ok()?,
                ppid: parts.next()?.parse().ok()?,
                what: parts.next()?.to_string(),
            })
        })
        .collect()
}

/// Starts the log afresh, before calling the learner's code again.
pub fn clear_worker_log() {
    if let Some(path) = std::env::var_os(LOG_VAR) {
        let _ = fs::write(path, "");
    }
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
