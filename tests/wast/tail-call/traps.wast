;; A trap in a tail-called function, a tail call through a null or
;; mistyped table entry, and a tail call to a function with more
;; parameters than the caller has (its frame is rebuilt).
(module
  (type $r (func (param i64) (result i64)))
  (type $other (func (result i32)))
  (table 3 funcref)
  (elem (i32.const 0) $fail $o)
  (func $fail (param i64) (result i64) local.get 0 i64.const 0 i64.div_u)
  (func $o (result i32) i32.const 1)
  (func $via (param i64) (result i64) local.get 0 return_call $fail)
  (func (export "trap") (param i64) (result i64) local.get 0 call $via i64.const 1 i64.add)
  (func (export "indirect") (param i64 i32) (result i64)
    (return_call_indirect (type $r) (local.get 0) (local.get 1)))
  (func $wide (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
    (i64.add (local.get 0) (i64.add (local.get 5) (local.get 9))))
  (func (export "widen") (param i64) (result i64)
    (return_call $wide (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
      (i64.const 50) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 900))))

(assert_trap (invoke "trap" (i64.const 7)) "integer divide by zero")
(assert_trap (invoke "indirect" (i64.const 7) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "indirect" (i64.const 7) (i32.const 1)) "indirect call type mismatch")
(assert_trap (invoke "indirect" (i64.const 7) (i32.const 2)) "uninitialized element")
(assert_trap (invoke "indirect" (i64.const 7) (i32.const 3)) "undefined element")
(assert_return (invoke "widen" (i64.const 10000)) (i64.const 10950))
