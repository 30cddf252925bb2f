;; Imported globals: an immutable one fixed at instantiation, a mutable one the host changes.
(module
  (import "env" "base" (global $base i32))
  (import "env" "flag" (global $flag (mut i32)))
  (func (export "get") (result i32) (i32.add (global.get $base) (global.get $flag))))
