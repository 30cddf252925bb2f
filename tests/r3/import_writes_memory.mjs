import { readFileSync } from "node:fs";
let memory;
const env = {
  read(ptr, len) {
    const text = new TextEncoder().encode("hello, r3");
    new Uint8Array(memory.buffer).set(text.subarray(0, len), ptr);
    return Math.min(len, text.length);
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
memory = instance.exports.memory;
console.log(instance.exports.checksum());
