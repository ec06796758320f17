//! The REPL's evaluation function, called directly: what each line does, and the one-line
//! message for each mistake a learner can make. Nothing here starts a process (lessons are
//! shown with their demos off; the script and pty tests run them for real).

use procbook::lessons;
use procbook::repl::{Flow, Session};

fn eval(session: &mut Session, line: &str) -> (Result<Flow, String>, String) {
    colored::control::set_override(false);
    let mut out: Vec<u8> = Vec::new();
    let result = session.eval_line(line, &mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    (result.map_err(|e| format!("{e:#}")), out)
}

fn quiet() -> Session {
    Session {
        live: false,
        ..Session::new()
    }
}

/// The one-line message a bad line gets.
fn message(line: &str) -> String {
    let (result, _) = eval(&mut quiet(), line);
    let message = result.expect_err(line);
    assert!(
        !message.contains('\n'),
        "{line:?} gave more than one line: {message}"
    );
    message
}

#[test]
fn unknown_commands_suggest_the_closest() {
    let cases = [
        (
            "lesso 3",
            "unknown command 'lesso'; did you mean 'lesson'? (type help)",
        ),
        (
            "demoo pool",
            "unknown command 'demoo'; did you mean 'demo'? (type help)",
        ),
        (
            "hlep",
            "unknown command 'hlep'; did you mean 'help'? (type help)",
        ),
        (
            "frobnicate",
            "unknown command 'frobnicate'; type help to see the commands",
        ),
        (
            "pool",
            "unknown command 'pool'; to run that demo, type: demo pool",
        ),
        (
            "5",
            "unknown command '5'; to open that lesson, type: lesson 5",
        ),
        (
            "\u{1}x",
            "unknown command '\\u{1}x'; type help to see the commands",
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(message(line), expected, "{line:?}");
    }
}

#[test]
fn bad_options_say_what_is_allowed() {
    let demo_usage =
        "(usage: demo [NAME] [--workers N] [--chunksize K] [--json] [--engine ENGINE])";
    let cases = [
        (
            "demo pool --frob",
            format!("unexpected argument '--frob' found {demo_usage}"),
        ),
        (
            "demo pool --work 3",
            format!(
                "unexpected argument '--work' found; a similar argument exists: '--workers' {demo_usage}"
            ),
        ),
        (
            "demo pool --workers 0",
            format!("--workers takes 1 to 64, not 0 {demo_usage}"),
        ),
        (
            "demo pool --workers -1",
            format!("--workers takes 1 to 64, not -1 {demo_usage}"),
        ),
        (
            "demo pool --chunksize 0",
            format!("--chunksize takes 1 to 10000, not 0 {demo_usage}"),
        ),
        (
            "demo pool --workers many",
            format!("--workers takes 1 to 64, not many {demo_usage}"),
        ),
        (
            "demo pool --workers 99999999999999999999999",
            format!("--workers takes 1 to 64, not 99999999999999999999999 {demo_usage}"),
        ),
        (
            "demo pool --workers",
            format!(
                "a value is required for '--workers <N>' but none was supplied {demo_usage}"
            ),
        ),
        (
            "demo pool extra",
            format!("unexpected argument 'extra' found {demo_usage}"),
        ),
        (
            "demo four --workers 2",
            "demo four takes no options; try: demo four".to_string(),
        ),
        (
            "demo process --chunksize 2",
            "demo process takes no options; try: demo process".to_string(),
        ),
        (
            "demo sys --chunksize 2",
            "demo sys takes --workers but not --chunksize; try: demo sys --help".to_string(),
        ),
        (
            "demo frob",
            format!(
                "unknown demo 'frob'; the demos are: {}",
                procbook::demos::in_lesson_order()
                    .iter()
                    .map(|d| d.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        (
            "lesson",
            "the following required arguments were not provided: <N> (usage: lesson N)"
                .to_string(),
        ),
        (
            "lesson abc",
            format!("lesson takes a number, 0 to {}, not 'abc' (see them with: lessons)", lessons::last()),
        ),
        (
            "lesson -1",
            format!("there is no lesson -1: lessons are 0 to {} (see them with: lessons)", lessons::last()),
        ),
        (
            "lesson 99999999999999",
            format!("there is no lesson 99999999999999: lessons are 0 to {} (see them with: lessons)", lessons::last()),
        ),
        (
            "lesson 4 5",
            "unexpected argument '5' found (usage: lesson N)".to_string(),
        ),
        (
            "hint 99999999999999999999",
            format!(
                "there is no exercise 99999999999999999999: exercises are 1 to {} (usage: hint N)",
                procbook::grade::manifest().unwrap().len()
            ),
        ),
        (
            "run 99999999999999999999",
            format!(
                "there is no exercise 99999999999999999999: exercises are 1 to {} (usage: run N)",
                procbook::grade::manifest().unwrap().len()
            ),
        ),
        (
            "reset 0",
            format!(
                "there is no exercise 0: exercises are 1 to {} (usage: reset N)",
                procbook::grade::manifest().unwrap().len()
            ),
        ),
        (
            "check -5",
            format!(
                "there is no exercise -5: exercises are 1 to {} (usage: check [N])",
                procbook::grade::manifest().unwrap().len()
            ),
        ),
        (
            "bench --jsn",
            "unexpected argument '--jsn' found; a similar argument exists: '--json' (usage: bench [--json] [--no-python])"
                .to_string(),
        ),
        (
            "sys --x",
            "unexpected argument '--x' found (usage: sys)".to_string(),
        ),
        (
            "quit now",
            "unexpected argument 'now' found (usage: quit)".to_string(),
        ),
        (
            "demo \"pool",
            "a quote is not closed in that line; type the command without it".to_string(),
        ),
        (
            "'",
            "a quote is not closed in that line; type the command without it".to_string(),
        ),
    ];
    for (line, expected) in cases {
        assert_eq!(message(line), expected, "{line:?}");
    }
}

#[test]
fn lessons_that_do_not_exist_say_which_do() {
    let last = lessons::last();
    assert_eq!(
        message(&format!("lesson {}", last + 1)),
        format!(
            "there is no lesson {}: lessons are 0 to {last} (see them with: lessons)",
            last + 1
        )
    );
    assert_eq!(
        message("lesson 4294967295"),
        format!("there is no lesson 4294967295: lessons are 0 to {last} (see them with: lessons)")
    );
    assert_eq!(
        message("lesson 99999999999"),
        format!("there is no lesson 99999999999: lessons are 0 to {last} (see them with: lessons)")
    );
}

/// Issue 11 items 1 and 7: Unicode spaces separate words; the wrong case gets a suggestion.
#[test]
fn unicode_spaces_and_upper_case_get_what_was_meant() {
    let (result, out) = eval(&mut quiet(), "help\u{a0}pool");
    assert_eq!(result, Ok(Flow::Continue));
    assert!(out.starts_with("demo pool: "), "{out}");
    assert!(
        message("demo\u{3000}frob").starts_with("unknown demo 'frob'"),
        "not 'unknown command': {}",
        message("demo\u{3000}frob")
    );
    assert_eq!(
        message("LESSON 4"),
        "unknown command 'LESSON'; commands are lower case: did you mean 'lesson'?"
    );
    assert!(
        message("demo POOL").starts_with("unknown demo 'POOL'; did you mean 'pool'?"),
        "{}",
        message("demo POOL")
    );
}

/// Issue 11 item 8: the demo list is in lesson order.
#[test]
fn demos_are_listed_in_lesson_order() {
    let (_, out) = eval(&mut quiet(), "demo");
    let lessons_in_order: Vec<u32> = out
        .lines()
        .filter_map(|l| {
            l.rsplit_once("(lesson ")?
                .1
                .trim_end_matches(')')
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(
        lessons_in_order.len(),
        procbook::demos::DEMOS.len(),
        "{out}"
    );
    assert!(lessons_in_order.is_sorted(), "{out}");
}

#[test]
fn quotes_group_words_as_a_shell_does() {
    let (result, out) = eval(&mut quiet(), "help 'demo'");
    assert_eq!(result, Ok(Flow::Continue));
    assert!(out.contains("--workers"), "{out}");
    assert_eq!(
        message("demo 'po ol'"),
        format!(
            "unknown demo 'po ol'; did you mean 'pool'? (demos: {})",
            procbook::demos::in_lesson_order()
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
}

#[test]
fn help_lists_every_command_and_explains_each() {
    let (result, out) = eval(&mut quiet(), "help");
    assert_eq!(result, Ok(Flow::Continue));
    for line in [
        "help [COMMAND]",
        "lessons",
        "lesson N",
        "next",
        "prev",
        "demo [NAME]",
        "sys",
        "bench",
        "check [N]",
        "hint N",
        "book",
        "clear",
        "quit",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(line)),
            "help does not list {line:?}:\n{out}"
        );
    }
    assert!(!out.contains("nap"), "hidden commands stay hidden:\n{out}");
    for demo in procbook::demos::DEMOS {
        assert!(
            out.contains(demo.name),
            "help does not name demo {}",
            demo.name
        );
    }

    let (_, demo_help) = eval(&mut quiet(), "help demo");
    assert!(
        demo_help.contains("Usage: demo [OPTIONS] [NAME]"),
        "{demo_help}"
    );
    assert!(demo_help.contains("--workers <N>"), "{demo_help}");
    assert!(
        demo_help.contains("pool "),
        "the demo list follows:\n{demo_help}"
    );
    assert_eq!(eval(&mut quiet(), "demo --help").1, demo_help);
    assert_eq!(
        eval(&mut quiet(), "demo pool -h").1,
        eval(&mut quiet(), "help pool").1
    );

    let (_, pool) = eval(&mut quiet(), "help pool");
    assert!(pool.starts_with("demo pool: a pool maps square"), "{pool}");
    assert!(
        pool.contains("options: [--workers N] [--chunksize K]"),
        "{pool}"
    );
    assert!(pool.contains("try: demo pool"), "{pool}");

    assert_eq!(
        message("help frob"),
        "unknown command 'frob'; type help to see the commands"
    );
    // The ways a learner asks the same thing.
    assert_eq!(eval(&mut quiet(), "help demo pool").1, pool);
    assert_eq!(eval(&mut quiet(), "help POOL").1, pool);
    assert_eq!(eval(&mut quiet(), "help Demo").1, demo_help);
    assert_eq!(
        message("help lesson pool"),
        "help takes one command or demo; try: help lesson"
    );
    assert!(
        message("help demo poool").starts_with("unknown demo 'poool'; did you mean 'pool'?"),
        "{}",
        message("help demo poool")
    );
}

#[test]
fn blank_lines_comments_quit_and_clear() {
    let mut s = quiet();
    for line in ["", "   ", "\t", "# a comment in a script"] {
        assert_eq!(eval(&mut s, line), (Ok(Flow::Continue), String::new()));
    }
    assert_eq!(eval(&mut s, "quit").0, Ok(Flow::Quit));
    assert_eq!(eval(&mut s, "  exit  ").0, Ok(Flow::Quit));
    assert_eq!(eval(&mut s, "clear").0, Ok(Flow::Clear));
}

#[test]
fn next_and_prev_walk_the_lessons() {
    let mut s = quiet();
    assert_eq!(
        eval(&mut s, "prev").0,
        Err("no lesson is open yet; start with: lesson 0".to_string())
    );
    let (result, out) = eval(&mut s, "next");
    assert_eq!(result, Ok(Flow::Continue));
    assert_eq!(s.lesson, Some(0));
    assert!(out.starts_with("Introduction\n"), "{out}");
    assert!(out.contains("end of lesson 0; next: lesson 1"), "{out}");
    assert_eq!(
        eval(&mut s, "prev").0,
        Err("lesson 0 is the first one; type next to go on".to_string())
    );
    assert_eq!(eval(&mut s, "next").0, Ok(Flow::Continue));
    assert_eq!(s.lesson, Some(1));
    let (_, out) = eval(&mut s, "lesson 4");
    assert_eq!(s.lesson, Some(4));
    assert!(out.starts_with("Creating a process\n"), "{out}");
    let (_, out) = eval(&mut s, "prev");
    assert_eq!(s.lesson, Some(3));
    assert!(out.contains("end of lesson 3"), "{out}");
    let last = lessons::last();
    let (_, out) = eval(&mut s, &format!("lesson {last}"));
    assert!(out.contains("that was the last lesson"), "{out}");
    assert_eq!(
        eval(&mut s, "next").0,
        Err(format!(
            "lesson {last} is the last one; type lessons to pick another"
        ))
    );
    assert_eq!(s.lesson, Some(last));
    // A lesson that does not exist leaves the learner where they were.
    assert!(eval(&mut s, "lesson 99").0.is_err());
    assert_eq!(s.lesson, Some(last));
}

#[test]
fn lessons_lists_numbers_and_titles() {
    let (_, out) = eval(&mut quiet(), "lessons");
    let all = lessons::all();
    assert_eq!(all.len(), 13, "the introduction and twelve chapters");
    for lesson in &all {
        let line = format!("{:>2}  {}", lesson.number, lesson.title);
        assert!(out.contains(&line), "missing {line:?}:\n{out}");
    }
    assert!(out.contains(" 3  The GIL: why Python threads don't speed up CPU work"));
}

#[test]
fn a_lesson_puts_its_demo_beside_the_text_when_the_screen_is_wide() {
    colored::control::set_override(false);
    let mut wide: Vec<u8> = Vec::new();
    lessons::show_at(4, 140, false, &mut wide).unwrap();
    let wide = String::from_utf8(wide).unwrap();
    let beside = wide
        .lines()
        .find(|l| l.contains("│ live, on this machine: demo process"))
        .unwrap_or_else(|| panic!("no side-by-side demo:\n{wide}"));
    assert!(
        beside.starts_with("Rust (procbook's engine)"),
        "the demo goes beside the text that introduces it: {beside:?}"
    );
    assert!(
        wide.lines()
            .all(|l| unicode_width::UnicodeWidthStr::width(l) <= 140)
    );
    assert!(wide.contains("try: demo process"));
    assert!(!wide.contains("<div"), "HTML is dropped");
    assert!(!wide.contains("{{#"), "every directive is handled");

    let mut narrow: Vec<u8> = Vec::new();
    lessons::show_at(4, 80, false, &mut narrow).unwrap();
    let narrow = String::from_utf8(narrow).unwrap();
    assert!(!narrow.contains('│'), "{narrow}");
    let label = narrow
        .lines()
        .position(|l| l == "live, on this machine: demo process")
        .unwrap_or_else(|| panic!("no demo under the text:\n{narrow}"));
    assert_eq!(
        narrow.lines().nth(label + 1),
        Some("(demo process runs here)")
    );
    assert!(
        narrow
            .lines()
            .all(|l| unicode_width::UnicodeWidthStr::width(l) <= 100)
    );
}

#[test]
fn every_lesson_renders_without_leftover_markup() {
    colored::control::set_override(false);
    for lesson in lessons::all() {
        for width in [60, 80, 140, 200] {
            let mut out: Vec<u8> = Vec::new();
            lessons::show_at(lesson.number, width, false, &mut out)
                .unwrap_or_else(|e| panic!("lesson {}: {e:#}", lesson.number));
            let out = String::from_utf8(out).unwrap();
            assert!(!out.contains("{{#"), "lesson {}:\n{out}", lesson.number);
            assert!(!out.contains("<div"), "lesson {}:\n{out}", lesson.number);
            assert!(
                !out.contains("not available"),
                "lesson {}:\n{out}",
                lesson.number
            );
        }
    }
}

#[test]
fn junk_never_panics() {
    let long = "x".repeat(100_000);
    let junk = [
        "\"",
        "'''",
        "\\",
        "demo \\",
        "--",
        "-",
        "-h",
        "--help",
        "--version",
        "?",
        "demo --",
        "demo -- --workers",
        "lesson ''",
        "lesson \"\"",
        "lesson 4294967296",
        "lesson -0",
        "lesson +1",
        "lesson 1e3",
        "lesson ١",
        "hint -99999999999999999999",
        "demo pool --workers -1",
        "demo pool --workers=",
        "demo pool --chunksize 18446744073709551616",
        "help help help",
        "nap",
        "nap 0",
        "nap 99999999999",
        "🦀",
        "demo 🦀",
        "\u{0}",
        "\u{7f}",
        "\u{1b}[2J",
        long.as_str(),
    ];
    for line in junk {
        let (result, _) = eval(&mut quiet(), line);
        if let Err(message) = result {
            assert!(!message.is_empty());
            assert!(!message.contains('\n'), "{line:?}: {message}");
        }
    }
    let shown = message(&long);
    assert!(shown.len() < 200, "a long word is cut short: {shown}");
}
