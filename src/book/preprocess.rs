//! The book's preprocessor: finds the `{{#procbook …}}` directives in every chapter, checks
//! them, runs the captures, and writes the cells in their place. `procbook book` registers it
//! with mdBook in-process; the stock `mdbook` tool runs `procbook book preprocess` (book.toml).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use super::capture::{self, Job, Outcome};
use super::cell;
use crate::commands::{Cli, Command};
use crate::demos::{self, Out};
use crate::directive::{self, Piece};

/// The name book.toml knows it by (`[preprocessor.procbook]`).
pub const NAME: &str = "procbook";

/// What a run of the preprocessor did, for the line `procbook book` prints at the end.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// How many distinct demos and Python snippets ran.
    pub captures: usize,
    /// How long running them took.
    pub took: Duration,
    /// Things the reader of the build should know (no python3, placeholders).
    pub notes: Vec<String>,
    /// The capture that took longest, and how long.
    pub slowest: Option<(String, Duration)>,
}

/// The preprocessor, as mdBook's driver takes it.
#[derive(Default, Clone)]
pub struct Procbook {
    report: Arc<Mutex<Report>>,
}

impl Procbook {
    /// What the last run did.
    pub fn report(&self) -> Report {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Preprocessor for Procbook {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let src = ctx.root.join(&ctx.config.book.src);
        let procbook = std::env::current_exe().context("finding the procbook binary")?;
        let report = expand(&mut book, &src, &procbook)?;
        if let Ok(mut r) = self.report.lock() {
            *r = report;
        }
        Ok(book)
    }

    fn supports_renderer(&self, renderer: &str) -> Result<bool> {
        Ok(renderer == "html")
    }
}

/// `procbook book preprocess [supports RENDERER]`: mdBook's preprocessor protocol. With
/// `supports`, the exit code answers; without, the book comes as JSON on stdin and goes back
/// on `out` with the directives replaced.
pub fn run_cli(args: &[String], out: Out) -> Result<()> {
    match args {
        [supports, renderer] if supports == "supports" => {
            if Procbook::default().supports_renderer(renderer)? {
                Ok(())
            } else {
                bail!("procbook's preprocessor only makes HTML, not {renderer}")
            }
        }
        [] => {
            let (ctx, book) = mdbook_preprocessor::parse_input(std::io::stdin().lock())
                .context("reading the book mdBook sent")?;
            if !same_minor(&ctx.mdbook_version, mdbook_preprocessor::MDBOOK_VERSION) {
                eprintln!(
                    "warning: procbook's preprocessor was built for mdBook {}, but is run by {}",
                    mdbook_preprocessor::MDBOOK_VERSION,
                    ctx.mdbook_version
                );
            }
            let pre = Procbook::default();
            let book = pre.run(&ctx, book)?;
            serde_json::to_writer(&mut *out, &book).context("sending the book back to mdBook")?;
            out.flush()?;
            let report = pre.report();
            eprintln!("{}", summary(&report));
            for note in &report.notes {
                eprintln!("note: {note}");
            }
            Ok(())
        }
        other => bail!(
            "`book preprocess` takes nothing or `supports RENDERER`, not `{}`",
            other.join(" ")
        ),
    }
}

fn same_minor(a: &str, b: &str) -> bool {
    let minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    minor(a) == minor(b)
}

/// One line on what the captures took.
pub fn summary(report: &Report) -> String {
    let slowest = match &report.slowest {
        Some((command, took)) => format!("; slowest: `{command}`, {:.1}s", took.as_secs_f64()),
        None => String::new(),
    };
    format!(
        "Captured {} outputs (demos and Python) in {:.1}s on {} cores{slowest}",
        report.captures,
        report.took.as_secs_f64(),
        capture::cores()
    )
}

/// Check every directive in the book, run every capture once, and write the cells in place.
/// Every problem found is reported together, each with its chapter.
pub fn expand(book: &mut Book, src: &Path, procbook: &Path) -> Result<Report> {
    let mut problems = Vec::new();
    let mut jobs: BTreeMap<Job, String> = BTreeMap::new();
    let mut chapters_with_exercises = Vec::new();
    for chapter in book.chapters() {
        let Some(source) = &chapter.source_path else {
            continue;
        };
        let shown = source.display().to_string();
        let dir = src
            .join(source)
            .parent()
            .map_or_else(|| src.to_path_buf(), Path::to_path_buf);
        for piece in directive::parse(&chapter.content) {
            let problem = match &piece {
                Piece::Text(_) => None,
                Piece::Include { path, anchor } => check_include(&dir, path, *anchor).err(),
                Piece::Demo(words) => match check_demo(words) {
                    Ok(()) => {
                        let job = Job::Demo(words.iter().map(|w| w.to_string()).collect());
                        jobs.entry(job).or_insert_with(|| shown.clone());
                        None
                    }
                    Err(e) => Some(e),
                },
                Piece::Python(file) => {
                    if dir.join(file).is_file() {
                        let job = Job::Python {
                            dir: dir.clone(),
                            file: file.to_string(),
                        };
                        jobs.entry(job).or_insert_with(|| shown.clone());
                        None
                    } else {
                        Some(anyhow::anyhow!(
                            "no Python file {}",
                            dir.join(file).display()
                        ))
                    }
                }
                Piece::Try(words) => check_try(words).err(),
                Piece::Exercises(n) => {
                    chapters_with_exercises.push(*n);
                    None
                }
                Piece::Unknown(_) => Some(anyhow::anyhow!(
                    "not a procbook directive (they are: demo, python, try, exercises)"
                )),
            };
            if let Some(e) = problem {
                problems.push(format!("{shown}: {}: {e:#}", written(&piece)));
            }
        }
    }
    if !problems.is_empty() {
        bail!("the book has problems:\n  {}", problems.join("\n  "));
    }

    let started = Instant::now();
    let job_list: Vec<Job> = jobs.keys().cloned().collect();
    let results = capture::run_all(&job_list, procbook);
    if crate::engine::cancel::requested() {
        // Ctrl-C: every capture was killed; say so the way every command does.
        return Err(crate::engine::Error::Interrupted.into());
    }
    let mut report = Report {
        captures: job_list.len(),
        took: started.elapsed(),
        notes: Vec::new(),
        slowest: results
            .iter()
            .max_by_key(|(_, (took, _))| *took)
            .map(|(job, (took, _))| (job.command(), *took)),
    };
    let mut cells = BTreeMap::new();
    for (job, (_, result)) in results {
        match result {
            Ok(Outcome::Ran(captured)) => {
                let mut html = cell::output(&job.command(), &captured);
                match figure_for(&job, &captured) {
                    Ok((figures, note)) => {
                        if !figures.is_empty() {
                            html = cell::with_figure(&html, &figures);
                        }
                        if let Some(note) = note {
                            report
                                .notes
                                .push(format!("{}: no figure: {note}", job.command()));
                        }
                    }
                    Err(e) => report
                        .notes
                        .push(format!("{}: no figure: {e:#}", job.command())),
                }
                cells.insert(job.clone(), html);
            }
            Ok(Outcome::NoPython) => {
                cells.insert(job.clone(), cell::no_python(&job.command()));
            }
            Err(e) => problems.push(format!("{}: {e:#}", jobs[&job])),
        }
    }
    if !problems.is_empty() {
        bail!("a capture failed:\n  {}", problems.join("\n  "));
    }
    if cells.values().any(|c| c.contains("procbook-missing")) {
        report
            .notes
            .push("python3 is not installed, so the Python cells have no output".into());
    }

    let mut lists = BTreeMap::new();
    for n in chapters_with_exercises {
        let list = crate::grade::exercises_for_chapter(n)
            .with_context(|| format!("listing the exercises of chapter {n}"))?;
        lists.insert(n, cell::exercises(&list));
    }

    book.for_each_mut(|item| {
        let BookItem::Chapter(chapter) = item else {
            return;
        };
        let Some(source) = &chapter.source_path else {
            return;
        };
        let dir = src
            .join(source)
            .parent()
            .map_or_else(|| src.to_path_buf(), Path::to_path_buf);
        chapter.content = rewrite(&chapter.content, &dir, &cells, &lists);
        // A capture shown in two chapters carries the same figure: its ids name the chapter,
        // so they stay unique in print.html, where every chapter is one page.
        let stem = source
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            })
            .unwrap_or_default();
        chapter.content = chapter
            .content
            .replace(FIGURE_ID, &format!("{FIGURE_ID}{stem}-"));
    });
    Ok(report)
}

