;; Identical recursion groups in two modules are one type: an object made
;; by one module passes the other's ref.test and ref.cast for its own
;; declaration of the type, not for a structurally different one. (Was
;; engine/tests/gc.rs `types_from_two_modules_are_one_type`.)
(module $a
  (type $p (sub (struct (field i32))))
  (type $q (sub $p (struct (field i32) (field i64))))
  (func (export "make") (result anyref) (struct.new $q (i32.const 3) (i64.const 4))))
(register "a" $a)

(module $b
  (type $p (sub (struct (field i32))))
  (type $q (sub $p (struct (field i32) (field i64))))
  (type $other (struct (field i32)))
  (import "a" "make" (func $make (result anyref)))
  (func $is_p (export "is_p") (param anyref) (result i32) (ref.test (ref $p) (local.get 0)))
  (func $is_other (export "is_other") (param anyref) (result i32) (ref.test (ref $other) (local.get 0)))
  (func $get (export "get") (param anyref) (result i64)
    (struct.get $q 1 (ref.cast (ref $q) (local.get 0))))
  (func (export "all") (result i32 i32 i64)
    (call $is_p (call $make)) (call $is_other (call $make)) (call $get (call $make)))
  (func (export "cast_other") (result i32)
    (struct.get $other 0 (ref.cast (ref $other) (call $make)))))

(assert_return (invoke $a "make") (ref.struct))
(assert_return (invoke $b "all") (i32.const 1) (i32.const 0) (i64.const 4))
(assert_trap (invoke $b "cast_other") "cast failure")
