//! Grades exercise 7: CPython's default chunksize, checked against a table.

use crate::ex07_chunksize::default_chunksize;
use crate::learner::call;
use crate::message::fill;

const EXERCISE: &str = "ex07_chunksize";
/// `(items, workers, chunksize)`, as CPython's `Pool.map` computes it.
const TABLE: [(usize, usize, usize); 12] = [
    (9, 4, 1), // the source notebooks' pool.map(square, range(1, 10)) on 4 workers
    (16, 4, 1),
    (17, 4, 2),
    (64, 4, 4),
    (100, 4, 7),
    (1000, 8, 32),
    (1024, 8, 32),
    (1025, 8, 33),
    (10, 1, 3),
    (3, 2, 1),
    (1, 4, 1),
    (0, 4, 0),
];

const WRONG: &str = "default_chunksize({}, {}) returned {}, but CPython's is {}: divmod({}, {} * 4) \
is ({}, {}){}.";
const EXTRA: &str = ", and a remainder adds 1";
const NO_EXTRA: &str = ", with nothing left over";
const EMPTY: &str = ", and no items at all means a chunksize of 0";

pub fn check() -> Result<(), String> {
    for (len, workers, want) in TABLE {
        let got = call(EXERCISE, "default_chunksize", || {
            default_chunksize(len, workers)
        })?;
        if got != want {
            let (quotient, remainder) = (len / (workers * 4), len % (workers * 4));
            let why = match (len, remainder) {
                (0, _) => EMPTY,
                (_, 0) => NO_EXTRA,
                _ => EXTRA,
            };
            return Err(fill(
                WRONG,
                &[
                    &len, &workers, &got, &want, &len, &workers, &quotient, &remainder, &why,
                ],
            ));
        }
    }
    Ok(())
}
