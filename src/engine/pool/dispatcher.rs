//! The pool's dispatcher: the thread that owns the workers.
//!
//! As the handler threads inside Python's pool do, it hands each idle worker the next chunk,
//! collects replies, notices a worker that died or ran past its timeout, and starts a
//! replacement. It never blocks on a worker: requests go out through a writer thread per
//! worker, replies come in through a reader thread per worker, and everything reaches the
//! dispatcher as a message on one channel, so a deadline, `terminate()` or Ctrl-C is seen on
//! its next turn (at most [`POLL`] away) whatever the workers are doing.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, ChildStdin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::value::RawValue;

use super::super::cancel;
use super::super::child::{self, Drained, Role, Spawned};
use super::super::clock::Stamp;
use super::super::error::{Error, Result};
use super::super::event::{Event, Exit};
use super::super::process::OUTPUT_GRACE;
use super::super::wire::{Reply, RequestRef, encode_frame, parse, read_frame_into};

/// How often the dispatcher looks up to check for Ctrl-C and overdue tasks.
const POLL: Duration = Duration::from_millis(50);

/// Chunks a worker may have queued at once: the one it runs and the next few, so it never
/// waits a round trip for work (Python's workers likewise pull from a queue kept full)...
const IN_FLIGHT: usize = 4;

/// ...but past the first, only while it holds fewer items than this, and only while the queue
/// is long: more than [`BACKLOG_PER_WORKER`] chunks per worker. A long stream of small tasks
/// flows without pauses; big chunks, small maps and the tail of every map are pulled on
/// demand by whichever worker is free first, as from Python's one shared queue, so which
/// worker does what is decided by timing, and one slow worker does not hold the end back.
const PREFETCH_ITEMS: usize = 4;
const BACKLOG_PER_WORKER: usize = 8;

/// One chunk of work waiting for, or on, a worker: its request frame, already serialized by
/// the caller, sent as is (and sent again to another worker if its first one died before
/// starting it).
pub(super) struct Job {
    pub chunk: u64,
    pub frame: Arc<Vec<u8>>,
    /// How many items the chunk holds.
    pub len: usize,
    /// Where the chunk starts in the caller's input.
    pub first: usize,
    pub timeout: Option<Duration>,
    pub reply: ReplyTo,
}

/// Where a chunk's results go.
#[derive(Clone)]
pub(super) enum ReplyTo {
    /// Straight to the caller, chunk by chunk (`imap_unordered`, `apply_async`).
    Each(Sender<Outcome>),
    /// Into the map it belongs to, which answers once when every chunk is in.
    Map,
}

/// A whole `map`: its chunks, and where the gathered results go.
pub(super) struct MapJob {
    pub jobs: Vec<Job>,
    pub reply: Sender<Vec<Outcome>>,
}

/// A map's chunks' outcomes as they come in.
struct Gather {
    outcomes: Vec<Outcome>,
    chunks_left: usize,
    reply: Sender<Vec<Outcome>>,
}

/// A chunk's results, still JSON: the caller decodes them into its own result type.
pub(super) struct Outcome {
    /// Where the chunk starts in the caller's input, and how many items it holds.
    pub first: usize,
    pub len: usize,
    /// The values, or why the chunk as a whole failed (its worker died, it timed out, the
    /// pool was closed or interrupted).
    pub result: Result<Returned>,
}

/// What a worker sent back for a chunk.
pub(super) struct Returned {
    /// A JSON array, one value per item (`null` where the item failed).
    pub values: Box<RawValue>,
    /// The items that failed, by position in the chunk.
    pub failed: Vec<(usize, Error)>,
}

impl Job {
    /// The chunk failed as a whole.
    fn failed(&self, error: &Error) -> Result<Returned> {
        Err(error.clone())
    }
}

/// What reaches the dispatcher: callers' requests and workers' replies, on one channel.
pub(super) enum Msg {
    Submit(Job),
    Map(MapJob),
    Reply { serial: usize, reply: Reply },
    Garbled { serial: usize, reason: String },
    Eof { serial: usize },
    Workers(Sender<Vec<(String, u32)>>),
    Close,
    Terminate,
}

