//! Synchronous calls run on the calling thread's own stack: stack overflow
//! on big and small thread stacks, traps in nested host -> wasm -> host ->
//! wasm calls, many traps in a row, several threads at once, and synchronous
//! calls made from inside an async call (on a fiber's stack).

use std::panic::{self, AssertUnwindSafe};

use nyash_engine::{
    Caller, Config, Engine, Extern, Func, Instance, Linker, Module, Result, Store, TrapCode,
    TypedFunc,
};

const WAT: &str = r#"(module
    (import "host" "back" (func $back (param i32) (result i32)))
    (global $depth (mut i32) (i32.const 0))
    ;; Unbounded recursion; counts its depth.
    (func $rec (export "rec")
        (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
        (call $rec))
    (func (export "depth") (result i32) (global.get $depth))
    (func (export "reset") (global.set $depth (i32.const 0)))
    (func (export "add1") (param i32) (result i32)
        (i32.add (local.get 0) (i32.const 1)))
    (func $trap (export "trap") (param i32) (result i32) unreachable)
    ;; Calls the host, which calls back into this instance.
    (func (export "outer") (param i32) (result i32)
        (i32.add (call $back (local.get 0)) (i32.const 100)))
    ;; n == 0: trap; otherwise ask the host for n.
    (func (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
            (then unreachable)
            (else (call $back (local.get 0))))))"#;

/// What the `back` host function does.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum Back {
    /// Calls `trap` and returns 7 after checking the trap.
    #[default]
    CatchTrap,
    /// Calls `rec` and returns 7 after checking it overflowed.
    CatchOverflow,
    /// Calls `trap` and returns its error.
    Propagate,
    /// Calls `down(n - 1)`: its result plus one, or 1000 if it reached
    /// `unreachable`; other errors are returned.
    Down,
    /// Panics.
    Panic,
}

fn engine(max_wasm_stack: Option<usize>) -> Engine {
    let mut config = Config::new();
    if let Some(bytes) = max_wasm_stack {
        config.max_wasm_stack(bytes);
    }
    Engine::new(&config).unwrap()
}

fn typed<P: nyash_engine::WasmList, R: nyash_engine::WasmList>(
    caller: &mut Caller<'_, Back>,
    name: &str,
) -> TypedFunc<P, R> {
    let Some(Extern::Func(f)) = caller.get_export(name) else {
        panic!("no export {name}")
    };
    f.typed::<P, R>(&*caller).unwrap()
}

fn back(mut caller: Caller<'_, Back>, n: i32) -> Result<i32> {
    match *caller.data() {
        Back::CatchTrap => {
            let trap = typed::<i32, i32>(&mut caller, "trap");
            let err = trap.call(&mut caller, n).unwrap_err();
            let t = err.trap().expect("a trap");
            assert_eq!(t.code, TrapCode::UnreachableCodeReached);
            let names: Vec<_> = t.backtrace.iter().map(|f| f.func_name.clone()).collect();
            // Only the inner call's frames: the outer wasm frames are below
            // the inner entry.
            assert_eq!(names, [Some("trap".to_string())]);
            Ok(7)
        }
        Back::CatchOverflow => {
            let rec = typed::<(), ()>(&mut caller, "rec");
            let err = rec.call(&mut caller, ()).unwrap_err();
            assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow));
            Ok(7)
        }
        Back::Propagate => {
            let trap = typed::<i32, i32>(&mut caller, "trap");
            trap.call(&mut caller, n)
        }
        Back::Down => {
            let down = typed::<i32, i32>(&mut caller, "down");
            Ok(match down.call(&mut caller, n - 1) {
                Ok(v) => v + 1,
                Err(e) if e.trap_code() == Some(TrapCode::UnreachableCodeReached) => 1000,
                Err(e) => return Err(e),
            })
        }
        Back::Panic => panic!("host function panics"),
    }
}

struct Setup {
    store: Store<Back>,
    instance: Instance,
}

impl Setup {
    fn new(engine: &Engine) -> Setup {
        Setup::with_module(&Module::new(engine, WAT).unwrap())
    }

    fn with_module(module: &Module) -> Setup {
        let engine = module.engine();
        let mut linker: Linker<Back> = Linker::new(engine);
        linker.func_wrap("host", "back", back).unwrap();
        let mut store = Store::new(engine, Back::default());
        let instance = linker.instantiate(&mut store, module).unwrap();
        Setup { store, instance }
    }

    fn func<P: nyash_engine::WasmList, R: nyash_engine::WasmList>(
        &mut self,
        name: &str,
    ) -> TypedFunc<P, R> {
        self.instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap()
    }

    fn add1(&mut self, x: i32) -> Result<i32> {
        let f = self.func::<i32, i32>("add1");
        f.call(&mut self.store, x)
    }

    /// Runs `rec` to overflow and returns the depth it reached.
    fn overflow_depth(&mut self) -> i32 {
        let reset = self.func::<(), ()>("reset");
        let rec = self.func::<(), ()>("rec");
        let depth = self.func::<(), i32>("depth");
        reset.call(&mut self.store, ()).unwrap();
        let err = rec.call(&mut self.store, ()).unwrap_err();
        assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow), "{err}");
        depth.call(&mut self.store, ()).unwrap()
    }
}

