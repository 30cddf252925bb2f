// preload.cjs in real node processes, with a stand-in instrumenter (lib/fake-wasabi.js) so that
// it runs without the Rust build; e2e.test.js repeats the essentials with the real wasabi.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { instrumentedModule, plainModule, runtimePath, preloadPath } = require("./lib/fixture");
const { wat } = require("./lib/wat");

let tmp;
let fakeBin;
let plainWasm;
test.before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wasabi-preload-"));
  fakeBin = path.join(tmp, "wasabi");
  // NODE_OPTIONS is cleared: the real wasabi is no node process that would load the preload.
  fs.writeFileSync(fakeBin, `#!/bin/sh\nNODE_OPTIONS= exec "${process.execPath}" "${path.join(__dirname, "lib", "fake-wasabi.js")}" "$@"\n`);
  fs.chmodSync(fakeBin, 0o755);
  plainWasm = path.join(tmp, "plain.wasm");
  fs.writeFileSync(plainWasm, await plainModule());
});
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let runs = 0;
/** Runs `source` (an ES module unless name ends in .cjs) under the preload; fresh cache and log. */
function run(source, { name = "app.mjs", env = {}, files = {} } = {}) {
  const dir = path.join(tmp, `run${runs++}`);
  fs.mkdirSync(dir);
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  fs.writeFileSync(path.join(dir, name), source);
  const log = path.join(dir, "wasabi.log");
  const result = path.join(dir, "result.json");
  const p = spawnSync(process.execPath, [path.join(dir, name)], {
    cwd: dir,
    encoding: "utf8",
    env: {
      ...process.env,
      NODE_OPTIONS: `--require ${preloadPath}`,
      WASABI_BIN: fakeBin,
      WASABI_RUNTIME: runtimePath,
      WASABI_CACHE: path.join(dir, "cache"),
      WASABI_RESULT: result,
      FAKE_WASABI_LOG: log,
      APP_WASM: plainWasm,
      ...env,
    },
  });
  const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
  return {
    ...p,
    dir,
    json: () => JSON.parse(p.stdout.trim().split("\n").at(-1)),
    instrumenterCalls: lines(log),
    result: fs.existsSync(result) ? JSON.parse(fs.readFileSync(result, "utf8")) : undefined,
  };
}

function ok(p) {
  assert.equal(p.status, 0, `exit ${p.status}\nstdout:\n${p.stdout}\nstderr:\n${p.stderr}`);
  return p;
}

test("every compile and instantiate path gets instrumented bytes, instrumented once", () => {
  const p = ok(run(`
    import fs from "node:fs";
    const bytes = fs.readFileSync(process.env.APP_WASM);
    const imports = { env: { host: (x) => x * 10 } };
    const out = [];
    const inner = new Uint8Array(bytes.length + 7);
    inner.set(bytes, 3);
    const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const response = () => new Response(bytes, { headers: { "content-type": "application/wasm" } });

    const m = new WebAssembly.Module(bytes);
    out.push(new WebAssembly.Instance(m, imports).exports.run(1));
    out.push((await WebAssembly.instantiate(await WebAssembly.compile(arrayBuffer), imports)).exports.run(2));
    out.push((await WebAssembly.instantiate(arrayBuffer, imports)).instance.exports.run(3));
    out.push((await WebAssembly.instantiate(inner.subarray(3, 3 + bytes.length), imports)).instance.exports.run(4));
    out.push((await WebAssembly.instantiate(new DataView(inner.buffer, 3, bytes.length), imports)).instance.exports.run(5));
    out.push((await WebAssembly.instantiate(bytes, imports)).instance.exports.run(6));
    out.push((await WebAssembly.instantiate(m, imports)).exports.run(7));
    out.push((await WebAssembly.instantiate(await WebAssembly.compileStreaming(response()), imports)).exports.run(8));
    out.push((await WebAssembly.instantiateStreaming(Promise.resolve(response()), imports)).instance.exports.run(9));

    console.log(JSON.stringify({
      out,
      ids: Wasabi.modules.map((c) => c.id),
      instanceofModule: m instanceof WebAssembly.Module && m.constructor === WebAssembly.Module,
      sections: WebAssembly.Module.customSections(m, "wasabi").length,
      imports: WebAssembly.Module.imports(m),
      validate: WebAssembly.validate(bytes),
    }));
  `));
  const r = p.json();
  assert.deepEqual(r.out, [20, 30, 40, 50, 60, 70, 80, 90, 100]);
  assert.equal(r.ids.length, 9);
  assert.equal(new Set(r.ids).size, 1);
  assert.equal(r.instanceofModule, true);
  assert.equal(r.sections, 1);
  assert.deepEqual(r.imports, [{ module: "env", name: "host", kind: "function" }]);
  assert.equal(r.validate, true);
  assert.deepEqual(p.instrumenterCalls, ["hooks="], "one wasabi run for one distinct module");
});

