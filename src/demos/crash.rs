//! Lesson 10: when a process crashes. A pool worker aborts mid-map: that one task fails, the
//! pool replaces the worker, and every other result comes back. Then the same abort on a thread
//! takes down its whole process, which is why it runs in a sacrificial child here.

use std::sync::mpsc;

use anyhow::Result;

use super::kit::{self, DemoArgs, Out, show_event};
use super::tasks::ABORT_ON;
use crate::engine::{Event, Exit, Pool, Process, Task, current_process};
use crate::term;

/// The items mapped; `abort_on(0)` aborts its worker.
const ITEMS: [u64; 6] = [3, 1, 0, 4, 2, 5];

/// The sacrificial child's task: a helper thread aborts while the main thread waits for it.
/// `abort()` ends the process, every thread in it, at once: no unwinding, no cleanup.
pub fn abort_in_thread(_: ()) {
    no_core_dump();
    println!("main thread: starting a helper thread, then waiting for it");
    let helper = crate::limits::spawn("helper", || {
        println!("helper thread: calling abort()");
        std::process::abort();
    });
    match helper {
        Ok(helper) => {
            let _ = helper.join();
        }
        Err(e) => println!("main thread: {e}"),
    }
    println!("main thread: the helper is done; carrying on"); // never printed
}

/// A deliberate abort should not leave a core file behind.
fn no_core_dump() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
}

pub fn run(_: &DemoArgs, out: Out) -> Result<()> {
    let me = current_process();
    writeln!(
        out,
        "{} procbook itself: it starts a pool of 2, then one sacrificial child",
        term::tag(&me.name, me.pid)
    )?;
    let (tx, rx) = mpsc::channel();

    // ANCHOR: demo
    // Python: with Pool(2) as pool: one apply_async(abort_on, (n,)) per item, then .get() each
    let pool = Pool::builder().workers(2).events(&tx).start()?;
    let results = pool.map_each(&ABORT_ON, ITEMS, Some(1))?; // one Result per item
    pool.shutdown();

    // The same abort on a thread: it takes its whole process down, so run it in a child.
    let mut victim = Process::new(&ABORT_IN_THREAD, ()).events(&tx).start()?;
    let exit = victim.join()?;
    // ANCHOR_END: demo

    let victim_name = victim.name().to_string();
    drop((victim, tx));
    let mut replaced = None;
    let mut died = None;
    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "1. A pool of 2 maps abort_on over {ITEMS:?}; abort_on(0) aborts its worker"
        ))
    )?;
    let mut thread_part = false;
    let mut failed = Vec::new();
    for event in kit::recorded(rx) {
        match &event {
            Event::ChunkDone {
                name, pid, items, ..
            } => {
                let n = ITEMS[items.start];
                writeln!(out, "{} abort_on({n}) done", term::tag(name, *pid))?;
                continue;
            }
            Event::Started { name, .. } if *name == victim_name => {
                thread_part = true;
                failed = show_results(out, &results)?;
                writeln!(
                    out,
                    "{}",
                    term::heading("2. The same abort on a thread, inside a sacrificial child")
                )?;
            }
            Event::Exited {
                name,
                pid,
                exit: Exit::Signal(_),
                ..
            } if !thread_part => died = Some((name.clone(), *pid)),
            Event::Replaced { name, pid, .. } => replaced = Some((name.clone(), *pid)),
            _ => {}
        }
        show_event(out, &event)?;
    }
    writeln!(
        out,
        "{} {victim_name} ended: {exit}; the parent is still here",
        term::tag(&me.name, me.pid)
    )?;

    let worked = results.len() - failed.len();
    if let (Some((dead, dead_pid)), Some((new, new_pid))) = (&died, &replaced) {
        writeln!(
            out,
            "{}",
            term::notice(&format!(
                "{} failed alone and the other {worked} results came back; {dead} (pid {dead_pid}) was replaced by {new} (pid {new_pid}).",
                failed
                    .iter()
                    .map(|n| format!("abort_on({n})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ))
        )?;
    }
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "On a thread the same abort ended all of {victim_name} ({exit}, Python's exitcode {}), its main thread included; procbook (pid {}) carries on.",
            exit.exitcode(),
            me.pid
        ))
    )?;
    Ok(())
}

/// The pool's results, one line per item; returns the items that failed.
fn show_results(out: Out, results: &[crate::engine::Result<u64>]) -> Result<Vec<u64>> {
    writeln!(out, "map_each returned one result per item:")?;
    let mut failed = Vec::new();
    for (n, result) in ITEMS.iter().zip(results) {
        match result {
            Ok(square) => writeln!(out, "  abort_on({n}) = {square}")?,
            Err(e) => {
                failed.push(*n);
                writeln!(out, "  abort_on({n}) failed: {e}")?;
            }
        }
    }
    Ok(failed)
}

/// The task a worker runs for `demo crash`'s thread that aborts.
pub static ABORT_IN_THREAD: Task<(), ()> = Task::new("abort_in_thread", abort_in_thread);
