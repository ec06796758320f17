//! procbook's exercises: ten small tasks about processes, in the order of the book.
//!
//! Open the first file, read its task, replace the `todo!()` with your code, and run
//! `cargo test -p exercises ex01` (or `procbook check 1`). Every exercise is graded by a test
//! in `tests/grade/`, whose failure message tells you what is still wrong. `procbook hint N`
//! gives a hint; `exercises/solutions/` holds a reference solution for each, for afterwards.

// A stub names parameters it does not use yet, and imports what your answer will need.
#![allow(unused_variables, unused_imports)]

pub mod fork;

pub mod ex01_memory;
pub mod ex02_gil;
pub mod ex03_start_process;
pub mod ex04_exit_codes;
pub mod ex05_pool_map;
pub mod ex06_chunksize;
pub mod ex07_four_numbers;
pub mod ex08_framing;
pub mod ex09_crash_isolation;
pub mod ex10_choosing;
