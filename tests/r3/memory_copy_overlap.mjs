import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, shift } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
bytes.set([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88], 0x400);
console.log(shift(0x400).toString(16));
console.log(Array.from(bytes.subarray(0x400, 0x40b), (b) => b.toString(16)).join(" "));
