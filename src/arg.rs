//! Arguments and their errors: value parsers for numbers whose errors name the real range
//! ("--workers takes 1 to 64, not -1"), for any command's `Args`, and any clap error as one
//! line a learner can act on.

/// A number outside what a command takes: the message names the real range.
#[derive(Debug)]
pub struct BadNumber {
    pub text: String,
    /// The list of lessons would help (say where to find it).
    pub see_lessons: bool,
}

impl std::fmt::Display for BadNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for BadNumber {}

/// A value parser for a whole number from `low` to `high`, whose error says so:
/// "--workers takes 1 to 64, not -1".
pub fn number_in(
    flag: &'static str,
    low: u64,
    high: u64,
) -> impl Fn(&str) -> Result<u64, BadNumber> + Clone + Send + Sync + 'static {
    move |text| {
        let bad = || BadNumber {
            text: format!(
                "{flag} takes {low} to {high}, not {}",
                crate::term::shown(text)
            ),
            see_lessons: false,
        };
        let n: u64 = text.trim().parse().map_err(|_| bad())?;
        if (low..=high).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    }
}

/// A clap parse error as one line a learner can act on: the complaint, clap's tip if it has
/// one, and where to look next.
pub fn one_line(err: &clap::Error, help_hint: &str) -> String {
    one_line_at(err, help_hint, "")
}

/// [`one_line`], where commands are typed after `prefix` (`procbook ` on the command line,
/// nothing in the REPL).
pub fn one_line_at(err: &clap::Error, help_hint: &str, prefix: &str) -> String {
    // Our own value parsers say what is wrong in full: no need for clap's framing.
    if let Some(bad) = std::error::Error::source(err).and_then(|e| e.downcast_ref::<BadNumber>()) {
        return if bad.see_lessons {
            format!("{bad} (see them with: {prefix}lessons)")
        } else {
            format!("{bad} ({help_hint})")
        };
    }
    let text = err.render().to_string();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .peekable();
    let mut first = lines
        .next()
        .unwrap_or("could not read that command")
        .trim_start_matches("error: ")
        .to_string();
    // "…were not provided:" is followed by the list of what is missing.
    if first.ends_with(':') {
        let mut missing = Vec::new();
        while let Some(item) = lines.next_if(|l| !l.starts_with("Usage:") && !l.starts_with("tip:"))
        {
            missing.push(item);
        }
        first = format!("{first} {}", missing.join(", "));
    }
    // clap's "to pass '--x' as a value, use '-- --x'" misleads more than it helps here.
    let tip = lines
        .filter_map(|l| l.strip_prefix("tip: "))
        .find(|tip| !tip.starts_with("to pass"));
    match tip {
        Some(tip) => format!("{first}; {tip} ({help_hint})"),
        None => format!("{first} ({help_hint})"),
    }
}
