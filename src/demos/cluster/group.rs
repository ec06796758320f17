//! The cluster's process group after python3 has gone: empty, or emptied by procbook.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::GRACE;

/// After python3 has exited, its process group should empty by itself within moments (the
/// workers have been joined; multiprocessing's resource tracker leaves when its pipe closes).
/// Whatever is still alive in it after [`GRACE`] is killed. Returns how many were killed.
/// (The group keeps python3's number while any member lives, so it cannot name another group.)
pub(super) fn stop_leftovers(python_pid: u32) -> usize {
    if python_pid <= 1 {
        return 0;
    }
    let deadline = Instant::now() + GRACE;
    loop {
        let alive = group_members(python_pid);
        if alive == 0 {
            return 0;
        }
        if Instant::now() >= deadline {
            let _ = killpg(Pid::from_raw(python_pid as i32), Signal::SIGKILL);
            return alive;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Live (not zombie) processes in process group `pgid`, from /proc.
pub(super) fn group_members(pgid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No /proc (not Linux): ask the kernel whether the group has anyone, zombies included.
        return usize::from(killpg(Pid::from_raw(pgid as i32), None).is_ok());
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let fields: Vec<&str> = after.split_whitespace().take(3).collect();
            matches!(fields.as_slice(), [state, _, group]
                if *state != "Z" && *state != "X" && group.parse() == Ok(pgid))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_counts_its_live_members_only() {
        let ours = nix::unistd::getpgrp().as_raw() as u32;
        assert!(group_members(ours) >= 1, "this test runs in its own group");
        // A number above the kernel's PID limit (4194304) names no group.
        assert_eq!(group_members(4_194_305), 0);
        assert_eq!(stop_leftovers(4_194_305), 0);
    }
}
