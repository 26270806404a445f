//! Compiled fused adapters for values in memory (`nyash_aot::component::fact`):
//! strings between every pair of encodings as parameters and as results
//! (the spec's exact `realloc` sequence of each `store_*` function, checked
//! call by call), strings, lists, records, variants and maps nested in
//! one another, spilled parameters and results through the return
//! pointer, the result copied before the callee's `post-return`, bad
//! values trapping with the dynamic path's messages, and that the
//! adapters are compiled (`Component::compiled_adapters`) — compared with
//! the dynamic adapter (an engine without multi-memory keeps it).

use nyash_engine::component::{Component, Instance, Linker, Val};
use nyash_engine::{Config, Engine, Store};

/// A bump allocator for both sides that logs each `realloc` call's four
/// arguments (at 1024, up to 64 calls), shrinks in place, copies on
/// growth; `peek`/`poke` bytes, `peek32`/`poke32` words.
const ALLOC: &str = r#"
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 8192))
      (global $n (mut i32) (i32.const 0))
      (func (export "realloc") (param $o i32) (param $os i32) (param $a i32) (param $s i32) (result i32)
        (local $r i32) (local $e i32)
        (if (i32.lt_u (global.get $n) (i32.const 64)) (then
          (local.set $e (i32.add (i32.const 1024) (i32.shl (global.get $n) (i32.const 4))))
          (i32.store (local.get $e) (local.get $o))
          (i32.store offset=4 (local.get $e) (local.get $os))
          (i32.store offset=8 (local.get $e) (local.get $a))
          (i32.store offset=12 (local.get $e) (local.get $s))
          (global.set $n (i32.add (global.get $n) (i32.const 1)))))
        (if (i32.and (i32.ne (local.get $o) (i32.const 0)) (i32.le_u (local.get $s) (local.get $os)))
          (then (return (local.get $o))))
        (local.set $r (i32.and (i32.add (global.get $next) (i32.sub (local.get $a) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get $a))))
        (global.set $next (i32.add (local.get $r) (local.get $s)))
        (if (i32.gt_u (global.get $next) (i32.shl (memory.size) (i32.const 16))) (then
          (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $next)
            (i32.shl (memory.size) (i32.const 16))) (i32.const 16)) (i32.const 1))))))
        (if (local.get $o) (then (memory.copy (local.get $r) (local.get $o) (local.get $os))))
        (local.get $r))
      (func (export "log") (param i32) (result i32)
        (i32.load (i32.add (i32.const 1024) (i32.shl (local.get 0) (i32.const 2)))))
      (func (export "log-len") (result i32) (global.get $n))
      (func (export "log-reset") (global.set $n (i32.const 0)))
      (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
      (func (export "poke32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
"#;

/// The lifted helpers of one side's allocator module `$m`.
const HELPERS: &str = r#"
    (func (export "log") (param "k" u32) (result u32) (canon lift (core func $m "log")))
    (func (export "log-len") (result u32) (canon lift (core func $m "log-len")))
    (func (export "log-reset") (canon lift (core func $m "log-reset")))
    (func (export "peek") (param "a" u32) (result u32) (canon lift (core func $m "peek")))
    (func (export "poke") (param "a" u32) (param "v" u32) (canon lift (core func $m "poke")))
    (func (export "poke32") (param "a" u32) (param "v" u32) (canon lift (core func $m "poke32")))
"#;

/// Strings: `$C` (encoding `CENC`) takes a string (`take`: keeps its
/// pointer and length for `got`) and gives one (`give`: the string
/// `set-give` named; its `post-return` zeroes the string's first 8 bytes,
/// so a copy made after it would show); `$D` (encoding `DENC`) passes a
/// raw (pointer, length) of its memory and returns the (pointer, length)
/// the adapter wrote into its return area.
const STRINGS: &str = r#"(component
  (component $C
    (core module $M
      ALLOC
      (global $got (mut i64) (i64.const 0))
      (global $gp (mut i32) (i32.const 0))
      (global $gn (mut i32) (i32.const 0))
      (global $posts (mut i32) (i32.const 0))
      (func (export "take") (param $p i32) (param $n i32) (result i32)
        (global.set $got (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
          (i64.extend_i32_u (local.get $n))))
        (i32.const 7))
      (func (export "got") (result i64) (global.get $got))
      (func (export "set-give") (param i32 i32) (global.set $gp (local.get 0)) (global.set $gn (local.get 1)))
      (func (export "give") (result i32)
        (i32.store (i32.const 512) (global.get $gp))
        (i32.store (i32.const 516) (global.get $gn))
        (i32.const 512))
      (func (export "give-post") (param $r i32)
        (global.set $posts (i32.add (global.get $posts) (i32.const 1)))
        (i64.store (i32.load (local.get $r)) (i64.const 0)))
      (func (export "posts") (result i32) (global.get $posts)))
    (core instance $m (instantiate $M))
    HELPERS
    (func (export "got") (result u64) (canon lift (core func $m "got")))
    (func (export "posts") (result u32) (canon lift (core func $m "posts")))
    (func (export "set-give") (param "p" u32) (param "n" u32) (canon lift (core func $m "set-give")))
    (func (export "take") (param "s" string) (result u32)
      (canon lift (core func $m "take") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")) string-encoding=CENC))
    (func (export "give") (result string)
      (canon lift (core func $m "give") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")) string-encoding=CENC
        (post-return (core func $m "give-post")))))
  (component $D
    (import "take" (func $take (param "s" string) (result u32)))
    (import "give" (func $give (result string)))
    (core module $A ALLOC)
    (core instance $m (instantiate $A))
    (core func $take' (canon lower (func $take) (memory (core memory $m "mem"))
      (realloc (core func $m "realloc")) string-encoding=DENC))
    (core func $give' (canon lower (func $give) (memory (core memory $m "mem"))
      (realloc (core func $m "realloc")) string-encoding=DENC))
    (core module $M
      (import "a" "take" (func $take (param i32 i32) (result i32)))
      (import "a" "give" (func $give (param i32)))
      (import "a" "mem" (memory 1))
      (func (export "take") (param i32 i32) (result i32) (call $take (local.get 0) (local.get 1)))
      (func (export "give") (param $rp i32) (result i64)
        (call $give (local.get $rp))
        (i64.or (i64.shl (i64.extend_i32_u (i32.load (local.get $rp))) (i64.const 32))
          (i64.extend_i32_u (i32.load offset=4 (local.get $rp))))))
    (core instance $f (instantiate $M (with "a" (instance
      (export "take" (func $take')) (export "give" (func $give'))
      (export "mem" (memory $m "mem"))))))
    HELPERS
    (func (export "take") (param "p" u32) (param "n" u32) (result u32) (canon lift (core func $f "take")))
    (func (export "give") (param "rp" u32) (result u64) (canon lift (core func $f "give"))))
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "take" (func $c "take")) (with "give" (func $c "give"))))
  (export "c" (instance $c))
  (export "d" (instance $d)))"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enc {
    Utf8,
    Utf16,
    Latin1Utf16,
}

