//! Where `procbook book` may write: mdBook empties its output folder before every build, so
//! procbook builds only into a folder that is missing, empty, or an earlier procbook build,
//! and checks that before any demo runs.
//!
//! An earlier build is recognised by [`MARKER`], a file the build writes listing every path it
//! wrote. A folder holding anything not on that list (a thesis, a `book.toml`, a home folder's
//! dotfiles) is refused with one line that names it, so nothing procbook did not write is ever
//! deleted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The file that says "procbook built this folder", with the paths it wrote.
pub const MARKER: &str = ".procbook-book";

/// The marker's first line, once the build has finished; the paths written follow it.
const BUILT: &str = "procbook book: built here; procbook empties this folder before each build";
/// The marker's first line while a build is under way: everything in the folder is the
/// build's own (the folder was empty or procbook's when it began).
const BUILDING: &str = "procbook book: building here";

/// What to do instead, at the end of every refusal.
const INSTEAD: &str = "give --dest an empty or new folder";

/// A destination that passed [`check`]: absolute, symlinks resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dest {
    pub path: PathBuf,
}

/// May a build of the book in `book_root` empty `dest` and write into it? An error is one line
/// that names the folder and says what to do. Instant: it runs before any demo.
pub fn check(book_root: &Path, dest: &Path) -> Result<Dest> {
    let shown = dest.display();
    let abs = std::path::absolute(dest).with_context(|| format!("finding where {shown} is"))?;
    let book_root = fs::canonicalize(book_root)
        .with_context(|| format!("finding the book in {}", book_root.display()))?;
    let path = match fs::symlink_metadata(&abs) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => resolve_missing(&abs)?,
        Err(e) => bail!("cannot look at {shown}: {e}; {INSTEAD}"),
        Ok(meta) if meta.file_type().is_symlink() => match fs::canonicalize(&abs) {
            Ok(target) => target,
            Err(_) => bail!(
                "{shown} is a symlink to a place that does not exist; {INSTEAD} (or create its target)"
            ),
        },
        Ok(_) => fs::canonicalize(&abs).with_context(|| format!("finding where {shown} is"))?,
    };
    let home = dirs::home_dir().and_then(|h| fs::canonicalize(h).ok());
    if path.parent().is_none() || home.as_deref() == Some(path.as_path()) {
        bail!(
            "{shown} is a whole filesystem or your home folder, which a build would empty; {INSTEAD}"
        );
    }
    if path == book_root || book_root.starts_with(&path) {
        bail!(
            "{shown} holds the book's own sources ({}), which a build would delete; {INSTEAD}, such as {}",
            book_root.display(),
            book_root.join("build").display()
        );
    }
    let src = book_root.join("src");
    if path.starts_with(&src) {
        bail!(
            "{shown} is inside the book's sources ({}); {INSTEAD} outside it",
            src.display()
        );
    }
    match fs::metadata(&path) {
        Err(_) => {} // missing: the build creates it
        Ok(meta) if !meta.is_dir() => bail!("{shown} is a file, not a folder; {INSTEAD}"),
        Ok(_) => {
            let default = path == book_root.join("build");
            if let Some(foreign) = foreign(&path, default)? {
                bail!(
                    "{shown} already holds {}, which procbook did not write, and a build empties the folder; \
                     {INSTEAD} (or move it out)",
                    foreign.display()
                );
            }
        }
    }
    Ok(Dest { path })
}

/// A missing destination's absolute path, with the part that exists resolved, so a symlink
/// among its parents cannot lead the build into the book's sources.
fn resolve_missing(abs: &Path) -> Result<PathBuf> {
    let mut existing = abs;
    let mut rest = Vec::new();
    while fs::symlink_metadata(existing).is_err() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut path = fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    path.extend(rest.iter().rev());
    Ok(path)
}

