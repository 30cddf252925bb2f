//! Replay IR → host module: the module that stands in for the recorded host (interface in
//! docs/replay.md). Its import implementations answer the original's calls in recorded order,
//! its segments make the recorded top-level export calls, and both re-apply the host's
//! effects where the host made them: as data on a tape where they can ([`tape`]), else as
//! code.

mod host;
mod layout;
mod original;
mod tape;

pub use original::Original;

use crate::reduce::{self, Outcome, ReduceError};
use crate::section::{Expect, ForeignStandIn, OriginalModule, ReplaySection, Segment, VERSION};
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
    /// Bytes of the data segment: host-written memory contents and the tape.
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
    check_host_writes(trace, &module)?;
    let replay = reduce::reduce_with(trace, &|func| module.same_function(func))?;
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
        host_first: layout::needs_host_first(&replay) && layout.functions_only_from_original(),
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
            (layout::foreign_global(&replay), "an imported global holds a function of the host"),
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

/// Host bytes of a memory the module does not have, or beyond the largest size its memory can
/// grow to (a corrupt trace), are refused here with their event, not left to trap the replay.
fn check_host_writes(trace: &Trace, module: &Original) -> Result<(), ReplayError> {
    for (index, event) in trace.events.iter().enumerate() {
        for (memory, addr, bytes) in event.memory_runs() {
            let mismatch = |message| ReplayError::Mismatch { index, message };
            let ty = module.memories.get(memory as usize);
            let ty = ty.ok_or_else(|| mismatch(format!("the module has no memory {memory}")))?;
            let pages = ty.maximum.unwrap_or(if ty.memory64 { 1 << 48 } else { 1 << 16 });
            let largest = pages.saturating_mul(1 << ty.page_size_log2.unwrap_or(16));
            let end = addr.checked_add(bytes.len() as u64).filter(|&end| end <= largest);
            if end.is_none() {
                let (count, what) = (bytes.len(), event.kind());
                return Err(mismatch(format!(
                    "{what} of {count} bytes at {addr} lies beyond the {largest} bytes memory {memory} can grow to"
                )));
            }
        }
    }
    Ok(())
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
    use r3_hooks::trace::{Event, Value};

    use r3_hooks::wasmtime::{Engine, Instance, Module, Store};

    /// The sizes of the module's function bodies.
    fn bodies(module: &[u8]) -> Vec<u64> {
        let mut bodies = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(module) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                bodies.push(body.range().end - body.range().start);
            }
        }
        bodies
    }

    fn trace(original: &[u8], events: Vec<Event>) -> Trace {
        Trace { header: Header::new(original, 0), events }
    }

    /// Runs the first segment of the merged replay on wasmtime; the host module's functions
    /// must include the tape's interpreter and field reader (the last two before any parts).
    fn replay_through_tape(original: &str, events: Vec<Event>) -> r3_hooks::wasmtime::Result<()> {
        let original = wat::parse_str(original).unwrap();
        let host = generate(&trace(&original, events), &original, "o.wasm").unwrap();
        let functions = 1 + 3 + 2; // the import's implementation, r3_init, segment/0, _start
        assert_eq!(bodies(&host.bytes).len(), functions, "the tape's functions are there");
        let merged = crate::merge::merge(&host.bytes, &original).unwrap();
        let engine = Engine::default();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &Module::new(&engine, &merged)?, &[])?;
        instance.get_typed_func::<(), ()>(&mut store, "segment/0")?.call(&mut store, ())
    }

    fn returned(func: u32, results: Vec<Value>) -> Event {
        Event::ImportReturn { func, results }
    }

    fn main(args: Vec<Value>) -> Event {
        Event::ExportCall { func: 1, name: "main".into(), args }
    }

    fn end() -> [Event; 2] {
        [Event::ExportReturn { results: vec![] }, Event::End { naive_events: 0 }]
    }

    /// `main(n)` calls `f` n times and traps unless it answers 7, 7, 7, 9, 9: two records.
    const REPEATS: &str = r#"(module (import "env" "f" (func $f (result i32))) (memory (export "memory") 1)
        (func (export "main") (param $n i32) (local $i i32)
          (loop $more
            (if (i32.ne (call $f)
                  (select (i32.const 7) (i32.const 9) (i32.lt_u (local.get $i) (i32.const 3))))
              (then unreachable))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $more (i32.lt_u (local.get $i) (local.get $n))))))"#;

    #[test]
    fn repeated_answers_replay_in_order_and_a_call_beyond_them_traps() {
        let answers = || {
            let answer = |x| returned(0, vec![Value::I32(x)]);
            [answer(7), answer(7), answer(7), answer(9), answer(9)]
        };
        let recorded = |n| {
            let mut events = vec![main(vec![Value::I32(n)])];
            events.extend(answers());
            events.extend(end());
            events
        };
        replay_through_tape(REPEATS, recorded(5)).unwrap();
        // Six calls where five were recorded: the sixth reaches the stream's end.
        let error = replay_through_tape(REPEATS, recorded(6)).unwrap_err();
        let trap = error.downcast_ref::<r3_hooks::wasmtime::Trap>();
        assert_eq!(trap, Some(&r3_hooks::wasmtime::Trap::UnreachableCodeReached), "{error:?}");
    }

    /// `f`'s first call calls `callback`, which calls `f` again before the first call answers:
    /// the nested call must get the next record.
    #[test]
    fn an_import_reentered_from_its_own_actions_answers_the_next_call() {
        let original = r#"(module (import "env" "f" (func $f (param i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "main")
              (if (i32.ne (call $f (i32.const 0)) (i32.const 5)) (then unreachable))
              (if (i32.ne (i32.load (i32.const 200)) (i32.const 7)) (then unreachable)))
            (func (export "callback") (param i32)
              (i32.store (i32.const 200) (call $f (local.get 0)))))"#;
        let mut events = vec![
            main(vec![]),
            Event::ImportCall { func: 0, args: vec![Value::I32(0)] },
            Event::ExportCall { func: 2, name: "callback".into(), args: vec![Value::I32(1)] },
            returned(0, vec![Value::I32(7)]),
            Event::ExportReturn { results: vec![] },
            returned(0, vec![Value::I32(5)]),
        ];
        events.extend(end());
        replay_through_tape(original, events).unwrap();
    }

    /// Reading the tape borrows address 0; the module must find there what it stored.
    #[test]
    fn the_scratch_area_is_restored_after_host_writes() {
        let original = r#"(module (import "env" "f" (func $f)) (memory (export "memory") 1)
            (func (export "main")
              (i64.store (i32.const 0) (i64.const 0x1122334455667788))
              (call $f)
              (if (i64.ne (i64.load (i32.const 0)) (i64.const 0x1122334455667788)) (then unreachable))
              (if (i32.ne (i32.load (i32.const 100)) (i32.const 0x0a0b0c0d)) (then unreachable))))"#;
        let mut events = vec![
            main(vec![]),
            returned(0, vec![]),
            Event::MemoryWrite { memory: 0, addr: 100, bytes: vec![0x0d, 0x0c, 0x0b, 0x0a] },
        ];
        events.extend(end());
        replay_through_tape(original, events).unwrap();
    }

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

    #[test]
    fn host_bytes_beyond_the_largest_memory_are_an_error_naming_the_event() {
        let original =
            wat::parse_str(r#"(module (memory (export "memory") 1 2) (func (export "main")))"#).unwrap();
        let write = |addr| Event::MemoryWrite { memory: 0, addr, bytes: vec![1, 2] };
        for (written, error) in [
            (write(2 * 65536 - 2), None),
            (write(2 * 65536 - 1), Some("beyond the 131072 bytes memory 0 can grow to")),
            (write(u64::MAX), Some("at 18446744073709551615 lies beyond")),
            (Event::MemoryWrite { memory: 1, addr: 0, bytes: vec![1] }, Some("no memory 1")),
        ] {
            let call = Event::ExportCall { func: 0, name: "main".into(), args: vec![] };
            let events =
                vec![call, written, Event::ExportReturn { results: vec![] }, Event::End { naive_events: 0 }];
            let trace = Trace { header: Header::new(&original, 0), events };
            match (generate(&trace, &original, "o.wasm"), error) {
                (Ok(_), None) => {}
                (Err(found), Some(expected)) => {
                    let found = found.to_string();
                    assert!(found.starts_with("the trace, event 1: ") && found.contains(expected), "{found}");
                }
                (result, _) => panic!("{:?}", result.map(|_| "a replay")),
            }
        }
    }

    /// Shiki's onig.wasm: one memcpy of the host left 11,000 runs of changed bytes, read after
    /// one import returned; all their writes in one function exceeded V8's body size limit.
    /// (Memory 0 starts empty: no scratch area, so no tape.)
    #[test]
    fn long_action_lists_are_split_into_functions() {
        let original = wat::parse_str(
            r#"(module (import "env" "f" (func)) (memory (export "memory") 0)
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
        let bodies = bodies(&host.bytes);
        // The implementation of f, r3_init, segment/0, _start, then four parts.
        assert_eq!(bodies.len(), 8, "{bodies:?}");
        assert!(bodies[4..].iter().all(|&size| size < 100_000), "{bodies:?}");
        assert!(bodies[0] < 100, "f's implementation only calls the parts: {bodies:?}");
    }
}
