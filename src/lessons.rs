//! The lessons: the book's chapters, embedded in the binary, shown in the terminal with their
//! demos run live beside the paragraph that introduces them.
//!
//! A lesson is a chapter of `book/src`, numbered as `SUMMARY.md` lists them (the introduction
//! is lesson 0). The chapters, the Python scripts they show and the Rust sources they include
//! are all compiled in, so `lesson N` works from any directory, and shows what the book shows.

use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};

use crate::demos::{self, Out};
use crate::directive::{self, Piece};
use crate::engine::{self, cancel};
use crate::term::{self, markdown};

/// Embed files by their path from the workspace root.
macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)))),*]
    };
}

/// Every file a lesson shows, by its path from the workspace root. A chapter that includes a
/// file not listed here still works from the source tree (see [`source`]); the test
/// `every_include_is_embedded` says which to add.
static FILES: &[(&str, &str)] = embed![
    "book/src/SUMMARY.md",
    "book/src/intro.md",
    "book/src/01-what-is-multiprocessing.md",
    "book/src/02-processes-vs-threads.md",
    "book/src/03-the-gil.md",
    "book/src/04-creating-a-process.md",
    "book/src/05-what-is-a-pool.md",
    "book/src/06-creating-a-pool.md",
    "book/src/07-four-processes.md",
    "book/src/08-start-methods.md",
    "book/src/09-ipc.md",
    "book/src/10-crashes.md",
    "book/src/11-costs.md",
    "book/src/12-beyond-one-machine.md",
    "book/src/python/01_first_look.py",
    "book/src/python/02_memory.py",
    "book/src/python/03_gil.py",
    "book/src/python/03_race.py",
    "book/src/python/04_daemon.py",
    "book/src/python/04_parent.py",
    "book/src/python/04_pipe_through_queue.py",
    "book/src/python/04_process.py",
    "book/src/python/04_terminate.py",
    "book/src/python/05_chunksize.py",
    "book/src/python/05_pool_reuse.py",
    "book/src/python/06_pool.py",
    "book/src/python/07_four.py",
    "book/src/python/07_four_pool.py",
    "book/src/python/08_fork_memory.py",
    "book/src/python/08_guard.py",
    "book/src/python/08_pickle_by_name.py",
    "book/src/python/08_start_methods.py",
    "book/src/python/09_ipc.py",
    "book/src/python/10_crash.py",
    "book/src/python/11_costs.py",
    "book/src/python/12_cluster.py",
    "src/main.rs",
    "src/engine/guard.rs",
    "src/engine/pool.rs",
    "src/demos/tasks.rs",
    "src/demos/process.rs",
    "src/demos/pool.rs",
    "src/demos/four.rs",
    "src/demos/gil.rs",
    "src/demos/memory.rs",
    "src/demos/start_methods.rs",
    "src/demos/crash.rs",
    "src/demos/ipc.rs",
];

/// Where the chapters are, from the workspace root.
const BOOK_SRC: &str = "book/src";

/// One lesson: its number, its title, and its chapter file under `book/src`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lesson {
    pub number: u32,
    pub title: String,
    pub file: String,
}

impl Lesson {
    /// The chapter's markdown, if it is embedded (or, failing that, in the source tree).
    pub fn text(&self) -> Option<String> {
        source(&format!("{BOOK_SRC}/{}", self.file))
    }
}

/// Every lesson, in the order of `SUMMARY.md`: the introduction is lesson 0.
pub fn all() -> Vec<Lesson> {
    let summary = source(&format!("{BOOK_SRC}/SUMMARY.md")).unwrap_or_default();
    summary
        .lines()
        .filter_map(|line| {
            let open = line.find('[')?;
            let close = open + line[open..].find("](")?;
            let end = close + line[close..].find(')')?;
            let title = line[open + 1..close].replace('`', "");
            let file = line[close + 2..end].to_string();
            Some((title, file))
        })
        .zip(0..)
        .map(|((title, file), number)| Lesson {
            number,
            title,
            file,
        })
        .collect()
}

/// Lesson `n`, or a message that says which numbers exist.
pub fn find(n: u32) -> Result<Lesson> {
    let all = all();
    match all.iter().find(|l| l.number == n) {
        Some(lesson) => Ok(lesson.clone()),
        None => bail!(
            "there is no lesson {n}: lessons are 0 to {} (see them with: lessons)",
            all.len().saturating_sub(1)
        ),
    }
}

