// The R3 recorder (wasabi/js/recorder.js) on modules instrumented by the real
// `wasabi --hooks r3`, judged by the traces it writes as `r3 trace print` decodes them. Each
// test runs a small program in a child process (the recorder writes its traces at exit).
// Needs node >= 22 (multi-memory): `npx -y node@22 --test tests/js/recorder.test.js`, which
// wasabi/tests/recorder.rs runs; under older node the tests skip themselves.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const crypto = require("node:crypto");
const { execFileSync, spawnSync } = require("node:child_process");
const { repo, preloadPath } = require("./lib/fixture");
const { wat } = require("./lib/wat");

const wasabiBin = process.env.WASABI_BIN || path.join(repo, "target", "release", "wasabi");
const r3Bin = process.env.R3_BIN || path.join(repo, "target", "release", "r3");
const recorderPath = path.join(repo, "wasabi", "js", "recorder.js");
const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 22 ? `r3-instrumented modules need multi-memory, node >= 22 (this is ${process.version})`
  : !fs.existsSync(wasabiBin) ? `${wasabiBin} not built (cargo build --release -p wasabi)`
  : !fs.existsSync(r3Bin) ? `${r3Bin} not built (cargo build --release -p r3_replay)`
  : false;

// Original function indices: imports 0 write, 1 fail, 2 reenter, 3 pair, 4 grow; then
// 5 echo, 6 load, 7 store, 8 poke, 9 fail, 10 trap, 11 fact, 12 call_pair, 13 size,
// 14 indirect, 15 get_g, 16 hidden (not exported), 17 double, 18 nan, 19 grow_in_import,
// 20 funcref_of, 21 sum, 22 ext, 23 pair_first.
const APP = `
(module
  (type $ii (func (param i32) (result i32)))
  (import "env" "write" (func $write (param i32 i32)))
  (import "env" "fail" (func $fail))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (import "env" "pair" (func $pair (result i32 i64)))
  (import "env" "grow" (func $grow))
  (memory (export "memory") 1 100)
  (data (i32.const 16) "hello")
  (table $tbl (export "tbl") 4 funcref)
  (elem (table $tbl) (i32.const 0) func $hidden $double)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func $echo (export "echo") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    (local.get 0) (local.get 1) (local.get 2) (local.get 3))
  (func $load (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func $store (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func $poke (export "poke") (param i32 i32) (result i32)
    (call $write (local.get 0) (local.get 1))
    (i32.load (local.get 0)))
  (func $failing (export "fail") (call $fail))
  (func $trap (export "trap") unreachable)
  (func $fact (export "fact") (param i32) (result i32)
    (if (result i32) (i32.le_s (local.get 0) (i32.const 1))
      (then (i32.const 1))
      (else (call $reenter (local.get 0)))))
  (func $call_pair (export "call_pair") (result i64) (local $a i32) (local $b i64)
    (call $pair) (local.set $b) (local.set $a)
    (i64.add (i64.extend_i32_s (local.get $a)) (local.get $b)))
  (func $size (export "size") (result i32) (memory.size))
  (func $indirect (export "indirect") (param i32 i32) (result i32)
    (call_indirect $tbl (type $ii) (local.get 1) (local.get 0)))
  (func $get_g (export "get_g") (result i32) (global.get $g))
  (func $hidden (type $ii) (i32.add (local.get 0) (i32.const 100)))
  (func $double (export "double") (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $nan (export "nan") (result f64) (f64.reinterpret_i64 (i64.const 0x7ff4000000000001)))
  (func $grow_in_import (export "grow_in_import") (result i32) (call $grow) (memory.size))
  (func $funcref_of (export "funcref_of") (param i32) (result funcref) (table.get $tbl (local.get 0)))
  (func $sum (export "sum") (param $at i32) (param $n i32) (result i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $s))
  (func $ext (export "ext") (param externref) (result externref) (local.get 0))
  (func $pair_first (export "pair_first") (result i32) (call $pair) (drop))
)`;

// Imports every kind of item; its start function already reads host memory and calls out.
// Function indices: 0 log, 1 start, 2 get, 3 ref.
const IMPORTS = `
(module
  (import "env" "log" (func $log (param i32)))
  (import "env" "mem" (memory 1))
  (import "env" "g" (global $g (mut i64)))
  (import "env" "t" (table $t 1 externref))
  (func $start (call $log (i32.load (i32.const 0))))
  (start $start)
  (func (export "get") (result i64) (global.get $g))
  (func (export "ref") (param i32) (result externref) (table.get $t (local.get 0)))
)`;

// One host function imported twice under the same name: 0 f, 1 f (again), 2 run.
const TWICE = `
(module
  (import "env" "f" (func $a (param i32)))
  (import "env" "f" (func $b (param i32)))
  (func (export "run") (call $a (i32.const 1)) (call $b (i32.const 2))))`;

