;; The host creates an externref table, larger than declared, and fills it before instantiation;
;; the module reads the entries.
(module
  (import "env" "table" (table $t 2 externref))
  (import "env" "show" (func $show (param externref)))
  (func (export "show_all")
    (call $show (table.get $t (i32.const 0)))
    (call $show (table.get $t (i32.const 1)))
    (call $show (table.get $t (i32.const 2)))))
