//! The native recorder on wasmtime: each test runs a small module with a Rust host and checks
//! the exact events of its trace.

use r3_hooks::record::native::{RecordedInstance, Recorder, RecordingModule};
use r3_hooks::wasmtime::{
    Caller, Engine, Extern, ExternRef, Func, FuncType, Global, GlobalType, Instance, Memory, MemoryType,
    Module, Mutability, Ref, RefType, Store, Table, TableType, Val, ValType,
};
use r3_hooks::{Event, Trace, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

struct Host {
    engine: Engine,
    store: Store<()>,
    recorder: Recorder,
    dir: PathBuf,
    _removed_on_drop: tempfile::TempDir,
}

impl Host {
    fn new(test: &str) -> Host {
        let temp = tempfile::Builder::new().prefix(&format!("r3-native-{test}-")).tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let engine = Engine::default();
        let store = Store::new(&engine, ());
        // Every export_return, so that the tests see what each export returned; the default is
        // tested in `an_export_call_implies_the_return_before_it`.
        Host { recorder: Recorder::new(&dir).keep_returns(), engine, store, dir, _removed_on_drop: temp }
    }

    fn module(&self, wat: &str, name: &str) -> RecordingModule {
        let bytes = wat::parse_str(wat).expect("valid wat");
        RecordingModule::new(&self.engine, &bytes, Some(name)).expect("instrumented")
    }

    fn instantiate(&mut self, module: &RecordingModule, imports: &[Extern]) -> RecordedInstance {
        self.recorder.instantiate(&mut self.store, module, imports).expect("instantiated")
    }

    fn call(&mut self, instance: &RecordedInstance, name: &str, args: &[Val], results: usize) -> Vec<Val> {
        let mut out = vec![Val::I32(0); results];
        instance.call(&mut self.store, name, args, &mut out).expect("call succeeds");
        out
    }

    /// Finishes the recording; the events of the only trace.
    fn events(&mut self) -> Vec<Event> {
        let traces = self.recorder.finish(&mut self.store).expect("traces written");
        assert_eq!(traces.len(), 1, "{traces:?}");
        read(&traces[0]).events
    }
}

fn read(path: &Path) -> Trace {
    Trace::read(&std::fs::read(path).expect("trace exists")).expect("trace parses")
}

fn i32s(values: &[i32]) -> Vec<Value> {
    values.iter().map(|&v| Value::I32(v)).collect()
}

#[test]
fn export_call_values_are_bit_exact() {
    let mut host = Host::new("values");
    let module = host.module(
        r#"(module (func (export "swap") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
              local.get 3 local.get 2 local.get 1 local.get 0))"#,
        "values",
    );
    let instance = host.instantiate(&module, &[]);
    let nan = 0x7fa0_0001u32; // a signalling NaN with a payload
    let args = [Val::I32(i32::MIN), Val::I64(i64::MAX), Val::F32(nan), Val::F64((-0.0f64).to_bits())];
    let results = host.call(&instance, "swap", &args, 4);
    assert_eq!(results[1].unwrap_f32().to_bits(), nan);
    let events = host.events();
    assert_eq!(
        events,
        vec![
            Event::ExportCall {
                func: 0,
                name: "swap".into(),
                args: vec![
                    Value::I32(i32::MIN),
                    Value::I64(i64::MAX),
                    Value::F32(nan),
                    Value::F64(0x8000_0000_0000_0000)
                ],
            },
            Event::ExportReturn {
                results: vec![
                    Value::F64(0x8000_0000_0000_0000),
                    Value::F32(nan),
                    Value::I64(i64::MAX),
                    Value::I32(i32::MIN)
                ],
            },
            Event::End { naive_events: 2 },
        ]
    );
}