// Hand-instrumented, to drive __r3.sync with exact ranges: which bytes one sync records, and
// where differing runs end, are the recorder's alone to decide.
const SYNC_METADATA = JSON.stringify({
  version: 1, module_sha256: "ab".repeat(32), name: "syncer", functions: ["iii|"], imported_functions: 0,
  memory: { import: null, export: ["memory"], initial: 1, maximum: null }, globals: [], tables: [],
});
const SYNC = `
(module
  (@custom "r3" "${SYNC_METADATA.replace(/"/g, "\\\"")}")
  (import "__r3" "sync" (func $sync (param i32 i32 i32)))
  (import "__r3" "memory" (memory $m 1))
  (import "__r3" "shadow" (memory $s 1))
  (export "memory" (memory $m))
  (table (export "__r3_functions") 1 funcref)
  (elem (i32.const 0) func $check)
  (global (export "__r3_naive") (mut i64) (i64.const 0))
  (func $check (export "check") (param i32 i32 i32) (call $sync (local.get 0) (local.get 1) (local.get 2)))
)`;

let tmp;
const app = {}; // {wasm, out, js, sha}
const imports = {};
const twice = {};
const syncer = {};
test.before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "r3-recorder-"));
  Object.assign(app, await instrument("app", APP));
  Object.assign(imports, await instrument("imports", IMPORTS));
  Object.assign(twice, await instrument("twice", TWICE));
  syncer.wasm = path.join(tmp, "syncer.wasm");
  fs.writeFileSync(syncer.wasm, await wat(SYNC));
});
test.after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

// NAME.wasm from WAT, instrumented into out-NAME/ as the CLI does for node.
async function instrument(name, text) {
  const bytes = await wat(text);
  const wasm = path.join(tmp, `${name}.wasm`);
  fs.writeFileSync(wasm, bytes);
  const out = path.join(tmp, `out-${name}`);
  execFileSync(wasabiBin, ["--hooks", "r3", "--node", "-o", out, wasm]);
  const js = path.join(out, `${name}.wasabi.js`);
  // The CLI embeds recorder.js as it was when wasabi was built; the subject here is the source.
  const generated = fs.readFileSync(js, "utf8");
  assert.match(generated, /^\/\*[^]*\nvar R3 = [^]*\nmodule\.exports = R3;\n$/, "the CLI's recorder for node");
  fs.writeFileSync(js, `${fs.readFileSync(recorderPath, "utf8")}\nmodule.exports = R3;\n`);
  return {
    wasm, out, js, instrumented: path.join(out, `${name}.wasm`),
    sha: crypto.createHash("sha256").update(bytes).digest("hex"),
  };
}

let runs = 0;
/**
 * Runs `body` (CommonJS) with `R3` (the generated recorder), `moduleBytes` (instrumented bytes
 * of `of`) and `instantiate(imports)` defined; traces go to a fresh directory unless env says.
 */
function run(body, { of = app, env = {}, node = process.execPath } = {}) {
  const { dir, script } = program(body, of);
  // Every export_return, so that tests see what each export returned; the default is tested
  // in "an export_call implies the export_return before it ...".
  const p = spawnSync(node, [script], { cwd: dir, encoding: "utf8",
    env: { ...process.env, R3_TRACE_DIR: dir, R3_KEEP_RETURNS: "1", ...env } });
  return { ...p, dir, outputs: p.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line)) };
}

// A program recording `of` in a directory of its own: main.cjs runs `body` in an async function.
function program(body, of) {
  const dir = path.join(tmp, `run${runs++}`);
  fs.mkdirSync(dir);
  const script = path.join(dir, "main.cjs");
  fs.writeFileSync(script, `"use strict";
const fs = require("node:fs");
const R3 = require(${JSON.stringify(of.js)});
const moduleBytes = fs.readFileSync(${JSON.stringify(of.instrumented)});
const instantiate = async (imports) => (await WebAssembly.instantiate(moduleBytes, imports)).instance;
const out = (...values) => console.log(JSON.stringify(values, (k, v) => typeof v === "bigint" ? v + "n" : v));
(async () => {
${body}
})().catch((e) => { console.error(e); process.exitCode = 1; });
`);
  return { dir, script };
}

function ok(p) {
  assert.equal(p.status, 0, `exit ${p.status}\nstdout:\n${p.stdout}\nstderr:\n${p.stderr}`);
  assert.doesNotMatch(p.stderr, /r3:/, "the recorder reported a problem");
  return p;
}

