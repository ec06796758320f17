//! The live book, end to end: `procbook book --serve` runs the book's own commands for its
//! pages and streams them back; headless Chromium clicks "Run on my machine" and sees fresh
//! PIDs, and Stop leaves nothing running; forged requests get 403; a thousand idle sockets and
//! three hundred slow clients neither stop a run nor slow a page; a closed tab stops its run;
//! a changed chapter is rebuilt and its pages told to reload; the REPL's `book --serve` stops
//! on Ctrl-C. Figures (times, counts) are printed with `--nocapture`.

#[path = "book/chromium.rs"]
mod chromium;
mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{TAG_ENV, assert_none_left, pids_in, procbook, tag, tagged};

const GRACE: Duration = Duration::from_secs(5);
/// The whole book builds well within this (tests/book.rs holds it to a minute).
const BUILD_LIMIT: Duration = Duration::from_secs(180);

/// A fresh folder for this test under target/tmp.
fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("making a scratch folder");
    dir
}

/// A small book: one chapter with `chapter` as its text, and this repository's theme.
fn fixture_book(name: &str, chapter: &str) -> PathBuf {
    let root = scratch(name);
    std::fs::create_dir_all(root.join("src")).unwrap();
    let theme = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/theme");
    std::fs::create_dir_all(root.join("theme")).unwrap();
    for file in ["procbook.css", "live.css", "live.js"] {
        std::fs::copy(theme.join(file), root.join("theme").join(file)).unwrap();
    }
    std::fs::write(
        root.join("book.toml"),
        "[book]\ntitle = \"live\"\nsrc = \"src\"\n\n[output.html]\n\
         additional-css = [\"theme/procbook.css\", \"theme/live.css\"]\n\
         additional-js = [\"theme/live.js\"]\n",
    )
    .unwrap();
    std::fs::write(root.join("src/SUMMARY.md"), "# Summary\n\n[One](one.md)\n").unwrap();
    std::fs::write(root.join("src/one.md"), chapter).unwrap();
    root
}

/// `procbook book --serve`, running until [`Served::stop`].
struct Served {
    child: Child,
    tag: String,
    port: u16,
    /// What it printed after saying where it serves.
    said: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    /// A failed test still stops the server (Ctrl-C first, so it reaps its runs).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// Build and serve the book in `root` (procbook's own when `None`).
    fn start(name: &str, root: Option<&Path>) -> Served {
        let tag = tag(name);
        let dest = scratch(&format!("{name}-html"));
        let mut cmd = procbook(&tag, &["book", "--serve", "--dest", dest.to_str().unwrap()]);
        if let Some(root) = root {
            cmd.env("PROCBOOK_BOOK", root);
        }
        Served::spawn(cmd, tag, None)
    }

    /// Start `cmd` (with `input` on its stdin) and wait until it says where it serves.
    fn spawn(mut cmd: Command, tag: String, input: Option<&str>) -> Served {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().expect("starting procbook book --serve");
        if let Some(input) = input {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.as_bytes()).unwrap();
            // Kept open: the REPL's script would end at end of input.
            std::mem::forget(stdin);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let said = Arc::new(Mutex::new(Vec::new()));
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let keep = Arc::clone(&said);
        thread::spawn(move || {
            let mut told = false;
            for line in lines.map_while(Result::ok) {
                if !told && let Some(rest) = line.strip_prefix("Serving the book on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                    told = true;
                } else {
                    keep.lock().unwrap().push(line);
                }
            }
        });
        let url = match rx.recv_timeout(BUILD_LIMIT) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("procbook book --serve never said where it serves");
            }
        };
        let port = url
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|_| panic!("not a 127.0.0.1 URL: {url}"));
        Served {
            child,
            tag,
            port,
            said,
        }
    }

    /// Processes of this test other than the server itself.
    fn others(&self) -> Vec<(u32, String)> {
        tagged(&self.tag)
            .into_iter()
            .filter(|(pid, _)| *pid != self.child.id())
            .collect()
    }

    /// Fail unless, within `GRACE`, the server is the only process of this test left.
    fn assert_only_server_left(&self) {
        let deadline = Instant::now() + GRACE;
        loop {
            let left = self.others();
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "processes left running: {left:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C; it must stop within seconds, cleanly, leaving nothing behind.
    fn stop(mut self) -> Vec<String> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let asked = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if asked.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("book --serve ignored Ctrl-C");
            }
            thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status}");
        assert_none_left(&self.tag, GRACE);
        thread::sleep(Duration::from_millis(50));
        self.said.lock().unwrap().clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// One HTTP exchange over a fresh connection: the status code, headers and body.
