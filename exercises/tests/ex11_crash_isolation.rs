//! Grades exercise 11, `exercises/src/ex11_crash_isolation.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex11_crash_isolation.rs"]
mod ex11_crash_isolation;
#[path = "grade/ex11_crash_isolation.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex11_crash_isolation() -> Result<(), sandbox::Failure> {
    sandbox::run("ex11_crash_isolation", grader::check)
}
