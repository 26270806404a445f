//! Compiled fused adapters (`nyash_aot::component::fact`): calls from one
//! component instance into another through generated core wasm, for every
//! scalar kind and the flat compound types, with the spec's lift checks on
//! the arguments and on the result (bool normalised, narrow integers
//! masked or sign-extended, NaNs canonical, `char` checked, discriminants
//! checked, flag bits past the type cleared, unused variant slots zeroed),
//! the traps' messages, lists of integers copied between the two
//! memories (range checks, the callee's `realloc` and its checks), and that
//! the adapters are actually compiled (not the host's dynamic adapter).
//!
//! The callee `$C` returns each flat slot it receives as a `u64` (`T-k`:
//! slot `k` of a `T`) or makes a `T` from raw bits (`mk-T`); the caller
//! `$D` passes raw core values (the root's `u32`/`u64` parameters, floats
//! as their bits) straight to the lowered import, so what `$C` sees is what
//! the adapter made of them.

use nyash_engine::component::{Component, Instance, Linker, Val};
use nyash_engine::{Engine, Store};

/// One interface type: its name, its definition, whether it is a named
/// (exported) type, its flat core types.
struct Case {
    name: &'static str,
    def: &'static str,
    named: bool,
    flat: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "bool",
        def: "bool",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "u8",
        def: "u8",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "s8",
        def: "s8",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "u16",
        def: "u16",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "s16",
        def: "s16",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "u32",
        def: "u32",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "s32",
        def: "s32",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "u64",
        def: "u64",
        named: false,
        flat: &["i64"],
    },
    Case {
        name: "s64",
        def: "s64",
        named: false,
        flat: &["i64"],
    },
    Case {
        name: "f32",
        def: "f32",
        named: false,
        flat: &["f32"],
    },
    Case {
        name: "f64",
        def: "f64",
        named: false,
        flat: &["f64"],
    },
    Case {
        name: "char",
        def: "char",
        named: false,
        flat: &["i32"],
    },
    Case {
        name: "rec",
        def: r#"(record (field "a" u8) (field "b" f32) (field "c" s64) (field "d" bool))"#,
        named: true,
        flat: &["i32", "f32", "i64", "i32"],
    },
    Case {
        name: "var",
        def: r#"(variant (case "a" f32) (case "b" u64) (case "c" u8) (case "d"))"#,
        named: true,
        flat: &["i32", "i64"],
    },
    Case {
        name: "tup",
        def: "(tuple u16 char f64)",
        named: false,
        flat: &["i32", "i32", "f64"],
    },
    Case {
        name: "opt",
        def: "(option f32)",
        named: false,
        flat: &["i32", "f32"],
    },
    Case {
        name: "res",
        def: "(result u8 (error f64))",
        named: false,
        flat: &["i32", "i64"],
    },
    Case {
        name: "fl",
        def: r#"(flags "a" "b" "c")"#,
        named: true,
        flat: &["i32"],
    },
    Case {
        name: "en",
        def: r#"(enum "x" "y" "z")"#,
        named: true,
        flat: &["i32"],
    },
];

/// A flat slot's value as an `i64` (`C`'s report of what it got).
fn to_i64(t: &str) -> &'static str {
    match t {
        "i32" => "i64.extend_i32_u",
        "i64" => "nop",
        "f32" => "i32.reinterpret_f32 i64.extend_i32_u",
        _ => "i64.reinterpret_f64",
    }
}

/// A raw value (`i32` for 32-bit slots, `i64` for 64-bit) as slot type `t`.
fn raw_ty(t: &str) -> &'static str {
    if t == "i32" || t == "f32" {
        "i32"
    } else {
        "i64"
    }
}

fn from_raw(t: &str) -> &'static str {
    match t {
        "f32" => "f32.reinterpret_i32",
        "f64" => "f64.reinterpret_i64",
        _ => "nop",
    }
}

/// A slot's type from an `i64`.
fn from_i64(t: &str) -> &'static str {
    match t {
        "i32" => "i32.wrap_i64",
        "i64" => "nop",
        "f32" => "i32.wrap_i64 f32.reinterpret_i32",
        _ => "f64.reinterpret_i64",
    }
}

fn ty_ref(c: &Case) -> String {
    if c.named {
        format!("${}", c.name)
    } else {
        c.def.to_string()
    }
}

