//! The process engine: Python's `multiprocessing` (spawn start method), made visible in Rust.
//!
//! It is small on purpose, because it is what procbook teaches: a worker is this same binary
//! re-executed ([`child`]); `main` calls [`guard`] first so a worker serves tasks instead of
//! starting the app; tasks are functions found by name ([`task`]); requests and replies cross
//! pipes as length-prefixed JSON frames ([`wire`]). [`Process`] and [`Pool`] are built on that.
//! The engine never prints: it returns values and sends [`Event`]s; the caller shows them.

pub mod cancel;
pub mod child;
pub mod clock;
pub mod error;
pub mod event;
pub mod guard;
pub mod pool;
pub mod process;
pub mod task;
pub mod wire;

pub use clock::Stamp;
pub use error::{Error, Result};
pub use event::{Event, Exit, Stream};
pub use guard::{ProcessInfo, current_process, guard};
pub use pool::{MAX_WORKERS, Pool, default_chunksize};
pub use process::Process;
pub use task::{Registry, Runnable, Task};