/// The number of the last lesson.
pub fn last() -> u32 {
    all().last().map_or(0, |l| l.number)
}

/// `lessons`: the numbers and titles.
pub fn list(out: Out) -> Result<()> {
    writeln!(
        out,
        "{}",
        term::heading("Lessons (open one with: lesson N)")
    )?;
    for lesson in all() {
        let missing = if lesson.text().is_some() {
            ""
        } else {
            " (not written yet)"
        };
        writeln!(out, "  {:>2}  {}{missing}", lesson.number, lesson.title)?;
    }
    Ok(())
}

/// A file from the workspace, by its path from the root: embedded if it is listed in
/// [`FILES`], else read from the source tree procbook was built from (while the book is being
/// written, a new file may not be listed yet).
pub fn source(path: &str) -> Option<String> {
    if let Some((_, text)) = FILES.iter().find(|(p, _)| *p == path) {
        return Some((*text).to_string());
    }
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).ok()
}

/// An include path as a chapter writes it (relative to `book/src`), from the workspace root.
pub fn from_root(chapter_relative: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let joined: PathBuf = Path::new(BOOK_SRC).join(chapter_relative);
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

/// What `{{#include path:anchor}}` shows: the anchored lines, or the whole file without its
/// anchor markers, as mdBook does.
fn included(path: &str, anchor: Option<&str>) -> String {
    let root = from_root(path);
    let Some(text) = source(&root) else {
        return format!("({root} is not available in this build)\n");
    };
    match anchor {
        Some(anchor) => directive::anchored(&text, anchor)
            .unwrap_or_else(|| format!("(no anchor `{anchor}` in {root})\n")),
        None => {
            let mut kept = String::new();
            for line in text.lines().filter(|l| !l.contains("ANCHOR")) {
                kept.push_str(line);
                kept.push('\n');
            }
            kept
        }
    }
}

/// A lesson as a run of pieces to lay out: markdown, lines already drawn, live demos, and the
/// edges of the book's `<div>` columns (which say what text introduces a demo).
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Markdown(String),
    Lines(Vec<String>),
    Demo(Vec<String>),
    Open,
    Close,
}

/// Turn a chapter's pieces into segments: includes are spliced into the markdown (they sit in
/// code fences), the other directives become lines or demos.
fn segments(chapter: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut md = String::new();
    let mut last_include: Option<String> = None;
    let flush = |md: &mut String, segments: &mut Vec<Segment>| {
        if !md.trim().is_empty() {
            segments.push(Segment::Markdown(std::mem::take(md)));
        }
        md.clear();
    };
    for piece in directive::parse(chapter) {
        match piece {
            Piece::Text(text) => {
                for line in text.split_inclusive('\n') {
                    let trimmed = line.trim();
                    if trimmed.starts_with("<div") {
                        flush(&mut md, &mut segments);
                        segments.push(Segment::Open);
                    } else if trimmed.starts_with("</div") {
                        flush(&mut md, &mut segments);
                        segments.push(Segment::Close);
                    } else {
                        md.push_str(line);
                    }
                }
            }
            Piece::Include { path, anchor } => {
                md.push_str(included(path, anchor).trim_end_matches('\n'));
                last_include = Some(from_root(path));
            }
            Piece::Demo(words) => {
                flush(&mut md, &mut segments);
                segments.push(Segment::Demo(
                    words.iter().map(|w| (*w).to_string()).collect(),
                ));
            }
            Piece::Python(file) => {
                flush(&mut md, &mut segments);
                let root = from_root(file);
                if last_include.as_deref() != Some(root.as_str()) {
                    // Laid out like any code block: at the width it gets, never split.
                    let code = included(file, None);
                    segments.push(Segment::Markdown(format!("```python\n{code}```\n")));
                }
                segments.push(Segment::Lines(vec![
                    term::dim(&format!(
                        "python: to run it yourself, cd {BOOK_SRC} && python3 {file}"
                    ))
                    .to_string(),
                ]));
            }
            Piece::Try(words) => {
                flush(&mut md, &mut segments);
                segments.push(Segment::Lines(vec![format!(
                    "{} {}",
                    term::heading("try:"),
                    words.join(" ")
                )]));
            }
            Piece::Exercises(n) => {
                flush(&mut md, &mut segments);
                segments.push(Segment::Markdown(exercise_list(n)));
            }
            Piece::Unknown(text) => md.push_str(&format!("`{{{{#procbook {text}}}}}`")),
        }
    }
    flush(&mut md, &mut segments);
    segments
}