#[test]
fn host_memory_writes_are_recorded_where_the_module_reads_them() {
    let mut host = Host::new("memory");
    let module = host.module(
        r#"(module
            (import "env" "fill" (func $fill (param i32)))
            (memory (export "memory") 1)
            (func (export "run") (result i32)
              (i32.store (i32.const 0) (i32.const 0x01020304))
              (call $fill (i32.const 16))
              (drop (i32.load (i32.const 0)))
              (i32.load (i32.const 16))))"#,
        "memory",
    );
    let fill = Func::wrap(&mut host.store, |mut caller: Caller<'_, ()>, at: i32| {
        let memory = caller.get_export("memory").and_then(Extern::into_memory).expect("memory export");
        memory.write(&mut caller, at as usize, &[0xaa, 0xbb, 0xcc, 0xdd]).expect("in bounds");
    });
    let instance = host.instantiate(&module, &[fill.into()]);
    let results = host.call(&instance, "run", &[], 1);
    assert_eq!(results[0].unwrap_i32(), 0xddccbbaau32 as i32);
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 1, name: "run".into(), args: vec![] },
            // The import_call is implied by its import_return (call-stack optimisation).
            Event::ImportReturn { func: 0, results: vec![] },
            Event::MemoryWrite { memory: 0, addr: 16, bytes: vec![0xaa, 0xbb, 0xcc, 0xdd] },
            Event::ExportReturn { results: i32s(&[0xddccbbaau32 as i32]) },
            // Two loads, a call and a return for the call of the import, four call events.
            Event::End { naive_events: 8 },
        ]
    );
}

#[test]
fn imports_see_the_recorded_module_as_their_caller() {
    let mut host = Host::new("caller");
    let module = host.module(
        r#"(module
            (import "env" "init" (func $init))
            (import "env" "call_back" (func $call_back (result i32)))
            (memory (export "memory") 1)
            (global $seen (mut i32) (i32.const 0))
            (func $start (call $init) (global.set $seen (i32.load (i32.const 8))))
            (start $start)
            (func (export "seen") (result i32) (global.get $seen))
            (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
            (func (export "run") (result i32) (call $call_back)))"#,
        "caller",
    );
    // Reaches the memory through its caller while the start function runs.
    let init = Func::wrap(&mut host.store, |mut caller: Caller<'_, ()>| {
        let memory = caller.get_export("memory").and_then(Extern::into_memory).expect("memory export");
        memory.write(&mut caller, 8, &[7, 0, 0, 0]).expect("in bounds");
    });
    // Calls an export it finds through its caller: the recording wrapper.
    let call_back =
        Func::wrap(&mut host.store, |mut caller: Caller<'_, ()>| -> r3_hooks::wasmtime::Result<i32> {
            let twice = caller.get_export("twice").and_then(Extern::into_func).expect("function export");
            let mut results = [Val::I32(0)];
            twice.call(&mut caller, &[Val::I32(5)], &mut results)?;
            Ok(results[0].unwrap_i32())
        });
    let instance = host.instantiate(&module, &[init.into(), call_back.into()]);
    assert_eq!(host.call(&instance, "seen", &[], 1)[0].unwrap_i32(), 7);
    assert_eq!(host.call(&instance, "run", &[], 1)[0].unwrap_i32(), 10);
    assert_eq!(
        host.events(),
        vec![
            Event::ImportReturn { func: 0, results: vec![] },
            Event::MemoryWrite { memory: 0, addr: 8, bytes: vec![7] },
            Event::ExportCall { func: 3, name: "seen".into(), args: vec![] },
            Event::ExportReturn { results: i32s(&[7]) },
            Event::ExportCall { func: 5, name: "run".into(), args: vec![] },
            Event::ImportCall { func: 1, args: vec![] },
            Event::ExportCall { func: 4, name: "twice".into(), args: i32s(&[5]) },
            Event::ExportReturn { results: i32s(&[10]) },
            Event::ImportReturn { func: 1, results: i32s(&[10]) },
            Event::ExportReturn { results: i32s(&[10]) },
            // A load and a global read; two calls of imports, a call and a return each; ten
            // call events, one of them implied.
            Event::End { naive_events: 2 + 4 + 10 },
        ]
    );
    // Finished, the instance runs on unrecorded, its imports still seeing their caller.
    assert_eq!(host.call(&instance, "run", &[], 1)[0].unwrap_i32(), 10);
    assert_eq!(read(&host.dir.join("caller-0.r3")).events.len(), 11);
}

