//! `watch`: grade again whenever an exercise file is saved, with single keys for the rest of
//! the loop (h hint, l list, r reset, c check all, q quit), as in rustlings.

use super::{Progress, Workbook, typed};
use anyhow::{Context, Result};
use colored::Colorize;
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long `watch` waits for news before asking `stop()` again.
const TICK: Duration = Duration::from_millis(100);
/// Saving often makes several events at once (an editor writes, renames, touches): wait for
/// this much quiet before grading.
const SETTLE: Duration = Duration::from_millis(250);

const WATCHING: &str = "Watching {dir}: save an exercise file and it is graded again.";
const KEYS: &str = "Keys: h hint · l list · r reset · c check all · q quit (Ctrl-C stops too).";
const RESET_AGAIN: &str = "Press r again to put exercise {n} back to its stub (your version is \
kept under target/procbook/reset/); any other key keeps it.";

pub fn watch(workbook: &Workbook, out: &mut dyn Write, stop: &dyn Fn() -> bool) -> Result<()> {
    let dir = workbook.root().join("exercises").join("src");
    let (send, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(send).context("starting to watch files")?;
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    let keys = Keys::start();
    writeln!(
        out,
        "{}",
        WATCHING
            .replace("{dir}", &dir.display().to_string())
            .dimmed()
    )?;
    writeln!(out, "{}", KEYS.dimmed())?;
    // What grading found in this session: never read from a file.
    let mut progress = Progress::default();
    let Some(summary) = workbook.grade(None, &mut progress, out, stop)? else {
        return Ok(());
    };
    // The exercise the keys act on: the one saved last, else the first not done.
    let mut current = summary.next;
    let mut reset_asked = false;

    // The exercises saved since the last grading; `None` in it means "something else: all".
    let mut saved: BTreeSet<Option<u32>> = BTreeSet::new();
    let mut last_event = Instant::now();
    loop {
        if stop() {
            return Ok(());
        }
        if let Some(key) = keys.next() {
            let confirm = std::mem::take(&mut reset_asked);
            match (key, current) {
                ('q', _) => return Ok(()),
                ('c', _) => {
                    writeln!(out)?;
                    let Some(summary) = workbook.grade(None, &mut progress, out, stop)? else {
                        return Ok(());
                    };
                    current = summary.next;
                }
                ('l', _) => {
                    writeln!(out)?;
                    let Some(listed) = workbook.list(out, stop)? else {
                        return Ok(());
                    };
                    progress = listed;
                }
                ('h', Some(n)) => {
                    writeln!(out)?;
                    workbook.hint(n, out)?;
                }
                ('r', Some(n)) if confirm => {
                    writeln!(out)?;
                    workbook.reset(n, out)?;
                }
                ('r', Some(n)) => {
                    writeln!(out, "{}", RESET_AGAIN.replace("{n}", &n.to_string()))?;
                    reset_asked = true;
                }
                ('h' | 'r', None) => {
                    writeln!(out, "All exercises are done: nothing to hint or reset.")?
                }
                _ => writeln!(out, "{}", typed(KEYS).dimmed())?,
            }
            out.flush()?;
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
            let Some(summary) = workbook.grade(which, &mut progress, out, stop)? else {
                return Ok(());
            };
            current = which.or(summary.next);
        }
    }
}

/// Single keys typed while watching: read on a thread of their own, with the terminal in
/// non-canonical mode without echo, and put back as it was when done. Only from a terminal.
struct Keys {
    keys: mpsc::Receiver<char>,
    done: Arc<AtomicBool>,
    saved: Option<libc::termios>,
}

impl Keys {
    fn start() -> Keys {
        let saved = raw_mode();
        let (send, keys) = mpsc::channel();
        let done = Arc::new(AtomicBool::new(false));
        if saved.is_none() {
            // Not a terminal (a script on a pipe, say): its lines are not keys.
            return Keys { keys, done, saved };
        }
        let reading = Arc::clone(&done);
        // Without a thread, no keys: watching still works.
        let _ = thread::Builder::new()
            .name("watch-keys".into())
            .spawn(move || {
                let mut poll = [libc::pollfd {
                    fd: 0,
                    events: libc::POLLIN,
                    revents: 0,
                }];
                while !reading.load(Ordering::SeqCst) {
                    // SAFETY: poll reads and writes only the one pollfd given.
                    let ready = unsafe { libc::poll(poll.as_mut_ptr(), 1, 100) };
                    if ready <= 0 {
                        continue;
                    }
                    let mut byte = [0u8; 1];
                    // SAFETY: read writes at most one byte into `byte`.
                    let n = unsafe { libc::read(0, byte.as_mut_ptr().cast(), 1) };
                    if n <= 0 {
                        // The end of input (a closed pipe): no more keys, but watching goes on.
                        return;
                    }
                    let key = (byte[0] as char).to_ascii_lowercase();
                    if !key.is_whitespace() && send.send(key).is_err() {
                        return;
                    }
                }
            });
        Keys { keys, done, saved }
    }

    fn next(&self) -> Option<char> {
        self.keys.try_recv().ok()
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(saved) = &self.saved {
            // SAFETY: puts back the terminal settings read from the same descriptor.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
        }
    }
}

/// Turns off line buffering and echo on a terminal stdin; returns the settings to put back.
fn raw_mode() -> Option<libc::termios> {
    // SAFETY: isatty, tcgetattr and tcsetattr only read and write the termios given.
    unsafe {
        if libc::isatty(0) != 1 {
            return None;
        }
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut saved) != 0 {
            return None;
        }
        let mut raw = saved;
        // Signals (Ctrl-C) still work: ISIG stays on.
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        libc::tcsetattr(0, libc::TCSANOW, &raw);
        Some(saved)
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
