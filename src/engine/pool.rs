//! `Pool`: a fixed team of worker processes fed chunks of work, as `multiprocessing.Pool`.
//!
//! A dispatcher thread ([`dispatcher`]) owns the workers; callers talk to it through channels,
//! so `map`, `imap_unordered` and `apply_async` can all be in flight at once. The calling side
//! here does the typed work: it serializes each chunk of arguments straight into its request
//! frame, and decodes each chunk's results straight into the result type.

mod dispatcher;

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::child;
use super::error::{Error, Result};
use super::event::Event;
use super::task::Task;
use super::wire::{RequestRef, encode_frame};
use dispatcher::{Dispatcher, Job, MapJob, Msg, Outcome, ReplyTo, Returned};

/// The most workers procbook will start for one pool.
pub const MAX_WORKERS: usize = 64;

/// A map of at most this many chunks streams: each chunk is sent as soon as it is serialized
/// and decoded as soon as it is back, while the workers run the others. More chunks than this
/// are small ones, sent and answered as one batch, so the caller is not woken for each.
const STREAMED_CHUNKS: usize = 4 * MAX_WORKERS;

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
        let mut dispatcher = Dispatcher::new(program, self.events, tx.clone());
        let timeout = self.task_timeout;
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
            .map_err(|e| Error::thread("the pool's dispatcher", &e))?;
        let started = ready_rx.recv().unwrap_or_else(|_| Err(gone()));
        let pool = Pool {
            tx,
            dispatcher: Some(handle),
            size,
            timeout,
            next_chunk: AtomicU64::new(0),
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
    /// Numbers the chunks, so a reply can be matched to the chunk it answers.
    next_chunk: AtomicU64,
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
        rx.recv().map_err(|_| gone())
    }

    /// `pool.map(task, items)`: results in input order, Python's default chunksize; the first
    /// failure fails the call, as the first exception does in Python.
    pub fn map<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>> {
        self.map_all(task, items, None)
    }

    /// `pool.map(task, items, chunksize)`.
    pub fn map_chunked<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>> {
        self.map_all(task, items, Some(chunksize))
    }

    /// `map` itself: the results decoded straight into one `Vec<R>`, chunk by chunk in input
    /// order; the first failure in input order is the answer (Ctrl-C before any).
    fn map_all<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>> {
        let mut values: Vec<R> = Vec::new();
        let mut first_error = None;
        let mut interrupted = false;
        self.run_map(task, items, chunksize, |outcome| {
            if first_error.is_some() {
                interrupted |= matches!(outcome.result, Err(Error::Interrupted));
                return;
            }
            if let Err(e) = decode_all_ok(outcome, &mut values) {
                interrupted |= e == Error::Interrupted;
                first_error = Some(e);
            }
        })?;
        match first_error {
            _ if interrupted => Err(Error::Interrupted),
            Some(e) => Err(e),
            None => Ok(values),
        }
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
        let mut results = Vec::new();
        self.run_map(task, items, chunksize, |outcome| {
            decode_chunk(outcome, &mut results)
        })?;
        if results.iter().any(|r| matches!(r, Err(Error::Interrupted))) {
            return Err(Error::Interrupted);
        }
        Ok(results)
    }

    /// Send a map's chunks and hand each chunk's outcome to `sink`, in input order.
    fn run_map<A: Serialize, R>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: Option<usize>,
        mut sink: impl FnMut(Outcome),
    ) -> Result<()> {
        let items: Vec<A> = items.into_iter().collect();
        let chunksize = chunksize
            .unwrap_or_else(|| default_chunksize(items.len(), self.size))
            .max(1);
        let chunks = items.len().div_ceil(chunksize);
        if chunks <= STREAMED_CHUNKS {
            // A few big chunks: each goes to the workers as soon as it is serialized, and
            // comes back to be decoded here while the workers run the next, as Python's pool
            // feeds its queue and reads its results on threads of their own.
            let (tx, rx) = mpsc::channel();
            let reply = ReplyTo::Each(tx);
            self.chunk_jobs(task, &items, chunksize, &reply, |job| {
                self.send(Msg::Submit(job))
            })?;
            drop((reply, items));
            let mut done: Vec<Option<Outcome>> = (0..chunks).map(|_| None).collect();
            let mut next = 0;
            for _ in 0..chunks {
                let outcome = rx.recv().map_err(|_| gone())?;
                let at = outcome.first / chunksize;
                if let Some(slot) = done.get_mut(at) {
                    *slot = Some(outcome);
                }
                // In input order, as far as the chunks in hand allow.
                while let Some(outcome) = done.get_mut(next).and_then(Option::take) {
                    sink(outcome);
                    next += 1;
                }
            }
        } else {
            // Many small chunks: the whole map goes over as one message and comes back as one
            // answer, so this thread sleeps until it is done instead of waking for every chunk.
            let (tx, rx) = mpsc::channel();
            let mut jobs = Vec::with_capacity(chunks);
            self.chunk_jobs(task, &items, chunksize, &ReplyTo::Map, |job| {
                jobs.push(job);
                Ok(())
            })?;
            drop(items);
            self.send(Msg::Map(MapJob { jobs, reply: tx }))?;
            let mut outcomes = rx.recv().map_err(|_| gone())?;
            outcomes.sort_unstable_by_key(|o| o.first);
            outcomes.into_iter().for_each(sink);
        }
        Ok(())
    }

    /// `pool.imap_unordered(task, items, chunksize=1)`: results as workers finish them.
    pub fn imap_unordered<A: Serialize, R: DeserializeOwned>(
        &self,
        task: &'static Task<A, R>,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Unordered<R>> {
        let items: Vec<A> = items.into_iter().collect();
        let (tx, rx) = mpsc::channel();
        let mut chunks = 0;
        self.chunk_jobs(task, &items, chunksize.max(1), &ReplyTo::Each(tx), |job| {
            chunks += 1;
            self.send(Msg::Submit(job))
        })?;
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
        let (tx, rx) = mpsc::channel();
        let arg = std::slice::from_ref(&arg);
        self.chunk_jobs(task, arg, 1, &ReplyTo::Each(tx), |mut job| {
            job.timeout = timeout;
            self.send(Msg::Submit(job))
        })?;
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
        self.tx.send(msg).map_err(|_| gone())
    }

    /// Split `items` into jobs of `chunksize`, each answering to `reply`, and hand each to
    /// `each` as soon as it is made: each chunk is serialized straight into its request frame,
    /// which the dispatcher sends as it is.
    fn chunk_jobs<A: Serialize, R>(
        &self,
        task: &'static Task<A, R>,
        items: &[A],
        chunksize: usize,
        reply: &ReplyTo,
        mut each: impl FnMut(Job) -> Result<()>,
    ) -> Result<()> {
        let mut capacity = 0;
        for (n, chunk_items) in items.chunks(chunksize).enumerate() {
            let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
            let run = RequestRef::Run {
                chunk,
                task: task.name,
                items: chunk_items,
            };
            // Chunks are alike: the last one's size is a good guess for the next.
            let mut frame = Vec::with_capacity(capacity);
            encode_frame(&mut frame, &run).map_err(|e| Error::Io {
                what: format!("encoding the arguments for {}", task.name),
                reason: e.to_string(),
            })?;
            capacity = frame.len() + frame.len() / 8;
            each(Job {
                chunk,
                frame: Arc::new(frame),
                len: chunk_items.len(),
                first: n * chunksize,
                timeout: self.timeout,
                reply: reply.clone(),
            })?;
        }
        Ok(())
    }
}

