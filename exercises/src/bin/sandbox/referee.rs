//! The referee: what the sandbox sees for itself of the workers your code starts.
//!
//! The sandbox listens on an abstract unix socket named after its PID. Every `worker` looks for
//! it among its ancestors as it starts, says what it was asked to do, and then says each thing
//! it does. The referee believes a report only from a process that the kernel says is at the
//! other end of the socket (`SO_PEERCRED`), that is below the sandbox, and whose program
//! (`/proc/PID/exe`) is the worker: your code can produce evidence only by really starting
//! workers. The referee itself notes who each worker's parent is, when it started and ended
//! (its socket closes when it exits), and where its standard output goes; for a worker that
//! prints, it keeps a read end of that pipe so that it can tell, afterwards, whether anybody
//! read the line.
//!
//! The grader (only the process the sandbox started) asks the referee over the same socket:
//! `mark` (forget the workers so far), `hold N MS` (keep the next workers from starting their
//! work until N of them have started, or one has waited MS: to see whether they run at once),
//! and `workers` (everything seen since the mark).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The socket's name, followed by the sandbox's PID (the workers look for it so).
const NAME: &str = "exercises-referee-";

/// One worker, as the referee saw it.
struct Worker {
    pid: u32,
    ppid: u32,
    args: String,
    start_ms: u128,
    end_ms: Option<u128>,
    /// How it was let go: `free` (no hold), `together` (all that were awaited started),
    /// `timeout` (it waited and the others did not come).
    release: &'static str,
    /// `pipe`, `null`, `terminal`, `file`, `inherited` (the grader's own output) or `other`.
    stdout: &'static str,
    /// A read end of its stdout pipe, kept to count what nobody read.
    stdout_pipe: Option<File>,
    acts: Vec<String>,
}

/// A hold on the next workers: none starts its work until `want` have started.
struct Hold {
    want: usize,
    patience: Duration,
    arrived: usize,
    outcome: Option<&'static str>,
}

#[derive(Default)]
struct State {
    workers: Vec<Worker>,
    /// Workers before this index were seen before the grader's last `mark`.
    from: usize,
    hold: Option<Hold>,
    /// Processes that tried to report as a worker but are not one.
    rejected: Vec<String>,
}

/// The referee, running on threads of its own until the sandbox exits.
#[derive(Clone)]
pub struct Referee {
    shared: Arc<(Mutex<State>, Condvar)>,
    started: Instant,
    me: u32,
    worker: PathBuf,
    /// The process the sandbox started: the grader, the only one that may ask.
    inner: Arc<Mutex<Option<u32>>>,
}

