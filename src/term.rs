//! How procbook looks in a terminal: colour on or off, and the few styles every command shares.

use std::io::{IsTerminal, Write};

pub mod markdown;

use colored::{ColoredString, Colorize};

/// Colour only for a person at a terminal: off under `NO_COLOR` or when output is piped.
pub fn init_colour() {
    let wanted = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    colored::control::set_override(wanted);
}

/// A process's name and PID, as every demo tags a line: `[SpawnPoolWorker-3 pid 4711]`.
pub fn tag(name: &str, pid: u32) -> ColoredString {
    format!("[{name} pid {pid}]").cyan()
}

/// A heading line.
pub fn heading(text: &str) -> ColoredString {
    text.bold()
}

/// The closing "what to notice" lines of a demo.
pub fn notice(text: &str) -> ColoredString {
    format!("note: {text}").yellow()
}

/// A one-line error for the learner.
pub fn error(text: &str) -> ColoredString {
    format!("error: {text}").red().bold()
}

/// Dimmed text: hints, labels, rules.
pub fn dim(text: &str) -> ColoredString {
    text.dimmed()
}

/// The one line printed when Ctrl-C stopped a command.
pub fn interrupted(text: &str) -> ColoredString {
    text.yellow()
}

/// How many columns the output has: the terminal's width when stdout is one, else `COLUMNS`,
/// else 80. Piped output (tests, transcripts) can ask for a width with `COLUMNS`.
pub fn width() -> usize {
    let columns = || {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
    };
    let width = if std::io::stdout().is_terminal() {
        terminal_columns().or_else(columns)
    } else {
        columns()
    };
    width.unwrap_or(80).clamp(MIN_WIDTH, MAX_WIDTH)
}

/// Narrower than this and nothing fits; wider and lines get hard to read.
const MIN_WIDTH: usize = 40;
const MAX_WIDTH: usize = 240;

/// From this width on, a lesson shows a demo's output beside the text that introduces it.
pub const SIDE_BY_SIDE: usize = 120;

/// Between the two columns of a side-by-side layout.
const GUTTER: &str = " │ ";

fn terminal_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes a `winsize` into the struct we pass, which outlives the call.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// The columns `text` takes on screen: ANSI colour sequences take none.
pub fn visible_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(strip_ansi(text).as_str())
}

/// `text` without its ANSI escape sequences.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One line of output laid out in `width` columns by the one rule: see [`fit`].
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    fit(line, width)
}

/// `text` padded with spaces to `width` visible columns.
pub fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(visible_width(text));
    format!("{text}{}", " ".repeat(fill))
}

/// Columns the gutter between side-by-side columns takes.
pub const GUTTER_WIDTH: usize = 3;

/// Two columns of lines joined row by row, the left one padded to `left_width` columns.
pub fn side_by_side(left: &[String], right: &[String], left_width: usize) -> Vec<String> {
    let gutter = dim(GUTTER).to_string();
    (0..left.len().max(right.len()))
        .map(|i| {
            let l = left.get(i).map_or("", String::as_str);
            let r = right.get(i).map_or("", String::as_str);
            format!("{}{gutter}{r}", pad(l, left_width))
                .trim_end()
                .to_string()
        })
        .collect()
}

/// `1 worker`, `2 workers`: a count and its noun, plural when it is not one.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Print a message line on stderr, fitted to the terminal's width when stderr is one.
pub fn eprint_line(text: &str) {
    if std::io::stderr().is_terminal() {
        for line in fit(text, width()) {
            eprintln!("{line}");
        }
    } else {
        eprintln!("{text}");
    }
}

/// 1234567 as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A word as a message quotes it: control characters escaped, and cut short if very long.
pub fn shown(word: &str) -> String {
    const LONGEST: usize = 40;
    let mut text: String = word
        .chars()
        .take(LONGEST)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if word.chars().count() > LONGEST {
        text.push('…');
    }
    text
}

