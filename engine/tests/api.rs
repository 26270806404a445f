//! The public API end to end: compile, link, call, trap, inspect.

use nyash_engine::{
    Caller, CompileError, Config, Engine, ErrorKind, Func, FuncType, Global, GlobalType, Instance,
    Limits, Linker, Memory, MemoryType, Module, Store, Table, TableType, TrapCode, Val, ValType,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nyash_test_util::stack_address;

fn engine() -> Engine {
    Engine::new(&Config::new()).unwrap()
}

#[test]
fn typed_call_and_host_function() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "double" (func $double (param i32) (result i32)))
            (func (export "run") (param i32) (result i32)
                local.get 0 call $double i32.const 1 i32.add))"#,
    )
    .unwrap();
    let mut linker = Linker::<u32>::new(&engine);
    linker
        .func_wrap("host", "double", |mut caller: Caller<'_, u32>, x: i32| {
            *caller.data_mut() += 1;
            x * 2
        })
        .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 20).unwrap(), 41);
    assert_eq!(run.call(&mut store, -5).unwrap(), -9);
    assert_eq!(*store.data(), 2);
    assert!(
        instance
            .get_typed_func::<i64, i32>(&mut store, "run")
            .is_err()
    );
}

#[test]
fn multi_value_and_floats() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (func (export "swap") (param f64 i64 f32) (result f32 i64 f64)
            local.get 2 local.get 1 local.get 0))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<(f64, i64, f32), (f32, i64, f64)>(&mut store, "swap")
        .unwrap();
    assert_eq!(
        f.call(&mut store, (1.5, -7, 2.25)).unwrap(),
        (2.25, -7, 1.5)
    );
}

#[test]
fn traps_carry_code_and_backtrace_and_store_stays_usable() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
            (func $inner (param i32) (result i32) local.get 0 i32.load)
            (func $outer (export "load") (param i32) (result i32) local.get 0 call $inner)
            (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
            (func (export "boom") unreachable))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    let err = load.call(&mut store, 65536).unwrap_err();
    let trap = err.trap().expect("a trap");
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    let names: Vec<_> = trap.backtrace.iter().map(|f| f.func_name.clone()).collect();
    assert_eq!(
        names,
        [Some("inner".to_string()), Some("outer".to_string())]
    );
    assert_eq!(load.call(&mut store, 0).unwrap(), 0);

    let div = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    assert_eq!(
        div.call(&mut store, (1, 0)).unwrap_err().trap_code(),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(
        div.call(&mut store, (i32::MIN, -1))
            .unwrap_err()
            .trap_code(),
        Some(TrapCode::IntegerOverflow)
    );
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    assert_eq!(
        boom.call(&mut store, ()).unwrap_err().trap_code(),
        Some(TrapCode::UnreachableCodeReached)
    );
}

#[test]
fn host_errors_and_panics_propagate_through_wasm() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "fail" (func $fail (param i32)))
            (func (export "run") (param i32) local.get 0 call $fail))"#,
    )
    .unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .func_wrap("h", "fail", |x: i32| -> nyash_engine::Result<()> {
            match x {
                0 => Ok(()),
                1 => Err(nyash_engine::Error::msg("host says no")),
                _ => panic!("host panicked"),
            }
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<i32, ()>(&mut store, "run")
        .unwrap();
    run.call(&mut store, 0).unwrap();
    let err = run.call(&mut store, 1).unwrap_err();
    assert_eq!(err.to_string(), "host says no");
    let panicked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 2)));
    assert!(panicked.is_err());
    run.call(&mut store, 0).unwrap();
}

#[test]
fn reentrant_host_to_wasm_calls() {
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "recurse" (func $r (param i32) (result i32)))
            (func (export "f") (param i32) (result i32)
                local.get 0 i32.eqz
                if (result i32) i32.const 0
                else local.get 0 i32.const 1 i32.sub call $r local.get 0 i32.add end))"#,
    )
    .unwrap();
    let mut linker = Linker::<Option<Func>>::new(&engine);
    linker
        .func_wrap(
            "h",
            "recurse",
            |mut caller: Caller<'_, Option<Func>>, n: i32| -> nyash_engine::Result<i32> {
                let f = caller.data().unwrap();
                let mut out = [Val::I32(0)];
                f.call(&mut caller, &[Val::I32(n)], &mut out)?;
                Ok(out[0].i32().unwrap())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, None);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_func(&mut store, "f").unwrap();
    *store.data_mut() = Some(f);
    let typed = f.typed::<i32, i32>(&store).unwrap();
    assert_eq!(typed.call(&mut store, 10).unwrap(), 55);
}

