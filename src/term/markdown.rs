//! Markdown to terminal lines: how `lesson N` shows a chapter's text. Headings, emphasis,
//! lists, quotes, code blocks and tables are drawn with `colored` (plain under `NO_COLOR`);
//! HTML, which only arranges the book's web page, is dropped.

use colored::{ColoredString, Colorize};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::visible_width;

/// Render `md` as lines at most `width` columns wide, code and tables included.
pub fn render(md: &str, width: usize) -> Vec<String> {
    render_with(md, width, width)
}

/// Render `md` with prose wrapped at `width` columns, and code and tables (which are never
/// wrapped) given up to `code_width`: a code line longer than that is cut with `…`; a table
/// too wide for it is shown as one record per row.
pub fn render_with(md: &str, width: usize, code_width: usize) -> Vec<String> {
    let mut renderer = Renderer::new(width, code_width);
    for event in Parser::new_ext(md, options()) {
        renderer.event(event);
    }
    renderer.finish()
}

/// The top-level blocks of `md` (paragraphs, headings, lists, code blocks, tables), as slices
/// of the source, so a caller can lay one block out apart from the rest.
pub fn blocks(md: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (event, range) in Parser::new_ext(md, options()).into_offset_iter() {
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    start = range.start;
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    found.push(&md[start..range.end]);
                }
            }
            _ if depth == 0 => found.push(&md[range]),
            _ => {}
        }
    }
    found
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

fn colour_on() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

/// A word being laid out: its text (perhaps coloured) and the columns it takes.
#[derive(Default)]
struct Word {
    text: String,
    width: usize,
}

/// What the lines of the current block are nested in.
enum Container {
    Quote,
    /// A list item: its marker (`• `, `3. `) until the first line is drawn, then spaces.
    Item {
        marker: Option<String>,
        indent: usize,
    },
}

#[derive(Default)]
struct Table {
    rows: Vec<Vec<Word>>,
    row: Vec<Word>,
    cell: Word,
    header_rows: usize,
}

#[derive(Default)]
struct Renderer {
    width: usize,
    code_width: usize,
    lines: Vec<String>,
    words: Vec<Word>,
    word: Word,
    strong: usize,
    emphasis: usize,
    strike: usize,
    code: bool,
    heading: Option<HeadingLevel>,
    links: Vec<String>,
    containers: Vec<Container>,
    lists: Vec<Option<u64>>,
    code_block: Option<(String, String)>,
    table: Option<Table>,
}

