;; Unbounded recursion is stack exhaustion, every time (the guard is reset
;; after each); a deep but bounded recursion afterwards still runs. (Was
;; engine/tests/api.rs `unbounded_recursion_is_stack_overflow`.)
(module
  (func $f (export "f") call $f)
  (func $g (export "g") (param i32) (result i32)
    (local i64 i64 i64 i64)
    (call $g (i32.add (local.get 0) (i32.const 1)))
    drop (i32.const 0))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))

(assert_exhaustion (invoke "f") "call stack exhausted")
(assert_exhaustion (invoke "f") "call stack exhausted")
(assert_exhaustion (invoke "g" (i32.const 0)) "call stack exhausted")
(assert_exhaustion (invoke "f") "call stack exhausted")
(assert_return (invoke "down" (i32.const 10000)) (i32.const 10000))
