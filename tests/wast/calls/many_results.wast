;; 20 results of every type, more than the return registers hold, returned
;; from wasm to wasm and to the host. (Was engine/tests/api.rs
;; `functions_with_more_results_than_return_registers`.)
(module
  (func $many (result i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32) (i64.const 1) (i32.const 2) (f64.const 3) (f32.const 4) (i64.const 5) (i32.const 6) (f64.const 7) (f32.const 8) (i64.const 9) (i32.const 10) (f64.const 11) (f32.const 12) (i64.const 13) (i32.const 14) (f64.const 15) (f32.const 16) (i64.const 17) (i32.const 18) (f64.const 19) (f32.const 20))
  (func (export "many") (result i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32) (call $many))
  (func (export "sum") (result f64)
    (local i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32 i64 i32 f64 f32)
    (call $many)
    (local.set 19) (local.set 18) (local.set 17) (local.set 16) (local.set 15) (local.set 14) (local.set 13) (local.set 12) (local.set 11) (local.set 10) (local.set 9) (local.set 8) (local.set 7) (local.set 6) (local.set 5) (local.set 4) (local.set 3) (local.set 2) (local.set 1) (local.set 0)
    (f64.const 0) (local.get 0) (f64.convert_i64_s) (f64.add) (local.get 1) (f64.convert_i32_s) (f64.add) (local.get 2) (f64.add) (local.get 3) (f64.promote_f32) (f64.add) (local.get 4) (f64.convert_i64_s) (f64.add) (local.get 5) (f64.convert_i32_s) (f64.add) (local.get 6) (f64.add) (local.get 7) (f64.promote_f32) (f64.add) (local.get 8) (f64.convert_i64_s) (f64.add) (local.get 9) (f64.convert_i32_s) (f64.add) (local.get 10) (f64.add) (local.get 11) (f64.promote_f32) (f64.add) (local.get 12) (f64.convert_i64_s) (f64.add) (local.get 13) (f64.convert_i32_s) (f64.add) (local.get 14) (f64.add) (local.get 15) (f64.promote_f32) (f64.add) (local.get 16) (f64.convert_i64_s) (f64.add) (local.get 17) (f64.convert_i32_s) (f64.add) (local.get 18) (f64.add) (local.get 19) (f64.promote_f32) (f64.add)))

(assert_return (invoke "many") (i64.const 1) (i32.const 2) (f64.const 3) (f32.const 4) (i64.const 5) (i32.const 6) (f64.const 7) (f32.const 8) (i64.const 9) (i32.const 10) (f64.const 11) (f32.const 12) (i64.const 13) (i32.const 14) (f64.const 15) (f32.const 16) (i64.const 17) (i32.const 18) (f64.const 19) (f32.const 20))
(assert_return (invoke "sum") (f64.const 210))
