//! Typed host resources: `Resource<T>` handles passed in and out of a
//! component (own and borrow), their state in a `ResourceTable`, the host
//! destructor run exactly once, the traps for a handle of the wrong type
//! and a borrow outliving its call, typed checks of resource types,
//! `InstancePre` instantiating many times, typed async host functions
//! (`func_wrap_async`) called through `call_async`, and an instance import
//! re-exporting (`eq`) a resource an earlier import gave.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use nyash_engine::component::{
    Borrow, Component, Linker, Resource, ResourceAny, ResourceTable, ResourceType, Val,
};
use nyash_engine::{Config, Engine, Store, StoreContextMut};

/// The host's state of a `counter`.
struct Counter {
    v: u32,
}

/// Another host resource type, to pass where a `counter` is expected.
struct Other;

#[derive(Default)]
struct Host {
    table: ResourceTable,
    /// The value of each counter whose destructor ran.
    dropped: Vec<u32>,
}

/// A component importing the host's `counter` and `other` resources and
/// functions on them; its exports exercise each way a handle crosses.
const COMPONENT: &str = r#"(component
  (import "host" (instance $h
    (export "counter" (type $c (sub resource)))
    (export "other" (type $o (sub resource)))
    (export "new" (func (param "v" u32) (result (own $c))))
    (export "new-other" (func (result (own $o))))
    (export "get" (func (param "c" (borrow $c)) (result u32)))
    (export "take" (func (param "c" (own $c)) (result u32)))))
  (alias export $h "counter" (type $c))
  (alias export $h "other" (type $o))
  (core func $new (canon lower (func $h "new")))
  (core func $new-other (canon lower (func $h "new-other")))
  (core func $get (canon lower (func $h "get")))
  (core func $take (canon lower (func $h "take")))
  (core func $drop (canon resource.drop $c))
  (core module $M
    (import "h" "new" (func $new (param i32) (result i32)))
    (import "h" "new-other" (func $new-other (result i32)))
    (import "h" "get" (func $get (param i32) (result i32)))
    (import "h" "take" (func $take (param i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    (func (export "make-get-drop") (param i32) (result i32) (local $h i32) (local $r i32)
      (local.set $h (call $new (local.get 0)))
      (local.set $r (call $get (local.get $h)))
      (call $drop (local.get $h))
      (local.get $r))
    (func (export "make-take") (param i32) (result i32)
      (call $take (call $new (local.get 0))))
    (func (export "make-keep") (param i32) (result i32)
      (call $new (local.get 0)))
    (func (export "wrong") (result i32)
      (call $get (call $new-other)))
    (func (export "roundtrip") (param i32) (result i32) (local.get 0))
    (func (export "borrow-in") (param i32) (result i32) (local $r i32)
      (local.set $r (call $get (local.get 0)))
      (call $drop (local.get 0))
      (local.get $r))
    (func (export "borrow-keep") (param i32) (result i32)
      (call $get (local.get 0)))
    (func (export "drop-own") (param i32)
      (call $drop (local.get 0))))
  (core instance $m (instantiate $M (with "h" (instance
    (export "new" (func $new)) (export "new-other" (func $new-other))
    (export "get" (func $get)) (export "take" (func $take))
    (export "drop" (func $drop))))))
  (func (export "make-get-drop") (param "v" u32) (result u32)
    (canon lift (core func $m "make-get-drop")))
  (func (export "make-take") (param "v" u32) (result u32)
    (canon lift (core func $m "make-take")))
  (func (export "make-keep") (param "v" u32) (result (own $c))
    (canon lift (core func $m "make-keep")))
  (func (export "wrong") (result u32) (canon lift (core func $m "wrong")))
  (func (export "roundtrip") (param "c" (own $c)) (result (own $c))
    (canon lift (core func $m "roundtrip")))
  (func (export "borrow-in") (param "c" (borrow $c)) (result u32)
    (canon lift (core func $m "borrow-in")))
  (func (export "borrow-keep") (param "c" (borrow $c)) (result u32)
    (canon lift (core func $m "borrow-keep")))
  (func (export "drop-own") (param "c" (own $c))
    (canon lift (core func $m "drop-own"))))"#;

fn define_resources(linker: &mut Linker<Host>) {
    let mut h = linker.instance("host").unwrap();
    h.resource(
        "counter",
        ResourceType::host::<Counter>(),
        |mut store: StoreContextMut<'_, Host>, rep| {
            let c = store
                .data_mut()
                .table
                .delete(Resource::<Counter>::new_own(rep))?;
            store.data_mut().dropped.push(c.v);
            Ok(())
        },
    )
    .unwrap();
    h.resource("other", ResourceType::host::<Other>(), |_, _| Ok(()))
        .unwrap();
    h.func_wrap("new", |mut store, (v,): (u32,)| {
        Ok((store.data_mut().table.push(Counter { v })?,))
    })
    .unwrap();
    h.func_wrap("new-other", |mut store, (): ()| {
        Ok((store.data_mut().table.push(Other)?,))
    })
    .unwrap();
    h.func_wrap("take", |mut store, (c,): (Resource<Counter>,)| {
        assert!(c.owned());
        Ok((store.data_mut().table.delete(c)?.v + 1000,))
    })
    .unwrap();
}

fn linker(engine: &Engine) -> Linker<Host> {
    let mut linker = Linker::new(engine);
    define_resources(&mut linker);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("get", |store, (c,): (Borrow<Resource<Counter>>,)| {
            assert!(!c.0.owned());
            Ok((store.data().table.get(&c.0)?.v,))
        })
        .unwrap();
    linker
}

fn setup() -> (Store<Host>, nyash_engine::component::Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let mut store = Store::new(&engine, Host::default());
    let instance = linker(&engine).instantiate(&mut store, &component).unwrap();
    (store, instance)
}

#[test]
fn a_guest_made_counter_is_read_and_dropped_once() {
    let (mut store, instance) = setup();
    let f = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "make-get-drop")
        .unwrap();
    assert_eq!(f.call(&mut store, (5,)).unwrap(), (5,));
    assert_eq!(store.data().dropped, [5], "the destructor ran once");
    assert!(store.data().table.is_empty());
    assert_eq!(f.call(&mut store, (6,)).unwrap(), (6,));
    assert_eq!(store.data().dropped, [5, 6]);
}

