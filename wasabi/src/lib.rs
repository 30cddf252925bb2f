//! `wasabi`: dynamic analysis for WebAssembly 2.0 binaries. Instruments a module so that every
//! instruction reports to an analysis written against upstream Wasabi's high-level JS API.
//!
//! Pipeline: [`instrument`] (decode → survey → hook imports → emit → encode → validate), then
//! [`js::generate`] for the runtime file.

pub mod hooks;
pub mod instrument;
pub mod js;
pub mod output;
pub mod record;

pub use hooks::{Hook, HookSet, UnknownHook};
pub use instrument::{Instrumented, instrument};
pub use record::{Recording, instrument_for_recording};
