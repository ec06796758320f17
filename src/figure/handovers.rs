//! The simulated GIL changing hands (chapter 3): a lane per thread of `demo gil`'s "threads +
//! GIL" run, a bar for each turn a thread held the lock, over the first few switch intervals
//! of the last round. Drawn from the turns the demo's `Gil` logged and records with
//! `record::result("gil-handovers", &handovers)`.

use super::INK;
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use super::{Figure, Record};

/// The name the turns are recorded under.
pub const DEMO: &str = "gil-handovers";

/// How much of the run is drawn, from its first turn: a few switch intervals, so each turn is
/// wide enough to see.
pub const WINDOW_MS: f64 = 40.0;

/// One turn: the thread `tid` held the lock from `from` to `to` (nanoseconds of
/// `CLOCK_MONOTONIC`, as every record's stamps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub tid: u32,
    pub from: u64,
    pub to: u64,
}

/// The turns of one round of the threads + GIL run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Handovers {
    /// The switch interval, in milliseconds.
    pub interval_ms: f64,
    /// How long the round took, in seconds.
    pub seconds: f64,
    /// How many times a holder let go for a waiting thread in the round.
    pub handovers: u64,
    /// The turns, in the order they ended (the log keeps the first few thousand).
    pub turns: Vec<Turn>,
}

const WIDTH: u32 = 480;
const LANE: u32 = 40;
const TOP: u32 = 8;
const AXIS: u32 = 44;
const MARGIN: u32 = 14;
const FONT: (&str, u32) = ("sans-serif", 17);
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xB0, 0x7A, 0xA1),
];

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the GIL's hand-overs", e)
}

/// The threads, in the order they first held the lock.
fn threads(turns: &[Turn]) -> Vec<u32> {
    let mut by_start = turns.to_vec();
    by_start.sort_by_key(|t| t.from);
    let mut tids = Vec::new();
    for turn in by_start {
        if !tids.contains(&turn.tid) {
            tids.push(turn.tid);
        }
    }
    tids
}

/// How many turns began before the previous one (by start) ended: none, for a working lock.
fn overlaps(turns: &[Turn]) -> usize {
    let mut by_start = turns.to_vec();
    by_start.sort_by_key(|t| t.from);
    by_start.windows(2).filter(|p| p[1].from < p[0].to).count()
}

/// The turns that overlap the window, in milliseconds from the first turn, clipped to it.
fn in_window(turns: &[Turn]) -> Vec<(u32, f64, f64)> {
    let Some(t0) = turns.iter().map(|t| t.from).min() else {
        return Vec::new();
    };
    let ms = |at: u64| at.saturating_sub(t0) as f64 / 1e6;
    let mut shown: Vec<(u32, f64, f64)> = (turns.iter())
        .map(|t| (t.tid, ms(t.from), ms(t.to)))
        .filter(|(_, from, _)| *from < WINDOW_MS)
        .map(|(tid, from, to)| (tid, from, to.min(WINDOW_MS)))
        .collect();
    shown.sort_by(|a, b| a.1.total_cmp(&b.1));
    shown
}

