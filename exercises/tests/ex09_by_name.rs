//! Grades exercise 9, `exercises/src/ex09_by_name.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex09_by_name.rs"]
mod ex09_by_name;
#[path = "grade/ex09_by_name.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex09_by_name() -> Result<(), sandbox::Failure> {
    sandbox::run("ex09_by_name", grader::check)
}
