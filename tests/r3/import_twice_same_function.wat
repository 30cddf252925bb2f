;; One host function imported twice under the same name (Go's wasm runtime does this): every
;; host links both imports to that one function, so the replay must answer the calls of both
;; from one sequence, in the order the module made them.
(module
  (import "env" "next" (func $first (result i32)))
  (import "env" "other" (func $other (result i32)))
  (import "env" "next" (func $second (result i32)))
  (func (export "run") (result i32)
    (i32.add
      (i32.mul (call $first) (i32.const 1000))
      (i32.add (i32.mul (call $second) (i32.const 100))
        (i32.add (call $other) (call $first))))))
