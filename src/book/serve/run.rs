//! "Run on my machine": a command the book shows, run again on the reader's machine for the
//! page, its output streamed back line by line as server-sent events.
//!
//! Only the book's own commands can run: the demos and Python scripts whose output it shows
//! and the commands of its "Try it" lines, collected from the chapters when the book is built.
//! Each runs as procbook (or python3) directly, never through a shell, in a process group of
//! its own, so that stopping it (Stop, a closed tab, the time limit, Ctrl-C) kills every
//! process it started; its supervisor reaps it.

use std::collections::BTreeMap;
use std::future::Future as _;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context as TaskContext, Poll};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hyper::body::{Body, Bytes, Frame};
use tokio::sync::mpsc;
use tokio::time::Sleep;

use crate::directive::{self, Piece};

/// Runs going at once, at most.
pub const MAX_RUNS: usize = 4;
/// How long one run may take before it is stopped.
pub const LIMIT: Duration = Duration::from_secs(120);
/// A comment line this often keeps a quiet stream alive, and finds a reader who has left.
const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// Lines buffered between a run and a slow page before the run waits for the page.
const BACKLOG: usize = 1024;
/// Commands of "Try it" lines that make no sense from a page: another server, a loop.
const NOT_FROM_A_PAGE: &[&str] = &["book", "watch"];

/// What a page asks for: `{"command": "demo four"}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asked {
    pub command: String,
}

/// Something the book shows that a page may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runnable {
    /// `procbook WORDS…`
    Procbook(Vec<String>),
    /// `python3 FILE`, run in `dir` (the chapter's folder).
    Python { dir: PathBuf, file: String },
}

/// The commands a page may run, by the name the page sends: `demo four`, `sys`,
/// `python3 python/07_four.py` (as each output block's `data-procbook-run` names it).
#[derive(Debug, Clone, Default)]
pub struct Commands(BTreeMap<String, Runnable>);

impl Commands {
    /// Every demo, Python script and "Try it" command in the chapters of the book in `root`.
    pub fn collect(root: &Path) -> Result<Commands> {
        let book = mdbook_driver::MDBook::load(root)
            .with_context(|| format!("loading the book in {}", root.display()))?;
        let src = root.join(&book.config.book.src);
        let mut commands = Commands::default();
        for item in book.iter() {
            let mdbook_driver::book::BookItem::Chapter(chapter) = item else {
                continue;
            };
            let Some(source) = &chapter.source_path else {
                continue;
            };
            let dir = src
                .join(source)
                .parent()
                .map_or_else(|| src.clone(), Path::to_path_buf);
            commands.add_chapter(&chapter.content, &dir);
        }
        Ok(commands)
    }

    fn add_chapter(&mut self, content: &str, dir: &Path) {
        for piece in directive::parse(content) {
            let (name, runnable) = match piece {
                Piece::Demo(words) => {
                    let words: Vec<String> = std::iter::once("demo")
                        .chain(words)
                        .map(String::from)
                        .collect();
                    (words.join(" "), Runnable::Procbook(words))
                }
                Piece::Try(words) if !NOT_FROM_A_PAGE.contains(words.first().unwrap_or(&"")) => {
                    let words: Vec<String> = words.into_iter().map(String::from).collect();
                    (words.join(" "), Runnable::Procbook(words))
                }
                Piece::Python(file) => (
                    format!("python3 {file}"),
                    Runnable::Python {
                        dir: dir.to_path_buf(),
                        file: file.to_string(),
                    },
                ),
                _ => continue,
            };
            // The first chapter to name a command decides what it runs.
            self.0.entry(name).or_insert(runnable);
        }
    }

    /// What the page's `command` runs, if the book shows it.
    pub fn get(&self, command: &str) -> Option<&Runnable> {
        self.0.get(command)
    }

    /// Every name a page may send.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Why a run did not start.
#[derive(Debug)]
pub enum Refused {
    /// [`MAX_RUNS`] are going already.
    Busy(usize),
    /// No process, pipe or thread could be had.
    Failed(anyhow::Error),
}

/// A run that started: its events for the response, and what its caption says.
pub struct Started {
    pub events: Events,
    pub cores: usize,
    pub runtime: Option<String>,
}

/// The runs going now.
#[derive(Default)]
pub struct Runs {
    going: Arc<AtomicUsize>,
    handles: Mutex<Vec<Weak<Group>>>,
    python: std::sync::OnceLock<Option<String>>,
}

impl Runs {
    /// Start `runnable` if fewer than [`MAX_RUNS`] are going; stop it after [`LIMIT`].
    pub fn start(&self, runnable: &Runnable) -> Result<Started, Refused> {
        self.start_for(runnable, LIMIT)
    }

