;; The same module instantiated on the main thread and in a worker thread: each thread's
;; recorder claims its own instance number, so neither trace overwrites the other.
(module
  (memory (export "memory") 1)
  (func (export "sum") (param $n i32) (result i32)
    ;; Adds the bytes the host wrote at 0..n.
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $s)))
