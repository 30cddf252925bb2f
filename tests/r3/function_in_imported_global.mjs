import { readFileSync } from "node:fs";
const module = new WebAssembly.Module(readFileSync(process.argv[2]));
const logged = [];
const log = (x) => logged.push(x);
const funcref = (value) => new WebAssembly.Global({ value: "anyfunc", mutable: false }, value);
const a = new WebAssembly.Instance(module, { env: { f: funcref(null), value: 42, log } });
const b = new WebAssembly.Instance(module, { env: { f: funcref(a.exports.answer), value: 7, log } });
console.log(b.exports.call(0), b.exports.call(1), a.exports.call(1), b.exports.call(0));
console.log(logged.join(" "));
