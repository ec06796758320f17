//! How procbook looks in a terminal: colour on or off, and the few styles every command shares.

use std::io::IsTerminal;

use colored::{ColoredString, Colorize};

/// Colour only for a person at a terminal: off under `NO_COLOR` or when output is piped.
pub fn init_colour() {
    let wanted = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    colored::control::set_override(wanted);
}

/// A process's name and PID, as every demo tags a line: `[SpawnPoolWorker-3 pid 4711]`.
pub fn tag(name: &str, pid: u32) -> ColoredString {
    format!("[{name} pid {pid}]").cyan()
}

/// A heading line.
pub fn heading(text: &str) -> ColoredString {
    text.bold()
}

/// The closing "what to notice" lines of a demo.
pub fn notice(text: &str) -> ColoredString {
    format!("note: {text}").yellow()
}

/// A one-line error for the learner.
pub fn error(text: &str) -> ColoredString {
    format!("error: {text}").red().bold()
}