// `r3 trace print` output, integers beyond 2^53 (i64, f64 bits) as BigInt.
function decode(file) {
  const text = execFileSync(r3Bin, ["trace", "print", file], { encoding: "utf8", maxBuffer: 256 << 20 });
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line, (key, value, context) =>
    typeof value === "number" && !Number.isSafeInteger(value) && /^-?\d+$/.test(context.source)
      ? BigInt(context.source) : value));
}

// The trace of instance `instance` of a module in dir: [header, ...events].
function trace(dir, sha, instance = 0) {
  return decode(path.join(dir, `module-${sha.slice(0, 8)}-${instance}.r3`));
}

function events(p, of = app, instance = 0) {
  const [header, ...rest] = trace(p.dir, of.sha, instance);
  assert.deepEqual(header, { version: 3, module_sha256: of.sha, instance });
  assert.ok("end" in rest.at(-1), "the trace ends with an end event");
  return rest;
}

// Events without the final end event.
const body = (p, of, instance) => events(p, of, instance).slice(0, -1);

// Expected values, bit-exact as in the text encoding.
const exact = (b) => (b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b);
const i32 = (n) => ({ i32: n });
const i64 = (b) => ({ i64: exact(BigInt(b)) });
const f32 = (x) => {
  const v = new DataView(new ArrayBuffer(4));
  v.setFloat32(0, x);
  return { f32: v.getUint32(0) };
};
const f64bits = (b) => ({ f64: exact(b) });
const f64 = (x) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return f64bits(v.getBigUint64(0));
};
const call = (func, name, ...args) => ({ export_call: { func, name, args } });
const ret = (...results) => ({ export_return: { results } });
const icall = (func, ...args) => ({ import_call: { func, args } });
const iret = (func, ...results) => ({ import_return: { func, results } });
const write = (addr, hex) => ({ memory_write: { memory: 0, addr, bytes: hex } });
// memory_writes from [addr, hex] runs: each run's skip counts from the previous run's end.
const writes = (...runs) => {
  let end = 0;
  return { memory_writes: { memory: 0, runs: runs.map(([addr, bytes]) => {
    const skip = addr - end;
    end = addr + bytes.length / 2;
    return { skip, bytes };
  }) } };
};

const HOST = `{ env: {
  write: (addr, value) => new DataView(memory.buffer).setInt32(addr, value, true),
  fail: () => { throw new Error("host says no"); },
  reenter: (n) => n * e.fact(n - 1),
  pair: () => [-5, 2n ** 40n],
  grow: () => { memory.grow(1); },
} }`;
const APP_SETUP = `
let e, memory;
const instance = await instantiate(${HOST});
e = instance.exports;
memory = e.memory;`;

test("values of every type cross exports exactly; multi-value results are arrays", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    const nan = new DataView(new ArrayBuffer(8));
    nan.setBigUint64(0, 0x7ff8000000000abcn);
    out(e.echo(7, -(2n ** 63n), 0.1, nan.getFloat64(0)));
    out(e.echo(-1, 2n ** 63n - 1n, -0, -Infinity));
    out(e.echo("12", 2n ** 64n + 3n, "x", undefined)); // converted as the engine converts
    const bits = new DataView(new ArrayBuffer(8));
    bits.setFloat64(0, e.nan());
    out(bits.getBigUint64(0).toString(16));
  `));
  assert.deepEqual(p.outputs.at(-1), ["7ff4000000000001"]);
  assert.deepEqual(body(p), [
    call(5, "echo", i32(7), i64(-(2n ** 63n)), f32(0.1), f64bits(0x7ff8000000000abcn)),
    ret(i32(7), i64(-(2n ** 63n)), f32(0.1), f64bits(0x7ff8000000000abcn)),
    call(5, "echo", i32(-1), i64(2n ** 63n - 1n), f32(-0), f64(-Infinity)),
    ret(i32(-1), i64(2n ** 63n - 1n), f32(-0), f64(-Infinity)),
    call(5, "echo", i32(12), i64(3), f32(NaN), f64(NaN)),
    ret(i32(12), i64(3), f32(NaN), f64(NaN)),
    call(18, "nan"),
    ret(f64bits(0x7ff4000000000001n)),
  ]);
});

test("import calls and returns; multi-value and wrongly typed import results", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    out(e.call_pair(), e.pair_first());
  `));
  assert.deepEqual(p.outputs, [[`${2n ** 40n - 5n}n`, -5]]);
  // This host returns a Number for the i64, which the engine refuses with a TypeError.
  const p2 = ok(run(`
    const instance = await instantiate({ env: { write() {}, fail() {}, reenter() {}, grow() {}, pair: () => [1, 2] } });
    try { instance.exports.call_pair(); } catch (error) { out(error.constructor.name); }
  `));
  assert.deepEqual(p2.outputs, [["TypeError"]]);
  assert.deepEqual(body(p), [
    call(12, "call_pair"), iret(3, i32(-5), i64(2n ** 40n)), ret(i64(2n ** 40n - 5n)),
    call(23, "pair_first"), iret(3, i32(-5), i64(2n ** 40n)), ret(i32(-5)),
  ]);
  // The engine's TypeError for the result reaches the module like any exception of an import.
  assert.deepEqual(body(p2), [call(12, "call_pair"), { import_throw: { func: 3 } }, "export_throw"]);
});

