//! Lesson 3, the GIL: one CPU-bound job (counting primes), run serially, on threads, on threads
//! that must share one lock handed over every 5 ms (a simulated GIL), and on processes; and, when
//! `python3` is on the PATH, on real Python threads and processes. The runs are interleaved in
//! rounds (A B C D A B C D ...), so that other work on a busy machine falls on every kind alike,
//! and each is reported by its median and spread. The first figure is *cores used* (CPU time
//! over wall time), which noise cannot fake: a thread under a GIL never gets more than one.

use std::ops::Range;
use std::sync::mpsc::{self, Sender};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::kit::{DemoArgs, Out};
use super::python;
use crate::cores::Watch;
use crate::engine::clock::Stamp;
use crate::engine::{self, Event, Pool, Task, cancel, current_process};
use crate::figure::handovers::{self, Handovers, Turn};
use crate::term::{self, thousands};

/// CPython's switch interval: `sys.getswitchinterval()` is 0.005.
pub const SWITCH_INTERVAL: Duration = Duration::from_millis(5);

/// The job starts far from 0, so that equal windows of numbers cost about the same to check.
const FIRST: u64 = 1_000_000_000;
/// How long the serial run should take; the job is sized to it on this machine and build.
const SERIAL_TARGET: Duration = Duration::from_millis(250);
/// The same for Python's serial run (Python's job is smaller: it checks numbers ~40x slower).
const PYTHON_SERIAL_TARGET: f64 = 0.25;
/// How many times each kind of run is repeated, interleaved with the others.
const ROUNDS: usize = 3;
/// A serial run that got less of a core than this was sharing the machine with other work.
const BUSY_MACHINE: f64 = 0.85;
/// Threads without a GIL that got fewer cores than this had no free cores to use.
const PARALLEL_AT_LEAST: f64 = 1.5;
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
fn on_threads(parts: &[Range<u64>], gil: Option<&Gil>) -> Result<Vec<u64>> {
    thread::scope(|s| {
        let mut threads = Vec::new();
        for part in parts {
            let thread = thread::Builder::new()
                .spawn_scoped(s, move || count_primes(part.clone(), gil))
                .map_err(|e| crate::limits::start_error("a thread", &e))?;
            threads.push(thread);
        }
        (threads.into_iter())
            .map(|t| t.join().map_err(|_| anyhow!("a counting thread panicked")))
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
    /// Each turn a thread held the lock, for the book's figure: the first [`MAX_TURNS`] since
    /// the log was last taken (one push per hand-over, under the lock already held then).
    turns: Vec<Turn>,
}

/// How many turns the log keeps: a round has a few hundred at a 5 ms switch interval.
const MAX_TURNS: usize = 4096;

impl GilState {
    /// Log the turn `tid` had since `took`, ending now.
    fn log(&mut self, tid: u32, took: Stamp) {
        if self.turns.len() < MAX_TURNS {
            self.turns.push(Turn {
                tid,
                from: took.0,
                to: Stamp::now().0,
            });
        }
    }
}

/// The lock, held by one thread: released when dropped.
pub struct Held<'g> {
    gil: &'g Gil,
    since: Instant,
    steps: u32,
    /// This thread's id (gettid), and when it took the lock this turn.
    tid: u32,
    took: Stamp,
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
            // SAFETY: gettid has no arguments and cannot fail.
            tid: unsafe { libc::gettid() } as u32,
            took: Stamp::now(),
        }
    }

    /// The turns logged since the last call, emptying the log.
    pub fn take_turns(&self) -> Vec<Turn> {
        std::mem::take(&mut self.state().turns)
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
    /// Called between steps of work, as CPython checks at calls and loop jumps: once the
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
            state.log(self.tid, self.took);
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
            self.took = Stamp::now();
        }
        self.since = Instant::now();
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut state = self.gil.state();
        state.log(self.tid, self.took);
        state.held = false;
        self.gil.turn.notify_all();
    }
}

/// Which language ran a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Rust,
    Python,
}

