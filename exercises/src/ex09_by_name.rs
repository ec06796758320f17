//! Exercise 9: functions travel by name.
//!
//! Book: chapter 8, "Start methods and the `__main__` guard" (book/src/08-start-methods.md).
//!
//! Under the spawn and forkserver start methods, a worker is a fresh program: a function cannot
//! be copied into it, only named. Pickle records a function by its qualified name, and the
//! worker looks that name up in its own copy of the module; that is why a lambda cannot be
//! sent. procbook's engine does the same with a table of tasks: plain functions, each under a
//! name.
//!
//! Your task:
//!
//! 1. `request` writes what a parent sends to ask a worker for a task: one line, the task's
//!    name, a space, the argument, and a newline, as in `"square 7\n"`.
//! 2. `serve` is the worker's side. It reads one such line, looks the name up in `tasks`, and
//!    returns what that function gives for the argument. A name missing from the table is an
//!    error that names it, as Python's `Can't get attribute 'cube'` does; a line that is not
//!    `NAME NUMBER` is an error too. Neither is a panic: a worker must answer, not crash.
//!
//! A [`Task`] is a `fn(u64) -> u64`, a plain function. Put a closure that captures a variable
//! into a table and the compiler refuses it, as pickle refuses a lambda.
//!
//! Check your work: `procbook check 9` (or `cargo test -p exercises --test ex09_by_name`).
//! Stuck? `procbook hint 9`, and again for the next step.

/// A task a worker can run: a plain function, found by its name.
pub type Task = fn(u64) -> u64;

/// The line that asks a worker to run task `name` on `arg`.
pub fn request(name: &str, arg: u64) -> String {
    todo!()
}

/// Runs the task a request line names, looked up in `tasks`, on the line's argument.
pub fn serve(tasks: &[(&str, Task)], line: &str) -> Result<u64, String> {
    todo!()
}
