;; The module reads host-written bytes with every i32 load width. Before each call the host
;; changes only the LAST byte an access covers, so the check must span the whole width.
(module
  (memory (export "memory") 1)
  (func (export "load8_s") (param i32) (result i32) (i32.load8_s (local.get 0)))
  (func (export "load8_u") (param i32) (result i32) (i32.load8_u offset=16 (local.get 0)))
  (func (export "load16_s") (param i32) (result i32) (i32.load16_s (local.get 0)))
  (func (export "load16_u") (param i32) (result i32) (i32.load16_u offset=16 (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load offset=16 (local.get 0))))
