//! Figures for the book, drawn as SVG (with plotters) from a demo's recorded run: the same
//! run whose text output the page shows, never a separate one and never drawn by hand.
//!
//! A figure is inline SVG inside a `<figure>`: a `<title>` and `<desc>` for screen readers, a
//! caption, and the figure's data as a table for anyone who cannot see it. Its ink is black
//! in the SVG and `currentColor` through the book's CSS (book/theme/procbook.css), so it
//! follows the reader's theme and prints.

pub mod costs;
pub mod gil;
pub mod handovers;
pub mod load;
pub mod memory;
pub mod record;
pub mod timeline;
pub mod tree;

use std::fmt::Write as _;

use anyhow::Result;

pub use record::Record;

/// The ink every figure is drawn in: black in the SVG, the theme's text colour on the page
/// (the book's CSS turns it into `currentColor`).
pub const INK: plotters::style::RGBColor = plotters::style::RGBColor(0, 0, 0);
/// Rust's colour and Python's, the same in every figure that sets them side by side.
pub const RUST: plotters::style::RGBColor = plotters::style::RGBColor(0x4E, 0x79, 0xA7);
pub const PYTHON: plotters::style::RGBColor = plotters::style::RGBColor(0xF2, 0x8E, 0x2B);

/// One colour per lane or line, mid-tones that read on light and dark pages (Tableau 10
/// less yellow), shared by every figure that needs more than two.
pub const PALETTE: [plotters::style::RGBColor; 8] = {
    use plotters::style::RGBColor;
    [
        RGBColor(0x4E, 0x79, 0xA7),
        RGBColor(0xF2, 0x8E, 0x2B),
        RGBColor(0x59, 0xA1, 0x4F),
        RGBColor(0xB0, 0x7A, 0xA1),
        RGBColor(0x76, 0xB7, 0xB2),
        RGBColor(0xE1, 0x57, 0x59),
        RGBColor(0x9C, 0x75, 0x5F),
        RGBColor(0xFF, 0x9D, 0xA7),
    ]
};

/// A plotters drawing error as one line that names the figure that failed.
pub fn drawing_failed<E: std::error::Error + Send + Sync>(
    figure: &str,
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("drawing {figure}: {e}")
}

/// Which figures a demo's capture gets: one table.
pub static FIGURES: &[(&str, &[Kind])] = &[
    ("pool", &[Kind::Timeline]),
    ("four", &[Kind::Timeline]),
    ("crash", &[Kind::Timeline]),
    // The GIL figure is drawn from the result `demo gil` records with
    // `record::result("gil", &report)`.
    // `demo sys` keeps its workers counting primes for most of a second: the strip's samples.
    ("sys", &[Kind::Load]),
    ("gil", &[Kind::Gil, Kind::Load, Kind::Handovers]),
    // `demo bench` is `procbook bench`, which records its report as "bench".
    ("bench", &[Kind::Costs]),
    // The process tree `demo start-methods` records with `record::result`.
    (tree::DEMO, &[Kind::Tree]),
    // The counters `demo memory` saw, recorded with `record::result`.
    (memory::DEMO, &[Kind::Memory]),
];

/// The kinds of figure procbook draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A lane per process, a bar per chunk, marks for what it printed and how it ended.
    Timeline,
    /// Speedup and cores used per run of `demo gil`, Rust against Python.
    Gil,
    /// How busy each core was over the run, from the live strip's samples.
    Load,
    /// `procbook bench`'s costs on a log scale, from the report it records as "bench".
    Costs,
    /// Who started whom, with real PIDs: `demo start-methods`'s spawned and forked children.
    Tree,
    /// `demo memory`'s counters: the threads' one shared, the processes' one each.
    Memory,
    /// The simulated GIL's turns in `demo gil`, a lane per thread, over a few intervals.
    Handovers,
}

