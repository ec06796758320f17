//! The REPL: `procbook` with no arguments. A prompt (rustyline) that reads one command a line,
//! parses it with the same table as the command line, and runs it; lessons remember where the
//! learner is, so `next` and `prev` work. Piped stdin runs a script the same way, silently.

pub mod counter;
pub mod helper;
pub mod history;
pub mod line;

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use clap::Parser;
use clap::error::ErrorKind;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::{FileHistory, History};
use rustyline::{
    Cmd, ConditionalEventHandler, Editor, Event, EventContext, EventHandler, KeyEvent, RepeatCount,
};

use crate::commands::Command;
use crate::demos::{self, Out, show_event};
use crate::dispatch;
use crate::engine::{self, Pool, cancel};
use crate::{lessons, sys, term};
use helper::ReplHelper;
use line::{Input, Line};

/// What the REPL prints when it opens.
const TITLE: &str = "procbook: multiprocessing, run for real on this machine";

/// What to type first, under the welcome.
const FIRST_STEPS: &str = "Type `lesson 0` to begin (then `next`), `demo process` to watch a \
process start, or `help` for every command.";

/// The keys, for the welcome and `help`.
const KEYS: &str = "Tab completes; Up recalls history; Ctrl-C stops a running demo (or clears \
the line); Ctrl-D or `quit` leaves.";

/// The prompt.
const PROMPT: &str = "procbook> ";

/// The environment variable that overrides where history is kept (a path, or a non-file such
/// as /dev/null for none).
pub const HISTORY_ENV: &str = "PROCBOOK_HISTORY";

/// What to do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Clear,
    Quit,
}

/// What the REPL remembers between lines: the lesson the learner is on.
#[derive(Debug)]
pub struct Session {
    pub lesson: Option<u32>,
    /// Whether lessons run their demos (tests of the text and navigation turn this off).
    pub live: bool,
    /// Where to keep the lesson opened last, for the next session (see [`lesson_path`]).
    pub remember: Option<PathBuf>,
    /// Whether the worker-number counter has been explained (see [`counter`]).
    pub counter_explained: bool,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            lesson: None,
            live: true,
            remember: None,
            counter_explained: false,
        }
    }
}

impl Session {
    pub fn new() -> Self {
        Session::default()
    }

