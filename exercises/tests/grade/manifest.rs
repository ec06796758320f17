//! What info.toml says about an exercise: its number, chapter and one-line summary.
//!
//! The exercises crate keeps to std, so this reads the few plain fields it needs line by line
//! instead of with a TOML parser; info.toml keeps those fields simple (procbook's own tests
//! check that this reading agrees with a real parser's).

const INFO: &str = include_str!("../../info.toml");

/// One exercise, as the "not done yet" message describes it.
pub struct Entry {
    pub number: u32,
    pub chapter: u32,
    pub summary: String,
}

/// The entry for `name` (`ex06_pool_map`), if info.toml has one.
pub fn entry(name: &str) -> Option<Entry> {
    let mut current = None;
    let mut chapter = None;
    let mut summary = None;
    for line in INFO.lines() {
        if line.trim() == "[[exercises]]" {
            if current == Some(name) {
                break;
            }
            (current, chapter, summary) = (None, None, None);
        } else if let Some(value) = line.strip_prefix("name = ") {
            current = Some(value.trim().trim_matches('"'));
        } else if let Some(value) = line.strip_prefix("chapter = ") {
            chapter = value.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix("summary = ") {
            summary = Some(value.trim().trim_matches('"').to_string());
        }
    }
    if current != Some(name) {
        return None;
    }
    Some(Entry {
        number: name.get(2..4)?.parse().ok()?,
        chapter: chapter?,
        summary: summary?,
    })
}
