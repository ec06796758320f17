//! Exercise 10: length-prefixed frames over a pipe.
//!
//! Book: chapter 9, "Talking between processes" (book/src/09-ipc.md).
//!
//! A reference solution. Reading the header by hand, rather than with `read_exact`, is what
//! tells "the input ended between frames" (fine) from "the input ended inside one" (an error).

use std::io::{self, ErrorKind, Read, Write};

/// The largest payload a frame may carry: 1 MiB.
pub const MAX_FRAME: usize = 1 << 20;

/// Writes `payload` as one frame: its length as a little-endian `u32`, then its bytes.
pub fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    if payload.len() > MAX_FRAME {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!(
                "a frame of {} bytes is over the {MAX_FRAME}-byte limit",
                payload.len()
            ),
        ));
    }
    let len = payload.len() as u32; // at most MAX_FRAME, so it fits
    out.write_all(&len.to_le_bytes())?;
    out.write_all(payload)?;
    out.flush()
}

/// Reads one frame; `Ok(None)` when the input has ended cleanly before it.
pub fn read_frame(input: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match input.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("frame cut short: {got} of 4 length bytes"),
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("a frame of {len} bytes is over the {MAX_FRAME}-byte limit"),
        ));
    }
    let mut payload = vec![0u8; len];
    // read_exact reports a short read as UnexpectedEof, which is what a cut frame is.
    input.read_exact(&mut payload)?;
    Ok(Some(payload))
}
