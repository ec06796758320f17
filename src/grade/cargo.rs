//! Running the graders: build each exercise's own test binary with cargo, then run each one.
//!
//! Every exercise is a test target of its own in the exercises crate (`tests/ex06_pool_map.rs`
//! compiles `src/ex06_pool_map.rs` and its grader). `cargo build --tests --keep-going` builds
//! every target that compiles and says which did not, so a compile error in one exercise
//! blocks only that one; `cargo test` would stop at the first. Each built binary is then run
//! in a process group of its own, which can be stopped part-way.

use super::libtest::{Outcome, parse_test_output};
use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How often a running build or grader checks whether it has been asked to stop.
const POLL: Duration = Duration::from_millis(50);
/// How long cargo and the graders get to clean up after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

const NO_COMPILE: &str = "it does not compile, so it could not be graded. The compiler says:";
const NO_BINARY: &str = "cargo built no grader for it: is tests/{}.rs in the exercises crate?";

/// Where and how to run cargo.
pub struct Setting<'a> {
    /// The workspace whose `exercises` member is graded.
    pub root: &'a Path,
    /// Where cargo builds, when not its default.
    pub target_dir: Option<&'a Path>,
    /// More environment for cargo and the graders.
    pub env: &'a [(String, String)],
}

/// What grading found.
pub enum Graded {
    /// Each exercise asked for, by name, with its grader's outcome (a compile error is one).
    Outcomes(BTreeMap<String, Outcome>),
    /// Cargo itself failed: it could not start, or could not build what every exercise needs.
    CargoFailed(String),
}

/// cargo's JSON messages, the few fields read here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    target: Option<Target>,
    message: Option<Diagnostic>,
    executable: Option<PathBuf>,
    profile: Option<Profile>,
    success: Option<bool>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
}

#[derive(Deserialize)]
struct Profile {
    test: bool,
}

/// Builds and runs the graders of `names`. Returns `None` if `stop()` turned true first, in
/// which case everything it started has been stopped.
pub fn run_graders(
    setting: &Setting<'_>,
    names: &[&str],
    stop: &dyn Fn() -> bool,
) -> Result<Option<Graded>> {
    let mut build = cargo(setting);
    build.args([
        "build",
        "-p",
        "exercises",
        "--keep-going",
        "--message-format",
        "json",
        "--color",
        "never",
    ]);
    for name in names {
        build.args(["--test", name]);
    }
    let Some((status, stdout, stderr)) = run_stoppable(build, stop, "cargo build -p exercises")?
    else {
        return Ok(None);
    };

    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    let mut binaries: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut other_errors = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        let Some(target) = &message.target else {
            continue;
        };
        let is_grader = target.kind.iter().any(|k| k == "test");
        match message.reason.as_str() {
            "compiler-message" => {
                let Some(d) = message.message.filter(|d| d.level == "error") else {
                    continue;
                };
                // Each exercise's file is compiled into its grader as `tests/../src/NAME.rs`.
                let text = d
                    .rendered
                    .unwrap_or_default()
                    .replace("tests/../src/", "src/");
                if is_grader && names.contains(&target.name.as_str()) {
                    // The first error says the most; the rest often follow from it.
                    errors.entry(target.name.clone()).or_insert(text);
                } else {
                    other_errors.push(format!(
                        "{} ({}):\n{text}",
                        target.name,
                        target.kind.join(",")
                    ));
                }
            }
            "compiler-artifact" if is_grader && message.profile.is_some_and(|p| p.test) => {
                if let Some(exe) = message.executable {
                    binaries.insert(target.name.clone(), exe);
                }
            }
            _ => {}
        }
    }
    let finished_ok = stdout.lines().any(|line| {
        serde_json::from_str::<Message>(line)
            .is_ok_and(|m| m.reason == "build-finished" && m.success == Some(true))
    });
    if binaries.is_empty() && errors.is_empty() && !(status.success() && finished_ok) {
        // Nothing of the exercises' own was built or refused: cargo could not do its part.
        let said = if other_errors.is_empty() {
            tail(&stderr, 20)
        } else {
            other_errors.join("\n")
        };
        return Ok(Some(Graded::CargoFailed(said)));
    }
    if !other_errors.is_empty() {
        // The library, the worker or the sandbox did not build: nothing can be graded.
        return Ok(Some(Graded::CargoFailed(other_errors.join("\n"))));
    }

    let mut outcomes = BTreeMap::new();
    for name in names {
        if let Some(error) = errors.remove(*name) {
            outcomes.insert(
                name.to_string(),
                Outcome::Failed(format!("{NO_COMPILE}\n{}", error.trim_end())),
            );
            continue;
        }
        let Some(exe) = binaries.get(*name) else {
            outcomes.insert(
                name.to_string(),
                Outcome::Failed(NO_BINARY.replace("{}", name)),
            );
            continue;
        };
        let mut grader = Command::new(exe);
        grader
            .current_dir(setting.root.join("exercises"))
            .args([name, "--exact", "--color", "never"])
            .envs(setting.env.iter().map(|(k, v)| (k, v)));
        let Some((_, stdout, stderr)) = run_stoppable(grader, stop, name)? else {
            return Ok(None);
        };
        let outcome = parse_test_output(&stdout).remove(*name).unwrap_or_else(|| {
            Outcome::Failed(format!(
                "the grader gave no verdict; it said:\n{}",
                tail(&format!("{stdout}{stderr}"), 20)
            ))
        });
        outcomes.insert(name.to_string(), outcome);
    }
    Ok(Some(Graded::Outcomes(outcomes)))
}

/// `cargo` in the workspace, with the setting's target directory and environment.
fn cargo(setting: &Setting<'_>) -> Command {
    // Under `cargo run` or `cargo test`, CARGO names the cargo that is running us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(setting.root);
    if let Some(dir) = setting.target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command.envs(setting.env.iter().map(|(k, v)| (k, v)));
    command
}

/// Runs `command` in a process group of its own that dies with this process, reading its
/// output; `None` if `stop()` turned true first (the group has then been stopped).
fn run_stoppable(
    mut command: Command,
    stop: &dyn Fn() -> bool,
    what: &str,
) -> Result<Option<(std::process::ExitStatus, String, String)>> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so that stopping reaches cargo, the graders and their sandboxes
        // at once.
        .process_group(0);
    // SAFETY: prctl only changes the child's own settings and allocates nothing. Should
    // procbook be killed, even with SIGKILL, the child is sent SIGTERM: the graders and their
    // sandboxes then stop what they run and remove their scratch folders.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start {what}"))?;
    // Read both pipes at once: a full pipe would stall the child.
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                stop_group(&mut child);
                return Err(e).with_context(|| format!("waiting for {what}"));
            }
        }
        if stop() {
            stop_group(&mut child);
            return Ok(None);
        }
        thread::sleep(POLL);
    };
    Ok(Some((
        status,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    )))
}

fn read_all(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// SIGTERM to the whole group (each grader's sandbox then stops the code it runs and cleans
/// up), a wait until the group is empty, then SIGKILL for whatever has not gone.
fn stop_group(child: &mut Child) {
    use nix::errno::Errno;
    use nix::sys::signal::{Signal, kill};
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    let _ = kill(group, Signal::SIGTERM);
    let asked = Instant::now();
    while asked.elapsed() < GRACE {
        let _ = child.try_wait();
        // Signal 0 only asks whether anyone in the group is left.
        if kill(group, None) == Err(Errno::ESRCH) {
            break;
        }
        thread::sleep(POLL);
    }
    let _ = kill(group, Signal::SIGKILL);
    let _ = child.wait();
}
