// Runs an R3 replay in node (>= 20): links the host module `host.wasm` next to this file with
// the original it names, as docs/replay.md describes, then runs `r3_init` and every segment and
// checks that each ends as it did when recorded. `node run.mjs DIR` runs the replay in DIR,
// `node run.mjs replay.wasm` a merged replay module. Exit status 0 iff all segments ended as
// expected. This file is generic: `r3 replay` copies it unchanged into every replay folder.

import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SECTION = "r3-replay";

/** What `r3_host.throw` raises: the recorded import threw here. */
class HostException extends Error {
  constructor() {
    super("host exception (r3_host.throw)");
  }
}

/** Arguments after the script (or after `--eval CODE`, where argv[1] is not the script). */
function scriptArgs() {
  const self = import.meta.url.startsWith("file:") ? fileURLToPath(import.meta.url) : "";
  const first = process.argv[1] ? resolve(process.argv[1]) : "";
  return process.argv.slice(first === self ? 2 : 1);
}

/**
 * The section's JSON with every number kept as its decimal text: i64 values and float bits
 * do not fit in a JS number. Strings are matched first, so digits inside them stay.
 */
function parseSection(bytes) {
  const text = new TextDecoder().decode(bytes);
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*/g, (token) =>
    token.startsWith('"') ? token : `"${token}"`,
  );
  return JSON.parse(quoted);
}

function section(module) {
  const sections = WebAssembly.Module.customSections(module, SECTION);
  if (sections.length > 1) throw new Error(`${sections.length} ${SECTION} custom sections; one is expected`);
  return sections.length ? parseSection(sections[0]) : null;
}

// ---- import types: the JS API (without type reflection) does not tell them, the binary does

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }
  byte() {
    if (this.at >= this.bytes.length) throw new Error("unexpected end of the module");
    return this.bytes[this.at++];
  }
  /** Unsigned LEB128; exact up to 2^53, enough for counts, sizes and limits. */
  uleb() {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * scale;
      if (!(byte & 0x80)) return result;
      scale *= 128;
    }
  }
  name() {
    const length = this.uleb();
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return text;
  }
  limits() {
    const flags = this.byte();
    const minimum = this.uleb();
    const maximum = flags & 1 ? this.uleb() : undefined;
    return { minimum, maximum, shared: Boolean(flags & 2), index64: Boolean(flags & 4) };
  }
  valueType() {
    const code = this.byte();
    const type = VALUE_TYPES[code];
    if (!type) throw new Error(`value type 0x${code.toString(16)} is beyond what this runner supports`);
    return type;
  }
}

const VALUE_TYPES = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "anyfunc", 0x6f: "externref" };

/** The module's imports in order: `{ module, name, kind, type }`, type as the JS constructors take it. */
function importTypes(bytes) {
  const reader = new Reader(bytes);
  reader.at = 8;
  while (reader.at < bytes.length) {
    const id = reader.byte();
    const size = reader.uleb();
    const end = reader.at + size;
    if (id === 2) return readImports(reader);
    reader.at = end;
  }
  return [];
}

function readImports(reader) {
  const imports = [];
  for (let count = reader.uleb(); count > 0; count--) {
    const module = reader.name();
    const name = reader.name();
    const kind = reader.byte();
    if (kind === 0) {
      reader.uleb();
      imports.push({ module, name, kind: "function" });
    } else if (kind === 1) {
      const element = reader.valueType();
      imports.push({ module, name, kind: "table", type: { element, ...reader.limits() } });
    } else if (kind === 2) {
      imports.push({ module, name, kind: "memory", type: reader.limits() });
    } else if (kind === 3) {
      const value = reader.valueType();
      imports.push({ module, name, kind: "global", type: { value, mutable: reader.byte() === 1 } });
    } else {
      throw new Error(`import ${module}.${name} has kind ${kind}, beyond what this runner supports`);
    }
  }
  return imports;
}

// ---- the host's side

