//! End-to-end tests of the demos `gil`, `memory`, `start-methods`, `crash` and `ipc`: each runs
//! as `procbook demo NAME` with a time limit, prints real and distinct PIDs that are not
//! procbook's own, computes the right answers, and leaves no process behind. Timings and
//! speedups are never asserted: the machine is shared and noisy.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{assert_none_left, procbook, redact_pids, run, tag};

/// Time for a demo's processes to be gone after it returns (they should be already).
const GRACE: Duration = Duration::from_secs(5);

/// Run `procbook demo NAME` (with `env` added); its stdout, after checking that it succeeded
/// and left nothing running.
fn demo(name: &str, env: &[(&str, &str)], limit: Duration) -> String {
    let tag = tag(name);
    let mut cmd = procbook(&tag, &["demo", name]);
    cmd.envs(env.iter().copied());
    let out = run(cmd, "", limit);
    assert_eq!(
        out.code,
        Some(0),
        "demo {name} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_none_left(&tag, GRACE);
    out.stdout
}

/// procbook's own PID, from the `[MainProcess pid N]` line every one of these demos prints.
fn main_pid(out: &str) -> u32 {
    number_after(out, "[MainProcess pid ").expect("a [MainProcess pid N] line")
}

/// The number right after the first `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> Option<u32> {
    let at = text.find(prefix)? + prefix.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Every number that follows `pid ` in `text`.
fn pids(text: &str) -> BTreeSet<u32> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("pid ") {
        rest = &rest[at + 4..];
        if let Some(pid) = number_after(rest, "") {
            found.insert(pid);
        }
    }
    found
}

/// The processes tagged `[NAME pid N]` anywhere in `out`, for names starting with `prefix`, in
/// order of first appearance.
fn tagged_pids(out: &str, prefix: &str) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for (at, _) in out.match_indices(&format!("[{prefix}")) {
        let rest = &out[at + 1..];
        let Some((name, after)) = rest.split_once(" pid ") else {
            continue;
        };
        if let Some(pid) = number_after(after, "")
            && !name.contains(char::is_whitespace)
            && !found.contains(&(name.to_string(), pid))
        {
            found.push((name.to_string(), pid));
        }
    }
    found
}

/// Fail unless `out` shows at least `at_least` distinct PIDs besides procbook's own.
fn assert_child_pids(out: &str, at_least: usize) -> BTreeSet<u32> {
    let me = main_pid(out);
    let mut children = pids(out);
    children.remove(&me);
    assert!(
        children.len() >= at_least,
        "expected at least {at_least} child PIDs besides procbook's {me}, found {children:?} in:\n{out}"
    );
    children
}

fn has_python() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A line of `out` that starts with `prefix`.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

/// `1,234` as 1234.
fn figure(text: &str) -> u64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

#[test]
fn gil_runs_every_variant_to_the_same_answer_on_real_processes() {
    let out = demo("gil", &[], Duration::from_secs(120));
    let rows = |prefix: &str| out.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(
        rows("Rust, "),
        4,
        "serial, threads, threads + GIL, processes:\n{out}"
    );
    line(&out, "Rust, serial (one thread) ");
    assert!(out.contains(" threads + GIL "), "{out}");
    // The check line is printed only when every run agreed (the demo fails otherwise).
    let check = line(&out, "check: every Rust run counted ");
    let primes = check
        .trim_start_matches("check: every Rust run counted ")
        .split(' ')
        .next()
        .map(figure);
    assert!(primes.is_some_and(|p| p > 0), "{check}");
    let workers = tagged_pids(&out, "SpawnPoolWorker-");
    assert!(workers.len() >= 2, "the pool's workers: {workers:?}\n{out}");
    let me = main_pid(&out);
    assert!(workers.iter().all(|(_, pid)| *pid != me), "{out}");
    let distinct: BTreeSet<u32> = workers.iter().map(|(_, pid)| *pid).collect();
    assert_eq!(distinct.len(), workers.len(), "{workers:?}");
    if has_python() {
        assert_eq!(rows("Python"), 3, "serial, threads, processes:\n{out}");
        line(&out, "    Python's pool workers (last round): pid ");
        assert!(check.ends_with("numbers (Rust agrees)"), "{check}");
        let py_workers = pids(line(&out, "    Python's pool workers (last round): "));
        assert!(!py_workers.contains(&me), "{out}");
    }
    assert!(out.contains("note: Cores used: "), "{out}");
    // A machine too busy to show the speedups is said so first, before any figure.
    if let Some(busy) = out.find("too busy") {
        let table = out.find("the job: ").expect("the job line");
        assert!(
            busy < table,
            "the busy verdict comes before the table:\n{out}"
        );
    }
}