#[test]
fn memory_growth_by_the_host_is_recorded_at_the_next_transition() {
    let mut host = Host::new("grow");
    let module = host.module(
        r#"(module
            (import "env" "grow" (func $grow))
            (memory (export "memory") 1)
            (func (export "run") (result i32) (call $grow) (memory.size))
            (func (export "size") (result i32) (memory.size)))"#,
        "grow",
    );
    let grow = Func::wrap(&mut host.store, |mut caller: Caller<'_, ()>| {
        let memory = caller.get_export("memory").and_then(Extern::into_memory).expect("memory export");
        memory.grow(&mut caller, 1).expect("grows");
    });
    let instance = host.instantiate(&module, &[grow.into()]);
    assert_eq!(host.call(&instance, "run", &[], 1)[0].unwrap_i32(), 2);
    let memory = instance.get_export("memory").and_then(Extern::into_memory).expect("memory export");
    memory.grow(&mut host.store, 1).expect("grows");
    assert_eq!(host.call(&instance, "size", &[], 1)[0].unwrap_i32(), 3);
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 1, name: "run".into(), args: vec![] },
            Event::ImportReturn { func: 0, results: vec![] },
            Event::MemoryGrow { memory: 0, pages: 2 },
            Event::ExportReturn { results: i32s(&[2]) },
            Event::ExportCall { func: 2, name: "size".into(), args: vec![] },
            Event::MemoryGrow { memory: 0, pages: 3 },
            Event::ExportReturn { results: i32s(&[3]) },
            Event::End { naive_events: 8 },
        ]
    );
}

#[test]
fn host_table_writes_are_seen_by_call_indirect() {
    let mut host = Host::new("table");
    let module = host.module(
        r#"(module
            (type $f (func (result i32)))
            (table $t (export "tbl") 2 funcref)
            (elem (i32.const 0) $a)
            (func $a (export "a") (result i32) (i32.const 1))
            (func $b (export "b") (result i32) (i32.const 2))
            (func (export "call") (param i32) (result i32) (call_indirect (type $f) (local.get 0)))
            (func (export "fill") (table.set $t (i32.const 1) (ref.func $a))))"#,
        "table",
    );
    let instance = host.instantiate(&module, &[]);
    let table = instance.get_export("tbl").and_then(Extern::into_table).expect("table export");
    let b = instance.get_func("b").expect("export b");
    table.set(&mut host.store, 1, Ref::Func(Some(b))).expect("in bounds");
    table.grow(&mut host.store, 1, Ref::Func(None)).expect("grows");
    assert_eq!(host.call(&instance, "call", &[Val::I32(1)], 1)[0].unwrap_i32(), 2);
    // The module's own table write is no host change.
    host.call(&instance, "fill", &[], 0);
    assert_eq!(host.call(&instance, "call", &[Val::I32(1)], 1)[0].unwrap_i32(), 1);
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 2, name: "call".into(), args: i32s(&[1]) },
            Event::TableGrow { table: 0, size: 3, init: Value::FuncRef(None) },
            Event::TableSet { table: 0, index: 1, value: Value::FuncRef(Some(1)) },
            Event::ExportReturn { results: i32s(&[2]) },
            Event::ExportCall { func: 3, name: "fill".into(), args: vec![] },
            Event::ExportReturn { results: vec![] },
            Event::ExportCall { func: 2, name: "call".into(), args: i32s(&[1]) },
            Event::ExportReturn { results: i32s(&[1]) },
            // Each call_indirect: a table read, a call and a return.
            Event::End { naive_events: 12 },
        ]
    );
}

