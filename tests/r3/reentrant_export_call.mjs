import { readFileSync } from "node:fs";
let exports;
const env = { callback: (n) => exports.fact(n) };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
exports = instance.exports;
console.log(exports.fact(3));
