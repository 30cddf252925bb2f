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
 * patches compilation on top of it, replacing uninstrumented bytes by instrumented ones, with
 * compile-patch.cjs and instrumenter.cjs, which must lie next to it (the browser recorder
 * shares both).
 *
 * R3 mode (WASABI_HOOKS=r3): the runtime is the recorder (recorder.js, global R3), which also
 * writes the traces at exit. This file additionally tells the recorder the original bytes and
 * file name of every module it instrumented, for naming the traces and keeping the module.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const crypto = require("node:crypto");
const url = require("node:url");
const { createRequire } = require("node:module");
const { isAnyArrayBuffer } = require("node:util").types;
const { isMainThread } = require("node:worker_threads");
// Required before trackFileReads patches fs (the instrumenter keeps the original readFileSync).
const { Instrumenter } = require("./instrumenter.cjs");
const wasabiPatchCompilation = require("./compile-patch.cjs");

const PRELOADED = Symbol.for("wasabi.preload");

function main() {
  // A copy: programs may clear process.env (esbuild's Go runtime does) before the exit handler.
  const env = { ...process.env };
  const r3 = env.WASABI_HOOKS === "r3";
  const runtimePath = env.WASABI_RUNTIME || path.join(__dirname, r3 ? "recorder.js" : "runtime.js");
  vm.runInThisContext(fs.readFileSync(runtimePath, "utf8"), { filename: runtimePath });
  const Wasabi = r3 ? globalThis.R3 : globalThis.Wasabi;
  const runtime = Wasabi[Symbol.for("wasabi.runtime")];
  if (env.WASABI_ANALYSIS) loadScript(path.resolve(env.WASABI_ANALYSIS));

  const instrumenter = new Instrumenter({
    bin: env.WASABI_BIN,
    binArgs: (env.WASABI_BIN_ARGS || "").split(" ").filter(Boolean),
    hooks: env.WASABI_HOOKS || "",
    cacheDir: env.WASABI_CACHE,
    loadScript,
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
  // `from`: the URL a streamed module came from, which names its trace.
  function instrumentSource(source, caller, from) {
    const bytes = isAnyArrayBuffer(source) ? new Uint8Array(source)
      : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
      : undefined;
    if (bytes === undefined || (caller !== undefined && fromNodeInternals(caller))) return source;
    // Hashed once: the cache key and the recorder's module identity both derive from it.
    const sha = crypto.createHash("sha256").update(bytes).digest("hex");
    const instrumented = instrumenter.instrument(bytes, sha);
    if (r3 && instrumented !== bytes) {
      Wasabi.noteOriginal(sha, bytes, from === undefined ? sourceName(source, bytes) : fileName(from));
    }
    return instrumented;
  }

  wasabiPatchCompilation({ runtime, r3, instrumentSource });

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
