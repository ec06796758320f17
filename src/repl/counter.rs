//! Why worker numbers jump: the first time a command's first process is not number 1
//! (`Process-85` after `bench`), one line says that the number comes from one counter for the
//! whole program, as in Python, and which lesson explains it.

use std::io::Write;

/// The lesson that explains where worker names come from.
const LESSON: u32 = 7;

/// A writer that passes everything through and notes the first process tag it sees:
/// `[SpawnPoolWorker-5 pid 4711]` gives `("SpawnPoolWorker-5", 5)`.
pub struct Watch<'a, W: Write + ?Sized> {
    inner: &'a mut W,
    first: Option<(String, u64)>,
    /// The end of the last line written, to find tags split across writes.
    tail: String,
}

impl<'a, W: Write + ?Sized> Watch<'a, W> {
    pub fn new(inner: &'a mut W) -> Self {
        Watch {
            inner,
            first: None,
            tail: String::new(),
        }
    }

    /// The first process named in what was written, with its number.
    pub fn first(&self) -> Option<&(String, u64)> {
        self.first.as_ref()
    }
}

impl<W: Write + ?Sized> Write for Watch<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if self.first.is_none() {
            self.tail.push_str(&String::from_utf8_lossy(&buf[..n]));
            self.first = first_tag(&self.tail);
            if let Some(end) = self.tail.rfind('\n') {
                self.tail.drain(..=end);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The first `[Name-N pid P]` in `text`.
pub fn first_tag(text: &str) -> Option<(String, u64)> {
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(end) = rest.find(" pid ") else { break };
        let name = &rest[..end];
        let number = name
            .rsplit_once('-')
            .filter(|(kind, _)| !kind.is_empty() && !kind.contains([' ', '[', ']']))
            .and_then(|(_, n)| n.parse::<u64>().ok());
        if let Some(number) = number {
            return Some((name.to_string(), number));
        }
    }
    None
}

/// The note for a command whose first process shown was `name` (number `n`), when earlier
/// commands had taken `taken` numbers, if it is the first such surprise: `None` for number 1,
/// when no earlier command started a process (the command's own earlier rounds took the
/// numbers, as `demo gil`'s do), or once the note has been given.
pub fn note(first: Option<&(String, u64)>, taken: usize, given: &mut bool) -> Option<String> {
    let (name, n) = first?;
    if *n <= 1 || taken == 0 || *given {
        return None;
    }
    let n = taken + 1;
    *given = true;
    let kind = name.rsplit_once('-').map_or(name.as_str(), |(k, _)| k);
    Some(format!(
        "{name}, not {kind}-1: worker numbers come from one counter for the whole program \
         (Python's multiprocessing counts the same way, with _process_counter), so earlier \
         commands used the numbers before {n}. Lesson {LESSON} explains it."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_found_even_split_across_writes() {
        assert_eq!(
            first_tag("x [a b] [SpawnPoolWorker-85 pid 12] started"),
            Some(("SpawnPoolWorker-85".into(), 85))
        );
        assert_eq!(first_tag("[1, 4, 9]\n"), None);
        let mut out = Vec::new();
        let mut watch = Watch::new(&mut out);
        watch.write_all(b"note: hi\n[Proc").unwrap();
        watch.write_all(b"ess-3 pid 9] x\n").unwrap();
        assert_eq!(watch.first(), Some(&("Process-3".to_string(), 3)));
    }

    #[test]
    fn the_note_comes_once_and_only_for_a_number_past_1() {
        let mut given = false;
        assert_eq!(note(Some(&("Process-1".into(), 1)), 0, &mut given), None);
        // A command whose own earlier rounds took the numbers gets no note.
        assert_eq!(
            note(Some(&("SpawnPoolWorker-5".into(), 5)), 0, &mut given),
            None
        );
        let text = note(Some(&("Process-85".into(), 85)), 84, &mut given).unwrap();
        assert!(text.starts_with("Process-85, not Process-1: "), "{text}");
        assert!(text.contains("Lesson 7"), "{text}");
        assert_eq!(note(Some(&("Process-86".into(), 86)), 85, &mut given), None);
    }
}
