import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, grow, read } = instance.exports;
console.log(grow());
new DataView(memory.buffer).setInt32(65536 + 100, 0x01020304, true);
console.log(read(65536 + 100), memory.buffer.byteLength);
