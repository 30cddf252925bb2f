;; A host exception thrown by an import unwinds through the module to the host.
(module
  (import "env" "fail" (func $fail))
  (func (export "run") (result i32) (call $fail) (i32.const 1)))
