import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, add, cmpxchg, load } = instance.exports;
const view = new DataView(memory.buffer);
view.setInt32(0x20, 1000, true);
console.log(add(0x20, 5), view.getInt32(0x20, true));
view.setBigInt64(0x40, 77n, true);
console.log(String(cmpxchg(0x40, 77n, -1n)), String(load(0x40)), String(load(0x20)));
