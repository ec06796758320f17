//! `procbook book --serve`: the built book over HTTP on 127.0.0.1 only, until Ctrl-C, on hyper
//! (HTTP/1.1) in a single-threaded tokio runtime: idle and slow connections cost a socket and
//! a little memory each, never a thread. Besides the book's files it answers
//! `POST /api/run` (a command from the book, run on this machine and streamed back as
//! server-sent events; see [`run`]) and `GET /api/events` (rebuilt: reload; see [`reload`]).
//!
//! Every request must name this server in `Host` (`127.0.0.1:PORT` or `localhost:PORT`) and,
//! if it has an `Origin`, come from it: a page elsewhere, or a DNS name rebound to 127.0.0.1,
//! gets 403. Runs also need the token the served pages carry in
//! `<meta name="procbook-token">`, new for every start of the server.

pub mod reload;
pub mod run;

use std::convert::Infallible;
use std::net::Ipv4Addr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::demos::Out;
use crate::engine::cancel;

/// The port to try first (mdBook's own `serve` uses it too); any free one if it is taken.
const PORT: u16 = 3000;
/// Open connections at most; one more is accepted and closed at once, and the server goes on.
/// A tab holds two or three; this leaves room for a thousand idle sockets and then some.
pub const MAX_CONNECTIONS: usize = 2048;
/// File descriptors kept free for runs, the book's files and rebuilds, whatever the cap.
const FD_RESERVE: usize = 128;
/// A request's line and headers, at most (hyper answers 431 past it).
const MAX_HEAD: usize = 16 * 1024;
/// A request's body, at most (`{"command": "…"}` is a few dozen bytes).
const MAX_BODY: usize = 4 * 1024;
/// A client gets this long to send its request line and headers (slow clients are cut off).
const HEAD_TIMEOUT: Duration = Duration::from_secs(20);
/// …and this long for the body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the accept loop looks for Ctrl-C and news from the rebuilder.
const POLL: Duration = Duration::from_millis(100);

/// What a response body is: a whole file or message, or a stream of events.
pub type Body = Either<Full<Bytes>, Either<run::Events, reload::News>>;

/// What every request handler shares.
pub struct Server {
    /// The built book.
    dir: PathBuf,
    /// Held for reading while a file is opened, for writing while a rebuild swaps folders.
    files: RwLock<()>,
    port: u16,
    token: String,
    /// The commands the book shows, which are all that may run.
    commands: RwLock<run::Commands>,
    runs: run::Runs,
    builds: reload::Builds,
    connections: AtomicUsize,
    /// Lines for the terminal, from the rebuilder and the handlers (they cannot hold `out`).
    log: Mutex<Vec<String>>,
}

impl Server {
    fn say(&self, line: impl Into<String>) {
        if let Ok(mut log) = self.log.lock() {
            log.push(line.into());
        }
    }
}

/// Serve the book built in `dir` until Ctrl-C, rebuilding it there when a chapter changes;
/// open it in the browser first if `open`.
pub fn serve(dir: &Path, open: bool, out: Out) -> Result<()> {
    let root = super::root();
    let root = root.as_path();
    let fds = raise_fd_limit();
    let max_connections = MAX_CONNECTIONS.min(fds.saturating_sub(FD_RESERVE)).max(16);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the server's event loop")?;
    let listener = runtime.block_on(async {
        match tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, PORT)).await {
            Ok(listener) => Ok(listener),
            Err(_) => tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await,
        }
    });
    let listener = listener.context("listening on 127.0.0.1")?;
    let port = listener.local_addr()?.port();
    let commands = run::Commands::collect(root).context("listing the commands the book shows")?;
    let server = Arc::new(Server {
        dir: dir.to_path_buf(),
        files: RwLock::new(()),
        port,
        token: token().context("making the page token")?,
        commands: RwLock::new(commands),
        runs: run::Runs::default(),
        builds: reload::Builds::default(),
        connections: AtomicUsize::new(0),
        log: Mutex::new(Vec::new()),
    });
    let url = format!("http://127.0.0.1:{port}/");
    writeln!(out, "Serving the book on {url} (Ctrl-C to stop)")?;
    let watcher = match reload::watch(root, Arc::clone(&server)) {
        Ok(watcher) => Some(watcher),
        Err(e) => {
            writeln!(
                out,
                "note: pages will not rebuild when a chapter changes ({e:#}); restart to see edits"
            )?;
            None
        }
    };
    out.flush()?;
    if open && let Err(e) = super::open(&url) {
        writeln!(out, "note: {e:#}")?;
    }
    let accepted = runtime.block_on(accept(listener, Arc::clone(&server), max_connections, out));
    // Ctrl-C or a failure: stop watching; drop the open connections with the runtime, which
    // kills every run (a run's stream kills it when dropped); wait until each is reaped.
    drop(watcher);
    drop(runtime);
    server.runs.stop_all(Duration::from_secs(5));
    server.builds.wait(Duration::from_secs(10));
    flush_log(&server, out);
    accepted?;
    writeln!(out, "Stopped serving the book.")?;
    Ok(())
}

