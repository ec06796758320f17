//! Per-core load over a demo's run (chapters 1 and 3): how busy each core of the machine was,
//! sampled every quarter second while the demo ran. The samples are the whole machine's, so
//! other programs' work shows too, and the figure says so.

use super::INK;
use super::PALETTE;
use anyhow::Result;
use plotters::prelude::*;

use super::{Figure, Record};

const WIDTH: u32 = 480;
const HEIGHT: u32 = 230;
const MARGIN: u32 = 14;
const FONT: (&str, u32) = ("sans-serif", 19);
/// Drawn one line a core up to this many cores; beyond, the mean of all of them.
const LINES: usize = 8;

fn drawn<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    super::drawing_failed("the load figure", e)
}

/// The load over time; `None` with fewer than two samples.
pub fn draw(records: &[Record]) -> Result<Option<Figure>> {
    let samples: Vec<(u64, &[f32])> = records
        .iter()
        .filter_map(|r| match r {
            Record::Load { at, cores } if !cores.is_empty() => Some((*at, cores.as_slice())),
            _ => None,
        })
        .collect();
    if samples.len() < 2 {
        return Ok(None);
    }
    let t0 = samples[0].0;
    let secs = |at: u64| at.saturating_sub(t0) as f64 / 1e9;
    let span = secs(samples[samples.len() - 1].0).max(0.001);
    let cores = samples[0].1.len();
    // Each series: its name and its points.
    let series: Vec<(String, Vec<(f64, f64)>)> = if cores <= LINES {
        (0..cores)
            .map(|c| {
                let points = samples
                    .iter()
                    .map(|(at, l)| (secs(*at), f64::from(l.get(c).copied().unwrap_or(0.0))))
                    .collect();
                (format!("core {c}"), points)
            })
            .collect()
    } else {
        let mean = samples
            .iter()
            .map(|(at, l)| {
                let sum: f32 = l.iter().sum();
                (secs(*at), f64::from(sum / l.len() as f32))
            })
            .collect();
        vec![(format!("mean of {cores} cores"), mean)]
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin_left(MARGIN)
            .margin_right(MARGIN)
            .margin_top(MARGIN)
            .x_label_area_size(44)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..span, 0f64..100f64)
            .map_err(drawn)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(0x99, 0x99, 0x99).mix(0.35))
            .y_labels(5)
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .x_labels(6)
            .x_desc("seconds from the first sample")
            .axis_style(INK)
            .label_style(FONT.into_font().color(&INK))
            .axis_desc_style(FONT.into_font().color(&INK))
            .draw()
            .map_err(drawn)?;
        for (i, (name, points)) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series([PathElement::new(points.clone(), colour.stroke_width(3))])
                .map_err(drawn)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(FONT.into_font().color(&INK))
            .background_style(WHITE.mix(0.0))
            .border_style(INK.mix(0.0))
            .draw()
            .map_err(drawn)?;
        root.present().map_err(drawn)?;
    }

    let summary = format!(
        "How busy each core of the machine was, {} samples a quarter second apart over \
         {span:.1} s while the demo ran (as sysinfo reads it from the kernel: the whole \
         machine's load, other programs' included).",
        samples.len()
    );
    let mut header = vec!["seconds".to_string()];
    header.extend(series.iter().map(|(name, _)| format!("{name} (%)")));
    let mut table = vec![header];
    for (k, (at, _)) in samples.iter().enumerate() {
        let mut row = vec![format!("{:.2}", secs(*at))];
        row.extend(series.iter().map(|(_, p)| format!("{:.0}", p[k].1)));
        table.push(row);
    }
    Ok(Some(Figure {
        title: "Per-core load during the run".to_string(),
        summary,
        svg,
        table,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_per_core_through_every_sample() {
        let records: Vec<Record> = (0..5)
            .map(|k| Record::Load {
                at: k * 250_000_000,
                cores: vec![100.0, 10.0 * k as f32],
            })
            .collect();
        let figure = draw(&records).unwrap().expect("a figure");
        // Two cores: two lines, each with five points (and two legend marks).
        let lines: Vec<&str> = figure
            .svg
            .split("<polyline")
            .filter(|p| p.contains("stroke-width=\"3\""))
            .collect();
        assert_eq!(lines.len(), 4, "{}", figure.svg);
        assert_eq!(figure.table.len(), 6);
        assert!(figure.svg.contains("core 1"));
        assert!(draw(&records[..1]).unwrap().is_none());
    }
}
