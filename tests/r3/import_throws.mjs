import { readFileSync } from "node:fs";
const env = { fail() { throw new Error("host says no"); } };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
try {
  instance.exports.run();
} catch (e) {
  console.log(`caught: ${e.message}`);
}
