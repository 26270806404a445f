;; Tail calls (return_call, return_call_indirect): mutual recursion a
;; million deep, directly and through a table, runs in constant stack.
;; (Was engine/tests/api.rs `deep_tail_recursion_runs_in_constant_stack`;
;; the spec test runs this folder with inlining on and off.)
(module
  (type $t (func (param i64 i64) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $even_i $odd_i)
  (func $even (export "even") (param i64 i64) (result i64)
    local.get 0 i64.eqz
    if (result i64) local.get 1
    else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add return_call $odd end)
  (func $odd (param i64 i64) (result i64)
    local.get 0 i64.eqz
    if (result i64) local.get 1 i64.const 1000000000 i64.add
    else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add return_call $even end)
  (func $even_i (export "even_i") (param i64 i64) (result i64)
    local.get 0 i64.eqz
    if (result i64) local.get 1
    else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add
      i32.const 1 return_call_indirect (type $t) end)
  (func $odd_i (param i64 i64) (result i64)
    local.get 0 i64.eqz
    if (result i64) local.get 1 i64.const 1000000000 i64.add
    else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add
      i32.const 0 return_call_indirect (type $t) end))

;; Even depth ends in $even, odd depth in $odd (+1e9).
(assert_return (invoke "even" (i64.const 1000000) (i64.const 0)) (i64.const 1000000))
(assert_return (invoke "even" (i64.const 1000001) (i64.const 0)) (i64.const 1001000001))
(assert_return (invoke "even_i" (i64.const 1000000) (i64.const 0)) (i64.const 1000000))
(assert_return (invoke "even_i" (i64.const 1000001) (i64.const 0)) (i64.const 1001000001))
