;; The module reads host-written bytes with SIMD loads of fewer than 16 bytes: load8x8_s,
;; load32_splat, load64_zero, load16_lane. The host changes only the last byte each one covers.
(module
  (memory (export "memory") 1)
  (func (export "load8x8_s") (param i32) (result i32)
    (i16x8.extract_lane_s 7 (v128.load8x8_s (local.get 0))))
  (func (export "load32_splat") (param i32) (result i32)
    (i32x4.extract_lane 3 (v128.load32_splat offset=4 (local.get 0))))
  (func (export "load64_zero") (param i32) (result i64)
    (i64.add (i64x2.extract_lane 0 (v128.load64_zero (local.get 0)))
             (i64x2.extract_lane 1 (v128.load64_zero (local.get 0)))))
  (func (export "load16_lane") (param i32) (result i32)
    (i16x8.extract_lane_u 5 (v128.load16_lane offset=2 5 (local.get 0) (v128.const i64x2 -1 -1)))))
