//! Grades exercise 5, `exercises/src/ex05_exit_codes.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex05_exit_codes.rs"]
mod ex05_exit_codes;
#[path = "grade/ex05_exit_codes.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex05_exit_codes() -> Result<(), sandbox::Failure> {
    sandbox::run("ex05_exit_codes", grader::check)
}
