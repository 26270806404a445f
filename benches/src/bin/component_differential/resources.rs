//! The resource part of the component differential: `resources.wat` (two
//! guest-defined resource types with destructors that log, a forwarding
//! component between them and the host) driven by a random sequence of
//! calls per seed in both engines.
//!
//! Each seed makes handles (`new-r`, `new-s`), passes them as `own` and
//! `borrow` parameters and gets them back as results, alone and inside
//! records, options, variants, results and lists (`echo-*`, `rep-r`, `both`,
//! `sum-borrows`), disposes of them (`take-r`, `take-s`, `take-list`: the destructor
//! runs), each call directly (`r`) or through the forwarder (`f`, so handles
//! move through two instances' tables). Every handle the host holds is
//! checked by its rep (`rep-r`, or `take-*` at the end), and the
//! destructor log (`log`) must be the same in both engines and what the
//! sequence implies: which reps were dropped, in which order.
//!
//! Then, each in fresh instances (half of them per seed, alternating), the
//! misuses: a handle used after its
//! drop, dropped twice, used as the other resource type, an index never
//! given out (all inside `$R`, reached directly or through `$F`), a borrow
//! not dropped before its call returns, a handle passed as a borrow
//! and as an own in one call (its own's lift finds it lent), and the host
//! passing an `s` where an `r` belongs: both engines must trap, with a
//! message of the same kind.
//!
//! Not compared: the host dropping a guest resource itself (our engine's
//! `ResourceAny` is a plain value with no `resource_drop`; wasmtime's has
//! one), and a host handle used after it was moved (wasmtime tracks the
//! host's handles in a table and refuses; ours, by design, does not).

use std::collections::BTreeMap;

use nyash_engine as ny;
use nyash_engine::component as nyc;
use wasmtime::component as wtc;

use crate::types::Rng;

/// The component's text.
pub const WAT: &str = include_str!("resources.wat");

/// Steps of the random sequence per seed.
const STEPS: usize = 24;

/// What the resource part compared.
#[derive(Default)]
pub struct ResTally {
    pub passed: u64,
    pub failed: u64,
    /// Passing calls by function.
    pub calls: BTreeMap<&'static str, u64>,
    /// Passing calls by path (`r`, `f`).
    pub paths: [u64; 2],
    /// Destructor logs compared (and their entries in all).
    pub logs: u64,
    pub log_entries: u64,
    /// Misuses that trapped alike in both engines (with a message of the
    /// kind each must have), by name.
    pub traps: BTreeMap<&'static str, u64>,
}

/// The misuses, each: its name, the function called with a fresh handle
/// (an `s` if the name says so, else an `r`), and the kind of trap both
/// engines must report.
pub const MISUSES: [(&str, &str, &str); 7] = [
    ("use-after-drop", "use-after-drop", "unknown handle"),
    ("double-drop", "double-drop", "unknown handle"),
    ("wrong-type", "wrong-type", "wrong type"),
    ("unknown", "unknown", "unknown handle"),
    ("keep-borrow", "keep-borrow", "borrow remains"),
    ("lend-and-take", "lend-and-take", "dropped while lent"),
    // The host passes an `s` where an own `r` belongs.
    ("host-s-as-r", "take-r", "wrong type"),
];

/// The kind of a trap, from either engine's message.
fn trap_kind(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("borrow handles still remain") {
        "borrow remains"
    } else if m.contains("while borrowed") || m.contains("lent") {
        "dropped while lent"
    } else if m.contains("wrong type") || m.contains("type mismatch") || m.contains("mismatched") {
        "wrong type"
    } else if m.contains("unknown handle") {
        "unknown handle"
    } else {
        "other"
    }
}

/// Both engines' instances of the component.
pub struct Pair {
    ny_store: ny::Store<()>,
    ny: nyc::Instance,
    wt_store: wasmtime::Store<()>,
    wt: wtc::Instance,
}

/// Both engines' compiled component (compiled once for the run).
pub struct ResCompiled {
    ny: nyc::Component,
    wt: wtc::Component,
    ny_linker: nyc::Linker<()>,
    wt_linker: wtc::Linker<()>,
}

