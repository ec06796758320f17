//! Which exercises are done, kept between runs in a small JSON file.
//!
//! The file lives in the workspace's `target/procbook/progress.json`, not in the user's data
//! directory: progress belongs to one clone's exercises (a second clone has its own answers),
//! and it is only a note of what the graders last said about the code, which is the truth. If
//! `cargo clean` removes it, the next `procbook check` writes it again.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The exercises the graders last passed, by name.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    done: BTreeSet<String>,
}

impl Progress {
    /// Where the progress of the workspace at `root` is kept.
    pub fn path(root: &Path) -> PathBuf {
        root.join("target").join("procbook").join("progress.json")
    }

    /// The progress kept at `path`; none yet (or a file from an older procbook that no
    /// longer reads) is an empty start, since grading again recovers it.
    pub fn load(path: &Path) -> Progress {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes it to `path` whole: a new file renamed over the old, so a reader never sees
    /// half of one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().context("progress file has no directory")?;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(self)?;
        fs::write(&partial, text + "\n")
            .with_context(|| format!("writing {}", partial.display()))?;
        fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
    }

    pub fn is_done(&self, name: &str) -> bool {
        self.done.contains(name)
    }

    pub fn set(&mut self, name: &str, done: bool) {
        if done {
            self.done.insert(name.to_string());
        } else {
            self.done.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_round_trip_and_a_missing_file() {
        let dir = std::env::temp_dir().join(format!("procbook-progress-{}", std::process::id()));
        let path = Progress::path(&dir);
        assert_eq!(Progress::load(&path), Progress::default());
        let mut progress = Progress::default();
        progress.set("ex01_cores", true);
        progress.set("ex02_memory", true);
        progress.set("ex02_memory", false);
        progress.save(&path).unwrap();
        let again = Progress::load(&path);
        assert!(again.is_done("ex01_cores"));
        assert!(!again.is_done("ex02_memory"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