/// How every figure's id starts (the chapter is added after it).
const FIGURE_ID: &str = "procbook-figure-";

/// The figures a demo's capture carries (see [`crate::figure::FIGURES`]), drawn from what
/// that run recorded, as one HTML string, and a note naming each figure the run could not give.
fn figure_for(job: &Job, captured: &capture::Captured) -> Result<(String, Option<String>)> {
    let words = match job {
        Job::Demo(words) => words,
        Job::Python { file, .. } => {
            // A Python script's figure is drawn from what it printed in this capture.
            let id = format!("{FIGURE_ID}python");
            let figure = crate::figure::for_python(file, &captured.output)?;
            return Ok((figure.map_or(String::new(), |f| f.html(&id)), None));
        }
    };
    let Some(name) = words.first() else {
        return Ok((String::new(), None));
    };
    let id: String = std::iter::once(FIGURE_ID.trim_end_matches('-'))
        .chain(words.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let (mut html, mut missing) = (String::new(), Vec::new());
    for (n, kind) in crate::figure::kinds_for(name).iter().enumerate() {
        match crate::figure::draw(*kind, &captured.records)? {
            Some(figure) => html.push_str(&figure.html(&format!("{id}-{n}"))),
            None => missing.push(format!("{kind:?}")),
        }
    }
    let note = (!missing.is_empty()).then(|| {
        format!(
            "the run recorded nothing to draw the {} figure from ({} records; demo {name} \
             records its events through demos::recorded, its result through \
             figure::record::result, its load through the strip)",
            missing.join(" and "),
            captured.records.len()
        )
    });
    Ok((html, note))
}

/// The code an `{{#include path:anchor}}` with a named anchor stands for, dedented as the
/// REPL shows it (mdBook would keep the indentation, which a side-by-side column cannot
/// spare). Whole files and line ranges are left to mdBook.
fn included(dir: &Path, path: &str, anchor: Option<&str>) -> Option<String> {
    let anchor = anchor.filter(|a| !a.chars().all(|c| c.is_ascii_digit() || c == ':'))?;
    let source = std::fs::read_to_string(directive::resolve(dir, path)).ok()?;
    let code = directive::anchored(&source, anchor)?;
    Some(cell::shield(code.trim_end_matches('\n')))
}

/// The chapter with each `{{#procbook}}` directive replaced by its cell and each anchored
/// include by its code; everything else is left as written for mdBook.
fn rewrite(
    content: &str,
    dir: &Path,
    cells: &BTreeMap<Job, String>,
    lists: &BTreeMap<u32, String>,
) -> String {
    let mut out = String::with_capacity(content.len() * 2);
    for piece in directive::parse(content) {
        let block = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Include { path, anchor } => {
                out.push_str(&included(dir, path, anchor).unwrap_or_else(|| written(&piece)));
                continue;
            }
            Piece::Demo(words) => {
                cells[&Job::Demo(words.iter().map(|w| w.to_string()).collect())].clone()
            }
            Piece::Python(file) => cells[&Job::Python {
                dir: dir.to_path_buf(),
                file: file.to_string(),
            }]
                .clone(),
            Piece::Try(words) => cell::try_it(&words),
            Piece::Exercises(n) => lists[&n].clone(),
            // `expand` stops the build before it gets here.
            Piece::Unknown(_) => String::new(),
        };
        // The line's prefix so far (spaces in a list item, `>` in a quote) goes on every line.
        let line_start = out.rfind('\n').map_or(0, |i| i + 1);
        let prefix = &out[line_start..];
        let prefix = if prefix.chars().all(|c| c == ' ' || c == '\t' || c == '>') {
            prefix.to_string()
        } else {
            String::new()
        };
        out.push_str(&cell::indent(&block, &prefix));
    }
    out
}