fn exchange(port: u16, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // A server that refuses a request early (a 1 MB request line) may answer
    // and close before the whole request is written: a broken pipe here is
    // its refusal, and what it said is still read below.
    if let Err(err) = stream.write_all(request.as_bytes()) {
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "writing the request: {err}"
        );
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).to_string();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_string(), body.to_string())
}

fn get(served: &Served, path: &str) -> (u16, String, String) {
    exchange(
        served.port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            served.host()
        ),
    )
}

/// The HTML of the first `event: figure` in a run's event stream (its `data:` lines joined).
fn first_figure(body: &str) -> String {
    body.split("event: figure\n")
        .nth(1)
        .expect("an `event: figure` after the run")
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("data: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The token a served page carries.
fn token(served: &Served) -> String {
    let (code, _, page) = get(served, "/");
    assert_eq!(code, 200, "{page}");
    let meta = "<meta name=\"procbook-token\" content=\"";
    let at = page.find(meta).expect("the served page carries a token");
    let rest = &page[at + meta.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// `POST /api/run` with these extra headers and body.
fn post_run(served: &Served, headers: &str, body: &str) -> (u16, String, String) {
    exchange(
        served.port,
        &format!(
            "POST /api/run HTTP/1.1\r\n{headers}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// The output lines and exit status of a run's event stream (chunked transfer removed).
fn events(body: &str) -> (Vec<String>, Option<String>) {
    let (mut lines, mut done) = (Vec::new(), None);
    let mut event = "message";
    for line in body.lines() {
        if let Some(name) = line.strip_prefix("event: ") {
            event = if name == "done" { "done" } else { "other" };
        } else if let Some(data) = line.strip_prefix("data: ").or(line.strip_prefix("data:")) {
            match event {
                "done" => done = Some(data.to_string()),
                "message" => lines.push(data.to_string()),
                _ => {}
            }
        } else if line.is_empty() {
            event = "message";
        }
    }
    (lines, done)
}

const FIXTURE: &str = "# One\n\n{{#procbook demo four}}\n\n{{#procbook try demo gil}}\n";

/// Issue 13: "where the pictures exist, the live run redraws them": the figure comes after
/// the run's output, drawn from that run (its workers' PIDs, not the captured ones).
#[test]
fn a_live_run_redraws_its_figure_from_its_own_processes() {
    let root = fixture_book("figure", FIXTURE);
    let served = Served::start("figure", Some(&root));
    let token = token(&served);
    let ours = format!("Host: {}\r\nX-Procbook-Token: {token}\r\n", served.host());
    let (code, _, body) = post_run(&served, &ours, r#"{"command": "demo four"}"#);
    assert_eq!(code, 200, "{body}");
    let (lines, done) = events(&body);
    assert_eq!(done.as_deref(), Some("0"), "{body}");
    let printed = pid_set(&lines.join("\n"));
    assert!(printed.len() >= 4, "four processes print: {lines:?}");
    let figure = first_figure(&body);
    assert!(figure.contains("<svg"), "{figure}");
    for pid in &printed {
        assert!(
            figure.contains(&pid.to_string()),
            "the figure names PID {pid} of this run: {figure}"
        );
    }
    served.assert_only_server_left();
    served.stop();
}

/// Chapter 8's Python run gets its process tree drawn again from the live run's own output:
/// every PID the run printed is in the figure, the fork server's among them.
#[test]
fn a_live_python_run_redraws_its_process_tree() {
    let root = fixture_book(
        "python-tree",
        "# Eight\n\n{{#procbook python python/08_start_methods.py}}\n",
    );
    std::fs::create_dir_all(root.join("src/python")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/python/08_start_methods.py"),
        root.join("src/python/08_start_methods.py"),
    )
    .unwrap();
    let served = Served::start("python-tree", Some(&root));
    let token = token(&served);
    let ours = format!("Host: {}\r\nX-Procbook-Token: {token}\r\n", served.host());
    let (code, _, body) = post_run(
        &served,
        &ours,
        r#"{"command": "python3 python/08_start_methods.py"}"#,
    );
    assert_eq!(code, 200, "{body}");
    let (lines, done) = events(&body);
    assert_eq!(done.as_deref(), Some("0"), "{body}");
    let printed: BTreeSet<u32> = lines
        .iter()
        .filter_map(|l| {
            l.split("child pid ")
                .nth(1)
                .or_else(|| l.split("main program: pid ").nth(1))
        })
        .filter_map(|rest| rest.split([':', ';']).next()?.trim().parse().ok())
        .collect();
    assert_eq!(
        printed.len(),
        4,
        "the main program and three children: {lines:?}"
    );
    let figure = first_figure(&body);
    assert!(figure.contains("Who started whom"), "{figure}");
    for pid in &printed {
        assert!(
            figure.contains(&format!("pid {pid}")),
            "the tree has a box for PID {pid} of this run: {figure}"
        );
    }
    served.assert_only_server_left();
    served.stop();
}

#[test]
fn forged_requests_are_refused_and_limits_hold() {
    let root = fixture_book("forged", FIXTURE);
    let served = Served::start("forged", Some(&root));
    let token = token(&served);
    let host = served.host();
    let ours = format!("Host: {host}\r\nX-Procbook-Token: {token}\r\n");
    let four = r#"{"command": "demo four"}"#;

    // The real request runs, to its end.
    let (code, head, body) = post_run(&served, &ours, four);
    assert_eq!(code, 200, "{head}\n{body}");
    assert!(head.contains("text/event-stream"), "{head}");
    let (lines, done) = events(&body);
    assert_eq!(done.as_deref(), Some("0"), "{body}");
    assert_eq!(pid_set(&lines.join("\n")).len(), 4, "{lines:?}");

    let forged: Vec<(&str, String, &str)> = vec![
        ("no token", format!("Host: {host}\r\n"), four),
        (
            "a wrong token",
            format!("Host: {host}\r\nX-Procbook-Token: {}\r\n", "0".repeat(32)),
            four,
        ),
        (
            "a foreign Host",
            format!(
                "Host: evil.example:{}\r\nX-Procbook-Token: {token}\r\n",
                served.port
            ),
            four,
        ),
        (
            "a Host without the port",
            format!("Host: 127.0.0.1\r\nX-Procbook-Token: {token}\r\n"),
            four,
        ),
        ("no Host", format!("X-Procbook-Token: {token}\r\n"), four),
        (
            "a foreign Origin",
            format!("{ours}Origin: http://evil.example\r\n"),
            four,
        ),
        (
            "a file:// page's Origin",
            format!("{ours}Origin: null\r\n"),
            four,
        ),
        (
            "a command not in the book",
            ours.clone(),
            r#"{"command": "demo pool"}"#,
        ),
        (
            "extra arguments",
            ours.clone(),
            r#"{"command": "demo four --workers 2"}"#,
        ),
        (
            "a shell command",
            ours.clone(),
            r#"{"command": "demo four; touch /tmp/procbook-pwned"}"#,
        ),
        (
            "another command of the CLI",
            ours.clone(),
            r#"{"command": "book --serve"}"#,
        ),
    ];
    for (what, headers, body) in &forged {
        let (code, _, said) = post_run(&served, headers, body);
        assert_eq!(code, 403, "{what}: {said}");
        assert!(!said.trim().is_empty(), "{what}: a 403 says why");
    }
    // A page from elsewhere cannot be read either (a DNS name rebound to 127.0.0.1).
    let (code, _, _) = exchange(
        served.port,
        "GET / HTTP/1.1\r\nHost: rebound.example:80\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 403);
    // Same origin is fine, and localhost names it too.
    let (code, _, body) = post_run(
        &served,
        &format!(
            "Host: localhost:{}\r\nOrigin: http://localhost:{}\r\nX-Procbook-Token: {token}\r\n",
            served.port, served.port
        ),
        four,
    );
    assert_eq!(code, 200, "{body}");
    assert!(!Path::new("/tmp/procbook-pwned").exists());

    // Caps: a body past 4 KiB, a malformed body, a request line of 1 MB.
    let big = format!(r#"{{"command": "{}"}}"#, "x".repeat(8 * 1024));
    assert_eq!(post_run(&served, &ours, &big).0, 413);
    assert_eq!(post_run(&served, &ours, "{\"cmd\": 1}").0, 400);
    let started = Instant::now();
    let (code, _, _) = exchange(
        served.port,
        &format!(
            "GET /{} HTTP/1.1\r\nHost: {host}\r\n\r\n",
            "a".repeat(1 << 20)
        ),
    );
    assert!(
        code == 431 || code == 414 || code == 400 || code == 0,
        "a 1 MB request line got {code}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(get(&served, "/one.html").0, 200, "the server goes on");
    assert_eq!(get(&served, "/../book.toml").0, 404);
    served.assert_only_server_left();
    served.stop();
}

/// Raise this test process's open-file limit as the server does, and return it.
fn raise_own_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit only read and write the struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// Has the server closed this connection?
fn closed(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let closed = match stream.read(&mut byte) {
        Ok(0) => true,
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

/// Is this connection still open (nothing to read yet, and not closed)?
fn still_open(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let open = matches!(stream.read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).unwrap();
    open
}

#[test]
fn idle_and_slow_clients_neither_stop_a_run_nor_slow_a_page() {
    const IDLE: usize = 1000;
    const SLOW: usize = 300;
    let limit = raise_own_fd_limit();
    let extra = 64;
    let need = (procbook::book::serve::MAX_CONNECTIONS + extra + 200) as u64;
    let root = fixture_book("load", FIXTURE);
    let served = Served::start("load", Some(&root));
    let token = token(&served);
    let host = served.host();
    let test_started = Instant::now();

    let connect = || TcpStream::connect(("127.0.0.1", served.port)).expect("connecting");
    let idle: Vec<TcpStream> = (0..IDLE).map(|_| connect()).collect();
    // Slow clients: each has sent part of a request line, and sends a byte a second.
    let slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            let mut s = connect();
            s.write_all(b"GET /one.html HTTP/1.1\r\nHo").unwrap();
            s
        })
        .collect();
    let opened = test_started.elapsed();
    let dribbling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let dribbler = {
        let dribbling = Arc::clone(&dribbling);
        let mut slow: Vec<TcpStream> = slow.iter().map(|s| s.try_clone().unwrap()).collect();
        thread::spawn(move || {
            while dribbling.load(std::sync::atomic::Ordering::SeqCst) {
                for s in &mut slow {
                    let _ = s.write_all(b"x");
                }
                thread::sleep(Duration::from_secs(1));
            }
        })
    };

    // A page loads in under a second.
    let mut page_times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (code, _, body) = get(&served, "/one.html");
        page_times.push(started.elapsed());
        assert_eq!(code, 200);
        assert!(body.contains("procbook-output"));
    }
    let slowest_page = page_times.iter().max().unwrap();
    assert!(
        *slowest_page < Duration::from_secs(1),
        "with {IDLE} idle and {SLOW} slow clients a page took {slowest_page:?}"
    );

    // A run streams to its end.
    let started = Instant::now();
    let (code, _, body) = post_run(
        &served,
        &format!("Host: {host}\r\nX-Procbook-Token: {token}\r\n"),
        r#"{"command": "demo four"}"#,
    );
    let run_took = started.elapsed();
    assert_eq!(code, 200, "{body}");
    let (lines, done) = events(&body);
    assert_eq!(done.as_deref(), Some("0"), "{body}");
    assert!(lines.iter().filter(|l| l.contains("Process-")).count() >= 4);

    // Every idle and slow connection is still open: none was dropped to make room.
    let idle_open = idle.iter().filter(|s| still_open(s)).count();
    let slow_open = slow.iter().filter(|s| still_open(s)).count();
    assert_eq!(idle_open, IDLE);
    assert_eq!(slow_open, SLOW);

    // Past the cap on connections, the extra ones are closed at once and the server goes on.
    let mut refused = 0;
    if limit >= need {
        let open_now = IDLE + SLOW;
        let more: Vec<TcpStream> = (0..procbook::book::serve::MAX_CONNECTIONS - open_now + extra)
            .map(|_| connect())
            .collect();
        // The server closes each one it refuses as soon as it has accepted it.
        thread::sleep(Duration::from_millis(500));
        refused = more.iter().filter(|s| closed(s)).count();
        assert!(
            (extra..=extra + 2).contains(&refused),
            "{refused} connections refused past the cap, {extra} expected"
        );
        drop(more);
    } else {
        eprintln!(
            "\n*** SKIPPED the cap on connections: this process may open {limit} files ***\n"
        );
    }
    dribbling.store(false, std::sync::atomic::Ordering::SeqCst);
    let _ = dribbler.join();
    drop(idle);
    drop(slow);
    // The server is still there for the next page.
    let (code, _, _) = get(&served, "/one.html");
    assert_eq!(code, 200);
    eprintln!(
        "live_book load: {IDLE} idle + {SLOW} slow connections opened in {opened:?}; \
         5 page loads, slowest {slowest_page:?}; `demo four` streamed to its end in {run_took:?}; \
         {refused} connections refused past the cap of {}; whole test {:?}",
        procbook::book::serve::MAX_CONNECTIONS,
        test_started.elapsed()
    );
    served.assert_only_server_left();
    let said = served.stop();
    assert!(
        refused == 0
            || said
                .iter()
                .any(|l| l.contains("connections are open; refused")),
        "{said:?}"
    );
}

#[test]
fn a_page_that_goes_away_stops_its_run() {
    let root = fixture_book("gone", FIXTURE);
    let served = Served::start("gone", Some(&root));
    let token = token(&served);
    // Start `demo gil` for a page and read until its first line of output.
    let start_gil = || {
        let body = r#"{"command": "demo gil"}"#;
        let mut stream = TcpStream::connect(("127.0.0.1", served.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "POST /api/run HTTP/1.1\r\nHost: {}\r\nX-Procbook-Token: {token}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            served.host(),
            body.len()
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && !line.starts_with("data: ") {
            line.clear();
        }
        assert!(line.starts_with("data: "), "no output before the end");
        reader
    };
    let first = start_gil();
    assert!(
        !served.others().is_empty(),
        "demo gil should be running now"
    );
    let running = served.others();
    drop(first);
    let gone = Instant::now();
    served.assert_only_server_left();
    eprintln!(
        "live_book gone: {} processes of demo gil stopped and reaped {:?} after the page went away",
        running.len(),
        gone.elapsed()
    );

    // Four runs at once, and a fifth is turned away until one ends.
    let four: Vec<_> = (0..procbook::book::serve::run::MAX_RUNS)
        .map(|_| start_gil())
        .collect();
    let (code, _, said) = post_run(
        &served,
        &format!("Host: {}\r\nX-Procbook-Token: {token}\r\n", served.host()),
        r#"{"command": "demo four"}"#,
    );
    assert_eq!(code, 429, "{said}");
    drop(four);
    served.assert_only_server_left();
    let deadline = Instant::now() + GRACE;
    loop {
        let (code, _, _) = post_run(
            &served,
            &format!("Host: {}\r\nX-Procbook-Token: {token}\r\n", served.host()),
            r#"{"command": "demo four"}"#,
        );
        if code == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "runs stayed busy: {code}");
        thread::sleep(Duration::from_millis(20));
    }
    served.stop();
}

#[test]
fn a_changed_chapter_is_rebuilt_and_pages_reload() {
    let root = fixture_book("reload", FIXTURE);
    let served = Served::start("reload", Some(&root));
    let mut news = TcpStream::connect(("127.0.0.1", served.port)).unwrap();
    news.set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    write!(
        news,
        "GET /api/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        served.host()
    )
    .unwrap();
    let mut news = BufReader::new(news);
    let mut line = String::new();
    news.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // The stream is open once its headers have come.
    while news.read_line(&mut line).unwrap() > 0 && !line.ends_with("\r\n\r\n") {}

    let changed = Instant::now();
    std::fs::write(
        root.join("src/one.md"),
        format!("{FIXTURE}\nA sentence added while the book was served.\n"),
    )
    .unwrap();
    let mut told = false;
    line.clear();
    while news.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains("event: reload") {
            told = true;
            break;
        }
        line.clear();
    }
    assert!(told, "no reload event after a chapter changed");
    let took = changed.elapsed();
    let (_, _, page) = get(&served, "/one.html");
    assert!(
        page.contains("A sentence added"),
        "the page was not rebuilt"
    );
    eprintln!("live_book reload: a changed chapter was rebuilt and announced in {took:?}");

    // A broken chapter keeps the last good build and says why.
    std::fs::write(
        root.join("src/one.md"),
        "# One\n\n{{#procbook demo nosuch}}\n",
    )
    .unwrap();
    let mut failed = false;
    line.clear();
    while news.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains("event: failed") {
            failed = true;
            break;
        }
        line.clear();
    }
    assert!(failed, "no word of the failed rebuild");
    let (code, _, page) = get(&served, "/one.html");
    assert_eq!(code, 200);
    assert!(
        page.contains("A sentence added"),
        "the last good build is gone"
    );
    drop(news);
    let said = served.stop();
    assert!(
        said.iter().any(|l| l.contains("did not rebuild")),
        "{said:?}"
    );
}

#[test]
fn the_repl_serves_the_book_until_ctrl_c() {
    let root = fixture_book("repl", FIXTURE);
    let dest = scratch("repl-html");
    let tag = tag("repl-serve");
    let mut cmd = procbook(&tag, &[]);
    cmd.env("PROCBOOK_BOOK", &root);
    let served = Served::spawn(
        cmd,
        tag,
        Some(&format!("book --serve --dest {}\n", dest.display())),
    );
    let (code, _, page) = get(&served, "/one.html");
    assert_eq!(code, 200);
    assert!(page.contains("procbook-token"));
    let said = served.stop_repl();
    assert!(
        said.iter().any(|l| l.contains("Stopped serving")),
        "{said:?}"
    );
}

impl Served {
    /// Ctrl-C to a REPL that serves: the serving stops, then its input ends and it exits.
    fn stop_repl(mut self) -> Vec<String> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(10) {
            if self
                .said
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains("Stopped serving"))
            {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let said = self.said.lock().unwrap().clone();
        // Its stdin is still open: a script REPL would wait for the next line; end it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert_none_left(&self.tag, GRACE);
        said
    }
}

/// Poll `expression` in the page until it is true, for at most `limit`.
fn wait_for(browser: &mut chromium::Browser, page: &str, expression: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while browser.eval(page, expression) != json!(true) {
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for `{expression}`"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn pid_set(text: &str) -> BTreeSet<u32> {
    pids_in(text).into_iter().collect()
}

#[test]
fn chromium_runs_chapter_7_on_this_machine_and_stops_demo_gil() {
    let Some(exe) = chromium::find() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run the browser test");
        }
        eprintln!("\n\n*** SKIPPED: chromium not installed (apt-get install chromium) ***\n\n");
        return;
    };
    let served = Served::start("chromium", None);
    let profile = scratch("chromium-profile");
    let browser_tag = tag("live-chromium");
    let mut browser = chromium::Browser::launch(&exe, &profile, (TAG_ENV, &browser_tag));
    let page = browser.new_page(1280, 1000);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("book-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    browser.clear_events();
    browser.navigate(&page, &served.url("/07-four-processes.html"));

    let cell = r#"document.querySelector('.procbook-output[data-procbook-run="demo four"]')"#;
    let captured = browser.eval(&page, &format!("{cell}.querySelector('pre').innerText"));
    let captured = pid_set(captured.as_str().unwrap_or(""));
    assert!(captured.len() >= 4, "captured PIDs: {captured:?}");
    let buttons = browser.eval(
        &page,
        "document.querySelectorAll('.procbook-output[data-procbook-run] .procbook-run').length",
    );
    let cells = browser.eval(
        &page,
        "document.querySelectorAll('.procbook-output[data-procbook-run]').length",
    );
    assert_eq!(buttons, cells, "every output has its Run button");

    let mut runs: Vec<BTreeSet<u32>> = Vec::new();
    for round in 1..=2 {
        let started = Instant::now();
        browser.eval(
            &page,
            &format!("{cell}.querySelector('.procbook-run').click()"),
        );
        wait_for(
            &mut browser,
            &page,
            &format!("{cell}.getAttribute('data-procbook-state') === 'done'"),
            Duration::from_secs(60),
        );
        let took = started.elapsed();
        let live = browser.eval(
            &page,
            &format!("{cell}.querySelector('.procbook-live pre').innerText"),
        );
        let live = live.as_str().unwrap_or("").to_string();
        let caption = browser.eval(
            &page,
            &format!("{cell}.querySelector('.procbook-live-caption').innerText"),
        );
        let caption = caption.as_str().unwrap_or("");
        assert!(
            caption.starts_with("Run on this machine at ") && caption.contains(" cores"),
            "{caption}"
        );
        let shown = browser.eval(
            &page,
            &format!("getComputedStyle({cell}.querySelector('pre')).display"),
        );
        assert_eq!(
            shown,
            json!("none"),
            "the captured output gives way to the live one"
        );
        let pids = pid_set(&live);
        assert_eq!(pids.len(), 4, "four processes, four PIDs: {live}");
        assert!(
            pids.is_disjoint(&captured),
            "{pids:?} vs captured {captured:?}"
        );
        for earlier in &runs {
            assert!(
                pids.is_disjoint(earlier),
                "run {round} reused PIDs: {pids:?}"
            );
        }
        eprintln!(
            "live_book chromium: run {round} of demo four showed PIDs {pids:?} in {took:?} (captured {captured:?})"
        );
        runs.push(pids);
        browser.eval(
            &page,
            &format!("{cell}.scrollIntoView(); window.scrollBy(0, -60)"),
        );
        browser.screenshot(&page, &shots.join(format!("live-07-run{round}.png")), false);
    }
    served.assert_only_server_left();

    // Stop `demo gil` midway.
    browser.navigate(&page, &served.url("/03-the-gil.html"));
    let gil = r#"document.querySelector('.procbook-output[data-procbook-run="demo gil"]')"#;
    browser.eval(
        &page,
        &format!("{gil}.querySelector('.procbook-run').click()"),
    );
    // Midway: while its pool's workers run beside it (the main process and two or more).
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let running = served.others();
        if running.len() >= 3 {
            break running;
        }
        assert!(
            Instant::now() < deadline,
            "demo gil never ran its pool: {running:?}"
        );
        thread::sleep(Duration::from_millis(5));
    };
    let before = browser.eval(
        &page,
        &format!("{gil}.querySelector('.procbook-live pre').innerText"),
    );
    browser.eval(
        &page,
        &format!("{gil}.querySelector('.procbook-run').click()"),
    );
    wait_for(
        &mut browser,
        &page,
        &format!("{gil}.getAttribute('data-procbook-state') === 'stopped'"),
        Duration::from_secs(10),
    );
    let stopped = Instant::now();
    served.assert_only_server_left();
    eprintln!(
        "live_book chromium: Stop on demo gil while {} of its processes ran; all gone {:?} \
         later (it had shown {} lines)",
        running.len(),
        stopped.elapsed(),
        before.as_str().unwrap_or("").lines().count()
    );
    let caption = browser.eval(
        &page,
        &format!("{gil}.querySelector('.procbook-live-caption').innerText"),
    );
    assert!(
        caption.as_str().unwrap_or("").contains("stopped after"),
        "{caption}"
    );
    browser.eval(
        &page,
        &format!("{gil}.scrollIntoView(); window.scrollBy(0, -60)"),
    );
    browser.screenshot(&page, &shots.join("live-03-stopped.png"), false);
    let errors = browser.errors(&page);
    assert!(errors.is_empty(), "{errors:?}");
    browser.close();
    assert_none_left(&browser_tag, GRACE);
    served.stop();
}

/// `cmd` with its open-file limit set to `n` (soft and hard, so the server cannot raise it).
fn with_fd_limit(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn with_few_file_descriptors_the_extra_connections_are_refused_and_the_server_goes_on() {
    let root = fixture_book("fds", FIXTURE);
    let dest = scratch("fds-html");
    let tag = tag("fds");
    let mut cmd = procbook(&tag, &["book", "--serve", "--dest", dest.to_str().unwrap()]);
    cmd.env("PROCBOOK_BOOK", &root);
    with_fd_limit(&mut cmd, 64);
    let served = Served::spawn(cmd, tag, None);
    let token = token(&served);
    // 64 files leave room for 16 connections after the server's reserve.
    let held: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(("127.0.0.1", served.port)).expect("connecting"))
        .collect();
    thread::sleep(Duration::from_millis(500));
    let refused = held.iter().filter(|s| closed(s)).count();
    assert_eq!(refused, 24, "40 connections to a server that may hold 16");
    drop(held);
    // Closed connections give their places back; pages and runs go on.
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(&served, "/one.html").0 != 200 {
        assert!(Instant::now() < deadline, "no page after the crowd left");
        thread::sleep(Duration::from_millis(20));
    }
    let (code, _, body) = post_run(
        &served,
        &format!("Host: {}\r\nX-Procbook-Token: {token}\r\n", served.host()),
        r#"{"command": "demo four"}"#,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(events(&body).1.as_deref(), Some("0"), "{body}");
    served.assert_only_server_left();
    let said = served.stop();
    assert!(
        said.iter()
            .any(|l| l.contains("connections are open; refused")),
        "{said:?}"
    );
}

/// Threads and processes of the user `uid`, now.
fn threads_of(uid: u32) -> u64 {
    let mut n = 0;
    for pid in support::all_pids() {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
        };
        if field("Uid:").and_then(|u| u.parse::<u32>().ok()) == Some(uid) {
            n += field("Threads:").and_then(|t| t.parse().ok()).unwrap_or(1);
        }
    }
    n
}

#[test]
fn out_of_threads_a_run_is_refused_with_a_reason_and_nothing_panics() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "\n*** SKIPPED: needs root, to serve as another user under a process limit ***\n"
        );
        return;
    }
    // A user of its own (no other process runs as it), so that counting its threads is exact.
    const USER: u32 = 48_213;
    if !Path::new("/usr/bin/setpriv").exists() && !Path::new("/bin/setpriv").exists() {
        eprintln!("\n*** SKIPPED: no setpriv (util-linux) to lower the server's limit ***\n");
        return;
    }
    let root = fixture_book("nproc", FIXTURE);
    let dest = scratch("nproc-html");
    // A home of its own: `book --dest` refuses to build into the home folder.
    let home = scratch("nproc-home");
    for dir in [&dest, &home, &root, &root.join("src")] {
        std::os::unix::fs::chown(dir, Some(USER), Some(USER)).unwrap();
    }
    let tag = tag("nproc");
    let mut cmd = procbook(&tag, &["book", "--serve", "--dest", dest.to_str().unwrap()]);
    cmd.env("PROCBOOK_BOOK", &root).env("HOME", &home);
    {
        use std::os::unix::process::CommandExt;
        cmd.uid(USER).gid(USER);
    }
    let served = Served::spawn(cmd, tag, None);
    let token = token(&served);
    let run = |served: &Served| {
        post_run(
            served,
            &format!("Host: {}\r\nX-Procbook-Token: {token}\r\n", served.host()),
            r#"{"command": "demo four"}"#,
        )
    };
    // Only the server's own user may lower its limits here (root lacks CAP_SYS_RESOURCE in
    // some containers), so that user runs prlimit(1) on it.
    let pid = served.child.id().to_string();
    let set_limit = |soft: &str| {
        let status = Command::new("setpriv")
            .args([
                "--reuid",
                "48213",
                "--regid",
                "48213",
                "--clear-groups",
                "prlimit",
            ])
            .args(["--pid", &pid, &format!("--nproc={soft}:")])
            .status()
            .expect("running setpriv prlimit");
        assert!(status.success(), "prlimit --nproc={soft}: {status}");
    };
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let before = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max processes"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the server's process limit")
        .to_string();
    // No room for one more thread or process: the run cannot start (fork fails); then room
    // for its process but not its supervisor thread.
    for room in [0, 1] {
        let now = threads_of(USER);
        set_limit(&(now + room).to_string());
        let (code, _, body) = run(&served);
        assert_eq!(code, 503, "room for {room}: {body}");
        assert!(body.contains("could not start"), "{body}");
        eprintln!(
            "live_book nproc: {now} threads of the server's user, room for {room} more: {}",
            body.trim()
        );
        served.assert_only_server_left();
        // Pages need no thread.
        assert_eq!(get(&served, "/one.html").0, 200);
    }
    set_limit(&before);
    let (code, _, body) = run(&served);
    assert_eq!(code, 200, "{body}");
    assert_eq!(events(&body).1.as_deref(), Some("0"), "{body}");
    served.stop();
}
