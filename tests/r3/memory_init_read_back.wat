;; memory.init by the module from a passive data segment, over bytes the host wrote before: the
;; module reads only what it copied in, so nothing is recorded.
(module
  (memory (export "memory") 1)
  (data $text "passive!r3")
  (func (export "init_and_read") (param $at i32) (result i64)
    (memory.init $text (local.get $at) (i32.const 2) (i32.const 8))
    (i64.load (local.get $at))))