/// A worker as the dispatcher keeps it.
struct Worker {
    serial: usize,
    name: String,
    pid: u32,
    child: Child,
    /// Its stdin, non-blocking: the dispatcher writes a frame straight in while the pipe has
    /// room, and hands whatever does not fit to the writer thread, which waits for the worker
    /// to read. A worker that does not read (a long task, a full pipe) so blocks that thread,
    /// never the dispatcher.
    stdin: Arc<ChildStdin>,
    /// Frames (and how much of each is already written) for the writer thread.
    requests: Option<Sender<(Arc<Vec<u8>>, usize)>>,
    /// Frames handed to the writer thread and not yet wholly written: while there are any, new
    /// frames queue behind them, so that frames reach the worker whole and in order.
    queued: Arc<AtomicUsize>,
    writer: Option<JoinHandle<()>>,
    output: Drained,
    /// Chunks sent and not yet answered, oldest (the one running) first.
    running: VecDeque<Running>,
    /// Why the dispatcher killed it, if it did: that, not "died", is what the task reports.
    killed_for: Option<Error>,
}

struct Running {
    chunk: u64,
    /// The map the chunk belongs to, if any.
    map: Option<u64>,
    job: Job,
    /// Set once the chunk is the one the worker is running.
    deadline: Option<Instant>,
}

impl Running {
    fn start_clock(&mut self) {
        if self.deadline.is_none() {
            self.deadline = self.job.timeout.map(|t| Instant::now() + t);
        }
    }
}

pub(super) struct Dispatcher {
    program: PathBuf,
    events: Option<Sender<Event>>,
    to_self: Sender<Msg>,
    workers: Vec<Worker>,
    pending: VecDeque<(Option<u64>, Job)>,
    /// Maps in progress, by number; a pending job names the map it belongs to.
    maps: HashMap<u64, Gather>,
    next_map: u64,
    closing: bool,
    /// The `Exit` request, serialized once.
    exit_frame: Arc<Vec<u8>>,
}

impl Dispatcher {
    pub(super) fn new(
        program: PathBuf,
        events: Option<Sender<Event>>,
        to_self: Sender<Msg>,
    ) -> Self {
        let mut exit_frame = Vec::new();
        // Serializing a unit variant into a Vec cannot fail.
        let _ = encode_frame(&mut exit_frame, &RequestRef::<()>::Exit);
        Dispatcher {
            program,
            events,
            to_self,
            workers: Vec::new(),
            pending: VecDeque::new(),
            maps: HashMap::new(),
            next_map: 0,
            closing: false,
            exit_frame: Arc::new(exit_frame),
        }
    }