#[test]
fn an_owned_handle_moves_to_the_host() {
    let (mut store, instance) = setup();
    let f = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "make-take")
        .unwrap();
    assert_eq!(f.call(&mut store, (7,)).unwrap(), (1007,));
    // The host took the handle: the guest's drop never happened, the
    // destructor did not run, the host deleted the entry itself.
    assert!(store.data().dropped.is_empty());
    assert!(store.data().table.is_empty());
    // An owned handle returned to the host.
    let keep = instance
        .get_typed_func::<(u32,), (Resource<Counter>,)>(&mut store, "make-keep")
        .unwrap();
    let (c,) = keep.call(&mut store, (8,)).unwrap();
    assert!(c.owned());
    assert_eq!(store.data().table.get(&c).unwrap().v, 8);
}

#[test]
fn own_and_borrow_handles_go_into_the_guest() {
    let (mut store, instance) = setup();
    let c = store.data_mut().table.push(Counter { v: 9 }).unwrap();
    let rep = c.rep();
    let rt = instance
        .get_typed_func::<(Resource<Counter>,), (Resource<Counter>,)>(&mut store, "roundtrip")
        .unwrap();
    let (back,) = rt.call(&mut store, (c,)).unwrap();
    assert_eq!(back.rep(), rep);
    assert!(back.owned());

    let borrow_in = instance
        .get_typed_func::<(Borrow<Resource<Counter>>,), (u32,)>(&mut store, "borrow-in")
        .unwrap();
    let lent = Resource::<Counter>::new_borrow(rep);
    assert_eq!(borrow_in.call(&mut store, (Borrow(lent),)).unwrap(), (9,));
    // A borrow lent for a call never reaches the destructor.
    assert!(store.data().dropped.is_empty());

    // The same through `Val`s, with the handle as a `ResourceAny`.
    let any = ResourceAny::try_from_resource(back, &mut store).unwrap();
    let f = instance.get_func(&mut store, "roundtrip").unwrap();
    let mut out = [Val::Bool(false)];
    f.call(&mut store, &[Val::Resource(any)], &mut out).unwrap();
    let Val::Resource(r) = out[0] else {
        panic!("not a resource: {:?}", out[0])
    };
    let typed = Resource::<Counter>::try_from_resource_any(r, &mut store).unwrap();
    assert_eq!(typed.rep(), rep);
    assert!(Resource::<Other>::try_from_resource_any(r, &mut store).is_err());
}

