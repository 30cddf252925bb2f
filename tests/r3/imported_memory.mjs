import { readFileSync } from "node:fs";
const memory = new WebAssembly.Memory({ initial: 2 });
new Uint8Array(memory.buffer).set([1, 2, 3, 4, 5, 6, 7, 8], 0);
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env: { memory } });
console.log(instance.exports.read(0), instance.exports.read(4));
