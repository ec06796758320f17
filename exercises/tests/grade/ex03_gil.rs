//! Grades exercise 3: under one global lock, never more than one thread inside the work.
//!
//! The grader's own `work` counts who is inside it, and lingers there a moment so that,
//! without the lock, other threads would come in too. It counts; it does not time. It also
//! counts this process's threads (`/proc/self/task`) each time `work` is called, to see that
//! the threads were started at once, not one after another.

use crate::ex03_gil::run_under_gil;
use crate::learner::call;
use crate::message::fill;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::Duration;

const EXERCISE: &str = "ex03_gil";
const THREADS: usize = 4;
const STEPS: usize = 5;
/// How long `work` stays inside: long enough for an unlocked thread to come in meanwhile.
const LINGER: Duration = Duration::from_millis(2);

const CALLS: &str = "work was called {} times; {} threads doing {} steps each make {} calls.";
const THREAD_COUNT: &str = "work ran on {} thread(s) other than the caller's; start {} threads, \
each calling work.";
const INDICES: &str = "work was called with the indices {}; each thread passes its own index, \
0 to {}.";
const OVERLAP: &str = "{} threads were inside work at the same moment: take the GIL before every \
call to work and let it go only after, so only one thread works at a time.";
const ONE_AFTER_ANOTHER: &str = "your threads ran one after another: never more than one of them \
existed at a time. Start all of them first (thread::scope, then s.spawn in a loop), and let \
the GIL make them take turns.";
const MISCOUNTED: &str = "you counted at most {} thread(s) inside work at once, but there were {}: \
count a thread in just before it calls work and out just after, while it holds the GIL.";

/// What the grader's `work` saw.
#[derive(Default)]
struct Seen {
    inside: AtomicUsize,
    most: AtomicUsize,
    calls: AtomicUsize,
    threads: Mutex<HashSet<ThreadId>>,
    indices: Mutex<Vec<usize>>,
    /// The most threads this process had during a call to work.
    most_alive: AtomicUsize,
}

/// How many threads this process has now.
fn alive() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

pub fn check() -> Result<(), String> {
    let seen = Seen::default();
    let before = alive();
    let work = |i: usize| {
        seen.most_alive.fetch_max(alive(), Ordering::SeqCst);
        let now = seen.inside.fetch_add(1, Ordering::SeqCst) + 1;
        seen.most.fetch_max(now, Ordering::SeqCst);
        seen.calls.fetch_add(1, Ordering::SeqCst);
        lock(&seen.threads).insert(thread::current().id());
        lock(&seen.indices).push(i);
        thread::sleep(LINGER);
        seen.inside.fetch_sub(1, Ordering::SeqCst);
    };
    let counted = call(EXERCISE, "run_under_gil", || {
        run_under_gil(THREADS, STEPS, &work)
    })?;

    let calls = seen.calls.load(Ordering::SeqCst);
    if calls != THREADS * STEPS {
        return Err(fill(CALLS, &[&calls, &THREADS, &STEPS, &(THREADS * STEPS)]));
    }
    let mut threads = lock(&seen.threads).clone();
    threads.remove(&thread::current().id());
    if threads.len() != THREADS {
        return Err(fill(THREAD_COUNT, &[&threads.len(), &THREADS]));
    }
    let mut indices = lock(&seen.indices).clone();
    indices.sort_unstable();
    indices.dedup();
    if indices != (0..THREADS).collect::<Vec<_>>() {
        return Err(fill(INDICES, &[&format!("{indices:?}"), &(THREADS - 1)]));
    }
    // Started at once, THREADS threads exist together while the first works; one after
    // another, one does (and perhaps a joined one whose exit the kernel has not finished).
    if seen.most_alive.load(Ordering::SeqCst) < before + THREADS - 1 {
        return Err(ONE_AFTER_ANOTHER.into());
    }
    let most = seen.most.load(Ordering::SeqCst);
    if most > 1 {
        return Err(fill(OVERLAP, &[&most]));
    }
    if counted != most {
        return Err(fill(MISCOUNTED, &[&counted, &most]));
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
