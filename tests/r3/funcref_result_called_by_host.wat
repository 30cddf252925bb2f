;; An export returns a funcref to a function that is not exported; the host calls it (export
;; call with name "") and passes it back in.
(module
  (type $t (func (param i32) (result i32)))
  (table $tmp 1 funcref)
  (elem declare func $square)
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "get") (result funcref) (ref.func $square))
  (func (export "apply") (param funcref i32) (result i32)
    (table.set $tmp (i32.const 0) (local.get 0))
    (call_indirect $tmp (type $t) (local.get 1) (i32.const 0))))
