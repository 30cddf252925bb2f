import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, store, load } = instance.exports;
store(0x80, 0x0102030405060708n);
new Uint8Array(memory.buffer).set([8, 7, 6, 5, 4, 3, 2, 1], 0x80); // the same bytes again
console.log(load(0x80).toString(16));
new Uint8Array(memory.buffer).set([8, 7, 6, 5, 4, 3, 2, 0x11], 0x80); // one byte differs
console.log(load(0x80).toString(16));
