//! The component rows of `compare` (`--only components`): the same
//! component in nyash-engine and in wasmtime 48, each operation timed in
//! batches, alternating which engine goes first, medians per operation.
//!
//! Rows: a call of an export `(u32) -> u32` (with our core typed call of
//! the same function as a reference: the issue's goal is the component
//! call within 1.2x of it); a string of 1 KiB and of 1 MiB passed in and
//! returned (GB/s over both directions); a list of 10,000 records in and
//! out; a host import `(u32) -> u32` called from the guest; a call from
//! one component instance into another's export (a fused adapter); the
//! instantiation of a component with three core modules. Every operation's
//! result is checked in both engines.
//!
//! The scalar call and the host import have a row for each engine's
//! dynamic (`Val`) API and one for its typed API (`TypedFunc`,
//! `func_wrap`); the other rows use the dynamic API on both sides.

use std::time::Duration;

use super::{Res, median};

/// `add1: (u32) -> u32`, `echo-string`, `echo-records`, each from a core
/// module with a fixed-buffer `realloc` (every call's argument lands at
/// 1024, so repeated calls do not grow memory).
const ECHO: &str = r#"(component
  (core module $M
    (memory (export "mem") 20)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func (export "add1") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0)))
  (core instance $m (instantiate $M))
  (type $rec' (record (field "x" u32) (field "y" f64)))
  (export $rec "rec" (type $rec'))
  (func (export "add1") (param "x" u32) (result u32) (canon lift (core func $m "add1")))
  (func (export "echo-string") (param "s" string) (result string)
    (canon lift (core func $m "echo") (memory (core memory $m "mem"))
      (realloc (core func $m "realloc"))))
  (func (export "echo-records") (param "l" (list $rec)) (result (list $rec))
    (canon lift (core func $m "echo") (memory (core memory $m "mem"))
      (realloc (core func $m "realloc")))))"#;

/// `run(n)` calls the host's `inc` `n` times.
const HOST_LOOP: &str = r#"(component
  (import "inc" (func $inc (param "x" u32) (result u32)))
  (core func $inc' (canon lower (func $inc)))
  (core module $M
    (import "host" "inc" (func $inc (param i32) (result i32)))
    (func (export "run") (param $n i32) (result i32) (local $acc i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $acc) (local.get $n)))
        (local.set $acc (call $inc (local.get $acc)))
        (br $l)))
      (local.get $acc)))
  (core instance $m (instantiate $M (with "host" (instance (export "inc" (func $inc'))))))
  (func (export "run") (param "n" u32) (result u32) (canon lift (core func $m "run"))))"#;

/// `run(n)`, in component instance B, calls A's `add1` `n` times; A and B
/// are siblings, so the adapter between them is an ordinary one.
const ADAPTER_LOOP: &str = r#"(component
  (component $A
    (core module $M (func (export "add1") (param i32) (result i32)
      (i32.add (local.get 0) (i32.const 1))))
    (core instance $m (instantiate $M))
    (func (export "add1") (param "x" u32) (result u32) (canon lift (core func $m "add1"))))
  (component $B
    (import "add1" (func $add1 (param "x" u32) (result u32)))
    (core func $add1' (canon lower (func $add1)))
    (core module $M
      (import "a" "add1" (func $add1 (param i32) (result i32)))
      (func (export "run") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $acc) (local.get $n)))
          (local.set $acc (call $add1 (local.get $acc)))
          (br $l)))
        (local.get $acc)))
    (core instance $m (instantiate $M (with "a" (instance (export "add1" (func $add1'))))))
    (func (export "run") (param "n" u32) (result u32) (canon lift (core func $m "run"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "add1" (func $a "add1"))))
  (export "run" (func $b "run")))"#;

/// `run(n)`, in component instance B, passes A's `len` a string of 64
/// ASCII bytes from its memory `n` times; A lifts it with `ENC` (B lowers
/// it as UTF-8), its `realloc` always returning the same area.
const ADAPTER_STRING: &str = r#"(component
  (component $A
    (core module $M
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
      (func (export "len") (param i32 i32) (result i32) (local.get 1)))
    (core instance $m (instantiate $M))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")) string-encoding=ENC)))
  (component $B
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem (memory (export "mem") 1)
      (data (i32.const 0) "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"))
    (core instance $mem (instantiate $Mem))
    (core func $len' (canon lower (func $len) (memory (core memory $mem "mem"))))
    (core module $M
      (import "a" "len" (func $len (param i32 i32) (result i32)))
      (func (export "run") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $acc) (local.get $n)))
          (drop (call $len (i32.const 0) (i32.const 64)))
          (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
          (br $l)))
        (local.get $acc)))
    (core instance $m (instantiate $M (with "a" (instance (export "len" (func $len'))))))
    (func (export "run") (param "n" u32) (result u32) (canon lift (core func $m "run"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "len" (func $a "len"))))
  (export "run" (func $b "run")))"#;

/// Three core modules: one with the memory, one using it, one calling the
/// second.
const THREE_MODULES: &str = r#"(component
  (core module $Mem (memory (export "mem") 1) (data (i32.const 0) "\2a"))
  (core instance $mem (instantiate $Mem))
  (core module $Load
    (import "m" "mem" (memory 1))
    (func (export "load") (result i32) (i32.load8_u (i32.const 0))))
  (core instance $load (instantiate $Load (with "m" (instance $mem))))
  (core module $Top
    (import "l" "load" (func $load (result i32)))
    (func (export "get") (result i32) (call $load)))
  (core instance $top (instantiate $Top (with "l" (instance $load))))
  (func (export "get") (result u32) (canon lift (core func $top "get"))))"#;

/// One row: label, nyash and wasmtime time per operation, and the bytes
/// an operation moves (for GB/s), if it is a copy.
pub struct Row {
    label: String,
    nyash: Duration,
    wasmtime: Duration,
    bytes: Option<u64>,
}

/// The operations, each run as a batch of `n` by both engines.
#[derive(Clone, Copy)]
enum Op {
    Scalar,
    TypedScalar,
    TypedHostImport,
    CoreScalar,
    String(usize),
    Records(usize),
    HostImport,
    Adapter,
    /// A string through the adapter: the same encoding (0), transcoded
    /// to UTF-16 (1).
    AdapterString(usize),
    Instantiate,
    InstantiatePre,
}

pub fn measure(runs: usize) -> Res<Vec<Row>> {
    let ny = nyash_side::Bench::new()?;
    let wt = wasmtime_side::Bench::new()?;
    let ops: [(Op, &str, u32, Option<u64>); 13] = [
        (
            Op::Scalar,
            "call of an export `(u32) -> u32` (`Val`s)",
            100_000,
            None,
        ),
        (
            Op::TypedScalar,
            "call of an export `(u32) -> u32` (`TypedFunc`)",
            100_000,
            None,
        ),
        (
            Op::CoreScalar,
            "(reference: core typed call `(i32) -> i32`)",
            100_000,
            None,
        ),
        (
            Op::String(1024),
            "string of 1 KiB in and out",
            20_000,
            Some(2048),
        ),
        (
            Op::String(1 << 20),
            "string of 1 MiB in and out",
            20,
            Some(2 << 20),
        ),
        (
            Op::Records(10_000),
            "list of 10,000 records `{x: u32, y: f64}` in and out",
            20,
            Some(2 * 16 * 10_000),
        ),
        (
            Op::HostImport,
            "host import `(u32) -> u32` called from the guest (`func_new`)",
            1_000_000,
            None,
        ),
        (
            Op::TypedHostImport,
            "host import `(u32) -> u32` called from the guest (`func_wrap`)",
            1_000_000,
            None,
        ),
        (
            Op::Adapter,
            "call into another component instance (adapter)",
            100_000,
            None,
        ),
        (
            Op::AdapterString(0),
            "the same with a string of 64 bytes (UTF-8 to UTF-8)",
            100_000,
            None,
        ),
        (
            Op::AdapterString(1),
            "the same with a string of 64 bytes (UTF-8 to UTF-16)",
            100_000,
            None,
        ),
        (
            Op::Instantiate,
            "instantiate a component of three core modules",
            1_000,
            None,
        ),
        (
            Op::InstantiatePre,
            "instantiate a component of three core modules (`InstancePre`)",
            1_000,
            None,
        ),
    ];
    let mut rows = Vec::new();
    for (op, label, n, bytes) in ops {
        eprintln!("components: {label} ...");
        let mut a = Vec::new();
        let mut b = Vec::new();
        for run in 0..runs {
            for side in [run % 2, 1 - run % 2] {
                if side == 0 {
                    a.push(ny.run(op, n)? / n);
                } else {
                    b.push(wt.run(op, n)? / n);
                }
            }
        }
        rows.push(Row {
            label: label.to_string(),
            nyash: median(&mut a).unwrap_or_default(),
            wasmtime: median(&mut b).unwrap_or_default(),
            bytes,
        });
    }
    Ok(rows)
}

fn show(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

pub fn print_table(rows: &[Row], runs: usize) {
    println!("### components (time per operation, median of {runs} runs)\n");
    println!("| operation | nyash-engine | wasmtime | nyash/wasmtime |");
    println!("|---|---:|---:|---:|");
    for r in rows {
        let rate = |d: Duration| match r.bytes {
            Some(b) => format!(" ({:.2} GB/s)", b as f64 / d.as_secs_f64() / 1e9),
            None => String::new(),
        };
        println!(
            "| {} | {}{} | {}{} | {:.2}x |",
            r.label,
            show(r.nyash),
            rate(r.nyash),
            show(r.wasmtime),
            rate(r.wasmtime),
            r.nyash.as_secs_f64() / r.wasmtime.as_secs_f64()
        );
    }
    println!();
}

/// An ASCII string of `len` bytes (UTF-8 in both engines: no transcoding
/// either way, so the rows time the copies).
fn string_of(len: usize) -> String {
    "nyash-engine, components "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

mod nyash_side {
    use std::time::{Duration, Instant};

    use nyash_engine::component::{Component, Linker, Val};
    use nyash_engine::{Engine, Module, Store, TypedFunc};

    use super::{ADAPTER_LOOP, ADAPTER_STRING, ECHO, HOST_LOOP, Op, Res, THREE_MODULES, string_of};

    pub struct Bench {
        engine: Engine,
        echo: Component,
        host_loop: Component,
        adapter: Component,
        adapter_string: [Component; 2],
        three: Component,
        core: Module,
    }

    fn err(e: nyash_engine::Error) -> String {
        e.to_string()
    }

    impl Bench {
        pub fn new() -> Res<Bench> {
            let engine = Engine::default();
            let c = |t: &str| Component::new(&engine, t).map_err(err);
            Ok(Bench {
                echo: c(ECHO)?,
                host_loop: c(HOST_LOOP)?,
                adapter: c(ADAPTER_LOOP)?,
                adapter_string: [
                    c(&ADAPTER_STRING.replace("ENC", "utf8"))?,
                    c(&ADAPTER_STRING.replace("ENC", "utf16"))?,
                ],
                three: c(THREE_MODULES)?,
                core: Module::new(
                    &engine,
                    r#"(module (func (export "add1") (param i32) (result i32)
                        (i32.add (local.get 0) (i32.const 1))))"#,
                )
                .map_err(err)?,
                engine,
            })
        }

        pub fn run(&self, op: Op, n: u32) -> Res<Duration> {
            let mut store = Store::new(&self.engine, ());
            let mut linker = Linker::<()>::new(&self.engine);
            linker
                .root()
                .func_new("inc", |_, p, r| {
                    let Val::U32(x) = p[0] else { unreachable!() };
                    r[0] = Val::U32(x + 1);
                    Ok(())
                })
                .map_err(err)?;
            match op {
                Op::Scalar => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i.get_func(&mut store, "add1").ok_or("no add1")?;
                    let mut out = [Val::U32(0)];
                    let t = Instant::now();
                    for k in 0..n {
                        f.call(&mut store, &[Val::U32(k)], &mut out).map_err(err)?;
                    }
                    let d = t.elapsed();
                    if out[0] != Val::U32(n) {
                        return Err(format!("add1: {:?}", out[0]));
                    }
                    Ok(d)
                }
                Op::TypedScalar => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i
                        .get_typed_func::<(u32,), (u32,)>(&mut store, "add1")
                        .map_err(err)?;
                    let t = Instant::now();
                    let mut r = 0;
                    for k in 0..n {
                        (r,) = f.call(&mut store, (k,)).map_err(err)?;
                    }
                    let d = t.elapsed();
                    if r != n {
                        return Err(format!("typed add1: {r}"));
                    }
                    Ok(d)
                }
                Op::TypedHostImport => {
                    let mut linker = Linker::<()>::new(&self.engine);
                    linker
                        .root()
                        .func_wrap("inc", |_, (x,): (u32,)| Ok((x + 1,)))
                        .map_err(err)?;
                    let i = linker
                        .instantiate(&mut store, &self.host_loop)
                        .map_err(err)?;
                    let f = i.get_func(&mut store, "run").ok_or("no run")?;
                    let mut out = [Val::U32(0)];
                    let t = Instant::now();
                    f.call(&mut store, &[Val::U32(n)], &mut out).map_err(err)?;
                    let d = t.elapsed();
                    if out[0] != Val::U32(n) {
                        return Err(format!("run: {:?}", out[0]));
                    }
                    Ok(d)
                }
                Op::CoreScalar => {
                    let i =
                        nyash_engine::Instance::new(&mut store, &self.core, &[]).map_err(err)?;
                    let f: TypedFunc<i32, i32> =
                        i.get_typed_func(&mut store, "add1").map_err(err)?;
                    let t = Instant::now();
                    let mut r = 0;
                    for k in 0..n as i32 {
                        r = f.call(&mut store, k).map_err(err)?;
                    }
                    let d = t.elapsed();
                    if r != n as i32 {
                        return Err(format!("core add1: {r}"));
                    }
                    Ok(d)
                }
                Op::String(len) => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i.get_func(&mut store, "echo-string").ok_or("no echo")?;
                    let s = Val::String(string_of(len));
                    let mut out = [Val::Bool(false)];
                    let t = Instant::now();
                    for _ in 0..n {
                        f.call(&mut store, std::slice::from_ref(&s), &mut out)
                            .map_err(err)?;
                    }
                    let d = t.elapsed();
                    if out[0] != s {
                        return Err("echo-string differs".into());
                    }
                    Ok(d)
                }
                Op::Records(len) => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i.get_func(&mut store, "echo-records").ok_or("no echo")?;
                    let l = Val::List(
                        (0..len)
                            .map(|k| {
                                Val::Record(vec![
                                    ("x".into(), Val::U32(k as u32)),
                                    ("y".into(), Val::Float64(k as f64 / 2.0)),
                                ])
                            })
                            .collect(),
                    );
                    let mut out = [Val::Bool(false)];
                    let t = Instant::now();
                    for _ in 0..n {
                        f.call(&mut store, std::slice::from_ref(&l), &mut out)
                            .map_err(err)?;
                    }
                    let d = t.elapsed();
                    if out[0] != l {
                        return Err("echo-records differs".into());
                    }
                    Ok(d)
                }
                Op::HostImport | Op::Adapter | Op::AdapterString(_) => {
                    let c = match op {
                        Op::HostImport => &self.host_loop,
                        Op::AdapterString(k) => &self.adapter_string[k],
                        _ => &self.adapter,
                    };
                    let i = linker.instantiate(&mut store, c).map_err(err)?;
                    let f = i.get_func(&mut store, "run").ok_or("no run")?;
                    let mut out = [Val::U32(0)];
                    let t = Instant::now();
                    f.call(&mut store, &[Val::U32(n)], &mut out).map_err(err)?;
                    let d = t.elapsed();
                    if out[0] != Val::U32(n) {
                        return Err(format!("run: {:?}", out[0]));
                    }
                    Ok(d)
                }
                Op::Instantiate | Op::InstantiatePre => {
                    let pre = match op {
                        Op::InstantiatePre => {
                            Some(linker.instantiate_pre(&self.three).map_err(err)?)
                        }
                        _ => None,
                    };
                    let t = Instant::now();
                    for _ in 0..n {
                        let mut store = Store::new(&self.engine, ());
                        let _ = match &pre {
                            Some(pre) => pre.instantiate(&mut store),
                            None => linker.instantiate(&mut store, &self.three),
                        }
                        .map_err(err)?;
                    }
                    let d = t.elapsed();
                    let i = linker.instantiate(&mut store, &self.three).map_err(err)?;
                    let f = i.get_func(&mut store, "get").ok_or("no get")?;
                    let mut out = [Val::U32(0)];
                    f.call(&mut store, &[], &mut out).map_err(err)?;
                    if out[0] != Val::U32(42) {
                        return Err(format!("get: {:?}", out[0]));
                    }
                    Ok(d)
                }
            }
        }
    }
}

mod wasmtime_side {
    use std::time::{Duration, Instant};

    use wasmtime::component::{Component, Linker, Val};
    use wasmtime::{Engine, Module, Store};

    use super::{ADAPTER_LOOP, ADAPTER_STRING, ECHO, HOST_LOOP, Op, Res, THREE_MODULES, string_of};

    pub struct Bench {
        engine: Engine,
        echo: Component,
        host_loop: Component,
        adapter: Component,
        adapter_string: [Component; 2],
        three: Component,
        core: Module,
    }

    fn err(e: wasmtime::Error) -> String {
        format!("{e:?}")
    }

    impl Bench {
        pub fn new() -> Res<Bench> {
            let mut config = wasmtime::Config::new();
            config.wasm_component_model(true);
            let engine = Engine::new(&config).map_err(err)?;
            let c = |t: &str| Component::new(&engine, t).map_err(err);
            Ok(Bench {
                echo: c(ECHO)?,
                host_loop: c(HOST_LOOP)?,
                adapter: c(ADAPTER_LOOP)?,
                adapter_string: [
                    c(&ADAPTER_STRING.replace("ENC", "utf8"))?,
                    c(&ADAPTER_STRING.replace("ENC", "utf16"))?,
                ],
                three: c(THREE_MODULES)?,
                core: Module::new(
                    &engine,
                    r#"(module (func (export "add1") (param i32) (result i32)
                        (i32.add (local.get 0) (i32.const 1))))"#,
                )
                .map_err(err)?,
                engine,
            })
        }

        pub fn run(&self, op: Op, n: u32) -> Res<Duration> {
            let mut store = Store::new(&self.engine, ());
            let mut linker = Linker::<()>::new(&self.engine);
            linker
                .root()
                .func_new("inc", |_, _, p, r| {
                    let Val::U32(x) = p[0] else { unreachable!() };
                    r[0] = Val::U32(x + 1);
                    Ok(())
                })
                .map_err(err)?;
            match op {
                Op::Scalar => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i.get_func(&mut store, "add1").ok_or("no add1")?;
                    let mut out = [Val::U32(0)];
                    let t = Instant::now();
                    for k in 0..n {
                        f.call(&mut store, &[Val::U32(k)], &mut out).map_err(err)?;
                    }
                    let d = t.elapsed();
                    if out[0] != Val::U32(n) {
                        return Err(format!("add1: {:?}", out[0]));
                    }
                    Ok(d)
                }
                Op::TypedScalar => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i
                        .get_typed_func::<(u32,), (u32,)>(&mut store, "add1")
                        .map_err(err)?;
                    let t = Instant::now();
                    let mut r = 0;
                    for k in 0..n {
                        (r,) = f.call(&mut store, (k,)).map_err(err)?;
                    }
                    let d = t.elapsed();
                    if r != n {
                        return Err(format!("typed add1: {r}"));
                    }
                    Ok(d)
                }
                Op::TypedHostImport => {
                    let mut linker = Linker::<()>::new(&self.engine);
                    linker
                        .root()
                        .func_wrap("inc", |_, (x,): (u32,)| Ok((x + 1,)))
                        .map_err(err)?;
                    let i = linker
                        .instantiate(&mut store, &self.host_loop)
                        .map_err(err)?;
                    let f = i.get_func(&mut store, "run").ok_or("no run")?;
                    let mut out = [Val::U32(0)];
                    let t = Instant::now();
                    f.call(&mut store, &[Val::U32(n)], &mut out).map_err(err)?;
                    let d = t.elapsed();
                    if out[0] != Val::U32(n) {
                        return Err(format!("run: {:?}", out[0]));
                    }
                    Ok(d)
                }
                Op::CoreScalar => {
                    let i = wasmtime::Instance::new(&mut store, &self.core, &[]).map_err(err)?;
                    let f = i
                        .get_typed_func::<i32, i32>(&mut store, "add1")
                        .map_err(err)?;
                    let t = Instant::now();
                    let mut r = 0;
                    for k in 0..n as i32 {
                        r = f.call(&mut store, k).map_err(err)?;
                    }
                    let d = t.elapsed();
                    if r != n as i32 {
                        return Err(format!("core add1: {r}"));
                    }
                    Ok(d)
                }
                Op::String(len) => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i.get_func(&mut store, "echo-string").ok_or("no echo")?;
                    let s = Val::String(string_of(len));
                    let mut out = [Val::Bool(false)];
                    let t = Instant::now();
                    for _ in 0..n {
                        f.call(&mut store, std::slice::from_ref(&s), &mut out)
                            .map_err(err)?;
                    }
                    let d = t.elapsed();
                    if out[0] != s {
                        return Err("echo-string differs".into());
                    }
                    Ok(d)
                }
                Op::Records(len) => {
                    let i = linker.instantiate(&mut store, &self.echo).map_err(err)?;
                    let f = i.get_func(&mut store, "echo-records").ok_or("no echo")?;
                    let l = Val::List(
                        (0..len)
                            .map(|k| {
                                Val::Record(vec![
                                    ("x".into(), Val::U32(k as u32)),
                                    ("y".into(), Val::Float64(k as f64 / 2.0)),
                                ])
                            })
                            .collect(),
                    );
                    let mut out = [Val::Bool(false)];
                    let t = Instant::now();
                    for _ in 0..n {
                        f.call(&mut store, std::slice::from_ref(&l), &mut out)
                            .map_err(err)?;
                    }
                    let d = t.elapsed();
                    if out[0] != l {
                        return Err("echo-records differs".into());
                    }
                    Ok(d)
                }
                Op::HostImport | Op::Adapter | Op::AdapterString(_) => {
                    let c = match op {
                        Op::HostImport => &self.host_loop,
                        Op::AdapterString(k) => &self.adapter_string[k],
                        _ => &self.adapter,
                    };
                    let i = linker.instantiate(&mut store, c).map_err(err)?;
                    let f = i.get_func(&mut store, "run").ok_or("no run")?;
                    let mut out = [Val::U32(0)];
                    let t = Instant::now();
                    f.call(&mut store, &[Val::U32(n)], &mut out).map_err(err)?;
                    let d = t.elapsed();
                    if out[0] != Val::U32(n) {
                        return Err(format!("run: {:?}", out[0]));
                    }
                    Ok(d)
                }
                Op::Instantiate | Op::InstantiatePre => {
                    let pre = match op {
                        Op::InstantiatePre => {
                            Some(linker.instantiate_pre(&self.three).map_err(err)?)
                        }
                        _ => None,
                    };
                    let t = Instant::now();
                    for _ in 0..n {
                        let mut store = Store::new(&self.engine, ());
                        let _ = match &pre {
                            Some(pre) => pre.instantiate(&mut store),
                            None => linker.instantiate(&mut store, &self.three),
                        }
                        .map_err(err)?;
                    }
                    let d = t.elapsed();
                    let i = linker.instantiate(&mut store, &self.three).map_err(err)?;
                    let f = i.get_func(&mut store, "get").ok_or("no get")?;
                    let mut out = [Val::U32(0)];
                    f.call(&mut store, &[], &mut out).map_err(err)?;
                    if out[0] != Val::U32(42) {
                        return Err(format!("get: {:?}", out[0]));
                    }
                    Ok(d)
                }
            }
        }
    }
}
