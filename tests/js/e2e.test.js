// The runtime and the preload with the real instrumenter: target/release/wasabi (set WASABI_BIN
// to use another build). Skipped when it is not built.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync, spawnSync } = require("node:child_process");
const { repo, runtimePath, preloadPath } = require("./lib/fixture");
const { wat } = require("./lib/wat");

const bin = process.env.WASABI_BIN || path.join(repo, "target", "release", "wasabi");
const skip = fs.existsSync(bin) ? false : `${bin} not built`;
const analyses = path.join(repo, "examples", "analyses");

// Original function indices: 0 env.log, 1 double, 2 square, 3 fib, 4 dispatch, 5 classify,
// 6 sum, 7 vec, 8 main, 9 start.
const APP = `
(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\\01\\02\\03\\04\\05\\06\\07\\08")
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $double $square)
  (global $calls (mut i64) (i64.const 0))
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $ii) (i32.mul (local.get 0) (local.get 0)))
  (func $fib (export "fib") (param $n i32) (result i64) (local $a i64) (local $b i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $b (i64.add (local.get $a) (local.tee $a (local.get $b))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $a))
  (func $dispatch (export "dispatch") (param $which i32) (param $x i32) (result i32)
    (global.set $calls (i64.add (global.get $calls) (i64.const 1)))
    (call_indirect $t (type $ii) (local.get $x) (local.get $which)))
  (func $classify (export "classify") (param $x i32) (result i32)
    (block $other
      (block $one
        (block $zero
          (br_table $zero $one $other (local.get $x)))
        (return (i32.const 100)))
      (return (i32.const 101)))
    (i32.const 102))
  (func $sum (export "sum") (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load8_u offset=16 (local.get $i))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
    (i32.store offset=4 (i32.const 0) (local.get $s))
    (local.get $s))
  (func $vec (export "vec") (result i32)
    (i32x4.extract_lane 1 (i32x4.add (i32x4.splat (i32.const 2)) (i32x4.splat (i32.const 20)))))
  (func $main (export "main") (result i32)
    (call $log (i32.wrap_i64 (call $fib (i32.const 10))))
    (i32.add (call $dispatch (i32.const 0) (i32.const 21)) (call $dispatch (i32.const 1) (i32.const 3))))
  (func $start (call $log (i32.const -1)))
  (start $start)
)`;

let tmp;
let appWasm;
let outDir;
test.before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wasabi-e2e-"));
  appWasm = path.join(tmp, "app.wasm");
  fs.writeFileSync(appWasm, await wat(APP));
  outDir = path.join(tmp, "out");
  execFileSync(bin, ["--node", "-o", outDir, appWasm]);
  fs.writeFileSync(path.join(tmp, "app.mjs"), `
    import fs from "node:fs";
    const logged = [];
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(new URL("./app.wasm", import.meta.url)),
      { env: { log: (x) => logged.push(x) } });
    const e = instance.exports;
    console.log(JSON.stringify([e.main(), e.classify(0), e.classify(1), e.classify(7), e.sum(), e.vec(), String(e.fib(20)), logged]));
  `);
});
test.after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

const EXPECTED_OUTPUT = [42 + 9, 100, 101, 102, 36, 22, "6765", [-1, 55]];

