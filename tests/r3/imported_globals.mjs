import { readFileSync } from "node:fs";
const flag = new WebAssembly.Global({ value: "i32", mutable: true }, 10);
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env: { base: 1000, flag } });
console.log(instance.exports.get());
flag.value = 20;
console.log(instance.exports.get());