#[test]
fn gil_without_python_says_so_in_one_line_and_carries_on() {
    let out = demo(
        "gil",
        &[("PATH", "/nonexistent-procbook-test")],
        Duration::from_secs(90),
    );
    let said: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("python3 is not on the PATH"))
        .collect();
    assert_eq!(said.len(), 1, "{out}");
    assert!(!out.lines().any(|l| l.starts_with("Python")), "{out}");
    line(&out, "check: every Rust run counted ");
}

#[test]
fn memory_threads_share_the_counter_and_processes_do_not() {
    let out = demo("memory", &[], Duration::from_secs(60));
    let threads = line(
        &out,
        &format!("[MainProcess pid {}] after the threads:", main_pid(&out)),
    );
    assert!(threads.ends_with("COUNTER = 3,000,000"), "{threads}");
    let after = line(
        &out,
        &format!("[MainProcess pid {}] after the processes:", main_pid(&out)),
    );
    assert!(after.contains("COUNTER = 3,000,000;"), "{after}");
    let children = tagged_pids(&out, "Process-");
    assert_eq!(children.len(), 3, "{out}");
    let own_copies = out
        .lines()
        .filter(|l| l.contains("COUNTER is 1,000,000 in my memory; resident memory "))
        .count();
    assert_eq!(own_copies, 3, "{out}");
    assert_child_pids(&out, 3);
    assert!(
        redact_pids(&out).contains("stayed at 3,000,000"),
        "the closing note: {out}"
    );
}

#[test]
fn start_methods_spawn_starts_fresh_and_fork_copies_memory() {
    let out = demo("start-methods", &[], Duration::from_secs(60));
    let redacted = redact_pids(&out);
    assert!(
        redacted.contains("SETTING = 1 here, as written in the source"),
        "{out}"
    );
    assert!(
        redacted.contains("entry guard saw PROCBOOK_WORKER=process"),
        "{out}"
    );
    assert!(
        redacted.contains(" 1 thread, SETTING = 42: safe to fork"),
        "{out}"
    );
    assert!(redacted.contains(": SETTING = 42 there"), "{out}");
    assert!(
        redacted.contains("the helper's buffer still holds 1 where pid [PID] wrote 7"),
        "{out}"
    );
    let forks = pids(line(
        &out,
        &format!(
            "{} fork + exit + waitpid: ",
            tagged_pids(&out, "SpawnPoolWorker-")
                .first()
                .map(|(n, p)| format!("[{n} pid {p}]"))
                .expect("the fork helper's tag")
        ),
    ));
    assert_eq!(forks.len(), 6, "5 forked children and the helper: {out}");
    assert_eq!(tagged_pids(&out, "Process-").len(), 3, "{out}");
    assert!(!forks.contains(&main_pid(&out)), "{out}");
    for platform in ["Linux ", "macOS ", "Windows "] {
        assert!(out.contains(&format!("  {platform}")), "{out}");
    }
    let here = line(&out, "  here ");
    if has_python() {
        assert!(here.contains("python3 3."), "{here}");
    } else {
        assert!(here.contains("no python3"), "{here}");
    }
}

#[test]
fn crash_fails_one_task_replaces_its_worker_and_the_parent_survives() {
    let out = demo("crash", &[], Duration::from_secs(60));
    let redacted = redact_pids(&out);
    for (n, square) in [(3, 9), (1, 1), (4, 16), (2, 4), (5, 25)] {
        assert!(
            redacted.contains(&format!("  abort_on({n}) = {square}\n")),
            "abort_on({n}): {out}"
        );
    }
    let failed = line(&out, "  abort_on(0) failed: ");
    assert!(
        failed.ends_with("died during the task: killed by SIGABRT"),
        "{failed}"
    );
    // `[SpawnPoolWorker-M pid X] replaced SpawnPoolWorker-K (pid Y)`
    let replaced = out
        .lines()
        .find(|l| l.contains("] replaced SpawnPoolWorker-"))
        .unwrap_or_else(|| panic!("no replacement in:\n{out}"));
    let new_number = number_after(replaced, "[SpawnPoolWorker-").expect("new worker's number");
    let new_pid = number_after(replaced, " pid ").expect("new worker's pid");
    let old_number = number_after(replaced, "replaced SpawnPoolWorker-").expect("old number");
    let old_pid = number_after(replaced, "(pid ").expect("old worker's pid");
    assert!(new_number > old_number, "{replaced}");
    assert_ne!(new_pid, old_pid, "{replaced}");
    assert!(
        failed.contains(&format!("SpawnPoolWorker-{old_number} (pid {old_pid})")),
        "the failed task names the dead worker: {failed}"
    );
    let me = main_pid(&out);
    assert!(new_pid != me && old_pid != me);
    assert!(redacted.contains("helper thread: calling abort()"), "{out}");
    assert!(
        !redacted.contains("carrying on\n"),
        "the main thread died too: {out}"
    );
    let survived = line(&out, &format!("[MainProcess pid {me}] Process-"));
    assert!(
        survived.ends_with("ended: killed by SIGABRT; the parent is still here"),
        "{survived}"
    );
    assert_child_pids(&out, 4);
}

