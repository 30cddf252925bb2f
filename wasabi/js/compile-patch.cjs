/*
 * Replaces WebAssembly's compilation entry points (new Module, compile, compileStreaming,
 * instantiate, instantiateStreaming) by versions that hand every module's bytes to an
 * instrumenter first. Shared by the node preload (preload.cjs) and the browser recorder
 * (r3-hooks/js/browser-runtime.js), which differ only in how they instrument.
 *
 * A classic script as well as CommonJS: browsers get it concatenated into the injected
 * runtime, node requires it. Call after runtime.js or recorder.js installed itself:
 *   runtime           that runtime's Symbol.for("wasabi.runtime") object ({native, ...}); its
 *                     `beforeCompile(original, instrumented)`, if any, sees every module's
 *                     bytes before they are compiled
 *   r3                true for the recorder (hides its "__r3" imports), else runtime.js
 *   instrumentSource  (source, caller, url) -> instrumented bytes, or `source` unchanged if it
 *                     is no byte source; `caller` is the patched API function, `url` the
 *                     response's URL for the streaming paths
 */
var wasabiPatchCompilation = function patchCompilation(options) {
  "use strict";
  const { runtime, r3, instrumentSource } = options;
  const { native } = runtime;
  // The recorder rewords the CompileError of engines without multi-memory; runtime.js has no need.
  const explain = runtime.explainCompileError || ((e) => e);
  // The runtime's patched instantiate, which links hooks to instrumented modules.
  const linking = { instantiate: WebAssembly.instantiate };
  const beforeCompile = runtime.beforeCompile || (() => {});

  function instrumented(source, caller, url) {
    const bytes = instrumentSource(source, caller, url);
    beforeCompile(source, bytes);
    return bytes;
  }

  async function responseBytes(source) {
    const response = await source;
    if (response === null || typeof response !== "object" || typeof response.arrayBuffer !== "function") {
      throw new TypeError("WebAssembly: the argument must be a Response or a Promise of a Response");
    }
    if (response.ok === false) {
      throw new TypeError(`WebAssembly: the response status ${response.status} is not ok`);
    }
    return instrumented(await response.arrayBuffer(), undefined, response.url || undefined);
  }

  function Module(bytes) {
    if (new.target === undefined) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
    const source = instrumented(bytes, Module);
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
        return native.compile.call(WebAssembly, instrumented(source, patched.compile))
          .catch((e) => { throw explain(e); });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async compileStreaming(source) {
      return native.compile.call(WebAssembly, await responseBytes(source))
        .catch((e) => { throw explain(e); });
    },
    instantiate(source, imports) {
      if (source instanceof native.Module) return linking.instantiate(source, imports);
      try {
        return linking.instantiate(instrumented(source, patched.instantiate), imports);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async instantiateStreaming(source, imports) {
      return linking.instantiate(await responseBytes(source), imports);
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
};
if (typeof module === "object" && module !== null) module.exports = wasabiPatchCompilation;
