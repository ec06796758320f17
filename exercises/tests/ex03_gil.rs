//! Grades exercise 3, `exercises/src/ex03_gil.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex03_gil.rs"]
mod ex03_gil;
#[path = "grade/ex03_gil.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex03_gil() -> Result<(), sandbox::Failure> {
    sandbox::run("ex03_gil", grader::check)
}
