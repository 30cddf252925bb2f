//! `r3_hooks`: recording how a WebAssembly module interacts with its host. The trace format
//! (`docs/trace-format.md`) is defined here; every consumer reads these types.

pub mod record;
pub mod trace;

pub use trace::{Event, Header, Trace, TraceError, TraceWriter, Value};
/// The wasmtime the native recorder is built on, so that hosts use the very same types.
pub use wasmtime;
