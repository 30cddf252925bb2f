/*
 * Node preload for `wasabi run`: instruments every WebAssembly module a node program compiles,
 * on the fly, and runs an analysis on it. Started as NODE_OPTIONS="--require preload.cjs", so
 * child processes and worker threads get it too. Configured by the environment:
 *   WASABI_BIN       the wasabi executable (required once a module needs instrumenting)
 *   WASABI_BIN_ARGS  arguments before wasabi's own, space-separated (e.g. `instrument` when
 *                    WASABI_BIN is `r3`)
 *   WASABI_RUNTIME   runtime.js to evaluate (default: the one next to this file)
 *   WASABI_ANALYSIS  analysis script to load after the runtime (optional)
 *   WASABI_HOOKS     value for wasabi's --hooks= (optional); "r3" selects R3 recording
 *   WASABI_RESULT    file that gets JSON of Wasabi.analysisResult at exit (optional)
 *   WASABI_CACHE     directory for instrumented modules, shared by the processes of one run
 *
 * Layering: runtime.js patches instantiation (linking hooks to instrumented modules); this file
 * patches compilation on top of it, replacing uninstrumented bytes by instrumented ones.
 *
 * R3 mode (WASABI_HOOKS=r3): the runtime is the recorder (recorder.js, global R3), which also
 * writes the traces at exit. This file additionally tells the recorder the original bytes and
 * file name of every module it instrumented, for naming the traces and keeping the module.
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const vm = require("node:vm");
const crypto = require("node:crypto");
const url = require("node:url");
const { execFileSync } = require("node:child_process");
const { createRequire } = require("node:module");
const { isAnyArrayBuffer } = require("node:util").types;
const { isMainThread } = require("node:worker_threads");

const PRELOADED = Symbol.for("wasabi.preload");
// The preload's own reads of module bytes: R3 mode patches fs.readFileSync to learn the names
// of the program's module files (trackFileReads), which must not include the cache's.
const readBytes = fs.readFileSync;

function main() {
  // A copy: programs may clear process.env (esbuild's Go runtime does) before the exit handler.
  const env = { ...process.env };
  const r3 = env.WASABI_HOOKS === "r3";
  const runtimePath = env.WASABI_RUNTIME || path.join(__dirname, r3 ? "recorder.js" : "runtime.js");
  vm.runInThisContext(fs.readFileSync(runtimePath, "utf8"), { filename: runtimePath });
  const Wasabi = r3 ? globalThis.R3 : globalThis.Wasabi;
  const runtime = Wasabi[Symbol.for("wasabi.runtime")];
  const { native } = runtime;
  // The recorder rewords the CompileError of engines without multi-memory; runtime.js has no need.
  const explain = runtime.explainCompileError || ((e) => e);
  // The runtime's patched instantiate, which links hooks to instrumented modules.
  const linking = { instantiate: WebAssembly.instantiate };

  if (env.WASABI_ANALYSIS) loadScript(path.resolve(env.WASABI_ANALYSIS));

  const instrumenter = new Instrumenter({
    bin: env.WASABI_BIN,
    binArgs: (env.WASABI_BIN_ARGS || "").split(" ").filter(Boolean),
    hooks: env.WASABI_HOOKS || "",
    cacheDir: env.WASABI_CACHE,
  });
  // A module compiled elsewhere (e.g. sent to this worker) may carry an id not loaded here.
  // The recorder needs no registration: r3 modules carry their metadata.
  if (!r3) Wasabi.resolveEntry = (id) => instrumenter.entryFor(id);
  const sourceName = r3 ? trackFileReads() : undefined;

  // Undici (fetch) compiles its HTTP parser from Wasm: that is node's, not the program's.
  function fromNodeInternals(patchedFunction) {
    const limit = Error.stackTraceLimit;
    const holder = {};
    Error.stackTraceLimit = 1;
    Error.captureStackTrace(holder, patchedFunction);
    Error.stackTraceLimit = limit;
    return /\(node:internal\/|at node:internal\//.test(holder.stack);
  }

  // Instrumented bytes for a byte source, or the source itself if it is not bytes (the engine
  // then throws its usual TypeError). `caller` is the patched API function, for the stack check;
  // after an await the caller's frames are gone, and so is the need (undici calls compile).
  function instrumentSource(source, caller) {
    const bytes = isAnyArrayBuffer(source) ? new Uint8Array(source)
      : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
      : undefined;
    if (bytes === undefined || (caller !== undefined && fromNodeInternals(caller))) return source;
    // Hashed once: the cache key and the recorder's module identity both derive from it.
    const sha = crypto.createHash("sha256").update(bytes).digest("hex");
    const instrumented = instrumenter.instrument(bytes, sha);
    if (r3 && instrumented !== bytes) Wasabi.noteOriginal(sha, bytes, sourceName(source, bytes));
    return instrumented;
  }

  async function responseBytes(source) {
    const response = await source;
    if (response === null || typeof response !== "object" || typeof response.arrayBuffer !== "function") {
      throw new TypeError("WebAssembly: the argument must be a Response or a Promise of a Response");
    }
    if (response.ok === false) {
      throw new TypeError(`WebAssembly: the response status ${response.status} is not ok`);
    }
    return response.arrayBuffer();
  }

  function Module(bytes) {
    if (new.target === undefined) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
    const source = instrumentSource(bytes, Module);
    try {
      return Reflect.construct(native.Module, [source], new.target);
    } catch (e) {
      throw explain(e);
    }
  }
  // Sharing the prototype keeps `instanceof WebAssembly.Module` true for every module.
  Module.prototype = native.Module.prototype;
  // The program should see the imports and exports it expects, not the instrumentation's.
  const hiddenImport = r3 ? (i) => i.module === "__r3" : (i) => i.module === "__wasabi_hooks";
  const hiddenExport = r3 ? (e) => e.name.startsWith("__r3_") : (e) => e.name === "__wasabi_functions";
  Module.imports = function imports(module) {
    return native.Module.imports(module).filter((i) => !hiddenImport(i));
  };
  Module.exports = function exports(module) {
    return native.Module.exports(module).filter((e) => !hiddenExport(e));
  };
  Module.customSections = native.customSections;

  const patched = {
    Module,
    compile(source) {
      try {
        return native.compile.call(WebAssembly, instrumentSource(source, patched.compile))
          .catch((e) => { throw explain(e); });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async compileStreaming(source) {
      return native.compile.call(WebAssembly, instrumentSource(await responseBytes(source), undefined))
        .catch((e) => { throw explain(e); });
    },
    instantiate(source, imports) {
      if (source instanceof native.Module) return linking.instantiate(source, imports);
      try {
        return linking.instantiate(instrumentSource(source, patched.instantiate), imports);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async instantiateStreaming(source, imports) {
      return linking.instantiate(instrumentSource(await responseBytes(source), undefined), imports);
    },
  };
  for (const name of Object.keys(patched)) {
    const original = Object.getOwnPropertyDescriptor(WebAssembly, name);
    if (original === undefined) continue;
    const f = patched[name];
    Object.defineProperty(f, "length", { value: original.value.length });
    Object.defineProperty(WebAssembly, name, { ...original, value: f });
  }
  Object.defineProperty(native.Module.prototype, "constructor", {
    value: Module, writable: true, configurable: true, enumerable: false,
  });

  // The recorder writes its traces at exit by itself.
  if (!r3 && env.WASABI_RESULT && isMainThread) {
    process.on("exit", () => writeResult(Wasabi, env.WASABI_RESULT));
  }
}

/**
 * R3 mode: remembers which file the bytes returned by fs reads came from, so that a trace can
 * be named after its module file (best effort: a copy of the bytes is not recognized, except
 * for a .wasm file of the same length). Returns (source, bytes) -> name or undefined.
 */
