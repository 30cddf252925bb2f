// The runtime on its own, against a hand-written "instrumented" module (lib/fixture.js).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const vm = require("node:vm");
const { execFileSync } = require("node:child_process");
const {
  instrumentedModule, plainModule, hostImports, runtimeText, runtimePath,
} = require("./lib/fixture");

const nativeInstantiate = WebAssembly.instantiate;
const nativeInstance = WebAssembly.Instance;
const nativeModule = WebAssembly.Module;
const nativeDescriptor = Object.getOwnPropertyDescriptor(WebAssembly, "instantiate");

let fixture;
test.before(async () => {
  fixture = await instrumentedModule("7e57");
  vm.runInThisContext(fixture.js, { filename: "fixture.wasabi.js" });
});

// An analysis that records every hook call as [name, ...args].
function recorder() {
  const events = [];
  const analysis = {};
  for (const name of Wasabi.HOOK_NAMES) analysis[name] = (...args) => events.push([name, ...args]);
  return { events, analysis, of: (name) => events.filter((e) => e[0] === name) };
}

function checkInstance(instance, ctx) {
  assert.ok(instance instanceof WebAssembly.Instance);
  assert.equal(ctx.instance, instance);
  assert.equal(ctx.exports, instance.exports);
  assert.equal(ctx.table, instance.exports.__wasabi_functions);
  assert.equal(Wasabi.module, ctx);
  assert.equal(Wasabi.modules.at(-1), ctx);
  assert.equal(instance.exports.add(2, 3), 5);
}

test("runtime installs once: patched API, Wasabi global, API shape", () => {
  assert.equal(typeof Wasabi, "object");
  assert.notEqual(WebAssembly.instantiate, nativeInstantiate);
  assert.notEqual(WebAssembly.Instance, nativeInstance);
  assert.equal(WebAssembly.Module, nativeModule, "Module stays native without the preload");
  assert.equal(WebAssembly.Instance.name, "Instance");
  assert.equal(WebAssembly.Instance.length, 1);
  assert.equal(WebAssembly.instantiate.length, nativeInstantiate.length);
  const { value, ...attributes } = Object.getOwnPropertyDescriptor(WebAssembly, "instantiate");
  assert.deepEqual(attributes, (({ value, ...rest }) => rest)(nativeDescriptor));
  assert.ok(Wasabi.entries.has("7e57"));
  for (const name of ["start", "call_pre", "table_grow", "atomic_fence", "memory_init", "ref_func"]) {
    assert.ok(Wasabi.HOOK_NAMES.includes(name), name);
  }
});

test("instantiate(bytes) links hooks, fills ctx and dispatches to the analysis", async () => {
  const r = recorder();
  Wasabi.analysis = r.analysis;
  const before = Wasabi.modules.length;
  const { module, instance } = await WebAssembly.instantiate(fixture.bytes, hostImports());
  assert.ok(module instanceof WebAssembly.Module);
  checkInstance(instance, Wasabi.module);
  assert.equal(Wasabi.modules.length, before + 1);
  assert.equal(Wasabi.module.id, "7e57");
  assert.equal(Wasabi.module.info.functions[1].export[0], "add");
  assert.deepEqual(r.of("binary"), [["binary", { func: 1, instr: 2 }, "i32.add", 2, 3, 5]]);
  assert.deepEqual(r.of("start"), [["start", { func: 5, instr: -1 }]]);
});

test("instantiate(Module) resolves to an Instance", async () => {
  const module = new WebAssembly.Module(fixture.bytes);
  const instance = await WebAssembly.instantiate(module, hostImports());
  checkInstance(instance, Wasabi.module);
});

