;; i64 import parameters and results at the extremes, including BigInts outside the i64 range
;; that the conversion wraps.
(module
  (import "env" "echo" (func $echo (param i64) (result i64)))
  (func (export "run") (param i64) (result i64) (call $echo (local.get 0))))
