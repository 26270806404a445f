;; Typed function references: call_ref and return_call_ref through locals,
;; globals and tables of typed references, ref.as_non_null and br_on_null,
;; and the traps of a null reference.
(module
  (type $i2i (func (param i32) (result i32)))
  (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $inc $dbl)
  (global $g (mut (ref null $i2i)) (ref.null $i2i))
  (table $t 2 (ref null $i2i))
  (func (export "pick") (param i32 i32) (result i32)
    (local $f (ref $i2i))
    (local.set $f
      (if (result (ref $i2i)) (local.get 0) (then (ref.func $dbl)) (else (ref.func $inc))))
    (call_ref $i2i (local.get 1) (local.get $f)))
  (func (export "set") (param i32)
    (global.set $g
      (if (result (ref null $i2i)) (local.get 0) (then (ref.func $dbl)) (else (ref.null $i2i))))
    (table.set $t (i32.const 1) (global.get $g)))
  (func (export "call_global") (param i32) (result i32)
    (call_ref $i2i (local.get 0) (global.get $g)))
  (func (export "tail_table") (param i32) (result i32)
    (return_call_ref $i2i (local.get 0) (table.get $t (i32.const 1))))
  (func (export "or_default") (param i32) (result i32)
    (block $null
      (return (call_ref $i2i (local.get 0) (br_on_null $null (global.get $g)))))
    (i32.const -1))
  (func (export "as_non_null") (result i32)
    (drop (ref.as_non_null (global.get $g))) (i32.const 1)))

(assert_return (invoke "pick" (i32.const 0) (i32.const 20)) (i32.const 21))
(assert_return (invoke "pick" (i32.const 1) (i32.const 20)) (i32.const 40))
(assert_trap (invoke "call_global" (i32.const 1)) "null function reference")
(assert_trap (invoke "tail_table" (i32.const 1)) "null function reference")
(assert_trap (invoke "as_non_null") "null reference")
(assert_return (invoke "or_default" (i32.const 5)) (i32.const -1))
(assert_return (invoke "set" (i32.const 1)))
(assert_return (invoke "call_global" (i32.const 7)) (i32.const 14))
(assert_return (invoke "tail_table" (i32.const 8)) (i32.const 16))
(assert_return (invoke "or_default" (i32.const 5)) (i32.const 10))
(assert_return (invoke "as_non_null") (i32.const 1))
(assert_return (invoke "set" (i32.const 0)))
(assert_return (invoke "or_default" (i32.const 5)) (i32.const -1))