test("new WebAssembly.Instance links hooks; instanceof and subclassing keep working", () => {
  const module = new WebAssembly.Module(fixture.bytes);
  const instance = new WebAssembly.Instance(module, hostImports());
  checkInstance(instance, Wasabi.module);
  assert.equal(Object.getPrototypeOf(instance), nativeInstance.prototype);

  class MyInstance extends WebAssembly.Instance {}
  const sub = new MyInstance(module, hostImports());
  assert.ok(sub instanceof MyInstance && sub instanceof WebAssembly.Instance);
  checkInstance(sub, Wasabi.module);

  assert.throws(() => WebAssembly.Instance(module, hostImports()), TypeError);
  assert.throws(() => new WebAssembly.Instance({}, {}), TypeError);
});

test("modules compiled in another realm are recognized", async () => {
  const context = vm.createContext({ bytes: fixture.bytes });
  const foreign = vm.runInContext("new WebAssembly.Module(bytes)", context);
  assert.ok(!(foreign instanceof WebAssembly.Module));
  const instance = await WebAssembly.instantiate(foreign, hostImports());
  assert.equal(Wasabi.module.instance, instance);
  const sync = new WebAssembly.Instance(foreign, hostImports());
  assert.equal(Wasabi.module.instance, sync);
});

test("instantiateStreaming takes a Response or a promise of one", async () => {
  const response = () => new Response(fixture.bytes, { headers: { "content-type": "application/wasm" } });
  for (const source of [response(), Promise.resolve(response())]) {
    const { module, instance } = await WebAssembly.instantiateStreaming(source, hostImports());
    assert.ok(module instanceof WebAssembly.Module);
    checkInstance(instance, Wasabi.module);
  }
});

test("the caller's import object is used as is, never mutated", async () => {
  const imports = hostImports();
  Object.freeze(imports);
  await WebAssembly.instantiate(fixture.bytes, imports);
  assert.deepEqual(Object.keys(imports), ["env"]);

  // Getters and proxies see the usual lookups.
  let reads = 0;
  const proxied = new Proxy(hostImports(), { get(t, k, recv) { reads++; return Reflect.get(t, k, recv); } });
  const { instance } = await WebAssembly.instantiate(fixture.bytes, proxied);
  assert.equal(instance.exports.callind(0, 4), 40);
  assert.ok(reads >= 1);
});

test("modules without the wasabi section pass through untouched", async () => {
  const bytes = await plainModule();
  const count = Wasabi.modules.length;
  const current = Wasabi.module;
  const receivers = new Set();
  const target = hostImports();
  const imports = new Proxy(target, { get(t, k, recv) { receivers.add(recv); return Reflect.get(t, k, recv); } });

  const { instance } = await WebAssembly.instantiate(bytes, imports);
  assert.equal(instance.exports.run(1), 20);
  const fromModule = await WebAssembly.instantiate(new WebAssembly.Module(bytes), imports);
  assert.equal(fromModule.exports.run(2), 30);
  const sync = new WebAssembly.Instance(new WebAssembly.Module(bytes), imports);
  assert.equal(sync.exports.run(3), 40);
  const streamed = await WebAssembly.instantiateStreaming(
    new Response(bytes, { headers: { "content-type": "application/wasm" } }), imports);
  assert.equal(streamed.instance.exports.run(4), 50);

  assert.deepEqual([...receivers], [imports], "the engine read the caller's own object");
  assert.equal(Wasabi.modules.length, count);
  assert.equal(Wasabi.module, current);
});

test("engine errors stay the engine's", async () => {
  await assert.rejects(WebAssembly.instantiate(new Uint8Array([0, 1, 2])), WebAssembly.CompileError);
  await assert.rejects(WebAssembly.instantiate(42), TypeError);
  await assert.rejects(WebAssembly.instantiate(fixture.bytes, 5), TypeError);
  await assert.rejects(WebAssembly.instantiate(fixture.bytes, null), TypeError);
  const before = Wasabi.module;
  await assert.rejects(WebAssembly.instantiate(fixture.bytes, {}), (e) => e instanceof WebAssembly.LinkError || e instanceof TypeError);
  assert.throws(() => new WebAssembly.Instance(new WebAssembly.Module(fixture.bytes), { env: {} }), WebAssembly.LinkError);
  assert.equal(Wasabi.module, before, "a failed instantiation does not become Wasabi.module");
});

