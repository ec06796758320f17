//! The learner's loop at a real terminal (a pty), as a learner drives it from the REPL: `list`,
//! `run N` (which shows what the code printed), `hint N` in steps, `reset N` (which keeps the
//! learner's version), and `watch` with its single keys. Commands are named as typed in the
//! REPL. The exercises graded are a scratch copy (PROCBOOK_WORKSPACE), never the real ones,
//! and nothing may be left running afterwards.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use expectrl::{Expect, Session};
use support::{assert_none_left, procbook, tag, tagged};

/// The tests share one scratch workspace and target directory: one at a time.
static TURN: Mutex<()> = Mutex::new(());

/// How long a step may take, a first build of the exercises included.
const STEP: Duration = Duration::from_secs(300);
const PROMPT: &str = "procbook> ";

/// A workspace holding a copy of the exercises crate: every solution in place, exercise 7's
/// printing a line, and exercise 12 left a stub.
fn scratch() -> (PathBuf, PathBuf) {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("learner-loop");
    let root = home.join("workspace");
    let _ = fs::remove_dir_all(&root);
    let real = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&real.join("exercises"), &root.join("exercises"));
    copy_dir(
        &real.join("src/grade/solutions"),
        &root.join("exercises/src"),
    );
    let ex07 = root.join("exercises/src/ex07_chunksize.rs");
    let text = fs::read_to_string(&ex07).unwrap().replacen(
        "pub fn default_chunksize(len: usize, workers: usize) -> usize {",
        "pub fn default_chunksize(len: usize, workers: usize) -> usize {\n    println!(\"chunks for {len} on {workers}\");",
        1,
    );
    fs::write(&ex07, text).unwrap();
    fs::copy(
        real.join("src/grade/stubs/ex12_choosing.rs"),
        root.join("exercises/src/ex12_choosing.rs"),
    )
    .unwrap();
    fs::copy(real.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"exercises\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    (root, home.join("target"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&source, &dest);
            }
        } else {
            fs::copy(&source, &dest).unwrap();
        }
    }
}

#[test]
fn list_run_hint_reset_and_watch_keys_at_a_terminal() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tag = tag("learner-loop");
    let (root, target) = scratch();
    let mut cmd = procbook(&tag, &[]);
    cmd.env("TERM", "xterm")
        .env("PROCBOOK_WORKSPACE", &root)
        .env("CARGO_TARGET_DIR", &target);
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(STEP));
    p.expect(PROMPT).expect("a prompt");

    // list: every exercise with its state, graded now.
    p.send("list\r").unwrap();
    p.expect("ex07_chunksize").unwrap();
    p.expect("ex12_choosing").unwrap();
    p.expect("to do").expect("the stub is to do");
    p.expect("Progress: 11/12 done.").unwrap();
    // Commands are named as typed here, in the REPL: no `procbook` before them.
    p.expect("`run 12` shows what your code prints").unwrap();
    p.expect(PROMPT).unwrap();

    // run: what the learner's code printed, then the verdict.
    p.send("run 7\r").unwrap();
    p.expect("Your code printed:").unwrap();
    p.expect("chunks for 9 on 4").unwrap();
    p.expect("exercise 7, ex07_chunksize, is done.").unwrap();
    p.expect(PROMPT).unwrap();

    // hint: in steps, and the next step on asking again.
    p.send("hint 12\r").unwrap();
    p.expect("step 1 of 2").unwrap();
    p.expect("`hint 12` again shows the next step").unwrap();
    p.expect(PROMPT).unwrap();
    p.send("hint 12\r").unwrap();
    p.expect("step 2 of 2").unwrap();
    p.expect(PROMPT).unwrap();

    // reset: back to the stub, the learner's version kept.
    p.send("reset 7\r").unwrap();
    p.expect("is back to its stub").unwrap();
    p.expect("Your version is kept in target/procbook/reset/")
        .unwrap();
    p.expect(PROMPT).unwrap();
    let stub = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/grade/stubs/ex07_chunksize.rs"),
    )
    .unwrap();
    assert_eq!(
        fs::read_to_string(root.join("exercises/src/ex07_chunksize.rs")).unwrap(),
        stub
    );
    let kept: Vec<_> = fs::read_dir(root.join("target/procbook/reset"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(kept.len(), 1, "one kept version");
    assert!(
        fs::read_to_string(kept[0].path())
            .unwrap()
            .contains("chunks for")
    );

    // watch, and its keys.
    p.send("watch\r").unwrap();
    p.expect("Keys: h hint").unwrap();
    p.expect("] 10/12").expect("graded all at start");
    p.send("h").unwrap();
    p.expect("Hint for exercise 7")
        .expect("h: the next exercise's hint");
    p.send("l").unwrap();
    p.expect("Progress: 10/12 done.").expect("l: the list");
    p.send("c").unwrap();
    p.expect("Grading all 12").expect("c: check all");
    p.expect("] 10/12").unwrap();
    p.send("r").unwrap();
    p.expect("Press r again").unwrap();
    p.send("r").unwrap();
    p.expect("is already its stub").expect("r r: reset");
    p.send("q").unwrap();
    p.expect(PROMPT).expect("q: back at the prompt");

    p.send(expectrl::ControlCode::EndOfTransmission).unwrap();
    let _ = p.expect(expectrl::Eof);
    assert_none_left(&tag, Duration::from_secs(2));
}

/// `procbook check` killed with SIGKILL while a grader runs learner code that never ends: the
/// grader, its sandbox and the code under it all go at once (parent-death signals, then the
/// sandbox's own cleanup), and the grader's scratch folder is removed.
#[test]
fn kill_9_of_check_leaves_nothing_running_and_no_scratch_folder() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tag = tag("check-kill-9");
    let (root, target) = scratch();
    let ex02 = root.join("exercises/src/ex02_memory.rs");
    let text = fs::read_to_string(&ex02).unwrap().replacen(
        "pub fn set_in_child(value: &mut u8, new: u8) -> io::Result<u8> {",
        "pub fn set_in_child(value: &mut u8, new: u8) -> io::Result<u8> {\n    loop { std::hint::spin_loop() }",
        1,
    );
    fs::write(&ex02, text).unwrap();
    let mut cmd = procbook(&tag, &["check", "2"]);
    cmd.env("PROCBOOK_WORKSPACE", &root)
        .env("CARGO_TARGET_DIR", &target)
        .env("EXERCISES_TIMEOUT_MS", "60000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut check = cmd.spawn().expect("starting procbook check 2");

    // Wait until the learner's code is running under the sandbox (a first build included).
    let started = Instant::now();
    let grader = loop {
        let running = tagged(&tag);
        let inner = running
            .iter()
            .any(|(_, cmd)| cmd.contains("ex02_memory --exact --nocapture"));
        let outer = running
            .iter()
            .find(|(_, cmd)| cmd.contains("ex02_memory --exact --color never"));
        if let (true, Some((pid, _))) = (inner, outer) {
            break *pid;
        }
        assert!(
            started.elapsed() < STEP,
            "the grader never started: {running:?}"
        );
        thread::sleep(Duration::from_millis(50));
    };
    thread::sleep(Duration::from_millis(300));
    check.kill().expect("kill -9 of procbook check");
    check.wait().unwrap();

    assert_none_left(&tag, Duration::from_secs(5));
    let prefix = format!("exercises-ex02_memory-{grader}-");
    let left: Vec<_> = fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "scratch folders left: {left:?}");
}
