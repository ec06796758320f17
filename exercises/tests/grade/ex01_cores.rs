//! Grades exercise 1: a pool's size, as asked or as many as the CPUs this process may use.
//!
//! To tell "CPUs this process may use" from "CPUs the machine has", the grader also asks with
//! the calling thread pinned to a single CPU, as `taskset -c 0` would.

use crate::ex01_cores::pool_size;
use crate::learner::call;
use crate::message::fill;
use std::io::ErrorKind;
use std::thread;

const EXERCISE: &str = "ex01_cores";
const ASKED: usize = 3;

const ERROR: &str = "pool_size({}) returned an error: {}";
const NOT_AS_ASKED: &str = "pool_size(Some({})) returned {}: when a number of workers is asked \
for, that is the number.";
const ZERO_ACCEPTED: &str = "pool_size(Some(0)) returned Ok({}): zero workers must be an error of \
kind InvalidInput (Python's Pool(0) raises ValueError), since such a pool never finishes anything.";
const ZERO_KIND: &str = "pool_size(Some(0)) returned an error of kind {}; make it InvalidInput.";
const DEFAULT: &str = "pool_size(None) returned {}, but this process may use {} CPU(s): ask \
std::thread::available_parallelism().";
const PINNED: &str = "with this process allowed a single CPU (as under `taskset -c 0`), \
pool_size(None) returned {}: count the CPUs this process may use (Rust's \
std::thread::available_parallelism, Python's os.process_cpu_count), not all the machine has.";

pub fn check() -> Result<(), String> {
    let got = call(EXERCISE, "pool_size", || pool_size(Some(ASKED)))?
        .map_err(|e| fill(ERROR, &[&format!("Some({ASKED})"), &e]))?;
    if got != ASKED {
        return Err(fill(NOT_AS_ASKED, &[&ASKED, &got]));
    }
    match call(EXERCISE, "pool_size", || pool_size(Some(0)))? {
        Ok(n) => return Err(fill(ZERO_ACCEPTED, &[&n])),
        Err(e) if e.kind() != ErrorKind::InvalidInput => {
            return Err(fill(ZERO_KIND, &[&e.kind()]));
        }
        Err(_) => {}
    }
    let may_use = thread::available_parallelism().map_or(1, |n| n.get());
    let got = call(EXERCISE, "pool_size", || pool_size(None))?
        .map_err(|e| fill(ERROR, &[&"None", &e]))?;
    if got != may_use {
        return Err(fill(DEFAULT, &[&got, &may_use]));
    }
    if let Some(pinned) = on_one_cpu(|| call(EXERCISE, "pool_size", || pool_size(None))) {
        let got = pinned?.map_err(|e| fill(ERROR, &[&"None", &e]))?;
        if got != 1 {
            return Err(fill(PINNED, &[&got]));
        }
    }
    Ok(())
}

/// Runs `f` with this thread allowed only the first CPU it may use now, then allows the rest
/// again. `None` if the kernel would not say or change which CPUs those are.
fn on_one_cpu<T>(f: impl FnOnce() -> T) -> Option<T> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain data, for which all zeroes is the empty set; the calls only
    // read and change this thread's own CPU affinity.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return None;
        }
        let first = (0..libc::CPU_SETSIZE as usize).find(|&cpu| libc::CPU_ISSET(cpu, &allowed))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(first, &mut one);
        if libc::sched_setaffinity(0, size, &one) != 0 {
            return None;
        }
        let result = f();
        libc::sched_setaffinity(0, size, &allowed);
        Some(result)
    }
}
