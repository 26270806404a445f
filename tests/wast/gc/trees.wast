;; Binary trees of structs: a long-lived tree, many short-lived ones, then
;; the long-lived one again, checked node by node. With NYASH_GC_STRESS=1
;; every allocation moves every object. (The logic of engine/tests/gc.rs
;; `trees_survive_moving_collections`, which stays there because it checks
;; that collections ran.)
(module
  (type $node (struct (field $l (ref null $node)) (field $r (ref null $node)) (field $v i32)))
  (func $make (export "make") (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node) (i32.const 1)))
      (else (struct.new $node
        (call $make (i32.sub (local.get $d) (i32.const 1)))
        (call $make (i32.sub (local.get $d) (i32.const 1)))
        (local.get $d)))))
  (func $check (export "check") (param $t (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $t))
      (then (i32.const 0))
      (else (i32.add (struct.get $node $v (local.get $t))
        (i32.add (call $check (struct.get $node $l (local.get $t)))
                 (call $check (struct.get $node $r (local.get $t))))))))
  (func (export "run") (param $d i32) (param $n i32) (result i32)
    (local $keep (ref null $node)) (local $sum i32)
    (local.set $keep (call $make (local.get $d)))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $check (call $make (local.get $d)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.add (local.get $sum) (call $check (local.get $keep)))))

;; (n + 1) * sum(d), sum(0) = 1, sum(d) = d + 2 * sum(d - 1).
(assert_return (invoke "run" (i32.const 0) (i32.const 1)) (i32.const 2))
(assert_return (invoke "run" (i32.const 6) (i32.const 3)) (i32.const 736))
(assert_return (invoke "run" (i32.const 8) (i32.const 4)) (i32.const 3790))
(assert_return (invoke "check" (ref.null none)) (i32.const 0))
