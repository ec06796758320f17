//! Ctrl-C, as the engine sees it: the stop flag ends every wait and reaps every worker. In a
//! test binary of its own, because the flag is process-wide.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use procbook::demos::tasks::{BYTE_LEN, SLEEP_MS};
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
    // In the same test, since the flag is process-wide.
    ctrl_c_reaches_a_pool_whose_worker_is_hung_behind_a_full_pipe();
}

/// The dispatcher once blocked writing big arguments to a worker that did not read, and then
/// never looked at the stop flag again.
fn ctrl_c_reaches_a_pool_whose_worker_is_hung_behind_a_full_pipe() {
    let (tx, rx) = mpsc::channel();
    let pool = Pool::builder()
        .workers(1)
        .program(BIN)
        .events(&tx)
        .start()
        .unwrap();
    let hung = pool.apply_async(&SLEEP_MS, 60_000).unwrap();
    let big = "x".repeat(200_000);
    let queued: Vec<_> = (0..10)
        .map(|_| pool.apply_async(&BYTE_LEN, big.clone()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    cancel::request();
    assert_eq!(
        hung.get(Some(Duration::from_secs(30))),
        Err(Error::Interrupted)
    );
    let took = asked.elapsed();
    // Due within one 50 ms look-up; the margin is for a busy machine.
    assert!(took < Duration::from_millis(500), "took {took:?}");
    for job in queued {
        assert_eq!(
            job.get(Some(Duration::from_secs(5))),
            Err(Error::Interrupted)
        );
    }
    cancel::clear();
    drop(pool);
    let pids: Vec<u32> = rx
        .try_iter()
        .filter_map(|e| match e {
            Event::Started { pid, .. } => Some(pid),
            _ => None,
        })
        .collect();
    assert_gone(&pids);
}
