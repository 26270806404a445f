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
