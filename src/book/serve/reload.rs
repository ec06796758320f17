//! Rebuilding the served book when a chapter changes, as `mdbook serve` does, and telling the
//! open pages to reload (`GET /api/events`, server-sent events).
//!
//! The new build goes into a folder beside the served one and takes its place only once it
//! is whole, so a page asked for during a rebuild is the old one, never half of the new; a
//! build that fails leaves the old book up and says why, on the terminal and on the pages.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http_body_util::Either;
use hyper::body::{Bytes, Frame};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::watch;
use tokio::time::Sleep;

use super::{Body, Server};
use crate::engine::cancel;

/// Changes closer together than this are one change (an editor's save is several events).
const SETTLE: Duration = Duration::from_millis(300);
/// A comment this often keeps an idle page's connection alive and finds closed tabs.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The files whose change means a rebuild; a script that writes a `.txt` beside itself does not.
const WATCHED: &[&str] = &["md", "py", "rs", "toml", "css", "js", "hbs"];

/// What the pages are told: the build's number, and why the last rebuild failed, if it did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub generation: u64,
    pub failed: Option<String>,
}

/// The rebuilds: their news for the pages, and the one going now.
pub struct Builds {
    news: watch::Sender<Status>,
    going: Mutex<Option<JoinHandle<()>>>,
}

impl Default for Builds {
    fn default() -> Self {
        Builds {
            news: watch::Sender::new(Status::default()),
            going: Mutex::new(None),
        }
    }
}

impl Builds {
    /// `GET /api/events`: `event: reload` after each good rebuild, `event: failed` after a bad
    /// one, until the page goes away.
    pub fn events(&self) -> Response<Body> {
        let news = News {
            waiting: next_news(self.news.subscribe()),
            keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
        };
        let mut response = Response::new(Either::Right(Either::Right(news)));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }

