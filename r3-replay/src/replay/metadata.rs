//! The host module's `r3-replay` custom section: what a linker or runner needs beyond the
//! module's imports and exports (docs/replay.md).

use super::layout::Layout;
use crate::reduce::{Outcome, Replay};
use r3_hooks::trace::Value;
use serde::{Deserialize, Serialize};

pub const SECTION: &str = "r3-replay";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub version: u32,
    pub original: OriginalModule,
    /// The initial value of every global the original imports.
    pub globals: Vec<GlobalInit>,
    /// The type of every memory and table the original imports, for linkers that cannot read
    /// import types from the host module (the JS API).
    #[serde(default)]
    pub memories: Vec<MemoryInit>,
    #[serde(default)]
    pub tables: Vec<TableInit>,
    pub segments: Vec<SegmentInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginalModule {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalInit {
    /// The original's import number.
    pub import: u32,
    pub value: Value,
    #[serde(default)]
    pub mutable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryInit {
    pub import: u32,
    /// In pages, the size the host gave it.
    pub initial: u64,
    pub maximum: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableInit {
    pub import: u32,
    /// `funcref` or `externref`.
    pub element: String,
    pub initial: u64,
    pub maximum: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub export: String,
    pub expect: Expect,
}

/// How a segment's last export call ended in the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Return,
    Trap,
    Throw,
    /// The recording ended inside the call; the replay traps there.
    Abort,
}

impl Metadata {
    pub(super) fn new(name: &str, sha256: &str, replay: &Replay, layout: &Layout) -> Metadata {
        let segments = replay
            .segments
            .iter()
            .enumerate()
            .map(|(k, segment)| SegmentInfo {
                export: format!("segment/{k}"),
                expect: Expect::of(&segment.outcome),
            })
            .collect();
        Metadata {
            version: VERSION,
            original: OriginalModule { name: name.to_string(), sha256: sha256.to_string() },
            globals: layout.global_inits.clone(),
            memories: layout.memory_inits.clone(),
            tables: layout.table_inits.clone(),
            segments,
        }
    }

    /// Reads the section from a host module or a merged replay module; `None` if absent.
    pub fn read(module: &[u8]) -> Result<Option<Metadata>, String> {
        for payload in wasmparser::Parser::new(0).parse_all(module) {
            match payload.map_err(|error| error.to_string())? {
                wasmparser::Payload::CustomSection(section) if section.name() == SECTION => {
                    let metadata: Metadata = serde_json::from_slice(section.data())
                        .map_err(|error| format!("malformed {SECTION} section: {error}"))?;
                    if metadata.version != VERSION {
                        return Err(format!(
                            "{SECTION} section version {} is not supported",
                            metadata.version
                        ));
                    }
                    return Ok(Some(metadata));
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

impl Expect {
    fn of(outcome: &Outcome) -> Expect {
        match outcome {
            Outcome::Return(_) => Expect::Return,
            Outcome::Trap => Expect::Trap,
            Outcome::Throw => Expect::Throw,
            Outcome::Unfinished => Expect::Abort,
        }
    }
}
