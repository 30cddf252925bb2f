import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, ...loads } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
// [export, width, offset in the instruction]; each access gets its own (unaligned) address.
const cases = [["load8_s", 1, 0], ["load8_u", 1, 16], ["load16_s", 2, 0], ["load16_u", 2, 16], ["load", 4, 16]];
let addr = 0x101;
for (const [name, width, offset] of cases) {
  bytes[addr + offset + width - 1] = 0x80;
  console.log(name, loads[name](addr));
  addr += 0x40;
}
