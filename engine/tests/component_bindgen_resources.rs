//! `bindgen!` with resources: a world importing an interface with a host
//! resource (`counter`: constructor, methods, a static function, a
//! destructor, borrows as parameters), bound to a Rust type of the test's
//! own through `with`, and exporting an interface with a guest resource
//! (`cell`) the host creates, calls and drops; `<World>Pre` instantiates it
//! several times, and `instantiate_async` once.

use nyash_engine::component::{Component, Linker, Resource, ResourceTable};
use nyash_engine::{Config, Engine, Store};

/// The host's state of a `counter` (bound with `with`).
pub struct MyCounter {
    v: u32,
}

mod resw {
    nyash_engine::component::bindgen!({
        path: "tests/wit/bindgen-resources.wit",
        world: "res",
        with: { "test:res/counters/counter": super::MyCounter },
    });
}

/// The same world without `with`: `Counter` is a type of its own.
#[allow(dead_code)]
mod plain {
    nyash_engine::component::bindgen!({
        path: "tests/wit/bindgen-resources.wit",
        world: "res",
    });

    /// The resource type only names the resource.
    pub fn counter_is_a_marker(
        r: nyash_engine::component::Resource<test::res::counters::Counter>,
    ) -> u32 {
        r.rep()
    }
}

use resw::test::res::counters::{self, Counter};

#[derive(Default)]
struct Host {
    table: ResourceTable,
    /// The values of the counters whose destructor ran.
    dropped: Vec<u32>,
    calls: Vec<String>,
}

impl counters::HostCounter for Host {
    fn new(&mut self, v: u32) -> Resource<Counter> {
        self.calls.push(format!("new {v}"));
        self.table.push(MyCounter { v }).expect("room")
    }
    fn get(&mut self, self_: Resource<Counter>) -> u32 {
        assert!(!self_.owned(), "a method's self is borrowed");
        self.table.get(&self_).expect("live").v
    }
    fn inc(&mut self, self_: Resource<Counter>, by: u32) {
        self.table.get_mut(&self_).expect("live").v += by;
    }
    fn make(&mut self, v: u32) -> Resource<Counter> {
        self.calls.push(format!("make {v}"));
        self.table.push(MyCounter { v }).expect("room")
    }
    fn drop(&mut self, rep: Resource<Counter>) -> nyash_engine::Result<()> {
        let c = self.table.delete(rep)?;
        self.dropped.push(c.v);
        Ok(())
    }
}

impl counters::Host for Host {
    fn total(&mut self, a: Resource<Counter>, b: Resource<Counter>) -> u32 {
        self.table.get(&a).expect("a").v + self.table.get(&b).expect("b").v
    }
    fn sum(&mut self, cs: Vec<Resource<Counter>>) -> u32 {
        assert!(cs.iter().all(|c| !c.owned()), "borrows");
        self.calls.push(format!("sum of {}", cs.len()));
        cs.iter().map(|c| self.table.get(c).expect("live").v).sum()
    }
}

