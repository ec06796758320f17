//! Lesson 3, the GIL: one CPU-bound job (counting primes), run serially, on threads, on threads
//! that must share one lock handed over every 5 ms (a simulated GIL), and on processes; and, when
//! `python3` is on the PATH, on real Python threads and processes. For each run: wall time,
//! speedup over serial, and how busy each core was while it ran.

use std::ops::Range;
use std::sync::mpsc::{self, Sender};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::tasks::COUNT_PRIMES;
use super::{DemoArgs, Out, python};
use crate::engine::{self, Event, Pool, cancel, current_process};
use crate::term::{self, thousands};

/// CPython's switch interval: `sys.getswitchinterval()` is 0.005.
pub const SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// The job starts far from 0, so that equal windows of numbers cost about the same to check.
const FIRST: u64 = 1_000_000_000;
/// How long the serial run should take; the job is sized to it on this machine and build.
const SERIAL_TARGET: Duration = Duration::from_millis(800);
/// The same for Python's serial run (Python's job is smaller: it checks numbers ~40x slower).
const PYTHON_SERIAL_TARGET: f64 = 0.6;
/// A serial run that got less of a core than this was sharing the machine with other work.
const BUSY_MACHINE: f64 = 0.85;
/// Python's side of the comparison.
const PYTHON_SCRIPT: &str = include_str!("gil/primes.py");
/// How long Python's three runs may take in all.
const PYTHON_LIMIT: Duration = Duration::from_secs(60);

/// Trial division by odd numbers up to the square root: slow on purpose, all CPU.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// The pool's task: one part of the job, counted in a worker process.
pub fn count_primes_task(part: Range<u64>) -> u64 {
    count_primes(part, None)
}

// ANCHOR: demo
/// Count the primes in one part. Under a GIL, a thread computes only while it holds the lock,
/// and every switch interval (5 ms) hands it over if another thread is waiting.
pub fn count_primes(part: Range<u64>, gil: Option<&Gil>) -> u64 {
    let mut held = gil.map(Gil::acquire);
    let mut count = 0;
    for n in part.take_while(|_| !cancel::requested()) {
        if let Some(held) = &mut held {
            held.every_switch_interval();
        }
        count += u64::from(is_prime(n));
    }
    count
}

/// Python: one `Thread(target=count_primes, args=(part,))` per part, then join each.
fn on_threads(parts: &[Range<u64>], gil: Option<&Gil>) -> Vec<u64> {
    thread::scope(|s| {
        let threads: Vec<_> = (parts.iter())
            .map(|part| s.spawn(move || count_primes(part.clone(), gil)))
            .collect();
        (threads.into_iter())
            .map(|t| t.join().expect("count_primes does not panic"))
            .collect()
    })
}
// ANCHOR_END: demo

// ANCHOR: processes
/// Python: `with Pool(len(parts)) as pool: pool.map(count_primes, parts, chunksize=1)`.
fn on_processes(parts: &[Range<u64>], events: &Sender<Event>) -> Result<Vec<u64>> {
    let pool = Pool::builder()
        .workers(parts.len())
        .events(events)
        .start()?;
    let counts = pool.map_chunked(&COUNT_PRIMES, parts.to_vec(), 1)?;
    pool.shutdown();
    Ok(counts)
}
// ANCHOR_END: processes

/// A simulated GIL: one lock that every thread must hold to compute. The holder lets go every
/// switch interval, and if another thread is waiting it waits until that one has taken the lock
/// (CPython's "forced switching"), so the threads take turns instead of the holder taking the
/// lock straight back.
pub struct Gil {
    state: Mutex<GilState>,
    turn: Condvar,
    interval: Duration,
}

#[derive(Default)]
struct GilState {
    held: bool,
    waiting: usize,
    /// How many times the lock has been taken, counting every turn of every thread.
    taken: u64,
    /// How many times a holder let go for a waiting thread.
    handovers: u64,
}