test("host memory writes are recorded once, where the module reads them; the module's own are not", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    out(e.poke(100, 0x11223344));        // the import writes, the module then reads it
    out(e.load(100));                    // nothing new
    e.store(200, 5); out(e.load(200));   // the module's own write
    out(e.load(16));                     // its data segment
    const bytes = new Uint8Array(memory.buffer);
    bytes[300] = 0xaa; bytes[305] = 0xbb; // 4 equal bytes apart: two runs (never merged)
    bytes[400] = 0xcc;                   // a run of its own, same window: one event for all
    bytes[5000] = 0xdd;                  // another window: recorded when read
    out(e.load(300));
    out(e.load(4998));
  `));
  assert.deepEqual(p.outputs, [[0x11223344], [0x11223344], [5], [0x6c6c6568], [0xaa], [0xdd0000]]);
  assert.deepEqual(body(p), [
    call(8, "poke", i32(100), i32(0x11223344)),
    iret(0),
    write(100, "44332211"),
    ret(i32(0x11223344)),
    call(6, "load", i32(100)), ret(i32(0x11223344)),
    call(7, "store", i32(200), i32(5)), ret(),
    call(6, "load", i32(200)), ret(i32(5)),
    call(6, "load", i32(16)), ret(i32(0x6c6c6568)),
    call(6, "load", i32(300)), writes([300, "aa"], [305, "bb"], [400, "cc"]), ret(i32(0xaa)),
    call(6, "load", i32(4998)), write(5000, "dd"), ret(i32(0xdd0000)),
  ]);
});

test("an import that throws: import_throw, then export_throw; a trap: export_trap", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    try { e.fail(); } catch (error) { out(error.message); }
    try { e.trap(); } catch (error) { out(error.constructor.name, error.message); }
    out(e.load(16)); // recording goes on
  `));
  assert.deepEqual(p.outputs, [["host says no"], ["RuntimeError", "unreachable"], [0x6c6c6568]]);
  assert.deepEqual(body(p), [
    call(9, "fail"), { import_throw: { func: 1 } }, "export_throw",
    call(10, "trap"), { export_trap: { message: "unreachable" } },
    call(6, "load", i32(16)), ret(i32(0x6c6c6568)),
  ]);
});

test("export calls made inside an import nest", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    out(e.fact(3));
  `));
  assert.deepEqual(p.outputs, [[6]]);
  assert.deepEqual(body(p), [
    call(11, "fact", i32(3)), icall(2, i32(3)),
    call(11, "fact", i32(2)), icall(2, i32(2)),
    call(11, "fact", i32(1)), ret(i32(1)),
    iret(2, i32(2)), ret(i32(2)),
    iret(2, i32(6)), ret(i32(6)),
  ]);
});

test("memory growth by the host, outside and inside an import, becomes memory_grow", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    memory.grow(1);
    out(e.size());
    out(e.size());
    out(e.grow_in_import());
    new Uint8Array(memory.buffer)[2 * 65536 + 7] = 1; // in the page the import added
    out(e.load(2 * 65536 + 4));
  `));
  assert.deepEqual(p.outputs, [[2], [2], [3], [0x1000000]]);
  assert.deepEqual(body(p), [
    call(13, "size"), { memory_grow: { memory: 0, pages: 2 } }, ret(i32(2)),
    call(13, "size"), ret(i32(2)),
    call(19, "grow_in_import"), iret(4), { memory_grow: { memory: 0, pages: 3 } }, ret(i32(3)),
    call(6, "load", i32(2 * 65536 + 4)), write(2 * 65536 + 7, "01"), ret(i32(0x1000000)),
  ]);
});

