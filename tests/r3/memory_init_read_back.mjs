import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, init_and_read } = instance.exports;
new Uint8Array(memory.buffer).fill(0xee, 0x300, 0x308);
console.log(init_and_read(0x300).toString(16));
console.log(init_and_read(0x1234).toString(16));