/// The lock, held by one thread: released when dropped.
pub struct Held<'g> {
    gil: &'g Gil,
    since: Instant,
    steps: u32,
}

impl Gil {
    pub fn new(interval: Duration) -> Gil {
        Gil {
            state: Mutex::new(GilState::default()),
            turn: Condvar::new(),
            interval,
        }
    }

    /// Wait until the lock is free, then take it.
    pub fn acquire(&self) -> Held<'_> {
        let mut state = self.state();
        state.waiting += 1;
        state = self.wait_until(state, |s| !s.held);
        state.waiting -= 1;
        state.held = true;
        state.taken += 1;
        Held {
            gil: self,
            since: Instant::now(),
            steps: 0,
        }
    }

    /// How many times a thread let go of the lock so that another could run.
    pub fn handovers(&self) -> u64 {
        self.state().handovers
    }

    fn state(&self) -> MutexGuard<'_, GilState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_until<'s>(
        &self,
        mut state: MutexGuard<'s, GilState>,
        ready: impl Fn(&GilState) -> bool,
    ) -> MutexGuard<'s, GilState> {
        while !ready(&state) {
            state = self.turn.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state
    }
}

impl Held<'_> {
    /// Called between steps of work, as CPython's eval loop checks between bytecodes: once the
    /// holder has had the lock for a switch interval and another thread wants it, hand it over
    /// and wait for the next turn.
    pub fn every_switch_interval(&mut self) {
        self.steps = self.steps.wrapping_add(1);
        if !self.steps.is_multiple_of(16) || self.since.elapsed() < self.gil.interval {
            return;
        }
        let gil = self.gil;
        let mut state = gil.state();
        if state.waiting > 0 {
            state.held = false;
            state.handovers += 1;
            let mine = state.taken;
            gil.turn.notify_all();
            // First someone else takes it, then we wait for it to be free again.
            state.waiting += 1;
            state = gil.wait_until(state, |s| s.taken != mine && !s.held);
            state.waiting -= 1;
            state.held = true;
            state.taken += 1;
        }
        self.since = Instant::now();
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut state = self.gil.state();
        state.held = false;
        self.gil.turn.notify_all();
    }
}

/// Per-core utilisation while something runs, sampled with sysinfo on a background thread.
/// sysinfo refreshes CPU usage at most every `MINIMUM_CPU_UPDATE_INTERVAL` (200 ms on Linux),
/// so that is the sampling period; a run shorter than one period gets one sample that ends a
/// little after it.
struct Cores {
    stop: Sender<()>,
    thread: JoinHandle<Option<Vec<f32>>>,
}

impl Cores {
    fn watch() -> Cores {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let mut system = sysinfo::System::new().ok()?;
            system.refresh_cpu_usage();
            let period = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;
            let mut last = Instant::now();
            let mut busy = vec![0.0f64; system.cpus().len()];
            let mut covered = 0.0f64;
            loop {
                let ended = !matches!(
                    stopped.recv_timeout(period.saturating_sub(last.elapsed())),
                    Err(mpsc::RecvTimeoutError::Timeout)
                );
                if ended && covered > 0.0 {
                    break;
                }
                if ended {
                    // No sample yet: the run was short; take one as soon as sysinfo allows.
                    thread::sleep(period.saturating_sub(last.elapsed()));
                }
                system.refresh_cpu_usage();
                let span = last.elapsed().as_secs_f64();
                last = Instant::now();
                for (total, cpu) in busy.iter_mut().zip(system.cpus()) {
                    *total += f64::from(cpu.usage()) * span;
                }
                covered += span;
                if ended {
                    break;
                }
            }
            Some(busy.iter().map(|b| (b / covered) as f32).collect())
        });
        Cores { stop, thread }
    }

    /// Each core's average busy percentage over the run (`None` if sysinfo could not tell).
    fn stop(self) -> Option<Vec<f32>> {
        let _ = self.stop.send(());
        self.thread.join().ok().flatten()
    }
}

