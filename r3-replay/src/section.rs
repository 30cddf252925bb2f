//! The `r3-replay` custom section of a host module (and of a merged replay module): which
//! original it replays, the initial values of the original's imported globals, and how each
//! segment must end. Format: `docs/replay.md`.

use r3_hooks::Value;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The custom section's name.
pub const NAME: &str = "r3-replay";

/// The section format version this crate reads and writes.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaySection {
    pub version: u32,
    pub original: OriginalModule,
    #[serde(default)]
    pub globals: Vec<InitialGlobal>,
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Host writes to memories the original imports, made before it was instantiated (its
    /// start function may read them); linkers apply them to the memories they create.
    #[serde(default)]
    pub memory_writes: Vec<InitialBytes>,
    /// Entries the host put into tables the original imports before it was instantiated.
    #[serde(default)]
    pub table_entries: Vec<InitialEntry>,
    /// Link H before O: O's start function calls imports, and H needs nothing of O but
    /// functions (which linkers forward lazily).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_first: bool,
    /// The original's functions the host imports as the table `r3_host.functions`: linkers
    /// create it and put function `n` at index `n`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<u32>,
    /// The host's stand-ins for the trace's foreign functions, exported as `foreign/<id>`,
    /// with their signatures (JS recorders cannot ask a function for its type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignStandIn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignStandIn {
    pub id: u64,
    /// Type codes as in the recording metadata (`i I f F v r e`).
    pub params: String,
    pub results: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialBytes {
    /// The original's import number of the memory.
    pub import: u32,
    pub addr: u64,
    /// Lowercase hex.
    pub bytes: String,
}

impl InitialBytes {
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        let digits = self.bytes.as_bytes();
        if !digits.len().is_multiple_of(2) {
            return Err(format!("odd number of hex digits in the bytes for address {}", self.addr));
        }
        digits
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| format!("not hex: {:?}", String::from_utf8_lossy(pair)))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialEntry {
    /// The original's import number of the table.
    pub import: u32,
    pub index: u64,
    pub value: Value,
}

/// The original module, as the generator found it next to the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalModule {
    /// File name, e.g. `fib.wasm`; the two-module form keeps it next to `host.wasm`.
    pub name: String,
    /// sha256 of its bytes, lowercase hex (the trace header's `module_sha256`).
    pub sha256: String,
}

/// The value the host gave an imported global of the original at instantiation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialGlobal {
    /// The original's import number (all imports counted from 0, in order).
    pub import: u32,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The host module's export running it, `segment/<k>`.
    pub export: String,
    pub expect: Expect,
}

/// How a segment ended in the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Return,
    /// The original trapped.
    Trap,
    /// A host exception left the original.
    Throw,
    /// The recording ended inside the call (the program exited from an import); the replay
    /// traps there.
    Abort,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Return => "return",
            Expect::Trap => "trap",
            Expect::Throw => "throw",
            Expect::Abort => "abort",
        }
    }
}

#[derive(Debug, Error)]
pub enum SectionError {
    // Errors are part of the message, not sources: `{:#}` would print them twice.
    #[error("not a WebAssembly module: {0}")]
    Module(wasmparser::BinaryReaderError),
    #[error("the {NAME} custom section is not valid JSON of the expected shape: {0}")]
    Json(serde_json::Error),
    #[error("the {NAME} custom section has version {found}; this build reads version {VERSION}")]
    Version { found: u32 },
    #[error("the module has {0} {NAME} custom sections; one is expected")]
    Several(usize),
}

impl ReplaySection {
    /// The section of `module` (binary), `None` if it has none.
    pub fn read(module: &[u8]) -> Result<Option<ReplaySection>, SectionError> {
        let mut found = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(module) {
            if let wasmparser::Payload::CustomSection(reader) = payload.map_err(SectionError::Module)?
                && reader.name() == NAME
            {
                found.push(reader.data().to_vec());
            }
        }
        match found.as_slice() {
            [] => Ok(None),
            [json] => Self::parse(json).map(Some),
            several => Err(SectionError::Several(several.len())),
        }
    }

    pub fn parse(json: &[u8]) -> Result<ReplaySection, SectionError> {
        let section: ReplaySection = serde_json::from_slice(json).map_err(SectionError::Json)?;
        if section.version != VERSION {
            return Err(SectionError::Version { found: section.version });
        }
        Ok(section)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the section has only JSON-representable fields")
    }

    /// The initial value of the original's import `import`, if the section has one.
    pub fn global(&self, import: u32) -> Option<Value> {
        self.globals.iter().find(|global| global.import == import).map(|global| global.value)
    }
}