    /// Wait up to `limit` for a rebuild under way (Ctrl-C has stopped its captures).
    pub fn wait(&self, limit: Duration) {
        let handle = self.going.lock().ok().and_then(|mut g| g.take());
        if let Some(handle) = handle {
            let deadline = Instant::now() + limit;
            while !handle.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

/// A page's stream of news about rebuilds.
pub struct News {
    /// The wait for the next news; it owns the receiver and hands it back with the news.
    waiting: Waiting,
    keep_alive: Pin<Box<Sleep>>,
}

type Waiting = Pin<Box<dyn Future<Output = Option<watch::Receiver<Status>>> + Send + Sync>>;

/// Wait for the next change of the status (kept across polls, so the wake-up is not lost).
fn next_news(mut news: watch::Receiver<Status>) -> Waiting {
    Box::pin(async move { news.changed().await.ok().map(|()| news) })
}

impl hyper::body::Body for News {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut out = String::new();
        match self.waiting.as_mut().poll(cx) {
            Poll::Ready(Some(mut news)) => {
                let status = news.borrow_and_update().clone();
                self.waiting = next_news(news);
                match status.failed {
                    Some(why) => {
                        out.push_str("event: failed\n");
                        for line in why.lines() {
                            out.push_str(&format!("data: {line}\n"));
                        }
                        out.push('\n');
                    }
                    None => {
                        out.push_str(&format!("event: reload\ndata: {}\n\n", status.generation))
                    }
                }
                // Wake again at once: the new wait must be polled to register.
                cx.waker().wake_by_ref();
            }
            // The server is stopping.
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if out.is_empty() && self.keep_alive.as_mut().poll(cx).is_ready() {
            out.push_str(": waiting for changes\n\n");
        }
        if out.is_empty() {
            return Poll::Pending;
        }
        let next = tokio::time::Instant::now() + KEEP_ALIVE;
        self.keep_alive.as_mut().reset(next);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
    }
}

/// Watch the book in `root` (its chapters, theme and book.toml) and rebuild it into the
/// served folder after each change. Dropping the watcher stops the watching.
pub fn watch(root: &Path, server: Arc<Server>) -> Result<notify::RecommendedWatcher> {
    let (tx, rx) = std::sync::mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(tx).context("starting to watch the chapters")?;
    let src = root.join("src");
    watcher
        .watch(&src, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", src.display()))?;
    let theme = root.join("theme");
    if theme.is_dir() {
        watcher
            .watch(&theme, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", theme.display()))?;
    }
    watcher
        .watch(&root.join("book.toml"), RecursiveMode::NonRecursive)
        .context("watching book.toml")?;
    let root = root.to_path_buf();
    let builder = Arc::clone(&server);
    let handle = thread::Builder::new()
        .name("procbook-rebuild".into())
        .spawn(move || rebuild_on_change(&root, &builder, &rx))
        .context("starting the rebuilding thread")?;
    if let Ok(mut going) = server.builds.going.lock() {
        *going = Some(handle);
    }
    Ok(watcher)
}

/// Does this event change a file the book is built from?
fn matters(event: &notify::Result<notify::Event>) -> bool {
    let Ok(event) = event else { return false };
    if !matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
    ) {
        return false;
    }
    event.paths.iter().any(|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| WATCHED.contains(&e))
    })
}

/// Until the watcher is dropped or Ctrl-C: wait for a change, let it settle, rebuild.
fn rebuild_on_change(
    root: &Path,
    server: &Server,
    changes: &std::sync::mpsc::Receiver<notify::Result<notify::Event>>,
) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        match changes.recv_timeout(Duration::from_millis(200)) {
            Ok(event) if matters(&event) => {}
            Ok(_) | Err(RecvTimeoutError::Timeout) => {
                if cancel::requested() {
                    return;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // Let the burst of events from one save pass.
        while changes.recv_timeout(SETTLE).is_ok() {}
        if cancel::requested() {
            return;
        }
        server.say("A chapter changed: rebuilding the book…");
        let started = Instant::now();
        match rebuild(root, server) {
            Ok(()) => {
                server.say(format!(
                    "Rebuilt the book in {:.1}s; open pages reload.",
                    started.elapsed().as_secs_f64()
                ));
                server.builds.news.send_modify(|s| {
                    s.generation += 1;
                    s.failed = None;
                });
            }
            Err(e) if cancel::requested() => {
                let _ = e;
                return;
            }
            Err(e) => {
                let why = format!("{e:#}");
                server.say(format!(
                    "The book did not rebuild, so the last good build is still served:\n{why}"
                ));
                server.builds.news.send_modify(|s| s.failed = Some(why));
            }
        }
    }
}

/// Build the book into a folder beside the served one, then put it in that one's place.
fn rebuild(root: &Path, server: &Server) -> Result<()> {
    let dir = &server.dir;
    let next = sibling(dir, "next");
    let old = sibling(dir, "old");
    // No blind removal first: `book::build` empties a leftover build of ours and refuses a
    // folder procbook did not write, whatever its name.
    let built = crate::book::build(root, &next);
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&next);
        return Err(e);
    }
    let commands = super::run::Commands::collect(root);
    {
        let _swap = server.files.write();
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(dir, &old)
            .with_context(|| format!("moving the last build {} aside", dir.display()))?;
        if let Err(e) = std::fs::rename(&next, dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(e).with_context(|| format!("putting the new build in {}", dir.display()));
        }
    }
    let _ = std::fs::remove_dir_all(&old);
    if let (Ok(commands), Ok(mut served)) = (commands, server.commands.write()) {
        *served = commands;
    }
    Ok(())
}

/// `/x/build` → `/x/.build.procbook-next`: beside it, on the same file system, so a rename
/// swaps the two.
fn sibling(dir: &Path, what: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "book".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.procbook-{what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_go_beside_the_served_folder() {
        assert_eq!(
            sibling(Path::new("/x/build"), "next"),
            Path::new("/x/.build.procbook-next")
        );
    }

    #[test]
    fn only_changes_to_the_book_s_own_files_rebuild_it() {
        let event = |kind, path: &str| {
            Ok(notify::Event {
                kind,
                paths: vec![PathBuf::from(path)],
                attrs: Default::default(),
            })
        };
        let modify = EventKind::Modify(notify::event::ModifyKind::Any);
        assert!(matters(&event(modify, "/b/src/07-four.md")));
        assert!(matters(&event(modify, "/b/src/python/07_four.py")));
        assert!(!matters(&event(modify, "/b/src/python/out.txt")));
        assert!(!matters(&event(
            EventKind::Access(notify::event::AccessKind::Any),
            "/b/src/07-four.md"
        )));
    }
}
