import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, probe } = instance.exports;
memory.grow(1);
new Uint8Array(memory.buffer)[70000] = 42;
console.log(probe());