/// The guest: a core module written by hand against the world's
/// canonical ABI names, encoded by `wit-component`.
fn component_bytes() -> Vec<u8> {
    let wat = r#"(module
      (import "test:res/counters@0.1.0" "[constructor]counter" (func $c-new (param i32) (result i32)))
      (import "test:res/counters@0.1.0" "[method]counter.get" (func $c-get (param i32) (result i32)))
      (import "test:res/counters@0.1.0" "[method]counter.inc" (func $c-inc (param i32 i32)))
      (import "test:res/counters@0.1.0" "[static]counter.make" (func $c-make (param i32) (result i32)))
      (import "test:res/counters@0.1.0" "[resource-drop]counter" (func $c-drop (param i32)))
      (import "test:res/counters@0.1.0" "total" (func $total (param i32 i32) (result i32)))
      (import "test:res/counters@0.1.0" "sum" (func $sum (param i32 i32) (result i32)))
      (import "[export]test:res/guest@0.1.0" "[resource-new]cell" (func $cell-new (param i32) (result i32)))
      (memory (export "memory") 1)
      (global $heap (mut i32) (i32.const 4096))
      (global $drops (mut i32) (i32.const 0))
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $heap))
        (global.set $heap (i32.add (global.get $heap) (i32.const 64)))
        (local.get $p))
      (func (export "test:res/guest@0.1.0#[constructor]cell") (param i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $heap))
        (global.set $heap (i32.add (global.get $heap) (i32.const 8)))
        (i32.store (local.get $p) (local.get 0))
        (call $cell-new (local.get $p)))
      (func (export "test:res/guest@0.1.0#[method]cell.get") (param i32) (result i32)
        (i32.load (local.get 0)))
      ;; swap: exchange the values of two cells; returns self's old value
      (func (export "test:res/guest@0.1.0#[method]cell.swap") (param i32 i32) (result i32)
        (local $old i32)
        (local.set $old (i32.load (local.get 0)))
        (i32.store (local.get 0) (i32.load (local.get 1)))
        (i32.store (local.get 1) (local.get $old))
        (local.get $old))
      (func (export "test:res/guest@0.1.0#[dtor]cell") (param i32)
        (global.set $drops (i32.add (global.get $drops) (i32.const 1))))
      (func (export "test:res/guest@0.1.0#run") (param i32) (result i32)
        (local $a i32) (local $b i32) (local $r i32)
        (local.set $a (call $c-new (local.get 0)))
        (call $c-inc (local.get $a) (i32.const 10))
        (local.set $b (call $c-make (i32.const 5)))
        (local.set $r (i32.add
          (call $total (local.get $a) (local.get $b))
          (call $c-get (local.get $b))))
        (call $c-drop (local.get $a))
        (call $c-drop (local.get $b))
        (local.get $r))
      (func (export "test:res/guest@0.1.0#peek") (param i32) (result i32)
        (local $r i32)
        (local.set $r (call $c-get (local.get 0)))
        (call $c-drop (local.get 0))
        (local.get $r))
      (func (export "test:res/guest@0.1.0#give") (param i32) (result i32)
        (local $r i32)
        (local.set $r (call $c-get (local.get 0)))
        (call $c-drop (local.get 0))
        (local.get $r))
      (func (export "test:res/guest@0.1.0#drops") (result i32)
        (global.get $drops))
      ;; run-sum: two counters' handles at 1024 as a list of borrows
      (func (export "test:res/guest@0.1.0#run-sum") (param i32) (result i32)
        (local $r i32)
        (i32.store (i32.const 1024) (call $c-new (local.get 0)))
        (i32.store (i32.const 1028) (call $c-new (i32.add (local.get 0) (i32.const 1))))
        (local.set $r (call $sum (i32.const 1024) (i32.const 2)))
        (call $c-drop (i32.load (i32.const 1024)))
        (call $c-drop (i32.load (i32.const 1028)))
        (local.get $r))
      ;; peek-all: the sum of each borrowed counter's get, each borrow dropped
      (func (export "test:res/guest@0.1.0#peek-all") (param $p i32) (param $n i32) (result i32)
        (local $r i32) (local $h i32)
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $h (i32.load (local.get $p)))
            (local.set $r (i32.add (local.get $r) (call $c-get (local.get $h))))
            (call $c-drop (local.get $h))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $r)))"#;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_str("res.wit", include_str!("wit/bindgen-resources.wit"))
        .expect("WIT parses");
    let world = resolve.select_world(&[pkg], Some("res")).expect("world");
    let mut module = wat::parse_str(wat).expect("the module assembles");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("the component encodes")
}

fn linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::new(engine);
    resw::Res::add_to_linker(&mut linker, |h: &mut Host| h).expect("add_to_linker");
    linker
}

#[test]
fn a_guest_uses_the_hosts_resource() -> nyash_engine::Result<()> {
    let engine = Engine::default();
    let component = Component::new(&engine, component_bytes())?;
    let linker = linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    let res = resw::Res::instantiate(&mut store, &component, &linker)?;
    let guest = res.test_res_guest();
    // new(7), inc by 10, make(5): total 17 + 5, then get(b) 5.
    assert_eq!(guest.call_run(&mut store, 7)?, 27);
    assert_eq!(store.data().calls, ["new 7", "make 5"]);
    // The guest dropped both: each destructor ran once.
    assert_eq!(store.data().dropped, [17, 5]);
    assert!(store.data().table.is_empty());

    // A host counter lent to the guest, then given to it.
    let c = store.data_mut().table.push(MyCounter { v: 40 })?;
    let lent = Resource::<Counter>::new_borrow(c.rep());
    assert_eq!(guest.call_peek(&mut store, lent)?, 40);
    assert_eq!(store.data().dropped, [17, 5], "a borrow is not dropped");
    assert_eq!(guest.call_give(&mut store, c)?, 40);
    assert_eq!(store.data().dropped, [17, 5, 40], "the guest dropped it");

    // Lists of borrows, both ways: the guest passes two of its counters to
    // the host's `sum`; the host lends two counters to the guest's
    // `peek-all`, which drops each borrow before it returns.
    assert_eq!(guest.call_run_sum(&mut store, 20)?, 41);
    assert_eq!(
        store.data().calls.last().map(String::as_str),
        Some("sum of 2")
    );
    assert_eq!(store.data().dropped, [17, 5, 40, 20, 21]);
    let x = store.data_mut().table.push(MyCounter { v: 100 })?;
    let y = store.data_mut().table.push(MyCounter { v: 23 })?;
    let lent = vec![
        Resource::<Counter>::new_borrow(x.rep()),
        Resource::<Counter>::new_borrow(y.rep()),
    ];
    assert_eq!(guest.call_peek_all(&mut store, lent)?, 123);
    assert_eq!(guest.call_peek_all(&mut store, Vec::new())?, 0);
    assert_eq!(store.data().dropped.len(), 5, "borrows are not dropped");
    Ok(())
}