/// How a job was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    #[serde(rename = "serial")]
    Serial,
    #[serde(rename = "threads")]
    Threads,
    #[serde(rename = "threads+gil")]
    ThreadsGil,
    #[serde(rename = "processes")]
    Processes,
}

/// One way of running the job, over every round: medians and spread. The text and the JSON
/// (`demo gil --json`) are both made from these.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub lang: Lang,
    pub kind: Kind,
    /// Median wall time over the rounds.
    pub seconds: f64,
    pub seconds_min: f64,
    pub seconds_max: f64,
    /// The serial run's median time over this run's median time (same language).
    pub speedup: f64,
    /// Median over the rounds of CPU time over wall time: how many cores the run really had.
    pub cores_used: f64,
    pub rounds: usize,
    /// Each core's busy percentage (whole machine), averaged over the rounds.
    #[serde(skip)]
    pub machine: Option<Vec<f32>>,
    #[serde(skip)]
    pub label: String,
}

/// Which python3 ran its side.
#[derive(Debug, Clone, Serialize)]
pub struct PythonInfo {
    pub version: String,
    pub gil: bool,
    pub start_method: String,
}

/// The whole run of `demo gil`.
#[derive(Debug, Clone, Serialize)]
pub struct GilReport {
    pub runs: Vec<RunSummary>,
    /// Other work kept the machine too busy for the speedups to show the lesson.
    pub busy: bool,
    pub python: Option<PythonInfo>,
    /// How many cores this machine has, and the number of parts each job was split into.
    pub cores: usize,
    pub parts: usize,
    #[serde(skip)]
    notes: Notes,
}

/// What the text says besides the table (not part of the JSON).
#[derive(Debug, Clone, Default)]
struct Notes {
    first: u64,
    last: u64,
    primes: u64,
    python_numbers: u64,
    python_primes: u64,
    handovers: u64,
    gil_seconds: f64,
    rust_workers: Vec<String>,
    /// The simulated GIL's turns in the last round, for the book's figure.
    turns: Handovers,
    python_workers: Vec<u32>,
    python_missing: bool,
}

/// One round of one kind of run.
struct Sample {
    seconds: f64,
    /// CPU seconds the run used, in all its threads and processes.
    cpu: f64,
    counts: Vec<u64>,
    machine: Option<Vec<f32>>,
}

