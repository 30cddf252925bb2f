
// ---- spec-tests node harness: original (world 0) vs instrumented (world 1) ----
"use strict";
const harnessFs = require("fs");
const harnessPath = require("path");
const adapters = {};
const failures = [];
let steps = 0;
const hookCalls = Object.create(null);
const badCalls = [];

// The checking analysis: every hook's location and arguments must be well-formed.
function bad(hook, what) {
  if (badCalls.length < 20) badCalls.push(`${hook}: ${what}`);
}
function checkArgument(hook, value, depth) {
  if (value instanceof Uint8Array) {
    if (value.length !== 16) bad(hook, `v128 of ${value.length} bytes`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((v) => checkArgument(hook, v, depth + 1));
  const type = typeof value;
  if (type === "object" && value !== null && depth === 0 && "addr" in value) {
    if (!(Number.isInteger(value.addr) && value.addr >= 0 && Number.isInteger(value.offset) && value.offset >= 0))
      bad(hook, `memarg ${JSON.stringify(value)}`);
  }
}
const checkers = Object.create(null);
function checker(hook) {
  return (checkers[hook] ||= (location, ...args) => {
    hookCalls[hook] = (hookCalls[hook] || 0) + 1;
    if (!location || !Number.isInteger(location.func) || location.func < 0 || !Number.isInteger(location.instr) || location.instr < -1)
      bad(hook, `location ${JSON.stringify(location)}`);
    if (hook === "const_") {
      const [op, value] = args;
      const expected = op === "i64.const" ? "bigint" : op === "v128.const" ? "object" : "number";
      if (typeof value !== expected) bad(hook, `${op} gave a ${typeof value}`);
    }
    if ((hook === "call_pre" || hook === "call_post" || hook === "return_") && !Array.isArray(args[hook === "call_pre" ? 1 : 0]))
      bad(hook, "values are not an array");
    for (const arg of args) checkArgument(hook, arg, 0);
  });
}
Wasabi.analysis = new Proxy({}, { get: (_, name) => (typeof name === "string" ? checker(name) : undefined) });

function spectest() {
  const noop = () => {};
  return {
    print: noop, print_i32: noop, print_i64: noop, print_f32: noop, print_f64: noop, print_i32_f32: noop, print_f64_f64: noop,
    global_i32: new WebAssembly.Global({ value: "i32" }, 666),
    global_i64: new WebAssembly.Global({ value: "i64" }, 666n),
    global_f32: new WebAssembly.Global({ value: "f32" }, 666.6),
    global_f64: new WebAssembly.Global({ value: "f64" }, 666.6),
    table: new WebAssembly.Table({ element: "anyfunc", initial: 10, maximum: 20 }),
    memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
  };
}
function makeWorld(instrumented) {
  return { instrumented, registry: { spectest: spectest() }, named: {}, current: undefined, files: new Map(), adapters: new Map() };
}
const worlds = [makeWorld(false), makeWorld(true)];

function compile(w, file) {
  const name = file + (w.instrumented ? ".instrumented.wasm" : ".wasm");
  return new WebAssembly.Module(harnessFs.readFileSync(harnessPath.join(__dirname, name)));
}
function importsFor(w, module) {
  const result = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module === "__wasabi_hooks") continue; // the runtime adds these
    const source = w.registry[imp.module];
    if (source === undefined || !(imp.name in source)) continue; // unlinkable: instantiation fails
    (result[imp.module] ||= {})[imp.name] = source[imp.name];
  }
  return result;
}
function instantiate(w, file) {
  const module = compile(w, file);
  const instance = new WebAssembly.Instance(module, importsFor(w, module));
  w.files.set(instance, file);
  return instance;
}
function instance(w, id) {
  const found = id === undefined ? w.current : w.named[id];
  if (found === undefined) throw new Error(`no module ${id === undefined ? "(current)" : id}`);
  return found;
}
function define(file, id) {
  const outcomes = worlds.map((w) => outcome(() => {
    const created = instantiate(w, file);
    w.current = created;
    if (id !== undefined) w.named[id] = created;
    return undefined;
  }));
  for (const o of outcomes) if (o.kind !== "return") throw new Error(`module ${file}: ${o.detail}`);
}
function register(name, id) {
  for (const w of worlds) w.registry[name] = instance(w, id).exports;
}

class V128 {
  constructor(lanes) { this.lanes = lanes; }
}
const v128 = (lanes) => new V128(lanes);
const f32 = (bits) => { const view = new DataView(new ArrayBuffer(4)); view.setUint32(0, bits >>> 0, true); return view.getFloat32(0, true); };
const f64 = (bits) => { const view = new DataView(new ArrayBuffer(8)); view.setBigUint64(0, bits, true); return view.getFloat64(0, true); };
const externs = new Map();
const ext = (n) => { if (!externs.has(n)) externs.set(n, { extern: n }); return externs.get(n); };

function invoke(w, id, name, args) {
  const target = instance(w, id);
  const file = w.files.get(target);
  const adapter = adapters[file] && adapters[file][name];
  if (adapter === undefined) return target.exports[name](...args);
  const key = `${file}/${name}`;
  let adapted = w.adapters.get(target)?.[key];
  if (adapted === undefined) {
    const bytes = harnessFs.readFileSync(harnessPath.join(__dirname, `${file}.a${adapter}.adapter.wasm`));
    adapted = new WebAssembly.Instance(new WebAssembly.Module(bytes), { m: { f: target.exports[name] } }).exports.f;
    w.adapters.set(target, { ...(w.adapters.get(target) || {}), [key]: adapted });
  }
  return adapted(...args.flatMap((arg) => (arg instanceof V128 ? arg.lanes : [arg])));
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "funcref";
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object" && "extern" in value) return `extern ${value.extern}`;
  return typeof value;
}
function outcome(run) {
  try {
    return { kind: "return", detail: canonical(run()) };
  } catch (error) {
    const trap = error instanceof WebAssembly.RuntimeError || error instanceof RangeError;
    return { kind: trap ? "trap" : "fail", detail: `${error.constructor.name}: ${error.message}` };
  }
}
/// Runs a command in both worlds; same outcome kind, same value, and the expected kind.
function same(run, expect) {
  const [original, instrumented] = worlds.map((w) => outcome(() => run(w)));
  if (original.kind !== instrumented.kind || (original.kind === "return" && original.detail !== instrumented.detail))
    throw new Error(`original ${original.kind} ${original.detail}, instrumented ${instrumented.kind} ${instrumented.detail}`);
  if (expect === "fail" ? original.kind === "return" : expect !== undefined && original.kind !== expect)
    throw new Error(`expected ${expect}, both gave ${original.kind} ${original.detail}`);
}
function step(line, run) {
  steps++;
  try {
    run();
  } catch (error) {
    failures.push(`line ${line}: ${error.message}`);
  }
}
function finish() {
  const calls = Object.values(hookCalls).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ steps, failures, hookCalls: calls, hooks: Object.keys(hookCalls).length, badCalls }));
}