test("the analysis is loaded as a script before the program, and its result is written as JSON", () => {
  const analysis = `
    Wasabi.analysis = { marker: "set by analysis" };
    Wasabi.analysisResult = {
      loadedFrom: __filename.endsWith("analysis.js"),
      big: 2n ** 64n + 1n, map: new Map([["a", 1n]]), set: new Set([1, 2]), bytes: new Uint8Array([7, 8]),
    };`;
  const p = ok(run(`
    import fs from "node:fs";
    Wasabi.analysisResult.marker = Wasabi.analysis.marker;
    await WebAssembly.instantiate(fs.readFileSync(process.env.APP_WASM), { env: { host: (x) => x } });
    console.log("{}");
  `, {
    // A "type": "module" package must not turn the analysis script into an ES module.
    files: { "package.json": '{"type": "module"}', "analysis.js": analysis },
    env: { WASABI_ANALYSIS: "analysis.js" },
  }));
  assert.deepEqual(p.result, {
    loadedFrom: true, big: "18446744073709551617", map: { a: "1" }, set: [1, 2], bytes: [7, 8], marker: "set by analysis",
  });
});

test("upstream-style analysisResult functions are called at exit", () => {
  const p = ok(run(`
    Wasabi.analysisResult = () => ({ n: Wasabi.modules.length });
    new WebAssembly.Instance(new WebAssembly.Module(require("fs").readFileSync(process.env.APP_WASM)), { env: { host: (x) => x } });
  `, { name: "app.cjs" }));
  assert.deepEqual(p.result, { n: 1 });
});

test("the result is written even if the program cleared its environment (as esbuild does)", () => {
  const p = ok(run(`
    const m = new WebAssembly.Module(require("fs").readFileSync(process.env.APP_WASM));
    new WebAssembly.Instance(m, { env: { host: (x) => x } });
    Wasabi.analysisResult = { cleared: true };
    for (const key of Object.keys(process.env)) delete process.env[key];
  `, { name: "app.cjs" }));
  assert.deepEqual(p.result, { cleared: true });
});

test("a process that instantiated no instrumented module writes no result", () => {
  const p = ok(run(`Wasabi.analysisResult = { x: 1 }; console.log("{}");`));
  assert.equal(p.result, undefined);
});

test("--hooks reaches wasabi, and the cache is shared with child processes", () => {
  const p = ok(run(`
    import fs from "node:fs";
    import { execFileSync } from "node:child_process";
    const bytes = fs.readFileSync(process.env.APP_WASM);
    await WebAssembly.instantiate(bytes, { env: { host: (x) => x } });
    const child = execFileSync(process.execPath, ["child.cjs"], { encoding: "utf8" });
    Wasabi.analysisResult = { parent: Wasabi.modules.length, child: JSON.parse(child) };
    console.log("{}");
  `, {
    env: { WASABI_HOOKS: "call,binary" },
    files: {
      "child.cjs": `
        const { instance } = new WebAssembly.Instance(new WebAssembly.Module(require("fs").readFileSync(process.env.APP_WASM)), { env: { host: (x) => x } });
        Wasabi.analysisResult = "child";
        console.log(JSON.stringify({ modules: Wasabi.modules.length, hooks: Wasabi.module.info.hooks }));`,
    },
  }));
  assert.deepEqual(p.instrumenterCalls, ["hooks=call,binary"]);
  assert.deepEqual(p.result, { parent: 1, child: { modules: 1, hooks: "call,binary" } },
    "the parent exits last and its result is the file's");
});

