;; Twelve v128 parameters (more than the vector argument registers) and ten
;; v128 results (more than the return registers), to the host and between
;; wasm functions. (Was engine/tests/simd.rs `many_v128_params_and_results`.)
(module
  (func $sum12 (export "sum12")
    (param v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128)
    (result v128)
    local.get 0 local.get 1 i32x4.add local.get 2 i32x4.add
    local.get 3 i32x4.add local.get 4 i32x4.add local.get 5 i32x4.add
    local.get 6 i32x4.add local.get 7 i32x4.add local.get 8 i32x4.add
    local.get 9 i32x4.add local.get 10 i32x4.add local.get 11 i32x4.add)
  (func $splat10 (export "splat10") (param i32)
    (result v128 v128 v128 v128 v128 v128 v128 v128 v128 v128)
    (local v128)
    local.get 0 i32x4.splat local.set 1
    local.get 1 local.get 1 local.get 1 local.get 1 local.get 1
    local.get 1 local.get 1 local.get 1 local.get 1 local.get 1)
  ;; wasm to wasm: the ten results of splat10 as sum12's first ten
  ;; arguments.
  (func (export "chain") (param i32) (result v128)
    (call $sum12 (call $splat10 (local.get 0))
      (v128.const i32x4 1 2 3 4) (v128.const i32x4 0 0 0 -1))))

(assert_return (invoke "sum12" (v128.const i32x4 0 0 0 1) (v128.const i32x4 1 -1 100 1) (v128.const i32x4 2 -2 200 1) (v128.const i32x4 3 -3 300 1) (v128.const i32x4 4 -4 400 1) (v128.const i32x4 5 -5 500 1) (v128.const i32x4 6 -6 600 1) (v128.const i32x4 7 -7 700 1) (v128.const i32x4 8 -8 800 1) (v128.const i32x4 9 -9 900 1) (v128.const i32x4 10 -10 1000 1) (v128.const i32x4 11 -11 1100 1)) (v128.const i32x4 66 -66 6600 12))
(assert_return (invoke "splat10" (i32.const -3)) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3) (v128.const i32x4 -3 -3 -3 -3))
(assert_return (invoke "chain" (i32.const 5)) (v128.const i32x4 51 52 53 53))
