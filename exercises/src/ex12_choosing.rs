//! Exercise 12: threads or processes? Choose, and say why.
//!
//! Book: chapter 11, "What processes cost" (book/src/11-costs.md).
//!
//! A task that mostly computes is CPU-bound: it goes faster only with more cores working. A
//! task that mostly waits (for the disk, the network, a database) is I/O-bound: while it
//! waits, it needs no core at all. In Python the GIL lets one thread compute at a time, but a
//! thread that waits lets go of the GIL. Rust has no GIL.
//!
//! Your task:
//!
//! 1. `classify` sorts a task by how long it computes (`cpu_ms`) and waits (`wait_ms`): it is
//!    CPU-bound if it computes at least 4 times as long as it waits, I/O-bound if it waits at
//!    least 4 times as long as it computes, and mixed otherwise.
//! 2. `choose` picks threads or processes for a workload in a language, and gives the reason,
//!    one of [`Reason`]'s: read each one, and mind that some are myths.
//!
//! Check your work: `procbook check 12` (or `cargo test -p exercises --test ex12_choosing`).
//! Stuck? `procbook hint 12`, and again for the next step.

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
    todo!()
}

/// Picks threads or processes for `workload` in `language`, with the reason.
pub fn choose(workload: Workload, language: Language) -> (Pick, Reason) {
    todo!()
}
