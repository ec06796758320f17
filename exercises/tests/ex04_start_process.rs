//! Grades exercise 4, `exercises/src/ex04_start_process.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex04_start_process.rs"]
mod ex04_start_process;
#[path = "grade/ex04_start_process.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex04_start_process() -> Result<(), sandbox::Failure> {
    sandbox::run("ex04_start_process", grader::check)
}
