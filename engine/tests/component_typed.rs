//! Typed component functions: `ComponentType`/`Lift`/`Lower` for every
//! kind of value, `Instance::get_typed_func`, `LinkerInstance::func_wrap`,
//! the derive macros and `flags!`.
//!
//! Most tests use one shape of component: it imports `echo: func(x: T) ->
//! T` in an instance `host` and exports `echo` of the same type, whose core
//! function only calls the lowered import (passing a return area when the
//! result goes through memory). A value then crosses four times: lowered
//! by the caller into the guest, lifted by the host function, lowered by
//! it, lifted for the caller. Each value goes through three pairings:
//! typed host and typed call; typed host and a dynamic `Func::call` (the
//! result compared with the `Val` expected); dynamic host (`func_new`) and
//! typed call. The dynamic form passes the official reference tests, so
//! the typed layer's layout, flattening and string transcoding are checked
//! against it in both directions.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Debug;

use nyash_engine::component::{
    Component, ComponentNamedList, ComponentType, Lift, Linker, Lower, Val, flags,
};
use nyash_engine::{ComponentTrap, Engine, Store, TrapCode};

// ---------------------------------------------------------------------
// Counting allocations (per thread: tests run in parallel)

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

// ---------------------------------------------------------------------
// The echo component

/// One echo component: the interface type `ty` (written in the component
/// text format; named types are defined in `defs` inside the imported
/// instance type, which exports the type as `t`), its flat core
/// parameters, whether its result goes through memory, and the string
/// encoding of both sides' canonical options.
struct Echo<'a> {
    defs: &'a str,
    ty: &'a str,
    core_params: &'a str,
    core_result: Option<&'a str>,
    encoding: &'a str,
}

impl Echo<'_> {
    fn wat(&self) -> String {
        let Echo {
            defs,
            ty,
            core_params,
            core_result,
            encoding,
        } = self;
        let n = core_params.split_whitespace().count();
        let args: String = (0..n).map(|i| format!("(local.get {i}) ")).collect();
        // A named type is taken out of the instance and exported, so the
        // export's type may use it; an anonymous one is written inline.
        let (alias, ety) = if defs.is_empty() {
            (String::new(), ty.to_string())
        } else {
            (
                r#"(alias export $h "t" (type $t)) (export $te "t" (type $t))"#.to_string(),
                "$te".to_string(),
            )
        };
        let ity = if defs.is_empty() { ty } else { "$t" };
        let (import_sig, export_sig, body) = match core_result {
            Some(r) => (
                format!("(param {core_params}) (result {r})"),
                format!("(param {core_params}) (result {r})"),
                format!("(call $e {args})"),
            ),
            None => (
                format!("(param {core_params} i32)"),
                format!("(param {core_params}) (result i32)"),
                format!("(call $e {args} (i32.const 512)) (i32.const 512)"),
            ),
        };
        format!(
            r#"(component
  (import "host" (instance $h
    {defs}
    (export "echo" (func (param "x" {ity}) (result {ity})))))
  (alias export $h "echo" (func $echo))
  {alias}
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 4096))
    (func (export "realloc") (param $old i32) (param $os i32) (param $al i32) (param $ns i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $al) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $al))))
      (global.set $next (i32.add (local.get $r) (local.get $ns)))
      (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.add (i32.shr_u (local.get $ns) (i32.const 16)) (i32.const 1))))))
      (if (local.get $old)
        (then (memory.copy (local.get $r) (local.get $old)
          (select (local.get $os) (local.get $ns) (i32.lt_u (local.get $os) (local.get $ns))))))
      (local.get $r)))
  (core instance $libc (instantiate $libc))
  (core func $echo_lowered (canon lower (func $echo)
    (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")) string-encoding={encoding}))
  (core module $m
    (import "host" "echo" (func $e {import_sig}))
    (func (export "echo") {export_sig} {body}))
  (core instance $i (instantiate $m
    (with "host" (instance (export "echo" (func $echo_lowered))))))
  (func (export "echo") (param "x" {ety}) (result {ety})
    (canon lift (core func $i "echo")
      (memory (core memory $libc "mem")) (realloc (core func $libc "realloc")) string-encoding={encoding})))"#
        )
    }
}

