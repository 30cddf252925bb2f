import { readFileSync } from "node:fs";
const module = new WebAssembly.Module(readFileSync(process.argv[2]));
const table = new WebAssembly.Table({ initial: 4, element: "anyfunc" });
const logged = [];
const log = (x) => logged.push(x);
const a = new WebAssembly.Instance(module, { env: { table, slot: 0, value: 42, log } });
const b = new WebAssembly.Instance(module, { env: { table, slot: 1, value: 7, log } });
console.log(a.exports.call(0), a.exports.call(1), b.exports.call(0), b.exports.call(1), a.exports.call(1));
console.log(logged.join(" "));
