//! The `nyash-engine` command: a thin shell over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nyash_engine::{Engine, Error, Instance, Module, Store, Val, ValType};

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
    /// Run a module (.wasm or .wat).
    Run {
        /// Call this exported function instead of the module's entry point,
        /// with ARGS parsed as its parameters; print its results.
        #[arg(long, value_name = "NAME")]
        invoke: Option<String>,
        /// The module to run.
        module: PathBuf,
        /// Arguments for the invoked function.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            invoke,
            module,
            args,
        } => match run(&module, invoke.as_deref(), &args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(path: &std::path::Path, invoke: Option<&str>, args: &[String]) -> Result<ExitCode, Error> {
    let engine = Engine::default();
    let module = Module::from_file(&engine, path)?;
    let mut store = Store::new(&engine, ());
    if let Some((m, n, _)) = module.imports().next() {
        return Err(Error::msg(format!(
            "{}: the module imports `{m}::{n}`, and no host module provides it",
            path.display()
        )));
    }
    let instance = Instance::new(&mut store, &module, &[])?;
    let name = match invoke {
        Some(name) => name.to_string(),
        None => {
            let entry = ["_start", "main", ""]
                .into_iter()
                .find(|n| instance.get_func(&mut store, n).is_some());
            match entry {
                Some(n) => n.to_string(),
                None => {
                    return Err(Error::msg(format!(
                        "{}: no entry point (export `_start`); use --invoke NAME",
                        path.display()
                    )));
                }
            }
        }
    };
    let func = instance
        .get_func(&mut store, &name)
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
