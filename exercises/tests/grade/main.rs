//! The graders: one test per exercise, named after it, so `cargo test -p exercises ex05`
//! grades exercise 5 alone.
//!
//! Each grader runs in the sandbox (see `sandbox.rs` here): your code can neither hang the
//! tests nor leave processes behind. A grader's failure message says what is still wrong.

mod evidence;
mod learner;
mod manifest;
mod message;
mod sandbox;

/// The program the exercises start as a child process (src/bin/worker.rs).
const WORKER: &str = env!("CARGO_BIN_EXE_worker");

/// Declares each grader module and its test, which runs the module's `check` in the sandbox.
macro_rules! graders {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name;

            #[test]
            fn $name() -> Result<(), sandbox::Failure> {
                sandbox::run(stringify!($name), $name::check)
            }
        )*
    };
}

graders! {
    ex01_memory,
    ex02_gil,
    ex03_start_process,
    ex04_exit_codes,
    ex05_pool_map,
    ex06_chunksize,
    ex07_four_numbers,
    ex08_framing,
    ex09_crash_isolation,
    ex10_choosing,
}