#[test]
fn memories_globals_tables_from_the_host() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(
        &mut store,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(3),
            },
            memory64: false,
            shared: false,
            page_size_log2: None,
        },
    )
    .unwrap();
    let global = Global::new(
        &mut store,
        GlobalType {
            content: ValType::I64,
            mutable: true,
        },
        Val::I64(5),
    )
    .unwrap();
    let table = Table::new(
        &mut store,
        TableType {
            element: ValType::FuncRef,
            limits: Limits { min: 2, max: None },
            table64: false,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "mem" (memory 1))
            (import "env" "g" (global $g (mut i64)))
            (import "env" "t" (table 1 funcref))
            (type $t (func (result i32)))
            (func $seven (result i32) i32.const 7)
            (elem (i32.const 1) $seven)
            (func (export "run") (result i32)
                global.get $g i64.const 1 i64.add global.set $g
                i32.const 8 i32.const 42 i32.store
                i32.const 1 call_indirect (type $t))
            (func (export "grow") (result i32) i32.const 1 memory.grow))"#,
    )
    .unwrap();
    let instance = Instance::new(
        &mut store,
        &module,
        &[memory.into(), global.into(), table.into()],
    )
    .unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 7);
    assert_eq!(global.get(&mut store), Val::I64(6));
    assert_eq!(&memory.data(&store)[8..12], &42i32.to_le_bytes());
    assert!(matches!(
        table.get(&mut store, 1),
        Some(Val::FuncRef(Some(_)))
    ));
    let grow = instance
        .get_typed_func::<(), i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, ()).unwrap(), 1);
    assert_eq!(grow.call(&mut store, ()).unwrap(), 2);
    assert_eq!(grow.call(&mut store, ()).unwrap(), -1);
    assert_eq!(memory.size(&store), 3);
}

#[test]
fn link_errors_name_the_import() {
    let engine = engine();
    let module = Module::new(&engine, r#"(module (import "env" "f" (func (param i32))))"#).unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::<()>::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Link { .. }), "{err}");
    assert!(err.to_string().contains("env::f"), "{err}");
    let wrong = Func::new(
        &mut store,
        FuncType {
            params: vec![],
            results: vec![],
        },
        |_, _, _| Ok(()),
    )
    .unwrap();
    let err = Instance::new(&mut store, &module, &[wrong.into()]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Link { .. }), "{err}");
}

#[test]
fn invalid_and_unsupported_modules_are_errors() {
    let engine = engine();
    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Compile(_)), "{err}");
    let err = Module::new(&engine, r#"(module (func (result i32) i64.const 1))"#).unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");
    // Still unsupported, not invalid: the legacy exception instructions
    // (binary `try`, which the text format no longer has).
    let legacy: &[u8] = &[
        0, b'a', b's', b'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 10, 7, 1, 5, 0, 0x06,
        0x40, 0x0b, 0x0b,
    ];
    let err = Module::new(&engine, legacy).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Compile(CompileError::Unsupported(_))),
        "{err}"
    );
    // Typed function references turned off: a module using them is
    // invalid, as in WebAssembly 2.0.
    let typed = r#"(module (type $t (func)) (func (param (ref null $t))))"#;
    Module::new(&engine, typed).unwrap();
    let mut config = Config::new();
    config.wasm_function_references(false);
    let err = Module::new(&Engine::new(&config).unwrap(), typed).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Compile(CompileError::Invalid { .. })),
        "{err}"
    );
}

#[test]
fn backtraces_show_inlined_functions_as_frames() {
    // $leaf is inlined into $mid and $mid into $top (each one level); a trap
    // in $leaf must still show every frame, innermost first.
    let wat = r#"(module
        (func $leaf (param i32) (result i32) i32.const 100 local.get 0 i32.div_u)
        (func $mid (param i32) (result i32) local.get 0 call $leaf i32.const 1 i32.add)
        (func $top (export "top") (param i32) (result i32)
            local.get 0 call $mid local.get 0 call $mid i32.add))"#;
    let mut frames = Vec::new();
    for inlining in [true, false] {
        let mut config = Config::new();
        config.inlining(inlining);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let top = instance
            .get_typed_func::<i32, i32>(&mut store, "top")
            .unwrap();
        assert_eq!(top.call(&mut store, 5).unwrap(), 2 * (20 + 1));
        let err = top.call(&mut store, 0).unwrap_err();
        let trap = err.trap().expect("a trap");
        assert_eq!(trap.code, TrapCode::IntegerDivisionByZero);
        let names: Vec<_> = trap
            .backtrace
            .iter()
            .map(|f| f.func_name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names, ["leaf", "mid", "top"], "inlining {inlining}");
        frames.push(names);
    }
    assert_eq!(frames[0], frames[1]);
}

/// A host function (`host.probe`) that notes how deep in the native stack
/// it was called, below the caller's `base` ([`stack_address`] there).
fn stack_probe(linker: &mut Linker<()>) -> Arc<AtomicUsize> {
    let at = Arc::new(AtomicUsize::new(0));
    let seen = at.clone();
    linker
        .func_wrap(
            "host",
            "probe",
            move |_: Caller<'_, ()>| -> nyash_engine::Result<()> {
                seen.store(stack_address(), Ordering::Relaxed);
                Ok(())
            },
        )
        .unwrap();
    at
}

