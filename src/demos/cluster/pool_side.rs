//! procbook's side of `demo cluster`: its own Pool, taken one step at a time, each step timed.

use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::ROUNDS;
use crate::demos::tasks::SQUARE;
use crate::engine::{Event, Pool, default_chunksize};

/// What each side measured, in seconds.
#[derive(Default)]
pub(super) struct Timings {
    pub start: Option<f64>,
    pub first: Option<f64>,
    pub rounds: Vec<f64>,
    pub stop: Option<f64>,
}

/// procbook's Pool, taken one step each time the script waits.
pub(super) struct PoolSide {
    pub workers: usize,
    pub items: Vec<u64>,
    events: mpsc::Receiver<Event>,
    tx: mpsc::Sender<Event>,
    pool: Option<Pool>,
    steps: usize,
    pub squares: Vec<u64>,
    /// (worker, pid, items) of each chunk of the first map.
    pub chunks: Vec<(String, u32, std::ops::Range<usize>)>,
    pub times: Timings,
}

impl PoolSide {
    pub fn new(workers: usize) -> Self {
        let (tx, events) = mpsc::channel();
        PoolSide {
            workers,
            items: (1..=9).collect(),
            events,
            tx,
            pool: None,
            steps: 0,
            squares: Vec::new(),
            chunks: Vec::new(),
            times: Timings::default(),
        }
    }

    pub fn chunksize(&self) -> usize {
        default_chunksize(self.items.len(), self.workers)
    }

    /// The next step: start, the first map, ROUNDS more maps, then close and join.
    pub fn step(&mut self) -> Result<()> {
        let started = Instant::now();
        match (self.steps, self.pool.as_ref()) {
            (0, _) => {
                let pool = Pool::builder()
                    .workers(self.workers)
                    .events(&self.tx)
                    .start()
                    .context("starting procbook's Pool")?;
                self.times.start = Some(started.elapsed().as_secs_f64());
                self.pool = Some(pool);
            }
            (1, Some(pool)) => {
                self.squares = pool.map_chunked(&SQUARE, self.items.clone(), self.chunksize())?;
                self.times.first = Some(started.elapsed().as_secs_f64());
                for event in self.events.try_iter() {
                    if let Event::ChunkDone {
                        name, pid, items, ..
                    } = event
                    {
                        self.chunks.push((name, pid, items));
                    }
                }
            }
            (n, Some(pool)) if n <= ROUNDS + 1 => {
                let again: Vec<u64> =
                    pool.map_chunked(&SQUARE, self.items.clone(), self.chunksize())?;
                self.times.rounds.push(started.elapsed().as_secs_f64());
                if again != self.squares {
                    bail!(
                        "procbook's Pool returned {again:?}, then {:?}",
                        self.squares
                    );
                }
            }
            _ => self.stop(),
        }
        self.steps += 1;
        Ok(())
    }

    /// `pool.close(); pool.join()`, timed; nothing if it is already stopped.
    pub fn stop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let started = Instant::now();
            pool.shutdown();
            self.times.stop = Some(started.elapsed().as_secs_f64());
        }
    }
}