#[test]
fn host_global_sets_and_imported_globals_are_recorded() {
    let mut host = Host::new("global");
    let module = host.module(
        r#"(module
            (import "env" "base" (global $base i32))
            (global $g (export "g") (mut i64) (i64.const 0))
            (func (export "get") (result i64) (global.get $g))
            (func (export "set") (param i64) (global.set $g (local.get 0)))
            (func (export "base") (result i32) (global.get $base)))"#,
        "global",
    );
    let base = Global::new(&mut host.store, GlobalType::new(ValType::I32, Mutability::Const), Val::I32(42))
        .expect("global");
    let instance = host.instantiate(&module, &[base.into()]);
    let g = instance.get_export("g").and_then(Extern::into_global).expect("global export");
    g.set(&mut host.store, Val::I64(-1)).expect("mutable");
    assert_eq!(host.call(&instance, "get", &[], 1)[0].unwrap_i64(), -1);
    host.call(&instance, "set", &[Val::I64(5)], 0);
    assert_eq!(host.call(&instance, "get", &[], 1)[0].unwrap_i64(), 5);
    assert_eq!(host.call(&instance, "base", &[], 1)[0].unwrap_i32(), 42);
    assert_eq!(
        host.events(),
        vec![
            Event::GlobalSet { global: 0, value: Value::I32(42) },
            Event::ExportCall { func: 0, name: "get".into(), args: vec![] },
            Event::GlobalSet { global: 1, value: Value::I64(-1) },
            Event::ExportReturn { results: vec![Value::I64(-1)] },
            Event::ExportCall { func: 1, name: "set".into(), args: vec![Value::I64(5)] },
            Event::ExportReturn { results: vec![] },
            Event::ExportCall { func: 0, name: "get".into(), args: vec![] },
            Event::ExportReturn { results: vec![Value::I64(5)] },
            Event::ExportCall { func: 2, name: "base".into(), args: vec![] },
            Event::ExportReturn { results: i32s(&[42]) },
            Event::End { naive_events: 11 },
        ]
    );
}

#[test]
fn export_calls_nest_inside_import_calls() {
    let mut host = Host::new("reentrant");
    let module = host.module(
        r#"(module
            (import "env" "host" (func $host (result i32)))
            (func (export "outer") (result i32) (i32.add (call $host) (i32.const 1)))
            (func (export "inner") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))"#,
        "reentrant",
    );
    let inner: Arc<Mutex<Option<Func>>> = Arc::default();
    let slot = inner.clone();
    let callback =
        Func::wrap(&mut host.store, move |mut caller: Caller<'_, ()>| -> r3_hooks::wasmtime::Result<i32> {
            let inner = slot.lock().unwrap().expect("set after instantiation");
            let mut results = [Val::I32(0)];
            inner.call(&mut caller, &[Val::I32(21)], &mut results)?;
            Ok(results[0].unwrap_i32())
        });
    let instance = host.instantiate(&module, &[callback.into()]);
    *inner.lock().unwrap() = instance.get_func("inner");
    assert_eq!(host.call(&instance, "outer", &[], 1)[0].unwrap_i32(), 43);
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 1, name: "outer".into(), args: vec![] },
            Event::ImportCall { func: 0, args: vec![] },
            Event::ExportCall { func: 2, name: "inner".into(), args: i32s(&[21]) },
            Event::ExportReturn { results: i32s(&[42]) },
            Event::ImportReturn { func: 0, results: i32s(&[42]) },
            Event::ExportReturn { results: i32s(&[43]) },
            Event::End { naive_events: 8 },
        ]
    );
}

