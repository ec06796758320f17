//! Lesson 2: threads share their process's memory; processes each have their own. One global
//! counter is incremented by threads (the parent sees every addition) and then by child
//! processes (each adds to its own copy; the parent's is unchanged).

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::mpsc;

use anyhow::{Result, anyhow};

use super::kit::{DemoArgs, Out, show_event};
use crate::engine::{Event, Process, Task, current_process};
use crate::figure::memory::{Counters, Holder};
use crate::term::thousands;
use crate::{limits, term};

/// The counter: a global, as `counter = 0` at the top of a Python module.
pub static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many threads, then how many processes.
const WORKERS: usize = 3;
/// How many times each adds one.
const TIMES: u64 = 1_000_000;

/// Add one to `COUNTER`, `times` times; returns the value it saw at the end. Each addition is
/// atomic, so threads lose none of them (lesson 9 shows what happens without that).
pub fn add_to_counter(times: u64) -> u64 {
    for _ in 0..times {
        COUNTER.fetch_add(1, SeqCst);
    }
    COUNTER.load(SeqCst)
}

/// The task a child process runs: add to the counter, then say what it sees in its memory.
pub fn add_in_child(times: u64) {
    let seen = add_to_counter(times);
    let me = current_process();
    let rss = resident(me.pid).map_or("unknown".into(), mib);
    println!(
        "added {}: COUNTER is {} in my memory; resident memory {rss}",
        thousands(times),
        thousands(seen)
    );
}

/// The counter a child's line (as [`add_in_child`] prints it) says it saw.
fn counter_in(line: &str) -> Option<u64> {
    let after = line.split_once("COUNTER is ")?.1;
    let number = after.split(' ').next()?;
    number.replace(',', "").parse().ok()
}

pub fn run(_: &DemoArgs, out: Out) -> Result<()> {
    let me = current_process();
    let tag = term::tag(&me.name, me.pid);
    COUNTER.store(0, SeqCst); // a fresh start, even if the REPL ran this demo before
    writeln!(
        out,
        "{tag} COUNTER = 0; {WORKERS} threads, then {WORKERS} processes, each add 1 to it {} times",
        thousands(TIMES)
    )?;
    let (tx, rx) = mpsc::channel();

    // ANCHOR: demo
    // Python: threads = [Thread(target=add_to_counter, args=(TIMES,)) for _ in range(3)]
    // (limits::spawn is thread::spawn that returns an error, not a panic, when the system
    // will not start one more thread.)
    let mut threads = Vec::new();
    for i in 1..=WORKERS {
        threads.push(limits::spawn(&format!("counter-{i}"), || {
            add_to_counter(TIMES)
        })?);
    }
    let mut seen_by_threads = Vec::new();
    for t in threads {
        seen_by_threads.push(t.join().map_err(|_| anyhow!("a thread panicked"))?);
    }
    let after_threads = COUNTER.load(SeqCst); // every thread added to this one counter

    // Python: processes = [Process(target=add_to_counter, args=(TIMES,)) for _ in range(3)]
    let mut children = Vec::new();
    for _ in 0..WORKERS {
        children.push(Process::new(&ADD_IN_CHILD, TIMES).events(&tx).start()?);
    }
    for child in &mut children {
        child.join()?;
    }
    let after_processes = COUNTER.load(SeqCst); // unchanged: each child added to its own copy
    // ANCHOR_END: demo

    for (i, seen) in seen_by_threads.iter().enumerate() {
        writeln!(
            out,
            "{tag} thread {} (in pid {}) added {}: COUNTER was {} when it finished",
            i + 1,
            me.pid,
            thousands(TIMES),
            thousands(*seen)
        )?;
    }
    writeln!(
        out,
        "{tag} after the threads:   COUNTER = {}",
        thousands(after_threads)
    )?;
    let pids: Vec<u32> = children.iter().map(Process::pid).collect();
    let names: Vec<String> = children.iter().map(|c| c.name().to_string()).collect();
    drop((children, tx));
    let mut seen_by_children = Vec::new();
    for event in rx {
        if let Event::Output { pid, line, .. } = &event
            && let Some(n) = counter_in(line)
        {
            seen_by_children.push((*pid, n));
        }
        if !matches!(event, Event::Started { .. }) {
            show_event(out, &event)?;
        }
    }
    let holder = |name: &str, pid: u32, counter| Holder {
        name: name.to_string(),
        pid,
        counter,
    };
    crate::figure::record::result(
        crate::figure::memory::DEMO,
        &Counters {
            times: TIMES,
            parent: holder(&me.name, me.pid, Some(after_threads)),
            threads: WORKERS,
            after_processes,
            children: (names.iter().zip(&pids))
                .map(|(name, &pid)| {
                    let seen = seen_by_children.iter().find(|(p, _)| *p == pid);
                    holder(name, pid, seen.map(|s| s.1))
                })
                .collect(),
        },
    );
    let rss = resident(me.pid).map_or("unknown".into(), mib);
    writeln!(
        out,
        "{tag} after the processes: COUNTER = {}; resident memory {rss}",
        thousands(after_processes)
    )?;
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "The threads' additions all landed in the one COUNTER ({} = {WORKERS} x {}): threads share their process's memory.",
            thousands(after_threads),
            thousands(TIMES)
        ))
    )?;
    let verdict = if after_processes == after_threads {
        "stayed at"
    } else {
        "moved, unexpectedly, from"
    };
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "The children (PIDs {}) each counted in a copy of their own; the parent's COUNTER {verdict} {}.",
            pids.join(", "),
            thousands(after_threads)
        ))
    )?;
    Ok(())
}

/// A process's resident memory in bytes, from sysinfo.
pub fn resident(pid: u32) -> Option<u64> {
    let mut system = sysinfo::System::new().ok()?;
    let pid = sysinfo::Pid::from_u32(pid);
    system.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        true,
        sysinfo::ProcessRefreshKind::nothing().with_memory(),
    );
    system.process(pid).map(sysinfo::Process::memory)
}

/// Bytes as MiB with one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The task a worker runs for `demo memory`.
pub static ADD_IN_CHILD: Task<u64, ()> = Task::new("add_in_child", add_in_child);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_is_read_back_from_what_a_child_printed() {
        let line = format!(
            "added {}: COUNTER is {} in my memory; resident memory 3.1 MiB",
            thousands(TIMES),
            thousands(1_234_567)
        );
        assert_eq!(counter_in(&line), Some(1_234_567));
        assert_eq!(counter_in("COUNTER is lost"), None);
        assert_eq!(counter_in("nothing"), None);
    }
}
