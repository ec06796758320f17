//! procbook's exercises: twelve small tasks about processes, in the order of the book.
//!
//! Open the first file, read its task, replace the `todo!()` with your code, and run
//! `cargo test -p exercises ex01` (or `procbook check 1`). Every exercise is graded by a test
//! in `tests/grade/`, whose failure message tells you what is still wrong. `procbook hint N`
//! gives a hint; `exercises/solutions/` holds a reference solution for each, for afterwards.

// A stub names parameters it does not use yet, and imports what your answer will need.
#![allow(unused_variables, unused_imports)]

pub mod fork;

pub mod ex01_cores;
pub mod ex02_memory;
pub mod ex03_gil;
pub mod ex04_start_process;
pub mod ex05_exit_codes;
pub mod ex06_pool_map;
pub mod ex07_chunksize;
pub mod ex08_four_numbers;
pub mod ex09_by_name;
pub mod ex10_framing;
pub mod ex11_crash_isolation;
pub mod ex12_choosing;