test("the generated file registers the module; all instantiation paths report to the analysis", { skip }, async () => {
  const Wasabi = require(path.join(outDir, "app.wasabi.js"));
  assert.equal(Wasabi, globalThis.Wasabi);
  const bytes = fs.readFileSync(path.join(outDir, "app.wasm"));
  const events = [];
  const analysis = {};
  for (const name of Wasabi.HOOK_NAMES) analysis[name] = (...args) => events.push([name, ...args]);
  Wasabi.analysis = analysis;
  const logged = [];
  const imports = { env: { log: (x) => logged.push(x) } };
  const response = () => new Response(bytes, { headers: { "content-type": "application/wasm" } });

  const instances = [
    (await WebAssembly.instantiate(bytes, imports)).instance,
    await WebAssembly.instantiate(new WebAssembly.Module(bytes), imports),
    new WebAssembly.Instance(new WebAssembly.Module(bytes), imports),
    (await WebAssembly.instantiateStreaming(response(), imports)).instance,
  ];
  for (const instance of instances) {
    assert.ok(instance instanceof WebAssembly.Instance);
    events.length = 0;
    const e = instance.exports;
    assert.equal(e.main(), 51);
    assert.equal(e.classify(1), 101);
    assert.equal(e.sum(), 36);
    assert.equal(e.vec(), 22);
    assert.equal(e.fib(20), 6765n);

    const of = (name) => events.filter((ev) => ev[0] === name);
    const indirect = of("call_pre").filter((ev) => ev[4] !== undefined);
    assert.deepEqual(indirect.map((ev) => [ev[1].func, ev[2], ev[3], ev[4], ev[5]]),
      [[4, 1, [21], 0, 0], [4, 2, [3], 1, 0]], "call_indirect: resolved original index, args, elem, table");
    assert.ok(of("call_pre").some((ev) => ev[1].func === 8 && ev[2] === 3 && ev[3][0] === 10), "direct call main -> fib(10)");
    assert.ok(of("call_post").some((ev) => ev[1].func === 8 && ev[2][0] === 55n), "fib(10) returns 55n");
    const [[, btLoc, table, def, idx]] = of("br_table");
    assert.equal(btLoc.func, 5);
    assert.equal(idx, 1);
    // (br_table $zero $one $other): two listed targets, $other is the default.
    assert.equal(table.length, 2);
    assert.deepEqual([table[0].label, table[1].label, def.label], [0, 1, 2]);
    assert.ok(of("end").some((ev) => ev[1].func === 5 && ev[2] === "block"), "br_table ends the blocks it leaves");
    const loads = of("load").filter((ev) => ev[2] === "i32.load8_u");
    assert.equal(loads.length, 8);
    assert.deepEqual(loads.map((ev) => [ev[3].addr + ev[3].offset, ev[4]]), [1, 2, 3, 4, 5, 6, 7, 8].map((v, i) => [16 + i, v]));
    const [[, , storeOp, storeArg, stored]] = of("store");
    assert.deepEqual([storeOp, storeArg.addr, storeArg.offset, stored], ["i32.store", 0, 4, 36]);
    const [[, , addOp, first, second, sum]] = of("binary").filter((ev) => ev[2] === "i32x4.add");
    assert.deepEqual([addOp, [...first], [...second], [...sum]], ["i32x4.add", [2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0],
      [20, 0, 0, 0, 20, 0, 0, 0, 20, 0, 0, 0, 20, 0, 0, 0], [22, 0, 0, 0, 22, 0, 0, 0, 22, 0, 0, 0, 22, 0, 0, 0]]);
    assert.deepEqual(of("extract_lane").map((ev) => [ev[2], ev[3], ev[5]]), [["i32x4.extract_lane", 1, 22]]);
    assert.ok(of("binary").some((ev) => ev[2] === "i64.add" && typeof ev[5] === "bigint"));
    assert.ok(of("global").some((ev) => ev[2] === "global.set" && typeof ev[4] === "bigint" && ev[4] > 0n));
  }
  assert.equal(Wasabi.modules.length, 4);
  assert.equal(Wasabi.module.info.functions[3].export[0], "fib");
  assert.deepEqual(Wasabi.module.info.functions[0].import, ["env", "log"]);
  assert.equal(Wasabi.module.resolveFunction(instances[3].exports.fib), 3);
});

test("v128.const reaches const_ as 16 bytes", { skip }, async () => {
  const dir = path.join(tmp, "v128");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "c.wasm"), await wat(`(module (func (export "f") (result i32)
    (i32x4.extract_lane 3 (v128.const i32x4 0x04030201 0x08070605 -1 0x7f))))`));
  execFileSync(bin, ["--node", "-o", dir, path.join(dir, "c.wasm")]);
  const Wasabi = require(path.join(dir, "c.wasabi.js"));
  const seen = [];
  Wasabi.analysis = { const_: (loc, op, value) => seen.push([op, [...value]]) };
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(path.join(dir, "c.wasm")));
  assert.equal(instance.exports.f(), 0x7f);
  assert.deepEqual(seen, [["v128.const", [1, 2, 3, 4, 5, 6, 7, 8, 255, 255, 255, 255, 0x7f, 0, 0, 0]]]);
});

