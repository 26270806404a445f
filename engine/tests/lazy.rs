//! Lazy compilation: each function compiles on its first call, through a
//! stub and the resolver (`nyash_aot::lazy`, `runtime/lazy.rs`). Only the
//! functions a run reaches are compiled; every way of reaching a function
//! (direct and tail calls, tables, `call_ref`, exports) works; arguments
//! in every register class and on the stack, and results through a return
//! area, survive the resolver; traps and backtraces are those of eager
//! code; threads that call the same cold function at once all get its one
//! placed copy; invalid bodies are still errors up front.
//!
//! The stubs exist on x86-64 only; elsewhere a lazy engine compiles modules
//! whole with the baseline tier and `lazily_compiled` is `None`.

use nyash_engine::{Config, Engine, ErrorKind, Instance, Module, Store, TrapCode};

/// A lazy engine whose functions compile only when called (no compiling
/// ahead), so the counts of compiled functions are exact.
fn lazy_engine() -> Engine {
    lazy_engine_ahead(0)
}

fn lazy_engine_ahead(threads: usize) -> Engine {
    let mut config = Config::new();
    config
        .lazy_compilation(true)
        .lazy_compile_ahead(threads)
        .cache(false);
    Engine::new(&config).unwrap()
}

fn eager_engine() -> Engine {
    let mut config = Config::new();
    config.lazy_compilation(false).cache(false);
    Engine::new(&config).unwrap()
}

const LAZY: bool = cfg!(target_arch = "x86_64");

/// Calls, in every form, to functions with many arguments of every class
/// (more than the argument registers, so some go on the stack) and more
/// results than return registers (a return area).
const CALLS: &str = r#"(module
    (type $wide (func (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 v128 i32 i32 i32 i32)
                      (result i64 f64 i32 i64 f64 i32 i64 f64 i32 i64 f64)))
    (type $i2i (func (param i32) (result i32)))
    (table $t 4 funcref)
    (elem (table $t) (i32.const 0) func $wide $leaf $tail_target $never)
    (func $wide (type $wide)
        (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))
        (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))
        (i32.add (local.get 4) (i32.add (local.get 13) (local.get 16)))
        (i64.add (local.get 5) (i64.extend_i32_s (i32x4.extract_lane 3 (local.get 12))))
        (f64.add (f64.promote_f32 (local.get 6)) (local.get 7))
        (i32.mul (local.get 8) (local.get 14))
        (local.get 9)
        (f64.promote_f32 (local.get 10))
        (local.get 15)
        (i64.const 7)
        (local.get 11))
    (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
    (func $tail_target (param i32) (result i32) (i32.add (local.get 0) (i32.const 100)))
    (func $never (param i32) (result i32) (unreachable))
    (func $sum (param $r0 i64) (param $r1 f64) (param $r2 i32) (param $r3 i64) (param $r4 f64)
               (param $r5 i32) (param $r6 i64) (param $r7 f64) (param $r8 i32) (param $r9 i64)
               (param $r10 f64) (result f64)
        (f64.add (f64.convert_i64_s (local.get $r0))
        (f64.add (local.get $r1)
        (f64.add (f64.convert_i32_s (local.get $r2))
        (f64.add (f64.convert_i64_s (local.get $r3))
        (f64.add (local.get $r4)
        (f64.add (f64.convert_i32_s (local.get $r5))
        (f64.add (f64.convert_i64_s (local.get $r6))
        (f64.add (local.get $r7)
        (f64.add (f64.convert_i32_s (local.get $r8))
        (f64.add (f64.convert_i64_s (local.get $r9)) (local.get $r10))))))))))))
    (func $args (result i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 v128 i32 i32 i32 i32)
        (i32.const 1) (i64.const 2) (f32.const 3) (f64.const 4) (i32.const 5) (i64.const 6)
        (f32.const 7) (f64.const 8) (i32.const 9) (i64.const 10) (f32.const 11) (f64.const 12)
        (v128.const i32x4 0 0 0 13) (i32.const 14) (i32.const 15) (i32.const 16) (i32.const 17))
    (func (export "direct") (result f64)
        (call $sum (call $wide (call $args))))
    (func (export "indirect") (result f64)
        (call $sum (call_indirect $t (type $wide) (call $args) (i32.const 0))))
    (func (export "via_ref") (param i32) (result i32)
        (call_ref $i2i (local.get 0) (ref.func $leaf)))
    (func (export "tail") (param i32) (result i32)
        (return_call $tail_target (local.get 0)))
    (func (export "table") (param i32 i32) (result i32)
        (call_indirect $t (param i32) (result i32) (local.get 0) (local.get 1)))
    (func (export "leaf") (param i32) (result i32) (call $leaf (local.get 0)))
    (elem declare func $leaf))"#;