#[test]
fn inlining_changes_neither_results_nor_fuel_used() {
    // Small helpers called in a loop (inlined when inlining is on), one of
    // them recursive; fuel must be counted identically either way. $sq
    // calls the host's probe: inlined into `run`, its frame is gone, so
    // the probe runs less deep in the native stack than with inlining off
    // (the observable that inlining happened).
    let wat = r#"(module
        (import "host" "probe" (func $probe))
        (memory 1)
        (func $sq (param i32) (result i32) call $probe local.get 0 local.get 0 i32.mul)
        (func $store (param i32 i32) local.get 0 local.get 1 i32.store)
        (func $fact (param i32) (result i32)
            local.get 0 i32.const 2 i32.lt_u
            if (result i32) i32.const 1
            else local.get 0 local.get 0 i32.const 1 i32.sub call $fact i32.mul end)
        (func (export "run") (param $n i32) (result i32) (local $i i32) (local $acc i32)
            (loop $l
                (local.set $acc (i32.add (local.get $acc) (call $sq (local.get $i))))
                (call $store (i32.shl (i32.and (local.get $i) (i32.const 255)) (i32.const 2)) (local.get $acc))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
            (i32.add (local.get $acc) (call $fact (i32.const 10)))))"#;
    let mut outcomes = Vec::new();
    let mut depths = Vec::new();
    for inlining in [true, false] {
        let mut config = Config::new();
        // Eager whatever NYASH_LAZY says: lazy code inlines only after
        // tier-up.
        config
            .inlining(inlining)
            .consume_fuel(true)
            .lazy_compilation(false);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(1_000_000).unwrap();
        let mut linker = Linker::new(&engine);
        let probe = stack_probe(&mut linker);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance
            .get_typed_func::<i32, i32>(&mut store, "run")
            .unwrap();
        // A first call on a thread runs deeper (it finds the thread's
        // stack bounds); the depth that counts is a later call's.
        run.call(&mut store, 1).unwrap();
        store.set_fuel(1_000_000).unwrap();
        let base = stack_address();
        let result = run.call(&mut store, 1000).unwrap();
        depths.push(base - probe.load(Ordering::Relaxed));
        let used = 1_000_000 - store.get_fuel().unwrap();
        // Running out part-way traps the same way too.
        store.set_fuel(used / 2).unwrap();
        let trap = run.call(&mut store, 1000).unwrap_err().trap_code();
        outcomes.push((result, used, trap));
    }
    // Sum of i*i below 1000, plus 10!.
    assert_eq!(outcomes[0].0, 332_833_500 + 3_628_800);
    assert!(outcomes[0].1 > 0);
    assert_eq!(outcomes[0].2, Some(TrapCode::OutOfFuel));
    assert_eq!(outcomes[0], outcomes[1]);
    // $sq's frame (return address and frame pointer at least) is gone.
    assert!(
        depths[0] + 16 <= depths[1],
        "the probe in $sq ran {} bytes deep with inlining, {} without: $sq was not inlined",
        depths[0],
        depths[1]
    );
}

/// A memory made by the host, imported as the second of two memories: wasm
/// writes it, the host reads it. (The rest of this test, both memories
/// from wasm, is tests/wast/memory/multi_memory.wast.)
#[test]
fn multi_memory_imported_and_defined() {
    let engine = engine();
    let wat = r#"(module
        (import "host" "mem" (memory $a 1))
        (memory $b (export "b") 1 3)
        (data (memory $b) (i32.const 8) "\2a")
        (func (export "run") (result i32)
            (memory.copy $a $b (i32.const 100) (i32.const 8) (i32.const 1))
            (i32.store8 $b (i32.const 9) (i32.load8_u $a (i32.const 100)))
            (memory.size $a)))"#;
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let ty = MemoryType {
        limits: Limits { min: 1, max: None },
        memory64: false,
        shared: false,
        page_size_log2: None,
    };
    let a = Memory::new(&mut store, ty).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("host", "mem", a).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1);
    let b = instance.get_memory(&mut store, "b").unwrap();
    assert_eq!(a.data(&store)[100], 0x2a);
    assert_eq!(b.data(&store)[8..10], [0x2a, 0x2a]);
}

/// With a proposal off, its modules are invalid, as in WebAssembly 2.0
/// (the spec suite's 1.0 and 2.0 sets run that way too).
#[test]
fn proposals_turned_off_make_their_modules_invalid() {
    /// A proposal, how to turn it off, a module that needs it.
    type Case = (&'static str, fn(&mut Config), &'static str);
    let cases: [Case; 3] = [
        (
            "multi-memory",
            |c| {
                c.wasm_multi_memory(false);
            },
            "(module (memory 1) (memory 1))",
        ),
        (
            "memory64",
            |c| {
                c.wasm_memory64(false);
            },
            "(module (memory i64 1))",
        ),
        (
            "custom page sizes",
            |c| {
                c.wasm_custom_page_sizes(false);
            },
            "(module (memory 1 (pagesize 1)))",
        ),
    ];
    for (name, off, wat) in cases {
        // Valid with the proposal on...
        Module::new(&engine(), wat).unwrap_or_else(|e| panic!("{name}: {e}"));
        // ...invalid with it off.
        let mut config = Config::new();
        off(&mut config);
        let err = Module::new(&Engine::new(&config).unwrap(), wat).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Compile(CompileError::Invalid { .. })),
            "{name}: {err}"
        );
    }
}

