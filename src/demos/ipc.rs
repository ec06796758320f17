//! Lesson 9: talking between processes. A queue (a named pipe) between a producer process and
//! two consumer processes; a pipe (a pair of connected sockets, as Python's `Pipe()` is on Unix)
//! between procbook and a child; and one counter in shared memory, incremented by several
//! processes without a lock (updates are lost) and with one (none are). The adding processes wait
//! for each other at a barrier and start together; a little work between each read and write
//! (as real updates have) makes the race window wide enough to be hit on a busy machine too,
//! where the processes take turns on the cores. If no update was lost, the demo says so, and why.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use memmap2::MmapRaw;
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use super::kit::{DemoArgs, Out, show_event};
use crate::engine::{self, Event, Process, Task, cancel, current_process};
use crate::term;
use crate::term::thousands;

/// Items the producer puts on the queue, and how many consumers take them off.
const ITEMS: u32 = 6;
const CONSUMERS: u32 = 2;
/// Every message on the queue is one record this long: a pipe write of at most `PIPE_BUF`
/// (4096 on Linux) bytes is atomic, so two processes' records never interleave, and a reader
/// that always reads one record's length always gets exactly one record.
const RECORD: usize = 64;
/// Item `i`'s work: count the primes in the `i`-th window of this many numbers.
const WINDOW: u64 = 3_000;
const WINDOW_START: u64 = 1_000_000_000;
/// The sentinel that tells a consumer to stop, as Python's `queue.put(None)`.
const STOP: &str = "STOP";
/// Processes sharing the counter, and how many times each adds one.
const ADDERS: u32 = 4;
const TIMES: u64 = 250_000;
/// Steps of work between a read and its write (see `next_value`).
const WORK_BETWEEN: u64 = 50;
/// How long any one part may take before its processes are stopped.
const LIMIT: Duration = Duration::from_secs(30);
/// How often a blocked wait looks up for Ctrl-C, the deadline and a dead child.
const POLL: Duration = Duration::from_millis(50);

/// The counter, laid out in a page of shared memory that every process maps.
#[repr(C)]
pub struct SharedCounter {
    pub value: AtomicU64,
    /// 0 when free, 1 when a process holds it.
    pub lock: AtomicU32,
    /// How many processes are ready: they all start adding at once, so they really overlap.
    pub ready: AtomicU32,
}

/// The work between reading the counter and writing it back: in a real program, computing the
/// new value (a lookup, a check, a log line). Here a fixed amount of arithmetic the optimiser
/// cannot remove. It does not create the race; it makes the window in which a switch to another
/// process loses an update as wide as real code makes it.
#[inline(never)]
pub fn next_value(v: u64) -> u64 {
    for i in 0..WORK_BETWEEN {
        std::hint::black_box(i);
    }
    v + 1
}

// ANCHOR: demo
/// `counter.value += 1`, `times` times, without a lock: load, add one, store. Between one
/// process's load and its store another process can store, and one of the two additions is lost.
pub fn add_unlocked(counter: &SharedCounter, times: u64) {
    for _ in 0..times {
        let v = counter.value.load(Relaxed);
        counter.value.store(next_value(v), Relaxed);
    }
}

/// `with counter.get_lock(): counter.value += 1`: a lock word in the same shared memory lets
/// one process at a time through (taken with an atomic compare-and-swap).
pub fn add_locked(counter: &SharedCounter, times: u64) {
    for _ in 0..times {
        while (counter.lock.compare_exchange_weak(0, 1, Acquire, Relaxed)).is_err() {
            std::thread::yield_now(); // another process holds it: let it run
        }
        let v = counter.value.load(Relaxed);
        counter.value.store(next_value(v), Relaxed);
        counter.lock.store(0, Release);
    }
}
// ANCHOR_END: demo

/// What the producer is told.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueueArgs {
    pub path: PathBuf,
    pub items: u32,
    pub consumers: u32,
}

/// What each process sharing the counter is told.
#[derive(Debug, Serialize, Deserialize)]
pub struct AddArgs {
    pub path: PathBuf,
    pub times: u64,
    pub locked: bool,
    pub processes: u32,
}

/// The producer's task: `queue.put(item)` for each item, then one sentinel per consumer.
pub fn produce(args: QueueArgs) {
    let mut queue = or_fail(
        OpenOptions::new().write(true).open(&args.path),
        "opening the queue",
    );
    let me = std::process::id();
    for i in 1..=args.items {
        or_fail(put(&mut queue, &format!("item {i} from pid {me}")), "put");
    }
    for _ in 0..args.consumers {
        or_fail(put(&mut queue, STOP), "put");
    }
    println!(
        "put {} items, then {} sentinels (one per consumer)",
        args.items, args.consumers
    );
}