#[test]
fn a_trap_ends_the_export_call_and_the_instance_goes_on() {
    let mut host = Host::new("trap");
    let module = host.module(
        r#"(module (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#,
        "trap",
    );
    let instance = host.instantiate(&module, &[]);
    let mut results = [Val::I32(0)];
    let error = instance.call(&mut host.store, "div", &[Val::I32(1), Val::I32(0)], &mut results).unwrap_err();
    assert!(error.downcast_ref::<r3_hooks::wasmtime::Trap>().is_some(), "{error:?}");
    assert_eq!(host.call(&instance, "div", &[Val::I32(6), Val::I32(3)], 1)[0].unwrap_i32(), 2);
    let events = host.events();
    let Event::ExportTrap { message } = &events[1] else { panic!("no trap: {events:?}") };
    assert!(message.contains("divide by zero"), "{message}");
    assert_eq!(
        events,
        vec![
            Event::ExportCall { func: 0, name: "div".into(), args: i32s(&[1, 0]) },
            Event::ExportTrap { message: message.clone() },
            Event::ExportCall { func: 0, name: "div".into(), args: i32s(&[6, 3]) },
            Event::ExportReturn { results: i32s(&[2]) },
            Event::End { naive_events: 4 },
        ]
    );
}

#[test]
fn an_import_error_unwinds_as_import_throw_and_export_throw() {
    let mut host = Host::new("throw");
    let module = host.module(
        r#"(module
            (import "env" "fail" (func $fail))
            (func (export "run") (call $fail)))"#,
        "throw",
    );
    let fail = Func::wrap(&mut host.store, || -> r3_hooks::wasmtime::Result<()> {
        Err(r3_hooks::wasmtime::format_err!("host failure"))
    });
    let instance = host.instantiate(&module, &[fail.into()]);
    let error = instance.call(&mut host.store, "run", &[], &mut []).unwrap_err();
    assert!(format!("{error:#}").contains("host failure"), "{error:#}");
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 1, name: "run".into(), args: vec![] },
            Event::ImportThrow { func: 0 },
            Event::ExportThrow,
            Event::End { naive_events: 6 },
        ]
    );
}

#[test]
fn two_instances_of_one_module_have_their_own_traces() {
    let mut host = Host::new("instances");
    let wat = r#"(module (func (export "f") (param i32) (result i32) (local.get 0)))"#;
    let module = host.module(wat, "twice");
    let first = host.instantiate(&module, &[]);
    let second = host.instantiate(&module, &[]);
    host.call(&second, "f", &[Val::I32(2)], 1);
    host.call(&first, "f", &[Val::I32(1)], 1);
    assert_eq!((first.number(), second.number()), (0, 1));
    // Written at instantiation already: a process killed before finishing still leaves it.
    assert!(host.dir.join("twice.wasm").exists());
    let traces = host.recorder.finish(&mut host.store).expect("traces written");
    assert_eq!(traces, vec![host.dir.join("twice-0.r3"), host.dir.join("twice-1.r3")]);
    for (number, trace) in traces.iter().enumerate() {
        let trace = read(trace);
        assert_eq!(trace.header.instance, number as u32);
        assert_eq!(trace.header.module_sha256, module.module_sha256());
        let arg = if number == 0 { 1 } else { 2 };
        assert_eq!(trace.events[0], Event::ExportCall { func: 0, name: "f".into(), args: i32s(&[arg]) });
    }
    let original = std::fs::read(host.dir.join("twice.wasm")).expect("original written");
    assert_eq!(original, wat::parse_str(wat).unwrap());
}

