/*
 * Runs the wasabi executable on module bytes, at most once per distinct input across the
 * processes of a run (a cache directory shared by them). Used by the node preload
 * (preload.cjs) and by the browser recorder's server (r3-hooks/js/record-browser.mjs).
 */
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const crypto = require("node:crypto");
const { execFileSync } = require("node:child_process");

// Read before the preload patches fs.readFileSync to learn the program's module file names:
// the cache's files must not count.
const readBytes = fs.readFileSync;

/** Runs wasabi on module bytes, at most once per distinct input across the processes of a run. */
class Instrumenter {
  // `loadScript(file)` evaluates a generated NAME.wasabi.js.
  constructor({ bin, binArgs, hooks, cacheDir, loadScript }) {
    this.loadScript = loadScript;
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
    this.loadScript(js);
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

module.exports = { Instrumenter, customSection };
