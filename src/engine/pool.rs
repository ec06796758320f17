//! `Pool`: a fixed team of worker processes fed chunks of work, as `multiprocessing.Pool`.
//!
//! A dispatcher thread owns the workers, as the handler threads inside Python's pool do: it
//! hands each idle worker the next chunk, collects replies, notices a worker that died or ran
//! past its timeout, and starts a replacement. Callers talk to it through channels, so `map`,
//! `imap_unordered` and `apply_async` can all be in flight at once.

use std::collections::VecDeque;
use std::io::Write;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::process::Child;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::cancel;
use super::child::{self, Drained, Role, Spawned};
use super::clock::Stamp;
use super::error::{Error, Result};
use super::event::{Event, Exit};
use super::process::OUTPUT_GRACE;
use super::task::Task;
use super::wire::{Reply, Request, RequestRef, read_frame, write_frame};

/// The most workers procbook will start for one pool.
pub const MAX_WORKERS: usize = 64;

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

// ANCHOR: chunksize
/// Python's default chunksize for `Pool.map`: the items split into about four chunks per
/// worker, rounded up (`chunksize, extra = divmod(len, 4 * workers); if extra: chunksize += 1`).
pub fn default_chunksize(len: usize, workers: usize) -> usize {
    let per_round = 4 * workers.max(1);
    let (chunksize, extra) = (len / per_round, len % per_round);
    if extra > 0 { chunksize + 1 } else { chunksize }
}
// ANCHOR_END: chunksize

/// The worker count used when none is given: `os.process_cpu_count()` in Python, capped at
/// [`MAX_WORKERS`] (Python has no cap; a 96-core machine gets 64 here).
pub fn default_workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS))
}

/// Check a worker count against what procbook allows.
pub fn check_workers(n: usize) -> Result<usize> {
    if (1..=MAX_WORKERS).contains(&n) {
        Ok(n)
    } else {
        Err(Error::Workers {
            asked: n,
            max: MAX_WORKERS,
        })
    }
}

/// A pool not yet started.
#[derive(Default)]
pub struct PoolBuilder {
    workers: Option<usize>,
    events: Option<Sender<Event>>,
    program: Option<PathBuf>,
    task_timeout: Option<Duration>,
}

impl PoolBuilder {
    /// `Pool(processes=n)`; the default is the number of CPUs this process may use.
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// Send worker lifecycle, chunk completions and worker output to `events`.
    pub fn events(mut self, events: &Sender<Event>) -> Self {
        self.events = Some(events.clone());
        self
    }

    /// Run workers from this executable instead of the current one.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Kill and replace a worker whose chunk runs longer than this.
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = Some(timeout);
        self
    }

    /// Start the workers; returns once every one is running.
    pub fn start(self) -> Result<Pool> {
        let size = check_workers(self.workers.unwrap_or_else(default_workers))?;
        let program = child::program(self.program.as_deref())?;
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut dispatcher = Dispatcher {
            program,
            events: self.events,
            to_self: tx.clone(),
            workers: Vec::new(),
            pending: VecDeque::new(),
            maps: std::collections::HashMap::new(),
            next_chunk: 0,
            next_map: 0,
            closing: false,
        };
        let timeout = self.task_timeout;
        // Workers are started by the dispatcher thread, which lives as long as the pool: on
        // Linux a worker's parent-death signal fires when the thread that started it ends.
        let handle = thread::Builder::new()
            .name("pool dispatcher".into())
            .spawn(move || {
                let started = (0..size).try_for_each(|_| dispatcher.add_worker());
                let ok = started.is_ok();
                let _ = ready_tx.send(started);
                if ok {
                    dispatcher.run(&rx);
                } else {
                    dispatcher.stop_all(Error::Closed);
                }
            })
            .map_err(|e| Error::Io {
                what: "starting the pool's dispatcher thread".into(),
                reason: e.to_string(),
            })?;
        let started = ready_rx.recv().unwrap_or(Err(Error::Closed));
        let pool = Pool {
            tx,
            dispatcher: Some(handle),
            size,
            timeout,
        };
        started.map(|()| pool)
    }
}

/// A running pool of worker processes. Dropping it terminates and reaps every worker, as
/// leaving a `with Pool() as pool:` block does.
pub struct Pool {
    tx: Sender<Msg>,
    dispatcher: Option<JoinHandle<()>>,
    size: usize,
    timeout: Option<Duration>,
}