/// A 64-bit memory seen from the host: its type and size after wasm grew
/// it, and a host-made one. (Its use from wasm is
/// tests/wast/memory/memory64.wast and table64.wast.)
#[test]
fn memory64_from_the_host() {
    let engine = engine();
    let wat = r#"(module
        (memory $m (export "m") i64 1 2)
        (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#;
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    let m = instance.get_memory(&mut store, "m").unwrap();
    assert!(m.ty(&store).memory64);
    assert_eq!(m.size(&store), 2);
    assert_eq!(m.data(&store).len(), 2 << 16);
    // A host-made 64-bit memory.
    let ty = MemoryType {
        limits: Limits { min: 1, max: None },
        memory64: true,
        shared: false,
        page_size_log2: None,
    };
    let host = Memory::new(&mut store, ty).unwrap();
    assert_eq!(host.grow(&mut store, 1).unwrap(), 1);
}

/// A memory of one-byte pages seen from the host: its type and its size
/// in bytes after wasm grew it. (Its bounds checks from wasm are
/// tests/wast/memory/custom_page_size.wast.)
#[test]
fn custom_page_size_of_one_byte_from_the_host() {
    let engine = engine();
    let wat = r#"(module
        (memory (export "m") 5 10 (pagesize 1))
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let m = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.data(&store).len(), 5);
    assert_eq!(grow.call(&mut store, 3).unwrap(), 5);
    assert_eq!(m.data(&store).len(), 8);
    assert_eq!(m.size(&store), 8);
    assert_eq!(m.ty(&store).page_size_log2, Some(0));
}

#[test]
fn host_memories_of_undefined_page_sizes_are_errors() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    for log2 in [1, 15, 17, 31, 32, 63, 64, 200, u32::MAX] {
        for memory64 in [false, true] {
            let ty = MemoryType {
                limits: Limits { min: 0, max: None },
                memory64,
                shared: false,
                page_size_log2: Some(log2),
            };
            assert!(Memory::new(&mut store, ty).is_err(), "2^{log2}");
        }
    }
    // The largest limits of each kind are refused or capped, never a panic.
    for (memory64, log2) in [(false, 0), (false, 16), (true, 0), (true, 16)] {
        let ty = MemoryType {
            limits: Limits {
                min: 1,
                max: Some(u64::MAX),
            },
            memory64,
            shared: false,
            page_size_log2: Some(log2),
        };
        let m = Memory::new(&mut store, ty).unwrap();
        assert!(m.grow(&mut store, u64::MAX).is_err());
    }
}

/// Tail calls (`return_call`, `return_call_indirect`) for the tests of
/// backtraces, fuel and epochs below; their results, a million deep, are
/// tests/wast/tail-call/mutual_recursion.wast.
const TAIL_WAT: &str = r#"(module
    (type $t (func (param i64 i64) (result i64)))
    (table 2 funcref)
    (elem (i32.const 0) $even_i $odd_i)
    (func $even (export "even") (param i64 i64) (result i64)
        local.get 0 i64.eqz
        if (result i64) local.get 1
        else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add return_call $odd end)
    (func $odd (param i64 i64) (result i64)
        local.get 0 i64.eqz
        if (result i64) local.get 1 i64.const 1000000000 i64.add
        else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add return_call $even end)
    (func $even_i (export "even_i") (param i64 i64) (result i64)
        local.get 0 i64.eqz
        if (result i64) local.get 1
        else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add
            i32.const 1 return_call_indirect (type $t) end)
    (func $odd_i (param i64 i64) (result i64)
        local.get 0 i64.eqz
        if (result i64) local.get 1 i64.const 1000000000 i64.add
        else local.get 0 i64.const 1 i64.sub local.get 1 i64.const 1 i64.add
            i32.const 0 return_call_indirect (type $t) end)
    (func $loop (export "loop") return_call $loop)
    (func $fail (param i64) (result i64) local.get 0 i64.const 0 i64.div_u)
    (func $via (param i64) (result i64) local.get 0 return_call $fail)
    (func (export "trap") (param i64) (result i64) local.get 0 call $via i64.const 1 i64.add))"#;

#[test]
fn traps_in_tail_called_functions_have_backtraces() {
    // $via tail-calls $fail, so $fail replaces $via's frame: the backtrace
    // is $fail under the exported caller, the same with inlining on or off.
    for inlining in [true, false] {
        let mut config = Config::new();
        config.inlining(inlining);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, TAIL_WAT).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance
            .get_typed_func::<i64, i64>(&mut store, "trap")
            .unwrap();
        let err = f.call(&mut store, 7).unwrap_err();
        let trap = err.trap().expect("a trap");
        assert_eq!(trap.code, TrapCode::IntegerDivisionByZero);
        let names: Vec<_> = trap
            .backtrace
            .iter()
            .map(|f| f.func_name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names.first().map(String::as_str), Some("fail"), "{names:?}");
        assert!(!names.iter().any(|n| n == "via"), "{names:?}");
        assert_eq!(names.len(), 2, "{names:?}");
    }
}

#[test]
fn fuel_stops_an_endless_tail_call_loop() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, TAIL_WAT).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<(), ()>(&mut store, "loop")
        .unwrap();
    assert_eq!(
        f.call(&mut store, ()).unwrap_err().trap_code(),
        Some(TrapCode::OutOfFuel)
    );
    // Fuel was written back before each tail call: all of it was used.
    assert!(store.get_fuel().unwrap() <= 1, "{:?}", store.get_fuel());
    // And a finite tail recursion is charged, the same with or without
    // inlining.
    let mut used = Vec::new();
    for inlining in [true, false] {
        let mut config = Config::new();
        config.consume_fuel(true).inlining(inlining);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, TAIL_WAT).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(u64::MAX / 2).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let f = instance
            .get_typed_func::<(i64, i64), i64>(&mut store, "even")
            .unwrap();
        assert_eq!(f.call(&mut store, (1000, 0)).unwrap(), 1000);
        used.push(u64::MAX / 2 - store.get_fuel().unwrap());
    }
    assert!(used[0] > 1000, "{used:?}");
    assert_eq!(used[0], used[1]);
}

