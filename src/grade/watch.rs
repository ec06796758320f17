//! `watch`: grade again whenever an exercise file is saved.

use super::{Workbook, check_stopped};
use anyhow::{Context, Result};
use colored::Colorize;
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long `watch` waits for news before asking `stop()` again.
const TICK: Duration = Duration::from_millis(100);
/// Saving often makes several events at once (an editor writes, renames, touches): wait for
/// this much quiet before grading.
const SETTLE: Duration = Duration::from_millis(250);

const WATCHING: &str = "Watching {dir}: save an exercise file and it is graded again.";

pub fn watch(workbook: &Workbook, out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<()> {
    let dir = workbook.root().join("exercises").join("src");
    let (send, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(send).context("starting to watch files")?;
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    writeln!(
        out,
        "{}",
        WATCHING
            .replace("{dir}", &dir.display().to_string())
            .dimmed()
    )?;
    if check_stopped(workbook, None, out, stop)? {
        return Ok(());
    }

    // The exercises saved since the last grading; `None` in it means "something else: all".
    let mut saved: BTreeSet<Option<u32>> = BTreeSet::new();
    let mut last_event = Instant::now();
    loop {
        if stop() {
            return Ok(());
        }
        match events.recv_timeout(TICK) {
            Ok(Ok(event)) => {
                if matches!(event.kind, EventKind::Access(_)) {
                    continue;
                }
                for path in &event.paths {
                    if path.extension().is_some_and(|e| e == "rs") {
                        saved.insert(exercise_number(path));
                        last_event = Instant::now();
                    }
                }
            }
            Ok(Err(e)) => writeln!(out, "{}", format!("watch: {e}").yellow())?,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if !saved.is_empty() && last_event.elapsed() >= SETTLE {
            // One exercise saved: grade it alone, which is quicker; anything else: all.
            let which = match saved.iter().collect::<Vec<_>>().as_slice() {
                [Some(n)] => Some(*n),
                _ => None,
            };
            saved.clear();
            writeln!(out)?;
            if check_stopped(workbook, which, out, stop)? {
                return Ok(());
            }
        }
    }
}

/// `exercises/src/ex06_pool_map.rs` → `Some(6)`; any other file → `None`.
fn exercise_number(path: &Path) -> Option<u32> {
    let stem = path.file_stem()?.to_str()?;
    let digits = stem.strip_prefix("ex")?.get(..2)?;
    stem.get(4..5).filter(|s| *s == "_")?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_names_its_exercise() {
        assert_eq!(
            exercise_number(Path::new("/w/exercises/src/ex06_pool_map.rs")),
            Some(6)
        );
        assert_eq!(
            exercise_number(Path::new("/w/exercises/src/ex12_choosing.rs")),
            Some(12)
        );
        assert_eq!(exercise_number(Path::new("/w/exercises/src/lib.rs")), None);
        assert_eq!(
            exercise_number(Path::new("/w/exercises/src/bin/worker.rs")),
            None
        );
    }
}
