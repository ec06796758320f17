//! The prompt's history file, shared by every session with one HOME: each line is appended as
//! soon as it is typed (under a lock), so two REPLs open at once both keep their lines, and a
//! session that is killed loses nothing. Reading is forgiving: a line that is not UTF-8 (or is
//! garbled) is skipped, and the lines after it are kept.
//!
//! The file is rustyline's format (`#V2`, then one entry a line with `\n` and `\\` escaped),
//! so rustyline's own `load_history` could still read it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, Result};

/// The first line of the file.
const HEADER: &str = "#V2";

/// When the file holds this many entries, appending trims it to the newest [`KEEP`].
const TRIM_AT: usize = 2000;
const KEEP: usize = 1000;

/// The entries in `path`, oldest first; a line that is not UTF-8 is skipped. No file: none.
pub fn load(path: &Path) -> Result<Vec<String>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => {
            file.lock_shared()
                .with_context(|| format!("locking {}", path.display()))?;
            file.read_to_end(&mut bytes)
                .with_context(|| format!("reading {}", path.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    }
    Ok(parse(&bytes))
}

/// The entries of a history file's bytes.
pub fn parse(bytes: &[u8]) -> Vec<String> {
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let v2 = lines.next_if(|l| *l == HEADER.as_bytes()).is_some();
    lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| std::str::from_utf8(l).ok())
        .filter_map(|l| if v2 { unescape(l) } else { Some(l.to_string()) })
        .collect()
}

/// Append `entry` to the file at `path` (made, with its folder, if missing), holding an
/// exclusive lock so that sessions writing at once do not interleave.
pub fn append(path: &Path, entry: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
    }
    // What someone typed is theirs alone: a new file is readable by its owner only.
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut text = String::new();
    if bytes.is_empty() {
        text.push_str(HEADER);
        text.push('\n');
    } else if !bytes.ends_with(b"\n") {
        text.push('\n');
    }
    text.push_str(&escape(entry));
    text.push('\n');
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    let entries = bytes.iter().filter(|&&b| b == b'\n').count();
    if entries >= TRIM_AT {
        let mut all = parse(&bytes);
        all.push(entry.to_string());
        let kept = &all[all.len().saturating_sub(KEEP)..];
        let mut text = format!("{HEADER}\n");
        for e in kept {
            text.push_str(&escape(e));
            text.push('\n');
        }
        // Still under the lock: rewrite in place (append mode writes at the end, so truncate
        // through a second handle on the same file).
        let mut rewrite = OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        rewrite.set_len(0)?;
        rewrite.seek(SeekFrom::Start(0))?;
        rewrite
            .write_all(text.as_bytes())
            .with_context(|| format!("trimming {}", path.display()))?;
    }
    Ok(())
}

fn escape(entry: &str) -> String {
    entry.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A V2 line as the entry it stands for; `None` if it is garbled (a lone or unknown escape).
fn unescape(line: &str) -> Option<String> {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                'n' => out.push('\n'),
                '\\' => out.push('\\'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_is_skipped_and_later_ones_kept() {
        let bytes = b"#V2\nlesson 1\ndemo \xff\xfe pool\nlesson 2\nback\\\\slash\n";
        assert_eq!(parse(bytes), vec!["lesson 1", "lesson 2", "back\\slash"]);
        assert_eq!(
            parse(b"old style\nno header"),
            vec!["old style", "no header"]
        );
    }

    #[test]
    fn entries_round_trip_and_append_keeps_what_is_there() {
        let dir =
            std::env::temp_dir().join(format!("procbook-history-unit-{}", std::process::id()));
        let path = dir.join("sub").join("history");
        let _ = std::fs::remove_dir_all(&dir);
        append(&path, "one").unwrap();
        append(&path, "two\nlines \\ here").unwrap();
        assert_eq!(load(&path).unwrap(), vec!["one", "two\nlines \\ here"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "history is private");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(load(&path).unwrap().is_empty(), "no file: no history");
    }

    #[test]
    fn a_long_history_is_trimmed_to_the_newest() {
        let dir =
            std::env::temp_dir().join(format!("procbook-history-trim-{}", std::process::id()));
        let path = dir.join("history");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("#V2\n");
        for i in 0..TRIM_AT {
            text.push_str(&format!("line {i}\n"));
        }
        std::fs::write(&path, text).unwrap();
        append(&path, "newest").unwrap();
        let kept = load(&path).unwrap();
        assert_eq!(kept.len(), KEEP);
        assert_eq!(kept.last().map(String::as_str), Some("newest"));
        assert_eq!(kept[0], format!("line {}", TRIM_AT - KEEP + 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
