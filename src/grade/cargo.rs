//! Running the graders: `cargo test -p exercises`, which can be stopped part-way.

use anyhow::{Context, Result};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How often a running `cargo test` checks whether it has been asked to stop.
const POLL: Duration = Duration::from_millis(50);
/// How long cargo and the graders get to clean up after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// What one `cargo test` printed, and how it ended.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Where and how to run cargo.
pub struct Setting<'a> {
    /// The workspace whose `exercises` member is graded.
    pub root: &'a Path,
    /// Where cargo builds, when not its default.
    pub target_dir: Option<&'a Path>,
    /// More environment for cargo and the graders.
    pub env: &'a [(String, String)],
}

/// Runs the graders: all of them, or only the test named `only`. Returns `None` if `stop()`
/// turned true first, in which case everything it started has been stopped.
pub fn run_graders(
    setting: &Setting<'_>,
    only: Option<&str>,
    stop: &dyn Fn() -> bool,
) -> Result<Option<Run>> {
    let root = setting.root;
    // Under `cargo run` or `cargo test`, CARGO names the cargo that is running us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "test",
            "-p",
            "exercises",
            "--no-fail-fast",
            "--color",
            "never",
        ])
        .args(["--", "--color", "never"])
        .args(only.map(|name| [name, "--exact"]).into_iter().flatten())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so that stopping reaches cargo, the test binary and the
        // graders' sandboxes at once.
        .process_group(0);
    if let Some(dir) = setting.target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command.envs(setting.env.iter().map(|(k, v)| (k, v)));
    let mut child = command
        .spawn()
        .with_context(|| format!("running cargo test -p exercises in {}", root.display()))?;
    // Read both pipes at once: a full pipe would stall cargo.
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                stop_group(&mut child);
                return Err(e).context("waiting for cargo test");
            }
        }
        if stop() {
            stop_group(&mut child);
            return Ok(None);
        }
        thread::sleep(POLL);
    };
    Ok(Some(Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }))
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
