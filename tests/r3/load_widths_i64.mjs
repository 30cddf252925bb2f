import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, ...loads } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
// [export, width, offset in the instruction]; each access gets its own (unaligned) address.
const cases = [
  ["load8_s", 1, 0], ["load8_u", 1, 0], ["load16_s", 2, 8], ["load16_u", 2, 0],
  ["load32_s", 4, 8], ["load32_u", 4, 0], ["load", 8, 8],
];
let addr = 0x203;
for (const [name, width, offset] of cases) {
  bytes[addr + offset + width - 1] = 0xf0;
  console.log(name, String(loads[name](addr)));
  addr += 0x40;
}
