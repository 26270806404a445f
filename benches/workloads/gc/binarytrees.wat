;; binary-trees (the Computer Language Benchmarks Game) with WebAssembly GC
;; structs: a stretch tree of depth max+1, a long-lived tree of depth max,
;; then for d = 4, 6, .., max, 2^(max-d+4) trees of depth d, each built
;; bottom-up and checked (its nodes counted) recursively.
;; `run(max)` returns the sum of all checks (as i64).
(module
  (type $node (struct (field $l (ref null $node)) (field $r (ref null $node))))

  (func $bottom_up (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else
        (local.set $d (i32.sub (local.get $d) (i32.const 1)))
        (struct.new $node
          (call $bottom_up (local.get $d))
          (call $bottom_up (local.get $d))))))

  (func $check (param $t (ref $node)) (result i32)
    (block $leaf
      (return
        (i32.add
          (i32.add
            (i32.const 1)
            (call $check (br_on_null $leaf (struct.get $node $l (local.get $t)))))
          (call $check (ref.as_non_null (struct.get $node $r (local.get $t)))))))
    (i32.const 1))

  (func (export "run") (param $max i32) (result i64)
    (local $total i64)
    (local $long (ref null $node))
    (local $d i32)
    (local $iters i32)
    (local $i i32)
    (if (i32.lt_s (local.get $max) (i32.const 6))
      (then (local.set $max (i32.const 6))))
    ;; stretch tree
    (local.set $total
      (i64.extend_i32_u
        (call $check (call $bottom_up (i32.add (local.get $max) (i32.const 1))))))
    ;; long-lived tree
    (local.set $long (call $bottom_up (local.get $max)))
    (local.set $d (i32.const 4))
    (loop $depths
      (local.set $iters
        (i32.shl (i32.const 1)
          (i32.add (i32.sub (local.get $max) (local.get $d)) (i32.const 4))))
      (local.set $i (i32.const 0))
      (loop $trees
        (local.set $total
          (i64.add (local.get $total)
            (i64.extend_i32_u (call $check (call $bottom_up (local.get $d))))))
        (br_if $trees
          (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
            (local.get $iters))))
      (br_if $depths
        (i32.le_s (local.tee $d (i32.add (local.get $d) (i32.const 2)))
          (local.get $max))))
    (i64.add (local.get $total)
      (i64.extend_i32_u (call $check (ref.as_non_null (local.get $long))))))
)
