;; An imported immutable global holds a function of another instance (the host hands one
;; instance's export to the next); the module puts it in its own table with an element
;; segment and calls it there (recorded as a foreign function; the replay defines the global
;; with its stand-in).
(module
  (import "env" "f" (global $f funcref))
  (import "env" "value" (global $value i32))
  (import "env" "log" (func $log (param i32)))
  (type $answer (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) funcref (global.get $f))
  (elem (i32.const 1) func $answer)
  (func $answer (export "answer") (result i32)
    (call $log (global.get $value))
    (global.get $value))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $answer) (local.get 0))))
