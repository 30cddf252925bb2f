;; Arguments and results of every number type cross bit-exactly (i64 extremes, NaN payloads, -0).
(module
  (func (export "id") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
