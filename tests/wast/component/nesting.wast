;; Deep nesting: components nested six levels, outer aliases of a core
;; module, a type and a component reaching across several levels, instances
;; exported up through every level, and one nested component instantiated
;; twice with different imports (each instantiation has its own core
;; instances, so its own state).

(component $Root
  (type $ft (func (result u32)))
  (core module $Counter
    (global $g (mut i32) (i32.const 0))
    (func (export "next") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (global.get $g)))
  (core module $Const
    (func (export "one") (result i32) (i32.const 1))
    (func (export "two") (result i32) (i32.const 2))
    (func (export "seven") (result i32) (i32.const 7)))
  (core instance $k (instantiate $Const))
  (func $one (type $ft) (canon lift (core func $k "one")))
  (func $two (type $ft) (canon lift (core func $k "two")))
  (func $seven (type $ft) (canon lift (core func $k "seven")))

  ;; A leaf the deepest level reaches by an outer alias of a component.
  (component $Leaf
    (import "x" (func $x (result u32)))
    (core func $x' (canon lower (func $x)))
    (core module $M
      (import "" "x" (func $x (result i32)))
      (func (export "triple") (result i32) (i32.mul (call $x) (i32.const 3))))
    (core instance $m (instantiate $M (with "" (instance (export "x" (func $x'))))))
    (func (export "triple") (result u32) (canon lift (core func $m "triple"))))

  (component $L1
    (alias outer 1 $ft (type $ft1))
    (import "base" (func $base (type $ft1)))
    (component $L2
      (import "base" (func $base (result u32)))
      (component $L3
        (alias outer 3 $ft (type $ft3))
        (import "base" (func $base (type $ft3)))
        (component $L4
          (import "base" (func $base (result u32)))
          (component $L5
            (alias outer 5 $ft (type $ft5))
            (import "base" (func $base (type $ft5)))
            (component $L6
              (import "base" (func $base (result u32)))
              ;; A core module from five levels up.
              (alias outer 6 $Counter (core module $C))
              (core instance $c (instantiate $C))
              (core func $b (canon lower (func $base)))
              (core module $Add
                (import "" "next" (func $next (result i32)))
                (import "" "base" (func $base (result i32)))
                (func (export "f") (result i32)
                  (i32.add (i32.mul (call $base) (i32.const 100)) (call $next))))
              (core instance $a (instantiate $Add (with "" (instance
                (export "next" (func $c "next"))
                (export "base" (func $b))))))
              (func $f (result u32) (canon lift (core func $a "f")))
              ;; A component from five levels up, instantiated here.
              (alias outer 6 $Leaf (component $Leaf6))
              (instance $leaf (instantiate $Leaf6 (with "x" (func $f))))
              (export "f" (func $f))
              (export "leaf" (instance $leaf)))
            (instance $l6 (instantiate $L6 (with "base" (func $base))))
            (export "l6" (instance $l6)))
          (instance $l5 (instantiate $L5 (with "base" (func $base))))
          (alias export $l5 "l6" (instance $l6))
          (export "l6" (instance $l6)))
        (instance $l4 (instantiate $L4 (with "base" (func $base))))
        (alias export $l4 "l6" (instance $l6))
        (alias export $l6 "f" (func $f))
        (alias export $l6 "leaf" (instance $leaf))
        (alias export $leaf "triple" (func $triple))
        (export "f" (func $f))
        (export "triple" (func $triple)))
      (instance $l3 (instantiate $L3 (with "base" (func $base))))
      (export "f" (func $l3 "f"))
      (export "triple" (func $l3 "triple")))
    (instance $l2 (instantiate $L2 (with "base" (func $base))))
    (export "f" (func $l2 "f"))
    (export "triple" (func $l2 "triple")))

  ;; The same nested component, twice, with different imports.
  (instance $a (instantiate $L1 (with "base" (func $one))))
  (instance $b (instantiate $L1 (with "base" (func $two))))
  (instance $c (instantiate $L1 (with "base" (func $seven))))
  (export "a-f" (func $a "f"))
  (export "a-triple" (func $a "triple"))
  (export "b-f" (func $b "f"))
  (export "b-triple" (func $b "triple"))
  (export "c-f" (func $c "f"))
)
;; Each instantiation counts on its own.
(assert_return (invoke "a-f") (u32.const 101))
(assert_return (invoke "a-f") (u32.const 102))
(assert_return (invoke "b-f") (u32.const 201))
(assert_return (invoke "a-f") (u32.const 103))
(assert_return (invoke "b-f") (u32.const 202))
(assert_return (invoke "c-f") (u32.const 701))
;; The leaf calls its instantiation's `f` (which counts on), times three.
(assert_return (invoke "a-triple") (u32.const 312))
(assert_return (invoke "b-triple") (u32.const 609))
(assert_return (invoke "a-f") (u32.const 105))
(assert_return (invoke "c-f") (u32.const 702))
(assert_return (invoke "b-triple") (u32.const 612))

;; Outer aliases of types at several distances, used in imports, exports and
;; a lifted function's type; a tuple type aliased four levels down.
(component
  (type $pt (tuple u32 s64))
  (component $A
    (alias outer 1 $pt (type $p1))
    (import "mk" (func $mk (param "x" u32) (result $p1)))
    (component $B
      (component $C
        (component $D
          (alias outer 4 $pt (type $p4))
          (core module $M
            (memory (export "mem") 1)
            (func (export "swap") (param i32 i64) (result i32)
              (i32.store (i32.const 16) (i32.wrap_i64 (local.get 1)))
              (i64.store (i32.const 24) (i64.extend_i32_u (local.get 0)))
              (i32.const 16)))
          (core instance $m (instantiate $M))
          (func (export "swap") (param "p" $p4) (result $p4)
            (canon lift (core func $m "swap") (memory (core memory $m "mem")))))
        (instance $d (instantiate $D))
        (export "swap" (func $d "swap")))
      (instance $c (instantiate $C))
      (export "swap" (func $c "swap")))
    (instance $b (instantiate $B))
    (alias export $b "swap" (func $swap))
    (export "swap" (func $swap))
    (export "mk" (func $mk)))
  (core module $Mk
    (memory (export "mem") 1)
    (func (export "mk") (param i32) (result i32)
      (i32.store (i32.const 32) (local.get 0))
      (i64.store (i32.const 40) (i64.const -5))
      (i32.const 32)))
  (core instance $mk (instantiate $Mk))
  (func $mk (param "x" u32) (result $pt)
    (canon lift (core func $mk "mk") (memory (core memory $mk "mem"))))
  (instance $a (instantiate $A (with "mk" (func $mk))))
  (export "swap" (func $a "swap"))
  (export "mk" (func $a "mk"))
)
(assert_return (invoke "swap" (tuple.const (u32.const 7) (s64.const 9)))
  (tuple.const (u32.const 9) (s64.const 7)))
(assert_return (invoke "swap" (tuple.const (u32.const 0xffffffff) (s64.const 0x1_0000_0003)))
  (tuple.const (u32.const 3) (s64.const 0xffffffff)))
(assert_return (invoke "mk" (u32.const 11))
  (tuple.const (u32.const 11) (s64.const -5)))

;; A component instantiated at four depths at once, with imports threaded
;; down by instance: each depth adds its own constant to what it imports.
(component
  (component $Adder
    (import "in" (instance $in (export "get" (func (result u32)))))
    (import "k" (func $k (result u32)))
    (alias export $in "get" (func $get))
    (core func $get' (canon lower (func $get)))
    (core func $k' (canon lower (func $k)))
    (core module $M
      (import "" "get" (func $get (result i32)))
      (import "" "k" (func $k (result i32)))
      (func (export "get") (result i32) (i32.add (call $get) (call $k))))
    (core instance $m (instantiate $M (with "" (instance
      (export "get" (func $get')) (export "k" (func $k'))))))
    (func $out (result u32) (canon lift (core func $m "get")))
    (instance $o (export "get" (func $out)))
    (export "out" (instance $o)))
  (core module $K
    (func (export "zero") (result i32) (i32.const 0))
    (func (export "k1") (result i32) (i32.const 1))
    (func (export "k10") (result i32) (i32.const 10))
    (func (export "k100") (result i32) (i32.const 100))
    (func (export "k1000") (result i32) (i32.const 1000)))
  (core instance $k (instantiate $K))
  (func $zero (result u32) (canon lift (core func $k "zero")))
  (func $k1 (result u32) (canon lift (core func $k "k1")))
  (func $k10 (result u32) (canon lift (core func $k "k10")))
  (func $k100 (result u32) (canon lift (core func $k "k100")))
  (func $k1000 (result u32) (canon lift (core func $k "k1000")))
  (instance $in0 (export "get" (func $zero)))
  (instance $a1 (instantiate $Adder (with "in" (instance $in0)) (with "k" (func $k1))))
  (alias export $a1 "out" (instance $o1))
  (instance $a2 (instantiate $Adder (with "in" (instance $o1)) (with "k" (func $k10))))
  (alias export $a2 "out" (instance $o2))
  (instance $a3 (instantiate $Adder (with "in" (instance $o2)) (with "k" (func $k100))))
  (alias export $a3 "out" (instance $o3))
  (instance $a4 (instantiate $Adder (with "in" (instance $o3)) (with "k" (func $k1000))))
  (alias export $a4 "out" (instance $o4))
  (alias export $o1 "get" (func $g1))
  (alias export $o2 "get" (func $g2))
  (alias export $o4 "get" (func $g4))
  (export "g1" (func $g1))
  (export "g2" (func $g2))
  (export "g4" (func $g4))
)
(assert_return (invoke "g1") (u32.const 1))
(assert_return (invoke "g2") (u32.const 11))
(assert_return (invoke "g4") (u32.const 1111))

;; A type defined at the root and aliased from too far out is invalid.
(assert_invalid
  (component
    (component
      (component
        (alias outer 3 0 (type $t))))
  )
  "invalid outer alias count")
