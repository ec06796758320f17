//! The graders: one test per exercise, named after it, so `cargo test -p exercises ex06`
//! grades exercise 6 alone.
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
    ex01_cores,
    ex02_memory,
    ex03_gil,
    ex04_start_process,
    ex05_exit_codes,
    ex06_pool_map,
    ex07_chunksize,
    ex08_four_numbers,
    ex09_by_name,
    ex10_framing,
    ex11_crash_isolation,
    ex12_choosing,
}