function trackFileReads() {
  const names = new WeakMap(); // Buffer, or its ArrayBuffer if not shared -> name
  const wasmByLength = new Map(); // byte length of a read .wasm file -> name
  function remember(file, data) {
    if (!ArrayBuffer.isView(data)) return; // read as a string
    const name = fileName(file);
    if (name === undefined) return;
    names.set(data, name);
    // Small Buffers share a pooled ArrayBuffer with unrelated data: only whole ones count.
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) names.set(data.buffer, name);
    if (/\.wasm$/i.test(String(file))) wasmByLength.set(data.byteLength, name);
  }

  const { readFileSync, readFile } = fs;
  fs.readFileSync = function readFileSync_(file, ...rest) {
    const data = readFileSync.call(this, file, ...rest);
    remember(file, data);
    return data;
  };
  fs.readFile = function readFile_(file, ...rest) {
    const callback = rest[rest.length - 1];
    if (typeof callback === "function") {
      rest[rest.length - 1] = function (error, data) {
        if (!error) remember(file, data);
        return Reflect.apply(callback, this, arguments);
      };
    }
    return readFile.call(this, file, ...rest);
  };
  const promisesReadFile = fs.promises.readFile;
  fs.promises.readFile = async function readFile_(file, ...rest) {
    const data = await promisesReadFile.call(this, file, ...rest);
    remember(file, data);
    return data;
  };
  for (const [patched, original] of [[fs.readFileSync, readFileSync], [fs.readFile, readFile],
    [fs.promises.readFile, promisesReadFile]]) {
    Object.defineProperty(patched, "name", { value: original.name });
    Object.defineProperty(patched, "length", { value: original.length });
  }
  // ES modules importing { readFileSync } from "node:fs" see the patched functions too.
  require("node:module").syncBuiltinESMExports();

  return (source, bytes) => {
    const name = names.get(source) ?? (ArrayBuffer.isView(source) ? names.get(source.buffer) : undefined);
    return name ?? wasmByLength.get(bytes.byteLength);
  };
}