/// Whether a line of output is laid out in columns (a table row, a bar, a box) and so must
/// stay one line: two or more gaps of two spaces between its words, or a drawing character.
/// Other lines are prose and may wrap at their spaces.
pub fn is_rigid(line: &str) -> bool {
    let plain = strip_ansi(line);
    let text = plain.trim();
    if text
        .chars()
        .any(|c| matches!(c, '█' | '▏' | '▌' | '░' | '▒' | '│' | '─' | '═' | '┃' | '┼'))
    {
        return true;
    }
    text.split("  ")
        .filter(|part| !part.trim().is_empty())
        .count()
        >= 3
}

/// `line` cut to `width` columns, its last visible column a `…` when anything was cut.
/// Colour sequences are kept whole (and reset at the cut).
pub fn cut(line: &str, width: usize) -> String {
    if visible_width(line) <= width {
        return line.to_string();
    }
    let room = width.saturating_sub(1);
    let mut out = String::with_capacity(line.len());
    let mut used = 0;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            out.push(c);
            if chars.next_if_eq(&'[').is_some() {
                out.push('[');
                for c in chars.by_ref() {
                    out.push(c);
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    if line.contains('\u{1b}') {
        out.push_str("\u{1b}[0m");
    }
    out
}

/// One line of output fitted to `width` columns by the one layout rule: a line that fits is
/// left alone; a rigid line (see [`is_rigid`]) is cut with `…`, never split; prose wraps at
/// its spaces, its later lines indented under where its text starts (`  name   about` wraps
/// under `about`).
pub fn fit(line: &str, width: usize) -> Vec<String> {
    let width = width.max(MIN_FIT);
    if visible_width(line) <= width {
        return vec![line.to_string()];
    }
    if is_rigid(line) {
        return vec![cut(line, width)];
    }
    let plain = strip_ansi(line);
    let indent = hanging_indent(&plain).min(width / 2);
    let coloured = line.contains('\u{1b}');
    let subsequent = " ".repeat(indent);
    let options = textwrap::Options::new(width)
        .break_words(true)
        .subsequent_indent(&subsequent);
    textwrap::wrap(line, options)
        .into_iter()
        .map(|l| {
            if coloured {
                format!("{l}\u{1b}[0m")
            } else {
                l.into_owned()
            }
        })
        .collect()
}

/// Narrower than this, fitting would only make a ladder of words.
const MIN_FIT: usize = 20;

/// Where the text of a prose line's later lines starts: under the text after a first gap of
/// two spaces (`  name   about`), else two columns in from the line's own start, so that a
/// wrapped line cannot be taken for a new one.
fn hanging_indent(plain: &str) -> usize {
    let lead = plain.len() - plain.trim_start().len();
    let rest = &plain[lead..];
    if let Some(gap) = rest.find("  ") {
        let after = rest[gap..].len() - rest[gap..].trim_start().len();
        let col = lead + gap + after;
        return unicode_width::UnicodeWidthStr::width(&plain[..col]);
    }
    lead + 2
}

/// A writer that fits each line to the terminal's width as it is written (see [`fit`]); on a
/// pipe, where there is no width, it passes lines through untouched. A machine-readable line
/// (one that starts with `{`, such as `bench --json`'s) is never changed.
pub struct Fit<W: Write> {
    inner: W,
    /// `None`: pass through. `Some(None)`: ask the terminal at each line (it may be resized).
    width: Option<Option<usize>>,
    pending: Vec<u8>,
    /// Columns already written on the current row by a flush before its newline.
    started: usize,
}

impl Fit<std::io::Stdout> {
    /// Standard output, fitted when it is a terminal.
    pub fn stdout() -> Self {
        let at_terminal = std::io::stdout().is_terminal();
        Fit {
            inner: std::io::stdout(),
            width: at_terminal.then_some(None),
            pending: Vec::new(),
            started: 0,
        }
    }
}

impl<W: Write> Fit<W> {
    /// A writer that fits every line to `width` columns, terminal or not.
    pub fn with_width(inner: W, width: usize) -> Self {
        Fit {
            inner,
            width: Some(Some(width)),
            pending: Vec::new(),
            started: 0,
        }
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        let Some(width) = self.width else {
            return self.inner.write_all(line);
        };
        let width = width.unwrap_or_else(self::width);
        let text = String::from_utf8_lossy(line);
        let body = text.strip_suffix('\n').unwrap_or(&text);
        // What follows a carriage return (a status line written over) is what shows.
        let (head, body) = match body.rfind('\r') {
            Some(i) => (&body[..=i], &body[i + 1..]),
            None => ("", body),
        };
        let room = if head.is_empty() {
            width.saturating_sub(self.started)
        } else {
            width
        };
        self.started = 0;
        self.inner.write_all(head.as_bytes())?;
        if body.trim_start().starts_with('{') || visible_width(body) <= room {
            self.inner.write_all(body.as_bytes())?;
        } else {
            if room < width {
                self.inner.write_all(b"\n")?;
            }
            let lines = fit(body, width);
            self.inner.write_all(lines.join("\n").as_bytes())?;
        }
        if text.ends_with('\n') {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Fit<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.write_line(&line)?;
        }
        Ok(buf.len())
    }

    /// A partial line (a prompt, a "running…" status) is written as it is, so it shows now.
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let partial = std::mem::take(&mut self.pending);
            let text = String::from_utf8_lossy(&partial);
            let shown = text.rsplit('\r').next().unwrap_or("");
            self.started = if text.contains('\r') {
                visible_width(shown)
            } else {
                self.started + visible_width(shown)
            };
            self.inner.write_all(&partial)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Fit<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_wraps_under_its_text_and_rows_are_cut_never_split() {
        let help =
            "  lesson N        Show lesson N: the chapter's text with the live output of its demos";
        assert_eq!(
            fit(help, 60),
            vec![
                "  lesson N        Show lesson N: the chapter's text with the",
                "                  live output of its demos",
            ]
        );
        let row =
            "Rust, 2 threads             0.648 s    1.00x    0.5  ██████████ 100%  ██████████ 100%";
        assert!(is_rigid(row));
        assert_eq!(fit(row, 60), vec![cut(row, 60)]);
        assert_eq!(visible_width(&cut(row, 60)), 60);
        assert!(cut(row, 60).ends_with('…'));
        assert_eq!(fit("note: short", 60), vec!["note: short"]);
        let note = "note: one two three four five six seven eight nine ten eleven twelve";
        let lines = fit(note, 30);
        assert!(lines.iter().all(|l| visible_width(l) <= 30), "{lines:?}");
        assert!(
            lines[1].starts_with("  "),
            "a later line is indented: {lines:?}"
        );
    }

    #[test]
    fn colour_survives_a_cut_and_takes_no_columns() {
        let red = "\u{1b}[31mabcdefghij\u{1b}[0m";
        let cut = cut(red, 5);
        assert_eq!(strip_ansi(&cut), "abcd…");
        assert!(cut.starts_with("\u{1b}[31m") && cut.ends_with("\u{1b}[0m"));
    }

    #[test]
    fn the_fit_writer_fits_whole_lines_and_leaves_json_alone() {
        let mut out = Vec::new();
        {
            let mut fit = Fit::with_width(&mut out, 20);
            write!(
                fit,
                "one two three four five six\n{{\"a\": \"a long value that stays\"}}\nsta"
            )
            .unwrap();
            fit.flush().unwrap();
            writeln!(fit, "tus").unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "one two three four\n  five six\n{\"a\": \"a long value that stays\"}\nstatus\n"
        );
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "worker"), "1 worker");
        assert_eq!(plural(4, "worker"), "4 workers");
    }
}
