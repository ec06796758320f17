//! Tasks: plain functions registered under a name, so a worker can find them again.
//!
//! Python pickles a function "by qualified name": the child imports the module and looks the
//! name up. Here a task is a `static` [`Task`] that pairs a name with a `fn`; the binary lists
//! its tasks in one registry that the entry guard searches. A closure has no name a fresh
//! process could look up, which is why neither Python nor procbook can send one.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

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

/// A task with its types erased, as the worker sees it: JSON in, JSON out.
pub trait Runnable: Sync {
    fn name(&self) -> &'static str;
    /// Decode the argument, run the function, encode the result.
    fn call(&self, arg: Value) -> Result<Value, String>;
}

impl<A: DeserializeOwned, R: Serialize> Runnable for Task<A, R> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn call(&self, arg: Value) -> Result<Value, String> {
        let arg = serde_json::from_value(arg)
            .map_err(|e| format!("task {}: bad argument: {e}", self.name))?;
        serde_json::to_value((self.f)(arg))
            .map_err(|e| format!("task {}: result does not serialize: {e}", self.name))
    }
}

/// Every task a binary can run in a worker.
pub type Registry = [&'static dyn Runnable];

/// Look a task up by name, as the worker does on each request.
pub fn find<'r>(registry: &'r Registry, name: &str) -> Option<&'r dyn Runnable> {
    registry.iter().copied().find(|t| t.name() == name)
}
