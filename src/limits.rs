//! When the system will not start a thread or a process: one line that says what could not be
//! started, why, and the limit most likely in the way ("could not start a thread: Resource
//! temporarily unavailable; the process limit is 30"), never a panic. Every start outside the
//! engine goes through here.

use std::io;
use std::thread::{Builder, JoinHandle};

/// A start that failed, ready to print as one line.
#[derive(Debug)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// "could not start WHAT: WHY; the process limit is N" (or the memory limit, for ENOMEM).
pub fn start_error(what: &str, err: &io::Error) -> StartError {
    let why = err.to_string();
    // "Resource temporarily unavailable (os error 11)": the number says nothing to a learner.
    let why = match why.rfind(" (os error ") {
        Some(at) => why[..at].to_string(),
        None => why,
    };
    // A thread's stack is memory, and threads count as processes: either limit can say no,
    // and the kernel's EAGAIN does not tell which, so name those in force.
    let memory = || {
        limit(libc::RLIMIT_AS)
            .map(|bytes| format!("the memory limit is {} KiB (ulimit -v)", bytes / 1024))
    };
    let processes =
        || limit(libc::RLIMIT_NPROC).map(|n| format!("the process limit is {n} (ulimit -u)"));
    let limits: Vec<String> = match err.raw_os_error() {
        Some(libc::EAGAIN) => [memory(), processes()].into_iter().flatten().collect(),
        Some(libc::ENOMEM) => memory().into_iter().collect(),
        _ => Vec::new(),
    };
    let limit = (!limits.is_empty()).then(|| format!("; {}", limits.join("; ")));
    StartError(format!(
        "could not start {what}: {why}{}",
        limit.unwrap_or_default()
    ))
}

/// Start a named thread, or say in one line why it could not start.
pub fn spawn<T, F>(name: &str, f: F) -> Result<JoinHandle<T>, StartError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| start_error("a thread", &e))
}

/// A soft resource limit, or `None` when there is none.
fn limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct we pass.
    let ok = unsafe { libc::getrlimit(resource, &mut lim) } == 0;
    (ok && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_failed_without_the_os_error_number() {
        let e = start_error("a thread", &io::Error::from_raw_os_error(libc::EAGAIN));
        let text = e.to_string();
        assert!(
            text.starts_with("could not start a thread: Resource temporarily unavailable"),
            "{text}"
        );
        assert!(!text.contains("os error"), "{text}");
        let e = start_error("python3", &io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(e.to_string(), "could not start python3: Permission denied");
    }
}