/// The figure from the last `gil-handovers` result among `records`; `None` when there is none
/// or it holds no turn.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let Some(data) = records.iter().rev().find_map(|r| match r {
        Record::Result { demo, data } if demo == DEMO => Some(data),
        _ => None,
    }) else {
        return Ok(None);
    };
    let h: Handovers = serde_json::from_value(data.clone()).context("reading the GIL's turns")?;
    let tids = threads(&h.turns);
    let shown = in_window(&h.turns);
    if shown.is_empty() {
        return Ok(None);
    }
    let lanes = tids.len() as u32;
    let height = TOP + lanes * LANE + AXIS;
    let lane_of = |tid: u32| tids.iter().position(|t| *t == tid).unwrap_or(0);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_top(TOP)
            .x_label_area_size(AXIS)
            .build_cartesian_2d(0f64..WINDOW_MS, 0f64..f64::from(lanes))
            .map_err(drawn)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_labels(9)
            .max_light_lines(0)
            .bold_line_style(RGBColor(0x99, 0x99, 0x99).mix(0.3))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("milliseconds from the first turn")
            .axis_style(INK)
            .label_style(FONT.into_font().color(&INK))
            .axis_desc_style(FONT.into_font().color(&INK))
            .draw()
            .map_err(drawn)?;
        for (lane, tid) in tids.iter().enumerate() {
            let top = f64::from(lanes) - lane as f64;
            chart
                .draw_series([Text::new(
                    format!("thread {} · tid {tid}", lane + 1),
                    (0.0, top - 0.02),
                    FONT.into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                )])
                .map_err(drawn)?;
        }
        for (tid, from, to) in &shown {
            let lane = lane_of(*tid);
            let top = f64::from(lanes) - lane as f64;
            chart
                .draw_series([Rectangle::new(
                    [(*from, top - 0.5), (to.max(*from + 0.05), top - 0.92)],
                    COLOURS[lane % COLOURS.len()].filled(),
                )])
                .map_err(drawn)?;
        }
        root.present().map_err(drawn)?;
    }

    let every = if h.handovers > 0 {
        format!(
            ", one every {:.1} ms",
            h.seconds * 1000.0 / h.handovers as f64
        )
    } else {
        String::new()
    };
    let overlaps = overlaps(&h.turns);
    let alone = match overlaps {
        0 => "At no moment did two threads hold it".to_string(),
        n => format!("{n} turns began before the one before them ended: the lock failed"),
    };
    let summary = format!(
        "{} threads took turns holding the simulated GIL, switch interval {} ms: a bar is one \
         turn, the first {WINDOW_MS:.0} ms of the last round drawn ({} turns). {alone}. In \
         that round of {:.2} s the lock changed hands {} times{every}.",
        tids.len(),
        h.interval_ms,
        shown.len(),
        h.seconds,
        h.handovers,
    );
    let mut table = vec![
        ["thread", "tid", "held from (ms)", "to (ms)"]
            .map(String::from)
            .to_vec(),
    ];
    for (tid, from, to) in &shown {
        table.push(vec![
            format!("thread {}", lane_of(*tid) + 1),
            tid.to_string(),
            format!("{from:.2}"),
            format!("{to:.2}"),
        ]);
    }
    Ok(Some(Figure {
        title: "The simulated GIL changing hands".to_string(),
        summary,
        svg,
        table,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn handovers() -> Handovers {
        // Two threads alternating 5 ms turns from t = 1000 ms, with a small gap at each
        // hand-over, for 100 ms: 20 turns, of which 8 start inside the 40 ms window.
        let t0 = 1000 * MS;
        let turns = (0..20)
            .map(|i| Turn {
                tid: if i % 2 == 0 { 501 } else { 502 },
                from: t0 + i * 5 * MS + MS / 10,
                to: t0 + (i + 1) * 5 * MS,
            })
            .collect();
        Handovers {
            interval_ms: 5.0,
            seconds: 0.1,
            handovers: 19,
            turns,
        }
    }

    #[test]
    fn a_lane_per_thread_and_a_bar_per_turn_in_the_window() {
        let h = handovers();
        let records = [Record::Result {
            demo: DEMO.into(),
            data: serde_json::to_value(&h).unwrap(),
        }];
        let figure = draw(&records).unwrap().expect("a figure");
        assert!(figure.svg.contains("thread 1 · tid 501"), "{}", figure.svg);
        assert!(figure.svg.contains("thread 2 · tid 502"), "{}", figure.svg);
        let bars = figure
            .svg
            .split("<rect")
            .skip(1)
            .filter(|r| !r[..r.find('>').unwrap()].contains("fill=\"#FFFFFF\""))
            .count();
        assert_eq!(bars, 8, "{}", figure.svg);
        assert_eq!(figure.table.len(), 1 + 8);
        assert_eq!(figure.table[2], ["thread 2", "502", "5.00", "9.90"]);
        assert!(
            figure
                .summary
                .contains("At no moment did two threads hold it")
        );
        assert!(
            figure
                .summary
                .contains("changed hands 19 times, one every 5.3 ms"),
            "{}",
            figure.summary
        );
    }

    #[test]
    fn turns_are_clipped_to_the_window_and_nothing_is_none() {
        let mut h = handovers();
        h.turns = vec![Turn {
            tid: 7,
            from: 0,
            to: 90 * MS,
        }];
        assert_eq!(in_window(&h.turns), [(7, 0.0, WINDOW_MS)]);
        h.turns.push(Turn {
            tid: 8,
            from: 10 * MS,
            to: 20 * MS,
        });
        assert_eq!(overlaps(&h.turns), 1);
        let records = [Record::Result {
            demo: DEMO.into(),
            data: serde_json::to_value(&h).unwrap(),
        }];
        let figure = draw(&records).unwrap().unwrap();
        assert!(
            figure.summary.contains("the lock failed"),
            "{}",
            figure.summary
        );
        h.turns.clear();
        let records = [Record::Result {
            demo: DEMO.into(),
            data: serde_json::to_value(&h).unwrap(),
        }];
        assert!(draw(&records).unwrap().is_none());
        assert!(draw(&[]).unwrap().is_none());
    }
}
