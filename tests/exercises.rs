//! Proof that grading is honest: every grader fails on its untouched stub with its teaching
//! message and passes on its reference solution; common mistakes get their own messages; and
//! runaway code (an endless loop, a fork bomb) is stopped with a clear message, leaving no
//! process behind.
//!
//! Each run copies the exercises crate into a scratch workspace (the real `exercises/` is
//! never touched) and grades it through `procbook::grade`, as `procbook check` does. The runs
//! take turns and share one scratch directory and one target directory, so they rebuild only
//! what changed.

mod support;

use procbook::grade::{Outcome, Summary, Workbook, manifest};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long one grading run may take, compiling included.
const RUN_LIMIT: Duration = Duration::from_secs(240);
/// The deadline each grader gives learner code in the runaway run: short, to keep it quick.
const RUNAWAY_TIMEOUT_MS: &str = "2000";

/// The runs share a scratch workspace and a target directory: one at a time.
static TURN: Mutex<()> = Mutex::new(());

#[test]
fn every_grader_fails_on_its_stub_and_passes_on_its_solution() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tag = support::tag("exercises-honest");
    let ws = Scratch::new();
    ws.put_committed_stubs();
    let all = manifest().unwrap();

    let (summary, text) = grade(&ws, &tag, &[]);
    assert_eq!((summary.done, summary.total), (0, all.len()), "{text}");
    assert!(text.contains(&format!("] 0/{}", all.len())), "{text}");
    for (exercise, graded) in all.iter().zip(&summary.graded) {
        let Outcome::Failed(message) = &graded.outcome else {
            panic!("{} passed on its untouched stub", exercise.name);
        };
        let todo = format!("not done yet: exercises/src/{}.rs:", exercise.name);
        for part in [todo.as_str(), "still has todo!()", &exercise.summary] {
            assert!(
                message.contains(part),
                "{}: {message:?} lacks {part:?}",
                exercise.name
            );
        }
        let hint = format!("procbook hint {}", exercise.number);
        assert!(
            message.contains(&hint),
            "{}: {message:?} lacks {hint:?}",
            exercise.name
        );
    }
    assert_eq!(summary.next, Some(1));

    ws.put_solutions();
    let (summary, text) = grade(&ws, &tag, &[]);
    for graded in &summary.graded {
        assert_eq!(
            graded.outcome,
            Outcome::Passed,
            "{} on its solution",
            graded.name
        );
    }
    assert_eq!((summary.done, summary.next), (all.len(), None), "{text}");
    assert!(text.contains(&format!("] {0}/{0}", all.len())), "{text}");
    support::assert_none_left(&tag, Duration::from_secs(2));
}

#[test]
fn mistakes_get_teaching_messages_and_runaways_are_stopped_leaving_nothing() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // Orphans of anything grading starts would come to this process: prove there are none.
    nix::sys::prctl::set_child_subreaper(true).expect("becoming a subreaper");
    // A test before this one may have stopped a build part-way: its compilers, orphaned, came
    // here to be reaped. Those are not this test's.
    reap(&children_of_this_process());
    let tag = support::tag("exercises-mistakes");
    let ws = Scratch::new();
    ws.put_solutions();
    for mistake in MISTAKES {
        ws.replace_body(mistake.exercise, mistake.function, mistake.body);
    }

    let started = Instant::now();
    let (summary, text) = grade(&ws, &tag, &[("EXERCISES_TIMEOUT_MS", RUNAWAY_TIMEOUT_MS)]);
    for mistake in MISTAKES {
        let graded = summary
            .graded
            .iter()
            .find(|g| g.name == mistake.exercise)
            .unwrap_or_else(|| panic!("{} was not graded:\n{text}", mistake.exercise));
        let Outcome::Failed(message) = &graded.outcome else {
            panic!("{} passed despite: {}", mistake.exercise, mistake.what);
        };
        assert!(
            message.contains(mistake.message),
            "{} ({}): expected {:?} in {message:?}",
            mistake.exercise,
            mistake.what,
            mistake.message
        );
        // What was left running is said once, with the number the learner's code left.
        assert!(
            message.matches("process(es) running").count() <= 1,
            "{}: said twice: {message:?}",
            mistake.exercise
        );
    }
    let untouched = summary.graded.len() - MISTAKES.len();
    assert_eq!(
        summary.done, untouched,
        "the other exercises still pass\n{text}"
    );

    // Nothing left running that carries the tag, wherever it went...
    support::assert_none_left(&tag, Duration::from_secs(2));
    // ...and no orphan handed to this process, running or a zombie.
    let orphans = children_of_this_process();
    reap(&orphans);
    assert!(orphans.is_empty(), "left behind: {orphans:?}");
    eprintln!("mistakes and runaways graded in {:?}", started.elapsed());
}

