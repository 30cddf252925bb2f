import { readFileSync } from "node:fs";
let exports;
const env = {
  tick: (i) => (i < 10 ? 3 : 5), // two runs of equal answers
  fill(at) {
    new Uint8Array(exports.memory.buffer).fill(9, at, at + 40); // away from address 0
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
exports = instance.exports;
console.log(exports.run(25));
console.log(exports.run(3));
