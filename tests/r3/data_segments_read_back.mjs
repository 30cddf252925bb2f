import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
console.log(instance.exports.read().toString(16));
console.log(new TextDecoder().decode(new Uint8Array(instance.exports.memory.buffer, 70, 5)));
