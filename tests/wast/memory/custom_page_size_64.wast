;; One-byte pages in a 64-bit memory, and a memory of one-byte pages next to
;; a memory of 64 KiB pages: each is checked against its own bound.
(module
  (memory $small i64 3 (pagesize 1))
  (memory $big 1)
  (func (export "small") (param i64) (result i32) (i32.load8_u $small (local.get 0)))
  (func (export "big") (param i32) (result i32) (i32.load8_u $big (local.get 0)))
  (func (export "set_small") (param i64 i32) (i32.store8 $small (local.get 0) (local.get 1)))
  (func (export "grow_small") (param i64) (result i64) (memory.grow $small (local.get 0)))
  (func (export "size_small") (result i64) (memory.size $small)))

(assert_return (invoke "set_small" (i64.const 2) (i32.const 200)))
(assert_return (invoke "small" (i64.const 2)) (i32.const 200))
(assert_trap (invoke "small" (i64.const 3)) "out of bounds memory access")
(assert_trap (invoke "small" (i64.const -1)) "out of bounds memory access")
(assert_return (invoke "big" (i32.const 3)) (i32.const 0))
(assert_return (invoke "big" (i32.const 65535)) (i32.const 0))
(assert_trap (invoke "big" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke "grow_small" (i64.const 1)) (i64.const 3))
(assert_return (invoke "size_small") (i64.const 4))
(assert_return (invoke "small" (i64.const 3)) (i32.const 0))
(assert_return (invoke "small" (i64.const 2)) (i32.const 200))
