//! Async host functions and async calls of components: a host function
//! whose future is pending suspends the component call (on the engine's
//! fiber) until it is ready; a synchronous call that reaches one fails
//! with a clear error; the call's results are the synchronous call's.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use nyash_engine::component::{Component, Linker, Val};
use nyash_engine::{Config, Engine, Store};

/// Pending `n` times (waking itself), then ready.
struct YieldN(u32);

impl Future for YieldN {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A component whose export calls the host's `double` twice, with a
/// string crossing too (`greet` returns the host's text).
const COMPONENT: &str = r#"(component
  (import "double" (func $double (param "x" u32) (result u32)))
  (import "greet" (func $greet (param "name" string) (result string)))
  (core module $Mem
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (global.get $bump) (local.get 3)))
      (local.get $p)))
  (core instance $mem (instantiate $Mem))
  (core func $d (canon lower (func $double)))
  (core func $g (canon lower (func $greet) (memory (core memory $mem "mem"))
    (realloc (core func $mem "realloc"))))
  (core module $M
    (import "host" "double" (func $d (param i32) (result i32)))
    (import "host" "greet" (func $g (param i32 i32 i32)))
    (import "mem" "mem" (memory 1))
    (data (i32.const 16) "nyash")
    (func (export "quad") (param i32) (result i32)
      (call $d (call $d (local.get 0))))
    (func (export "hello") (result i32)
      (call $g (i32.const 16) (i32.const 5) (i32.const 64))
      (i32.const 64)))
  (core instance $m (instantiate $M
    (with "host" (instance (export "double" (func $d)) (export "greet" (func $g))))
    (with "mem" (instance (export "mem" (memory $mem "mem"))))))
  (func (export "quad") (param "x" u32) (result u32) (canon lift (core func $m "quad")))
  (func (export "hello") (result string)
    (canon lift (core func $m "hello") (memory (core memory $mem "mem")))))"#;

fn engine() -> Engine {
    let mut config = Config::new();
    config.async_support(true);
    Engine::new(&config).unwrap()
}

fn linker(engine: &Engine) -> Linker<u32> {
    let mut linker = Linker::<u32>::new(engine);
    let mut root = linker.root();
    root.func_new_async("double", |mut store, params, results| {
        Box::new(async move {
            YieldN(3).await;
            *store.data_mut() += 1;
            let Val::U32(x) = params[0] else {
                return Err(nyash_engine::Error::msg("not a u32"));
            };
            results[0] = Val::U32(x * 2);
            Ok(())
        })
    })
    .unwrap();
    root.func_new_async("greet", |_store, params, results| {
        Box::new(async move {
            YieldN(1).await;
            let Val::String(name) = &params[0] else {
                return Err(nyash_engine::Error::msg("not a string"));
            };
            results[0] = Val::String(format!("hello, {name}"));
            Ok(())
        })
    })
    .unwrap();
    linker
}

#[tokio::test]
async fn async_host_functions_suspend_the_component_call() {
    let engine = engine();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let linker = linker(&engine);
    let mut store = Store::new(&engine, 0u32);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let quad = instance.get_func(&mut store, "quad").unwrap();
    let mut out = [Val::U32(0)];
    quad.call_async(&mut store, &[Val::U32(5)], &mut out)
        .await
        .unwrap();
    assert_eq!(out[0], Val::U32(20));
    assert_eq!(*store.data(), 2, "the host function ran twice");
    let hello = instance.get_func(&mut store, "hello").unwrap();
    let mut out = [Val::Bool(false)];
    hello.call_async(&mut store, &[], &mut out).await.unwrap();
    assert_eq!(out[0], Val::String("hello, nyash".into()));
    // The instance is still usable: the calls left it open.
    quad.call_async(&mut store, &[Val::U32(1)], &mut out[..])
        .await
        .unwrap();
    assert_eq!(out[0], Val::U32(4));
}

