import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, ...loads } = instance.exports;
const bytes = new Uint8Array(memory.buffer);
// [export, bytes read, offset in the instruction]
const cases = [["load8x8_s", 8, 0], ["load32_splat", 4, 4], ["load64_zero", 8, 0], ["load16_lane", 2, 2]];
let addr = 0x301;
for (const [name, width, offset] of cases) {
  bytes[addr + offset + width - 1] = 0x81;
  console.log(name, String(loads[name](addr)));
  addr += 0x40;
}