test("wasabi's errors surface as Errors with its stderr; invalid bytes stay CompileErrors", async () => {
  const failing = path.join(tmp, "failing.wasm");
  fs.writeFileSync(failing, await wat(`(module (@custom "fail-me" "") (func (export "f")))`));
  const p = ok(run(`
    import fs from "node:fs";
    const bad = fs.readFileSync(process.env.FAILING);
    const invalid = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60]);
    const show = (e) => [e.constructor.name, e.message];
    const out = {};
    try { new WebAssembly.Module(bad); } catch (e) { out.sync = show(e); }
    const pending = WebAssembly.instantiate(bad);
    out.async = await pending.then(() => "resolved", show);
    out.compile = await WebAssembly.compile(bad).then(() => "resolved", show);
    try { new WebAssembly.Module(invalid); } catch (e) { out.invalid = show(e); }
    out.invalidAsync = await WebAssembly.instantiate(invalid).then(() => "resolved", show);
    console.log(JSON.stringify(out));
  `, { env: { FAILING: failing } }));
  const r = p.json();
  for (const key of ["sync", "async", "compile"]) {
    assert.equal(r[key][0], "Error", key);
    assert.match(r[key][1], /wasabi failed to instrument .*exit 1.*\n.*unsupported feature exceptions at offset 10/s, key);
  }
  assert.equal(r.invalid[0], "CompileError");
  assert.equal(r.invalidAsync[0], "CompileError");
});

test("a missing wasabi executable is reported", () => {
  const p = run(`new WebAssembly.Module(require("fs").readFileSync(process.env.APP_WASM));`, {
    name: "app.cjs", env: { WASABI_BIN: path.join(tmp, "no-such-wasabi") },
  });
  assert.notEqual(p.status, 0);
  assert.match(p.stderr, /no-such-wasabi/);
});

test("already instrumented modules are used as they are, with their hooks", async () => {
  const fixture = await instrumentedModule("feed");
  const p = ok(run(`
    const fs = require("fs");
    require("./fixture.wasabi.js");
    const seen = [];
    Wasabi.analysis = { binary: (loc, op, a, b, r) => seen.push(r) };
    const m = new WebAssembly.Module(fs.readFileSync("fixture.wasm"));
    const instance = new WebAssembly.Instance(m, { env: { host: (x) => x } });
    instance.exports.add(2, 40);
    console.log(JSON.stringify({ seen, imports: WebAssembly.Module.imports(m), exports: WebAssembly.Module.exports(m).map((e) => e.name) }));
  `, { name: "app.cjs", files: { "fixture.wasabi.js": fixture.nodeJs, "fixture.wasm": fixture.bytes } }));
  const r = p.json();
  assert.deepEqual(r.seen, [42]);
  assert.deepEqual(p.instrumenterCalls, []);
  assert.deepEqual(r.imports, [{ module: "env", name: "host", kind: "function" }], "hook imports hidden");
  assert.deepEqual(r.exports, ["table", "startResult", "add", "callind", "bt", "vec"], "__wasabi_functions hidden");
});

test("node's own Wasm (undici's HTTP parser behind fetch) is not instrumented", () => {
  const p = ok(run(`
    await fetch("http://127.0.0.1:9/").catch(() => {});
    console.log(JSON.stringify({ modules: Wasabi.modules.length }));
  `));
  assert.deepEqual(p.json(), { modules: 0 });
  assert.deepEqual(p.instrumenterCalls, []);
});

test("worker threads get the preload; modules sent to them find their entry", () => {
  const p = ok(run(`
    import fs from "node:fs";
    import { Worker } from "node:worker_threads";
    const module = new WebAssembly.Module(fs.readFileSync(process.env.APP_WASM));
    const worker = new Worker(new URL("./worker.cjs", import.meta.url), { workerData: module });
    const reply = await new Promise((resolve, reject) => { worker.on("message", resolve); worker.on("error", reject); });
    console.log(JSON.stringify({ mainId: WebAssembly.Module.customSections(module, "wasabi").length, reply }));
  `, {
    files: {
      "worker.cjs": `
        const { workerData, parentPort } = require("node:worker_threads");
        const fs = require("node:fs");
        const before = Wasabi.entries.size;
        const a = new WebAssembly.Instance(workerData, { env: { host: (x) => x + 1 } }).exports.run(1);
        const b = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(process.env.APP_WASM)), { env: { host: (x) => x + 1 } }).exports.run(2);
        parentPort.postMessage({ before, a, b, ids: new Set(Wasabi.modules.map((c) => c.id)).size, n: Wasabi.modules.length });`,
    },
  }));
  assert.deepEqual(p.json(), { mainId: 1, reply: { before: 0, a: 3, b: 4, ids: 1, n: 2 } });
  assert.deepEqual(p.instrumenterCalls, ["hooks="]);
});