/// One measured run.
struct Row {
    label: String,
    seconds: f64,
    /// CPU seconds the run used, in all its threads and processes.
    cpu: f64,
    speedup: f64,
    counts: Vec<u64>,
    cores: Option<Vec<f32>>,
}

/// Run `job` while watching the cores.
fn measure(label: String, job: impl FnOnce() -> Result<Vec<u64>>) -> Result<Row> {
    let cores = Cores::watch();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let counts = job();
    let (seconds, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let cores = cores.stop();
    let counts = counts?;
    if cancel::requested() {
        return Err(engine::Error::Interrupted.into());
    }
    Ok(Row {
        label,
        seconds,
        cpu,
        speedup: 1.0,
        counts,
        cores,
    })
}

/// CPU seconds used so far by this process (every thread) and by its children that have been
/// reaped (a pool's workers, once it has shut down).
fn cpu_seconds() -> f64 {
    let used = |who| {
        // SAFETY: getrusage only writes the struct we pass, which is valid for the call.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut usage) } != 0 {
            return 0.0;
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        secs(usage.ru_utime) + secs(usage.ru_stime)
    };
    used(libc::RUSAGE_SELF) + used(libc::RUSAGE_CHILDREN)
}

/// Split `FIRST..` into `parts` windows, sized so the serial run takes about `SERIAL_TARGET`.
fn size_the_job(parts: u64) -> Vec<Range<u64>> {
    let mut probe = 1_000;
    let per_number = loop {
        let start = Instant::now();
        count_primes(FIRST..FIRST + probe, None);
        let took = start.elapsed();
        if took >= Duration::from_millis(20) || probe >= 10_000_000 {
            break took.as_secs_f64() / probe as f64;
        }
        probe *= 2;
    };
    let width = (SERIAL_TARGET.as_secs_f64() / per_number / parts as f64 / 1000.0).round() as u64;
    let width = width.max(1) * 1000;
    (0..parts)
        .map(|i| FIRST + i * width..FIRST + (i + 1) * width)
        .collect()
}

pub fn run(_: &DemoArgs, out: Out) -> Result<()> {
    let me = current_process();
    let cores = engine::pool::default_workers();
    let n = cores.clamp(2, 8);
    let parts = size_the_job(n as u64);
    let (first, last) = (parts[0].start, parts[n - 1].end);
    writeln!(
        out,
        "{} the job: count the primes in {}..{}, split into {n} equal parts; {cores} cores here",
        term::tag(&me.name, me.pid),
        thousands(first),
        thousands(last)
    )?;
    writeln!(out, "{}", term::heading(&header()))?;
    let (tx, rx) = mpsc::channel();
    let gil = Gil::new(SWITCH_INTERVAL);

    let serial = measure("Rust, serial (one thread)".into(), || {
        Ok(parts
            .iter()
            .map(|p| count_primes(p.clone(), None))
            .collect())
    })?;
    show_row(out, &serial)?;
    let mut rows = vec![serial];
    let mut add = |row: Result<Row>| -> Result<()> {
        let mut row = row?;
        row.speedup = rows[0].seconds / row.seconds;
        show_row(out, &row)?;
        rows.push(row);
        Ok(())
    };
    add(measure(format!("Rust, {n} threads"), || {
        Ok(on_threads(&parts, None))
    }))?;
    add(measure(format!("Rust, {n} threads + GIL"), || {
        Ok(on_threads(&parts, Some(&gil)))
    }))?;
    add(measure(format!("Rust, {n} processes"), || {
        on_processes(&parts, &tx)
    }))?;
    drop(tx);
    show_workers(out, rx)?;

    let expected: u64 = rows[0].counts.iter().sum();
    for row in &rows {
        if row.counts != rows[0].counts {
            bail!(
                "{} counted {:?} but the serial run counted {:?}",
                row.label,
                row.counts,
                rows[0].counts
            );
        }
    }
    let python = python_rows(n, out)?;
    match &python {
        Some(p) => writeln!(
            out,
            "check: every Rust run counted {} primes, every Python run {} in its smaller job (Rust agrees)",
            thousands(expected),
            thousands(p.total)
        )?,
        None => writeln!(
            out,
            "check: every Rust run counted {} primes",
            thousands(expected)
        )?,
    }
    let speed = |i: usize| rows[i].speedup;
    let handovers = gil.handovers().max(1);
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "On {cores} cores, {n} threads ran {:.2}x and {n} processes {:.2}x as fast as serial; \
             the same threads under one lock ran {:.2}x: it changed hands {handovers} times, \
             every {:.1} ms, and only its holder computed.",
            speed(1),
            speed(3),
            speed(2),
            rows[2].seconds * 1000.0 / handovers as f64
        ))
    )?;
    let mut least = rows[0].cpu / rows[0].seconds;
    if let Some(p) = &python {
        let how = if p.gil {
            "its GIL lets one thread at a time run bytecode, as the simulated one does"
        } else {
            "this python3 runs without a GIL (a free-threaded build), so its threads can run in parallel"
        };
        writeln!(
            out,
            "{}",
            term::notice(&format!(
                "Python {}: threads {:.2}x, processes {:.2}x; {how}.",
                p.version, p.threads, p.processes
            ))
        )?;
        least = least.min(p.serial_cores);
    }
    if least < BUSY_MACHINE {
        writeln!(
            out,
            "{}",
            term::notice(&format!(
                "Other programs kept this machine busy (a serial run had only {least:.1} of a core): \
                 the speedups are rough; run the demo again when it is quieter."
            ))
        )?;
    }
    Ok(())
}

