import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env: { seed: () => 1234 } });
console.log(instance.exports.get());
