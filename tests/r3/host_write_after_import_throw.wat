;; An import throws (the call unwinds to the host), the host then writes memory, and the next
;; export call reads it: the memory_write follows that export_call.
(module
  (import "env" "fail" (func $fail))
  (memory (export "memory") 1)
  (func (export "run") (param $fail i32) (result i32)
    (if (local.get $fail) (then (call $fail)))
    (i32.load (i32.const 16))))
