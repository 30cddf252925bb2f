import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, overwrite_and_read } = instance.exports;
new Uint8Array(memory.buffer).set([1, 2, 3, 4, 5, 6, 7, 8], 0x40);
console.log(overwrite_and_read(0x40).toString(16));