#[test]
fn overflow_on_the_test_thread_then_the_thread_goes_on() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    let first = s.overflow_depth();
    assert!(first > 1000, "only {first} frames before overflow");
    for i in 0..3 {
        assert_eq!(s.add1(i).unwrap(), i + 1);
        // The same budget each time: nothing is left over from the last one.
        assert_eq!(s.overflow_depth(), first);
    }
}

#[test]
fn max_wasm_stack_bounds_the_depth() {
    let mut small = Setup::new(&engine(Some(64 << 10)));
    let mut big = Setup::new(&engine(Some(1 << 20)));
    let (small, big) = (small.overflow_depth(), big.overflow_depth());
    assert!(small > 100, "{small}");
    // 16 times the budget: at least 8 times the depth.
    assert!(
        big > small * 8,
        "{small} frames with 64 KiB, {big} with 1 MiB"
    );
}

#[test]
fn overflow_on_small_thread_stacks() {
    let engine = engine(None);
    // Compiled here: the compiler needs more stack than these threads have.
    let module = Module::new(&engine, WAT).unwrap();
    for kib in [256usize, 160, 96, 64] {
        let module = module.clone();
        let outcome = std::thread::Builder::new()
            .stack_size(kib << 10)
            .spawn(move || {
                let mut s = Setup::with_module(&module);
                let mut overflowed = 0;
                for i in 0..3 {
                    let reset = s.func::<(), ()>("reset");
                    let rec = s.func::<(), ()>("rec");
                    reset.call(&mut s.store, ()).unwrap_or(());
                    let err = rec.call(&mut s.store, ()).unwrap_err();
                    assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow), "{err}");
                    overflowed += 1;
                    // A leaf call either works or, on a stack too small to
                    // leave room for host functions, is refused cleanly.
                    match s.add1(i) {
                        Ok(v) => assert_eq!(v, i + 1),
                        Err(e) => assert_eq!(e.trap_code(), Some(TrapCode::StackOverflow)),
                    }
                }
                overflowed
            })
            .unwrap()
            .join();
        assert_eq!(outcome.unwrap(), 3, "thread with a {kib} KiB stack");
    }
}

/// Uses about `bytes` of stack, then runs `f`.
#[inline(never)]
fn with_stack_used<R>(bytes: usize, f: &mut dyn FnMut() -> R) -> R {
    let pad = [0u8; 4096];
    std::hint::black_box(&pad);
    if bytes <= 4096 {
        f()
    } else {
        let r = with_stack_used(bytes - 4096, f);
        std::hint::black_box(&pad);
        r
    }
}

#[test]
fn deep_host_stack_leaves_wasm_a_clean_overflow() {
    // The optimizing tier's code, even under `NYASH_LAZY=1`: with no stack
    // left the test still calls the frameless leaf `depth`, which the
    // baseline tier gives a frame (and so a stack check that trips).
    let mut config = Config::new();
    config.lazy_compilation(false);
    let module = Module::new(&Engine::new(&config).unwrap(), WAT).unwrap();
    let outcome = std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || {
            let mut s = Setup::with_module(&module);
            let free = s.overflow_depth();
            // With most of the thread's stack used by the host, wasm gets
            // less (or nothing) but still overflows cleanly.
            let deep = with_stack_used(400 << 10, &mut || s.overflow_depth());
            assert!(deep < free, "{deep} frames deep in the host, {free} free");
            assert_eq!(s.add1(1).unwrap(), 2);
            assert_eq!(s.overflow_depth(), free);
        })
        .unwrap()
        .join();
    outcome.unwrap();
}

#[test]
fn trap_in_inner_call_caught_by_the_host() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    let outer = s.func::<i32, i32>("outer");
    for mode in [Back::CatchTrap, Back::CatchOverflow] {
        *s.store.data_mut() = mode;
        for i in 0..3 {
            assert_eq!(outer.call(&mut s.store, i).unwrap(), 107, "{mode:?}");
        }
    }
    assert_eq!(s.add1(41).unwrap(), 42);
}

#[test]
fn inner_error_returned_by_the_host_ends_the_outer_call() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    *s.store.data_mut() = Back::Propagate;
    let outer = s.func::<i32, i32>("outer");
    let err = outer.call(&mut s.store, 1).unwrap_err();
    let trap = err.trap().expect("a trap");
    assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
    *s.store.data_mut() = Back::CatchTrap;
    assert_eq!(outer.call(&mut s.store, 1).unwrap(), 107);
}

#[test]
fn traps_at_many_nesting_levels() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    *s.store.data_mut() = Back::Down;
    let down = s.func::<i32, i32>("down");
    // down(1) traps inside, the host turns that into 1000; each level above
    // adds one.
    assert_eq!(down.call(&mut s.store, 1).unwrap(), 1000);
    assert_eq!(down.call(&mut s.store, 50).unwrap(), 1049);
    assert_eq!(
        down.call(&mut s.store, 0).unwrap_err().trap_code(),
        Some(TrapCode::UnreachableCodeReached)
    );
    assert_eq!(s.add1(1).unwrap(), 2);
}

