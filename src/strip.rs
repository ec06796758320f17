//! The live per-core strip: while a demo runs, how busy each core is right now, on stderr.
//! At a terminal it is one line redrawn in place under the demo's output (the demo's own
//! lines go above it: [`Strip::writer`] takes the strip away before each write); piped or
//! under `NO_COLOR` it is a plain line once a second. While the book captures a demo
//! (`PROCBOOK_RECORD` is set) nothing is shown: the samples are recorded instead, for the
//! per-core load figure. Off under `PROCBOOK_STRIP=off`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::demos::kit::Out;

/// Set to `off` to turn the strip off.
pub const ENV: &str = "PROCBOOK_STRIP";
/// How often the strip is redrawn in place (sysinfo needs 200 ms between readings).
const IN_PLACE: Duration = Duration::from_millis(250);
/// How often a plain line is written when piped.
const PLAIN: Duration = Duration::from_secs(1);
/// Erase the line the cursor is on and go to its start.
const ERASE: &str = "\r\x1b[2K";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    InPlace,
    Plain,
    /// Write each sample to the run's recording, show nothing.
    Record,
}

/// What the sampler and the demo's writer share: whether the strip is on screen, and whether
/// the demo's output stopped at the start of a line (the strip waits while it did not).
struct Screen {
    shown: bool,
    line_start: bool,
}

struct Shared {
    mode: Mode,
    screen: Mutex<Screen>,
    stop: AtomicBool,
    wake: Condvar,
}

/// A running strip; dropping it stops the sampler and erases the strip.
pub struct Strip {
    shared: Arc<Shared>,
    sampler: Option<JoinHandle<()>>,
}

impl Strip {
    /// Start the strip, unless it is off (see the module's docs).
    pub fn start() -> Option<Strip> {
        if std::env::var(ENV).is_ok_and(|v| v == "off") {
            return None;
        }
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let mode = if std::env::var_os(crate::figure::record::ENV).is_some() {
            Mode::Record
        } else if colour && std::io::stderr().is_terminal() {
            Mode::InPlace
        } else {
            Mode::Plain
        };
        let shared = Arc::new(Shared {
            mode,
            screen: Mutex::new(Screen {
                shown: false,
                line_start: true,
            }),
            stop: AtomicBool::new(false),
            wake: Condvar::new(),
        });
        let for_sampler = Arc::clone(&shared);
        let sampler = std::thread::Builder::new()
            .name("procbook-strip".into())
            .spawn(move || sample(&for_sampler))
            .ok()?;
        Some(Strip {
            shared,
            sampler: Some(sampler),
        })
    }

    /// `out`, with the strip taken off the screen before each write.
    pub fn writer<'a>(&self, out: Out<'a>) -> StripWriter<'a> {
        StripWriter {
            out,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Strip {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        let mut screen = lock(&self.shared.screen);
        if screen.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{ERASE}");
            let _ = err.flush();
            screen.shown = false;
        }
    }
}

fn lock(screen: &Mutex<Screen>) -> std::sync::MutexGuard<'_, Screen> {
    screen.lock().unwrap_or_else(|e| e.into_inner())
}

/// A demo's output that makes room for the strip.
pub struct StripWriter<'a> {
    out: Out<'a>,
    shared: Arc<Shared>,
}

impl Write for StripWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut screen = lock(&self.shared.screen);
        if screen.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{ERASE}");
            let _ = err.flush();
            screen.shown = false;
        }
        let n = self.out.write(buf)?;
        // Flushed at each line's end, so the strip is drawn after it; not after a piece of a
        // line, which would push it out before the line could be fitted to the terminal
        // (`writeln!` writes a line's text and its newline separately).
        if buf[..n].contains(&b'\n') {
            self.out.flush()?;
        }
        if n > 0 {
            screen.line_start = buf[..n].ends_with(b"\n");
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The sampler: read the cores' load every tick and show it, until told to stop.
fn sample(shared: &Shared) {
    let Ok(mut cores) = crate::cores::Reader::new() else {
        return;
    };
    let tick = match shared.mode {
        Mode::InPlace | Mode::Record => IN_PLACE,
        Mode::Plain => PLAIN,
    };
    loop {
        {
            let screen = lock(&shared.screen);
            let (screen, _) = shared
                .wake
                .wait_timeout_while(screen, tick, |_| !shared.stop.load(Ordering::SeqCst))
                .unwrap_or_else(|e| e.into_inner());
            drop(screen);
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let loads = cores.read();
        if shared.mode == Mode::Record {
            crate::figure::record::load(&loads);
            continue;
        }
        let mut screen = lock(&shared.screen);
        if !screen.line_start {
            continue;
        }
        let mut err = std::io::stderr().lock();
        let wrote = match shared.mode {
            Mode::InPlace => {
                let width = terminal_width().saturating_sub(1);
                write!(err, "{ERASE}{}", line(&loads, width))
            }
            Mode::Plain => writeln!(err, "{}", line(&loads, usize::MAX)),
            Mode::Record => Ok(()),
        };
        let _ = err.flush();
        screen.shown = wrote.is_ok() && shared.mode == Mode::InPlace;
    }
}

fn terminal_width() -> usize {
    crate::term::width()
}

/// One strip: `cores 0 ▕██████▌   ▏ 71%  1 ▕▏ 3%`, or one level character per core when
/// there are too many cores for bars; never wider than `width` columns.
pub fn line(loads: &[f32], width: usize) -> String {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let pct = |l: f32| l.clamp(0.0, 100.0);
    let bars: Vec<String> = loads
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let filled = (pct(l) / 10.0).round() as usize;
            format!(
                "{i} ▕{}{}▏{:>4.0}%",
                "█".repeat(filled),
                " ".repeat(10 - filled),
                pct(l)
            )
        })
        .collect();
    let wide = format!("cores  {}", bars.join("  "));
    let text = if wide.chars().count() <= width {
        wide
    } else {
        let levels: String = loads
            .iter()
            .map(|&l| LEVELS[((pct(l) / 100.0) * 8.0).round() as usize])
            .collect();
        let mean = loads.iter().map(|&l| pct(l)).sum::<f32>() / loads.len().max(1) as f32;
        format!("cores ▕{levels}▏ mean {mean:.0}%")
    };
    text.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strip_has_a_bar_per_core_or_a_level_per_core_when_narrow() {
        assert_eq!(
            line(&[100.0, 0.0], 80),
            "cores  0 ▕██████████▏ 100%  1 ▕          ▏   0%"
        );
        let many = line(&[100.0; 32], 60);
        assert!(many.starts_with("cores ▕████"), "{many}");
        assert!(many.ends_with("mean 100%"), "{many}");
        assert!(line(&[50.0; 500], 40).chars().count() <= 40);
    }
}
