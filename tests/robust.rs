//! procbook under faults, end to end: `book --dest` never deletes what procbook did not write;
//! Python's whole process group is stopped on every path; a thread or process that cannot be
//! started is one line and a non-zero exit, never a panic; scratch space is one folder per run,
//! gone after every exit, kills included; script mode stops when its reader goes away, skips a
//! line that is not UTF-8, and says how many lines failed. Every test proves that no process it
//! started is left.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::{assert_none_left, procbook, run, tag};

const GRACE: Duration = Duration::from_secs(5);

/// A fresh folder for this test under target/tmp.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("robust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("making a test folder");
    dir
}

/// A one-chapter book with nothing to run, in `root`.
fn small_book(root: &Path) {
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("book.toml"), "[book]\ntitle = \"small\"\n").unwrap();
    std::fs::write(
        root.join("src/SUMMARY.md"),
        "# Summary\n\n- [One](one.md)\n",
    )
    .unwrap();
    std::fs::write(root.join("src/one.md"), "# One\n\nNothing runs here.\n").unwrap();
}

/// The only non-empty line of `stderr`, failing the test unless there is exactly one.
fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0]
}

// ---------------------------------------------------------------------------------------------
// 1. book --dest

#[test]
fn book_dest_refuses_a_folder_it_did_not_write_before_any_demo_runs() {
    let dir = folder("dest-thesis");
    let dest = dir.join("d");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("thesis.txt"), "years of work").unwrap();
    let tag = tag("dest-thesis");
    let started = Instant::now();
    // The real book: building it would run every demo for seconds; the refusal is instant.
    let out = run(
        procbook(&tag, &["book", "--dest", dest.to_str().unwrap()]),
        "",
        Duration::from_secs(60),
    );
    let took = started.elapsed();
    assert_none_left(&tag, GRACE);
    assert_eq!(out.code, Some(1), "{out:?}");
    let line = one_line(&out.stderr);
    assert!(
        line.contains(&dest.display().to_string())
            && line.contains("thesis.txt, which procbook did not write")
            && line.contains("empty or new folder"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("thesis.txt")).unwrap(),
        "years of work"
    );
    assert!(!out.stdout.contains("Building"), "{out:?}");
    assert!(took < Duration::from_secs(5), "the refusal took {took:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn book_dest_refuses_the_books_own_folder_a_file_and_a_symlink_to_them() {
    let dir = folder("dest-self");
    let book = dir.join("book");
    small_book(&book);
    std::fs::write(dir.join("file"), "keep me").unwrap();
    std::os::unix::fs::symlink(&book, dir.join("link")).unwrap();
    for (dest, cwd, says) in [
        (".", &book, "the book's own sources"),
        ("..", &book, "the book's own sources"),
        ("src", &book, "inside the book's sources"),
        ("link", &dir, "the book's own sources"),
        ("file", &dir, "is a file"),
    ] {
        let tag = tag("dest-self");
        let mut cmd = procbook(&tag, &["book", "--dest", dest]);
        cmd.current_dir(cwd).env("PROCBOOK_BOOK", &book);
        let out = run(cmd, "", Duration::from_secs(30));
        assert_none_left(&tag, GRACE);
        assert_eq!(out.code, Some(1), "--dest {dest}: {out:?}");
        let line = one_line(&out.stderr);
        assert!(line.contains(says), "--dest {dest}: {line}");
        assert!(book.join("book.toml").is_file() && book.join("src/one.md").is_file());
        assert_eq!(
            std::fs::read_to_string(dir.join("file")).unwrap(),
            "keep me"
        );
    }
    // A home folder (even one that is empty but for one file), and a place nobody can write.
    let home = dir.join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join(".bashrc"), "mine").unwrap();
    for (dest, says) in [
        (home.to_str().unwrap(), "your home folder"),
        (
            "/proc/procbook-nowhere",
            "cannot create /proc/procbook-nowhere",
        ),
    ] {
        let tag = tag("dest-self");
        let mut cmd = procbook(&tag, &["book", "--dest", dest]);
        cmd.env("PROCBOOK_BOOK", &book).env("HOME", &home);
        let out = run(cmd, "", Duration::from_secs(30));
        assert_none_left(&tag, GRACE);
        assert_eq!(out.code, Some(1), "--dest {dest}: {out:?}");
        let line = one_line(&out.stderr);
        assert!(
            line.contains(says) && !line.contains("os error"),
            "--dest {dest}: {line}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(home.join(".bashrc")).unwrap(),
        "mine"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn book_dest_rebuilds_its_own_build_and_refuses_once_something_else_is_added() {
    let dir = folder("dest-again");
    let book = dir.join("book");
    small_book(&book);
    let dest = dir.join("out");
    let build = || {
        let tag = tag("dest-again");
        let mut cmd = procbook(&tag, &["book", "--dest", dest.to_str().unwrap()]);
        cmd.env("PROCBOOK_BOOK", &book);
        let out = run(cmd, "", Duration::from_secs(60));
        assert_none_left(&tag, GRACE);
        out
    };
    for _ in 0..2 {
        let out = build();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(dest.join("index.html").is_file());
    }
    std::fs::write(dest.join("css/notes.txt"), "mine").unwrap();
    let out = build();
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(one_line(&out.stderr).contains("notes.txt"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(dest.join("css/notes.txt")).unwrap(),
        "mine"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Limits: an unprivileged user of its own (a fresh UID, so no other process counts towards its
// process limit), with `ulimit` set before procbook starts.

/// `procbook ARGS` as a UID no one else uses, under `limits` (`ulimit` options such as
/// `-u 11`); `None`, said loudly, when this suite is not run as root.
fn limited(tag: &str, limits: &str, args: &[&str]) -> Option<std::process::Command> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: needs root to run procbook as an unprivileged user under ulimit");
        return None;
    }
    // One UID per call: tests run side by side, and a process limit counts all of a UID's.
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 8;
    let uid = 40_000 + (std::process::id() % 2_500) * 8 + call;
    let cmd = procbook(tag, &[]);
    let program = cmd.get_program().to_owned();
    let mut limited = std::process::Command::new("setpriv");
    limited
        .args(["--reuid", &uid.to_string(), "--regid", &uid.to_string()])
        .args(["--clear-groups", "bash", "-c"])
        .arg(format!("ulimit {limits} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .env("HOME", "/tmp");
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            limited.env(key, value);
        }
    }
    Some(limited)
}

/// An address-space limit (KiB) that lets procbook load and start, but leaves no room for a
/// thread's 2 MiB stack: the smallest limit under which `procbook --version` runs, plus 1 MiB.
/// Measured, not fixed: how much a binary needs just to load grows with it (the debug build
/// needs about 22 MB today, where 20 MB was once enough).
fn tight_memory_kib() -> u64 {
    static KIB: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *KIB.get_or_init(|| {
        let program = procbook("probe", &[]).get_program().to_owned();
        (16_000..400_000)
            .step_by(1_000)
            .find(|kib| {
                std::process::Command::new("bash")
                    .arg("-c")
                    .arg(format!("ulimit -v {kib} && exec \"$0\" --version"))
                    .arg(&program)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .expect("procbook --version runs under some address-space limit below 400 MB")
            + 1_000
    })
}

/// The error line of a run that could not start what it needed: non-zero, one line, no panic.
fn fails_in_one_line(out: &support::Run) -> String {
    assert!(
        out.code.is_some_and(|c| c != 0 && c != 101),
        "expected a plain failure: {out:?}"
    );
    assert!(
        !out.stderr.contains("panicked") && !out.stderr.contains("backtrace"),
        "{out:?}"
    );
    one_line(&out.stderr).to_string()
}

#[test]
fn bench_under_a_small_process_limit_stops_every_python_process_and_says_why() {
    // The case: a limit procbook's side of bench can live with but Python's pool
    // cannot, so python3 exits (or hangs until its time limit) while its resource tracker,
    // forkserver and workers run on. Where exactly that line falls moves with timing (a
    // worker not yet reaped still counts), so try the limits around it until Python's side
    // has been reached; every try must end with nothing left and at most one line.
    let mut reached_python = false;
    for attempt in 0..8 {
        let limit = if attempt % 2 == 0 { "-u 8" } else { "-u 7" };
        let tag = tag("bench-nproc");
        let Some(cmd) = limited(&tag, limit, &["bench"]) else {
            return;
        };
        let started = Instant::now();
        let out = run(cmd, "", Duration::from_secs(150));
        let took = started.elapsed();
        // python3's resource tracker, forkserver and workers carry the tag too.
        assert_none_left(&tag, GRACE);
        eprintln!("bench under ulimit {limit} took {took:?}: {:?}", out.stderr);
        if out.code != Some(0) {
            let line = fails_in_one_line(&out);
            assert!(
                line.contains("could not start") || line.contains("python3"),
                "{line}"
            );
        }
        if out.stderr.contains("python3") || out.code == Some(0) {
            reached_python = true;
            break;
        }
    }
    if !reached_python {
        eprintln!("NOTE: in 8 tries procbook's own side failed first; Python's was not reached");
    }
}

#[test]
fn demo_memory_that_cannot_start_a_thread_says_so_in_one_line() {
    let memory = format!("-v {}", tight_memory_kib());
    for limits in ["-u 3", memory.as_str()] {
        let tag = tag("memory-limit");
        let Some(cmd) = limited(&tag, limits, &["demo", "memory"]) else {
            return;
        };
        let out = run(cmd, "", Duration::from_secs(60));
        assert_none_left(&tag, GRACE);
        let line = fails_in_one_line(&out);
        assert!(
            line.contains("could not start a thread"),
            "ulimit {limits}: {line}"
        );
        let named = if limits.starts_with("-u") {
            "the process limit is 3".to_string()
        } else {
            format!("the memory limit is {} KiB", tight_memory_kib())
        };
        assert!(line.contains(&named), "ulimit {limits}: {line}");
    }
}

#[test]
fn bench_that_cannot_start_a_thread_says_so_in_one_line() {
    let tag = tag("bench-vmem");
    let memory = format!("-v {}", tight_memory_kib());
    let Some(cmd) = limited(&tag, &memory, &["bench", "--no-python"]) else {
        return;
    };
    let out = run(cmd, "", Duration::from_secs(60));
    assert_none_left(&tag, GRACE);
    let line = fails_in_one_line(&out);
    assert!(line.contains("could not start"), "{line}");
}

// ---------------------------------------------------------------------------------------------
// 2. Every Python run: book captures too

#[test]
fn a_book_capture_whose_python_leaves_a_process_behind_is_stopped_with_it() {
    let dir = folder("capture-leaves");
    let book = dir.join("book");
    small_book(&book);
    std::fs::write(
        book.join("src/one.md"),
        "# One\n\n{{#procbook python leaves.py}}\n",
    )
    .unwrap();
    // The sleeper inherits python3's stdout and keeps it open after python3 has exited.
    std::fs::write(
        book.join("src/leaves.py"),
        "import subprocess, sys\n\
         subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(100)'])\n\
         print('started a sleeper')\n",
    )
    .unwrap();
    let tag = tag("capture-leaves");
    let mut cmd = procbook(&tag, &["book", "--dest", dir.join("out").to_str().unwrap()]);
    cmd.env("PROCBOOK_BOOK", &book);
    let started = Instant::now();
    let out = run(cmd, "", Duration::from_secs(100));
    let took = started.elapsed();
    assert_none_left(&tag, GRACE);
    // It used to wait for its 120 s limit, then report the wrong cause.
    assert!(took < Duration::from_secs(30), "took {took:?}: {out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("1 process it started held its output open"),
        "{out:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 4. Scratch space: one folder per run, gone after every exit

/// The scratch folders in `tmp`.
fn scratch_folders(tmp: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(tmp)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("procbook-"))
        .collect();
    found.sort();
    found
}

/// Start `procbook bench` with its own TMPDIR and wait until its Python side has made its
/// scratch folder; returns the child.
fn bench_until_scratch(tag: &str, tmp: &Path) -> std::process::Child {
    let mut cmd = procbook(tag, &["bench"]);
    cmd.env("TMPDIR", tmp)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("starting procbook bench");
    let deadline = Instant::now() + Duration::from_secs(60);
    while scratch_folders(tmp).is_empty() {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("procbook bench made no scratch folder in {}", tmp.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

#[test]
fn sigterm_sighup_and_sigint_remove_the_runs_scratch_folder_and_stop_its_children() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no python3, so bench makes no scratch folder");
        return;
    }
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        let tmp = folder("scratch-signal");
        let tag = tag("scratch-signal");
        let mut child = bench_until_scratch(&tag, &tmp);
        let sent = Instant::now();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        let took = sent.elapsed();
        assert_none_left(&tag, GRACE);
        assert_eq!(status.code(), Some(128 + signal), "{status:?}");
        assert!(took < Duration::from_secs(10), "took {took:?} to stop");
        assert_eq!(
            scratch_folders(&tmp),
            Vec::<String>::new(),
            "signal {signal}"
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}

#[test]
fn a_folder_left_by_kill_9_is_removed_by_the_next_run() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no python3, so bench makes no scratch folder");
        return;
    }
    let tmp = folder("scratch-kill");
    let tag = tag("scratch-kill");
    let mut child = bench_until_scratch(&tag, &tmp);
    child.kill().unwrap(); // SIGKILL: nothing can clean up
    child.wait().unwrap();
    assert_none_left(&tag, GRACE);
    let left = scratch_folders(&tmp);
    assert_eq!(left.len(), 1, "{left:?}");
    // A folder of a run that is still going is not touched: this test's own, made up.
    let alive = std::fs::read_to_string("/proc/self/stat").unwrap();
    let start = alive[alive.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    let ours = format!("procbook-run-{}-{start}", std::process::id());
    std::fs::create_dir(tmp.join(&ours)).unwrap();
    let mut next = procbook(&tag, &["lessons"]);
    next.env("TMPDIR", &tmp);
    let out = run(next, "", Duration::from_secs(30));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(scratch_folders(&tmp), vec![ours]);
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn sigterm_ends_a_script_waiting_for_its_next_line_and_removes_its_folder() {
    let tmp = folder("scratch-idle");
    let tag = tag("scratch-idle");
    let mut cmd = procbook(&tag, &[]);
    cmd.env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("starting procbook");
    let mut stdin = child.stdin.take().unwrap();
    // demo ipc keeps its queue, pipe and file in the run's scratch folder.
    std::io::Write::write_all(&mut stdin, b"demo ipc\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while scratch_folders(&tmp).is_empty() {
        assert!(Instant::now() < deadline, "no scratch folder");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The demo's own folder goes when it ends; the run's stays until procbook exits.
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let inside = std::fs::read_dir(tmp.join(&scratch_folders(&tmp)[0]))
            .map(|d| d.count())
            .unwrap_or(0);
        if inside == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "demo ipc did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    drop(stdin);
    let _ = reader.join();
    assert_none_left(&tag, GRACE);
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status:?}");
    assert_eq!(scratch_folders(&tmp), Vec::<String>::new());
    std::fs::remove_dir_all(&tmp).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5. Script mode (piped stdin)

#[test]
fn a_script_stops_at_once_when_its_reader_goes_away() {
    let tag = tag("script-pipe");
    let mut cmd = procbook(&tag, &[]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("starting procbook");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, "demo pool\n".repeat(100).as_bytes());
    });
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
        text
    });
    // `| head -c 100`: read 100 bytes, then go away.
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let closed = Instant::now();
    let deadline = closed + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("procbook ran on for 20 s after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = closed.elapsed();
    let _ = writer.join();
    let stderr = err_reader.join().unwrap();
    assert_none_left(&tag, GRACE);
    // It used to start all 100 pools, each failing with "Broken pipe".
    assert_eq!(stderr, "", "it went on after its reader left");
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_line_that_is_not_utf8_is_skipped_and_failures_are_counted() {
    let tag = tag("script-utf8");
    let mut cmd = procbook(&tag, &[]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("starting procbook");
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(
        &mut stdin,
        b"lessons\n\xff\xfe bad\ndemo pool\nfrobnicate\n",
    )
    .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_none_left(&tag, GRACE);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The line after the bad one ran.
    assert!(
        stdout.contains("[1, 4, 9, 16, 25, 36, 49, 64, 81]"),
        "{stdout}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "error: line 2 is not UTF-8 text; skipped it",
            "error: line 4: unknown command 'frobnicate'; type help to see the commands",
            "error: 2 of 4 lines failed",
        ],
        "{stderr}"
    );
}

#[test]
fn a_script_whose_lines_all_work_exits_0_and_says_nothing_on_stderr() {
    let tag = tag("script-ok");
    let out = run(
        procbook(&tag, &[]),
        "lessons\n\n# a comment\nquit\ndemo pool\n",
        Duration::from_secs(30),
    );
    assert_none_left(&tag, GRACE);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "");
    assert!(
        !out.stdout.contains("SpawnPoolWorker"),
        "quit stops the script: {out:?}"
    );
}
