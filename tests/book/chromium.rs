//! Headless Chromium, driven over the DevTools protocol on `--remote-debugging-pipe`: JSON
//! messages ended by a NUL byte, commands on the browser's fd 3, replies and events on its
//! fd 4. No WebSocket, no driver binary, no npm: a pipe and serde_json.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one protocol call may take.
const CALL_LIMIT: Duration = Duration::from_secs(30);

/// Chromium's binary, if this machine has one.
pub fn find() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|p| p.is_file())
}

/// A running headless browser.
pub struct Browser {
    child: Child,
    commands: std::io::PipeWriter,
    replies: Receiver<Value>,
    next_id: u64,
    /// Events not yet looked at, oldest first.
    pub events: Vec<Value>,
}

impl Browser {
    /// Start `exe` headless with a fresh profile in `profile`, `tag` in its environment.
    pub fn launch(exe: &Path, profile: &Path, tag: (&str, &str)) -> Browser {
        let (browser_reads, to_browser) = std::io::pipe().expect("pipe");
        let (from_browser, browser_writes) = std::io::pipe().expect("pipe");
        let (read_fd, write_fd) = (browser_reads.as_raw_fd(), browser_writes.as_raw_fd());
        let mut cmd = Command::new(exe);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .env(tag.0, tag.1)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec. The pipe ends are first
        // copied above fd 10 so that moving them to 3 and 4 cannot overwrite one another
        // (dup2 also clears close-on-exec on the copies, which the browser needs).
        unsafe {
            cmd.pre_exec(move || {
                let r = libc::fcntl(read_fd, libc::F_DUPFD, 10);
                let w = libc::fcntl(write_fd, libc::F_DUPFD, 10);
                if r < 0 || w < 0 || libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("starting chromium");
        drop(cmd);
        drop((browser_reads, browser_writes));
        let (tx, replies) = channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(from_browser);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).unwrap_or(0) > 0 {
                if message.last() == Some(&0) {
                    message.pop();
                }
                if let Ok(value) = serde_json::from_slice::<Value>(&message)
                    && tx.send(value).is_err()
                {
                    return;
                }
                message.clear();
            }
        });
        Browser {
            child,
            commands: to_browser,
            replies,
            next_id: 0,
            events: Vec::new(),
        }
    }

    /// Send one command (to a page's `session`, or to the browser) and wait for its result.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).expect("json");
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("sending {method} to chromium: {e}"));
        let deadline = Instant::now() + CALL_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(reply) if reply["id"] == json!(id) => {
                    if let Some(error) = reply.get("error") {
                        panic!("chromium refused {method}: {error}");
                    }
                    return reply["result"].clone();
                }
                Ok(event) => self.events.push(event),
                Err(RecvTimeoutError::Timeout) => panic!("chromium did not answer {method}"),
                Err(RecvTimeoutError::Disconnected) => panic!("chromium went away during {method}"),
            }
        }
    }

    /// Wait for the event `method` on `session`; earlier events stay in [`Browser::events`].
    pub fn wait_event(&mut self, session: &str, method: &str, limit: Duration) -> Option<Value> {
        let matches = |e: &Value| e["method"] == json!(method) && e["sessionId"] == json!(session);
        if let Some(at) = self.events.iter().position(matches) {
            return Some(self.events.remove(at));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.replies.recv_timeout(left) {
                Ok(event) if matches(&event) => return Some(event),
                Ok(event) => self.events.push(event),
                Err(_) => return None,
            }
        }
    }

    /// Take in every event that has arrived, without waiting.
    pub fn drain(&mut self) {
        while let Ok(event) = self.replies.try_recv() {
            self.events.push(event);
        }
    }

    /// Open a new tab and return its session.
    pub fn new_page(&mut self, width: u32, height: u32) -> String {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            self.call(Some(&session), domain, json!({}));
        }
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
        session
    }

    /// Load `url` in the page and wait for its load event.
    pub fn navigate(&mut self, session: &str, url: &str) {
        self.call(Some(session), "Page.navigate", json!({ "url": url }));
        self.wait_event(session, "Page.loadEventFired", Duration::from_secs(30))
            .unwrap_or_else(|| panic!("{url} did not finish loading"));
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, session: &str, expression: &str) -> Value {
        let result = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("`{expression}` threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Save a PNG of the page: all of it when `full`, else what the viewport shows.
    pub fn screenshot(&mut self, session: &str, file: &Path, full: bool) {
        let mut params = json!({ "format": "png" });
        if full {
            let size = self.eval(
                session,
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]",
            );
            params["captureBeyondViewport"] = json!(true);
            params["clip"] = json!({
                "x": 0, "y": 0, "scale": 1,
                "width": size[0].as_f64().unwrap_or(1280.0),
                "height": size[1].as_f64().unwrap_or(900.0).min(16_000.0),
            });
        }
        let shot = self.call(Some(session), "Page.captureScreenshot", params);
        let png = base64(shot["data"].as_str().expect("screenshot data"));
        std::fs::write(file, png).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    }

    /// The errors the page reported since events were last cleared: uncaught exceptions,
    /// `console.error`, and the browser's own error log (a file that failed to load).
    pub fn errors(&mut self, session: &str) -> Vec<String> {
        self.drain();
        let mut found = Vec::new();
        for e in self
            .events
            .iter()
            .filter(|e| e["sessionId"] == json!(session))
        {
            let p = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.exceptionThrown" => found.push(format!(
                    "exception: {}",
                    p["exceptionDetails"]["exception"]["description"]
                        .as_str()
                        .unwrap_or_else(|| p["exceptionDetails"]["text"].as_str().unwrap_or("?"))
                )),
                "Runtime.consoleAPICalled" if p["type"] == json!("error") => {
                    found.push(format!("console.error: {}", p["args"]))
                }
                "Log.entryAdded" if p["entry"]["level"] == json!("error") => found.push(format!(
                    "{}: {} {}",
                    p["entry"]["source"].as_str().unwrap_or("log"),
                    p["entry"]["text"].as_str().unwrap_or(""),
                    p["entry"]["url"].as_str().unwrap_or("")
                )),
                _ => {}
            }
        }
        found
    }

    /// Forget every event seen so far.
    pub fn clear_events(&mut self) {
        self.drain();
        self.events.clear();
    }

    /// Close the browser and wait for it to exit (killing it if it will not).
    pub fn close(mut self) {
        self.next_id += 1;
        let message = json!({ "id": self.next_id, "method": "Browser.close", "params": {} });
        let mut bytes = serde_json::to_vec(&message).expect("json");
        bytes.push(0);
        let _ = self.commands.write_all(&bytes);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64, as Chromium sends screenshots.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(base64("aGVsbG8="), b"hello");
    assert_eq!(base64("UE5H"), b"PNG");
}
