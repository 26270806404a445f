//! Exception handling (the final proposal: tags, `throw`, `throw_ref`,
//! `try_table`, `exnref`) through the API: uncaught exceptions reaching the
//! host, host functions throwing into wasm, exnrefs crossing the API, async
//! calls, fuel, inlining. (Throwing and catching within wasm, tag identity
//! across modules, deep throws, stack arguments around try calls:
//! tests/wast/exceptions/.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nyash_engine::{
    Caller, Config, Engine, Exception, Extern, FuncType, Instance, Linker, Module, Store, Tag,
    TagType, TrapCode, Val, ValType,
};

fn engine_with(f: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    f(&mut config);
    Engine::new(&config).unwrap()
}

fn instance(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

fn call(store: &mut Store<()>, instance: Instance, name: &str, args: &[Val]) -> Vec<Val> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let ty = f.ty(&*store);
    let mut out: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    f.call(&mut *store, args, &mut out)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    out
}

const BASICS: &str = r#"(module
    (tag $e (export "e") (param i32))
    (tag $f (param i64 f64))
    (func $thrower (param i32)
        (if (local.get 0) (then (throw $e (local.get 0)))))
    (func (export "catch_direct") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (throw $e (local.get 0)))
            (i32.const -1)))
    (func (export "catch_call") (param i32) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (call $thrower (local.get 0)))
            (i32.const -1)))
    (func (export "catch_all") (param i32) (result i32)
        (block $h
            (try_table (catch_all $h)
                (call $thrower (local.get 0)))
            (return (i32.const 0)))
        (i32.const 1))
    (func (export "other_tag") (result i32)
        (block $h (result i32)
            (try_table (catch $e $h) (throw $f (i64.const 7) (f64.const 2.5)))
            (unreachable)))
    (func (export "two") (result i64 f64)
        (block $h (result i64 f64)
            (block $h2 (result i32)
                (try_table (result i32) (catch $e $h2) (catch $f $h)
                    (throw $f (i64.const 7) (f64.const 2.5))))
            (drop)
            (unreachable)))
    (func (export "uncaught") (param i32)
        (call $thrower (local.get 0)))
    (func (export "trap_not_caught") (result i32)
        (block $h
            (try_table (catch_all $h)
                (unreachable)))
        (i32.const 1))
)"#;

#[test]
fn uncaught_exception_reaches_the_host_with_tag_and_payload() {
    let engine = Engine::default();
    let (mut store, inst) = instance(&engine, BASICS);
    let f = inst.get_func(&mut store, "uncaught").unwrap();
    let err = f.call(&mut store, &[Val::I32(42)], &mut []).unwrap_err();
    assert!(err.trap().is_none(), "{err}");
    let exc = err.exception().expect("an exception, not a trap");
    let tag = inst
        .get_export(&mut store, "e")
        .and_then(Extern::into_tag)
        .unwrap();
    assert_eq!(exc.tag(), tag);
    assert_eq!(exc.payload(), [Val::I32(42)]);
    let text = err.to_string();
    assert!(text.contains("uncaught wasm exception"), "{text}");
    assert!(
        text.contains("(tag (param i32))") && text.contains("i32 42"),
        "{text}"
    );
    // A tag the handler does not name passes through too.
    let f = inst.get_func(&mut store, "other_tag").unwrap();
    let mut out = [Val::I32(0)];
    let err = f.call(&mut store, &[], &mut out).unwrap_err();
    let exc = err.exception().expect("an exception");
    assert_eq!(exc.payload(), [Val::I64(7), Val::F64(2.5f64.to_bits())]);
    // The store is fine afterwards.
    assert_eq!(
        call(&mut store, inst, "catch_call", &[Val::I32(9)]),
        [Val::I32(9)]
    );
}

