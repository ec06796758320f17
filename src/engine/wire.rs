//! The wire between parent and worker: length-prefixed frames of JSON, buffered both ways.
//!
//! A frame is a 4-byte little-endian length, then that many bytes of JSON. A stream that ends
//! between frames is a clean end; one that ends inside a frame, announces an absurd length or
//! carries bytes that are not the expected message is an error, never a panic.
//!
//! Items cross typed: the parent serializes a chunk's arguments straight into the frame, the
//! worker decodes them straight into the task's argument type, and results come back the same
//! way. Until the types are known (the worker has found the task, the caller takes its
//! results) they stay JSON text ([`RawValue`]), so no item becomes a tree of values on the
//! way. Frames stay text on purpose: [`show`] prints one as it crossed the pipe.

use std::borrow::Cow;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;

use super::clock::Stamp;

/// The largest frame either side accepts; a longer announced length means a garbled stream.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Parent to worker, as the worker reads it: the items stay JSON text until the worker has
/// found the task, and with it the type to decode them into.
#[derive(Debug, Deserialize)]
pub enum Request<'a> {
    /// Run `task` once per item, in order, and answer with one [`Reply::Done`].
    Run {
        chunk: u64,
        #[serde(borrow)]
        task: Cow<'a, str>,
        #[serde(borrow)]
        items: &'a RawValue,
    },
    /// Finish up and exit with status 0 (a pool's graceful close).
    Exit,
}

/// [`Request`] as the parent writes it: the same bytes on the wire, with the items typed and
/// borrowed, so a chunk is serialized straight into its frame.
#[derive(Serialize)]
pub enum RequestRef<'a, A> {
    Run {
        chunk: u64,
        task: &'a str,
        items: &'a [A],
    },
    Exit,
}

/// Worker to parent, as the parent reads it: the values stay JSON text until the caller
/// decodes them into its result type.
#[derive(Debug, Deserialize)]
pub enum Reply {
    /// One value per item of the chunk (`null` where the task failed), and the failures by
    /// position with their messages: compact for the common case where nothing failed.
    /// `started` and `finished` are the worker's own clock readings around the chunk's run.
    Done {
        chunk: u64,
        values: Box<RawValue>,
        failed: Vec<(usize, String)>,
        started: Stamp,
        finished: Stamp,
    },
}

