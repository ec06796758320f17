//! The worker timeline: a lane per process (its name and PID), the process's life as a thin
//! line from start to reaping, a bar per chunk it ran (labelled with its items), a dot per
//! line it printed, and a red cross where a signal killed it. Drawn from a run's records.

use super::INK;
use super::PALETTE;
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, Record};

/// Width of the drawing in SVG units (the page scales it to its column).
const WIDTH: u32 = 480;
/// A line of a lane's label, and the row of its bars, in SVG units.
const LINE: f64 = 20.0;
const ROW: f64 = 30.0;
const TOP: u32 = 8;
const AXIS: u32 = 44;
/// Side margins, in SVG units.
const MARGIN: u32 = 14;
/// A chunk shorter than this many units is drawn this wide, and the figure says so.
const MIN_BAR: f64 = 2.0;
const FONT: (&str, u32) = ("sans-serif", 19);
const LABEL: (&str, u32) = ("sans-serif", 16);
/// The ink: black here, `currentColor` through the book's CSS.
const LIFE: RGBColor = RGBColor(0x88, 0x88, 0x88);
const KILLED: RGBColor = RGBColor(0xD6, 0x27, 0x28);
/// How many chunks a lane's label lists before it says "and N more".
const LISTED: usize = 6;

/// One process's lane.
#[derive(Debug, Default)]
struct Lane {
    name: String,
    pid: u32,
    started: Option<u64>,
    ended: Option<(u64, i32)>,
    chunks: Vec<([usize; 2], u64, u64)>,
    printed: Vec<(u64, String)>,
    replaces: Option<(String, u32)>,
}

/// The lane of `name` and `pid`, added at the end if it is new.
fn lane<'a>(lanes: &'a mut Vec<Lane>, name: &str, pid: u32) -> &'a mut Lane {
    let at = match lanes.iter().position(|l| l.pid == pid && l.name == name) {
        Some(at) => at,
        None => {
            lanes.push(Lane {
                name: name.to_string(),
                pid,
                ..Lane::default()
            });
            lanes.len() - 1
        }
    };
    &mut lanes[at]
}

/// The lanes, in the order their processes first appear.
fn lanes(records: &[Record]) -> Vec<Lane> {
    let mut lanes = Vec::new();
    for record in records {
        match record {
            Record::Started { name, pid, at } => lane(&mut lanes, name, *pid).started = Some(*at),
            Record::Output {
                name,
                pid,
                line,
                at,
            } => lane(&mut lanes, name, *pid)
                .printed
                .push((*at, line.clone())),
            Record::Chunk {
                name,
                pid,
                items,
                started,
                at,
            } => lane(&mut lanes, name, *pid)
                .chunks
                .push((*items, *started, *at)),
            Record::Exited {
                name,
                pid,
                exitcode,
                at,
            } => lane(&mut lanes, name, *pid).ended = Some((*at, *exitcode)),
            Record::Replaced {
                old,
                old_pid,
                name,
                pid,
                ..
            } => lane(&mut lanes, name, *pid).replaces = Some((old.clone(), *old_pid)),
            Record::Result { .. } | Record::Load { .. } => {}
        }
    }
    lanes
}

/// Every stamp a lane holds.
fn stamps(lane: &Lane) -> impl Iterator<Item = u64> + '_ {
    lane.started
        .into_iter()
        .chain(lane.ended.map(|(at, _)| at))
        .chain(lane.chunks.iter().flat_map(|(_, s, e)| [*s, *e]))
        .chain(lane.printed.iter().map(|(at, _)| *at))
}

fn ms(at: u64, t0: u64) -> f64 {
    at.saturating_sub(t0) as f64 / 1e6
}

fn items(range: [usize; 2]) -> String {
    format!("items {}..{}", range[0], range[1])
}

/// How a process ended, when it did not end well.
fn ending(exitcode: i32) -> Option<String> {
    match exitcode {
        0 => None,
        c if c < 0 => Some(match nix::sys::signal::Signal::try_from(-c) {
            Ok(sig) => format!("killed by {sig}"),
            Err(_) => format!("killed by signal {}", -c),
        }),
        c => Some(format!("exit code {c}")),
    }
}