/// Every value type as payload: thrown, caught in wasm (the handler
/// returns the values), and uncaught (the host gets them).
const ALL_TYPES: &str = r#"(module
    (tag $all (export "all") (param i32 i64 f32 f64 v128 funcref externref))
    (func $f (export "f"))
    (elem declare func $f)
    (func $throw (param i32 i64 f32 f64 v128 funcref externref)
        (throw $all (local.get 0) (local.get 1) (local.get 2) (local.get 3)
            (local.get 4) (local.get 5) (local.get 6)))
    (func (export "roundtrip") (param i32 i64 f32 f64 v128 funcref externref)
        (result i32 i64 f32 f64 v128 funcref externref)
        (block $h (result i32 i64 f32 f64 v128 funcref externref)
            (try_table (catch $all $h)
                (call $throw (local.get 0) (local.get 1) (local.get 2) (local.get 3)
                    (local.get 4) (local.get 5) (local.get 6)))
            (unreachable)))
    (func (export "uncaught") (param i32 i64 f32 f64 v128 funcref externref)
        (call $throw (local.get 0) (local.get 1) (local.get 2) (local.get 3)
            (local.get 4) (local.get 5) (local.get 6)))
)"#;

fn all_types_args(store: &mut Store<()>, inst: Instance) -> Vec<Val> {
    let f = inst.get_func(&mut *store, "f").unwrap();
    let ext = nyash_engine::ExternRef::new(&mut *store, 77u32);
    vec![
        Val::I32(-3),
        Val::I64(1 << 40),
        Val::F32(1.5f32.to_bits()),
        Val::F64((-0.25f64).to_bits()),
        Val::V128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
        Val::FuncRef(Some(f)),
        Val::ExternRef(Some(ext)),
    ]
}

#[test]
fn payload_of_every_value_type() {
    let engine = Engine::default();
    let (mut store, inst) = instance(&engine, ALL_TYPES);
    let args = all_types_args(&mut store, inst);
    let got = call(&mut store, inst, "roundtrip", &args);
    assert_eq!(got, args);
    // Nulls too.
    let mut nulls = args.clone();
    nulls[5] = Val::FuncRef(None);
    nulls[6] = Val::ExternRef(None);
    assert_eq!(call(&mut store, inst, "roundtrip", &nulls), nulls);

    let f = inst.get_func(&mut store, "uncaught").unwrap();
    let err = f.call(&mut store, &args, &mut []).unwrap_err();
    let exc = err.exception().expect("an exception");
    assert_eq!(exc.payload(), &args[..]);
    assert_eq!(Some(exc.tag()), inst.get_tag(&mut store, "all"));
    let Val::ExternRef(Some(r)) = exc.payload()[6] else {
        panic!("externref payload")
    };
    assert_eq!(r.data(&store).downcast_ref::<u32>(), Some(&77));
    // The exnref gives the same view.
    assert_eq!(exc.exnref().payload(&mut store), args);
    assert_eq!(exc.exnref().tag(&store), exc.tag());
}

/// exnrefs crossing the API (catch_ref and throw_ref within wasm are
/// tests/wast/exceptions/throw_ref.wast).
const REFS: &str = r#"(module
    (tag $e (export "e") (param i32))
    (func $thrower (param i32) (throw $e (local.get 0)))
    ;; catch_all_ref hands the exception to the host.
    (func (export "capture") (param i32) (result exnref)
        (block $h (result exnref)
            (try_table (catch_all_ref $h)
                (call $thrower (local.get 0)))
            (unreachable)))
    (func (export "rethrow_from_host") (param exnref)
        (throw_ref (local.get 0)))
    (func (export "catch_passed") (param exnref) (result i32)
        (block $h (result i32)
            (try_table (catch $e $h)
                (throw_ref (local.get 0)))
            (unreachable)))
)"#;

#[test]
fn catch_ref_and_throw_ref() {
    let engine = Engine::default();
    let (mut store, inst) = instance(&engine, REFS);
    let got = call(&mut store, inst, "capture", &[Val::I32(8)]);
    let Val::ExnRef(Some(exn)) = got[0] else {
        panic!("an exnref, got {got:?}")
    };
    assert_eq!(exn.payload(&mut store), [Val::I32(8)]);
    // Back into wasm: rethrown uncaught, it is the same exception object.
    let f = inst.get_func(&mut store, "rethrow_from_host").unwrap();
    let err = f
        .call(&mut store, &[Val::ExnRef(Some(exn))], &mut [])
        .unwrap_err();
    let exc = err.exception().expect("an exception");
    assert_eq!(exc.exnref(), exn);
    assert_eq!(exc.payload(), [Val::I32(8)]);
    // Or caught there.
    assert_eq!(
        call(&mut store, inst, "catch_passed", &[Val::ExnRef(Some(exn))]),
        [Val::I32(8)]
    );
}