/// The value of "direct" and "indirect": the sum of `$wide`'s results.
fn expected_sum() -> f64 {
    (1.0 + 2.0)
        + (3.0 + 4.0)
        + (5.0 + 14.0 + 17.0)
        + (6.0 + 13.0)
        + (7.0 + 8.0)
        + 9.0 * 15.0
        + 10.0
        + 11.0
        + 16.0
        + 7.0
        + 12.0
}

#[test]
fn only_called_functions_compile_and_every_call_form_works() {
    let engine = lazy_engine();
    let module = Module::new(&engine, CALLS).unwrap();
    if LAZY {
        assert_eq!(
            module.lazily_compiled(),
            Some(0),
            "nothing runs before a call"
        );
    }
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let leaf = instance
        .get_typed_func::<i32, i32>(&mut store, "leaf")
        .unwrap();
    assert_eq!(leaf.call(&mut store, 5).unwrap(), 15);
    if LAZY {
        // The export and `$leaf`.
        assert_eq!(module.lazily_compiled(), Some(2));
    }
    let direct = instance
        .get_typed_func::<(), f64>(&mut store, "direct")
        .unwrap();
    let indirect = instance
        .get_typed_func::<(), f64>(&mut store, "indirect")
        .unwrap();
    assert_eq!(direct.call(&mut store, ()).unwrap(), expected_sum());
    assert_eq!(indirect.call(&mut store, ()).unwrap(), expected_sum());
    // Again, now through compiled code.
    assert_eq!(direct.call(&mut store, ()).unwrap(), expected_sum());
    let via_ref = instance
        .get_typed_func::<i32, i32>(&mut store, "via_ref")
        .unwrap();
    assert_eq!(via_ref.call(&mut store, 7).unwrap(), 21);
    let tail = instance
        .get_typed_func::<i32, i32>(&mut store, "tail")
        .unwrap();
    assert_eq!(tail.call(&mut store, 1).unwrap(), 101);
    let table = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "table")
        .unwrap();
    assert_eq!(table.call(&mut store, (2, 2)).unwrap(), 102);
    if LAZY {
        // Every function but `$never`.
        assert_eq!(module.lazily_compiled(), Some(11));
    }
    // A trap in a function compiled on the spot, with its backtrace.
    let err = table.call(&mut store, (1, 3)).unwrap_err();
    let trap = err.trap().expect("a trap");
    assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
    let frames: Vec<u32> = trap.backtrace.iter().map(|f| f.func_index).collect();
    assert_eq!(frames, [3, 10], "{err}");
    if LAZY {
        assert_eq!(module.lazily_compiled(), Some(12));
    }
    // The same results as eager code.
    let eager = Module::new(&eager_engine(), CALLS).unwrap();
    let mut store = Store::new(eager.engine(), ());
    let instance = Instance::new(&mut store, &eager, &[]).unwrap();
    let direct = instance
        .get_typed_func::<(), f64>(&mut store, "direct")
        .unwrap();
    assert_eq!(direct.call(&mut store, ()).unwrap(), expected_sum());
}