impl Referee {
    /// Starts listening; `worker` is the program whose processes are believed.
    pub fn start(worker: PathBuf) -> io::Result<Referee> {
        let me = std::process::id();
        let addr = SocketAddr::from_abstract_name(format!("{NAME}{me}").as_bytes())?;
        let listener = UnixListener::bind_addr(&addr)?;
        let referee = Referee {
            shared: Arc::default(),
            started: Instant::now(),
            me,
            worker: fs::canonicalize(&worker).unwrap_or(worker),
            inner: Arc::default(),
        };
        let serving = referee.clone();
        thread::Builder::new()
            .name("referee".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let referee = serving.clone();
                    // A thread per connection: a held worker waits on its own.
                    let _ = thread::Builder::new().spawn(move || referee.serve(stream));
                }
            })?;
        Ok(referee)
    }

    /// Names the grader's process, once started.
    pub fn set_inner(&self, pid: u32) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Some(pid);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    fn serve(&self, stream: UnixStream) {
        let Some(pid) = peer_pid(&stream) else { return };
        let Ok(reading) = stream.try_clone() else {
            return;
        };
        let mut lines = BufReader::new(reading).lines();
        let Some(Ok(first)) = lines.next() else {
            return;
        };
        let inner = *self.inner.lock().unwrap_or_else(|e| e.into_inner());
        // The grader may ask before the sandbox has noted its PID (on a busy machine the
        // sandbox's thread may not have run since the spawn): then its parent tells.
        let is_grader = match inner {
            Some(inner) => inner == pid,
            None => parent_of(pid) == Some(self.me),
        };
        if first == "query" && is_grader {
            self.answer(stream, lines);
        } else if let Some(args) = first.strip_prefix("hello") {
            self.worker(stream, lines, pid, args.trim());
        }
    }

    fn worker(
        &self,
        mut stream: UnixStream,
        lines: io::Lines<BufReader<UnixStream>>,
        pid: u32,
        args: &str,
    ) {
        let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        if exe != self.worker || !self.is_below_me(pid) {
            self.state()
                .rejected
                .push(format!("{pid} {}", exe.display()));
            return;
        }
        let inner = *self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (stdout, stdout_pipe) = stdout_of(pid, inner, args.starts_with("print"));
        let index = {
            let mut state = self.state();
            state.workers.push(Worker {
                pid,
                ppid: parent_of(pid).unwrap_or(0),
                args: args.to_string(),
                start_ms: self.now_ms(),
                end_ms: None,
                release: "free",
                stdout,
                stdout_pipe,
                acts: Vec::new(),
            });
            state.workers.len() - 1
        };
        let release = self.wait_for_siblings();
        self.state().workers[index].release = release;
        if stream.write_all(b"\n").is_err() {
            self.state().workers[index].end_ms = Some(self.now_ms());
            return;
        }
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(act) = line.strip_prefix("act ") {
                self.state().workers[index].acts.push(act.to_string());
            }
        }
        // The socket closes when the worker's process ends, whatever way it ends.
        self.state().workers[index].end_ms = Some(self.now_ms());
        self.shared.1.notify_all();
    }

    /// Under a hold, waits until the awaited workers have all started, or until this one has
    /// waited the hold's patience; says which.
    fn wait_for_siblings(&self) -> &'static str {
        let (lock, changed) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(hold) = state.hold.as_mut() else {
            return "free";
        };
        if hold.outcome.is_some() {
            return "free";
        }
        hold.arrived += 1;
        if hold.arrived >= hold.want {
            hold.outcome = Some("together");
            changed.notify_all();
            return "together";
        }
        let patience = hold.patience;
        let (mut state, _) = changed
            .wait_timeout_while(state, patience, |s| {
                s.hold.as_ref().is_some_and(|h| h.outcome.is_none())
            })
            .unwrap_or_else(|e| e.into_inner());
        let Some(hold) = state.hold.as_mut() else {
            return "free";
        };
        let outcome = *hold.outcome.get_or_insert("timeout");
        changed.notify_all();
        outcome
    }

    fn answer(&self, mut stream: UnixStream, lines: io::Lines<BufReader<UnixStream>>) {
        for line in lines {
            let Ok(line) = line else { return };
            let words: Vec<&str> = line.split_whitespace().collect();
            let reply = match words.as_slice() {
                ["mark"] => {
                    let mut state = self.state();
                    state.from = state.workers.len();
                    state.hold = None;
                    state.rejected.clear();
                    "ok\n".to_string()
                }
                ["hold", want, ms] => {
                    let (Ok(want), Ok(ms)) = (want.parse(), ms.parse()) else {
                        return;
                    };
                    self.state().hold = Some(Hold {
                        want,
                        patience: Duration::from_millis(ms),
                        arrived: 0,
                        outcome: None,
                    });
                    "ok\n".to_string()
                }
                ["workers"] => self.report(),
                _ => return,
            };
            if stream.write_all(reply.as_bytes()).is_err() {
                return;
            }
        }
    }

    /// One line per worker since the mark, tab-separated: PID, parent's PID, start and end (ms
    /// after the sandbox started; `-` while running), release, stdout, bytes left unread in its
    /// stdout pipe (`-` when not known), its arguments, and its acts joined by `,`. Then a line
    /// `rejected PID EXE` for each impostor, and `end`.
    fn report(&self) -> String {
        // A worker that has ended may have acts still in flight on its socket: wait until its
        // end has been read (for a moment at most), so the answer holds all it did.
        let (lock, changed) = &*self.shared;
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        while Instant::now() < deadline
            && state.workers[state.from..]
                .iter()
                .any(|w| w.end_ms.is_none() && has_ended(w.pid))
        {
            state = changed
                .wait_timeout(state, Duration::from_millis(5))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let mut out = String::new();
        for w in &state.workers[state.from..] {
            let end = w.end_ms.map_or("-".to_string(), |ms| ms.to_string());
            let unread = w
                .stdout_pipe
                .as_ref()
                .map_or("-".to_string(), |p| unread(p).to_string());
            out.push_str(&format!(
                "worker\t{}\t{}\t{}\t{end}\t{}\t{}\t{unread}\t{}\t{}\n",
                w.pid,
                w.ppid,
                w.start_ms,
                w.release,
                w.stdout,
                w.args,
                w.acts.join(",")
            ));
        }
        for r in &state.rejected {
            out.push_str(&format!("rejected\t{r}\n"));
        }
        out.push_str("end\n");
        out
    }

    /// Whether `pid` is below the sandbox (its parent's parent's ... is the sandbox).
    fn is_below_me(&self, mut pid: u32) -> bool {
        for _ in 0..64 {
            match parent_of(pid) {
                Some(parent) if parent == self.me => return true,
                Some(parent) if parent > 1 => pid = parent,
                _ => return false,
            }
        }
        false
    }
}

/// The PID at the other end of a unix socket, as the kernel recorded it when it connected.
fn peer_pid(stream: &UnixStream) -> Option<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, which is that large.
    let ok = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    } == 0;
    (ok && cred.pid > 0).then_some(cred.pid as u32)
}

/// Where `pid`'s standard output goes; for a pipe, when `keep`, a read end of it (opened
/// through `/proc`, never read from: it only counts what is left).
fn stdout_of(pid: u32, inner: Option<u32>, keep: bool) -> (&'static str, Option<File>) {
    let path = format!("/proc/{pid}/fd/1");
    let Ok(meta) = fs::metadata(&path) else {
        return ("other", None);
    };
    let kind = meta.file_type();
    if kind.is_fifo() {
        let graders = inner.and_then(|p| fs::metadata(format!("/proc/{p}/fd/1")).ok());
        if graders.is_some_and(|g| g.ino() == meta.ino() && g.dev() == meta.dev()) {
            return ("inherited", None);
        }
        let pipe = keep
            .then(|| {
                OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&path)
                    .ok()
            })
            .flatten();
        ("pipe", pipe)
    } else if kind.is_char_device() {
        // /dev/null is character device 1:3.
        if meta.rdev() == libc::makedev(1, 3) {
            ("null", None)
        } else {
            ("terminal", None)
        }
    } else if kind.is_file() {
        ("file", None)
    } else {
        ("other", None)
    }
}

/// How many bytes wait unread in a pipe.
fn unread(pipe: &File) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    if unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut n) } != 0 {
        return -1;
    }
    n
}

/// Whether `pid` has ended: gone, or a zombie nobody has joined yet.
fn has_ended(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// The parent of `pid`, from `/proc/PID/stat` ("PID (COMM) STATE PPID ...").
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
