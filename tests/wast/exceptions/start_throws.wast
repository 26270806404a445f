;; A start function that throws fails instantiation with the exception (not
;; a trap); one that catches its own exception instantiates.
(assert_exception
  (module (tag $e (param i64)) (func $s (throw $e (i64.const 3))) (start $s)))

(module
  (tag $e (param i32))
  (global $g (mut i32) (i32.const 0))
  (func $s
    (global.set $g
      (block $h (result i32)
        (try_table (catch $e $h) (throw $e (i32.const 17)))
        (i32.const -1))))
  (start $s)
  (func (export "g") (result i32) (global.get $g)))
(assert_return (invoke "g") (i32.const 17))