const HOSTS: &str = r#"(module
    (import "host" "tag" (tag $h (param i32 i64)))
    (import "host" "throw" (func $host_throw (param i32)))
    (import "host" "fail" (func $host_fail))
    (import "host" "reenter" (func $reenter (param i32)))
    (tag $e (export "e") (param i32))
    (func (export "catch_host") (param i32) (result i32 i64)
        (block $c (result i32 i64)
            (try_table (catch $h $c)
                (call $host_throw (local.get 0)))
            (unreachable)))
    (func (export "host_error_not_caught") (result i32)
        (block $c
            (try_table (catch_all $c)
                (call $host_fail)))
        (i32.const 1))
    (func (export "inner") (param i32)
        (if (local.get 0) (then (throw $e (local.get 0)))))
    ;; wasm -> host -> wasm (throws, not caught there) -> host passes the
    ;; error on -> caught here.
    (func (export "outer") (param i32) (result i32)
        (block $c (result i32)
            (try_table (catch $e $c)
                (call $reenter (local.get 0)))
            (i32.const -1)))
)"#;

fn host_linker(engine: &Engine, store: &mut Store<()>, tag: Tag) -> Linker<()> {
    let mut linker = Linker::new(engine);
    linker.define("host", "tag", tag).unwrap();
    linker
        .func_new(
            "host",
            "throw",
            FuncType {
                params: vec![ValType::I32],
                results: vec![],
            },
            move |mut caller, args, _| {
                let x = args[0].i32().unwrap();
                Err(Exception::new(&mut caller, tag, &[Val::I32(x), Val::I64(-1)])?.into())
            },
        )
        .unwrap();
    linker
        .func_wrap(
            "host",
            "fail",
            |_: Caller<'_, ()>| -> nyash_engine::Result<()> {
                Err(nyash_engine::Error::msg("host failure"))
            },
        )
        .unwrap();
    linker
        .func_new(
            "host",
            "reenter",
            FuncType {
                params: vec![ValType::I32],
                results: vec![],
            },
            |mut caller, args, _| {
                let inner = caller
                    .get_export("inner")
                    .and_then(Extern::into_func)
                    .unwrap();
                let r = inner.call(&mut caller, args, &mut []);
                if let Err(e) = &r {
                    // The host sees the inner call's exception...
                    assert!(e.exception().is_some(), "{e}");
                }
                // ...and passes it on.
                r
            },
        )
        .unwrap();
    let _ = store;
    linker
}

#[test]
fn host_functions_throw_into_wasm() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &TagType::new([ValType::I32, ValType::I64])).unwrap();
    assert_eq!(tag.ty(&store).params(), [ValType::I32, ValType::I64]);
    let linker = host_linker(&engine, &mut store, tag);
    let module = Module::new(&engine, HOSTS).unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(
        call(&mut store, inst, "catch_host", &[Val::I32(4)]),
        [Val::I32(4), Val::I64(-1)]
    );
    // A host error is not an exception: catch_all does not catch it.
    let f = inst.get_func(&mut store, "host_error_not_caught").unwrap();
    let err = f.call(&mut store, &[], &mut [Val::I32(0)]).unwrap_err();
    assert!(err.to_string().contains("host failure"), "{err}");
    assert!(err.exception().is_none());
    // Across host frames.
    assert_eq!(
        call(&mut store, inst, "outer", &[Val::I32(6)]),
        [Val::I32(6)]
    );
    assert_eq!(
        call(&mut store, inst, "outer", &[Val::I32(0)]),
        [Val::I32(-1)]
    );
    // A payload that does not fit the tag is an error, not an exception.
    assert!(Exception::new(&mut store, tag, &[Val::I32(1)]).is_err());
}