/// A directive as it is written in a chapter, for messages and to put an include back.
fn written(piece: &Piece) -> String {
    let procbook = |what: &str, words: &[&str]| {
        let words: Vec<&str> = std::iter::once(what).chain(words.iter().copied()).collect();
        format!("{{{{#procbook {}}}}}", words.join(" "))
    };
    match piece {
        Piece::Text(text) => text.to_string(),
        Piece::Include { path, anchor: None } => format!("{{{{#include {path}}}}}"),
        Piece::Include {
            path,
            anchor: Some(anchor),
        } => format!("{{{{#include {path}:{anchor}}}}}"),
        Piece::Demo(words) => procbook("demo", words),
        Piece::Python(file) => procbook("python", &[file]),
        Piece::Try(words) => procbook("try", words),
        Piece::Exercises(n) => format!("{{{{#procbook exercises {n}}}}}"),
        Piece::Unknown(what) => format!("{{{{#procbook {what}}}}}"),
    }
}

/// Is `words` (as in `{{#procbook try WORDS}}`) a command procbook understands? The same
/// table the CLI and the REPL parse with decides.
pub fn check_try(words: &[&str]) -> Result<()> {
    let parsed = Cli::try_parse_from(std::iter::once("procbook").chain(words.iter().copied()))
        .map_err(|e| {
            anyhow::anyhow!(
                "`procbook {}` is not a procbook command: {}",
                words.join(" "),
                crate::arg::one_line(&e, "see procbook --help")
            )
        })?;
    match parsed.command {
        None => bail!("`{{{{#procbook try}}}}` needs a command to try"),
        Some(Command::Demo(args)) => check_demo_name(args.name.as_deref()),
        Some(_) => Ok(()),
    }
}