/// Why the dispatcher is no longer there to answer: Ctrl-C stopped it ([`Error::Interrupted`],
/// which callers report as such), or the pool was closed.
fn gone() -> Error {
    if super::cancel::requested() {
        Error::Interrupted
    } else {
        Error::Closed
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
            None => self.rx.recv().map_err(|_| gone())?,
            Some(t) => self.rx.recv_timeout(t).map_err(|e| match e {
                RecvTimeoutError::Timeout => Error::NotReady(t),
                RecvTimeoutError::Disconnected => gone(),
            })?,
        };
        let mut results = Vec::with_capacity(1);
        decode_chunk(outcome, &mut results);
        results.into_iter().next().unwrap_or_else(|| Err(gone()))
    }
}

/// The iterator `imap_unordered` returns.
pub struct Unordered<R> {
    rx: Receiver<Outcome>,
    chunks_left: usize,
    ready: VecDeque<Result<R>>,
    _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> Iterator for Unordered<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        while self.ready.is_empty() && self.chunks_left > 0 {
            self.chunks_left -= 1;
            match self.rx.recv() {
                Ok(outcome) => {
                    let mut results = Vec::with_capacity(outcome.len);
                    decode_chunk(outcome, &mut results);
                    self.ready.extend(results);
                }
                Err(_) => {
                    self.chunks_left = 0;
                    return Some(Err(gone()));
                }
            }
        }
        self.ready.pop_front()
    }
}

/// Decode a chunk's results straight onto the end of `values`, or give the chunk's first
/// failure (the values decoded before it are kept, and do not matter to `map`).
fn decode_all_ok<R: DeserializeOwned>(outcome: Outcome, values: &mut Vec<R>) -> Result<()> {
    if let Ok(Returned {
        values: raw,
        failed,
    }) = &outcome.result
        && failed.is_empty()
    {
        // The common case: the whole array in one pass.
        if let Ok(chunk) = serde_json::from_str::<Vec<R>>(raw.get())
            && chunk.len() == outcome.len
        {
            if values.is_empty() {
                *values = chunk;
            } else {
                values.extend(chunk);
            }
            return Ok(());
        }
    }
    let mut results = Vec::with_capacity(outcome.len);
    decode_chunk(outcome, &mut results);
    for r in results {
        values.push(r?);
    }
    Ok(())
}

/// Decode a chunk's results straight into `R`, onto the end of `results`: one outcome per
/// item, in order. The whole array in one go when nothing failed; item by item otherwise,
/// so that a failure stays with its own item.
fn decode_chunk<R: DeserializeOwned>(outcome: Outcome, results: &mut Vec<Result<R>>) {
    let Outcome { len, result, .. } = outcome;
    let all_fail = |results: &mut Vec<Result<R>>, error: Error| {
        results.extend((0..len).map(|_| Err(error.clone())));
    };
    let Returned { values, failed } = match result {
        Ok(returned) => returned,
        Err(error) => return all_fail(results, error),
    };
    let bad = |reason: String| Error::Decode {
        worker: "a worker".into(),
        reason,
    };
    if failed.is_empty()
        && let Ok(values) = serde_json::from_str::<Vec<R>>(values.get())
        && values.len() == len
    {
        return results.extend(values.into_iter().map(Ok));
    }
    let raw: Vec<&RawValue> = match serde_json::from_str(values.get()) {
        Ok(raw) => raw,
        Err(e) => return all_fail(results, bad(e.to_string())),
    };
    if raw.len() != len {
        let reason = format!("{} values for a chunk of {len} items", raw.len());
        return all_fail(results, bad(reason));
    }
    let mut failed = failed.into_iter().peekable();
    for (i, raw) in raw.into_iter().enumerate() {
        while failed.next_if(|(at, _)| *at < i).is_some() {}
        match failed.next_if(|(at, _)| *at == i) {
            Some((_, error)) => results.push(Err(error)),
            None => results.push(serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))),
        }
    }
}
