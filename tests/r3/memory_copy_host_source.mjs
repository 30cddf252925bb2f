import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, copy_and_sum } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
bytes.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0x2003); // 11 bytes: the 8-byte check, then 3 single bytes
console.log(copy_and_sum(0x2003, 0x5000, 11));
console.log(Array.from(bytes.subarray(0x5000, 0x500b)).join(","));
bytes[0x200d] = 100; // the last source byte only
console.log(copy_and_sum(0x2003, 0x6000, 11));
