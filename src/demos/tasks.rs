//! The small tasks several demos and tests share. A demo's own tasks live with the demo.
//!
//! A task is a plain function with a name. Adding one means writing the function, a `static`
//! [`Task`] for it, and a line in the registry ([`crate::demos::TASKS`]) — the Rust counterpart
//! of defining a function at the top level of a module so that a Python worker can import it
//! by name.

use std::io::Write;
use std::time::Duration;

use crate::engine::{Task, current_process};

// ANCHOR: tasks
/// `def square(n): return n * n`
pub fn square(n: u64) -> u64 {
    n * n
}

/// Print a greeting from whichever process runs it.
pub fn greet(name: String) {
    let me = current_process();
    println!("Hello, {name}! I am {} (pid {}).", me.name, me.pid);
}

/// Print one number and say who printed it: seed question 6.
pub fn print_number(n: u32) {
    let me = current_process();
    println!("Process {}: {n} (pid {})", me.name, me.pid);
}

pub static SQUARE: Task<u64, u64> = Task::new("square", square);
pub static GREET: Task<String, ()> = Task::new("greet", greet);
pub static PRINT_NUMBER: Task<u32, ()> = Task::new("print_number", print_number);
// ANCHOR_END: tasks

/// Does nothing: what is left of a task's cost is the engine's own overhead.
pub fn noop(n: u64) -> u64 {
    n
}

/// Panics with a message, as a Python task that raises.
pub fn panic_on(n: u64) -> u64 {
    if n == 0 {
        panic!("refusing to work on {n}");
    }
    n
}

/// Aborts the worker process outright when given 0 (a crash no `catch_unwind` can stop).
pub fn abort_on(n: u64) -> u64 {
    if n == 0 {
        // No core file: the crash is the lesson, not something to debug.
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass and changes only this process's limit.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
        std::process::abort();
    }
    n * n
}

/// Sleeps, then answers: a task that hangs for as long as it is told.
pub fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// The length of a text: a task whose argument can be made as large as a test needs.
pub fn byte_len(text: String) -> u64 {
    text.len() as u64
}

/// Writes bytes that are not a frame onto the reply pipe, to prove the parent survives them.
pub fn garble(_: u64) -> u64 {
    let fd = std::env::var(crate::engine::child::WIRE_ENV).unwrap_or_default();
    let path = format!("/proc/self/fd/{fd}");
    if let Ok(mut wire) = std::fs::OpenOptions::new().write(true).open(path) {
        let _ = wire.write_all(&[7, 0, 0, 0, b'g', b'a', b'r', b'b', b'a', b'g', b'e']);
        let _ = wire.flush();
    }
    0
}

/// Starts a pool, prints its workers' PIDs, then waits until killed: shows that workers do not
/// outlive a parent that dies without cleaning up (they get its death signal, and EOF).
pub fn hold_pool(workers: usize) {
    let pool = match crate::engine::Pool::new(workers) {
        Ok(pool) => pool,
        Err(e) => return eprintln!("{e}"),
    };
    for (name, pid) in pool.workers().unwrap_or_default() {
        println!("{name} {pid}");
    }
    loop {
        std::thread::park();
    }
}

pub static NOOP: Task<u64, u64> = Task::new("noop", noop);
pub static PANIC_ON: Task<u64, u64> = Task::new("panic_on", panic_on);
pub static ABORT_ON: Task<u64, u64> = Task::new("abort_on", abort_on);
pub static SLEEP_MS: Task<u64, u64> = Task::new("sleep_ms", sleep_ms);
pub static GARBLE: Task<u64, u64> = Task::new("garble", garble);
pub static BYTE_LEN: Task<String, u64> = Task::new("byte_len", byte_len);
pub static HOLD_POOL: Task<usize, ()> = Task::new("hold_pool", hold_pool);
