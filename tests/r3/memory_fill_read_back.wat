;; memory.fill by the module over bytes the host wrote before: the module reads only what it
;; filled, so nothing is recorded.
(module
  (memory (export "memory") 1)
  (func (export "fill_and_read") (param $at i32) (result i64)
    (memory.fill (local.get $at) (i32.const 0x5a) (i32.const 12))
    (i64.add (i64.load (local.get $at)) (i64.load32_u offset=8 (local.get $at)))))
