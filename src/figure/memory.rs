//! One shared memory against separate memories (chapter 2): the counter `demo memory`'s
//! threads all added to, in the one memory of their process, beside the counters its child
//! processes added to, each in a memory of its own. Drawn from the values the demo saw and
//! records with `record::result("memory", &counters)`.

use super::INK;
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use super::{Figure, Record};
use crate::term::thousands;

/// The demo whose recorded result is a [`Counters`].
pub const DEMO: &str = "memory";

/// A process and the counter in its memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub name: String,
    pub pid: u32,
    /// The counter as this process saw it at the end; `None` if it did not say.
    pub counter: Option<u64>,
}

/// What one run of `demo memory` saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// How many times each thread and each child added one.
    pub times: u64,
    /// The parent, with its counter after the threads had added to it.
    pub parent: Holder,
    /// How many threads added to the parent's counter.
    pub threads: usize,
    /// The parent's counter after its children had added to theirs.
    pub after_processes: u64,
    /// The children, each with the counter in its own memory.
    pub children: Vec<Holder>,
}

const WIDTH: i32 = 560;
const MARGIN: i32 = 6;
const HEADING: i32 = 30;
const BOX_H: i32 = 62;
const GAP: i32 = 10;
const FONT: (&str, u32) = ("sans-serif", 17);
const SHARED: RGBColor = RGBColor(0x4E, 0x79, 0xA7);
const OWN: RGBColor = RGBColor(0xF2, 0x8E, 0x2B);
/// Alternate shades of the shared colour, one per thread's part of the one counter.
const THREADS: [RGBColor; 2] = [SHARED, RGBColor(0x9D, 0xB9, 0xD6)];

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the memory figure", e)
}