/// A consumer's task: `queue.get()` until the sentinel, doing each item's work (counting the
/// primes in a window of numbers) before taking the next, so a busy consumer leaves the next
/// item to another.
pub fn consume(path: PathBuf) {
    let mut queue = or_fail(File::open(&path), "opening the queue");
    let mut got = 0;
    loop {
        let message = or_fail(get(&mut queue), "get");
        if message == STOP {
            break;
        }
        let item: u64 = (message.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let window = WINDOW_START + item * WINDOW..WINDOW_START + (item + 1) * WINDOW;
        let primes = super::gil::count_primes(window, None);
        println!("got '{message}': {primes} primes in its window");
        got += 1;
    }
    println!("received {got} items, then the sentinel");
}

/// The pipe's other end: read one line, send it back in capitals.
pub fn echo_upper(path: PathBuf) {
    let stream = or_fail(UnixStream::connect(&path), "connecting to the pipe");
    let mut line = String::new();
    or_fail(
        BufReader::new(&stream).read_line(&mut line),
        "reading the pipe",
    );
    let reply = line.trim_end().to_uppercase();
    or_fail(
        (&stream).write_all(format!("{reply}\n").as_bytes()),
        "replying",
    );
    println!("got '{}', sent back '{reply}'", line.trim_end());
}

/// The task of each process sharing the counter: map the shared page, wait until every
/// process is ready, then add.
pub fn add_to_shared(args: AddArgs) {
    let file = or_fail(
        OpenOptions::new().read(true).write(true).open(&args.path),
        "opening the shared file",
    );
    let map = or_fail(MmapRaw::map_raw(&file), "mapping the shared file");
    let counter = SharedCounter::on(&map);
    counter.ready.fetch_add(1, SeqCst);
    let start = Instant::now();
    while counter.ready.load(SeqCst) < args.processes && start.elapsed() < LIMIT {
        std::thread::yield_now();
    }
    if args.locked {
        add_locked(counter, args.times);
    } else {
        add_unlocked(counter, args.times);
    }
}

impl SharedCounter {
    /// The counter at the start of a shared mapping.
    pub fn on(map: &MmapRaw) -> &SharedCounter {
        assert!(map.len() >= std::mem::size_of::<SharedCounter>());
        // SAFETY: the mapping is page-aligned, long enough (checked), lives as long as the
        // borrow, and is only ever accessed through these atomics, by every process.
        unsafe { &*map.as_mut_ptr().cast::<SharedCounter>() }
    }
}

/// A worker's I/O failed: end it the way an uncaught exception ends a Python child, with a
/// message on stderr and exit code 1.
fn or_fail<T>(result: io::Result<T>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Send one message as one fixed-size record: one `write`, so it cannot interleave.
fn put(queue: &mut File, message: &str) -> io::Result<()> {
    let mut record = [b' '; RECORD];
    let bytes = &message.as_bytes()[..message.len().min(RECORD)];
    record[..bytes.len()].copy_from_slice(bytes);
    queue.write_all(&record)
}

/// Take one record off the queue (blocks until one is there).
fn get(queue: &mut File) -> io::Result<String> {
    let mut record = [0u8; RECORD];
    queue.read_exact(&mut record)?;
    Ok(String::from_utf8_lossy(&record).trim_end().to_string())
}

/// A private directory for the queue, the pipe and the shared file, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        Ok(Scratch(crate::scratch::make("ipc")?))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// One shared-counter run, for `demo ipc --json`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CounterRun {
    pub total: u64,
    pub lost: u64,
}

/// What `demo ipc --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct IpcReport {
    pub without_lock: CounterRun,
    pub with_lock: CounterRun,
    /// Items the consumers received of those the producer put on the queue.
    pub queue: (u32, u32),
    /// What went through the pipe and what came back.
    pub pipe: (String, String),
}