#[test]
fn epoch_interrupts_an_endless_tail_call_loop() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, TAIL_WAT).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance
        .get_typed_func::<(), ()>(&mut store, "loop")
        .unwrap();
    store.set_epoch_deadline(1);
    let e = engine.clone();
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        e.increment_epoch();
    });
    let err = f.call(&mut store, ()).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(err.trap_code(), Some(TrapCode::Interrupt));
}

#[test]
fn tail_calls_to_host_functions() {
    // `return_call` to an import goes through its host-call trampoline; the
    // host function's result is the tail-calling function's.
    let engine = engine();
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "twice" (func $twice (param i32) (result i32)))
            (import "host" "fail" (func $fail (param i32) (result i32)))
            (type $t (func (param i32) (result i32)))
            (table funcref (elem $twice))
            (func (export "direct") (param i32) (result i32) local.get 0 return_call $twice)
            (func (export "indirect") (param i32) (result i32)
                local.get 0 i32.const 0 return_call_indirect (type $t))
            (func $deep (export "deep") (param i32) (result i32)
                local.get 0 i32.eqz
                if (result i32) i32.const 21 return_call $twice
                else local.get 0 i32.const 1 i32.sub return_call $deep end)
            (func (export "fail") (param i32) (result i32) local.get 0 return_call $fail))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::<()>::new(&engine);
    linker
        .func_wrap("host", "twice", |x: i32| x * 2)
        .unwrap()
        .func_wrap("host", "fail", |_: i32| -> nyash_engine::Result<i32> {
            Err(nyash_engine::Error::msg("host says no"))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    for name in ["direct", "indirect"] {
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, name)
            .unwrap();
        assert_eq!(f.call(&mut store, 21).unwrap(), 42, "{name}");
    }
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    assert_eq!(deep.call(&mut store, 1_000_000).unwrap(), 42);
    let fail = instance
        .get_typed_func::<i32, i32>(&mut store, "fail")
        .unwrap();
    let err = fail.call(&mut store, 1).unwrap_err();
    assert!(err.to_string().contains("host says no"), "{err}");
    assert_eq!(deep.call(&mut store, 3).unwrap(), 42);
}

/// Typed function references through the API: calls, null, subtyping of
/// values, globals, tables and typed functions, across modules.
#[test]
fn typed_function_references_through_the_api() {
    let engine = engine();
    let a = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i32) (result i32)))
            (func $double (export "double") (type $t) (i32.mul (local.get 0) (i32.const 2)))
            (func (export "other") (param i64))
            (func (export "apply") (param (ref null $t) i32) (result i32)
                (call_ref $t (local.get 1) (local.get 0)))
            (func (export "get") (result (ref $t)) (ref.func $double))
            (global (export "g") (ref $t) (ref.func $double))
            (table (export "tab") 2 (ref null $t))
            (elem declare func $double))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = Instance::new(&mut store, &a, &[]).unwrap();
    let apply = inst.get_func(&mut store, "apply").unwrap();
    let double = inst.get_func(&mut store, "double").unwrap();
    let other = inst.get_func(&mut store, "other").unwrap();
    let mut out = [Val::I32(0)];
    apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(double)), Val::I32(21)],
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0], Val::I32(42));
    // Null traps; a function of another type is refused before the call.
    let e = apply
        .call(&mut store, &[Val::FuncRef(None), Val::I32(1)], &mut out)
        .unwrap_err();
    assert_eq!(e.trap_code(), Some(TrapCode::NullReference), "{e}");
    let e = apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(other)), Val::I32(1)],
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().contains("argument 0"), "{e}");
    // A host function of the same type is the same engine type.
    let host = Func::new(
        &mut store,
        FuncType {
            params: vec![ValType::I32],
            results: vec![ValType::I32],
        },
        |_, args, results| {
            results[0] = Val::I32(args[0].i32().unwrap() + 100);
            Ok(())
        },
    )
    .unwrap();
    apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(host)), Val::I32(1)],
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0], Val::I32(101));
    // The types the store shows name the function type by engine id.
    let g = inst.get_global(&mut store, "g").unwrap();
    let ValType::Ref(r) = g.ty(&store).content else {
        panic!("a reference global")
    };
    assert!(!r.nullable);
    let nyash_engine::HeapType::Engine(t) = r.heap else {
        panic!("an engine type id: {r:?}")
    };
    assert!(Val::FuncRef(Some(double)).matches_ty(&store, g.ty(&store).content));
    assert!(!Val::FuncRef(None).matches_ty(&store, g.ty(&store).content));
    assert!(!Val::FuncRef(Some(other)).matches_ty(&store, g.ty(&store).content));
    // Null cannot go into a non-nullable global; a non-null function can.
    let ty = GlobalType {
        content: g.ty(&store).content,
        mutable: true,
    };
    let e = Global::new(&mut store, ty, Val::FuncRef(None)).unwrap_err();
    assert!(e.to_string().contains("non-nullable"), "{e}");
    let mine = Global::new(&mut store, ty, Val::FuncRef(Some(host))).unwrap();
    assert!(mine.set(&mut store, Val::FuncRef(Some(other))).is_err());
    // An id the engine never gave out names no type.
    let bad = GlobalType {
        content: ValType::Ref(nyash_engine::RefType::nullable(
            nyash_engine::HeapType::Engine(u32::MAX - 1),
        )),
        mutable: false,
    };
    let e = Global::new(&mut store, bad, Val::FuncRef(None)).unwrap_err();
    assert!(e.to_string().contains("no type of id"), "{e}");
    assert!(engine.func_type(t).is_some());
    // Tables check element types too.
    let tab = inst.get_table(&mut store, "tab").unwrap();
    tab.set(&mut store, 0, Val::FuncRef(Some(double))).unwrap();
    assert!(tab.set(&mut store, 1, Val::FuncRef(Some(other))).is_err());
    // Typed functions: a `(ref $t)` result reads as `Option<Func>`; an
    // `Option<Func>` (a funcref) cannot be passed as a `(ref null $t)`.
    let get = inst
        .get_typed_func::<(), Option<Func>>(&mut store, "get")
        .unwrap();
    assert!(get.call(&mut store, ()).unwrap().is_some());
    assert!(
        inst.get_typed_func::<(Option<Func>, i32), i32>(&mut store, "apply")
            .is_err()
    );
}

