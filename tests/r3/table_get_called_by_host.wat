;; The host reads functions out of an exported table and calls them: one is not exported (the
;; export_call has name ""), the other is also exported as "pub".
(module
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $hidden $pub)
  (func $hidden (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10)))
  (func $pub (export "pub") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
