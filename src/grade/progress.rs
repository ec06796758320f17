//! Which exercises are done, as grading found them in this process: never read from a file.
//!
//! A progress file would be a claim anyone can write (`"done": [...]` by hand), so procbook
//! keeps none: `check` and `list` grade every exercise (a grading cycle takes a second or two
//! once built), and `watch` keeps what it graded in memory and grades a saved exercise again.

use std::collections::BTreeMap;

/// What grading said about each exercise it graded, by name: passed or not.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    graded: BTreeMap<String, bool>,
}

impl Progress {
    pub fn is_done(&self, name: &str) -> bool {
        self.graded.get(name).copied().unwrap_or(false)
    }

    /// Whether `name` has been graded at all.
    pub fn knows(&self, name: &str) -> bool {
        self.graded.contains_key(name)
    }

    pub fn set(&mut self, name: &str, done: bool) {
        self.graded.insert(name.to_string(), done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_only_what_was_graded() {
        let mut progress = Progress::default();
        assert!(!progress.knows("ex01_cores") && !progress.is_done("ex01_cores"));
        progress.set("ex01_cores", true);
        progress.set("ex02_memory", true);
        progress.set("ex02_memory", false);
        assert!(progress.is_done("ex01_cores"));
        assert!(progress.knows("ex02_memory") && !progress.is_done("ex02_memory"));
    }
}
