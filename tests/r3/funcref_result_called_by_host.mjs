import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { get, apply } = instance.exports;
const square = get();
console.log(square(7), apply(square, 9), get() === square);