fn component() -> String {
    let mut c_core = String::new();
    let mut c_items = String::new();
    let mut d_types = String::new();
    let mut d_funcs = String::new();
    let mut d_lower = String::new();
    let mut d_imports = String::new();
    let mut d_core = String::new();
    let mut d_with = String::new();
    let mut d_exports = String::new();
    let mut root_exports = String::new();
    let mut funcs = Vec::new();
    for c in CASES {
        let t = ty_ref(c);
        if c.named {
            c_items.push_str(&format!(
                "(type ${n}' {d}) (export ${n} \"{n}\" (type ${n}'))\n",
                n = c.name,
                d = c.def
            ));
            d_types.push_str(&format!(
                "(type ${n}' {d}) (export \"{n}\" (type ${n} (eq ${n}')))\n",
                n = c.name,
                d = c.def
            ));
            d_lower.push_str(&format!(
                "(alias export $c \"{n}\" (type ${n}))\n",
                n = c.name
            ));
        }
        let params: Vec<String> = c.flat.iter().map(|t| format!("(param {t})")).collect();
        let params = params.join(" ");
        for (k, slot) in c.flat.iter().enumerate() {
            let f = format!("{}-{k}", c.name);
            c_core.push_str(&format!(
                "(func (export \"{f}\") {params} (result i64) (local.get {k}) {})\n",
                to_i64(slot)
            ));
            c_items.push_str(&format!(
                "(func (export \"{f}\") (param \"x\" {t}) (result u64) (canon lift (core func $m \"{f}\")))\n"
            ));
            let raw: Vec<&str> = c.flat.iter().map(|t| raw_ty(t)).collect();
            funcs.push((
                f,
                format!("(param \"x\" {t}) (result u64)"),
                raw,
                c.flat.to_vec(),
                None,
            ));
        }
        if c.flat.len() == 1 {
            let f = format!("mk-{}", c.name);
            let slot = c.flat[0];
            c_core.push_str(&format!(
                "(func (export \"{f}\") (param i64) (result {slot}) (local.get 0) {})\n",
                from_i64(slot)
            ));
            c_items.push_str(&format!(
                "(func (export \"{f}\") (param \"x\" u64) (result {t}) (canon lift (core func $m \"{f}\")))\n"
            ));
            funcs.push((
                f,
                format!("(param \"x\" u64) (result {t})"),
                vec!["i64"],
                vec!["i64"],
                Some(slot),
            ));
        }
    }
    for (i, (f, sig, raw, flat, result)) in funcs.iter().enumerate() {
        d_funcs.push_str(&format!("(export \"{f}\" (func {sig}))\n"));
        d_lower.push_str(&format!(
            "(alias export $c \"{f}\" (func $f{i})) (core func $l{i} (canon lower (func $f{i})))\n"
        ));
        let core_params: Vec<String> = flat.iter().map(|t| format!("(param {t})")).collect();
        let core_result = match result {
            Some(t) => format!("(result {t})"),
            None => "(result i64)".into(),
        };
        d_imports.push_str(&format!(
            "(import \"i\" \"{f}\" (func $i{i} {} {core_result}))\n",
            core_params.join(" ")
        ));
        let raw_params: Vec<String> = raw.iter().map(|t| format!("(param {t})")).collect();
        let args: Vec<String> = flat
            .iter()
            .enumerate()
            .map(|(j, t)| format!("(local.get {j}) {}", from_raw(t)))
            .collect();
        let back = match result {
            Some(t) => to_i64(t),
            None => "nop",
        };
        d_core.push_str(&format!(
            "(func (export \"{f}\") {} (result i64) {} (call $i{i}) {back})\n",
            raw_params.join(" "),
            args.join(" ")
        ));
        d_with.push_str(&format!("(export \"{f}\" (func $l{i}))\n"));
        let lifted_params: Vec<String> = raw
            .iter()
            .enumerate()
            .map(|(j, t)| {
                format!(
                    "(param \"p{j}\" {})",
                    if *t == "i32" { "u32" } else { "u64" }
                )
            })
            .collect();
        d_exports.push_str(&format!(
            "(func (export \"{f}\") {} (result u64) (canon lift (core func $m \"{f}\")))\n",
            lifted_params.join(" ")
        ));
        root_exports.push_str(&format!("(export \"{f}\" (func $d \"{f}\"))\n"));
    }
    format!(
        r#"(component
  (component $C
    (core module $M {c_core})
    (core instance $m (instantiate $M))
    {c_items})
  (component $D
    (import "c" (instance $c {d_types} {d_funcs}))
    {d_lower}
    (core module $M {d_imports} {d_core})
    (core instance $m (instantiate $M (with "i" (instance {d_with}))))
    {d_exports})
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "c" (instance $c))))
  (export "c-u32-0" (func $c "u32-0"))
  {root_exports})"#
    )
}