pub fn run(args: &DemoArgs, out: Out) -> Result<()> {
    if args.json {
        let report = run_all(&mut io::sink())?;
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    run_all(out).map(|_| ())
}

/// Run the three parts, telling `out` what happens; the figures are returned as well.
fn run_all(out: Out) -> Result<IpcReport> {
    let me = current_process();
    let scratch = Scratch::new()?;
    let (tx, rx) = mpsc::channel();
    writeln!(
        out,
        "{} procbook itself; the queue, pipe and shared file live in {}",
        term::tag(&me.name, me.pid),
        scratch.0.display()
    )?;

    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "1. queue: a producer process hands {ITEMS} items to {CONSUMERS} consumer processes"
        ))
    )?;
    queue(&scratch.path("queue"), &tx)?;
    let received: u32 = (show_output(out, &rx)?.iter())
        .filter_map(|line| {
            line.strip_prefix("received ")?
                .split(' ')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .sum();
    writeln!(
        out,
        "the consumers received {received} of {ITEMS} items between them"
    )?;

    writeln!(
        out,
        "{}",
        term::heading("2. pipe: two connected ends, one in procbook and one in a child")
    )?;
    let (sent, reply) = pipe(&scratch.path("pipe"), &tx)?;
    show_output(out, &rx)?;
    writeln!(
        out,
        "{} sent '{sent}', got back '{reply}'",
        term::tag(&me.name, me.pid)
    )?;

    let expected = u64::from(ADDERS) * TIMES;
    writeln!(
        out,
        "{}",
        term::heading(&format!(
            "3. shared memory: {ADDERS} processes each add 1 to one counter {} times (expected {})",
            thousands(TIMES),
            thousands(expected)
        ))
    )?;
    let file = scratch.path("counter");
    let unlocked = shared_counter(&file, false, &tx)?;
    show_output(out, &rx)?;
    let lost = expected.saturating_sub(unlocked.total);
    writeln!(
        out,
        "without a lock: {} ({} updates lost) in {:.0} ms; by {}",
        thousands(unlocked.total),
        thousands(lost),
        unlocked.millis,
        unlocked.pids
    )?;
    let locked = shared_counter(&file, true, &tx)?;
    show_output(out, &rx)?;
    writeln!(
        out,
        "with a lock:    {} ({} updates lost) in {:.0} ms; by {}",
        thousands(locked.total),
        thousands(expected.saturating_sub(locked.total)),
        locked.millis,
        locked.pids
    )?;
    if locked.total != expected {
        bail!(
            "the locked counter came to {} instead of {expected}",
            locked.total
        );
    }
    drop(tx);
    show_output(out, &rx)?;

    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "The queue carried {received} items from one process to others, and the pipe a message there and back: \
             processes share nothing unless they send it."
        ))
    )?;
    let share = 100.0 * lost as f64 / expected as f64;
    let race = if lost > 0 {
        format!(
            "Without the lock {} of {} additions ({share:.1}%) were lost: a process read the counter, \
             was paused or overtaken before writing it back, another added meanwhile, and the late write \
             put back an older value plus one.",
            thousands(lost),
            thousands(expected)
        )
    } else {
        "Without the lock no update was lost this time: no process happened to be paused between reading \
         the counter and writing it back while another one added. Nothing prevented it; it is a race, \
         and this run won it. Run the demo again and it will very likely lose some."
            .to_string()
    };
    writeln!(out, "{}", term::notice(&race))?;
    writeln!(
        out,
        "{}",
        term::notice(&format!(
            "With the lock none were, at {:.1}x the time: separate memory does not protect memory you chose to share.",
            locked.millis / unlocked.millis.max(0.001)
        ))
    )?;
    Ok(IpcReport {
        without_lock: CounterRun {
            total: unlocked.total,
            lost,
        },
        with_lock: CounterRun {
            total: locked.total,
            lost: expected.saturating_sub(locked.total),
        },
        queue: (received, ITEMS),
        pipe: (sent, reply),
    })
}

/// Part 1: a named pipe as the queue.
fn queue(path: &Path, tx: &Sender<Event>) -> Result<()> {
    nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR)
        .with_context(|| format!("creating the queue {}", path.display()))?;
    // procbook holds both ends open while the work runs, so no process blocks in open()
    // waiting for the other side, however the OS schedules them.
    let _both_ends = OpenOptions::new().read(true).write(true).open(path)?;
    let mut processes = Vec::new();
    for _ in 0..CONSUMERS {
        processes.push(
            Process::new(&CONSUME, path.to_path_buf())
                .events(tx)
                .start()?,
        );
    }
    let args = QueueArgs {
        path: path.to_path_buf(),
        items: ITEMS,
        consumers: CONSUMERS,
    };
    processes.push(Process::new(&PRODUCE, args).events(tx).start()?);
    join_all(&mut processes)
}

