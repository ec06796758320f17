//! Grades exercise 9: a request names a task; the worker finds it in its own table, or says
//! which name it could not find.
//!
//! The grader's table has a task the learner cannot guess, so only a real lookup passes.

use crate::ex09_by_name::{Task, request, serve};
use crate::learner::call;
use crate::message::fill;

const EXERCISE: &str = "ex09_by_name";
/// The grader's tasks: `mystery` is there so that the answer must come from the table.
const TASKS: [(&str, Task); 3] = [
    ("square", |n| n * n),
    ("double", |n| 2 * n),
    ("mystery", |n| 3 * n + 1),
];

const REQUEST: &str = "request(\"{}\", {}) returned {}; a request is one line: the name, a space, \
the argument, and a newline: {}.";
const ANSWER: &str = "serve on {} returned {}; the task {} gives {} for {}. Look the name up in \
the table, and call the function you find there.";
const UNKNOWN: &str = "serve on {}, a name that is in no table, returned {}: return an error that \
names it, as Python's \"Can't get attribute 'cube'\" does.";
const NAMELESS: &str = "serve on {} returned the error {}, which does not say which name was \
missing ({}): put the name in it.";
const MALFORMED: &str = "serve on {}, which is not NAME NUMBER, returned {}: return an error.";

pub fn check() -> Result<(), String> {
    for (name, arg) in [("square", 7), ("mystery", 14)] {
        let line = call(EXERCISE, "request", || request(name, arg))?;
        let want = format!("{name} {arg}\n");
        if line != want {
            return Err(fill(REQUEST, &[&name, &arg, &debug(&line), &debug(&want)]));
        }
    }
    for (line, name, arg) in [
        ("square 7\n", "square", 7),
        ("double 21", "double", 21),
        ("mystery 14\n", "mystery", 14),
    ] {
        let task = TASKS.iter().find(|(n, _)| *n == name).map(|&(_, t)| t);
        let want = task.map_or(0, |t| t(arg));
        let got = call(EXERCISE, "serve", || serve(&TASKS, line))?;
        if got != Ok(want) {
            return Err(fill(
                ANSWER,
                &[&debug(line), &debug(&got), &name, &want, &arg],
            ));
        }
    }
    let line = "cube 3\n";
    match call(EXERCISE, "serve", || serve(&TASKS, line))? {
        Ok(n) => return Err(fill(UNKNOWN, &[&debug(line), &format!("Ok({n})")])),
        Err(e) if !e.contains("cube") => {
            return Err(fill(NAMELESS, &[&debug(line), &debug(&e), &"cube"]));
        }
        Err(_) => {}
    }
    for line in ["square seven\n", "square\n", "", "7 square\n"] {
        if let Ok(n) = call(EXERCISE, "serve", || serve(&TASKS, line))? {
            return Err(fill(MALFORMED, &[&debug(line), &format!("Ok({n})")]));
        }
    }
    Ok(())
}

fn debug(value: impl std::fmt::Debug) -> String {
    format!("{value:?}")
}
