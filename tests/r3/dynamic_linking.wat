;; Dynamic linking: two instances share a table the host made; each puts its `answer` at its
;; own slot (element segment at an imported offset) and calls through the table, so each calls
;; a function of the other instance without an import (recorded as a foreign function).
(module
  (import "env" "table" (table 4 funcref))
  (import "env" "slot" (global $slot i32))
  (import "env" "value" (global $value i32))
  (import "env" "log" (func $log (param i32)))
  (type $answer (func (result i32)))
  (elem (global.get $slot) $answer)
  (func $answer (export "answer") (result i32)
    (call $log (global.get $value))
    (global.get $value))
  (func (export "call") (param i32) (result i32)
    (call_indirect (type $answer) (local.get 0))))
