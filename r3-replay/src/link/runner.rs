//! Running segments and comparing how each ended with how it ended in the recording.

use super::host::HostException;
use crate::section::{Expect, Segment};
use r3_hooks::wasmtime::{self, AsContextMut, Instance, Trap};
use std::fmt;

/// How a segment call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Return,
    /// A trap, with the engine's message.
    Trap(String),
    /// A host exception (`r3_host.throw`) left the call.
    Throw,
    /// Neither: the segment is missing, or the linker failed while it ran.
    Failed(String),
}

impl Outcome {
    pub fn of(result: &wasmtime::Result<()>) -> Outcome {
        let Err(error) = result else { return Outcome::Return };
        if error.downcast_ref::<HostException>().is_some() {
            Outcome::Throw
        } else if let Some(trap) = error.downcast_ref::<Trap>() {
            Outcome::Trap(trap.to_string())
        } else {
            Outcome::Failed(format!("{error:#}"))
        }
    }

    /// Whether this is how a segment expected to end `expect` ends. An abort is replayed as a
    /// trap; in a merged module, so is a throw (it has no host to raise exceptions).
    pub fn matches(&self, expect: Expect, merged: bool) -> bool {
        match self {
            Outcome::Return => expect == Expect::Return,
            Outcome::Trap(_) => {
                matches!(expect, Expect::Trap | Expect::Abort) || (merged && expect == Expect::Throw)
            }
            Outcome::Throw => expect == Expect::Throw,
            Outcome::Failed(_) => false,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Return => write!(f, "return"),
            Outcome::Trap(message) => write!(f, "trap ({message})"),
            Outcome::Throw => write!(f, "throw"),
            Outcome::Failed(message) => write!(f, "failed ({message})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    pub export: String,
    pub expect: Expect,
    pub outcome: Outcome,
    pub as_expected: bool,
}

impl fmt::Display for SegmentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.as_expected { "ok" } else { "UNEXPECTED" };
        write!(f, "{}: {} (expected {}) {verdict}", self.export, self.outcome, self.expect.as_str())
    }
}

/// Calls each segment export of `instance` in order, whatever the previous ones did.
pub fn run_segments(
    mut store: impl AsContextMut,
    instance: Instance,
    segments: &[Segment],
    merged: bool,
) -> Vec<SegmentReport> {
    segments
        .iter()
        .map(|segment| {
            let outcome = match instance.get_typed_func::<(), ()>(&mut store, &segment.export) {
                Ok(func) => Outcome::of(&func.call(&mut store, ())),
                Err(error) => {
                    Outcome::Failed(format!("no export {} of type [] -> []: {error:#}", segment.export))
                }
            };
            let as_expected = outcome.matches(segment.expect, merged);
            SegmentReport { export: segment.export.clone(), expect: segment.expect, outcome, as_expected }
        })
        .collect()
}

/// The last line of a run's report, as the JS runner prints it too.
pub fn summary(reports: &[SegmentReport]) -> String {
    let good = reports.iter().filter(|report| report.as_expected).count();
    format!("{good} of {} segments ended as expected", reports.len())
}