#[test]
fn watch_grades_a_saved_exercise_again_and_stops_when_asked() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tag = support::tag("exercises-watch");
    let ws = Scratch::new();
    ws.put_solutions();
    let workbook = Workbook::at(&ws.root)
        .with_target_dir(ws.target())
        .with_env(support::TAG_ENV, &tag)
        .with_env("NO_COLOR", "1");
    let total = manifest().unwrap().len();
    let out = Shared::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watching = {
        let (out, stop) = (out.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut out = out;
            workbook.watch(&mut out, &|| stop.load(Ordering::SeqCst))
        })
    };

    // First it grades everything...
    out.wait_for(&format!("] {total}/{total}"), RUN_LIMIT);
    // ...then, when one exercise is saved, that one alone.
    ws.replace_body(
        "ex07_chunksize",
        "pub fn default_chunksize",
        "len / (workers * 4)",
    );
    out.wait_for("Grading exercise 7, ex07_chunksize", RUN_LIMIT);
    out.wait_for("exercise 7, ex07_chunksize, is not done yet:", RUN_LIMIT);
    out.wait_for(&format!("] {}/{total}", total - 1), RUN_LIMIT);

    // Code that does not compile is not graded, and the compiler's words are shown.
    ws.replace_body(
        "ex07_chunksize",
        "pub fn default_chunksize",
        "len / (workers * 4) +",
    );
    out.wait_for("it does not compile", RUN_LIMIT);
    out.wait_for("--> exercises/src/ex07_chunksize.rs", RUN_LIMIT);

    // Asked to stop while grading, it stops within its grace period and leaves nothing.
    ws.replace_body(
        "ex07_chunksize",
        "pub fn default_chunksize",
        "len.div_ceil(workers * 4)",
    );
    out.wait_for("Grading exercise 7, ex07_chunksize", RUN_LIMIT);
    let asked = Instant::now();
    stop.store(true, Ordering::SeqCst);
    while !watching.is_finished() {
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "watch did not stop"
        );
        thread::sleep(Duration::from_millis(10));
    }
    watching.join().unwrap().expect("watch");
    support::assert_none_left(&tag, Duration::from_secs(2));
}

