;; Two memories, one imported and one defined: copy between them, load from
;; one and store into the other, grow and fill one, and each memory's size.
;; (Was engine/tests/api.rs `multi_memory_imported_and_defined`, whose
;; imported memory was made by the host; here another module exports it.)
(module $host (memory (export "mem") 1))
(register "host" $host)

(module $m
  (import "host" "mem" (memory $a 1))
  (memory $b (export "b") 1 3)
  (data (memory $b) (i32.const 8) "\2a")
  (func (export "run") (result i32 i32 i32)
    (memory.copy $a $b (i32.const 100) (i32.const 8) (i32.const 1))
    (i32.store8 $b (i32.const 9) (i32.load8_u $a (i32.const 100)))
    (drop (memory.grow $b (i32.const 1)))
    (memory.fill $b (i32.const 65536) (i32.const 7) (i32.const 2))
    (i32.load16_u $b (i32.const 65536))
    (memory.size $b)
    (memory.size $a))
  (func (export "a") (param i32) (result i32) (i32.load8_u $a (local.get 0)))
  (func (export "b8") (param i32) (result i32) (i32.load8_u $b (local.get 0))))

(assert_return (invoke $m "run") (i32.const 0x0707) (i32.const 2) (i32.const 1))
(assert_return (invoke $m "a" (i32.const 100)) (i32.const 0x2a))
(assert_return (invoke $m "b8" (i32.const 8)) (i32.const 0x2a))
(assert_return (invoke $m "b8" (i32.const 9)) (i32.const 0x2a))
;; Each memory is bounds-checked against its own size.
(assert_trap (invoke $m "a" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke $m "b8" (i32.const 65537)) (i32.const 7))
(assert_trap (invoke $m "b8" (i32.const 131072)) "out of bounds memory access")