test("a caller that links __wasabi_hooks itself is left alone", async () => {
  const calls = [];
  const own = new Proxy({}, { get: (_, name) => (...args) => calls.push(name) });
  const count = Wasabi.modules.length;
  const { instance } = await WebAssembly.instantiate(fixture.bytes, { ...hostImports(), __wasabi_hooks: own });
  assert.equal(instance.exports.add(1, 1), 2);
  assert.ok(calls.includes("i32.add") && calls.includes("start"));
  assert.equal(Wasabi.modules.length, count);
});

test("an instrumented module whose .wasabi.js was not loaded is a LinkError", async () => {
  const other = await instrumentedModule("unregistered");
  const before = Wasabi.module;
  await assert.rejects(WebAssembly.instantiate(other.bytes, hostImports()), (e) =>
    e instanceof WebAssembly.LinkError && /unregistered/.test(e.message) && /wasabi\.js/.test(e.message));
  assert.throws(() => new WebAssembly.Instance(new WebAssembly.Module(other.bytes), hostImports()), WebAssembly.LinkError);
  assert.equal(Wasabi.module, before);

  // resolveEntry may supply it late (the preload does, for modules compiled elsewhere).
  Wasabi.resolveEntry = (id) => {
    vm.runInThisContext(other.js);
    return Wasabi.entries.get(id);
  };
  try {
    const { instance } = await WebAssembly.instantiate(other.bytes, hostImports());
    assert.equal(Wasabi.module.id, "unregistered");
    checkInstance(instance, Wasabi.module);
  } finally {
    Wasabi.resolveEntry = undefined;
  }
});

test("missing hooks default to no-ops, also when the analysis is replaced later", async () => {
  Wasabi.analysis = {};
  const { instance } = await WebAssembly.instantiate(fixture.bytes, hostImports());
  assert.equal(instance.exports.add(1, 2), 3);
  assert.equal(instance.exports.bt(0), 100);
  assert.equal(instance.exports.vec(), -1);

  const seen = [];
  Wasabi.analysis = { binary: (loc, op) => seen.push(op) };
  assert.equal(instance.exports.add(1, 2), 3);
  assert.equal(instance.exports.bt(5), 101);
  assert.deepEqual(seen, ["i32.add"]);
  assert.deepEqual(Object.keys(Wasabi.analysis), ["binary"], "defaults are not enumerable");

  // A frozen analysis cannot take defaults; its hooks still run.
  const frozen = Object.freeze({ binary: (loc, op) => seen.push("frozen " + op) });
  Wasabi.analysis = frozen;
  assert.equal(instance.exports.add(1, 2), 3);
  assert.equal(instance.exports.bt(5), 101);
  assert.equal(seen.at(-1), "frozen i32.add");

  // A class instance: hooks on the prototype count, `this` is the instance.
  class Counter { constructor() { this.n = 0; } binary() { this.n++; } }
  const counter = new Counter();
  Wasabi.analysis = counter;
  assert.equal(Wasabi.analysis, counter);
  instance.exports.add(1, 2);
  assert.equal(counter.n, 1);

  Wasabi.analysis = undefined;
  assert.equal(typeof Wasabi.analysis.end, "function");
  assert.throws(() => { Wasabi.analysis = 3; }, TypeError);
});

