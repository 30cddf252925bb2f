;; WebAssembly.compile, then WebAssembly.instantiate(module) (which resolves to the Instance
;; alone) is recorded like instantiating bytes.
(module
  (import "env" "base" (func $base (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param i32) (result i32) (i32.add (call $base) (i32.load8_u (local.get 0)))))