#[test]
fn a_host_module_drives_the_recorded_module_through_its_exports() {
    let mut host = Host::new("host-module");
    // Provides the recorded module's import.
    let logger = r#"(module
        (global $last (export "last") (mut i32) (i32.const 0))
        (func (export "log") (param i32) (global.set $last (local.get 0))))"#;
    let logger = Module::new(&host.engine, wat::parse_str(logger).unwrap()).expect("logger compiles");
    let logger = Instance::new(&mut host.store, &logger, &[]).expect("logger instantiates");
    let log = logger.get_func(&mut host.store, "log").expect("log export");
    let module = host.module(
        r#"(module
            (import "host" "log" (func $log (param i32)))
            (func (export "add") (param i32 i32) (result i32)
              (call $log (i32.add (local.get 0) (local.get 1)))
              (i32.add (local.get 0) (local.get 1))))"#,
        "driven",
    );
    let recorded = host.instantiate(&module, &[log.into()]);
    // Drives it, like a replay host: imports the recorded module's exports.
    let driver = r#"(module
        (import "driven" "add" (func $add (param i32 i32) (result i32)))
        (func (export "main") (result i32) (i32.add (call $add (i32.const 2) (i32.const 3))
                                                     (call $add (i32.const 10) (i32.const 20)))))"#;
    let driver = Module::new(&host.engine, wat::parse_str(driver).unwrap()).expect("driver compiles");
    let add = recorded.get_export("add").expect("add export");
    let driver = Instance::new(&mut host.store, &driver, &[add]).expect("driver instantiates");
    let main = driver.get_typed_func::<(), i32>(&mut host.store, "main").expect("main export");
    assert_eq!(main.call(&mut host.store, ()).expect("main runs"), 35);
    let last = logger.get_global(&mut host.store, "last").expect("last export");
    assert_eq!(last.get(&mut host.store).unwrap_i32(), 30);
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 1, name: "add".into(), args: i32s(&[2, 3]) },
            Event::ImportReturn { func: 0, results: vec![] },
            Event::ExportReturn { results: i32s(&[5]) },
            Event::ExportCall { func: 1, name: "add".into(), args: i32s(&[10, 20]) },
            Event::ImportReturn { func: 0, results: vec![] },
            Event::ExportReturn { results: i32s(&[30]) },
            Event::End { naive_events: 12 },
        ]
    );
}

#[test]
fn function_references_cross_as_indices_and_are_called_recorded() {
    let mut host = Host::new("funcref");
    let module = host.module(
        r#"(module
            (elem declare func $hidden)
            (func $hidden (param i32) (result i32) (i32.add (local.get 0) (i32.const 100)))
            (func (export "get") (result funcref) (ref.func $hidden)))"#,
        "funcref",
    );
    let instance = host.instantiate(&module, &[]);
    let handed = host.call(&instance, "get", &[], 1);
    let func = *handed[0].unwrap_funcref().expect("not null");
    let mut results = [Val::I32(0)];
    // Called directly: the host got the recording wrapper.
    func.call(&mut host.store, &[Val::I32(1)], &mut results).expect("runs");
    assert_eq!(results[0].unwrap_i32(), 101);
    // Called with the instance's own function, as read from one of its tables.
    let raw = instance.instance().get_func(&mut host.store, "get").expect("raw export");
    instance.call_func(&mut host.store, raw, &[], &mut results).expect("runs");
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 1, name: "get".into(), args: vec![] },
            Event::ExportReturn { results: vec![Value::FuncRef(Some(0))] },
            Event::ExportCall { func: 0, name: "".into(), args: i32s(&[1]) },
            Event::ExportReturn { results: i32s(&[101]) },
            Event::ExportCall { func: 1, name: "get".into(), args: vec![] },
            Event::ExportReturn { results: vec![Value::FuncRef(Some(0))] },
            Event::End { naive_events: 6 },
        ]
    );
}