#[test]
fn ipc_queue_pipe_and_shared_counter() {
    let out = demo("ipc", &[], Duration::from_secs(60));
    let me = main_pid(&out);
    line(&out, "the consumers received 6 of 6 items between them");
    let consumers: BTreeSet<u32> = out
        .lines()
        .filter(|l| l.contains("received ") && l.contains("then the sentinel"))
        .filter_map(|l| number_after(l, " pid "))
        .collect();
    assert_eq!(consumers.len(), 2, "{out}");
    let producer = number_after(line(&out, "[Process-"), " pid ").expect("producer pid");
    assert!(
        out.contains(&format!("from pid {producer}'")) || consumers.contains(&producer),
        "the items name the producer's pid: {out}"
    );
    assert!(
        out.contains("sent 'hello through the pipe', got back 'HELLO THROUGH THE PIPE'"),
        "{out}"
    );
    let expected = 1_000_000;
    let unlocked = line(&out, "without a lock: ");
    let total = figure(
        unlocked
            .trim_start_matches("without a lock: ")
            .split(' ')
            .next()
            .expect("a total"),
    );
    let lost = figure(
        unlocked
            .split('(')
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .expect("lost updates"),
    );
    assert!(total <= expected, "{unlocked}");
    assert_eq!(total + lost, expected, "{unlocked}");
    let locked = line(&out, "with a lock:    ");
    assert!(
        locked.starts_with("with a lock:    1,000,000 (0 updates lost)"),
        "{locked}"
    );
    let children = assert_child_pids(&out, 12);
    assert!(!children.contains(&me));
    // The run's scratch folder (procbook-run-PID-START) is gone with it.
    let prefix = format!("procbook-run-{me}-");
    let left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix) || *name == format!("procbook-ipc-{me}"))
        .collect();
    assert!(left.is_empty(), "{left:?} was left behind");
}

/// Start `procbook demo gil`, send it SIGINT once a line containing `when` appears, and check
/// that it stops promptly with status 130 and leaves nothing running (python3 included).
fn interrupt_gil_at(when: &str) {
    interrupt_demo_at(&["demo", "gil"], when, nix::sys::signal::Signal::SIGINT);
}

/// Start procbook with `args`, send it `signal` once a line containing `when` appears, and
/// check that it stops promptly (with 130 after SIGINT) and leaves nothing running.
fn interrupt_demo_at(args: &[&str], when: &str, signal: nix::sys::signal::Signal) {
    let tag = tag("demo-signal");
    let mut child = procbook(&tag, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting procbook");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let hit = line.contains(when);
                seen.push(line);
                if hit {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("never saw {when:?} in {seen:#?}");
            }
        }
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).expect("sending the signal");
    let asked = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if asked.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("procbook did not stop within 5 s of {signal} ({when:?})");
        }
        thread::sleep(Duration::from_millis(10));
    };
    if signal == nix::sys::signal::Signal::SIGINT {
        let mut said = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
        }
        assert_eq!(
            status.code(),
            Some(130),
            "after {:?}; it said: {said}",
            started.elapsed()
        );
    }
    assert_none_left(&tag, GRACE);
}

/// `demo sys` prints its tree, then its workers count primes for most of a second: Ctrl-C
/// there stops them, and kill -9 of procbook takes them with it.
#[test]
fn sys_stops_on_ctrl_c_or_kill_9_while_its_workers_count() {
    let tree_done = "└─ ";
    // Several times: Ctrl-C can land while the job is sized, while it is handed to the pool
    // or while it runs, and each must read as an interruption (once it read "the pool is
    // closed", exit 1, when it landed before the job was handed over).
    for _ in 0..5 {
        interrupt_demo_at(
            &["demo", "sys", "--workers", "2"],
            tree_done,
            nix::sys::signal::Signal::SIGINT,
        );
    }
    interrupt_demo_at(
        &["demo", "sys", "--workers", "2"],
        tree_done,
        nix::sys::signal::Signal::SIGKILL,
    );
}

#[test]
fn gil_stops_promptly_on_ctrl_c_while_rust_computes() {
    interrupt_gil_at("measuring Rust, round 1");
}

#[test]
fn gil_stops_promptly_on_ctrl_c_while_python_computes() {
    if !has_python() {
        return;
    }
    interrupt_gil_at("[python3 pid ");
}