impl ResCompiled {
    pub fn new(engine: &ny::Engine, wengine: &wasmtime::Engine) -> Result<ResCompiled, String> {
        let wasm = wat::parse_str(WAT).map_err(|e| format!("resources.wat: {e}"))?;
        Ok(ResCompiled {
            ny: nyc::Component::new(engine, &wasm)
                .map_err(|e| format!("we reject resources.wat: {e}"))?,
            wt: wtc::Component::new(wengine, &wasm)
                .map_err(|e| format!("wasmtime rejects resources.wat: {e:#}"))?,
            ny_linker: nyc::Linker::new(engine),
            wt_linker: wtc::Linker::new(wengine),
        })
    }

    fn instantiate(&self) -> Result<Pair, String> {
        let mut ny_store = ny::Store::new(self.ny.engine(), ());
        let ny = self
            .ny_linker
            .instantiate(&mut ny_store, &self.ny)
            .map_err(|e| format!("we fail to instantiate: {e}"))?;
        let mut wt_store = wasmtime::Store::new(self.wt.engine(), ());
        let wt = self
            .wt_linker
            .instantiate(&mut wt_store, &self.wt)
            .map_err(|e| format!("wasmtime fails to instantiate: {e:#}"))?;
        Ok(Pair {
            ny_store,
            ny,
            wt_store,
            wt,
        })
    }
}

/// A value of the functions' types, handles by their index in the pool.
#[derive(Clone, Debug, PartialEq)]
enum RV {
    U32(u32),
    /// A handle the host holds (index into [`Pool`]).
    H(usize),
    Rec(u32, usize),
    Opt(Option<usize>),
    List(Vec<usize>),
    /// Variant `a` (an `r`), `b` (an `s`) or `c`.
    VarA(usize),
    VarB(usize),
    VarC(u32),
    /// `result<own<r>, own<s>>`: `ok` an `r`, `err` an `s`.
    ResOk(usize),
    ResErr(usize),
}

/// A handle the host holds in both engines, with the rep it must have.
#[derive(Clone, Copy)]
struct Handle {
    ny: nyc::ResourceAny,
    wt: wtc::ResourceAny,
    rep: u32,
    /// An `s` (else an `r`).
    s: bool,
}

#[derive(Default)]
struct Pool {
    /// Every handle ever given to the host, by index.
    all: Vec<Handle>,
    /// The ones it still owns.
    live_r: Vec<usize>,
    live_s: Vec<usize>,
}

impl Pool {
    fn take(&mut self, rng: &mut Rng, s: bool) -> Option<usize> {
        let live = if s {
            &mut self.live_s
        } else {
            &mut self.live_r
        };
        if live.is_empty() {
            return None;
        }
        let i = rng.below(live.len());
        Some(live.swap_remove(i))
    }
    fn peek(&self, rng: &mut Rng) -> Option<usize> {
        (!self.live_r.is_empty()).then(|| self.live_r[rng.below(self.live_r.len())])
    }
}

fn ny_val(pool: &Pool, v: &RV) -> nyc::Val {
    use nyc::Val as X;
    let h = |i: &usize| X::Resource(pool.all[*i].ny);
    match v {
        RV::U32(x) => X::U32(*x),
        RV::H(i) => h(i),
        RV::Rec(n, i) => X::Record(vec![("n".into(), X::U32(*n)), ("h".into(), h(i))]),
        RV::Opt(o) => X::Option(o.as_ref().map(|i| Box::new(h(i)))),
        RV::List(is) => X::List(is.iter().map(h).collect()),
        RV::VarA(i) => X::Variant("a".into(), Some(Box::new(h(i)))),
        RV::VarB(i) => X::Variant("b".into(), Some(Box::new(h(i)))),
        RV::VarC(x) => X::Variant("c".into(), Some(Box::new(X::U32(*x)))),
        RV::ResOk(i) => X::Result(Ok(Some(Box::new(h(i))))),
        RV::ResErr(i) => X::Result(Err(Some(Box::new(h(i))))),
    }
}