/** The file name without directory and extension, for a path, file URL or Buffer; else undefined. */
function fileName(file) {
  try {
    const p = typeof file === "string" ? file
      : file instanceof URL ? url.fileURLToPath(file)
      : Buffer.isBuffer(file) ? file.toString()
      : undefined; // a file descriptor or FileHandle: no name
    return p === undefined ? undefined : path.parse(p).name || undefined;
  } catch {
    return undefined;
  }
}

/** Runs wasabi on module bytes, at most once per distinct input across the processes of a run. */
class Instrumenter {
  constructor({ bin, binArgs, hooks, cacheDir }) {
    this.bin = bin;
    this.binArgs = binArgs;
    this.hooks = hooks;
    this.explicitCache = cacheDir;
    this.cacheDir = undefined;
    this.binVersion = undefined;
    this.byKey = new Map(); // cache key -> instrumented bytes, for this process
    this.loadedScripts = new Set();
  }

  cache() {
    if (this.cacheDir === undefined) {
      this.cacheDir = this.explicitCache
        ? path.resolve(this.explicitCache)
        : fs.mkdtempSync(path.join(os.tmpdir(), "wasabi-cache-"));
      fs.mkdirSync(path.join(this.cacheDir, "ids"), { recursive: true });
    }
    return this.cacheDir;
  }

  // `sha`: sha256 of `bytes`, hex.
  instrument(bytes, sha) {
    if (customSection(bytes, "wasabi") !== undefined) return bytes; // instrumented already
    // A replay's host module stands in for the recorded host: recording it records no program.
    if (this.hooks === "r3" && customSection(bytes, "r3-replay") !== undefined) return bytes;
    if (!this.bin) {
      throw new Error("wasabi: WASABI_BIN is not set, cannot instrument WebAssembly modules");
    }
    // The output also depends on the hooks and on the instrumenter build.
    if (this.binVersion === undefined) {
      try {
        this.binVersion = String(fs.statSync(this.bin).mtimeMs);
      } catch {
        this.binVersion = ""; // not a path but a command name; running it reports what is wrong
      }
    }
    const key = crypto.createHash("sha256").update(sha)
      .update(`\0${this.hooks}\0${this.bin}\0${this.binArgs.join(" ")}\0${this.binVersion}`).digest("hex");
    let out = this.byKey.get(key);
    if (out === undefined) {
      const dir = path.join(this.cache(), key);
      const wasm = path.join(dir, "module.wasm");
      const js = path.join(dir, "module.wasabi.js");
      if (fs.existsSync(js) || this.run(bytes, dir)) {
        out = readBytes(wasm);
        this.load(js);
      } else {
        out = bytes; // invalid: the engine rejects the original bytes with its own CompileError
      }
      this.byKey.set(key, out);
    }
    return out;
  }

