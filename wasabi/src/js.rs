//! The generated `NAME.wasabi.js`: the runtime, then the module's registration (id, static
//! info, and one low-level JS hook per import from `__wasabi_hooks`).

use crate::Hook;
use crate::instrument::Instrumented;
use crate::instrument::lowlevel::{HookKey, Kind};
use wasabi_wasm::{Export, ExportKind, FuncType, Function, Instr, Module};

/// The loader and dispatcher shared by every instrumented module.
pub const RUNTIME: &str = include_str!("../js/runtime.js");

/// Reports the `count` innermost blocks from block-table entry `node` outwards as ended.
const END_BLOCKS: &str = "  function endBlocks(func, node, count) {
    const blocks = ctx.info.functions[func].blocks;
    for (; count > 0; count--) {
      const [type, begin, end, parent, ifBegin] = blocks[node];
      Wasabi.analysis.end({func, instr: end}, type, {func, instr: begin},
        ifBegin === undefined ? undefined : {func, instr: ifBegin});
      node = parent;
    }
  }
";

/// The node preload that instruments every module a program compiles (`wasabi run`, `r3 record`);
/// it requires [`COMPILE_PATCH`] and [`INSTRUMENTER`] from its own directory ([`write_preload`]).
pub const PRELOAD: &str = include_str!("../js/preload.cjs");

/// Patches WebAssembly's compilation entry points to instrument every module (node and browsers).
pub const COMPILE_PATCH: &str = include_str!("../js/compile-patch.cjs");

/// Runs the instrumenter executable on module bytes, with a cache (node).
pub const INSTRUMENTER: &str = include_str!("../js/instrumenter.cjs");

/// Writes the preload and the files it requires into `dir`; returns the preload's path.
pub fn write_preload(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    std::fs::write(dir.join("compile-patch.cjs"), COMPILE_PATCH)?;
    std::fs::write(dir.join("instrumenter.cjs"), INSTRUMENTER)?;
    let preload = dir.join("preload.cjs");
    std::fs::write(&preload, PRELOAD)?;
    Ok(preload)
}

/// The R3 recorder, the whole generated file for `--hooks r3` (the module carries its own
/// metadata in a custom section).
pub const RECORDER: &str = include_str!("../js/recorder.js");

pub fn generate_recorder(node: bool) -> String {
    let mut js = String::from(RECORDER);
    if node {
        js.push_str("\nmodule.exports = R3;\n");
    }
    js
}

pub fn generate(instrumented: &Instrumented, node: bool) -> String {
    let mut js = String::from(RUNTIME);
    js.push('\n');
    js.push_str(&registration(instrumented));
    if node {
        js.push_str("module.exports = Wasabi;\n");
    }
    js
}

/// `Wasabi.register({...})` for one module, to follow the runtime (which may already be loaded).
pub fn registration(instrumented: &Instrumented) -> String {
    let info = serde_json::to_string(&instrumented.info).expect("module info serializes");
    let hooks: Vec<String> = instrumented.hooks.iter().map(|key| format!("    {}", key.js())).collect();
    let mut js = String::with_capacity(info.len() + hooks.len() * 120);
    js.push_str("Wasabi.register({\n");
    js.push_str(&format!("  id: {:?},\n", instrumented.id));
    js.push_str(&format!("  info: {info},\n"));
    js.push_str(&format!("  targets: {},\n", targets(instrumented)));
    js.push_str(&format!("  noops: new Uint8Array([{}]),\n", byte_list(&noop_module(&instrumented.hooks))));
    js.push_str("  lowlevelHooks: function (Wasabi, ctx) {\n");
    js.push_str(END_BLOCKS);
    js.push_str("  return {\n");
    js.push_str(&hooks.join(",\n"));
    js.push_str("\n  }; }\n});\n");
    js
}

/// The high-level hooks each low-level hook reports to: when the analysis defines none of
/// them, the runtime links the empty Wasm function from [`noop_module`] instead of the JS glue,
/// so the call never leaves Wasm.
fn targets(instrumented: &Instrumented) -> String {
    let entries: Vec<String> = instrumented
        .hooks
        .iter()
        .map(|key| {
            let mut hooks = vec![key.hook().js_name()];
            if matches!(key.kind, Kind::BrTable) {
                hooks.push(Hook::End.js_name());
            }
            format!("{:?}: {:?}", key.import_name(), hooks)
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// A module exporting an empty function for every low-level hook, under the hook's name.
fn noop_module(hooks: &[HookKey]) -> Vec<u8> {
    let mut module = Module::default();
    for (index, key) in hooks.iter().enumerate() {
        let type_index = module.add_type(FuncType::new(key.params(), []));
        module.functions.push(Function {
            type_index,
            locals: Vec::new(),
            body: vec![Instr::End],
            encoded: None,
        });
        module.exports.push(Export {
            name: key.import_name(),
            kind: ExportKind::Function,
            index: index as u32,
        });
    }
    module.encode()
}

fn byte_list(bytes: &[u8]) -> String {
    bytes.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}
