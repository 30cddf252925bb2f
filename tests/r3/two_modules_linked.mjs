import { readFileSync } from "node:fs";
// Module B, compiled from:
// (module $linked_b
//   (import "a" "memory" (memory 1))
//   (import "a" "put" (func $put (param i32 i32)))
//   (func (export "run") (result i32)
//     (call $put (i32.const 8) (i32.const 42))   ;; A stores 42 at 8
//     (i32.store8 (i32.const 9) (i32.const 7))   ;; B stores 7 at 9
//     (i32.load8_u (i32.const 8))))              ;; B reads A's byte
const moduleB = Buffer.from(
  "0061736d01000000010a0260027f7f006000017f0215020161066d656d6f72790200010161037075740000030201" +
  "010707010372756e00010a160114004108412a1000410941073a000041082d00000b0018046e616d650009086c69" +
  "6e6b65645f620106010003707574", "hex");
const a = (await WebAssembly.instantiate(readFileSync(process.argv[2]))).instance;
const b = (await WebAssembly.instantiate(moduleB, { a: a.exports })).instance;
console.log(b.exports.run(), a.exports.get(9));
