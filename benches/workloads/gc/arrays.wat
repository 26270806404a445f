;; Array bulk operations. Each of `run(rounds)`'s rounds:
;; - i32: `array.new_default` (4,096), `array.fill`, `array.init_data`
;;   from a passive segment, a get/set loop, `array.copy` within the array
;;   overlapping both ways (dst > src and dst < src), `array.copy` from
;;   another i32 array made by `array.new_data`;
;; - i8: `array.new_data` from a passive segment, `array.new_default`
;;   (16,384), `array.fill`, `array.copy` of the data in, an overlapping
;;   `array.copy` both ways, a loop of `array.get_s`/`array.get_u`;
;; - refs: an array of 1,024 struct references, `array.new` (null),
;;   a loop setting boxes, `array.copy` overlapping and from a second ref
;;   array (`array.new_fixed`), `array.fill` with one box, and a walk.
;; The i32 array and the ref array live across rounds (their contents flow
;; on); the result is an i32 hash of every array's contents each round.
(module
  (type $ints (array (mut i32)))
  (type $bytes (array (mut i8)))
  (type $box (struct (field $v i32)))
  (type $refs (array (mut (ref null $box))))

  (data $text "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. 0123456789abcdefghijklmnopqrstuvwxyz!")
  (data $words "\01\00\00\00\02\00\00\00\03\00\00\00\05\00\00\00\08\00\00\00\0d\00\00\00\15\00\00\00\22\00\00\00\37\00\00\00\59\00\00\00\90\00\00\00\e9\00\00\00\79\01\00\00\62\02\00\00\db\03\00\00\3d\06\00\00")

  ;; An i32 hash of a whole i32 array.
  (func $hash_ints (param $a (ref $ints)) (param $h i32) (result i32)
    (local $i i32)
    (local $n i32)
    (local.set $n (array.len (local.get $a)))
    (loop $l
      (local.set $h
        (i32.add (i32.mul (local.get $h) (i32.const 31))
          (array.get $ints (local.get $a) (local.get $i))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $h))

  (func (export "run") (param $rounds i32) (result i32)
    (local $round i32)
    (local $h i32)
    (local $i i32)
    (local $a (ref $ints))
    (local $w (ref $ints))
    (local $b (ref $bytes))
    (local $t (ref $bytes))
    (local $r (ref $refs))
    (local $r2 (ref $refs))
    (local $box (ref null $box))
    (local $x i32)
    (local.set $h (i32.const 1))
    (local.set $a (array.new_default $ints (i32.const 4096)))
    (local.set $r (array.new $refs (ref.null $box) (i32.const 1024)))
    (block $done
      (br_if $done (i32.le_s (local.get $rounds) (i32.const 0)))
      (loop $round
        ;; --- i32 arrays ---
        ;; keep the old contents in every 4th round, else start afresh
        (if (i32.and (local.get $round) (i32.const 3))
          (then
            (local.set $a (array.new_default $ints (i32.const 4096)))
            (array.fill $ints (local.get $a) (i32.const 0) (local.get $round) (i32.const 4096))))
        (array.init_data $ints $words (local.get $a)
          (i32.rem_u (i32.mul (local.get $round) (i32.const 37)) (i32.const 4080))
          (i32.const 0) (i32.const 16))
        (local.set $i (i32.const 0))
        (loop $l
          (array.set $ints (local.get $a) (local.get $i)
            (i32.add
              (i32.mul (array.get $ints (local.get $a) (local.get $i)) (i32.const 3))
              (local.get $i)))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4096))))
        ;; overlapping: shift right by 1, then left by 3
        (array.copy $ints $ints (local.get $a) (i32.const 1) (local.get $a) (i32.const 0) (i32.const 4095))
        (array.copy $ints $ints (local.get $a) (i32.const 0) (local.get $a) (i32.const 3) (i32.const 4093))
        ;; from another array made from data
        (local.set $w (array.new_data $ints $words (i32.const 8) (i32.const 12)))
        (array.copy $ints $ints (local.get $a)
          (i32.and (i32.mul (local.get $round) (i32.const 101)) (i32.const 2047))
          (local.get $w) (i32.const 0) (i32.const 12))
        (local.set $h (call $hash_ints (local.get $a) (local.get $h)))

        ;; --- i8 arrays ---
        (local.set $t (array.new_data $bytes $text (i32.const 0) (i32.const 112)))
        (local.set $b (array.new_default $bytes (i32.const 16384)))
        (array.fill $bytes (local.get $b) (i32.const 0) (i32.add (local.get $round) (i32.const 160)) (i32.const 16384))
        (local.set $i (i32.const 0))
        (loop $l
          (array.copy $bytes $bytes (local.get $b) (local.get $i) (local.get $t) (i32.const 0) (i32.const 112))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 250))) (i32.const 16000))))
        (array.copy $bytes $bytes (local.get $b) (i32.const 7) (local.get $b) (i32.const 0) (i32.const 16000))
        (array.copy $bytes $bytes (local.get $b) (i32.const 100) (local.get $b) (i32.const 1000) (i32.const 15000))
        (array.init_data $bytes $text (local.get $b)
          (i32.and (local.get $round) (i32.const 1023)) (i32.const 4) (i32.const 64))
        (local.set $i (i32.const 0))
        (local.set $x (i32.const 0))
        (loop $l
          (local.set $x
            (i32.add (i32.rotl (local.get $x) (i32.const 1))
              (i32.xor
                (array.get_s $bytes (local.get $b) (local.get $i))
                (array.get_u $bytes (local.get $b) (i32.add (local.get $i) (i32.const 1))))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 2))) (i32.const 16384))))
        (local.set $h (i32.add (i32.mul (local.get $h) (i32.const 31)) (local.get $x)))

        ;; --- reference arrays ---
        (local.set $i (i32.const 0))
        (loop $l
          (if (i32.eqz (i32.and (i32.add (local.get $i) (local.get $round)) (i32.const 7)))
            (then
              (array.set $refs (local.get $r) (local.get $i)
                (struct.new $box (i32.add (local.get $i) (local.get $round))))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1024))))
        (array.copy $refs $refs (local.get $r) (i32.const 2) (local.get $r) (i32.const 0) (i32.const 1000))
        (array.copy $refs $refs (local.get $r) (i32.const 10) (local.get $r) (i32.const 13) (i32.const 1000))
        (local.set $r2
          (array.new_fixed $refs 4
            (struct.new $box (local.get $round))
            (ref.null $box)
            (struct.new $box (i32.const -5))
            (array.get $refs (local.get $r) (i32.const 500))))
        (array.copy $refs $refs (local.get $r)
          (i32.and (local.get $round) (i32.const 1019)) (local.get $r2) (i32.const 0) (i32.const 4))
        (array.fill $refs (local.get $r)
          (i32.and (i32.mul (local.get $round) (i32.const 13)) (i32.const 511))
          (struct.new $box (i32.const 99))
          (i32.const 8))
        (local.set $i (i32.const 0))
        (loop $l
          (local.set $box (array.get $refs (local.get $r) (local.get $i)))
          (local.set $h
            (i32.add (i32.mul (local.get $h) (i32.const 17))
              (if (result i32) (ref.is_null (local.get $box))
                (then (i32.const 1))
                (else (struct.get $box $v (ref.as_non_null (local.get $box)))))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1024))))

        (br_if $round
          (i32.lt_u (local.tee $round (i32.add (local.get $round) (i32.const 1)))
            (local.get $rounds)))))
    (local.get $h))
)