impl Renderer {
    fn new(width: usize, code_width: usize) -> Self {
        Renderer {
            width: width.max(20),
            code_width: code_width.max(20),
            ..Renderer::default()
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => match &mut self.code_block {
                Some((_, code)) => code.push_str(&text),
                None => self.text(&text),
            },
            Event::Code(code) => {
                // A code span is never broken across lines: `hint 4` stays whole.
                self.code = true;
                let text = if colour_on() {
                    code.to_string()
                } else {
                    format!("`{code}`")
                };
                if self.table.is_some() {
                    self.text(&text);
                } else {
                    let styled = self.style(&text).to_string();
                    self.word.text.push_str(&styled);
                    self.word.width += visible_width(&text);
                }
                self.code = false;
            }
            Event::SoftBreak => self.end_word(),
            Event::HardBreak => {
                self.end_word();
                self.flush_words();
            }
            Event::Rule => {
                self.flush_words();
                let rule = "─".repeat(self.available().min(40));
                self.emit(super::dim(&rule).to_string());
                self.blank();
            }
            // HTML arranges the web page (columns, wrappers); a terminal has no use for it.
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.flush_words();
                self.heading = Some(level);
            }
            Tag::BlockQuote(_) => {
                self.flush_words();
                self.containers.push(Container::Quote);
            }
            Tag::CodeBlock(kind) => {
                self.flush_words();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.split(',').next().unwrap_or("").into(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code_block = Some((lang, String::new()));
            }
            Tag::List(first) => {
                self.flush_words();
                self.lists.push(first);
            }
            Tag::Item => {
                self.flush_words();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "• ".to_string(),
                };
                let indent = marker.chars().count();
                self.containers.push(Container::Item {
                    marker: Some(marker),
                    indent,
                });
            }
            Tag::Table(_) => {
                self.flush_words();
                self.table = Some(Table::default());
            }
            Tag::Emphasis => self.emphasis += 1,
            Tag::Strong => self.strong += 1,
            Tag::Strikethrough => self.strike += 1,
            Tag::Link { dest_url, .. } => self.links.push(dest_url.to_string()),
            Tag::Image { .. } => self.text("[image:"),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush_words();
                self.blank();
            }
            TagEnd::Heading(level) => {
                self.heading = None;
                let before = self.lines.len();
                self.flush_words();
                let drawn = self.lines[before..]
                    .iter()
                    .map(|l| visible_width(l))
                    .max()
                    .unwrap_or(0);
                let rule = match level {
                    HeadingLevel::H1 => Some("═"),
                    HeadingLevel::H2 => Some("─"),
                    _ => None,
                };
                if let Some(rule) = rule {
                    self.emit(super::dim(&rule.repeat(drawn)).to_string());
                }
                self.blank();
            }
            TagEnd::BlockQuote(_) => {
                self.flush_words();
                self.containers.pop();
                self.blank();
            }
            TagEnd::CodeBlock => {
                if let Some((lang, code)) = self.code_block.take() {
                    self.code_lines(&lang, &code);
                }
                self.blank();
            }
            TagEnd::List(_) => {
                self.flush_words();
                self.lists.pop();
                if !self
                    .containers
                    .iter()
                    .any(|c| matches!(c, Container::Item { .. }))
                {
                    self.blank();
                }
            }
            TagEnd::Item => {
                self.flush_words();
                self.containers.pop();
            }
            TagEnd::TableCell => {
                if let Some(table) = &mut self.table {
                    let cell = std::mem::take(&mut table.cell);
                    table.row.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                if let Some(table) = &mut self.table {
                    let row = std::mem::take(&mut table.row);
                    table.rows.push(row);
                    if tag == TagEnd::TableHead {
                        table.header_rows = table.rows.len();
                    }
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    self.table_lines(table);
                }
                self.blank();
            }
            TagEnd::Emphasis => self.emphasis = self.emphasis.saturating_sub(1),
            TagEnd::Strong => self.strong = self.strong.saturating_sub(1),
            TagEnd::Strikethrough => self.strike = self.strike.saturating_sub(1),
            TagEnd::Link => {
                let dest = self.links.pop().unwrap_or_default();
                if dest.starts_with("http://") || dest.starts_with("https://") {
                    self.end_word();
                    let url = format!("<{dest}>");
                    self.words.push(Word {
                        width: visible_width(&url),
                        text: super::dim(&url).to_string(),
                    });
                }
            }
            TagEnd::Image => self.text("]"),
            _ => {}
        }
    }

    fn style(&self, text: &str) -> ColoredString {
        let mut s = ColoredString::from(text);
        if self.code {
            s = s.cyan();
        }
        if self.strong > 0 || self.heading.is_some() {
            s = s.bold();
        }
        if self.emphasis > 0 {
            s = s.italic();
        }
        if self.strike > 0 {
            s = s.strikethrough();
        }
        if !self.links.is_empty() {
            s = s.underline();
        }
        s
    }

    /// Inline text: split into words, each styled on its own so a line break never cuts a
    /// coloured span in two.
    fn text(&mut self, text: &str) {
        if self.table.is_some() {
            // Each word styled on its own, so a cell can be wrapped at its spaces.
            let styled: Vec<String> = text
                .split(' ')
                .map(|w| {
                    if w.is_empty() {
                        String::new()
                    } else {
                        self.style(w).to_string()
                    }
                })
                .collect();
            let Some(table) = &mut self.table else { return };
            table.cell.text.push_str(&styled.join(" "));
            table.cell.width += visible_width(text);
            return;
        }
        for (i, part) in text.split(char::is_whitespace).enumerate() {
            if i > 0 {
                self.end_word();
            }
            if !part.is_empty() {
                let styled = self.style(part).to_string();
                self.word.text.push_str(&styled);
                self.word.width += visible_width(part);
            }
        }
    }

    fn end_word(&mut self) {
        if !self.word.text.is_empty() {
            let word = std::mem::take(&mut self.word);
            self.words.push(word);
        }
    }

    /// Columns left for text once the containers' prefixes are drawn.
    fn available(&self) -> usize {
        self.width.saturating_sub(self.indent()).max(10)
    }

    /// Columns left for code and tables once the containers' prefixes are drawn.
    fn code_available(&self) -> usize {
        self.code_width.saturating_sub(self.indent()).max(10)
    }

    /// Columns the containers' prefixes take.
    fn indent(&self) -> usize {
        self.containers
            .iter()
            .map(|c| match c {
                Container::Quote => 2,
                Container::Item { indent, .. } => *indent,
            })
            .sum()
    }

    fn prefix(&mut self) -> String {
        let mut prefix = String::new();
        for c in &mut self.containers {
            match c {
                Container::Quote => prefix.push_str(&super::dim("│ ").to_string()),
                Container::Item { marker, indent } => match marker.take() {
                    Some(m) => prefix.push_str(&m),
                    None => prefix.push_str(&" ".repeat(*indent)),
                },
            }
        }
        prefix
    }

    fn emit(&mut self, line: String) {
        let prefix = self.prefix();
        self.lines
            .push(format!("{prefix}{line}").trim_end().to_string());
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// Lay the words gathered so far out as lines, greedily.
    fn flush_words(&mut self) {
        self.end_word();
        if self.words.is_empty() {
            return;
        }
        let available = self.available();
        let words = std::mem::take(&mut self.words);
        let mut line = String::new();
        let mut used = 0;
        for word in words {
            if used > 0 && used + 1 + word.width > available {
                self.emit(std::mem::take(&mut line));
                used = 0;
            }
            if used > 0 {
                line.push(' ');
                used += 1;
            }
            line.push_str(&word.text);
            used += word.width;
        }
        if used > 0 {
            self.emit(line);
        }
    }

    fn code_lines(&mut self, lang: &str, code: &str) {
        let available = self.code_available().saturating_sub(4).max(10);
        for line in code.lines() {
            // mdBook hides `# `-prefixed lines of Rust blocks; so do we.
            let trimmed = line.trim_start();
            if lang.starts_with("rust") && (trimmed == "#" || trimmed.starts_with("# ")) {
                continue;
            }
            let line = line.replace('\t', "    ");
            // Never split: a line that does not fit is cut, and says so with `…`.
            let line = super::cut(&line, available);
            self.emit(format!("    {}", line.green()));
        }
    }

    fn table_lines(&mut self, table: Table) {
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for row in &table.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.width);
            }
        }
        let gaps = 2 * columns.saturating_sub(1);
        // A row is one line: a table too wide for the space is shown as records instead.
        if widths.iter().sum::<usize>() + gaps > self.code_available() {
            return self.table_records(table);
        }
        for (r, row) in table.rows.iter().enumerate() {
            let header = r < table.header_rows;
            let parts: Vec<String> = (0..columns)
                .map(|i| {
                    let text = row.get(i).map_or(String::new(), |cell| {
                        if header {
                            cell.text.bold().to_string()
                        } else {
                            cell.text.clone()
                        }
                    });
                    super::pad(&text, widths[i])
                })
                .collect();
            self.emit(parts.join("  "));
            if r + 1 == table.header_rows {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.emit(super::dim(&rule.join("  ")).to_string());
            }
        }
    }

    /// A table that cannot fit even wrapped: one record per row, `header: value`.
    fn table_records(&mut self, table: Table) {
        let header: Vec<String> = table
            .rows
            .get(..table.header_rows)
            .and_then(|h| h.last())
            .map(|h| h.iter().map(|c| c.text.clone()).collect())
            .unwrap_or_default();
        for row in table.rows.iter().skip(table.header_rows) {
            for (i, cell) in row.iter().enumerate() {
                let name = header.get(i).cloned().unwrap_or_default();
                let mut words: Vec<Word> = vec![Word {
                    width: visible_width(&name) + 1,
                    text: format!("{}:", name.bold()),
                }];
                words.extend(
                    cell.text
                        .split(' ')
                        .filter(|w| !w.is_empty())
                        .map(|w| Word {
                            width: visible_width(w),
                            text: w.to_string(),
                        }),
                );
                self.words = words;
                self.flush_words();
            }
            self.blank();
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.flush_words();
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        self.lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(md: &str, width: usize) -> String {
        colored::control::set_override(false);
        render(md, width).join("\n")
    }

    #[test]
    fn headings_paragraphs_and_emphasis() {
        let text = plain(
            "# Title\n\nSome *soft* and **strong** words with `code` in them.\n",
            80,
        );
        assert_eq!(
            text,
            "Title\n═════\n\nSome soft and strong words with `code` in them."
        );
    }

    #[test]
    fn paragraphs_wrap_at_the_width() {
        let text = plain("one two three four five six seven eight nine ten", 20);
        for line in text.lines() {
            assert!(line.chars().count() <= 20, "{line:?}");
        }
        assert_eq!(text.split_whitespace().count(), 10);
    }

    #[test]
    fn lists_code_and_tables() {
        let md = "- first item\n- second\n  1. nested\n\n```rust,ignore\n# hidden\nlet x = 1;\n```\n\n| a | b |\n| --- | --- |\n| 1 | two |\n";
        assert_eq!(
            plain(md, 80),
            "• first item\n• second\n  1. nested\n\n    let x = 1;\n\na  b\n─  ───\n1  two"
        );
    }

    #[test]
    fn html_is_dropped_and_blocks_are_found() {
        let md = "<div class=\"x\">\n\nText here.\n\n</div>\n";
        assert_eq!(plain(md, 80), "Text here.");
        let md = "# H\n\npara one\nstill one\n\n```\ncode\n```\n";
        assert_eq!(
            blocks(md),
            vec!["# H\n", "para one\nstill one\n", "```\ncode\n```"]
        );
    }

    #[test]
    fn a_table_keeps_each_row_on_one_line_or_becomes_records() {
        let md = "| name | meaning |\n| --- | --- |\n| zero | the function returned normally |\n";
        assert_eq!(
            plain(md, 40),
            "name  meaning\n────  ──────────────────────────────\nzero  the function returned normally"
        );
        assert_eq!(
            plain(md, 24),
            "name: zero\nmeaning: the function\nreturned normally"
        );
        colored::control::set_override(false);
        assert_eq!(
            render_with(md, 20, 40).join("\n"),
            plain(md, 40),
            "tables may use the code width"
        );
    }

    #[test]
    fn code_is_cut_with_a_marker_never_split() {
        let md = "```python\nprint(\"a long string literal that must not be broken\")\nok()\n```\n";
        let text = plain(md, 30);
        assert_eq!(text, "    print(\"a long string lite…\n    ok()");
        colored::control::set_override(false);
        let wide = render_with(md, 20, 100).join("\n");
        assert!(
            wide.contains("print(\"a long string literal that must not be broken\")"),
            "code may be wider than prose: {wide}"
        );
    }
}