/// A host function with a typed reference parameter, its type named by
/// `Engine::func_type_id`: the module passes one of its functions, the
/// host calls it.
#[test]
fn host_function_with_a_typed_reference_parameter() {
    let engine = engine();
    let unary = FuncType {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    };
    let id = engine.func_type_id(&unary).unwrap();
    assert_eq!(engine.func_type(id), Some(unary));
    let module = Module::new(
        &engine,
        r#"(module
            (type $t (func (param i32) (result i32)))
            (import "host" "twice" (func $twice (param (ref $t) i32) (result i32)))
            (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
            (elem declare func $inc)
            (func (export "run") (result i32) (call $twice (ref.func $inc) (i32.const 5))))"#,
    )
    .unwrap();
    let param = ValType::Ref(nyash_engine::RefType::non_null(
        nyash_engine::HeapType::Engine(id),
    ));
    let mut linker = Linker::new(&engine);
    linker
        .func_new(
            "host",
            "twice",
            FuncType {
                params: vec![param, ValType::I32],
                results: vec![ValType::I32],
            },
            |mut caller, args, results| {
                let Val::FuncRef(Some(f)) = args[0] else {
                    return Err(nyash_engine::Error::msg("expected a function"));
                };
                let mut out = [Val::I32(0)];
                f.call(&mut caller, &[args[1]], &mut out)?;
                f.call(&mut caller, &[out[0]], &mut out)?;
                results[0] = out[0];
                Ok(())
            },
        )
        .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 7);
    // A host function of another parameter type does not link.
    let mut other = Linker::new(&engine);
    other
        .func_new(
            "host",
            "twice",
            FuncType {
                params: vec![ValType::FuncRef, ValType::I32],
                results: vec![ValType::I32],
            },
            |_, _, _| Ok(()),
        )
        .unwrap();
    let e = other.instantiate(&mut store, &module).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Link { .. }), "{e}");
}