/** One object per recorder id, so that the same id is the same host value. */
class HostValues {
  constructor() {
    this.values = new Map();
  }
  get(id) {
    const key = BigInt(id);
    if (!this.values.has(key)) this.values.set(key, Object.freeze({ r3HostValue: key }));
    return this.values.get(key);
  }
}

/** A trace value (numbers as decimal text) as JS gives it to a global's constructor. */
function jsValue(value, hostValues) {
  const [[tag, raw]] = Object.entries(value);
  const view = new DataView(new ArrayBuffer(8));
  switch (tag) {
    case "i32":
      return Number(raw) | 0;
    case "i64":
      return BigInt.asIntN(64, BigInt(raw));
    case "f32":
      view.setUint32(0, Number(raw));
      return view.getFloat32(0);
    case "f64":
      view.setBigUint64(0, BigInt(raw));
      return view.getFloat64(0);
    case "extern_ref":
      return raw === null ? null : hostValues.get(raw);
    case "func_ref":
      if (raw === null) return null;
      throw new Error(`function ${raw} of the original, which does not exist before the original`);
    default:
      throw new Error(`JS cannot create a ${tag} global`);
  }
}

function newEntity(kind, type, initial) {
  const limits = (extra) => {
    const descriptor = { ...extra, initial: type.minimum };
    if (type.maximum !== undefined) descriptor.maximum = type.maximum;
    if (type.shared) descriptor.shared = true;
    if (type.index64) throw new Error("64-bit memories and tables are beyond what this runner supports");
    return descriptor;
  };
  switch (kind) {
    case "memory":
      return new WebAssembly.Memory(limits({}));
    case "table":
      // Without an explicit null, JS fills an externref table with `undefined`, a host value.
      return new WebAssembly.Table(limits({ element: type.element }), null);
    case "global":
      return new WebAssembly.Global(type, initial);
  }
}

/**
 * The values for O's imports: forwarders to H's `import/<i>` (H does not exist yet) and new
 * memories, tables and globals, of H's `r3_host.import/<i>` type where H imports them.
 */
function originalImports(originalTypes, hostTypes, replay, hostValues, host) {
  const hostEntity = new Map(
    hostTypes.filter((i) => i.module === "r3_host" && i.name.startsWith("import/")).map((i) => [i.name, i]),
  );
  const entities = [];
  const object = {};
  // Globals holding a function H defines: null until `bindForeignGlobals`.
  const foreignGlobals = [];
  originalTypes.forEach((imp, i) => {
    let value;
    if (imp.kind === "function") {
      const label = `${imp.module}.${imp.name}`;
      value = (...args) => {
        if (!host.exports) {
          throw new Error(
            `the original called its import ${i} (${label}) before the host module was instantiated ` +
              "(from its start function): the two-module form cannot replay that, the merged replay.wasm can",
          );
        }
        return host.exports[`import/${i}`](...args);
      };
    } else {
      const type = (hostEntity.get(`import/${i}`) ?? imp).type;
      let initial;
      if (imp.kind === "global") {
        const global = (replay.globals ?? []).find((g) => Number(g.import) === i);
        if (!global) throw new Error(`the original's import ${i} (a global) has no initial value in the ${SECTION} section`);
        if (global.value.foreign !== undefined) {
          foreignGlobals.push({ i, imp, id: global.value.foreign });
          initial = null;
        } else {
          initial = jsValue(global.value, hostValues);
        }
      }
      value = newEntity(imp.kind, type, initial);
      prefill(imp.kind, value, i, replay, hostValues);
    }
    entities.push(value);
    (object[imp.module] ??= {})[imp.name] = value;
  });
  return { entities, object, foreignGlobals };
}

/**
 * Gives each imported global holding a foreign function H's stand-in for it: a mutable global
 * (H may import it) is set, an immutable one is made anew (H does not import those).
 */
