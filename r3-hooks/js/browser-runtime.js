/*
 * The page side of `r3 record --browser`: evaluated in every document and dedicated worker
 * before their own scripts, after recorder.js (global R3) and compile-patch.cjs. Modules are
 * instrumented by the recording server (record-browser.mjs) at `instrumentUrl`, synchronously,
 * because `new WebAssembly.Module(bytes)` must return an instrumented module at once. Trace
 * names and instance numbers are claimed there too, so that the traces of all frames and
 * workers have names of their own.
 * Adds to the recorder's page API (docs/recording.md): R3.done() and R3.finished.
 */
// `options.keepReturns`: every export_return in the traces (`r3 record --keep-returns`).
function installBrowserRecording(instrumentUrl, options) {
  "use strict";
  const R3 = globalThis.R3;
  const BROWSER = Symbol.for("r3.browser");
  if (R3[BROWSER] !== undefined) return;
  const runtime = R3[Symbol.for("wasabi.runtime")];

  function bytesOf(source) {
    if (source instanceof ArrayBuffer) return new Uint8Array(source);
    if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return undefined;
  }

  // The recorder's claims (recorder.js, `claims`) as requests to the server.
  function claimsAt(url) {
    const ask = (request) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url, false);
      xhr.send(JSON.stringify(request));
      if (xhr.status !== 200) throw new Error(`${url} answered ${xhr.status}: ${xhr.responseText}`);
      return JSON.parse(xhr.responseText);
    };
    return {
      where: url,
      claim: (kind, key, content) => ask({ op: "claim", kind, key, content }).created,
      read: (kind, key) => ask({ op: "read", kind, key }).content,
      give: (kind, key) => { ask({ op: "give", kind, key }); },
    };
  }
  runtime.useClaims(claimsAt(new URL("claim", instrumentUrl).href));
  if (options !== undefined && options.keepReturns) runtime.keepAllReturns();

  // {status, bytes, sha256}: 200 with the instrumented module, 204 if the server left it as it
  // is (not a valid module, or instrumented already).
  function instrumentRemotely(bytes) {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", instrumentUrl, false);
    // A synchronous request cannot ask for an ArrayBuffer; with this charset every byte comes
    // back as one char code.
    xhr.overrideMimeType("text/plain; charset=x-user-defined");
    try {
      xhr.send(bytes.slice());
    } catch (e) {
      throw new WebAssembly.CompileError(`r3: the recording server at ${instrumentUrl} is unreachable: ${e.message}`);
    }
    if (xhr.status !== 200 && xhr.status !== 204) {
      throw new WebAssembly.CompileError(`r3: instrumenting a ${bytes.length}-byte module failed: ${xhr.responseText}`);
    }
    const text = xhr.responseText;
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
    return { status: xhr.status, bytes: out, sha256: xhr.getResponseHeader("X-R3-Sha256") };
  }

  // The file name without extension from a module's URL, which names its traces.
  function nameFrom(url) {
    if (url === undefined) return undefined;
    const last = String(url).split(/[?#]/)[0].split("/").pop();
    return last.replace(/\.[^.]*$/, "") || undefined;
  }

  // Buffers the page fetched -> their URL, so that a module compiled from fetched bytes is
  // named after its file too (best effort, as the node preload does for files it reads).
  const fetchedFrom = new WeakMap();
  const arrayBuffer = Response.prototype.arrayBuffer;
  Response.prototype.arrayBuffer = async function () {
    const buffer = await arrayBuffer.call(this);
    if (this.url) fetchedFrom.set(buffer, this.url);
    return buffer;
  };

  function instrumentSource(source, caller, from) {
    const bytes = bytesOf(source);
    if (bytes === undefined) return source; // the engine throws its usual TypeError
    const result = instrumentRemotely(bytes);
    if (result.status === 204) return source;
    const url = from !== undefined ? from : fetchedFrom.get(bytes.buffer);
    R3.noteOriginal(result.sha256, bytes, nameFrom(url));
    return result.bytes;
  }

  wasabiPatchCompilation({ runtime, r3: true, instrumentSource });

  let signalDone;
  // Resolves when the page calls R3.done(): `r3 record --browser` then collects the traces.
  R3.finished = new Promise((resolve) => { signalDone = resolve; });
  R3.done = () => signalDone();

  function base64(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  // For the recording server: every trace, its bytes and the module's as base64 (CDP carries
  // JSON, no binary).
  Object.defineProperty(R3, BROWSER, {
    value: Object.freeze({
      collect: () => R3.traces().map((t) => ({
        name: t.name, instance: t.instance, sha256: t.sha256,
        trace: base64(t.bytes), module: t.module === undefined ? null : base64(t.module),
      })),
    }),
  });
}
