//! `worker`: the small program your exercises start as a child process.
//!
//! ```text
//! worker exit CODE             exit with status CODE
//! worker abort                 die of SIGABRT, as a crashing program does
//! worker print N               print one line, "PID N": its own PID, then N
//! worker square [--abort-on K] read numbers from stdin, one a line; answer each with its
//!                              square on stdout, one a line; abort on reading K
//! worker frames                read length-prefixed frames from stdin (a 4-byte little-endian
//!                              length, then that many bytes); answer each with a frame
//!                              holding the same bytes reversed
//! ```
//!
//! When it runs under the graders' sandbox, a worker first reports to it (see [`referee`]):
//! it connects to the sandbox's socket, says what it was asked to do, and then says each
//! thing it does. The sandbox believes only processes that really are this program and really
//! are below it, and it notes for itself who started each worker and when each started and
//! ended. That is how the graders see which process did which work; run on its own, a worker
//! just does its job.

use std::io::{self, BufRead, Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

/// The sandbox listens on the abstract socket of this name followed by its own PID.
const REFEREE: &str = "exercises-referee-";
/// How many ancestors a worker looks through for a sandbox.
const ANCESTORS: usize = 16;
/// How long a worker waits for the sandbox to let it start (it may hold it back until its
/// siblings have started too, to see whether they all run at once).
const HELD_AT_MOST: Duration = Duration::from_secs(8);
/// The largest frame `worker frames` accepts, the same limit as exercise 10's `MAX_FRAME`.
const MAX_FRAME: usize = 1 << 20;
const USAGE: &str = "usage: worker exit CODE | abort | print N | square [--abort-on K] | frames";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    referee::hello(&args.join(" "));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["exit", code] => exit_with(code),
        ["abort"] => {
            note("abort");
            std::process::abort()
        }
        ["print", n] => print(n),
        ["square"] => square(None),
        ["square", "--abort-on", k] => match k.parse() {
            Ok(k) => square(Some(k)),
            Err(_) => Err(format!("--abort-on wants a number, not {k:?}")),
        },
        ["frames"] => frames(),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("worker {}: {message}", std::process::id());
            ExitCode::from(2)
        }
    }
}

fn exit_with(code: &str) -> Result<ExitCode, String> {
    let code: u8 = code
        .parse()
        .map_err(|_| format!("exit wants a status from 0 to 255, not {code:?}"))?;
    note(&format!("exit {code}"));
    Ok(ExitCode::from(code))
}

fn print(n: &str) -> Result<ExitCode, String> {
    let n: u64 = n
        .parse()
        .map_err(|_| format!("print wants a number, not {n:?}"))?;
    note(&format!("print {n}"));
    println!("{} {n}", std::process::id());
    Ok(ExitCode::SUCCESS)
}

fn square(abort_on: Option<u64>) -> Result<ExitCode, String> {
    let mut out = io::stdout().lock();
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n: u64 = line
            .parse()
            .map_err(|_| format!("square reads one number a line, not {line:?}"))?;
        if abort_on == Some(n) {
            note(&format!("abort-on {n}"));
            std::process::abort();
        }
        let square = n
            .checked_mul(n)
            .ok_or_else(|| format!("{n} squared does not fit in a u64"))?;
        note(&format!("square {n}"));
        // One line, flushed at once, so a parent reading line by line never waits.
        writeln!(out, "{square}")
            .and_then(|()| out.flush())
            .map_err(|e| format!("writing stdout: {e}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn frames() -> Result<ExitCode, String> {
    let mut input = io::stdin().lock();
    let mut out = io::stdout().lock();
    loop {
        let mut header = [0u8; 4];
        match read_full(&mut input, &mut header)? {
            0 => return Ok(ExitCode::SUCCESS),
            4 => {}
            n => {
                return Err(format!(
                    "truncated frame: {n} of 4 header bytes, then end of input"
                ));
            }
        }
        let len = u32::from_le_bytes(header) as usize;
        if len > MAX_FRAME {
            return Err(format!(
                "frame of {len} bytes is over the {MAX_FRAME}-byte limit"
            ));
        }
        let mut payload = vec![0u8; len];
        let got = read_full(&mut input, &mut payload)?;
        if got < len {
            return Err(format!(
                "truncated frame: {got} of {len} bytes, then end of input"
            ));
        }
        note(&format!("frame {len}"));
        payload.reverse();
        let reply_len = u32::try_from(payload.len()).map_err(|e| e.to_string())?;
        out.write_all(&reply_len.to_le_bytes())
            .and_then(|()| out.write_all(&payload))
            .and_then(|()| out.flush())
            .map_err(|e| format!("writing stdout: {e}"))?;
    }
}

/// Reads until `buf` is full or input ends; returns how many bytes it got.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize, String> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading stdin: {e}")),
        }
    }
    Ok(got)
}

/// Says one act to the sandbox, if there is one.
fn note(what: &str) {
    referee::say(what);
}

/// The worker's side of the sandbox's referee socket.
mod referee {
    use super::*;

    /// The connection to the sandbox, once `hello` has found it.
    static LINE: Mutex<Option<UnixStream>> = Mutex::new(None);

    /// Finds the sandbox among this process's ancestors, says what this worker was asked to
    /// do, and waits until the sandbox lets it go on.
    pub fn hello(args: &str) {
        let Some(mut stream) = find() else { return };
        let _ = stream.set_read_timeout(Some(HELD_AT_MOST));
        if writeln!(stream, "hello {args}").is_err() {
            return;
        }
        let mut ack = [0u8; 1];
        let _ = stream.read(&mut ack);
        *LINE.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream);
    }

    pub fn say(what: &str) {
        let mut line = LINE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(stream) = line.as_mut() {
            // One write per line, so the sandbox never sees half of one.
            let _ = stream.write_all(format!("act {what}\n").as_bytes());
        }
    }

    fn find() -> Option<UnixStream> {
        let mut pid = std::os::unix::process::parent_id();
        for _ in 0..ANCESTORS {
            if pid <= 1 {
                return None;
            }
            let name = format!("{REFEREE}{pid}");
            if let Ok(addr) = SocketAddr::from_abstract_name(name.as_bytes())
                && let Ok(stream) = UnixStream::connect_addr(&addr)
            {
                return Some(stream);
            }
            pid = parent_of(pid)?;
        }
        None
    }

    /// The parent of `pid`, from `/proc/PID/stat` ("PID (COMM) STATE PPID ...").
    fn parent_of(pid: u32) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }
}