#[test]
fn i31_and_any_references_cross_the_api() {
    use nyash_engine::{AnyRef, HeapType, I31, RefType};
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (type $s (struct (field i32)))
            (global $g (export "g") (mut anyref) (ref.i31 (i32.const -5)))
            (global (export "s") (mut (ref null $s)) (ref.null $s))
            (table $t (export "t") 4 anyref)
            (func (export "wrap") (param i32) (result (ref i31)) (ref.i31 (local.get 0)))
            (func (export "get_s") (param i31ref) (result i32) (i31.get_s (local.get 0)))
            (func (export "get_u") (param i31ref) (result i32) (i31.get_u (local.get 0)))
            (func (export "is_i31") (param anyref) (result i32) (ref.test (ref i31) (local.get 0)))
            (func (export "cast") (param anyref) (result (ref eq)) (ref.cast (ref eq) (local.get 0)))
            (func (export "eq") (param eqref eqref) (result i32) (ref.eq (local.get 0) (local.get 1)))
            (func (export "swap") (param anyref (ref null $s)) (result (ref null $s) anyref)
                (local.get 1) (local.get 0))
            (func (export "table") (param i32) (result anyref)
                (table.set $t (local.get 0) (ref.i31 (local.get 0)))
                (table.get $t (local.get 0)))
            (func (export "global") (result anyref) (global.get $g)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let i31 = |v: i32| Val::AnyRef(Some(AnyRef::from_i31(I31::new_i32(v))));
    let call = |store: &mut Store<()>, name: &str, args: &[Val], n: usize| {
        let f = instance.get_func(&mut *store, name).unwrap();
        let ty = f.ty(&*store);
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        assert_eq!(results.len(), n);
        f.call(&mut *store, args, &mut results).map(|()| results)
    };
    // ref.i31 wraps to 31 bits; the two getters extend back.
    let r = call(&mut store, "wrap", &[Val::I32(-1)], 1).unwrap();
    assert_eq!(r[0], i31(-1));
    assert_eq!(
        r[0].any_ref().unwrap().unwrap().as_i31().unwrap().get_u32(),
        0x7fff_ffff
    );
    let top = call(&mut store, "wrap", &[Val::I32(0x4000_0000)], 1).unwrap();
    assert_eq!(top[0], i31(-0x4000_0000), "bit 30 becomes the sign");
    assert_eq!(
        call(&mut store, "get_s", &[i31(-7)], 1).unwrap()[0],
        Val::I32(-7)
    );
    assert_eq!(
        call(&mut store, "get_u", &[i31(-7)], 1).unwrap()[0],
        Val::I32(0x7fff_fff9)
    );
    let err = call(&mut store, "get_s", &[Val::AnyRef(None)], 1).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::NullReference));
    // Abstract casts decide on null and the i31 tag.
    assert_eq!(
        call(&mut store, "is_i31", &[i31(3)], 1).unwrap()[0],
        Val::I32(1)
    );
    assert_eq!(
        call(&mut store, "is_i31", &[Val::AnyRef(None)], 1).unwrap()[0],
        Val::I32(0)
    );
    assert_eq!(call(&mut store, "cast", &[i31(3)], 1).unwrap()[0], i31(3));
    let err = call(&mut store, "cast", &[Val::AnyRef(None)], 1).unwrap_err();
    assert_eq!(err.trap_code(), Some(TrapCode::CastFailure));
    assert_eq!(
        call(&mut store, "eq", &[i31(9), i31(9)], 1).unwrap()[0],
        Val::I32(1)
    );
    assert_eq!(
        call(&mut store, "eq", &[i31(9), i31(8)], 1).unwrap()[0],
        Val::I32(0)
    );
    assert_eq!(
        call(&mut store, "eq", &[Val::AnyRef(None), Val::AnyRef(None)], 1).unwrap()[0],
        Val::I32(1)
    );
    // A struct type's null is the `any` hierarchy's.
    let r = call(&mut store, "swap", &[i31(1), Val::AnyRef(None)], 2).unwrap();
    assert_eq!(r, [Val::AnyRef(None), i31(1)]);
    // Values are checked against the types: a function is not an anyref,
    // an i31 is not a struct reference. A null carries no type: a null
    // funcref is a null anyref.
    let f = nyash_engine::Func::wrap(&mut store, || {});
    let err = call(
        &mut store,
        "swap",
        &[Val::FuncRef(Some(f)), Val::AnyRef(None)],
        2,
    )
    .unwrap_err();
    assert!(err.to_string().contains("anyref"), "{err}");
    let r = call(
        &mut store,
        "swap",
        &[Val::FuncRef(None), Val::AnyRef(None)],
        2,
    )
    .unwrap();
    assert_eq!(r, [Val::AnyRef(None), Val::AnyRef(None)]);
    let err = call(&mut store, "swap", &[i31(1), i31(2)], 2).unwrap_err();
    assert!(err.to_string().contains("i31ref"), "{err}");
    // Tables (8-byte slots holding the u32) and globals.
    assert_eq!(
        call(&mut store, "table", &[Val::I32(3)], 1).unwrap()[0],
        i31(3)
    );
    let t = instance.get_table(&mut store, "t").unwrap();
    assert_eq!(t.get(&mut store, 3), Some(i31(3)));
    assert_eq!(t.get(&mut store, 0), Some(Val::AnyRef(None)));
    t.set(&mut store, 1, i31(-100)).unwrap();
    assert_eq!(t.get(&mut store, 1), Some(i31(-100)));
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(g.get(&mut store), i31(-5));
    g.set(&mut store, i31(77)).unwrap();
    assert_eq!(call(&mut store, "global", &[], 1).unwrap()[0], i31(77));
    let s = instance.get_global(&mut store, "s").unwrap();
    assert_eq!(s.get(&mut store), Val::AnyRef(None));
    assert!(s.set(&mut store, i31(1)).is_err());
    // A host-made global of an abstract GC type.
    let ty = GlobalType {
        content: ValType::Ref(RefType::non_null(HeapType::I31)),
        mutable: false,
    };
    let hg = Global::new(&mut store, ty, i31(4)).unwrap();
    assert_eq!(hg.get(&mut store), i31(4));
    assert!(Global::new(&mut store, ty, Val::AnyRef(None)).is_err());
    // Typed functions.
    let wrap = instance
        .get_typed_func::<i32, I31>(&mut store, "wrap")
        .unwrap();
    assert_eq!(wrap.call(&mut store, 12).unwrap().get_i32(), 12);
    let is_i31 = instance
        .get_typed_func::<Option<AnyRef>, i32>(&mut store, "is_i31")
        .unwrap();
    assert_eq!(is_i31.call(&mut store, None).unwrap(), 0);
    assert_eq!(
        is_i31
            .call(&mut store, Some(AnyRef::from_i31(I31::new_u32(5))))
            .unwrap(),
        1
    );
}

#[test]
fn host_functions_take_and_return_i31_references() {
    use nyash_engine::{AnyRef, I31};
    let engine = engine();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
            (type $s (struct))
            (import "host" "inc" (func $inc (param anyref (ref null $s)) (result anyref)))
            (func (export "run") (param i32) (result i32)
                (i31.get_s (ref.cast i31ref
                    (call $inc (ref.i31 (local.get 0)) (ref.null $s))))))"#,
    )
    .unwrap();
    let ty = module.imports().next().unwrap().2;
    let nyash_engine::ExternType::Func(ty) = ty else {
        panic!("a function import")
    };
    let inc = Func::new(&mut store, ty, |_caller, args, results| {
        let v = args[0].any_ref().flatten().and_then(|r| r.as_i31());
        assert_eq!(args[1], Val::AnyRef(None));
        results[0] = Val::AnyRef(v.map(|v| AnyRef::from_i31(I31::new_i32(v.get_i32() + 1))));
        Ok(())
    })
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[inc.into()]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 41).unwrap(), 42);
    assert_eq!(run.call(&mut store, -1).unwrap(), 0);
}