/// What Python's runs came to, for the closing notes.
struct PythonSummary {
    version: String,
    gil: bool,
    threads: f64,
    processes: f64,
    total: u64,
    /// How much of a core the serial run had.
    serial_cores: f64,
}

/// One JSON line from the Python script.
#[derive(Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum PyEvent {
    Start {
        version: String,
        gil: bool,
        start_method: String,
        pid: u32,
        parts: Vec<(u64, u64)>,
    },
    Begin {},
    End {
        variant: String,
        seconds: f64,
        cpu: f64,
        counts: Vec<u64>,
        pids: Vec<u32>,
    },
}

/// Run the same job on real Python threads and processes, printing rows as they finish.
fn python_rows(n: usize, out: Out) -> Result<Option<PythonSummary>> {
    let args = [n.to_string(), PYTHON_SERIAL_TARGET.to_string()];
    let Some(mut py) = python::start("procbook_gil.py", PYTHON_SCRIPT, &args, PYTHON_LIMIT)? else {
        writeln!(
            out,
            "python3 is not on the PATH: the Python rows are left out this time"
        )?;
        return Ok(None);
    };
    let mut summary = None;
    let mut parts = Vec::new();
    let mut serial: Option<Row> = None;
    let mut watching = None;
    let (mut threads, mut processes) = (0.0, 0.0);
    while let Some(line) = py.next_line()? {
        let event: PyEvent = serde_json::from_str(&line)
            .with_context(|| format!("reading python3's report: {line}"))?;
        match event {
            PyEvent::Start {
                version,
                gil,
                start_method,
                pid,
                parts: windows,
            } => {
                parts = windows;
                writeln!(
                    out,
                    "{} python3 {version} (GIL {}, start method {start_method}): the same job on {} numbers",
                    term::tag("python3", pid),
                    if gil { "on" } else { "off" },
                    thousands(parts.iter().map(|(a, b)| b - a).sum()),
                )?;
                summary = Some(PythonSummary {
                    version,
                    gil,
                    threads: 0.0,
                    processes: 0.0,
                    total: 0,
                    serial_cores: 1.0,
                });
            }
            PyEvent::Begin { .. } => watching = Some(Cores::watch()),
            PyEvent::End {
                variant,
                seconds,
                cpu,
                counts,
                pids,
            } => {
                let cores = watching.take().and_then(Cores::stop);
                let version = summary.as_ref().map_or("", |s| s.version.as_str());
                let label = match variant.as_str() {
                    "serial" => format!("Python {version}, serial"),
                    other => format!("Python, {n} {other}"),
                };
                let speedup = serial.as_ref().map_or(1.0, |s| s.seconds / seconds);
                let row = Row {
                    label,
                    seconds,
                    cpu,
                    speedup,
                    counts,
                    cores,
                };
                show_row(out, &row)?;
                if let Some(serial) = &serial
                    && serial.counts != row.counts
                {
                    bail!(
                        "{} counted {:?} but Python's serial run counted {:?}",
                        row.label,
                        row.counts,
                        serial.counts
                    );
                }
                if variant == "processes" {
                    let pids: Vec<String> = pids.iter().map(|p| format!("pid {p}")).collect();
                    writeln!(out, "    Python's pool workers: {}", pids.join(", "))?;
                }
                match variant.as_str() {
                    "serial" => serial = Some(row),
                    "threads" => threads = speedup,
                    _ => processes = speedup,
                }
                if let Some(serial) = &serial
                    && let Some(s) = &mut summary
                {
                    s.total = serial.counts.iter().sum();
                }
            }
        }
    }
    py.finish()?;
    let (Some(mut summary), Some(serial)) = (summary, serial) else {
        bail!("python3 stopped before reporting its runs");
    };
    // Python's answer, checked in Rust: the same windows, counted here.
    let ours: Vec<u64> = parts
        .iter()
        .map(|&(a, b)| count_primes(a..b, None))
        .collect();
    if ours != serial.counts {
        bail!(
            "python3 counted {:?} primes but Rust counts {ours:?} in the same windows",
            serial.counts
        );
    }
    summary.serial_cores = serial.cpu / serial.seconds;
    summary.threads = threads;
    summary.processes = processes;
    Ok(Some(summary))
}

