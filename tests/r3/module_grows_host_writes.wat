;; The module grows its memory itself (no memory_grow event: it knows), then the host writes
;; into the new page and the module reads it.
(module
  (memory (export "memory") 1)
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "read") (param i32) (result i32) (i32.load (local.get 0))))