/// Run `job` while watching the cores.
fn measure(job: impl FnOnce() -> Result<Vec<u64>>) -> Result<Sample> {
    let cores = Watch::start();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let counts = job();
    let (seconds, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let machine = cores.stop();
    let counts = counts?;
    if cancel::requested() {
        return Err(engine::Error::Interrupted.into());
    }
    Ok(Sample {
        seconds,
        cpu,
        counts,
        machine,
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

/// Split `FIRST..` into `parts` windows, sized so that checking them all on one thread takes
/// about `serial` on this machine and build.
pub fn size_the_job(parts: u64, serial: Duration) -> Vec<Range<u64>> {
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
    let width = (serial.as_secs_f64() / per_number / parts as f64 / 1000.0).round() as u64;
    let width = width.max(1) * 1000;
    (0..parts)
        .map(|i| FIRST + i * width..FIRST + (i + 1) * width)
        .collect()
}

/// The middle value (the mean of the two middle ones for an even count); 0 for none.
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Medians and spread of one kind's samples; `speedup` is filled in once serial is known.
fn summarise(lang: Lang, kind: Kind, label: String, samples: &[Sample]) -> RunSummary {
    let seconds: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    let cores: Vec<f64> = samples
        .iter()
        .map(|s| s.cpu / s.seconds.max(1e-9))
        .collect();
    let machines: Vec<&Vec<f32>> = samples.iter().filter_map(|s| s.machine.as_ref()).collect();
    let machine = machines.first().map(|first| {
        (0..first.len())
            .map(|i| machines.iter().map(|m| m[i]).sum::<f32>() / machines.len() as f32)
            .collect()
    });
    RunSummary {
        lang,
        kind,
        seconds: median(&seconds),
        seconds_min: seconds.iter().copied().fold(f64::INFINITY, f64::min),
        seconds_max: seconds.iter().copied().fold(0.0, f64::max),
        speedup: 1.0,
        cores_used: median(&cores),
        rounds: samples.len(),
        machine,
        label,
    }
}

/// Fill in each run's speedup over its own language's serial run.
fn speedups(runs: &mut [RunSummary]) {
    for lang in [Lang::Rust, Lang::Python] {
        let Some(serial) = (runs.iter())
            .find(|r| r.lang == lang && r.kind == Kind::Serial)
            .map(|r| r.seconds)
        else {
            continue;
        };
        for run in runs.iter_mut().filter(|r| r.lang == lang) {
            run.speedup = serial / run.seconds.max(1e-9);
        }
    }
}

/// Every Rust run must count what the serial one counted.
fn same_counts(label: &str, samples: &[Sample], expected: &[u64]) -> Result<()> {
    for s in samples {
        if s.counts != expected {
            bail!(
                "{label} counted {:?} but the serial run counted {expected:?}",
                s.counts
            );
        }
    }
    Ok(())
}

/// Run every way of doing the job, interleaved in rounds, in Rust and then in Python; `say`
/// hears a line of progress before each round (the text shows them, the JSON does not).
pub fn measure_all(cores: usize, say: &mut dyn FnMut(String) -> Result<()>) -> Result<GilReport> {
    let n = cores.clamp(2, 8);
    let parts = size_the_job(n as u64, SERIAL_TARGET);
    let gil = Gil::new(SWITCH_INTERVAL);
    let kinds = [
        (Kind::Serial, "Rust, serial (one thread)".to_string()),
        (Kind::Threads, format!("Rust, {n} threads")),
        (Kind::ThreadsGil, format!("Rust, {n} threads + GIL")),
        (Kind::Processes, format!("Rust, {n} processes")),
    ];
    let mut samples: Vec<Vec<Sample>> = kinds.iter().map(|_| Vec::new()).collect();
    let mut rust_workers = Vec::new();
    let mut turns = Handovers::default();
    for round in 1..=ROUNDS {
        say(format!(
            "measuring Rust, round {round} of {ROUNDS}: serial, threads, threads + GIL, processes"
        ))?;
        for (i, (kind, _)) in kinds.iter().enumerate() {
            let sample = match kind {
                Kind::Serial => measure(|| {
                    Ok(parts
                        .iter()
                        .map(|p| count_primes(p.clone(), None))
                        .collect())
                })?,
                Kind::Threads => measure(|| on_threads(&parts, None))?,
                Kind::ThreadsGil => {
                    // The log is read outside the timed run; writing it costs a push per
                    // hand-over, made while the hand-over already holds the state's lock.
                    let _ = gil.take_turns();
                    let before = gil.handovers();
                    let sample = measure(|| on_threads(&parts, Some(&gil)))?;
                    turns = Handovers {
                        interval_ms: SWITCH_INTERVAL.as_secs_f64() * 1000.0,
                        seconds: sample.seconds,
                        handovers: gil.handovers() - before,
                        turns: gil.take_turns(),
                    };
                    sample
                }
                Kind::Processes => {
                    let (tx, rx) = mpsc::channel();
                    let sample = measure(|| on_processes(&parts, &tx))?;
                    drop(tx);
                    rust_workers = workers(rx);
                    sample
                }
            };
            samples[i].push(sample);
        }
    }
    let expected = samples[0][0].counts.clone();
    for ((_, label), s) in kinds.iter().zip(&samples) {
        same_counts(label, s, &expected)?;
    }
    let gil_seconds: f64 = samples[2].iter().map(|s| s.seconds).sum();
    let mut runs: Vec<RunSummary> = kinds
        .into_iter()
        .zip(&samples)
        .map(|((kind, label), s)| summarise(Lang::Rust, kind, label, s))
        .collect();
    let mut notes = Notes {
        first: parts[0].start,
        last: parts[n - 1].end,
        primes: expected.iter().sum(),
        handovers: gil.handovers().max(1),
        gil_seconds,
        rust_workers,
        turns,
        ..Notes::default()
    };
    let python = match python_runs(n, say)? {
        Some(py) => {
            notes.python_numbers = py.numbers;
            notes.python_primes = py.primes;
            notes.python_workers = py.workers;
            runs.extend(py.runs);
            Some(py.info)
        }
        None => {
            notes.python_missing = true;
            None
        }
    };
    speedups(&mut runs);
    let busy = too_busy(&runs, cores);
    Ok(GilReport {
        runs,
        busy,
        python,
        cores,
        parts: n,
        notes,
    })
}

/// Was the machine too busy for the speedups to show the lesson? Yes if a serial run had
/// clearly less than one core, or Rust's threads (no GIL) could not get even one and a half.
fn too_busy(runs: &[RunSummary], cores: usize) -> bool {
    let find = |lang, kind| runs.iter().find(|r| r.lang == lang && r.kind == kind);
    let starved_serial = (runs.iter())
        .filter(|r| r.kind == Kind::Serial)
        .any(|r| r.cores_used < BUSY_MACHINE);
    let starved_threads = cores >= 2
        && find(Lang::Rust, Kind::Threads).is_some_and(|r| r.cores_used < PARALLEL_AT_LEAST);
    starved_serial || starved_threads
}

fn find(report: &GilReport, lang: Lang, kind: Kind) -> Option<&RunSummary> {
    report
        .runs
        .iter()
        .find(|r| r.lang == lang && r.kind == kind)
}

pub fn run(args: &DemoArgs, out: Out) -> Result<()> {
    let cores = engine::pool::default_workers();
    if args.json {
        let report = measure_all(cores, &mut |_| Ok(()))?;
        crate::figure::record::result("gil", &report);
        crate::figure::record::result(handovers::DEMO, &report.notes.turns);
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    let me = current_process();
    writeln!(
        out,
        "{} each kind of run is repeated {ROUNDS} times, interleaved (serial, threads, \
         threads + GIL, processes, serial, ...), so other work on the machine falls on every kind alike",
        term::tag(&me.name, me.pid),
    )?;
    out.flush()?;
    let report = measure_all(cores, &mut |line| {
        writeln!(out, "{line}")?;
        out.flush()?;
        Ok(())
    })?;
    // The book's figure is drawn from this same run (a no-op unless a capture records it).
    crate::figure::record::result("gil", &report);
    crate::figure::record::result(handovers::DEMO, &report.notes.turns);
    show(&report, out)
}

/// The text of a finished run: the verdict first, then the job, the table and the notes.
pub fn show(report: &GilReport, out: Out) -> Result<()> {
    let (n, cores, notes) = (report.parts, report.cores, &report.notes);
    let cores_of = |lang, kind| find(report, lang, kind).map_or(0.0, |r| r.cores_used);
    let gil_cores = cores_of(Lang::Rust, Kind::ThreadsGil);
    // Python's threads are under a GIL only if this python3 has one (not a free-threaded build).
    let py_threads = find(report, Lang::Python, Kind::Threads)
        .filter(|_| report.python.as_ref().is_some_and(|p| p.gil))
        .map(|r| r.cores_used);
    let under_gil = match py_threads {
        Some(py) => format!(
            "Python's threads used {py:.2} of a core and Rust's threads under the simulated GIL {gil_cores:.2}"
        ),
        None => format!("Rust's threads under the simulated GIL used {gil_cores:.2} of a core"),
    };
    if report.busy {
        let serial = cores_of(Lang::Rust, Kind::Serial);
        let threads = cores_of(Lang::Rust, Kind::Threads);
        writeln!(
            out,
            "{}",
            term::notice(&format!(
                "This machine was too busy with other work to show the speedups: Rust's serial run had \
                 {serial:.2} of a core and its {n} threads only {threads:.2} cores, so threads and \
                 processes had no free cores to gain from. What noise cannot fake still shows: {under_gil}; \
                 a thread under a GIL cannot use more than one core however busy the machine is. \
                 Run the demo again when the machine is quieter to see the speedups."
            ))
        )?;
    }
    writeln!(
        out,
        "the job: count the primes in {}..{}, split into {n} equal parts; {cores} cores here; \
         medians of {ROUNDS} interleaved rounds",
        thousands(notes.first),
        thousands(notes.last)
    )?;
    writeln!(out, "{}", term::heading(&header()))?;
    for row in &report.runs {
        show_row(out, row)?;
        if row.lang == Lang::Rust && row.kind == Kind::Processes {
            writeln!(
                out,
                "    the pool's workers (last round): {}",
                notes.rust_workers.join(", ")
            )?;
        }
        if row.lang == Lang::Python && row.kind == Kind::Processes {
            let pids: Vec<String> = (notes.python_workers.iter())
                .map(|p| format!("pid {p}"))
                .collect();
            writeln!(
                out,
                "    Python's pool workers (last round): {}",
                pids.join(", ")
            )?;
        }
    }
    match (&report.python, notes.python_missing) {
        (Some(py), _) => writeln!(
            out,
            "check: every Rust run counted {} primes; every Python run (python3 {}, GIL {}, start method {}) \
             {} in its smaller job of {} numbers (Rust agrees)",
            thousands(notes.primes),
            py.version,
            if py.gil { "on" } else { "off" },
            py.start_method,
            thousands(notes.python_primes),
            thousands(notes.python_numbers)
        )?,
        (None, true) => writeln!(
            out,
            "check: every Rust run counted {} primes (python3 is not on the PATH: the Python rows are left out)",
            thousands(notes.primes)
        )?,
        (None, false) => writeln!(
            out,
            "check: every Rust run counted {} primes",
            thousands(notes.primes)
        )?,
    }
    let speed = |kind| find(report, Lang::Rust, kind).map_or(0.0, |r| r.speedup);
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "Cores used: {under_gil}. Rust's {n} threads used {:.2} cores and its {n} processes {:.2}.",
            cores_of(Lang::Rust, Kind::Threads),
            cores_of(Lang::Rust, Kind::Processes),
        ))
    )?;
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "Speed: {n} threads ran {:.2}x and {n} processes {:.2}x as fast as serial; the same threads \
             under one lock ran {:.2}x: it changed hands {} times, every {:.1} ms, and only its holder computed.",
            speed(Kind::Threads),
            speed(Kind::Processes),
            speed(Kind::ThreadsGil),
            notes.handovers,
            notes.gil_seconds * 1000.0 / notes.handovers as f64
        ))
    )?;
    if let Some(py) = &report.python {
        let speed = |kind| find(report, Lang::Python, kind).map_or(0.0, |r| r.speedup);
        let how = if py.gil {
            "its GIL lets one thread at a time run bytecode, as the simulated one does"
        } else {
            "this python3 runs without a GIL (a free-threaded build), so its threads can run in parallel"
        };
        writeln!(
            out,
            "{}",
            term::notice(&format!(
                "Python {}: threads {:.2}x, processes {:.2}x; {how}.",
                py.version,
                speed(Kind::Threads),
                speed(Kind::Processes)
            ))
        )?;
    }
    Ok(())
}

