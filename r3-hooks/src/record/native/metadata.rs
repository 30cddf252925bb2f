//! The instrumented module's own description of what the host can reach (custom section "r3",
//! written by `wasabi::record`): read back from the bytes rather than taken from the
//! instrumenter's structs, so that the JSON in the module stays the one interface recorders
//! depend on.

use serde::Deserialize;
use wasmparser::{Parser, Payload};

/// The metadata version this recorder reads.
const VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub version: u32,
    pub module_sha256: String,
    pub name: Option<String>,
    pub imported_functions: u32,
    pub memory: Option<HostMemory>,
    pub globals: Vec<HostGlobal>,
    pub tables: Vec<HostTable>,
}

#[derive(Debug, Deserialize)]
pub struct HostMemory {
    /// `None`: the original defined memory 0; the recorder provides it as `__r3.memory`.
    pub import: Option<(String, String)>,
    pub initial: u64,
    pub maximum: Option<u64>,
    /// Where byte 0 of memory 0 is in the shadow; the shadow has room for it past the memory's
    /// size. Instrumentation without the field keeps them aligned.
    #[serde(default)]
    pub shadow_offset: u32,
}

#[derive(Debug, Deserialize)]
pub struct HostGlobal {
    pub index: u32,
    pub mutable: bool,
    pub import: Option<(String, String)>,
    pub export: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct HostTable {
    pub index: u32,
    /// `r` funcref, `e` externref.
    #[serde(rename = "type")]
    pub ty: char,
    pub initial: u64,
    pub import: Option<(String, String)>,
    pub export: Vec<String>,
}

impl Metadata {
    /// From an r3-instrumented module's bytes; the error says what is missing or malformed.
    pub fn read(instrumented: &[u8]) -> Result<Metadata, String> {
        let json = section(instrumented)?.ok_or("the module has no \"r3\" custom section")?;
        let metadata: Metadata = serde_json::from_slice(json)
            .map_err(|error| format!("the \"r3\" custom section is no valid metadata: {error}"))?;
        if metadata.version != VERSION {
            return Err(format!(
                "the metadata has version {}, this recorder reads version {VERSION}",
                metadata.version
            ));
        }
        Ok(metadata)
    }
}

fn section(bytes: &[u8]) -> Result<Option<&[u8]>, String> {
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|error| error.to_string())?;
        if let Payload::CustomSection(reader) = payload
            && reader.name() == wasabi::record::METADATA_SECTION
        {
            return Ok(Some(reader.data()));
        }
    }
    Ok(None)
}
