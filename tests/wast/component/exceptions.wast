;; A core exception never crosses a component boundary: one that escapes a
;; lifted function (or its post-return) traps (the canonical ABI's
;; call_and_trap_on_throw), whether the host called it or another
;; component instance whose core code would catch it — through a compiled
;; adapter (`u32` results) and through the dynamic one (a string
;; parameter). wasmtime 50 agrees on the calls between instances; for the
;; host's calls (`boom`, `fine`) it returns the exception to the host as an
;; error ("thrown Wasm exception") rather than a trap.
(component definition $T
  (component $C
    (core module $M
      (tag $t (param i32))
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
      (func (export "boom") (result i32) (throw $t (i32.const 7)))
      (func (export "boom-s") (param i32 i32) (result i32) (throw $t (i32.const 8)))
      (func (export "fine") (result i32) (i32.const 5))
      (func (export "fine-pr") (param i32) (throw $t (i32.const 9))))
    (core instance $m (instantiate $M))
    (func (export "boom") (result u32) (canon lift (core func $m "boom")))
    (func (export "boom-s") (param "s" string) (result u32)
      (canon lift (core func $m "boom-s") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
    (func (export "fine") (result u32)
      (canon lift (core func $m "fine") (post-return (core func $m "fine-pr")))))
  (component $D
    (import "boom" (func $boom (result u32)))
    (import "boom-s" (func $boom-s (param "s" string) (result u32)))
    (import "fine" (func $fine (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (canon lower (func $boom) (core func $boom'))
    (canon lower (func $boom-s) (memory (core memory $mem "mem")) (core func $boom-s'))
    (canon lower (func $fine) (core func $fine'))
    (core module $N
      (import "" "boom" (func $boom (result i32)))
      (import "" "boom-s" (func $boom-s (param i32 i32) (result i32)))
      (import "" "fine" (func $fine (result i32)))
      (func (export "catch") (result i32)
        (block $h (try_table (catch_all $h) (return (call $boom))))
        (i32.const 99))
      (func (export "catch-s") (result i32)
        (block $h (try_table (catch_all $h) (return (call $boom-s (i32.const 0) (i32.const 0)))))
        (i32.const 99))
      (func (export "catch-pr") (result i32)
        (block $h (try_table (catch_all $h) (return (call $fine))))
        (i32.const 99)))
    (core instance $n (instantiate $N (with "" (instance
      (export "boom" (func $boom'))
      (export "boom-s" (func $boom-s'))
      (export "fine" (func $fine'))))))
    (func (export "catch") (result u32) (canon lift (core func $n "catch")))
    (func (export "catch-s") (result u32) (canon lift (core func $n "catch-s")))
    (func (export "catch-pr") (result u32) (canon lift (core func $n "catch-pr"))))
  (instance $c (instantiate $C))
  (instance $d (instantiate $D
    (with "boom" (func $c "boom"))
    (with "boom-s" (func $c "boom-s"))
    (with "fine" (func $c "fine"))))
  (func (export "boom") (alias export $c "boom"))
  (func (export "fine") (alias export $c "fine"))
  (func (export "catch") (alias export $d "catch"))
  (func (export "catch-s") (alias export $d "catch-s"))
  (func (export "catch-pr") (alias export $d "catch-pr")))

(component instance $i $T)
(assert_trap (invoke "boom") "uncaught exception")
(component instance $i $T)
(assert_trap (invoke "fine") "uncaught exception")
(component instance $i $T)
(assert_trap (invoke "catch") "uncaught exception")
(component instance $i $T)
(assert_trap (invoke "catch-s") "uncaught exception")
(component instance $i $T)
(assert_trap (invoke "catch-pr") "uncaught exception")
