;; What the replay's tape must get right: runs of identical import calls (one record repeated),
;; host writes between them, and address 0 (the tape's scratch area) left as the module wrote
;; it, read back after every call.
(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (import "env" "fill" (func $fill (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $sum i32)
    (i64.store (i32.const 0) (i64.const 0x1122334455667788))
    (loop $more
      (local.set $sum (i32.add (local.get $sum) (call $tick (local.get $i))))
      (if (i32.eq (local.get $i) (i32.const 7)) (then (call $fill (i32.const 64))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $n))))
    (i64.add
      (i64.load (i32.const 0))
      (i64.extend_i32_u (i32.add (local.get $sum) (i32.load8_u (i32.const 70)))))))
