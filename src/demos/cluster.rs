//! Beyond one machine: the pool example on a real distributed engine (Dask's `LocalCluster`,
//! or Ray), then on procbook's Pool, the two timed in turns.
//!
//! The Python side is the book's own `book/src/python/12_cluster.py`, run with `--json
//! --wait-signal`: it prints one JSON object a line and, before each timed step, waits for
//! SIGUSR1. Each time it waits, procbook takes its own Pool's matching step and then sends the
//! signal, so the two are timed one after the other and never compete for the cores.
//!
//! Everything the cluster starts lives in python3's process group: procbook kills that group
//! on Ctrl-C, on an error and on every exit (see [`python`]); when procbook itself is killed,
//! the kernel kills python3 (its parent-death signal), the script's own watcher kills the group
//! if it is re-parented, and each Dask worker exits when the pipe from its parent closes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::Deserialize;

use super::kit::{DemoArgs, Out};
use super::python;
use crate::bench::median;
use crate::term;

/// The script, embedded so the demo runs from any directory; the book includes the same file.
const SCRIPT: &str = include_str!("../../book/src/python/12_cluster.py");

/// Timed maps after the first, on each side.
const ROUNDS: usize = 5;

/// Workers when `--workers` is not given: enough to share the work out, few enough to start
/// quickly on a laptop.
const DEFAULT_WORKERS: u64 = 2;

/// A cluster of local processes is a lesson, not a workload: more than this is refused.
const MAX_WORKERS: u64 = 16;

/// How long the whole Python side may take (Dask starts in about a second on an idle laptop).
const LIMIT: Duration = Duration::from_secs(120);

/// How long the cluster's process group may take to empty after python3 exits.
const GRACE: Duration = Duration::from_secs(5);

mod group;
mod pool_side;

use group::{group_members, stop_leftovers};
use pool_side::{PoolSide, Timings};

const ENGINES: &[&str] = &["dask", "ray"];

/// One line of the script's `--json` output.
#[derive(Deserialize, Debug)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Said {
    Missing {
        engine: String,
        install: String,
    },
    Versions {
        python: String,
        engine: String,
        version: String,
    },
    Scheduler {
        address: String,
        pid: u32,
        start_s: f64,
    },
    Worker {
        address: String,
        pid: u32,
    },
    Pickle {
        by_name: u64,
        by_value: u64,
    },
    Wait,
    Item {
        n: u64,
        result: u64,
        worker: String,
    },
    Result {
        results: Vec<u64>,
        first_s: f64,
    },
    Round {
        seconds: f64,
    },
    Closed {
        close_s: f64,
    },
    #[serde(other)]
    Other,
}

/// What the script said about its cluster, gathered as it says it.
struct ClusterSide {
    /// `Dask` or `Ray`.
    name: String,
    /// python3's PID, which is also its process group's number.
    group: Option<u32>,
    /// Worker address -> PID.
    pids: BTreeMap<String, u32>,
    /// Worker address -> items it computed.
    done_by: BTreeMap<String, usize>,
    results: Option<Vec<u64>>,
    times: Timings,
}

