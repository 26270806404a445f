//! Differential testing of the Component Model against wasmtime 48: the
//! same generated components, called with the same random values, in both
//! engines; results must be equal to each other and to what the generator
//! expects, and traps must happen in both or neither, of the same kind.
//!
//! Each seed makes 1 to 3 random interface types ([`types`]: records,
//! variants with and without payloads whose cases share joined slots (now
//! and then with more than 256 cases), enums, flags of 1 to 32, options,
//! results with and without payloads, tuples, lists (of strings, of
//! records ...), fixed-length lists `list<T, N>`, maps `map<K, V>` (wasmtime
//! 48 has both, fixed-length lists behind a config switch), strings, chars,
//! every integer and both floats, nested up
//! to 3 levels (5 in a tenth); now and then a record or tuple wide enough to spill its
//! parameters, a tuple maybe spread over one parameter per element) and one
//! component ([`build`]) that has, for each type `T`:
//!
//! - `e`: `echo`, `transform` and `bad`, each `(param "x" T) (result T)`,
//!   implemented by core wasm emitted from `T`'s canonical-ABI layout
//!   ([`emit`]): `echo` returns its argument (flat, or stored to memory
//!   from its flat form, or its spilled pointer), `transform` changes it in
//!   memory ([`types::transform`]), `bad` returns it broken (a pointer out
//!   of bounds or misaligned, a discriminant past the last case, a
//!   surrogate char, a string or list past the end of memory, or a trap);
//!   maybe with a `post-return` that clobbers what was allocated;
//! - `fe`: the same three through a forwarding component that lowers `e`'s
//!   functions and lifts them again, with another string encoding (so
//!   calls cross a fused adapter that transcodes);
//! - `fh`: the same forwarder over the host's `echo`, `transform` (the
//!   generator's own) and `bad` (an error, a value of another type, or one
//!   naming a case, flag or field the type lacks), defined with `func_new`
//!   in both engines;
//! - `x` and `fx`: `e`'s `echo` in an instance whose `realloc` returns
//!   pointers out of bounds or misaligned, directly and through the
//!   forwarder: a call that allocates there must trap, any other must work.
//!
//! Every value goes through all six `echo`/`transform` functions and both
//! broken-`realloc` ones (and each `bad` once, in a fresh instance: a trap
//! poisons it).
//!
//! Each seed also runs a random sequence of resource calls ([`resources`]:
//! own and borrow handles of two guest-defined resource types, directly and
//! through a forwarder, checked by rep and by the destructor log, and
//! misuses that must trap alike), summed up on a second line,
//! `component-differential-resources: N passed, M failed`. The seed's failed
//! component is written only for the generated part (the resource
//! component is `resources.wat`).
//!
//! `component_differential [--count N] [--from F] [--seed S] [--dump DIR]`:
//! N seeds from F (default 1500 from 0), or seed S alone; a failing seed's component (and
//! its failures) is written to DIR (default `target/component-differential`).
//! Exits non-zero on any difference or when the run compared too little
//! (calls per type kind, per shape, per path, per value feature, per
//! encoding pair, per trap kind; resource calls per function and path,
//! destructor log entries, traps per misuse).

mod build;
mod emit;
mod resources;
mod types;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::Arc;

use nyash_engine as ny;
use nyash_engine::component as nyc;
use wasmtime::component as wtc;

use build::{FUNCS, Spec};
use emit::{Corruption, Enc, EvilRealloc, MAX_FLAT_PARAMS};
use types::{KINDS, Rng, Ty, TypeGen, V};

const DEFAULT_COUNT: u64 = 1500;
/// Values per type and seed.
const VALUES_PER_TYPE: usize = 4;
/// Elements and characters one value may have in all.
const VALUE_BUDGET: usize = 4000;
/// The run must not pass on nothing (runs of 100 seeds or more).
const MIN_CALLS: u64 = 1000;
const MIN_PER_KIND: u64 = 20;
const MIN_PER_SHAPE: u64 = 20;
const MIN_PER_CORRUPTION: u64 = 5;
const MIN_PER_ENCODING_PAIR: u64 = 3;

/// The instances a function is called through, in the order of the
/// summary.
const PATHS: [&str; 3] = ["e", "fe", "fh"];

const ENCODINGS: [Enc; 3] = [Enc::Utf8, Enc::Utf16, Enc::Latin1Utf16];