#[test]
fn a_handle_of_another_type_traps() {
    let (mut store, instance) = setup();
    let f = instance
        .get_typed_func::<(), (u32,)>(&mut store, "wrong")
        .unwrap();
    let e = f.call(&mut store, ()).unwrap_err();
    assert!(format!("{e:?}").contains("wrong type"), "{e:?}");
}

#[test]
fn a_borrow_kept_past_its_call_traps() {
    let (mut store, instance) = setup();
    let c = store.data_mut().table.push(Counter { v: 1 }).unwrap();
    let f = instance
        .get_typed_func::<(Borrow<Resource<Counter>>,), (u32,)>(&mut store, "borrow-keep")
        .unwrap();
    let e = f.call(&mut store, (Borrow(c),)).unwrap_err();
    assert!(
        format!("{e:?}").contains("borrow handles still remain"),
        "{e:?}"
    );
}

#[test]
fn resource_types_are_checked() {
    let (mut store, instance) = setup();
    // The export's handle is the host's `Counter`, not `Other`.
    let e = instance
        .get_typed_func::<(Resource<Other>,), (Resource<Other>,)>(&mut store, "roundtrip")
        .unwrap_err();
    assert!(format!("{e:?}").contains("Other"), "{e:?}");
    // An own where the type says borrow.
    let e = instance
        .get_typed_func::<(Resource<Counter>,), (u32,)>(&mut store, "borrow-in")
        .unwrap_err();
    assert!(format!("{e:?}").contains("borrow"), "{e:?}");

    // A host function typed with the wrong resource or kind fails to link.
    let engine = store.engine().clone();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let mut l = Linker::<Host>::new(&engine);
    define_resources(&mut l);
    l.instance("host")
        .unwrap()
        .func_wrap("get", |_, (_c,): (Borrow<Resource<Other>>,)| Ok((0u32,)))
        .unwrap();
    let e = l.instantiate_pre(&component).err().expect("wrong resource");
    assert!(format!("{e:?}").contains("get"), "{e:?}");
    let mut l = Linker::<Host>::new(&engine);
    define_resources(&mut l);
    l.instance("host")
        .unwrap()
        .func_wrap("get", |_, (_c,): (Resource<Counter>,)| Ok((0u32,)))
        .unwrap();
    let e = l.instantiate_pre(&component).err().expect("own for borrow");
    assert!(format!("{e:?}").contains("borrow"), "{e:?}");
}

#[test]
fn instance_pre_instantiates_many_times() {
    let engine = Engine::default();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let pre = linker(&engine).instantiate_pre(&component).unwrap();
    assert!(std::ptr::eq(pre.component(), pre.component()));
    let mut store = Store::new(&engine, Host::default());
    for i in 0..50u32 {
        let instance = pre.instantiate(&mut store).unwrap();
        let f = instance
            .get_typed_func::<(u32,), (u32,)>(&mut store, "make-get-drop")
            .unwrap();
        assert_eq!(f.call(&mut store, (i,)).unwrap(), (i,));
    }
    assert_eq!(store.data().dropped, (0..50).collect::<Vec<_>>());
    // Another store, the same pre-instantiation.
    let mut store = Store::new(&engine, Host::default());
    let instance = pre.instantiate(&mut store).unwrap();
    let f = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "make-take")
        .unwrap();
    assert_eq!(f.call(&mut store, (3,)).unwrap(), (1003,));
}

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