/// Is `words` (as in `{{#procbook demo WORDS}}`) a demo that can run?
pub fn check_demo(words: &[&str]) -> Result<()> {
    let parsed = Cli::try_parse_from(
        ["procbook", "demo"]
            .into_iter()
            .chain(words.iter().copied()),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "`procbook demo {}` cannot run: {}",
            words.join(" "),
            crate::arg::one_line(&e, "see procbook demo --help")
        )
    })?;
    match parsed.command {
        Some(Command::Demo(args)) => check_demo_name(args.name.as_deref()),
        _ => bail!("`procbook demo {}` is not a demo", words.join(" ")),
    }
}

fn check_demo_name(name: Option<&str>) -> Result<()> {
    match name {
        Some(name) if demos::find(name).is_none() => {
            let names: Vec<&str> = demos::DEMOS.iter().map(|d| d.name).collect();
            bail!(
                "there is no demo `{name}` (the demos are: {})",
                names.join(", ")
            )
        }
        _ => Ok(()),
    }
}

/// Does `{{#include path:anchor}}` in a chapter in `dir` point at a file, and the anchor into
/// it? (Line ranges such as `:3:10` are mdBook's business, only the file is checked.)
pub fn check_include(dir: &Path, path: &str, anchor: Option<&str>) -> Result<()> {
    let file: PathBuf = directive::resolve(dir, path);
    let source = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    match anchor {
        Some(anchor)
            if !anchor.chars().all(|c| c.is_ascii_digit() || c == ':')
                && directive::anchored(&source, anchor).is_none() =>
        {
            bail!("{} has no `ANCHOR: {anchor}`", file.display())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_lines_must_be_commands_of_the_table() {
        assert!(check_try(&["demo", "pool", "--workers", "3"]).is_ok());
        assert!(check_try(&["lesson", "5"]).is_ok());
        let err = check_try(&["demo", "poool"]).unwrap_err().to_string();
        assert!(err.contains("no demo `poool`"), "{err}");
        assert!(check_try(&["frobnicate"]).is_err());
        assert!(check_try(&[]).is_err());
        assert!(check_demo(&["pool", "--workers", "0"]).is_err());
    }

    #[test]
    fn rewriting_keeps_includes_and_indents_cells() {
        let mut cells = BTreeMap::new();
        cells.insert(Job::Demo(vec!["four".into()]), "A\n\nB\n".to_string());
        let md = "- item\n  {{#procbook demo four}}\n{{#include x.rs:demo}}\n{{#include x.rs}}\n";
        let dir = std::env::temp_dir().join(format!("procbook-rewrite-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("x.rs"),
            "fn f() {\n    // ANCHOR: demo\n    let a = 1;\n        b(a);\n    // ANCHOR_END: demo\n}\n",
        )
        .unwrap();
        let got = rewrite(md, &dir, &cells, &BTreeMap::new());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got,
            "- item\n  A\n\n  B\n\nlet a = 1;\n    b(a);\n{{#include x.rs}}\n"
        );
    }
}