fn echo(ty: &str, core_params: &str, core_result: Option<&str>) -> Echo<'static> {
    Echo {
        defs: "",
        ty: Box::leak(ty.to_string().into_boxed_str()),
        core_params: Box::leak(core_params.to_string().into_boxed_str()),
        core_result: core_result.map(|r| &*Box::leak(r.to_string().into_boxed_str())),
        encoding: "utf8",
    }
}

/// Runs `v` through the echo component in the three pairings (see the
/// module docs); `val` is the same value in its dynamic form.
fn check<T>(e: &Echo<'_>, v: T, val: Val)
where
    T: ComponentType + Lift + Lower + Clone + PartialEq + Debug + Send + Sync + 'static,
{
    let wat = e.wat();
    let engine = Engine::default();
    let component = Component::new(&engine, &wat).unwrap_or_else(|err| panic!("{err}\n{wat}"));

    // Typed host, typed call.
    let mut typed = Linker::<()>::new(&engine);
    typed
        .instance("host")
        .unwrap()
        .func_wrap("echo", |_, (x,): (T,)| Ok((x,)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = typed.instantiate(&mut store, &component).unwrap();
    let f = inst
        .get_typed_func::<(T,), (T,)>(&mut store, "echo")
        .unwrap();
    let (out,) = f.call(&mut store, (v.clone(),)).unwrap();
    assert_eq!(out, v, "typed host, typed call ({})", e.ty);
    // Again: the instance is usable after a call.
    let (out,) = f.call(&mut store, (v.clone(),)).unwrap();
    assert_eq!(out, v, "second typed call ({})", e.ty);

    // Typed host, dynamic call.
    let mut store = Store::new(&engine, ());
    let inst = typed.instantiate(&mut store, &component).unwrap();
    let f = inst.get_func(&mut store, "echo").unwrap();
    let mut out = [Val::Bool(false)];
    f.call(&mut store, std::slice::from_ref(&val), &mut out)
        .unwrap();
    assert_eq!(out[0], val, "typed host, dynamic call ({})", e.ty);

    // Dynamic host, typed call.
    let mut dynamic = Linker::<()>::new(&engine);
    dynamic
        .instance("host")
        .unwrap()
        .func_new("echo", |_, p, r| {
            r[0] = p[0].clone();
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = dynamic.instantiate(&mut store, &component).unwrap();
    let f = inst
        .get_typed_func::<(T,), (T,)>(&mut store, "echo")
        .unwrap();
    let (out,) = f.call(&mut store, (v.clone(),)).unwrap();
    assert_eq!(out, v, "dynamic host, typed call ({})", e.ty);
}

// ---------------------------------------------------------------------
// Primitives

#[test]
fn primitives() {
    check(&echo("bool", "i32", Some("i32")), true, Val::Bool(true));
    check(&echo("bool", "i32", Some("i32")), false, Val::Bool(false));
    check(&echo("s8", "i32", Some("i32")), -100i8, Val::S8(-100));
    check(&echo("u8", "i32", Some("i32")), 250u8, Val::U8(250));
    check(
        &echo("s16", "i32", Some("i32")),
        -30000i16,
        Val::S16(-30000),
    );
    check(&echo("u16", "i32", Some("i32")), 65000u16, Val::U16(65000));
    check(
        &echo("s32", "i32", Some("i32")),
        i32::MIN,
        Val::S32(i32::MIN),
    );
    check(
        &echo("u32", "i32", Some("i32")),
        u32::MAX,
        Val::U32(u32::MAX),
    );
    check(
        &echo("s64", "i64", Some("i64")),
        i64::MIN,
        Val::S64(i64::MIN),
    );
    check(
        &echo("u64", "i64", Some("i64")),
        u64::MAX,
        Val::U64(u64::MAX),
    );
    check(
        &echo("f32", "f32", Some("f32")),
        -1.5f32,
        Val::Float32(-1.5),
    );
    check(
        &echo("f64", "f64", Some("f64")),
        1e300f64,
        Val::Float64(1e300),
    );
    check(&echo("char", "i32", Some("i32")), '🍰', Val::Char('🍰'));
}

#[test]
fn lifted_nans_are_canonical() {
    let e = echo("f32", "f32", Some("f32"));
    let engine = Engine::default();
    let component = Component::new(&engine, e.wat()).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("echo", |_, (x,): (f32,)| {
            assert!(x.is_nan());
            Ok((f32::from_bits(0x7fc0_0000),))
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &component).unwrap();
    let f = inst
        .get_typed_func::<(f32,), (f32,)>(&mut store, "echo")
        .unwrap();
    let (out,) = f.call(&mut store, (f32::from_bits(0xffc0_1234),)).unwrap();
    assert_eq!(out.to_bits(), 0x7fc0_0000);
}

// ---------------------------------------------------------------------
// Strings and lists

const TEXTS: &[&str] = &[
    "",
    "hello",
    "héllo wörld",        // Latin-1 only
    "snow ☃ and cake 🍰", // past Latin-1: UTF-16 in latin1+utf16
    "ÿ then Ā",           // the first non-Latin-1 character late
];

#[test]
fn strings_in_every_encoding() {
    for encoding in ["utf8", "utf16", "latin1+utf16"] {
        let e = Echo {
            encoding,
            ..echo("string", "i32 i32", None)
        };
        for s in TEXTS {
            check(&e, s.to_string(), Val::String(s.to_string()));
        }
        // A long one: the allocation grows in the guest.
        let long: String = "añ🍰".repeat(20_000);
        check(&e, long.clone(), Val::String(long));
    }
}

#[test]
fn borrowed_and_boxed_strings_and_slices_lower() {
    let engine = Engine::default();
    let component = Component::new(&engine, echo("string", "i32 i32", None).wat()).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("echo", |_, (x,): (Box<str>,)| Ok((x,)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &component).unwrap();
    let f = inst
        .get_typed_func::<(&str,), (String,)>(&mut store, "echo")
        .unwrap();
    assert_eq!(f.call(&mut store, ("borrowed",)).unwrap().0, "borrowed");

    let component = Component::new(&engine, echo("(list u16)", "i32 i32", None).wat()).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("echo", |_, (x,): (Box<[u16]>,)| Ok((x,)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &component).unwrap();
    let f = inst
        .get_typed_func::<(&[u16],), (Vec<u16>,)>(&mut store, "echo")
        .unwrap();
    assert_eq!(
        f.call(&mut store, (&[1u16, 2, 65535][..],)).unwrap().0,
        vec![1, 2, 65535]
    );
}

#[test]
fn lists() {
    let e = echo("(list u8)", "i32 i32", None);
    let bytes: Vec<u8> = (0..=255).collect();
    let val = Val::List(bytes.iter().map(|b| Val::U8(*b)).collect());
    check(&e, bytes, val);
    check(&e, Vec::<u8>::new(), Val::List(vec![]));

    let e = echo("(list s64)", "i32 i32", None);
    let v = vec![-1i64, 0, i64::MAX];
    check(
        &e,
        v.clone(),
        Val::List(v.iter().map(|x| Val::S64(*x)).collect()),
    );

    let e = echo("(list f64)", "i32 i32", None);
    check(
        &e,
        vec![0.5f64, -2.0],
        Val::List(vec![Val::Float64(0.5), Val::Float64(-2.0)]),
    );

    let e = echo("(list bool)", "i32 i32", None);
    check(
        &e,
        vec![true, false, true],
        Val::List(vec![Val::Bool(true), Val::Bool(false), Val::Bool(true)]),
    );

    let e = echo("(list char)", "i32 i32", None);
    check(
        &e,
        vec!['a', '☃'],
        Val::List(vec![Val::Char('a'), Val::Char('☃')]),
    );

    for encoding in ["utf8", "utf16", "latin1+utf16"] {
        let e = Echo {
            encoding,
            ..echo("(list string)", "i32 i32", None)
        };
        let v: Vec<String> = TEXTS.iter().map(|s| s.to_string()).collect();
        let val = Val::List(v.iter().map(|s| Val::String(s.clone())).collect());
        check(&e, v, val);
    }

    let e = echo("(list (list u32))", "i32 i32", None);
    let v = vec![vec![1u32, 2], vec![], vec![3]];
    let val = Val::List(
        v.iter()
            .map(|l| Val::List(l.iter().map(|x| Val::U32(*x)).collect()))
            .collect(),
    );
    check(&e, v, val);
}

// ---------------------------------------------------------------------
// Options, results, tuples

fn some(v: Val) -> Option<Box<Val>> {
    Some(Box::new(v))
}

#[test]
fn options_results_tuples() {
    let e = echo("(option u32)", "i32 i32", None);
    check(&e, Some(7u32), Val::Option(some(Val::U32(7))));
    check(&e, None::<u32>, Val::Option(None));

    let e = echo("(option string)", "i32 i32 i32", None);
    check(
        &e,
        Some("x".to_string()),
        Val::Option(some(Val::String("x".into()))),
    );
    check(&e, None::<String>, Val::Option(None));

    // One flat slot: the result comes back flat, not through memory.
    let e = echo("(option bool)", "i32 i32", None);
    check(&e, Some(true), Val::Option(some(Val::Bool(true))));

    let e = echo("(result string (error u32))", "i32 i32 i32", None);
    check(
        &e,
        Ok::<String, u32>("fine".into()),
        Val::Result(Ok(some(Val::String("fine".into())))),
    );
    check(
        &e,
        Err::<String, u32>(404),
        Val::Result(Err(some(Val::U32(404)))),
    );

    let e = echo("(result (error string))", "i32 i32 i32", None);
    check(&e, Ok::<(), String>(()), Val::Result(Ok(None)));
    check(
        &e,
        Err::<(), String>("bad".into()),
        Val::Result(Err(some(Val::String("bad".into())))),
    );

    let e = echo("(result u64 (error f32))", "i32 i64", None);
    check(
        &e,
        Ok::<u64, f32>(u64::MAX),
        Val::Result(Ok(some(Val::U64(u64::MAX)))),
    );
    check(
        &e,
        Err::<u64, f32>(2.5),
        Val::Result(Err(some(Val::Float32(2.5)))),
    );

    let e = echo("(result)", "i32", Some("i32"));
    check(&e, Ok::<(), ()>(()), Val::Result(Ok(None)));
    check(&e, Err::<(), ()>(()), Val::Result(Err(None)));

    let e = echo("(tuple u8 string f64)", "i32 i32 i32 f64", None);
    check(
        &e,
        (1u8, "two".to_string(), 3.0f64),
        Val::Tuple(vec![
            Val::U8(1),
            Val::String("two".into()),
            Val::Float64(3.0),
        ]),
    );

    let e = echo(
        "(option (tuple (option u16) (list string)))",
        "i32 i32 i32 i32 i32",
        None,
    );
    let v = Some((Some(9u16), vec!["a".to_string()]));
    let val = Val::Option(some(Val::Tuple(vec![
        Val::Option(some(Val::U16(9))),
        Val::List(vec![Val::String("a".into())]),
    ])));
    check(&e, v, val);
}

#[test]
fn seventeen_flat_values_go_through_memory() {
    // tuple<tuple<u32 x 8>, tuple<u32 x 8>, u32>: 17 flat values, past the
    // 16 a call passes flat, so the argument goes through memory in both
    // directions.
    let inner = format!("(tuple {})", ["u32"; 8].join(" "));
    let e = echo(&format!("(tuple {inner} {inner} u32)"), "i32", None);
    type T8 = (u32, u32, u32, u32, u32, u32, u32, u32);
    let a: T8 = (1, 2, 3, 4, 5, 6, 7, 8);
    let b: T8 = (9, 10, 11, 12, 13, 14, 15, 16);
    let val = Val::Tuple(vec![
        Val::Tuple((1..=8).map(Val::U32).collect()),
        Val::Tuple((9..=16).map(Val::U32).collect()),
        Val::U32(17),
    ]);
    check(&e, (a, b, 17u32), val);
}

// ---------------------------------------------------------------------
// Derived records, variants, enums, flags

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
struct Person {
    name: String,
    #[component(name = "years")]
    age_in_years: u8,
    tags: Vec<String>,
    height_cm: Option<f32>,
}

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(variant)]
enum Shape {
    Empty,
    Circle(f32),
    BigNumber(u64),
    #[component(name = "label")]
    Named(String),
    Point(Point),
}

#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq)]
#[component(record)]
struct Point {
    x: i32,
    y: i32,
}

/// A generic record whose field names are those of the derived code's
/// own variables.
#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
struct Pair<T> {
    cx: T,
    src: T,
    offset: Vec<T>,
}

#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq)]
#[component(enum)]
enum Color {
    Red,
    GreenYellow,
    Blue,
}

flags! {
    /// Some permissions.
    Perms {
        const READ;
        const WRITE;
        #[component(name = "run")]
        const EXECUTE;
    }
}

flags! {
    Many {
        const F0; const F1; const F2; const F3; const F4; const F5; const F6; const F7;
        const F8; const F9; const F10; const F11; const F12; const F13; const F14; const F15;
        const F16; const F17;
    }
}

#[test]
fn derived_record() {
    let e = Echo {
        defs: r#"(type $r (record (field "name" string) (field "years" u8)
                   (field "tags" (list string)) (field "height-cm" (option f32))))
                 (export "t" (type $t (eq $r)))"#,
        ..echo("", "i32 i32 i32 i32 i32 i32 f32", None)
    };
    let p = Person {
        name: "Ada".into(),
        age_in_years: 36,
        tags: vec!["math".into(), "engines".into()],
        height_cm: Some(165.5),
    };
    let val = Val::Record(vec![
        ("name".into(), Val::String("Ada".into())),
        ("years".into(), Val::U8(36)),
        (
            "tags".into(),
            Val::List(vec![
                Val::String("math".into()),
                Val::String("engines".into()),
            ]),
        ),
        ("height-cm".into(), Val::Option(some(Val::Float32(165.5)))),
    ]);
    check(&e, p, val);
}

#[test]
fn derived_generic_record() {
    let e = Echo {
        defs: r#"(type $p (record (field "cx" string) (field "src" string)
                   (field "offset" (list string))))
                 (export "t" (type $t (eq $p)))"#,
        ..echo("", "i32 i32 i32 i32 i32 i32", None)
    };
    let p = Pair {
        cx: "a".to_string(),
        src: "b".to_string(),
        offset: vec!["c".to_string()],
    };
    let val = Val::Record(vec![
        ("cx".into(), Val::String("a".into())),
        ("src".into(), Val::String("b".into())),
        ("offset".into(), Val::List(vec![Val::String("c".into())])),
    ]);
    check(&e, p, val);
}

#[test]
fn derived_variant_with_joined_payload_slots() {
    // Payload slots: f32, i64, (i32 i32), (i32 i32) join to i64 i32.
    let e = Echo {
        defs: r#"(type $p (record (field "x" s32) (field "y" s32)))
                 (export "point" (type $pe (eq $p)))
                 (type $v (variant (case "empty") (case "circle" f32) (case "big-number" u64)
                   (case "label" string) (case "point" $pe)))
                 (export "t" (type $t (eq $v)))"#,
        ..echo("", "i32 i64 i32", None)
    };
    let cases = [
        (Shape::Empty, Val::Variant("empty".into(), None)),
        (
            Shape::Circle(1.25),
            Val::Variant("circle".into(), some(Val::Float32(1.25))),
        ),
        (
            Shape::BigNumber(u64::MAX - 1),
            Val::Variant("big-number".into(), some(Val::U64(u64::MAX - 1))),
        ),
        (
            Shape::Named("n☃".into()),
            Val::Variant("label".into(), some(Val::String("n☃".into()))),
        ),
        (
            Shape::Point(Point { x: -1, y: 2 }),
            Val::Variant(
                "point".into(),
                some(Val::Record(vec![
                    ("x".into(), Val::S32(-1)),
                    ("y".into(), Val::S32(2)),
                ])),
            ),
        ),
    ];
    for (v, val) in cases {
        check(&e, v, val);
    }
}

#[test]
fn derived_enum_and_flags() {
    let e = Echo {
        defs: r#"(type $e (enum "red" "green-yellow" "blue"))
                 (export "t" (type $t (eq $e)))"#,
        ..echo("", "i32", Some("i32"))
    };
    check(&e, Color::GreenYellow, Val::Enum("green-yellow".into()));
    check(&e, Color::Blue, Val::Enum("blue".into()));

    let e = Echo {
        defs: r#"(type $f (flags "read" "write" "run"))
                 (export "t" (type $t (eq $f)))"#,
        ..echo("", "i32", Some("i32"))
    };
    check(
        &e,
        Perms::READ | Perms::EXECUTE,
        Val::Flags(vec!["read".into(), "run".into()]),
    );
    check(&e, Perms::empty(), Val::Flags(vec![]));
    check(
        &e,
        Perms::all(),
        Val::Flags(vec!["read".into(), "write".into(), "run".into()]),
    );
    assert!((Perms::READ | Perms::WRITE).contains(Perms::WRITE));
    assert_eq!(
        format!("{:?}", Perms::READ | Perms::EXECUTE),
        "Perms(READ | EXECUTE)"
    );
    assert_eq!(!Perms::READ, Perms::WRITE | Perms::EXECUTE);

    // 18 flags: stored in 4 bytes, one flat value.
    let names: Vec<String> = (0..18).map(|i| format!("\"f{i}\"")).collect();
    let defs = format!(
        r#"(type $f (flags {})) (export "t" (type $t (eq $f)))"#,
        names.join(" ")
    );
    let e = Echo {
        defs: &defs,
        ..echo("", "i32", Some("i32"))
    };
    check(
        &e,
        Many::F0 | Many::F17,
        Val::Flags(vec!["f0".into(), "f17".into()]),
    );
    // And in memory, in a list.
    let defs = format!(
        r#"(type $f (flags {})) (export "m" (type $m (eq $f))) (type $l (list $m)) (export "t" (type $t (eq $l)))"#,
        names.join(" ")
    );
    let e = Echo {
        defs: &defs,
        ..echo("", "i32 i32", None)
    };
    check(
        &e,
        vec![Many::F1, Many::F16 | Many::F2],
        Val::List(vec![
            Val::Flags(vec!["f1".into()]),
            Val::Flags(vec!["f2".into(), "f16".into()]),
        ]),
    );
}

#[test]
fn derived_types_in_lists() {
    let e = Echo {
        defs: r#"(type $p (record (field "x" s32) (field "y" s32)))
                 (export "point" (type $pe (eq $p)))
                 (type $l (list $pe))
                 (export "t" (type $t (eq $l)))"#,
        ..echo("", "i32 i32", None)
    };
    let pts: Vec<Point> = (0..1000).map(|i| Point { x: i, y: -i }).collect();
    let val = Val::List(
        pts.iter()
            .map(|p| {
                Val::Record(vec![
                    ("x".into(), Val::S32(p.x)),
                    ("y".into(), Val::S32(p.y)),
                ])
            })
            .collect(),
    );
    check(&e, pts, val);
}

// ---------------------------------------------------------------------
// Type checks

#[test]
fn get_typed_func_checks_the_type_and_names_it() {
    let engine = Engine::default();
    let component = Component::new(&engine, echo("(list string)", "i32 i32", None).wat()).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("echo", |_, (x,): (Vec<String>,)| Ok((x,)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &component).unwrap();

    let err = inst
        .get_typed_func::<(Vec<u32>,), (Vec<String>,)>(&mut store, "echo")
        .unwrap_err()
        .to_string();
    assert!(err.contains("function `echo`"), "{err}");
    assert!(err.contains("parameter `x`"), "{err}");
    assert!(err.contains("expected string, found `u32`"), "{err}");

    let err = inst
        .get_typed_func::<(Vec<String>,), ()>(&mut store, "echo")
        .unwrap_err()
        .to_string();
    assert!(err.contains("function `echo`"), "{err}");
    assert!(err.contains("expected 1 results, found none"), "{err}");

    let err = inst
        .get_typed_func::<(Vec<String>, u32), (Vec<String>,)>(&mut store, "echo")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected 1 parameters, found 2"), "{err}");

    let err = inst
        .get_typed_func::<(Vec<String>,), (Vec<String>,)>(&mut store, "nope")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no exported function `nope`"), "{err}");

    // A derived record against a record with other field names.
    let e = Echo {
        defs: r#"(type $p (record (field "x" s32) (field "z" s32)))
                 (export "t" (type $t (eq $p)))"#,
        ..echo("", "i32 i32", None)
    };
    let component = Component::new(&engine, e.wat()).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_new("echo", |_, p, r| {
            r[0] = p[0].clone();
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine, ());
    let inst = linker.instantiate(&mut store, &component).unwrap();
    let err = inst
        .get_typed_func::<(Point,), (Point,)>(&mut store, "echo")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected field `z`, found `y` in `Point`"),
        "{err}"
    );
}

#[test]
fn func_wrap_is_checked_at_instantiation_naming_the_import() {
    let engine = Engine::default();
    let component = Component::new(&engine, echo("(option u32)", "i32 i32", None).wat()).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("echo", |_, (x,): (Option<String>,)| Ok((x,)))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let err = linker
        .instantiate(&mut store, &component)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`host::echo`"), "{err}");
    assert!(
        err.contains("parameter `x`: in an option: type mismatch: expected u32, found `string`"),
        "{err}"
    );
}

// ---------------------------------------------------------------------
// Calls: traps, post-return, allocation, typed vs dynamic

const CALLS: &str = r#"(component
  (core module $m
    (memory (export "mem") 1)
    (global $post (mut i32) (i32.const 0))
    (func (export "add1") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func (export "trap") (param i32) (result i32) unreachable)
    (func (export "hello") (result i32)
      (i32.store (i32.const 16) (i32.const 64))
      (i32.store (i32.const 20) (i32.const 5))
      (i32.const 16))
    (func (export "post") (param i32) (global.set $post (i32.add (global.get $post) (i32.const 1))))
    (func (export "posts") (result i32) (global.get $post))
    (func (export "bad-string") (result i32)
      (i32.store (i32.const 16) (i32.const 69))
      (i32.store (i32.const 20) (i32.const 2))
      (i32.const 16))
    (data (i32.const 64) "hello\ff\fe"))
  (core instance $i (instantiate $m))
  (func (export "add1") (param "x" u32) (result u32) (canon lift (core func $i "add1")))
  (func (export "trap") (param "x" u32) (result u32) (canon lift (core func $i "trap")))
  (func (export "hello") (result string)
    (canon lift (core func $i "hello") (memory (core memory $i "mem"))
      (post-return (core func $i "post"))))
  (func (export "posts") (result u32) (canon lift (core func $i "posts")))
  (func (export "bad-string") (result string)
    (canon lift (core func $i "bad-string") (memory (core memory $i "mem")))))"#;

fn calls() -> (Store<()>, nyash_engine::component::Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, CALLS).unwrap();
    let mut store = Store::new(&engine, ());
    let inst = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    (store, inst)
}

#[test]
fn typed_and_dynamic_calls_agree() {
    let (mut store, inst) = calls();
    let typed = inst
        .get_typed_func::<(u32,), (u32,)>(&mut store, "add1")
        .unwrap();
    let dynamic = inst.get_func(&mut store, "add1").unwrap();
    for x in [0u32, 1, 41, u32::MAX] {
        let (t,) = typed.call(&mut store, (x,)).unwrap();
        let mut d = [Val::U32(0)];
        dynamic.call(&mut store, &[Val::U32(x)], &mut d).unwrap();
        assert_eq!(Val::U32(t), d[0]);
        assert_eq!(t, x.wrapping_add(1));
    }
    // The typed function is the dynamic one, typed.
    assert_eq!(*typed.func(), dynamic);
    let again = dynamic.typed::<(u32,), (u32,)>(&store).unwrap();
    assert_eq!(again.call(&mut store, (2,)).unwrap(), (3,));
}

#[test]
fn post_return_runs_after_a_typed_call() {
    let (mut store, inst) = calls();
    let hello = inst
        .get_typed_func::<(), (String,)>(&mut store, "hello")
        .unwrap();
    let posts = inst
        .get_typed_func::<(), (u32,)>(&mut store, "posts")
        .unwrap();
    assert_eq!(posts.call(&mut store, ()).unwrap(), (0,));
    assert_eq!(hello.call(&mut store, ()).unwrap().0, "hello");
    assert_eq!(hello.call(&mut store, ()).unwrap().0, "hello");
    assert_eq!(posts.call(&mut store, ()).unwrap(), (2,));
}

fn trap_of(e: &nyash_engine::Error) -> Option<TrapCode> {
    e.trap_code()
}

#[test]
fn a_trap_poisons_the_instance() {
    let (mut store, inst) = calls();
    let trap = inst
        .get_typed_func::<(u32,), (u32,)>(&mut store, "trap")
        .unwrap();
    let add1 = inst
        .get_typed_func::<(u32,), (u32,)>(&mut store, "add1")
        .unwrap();
    let err = trap.call(&mut store, (1,)).unwrap_err();
    assert_eq!(
        trap_of(&err),
        Some(TrapCode::UnreachableCodeReached),
        "{err}"
    );
    let err = add1.call(&mut store, (1,)).unwrap_err();
    assert_eq!(
        trap_of(&err),
        Some(TrapCode::Component(ComponentTrap::CannotEnter)),
        "{err}"
    );
}

#[test]
fn a_bad_string_from_the_guest_traps_as_the_dynamic_form_does() {
    let (mut store, inst) = calls();
    let f = inst
        .get_typed_func::<(), (String,)>(&mut store, "bad-string")
        .unwrap();
    let err = f.call(&mut store, ()).unwrap_err();
    assert_eq!(
        trap_of(&err),
        Some(TrapCode::Component(ComponentTrap::InvalidUtf8)),
        "{err}"
    );
    let (mut store, inst) = calls();
    let f = inst.get_func(&mut store, "bad-string").unwrap();
    let mut out = [Val::Bool(false)];
    let dyn_err = f.call(&mut store, &[], &mut out).unwrap_err();
    assert_eq!(err.to_string(), dyn_err.to_string());
}

#[test]
fn a_u32_call_allocates_nothing() {
    let (mut store, inst) = calls();
    let f = inst
        .get_typed_func::<(u32,), (u32,)>(&mut store, "add1")
        .unwrap();
    // Warm up: the first call may grow the store's scope stack.
    f.call(&mut store, (1,)).unwrap();
    let before = allocs();
    let mut x = 0u32;
    for _ in 0..1000 {
        x = f.call(&mut store, (x,)).unwrap().0;
    }
    let n = allocs() - before;
    assert_eq!(x, 1000);
    assert_eq!(
        n, 0,
        "{n} heap allocations in 1000 typed (u32) -> u32 calls"
    );
    // The counter counts: the dynamic call of the same function allocates.
    let d = inst.get_func(&mut store, "add1").unwrap();
    let mut out = [Val::U32(0)];
    d.call(&mut store, &[Val::U32(1)], &mut out).unwrap();
    let before = allocs();
    d.call(&mut store, &[Val::U32(1)], &mut out).unwrap();
    assert!(allocs() > before, "the allocation counter counts nothing");
}

#[test]
fn a_host_error_fails_the_call() {
    let engine = Engine::default();
    let component = Component::new(&engine, echo("u32", "i32", Some("i32")).wat()).unwrap();
    let mut linker = Linker::<u32>::new(&engine);
    linker
        .instance("host")
        .unwrap()
        .func_wrap("echo", |mut store, (x,): (u32,)| {
            use nyash_engine::AsContextMut;
            *store.as_context_mut().data_mut() += 1;
            if x == 13 {
                return Err(nyash_engine::Error::msg("unlucky"));
            }
            Ok((x,))
        })
        .unwrap();
    let mut store = Store::new(&engine, 0u32);
    let inst = linker.instantiate(&mut store, &component).unwrap();
    let f = inst
        .get_typed_func::<(u32,), (u32,)>(&mut store, "echo")
        .unwrap();
    assert_eq!(f.call(&mut store, (12,)).unwrap(), (12,));
    let err = f.call(&mut store, (13,)).unwrap_err().to_string();
    assert!(err.contains("unlucky"), "{err}");
    assert_eq!(*store.data(), 2);
}

/// `ComponentNamedList` is what parameter and result lists implement.
#[test]
fn named_lists() {
    fn is_list<T: ComponentNamedList>() {}
    is_list::<()>();
    is_list::<(u32,)>();
    is_list::<(u32, String, Vec<u8>)>();
    assert_eq!(<(u8, u32)>::SIZE32, 8);
    assert_eq!(<(u8, u32)>::ALIGN32, 4);
    assert_eq!(<Option<u64>>::SIZE32, 16);
    assert_eq!(<Result<(), String>>::FLAT_COUNT, 3);
    assert_eq!(Person::ALIGN32, 4);
    assert_eq!(Shape::FLAT_COUNT, 3);
    assert_eq!(Shape::SIZE32, 16);
    assert_eq!(Color::SIZE32, 1);
    assert_eq!(Many::SIZE32, 4);
}

#[test]
fn a_type_import_needs_no_definition_and_its_type_is_checked() {
    let engine = Engine::default();
    let component = Component::new(
        &engine,
        r#"(component
      (type $r (record (field "x" u32)))
      (import "r" (type $ri (eq $r)))
      (import "f" (func (param "a" $ri))))"#,
    )
    .unwrap();
    let mut linker = Linker::<()>::new(&engine);
    linker
        .root()
        .func_wrap("f", |_, (_p,): (u32,)| Ok(()))
        .unwrap();
    let mut store = Store::new(&engine, ());
    let err = linker
        .instantiate(&mut store, &component)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`f`: "), "{err}");
    assert!(
        err.contains("parameter `a`: type mismatch: expected record { x: u32 }"),
        "{err}"
    );

    let mut linker = Linker::<()>::new(&engine);
    linker
        .root()
        .func_wrap("f", |_, (_p,): (Point1,)| Ok(()))
        .unwrap();
    let mut store = Store::new(&engine, ());
    linker.instantiate(&mut store, &component).unwrap();
}

#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq)]
#[component(record)]
struct Point1 {
    x: u32,
}
