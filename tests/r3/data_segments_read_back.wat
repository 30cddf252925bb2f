;; Active data segments are the module's own bytes: reading them back records nothing.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "\01\02\03\04\05\06\07\08")
  (data (i32.const 70) "hello")
  (func (export "read") (result i64)
    (i64.add (i64.load (i32.const 16)) (i64.load32_u (i32.const 70)))))