/// Show which pool worker counted which part, from the pool's events.
fn show_workers(out: Out, events: mpsc::Receiver<Event>) -> Result<()> {
    let mut done = Vec::new();
    for event in events {
        if let Event::ChunkDone {
            name, pid, items, ..
        } = event
        {
            done.push((
                items.start,
                format!("{} part {}", term::tag(&name, pid), items.start + 1),
            ));
        }
    }
    done.sort();
    let done: Vec<String> = done.into_iter().map(|(_, s)| s).collect();
    writeln!(out, "    the pool's workers: {}", done.join(", "))?;
    Ok(())
}

const LABEL: usize = 26;

fn header() -> String {
    format!(
        "{:<LABEL$} {:>8} {:>8} {:>6}  {}",
        "run", "time", "speedup", "cores", "each core busy (whole machine)"
    )
}

fn show_row(out: Out, row: &Row) -> Result<()> {
    let bars = match &row.cores {
        Some(cores) => bars(cores),
        None => "(sysinfo could not read the cores)".into(),
    };
    writeln!(
        out,
        "{:<LABEL$} {:>6.3} s {:>7.2}x {:>6.1}  {bars}",
        row.label,
        row.seconds,
        row.speedup,
        row.cpu / row.seconds
    )?;
    out.flush()?;
    Ok(())
}

/// One bar per core: wide with a percentage for a few cores, one block each for many.
fn bars(cores: &[f32]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let width = match cores.len() {
        0..=2 => 10,
        3..=4 => 5,
        _ => 0,
    };
    if width == 0 {
        return cores
            .iter()
            .map(|&p| BLOCKS[((p / 100.0 * 7.0).round() as usize).min(7)])
            .collect();
    }
    cores
        .iter()
        .map(|&p| {
            let filled = ((p / 100.0 * width as f32).round() as usize).min(width);
            format!(
                "{}{} {:>3.0}%",
                "█".repeat(filled),
                "░".repeat(width - filled),
                p
            )
        })
        .collect::<Vec<_>>()
        .join("  ")
}
