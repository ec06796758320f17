//! Grades exercise 12, `exercises/src/ex12_choosing.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex12_choosing.rs"]
mod ex12_choosing;
#[path = "grade/ex12_choosing.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex12_choosing() -> Result<(), sandbox::Failure> {
    sandbox::run("ex12_choosing", grader::check)
}