/// The chapter's exercises, as a markdown list: what each asks, its file, how to check it.
fn exercise_list(chapter: u32) -> String {
    let list = match crate::grade::exercises_for_chapter(chapter) {
        Ok(list) => list,
        Err(e) => return format!("**Exercises:** could not be listed ({e:#}); type `check`.\n"),
    };
    if list.is_empty() {
        return "**Exercises:** this chapter has no exercises of its own.\n".to_string();
    }
    // The chapter's own `## Exercises` heading stands above the directive.
    let mut md = String::new();
    for ex in list {
        let n = ex.number;
        md.push_str(&format!(
            "- **Exercise {n}** `{}`: {}\\\n  Edit `{}`, then type `check {n}` (stuck? `hint {n}`).\n",
            ex.name,
            ex.summary,
            ex.path.display()
        ));
    }
    md
}

/// What is waiting to be drawn: text that may yet go beside a demo.
enum Pending {
    Markdown(String),
    Lines(Vec<String>),
}

impl Pending {
    /// Prose at `width` columns, code and tables up to `code_width` (see
    /// [`markdown::render_with`]); drawn lines by the one rule of [`term::fit`].
    fn render(&self, width: usize, code_width: usize) -> Vec<String> {
        match self {
            Pending::Markdown(md) => markdown::render_with(md, width, code_width),
            Pending::Lines(lines) => lines.iter().flat_map(|l| term::fit(l, width)).collect(),
        }
    }
}

/// Render the pending items one after another, a blank line between them.
fn render_all(pending: &[Pending], width: usize, code_width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for item in pending {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(item.render(width, code_width));
    }
    lines
}

/// The widest of `lines`, in columns.
fn widest(lines: &[String]) -> usize {
    lines
        .iter()
        .map(|l| term::visible_width(l))
        .max()
        .unwrap_or(0)
}

/// Lays a lesson out as it goes: text is written as soon as it is known not to introduce a
/// demo; the text that does is held back and drawn beside the demo's output.
struct Layout<'o, 'w> {
    out: &'o mut Out<'w>,
    width: usize,
    depth: usize,
    pending: Vec<Pending>,
    printed_any: bool,
    /// Run the demos (false: say where each would run, as tests of the layout want).
    live: bool,
}

impl Layout<'_, '_> {
    fn push(&mut self, item: Pending) -> Result<()> {
        // Outside the book's columns only the last block introduces what follows.
        if self.depth == 0 {
            self.flush()?;
        }
        self.pending.push(item);
        Ok(())
    }

    fn lines(&mut self, lines: &[String]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        if self.printed_any {
            writeln!(self.out)?;
        }
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
        self.printed_any = true;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        for item in pending {
            let lines = item.render(self.width.min(TEXT_WIDTH), self.width);
            self.lines(&lines)?;
        }
        Ok(())
    }

    /// Where the held-back text and a demo's output can stand side by side, the width of the
    /// left column; `None` where they cannot, and so are stacked. The one rule: code and
    /// table rows keep their lines whole on both sides; only prose may wrap, and not narrower
    /// than [`COLUMN_MIN`].
    fn beside(&self, output: &[String]) -> Option<usize> {
        if self.width < term::SIDE_BY_SIDE || self.pending.is_empty() {
            return None;
        }
        let inner = self.width - term::GUTTER_WIDTH;
        // What each side needs whole: its widest code or table line, or room for prose.
        let left_need = widest(&render_all(&self.pending, COLUMN_MIN, usize::MAX / 2));
        let right_natural = widest(output);
        let right_need = output
            .iter()
            .filter(|l| term::is_rigid(l))
            .map(|l| term::visible_width(l))
            .max()
            .unwrap_or(0)
            .max(right_natural.min(COLUMN_MIN));
        if left_need + right_need > inner {
            return None;
        }
        // The output keeps its own lines if it can; the text takes the rest, at least half
        // where the output can spare it (and reads best no wider than TEXT_WIDTH).
        let most = inner - right_need;
        let least = left_need.max(inner / 2).min(most);
        let left = inner.saturating_sub(right_natural).clamp(least, most);
        Some(left.min(TEXT_WIDTH.max(left_need)))
    }

