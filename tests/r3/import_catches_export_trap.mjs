import { readFileSync } from "node:fs";
let exports;
const env = {
  try_boom() {
    try {
      return exports.boom();
    } catch (e) {
      console.log(`caught: ${e instanceof WebAssembly.RuntimeError}`);
      return 41;
    }
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
exports = instance.exports;
console.log(exports.run());
