import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, div } = instance.exports;
const words = new Int32Array(memory.buffer);
words[2] = 5;
console.log(div(8));
words[2] = 0;
try {
  div(8);
} catch (e) {
  console.log(`trapped: ${e instanceof WebAssembly.RuntimeError}`);
}
