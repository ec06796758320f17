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
//! Every worker notes what it did in the file named by `EXERCISES_WORKER_LOG`, when that is
//! set: one line per act, `PID PARENT-PID WHAT`. That is how the graders see which process
//! did which work; you never need to read it yourself.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;

/// Where the graders ask workers to note what they did.
const LOG_VAR: &str = "EXERCISES_WORKER_LOG";
/// The largest frame `worker frames` accepts, the same limit as exercise 10's `MAX_FRAME`.
const MAX_FRAME: usize = 1 << 20;
const USAGE: &str = "usage: worker exit CODE | abort | print N | square [--abort-on K] | frames";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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

/// Notes one act in the graders' log, as a single append so lines from many workers never mix.
fn note(what: &str) {
    let Some(path) = std::env::var_os(LOG_VAR) else {
        return;
    };
    let line = format!(
        "{} {} {what}\n",
        std::process::id(),
        std::os::unix::process::parent_id()
    );
    if let Ok(mut log) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = log.write_all(line.as_bytes());
    }
}