    /// Run a demo and draw its output beside (or under) the text that introduces it.
    fn demo(&mut self, words: &[String]) -> Result<()> {
        let label = term::dim(&format!("live, on this machine: demo {}", words.join(" ")));
        let may_go_beside = self.width >= term::SIDE_BY_SIDE && !self.pending.is_empty();
        if !may_go_beside {
            // The text can be read while the demo runs.
            self.flush()?;
            self.out.flush()?;
        }
        let output = if self.live {
            // Beside the text, nothing shows until the demo is done: say what is running.
            let status = may_go_beside && std::io::stdout().is_terminal();
            if status {
                write!(
                    self.out,
                    "{}",
                    term::dim(&format!("running demo {}…", words.join(" ")))
                )?;
                self.out.flush()?;
            }
            let output = run_demo(words);
            if status {
                write!(self.out, "\r\u{1b}[K")?;
            }
            output?
        } else {
            format!("(demo {} runs here)\n", words.join(" "))
        };
        let mut output: Vec<String> = output.lines().map(String::from).collect();
        output.insert(0, label.to_string());
        let Some(left_room) = self.beside(&output) else {
            // Stacked: the text at its width, then the output under it.
            self.flush()?;
            let lines: Vec<String> = output
                .iter()
                .flat_map(|l| term::fit(l, self.width))
                .collect();
            return self.lines(&lines);
        };
        let pending = std::mem::take(&mut self.pending);
        let left = render_all(&pending, left_room, left_room);
        let left_width = widest(&left).max(1);
        let right_width = self.width - term::GUTTER_WIDTH - left_width;
        let right: Vec<String> = output
            .iter()
            .flat_map(|l| term::fit(l, right_width))
            .collect();
        let lines = term::side_by_side(&left, &right, left_width);
        self.lines(&lines)
    }
}

/// Narrower than this, a column of prose is hard to read: stack instead.
const COLUMN_MIN: usize = 40;

/// Text alone is easier to read at this width, however wide the terminal.
const TEXT_WIDTH: usize = 100;

/// Run `demo WORDS…` as the REPL would, capturing what it prints. A demo that fails shows its
/// error in place of its output; Ctrl-C stops the whole lesson.
fn run_demo(words: &[String]) -> Result<String> {
    let mut buffer: Vec<u8> = Vec::new();
    let result = match demos::parse(words) {
        Ok(args) => demos::run(&args, &mut buffer),
        Err(e) => Err(anyhow::anyhow!(crate::arg::one_line(&e, "see: demo"))),
    };
    let mut text = String::from_utf8_lossy(&buffer).into_owned();
    if let Err(e) = result {
        if is_interrupted(&e) || cancel::requested() {
            return Err(e);
        }
        text.push_str(&format!("{}\n", term::error(&format!("{e:#}"))));
    }
    Ok(text)
}