    /// Run one line as typed at the prompt. A learner's mistake comes back as an error whose
    /// text is one line, ready to print; nothing typed makes this panic.
    pub fn eval_line(&mut self, text: &str, out: Out) -> Result<Flow> {
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            return Ok(Flow::Continue);
        }
        // Any Unicode space (a no-break space pasted from a web page, an ideographic space)
        // separates words as a plain space does: shlex alone knows only ASCII's.
        let text = spaces_as_spaces(text);
        let Some(words) = shlex::split(&text) else {
            bail!("a quote is not closed in that line; type the command without it");
        };
        let Some(first) = words.first() else {
            return Ok(Flow::Continue);
        };
        if matches!(first.as_str(), "-h" | "--help" | "?") {
            help(None, out)?;
            return Ok(Flow::Continue);
        }
        let Some(command) = line::find(first) else {
            bail!(unknown_command(first));
        };
        if words.iter().skip(1).any(|w| w == "-h" || w == "--help") {
            // `demo pool --help`: that demo's own help, not the generic `demo` help.
            let demo = words
                .iter()
                .skip(1)
                .find(|w| !w.starts_with('-'))
                .filter(|w| command.get_name() == "demo" && demos::find(w).is_some());
            help(Some(demo.map_or(command.get_name(), String::as_str)), out)?;
            return Ok(Flow::Continue);
        }
        let input = match Input::try_parse_from(&words) {
            Ok(input) => input,
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                help(Some(command.get_name()), out)?;
                return Ok(Flow::Continue);
            }
            Err(e) => bail!(crate::arg::one_line(
                &e,
                &format!("usage: {}", line::usage(&command))
            )),
        };
        let taken = crate::engine::child::identities_taken();
        let mut watch = counter::Watch::new(out);
        let flow = self.run(input.line, &mut watch);
        let first = watch.first().cloned();
        if let Some(note) = counter::note(first.as_ref(), taken, &mut self.counter_explained) {
            writeln!(out, "{}", term::notice(&note))?;
        }
        flow
    }

    fn run(&mut self, line: Line, out: Out) -> Result<Flow> {
        match line {
            Line::Help { command, demo } => match (command.as_deref(), demo.as_deref()) {
                (Some("demo"), Some(name)) => {
                    if demos::find(&name.to_lowercase()).is_none() {
                        bail!(demos::unknown(name))
                    }
                    help(Some(name), out)?
                }
                (Some(first), Some(_)) => {
                    bail!(
                        "help takes one command or demo; try: help {}",
                        term::shown(first)
                    )
                }
                (topic, _) => help(topic, out)?,
            },
            Line::Next => {
                let n = match self.lesson {
                    None => 0,
                    Some(n) if n >= lessons::last() => {
                        bail!("lesson {n} is the last one; type lessons to pick another")
                    }
                    Some(n) => n + 1,
                };
                self.lesson(n, out)?;
            }
            Line::Prev => match self.lesson {
                None => bail!("no lesson is open yet; start with: lesson 0"),
                Some(0) => bail!("lesson 0 is the first one; type next to go on"),
                Some(n) => self.lesson(n - 1, out)?,
            },
            Line::Clear => return Ok(Flow::Clear),
            Line::Quit => return Ok(Flow::Quit),
            Line::Nap { ms, workers } => nap(ms, workers as usize, out)?,
            Line::Shared(Command::Lesson { n }) => self.lesson(n, out)?,
            Line::Shared(command) => dispatch::run(&command, out)?,
        }
        Ok(Flow::Continue)
    }

    fn lesson(&mut self, n: u32, out: Out) -> Result<()> {
        lessons::find(n)?;
        self.lesson = Some(n);
        if let Some(path) = &self.remember {
            // Losing the bookmark is not worth stopping the lesson for.
            let _ = path
                .parent()
                .map(std::fs::create_dir_all)
                .unwrap_or(Ok(()))
                .and_then(|()| std::fs::write(path, format!("{n}\n")));
        }
        lessons::show_at(n, term::width(), self.live, out)
    }
}

/// `text` with every Unicode whitespace character made an ASCII space.
fn spaces_as_spaces(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect()
}

/// The one line for a word that is not a command: the closest command, a demo's or a lesson's
/// full form, or where to look.
fn unknown_command(word: &str) -> String {
    let word = &term::shown(word);
    if demos::find(word).is_some() {
        return format!("unknown command '{word}'; to run that demo, type: demo {word}");
    }
    if word.parse::<u32>().is_ok() {
        return format!("unknown command '{word}'; to open that lesson, type: lesson {word}");
    }
    // `LESSON 4`, `Demo`: commands are lower case.
    let lower = word.to_lowercase();
    if lower != *word && line::find(&lower).is_some() {
        return format!(
            "unknown command '{word}'; commands are lower case: did you mean '{lower}'?"
        );
    }
    match line::closest(word) {
        Some(near) => format!("unknown command '{word}'; did you mean '{near}'? (type help)"),
        None => format!("unknown command '{word}'; type help to see the commands"),
    }
}

