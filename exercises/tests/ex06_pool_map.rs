//! Grades exercise 6, `exercises/src/ex06_pool_map.rs`, in a test binary of its own: a mistake that
//! stops another exercise from compiling cannot stop this one from being graded.
#![allow(unused_variables, unused_imports, dead_code)]

#[path = "../src/ex06_pool_map.rs"]
mod ex06_pool_map;
#[path = "grade/ex06_pool_map.rs"]
mod grader;

include!("grade/common.rs");

#[test]
fn ex06_pool_map() -> Result<(), sandbox::Failure> {
    sandbox::run("ex06_pool_map", grader::check)
}
