//! Shared by the end-to-end tests: run the binary with a time limit, and prove that nothing it
//! started is still running afterwards.
//!
//! Every process a test starts carries `PROCBOOK_TEST_TAG=<unique>` in its environment, and
//! workers inherit it. After the test, no live process may still carry the tag, wherever it was
//! reparented to; and no child of the test process may be left a zombie.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_procbook");
pub const TAG_ENV: &str = "PROCBOOK_TEST_TAG";

/// A tag no other test uses.
pub fn tag(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `procbook ARGS` with the tag set, no colour, and a private history file.
pub fn procbook(tag: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env(TAG_ENV, tag)
        .env("NO_COLOR", "1")
        .env("PROCBOOK_HISTORY", "/dev/null");
    cmd
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run `cmd` with `input` on stdin, reading stdout and stderr at once (a full pipe would stall
/// the child); kill it and fail the test if it takes longer than `limit`.
pub fn run(mut cmd: Command, input: &str, limit: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting procbook");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_string();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for procbook") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "procbook {:?} ran past {limit:?}",
                cmd.get_args().collect::<Vec<_>>()
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Run {
        code: status.code(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// Every PID in /proc right now.
pub fn all_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

/// Live processes whose environment carries `tag`, as (pid, command line).
pub fn tagged(tag: &str) -> Vec<(u32, String)> {
    let needle = format!("{TAG_ENV}={tag}\0");
    let mut found = Vec::new();
    for pid in all_pids() {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let mut environ = environ;
        environ.push(0);
        if environ
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

/// Fail unless no process carrying `tag` is alive. `grace` covers processes that are already
/// dying by a signal (a parent-death signal is delivered asynchronously); it is a deadline,
/// not a pause: the check returns as soon as none is left.
pub fn assert_none_left(tag: &str, grace: Duration) {
    let deadline = Instant::now() + grace;
    loop {
        let left = tagged(tag);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("processes left behind: {left:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The state letter and parent PID of a process, if it exists.
pub fn stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Fail unless every PID in `pids` is gone: not running, and not a zombie we failed to reap.
pub fn assert_gone(pids: &[u32]) {
    let me = std::process::id();
    for &pid in pids {
        if let Some((state, ppid)) = stat(pid) {
            // A PID the OS already reused for someone else's process is not ours.
            assert!(ppid != me, "pid {pid} is still our child, in state {state}");
        }
    }
}

/// Replace PIDs with `[PID]` so output can be compared with a snapshot.
pub fn redact_pids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("pid ").or_else(|| rest.find("PID ")) {
        let at = [rest.find("pid "), rest.find("PID ")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(at);
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("[PID]");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Every number that follows `pid ` or `PID ` in `text`.
pub fn pids_in(text: &str) -> Vec<u32> {
    text.split(['[', ' ', '(', ')', ']', ','])
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].eq_ignore_ascii_case("pid"))
        .filter_map(|w| w[1].trim_end_matches(['.', ':']).parse().ok())
        .collect()
}