/// The component for a seed.
fn spec_for(seed: u64) -> Spec {
    let mut rng = Rng::from_state(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xc0de);
    let mut g = TypeGen {
        rng: &mut rng,
        next_id: 0,
    };
    let n = 1 + g.rng.below(3);
    let mut types: Vec<Ty> = (0..n)
        .map(|_| {
            // Mostly up to 3 levels, sometimes 5.
            let depth = if g.rng.one_in(10) {
                4 + g.rng.below(2)
            } else {
                1 + g.rng.below(3)
            } as u32;
            g.ty(depth)
        })
        .collect();
    // Now and then a wide record or tuple, whose parameters spill to
    // memory (a spread tuple: 17 and more parameters).
    if g.rng.chance(20) {
        let k = 9 + g.rng.below(16);
        let parts: Vec<Ty> = (0..k).map(|_| g.ty(1)).collect();
        let wide = if g.rng.chance(50) {
            Ty::Tuple(parts)
        } else {
            let id = g.next_id;
            g.next_id += 1;
            Ty::Record { id, fields: parts }
        };
        let at = g.rng.below(n);
        types[at] = wide;
    }
    let inner_enc = ENCODINGS[rng.below(3)];
    // Mostly another encoding on the forwarder's side, so that the adapter
    // transcodes.
    let outer_enc = if rng.chance(80) {
        ENCODINGS
            [(ENCODINGS.iter().position(|e| *e == inner_enc).unwrap_or(0) + 1 + rng.below(2)) % 3]
    } else {
        inner_enc
    };
    let corruptions = types
        .iter()
        .map(|t| {
            let c = emit::corruptions(t);
            c[rng.below(c.len())]
        })
        .collect();
    let spread = types
        .iter()
        .map(|t| matches!(t, Ty::Tuple(ts) if ts.len() > 1) && rng.chance(60))
        .collect();
    Spec {
        types,
        inner_enc,
        outer_enc,
        corruptions,
        spread,
        host_bad: (0..n)
            .map(|_| [HostBad::Refuse, HostBad::WrongType, HostBad::UnknownName][rng.below(3)])
            .collect(),
        evil_realloc: if rng.chance(50) {
            EvilRealloc::OutOfBounds
        } else {
            EvilRealloc::Misaligned
        },
        inner_post_return: rng.chance(50),
        outer_post_return: rng.chance(50),
    }
}

/// What a call did.
#[derive(Debug)]
enum Outcome {
    Value(V),
    /// A trap or error, its message.
    Trap(String),
}

impl Outcome {
    fn show(&self) -> String {
        match self {
            Outcome::Value(v) => v.show(),
            Outcome::Trap(m) => format!("trap: {m}"),
        }
    }
}

struct Ours {
    store: ny::Store<()>,
    instance: nyc::Instance,
}

struct Theirs {
    store: wasmtime::Store<()>,
    instance: wtc::Instance,
}

/// The host's `transform` in our engine's `Val`s.
fn ny_host_transform(ty: &Ty, v: &nyc::Val) -> ny::Result<nyc::Val> {
    let v = types::from_ny(ty, v).map_err(ny::Error::msg)?;
    Ok(types::to_ny(ty, &types::transform(ty, &v)))
}

fn wt_host_transform(ty: &Ty, v: &wtc::Val) -> wasmtime::Result<wtc::Val> {
    let v = types::from_wt(ty, v).map_err(wasmtime::Error::msg)?;
    Ok(types::to_wt(ty, &types::transform(ty, &v)))
}

/// How the host's `bad` fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostBad {
    /// It returns an error.
    Refuse,
    /// It returns a value of another type.
    WrongType,
    /// It returns a value naming a case, flag or field the type does not
    /// have (or of another type if the type names none).
    UnknownName,
}

macro_rules! bad_value {
    ($name:ident, $m:ident) => {
        /// What the host's `bad` returns for `how`.
        fn $name(ty: &Ty, how: HostBad) -> $m::Val {
            use $m::Val as X;
            match (how, ty) {
                (HostBad::UnknownName, Ty::Enum { .. }) => X::Enum("nope".into()),
                (HostBad::UnknownName, Ty::Variant { .. }) => X::Variant("nope".into(), None),
                (HostBad::UnknownName, Ty::Flags { .. }) => X::Flags(vec!["nope".into()]),
                (HostBad::UnknownName, Ty::Record { fields, .. }) => X::Record(
                    (0..fields.len())
                        .map(|i| (format!("nope{i}"), X::Bool(false)))
                        .collect(),
                ),
                (_, Ty::Bool) => X::U32(1),
                _ => X::Bool(true),
            }
        }
    };
}
bad_value!(ny_bad_value, nyc);
bad_value!(wt_bad_value, wtc);

/// The host's message for `bad`.
const HOST_REFUSES: &str = "the host's bad function refuses";

/// The argument a host function got: its one parameter, or a spread
/// tuple's parameters as the tuple.
fn ny_arg(params: &[nyc::Val], spread: bool) -> nyc::Val {
    if spread {
        nyc::Val::Tuple(params.to_vec())
    } else {
        params[0].clone()
    }
}

fn wt_arg(params: &[wtc::Val], spread: bool) -> wtc::Val {
    if spread {
        wtc::Val::Tuple(params.to_vec())
    } else {
        params[0].clone()
    }
}

