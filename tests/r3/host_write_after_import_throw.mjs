import { readFileSync } from "node:fs";
const env = { fail() { throw new Error("no"); } };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
const { memory, run } = instance.exports;
try {
  run(1);
} catch (e) {
  console.log(`caught: ${e.message}`);
}
new Int32Array(memory.buffer)[4] = 0x5eed;
console.log(run(0));
