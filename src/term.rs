//! How procbook looks in a terminal: colour on or off, and the few styles every command shares.

use std::io::IsTerminal;

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

/// Break one line of output (perhaps coloured) into lines at most `width` columns wide, at
/// spaces where possible. Colour is reset at each break so it cannot leak into a neighbour.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if visible_width(line) <= width {
        return vec![line.to_string()];
    }
    let coloured = line.contains('\u{1b}');
    let options = textwrap::Options::new(width.max(1)).break_words(true);
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