impl ClusterSide {
    /// Show one line of the script's, and take procbook's turn when it waits.
    fn take(&mut self, said: Said, workers: u64, ours: &mut PoolSide, out: Out) -> Result<()> {
        match said {
            Said::Missing { engine, install } => {
                bail!("{engine} is not installed for python3; install it with: {install}")
            }
            Said::Versions {
                python,
                engine,
                version,
            } => {
                let what = if engine == "ray" {
                    self.name = "Ray".into();
                    format!("Ray {version}: ray.init() with {workers} CPUs, on 127.0.0.1")
                } else {
                    self.name = "Dask".into();
                    format!(
                        "Dask {version}: a LocalCluster of {workers} worker processes on 127.0.0.1"
                    )
                };
                let heading = format!("{what} (Python {python})");
                writeln!(out, "{}", term::heading(&heading))?;
            }
            Said::Scheduler {
                address,
                pid,
                start_s,
            } => {
                self.group = Some(pid).filter(|&p| p > 1);
                loopback(&address)?;
                self.times.start = Some(start_s);
                writeln!(
                    out,
                    "{} scheduler at {address} (and the client: the script's own process)",
                    term::tag("python3", pid)
                )?;
            }
            Said::Worker { address, pid } => {
                loopback(&address)?;
                writeln!(out, "{} worker at {address}", term::tag("worker", pid))?;
                self.pids.insert(address, pid);
            }
            Said::Pickle { by_name, by_value } => writeln!(
                out,
                "square travels as a pickle: {by_name} bytes by name (what multiprocessing \
                 sends), {by_value} bytes by value (cloudpickle, what {} sends for a \
                 function defined in __main__)",
                self.name
            )?,
            Said::Wait => {
                ours.step()?;
                let Some(pid) = self.group else {
                    bail!("the cluster script waited before saying its PID");
                };
                kill(Pid::from_raw(pid as i32), Signal::SIGUSR1)
                    .context("telling the cluster script to go on")?;
            }
            Said::Item { n, result, worker } => {
                let pid = self.pids.get(&worker).copied().unwrap_or(0);
                *self.done_by.entry(worker.clone()).or_default() += 1;
                writeln!(
                    out,
                    "{} square({n}) = {result}   ({worker})",
                    term::tag("worker", pid)
                )?;
            }
            Said::Result { results, first_s } => {
                self.times.first = Some(first_s);
                writeln!(out, "{}", term::heading(&format!("{results:?}")))?;
                self.results = Some(results);
            }
            Said::Round { seconds } => self.times.rounds.push(seconds),
            Said::Closed { close_s } => self.times.stop = Some(close_s),
            Said::Other => {}
        }
        Ok(())
    }
}

impl Drop for ClusterSide {
    /// On every way out that skipped the orderly check (an error, Ctrl-C): nothing of the
    /// cluster's may outlive the demo, even if python3 itself has already gone.
    fn drop(&mut self) {
        if let Some(group) = self.group.take()
            && group_members(group) > 0
        {
            let _ = killpg(Pid::from_raw(group as i32), Signal::SIGKILL);
        }
    }
}

/// The cluster was asked to listen on 127.0.0.1; refuse to go on if it does not.
fn loopback(address: &str) -> Result<()> {
    let host = address.split("://").nth(1).unwrap_or(address);
    if host.starts_with("127.0.0.1:") || host.starts_with("pid ") {
        Ok(())
    } else {
        bail!("the cluster listens on {address}, not on 127.0.0.1 only; it was stopped")
    }
}

pub fn run(args: &DemoArgs, out: Out) -> Result<()> {
    let engine = args.engine.as_deref().unwrap_or("dask");
    if !ENGINES.contains(&engine) {
        bail!(
            "demo cluster runs on dask or ray, not '{}'; try: demo cluster --engine dask",
            term::shown(engine)
        );
    }
    let workers = args.workers.unwrap_or(DEFAULT_WORKERS);
    if workers > MAX_WORKERS {
        bail!("demo cluster starts at most {MAX_WORKERS} workers; try: demo cluster --workers 4");
    }
    let script_args: Vec<String> = [
        "--json",
        "--wait-signal",
        "--engine",
        engine,
        "--workers",
        &workers.to_string(),
        "--rounds",
        &ROUNDS.to_string(),
    ]
    .map(String::from)
    .to_vec();
    let Some(mut py) = python::start("12_cluster.py", SCRIPT, &script_args, LIMIT)? else {
        bail!(
            "demo cluster needs python3 with {}, and there is no python3 on the PATH",
            install(engine)
        );
    };
    let mut ours = PoolSide::new(workers as usize);
    let mut theirs = ClusterSide {
        name: engine.to_string(),
        group: None,
        pids: BTreeMap::new(),
        done_by: BTreeMap::new(),
        results: None,
        times: Timings::default(),
    };
    while let Some(line) = py.next_line()? {
        let said: Said = serde_json::from_str(&line)
            .with_context(|| format!("reading the cluster script's line {line:?}"))?;
        theirs.take(said, workers, &mut ours, out)?;
    }
    py.finish()?;
    ours.stop();
    let left = theirs.group.take().map_or(0, stop_leftovers);
    let Some(results) = theirs.results.take() else {
        bail!("the cluster script ended without a result");
    };
    let name = theirs.name.clone();

    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "procbook's Pool: the same map on {workers} worker processes, over pipes"
        ))
    )?;
    for (worker, pid, range) in &ours.chunks {
        writeln!(
            out,
            "{} square{:?} -> {:?}",
            term::tag(worker, *pid),
            &ours.items[range.clone()],
            &ours.squares[range.clone()]
        )?;
    }
    writeln!(out, "{}", term::heading(&format!("{:?}", ours.squares)))?;
    if results != ours.squares {
        bail!(
            "{name} returned {results:?} but the Pool {:?}",
            ours.squares
        );
    }
    side_by_side(out, &theirs, &ours, results.len())?;
    writeln!(
        out,
        "{}",
        term::notice(&match left {
            0 => format!(
                "Every process the cluster started has stopped: python3 and its {} workers \
                 exited, and their process group is empty.",
                theirs.pids.len()
            ),
            n => format!(
                "{n} of the cluster's processes were still running {} s after python3 \
                 exited; procbook killed them.",
                GRACE.as_secs()
            ),
        })
    )?;
    Ok(())
}

