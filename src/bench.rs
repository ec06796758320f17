//! `procbook bench`: what threads, processes and pools cost here, measured side by side with
//! Python's `multiprocessing` in the same run. Every figure is a median over repeats.

use std::hint::black_box;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::demos::kit::Out;
use crate::demos::python;
use crate::demos::tasks::NOOP;
use crate::engine::{Pool, Process};
use crate::term;

/// Python's side of the comparison, run with `python3`.
const PYTHON_BENCH: &str = include_str!("bench/multiprocessing_bench.py");

/// Repeats: Python's spawns take this many, the pool figures half as many; procbook's
/// spawns, cheaper and noisier, get more.
const REPEATS: usize = 11;
const SPAWN_REPEATS: usize = 31;
/// Python's side is stopped if it takes longer than this (its spawn figures are the slow part).
const PYTHON_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);
/// Items mapped for the per-task figure at chunksize 1 (ten times as many at the default).
const ITEMS: usize = 2000;
/// Items in the big map, at the default chunksize: where the cost of moving each item across
/// the pipe (serializing, decoding) shows, rather than the cost of a round trip.
const MILLION: usize = 1_000_000;
/// Repeats of the big map (each takes a tenth of a second or so on either side).
const MILLION_REPEATS: usize = 5;
/// Workers in the pools measured: the machine's cores, at most 4, so both sides match.
fn bench_workers() -> usize {
    crate::engine::pool::default_workers().min(4)
}

/// The figures `--json` prints, in microseconds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub cores: usize,
    pub workers: usize,
    pub repeats: usize,
    pub thread_spawn_us: f64,
    pub raw_spawn_us: f64,
    /// Spawn and wait of procbook itself, doing nothing: the floor for re-executing a program.
    pub self_exec_us: f64,
    pub process_spawn_us: f64,
    pub pool_start_us: f64,
    pub task_chunk1_us: f64,
    pub task_default_us: f64,
    /// Per item, a map of 1,000,000 small items at the default chunksize.
    pub task_million_us: f64,
    /// `task_million_us` over Python's figure in the same run (`null` without Python).
    pub task_million_vs_python: Option<f64>,
    pub python: Option<PythonReport>,
}

/// Python's figures, measured in the same run.
#[derive(Debug, Serialize, Deserialize)]
pub struct PythonReport {
    pub version: String,
    /// The start method Python's pool used (its platform default).
    pub start_method: String,
    /// `Process.start()` + `join()` per start method; `null` where the platform has none.
    pub process_spawn_us: std::collections::BTreeMap<String, Option<f64>>,
    pub pool_start_us: f64,
    pub task_chunk1_us: f64,
    pub task_default_us: f64,
    pub task_million_us: f64,
}

/// Options of `bench`.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct BenchArgs {
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    /// Skip the Python comparison even when python3 is on the PATH
    #[arg(long)]
    pub no_python: bool,
}

pub fn run(args: &BenchArgs, out: Out) -> Result<()> {
    if !args.json {
        writeln!(
            out,
            "Measuring (each figure a median of {} to {SPAWN_REPEATS} runs; {} workers per pool)...",
            MILLION_REPEATS.min(REPEATS / 2),
            bench_workers()
        )?;
    }
    let report = measure(!args.no_python)?;
    // The book's costs figure is drawn from this same run (a no-op unless a capture records it).
    crate::figure::record::result("bench", &report);
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        round_floats(&mut json);
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        print_table(&report, out)?;
    }
    Ok(())
}

