//! What procbook sees of this machine through sysinfo: its cores and memory, the process tree
//! of procbook and its children (PID, parent PID, name, memory), and the load on each core.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sysinfo::{
    CpuRefreshKind, MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, RefreshKind,
    System,
};

use crate::cores::Watch;
use crate::demos::gil::{COUNT_PRIMES, size_the_job};
use crate::demos::kit::{DemoArgs, Out, show_event};
use crate::engine::pool::default_workers;
use crate::engine::{Pool, current_process};
use crate::term;

/// The machine, as the welcome names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// CPUs the OS schedules on (hardware threads).
    pub logical: usize,
    /// Cores in the silicon, when the OS says.
    pub physical: Option<usize>,
    /// Bytes of RAM.
    pub memory: u64,
    /// Such as `Linux (Ubuntu 24.04)`.
    pub os: String,
}

impl Machine {
    /// `2 logical cores (2 physical), 7.8 GiB of memory, Linux (Ubuntu 24.04)`.
    pub fn describe(&self) -> String {
        let physical = match self.physical {
            Some(p) => format!(" ({p} physical)"),
            None => String::new(),
        };
        format!(
            "{} logical {}{physical}, {} of memory, {}",
            self.logical,
            plural(self.logical, "core", "cores"),
            bytes(self.memory),
            self.os
        )
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Look at the machine: cores, memory, OS.
pub fn machine() -> Machine {
    let sys = System::new_with_specifics(
        RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing())
            .with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let (logical, memory) = match &sys {
        Ok(sys) => (sys.cpus().len(), sys.total_memory()),
        Err(_) => (0, 0),
    };
    let logical = if logical == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        logical
    };
    let os = System::long_os_version()
        .or_else(|_| System::name())
        .unwrap_or_else(|_| std::env::consts::OS.to_string());
    Machine {
        logical,
        physical: System::physical_core_count().ok(),
        memory,
        os,
    }
}

/// One process of a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pid: u32,
    pub ppid: Option<u32>,
    pub name: String,
    /// Resident memory, in bytes.
    pub memory: u64,
    /// 0 for the root, 1 for its children, …
    pub depth: usize,
    /// The lines that join it to its parent, such as `│  └─ `.
    pub branch: String,
}

/// The process `root` and every descendant, depth first. `roles` names processes the caller
/// knows (`SpawnPoolWorker-1`), shown after the program's name.
pub fn tree(root: u32, roles: &HashMap<u32, String>) -> Result<Vec<Node>> {
    let mut sys = System::new().context("reading the process table")?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, process) in sys.processes() {
        if process.thread_kind().is_some() {
            continue;
        }
        if let Some(parent) = process.parent() {
            children
                .entry(parent.as_u32())
                .or_default()
                .push(pid.as_u32());
        }
    }
    for kids in children.values_mut() {
        kids.sort_unstable();
    }
    let mut nodes = Vec::new();
    walk(&sys, &children, roles, root, 0, "", "", &mut nodes);
    Ok(nodes)
}

/// Add `pid` and its descendants to `nodes`: `branch` joins it to its parent, `indent` is
/// what its own children's branches start with.
#[allow(clippy::too_many_arguments)]
fn walk(
    sys: &System,
    children: &HashMap<u32, Vec<u32>>,
    roles: &HashMap<u32, String>,
    pid: u32,
    depth: usize,
    branch: &str,
    indent: &str,
    nodes: &mut Vec<Node>,
) {
    let Some(process) = sys.process(Pid::from_u32(pid)) else {
        return;
    };
    let mut name = process.name().to_string_lossy().into_owned();
    if let Some(role) = roles.get(&pid) {
        name = format!("{name} ({role})");
    }
    nodes.push(Node {
        pid,
        ppid: process.parent().map(Pid::as_u32),
        name,
        memory: process.memory(),
        depth,
        branch: branch.to_string(),
    });
    let kids = children.get(&pid).map(Vec::as_slice).unwrap_or_default();
    for (i, &kid) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let (joint, below) = if last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        walk(
            sys,
            children,
            roles,
            kid,
            depth + 1,
            &format!("{indent}{joint}"),
            &format!("{indent}{below}"),
            nodes,
        );
    }
}

/// `sys`: this machine, procbook's process tree, and the load on each core.
pub fn run(out: Out) -> Result<()> {
    show_machine(out)?;
    show_tree(out, &HashMap::new())?;
    show_load(out)?;
    writeln!(
        out,
        "{}",
        term::notice("At the prompt procbook has no children; try `demo sys` to see a pool's.")
    )?;
    Ok(())
}

