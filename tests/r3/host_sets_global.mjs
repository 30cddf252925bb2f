import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { g, get, bump } = instance.exports;
bump();
console.log(String(get()));
g.value = -9223372036854775808n;
console.log(String(get()));