fn setup() -> (Store<()>, Instance, Component) {
    let engine = Engine::default();
    let component = Component::new(&engine, component()).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    (store, i, component)
}

fn call(
    store: &mut Store<()>,
    i: &Instance,
    name: &str,
    args: &[u64],
) -> nyash_engine::Result<u64> {
    let f = i.get_func(&mut *store, name).expect("export");
    let params = f.params(&*store);
    let args: Vec<Val> = args
        .iter()
        .zip(params.iter())
        .map(|(a, (_, t))| match t {
            nyash_engine::component::Type::U32 => Val::U32(*a as u32),
            _ => Val::U64(*a),
        })
        .collect();
    let mut out = [Val::Bool(false)];
    f.call(&mut *store, &args, &mut out)?;
    match out[0] {
        Val::U64(x) => Ok(x),
        ref v => panic!("{name}: {v:?}"),
    }
}

fn trap_message(r: nyash_engine::Result<u64>) -> String {
    let e = r.expect_err("a trap");
    assert!(e.trap().is_some(), "not a trap: {e}");
    e.to_string()
}

#[test]
fn every_adapter_is_compiled() {
    let (_, _, component) = setup();
    let (compiled, all) = component.compiled_adapters();
    assert!(all > 40, "{all} adapters");
    assert_eq!(compiled, all);
}

#[test]
fn arguments_are_lifted_with_the_specs_checks() {
    let (mut s, i, _) = setup();
    let mut c = |name: &str, args: &[u64]| call(&mut s, &i, name, args).unwrap();
    assert_eq!(c("bool-0", &[2]), 1);
    assert_eq!(c("bool-0", &[0x8000_0000]), 1);
    assert_eq!(c("bool-0", &[0]), 0);
    assert_eq!(c("u8-0", &[511]), 255);
    assert_eq!(c("s8-0", &[128]), 0xffff_ff80);
    assert_eq!(c("s8-0", &[383]), 127);
    assert_eq!(c("u16-0", &[74565]), 9029);
    assert_eq!(c("s16-0", &[32768]), 0xffff_8000);
    assert_eq!(c("u32-0", &[0xdead_beef]), 0xdead_beef);
    assert_eq!(c("s64-0", &[u64::MAX]), u64::MAX);
    assert_eq!(c("char-0", &[0x10_ffff]), 0x10_ffff);
    assert_eq!(c("char-0", &[0xe000]), 0xe000);
    // A NaN's payload is not kept: the canonical NaN crosses.
    assert_eq!(c("f32-0", &[0x7fa0_0001]), 0x7fc0_0000);
    assert_eq!(c("f32-0", &[0xbf80_0000]), 0xbf80_0000);
    assert_eq!(c("f64-0", &[0x7ff0_0000_0000_0001]), 0x7ff8_0000_0000_0000);
    assert_eq!(c("f64-0", &[0x4000_0000_0000_0000]), 0x4000_0000_0000_0000);
    // A record's fields each checked.
    let rec = [0x1ff, 0x7f80_0001, 0x8000_0000_0000_0000, 5];
    assert_eq!(c("rec-0", &rec), 0xff);
    assert_eq!(c("rec-1", &rec), 0x7fc0_0000);
    assert_eq!(c("rec-2", &rec), 0x8000_0000_0000_0000);
    assert_eq!(c("rec-3", &rec), 1);
    // A variant's payload in its joined i64 slot: an f32 case keeps the
    // low 32 bits, a u8 case its low byte, a case without payload 0.
    assert_eq!(c("var-0", &[1, 0]), 1);
    assert_eq!(c("var-1", &[0, 0xffff_ffff_3f80_0000]), 0x3f80_0000);
    assert_eq!(
        c("var-1", &[1, 0xffff_ffff_3f80_0000]),
        0xffff_ffff_3f80_0000
    );
    assert_eq!(c("var-1", &[2, 0x1234]), 0x34);
    assert_eq!(c("var-1", &[3, 99]), 0);
    assert_eq!(c("tup-0", &[0x12345, 0x41, 0]), 0x2345);
    assert_eq!(c("tup-1", &[0x12345, 0x41, 0]), 0x41);
    assert_eq!(c("opt-1", &[0, 0x4000_0000]), 0);
    assert_eq!(c("opt-1", &[1, 0x4000_0000]), 0x4000_0000);
    assert_eq!(c("res-1", &[0, 0x1_0000_01ff]), 0xff);
    assert_eq!(
        c("res-1", &[1, 0x7ff0_0000_0000_0001]),
        0x7ff8_0000_0000_0000
    );
    // Flag bits past the type's three are ignored.
    assert_eq!(c("fl-0", &[0xff]), 7);
    assert_eq!(c("en-0", &[2]), 2);
}

