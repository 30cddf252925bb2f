;; The host rearranges an exported table; call_indirect then reaches the entry it put there.
(module
  (type $t (func (result i32)))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $one $two)
  (func $one (export "one") (result i32) (i32.const 1))
  (func $two (export "two") (result i32) (i32.const 2))
  (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))