/// Accept connections until Ctrl-C, at most `max` open at once.
async fn accept(
    listener: tokio::net::TcpListener,
    server: Arc<Server>,
    max: usize,
    out: Out<'_>,
) -> Result<()> {
    let mut refused = 0u64;
    let mut accept_failed = false;
    while !cancel::requested() {
        flush_log(&server, out);
        let accepted = match tokio::time::timeout(POLL, listener.accept()).await {
            Err(_) => continue,
            Ok(accepted) => accepted,
        };
        let (stream, _) = match accepted {
            Ok(accepted) => accepted,
            // Out of file descriptors (or another passing failure): the pending connection
            // waits in the backlog; try again shortly instead of spinning or stopping.
            Err(e) => {
                if !accept_failed {
                    writeln!(out, "note: cannot accept a connection now ({e}); retrying")?;
                    accept_failed = true;
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        accept_failed = false;
        if server.connections.load(Ordering::SeqCst) >= max {
            refused += 1;
            if refused.is_power_of_two() {
                writeln!(
                    out,
                    "note: {max} connections are open; refused {refused} more so far"
                )?;
            }
            drop(stream);
            continue;
        }
        server.connections.fetch_add(1, Ordering::SeqCst);
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            connection(stream, Arc::clone(&server)).await;
            server.connections.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

/// Serve one connection's requests until it closes or a limit cuts it off.
async fn connection(stream: tokio::net::TcpStream, server: Arc<Server>) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request| {
        let server = Arc::clone(&server);
        async move { Ok::<_, Infallible>(answer(request, &server).await) }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    let _ = http.serve_connection(TokioIo::new(stream), service).await;
}

fn flush_log(server: &Server, out: Out) {
    let lines = match server.log.lock() {
        Ok(mut log) => std::mem::take(&mut *log),
        Err(_) => return,
    };
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// One request's response.
async fn answer(request: Request<Incoming>, server: &Server) -> Response<Body> {
    if let Err(why) = check_origin(&request, server.port) {
        return text(StatusCode::FORBIDDEN, why);
    }
    match (request.method(), request.uri().path()) {
        (&Method::POST, "/api/run") => run_request(request, server).await,
        (_, "/api/run") => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "a run is POST /api/run with {\"command\": \"…\"}".into(),
        ),
        (&Method::GET, "/api/events") => server.builds.events(),
        // hyper answers HEAD with the length of the body it does not send.
        (&Method::GET | &Method::HEAD, path) => file(server, path),
        _ => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "this server answers GET and HEAD, and POST /api/run".into(),
        ),
    }
}

/// Is the request for this server, from this server's pages (or from no page at all)?
fn check_origin(request: &Request<Incoming>, port: u16) -> Result<(), String> {
    let ours = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    match host {
        Some(host) if ours.iter().any(|o| o == host) => {}
        Some(host) => {
            return Err(format!(
                "this server answers only to http://127.0.0.1:{port}/, not to `{}`",
                crate::term::shown(host)
            ));
        }
        None => return Err(format!("a request needs `Host: 127.0.0.1:{port}`")),
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !ours.iter().any(|o| origin == format!("http://{o}")) {
            return Err(format!(
                "only pages from http://127.0.0.1:{port} may ask this server, not `{}`",
                crate::term::shown(origin)
            ));
        }
    }
    Ok(())
}

/// `POST /api/run {"command": "demo four"}` with the page's token.
async fn run_request(request: Request<Incoming>, server: &Server) -> Response<Body> {
    let token = request
        .headers()
        .get("x-procbook-token")
        .map(HeaderValue::as_bytes);
    if !token.is_some_and(|t| same(t, server.token.as_bytes())) {
        return text(
            StatusCode::FORBIDDEN,
            "a run needs the X-Procbook-Token header from this server's pages (reload the page)"
                .into(),
        );
    }
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_BODY) {
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a run's body is {{\"command\": \"…\"}}, at most {MAX_BODY} bytes"),
        );
    }
    let body = Limited::new(request.into_body(), MAX_BODY);
    let body = match tokio::time::timeout(BODY_TIMEOUT, body.collect()).await {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(_)) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a run's body is {{\"command\": \"…\"}}, at most {MAX_BODY} bytes"),
            );
        }
        Err(_) => {
            return text(
                StatusCode::REQUEST_TIMEOUT,
                format!("the body did not arrive within {}s", BODY_TIMEOUT.as_secs()),
            );
        }
    };
    let asked: run::Asked = match serde_json::from_slice(&body) {
        Ok(asked) => asked,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"command\": \"demo four\"}} ({e})"),
            );
        }
    };
    let runnable = match server.commands.read() {
        Ok(commands) => commands.get(&asked.command).cloned(),
        Err(_) => None,
    };
    let Some(runnable) = runnable else {
        return text(
            StatusCode::FORBIDDEN,
            format!(
                "`{}` is not a command this book shows, so it cannot run from the page",
                crate::term::shown(&asked.command)
            ),
        );
    };
    match server.runs.start(&runnable) {
        Ok(started) => {
            server.say(format!("Running `{}` for the page", asked.command));
            let mut response = Response::new(Either::Right(Either::Left(started.events)));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert("x-procbook-cores", HeaderValue::from(started.cores));
            if let Some(runtime) = started.runtime.and_then(|r| HeaderValue::from_str(&r).ok()) {
                headers.insert("x-procbook-runtime", runtime);
            }
            response
        }
        Err(run::Refused::Busy(n)) => text(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{n} runs are going already; stop one or wait for it to finish"),
        ),
        Err(run::Refused::Failed(e)) => {
            server.say(format!("note: a run could not start: {e:#}"));
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the run could not start: {e:#}"),
            )
        }
    }
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A file of the book; HTML pages get this server's token.
fn file(server: &Server, path: &str) -> Response<Body> {
    let read = {
        let _swap = server.files.read();
        match file_for(&server.dir, path) {
            Some(file) => std::fs::read(&file).map(|bytes| (StatusCode::OK, file, bytes)),
            None => {
                let file = server.dir.join("404.html");
                std::fs::read(&file).map(|bytes| (StatusCode::NOT_FOUND, file, bytes))
            }
        }
    };
    let (status, file, mut bytes) = match read {
        Ok(read) => read,
        Err(_) => return text(StatusCode::NOT_FOUND, format!("no page at {path}")),
    };
    let kind = content_type(&file);
    if kind.starts_with("text/html") {
        bytes = with_token(bytes, &server.token);
    }
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(bytes))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The page with `<meta name="procbook-token">` as the first thing in its head.
fn with_token(page: Vec<u8>, token: &str) -> Vec<u8> {
    let Some(at) = page
        .windows(6)
        .position(|w| w.eq_ignore_ascii_case(b"<head>"))
    else {
        return page;
    };
    let meta = format!("\n<meta name=\"procbook-token\" content=\"{token}\">");
    let mut out = Vec::with_capacity(page.len() + meta.len());
    out.extend_from_slice(&page[..at + 6]);
    out.extend_from_slice(meta.as_bytes());
    out.extend_from_slice(&page[at + 6..]);
    out
}

