//! The wire between parent and worker: length-prefixed frames of JSON, buffered both ways.
//!
//! A frame is a 4-byte little-endian length, then that many bytes of JSON. A stream that ends
//! between frames is a clean end; one that ends inside a frame, announces an absurd length or
//! carries bytes that are not the expected message is an error, never a panic.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::clock::Stamp;

/// The largest frame either side accepts; a longer announced length means a garbled stream.
pub const MAX_FRAME: usize = 16 * 1024 * 1024;

/// Parent to worker.
#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    /// Run `task` once per item, in order, and answer with one [`Reply::Done`].
    Run {
        chunk: u64,
        task: String,
        items: Vec<Value>,
    },
    /// Finish up and exit with status 0 (a pool's graceful close).
    Exit,
}

/// [`Request::Run`] as the parent sends it: the same bytes on the wire, but borrowing the
/// items, so a chunk is not copied to be sent.
#[derive(Serialize)]
pub enum RequestRef<'a> {
    Run {
        chunk: u64,
        task: &'a str,
        items: &'a [Value],
    },
}

/// Worker to parent.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    /// One value per item of the chunk (`null` where the task failed), and the failures by
    /// position with their panic messages: compact for the common case where nothing failed.
    /// `started` and `finished` are the worker's own clock readings around the chunk's run.
    Done {
        chunk: u64,
        values: Vec<Value>,
        failed: Vec<(usize, String)>,
        started: Stamp,
        finished: Stamp,
    },
}

impl Reply {
    /// Gather per-item outcomes into a reply.
    pub fn done(
        chunk: u64,
        results: Vec<Result<Value, String>>,
        started: Stamp,
        finished: Stamp,
    ) -> Reply {
        let mut failed = Vec::new();
        let values = results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|message| {
                    failed.push((i, message));
                    Value::Null
                })
            })
            .collect();
        Reply::Done {
            chunk,
            values,
            failed,
            started,
            finished,
        }
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

/// Write one frame. The caller flushes (a `BufWriter` turns many small writes into one syscall).
pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&body)
}

/// Read one frame: `Ok(None)` at a clean end of stream, an error for anything else short of a
/// whole, valid message.
pub fn read_frame<T: DeserializeOwned>(r: &mut impl Read) -> Result<Option<T>, FrameError> {
    let mut len = [0u8; 4];
    match read_full(r, &mut len)? {
        0 => return Ok(None),
        4 => {}
        got => return Err(FrameError::Truncated { got, want: 4 }),
    }
    let want = u32::from_le_bytes(len) as usize;
    if want > MAX_FRAME {
        return Err(FrameError::TooLong(want));
    }
    let mut body = vec![0u8; want];
    let got = read_full(r, &mut body)?;
    if got < want {
        return Err(FrameError::Truncated { got, want });
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| FrameError::Garbled(e.to_string()))
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
mod tests {
    use super::*;

    fn frame_bytes(msg: &Request) -> Vec<u8> {
        let mut buf = Vec::new();
        write_frame(&mut buf, msg).unwrap();
        buf
    }

    #[test]
    fn a_borrowed_request_is_the_same_frame() {
        let items = vec![Value::from(1), Value::from(2)];
        let owned = frame_bytes(&Request::Run {
            chunk: 3,
            task: "square".into(),
            items: items.clone(),
        });
        let mut borrowed = Vec::new();
        let run = RequestRef::Run {
            chunk: 3,
            task: "square",
            items: &items,
        };
        write_frame(&mut borrowed, &run).unwrap();
        assert_eq!(owned, borrowed);
    }

    #[test]
    fn round_trip() {
        let msg = Request::Run {
            chunk: 7,
            task: "square".into(),
            items: vec![Value::from(3)],
        };
        let bytes = frame_bytes(&msg);
        let back: Request = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert!(matches!(back, Request::Run { chunk: 7, .. }));
        assert!(read_frame::<Request>(&mut &[][..]).unwrap().is_none());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = frame_bytes(&Request::Exit);
        for cut in 1..bytes.len() {
            let err = read_frame::<Request>(&mut &bytes[..cut]).unwrap_err();
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
        let err = read_frame::<Request>(&mut &junk[..]).unwrap_err();
        assert!(matches!(err, FrameError::Garbled(_)), "{err}");
        let huge = u32::MAX.to_le_bytes();
        let err = read_frame::<Request>(&mut &huge[..]).unwrap_err();
        assert!(matches!(err, FrameError::TooLong(_)), "{err}");
    }
}