/// `help`: every command; `help CMD`: how to use one; `help DEMO`: what a demo shows.
pub fn help(topic: Option<&str>, out: Out) -> Result<()> {
    let Some(topic) = topic else {
        writeln!(out, "{}", term::heading("Commands"))?;
        let commands = line::visible();
        let rows: Vec<(String, String)> = commands
            .iter()
            .map(|c| {
                let args = line::args(c, false);
                let name = format!("{} {args}", c.get_name()).trim_end().to_string();
                let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
                (name, about)
            })
            .collect();
        let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (name, about) in rows {
            writeln!(out, "  {name:<width$}  {about}")?;
        }
        let names: Vec<&str> = line::demo_names().collect();
        writeln!(
            out,
            "\n{} {} (run one with: demo NAME)",
            term::heading("Demos:"),
            names.join(", ")
        )?;
        writeln!(
            out,
            "{}",
            term::dim(&format!("help CMD for details. {KEYS}"))
        )?;
        return Ok(());
    };
    if let Some(command) = line::find(topic) {
        let name = command.get_name().to_string();
        let mut command = command.bin_name(name);
        let text = command.render_long_help().to_string();
        writeln!(out, "{}", text.trim_end())?;
        if command.get_name() == "demo" {
            writeln!(out)?;
            demos::list(out)?;
        }
        return Ok(());
    }
    if let Some(demo) = demos::find(topic) {
        let options = if demo.options.is_empty() {
            "no options".to_string()
        } else {
            let usage: Vec<String> = demo
                .options
                .iter()
                .map(|o| line::option_usage("demo", o))
                .collect();
            format!("options: {}", usage.join(" "))
        };
        writeln!(
            out,
            "demo {}: {} (lesson {}; {options})",
            demo.name, demo.summary, demo.lesson
        )?;
        writeln!(out, "{} demo {}", term::heading("try:"), demo.name)?;
        return Ok(());
    }
    // `help POOL`, `help Lesson`: names are lower case, and help may as well say so by helping.
    let lower = topic.to_lowercase();
    if lower != topic && (line::find(&lower).is_some() || demos::find(&lower).is_some()) {
        return help(Some(&lower), out);
    }
    bail!(unknown_command(topic))
}

/// `nap MS`: a pool whose workers sleep, so Ctrl-C has something to stop (hidden: for tests
/// and for trying Ctrl-C out).
fn nap(ms: u64, workers: usize, out: Out) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let pool = Pool::builder().workers(workers).events(&tx).start()?;
    drop(tx);
    for event in rx.try_iter() {
        show_event(out, &event)?;
    }
    writeln!(
        out,
        "each worker sleeps {ms} ms; press Ctrl-C to stop them early"
    )?;
    out.flush()?;
    let result = pool.map_chunked(&demos::tasks::SLEEP_MS, vec![ms; workers], 1);
    drop(pool);
    for event in rx.try_iter() {
        show_event(out, &event)?;
    }
    result?;
    writeln!(out, "{}", term::notice("every worker slept and was reaped"))?;
    Ok(())
}

/// The welcome: the machine, the lessons, what to type first.
pub fn welcome(out: Out) -> Result<()> {
    writeln!(out, "{}", term::heading(TITLE))?;
    writeln!(
        out,
        "{} {}\n",
        term::heading("This machine:"),
        sys::machine().describe()
    )?;
    lessons::list(out)?;
    writeln!(out, "\n{FIRST_STEPS}")?;
    writeln!(out, "{}", term::dim(KEYS))?;
    Ok(())
}

/// Where history is kept: `$PROCBOOK_HISTORY`, else `<data dir>/procbook/history`. A path that
/// exists but is not a regular file (such as /dev/null) means: keep none.
pub fn history_path() -> Option<PathBuf> {
    let path = match std::env::var_os(HISTORY_ENV) {
        Some(p) if p.is_empty() => return None,
        Some(p) => PathBuf::from(p),
        None => dirs::data_dir()?.join("procbook").join("history"),
    };
    match std::fs::metadata(&path) {
        Ok(meta) if !meta.is_file() => None,
        _ => Some(path),
    }
}

/// Print what went wrong with a line: one line on stderr.
fn report(e: &anyhow::Error) {
    if lessons::is_interrupted(e) {
        // At a terminal the `^C` echo is on this line: write over it.
        let start = if std::io::stderr().is_terminal() {
            "\r"
        } else {
            ""
        };
        let text = term::interrupted(&engine::Error::Interrupted.to_string());
        eprintln!("{start}{text}");
    } else {
        term::eprint_line(&term::error(&format!("{e:#}")).to_string());
    }
}

