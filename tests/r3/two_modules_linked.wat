;; Two different modules linked by the host: module B (its bytes are in the .mjs) imports this
;; module's memory and its export "put". Both are recorded: B's call of put is an import call in
;; B's trace and an export call in this one; bytes one module stores are host writes for the other.
(module
  (memory (export "memory") 1)
  (func (export "put") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))
