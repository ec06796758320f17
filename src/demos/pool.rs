//! Seed question 5: a pool of workers maps `square` over 1..=9, and shows who did what.

use std::sync::mpsc;

use anyhow::Result;

use super::kit::{self, DemoArgs, Out, show_event};
use super::tasks::SQUARE;
use crate::engine::pool::default_workers;
use crate::engine::{Event, Pool, default_chunksize};
use crate::figure::{Record, timeline};
use crate::term;

/// Columns for the time axis of the text timeline (it fits a lesson's side-by-side column).
const TIMELINE_WIDTH: usize = 24;

pub fn run(args: &DemoArgs, out: Out) -> Result<()> {
    let workers = args.workers.map_or_else(default_workers, |n| n as usize);
    let items: Vec<u64> = (1..=9).collect();
    let chunksize = args
        .chunksize
        .map_or_else(|| default_chunksize(items.len(), workers), |k| k as usize);
    let (tx, rx) = mpsc::channel();

    // ANCHOR: demo
    // Python: with Pool(processes=workers) as pool:
    //             print(pool.map(square, range(1, 10), chunksize))
    let pool = Pool::builder().workers(workers).events(&tx).start()?;
    let squares: Vec<u64> = pool.map_chunked(&SQUARE, items.clone(), chunksize)?;
    pool.shutdown(); // close() and join(): every worker exits and is reaped
    // ANCHOR_END: demo

    drop(tx);
    let mut busy = std::collections::BTreeSet::new();
    let mut seen = Vec::new();
    for event in kit::recorded(rx) {
        seen.push(Record::from(&event));
        if let Event::ChunkDone {
            name,
            pid,
            items: range,
            ..
        } = &event
        {
            busy.insert(name.clone());
            let done: Vec<u64> = squares[range.clone()].to_vec();
            let inputs: Vec<u64> = items[range.clone()].to_vec();
            writeln!(
                out,
                "{} square{inputs:?} -> {done:?}",
                term::tag(name, *pid)
            )?;
        } else {
            show_event(out, &event)?;
        }
    }
    writeln!(out, "{}", term::heading(&format!("{squares:?}")))?;
    // Who did what, when: the same stamps the book's figure is drawn from.
    write!(out, "{}", timeline::text(&seen, TIMELINE_WIDTH))?;
    let how = match args.chunksize {
        Some(_) => format!("chunksize {chunksize}, as you asked"),
        None => format!(
            "chunksize {chunksize}: Python's default, 9 items / (4 x {}), rounded up",
            term::plural(workers, "worker")
        ),
    };
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "{}, {how}; {} of them did work this run.",
            term::plural(workers, "worker"),
            busy.len()
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice(
            "The chunks finished in whatever order; map() still returns them in input order."
        )
    )?;
    Ok(())
}
