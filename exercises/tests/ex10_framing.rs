//! Grades exercise 10, `exercises/src/ex10_framing.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex10_framing.rs"]
mod ex10_framing;
#[path = "grade/ex10_framing.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex10_framing() -> Result<(), sandbox::Failure> {
    sandbox::run("ex10_framing", grader::check)
}
