//! A demo's run, written down for the book's figures: when `PROCBOOK_RECORD` names a file,
//! every engine event a demo receives (with its stamps) and every result a demo reports is
//! appended to it as one JSON line. The book's capture sets the variable, runs the demo, and
//! draws the figure from the very run whose text it shows.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::engine::Event;

/// The environment variable that turns recording on: the file to append to.
pub const ENV: &str = "PROCBOOK_RECORD";

/// One line of a recording. Times are nanoseconds of `CLOCK_MONOTONIC`
/// ([`crate::engine::clock::Stamp`]), comparable across every process of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Started {
        name: String,
        pid: u32,
        at: u64,
    },
    Output {
        name: String,
        pid: u32,
        line: String,
        at: u64,
    },
    /// A pool worker ran the items `items[0]..items[1]` from `started` to `at`.
    Chunk {
        name: String,
        pid: u32,
        items: [usize; 2],
        started: u64,
        at: u64,
    },
    /// `exitcode` as Python reports it: the code, or minus the signal.
    Exited {
        name: String,
        pid: u32,
        exitcode: i32,
        at: u64,
    },
    Replaced {
        old: String,
        old_pid: u32,
        name: String,
        pid: u32,
        at: u64,
    },
    /// How busy each core was (percent) over the sample that ended at `at`.
    Load {
        at: u64,
        cores: Vec<f32>,
    },
    /// A demo's own result, in the shape its `--json` prints (e.g. `demo gil --json`).
    Result {
        demo: String,
        data: serde_json::Value,
    },
}

impl From<&Event> for Record {
    fn from(event: &Event) -> Record {
        match event {
            Event::Started { name, pid, at } => Record::Started {
                name: name.clone(),
                pid: *pid,
                at: at.0,
            },
            Event::Output {
                name,
                pid,
                line,
                at,
                ..
            } => Record::Output {
                name: name.clone(),
                pid: *pid,
                line: line.clone(),
                at: at.0,
            },
            Event::ChunkDone {
                name,
                pid,
                items,
                started,
                at,
            } => Record::Chunk {
                name: name.clone(),
                pid: *pid,
                items: [items.start, items.end],
                started: started.0,
                at: at.0,
            },
            Event::Exited {
                name,
                pid,
                exit,
                at,
            } => Record::Exited {
                name: name.clone(),
                pid: *pid,
                exitcode: exit.exitcode(),
                at: at.0,
            },
            Event::Replaced {
                old,
                old_pid,
                name,
                pid,
                at,
            } => Record::Replaced {
                old: old.clone(),
                old_pid: *old_pid,
                name: name.clone(),
                pid: *pid,
                at: at.0,
            },
        }
    }
}

/// The file named by [`ENV`], opened once; `None` when recording is off or it cannot be
/// opened (the book's capture then finds no records and says so).
fn sink() -> Option<&'static Mutex<File>> {
    static SINK: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let path = std::env::var_os(ENV)?;
        File::options()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    })
    .as_ref()
}

fn write(record: &Record) {
    let Some(sink) = sink() else { return };
    let Ok(mut line) = serde_json::to_vec(record) else {
        return;
    };
    line.push(b'\n');
    let mut file = sink.lock().unwrap_or_else(|e| e.into_inner());
    // One write per line, in append mode: lines from one run never interleave. A failed
    // write only costs the figure, which the capture reports as missing.
    let _ = file.write_all(&line);
}

/// Record one engine event (a no-op unless [`ENV`] is set).
pub fn event(event: &Event) {
    if sink().is_some() {
        write(&Record::from(event));
    }
}

/// Record one sample of the per-core load, stamped now (a no-op unless [`ENV`] is set).
pub fn load(cores: &[f32]) {
    if sink().is_some() {
        write(&Record::Load {
            at: crate::engine::clock::Stamp::now().0,
            cores: cores.to_vec(),
        });
    }
}

/// Record a demo's result in its `--json` shape (a no-op unless [`ENV`] is set).
pub fn result(demo: &str, data: &impl Serialize) {
    if sink().is_some()
        && let Ok(data) = serde_json::to_value(data)
    {
        write(&Record::Result {
            demo: demo.to_string(),
            data,
        });
    }
}

/// Read a recording back, one record a line.
pub fn read(path: &Path) -> Result<Vec<Record>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut records = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not a record", path.display(), n + 1))?;
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::clock::Stamp;

    #[test]
    fn a_chunk_event_becomes_a_record_and_round_trips() {
        let event = Event::ChunkDone {
            name: "SpawnPoolWorker-2".into(),
            pid: 4242,
            items: 3..6,
            started: Stamp(10),
            at: Stamp(25),
        };
        let record = Record::from(&event);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"chunk","name":"SpawnPoolWorker-2","pid":4242,"items":[3,6],"started":10,"at":25}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
    }

    #[test]
    fn reading_names_the_bad_line() {
        let path = std::env::temp_dir().join(format!("procbook-record-{}", std::process::id()));
        std::fs::write(
            &path,
            "{\"kind\":\"started\",\"name\":\"P\",\"pid\":1,\"at\":2}\nnope\n",
        )
        .unwrap();
        let err = read(&path).unwrap_err().to_string();
        let _ = std::fs::remove_file(&path);
        assert!(err.contains("line 2"), "{err}");
        assert!(read(Path::new("/nonexistent/procbook")).unwrap().is_empty());
    }
}
