import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const nan = new Float64Array(new BigUint64Array([0x7ff4000000000001n]).buffer)[0];
console.log(instance.exports.id(-1, -(2n ** 63n), -0, nan).map(String).join(" "));
console.log(instance.exports.id(2147483647, 2n ** 63n - 1n, 3.5, -Infinity).map(String).join(" "));
