;; The host writes exactly the bytes the module wrote there before: nothing changed, nothing is
;; recorded.
(module
  (memory (export "memory") 1)
  (func (export "store") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i64) (i64.load (local.get 0))))
