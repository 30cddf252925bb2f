;; An import calls back into the module (re-entrance), twice nested.
(module
  (import "env" "callback" (func $callback (param i32) (result i32)))
  (func $fact (export "fact") (param $n i32) (result i32)
    (if (result i32) (i32.le_s (local.get $n) (i32.const 1))
      (then (i32.const 1))
      (else (i32.mul (local.get $n) (call $callback (i32.sub (local.get $n) (i32.const 1))))))))