/// The first thing in `dir` that procbook did not write, if any. The default folder
/// (`book/build`, git-ignored and procbook's own) may hold a build from before the marker.
fn foreign(dir: &Path, default: bool) -> Result<Option<PathBuf>> {
    let marker = fs::read_to_string(dir.join(MARKER)).ok();
    let written: Option<Vec<&str>> = match marker.as_deref() {
        Some(text) if text.starts_with(BUILDING) => return Ok(None),
        Some(text) if text.starts_with(BUILT) => Some(text.lines().skip(1).collect()),
        _ => None,
    };
    let mut found = Vec::new();
    walk(dir, Path::new(""), &mut found)
        .with_context(|| format!("looking into {}", dir.display()))?;
    found.sort();
    for path in found {
        let ours = match &written {
            Some(list) => path
                .to_str()
                .is_some_and(|p| p == MARKER || list.contains(&p)),
            None => default,
        };
        if !ours {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// Every path under `dir` (relative to it), without following symlinks.
fn walk(dir: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir.join(rel))? {
        let entry = entry?;
        let path = rel.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            walk(dir, &path, found)?;
        }
        found.push(path);
    }
    Ok(())
}

impl Dest {
    /// Create the folder if needed and mark it as a build under way: this proves it can be
    /// written before any demo runs.
    pub fn claim(&self) -> Result<()> {
        let shown = self.path.display();
        fs::create_dir_all(&self.path).map_err(|e| {
            anyhow::anyhow!(
                "cannot create {shown}: {}; {INSTEAD} you can write to",
                plain(&e)
            )
        })?;
        write_marker(&self.path, &format!("{BUILDING}\n")).map_err(|e| {
            anyhow::anyhow!(
                "cannot write into {shown}: {}; {INSTEAD} you can write to",
                plain(&e)
            )
        })
    }

    /// After a build: list everything it wrote in the marker, so the next build may replace it.
    pub fn seal(&self) -> Result<()> {
        let mut found = Vec::new();
        walk(&self.path, Path::new(""), &mut found)
            .with_context(|| format!("listing what the build wrote in {}", self.path.display()))?;
        found.sort();
        let mut text = format!("{BUILT}\n");
        for path in found.iter().filter_map(|p| p.to_str()) {
            if path != MARKER {
                text.push_str(path);
                text.push('\n');
            }
        }
        write_marker(&self.path, &text)
            .with_context(|| format!("writing {} in {}", MARKER, self.path.display()))
    }
}

/// "Permission denied", without the "(os error 13)" that says nothing to a reader.
fn plain(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Write the marker whole or not at all (a temporary file renamed over it).
fn write_marker(dir: &Path, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{MARKER}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    drop(file);
    fs::rename(&tmp, dir.join(MARKER))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("procbook-dest-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("book/src")).unwrap();
        fs::write(dir.join("book/book.toml"), "").unwrap();
        dir
    }

    #[test]
    fn refuses_what_procbook_did_not_write() {
        let dir = scratch("refuse");
        let book = dir.join("book");
        let err = |dest: &Path| format!("{:#}", check(&book, dest).unwrap_err());
        fs::create_dir(dir.join("d")).unwrap();
        fs::write(dir.join("d/thesis.txt"), "x").unwrap();
        assert!(err(&dir.join("d")).contains("thesis.txt, which procbook did not write"));
        fs::write(dir.join("f"), "x").unwrap();
        assert!(err(&dir.join("f")).contains("is a file"));
        assert!(err(&book).contains("the book's own sources"));
        assert!(err(&dir).contains("the book's own sources"));
        assert!(err(&book.join("src/out")).contains("inside the book's sources"));
        assert!(err(Path::new("/")).contains("whole filesystem"));
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("dangling")).unwrap();
        assert!(err(&dir.join("dangling")).contains("symlink"));
        std::os::unix::fs::symlink(&book, dir.join("link")).unwrap();
        assert!(err(&dir.join("link")).contains("the book's own sources"));
        assert!(err(&dir.join("link/src/new")).contains("inside the book's sources"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn accepts_missing_empty_and_earlier_builds_only() {
        let dir = scratch("accept");
        let book = dir.join("book");
        let dest = check(&book, &dir.join("new/deeper")).unwrap();
        dest.claim().unwrap();
        fs::create_dir(dest.path.join("css")).unwrap();
        fs::write(dest.path.join("css/a.css"), "").unwrap();
        fs::write(dest.path.join("index.html"), "").unwrap();
        // While building, the folder is the build's own.
        assert_eq!(check(&book, &dest.path).unwrap(), dest);
        dest.seal().unwrap();
        assert_eq!(check(&book, &dest.path).unwrap(), dest);
        // Something added after the build is not procbook's.
        fs::write(dest.path.join("css/notes.txt"), "").unwrap();
        let err = format!("{:#}", check(&book, &dest.path).unwrap_err());
        assert!(err.contains("css/notes.txt"), "{err}");
        fs::create_dir(dir.join("empty")).unwrap();
        assert!(check(&book, &dir.join("empty")).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
