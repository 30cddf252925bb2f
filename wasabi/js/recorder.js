/*
 * R3 recorder: links r3-instrumented modules (`wasabi --hooks r3`) and records, per instance,
 * what the module sees of its host into a binary R3 trace (docs/trace-format.md). The
 * instrumented module reports reads of host-changed memory through the import __r3.sync and
 * keeps a shadow copy of memory 0 in memory 1; everything else (calls across the boundary,
 * host changes to tables, globals and memory size) is observed here, at the boundary.
 *
 * Like runtime.js this text may be evaluated many times in one realm (it heads every generated
 * NAME.wasabi.js); only the first evaluation installs anything, later ones return the same
 * object. No top-level `let`/`const`, so that it also works as a repeated classic <script>.
 *
 * Terms: the module "has control" while its code runs (from an export call or the start
 * function until it returns, except while one of its imports runs); otherwise the host has.
 * Host changes are only looked for at host -> module transitions.
 */
var R3 = (function () {
  "use strict";

  const RUNTIME = Symbol.for("wasabi.runtime");
  const previous = globalThis.R3;
  if (previous != null && previous[RUNTIME] !== undefined) return previous;

  const native = {
    Module: WebAssembly.Module,
    Instance: WebAssembly.Instance,
    Global: WebAssembly.Global,
    compile: WebAssembly.compile,
    compileStreaming: WebAssembly.compileStreaming,
    instantiate: WebAssembly.instantiate,
    instantiateStreaming: WebAssembly.instantiateStreaming,
    customSections: WebAssembly.Module.customSections,
  };
  // Captured separately: the preload replaces Module.imports by a version hiding "__r3".
  const moduleImports = WebAssembly.Module.imports;
  const TablePrototype = WebAssembly.Table.prototype;
  const tableGet = TablePrototype.get;
  const tableSet = TablePrototype.set;
  const tableGrow = TablePrototype.grow;
  const tableLength = Object.getOwnPropertyDescriptor(TablePrototype, "length").get;

  const PAGE = 65536;
  // sync() compares whole 4 KiB windows around a read: host writes are usually larger than
  // one load, and taking the neighbourhood along saves a sync call per later load.
  const WINDOW = 4096;
  // In node, encoded bytes go to the trace file in chunks of about this size.
  const SPILL_BYTES = 1 << 20;

  // Event and value variant indices of the postcard encoding (r3-hooks/src/trace/mod.rs).
  const EXPORT_CALL = 0, EXPORT_RETURN = 1, EXPORT_TRAP = 2, EXPORT_THROW = 3, IMPORT_CALL = 4,
    IMPORT_RETURN = 5, IMPORT_THROW = 6, MEMORY_WRITE = 7, MEMORY_GROW = 8, TABLE_SET = 9,
    TABLE_GROW = 10, GLOBAL_SET = 11, END = 12, FOREIGN = 14, FOREIGN_CALL = 15, FOREIGN_RETURN = 16,
    FOREIGN_THROW = 17, MEMORY_WRITES = 18;
  const IMPORT_EVENTS = { call: IMPORT_CALL, return: IMPORT_RETURN, throw: IMPORT_THROW };
  const FOREIGN_EVENTS = { call: FOREIGN_CALL, return: FOREIGN_RETURN, throw: FOREIGN_THROW };
  const V_I32 = 0, V_I64 = 1, V_F32 = 2, V_F64 = 3, V_FUNCREF = 5, V_EXTERNREF = 6, V_FOREIGN = 7;
  // Type codes of the metadata, as char codes so that hot paths switch on small integers.
  const T_I32 = 105, T_I64 = 73, T_F32 = 102, T_F64 = 70, T_V128 = 118, T_FUNCREF = 114, T_EXTERNREF = 101;
  // Metadata type code -> [ValueType variant index of the trace, Wasm value type byte].
  const VALUE_TYPES = new Map([[T_I32, [0, 0x7f]], [T_I64, [1, 0x7e]], [T_F32, [2, 0x7d]], [T_F64, [3, 0x7c]],
    [T_V128, [4, 0x7b]], [T_FUNCREF, [5, 0x70]], [T_EXTERNREF, [6, 0x6f]]]);
  // Largest encoding of one value (v128: tag + 16 bytes), for reserving space per event.
  const MAX_VALUE = 17;
  const MAGIC = [0x52, 0x33, 0x54, 0x52, 0x41, 0x43, 0x45, 0x00]; // "R3TRACE\0"
  const EMPTY8 = new Uint8Array(0);
  const EMPTY32 = new Int32Array(0);

  // sync() skips equal stretches with this module: 16 bytes per step in Wasm SIMD are about six
  // times faster than the best JS loop over words. Engines that record have multi-memory and
  // SIMD; if one cannot compile it anyway, the JS word loop does all the work. Its text:
  //   (module
  //     (import "r3" "memory" (memory $m 0))
  //     (import "r3" "shadow" (memory $s 0))
  //     ;; The first 16-byte block at or after `at` that differs from its shadow copy (at
  //     ;; `at + skew` in the shadow), or where no whole block is left.
  //     (func (export "diff") (param $at i32) (param $end i32) (param $skew i32) (result i32)
  //       (block $done
  //         (loop $next
  //           (br_if $done (i32.gt_u (i32.add (local.get $at) (i32.const 16)) (local.get $end)))
  //           (br_if $done (v128.any_true (v128.xor (v128.load $m (local.get $at))
  //                                                 (v128.load $s (i32.add (local.get $at) (local.get $skew))))))
  //           (local.set $at (i32.add (local.get $at) (i32.const 16)))
  //           (br $next)))
  //       (local.get $at)))
  const DIFF_MODULE = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f,
    0x01, 0x7f, 0x02, 0x1b, 0x02, 0x02, 0x72, 0x33, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02,
    0x00, 0x00, 0x02, 0x72, 0x33, 0x06, 0x73, 0x68, 0x61, 0x64, 0x6f, 0x77, 0x02, 0x00, 0x00, 0x03,
    0x02, 0x01, 0x00, 0x07, 0x08, 0x01, 0x04, 0x64, 0x69, 0x66, 0x66, 0x00, 0x00, 0x0a, 0x35, 0x01,
    0x33, 0x00, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x41, 0x10, 0x6a, 0x20, 0x01, 0x4b, 0x0d, 0x01,
    0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x00, 0x20, 0x02, 0x6a, 0xfd, 0x00, 0x44, 0x01, 0x00,
    0xfd, 0x51, 0xfd, 0x53, 0x0d, 0x01, 0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b,
    0x0b, 0x20, 0x00, 0x0b,
  ];
  let diffModule; // compiled on first use; null if this engine cannot

  const host = nodeHost();
  const contexts = []; // recording contexts of instances, in instantiation order
  const infos = new WeakMap(); // WebAssembly.Module -> module info, or null if not r3
  const instanceCounts = new Map(); // module sha256 -> instances created so far
  const originals = new Map(); // module sha256 -> {bytes, name} from the preload
  const namesInUse = new Map(); // trace name -> module sha256
  const writtenModules = new Set(); // module sha256 whose original bytes were written
  const finishedTraces = []; // {name, instance, bytes | file}
  const tableOwners = new WeakMap(); // WebAssembly.Table -> [ctx, table index, ...]
  // Host-facing wrappers of module functions, and back: one wrapper per function object keeps
  // identity (exports.f === exports.f, a function read twice from a table).
  const wrapperOf = new WeakMap();
  const nativeOf = new WeakMap();
  // Foreign functions (see "Foreign functions" below): function -> {params, results, owner},
  // function -> its wrapper, and the compiled wrapper module per signature.
  const foreignInfos = new WeakMap();
  const foreignWrappers = new WeakMap();
  const wrapperModules = new Map();
  const warnedOnce = new Set();

  // Node specifics, undefined in browsers. The recorder may run as a classic script without
  // `require` (the preload evaluates it with vm.runInThisContext), hence getBuiltinModule.
  function nodeHost() {
    if (typeof process !== "object" || process === null || process.versions == null ||
        typeof process.versions.node !== "string") return undefined;
    const load = typeof process.getBuiltinModule === "function" ? (name) => process.getBuiltinModule(name)
      : typeof require === "function" ? require : undefined;
    if (load === undefined) return undefined;
    const fs = load("fs");
    const path = load("path");
    // __dirname: the directory of the generated NAME.wasabi.js when it is loaded as CommonJS.
    const dir = process.env.R3_TRACE_DIR || (typeof __dirname === "string" ? __dirname : process.cwd());
    // Set by `r3 record`: a folder of the run where its threads and processes claim trace names
    // and instance numbers, so that none overwrites another's trace.
    const claims = process.env.R3_CLAIMS ? path.resolve(process.env.R3_CLAIMS) : undefined;
    // Every export_return, also those an export_call implies (docs/recording.md).
    const keepReturns = process.env.R3_KEEP_RETURNS === "1";
    return { fs, path, v8: load("v8"), dir: path.resolve(dir), claims, keepReturns, process };
  }

  // Where the threads and processes of one recording claim trace names and instance numbers,
  // so that none overwrites another's trace: `claim(kind, key, content)` (true if this call
  // made the claim, false if it was made before), `read(kind, key)` (a claim's content) and
  // `give(kind, key)`, each throwing if it cannot. A folder of the run under `r3 record`
  // (node); the recording server under `r3 record --browser`, which browser-runtime.js sets.
  let claims = host !== undefined && host.claims !== undefined ? claimsInFolder(host.claims) : undefined;
  // Whether every export_return is written, also those an export_call implies.
  let keepReturns = host !== undefined && host.keepReturns;

  function claimsInFolder(folder) {
    const file = (kind, key) => host.path.join(folder, kind, key);
    return {
      where: folder,
      claim(kind, key, content) {
        host.fs.mkdirSync(host.path.join(folder, kind), { recursive: true });
        try {
          host.fs.writeFileSync(file(kind, key), content, { flag: "wx" });
          return true;
        } catch (e) {
          if (e.code === "EEXIST") return false;
          throw e;
        }
      },
      read: (kind, key) => host.fs.readFileSync(file(kind, key), "utf8"),
      give: (kind, key) => host.fs.rmSync(file(kind, key), { force: true }),
    };
  }

  // Claims `kind/key`: true if this call did, false if it was claimed before, undefined if
  // claims cannot be made (not under `r3 record`, or the claims are unusable).
  function claim(kind, key, content) {
    if (claims === undefined) return undefined;
    try {
      return claims.claim(kind, key, content);
    } catch (e) {
      warnOnce("claims", `cannot claim trace names in ${claims.where} (${e.message}); ` +
        "other threads and processes may overwrite this one's traces");
      return undefined;
    }
  }

  // Gives a claim back (a failed instantiation's instance number); if that fails, the number
  // stays taken, a gap in the numbering.
  function unclaim(kind, key) {
    if (claims === undefined) return;
    try {
      claims.give(kind, key);
    } catch {
      // the claim stays
    }
  }

  // Another thread's or process's module of this name and other bytes: true if there is one.
  function nameTakenElsewhere(name, sha) {
    if (claim("names", name, sha) !== false) return false;
    try {
      return claims.read("names", name) !== sha;
    } catch {
      return false;
    }
  }

  // The instance number of the next instance of `name` (numbered per module in this thread
  // alone when claims cannot be made).
  function claimInstance(name, sha) {
    const local = instanceCounts.get(sha) || 0;
    instanceCounts.set(sha, local + 1);
    for (let k = 0; ; k++) {
      const claimed = claim("instances", `${name}-${k}`, "");
      if (claimed === undefined) return local;
      if (claimed) return k;
    }
  }

  function warn(message) {
    try {
      if (typeof process === "object" && process !== null && process.stderr) {
        process.stderr.write(`r3: ${message}\n`);
      } else if (typeof console === "object") {
        console.warn(`r3: ${message}`);
      }
    } catch {
      // Nowhere left to report to; recording goes on.
    }
  }

  function warnOnce(key, message) {
    if (warnedOnce.has(key)) return;
    warnedOnce.add(key);
    warn(message);
  }

  // ---------------------------------------------------------------------------------------
  // Strings. Only metadata (decoded once per module), export names (encoded once per
  // function) and trap messages pass here, so simple loops do.

  const decoder = typeof TextDecoder === "function" ? new TextDecoder() : undefined;
  function decodeUtf8(buffer) {
    if (decoder !== undefined) return decoder.decode(buffer);
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return decodeURIComponent(escape(binary));
  }

  // Lone surrogates become U+FFFD, as with TextEncoder.
  function encodeUtf8(s) {
    const out = [];
    for (let i = 0; i < s.length; i++) {
      let c = s.codePointAt(i);
      if (c > 0xffff) i++;
      else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // The postcard encoder. Each event reserves an upper bound of its size once and then writes
  // without checks. `spill` (node) takes full buffers out to the trace file, so the buffer
  // stays around SPILL_BYTES however long the run, until the file is in place (then it holds
  // the events between two checkpoints).

  const scratch = new DataView(new ArrayBuffer(8));

  // Bytes [from, to) of `src` into `dst` at `at`. Most host writes are small: a loop beats
  // creating a subarray for them.
  function copyBytes(dst, at, src, from, to) {
    if (to - from <= 64) {
      for (let i = from; i < to; i++) dst[at + i - from] = src[i];
    } else {
      dst.set(src.subarray(from, to), at);
    }
  }

  class Encoder {
    constructor(spill) {
      this.buf = new Uint8Array(spill === undefined ? 4096 : 16384);
      this.pos = 0;
      this.spills = 0; // how often the buffer went out: positions before that are gone
      this.spill = spill;
      this.hold = false; // the buffer grows instead of spilling (the trace file is in place)
    }

    reserve(n) {
      if (this.pos + n > this.buf.length) this.makeRoom(n);
    }

    makeRoom(n) {
      if (this.full()) {
        const spilled = this.spill(this.buf, this.pos);
        this.pos = 0;
        this.spills++;
        // A failed spill (reported there) drops the bytes; the caller still gets its room.
        if (spilled === false) this.spill = undefined;
        if (n <= this.buf.length) return;
      }
      // Spilling keeps the buffer below 2 * SPILL_BYTES; only a single larger event grows it beyond.
      let size = this.buf.length * 2;
      while (size < this.pos + n) size *= 2;
      const buf = new Uint8Array(size);
      buf.set(this.buf.subarray(0, this.pos));
      this.buf = buf;
    }

    // Full when spilling pays off: checked between events, and when the buffer is out of room.
    full() {
      return this.spill !== undefined && !this.hold && this.pos >= SPILL_BYTES;
    }

    byte(b) {
      this.buf[this.pos++] = b;
    }

    // Unsigned LEB128 of an unsigned 32-bit integer.
    u32(n) {
      const buf = this.buf;
      let pos = this.pos;
      while (n >= 0x80) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      buf[pos++] = n;
      this.pos = pos;
    }

    // Unsigned LEB128 of the 64-bit integer hi * 2^32 + lo (both unsigned 32-bit), without
    // BigInt arithmetic.
    u64(lo, hi) {
      const buf = this.buf;
      let pos = this.pos;
      while (hi !== 0) {
        buf[pos++] = (lo & 0x7f) | 0x80;
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi >>>= 7;
      }
      this.pos = pos;
      this.u32(lo);
    }

    // A non-negative integer Number (addresses, sizes: may exceed 32 bits).
    num(n) {
      if (n <= 0xffffffff) this.u32(n);
      else this.u64(n % 0x100000000, Math.floor(n / 0x100000000));
    }

    bigU64(b) {
      scratch.setBigUint64(0, b, true);
      this.u64(scratch.getUint32(0, true), scratch.getUint32(4, true));
    }

    i32(n) {
      this.u32(((n << 1) ^ (n >> 31)) >>> 0);
    }

    // Zigzag on the two halves: (v << 1) ^ (v >> 63).
    i64(b) {
      scratch.setBigInt64(0, b, true);
      const lo = scratch.getUint32(0, true);
      const hi = scratch.getInt32(4, true);
      const sign = hi >> 31;
      this.u64(((lo << 1) ^ sign) >>> 0, (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0);
    }

    f32(x) {
      scratch.setFloat32(0, x, true);
      this.u32(scratch.getUint32(0, true));
    }

    f64(x) {
      scratch.setFloat64(0, x, true);
      this.u64(scratch.getUint32(0, true), scratch.getUint32(4, true));
    }

    raw(bytes) {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }

    // A place in the whole stream (spills so far, buffer position): `retract` takes back an
    // event between two marks that the next event turns out to imply.
    mark() {
      return this.spills * 0x100000000 + this.pos;
    }

    // Whether the bytes from mark `start` to mark `end` are the last ones and still here.
    retractable(start, end) {
      return start >= this.spills * 0x100000000 && end === this.mark();
    }

    retract(start, end) {
      if (this.retractable(start, end)) this.pos -= end - start;
    }

    string(s) {
      const bytes = encodeUtf8(s);
      this.reserve(5 + bytes.length);
      this.u32(bytes.length);
      this.raw(bytes);
    }

    bytes() {
      return this.buf.slice(0, this.pos);
    }
  }

  // A string as postcard writes it (length, then UTF-8), for names written per call.
  function encodedString(s) {
    const bytes = encodeUtf8(s);
    const e = new Encoder(undefined);
    e.reserve(5 + bytes.length);
    e.u32(bytes.length);
    e.raw(bytes);
    return e.bytes();
  }

  // ---------------------------------------------------------------------------------------
  // JS values -> Wasm values, as the engine converts them (ToWebAssemblyValue). Converting
  // here, once, lets the recorded value be exactly what the module gets, and runs user
  // valueOf()s once. i64 and funcref go through a scratch global: its setter is the engine's
  // own conversion, errors included.

  const scratchI64 = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  const scratchFuncref = new WebAssembly.Global({ value: "anyfunc", mutable: true }, null);

  function toWasm(type, v) {
    switch (type) {
      case T_I32: return v | 0;
      case T_I64:
        if (typeof v === "bigint") return BigInt.asIntN(64, v);
        scratchI64.value = v;
        return scratchI64.value;
      case T_F32: return Math.fround(v);
      case T_F64: return +v;
      case T_FUNCREF:
        scratchFuncref.value = unwrap(v);
        return scratchFuncref.value;
      case T_EXTERNREF: return v;
      default: throw new TypeError("r3: a v128 value cannot cross the JavaScript boundary");
    }
  }

  // Converts args in place to the function's parameter types (missing ones from undefined).
  function toWasmArgs(types, args) {
    for (let i = 0; i < types.length; i++) args[i] = toWasm(types.charCodeAt(i), args[i]);
  }

  // What an import returned, as the result types of the import.
  function toWasmResults(types, value) {
    if (types.length === 0) return undefined;
    if (types.length === 1) return toWasm(types.charCodeAt(0), value);
    if (value === null || (typeof value !== "object" && typeof value !== "function") ||
        typeof value[Symbol.iterator] !== "function") {
      throw new TypeError(`an import with ${types.length} results must return an iterable`);
    }
    const values = Array.from(value);
    if (values.length !== types.length) {
      throw new TypeError(`an import with ${types.length} results returned ${values.length} values`);
    }
    for (let i = 0; i < values.length; i++) values[i] = toWasm(types.charCodeAt(i), values[i]);
    return values;
  }

  function unwrap(f) {
    const n = nativeOf.get(f);
    return n === undefined ? f : n;
  }

  // ---------------------------------------------------------------------------------------
  // Modules.

  function isModule(value) {
    if (value instanceof native.Module) return true;
    if (value === null || typeof value !== "object") return false;
    try {
      native.customSections(value, "");
      return true;
    } catch {
      return false;
    }
  }

  function infoOf(module) {
    let info = infos.get(module);
    if (info === undefined) {
      const sections = native.customSections(module, "r3");
      info = sections.length === 0 ? null : moduleInfo(module, sections[0]);
      infos.set(module, info);
    }
    return info;
  }

  function moduleInfo(module, section) {
    let meta;
    try {
      meta = JSON.parse(decodeUtf8(section));
    } catch (e) {
      throw new WebAssembly.LinkError(`r3: the module's "r3" section is no valid JSON: ${e.message}`);
    }
    if (meta === null || meta.version !== 1) {
      throw new WebAssembly.LinkError(`r3: the module's metadata has version ${meta && meta.version}, ` +
        "this recorder reads version 1 (instrument it again with the matching wasabi)");
    }
    const functionImports = moduleImports(module).filter((i) => i.kind === "function" && i.module !== "__r3");
    if (functionImports.length !== meta.imported_functions) {
      throw new WebAssembly.LinkError(`r3: the metadata says ${meta.imported_functions} function imports, ` +
        `the module has ${functionImports.length}`);
    }
    const params = [];
    const results = [];
    for (const signature of meta.functions) {
      const bar = signature.indexOf("|");
      params.push(signature.slice(0, bar));
      results.push(signature.slice(bar + 1));
    }
    return { meta, params, results, functionImports, imported: meta.imported_functions };
  }

  // v128 cannot cross the JS boundary: the engine throws a TypeError before any code runs, so
  // calls of such functions are left to it, unrecorded.
  const crossesBoundary = (params, results) => !params.includes("v") && !results.includes("v");

  function traceName(sha, meta) {
    const noted = originals.get(sha);
    let name = (noted && noted.name) || meta.name || `module-${sha.slice(0, 8)}`;
    name = String(name).replace(/[^A-Za-z0-9._-]/g, "_");
    // Two different modules of the same name must not overwrite each other's traces.
    const owner = namesInUse.get(name);
    if ((owner !== undefined && owner !== sha) || (owner === undefined && nameTakenElsewhere(name, sha))) {
      name = `${name}-${sha.slice(0, 8)}`;
    }
    namesInUse.set(name, sha);
    return name;
  }

  // ---------------------------------------------------------------------------------------
  // The recording context of one instance.

  class Context {
    constructor(info, imports) {
      const meta = info.meta;
      this.info = info;
      this.sha = meta.module_sha256;
      this.name = traceName(this.sha, meta);
      this.instance = claimInstance(this.name, this.sha);
      this.enc = new Encoder(host === undefined ? undefined : (buf, n) => this.spill(buf, n));
      this.control = true; // instantiation runs the start function
      this.recording = true;
      this.fresh = true; // no module activity yet (see begin)
      this.instantiatedYet = false;
      this.hasThrown = false;
      this.thrown = undefined; // the exception an import threw, while it unwinds the module
      this.calls = 0; // call events written, for end.naive_events
      // Encoder marks around the last import_call, and around the last export_return, while
      // nothing followed them yet, else -1: the call-stack optimisation may take them back.
      this.openImport = -1;
      this.openImportEnd = -1;
      this.heldReturn = -1;
      this.heldReturnEnd = -1;
      this.runs = []; // [from, to, from, to, ...]: runs of host-written bytes one read found
      this.nativeExports = undefined;
      this.functions = undefined; // __r3_functions
      this.indices = undefined; // function object -> original index, built on first use
      this.exportNames = new Map(); // function object -> its first export name
      this.externIds = new Map();
      this.foreignIds = new Map(); // foreign function -> its id in this trace
      this.memory = undefined;
      this.shadow = undefined;
      // Views of memory 0 and the shadow; empty until first needed. Growth detaches a buffer,
      // which empties its views: that, not a `buffer` getter call per sync, says they are stale.
      this.m8 = EMPTY8;
      this.s8 = EMPTY8;
      this.m32 = EMPTY32;
      this.s32 = EMPTY32;
      this.diff = undefined; // the DIFF_MODULE's diff on memory 0 and the shadow, if available
      this.globals = []; // reachable host-visible mutable globals: {index, type, obj, last}
      this.tables = []; // reachable host-visible tables: {index, type, obj, size}
      // Entries the host wrote since the last transition: "table:index" -> {entry, index, before},
      // `before` being what the module saw. Written once each, final value, if it changed.
      this.pendingSets = new Map();
      this.fd = undefined;
      this.tmp = undefined;
      this.written = 0; // bytes of events in the trace file, before the buffer's
      this.inPlace = false; // the trace file has its final name (after a checkpoint)
      this.header();
      this.imports = this.link(imports);
      contexts.push(this);
      markActive();
      // Now, not at exit: a process may be killed at exit time (esbuild's service process).
      if (host !== undefined) writeOriginal(this.sha, this.name);
    }

    header() {
      const e = this.enc;
      e.reserve(MAGIC.length + 5);
      e.raw(MAGIC);
      e.u32(3); // version (r3-hooks/src/trace/mod.rs)
      e.string(this.sha);
      e.reserve(5);
      e.u32(this.instance);
    }

    // ---- linking

    link(imports) {
      const linked = Object.create(imports === undefined ? null : imports);
      this.linkFunctions(imports, linked);
      const meta = this.info.meta;
      const r3 = {};
      if (meta.memory != null) this.linkMemory(meta.memory, imports, r3);
      if ((meta.tables || []).length !== 0) {
        r3.table_write = (table, index, count) => this.wasmTableWrite(table, index >>> 0, count >>> 0);
      }
      if (Object.keys(r3).length !== 0) define(linked, "__r3", r3);
      for (const g of meta.globals || []) if (g.import != null) this.linkGlobal(g, imports, linked);
      for (const t of meta.tables || []) if (t.import != null) this.linkTable(t, imports);
      return linked;
    }

    linkFunctions(imports, linked) {
      // Wrappers by namespace and name, in import order: a name imported twice needs a
      // wrapper per import (they record different indices).
      const byName = new Map();
      const imps = this.info.functionImports;
      for (let k = 0; k < imps.length; k++) {
        const { module: ns, name } = imps[k];
        const space = namespace(imports, ns);
        const real = space === undefined ? undefined : space[name];
        if (typeof real !== "function") continue; // the engine reports the LinkError
        const key = `${ns}\0${name}`;
        if (!byName.has(key)) byName.set(key, { ns, name, wrappers: [] });
        byName.get(key).wrappers.push(this.importWrapper(k, real));
      }
      for (const { ns, name, wrappers } of byName.values()) {
        defineImport(ownNamespace(linked, imports, ns), name, wrappers);
      }
    }

    // The memory items of `__r3` go into `r3`.
    linkMemory(mem, imports, r3) {
      let memory;
      if (mem.import != null) {
        const space = namespace(imports, mem.import[0]);
        memory = space === undefined ? undefined : space[mem.import[1]];
        if (!(memory instanceof WebAssembly.Memory)) {
          // The engine reports the LinkError; __r3 must not fail first with a confusing one.
          r3.shadow = new WebAssembly.Memory({ initial: mem.initial + 1 });
          r3.sync = () => {};
          return;
        }
        const pages = memory.buffer.byteLength / PAGE;
        if (pages > mem.initial) this.memoryGrow(pages);
      } else {
        const descriptor = { initial: mem.initial };
        if (mem.maximum != null) descriptor.maximum = mem.maximum;
        memory = new WebAssembly.Memory(descriptor);
      }
      this.memory = memory;
      // Memory byte a is shadow byte a + shadowOffset; the shadow has one page more for that.
      this.shadowOffset = mem.shadow_offset;
      this.shadow = new WebAssembly.Memory({ initial: memory.buffer.byteLength / PAGE + 1 });
      this.diff = diffFunction(memory, this.shadow);
      r3.shadow = this.shadow;
      r3.sync = (addr, offset, len) => this.sync(addr, offset, len);
      if (mem.import == null) r3.memory = memory;
    }

    linkGlobal(g, imports, linked) {
      const space = namespace(imports, g.import[0]);
      const v = space === undefined ? undefined : space[g.import[1]];
      const type = g.type.charCodeAt(0);
      if (type === T_V128) return;
      let value;
      try {
        value = v instanceof WebAssembly.Global ? v.value : toWasm(type, v);
      } catch {
        return; // not linkable: the engine reports the LinkError
      }
      this.globalSet(g.index, type, value);
      if (g.mutable && v instanceof WebAssembly.Global) {
        if (type === T_FUNCREF && typeof value === "function") {
          warnOnce(`foreign-global:${this.sha}`, `${this.name}: an imported mutable global holds a function of ` +
            "another instance; its calls are not recorded, so a replay cannot answer them");
        }
        this.globals.push({ index: g.index, type, obj: v, last: value });
      } else if (type === T_FUNCREF && typeof value === "function") {
        // A function of another instance: the module gets a copy of the global holding its
        // wrapper, so that calls of it are seen.
        const wrapper = foreignWrapper(value);
        if (wrapper === undefined) return;
        const copy = new native.Global({ value: "anyfunc", mutable: false }, wrapper);
        define(ownNamespace(linked, imports, g.import[0]), g.import[1], copy);
      }
    }

    linkTable(t, imports) {
      const space = namespace(imports, t.import[0]);
      const table = space === undefined ? undefined : space[t.import[1]];
      if (!(table instanceof WebAssembly.Table)) return;
      const size = tableLength.call(table);
      const entry = { index: t.index, type: t.type.charCodeAt(0), obj: table, size };
      if (size > t.initial) this.tableGrow(entry, size);
      this.tableContents(entry);
      this.adoptTable(entry);
    }

    // What the host put into an imported table before the module existed. Functions in it are
    // not this instance's (it does not exist yet): they are foreign functions, recorded at the
    // first host -> module transition, when the module can first call them.
    tableContents(entry) {
      for (let i = 0; i < entry.size; i++) {
        const v = tableGet.call(entry.obj, i);
        if (v === null) continue;
        if (entry.type === T_FUNCREF) this.pendingSets.set(`${entry.index}:${i}`, { entry, index: i, before: null });
        else this.tableSet(entry, i, v);
      }
    }

    adoptTable(entry) {
      this.tables.push(entry);
      let owners = tableOwners.get(entry.obj);
      if (owners === undefined) tableOwners.set(entry.obj, (owners = []));
      owners.push(this, entry);
    }

    // After the engine created the instance: exported items are reachable now, and the host
    // gets exports with wrapped functions and without the instrumentation's.
    instantiated(instance) {
      const exports = instance.exports;
      if (!(exports.__r3_functions instanceof WebAssembly.Table)) {
        this.failed();
        throw new WebAssembly.LinkError("r3: the instrumented module does not export __r3_functions");
      }
      this.nativeExports = exports;
      this.functions = exports.__r3_functions;
      const meta = this.info.meta;
      for (const g of meta.globals || []) {
        if (g.import == null && g.mutable && g.type !== "v") this.adoptGlobal(g, exports[g.export[0]]);
      }
      for (const t of meta.tables || []) {
        if (t.import == null) this.adoptExportedTable(t, exports[t.export[0]]);
      }
      const visible = Object.create(null);
      for (const key of Object.keys(exports)) {
        if (key.startsWith("__r3_")) continue;
        const v = exports[key];
        if (typeof v === "function" && !this.exportNames.has(v)) this.exportNames.set(v, key);
        visible[key] = typeof v === "function" ? entryWrapper(this, v) : v;
      }
      Object.freeze(visible);
      // An own property in front of the prototype's getter: the object keeps its brand.
      Object.defineProperty(instance, "exports", { value: visible, writable: false, enumerable: false, configurable: true });
      this.fresh = false;
      this.instantiatedYet = true;
      this.control = false;
      scheduleCheckpoint();
      return instance;
    }

    adoptGlobal(g, obj) {
      if (!(obj instanceof WebAssembly.Global)) return;
      this.globals.push({ index: g.index, type: g.type.charCodeAt(0), obj, last: obj.value });
    }

    adoptExportedTable(t, obj) {
      if (!(obj instanceof WebAssembly.Table)) return;
      this.adoptTable({ index: t.index, type: t.type.charCodeAt(0), obj, size: tableLength.call(obj) });
    }

    // The instantiation failed (link error, trap in the start function): no instance, so no
    // trace, and the instance number is free again unless a later instantiation took one.
    failed() {
      this.recording = false;
      this.control = false;
      const i = contexts.indexOf(this);
      if (i >= 0) contexts.splice(i, 1);
      for (const t of this.tables) {
        const owners = tableOwners.get(t.obj);
        const at = owners.indexOf(this);
        if (at >= 0) owners.splice(at, 2);
      }
      if (instanceCounts.get(this.sha) === this.instance + 1) instanceCounts.set(this.sha, this.instance);
      unclaim("instances", `${this.name}-${this.instance}`);
      this.closeFile(false);
    }

    // The module's code is about to write entries of its table `index` (as numbered in the
    // original): to the other recorded instances sharing the table, a host change.
    wasmTableWrite(index, at, count) {
      const entry = this.tables.find((t) => t.index === index);
      if (entry === undefined) return; // written by the start function, before it was adopted
      const owners = tableOwners.get(entry.obj);
      const end = Math.min(at + count, tableLength.call(entry.obj));
      for (let i = 0; i < owners.length; i += 2) {
        const ctx = owners[i];
        if (ctx === this || !ctx.recording) continue;
        const theirs = owners[i + 1];
        for (let j = at; j < end; j++) {
          const key = `${theirs.index}:${j}`;
          if (!ctx.pendingSets.has(key)) ctx.pendingSets.set(key, { entry: theirs, index: j, before: tableGet.call(entry.obj, j) });
        }
      }
    }

    // ---- functions

    // Original function index of a function object, via __r3_functions (undefined before the
    // instantiation finished, and for functions of other instances).
    indexOf(f) {
      let indices = this.indices;
      if (indices === undefined) {
        const table = this.functions;
        if (table === undefined) return undefined;
        indices = new Map();
        for (let i = 0, n = tableLength.call(table); i < n; i++) {
          const g = tableGet.call(table, i);
          // The same function at two indices (one host function imported twice): the first.
          if (g !== null && !indices.has(g)) indices.set(g, i);
        }
        this.indices = indices;
      }
      return indices.get(f);
    }

    importWrapper(k, real) {
      const params = this.info.params[k];
      const results = this.info.results[k];
      if (!crossesBoundary(params, results)) return real;
      const ctx = this;
      return function (...args) {
        // The host calling its own function (e.g. read from a table): nothing the module sees.
        if (!ctx.control || !ctx.recording) return Reflect.apply(real, undefined, args);
        return ctx.callOut(IMPORT_EVENTS, k, real, params, results, args);
      };
    }

    // The module calls its host: import k, or foreign function k (by its id) through a table.
    // `tags` are the event kinds of the one or the other.
    callOut(tags, k, target, params, results, args) {
      if (this.fresh) this.begin();
      this.outCall(tags, k, params, args);
      this.control = false;
      let value;
      try {
        value = toWasmResults(results, Reflect.apply(target, undefined, args));
      } catch (e) {
        this.control = true;
        if (this.recording) this.outThrow(tags, k, e);
        throw e;
      }
      this.control = true;
      // R3.finish() inside the call ended the trace: nothing may follow its end event.
      if (!this.recording) return value;
      this.outReturn(tags, k, results, value);
      this.enter();
      return value;
    }

    // ---- events

    // The call-stack optimisation: an import_call (or foreign_call) directly followed by its
    // return (or throw) is implied by that event, so callEnded takes it back out of the buffer.
    // Import indices and foreign ids are both varints: `num` writes either.
    outCall(tags, k, params, args) {
      this.declareAll(params, args, false);
      const e = this.enc;
      e.reserve(16 + MAX_VALUE * params.length);
      const start = e.mark();
      e.byte(tags.call);
      e.num(k);
      e.u32(params.length);
      for (let i = 0; i < params.length; i++) {
        const type = params.charCodeAt(i);
        this.value(type, args[i]);
        if (type === T_FUNCREF) args[i] = hostView(args[i]);
      }
      this.openImport = start;
      this.openImportEnd = e.mark();
      this.called();
      this.leave();
    }

    callEnded() {
      this.enc.retract(this.openImport, this.openImportEnd);
      this.openImport = -1;
    }

    outReturn(tags, k, types, value) {
      this.declareAll(types, value, true);
      this.callEnded();
      const e = this.enc;
      e.reserve(16 + MAX_VALUE * types.length);
      e.byte(tags.return);
      e.num(k);
      this.values(types, value);
      this.called();
    }

    // The host may have changed things before it threw; the module, unwinding (or catching),
    // has control again, so this is a host -> module transition like a return.
    outThrow(tags, k, exception) {
      this.callEnded();
      const e = this.enc;
      e.reserve(11);
      e.byte(tags.throw);
      e.num(k);
      this.hasThrown = true;
      this.thrown = exception;
      this.called();
      this.enter();
    }

    // An export_return directly followed by an export_call is implied by it: the host cannot
    // call an export while the module runs one (docs/trace-format.md).
    exportCall(s, args) {
      this.declareAll(s.params, args, false);
      const e = this.enc;
      e.retract(this.heldReturn, this.heldReturnEnd);
      this.heldReturn = -1;
      const params = s.params;
      e.reserve(11 + s.name.length + MAX_VALUE * params.length);
      e.byte(EXPORT_CALL);
      e.u32(s.index);
      e.raw(s.name);
      e.u32(params.length);
      for (let i = 0; i < params.length; i++) this.value(params.charCodeAt(i), args[i]);
      this.called();
    }

    exportReturn(types, value) {
      this.declareAll(types, value, true);
      const e = this.enc;
      e.reserve(6 + MAX_VALUE * types.length);
      const start = e.mark();
      e.byte(EXPORT_RETURN);
      this.values(types, value);
      if (!keepReturns) {
        this.heldReturn = start;
        this.heldReturnEnd = e.mark();
      }
      this.called();
      this.leave();
    }

    // A foreign function's `foreign` event must come before the event using it: events that
    // carry function references declare them first. `value` is one value or, for several
    // results (`multi`), an array.
    declareAll(types, value, multi) {
      if (!types.includes("r")) return;
      if (multi && types.length === 1) {
        this.declare(T_FUNCREF, value);
        return;
      }
      for (let i = 0; i < types.length; i++) this.declare(types.charCodeAt(i), value[i]);
    }

    declare(type, v) {
      if (type !== T_FUNCREF || typeof v !== "function") return;
      const f = unwrap(v);
      if (this.indexOf(f) === undefined) this.foreignId(f);
    }

    // The id of foreign function f in this trace, declared the first time; undefined if its
    // signature is unknown (not a function of a recorded instance).
    foreignId(f) {
      let id = this.foreignIds.get(f);
      if (id !== undefined) return id;
      const info = foreignInfo(f);
      if (info === undefined) return undefined;
      id = this.foreignIds.size;
      this.foreignIds.set(f, id);
      const e = this.enc;
      e.reserve(16 + info.params.length + info.results.length);
      e.byte(FOREIGN);
      e.num(id);
      for (const types of [info.params, info.results]) {
        e.u32(types.length);
        for (let i = 0; i < types.length; i++) e.byte(VALUE_TYPES.get(types.charCodeAt(i))[0]);
      }
      return id;
    }

    exportFailed(exception) {
      const thrown = this.hasThrown && exception === this.thrown;
      if (!thrown) this.takeAllHostWrites();
      const e = this.enc;
      if (thrown) {
        e.reserve(1);
        e.byte(EXPORT_THROW);
      } else {
        e.reserve(1);
        e.byte(EXPORT_TRAP);
        e.string(trapMessage(exception));
      }
      this.hasThrown = false;
      this.thrown = undefined;
      this.called();
      this.leave();
    }

    called() {
      this.calls++;
      if (this.enc.full()) this.enc.makeRoom(this.enc.buf.length);
    }

    memoryGrow(pages) {
      const e = this.enc;
      e.reserve(16);
      e.byte(MEMORY_GROW);
      e.u32(0);
      e.num(pages);
    }

    tableGrow(entry, size) {
      const e = this.enc;
      e.reserve(20);
      e.byte(TABLE_GROW);
      e.u32(entry.index);
      e.num(size);
      e.byte(entry.type === T_FUNCREF ? V_FUNCREF : V_EXTERNREF);
      e.byte(0);
    }

    tableSet(entry, index, value) {
      this.declare(entry.type, value);
      const e = this.enc;
      e.reserve(16 + MAX_VALUE);
      e.byte(TABLE_SET);
      e.u32(entry.index);
      e.num(index);
      this.value(entry.type, value);
    }

    globalSet(index, type, value) {
      this.declare(type, value);
      const e = this.enc;
      e.reserve(6 + MAX_VALUE);
      e.byte(GLOBAL_SET);
      e.u32(index);
      this.value(type, value);
    }

    // A Vec<Value>: a single result comes as the value, several as an array.
    values(types, value) {
      const e = this.enc;
      const n = types.length;
      e.u32(n);
      if (n === 1) this.value(types.charCodeAt(0), value);
      else for (let i = 0; i < n; i++) this.value(types.charCodeAt(i), value[i]);
    }

    value(type, v) {
      const e = this.enc;
      switch (type) {
        case T_I32: e.byte(V_I32); e.i32(v); break;
        case T_I64: e.byte(V_I64); e.i64(v); break;
        case T_F32: e.byte(V_F32); e.f32(v); break;
        case T_F64: e.byte(V_F64); e.f64(v); break;
        case T_FUNCREF: this.funcref(v); break;
        case T_EXTERNREF: e.byte(V_EXTERNREF); this.externref(v); break;
        default: throw new TypeError("r3: a v128 value cannot cross the JavaScript boundary");
      }
    }

    /** What a funcref is compared as: the function's index, the function if foreign, or null. */
    refKey(f) {
      if (f === null || f === undefined) return null;
      const g = unwrap(f);
      return this.indexOf(g) ?? (this.foreignIds.has(g) || foreignInfo(g) !== undefined ? g : null);
    }

    // Foreign functions were declared before the event (see declare).
    funcref(f) {
      const e = this.enc;
      if (f === null) {
        e.byte(V_FUNCREF);
        e.byte(0);
        return;
      }
      const g = unwrap(f);
      const index = this.indexOf(g);
      if (index !== undefined) {
        e.byte(V_FUNCREF);
        e.byte(1);
        e.u32(index);
        return;
      }
      const id = this.foreignIds.get(g);
      if (id === undefined) {
        warnOnce(`foreign:${this.sha}`, `${this.name} got a function of a module that is not recorded ` +
          "across its boundary; it is recorded as null");
        e.byte(V_FUNCREF);
        e.byte(0);
        return;
      }
      e.byte(V_FOREIGN);
      e.num(id);
    }

    // Host values are numbered in order of first appearance; the id is all a replay needs to
    // hand back the same object for the same value.
    externref(v) {
      const e = this.enc;
      if (v === null) {
        e.byte(0);
        return;
      }
      let id = this.externIds.get(v);
      if (id === undefined) {
        id = this.externIds.size;
        this.externIds.set(v, id);
      }
      e.byte(1);
      e.num(id);
    }

    // ---- transitions

    // First activity of the module (an import call from its start function): the host may have
    // changed imported items since linking, e.g. during an asynchronous instantiation.
    begin() {
      this.fresh = false;
      this.enter();
    }

    // Host -> module: what the host changed while it had control becomes visible.
    enter() {
      if (this.memory !== undefined) this.checkMemorySize();
      if (this.tables.length !== 0) this.checkTables();
      if (this.globals.length !== 0) this.checkGlobals();
    }

    // Module -> host: the state the module leaves behind, to compare against on return. The
    // module grows the shadow with memory 0 itself, so memory needs nothing here.
    leave() {
      const globals = this.globals;
      for (let i = 0; i < globals.length; i++) globals[i].last = globals[i].obj.value;
      const tables = this.tables;
      for (let i = 0; i < tables.length; i++) {
        const t = tables[i];
        t.size = tableLength.call(t.obj);
        if (t.seen !== undefined) t.seen = tableEntries(t.obj);
      }
    }

    // Uninstrumented Wasm code (a replay's host module) may write table `t` unseen: from now
    // on the table is compared entry by entry with what the module last saw.
    compareWholly(t, seen) {
      if (t.seen === undefined) t.seen = seen;
    }

    notePendingDifferences(t) {
      const seen = t.seen;
      for (let i = 0, n = tableLength.call(t.obj); i < n; i++) {
        const before = i < seen.length ? seen[i] : null; // grown entries were null
        const key = `${t.index}:${i}`;
        if (tableGet.call(t.obj, i) !== before && !this.pendingSets.has(key)) {
          this.pendingSets.set(key, { entry: t, index: i, before });
        }
      }
    }

    checkMemorySize() {
      if (this.m8.length === 0 || this.s8.length === 0) this.refreshViews();
      const pages = this.m8.length / PAGE;
      const shadowPages = this.shadow.buffer.byteLength / PAGE - 1;
      if (pages <= shadowPages) return;
      this.memoryGrow(pages);
      this.shadow.grow(pages - shadowPages);
    }

    checkTables() {
      const tables = this.tables;
      for (let i = 0; i < tables.length; i++) {
        const t = tables[i];
        const size = tableLength.call(t.obj);
        if (size > t.size) this.tableGrow(t, size);
        t.size = size;
        if (t.seen !== undefined) this.notePendingDifferences(t);
      }
      // In table and index order, like a recorder that compares whole tables (the native one).
      const sets = [...this.pendingSets.values()].sort((a, b) => a.entry.index - b.entry.index || a.index - b.index);
      this.pendingSets.clear();
      for (const { entry, index, before } of sets) {
        if (index >= tableLength.call(entry.obj)) continue;
        const value = tableGet.call(entry.obj, index);
        // E.g. a wrapper replaced by its function: nothing a replay could tell apart, no event.
        const unchanged = entry.type === T_FUNCREF && this.refKey(value) === this.refKey(before);
        if (value !== before && !unchanged) this.tableSet(entry, index, value);
        if (entry.type === T_FUNCREF && value !== null) wrapForeignEntry(this, entry.obj, index, value);
      }
    }

    checkGlobals() {
      const globals = this.globals;
      for (let i = 0; i < globals.length; i++) {
        const g = globals[i];
        const v = g.obj.value;
        if (!Object.is(v, g.last)) {
          this.globalSet(g.index, g.type, v);
          g.last = v;
        }
      }
    }

    // ---- memory

    // The module is about to read `len` bytes at addr + offset of memory 0, and some of them
    // differ from the shadow: record the differing runs around it and take them into the shadow.
    sync(addr, offset, len) {
      const ea = (addr >>> 0) + (offset >>> 0);
      if (this.m8.length === 0 || this.s8.length === 0) this.refreshViews();
      const limit = Math.min(this.m8.length, this.s8.length);
      const start = ea - (ea % WINDOW);
      const last = ea + (len >>> 0);
      const end = Math.min(last + ((WINDOW - (last % WINDOW)) % WINDOW), limit);
      if (start >= end) return; // out of bounds: the module traps on its own
      if (this.recording) this.compare(start, end);
      else this.s8.set(this.m8.subarray(start, end), start);
    }

    // After a trap: the module checks the loads of a straight stretch of code together at its
    // end, so host-written bytes it read just before the trap may not be synced yet. All of
    // memory is compared instead (traps are rare).
    takeAllHostWrites() {
      if (this.memory === undefined) return;
      if (this.m8.length === 0 || this.s8.length === 0) this.refreshViews();
      const end = Math.min(this.m8.length, this.s8.length);
      if (end > 0) this.compare(0, end - (end % 4));
    }

    refreshViews() {
      const mbuf = this.memory.buffer;
      const sbuf = this.shadow.buffer;
      // Shadow views start at the shadow copy of byte 0, so both index by memory address.
      this.m8 = new Uint8Array(mbuf);
      this.s8 = new Uint8Array(sbuf, this.shadowOffset);
      this.m32 = new Int32Array(mbuf);
      this.s32 = new Int32Array(sbuf, this.shadowOffset);
    }

    // Over [start, end) (both multiples of 4: windows and page sizes are): equal words are
    // skipped word-wise, and the runs of differing bytes become one event. Runs are
    // never merged across equal bytes: an equal byte may be one the module wrote after the
    // host last had control (over a byte it read before), and a replay applies the event at
    // the end of that host interval, where the byte must still hold its old value.
    // (docs/trace-format.md, "Host changes".) Word indices stay integers (>>> 2, not / 4) so
    // that the loop runs on int32 arithmetic; 4 GiB, the one end beyond, is 2^30 words.
    compare(start, end) {
      const m32 = this.m32;
      const s32 = this.s32;
      const m8 = this.m8;
      const s8 = this.s8;
      // diff takes i32 addresses: a 4 GiB memory's end is not one.
      const diff = end > 0xffffffff ? undefined : this.diff;
      const wEnd = end > 0xffffffff ? 0x40000000 : end >>> 2;
      const byteEnd = wEnd * 4;
      let w = start >>> 2;
      while (w < wEnd) {
        if (m32[w] === s32[w]) {
          // diff may return w's own block (the difference is further in): step on regardless.
          w = diff === undefined ? w + 1 : Math.max(w + 1, diff(w * 4, end, this.shadowOffset) >>> 2);
          continue;
        }
        // Word w differs: the run from its first differing byte. takeRun copies the run into
        // the shadow, so the rest of the word (if the run ends inside it) is looked at again.
        const first = w * 4 + this.equalPrefix(w);
        let to = first + 1;
        while (to < byteEnd && m8[to] !== s8[to]) to++;
        this.takeRun(first, to);
        if (to >= byteEnd) break;
        w = to >>> 2;
      }
      if (this.runs.length > 0) this.memoryWrite();
    }

    // Equal bytes at the low addresses of word w, which differs.
    equalPrefix(w) {
      const m8 = this.m8;
      const s8 = this.s8;
      const at = w * 4;
      let n = 0;
      while (m8[at + n] === s8[at + n]) n++;
      return n;
    }

    takeRun(from, to) {
      copyBytes(this.s8, from, this.m8, from, to);
      this.runs.push(from, to);
    }

    // The runs one read found: a memory_write for one, a memory_writes for several.
    memoryWrite() {
      const runs = this.runs;
      const m8 = this.m8;
      const e = this.enc;
      let size = 16;
      for (let i = 0; i < runs.length; i += 2) size += 20 + runs[i + 1] - runs[i];
      e.reserve(size);
      e.byte(runs.length === 2 ? MEMORY_WRITE : MEMORY_WRITES);
      e.u32(0);
      if (runs.length > 2) e.u32(runs.length >>> 1);
      // A memory_write holds its run's address; memory_writes each run's distance from the
      // previous one's end (docs/trace-format.md).
      let end = 0;
      for (let i = 0; i < runs.length; i += 2) {
        const from = runs[i];
        const n = runs[i + 1] - from;
        e.num(from - end);
        e.num(n);
        if (runs.length > 2) end = from + n;
        copyBytes(e.buf, e.pos, m8, from, from + n);
        e.pos += n;
      }
      runs.length = 0;
      if (e.full()) e.makeRoom(e.buf.length);
    }

    // ---- the end

    finish() {
      if (!this.recording) return;
      this.recording = false;
      this.endEvent(this.enc);
      if (host === undefined) {
        // The original bytes go along: a replay needs them, and a page has no directory.
        const noted = originals.get(this.sha);
        finishedTraces.push({ name: this.name, instance: this.instance, sha256: this.sha, bytes: this.enc.bytes(),
          module: noted === undefined ? undefined : noted.bytes });
      } else {
        this.writeFile();
      }
    }

    endEvent(e) {
      e.reserve(11);
      e.byte(END);
      e.bigU64(BigInt.asUintN(64, this.naiveReads() + BigInt(this.calls)));
    }

    naiveReads() {
      const g = this.nativeExports === undefined ? undefined : this.nativeExports.__r3_naive;
      return g instanceof WebAssembly.Global ? BigInt.asUintN(64, g.value) : 0n;
    }

    // ---- the trace file (node)

    tracePath() {
      return host.path.join(host.dir, `${this.name}-${this.instance}.r3`);
    }

    // Takes encoded bytes out to the temporary trace file; false (after reporting) if it
    // cannot, which ends this recording.
    spill(buf, n) {
      try {
        if (this.fd === undefined) {
          host.fs.mkdirSync(host.dir, { recursive: true });
          this.tmp = `${this.tracePath()}.${host.process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
          this.fd = host.fs.openSync(this.tmp, "w");
        }
        for (let off = 0; off < n;) off += host.fs.writeSync(this.fd, buf, off, n - off, this.written + off);
        this.written += n;
        return true;
      } catch (e) {
        return this.cannotWrite(e);
      }
    }

    cannotWrite(e) {
      warn(`cannot write the trace ${this.tracePath()}: ${e.message}; recording of it stops`);
      this.recording = false;
      this.closeFile(false);
      return false;
    }

    writeFile() {
      const e = this.enc;
      if (e.spill === undefined || !this.spill(e.buf, e.pos)) return;
      e.pos = 0;
      const file = this.tracePath();
      if (this.truncate() && this.closeFile(true)) finishedTraces.push({ name: this.name, instance: this.instance, file });
    }

    // A complete trace in place, as if the recording ended now: the events so far and an end
    // event, which the next checkpoint's events overwrite. A process killed while every
    // instance is idle (a SIGTERM from its parent, say) leaves the whole trace.
    // An export_return the next export_call may still take back stays in the buffer, and is
    // written after the file's events like the end event, so that traces do not depend on
    // when checkpoints ran.
    checkpoint() {
      const e = this.enc;
      if (!this.recording || e.spill === undefined) return;
      const held = e.retractable(this.heldReturn, this.heldReturnEnd) ? this.heldReturnEnd - this.heldReturn : 0;
      const settled = e.pos - held;
      if (settled > 0) {
        if (!this.spill(e.buf, settled)) return;
        e.buf.copyWithin(0, settled, e.pos);
        e.pos = held;
        e.spills++;
        this.heldReturn = e.mark() - held;
        this.heldReturnEnd = e.mark();
      }
      const tail = new Encoder(undefined);
      tail.reserve(held);
      tail.raw(e.buf.subarray(0, held));
      this.endEvent(tail);
      const events = this.written;
      if (!this.spill(tail.buf, tail.pos)) return;
      this.written = events;
      if (!this.truncate(events + tail.pos)) return;
      if (!this.inPlace) {
        try {
          host.fs.renameSync(this.tmp, this.tracePath());
          this.inPlace = true;
          // From now on the file changes only at checkpoints and at the end, so that it is
          // complete whenever the process may be killed.
          e.hold = true;
        } catch (err) {
          warn(`cannot write the trace ${this.tracePath()}: ${err.message}`);
        }
      }
    }

    truncate(length = this.written) {
      try {
        host.fs.ftruncateSync(this.fd, length);
        return true;
      } catch (e) {
        return this.cannotWrite(e);
      }
    }

    // Closes the temporary file and renames it into place (keep) or removes it.
    closeFile(keep) {
      if (this.fd === undefined) return false;
      const fs = host.fs;
      try {
        fs.closeSync(this.fd);
        this.fd = undefined;
        const path = this.inPlace ? this.tracePath() : this.tmp;
        if (!keep) fs.rmSync(path, { force: true });
        else if (!this.inPlace) fs.renameSync(this.tmp, this.tracePath());
        return keep;
      } catch (e) {
        warn(`cannot write the trace ${this.tracePath()}: ${e.message}`);
        return false;
      }
    }
  }

  function diffFunction(memory, shadow) {
    if (diffModule === undefined) {
      try {
        diffModule = new native.Module(new Uint8Array(DIFF_MODULE));
      } catch {
        diffModule = null;
      }
    }
    if (diffModule === null) return undefined;
    return new native.Instance(diffModule, { r3: { memory, shadow } }).exports.diff;
  }

  function namespace(imports, ns) {
    const space = imports === undefined || imports === null ? undefined : imports[ns];
    return space !== null && (typeof space === "object" || typeof space === "function") ? space : undefined;
  }

  // The namespace `ns` of `linked` (see `link`) as an object of its own, so that defining an
  // import there leaves the caller's object unchanged.
  function ownNamespace(linked, imports, ns) {
    if (!Object.prototype.hasOwnProperty.call(linked, ns)) define(linked, ns, Object.create(namespace(imports, ns) ?? null));
    return linked[ns];
  }

  // defineProperty, not assignment: the caller's object may be frozen, and an inherited
  // read-only property would make an assignment fail.
  function define(object, key, value) {
    Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  }

  // The engine reads each import once, in import order; a name imported twice therefore gets
  // its wrappers one per read.
  function defineImport(space, name, wrappers) {
    if (wrappers.length === 1) {
      define(space, name, wrappers[0]);
      return;
    }
    let reads = 0;
    Object.defineProperty(space, name, {
      get: () => wrappers[Math.min(reads++, wrappers.length - 1)],
      enumerable: true, configurable: true,
    });
  }

  function trapMessage(e) {
    try {
      return String(e !== null && typeof e === "object" && e.message !== undefined ? e.message : e);
    } catch {
      return "(an exception whose message cannot be read)";
    }
  }

  // ---------------------------------------------------------------------------------------
  // Host entries: every module function the host can call is a wrapper that records the call.

  function entryWrapper(ctx, fn) {
    let wrapper = wrapperOf.get(fn);
    if (wrapper !== undefined) return wrapper;
    // index -1: resolved on the first call (the index map is built lazily).
    const s = { ctx, fn, index: -1, params: "", results: "", name: undefined, handsOutRefs: false };
    wrapper = (...args) => callEntry(s, args);
    // The JS API names an exported function by its index; the host sees the original's index
    // (the instrumented module's functions are shifted by the imports it adds).
    const index = ctx.indexOf(fn);
    Object.defineProperty(wrapper, "name", { value: index === undefined ? fn.name : String(index) });
    Object.defineProperty(wrapper, "length", { value: fn.length });
    wrapperOf.set(fn, wrapper);
    nativeOf.set(wrapper, fn);
    return wrapper;
  }

  const FORWARD = -2;

  function resolveEntry(s) {
    const ctx = s.ctx;
    const index = ctx.indexOf(s.fn);
    // Not known yet (called during the start function), a re-exported import (the host's own
    // function), or one the engine refuses to call from JS: nothing to record.
    if (index === undefined) {
      if (ctx.instantiatedYet) s.index = FORWARD;
      return;
    }
    const params = ctx.info.params[index];
    const results = ctx.info.results[index];
    if (index < ctx.info.imported || !crossesBoundary(params, results)) {
      s.index = FORWARD;
      return;
    }
    s.params = params;
    s.results = results;
    s.name = encodedString(ctx.exportNames.get(s.fn) || "");
    s.handsOutRefs = results.includes("r");
    s.index = index;
  }

  function callEntry(s, args) {
    if (s.index < 0 && s.index !== FORWARD) resolveEntry(s);
    const ctx = s.ctx;
    if (s.index < 0 || !ctx.recording) return Reflect.apply(s.fn, undefined, args);
    toWasmArgs(s.params, args);
    ctx.exportCall(s, args);
    const outer = ctx.control;
    ctx.control = true;
    let results;
    try {
      ctx.enter();
      results = Reflect.apply(s.fn, undefined, args);
    } catch (e) {
      ctx.control = outer;
      if (ctx.recording) ctx.exportFailed(e);
      scheduleCheckpoint();
      throw e;
    }
    ctx.control = outer;
    if (!ctx.recording) return results; // finished meanwhile (R3.finish() in a nested call)
    ctx.exportReturn(s.results, results);
    scheduleCheckpoint();
    return s.handsOutRefs ? handOutResults(s.results, results) : results;
  }

  function handOutResults(types, results) {
    if (types.length === 1) return hostView(results);
    for (let i = 0; i < types.length; i++) if (types.charCodeAt(i) === T_FUNCREF) results[i] = hostView(results[i]);
    return results;
  }

  // What the host gets for a function reference: the recording wrapper for a function defined
  // in a recorded instance, the function itself otherwise (imports are the host's own).
  function hostView(f) {
    if (typeof f !== "function") return f;
    const wrapper = wrapperOf.get(f);
    if (wrapper !== undefined) return wrapper;
    for (let i = 0; i < contexts.length; i++) {
      const ctx = contexts[i];
      const index = ctx.indexOf(f);
      if (index !== undefined) return index >= ctx.info.imported ? entryWrapper(ctx, f) : f;
    }
    return f;
  }

  // ---------------------------------------------------------------------------------------
  // Foreign functions (docs/trace-format.md): with dynamic linking a module calls functions of
  // other instances through a shared table, not through its imports. Wherever a recorded
  // module finds such a function in a table, the recorder puts a wrapper there: a Wasm function
  // (so that call_indirect takes it) made by a tiny module importing a JS function. A call of
  // the wrapper is a call of the host for the recorded instance that has control, and a call
  // from the host for the function's own instance.

  // Signature and owner of a function of a recorded instance; undefined for any other.
  function foreignInfo(f) {
    let info = foreignInfos.get(f);
    if (info !== undefined) return info;
    for (let i = 0; i < contexts.length; i++) {
      const ctx = contexts[i];
      const index = ctx.indexOf(f);
      if (index === undefined) continue;
      info = { params: ctx.info.params[index], results: ctx.info.results[index], owner: ctx };
      foreignInfos.set(f, info);
      return info;
    }
    return undefined;
  }

  // At most one recorded instance runs its code at a time.
  function controllingContext() {
    for (let i = 0; i < contexts.length; i++) if (contexts[i].control) return contexts[i];
    return undefined;
  }

  // Puts the wrapper of foreign function f (read from `table` at `index`, where the module
  // `ctx` can reach it) in its place.
  function wrapForeignEntry(ctx, table, index, f) {
    if (nativeOf.has(f) || ctx.indexOf(f) !== undefined) return; // a wrapper, or its own
    const wrapper = foreignWrapper(f);
    if (wrapper !== undefined) tableSet.call(table, index, wrapper);
  }

  function foreignWrapper(f) {
    let wrapper = foreignWrappers.get(f);
    if (wrapper !== undefined) return wrapper;
    const info = foreignInfo(f);
    if (info === undefined) return undefined;
    if (!crossesBoundary(info.params, info.results)) {
      warnOnce(`foreign-v128:${info.owner.sha}`, `${info.owner.name} has functions with v128 values in a table ` +
        "other modules share; their calls from those modules are not recorded");
      return undefined;
    }
    const call = function (...args) {
      const ctx = controllingContext();
      if (ctx === info.owner) return Reflect.apply(f, undefined, args);
      if (ctx === undefined || !ctx.recording) return Reflect.apply(hostView(f), undefined, args);
      return ctx.callOut(FOREIGN_EVENTS, ctx.foreignId(f), hostView(f), info.params, info.results, args);
    };
    const module = wrapperModule(info.params, info.results);
    wrapper = new native.Instance(module, { r3: { f: call } }).exports.f;
    foreignWrappers.set(f, wrapper);
    nativeOf.set(wrapper, f);
    return wrapper;
  }

  // (module (import "r3" "f" (func (param ...) (result ...))) (export "f" (func 0)))
  function wrapperModule(params, results) {
    const key = `${params}|${results}`;
    let module = wrapperModules.get(key);
    if (module !== undefined) return module;
    const e = new Encoder(undefined);
    const section = (id, content) => {
      e.reserve(6 + content.length);
      e.byte(id);
      e.u32(content.length);
      e.raw(content);
    };
    const types = new Encoder(undefined);
    types.reserve(16 + params.length + results.length);
    types.raw([1, 0x60]);
    for (const list of [params, results]) {
      types.u32(list.length);
      for (let i = 0; i < list.length; i++) types.byte(VALUE_TYPES.get(list.charCodeAt(i))[1]);
    }
    e.reserve(8);
    e.raw([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    section(1, types.bytes());
    section(2, [1, 2, 0x72, 0x33, 1, 0x66, 0x00, 0x00]); // "r3" "f": function of type 0
    section(7, [1, 1, 0x66, 0x00, 0x00]); // "f": function 0
    module = new native.Module(e.bytes());
    wrapperModules.set(key, module);
    return module;
  }

  // Another module's element segments may write tables recorded instances share while it is
  // instantiated: those entries are host changes to the recorded instances, like a table.set.
  function watchTables(module, imports) {
    if (imports === null || typeof imports !== "object") return [];
    const watched = [];
    for (const { module: ns, name, kind } of moduleImports(module)) {
      if (kind !== "table") continue;
      const space = namespace(imports, ns);
      const table = space === undefined ? undefined : space[name];
      const owners = table instanceof WebAssembly.Table ? tableOwners.get(table) : undefined;
      if (owners === undefined) continue;
      watched.push({ table, owners: owners.slice(), before: tableEntries(table) });
    }
    return watched;
  }

  function tableEntries(table) {
    const entries = [];
    for (let i = 0, n = tableLength.call(table); i < n; i++) entries.push(tableGet.call(table, i));
    return entries;
  }

  // A module that is not recorded (a replay's host module) got tables recorded instances
  // share: its writes to them are host changes nobody reports.
  function compareWholly(watched) {
    for (const { owners, before } of watched) {
      for (let i = 0; i < owners.length; i += 2) owners[i].compareWholly(owners[i + 1], before.slice());
    }
  }

  // A replay's host module stands in for foreign functions; its section says their types.
  function noteStandIns(module, instance) {
    let section;
    try {
      const sections = native.customSections.call(WebAssembly.Module, module, "r3-replay");
      if (sections.length === 0) return;
      section = JSON.parse(decodeUtf8(sections[0]));
    } catch {
      return; // not a replay's host module after all
    }
    for (const { id, params, results } of section.foreign || []) {
      const f = instance.exports[`foreign/${id}`];
      if (typeof f === "function") foreignInfos.set(f, { params, results, owner: undefined });
    }
  }

  function noteElementWrites(watched) {
    for (const { table, owners, before } of watched) {
      const n = Math.min(before.length, tableLength.call(table));
      for (let i = 0; i < n; i++) {
        if (tableGet.call(table, i) !== before[i]) noteTableSet(owners, i, 1, before[i]);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Tables: the host reads functions through wrappers, and its writes to tables of recorded
  // instances are kept for the next host -> module transition of each owner.

  const tablePatches = {
    get(index) {
      const v = tableGet.call(this, index);
      return typeof v === "function" && tableOwners.has(this) ? hostView(v) : v;
    },
    set(index, value) {
      const owners = tableOwners.get(this);
      const at = index >>> 0;
      const before = owners !== undefined && at < tableLength.call(this) ? tableGet.call(this, at) : undefined;
      const result = arguments.length < 2 ? tableSet.call(this, index) : tableSet.call(this, index, unwrap(value));
      if (owners !== undefined) noteTableSet(owners, at, 1, before);
      return result;
    },
    grow(delta, value) {
      const old = arguments.length < 2 ? tableGrow.call(this, delta) : tableGrow.call(this, delta, unwrap(value));
      const owners = tableOwners.get(this);
      const added = tableLength.call(this) - old;
      // New entries that are null need no event: table_grow's init is null.
      if (owners !== undefined && added > 0 && tableGet.call(this, old) !== null) {
        noteTableSet(owners, old, added, null);
      }
      return old;
    },
  };

  // `before`: the entry's value before the host's write (null for entries a grow added).
  function noteTableSet(owners, index, count, before) {
    for (let i = 0; i < owners.length; i += 2) {
      const ctx = owners[i];
      if (!ctx.recording) continue;
      const entry = owners[i + 1];
      for (let j = 0; j < count; j++) {
        const key = `${entry.index}:${index + j}`;
        if (!ctx.pendingSets.has(key)) ctx.pendingSets.set(key, { entry, index: index + j, before });
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Instantiation.

  function link(module, imports) {
    const info = infoOf(module);
    if (info === null) return undefined;
    const isObject = imports !== null && (typeof imports === "object" || typeof imports === "function");
    if (imports !== undefined && !isObject) return undefined; // let the engine report the TypeError
    return new Context(info, imports);
  }

  // V8 moves a function to its optimizing tier once it has run a budget of code bytes, fixed
  // when the module is compiled. Instrumented code runs more bytes per original instruction
  // (about as many more as the module grew), so unscaled, many more functions reach the
  // optimizing tier than in the original run, and their compilation (slower on instrumented
  // code) is waited for whenever node's event loop runs dry and at exit. A user's own budget
  // is scaled instead. The flag applies to every later compilation, so a module left as it is
  // (a replay's host, say) gets the base budget back.
  const V8_TIERING_BUDGET = 13000000; // node 22 to 26
  let tieringBudget;
  function beforeCompile(original, instrumented) {
    if (host === undefined) return;
    const size = (bytes) => (bytes !== null && typeof bytes === "object" ? bytes.byteLength : undefined);
    const growth = instrumented === original ? 1 : Math.max(1, size(instrumented) / size(original));
    if (!Number.isFinite(growth)) return;
    const flag = "--wasm-tiering-budget=";
    const own = host.process.execArgv.find((arg) => arg.startsWith(flag));
    const base = own === undefined ? V8_TIERING_BUDGET : Number(own.slice(flag.length));
    tieringBudget ??= base;
    const budget = Math.round(base * growth);
    if (!Number.isSafeInteger(budget) || budget > 0x7fffffff || budget === tieringBudget) return;
    try {
      host.v8.setFlagsFromString(flag + budget);
      tieringBudget = budget;
    } catch {
      // no such flag in this engine: the budget stays as it is
    }
  }

  function instantiateModule(module, imports) {
    let ctx;
    let watched;
    try {
      watched = watchTables(module, imports);
      ctx = link(module, imports);
    } catch (e) {
      return Promise.reject(e);
    }
    if (ctx === undefined) {
      compareWholly(watched);
      return native.instantiate.call(WebAssembly, module, imports).then((instance) => {
        noteElementWrites(watched);
        noteStandIns(module, instance);
        return instance;
      });
    }
    return native.instantiate.call(WebAssembly, module, ctx.imports).then(
      (instance) => {
        noteElementWrites(watched);
        return ctx.instantiated(instance);
      },
      (e) => { ctx.failed(); throw e; });
  }

  function Instance(module, imports) {
    if (new.target === undefined) {
      throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    }
    const watched = isModule(module) ? watchTables(module, imports) : [];
    const ctx = isModule(module) ? link(module, imports) : undefined;
    if (ctx === undefined) {
      compareWholly(watched);
      const instance = Reflect.construct(native.Instance, [module, imports], new.target);
      noteElementWrites(watched);
      if (isModule(module)) noteStandIns(module, instance);
      return instance;
    }
    let instance;
    try {
      instance = Reflect.construct(native.Instance, [module, ctx.imports], new.target);
    } catch (e) {
      ctx.failed();
      throw e;
    }
    noteElementWrites(watched);
    return ctx.instantiated(instance);
  }
  // Sharing the prototype keeps `instanceof WebAssembly.Instance` true for every instance.
  Instance.prototype = native.Instance.prototype;

  // A funcref global the host makes may hold a module's function, which the host knows as its
  // recording wrapper (a JS function): the engine gets the function itself.
  function Global(descriptor, value) {
    if (new.target === undefined) {
      throw new TypeError("WebAssembly.Global must be invoked with 'new'");
    }
    const args = arguments.length < 2 ? [descriptor] : [descriptor, unwrap(value)];
    return Reflect.construct(native.Global, args, new.target);
  }
  Global.prototype = native.Global.prototype;
  const globalValue = Object.getOwnPropertyDescriptor(native.Global.prototype, "value");
  const globalValuePatch = {
    ...globalValue,
    set(value) {
      globalValue.set.call(this, unwrap(value));
    },
  };

  // Engines without multi-memory reject every r3-instrumented module; say why.
  function explainCompileError(e) {
    if (e instanceof WebAssembly.CompileError &&
        /at most one memory|memory count|multi-?memory|multiple memories/i.test(e.message)) {
      return new WebAssembly.CompileError(
        `r3 recording needs multi-memory: node >= 22 or a current browser (${e.message})`);
    }
    return e;
  }

  const rethrowExplained = (e) => { throw explainCompileError(e); };

  const patched = {
    Instance,
    Global,
    instantiate(source, imports) {
      if (isModule(source)) return instantiateModule(source, imports);
      // Compile first to read the custom section; instantiate(bytes) does the same inside.
      return native.compile.call(WebAssembly, source).then((module) =>
        instantiateModule(module, imports).then((instance) => ({ module, instance })), rethrowExplained);
    },
    async instantiateStreaming(source, imports) {
      let module;
      try {
        module = native.compileStreaming !== undefined
          ? await native.compileStreaming.call(WebAssembly, source)
          : await native.compile.call(WebAssembly, await (await source).arrayBuffer());
      } catch (e) {
        rethrowExplained(e);
      }
      return { module, instance: await instantiateModule(module, imports) };
    },
  };

  function install() {
    for (const name of Object.keys(patched)) {
      const original = Object.getOwnPropertyDescriptor(WebAssembly, name);
      if (original === undefined) continue; // e.g. no instantiateStreaming in this engine
      const f = patched[name];
      Object.defineProperty(f, "length", { value: native[name].length });
      Object.defineProperty(WebAssembly, name, { ...original, value: f });
    }
    for (const [name, patch] of [["Instance", Instance], ["Global", Global]]) {
      Object.defineProperty(native[name].prototype, "constructor", {
        value: patch, writable: true, configurable: true, enumerable: false,
      });
    }
    Object.defineProperty(native.Global.prototype, "value", globalValuePatch);
    for (const name of Object.keys(tablePatches)) {
      const original = Object.getOwnPropertyDescriptor(TablePrototype, name);
      const f = tablePatches[name];
      Object.defineProperty(f, "length", { value: original.value.length });
      Object.defineProperty(TablePrototype, name, { ...original, value: f });
    }
    if (host !== undefined) {
      host.process.on("exit", finishAtExit);
    }
  }

  // A process killed by a signal runs no exit handlers, so trace files are kept complete as of
  // the last time every instance was idle: on the next turn of the event loop after the last
  // instance returns, a checkpoint writes each trace's new events and an end event into place.
  // Signals keep their default effect: a listener, which would run only from the event loop,
  // would let the process go on meanwhile and end other than the plain one does (esbuild's
  // service process exits normally on the end of its stdin, which its parent closes just
  // before its SIGTERM, and that exit waits seconds for the engine's background compilations).
  // A process killed while an instance is busy leaves the trace of the last checkpoint.
  let checkpointPending = false;

  function scheduleCheckpoint() {
    if (checkpointPending || host === undefined || typeof setImmediate !== "function") return;
    checkpointPending = true;
    setImmediate(checkpointAll);
  }

  function checkpointAll() {
    checkpointPending = false;
    if (contexts.some((ctx) => ctx.control)) return; // a later return schedules another
    for (const ctx of contexts) {
      try {
        ctx.checkpoint();
      } catch (e) {
        warn(`cannot write the trace of ${ctx.name} instance ${ctx.instance}: ${e && e.stack || e}`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // The end of a recording.

  function finishAll() {
    for (const ctx of contexts) {
      try {
        ctx.finish();
      } catch (e) {
        warn(`cannot finish the trace of ${ctx.name} instance ${ctx.instance}: ${e && e.stack || e}`);
      }
    }
  }

  // Must not throw: the program's exit status is not the recorder's to change.
  function finishAtExit() {
    try {
      finishAll();
    } catch (e) {
      warn(`finishing the traces failed: ${e && e.stack || e}`);
    }
    unmarkActive();
  }

  // A process that records leaves a marker in the trace directory until its traces are
  // written, so that `r3 record` also waits for child processes that outlive the program
  // (esbuild's service process ends only after its parent).
  let activeMarker;
  function markActive() {
    if (host === undefined || activeMarker !== undefined) return;
    let thread = 0;
    try {
      thread = host.process.getBuiltinModule ? host.process.getBuiltinModule("worker_threads").threadId : 0;
    } catch {
      thread = 0;
    }
    activeMarker = host.path.join(host.dir, `.r3-active-${host.process.pid}-${thread}`);
    try {
      host.fs.mkdirSync(host.dir, { recursive: true });
      host.fs.writeFileSync(activeMarker, "");
    } catch (e) {
      warn(`cannot write ${activeMarker}: ${e.message}`);
    }
  }

  function unmarkActive() {
    if (activeMarker === undefined) return;
    try {
      host.fs.unlinkSync(activeMarker);
    } catch {
      // already gone: nothing waits for it
    }
  }

  function writeOriginal(sha, name) {
    const noted = originals.get(sha);
    if (noted === undefined || writtenModules.has(sha)) return;
    writtenModules.add(sha);
    const file = host.path.join(host.dir, `${name}.wasm`);
    const tmp = `${file}.${host.process.pid}.tmp`;
    try {
      host.fs.writeFileSync(tmp, noted.bytes);
      host.fs.renameSync(tmp, file);
    } catch (e) {
      warn(`cannot write the original module ${file}: ${e.message}`);
    }
  }

  const R3 = {
    contexts,

    // The preload hands over the uninstrumented bytes of a module it instrumented, and the
    // name of the file they came from, if known.
    noteOriginal(sha, bytes, name) {
      if (typeof sha !== "string" || originals.has(sha)) return;
      originals.set(sha, { bytes: new Uint8Array(bytes).slice(), name: name || undefined });
    },

    moduleName(sha) {
      const noted = originals.get(sha);
      return noted === undefined ? undefined : noted.name;
    },

    // Ends the recording of every instance so far and writes their traces (node). Instances
    // keep running unrecorded; later instances are recorded until exit.
    finish() {
      finishAll();
    },

    // Finished traces: [{name, instance, file}] in node; in browsers [{name, instance, sha256,
    // bytes, module}]: the binary trace and the original module's bytes (undefined if the
    // recorder did not instrument it itself), see docs/recording.md.
    traces() {
      finishAll();
      return finishedTraces.slice();
    },
  };
  // The claims of trace names and instance numbers (see `claims`), for browser-runtime.js.
  const useClaims = (store) => { claims = store; };
  const keepAllReturns = () => { keepReturns = true; };
  Object.defineProperty(R3, RUNTIME, {
    value: Object.freeze({ native, explainCompileError, beforeCompile, useClaims, keepAllReturns }),
  });

  install();
  globalThis.R3 = R3;
  return R3;
})();
