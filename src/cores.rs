//! Per-core load, as sysinfo reads it from the kernel: each reading is every core's busy
//! percentage since the reading before. The whole machine's load, other programs' included.

use std::sync::mpsc::{self, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sysinfo::{CpuRefreshKind, RefreshKind, System};

/// The shortest gap between two readings that sysinfo tells apart (200 ms on Linux).
pub const INTERVAL: Duration = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;

/// Readings of every core's load, each against the one before (the first against [`Reader::new`]).
pub struct Reader(System);

impl Reader {
    pub fn new() -> Result<Reader> {
        System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_usage()),
        )
        .map(Reader)
        .context("reading the CPUs")
    }

    /// Each core's busy percentage since the last reading.
    pub fn read(&mut self) -> Vec<f32> {
        self.0.refresh_cpu_usage();
        self.0.cpus().iter().map(sysinfo::Cpu::usage).collect()
    }
}

/// Each core's load over one interval from now.
pub fn load_now() -> Result<Vec<f32>> {
    let mut reader = Reader::new()?;
    thread::sleep(INTERVAL);
    Ok(reader.read())
}

/// Per-core utilisation while something runs, sampled with sysinfo on a background thread.
/// sysinfo refreshes CPU usage at most every `MINIMUM_CPU_UPDATE_INTERVAL` (200 ms on Linux),
/// so that is the sampling period; a run shorter than one period gets one sample that ends a
/// little after it.
pub struct Watch {
    stop: Sender<()>,
    /// `None` if the system would not start the watching thread: the bars are left out.
    thread: Option<JoinHandle<Option<Vec<f32>>>>,
}

impl Watch {
    /// Start watching, on a thread of its own.
    pub fn start() -> Watch {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new().spawn(move || {
            let mut cores = Reader::new().ok()?;
            let period = INTERVAL;
            let mut last = Instant::now();
            let mut busy: Vec<f64> = Vec::new();
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
                let loads = cores.read();
                let span = last.elapsed().as_secs_f64();
                last = Instant::now();
                busy.resize(loads.len(), 0.0);
                for (total, load) in busy.iter_mut().zip(loads) {
                    *total += f64::from(load) * span;
                }
                covered += span;
                if ended {
                    break;
                }
            }
            Some(busy.iter().map(|b| (b / covered) as f32).collect())
        });
        Watch {
            stop,
            thread: thread.ok(),
        }
    }

    /// Each core's average busy percentage over the run (`None` if sysinfo could not tell).
    pub fn stop(self) -> Option<Vec<f32>> {
        let _ = self.stop.send(());
        self.thread?.join().ok().flatten()
    }
}
