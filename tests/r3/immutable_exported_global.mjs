import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { answer, big, half, m, sum } = instance.exports;
console.log(answer.value, String(big.value), half.value, sum());
try {
  answer.value = 7;
} catch (e) {
  console.log(`refused: ${e instanceof TypeError}`);
}
m.value = 3;
console.log(answer.value, sum());