/// Take every measurement, Rust then Python, in this one run.
pub fn measure(with_python: bool) -> Result<Report> {
    let workers = bench_workers();
    // The three spawn figures are taken in turns, one of each per round, so that whatever
    // else the machine is doing weighs on all three alike.
    let mut thread = Vec::new();
    let mut raw = Vec::new();
    let mut process = Vec::new();
    let mut self_exec = Vec::new();
    let me = std::env::current_exe().context("finding this program")?;
    for _ in 0..SPAWN_REPEATS {
        thread.push(time_us(|| {
            // Unnamed, as `thread::spawn` makes it (a name costs a syscall in the thread).
            std::thread::Builder::new()
                .spawn(|| black_box(1))
                .map_err(|e| crate::limits::start_error("a thread", &e))?
                .join()
                .ok();
            Ok(())
        })?);
        raw.push(time_us(|| {
            Command::new("/bin/true")
                .status()
                .context("running /bin/true")?;
            Ok(())
        })?);
        // The same binary started as a worker with no pipe to serve: it exits at once. Every
        // engine that re-executes its program pays at least this much.
        self_exec.push(time_us(|| {
            Command::new(&me)
                .env(crate::engine::child::ROLE_ENV, "process")
                .stderr(Stdio::null())
                .status()
                .context("running procbook")?;
            Ok(())
        })?);
        process.push(time_us(|| {
            Process::new(&NOOP, 0).start()?.join()?;
            Ok(())
        })?);
    }
    let (thread_spawn_us, raw_spawn_us, self_exec_us, process_spawn_us) = (
        median(thread),
        median(raw),
        median(self_exec),
        median(process),
    );
    let pool_start_us = median_us(REPEATS / 2, || {
        let pool = Pool::new(workers)?;
        pool.map(&NOOP, 0..workers as u64)?;
        pool.shutdown();
        Ok(())
    })?;
    let pool = Pool::new(workers)?;
    pool.map(&NOOP, 0..ITEMS as u64)?; // warm up
    let task_chunk1_us = median_us(REPEATS / 2, || {
        pool.map_chunked(&NOOP, 0..ITEMS as u64, 1)?;
        Ok(())
    })? / ITEMS as f64;
    let task_default_us = median_us(REPEATS / 2, || {
        pool.map(&NOOP, 0..(10 * ITEMS) as u64)?;
        Ok(())
    })? / (10 * ITEMS) as f64;
    let task_million_us = median_us(MILLION_REPEATS, || {
        pool.map(&NOOP, 0..MILLION as u64)?;
        Ok(())
    })? / MILLION as f64;
    drop(pool);
    let python = if with_python {
        python_figures(workers)?
    } else {
        None
    };
    let task_million_vs_python = python.as_ref().map(|p| task_million_us / p.task_million_us);
    Ok(Report {
        cores: crate::engine::pool::default_workers(),
        workers,
        repeats: REPEATS,
        thread_spawn_us,
        raw_spawn_us,
        self_exec_us,
        process_spawn_us,
        pool_start_us,
        task_chunk1_us,
        task_default_us,
        task_million_us,
        task_million_vs_python,
        python,
    })
}

/// Run the Python side from a real file (spawn and forkserver children import the main
/// script by path); `None` when there is no `python3`.
fn python_figures(workers: usize) -> Result<Option<PythonReport>> {
    let args = [
        REPEATS.to_string(),
        ITEMS.to_string(),
        workers.to_string(),
        MILLION.to_string(),
        MILLION_REPEATS.to_string(),
    ];
    let Some(python) = python::start(
        "multiprocessing_bench.py",
        PYTHON_BENCH,
        &args,
        PYTHON_LIMIT,
    )?
    else {
        return Ok(None);
    };
    let out = python.finish().context("python3's side of the benchmark")?;
    let report = serde_json::from_str(&out.join("\n")).context("reading python3's figures")?;
    Ok(Some(report))
}

fn median_us(repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let times = (0..repeats.max(1))
        .map(|_| time_us(&mut f))
        .collect::<Result<Vec<f64>>>()?;
    Ok(median(times))
}

fn time_us(mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64() * 1e6)
}

/// The middle value (the upper middle for an even count); NaN for none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Microseconds, in the unit that reads best.
pub fn human(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 10.0 {
        format!("{us:.0} µs")
    } else {
        format!("{us:.2} µs")
    }
}

