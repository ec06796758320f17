//! Scratch space: one private folder per run of procbook, `$TMPDIR/procbook-run-<pid>-<start>`
//! (the process's start time tells a live run from a reused PID), removed whenever procbook
//! exits: normally, on an error, on a panic, and on SIGTERM, SIGHUP or Ctrl-C (see
//! [`crate::shutdown`]). Only kill -9 can leave it, so at start the folders of runs whose
//! process is gone are removed.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

/// What every run's folder is called before its PID and start time.
const PREFIX: &str = "procbook-run-";

/// This run's folder, once something has asked for scratch space.
static FOLDER: Mutex<Option<PathBuf>> = Mutex::new(None);

fn folder() -> std::sync::MutexGuard<'static, Option<PathBuf>> {
    FOLDER.lock().unwrap_or_else(|e| e.into_inner())
}

/// A new private folder `NAME-N` inside this run's scratch folder, made on first use.
pub fn make(name: &str) -> Result<PathBuf> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let mut run = folder();
    let run = match &*run {
        Some(dir) => dir.clone(),
        None => {
            let dir = std::env::temp_dir().join(run_name(std::process::id(), start_time()));
            private_dir(&dir)?;
            *run = Some(dir.clone());
            dir
        }
    };
    let dir = run.join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
    private_dir(&dir)?;
    Ok(dir)
}

fn private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the scratch folder {}", dir.display()))
}

/// Remove this run's folder and everything in it. Safe to call more than once.
pub fn remove() {
    if let Some(dir) = folder().take() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Removes this run's folder when dropped: `main` holds one, so an unwinding panic cleans up.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        remove();
    }
}

fn run_name(pid: u32, start: u64) -> String {
    format!("{PREFIX}{pid}-{start}")
}

/// Remove the scratch folders of procbook runs that are gone (killed with -9), and those of
/// older versions (`procbook-PID-N`, `procbook-ipc-PID`) whose process is gone. Only folders
/// this user owns; never one of a run that is still alive.
pub fn sweep() {
    let tmp = std::env::temp_dir();
    let Ok(entries) = fs::read_dir(&tmp) else {
        return;
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let gone = if let Some(rest) = name.strip_prefix(PREFIX) {
            let mut parts = rest.splitn(2, '-');
            match (
                parts.next().and_then(|p| p.parse::<u32>().ok()),
                parts.next().and_then(|s| s.parse::<u64>().ok()),
            ) {
                (Some(pid), Some(start)) => {
                    process_start(pid) != Some(start) && holds_only_runs_folders(&tmp.join(name))
                }
                _ => false,
            }
        } else {
            legacy(&tmp.join(name), name)
        };
        if !gone {
            continue;
        }
        let path = tmp.join(name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() && meta.uid() == me => {
                let _ = fs::remove_dir_all(&path);
            }
            _ => {}
        }
    }
}

/// Does `dir` hold only what [`make`] makes (folders named `NAME-N`)? Then it is a run's.
fn holds_only_runs_folders(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.into_iter().all(|entry| {
        entry.is_ok_and(|e| {
            let name = e.file_name();
            let made = name
                .to_str()
                .and_then(|n| n.rsplit_once('-'))
                .is_some_and(|(word, n)| {
                    !word.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                });
            made && e.file_type().is_ok_and(|t| t.is_dir())
        })
    })
}

/// The files older versions of procbook kept in `procbook-PID-N` (Python scripts) and
/// `procbook-ipc-PID` (demo ipc's queue, pipe and counter).
const LEGACY_FILES: &[&str] = &[
    "multiprocessing_bench.py",
    "procbook_gil.py",
    "procbook_start_method.py",
    "queue",
    "pipe",
    "counter",
];

/// Is `path` (named `name`) a scratch folder of an older procbook whose process is gone? Its
/// name must be exactly `procbook-PID-N` or `procbook-ipc-PID`, and it may hold nothing but
/// the files those versions wrote, so that no folder of anyone else's is ever taken for one.
fn legacy(path: &Path, name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let pid = if let Some(pid) = name.strip_prefix("procbook-ipc-") {
        digits(pid).then_some(pid)
    } else if let Some((pid, n)) = name
        .strip_prefix("procbook-")
        .and_then(|r| r.split_once('-'))
    {
        (digits(pid) && digits(n)).then_some(pid)
    } else {
        None
    };
    let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    if process_start(pid).is_some() {
        return false;
    }
    let Ok(entries) = fs::read_dir(path) else {
        return false;
    };
    entries.into_iter().all(|entry| {
        entry.is_ok_and(|e| {
            let name = e.file_name();
            name.to_str().is_some_and(|n| LEGACY_FILES.contains(&n))
                && e.file_type().is_ok_and(|t| !t.is_dir() && !t.is_symlink())
        })
    })
}

/// This process's start time, in clock ticks after boot.
fn start_time() -> u64 {
    process_start(std::process::id()).unwrap_or(0)
}

/// When process `pid` started (field 22 of /proc/PID/stat), or `None` if there is none.
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // After the command: state is field 3, so start time (22) is the 20th from here.
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_run_is_told_from_a_dead_one_by_its_start_time() {
        let me = std::process::id();
        let start = start_time();
        assert!(start > 0);
        assert_eq!(process_start(me), Some(start));
        assert_eq!(process_start(u32::MAX), None);
        assert_eq!(run_name(me, start), format!("procbook-run-{me}-{start}"));
    }

    #[test]
    fn only_what_older_versions_wrote_counts_as_theirs() {
        let tmp = std::env::temp_dir().join(format!("procbook-legacy-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        // PID 2^22 + 1 is above Linux's highest: no such process.
        let gone = 4_194_305;
        for (name, file, theirs) in [
            (format!("procbook-{gone}-0"), "procbook_gil.py", true),
            (format!("procbook-ipc-{gone}"), "queue", true),
            (format!("procbook-{gone}-0"), "notes.txt", false),
            (format!("procbook-{gone}-notes"), "procbook_gil.py", false),
            (
                format!("procbook-{}-0", std::process::id()),
                "procbook_gil.py",
                false,
            ),
        ] {
            let dir = tmp.join(&name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(file), "").unwrap();
            assert_eq!(legacy(&dir, &name), theirs, "{name}/{file}");
            fs::remove_dir_all(&dir).unwrap();
        }
        // A run's folder holds only folders named NAME-N.
        let run = tmp.join(format!("procbook-run-{gone}-1"));
        fs::create_dir_all(run.join("python-0")).unwrap();
        assert!(holds_only_runs_folders(&run));
        fs::write(run.join("thesis.txt"), "").unwrap();
        assert!(!holds_only_runs_folders(&run));
        fs::remove_dir_all(&tmp).unwrap();
    }
}
