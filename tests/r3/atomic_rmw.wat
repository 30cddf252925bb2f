;; Atomic read-modify-writes on an unshared memory read host-written bytes (recorded) and write
;; their result (the module's own: reading it back records nothing).
(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "cmpxchg") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i64) (i64.load (local.get 0))))