fn print_table(r: &Report, out: Out) -> Result<()> {
    let py = r.python.as_ref();
    let py_method = py.map_or(String::new(), |p| {
        format!("Python {} ({})", p.version, p.start_method)
    });
    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "{:<40} {:>12}   {:<28}",
            format!("on {} cores", r.cores),
            "procbook",
            py_method
        ))
    )?;
    let row = |out: Out, what: &str, ours: f64, theirs: Option<f64>| -> Result<()> {
        let (theirs, ratio) = match theirs {
            Some(t) => (human(t), format!("Python/procbook = {:.1}x", t / ours)),
            None => (String::new(), String::new()),
        };
        writeln!(out, "{what:<40} {:>12}   {theirs:<12} {ratio}", human(ours))?;
        Ok(())
    };
    row(out, "thread spawn + join", r.thread_spawn_us, None)?;
    row(
        out,
        "raw spawn + wait of /bin/true (floor)",
        r.raw_spawn_us,
        None,
    )?;
    row(
        out,
        "spawn + wait of procbook doing nothing",
        r.self_exec_us,
        None,
    )?;
    row(
        out,
        "Process start + join",
        r.process_spawn_us,
        py.and_then(|p| p.process_spawn_us.get(&p.start_method).copied().flatten()),
    )?;
    if let Some(p) = py {
        for (method, us) in &p.process_spawn_us {
            if let Some(us) = us {
                writeln!(
                    out,
                    "{:<40} {:>12}   {:<12}",
                    format!("  Python Process, {method}"),
                    "",
                    human(*us)
                )?;
            }
        }
    }
    row(
        out,
        &format!("Pool({}) start + shutdown", r.workers),
        r.pool_start_us,
        py.map(|p| p.pool_start_us),
    )?;
    row(
        out,
        "map overhead per task, chunksize 1",
        r.task_chunk1_us,
        py.map(|p| p.task_chunk1_us),
    )?;
    row(
        out,
        "map overhead per task, default chunksize",
        r.task_default_us,
        py.map(|p| p.task_default_us),
    )?;
    row(
        out,
        "map of 1,000,000 items, per item",
        r.task_million_us,
        py.map(|p| p.task_million_us),
    )?;
    if py.is_none() {
        writeln!(
            out,
            "{}",
            term::notice("no python3 on the PATH (or --no-python): Python's column is left out")
        )?;
    }
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "Process start is {:.2}x the /bin/true floor and {:.2}x a bare start of procbook; a thread is {:.0}x cheaper.",
            r.process_spawn_us / r.raw_spawn_us,
            r.process_spawn_us / r.self_exec_us,
            r.process_spawn_us / r.thread_spawn_us
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice(
            "Medians on a shared machine: compare ratios within one run, not times across runs."
        )
    )?;
    Ok(())
}

/// Every float in `value` to four significant digits (measured figures carry no more, and
/// binary floats print such as 505.14500000000004 otherwise; a fixed two decimals would turn
/// 0.042 µs per item into 0.04): for the JSON writer only.
fn round_floats(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(rounded) = n
                .as_f64()
                .map(significant)
                .and_then(serde_json::Number::from_f64)
            {
                *n = rounded;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(round_floats),
        serde_json::Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// `f` to four significant digits, dividing by a power of ten held exactly (`1e3`, not
/// `0.001`) so the result prints as the short decimal it is.
fn significant(f: f64) -> f64 {
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    let decimals = 3 - f.abs().log10().floor() as i32;
    if decimals >= 0 {
        let scale = 10f64.powi(decimals);
        (f * scale).round() / scale
    } else {
        let scale = 10f64.powi(-decimals);
        (f / scale).round() * scale
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_floats_are_rounded() {
        let mut v = serde_json::json!({
            "a": 505.14500000000004, "b": [1.0, 2], "c": "x", "d": 0.068312, "e": 123456.7
        });
        super::round_floats(&mut v);
        assert_eq!(
            v.to_string(),
            r#"{"a":505.1,"b":[1.0,2],"c":"x","d":0.06831,"e":123500.0}"#
        );
    }
}