impl Pool {
    /// Configure a pool: `Pool::builder().workers(4).start()`.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// `Pool(n)` with defaults otherwise.
    pub fn new(workers: usize) -> Result<Pool> {
        Pool::builder().workers(workers).start()
    }

    /// How many workers the pool keeps running.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The workers running now, as (name, PID).
    pub fn workers(&self) -> Result<Vec<(String, u32)>> {
        let (tx, rx) = mpsc::channel();
        self.send(Msg::Workers(tx))?;
        rx.recv().map_err(|_| Error::Closed)
    }

    /// `pool.map(task, items)`: results in input order, Python's default chunksize; the first
    /// failure fails the call, as the first exception does in Python.
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>> {
        self.map_each(task, items, None)?.into_iter().collect()
    }

    /// `pool.map(task, items, chunksize)`.
    pub fn map_chunked<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>> {
        self.map_each(task, items, Some(chunksize))?
            .into_iter()
            .collect()
    }

    /// Like `map`, but one outcome per item: a task that panicked, or whose worker died, fails
    /// alone and every other result is kept. The outer error is for the call as a whole
    /// (Ctrl-C, a closed pool).
    pub fn map_each<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Vec<Result<R>>> {
        let values = encode_all(task, items)?;
        let len = values.len();
        let chunksize = chunksize
            .unwrap_or_else(|| default_chunksize(len, self.size))
            .max(1);
        let (tx, rx) = mpsc::channel();
        let jobs = self.chunk_jobs(task.name, values, chunksize, &ReplyTo::Map);
        // The whole map goes over as one message and comes back as one answer, so this
        // thread sleeps until it is done instead of waking for every chunk.
        self.send(Msg::Map(MapJob {
            jobs,
            len,
            reply: tx,
        }))?;
        let results: Vec<Result<R>> = rx
            .recv()
            .map_err(|_| Error::Closed)?
            .into_iter()
            .map(|r| r.and_then(decode))
            .collect();
        if results.iter().any(|r| matches!(r, Err(Error::Interrupted))) {
            return Err(Error::Interrupted);
        }
        Ok(results)
    }

    /// `pool.imap_unordered(task, items, chunksize=1)`: results as workers finish them.
    pub fn imap_unordered<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Unordered<R>> {
        let values = encode_all(task, items)?;
        let (tx, rx) = mpsc::channel();
        let jobs = self.chunk_jobs(task.name, values, chunksize.max(1), &ReplyTo::Each(tx));
        let chunks = jobs.len();
        for job in jobs {
            self.send(Msg::Submit(job))?;
        }
        Ok(Unordered {
            rx,
            chunks_left: chunks,
            ready: VecDeque::new(),
            _result: PhantomData,
        })
    }

    /// `pool.apply_async(task, (arg,))`: run one task in the background.
    pub fn apply_async<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        arg: A,
    ) -> Result<AsyncResult<R>> {
        self.apply_async_timeout(task, arg, self.timeout)
    }

    /// `apply_async` with its own time limit: past it, the worker is killed and replaced and
    /// the result is [`Error::TimedOut`].
    pub fn apply_async_timeout<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        arg: A,
        timeout: Option<Duration>,
    ) -> Result<AsyncResult<R>> {
        let item = encode(task.name, arg)?;
        let (tx, rx) = mpsc::channel();
        self.send(Msg::Submit(Job {
            task: task.name,
            items: vec![item],
            first: 0,
            timeout,
            reply: ReplyTo::Each(tx),
        }))?;
        Ok(AsyncResult {
            rx,
            _result: PhantomData,
        })
    }

    /// `pool.close(); pool.join()`: let queued work finish, then let the workers exit and
    /// reap them.
    pub fn shutdown(mut self) {
        let _ = self.tx.send(Msg::Close);
        if let Some(handle) = self.dispatcher.take() {
            let _ = handle.join();
        }
    }

    /// `pool.terminate()`: stop every worker now and reap them; queued work fails.
    pub fn terminate(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.tx.send(Msg::Terminate);
        if let Some(handle) = self.dispatcher.take() {
            let _ = handle.join();
        }
    }

    fn send(&self, msg: Msg) -> Result<()> {
        self.tx.send(msg).map_err(|_| Error::Closed)
    }

    /// Split `values` into jobs of `chunksize`, each answering to `reply`.
    fn chunk_jobs(
        &self,
        task: &'static str,
        values: Vec<Value>,
        chunksize: usize,
        reply: &ReplyTo,
    ) -> Vec<Job> {
        let mut jobs = Vec::new();
        let mut values = values.into_iter().peekable();
        let mut first = 0;
        while values.peek().is_some() {
            let items: Vec<Value> = values.by_ref().take(chunksize).collect();
            let len = items.len();
            jobs.push(Job {
                task,
                items,
                first,
                timeout: self.timeout,
                reply: reply.clone(),
            });
            first += len;
        }
        jobs
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The handle `apply_async` returns.
pub struct AsyncResult<R> {
    rx: Receiver<Outcome>,
    _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> AsyncResult<R> {
    /// `result.get(timeout)`: wait for the value; [`Error::NotReady`] if the wait runs out (the
    /// task goes on, as in Python).
    pub fn get(&self, timeout: Option<Duration>) -> Result<R> {
        let outcome = match timeout {
            None => self.rx.recv().map_err(|_| Error::Closed)?,
            Some(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                RecvTimeoutError::Timeout => Error::NotReady(t),
                RecvTimeoutError::Disconnected => Error::Closed,
            })?,
        };
        outcome
            .results
            .into_iter()
            .next()
            .unwrap_or(Err(Error::Closed))
            .and_then(decode)
    }
}

/// The iterator `imap_unordered` returns.
pub struct Unordered<R> {
    rx: Receiver<Outcome>,
    chunks_left: usize,
    ready: VecDeque<Result<Value>>,
    _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Iterator for Unordered<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        while self.ready.is_empty() && self.chunks_left > 0 {
            self.chunks_left -= 1;
            match self.rx.recv() {
                Ok(outcome) => self.ready.extend(outcome.results),
                Err(_) => {
                    self.chunks_left = 0;
                    return Some(Err(Error::Closed));
                }
            }
        }
        self.ready.pop_front().map(|r| r.and_then(decode))
    }
}

