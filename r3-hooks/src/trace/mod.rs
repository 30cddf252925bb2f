//! The R3 trace: what a module saw of its host during one recorded run. One header, then
//! events in the order the module observed them. Values are bit-exact: floats by their bits,
//! v128 as 16 bytes, references as function indices or opaque host ids.
//!
//! Two encodings carry the same data: text (JSON Lines, for people and diffs) and binary
//! (postcard, compact); [`Trace::read`] tells them apart by their first bytes.

mod binary;
mod stats;
mod text;

pub use stats::Stats;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The format version written by this crate. Version 2 added `memory_max` and foreign
/// functions, version 3 `memory_writes` and implied export returns; each older version's
/// traces are valid traces of the newer ones, so all are read.
pub const VERSION: u32 = 3;
const OLDEST_READ: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    /// sha256 of the original (uninstrumented) module's bytes, lowercase hex.
    pub module_sha256: String,
    /// Which instance of that module in the recorded program, counting from 0.
    pub instance: u32,
}

impl Header {
    pub fn new(module: &[u8], instance: u32) -> Self {
        let digest = Sha256::digest(module);
        Header {
            version: VERSION,
            module_sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
            instance,
        }
    }
}

/// A WebAssembly value, bit-exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    I32(i32),
    I64(i64),
    /// The bits of an f32, so NaN payloads survive.
    F32(u32),
    /// The bits of an f64.
    F64(u64),
    /// Little-endian bytes.
    V128([u8; 16]),
    /// A function reference by function index in the original module; `None` is null.
    FuncRef(Option<u32>),
    /// A host reference by an id the recorder assigns per distinct host value; `None` is null.
    ExternRef(Option<u64>),
    /// A function that is not the module's own (another instance's, the host's), by an id the
    /// recorder assigns per distinct function and declares with a `foreign` event first.
    Foreign(u64),
}

/// A value type, for declaring the signature of a foreign function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
}

/// One thing the module saw of its host. See `docs/trace-format.md` for when each is written
/// and how replay uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The host calls an exported function.
    ExportCall {
        func: u32,
        name: String,
        args: Vec<Value>,
    },
    /// That export call returns to the host.
    ExportReturn {
        results: Vec<Value>,
    },
    /// That export call trapped.
    ExportTrap {
        message: String,
    },
    /// A host exception (thrown by an import) left the module through that export call.
    ExportThrow,
    /// The module calls an imported function (by function index).
    ImportCall {
        func: u32,
        args: Vec<Value>,
    },
    /// That import returns to the module.
    ImportReturn {
        func: u32,
        results: Vec<Value>,
    },
    /// That import threw; the exception unwinds through the module.
    ImportThrow {
        func: u32,
    },
    /// Bytes the host wrote into a memory, as the module first read them (only the bytes that
    /// differ from what the module itself last wrote or saw).
    MemoryWrite {
        memory: u32,
        addr: u64,
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// The host grew a memory to `pages` pages.
    MemoryGrow {
        memory: u32,
        pages: u64,
    },
    /// The host set a table entry that the module later read.
    TableSet {
        table: u32,
        index: u64,
        value: Value,
    },
    /// The host grew a table to `size` entries, new entries set to `init`.
    TableGrow {
        table: u32,
        size: u64,
        init: Value,
    },
    /// The host set a global that the module later read.
    GlobalSet {
        global: u32,
        value: Value,
    },
    /// The recording ended normally; `naive_events` is how many events a recorder without any
    /// reduction would have written (every load, every global and table read), for stats.
    End {
        naive_events: u64,
    },
    /// The host's imported memory has a lower maximum (in pages) than the module declares:
    /// a `memory.grow` beyond it fails. Written at instantiation by recorders that can see it.
    MemoryMax {
        memory: u32,
        pages: u64,
    },
    /// Declares foreign function `id` (see [`Value::Foreign`]) before any event refers to it.
    Foreign {
        id: u64,
        params: Vec<ValueType>,
        results: Vec<ValueType>,
    },
    /// The module calls foreign function `id` (through a table): to the module, a call of
    /// the host like an import call, with the same call-stack optimisation.
    ForeignCall {
        id: u64,
        args: Vec<Value>,
    },
    ForeignReturn {
        id: u64,
        results: Vec<Value>,
    },
    ForeignThrow {
        id: u64,
    },
    /// What several `memory_write`s would say, found by one read: runs of host-written bytes
    /// of one memory, in ascending order, with bytes the host did not change between them.
    MemoryWrites {
        memory: u32,
        #[serde(with = "skipped_runs")]
        runs: Vec<Run>,
    },
}

