;; A WASI preview1 command: writes one line to stdout,
;;   ARG0 ARG1 ...|STDIN|TIME|RANDOM
;; (TIME: the realtime clock in ns, 16 hex digits; RANDOM: 4 random bytes as a little-endian
;; u32, 8 hex digits), then exits with proc_exit(3). A failing WASI call exits with 100 + errno.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; Layout: 0 iovec, 8 byte count, 100 argc, 104 argv size, 200 argv (64 pointers),
  ;; 512 argv strings (1024 bytes), 3000 time, 3008 random, 4096 the line.
  (global $end (mut i32) (i32.const 4096))

  (func $check (param $errno i32)
    (if (local.get $errno)
      (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno))))))

  (func $byte (param $b i32)
    (i32.store8 (global.get $end) (local.get $b))
    (global.set $end (i32.add (global.get $end) (i32.const 1))))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func $hex (param $value i64) (param $digits i32)
    (local $nibble i32)
    (loop $next
      (local.set $digits (i32.sub (local.get $digits) (i32.const 1)))
      (local.set $nibble
        (i32.wrap_i64
          (i64.and
            (i64.shr_u (local.get $value) (i64.extend_i32_u (i32.shl (local.get $digits) (i32.const 2))))
            (i64.const 15))))
      (call $byte
        (i32.add (local.get $nibble)
          (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $nibble) (i32.const 10)))))
      (br_if $next (local.get $digits))))

  (func $args
    (local $argc i32) (local $i i32) (local $arg i32) (local $len i32)
    (call $check (call $args_sizes_get (i32.const 100) (i32.const 104)))
    (local.set $argc (i32.load (i32.const 100)))
    (if (i32.or (i32.gt_u (local.get $argc) (i32.const 64))
                (i32.gt_u (i32.load (i32.const 104)) (i32.const 1024)))
      (then (call $proc_exit (i32.const 99))))
    (call $check (call $args_get (i32.const 200) (i32.const 512)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
        (if (local.get $i) (then (call $byte (i32.const 32))))
        (local.set $arg (i32.load (i32.add (i32.const 200) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $len (call $strlen (local.get $arg)))
        (memory.copy (global.get $end) (local.get $arg) (local.get $len))
        (global.set $end (i32.add (global.get $end) (local.get $len)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; All of stdin, read straight into the line.
  (func $stdin
    (local $n i32)
    (block $eof
      (loop $next
        (br_if $eof (i32.ge_u (global.get $end) (i32.const 60000)))
        (i32.store (i32.const 0) (global.get $end))
        (i32.store (i32.const 4) (i32.const 256))
        (call $check (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        (br_if $eof (i32.eqz (local.get $n)))
        (global.set $end (i32.add (global.get $end) (local.get $n)))
        (br $next))))

  (func (export "_start")
    (call $args)
    (call $byte (i32.const 124))
    (call $stdin)
    (call $byte (i32.const 124))
    (call $check (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 3000)))
    (call $hex (i64.load (i32.const 3000)) (i32.const 16))
    (call $byte (i32.const 124))
    (call $check (call $random_get (i32.const 3008) (i32.const 4)))
    (call $hex (i64.load32_u (i32.const 3008)) (i32.const 8))
    (call $byte (i32.const 10))
    (i32.store (i32.const 0) (i32.const 4096))
    (i32.store (i32.const 4) (i32.sub (global.get $end) (i32.const 4096)))
    (call $check (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 3))))
