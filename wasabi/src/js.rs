//! The generated `NAME.wasabi.js`: the runtime, then the module's registration (id, static
//! info, and one low-level JS hook per import from `__wasabi_hooks`).

use crate::instrument::Instrumented;

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
    js.push_str("  lowlevelHooks: function (Wasabi, ctx) {\n");
    js.push_str(END_BLOCKS);
    js.push_str("  return {\n");
    js.push_str(&hooks.join(",\n"));
    js.push_str("\n  }; }\n});\n");
    js
}