/// Consecutive bytes the host wrote into a memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub addr: u64,
    #[serde(with = "hex_bytes")]
    pub bytes: Vec<u8>,
}

impl Event {
    /// The event's kind as written in both encodings.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ExportCall { .. } => "export_call",
            Event::ExportReturn { .. } => "export_return",
            Event::ExportTrap { .. } => "export_trap",
            Event::ExportThrow => "export_throw",
            Event::ImportCall { .. } => "import_call",
            Event::ImportReturn { .. } => "import_return",
            Event::ImportThrow { .. } => "import_throw",
            Event::MemoryWrite { .. } => "memory_write",
            Event::MemoryGrow { .. } => "memory_grow",
            Event::TableSet { .. } => "table_set",
            Event::TableGrow { .. } => "table_grow",
            Event::GlobalSet { .. } => "global_set",
            Event::End { .. } => "end",
            Event::MemoryMax { .. } => "memory_max",
            Event::Foreign { .. } => "foreign",
            Event::ForeignCall { .. } => "foreign_call",
            Event::ForeignReturn { .. } => "foreign_return",
            Event::ForeignThrow { .. } => "foreign_throw",
            Event::MemoryWrites { .. } => "memory_writes",
        }
    }

    /// The event for the host-written `runs` of `memory` one read found: `memory_write` for
    /// one run, `memory_writes` for several; `None` for none.
    pub fn memory_written(memory: u32, mut runs: Vec<Run>) -> Option<Event> {
        match runs.len() {
            0 => None,
            1 => {
                let Run { addr, bytes } = runs.pop()?;
                Some(Event::MemoryWrite { memory, addr, bytes })
            }
            _ => Some(Event::MemoryWrites { memory, runs }),
        }
    }

    /// The host-written bytes a `memory_write` or `memory_writes` carries, as (memory, addr,
    /// bytes) runs; nothing for other events.
    pub fn memory_runs(&self) -> impl Iterator<Item = (u32, u64, &[u8])> {
        let (one, memory, runs) = match self {
            Event::MemoryWrite { memory, addr, bytes } => {
                (Some((*memory, *addr, bytes.as_slice())), 0, &[][..])
            }
            Event::MemoryWrites { memory, runs } => (None, *memory, runs.as_slice()),
            _ => (None, 0, &[][..]),
        };
        one.into_iter().chain(runs.iter().map(move |run| (memory, run.addr, run.bytes.as_slice())))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub header: Header,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Text,
    Binary,
}

#[derive(Debug, Error)]
pub enum TraceError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not an R3 trace: {0}")]
    NotATrace(String),
    #[error(
        "trace format version {found} is not supported (this build reads versions {OLDEST_READ} to {VERSION})"
    )]
    Version { found: u32 },
    #[error("malformed trace header: {0}")]
    Header(String),
    /// `index` counts events from 0; `at` is a line (text) or byte offset (binary).
    #[error("malformed event {index} at {at}: {message}")]
    Event { index: usize, at: String, message: String },
}

impl Trace {
    pub fn new(header: Header) -> Self {
        Trace { header, events: Vec::new() }
    }

    /// Reads either encoding.
    pub fn read(bytes: &[u8]) -> Result<Trace, TraceError> {
        match Self::detect(bytes) {
            Some(Encoding::Binary) => binary::read(bytes),
            Some(Encoding::Text) => text::read(bytes),
            None => Err(TraceError::NotATrace("neither the binary magic nor a JSON header".into())),
        }
    }

    pub fn detect(bytes: &[u8]) -> Option<Encoding> {
        if bytes.starts_with(binary::MAGIC) {
            Some(Encoding::Binary)
        } else if bytes.trim_ascii_start().starts_with(b"{") {
            Some(Encoding::Text)
        } else {
            None
        }
    }

