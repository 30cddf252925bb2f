;; f32 import results that are NaNs with payloads (and -0, and a value that rounds): the module
;; returns the bits it got, to compare with the recorded bits.
(module
  (import "env" "next" (func $next (result f32)))
  (func (export "bits") (result i32) (i32.reinterpret_f32 (call $next))))
