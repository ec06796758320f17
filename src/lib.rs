//! procbook: an interactive workbook that teaches multiprocessing by running it.

pub mod bench;
pub mod book;
pub mod commands;
pub mod demos;
pub mod directive;
pub mod engine;
pub mod figure;
pub mod grade;
pub mod lessons;
pub mod repl;
pub mod strip;
pub mod sys;
pub mod term;
