import { readFileSync } from "node:fs";
const a = { name: "a" };
const b = { name: "b" };
const env = { favourite: () => b };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
const { id, favourite, is_null } = instance.exports;
console.log(id(a) === a, id(b) === b, id(a) === a, id(null), id("text"), id("text"));
console.log(favourite() === b, is_null(null), is_null(undefined), is_null(a));