/// Threads of their own stores call the same cold functions at the same
/// moment: each function is placed once, and every thread gets its result.
#[test]
fn threads_racing_for_a_cold_function_share_one_copy() {
    const FUNCS: usize = 40;
    let mut wat = String::from("(module\n");
    for i in 0..FUNCS {
        // Each function calls the next, so a thread resolving one meets
        // others being resolved by the other threads.
        let next = if i + 1 < FUNCS {
            format!("(call $f{} (local.get 0))", i + 1)
        } else {
            "(local.get 0)".into()
        };
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32) (result i32) (i32.add {next} (i32.const {i})))\n"
        ));
    }
    wat.push(')');
    for ahead in [0, 2] {
        racing(&wat, ahead);
    }
}

/// Runs the racing threads of [`threads_racing_for_a_cold_function_share_one_copy`]
/// with `ahead` threads compiling ahead.
fn racing(wat: &str, ahead: usize) {
    const FUNCS: usize = 40;
    let engine = lazy_engine_ahead(ahead);
    let module = Module::new(&engine, wat).unwrap();
    let expected = (0..FUNCS as i32).sum::<i32>();
    let threads = 8;
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (module, barrier) = (&module, &barrier);
            s.spawn(move || {
                let mut store = Store::new(module.engine(), ());
                let instance = Instance::new(&mut store, module, &[]).unwrap();
                // Half start at the top, half in the middle of the chain.
                let start = if t % 2 == 0 { 0 } else { FUNCS / 2 };
                let f = instance
                    .get_typed_func::<i32, i32>(&mut store, &format!("f{start}"))
                    .unwrap();
                let want = (start as i32..FUNCS as i32).sum::<i32>() + 1000;
                barrier.wait();
                for _ in 0..3 {
                    assert_eq!(f.call(&mut store, 1000).unwrap(), want);
                }
            });
        }
    });
    if LAZY {
        assert_eq!(module.lazily_compiled(), Some(FUNCS));
    }
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f0 = instance
        .get_typed_func::<i32, i32>(&mut store, "f0")
        .unwrap();
    assert_eq!(f0.call(&mut store, 0).unwrap(), expected);
}

/// Validation stays up front: a module whose only invalid function is
/// never called is refused by `Module::new`, with the function named.
#[test]
fn invalid_bodies_are_errors_before_anything_runs() {
    let engine = lazy_engine();
    let err = Module::new(
        &engine,
        r#"(module
            (func (export "ok") (result i32) (i32.const 1))
            (func $bad (result i32) (i64.const 1)))"#,
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Compile(_)), "{err}");
    assert!(err.to_string().contains("bad"), "{err}");
}

/// A lazy module's artifact is the optimizing compile of the whole module:
/// it loads in an eager engine and in a lazy one.
#[test]
fn serializing_a_lazy_module_compiles_it_whole() {
    let lazy = lazy_engine();
    let module = Module::new(&lazy, CALLS).unwrap();
    let bytes = module.serialize().unwrap();
    for engine in [eager_engine(), lazy] {
        // SAFETY: the artifact was written by this test with this build.
        let m = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
        assert_eq!(m.lazily_compiled(), None);
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &m, &[]).unwrap();
        let direct = instance
            .get_typed_func::<(), f64>(&mut store, "direct")
            .unwrap();
        assert_eq!(direct.call(&mut store, ()).unwrap(), expected_sum());
    }
}

/// A module dropped with some functions compiled and others not: its code
/// leaves the trap handler's registry (a later module may be mapped at the
/// same addresses and must trap as itself).
#[test]
fn dropping_a_lazy_module_unregisters_its_code() {
    let engine = lazy_engine();
    for round in 0..20 {
        let module = Module::new(
            &engine,
            r#"(module (memory 1)
                (func $load (param i32) (result i32) (i32.load (local.get 0)))
                (func (export "run") (param i32) (result i32) (call $load (local.get 0))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, 4).unwrap(), 0);
        let err = run.call(&mut store, 1 << 20).unwrap_err();
        assert_eq!(
            err.trap().map(|t| t.code),
            Some(TrapCode::MemoryOutOfBounds),
            "round {round}: {err}"
        );
    }
}

