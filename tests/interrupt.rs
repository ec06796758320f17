//! Ctrl-C, as the engine sees it: the stop flag ends every wait and reaps every worker. In a
//! test binary of its own, because the flag is process-wide.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use procbook::demos::tasks::SLEEP_MS;
use procbook::engine::{Error, Event, Pool, Process, cancel};
use support::{BIN, assert_gone};

#[test]
fn the_stop_flag_interrupts_a_map_and_a_join_and_reaps_everything() {
    let (tx, rx) = mpsc::channel();
    let pool = Pool::builder()
        .workers(2)
        .program(BIN)
        .events(&tx)
        .start()
        .unwrap();
    let mut lone = Process::new(&SLEEP_MS, 30_000)
        .program(BIN)
        .start()
        .unwrap();
    let raiser = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(200));
        cancel::request();
    });
    let started = Instant::now();
    let result = pool.map_chunked(&SLEEP_MS, vec![30_000; 4], 1);
    assert_eq!(result, Err(Error::Interrupted));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(lone.join(), Err(Error::Interrupted));
    raiser.join().unwrap();
    drop(pool);
    cancel::clear();
    let pids: Vec<u32> = rx
        .try_iter()
        .filter_map(|e| match e {
            Event::Started { pid, .. } => Some(pid),
            _ => None,
        })
        .collect();
    assert_eq!(pids.len(), 2);
    assert_gone(&pids);
    assert_gone(&[lone.pid()]);
}