#[test]
fn instantiation_records_what_the_host_handed_over_first() {
    let mut host = Host::new("instantiation");
    let module = host.module(
        r#"(module
            (import "env" "memory" (memory 1))
            (import "env" "base" (global $base i32))
            (import "env" "refs" (table 1 externref))
            (func (export "id") (param externref) (result externref) (local.get 0)))"#,
        "instantiation",
    );
    let memory = Memory::new(&mut host.store, MemoryType::new(2, None)).expect("memory");
    let base = Global::new(&mut host.store, GlobalType::new(ValType::I32, Mutability::Const), Val::I32(7))
        .expect("global");
    let early = ExternRef::new(&mut host.store, 1u32).expect("externref");
    let refs = Table::new(&mut host.store, TableType::new(RefType::EXTERNREF, 2, None), Ref::Extern(None))
        .expect("table");
    refs.set(&mut host.store, 1, Ref::Extern(Some(early))).expect("in bounds");
    let instance = host.instantiate(&module, &[memory.into(), base.into(), refs.into()]);
    let later = ExternRef::new(&mut host.store, 2u32).expect("externref");
    for value in [Some(early), Some(later), Some(early), None] {
        host.call(&instance, "id", &[Val::ExternRef(value)], 1);
    }
    let id = |id: Option<u64>| vec![Value::ExternRef(id)];
    let call = |arg: Option<u64>| Event::ExportCall { func: 0, name: "id".into(), args: id(arg) };
    let back = |result: Option<u64>| Event::ExportReturn { results: id(result) };
    assert_eq!(
        host.events(),
        vec![
            Event::MemoryGrow { memory: 0, pages: 2 },
            Event::GlobalSet { global: 0, value: Value::I32(7) },
            Event::TableGrow { table: 0, size: 2, init: Value::ExternRef(None) },
            Event::TableSet { table: 0, index: 1, value: Value::ExternRef(Some(0)) },
            call(Some(0)),
            back(Some(0)),
            call(Some(1)),
            back(Some(1)),
            call(Some(0)),
            back(Some(0)),
            call(None),
            back(None),
            Event::End { naive_events: 8 },
        ]
    );
}

#[test]
fn a_function_import_of_the_wrong_type_is_a_link_error() {
    let mut host = Host::new("link");
    let module = host.module(r#"(module (import "env" "f" (func (param i32))))"#, "link");
    let wrong = Func::new(&mut host.store, FuncType::new(&host.engine, [], []), |_, _, _| Ok(()));
    let error = host.recorder.instantiate(&mut host.store, &module, &[wrong.into()]).err().expect("refused");
    assert!(error.to_string().contains("import 0 (env.f)"), "{error}");
    // No instance number was used up.
    let right = Func::wrap(&mut host.store, |_: i32| {});
    assert_eq!(host.instantiate(&module, &[right.into()]).number(), 0);
}

/// The start prologue takes the data segments' bytes into the shadow, whole ranges at a time,
/// so reading them records nothing; host bytes between two segments of an imported memory are
/// still the host's, recorded when read.
#[test]
fn data_segments_are_the_modules_own_bytes_but_host_bytes_between_them_are_not() {
    let mut host = Host::new("segments");
    let module = host.module(
        r#"(module
            (import "env" "memory" (memory 1))
            (data (i32.const 0) "\01\02")
            (data (i32.const 8) "\03\04")
            (data (i32.const 2) "\05\06")
            (func (export "run") (result i32 i32 i32)
              (i32.load (i32.const 0)) (i32.load16_u (i32.const 8)) (i32.load8_u (i32.const 6))))"#,
        "segments",
    );
    let memory = Memory::new(&mut host.store, MemoryType::new(1, None)).expect("memory");
    memory.write(&mut host.store, 6, &[0x77]).expect("in bounds");
    let instance = host.instantiate(&module, &[memory.into()]);
    let results: Vec<i32> = host.call(&instance, "run", &[], 3).iter().map(Val::unwrap_i32).collect();
    assert_eq!(results, [0x06050201, 0x0403, 0x77]);
    assert_eq!(
        host.events(),
        vec![
            Event::ExportCall { func: 0, name: "run".into(), args: vec![] },
            Event::MemoryWrite { memory: 0, addr: 6, bytes: vec![0x77] },
            Event::ExportReturn { results: i32s(&[0x06050201, 0x0403, 0x77]) },
            Event::End { naive_events: 5 },
        ]
    );
}