/** Runs app.mjs under the preload with the real instrumenter and `analysis`; returns output and result. */
function runWithPreload(analysis, env = {}) {
  const result = path.join(tmp, `result-${analysis}.json`);
  fs.rmSync(result, { force: true });
  const p = spawnSync(process.execPath, [path.join(tmp, "app.mjs")], {
    encoding: "utf8",
    env: {
      ...process.env,
      NODE_OPTIONS: `--require ${preloadPath}`,
      WASABI_BIN: bin,
      WASABI_RUNTIME: runtimePath,
      WASABI_ANALYSIS: path.join(analyses, analysis),
      WASABI_RESULT: result,
      WASABI_CACHE: path.join(tmp, "cache"),
      ...env,
    },
  });
  assert.equal(p.status, 0, p.stderr);
  return { output: JSON.parse(p.stdout.trim().split("\n").at(-1)), result: JSON.parse(fs.readFileSync(result, "utf8")) };
}

test("hooks the analysis does not define are linked to empty Wasm functions", { skip }, async () => {
  const Wasabi = require(path.join(outDir, "app.wasabi.js"));
  const seen = [];
  Wasabi.analysis = { binary: (loc, op) => seen.push(op), end() {} };
  const bytes = fs.readFileSync(path.join(outDir, "app.wasm"));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { log() {} } });
  const hooks = Wasabi.module.lowlevelHooks;
  const isWasm = (f) => /^function \d+\(\) \{ \[native code\] \}$/.test(String(f));
  assert.ok(!isWasm(hooks["i32.mul"]), "binary is defined: JS glue");
  assert.ok(isWasm(hooks["local.get_i32"]), "local is not: an empty Wasm function");
  assert.ok(!isWasm(hooks["br_table"]), "br_table also reports end, which is defined");
  assert.equal(instance.exports.main(), 51);
  assert.ok(seen.includes("i32.mul") && seen.includes("i32.add"));
});

test("preload + instruction-mix on real output", { skip }, () => {
  const { output, result } = runWithPreload("instruction-mix.js");
  assert.deepEqual(output, EXPECTED_OUTPUT);
  assert.equal(result.call_indirect, 2);
  assert.equal(result.br_table, 3);
  assert.ok(result["i64.add"] >= 30 && result["local.get"] > 0 && result["i32.load8_u"] === 8, JSON.stringify(result));
});

test("preload + call-graph on real output, with --hooks", { skip }, () => {
  const { output, result } = runWithPreload("call-graph.js", { WASABI_HOOKS: "call_pre" });
  assert.deepEqual(output, EXPECTED_OUTPUT);
  const edges = Object.fromEntries(result.edges.map((e) => [`${e.caller} -> ${e.callee}`, [e.direct, e.indirect]]));
  assert.deepEqual(edges, {
    "9 -> env.log": [1, 0], "main -> env.log": [1, 0], "main -> fib": [1, 0], "main -> dispatch": [2, 0],
    "dispatch -> 1": [0, 1], "dispatch -> 2": [0, 1],
  });
});

test("preload + coverage on real output", { skip }, () => {
  const { output, result } = runWithPreload("coverage.js");
  assert.deepEqual(output, EXPECTED_OUTPUT);
  const byName = Object.fromEntries(result.functions.map((f) => [f.name, f]));
  assert.equal(byName.sum.covered, byName.sum.total, "sum runs every instruction");
  // classify(0), (1) and (7) take every br_table target; the ends after each return are
  // reported when the branches leave those blocks.
  assert.equal(byName.classify.covered, byName.classify.total);
  assert.ok(byName.fib.covered > 0 && byName.dispatch.covered === byName.dispatch.total);
  assert.deepEqual(result.branches.find((b) => b.kind === "br_table").taken, [0, 1, "default"]);
});

test("preload + memory-tracer on real output", { skip }, () => {
  const { output, result } = runWithPreload("memory-tracer.js");
  assert.deepEqual(output, EXPECTED_OUTPUT);
  assert.equal(result.loads, 8);
  assert.equal(result.stores, 1);
  assert.equal(result.lowest, 4);
  assert.equal(result.highest, 23);
});

test("wasabi run drives the preload", { skip }, (t) => {
  const help = spawnSync(bin, ["run", "--help"], { encoding: "utf8" });
  if (help.status !== 0) return t.skip("this wasabi has no run subcommand yet");
  const result = path.join(tmp, "run-result.json");
  const p = spawnSync(bin, ["run", "--result", result, "--analysis", path.join(analyses, "instruction-mix.js"), "--",
    process.execPath, path.join(tmp, "app.mjs")], { encoding: "utf8", cwd: tmp });
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(JSON.parse(p.stdout.trim().split("\n").at(-1)), EXPECTED_OUTPUT);
  const mix = JSON.parse(fs.readFileSync(result, "utf8"));
  assert.equal(mix.call_indirect, 2);
});
