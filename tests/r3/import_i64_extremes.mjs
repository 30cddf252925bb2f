import { readFileSync } from "node:fs";
const replies = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 63n, -(2n ** 63n) - 1n];
let i = 0;
const env = {
  echo(x) {
    console.log(`host got ${x}`);
    return replies[i++];
  },
};
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
const args = [-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n, 2n ** 64n + 5n];
for (const x of args) console.log(String(instance.exports.run(x)));