/// The figures a demo's capture should carry (none for most).
pub fn kinds_for(demo: &str) -> &'static [Kind] {
    FIGURES
        .iter()
        .find(|(d, _)| *d == demo)
        .map_or(&[], |(_, kinds)| kinds)
}

/// A drawn figure, ready to be put into a page with [`Figure::html`].
#[derive(Debug, Clone)]
pub struct Figure {
    /// Short, as a title: "Which worker ran what, and when".
    pub title: String,
    /// One or two sentences saying what the figure shows, for `<desc>` and the caption.
    pub summary: String,
    /// The SVG document plotters drew.
    pub svg: String,
    /// The data drawn, as rows of a table (the first row is the header).
    pub table: Vec<Vec<String>>,
}

impl Figure {
    /// The figure as one HTML block with no blank line in it (a blank line would end an HTML
    /// block in Markdown). `id` must be unique on the page.
    pub fn html(&self, id: &str) -> String {
        let title = escape(&self.title);
        let summary = escape(&self.summary);
        let svg = self.svg.trim();
        // plotters writes `<svg width=.. height=.. viewBox=.. xmlns=..>`; the page scales it
        // to its column, so the root tag is ours: sized by CSS, with its title and desc.
        let body = svg
            .find('>')
            .map_or(svg, |end| &svg[end + 1..])
            .trim_start();
        let view_box = svg
            .split("viewBox=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("0 0 600 300");
        // As wide as the column, but never more than a quarter larger than drawn: a narrow
        // figure (the process tree) would otherwise fill a wide column with giant text.
        let drawn_width = view_box
            .split_whitespace()
            .nth(2)
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(600.0);
        let max_width = (drawn_width * 1.25).round();
        let mut html = format!(
            "<figure class=\"procbook-figure\" id=\"{id}\">\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{view_box}\" role=\"img\" \
             style=\"max-width: {max_width}px\" aria-labelledby=\"{id}-title {id}-desc\">\n\
             <title id=\"{id}-title\">{title}</title>\n<desc id=\"{id}-desc\">{summary}</desc>\n"
        );
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            html.push_str(line);
            html.push('\n');
        }
        let _ = write!(
            html,
            "<figcaption><strong>{title}.</strong> {summary}</figcaption>\n\
             <details><summary>The figure's data as a table</summary>\n<table>\n"
        );
        for (n, row) in self.table.iter().enumerate() {
            let cell = if n == 0 { "th" } else { "td" };
            html.push_str("<tr>");
            for value in row {
                let _ = write!(html, "<{cell}>{}</{cell}>", escape(value));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n</details>\n</figure>\n");
        // mdBook's link preprocessor must not act on anything a run printed.
        html.replace("{{#", "&#123;&#123;#")
    }
}

/// Draw the figure of `kind` from a run's records; `None` when the records hold nothing to
/// draw (the caller says so).
pub fn draw(kind: Kind, records: &[Record]) -> anyhow::Result<Option<Figure>> {
    match kind {
        Kind::Timeline => timeline::draw(records),
        Kind::Gil => gil::draw(records),
        Kind::Load => load::draw(records),
        Kind::Costs => costs::draw(records),
        Kind::Tree => tree::draw(records),
        Kind::Memory => memory::draw(records),
        Kind::Handovers => handovers::draw(records),
    }
}

/// The figure drawn from what a Python script of the book printed, for the scripts that get
/// one (chapter 8's start methods); `None` for the others, or when the output holds nothing
/// to draw.
pub fn for_python(file: &str, output: &str) -> Result<Option<Figure>> {
    let name = file.rsplit('/').next().unwrap_or(file);
    if name != tree::PYTHON_SCRIPT {
        return Ok(None);
    }
    let Some(found) = tree::from_python(output) else {
        return Ok(None);
    };
    let Some(mut figure) = tree::draw_tree(&found)? else {
        return Ok(None);
    };
    figure.title = "Who started whom: fork, spawn and forkserver".to_string();
    Ok(Some(figure))
}

/// Text made safe to put between HTML tags or in an attribute.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