/// A compile error in one exercise blocks only that exercise, and a progress file written by
/// hand changes nothing: progress is what grading finds.
#[test]
fn one_broken_exercise_blocks_only_itself_and_no_progress_file_is_believed() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let tag = support::tag("exercises-broken");
    let ws = Scratch::new();
    ws.put_solutions();
    ws.replace_body(
        "ex01_cores",
        "pub fn pool_size",
        "let x: u8 = \"one\"; Ok(1)",
    );
    ws.replace_body("ex02_memory", "pub fn set_in_child", "todo!()");
    // A forged progress file, where an older procbook kept one.
    let forged = ws.root.join("target/procbook/progress.json");
    fs::create_dir_all(forged.parent().unwrap()).unwrap();
    let names: Vec<String> = manifest()
        .unwrap()
        .iter()
        .map(|e| format!("{:?}", e.name))
        .collect();
    fs::write(&forged, format!("{{\"done\": [{}]}}", names.join(", "))).unwrap();

    let (summary, text) = grade(&ws, &tag, &[]);
    let total = summary.total;
    let outcome = |name: &str| {
        &summary
            .graded
            .iter()
            .find(|g| g.name == name)
            .unwrap()
            .outcome
    };
    let Outcome::Failed(message) = outcome("ex01_cores") else {
        panic!("ex01 passed without compiling:\n{text}");
    };
    assert!(message.starts_with("it does not compile"), "{message}");
    assert!(
        message.contains("--> exercises/src/ex01_cores.rs"),
        "{message}"
    );
    assert!(message.contains("mismatched types"), "{message}");
    assert!(!outcome("ex02_memory").passed(), "ex02 has todo!() again");
    for g in summary.graded.iter().skip(2) {
        assert!(
            g.outcome.passed(),
            "{} is gradable despite ex01: {:?}",
            g.name,
            g.outcome
        );
    }
    assert_eq!((summary.done, summary.next), (total - 2, Some(1)), "{text}");
    assert!(text.contains(&format!("] {}/{total}", total - 2)), "{text}");
    support::assert_none_left(&tag, Duration::from_secs(2));
}

/// Forged verdicts and evidence, and solutions that skip what their task asks: each fails, with
/// a message that says what was wrong, and the other exercises still pass.
#[test]
fn forgeries_and_skipped_tasks_fail_with_what_was_wrong() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    nix::sys::prctl::set_child_subreaper(true).expect("becoming a subreaper");
    reap(&children_of_this_process());
    let tag = support::tag("exercises-forgeries");
    for batch in [
        FORGERIES,
        SKIPPED_TASKS,
        MORE_SKIPPED_TASKS,
        EVEN_MORE_SKIPPED_TASKS,
    ] {
        let ws = Scratch::new();
        ws.put_solutions();
        for mistake in batch {
            ws.replace_body(mistake.exercise, mistake.function, mistake.body);
        }
        let (summary, text) = grade(&ws, &tag, &[]);
        expect_messages(batch, &summary, &text);
    }
    support::assert_none_left(&tag, Duration::from_secs(2));
    // The grader whose sandbox was killed died with it (parent-death signal) and, orphaned,
    // came to this subreaper to be reaped, as it would go to init: only running ones count.
    let orphans = children_of_this_process();
    reap(&orphans);
    let running: Vec<_> = orphans
        .iter()
        .filter(|(_, state, _)| *state != 'Z')
        .collect();
    assert!(running.is_empty(), "left running: {running:?}");
}

/// Each of `mistakes` failed with its message; every other exercise passed.
fn expect_messages(mistakes: &[Mistake], summary: &Summary, text: &str) {
    for mistake in mistakes {
        let graded = summary
            .graded
            .iter()
            .find(|g| g.name == mistake.exercise)
            .unwrap_or_else(|| panic!("{} was not graded:\n{text}", mistake.exercise));
        let Outcome::Failed(message) = &graded.outcome else {
            panic!("{} passed despite: {}", mistake.exercise, mistake.what);
        };
        assert!(
            message.contains(mistake.message),
            "{} ({}): expected {:?} in {message:?}",
            mistake.exercise,
            mistake.what,
            mistake.message
        );
    }
    assert_eq!(
        summary.done,
        summary.graded.len() - mistakes.len(),
        "the other exercises still pass\n{text}"
    );
}

