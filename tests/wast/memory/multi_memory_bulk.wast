;; Bulk operators across three memories: data segments for memory 2,
;; memory.init into memory 1, copies between every pair, and bounds checks
;; against the destination's and the source's own sizes.
(module
  (memory $m0 1)
  (memory $m1 1)
  (memory $m2 2)
  (data $d (memory $m2) (i32.const 65536) "abcdefgh")
  (data $p "\10\20\30\40")
  (func (export "init1") (param i32) (memory.init $m1 $p (local.get 0) (i32.const 0) (i32.const 4)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy $m0 $m2 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy10") (param i32 i32 i32)
    (memory.copy $m1 $m0 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "l0") (param i32) (result i32) (i32.load8_u $m0 (local.get 0)))
  (func (export "l1") (param i32) (result i32) (i32.load8_u $m1 (local.get 0)))
  (func (export "l2") (param i32) (result i64) (i64.load $m2 (local.get 0))))

(assert_return (invoke "l2" (i32.const 65536)) (i64.const 0x6867666564636261))
(assert_return (invoke "copy" (i32.const 10) (i32.const 65536) (i32.const 8)))
(assert_return (invoke "l0" (i32.const 10)) (i32.const 0x61))
(assert_return (invoke "l0" (i32.const 17)) (i32.const 0x68))
(assert_return (invoke "copy10" (i32.const 0) (i32.const 10) (i32.const 3)))
(assert_return (invoke "l1" (i32.const 2)) (i32.const 0x63))
(assert_return (invoke "init1" (i32.const 65532)))
(assert_return (invoke "l1" (i32.const 65535)) (i32.const 0x40))
(assert_trap (invoke "init1" (i32.const 65533)) "out of bounds memory access")
;; The source is memory 2 (two pages), the destination memory 0 (one).
(assert_trap (invoke "copy" (i32.const 65535) (i32.const 0) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "copy" (i32.const 0) (i32.const 131070) (i32.const 2)))
(assert_trap (invoke "copy" (i32.const 0) (i32.const 131071) (i32.const 2)) "out of bounds memory access")
(assert_return (invoke "l0" (i32.const 10)) (i32.const 0x61))