    /// Start `runnable` if fewer than [`MAX_RUNS`] are going; stop it after `limit`.
    fn start_for(&self, runnable: &Runnable, limit: Duration) -> Result<Started, Refused> {
        let going = self.going.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(&self.going));
        if going >= MAX_RUNS {
            return Err(Refused::Busy(going));
        }
        let runtime = match runnable {
            Runnable::Python { .. } => self
                .python
                .get_or_init(super::super::capture::python_version)
                .clone(),
            Runnable::Procbook(_) => None,
        };
        let (group, lines) = spawn(runnable, slot).map_err(Refused::Failed)?;
        if let Ok(mut handles) = self.handles.lock() {
            handles.retain(|h| h.strong_count() > 0);
            handles.push(Arc::downgrade(&group));
        }
        Ok(Started {
            events: Events::new(lines, group, limit),
            cores: super::super::capture::cores(),
            runtime,
        })
    }

    /// Stop every run and wait, up to `limit`, until each has been reaped.
    pub fn stop_all(&self, limit: Duration) {
        if let Ok(handles) = self.handles.lock() {
            for group in handles.iter().filter_map(Weak::upgrade) {
                group.kill();
            }
        }
        let deadline = Instant::now() + limit;
        while self.going.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// One of the [`MAX_RUNS`] places, given back when dropped (once the run has been reaped).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a run sends to its page.
#[derive(Debug)]
enum Message {
    Line(String),
    /// A figure drawn from the run's own recording, as one HTML block (`event: figure`).
    Figure(String),
    /// The exit code (128 + the signal's number when a signal ended it, as shells say it).
    Done(i32),
}

/// A run's process group. Its number stays the group's own until the leader is reaped, so
/// killing happens only under the lock and only before the reap.
struct Group {
    pgid: libc::pid_t,
    reaped: Mutex<bool>,
}

impl Group {
    /// Kill every process in the group, unless it is over already.
    fn kill(&self) {
        let reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        if !*reaped {
            // SAFETY: kill(2) on a process group that still exists (its leader is not
            // reaped: we hold the lock the reaper takes); no memory is touched.
            unsafe {
                libc::kill(-self.pgid, libc::SIGKILL);
            }
        }
    }

    /// Once the leader has exited: kill whatever it left in the group, then reap it.
    fn reap(&self, child: &mut Child) -> Option<std::process::ExitStatus> {
        let mut reaped = self.reaped.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as in `kill`: the leader is a zombie, not yet reaped, so the group is ours.
        unsafe {
            libc::kill(-self.pgid, libc::SIGKILL);
        }
        let status = child.wait().ok();
        *reaped = true;
        status
    }
}

/// What a run's figures are drawn again from once it ends, as the book drew them from its
/// capture.
enum Redraw {
    /// A demo's own recording (`PROCBOOK_RECORD`), in `file`.
    Demo { name: String, file: PathBuf },
    /// What a Python script printed (chapter 8's start methods give a process tree).
    Python { file: String },
}

/// How much of a Python run's output is kept to draw its figure from.
const KEPT_OUTPUT: usize = 256 * 1024;

/// Start the process and the threads that read it and reap it.
fn spawn(runnable: &Runnable, slot: Slot) -> Result<(Arc<Group>, mpsc::Receiver<Message>)> {
    let mut figures = None;
    let mut cmd = match runnable {
        Runnable::Procbook(words) => {
            let exe = std::env::current_exe().context("finding the procbook binary")?;
            let mut cmd = Command::new(exe);
            cmd.args(words).env("NO_COLOR", "1");
            // A demo records its run, as it does for the book's capture, so the page's figure
            // is redrawn from this run (and the live strip records instead of printing).
            if let [demo, name, ..] = words.as_slice()
                && demo == "demo"
            {
                let file = crate::scratch::make("live-run")?.join("record.jsonl");
                cmd.env(crate::figure::record::ENV, &file);
                figures = Some(Redraw::Demo {
                    name: name.clone(),
                    file,
                });
            }
            cmd
        }
        Runnable::Python { dir, file } => {
            figures = Some(Redraw::Python { file: file.clone() });
            let mut cmd = Command::new("python3");
            cmd.arg(file)
                .current_dir(dir)
                .env("PYTHONUNBUFFERED", "1")
                .env("PYTHONDONTWRITEBYTECODE", "1");
            cmd
        }
    };
    let (reader, writer) = std::io::pipe().context("making a pipe for the run's output")?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone().context("making a pipe")?)
        .stderr(writer)
        .process_group(0);
    let child = cmd.spawn();
    // The command holds the pipe's write ends; drop them so the reader sees the end.
    drop(cmd);
    let child = child.context("starting the run")?;
    let group = Arc::new(Group {
        pgid: child.id() as libc::pid_t,
        reaped: Mutex::new(false),
    });
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel(BACKLOG);
    let supervisor = {
        let group = Arc::clone(&group);
        thread::Builder::new()
            .name("procbook-run".into())
            .spawn(move || supervise(child, reader, tx, group, slot, figures))
    };
    if let Err(e) = supervisor {
        // The thread never ran, so its `Child` is gone unreaped: reap it by PID.
        group.kill();
        // SAFETY: waitpid on our own child, which nothing else waits for.
        unsafe {
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        return Err(e).context("starting a thread for the run (the machine may be out of threads)");
    }
    Ok((group, rx))
}

/// Read the run's lines into `tx` and reap it when it ends; then say how it ended.
fn supervise(
    mut child: Child,
    reader: std::io::PipeReader,
    tx: mpsc::Sender<Message>,
    group: Arc<Group>,
    slot: Slot,
    figures: Option<Redraw>,
) {
    // What the run printed, kept (up to a cap) when a figure is drawn from it.
    let keep = matches!(figures, Some(Redraw::Python { .. }));
    let (read_done, read_finished) = std::sync::mpsc::channel::<String>();
    let lines = tx.clone();
    let kill_group = Arc::clone(&group);
    let read = thread::Builder::new()
        .name("procbook-run-read".into())
        .spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut line = Vec::new();
            let mut page_gone = false;
            let mut kept = String::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                if !page_gone {
                    let text = String::from_utf8_lossy(&line);
                    if keep && kept.len() + text.len() <= KEPT_OUTPUT {
                        kept.push_str(&text);
                    }
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if lines.blocking_send(Message::Line(text)).is_err() {
                        // Nobody is reading: stop the run, and drain the pipe to its end.
                        kill_group.kill();
                        page_gone = true;
                    }
                }
                line.clear();
            }
            let _ = read_done.send(kept);
        });
    if read.is_err() {
        let _ = tx.blocking_send(Message::Line(
            "(procbook could not start a thread to read this run, so it was stopped)".into(),
        ));
        group.kill();
    }
    wait_for_exit(child.id() as libc::pid_t);
    let code = match group.reap(&mut child) {
        Some(status) => status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap_or(-1),
        None => -1,
    };
    // The group is gone now, so the pipe's last writer is too; the reader ends unless
    // something left the group holding it, and then the page is not kept waiting.
    let output = read_finished
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_default();
    let redrawn = match figures {
        Some(Redraw::Demo { name, file }) => {
            let drawn = redrawn(&name, &file);
            if let Some(dir) = file.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
            drawn
        }
        Some(Redraw::Python { file }) => redrawn_from_python(&file, &output),
        None => Vec::new(),
    };
    for figure in redrawn {
        let _ = tx.blocking_send(Message::Figure(figure));
    }
    let _ = tx.blocking_send(Message::Done(code));
    drop(slot);
}

