//! WebAssembly GC in the engine: objects survive collections that move
//! them, wherever their references are (frames of running, nested and
//! suspended calls, globals, tables, host roots); the heap limit; GC
//! modules in artifacts. Every test runs with a small nursery (so
//! collections happen often) and again in stress mode (`Config::gc_stress`:
//! a moving collection at every allocation, the heap verified after each),
//! and checks that collections did happen. (Pure-wasm cases: casts across
//! modules, array bulk operators, extern conversion, i31: tests/wast/gc/.)

use nyash_engine::{Caller, Config, Engine, Func, Instance, Linker, Module, Store, TrapCode, Val};
use nyash_test_util::Variant;

/// A small nursery (explicitly not in stress mode, whatever
/// `NYASH_GC_STRESS` says: the stress variant is the second engine), and
/// stress mode.
fn engines() -> Vec<(&'static str, Engine)> {
    nyash_test_util::engines(&[Variant::SmallNursery, Variant::GcStress])
}

fn instance<T: 'static>(store: &mut Store<T>, linker: &Linker<T>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).unwrap();
    linker.instantiate(store, &module).unwrap()
}

const TREES: &str = r#"(module
    (type $node (struct (field $l (ref null $node)) (field $r (ref null $node)) (field $v i32)))
    (func $make (export "make") (param $d i32) (result (ref $node))
        (if (result (ref $node)) (i32.eqz (local.get $d))
            (then (struct.new $node (ref.null $node) (ref.null $node) (i32.const 1)))
            (else (struct.new $node
                (call $make (i32.sub (local.get $d) (i32.const 1)))
                (call $make (i32.sub (local.get $d) (i32.const 1)))
                (local.get $d)))))
    (func $check (export "check") (param $t (ref null $node)) (result i32)
        (if (result i32) (ref.is_null (local.get $t))
            (then (i32.const 0))
            (else (i32.add (struct.get $node $v (local.get $t))
                (i32.add (call $check (struct.get $node $l (local.get $t)))
                         (call $check (struct.get $node $r (local.get $t))))))))
    ;; A long-lived tree, many short-lived ones, then the long-lived one again.
    (func (export "run") (param $d i32) (param $n i32) (result i32)
        (local $keep (ref null $node)) (local $sum i32)
        (local.set $keep (call $make (local.get $d)))
        (loop $l
            (local.set $sum (i32.add (local.get $sum) (call $check (call $make (local.get $d)))))
            (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.add (local.get $sum) (call $check (local.get $keep)))))"#;

/// The checksum `check` gives a tree of depth `d`.
fn tree_sum(d: i32) -> i32 {
    if d == 0 { 1 } else { d + 2 * tree_sum(d - 1) }
}

#[test]
fn trees_survive_moving_collections() {
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let inst = instance(&mut store, &linker, TREES);
        let run = inst
            .get_typed_func::<(i32, i32), i32>(&mut store, "run")
            .unwrap();
        let (d, n) = if name == "stress" { (6, 3) } else { (12, 20) };
        assert_eq!(
            run.call(&mut store, (d, n)).unwrap(),
            (n + 1) * tree_sum(d),
            "{name}"
        );
        assert!(store.gc_collections() > 0, "{name}: no collection ran");
    }
}

#[test]
fn host_roots_survive_collections_and_go_back_to_wasm() {
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let inst = instance(&mut store, &linker, TREES);
        let make = inst.get_func(&mut store, "make").unwrap();
        let check = inst.get_func(&mut store, "check").unwrap();
        let mut out = [Val::I32(0)];
        make.call(&mut store, &[Val::I32(5)], &mut out).unwrap();
        let tree = out[0];
        let Val::AnyRef(Some(r)) = tree else {
            panic!("{name}: not an object: {tree:?}")
        };
        assert!(r.is_struct(&store).unwrap());
        // Churn: collections move the tree.
        for _ in 0..3 {
            make.call(&mut store, &[Val::I32(8)], &mut out).unwrap();
            store.gc().unwrap();
        }
        let mut sum = [Val::I32(0)];
        check.call(&mut store, &[tree], &mut sum).unwrap();
        assert_eq!(sum[0], Val::I32(tree_sum(5)), "{name}");
        assert!(r.ref_eq(&store, &r).unwrap());
    }
}

