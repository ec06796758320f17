//! A child in a process group of its own, with everything it started (Python's resource
//! tracker, its forkserver, its pool's workers): stopped and reaped as one, whether or not the
//! child itself is still running.
//!
//! Killing a group by its number is safe only while the group's leader is unreaped: until then
//! its PID, and so the group's number, cannot be handed to anyone else. So a leader's exit is
//! observed without reaping it (`waitid` with `WNOWAIT`), the group is killed, and only then is
//! the leader reaped. The groups alive now are listed, so that procbook, told to terminate, can
//! stop them before it goes (see [`crate::shutdown`]).

use std::io;
use std::process::{Child, ExitStatus};
use std::sync::Mutex;

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// The groups that are running now, by number.
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<u32>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Note that `child` leads a group of its own, until [`stop`] is called for it.
pub fn watch(child: &Child) {
    live().push(child.id());
}

/// Kill every listed group: procbook is terminating. Their leaders are unreaped while listed.
pub fn kill_all() {
    for &pgid in live().iter() {
        let _ = killpg(Pid::from_raw(pgid as i32), Signal::SIGKILL);
    }
}

/// Has `child` exited? Looks without reaping it, so its group number stays its own.
pub fn has_exited(child: &Child) -> io::Result<bool> {
    match peek(child) {
        Ok(WaitStatus::StillAlive) => Ok(false),
        Ok(_) => Ok(true),
        // Already reaped (by `stop`): it has certainly exited.
        Err(nix::errno::Errno::ECHILD) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// `child`'s state, without reaping it; `ECHILD` once it has been reaped.
fn peek(child: &Child) -> nix::Result<WaitStatus> {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    waitid(Id::Pid(Pid::from_raw(child.id() as i32)), flags)
}

/// The live processes of group `pgid` (zombies do not count), from /proc.
pub fn members(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command's closing parenthesis: state, ppid, pgrp, …
        let Some(after) = stat.rfind(')').map(|at| &stat[at + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let pgrp = fields.nth(1).and_then(|f| f.parse::<u32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            found.push(pid);
        }
    }
    found
}

/// Kill `child`'s whole group, then reap `child`. Returns how many processes of the group
/// besides `child` were still running, and how `child` ended. Safe to call again.
pub fn stop(child: &mut Child) -> (usize, io::Result<ExitStatus>) {
    let pgid = child.id();
    let reaped = matches!(peek(child), Err(nix::errno::Errno::ECHILD));
    let mut running = 0;
    if !reaped {
        running = members(pgid).into_iter().filter(|&p| p != pgid).count();
        let _ = killpg(Pid::from_raw(pgid as i32), Signal::SIGKILL);
    }
    live().retain(|&g| g != pgid);
    (running, child.wait())
}

/// "python3 exited (exit status: 1)", "python3 was killed by signal 9", for messages.
pub fn describe(what: &str, status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => format!("{what} exited normally"),
        (Some(code), _) => format!("{what} exited with status {code}"),
        (None, Some(sig)) => {
            let name = Signal::try_from(sig).map_or_else(|_| sig.to_string(), |s| s.to_string());
            format!("{what} was killed by {name}")
        }
        _ => format!("{what} ended ({status})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    #[test]
    fn stop_kills_the_survivors_of_a_leader_that_has_exited() {
        // The leader starts a sleeper that keeps its stdout, then exits.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & echo $!"])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        watch(&child);
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        let sleeper: u32 = line.trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !has_exited(&child).unwrap() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(members(child.id()), vec![sleeper]);
        let (running, status) = stop(&mut child);
        assert_eq!(running, 1);
        assert!(status.unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !members(child.id()).is_empty() {
            assert!(Instant::now() < deadline, "the sleeper survived");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(stop(&mut child).0, 0, "a second stop finds nothing");
    }
}
