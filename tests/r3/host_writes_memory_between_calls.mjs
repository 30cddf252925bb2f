import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, sum } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
bytes.set([1, 2, 3], 100);
console.log(sum(100, 3));
console.log(sum(100, 3)); // unchanged: nothing to record
bytes.set([10], 101);
console.log(sum(100, 3));
