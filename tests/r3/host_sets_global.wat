;; The host changes an exported mutable global between calls.
(module
  (global $g (export "g") (mut i64) (i64.const 1))
  (func (export "get") (result i64) (global.get $g))
  (func (export "bump") (global.set $g (i64.add (global.get $g) (i64.const 1)))))
