// Stands in for the wasabi executable in the preload tests: same command line and outputs, but
// the "instrumentation" only appends the custom section "wasabi" (no hooks), and every call is
// logged to $FAKE_WASABI_LOG. Inputs with a custom section "fail-me" fail like a real error.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

const args = process.argv.slice(2);
const input = args.at(-1);
const outDir = args[args.indexOf("-o") + 1];
const hooks = (args.find((a) => a.startsWith("--hooks=")) || "").slice("--hooks=".length);
if (!args.includes("--node") || !args.includes("-o")) {
  process.stderr.write(`fake-wasabi: unexpected arguments ${args.join(" ")}\n`);
  process.exit(2);
}
const bytes = fs.readFileSync(input);
if (process.env.FAKE_WASABI_LOG) fs.appendFileSync(process.env.FAKE_WASABI_LOG, `hooks=${hooks}\n`);
if (bytes.includes(Buffer.from("fail-me"))) {
  process.stderr.write("error: unsupported feature exceptions at offset 10\n");
  process.exit(1);
}
if (!(bytes.length >= 8 && bytes.readUInt32BE(0) === 0x0061736d)) {
  process.stderr.write("error: not a wasm module\n");
  process.exit(1);
}

const id = crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16);
const leb = (n) => { const out = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; out.push(b); } while (n); return out; };
const name = Buffer.from("wasabi");
const content = Buffer.concat([Buffer.from(leb(name.length)), name, Buffer.from(id)]);
const section = Buffer.concat([Buffer.from([0, ...leb(content.length)]), content]);

const base = path.basename(input, ".wasm");
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, `${base}.wasm`), Buffer.concat([bytes, section]));
const runtime = fs.readFileSync(path.join(__dirname, "../../../wasabi/js/runtime.js"), "utf8");
fs.writeFileSync(path.join(outDir, `${base}.wasabi.js`), `${runtime}
Wasabi.register({
  id: ${JSON.stringify(id)},
  info: { functions: [], globals: "", start: null, tables: [], memories: 0, originalFunctionImportsCount: 0, brTables: [], hooks: ${JSON.stringify(hooks)} },
  lowlevelHooks: function (Wasabi, ctx) { return {}; }
});
module.exports = Wasabi;
`);