    pub fn write(&self, encoding: Encoding, out: &mut impl std::io::Write) -> Result<(), TraceError> {
        let mut writer = TraceWriter::new(out, &self.header, encoding)?;
        for event in &self.events {
            writer.event(event)?;
        }
        Ok(())
    }

    pub fn to_bytes(&self, encoding: Encoding) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write(encoding, &mut bytes).expect("writing to memory cannot fail");
        bytes
    }

    pub fn stats(&self) -> Stats {
        Stats::of(self)
    }
}

/// Writes a trace event by event, as a recorder produces it, without holding it in memory.
pub struct TraceWriter<W: std::io::Write> {
    out: W,
    encoding: Encoding,
}

impl<W: std::io::Write> TraceWriter<W> {
    pub fn new(mut out: W, header: &Header, encoding: Encoding) -> Result<Self, TraceError> {
        match encoding {
            Encoding::Text => text::write_header(header, &mut out)?,
            Encoding::Binary => binary::write_header(header, &mut out)?,
        }
        Ok(TraceWriter { out, encoding })
    }

    pub fn event(&mut self, event: &Event) -> Result<(), TraceError> {
        match self.encoding {
            Encoding::Text => text::write_event(event, &mut self.out),
            Encoding::Binary => binary::write_event(event, &mut self.out),
        }
    }

    /// Flushes and hands back the output.
    pub fn finish(mut self) -> Result<W, TraceError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn check_version(header: &Header) -> Result<(), TraceError> {
    if !(OLDEST_READ..=VERSION).contains(&header.version) {
        return Err(TraceError::Version { found: header.version });
    }
    Ok(())
}

/// `memory_writes` runs as both encodings hold them: each run's `skip`, how many bytes lie
/// between the previous run's end (address 0 for the first run) and its start, then its bytes.
/// Runs are mostly a few bytes apart (the high bytes of UTF-16 text, which the host rewrote
/// unchanged, split them), so an address takes a byte instead of three to five.
mod skipped_runs {
    use super::{Run, hex_bytes};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    #[derive(Serialize)]
    struct Skipping<'a> {
        skip: u64,
        #[serde(with = "hex_bytes")]
        bytes: &'a [u8],
    }

    #[derive(Deserialize)]
    struct Skipped {
        skip: u64,
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    }

    // Runs ascend as recorders write them; wrapping arithmetic writes any others losslessly,
    // and a reader refuses them where they reach beyond the 64-bit address space.
    pub fn serialize<S: Serializer>(runs: &[Run], serializer: S) -> Result<S::Ok, S::Error> {
        let mut end = 0u64;
        serializer.collect_seq(runs.iter().map(|run| {
            let skip = run.addr.wrapping_sub(end);
            end = run.addr.wrapping_add(run.bytes.len() as u64);
            Skipping { skip, bytes: &run.bytes }
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Run>, D::Error> {
        let mut end = 0u64;
        let runs = Vec::<Skipped>::deserialize(deserializer)?.into_iter().map(|Skipped { skip, bytes }| {
            let addr = end.checked_add(skip);
            let after = addr.and_then(|addr| addr.checked_add(bytes.len() as u64));
            let (Some(addr), Some(after)) = (addr, after) else {
                return Err(D::Error::custom("a run reaches beyond the 64-bit address space"));
            };
            end = after;
            Ok(Run { addr, bytes })
        });
        runs.collect()
    }
}

/// Memory bytes as a hex string in the text encoding, raw bytes in the binary one.
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        } else {
            serializer.serialize_bytes(bytes)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        if !deserializer.is_human_readable() {
            return <Vec<u8>>::deserialize(deserializer);
        }
        let text = String::deserialize(deserializer)?;
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("odd number of hex digits"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                let pair = text.get(i..i + 2).ok_or_else(|| D::Error::custom("not hex"))?;
                u8::from_str_radix(pair, 16).map_err(|_| D::Error::custom(format!("not hex: {pair:?}")))
            })
            .collect()
    }
}