/// The shape clang gives C++ exceptions in the final form: every frame
/// with a destructor to run is a cleanup pad (`catch_all_ref`, the cleanup,
/// `throw_ref` of the same exnref), frames are reached by direct calls,
/// `call_indirect` (function pointers, virtual calls) and small inlinable
/// helpers, and only a frame far up catches the tag. Each pad counts
/// itself; the catcher sees the thrown payload after every pad ran, with
/// inlining on and off (and lazily, in the `NYASH_LAZY=1` run).
#[test]
fn cleanup_pads_rethrow_through_indirect_calls_to_a_far_catch() {
    let wat = r#"(module
        (type $v_i (func (param i32)))
        (tag $cpp (param i32))
        (global $pads (mut i32) (i32.const 0))
        (table 2 funcref)
        (elem (i32.const 0) $level $leaf)
        (func $pad (global.set $pads (i32.add (global.get $pads) (i32.const 1))))
        (func $leaf (param i32)
            (block $cleanup (result exnref)
                (try_table (catch_all_ref $cleanup)
                    (throw $cpp (i32.add (i32.const 1000) (local.get 0))))
                (return))
            (call $pad)
            (throw_ref))
        ;; level n: a cleanup pad around a call of level n-1, every third
        ;; one through the table, the last one to the leaf.
        (func $level (param $n i32)
            (block $cleanup (result exnref)
                (try_table (catch_all_ref $cleanup)
                    (if (i32.eqz (local.get $n))
                        (then (call_indirect (type $v_i) (local.get $n) (i32.const 1)))
                        (else
                            (if (i32.rem_u (local.get $n) (i32.const 3))
                                (then (call $level (i32.sub (local.get $n) (i32.const 1))))
                                (else (call_indirect (type $v_i)
                                    (i32.sub (local.get $n) (i32.const 1)) (i32.const 0)))))))
                (return))
            (call $pad)
            (throw_ref))
        (func (export "run") (param i32) (result i32)
            (global.set $pads (i32.const 0))
            (block $h (result i32)
                (try_table (catch $cpp $h)
                    (call $level (local.get 0))
                    (return (i32.const -1)))
                (unreachable))
            ;; payload * 10000 + pads
            (i32.add (i32.mul (i32.const 10000)) (global.get $pads))))"#;
    for inlining in [true, false] {
        let engine = engine_with(|c| {
            c.inlining(inlining);
        });
        let (mut store, inst) = instance(&engine, wat);
        for n in [0, 1, 2, 3, 50, 500] {
            // n + 1 levels and the leaf each run their pad.
            assert_eq!(
                call(&mut store, inst, "run", &[Val::I32(n)]),
                [Val::I32(1000 * 10000 + n + 2)],
                "depth {n}, inlining {inlining}"
            );
        }
    }
}

#[test]
fn inlining_on_and_off_agree() {
    // $small throws; called inside a try_table (a `try_call`, never
    // inlined) and outside one, where it is inlined with inlining on: the
    // uncaught exception of the inlined body reaches the host the same way.
    // $small calls the host's probe, which notes how deep in the native
    // stack it runs: with $small inlined into `outside`, one frame less.
    let wat = r#"(module
        (import "host" "probe" (func $probe))
        (tag $e (param i32))
        (func $small (param i32) (result i32)
            (call $probe)
            (if (i32.gt_s (local.get 0) (i32.const 10)) (then (throw $e (local.get 0))))
            (i32.add (local.get 0) (i32.const 1)))
        (func (export "run") (param i32) (result i32)
            (local $acc i32)
            (block $h (result i32)
                (try_table (catch $e $h)
                    (local.set $acc (call $small (local.get 0)))
                    (local.set $acc (i32.add (local.get $acc) (call $small (local.get $acc))))
                    (return (local.get $acc)))
                (unreachable))
            (i32.mul (i32.const -1)))
        (func (export "outside") (param i32) (result i32)
            (call $small (local.get 0))))"#;
    let run = |inlining: bool| {
        // Eager whatever NYASH_LAZY says: lazy code inlines only after
        // tier-up.
        let engine = engine_with(|c| {
            c.inlining(inlining).lazy_compilation(false);
        });
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let probe = Arc::new(AtomicUsize::new(0));
        let seen = probe.clone();
        linker
            .func_wrap(
                "host",
                "probe",
                move |_: Caller<'_, ()>| -> nyash_engine::Result<()> {
                    seen.store(nyash_test_util::stack_address(), Ordering::Relaxed);
                    Ok(())
                },
            )
            .unwrap();
        let inst = linker.instantiate(&mut store, &module).unwrap();
        let mut out = Vec::new();
        let mut depth = 0;
        for x in [0, 5, 9, 10, 11, 50] {
            out.push(call(&mut store, inst, "run", &[Val::I32(x)]));
            let f = inst.get_func(&mut store, "outside").unwrap();
            let mut r = [Val::I32(0)];
            let base = nyash_test_util::stack_address();
            let res = f.call(&mut store, &[Val::I32(x)], &mut r);
            depth = base - probe.load(Ordering::Relaxed);
            out.push(match res {
                Ok(()) => r.to_vec(),
                Err(e) => e
                    .exception()
                    .map(|e| e.payload().to_vec())
                    .unwrap_or_default(),
            });
        }
        (out, depth)
    };
    let (on, depth_on) = run(true);
    let (off, depth_off) = run(false);
    assert_eq!(on, off);
    assert_eq!(on[0], [Val::I32(3)]); // 0 -> 1, then 1 + 2
    assert_eq!(on[6], [Val::I32(-11)]); // 10 -> 11 -> throws 11
    assert_eq!(on[11], [Val::I32(50)]); // outside(50) throws 50
    // $small's frame is gone from under the probe: it was inlined.
    assert!(
        depth_on + 16 <= depth_off,
        "the probe in $small ran {depth_on} bytes deep with inlining, {depth_off} without: \
         $small was not inlined into `outside`"
    );
}

