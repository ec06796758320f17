//! Grades exercise 11: one worker aborts; every other result is kept and the crash reported.

use crate::WORKER;
use crate::evidence::{acts, clear_worker_log, impostors, seen, unjoined, worker_log};
use crate::ex11_crash_isolation::{Crash, map_isolated};
use crate::learner::call;
use crate::message::fill;
use std::process::Command;

const EXERCISE: &str = "ex11_crash_isolation";
const UNLUCKY: u64 = 13;
const ITEMS: [u64; 7] = [4, 8, 15, UNLUCKY, 16, 23, 42];
/// Python's exitcode for a process killed by SIGABRT (signal 6).
const ABORTED: i32 = -6;

const GAVE_UP: &str = "map_isolated returned an error when one worker crashed ({}): keep the \
other results, and report the crash as Err(Crash { exitcode }) for its own item.";
const COUNT: &str = "map_isolated returned {} results for {} items: one per item, crashed or not.";
const LOST: &str = "item {} ({}) was squared fine by its worker, but you reported {}: one crash \
must cost only its own item's result. Give each item a worker of its own.";
const WRONG: &str = "result {} is {}, but the square of {} is {}.";
const NOT_REPORTED: &str = "the worker for item {} ({}) aborted, but you reported {}: report it as \
Err(Crash { exitcode: -6 }).";
const EXITCODE: &str = "the worker for {} was killed by SIGABRT (signal 6), which Python reports \
as exitcode -6; you reported {}. Use status.code(), or minus status.signal() when it is None.";
const IN_PARENT: &str = "only {} of the {} items that could be squared were squared by a worker \
process: each item goes to a worker.";
const SHARED_WORKER: &str = "the worker with PID {} was given {} items: give each item a worker \
of its own, so that one crash costs only its own item.";
const NOT_JOINED: &str = "{} of the workers (PID {}) were never joined: wait() for every worker, \
the crashed one too.";

pub fn check() -> Result<(), String> {
    clear_worker_log();
    let spawn_worker = || {
        let mut command = Command::new(WORKER);
        command.args(["square", "--abort-on", &UNLUCKY.to_string()]);
        command
    };
    let results = call(EXERCISE, "map_isolated", || {
        map_isolated(&spawn_worker, &ITEMS)
    })?
    .map_err(|e| fill(GAVE_UP, &[&e]))?;

    if results.len() != ITEMS.len() {
        return Err(fill(COUNT, &[&results.len(), &ITEMS.len()]));
    }
    for (i, (&item, result)) in ITEMS.iter().zip(&results).enumerate() {
        match (item == UNLUCKY, result) {
            (false, Ok(square)) if *square == item * item => {}
            (false, Ok(square)) => return Err(fill(WRONG, &[&i, square, &item, &(item * item)])),
            (false, Err(crash)) => return Err(fill(LOST, &[&i, &item, &format!("{crash:?}")])),
            (true, Ok(square)) => {
                return Err(fill(NOT_REPORTED, &[&i, &item, &format!("Ok({square})")]));
            }
            (true, Err(Crash { exitcode })) if *exitcode != ABORTED => {
                return Err(fill(EXITCODE, &[&item, exitcode]));
            }
            (true, Err(_)) => {}
        }
    }
    let seen = seen();
    if let Some(impostors) = impostors(&seen) {
        return Err(impostors);
    }
    for w in &seen.workers {
        let items = w.acts.len();
        if items > 1 {
            return Err(fill(SHARED_WORKER, &[&w.pid, &items]));
        }
    }
    let squared = acts("square");
    let could = ITEMS.len() - 1;
    if squared.len() < could {
        return Err(fill(IN_PARENT, &[&squared.len(), &could]));
    }
    let pids: Vec<u32> = worker_log().iter().map(|act| act.pid).collect();
    let waiting = unjoined(&pids);
    if !waiting.is_empty() {
        let list: Vec<String> = waiting.iter().map(u32::to_string).collect();
        return Err(fill(NOT_JOINED, &[&waiting.len(), &list.join(", ")]));
    }
    Ok(())
}
