//! Replay IR → host module: the module that stands in for the recorded host (interface in
//! docs/replay.md). Its import implementations answer the original's calls from per-import
//! call counters, its segments make the recorded top-level export calls, and both re-apply
//! the host's effects where the host made them.

mod host;
mod layout;
mod original;

pub use original::Original;

use crate::reduce::{self, Outcome, ReduceError};
use crate::section::{Expect, OriginalModule, ReplaySection, Segment, VERSION};
use r3_hooks::trace::{Header, Trace};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("the original module: {0}")]
    Original(String),
    #[error(
        "the trace was recorded from another module (sha256 {trace}) than the one given (sha256 {module})"
    )]
    WrongModule { trace: String, module: String },
    #[error("the trace: {0}")]
    Reduce(#[from] ReduceError),
    /// The trace does not fit the module, e.g. a result of the wrong type.
    #[error("the trace, event {index}: {message}")]
    Mismatch { index: usize, message: String },
    #[error("the trace: {0}")]
    Unsupported(String),
}

/// A generated host module and what the generator noticed.
#[derive(Debug)]
pub struct HostModule {
    pub bytes: Vec<u8>,
    pub section: ReplaySection,
    /// Places where the replay cannot follow the recording (see [`reduce::Replay::warnings`]).
    pub warnings: Vec<String>,
    /// Bytes of host-written memory contents carried as a data segment.
    pub data_bytes: usize,
}

/// Generates the host module for `trace`, recorded from `original` (named `original_name` in
/// the two-module form).
pub fn generate(trace: &Trace, original: &[u8], original_name: &str) -> Result<HostModule, ReplayError> {
    let sha256 = Header::new(original, 0).module_sha256;
    if sha256 != trace.header.module_sha256 {
        return Err(ReplayError::WrongModule { trace: trace.header.module_sha256.clone(), module: sha256 });
    }
    let module = Original::parse(original)?;
    let replay = reduce::reduce(trace)?;
    let layout = layout::Layout::new(&replay, &module)?;
    let section = ReplaySection {
        version: VERSION,
        original: OriginalModule { name: original_name.to_string(), sha256 },
        globals: layout.global_inits.clone(),
        segments: replay
            .segments
            .iter()
            .enumerate()
            .map(|(k, segment)| Segment { export: format!("segment/{k}"), expect: expect(&segment.outcome) })
            .collect(),
        memory_writes: layout.memory_writes.clone(),
        table_entries: layout.table_entries.clone(),
    };
    let (bytes, data_bytes) = host::emit(&replay, &module, &layout, &section)?;
    Ok(HostModule { bytes, section, warnings: replay.warnings, data_bytes })
}

fn expect(outcome: &Outcome) -> Expect {
    match outcome {
        Outcome::Return(_) => Expect::Return,
        Outcome::Trap => Expect::Trap,
        Outcome::Throw => Expect::Throw,
        Outcome::Unfinished => Expect::Abort,
    }
}
