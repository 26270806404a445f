;; A call between two component instances is a new task for the callee:
;; its `context.get` sees fresh slots, not the caller's (the slots are per
;; task). A compiled fused adapter calls the callee without the runtime's
;; task bookkeeping, so a component using the async ABI's built-ins keeps
;; its adapters dynamic; this checks the answer either way.
(component
  (component $C
    (canon context.get i32 0 (core func $get))
    (core module $M
      (import "" "get" (func $get (result i32)))
      (func (export "peek") (result i32) (call $get)))
    (core instance $m (instantiate $M (with "" (instance (export "get" (func $get))))))
    (func (export "peek") (result u32) (canon lift (core func $m "peek"))))
  (component $D
    (import "peek" (func $peek (result u32)))
    (canon lower (func $peek) (core func $peek'))
    (canon context.set i32 0 (core func $set))
    (canon context.get i32 0 (core func $get))
    (core module $N
      (import "" "peek" (func $peek (result i32)))
      (import "" "set" (func $set (param i32)))
      (import "" "get" (func $get (result i32)))
      (func (export "run") (result i32)
        (call $set (i32.const 42))
        (call $peek)
        ;; the caller's own slot is untouched by the callee's task
        (i32.mul (call $get) (i32.const 1000))
        i32.add))
    (core instance $n (instantiate $N (with "" (instance
      (export "peek" (func $peek'))
      (export "set" (func $set))
      (export "get" (func $get))))))
    (func (export "run") (result u32) (canon lift (core func $n "run"))))
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "peek" (func $c "peek"))))
  (func (export "run") (alias export $d "run")))
(assert_return (invoke "run") (u32.const 42000))
