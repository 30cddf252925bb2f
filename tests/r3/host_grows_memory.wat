;; The host grows the memory and writes into the new page; the module sees the size and bytes.
(module
  (memory (export "memory") 1)
  (func (export "probe") (result i32)
    (i32.add (i32.mul (memory.size) (i32.const 1000)) (i32.load8_u (i32.const 70000)))))
