//! The process engine: Python's `multiprocessing` (spawn start method), made visible in Rust.

pub mod cancel;
