//! nyash-engine and wasmtime side by side, in one process, on one machine.
//!
//! ```text
//! cargo run --release -p nyash-benches --bin compare -- [--runs N] [--only NAME,NAME]
//! ```
//!
//! For every workload and phase the two engines run alternately (the order
//! flips every run), `--runs` times each (default 10), and the medians are
//! printed as Markdown tables: one per phase, with the ratio nyash/wasmtime
//! per row and the geometric mean of the ratios. The C workloads are also
//! built natively with `$CC` (default `cc`, `-O2`) when a C compiler is there,
//! and their execution is compared with the native program's whole run.
//!
//! Phases:
//! - **compile**: `Module::new` from the wasm bytes (no cache; both engines
//!   compile functions in parallel);
//! - **cached start**: `Module::deserialize_file` of the engine's own artifact,
//!   the path every cached run and `.nwasm`/`.cwasm` load takes;
//! - **instantiate**: a new store with a WASI context (stdout into memory) and
//!   `Linker::instantiate`;
//! - **execute**: calling `_start` to completion;
//! - **calls** (not per workload): host -> wasm and wasm -> host call
//!   overhead, per call, over batches of 100,000 calls.
//!
//! Every run's output is checked: both engines and the native build must
//! print the same thing, or the comparison stops with an error.
//!
//! The SIMD workloads have their own rows after the others, in every phase's
//! table, with their own geometric mean: the kernels written with
//! `wasm_simd128.h` (`workloads/kernels/`; their native build takes the
//! scalar path of the same file, which prints the same output) and the C
//! workloads built with `-O3 -msimd128` (`simd/NAME`, against the same native
//! build as the scalar row). `--only simd` selects all of them.
//!
//! The component rows (`--only components`) call the same components in
//! both engines: scalars, strings, lists of records, host imports, calls
//! between component instances, instantiation; see `compare/component.rs`.
//!
//! The GC rows (`gc/NAME`, `--only gc` for all) run the WebAssembly GC
//! workloads of `workloads/gc/` in nyash-engine, wasmtime with its copying
//! and its deferred reference-counting collector, and V8 (Node 24), each
//! run in a fresh process, for the time of the `run` call and the peak
//! resident set: see `compare/gc.rs`.

#[path = "compare/component.rs"]
mod component;
#[path = "compare/gc.rs"]
mod gc;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Compile,
    CachedStart,
    Instantiate,
    Execute,
}

const PHASES: [(Phase, &str); 4] = [
    (Phase::Compile, "compile"),
    (Phase::CachedStart, "cached start (deserialize_file)"),
    (Phase::Instantiate, "instantiate (store + WASI + instance)"),
    (Phase::Execute, "execute (_start)"),
];

struct Workload {
    name: String,
    wasm: Vec<u8>,
    /// A WASI command with `_start` (the C workloads), as opposed to a
    /// synthetic module measured only for compile and load.
    command: bool,
    /// Uses WebAssembly SIMD: tabled and averaged apart from the others.
    simd: bool,
    native: Option<PathBuf>,
}

/// Medians of one workload, per phase: (nyash, wasmtime, native).
#[derive(Default)]
struct Row {
    nyash: [Option<Duration>; 4],
    wasmtime: [Option<Duration>; 4],
    native: Option<Duration>,
    /// Spread of the samples behind each median (see [`spread`]).
    nyash_spread: [f64; 4],
    wasmtime_spread: [f64; 4],
}

type Res<T> = Result<T, String>;

