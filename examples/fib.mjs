// The bundled example program: instantiates examples/fib.wasm (built from fib.wat) and prints
// what its exports compute. `wasabi run … -- node examples/fib.mjs` analyses it unmodified.
import { readFile } from "node:fs/promises";

const bytes = await readFile(new URL("./fib.wasm", import.meta.url));
const { instance } = await WebAssembly.instantiate(bytes, {});
const { fib, greet, call_fib } = instance.exports;
console.log(`fib(50) = ${fib(50)}, greet = ${greet()}, call_fib(10) = ${call_fib(10)}`);
