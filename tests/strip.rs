//! The live per-core strip at a real terminal (a pty): while `demo gil` runs, the strip is
//! redrawn in place (erase the line, draw it again) many times, the demo's own lines still
//! come out whole, and nothing is left running. Piped, it is a plain line on stderr.

mod support;

use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{Eof, Expect, Session};
use support::{assert_none_left, procbook, run, tag};

/// `demo gil` runs for seconds, longer on a busy machine.
const LIMIT: Duration = Duration::from_secs(240);

#[test]
fn the_strip_is_redrawn_in_place_during_demo_gil() {
    let tag = tag("strip-pty");
    let mut cmd = procbook(&tag, &["demo", "gil"]);
    cmd.env("TERM", "xterm").env_remove("NO_COLOR");
    let mut p = Session::spawn(cmd).expect("starting procbook on a pty");
    p.set_expect_timeout(Some(LIMIT));
    let seen = p.expect(Eof).expect("demo gil ran to its end");
    // At the end of the stream, everything read is the match itself.
    let mut bytes = seen.before().to_vec();
    for m in seen.matches() {
        bytes.extend_from_slice(m);
    }
    let text = String::from_utf8_lossy(&bytes).to_string();
    let status = p.get_process().wait().expect("waiting for procbook");
    assert_eq!(
        status,
        WaitStatus::Exited(p.get_process().pid(), 0),
        "{text}"
    );
    let redraws = text.matches("\r\x1b[2Kcores ").count();
    assert!(
        redraws >= 2,
        "the strip was drawn {redraws} times during demo gil:\n{text}"
    );
    // The demo's lines are whole: the strip never sits inside one.
    let plain = text.replace("\r\x1b[2K", "\n");
    assert!(
        plain
            .lines()
            .any(|l| l.contains("Rust, serial (one thread)")),
        "{plain}"
    );
    assert!(
        !plain
            .lines()
            .any(|l| l.contains("cores  0 ") && l.contains("pid ")),
        "the strip ran into a line of the demo:\n{plain}"
    );
    // It is erased at the end: what follows the last erase is not a strip (the demo's own
    // table, which says "cores used", may follow it).
    let last = text.rfind("\r\x1b[2K").unwrap();
    assert!(
        !text[last + "\r\x1b[2K".len()..].starts_with("cores "),
        "the strip was left on screen: {:?}",
        &text[last..]
    );
    assert_none_left(&tag, Duration::from_secs(5));
}

#[test]
fn piped_the_strip_is_a_plain_line_on_stderr_and_off_for_captures() {
    let tag = tag("strip-piped");
    let out = run(procbook(&tag, &["demo", "gil"]), "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.lines().any(|l| l.starts_with("cores ")),
        "no strip line on stderr: {out:?}"
    );
    assert!(
        !out.stderr.contains('\x1b'),
        "escape codes when piped: {out:?}"
    );
    assert!(!out.stdout.contains("cores  0"), "the strip went to stdout");

    let mut cmd = procbook(&tag, &["demo", "gil"]);
    cmd.env("PROCBOOK_STRIP", "off");
    let out = run(cmd, "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stderr.contains("cores "), "{out:?}");
    assert_none_left(&tag, Duration::from_secs(5));
}