/// Build a [`Reply::Done`] frame in `frame` (emptied first, so one buffer serves every reply):
/// `run` writes the values, a JSON array, straight into the frame and returns the failures.
/// The stamps are taken around `run`.
pub fn write_reply(
    frame: &mut Vec<u8>,
    chunk: u64,
    run: impl FnOnce(&mut Vec<u8>) -> Vec<(usize, String)>,
) -> io::Result<()> {
    frame.clear();
    frame.extend_from_slice(&[0; 4]);
    write!(frame, r#"{{"Done":{{"chunk":{chunk},"values":"#)?;
    let started = Stamp::now();
    let failed = run(frame);
    let finished = Stamp::now();
    frame.extend_from_slice(br#","failed":"#);
    serde_json::to_writer(&mut *frame, &failed).map_err(io::Error::other)?;
    write!(
        frame,
        r#","started":{},"finished":{}}}}}"#,
        started.0, finished.0
    )?;
    seal(frame)
}

/// Serialize `msg` as one whole frame into `frame` (emptied first).
pub fn encode_frame<T: Serialize>(frame: &mut Vec<u8>, msg: &T) -> io::Result<()> {
    frame.clear();
    frame.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *frame, msg).map_err(io::Error::other)?;
    seal(frame)
}

/// Fill in the length prefix of a frame built behind four placeholder bytes.
fn seal(frame: &mut [u8]) -> io::Result<()> {
    let len = u32::try_from(frame.len() - 4).map_err(io::Error::other)?;
    frame[..4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

/// Write one frame. The caller flushes (a `BufWriter` turns many small writes into one syscall).
pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let mut frame = Vec::new();
    encode_frame(&mut frame, msg)?;
    w.write_all(&frame)
}

/// A frame as text, for showing what crosses the pipe: its length, then its JSON.
pub fn show(frame: &[u8]) -> String {
    match frame.split_first_chunk::<4>() {
        Some((len, body)) => format!(
            "[{} bytes] {}",
            u32::from_le_bytes(*len),
            String::from_utf8_lossy(body)
        ),
        None => format!("[incomplete frame: {frame:?}]"),
    }
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    /// The stream ended after `got` of the `want` bytes of a frame.
    Truncated {
        got: usize,
        want: usize,
    },
    /// The length prefix announced more than [`MAX_FRAME`] bytes.
    TooLong(usize),
    /// The bytes were not a valid message.
    Garbled(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "pipe error: {e}"),
            FrameError::Truncated { got, want } => {
                write!(f, "truncated frame: got {got} of {want} bytes")
            }
            FrameError::TooLong(n) => {
                write!(f, "frame length {n} exceeds the {MAX_FRAME}-byte limit")
            }
            FrameError::Garbled(e) => write!(f, "garbled frame: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Read one frame's body into `body` (one buffer serves every frame): `Ok(false)` at a clean
/// end of stream, an error for anything short of a whole frame.
pub fn read_frame_into(r: &mut impl Read, body: &mut Vec<u8>) -> Result<bool, FrameError> {
    let mut len = [0u8; 4];
    match read_full(r, &mut len)? {
        0 => return Ok(false),
        4 => {}
        got => return Err(FrameError::Truncated { got, want: 4 }),
    }
    let want = u32::from_le_bytes(len) as usize;
    if want > MAX_FRAME {
        return Err(FrameError::TooLong(want));
    }
    body.clear();
    body.resize(want, 0);
    let got = read_full(r, body)?;
    if got < want {
        return Err(FrameError::Truncated { got, want });
    }
    Ok(true)
}

/// Decode a frame's body as message `T`, borrowing from it where `T` does.
pub fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, FrameError> {
    serde_json::from_slice(body).map_err(|e| FrameError::Garbled(e.to_string()))
}

/// Read one frame: `Ok(None)` at a clean end of stream, an error for anything else short of a
/// whole, valid message.
pub fn read_frame<T: DeserializeOwned>(r: &mut impl Read) -> Result<Option<T>, FrameError> {
    let mut body = Vec::new();
    if !read_frame_into(r, &mut body)? {
        return Ok(None);
    }
    parse(&body).map(Some)
}

/// Fill `buf` as far as the stream allows; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn run_frame(chunk: u64, task: &str, items: &[u64]) -> Vec<u8> {
        let mut frame = Vec::new();
        let run = RequestRef::Run { chunk, task, items };
        encode_frame(&mut frame, &run).unwrap();
        frame
    }

    /// Read a request the way a worker does: into a buffer, then borrowing from it.
    fn read_request(bytes: &[u8], body: &mut Vec<u8>) -> Option<(u64, String, String)> {
        if !read_frame_into(&mut &bytes[..], body).unwrap() {
            return None;
        }
        match parse::<Request>(body).unwrap() {
            Request::Run { chunk, task, items } => Some((chunk, task.into(), items.get().into())),
            Request::Exit => Some((u64::MAX, "exit".into(), String::new())),
        }
    }

    #[test]
    fn typed_items_cross_as_json_text() {
        let bytes = run_frame(7, "square", &[3, 4]);
        assert_eq!(
            show(&bytes),
            r#"[49 bytes] {"Run":{"chunk":7,"task":"square","items":[3,4]}}"#
        );
        let mut body = Vec::new();
        let (chunk, task, items) = read_request(&bytes, &mut body).unwrap();
        assert_eq!(
            (chunk, task.as_str(), items.as_str()),
            (7, "square", "[3,4]")
        );
        assert!(read_request(&[], &mut body).is_none());
        let mut exit = Vec::new();
        encode_frame(&mut exit, &RequestRef::<()>::Exit).unwrap();
        assert_eq!(show(&exit), r#"[6 bytes] "Exit""#);
        assert_eq!(read_request(&exit, &mut body).unwrap().1, "exit");
    }

    #[test]
    fn a_reply_built_in_place_reads_back() {
        let mut frame = vec![1, 2, 3]; // an earlier reply's bytes: the buffer is reused
        write_reply(&mut frame, 9, |values| {
            values.extend_from_slice(b"[1,null,9]");
            vec![(1, "boom \"quoted\"".into())]
        })
        .unwrap();
        let Some(Reply::Done {
            chunk,
            values,
            failed,
            started,
            finished,
        }) = read_frame::<Reply>(&mut &frame[..]).unwrap()
        else {
            panic!("no reply in {}", show(&frame));
        };
        assert_eq!((chunk, values.get()), (9, "[1,null,9]"));
        assert_eq!(failed, [(1, "boom \"quoted\"".to_string())]);
        assert!(started <= finished && started.0 > 0);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = run_frame(1, "square", &[1, 2, 3]);
        for cut in 1..bytes.len() {
            let err = read_frame_into(&mut &bytes[..cut], &mut Vec::new()).unwrap_err();
            assert!(
                matches!(err, FrameError::Truncated { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn garbage_and_absurd_lengths_are_errors() {
        let mut junk = 5u32.to_le_bytes().to_vec();
        junk.extend_from_slice(b"!!!!!");
        let err = read_frame::<Reply>(&mut &junk[..]).unwrap_err();
        assert!(matches!(err, FrameError::Garbled(_)), "{err}");
        let huge = u32::MAX.to_le_bytes();
        let err = read_frame::<Reply>(&mut &huge[..]).unwrap_err();
        assert!(matches!(err, FrameError::TooLong(_)), "{err}");
    }
}
