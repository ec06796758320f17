//! Grades exercise 2, `exercises/src/ex02_memory.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex02_memory.rs"]
mod ex02_memory;
#[path = "grade/ex02_memory.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex02_memory() -> Result<(), sandbox::Failure> {
    sandbox::run("ex02_memory", grader::check)
}
