//! `demo cluster` live on Dask: the squares, two worker PIDs on 127.0.0.1, and no process left
//! afterwards, whether the demo ends, is stopped by Ctrl-C, or procbook is SIGKILLed midway.
//! Without Dask these tests skip loudly, except under CI=true, where Dask must be installed.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{assert_none_left, procbook, run, tag};

const SQUARES: &str = "[1, 4, 9, 16, 25, 36, 49, 64, 81]";
const LIMIT: Duration = Duration::from_secs(180);

/// Is `dask.distributed` importable by python3? Under CI it must be.
fn have_dask(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import dask.distributed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 cannot import dask.distributed: .ci/run installs it with \
             python3 -m pip install \"dask[distributed]\""
        );
        eprintln!(
            "SKIPPED {test}: python3 cannot import dask.distributed \
             (python3 -m pip install \"dask[distributed]\")"
        );
    }
    ok
}

#[test]
fn the_cluster_computes_the_squares_on_two_loopback_workers_and_leaves_nothing() {
    if !have_dask("the_cluster_computes_the_squares…") {
        return;
    }
    let tag = tag("cluster");
    let out = run(
        procbook(&tag, &["demo", "cluster", "--workers", "2"]),
        "",
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let text = &out.stdout;
    // Once from Dask, once from procbook's Pool.
    assert_eq!(text.matches(SQUARES).count(), 2, "{text}");
    assert!(
        text.contains("scheduler at tcp://127.0.0.1:"),
        "no loopback scheduler:\n{text}"
    );
    let workers: BTreeSet<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let pid = l.strip_prefix("[worker pid ")?.split(']').next()?;
            let address = l.split("worker at ").nth(1)?;
            Some((pid.to_string(), address.to_string()))
        })
        .collect();
    assert_eq!(workers.len(), 2, "two workers expected:\n{text}");
    for (pid, address) in &workers {
        assert!(pid.parse::<u32>().is_ok(), "{pid}");
        assert!(address.starts_with("tcp://127.0.0.1:"), "{address}");
    }
    let pids: BTreeSet<&String> = workers.iter().map(|(pid, _)| pid).collect();
    assert_eq!(pids.len(), 2, "two distinct worker PIDs:\n{text}");
    // Each item names the worker that computed it, one of the two.
    for n in 1..=9u64 {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("square({n}) = {}", n * n)))
            .unwrap_or_else(|| panic!("no line for square({n}):\n{text}"));
        assert!(
            workers
                .iter()
                .any(|(pid, a)| line.contains(pid) && line.contains(a)),
            "{line}"
        );
    }
    // The counts lead the side-by-side table; then the times of both, timed in turns.
    for row in [
        "tasks sent for 9 items     9 (one per item)",
        "workers that did work",
        "first map",
    ] {
        assert!(text.contains(row), "no row {row:?}:\n{text}");
    }
    assert!(text.contains("process group is empty"), "{text}");
    assert_none_left(&tag, Duration::from_secs(5));
}

/// Start `demo cluster` and wait until its cluster is up (a worker line has been printed).
fn start_until_workers(tag: &str) -> (Child, mpsc::Receiver<String>) {
    let mut child = procbook(tag, &["demo", "cluster", "--workers", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting procbook");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("worker at tcp://127.0.0.1:") => return (child, rx),
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("demo cluster printed no worker within {LIMIT:?}");
            }
        }
    }
}

/// The worker processes alive now that carry the tag, beside procbook itself.
fn cluster_processes(tag: &str) -> usize {
    support::tagged(tag)
        .iter()
        .filter(|(_, cmd)| cmd.contains("python3") || cmd.contains("python"))
        .count()
}

#[test]
fn ctrl_c_mid_run_stops_the_cluster_and_every_worker() {
    if !have_dask("ctrl_c_mid_run_stops_the_cluster…") {
        return;
    }
    let tag = tag("cluster-int");
    let (mut child, _lines) = start_until_workers(&tag);
    assert!(
        cluster_processes(&tag) >= 3,
        "python3 and two workers should be running: {:?}",
        support::tagged(&tag)
    );
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child's PID.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = sent + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for procbook") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("procbook did not stop within 20 s of Ctrl-C");
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(130), "Ctrl-C exits with 130");
    assert_none_left(&tag, Duration::from_secs(5));
}

