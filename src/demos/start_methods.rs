//! Lesson 8: start methods. spawn starts the program again (which is why the entry guard
//! exists); fork copies the running process, memory and all, copy-on-write. Both are timed
//! here. fork runs only inside a small single-threaded helper, because forking a program with
//! several threads (procbook's REPL has them) copies only the forking thread, and a lock another
//! thread held stays locked forever in the child.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork};
use serde::{Deserialize, Serialize};

use super::kit::{self, DemoArgs, Out};
use super::python;
use crate::bench::median;
use crate::engine::child::ROLE_ENV;
use crate::engine::{Event, Pool, Process, Task, current_process};
use crate::term;

/// A value the parent changes at run time, as lesson 8's Python script changes `SETTING`
/// inside its `if __name__ == "__main__":` block.
pub static SETTING: AtomicU64 = AtomicU64::new(AS_WRITTEN);
const AS_WRITTEN: u64 = 1;
const CHANGED: u64 = 42;

/// How many children each method starts.
const SPAWNS: usize = 3;
const FORKS: usize = 5;
/// The helper's buffer, to show that fork copies memory lazily.
const BUFFER_MIB: usize = 64;
/// How much of it the copy-on-write child writes to.
const WRITE_KIB: usize = 1024;
/// How long the fork helper may take.
const HELPER_LIMIT: Duration = Duration::from_secs(30);

/// Python's default start method, per platform and version.
const PYTHON_DEFAULTS: &[(&str, &str)] = &[
    ("Linux", "fork up to Python 3.13; forkserver from 3.14"),
    ("macOS", "spawn since Python 3.8 (fork before)"),
    ("Windows", "spawn (the only method there)"),
    (
        "other",
        "POSIX: fork up to 3.13; from 3.14 forkserver where it can pass file descriptors, else spawn",
    ),
];

/// Asks this machine's python3 for its default start method.
const PYTHON_ASK: &str = "import json, multiprocessing, sys
print(json.dumps({'version': sys.version.split()[0], 'platform': sys.platform,
                  'method': multiprocessing.get_start_method(),
                  'all': multiprocessing.get_all_start_methods()}))
";

/// The spawned child's task: say how it got here.
pub fn spawned(explain: bool) {
    if !explain {
        return;
    }
    let exe = std::env::current_exe().map_or("procbook".into(), |p| p.display().to_string());
    let role = std::env::var(ROLE_ENV).unwrap_or_default();
    println!(
        "a fresh run of {exe}: main() began at the top; the entry guard saw {ROLE_ENV}={role} and ran this task instead of the app"
    );
    println!(
        "SETTING = {} here, as written in the source: the parent's {CHANGED} did not come along",
        SETTING.load(SeqCst)
    );
}

/// What the fork helper found.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForkReport {
    /// Threads in the helper when it forked.
    pub threads: usize,
    /// SETTING as the helper itself read it.
    pub setting: u64,
    /// Each timed child: its PID, and milliseconds from `fork()` until it was reaped.
    pub forks: Vec<(u32, f64)>,
    pub cow: CowReport,
    /// What the helper's buffer holds where the copy-on-write child wrote.
    pub helper_byte: u8,
}

/// What the copy-on-write child saw of itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct CowReport {
    pub pid: u32,
    pub setting: u64,
    pub before: Option<Memory>,
    pub after: Option<Memory>,
}

/// A process's memory, split as `/proc/self/smaps_rollup` splits it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Memory {
    /// Resident pages it shares with another process.
    pub shared_kib: u64,
    /// Resident pages that are its own.
    pub private_kib: u64,
}

/// The fork helper's task, run in a single-threaded pool worker: fork `FORKS` children and time
/// each, then one more that writes to part of a shared buffer, to show copy-on-write.
pub fn fork_children(setting: u64) -> Result<ForkReport, String> {
    let threads = threads_here().ok_or("cannot count this process's threads")?;
    if threads != 1 {
        return Err(format!(
            "refusing to fork: this process has {threads} threads"
        ));
    }
    SETTING.store(setting, SeqCst);
    let _ = std::io::stdout().flush(); // a child must not inherit half-written output
    let mut forks = Vec::new();
    for _ in 0..FORKS {
        let start = Instant::now();
        let child = fork_child(|| 0)?;
        waitpid(child, None).map_err(|e| format!("waiting for {child}: {e}"))?;
        forks.push((
            child.as_raw() as u32,
            start.elapsed().as_secs_f64() * 1000.0,
        ));
    }
    // fork copies the page tables at once and the pages only when written: a big buffer
    // makes fork itself slower, but its child owns nothing until it writes.
    let mut buffer = vec![1u8; BUFFER_MIB << 20]; // every page written, so all are resident
    let (mut reader, writer) = std::io::pipe().map_err(|e| e.to_string())?;
    let child = fork_child(|| {
        let before = memory_here();
        buffer[..WRITE_KIB << 10].fill(7);
        std::hint::black_box(&buffer);
        let report = CowReport {
            pid: std::process::id(),
            setting: SETTING.load(SeqCst),
            before,
            after: memory_here(),
        };
        match serde_json::to_writer(&writer, &report) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    })?;
    drop(writer);
    let mut text = String::new();
    let read = reader.read_to_string(&mut text);
    waitpid(child, None).map_err(|e| format!("waiting for {child}: {e}"))?;
    read.map_err(|e| e.to_string())?;
    let cow = serde_json::from_str(&text).map_err(|e| format!("the child's report: {e}"))?;
    Ok(ForkReport {
        threads,
        setting: SETTING.load(SeqCst),
        forks,
        cow,
        helper_byte: buffer[0],
    })
}

