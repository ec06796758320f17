//! Tasks: plain functions registered under a name, so a worker can find them again.
//!
//! Python pickles a function "by qualified name": the child imports the module and looks the
//! name up. Here a task is a `static` [`Task`] that pairs a name with a `fn`; the binary lists
//! its tasks in one registry that the entry guard searches. A closure has no name a fresh
//! process could look up, which is why neither Python nor procbook can send one.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;

/// A function a worker can run: `f(A) -> R`, found by `name`.
pub struct Task<A, R> {
    pub name: &'static str,
    f: fn(A) -> R,
}

impl<A, R> Task<A, R> {
    pub const fn new(name: &'static str, f: fn(A) -> R) -> Self {
        Task { name, f }
    }
}

/// Items that failed, by position in their chunk, with why.
pub type Failures = Vec<(usize, String)>;

/// A task with its types erased, as the worker sees it: JSON text in, JSON text out, but
/// typed in between.
pub trait Runnable: Sync {
    fn name(&self) -> &'static str;
    /// Decode a chunk's items (a JSON array) straight into the argument type, run the
    /// function on each, and write the results, a JSON array, onto the end of `out`. An item
    /// that panics, or whose argument or result does not convert, is `null` there and listed
    /// in the failures; the others are kept. `Err` if `items` is not an array at all.
    fn run_chunk(&self, items: &str, out: &mut Vec<u8>) -> Result<Failures, String>;
}

impl<A: DeserializeOwned, R: Serialize> Runnable for Task<A, R> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run_chunk(&self, items: &str, out: &mut Vec<u8>) -> Result<Failures, String> {
        let mut failed = Vec::new();
        out.push(b'[');
        // The whole chunk in one go; if one argument does not decode, one by one, so that it
        // alone fails.
        if let Ok(args) = serde_json::from_str::<Vec<A>>(items) {
            for (i, arg) in args.into_iter().enumerate() {
                self.run_one(i, Ok(arg), out, &mut failed);
            }
        } else {
            let raw: Vec<&RawValue> = serde_json::from_str(items)
                .map_err(|e| format!("task {}: the items are not a list: {e}", self.name))?;
            for (i, raw) in raw.into_iter().enumerate() {
                let arg = serde_json::from_str::<A>(raw.get())
                    .map_err(|e| format!("task {}: bad argument: {e}", self.name));
                self.run_one(i, arg, out, &mut failed);
            }
        }
        out.push(b']');
        Ok(failed)
    }
}

impl<A, R: Serialize> Task<A, R> {
    /// Run item `i` and write its result (after a comma, past the first), or `null` and why.
    fn run_one(&self, i: usize, arg: Result<A, String>, out: &mut Vec<u8>, failed: &mut Failures) {
        if i > 0 {
            out.push(b',');
        }
        let result = arg.and_then(|arg| {
            panic::catch_unwind(AssertUnwindSafe(|| (self.f)(arg))).map_err(panic_message)
        });
        let mark = out.len();
        let written = result.and_then(|r| {
            serde_json::to_writer(&mut *out, &r)
                .map_err(|e| format!("task {}: result does not serialize: {e}", self.name))
        });
        if let Err(why) = written {
            out.truncate(mark);
            out.extend_from_slice(b"null");
            failed.push((i, why));
        }
    }
}

/// What a panic said, as text.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".into())
}

/// Every task a binary can run in a worker.
pub type Registry = [&'static dyn Runnable];

/// Look a task up by name, as the worker does on each request.
pub fn find<'r>(registry: &'r Registry, name: &str) -> Option<&'r dyn Runnable> {
    registry.iter().copied().find(|t| t.name() == name)
}

/// Run a chunk of task `name` from `registry`, as [`Runnable::run_chunk`]; a name the registry
/// does not hold fails every item.
pub fn run_chunk(
    registry: &Registry,
    name: &str,
    items: &str,
    out: &mut Vec<u8>,
) -> Result<Failures, String> {
    if let Some(task) = find(registry, name) {
        return task.run_chunk(items, out);
    }
    let count = serde_json::from_str::<Vec<&RawValue>>(items)
        .map_err(|e| format!("the items for {name:?} are not a list: {e}"))?
        .len();
    out.push(b'[');
    for i in 0..count {
        out.extend_from_slice(if i == 0 { b"null" } else { b",null" });
    }
    out.push(b']');
    Ok((0..count)
        .map(|i| (i, format!("no task named {name:?}")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half(n: u64) -> u64 {
        assert!(n.is_multiple_of(2), "odd: {n}");
        n / 2
    }

    static HALF: Task<u64, u64> = Task::new("half", half);
    static REGISTRY: &Registry = &[&HALF];

    fn run(name: &str, items: &str) -> (String, Failures) {
        let mut out = b"prefix:".to_vec();
        let failed = run_chunk(REGISTRY, name, items, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), failed)
    }

    #[test]
    fn a_chunk_runs_typed_and_each_failure_stays_alone() {
        assert_eq!(run("half", "[2,4,6]"), ("prefix:[1,2,3]".into(), vec![]));
        let (out, failed) = run("half", r#"[2,3,"x",8]"#);
        assert_eq!(out, "prefix:[1,null,null,4]");
        assert_eq!(failed[0], (1, "odd: 3".to_string()));
        assert_eq!(failed[1].0, 2);
        assert!(failed[1].1.contains("bad argument"), "{failed:?}");
        assert_eq!(run("half", "[]"), ("prefix:[]".into(), vec![]));
        let (out, failed) = run("missing", "[1,2]");
        assert_eq!(out, "prefix:[null,null]");
        assert_eq!(failed.len(), 2);
        assert!(run_chunk(REGISTRY, "half", "{}", &mut Vec::new()).is_err());
    }
}