test("tables: host sets and growth, call_indirect, and functions the host reads from them", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    const tbl = e.tbl;
    tbl.set(2, e.double);
    out(e.indirect(2, 21));
    out(tbl.get(1) === e.double, tbl.get(0) === tbl.get(0), tbl.get(0).length);
    out(tbl.get(0)(5));                  // a function the module does not export
    out(e.funcref_of(0) === tbl.get(0)); // a funcref result is handed out the same way
    out(e.funcref_of(0)(6));
    tbl.grow(2, e.double);
    tbl.set(3, null);                    // null already: no event
    tbl.set(0, e.double);
    tbl.set(0, tbl.get(0));              // set twice: one event, the final value
    out(e.indirect(5, 4));
  `));
  assert.deepEqual(p.outputs, [[42], [true, true, 1], [105], [true], [106], [8]]);
  const fn = (i) => ({ func_ref: i });
  assert.deepEqual(body(p), [
    call(14, "indirect", i32(2), i32(21)),
    { table_set: { table: 0, index: 2, value: fn(17) } },
    ret(i32(42)),
    call(16, "", i32(5)), ret(i32(105)),
    call(20, "funcref_of", i32(0)), ret(fn(16)),
    call(20, "funcref_of", i32(0)), ret(fn(16)),
    call(16, "", i32(6)), ret(i32(106)),
    call(14, "indirect", i32(5), i32(4)),
    { table_grow: { table: 0, size: 6, init: fn(null) } },
    { table_set: { table: 0, index: 0, value: fn(17) } },
    { table_set: { table: 0, index: 4, value: fn(17) } },
    { table_set: { table: 0, index: 5, value: fn(17) } },
    ret(i32(8)),
  ]);
});

test("a global the host sets is recorded at the next call, once", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    e.g.value = 5;
    out(e.get_g());
    out(e.get_g());
    e.g.value = 6;
    e.g.value = 5;                        // back to what the module saw: nothing to record
    out(e.get_g());
  `));
  assert.deepEqual(p.outputs, [[5], [5], [5]]);
  assert.deepEqual(body(p), [
    call(15, "get_g"), { global_set: { global: 0, value: i32(5) } }, ret(i32(5)),
    call(15, "get_g"), ret(i32(5)),
    call(15, "get_g"), ret(i32(5)),
  ]);
});

test("externrefs are numbered by first appearance", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    const a = {}, b = [];
    out(e.ext(a) === a, e.ext(b) === b, e.ext(a) === a, e.ext(null), e.ext(undefined));
  `));
  assert.deepEqual(p.outputs, [[true, true, true, null, null]]);
  const x = (id) => ({ extern_ref: id });
  assert.deepEqual(body(p), [
    call(22, "ext", x(0)), ret(x(0)),
    call(22, "ext", x(1)), ret(x(1)),
    call(22, "ext", x(0)), ret(x(0)),
    call(22, "ext", x(null)), ret(x(null)),
    call(22, "ext", x(2)), ret(x(2)),
  ]);
});

test("two instances get their own traces, instance 0 and 1; naive events are counted", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    const second = await instantiate(${HOST});
    out(second.exports.load(16), e.load(16), second.exports.load(16));
  `));
  const first = events(p, app, 0);
  const other = events(p, app, 1);
  assert.deepEqual(first, [call(6, "load", i32(16)), ret(i32(0x6c6c6568)), { end: { naive_events: 1 + 2 } }]);
  assert.deepEqual(other, [
    call(6, "load", i32(16)), ret(i32(0x6c6c6568)),
    call(6, "load", i32(16)), ret(i32(0x6c6c6568)),
    { end: { naive_events: 2 + 4 } },
  ]);
});

test("imported memory, global and table: their state at instantiation, then the start function", { skip }, () => {
  const p = ok(run(`
    const mem = new WebAssembly.Memory({ initial: 2 });
    new Uint8Array(mem.buffer)[0] = 7;
    const g = new WebAssembly.Global({ value: "i64", mutable: true }, 5n);
    const t = new WebAssembly.Table({ element: "externref", initial: 2 }, "x");
    const logged = [];
    const instance = await instantiate({ env: { log: (x) => logged.push(x), mem, g, t } });
    g.value = -6n;
    out(logged, instance.exports.get(), instance.exports.ref(1));
  `, { of: imports }));
  assert.deepEqual(p.outputs, [[[7], "-6n", "x"]]);
  assert.deepEqual(body(p, imports), [
    { memory_grow: { memory: 0, pages: 2 } },
    { global_set: { global: 0, value: i64(5) } },
    { table_grow: { table: 0, size: 2, init: { extern_ref: null } } },
    { table_set: { table: 0, index: 0, value: { extern_ref: 0 } } },
    { table_set: { table: 0, index: 1, value: { extern_ref: 0 } } },
    write(0, "07"),
    iret(0),
    call(2, "get"), { global_set: { global: 0, value: i64(-6) } }, ret(i64(-6)),
    call(3, "ref", i32(1)), ret({ extern_ref: 0 }),
  ]);
});

