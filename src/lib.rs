//! procbook: an interactive workbook that teaches multiprocessing by running it.

pub mod engine;
