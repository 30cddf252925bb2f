import { readFileSync } from "node:fs";
const module = await WebAssembly.compile(readFileSync(process.argv[2]));
const instance = await WebAssembly.instantiate(module, { env: { base: () => 500 } });
console.log(instance instanceof WebAssembly.Instance, Object.keys(instance.exports).join(","));
new Uint8Array(instance.exports.memory.buffer)[9] = 9;
console.log(instance.exports.run(9));
