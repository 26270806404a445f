;; v128 through a table of functions (call_indirect), and lane types
;; meeting at joins: a block result, a select and br_table. (Were
;; engine/tests/simd.rs `tables_of_functions_taking_v128` and
;; `v128_across_joins`; the spec test runs this folder with inlining on and
;; off.)
(module
  (table 2 funcref)
  (elem (i32.const 0) $add $sub)
  (type $bin (func (param v128 v128) (result v128)))
  (func $add (type $bin) local.get 0 local.get 1 i32x4.add)
  (func $sub (type $bin) local.get 0 local.get 1 i32x4.sub)
  (func (export "add") (param v128 v128) (result v128)
    local.get 0 local.get 1 call $add)
  (func (export "indirect") (param v128 v128 i32) (result v128)
    local.get 0 local.get 1 local.get 2 call_indirect (type $bin))
  (func (export "join") (param i32 v128) (result v128)
    (block $b (result v128)
      (block $c (result v128)
        local.get 1 f32x4.abs
        local.get 1 i8x16.abs
        local.get 0 select
        local.get 1 i64x2.neg local.get 0 br_table $b $c $b)
      i16x8.neg)))

(assert_return (invoke "add" (v128.const i32x4 1 -2 0x7fffffff 7) (v128.const i32x4 10 20 1 -7))
  (v128.const i32x4 11 18 0x80000000 0))
(assert_return (invoke "indirect" (v128.const i32x4 5 6 7 8) (v128.const i32x4 1 1 1 1) (i32.const 0))
  (v128.const i32x4 6 7 8 9))
(assert_return (invoke "indirect" (v128.const i32x4 5 6 7 8) (v128.const i32x4 1 1 1 1) (i32.const 1))
  (v128.const i32x4 4 5 6 7))
(assert_trap (invoke "indirect" (v128.const i32x4 5 6 7 8) (v128.const i32x4 1 1 1 1) (i32.const 2))
  "undefined element")
;; br_table index 0 and the default go to $b with i64x2.neg; index 1 goes
;; to $c, then i16x8.neg.
(assert_return (invoke "join" (i32.const 0) (v128.const i32x4 -1 2 -3 4))
  (v128.const i32x4 1 -3 3 -5))
(assert_return (invoke "join" (i32.const 1) (v128.const i32x4 -1 2 -3 4))
  (v128.const i16x8 -1 0 3 1 -3 0 5 1))
(assert_return (invoke "join" (i32.const 7) (v128.const i32x4 -1 2 -3 4))
  (v128.const i32x4 1 -3 3 -5))