fn ny_linker(engine: &ny::Engine, spec: &Arc<Spec>) -> Result<nyc::Linker<()>, String> {
    let mut linker = nyc::Linker::new(engine);
    let mut host = linker.instance("host").map_err(|e| e.to_string())?;
    for i in 0..spec.types.len() {
        let spread = spec.spread[i];
        host.func_new(&format!("echo-{i}"), move |_, params, results| {
            results[0] = ny_arg(params, spread);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        let sp = spec.clone();
        host.func_new(&format!("transform-{i}"), move |_, params, results| {
            results[0] = ny_host_transform(&sp.types[i], &ny_arg(params, spread))?;
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        let slot: Arc<std::sync::Mutex<Option<nyc::Val>>> = Arc::default();
        let keep = slot.clone();
        host.func_new(&format!("take-{i}"), move |_, params, results| {
            *keep.lock().map_err(|_| ny::Error::msg("poisoned"))? = Some(ny_arg(params, spread));
            results[0] = nyc::Val::U32(1);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        host.func_new(&format!("give-{i}"), move |_, _, results| {
            let v = slot.lock().map_err(|_| ny::Error::msg("poisoned"))?.clone();
            results[0] = v.ok_or_else(|| ny::Error::msg("give before take"))?;
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        let sp = spec.clone();
        host.func_new(&format!("bad-{i}"), move |_, _, results| {
            match sp.host_bad[i] {
                HostBad::Refuse => return Err(ny::Error::msg(HOST_REFUSES)),
                how => results[0] = ny_bad_value(&sp.types[i], how),
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    }
    Ok(linker)
}

fn wt_linker(engine: &wasmtime::Engine, spec: &Arc<Spec>) -> Result<wtc::Linker<()>, String> {
    let mut linker = wtc::Linker::new(engine);
    let mut host = linker.instance("host").map_err(|e| format!("{e:#}"))?;
    for i in 0..spec.types.len() {
        let spread = spec.spread[i];
        host.func_new(&format!("echo-{i}"), move |_, _, params, results| {
            results[0] = wt_arg(params, spread);
            Ok(())
        })
        .map_err(|e| format!("{e:#}"))?;
        let sp = spec.clone();
        host.func_new(&format!("transform-{i}"), move |_, _, params, results| {
            results[0] = wt_host_transform(&sp.types[i], &wt_arg(params, spread))?;
            Ok(())
        })
        .map_err(|e| format!("{e:#}"))?;
        let slot: Arc<std::sync::Mutex<Option<wtc::Val>>> = Arc::default();
        let keep = slot.clone();
        host.func_new(&format!("take-{i}"), move |_, _, params, results| {
            *keep.lock().map_err(|_| wasmtime::Error::msg("poisoned"))? =
                Some(wt_arg(params, spread));
            results[0] = wtc::Val::U32(1);
            Ok(())
        })
        .map_err(|e| format!("{e:#}"))?;
        host.func_new(&format!("give-{i}"), move |_, _, _, results| {
            let v = slot
                .lock()
                .map_err(|_| wasmtime::Error::msg("poisoned"))?
                .clone();
            results[0] = v.ok_or_else(|| wasmtime::Error::msg("give before take"))?;
            Ok(())
        })
        .map_err(|e| format!("{e:#}"))?;
        let sp = spec.clone();
        host.func_new(&format!("bad-{i}"), move |_, _, _, results| {
            match sp.host_bad[i] {
                HostBad::Refuse => return Err(wasmtime::Error::msg(HOST_REFUSES)),
                how => results[0] = wt_bad_value(&sp.types[i], how),
            }
            Ok(())
        })
        .map_err(|e| format!("{e:#}"))?;
    }
    Ok(linker)
}

/// Both engines' compiled component and linker for a seed.
struct Compiled {
    ours: nyc::Component,
    theirs: wtc::Component,
    ny_linker: nyc::Linker<()>,
    wt_linker: wtc::Linker<()>,
}

impl Compiled {
    fn instantiate(&self) -> Result<(Ours, Theirs), String> {
        let engine = self.ours.engine();
        let mut store = ny::Store::new(engine, ());
        let instance = self
            .ny_linker
            .instantiate(&mut store, &self.ours)
            .map_err(|e| format!("we fail to instantiate: {e}"))?;
        let mut wstore = wasmtime::Store::new(self.theirs.engine(), ());
        let winstance = self
            .wt_linker
            .instantiate(&mut wstore, &self.theirs)
            .map_err(|e| format!("wasmtime fails to instantiate: {e:#}"))?;
        Ok((
            Ours { store, instance },
            Theirs {
                store: wstore,
                instance: winstance,
            },
        ))
    }
}

/// The arguments for `v`: the value, or a spread tuple's elements.
fn args<T>(ty: &Ty, v: &V, spread: bool, conv: fn(&Ty, &V) -> T) -> Vec<T> {
    match (ty, v) {
        (Ty::Tuple(ts), V::Tuple(vs)) if spread => {
            ts.iter().zip(vs).map(|(t, v)| conv(t, v)).collect()
        }
        _ => vec![conv(ty, v)],
    }
}

/// Calls our `path`.`func` with `v` (of `ty`); its result is of `rty`.
fn call_ours(
    o: &mut Ours,
    path: &str,
    func: &str,
    (ty, rty): (&Ty, &Ty),
    v: &V,
    spread: bool,
) -> Result<Outcome, String> {
    let parent = o
        .instance
        .get_export_index(&mut o.store, None, path)
        .ok_or_else(|| format!("our instance has no export `{path}`"))?;
    let idx = o
        .instance
        .get_export_index(&mut o.store, Some(&parent), func)
        .ok_or_else(|| format!("our `{path}` has no export `{func}`"))?;
    let f = o
        .instance
        .get_func(&mut o.store, &idx)
        .ok_or_else(|| format!("our `{path}`.`{func}` is not a function"))?;
    let mut out = [nyc::Val::Bool(false)];
    Ok(
        match f.call(&mut o.store, &args(ty, v, spread, types::to_ny), &mut out) {
            Ok(()) => Outcome::Value(
                types::from_ny(rty, &out[0]).map_err(|e| format!("our result: {e}"))?,
            ),
            Err(e) => Outcome::Trap(e.to_string()),
        },
    )
}

fn call_theirs(
    t: &mut Theirs,
    path: &str,
    func: &str,
    (ty, rty): (&Ty, &Ty),
    v: &V,
    spread: bool,
) -> Result<Outcome, String> {
    let parent = t
        .instance
        .get_export_index(&mut t.store, None, path)
        .ok_or_else(|| format!("wasmtime's instance has no export `{path}`"))?;
    let idx = t
        .instance
        .get_export_index(&mut t.store, Some(&parent), func)
        .ok_or_else(|| format!("wasmtime's `{path}` has no export `{func}`"))?;
    let f = t
        .instance
        .get_func(&mut t.store, idx)
        .ok_or_else(|| format!("wasmtime's `{path}`.`{func}` is not a function"))?;
    let mut out = [wtc::Val::Bool(false)];
    Ok(
        match f.call(&mut t.store, &args(ty, v, spread, types::to_wt), &mut out) {
            Ok(()) => Outcome::Value(
                types::from_wt(rty, &out[0]).map_err(|e| format!("wasmtime's result: {e}"))?,
            ),
            Err(e) => Outcome::Trap(format!("{e:#}")),
        },
    )
}

/// A trap by kind, read from either engine's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrapKind {
    Host,
    Unreachable,
    /// A pointer, string or list out of bounds (wasmtime's fused adapters
    /// trap on the memory access itself: "out of bounds memory access").
    OutOfBounds,
    Misaligned,
    Discriminant,
    Char,
    Other,
}

fn trap_kind(message: &str) -> TrapKind {
    let has = |s: &str| message.contains(s);
    if has(HOST_REFUSES) {
        TrapKind::Host
    } else if has("unreachable") {
        TrapKind::Unreachable
    } else if has("out of bounds") || has("out-of-bounds") || has("beyond end of memory") {
        TrapKind::OutOfBounds
    } else if has("not aligned") || has("unaligned") {
        TrapKind::Misaligned
    } else if has("discriminant") {
        TrapKind::Discriminant
    } else if has("char") {
        TrapKind::Char
    } else {
        TrapKind::Other
    }
}

/// The trap a corruption of a result of `ty` must cause.
fn expected_trap(c: Corruption) -> TrapKind {
    match c {
        Corruption::Unreachable => TrapKind::Unreachable,
        Corruption::PointerOutOfBounds | Corruption::ContentsOutOfBounds => TrapKind::OutOfBounds,
        Corruption::PointerMisaligned => TrapKind::Misaligned,
        Corruption::Discriminant => TrapKind::Discriminant,
        Corruption::Surrogate => TrapKind::Char,
    }
}

/// What the run compared.
#[derive(Default)]
struct Tally {
    /// Calls compared (all of them passed or failed).
    passed: u64,
    failed: u64,
    /// Passing calls whose value has each kind.
    kinds: [u64; KINDS.len()],
    /// Passing calls by how the type is passed: one flat value, several
    /// flat values (result in memory), spilled to memory.
    shapes: [u64; 3],
    /// Passing calls by path (`e`, `fe`, `fh`).
    paths: [u64; 3],
    /// Passing `bad` calls (both trapped) by corruption.
    corruptions: std::collections::BTreeMap<String, u64>,
    /// Seeds by (inner, outer) string encoding.
    encodings: [[u64; 3]; 3],
    /// Components compiled and run.
    components: u64,
    /// Adapters between instances: compiled (fused, `fact.rs`), all.
    adapters: [u64; 2],
    /// Passing calls whose value has each of [`FEATURES`].
    features: [u64; FEATURES.len()],
    /// Calls into the instance with the broken allocator (directly and
    /// through the adapter) that returned a value / trapped, in both.
    evil: [u64; 2],
    /// Passing `take` (value in, `u32` out) and `give` (`u32` in, value
    /// out) calls through the forwarder and adapter (`fe`) whose value
    /// holds a string.
    take_give: [u64; 2],
}

/// What values must have now and then, beyond their kinds.
const FEATURES: [&str; 9] = [
    "a non-ASCII string",
    "a string with a char past U+FFFF",
    "a string of 200+ chars",
    "a NaN",
    "an empty list",
    "a list of 100+ elements",
    "a non-empty list of strings",
    "a non-empty list of records",
    "a non-empty list of lists",
];

/// Marks the [`FEATURES`] `v` has.
fn features(v: &V, acc: &mut [bool; FEATURES.len()]) {
    match v {
        V::String(s) => {
            acc[0] |= !s.is_ascii();
            acc[1] |= s.chars().any(|c| c > '\u{ffff}');
            acc[2] |= s.chars().count() >= 200;
        }
        V::F32(x) => acc[3] |= f32::from_bits(*x).is_nan(),
        V::F64(x) => acc[3] |= f64::from_bits(*x).is_nan(),
        V::List(vs) => {
            acc[4] |= vs.is_empty();
            acc[5] |= vs.len() >= 100;
            match vs.first() {
                Some(V::String(_)) => acc[6] = true,
                Some(V::Record(_)) => acc[7] = true,
                Some(V::List(_)) => acc[8] = true,
                _ => {}
            }
            vs.iter().for_each(|v| features(v, acc))
        }
        V::Record(vs) | V::Tuple(vs) => vs.iter().for_each(|v| features(v, acc)),
        V::Case(_, Some(p)) => features(p, acc),
        _ => {}
    }
}

fn shape(ty: &Ty) -> usize {
    match ty.flat().len() {
        1 => 0,
        n if n <= MAX_FLAT_PARAMS => 1,
        _ => 2,
    }
}

/// Runs one seed; `Err` for a failure outside a call (compiling,
/// instantiating); failing calls go to `failures`.
fn check_seed(
    engine: &ny::Engine,
    wengine: &wasmtime::Engine,
    seed: u64,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let spec = spec_for(seed);
    let wasm = build::component(&spec);
    let theirs =
        wtc::Component::new(wengine, &wasm).map_err(|e| format!("wasmtime rejects it: {e:#}"))?;
    let ours = nyc::Component::new(engine, &wasm).map_err(|e| format!("we reject it: {e}"))?;
    let spec = Arc::new(spec);
    let compiled = Compiled {
        ours,
        theirs,
        ny_linker: ny_linker(engine, &spec)?,
        wt_linker: wt_linker(wengine, &spec)?,
    };
    tally.components += 1;
    let (compiled_adapters, all_adapters) = compiled.ours.compiled_adapters();
    tally.adapters[0] += compiled_adapters as u64;
    tally.adapters[1] += all_adapters as u64;
    let ei = |e: Enc| ENCODINGS.iter().position(|x| *x == e).unwrap_or(0);
    tally.encodings[ei(spec.inner_enc)][ei(spec.outer_enc)] += 1;
    let (mut ours, mut theirs) = compiled.instantiate()?;
    let mut evil = compiled.instantiate()?;
    let mut rng = Rng::from_state(seed ^ 0x5eed_5eed_5eed_5eed);
    let describe = |i: usize, path: &str, func: &str| {
        format!(
            "seed {seed}: `{path}`.`{func}-{i}` of type {} (encodings: `e` {:?}, forwarder {:?})",
            spec.types[i].wit(),
            spec.inner_enc,
            spec.outer_enc
        )
    };
    for (i, ty) in spec.types.iter().enumerate() {
        for _ in 0..VALUES_PER_TYPE {
            let mut budget = VALUE_BUDGET;
            let v = types::rand_val(&mut rng, ty, &mut budget);
            let mut seen = [false; KINDS.len()];
            v.kinds(ty, &mut seen);
            let mut feats = [false; FEATURES.len()];
            features(&v, &mut feats);
            for (pi, path) in PATHS.iter().enumerate() {
                for func in &FUNCS[..2] {
                    let func = format!("{func}-{i}");
                    let expected = if func.starts_with("echo") {
                        v.clone()
                    } else {
                        types::transform(ty, &v)
                    };
                    let a = call_ours(&mut ours, path, &func, (ty, ty), &v, spec.spread[i])?;
                    let b = call_theirs(&mut theirs, path, &func, (ty, ty), &v, spec.spread[i])?;
                    let ok = matches!((&a, &b), (Outcome::Value(x), Outcome::Value(y)) if *x == expected && *y == expected);
                    if ok {
                        tally.passed += 1;
                        for (k, s) in seen.iter().enumerate() {
                            tally.kinds[k] += u64::from(*s);
                        }
                        tally.shapes[shape(ty)] += 1;
                        tally.paths[pi] += 1;
                        for (n, f) in tally.features.iter_mut().zip(feats) {
                            *n += u64::from(f);
                        }
                        continue;
                    }
                    tally.failed += 1;
                    let which = match (&a, &b) {
                        (Outcome::Value(x), Outcome::Value(y)) if x == y => {
                            "both engines agree, but not with the generator"
                        }
                        (Outcome::Trap(_), Outcome::Trap(_)) => "both trapped on a valid value",
                        _ => "the engines differ",
                    };
                    let diff = |o: &Outcome| {
                        match o {
                        Outcome::Value(x) => {
                            expected.first_difference(x).map_or(String::new(), |d| {
                                format!("\n            differs from the expected at {d} (expected / this)")
                            })
                        }
                        Outcome::Trap(_) => String::new(),
                    }
                    };
                    failures.push(format!(
                        "{}: {which}\n  value:    {}\n  expected: {}\n  ours:     {}{}\n  wasmtime: {}{}",
                        describe(i, path, &func),
                        v.show(),
                        expected.show(),
                        a.show(),
                        diff(&a),
                        b.show(),
                        diff(&b)
                    ));
                    // A trap poisons an instance: start again.
                    (ours, theirs) = compiled.instantiate()?;
                }
                // `take` keeps the value (a string or any value in, a
                // `u32` out), `give` returns it (a `u32` in, the value out).
                let sp = spec.spread[i];
                let (take, give) = (format!("take-{i}"), format!("give-{i}"));
                let ta = call_ours(&mut ours, path, &take, (ty, &Ty::U32), &v, sp)?;
                let tb = call_theirs(&mut theirs, path, &take, (ty, &Ty::U32), &v, sp)?;
                let ga = call_ours(&mut ours, path, &give, (&Ty::U32, ty), &V::U32(0), false)?;
                let gb = call_theirs(&mut theirs, path, &give, (&Ty::U32, ty), &V::U32(0), false)?;
                let one = |o: &Outcome| matches!(o, Outcome::Value(V::U32(1)));
                let same = |o: &Outcome| matches!(o, Outcome::Value(x) if *x == v);
                if one(&ta) && one(&tb) && same(&ga) && same(&gb) {
                    tally.passed += 2;
                    if *path == "fe" && seen[KINDS.iter().position(|k| *k == "string").unwrap_or(0)]
                    {
                        tally.take_give[0] += 1;
                        tally.take_give[1] += 1;
                    }
                } else {
                    tally.failed += 1;
                    failures.push(format!(
                        "{}: `take` then `give` differ\n  value:    {}\n  ours:     {} then {}\n  wasmtime: {} then {}",
                        describe(i, path, &take),
                        v.show(),
                        ta.show(),
                        ga.show(),
                        tb.show(),
                        gb.show()
                    ));
                    (ours, theirs) = compiled.instantiate()?;
                }
            }
            // Into the instance whose allocator is broken: a call that
            // allocates there must trap in both, any other must work.
            for path in ["x", "fx"] {
                let func = format!("echo-{i}");
                let a = call_ours(&mut evil.0, path, &func, (ty, ty), &v, spec.spread[i])?;
                let b = call_theirs(&mut evil.1, path, &func, (ty, ty), &v, spec.spread[i])?;
                let kind = |o: &Outcome| match o {
                    Outcome::Trap(m) => Some(trap_kind(m)),
                    Outcome::Value(_) => None,
                };
                let want = match spec.evil_realloc {
                    EvilRealloc::OutOfBounds => TrapKind::OutOfBounds,
                    EvilRealloc::Misaligned => TrapKind::Misaligned,
                };
                match (&a, &b) {
                    (Outcome::Value(x), Outcome::Value(y)) if *x == v && *y == v => {
                        tally.passed += 1;
                        tally.evil[0] += 1;
                        continue;
                    }
                    (Outcome::Trap(_), Outcome::Trap(_))
                        if kind(&a) == Some(want) && kind(&b) == Some(want) =>
                    {
                        tally.passed += 1;
                        tally.evil[1] += 1;
                    }
                    _ => {
                        tally.failed += 1;
                        failures.push(format!(
                            "{}: with a realloc that returns pointers {:?}, the engines differ \
                             (a trap must be {want:?})\n  value:    {}\n  ours:     {}\n  wasmtime: {}",
                            describe(i, path, &func),
                            spec.evil_realloc,
                            v.show(),
                            a.show(),
                            b.show()
                        ));
                    }
                }
                evil = compiled.instantiate()?;
            }
        }
        // `bad`, once per path, each in fresh instances.
        let mut budget = VALUE_BUDGET / 4;
        let v = types::rand_val(&mut rng, ty, &mut budget);
        for path in PATHS {
            let (mut o, mut t) = compiled.instantiate()?;
            let func = format!("bad-{i}");
            let a = call_ours(&mut o, path, &func, (ty, ty), &v, spec.spread[i])?;
            let b = call_theirs(&mut t, path, &func, (ty, ty), &v, spec.spread[i])?;
            let want = match (path, spec.host_bad[i]) {
                ("fh", HostBad::Refuse) => TrapKind::Host,
                // The engines' messages for a host value of the wrong
                // type differ: any trap will do.
                ("fh", _) => TrapKind::Other,
                _ => expected_trap(spec.corruptions[i]),
            };
            let kind = |o: &Outcome| match o {
                Outcome::Trap(m) if want == TrapKind::Other => Some(TrapKind::Other),
                Outcome::Trap(m) => Some(trap_kind(m)),
                Outcome::Value(_) => None,
            };
            if kind(&a) == Some(want) && kind(&b) == Some(want) {
                tally.passed += 1;
                let what = if path == "fh" {
                    format!("host {:?}", spec.host_bad[i])
                } else {
                    format!("{:?}", spec.corruptions[i])
                };
                if std::env::var_os("SHOW_TRAPS").is_some() {
                    println!(
                        "TRAP {what}\n  ours:     {}\n  wasmtime: {}",
                        a.show(),
                        b.show()
                    );
                }
                *tally.corruptions.entry(what).or_default() += 1;
                continue;
            }
            tally.failed += 1;
            failures.push(format!(
                "{}: expected a trap of kind {want:?} in both (the result broken: {:?})\n  value:    {}\n  ours:     {} ({:?})\n  wasmtime: {} ({:?})",
                describe(i, path, &func),
                spec.corruptions[i],
                v.show(),
                a.show(),
                kind(&a),
                b.show(),
                kind(&b)
            ));
        }
    }
    Ok(())
}

struct Args {
    count: u64,
    /// The first seed.
    from: u64,
    seed: Option<u64>,
    dump: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        count: DEFAULT_COUNT,
        from: 0,
        seed: None,
        dump: "target/component-differential".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => a.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--from" => a.from = value()?.parse().map_err(|e| format!("--from: {e}"))?,
            "--seed" => a.seed = Some(value()?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--dump" => a.dump = value()?,
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: component_differential [--count N] \
                     [--from F] [--seed S] [--dump DIR]"
                ));
            }
        }
    }
    Ok(a)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("component_differential: {e}");
            return ExitCode::from(2);
        }
    };
    let engine = ny::Engine::default();
    // Fixed-length lists are off by default in wasmtime 48 (maps are on);
    // our engine always accepts both.
    let mut wconfig = wasmtime::Config::new();
    wconfig
        .wasm_component_model_fixed_length_lists(true)
        .wasm_component_model_map(true);
    let wengine = match wasmtime::Engine::new(&wconfig) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("component_differential: making wasmtime's engine: {e:#}");
            return ExitCode::from(2);
        }
    };
    let res_compiled = match resources::ResCompiled::new(&engine, &wengine) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("component_differential: {e}");
            return ExitCode::from(2);
        }
    };
    let mut res_tally = resources::ResTally::default();
    let seeds: Vec<u64> = match args.seed {
        Some(s) => vec![s],
        None => (args.from..args.from + args.count).collect(),
    };
    let seed_count = seeds.len() as u64;
    let start = std::time::Instant::now();
    let mut tally = Tally::default();
    let mut failed_seeds = 0u64;
    let mut messages: Vec<String> = Vec::new();
    std::panic::set_hook(Box::new(|_| {}));
    for seed in seeds {
        let mut failures = Vec::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            check_seed(&engine, &wengine, seed, &mut tally, &mut failures)
        }))
        .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))));
        if let Err(e) = r {
            tally.failed += 1;
            let spec = spec_for(seed);
            let tys: Vec<String> = spec.types.iter().map(Ty::wit).collect();
            failures.push(format!("seed {seed}: {e}\n  types: {tys:?}"));
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            resources::check_seed(&res_compiled, seed, &mut res_tally, &mut failures)
        }))
        .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))));
        if let Err(e) = r {
            res_tally.failed += 1;
            failures.push(format!("seed {seed} (resources): {e}"));
        }
        if !failures.is_empty() {
            failed_seeds += 1;
            let _ = std::fs::create_dir_all(&args.dump);
            let path = format!("{}/seed-{seed}.wasm", args.dump);
            let _ = std::fs::write(&path, build::component(&spec_for(seed)));
            let _ = std::fs::write(
                format!("{}/seed-{seed}.txt", args.dump),
                failures.join("\n"),
            );
            for f in failures.iter().take(3) {
                messages.push(format!("{f}\n  component: {path}"));
            }
            if failures.len() > 3 {
                messages.push(format!("seed {seed}: {} more failures", failures.len() - 3));
            }
        }
    }
    let _ = std::panic::take_hook();
    for m in &messages {
        println!("FAIL {m}");
    }
    let calls = tally.passed + tally.failed;
    let share = |n: u64| 100.0 * n as f64 / tally.passed.max(1) as f64;
    let kinds: Vec<String> = KINDS
        .iter()
        .zip(tally.kinds)
        .map(|(k, n)| format!("{k} {n} ({:.0}%)", share(n)))
        .collect();
    let [one, multi, spilled] = tally.shapes;
    let [e, fe, fh] = tally.paths;
    let pairs: Vec<String> = ENCODINGS
        .iter()
        .enumerate()
        .flat_map(|(i, a)| ENCODINGS.iter().enumerate().map(move |(j, b)| (i, j, a, b)))
        .map(|(i, j, a, b)| format!("{a:?}/{b:?} {}", tally.encodings[i][j]))
        .collect();
    println!(
        "component-differential-wasmtime: {} passed, {} failed ({calls} calls in {} components \
         from {seed_count} seeds, {failed_seeds} seeds failing; by kind of value: {}; by shape: \
         {one} one flat value, {multi} flat in memory out, {spilled} spilled; by path: {e} direct, \
         {fe} through the forwarder and adapter, {fh} through the forwarder to the host; traps \
         compared: {:?}; with a broken realloc: {} returned, {} trapped; values with {}; seeds by encodings (e/forwarder): \
         {}; through the adapter with a string: {} `take` (value in, u32 out), {} `give` (u32 in, value out); \
         adapters compiled: {} of {}; {:.1} s)",
        tally.passed,
        tally.failed,
        tally.components,
        kinds.join(", "),
        tally.corruptions,
        tally.evil[0],
        tally.evil[1],
        FEATURES
            .iter()
            .zip(tally.features)
            .map(|(f, n)| format!("{f} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        pairs.join(", "),
        tally.take_give[0],
        tally.take_give[1],
        tally.adapters[0],
        tally.adapters[1],
        start.elapsed().as_secs_f64()
    );
    println!(
        "component-differential-resources: {} passed, {} failed (calls by function: {:?}; by \
         path: {} direct, {} through the forwarder; {} destructor logs compared, {} entries; \
         misuses trapped alike: {:?})",
        res_tally.passed,
        res_tally.failed,
        res_tally.calls,
        res_tally.paths[0],
        res_tally.paths[1],
        res_tally.logs,
        res_tally.log_entries,
        res_tally.traps
    );
    let mut ok = tally.failed == 0 && res_tally.failed == 0;
    if seed_count >= 100 {
        let mut require = |cond: bool, what: String| {
            if !cond {
                println!("TOO LITTLE: {what}");
                ok = false;
            }
        };
        require(
            tally.passed >= MIN_CALLS,
            format!("{} calls compared (at least {MIN_CALLS})", tally.passed),
        );
        for (k, n) in KINDS.iter().zip(tally.kinds) {
            require(
                n >= MIN_PER_KIND,
                format!("{n} calls with a {k} (at least {MIN_PER_KIND})"),
            );
        }
        for (n, what) in [
            (one, "one flat value"),
            (multi, "several flat values"),
            (spilled, "spilled parameters"),
            (fe, "through the adapter"),
            (fh, "through the host"),
            (tally.evil[0], "a broken realloc that returned"),
            (tally.evil[1], "a broken realloc that trapped"),
            (
                tally.take_give[0],
                "a string in and a scalar out through the adapter (`take`)",
            ),
            (
                tally.take_give[1],
                "a scalar in and a string out through the adapter (`give`)",
            ),
        ]
        .into_iter()
        .chain(tally.features.into_iter().zip(FEATURES))
        {
            require(
                n >= MIN_PER_SHAPE,
                format!("{n} calls with {what} (at least {MIN_PER_SHAPE})"),
            );
        }
        for c in [
            Corruption::Unreachable,
            Corruption::PointerOutOfBounds,
            Corruption::PointerMisaligned,
            Corruption::Discriminant,
            Corruption::Surrogate,
            Corruption::ContentsOutOfBounds,
        ] {
            let n = tally
                .corruptions
                .get(&format!("{c:?}"))
                .copied()
                .unwrap_or(0);
            require(
                n >= MIN_PER_CORRUPTION,
                format!("{n} traps compared for {c:?} (at least {MIN_PER_CORRUPTION})"),
            );
        }
        // Resources: every function called, both paths, logs with
        // entries, every misuse.
        for f in [
            "new-r",
            "new-s",
            "rep-r",
            "take-r",
            "take-s",
            "both",
            "echo-rec",
            "echo-opt",
            "echo-list",
            "echo-var",
            "echo-res",
            "take-list",
            "sum-borrows",
        ] {
            let n = res_tally.calls.get(f).copied().unwrap_or(0);
            require(
                n >= MIN_PER_SHAPE,
                format!("{n} resource calls of `{f}` (at least {MIN_PER_SHAPE})"),
            );
        }
        for (n, what) in [
            (res_tally.paths[0], "resource calls made directly"),
            (res_tally.paths[1], "resource calls through the forwarder"),
            (res_tally.log_entries, "destructor log entries compared"),
        ] {
            require(
                n >= MIN_PER_SHAPE,
                format!("{n} {what} (at least {MIN_PER_SHAPE})"),
            );
        }
        for (name, _, _) in resources::MISUSES {
            let n = res_tally.traps.get(name).copied().unwrap_or(0);
            require(
                n >= MIN_PER_CORRUPTION,
                format!("{n} resource traps compared for `{name}` (at least {MIN_PER_CORRUPTION})"),
            );
        }
        for (i, a) in ENCODINGS.iter().enumerate() {
            for (j, b) in ENCODINGS.iter().enumerate() {
                let n = tally.encodings[i][j];
                require(
                    n >= MIN_PER_ENCODING_PAIR,
                    format!(
                        "{n} seeds with encodings {a:?}/{b:?} (at least {MIN_PER_ENCODING_PAIR})"
                    ),
                );
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
