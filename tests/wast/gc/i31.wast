;; i31 references: ref.i31 wraps to 31 bits, i31.get_s and i31.get_u
;; extend, they mix with structs in an eqref array, ref.eq compares i31
;; values by value, and a null i31 traps.
(module
  (type $box (struct (field i32)))
  (type $mixed (array (mut eqref)))
  (func (export "s") (param i32) (result i32) (i31.get_s (ref.i31 (local.get 0))))
  (func (export "u") (param i32) (result i32) (i31.get_u (ref.i31 (local.get 0))))
  (func (export "eq") (param i32 i32) (result i32)
    (ref.eq (ref.i31 (local.get 0)) (ref.i31 (local.get 1))))
  (func (export "null") (result i32) (i31.get_s (ref.null i31)))
  (func (export "make") (param i32) (result anyref) (ref.i31 (local.get 0)))
  ;; Sum of an array holding i31s in even and boxes in odd slots.
  (func (export "mixed") (param $n i32) (result i32)
    (local $a (ref $mixed)) (local $i i32) (local $sum i32) (local $e eqref)
    (local.set $a (array.new_default $mixed (local.get $n)))
    (loop $fill
      (array.set $mixed (local.get $a) (local.get $i)
        (if (result eqref) (i32.and (local.get $i) (i32.const 1))
          (then (struct.new $box (local.get $i)))
          (else (ref.i31 (local.get $i)))))
      (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $sum
      (local.set $e (array.get $mixed (local.get $a) (local.get $i)))
      (local.set $sum (i32.add (local.get $sum)
        (if (result i32) (ref.test (ref i31) (local.get $e))
          (then (i31.get_u (ref.cast (ref i31) (local.get $e))))
          (else (struct.get $box 0 (ref.cast (ref $box) (local.get $e)))))))
      (br_if $sum (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $sum)))

(assert_return (invoke "s" (i32.const 5)) (i32.const 5))
(assert_return (invoke "s" (i32.const -1)) (i32.const -1))
(assert_return (invoke "u" (i32.const -1)) (i32.const 0x7fffffff))
(assert_return (invoke "s" (i32.const 0x40000000)) (i32.const -0x40000000))
(assert_return (invoke "u" (i32.const 0x80000001)) (i32.const 1))
(assert_return (invoke "eq" (i32.const 7) (i32.const 7)) (i32.const 1))
(assert_return (invoke "eq" (i32.const 7) (i32.const 0x80000007)) (i32.const 1))
(assert_return (invoke "eq" (i32.const 7) (i32.const 8)) (i32.const 0))
(assert_trap (invoke "null") "null i31 reference")
(assert_return (invoke "make" (i32.const 3)) (ref.i31))
(assert_return (invoke "mixed" (i32.const 100)) (i32.const 4950))
