;; The synchronous path: new WebAssembly.Module + new WebAssembly.Instance, with an import and
;; exported memory, is recorded like WebAssembly.instantiate.
(module
  (import "env" "tick" (func $tick (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (i32.add (call $tick) (i32.load (i32.const 4)))))