test("a failed instantiation leaves no trace and no gap in the instance numbers", { skip }, () => {
  const p = ok(run(`
    const env = () => ({ mem: new WebAssembly.Memory({ initial: 1 }), g: new WebAssembly.Global({ value: "i64", mutable: true }, 0n),
      t: new WebAssembly.Table({ element: "externref", initial: 1 }) });
    try {
      await instantiate({ env: { ...env(), log() { throw new Error("no start"); } } });
    } catch (error) { out(error.message); }
    const instance = await instantiate({ env: { ...env(), log() {} } });
    out(instance.exports.get());
  `, { of: imports }));
  assert.deepEqual(p.outputs, [["no start"], ["0n"]]);
  assert.deepEqual(fs.readdirSync(p.dir).filter((f) => f.endsWith(".r3")), [`module-${imports.sha.slice(0, 8)}-0.r3`]);
  // Instance 0 is the one that worked; an externref table's default entries are undefined, not null.
  assert.deepEqual(body(p, imports), [
    { global_set: { global: 0, value: i64(0) } },
    { table_set: { table: 0, index: 0, value: { extern_ref: 0 } } },
    iret(0),
    call(2, "get"), ret(i64(0)),
  ]);
});

test("a host function imported twice under one name: each import records its own index", { skip }, () => {
  const p = ok(run(`
    const seen = [];
    const instance = await instantiate({ env: { f: (x) => seen.push(x) } });
    instance.exports.run();
    out(seen);
  `, { of: twice }));
  assert.deepEqual(p.outputs, [[[1, 2]]]);
  assert.deepEqual(body(p, twice), [call(2, "run"), iret(0), iret(1), ret()]);
});

test("an export_call implies the export_return before it, also across a checkpoint", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    out(e.double(1));
    out(e.double(2));
    // A checkpoint runs meanwhile and puts the trace in place, the last return only
    // provisionally: the next export_call still takes it back.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    out(fs.existsSync("module-${app.sha.slice(0, 8)}-0.r3"));
    out(e.double(3));
    out(e.fact(3));
  `, { env: { R3_KEEP_RETURNS: "" } }));
  assert.deepEqual(p.outputs, [[2], [4], [true], [6], [6]]);
  assert.deepEqual(body(p), [
    call(17, "double", i32(1)),
    call(17, "double", i32(2)),
    call(17, "double", i32(3)),
    call(11, "fact", i32(3)), icall(2, i32(3)),
    call(11, "fact", i32(2)), icall(2, i32(2)),
    // Before an import_return a return is written: the module might have called again.
    call(11, "fact", i32(1)), ret(i32(1)), iret(2, i32(2)),
    ret(i32(2)), iret(2, i32(6)),
    ret(i32(6)), // and before the end
  ]);
});

test("sync records the differing runs of the 4 KiB windows around a read, never merged", { skip }, () => {
  const p = ok(run(`
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(${JSON.stringify(syncer.wasm)}));
    const m = new Uint8Array(instance.exports.memory.buffer);
    const check = instance.exports.check;
    for (const at of [10, 11, 12, 13, 14, 16, 18, 19, 40, 43, 100, 4000, 4001]) m[at] = 1;
    for (const [at, value] of [[4095, 2], [4096, 3], [65535, 9]]) m[at] = value;
    check(0, 10, 1);             // window [0, 4096)
    check(0, 10, 1);             // all taken into the shadow: nothing
    check(4090, 0, 7);           // windows [0, 8192): only 4096 is new
    check(-1, 2, 4);             // addr + offset beyond 4 GiB: out of bounds, nothing
    check(65530, 0, 100);        // clipped at the end of memory
  `, { of: { js: recorderPath, instrumented: syncer.wasm } }));
  const [header, ...rest] = decode(path.join(p.dir, "syncer-0.r3"));
  assert.equal(header.module_sha256, "ab".repeat(32));
  assert.deepEqual(rest.slice(0, -1), [
    call(0, "check", i32(0), i32(10), i32(1)),
    // One equal byte ends a run: the module may have written it after the host last ran.
    writes(
      [10, "0101010101"],                   // across a word boundary
      [16, "01"],                           // one equal byte before it
      [18, "0101"],                         // one equal byte, in the same word
      [40, "01"],                           // two equal bytes inside one word
      [43, "01"],
      [100, "01"],
      [4000, "0101"],
      [4095, "02"],                         // up to the window's end
    ),
    ret(),
    call(0, "check", i32(0), i32(10), i32(1)), ret(),
    call(0, "check", i32(4090), i32(0), i32(7)), write(4096, "03"), ret(),
    call(0, "check", i32(-1), i32(2), i32(4)), ret(),
    call(0, "check", i32(65530), i32(0), i32(100)), write(65535, "09"), ret(),
  ]);
});

test("the caller sees the original exports: wrapped functions, no __r3_*, frozen", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    out(Object.keys(e).includes("__r3_functions") || Object.keys(e).includes("__r3_naive"),
      Object.getPrototypeOf(e), Object.isFrozen(e), instance instanceof WebAssembly.Instance,
      e.echo.length, e.echo === instance.exports.echo, typeof e.memory.grow, e.double.name);
    // The name is the function's index, as the JS API gives it: the original's index (17), not
    // the instrumented module's (18), so hosts that look functions up by name find them.
    try { new e.double(1); } catch (error) { out(error.constructor.name); }
  `));
  assert.deepEqual(p.outputs, [[false, null, true, true, 4, true, "function", "17"], ["TypeError"]]);
});

