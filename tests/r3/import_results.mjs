import { readFileSync } from "node:fs";
const env = {
  i: (x) => x * 2,
  l: (x) => x - 1n,
  f: () => 1.25,
  d: () => -2.75,
  none: () => {},
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
console.log(String(instance.exports.run()));