fn wt_val(pool: &Pool, v: &RV) -> wtc::Val {
    use wtc::Val as X;
    let h = |i: &usize| X::Resource(pool.all[*i].wt);
    match v {
        RV::U32(x) => X::U32(*x),
        RV::H(i) => h(i),
        RV::Rec(n, i) => X::Record(vec![("n".into(), X::U32(*n)), ("h".into(), h(i))]),
        RV::Opt(o) => X::Option(o.as_ref().map(|i| Box::new(h(i)))),
        RV::List(is) => X::List(is.iter().map(h).collect()),
        RV::VarA(i) => X::Variant("a".into(), Some(Box::new(h(i)))),
        RV::VarB(i) => X::Variant("b".into(), Some(Box::new(h(i)))),
        RV::VarC(x) => X::Variant("c".into(), Some(Box::new(X::U32(*x)))),
        RV::ResOk(i) => X::Result(Ok(Some(Box::new(h(i))))),
        RV::ResErr(i) => X::Result(Err(Some(Box::new(h(i))))),
    }
}

/// A result in a shape both engines' values map to: numbers, and handles
/// in order of appearance (to be paired up and checked by rep).
#[derive(Debug, PartialEq)]
enum Shape {
    U32(u32),
    List32(Vec<u32>),
    H,
    Rec(u32),
    Opt(bool),
    List(usize),
    VarA,
    VarB,
    VarC(u32),
    ResOk,
    ResErr,
}

macro_rules! shape_of {
    ($name:ident, $m:ident) => {
        /// The result's shape and the handles in it, in order.
        fn $name(v: &$m::Val) -> Result<(Shape, Vec<$m::ResourceAny>), String> {
            use $m::Val as X;
            let res = |v: &X| match v {
                X::Resource(r) => Ok(*r),
                other => Err(format!("{other:?} where a handle belongs")),
            };
            Ok(match v {
                X::U32(x) => (Shape::U32(*x), vec![]),
                X::List(vs) if vs.iter().all(|v| matches!(v, X::U32(_))) && !vs.is_empty() => (
                    Shape::List32(
                        vs.iter()
                            .map(|v| if let X::U32(x) = v { *x } else { 0 })
                            .collect(),
                    ),
                    vec![],
                ),
                X::Resource(r) => (Shape::H, vec![*r]),
                X::Record(fs) => match &fs[..] {
                    [(n, X::U32(x)), (h, r)] if n == "n" && h == "h" => {
                        (Shape::Rec(*x), vec![res(r)?])
                    }
                    _ => return Err(format!("record {fs:?}")),
                },
                X::Option(None) => (Shape::Opt(false), vec![]),
                X::Option(Some(r)) => (Shape::Opt(true), vec![res(r)?]),
                X::List(vs) => (
                    Shape::List(vs.len()),
                    vs.iter().map(res).collect::<Result<_, _>>()?,
                ),
                X::Variant(c, Some(p)) if c == "a" => (Shape::VarA, vec![res(p)?]),
                X::Variant(c, Some(p)) if c == "b" => (Shape::VarB, vec![res(p)?]),
                X::Variant(c, Some(p)) if c == "c" => match &**p {
                    X::U32(x) => (Shape::VarC(*x), vec![]),
                    p => return Err(format!("case c with {p:?}")),
                },
                X::Result(Ok(Some(p))) => (Shape::ResOk, vec![res(p)?]),
                X::Result(Err(Some(p))) => (Shape::ResErr, vec![res(p)?]),
                other => return Err(format!("unexpected result {other:?}")),
            })
        }
    };
}
shape_of!(ny_shape, nyc);
shape_of!(wt_shape, wtc);

/// A call's outcome in both engines: the result (shape and handles), or
/// the trap's message.
type Out<S, R> = Result<(S, Vec<R>), String>;

/// Our outcome and wasmtime's.
type Outs = (Out<Shape, nyc::ResourceAny>, Out<Shape, wtc::ResourceAny>);

