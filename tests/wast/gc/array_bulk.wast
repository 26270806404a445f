;; Array bulk operators: array.new_data, an overlapping array.copy,
;; array.fill, copies between arrays of references (every element the
;; same array), and a fill past the end. (Was engine/tests/gc.rs
;; `array_bulk_operators`.)
(module
  (type $bytes (array (mut i8)))
  (type $ints (array (mut i32)))
  (type $refs (array (mut (ref null $ints))))
  (data $d "\01\02\03\04\05\06\07\08")
  (func (export "bytes") (result i32)
    (local $a (ref $bytes)) (local $i i32) (local $sum i32)
    (local.set $a (array.new_data $bytes $d (i32.const 0) (i32.const 8)))
    ;; overlapping move right by 2: 1 2 1 2 3 4 5 6
    (array.copy $bytes $bytes (local.get $a) (i32.const 2) (local.get $a) (i32.const 0) (i32.const 6))
    (array.fill $bytes (local.get $a) (i32.const 7) (i32.const 100) (i32.const 1))
    (loop $l
      (local.set $sum (i32.add (i32.mul (local.get $sum) (i32.const 3))
        (array.get_u $bytes (local.get $a) (local.get $i))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
    (local.get $sum))
  (func (export "refs") (result i32)
    (local $r (ref $refs)) (local $big (ref $refs))
    (local.set $r (array.new $refs (array.new $ints (i32.const 9) (i32.const 3)) (i32.const 4)))
    (local.set $big (array.new_default $refs (i32.const 20000)))
    (array.copy $refs $refs (local.get $big) (i32.const 19990) (local.get $r) (i32.const 0) (i32.const 4))
    (array.set $ints (array.get $refs (local.get $big) (i32.const 19993)) (i32.const 1) (i32.const 40))
    ;; every element of $r is the same array
    (i32.add (array.get $ints (array.get $refs (local.get $r) (i32.const 0)) (i32.const 1))
             (array.len (local.get $big))))
  (func (export "oob") (result i32)
    (local $a (ref $ints))
    (local.set $a (array.new_default $ints (i32.const 4)))
    (array.fill $ints (local.get $a) (i32.const 2) (i32.const 0) (i32.const 3))
    (i32.const 0)))

;; 1 2 1 2 3 4 5 100 as base-3 digits: ((1*3+2)*3+1)...
(assert_return (invoke "bytes") (i32.const 4282))
(assert_return (invoke "refs") (i32.const 20040))
(assert_trap (invoke "oob") "out of bounds array access")