/// The `sys` demo: start a pool, and look at the tree while its workers are alive.
pub fn demo(args: &DemoArgs, out: Out) -> Result<()> {
    show_machine(out)?;
    let workers = args.workers.map_or_else(default_workers, |n| n as usize);
    let (tx, rx) = mpsc::channel();
    let pool = Pool::builder().workers(workers).events(&tx).start()?;
    drop(tx);
    for event in rx.try_iter() {
        show_event(out, &event)?;
    }
    let me = current_process();
    let mut roles: HashMap<u32, String> =
        pool.workers()?.into_iter().map(|(n, p)| (p, n)).collect();
    roles.insert(me.pid, me.name);
    let shown = show_tree(out, &roles).and_then(|()| show_busy_load(out, &pool, workers));
    pool.shutdown();
    for event in rx {
        show_event(out, &event)?;
    }
    shown?;
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "Each worker is procbook itself, started again: its parent PID is procbook's ({}).",
            std::process::id()
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice(
            "Each has memory of its own; a pool larger than the cores only waits its turn."
        )
    )?;
    Ok(())
}

fn show_machine(out: Out) -> Result<()> {
    writeln!(
        out,
        "{} {}",
        term::heading("This machine:"),
        machine().describe()
    )?;
    Ok(())
}

fn show_tree(out: Out, roles: &HashMap<u32, String>) -> Result<()> {
    writeln!(out, "{}", term::heading("The process tree of procbook:"))?;
    writeln!(out, "  {:<16} {:>7}  {:>10}  NAME", "PID", "PPID", "MEMORY")?;
    for node in tree(std::process::id(), roles)? {
        let branch = &node.branch;
        let ppid = node.ppid.map_or("-".to_string(), |p| p.to_string());
        writeln!(
            out,
            "  {:<16} {ppid:>7}  {:>10}  {}",
            format!("{branch}{}", node.pid),
            bytes(node.memory),
            node.name
        )?;
    }
    Ok(())
}

fn show_load(out: Out) -> Result<()> {
    writeln!(
        out,
        "{}",
        term::heading("Load on each core (sampled over 200 ms):")
    )?;
    for (i, load) in crate::cores::load_now()?.into_iter().enumerate() {
        writeln!(out, "  cpu{i:<3} {} {load:>5.1}%", bar(load, 20))?;
    }
    Ok(())
}

/// How long each worker of `demo sys` counts primes while the load is sampled: long enough for
/// a few samples (and for the book's figure, drawn from the strip's quarter-second samples).
const BUSY_FOR: Duration = Duration::from_millis(700);

/// Give every worker a share of a CPU-bound job and watch the load on each core until all of
/// them are done: what several processes add is cores busy at once.
fn show_busy_load(out: Out, pool: &Pool, workers: usize) -> Result<()> {
    let parts = size_the_job(workers as u64, BUSY_FOR * workers as u32);
    let (first, last) = (parts[0].start, parts[parts.len() - 1].end);
    let started = Instant::now();
    let watch = Watch::start();
    let counted: Result<Vec<u64>> = parts
        .into_iter()
        .map(|part| pool.apply_async(&COUNT_PRIMES, part))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|pending| pending.iter().map(|p| p.get(None)).collect())
        .map_err(Into::into);
    let loads = watch.stop();
    let took = started.elapsed();
    let primes: u64 = counted?.iter().sum();
    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "Load on each core while {workers} {} counted primes (over {:.2} s):",
            plural(workers, "worker", "workers"),
            took.as_secs_f64()
        ))
    )?;
    match loads {
        Some(loads) => {
            for (i, load) in loads.into_iter().enumerate() {
                writeln!(out, "  cpu{i:<3} {} {load:>5.1}%", bar(load, 20))?;
            }
        }
        None => writeln!(out, "  (sysinfo could not read the cores)")?,
    }
    writeln!(
        out,
        "  they found {} primes in {}..{}",
        term::thousands(primes),
        term::thousands(first),
        term::thousands(last),
    )?;
    Ok(())
}

/// `████░░░░` for a percentage.
pub fn bar(percent: f32, width: usize) -> String {
    let filled = ((percent.clamp(0.0, 100.0) / 100.0) * width as f32).round() as usize;
    format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(width - filled.min(width))
    )
}

/// `7.8 GiB`, `12.3 MiB`, `512 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(bar(50.0, 4), "██░░");
        assert_eq!(bar(250.0, 4), "████");
        assert_eq!(bar(f32::NAN, 4).chars().count(), 4);
    }

    #[test]
    fn the_machine_has_cores_and_memory() {
        let m = machine();
        assert!(m.logical >= 1);
        assert!(m.memory > 0);
        assert!(m.describe().contains("logical"));
    }

    #[test]
    fn the_tree_starts_at_its_root() {
        let me = std::process::id();
        let nodes = tree(me, &HashMap::from([(me, "MainProcess".to_string())])).unwrap();
        assert_eq!(nodes[0].pid, me);
        assert_eq!(nodes[0].depth, 0);
        assert!(nodes[0].name.ends_with("(MainProcess)"));
    }
}
