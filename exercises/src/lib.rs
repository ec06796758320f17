//! procbook's exercises: twelve small tasks about processes, in the order of the book.
//!
//! Open the first file, `src/ex01_cores.rs`, read its task, replace the `todo!()` with your
//! code, and run `procbook check 1` (or `cargo test -p exercises --test ex01_cores`). Each
//! exercise is graded by its own test binary (`tests/ex01_cores.rs` and its grader in
//! `tests/grade/`), so a mistake in one file never stops the others from being graded; the
//! grader's failure message tells you what is still wrong. `procbook hint N` gives a hint, in
//! steps. A reference solution is shown once your exercise has passed.
//!
//! The graders run your code in a sandbox (`src/bin/sandbox/`): a referee for honest mistakes
//! and runaways. It stops code that runs too long or starts too many processes, cleans up
//! what your code leaves running, and notes for itself which worker processes ran and what
//! they did. It is not a security boundary: code written to attack the machine or the grader
//! is out of its scope.
//!
//! This library holds what the exercises share: [`fork`].

pub mod fork;
