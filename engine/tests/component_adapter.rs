//! Calls between two component instances through adapters (compiled
//! ones, `nyash_aot::component::fact`, for these types): plain 32/64-bit
//! integers keep every rule of the full path — the callee's post-return
//! runs after each call, a trap in the callee closes it for good, the
//! caller may not call out of its post-return — and values that need
//! checking (`u8`, `char`) are still checked.

use nyash_engine::component::{Component, Linker, Val};
use nyash_engine::{Engine, Store};

const PAIR: &str = r#"(component
  (component $A
    (core module $M
      (global $posts (mut i32) (i32.const 0))
      (func (export "add1") (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
      (func (export "post") (param i64) (global.set $posts (i32.add (global.get $posts) (i32.const 1))))
      (func (export "posts") (result i32) (global.get $posts))
      (func (export "boom") (param i32) (result i32) unreachable)
      (func (export "byte") (param i32) (result i32) (local.get 0)))
    (core instance $m (instantiate $M))
    (func (export "add1") (param "x" u64) (result u64)
      (canon lift (core func $m "add1") (post-return (core func $m "post"))))
    (func (export "posts") (result u32) (canon lift (core func $m "posts")))
    (func (export "boom") (param "x" u32) (result u32) (canon lift (core func $m "boom")))
    (func (export "byte") (param "x" u32) (result u8) (canon lift (core func $m "byte"))))
  (component $B
    (import "add1" (func $add1 (param "x" u64) (result u64)))
    (import "boom" (func $boom (param "x" u32) (result u32)))
    (import "byte" (func $byte (param "x" u32) (result u8)))
    (core func $add1' (canon lower (func $add1)))
    (core func $boom' (canon lower (func $boom)))
    (core func $byte' (canon lower (func $byte)))
    (core module $M
      (import "a" "add1" (func $add1 (param i64) (result i64)))
      (import "a" "boom" (func $boom (param i32) (result i32)))
      (import "a" "byte" (func $byte (param i32) (result i32)))
      (func (export "run") (param $n i64) (result i64) (local $acc i64)
        (block $done (loop $l
          (br_if $done (i64.ge_u (local.get $acc) (local.get $n)))
          (local.set $acc (call $add1 (local.get $acc)))
          (br $l)))
        (local.get $acc))
      (func (export "boom") (result i32) (call $boom (i32.const 1)))
      (func (export "byte") (param i32) (result i32) (call $byte (local.get 0))))
    (core instance $m (instantiate $M (with "a" (instance
      (export "add1" (func $add1')) (export "boom" (func $boom')) (export "byte" (func $byte'))))))
    (func (export "run") (param "n" u64) (result u64) (canon lift (core func $m "run")))
    (func (export "boom") (result u32) (canon lift (core func $m "boom")))
    (func (export "byte") (param "x" u32) (result u32) (canon lift (core func $m "byte"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B
    (with "add1" (func $a "add1")) (with "boom" (func $a "boom")) (with "byte" (func $a "byte"))))
  (export "run" (func $b "run"))
  (export "boom" (func $b "boom"))
  (export "byte" (func $b "byte"))
  (export "posts" (func $a "posts")))"#;

fn call(
    store: &mut Store<()>,
    i: &nyash_engine::component::Instance,
    name: &str,
    args: &[Val],
) -> nyash_engine::Result<Val> {
    let f = i.get_func(&mut *store, name).expect("export");
    let mut out = [Val::Bool(false)];
    f.call(&mut *store, args, &mut out)?;
    Ok(out[0].clone())
}

#[test]
fn plain_integers_pass_through_with_every_rule_kept() {
    let engine = Engine::default();
    let component = Component::new(&engine, PAIR).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    assert_eq!(
        call(&mut store, &i, "run", &[Val::U64(1000)]).unwrap(),
        Val::U64(1000)
    );
    // The callee's post-return ran once per call.
    assert_eq!(call(&mut store, &i, "posts", &[]).unwrap(), Val::U32(1000));
    // `u8` is not passed through: the callee's 0x1ff is masked to 0xff.
    assert_eq!(
        call(&mut store, &i, "byte", &[Val::U32(0x1ff)]).unwrap(),
        Val::U32(0xff)
    );
    // A trap in the callee closes it for good, through the adapter too.
    let e = call(&mut store, &i, "boom", &[]).unwrap_err();
    assert!(e.to_string().contains("unreachable"), "{e}");
    let e = call(&mut store, &i, "run", &[Val::U64(3)]).unwrap_err();
    assert!(
        e.to_string().contains("cannot enter component instance"),
        "{e}"
    );
}