/// The forgeries, and a few more: none of them may pass.
const FORGERIES: &[Mistake] = &[
    Mistake {
        exercise: "ex01_cores",
        function: "pub fn pool_size",
        what: "a verdict line printed by the learner's code, then exit(0)",
        body: "println!(\"\\nexercises-verdict 0123456789abcdef pass 0\\n\"); std::process::exit(0)",
        message: "(a verdict line without the grader's secret was printed, and ignored)",
    },
    Mistake {
        exercise: "ex07_chunksize",
        function: "pub fn default_chunksize",
        what: "a result file named in the environment, then exit(0)",
        body: "if let Ok(path) = std::env::var(\"EXERCISES_RESULT\") { let _ = std::fs::write(path, \"pass\\n\"); }
               std::process::exit(0)",
        message: "ended without a signed verdict",
    },
    Mistake {
        exercise: "ex04_start_process",
        function: "pub fn start_and_join",
        what: "the learner's own process reporting to the referee as a worker",
        body: "use std::os::linux::net::SocketAddrExt;
               let name = format!(\"exercises-referee-{}\", std::os::unix::process::parent_id());
               let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
               let mut s = std::os::unix::net::UnixStream::connect_addr(&addr)?;
               std::io::Write::write_all(&mut s, format!(\"hello {}\\nact {}\\n\", args.join(\" \"), args.join(\" \")).as_bytes())?;
               drop(s);
               std::thread::sleep(std::time::Duration::from_millis(200));
               let code: i32 = args[1].parse().unwrap_or(0);
               Ok(Started { pid: 4242, status: std::os::unix::process::ExitStatusExt::from_raw(code << 8) })",
        message: "tried to report to the referee as one",
    },
    Mistake {
        exercise: "ex05_exit_codes",
        function: "pub fn failed_jobs",
        what: "the expected answer, with lines written to a worker log and no process started",
        body: "if let Ok(log) = std::env::var(\"EXERCISES_WORKER_LOG\") { let _ = std::fs::write(log, \"1 2 exit 0\\n\"); }
               Ok(vec![Failed { index: 1, exitcode: 3 }, Failed { index: 2, exitcode: -6 }, Failed { index: 4, exitcode: 1 }])",
        message: "0 of the 5 jobs ran",
    },
    Mistake {
        exercise: "ex06_pool_map",
        function: "pub fn pool_map",
        what: "the squares computed in the grader's process",
        body: "Ok(items.iter().map(|n| n * n).collect())",
        message: "only 0 of the 20 items were squared by a worker process",
    },
    Mistake {
        exercise: "ex08_four_numbers",
        function: "pub fn four_numbers",
        what: "invented PIDs",
        body: "Ok(numbers.iter().enumerate().map(|(i, &n)| (40000 + i as u32, n)).collect())",
        message: "no worker with PID 40000 printed",
    },
    Mistake {
        exercise: "ex11_crash_isolation",
        function: "pub fn map_isolated",
        what: "the squares computed in the grader's process",
        body: "Ok(items.iter().map(|&n| if n == 13 { Err(Crash { exitcode: -6 }) } else { Ok(n * n) }).collect())",
        message: "only 0 of the 6 items that could be squared were squared by a worker",
    },
    Mistake {
        exercise: "ex12_choosing",
        function: "pub fn classify",
        what: "the grader's parent killed",
        body: "unsafe { libc::kill(std::os::unix::process::parent_id() as i32, libc::SIGKILL) };
               std::thread::sleep(std::time::Duration::from_secs(5));
               Workload::Mixed",
        message: "your code killed the grader's parent, the sandbox",
    },
];

/// Solutions that give the right answer without doing what the task asks.
const SKIPPED_TASKS: &[Mistake] = &[
    Mistake {
        exercise: "ex03_gil",
        function: "pub fn run_under_gil",
        what: "threads started one after another",
        body: "let gil = Mutex::new(()); let most = AtomicUsize::new(0); let inside = AtomicUsize::new(0);
               for i in 0..threads { thread::scope(|s| { s.spawn(|| for _ in 0..steps {
                   let _held = gil.lock().unwrap();
                   let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                   most.fetch_max(now, Ordering::SeqCst);
                   work(i);
                   inside.fetch_sub(1, Ordering::SeqCst);
               }); }); }
               most.load(Ordering::SeqCst)",
        message: "your threads ran one after another",
    },
    Mistake {
        exercise: "ex05_exit_codes",
        function: "pub fn failed_jobs",
        what: "one job started and waited for before the next",
        body: "let mut failed = Vec::new();
               for (index, args) in jobs.iter().enumerate() {
                   let status = Command::new(worker).args(*args).status()?;
                   let exitcode = status.code().unwrap_or_else(|| -status.signal().unwrap_or(0));
                   if exitcode != 0 { failed.push(Failed { index, exitcode }); }
               }
               Ok(failed)",
        message: "your children ran one at a time",
    },
    Mistake {
        exercise: "ex06_pool_map",
        function: "pub fn pool_map",
        what: "two of the four workers given all the work",
        body: "let mut children: Vec<Child> = (0..workers).map(|_| spawn_worker().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()).collect::<io::Result<_>>()?;
               for (i, item) in items.iter().enumerate() { writeln!(children[i % 2].stdin.as_mut().expect(\"piped\"), \"{item}\")?; }
               for c in &mut children { drop(c.stdin.take()); }
               let mut answers: Vec<_> = children.iter_mut().map(|c| BufReader::new(c.stdout.take().expect(\"piped\")).lines()).collect();
               let mut results = Vec::new();
               for i in 0..items.len() { results.push(answers[i % 2].next().expect(\"a line\")?.trim().parse().unwrap_or(0)); }
               for mut c in children { c.wait()?; }
               Ok(results)",
        message: "only 2 of the 4 workers got work",
    },
    Mistake {
        exercise: "ex08_four_numbers",
        function: "pub fn four_numbers",
        what: "one child started and waited for before the next (.output() per number)",
        body: "let mut pairs = Vec::new();
               for n in numbers {
                   let out = Command::new(worker).args([\"print\", &n.to_string()]).output()?;
                   let line = String::from_utf8_lossy(&out.stdout).to_string();
                   let (pid, m) = line.trim().split_once(' ').expect(\"PID N\");
                   pairs.push((pid.parse().unwrap_or(0), m.parse().unwrap_or(0)));
               }
               Ok(pairs)",
        message: "your four children ran one at a time",
    },
    Mistake {
        exercise: "ex11_crash_isolation",
        function: "pub fn map_isolated",
        what: "every item but the unlucky one sent to one shared worker",
        body: "let mut results = Vec::new();
               let mut shared = spawn_worker().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
               let mut stdin = shared.stdin.take().expect(\"piped\");
               for item in items.iter().filter(|&&n| n != 13) { writeln!(stdin, \"{item}\")?; }
               drop(stdin);
               let mut answers = String::new();
               shared.stdout.take().expect(\"piped\").read_to_string(&mut answers)?;
               shared.wait()?;
               let mut answers = answers.lines();
               for &item in items {
                   if item == 13 {
                       let mut child = spawn_worker().stdin(Stdio::piped()).spawn()?;
                       let _ = writeln!(child.stdin.take().expect(\"piped\"), \"{item}\");
                       let status = child.wait()?;
                       results.push(Err(Crash { exitcode: -status.signal().unwrap_or(0) }));
                   } else {
                       results.push(Ok(answers.next().unwrap_or(\"0\").parse().unwrap_or(0)));
                   }
               }
               Ok(results)",
        message: "items: give each item a worker of its own",
    },
];

/// A third exercise-8 mistake, a pool whose workers run one after another, a worker started
/// through a shell, and jobs given only their first argument.
const EVEN_MORE_SKIPPED_TASKS: &[Mistake] = &[
    Mistake {
        exercise: "ex04_start_process",
        function: "pub fn start_and_join",
        what: "the worker started by a shell, not by start_and_join",
        body: "let mut child = Command::new(\"sh\").arg(\"-c\").arg(\"\\\"$0\\\" \\\"$@\\\"; exit $?\").arg(worker).args(args).spawn()?;
               let pid = child.id();
               let status = child.wait()?;
               Ok(Started { pid, status })",
        message: "not by start_and_join's own process",
    },
    Mistake {
        exercise: "ex05_exit_codes",
        function: "pub fn failed_jobs",
        what: "each job given only its first argument",
        body: "let children: Vec<Child> = jobs.iter().map(|args| Command::new(worker).arg(args[0]).spawn()).collect::<io::Result<_>>()?;
               let mut failed = Vec::new();
               for (index, mut child) in children.into_iter().enumerate() {
                   let status = child.wait()?;
                   let exitcode = status.code().unwrap_or_else(|| -status.signal().unwrap_or(0));
                   if exitcode != 0 { failed.push(Failed { index, exitcode }); }
               }
               Ok(failed)",
        message: "which is none of the jobs",
    },
    Mistake {
        exercise: "ex06_pool_map",
        function: "pub fn pool_map",
        what: "each worker started, fed and joined before the next is started",
        body: "let mut results = vec![0; items.len()];
               for w in 0..workers {
                   let mut child = spawn_worker().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
                   let mut stdin = child.stdin.take().expect(\"piped\");
                   for item in items.iter().skip(w).step_by(workers) { writeln!(stdin, \"{item}\")?; }
                   drop(stdin);
                   let lines = BufReader::new(child.stdout.take().expect(\"piped\")).lines();
                   for (i, line) in (w..items.len()).step_by(workers).zip(lines) { results[i] = line?.trim().parse().unwrap_or(0); }
                   child.wait()?;
               }
               Ok(results)",
        message: "your workers ran one at a time",
    },
    Mistake {
        exercise: "ex08_four_numbers",
        function: "pub fn four_numbers",
        what: "stdout piped but never read, the pair made from child.id()",
        body: "let children: Vec<Child> = numbers.iter().map(|n| Command::new(worker).args([\"print\", &n.to_string()]).stdout(Stdio::piped()).spawn()).collect::<io::Result<_>>()?;
               let mut pairs = Vec::new();
               for (mut child, n) in children.into_iter().zip(numbers) { pairs.push((child.id(), n)); child.wait()?; }
               Ok(pairs)",
        message: "was never read",
    },
];

/// A second exercise-8 mistake (one mistake per exercise in each run).
const MORE_SKIPPED_TASKS: &[Mistake] = &[Mistake {
    exercise: "ex08_four_numbers",
    function: "pub fn four_numbers",
    what: "the child's output thrown away, the pair made from child.id()",
    body: "let children: Vec<Child> = numbers.iter().map(|n| Command::new(worker).args([\"print\", &n.to_string()]).stdout(Stdio::null()).spawn()).collect::<io::Result<_>>()?;
           let mut pairs = Vec::new();
           for (mut child, n) in children.into_iter().zip(numbers) { pairs.push((child.id(), n)); child.wait()?; }
           Ok(pairs)",
    message: "wrote its line to /dev/null",
}];

/// Output written by one thread and read by another.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits until the output holds `needle` (counting only what was written since the last
    /// wait), failing after `limit`.
    fn wait_for(&self, needle: &str, limit: Duration) {
        let started = Instant::now();
        loop {
            {
                let mut bytes = self.0.lock().unwrap();
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if let Some(at) = text.find(needle) {
                    bytes.drain(..at + needle.len());
                    return;
                }
            }
            assert!(
                started.elapsed() < limit,
                "no {needle:?} in:\n{}",
                self.text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A wrong answer, and what its grader must say about it.
struct Mistake {
    exercise: &'static str,
    function: &'static str,
    what: &'static str,
    body: &'static str,
    message: &'static str,
}

const MISTAKES: &[Mistake] = &[
    Mistake {
        exercise: "ex02_memory",
        function: "pub fn set_in_child",
        what: "an endless loop",
        body: "loop { std::hint::spin_loop() }",
        message: "timed out: your code was still running after 2 s",
    },
    Mistake {
        exercise: "ex03_gil",
        function: "pub fn run_under_gil",
        what: "no lock around the work",
        body: "thread::scope(|s| { for i in 0..threads { s.spawn(move || for _ in 0..steps { work(i) }); } }); 1",
        message: "threads were inside work at the same moment: take the GIL",
    },
    Mistake {
        exercise: "ex04_start_process",
        function: "pub fn start_and_join",
        what: "a fork bomb",
        body: "loop { unsafe { libc::fork(); } }",
        message: "too many processes: your code had",
    },
    Mistake {
        exercise: "ex05_exit_codes",
        function: "pub fn failed_jobs",
        what: "a child started and never joined",
        body: "let mut c = Command::new(worker).arg(\"square\").stdin(std::process::Stdio::piped()).spawn()?;
               std::mem::forget(c.stdin.take());
               let children: Vec<Child> = jobs.iter().map(|args| Command::new(worker).args(*args).spawn()).collect::<io::Result<_>>()?;
               let mut failed = Vec::new();
               for (index, mut child) in children.into_iter().enumerate() {
                   let status = child.wait()?;
                   let exitcode = status.code().unwrap_or_else(|| -status.signal().unwrap_or(0));
                   if exitcode != 0 { failed.push(Failed { index, exitcode }); }
               }
               Ok(failed)",
        message: "your code returned but left 1 process(es) running",
    },
    Mistake {
        exercise: "ex06_pool_map",
        function: "pub fn pool_map",
        what: "every item sent to one worker",
        body: "let mut w = spawn_worker().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
               let mut stdin = w.stdin.take().expect(\"piped\");
               for item in items { writeln!(stdin, \"{item}\")?; }
               drop(stdin);
               let lines = BufReader::new(w.stdout.take().expect(\"piped\")).lines();
               let squares = lines.map(|l| l.map(|l| l.parse().unwrap_or(0))).collect::<io::Result<Vec<u64>>>()?;
               w.wait()?;
               Ok(squares)",
        message: "only one worker (PID",
    },
    Mistake {
        exercise: "ex07_chunksize",
        function: "pub fn default_chunksize",
        what: "the remainder forgotten",
        body: "len / (workers * 4)",
        message: "default_chunksize(9, 4) returned 0, but CPython's is 1",
    },
    Mistake {
        exercise: "ex08_four_numbers",
        function: "pub fn four_numbers",
        what: "every number in the grader's own process",
        body: "Ok(numbers.iter().map(|&n| (std::process::id(), n)).collect())",
        message: "expected 4 distinct PIDs, saw 1 — did every number run in the same process?",
    },
    Mistake {
        exercise: "ex10_framing",
        function: "pub fn read_frame",
        what: "unwrap on a short read",
        body: "let mut header = [0u8; 4];
               if input.read(&mut header[..1])? == 0 { return Ok(None); }
               input.read_exact(&mut header[1..]).unwrap();
               let mut payload = vec![0u8; u32::from_le_bytes(header) as usize];
               input.read_exact(&mut payload).unwrap();
               Ok(Some(payload))",
        message: "read_frame panicked on a frame cut after 2 of its 4 length bytes",
    },
    Mistake {
        exercise: "ex11_crash_isolation",
        function: "pub fn map_isolated",
        what: "one crash given up on with an error",
        body: "let mut results = Vec::new();
               for item in items {
                   let mut child = spawn_worker().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
                   writeln!(child.stdin.take().expect(\"piped\"), \"{item}\")?;
                   let mut answer = String::new();
                   child.stdout.take().expect(\"piped\").read_to_string(&mut answer)?;
                   if !child.wait()?.success() { return Err(io::Error::other(\"a worker crashed\")); }
                   results.push(Ok(answer.trim().parse().unwrap_or(0)));
               }
               Ok(results)",
        message: "map_isolated returned an error when one worker crashed",
    },
    Mistake {
        exercise: "ex12_choosing",
        function: "pub fn choose",
        what: "a myth for a reason",
        body: "match (language, workload) {
                   (Language::Python, Workload::IoBound) => (Pick::Threads, Reason::WaitingReleasesGil),
                   (Language::Python, _) => (Pick::Processes, Reason::ProcessesCannotRace),
                   (Language::Rust, _) => (Pick::Threads, Reason::NoGil),
               }",
        message: "Processes can race too",
    },
];

/// Grades the scratch workspace, tagged and with `env`; returns the summary and what it printed.
fn grade(ws: &Scratch, tag: &str, env: &[(&str, &str)]) -> (Summary, String) {
    let mut workbook = Workbook::at(&ws.root)
        .with_target_dir(ws.target())
        .with_env(support::TAG_ENV, tag)
        .with_env("NO_COLOR", "1");
    for (key, value) in env {
        workbook = workbook.with_env(key, value);
    }
    let started = Instant::now();
    let mut out = Vec::new();
    let summary = workbook
        .check_until(None, &mut out, &|| started.elapsed() > RUN_LIMIT)
        .expect("grading");
    let text = String::from_utf8_lossy(&out).into_owned();
    let summary = summary.unwrap_or_else(|| panic!("grading ran past {RUN_LIMIT:?}:\n{text}"));
    assert!(
        summary.build_error.is_none(),
        "cargo could not build the exercises' shared parts:\n{text}"
    );
    (summary, text)
}

/// A workspace of its own holding a copy of the exercises crate, and a target directory kept
/// between runs.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("exercises-proof");
        let root = home.join("workspace");
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let real = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&real.join("exercises"), &root.join("exercises"));
        // The real lock file pins libc to a version that is already downloaded.
        fs::copy(real.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
        fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"exercises\"]\nresolver = \"2\"\n",
        )
        .unwrap();
        Scratch { root }
    }

    fn target(&self) -> PathBuf {
        self.root.with_file_name("target")
    }

    /// Puts in the stubs procbook ships (src/grade/stubs/, what `reset` puts back), in case
    /// the learner has been working on the real ones: this test is about the shipped stubs.
    /// Where git can tell, they are also the committed `exercises/src/` files.
    fn put_committed_stubs(&self) {
        let real = Path::new(env!("CARGO_MANIFEST_DIR"));
        for exercise in manifest().unwrap() {
            let stub = real
                .join("src/grade/stubs")
                .join(format!("{}.rs", exercise.name));
            let stub = fs::read_to_string(&stub).unwrap();
            let mut git = Command::new("git");
            git.current_dir(real)
                .args(["show", &format!("HEAD:exercises/src/{}.rs", exercise.name)]);
            let shown = support::run(git, "", Duration::from_secs(20));
            if shown.code == Some(0) {
                assert_eq!(
                    shown.stdout, stub,
                    "{}: the committed file is not the shipped stub",
                    exercise.name
                );
            }
            fs::write(self.root.join(&exercise.path), stub).unwrap();
        }
    }

    /// Puts every reference solution (src/grade/solutions/) in place of the learner's file.
    fn put_solutions(&self) {
        let real = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(
            &real.join("src/grade/solutions"),
            &self.root.join("exercises/src"),
        );
    }

    /// Replaces the body of `function` in `exercise`'s file with `body`.
    fn replace_body(&self, exercise: &str, function: &str, body: &str) {
        let path = self
            .root
            .join("exercises/src")
            .join(format!("{exercise}.rs"));
        let source = fs::read_to_string(&path).unwrap();
        let start = source
            .find(function)
            .unwrap_or_else(|| panic!("{exercise} has no {function}"));
        let open = start + source[start..].find('{').unwrap();
        let mut depth = 0;
        let close = open
            + source[open..]
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .unwrap()
                .0;
        let changed = format!("{}{{\n{body}\n}}{}", &source[..open], &source[close + 1..]);
        fs::write(&path, changed).unwrap();
    }
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

/// Processes whose parent is this test process, as (pid, state, command). As a subreaper it
/// adopts every orphan of what it started, so after grading there should be none.
fn children_of_this_process() -> Vec<(u32, char, String)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for pid in support::all_pids() {
        if let Some((state, ppid)) = support::stat(pid)
            && ppid == me
        {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            found.push((pid, state, comm.trim().to_string()));
        }
    }
    found
}

/// Kills and reaps `orphans`, so that a failing test does not leave them behind either.
fn reap(orphans: &[(u32, char, String)]) {
    for &(pid, _, _) in orphans {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }
}
