;; Traps reach the host: unreachable, and an out-of-bounds load.
(module
  (memory (export "memory") 1)
  (func (export "boom") unreachable)
  (func (export "oob") (result i32) (i32.load (i32.const 65536))))
