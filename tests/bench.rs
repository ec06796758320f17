//! `procbook bench --json` has the figures the issue names, measured (positive, finite), with
//! Python's side present when python3 is and `null` when asked to leave it out.

mod support;

use std::time::Duration;

use support::{assert_none_left, procbook, run, tag};

const RUST_KEYS: [&str; 7] = [
    "thread_spawn_us",
    "raw_spawn_us",
    "process_spawn_us",
    "pool_start_us",
    "task_chunk1_us",
    "task_default_us",
    "task_million_us",
];

fn bench(args: &[&str]) -> serde_json::Value {
    let tag = tag("bench");
    let mut words = vec!["bench", "--json"];
    words.extend_from_slice(args);
    let out = run(procbook(&tag, &words), "", Duration::from_secs(120));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_none_left(&tag, Duration::from_secs(2));
    serde_json::from_str(&out.stdout).expect("bench --json prints one JSON object")
}

fn positive(v: &serde_json::Value, key: &str) {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"));
    assert!(x.is_finite() && x > 0.0, "{key} = {x}");
}

#[test]
fn bench_json_has_every_figure() {
    let python_present = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let report = bench(&[]);
    for key in RUST_KEYS {
        positive(&report, key);
    }
    if !python_present {
        assert!(report["python"].is_null());
        assert!(report["task_million_vs_python"].is_null());
        return;
    }
    let py = &report["python"];
    for key in [
        "pool_start_us",
        "task_chunk1_us",
        "task_default_us",
        "task_million_us",
    ] {
        positive(py, key);
    }
    // The ratio is the two figures of this run, not a separate measurement (each figure is
    // printed to four significant digits, so they agree to within that rounding).
    positive(&report, "task_million_vs_python");
    let ratio =
        report["task_million_us"].as_f64().unwrap() / py["task_million_us"].as_f64().unwrap();
    let reported = report["task_million_vs_python"].as_f64().unwrap();
    assert!(
        (ratio - reported).abs() <= 2e-3 * ratio,
        "{ratio} vs {reported}"
    );
    for method in ["fork", "forkserver", "spawn"] {
        positive(&py["process_spawn_us"], method);
    }
}

#[test]
fn bench_without_python_says_null() {
    let report = bench(&["--no-python"]);
    assert!(report["python"].is_null(), "{report}");
    assert!(report["task_million_vs_python"].is_null(), "{report}");
    positive(&report, "process_spawn_us");
    positive(&report, "task_million_us");
}
