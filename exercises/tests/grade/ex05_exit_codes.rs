//! Grades exercise 5: every child joined, and exactly the failed ones reported, Python-style.

use crate::WORKER;
use crate::evidence::{clear_worker_log, hold, impostors, patience, seen, unjoined};
use crate::ex05_exit_codes::{Failed, failed_jobs};
use crate::learner::call;
use crate::message::fill;
use std::path::Path;

const EXERCISE: &str = "ex05_exit_codes";
/// The jobs, and the exitcode Python would report for each.
const JOBS: [(&[&str], i32); 5] = [
    (&["exit", "0"], 0),
    (&["exit", "3"], 3),
    (&["abort"], -6),
    (&["exit", "0"], 0),
    (&["exit", "1"], 1),
];

const ONE_AT_A_TIME: &str = "your children ran one at a time (as the sandbox saw them, in ms after \
it started: {}): the first was still waiting for the others {} ms after it started. Start every child first \
(collect the Child values in a Vec), then wait for each: with .output() or .status() per job, \
each job waits for the one before.";
const WRONG_ARGS: &str = "a child ran worker with the arguments {:?}, which is none of the jobs: job \
i runs worker with the arguments jobs[i].";
const ERROR: &str = "failed_jobs returned an error: {}";
const TOO_FEW_RAN: &str = "{} of the {} jobs ran: start one child per job, job i running worker \
with the arguments jobs[i].";
const NOT_JOINED: &str = "{} of the children (PID {}) were never joined: wait() for every child \
you start.";
const SUCCEEDED: &str = "job {} succeeded (exit status 0), but you reported it as failed: only \
report the jobs whose exitcode is not 0.";
const MISSING: &str = "job {} failed (Python's exitcode {}), but you did not report it.";
const SIGNALLED: &str = "job {} was killed by SIGABRT (signal 6), and Python reports that as \
exitcode -6; you reported {}. For it, status.code() is None and status.signal() is Some(6).";
const WRONG_CODE: &str = "job {} exited with status {}, but you reported exitcode {}.";
const MISMATCH: &str = "you reported {}, but the failed jobs are {}.";
const ORDER: &str = "you reported the right jobs, in the wrong order: {}; report them in job \
order, by index.";

pub fn check() -> Result<(), String> {
    clear_worker_log();
    hold(JOBS.len(), patience());
    let jobs: Vec<&[&str]> = JOBS.iter().map(|(args, _)| *args).collect();
    let reported = call(EXERCISE, "failed_jobs", || {
        failed_jobs(Path::new(WORKER), &jobs)
    })?
    .map_err(|e| fill(ERROR, &[&e]))?;

    let seen = seen();
    if let Some(impostors) = impostors(&seen) {
        return Err(impostors);
    }
    let ran: Vec<u32> = seen.workers.iter().map(|w| w.pid).collect();
    if let Some(w) = seen
        .workers
        .iter()
        .find(|w| !JOBS.iter().any(|(a, _)| a.join(" ") == w.args))
    {
        return Err(fill(WRONG_ARGS, &[&w.args]));
    }
    if ran.len() < JOBS.len() {
        return Err(fill(TOO_FEW_RAN, &[&ran.len(), &JOBS.len()]));
    }
    if seen.workers.iter().any(|w| w.release == "timeout") {
        let times: Vec<String> = seen
            .workers
            .iter()
            .map(|w| {
                let end = w
                    .end_ms
                    .map_or("still running".to_string(), |ms| ms.to_string());
                format!("{}-{end}", w.start_ms)
            })
            .collect();
        return Err(fill(
            ONE_AT_A_TIME,
            &[&times.join(", "), &patience().as_millis()],
        ));
    }
    let waiting = unjoined(&ran);
    if !waiting.is_empty() {
        return Err(fill(NOT_JOINED, &[&waiting.len(), &join(&waiting)]));
    }
    for r in &reported {
        match JOBS.get(r.index) {
            Some((_, 0)) => return Err(fill(SUCCEEDED, &[&r.index])),
            Some((_, -6)) if r.exitcode != -6 => {
                return Err(fill(SIGNALLED, &[&r.index, &r.exitcode]));
            }
            Some((_, code)) if *code != r.exitcode => {
                return Err(fill(WRONG_CODE, &[&r.index, code, &r.exitcode]));
            }
            _ => {}
        }
    }
    let expected: Vec<Failed> = JOBS
        .iter()
        .enumerate()
        .filter(|(_, (_, code))| *code != 0)
        .map(|(index, (_, exitcode))| Failed {
            index,
            exitcode: *exitcode,
        })
        .collect();
    for want in &expected {
        if !reported.iter().any(|r| r.index == want.index) {
            return Err(fill(MISSING, &[&want.index, &want.exitcode]));
        }
    }
    if reported != expected {
        let mut sorted = reported.clone();
        sorted.sort_by_key(|r| r.index);
        return Err(if sorted == expected {
            fill(ORDER, &[&format!("{reported:?}")])
        } else {
            fill(
                MISMATCH,
                &[&format!("{reported:?}"), &format!("{expected:?}")],
            )
        });
    }
    Ok(())
}

fn join(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
