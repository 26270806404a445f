//! `wasmtime-run`: runs a WASI preview-1 command, or a component exporting
//! WASI 0.2's `wasi:cli/run`, with wasmtime 48: the reference the tests
//! compare nyash-engine's output with (`tests/kotlin/`, the WASI 0.2
//! programs).
//!
//! ```text
//! wasmtime-run [--dir HOST[::GUEST]]... [--env K=V]... MODULE.wasm [ARGS...]
//! ```
//!
//! The options mean what they mean to `nyash-engine run`, so one command line
//! serves both engines: `--dir` preopens host directory HOST as GUEST (default
//! HOST), read-write; `--env` sets a variable (none is inherited); the
//! program's `argv[0]` is the module's file name and ARGS follow. Standard
//! input, output and error are the process's own.
//!
//! WebAssembly GC, exceptions (`try_table`/`exnref`), typed function
//! references and tail calls are on (what Kotlin/Wasm and C++ with wasm
//! exceptions emit), with wasmtime's default collector.
//!
//! Exit status, as `nyash-engine run` gives it: the code the program passed
//! to `proc_exit` (a component's to `wasi:cli/exit`), 0 when `_start`
//! returns (a component's `run` returns `ok`; 1 for `err`), and 1 with a
//! message on standard
//! error when the program traps or the module cannot be loaded, linked or
//! run (wasmtime's own CLI uses 128 + a signal-like number for a trap
//! instead). One difference stays: wasmtime's WASI refuses a `proc_exit`
//! status of 126 or more with an error (so 1 here), where nyash-engine exits
//! with the status's low 8 bits.

use std::process::ExitCode;

use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

const USAGE: &str =
    "usage: wasmtime-run [--dir HOST[::GUEST]]... [--env K=V]... MODULE.wasm [ARGS...]";

/// The parsed command line.
struct Options {
    dirs: Vec<(String, String)>,
    envs: Vec<(String, String)>,
    module: String,
    args: Vec<String>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut dirs = Vec::new();
    let mut envs = Vec::new();
    let module = loop {
        let Some(a) = argv.next() else {
            return Err(USAGE.to_string());
        };
        // `--dir X` and `--dir=X` alike.
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--dir" => {
                let d = value()?;
                let (host, guest) = d.split_once("::").unwrap_or((&d, &d));
                dirs.push((host.to_string(), guest.to_string()));
            }
            "--env" => {
                let kv = value()?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--env `{kv}`: expected K=V"))?;
                envs.push((k.to_string(), v.to_string()));
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ if a.starts_with('-') => return Err(format!("unknown option `{a}`\n{USAGE}")),
            _ => break a,
        }
    };
    Ok(Options {
        dirs,
        envs,
        module,
        args: argv.collect(),
    })
}

/// The WASI context both kinds of program get from the command line.
fn wasi_ctx(o: &Options) -> Result<WasiCtxBuilder, String> {
    let mut b = WasiCtxBuilder::new();
    b.inherit_stdio();
    let name = std::path::Path::new(&o.module)
        .file_name()
        .map_or_else(|| o.module.clone(), |n| n.to_string_lossy().into_owned());
    b.arg(name).args(&o.args).envs(&o.envs);
    for (host, guest) in &o.dirs {
        b.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(|e| format!("--dir {host}::{guest}: {e}"))?;
    }
    Ok(b)
}

/// A component's store data: the WASI 0.2 context and its resources.
struct P2 {
    ctx: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
}

impl wasmtime_wasi::WasiView for P2 {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The component in `bytes`, compiled, or loaded from the directory
/// `$WASMTIME_RUN_CACHE` when it was compiled there before (keyed by a
/// hash of the bytes; the tests run the same 15-20 MB components several
/// times, about 10 s of compiling each).
fn component(
    o: &Options,
    engine: &Engine,
    bytes: &[u8],
) -> Result<wasmtime::component::Component, String> {
    use wasmtime::component::Component;
    let compile = || Component::new(engine, bytes).map_err(|e| format!("{}: {e:?}", o.module));
    let Some(dir) = std::env::var_os("WASMTIME_RUN_CACHE") else {
        return compile();
    };
    // FNV-1a over the bytes, and their length.
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let path = std::path::Path::new(&dir).join(format!("{hash:016x}-{}.cwasm", bytes.len()));
    if path.exists() {
        // SAFETY: the file was written by `Component::serialize` of this
        // same binary (same wasmtime, same configuration) below.
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
            return Ok(c);
        }
    }
    let c = compile()?;
    if let Ok(data) = c.serialize() {
        let _ = std::fs::create_dir_all(&dir);
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, data).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
    Ok(c)
}

/// Runs a component's `wasi:cli/run`.
fn run_component(o: &Options, engine: &Engine, bytes: &[u8]) -> Result<u8, String> {
    use wasmtime::component::Linker;
    let component = component(o, engine, bytes)?;
    let mut linker: Linker<P2> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| e.to_string())?;
    let data = P2 {
        ctx: wasi_ctx(o)?.build(),
        table: wasmtime::component::ResourceTable::new(),
    };
    let mut store = Store::new(engine, data);
    let command =
        wasmtime_wasi::p2::bindings::sync::Command::instantiate(&mut store, &component, &linker)
            .map_err(|e| format!("{}: {e:?}", o.module))?;
    match command.wasi_cli_run().call_run(&mut store) {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Ok(*code as u8),
            None => Err(format!("{e:?}")),
        },
    }
}

/// Runs the command; `Ok` carries its exit status, `Err` a message for a
/// failure to load or a trap.
fn run(o: &Options) -> Result<u8, String> {
    let mut config = Config::new();
    config
        .wasm_gc(true)
        .wasm_function_references(true)
        .wasm_exceptions(true)
        .wasm_tail_call(true);
    let engine = Engine::new(&config).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(&o.module).map_err(|e| format!("{}: {e}", o.module))?;
    if wasmparser::Parser::is_component(&bytes) {
        return run_component(o, &engine, &bytes);
    }
    let module =
        Module::from_file(&engine, &o.module).map_err(|e| format!("{}: {e:?}", o.module))?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| s).map_err(|e| e.to_string())?;

    let mut store = Store::new(&engine, wasi_ctx(o)?.build_p1());
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| format!("{}: {e:?}", o.module))?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|e| format!("{}: no `_start` command entry: {e}", o.module))?;
    match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Ok(*code as u8),
            None => Err(format!("{e:?}")),
        },
    }
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(|o| run(&o));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