/// `$leaf` is inlined into `$mid` and `$mid` into `$top` by the optimizing
/// tier (not by the baseline one); `$cold` is never called.
const TIERS: &str = r#"(module $tiers
    (func $leaf (param i32) (result i32) i32.const 100 local.get 0 i32.div_u)
    (func $mid (param i32) (result i32) local.get 0 call $leaf i32.const 1 i32.add)
    (func $top (export "top") (param i32) (result i32)
        local.get 0 call $mid local.get 0 call $mid i32.add)
    (func $cold (export "cold") (result i32) i32.const 7))"#;

/// Calls `top` of a fresh instance: its result for 5 and the backtrace of
/// its trap for 0 (function names, innermost first).
fn top_and_backtrace(module: &Module) -> (i32, Vec<String>) {
    let mut store = Store::new(module.engine(), ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let top = instance
        .get_typed_func::<i32, i32>(&mut store, "top")
        .unwrap();
    let v = top.call(&mut store, 5).unwrap();
    let err = top.call(&mut store, 0).unwrap_err();
    let trap = err.trap().expect("a trap");
    assert_eq!(trap.code, TrapCode::IntegerDivisionByZero);
    let names = trap
        .backtrace
        .iter()
        .map(|f| f.func_name.clone().unwrap_or_default())
        .collect();
    (v, names)
}

/// Waits (at most two minutes) for a lazy module to move to its optimized
/// code.
fn wait_for_tier_up(module: &Module) {
    let start = std::time::Instant::now();
    while !module.tiered_up() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "no tier-up"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn cache_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("nyash-lazy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Tier-up: when the background compile has filled the cache, the running
/// lazy module moves to the optimized code: calls give the same results,
/// backtraces show the frames of functions the optimized code inlined,
/// and a function never called is not compiled lazily any more. Both ways
/// the optimized artifact arrives: from this process's background compile,
/// and from the cache filled by someone else (the command line's detached
/// process), which the module watches for.
#[test]
fn a_lazy_module_moves_to_optimized_code_when_it_is_ready() {
    if !LAZY {
        return;
    }
    for background in [true, false] {
        let dir = cache_dir(if background { "bg" } else { "watch" });
        let wat = dir.join("m.wat");
        std::fs::write(&wat, TIERS).unwrap();
        let mut config = Config::new();
        config
            .lazy_compilation(true)
            .lazy_compile_ahead(0)
            .lazy_background_compile(background)
            .cache(true)
            .cache_dir(dir.join("cache"));
        let engine = Engine::new(&config).unwrap();
        let module = Module::from_file(&engine, &wat).unwrap();
        let (v, names) = top_and_backtrace(&module);
        assert_eq!(v, 2 * (20 + 1));
        assert_eq!(names, ["leaf", "mid", "top"]);
        assert_eq!(module.lazily_compiled(), Some(3));
        if !background {
            assert!(!module.tiered_up());
            let cache = nyash_engine::cache::Cache::new(&config).unwrap();
            cache.fill(&engine, TIERS.as_bytes()).unwrap();
        }
        wait_for_tier_up(&module);
        let (v, names) = top_and_backtrace(&module);
        assert_eq!(v, 2 * (20 + 1), "background {background}");
        assert_eq!(names, ["leaf", "mid", "top"], "background {background}");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let cold = instance
            .get_typed_func::<(), i32>(&mut store, "cold")
            .unwrap();
        assert_eq!(cold.call(&mut store, ()).unwrap(), 7);
        assert_eq!(module.lazily_compiled(), Some(3), "background {background}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
