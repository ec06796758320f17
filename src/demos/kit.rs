//! What every demo is handed and shares: its options, where it writes, and the one way engine
//! events are shown and recorded. The demos' table (`demos.rs`) names the demos; this is what
//! the demos themselves import, so that neither depends on the other both ways.

use std::io::Write;

use anyhow::Result;

use crate::engine::{Event, Stream};
use crate::term;

/// Where a demo writes: the terminal, or a buffer when a lesson or the book captures it.
pub type Out<'a> = &'a mut (dyn Write + Send);

/// The options a demo may take (each demo says which it accepts).
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct DemoArgs {
    /// The demo to run (leave out to list them)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// How many worker processes
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = crate::arg::number_in("--workers", 1, crate::engine::MAX_WORKERS as u64))]
    pub workers: Option<u64>,
    /// How many items each worker takes at a time
    #[arg(long, value_name = "K", allow_negative_numbers = true,
          value_parser = crate::arg::number_in("--chunksize", 1, 10_000))]
    pub chunksize: Option<u64>,
    /// Print the run as one JSON object instead of text
    #[arg(long)]
    pub json: bool,
    /// Which distributed engine runs the cluster demo: dask (the default) or ray
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<String>,
}

/// The events a demo receives, each recorded for the book's figures on the way through
/// (when `PROCBOOK_RECORD` is set; see [`crate::figure::record`]). A demo loops over
/// `recorded(rx)` instead of `rx`, and shows what it likes.
pub fn recorded(events: std::sync::mpsc::Receiver<Event>) -> impl Iterator<Item = Event> {
    events.into_iter().inspect(crate::figure::record::event)
}

/// Print one engine event the way every demo shows it: tagged with the process's name and PID.
pub fn show_event(out: Out, event: &Event) -> Result<()> {
    match event {
        Event::Started { name, pid, .. } => writeln!(out, "{} started", term::tag(name, *pid))?,
        Event::Output {
            name,
            pid,
            stream: Stream::Stdout,
            line,
            ..
        } => writeln!(out, "{} {line}", term::tag(name, *pid))?,
        Event::Output {
            name,
            pid,
            stream: Stream::Stderr,
            line,
            ..
        } => writeln!(out, "{} stderr: {line}", term::tag(name, *pid))?,
        Event::ChunkDone {
            name, pid, items, ..
        } => writeln!(
            out,
            "{} finished items {}..{}",
            term::tag(name, *pid),
            items.start,
            items.end
        )?,
        Event::Exited {
            name, pid, exit, ..
        } => writeln!(out, "{} ended: {exit}", term::tag(name, *pid))?,
        Event::Replaced {
            old,
            old_pid,
            name,
            pid,
            ..
        } => writeln!(
            out,
            "{} replaced {old} (pid {old_pid})",
            term::tag(name, *pid)
        )?,
    }
    Ok(())
}
