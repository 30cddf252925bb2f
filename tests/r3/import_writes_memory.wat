;; An import fills a buffer in memory (like read(2)); the module then reads it. The bytes the
;; module wrote itself before the call are not recorded.
(module
  (import "env" "read" (func $read (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "checksum") (result i32) (local $n i32) (local $i i32) (local $s i32)
    (i32.store (i32.const 0) (i32.const 0x01020304))
    (local.set $n (call $read (i32.const 64) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 31))
          (i32.load8_u offset=64 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.add (local.get $s) (i32.load (i32.const 0)))))
