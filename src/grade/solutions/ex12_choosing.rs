//! Exercise 12: threads or processes? Choose, and say why.
//!
//! Book: chapter 11, "What processes cost" (book/src/11-costs.md).
//!
//! A reference solution. In Python, any computing at all needs processes to use more than one
//! core; pure waiting is cheaper on threads. In Rust, threads do both.

/// What a task spends its time on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Mostly computing.
    CpuBound,
    /// Mostly waiting.
    IoBound,
    /// Some of each.
    Mixed,
}

/// The language the task is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Rust,
}

/// What to run the tasks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Threads,
    Processes,
}

/// Why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Only the thread holding the GIL runs Python code, so computing threads take turns on
    /// one core; separate processes each have their own interpreter and GIL, and compute on
    /// all cores at once.
    GilSerializesComputing,
    /// A Python thread lets go of the GIL while it waits, so many threads can wait at once,
    /// and threads cost less to start and to talk to than processes.
    WaitingReleasesGil,
    /// Rust has no GIL: threads compute on every core at once, and share memory without
    /// copying it through a pipe.
    NoGil,
    /// Processes share nothing, so they can never have a race condition or a deadlock.
    ProcessesCannotRace,
    /// More processes always finish sooner.
    MoreProcessesAreAlwaysFaster,
}

/// Sorts a task by its time spent computing and waiting.
pub fn classify(cpu_ms: u64, wait_ms: u64) -> Workload {
    if cpu_ms >= wait_ms.saturating_mul(4) {
        Workload::CpuBound
    } else if wait_ms >= cpu_ms.saturating_mul(4) {
        Workload::IoBound
    } else {
        Workload::Mixed
    }
}

/// Picks threads or processes for `workload` in `language`, with the reason.
pub fn choose(workload: Workload, language: Language) -> (Pick, Reason) {
    match (language, workload) {
        (Language::Rust, _) => (Pick::Threads, Reason::NoGil),
        (Language::Python, Workload::IoBound) => (Pick::Threads, Reason::WaitingReleasesGil),
        (Language::Python, Workload::CpuBound | Workload::Mixed) => {
            (Pick::Processes, Reason::GilSerializesComputing)
        }
    }
}