/// Open the REPL (or run the script on stdin), until `quit` or end of input.
pub fn run() -> ExitCode {
    // Messages now name commands as typed here: `hint 1`, not `procbook hint 1`.
    crate::grade::enter_repl();
    if std::io::stdin().is_terminal() {
        interactive()
    } else {
        script()
    }
}

/// Piped stdin: one command a line, no prompt, no welcome. A line that fails is reported with
/// its number and the script goes on; a line that is not UTF-8 is reported and skipped. It
/// stops at Ctrl-C, and at once when its output is closed (`procbook < script | head`). The
/// exit status is non-zero when any line failed, and the last line on stderr says how many.
fn script() -> ExitCode {
    let mut session = Session::new();
    let mut stdout = std::io::stdout();
    let mut stdin = std::io::stdin().lock();
    let mut failed = 0usize;
    let mut number = 0usize;
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match stdin.read_until(b'\n', &mut bytes) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("{}", term::error(&format!("reading the script: {e}")));
                failed += 1;
                break;
            }
        }
        number += 1;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            eprintln!(
                "{}",
                term::error(&format!("line {number} is not UTF-8 text; skipped it"))
            );
            failed += 1;
            continue;
        };
        cancel::clear();
        let result = session.eval_line(text, &mut stdout);
        let result = result.and_then(|flow| stdout.flush().map(|()| flow).map_err(Into::into));
        match result {
            Ok(Flow::Quit) => break,
            Ok(_) => {}
            // The reader went away: nobody is left to show anything to.
            Err(e) if is_broken_pipe(&e) => return ExitCode::SUCCESS,
            Err(e) => {
                if lessons::is_interrupted(&e) {
                    report(&e);
                    return ExitCode::from(130);
                }
                failed += 1;
                eprintln!("{}", term::error(&format!("line {number}: {e:#}")));
            }
        }
    }
    if failed == 0 {
        return ExitCode::SUCCESS;
    }
    // "1 of 2 lines failed": the noun counts the lines of the script, not the failures.
    let lines = if number == 1 { "line" } else { "lines" };
    eprintln!(
        "{}",
        term::error(&format!("{failed} of {number} {lines} failed"))
    );
    ExitCode::FAILURE
}

/// Was this a write to a pipe nobody reads any more?
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn interactive() -> ExitCode {
    let builder = Config::builder().completion_type(CompletionType::List);
    let builder = builder
        .history_ignore_dups(true)
        .and_then(|b| b.max_history_size(1000))
        .unwrap_or_else(|_| Config::builder().completion_type(CompletionType::List));
    let config = builder.build();
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("{}", term::error(&format!("cannot open the prompt: {e}")));
            return ExitCode::FAILURE;
        }
    };
    editor.set_helper(Some(ReplHelper));
    let abandoned = AbandonedLine::default();
    editor.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(abandoned.clone())),
    );
    let history = history_path();
    if let Some(path) = &history {
        match history::load(path) {
            Ok(entries) => {
                for entry in entries {
                    let _ = editor.history_mut().add_owned(entry);
                }
            }
            Err(e) => report(&e),
        }
    }
    let mut stdout = term::Fit::stdout();
    if let Err(e) = welcome(&mut stdout) {
        report(&e);
    }
    let mut session = Session::new();
    session.remember = lesson_path();
    if let Some(path) = &session.remember {
        session.lesson = last_lesson(path);
    }
    loop {
        let _ = stdout.flush();
        let text = match editor.readline(PROMPT) {
            Ok(text) => text,
            // Ctrl-C at the prompt: the line is dropped, the prompt comes back.
            Err(ReadlineError::Interrupted) => {
                abandoned.erase_hint(PROMPT);
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("{}", term::error(&format!("reading the prompt: {e}")));
                break;
            }
        };
        if !text.trim().is_empty() {
            let _ = editor.add_history_entry(text.as_str());
            if let Some(path) = &history
                && let Err(e) = history::append(path, &text)
            {
                report(&e.context("could not save history"));
            }
        }
        cancel::clear();
        let result = session.eval_line(&text, &mut stdout);
        let _ = stdout.flush();
        match result {
            Ok(Flow::Continue) => {}
            Ok(Flow::Clear) => {
                let _ = editor.clear_screen();
            }
            Ok(Flow::Quit) => break,
            Err(e) => report(&e),
        }
    }
    ExitCode::SUCCESS
}