#[tokio::test]
async fn typed_async_host_functions_suspend_the_call() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let mut linker = Linker::<Host>::new(&engine);
    define_resources(&mut linker);
    linker
        .instance("host")
        .unwrap()
        .func_wrap_async(
            "get",
            |store: StoreContextMut<'_, Host>, (c,): (Borrow<Resource<Counter>>,)| {
                Box::new(async move {
                    YieldN(3).await;
                    Ok((store.data().table.get(&c.0)?.v * 10,))
                })
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, Host::default());
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .unwrap();
    let f = instance.get_func(&mut store, "make-get-drop").unwrap();
    let mut out = [Val::U32(0)];
    f.call_async(&mut store, &[Val::U32(4)], &mut out)
        .await
        .unwrap();
    assert_eq!(out[0], Val::U32(40));
    assert_eq!(store.data().dropped, [4]);
    // Reached from a synchronous call, the async host function fails.
    let e = f.call(&mut store, &[Val::U32(4)], &mut out).unwrap_err();
    assert!(format!("{e:?}").contains("call_async"), "{e:?}");
}

#[tokio::test]
async fn an_async_destructor_runs_in_the_async_call() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let mut linker = Linker::<Host>::new(&engine);
    {
        let mut h = linker.instance("host").unwrap();
        h.resource_async(
            "counter",
            ResourceType::host::<Counter>(),
            |mut store: StoreContextMut<'_, Host>, rep| {
                Box::new(async move {
                    YieldN(2).await;
                    let c = store
                        .data_mut()
                        .table
                        .delete(Resource::<Counter>::new_own(rep))?;
                    store.data_mut().dropped.push(c.v + 100);
                    Ok(())
                })
            },
        )
        .unwrap();
        h.resource("other", ResourceType::host::<Other>(), |_, _| Ok(()))
            .unwrap();
        h.func_wrap("new", |mut store, (v,): (u32,)| {
            Ok((store.data_mut().table.push(Counter { v })?,))
        })
        .unwrap();
        h.func_wrap("new-other", |mut store, (): ()| {
            Ok((store.data_mut().table.push(Other)?,))
        })
        .unwrap();
        h.func_wrap("take", |_, (_c,): (Resource<Counter>,)| Ok((0u32,)))
            .unwrap();
        h.func_wrap("get", |store, (c,): (Borrow<Resource<Counter>>,)| {
            Ok((store.data().table.get(&c.0)?.v,))
        })
        .unwrap();
    }
    let mut store = Store::new(&engine, Host::default());
    let instance = linker
        .instantiate_pre(&component)
        .unwrap()
        .instantiate_async(&mut store)
        .await
        .unwrap();
    let f = instance.get_func(&mut store, "make-get-drop").unwrap();
    let mut out = [Val::U32(0)];
    f.call_async(&mut store, &[Val::U32(2)], &mut out)
        .await
        .unwrap();
    assert_eq!(out[0], Val::U32(2));
    assert_eq!(store.data().dropped, [102]);
}

