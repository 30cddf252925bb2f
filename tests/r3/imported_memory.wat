;; The host owns the memory (imported), fills it before instantiation, and its data segment
;; lands over part of it.
(module
  (import "env" "memory" (memory 1))
  (data (i32.const 4) "ab")
  (func (export "read") (param i32) (result i32) (i32.load (local.get 0))))
