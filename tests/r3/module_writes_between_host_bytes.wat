;; The host changes bytes 0x100 and 0x108; between them the module reads its own byte 0x104 and
;; then overwrites it, before it reads the host's bytes. The sync of that later read must not
;; take 0x104 along (it equals the shadow): a replay applies the memory_write when the import
;; returns, and 0x104 would then read as 0x22 instead of 0x11. (Found in shiki's onig.wasm: a
;; malloc chunk header written between bytes of a stale host memcpy.)
(module
  (import "env" "touch" (func $touch))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $old i32)
    (i32.store8 (i32.const 0x104) (i32.const 0x11))
    (call $touch)
    (local.set $old (i32.load8_u (i32.const 0x104)))
    (i32.store8 (i32.const 0x104) (i32.const 0x22))
    (i32.or (i32.shl (local.get $old) (i32.const 16))
      (i32.or (i32.shl (i32.load8_u (i32.const 0x100)) (i32.const 8))
        (i32.load8_u (i32.const 0x108))))))