/// The figure from the last `memory` result among `records`; `None` when there is none.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let Some(data) = records.iter().rev().find_map(|r| match r {
        Record::Result { demo, data } if demo == DEMO => Some(data),
        _ => None,
    }) else {
        return Ok(None);
    };
    let c: Counters =
        serde_json::from_value(data.clone()).context("reading demo memory's result")?;
    let shared = c.parent.counter.unwrap_or(0);
    let most = (c.children.iter().filter_map(|h| h.counter))
        .chain([shared, c.after_processes, c.times])
        .max()
        .unwrap_or(0)
        .max(1);
    let boxes = 2 + c.children.len() as i32;
    let height = 2 * MARGIN + 2 * HEADING + boxes * (BOX_H + GAP);
    let inner = WIDTH - 2 * MARGIN - 16;
    let scale = |value: u64| (value as f64 / most as f64 * f64::from(inner)).round() as i32;

    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH as u32, height as u32)).into_drawing_area();
        let font = FONT
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Top));
        let heading = |text: String, y: i32| -> Result<()> {
            root.draw(&Text::new(text, (MARGIN, y + 4), font.clone()))
                .map_err(drawn)
        };
        // A memory: an outline with its owner's name and PID, and a bar for the counter in it.
        let memory = |y: i32, colour: RGBColor, who: &Holder, label: String| -> Result<()> {
            let (x0, x1) = (MARGIN, WIDTH - MARGIN);
            root.draw(&PathElement::new(
                vec![(x0, y), (x1, y), (x1, y + BOX_H), (x0, y + BOX_H), (x0, y)],
                colour.stroke_width(3),
            ))
            .map_err(drawn)?;
            root.draw(&Text::new(
                format!("{} · pid {}", who.name, who.pid),
                (x0 + 8, y + 5),
                font.clone(),
            ))
            .map_err(drawn)?;
            root.draw(&Text::new(label, (x0 + 8, y + 39), font.clone()))
                .map_err(drawn)?;
            Ok(())
        };
        let bar = |x: i32, y: i32, w: i32, colour: RGBColor| -> Result<()> {
            root.draw(&Rectangle::new(
                [(x, y + 26), (x + w.max(1), y + 36)],
                colour.filled(),
            ))
            .map_err(drawn)
        };

        let mut y = MARGIN;
        heading(format!("{} threads: one memory", c.threads), y)?;
        y += HEADING;
        memory(
            y,
            SHARED,
            &c.parent,
            format!(
                "COUNTER = {}, from all {} threads",
                thousands(shared),
                c.threads
            ),
        )?;
        // The one counter, in a part per thread: each added `times` to it.
        // (Each part ends where the sum so far ends, so the parts add up to the whole.)
        for t in 0..c.threads as u64 {
            let (from, to) = (
                scale((t * c.times).min(shared)),
                scale(((t + 1) * c.times).min(shared)),
            );
            bar(MARGIN + 8 + from, y, to - from, THREADS[t as usize % 2])?;
        }
        y += BOX_H + GAP;
        heading(format!("{} processes: a memory each", c.children.len()), y)?;
        y += HEADING;
        memory(
            y,
            INK,
            &c.parent,
            format!(
                "COUNTER = {}, as the threads left it",
                thousands(c.after_processes)
            ),
        )?;
        bar(MARGIN + 8, y, scale(c.after_processes), SHARED)?;
        for child in &c.children {
            y += BOX_H + GAP;
            let label = child.counter.map_or("COUNTER: it did not say".into(), |n| {
                format!("COUNTER = {}, in its own copy", thousands(n))
            });
            memory(y, OWN, child, label)?;
            bar(MARGIN + 8, y, scale(child.counter.unwrap_or(0)), OWN)?;
        }
        root.present().map_err(drawn)?;
    }

    let summary = format!(
        "{} threads each added {} to one COUNTER in {}'s memory (pid {}), which ended at {}; \
         then {} child processes each added {} to a COUNTER in a memory of their own, and the \
         parent's stayed at {}. Each bar is a counter's value, all on one scale.",
        c.threads,
        thousands(c.times),
        c.parent.name,
        c.parent.pid,
        thousands(shared),
        c.children.len(),
        thousands(c.times),
        thousands(c.after_processes),
    );
    let mut table = vec![
        ["whose memory", "pid", "added to it", "COUNTER at the end"]
            .map(String::from)
            .to_vec(),
    ];
    table.push(vec![
        c.parent.name.clone(),
        c.parent.pid.to_string(),
        format!("{} threads", c.threads),
        thousands(shared),
    ]);
    table.push(vec![
        c.parent.name.clone(),
        c.parent.pid.to_string(),
        "no one (its children added to their own)".into(),
        thousands(c.after_processes),
    ]);
    for child in &c.children {
        table.push(vec![
            child.name.clone(),
            child.pid.to_string(),
            "itself".into(),
            child.counter.map_or("-".into(), thousands),
        ]);
    }
    Ok(Some(Figure {
        title: "One shared memory, separate memories".to_string(),
        summary,
        svg,
        table,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> Counters {
        let holder = |name: &str, pid, counter| Holder {
            name: name.into(),
            pid,
            counter,
        };
        Counters {
            times: 1000,
            parent: holder("MainProcess", 10, Some(3000)),
            threads: 3,
            after_processes: 3000,
            children: vec![
                holder("Process-1", 11, Some(1000)),
                holder("Process-2", 12, Some(1000)),
                holder("Process-3", 13, None),
            ],
        }
    }

    fn figure(c: &Counters) -> Figure {
        let records = [Record::Result {
            demo: DEMO.into(),
            data: serde_json::to_value(c).unwrap(),
        }];
        draw(&records).unwrap().expect("a figure")
    }

    /// The widths of the filled bars, in order.
    fn bars(svg: &str) -> Vec<i32> {
        svg.split("<rect")
            .skip(1)
            .filter(|r| !r[..r.find('>').unwrap()].contains("fill=\"#FFFFFF\""))
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn a_memory_per_process_and_a_bar_per_counter_on_one_scale() {
        let c = counters();
        let figure = figure(&c);
        for who in std::iter::once(&c.parent).chain(&c.children) {
            assert!(
                figure
                    .svg
                    .contains(&format!("\n{} · pid {}\n", who.name, who.pid)),
                "no memory for pid {}",
                who.pid
            );
        }
        // The one memory holds three parts of one counter; then the parent's counter and
        // each child's (the silent child's is empty).
        let widths = bars(&figure.svg);
        assert_eq!(widths.len(), 3 + 1 + 3, "{widths:?}");
        let full = widths[3];
        assert_eq!(widths[..3].iter().sum::<i32>(), full, "{widths:?}");
        assert!((widths[4] * 3 - full).abs() <= 3, "{widths:?}");
        assert!(widths[6] <= 1, "{widths:?}");
        assert!(figure.svg.contains("COUNTER = 3,000, from all 3 threads"));
        assert!(figure.svg.contains("COUNTER: it did not say"));
        assert_eq!(figure.table.len(), 1 + 2 + 3);
        assert!(
            figure.summary.contains("stayed at 3,000"),
            "{}",
            figure.summary
        );
        assert!(draw(&[]).unwrap().is_none());
    }
}
