import { readFileSync } from "node:fs";
let exports;
const env = {
  descend(n) {
    const bytes = new Uint8Array(exports.memory.buffer);
    bytes[(n - 1) * 4096] = 10 * (n - 1) + 1; // read at the start of level n - 1
    const below = exports.level(n - 1);
    bytes[n * 4096 + 1] = 100 + n; // read by level n after this returns
    return below;
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
exports = instance.exports;
new Uint8Array(exports.memory.buffer)[3 * 4096] = 31;
console.log(exports.level(3));
