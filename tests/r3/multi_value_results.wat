;; Multi-value results both ways: an import returns three values (from a JS array), an export
;; returns three.
(module
  (import "env" "triple" (func $triple (param i32) (result i32 i64 f64)))
  (func (export "swap") (param i32) (result f64 i64 i32) (local $a i32) (local $b i64) (local $c f64)
    (call $triple (local.get 0))
    (local.set $c) (local.set $b) (local.set $a)
    (local.get $c) (local.get $b) (local.get $a)))
