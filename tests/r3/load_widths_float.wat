;; The module reads host-written floats with f32.load and f64.load, NaN payloads included; it
;; returns their bits, which JS numbers could not carry.
(module
  (memory (export "memory") 1)
  (func (export "f32_bits") (param i32) (result i32) (i32.reinterpret_f32 (f32.load (local.get 0))))
  (func (export "f64_bits") (param i32) (result i64) (i64.reinterpret_f64 (f64.load offset=4 (local.get 0))))
  (func (export "f64") (param i32) (result f64) (f64.load offset=4 (local.get 0))))