impl Pair {
    fn call(&mut self, pool: &Pool, path: &str, func: &str, args: &[RV]) -> Result<Outs, String> {
        let ny_out = {
            let s = &mut self.ny_store;
            let p = self
                .ny
                .get_export_index(&mut *s, None, path)
                .ok_or_else(|| format!("our instance has no `{path}`"))?;
            let i = self
                .ny
                .get_export_index(&mut *s, Some(&p), func)
                .ok_or_else(|| format!("our `{path}` has no `{func}`"))?;
            let f = self
                .ny
                .get_func(&mut *s, &i)
                .ok_or_else(|| format!("our `{path}.{func}` is no function"))?;
            let args: Vec<nyc::Val> = args.iter().map(|a| ny_val(pool, a)).collect();
            let mut out = [nyc::Val::Bool(false)];
            match f.call(&mut *s, &args, &mut out) {
                Ok(()) => Ok(ny_shape(&out[0]).map_err(|e| format!("our result: {e}"))?),
                Err(e) => Err(e.to_string()),
            }
        };
        let wt_out = {
            let s = &mut self.wt_store;
            let p = self
                .wt
                .get_export_index(&mut *s, None, path)
                .ok_or_else(|| format!("wasmtime's instance has no `{path}`"))?;
            let i = self
                .wt
                .get_export_index(&mut *s, Some(&p), func)
                .ok_or_else(|| format!("wasmtime's `{path}` has no `{func}`"))?;
            let f = self
                .wt
                .get_func(&mut *s, i)
                .ok_or_else(|| format!("wasmtime's `{path}.{func}` is no function"))?;
            let args: Vec<wtc::Val> = args.iter().map(|a| wt_val(pool, a)).collect();
            let mut out = [wtc::Val::Bool(false)];
            match f.call(&mut *s, &args, &mut out) {
                Ok(()) => Ok(wt_shape(&out[0]).map_err(|e| format!("wasmtime's result: {e}"))?),
                Err(e) => Err(format!("{e:#}")),
            }
        };
        Ok((ny_out, wt_out))
    }
}

const PATHS: [&str; 2] = ["r", "f"];

