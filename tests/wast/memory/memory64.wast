;; A 64-bit memory: loads at its edge, addresses beyond 4 GiB and offsets
;; that wrap in 64 bits trap, memory.grow's failures, the grown page, fill
;; at the edge. (The wasm half of engine/tests/api.rs `memory64_and_table64`.)
(module
  (memory $m (export "m") i64 1 2)
  (data (i64.const 65535) "\07")
  (func (export "load") (param i64) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load_far") (param i64) (result i32)
    (i32.load8_u offset=0xffffffff (local.get 0)))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "fill") (param i64 i64) (memory.fill (local.get 0) (i32.const 9) (local.get 1))))

(assert_return (invoke "load" (i64.const 65535)) (i32.const 7))
(assert_trap (invoke "load" (i64.const 65536)) "out of bounds memory access")
(assert_trap (invoke "load" (i64.const 0x100000000)) "out of bounds memory access")
(assert_trap (invoke "load" (i64.const -1)) "out of bounds memory access")
(assert_trap (invoke "load_far" (i64.const -1)) "out of bounds memory access")
(assert_trap (invoke "load_far" (i64.const 0)) "out of bounds memory access")
(assert_return (invoke "grow" (i64.const 1)) (i64.const 1))
(assert_return (invoke "grow" (i64.const 1)) (i64.const -1))
(assert_return (invoke "grow" (i64.const -1)) (i64.const -1))
(assert_return (invoke "size") (i64.const 2))
;; The grown page is reachable after the memory grew.
(assert_return (invoke "fill" (i64.const 131070) (i64.const 2)))
(assert_return (invoke "load" (i64.const 131071)) (i32.const 9))
(assert_trap (invoke "fill" (i64.const 131071) (i64.const 2)) "out of bounds memory access")
(assert_trap (invoke "fill" (i64.const -1) (i64.const 2)) "out of bounds memory access")
