import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { table, call, two } = instance.exports;
console.log(call(0));
table.set(0, two);
console.log(call(0));
table.grow(1, instance.exports.one);
console.log(call(2));