/// The figures the book draws for `demo`, drawn again from this run's recording in `file`
/// (none when the demo has no figure or recorded nothing, say because it was stopped).
fn redrawn(demo: &str, file: &Path) -> Vec<String> {
    let kinds = crate::figure::kinds_for(demo);
    if kinds.is_empty() {
        return Vec::new();
    }
    let Ok(records) = crate::figure::record::read(file) else {
        return Vec::new();
    };
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    kinds
        .iter()
        .enumerate()
        .filter_map(|(i, kind)| {
            let figure = crate::figure::draw(*kind, &records).ok()??;
            Some(figure.html(&format!("live-{demo}-{run}-{i}")))
        })
        .collect()
}

/// The figure the book draws from what the Python script `file` printed, drawn again from
/// this run's output (none for a script without one, or an output with nothing to draw).
fn redrawn_from_python(file: &str, output: &str) -> Vec<String> {
    let Ok(Some(figure)) = crate::figure::for_python(file, output) else {
        return Vec::new();
    };
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    vec![figure.html(&format!("live-python-{run}"))]
}

/// Live figures drawn so far, so that each has its own id on the page.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Wait until the process `pid` has exited, leaving it unreaped: its PID, and so its group's
/// number, cannot be reused until [`Group::reap`].
fn wait_for_exit(pid: libc::pid_t) {
    loop {
        // SAFETY: waitid only fills the zeroed siginfo it is given.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// The response body of a run: `data:` per line, `event: done` at the end. Dropping it (the
/// page stopped, or went away) kills the run.
pub struct Events {
    lines: mpsc::Receiver<Message>,
    group: Arc<Group>,
    keep_alive: Pin<Box<Sleep>>,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
    over_time: bool,
    done: bool,
}

impl Events {
    fn new(lines: mpsc::Receiver<Message>, group: Arc<Group>, limit: Duration) -> Events {
        Events {
            lines,
            group,
            keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
            over_time: false,
            done: false,
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if !self.done {
            self.group.kill();
        }
    }
}

/// `text` as one server-sent event's `data:` line.
fn data_line(out: &mut String, text: &str) {
    // A line never holds a newline (it was split on them); a lone CR would end the field.
    out.push_str("data: ");
    out.push_str(&text.replace('\r', ""));
    out.push_str("\n\n");
}

impl Body for Events {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let mut out = String::new();
        // Whatever lines are waiting go out together, up to a few pages' worth.
        while out.len() < 64 * 1024 {
            match self.lines.poll_recv(cx) {
                Poll::Ready(Some(Message::Line(text))) => data_line(&mut out, &text),
                Poll::Ready(Some(Message::Figure(html))) => {
                    // One `data:` field per line; the page joins them with newlines again.
                    out.push_str("event: figure\n");
                    for line in html.lines() {
                        out.push_str("data: ");
                        out.push_str(&line.replace('\r', ""));
                        out.push('\n');
                    }
                    out.push('\n');
                }
                Poll::Ready(Some(Message::Done(code))) => {
                    out.push_str(&format!("event: done\ndata: {code}\n\n"));
                    self.done = true;
                    break;
                }
                Poll::Ready(None) => {
                    // The supervisor ended without a word: say so rather than hang.
                    out.push_str("event: done\ndata: -1\n\n");
                    self.done = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !self.over_time && self.deadline.as_mut().poll(cx).is_ready() {
            self.over_time = true;
            self.group.kill();
            out.push_str(&format!(
                "event: stopped\ndata: ran past {}s, so it was stopped\n\n",
                self.limit.as_secs_f64()
            ));
        }
        if out.is_empty() && self.keep_alive.as_mut().poll(cx).is_ready() {
            out.push_str(": still running\n\n");
        }
        if out.is_empty() {
            return Poll::Pending;
        }
        let next = tokio::time::Instant::now() + KEEP_ALIVE;
        self.keep_alive.as_mut().reset(next);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_s_commands_are_its_demos_scripts_and_try_lines() {
        let mut commands = Commands::default();
        commands.add_chapter(
            "{{#procbook demo pool --workers 3}}\n{{#procbook python python/x.py}}\n\
             {{#procbook try sys}}\n{{#procbook try book --serve}}\n{{#procbook try watch}}\n",
            Path::new("/b/src"),
        );
        let names: Vec<&str> = commands.names().collect();
        assert_eq!(
            names,
            ["demo pool --workers 3", "python3 python/x.py", "sys"]
        );
        assert_eq!(
            commands.get("python3 python/x.py"),
            Some(&Runnable::Python {
                dir: "/b/src".into(),
                file: "python/x.py".into()
            })
        );
        assert_eq!(commands.get("demo pool"), None);
        assert_eq!(commands.get("demo pool --workers 3 ; rm -rf /"), None);
    }

    #[test]
    fn a_run_past_its_time_limit_is_stopped_and_reaped() {
        if super::super::super::capture::python_version().is_none() {
            eprintln!("\n*** SKIPPED: no python3 to run a script that outlives its limit ***\n");
            return;
        }
        let dir = std::env::temp_dir().join(format!("procbook-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("slow.py"),
            "import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(60)\n",
        )
        .unwrap();
        let runnable = Runnable::Python {
            dir: dir.clone(),
            file: "slow.py".into(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let runs = Runs::default();
        let started = Instant::now();
        let body = runtime.block_on(async {
            use http_body_util::BodyExt;
            let started = runs
                .start_for(&runnable, Duration::from_millis(500))
                .unwrap_or_else(|_| panic!("the run did not start"));
            started.events.collect().await.unwrap().to_bytes()
        });
        let took = started.elapsed();
        let _ = std::fs::remove_dir_all(&dir);
        let body = String::from_utf8_lossy(&body);
        assert!(body.starts_with("data: pid "), "{body}");
        assert!(
            body.contains("event: stopped\ndata: ran past 0.5s"),
            "{body}"
        );
        // SIGKILL is signal 9: 128 + 9, as a shell says it.
        assert!(body.ends_with("event: done\ndata: 137\n\n"), "{body}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        let pid: i32 = body["data: pid ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Reaped: not even a zombie is left.
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} is left"
        );
        assert_eq!(runs.going.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn data_lines_cannot_be_split_by_a_carriage_return() {
        let mut out = String::new();
        data_line(&mut out, "a\rb");
        assert_eq!(out, "data: ab\n\n");
    }
}
