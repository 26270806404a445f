;; A string pool in an immutable global holding an array of structs: the
;; global's object moves in a collection (with NYASH_GC_STRESS=1 at every
;; allocation), and every load of the global must see where it is now.
;; (The logic of engine/tests/gc.rs `immutable_global_follows_its_object`,
;; which stays there to run in stress mode every time.)
(module
  (type $chars (array (mut i16)))
  (type $str (struct (field (ref $chars))))
  (type $string_array (array (mut (ref null $str))))
  (global $pool (ref $string_array) (array.new_default $string_array (i32.const 64)))
  (func $lit (param $id i32) (result (ref null $str))
    (local $tmp (ref null $str))
    (block $b (result (ref null $str))
      (br_on_non_null $b (array.get $string_array (global.get $pool) (local.get $id)))
      (local.set $tmp (struct.new $str (array.new_default $chars (i32.const 10))))
      (array.set $string_array (global.get $pool) (local.get $id) (local.get $tmp))
      (local.get $tmp)))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc)
        (array.len (struct.get $str 0 (ref.as_non_null
          (call $lit (i32.rem_u (local.get $i) (i32.const 64))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func (export "filled") (result i32)
    (local $i i32) (local $n i32)
    (loop $l
      (local.set $n (i32.add (local.get $n)
        (i32.eqz (ref.is_null (array.get $string_array (global.get $pool) (local.get $i))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 64))))
    (local.get $n)))

(assert_return (invoke "filled") (i32.const 0))
(assert_return (invoke "run" (i32.const 40)) (i32.const 400))
(assert_return (invoke "filled") (i32.const 40))
(assert_return (invoke "run" (i32.const 1000)) (i32.const 10000))
(assert_return (invoke "filled") (i32.const 64))
;; A second run: the pool is full, every literal comes from it.
(assert_return (invoke "run" (i32.const 1000)) (i32.const 10000))
