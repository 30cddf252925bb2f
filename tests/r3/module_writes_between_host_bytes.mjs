import { readFileSync } from "node:fs";
let memory;
const env = {
  touch() {
    const bytes = new Uint8Array(memory.buffer);
    bytes[0x100] = 0xaa;
    bytes[0x108] = 0xbb;
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
memory = instance.exports.memory;
console.log(instance.exports.run().toString(16)); // 11aabb