test("resolveFunction maps function references to original indices, per instance", async () => {
  const r = recorder();
  Wasabi.analysis = r.analysis;
  const a = await WebAssembly.instantiate(fixture.bytes, hostImports());
  const ctxA = Wasabi.module;
  // During the start function the exports (and so the table) do not exist yet.
  assert.deepEqual(r.of("call_pre"), [["call_pre", { func: 2, instr: 2 }, undefined, [7], 0, 0]]);
  assert.equal(a.instance.exports.startResult.value, 70);

  assert.equal(a.instance.exports.callind(0, 3), 30);
  assert.equal(a.instance.exports.callind(1, 0), 100);
  assert.deepEqual(r.of("call_pre").slice(1).map((e) => [e[2], e[3], e[4], e[5]]), [[0, [3], 0, 0], [3, [0], 1, 0]]);

  const ex = a.instance.exports;
  assert.equal(ctxA.resolveFunction(ex.add), 1);
  assert.equal(ctxA.resolveFunction(ex.vec), 4);
  assert.equal(ctxA.resolveFunction(ex.table.get(1)), 3);
  assert.equal(ctxA.resolveFunction(null), undefined);
  assert.equal(ctxA.resolveFunction(undefined), undefined);
  assert.equal(ctxA.resolveFunction(() => 1), undefined);

  const b = await WebAssembly.instantiate(fixture.bytes, hostImports());
  const ctxB = Wasabi.module;
  assert.notEqual(ctxA, ctxB);
  assert.equal(ctxB.resolveFunction(b.instance.exports.add), 1);
  assert.equal(ctxA.resolveFunction(b.instance.exports.add), undefined, "another instance's function");
});

test("v128 lanes become 16 bytes in memory order; i64 arrive as BigInt", async () => {
  assert.deepEqual([...Wasabi.v128(0x04030201, 0x08070605, -1, 0x7f)],
    [1, 2, 3, 4, 5, 6, 7, 8, 255, 255, 255, 255, 0x7f, 0, 0, 0]);
  assert.deepEqual([...Wasabi.v128(-2147483648, 0, 0, 0x12345678)].slice(0, 4), [0, 0, 0, 0x80]);
  const r = recorder();
  Wasabi.analysis = r.analysis;
  const { instance } = await WebAssembly.instantiate(fixture.bytes, hostImports());
  assert.equal(instance.exports.vec(), -1);
  const [[, loc, op, v], [, , op64, v64]] = r.of("const_");
  assert.deepEqual(loc, { func: 4, instr: 0 });
  assert.equal(op, "v128.const");
  assert.ok(v instanceof Uint8Array && v.length === 16);
  assert.deepEqual([...v], [1, 2, 3, 4, 5, 6, 7, 8, 255, 255, 255, 255, 0x7f, 0, 0, 0]);
  assert.equal(op64, "i64.const");
  assert.equal(v64, -9007199254740993n);
});

test("br_table reports the table and ends the blocks its target leaves", async () => {
  const r = recorder();
  Wasabi.analysis = r.analysis;
  const { instance } = await WebAssembly.instantiate(fixture.bytes, hostImports());
  const ends = (idx, expected) => {
    r.events.length = 0;
    assert.equal(instance.exports.bt(idx), expected);
    const [[, loc, table, def, tableIdx]] = r.of("br_table");
    assert.deepEqual(loc, { func: 3, instr: 3 });
    assert.equal(table, Wasabi.module.info.brTables[0].table);
    assert.equal(def, Wasabi.module.info.brTables[0].default);
    assert.equal(tableIdx, idx);
    return r.of("end").map((e) => e.slice(1));
  };
  const f = 3;
  assert.deepEqual(ends(0, 100), [[{ func: f, instr: 6 }, "block", { func: f, instr: 1 }, undefined]]);
  const toDefault = [
    [{ func: f, instr: 6 }, "block", { func: f, instr: 1 }, undefined],
    [{ func: f, instr: 8 }, "else", { func: f, instr: 0 }, { func: f, instr: 4 }]];
  assert.deepEqual(ends(1, 101), toDefault, "target 1 leaves the same blocks as the default");
  assert.deepEqual(ends(2, 101), toDefault);
  assert.deepEqual(ends(-1, 101), toDefault, "indices are unsigned");
  assert.deepEqual(ends(0x7fffffff, 101), toDefault);
});

