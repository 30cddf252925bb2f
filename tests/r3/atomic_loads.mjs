import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, ...loads } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
// [export, width, offset in the instruction]; atomics need aligned addresses.
const cases = [["load8_u", 1, 0], ["load16_u", 2, 2], ["load", 4, 0], ["load32_u", 4, 4], ["load64", 8, 0]];
let addr = 0x100;
for (const [name, width, offset] of cases) {
  bytes[addr + offset + width - 1] = 0xc3;
  console.log(name, String(loads[name](addr)));
  addr += 0x40;
}
