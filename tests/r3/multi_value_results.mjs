import { readFileSync } from "node:fs";
const env = { triple: (x) => [x + 1, BigInt(x) * -1000n, x / 4] };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
console.log(instance.exports.swap(6).map(String).join(" "));
