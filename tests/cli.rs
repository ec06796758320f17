//! The command line: `procbook lesson N`, `lessons`, `sys`, `demo sys`, and one-line errors with
//! exit status 2 for what clap cannot parse. Each run has a time limit and leaves nothing behind.

mod support;

use std::time::Duration;

use support::{assert_none_left, procbook, redact_pids, run, tag};

const LIMIT: Duration = Duration::from_secs(60);
const GRACE: Duration = Duration::from_secs(5);

fn procbook_run(name: &str, args: &[&str], columns: &str) -> support::Run {
    let tag = tag(name);
    let mut cmd = procbook(&tag, args);
    cmd.env("COLUMNS", columns);
    let run = run(cmd, "", LIMIT);
    assert_none_left(&tag, GRACE);
    run
}

#[test]
fn lesson_shows_the_chapter_with_its_demo_run_live_beside_the_code() {
    let run = procbook_run("lesson", &["lesson", "4"], "140");
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = redact_pids(&run.stdout);
    assert!(out.starts_with("Creating a process\n══════"), "{out}");
    let beside: Vec<&str> = out.lines().filter(|l| l.contains(" │ ")).collect();
    assert!(
        beside
            .iter()
            .any(|l| l.contains("│ [Process-1 pid [PID]] Hello, Alice! I am Process-1")),
        "the child's greeting, live, beside the code:\n{out}"
    );
    assert!(
        beside.iter().any(|l| l.contains("Process::new(&GREET")),
        "the real source, included from src/demos/process.rs:\n{out}"
    );
    assert!(out.contains("\ntry: demo process\n"), "{out}");
    assert!(
        out.ends_with("end of lesson 4; next: lesson 5 (or type next)\n"),
        "{out}"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn a_narrow_screen_puts_the_demo_under_its_text() {
    let run = procbook_run("narrow", &["lesson", "7"], "80");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!run.stdout.contains(" │ "), "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let label = lines
        .iter()
        .position(|l| *l == "live, on this machine: demo four")
        .unwrap_or_else(|| panic!("no live demo:\n{}", run.stdout));
    assert!(
        lines[label + 1..]
            .iter()
            .take(8)
            .filter(|l| l.starts_with("[Process-"))
            .count()
            >= 4,
        "four processes printed under the label:\n{}",
        run.stdout
    );
    assert!(
        lines.iter().all(|l| l.chars().count() <= 80),
        "{}",
        run.stdout
    );
}

#[test]
fn lessons_lists_every_chapter() {
    let run = procbook_run("lessons", &["lessons"], "80");
    assert_eq!(run.code, Some(0));
    assert!(
        run.stdout
            .starts_with("Lessons (open one with: lesson N)\n")
    );
    assert!(
        run.stdout.contains("\n   0  Introduction\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n  12  Beyond one machine\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn sys_shows_the_machine_the_tree_and_each_core() {
    let run = procbook_run("sys", &["sys"], "80");
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = redact_pids(&run.stdout);
    assert!(out.starts_with("This machine: "), "{out}");
    assert!(out.contains(" logical core"), "{out}");
    let tree_root = run
        .stdout
        .lines()
        .find(|l| l.trim_end().ends_with("  procbook"))
        .unwrap_or_else(|| panic!("procbook itself is the root:\n{out}"));
    assert!(
        tree_root
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<u32>()
            .is_ok(),
        "the PID column is a number: {tree_root:?}"
    );
    assert!(out.contains("\n  cpu0 "), "{out}");
}

#[test]
fn the_sys_demo_shows_each_worker_as_a_child_of_procbook() {
    let run = procbook_run("sys-demo", &["demo", "sys", "--workers", "3"], "80");
    assert_eq!(run.code, Some(0), "{run:?}");
    let root = run
        .stdout
        .lines()
        .find(|l| l.ends_with("(MainProcess)"))
        .unwrap_or_else(|| panic!("no root:\n{}", run.stdout));
    // The PID column holds a number, not `pid N`.
    let root_pid: u32 = root.split_whitespace().next().unwrap().parse().unwrap();
    let workers: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("─ ") && l.contains("(SpawnPoolWorker-"))
        .collect();
    assert_eq!(workers.len(), 3, "{}", run.stdout);
    for line in workers {
        let ppid: u32 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert_eq!(ppid, root_pid, "{line}");
    }
    // The load is sampled while every worker counts its share of primes, and the count is
    // their real result (a part with no prime in it would mean no work was done).
    assert!(
        run.stdout
            .contains("Load on each core while 3 workers counted primes ("),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n  cpu0 "), "{}", run.stdout);
    let found = run
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("they found "))
        .unwrap_or_else(|| panic!("no count:\n{}", run.stdout));
    let primes: u64 = found
        .split_whitespace()
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(primes > 0, "{found}");
    assert_eq!(
        run.stdout.matches("finished items").count(),
        3,
        "each worker ran one part:\n{}",
        run.stdout
    );
}

#[test]
fn bad_arguments_are_one_line_with_status_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["lesso", "3"],
            "error: unrecognized subcommand 'lesso'; some similar subcommands exist: 'lessons', 'lesson' (try: procbook --help)\n",
        ),
        (
            &["demo", "pool", "--workers", "0"],
            "error: --workers takes 1 to 64, not 0 (try: procbook --help)\n",
        ),
        (
            &["demo", "pool", "--workers", "-1"],
            "error: --workers takes 1 to 64, not -1 (try: procbook --help)\n",
        ),
        (
            &["lesson", "99"],
            "error: there is no lesson 99: lessons are 0 to 12 (see them with: procbook lessons)\n",
        ),
        (
            &["lesson"],
            "error: the following required arguments were not provided: <N> (try: procbook --help)\n",
        ),
        (
            &["demo", "pool", "--frob"],
            "error: unexpected argument '--frob' found (try: procbook --help)\n",
        ),
    ];
    for (args, expected) in cases {
        let run = procbook_run("bad", args, "80");
        assert_eq!(run.code, Some(2), "{args:?}");
        assert_eq!(run.stderr, expected, "{args:?}");
        assert_eq!(run.stdout, "");
    }
}

/// Issue 11 item 7: `demo pool --help` is that demo's own help, on the command line too.
#[test]
fn a_demos_help_is_its_own() {
    let run = procbook_run("demo-help", &["demo", "pool", "--help"], "80");
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.starts_with("demo pool: a pool maps square"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("Usage: procbook demo"),
        "{}",
        run.stdout
    );
}
