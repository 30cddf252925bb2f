;; Deep re-entrance (export -> import -> export ... four levels) with host memory writes at every
;; level: before each nested call (read at its start) and after it (read after the import returns).
(module
  (import "env" "descend" (func $descend (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; Level n reads its byte at n * 4096 first; unless n is 0 it then calls down and reads the
  ;; byte at n * 4096 + 1, which the host wrote on the way back up.
  (func (export "level") (param $n i32) (result i32)
    (i32.add
      (i32.load8_u (i32.shl (local.get $n) (i32.const 12)))
      (if (result i32) (i32.eqz (local.get $n))
        (then (i32.const 0))
        (else
          (i32.add (call $descend (local.get $n))
            (i32.load8_u offset=1 (i32.shl (local.get $n) (i32.const 12))))))))
  )