/// Ctrl-C at the prompt: remembers the line it abandoned while a hint was drawn after it, so
/// that the hint can be wiped (rustyline leaves it on screen, where it looks typed).
#[derive(Clone, Default)]
struct AbandonedLine(Arc<Mutex<Option<String>>>);

impl ConditionalEventHandler for AbandonedLine {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        if let Ok(mut line) = self.0.lock() {
            *line = ctx.has_hint().then(|| ctx.line().to_string());
        }
        // rustyline's own Ctrl-C: end the line with `Interrupted`.
        None
    }
}

impl AbandonedLine {
    /// After rustyline has moved to a new line: go back up, clear from the end of what was
    /// typed to the end of that row (and the row a long hint spilled onto), come back down.
    fn erase_hint(&self, prompt: &str) {
        let Some(line) = self.0.lock().ok().and_then(|mut l| l.take()) else {
            return;
        };
        let columns = term::width().max(1);
        let col = (term::visible_width(prompt) + term::visible_width(&line)) % columns;
        let right = if col > 0 {
            format!("\u{1b}[{col}C")
        } else {
            String::new()
        };
        let mut stdout = std::io::stdout();
        let _ = write!(stdout, "\u{1b}[1A\r{right}\u{1b}[K\u{1b}[1B\r\u{1b}[K");
        let _ = stdout.flush();
    }
}

/// Where the last lesson opened is kept between sessions: beside the history (and, like it,
/// nowhere when history is off).
pub fn lesson_path() -> Option<PathBuf> {
    let history = history_path()?;
    let name = history.file_name()?.to_string_lossy().into_owned();
    Some(history.with_file_name(format!("{name}-lesson")))
}

/// The lesson kept at `path`, if it is still a lesson.
fn last_lesson(path: &Path) -> Option<u32> {
    let n = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    lessons::find(n).ok().map(|l| l.number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(session: &mut Session, text: &str) -> (Result<Flow>, String) {
        colored::control::set_override(false);
        let mut out: Vec<u8> = Vec::new();
        let result = session.eval_line(text, &mut out);
        (result, String::from_utf8_lossy(&out).into_owned())
    }

    fn error(text: &str) -> String {
        let (result, _) = eval(&mut Session::new(), text);
        format!("{:#}", result.expect_err(text))
    }

    #[test]
    fn blank_lines_and_comments_do_nothing() {
        for text in ["", "   ", "\t", "# a comment"] {
            let (result, out) = eval(&mut Session::new(), text);
            assert_eq!(result.unwrap(), Flow::Continue);
            assert_eq!(out, "");
        }
    }

    #[test]
    fn quit_and_clear() {
        let mut s = Session::new();
        assert_eq!(eval(&mut s, "quit").0.unwrap(), Flow::Quit);
        assert_eq!(eval(&mut s, "exit").0.unwrap(), Flow::Quit);
        assert_eq!(eval(&mut s, "clear").0.unwrap(), Flow::Clear);
    }

    #[test]
    fn unknown_commands_suggest_the_closest() {
        assert_eq!(
            error("lesso 3"),
            "unknown command 'lesso'; did you mean 'lesson'? (type help)"
        );
        assert_eq!(
            error("frobnicate"),
            "unknown command 'frobnicate'; type help to see the commands"
        );
        assert_eq!(
            error("pool"),
            "unknown command 'pool'; to run that demo, type: demo pool"
        );
        assert_eq!(
            error("5"),
            "unknown command '5'; to open that lesson, type: lesson 5"
        );
    }
}
