//! procbook: an interactive workbook that teaches multiprocessing by running it.

pub mod arg;
pub mod bench;
pub mod book;
pub mod commands;
pub mod cores;
pub mod demos;
pub mod directive;
pub mod dispatch;
pub mod engine;
pub mod figure;
pub mod grade;
pub mod group;
pub mod lessons;
pub mod limits;
pub mod repl;
pub mod scratch;
pub mod shutdown;
pub mod strip;
pub mod sys;
pub mod term;