#[test]
fn exceptions_can_be_turned_off_and_legacy_form_is_unsupported() {
    let engine = engine_with(|c| {
        c.wasm_exceptions(false);
    });
    let err = Module::new(&engine, r#"(module (tag))"#).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            nyash_engine::ErrorKind::Compile(nyash_engine::CompileError::Invalid { .. })
        ),
        "{err}"
    );
    let engine = Engine::default();
    // (module (func try end)), in the binary form (legacy `try` = 0x06).
    let legacy: &[u8] = &[
        0, b'a', b's', b'm', 1, 0, 0, 0, // header
        1, 4, 1, 0x60, 0, 0, // type section: (func)
        3, 2, 1, 0, // function section
        10, 7, 1, 5, 0, 0x06, 0x40, 0x0b, 0x0b, // code: try end end
    ];
    let err = Module::new(&engine, legacy).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            nyash_engine::ErrorKind::Compile(nyash_engine::CompileError::Unsupported(_))
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("legacy exception handling"),
        "{err}"
    );
    assert!(err.to_string().contains("try_table"), "{err}");
}

/// A future that is pending once (so the fiber really suspends), then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

#[test]
fn exceptions_across_async_suspensions() {
    let engine = engine_with(|c| {
        c.async_support(true);
    });
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "tag" (tag $h (param i32)))
            (import "host" "pause" (func $pause (param i32) (result i32)))
            (import "host" "pause_then_throw" (func $pause_throw (param i32)))
            (tag $e (param i32))
            ;; Suspends inside the try_table, then throws: caught.
            (func (export "after_pause") (param i32) (result i32)
                (block $c (result i32)
                    (try_table (catch $e $c)
                        (throw $e (call $pause (local.get 0))))
                    (i32.const -1)))
            ;; The async host function throws after it suspended: caught.
            (func (export "host_throws") (param i32) (result i32)
                (block $c (result i32)
                    (try_table (catch $h $c)
                        (call $pause_throw (local.get 0)))
                    (i32.const -1)))
            ;; Uncaught after a suspension: the call's error.
            (func (export "uncaught") (param i32)
                (throw $e (call $pause (local.get 0)))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let tag = Tag::new(&mut store, &TagType::new([ValType::I32])).unwrap();
    let mut linker: Linker<u32> = Linker::new(&engine);
    linker.define("host", "tag", tag).unwrap();
    linker
        .func_wrap_async(
            "host",
            "pause",
            |mut caller: Caller<'_, u32>, (x,): (i32,)| {
                Box::new(async move {
                    YieldOnce(false).await;
                    *caller.data_mut() += 1;
                    Ok(x + 1)
                })
            },
        )
        .unwrap();
    linker
        .func_wrap_async(
            "host",
            "pause_then_throw",
            move |mut caller: Caller<'_, u32>, (x,): (i32,)| {
                Box::new(async move {
                    YieldOnce(false).await;
                    *caller.data_mut() += 1;
                    let e = Exception::new(&mut caller, tag, &[Val::I32(x * 10)])?;
                    Err::<(), _>(e.into())
                })
            },
        )
        .unwrap();
    futures::executor::block_on(async {
        let inst = linker.instantiate_async(&mut store, &module).await.unwrap();
        let f = inst
            .get_typed_func::<i32, i32>(&mut store, "after_pause")
            .unwrap();
        assert_eq!(f.call_async(&mut store, 4).await.unwrap(), 5);
        let f = inst
            .get_typed_func::<i32, i32>(&mut store, "host_throws")
            .unwrap();
        assert_eq!(f.call_async(&mut store, 4).await.unwrap(), 40);
        let f = inst
            .get_typed_func::<i32, ()>(&mut store, "uncaught")
            .unwrap();
        let err = f.call_async(&mut store, 1).await.unwrap_err();
        let exc = err.exception().expect("an exception");
        assert_eq!(exc.payload(), [Val::I32(2)]);
    });
    // Every call went through its suspension.
    assert_eq!(*store.data(), 3);
}

