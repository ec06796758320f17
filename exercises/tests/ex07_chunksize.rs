//! Grades exercise 7, `exercises/src/ex07_chunksize.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex07_chunksize.rs"]
mod ex07_chunksize;
#[path = "grade/ex07_chunksize.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex07_chunksize() -> Result<(), sandbox::Failure> {
    sandbox::run("ex07_chunksize", grader::check)
}
