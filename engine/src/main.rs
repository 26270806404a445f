//! The `nyash-engine` command: a thin shell over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nyash_engine::nyash::{self, NyashHost, NyashView};
use nyash_engine::wasi::{self, WasiCtx, WasiView};
use nyash_engine::{Config, Engine, Error, Linker, Module, Store, Val, ValType};

#[derive(Parser)]
#[command(
    name = "nyash-engine",
    version,
    about = "Run WebAssembly modules, compiled ahead of time"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a module (.wasm or .wat): a WASI command's `_start`, or the
    /// function named by --invoke.
    Run {
        /// Call this exported function instead of the module's entry point,
        /// with ARGS parsed as its parameters; print its results.
        #[arg(long, value_name = "NAME")]
        invoke: Option<String>,
        /// Make host directory HOST visible to the program as GUEST (default: HOST).
        #[arg(long = "dir", value_name = "HOST[::GUEST]")]
        dirs: Vec<String>,
        /// Set an environment variable for the program (none is inherited).
        #[arg(long = "env", value_name = "K=V")]
        envs: Vec<String>,
        /// Stop the program after it has used this much fuel (about one unit per instruction).
        #[arg(long, value_name = "N")]
        fuel: Option<u64>,
        /// Stop the program after this long (e.g. 500ms, 10s, 2m).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// The module to run.
        module: PathBuf,
        /// Arguments for the program (or for the invoked function).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{s}` (use ms, s, m or h)"
            ));
        }
    };
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(format!("`{s}` is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            invoke,
            dirs,
            envs,
            fuel,
            timeout,
            module,
            args,
        } => {
            let opts = RunOptions {
                invoke,
                dirs,
                envs,
                fuel,
                timeout,
            };
            match run(&module, &opts, &args) {
                Ok(code) => code,
                Err(e) => {
                    if let Some(code) = e.exit_status() {
                        return ExitCode::from(code as u8);
                    }
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// What a program run by the command line can use: WASI, or the Nyash host ABI.
struct Host {
    wasi: WasiCtx,
    nyash: NyashHost,
}

impl WasiView for Host {
    fn wasi(&mut self) -> &mut WasiCtx {
        &mut self.wasi
    }
}

impl NyashView for Host {
    fn nyash(&mut self) -> &mut NyashHost {
        &mut self.nyash
    }
}

struct RunOptions {
    invoke: Option<String>,
    dirs: Vec<String>,
    envs: Vec<String>,
    fuel: Option<u64>,
    timeout: Option<Duration>,
}

fn wasi_ctx(path: &Path, opts: &RunOptions, args: &[String]) -> Result<WasiCtx, Error> {
    let mut b = WasiCtx::builder();
    b.inherit_stdio();
    b.arg(path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    ));
    b.args(args.iter().cloned());
    for kv in &opts.envs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::msg(format!("--env `{kv}`: expected K=V")))?;
        b.env(k, v);
    }
    for d in &opts.dirs {
        let (host, guest) = d.split_once("::").unwrap_or((d, d));
        b.preopened_dir(host, guest);
    }
    b.build()
}

fn run(path: &Path, opts: &RunOptions, args: &[String]) -> Result<ExitCode, Error> {
    let mut config = Config::new();
    config.consume_fuel(opts.fuel.is_some());
    config.epoch_interruption(opts.timeout.is_some());
    let engine = Engine::new(&config)?;
    let module = Module::from_file(&engine, path)?;
    let is_wasi = wasi::is_wasi_module(&module);
    let wasi_args: &[String] = if opts.invoke.is_some() { &[] } else { args };
    let host = Host {
        wasi: wasi_ctx(path, opts, wasi_args)?,
        nyash: NyashHost::default(),
    };
    let mut store = Store::new(&engine, host);
    if let Some(fuel) = opts.fuel {
        store.set_fuel(fuel)?;
    }
    if let Some(timeout) = opts.timeout {
        store.set_epoch_deadline(1);
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(timeout);
            engine.increment_epoch();
        });
    }
    let mut linker: Linker<Host> = Linker::new(&engine);
    linker.allow_shadowing(true);
    wasi::add_to_linker(&mut linker)?;
    // A Nyash module: `main: () -> i32` and its host functions from `env`.
    let is_nyash = nyash::is_nyash_module(&module)
        || (!is_wasi && module.imports().any(|(m, _, _)| m == "env"));
    if is_nyash {
        nyash::add_to_linker(&mut linker, &module)
            .map_err(|e| e.context(path.display().to_string()))?;
    }
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| e.context(path.display().to_string()))?;

    let Some(name) = opts.invoke.as_deref() else {
        let entry = ["_start", "main", ""]
            .into_iter()
            .find(|n| instance.get_func(&mut store, n).is_some())
            .ok_or_else(|| {
                Error::msg(format!(
                    "{}: no entry point (export `_start`); use --invoke NAME",
                    path.display()
                ))
            })?;
        let func = instance.get_func(&mut store, entry).expect("found above");
        let ty = func.ty(&store);
        let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
        let r = if ty.params.is_empty() {
            func.call(&mut store, &[], &mut results)
        } else {
            Err(Error::msg(format!(
                "entry point `{entry}` takes parameters {ty}"
            )))
        };
        return match r {
            Ok(()) if is_wasi => Ok(ExitCode::SUCCESS),
            Ok(()) if is_nyash && entry == "main" => {
                // `main`'s result is the exit status.
                Ok(ExitCode::from(results[0].i32().unwrap_or(0) as u8))
            }
            Ok(()) => {
                for r in results {
                    println!("{}", format_val(&r));
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) if e.exit_status().is_some() => Err(e),
            Err(e) => Err(e.context(format!("{}: running `{entry}`", path.display()))),
        };
    };
    let func = instance
        .get_func(&mut store, name)
        .ok_or_else(|| Error::msg(format!("{}: no exported function `{name}`", path.display())))?;
    let ty = func.ty(&store);
    if args.len() != ty.params.len() {
        return Err(Error::msg(format!(
            "`{name}` takes {} arguments {ty}, {} given",
            ty.params.len(),
            args.len()
        )));
    }
    let params = ty
        .params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (t, a))| {
            parse_arg(*t, a).map_err(|e| Error::msg(format!("argument {i} (`{a}`): {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut results: Vec<Val> = ty.results.iter().map(|t| Val::default_for(*t)).collect();
    func.call(&mut store, &params, &mut results)
        .map_err(|e| e.context(format!("{}: calling `{name}`", path.display())))?;
    for r in results {
        println!("{}", format_val(&r));
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_arg(ty: ValType, s: &str) -> Result<Val, String> {
    let e = |err: &dyn std::fmt::Display| format!("not a valid {ty}: {err}");
    Ok(match ty {
        ValType::I32 => Val::I32(
            s.parse::<i32>()
                .or_else(|_| s.parse::<u32>().map(|v| v as i32))
                .map_err(|x| e(&x))?,
        ),
        ValType::I64 => Val::I64(
            s.parse::<i64>()
                .or_else(|_| s.parse::<u64>().map(|v| v as i64))
                .map_err(|x| e(&x))?,
        ),
        ValType::F32 => Val::F32(s.parse::<f32>().map_err(|x| e(&x))?.to_bits()),
        ValType::F64 => Val::F64(s.parse::<f64>().map_err(|x| e(&x))?.to_bits()),
        other => {
            return Err(format!(
                "arguments of type {other} cannot be given on the command line"
            ));
        }
    })
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".into(),
        Val::FuncRef(Some(_)) => "funcref".into(),
        Val::ExternRef(Some(_)) => "externref".into(),
    }
}