/// A short plain-text answer.
pub fn text(status: StatusCode, message: String) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(message + "\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// 128 random bits as hex, from the kernel.
fn token() -> Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Raise the soft limit on open files to the hard one (many systems start at 1024) and
/// return the limit in force.
fn raise_fd_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// The file a request path names inside `dir`, if there is one; never a path outside it.
fn file_for(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path)?;
    let mut file = dir.to_path_buf();
    for part in Path::new(&path).components() {
        match part {
            Component::Normal(part) => file.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" | "md" | "py" | "rs" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_book_are_served() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(file_for(&dir, "/book.rs?x=1"), Some(dir.join("book.rs")));
        assert_eq!(file_for(&dir, "/%62ook.rs"), Some(dir.join("book.rs")));
        assert_eq!(file_for(&dir, "/../Cargo.toml"), None);
        assert_eq!(file_for(&dir, "/%2e%2e/Cargo.toml"), None);
        assert_eq!(file_for(&dir, "/nothing.here"), None);
    }

    #[test]
    fn pages_carry_the_token_first_in_their_head() {
        let page = with_token(b"<html><head><title>x</title>".to_vec(), "ab12");
        assert_eq!(
            String::from_utf8(page).unwrap(),
            "<html><head>\n<meta name=\"procbook-token\" content=\"ab12\"><title>x</title>"
        );
        assert_eq!(with_token(b"no head".to_vec(), "ab12"), b"no head");
    }

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let (a, b) = (token().unwrap(), token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
        assert!(!same(a.as_bytes(), &a.as_bytes()[..31]));
    }
}
