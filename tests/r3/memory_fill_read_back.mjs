import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, fill_and_read } = instance.exports;
new Uint8Array(memory.buffer).fill(7, 0x100, 0x10c);
console.log(fill_and_read(0x100).toString(16));
console.log(fill_and_read(0x9ff7).toString(16)); // untouched by the host
