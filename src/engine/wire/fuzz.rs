//! The frame decoder under arbitrary input: random bytes, every truncation, length prefixes at
//! and around the limit, mutated frames, and a pipe that hands bytes over in random pieces. The
//! property is always the same: a whole frame decodes, anything else is an error, and nothing
//! panics. Runs inside `cargo test` in a few seconds.

use std::io::{self, Read};

use proptest::prelude::*;

use super::*;

/// Decode every frame in `bytes` as requests (what a worker reads) and, separately, as replies
/// (what the parent reads), until a clean end or the first error.
fn decode_all(
    bytes: &[u8],
    piece: usize,
) -> (Result<usize, FrameError>, Result<usize, FrameError>) {
    // A worker reads into one reused buffer and borrows the request from it.
    let mut body = Vec::new();
    let as_requests = drain(bytes, piece, |r| {
        if !read_frame_into(r, &mut body)? {
            return Ok(false);
        }
        parse::<Request>(&body).map(|_| true)
    });
    let as_replies = drain(bytes, piece, |r| {
        read_frame::<Reply>(r).map(|f| f.is_some())
    });
    (as_requests, as_replies)
}

fn drain(
    bytes: &[u8],
    piece: usize,
    mut next: impl FnMut(&mut Pieces<'_>) -> Result<bool, FrameError>,
) -> Result<usize, FrameError> {
    let mut pipe = Pieces {
        rest: bytes,
        piece,
        interrupt: true,
    };
    let mut frames = 0;
    while next(&mut pipe)? {
        frames += 1;
    }
    Ok(frames)
}

/// A pipe that returns at most `piece` bytes a read, and an `Interrupted` error before each
/// read, as a signal arriving mid-read would.
struct Pieces<'a> {
    rest: &'a [u8],
    piece: usize,
    interrupt: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.piece).min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = (body.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// A valid request frame with `items`.
fn request(chunk: u64, task: &str, items: &[u64]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let run = RequestRef::Run { chunk, task, items };
    encode_frame(&mut bytes, &run).expect("writing to a Vec");
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                                   piece in 1usize..64) {
        let _ = decode_all(&bytes, piece);
    }

    #[test]
    fn a_framed_arbitrary_body_is_a_frame_or_garbled(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for result in [decode_all(&frame(&body), 7).0, decode_all(&frame(&body), 7).1] {
            match result {
                Ok(_) | Err(FrameError::Garbled(_)) => {}
                Err(e) => prop_assert!(false, "a whole frame gave {e}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_cut_of_valid_frames_is_truncated_or_clean(
        items in proptest::collection::vec(any::<u64>(), 0..40),
        task in "[a-z_]{1,12}",
        chunk in any::<u64>(),
        piece in 1usize..16,
    ) {
        let mut stream = request(chunk, &task, &items);
        let one = stream.len();
        stream.extend_from_slice(&request(chunk.wrapping_add(1), &task, &items[..items.len() / 2]));
        for cut in 0..=stream.len() {
            let (requests, _) = decode_all(&stream[..cut], piece);
            match requests {
                Ok(n) => prop_assert!(
                    (cut == 0 && n == 0) || (cut == one && n == 1) || (cut == stream.len() && n == 2),
                    "cut {cut} decoded {n} frames"
                ),
                Err(FrameError::Truncated { got, want }) => prop_assert!(got < want),
                Err(e) => prop_assert!(false, "cut {cut}: {e}"),
            }
        }
    }

    #[test]
    fn mutated_frames_decode_or_fail_cleanly(
        items in proptest::collection::vec(any::<u64>(), 1..20),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = request(1, "square", &items);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = decode_all(&bytes, 5);
    }

    #[test]
    fn length_prefixes_near_the_limit_are_refused_or_truncated(
        offset in -3i64..=3,
        random_len in any::<u32>(),
        tail in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        for len in [MAX_FRAME as i64 + offset, i64::from(u32::MAX) - offset.abs(), i64::from(random_len)] {
            let mut bytes = (len as u32).to_le_bytes().to_vec();
            bytes.extend_from_slice(&tail);
            let announced = len as u32 as usize;
            match decode_all(&bytes, 4096).0 {
                Err(FrameError::TooLong(n)) => prop_assert!(n > MAX_FRAME && n == announced),
                Err(FrameError::Truncated { .. }) => prop_assert!(announced > tail.len()),
                Err(FrameError::Garbled(_)) => prop_assert!(announced <= tail.len()),
                other => prop_assert!(announced <= tail.len(), "{other:?}"),
            }
        }
    }
}