/// The lane's label, a line each: who it is (and how it died), what it replaced, which
/// chunks it ran.
fn label(lane: &Lane) -> Vec<String> {
    let mut first = format!("{} · pid {}", lane.name, lane.pid);
    if let Some(why) = lane.ended.and_then(|(_, code)| ending(code)) {
        first.push_str(&format!(" · {why}"));
    }
    let mut lines = vec![first];
    if let Some((old, old_pid)) = &lane.replaces {
        lines.push(format!("replaces {old} (pid {old_pid})"));
    }
    // What it printed, when that is short enough to read in a label.
    if let [(_, line)] = lane.printed.as_slice() {
        let shown: String = line.chars().take(40).collect();
        lines.push(format!("printed \"{shown}\""));
    }
    if !lane.chunks.is_empty() {
        let listed: Vec<String> = lane
            .chunks
            .iter()
            .take(LISTED)
            .map(|(r, _, _)| format!("{}..{}", r[0], r[1]))
            .collect();
        let mut line = format!("items {}", listed.join(", "));
        if lane.chunks.len() > LISTED {
            line.push_str(&format!(" and {} more", lane.chunks.len() - LISTED));
        }
        lines.push(line);
    }
    lines
}

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the timeline", e)
}

/// The timeline of a run; `None` when no process in it has a stamp.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let lanes = lanes(records);
    let Some(t0) = lanes.iter().flat_map(stamps).min() else {
        return Ok(None);
    };
    let t_end = lanes.iter().flat_map(stamps).max().unwrap_or(t0);
    let span = ms(t_end, t0).max(0.001);
    // Each lane: its label's lines, then the row with its life line and bars; y counts
    // SVG units up from the axis, so a lane's top is `total - offset`.
    let tops: Vec<f64> = lanes
        .iter()
        .scan(0.0, |offset, lane| {
            let top = *offset;
            *offset += label(lane).len() as f64 * LINE + ROW + 6.0;
            Some(top)
        })
        .collect();
    let total: f64 = lanes
        .iter()
        .map(|lane| label(lane).len() as f64 * LINE + ROW + 6.0)
        .sum();
    let height = TOP + total.ceil() as u32 + AXIS;
    let plot_width = f64::from(WIDTH - 2 * MARGIN);
    let min_bar = MIN_BAR * span * 1.04 / plot_width;
    let mut widened = 0;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_top(TOP)
            .x_label_area_size(AXIS)
            .build_cartesian_2d(0f64..span * 1.04, 0f64..total)
            .map_err(drawn)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_y_axis()
            .x_labels(6)
            .x_desc("milliseconds since the first process started")
            .axis_style(INK)
            .label_style(FONT.into_font().color(&INK))
            .axis_desc_style(FONT.into_font().color(&INK))
            .draw()
            .map_err(drawn)?;

        let text = |s: String, x: f64, y: f64, anchor: Pos| {
            Text::new(s, (x, y), FONT.into_font().color(&INK).pos(anchor))
        };
        for (i, lane) in lanes.iter().enumerate() {
            let top = total - tops[i];
            let lines = label(lane);
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(lines.iter().enumerate().map(|(k, line)| {
                    text(
                        line.clone(),
                        0.0,
                        top - k as f64 * LINE,
                        Pos::new(HPos::Left, VPos::Top),
                    )
                }))
                .map_err(drawn)?;
            let life_y = top - lines.len() as f64 * LINE - ROW / 2.0;
            let from = lane.started.map_or(0.0, |at| ms(at, t0));
            let to = lane.ended.map_or(span, |(at, _)| ms(at, t0));
            chart
                .draw_series([PathElement::new(
                    vec![(from, life_y), (to, life_y)],
                    LIFE.stroke_width(2),
                )])
                .map_err(drawn)?;
            if lane.started.is_some() {
                chart
                    .draw_series([PathElement::new(
                        vec![(from, life_y - ROW * 0.35), (from, life_y + ROW * 0.35)],
                        LIFE.stroke_width(2),
                    )])
                    .map_err(drawn)?;
            }
            for (range, started, at) in &lane.chunks {
                let (x0, mut x1) = (ms(*started, t0), ms(*at, t0));
                if x1 - x0 < min_bar {
                    x1 = x0 + min_bar;
                    widened += 1;
                }
                chart
                    .draw_series([Rectangle::new(
                        [(x0, life_y + ROW * 0.35), (x1, life_y - ROW * 0.35)],
                        colour.filled(),
                    )])
                    .map_err(drawn)?;
                // The items inside the bar when they fit (the lane's label lists them all).
                let words = format!("{}..{}", range[0], range[1]);
                let px = (x1 - x0) * plot_width / (span * 1.04);
                if px > words.len() as f64 * f64::from(LABEL.1) * 0.62 + 6.0 {
                    chart
                        .draw_series([Text::new(
                            words,
                            ((x0 + x1) / 2.0, life_y),
                            LABEL
                                .into_font()
                                .color(&WHITE)
                                .pos(Pos::new(HPos::Center, VPos::Center)),
                        )])
                        .map_err(drawn)?;
                }
            }
            for (at, _) in &lane.printed {
                let x = ms(*at, t0);
                chart
                    .draw_series([Circle::new((x, life_y), 4, colour.filled())])
                    .map_err(drawn)?;
            }
            if let Some((at, code)) = lane.ended
                && code != 0
            {
                let style = if code < 0 { KILLED } else { INK };
                chart
                    .draw_series([Cross::new((ms(at, t0), life_y), 6, style.stroke_width(3))])
                    .map_err(drawn)?;
            }
        }
        // A replacement: a dotted line from where the dead worker was reaped to where the
        // new one started.
        for (j, lane) in lanes.iter().enumerate() {
            let Some((old, old_pid)) = &lane.replaces else {
                continue;
            };
            let Some(i) = lanes
                .iter()
                .position(|l| l.pid == *old_pid && &l.name == old)
            else {
                continue;
            };
            let (Some((died, _)), Some(born)) = (lanes[i].ended, lane.started) else {
                continue;
            };
            let y = |k: usize| total - tops[k] - label(&lanes[k]).len() as f64 * LINE - ROW / 2.0;
            let (x0, x1) = (ms(died, t0), ms(born, t0));
            let dots = 12;
            chart
                .draw_series((0..=dots).map(|d| {
                    let f = f64::from(d) / f64::from(dots);
                    Circle::new(
                        (x0 + (x1 - x0) * f, y(i) + (y(j) - y(i)) * f),
                        1,
                        KILLED.filled(),
                    )
                }))
                .map_err(drawn)?;
        }
        root.present().map_err(drawn)?;
    }

    let chunks: usize = lanes.iter().map(|l| l.chunks.len()).sum();
    let printed: usize = lanes.iter().map(|l| l.printed.len()).sum();
    let mut summary = format!(
        "{} processes over {span:.1} ms: each lane is one process, named with its PID; the grey \
         line runs from its start to its reaping",
        lanes.len()
    );
    if chunks > 0 {
        summary.push_str(&format!(
            "; each of the {chunks} bars is a chunk of the work, from the moment the worker \
             began it to the moment it finished, as the worker measured them"
        ));
    }
    if printed > 0 {
        summary.push_str("; each dot is a line the process printed, when the parent read it");
    }
    if lanes.iter().any(|l| l.ended.is_some_and(|(_, c)| c < 0)) {
        summary.push_str("; a red cross marks a process killed by a signal");
    }
    if lanes.iter().any(|l| l.replaces.is_some()) {
        summary.push_str(
            "; red dots lead from a dead worker's reaping to the start of its replacement",
        );
    }
    summary.push('.');
    if widened > 0 {
        summary.push_str(&format!(
            " {} took less than {:.0} µs and {} drawn {MIN_BAR:.0} units wide so that {} show.",
            crate::term::plural(widened, "chunk"),
            min_bar * 1000.0,
            if widened == 1 { "is" } else { "are" },
            if widened == 1 { "it" } else { "they" },
        ));
    }

    let mut table = vec![
        ["process", "pid", "what", "from (ms)", "to (ms)"]
            .map(String::from)
            .to_vec(),
    ];
    let at = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.3}", ms(v, t0)));
    for lane in &lanes {
        let row = |what: String, from: Option<u64>, to: Option<u64>| {
            vec![
                lane.name.clone(),
                lane.pid.to_string(),
                what,
                at(from),
                at(to),
            ]
        };
        let life = match lane.ended.and_then(|(_, c)| ending(c)) {
            Some(why) => format!("alive ({why})"),
            None => "alive".to_string(),
        };
        table.push(row(life, lane.started, lane.ended.map(|(at, _)| at)));
        for (range, started, end) in &lane.chunks {
            table.push(row(items(*range), Some(*started), Some(*end)));
        }
        for (printed_at, line) in &lane.printed {
            table.push(row(format!("printed \"{line}\""), Some(*printed_at), None));
        }
    }
    Ok(Some(Figure {
        title: "Which process ran what, and when".to_string(),
        summary,
        svg,
        table,
    }))
}

