;; An exception thrown 10,000 calls deep is caught at the top, twice: the
;; stack is fine after resuming at the handler. (Was
;; engine/tests/exceptions.rs `deep_throw_is_caught_at_the_top`.)
(module
  (tag $e (param i32))
  (func $down (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 99))))
    (call $down (i32.sub (local.get 0) (i32.const 1))))
  (func (export "run") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $down (local.get 0)))
      (i32.const -1))))

(assert_return (invoke "run" (i32.const 10000)) (i32.const 99))
(assert_return (invoke "run" (i32.const 10000)) (i32.const 99))
(assert_return (invoke "run" (i32.const 0)) (i32.const 99))