#[test]
fn sigkill_of_procbook_takes_the_cluster_down_within_seconds() {
    if !have_dask("sigkill_of_procbook_takes_the_cluster_down…") {
        return;
    }
    let tag = tag("cluster-kill");
    let (mut child, _lines) = start_until_workers(&tag);
    assert!(
        cluster_processes(&tag) >= 3,
        "python3 and two workers should be running: {:?}",
        support::tagged(&tag)
    );
    child.kill().expect("SIGKILL to procbook");
    child.wait().expect("reaping procbook");
    // Nobody ran procbook's clean-up: the kernel's parent-death signal, the script's watcher
    // and Dask's own parent pipe must take the cluster down on their own.
    assert_none_left(&tag, Duration::from_secs(5));
}

/// A folder holding a `dask` package that refuses to import. First on PYTHONPATH, it hides
/// Dask: python3 and everything else stay real.
fn without_dask(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("procbook-nodask-{tag}"));
    std::fs::create_dir_all(dir.join("dask")).expect("making a fake package");
    std::fs::write(
        dir.join("dask/__init__.py"),
        "raise ImportError('hidden by the test')\n",
    )
    .expect("writing the fake package");
    dir
}

#[test]
fn the_books_capture_says_plainly_when_dask_is_missing_and_does_not_fail() {
    let tag = tag("cluster-book");
    let dir = without_dask(&tag);
    let out = Command::new("python3")
        .arg("python/12_cluster.py")
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/book/src"))
        .env("PYTHONPATH", &dir)
        .env(support::TAG_ENV, &tag)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(out) = out else {
        eprintln!("SKIPPED the_books_capture…: no python3 on this machine");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // Exit 0, so the book still builds; the cell says why it shows no cluster.
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.trim(),
        "dask is not installed here, so this run shows no cluster; to see one: \
         python3 -m pip install \"dask[distributed]\""
    );
    assert_none_left(&tag, Duration::from_secs(5));
}

#[test]
fn without_dask_one_line_says_how_to_install_it() {
    let tag = tag("cluster-nodask");
    let dir = without_dask(&tag);
    let mut cmd = procbook(&tag, &["demo", "cluster"]);
    cmd.env("PYTHONPATH", &dir);
    let out = run(cmd, "", Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&dir);
    if out.stderr.contains("no python3") {
        eprintln!("SKIPPED without_dask…: no python3 on this machine");
        return;
    }
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("python3 -m pip install \"dask[distributed]\""),
        "{err}"
    );
    assert_none_left(&tag, Duration::from_secs(5));
}

#[test]
fn ray_without_ray_says_how_to_install_it() {
    let has_ray = Command::new("python3")
        .args(["-c", "import ray"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_ray {
        eprintln!("SKIPPED ray_without_ray…: Ray is installed here");
        return;
    }
    let tag = tag("cluster-noray");
    let out = run(
        procbook(&tag, &["demo", "cluster", "--engine", "ray"]),
        "",
        Duration::from_secs(60),
    );
    if out.stderr.contains("no python3") {
        eprintln!("SKIPPED ray_without_ray…: no python3 on this machine");
        return;
    }
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("python3 -m pip install ray"),
        "{}",
        out.stderr
    );
    assert_none_left(&tag, Duration::from_secs(5));
}

#[test]
fn bad_options_get_one_line_with_a_suggestion() {
    let tag = tag("cluster-args");
    for (args, says) in [
        (
            &["demo", "cluster", "--workers", "17"][..],
            "try: demo cluster --workers 4",
        ),
        (&["demo", "cluster", "--engine", "spark"][..], "dask"),
        (&["demo", "pool", "--engine", "dask"][..], "not --engine"),
    ] {
        let out = run(procbook(&tag, args), "", Duration::from_secs(30));
        assert_ne!(out.code, Some(0), "{args:?}");
        let err = out.stderr.trim();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_none_left(&tag, Duration::from_secs(5));
}
