;; Virtual dispatch as Kotlin or Dart compile it to WebAssembly GC: classes
;; are `sub` struct types whose first field is a vtable (a struct of typed
;; function references), subclasses extend both the object and the vtable.
;;
;;   Shape (non-final, abstract)   vtable: area, scale
;;   +- Circle (final)
;;   +- Rect (non-final)           vtable: area, scale, perimeter
;;   |  +- Square (final)
;;   +- Tri (final)
;;
;; `run(rounds)` makes an array of 1,000 mixed shapes, then for each round
;; and each shape calls `area` and `scale` through the vtable (`call_ref`),
;; runs a type switch (`br_on_cast` to a final and a non-final type,
;; `br_on_cast_fail`), calls `perimeter` after a `ref.cast` to the
;; non-final `Rect`, and counts shapes with `ref.test`. Methods `ref.cast`
;; their receiver to their own (final or non-final) class. The result is an
;; i32 hash of every value computed.
(module
  (rec
    (type $Shape (sub (struct (field $vt (ref $ShapeVt)) (field $id (mut i32)))))
    (type $ShapeVt (sub (struct
      (field $area (ref $area_fn))
      (field $scale (ref $scale_fn)))))
    (type $area_fn (func (param (ref $Shape)) (result i32)))
    (type $scale_fn (func (param (ref $Shape) i32)))
    (type $Circle (sub final $Shape (struct
      (field $vt (ref $ShapeVt)) (field $id (mut i32))
      (field $r (mut i32)))))
    (type $RectVt (sub final $ShapeVt (struct
      (field $area (ref $area_fn))
      (field $scale (ref $scale_fn))
      (field $perimeter (ref $area_fn)))))
    (type $Rect (sub $Shape (struct
      (field $vt (ref $RectVt)) (field $id (mut i32))
      (field $w (mut i32)) (field $h (mut i32)))))
    (type $Square (sub final $Rect (struct
      (field $vt (ref $RectVt)) (field $id (mut i32))
      (field $w (mut i32)) (field $h (mut i32)))))
    (type $Tri (sub final $Shape (struct
      (field $vt (ref $ShapeVt)) (field $id (mut i32))
      (field $b (mut i32)) (field $h (mut i32))))))
  (type $shapes (array (mut (ref null $Shape))))

  (global $circle_vt (ref $ShapeVt)
    (struct.new $ShapeVt (ref.func $circle_area) (ref.func $circle_scale)))
  (global $rect_vt (ref $RectVt)
    (struct.new $RectVt (ref.func $rect_area) (ref.func $rect_scale) (ref.func $rect_perimeter)))
  (global $square_vt (ref $RectVt)
    (struct.new $RectVt (ref.func $rect_area) (ref.func $square_scale) (ref.func $rect_perimeter)))
  (global $tri_vt (ref $ShapeVt)
    (struct.new $ShapeVt (ref.func $tri_area) (ref.func $tri_scale)))

  (func $circle_area (type $area_fn) (param $s (ref $Shape)) (result i32)
    (local $c (ref $Circle))
    (local.set $c (ref.cast (ref $Circle) (local.get $s)))
    (i32.shr_u
      (i32.mul (i32.const 201)
        (i32.mul (struct.get $Circle $r (local.get $c)) (struct.get $Circle $r (local.get $c))))
      (i32.const 6)))
  (func $circle_scale (type $scale_fn) (param $s (ref $Shape)) (param $k i32)
    (local $c (ref $Circle))
    (local.set $c (ref.cast (ref $Circle) (local.get $s)))
    (struct.set $Circle $r (local.get $c)
      (i32.add (i32.const 1)
        (i32.and (i32.add (struct.get $Circle $r (local.get $c)) (local.get $k)) (i32.const 127)))))
  (func $rect_area (type $area_fn) (param $s (ref $Shape)) (result i32)
    (local $r (ref $Rect))
    (local.set $r (ref.cast (ref $Rect) (local.get $s)))
    (i32.mul (struct.get $Rect $w (local.get $r)) (struct.get $Rect $h (local.get $r))))
  (func $rect_perimeter (type $area_fn) (param $s (ref $Shape)) (result i32)
    (local $r (ref $Rect))
    (local.set $r (ref.cast (ref $Rect) (local.get $s)))
    (i32.shl (i32.add (struct.get $Rect $w (local.get $r)) (struct.get $Rect $h (local.get $r)))
      (i32.const 1)))
  (func $rect_scale (type $scale_fn) (param $s (ref $Shape)) (param $k i32)
    (local $r (ref $Rect))
    (local.set $r (ref.cast (ref $Rect) (local.get $s)))
    (struct.set $Rect $w (local.get $r)
      (i32.add (i32.const 1)
        (i32.and (i32.add (struct.get $Rect $w (local.get $r)) (local.get $k)) (i32.const 255))))
    (struct.set $Rect $h (local.get $r)
      (i32.add (i32.const 1)
        (i32.and (i32.xor (struct.get $Rect $h (local.get $r)) (local.get $k)) (i32.const 255)))))
  (func $square_scale (type $scale_fn) (param $s (ref $Shape)) (param $k i32)
    (local $q (ref $Square))
    (local.set $q (ref.cast (ref $Square) (local.get $s)))
    (struct.set $Square $w (local.get $q)
      (i32.add (i32.const 1)
        (i32.and (i32.add (struct.get $Square $w (local.get $q)) (local.get $k)) (i32.const 255))))
    (struct.set $Square $h (local.get $q) (struct.get $Square $w (local.get $q))))
  (func $tri_area (type $area_fn) (param $s (ref $Shape)) (result i32)
    (local $t (ref $Tri))
    (local.set $t (ref.cast (ref $Tri) (local.get $s)))
    (i32.shr_u (i32.mul (struct.get $Tri $b (local.get $t)) (struct.get $Tri $h (local.get $t)))
      (i32.const 1)))
  (func $tri_scale (type $scale_fn) (param $s (ref $Shape)) (param $k i32)
    (local $t (ref $Tri))
    (local.set $t (ref.cast (ref $Tri) (local.get $s)))
    (struct.set $Tri $b (local.get $t)
      (i32.add (i32.const 1)
        (i32.and (i32.sub (struct.get $Tri $b (local.get $t)) (local.get $k)) (i32.const 63))))
    (struct.set $Tri $h (local.get $t)
      (i32.add (i32.const 2)
        (i32.and (i32.add (struct.get $Tri $h (local.get $t)) (i32.const 3)) (i32.const 63)))))

  ;; The constructor of shape `i` (kinds in an irregular order).
  (func $make (param $i i32) (result (ref $Shape))
    (local $k i32)
    (local.set $k (i32.rem_u (i32.mul (local.get $i) (i32.const 2654435761)) (i32.const 7)))
    (if (result (ref $Shape)) (i32.lt_u (local.get $k) (i32.const 2))
      (then (struct.new $Circle (global.get $circle_vt) (local.get $i)
        (i32.add (i32.and (local.get $i) (i32.const 31)) (i32.const 1))))
      (else (if (result (ref $Shape)) (i32.lt_u (local.get $k) (i32.const 4))
        (then (struct.new $Rect (global.get $rect_vt) (local.get $i)
          (i32.add (i32.and (local.get $i) (i32.const 15)) (i32.const 1))
          (i32.add (i32.and (local.get $i) (i32.const 7)) (i32.const 2))))
        (else (if (result (ref $Shape)) (i32.lt_u (local.get $k) (i32.const 5))
          (then (struct.new $Square (global.get $square_vt) (local.get $i)
            (i32.add (i32.and (local.get $i) (i32.const 15)) (i32.const 3))
            (i32.add (i32.and (local.get $i) (i32.const 15)) (i32.const 3))))
          (else (struct.new $Tri (global.get $tri_vt) (local.get $i)
            (i32.add (i32.and (local.get $i) (i32.const 31)) (i32.const 2))
            (i32.add (i32.and (local.get $i) (i32.const 15)) (i32.const 4))))))))))

  ;; The type switch: a value per kind, with `br_on_cast` (final Circle,
  ;; non-final Rect) and `br_on_cast_fail`.
  (func $classify (param $s (ref $Shape)) (result i32)
    (local $t (ref $Tri))
    (block $circle (result (ref $Circle))
      (block $rect (result (ref $Rect))
        (block $other (result (ref $Shape))
          (local.get $s)
          (br_on_cast $circle (ref $Shape) (ref $Circle))
          (br_on_cast $rect (ref $Shape) (ref $Rect))
          (br_on_cast_fail $other (ref $Shape) (ref $Tri))
          (local.set $t)
          (return (i32.add (struct.get $Tri $b (local.get $t)) (i32.const 3))))
        ;; neither (never reached: every Shape is one of the three)
        (drop)
        (return (i32.const -1)))
      ;; a Rect or a Square
      (struct.get $Rect $h)
      (return (i32.add (i32.const 5))))
    (struct.get $Circle $r)
    (i32.const 1)
    (i32.add))

  (func (export "run") (param $rounds i32) (result i32)
    (local $n i32)
    (local $arr (ref $shapes))
    (local $i i32)
    (local $round i32)
    (local $s (ref $Shape))
    (local $vt (ref $ShapeVt))
    (local $h i32)
    (local $squares i32)
    (local $rects i32)
    (local.set $n (i32.const 1000))
    (local.set $arr (array.new_default $shapes (local.get $n)))
    (loop $fill
      (array.set $shapes (local.get $arr) (local.get $i) (call $make (local.get $i)))
      (br_if $fill
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.set $h (i32.const 7))
    (block $done
      (br_if $done (i32.le_s (local.get $rounds) (i32.const 0)))
      (loop $rounds
        (local.set $i (i32.const 0))
        (loop $each
          (local.set $s (ref.as_non_null (array.get $shapes (local.get $arr) (local.get $i))))
          (local.set $vt (struct.get $Shape $vt (local.get $s)))
          ;; s.area()
          (local.set $h
            (i32.add (i32.mul (local.get $h) (i32.const 31))
              (call_ref $area_fn (local.get $s) (struct.get $ShapeVt $area (local.get $vt)))))
          ;; s.scale(round + i)
          (call_ref $scale_fn (local.get $s)
            (i32.and (i32.add (local.get $round) (local.get $i)) (i32.const 7))
            (struct.get $ShapeVt $scale (local.get $vt)))
          ;; when (s) { is Circle -> ..; is Rect -> ..; is Tri -> .. }
          (local.set $h
            (i32.xor (local.get $h) (call $classify (local.get $s))))
          ;; (s as? Rect)?.perimeter()
          (if (ref.test (ref $Rect) (local.get $s))
            (then
              (local.set $h
                (i32.add (local.get $h)
                  (call_ref $area_fn (local.get $s)
                    (struct.get $RectVt $perimeter
                      (struct.get $Rect $vt (ref.cast (ref $Rect) (local.get $s)))))))
              (local.set $rects (i32.add (local.get $rects) (i32.const 1)))))
          (local.set $squares
            (i32.add (local.get $squares) (ref.test (ref $Square) (local.get $s))))
          (br_if $each
            (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
        (br_if $rounds
          (i32.lt_u (local.tee $round (i32.add (local.get $round) (i32.const 1)))
            (local.get $rounds)))))
    (i32.add (local.get $h)
      (i32.add (i32.mul (local.get $rects) (i32.const 1000003)) (local.get $squares))))
)
