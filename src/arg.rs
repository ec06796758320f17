//! Arguments that are numbers: value parsers whose errors name the real range
//! ("--workers takes 1 to 64, not -1"), for any command's `Args`.

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
