//! Seed question 6: four processes each print a different number, in an order nobody chose.

use std::sync::mpsc;

use anyhow::Result;

use super::kit::{self, DemoArgs, Out, show_event};
use super::tasks::PRINT_NUMBER;
use crate::engine::{Event, Process, Stream};
use crate::term;

pub fn run(_: &DemoArgs, out: Out) -> Result<()> {
    let (tx, rx) = mpsc::channel();

    // ANCHOR: demo
    // Python: for n in 1..=4: Process(target=print_number, args=(n,)).start(); then join each
    let mut processes = Vec::new();
    for n in 1..=4 {
        processes.push(Process::new(&PRINT_NUMBER, n).events(&tx).start()?);
    }
    for p in &mut processes {
        p.join()?;
    }
    // ANCHOR_END: demo

    drop((processes, tx));
    let mut order = Vec::new();
    for event in kit::recorded(rx) {
        if let Event::Output { line, .. } = &event
            && let Some(n) = number_in(line)
        {
            order.push(n);
        }
        match &event {
            Event::Started { .. } => {}
            // The child's own line already says who it is (`Process Process-2: 2 (pid 4711)`):
            // shown as it printed it, without the tag that would say so twice.
            Event::Output {
                stream: Stream::Stdout,
                line,
                ..
            } if number_in(line).is_some() => writeln!(out, "{line}")?,
            _ => show_event(out, &event)?,
        }
    }
    let order: Vec<String> = order.iter().map(u32::to_string).collect();
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "They started in the order 1, 2, 3, 4 and printed in the order {}.",
            order.join(", ")
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice(
            "The OS scheduler picks who runs when; run it again and the order may change."
        )
    )?;
    Ok(())
}

/// The number in a `Process NAME: N (pid P)` line.
fn number_in(line: &str) -> Option<u32> {
    line.split(": ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