// ANCHOR: fork
/// `os.fork()`: the child, a copy of this process, runs `child` and leaves with `_exit`
/// (skipping exit handlers and output buffers it shares with the parent); the parent gets the
/// child's PID back.
fn fork_child(child: impl FnOnce() -> i32) -> Result<Pid, String> {
    // SAFETY: the caller checked that this process has one thread, so no lock in the copied
    // memory can be held by a thread that does not exist in the child.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // Die with the helper if it is killed; never unwind back into the worker loop.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
            unsafe { libc::_exit(code.unwrap_or(101)) }
        }
        Ok(ForkResult::Parent { child }) => Ok(child),
        Err(e) => Err(format!("fork failed: {e}")),
    }
}
// ANCHOR_END: fork

/// The `Threads:` line of `/proc/self/status`.
fn threads_here() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// This process's resident memory, shared and private, from `/proc/self/smaps_rollup`.
fn memory_here() -> Option<Memory> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let kib = |prefix: &str| -> u64 {
        rollup
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum()
    };
    Some(Memory {
        shared_kib: kib("Shared_"),
        private_kib: kib("Private_"),
    })
}

pub fn run(_: &DemoArgs, out: Out) -> Result<()> {
    let me = current_process();
    let tag = term::tag(&me.name, me.pid);
    SETTING.store(CHANGED, SeqCst); // changed at run time, after the program started
    writeln!(
        out,
        "{tag} SETTING = {CHANGED} (the source says {AS_WRITTEN}; procbook changed it at run time)"
    )?;
    let (tx, rx) = mpsc::channel();

    // ANCHOR: demo
    // spawn: run this program again; the entry guard in main() finds the child its task.
    let mut spawns = Vec::new();
    for i in 0..SPAWNS {
        let start = Instant::now();
        let mut child = Process::new(&SPAWNED, i == 0).events(&tx).start()?;
        child.join()?;
        spawns.push((child.name().to_string(), child.pid(), millis(start)));
    }

    // fork: copy a running process. Only in a single-threaded helper, itself spawned, which
    // forks children, times them, and reports back.
    let helper = Pool::builder().workers(1).events(&tx).start()?;
    let threads_in_procbook = threads_here();
    let report = helper.apply_async(&FORK_CHILDREN, CHANGED)?;
    let report = report.get(Some(HELPER_LIMIT))?.map_err(|e| anyhow!(e))?;
    // ANCHOR_END: demo

    let (helper_name, helper_pid) = helper
        .workers()?
        .into_iter()
        .next()
        .context("the fork helper is gone")?;
    helper.shutdown();
    drop(tx);
    record_tree(
        &me.name,
        me.pid,
        &spawns,
        (&helper_name, helper_pid),
        &report,
    );
    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "1. spawn: start procbook again and hand the child its task ({SPAWNS} times)"
        ))
    )?;
    for event in rx {
        if let Event::Output { .. } = event {
            kit::show_event(out, &event)?;
        }
    }
    for (name, pid, ms) in &spawns {
        writeln!(
            out,
            "{} started, ran its task and was reaped in {ms:.1} ms",
            term::tag(name, *pid)
        )?;
    }

    let helper_tag = term::tag(&helper_name, helper_pid);
    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "2. fork: copy a running process ({FORKS} times, then once more to write)"
        ))
    )?;
    let threads = threads_in_procbook.map_or("several".into(), |n| n.to_string());
    writeln!(
        out,
        "{tag} has {threads} threads right now, so it forks nothing itself; the helper forks"
    )?;
    writeln!(
        out,
        "{helper_tag} {} thread, SETTING = {}: safe to fork",
        report.threads, report.setting
    )?;
    let timed: Vec<String> = (report.forks.iter())
        .map(|(pid, ms)| format!("pid {pid} {ms:.2} ms"))
        .collect();
    writeln!(
        out,
        "{helper_tag} fork + exit + waitpid: {}",
        timed.join(", ")
    )?;
    let cow = &report.cow;
    writeln!(
        out,
        "{helper_tag} filled a {BUFFER_MIB} MiB buffer with 1s and forked pid {}: SETTING = {} there, copied with the rest of memory",
        cow.pid, cow.setting
    )?;
    if let (Some(before), Some(after)) = (cow.before, cow.after) {
        writeln!(
            out,
            "{helper_tag} pid {} shared {} with the helper and owned {}; after writing {} it owns {}",
            cow.pid,
            kib(before.shared_kib),
            kib(before.private_kib),
            kib(WRITE_KIB as u64),
            kib(after.private_kib)
        )?;
    }
    writeln!(
        out,
        "{helper_tag} the helper's buffer still holds {} where pid {} wrote 7",
        report.helper_byte, cow.pid
    )?;

    writeln!(out, "{}", term::heading("3. Python's default start method"))?;
    for (platform, default) in PYTHON_DEFAULTS {
        writeln!(out, "  {platform:<9} {default}")?;
    }
    writeln!(out, "  {:<9} {}", "here", python_here()?)?;

    let spawn_ms = median(spawns.iter().map(|s| s.2).collect());
    let fork_ms = median(report.forks.iter().map(|f| f.1).collect());
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "spawn took {spawn_ms:.1} ms per child and fork {fork_ms:.2} ms (medians): fork is {:.0}x faster, \
             because its child starts as a copy instead of loading and starting the program again.",
            spawn_ms / fork_ms
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "The spawned child saw SETTING = {AS_WRITTEN}, the forked one {}: spawn starts from the program \
             (hence the entry guard), fork from the parent's memory (hence a single thread).",
            cow.setting
        ))
    )?;
    if let (Some(before), Some(after)) = (cow.before, cow.after) {
        writeln!(
            out,
            "{}",
            term::notice(&format!(
                "Copy-on-write: the forked child shared its pages until it wrote; writing {} made {} of them its own. \
                 (A forked Python child copies pages even when it only reads: reading an object writes its reference count.)",
                kib(WRITE_KIB as u64),
                kib(after.private_kib.saturating_sub(before.private_kib))
            ))
        )?;
    }
    Ok(())
}

