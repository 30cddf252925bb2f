import { readFileSync } from "node:fs";
const f32 = (bits) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const f64 = (bits) => new Float64Array(new BigUint64Array([bits]).buffer)[0];
// NaNs read from a Float32Array (quiet with a payload, negative, signalling with a payload), a
// NaN from a Float64Array (its payload does not fit an f32), -0, and 0.1 (rounded to f32).
const values = [f32(0x7fc00123), f32(0xffc00000), f32(0x7fa00001), f64(0x7ff8000000000123n), -0, 0.1];
let i = 0;
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env: { next: () => values[i++] } });
for (let k = 0; k < values.length; k++) console.log((instance.exports.bits() >>> 0).toString(16));
