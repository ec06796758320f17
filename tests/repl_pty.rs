//! The REPL at a real terminal (a pty): Tab completion, Ctrl-C during a long demo (which must
//! stop it and reap its workers), Ctrl-C at the prompt (which clears the line), and Ctrl-D
//! (which leaves with status 0). Nothing may be left running afterwards.

mod support;

use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use expectrl::{Expect, Session};
use support::{assert_none_left, procbook, stat, tag, tagged};

/// How long any one step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

const PROMPT: &str = "procbook> ";

/// The PIDs in `[Name pid N] started` lines.
fn started_pids(text: &str) -> Vec<u32> {
    text.lines()
        .filter(|l| l.contains("] started"))
        .filter_map(|l| {
            let at = l.find(" pid ")? + 5;
            l[at..].split(']').next()?.parse().ok()
        })
        .collect()
}

#[test]
fn tab_completes_ctrl_c_stops_a_demo_and_ctrl_d_leaves() {
    let tag = tag("pty");
    let mut cmd = procbook(&tag, &[]);
    cmd.env("TERM", "xterm");
    let started = Instant::now();
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    let procbook_pid = p.get_process().pid().as_raw() as u32;

    p.expect("This machine:")
        .expect("the welcome names the machine");
    p.expect(PROMPT).expect("a prompt");

    // Tab completes the command, the demo name and the option: `demo pool --workers 2`.
    p.send("dem\t").unwrap();
    p.expect("demo ").unwrap();
    p.send("po\t").unwrap();
    p.expect("pool ").unwrap();
    p.send("--w\t").unwrap();
    p.expect("--workers ").unwrap();
    p.send("2\r").unwrap();
    p.expect("note: 2 workers")
        .expect("the completed line ran the pool demo with 2 workers");
    p.expect(PROMPT).unwrap();

    // Ctrl-C during a long demo: the workers sleep 60 s each; the stop comes at once.
    p.send("nap 60000 --workers 2\r").unwrap();
    let before = p.expect("press Ctrl-C").expect("the nap started");
    let workers = started_pids(&String::from_utf8_lossy(before.before()));
    assert_eq!(workers.len(), 2, "two workers started");
    for &pid in &workers {
        assert_eq!(stat(pid).map(|(_, ppid)| ppid), Some(procbook_pid));
    }
    let pressed = Instant::now();
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    p.expect("interrupted; every worker was stopped and reaped")
        .expect("Ctrl-C stopped the demo");
    assert!(
        pressed.elapsed() < Duration::from_secs(10),
        "the demo stopped {:?} after Ctrl-C",
        pressed.elapsed()
    );
    p.expect(PROMPT).expect("back at the prompt");
    for &pid in &workers {
        if let Some((state, ppid)) = stat(pid) {
            assert_ne!(ppid, procbook_pid, "worker {pid} is left, in state {state}");
        }
    }
    let left: Vec<u32> = tagged(&tag).into_iter().map(|(pid, _)| pid).collect();
    assert_eq!(left, vec![procbook_pid], "only procbook itself is running");

    // Ctrl-C at the prompt drops the line typed so far.
    p.send("lesso").unwrap();
    p.expect("lesso").unwrap();
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    p.expect(PROMPT).expect("a fresh prompt after Ctrl-C");
    p.send("lessons\r").unwrap();
    p.expect("Lessons (open one with: lesson N)")
        .expect("the cleared line did not run");
    p.expect(PROMPT).unwrap();

    // Ctrl-D leaves, with status 0.
    p.send(expectrl::ControlCode::EndOfTransmission).unwrap();
    let status = p.get_process().wait().expect("waiting for procbook");
    assert_eq!(status, WaitStatus::Exited(p.get_process().pid(), 0));
    assert_none_left(&tag, Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn quit_leaves_with_status_0_and_history_is_kept() {
    let tag = tag("pty-quit");
    let history = std::env::temp_dir().join(format!("procbook-history-{tag}"));
    let _ = std::fs::remove_file(&history);
    let mut cmd = procbook(&tag, &[]);
    cmd.env("TERM", "xterm").env("PROCBOOK_HISTORY", &history);
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    p.expect(PROMPT).unwrap();
    p.send("frobnicate \"\r").unwrap();
    p.expect("error: a quote is not closed in that line")
        .unwrap();
    p.expect(PROMPT).unwrap();
    p.send("lesso 3\r").unwrap();
    p.expect("did you mean 'lesson'?").unwrap();
    p.expect(PROMPT).unwrap();
    p.send("quit\r").unwrap();
    let status = p.get_process().wait().expect("waiting for procbook");
    assert_eq!(status, WaitStatus::Exited(p.get_process().pid(), 0));
    assert_none_left(&tag, Duration::from_secs(5));

    let saved = std::fs::read_to_string(&history).expect("history was saved");
    let _ = std::fs::remove_file(&history);
    for line in ["frobnicate \"", "lesso 3", "quit"] {
        assert!(
            saved.lines().any(|l| l == line),
            "{line:?} not in {saved:?}"
        );
    }
}

#[test]
fn ctrl_c_during_a_lessons_live_demo_stops_it_and_reaps_its_workers() {
    let tag = tag("pty-lesson");
    let mut cmd = procbook(&tag, &[]);
    cmd.env("TERM", "xterm").env("COLUMNS", "80");
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    let procbook_pid = p.get_process().pid().as_raw() as u32;
    p.expect(PROMPT).unwrap();
    // Lesson 3 runs the `gil` demo (seconds of work on every core) right after its code.
    p.send("lesson 3\r").unwrap();
    p.expect("fn on_threads(")
        .expect("the lesson reached its demo");
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    p.expect("interrupted; every worker was stopped and reaped")
        .expect("Ctrl-C stopped the lesson");
    p.expect(PROMPT).expect("back at the prompt");
    let left: Vec<u32> = tagged(&tag).into_iter().map(|(pid, _)| pid).collect();
    assert_eq!(left, vec![procbook_pid], "only procbook itself is running");
    p.send("quit\r").unwrap();
    let status = p.get_process().wait().expect("waiting for procbook");
    assert_eq!(status, WaitStatus::Exited(p.get_process().pid(), 0));
    assert_none_left(&tag, Duration::from_secs(5));
}

/// procbook on a pty with `home` as its HOME (history and the last lesson are kept there).
fn at_home(
    tag: &str,
    home: &std::path::Path,
) -> Session<expectrl::process::unix::UnixProcess, expectrl::process::unix::PtyStream> {
    let mut cmd = procbook(tag, &[]);
    cmd.env("TERM", "xterm")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("PROCBOOK_HISTORY");
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    p.expect(PROMPT).expect("a prompt");
    p
}

fn quit(mut p: Session<expectrl::process::unix::UnixProcess, expectrl::process::unix::PtyStream>) {
    p.send("quit\r").unwrap();
    let status = p.get_process().wait().expect("waiting for procbook");
    assert_eq!(status, WaitStatus::Exited(p.get_process().pid(), 0));
}

/// Issue 11 items 3 and 8: two sessions open at once with one HOME both keep their lines; a
/// line that is not UTF-8 loses nothing after it; the last lesson is remembered.
#[test]
fn history_is_merged_across_sessions_and_the_last_lesson_remembered() {
    let tag = tag("pty-history");
    let home = std::env::temp_dir().join(format!("procbook-home-{tag}"));
    let _ = std::fs::remove_dir_all(&home);
    let history = home.join("data").join("procbook").join("history");
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    std::fs::write(&history, b"#V2\nlessons\nhelp \xff\xfe bad\nhelp four\n").unwrap();

    let mut first = at_home(&tag, &home);
    let mut second = at_home(&tag, &home);
    // The line after the bad one came back: Up recalls it.
    first.send("\u{1b}[A").unwrap();
    first
        .expect("help four")
        .expect("the entry after a bad line survived");
    first.send("\u{15}lesson 5\r").unwrap();
    first.expect("end of lesson 5").unwrap();
    first.expect(PROMPT).unwrap();
    second.send("help pool\r").unwrap();
    second.expect("demo pool: ").unwrap();
    second.expect(PROMPT).unwrap();
    quit(second);
    quit(first);

    let saved = String::from_utf8_lossy(&std::fs::read(&history).unwrap()).into_owned();
    for line in ["lessons", "help four", "lesson 5", "help pool"] {
        assert!(
            saved.lines().any(|l| l == line),
            "{line:?} not in {saved:?}"
        );
    }

    // A new session goes on from lesson 5.
    let mut third = at_home(&tag, &home);
    third.send("prev\r").unwrap();
    third
        .expect("end of lesson 4")
        .expect("prev after a restart opens the lesson before the last one");
    third.expect(PROMPT).unwrap();
    quit(third);
    assert_none_left(&tag, Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&home);
}

/// Issue 11 item 8: without colour a hint is marked so it cannot pass for typed text, and
/// Ctrl-C at the prompt wipes it from the abandoned line (from the end of what was typed).
#[test]
fn hints_are_marked_without_colour_and_ctrl_c_wipes_them() {
    let tag = tag("pty-hint");
    let mut cmd = procbook(&tag, &[]);
    cmd.env("TERM", "xterm");
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    p.expect(PROMPT).unwrap();
    p.send("dem").unwrap();
    p.expect("dem‹o [NAME]›").expect("a marked hint");
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    let column = PROMPT.len() + "dem".len();
    let wipe = format!("\u{1b}[1A\r\u{1b}[{column}C\u{1b}[K");
    p.expect(wipe.as_str())
        .expect("the hint's row is cleared from the end of the typed text");
    p.expect(PROMPT).unwrap();
    // A non-ASCII space in a hint at every key (issue 11 item 1): no panic, the hint follows.
    p.send("demo\u{a0}po").unwrap();
    p.expect("po‹ol  (a pool maps square")
        .expect("the hint after U+00A0");
    p.send("\u{15}").unwrap();
    quit(p);
    assert_none_left(&tag, Duration::from_secs(5));
}
