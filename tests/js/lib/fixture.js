// A hand-written stand-in for what `wasabi` generates: an "instrumented" module (hooks imported
// from "__wasabi_hooks", custom section "wasabi", table __wasabi_functions) and its NAME.wasabi.js
// following the contract between the Rust side and runtime.js.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { wat, repo } = require("./wat");

const runtimePath = path.join(repo, "wasabi", "js", "runtime.js");
const preloadPath = path.join(repo, "wasabi", "js", "preload.cjs");
const runtimeText = fs.readFileSync(runtimePath, "utf8");

// Original functions: 0 env.host, 1 add, 2 callind, 3 bt, 4 vec, 5 start.
const instrumentedWat = (id) => `
(module
  (@custom "wasabi" "${id}")
  (type $ii (func (param i32) (result i32)))
  (import "env" "host" (func $host (type $ii)))
  (import "__wasabi_hooks" "i32.add" (func $h_add (param i32 i32 i32 i32 i32)))
  (import "__wasabi_hooks" "call_indirect_pre_i" (func $h_ci (param i32 i32 funcref i32 i32 i32)))
  (import "__wasabi_hooks" "br_table" (func $h_bt (param i32 i32 i32 i32)))
  (import "__wasabi_hooks" "v128.const" (func $h_v (param i32 i32 i32 i32 i32 i32)))
  (import "__wasabi_hooks" "start" (func $h_start (param i32 i32)))
  (import "__wasabi_hooks" "i64.const" (func $h_i64 (param i32 i32 i64)))
  (table $t (export "table") 3 funcref)
  (elem (table $t) (i32.const 0) func $host $bt)
  (table $fns (export "__wasabi_functions") 6 funcref)
  (elem (table $fns) (i32.const 0) func $host $add $callind $bt $vec $start)
  (global $startResult (export "startResult") (mut i32) (i32.const -2))

  (func $add (export "add") (param $a i32) (param $b i32) (result i32) (local $r i32)
    (local.set $r (i32.add (local.get $a) (local.get $b)))
    (call $h_add (i32.const 1) (i32.const 2) (local.get $a) (local.get $b) (local.get $r))
    (local.get $r))

  (func $callind (export "callind") (param $i i32) (param $x i32) (result i32)
    (call $h_ci (i32.const 2) (i32.const 2) (table.get $t (local.get $i)) (local.get $i) (i32.const 0) (local.get $x))
    (call_indirect $t (type $ii) (local.get $x) (local.get $i)))

  (func $bt (export "bt") (param $i i32) (result i32)
    (block $b1
      (block $b0
        (call $h_bt (i32.const 3) (i32.const 3) (local.get $i) (i32.const 0))
        (br_table $b0 $b1 $b1 (local.get $i)))
      (return (i32.const 100)))
    (i32.const 101))

  (func $vec (export "vec") (result i32)
    (call $h_v (i32.const 4) (i32.const 0) (i32.const 0x04030201) (i32.const 0x08070605) (i32.const -1) (i32.const 0x7f))
    (call $h_i64 (i32.const 4) (i32.const 1) (i64.const -9007199254740993))
    (i32x4.extract_lane 2 (v128.const i32x4 0x04030201 0x08070605 -1 0x7f)))

  (func $start
    (call $h_start (i32.const 5) (i32.const -1))
    (global.set $startResult (call $callind (i32.const 0) (i32.const 7))))
  (start $start)
)`;

const info = {
  functions: [
    { type: "i|i", import: ["env", "host"], export: null, locals: "", instrCount: 0 },
    { type: "ii|i", import: null, export: ["add"], locals: "i", instrCount: 5 },
    { type: "ii|i", import: null, export: ["callind"], locals: "", instrCount: 4 },
    // Block table: [kind, begin, end, parent, ifBegin]; br_table below sits in block 2.
    { type: "i|i", import: null, export: ["bt"], locals: "", instrCount: 9,
      blocks: [["function", -1, 8, -1], ["else", 0, 8, 0, 4], ["block", 1, 6, 1]] },
    { type: "|i", import: null, export: ["vec"], locals: "", instrCount: 3 },
    { type: "|", import: null, export: null, locals: "", instrCount: 4 },
  ],
  globals: "i",
  start: 5,
  tables: ["funcref"],
  memories: 0,
  originalFunctionImportsCount: 1,
  brTables: [{
    table: [
      { label: 0, location: { func: 3, instr: 6 }, ends: 1 },
      { label: 1, location: { func: 3, instr: 8 }, ends: 2 },
    ],
    default: { label: 1, location: { func: 3, instr: 8 }, ends: 2 },
    node: 2,
  }],
};

// Written like the generator's output would be: one closure per low-level hook.
const registerText = (id) => `
Wasabi.register({
  id: ${JSON.stringify(id)},
  info: ${JSON.stringify(info)},
  lowlevelHooks: function (Wasabi, ctx) {
  function endBlocks(func, node, count) {
    const blocks = ctx.info.functions[func].blocks;
    for (; count > 0; count--) {
      const [type, begin, end, parent, ifBegin] = blocks[node];
      Wasabi.analysis.end({func, instr: end}, type, {func, instr: begin},
        ifBegin === undefined ? undefined : {func, instr: ifBegin});
      node = parent;
    }
  }
  return {
    "i32.add": function (func, instr, a, b, r) { Wasabi.analysis.binary({func, instr}, "i32.add", a, b, r); },
    "call_indirect_pre_i": function (func, instr, funcref, elem, table, a0) { Wasabi.analysis.call_pre({func, instr}, ctx.resolveFunction(funcref), [a0], elem, table); },
    "br_table": function (func, instr, idx, brTable) { const t = ctx.info.brTables[brTable]; Wasabi.analysis.br_table({func, instr}, t.table, t.default, idx); endBlocks(func, t.node, (t.table[idx] || t.default).ends); },
    "v128.const": function (func, instr, l0, l1, l2, l3) { Wasabi.analysis.const_({func, instr}, "v128.const", Wasabi.v128(l0, l1, l2, l3)); },
    "start": function (func, instr) { Wasabi.analysis.start({func, instr}); },
    "i64.const": function (func, instr, v) { Wasabi.analysis.const_({func, instr}, "i64.const", v); },
  }; }
});
`;

async function instrumentedModule(id = "7e57") {
  return {
    bytes: await wat(instrumentedWat(id)),
    js: runtimeText + registerText(id),
    nodeJs: runtimeText + registerText(id) + "module.exports = Wasabi;\n",
  };
}

async function plainModule() {
  return wat(`(module
    (import "env" "host" (func $host (param i32) (result i32)))
    (func (export "run") (param i32) (result i32) (call $host (i32.add (local.get 0) (i32.const 1)))))`);
}

const hostImports = () => ({ env: { host: (x) => x * 10 } });

module.exports = {
  instrumentedModule, plainModule, hostImports, info, runtimeText, runtimePath, preloadPath, repo,
};
