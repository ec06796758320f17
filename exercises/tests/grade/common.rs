// The graders' shared parts, included by each exercise's own test binary (tests/exNN_*.rs):
// the sandbox that runs a grader, the referee's evidence, calling the learner's code, the
// manifest and the message templates.

#[path = "evidence.rs"]
mod evidence;
#[path = "learner.rs"]
mod learner;
#[path = "manifest.rs"]
mod manifest;
#[path = "message.rs"]
mod message;
#[path = "sandbox.rs"]
mod sandbox;

/// `crate::fork`, as the exercise files name it.
use exercises::fork;

/// The program the exercises start as a child process (src/bin/worker.rs).
const WORKER: &str = env!("CARGO_BIN_EXE_worker");
