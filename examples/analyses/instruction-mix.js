// Instruction mix: how often each instruction was executed, by mnemonic.
//
//   wasabi run --result mix.json --analysis examples/analyses/instruction-mix.js -- node app.mjs
//
// Wasabi.analysisResult() returns {"i32.add": 1234, "local.get": 5678, ...}, most frequent first.
// Not counted: end (no work at run time) and the implicit return at a function's end.
(function () {
  "use strict";
  const counts = new Map();
  const count = (name) => counts.set(name, (counts.get(name) || 0) + 1);
  // Hooks that report an `op` all have it as their second argument.
  const byOp = (loc, op) => count(op);

  Wasabi.analysisResult = () =>
    Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));

  Wasabi.analysis = {
    nop: () => count("nop"),
    unreachable: () => count("unreachable"),
    if_: () => count("if"),
    br: () => count("br"),
    br_if: () => count("br_if"),
    br_table: () => count("br_table"),
    // "if" is counted by if_, "else" and "function" are no executed instructions.
    begin(loc, type) {
      if (type === "block" || type === "loop") count(type);
    },
    drop: () => count("drop"),
    select: () => count("select"),
    call_pre: (loc, func, args, elem) => count(elem === undefined ? "call" : "call_indirect"),
    return_(loc) {
      if (loc.instr >= 0) count("return");
    },
    const_: byOp,
    unary: byOp,
    binary: byOp,
    ternary: byOp,
    shuffle: byOp,
    extract_lane: byOp,
    replace_lane: byOp,
    load: byOp,
    store: byOp,
    local: byOp,
    global: byOp,
    atomic_rmw: byOp,
    atomic_cmpxchg: byOp,
    atomic_wait: byOp,
    atomic_notify: byOp,
    atomic_fence: () => count("atomic.fence"),
    memory_size: () => count("memory.size"),
    memory_grow: () => count("memory.grow"),
    memory_fill: () => count("memory.fill"),
    memory_copy: () => count("memory.copy"),
    memory_init: () => count("memory.init"),
    data_drop: () => count("data.drop"),
    table_size: () => count("table.size"),
    table_grow: () => count("table.grow"),
    table_get: () => count("table.get"),
    table_set: () => count("table.set"),
    table_fill: () => count("table.fill"),
    table_copy: () => count("table.copy"),
    table_init: () => count("table.init"),
    elem_drop: () => count("elem.drop"),
    ref_null: () => count("ref.null"),
    ref_is_null: () => count("ref.is_null"),
    ref_func: () => count("ref.func"),
  };
})();
