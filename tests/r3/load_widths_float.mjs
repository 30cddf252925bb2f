import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const { memory, f32_bits, f64_bits, f64 } = instance.exports;
const view = new DataView(memory.buffer);
const hex = (n) => (BigInt(n) & 0xffffffffffffffffn).toString(16);
view.setUint32(0x100, 0x7fa00001, true); // signalling NaN with a payload
console.log(hex(f32_bits(0x100) >>> 0));
view.setBigUint64(0x204, 0xfff8000000000abcn, true); // negative quiet NaN with a payload
console.log(hex(f64_bits(0x200)));
view.setUint8(0x30f, 0x80); // only the sign byte: 0.0 becomes -0.0
console.log(hex(f64_bits(0x304)), Object.is(f64(0x304), -0));