/// What Python's runs came to.
struct PythonRuns {
    info: PythonInfo,
    runs: Vec<RunSummary>,
    numbers: u64,
    primes: u64,
    workers: Vec<u32>,
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
    Begin {
        variant: String,
        round: usize,
    },
    End {
        variant: String,
        seconds: f64,
        cpu: f64,
        counts: Vec<u64>,
        pids: Vec<u32>,
    },
}

/// Run the same job on real Python threads and processes, interleaved in rounds.
fn python_runs(n: usize, say: &mut dyn FnMut(String) -> Result<()>) -> Result<Option<PythonRuns>> {
    let args = [
        n.to_string(),
        PYTHON_SERIAL_TARGET.to_string(),
        ROUNDS.to_string(),
    ];
    let Some(mut py) = python::start("procbook_gil.py", PYTHON_SCRIPT, &args, PYTHON_LIMIT)? else {
        return Ok(None);
    };
    let mut info = None;
    let mut parts = Vec::new();
    let kinds = [Kind::Serial, Kind::Threads, Kind::Processes];
    let mut samples: Vec<Vec<Sample>> = kinds.iter().map(|_| Vec::new()).collect();
    let mut watching = None;
    let mut workers = Vec::new();
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
                say(format!(
                    "{} measuring python3 {version} (GIL {}, start method {start_method}): \
                     the same job on {} numbers, {ROUNDS} rounds",
                    term::tag("python3", pid),
                    if gil { "on" } else { "off" },
                    thousands(windows.iter().map(|(a, b)| b - a).sum()),
                ))?;
                parts = windows;
                info = Some(PythonInfo {
                    version,
                    gil,
                    start_method,
                });
            }
            PyEvent::Begin { variant, round } => {
                if variant == "serial" {
                    say(format!(
                        "measuring Python, round {} of {ROUNDS}: serial, threads, processes",
                        round + 1
                    ))?;
                }
                watching = Some(Watch::start());
            }
            PyEvent::End {
                variant,
                seconds,
                cpu,
                counts,
                pids,
            } => {
                let machine = watching.take().and_then(Watch::stop);
                let i = match variant.as_str() {
                    "serial" => 0,
                    "threads" => 1,
                    "processes" => {
                        workers = pids;
                        2
                    }
                    other => bail!("python3 reported an unknown run '{other}'"),
                };
                samples[i].push(Sample {
                    seconds,
                    cpu,
                    counts,
                    machine,
                });
            }
        }
    }
    py.finish()?;
    let Some(info) = info else {
        bail!("python3 stopped before reporting its runs");
    };
    if samples.iter().any(Vec::is_empty) {
        bail!("python3 stopped before reporting every run");
    }
    // Python's answer, checked in Rust: the same windows, counted here.
    let ours: Vec<u64> = parts
        .iter()
        .map(|&(a, b)| count_primes(a..b, None))
        .collect();
    for (kind, s) in kinds.iter().zip(&samples) {
        same_counts(&format!("Python's {kind:?} run"), s, &ours)?;
    }
    let version = info.version.clone();
    let runs = kinds
        .into_iter()
        .zip(&samples)
        .map(|(kind, s)| {
            let label = match kind {
                Kind::Serial => format!("Python {version}, serial"),
                Kind::Threads => format!("Python, {n} threads"),
                _ => format!("Python, {n} processes"),
            };
            summarise(Lang::Python, kind, label, s)
        })
        .collect();
    Ok(Some(PythonRuns {
        info,
        runs,
        numbers: parts.iter().map(|(a, b)| b - a).sum(),
        primes: ours.iter().sum(),
        workers,
    }))
}

