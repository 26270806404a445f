//! `v128` through the public API: typed and untyped calls, host functions,
//! globals; and the error for a CPU without what SIMD needs; relaxed SIMD's
//! fused or unfused multiply-add and its deterministic mode. (The operators
//! themselves: the spec suite's `proposals/simd` and `proposals/relaxed-simd`
//! sets; tables of functions, many parameters and results, memory at its
//! edge and joins: tests/wast/simd/.)

use nyash_engine::{
    Caller, Config, Engine, ErrorKind, Func, FuncType, Global, GlobalType, Instance, Linker,
    Module, Store, Val, ValType,
};
use nyash_test_util::Variant;

/// Inlining on and off.
fn engines() -> Vec<Engine> {
    nyash_test_util::engines(&[Variant::Default, Variant::NoInlining])
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

/// Lanes of four `i32`s as a `u128` (lane 0 in the low bits).
fn i32x4(l: [i32; 4]) -> u128 {
    l.iter()
        .rev()
        .fold(0u128, |acc, x| (acc << 32) | u128::from(*x as u32))
}

const MODULE: &str = r#"(module
  (import "host" "mix" (func $mix (param v128 i32 v128) (result v128)))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (type $bin (func (param v128 v128) (result v128)))
  (func $add (type $bin) local.get 0 local.get 1 i32x4.add)
  (func (export "add") (param v128 v128) (result v128)
    local.get 0 local.get 1 call $add)
  (func (export "call_host") (param v128) (result v128)
    local.get 0 i32.const 10 local.get 0 call $mix)
  ;; The global, added to the argument, then stored back.
  (func (export "bump") (param v128) (result v128)
    global.get $g local.get 0 i32x4.add global.set $g global.get $g)
)"#;

fn instance(engine: &Engine) -> (Store<()>, Instance) {
    let module = Module::new(engine, MODULE).unwrap();
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "host",
            "mix",
            |_: Caller<'_, ()>, a: u128, k: i32, b: u128| -> u128 {
                a.rotate_left(8) ^ b.wrapping_mul(k as u128)
            },
        )
        .unwrap();
    let mut store = Store::new(engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn typed_and_untyped_calls() {
    for engine in engines() {
        let (mut store, instance) = instance(&engine);
        let add = instance
            .get_typed_func::<(u128, u128), u128>(&mut store, "add")
            .unwrap();
        let (a, b) = (i32x4([1, -2, i32::MAX, 7]), i32x4([10, 20, 1, -7]));
        let sum = i32x4([11, 18, i32::MIN, 0]);
        assert_eq!(add.call(&mut store, (a, b)).unwrap(), sum);
        // The type is checked: v128 is not i64.
        assert!(
            instance
                .get_typed_func::<(u64, u64), u128>(&mut store, "add")
                .is_err()
        );

        let f = instance.get_func(&mut store, "add").unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut store, &[Val::V128(a), b.into()], &mut out)
            .unwrap();
        assert_eq!(out[0], Val::V128(sum));
        assert_eq!(out[0].v128(), Some(sum));
        assert_eq!(f.ty(&store).params, vec![ValType::V128, ValType::V128]);
    }
}

#[test]
fn host_functions_take_and_return_v128() {
    for engine in engines() {
        let (mut store, instance) = instance(&engine);
        let f = instance
            .get_typed_func::<u128, u128>(&mut store, "call_host")
            .unwrap();
        let x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        assert_eq!(
            f.call(&mut store, x).unwrap(),
            x.rotate_left(8) ^ x.wrapping_mul(10)
        );

        // An untyped host function (`Func::new`) as well.
        let module = Module::new(
            &engine,
            r#"(module (import "h" "f" (func $f (param v128) (result v128 i32)))
                (func (export "run") (param v128) (result v128 i32)
                  local.get 0 call $f))"#,
        )
        .unwrap();
        let ty = FuncType {
            params: vec![ValType::V128],
            results: vec![ValType::V128, ValType::I32],
        };
        let h = Func::new(&mut store, ty, |_, args, results| {
            let v = args[0].v128().unwrap();
            results[0] = Val::V128(!v);
            results[1] = Val::I32(v.count_ones() as i32);
            Ok(())
        })
        .unwrap();
        let i = Instance::new(&mut store, &module, &[h.into()]).unwrap();
        let run = i
            .get_typed_func::<u128, (u128, i32)>(&mut store, "run")
            .unwrap();
        assert_eq!(
            run.call(&mut store, x).unwrap(),
            (!x, x.count_ones() as i32)
        );
    }
}

#[test]
fn v128_globals() {
    for engine in engines() {
        let (mut store, instance) = instance(&engine);
        let g = instance.get_global(&mut store, "g").unwrap();
        assert_eq!(g.get(&mut store), Val::V128(i32x4([1, 2, 3, 4])));
        let bump = instance
            .get_typed_func::<u128, u128>(&mut store, "bump")
            .unwrap();
        let r = bump.call(&mut store, i32x4([10, 10, 10, -10])).unwrap();
        assert_eq!(r, i32x4([11, 12, 13, -6]));
        assert_eq!(g.get(&mut store), Val::V128(r));
        g.set(&mut store, Val::V128(u128::MAX)).unwrap();
        assert_eq!(
            bump.call(&mut store, i32x4([1, 1, 1, 1])).unwrap(),
            0,
            "-1 + 1 in every lane"
        );

        // An imported v128 global, defined by the host.
        let module = Module::new(
            &engine,
            r#"(module (import "h" "g" (global $g v128))
                (func (export "get") (result v128) global.get $g))"#,
        )
        .unwrap();
        let host_g = Global::new(
            &mut store,
            GlobalType {
                content: ValType::V128,
                mutable: false,
            },
            Val::V128(u128::MAX - 1),
        )
        .unwrap();
        let i = Instance::new(&mut store, &module, &[host_g.into()]).unwrap();
        let get = i.get_typed_func::<(), u128>(&mut store, "get").unwrap();
        assert_eq!(get.call(&mut store, ()).unwrap(), u128::MAX - 1);
    }
}

