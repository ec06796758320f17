//! What a line typed at the prompt can say: the shared command table plus the words only the
//! REPL knows. Parsing, `help`, completion and hints all read this one table.

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::Command;

/// One line at the prompt, parsed by clap like the command line (without `procbook`).
#[derive(Parser, Debug)]
#[command(
    name = "procbook",
    no_binary_name = true,
    disable_help_subcommand = true,
    disable_version_flag = true,
    subcommand_required = true
)]
pub struct Input {
    #[command(subcommand)]
    pub line: Line,
}

/// Every command of the REPL: the CLI's commands, then the REPL's own words.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum Line {
    #[command(flatten)]
    Shared(Command),
    /// Show the commands, or how to use one command or demo
    Help {
        /// A command or demo name
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
        /// After `demo`, a demo's name (`help demo pool` is `help pool`)
        #[arg(value_name = "DEMO", hide = true)]
        demo: Option<String>,
    },
    /// Show the next lesson
    Next,
    /// Show the previous lesson
    Prev,
    /// Clear the screen
    Clear,
    /// Leave procbook (Ctrl-D does too)
    #[command(alias = "exit")]
    Quit,
    /// A pool whose workers each sleep MS milliseconds: something long to stop with Ctrl-C
    #[command(hide = true)]
    Nap {
        #[arg(value_name = "MS", value_parser = crate::arg::number_in("MS", 1, 600_000))]
        ms: u64,
        /// How many worker processes
        #[arg(long, value_name = "N", default_value_t = 2, allow_negative_numbers = true,
              value_parser = crate::arg::number_in("--workers", 1, crate::engine::MAX_WORKERS as u64))]
        workers: u64,
    },
}

/// The REPL's command table.
pub fn table() -> clap::Command {
    Input::command()
}

/// The commands a learner is shown (in help and completion), in table order.
pub fn visible() -> Vec<clap::Command> {
    table()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect()
}

/// The command `word` names (by name or alias), hidden ones included.
pub fn find(word: &str) -> Option<clap::Command> {
    table()
        .get_subcommands()
        .find(|c| c.get_name() == word || c.get_all_aliases().any(|a| a == word))
        .cloned()
}

/// The visible command closest to a misspelt word, if one is close.
pub fn closest(word: &str) -> Option<String> {
    visible()
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(word, c.get_name()),
                c.get_name().to_string(),
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// The arguments a command takes, as a learner types them: `[NAME] [--workers N]`.
/// With `options` false, only the positional ones.
pub fn args(command: &clap::Command, options: bool) -> String {
    let mut parts = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_hide_set() || matches!(arg.get_id().as_str(), "help" | "version") {
            continue;
        }
        let part = match arg.get_long() {
            Some(_) if !options => continue,
            Some(_) => arg_usage(arg),
            None if arg.is_required_set() => value_name(arg),
            None => format!("[{}]", value_name(arg)),
        };
        parts.push(part);
    }
    parts.join(" ")
}

fn value_name(arg: &clap::Arg) -> String {
    arg.get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase())
}

/// `[--workers N]` or `[--json]`.
fn arg_usage(arg: &clap::Arg) -> String {
    let long = arg.get_long().unwrap_or_default();
    if arg.get_action().takes_values() {
        format!("[--{long} {}]", value_name(arg))
    } else {
        format!("[--{long}]")
    }
}

/// How `command` takes the option `--long`: `[--workers N]`.
pub fn option_usage(command: &str, option: &str) -> String {
    let long = option.trim_start_matches('-');
    find(command)
        .and_then(|c| {
            c.get_arguments()
                .find(|a| a.get_long() == Some(long))
                .map(arg_usage)
        })
        .unwrap_or_else(|| format!("[{option}]"))
}

/// `demo [NAME] [--workers N] [--chunksize K]`.
pub fn usage(command: &clap::Command) -> String {
    let args = args(command, true);
    if args.is_empty() {
        command.get_name().to_string()
    } else {
        format!("{} {args}", command.get_name())
    }
}

/// The long options of a command, such as `--workers` (for `demo NAME`, that demo's own).
pub fn options(command: &str, words: &[&str]) -> Vec<String> {
    if command == "demo"
        && let Some(demo) = words
            .iter()
            .find(|w| !w.starts_with('-'))
            .and_then(|name| crate::demos::find(name))
    {
        return demo.options.iter().map(|o| (*o).to_string()).collect();
    }
    let Some(sub) = find(command) else {
        return Vec::new();
    };
    sub.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .filter(|l| *l != "help")
        .map(|l| format!("--{l}"))
        .collect()
}

/// The names of the demos, in lesson order.
pub fn demo_names() -> impl Iterator<Item = &'static str> {
    crate::demos::in_lesson_order().into_iter().map(|d| d.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_valid() {
        table().debug_assert();
    }

    #[test]
    fn usage_comes_from_the_table() {
        let demo = find("demo").unwrap();
        assert_eq!(
            usage(&demo),
            "demo [NAME] [--workers N] [--chunksize K] [--json] [--engine ENGINE]"
        );
        assert_eq!(args(&demo, false), "[NAME]");
        assert_eq!(usage(&find("lesson").unwrap()), "lesson N");
        assert_eq!(usage(&find("exit").unwrap()), "quit");
        assert!(visible().iter().all(|c| c.get_name() != "nap"));
    }

    #[test]
    fn options_of_a_demo_are_its_own() {
        assert_eq!(
            options("demo", &["pool"]),
            vec!["--workers".to_string(), "--chunksize".to_string()]
        );
        assert!(options("demo", &["four"]).is_empty());
        assert_eq!(
            options("bench", &[]),
            vec!["--json".to_string(), "--no-python".to_string()]
        );
    }
}