test("the trace's binary encoding is postcard's: text -> binary reproduces it byte for byte", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    out(e.fact(4), e.poke(64, -1), e.call_pair());
    try { e.trap(); } catch {}
    e.echo(1, -1n, 1.5, Math.PI);
  `));
  const file = path.join(p.dir, `module-${app.sha.slice(0, 8)}-0.r3`);
  const text = path.join(p.dir, "trace.r3.txt");
  const binary = path.join(p.dir, "again.r3");
  execFileSync(r3Bin, ["trace", "convert", file, text, "--to", "text"]);
  execFileSync(r3Bin, ["trace", "convert", text, binary, "--to", "binary"]);
  assert.ok(fs.readFileSync(file).equals(fs.readFileSync(binary)));
  assert.ok(events(p).length > 20);
});

test("without R3_TRACE_DIR, traces go next to the generated .wasabi.js; R3.finish writes early", { skip }, () => {
  const p = ok(run(`${APP_SETUP}
    e.load(16);
    const [t] = R3.traces();
    out(t.name, t.instance, t.file, fs.existsSync(t.file));
    e.load(16); // after the end: runs, unrecorded
  `, { env: { R3_TRACE_DIR: "" } }));
  const file = path.join(app.out, `module-${app.sha.slice(0, 8)}-0.r3`);
  assert.deepEqual(p.outputs, [[`module-${app.sha.slice(0, 8)}`, 0, file, true]]);
  const [, ...rest] = decode(file);
  fs.rmSync(file);
  assert.deepEqual(rest, [call(6, "load", i32(16)), ret(i32(0x6c6c6568)), { end: { naive_events: 3 } }]);
});

test("long traces are written in chunks and stay valid", { skip }, () => {
  const mib = 1 << 20;
  const p = ok(run(`${APP_SETUP}
    memory.grow(48);
    const bytes = new Uint8Array(memory.buffer, 65536, 3 * ${mib});
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i % 251) + 1; // all differ from the shadow
    out(e.sum(65536, 3 * ${mib}));
  `));
  let expected = 0;
  for (let i = 0; i < 3 * mib; i++) expected = (expected + (i % 251) + 1) | 0;
  assert.deepEqual(p.outputs, [[expected]]);
  assert.ok(fs.statSync(path.join(p.dir, `module-${app.sha.slice(0, 8)}-0.r3`)).size > 3 * mib);
  const writes = events(p).filter((event) => "memory_write" in event);
  assert.equal(writes.length, (3 * mib) / 4096);
  assert.equal(writes.reduce((n, w) => n + w.memory_write.bytes.length / 2, 0), 3 * mib);
});

test("a SIGTERM while every instance is idle ends the process at once, its trace complete", { skip }, async () => {
  // The program blocks its thread after its last call: a signal listener could not run, so
  // only a trace written before (a checkpoint) and the signal's default effect end it quickly.
  const { dir, script } = program(`${APP_SETUP}
    out(e.load(16));
    setTimeout(() => {
      out("idle");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
    }, 100);
  `, app);
  const started = Date.now();
  const child = require("node:child_process").spawn(process.execPath, [script], {
    cwd: dir, env: { ...process.env, R3_TRACE_DIR: dir }, stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    if (stdout.includes('"idle"')) child.kill("SIGTERM");
  });
  const [code, signal] = await new Promise((resolve) => child.on("exit", (...status) => resolve(status)));
  assert.deepEqual([code, signal], [null, "SIGTERM"], stdout);
  assert.ok(Date.now() - started < 10000, "the signal ended the blocked process");
  assert.deepEqual(events({ dir }), [call(6, "load", i32(16)), ret(i32(0x6c6c6568)), { end: { naive_events: 3 } }]);
});

test("r3 mode of the preload: instruments on the fly, names traces after the module file", { skip }, () => {
  const dir = path.join(tmp, "preload");
  fs.mkdirSync(path.join(dir, "modules"), { recursive: true });
  fs.copyFileSync(app.wasm, path.join(dir, "modules", "app.wasm"));
  fs.writeFileSync(path.join(dir, "main.mjs"), `
    import { readFileSync } from "node:fs";
    const bytes = readFileSync(new URL("./modules/app.wasm", import.meta.url));
    const module = new WebAssembly.Module(bytes);
    const names = (list) => list.map((x) => x.module ? x.module + "." + x.name : x.name).join(",");
    console.log(names(WebAssembly.Module.imports(module)));
    console.log(names(WebAssembly.Module.exports(module)).includes("__r3"));
    const instance = new WebAssembly.Instance(module, { env: { write() {}, fail() {}, reenter() {}, pair() {}, grow() {} } });
    console.log(instance.exports.load(16));
  `);
  const p = spawnSync(process.execPath, ["main.mjs"], {
    cwd: dir, encoding: "utf8",
    env: {
      ...process.env, NODE_OPTIONS: `--require ${preloadPath}`, WASABI_HOOKS: "r3", WASABI_BIN: wasabiBin,
      WASABI_CACHE: path.join(dir, "cache"), R3_TRACE_DIR: "", WASABI_RUNTIME: "",
    },
  });
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(p.stdout.trim().split("\n"), ["env.write,env.fail,env.reenter,env.pair,env.grow", "false", "1819043176"]);
  const [header, ...rest] = decode(path.join(dir, "app-0.r3"));
  assert.deepEqual(header, { version: 3, module_sha256: app.sha, instance: 0 });
  assert.deepEqual(rest.slice(0, -1), [call(6, "load", i32(16)), ret(i32(0x6c6c6568))]);
  assert.ok(fs.readFileSync(path.join(dir, "app.wasm")).equals(fs.readFileSync(app.wasm)), "the original module is kept");
});

test("the preload scales V8's tiering budget by the module's growth before compiling it, and resets it for modules left as they are", { skip }, () => {
  const dir = path.join(tmp, "tiering");
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(app.wasm, path.join(dir, "app.wasm"));
  // Runs before the preload: logs the V8 flags set from JS.
  fs.writeFileSync(path.join(dir, "log-flags.cjs"), `
    const v8 = require("node:v8");
    const set = v8.setFlagsFromString;
    v8.setFlagsFromString = (flags) => { process.stderr.write("v8 flags: " + flags + "\\n"); set(flags); };
  `);
  // app.wasm is instrumented; then a module with an "r3-replay" section (a replay's host) is not.
  fs.writeFileSync(path.join(dir, "main.mjs"), `
    import { readFileSync } from "node:fs";
    new WebAssembly.Module(readFileSync(new URL("./app.wasm", import.meta.url)));
    new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 10, 9, ...Buffer.from("r3-replay")]));
  `);
  const flagsSet = (execArgv) => {
    const p = spawnSync(process.execPath, [...execArgv, "main.mjs"], {
      cwd: dir, encoding: "utf8",
      env: {
        ...process.env, NODE_OPTIONS: `--require ./log-flags.cjs --require ${preloadPath}`, WASABI_HOOKS: "r3",
        WASABI_BIN: wasabiBin, WASABI_CACHE: path.join(dir, "cache"), R3_TRACE_DIR: dir, WASABI_RUNTIME: "",
      },
    });
    assert.equal(p.status, 0, p.stderr);
    return p.stderr.split("\n").filter((line) => line.startsWith("v8 flags: ")).map((line) => line.slice(10));
  };
  const budgets = flagsSet([]);
  const instrumented = fs.readdirSync(path.join(dir, "cache"), { recursive: true })
    .filter((file) => path.basename(file) === "module.wasm")
    .map((file) => fs.statSync(path.join(dir, "cache", file)).size);
  assert.equal(instrumented.length, 1);
  const growth = instrumented[0] / fs.statSync(app.wasm).size;
  assert.ok(growth > 1, `the instrumented module is larger (${growth})`);
  assert.deepEqual(budgets, [`--wasm-tiering-budget=${Math.round(13000000 * growth)}`, "--wasm-tiering-budget=13000000"]);
  // A budget the user chose is scaled instead of V8's default.
  assert.deepEqual(flagsSet(["--wasm-tiering-budget=1000"]),
    [`--wasm-tiering-budget=${Math.round(1000 * growth)}`, "--wasm-tiering-budget=1000"]);
});

// The first node on PATH older than 22 (under `npx node@22`, PATH starts with node 22's).
function oldNode() {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const node = path.join(dir, "node");
    const p = spawnSync(node, ["-p", "process.versions.node"], { encoding: "utf8" });
    if (p.status === 0 && Number(p.stdout.split(".")[0]) < 22) return node;
  }
  return undefined;
}

test("engines without multi-memory get a clear error", { skip }, (t) => {
  const node = oldNode();
  if (node === undefined) return t.skip("no node < 22 on PATH");
  const p = run(`
    try { await instantiate({}); } catch (error) { out(error.constructor.name, error.message); }
  `, { node });
  assert.equal(p.outputs.length, 1, p.stderr);
  const [name, message] = p.outputs[0];
  assert.equal(name, "CompileError");
  assert.match(message, /^r3 recording needs multi-memory: node >= 22 or a current browser/);
});
