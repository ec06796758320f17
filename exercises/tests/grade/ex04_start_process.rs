//! Grades exercise 4: a child started and joined, with its real PID and exit status.

use crate::WORKER;
use crate::evidence::{clear_worker_log, impostors, seen, unjoined};
use crate::ex04_start_process::start_and_join;
use crate::learner::call;
use crate::message::fill;
use std::path::Path;

const EXERCISE: &str = "ex04_start_process";
/// The exit statuses the worker is asked for, one run each.
const STATUSES: [u64; 2] = [7, 0];

const ERROR: &str = "start_and_join({}) returned an error: {}";
const NO_WORKER: &str = "no worker ran: start the program you were given, with the arguments you \
were given: Command::new(worker).args(args).spawn().";
const OWN_PID: &str = "the PID you returned, {}, is the grader's own: return the child's PID, \
child.id().";
const WRONG_PID: &str = "you returned PID {}, but the worker that ran had PID {}: return child.id() \
of the child you started.";
const WRONG_STATUS: &str = "the worker exited with status {}, but you returned {}: return the \
ExitStatus that child.wait() gives you.";
const NOT_MINE: &str = "the worker (PID {}) was started by PID {}, not by start_and_join's own \
process ({}): start it yourself with Command::new(worker).";
const NOT_JOINED: &str = "the child (PID {}) was never joined: call child.wait() before you \
return, which is also how you learn its exit status.";

pub fn check() -> Result<(), String> {
    for status in STATUSES {
        clear_worker_log();
        let args = ["exit", &status.to_string()].map(str::to_string);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = call(EXERCISE, "start_and_join", || {
            start_and_join(Path::new(WORKER), &args)
        })?
        .map_err(|e| fill(ERROR, &[&format!("{args:?}"), &e]))?;

        if started.pid == std::process::id() {
            return Err(fill(OWN_PID, &[&started.pid]));
        }
        let seen = seen();
        if let Some(impostors) = impostors(&seen) {
            return Err(impostors);
        }
        let ran: Vec<_> = seen
            .workers
            .iter()
            .filter(|w| w.acts.iter().any(|a| a.starts_with("exit")))
            .collect();
        let Some(worker) = ran.first() else {
            return Err(NO_WORKER.into());
        };
        if worker.ppid != std::process::id() {
            return Err(fill(
                NOT_MINE,
                &[&worker.pid, &worker.ppid, &std::process::id()],
            ));
        }
        if started.pid != worker.pid {
            return Err(fill(WRONG_PID, &[&started.pid, &worker.pid]));
        }
        if !unjoined(&[worker.pid]).is_empty() {
            return Err(fill(NOT_JOINED, &[&worker.pid]));
        }
        if started.status.code() != Some(status as i32) {
            return Err(fill(
                WRONG_STATUS,
                &[&status, &format!("{:?}", started.status)],
            ));
        }
    }
    Ok(())
}
