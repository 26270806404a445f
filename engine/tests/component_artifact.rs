//! Component artifacts and the compile cache for components: a component
//! round-trips through `serialize`/`deserialize(_file)` and runs the same;
//! damage and foreign bytes are errors naming what is wrong; `from_file`
//! with the cache on stores the component and loads it from there next
//! time.

use nyash_engine::component::{Component, Linker, Val};
use nyash_engine::{Config, Engine, ErrorKind, Module, Store};
use nyash_test_util::TmpDir;

/// Two sibling components, a string crossing between them (an adapter):
/// enough that the inlined description matters.
const COMPONENT: &str = r#"(component
  (component $Inner
    (core module $M
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 1024))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (global.get $bump) (local.get 3)))
        (local.get $p))
      (func (export "len") (param i32 i32) (result i32) (local.get 1)))
    (core instance $m (instantiate $M))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")))))
  (component $Outer
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 1)
      (data (i32.const 16) "hello, world"))
    (core instance $mem (instantiate $Mem))
    (core func $len' (canon lower (func $len) (memory (core memory $mem "mem"))))
    (core module $M
      (import "i" "len" (func $len (param i32 i32) (result i32)))
      (func (export "twice") (param i32) (result i32)
        (i32.add (local.get 0) (call $len (i32.const 16) (i32.const 12)))))
    (core instance $m (instantiate $M (with "i" (instance (export "len" (func $len'))))))
    (func (export "plus-len") (param "x" u32) (result u32)
      (canon lift (core func $m "twice"))))
  (instance $inner (instantiate $Inner))
  (instance $outer (instantiate $Outer (with "len" (func $inner "len"))))
  (export "plus-len" (func $outer "plus-len")))"#;

fn call(engine: &Engine, c: &Component, x: u32) -> u32 {
    let mut store = Store::new(engine, ());
    let linker = Linker::new(engine);
    let instance = linker.instantiate(&mut store, c).expect("instantiates");
    let f = instance.get_func(&mut store, "plus-len").expect("export");
    let mut out = [Val::U32(0)];
    f.call(&mut store, &[Val::U32(x)], &mut out).expect("call");
    match out[0] {
        Val::U32(v) => v,
        ref other => panic!("result {other:?}"),
    }
}

#[test]
fn a_component_round_trips_through_its_artifact() {
    let engine = Engine::default();
    let c = Component::new(&engine, COMPONENT).unwrap();
    assert_eq!(call(&engine, &c, 30), 42);
    let bytes = c.serialize().unwrap();
    assert!(Component::is_precompiled(&bytes));
    assert!(!Module::is_precompiled(&bytes));
    // SAFETY: made by this engine just now.
    let back = unsafe { Component::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(call(&engine, &back, 1), 13);
    let dir = TmpDir::new("component", "artifact");
    let path = dir.path().join("c.nwasm");
    std::fs::write(&path, &bytes).unwrap();
    // SAFETY: as above.
    let mapped = unsafe { Component::deserialize_file(&engine, &path) }.unwrap();
    assert_eq!(call(&engine, &mapped, 100), 112);
    // An artifact is not a component to compile.
    let e = Component::new(&engine, &bytes).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Artifact(_)), "{e}");
}

#[test]
fn damaged_or_foreign_component_artifacts_are_errors() {
    let engine = Engine::default();
    let c = Component::new(&engine, COMPONENT).unwrap();
    let bytes = c.serialize().unwrap();
    // A flipped byte in the metadata, in a module's code, a truncation.
    for at in [200, bytes.len() - 10] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x40;
        // SAFETY: a damaged artifact of a trusted engine; the checks must refuse it.
        let e = unsafe { Component::deserialize(&engine, &bad) }.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Artifact(_)), "byte {at}: {e}");
    }
    // SAFETY: as above.
    let e = unsafe { Component::deserialize(&engine, &bytes[..bytes.len() / 2]) }.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Artifact(_)), "{e}");
    // Bytes appended to a whole artifact, in memory and in a file.
    let mut long = bytes.clone();
    long.extend_from_slice(&[0u8; 64]);
    // SAFETY: as above.
    let e = unsafe { Component::deserialize(&engine, &long) }.unwrap_err();
    assert!(e.to_string().contains("64 bytes after"), "{e}");
    let path = std::env::temp_dir().join(format!("nyash-cmp-long-{}.nwasm", std::process::id()));
    std::fs::write(&path, &long).unwrap();
    // SAFETY: as above.
    let e = unsafe { Component::deserialize_file(&engine, &path) }.unwrap_err();
    let _ = std::fs::remove_file(&path);
    assert!(e.to_string().contains("64 bytes after"), "{e}");
    // A module's artifact is not a component's.
    let m = Module::new(&engine, "(module)")
        .unwrap()
        .serialize()
        .unwrap();
    // SAFETY: as above.
    let e = unsafe { Component::deserialize(&engine, &m) }.unwrap_err();
    assert!(e.to_string().contains("not a nyash-engine artifact"), "{e}");
}

#[test]
fn the_cache_keeps_components() {
    let dir = TmpDir::new("component", "cache");
    let mut config = Config::new();
    // Lazy compilation (NYASH_LAZY=1 in CI's second run) keeps modules,
    // not whole components: this test is about the whole entry.
    config
        .cache(true)
        .cache_dir(dir.path().join("cache"))
        .lazy_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let wasm = wat::parse_str(COMPONENT).unwrap();
    let path = dir.path().join("c.wasm");
    std::fs::write(&path, &wasm).unwrap();
    let cache = nyash_engine::cache::Cache::new(engine.config()).unwrap();
    assert!(!cache.contains(&engine, &wasm));
    let first = Component::from_file(&engine, &path).unwrap();
    assert_eq!(call(&engine, &first, 0), 12);
    assert!(cache.contains(&engine, &wasm), "the component is stored");
    let (entries, _) = cache.stats().unwrap();
    // The component, and its two core modules on their own.
    assert!(entries >= 3, "{entries} entries");
    let second = Component::from_file(&engine, &path).unwrap();
    assert_eq!(call(&engine, &second, 5), 17);
}
