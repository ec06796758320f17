//! Grades exercise 1, `exercises/src/ex01_cores.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex01_cores.rs"]
mod ex01_cores;
#[path = "grade/ex01_cores.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex01_cores() -> Result<(), sandbox::Failure> {
    sandbox::run("ex01_cores", grader::check)
}
