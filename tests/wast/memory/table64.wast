;; A 64-bit table: call_indirect with a 64-bit index (beyond 4 GiB traps),
;; table.grow and table.size. (The table half of engine/tests/api.rs
;; `memory64_and_table64`.)
(module
  (table $t i64 2 funcref)
  (elem (table $t) (i64.const 1) func $seven)
  (type $r (func (result i32)))
  (func $seven (result i32) i32.const 7)
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $r) (local.get 0)))
  (func (export "tgrow") (result i64 i64)
    (table.grow $t (ref.null func) (i64.const 3)) (table.size $t)))

(assert_return (invoke "call" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "call" (i64.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i64.const 0x100000000)) "undefined element")
(assert_trap (invoke "call" (i64.const 2)) "undefined element")
(assert_return (invoke "tgrow") (i64.const 2) (i64.const 5))
(assert_trap (invoke "call" (i64.const 4)) "uninitialized element")
