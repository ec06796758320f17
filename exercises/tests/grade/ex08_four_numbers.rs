//! Grades exercise 8: four numbers printed by four different processes, all joined.

use crate::WORKER;
use crate::evidence::{acts, clear_worker_log, hold, impostors, patience, seen, unjoined};
use crate::ex08_four_numbers::four_numbers;
use crate::learner::call;
use crate::message::fill;
use std::collections::BTreeSet;
use std::path::Path;

const EXERCISE: &str = "ex08_four_numbers";
/// Not 1, 2, 3, 4, so that numbers that were made up rather than read stand out.
const NUMBERS: [u32; 4] = [7, 3, 9, 1];

const ONE_AT_A_TIME: &str = "your four children ran one at a time: the first was still waiting \
for the others {} ms after it started. Start all four before you read from or wait for any: \
with .output() per number, each waits for the one before.";
const NULL_OUTPUT: &str = "the child that printed {} (PID {}) wrote its line to {}: nobody could \
read it. Give it .stdout(Stdio::piped()) and read the line from child.stdout.";
const WHERE: [(&str, &str); 5] = [
    ("null", "/dev/null"),
    (
        "inherited",
        "the grader's own output (Stdio::inherit, the default)",
    ),
    ("terminal", "a terminal"),
    ("file", "a file"),
    ("other", "somewhere other than a pipe"),
];
const UNREAD: &str = "the line the child with PID {} printed was never read ({} bytes still sit in \
its pipe): read each child's stdout to the end, and take the pair from that line.";
const ERROR: &str = "four_numbers returned an error: {}";
const COUNT: &str = "expected 4 (PID, number) pairs, got {}: one from each of the four processes.";
const NUMBERS_WRONG: &str = "the numbers you collected, {}, are not the four you were given, {}: \
each process prints its own number.";
const SAME_PID: &str = "expected 4 distinct PIDs, saw {} — did every number run in the same \
process? Start one child per number.";
const OWN_PID: &str = "PID {} is the grader's own process: each number must be printed by a child \
process, and the PID in a pair is the one that child printed.";
const NOT_PRINTED: &str = "no worker with PID {} printed {}: take each pair from the line a \
child printed, \"PID N\".";
const NOT_CHILD: &str = "the worker that printed {} (PID {}) was not started by four_numbers \
itself: start the four children directly with Command.";
const NOT_JOINED: &str = "{} of the four children (PID {}) were never joined: call wait() on each \
child you start.";

pub fn check() -> Result<(), String> {
    clear_worker_log();
    hold(NUMBERS.len(), patience());
    let pairs = call(EXERCISE, "four_numbers", || {
        four_numbers(Path::new(WORKER), NUMBERS)
    })?
    .map_err(|e| fill(ERROR, &[&e]))?;

    if pairs.len() != NUMBERS.len() {
        return Err(fill(COUNT, &[&pairs.len()]));
    }
    let mut got: Vec<u32> = pairs.iter().map(|&(_, n)| n).collect();
    let mut want = NUMBERS.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    if got != want {
        return Err(fill(
            NUMBERS_WRONG,
            &[&format!("{got:?}"), &format!("{want:?}")],
        ));
    }
    let pids: BTreeSet<u32> = pairs.iter().map(|&(pid, _)| pid).collect();
    if pids.len() != NUMBERS.len() {
        return Err(fill(SAME_PID, &[&pids.len()]));
    }
    let me = std::process::id();
    if pids.contains(&me) {
        return Err(fill(OWN_PID, &[&me]));
    }
    let seen = seen();
    if let Some(impostors) = impostors(&seen) {
        return Err(impostors);
    }
    if seen.workers.iter().any(|w| w.release == "timeout") {
        return Err(fill(ONE_AT_A_TIME, &[&patience().as_millis()]));
    }
    for w in &seen.workers {
        if let Some((_, place)) = WHERE.iter().find(|(kind, _)| *kind == w.stdout) {
            let number = w.args.strip_prefix("print ").unwrap_or(&w.args);
            return Err(fill(NULL_OUTPUT, &[&number, &w.pid, place]));
        }
        if let Some(unread) = w.unread.filter(|&n| n > 0) {
            return Err(fill(UNREAD, &[&w.pid, &unread]));
        }
    }
    let printed = acts("print");
    for &(pid, n) in &pairs {
        let Some((act, _)) = printed
            .iter()
            .find(|(act, m)| act.pid == pid && *m == u64::from(n))
        else {
            return Err(fill(NOT_PRINTED, &[&pid, &n]));
        };
        if act.ppid != me {
            return Err(fill(NOT_CHILD, &[&n, &pid]));
        }
    }
    let pids: Vec<u32> = pids.into_iter().collect();
    let waiting = unjoined(&pids);
    if !waiting.is_empty() {
        let list: Vec<String> = waiting.iter().map(u32::to_string).collect();
        return Err(fill(NOT_JOINED, &[&waiting.len(), &list.join(", ")]));
    }
    Ok(())
}