/// A large body checks each load with a call to a helper (wasabi's `LARGE_BODY`) instead of
/// inline: every width still records the host's bytes once, the offset included.
#[test]
fn loads_of_a_large_body_record_host_bytes_of_every_width() {
    let mut host = Host::new("large");
    let padding = "nop ".repeat(10_000);
    let module = host.module(
        &format!(
            r#"(module
              (import "env" "memory" (memory 1))
              (func (export "run") (result i32 i32 i32 i64)
                {padding}
                (drop (v128.load (i32.const 0x5000)))
                (i32.load8_u (i32.const 0x1000))
                (i32.load16_u (i32.const 0x2000))
                (i32.load offset=0x3000 (i32.const 0))
                (i64.load (i32.const 0x4000))
                (drop (i32.load8_u (i32.const 0x1000)))))"#
        ),
        "large",
    );
    let memory = Memory::new(&mut host.store, MemoryType::new(1, None)).expect("memory");
    let host_bytes: [(usize, Vec<u8>); 5] = [
        (0x5000, (0xe0..0xf0).collect()),
        (0x1000, vec![0xa1]),
        (0x2000, vec![0xb1, 0xb2]),
        (0x3000, vec![0xc1, 0xc2, 0xc3, 0xc4]),
        (0x4000, (0xd1..0xd9).collect()),
    ];
    for (addr, bytes) in &host_bytes {
        memory.write(&mut host.store, *addr, bytes).expect("in bounds");
    }
    let instance = host.instantiate(&module, &[memory.into()]);
    let results = host.call(&instance, "run", &[], 4);
    assert_eq!(results[3].unwrap_i64(), i64::from_le_bytes([0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]));
    let mut expected = vec![Event::ExportCall { func: 0, name: "run".into(), args: vec![] }];
    expected.extend(host_bytes.iter().map(|(addr, bytes)| Event::MemoryWrite {
        memory: 0,
        addr: *addr as u64,
        bytes: bytes.clone(),
    }));
    expected.extend([
        Event::ExportReturn {
            results: vec![
                Value::I32(0xa1),
                Value::I32(0xb2b1),
                Value::I32(0xc4c3c2c1u32 as i32),
                Value::I64(i64::from_le_bytes([0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8])),
            ],
        },
        Event::End { naive_events: 8 },
    ]);
    assert_eq!(host.events(), expected);
}

#[test]
fn an_export_call_implies_the_return_before_it() {
    let mut host = Host::new("implied-return");
    host.recorder = Recorder::new(&host.dir);
    let module = host.module(
        r#"(module
            (import "env" "call_back" (func $call_back (result i32)))
            (func (export "one") (result i32) (i32.const 1))
            (func (export "run") (result i32) (call $call_back)))"#,
        "implied",
    );
    let call_back =
        Func::wrap(&mut host.store, |mut caller: Caller<'_, ()>| -> r3_hooks::wasmtime::Result<i32> {
            let one = caller.get_export("one").and_then(Extern::into_func).expect("function export");
            let mut results = [Val::I32(0)];
            one.call(&mut caller, &[], &mut results)?;
            one.call(&mut caller, &[], &mut results)?;
            Ok(results[0].unwrap_i32() + 1)
        });
    let instance = host.instantiate(&module, &[call_back.into()]);
    host.call(&instance, "one", &[], 1);
    host.call(&instance, "run", &[], 1);
    host.call(&instance, "one", &[], 1);
    let one = |func| Event::ExportCall { func, name: "one".into(), args: vec![] };
    assert_eq!(
        host.events(),
        vec![
            one(1),
            Event::ExportCall { func: 2, name: "run".into(), args: vec![] },
            Event::ImportCall { func: 0, args: vec![] },
            one(1),
            one(1),
            // Before an import_return, a return is not implied: the module may have called
            // the import again.
            Event::ExportReturn { results: i32s(&[1]) },
            Event::ImportReturn { func: 0, results: i32s(&[2]) },
            one(1),
            Event::ExportReturn { results: i32s(&[1]) },
            Event::End { naive_events: 14 },
        ]
    );
}