#[test]
fn the_host_uses_the_guests_resource() -> nyash_engine::Result<()> {
    let engine = Engine::default();
    let component = Component::new(&engine, component_bytes())?;
    let pre = resw::ResPre::new(linker(&engine).instantiate_pre(&component)?)?;
    for round in 0..3u32 {
        let mut store = Store::new(&engine, Host::default());
        let res = pre.instantiate(&mut store)?;
        let guest = res.test_res_guest();
        let cell = guest.cell();
        let a = cell.call_constructor(&mut store, 100 + round)?;
        let b = cell.call_constructor(&mut store, 7)?;
        assert!(a.owned());
        assert_eq!(cell.call_get(&mut store, a)?, 100 + round);
        assert_eq!(cell.call_swap(&mut store, a, b)?, 100 + round);
        assert_eq!(cell.call_get(&mut store, a)?, 7);
        assert_eq!(cell.call_get(&mut store, b)?, 100 + round);
        assert_eq!(guest.call_drops(&mut store)?, 0);
        a.resource_drop(&mut store)?;
        assert_eq!(
            guest.call_drops(&mut store)?,
            1,
            "the guest's destructor ran"
        );
        b.resource_drop(&mut store)?;
        assert_eq!(guest.call_drops(&mut store)?, 2);
    }
    Ok(())
}

#[tokio::test]
async fn the_world_instantiates_asynchronously() -> nyash_engine::Result<()> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, component_bytes())?;
    let linker = linker(&engine);
    let mut store = Store::new(&engine, Host::default());
    let res = resw::Res::instantiate_async(&mut store, &component, &linker).await?;
    assert_eq!(res.test_res_guest().call_run(&mut store, 1)?, 21);
    Ok(())
}

/// The same world with `async: true`: async host traits (registered with
/// `func_wrap_async` and `resource_async`), async `call_<f>`s.
mod resa {
    nyash_engine::component::bindgen!({
        path: "tests/wit/bindgen-resources.wit",
        world: "res",
        async: true,
        with: { "test:res/counters/counter": super::MyCounter },
    });
}

/// Pending `n` times (waking itself), then ready.
struct YieldN(u32);

impl std::future::Future for YieldN {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 == 0 {
            std::task::Poll::Ready(())
        } else {
            self.0 -= 1;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl resa::test::res::counters::HostCounter for Host {
    async fn new(&mut self, v: u32) -> Resource<MyCounter> {
        YieldN(2).await;
        self.calls.push(format!("new {v}"));
        self.table.push(MyCounter { v }).expect("room")
    }
    async fn get(&mut self, self_: Resource<MyCounter>) -> u32 {
        YieldN(1).await;
        self.table.get(&self_).expect("live").v
    }
    async fn inc(&mut self, self_: Resource<MyCounter>, by: u32) {
        self.table.get_mut(&self_).expect("live").v += by;
    }
    async fn make(&mut self, v: u32) -> Resource<MyCounter> {
        self.calls.push(format!("make {v}"));
        self.table.push(MyCounter { v }).expect("room")
    }
    async fn drop(&mut self, rep: Resource<MyCounter>) -> nyash_engine::Result<()> {
        YieldN(1).await;
        let c = self.table.delete(rep)?;
        self.dropped.push(c.v);
        Ok(())
    }
}

impl resa::test::res::counters::Host for Host {
    async fn total(&mut self, a: Resource<MyCounter>, b: Resource<MyCounter>) -> u32 {
        YieldN(3).await;
        self.table.get(&a).expect("a").v + self.table.get(&b).expect("b").v
    }
    async fn sum(&mut self, cs: Vec<Resource<MyCounter>>) -> u32 {
        YieldN(1).await;
        cs.iter().map(|c| self.table.get(c).expect("live").v).sum()
    }
}

#[tokio::test]
async fn an_async_world_suspends_in_its_host_calls() -> nyash_engine::Result<()> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, component_bytes())?;
    let mut linker = Linker::new(&engine);
    resa::Res::add_to_linker(&mut linker, |h: &mut Host| h)?;
    let pre = resa::ResPre::new(linker.instantiate_pre(&component)?)?;
    let mut store = Store::new(&engine, Host::default());
    let res = pre.instantiate_async(&mut store).await?;
    let guest = res.test_res_guest();
    assert_eq!(guest.call_run(&mut store, 7).await?, 27);
    assert_eq!(store.data().calls, ["new 7", "make 5"]);
    assert_eq!(store.data().dropped, [17, 5]);
    let cell = guest.cell();
    let a = cell.call_constructor(&mut store, 3).await?;
    assert_eq!(cell.call_get(&mut store, a).await?, 3);
    // The synchronous path reaches an async host function: a clear error.
    let sync = resw::Res::new(&mut store, res.instance())?;
    let e = sync.test_res_guest().call_run(&mut store, 1).unwrap_err();
    assert!(format!("{e:?}").contains("call_async"), "{e:?}");
    Ok(())
}
