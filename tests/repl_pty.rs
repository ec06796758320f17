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
