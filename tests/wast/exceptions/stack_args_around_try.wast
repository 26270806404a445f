;; Calls with arguments and results on the stack (more than the registers
;; hold) inside a try_table: the handler's frame is intact after the callee
;; threw, and normal returns still work. (Was engine/tests/exceptions.rs
;; `stack_arguments_and_results_around_try_calls`.)
(module
  (tag $e (param i64))
  (func $callee (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (if (i64.eq (local.get 19) (i64.const 0)) (then (throw $e (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.const 0) (local.get 0)) (local.get 1)) (local.get 2)) (local.get 3)) (local.get 4)) (local.get 5)) (local.get 6)) (local.get 7)) (local.get 8)) (local.get 9)) (local.get 10)) (local.get 11)) (local.get 12)) (local.get 13)) (local.get 14)) (local.get 15)) (local.get 16)) (local.get 17)) (local.get 18)) (local.get 19)))))
    (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11))
  (func (export "run") (param i64) (result i64)
    (local $x i64)
    (local.set $x (i64.const 1000))
    (block $h (result i64)
      (try_table (catch $e $h)
        (call $callee (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9) (i64.const 10) (i64.const 11) (i64.const 12) (i64.const 13) (i64.const 14) (i64.const 15) (i64.const 16) (i64.const 17) (i64.const 18) (i64.const 19) (local.get 0))
        (drop) (drop) (drop) (drop) (drop) (drop)
        (drop) (drop) (drop) (drop) (drop)
        (return (i64.add (local.get $x))))
      (unreachable))
    (i64.add (local.get $x))))

;; No throw: the first result (1) plus $x.
(assert_return (invoke "run" (i64.const 20)) (i64.const 1001))
;; Throws the sum 1 + ... + 19 + 0 = 190; the handler adds $x.
(assert_return (invoke "run" (i64.const 0)) (i64.const 1190))
;; Throws nothing for any other last argument.
(assert_return (invoke "run" (i64.const -1)) (i64.const 1001))
