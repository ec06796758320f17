//! Where the learner types commands, so that a message names a command as it can be typed
//! there: `hint 1` inside the REPL; in a shell, `procbook hint 1` when procbook is on the PATH,
//! else `cargo run --release -- hint 1` from the clone.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static IN_REPL: AtomicBool = AtomicBool::new(false);

/// Called by the REPL as it starts: from now on commands are typed without `procbook`.
pub fn enter_repl() {
    IN_REPL.store(true, Ordering::SeqCst);
}

/// `text` with every `` `procbook COMMAND`` written as it can be typed where the learner is.
pub fn typed(text: &str) -> String {
    text.replace("`procbook ", &format!("`{}", prefix()))
}

fn prefix() -> &'static str {
    if IN_REPL.load(Ordering::SeqCst) {
        return "";
    }
    static ON_PATH: OnceLock<bool> = OnceLock::new();
    if *ON_PATH.get_or_init(procbook_on_path) {
        "procbook "
    } else {
        "cargo run --release -- "
    }
}

/// Whether a shell would find a `procbook` program on the PATH.
fn procbook_on_path() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        Path::new(&dir)
            .join("procbook")
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_written_for_the_shell_or_the_repl() {
        let text = "stuck? run `procbook hint 3`, then `procbook check 3`.";
        let shell = typed(text);
        assert!(
            shell.contains("`procbook hint 3`")
                || shell.contains("`cargo run --release -- hint 3`"),
            "{shell}"
        );
        enter_repl();
        assert_eq!(typed(text), "stuck? run `hint 3`, then `check 3`.");
        IN_REPL.store(false, Ordering::SeqCst);
    }
}
