import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
for (const name of ["boom", "oob"]) {
  try {
    instance.exports[name]();
  } catch (e) {
    console.log(`${name}: ${e instanceof WebAssembly.RuntimeError}`);
  }
}
