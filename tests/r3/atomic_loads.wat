;; Atomic loads on an unshared memory read host-written bytes like plain loads do; the host
;; changes only the last byte each one covers.
(module
  (memory (export "memory") 1)
  (func (export "load8_u") (param i32) (result i32) (i32.atomic.load8_u (local.get 0)))
  (func (export "load16_u") (param i32) (result i32) (i32.atomic.load16_u offset=2 (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "load32_u") (param i32) (result i64) (i64.atomic.load32_u offset=4 (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.atomic.load (local.get 0))))
