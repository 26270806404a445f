;; A mutable v128 global: read, added to and written back by wasm; an
;; imported v128 global from another module. (The wasm half of
;; engine/tests/simd.rs `v128_globals`, whose host-defined globals stay
;; there.)
(module $m
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (global (export "k") v128 (v128.const i64x2 -2 -1))
  (func (export "bump") (param v128) (result v128)
    global.get $g local.get 0 i32x4.add global.set $g global.get $g))
(register "m" $m)

(assert_return (get $m "g") (v128.const i32x4 1 2 3 4))
(assert_return (invoke $m "bump" (v128.const i32x4 10 10 10 -10)) (v128.const i32x4 11 12 13 -6))
(assert_return (get $m "g") (v128.const i32x4 11 12 13 -6))
(assert_return (invoke $m "bump" (v128.const i32x4 -11 -12 -13 6)) (v128.const i32x4 0 0 0 0))

(module
  (import "m" "k" (global $k v128))
  (import "m" "g" (global $g (mut v128)))
  (func (export "k") (result v128) global.get $k)
  (func (export "set") (param v128) (global.set $g (local.get 0))))
(assert_return (invoke "k") (v128.const i64x2 -2 -1))
(assert_return (invoke "set" (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)))
(assert_return (get $m "g") (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16))
