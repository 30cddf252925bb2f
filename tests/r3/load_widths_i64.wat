;; The module reads host-written bytes with every i64 load width. Before each call the host
;; changes only the LAST byte an access covers, so the check must span the whole width.
(module
  (memory (export "memory") 1)
  (func (export "load8_s") (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func (export "load8_u") (param i32) (result i64) (i64.load8_u (local.get 0)))
  (func (export "load16_s") (param i32) (result i64) (i64.load16_s offset=8 (local.get 0)))
  (func (export "load16_u") (param i32) (result i64) (i64.load16_u (local.get 0)))
  (func (export "load32_s") (param i32) (result i64) (i64.load32_s offset=8 (local.get 0)))
  (func (export "load32_u") (param i32) (result i64) (i64.load32_u (local.get 0)))
  (func (export "load") (param i32) (result i64) (i64.load offset=8 (local.get 0))))
