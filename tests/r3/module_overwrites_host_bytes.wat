;; The host writes 8 bytes, the module overwrites the first 4 before reading all 8: only the
;; host's remaining 4 bytes are recorded.
(module
  (memory (export "memory") 1)
  (func (export "overwrite_and_read") (param $at i32) (result i64)
    (i32.store (local.get $at) (i32.const -1))
    (i64.load (local.get $at))))
