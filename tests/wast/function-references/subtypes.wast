;; call_indirect to a type that is not final accepts its subtypes'
;; functions, and imports match by subtyping, across modules whose identical
;; types are one type. (Was engine/tests/api.rs
;; `subtypes_in_call_indirect_and_imports`.)
(module $a
  (type $base (sub (func (result i32))))
  (type $sub (sub final $base (func (result i32))))
  (type $other (func (result i32)))
  (func $a (export "a") (type $base) (i32.const 1))
  (func $b (export "b") (type $sub) (i32.const 2))
  (func $c (export "c") (type $other) (i32.const 3))
  (table (export "t") 3 funcref)
  (elem (i32.const 0) func $a $b $c)
  (func (export "call_base") (param i32) (result i32)
    (call_indirect (type $base) (local.get 0)))
  (func (export "call_sub") (param i32) (result i32)
    (call_indirect (type $sub) (local.get 0)))
  (func (export "tail_base") (param i32) (result i32)
    (return_call_indirect (type $base) (local.get 0))))
(register "a" $a)

(assert_return (invoke $a "call_base" (i32.const 0)) (i32.const 1))
(assert_return (invoke $a "call_base" (i32.const 1)) (i32.const 2))
(assert_return (invoke $a "tail_base" (i32.const 1)) (i32.const 2))
(assert_trap (invoke $a "call_base" (i32.const 2)) "indirect call type mismatch")
(assert_trap (invoke $a "tail_base" (i32.const 2)) "indirect call type mismatch")
(assert_trap (invoke $a "call_sub" (i32.const 0)) "indirect call type mismatch")
(assert_return (invoke $a "call_sub" (i32.const 1)) (i32.const 2))

;; Module B declares the same two types and imports a `$base`: `$sub`'s
;; function fits, `(func (result i32))` does not.
(module $b
  (type $base (sub (func (result i32))))
  (type $sub (sub final $base (func (result i32))))
  (import "a" "b" (func $f (type $base)))
  (import "a" "t" (table 3 funcref))
  (func (export "run") (result i32) (call $f))
  (func (export "via_table") (param i32) (result i32)
    (call_indirect (type $base) (local.get 0))))
(assert_return (invoke $b "run") (i32.const 2))
(assert_return (invoke $b "via_table" (i32.const 0)) (i32.const 1))
(assert_return (invoke $b "via_table" (i32.const 1)) (i32.const 2))
(assert_trap (invoke $b "via_table" (i32.const 2)) "indirect call type mismatch")

(assert_unlinkable
  (module
    (type $base (sub (func (result i32))))
    (import "a" "c" (func $f (type $base))))
  "incompatible import type")