function bindForeignGlobals({ entities, object, foreignGlobals }, hostExports) {
  for (const { i, imp, id } of foreignGlobals) {
    const standIn = hostExports[`foreign/${id}`];
    if (typeof standIn !== "function") throw new Error(`the host module exports no function foreign/${id}`);
    if (imp.type.mutable) {
      entities[i].value = standIn;
    } else {
      entities[i] = newEntity("global", imp.type, standIn);
      object[imp.module][imp.name] = entities[i];
    }
  }
}

/** What the recorded host wrote into O's imported memories and tables before O existed (O's start may read it). */
function prefill(kind, entity, i, replay, hostValues) {
  if (kind === "memory") {
    for (const write of (replay.memory_writes ?? []).filter((w) => Number(w.import) === i)) {
      const bytes = new Uint8Array(write.bytes.length / 2);
      for (let k = 0; k < bytes.length; k++) bytes[k] = parseInt(write.bytes.substr(2 * k, 2), 16);
      new Uint8Array(entity.buffer).set(bytes, Number(write.addr));
    }
  } else if (kind === "table") {
    for (const entry of (replay.table_entries ?? []).filter((e) => Number(e.import) === i)) {
      entity.set(Number(entry.index), jsValue(entry.value, hostValues));
    }
  }
}

/**
 * Function `index` of O: an export (the JS API names exported functions by index) or an entry
 * of a table O exports or imports (`linked`: this harness made those, so right after O's
 * instantiation they hold only what O's element segments put there).
 */
function originalFunction(instance, index, linked) {
  const name = String(index);
  const exports = Object.values(instance.exports);
  const exported = exports.find((value) => typeof value === "function" && value.name === name);
  if (exported) return exported;
  const tables = exports.filter((value) => value instanceof WebAssembly.Table);
  for (const table of tables.concat(linked.filter((value) => value instanceof WebAssembly.Table))) {
    for (let i = 0; i < table.length; i++) {
      const entry = table.get(i);
      if (typeof entry === "function" && entry.name === name) return entry;
    }
  }
  throw new Error(`function ${index} of the original is neither exported nor in a table it exports or imports: JS cannot reach it`);
}

/** O's export or function for H's import from `original`, `r3_call` or `r3_ref`. */
function originalLookup(original, linked) {
  return (module, name) => {
    if (module !== "original") return originalFunction(original, Number(name), linked);
    const value = original.exports[name];
    if (value === undefined) throw new Error(`the host module imports original.${name}, which the original does not export`);
    return value;
  };
}

/** The same, for H linked before O exists: functions that call O's once `cell.original` is set. */
function lateLookup(cell, linked) {
  return (module, name) =>
    (...args) => originalLookup(cell.original, linked)(module, name)(...args);
}

function hostImports(hostTypes, lookup, entities, hostValues, replay) {
  const object = {};
  for (const { module, name } of hostTypes) {
    let value;
    if (module === "original" || module === "r3_call" || module === "r3_ref") {
      value = lookup(module, name);
    } else if (module === "r3_host" && name === "functions") {
      // O's functions the replay hands over as references, each at its function index.
      const indices = replay.functions ?? [];
      const size = indices.reduce((max, index) => Math.max(max, Number(index) + 1), 0);
      value = new WebAssembly.Table({ element: "anyfunc", initial: size }, null);
      for (const index of indices) value.set(index, lookup("r3_ref", String(index)));
    } else if (module === "r3_host" && name === "throw") {
      value = () => {
        throw new HostException();
      };
    } else if (module === "r3_host" && name === "extern") {
      value = (id) => hostValues.get(id);
    } else if (module === "r3_host" && name.startsWith("import/")) {
      value = entities[Number(name.slice("import/".length))];
      if (value === undefined || typeof value === "function") {
        throw new Error(`the host module imports r3_host.${name}, which is no memory, table or global import of the original`);
      }
    } else {
      throw new Error(`the host module imports ${module}.${name}: unknown import module`);
    }
    (object[module] ??= {})[name] = value;
  }
  return object;
}

// ---- running

