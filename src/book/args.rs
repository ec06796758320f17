//! The options of `procbook book`, apart from the build itself, so that the command table can
//! name them without depending on the book.

use clap::{Args, Subcommand};

/// Options of `book`.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct BookArgs {
    /// Where to write the HTML (default: book/build in the workspace)
    #[arg(long, value_name = "DIR")]
    pub dest: Option<std::path::PathBuf>,
    /// Open the built book in your browser
    #[arg(long)]
    pub open: bool,
    /// Serve the built book on http://127.0.0.1 (Ctrl-C to stop)
    #[arg(long)]
    pub serve: bool,
    #[command(subcommand)]
    pub action: Option<BookAction>,
}

/// What `book` does besides building.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum BookAction {
    /// Act as mdBook's preprocessor (book/book.toml calls this; not for people)
    #[command(hide = true)]
    Preprocess {
        /// What mdBook passes, such as `supports html`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}
