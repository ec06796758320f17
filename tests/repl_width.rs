//! Issue 11 item 2: one layout rule at any width. Through a real terminal (a pty sized with
//! `stty` before procbook starts) at 80, 120, 160 and 200 columns: the welcome, `help`, the
//! demo list, every lesson (its demos run live) and every demo. No line may be wider than the
//! terminal, and no line of code a lesson shows may be split: each appears whole, or cut with
//! `…`. One session per width runs everything, and nothing may be left running.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Expect, Session};
use procbook::term::{strip_ansi, visible_width};
use support::{BIN, TAG_ENV, assert_none_left, tag, tagged};

/// How long any one command may take (the `gil` demo computes for seconds on every core).
const STEP: Duration = Duration::from_secs(120);

const PROMPT: &str = "procbook> ";

/// procbook at a terminal `columns` wide.
fn procbook_at(tag: &str, columns: usize) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "stty cols \"$0\" rows 50 && exec \"$1\"",
        &columns.to_string(),
        BIN,
    ])
    .env(TAG_ENV, tag)
    .env("NO_COLOR", "1")
    .env("PROCBOOK_HISTORY", "/dev/null")
    .env("TERM", "xterm")
    .env_remove("COLUMNS");
    cmd
}

/// The lines as they show on screen: colour and cursor sequences gone, and of a line written
/// over (`\r`), only what was written last.
fn screen_lines(raw: &[u8]) -> Vec<String> {
    let text = strip_ansi(&String::from_utf8_lossy(raw));
    text.split('\n')
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            l.rsplit('\r').next().unwrap_or("").to_string()
        })
        .collect()
}

fn columns_of(line: &str) -> usize {
    visible_width(line)
}

/// Every line of `output` (the prompt's own line aside: rustyline wraps what is typed) fits.
fn assert_fits(what: &str, output: &[String], columns: usize) {
    for line in output {
        if line.starts_with(PROMPT) {
            continue;
        }
        assert!(
            columns_of(line) <= columns,
            "{what} at {columns} columns: a line of {} columns:\n{line}",
            columns_of(line)
        );
    }
}

/// Every code line of lesson `n` shows whole, or cut with `…`: never split.
fn assert_code_whole(n: u32, output: &[String], columns: usize) {
    let code = procbook::lessons::code_lines(n).expect("the lesson's code");
    for line in code
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.chars().count() >= 12)
    {
        let start: String = line.chars().take(12).collect();
        let shown = output.iter().any(|out| {
            out.match_indices(&start).any(|(at, _)| {
                // In a side-by-side row, the left column ends at the gutter.
                let rest = &out[at..];
                let rest = rest.split(" │ ").next().unwrap_or(rest).trim_end();
                rest.starts_with(line)
                    || rest
                        .strip_suffix('…')
                        .is_some_and(|cut| line.starts_with(cut))
            })
        });
        assert!(
            shown,
            "lesson {n} at {columns} columns: the code line\n{line}\nis not shown whole or cut with …"
        );
    }
}

/// Run `command` at the prompt and return the screen lines it printed.
fn run(p: &mut OsSession, command: &str) -> Vec<String> {
    p.send(format!("{command}\r")).unwrap();
    // rustyline redraws the prompt at each key; the command's output starts after Enter's
    // newline and ends at the next prompt.
    p.expect("\n")
        .unwrap_or_else(|e| panic!("`{command}` was not entered: {e}"));
    let found = p
        .expect(PROMPT)
        .unwrap_or_else(|e| panic!("`{command}` did not come back to the prompt: {e}"));
    screen_lines(found.before())
}

fn every_screen_fits(columns: usize) {
    let tag = tag(&format!("width-{columns}"));
    let started = Instant::now();
    let mut p = Session::spawn(procbook_at(&tag, columns)).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    let welcome = p.expect(PROMPT).expect("the welcome and a prompt");
    let welcome = screen_lines(welcome.before());
    assert!(
        welcome.iter().any(|l| l.starts_with("This machine:")),
        "{welcome:?}"
    );
    assert_fits("the welcome", &welcome, columns);

    for command in ["help", "demo", "lessons", "help pool"] {
        let output = run(&mut p, command);
        assert!(output.len() > 1, "`{command}` printed nothing");
        assert_fits(command, &output, columns);
    }
    for lesson in procbook::lessons::all() {
        let n = lesson.number;
        let output = run(&mut p, &format!("lesson {n}"));
        assert!(
            output
                .iter()
                .any(|l| l.contains(&format!("end of lesson {n}"))),
            "lesson {n} at {columns} did not finish:\n{}",
            output.join("\n")
        );
        assert_fits(&format!("lesson {n}"), &output, columns);
        assert_code_whole(n, &output, columns);
    }
    for demo in procbook::demos::DEMOS {
        let output = run(&mut p, &format!("demo {}", demo.name));
        assert!(
            !output.iter().any(|l| l.starts_with("error:")),
            "demo {} failed at {columns}:\n{}",
            demo.name,
            output.join("\n")
        );
        assert_fits(&format!("demo {}", demo.name), &output, columns);
    }

    let procbook_pid = p.get_process().pid().as_raw() as u32;
    let left: Vec<u32> = tagged(&tag).into_iter().map(|(pid, _)| pid).collect();
    assert_eq!(left, vec![procbook_pid], "only procbook itself is running");
    p.send("quit\r").unwrap();
    let status = p.get_process().wait().expect("waiting for procbook");
    assert_eq!(status, WaitStatus::Exited(p.get_process().pid(), 0));
    assert_none_left(&tag, Duration::from_secs(5));
    eprintln!("{columns} columns: {:?}", started.elapsed());
}

#[test]
fn at_80_columns_nothing_is_wider_and_no_code_is_split() {
    every_screen_fits(80);
}

#[test]
fn at_120_columns_nothing_is_wider_and_no_code_is_split() {
    every_screen_fits(120);
}

#[test]
fn at_160_columns_nothing_is_wider_and_no_code_is_split() {
    every_screen_fits(160);
}

#[test]
fn at_200_columns_nothing_is_wider_and_no_code_is_split() {
    every_screen_fits(200);
}
