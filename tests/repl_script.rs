//! The REPL with a script on piped stdin: one command a line, no prompt or welcome, the same
//! output as the command line, errors one line each on stderr, and nothing left running.

mod support;

use std::time::Duration;

use support::{assert_none_left, procbook, redact_pids, run, tag};

const LIMIT: Duration = Duration::from_secs(60);
const GRACE: Duration = Duration::from_secs(5);

#[test]
fn a_script_runs_demos_and_lessons_and_reports_mistakes() {
    let tag = tag("script");
    let mut cmd = procbook(&tag, &[]);
    cmd.env("COLUMNS", "140");
    let script =
        "demo pool --workers 2\n\nlesson 6\nfrobnicate\ndemo pool --workers 0\nquit\ndemo four\n";
    let run = run(cmd, script, LIMIT);
    assert_none_left(&tag, GRACE);
    // Two lines failed: the exit status says so.
    assert_eq!(run.code, Some(1), "{run:?}");
    let out = redact_pids(&run.stdout);

    assert!(!out.contains("procbook>"), "no prompt in a script:\n{out}");
    assert!(
        !out.contains("This machine"),
        "no welcome in a script:\n{out}"
    );

    // `demo pool`: two workers, named from procbook's one counter, each started and ended.
    for worker in ["SpawnPoolWorker-1", "SpawnPoolWorker-2"] {
        assert!(
            out.contains(&format!("[{worker} pid [PID]] started\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("[{worker} pid [PID]] ended: exit code 0\n")),
            "{out}"
        );
    }
    assert!(
        out.contains("\n[1, 4, 9, 16, 25, 36, 49, 64, 81]\n"),
        "{out}"
    );
    assert!(
        out.contains("note: 2 workers, chunksize 2: Python's default"),
        "{out}"
    );

    // `lesson 6`: the chapter, its code, and its demos' live output beside the code.
    assert!(out.contains("Creating a pool of workers\n"), "{out}");
    let beside: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" │ [SpawnPoolWorker-"))
        .collect();
    assert!(!beside.is_empty(), "the demo runs beside the text:\n{out}");
    // Lesson 6 starts new pools: the counter goes on from the first demo's workers.
    assert!(
        out.contains("│ [SpawnPoolWorker-3 pid [PID]] started"),
        "{out}"
    );
    assert!(out.contains("end of lesson 6; next: lesson 7"), "{out}");

    // Mistakes: one line each on stderr with its line number, the script goes on, and the
    // last line counts them.
    assert_eq!(
        run.stderr,
        "error: line 4: unknown command 'frobnicate'; type help to see the commands\n\
         error: line 5: --workers takes 1 to 64, not 0 \
         (usage: demo [NAME] [--workers N] [--chunksize K] [--json] [--engine ENGINE])\n\
         error: 2 of 6 lines failed\n"
    );
    // `quit` ends the script: `demo four` after it never ran.
    assert!(!out.contains("Process-"), "{out}");
}

#[test]
fn a_script_prints_what_the_command_line_prints() {
    let width = |mut cmd: std::process::Command| {
        cmd.env("COLUMNS", "100");
        cmd
    };
    for command in ["lessons", "demo", "lesson 12", "lesson 0"] {
        let tag = tag("same");
        let from_script = run(width(procbook(&tag, &[])), &format!("{command}\n"), LIMIT);
        let words: Vec<&str> = command.split(' ').collect();
        let from_cli = run(width(procbook(&tag, &words)), "", LIMIT);
        assert_none_left(&tag, GRACE);
        assert!(!from_script.stdout.is_empty(), "{command}");
        assert_eq!(from_script.stdout, from_cli.stdout, "{command}");
        assert_eq!(from_script.stderr, from_cli.stderr, "{command}");
        assert_eq!(from_script.code, Some(0), "{command}");
        assert_eq!(from_cli.code, Some(0), "{command}");
    }
}

#[test]
fn the_end_of_a_script_ends_procbook_with_status_0() {
    let tag = tag("eof");
    let run = run(procbook(&tag, &[]), "", LIMIT);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (Some(0), "", "")
    );
    let run = run_again(&tag, "# only a comment\n   \nlessons");
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.starts_with("Lessons"), "{run:?}");
    assert_none_left(&tag, GRACE);
}

fn run_again(tag: &str, script: &str) -> support::Run {
    run(procbook(tag, &[]), script, LIMIT)
}

/// Issue 11 item 4: the first time a command's first process is not number 1, one line says
/// why (the program-wide counter) and which lesson explains it; only once.
#[test]
fn a_worker_number_past_1_is_explained_once() {
    let tag = tag("counter");
    let script = "demo pool --workers 2\ndemo pool --workers 2\ndemo four\n";
    let run = run(procbook(&tag, &[]), script, LIMIT);
    assert_none_left(&tag, GRACE);
    assert_eq!(run.code, Some(0), "{run:?}");
    let notes: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("one counter for the whole program"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", run.stdout);
    assert!(
        notes[0].starts_with("note: SpawnPoolWorker-3, not SpawnPoolWorker-1: "),
        "{}",
        notes[0]
    );
    assert!(notes[0].contains("Lesson 7"), "{}", notes[0]);
    // It comes after the second pool's output, not the first's.
    let first_pool_end = run.stdout.find("[SpawnPoolWorker-3").unwrap();
    assert!(run.stdout.find(notes[0]).unwrap() > first_pool_end);
}

/// Issue 11 item 1, piped: a no-break space separates words as a space does.
#[test]
fn a_no_break_space_separates_words_in_a_script() {
    let tag = tag("nbsp");
    let run = run(
        procbook(&tag, &[]),
        "help\u{a0}pool\ndemo\u{3000}frob\n",
        LIMIT,
    );
    assert_none_left(&tag, GRACE);
    assert!(run.stdout.starts_with("demo pool: "), "{run:?}");
    assert!(
        run.stderr.starts_with("error: line 2: unknown demo 'frob'"),
        "{run:?}"
    );
}
