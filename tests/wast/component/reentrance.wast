;; Reentrance and the instance flags, as the canonical ABI's
;; `entering_set` has them: a call enters the callee's component instance
;; and its ancestors, less those the caller is already in. So a nested
;; child may call back into the parent that called it ("donut wrapping":
;; `$P` -> `$B` -> `$P` works), but entering an instance that is already
;; on the stack otherwise traps ("cannot enter component instance":
;; `$P` -> `$B` -> `$P` -> `$B`, through a table). A trap leaves the
;; instances it went through, the root included, unusable: every later
;; call into them traps the same way; another instance of the same
;; component is not affected.

(component definition $P
  ;; h: plain; h2: calls B's `plain` through table slot 0, which is filled
  ;; once B exists (P's core instance $pm's element segment)
  (core module $H
    (type $ft (func (result i32)))
    (table (export "t") 1 funcref)
    (func (export "h") (result i32) (i32.const 7))
    (func (export "h2") (result i32)
      (i32.add (call_indirect (type $ft) (i32.const 0)) (i32.const 1000))))
  (core instance $h (instantiate $H))
  (func $h (result u32) (canon lift (core func $h "h")))
  (func $h2 (result u32) (canon lift (core func $h "h2")))
  (component $B
    (import "h" (func $h (result u32)))
    (import "h2" (func $h2 (result u32)))
    (core func $h' (canon lower (func $h)))
    (core func $h2' (canon lower (func $h2)))
    (core module $BM
      (import "" "h" (func $h (result i32)))
      (import "" "h2" (func $h2 (result i32)))
      (func (export "call-h") (result i32) (i32.add (call $h) (i32.const 100)))
      (func (export "call-h2") (result i32) (i32.add (call $h2) (i32.const 100)))
      (func (export "plain") (result i32) (i32.const 5)))
    (core instance $bm (instantiate $BM (with "" (instance
      (export "h" (func $h'))
      (export "h2" (func $h2'))))))
    (func (export "call-h") (result u32) (canon lift (core func $bm "call-h")))
    (func (export "call-h2") (result u32) (canon lift (core func $bm "call-h2")))
    (func (export "plain") (result u32) (canon lift (core func $bm "plain"))))
  (instance $b (instantiate $B (with "h" (func $h)) (with "h2" (func $h2))))
  (core func $call-h (canon lower (func $b "call-h")))
  (core func $call-h2 (canon lower (func $b "call-h2")))
  (core func $b-plain (canon lower (func $b "plain")))
  (core module $PM
    (import "" "t" (table 1 funcref))
    (import "" "call-h" (func $call-h (result i32)))
    (import "" "call-h2" (func $call-h2 (result i32)))
    (import "" "b-plain" (func $b-plain (result i32)))
    (elem (i32.const 0) func $b-plain)
    (func (export "g") (result i32) (call $call-h))
    (func (export "g2") (result i32) (call $call-h2))
    (func (export "via-b") (result i32) (i32.add (call $b-plain) (i32.const 10)))
    (func (export "ok") (result i32) (i32.const 1)))
  (core instance $pm (instantiate $PM (with "" (instance
    (export "t" (table $h "t"))
    (export "call-h" (func $call-h))
    (export "call-h2" (func $call-h2))
    (export "b-plain" (func $b-plain))))))
  (func (export "g") (result u32) (canon lift (core func $pm "g")))
  (func (export "g2") (result u32) (canon lift (core func $pm "g2")))
  (func (export "via-b") (result u32) (canon lift (core func $pm "via-b")))
  (func (export "ok") (result u32) (canon lift (core func $pm "ok")))
  ;; B's exports called from the host: entering B enters P too
  (export "b-call-h" (func $b "call-h"))
  (export "b-call-h2" (func $b "call-h2"))
  (export "b-plain" (func $b "plain"))
  (export "h2" (func $h2))
)

;; Without reentrance, everything works, any number of times; P -> B -> P
;; is donut wrapping, not reentrance.
(component instance $p0 $P)
(assert_return (invoke $p0 "ok") (u32.const 1))
(assert_return (invoke $p0 "via-b") (u32.const 15))
(assert_return (invoke $p0 "via-b") (u32.const 15))
(assert_return (invoke $p0 "b-plain") (u32.const 5))
(assert_return (invoke $p0 "g") (u32.const 107))
(assert_return (invoke $p0 "g") (u32.const 107))
(assert_return (invoke $p0 "b-call-h") (u32.const 107))
;; P calling B from h2 with nothing on the stack
(assert_return (invoke $p0 "h2") (u32.const 1005))
(assert_return (invoke $p0 "ok") (u32.const 1))

;; P -> B -> P -> B: B entered again.
(component instance $p1 $P)
(assert_return (invoke $p1 "g") (u32.const 107))
(assert_trap (invoke $p1 "g2") "cannot enter component instance")
;; P and B are poisoned.
(assert_trap (invoke $p1 "ok") "cannot enter component instance")
(assert_trap (invoke $p1 "via-b") "cannot enter component instance")
(assert_trap (invoke $p1 "b-plain") "cannot enter component instance")
(assert_trap (invoke $p1 "g") "cannot enter component instance")
(assert_trap (invoke $p1 "h2") "cannot enter component instance")

;; Host -> B (entering B and P) -> P (nothing new) -> B: B entered again.
(component instance $p2 $P)
(assert_return (invoke $p2 "b-call-h") (u32.const 107))
(assert_trap (invoke $p2 "b-call-h2") "cannot enter component instance")
(assert_trap (invoke $p2 "b-plain") "cannot enter component instance")
(assert_trap (invoke $p2 "ok") "cannot enter component instance")

;; Another instance of the same component is not affected.
(component instance $p3 $P)
(assert_return (invoke $p3 "via-b") (u32.const 15))
(assert_return (invoke $p3 "b-call-h") (u32.const 107))
(assert_return (invoke $p3 "g") (u32.const 107))

;; A component instance calling its own lifted export through a lowered
;; import: the caller is already in everything the callee would enter, so
;; by the canonical ABI's `entering_set` this is not a reentry (wasmtime 50
;; traps here all the same).
(component definition $Self
  (core module $M
    (func (export "f") (result i32) (i32.const 3)))
  (core instance $m (instantiate $M))
  (func $f (result u32) (canon lift (core func $m "f")))
  (core func $f' (canon lower (func $f)))
  (core module $N
    (import "" "f" (func $f (result i32)))
    (func (export "g") (result i32) (i32.add (call $f) (i32.const 10))))
  (core instance $n (instantiate $N (with "" (instance (export "f" (func $f'))))))
  (func (export "g") (result u32) (canon lift (core func $n "g")))
  (export "f" (func $f))
)
(component instance $s1 $Self)
(assert_return (invoke $s1 "f") (u32.const 3))
(assert_return (invoke $s1 "g") (u32.const 13))
(assert_return (invoke $s1 "f") (u32.const 3))

;; A trap in a nested instance poisons it and the instances it was
;; entered with (the root here, so a sibling's exports trap too).
(component definition $Q
  (component $T
    (core module $TM
      (func (export "boom") (result i32) unreachable)
      (func (export "fine") (result i32) (i32.const 9)))
    (core instance $tm (instantiate $TM))
    (func (export "boom") (result u32) (canon lift (core func $tm "boom")))
    (func (export "fine") (result u32) (canon lift (core func $tm "fine"))))
  (component $S
    (core module $SM (func (export "fine") (result i32) (i32.const 8)))
    (core instance $sm (instantiate $SM))
    (func (export "fine") (result u32) (canon lift (core func $sm "fine"))))
  (instance $t (instantiate $T))
  (instance $s (instantiate $S))
  (export "boom" (func $t "boom"))
  (export "t-fine" (func $t "fine"))
  (export "s-fine" (func $s "fine"))
)
(component instance $q1 $Q)
(assert_return (invoke $q1 "t-fine") (u32.const 9))
(assert_trap (invoke $q1 "boom") "unreachable")
(assert_trap (invoke $q1 "t-fine") "cannot enter component instance")
(assert_trap (invoke $q1 "boom") "cannot enter component instance")
(assert_trap (invoke $q1 "s-fine") "cannot enter component instance")
(component instance $q2 $Q)
(assert_return (invoke $q2 "s-fine") (u32.const 8))
(assert_return (invoke $q2 "t-fine") (u32.const 9))

;; A child dropping a resource its parent defined, while the parent is on
;; the stack (it passed the handle down): the parent's destructor runs
;; without entering anything new (donut wrapping again).
(component definition $Own
  (core module $Indirect
    (table (export "ftbl") 1 funcref)
    (type $FT (func (param i32)))
    (func (export "dtor") (param i32) (call_indirect (type $FT) (local.get 0) (i32.const 0))))
  (core instance $indirect (instantiate $Indirect))
  (type $R (resource (rep i32) (dtor (core func $indirect "dtor"))))
  (canon resource.new $R (core func $new))
  (component $B
    (import "r" (type $R (sub resource)))
    (canon resource.drop $R (core func $drop))
    (core module $BM
      (import "" "drop" (func $drop (param i32)))
      (func (export "consume") (param i32) (call $drop (local.get 0))))
    (core instance $bm (instantiate $BM (with "" (instance (export "drop" (func $drop))))))
    (func (export "consume") (param "r" (own $R)) (canon lift (core func $bm "consume"))))
  (instance $b (instantiate $B (with "r" (type $R))))
  (core func $consume (canon lower (func $b "consume")))
  (core module $PM
    (import "" "ftbl" (table 1 funcref))
    (import "" "new" (func $new (param i32) (result i32)))
    (import "" "consume" (func $consume (param i32)))
    (global $dropped (mut i32) (i32.const 0))
    (func $dtor (param i32)
      (global.set $dropped (i32.add (global.get $dropped) (local.get 0))))
    (elem (i32.const 0) $dtor)
    (func (export "run") (param i32) (result i32)
      (call $consume (call $new (local.get 0)))
      (global.get $dropped)))
  (core instance $pm (instantiate $PM (with "" (instance
    (export "ftbl" (table $indirect "ftbl"))
    (export "new" (func $new))
    (export "consume" (func $consume))))))
  (func (export "run") (param "n" u32) (result u32) (canon lift (core func $pm "run")))
)
(component instance $o1 $Own)
(assert_return (invoke $o1 "run" (u32.const 77)) (u32.const 77))
(assert_return (invoke $o1 "run" (u32.const 23)) (u32.const 100))
