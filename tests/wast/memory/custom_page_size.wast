;; A memory of one-byte pages: byte 5 of a 5-byte memory is inside the same
;; OS page, so only the bounds check can trap; growing moves the bound.
;; (The wasm half of engine/tests/api.rs
;; `custom_page_size_of_one_byte_is_bounds_checked`.)
(module
  (memory (export "m") 5 10 (pagesize 1))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size)))

(assert_return (invoke "load" (i32.const 4)) (i32.const 0))
(assert_trap (invoke "load" (i32.const 5)) "out of bounds memory access")
(assert_trap (invoke "store" (i32.const 5)) "out of bounds memory access")
(assert_return (invoke "load32" (i32.const 1)) (i32.const 0))
(assert_trap (invoke "load32" (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 3)) (i32.const 5))
(assert_return (invoke "size") (i32.const 8))
(assert_return (invoke "store" (i32.const 7)))
(assert_return (invoke "load" (i32.const 7)) (i32.const 1))
(assert_trap (invoke "load" (i32.const 8)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 3)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 2)) (i32.const 8))
(assert_return (invoke "size") (i32.const 10))
