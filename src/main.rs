//! The `procbook` binary: the engine's entry guard first, then argument parsing and dispatch.

use std::process::ExitCode;

use clap::Parser;
use procbook::commands::Cli;
use procbook::{arg, demos, dispatch, engine, repl, scratch, shutdown, term};

// ANCHOR: main
fn main() -> ExitCode {
    // Rust's `if __name__ == "__main__":`. A worker is this same binary, started again by
    // the engine; the guard makes it serve tasks and stop here, before any of the app runs.
    if let Some(code) = engine::guard(demos::TASKS) {
        std::process::exit(code);
    }
    // ANCHOR_END: main
    term::init_colour();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let text = arg::one_line_at(&e, "try: procbook --help", "procbook ");
            term::eprint_line(&term::error(&text).to_string());
            return ExitCode::from(2);
        }
        Err(e) => {
            // `procbook demo pool --help`: that demo's own help, as in the REPL.
            if let Some(demo) = demo_asking_for_help() {
                let _ = repl::help(Some(demo), &mut term::Fit::stdout());
            } else {
                let _ = e.print();
            }
            return ExitCode::SUCCESS;
        }
    };
    // Scratch space is one folder per run, removed however this function is left (a panic
    // too); folders of runs killed with -9 are removed here.
    let _scratch = scratch::Guard;
    scratch::sweep();
    // Ctrl-C raises the engine's stop flag; whatever is running stops and reaps its children.
    let _ = ctrlc::set_handler(engine::cancel::request);
    // SIGTERM and SIGHUP do the same, then end procbook if it has not ended by itself.
    shutdown::install();
    let code = run(cli);
    match shutdown::received() {
        Some(signal) => ExitCode::from(128 + signal as u8),
        None => code,
    }
}

fn run(cli: Cli) -> ExitCode {
    let Some(command) = cli.command else {
        // No command: the REPL (or, with stdin piped, a script of commands).
        return repl::run();
    };
    let mut out = term::Fit::stdout();
    match dispatch::run(&command, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`procbook demo pool | head -3`): nothing left to tell it.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            term::eprint_line(&term::error(&format!("{e:#}")).to_string());
            if e.downcast_ref::<engine::Error>() == Some(&engine::Error::Interrupted) {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The demo named in `demo NAME --help`, if that is what was typed.
fn demo_asking_for_help() -> Option<&'static str> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [first, rest @ ..] = args.as_slice() else {
        return None;
    };
    if first != "demo" || !rest.iter().any(|a| a == "--help" || a == "-h") {
        return None;
    }
    let name = rest.iter().find(|a| !a.starts_with('-'))?;
    demos::find(name).map(|d| d.name)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