fn main() {
    if let Err(e) = run() {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("--gc-child") {
        return gc::child(&all[1..]);
    }
    let mut runs = 10usize;
    let mut only: Option<Vec<String>> = None;
    let mut args = all.into_iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--runs needs a positive number")?
            }
            "--only" => {
                only = Some(
                    args.next()
                        .ok_or("--only needs names")?
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                )
            }
            "-h" | "--help" => {
                println!(
                    "usage: compare [--runs N] [--only NAME,NAME]  (names: workloads, `simd/NAME`, `simd` for every SIMD row, `gc/NAME`, `gc` for every GC row, `calls`, `components`)"
                );
                return Ok(());
            }
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    let wanted_simd =
        |name: &str| wanted(name) || only.as_ref().is_some_and(|o| o.iter().any(|n| n == "simd"));
    let gc_rows: Vec<(&'static str, i32)> = nyash_benches::GC_WORKLOADS
        .iter()
        .copied()
        .filter(|(n, _)| {
            wanted(&format!("gc/{n}")) || only.as_ref().is_some_and(|o| o.iter().any(|n| n == "gc"))
        })
        .collect();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads");
    let tmp = std::env::temp_dir().join(format!("nyash-compare-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());

    let mut workloads = Vec::new();
    for name in nyash_benches::C_WORKLOADS.iter().filter(|n| wanted(n)) {
        let path = dir.join(format!("{name}.wasm"));
        let wasm = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let native = build_native(&cc, &dir.join(format!("{name}.c")), &tmp.join(name));
        workloads.push(Workload {
            name: name.to_string(),
            wasm,
            command: true,
            simd: false,
            native,
        });
    }
    // The SIMD rows: (name, wasm, C source for the native build).
    let simd_rows = nyash_benches::SIMD_KERNELS
        .iter()
        .map(|k| {
            (
                k.to_string(),
                format!("kernels/{k}.wasm"),
                format!("kernels/{k}.c"),
            )
        })
        .chain(nyash_benches::SIMD_BUILDS.iter().map(|k| {
            (
                format!("simd/{k}"),
                format!("simd/{k}.wasm"),
                format!("{k}.c"),
            )
        }));
    for (name, wasm, c) in simd_rows.filter(|(n, ..)| wanted_simd(n)) {
        let path = dir.join(&wasm);
        let wasm = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let native = build_native(&cc, &dir.join(c), &tmp.join(name.replace('/', "_")));
        workloads.push(Workload {
            name,
            wasm,
            command: true,
            simd: true,
            native,
        });
    }
    let synthetic = [
        (
            "many_small (2,000 functions)",
            "many_small",
            nyash_benches::large_module_wat(2000),
        ),
        (
            "few_huge (4 functions x 400 loops)",
            "few_huge",
            nyash_benches::huge_functions_wat(4, 400),
        ),
    ];
    for (label, key, wat) in synthetic {
        if wanted(key) {
            workloads.push(Workload {
                name: label.to_string(),
                wasm: wat::parse_str(&wat).map_err(|e| format!("{key}: {e}"))?,
                command: false,
                simd: false,
                native: None,
            });
        }
    }
    if workloads.is_empty() && gc_rows.is_empty() && !wanted("calls") && !wanted("components") {
        return Err(
            "nothing matches --only (workload names, `gc/NAME`, `calls` or `components`)".into(),
        );
    }

    let ny = nyash::Bench::new()?;
    let wt = wasmtime_side::Bench::new()?;
    let mut rows = Vec::new();
    for w in &workloads {
        eprintln!("{} ...", w.name);
        rows.push(measure(w, runs, &ny, &wt, &tmp)?);
    }
    let gc = if gc_rows.is_empty() {
        None
    } else {
        Some(gc::measure(&gc_rows, runs, &tmp)?)
    };
    let _ = std::fs::remove_dir_all(&tmp);
    let calls = if wanted("calls") {
        eprintln!("calls ...");
        Some(measure_calls(runs, &ny, &wt)?)
    } else {
        None
    };
    if !workloads.is_empty() {
        print_tables(&workloads, &rows, runs);
    }
    let components = if wanted("components") {
        Some(component::measure(runs)?)
    } else {
        None
    };
    if let Some(calls) = calls {
        print_calls(&calls);
    }
    if let Some(rows) = components {
        component::print_table(&rows, runs);
    }
    if let Some(gc) = gc {
        gc::print_table(&gc, runs);
    }
    Ok(())
}

/// Host <-> wasm call overheads, as (label, nyash ns/call, wasmtime ns/call).
type CallRows = Vec<(&'static str, f64, f64)>;

/// Calls per timed batch: enough that the clock's resolution does not matter.
const CALLS: u32 = 100_000;

const CALLS_WAT: &str = r#"(module
    (import "host" "inc" (func $inc (param i32) (result i32)))
    (func (export "id") (param i32) (result i32) local.get 0)
    (func (export "call_host") (param $n i32) (result i32) (local $acc i32)
        (loop $l
            (local.set $acc (call $inc (local.get $acc)))
            (br_if $l (i32.lt_u (local.get $acc) (local.get $n))))
        (local.get $acc)))"#;

fn measure_calls(runs: usize, ny: &nyash::Bench, wt: &wasmtime_side::Bench) -> Res<CallRows> {
    let mut samples = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for run in 0..runs {
        for side in [run % 2, 1 - run % 2] {
            let (h2w, w2h) = if side == 0 {
                ny.calls(CALLS)?
            } else {
                wt.calls(CALLS)?
            };
            samples[0][side].push(h2w);
            samples[1][side].push(w2h);
        }
    }
    let ns =
        |v: &mut Vec<Duration>| median(v).map_or(0.0, |d| d.as_secs_f64() * 1e9 / CALLS as f64);
    let [mut h2w, mut w2h] = samples;
    Ok(vec![
        (
            "host -> wasm (typed call of `(i32) -> i32`)",
            ns(&mut h2w[0]),
            ns(&mut h2w[1]),
        ),
        (
            "wasm -> host (imported `(i32) -> i32` host function)",
            ns(&mut w2h[0]),
            ns(&mut w2h[1]),
        ),
    ])
}

fn print_calls(rows: &CallRows) {
    println!("### calls (time per call)\n");
    println!("| call | nyash-engine | wasmtime | nyash/wasmtime |");
    println!("|---|---:|---:|---:|");
    for (label, a, b) in rows {
        println!("| {label} | {a:.1} ns | {b:.1} ns | {:.2}x |", a / b);
    }
    println!();
}

fn build_native(cc: &str, src: &Path, out: &Path) -> Option<PathBuf> {
    // No fused multiply-add where the target has one (wasm never fuses):
    // the SIMD kernels' scalar paths must round like the wasm builds.
    let status = Command::new(cc)
        .args(["-O2", "-ffp-contract=off", "-o"])
        .arg(out)
        .arg(src)
        .arg("-lm")
        .status()
        .ok()?;
    if status.success() {
        Some(out.to_path_buf())
    } else {
        eprintln!(
            "note: `{cc}` could not build {}; no native figure",
            src.display()
        );
        None
    }
}

fn measure(
    w: &Workload,
    runs: usize,
    ny: &nyash::Bench,
    wt: &wasmtime_side::Bench,
    tmp: &Path,
) -> Res<Row> {
    let key: String = w
        .name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '/')
        .map(|c| if c == '/' { '_' } else { c })
        .collect();
    let ny_art = tmp.join(format!("{key}.nwasm"));
    let wt_art = tmp.join(format!("{key}.cwasm"));
    ny.write_artifact(&w.wasm, &ny_art)?;
    wt.write_artifact(&w.wasm, &wt_art)?;

    let mut times: [[Vec<Duration>; 4]; 2] = Default::default();
    let mut native_times = Vec::new();
    let mut expected: Option<Vec<u8>> = None;
    let mut check = |who: &str, out: Vec<u8>| -> Res<()> {
        match &expected {
            None => expected = Some(out),
            Some(e) if *e == out => {}
            Some(e) => {
                return Err(format!(
                    "{}: {who} printed {:?}, expected {:?}",
                    w.name,
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(e)
                ));
            }
        }
        Ok(())
    };
    for run in 0..runs {
        for side in [run % 2, 1 - run % 2] {
            let t = &mut times[side];
            if side == 0 {
                t[0].push(ny.compile(&w.wasm)?);
                t[1].push(ny.load(&ny_art)?);
                if w.command {
                    let (inst, exec, out) = ny.run(&ny_art)?;
                    t[2].push(inst);
                    t[3].push(exec);
                    check("nyash-engine", out)?;
                }
            } else {
                t[0].push(wt.compile(&w.wasm)?);
                t[1].push(wt.load(&wt_art)?);
                if w.command {
                    let (inst, exec, out) = wt.run(&wt_art)?;
                    t[2].push(inst);
                    t[3].push(exec);
                    check("wasmtime", out)?;
                }
            }
        }
        if let Some(native) = &w.native {
            let start = Instant::now();
            let out = Command::new(native)
                .output()
                .map_err(|e| format!("{}: {e}", native.display()))?;
            native_times.push(start.elapsed());
            if !out.status.success() {
                return Err(format!("{}: native build failed: {}", w.name, out.status));
            }
            check("the native build", out.stdout)?;
        }
    }
    let mut row = Row::default();
    let [ny_times, wt_times] = &mut times;
    for (p, (ny, wt)) in ny_times.iter_mut().zip(wt_times).enumerate() {
        row.nyash[p] = median(ny);
        row.wasmtime[p] = median(wt);
        row.nyash_spread[p] = spread(ny);
        row.wasmtime_spread[p] = spread(wt);
    }
    row.native = median(&mut native_times);
    Ok(row)
}

fn median(v: &mut [Duration]) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// Half the interquartile range as a fraction of the median, of sorted
/// samples: how far a typical run strays from the median.
fn spread(sorted: &[Duration]) -> f64 {
    let n = sorted.len();
    if n < 4 {
        return 0.0;
    }
    let q = |f: f64| sorted[((n - 1) as f64 * f).round() as usize].as_secs_f64();
    (q(0.75) - q(0.25)) / 2.0 / q(0.5)
}

fn fmt_spread(d: Duration, spread: f64) -> String {
    if spread > 0.0 {
        format!("{} ±{:.0}%", fmt(d), spread * 100.0)
    } else {
        fmt(d)
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.3} s", us / 1e6)
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn geomean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    Some((v.iter().map(|r| r.ln()).sum::<f64>() / v.len() as f64).exp())
}

fn print_tables(workloads: &[Workload], rows: &[Row], runs: usize) {
    println!(
        "nyash-engine {} vs wasmtime 48.0.8 (both Cranelift 0.135.8), median of {runs} runs each, alternating; ± is half the interquartile range; ratio < 1 means nyash-engine is faster.\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut summary = Vec::new();
    for (p, (phase, title)) in PHASES.iter().enumerate() {
        for simd in [false, true] {
            let group: Vec<(&Workload, &Row)> = workloads
                .iter()
                .zip(rows)
                .filter(|(w, r)| w.simd == simd && r.nyash[p].is_some() && r.wasmtime[p].is_some())
                .collect();
            if group.is_empty() {
                continue;
            }
            let title = if simd {
                format!("{title}: SIMD")
            } else {
                title.to_string()
            };
            if let Some(g) = print_table(&title, *phase, p, &group) {
                summary.push((title, g));
            }
        }
    }
    println!("### summary: geometric mean of nyash/wasmtime\n");
    println!("| phase | nyash/wasmtime |");
    println!("|---|---:|");
    for (title, g) in summary {
        println!("| {title} | {g:.2}x |");
    }
    println!();
}

/// One phase's table over `group`; returns the geometric mean of the ratios.
fn print_table(title: &str, phase: Phase, p: usize, group: &[(&Workload, &Row)]) -> Option<f64> {
    let native = phase == Phase::Execute && group.iter().any(|(_, r)| r.native.is_some());
    println!("### {title}\n");
    if native {
        println!(
            "| workload | nyash-engine | wasmtime | nyash/wasmtime | native | nyash/native | wasmtime/native |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
    } else {
        println!("| workload | nyash-engine | wasmtime | nyash/wasmtime |");
        println!("|---|---:|---:|---:|");
    }
    let mut ratios = Vec::new();
    let (mut ny_native, mut wt_native) = (Vec::new(), Vec::new());
    for (w, r) in group {
        let (Some(a), Some(b)) = (r.nyash[p], r.wasmtime[p]) else {
            continue;
        };
        let q = ratio(a, b);
        ratios.push(q);
        print!(
            "| {} | {} | {} | {q:.2}x |",
            w.name,
            fmt_spread(a, r.nyash_spread[p]),
            fmt_spread(b, r.wasmtime_spread[p])
        );
        if native {
            match r.native {
                Some(n) => {
                    ny_native.push(ratio(a, n));
                    wt_native.push(ratio(b, n));
                    print!(" {} | {:.2}x | {:.2}x |", fmt(n), ratio(a, n), ratio(b, n));
                }
                None => print!(" – | – | – |"),
            }
        }
        println!();
    }
    let g = geomean(&ratios);
    if let Some(g) = g {
        print!("| **geometric mean** | | | **{g:.2}x** |");
        if native {
            match (geomean(&ny_native), geomean(&wt_native)) {
                (Some(a), Some(b)) => print!(" | **{a:.2}x** | **{b:.2}x** |"),
                _ => print!(" | | |"),
            }
        }
        println!();
    }
    println!();
    g
}

mod nyash {
    use super::Res;
    use nyash_engine::{Config, Engine, Linker, Module, Store};
    use nyash_wasi::{self as wasi, Stdio, WasiCtx};
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    pub struct Bench {
        engine: Engine,
        linker: Linker<WasiCtx>,
    }

    impl Bench {
        pub fn new() -> Res<Bench> {
            let mut config = Config::new();
            config.cache(false);
            let engine = Engine::new(&config).map_err(|e| e.to_string())?;
            let mut linker = Linker::new(&engine);
            wasi::add_to_linker(&mut linker).map_err(|e| e.to_string())?;
            Ok(Bench { engine, linker })
        }

        pub fn compile(&self, wasm: &[u8]) -> Res<Duration> {
            let start = Instant::now();
            let module =
                Module::new(&self.engine, wasm).map_err(|e| format!("nyash-engine: {e}"))?;
            let t = start.elapsed();
            drop(module);
            Ok(t)
        }

        pub fn write_artifact(&self, wasm: &[u8], path: &Path) -> Res<()> {
            let module =
                Module::new(&self.engine, wasm).map_err(|e| format!("nyash-engine: {e}"))?;
            let bytes = module.serialize().map_err(|e| e.to_string())?;
            std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
        }

        pub fn load(&self, path: &Path) -> Res<Duration> {
            let start = Instant::now();
            // SAFETY: `path` was written by `write_artifact` with this engine.
            let module = unsafe { Module::deserialize_file(&self.engine, path) }
                .map_err(|e| format!("nyash-engine: {e}"))?;
            let t = start.elapsed();
            drop(module);
            Ok(t)
        }

        /// (host -> wasm, wasm -> host) time for `n` calls each.
        pub fn calls(&self, n: u32) -> Res<(Duration, Duration)> {
            let err = |e: nyash_engine::Error| format!("nyash-engine: {e}");
            let module = Module::new(&self.engine, super::CALLS_WAT).map_err(err)?;
            let mut linker: Linker<()> = Linker::new(&self.engine);
            linker
                .func_wrap("host", "inc", |x: i32| x + 1)
                .map_err(err)?;
            let mut store = Store::new(&self.engine, ());
            let instance = linker.instantiate(&mut store, &module).map_err(err)?;
            let id = instance
                .get_typed_func::<i32, i32>(&mut store, "id")
                .map_err(err)?;
            let call_host = instance
                .get_typed_func::<i32, i32>(&mut store, "call_host")
                .map_err(err)?;
            let start = Instant::now();
            let mut acc = 0;
            for i in 0..n as i32 {
                acc ^= id.call(&mut store, i).map_err(err)?;
            }
            let h2w = start.elapsed();
            let start = Instant::now();
            let r = call_host.call(&mut store, n as i32).map_err(err)?;
            let w2h = start.elapsed();
            if r != n as i32 || acc == i32::MIN {
                return Err(format!("nyash-engine: call_host returned {r}"));
            }
            Ok((h2w, w2h))
        }

        /// Instantiates from the artifact and runs `_start`: (instantiate
        /// time, execute time, stdout).
        pub fn run(&self, artifact: &Path) -> Res<(Duration, Duration, Vec<u8>)> {
            // SAFETY: `artifact` was written by `write_artifact` with this engine.
            let module = unsafe { Module::deserialize_file(&self.engine, artifact) }
                .map_err(|e| format!("nyash-engine: {e}"))?;
            let out = Arc::new(Mutex::new(Vec::new()));
            let start = Instant::now();
            let ctx = WasiCtx::builder()
                .arg("workload")
                .stdout(Stdio::Buffer(out.clone()))
                .build()
                .map_err(|e| e.to_string())?;
            let mut store = Store::new(&self.engine, ctx);
            let instance = self
                .linker
                .instantiate(&mut store, &module)
                .map_err(|e| format!("nyash-engine: {e}"))?;
            let inst = start.elapsed();
            let f = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            match f.call(&mut store, ()) {
                Ok(()) => {}
                Err(e) if e.exit_status() == Some(0) => {}
                Err(e) => return Err(format!("nyash-engine: {e}")),
            }
            let exec = start.elapsed();
            drop(store);
            let out = std::mem::take(&mut *out.lock().unwrap());
            Ok((inst, exec, out))
        }
    }
}

mod wasmtime_side {
    use super::Res;
    use std::path::Path;
    use std::time::{Duration, Instant};
    use wasmtime::{Config, Engine, Linker, Module, Store};
    use wasmtime_wasi::p1::WasiP1Ctx;
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

    pub struct Bench {
        engine: Engine,
        linker: Linker<WasiP1Ctx>,
    }

    impl Bench {
        pub fn new() -> Res<Bench> {
            // wasmtime's defaults: Cranelift at opt-level speed, parallel
            // compilation, signal-based bounds checks with guard pages.
            let config = Config::new();
            let engine = Engine::new(&config).map_err(|e| e.to_string())?;
            let mut linker = Linker::new(&engine);
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).map_err(|e| e.to_string())?;
            Ok(Bench { engine, linker })
        }

        pub fn compile(&self, wasm: &[u8]) -> Res<Duration> {
            let start = Instant::now();
            let module = Module::new(&self.engine, wasm).map_err(|e| format!("wasmtime: {e}"))?;
            let t = start.elapsed();
            drop(module);
            Ok(t)
        }

        pub fn write_artifact(&self, wasm: &[u8], path: &Path) -> Res<()> {
            let module = Module::new(&self.engine, wasm).map_err(|e| format!("wasmtime: {e}"))?;
            let bytes = module.serialize().map_err(|e| e.to_string())?;
            std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
        }

        fn deserialize(&self, path: &Path) -> Res<Module> {
            // SAFETY: the file was written by `write_artifact` with this engine.
            unsafe { Module::deserialize_file(&self.engine, path) }
                .map_err(|e| format!("wasmtime: {e}"))
        }

        pub fn load(&self, path: &Path) -> Res<Duration> {
            let start = Instant::now();
            let module = self.deserialize(path)?;
            let t = start.elapsed();
            drop(module);
            Ok(t)
        }

        pub fn calls(&self, n: u32) -> Res<(Duration, Duration)> {
            let err = |e: wasmtime::Error| format!("wasmtime: {e}");
            let module = Module::new(&self.engine, super::CALLS_WAT).map_err(err)?;
            let mut linker: Linker<()> = Linker::new(&self.engine);
            linker
                .func_wrap("host", "inc", |x: i32| x + 1)
                .map_err(err)?;
            let mut store = Store::new(&self.engine, ());
            let instance = linker.instantiate(&mut store, &module).map_err(err)?;
            let id = instance
                .get_typed_func::<i32, i32>(&mut store, "id")
                .map_err(err)?;
            let call_host = instance
                .get_typed_func::<i32, i32>(&mut store, "call_host")
                .map_err(err)?;
            let start = Instant::now();
            let mut acc = 0;
            for i in 0..n as i32 {
                acc ^= id.call(&mut store, i).map_err(err)?;
            }
            let h2w = start.elapsed();
            let start = Instant::now();
            let r = call_host.call(&mut store, n as i32).map_err(err)?;
            let w2h = start.elapsed();
            if r != n as i32 || acc == i32::MIN {
                return Err(format!("wasmtime: call_host returned {r}"));
            }
            Ok((h2w, w2h))
        }

        pub fn run(&self, artifact: &Path) -> Res<(Duration, Duration, Vec<u8>)> {
            let module = self.deserialize(artifact)?;
            let out = MemoryOutputPipe::new(1 << 20);
            let start = Instant::now();
            let ctx = wasmtime_wasi::WasiCtxBuilder::new()
                .arg("workload")
                .stdout(out.clone())
                .build_p1();
            let mut store = Store::new(&self.engine, ctx);
            let instance = self
                .linker
                .instantiate(&mut store, &module)
                .map_err(|e| format!("wasmtime: {e}"))?;
            let inst = start.elapsed();
            let f = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(|e| e.to_string())?;
            let start = Instant::now();
            match f.call(&mut store, ()) {
                Ok(()) => {}
                Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                    Some(wasmtime_wasi::I32Exit(0)) => {}
                    _ => return Err(format!("wasmtime: {e:?}")),
                },
            }
            let exec = start.elapsed();
            drop(store);
            Ok((inst, exec, out.contents().to_vec()))
        }
    }
}