#[tokio::test]
async fn async_calls_run_on_another_task() {
    // The future of a component call is `Send`: it can be spawned.
    let engine = engine();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let linker = linker(&engine);
    let handle = tokio::spawn(async move {
        let mut store = Store::new(&engine, 0u32);
        let instance = linker.instantiate(&mut store, &component).unwrap();
        let quad = instance.get_func(&mut store, "quad").unwrap();
        let mut out = [Val::U32(0)];
        quad.call_async(&mut store, &[Val::U32(7)], &mut out)
            .await
            .map(|()| out[0].clone())
    });
    assert_eq!(handle.await.unwrap().unwrap(), Val::U32(28));
}

#[test]
fn a_synchronous_call_cannot_reach_an_async_host_function() {
    let engine = engine();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let linker = linker(&engine);
    let mut store = Store::new(&engine, 0u32);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let quad = instance.get_func(&mut store, "quad").unwrap();
    let mut out = [Val::U32(0)];
    let e = quad.call(&mut store, &[Val::U32(5)], &mut out).unwrap_err();
    assert!(e.to_string().contains("use `call_async`"), "{e}");
}

/// A component with `async`-lifted exports (the async ABI without task
/// switching): `triple` lifted with a callback that calls the host's
/// `double` through an `async`-lowered import (which returns `RETURNED` at
/// once, its result through the return pointer) and returns through
/// `task.return`; `wait-forever` waits on an empty waitable set.
const ASYNC_LIFTED: &str = r#"(component
  (import "double" (func $double async (param "x" u32) (result u32)))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (core func $d (canon lower (func $double) async (memory (core memory $mem "mem"))))
  (core func $ret (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core module $M
    (import "" "double" (func $d (param i32 i32) (result i32)))
    (import "" "task.return" (func $ret (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "mem" (memory 1))
    (func (export "triple") (param i32) (result i32)
      (if (i32.ne (call $d (local.get 0) (i32.const 8)) (i32.const 2 (; RETURNED ;)))
        (then unreachable))
      (call $ret (i32.add (i32.load (i32.const 8)) (local.get 0)))
      (i32.const 0 (; EXIT ;)))
    (func (export "wait-forever") (result i32)
      (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (call $ws.new) (i32.const 4))))
    (func (export "cb") (param i32 i32 i32) (result i32)
      unreachable))
  (core instance $m (instantiate $M (with "" (instance
    (export "double" (func $d))
    (export "task.return" (func $ret))
    (export "ws.new" (func $ws.new))
    (export "mem" (memory $mem "mem"))))))
  (func (export "triple") async (param "x" u32) (result u32)
    (canon lift (core func $m "triple") async (callback (core func $m "cb"))))
  (func (export "wait-forever") async (result u32)
    (canon lift (core func $m "wait-forever") async (callback (core func $m "cb")))))"#;

#[tokio::test]
async fn async_lifted_exports_return_through_task_return() {
    let engine = engine();
    let component = Component::new(&engine, ASYNC_LIFTED).unwrap();
    let mut linker = Linker::<u32>::new(&engine);
    linker
        .root()
        .func_new("double", |mut store, params, results| {
            *store.data_mut() += 1;
            let Val::U32(x) = params[0] else {
                return Err(nyash_engine::Error::msg("not a u32"));
            };
            results[0] = Val::U32(x * 2);
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let triple = instance.get_func(&mut store, "triple").unwrap();
    let mut out = [Val::U32(0)];
    triple
        .call_async(&mut store, &[Val::U32(7)], &mut out)
        .await
        .unwrap();
    assert_eq!(out[0], Val::U32(21));
    triple.call(&mut store, &[Val::U32(2)], &mut out).unwrap();
    assert_eq!(out[0], Val::U32(6));
    assert_eq!(*store.data(), 2, "the host function ran once per call");
    // A typed call of an async-lifted function is refused, naming why.
    let e = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "triple")
        .and_then(|f| f.call(&mut store, (1,)))
        .unwrap_err();
    assert!(e.to_string().contains("`async`-lifted"), "{e}");
    // Waiting for an event nothing can produce is a deadlock, a trap.
    let wait = instance.get_func(&mut store, "wait-forever").unwrap();
    let e = wait.call(&mut store, &[], &mut out).unwrap_err();
    assert!(e.to_string().contains("deadlock detected"), "{e}");
}