#[test]
fn deep_nesting_runs_out_of_stack_cleanly() {
    let engine = engine(Some(256 << 10));
    let mut s = Setup::new(&engine);
    *s.store.data_mut() = Back::Down;
    let down = s.func::<i32, i32>("down");
    // The whole chain, host frames included, shares the budget of the
    // outermost call, so some level overflows; every host level passes the
    // error on.
    let err = down.call(&mut s.store, 100_000).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow), "{err}");
    assert_eq!(down.call(&mut s.store, 3).unwrap(), 1002);
}

#[test]
fn panic_in_a_nested_host_function_reaches_the_caller() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    *s.store.data_mut() = Back::Panic;
    let outer = s.func::<i32, i32>("outer");
    let r = panic::catch_unwind(AssertUnwindSafe(|| outer.call(&mut s.store, 1)));
    assert!(r.is_err(), "the panic came through");
    *s.store.data_mut() = Back::CatchTrap;
    assert_eq!(outer.call(&mut s.store, 1).unwrap(), 107);
    assert_eq!(s.overflow_depth(), s.overflow_depth());
}

#[test]
fn a_hundred_thousand_traps_in_a_row() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    let free = s.overflow_depth();
    let trap = s.func::<i32, i32>("trap");
    for i in 0..100_000 {
        let err = trap.call(&mut s.store, i).unwrap_err();
        assert_eq!(err.trap_code(), Some(TrapCode::UnreachableCodeReached));
    }
    assert_eq!(s.add1(1).unwrap(), 2);
    assert_eq!(s.overflow_depth(), free);
}

#[test]
fn several_threads_at_once() {
    let engine = engine(None);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut s = Setup::new(&engine);
                let trap = s.func::<i32, i32>("trap");
                let outer = s.func::<i32, i32>("outer");
                let free = s.overflow_depth();
                for i in 0..2000 {
                    assert_eq!(s.add1(i).unwrap(), i + 1);
                    assert_eq!(
                        trap.call(&mut s.store, i).unwrap_err().trap_code(),
                        Some(TrapCode::UnreachableCodeReached)
                    );
                    assert_eq!(outer.call(&mut s.store, i).unwrap(), 107);
                    if i % 250 == t {
                        assert_eq!(s.overflow_depth(), free);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn sync_calls_from_inside_an_async_call() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker: Linker<Back> = Linker::new(&engine);
    linker.func_wrap("host", "back", back).unwrap();
    let mut store = Store::new(&engine, Back::CatchOverflow);
    let instance =
        futures::executor::block_on(linker.instantiate_async(&mut store, &module)).unwrap();
    let outer = instance
        .get_typed_func::<i32, i32>(&mut store, "outer")
        .unwrap();
    // The host function runs on the async call's fiber; the sync calls it
    // makes (overflowing, trapping, nesting) use that fiber's stack.
    for mode in [Back::CatchOverflow, Back::CatchTrap, Back::Down] {
        *store.data_mut() = mode;
        let r = futures::executor::block_on(outer.call_async(&mut store, 5)).unwrap();
        let expected = if mode == Back::Down { 1004 + 100 } else { 107 };
        assert_eq!(r, expected, "{mode:?}");
    }
    // And a plain sync call of the same store afterwards.
    *store.data_mut() = Back::CatchOverflow;
    assert_eq!(outer.call(&mut store, 1).unwrap(), 107);
}

#[test]
fn sync_call_from_an_async_host_function() {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let mut linker: Linker<Back> = Linker::new(&engine);
    linker
        .func_wrap_async(
            "host",
            "back",
            |mut caller: Caller<'_, Back>, (n,): (i32,)| {
                Box::new(async move {
                    let rec = typed::<(), ()>(&mut caller, "rec");
                    let err = rec.call(&mut caller, ()).unwrap_err();
                    assert_eq!(err.trap_code(), Some(TrapCode::StackOverflow));
                    let add1 = typed::<i32, i32>(&mut caller, "add1");
                    add1.call(&mut caller, n)
                })
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, Back::default());
    futures::executor::block_on(async {
        let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
        let outer = instance
            .get_typed_func::<i32, i32>(&mut store, "outer")
            .unwrap();
        for i in 0..3 {
            assert_eq!(outer.call_async(&mut store, i).await.unwrap(), i + 101);
        }
    });
}

#[test]
fn dynamic_calls_nest_too() {
    let engine = engine(None);
    let mut s = Setup::new(&engine);
    let outer: Func = s.instance.get_func(&mut s.store, "outer").unwrap();
    let mut results = [nyash_engine::Val::I32(0)];
    outer
        .call(&mut s.store, &[nyash_engine::Val::I32(3)], &mut results)
        .unwrap();
    assert_eq!(results[0], nyash_engine::Val::I32(107));
}
