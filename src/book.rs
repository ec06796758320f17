//! `procbook book`: build the book with mdBook, with the real output of every demo and Python
//! snippet under its code like a notebook's cells, then open it or serve it on 127.0.0.1.

pub mod args;
pub mod capture;
pub mod cell;
pub mod dest;
pub mod preprocess;
pub mod serve;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mdbook_driver::MDBook;

use crate::demos::Out;
pub use args::{BookAction, BookArgs};
use preprocess::Procbook;

/// Names another book folder to build instead of procbook's own (the tests use it to build
/// small books with broken directives).
pub const BOOK_ENV: &str = "PROCBOOK_BOOK";

/// The book's folder (book.toml, src/), in the workspace procbook was built from.
pub fn root() -> PathBuf {
    match std::env::var_os(BOOK_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("book"),
    }
}

/// `procbook book …`
pub fn run(args: &BookArgs, out: Out) -> Result<()> {
    if let Some(BookAction::Preprocess { args }) = &args.action {
        return preprocess::run_cli(args, out);
    }
    let dest = match &args.dest {
        Some(dest) => dest.clone(),
        None => root().join("build"),
    };
    // Before any demo runs: a build empties its folder, so it must be one procbook may empty.
    let checked = dest::check(&root(), &dest)?;
    checked.claim()?;
    let dest = checked.path;
    writeln!(
        out,
        "Building the book (running its demos and Python snippets)…"
    )?;
    out.flush()?;
    let started = Instant::now();
    let report = build(&root(), &dest)?;
    writeln!(out, "{}", preprocess::summary(&report))?;
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    let index = dest.join("index.html");
    writeln!(
        out,
        "Built the book in {:.1}s: {}",
        started.elapsed().as_secs_f64(),
        index.display()
    )?;
    if args.serve {
        return serve::serve(&dest, args.open, out);
    }
    if args.open {
        open(&index.display().to_string())?;
        writeln!(out, "Opened it in your browser.")?;
    }
    Ok(())
}

/// Build the book in `book_root` into `dest`, running procbook's preprocessor in this process.
/// `dest` is checked first (see [`dest::check`]): a folder procbook did not write is refused.
pub fn build(book_root: &Path, dest: &Path) -> Result<preprocess::Report> {
    let checked = dest::check(book_root, dest)?;
    checked.claim()?;
    let dest = checked.path.as_path();
    let mut book = MDBook::load(book_root)
        .with_context(|| format!("loading the book in {}", book_root.display()))?;
    book.config.build.build_dir = dest.to_path_buf();
    // The same name as book.toml's `[preprocessor.procbook]`, so it takes that one's place
    // (and order) instead of shelling out to cargo.
    let pre = Procbook::default();
    book.with_preprocessor(pre.clone());
    book.build()
        .with_context(|| format!("building the book into {}", dest.display()))?;
    checked.seal()?;
    Ok(pre.report())
}

/// Open `target` (a file or a URL) in the learner's browser.
pub fn open(target: &str) -> Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let status = std::process::Command::new(opener)
        .arg(target)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => bail!("`{opener} {target}` failed ({s}); open it yourself"),
        Err(_) => bail!("cannot open a browser here (no `{opener}`); open {target} yourself"),
    }
}