/// Which pool worker counted which part, from the pool's events.
fn workers(events: mpsc::Receiver<Event>) -> Vec<String> {
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
    done.into_iter().map(|(_, s)| s).collect()
}

const LABEL: usize = 26;

/// Columns before the bars in a row.
const ROW_START: usize = LABEL + 45;

fn header() -> String {
    // A row stays one line at the terminal's width (see term::fit): say less on a narrow one.
    let busy = match crate::term::width().saturating_sub(ROW_START) {
        30.. => "each core busy (whole machine)",
        14.. => "each core busy",
        _ => "cores",
    };
    format!(
        "{:<LABEL$} {:>10} {:>8} {:>8} {:>13}  {busy}",
        "run", "cores used", "time", "speedup", "time min-max"
    )
}

fn show_row(out: Out, row: &RunSummary) -> Result<()> {
    let bars = match &row.machine {
        Some(cores) => bars(cores),
        None => "(sysinfo could not read the cores)".into(),
    };
    writeln!(
        out,
        "{:<LABEL$} {:>10.2} {:>6.3} s {:>7.2}x {:>13}  {bars}",
        row.label,
        row.cores_used,
        row.seconds,
        row.speedup,
        format!("{:.2}-{:.2} s", row.seconds_min, row.seconds_max),
    )?;
    out.flush()?;
    Ok(())
}

