//! Seed question 3: create one process with the engine, let it greet you, join it.

use std::sync::mpsc;

use anyhow::Result;

use super::kit::{DemoArgs, Out, show_event};
use super::tasks::GREET;
use crate::engine::{Process, current_process};
use crate::term;

pub fn run(_: &DemoArgs, out: Out) -> Result<()> {
    let parent = current_process();
    writeln!(
        out,
        "{} the parent: procbook itself",
        term::tag(&parent.name, parent.pid)
    )?;
    let (tx, rx) = mpsc::channel();

    // ANCHOR: demo
    // Python: p = Process(target=greet, args=("Alice",)); p.start(); p.join()
    let mut child = Process::new(&GREET, "Alice".to_string())
        .events(&tx)
        .start()?;
    let exit = child.join()?;
    // ANCHOR_END: demo

    let (name, pid) = (child.name().to_string(), child.pid());
    drop((child, tx));
    for event in rx {
        show_event(out, &event)?;
    }
    writeln!(
        out,
        "joined {name}: {exit} (Python's exitcode: {})",
        exit.exitcode()
    )?;
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "{name} ran with PID {pid}, the parent with PID {}: two processes, each with its own memory.",
            parent.pid
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice("join() waited for the child and reaped it; the exit code is how it ended.")
    )?;
    Ok(())
}
