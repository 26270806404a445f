;; Imported tags keep their identity: two instances importing the same tag,
;; one throws and the other catches; a tag of the same type defined by
;; another module is another tag; linking checks tag types. (Was
;; engine/tests/exceptions.rs `imported_tags_keep_their_identity`.)
(module $a (tag (export "t") (param i32)))
(register "a" $a)

(module $thrower
  (import "a" "t" (tag $t (param i32)))
  (tag $own (param i32))
  (func (export "throw") (param i32) (throw $t (local.get 0)))
  (func (export "throw_own") (param i32) (throw $own (local.get 0))))
(register "thrower" $thrower)

(module $catcher
  (import "a" "t" (tag $t (param i32)))
  (import "thrower" "throw" (func $throw (param i32)))
  (import "thrower" "throw_own" (func $throw_own (param i32)))
  (tag $mine (param i32))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $mine 0) (catch $t $h)
        (call $throw (local.get 0)))
      (i32.const -1)))
  (func (export "catch_own") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $mine $h) (catch $t $h)
        (call $throw_own (local.get 0)))
      (i32.const -1))))

(assert_return (invoke $catcher "catch" (i32.const 3)) (i32.const 3))
(assert_exception (invoke $catcher "catch_own" (i32.const 3)))
(assert_exception (invoke $thrower "throw" (i32.const 1)))

(assert_unlinkable
  (module (import "a" "t" (tag (param i64))))
  "incompatible import type")
