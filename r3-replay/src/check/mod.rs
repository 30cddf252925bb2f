//! `r3 check`: replaying the two-module form with the original under the native recorder and
//! comparing the trace this makes with the recorded one. Equal traces mean the replay made
//! the original see exactly what it saw when recorded.

mod diff;

pub use diff::{Mismatch, compare, event_json, render};

use crate::link::{LinkError, ReplayDir, SegmentReport};
use r3_hooks::{Trace, TraceError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CheckError {
    // Causes are part of the messages, not `source`s: `{:#}` would print them twice.
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{}: {error}", path.display())]
    Trace { path: PathBuf, error: TraceError },
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("cannot create {}: {error}", path.display())]
    Output { path: PathBuf, error: std::io::Error },
    /// Recording the replay elsewhere (node) failed.
    #[error("{0}")]
    Record(String),
}

/// What a check found.
pub struct Checked {
    pub segments: Vec<SegmentReport>,
    pub recorded: Trace,
    pub replayed: Trace,
    /// Where the replay's trace was written (removed afterwards unless kept).
    pub replayed_path: PathBuf,
    pub result: Result<(), Mismatch>,
}

/// Replays `dir` recorded and compares with the trace at `trace`. The replay's trace goes to
/// `keep` if given, else to a temporary folder removed afterwards.
pub fn check(trace: &Path, dir: &Path, keep: Option<&Path>) -> Result<Checked, CheckError> {
    check_with(trace, keep, |out| {
        let replay = ReplayDir::read(dir)?;
        Ok(replay.record(&crate::link::engine(), out)?)
    })
}

/// Like [`check`], with `record` replaying into the given folder and returning the segments'
/// ends and the original's new trace (e.g. a node run of `run.mjs` under the JS recorder).
pub fn check_with(
    trace: &Path,
    keep: Option<&Path>,
    record: impl FnOnce(&Path) -> Result<(Vec<SegmentReport>, PathBuf), CheckError>,
) -> Result<Checked, CheckError> {
    let recorded = read_trace(trace)?;
    let out = match keep {
        Some(keep) => OutDir::kept(keep),
        None => OutDir::temporary(),
    };
    std::fs::create_dir_all(&out.path)
        .map_err(|error| CheckError::Output { path: out.path.clone(), error })?;
    let (segments, replayed_path) = record(&out.path)?;
    let replayed = read_trace(&replayed_path)?;
    let result = compare(&recorded, &replayed);
    Ok(Checked { segments, recorded, replayed, replayed_path, result })
}

pub fn read_trace(path: &Path) -> Result<Trace, CheckError> {
    let bytes = std::fs::read(path).map_err(|error| CheckError::Read { path: path.to_path_buf(), error })?;
    Trace::read(&bytes).map_err(|error| CheckError::Trace { path: path.to_path_buf(), error })
}

/// The folder for the replay's trace; a temporary one is removed when dropped.
struct OutDir {
    path: PathBuf,
    temporary: bool,
}

impl OutDir {
    fn kept(path: &Path) -> OutDir {
        OutDir { path: path.to_path_buf(), temporary: false }
    }

    /// Unique per process and call: checks may run in parallel (tests).
    fn temporary() -> OutDir {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let unique = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("r3-check-{}-{unique}", std::process::id()));
        OutDir { path, temporary: true }
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