#[test]
fn results_are_lifted_with_the_specs_checks() {
    let (mut s, i, _) = setup();
    let mut c = |name: &str, arg: u64| call(&mut s, &i, name, &[arg]).unwrap();
    assert_eq!(c("mk-bool", 7), 1);
    assert_eq!(c("mk-u8", 300), 44);
    assert_eq!(c("mk-s8", 0xff), 0xffff_ffff);
    assert_eq!(c("mk-u16", 0x1_0001), 1);
    assert_eq!(c("mk-s16", 0x8000), 0xffff_8000);
    assert_eq!(c("mk-u64", u64::MAX), u64::MAX);
    assert_eq!(c("mk-f32", 0xffc0_0001), 0x7fc0_0000);
    assert_eq!(c("mk-f64", 0xfff8_0000_0000_0001), 0x7ff8_0000_0000_0000);
    assert_eq!(c("mk-char", 0x61), 0x61);
    assert_eq!(c("mk-fl", 0xf), 7);
    assert_eq!(c("mk-en", 1), 1);
}

#[test]
fn bad_values_trap_with_the_specs_messages() {
    for (name, args, message) in [
        ("char-0", &[0xd800u64][..], "invalid `char` bit pattern"),
        ("char-0", &[0x11_0000], "invalid `char` bit pattern"),
        ("tup-1", &[0, 0xdfff, 0], "invalid `char` bit pattern"),
        ("var-0", &[4, 0], "invalid variant discriminant"),
        ("opt-0", &[2, 0], "invalid variant discriminant"),
        ("res-0", &[7, 0], "invalid variant discriminant"),
        ("en-0", &[3], "invalid variant discriminant"),
        ("mk-char", &[0xd800], "invalid `char` bit pattern"),
        ("mk-en", &[3], "invalid variant discriminant"),
    ] {
        let (mut s, i, _) = setup();
        let m = trap_message(call(&mut s, &i, name, args));
        assert!(m.contains(message), "{name}: {m}");
        // The host's call entered the root, which a trap closes for good.
        let m = trap_message(call(&mut s, &i, "c-u32-0", &[5]));
        assert!(m.contains("cannot enter component instance"), "{name}: {m}");
    }
}