function outcomeOf(error) {
  if (error === undefined) return { kind: "return" };
  if (error instanceof HostException) return { kind: "throw" };
  if (error instanceof WebAssembly.RuntimeError) return { kind: "trap", message: error.message };
  // V8 reports a stack overflow in Wasm as a RangeError; it is a trap.
  if (error instanceof RangeError && /call stack/i.test(error.message)) return { kind: "trap", message: error.message };
  return { kind: "failed", message: String(error?.stack ?? error) };
}

/** An abort is replayed as a trap; in a merged module, so is a throw. */
function matches(outcome, expect, merged) {
  switch (outcome.kind) {
    case "return":
      return expect === "return";
    case "trap":
      return expect === "trap" || expect === "abort" || (merged && expect === "throw");
    case "throw":
      return expect === "throw";
    default:
      return false;
  }
}

function describe(outcome) {
  return outcome.message === undefined ? outcome.kind : `${outcome.kind} (${outcome.message})`;
}

/** Runs every segment in order whatever the previous ones did; prints a line each and the summary. */
function runSegments(exports, segments, merged) {
  let good = 0;
  for (const { export: name, expect } of segments) {
    let outcome;
    const segment = exports[name];
    if (typeof segment !== "function") {
      outcome = { kind: "failed", message: `no export ${name}` };
    } else {
      try {
        segment();
        outcome = outcomeOf(undefined);
      } catch (error) {
        outcome = outcomeOf(error);
      }
    }
    const ok = matches(outcome, expect, merged);
    if (ok) good++;
    console.error(`${name}: ${describe(outcome)} (expected ${expect}) ${ok ? "ok" : "UNEXPECTED"}`);
  }
  console.error(`r3: ${good} of ${segments.length} segments ended as expected`);
  return good === segments.length;
}

function runFolder(dir) {
  const hostBytes = readFileSync(join(dir, "host.wasm"));
  const hostModule = new WebAssembly.Module(hostBytes);
  const replay = section(hostModule);
  if (!replay) throw new Error(`${join(dir, "host.wasm")} has no ${SECTION} custom section: not a host module`);
  const originalBytes = readFileSync(join(dir, replay.original.name));
  const originalModule = new WebAssembly.Module(originalBytes);
  const hostValues = new HostValues();
  const host = { exports: null };
  const hostTypes = importTypes(hostBytes);
  const linked = originalImports(importTypes(originalBytes), hostTypes, replay, hostValues, host);
  const { entities, object } = linked;
  if (replay.host_first) {
    // O's start function calls its imports, or O imports a function of H: H first (it needs
    // only O's functions, called through late-bound forwarders), set up as the recorded host
    // did, then O.
    const cell = {};
    host.exports = new WebAssembly.Instance(hostModule, hostImports(hostTypes, lateLookup(cell, entities), entities, hostValues, replay)).exports;
    bindForeignGlobals(linked, host.exports);
    host.exports.r3_init();
    cell.original = new WebAssembly.Instance(originalModule, object);
  } else {
    if (linked.foreignGlobals.length > 0) {
      throw new Error(`the original's import ${linked.foreignGlobals[0].i} (a global) holds a function the host module defines, which does not exist before it`);
    }
    const original = new WebAssembly.Instance(originalModule, object);
    const imports = hostImports(hostTypes, originalLookup(original, entities), entities, hostValues, replay);
    host.exports = new WebAssembly.Instance(hostModule, imports).exports;
    host.exports.r3_init();
  }
  return runSegments(host.exports, replay.segments ?? [], false);
}

function runMerged(path) {
  const module = new WebAssembly.Module(readFileSync(path));
  const replay = section(module);
  const instance = new WebAssembly.Instance(module, {});
  const segments = replay?.segments ?? [{ export: "_start", expect: "return" }];
  return runSegments(instance.exports, segments, true);
}

function main() {
  const [target] = scriptArgs();
  const path = target ?? dirname(fileURLToPath(import.meta.url));
  return statSync(path).isDirectory() ? runFolder(path) : runMerged(path);
}

try {
  process.exitCode = main() ? 0 : 1;
} catch (error) {
  console.error(`error: ${error?.message ?? error}`);
  process.exitCode = 1;
}
