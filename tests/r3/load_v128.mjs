import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, high_lane } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
bytes[0x105 + 32 + 15] = 0xab;
console.log(high_lane(0x105).toString(16));
bytes.set([1, 2, 3, 4, 5, 6, 7, 8], 0x105 + 32 + 8);
console.log(high_lane(0x105).toString(16));