/// The counts first, then the times, then what they mean.
fn side_by_side(out: Out, theirs: &ClusterSide, ours: &PoolSide, tasks: usize) -> Result<()> {
    let name = &theirs.name;
    let busy = theirs.done_by.len();
    let chunk_workers: BTreeSet<&String> = ours.chunks.iter().map(|(w, _, _)| w).collect();
    let (their_map, our_map) = (
        nonempty_median(&theirs.times.rounds),
        nonempty_median(&ours.times.rounds),
    );
    let rows = [
        (
            "tasks sent for 9 items".to_string(),
            format!("{tasks} (one per item)"),
            format!("{} chunks of up to {}", ours.chunks.len(), ours.chunksize()),
        ),
        (
            "workers that did work".to_string(),
            format!("{busy} of {}", theirs.pids.len().max(busy)),
            format!("{} of {}", chunk_workers.len(), ours.workers),
        ),
        (
            "start".to_string(),
            ms(theirs.times.start),
            ms(ours.times.start),
        ),
        (
            "first map".to_string(),
            ms(theirs.times.first),
            ms(ours.times.first),
        ),
        (
            format!("map, median of {ROUNDS} more"),
            ms(their_map),
            ms(our_map),
        ),
        (
            "stop".to_string(),
            ms(theirs.times.stop),
            ms(ours.times.stop),
        ),
    ];
    writeln!(out, "{}", term::heading("Side by side"))?;
    writeln!(out, "  {:<26} {:<24} procbook Pool", "", name)?;
    for (what, a, b) in rows {
        writeln!(out, "  {what:<26} {a:<24} {b}")?;
    }
    let ratio = match (their_map, our_map) {
        (Some(a), Some(b)) if b > 0.0 => format!(
            " Here a warm map took {:.0}x as long on {name} as on the Pool.",
            a / b
        ),
        _ => String::new(),
    };
    let mut notes = Vec::new();
    if busy < theirs.pids.len() {
        notes.push(format!(
            "This run, {name}'s scheduler gave every task to {busy} of its {} workers: which \
             worker gets what is its choice, and changes from run to run.",
            theirs.pids.len()
        ));
    }
    for line in notes.into_iter().chain([
        format!(
            "Each of {name}'s tasks goes from the client to the scheduler, to a worker and back, \
             as messages over TCP on 127.0.0.1; the Pool writes each chunk down a pipe to a \
             worker.{ratio}"
        ),
        "The two were timed in turns (a step of one, then the same step of the other, never \
         at once), but on a busy machine milliseconds still vary from run to run: read the \
         counts first and the times as orders of magnitude."
            .to_string(),
    ]) {
        writeln!(out, "{}", term::notice(&line))?;
    }
    Ok(())
}

fn install(engine: &str) -> &'static str {
    match engine {
        "ray" => "Ray (python3 -m pip install ray)",
        _ => "dask.distributed (python3 -m pip install \"dask[distributed]\")",
    }
}

fn nonempty_median(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| median(values.to_vec()))
}

fn ms(seconds: Option<f64>) -> String {
    match seconds {
        Some(s) if s >= 0.1 => format!("{:.0} ms", s * 1000.0),
        Some(s) if s >= 0.01 => format!("{:.1} ms", s * 1000.0),
        Some(s) => format!("{:.2} ms", s * 1000.0),
        None => "-".to_string(),
    }
}
