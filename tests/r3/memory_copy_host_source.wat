;; memory.copy reads host-written bytes as its source: they are recorded at the copy; the copy
;; at the destination is the module's own, so reading it back records nothing more.
(module
  (memory (export "memory") 1)
  (func (export "copy_and_sum") (param $src i32) (param $dst i32) (param $n i32) (result i32)
    (local $s i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $s (i32.add (local.get $s)
          (i32.load8_u (i32.add (local.get $dst) (local.get $n)))))
        (br $next)))
    (local.get $s)))
