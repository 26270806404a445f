;; Old-to-young stores: a long-lived array of 100,000 cells (each with a
;; leaf and a link to another cell) is built first, then `run(steps)`
;; mutates it `steps` times at pseudo-random places (an LCG), every time
;; storing freshly allocated objects into old ones: a new leaf into an old
;; cell's `child` field, every 4th step a new cell into an old cell's
;; `next` field, every 16th step a new cell into the old array itself.
;; Each step also reads what it replaces, so the values flow on. The result
;; is a walk over every cell, its leaf and its `next` cell (an i32 hash).
(module
  (type $leaf (struct (field $v i32)))
  (type $cell (struct
    (field $v (mut i32))
    (field $child (mut (ref null $leaf)))
    (field $next (mut (ref null $cell)))))
  (type $cells (array (mut (ref null $cell))))

  (func $new_cell (param $v i32) (result (ref $cell))
    (struct.new $cell
      (local.get $v)
      (struct.new $leaf (i32.mul (local.get $v) (i32.const 7)))
      (ref.null $cell)))

  (func (export "run") (param $steps i32) (result i32)
    (local $n i32)
    (local $arr (ref $cells))
    (local $i i32)
    (local $x i32)
    (local $idx i32)
    (local $c (ref $cell))
    (local $leaf (ref $leaf))
    (local $next (ref null $cell))
    (local $h i32)
    (local.set $n (i32.const 100000))
    ;; the long-lived structure
    (local.set $arr (array.new_default $cells (local.get $n)))
    (loop $fill
      (array.set $cells (local.get $arr) (local.get $i) (call $new_cell (local.get $i)))
      (br_if $fill
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $link
      (struct.set $cell $next
        (ref.as_non_null (array.get $cells (local.get $arr) (local.get $i)))
        (array.get $cells (local.get $arr)
          (i32.rem_u (i32.add (i32.mul (local.get $i) (i32.const 7919)) (i32.const 1))
            (local.get $n))))
      (br_if $link
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    ;; the mutations
    (local.set $x (i32.const 12345))
    (local.set $i (i32.const 0))
    (block $done
      (br_if $done (i32.le_s (local.get $steps) (i32.const 0)))
      (loop $step
        (local.set $x
          (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
        (local.set $idx (i32.rem_u (i32.shr_u (local.get $x) (i32.const 8)) (local.get $n)))
        (local.set $c (ref.as_non_null (array.get $cells (local.get $arr) (local.get $idx))))
        ;; a new leaf into the old cell, made from the leaf it replaces
        (local.set $leaf
          (struct.new $leaf
            (i32.xor
              (struct.get $leaf $v (ref.as_non_null (struct.get $cell $child (local.get $c))))
              (local.get $x))))
        (struct.set $cell $child (local.get $c) (local.get $leaf))
        (struct.set $cell $v (local.get $c)
          (i32.add (struct.get $cell $v (local.get $c))
            (i32.and (struct.get $leaf $v (local.get $leaf)) (i32.const 0xffff))))
        (if (i32.eqz (i32.and (local.get $i) (i32.const 3)))
          (then
            ;; a new cell into the old cell's link (the old link's value
            ;; flows into it; its own link is null, so the live set stays
            ;; bounded: every cell in the array and at most one link each)
            (local.set $next (struct.get $cell $next (local.get $c)))
            (local.set $next
              (struct.new $cell
                (i32.add (local.get $i)
                  (if (result i32) (ref.is_null (local.get $next))
                    (then (i32.const 0))
                    (else (struct.get $cell $v (ref.as_non_null (local.get $next))))))
                (struct.new $leaf (local.get $i))
                (ref.null $cell)))
            (struct.set $cell $next (local.get $c) (local.get $next))))
        (if (i32.eqz (i32.and (local.get $i) (i32.const 15)))
          (then
            ;; a new cell into the old array, taking over the old cell's link
            (array.set $cells (local.get $arr) (local.get $idx)
              (struct.new $cell
                (i32.add (struct.get $cell $v (local.get $c)) (i32.const 1))
                (struct.new $leaf (i32.rotl (local.get $x) (i32.const 5)))
                (struct.get $cell $next (local.get $c))))))
        (br_if $step
          (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $steps)))))
    ;; the checksum walk
    (local.set $h (i32.const 17))
    (local.set $i (i32.const 0))
    (loop $walk
      (local.set $c (ref.as_non_null (array.get $cells (local.get $arr) (local.get $i))))
      (local.set $h
        (i32.add
          (i32.mul (local.get $h) (i32.const 31))
          (i32.xor (struct.get $cell $v (local.get $c))
            (struct.get $leaf $v (ref.as_non_null (struct.get $cell $child (local.get $c)))))))
      (local.set $next (struct.get $cell $next (local.get $c)))
      (if (i32.eqz (ref.is_null (local.get $next)))
        (then
          (local.set $h
            (i32.add (i32.mul (local.get $h) (i32.const 31))
              (struct.get $cell $v (ref.as_non_null (local.get $next)))))))
      (br_if $walk
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $h))
)
