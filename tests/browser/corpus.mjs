// Four corpus libraries, loaded the four ways pages get WebAssembly: instantiate(bytes)
// (xxhash-wasm), compile + instantiate(module) (hash-wasm), instantiateStreaming(fetch)
// (brotli-wasm), new WebAssembly.Module + Instance (lz4-wasm-nodejs). Each checks its own
// results and logs `ok NAME ...`; then `instances N` and R3.done() end the recording.
import xxhashWasm from "./node_modules/xxhash-wasm/esm/xxhash-wasm.js";
import { sha256, md5, blake3 } from "./node_modules/hash-wasm/dist/index.esm.js";
import initBrotli, * as brotli from "./node_modules/brotli-wasm/pkg.web/brotli_wasm.js";

const text = Array.from({ length: 3000 }, (_, i) => `line ${i} ${"abcdefghij".slice(i % 10)} ${(i * 2654435761) >>> 20}`).join("\n");
const input = new TextEncoder().encode(text);

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function subtleSha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function xxhash() {
  const { h64, h32, create64 } = await xxhashWasm();
  const half = text.length >> 1;
  const streamed = create64(0n).update(text.slice(0, half)).update(text.slice(half)).digest();
  check(streamed === h64(text), "streaming h64 equals one-shot h64");
  return `h32=${h32(text)} h64=${h64(text)}`;
}

async function hashWasm() {
  check(await sha256(input) === await subtleSha256(input), "sha256 equals WebCrypto's");
  check(await md5("abc") === "900150983cd24fb0d6963f7d28e17f72", "md5 test vector");
  return `blake3=${await blake3(input)}`;
}

async function brotliRoundtrip() {
  await initBrotli(new URL("./node_modules/brotli-wasm/pkg.web/brotli_wasm_bg.wasm", import.meta.url));
  const compressed = brotli.compress(input, { quality: 9 });
  check(compressed.length < input.length / 2, "brotli compresses");
  check(sameBytes(brotli.decompress(compressed), input), "brotli round trip");
  return `${input.length} -> ${compressed.length}`;
}

// lz4-wasm-nodejs is wasm-bindgen's CommonJS build for node: it reads its module with
// fs.readFileSync and compiles it synchronously. A page can run it with stand-ins for the three
// node modules it requires.
async function lz4Roundtrip() {
  const dir = "./node_modules/lz4-wasm-nodejs";
  const wasm = new Uint8Array(await (await fetch(`${dir}/lz4_wasm_nodejs_bg.wasm`)).arrayBuffer());
  const source = await (await fetch(`${dir}/lz4_wasm_nodejs.js`)).text();
  const builtins = {
    util: { TextDecoder },
    path: { join: (...parts) => parts.join("/") },
    fs: { readFileSync: () => wasm },
  };
  const module = { exports: {} };
  new Function("module", "exports", "require", "__dirname", source)(module, module.exports, (name) => builtins[name], dir);
  const lz4 = module.exports;
  const compressed = lz4.compress(input);
  check(sameBytes(lz4.decompress(compressed), input), "lz4 round trip");
  return `${input.length} -> ${compressed.length}`;
}

let failed = false;
for (const [name, run] of [["xxhash-wasm", xxhash], ["hash-wasm", hashWasm], ["brotli-wasm", brotliRoundtrip], ["lz4-wasm-nodejs", lz4Roundtrip]]) {
  try {
    console.log(`ok ${name} ${await run()}`);
  } catch (e) {
    failed = true;
    console.error(`${name} failed: ${e && e.stack || e}`);
  }
}
// An uncaught error makes `r3 record --browser` fail.
if (failed) reportError(new Error("a library failed"));
// R3 is not there when the page runs without the recorder.
if (globalThis.R3 !== undefined) {
  console.log(`instances ${R3.contexts.length}`);
  R3.done();
}