#[test]
fn exnrefs_in_globals_and_tables_and_indirect_calls() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker: Linker<()> = Linker::new(&engine);
    let tag = Tag::new(&mut store, &TagType::new([ValType::I64])).unwrap();
    linker.define("host", "t", tag).unwrap();
    // A host function reached through a table (call_indirect), throwing.
    let thrower = nyash_engine::Func::new(
        &mut store,
        FuncType {
            params: vec![ValType::I64],
            results: vec![],
        },
        move |mut caller, args, _| Err(Exception::new(&mut caller, tag, args)?.into()),
    )
    .unwrap();
    linker.define("host", "throw", thrower).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "t" (tag $t (param i64)))
            (import "host" "throw" (func $throw (param i64)))
            (type $ft (func (param i64)))
            (table $fns 1 funcref)
            (elem (table $fns) (i32.const 0) func $throw)
            (global $saved (mut exnref) (ref.null exn))
            (table $exns 2 exnref)
            (func (export "save") (param i64)
                (block $h (result exnref)
                    (try_table (catch_all_ref $h)
                        (call_indirect $fns (type $ft) (local.get 0) (i32.const 0)))
                    (unreachable))
                (global.set $saved)
                (table.set $exns (i32.const 1) (global.get $saved)))
            (func (export "rethrow_saved") (result i64)
                (block $h (result i64)
                    (try_table (catch $t $h)
                        (throw_ref (table.get $exns (i32.const 1))))
                    (unreachable)))
            (func (export "saved_is_null") (result i32)
                (ref.is_null (global.get $saved))))"#,
    )
    .unwrap();
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let mut out = [Val::I32(0)];
    let f = inst.get_func(&mut store, "saved_is_null").unwrap();
    f.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out, [Val::I32(1)]);
    let save = inst.get_func(&mut store, "save").unwrap();
    save.call(&mut store, &[Val::I64(-5)], &mut []).unwrap();
    f.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out, [Val::I32(0)]);
    let r = inst.get_func(&mut store, "rethrow_saved").unwrap();
    let mut out = [Val::I64(0)];
    r.call(&mut store, &[], &mut out).unwrap();
    assert_eq!(out, [Val::I64(-5)]);
}

#[test]
fn fuel_is_counted_across_throws() {
    let engine = engine_with(|c| {
        c.consume_fuel(true);
    });
    let (mut store, inst) = instance(
        &engine,
        r#"(module
            (tag $e (param i32))
            (func $t (param i32) (throw $e (local.get 0)))
            (func (export "loop") (param i32) (result i32)
                (local $sum i32)
                (block $done
                    (loop $l
                        (br_if $done (i32.eqz (local.get 0)))
                        (local.set $sum (i32.add (local.get $sum)
                            (block $h (result i32)
                                (try_table (catch $e $h) (call $t (local.get 0)))
                                (i32.const 0))))
                        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                        (br $l)))
                (local.get $sum)))"#,
    );
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(
        call(&mut store, inst, "loop", &[Val::I32(100)]),
        [Val::I32(5050)]
    );
    let used = 1_000_000 - store.get_fuel().unwrap();
    assert!(used > 100 * 5, "fuel used: {used}");
    // Running out of fuel in the loop is a trap, not an exception.
    store.set_fuel(200).unwrap();
    let f = inst.get_func(&mut store, "loop").unwrap();
    let err = f
        .call(&mut store, &[Val::I32(100)], &mut [Val::I32(0)])
        .unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::OutOfFuel), "{err}");
}

#[test]
fn a_start_function_that_throws_fails_instantiation_with_the_exception() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (tag $e (param i64)) (func $s (throw $e (i64.const 3))) (start $s))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    let exc = err.exception().expect("an exception");
    assert_eq!(exc.payload(), [Val::I64(3)]);
}
