import { readFileSync } from "node:fs";
const memory = new WebAssembly.Memory({ initial: 1 });
new DataView(memory.buffer).setInt32(8, -123456, true);
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env: { memory } });
console.log(instance.exports.seen());