fn encode<A: Serialize>(task: &str, arg: A) -> Result<Value> {
    serde_json::to_value(arg).map_err(|e| Error::Io {
        what: format!("encoding an argument for {task}"),
        reason: e.to_string(),
    })
}

fn encode_all<A: Serialize, R>(
    task: &Task<A, R>,
    items: impl IntoIterator<Item = A>,
) -> Result<Vec<Value>> {
    items.into_iter().map(|a| encode(task.name, a)).collect()
}

fn decode<R: DeserializeOwned>(value: Value) -> Result<R> {
    serde_json::from_value(value).map_err(|e| Error::Decode {
        worker: "a worker".into(),
        reason: e.to_string(),
    })
}

/// One chunk of work waiting for, or on, a worker.
struct Job {
    task: &'static str,
    items: Vec<Value>,
    /// Where the chunk starts in the caller's input.
    first: usize,
    timeout: Option<Duration>,
    reply: ReplyTo,
}

/// Where a chunk's results go.
#[derive(Clone)]
enum ReplyTo {
    /// Straight to the caller, chunk by chunk (`imap_unordered`, `apply_async`).
    Each(Sender<Outcome>),
    /// Into the map it belongs to, which answers once when every chunk is in.
    Map,
}

/// A whole `map`: its chunks, and where the gathered results go.
struct MapJob {
    jobs: Vec<Job>,
    len: usize,
    reply: Sender<Vec<Result<Value>>>,
}

/// A map's results as its chunks come in.
struct Gather {
    results: Vec<Result<Value>>,
    chunks_left: usize,
    reply: Sender<Vec<Result<Value>>>,
}

/// A chunk's results, one per item.
struct Outcome {
    results: Vec<Result<Value>>,
}

impl Job {
    /// One error per item of the chunk.
    fn failures(&self, error: &Error) -> Vec<Result<Value>> {
        self.items.iter().map(|_| Err(error.clone())).collect()
    }
}