  // Writes into a private directory and renames it into place, so that processes
  // instrumenting the same module at once never see half-written files. False for bytes
  // that are no valid module.
  run(bytes, dir) {
    const tmp = fs.mkdtempSync(`${dir}.tmp-`);
    try {
      const input = path.join(tmp, "module.wasm");
      const outDir = path.join(tmp, "out");
      fs.writeFileSync(input, bytes);
      const args = [...this.binArgs, "--node", "-o", outDir, ...(this.hooks ? [`--hooks=${this.hooks}`] : []), input];
      try {
        execFileSync(this.bin, args, { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
      } catch (e) {
        if (!WebAssembly.validate(bytes)) return false;
        const stderr = e.stderr ? e.stderr.toString().trim() : "";
        throw new Error(`wasabi failed to instrument a ${bytes.length}-byte module` +
          ` (${e.code === "ENOENT" ? `${this.bin} not found` : `exit ${e.status}`})` +
          (stderr ? `:\n${stderr}` : ""));
      }
      const id = customSection(readBytes(path.join(outDir, "module.wasm")), "wasabi");
      try {
        fs.renameSync(outDir, dir);
      } catch (e) {
        if (!fs.existsSync(path.join(dir, "module.wasabi.js"))) throw e; // else: another process won
      }
      if (id !== undefined) {
        fs.writeFileSync(path.join(this.cacheDir, "ids", hexName(id)), path.join(dir, "module.wasabi.js"));
      }
      return true;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }

  load(js) {
    if (this.loadedScripts.has(js)) return;
    loadScript(js);
    this.loadedScripts.add(js);
  }

  entryFor(id) {
    let js;
    try {
      js = fs.readFileSync(path.join(this.cache(), "ids", hexName(Buffer.from(id))), "utf8");
    } catch {
      return undefined;
    }
    this.load(js);
    return globalThis.Wasabi.entries.get(id);
  }
}

function hexName(bytes) {
  return Buffer.from(bytes).toString("hex").slice(0, 200);
}

/** Content of the first custom section `name` in module bytes, or undefined. */
function customSection(bytes, name) {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    return undefined;
  }
  const want = Buffer.from(name);
  let pos = 8;
  const leb = () => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = bytes[pos++];
      if (byte === undefined) return -1;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
    }
    return -1;
  };
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = leb();
    if (size < 0) return undefined;
    const end = pos + size;
    if (end > bytes.length) return undefined;
    if (id === 0) {
      const length = leb();
      if (length >= 0 && pos + length <= end && length === want.length &&
          want.every((b, i) => bytes[pos + i] === b)) {
        return bytes.subarray(pos + length, end);
      }
    }
    pos = end;
  }
  return undefined;
}

// Analyses and generated files are scripts in CommonJS style (upstream Wasabi's form). Running
// them through a wrapper instead of require() keeps them scripts even inside a package whose
// package.json says "type": "module".
function loadScript(file) {
  const source = fs.readFileSync(file, "utf8").replace(/^#!.*/, "");
  const wrapper = vm.runInThisContext(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  return module.exports;
}

function writeResult(Wasabi, file) {
  // Of the processes of a run, only those that ran instrumented code have a result to report.
  if (Wasabi.modules.length === 0) return;
  try {
    let result = Wasabi.analysisResult;
    if (typeof result === "function") result = result(); // upstream analyses report this way
    const json = JSON.stringify(result === undefined ? null : result, jsonValue);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, json + "\n");
    fs.renameSync(tmp, file);
  } catch (e) {
    process.stderr.write(`wasabi: could not write the analysis result to ${file}: ${e.message}\n`);
  }
}

// JSON for what analyses naturally build: BigInt as decimal strings (exact), Map as objects,
// Set and typed arrays as arrays.
function jsonValue(key, value) {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value, (x) => typeof x === "bigint" ? x.toString() : x);
  return value;
}

// Loaded once per realm, even if required again (e.g. --require given twice).
if (globalThis[PRELOADED] === undefined) {
  globalThis[PRELOADED] = true;
  main();
}