/// A memory made from a reservation the pool took back from a dropped store
/// behaves like a fresh one: zeroed (past the pool's resident prefix too),
/// its own size and maximum, and a trap past its end even when the old
/// memory had grown further. The engine keeps one idle reservation, so the
/// second store's memory is the first one's.
#[test]
fn memories_reused_from_the_pool_are_fresh() {
    let mut config = Config::new();
    config.memory_pool(1);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "mem") 1 4) (data (i32.const 8) "\07")
            (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
            (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    )
    .unwrap();
    let mut first = Store::new(&engine, ());
    let instance = Instance::new(&mut first, &module, &[]).unwrap();
    let mem = instance.get_memory(&mut first, "mem").unwrap();
    assert_eq!(mem.grow(&mut first, 2).unwrap(), 1);
    mem.data_mut(&mut first).fill(0xab);
    drop(first);

    for _ in 0..2 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let mem = instance.get_memory(&mut store, "mem").unwrap();
        assert_eq!(mem.size(&store), 1);
        let data = mem.data(&store);
        assert_eq!(data.len(), 65536);
        assert_eq!(data[8], 7);
        assert!(data.iter().enumerate().all(|(i, &b)| i == 8 || b == 0));
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        assert_eq!(load.call(&mut store, 65535).unwrap(), 0);
        let trap = load.call(&mut store, 65536).unwrap_err();
        assert_eq!(
            trap.trap().expect("a trap").code,
            TrapCode::MemoryOutOfBounds
        );
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut store, 4).unwrap(), -1, "past the maximum");
        assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
        assert_eq!(load.call(&mut store, 2 * 65536 - 1).unwrap(), 0);
        assert!(load.call(&mut store, 2 * 65536).is_err());
        // Leave the second page dirty for the next round.
        mem.data_mut(&mut store)[65536..].fill(0xcd);
    }
}

/// A module whose data segments span at least 256 KiB starts its memories
/// from a copy-on-write image: each instance sees the segments (a later one
/// overwriting an earlier one), its writes stay its own, and once its store
/// is dropped the reservation the pool hands to another module's memory
/// reads as zeros (the image's pages included).
#[test]
fn memory_images_are_private_and_gone_after_reuse() {
    let mut config = Config::new();
    config.memory_pool(1);
    let engine = Engine::new(&config).unwrap();
    let big: String = (0..300 * 1024)
        .map(|i| format!("\\{:02x}", (i % 251) as u8 + 1))
        .collect();
    let module = Module::new(
        &engine,
        format!(
            r#"(module (memory (export "mem") 8)
                (data (i32.const 4096) "{big}")
                (data (i32.const 5000) "\00\ff")
                (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
                (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8))"#
        ),
    )
    .unwrap();
    let expected = |i: usize| -> u8 {
        match i {
            5000 => 0,
            5001 => 0xff,
            4096..=311_295 => ((i - 4096) % 251) as u8 + 1,
            _ => 0,
        }
    };
    let mut a = Store::new(&engine, ());
    let ia = Instance::new(&mut a, &module, &[]).unwrap();
    let mut b = Store::new(&engine, ());
    let ib = Instance::new(&mut b, &module, &[]).unwrap();
    let mem_a = ia.get_memory(&mut a, "mem").unwrap();
    assert!(
        mem_a
            .data(&a)
            .iter()
            .enumerate()
            .all(|(i, &v)| v == expected(i))
    );
    let store_a = ia
        .get_typed_func::<(i32, i32), ()>(&mut a, "store")
        .unwrap();
    store_a.call(&mut a, (4096, 0x77)).unwrap();
    mem_a.data_mut(&mut a)[200_000] = 0x88;
    let load_b = ib.get_typed_func::<i32, i32>(&mut b, "load").unwrap();
    assert_eq!(load_b.call(&mut b, 4096).unwrap(), expected(4096) as i32);
    assert_eq!(
        load_b.call(&mut b, 200_000).unwrap(),
        expected(200_000) as i32
    );
    assert_eq!(mem_a.data(&a)[4096], 0x77);
    drop(b);
    drop(a);

    let plain = Module::new(&engine, r#"(module (memory (export "mem") 8))"#).unwrap();
    let mut c = Store::new(&engine, ());
    let ic = Instance::new(&mut c, &plain, &[]).unwrap();
    let mem_c = ic.get_memory(&mut c, "mem").unwrap();
    assert!(mem_c.data(&c).iter().all(|&v| v == 0));
    // And the image module again, after the plain one.
    drop(c);
    let mut d = Store::new(&engine, ());
    let id = Instance::new(&mut d, &module, &[]).unwrap();
    let mem_d = id.get_memory(&mut d, "mem").unwrap();
    assert!(
        mem_d
            .data(&d)
            .iter()
            .enumerate()
            .all(|(i, &v)| v == expected(i))
    );
}
