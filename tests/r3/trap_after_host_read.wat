;; The module divides by a number the host wrote and traps on zero: the bytes it read right
;; before the trap are recorded although the trap cut its straight-line code short.
(module
  (memory (export "memory") 1)
  (func (export "div") (param $p i32) (result i32)
    (i32.div_s (i32.const 100) (i32.load (local.get $p)))))
