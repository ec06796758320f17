//! The demos: one file each, and one table that drives the CLI, the REPL, help and completion.

pub mod cluster;
pub mod crash;
pub mod four;
pub mod gil;
pub mod ipc;
pub mod kit;
pub mod memory;
pub mod pool;
pub mod process;
pub mod python;
pub mod start_methods;
pub mod tasks;

use anyhow::{Result, bail};

use crate::engine::Registry;
use crate::term;

pub use kit::{DemoArgs, Out, recorded, show_event};

/// The registry `main` hands to the entry guard: every task a worker can run, by name.
pub static TASKS: &Registry = &[
    &tasks::SQUARE,
    &tasks::GREET,
    &tasks::PRINT_NUMBER,
    &tasks::NOOP,
    &tasks::PANIC_ON,
    &tasks::ABORT_ON,
    &tasks::SLEEP_MS,
    &tasks::GARBLE,
    &tasks::BYTE_LEN,
    &tasks::HOLD_POOL,
    &gil::COUNT_PRIMES,
    &memory::ADD_IN_CHILD,
    &crash::ABORT_IN_THREAD,
    &start_methods::SPAWNED,
    &start_methods::FORK_CHILDREN,
    &ipc::PRODUCE,
    &ipc::CONSUME,
    &ipc::ECHO_UPPER,
    &ipc::ADD_TO_SHARED,
];

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
