//! Grades exercise 10: frames through memory, through a pipe, to a worker, and cut short.

use crate::WORKER;
use crate::ex10_framing::{MAX_FRAME, read_frame, write_frame};
use crate::learner::{Fault, call};
use crate::message::fill;
use std::io::{self, ErrorKind, Read};
use std::process::{Command, Stdio};
use std::thread;

const EXERCISE: &str = "ex10_framing";
const HELLO: &[u8] = b"hello";
/// Bigger than a pipe's buffer, so the writer must wait for the reader to catch up.
const BIG: usize = 200_000;

const WRITE_ERROR: &str = "write_frame returned an error for {}: {}";
const WRITTEN: &str = "write_frame wrote {} for the payload \"hello\"; a frame is its length as 4 \
little-endian bytes, [5, 0, 0, 0], then the 5 bytes.";
const NOT_REFUSED: &str = "write_frame accepted a payload of {} bytes, over MAX_FRAME ({}); \
refuse it with an error of kind InvalidInput.";
const REFUSED_WRONG: &str = "write_frame refused a payload over MAX_FRAME with an error of kind {}; \
make it InvalidInput.";
const WROTE_ANYWAY: &str = "write_frame refused a payload over MAX_FRAME, but wrote {} bytes \
first; check the length before writing anything.";
const READ_WRONG: &str = "read_frame, {}, returned {}; it should return {}.";
const PANICKED_ON: &str = "read_frame panicked {}: a frame cut short is an error to return (an \
io::Error of kind UnexpectedEof), not a reason to crash the reader. Use ? and \
io::Error::new(kind, message), never unwrap().
{}";
const KEPT_READING: &str = "read_frame, {}, kept reading (it got the grader's error: {}); check the \
length against MAX_FRAME first, and return an error of kind InvalidData without reading on.";
const WORKER_FAILED: &str = "the worker could not read the frames you wrote ({}): {}";
const WORKER_REPLY: &str =
    "the worker answered frame {} with {} bytes, but read_frame returned {}.";

pub fn check() -> Result<(), String> {
    writing()?;
    reading_cut_frames()?;
    through_a_pipe()?;
    to_a_worker()
}

fn writing() -> Result<(), String> {
    let mut out = Vec::new();
    call(EXERCISE, "write_frame", || write_frame(&mut out, HELLO))?
        .map_err(|e| fill(WRITE_ERROR, &[&"\"hello\"", &e]))?;
    let want: Vec<u8> = [&[5, 0, 0, 0], HELLO].concat();
    if out != want {
        return Err(fill(WRITTEN, &[&format!("{out:?}")]));
    }
    let too_big = vec![0u8; MAX_FRAME + 1];
    let mut out = Vec::new();
    match call(EXERCISE, "write_frame", || write_frame(&mut out, &too_big))? {
        Ok(()) => Err(fill(NOT_REFUSED, &[&too_big.len(), &MAX_FRAME])),
        Err(e) if e.kind() != ErrorKind::InvalidInput => Err(fill(REFUSED_WRONG, &[&e.kind()])),
        Err(_) if !out.is_empty() => Err(fill(WROTE_ANYWAY, &[&out.len()])),
        Err(_) => Ok(()),
    }
}

fn reading_cut_frames() -> Result<(), String> {
    let too_long = (MAX_FRAME as u32 + 1).to_le_bytes();
    // (what the input is, its bytes, what read_frame should return)
    let cases: [(&str, Vec<u8>, Expect); 5] = [
        ("on empty input", vec![], Expect::End),
        (
            "on one whole frame, arriving a byte at a time",
            [&[3, 0, 0, 0][..], b"abc"].concat(),
            Expect::Frame(b"abc"),
        ),
        (
            "on a frame cut after 2 of its 4 length bytes",
            vec![0, 0],
            Expect::Error(ErrorKind::UnexpectedEof),
        ),
        (
            "on a frame of 10 bytes cut after 3",
            vec![10, 0, 0, 0, 1, 2, 3],
            Expect::Error(ErrorKind::UnexpectedEof),
        ),
        (
            "on a length over MAX_FRAME",
            too_long.to_vec(),
            Expect::Error(ErrorKind::InvalidData),
        ),
    ];
    for (situation, bytes, expect) in cases {
        // Too long a length: any further read fails, so reading on shows.
        let after_end = matches!(expect, Expect::Error(ErrorKind::InvalidData));
        let mut input = Trickle {
            bytes: &bytes,
            at: 0,
            after_end,
        };
        let got = call(EXERCISE, "read_frame", || read_frame(&mut input))
            .map_err(|f| panicked(situation, f))?;
        match (&got, &expect) {
            (Err(e), Expect::Error(ErrorKind::InvalidData)) if e.kind() == ErrorKind::Other => {
                return Err(fill(KEPT_READING, &[&situation, &e]));
            }
            _ if !expect.matches(&got) => {
                return Err(fill(READ_WRONG, &[&situation, &describe(&got), &expect]));
            }
            _ => {}
        }
    }
    Ok(())
}

