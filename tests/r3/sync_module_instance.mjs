import { readFileSync } from "node:fs";
const module = new WebAssembly.Module(readFileSync(process.argv[2]));
let ticks = 0;
const instance = new WebAssembly.Instance(module, { env: { tick: () => ++ticks } });
console.log(instance instanceof WebAssembly.Instance, Object.keys(instance.exports).join(","));
new Int32Array(instance.exports.memory.buffer)[1] = 1000;
console.log(instance.exports.run(), instance.exports.run());
