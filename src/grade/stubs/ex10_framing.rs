//! Exercise 10: length-prefixed frames over a pipe.
//!
//! Book: chapter 9, "Talking between processes" (book/src/09-ipc.md).
//!
//! A pipe carries bytes, not messages: one `write` of 10 bytes may arrive as a read of 3 and a
//! read of 7. To send tasks and results through it, each message goes in a *frame*: its length
//! first, as 4 bytes in little-endian order, then that many bytes. procbook's own engine frames
//! its messages this way (src/engine/wire.rs); Python's `multiprocessing.Connection` does too,
//! with the length in big-endian order.
//!
//! Your task:
//!
//! 1. `write_frame` writes `payload` as one frame. A payload over `MAX_FRAME` bytes is refused
//!    with an error of kind `InvalidInput`, writing nothing.
//! 2. `read_frame` reads one frame and returns its bytes. When the input ends cleanly, before a
//!    frame begins, it returns `Ok(None)`. A frame cut short, in its length or in its bytes,
//!    is an error of kind `UnexpectedEof`, not a panic: a worker that died mid-write must not
//!    bring the reader down with it. A length over `MAX_FRAME` is an error of kind
//!    `InvalidData`, returned before reading (or allocating) anything more.
//!
//! The grader talks through a real pipe, and to a `worker frames` process that answers every
//! frame with its bytes reversed.
//!
//! Check your work: `procbook check 10` (or `cargo test -p exercises --test ex10_framing`).
//! Stuck? `procbook hint 10`, and again for the next step.

use std::io::{self, ErrorKind, Read, Write};

/// The largest payload a frame may carry: 1 MiB.
pub const MAX_FRAME: usize = 1 << 20;

/// Writes `payload` as one frame: its length as a little-endian `u32`, then its bytes.
pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    todo!()
}

/// Reads one frame; `Ok(None)` when the input has ended cleanly before it.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    todo!()
}
