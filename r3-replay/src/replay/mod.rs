//! Replay IR → host module: the module that stands in for the recorded host (interface in
//! docs/replay.md). Its import implementations answer the original's calls from per-import
//! call counters, its segments make the recorded top-level export calls, and both re-apply
//! the host's effects where the host made them.

mod host;
mod layout;
mod original;

pub use original::Original;

use crate::reduce::{self, Outcome, ReduceError};
use crate::section::{Expect, ForeignStandIn, OriginalModule, ReplaySection, Segment, VERSION};
use r3_hooks::trace::{Header, Trace, Value};
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
fn type_codes(types: &[r3_hooks::trace::ValueType]) -> String {
    use r3_hooks::trace::ValueType;
    let code = |ty: &ValueType| match ty {
        ValueType::I32 => 'i',
        ValueType::I64 => 'I',
        ValueType::F32 => 'f',
        ValueType::F64 => 'F',
        ValueType::V128 => 'v',
        ValueType::FuncRef => 'r',
        ValueType::ExternRef => 'e',
    };
    types.iter().map(code).collect()
}

pub fn generate(trace: &Trace, original: &[u8], original_name: &str) -> Result<HostModule, ReplayError> {
    let sha256 = Header::new(original, 0).module_sha256;
    if sha256 != trace.header.module_sha256 {
        return Err(ReplayError::WrongModule { trace: trace.header.module_sha256.clone(), module: sha256 });
    }
    let module = Original::parse(original)?;
    let replay = reduce::reduce_with(trace, &|func| module.same_function(func))?;
    let layout = layout::Layout::new(&replay, &module)?;
    // The host module defines the function such a global holds, so it must exist first.
    let foreign_global = layout.global_inits.iter().any(|global| matches!(global.value, Value::Foreign(_)));
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
        host_first: (replay.imports_at_instantiation || foreign_global)
            && layout.functions_only_from_original(),
        functions: layout.refs.iter().copied().collect(),
        foreign: replay
            .foreign_types
            .iter()
            .map(|(&id, ty)| ForeignStandIn {
                id,
                params: type_codes(&ty.params),
                results: type_codes(&ty.results),
            })
            .collect(),
    };
    let mut warnings = replay.warnings.clone();
    if !section.host_first {
        let needs_host_first = [
            (replay.imports_at_instantiation, "the start function calls imports"),
            (foreign_global, "an imported global holds a function of the host"),
        ];
        for (_, why) in needs_host_first.iter().filter(|(needs, _)| *needs) {
            warnings.push(format!(
                "{why}, and the host module needs more of the original than functions: \
                 only the merged replay.wasm can replay that"
            ));
        }
    }
    let (bytes, data_bytes) = host::emit(&replay, &module, &layout, &section)?;
    Ok(HostModule { bytes, section, warnings, data_bytes })
}

fn expect(outcome: &Outcome) -> Expect {
    match outcome {
        Outcome::Return(_) => Expect::Return,
        Outcome::Trap => Expect::Trap,
        Outcome::Throw => Expect::Throw,
        Outcome::Unfinished => Expect::Abort,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r3_hooks::trace::Event;

    /// The host cannot write an immutable global; a trace saying it did is refused, not
    /// emitted as code for a global the host module does not import.
    #[test]
    fn a_host_write_to_an_immutable_imported_global_is_an_error() {
        let original = wat::parse_str(
            r#"(module (import "env" "g" (global i32)) (func (export "main") (result i32) (global.get 0)))"#,
        )
        .unwrap();
        let call = Event::ExportCall { func: 0, name: "main".into(), args: vec![] };
        let events = vec![
            Event::GlobalSet { global: 0, value: Value::I32(1) },
            call.clone(),
            Event::ExportReturn { results: vec![Value::I32(1)] },
            Event::GlobalSet { global: 0, value: Value::I32(2) },
            call,
            Event::ExportReturn { results: vec![Value::I32(2)] },
            Event::End { naive_events: 0 },
        ];
        let trace = Trace { header: Header::new(&original, 0), events };
        let error = generate(&trace, &original, "o.wasm").unwrap_err();
        assert!(error.to_string().contains("imports as immutable"), "{error}");
    }

    /// Shiki's onig.wasm: one memcpy of the host left 11,000 runs of changed bytes, read after
    /// one import returned; all their writes in one function exceeded V8's body size limit.
    #[test]
    fn long_action_lists_are_split_into_functions() {
        let original = wat::parse_str(
            r#"(module (import "env" "f" (func)) (memory (export "memory") 2)
                 (func (export "main") (call 0)))"#,
        )
        .unwrap();
        let writes = 3 * 2048 + 1;
        let mut events = vec![Event::ExportCall { func: 1, name: "main".into(), args: vec![] }];
        events.push(Event::ImportReturn { func: 0, results: vec![] });
        events.extend((0..writes).map(|k| Event::MemoryWrite { memory: 0, addr: 2 * k, bytes: vec![7] }));
        events.push(Event::ExportReturn { results: vec![] });
        events.push(Event::End { naive_events: 0 });
        let trace = Trace { header: Header::new(&original, 0), events };
        let host = generate(&trace, &original, "o.wasm").unwrap();
        wasmparser::Validator::new().validate_all(&host.bytes).unwrap();
        let mut bodies = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&host.bytes) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let range = body.range();
                bodies.push(range.end - range.start);
            }
        }
        // The implementation of f, r3_init, segment/0, _start, then four parts.
        assert_eq!(bodies.len(), 8, "{bodies:?}");
        assert!(bodies[4..].iter().all(|&size| size < 100_000), "{bodies:?}");
        assert!(bodies[0] < 100, "f's implementation only calls the parts: {bodies:?}");
    }
}
