import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { table } = instance.exports;
console.log(table.get(0)(4), table.get(1)(4), table.get(1) === instance.exports.pub);
