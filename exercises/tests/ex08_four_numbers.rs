//! Grades exercise 8, `exercises/src/ex08_four_numbers.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex08_four_numbers.rs"]
mod ex08_four_numbers;
#[path = "grade/ex08_four_numbers.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex08_four_numbers() -> Result<(), sandbox::Failure> {
    sandbox::run("ex08_four_numbers", grader::check)
}