test("evaluating the runtime again keeps the global, the patches, the analysis and the registry", async () => {
  const W = Wasabi;
  const patched = [WebAssembly.instantiate, WebAssembly.Instance, WebAssembly.instantiateStreaming];
  const analysis = { binary() {} };
  W.analysis = analysis;
  W.analysisResult = { kept: true };
  const second = await instrumentedModule("5ec0");
  vm.runInThisContext(second.js, { filename: "second.wasabi.js" });
  vm.runInThisContext(runtimeText, { filename: "runtime.js" });
  assert.equal(globalThis.Wasabi, W);
  assert.deepEqual([WebAssembly.instantiate, WebAssembly.Instance, WebAssembly.instantiateStreaming], patched);
  assert.equal(W.analysis, analysis);
  assert.deepEqual(W.analysisResult, { kept: true });
  assert.ok(W.entries.has("7e57") && W.entries.has("5ec0"));
  await WebAssembly.instantiate(second.bytes, hostImports());
  assert.equal(W.module.id, "5ec0");
  await WebAssembly.instantiate(fixture.bytes, hostImports());
  assert.equal(W.module.id, "7e57");
});

test("the generated file works as classic scripts loaded one after another (browser-like realm)", async () => {
  // A bare context: no TextDecoder, no require, no module; just the JS and WebAssembly builtins.
  const context = vm.createContext({});
  const second = await instrumentedModule("5ec0");
  vm.runInContext(fixture.js, context);
  vm.runInContext(second.js, context);
  vm.runInContext("var seen = []; Wasabi.analysis = { binary(loc, op, a, b, r) { seen.push(r); } };", context);
  context.bytes = second.bytes;
  await vm.runInContext(`WebAssembly.instantiate(bytes, { env: { host: (x) => x } })
    .then(({ instance }) => { instance.exports.add(20, 22); })`, context);
  assert.equal(vm.runInContext("JSON.stringify(seen)", context), "[42]");
  assert.equal(vm.runInContext("Wasabi.module.id + ' ' + Wasabi.entries.size", context), "5ec0 2");
});

test("an analysis set before the runtime loaded is adopted", () => {
  const context = vm.createContext({});
  vm.runInContext("globalThis.Wasabi = { analysis: { binary() { return 'mine'; } }, analysisResult: 7 };", context);
  vm.runInContext(fixture.js, context);
  assert.equal(vm.runInContext("Wasabi.analysis.binary()", context), "mine");
  assert.equal(vm.runInContext("typeof Wasabi.analysis.end + Wasabi.analysisResult", context), "function7");
  assert.equal(vm.runInContext("typeof Wasabi.register", context), "function");
});

test("--node output is a CommonJS module exporting the global Wasabi", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasabi-cjs-"));
  try {
    fs.writeFileSync(path.join(dir, "app.wasabi.js"), fixture.nodeJs);
    fs.writeFileSync(path.join(dir, "app.wasm"), fixture.bytes);
    const script = `
      const Wasabi = require('./app.wasabi.js');
      if (Wasabi !== globalThis.Wasabi) throw new Error('not the global');
      if (require('./app.wasabi.js') !== Wasabi) throw new Error('not cached');
      const seen = [];
      Wasabi.analysis = { binary(loc, op, a, b, r) { seen.push([loc.func, op, r]); } };
      const bytes = require('fs').readFileSync(__dirname + '/app.wasm');
      const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { host: (x) => x } });
      instance.exports.add(40, 2);
      console.log(JSON.stringify(seen));`;
    fs.writeFileSync(path.join(dir, "main.js"), script);
    const out = execFileSync(process.execPath, [path.join(dir, "main.js")], { encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), [[1, "i32.add", 42]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the runtime file itself is plain script text (no module syntax)", () => {
  const text = fs.readFileSync(runtimePath, "utf8");
  assert.doesNotThrow(() => new vm.Script(text));
  assert.doesNotMatch(text, /^\s*(import|export)\s/m);
});
