//! Grades exercise 6: a pool of worker processes, fed through pipes, results in input order.

use crate::WORKER;
use crate::evidence::{acts, clear_worker_log, hold, impostors, patience, seen, unjoined};
use crate::ex06_pool_map::pool_map;
use crate::learner::call;
use crate::message::fill;
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const EXERCISE: &str = "ex06_pool_map";
const WORKERS: usize = 4;
/// Varied, with repeats, so that results in the wrong order cannot pass.
const ITEMS: [u64; 20] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];

const FEW_WORKERS: &str = "only {} of the {} workers got work (PID {}): a pool hands its items out \
to every worker, for instance item i to worker i % {}.";
const STARTED: &str = "{} worker processes ran for a pool of {}: start exactly `workers` of them.";
const ONE_AT_A_TIME: &str = "your workers ran one at a time: the first was still waiting for the \
others {} ms after it started. A pool's workers run at the same time: start them all, hand out \
the items, and only then read the answers.";
const ERROR: &str = "pool_map returned an error: {}";
const COUNT: &str = "pool_map returned {} results for {} items: one result per item.";
const ORDER: &str = "the right squares, in the wrong order: result i must be the square of item \
i, whichever worker computed it. Remember which worker got each item.";
const WRONG: &str = "result {} is {}, but item {} is {}, whose square is {}.";
const TOO_MANY_WORKERS: &str = "you started {} worker processes for a pool of {}: a pool starts its \
workers once, and gives each of them many items.";
const IN_PARENT: &str = "only {} of the {} items were squared by a worker process: send every \
item to a worker, one number a line on its stdin, and read the square back from its stdout.";
const ONE_WORKER: &str = "only one worker (PID {}) did any work: hand the items out to every \
worker, for instance item i to worker i % {}.";
const NOT_JOINED: &str = "{} of the workers (PID {}) were never joined: close each worker's stdin \
so it finishes, then wait() for it.";

pub fn check() -> Result<(), String> {
    clear_worker_log();
    hold(WORKERS, patience());
    let started = AtomicUsize::new(0);
    let spawn_worker = || {
        started.fetch_add(1, Ordering::SeqCst);
        let mut command = Command::new(WORKER);
        command.arg("square");
        command
    };
    let results = call(EXERCISE, "pool_map", || {
        pool_map(&spawn_worker, WORKERS, &ITEMS)
    })?
    .map_err(|e| fill(ERROR, &[&e]))?;

    let expected: Vec<u64> = ITEMS.iter().map(|n| n * n).collect();
    if results.len() != ITEMS.len() {
        return Err(fill(COUNT, &[&results.len(), &ITEMS.len()]));
    }
    if results != expected {
        let (mut sorted, mut want) = (results.clone(), expected.clone());
        sorted.sort_unstable();
        want.sort_unstable();
        if sorted == want {
            return Err(ORDER.into());
        }
        let i = (0..ITEMS.len())
            .find(|&i| results[i] != expected[i])
            .unwrap_or(0);
        return Err(fill(WRONG, &[&i, &results[i], &i, &ITEMS[i], &expected[i]]));
    }

    let started = started.load(Ordering::SeqCst);
    if started > WORKERS {
        return Err(fill(TOO_MANY_WORKERS, &[&started, &WORKERS]));
    }
    let squared = acts("square");
    if squared.len() < ITEMS.len() {
        return Err(fill(IN_PARENT, &[&squared.len(), &ITEMS.len()]));
    }
    let seen = seen();
    if let Some(impostors) = impostors(&seen) {
        return Err(impostors);
    }
    let busy: BTreeSet<u32> = squared.iter().map(|(act, _)| act.pid).collect();
    if busy.len() < 2 {
        let pid = busy.first().copied().unwrap_or(0);
        return Err(fill(ONE_WORKER, &[&pid, &WORKERS]));
    }
    if seen.workers.len() != WORKERS {
        return Err(fill(STARTED, &[&seen.workers.len(), &WORKERS]));
    }
    if busy.len() < WORKERS {
        let pids: Vec<String> = busy.iter().map(u32::to_string).collect();
        return Err(fill(
            FEW_WORKERS,
            &[&busy.len(), &WORKERS, &pids.join(", "), &WORKERS],
        ));
    }
    if seen.workers.iter().any(|w| w.release == "timeout") {
        return Err(fill(ONE_AT_A_TIME, &[&patience().as_millis()]));
    }
    let busy: Vec<u32> = busy.into_iter().collect();
    let waiting = unjoined(&busy);
    if !waiting.is_empty() {
        let pids: Vec<String> = waiting.iter().map(u32::to_string).collect();
        return Err(fill(NOT_JOINED, &[&waiting.len(), &pids.join(", ")]));
    }
    Ok(())
}
