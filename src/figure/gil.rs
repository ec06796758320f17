//! The GIL figure (chapter 3): for each run of `demo gil`, how much faster than serial it
//! was and how many cores it kept busy, Rust against Python. Drawn from the result the demo
//! records in its `--json` shape: `{"runs": [{"lang", "kind", "seconds", "speedup",
//! "cores_used"}], "busy"}`.

use super::{INK, PYTHON, RUST};
use anyhow::{Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Deserialize;

use super::{Figure, Record};

const WIDTH: u32 = 480;
const ROW: u32 = 44;
const TOP: u32 = 8;
const AXIS: u32 = 44;
const MARGIN: u32 = 14;
const FONT: (&str, u32) = ("sans-serif", 17);

/// One run, as `demo gil --json` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct Run {
    pub lang: String,
    pub kind: String,
    pub seconds: f64,
    pub speedup: f64,
    pub cores_used: f64,
}

/// `demo gil --json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Gil {
    pub runs: Vec<Run>,
    /// Whether (or how much) other programs kept the machine busy.
    #[serde(default)]
    pub busy: serde_json::Value,
}

impl Gil {
    fn busy(&self) -> bool {
        match &self.busy {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Number(n) => n.as_f64().is_some_and(|n| n > 0.0),
            serde_json::Value::String(s) => !s.is_empty(),
            _ => false,
        }
    }
}

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the GIL figure", e)
}

/// The figure from the last `gil` result among `records`; `None` when there is none.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let Some(data) = records.iter().rev().find_map(|r| match r {
        Record::Result { demo, data } if demo == "gil" => Some(data),
        _ => None,
    }) else {
        return Ok(None);
    };
    let gil: Gil = serde_json::from_value(data.clone()).context("reading demo gil's result")?;
    if gil.runs.is_empty() {
        return Ok(None);
    }
    let n = gil.runs.len() as u32;
    let height = TOP + n * ROW + AXIS;
    let most = gil
        .runs
        .iter()
        .flat_map(|r| [r.speedup, r.cores_used])
        .fold(1.0f64, f64::max);
    let x_max = (most * 1.45).ceil();

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_top(TOP)
            .x_label_area_size(AXIS)
            .build_cartesian_2d(0f64..x_max, 0f64..f64::from(n))
            .map_err(drawn)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_y_axis()
            .x_labels(x_max as usize + 1)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_desc("times as fast as serial (bar) · cores busy (line)")
            .axis_style(INK)
            .label_style(FONT.into_font().color(&INK))
            .axis_desc_style(FONT.into_font().color(&INK))
            .draw()
            .map_err(drawn)?;
        for (i, run) in gil.runs.iter().enumerate() {
            let top = f64::from(n) - i as f64;
            let colour = if run.lang.eq_ignore_ascii_case("python") {
                PYTHON
            } else {
                RUST
            };
            chart
                .draw_series([Text::new(
                    format!("{} {}", run.lang, run.kind),
                    (0.0, top - 0.05),
                    FONT.into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                )])
                .map_err(drawn)?;
            chart
                .draw_series([Rectangle::new(
                    [(0.0, top - 0.45), (run.speedup.max(0.0), top - 0.75)],
                    colour.filled(),
                )])
                .map_err(drawn)?;
            chart
                .draw_series([PathElement::new(
                    vec![(0.0, top - 0.88), (run.cores_used.max(0.0), top - 0.88)],
                    colour.stroke_width(5),
                )])
                .map_err(drawn)?;
            chart
                .draw_series([Text::new(
                    format!("{:.2}x · {:.1} cores", run.speedup, run.cores_used),
                    (
                        run.speedup.max(run.cores_used).max(0.0) + x_max * 0.02,
                        top - 0.68,
                    ),
                    FONT.into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )])
                .map_err(drawn)?;
        }
        root.present().map_err(drawn)?;
    }

    let mut summary = format!(
        "{} runs of one CPU-bound job: each bar is how many times as fast as the serial run \
         it was, the line under it how many cores it kept busy",
        gil.runs.len()
    );
    // Say what this run showed, from its own figures, not what a quiet machine would show.
    let cores = |lang: &str, kind: &str| {
        gil.runs
            .iter()
            .find(|r| r.lang == lang && r.kind == kind)
            .map(|r| format!("{:.2}", r.cores_used))
    };
    let said: Vec<String> = [
        ("rust", "threads", "Rust's threads"),
        ("rust", "processes", "Rust's processes"),
        (
            "rust",
            "threads+gil",
            "Rust's threads under the simulated GIL",
        ),
        ("python", "threads", "Python's threads"),
        ("python", "processes", "Python's processes"),
    ]
    .iter()
    .filter_map(|(lang, kind, who)| cores(lang, kind).map(|c| format!("{who} {c}")))
    .collect();
    if !said.is_empty() {
        summary.push_str(&format!(". Cores used in this run: {}", said.join(", ")));
    }
    summary.push_str(". A thread under a GIL cannot keep more than one core busy.");
    if gil.busy() {
        summary.push_str(
            " Other programs kept the machine busy during this run, so it could not show the \
             speedups; the cores used still show the GIL.",
        );
    }
    let mut table = vec![
        ["language", "run", "seconds", "speedup", "cores used"]
            .map(String::from)
            .to_vec(),
    ];
    for run in &gil.runs {
        table.push(vec![
            run.lang.clone(),
            run.kind.clone(),
            format!("{:.3}", run.seconds),
            format!("{:.2}x", run.speedup),
            format!("{:.1}", run.cores_used),
        ]);
    }
    Ok(Some(Figure {
        title: "Faster than serial, and cores kept busy".to_string(),
        summary,
        svg,
        table,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_per_run_labelled_with_its_speedup_and_cores() {
        let data = serde_json::json!({"runs": [
            {"lang": "Rust", "kind": "serial", "seconds": 1.0, "speedup": 1.0, "cores_used": 1.0},
            {"lang": "Rust", "kind": "2 processes", "seconds": 0.5, "speedup": 1.98, "cores_used": 2.0},
            {"lang": "Python", "kind": "2 threads", "seconds": 1.2, "speedup": 0.83, "cores_used": 1.0},
        ], "busy": true});
        let records = [Record::Result {
            demo: "gil".into(),
            data,
        }];
        let figure = draw(&records).unwrap().expect("a figure");
        assert_eq!(figure.svg.matches("<rect").count(), 3, "{}", figure.svg);
        assert!(figure.svg.contains("1.98x · 2.0 cores"), "{}", figure.svg);
        assert!(figure.svg.contains("Python 2 threads"), "{}", figure.svg);
        assert!(figure.summary.contains("busy"), "{}", figure.summary);
        assert_eq!(figure.table.len(), 4);
        assert!(draw(&[]).unwrap().is_none());
    }
}
