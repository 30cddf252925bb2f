;; What imports return is recorded, each type bit-exactly; their arguments too.
(module
  (import "env" "i" (func $i (param i32) (result i32)))
  (import "env" "l" (func $l (param i64) (result i64)))
  (import "env" "f" (func $f (result f32)))
  (import "env" "d" (func $d (result f64)))
  (import "env" "none" (func $none))
  (func (export "run") (result i64)
    (call $none)
    (i64.add
      (i64.extend_i32_s (call $i (i32.const -5)))
      (i64.add (call $l (i64.const 9223372036854775807))
        (i64.add (i64.trunc_f32_s (call $f)) (i64.trunc_f64_s (call $d)))))))