/// What reaches the dispatcher: callers' requests and workers' replies, on one channel.
enum Msg {
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
    requests: std::io::BufWriter<std::process::ChildStdin>,
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

struct Dispatcher {
    program: PathBuf,
    events: Option<Sender<Event>>,
    to_self: Sender<Msg>,
    workers: Vec<Worker>,
    pending: VecDeque<(Option<u64>, Job)>,
    /// Maps in progress, by number; a pending job names the map it belongs to.
    maps: std::collections::HashMap<u64, Gather>,
    next_chunk: u64,
    next_map: u64,
    closing: bool,
}

impl Dispatcher {
    fn run(&mut self, rx: &Receiver<Msg>) {
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
                    let failures = job.failures(&Error::Closed);
                    self.settle(None, job, failures);
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
    fn add_worker(&mut self) -> Result<()> {
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
        let to_self = self.to_self.clone();
        let reader = thread::Builder::new()
            .name(format!("{name} replies"))
            .spawn(move || {
                loop {
                    let msg = match read_frame::<Reply>(&mut replies) {
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
            requests,
            output,
            running: VecDeque::new(),
            killed_for: None,
        };
        if let Err(e) = reader {
            worker.kill_and_reap();
            return Err(Error::Spawn {
                name,
                reason: e.to_string(),
            });
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
                let chunk = self.next_chunk;
                self.next_chunk += 1;
                let request = RequestRef::Run {
                    chunk,
                    task: job.task,
                    items: &job.items,
                };
                // A failed write means the worker is dying; its EOF will settle the chunk.
                let _ = write_frame(&mut worker.requests, &request)
                    .and_then(|()| worker.requests.flush());
                let mut running = Running {
                    chunk,
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
        let mut results: Vec<Result<Value>> = values.into_iter().map(Ok).collect();
        for (i, message) in failed {
            if let Some(slot) = results.get_mut(i) {
                *slot = Err(Error::Panicked {
                    worker: name.clone(),
                    pid,
                    message,
                });
            }
        }
        // The event first: whoever gets the results can count on having been told who did them.
        let items = job.first..job.first + results.len();
        self.emit(Event::ChunkDone {
            name,
            pid,
            items,
            started,
            at: finished,
        });
        self.settle(map, job, results);
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
            let failures = running.job.failures(&error);
            self.settle(running.map, running.job, failures);
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
            let _ = write_frame(&mut w.requests, &Request::Exit).and_then(|()| w.requests.flush());
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
    fn stop_all(&mut self, error: Error) {
        for mut w in std::mem::take(&mut self.workers) {
            let (exit, at) = w.kill_and_reap();
            for running in std::mem::take(&mut w.running) {
                let failures = running.job.failures(&error);
                self.settle(running.map, running.job, failures);
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
            let results = (0..map.len).map(|_| Err(Error::Closed)).collect();
            let results = if map.jobs.is_empty() {
                Vec::new()
            } else {
                results
            };
            let _ = map.reply.send(results);
            return;
        }
        let id = self.next_map;
        self.next_map += 1;
        self.maps.insert(
            id,
            Gather {
                results: (0..map.len).map(|_| Err(Error::Closed)).collect(),
                chunks_left: map.jobs.len(),
                reply: map.reply,
            },
        );
        self.pending
            .extend(map.jobs.into_iter().map(|job| (Some(id), job)));
    }

    /// Hand a finished (or failed) chunk's results to whoever waits for them.
    fn settle(&mut self, map: Option<u64>, job: Job, results: Vec<Result<Value>>) {
        match (&job.reply, map) {
            (ReplyTo::Each(reply), _) => {
                let _ = reply.send(Outcome { results });
            }
            (ReplyTo::Map, Some(id)) => {
                let Some(gather) = self.maps.get_mut(&id) else {
                    return;
                };
                for (i, result) in results.into_iter().enumerate() {
                    if let Some(slot) = gather.results.get_mut(job.first + i) {
                        *slot = result;
                    }
                }
                gather.chunks_left -= 1;
                if gather.chunks_left == 0
                    && let Some(done) = self.maps.remove(&id)
                {
                    let _ = done.reply.send(done.results);
                }
            }
            (ReplyTo::Map, None) => {}
        }
    }

    fn fail_pending(&mut self, error: &Error) {
        for (map, job) in std::mem::take(&mut self.pending) {
            let failures = job.failures(error);
            self.settle(map, job, failures);
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
        self.running.iter().map(|r| r.job.items.len()).sum()
    }

    /// Kill it for a reason its task will report; the reply thread's EOF does the rest.
    fn kill_for(&mut self, reason: Error) {
        self.killed_for = Some(reason);
        let _ = self.child.kill();
    }

    fn kill_and_reap(&mut self) -> (Exit, Stamp) {
        let _ = self.child.kill();
        self.reap()
    }

    /// Wait for it to end: how it ended, and when it was reaped.
    fn reap(&mut self) -> (Exit, Stamp) {
        let exit = match self.child.wait() {
            Ok(status) => Exit::from_status(status),
            Err(_) => Exit::Code(-1),
        };
        let at = Stamp::now();
        self.output.wait(OUTPUT_GRACE);
        (exit, at)
    }
}