/// Record who started whom in this run, for the book's figure (a no-op unless recording).
fn record_tree(
    name: &str,
    pid: u32,
    spawns: &[(String, u32, f64)],
    (helper_name, helper_pid): (&str, u32),
    report: &ForkReport,
) {
    let mut tree = crate::figure::tree::Tree::default();
    tree.add(name, pid, None, "", "");
    for (child, child_pid, _) in spawns {
        tree.add(child, *child_pid, Some(pid), "spawn", "");
    }
    // The engine's pool workers are started the way spawn starts a Process.
    tree.add(
        helper_name,
        helper_pid,
        Some(pid),
        "spawn",
        "the fork helper",
    );
    for (child_pid, _) in &report.forks {
        tree.add("fork child", *child_pid, Some(helper_pid), "fork", "");
    }
    let wrote = format!("wrote {}", kib(WRITE_KIB as u64));
    tree.add(
        "fork child",
        report.cow.pid,
        Some(helper_pid),
        "fork",
        &wrote,
    );
    crate::figure::record::result(crate::figure::tree::DEMO, &tree);
}

/// What this machine's python3 says, in one line.
fn python_here() -> Result<String> {
    #[derive(Deserialize)]
    struct Answer {
        version: String,
        platform: String,
        method: String,
        all: Vec<String>,
    }
    let Some(py) = python::start("procbook_start_method.py", PYTHON_ASK, &[], HELPER_LIMIT)? else {
        return Ok("no python3 on the PATH to ask".into());
    };
    let lines = py.finish()?;
    let line = lines.first().context("python3 said nothing")?;
    let a: Answer = serde_json::from_str(line).context("reading python3's answer")?;
    Ok(format!(
        "python3 {} on {}: {} (offers {})",
        a.version,
        a.platform,
        a.method,
        a.all.join(", ")
    ))
}

fn millis(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// KiB as MiB with one decimal, or KiB when small.
fn kib(k: u64) -> String {
    if k >= 1024 {
        format!("{:.1} MiB", k as f64 / 1024.0)
    } else {
        format!("{k} KiB")
    }
}

/// The tasks `demo start-methods` runs: a spawned child, and the helper that forks.
pub static SPAWNED: Task<bool, ()> = Task::new("spawned", spawned);
pub static FORK_CHILDREN: Task<u64, Result<ForkReport, String>> =
    Task::new("fork_children", fork_children);