/// Runs one seed's sequence and misuses; failures go to `failures`.
pub fn check_seed(
    compiled: &ResCompiled,
    seed: u64,
    tally: &mut ResTally,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let mut rng = Rng::from_state(seed.wrapping_mul(0xa076_1d64_78bd_642f) ^ 0x7e50_u64);
    let mut pair = compiled.instantiate()?;
    let mut pool = Pool::default();
    // The destructor log the sequence implies.
    let mut log: Vec<u32> = Vec::new();
    let mut next_rep = rng.below(1 << 20) as u32;
    let mut rep = |rng: &mut Rng| {
        next_rep = next_rep.wrapping_add(1 + rng.below(1000) as u32) & 0x7fff_ffff;
        next_rep
    };
    let mut steps = 0;
    let mut fail = |tally: &mut ResTally, what: String| {
        tally.failed += 1;
        failures.push(format!("seed {seed} (resources): {what}"));
    };
    // Each step: the call, its arguments, the result it must have (handles
    // by the reps they must carry), and what it does to the pool and log.
    while steps < STEPS {
        steps += 1;
        let pi = rng.below(2);
        let path = PATHS[pi];
        enum Want {
            U32(u32),
            /// The shape, and the reps of the handles in it (`s` or not).
            Handles(Shape, Vec<(u32, bool)>),
        }
        let (func, args, want, dropped): (&'static str, Vec<RV>, Want, Vec<u32>) = match rng
            .below(13)
        {
            0 | 1 => {
                let r = rep(&mut rng);
                let s = rng.chance(25);
                (
                    if s { "new-s" } else { "new-r" },
                    vec![RV::U32(r)],
                    Want::Handles(Shape::H, vec![(r, s)]),
                    vec![],
                )
            }
            2 => {
                let Some(i) = pool.peek(&mut rng) else {
                    continue;
                };
                ("rep-r", vec![RV::H(i)], Want::U32(pool.all[i].rep), vec![])
            }
            3 => {
                let s = rng.chance(30);
                let Some(i) = pool.take(&mut rng, s) else {
                    continue;
                };
                let h = pool.all[i];
                let logged = if s { h.rep ^ 0x8000_0000 } else { h.rep };
                (
                    if s { "take-s" } else { "take-r" },
                    vec![RV::H(i)],
                    Want::U32(h.rep),
                    vec![logged],
                )
            }
            4 => {
                let Some(b) = pool.take(&mut rng, false) else {
                    continue;
                };
                let Some(a) = pool.peek(&mut rng) else {
                    pool.live_r.push(b);
                    continue;
                };
                let (ra, rb) = (pool.all[a].rep, pool.all[b].rep);
                (
                    "both",
                    vec![RV::H(a), RV::H(b)],
                    Want::U32(ra.wrapping_add(rb)),
                    vec![rb],
                )
            }
            5 => {
                let Some(i) = pool.take(&mut rng, false) else {
                    continue;
                };
                let n = rng.next_u64() as u32;
                (
                    "echo-rec",
                    vec![RV::Rec(n, i)],
                    Want::Handles(Shape::Rec(n), vec![(pool.all[i].rep, false)]),
                    vec![],
                )
            }
            6 => {
                let o = if rng.chance(70) {
                    pool.take(&mut rng, false)
                } else {
                    None
                };
                let reps = o.iter().map(|i| (pool.all[*i].rep, false)).collect();
                (
                    "echo-opt",
                    vec![RV::Opt(o)],
                    Want::Handles(Shape::Opt(o.is_some()), reps),
                    vec![],
                )
            }
            7 => {
                let n = rng.below(6);
                let is: Vec<usize> = (0..n).filter_map(|_| pool.take(&mut rng, false)).collect();
                let reps = is.iter().map(|i| (pool.all[*i].rep, false)).collect();
                (
                    "echo-list",
                    vec![RV::List(is.clone())],
                    Want::Handles(Shape::List(is.len()), reps),
                    vec![],
                )
            }
            8 => {
                let (v, shape) = match rng.below(3) {
                    0 => match pool.take(&mut rng, false) {
                        Some(i) => (RV::VarA(i), Shape::VarA),
                        None => continue,
                    },
                    1 => match pool.take(&mut rng, true) {
                        Some(i) => (RV::VarB(i), Shape::VarB),
                        None => continue,
                    },
                    _ => {
                        let x = rng.next_u64() as u32;
                        (RV::VarC(x), Shape::VarC(x))
                    }
                };
                let reps = match v {
                    RV::VarA(i) => vec![(pool.all[i].rep, false)],
                    RV::VarB(i) => vec![(pool.all[i].rep, true)],
                    _ => vec![],
                };
                ("echo-var", vec![v], Want::Handles(shape, reps), vec![])
            }
            9 => {
                let s = rng.chance(40);
                let Some(i) = pool.take(&mut rng, s) else {
                    continue;
                };
                let (v, shape) = if s {
                    (RV::ResErr(i), Shape::ResErr)
                } else {
                    (RV::ResOk(i), Shape::ResOk)
                };
                (
                    "echo-res",
                    vec![v],
                    Want::Handles(shape, vec![(pool.all[i].rep, s)]),
                    vec![],
                )
            }
            10 => {
                // Dropped by `$R` in list order.
                let n = rng.below(5);
                let is: Vec<usize> = (0..n).filter_map(|_| pool.take(&mut rng, false)).collect();
                let dropped = is.iter().map(|i| pool.all[*i].rep).collect();
                (
                    "take-list",
                    vec![RV::List(is.clone())],
                    Want::U32(is.len() as u32),
                    dropped,
                )
            }
            _ => {
                let n = rng.below(5);
                let is: Vec<usize> = (0..n).filter_map(|_| pool.peek(&mut rng)).collect();
                let sum = is
                    .iter()
                    .fold(0u32, |a, i| a.wrapping_add(pool.all[*i].rep));
                ("sum-borrows", vec![RV::List(is)], Want::U32(sum), vec![])
            }
        };
        let (a, b) = pair.call(&pool, path, func, &args)?;
        let ok = match (&want, &a, &b) {
            (Want::U32(x), Ok((Shape::U32(y), _)), Ok((Shape::U32(z), _))) => x == y && y == z,
            (Want::Handles(shape, reps), Ok((sa, ha)), Ok((sb, hb))) => {
                if sa != shape || sb != shape || ha.len() != reps.len() || hb.len() != reps.len() {
                    false
                } else {
                    // Each handle back in the pool, checked by its rep
                    // below.
                    for ((x, y), (r, s)) in ha.iter().zip(hb).zip(reps) {
                        pool.all.push(Handle {
                            ny: *x,
                            wt: *y,
                            rep: *r,
                            s: *s,
                        });
                        let i = pool.all.len() - 1;
                        if *s {
                            pool.live_s.push(i)
                        } else {
                            pool.live_r.push(i)
                        }
                    }
                    true
                }
            }
            _ => false,
        };
        if !ok {
            fail(
                tally,
                format!(
                    "`{path}.{func}` with {args:?}: ours {a:?}, wasmtime's {b:?} (must be {})",
                    match &want {
                        Want::U32(x) => format!("{x}"),
                        Want::Handles(s, r) => format!("{s:?} with reps {r:?}"),
                    }
                ),
            );
            return Ok(());
        }
        log.extend(dropped);
        tally.passed += 1;
        tally.paths[pi] += 1;
        *tally.calls.entry(func).or_default() += 1;
    }
    // Every `r` the host holds has the rep it must have (through either
    // path); then the logs, after disposing of half of what is left.
    let mut handles: Vec<usize> = pool.live_r.clone();
    handles.extend(&pool.live_s);
    for (k, i) in handles.into_iter().enumerate() {
        let h = pool.all[i];
        let path = PATHS[rng.below(2)];
        let (func, dispose) = match (h.s, k % 2 == 0) {
            (true, _) => ("take-s", true),
            (false, true) => ("take-r", true),
            (false, false) => ("rep-r", false),
        };
        let (a, b) = pair.call(&pool, path, func, &[RV::H(i)])?;
        match (&a, &b) {
            (Ok((Shape::U32(x), _)), Ok((Shape::U32(y), _))) if *x == h.rep && *y == h.rep => {
                tally.passed += 1;
                *tally.calls.entry(func).or_default() += 1;
                if dispose {
                    log.push(if h.s { h.rep ^ 0x8000_0000 } else { h.rep });
                }
            }
            _ => {
                fail(
                    tally,
                    format!(
                        "`{path}.{func}` of a handle with rep {}: ours {a:?}, wasmtime's {b:?}",
                        h.rep
                    ),
                );
                return Ok(());
            }
        }
    }
    let path = PATHS[rng.below(2)];
    let (a, b) = pair.call(&pool, path, "log", &[])?;
    fn got<R>(o: &Out<Shape, R>) -> Option<Vec<u32>> {
        match o {
            Ok((Shape::List32(v), _)) => Some(v.clone()),
            Ok((Shape::List(0), _)) => Some(vec![]),
            _ => None,
        }
    }
    if got(&a).as_ref() == Some(&log) && got(&b).as_ref() == Some(&log) {
        tally.passed += 1;
        tally.logs += 1;
        tally.log_entries += log.len() as u64;
    } else {
        fail(
            tally,
            format!("the destructor log: ours {a:?}, wasmtime's {b:?}, must be {log:?}"),
        );
    }

    // The misuses, each in fresh instances; half of them per seed (each
    // instantiation costs), alternating.
    for (k, (name, func, kind)) in MISUSES.into_iter().enumerate() {
        if !(k as u64 + seed).is_multiple_of(2) {
            continue;
        }
        let mut pair = compiled.instantiate()?;
        let mut pool = Pool::default();
        let path = match func {
            "keep-borrow" | "lend-and-take" => "f",
            _ => PATHS[rng.below(2)],
        };
        let r = rep(&mut rng);
        let make = if name.contains("-s-") {
            "new-s"
        } else {
            "new-r"
        };
        let (a, b) = pair.call(&pool, path, make, &[RV::U32(r)])?;
        let (Ok((Shape::H, ha)), Ok((Shape::H, hb))) = (&a, &b) else {
            fail(
                tally,
                format!("`{path}.{make}`: ours {a:?}, wasmtime's {b:?}"),
            );
            continue;
        };
        pool.all.push(Handle {
            ny: ha[0],
            wt: hb[0],
            rep: r,
            s: make == "new-s",
        });
        let (a, b) = pair.call(&pool, path, func, &[RV::H(0)])?;
        match (&a, &b) {
            (Err(x), Err(y)) if trap_kind(x) == kind && trap_kind(y) == kind => {
                tally.passed += 1;
                *tally.traps.entry(name).or_default() += 1;
                if std::env::var_os("SHOW_TRAPS").is_some() {
                    println!("TRAP {name}\n  ours:     {x}\n  wasmtime: {y}");
                }
            }
            _ => fail(
                tally,
                format!("`{path}.{func}` must trap ({kind}) in both: ours {a:?}, wasmtime's {b:?}"),
            ),
        }
    }
    Ok(())
}
