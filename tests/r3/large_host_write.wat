;; A large host write (12,000 bytes, over four 4 KiB windows) read byte by byte: recorded as one
;; memory_write per window the reads enter, not one per byte.
(module
  (memory (export "memory") 1)
  (func (export "checksum") (param $p i32) (param $n i32) (result i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31)) (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $s)))
