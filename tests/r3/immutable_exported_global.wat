;; Immutable exported globals: the host can read them but never change them, so no global_set
;; is ever recorded; a mutable one next to them shows that host changes would be.
(module
  (global (export "answer") i32 (i32.const 42))
  (global (export "big") i64 (i64.const -5000000000))
  (global (export "half") f64 (f64.const 0.5))
  (global $m (export "m") (mut i32) (i32.const 0))
  (func (export "sum") (result f64)
    (f64.add
      (f64.add (f64.convert_i32_s (global.get 0)) (f64.convert_i64_s (global.get 1)))
      (f64.add (global.get 2) (f64.convert_i32_s (global.get $m))))))