const ENCS: [Enc; 3] = [Enc::Utf8, Enc::Utf16, Enc::Latin1Utf16];
const TAG: u32 = 1 << 31;

impl Enc {
    fn name(self) -> &'static str {
        match self {
            Enc::Utf8 => "utf8",
            Enc::Utf16 => "utf16",
            Enc::Latin1Utf16 => "latin1+utf16",
        }
    }
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// `s` as a guest of encoding `e` lays it out: its bytes and its (tagged)
/// length; `latin1+utf16` as Latin-1 where it fits unless `wide`.
fn encode(s: &str, e: Enc, wide: bool) -> (Vec<u8>, u32) {
    match e {
        Enc::Utf8 => (s.as_bytes().to_vec(), s.len() as u32),
        Enc::Utf16 => (utf16(s), s.encode_utf16().count() as u32),
        Enc::Latin1Utf16 if !wide && s.chars().all(|c| (c as u32) < 0x100) => (
            s.chars().map(|c| c as u32 as u8).collect(),
            s.chars().count() as u32,
        ),
        Enc::Latin1Utf16 => (utf16(s), s.encode_utf16().count() as u32 | TAG),
    }
}

/// The bytes of a string of (tagged) length `n` in encoding `e`.
fn byte_len(e: Enc, n: u32) -> u32 {
    match e {
        Enc::Utf8 => n,
        Enc::Utf16 => 2 * n,
        Enc::Latin1Utf16 if n & TAG != 0 => 2 * (n & !TAG),
        Enc::Latin1Utf16 => n,
    }
}

