//! Hand-written replays (host modules following docs/replay.md) of small originals, and native
//! drivers doing exactly what each host module does, recorded, for `r3 check`.

#![allow(dead_code)]

use r3_hooks::Header;
use r3_hooks::record::native::{Recorder, RecordingModule};
use r3_hooks::wasmtime::{
    self, Engine, Extern, ExternRef, Func, FuncType, Global, GlobalType, Memory, MemoryType, Mutability, Ref,
    Store, Val, ValType,
};
use r3_replay::link::RUN_MJS;
use r3_replay::section::{Expect, InitialGlobal, OriginalModule, ReplaySection, Segment};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Imports a function answered with constants, a memory the host initialised, a global, and a
/// function that throws; segments end in a trap, a throw and a return.
pub const IMPORTS: &str = r#"(module
  (import "env" "get" (func $get (param i32) (result i32)))
  (import "env" "mem" (memory 1))
  (import "env" "g" (global $g i32))
  (import "env" "fail" (func $fail))
  (func (export "sum") (param i32) (result i32)
    (i32.add (call $get (local.get 0)) (i32.add (global.get $g) (i32.load (i32.const 16)))))
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 100) (local.get 0)))
  (func (export "try") (call $fail)))"#;

pub const IMPORTS_HOST: &str = r#"(module
  (import "original" "sum" (func $sum (param i32) (result i32)))
  (import "original" "div" (func $div (param i32) (result i32)))
  (import "original" "try" (func $try))
  (import "r3_host" "import/1" (memory 1))
  (import "r3_host" "throw" (func $throw))
  (func (export "import/0") (param i32) (result i32) (i32.const 1000))
  (func (export "import/3") (call $throw))
  (func (export "r3_init") (i32.store (i32.const 16) (i32.const 5)))
  (func $s0 (export "segment/0") (drop (call $sum (i32.const 1))) (drop (call $div (i32.const 0))))
  (func $s1 (export "segment/1") (call $try))
  (func $s2 (export "segment/2") (drop (call $div (i32.const 5))))
  (func (export "_start") (call $s0) (call $s1) (call $s2))
  SECTION)"#;

pub fn imports_section(original: &[u8]) -> ReplaySection {
    section(
        original,
        vec![InitialGlobal { import: 2, value: r3_hooks::Value::I32(7) }],
        &[Expect::Trap, Expect::Throw, Expect::Return],
    )
}

/// Exports its memory (which the host writes) and a table holding a function it does not
/// export; its imports hand a host value around.
pub const EXPORTS: &str = r#"(module
  (import "env" "obj" (func $obj (result externref)))
  (import "env" "keep" (func $keep (param externref)))
  (memory (export "memory") 1)
  (table (export "table") 2 funcref)
  (elem (i32.const 1) $hidden)
  (func (export "read") (result i32) (i32.load (i32.const 8)))
  (func $hidden (result i32) (i32.const 42))
  (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "pass") (call $keep (call $obj)))
  (type $unary (func (param i32) (result i32)))
  (func (export "call0") (param i32) (result i32) (call_indirect (type $unary) (local.get 0) (i32.const 0))))"#;

/// Function 3 is `$hidden` (table slot 1), 4 is `twice`.
pub const EXPORTS_HOST: &str = r#"(module
  (import "original" "memory" (memory 1))
  (import "original" "read" (func $read (result i32)))
  (import "r3_call" "4" (func $twice (param i32) (result i32)))
  (import "r3_call" "3" (func $hidden (result i32)))
  (import "original" "pass" (func $pass))
  (import "r3_host" "extern" (func $extern (param i64) (result externref)))
  (func (export "import/0") (result externref) (call $extern (i64.const 1)))
  (func (export "import/1") (param externref))
  (func (export "r3_init"))
  (func $s0 (export "segment/0")
    (i32.store (i32.const 8) (i32.const 99))
    (drop (call $read))
    (drop (call $twice (i32.const 21)))
    (drop (call $hidden))
    (call $pass)
    (call $pass))
  (func (export "_start") (call $s0))
  SECTION)"#;

/// Puts `twice` (function 4) into the original's table slot 0 by `r3_ref` and calls it
/// through the table; the segment traps unless `call0` returns 8.
pub const REFS_HOST: &str = r#"(module
  (import "original" "table" (table $table 2 funcref))
  (import "original" "call0" (func $call0 (param i32) (result i32)))
  (import "r3_ref" "4" (func $twice (param i32) (result i32)))
  (func (export "import/0") (result externref) (ref.null extern))
  (func (export "import/1") (param externref))
  (func (export "r3_init"))
  (func (export "segment/0")
    (table.set $table (i32.const 0) (ref.func $twice))
    (if (i32.ne (call $call0 (i32.const 4)) (i32.const 8)) (then unreachable)))
  (elem declare func $twice)
  SECTION)"#;

pub fn exports_section(original: &[u8]) -> ReplaySection {
    section(original, Vec::new(), &[Expect::Return])
}