/// One bar per core: wide with a percentage for a few cores, one block each for many.
fn bars(cores: &[f32]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    // Narrower bars where the terminal is narrow: `██░ 100%  ` is width + 7 columns.
    let room =
        (crate::term::width().saturating_sub(ROW_START) / cores.len().max(1)).saturating_sub(7);
    let width = match cores.len() {
        0..=2 => 10,
        3..=4 => 5,
        _ => 0,
    }
    .min(room);
    let width = if width < 3 { 0 } else { width };
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

/// The task a pool worker runs for `demo gil` and `demo sys`: count the primes in a window.
pub static COUNT_PRIMES: Task<Range<u64>, u64> = Task::new("count_primes", count_primes_task);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lang: Lang, kind: Kind, seconds: f64, cores_used: f64) -> RunSummary {
        RunSummary {
            lang,
            kind,
            seconds,
            seconds_min: seconds,
            seconds_max: seconds,
            speedup: 1.0,
            cores_used,
            rounds: 3,
            machine: None,
            label: String::new(),
        }
    }

    #[test]
    fn median_takes_the_middle_and_averages_an_even_pair() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn json_names_the_runs_as_the_design_says() {
        let report = GilReport {
            runs: vec![run(Lang::Rust, Kind::ThreadsGil, 1.0, 1.0)],
            busy: false,
            python: None,
            cores: 2,
            parts: 2,
            notes: Notes::default(),
        };
        let json: serde_json::Value = serde_json::to_value(&report).unwrap_or_default();
        let first = &json["runs"][0];
        assert_eq!(first["lang"], "rust");
        assert_eq!(first["kind"], "threads+gil");
        for field in ["seconds", "speedup", "cores_used"] {
            assert!(first[field].is_number(), "{field} in {json}");
        }
        assert_eq!(json["busy"], false);
    }

    #[test]
    fn busy_when_serial_is_starved_or_threads_get_no_second_core() {
        let quiet = [
            run(Lang::Rust, Kind::Serial, 1.0, 0.99),
            run(Lang::Rust, Kind::Threads, 0.5, 1.95),
        ];
        assert!(!too_busy(&quiet, 2));
        let starved = [
            run(Lang::Rust, Kind::Serial, 1.0, 0.5),
            run(Lang::Rust, Kind::Threads, 0.5, 1.95),
        ];
        assert!(too_busy(&starved, 2));
        let one_core_for_threads = [
            run(Lang::Rust, Kind::Serial, 1.0, 0.99),
            run(Lang::Rust, Kind::Threads, 1.0, 1.1),
        ];
        assert!(too_busy(&one_core_for_threads, 2));
        assert!(
            !too_busy(&one_core_for_threads, 1),
            "one core cannot give two"
        );
    }

    #[test]
    fn speedups_compare_each_language_with_its_own_serial_run() {
        let mut runs = vec![
            run(Lang::Rust, Kind::Serial, 1.0, 1.0),
            run(Lang::Rust, Kind::Threads, 0.5, 2.0),
            run(Lang::Python, Kind::Serial, 4.0, 1.0),
            run(Lang::Python, Kind::Processes, 2.0, 2.0),
        ];
        speedups(&mut runs);
        let got: Vec<f64> = runs.iter().map(|r| r.speedup).collect();
        assert_eq!(got, vec![1.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    fn the_gil_logs_turns_that_never_overlap_and_change_hands() {
        let gil = Gil::new(Duration::from_millis(1));
        let parts = [1_000_000..1_060_000, 2_000_000..2_060_000];
        let counts = on_threads(&parts, Some(&gil)).unwrap();
        let serial: Vec<u64> = parts
            .iter()
            .map(|p| count_primes(p.clone(), None))
            .collect();
        assert_eq!(counts, serial);
        let mut turns = gil.take_turns();
        assert!(
            gil.take_turns().is_empty(),
            "taking the turns empties the log"
        );
        turns.sort_by_key(|t| t.from);
        // Every turn ends in a hand-over, but each thread's last, which ends when it finishes.
        assert_eq!(
            turns.len() as u64,
            gil.handovers() + parts.len() as u64,
            "{turns:?}"
        );
        for pair in turns.windows(2) {
            assert!(
                pair[0].to <= pair[1].from,
                "two threads held it at once: {pair:?}"
            );
        }
        let tids: std::collections::BTreeSet<u32> = turns.iter().map(|t| t.tid).collect();
        assert_eq!(tids.len(), 2, "{turns:?}");
    }
}
