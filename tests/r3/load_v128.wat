;; The module reads host-written bytes with v128.load; the host changes only the 16th byte.
(module
  (memory (export "memory") 1)
  (func (export "high_lane") (param i32) (result i64)
    (i64x2.extract_lane 1 (v128.load offset=32 (local.get 0)))))