pub fn section(original: &[u8], globals: Vec<InitialGlobal>, expect: &[Expect]) -> ReplaySection {
    ReplaySection {
        version: r3_replay::section::VERSION,
        original: OriginalModule { name: "o.wasm".into(), sha256: Header::new(original, 0).module_sha256 },
        globals,
        segments: expect
            .iter()
            .enumerate()
            .map(|(k, &expect)| Segment { export: format!("segment/{k}"), expect })
            .collect(),
        memory_writes: Vec::new(),
        table_entries: Vec::new(),
        host_first: false,
        functions: Vec::new(),
        foreign: Vec::new(),
    }
}

/// The host module's text with the custom section in place of `SECTION`.
pub fn host_wat(host: &str, section: &ReplaySection) -> String {
    let json = section.to_json().replace('\\', "\\\\").replace('"', "\\\"");
    host.replace("SECTION", &format!("(@custom \"r3-replay\" \"{json}\")"))
}

/// A fresh folder with `host.wasm`, `o.wasm` and `run.mjs`.
pub fn replay_dir(
    name: &str,
    original: &str,
    host: &str,
    section: fn(&[u8]) -> ReplaySection,
) -> tests::TempDir {
    let dir = fresh_dir(name);
    let original = wat::parse_str(original).unwrap();
    let host = wat::parse_str(host_wat(host, &section(&original))).unwrap();
    std::fs::write(dir.join("o.wasm"), &original).unwrap();
    std::fs::write(dir.join("host.wasm"), host).unwrap();
    std::fs::write(dir.join("run.mjs"), RUN_MJS).unwrap();
    dir
}

pub fn fresh_dir(name: &str) -> tests::TempDir {
    tests::fresh_temp_dir(&format!("r3-link-{name}"))
}

pub fn r3(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_r3")).args(args).output().expect("r3 runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Records `IMPORTS` driven as `IMPORTS_HOST` drives it; returns the trace.
pub fn record_imports(dir: &Path) -> PathBuf {
    let engine = Engine::default();
    let bytes = wat::parse_str(IMPORTS).unwrap();
    let module = RecordingModule::new(&engine, &bytes, Some("o")).unwrap();
    let mut store = Store::new(&engine, ());
    let get = Func::wrap(&mut store, |_: i32| 1000i32);
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let global =
        Global::new(&mut store, GlobalType::new(ValType::I32, Mutability::Const), Val::I32(7)).unwrap();
    let fail = Func::wrap(&mut store, || -> wasmtime::Result<()> { Err(wasmtime::format_err!("thrown")) });
    let imports = [Extern::Func(get), Extern::Memory(memory), Extern::Global(global), Extern::Func(fail)];
    let recorder = Recorder::new(dir.join("recorded"));
    let instance = recorder.instantiate(&mut store, &module, &imports).unwrap();
    memory.write(&mut store, 16, &5i32.to_le_bytes()).unwrap();
    let mut result = [Val::I32(0)];
    instance.call(&mut store, "sum", &[Val::I32(1)], &mut result).unwrap();
    assert!(instance.call(&mut store, "div", &[Val::I32(0)], &mut result).is_err());
    assert!(instance.call(&mut store, "try", &[], &mut []).is_err());
    instance.call(&mut store, "div", &[Val::I32(5)], &mut result).unwrap();
    instance.finish(&mut store).unwrap()
}

/// Records `EXPORTS` driven as `EXPORTS_HOST` drives it; returns the trace.
pub fn record_exports(dir: &Path) -> PathBuf {
    let engine = Engine::default();
    let bytes = wat::parse_str(EXPORTS).unwrap();
    let module = RecordingModule::new(&engine, &bytes, Some("o")).unwrap();
    let mut store = Store::new(&engine, ());
    let value = ExternRef::new(&mut store, 1u64).unwrap().to_owned_rooted(&mut store).unwrap();
    let ty = FuncType::new(&engine, [], [ValType::EXTERNREF]);
    let obj = Func::new(&mut store, ty, move |mut caller, _, results| {
        results[0] = Val::ExternRef(Some(value.to_rooted(&mut caller)));
        Ok(())
    });
    let keep = Func::wrap(&mut store, |_: Option<wasmtime::Rooted<ExternRef>>| {});
    let recorder = Recorder::new(dir.join("recorded"));
    let instance =
        recorder.instantiate(&mut store, &module, &[Extern::Func(obj), Extern::Func(keep)]).unwrap();
    let memory = instance.get_export("memory").unwrap().into_memory().unwrap();
    memory.write(&mut store, 8, &99i32.to_le_bytes()).unwrap();
    let mut result = [Val::I32(0)];
    instance.call(&mut store, "read", &[], &mut result).unwrap();
    instance.call(&mut store, "twice", &[Val::I32(21)], &mut result).unwrap();
    let table = instance.get_export("table").unwrap().into_table().unwrap();
    let Some(Ref::Func(Some(hidden))) = table.get(&mut store, 1) else { panic!("slot 1 holds $hidden") };
    instance.call_func(&mut store, hidden, &[], &mut result).unwrap();
    instance.call(&mut store, "pass", &[], &mut []).unwrap();
    instance.call(&mut store, "pass", &[], &mut []).unwrap();
    instance.finish(&mut store).unwrap()
}