fn decode(b: &[u8], e: Enc, n: u32) -> String {
    let units = |b: &[u8]| {
        String::from_utf16(
            &b.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    };
    match e {
        Enc::Utf8 => String::from_utf8(b.to_vec()).unwrap(),
        Enc::Utf16 => units(b),
        Enc::Latin1Utf16 if n & TAG != 0 => units(b),
        Enc::Latin1Utf16 => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// The `realloc` calls the spec's `store_string_into_range` makes for `s`
/// passed as `(src, tagged)` into encoding `dst`: `(old != 0, old_size,
/// align, new_size)` each (definitions.py, by hand).
fn spec_reallocs(s: &str, src: Enc, tagged: u32, dst: Enc) -> Vec<(bool, u32, u32, u32)> {
    #[derive(PartialEq)]
    enum Simple {
        Utf8,
        Utf16,
        Latin1,
    }
    let (simple, n) = match src {
        Enc::Utf8 => (Simple::Utf8, tagged),
        Enc::Utf16 => (Simple::Utf16, tagged),
        Enc::Latin1Utf16 if tagged & TAG != 0 => (Simple::Utf16, tagged & !TAG),
        Enc::Latin1Utf16 => (Simple::Latin1, tagged),
    };
    let utf8_len = s.len() as u32;
    let utf16_bytes = 2 * s.encode_utf16().count() as u32;
    let any_wide = s.chars().any(|c| c as u32 >= 0x100);
    let ascii = s.is_ascii();
    let mut v = Vec::new();
    match dst {
        Enc::Utf8 => match simple {
            Simple::Utf8 => v.push((false, 0, 1, n)),
            _ => {
                let worst = if simple == Simple::Utf16 {
                    3 * n
                } else {
                    2 * n
                };
                v.push((false, 0, 1, n));
                if !ascii {
                    v.push((true, n, 1, worst));
                    if worst > utf8_len {
                        v.push((true, worst, 1, utf8_len));
                    }
                }
            }
        },
        Enc::Utf16 => match simple {
            Simple::Utf8 => {
                v.push((false, 0, 2, 2 * n));
                if utf16_bytes < 2 * n {
                    v.push((true, 2 * n, 2, utf16_bytes));
                }
            }
            _ => v.push((false, 0, 2, 2 * n)),
        },
        Enc::Latin1Utf16 => match (src, simple) {
            (Enc::Latin1Utf16, Simple::Latin1) => v.push((false, 0, 2, n)),
            (Enc::Latin1Utf16, _) => {
                v.push((false, 0, 2, 2 * n));
                if !any_wide {
                    v.push((true, 2 * n, 1, n));
                }
            }
            _ => {
                v.push((false, 0, 2, n));
                if any_wide {
                    v.push((true, n, 2, 2 * n));
                    if 2 * n > utf16_bytes {
                        v.push((true, 2 * n, 2, utf16_bytes));
                    }
                } else {
                    let latin1 = s.chars().count() as u32;
                    if latin1 < n {
                        v.push((true, n, 2, latin1));
                    }
                }
            }
        },
    }
    v
}

fn engine(multi_memory: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_multi_memory(multi_memory);
    Engine::new(&config).unwrap()
}

fn instantiate(engine: &Engine, text: &str) -> (Store<()>, Instance, Component) {
    let component = Component::new(engine, text).unwrap();
    let mut store = Store::new(engine, ());
    let i = Linker::new(engine)
        .instantiate(&mut store, &component)
        .unwrap();
    (store, i, component)
}

fn strings(denc: Enc, cenc: Enc, multi_memory: bool) -> (Store<()>, Instance, Component) {
    let text = STRINGS
        .replace("HELPERS", HELPERS)
        .replace("ALLOC", ALLOC)
        .replace("CENC", cenc.name())
        .replace("DENC", denc.name());
    instantiate(&engine(multi_memory), &text)
}

/// Calls `side`'s function `f` (`side`: "c", "d" or "" for the root).
fn call(
    s: &mut Store<()>,
    i: &Instance,
    side: &str,
    f: &str,
    args: &[u32],
) -> nyash_engine::Result<Option<Val>> {
    let func = if side.is_empty() {
        i.get_func(&mut *s, f)
    } else {
        let idx = i.get_export_index(&mut *s, None, side).expect("instance");
        let fi = i
            .get_export_index(&mut *s, Some(&idx), f)
            .expect("function");
        i.get_func(&mut *s, &fi)
    }
    .expect("export");
    let n = func.results(&*s).len();
    let args: Vec<Val> = args.iter().map(|a| Val::U32(*a)).collect();
    let mut out = vec![Val::Bool(false); n];
    func.call(&mut *s, &args, &mut out)?;
    Ok(out.pop())
}

fn u32_of(v: Option<Val>) -> u32 {
    match v {
        Some(Val::U32(x)) => x,
        v => panic!("{v:?}"),
    }
}

fn u64_of(v: Option<Val>) -> u64 {
    match v {
        Some(Val::U64(x)) => x,
        v => panic!("{v:?}"),
    }
}

fn poke(s: &mut Store<()>, i: &Instance, side: &str, at: u32, b: &[u8]) {
    for (k, x) in b.iter().enumerate() {
        call(s, i, side, "poke", &[at + k as u32, u32::from(*x)]).unwrap();
    }
}

fn peek(s: &mut Store<()>, i: &Instance, side: &str, at: u32, n: u32) -> Vec<u8> {
    (0..n)
        .map(|k| u32_of(call(s, i, side, "peek", &[at + k]).unwrap()) as u8)
        .collect()
}

fn reallocs(s: &mut Store<()>, i: &Instance, side: &str) -> Vec<(bool, u32, u32, u32)> {
    let n = u32_of(call(s, i, side, "log-len", &[]).unwrap());
    (0..n)
        .map(|k| {
            let mut w = |j| u32_of(call(s, i, side, "log", &[4 * k + j]).unwrap());
            (w(0) != 0, w(1), w(2), w(3))
        })
        .collect()
}

const SAMPLES: &[&str] = &[
    "",
    "hello",
    "h\u{e9}llo \u{ff}",
    "\u{e9}",
    "snow \u{2603} man",
    "a\u{1F600}b",
    "\u{1F600}",
    "\u{e9}\u{2603}",
];

#[test]
fn strings_between_every_pair_of_encodings_are_compiled() {
    for d in ENCS {
        for c in ENCS {
            let (_, _, comp) = strings(d, c, true);
            assert_eq!(comp.compiled_adapters(), (2, 2), "{d:?} -> {c:?}");
            let (_, _, comp) = strings(d, c, false);
            assert_eq!(comp.compiled_adapters(), (0, 2), "{d:?} -> {c:?}");
        }
    }
}

/// Every pair of encodings, every sample, as a parameter (the caller
/// `$D` to the callee `$C`): the callee gets the string in its encoding,
/// through exactly the spec's `realloc` calls.
#[test]
fn string_parameters_take_the_specs_realloc_sequence() {
    for d in ENCS {
        for c in ENCS {
            let (mut s, i, _) = strings(d, c, true);
            for text in SAMPLES {
                for wide in [false, true] {
                    let (bytes, tagged) = encode(text, d, wide);
                    poke(&mut s, &i, "d", 0x100, &bytes);
                    call(&mut s, &i, "c", "log-reset", &[]).unwrap();
                    let r = call(&mut s, &i, "d", "take", &[0x100, tagged]).unwrap();
                    assert_eq!(u32_of(r), 7);
                    let got = u64_of(call(&mut s, &i, "c", "got", &[]).unwrap());
                    let (p, n) = ((got >> 32) as u32, got as u32);
                    let b = peek(&mut s, &i, "c", p, byte_len(c, n));
                    let what = format!("{text:?} ({d:?}, wide {wide}) -> {c:?}");
                    assert_eq!(decode(&b, c, n), *text, "{what}");
                    assert_eq!(
                        reallocs(&mut s, &i, "c"),
                        spec_reallocs(text, d, tagged, c),
                        "{what}"
                    );
                }
            }
        }
    }
}

/// Every pair as a result (the callee `$C` to the caller `$D` through the
/// return pointer): the caller's `realloc` makes exactly the spec's calls,
/// and the string is copied before the callee's `post-return` (which
/// zeroes it).
#[test]
fn string_results_take_the_specs_realloc_sequence() {
    for d in ENCS {
        for c in ENCS {
            let (mut s, i, _) = strings(d, c, true);
            for (k, text) in SAMPLES.iter().enumerate() {
                for wide in [false, true] {
                    let (bytes, tagged) = encode(text, c, wide);
                    poke(&mut s, &i, "c", 0x100, &bytes);
                    call(&mut s, &i, "c", "set-give", &[0x100, tagged]).unwrap();
                    call(&mut s, &i, "d", "log-reset", &[]).unwrap();
                    let got = u64_of(call(&mut s, &i, "d", "give", &[0x200]).unwrap());
                    let (p, n) = ((got >> 32) as u32, got as u32);
                    let b = peek(&mut s, &i, "d", p, byte_len(d, n));
                    let what = format!("{text:?} ({c:?}, wide {wide}) -> {d:?}");
                    assert_eq!(decode(&b, d, n), *text, "{what}");
                    assert_eq!(
                        reallocs(&mut s, &i, "d"),
                        spec_reallocs(text, c, tagged, d),
                        "{what}"
                    );
                    let posts = u32_of(call(&mut s, &i, "c", "posts", &[]).unwrap());
                    assert_eq!(posts as usize, 2 * k + usize::from(wide) + 1, "{what}");
                }
            }
        }
    }
}

/// The dynamic adapter (no multi-memory) gives the callee the same
/// strings.
#[test]
fn transcoded_strings_match_the_dynamic_adapter() {
    for d in ENCS {
        for c in ENCS {
            let mut got = Vec::new();
            for mm in [true, false] {
                let (mut s, i, _) = strings(d, c, mm);
                let mut out = Vec::new();
                for text in SAMPLES {
                    let (bytes, tagged) = encode(text, d, false);
                    poke(&mut s, &i, "d", 0x100, &bytes);
                    call(&mut s, &i, "d", "take", &[0x100, tagged]).unwrap();
                    let g = u64_of(call(&mut s, &i, "c", "got", &[]).unwrap());
                    let (p, n) = ((g >> 32) as u32, g as u32);
                    out.push(decode(&peek(&mut s, &i, "c", p, byte_len(c, n)), c, n));
                    let (bytes, tagged) = encode(text, c, false);
                    poke(&mut s, &i, "c", 0x100, &bytes);
                    call(&mut s, &i, "c", "set-give", &[0x100, tagged]).unwrap();
                    let g = u64_of(call(&mut s, &i, "d", "give", &[0x200]).unwrap());
                    let (p, n) = ((g >> 32) as u32, g as u32);
                    out.push(decode(&peek(&mut s, &i, "d", p, byte_len(d, n)), d, n));
                }
                got.push(out);
            }
            assert_eq!(got[0], got[1], "{d:?} -> {c:?}");
        }
    }
}

fn trap_of(r: nyash_engine::Result<Option<Val>>) -> String {
    let e = r.expect_err("a trap");
    assert!(e.trap().is_some(), "not a trap: {e:#}");
    format!("{e:#}")
}

/// Bad strings trap with the dynamic path's messages, in both
/// directions, and a misaligned return pointer.
#[test]
fn bad_strings_trap_with_the_specs_messages() {
    let (mut s, i, _) = strings(Enc::Utf8, Enc::Utf16, true);
    poke(&mut s, &i, "d", 0x100, b"a\xffb");
    let e = trap_of(call(&mut s, &i, "d", "take", &[0x100, 3]));
    assert!(e.contains("invalid utf-8"), "{e}");
    assert!(e.contains("string at 0x100"), "{e}");

    let (mut s, i, _) = strings(Enc::Utf8, Enc::Latin1Utf16, true);
    let e = trap_of(call(&mut s, &i, "d", "take", &[0xfffe, 3]));
    assert!(
        e.contains("string of 3 bytes at 0xfffe, past the memory's 65536 bytes"),
        "{e}"
    );

    // A result: an unpaired surrogate in the callee's UTF-16.
    let (mut s, i, _) = strings(Enc::Utf8, Enc::Utf16, true);
    poke(&mut s, &i, "c", 0x100, &[0x00, 0xd8, 0x41, 0x00]);
    call(&mut s, &i, "c", "set-give", &[0x100, 2]).unwrap();
    let e = trap_of(call(&mut s, &i, "d", "give", &[0x200]));
    assert!(e.contains("unpaired surrogate 0xd800"), "{e}");

    // A misaligned return pointer.
    let (mut s, i, _) = strings(Enc::Utf8, Enc::Utf8, true);
    poke(&mut s, &i, "c", 0x100, b"hi");
    call(&mut s, &i, "c", "set-give", &[0x100, 2]).unwrap();
    let e = trap_of(call(&mut s, &i, "d", "give", &[0x202]));
    assert!(
        e.contains("the return pointer's area at 0x202, not aligned to 4"),
        "{e}"
    );
}

/// `echo`: `$C` returns the spilled parameters' pointer as its result's
/// (the tuple `(x, pad)` has `x` at offset 0, as the result `x` does), so
/// whatever the host passes comes back through two adapters' worth of
/// copies: the host into `$D`'s memory, the compiled adapter into `$C`'s
/// (spilled parameters: `$C`'s `realloc` for the tuple, then every string
/// and list), the result back into `$D`'s return area (`$D`'s `realloc`
/// for strings and lists), the host out of it. `raw` passes a pointer of
/// `$D`'s memory as the spilled arguments; `ret` makes `$C` return a
/// pointer of its memory instead.
const ECHO: &str = r#"(component
  (component $C
    (core module $M
      ALLOC
      (global $ret (mut i32) (i32.const 0))
      (func (export "echo") (param i32) (result i32)
        (if (global.get $ret) (then (return (global.get $ret))))
        (local.get 0))
      (func (export "ret") (param i32) (global.set $ret (local.get 0))))
    (core instance $m (instantiate $M))
    TYPES_C
    HELPERS
    (func (export "ret") (param "p" u32) (canon lift (core func $m "ret")))
    (func (export "echo") (param "x" T) (param "pad" PAD) (result T)
      (canon lift (core func $m "echo") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")) string-encoding=CENC)))
  (component $D
    (import "c" (instance $c
      TYPES_D
      (export "echo" (func (param "x" T) (param "pad" PAD) (result T)))))
    ALIASES
    (alias export $c "echo" (func $echo))
    (core module $A ALLOC)
    (core instance $m (instantiate $A))
    (core func $echo' (canon lower (func $echo) (memory (core memory $m "mem"))
      (realloc (core func $m "realloc")) string-encoding=DENC))
    (core module $M
      (import "a" "echo" (func $echo (param i32 i32)))
      (func (export "echo") (param i32) (result i32)
        (call $echo (local.get 0) (i32.const 60000)) (i32.const 60000))
      (func (export "raw") (param i32) (result i32)
        (call $echo (local.get 0) (i32.const 60000)) (i32.const 0)))
    (core instance $f (instantiate $M (with "a" (instance (export "echo" (func $echo'))))))
    HELPERS
    (func (export "raw") (param "p" u32) (result u32) (canon lift (core func $f "raw")))
    (func (export "echo") (param "x" T) (param "pad" PAD) (result T)
      (canon lift (core func $f "echo") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")) string-encoding=DENC)))
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "c" (instance $c))))
  (export "c" (instance $c))
  (export "d" (instance $d))
  (export "echo" (func $d "echo")))"#;

const PAD: &str = "(tuple u64 u64 u64 u64 u64 u64 u64 u64 u64 u64 u64 u64 u64 u64 u64 u64)";

/// Named types of the echo tests (records, variants: exported by `$C`).
const NAMED: &[(&str, &str)] = &[
    (
        "rec",
        r#"(record (field "s" string) (field "n" u32) (field "c" char) (field "f" f64))"#,
    ),
    (
        "var",
        r#"(variant (case "a" string) (case "b" (list $rec)) (case "c" u8) (case "d"))"#,
    ),
];

fn echo_component(t: &str, denc: Enc, cenc: Enc) -> String {
    let mut types_c = String::new();
    let mut types_d = String::new();
    let mut aliases = String::new();
    for (n, def) in NAMED {
        types_c.push_str(&format!(
            "(type ${n}' {def}) (export ${n} \"{n}\" (type ${n}'))\n"
        ));
        types_d.push_str(&format!(
            "(type ${n}' {def}) (export \"{n}\" (type ${n} (eq ${n}')))\n"
        ));
        aliases.push_str(&format!("(alias export $c \"{n}\" (type ${n}))\n"));
    }
    ECHO.replace("HELPERS", HELPERS)
        .replace("ALLOC", ALLOC)
        .replace("TYPES_C", &types_c)
        .replace("TYPES_D", &types_d)
        .replace("ALIASES", &aliases)
        .replace("PAD", PAD)
        .replace("(param \"x\" T)", &format!("(param \"x\" {t})"))
        .replace("(result T)", &format!("(result {t})"))
        .replace("CENC", cenc.name())
        .replace("DENC", denc.name())
}

fn rec(s: &str, n: u32, c: char, f: f64) -> Val {
    Val::Record(vec![
        ("s".into(), Val::String(s.into())),
        ("n".into(), Val::U32(n)),
        ("c".into(), Val::Char(c)),
        ("f".into(), Val::Float64(f)),
    ])
}

/// Types and values for the echo tests.
fn echo_cases() -> Vec<(&'static str, Vec<Val>)> {
    let strs = |v: &[&str]| Val::List(v.iter().map(|s| Val::String((*s).into())).collect());
    let recs = Val::List(vec![
        rec("h\u{e9}llo", 1, 'x', 1.5),
        rec("", 2, '\u{2603}', -0.0),
        rec(
            "a\u{1F600}b snow \u{2603}",
            u32::MAX,
            '\u{10FFFF}',
            f64::INFINITY,
        ),
    ]);
    vec![
        (
            "string",
            vec![
                Val::String("".into()),
                Val::String("a\u{e9}\u{2603}\u{1F600}".into()),
            ],
        ),
        ("(list $rec)", vec![recs.clone(), Val::List(vec![])]),
        (
            "(option (list string))",
            vec![
                Val::Option(None),
                Val::Option(Some(Box::new(strs(&["x", "\u{ff}y", "z\u{2603}"])))),
            ],
        ),
        (
            "(result (tuple string u8) (error (list u16)))",
            vec![
                Val::Result(Ok(Some(Box::new(Val::Tuple(vec![
                    Val::String("ok\u{e9}".into()),
                    Val::U8(200),
                ]))))),
                Val::Result(Err(Some(Box::new(Val::List(vec![
                    Val::U16(1),
                    Val::U16(65535),
                ]))))),
            ],
        ),
        (
            "(list $var)",
            vec![Val::List(vec![
                Val::Variant("a".into(), Some(Box::new(Val::String("\u{2603}".into())))),
                Val::Variant("b".into(), Some(Box::new(recs.clone()))),
                Val::Variant("c".into(), Some(Box::new(Val::U8(7)))),
                Val::Variant("d".into(), None),
            ])],
        ),
        (
            "(list (list (tuple u8 u32)))",
            vec![Val::List(vec![
                Val::List(vec![Val::Tuple(vec![Val::U8(1), Val::U32(2)])]),
                Val::List(vec![]),
                Val::List(vec![
                    Val::Tuple(vec![Val::U8(3), Val::U32(4)]),
                    Val::Tuple(vec![Val::U8(5), Val::U32(6)]),
                ]),
            ])],
        ),
        (
            "(list u64)",
            vec![Val::List((0..100).map(Val::U64).collect())],
        ),
        ("$rec", vec![rec("single", 9, 'q', 2.25)]),
    ]
}

fn pad() -> Val {
    Val::Tuple((0..16).map(|k| Val::U64(k * 1_000_003)).collect())
}

fn echo(s: &mut Store<()>, i: &Instance, x: &Val) -> nyash_engine::Result<Val> {
    let f = i.get_func(&mut *s, "echo").expect("echo");
    let mut out = [Val::Bool(false)];
    f.call(&mut *s, &[x.clone(), pad()], &mut out)?;
    Ok(out[0].clone())
}

/// Lists of records with strings, variants holding lists, options of
/// lists of strings, results of tuples, lists of lists, spilled
/// parameters and results: every value comes back as it went, between
/// every pair of encodings, through a compiled adapter.
#[test]
fn values_in_memory_cross_compiled_adapters() {
    for (t, vals) in echo_cases() {
        for (d, c) in [
            (Enc::Utf8, Enc::Utf8),
            (Enc::Utf8, Enc::Utf16),
            (Enc::Utf16, Enc::Latin1Utf16),
            (Enc::Latin1Utf16, Enc::Utf8),
        ] {
            for mm in [true, false] {
                let (mut s, i, comp) = instantiate(&engine(mm), &echo_component(t, d, c));
                assert_eq!(comp.compiled_adapters().0, usize::from(mm), "{t}");
                for v in &vals {
                    let got =
                        echo(&mut s, &i, v).unwrap_or_else(|e| panic!("{t} {d:?} {c:?}: {e:#}"));
                    assert_eq!(got, *v, "{t} ({d:?} -> {c:?}, compiled {mm})");
                }
            }
        }
    }
}

/// Bad values in memory trap with the dynamic path's messages, compiled
/// or not: a bad discriminant inside a list, a misaligned list, a list
/// past the memory, a bad `char`, spilled arguments past the memory, a
/// result area not aligned.
#[test]
fn bad_values_in_memory_trap_alike() {
    // Each: the type, the words poked into $D's memory at 0x100 (the
    // spilled arguments) or 0x400, and the message.
    type Case = (&'static str, &'static [(u32, u32)], u32, &'static str);
    let cases: &[Case] = &[
        (
            "(list $var)",
            &[(0x100, 0x400), (0x104, 1), (0x400, 9)],
            0x100,
            "discriminant 9 at 0x400 of a type with 4 cases",
        ),
        (
            "(list u32)",
            &[(0x100, 0x402), (0x104, 1)],
            0x100,
            "list at 0x402, not aligned to 4",
        ),
        (
            "(list u32)",
            &[(0x100, 0xfff0), (0x104, 8)],
            0x100,
            "list of 8 elements of 4 bytes at 0xfff0, past the memory's 65536 bytes",
        ),
        (
            "(list $rec)",
            &[
                (0x100, 0x400),
                (0x104, 1),
                (0x400, 0),
                (0x404, 0),
                (0x40c, 0xd800),
            ],
            0x100,
            "char 0xd800",
        ),
        (
            "string",
            &[],
            0xfff8,
            "the spilled arguments of 136 bytes at 0xfff8",
        ),
        (
            "string",
            &[],
            0x104,
            "the spilled arguments at 0x104, not aligned to 8",
        ),
    ];
    for (t, pokes, at, msg) in cases {
        let mut traps = Vec::new();
        for mm in [true, false] {
            let (mut s, i, comp) =
                instantiate(&engine(mm), &echo_component(t, Enc::Utf8, Enc::Utf16));
            assert_eq!(comp.compiled_adapters().0, usize::from(mm), "{t}");
            for (a, v) in *pokes {
                call(&mut s, &i, "d", "poke32", &[*a, *v]).unwrap();
            }
            let e = trap_of(call(&mut s, &i, "d", "raw", &[*at]));
            assert!(e.contains(msg), "{t} (compiled {mm}): {e}");
            traps.push(e);
        }
        // The same trap and message (the dynamic path adds where it was
        // lifting as context).
        assert!(traps[1].ends_with(&traps[0]), "{t}: {traps:?}");
    }
    // A result area past the callee's memory, and one not aligned.
    for (ret, msg) in [
        (
            0xfffc,
            "the result area of 8 bytes at 0xfffc, past the memory's 65536 bytes",
        ),
        (0x102, "the result area at 0x102, not aligned to 4"),
    ] {
        for mm in [true, false] {
            let (mut s, i, _) =
                instantiate(&engine(mm), &echo_component("string", Enc::Utf8, Enc::Utf8));
            call(&mut s, &i, "c", "ret", &[ret]).unwrap();
            let e = echo(&mut s, &i, &Val::String("x".into())).unwrap_err();
            let e = format!("{e:#}");
            assert!(e.contains(msg), "(compiled {mm}): {e}");
        }
    }
}

/// The lift budget (twice the memory and 1 MiB of list and string
/// contents) applies to compiled adapters as to the dynamic path: a list
/// of strings all pointing at one long string traps `LiftTooLarge` alike.
#[test]
fn the_lift_budget_applies_to_compiled_adapters() {
    for mm in [true, false] {
        let (mut s, i, _) = instantiate(
            &engine(mm),
            &echo_component("(list string)", Enc::Utf8, Enc::Utf8),
        );
        // 40 strings of 50000 zero bytes at 0x2000: 2 MB > 2 * 64 KiB + 1 MiB.
        call(&mut s, &i, "d", "poke32", &[0x100, 0x400]).unwrap();
        call(&mut s, &i, "d", "poke32", &[0x104, 40]).unwrap();
        for k in 0..40 {
            call(&mut s, &i, "d", "poke32", &[0x400 + 8 * k, 0x2000]).unwrap();
            call(&mut s, &i, "d", "poke32", &[0x404 + 8 * k, 50000]).unwrap();
        }
        let e = trap_of(call(&mut s, &i, "d", "raw", &[0x100]));
        assert!(
            e.contains("more bytes of list or string contents"),
            "(compiled {mm}): {e}"
        );
    }
}
