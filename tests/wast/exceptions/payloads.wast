;; Every value type as payload, thrown and caught in wasm (the handler
;; returns the values), nulls included; and uncaught. (The wasm half of
;; engine/tests/exceptions.rs `payload_of_every_value_type`.)
(module
  (tag $all (param i32 i64 f32 f64 v128 externref))
  (func $throw (param i32 i64 f32 f64 v128 externref)
    (throw $all (local.get 0) (local.get 1) (local.get 2) (local.get 3)
      (local.get 4) (local.get 5)))
  (func (export "roundtrip") (param i32 i64 f32 f64 v128 externref)
    (result i32 i64 f32 f64 v128 externref)
    (block $h (result i32 i64 f32 f64 v128 externref)
      (try_table (catch $all $h)
        (call $throw (local.get 0) (local.get 1) (local.get 2) (local.get 3)
          (local.get 4) (local.get 5)))
      (unreachable)))
  (func (export "uncaught") (param i32 i64 f32 f64 v128 externref)
    (call $throw (local.get 0) (local.get 1) (local.get 2) (local.get 3)
      (local.get 4) (local.get 5))))

(assert_return
  (invoke "roundtrip" (i32.const -3) (i64.const 1099511627776) (f32.const 1.5)
    (f64.const -0.25) (v128.const i32x4 1 2 3 4) (ref.extern 77))
  (i32.const -3) (i64.const 1099511627776) (f32.const 1.5)
  (f64.const -0.25) (v128.const i32x4 1 2 3 4) (ref.extern 77))
(assert_return
  (invoke "roundtrip" (i32.const 0) (i64.const -1) (f32.const nan)
    (f64.const -inf) (v128.const i64x2 -1 0) (ref.null extern))
  (i32.const 0) (i64.const -1) (f32.const nan)
  (f64.const -inf) (v128.const i64x2 -1 0) (ref.null extern))
(assert_exception
  (invoke "uncaught" (i32.const 1) (i64.const 2) (f32.const 3) (f64.const 4)
    (v128.const i32x4 5 6 7 8) (ref.extern 9)))