fn through_a_pipe() -> Result<(), String> {
    let frames = payloads();
    let (mut reader, mut writer) = io::pipe().map_err(|e| e.to_string())?;
    let sent = frames.clone();
    let sending = thread::spawn(move || -> Result<(), String> {
        for frame in &sent {
            call(EXERCISE, "write_frame", || write_frame(&mut writer, frame))?.map_err(|e| {
                fill(
                    WRITE_ERROR,
                    &[&format!("a frame of {} bytes", frame.len()), &e],
                )
            })?;
        }
        Ok(())
        // `writer` is dropped here: the reader sees the end of the pipe.
    });
    let mut received = Vec::new();
    let situation = "reading frames from a pipe";
    let read = loop {
        match call(EXERCISE, "read_frame", || read_frame(&mut reader)) {
            Ok(Ok(Some(frame))) => received.push(frame),
            Ok(Ok(None)) => break Ok(()),
            Ok(Err(e)) => {
                break Err(fill(
                    READ_WRONG,
                    &[&situation, &describe(&Err(e)), &"the frames sent"],
                ));
            }
            Err(fault) => break Err(panicked(situation, fault)),
        }
    };
    drop(reader);
    sending
        .join()
        .map_err(|_| "the grader's writer thread panicked".to_string())??;
    read?;
    expect_frames(&frames, &received, |frame| frame.clone())
}

fn to_a_worker() -> Result<(), String> {
    let frames = payloads();
    let mut worker = Command::new(WORKER)
        .arg("frames")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the worker: {e}"))?;
    let mut stdin = worker.stdin.take().expect("piped");
    let mut stdout = worker.stdout.take().expect("piped");
    let mut stderr = worker.stderr.take().expect("piped");
    let sent = frames.clone();
    let sending = thread::spawn(move || -> Result<(), String> {
        for frame in &sent {
            call(EXERCISE, "write_frame", || write_frame(&mut stdin, frame))?.map_err(|e| {
                fill(
                    WRITE_ERROR,
                    &[&format!("a frame of {} bytes", frame.len()), &e],
                )
            })?;
        }
        Ok(())
    });
    let complaint = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let situation = "reading the worker's answers";
    let mut received = Vec::new();
    let read = loop {
        match call(EXERCISE, "read_frame", || read_frame(&mut stdout)) {
            Ok(Ok(Some(frame))) => received.push(frame),
            Ok(Ok(None)) => break Ok(()),
            Ok(Err(e)) => {
                break Err(fill(
                    READ_WRONG,
                    &[&situation, &describe(&Err(e)), &"the answers"],
                ));
            }
            Err(fault) => break Err(panicked(situation, fault)),
        }
    };
    drop(stdout);
    let sent = sending
        .join()
        .map_err(|_| "the grader's writer thread panicked".to_string());
    let status = worker
        .wait()
        .map_err(|e| format!("joining the worker: {e}"))?;
    let complaint = complaint.join().unwrap_or_default();
    // The worker complaining about what it read is the first thing to fix; its failing to
    // write only echoes the reader stopping early.
    if !status.success() && !complaint.contains("writing stdout") {
        return Err(fill(WORKER_FAILED, &[&status, &complaint.trim()]));
    }
    read?;
    sent??;
    if !status.success() {
        return Err(fill(WORKER_FAILED, &[&status, &complaint.trim()]));
    }
    expect_frames(&frames, &received, |frame| {
        frame.iter().rev().copied().collect()
    })
}

/// The frames sent in the pipe and worker tests: an empty one, a small one, a big one.
fn payloads() -> Vec<Vec<u8>> {
    let big: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    vec![Vec::new(), b"task 1: square 12".to_vec(), big]
}

fn expect_frames(
    sent: &[Vec<u8>],
    received: &[Vec<u8>],
    answer: impl Fn(&Vec<u8>) -> Vec<u8>,
) -> Result<(), String> {
    for (i, frame) in sent.iter().enumerate() {
        let want = answer(frame);
        match received.get(i) {
            Some(got) if *got == want => {}
            got => {
                let got = got.map_or("nothing".to_string(), |g| format!("{} bytes", g.len()));
                return Err(fill(WORKER_REPLY, &[&i, &want.len(), &got]));
            }
        }
    }
    if received.len() > sent.len() {
        return Err(fill(
            READ_WRONG,
            &[&"after the last frame", &"more frames", &"Ok(None)"],
        ));
    }
    Ok(())
}

fn panicked(situation: &str, fault: Fault) -> String {
    if fault.is_todo() {
        fault.into()
    } else {
        fill(PANICKED_ON, &[&situation, &fault])
    }
}

fn describe(got: &io::Result<Option<Vec<u8>>>) -> String {
    match got {
        Ok(None) => "Ok(None)".to_string(),
        Ok(Some(frame)) => format!("Ok(Some({}))", String::from_utf8_lossy(frame)),
        Err(e) => format!("an error of kind {} ({e})", e.kind()),
    }
}

/// What `read_frame` should return for one case.
enum Expect {
    End,
    Frame(&'static [u8]),
    Error(ErrorKind),
}

impl Expect {
    fn matches(&self, got: &io::Result<Option<Vec<u8>>>) -> bool {
        match (self, got) {
            (Expect::End, Ok(None)) => true,
            (Expect::Frame(want), Ok(Some(frame))) => frame == want,
            (Expect::Error(kind), Err(e)) => e.kind() == *kind,
            _ => false,
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::End => f.write_str("Ok(None)"),
            Expect::Frame(frame) => write!(f, "Ok(Some({}))", String::from_utf8_lossy(frame)),
            Expect::Error(kind) => write!(f, "an error of kind {kind:?}"),
        }
    }
}

/// Input that arrives one byte per read, as a pipe may deliver it; after its bytes it
/// either ends or, when `after_end`, fails any further read.
struct Trickle<'a> {
    bytes: &'a [u8],
    at: usize,
    after_end: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.bytes.len() {
            if self.after_end {
                return Err(io::Error::other(
                    "there is nothing more to read after this length",
                ));
            }
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.bytes[self.at];
        self.at += 1;
        Ok(1)
    }
}