/// SIMD needs SSE4.1 on x86-64: an engine told not to use it refuses SIMD
/// modules with an error that says so, and still runs the others.
#[cfg(target_arch = "x86_64")]
#[test]
fn simd_without_sse41_is_a_clear_error() {
    let mut c = Config::new();
    c.disable_cpu_feature("has_sse41");
    let engine = Engine::new(&c).unwrap();
    let err = Module::new(&engine, MODULE).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Compile(nyash_engine::CompileError::Unsupported(_))
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("SIMD needs") && msg.contains("SSE4.1"),
        "{msg}"
    );
    Module::new(&engine, "(module (func (export \"f\")))").unwrap();

    let mut c = Config::new();
    c.disable_cpu_feature("has_no_such_thing");
    assert!(Engine::new(&c).is_err());
}

/// `f32x4.relaxed_madd` and `relaxed_nmadd` of lanes where one rounding
/// (fused) and two (a multiply, then an add) differ: `a = 1 + 2^-12`,
/// `a * a = 1 + 2^-11 + 2^-24` exactly, which rounds to `1 + 2^-11`.
const MADD: &str = r#"(module
  (func (export "madd") (param f32 f32) (result f32)
    local.get 0 f32x4.splat local.get 0 f32x4.splat local.get 1 f32x4.splat
    f32x4.relaxed_madd f32x4.extract_lane 0)
  (func (export "nmadd") (param f32 f32) (result f32)
    local.get 0 f32x4.splat local.get 0 f32x4.splat local.get 1 f32x4.splat
    f32x4.relaxed_nmadd f32x4.extract_lane 0)
  (func (export "madd64") (param f64 f64) (result f64)
    local.get 0 f64x2.splat local.get 0 f64x2.splat local.get 1 f64x2.splat
    f64x2.relaxed_madd f64x2.extract_lane 1))"#;

/// `(madd, nmadd, madd64)` on lanes where fused and unfused differ.
fn madd_results(engine: &Engine) -> (f32, f32, f64) {
    let module = Module::new(engine, MADD).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let a = 1.0 + f32::powi(2.0, -12);
    let c = 1.0 + f32::powi(2.0, -11);
    let madd = instance
        .get_typed_func::<(f32, f32), f32>(&mut store, "madd")
        .unwrap();
    let nmadd = instance
        .get_typed_func::<(f32, f32), f32>(&mut store, "nmadd")
        .unwrap();
    let madd64 = instance
        .get_typed_func::<(f64, f64), f64>(&mut store, "madd64")
        .unwrap();
    let a64 = 1.0 + f64::powi(2.0, -27);
    let c64 = 1.0 + f64::powi(2.0, -26);
    (
        madd.call(&mut store, (a, -c)).unwrap(),
        nmadd.call(&mut store, (a, c)).unwrap(),
        madd64.call(&mut store, (a64, -c64)).unwrap(),
    )
}

/// Deterministic mode: an unfused multiply-add on every CPU. Otherwise
/// fused where the CPU has FMA, unfused where it does not.
#[test]
fn relaxed_madd_fused_only_when_not_deterministic() {
    let unfused = (0.0, 0.0, 0.0);
    let fused = (
        f32::powi(2.0, -24),
        -f32::powi(2.0, -24),
        f64::powi(2.0, -54),
    );
    let mut c = Config::new();
    c.relaxed_simd_deterministic(true);
    assert_eq!(madd_results(&Engine::new(&c).unwrap()), unfused);

    #[cfg(target_arch = "x86_64")]
    let has_fma = std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let has_fma = true;
    let expected = if has_fma { fused } else { unfused };
    assert_eq!(madd_results(&Engine::default()), expected);

    #[cfg(target_arch = "x86_64")]
    {
        let mut c = Config::new();
        c.disable_cpu_feature("has_fma");
        assert_eq!(madd_results(&Engine::new(&c).unwrap()), unfused);
        // Without SSE4.1, relaxed SIMD is refused like SIMD.
        let mut c = Config::new();
        c.disable_cpu_feature("has_sse41");
        let err = Module::new(&Engine::new(&c).unwrap(), MADD).unwrap_err();
        assert!(err.to_string().contains("SIMD needs"), "{err}");
    }
}

/// The deterministic switch is part of the compiler's fingerprint: an
/// artifact from one setting is refused by an engine with the other, and
/// loads in an engine with the same one.
#[test]
fn relaxed_simd_deterministic_is_in_the_fingerprint() {
    let engine = |deterministic: bool| {
        let mut c = Config::new();
        c.relaxed_simd_deterministic(deterministic);
        Engine::new(&c).unwrap()
    };
    for (from, to) in [(false, true), (true, false)] {
        let bytes = Module::new(&engine(from), MADD)
            .unwrap()
            .serialize()
            .unwrap();
        // SAFETY: the artifact was made by this build just above.
        let err = unsafe { Module::deserialize(&engine(to), &bytes) }.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Artifact(_)), "{err}");
        let same = engine(from);
        // SAFETY: as above.
        let module = unsafe { Module::deserialize(&same, &bytes) }.unwrap();
        let mut store = Store::new(&same, ());
        Instance::new(&mut store, &module, &[]).unwrap();
    }
}
