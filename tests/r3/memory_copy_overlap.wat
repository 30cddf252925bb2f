;; memory.copy with overlapping source and destination, the source written by the host: the
;; host's bytes are recorded once, at the copy, as they were before it.
(module
  (memory (export "memory") 1)
  (func (export "shift") (param $at i32) (result i64)
    (memory.copy (i32.add (local.get $at) (i32.const 3)) (local.get $at) (i32.const 8))
    (i64.xor (i64.load (local.get $at)) (i64.load offset=3 (local.get $at)))))
