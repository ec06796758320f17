//! When things happen: one monotonic clock that the parent and its workers share.
//!
//! `std::time::Instant` cannot cross a pipe, so stamps are plain nanoseconds of Linux's
//! `CLOCK_MONOTONIC`. That clock is system-wide (it counts from boot, not from process start),
//! so a stamp taken in a worker and one taken in the parent can be compared and subtracted:
//! that is what lets a figure put every worker's chunks on one time line.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A moment, in nanoseconds of `CLOCK_MONOTONIC`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Stamp(pub u64);

impl Stamp {
    /// Now, on the clock every process on this machine shares.
    pub fn now() -> Stamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into the struct we pass. CLOCK_MONOTONIC
        // always exists on Linux, so it cannot fail; if it somehow did, `ts` stays zero.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let nanos = (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64);
        Stamp(nanos)
    }

    /// How long after `earlier` this was; zero if it was not after it.
    pub fn since(self, earlier: Stamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_move_forward_and_subtract_without_underflow() {
        let a = Stamp::now();
        std::thread::sleep(Duration::from_millis(2));
        let b = Stamp::now();
        assert!(b > a);
        assert!(b.since(a) >= Duration::from_millis(2));
        assert_eq!(a.since(b), Duration::ZERO);
    }

    #[test]
    fn a_stamp_is_a_bare_number_in_json() {
        let json = serde_json::to_string(&Stamp(42)).unwrap();
        assert_eq!(json, "42");
        assert_eq!(serde_json::from_str::<Stamp>("42").unwrap(), Stamp(42));
    }
}
