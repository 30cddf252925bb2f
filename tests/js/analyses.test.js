// The example analyses against the hand-written fixture; e2e.test.js runs them on real
// instrumenter output.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { instrumentedModule, runtimeText, repo } = require("./lib/fixture");

const analysesDir = path.join(repo, "examples", "analyses");

/** Loads the fixture and an analysis into a fresh realm, runs `drive(exports)`, returns the result. */
async function analyze(analysis, drive) {
  const fixture = await instrumentedModule("a11");
  const context = vm.createContext({ console });
  vm.runInContext(fixture.js, context);
  const file = path.join(analysesDir, analysis);
  vm.runInContext(fs.readFileSync(file, "utf8"), context, { filename: file });
  context.bytes = fixture.bytes;
  const { instance } = await vm.runInContext("WebAssembly.instantiate(bytes, { env: { host: (x) => x * 10 } })", context);
  drive(instance.exports);
  const result = vm.runInContext("typeof Wasabi.analysisResult === 'function' ? Wasabi.analysisResult() : Wasabi.analysisResult", context);
  return JSON.parse(JSON.stringify(result));
}

test("every example analysis has a one-line command in its header", () => {
  for (const file of fs.readdirSync(analysesDir)) {
    const text = fs.readFileSync(path.join(analysesDir, file), "utf8");
    assert.match(text, new RegExp(`^//\\s+wasabi run .*--analysis examples/analyses/${file} -- node \\S+`, "m"), file);
    assert.doesNotThrow(() => new vm.Script(text), file);
  }
});

test("instruction-mix counts by mnemonic", async () => {
  const r = await analyze("instruction-mix.js", (e) => {
    e.add(1, 2);
    e.add(3, 4);
    e.callind(1, 0);
    e.vec();
  });
  assert.deepEqual(r, { "call_indirect": 2, "i32.add": 2, "br_table": 1, "v128.const": 1, "i64.const": 1 });
});

test("call-graph records direct and indirect edges by name", async () => {
  const r = await analyze("call-graph.js", (e) => {
    e.callind(0, 1);
    e.callind(0, 2);
    e.callind(1, 0);
  });
  assert.deepEqual(r.edges, [
    { caller: "callind", callee: "env.host", direct: 0, indirect: 2 },
    { caller: "callind", callee: "?", direct: 0, indirect: 1 },
    { caller: "callind", callee: "bt", direct: 0, indirect: 1 },
  ]);
  assert.match(r.dot, /"callind" -> "env.host" \[label="2", style=dashed\]/);
});

test("coverage reports instructions and branch outcomes", async () => {
  const r = await analyze("coverage.js", (e) => {
    e.bt(0);
    e.bt(9);
    e.add(1, 1);
  });
  const bt = r.functions.find((f) => f.name === "bt");
  // bt: the br_table (instr 3) and the end hooks of the blocks it left (instrs 6 and 8).
  assert.deepEqual(bt, { func: 3, name: "bt", covered: 3, total: 9 });
  assert.deepEqual(r.branches, [{ func: 3, instr: 3, kind: "br_table", taken: [0, "default"] }]);
  assert.equal(r.total, 5 + 4 + 9 + 3 + 4);
  assert.equal(r.functions.length, 5, "imports have no coverage");
});

test("memory-tracer sizes accesses from the mnemonic and summarizes them", () => {
  // The fixture has no memory: drive the hooks as the generated glue would call them.
  const context = vm.createContext({});
  vm.runInContext(runtimeText, context);
  vm.runInContext(fs.readFileSync(path.join(analysesDir, "memory-tracer.js"), "utf8"), context);
  const r = JSON.parse(vm.runInContext(`
    const a = Wasabi.analysis;
    const at = (addr, offset) => ({ addr, offset, align: 0 });
    a.load({ func: 1, instr: 2 }, "i32.load", at(8, 4), 7);
    a.load({ func: 1, instr: 3 }, "i64.load16_s", at(65536, 0), 7n);
    a.load({ func: 1, instr: 4 }, "v128.load8x8_s", at(100, 0), new Uint8Array(16));
    a.store({ func: 2, instr: 0 }, "f64.store", at(0, 0), 1.5);
    a.store({ func: 2, instr: 1 }, "v128.store", at(16, 0), new Uint8Array(16));
    a.store({ func: 2, instr: 2 }, "i64.store32", at(4, 0), 1n);
    a.atomic_rmw({ func: 3, instr: 0 }, "i32.atomic.rmw8.add_u", at(1, 0), 1, 0);
    a.atomic_cmpxchg({ func: 3, instr: 1 }, "i64.atomic.rmw.cmpxchg", at(24, 0), 1n, 2n, 5n);
    a.memory_fill({ func: 4, instr: 0 }, 0, 0, 4096, 0);
    a.memory_copy({ func: 4, instr: 1 }, 0, 64, 10, 0, 0);
    JSON.stringify(Wasabi.analysisResult());`, context));
  assert.equal(r.loads, 5);
  assert.equal(r.stores, 4);
  assert.equal(r.bytesLoaded, 4 + 2 + 8 + 1 + 8);
  assert.equal(r.bytesStored, 8 + 16 + 4 + 1);
  assert.equal(r.lowest, 0);
  assert.equal(r.highest, 65537);
  assert.deepEqual(r.pages, { 0: { loads: 4, stores: 4 }, 1: { loads: 1, stores: 0 } });
  assert.deepEqual(r.bulk, { fill: { count: 1, bytes: 4096 }, copy: { count: 1, bytes: 10 }, init: { count: 0, bytes: 0 } });
  assert.deepEqual(r.trace[0], ["load", 1, 2, 12, 4]);
  assert.equal(r.trace.length, 9);
  assert.equal(r.byOp["i64.atomic.rmw.cmpxchg"], 1);
});
