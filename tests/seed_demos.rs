//! The seeds' three examples, end to end through the binary: `demo process`, `demo pool`,
//! `demo four`, with PIDs redacted, real and distinct, and nothing left running.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::{assert_none_left, pids_in, procbook, redact_pids, run, tag};

const LIMIT: Duration = Duration::from_secs(30);

fn demo(args: &[&str]) -> (support::Run, String) {
    let tag = tag("seed");
    let mut words = vec!["demo"];
    words.extend_from_slice(args);
    let out = run(procbook(&tag, &words), "", LIMIT);
    assert_none_left(&tag, Duration::from_secs(2));
    (out, tag)
}

#[test]
fn demo_process_shows_a_child_with_its_own_pid() {
    let (out, _) = demo(&["process"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        redact_pids(&out.stdout),
        "\
[MainProcess pid [PID]] the parent: procbook itself
[Process-1 pid [PID]] started
[Process-1 pid [PID]] Hello, Alice! I am Process-1 (pid [PID]).
[Process-1 pid [PID]] ended: exit code 0
joined Process-1: exit code 0 (Python's exitcode: 0)
note: Process-1 ran with PID [PID], the parent with PID [PID]: two processes, each with its own memory.
note: join() waited for the child and reaped it; the exit code is how it ended.
"
    );
    let pids: BTreeSet<u32> = pids_in(&out.stdout).into_iter().collect();
    assert_eq!(pids.len(), 2, "one parent and one child PID: {pids:?}");
}

#[test]
fn demo_pool_squares_one_to_nine_and_names_its_workers() {
    let (out, _) = demo(&["pool", "--workers", "3"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = redact_pids(&out.stdout);
    assert!(
        text.contains("\n[1, 4, 9, 16, 25, 36, 49, 64, 81]\n"),
        "{text}"
    );
    for n in 1..=3 {
        let started = format!("[SpawnPoolWorker-{n} pid [PID]] started");
        assert!(text.contains(&started), "missing {started:?} in\n{text}");
    }
    // chunksize 1 = ceil(9 / (4 x 3)): one chunk per item, every square reported by a worker.
    assert!(text.contains("chunksize 1: Python's default"), "{text}");
    let chunks = text.lines().filter(|l| l.contains("] square[")).count();
    assert_eq!(chunks, 9, "{text}");
    let pids: BTreeSet<u32> = pids_in(&out.stdout).into_iter().collect();
    assert_eq!(pids.len(), 3, "three workers, three PIDs: {pids:?}");
}

#[test]
fn demo_pool_takes_an_explicit_chunksize() {
    let (out, _) = demo(&["pool", "--workers", "2", "--chunksize", "4"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let chunk_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("] square["))
        .collect();
    assert_eq!(
        chunk_lines.len(),
        3,
        "9 items in chunks of 4: {chunk_lines:?}"
    );
    assert!(out.stdout.contains("chunksize 4, as you asked"));
}

#[test]
fn demo_four_prints_four_numbers_from_four_processes() {
    let (out, _) = demo(&["four"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = redact_pids(&out.stdout);
    for n in 1..=4 {
        let line = format!("Process Process-{n}: {n} (pid [PID])");
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    // Issue 11 item 8: each line names its process and PID once, not in a tag and again.
    for line in text.lines() {
        assert!(
            line.matches("pid [PID]").count() <= 1,
            "name and PID twice: {line:?}"
        );
    }
    let pids: BTreeSet<u32> = pids_in(&out.stdout).into_iter().collect();
    assert_eq!(pids.len(), 4, "four processes, four PIDs: {pids:?}");
    assert!(text.contains("They started in the order 1, 2, 3, 4 and printed in the order"));
}

#[test]
fn bad_demo_arguments_get_one_line_and_a_nonzero_exit() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["po\u{1}l"],
            "error: unknown demo 'po\\u{1}l'; did you mean 'pool'?",
        ),
        (
            &["pool", "--workers", "0"],
            "error: --workers takes 1 to 64, not 0",
        ),
        (
            &["pool", "--workers", "100000"],
            "error: --workers takes 1 to 64, not 100000",
        ),
        (&["pol"], "error: unknown demo 'pol'; did you mean 'pool'?"),
        (
            &["four", "--workers", "2"],
            "error: demo four takes no options",
        ),
        (
            &["pool", "--chunksize", "0"],
            "error: --chunksize takes 1 to 10000, not 0",
        ),
    ];
    for (args, want) in cases {
        let (out, _) = demo(args);
        assert_ne!(out.code, Some(0), "{args:?} should fail");
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "{args:?}: one line, got {:?}",
            out.stderr
        );
        assert!(
            out.stderr.starts_with(want),
            "{args:?}: got {:?}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?} printed {:?}", out.stdout);
    }
}

/// Issue 11 item 7: one worker is "1 worker", in the note and in the formula.
#[test]
fn one_worker_is_singular() {
    let (out, _) = demo(&["pool", "--workers", "1"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "note: 1 worker, chunksize 3: Python's default, 9 items / (4 x 1 worker), rounded up;"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("1 workers"), "{}", out.stdout);
}
