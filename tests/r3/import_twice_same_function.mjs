import { readFileSync } from "node:fs";
let counter = 0;
const env = { next: () => ++counter, other: () => 7 };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
console.log(instance.exports.run());
