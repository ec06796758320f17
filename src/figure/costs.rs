//! What things cost (chapter 11), on a logarithmic scale because they differ ten-thousand-fold:
//! a bar per measurement of `procbook bench`, Rust's and Python's, in microseconds. Drawn from
//! the report `bench --json` prints, recorded with `record::result("bench", &report)`.

use super::{INK, PYTHON, RUST};
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, Record};
use crate::bench::Report;

const WIDTH: u32 = 480;
const ROW: u32 = 40;
const TOP: u32 = 8;
const AXIS: u32 = 48;
const MARGIN: u32 = 14;
const FONT: (&str, u32) = ("sans-serif", 19);

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the costs figure", e)
}

/// (who, what, microseconds) for every figure the report holds.
fn bars(report: &Report) -> Vec<(&'static str, String, f64)> {
    let mut bars = vec![
        (
            "Rust",
            "start and join a thread".to_string(),
            report.thread_spawn_us,
        ),
        ("Rust", "run /bin/true".to_string(), report.raw_spawn_us),
        (
            "Rust",
            "re-run procbook, doing nothing".to_string(),
            report.self_exec_us,
        ),
        (
            "Rust",
            "start and join a Process".to_string(),
            report.process_spawn_us,
        ),
        (
            "Rust",
            format!("start a pool of {}", report.workers),
            report.pool_start_us,
        ),
        (
            "Rust",
            "one task, chunksize 1".to_string(),
            report.task_chunk1_us,
        ),
        (
            "Rust",
            "one task, default chunksize".to_string(),
            report.task_default_us,
        ),
        (
            "Rust",
            "one item of a 1,000,000-item map".to_string(),
            report.task_million_us,
        ),
    ];
    if let Some(py) = &report.python {
        for (method, us) in &py.process_spawn_us {
            if let Some(us) = us {
                bars.push((
                    "Python",
                    format!("start and join a Process ({method})"),
                    *us,
                ));
            }
        }
        bars.push((
            "Python",
            format!("start a pool ({})", py.start_method),
            py.pool_start_us,
        ));
        bars.push((
            "Python",
            "one task, chunksize 1".to_string(),
            py.task_chunk1_us,
        ));
        bars.push((
            "Python",
            "one task, default chunksize".to_string(),
            py.task_default_us,
        ));
        bars.push((
            "Python",
            "one item of a 1,000,000-item map".to_string(),
            py.task_million_us,
        ));
    }
    bars.retain(|(_, _, us)| us.is_finite() && *us > 0.0);
    bars
}

/// The figure from the last `bench` result among `records`; `None` when there is none.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let Some(data) = records.iter().rev().find_map(|r| match r {
        Record::Result { demo, data } if demo == "bench" => Some(data),
        _ => None,
    }) else {
        return Ok(None);
    };
    let report: Report = serde_json::from_value(data.clone()).context("reading bench's report")?;
    let bars = bars(&report);
    if bars.is_empty() {
        return Ok(None);
    }
    let lo = bars.iter().map(|b| b.2).fold(f64::INFINITY, f64::min);
    let hi = bars.iter().map(|b| b.2).fold(0.0, f64::max);
    // Whole decades around the figures, one more on the right for the labels.
    let (lo, hi) = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil() + 1.0),
    );
    let n = bars.len() as u32;
    let height = TOP + n * ROW + AXIS;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_top(TOP)
            .x_label_area_size(AXIS)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..f64::from(n))
            .map_err(drawn)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .light_line_style(RGBColor(0x99, 0x99, 0x99).mix(0.3))
            .x_label_formatter(&|x| match *x {
                x if x >= 1e6 => format!("{:.0} s", x / 1e6),
                x if x >= 1e3 => format!("{:.0} ms", x / 1e3),
                x => format!("{x} µs"),
            })
            .x_desc("microseconds, on a logarithmic scale")
            .axis_style(INK)
            .label_style(FONT.into_font().color(&INK))
            .axis_desc_style(FONT.into_font().color(&INK))
            .draw()
            .map_err(drawn)?;
        for (i, (who, what, us)) in bars.iter().enumerate() {
            let top = f64::from(n) - i as f64;
            let colour = if *who == "Python" { PYTHON } else { RUST };
            chart
                .draw_series([Text::new(
                    format!("{who}: {what}"),
                    (lo, top - 0.04),
                    FONT.into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                )])
                .map_err(drawn)?;
            chart
                .draw_series([Rectangle::new(
                    [(lo, top - 0.55), (*us, top - 0.9)],
                    colour.filled(),
                )])
                .map_err(drawn)?;
            chart
                .draw_series([Text::new(
                    shown(*us),
                    (*us * 1.15, top - 0.72),
                    FONT.into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )])
                .map_err(drawn)?;
        }
        root.present().map_err(drawn)?;
    }

    let (least, most) = bars.iter().fold((f64::INFINITY, 0f64), |(a, b), bar| {
        (a.min(bar.2), b.max(bar.2))
    });
    // "About a million-fold": the order of magnitude, since the figures carry no more.
    let decades = (most / least).log10().round() as i32;
    let span = match decades {
        ..=0 => "less than ten-fold".to_string(),
        1 => "about ten-fold".to_string(),
        2 => "about a hundred-fold".to_string(),
        3 => "about a thousand-fold".to_string(),
        n => format!("about 10^{n}-fold"),
    };
    let mut summary = format!(
        "{} costs measured by procbook bench on {} cores, on a logarithmic scale: each step \
         of the axis is ten times the last, and the bars span {span}",
        bars.len(),
        report.cores
    );
    if let Some(py) = &report.python {
        summary.push_str(&format!(
            "; Python's were measured with {} in the same run",
            py.version
        ));
    }
    summary.push('.');
    let mut table = vec![["who", "what", "microseconds"].map(String::from).to_vec()];
    for (who, what, us) in &bars {
        table.push(vec![who.to_string(), what.clone(), format!("{us:.1}")]);
    }
    Ok(Some(Figure {
        title: "What things cost".to_string(),
        summary,
        svg,
        table,
    }))
}

/// `12.3 µs`, `4.5 ms`.
fn shown(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 1.0 {
        format!("{us:.1} µs")
    } else {
        // A map's per-item cost is well under a microsecond: keep two significant digits.
        let digits = 1 + (-us.log10()).ceil().max(1.0) as usize;
        format!("{us:.digits$} µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_per_measurement_on_a_log_scale() {
        let data = serde_json::json!({
            "cores": 2, "workers": 2, "repeats": 5,
            "thread_spawn_us": 20.0, "raw_spawn_us": 400.0, "self_exec_us": 900.0,
            "process_spawn_us": 1200.0, "pool_start_us": 2500.0,
            "task_chunk1_us": 8.0, "task_default_us": 2.0,
            "task_million_us": 0.07, "task_million_vs_python": 0.5,
            "python": {"version": "Python 3.11.7", "start_method": "fork",
                "process_spawn_us": {"fork": 900.0, "spawn": 25000.0, "forkserver": null},
                "pool_start_us": 30000.0, "task_chunk1_us": 40.0, "task_default_us": 9.0,
                "task_million_us": 0.14}
        });
        let records = [Record::Result {
            demo: "bench".into(),
            data,
        }];
        let figure = draw(&records).unwrap().expect("a figure");
        assert_eq!(figure.svg.matches("<rect").count(), 8 + 6, "{}", figure.svg);
        assert!(figure.svg.contains("25.0 ms"), "{}", figure.svg);
        assert!(
            figure.summary.contains("Python 3.11.7"),
            "{}",
            figure.summary
        );
        assert_eq!(figure.table.len(), 15);
    }
}