    pub(super) fn run(&mut self, rx: &Receiver<Msg>) {
        loop {
            if cancel::requested() {
                return self.stop_all(Error::Interrupted);
            }
            // Every turn, not only when the channel is quiet: a busy pool must still notice a
            // hung worker.
            self.kill_overdue();
            self.assign();
            if self.closing && self.pending.is_empty() && self.workers.iter().all(Worker::idle) {
                return self.exit_all();
            }
            match rx.recv_timeout(self.next_wait()) {
                Ok(Msg::Submit(job)) if self.closing => {
                    let failure = job.failed(&Error::Closed);
                    self.settle(None, job, failure);
                }
                Ok(Msg::Submit(job)) => self.pending.push_back((None, job)),
                Ok(Msg::Map(map)) => self.start_map(map),
                Ok(Msg::Reply { serial, reply }) => self.finish(serial, reply),
                Ok(Msg::Garbled { serial, reason }) => {
                    if let Some(w) = self.worker(serial) {
                        let error = Error::Decode {
                            worker: w.name.clone(),
                            reason,
                        };
                        w.kill_for(error);
                    }
                }
                Ok(Msg::Eof { serial }) => self.bury(serial),
                Ok(Msg::Workers(tx)) => {
                    let _ = tx.send(
                        self.workers
                            .iter()
                            .map(|w| (w.name.clone(), w.pid))
                            .collect(),
                    );
                }
                Ok(Msg::Close) => self.closing = true,
                Ok(Msg::Terminate) | Err(RecvTimeoutError::Disconnected) => {
                    return self.stop_all(Error::Closed);
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Start one worker and a thread that turns its replies into messages.
    pub(super) fn add_worker(&mut self) -> Result<()> {
        let serial = child::next_identity();
        let name = format!("SpawnPoolWorker-{serial}");
        let Spawned {
            child,
            pid,
            requests,
            mut replies,
            output,
            at,
        } = child::spawn(&self.program, Role::Pool, &name, self.events.as_ref())?;
        // The buffer is empty: nothing was written through it yet.
        let stdin = Arc::new(requests.into_parts().0);
        let nonblocking = set_nonblocking(&stdin);
        let (frames, to_write) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let writer = nonblocking.and_then(|()| {
            let (stdin, queued) = (Arc::clone(&stdin), Arc::clone(&queued));
            thread::Builder::new()
                .name(format!("{name} requests"))
                .spawn(move || feed(&stdin, &to_write, &queued))
        });
        let to_self = self.to_self.clone();
        let reader = thread::Builder::new()
            .name(format!("{name} replies"))
            .spawn(move || {
                let mut frame = Vec::new();
                loop {
                    let reply = read_frame_into(&mut replies, &mut frame)
                        .and_then(|more| more.then(|| parse::<Reply>(&frame)).transpose());
                    let msg = match reply {
                        Ok(Some(reply)) => Msg::Reply { serial, reply },
                        Ok(None) => break,
                        Err(e) => Msg::Garbled {
                            serial,
                            reason: e.to_string(),
                        },
                    };
                    let garbled = matches!(msg, Msg::Garbled { .. });
                    if to_self.send(msg).is_err() || garbled {
                        break;
                    }
                }
                let _ = to_self.send(Msg::Eof { serial });
            });
        let mut worker = Worker {
            serial,
            name: name.clone(),
            pid,
            child,
            stdin,
            requests: Some(frames),
            queued,
            writer: None,
            output,
            running: VecDeque::new(),
            killed_for: None,
        };
        let threads = writer.and_then(|w| {
            worker.writer = Some(w);
            reader.map(drop)
        });
        if let Err(e) = threads {
            worker.kill_and_reap();
            return Err(Error::thread(format!("talking to {name}"), &e));
        }
        self.emit(Event::Started { name, pid, at });
        self.workers.push(worker);
        Ok(())
    }

    /// Top every worker up to [`IN_FLIGHT`] chunks, a round at a time so work spreads out.
    fn assign(&mut self) {
        let workers = self.workers.len();
        for depth in 0..IN_FLIGHT {
            for worker in &mut self.workers {
                let prefetch_ok = self.pending.len() > BACKLOG_PER_WORKER * workers
                    && worker.items_in_flight() < PREFETCH_ITEMS;
                if worker.running.len() > depth
                    || worker.killed_for.is_some()
                    || (depth > 0 && !prefetch_ok)
                {
                    continue;
                }
                let Some((map, job)) = self.pending.pop_front() else {
                    return;
                };
                // A failed send means the worker is dying; its EOF will settle the chunk.
                worker.send(Arc::clone(&job.frame));
                let mut running = Running {
                    chunk: job.chunk,
                    map,
                    job,
                    deadline: None,
                };
                if worker.running.is_empty() {
                    running.start_clock();
                }
                worker.running.push_back(running);
            }
        }
    }

    /// A worker answered: pass the results on, and start the clock on its next chunk.
    fn finish(&mut self, serial: usize, reply: Reply) {
        let Reply::Done {
            chunk,
            values,
            failed,
            started,
            finished,
        } = reply;
        let Some(worker) = self.worker(serial) else {
            return;
        };
        if worker.running.front().map(|r| r.chunk) != Some(chunk) {
            return;
        }
        let Some(Running { job, map, .. }) = worker.running.pop_front() else {
            return;
        };
        if let Some(next) = worker.running.front_mut() {
            next.start_clock();
        }
        let (name, pid) = (worker.name.clone(), worker.pid);
        let failed = failed
            .into_iter()
            .map(|(i, message)| {
                let error = Error::Panicked {
                    worker: name.clone(),
                    pid,
                    message,
                };
                (i, error)
            })
            .collect();
        // The event first: whoever gets the results can count on having been told who did them.
        let items = job.first..job.first + job.len;
        self.emit(Event::ChunkDone {
            name,
            pid,
            items,
            started,
            at: finished,
        });
        self.settle(map, job, Ok(Returned { values, failed }));
    }

    /// A worker's reply pipe ended: it is dead or dying. Reap it, fail its chunk, replace it.
    fn bury(&mut self, serial: usize) {
        let Some(index) = self.workers.iter().position(|w| w.serial == serial) else {
            return;
        };
        let mut worker = self.workers.swap_remove(index);
        let (exit, at) = worker.reap();
        self.emit(Event::Exited {
            name: worker.name.clone(),
            pid: worker.pid,
            exit,
            at,
        });
        // The oldest chunk was running and fails; the ones queued behind it never started,
        // so they go back to the front of the queue for another worker.
        let mut queued = std::mem::take(&mut worker.running);
        if let Some(running) = queued.pop_front() {
            let error = worker.killed_for.take().unwrap_or(Error::WorkerDied {
                worker: worker.name.clone(),
                pid: worker.pid,
                exit,
            });
            let failure = running.job.failed(&error);
            self.settle(running.map, running.job, failure);
        }
        for running in queued.into_iter().rev() {
            self.pending.push_front((running.map, running.job));
        }
        if self.closing && self.pending.is_empty() {
            return; // a closing pool with nothing left to do needs no replacement
        }
        match self.add_worker() {
            Ok(()) => {
                if let Some(new) = self.workers.last() {
                    let event = Event::Replaced {
                        old: worker.name,
                        old_pid: worker.pid,
                        name: new.name.clone(),
                        pid: new.pid,
                        at: Stamp::now(),
                    };
                    self.emit(event);
                }
            }
            Err(e) if self.workers.is_empty() => {
                // No worker left to run anything: fail what is queued rather than hang.
                self.fail_pending(&e);
            }
            Err(_) => {}
        }
    }

    fn kill_overdue(&mut self) {
        let now = Instant::now();
        for w in &mut self.workers {
            let overdue = w.running.front().and_then(|r| {
                let timeout = r.job.timeout?;
                (r.deadline? <= now && w.killed_for.is_none()).then_some(timeout)
            });
            if let Some(after) = overdue {
                let error = Error::TimedOut {
                    worker: w.name.clone(),
                    pid: w.pid,
                    after,
                };
                w.kill_for(error);
            }
        }
    }

    /// How long to wait for the next message: until the nearest deadline, at most [`POLL`].
    fn next_wait(&self) -> Duration {
        let now = Instant::now();
        self.workers
            .iter()
            // A worker already killed for its deadline is only waiting to be buried.
            .filter(|w| w.killed_for.is_none())
            .filter_map(|w| w.running.front()?.deadline)
            .map(|d| d.saturating_duration_since(now))
            .fold(POLL, Duration::min)
    }

    /// Graceful end: every worker is idle; ask each to exit, then reap them all.
    fn exit_all(&mut self) {
        for w in &mut self.workers {
            w.send(Arc::clone(&self.exit_frame));
        }
        for mut w in std::mem::take(&mut self.workers) {
            let (exit, at) = w.reap();
            self.emit(Event::Exited {
                name: w.name.clone(),
                pid: w.pid,
                exit,
                at,
            });
        }
    }

    /// Abrupt end: kill and reap every worker, and fail all work with `error`.
    pub(super) fn stop_all(&mut self, error: Error) {
        for mut w in std::mem::take(&mut self.workers) {
            let (exit, at) = w.kill_and_reap();
            for running in std::mem::take(&mut w.running) {
                let failure = running.job.failed(&error);
                self.settle(running.map, running.job, failure);
            }
            self.emit(Event::Exited {
                name: w.name.clone(),
                pid: w.pid,
                exit,
                at,
            });
        }
        self.fail_pending(&error);
    }

    /// Queue a map's chunks and keep a place for its results.
    fn start_map(&mut self, map: MapJob) {
        if self.closing || map.jobs.is_empty() {
            let outcomes = map
                .jobs
                .iter()
                .map(|job| Outcome {
                    first: job.first,
                    len: job.len,
                    result: job.failed(&Error::Closed),
                })
                .collect();
            let _ = map.reply.send(outcomes);
            return;
        }
        let id = self.next_map;
        self.next_map += 1;
        self.maps.insert(
            id,
            Gather {
                outcomes: Vec::with_capacity(map.jobs.len()),
                chunks_left: map.jobs.len(),
                reply: map.reply,
            },
        );
        self.pending
            .extend(map.jobs.into_iter().map(|job| (Some(id), job)));
    }

    /// Hand a finished (or failed) chunk's results to whoever waits for them.
    fn settle(&mut self, map: Option<u64>, job: Job, result: Result<Returned>) {
        let outcome = Outcome {
            first: job.first,
            len: job.len,
            result,
        };
        match (&job.reply, map) {
            (ReplyTo::Each(reply), _) => {
                let _ = reply.send(outcome);
            }
            (ReplyTo::Map, Some(id)) => {
                let Some(gather) = self.maps.get_mut(&id) else {
                    return;
                };
                gather.outcomes.push(outcome);
                gather.chunks_left -= 1;
                if gather.chunks_left == 0
                    && let Some(done) = self.maps.remove(&id)
                {
                    let _ = done.reply.send(done.outcomes);
                }
            }
            (ReplyTo::Map, None) => {}
        }
    }

    fn fail_pending(&mut self, error: &Error) {
        for (map, job) in std::mem::take(&mut self.pending) {
            let failure = job.failed(error);
            self.settle(map, job, failure);
        }
    }

    fn worker(&mut self, serial: usize) -> Option<&mut Worker> {
        self.workers.iter_mut().find(|w| w.serial == serial)
    }

    fn emit(&self, event: Event) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

impl Worker {
    fn idle(&self) -> bool {
        self.running.is_empty()
    }

    fn items_in_flight(&self) -> usize {
        self.running.iter().map(|r| r.job.len).sum()
    }

    /// Kill it for a reason its task will report; the reply thread's EOF does the rest.
    fn kill_for(&mut self, reason: Error) {
        self.killed_for = Some(reason);
        let _ = self.child.kill();
    }

    /// Send a frame without ever blocking: straight into the pipe while it has room and
    /// nothing is queued ahead, the rest through the writer thread.
    fn send(&mut self, frame: Arc<Vec<u8>>) {
        let Some(requests) = &self.requests else {
            return;
        };
        let mut sent = 0;
        // Only this thread adds to `queued`, so zero here stays zero until it does.
        if self.queued.load(Ordering::Acquire) == 0 {
            sent = write_now(&self.stdin, &frame);
            if sent == frame.len() {
                return;
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _ = requests.send((frame, sent));
    }

    fn kill_and_reap(&mut self) -> (Exit, Stamp) {
        let _ = self.child.kill();
        self.reap()
    }

    /// Wait for it to end: how it ended, and when it was reaped.
    /// Its stdin closes once the writer has sent what is queued (a graceful exit's `Exit`).
    fn reap(&mut self) -> (Exit, Stamp) {
        self.requests = None;
        let exit = match self.child.wait() {
            Ok(status) => Exit::from_status(status),
            Err(_) => Exit::Code(-1),
        };
        let at = Stamp::now();
        // The worker is gone, so its writer is done too: a write to its pipe fails at once.
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        self.output.wait(OUTPUT_GRACE);
        (exit, at)
    }
}

/// Write as much of `bytes` as the pipe takes now; returns how much that was. A failed write
/// counts as all written: the worker is dying, and its reply pipe's end settles its chunks.
fn write_now(mut pipe: &ChildStdin, bytes: &[u8]) -> usize {
    let mut sent = 0;
    while sent < bytes.len() {
        match pipe.write(&bytes[sent..]) {
            Ok(0) => return bytes.len(),
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => return bytes.len(),
        }
    }
    sent
}

/// A worker's writer thread: the rest of each frame that did not fit in the pipe, in order,
/// as fast as the worker reads. Ends when the pool lets go of the worker.
fn feed(stdin: &ChildStdin, frames: &Receiver<(Arc<Vec<u8>>, usize)>, queued: &AtomicUsize) {
    for (frame, mut sent) in frames {
        while sent < frame.len() {
            sent += write_now(stdin, &frame[sent..]);
            if sent < frame.len() {
                // Full: sleep until the worker reads (or dies, which the next write reports).
                let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => sent = frame.len(),
                }
            }
        }
        queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Make the pipe to a worker non-blocking, so that a write the pipe has no room for returns
/// at once instead of waiting for the worker.
fn set_nonblocking(pipe: &ChildStdin) -> std::io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_truncate(fcntl(pipe, FcntlArg::F_GETFL)?);
    fcntl(pipe, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}
