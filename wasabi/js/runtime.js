/*
 * Wasabi runtime: the registry of instrumented modules, the analysis API with its no-op
 * defaults, and patches of the WebAssembly JS API that hand every instance of an instrumented
 * module its low-level hooks (imports from "__wasabi_hooks").
 *
 * This text is copied verbatim at the top of every generated NAME.wasabi.js, so one realm may
 * evaluate it many times (several instrumented modules on a page, or in one node process).
 * Only the first evaluation installs anything; later ones return the same global object, so
 * the analysis, the registry and the patches survive. No top-level `let`/`const`: a second
 * classic <script> redeclaring them would be a SyntaxError, a `var` is not.
 *
 * High-level hooks an analysis may define: all optional, arguments as in DEFAULT_HOOKS below
 * (upstream Wasabi's, with Wasm 2.0 additions appended so upstream analyses keep working).
 * `loc` is {func, instr}, instr -1 for a function's begin and implicit return; i64 values are
 * BigInt, v128 values Uint8Array(16), references the engine's objects.
 */
var Wasabi = (function () {
  "use strict";

  const RUNTIME = Symbol.for("wasabi.runtime");
  const previous = globalThis.Wasabi;
  if (previous != null && previous[RUNTIME] !== undefined) return previous;

  // One distinct empty function per hook: a shared one would make every call site that
  // reaches a default polymorphic in V8's eyes for no gain. Parameters are documentation only.
  /* eslint-disable no-unused-vars */
  const DEFAULT_HOOKS = Object.freeze({
    start(loc) {},
    nop(loc) {},
    unreachable(loc) {},
    if_(loc, condition) {},
    br(loc, target) {}, // target: {label, location}
    br_if(loc, target, condition) {},
    br_table(loc, table, defaultTarget, tableIdx) {},
    begin(loc, type, ifLoc) {}, // type: "function" | "block" | "loop" | "if" | "else"
    end(loc, type, beginLoc, ifLoc) {},
    drop(loc, value) {},
    select(loc, condition, first, second) {},
    call_pre(loc, func, args, elemIdx, tableIdx) {}, // elemIdx, tableIdx: call_indirect only
    call_post(loc, results) {},
    return_(loc, results) {},
    const_(loc, op, value) {},
    unary(loc, op, input, result) {},
    binary(loc, op, first, second, result) {},
    ternary(loc, op, first, second, third, result) {},
    shuffle(loc, op, lanes, first, second, result) {},
    extract_lane(loc, op, lane, input, result) {},
    replace_lane(loc, op, lane, input, value, result) {},
    load(loc, op, memarg, value) {}, // memarg: {addr, offset, align[, lane]}
    store(loc, op, memarg, value) {},
    memory_size(loc, memory, currentPages) {},
    memory_grow(loc, memory, deltaPages, previousPages) {},
    memory_fill(loc, dest, value, length, memory) {},
    memory_copy(loc, dest, src, length, destMemory, srcMemory) {},
    memory_init(loc, dest, src, length, dataIdx, memory) {},
    data_drop(loc, dataIdx) {},
    table_size(loc, currentSize, table) {},
    table_copy(loc, dest, src, length, destTable, srcTable) {},
    table_init(loc, dest, src, length, elemIdx, table) {},
    table_get(loc, index, value, table) {},
    table_set(loc, index, value, table) {},
    table_grow(loc, delta, value, previousSize, table) {},
    table_fill(loc, index, value, length, table) {},
    elem_drop(loc, elemIdx) {},
    ref_null(loc, type) {},
    ref_is_null(loc, ref, result) {},
    ref_func(loc, funcIdx, ref) {},
    local(loc, op, localIdx, value) {},
    global(loc, op, globalIdx, value) {},
    atomic_rmw(loc, op, memarg, operand, oldValue) {},
    atomic_cmpxchg(loc, op, memarg, expected, replacement, oldValue) {},
    atomic_wait(loc, op, memarg, expected, timeout, result) {},
    atomic_notify(loc, op, memarg, count, woken) {},
    atomic_fence(loc) {},
  });
  /* eslint-enable no-unused-vars */
  const HOOK_NAMES = Object.freeze(Object.keys(DEFAULT_HOOKS));

  // Filling the defaults into the analysis object itself (instead of checking per call) keeps
  // the generated `Wasabi.analysis.x(...)` calls free of branches.
  function withDefaults(analysis) {
    if (analysis == null) analysis = {};
    if (typeof analysis !== "object" && typeof analysis !== "function") {
      throw new TypeError("Wasabi.analysis must be an object of hook functions");
    }
    const missing = HOOK_NAMES.filter((name) => typeof analysis[name] !== "function");
    if (missing.length === 0) return analysis;
    // A frozen or sealed analysis cannot take the defaults: put them on an object in front of it.
    const target = Object.isExtensible(analysis) && missing.every((n) => isWritable(analysis, n))
      ? analysis
      : Object.create(analysis);
    for (const name of missing) {
      Object.defineProperty(target, name, {
        value: DEFAULT_HOOKS[name], writable: true, configurable: true, enumerable: false,
      });
    }
    return target;
  }

  function isWritable(object, name) {
    const own = Object.getOwnPropertyDescriptor(object, name);
    return own === undefined || own.configurable || own.writable === true;
  }

  const native = {
    Module: WebAssembly.Module,
    Instance: WebAssembly.Instance,
    compile: WebAssembly.compile,
    compileStreaming: WebAssembly.compileStreaming,
    instantiate: WebAssembly.instantiate,
    instantiateStreaming: WebAssembly.instantiateStreaming,
    customSections: WebAssembly.Module.customSections,
  };

  const entries = new Map(); // id -> registered entry
  const moduleIds = new WeakMap(); // WebAssembly.Module -> id string, or null if not instrumented
  // Ids are ASCII (hex); TextDecoder is missing in some shells and bare vm contexts.
  const decoder = typeof TextDecoder === "function" ? new TextDecoder() : undefined;
  const decodeId = (buffer) => decoder !== undefined
    ? decoder.decode(buffer)
    : String.fromCharCode.apply(null, new Uint8Array(buffer));
  let analysis = withDefaults(previous != null ? previous.analysis : undefined);

  class ModuleContext {
    constructor(entry) {
      this.id = entry.id;
      this.info = entry.info;
      this.lowlevelHooks = undefined;
      this.instance = undefined;
      this.exports = undefined;
      this.table = undefined;
      this.functionIndices = undefined;
    }

    // Original function index of a function reference. The instrumenter exports a table whose
    // entry k is original function k, and the engine hands out one object per function, so
    // identity is the key.
    resolveFunction(funcref) {
      if (funcref == null) return undefined;
      let indices = this.functionIndices;
      if (indices === undefined) {
        const table = this.table;
        if (table === undefined) return undefined; // e.g. during the start function
        indices = new Map();
        for (let i = 0, n = table.length; i < n; i++) {
          const f = table.get(i);
          // The same host function imported twice is one object: keep its first index.
          if (f !== null && !indices.has(f)) indices.set(f, i);
        }
        this.functionIndices = indices;
      }
      return indices.get(funcref);
    }
  }

  const Wasabi = {
    HOOK_NAMES,
    analysisResult: previous != null ? previous.analysisResult : undefined,
    // The context of the most recently instantiated instrumented module (upstream analyses
    // read Wasabi.module.info), and of all of them.
    module: undefined,
    modules: [],
    entries,
    // Optional loader for ids that were not registered yet, e.g. a module compiled in another
    // thread; preload.cjs sets it. Returns an entry or undefined.
    resolveEntry: undefined,

    register(entry) {
      if (entry == null || typeof entry.id !== "string" || typeof entry.lowlevelHooks !== "function") {
        throw new TypeError("Wasabi.register: expected {id: string, info, lowlevelHooks: function}");
      }
      entries.set(entry.id, entry);
      return entry;
    },

    // A v128 crosses the JS boundary as four i32 lanes; analyses see its 16 bytes in memory
    // order. Byte-wise stores keep this independent of the host's endianness.
    v128(l0, l1, l2, l3) {
      const b = new Uint8Array(16);
      b[0] = l0; b[1] = l0 >> 8; b[2] = l0 >> 16; b[3] = l0 >> 24;
      b[4] = l1; b[5] = l1 >> 8; b[6] = l1 >> 16; b[7] = l1 >> 24;
      b[8] = l2; b[9] = l2 >> 8; b[10] = l2 >> 16; b[11] = l2 >> 24;
      b[12] = l3; b[13] = l3 >> 8; b[14] = l3 >> 16; b[15] = l3 >> 24;
      return b;
    },
  };

  Object.defineProperty(Wasabi, "analysis", {
    get() { return analysis; },
    set(value) { analysis = withDefaults(value); },
    enumerable: true,
    configurable: false,
  });
  Object.defineProperty(Wasabi, RUNTIME, { value: Object.freeze({ native, ModuleContext }) });

  // A brand check, unlike instanceof, also accepts modules compiled in another realm.
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

  function idOf(module) {
    let id = moduleIds.get(module);
    if (id === undefined) {
      const sections = native.customSections(module, "wasabi");
      id = sections.length === 0 ? null : decodeId(sections[0]);
      moduleIds.set(module, id);
    }
    return id;
  }

  // A low-level hook whose high-level hooks the analysis leaves to the defaults is linked to an
  // empty Wasm function: the instrumented code then never calls out to JS for it. The analysis
  // is therefore read when a module is instantiated.
  function withoutUnusedHooks(entry, hooks) {
    if (entry.noops === undefined || entry.targets === undefined) return hooks;
    const unused = (name) => analysis[name] === DEFAULT_HOOKS[name];
    let noops;
    for (const name of Object.keys(hooks)) {
      const targets = entry.targets[name];
      if (targets === undefined || !targets.every(unused)) continue;
      noops ||= entry.noopExports ||= new native.Instance(new native.Module(entry.noops), {}).exports;
      hooks[name] = noops[name];
    }
    return hooks;
  }

  // Everything an instantiation of an instrumented module needs: its context and an import
  // object with the hooks. Undefined for modules that are not instrumented, or whose caller
  // links "__wasabi_hooks" itself (e.g. hooks implemented in Wasm).
  function link(module, imports) {
    const id = idOf(module);
    if (id === null) return undefined;
    const isObject = imports !== null && (typeof imports === "object" || typeof imports === "function");
    if (imports !== undefined && !isObject) return undefined; // let the engine report the TypeError
    if (isObject && "__wasabi_hooks" in imports) return undefined;
    let entry = entries.get(id);
    if (entry === undefined && typeof Wasabi.resolveEntry === "function") {
      entry = Wasabi.resolveEntry(id);
      if (entry !== undefined && !entries.has(id)) Wasabi.register(entry);
    }
    if (entry === undefined) {
      throw new WebAssembly.LinkError(`Wasabi: module ${id} is instrumented, but its generated ` +
        ".wasabi.js was not loaded (no Wasabi.register for this id)");
    }
    const ctx = new ModuleContext(entry);
    const hooks = withoutUnusedHooks(entry, entry.lowlevelHooks(Wasabi, ctx));
    ctx.lowlevelHooks = hooks;
    // Inherit instead of copy, so getters, proxies and later changes of the caller's import
    // object behave as without Wasabi, and the caller's object stays untouched.
    const linked = Object.create(isObject ? imports : null);
    linked.__wasabi_hooks = hooks;
    // The start function runs during instantiation; analyses reading Wasabi.module then
    // should see this module.
    const before = Wasabi.module;
    Wasabi.module = ctx;
    return { ctx, imports: linked, before };
  }

  function linked(l, instance) {
    const ctx = l.ctx;
    ctx.instance = instance;
    ctx.exports = instance.exports;
    ctx.table = instance.exports.__wasabi_functions;
    Wasabi.module = ctx;
    Wasabi.modules.push(ctx);
    return instance;
  }

  function failed(l) {
    if (Wasabi.module === l.ctx) Wasabi.module = l.before;
  }

  function instantiateModule(module, imports) {
    let l;
    try {
      l = link(module, imports);
    } catch (e) {
      return Promise.reject(e);
    }
    if (l === undefined) return native.instantiate.call(WebAssembly, module, imports);
    return native.instantiate.call(WebAssembly, module, l.imports).then(
      (instance) => linked(l, instance),
      (e) => { failed(l); throw e; });
  }

  function Instance(module, imports) {
    if (new.target === undefined) {
      throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    }
    const l = isModule(module) ? link(module, imports) : undefined;
    if (l === undefined) return Reflect.construct(native.Instance, [module, imports], new.target);
    let instance;
    try {
      instance = Reflect.construct(native.Instance, [module, l.imports], new.target);
    } catch (e) {
      failed(l);
      throw e;
    }
    return linked(l, instance);
  }
  // Sharing the prototype keeps `instanceof WebAssembly.Instance` true for instances made by
  // either constructor or by WebAssembly.instantiate.
  Instance.prototype = native.Instance.prototype;

  const patched = {
    Instance,
    instantiate(source, imports) {
      if (isModule(source)) return instantiateModule(source, imports);
      // Compile first to read the custom section; instantiate(bytes) does the same inside.
      return native.compile.call(WebAssembly, source).then((module) =>
        instantiateModule(module, imports).then((instance) => ({ module, instance })));
    },
    async instantiateStreaming(source, imports) {
      const module = native.compileStreaming !== undefined
        ? await native.compileStreaming.call(WebAssembly, source)
        : await native.compile.call(WebAssembly, await (await source).arrayBuffer());
      return { module, instance: await instantiateModule(module, imports) };
    },
  };

  for (const name of Object.keys(patched)) {
    const original = Object.getOwnPropertyDescriptor(WebAssembly, name);
    if (original === undefined) continue; // e.g. no instantiateStreaming in this engine
    const f = patched[name];
    Object.defineProperty(f, "length", { value: native[name].length });
    Object.defineProperty(WebAssembly, name, { ...original, value: f });
  }
  Object.defineProperty(native.Instance.prototype, "constructor", {
    value: Instance, writable: true, configurable: true, enumerable: false,
  });

  globalThis.Wasabi = Wasabi;
  return Wasabi;
})();
