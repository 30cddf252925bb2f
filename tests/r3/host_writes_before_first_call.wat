;; The host fills an imported memory before instantiation and the start function reads it: the
;; memory_write is the very first event, before any call.
(module
  (import "env" "memory" (memory 1))
  (global $seen (mut i32) (i32.const 0))
  (func $init (global.set $seen (i32.load (i32.const 8))))
  (start $init)
  (func (export "seen") (result i32) (global.get $seen)))
