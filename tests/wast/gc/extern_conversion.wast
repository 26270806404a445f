;; any.convert_extern and extern.convert_any: a host value goes in and comes
;; back out the same; it is not an eqref; a wasm struct survives the round
;; trip as the same object. (Was engine/tests/gc.rs
;; `extern_conversion_round_trips`.)
(module
  (type $s (struct))
  (func (export "in") (param externref) (result anyref) (any.convert_extern (local.get 0)))
  (func (export "out") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "round") (param externref) (result externref)
    (extern.convert_any (any.convert_extern (local.get 0))))
  (func (export "same") (result i32)
    (local $x (ref $s))
    (local.set $x (struct.new $s))
    (ref.eq (local.get $x)
            (ref.cast eqref (any.convert_extern (extern.convert_any (local.get $x))))))
  (func (export "is_eq") (param externref) (result i32)
    (ref.test eqref (any.convert_extern (local.get 0))))
  (func (export "struct_out") (result externref) (extern.convert_any (struct.new $s))))

(assert_return (invoke "in" (ref.extern 42)) (ref.host 42))
(assert_return (invoke "round" (ref.extern 42)) (ref.extern 42))
(assert_return (invoke "in" (ref.null extern)) (ref.null any))
(assert_return (invoke "out" (ref.null any)) (ref.null extern))
(assert_return (invoke "is_eq" (ref.extern 42)) (i32.const 0))
(assert_return (invoke "same") (i32.const 1))
(assert_return (invoke "struct_out") (ref.extern))
