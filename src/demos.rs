//! The demos: one file each, and one table that drives the CLI, the REPL, help and completion.

pub mod cluster;
pub mod crash;
pub mod four;
pub mod gil;
pub mod ipc;
pub mod memory;
pub mod pool;
pub mod process;
pub mod python;
pub mod start_methods;
pub mod tasks;

use std::io::Write;

use anyhow::{Result, bail};

use crate::engine::{Event, Stream};
use crate::term;

pub use tasks::TASKS;

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

/// One demo: its name, what it shows, the lesson it belongs to, the options it takes.
pub struct Demo {
    pub name: &'static str,
    pub summary: &'static str,
    pub lesson: u32,
    /// Long option names this demo accepts, such as `--workers`.
    pub options: &'static [&'static str],
    /// It measures time or load, so whoever runs it for a capture runs it alone.
    pub timed: bool,
    pub run: fn(&DemoArgs, Out) -> Result<()>,
}

/// Every demo, in lesson order.
pub static DEMOS: &[Demo] = &[
    Demo {
        name: "process",
        summary: "start one child process; it greets you with its own PID",
        lesson: 4,
        options: &[],
        timed: false,
        run: process::run,
    },
    Demo {
        name: "pool",
        summary: "a pool maps square over 1..=9; see which worker did each chunk",
        lesson: 6,
        options: &["--workers", "--chunksize"],
        timed: false,
        run: pool::run,
    },
    Demo {
        name: "four",
        summary: "four processes print four numbers, in an order nobody chose",
        lesson: 7,
        options: &[],
        timed: false,
        run: four::run,
    },
    Demo {
        name: "sys",
        summary: "start a pool and look at procbook's process tree, memory and per-core load",
        lesson: 1,
        options: &["--workers"],
        timed: true,
        run: crate::sys::demo,
    },
    Demo {
        name: "gil",
        summary: "one CPU job serially, on threads, under a simulated GIL, on processes (and in Python)",
        lesson: 3,
        options: &["--json"],
        timed: true,
        run: gil::run,
    },
    Demo {
        name: "memory",
        summary: "threads add to one shared counter; processes each add to their own copy",
        lesson: 2,
        options: &[],
        timed: false,
        run: memory::run,
    },
    Demo {
        name: "start-methods",
        summary: "spawn (run the program again) versus fork (copy the process), timed",
        lesson: 8,
        options: &[],
        timed: true,
        run: start_methods::run,
    },
    Demo {
        name: "ipc",
        summary: "a queue, a pipe, and a shared counter with and without a lock",
        lesson: 9,
        options: &["--json"],
        timed: false,
        run: ipc::run,
    },
    Demo {
        name: "crash",
        summary: "a pool worker aborts: one task fails, the worker is replaced; then a thread aborts",
        lesson: 10,
        options: &[],
        timed: false,
        run: crash::run,
    },
    Demo {
        name: "bench",
        summary: "what threads, processes and pools cost, procbook beside Python (as `procbook bench`)",
        lesson: 11,
        options: &["--json"],
        timed: true,
        run: bench,
    },
    Demo {
        name: "cluster",
        summary: "the pool example on a real dask.distributed cluster of local processes, beside procbook's Pool",
        lesson: 12,
        options: &["--workers", "--engine"],
        timed: true,
        run: cluster::run,
    },
];

/// `procbook bench` as a demo, so that chapter 11 can capture it like any other
/// (`{{#procbook demo bench}}`) and `lesson 11` can run it.
fn bench(args: &DemoArgs, out: Out) -> Result<()> {
    if !args.json {
        let me = crate::engine::current_process();
        writeln!(
            out,
            "{} procbook bench: times threads, processes and pools, here and in python3",
            term::tag(&me.name, me.pid)
        )?;
    }
    let args = crate::bench::BenchArgs {
        json: args.json,
        no_python: false,
    };
    crate::bench::run(&args, out)
}

/// The demos in the order of the lessons that explain them (the table's order is free).
pub fn in_lesson_order() -> Vec<&'static Demo> {
    let mut demos: Vec<&Demo> = DEMOS.iter().collect();
    demos.sort_by_key(|d| d.lesson);
    demos
}

/// Look a demo up by name.
pub fn find(name: &str) -> Option<&'static Demo> {
    DEMOS.iter().find(|d| d.name == name)
}

/// The demo name closest to a misspelt one, if any is close.
pub fn closest(name: &str) -> Option<&'static str> {
    DEMOS
        .iter()
        // `POOL` is `pool` in the wrong case: compare in lower case.
        .map(|d| (strsim::jaro_winkler(&name.to_lowercase(), d.name), d.name))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// The one line for a name that is not a demo: the closest demo, and all of them.
pub fn unknown(name: &str) -> String {
    let (near, name) = (closest(name), term::shown(name));
    let names: Vec<&str> = in_lesson_order().iter().map(|d| d.name).collect();
    match near {
        Some(near) => format!(
            "unknown demo '{name}'; did you mean '{near}'? (demos: {})",
            names.join(", ")
        ),
        None => format!("unknown demo '{name}'; the demos are: {}", names.join(", ")),
    }
}

/// `demo WORDS…` parsed as the command line and the REPL parse it: the same options, the same
/// errors (for a lesson, which runs its demos without the command table).
pub fn parse(words: &[String]) -> Result<DemoArgs, clap::Error> {
    #[derive(clap::Parser)]
    #[command(name = "demo", no_binary_name = true)]
    struct Line {
        #[command(flatten)]
        args: DemoArgs,
    }
    <Line as clap::Parser>::try_parse_from(words).map(|line| line.args)
}

/// Check the name and options, then run the demo.
pub fn run(args: &DemoArgs, out: Out) -> Result<()> {
    let Some(name) = args.name.as_deref() else {
        return list(out);
    };
    let Some(demo) = find(name) else {
        bail!(unknown(name))
    };
    let given = [
        ("--workers", args.workers.is_some()),
        ("--chunksize", args.chunksize.is_some()),
        ("--json", args.json),
        ("--engine", args.engine.is_some()),
    ];
    for (option, present) in given {
        if present && !demo.options.contains(&option) {
            match demo.options {
                [] => bail!(
                    "demo {} takes no options; try: demo {}",
                    demo.name,
                    demo.name
                ),
                opts => bail!(
                    "demo {} takes {} but not {option}; try: demo {} --help",
                    demo.name,
                    opts.join(", "),
                    demo.name
                ),
            }
        }
    }
    // The live per-core strip while it runs (on stderr; off for the book's captures).
    match crate::strip::Strip::start() {
        Some(strip) => (demo.run)(args, &mut strip.writer(out)),
        None => (demo.run)(args, out),
    }
}

/// The table of demos, for `demo` with no name.
pub fn list(out: Out) -> Result<()> {
    writeln!(out, "{}", term::heading("Demos (run one with: demo NAME)"))?;
    for d in in_lesson_order() {
        let opts = if d.options.is_empty() {
            String::new()
        } else {
            format!(" [{}]", d.options.join("] ["))
        };
        // One gap of two spaces at most: a narrow terminal wraps the summary under itself
        // (see term::fit) rather than cutting the row.
        writeln!(
            out,
            "  {:<14} {}{} (lesson {})",
            d.name, d.summary, opts, d.lesson
        )?;
    }
    Ok(())
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