/// The lines of code lesson `n` shows (its code blocks, includes spliced in, hidden Rust
/// lines left out, tabs as four spaces), trimmed at the end: what a check that no code line
/// is split looks for.
pub fn code_lines(n: u32) -> Result<Vec<String>> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let lesson = find(n)?;
    let Some(text) = lesson.text() else {
        return Ok(Vec::new());
    };
    let mut lines = Vec::new();
    for segment in segments(&text) {
        let Segment::Markdown(md) = segment else {
            continue;
        };
        let mut lang: Option<String> = None;
        for event in Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES) {
            match event {
                Event::Start(Tag::CodeBlock(kind)) => {
                    lang = Some(match kind {
                        CodeBlockKind::Fenced(info) => info.to_string(),
                        CodeBlockKind::Indented => String::new(),
                    });
                }
                Event::End(TagEnd::CodeBlock) => lang = None,
                Event::Text(code) => {
                    let Some(lang) = &lang else { continue };
                    for line in code.lines() {
                        let trimmed = line.trim_start();
                        if lang.starts_with("rust") && (trimmed == "#" || trimmed.starts_with("# "))
                        {
                            continue;
                        }
                        lines.push(line.replace('\t', "    ").trim_end().to_string());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(lines)
}

/// Did Ctrl-C stop this?
pub fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|cause| cause.downcast_ref::<engine::Error>() == Some(&engine::Error::Interrupted))
}

/// `lesson N`: the chapter's text at the terminal's width, its demos run live.
pub fn show(n: u32, out: Out) -> Result<()> {
    show_at(n, term::width(), true, out)
}

/// `lesson N` laid out for a screen `width` columns wide, its demos run if `live`.
pub fn show_at(n: u32, width: usize, live: bool, mut out: Out) -> Result<()> {
    let lesson = find(n)?;
    let Some(text) = lesson.text() else {
        bail!("lesson {n} ({}) is not written yet", lesson.title);
    };
    let mut layout = Layout {
        out: &mut out,
        width,
        depth: 0,
        pending: Vec::new(),
        printed_any: false,
        live,
    };
    for segment in segments(&text) {
        if cancel::requested() {
            return Err(engine::Error::Interrupted.into());
        }
        match segment {
            Segment::Markdown(md) => {
                for block in markdown::blocks(&md) {
                    layout.push(Pending::Markdown(block.to_string()))?;
                }
            }
            Segment::Lines(lines) => layout.push(Pending::Lines(lines))?,
            Segment::Demo(words) => layout.demo(&words)?,
            Segment::Open => {
                layout.flush()?;
                layout.depth += 1;
            }
            Segment::Close => {
                layout.flush()?;
                layout.depth = layout.depth.saturating_sub(1);
            }
        }
    }
    layout.flush()?;
    writeln!(out)?;
    let next = if n < last() {
        format!("next: lesson {} (or type next)", n + 1)
    } else {
        "that was the last lesson".to_string()
    };
    writeln!(out, "{}", term::dim(&format!("end of lesson {n}; {next}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lessons_come_from_the_summary() {
        let all = all();
        assert_eq!(all[0].number, 0);
        assert_eq!(all[0].file, "intro.md");
        assert_eq!(all[4].file, "04-creating-a-process.md");
        assert!(all.iter().all(|l| !l.title.contains('`')));
    }

    #[test]
    fn include_paths_are_resolved_from_the_root() {
        assert_eq!(
            from_root("../../src/demos/pool.rs"),
            "src/demos/pool.rs".to_string()
        );
        assert_eq!(
            from_root("python/06_pool.py"),
            "book/src/python/06_pool.py".to_string()
        );
    }

    #[test]
    fn every_chapter_and_include_is_embedded() {
        let embedded: Vec<&str> = FILES.iter().map(|(p, _)| *p).collect();
        let mut missing = Vec::new();
        for lesson in all() {
            let path = format!("{BOOK_SRC}/{}", lesson.file);
            if !embedded.contains(&path.as_str()) {
                missing.push(path);
                continue;
            }
            let text = lesson.text().unwrap_or_default();
            for piece in directive::parse(&text) {
                if let Piece::Include { path, .. } | Piece::Python(path) = piece {
                    let root = from_root(path);
                    if !embedded.contains(&root.as_str()) {
                        missing.push(root);
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "add these to lessons::FILES: {missing:?}"
        );
    }

    #[test]
    fn directives_become_segments() {
        colored::control::set_override(false);
        let chapter = "Intro.\n\n<div>\n\n**Rust**\n\n```rust\n{{#include ../../src/demos/four.rs:demo}}\n```\n\n{{#procbook demo four}}\n\n</div>\n\n{{#procbook try demo four}}\n";
        let segments = segments(chapter);
        assert_eq!(segments[0], Segment::Markdown("Intro.\n\n".into()));
        assert_eq!(segments[1], Segment::Open);
        let Segment::Markdown(code) = &segments[2] else {
            panic!("{segments:?}")
        };
        assert!(code.contains("Process::new(&PRINT_NUMBER"), "{code}");
        assert_eq!(segments[3], Segment::Demo(vec!["four".into()]));
        assert_eq!(segments[4], Segment::Close);
        assert_eq!(segments[5], Segment::Lines(vec!["try: demo four".into()]));
    }
}
