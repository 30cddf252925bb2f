import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, checksum } = instance.exports;
const data = new Uint8Array(12000);
for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251 + 1; // no zero bytes
new Uint8Array(memory.buffer).set(data, 1000);
console.log(checksum(1000, data.length));
console.log(checksum(1000, data.length)); // all in the shadow now
