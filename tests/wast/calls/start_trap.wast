;; A start function that traps fails instantiation with the trap; a start
;; function that returns has run before the first invoke. (Was
;; engine/tests/api.rs `start_function_trap_fails_instantiation`.)
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(assert_trap
  (module (memory 1) (func $s (drop (i32.load (i32.const 65536)))) (start $s))
  "out of bounds memory access")

(module
  (global $g (mut i32) (i32.const 0))
  (func $s (global.set $g (i32.const 5)))
  (start $s)
  (func (export "g") (result i32) (global.get $g)))
(assert_return (invoke "g") (i32.const 5))