/// Part 2: a socket pair between procbook and a child. Returns what was sent and the reply.
fn pipe(path: &Path, tx: &Sender<Event>) -> Result<(String, String)> {
    let listener = UnixListener::bind(path).context("creating the pipe")?;
    let mut child = Process::new(&ECHO_UPPER, path.to_path_buf())
        .events(tx)
        .start()?;
    let deadline = Instant::now() + LIMIT;
    let conn = accept(&listener, &mut child, deadline)?;
    // Short reads, so the wait can look up for Ctrl-C, the deadline and a dead child.
    conn.set_read_timeout(Some(POLL))?;
    let sent = "hello through the pipe".to_string();
    (&conn).write_all(format!("{sent}\n").as_bytes())?;
    let mut reply = String::new();
    let mut reader = BufReader::new(&conn);
    loop {
        // On a timeout, what was read so far stays in `reply` and the next call goes on.
        match reader.read_line(&mut reply) {
            Ok(_) => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                still_waiting(&mut child, deadline, "reply")?;
            }
            Err(e) => return Err(e).context("reading the child's reply"),
        }
    }
    join_all(std::slice::from_mut(&mut child))?;
    Ok((sent, reply.trim_end().to_string()))
}

/// Fail if the wait should end: Ctrl-C, the deadline, or the child already gone.
fn still_waiting(child: &mut Process, deadline: Instant, what: &str) -> Result<()> {
    if cancel::requested() {
        return Err(engine::Error::Interrupted.into());
    }
    if let Some(exit) = child.exit() {
        bail!("{} ended ({exit}) before its {what}", child.name());
    }
    if Instant::now() > deadline {
        bail!(
            "no {what} from {} within {} s",
            child.name(),
            LIMIT.as_secs()
        );
    }
    Ok(())
}

/// Wait for the child to connect, looking up for Ctrl-C, the time limit and its exit.
fn accept(listener: &UnixListener, child: &mut Process, deadline: Instant) -> Result<UnixStream> {
    loop {
        still_waiting(child, deadline, "connection")?;
        let mut fd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll reads and writes only the one pollfd we pass.
        if unsafe { libc::poll(&mut fd, 1, POLL.as_millis() as i32) } > 0 {
            let (stream, _) = listener.accept().context("accepting the child")?;
            return Ok(stream);
        }
    }
}

/// How one shared-counter run went.
struct Added {
    total: u64,
    millis: f64,
    pids: String,
}

/// Part 3: `ADDERS` processes add to one counter in a shared file-backed mapping.
fn shared_counter(path: &Path, locked: bool, tx: &Sender<Event>) -> Result<Added> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .context("creating the shared file")?;
    file.set_len(4096)?; // one page, all zeros: value 0, lock free, nobody ready
    let map = MmapRaw::map_raw(&file).context("mapping the shared file")?;
    let counter = SharedCounter::on(&map);
    let start = Instant::now();
    let mut processes = Vec::new();
    for _ in 0..ADDERS {
        let args = AddArgs {
            path: path.to_path_buf(),
            times: TIMES,
            locked,
            processes: ADDERS,
        };
        processes.push(Process::new(&ADD_TO_SHARED, args).events(tx).start()?);
    }
    join_all(&mut processes)?;
    let pids: Vec<String> = processes
        .iter()
        .map(|p| format!("pid {}", p.pid()))
        .collect();
    Ok(Added {
        total: counter.value.load(SeqCst),
        millis: start.elapsed().as_secs_f64() * 1000.0,
        pids: pids.join(", "),
    })
}

/// Join every process within `LIMIT`; any that fails or overruns fails the part (and dropping
/// the handles kills and reaps the rest).
fn join_all(processes: &mut [Process]) -> Result<()> {
    let deadline = Instant::now() + LIMIT;
    for p in processes.iter_mut() {
        let left = deadline.saturating_duration_since(Instant::now());
        match p.join_timeout(Some(left))? {
            Some(exit) if exit.success() => {}
            Some(exit) => bail!("{} (pid {}) failed: {exit}", p.name(), p.pid()),
            None => bail!(
                "{} (pid {}) did not finish within {} s",
                p.name(),
                p.pid(),
                LIMIT.as_secs()
            ),
        }
    }
    Ok(())
}

/// Print what the processes said, tagged with their names and PIDs; returns their lines.
fn show_output(out: Out, events: &Receiver<Event>) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for event in events.try_iter() {
        if let Event::Output { line, .. } = &event {
            show_event(out, &event)?;
            lines.push(line.clone());
        }
    }
    Ok(lines)
}

/// The tasks `demo ipc` runs in its workers.
pub static PRODUCE: Task<QueueArgs, ()> = Task::new("produce", produce);
pub static CONSUME: Task<std::path::PathBuf, ()> = Task::new("consume", consume);
pub static ECHO_UPPER: Task<std::path::PathBuf, ()> = Task::new("echo_upper", echo_upper);
pub static ADD_TO_SHARED: Task<AddArgs, ()> = Task::new("add_to_shared", add_to_shared);