/// The timeline in text, for a terminal: a row per process (its name and PID), `─` while
/// it was alive, `█` where it ran a chunk, `•` where it printed, `✕` where a signal killed
/// it; `width` columns for the time axis. Empty when nothing has a stamp.
pub fn text(records: &[Record], width: usize) -> String {
    let lanes = lanes(records);
    let Some(t0) = lanes.iter().flat_map(stamps).min() else {
        return String::new();
    };
    let t_end = lanes.iter().flat_map(stamps).max().unwrap_or(t0);
    let span = ms(t_end, t0).max(0.001);
    let width = width.max(10);
    let col = |at: u64| ((ms(at, t0) / span) * (width - 1) as f64).round() as usize;
    let names: Vec<String> = lanes
        .iter()
        .map(|l| format!("{} pid {}", l.name, l.pid))
        .collect();
    let pad = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    // The legend names only the marks this timeline uses.
    let mut legend = vec!["─ alive"];
    if lanes.iter().any(|l| !l.chunks.is_empty()) {
        legend.push("█ running a chunk");
    }
    if lanes.iter().any(|l| !l.printed.is_empty()) {
        legend.push("• printed");
    }
    if lanes.iter().any(|l| l.ended.is_some_and(|(_, c)| c < 0)) {
        legend.push("✕ killed");
    }
    let mut out = format!("timeline: {}\n", legend.join(", "));
    for (lane, name) in lanes.iter().zip(&names) {
        let mut row = vec![' '; width];
        let from = lane.started.map_or(0, col);
        let to = lane.ended.map_or(width - 1, |(at, _)| col(at));
        for cell in row.iter_mut().take(to + 1).skip(from) {
            *cell = '─';
        }
        for (_, started, at) in &lane.chunks {
            for cell in row.iter_mut().take(col(*at) + 1).skip(col(*started)) {
                *cell = '█';
            }
        }
        for (at, _) in &lane.printed {
            row[col(*at)] = '•';
        }
        if let Some((at, code)) = lane.ended
            && code < 0
        {
            row[col(at)] = '✕';
        }
        let row: String = row.into_iter().collect();
        out.push_str(&format!("{name:<pad$} {}\n", row.trim_end()));
    }
    let end = format!("{span:.1} ms");
    out.push_str(&format!(
        "{:<pad$} 0 ms{end:>w$}\n",
        "",
        w = width.saturating_sub(4).max(end.len() + 1)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(name: &str, pid: u32, items: [usize; 2], started: u64, at: u64) -> Record {
        Record::Chunk {
            name: name.into(),
            pid,
            items,
            started,
            at,
        }
    }

    #[test]
    fn a_lane_per_process_a_bar_per_chunk_and_a_crash_marked() {
        let ms = 1_000_000;
        let records = vec![
            Record::Started {
                name: "W-1".into(),
                pid: 11,
                at: 0,
            },
            Record::Started {
                name: "W-2".into(),
                pid: 12,
                at: ms,
            },
            chunk("W-1", 11, [0, 2], 2 * ms, 3 * ms),
            chunk("W-2", 12, [2, 4], 2 * ms, 4 * ms),
            chunk("W-1", 11, [4, 5], 3 * ms, 5 * ms),
            Record::Exited {
                name: "W-1".into(),
                pid: 11,
                exitcode: -6,
                at: 6 * ms,
            },
            Record::Replaced {
                old: "W-1".into(),
                old_pid: 11,
                name: "W-3".into(),
                pid: 13,
                at: 6 * ms,
            },
            Record::Started {
                name: "W-3".into(),
                pid: 13,
                at: 7 * ms,
            },
            Record::Result {
                demo: "x".into(),
                data: serde_json::json!(1),
            },
        ];
        let figure = draw(&records).unwrap().expect("something to draw");
        assert_eq!(figure.svg.matches("<rect").count(), 3, "{}", figure.svg);
        for label in [
            "W-1 · pid 11 · killed by SIGABRT",
            "items 0..2, 4..5",
            "W-2 · pid 12",
            "replaces W-1 (pid 11)",
        ] {
            assert!(figure.svg.contains(label), "no {label:?} in {}", figure.svg);
        }
        assert!(
            figure.summary.contains("3 processes over 7.0 ms"),
            "{}",
            figure.summary
        );
        // A header, a life row per process, a row per chunk.
        assert_eq!(figure.table.len(), 1 + 3 + 3);
        let html = figure.html("f");
        assert!(
            !html.contains("\n\n"),
            "a blank line would end the HTML block"
        );
        assert!(html.contains("<title id=\"f-title\">"));
    }

    #[test]
    fn the_text_timeline_has_a_row_per_process() {
        let ms = 1_000_000;
        let records = vec![
            Record::Started {
                name: "W-1".into(),
                pid: 11,
                at: 0,
            },
            chunk("W-1", 11, [0, 2], 5 * ms, 6 * ms),
            Record::Exited {
                name: "W-1".into(),
                pid: 11,
                exitcode: 0,
                at: 9 * ms,
            },
            Record::Started {
                name: "W-2".into(),
                pid: 12,
                at: 9 * ms,
            },
        ];
        assert_eq!(
            text(&records, 10),
            "timeline: ─ alive, █ running a chunk\n\
             W-1 pid 11 ─────██───\nW-2 pid 12          ─\n           0 ms 9.0 ms\n"
        );
        assert_eq!(text(&[], 10), "");
    }

    #[test]
    fn nothing_to_draw_is_none() {
        assert!(draw(&[]).unwrap().is_none());
    }
}
