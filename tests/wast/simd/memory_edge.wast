;; v128 loads and stores at the end of memory: the last 16 bytes work, any
;; access reaching past the end traps, and a failed store writes nothing.
;; (Was engine/tests/simd.rs
;; `v128_memory_accesses_at_the_edge_trap_without_writing`.)
(module
  (memory 1)
  (func (export "load") (param i32) (result v128) local.get 0 v128.load)
  (func (export "store") (param i32 v128) local.get 0 local.get 1 v128.store)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "load_lane") (param i32) (result v128)
    local.get 0 (v128.const i64x2 0 0) v128.load64_lane 1))

(assert_return (invoke "store" (i32.const 65520) (v128.const i64x2 -1 -1)))
(assert_return (invoke "load" (i32.const 65520)) (v128.const i64x2 -1 -1))
(assert_trap (invoke "load" (i32.const 65521)) "out of bounds memory access")
(assert_trap (invoke "load" (i32.const 65535)) "out of bounds memory access")
(assert_trap (invoke "load" (i32.const 65536)) "out of bounds memory access")
(assert_trap (invoke "load" (i32.const -1)) "out of bounds memory access")
(assert_trap (invoke "store" (i32.const 65521) (v128.const i64x2 0 0)) "out of bounds memory access")
(assert_trap (invoke "store" (i32.const 65535) (v128.const i64x2 0 0)) "out of bounds memory access")
(assert_trap (invoke "store" (i32.const 65536) (v128.const i64x2 0 0)) "out of bounds memory access")
(assert_trap (invoke "store" (i32.const -1) (v128.const i64x2 0 0)) "out of bounds memory access")
;; The failed stores wrote nothing.
(assert_return (invoke "load" (i32.const 65520)) (v128.const i64x2 -1 -1))
(assert_return (invoke "load8" (i32.const 65535)) (i32.const 255))
(assert_return (invoke "load8" (i32.const 65519)) (i32.const 0))
(assert_return (invoke "load_lane" (i32.const 65528)) (v128.const i64x2 0 -1))
(assert_trap (invoke "load_lane" (i32.const 65529)) "out of bounds memory access")