#[test]
fn a_handle_made_before_instantiation_still_gets_the_destructor() {
    let engine = Engine::default();
    let component = Component::new(&engine, COMPONENT).unwrap();
    let mut store = Store::new(&engine, Host::default());
    // The store learns the host's `Counter` type here, before any linker
    // gives it a destructor.
    let c = store.data_mut().table.push(Counter { v: 11 }).unwrap();
    let any = ResourceAny::try_from_resource(c, &mut store).unwrap();
    let instance = linker(&engine).instantiate(&mut store, &component).unwrap();
    // Given to the guest, which only reads it; then made and dropped by
    // the guest: the linker's destructor runs.
    let f = instance.get_func(&mut store, "roundtrip").unwrap();
    let mut out = [Val::Bool(false)];
    f.call(&mut store, &[Val::Resource(any)], &mut out).unwrap();
    let g = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "make-get-drop")
        .unwrap();
    assert_eq!(g.call(&mut store, (12,)).unwrap(), (12,));
    assert_eq!(store.data().dropped, [12]);
}

#[test]
fn a_parent_with_children_in_the_table_fails_its_destructor() {
    let (mut store, instance) = setup();
    let keep = instance
        .get_typed_func::<(u32,), (Resource<Counter>,)>(&mut store, "make-keep")
        .unwrap();
    let drop_own = instance
        .get_typed_func::<(Resource<Counter>,), ()>(&mut store, "drop-own")
        .unwrap();
    // A parent with no children: the guest's drop runs the destructor.
    let (a,) = keep.call(&mut store, (1,)).unwrap();
    drop_own.call(&mut store, (a,)).unwrap();
    assert_eq!(store.data().dropped, [1]);
    // A parent with a child: the destructor's delete fails, and so does
    // the guest's call (the table keeps both).
    let (p,) = keep.call(&mut store, (2,)).unwrap();
    let rep = p.rep();
    let child = store.data_mut().table.push_child(7u8, &p).unwrap();
    let kids = store.data().table.iter_children(&p).unwrap().count();
    assert_eq!(kids, 1);
    let e = drop_own.call(&mut store, (p,)).unwrap_err();
    assert!(format!("{e:?}").contains("children"), "{e:?}");
    assert_eq!(store.data().dropped, [1]);
    assert_eq!(store.data_mut().table.delete(child).unwrap(), 7);
    let parent = Resource::<Counter>::new_own(rep);
    assert_eq!(store.data_mut().table.delete(parent).unwrap().v, 2);
    assert!(store.data().table.is_empty());
}

/// A component importing a host resource from one instance (`a`) and a
/// function on it from another (`b`) that names the same resource again
/// with an `(eq ...)` bound, as `wasi:filesystem/types` names
/// `wasi:io/streams`' `input-stream`: the linker defines the resource
/// once, in `a`, and `b` need not define it; if it does, it must be the
/// same type.
const EQ_COMPONENT: &str = r#"(component
  (import "a" (instance $a
    (export "r" (type $r (sub resource)))
    (export "new" (func (param "v" u32) (result (own $r))))))
  (alias export $a "r" (type $r))
  (import "b" (instance $b
    (alias outer 1 $r (type $outer-r))
    (export "r" (type $br (eq $outer-r)))
    (export "get" (func (param "c" (borrow $br)) (result u32)))))
  (core func $new (canon lower (func $a "new")))
  (core func $get (canon lower (func $b "get")))
  (core func $drop (canon resource.drop $r))
  (core module $M
    (import "h" "new" (func $new (param i32) (result i32)))
    (import "h" "get" (func $get (param i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32) (local $h i32) (local $r i32)
      (local.set $h (call $new (local.get 0)))
      (local.set $r (call $get (local.get $h)))
      (call $drop (local.get $h))
      (local.get $r)))
  (core instance $m (instantiate $M (with "h" (instance
    (export "new" (func $new)) (export "get" (func $get)) (export "drop" (func $drop))))))
  (func (export "run") (param "v" u32) (result u32) (canon lift (core func $m "run"))))"#;

