//! Calling the learner's code from a grader: a panic becomes a message, and a `todo!()` the
//! "not done yet" message that points at the exercise.

use crate::manifest;
use crate::message::fill;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

const NOT_DONE: &str = "not done yet: {}:{} still has todo!().
Your task: {}
Read the task at the top of that file (book chapter {}); stuck? run `procbook hint {}`.";
const PANICKED: &str = "`{}` panicked at {}:{}: {}";

/// Where and why code panicked, as the panic hook saw it.
#[derive(Clone)]
struct Panic {
    message: String,
    file: String,
    line: u32,
}

/// The first panic since the current call began: later ones are usually its echoes (a
/// `join().unwrap()` on a thread that panicked first).
static FIRST_PANIC: Mutex<Option<Panic>> = Mutex::new(None);

/// Replaces the panic hook's printing with a note the grader turns into its message.
pub fn quiet_panics() {
    panic::set_hook(Box::new(|info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(no message)".to_string()
        };
        // An exercise's file is compiled into its grader as `tests/../src/NAME.rs`: say
        // `src/NAME.rs`, as the learner knows it.
        let (file, line) = info.location().map_or(("?".to_string(), 0), |l| {
            (l.file().replace("tests/../src/", "src/"), l.line())
        });
        let mut first = FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(Panic {
                message,
                file,
                line,
            });
        }
    }));
}

/// Learner code that panicked.
pub struct Fault {
    todo: bool,
    text: String,
}

impl Fault {
    /// Whether it is only an untouched `todo!()`.
    pub fn is_todo(&self) -> bool {
        self.todo
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Fault> for String {
    fn from(fault: Fault) -> String {
        fault.text
    }
}

/// Calls `f`, which runs the learner's function `function` of exercise `exercise`.
pub fn call<T>(exercise: &str, function: &str, f: impl FnOnce() -> T) -> Result<T, Fault> {
    *FIRST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = None;
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Ok(value),
        Err(_) => {
            let panic = FIRST_PANIC
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or(Panic {
                    message: "(no message)".into(),
                    file: "?".into(),
                    line: 0,
                });
            Err(fault(exercise, function, panic))
        }
    }
}

fn fault(exercise: &str, function: &str, panic: Panic) -> Fault {
    if panic.message.starts_with("not yet implemented") {
        let text = match manifest::entry(exercise) {
            Some(e) => fill(
                NOT_DONE,
                &[&panic.file, &panic.line, &e.summary, &e.chapter, &e.number],
            ),
            None => format!(
                "not done yet: {}:{} still has todo!()",
                panic.file, panic.line
            ),
        };
        return Fault { todo: true, text };
    }
    Fault {
        todo: false,
        text: fill(
            PANICKED,
            &[&function, &panic.file, &panic.line, &panic.message],
        ),
    }
}