#[test]
fn globals_tables_and_segments_are_roots() {
    let wat = r#"(module
        (type $box (struct (field (mut i32))))
        (type $arr (array (mut (ref null $box))))
        (global $g (mut (ref null $box)) (struct.new $box (i32.const 7)))
        (table $t 4 (ref null $box))
        (elem $e (ref null $box) (item (struct.new $box (i32.const 11))) (item (struct.new $box (i32.const 13))))
        (func $churn (param $n i32)
            (loop $l
                (drop (struct.new $box (local.get $n)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
        (func (export "run") (result i32)
            (local $a (ref null $arr))
            (table.set $t (i32.const 2) (struct.new $box (i32.const 5)))
            (call $churn (i32.const 20000))
            (local.set $a (array.new_elem $arr $e (i32.const 0) (i32.const 2)))
            (call $churn (i32.const 20000))
            (i32.add
                (i32.add (struct.get $box 0 (global.get $g))
                         (struct.get $box 0 (table.get $t (i32.const 2))))
                (i32.add (struct.get $box 0 (array.get $arr (local.get $a) (i32.const 0)))
                         (struct.get $box 0 (array.get $arr (local.get $a) (i32.const 1)))))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let inst = instance(&mut store, &linker, wat);
        let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 7 + 5 + 11 + 13, "{name}");
        assert!(store.gc_collections() > 0, "{name}");
    }
}

#[test]
fn nested_host_calls_keep_the_outer_frames_roots() {
    let wat = r#"(module
        (type $box (struct (field i32)))
        (import "host" "reenter" (func $reenter (param i32) (result i32)))
        (func (export "outer") (param $n i32) (result i32)
            (local $b (ref null $box))
            (local.set $b (struct.new $box (local.get $n)))
            (if (result i32) (i32.eqz (local.get $n))
                (then (struct.get $box 0 (local.get $b)))
                (else (i32.add (call $reenter (i32.sub (local.get $n) (i32.const 1)))
                               (struct.get $box 0 (local.get $b))))))
        (func (export "churn") (param $n i32)
            (loop $l
                (drop (struct.new $box (local.get $n)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;
    for (name, engine) in engines() {
        let mut store: Store<Option<(Func, Func)>> = Store::new(&engine, None);
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(
                "host",
                "reenter",
                |mut caller: Caller<'_, Option<(Func, Func)>>,
                 n: i32|
                 -> nyash_engine::Result<i32> {
                    let (outer, churn) = caller.data().unwrap();
                    churn.typed::<i32, ()>(&caller)?.call(&mut caller, 5000)?;
                    caller.gc()?;
                    outer.typed::<i32, i32>(&caller)?.call(&mut caller, n)
                },
            )
            .unwrap();
        let inst = instance(&mut store, &linker, wat);
        let outer = inst.get_func(&mut store, "outer").unwrap();
        let churn = inst.get_func(&mut store, "churn").unwrap();
        *store.data_mut() = Some((outer, churn));
        let n = 20;
        let got = outer
            .typed::<i32, i32>(&store)
            .unwrap()
            .call(&mut store, n)
            .unwrap();
        assert_eq!(got, n * (n + 1) / 2, "{name}");
        assert!(store.gc_collections() >= n as u64, "{name}");
    }
}

#[test]
fn suspended_async_calls_hold_their_structs_across_collections() {
    // Each level allocates a struct holding its depth, then calls an async
    // host function that yields to the executor, nests the next level with
    // `call_async` (a new fiber), and at the bottom forces a collection
    // while every level above is suspended on its own fiber.
    let wat = r#"(module
        (type $box (struct (field i32) (field (ref null $box))))
        (import "host" "down" (func $down (param i32) (result i32)))
        (func (export "level") (param $n i32) (result i32)
            (local $b (ref null $box))
            (local.set $b (struct.new $box (local.get $n)
                (struct.new $box (i32.mul (local.get $n) (i32.const 100)) (ref.null $box))))
            (i32.add (call $down (local.get $n))
                (i32.add (struct.get $box 0 (local.get $b))
                         (struct.get $box 0 (struct.get $box 1 (local.get $b)))))))"#;
    for (name, mut config) in [("small nursery", Config::new()), ("stress", Config::new())] {
        config.async_support(true);
        config.gc_nursery_bytes(64 << 10);
        config.gc_stress(name == "stress");
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut linker: Linker<Option<Func>> = Linker::new(&engine);
        linker
            .func_wrap_async(
                "host",
                "down",
                |mut caller: Caller<'_, Option<Func>>, (n,): (i32,)| {
                    Box::new(async move {
                        tokio::task::yield_now().await;
                        if n == 0 {
                            caller.gc()?;
                            tokio::task::yield_now().await;
                            caller.gc()?;
                            return Ok(0);
                        }
                        let f = caller.data().unwrap().typed::<i32, i32>(&caller)?;
                        f.call_async(&mut caller, n - 1).await
                    })
                },
            )
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut store = Store::new(&engine, None);
            let inst = linker.instantiate_async(&mut store, &module).await.unwrap();
            let f = inst.get_func(&mut store, "level").unwrap();
            *store.data_mut() = Some(f);
            let n = 40;
            let got = f
                .typed::<i32, i32>(&store)
                .unwrap()
                .call_async(&mut store, n)
                .await
                .unwrap();
            assert_eq!(got, 101 * n * (n + 1) / 2, "{name}");
            assert!(store.gc_collections() >= 2, "{name}");
        });
    }
}

#[test]
fn heap_limit_traps_and_the_store_stays_usable() {
    let wat = r#"(module
        (type $cell (struct (field (ref null $cell)) (field (mut i64)) (field i64) (field i64)))
        (global $list (mut (ref null $cell)) (ref.null $cell))
        (func (export "grow") (param $n i32)
            (loop $l
                (global.set $list (struct.new $cell (global.get $list) (i64.const 1) (i64.const 2) (i64.const 3)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
        (func (export "drop_all") (global.set $list (ref.null $cell))))"#;
    let mut config = Config::new();
    config
        .gc_max_heap_bytes(4 << 20)
        .gc_nursery_bytes(256 << 10)
        .gc_stress(false);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let inst = instance(&mut store, &linker, wat);
    let grow = inst.get_typed_func::<i32, ()>(&mut store, "grow").unwrap();
    let drop_all = inst
        .get_typed_func::<(), ()>(&mut store, "drop_all")
        .unwrap();
    // 10 million 32-byte cells cannot fit in 4 MiB.
    let err = grow.call(&mut store, 10_000_000).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::AllocationFailure), "{err}");
    drop_all.call(&mut store, ()).unwrap();
    grow.call(&mut store, 50_000).unwrap();
    drop_all.call(&mut store, ()).unwrap();
    grow.call(&mut store, 50_000).unwrap();
}

#[test]
fn gc_modules_round_trip_through_artifacts() {
    // Stack maps and GC types travel in the artifact; type ids are given
    // at load, so a second engine (with other types registered first)
    // runs the same artifact.
    let mut config = Config::new();
    config.gc_nursery_bytes(64 << 10).gc_stress(false);
    let engine = Engine::new(&config).unwrap();
    let bytes = Module::new(&engine, TREES).unwrap().serialize().unwrap();
    let other = Engine::new(&config).unwrap();
    Module::new(
        &other,
        "(module (type (struct (field i64) (field f32))) (type (array i8)))",
    )
    .unwrap();
    for engine in [engine, other] {
        // SAFETY: the bytes were just serialized by an engine of this build
        // and configuration.
        let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
        let mut store = Store::new(&engine, ());
        let inst = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let run = inst
            .get_typed_func::<(i32, i32), i32>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, (10, 10)).unwrap(), 11 * tree_sum(10));
        assert!(store.gc_collections() > 0);
    }
}

#[test]
fn typed_functions_take_views_for_concrete_parameters() {
    use nyash_engine::StructRef;
    let wat = r#"(module
        (type $a (struct (field i32)))
        (type $b (struct (field i64)))
        (func (export "make_a") (result (ref $a)) (struct.new $a (i32.const 5)))
        (func (export "make_b") (result (ref $b)) (struct.new $b (i64.const 6)))
        (func (export "get") (param (ref $a)) (result i32) (struct.get $a 0 (local.get 0))))"#;
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let inst = instance(&mut store, &linker, wat);
    let make_a = inst
        .get_typed_func::<(), StructRef>(&mut store, "make_a")
        .unwrap();
    let make_b = inst
        .get_typed_func::<(), StructRef>(&mut store, "make_b")
        .unwrap();
    let get = inst
        .get_typed_func::<StructRef, i32>(&mut store, "get")
        .unwrap();
    let a = make_a.call(&mut store, ()).unwrap();
    let b = make_b.call(&mut store, ()).unwrap();
    assert_eq!(get.call(&mut store, a).unwrap(), 5);
    let err = get.call(&mut store, b).unwrap_err();
    assert!(err.to_string().contains("argument 0"), "{err}");
    // A view that is not of the hierarchy is still refused up front.
    assert!(inst.get_typed_func::<i32, i32>(&mut store, "get").is_err());
}

/// Issue 21, from Kotlin/Wasm's string pool: an immutable global holding a
/// GC reference is a root the collector rewrites when its object moves, so
/// its loads must not be merged across calls or hoisted out of loops (they
/// were: `global.get` of an immutable global was a read-only load, and the
/// pool's old copy was read after a collection).
#[test]
fn immutable_global_follows_its_object() {
    const POOL: &str = r#"(module
        (type $chars (array (mut i16)))
        (type $str (struct (field (ref $chars))))
        (type $string_array (array (mut (ref null $str))))
        (global $pool (ref $string_array) (array.new_default $string_array (i32.const 64)))
        (func $lit (param $id i32) (result (ref null $str))
            (local $tmp (ref null $str))
            (block $b (result (ref null $str))
                (br_on_non_null $b (array.get $string_array (global.get $pool) (local.get $id)))
                (local.set $tmp (struct.new $str (array.new_default $chars (i32.const 10))))
                (array.set $string_array (global.get $pool) (local.get $id) (local.get $tmp))
                (local.get $tmp)))
        (func (export "run") (param $n i32) (result i32)
            (local $i i32) (local $acc i32)
            (loop $l
                (local.set $acc (i32.add (local.get $acc)
                    (array.len (struct.get $str 0 (ref.as_non_null
                        (call $lit (i32.rem_u (local.get $i) (i32.const 64))))))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $acc)))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let inst = instance(&mut store, &linker, POOL);
        let run = inst.get_typed_func::<i32, i32>(&mut store, "run").unwrap();
        // Enough allocation for the small nursery to collect too.
        let n = if name == "stress" { 1000 } else { 20_000 };
        assert_eq!(run.call(&mut store, n).unwrap(), 10 * n, "{name}");
        // A second call: the pool is full, every literal comes from it.
        assert_eq!(run.call(&mut store, n).unwrap(), 10 * n, "{name}");
        if name == "stress" {
            assert!(store.gc_collections() > 0, "{name}: no collection ran");
        }
    }
}

/// Element segments' items are evaluated at instantiation, segment by
/// segment; an item may allocate, and a collection then must see (and
/// move) the items of the segments evaluated before it. They were held in a
/// local list until every segment was done, so the first segment's objects
/// were read from their old copies.
#[test]
fn element_segment_items_survive_later_segments() {
    const SEGS: &str = r#"(module
        (type $s (struct (field i32) (field (ref null $s))))
        (table $t 4 (ref null $s))
        (elem $a (ref null $s)
            (item (struct.new $s (i32.const 11) (struct.new $s (i32.const 12) (ref.null $s))))
            (item (struct.new $s (i32.const 13) (ref.null $s))))
        (elem $b (ref null $s)
            (item (struct.new $s (i32.const 21) (struct.new $s (i32.const 22) (ref.null $s))))
            (item (struct.new $s (i32.const 23) (ref.null $s))))
        (func $v (param $i i32) (result i32)
            (struct.get $s 0 (ref.as_non_null (table.get $t (local.get $i)))))
        (func $next (param $i i32) (result i32)
            (struct.get $s 0 (ref.as_non_null
                (struct.get $s 1 (ref.as_non_null (table.get $t (local.get $i)))))))
        (func (export "run") (result i32)
            (table.init $t $a (i32.const 0) (i32.const 0) (i32.const 2))
            (table.init $t $b (i32.const 2) (i32.const 0) (i32.const 2))
            ;; 11 12 13 21 22 23 as one number, digit pairs.
            (i32.add (i32.mul (call $v (i32.const 0)) (i32.const 100000))
            (i32.add (i32.mul (call $next (i32.const 0)) (i32.const 10000))
            (i32.add (i32.mul (call $v (i32.const 1)) (i32.const 1000))
            (i32.add (i32.mul (call $v (i32.const 2)) (i32.const 100))
            (i32.add (i32.mul (call $next (i32.const 2)) (i32.const 10))
                     (call $v (i32.const 3)))))))))"#;
    for (name, engine) in engines() {
        let mut store = Store::new(&engine, ());
        let linker = Linker::new(&engine);
        let inst = instance(&mut store, &linker, SEGS);
        let run = inst.get_typed_func::<(), i32>(&mut store, "run").unwrap();
        let want = 11 * 100000 + 12 * 10000 + 13 * 1000 + 21 * 100 + 22 * 10 + 23;
        assert_eq!(run.call(&mut store, ()).unwrap(), want, "{name}");
        if name == "stress" {
            assert!(store.gc_collections() > 0, "{name}: no collection ran");
        }
    }
}