fn eq_linker(engine: &Engine, b_defines: Option<ResourceType>) -> Linker<Host> {
    let mut linker = Linker::new(engine);
    let mut a = linker.instance("a").unwrap();
    a.resource(
        "r",
        ResourceType::host::<Counter>(),
        |mut store: StoreContextMut<'_, Host>, rep| {
            let c = store
                .data_mut()
                .table
                .delete(Resource::<Counter>::new_own(rep))?;
            store.data_mut().dropped.push(c.v);
            Ok(())
        },
    )
    .unwrap();
    a.func_wrap("new", |mut store, (v,): (u32,)| {
        Ok((store.data_mut().table.push(Counter { v })?,))
    })
    .unwrap();
    let mut b = linker.instance("b").unwrap();
    if let Some(t) = b_defines {
        b.resource("r", t, |_, _| Ok(())).unwrap();
    }
    b.func_wrap("get", |store, (c,): (Borrow<Resource<Counter>>,)| {
        Ok((store.data().table.get(&c.0)?.v * 2,))
    })
    .unwrap();
    linker
}

#[test]
fn a_resource_named_again_with_an_eq_bound_needs_no_second_definition() {
    let engine = Engine::default();
    let component = Component::new(&engine, EQ_COMPONENT).unwrap();
    for b_defines in [None, Some(ResourceType::host::<Counter>())] {
        let linker = eq_linker(&engine, b_defines);
        let mut store = Store::new(&engine, Host::default());
        let inst = linker
            .instantiate(&mut store, &component)
            .unwrap_or_else(|e| panic!("b defines {b_defines:?}: {e}"));
        let run = inst
            .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, (21,)).unwrap(), (42,));
        assert_eq!(store.data().dropped, [21]);
    }
    // Named again as another type: refused, naming it.
    let linker = eq_linker(&engine, Some(ResourceType::host::<Other>()));
    let mut store = Store::new(&engine, Host::default());
    let Err(err) = linker.instantiate(&mut store, &component) else {
        panic!("b's `r` as another type should not link");
    };
    assert!(err.to_string().contains("another resource type"), "{err}");
}

/// An instance import may export, as `(eq ...)`, a resource type an
/// earlier import gave (what WIT's `use` makes: `wasi:io/streams` exports
/// `wasi:io/error`'s `error`); the linker's instance of it need not define
/// the type again, and handles of it are the first import's.
#[test]
fn a_resource_an_earlier_import_bound_needs_no_second_definition() {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        r#"(component
          (import "a" (instance $a
            (export "counter" (type (sub resource)))
            (export "new" (func (param "v" u32) (result (own 0))))))
          (alias export $a "counter" (type $c))
          (import "b" (instance $b
            (export "counter" (type $c' (eq $c)))
            (export "get" (func (param "c" (borrow $c')) (result u32)))))
          (core func $new (canon lower (func $a "new")))
          (core func $get (canon lower (func $b "get")))
          (core module $M
            (import "h" "new" (func $new (param i32) (result i32)))
            (import "h" "get" (func $get (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
              (call $get (call $new (local.get 0)))))
          (core instance $m (instantiate $M (with "h" (instance
            (export "new" (func $new)) (export "get" (func $get))))))
          (func (export "run") (param "v" u32) (result u32)
            (canon lift (core func $m "run"))))"#,
    )
    .unwrap();
    let mut linker = Linker::<Host>::new(&engine);
    {
        let mut a = linker.instance("a").unwrap();
        a.resource("counter", ResourceType::host::<Counter>(), |_, _| Ok(()))
            .unwrap();
        a.func_wrap("new", |mut s: StoreContextMut<'_, Host>, (v,): (u32,)| {
            Ok((s.data_mut().table.push(Counter { v })?,))
        })
        .unwrap();
    }
    linker
        .instance("b")
        .unwrap()
        .func_wrap(
            "get",
            |s: StoreContextMut<'_, Host>, (c,): (Borrow<Resource<Counter>>,)| {
                Ok((s.data().table.get(&c.0)?.v * 2,))
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, Host::default());
    let instance = linker.instantiate(&mut store, &component).unwrap();
    let run = instance
        .get_typed_func::<(u32,), (u32,)>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, (21,)).unwrap(), (42,));
}