/// Lists of plain integers as parameters: the callee (`$A`) sums what it
/// gets and counts its `realloc` calls; the caller (`$B`) passes a pointer
/// and length into its own memory as they are.
const LISTS: &str = r#"(component
  (component $A
    (core module $M
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (global $calls (mut i32) (i32.const 0))
      (global $skew (mut i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $r) (local.get 3)))
        (i32.add (local.get $r) (global.get $skew)))
      (func (export "skew") (param i32) (global.set $skew (local.get 0)))
      (func (export "calls") (result i32) (global.get $calls))
      (func (export "sum8") (param $p i32) (param $n i32) (result i64) (local $s i64)
        (block $d (loop $l
          (br_if $d (i32.eqz (local.get $n)))
          (local.set $s (i64.add (local.get $s) (i64.load8_u (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (local.get $s))
      (func (export "sum64") (param $p i32) (param $n i32) (param $q i32) (param $m i32) (result i64) (local $s i64)
        (block $d (loop $l
          (br_if $d (i32.eqz (local.get $n)))
          (local.set $s (i64.add (local.get $s) (i64.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $l)))
        (i64.add (local.get $s) (i64.load16_s (local.get $q)))))
    (core instance $m (instantiate $M))
    (func (export "skew") (param "n" u32) (canon lift (core func $m "skew")))
    (func (export "calls") (result u32) (canon lift (core func $m "calls")))
    (func (export "sum8") (param "l" (list u8)) (result u64)
      (canon lift (core func $m "sum8") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
    (func (export "sum64") (param "l" (list s64)) (param "h" (list s16)) (result s64)
      (canon lift (core func $m "sum64") (memory (core memory $m "mem")) (realloc (core func $m "realloc")))))
  (component $B
    (import "sum8" (func $sum8 (param "l" (list u8)) (result u64)))
    (import "sum64" (func $sum64 (param "l" (list s64)) (param "h" (list s16)) (result s64)))
    (core module $Mem (memory (export "mem") 1)
      (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a")
      (data (i32.const 16) "\ff\ff\ff\ff\ff\ff\ff\ff\02\00\00\00\00\00\00\00\fe\ff"))
    (core instance $mem (instantiate $Mem))
    (core func $sum8' (canon lower (func $sum8) (memory (core memory $mem "mem"))))
    (core func $sum64' (canon lower (func $sum64) (memory (core memory $mem "mem"))))
    (core module $M
      (import "a" "sum8" (func $sum8 (param i32 i32) (result i64)))
      (import "a" "sum64" (func $sum64 (param i32 i32 i32 i32) (result i64)))
      (func (export "sum8") (param i32 i32) (result i64) (call $sum8 (local.get 0) (local.get 1)))
      (func (export "sum64") (param i32 i32 i32 i32) (result i64)
        (call $sum64 (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
    (core instance $m (instantiate $M (with "a" (instance
      (export "sum8" (func $sum8')) (export "sum64" (func $sum64'))))))
    (func (export "sum8") (param "p" u32) (param "n" u32) (result u64) (canon lift (core func $m "sum8")))
    (func (export "sum64") (param "p" u32) (param "n" u32) (param "q" u32) (param "m" u32) (result u64)
      (canon lift (core func $m "sum64"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "sum8" (func $a "sum8")) (with "sum64" (func $a "sum64"))))
  (export "sum8" (func $b "sum8"))
  (export "sum64" (func $b "sum64"))
  (export "skew" (func $a "skew"))
  (export "calls" (func $a "calls")))"#;

fn lists() -> (Store<()>, Instance) {
    let engine = Engine::default();
    let component = Component::new(&engine, LISTS).unwrap();
    assert_eq!(component.compiled_adapters(), (2, 2));
    let mut store = Store::new(&engine, ());
    let i = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    (store, i)
}

fn call_u32s(
    s: &mut Store<()>,
    i: &Instance,
    name: &str,
    args: &[u32],
) -> nyash_engine::Result<Val> {
    let f = i.get_func(&mut *s, name).expect("export");
    let args: Vec<Val> = args.iter().map(|a| Val::U32(*a)).collect();
    let mut out = vec![Val::Bool(false); f.results(&*s).len()];
    f.call(&mut *s, &args, &mut out)?;
    Ok(out.pop().unwrap_or(Val::Bool(false)))
}

#[test]
fn lists_of_integers_are_copied_between_the_memories() {
    let (mut s, i) = lists();
    assert_eq!(
        call_u32s(&mut s, &i, "sum8", &[0, 10]).unwrap(),
        Val::U64(55)
    );
    assert_eq!(call_u32s(&mut s, &i, "sum8", &[3, 0]).unwrap(), Val::U64(0));
    // Two lists: -1 + 2 and -2.
    assert_eq!(
        call_u32s(&mut s, &i, "sum64", &[16, 2, 32, 1]).unwrap(),
        Val::U64(u64::MAX)
    );
    // One realloc per list, empty ones too.
    assert_eq!(call_u32s(&mut s, &i, "calls", &[]).unwrap(), Val::U32(4));
}

#[test]
fn bad_lists_trap_with_the_specs_messages() {
    for (name, args, message) in [
        (
            "sum64",
            &[4u32, 1, 0, 0][..],
            "list at 0x4, not aligned to 8",
        ),
        (
            "sum64",
            &[16, 2, 33, 1][..],
            "list at 0x21, not aligned to 2",
        ),
        ("sum8", &[65530, 7][..], "list content out-of-bounds"),
        ("sum8", &[65530, 7][..], "past the memory's 65536 bytes"),
        (
            "sum8",
            &[0, 1 << 28][..],
            "list of 268435456 elements of 1 bytes",
        ),
    ] {
        let (mut s, i) = lists();
        let e = call_u32s(&mut s, &i, name, args).unwrap_err();
        assert!(e.to_string().contains(message), "{name}{args:?}: {e}");
        assert!(e.trap().is_some(), "{e}");
    }
    // The callee's realloc returning an unaligned pointer, then one past
    // its memory.
    let (mut s, i) = lists();
    call_u32s(&mut s, &i, "skew", &[1]).unwrap();
    let e = call_u32s(&mut s, &i, "sum64", &[16, 2, 32, 1]).unwrap_err();
    assert!(
        e.to_string()
            .contains("realloc(0x0, 0, 8, 16) returned 0x401"),
        "{e}"
    );
    let (mut s, i) = lists();
    call_u32s(&mut s, &i, "skew", &[0xfffc - 1024]).unwrap();
    let e = call_u32s(&mut s, &i, "sum8", &[0, 10]).unwrap_err();
    assert!(
        e.to_string()
            .contains("realloc(0x0, 0, 1, 10) returned 0xfffc, past the memory's 65536 bytes"),
        "{e}"
    );
}

/// Strings as parameters between two instances of the same encoding
/// (`ENC`, `LOWER` the caller's): the callee `$A` keeps what it received
/// (`got`: pointer << 32 | length) and logs its `realloc`s (`rl k`: the
/// last call's argument `k`; `calls`), `peek` reads its memory; the caller
/// `$B` passes a raw (pointer, length) into its memory, whose data holds
/// the strings below. `skew` moves what `realloc(0, ...)` returns, `skew2`
/// what a shrinking `realloc(p, ...)` returns.
const STRINGS: &str = r#"(component
  (component $A
    (core module $M
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 1024))
      (global $calls (mut i32) (i32.const 0))
      (global $skew (mut i32) (i32.const 0))
      (global $skew2 (mut i32) (i32.const 0))
      (global $got (mut i64) (i64.const 0))
      (global $r0 (mut i32) (i32.const 0))
      (global $r1 (mut i32) (i32.const 0))
      (global $r2 (mut i32) (i32.const 0))
      (global $r3 (mut i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $r i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (global.set $r0 (local.get 0))
        (global.set $r1 (local.get 1))
        (global.set $r2 (local.get 2))
        (global.set $r3 (local.get 3))
        (if (local.get 0) (then (return (i32.add (local.get 0) (global.get $skew2)))))
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $r) (i32.add (local.get 3) (i32.const 16))))
        (i32.add (local.get $r) (global.get $skew)))
      (func (export "skew") (param i32) (global.set $skew (local.get 0)))
      (func (export "skew2") (param i32) (global.set $skew2 (local.get 0)))
      (func (export "calls") (result i32) (global.get $calls))
      (func (export "got") (result i64) (global.get $got))
      (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "rl") (param i32) (result i32)
        (if (i32.eqz (local.get 0)) (then (return (global.get $r0))))
        (if (i32.eq (local.get 0) (i32.const 1)) (then (return (global.get $r1))))
        (if (i32.eq (local.get 0) (i32.const 2)) (then (return (global.get $r2))))
        (global.get $r3))
      (func (export "take") (param $p i32) (param $n i32) (result i32)
        (global.set $got (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
          (i64.extend_i32_u (local.get $n))))
        (i32.const 7)))
    (core instance $m (instantiate $M))
    (func (export "skew") (param "n" u32) (canon lift (core func $m "skew")))
    (func (export "skew2") (param "n" u32) (canon lift (core func $m "skew2")))
    (func (export "calls") (result u32) (canon lift (core func $m "calls")))
    (func (export "got") (result u64) (canon lift (core func $m "got")))
    (func (export "peek") (param "a" u32) (result u32) (canon lift (core func $m "peek")))
    (func (export "rl") (param "k" u32) (result u32) (canon lift (core func $m "rl")))
    (func (export "take") (param "s" string) (result u32)
      (canon lift (core func $m "take") (memory (core memory $m "mem")) (realloc (core func $m "realloc")) string-encoding=ENC)))
  (component $B
    (import "take" (func $take (param "s" string) (result u32)))
    (core module $Mem (memory (export "mem") 1)
      (data (i32.const 0) "hello")
      (data (i32.const 16) "h\c3\b6\e2\98\83")
      (data (i32.const 32) "\ff")
      (data (i32.const 40) "\e2\98")
      (data (i32.const 64) "h\00i\00\03\26")
      (data (i32.const 80) "\00\d8")
      (data (i32.const 96) "\ff\00a\00")
      (data (i32.const 112) "\ffab"))
    (core instance $mem (instantiate $Mem))
    (core func $take' (canon lower (func $take) (memory (core memory $mem "mem")) string-encoding=LOWER))
    (core module $M
      (import "a" "take" (func $take (param i32 i32) (result i32)))
      (func (export "take") (param i32 i32) (result i32) (call $take (local.get 0) (local.get 1))))
    (core instance $m (instantiate $M (with "a" (instance (export "take" (func $take'))))))
    (func (export "take") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $m "take"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "take" (func $a "take"))))
  (export "take" (func $b "take"))
  (export "skew" (func $a "skew"))
  (export "skew2" (func $a "skew2"))
  (export "calls" (func $a "calls"))
  (export "got" (func $a "got"))
  (export "peek" (func $a "peek"))
  (export "rl" (func $a "rl")))"#;

fn strings(enc: &str, lower: &str) -> (Store<()>, Instance, Component) {
    let engine = Engine::default();
    let text = STRINGS.replace("LOWER", lower).replace("ENC", enc);
    let component = Component::new(&engine, text).unwrap();
    let mut store = Store::new(&engine, ());
    let i = Linker::new(&engine)
        .instantiate(&mut store, &component)
        .unwrap();
    (store, i, component)
}

fn u32_of(v: Val) -> u32 {
    match v {
        Val::U32(x) => x,
        v => panic!("{v:?}"),
    }
}

/// Passes the caller's (ptr, len) and returns what the callee got: its
/// length, the bytes at its pointer (`bytes` of them), and the last
/// `realloc`'s arguments.
fn take(
    s: &mut Store<()>,
    i: &Instance,
    ptr: u32,
    len: u32,
    bytes: u32,
) -> nyash_engine::Result<(u32, Vec<u8>, [u32; 4])> {
    assert_eq!(u32_of(call_u32s(s, i, "take", &[ptr, len])?), 7);
    let got = match call_u32s(s, i, "got", &[]).unwrap() {
        Val::U64(x) => x,
        v => panic!("{v:?}"),
    };
    let (p, n) = ((got >> 32) as u32, got as u32);
    let data = (0..bytes)
        .map(|k| u32_of(call_u32s(s, i, "peek", &[p + k]).unwrap()) as u8)
        .collect();
    let mut rl = [0; 4];
    for (k, r) in rl.iter_mut().enumerate() {
        *r = u32_of(call_u32s(s, i, "rl", &[k as u32]).unwrap());
    }
    Ok((n, data, rl))
}

const TAG: u32 = 1 << 31;

#[test]
fn strings_of_one_encoding_are_compiled() {
    for enc in ["utf8", "utf16", "latin1+utf16"] {
        let (_, _, c) = strings(enc, enc);
        assert_eq!(c.compiled_adapters(), (1, 1), "{enc}");
    }
    // Transcoded in the compiled adapter too.
    let (mut s, i, c) = strings("utf16", "utf8");
    assert_eq!(c.compiled_adapters(), (1, 1));
    let (n, bytes, _) = take(&mut s, &i, 0, 5, 10).unwrap();
    assert_eq!((n, bytes), (5, b"h\0e\0l\0l\0o\0".to_vec()));
}

#[test]
fn utf8_strings_are_copied_after_a_check() {
    let (mut s, i, _) = strings("utf8", "utf8");
    let (n, bytes, rl) = take(&mut s, &i, 16, 6, 6).unwrap();
    assert_eq!(
        (n, bytes.as_slice(), rl),
        (6, "hö☃".as_bytes(), [0, 0, 1, 6])
    );
    let (n, _, rl) = take(&mut s, &i, 3, 0, 0).unwrap();
    assert_eq!((n, rl), (0, [0, 0, 1, 0]));
    assert_eq!(u32_of(call_u32s(&mut s, &i, "calls", &[]).unwrap()), 2);
    for (ptr, len, message) in [
        (32, 1, "invalid utf-8"),
        (40, 2, "incomplete utf-8 byte sequence"),
        (65530, 7, "string content out-of-bounds"),
        (65530, 7, "past the memory's 65536 bytes"),
        (0, 1 << 28, "string too long"),
    ] {
        let (mut s, i, _) = strings("utf8", "utf8");
        let e = take(&mut s, &i, ptr, len, 0).unwrap_err();
        assert!(e.to_string().contains(message), "{ptr} {len}: {e}");
        assert!(e.trap().is_some(), "{e}");
    }
    let (mut s, i, _) = strings("utf8", "utf8");
    call_u32s(&mut s, &i, "skew", &[0xfffe - 1024]).unwrap();
    let e = take(&mut s, &i, 0, 5, 0).unwrap_err();
    assert!(
        e.to_string()
            .contains("realloc(0x0, 0, 1, 5) returned 0xfffe, past the memory's 65536 bytes"),
        "{e}"
    );
}

#[test]
fn utf16_strings_are_copied_after_a_check() {
    let (mut s, i, _) = strings("utf16", "utf16");
    let (n, bytes, rl) = take(&mut s, &i, 64, 3, 6).unwrap();
    assert_eq!(
        (n, bytes.as_slice(), rl),
        (3, &b"h\0i\0\x03\x26"[..], [0, 0, 2, 6])
    );
    let (n, _, rl) = take(&mut s, &i, 2, 0, 0).unwrap();
    assert_eq!((n, rl), (0, [0, 0, 2, 0]));
    for (ptr, len, message) in [
        (80, 1, "unpaired surrogate 0xd800"),
        (65, 1, "string at 0x41, not aligned to 2"),
        (65534, 2, "past the memory's 65536 bytes"),
        (0, 1 << 27, "string of 268435456 bytes"),
    ] {
        let (mut s, i, _) = strings("utf16", "utf16");
        let e = take(&mut s, &i, ptr, len, 0).unwrap_err();
        assert!(e.to_string().contains(message), "{ptr} {len}: {e}");
        assert!(e.trap().is_some(), "{e}");
    }
    let (mut s, i, _) = strings("utf16", "utf16");
    call_u32s(&mut s, &i, "skew", &[1]).unwrap();
    let e = take(&mut s, &i, 64, 3, 0).unwrap_err();
    assert!(
        e.to_string()
            .contains("realloc(0x0, 0, 2, 6) returned 0x401"),
        "{e}"
    );
}

#[test]
fn latin1_utf16_strings_are_copied_or_narrowed() {
    let (mut s, i, _) = strings("latin1+utf16", "latin1+utf16");
    // Latin-1: copied, aligned to 2.
    let (n, bytes, rl) = take(&mut s, &i, 112, 3, 3).unwrap();
    assert_eq!((n, bytes.as_slice(), rl), (3, &b"\xffab"[..], [0, 0, 2, 3]));
    // UTF-16 past Latin-1: copied, still tagged.
    let (n, bytes, rl) = take(&mut s, &i, 64, 3 | TAG, 6).unwrap();
    assert_eq!(
        (n, bytes.as_slice(), rl),
        (3 | TAG, &b"h\0i\0\x03\x26"[..], [0, 0, 2, 6])
    );
    // UTF-16 that fits Latin-1: narrowed, the area shrunk
    // (`store_probably_utf16_to_latin1_or_utf16`).
    let before = u32_of(call_u32s(&mut s, &i, "calls", &[]).unwrap());
    let (n, bytes, rl) = take(&mut s, &i, 96, 2 | TAG, 2).unwrap();
    assert_eq!((n, bytes.as_slice()), (2, &b"\xffa"[..]));
    assert_eq!(&rl[1..], &[4, 1, 2]);
    assert_eq!(
        u32_of(call_u32s(&mut s, &i, "calls", &[]).unwrap()),
        before + 2
    );
    let (n, _, rl) = take(&mut s, &i, 0, TAG, 0).unwrap();
    assert_eq!((n, rl), (0, [rl[0], 0, 1, 0]));
    for (ptr, len, message) in [
        (80, 1 | TAG, "unpaired surrogate 0xd800"),
        (113, 1, "string at 0x71, not aligned to 2"),
        (65534, 3, "past the memory's 65536 bytes"),
    ] {
        let (mut s, i, _) = strings("latin1+utf16", "latin1+utf16");
        let e = take(&mut s, &i, ptr, len, 0).unwrap_err();
        assert!(e.to_string().contains(message), "{ptr} {len}: {e}");
        assert!(e.trap().is_some(), "{e}");
    }
    let (mut s, i, _) = strings("latin1+utf16", "latin1+utf16");
    call_u32s(&mut s, &i, "skew2", &[0xffff - 1024]).unwrap();
    let e = take(&mut s, &i, 96, 2 | TAG, 0).unwrap_err();
    assert!(
        e.to_string()
            .contains("realloc(0x400, 4, 1, 2) returned 0xffff, past the memory's 65536 bytes"),
        "{e}"
    );
}
