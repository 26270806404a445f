//! The `nyash-engine` command: a thin shell over the library.

mod component;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use nyash_engine::{Config, Engine, Error, Linker, Module, Store, Val, ValType};
use nyash_host::{self as nyash, NyashHost, NyashView};
use nyash_wasi::{self as wasi, WasiCtx, WasiView};

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
    /// Run a module (.wasm, .wat or .nwasm): a WASI command's `_start`, a
    /// Nyash module's `main`, or the function named by --invoke; or call a
    /// component's export (--invoke).
    Run {
        /// Do not use the compile cache.
        #[arg(long)]
        no_cache: bool,
        /// Call this exported function instead of the module's entry point,
        /// with ARGS parsed as its parameters; print its results (a v128 as
        /// 0x and 32 hex digits, lane 0 last; given the same way, or in
        /// decimal). For a component, the whole call in WAVE:
        /// --invoke 'add(1, 2)', --invoke 'greet("hi")',
        /// --invoke 'ns:pkg/iface.f(...)'; its result is printed in WAVE.
        #[arg(long, value_name = "NAME")]
        invoke: Option<String>,
        /// Make host directory HOST visible to the program as GUEST (default: HOST).
        #[arg(long = "dir", value_name = "HOST[::GUEST]")]
        dirs: Vec<String>,
        /// Set an environment variable for the program (none is inherited).
        #[arg(long = "env", value_name = "K=V")]
        envs: Vec<String>,
        /// A WASI option, as wasmtime's `-S`: `inherit-network` (TCP
        /// sockets to and from any address, WASI 0.2's `wasi:sockets`),
        /// `allow-ip-name-lookup` (resolve names with the host's resolver),
        /// `http` (wasi:http/outgoing-handler); each may be followed by
        /// `=y` or `=n`. All are off by default: the program's sockets and
        /// lookups are refused (`access-denied`).
        #[arg(short = 'S', value_name = "OPT[=y|n]")]
        wasi_opts: Vec<String>,
        /// Stop the program after it has used this much fuel (about one unit per instruction).
        #[arg(long, value_name = "N")]
        fuel: Option<u64>,
        /// Run a precompiled .nwasm artifact. Artifacts are native code: only
        /// use this for files made by `nyash-engine compile` that you trust.
        #[arg(long)]
        allow_precompiled: bool,
        /// Stop the program after this long (e.g. 500ms, 10s, 2m).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// The module to run, then the arguments for the program (or for the
        /// invoked function). Everything after the module is the program's,
        /// `-h`, `--dir` and `--` included (as in `wasmtime run`): options
        /// for `run` go before the module.
        #[arg(value_name = "MODULE", trailing_var_arg = true, required = true)]
        module_and_args: Vec<String>,
    },
    /// Serve a wasi:http/proxy component (its wasi:http/incoming-handler)
    /// over HTTP/1.1: a fresh instance per request, concurrently; a
    /// failing request is answered 500 and logged. Ctrl-C stops accepting
    /// and finishes the requests in flight.
    Serve {
        /// Where to listen; port 0 picks a free port (the address is printed).
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:8080")]
        addr: String,
        /// Do not use the compile cache.
        #[arg(long)]
        no_cache: bool,
        /// Set an environment variable for the handler (none is inherited).
        #[arg(long = "env", value_name = "K=V")]
        envs: Vec<String>,
        /// Stop a request's handler after it has used this much fuel.
        #[arg(long, value_name = "N")]
        fuel: Option<u64>,
        /// Stop a request's handler after this long (e.g. 500ms, 10s).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// WASI options: `-S http` lets handlers send HTTP requests
        /// (wasi:http/outgoing-handler; http:// only).
        #[arg(short = 'S', value_name = "OPTION", value_parser = ["http"])]
        wasi: Vec<String>,
        /// Worker threads serving requests.
        #[arg(long, value_name = "N", default_value_t = 2)]
        workers: usize,
        /// The component (.wasm or .wat).
        component: PathBuf,
    },
    /// Compile a module ahead of time into a .nwasm artifact.
    Compile {
        module: PathBuf,
        #[arg(short, long, value_name = "OUT.nwasm")]
        output: PathBuf,
    },
    /// Write one executable: this engine with the compiled module inside.
    Bundle {
        module: PathBuf,
        #[arg(short, long, value_name = "APP")]
        output: PathBuf,
    },
    /// The compile cache: where it is, what it holds, or empty it.
    Cache {
        #[arg(value_parser = ["dir", "stats", "clear"])]
        action: String,
    },
    /// Run WebAssembly spec scripts (.wast): modules and assertions about
    /// them. Prints `FILE: N passed` per script, or the first failing
    /// directive as `FILE:LINE:COL: ... failed: why`, and exits with status
    /// 1 if any directive failed.
    Wast {
        /// Run every directive of every script and print every failure,
        /// instead of stopping at the first.
        #[arg(short = 'k', long)]
        keep_going: bool,
        /// Print every directive as it is judged, `FILE:LINE:COL: what ok`
        /// or its failure.
        #[arg(short, long)]
        verbose: bool,
        /// The proposals the scripts were written for: `latest`, `wasm2`
        /// (WebAssembly 1.0 and 2.0) or `no-multi-memory`. Default: from
        /// each file's place in the official suite's layout (`wasm-v1/`,
        /// `wasm-v2/`: wasm2; `proposals/memory64/`,
        /// `proposals/function-references/`: no-multi-memory), else latest.
        #[arg(long, value_name = "PROFILE", value_parser = ["latest", "wasm2", "no-multi-memory"])]
        profile: Option<String>,
        /// The scripts.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

/// Trailer of a bundle: magic, artifact offset, artifact length.
const BUNDLE_MAGIC: &[u8; 8] = b"NYBUNDLE";
const BUNDLE_TRAILER: u64 = 24;

/// If this executable is a bundle: the artifact's offset and length in it.
fn bundled_artifact(exe: &Path) -> Option<(u64, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(exe).ok()?;
    let size = f.seek(SeekFrom::End(0)).ok()?;
    if size < BUNDLE_TRAILER {
        return None;
    }
    f.seek(SeekFrom::End(-(BUNDLE_TRAILER as i64))).ok()?;
    let mut t = [0u8; 24];
    f.read_exact(&mut t).ok()?;
    if &t[0..8] != BUNDLE_MAGIC {
        return None;
    }
    let off = u64::from_le_bytes(t[8..16].try_into().ok()?);
    let len = u64::from_le_bytes(t[16..24].try_into().ok()?);
    (off.checked_add(len)?.checked_add(BUNDLE_TRAILER)? == size).then_some((off, len))
}

/// A config that shows compile progress on stderr when it is a terminal.
/// Nothing is shown for a compile that takes under half a second, and the
/// line is redrawn at most ten times a second and erased at the end.
fn config_with_progress() -> Config {
    use std::io::{IsTerminal, Write};
    use std::sync::Mutex;
    use std::time::Instant;
    let mut config = Config::new();
    if std::io::stderr().is_terminal() {
        let start = Instant::now();
        // When the line was last drawn, if it was.
        let last: Mutex<Option<Instant>> = Mutex::new(None);
        config.compile_progress(move |done, total| {
            let Ok(mut last) = last.lock() else { return };
            let now = Instant::now();
            if done == total {
                if last.is_some() {
                    eprint!("\r\x1b[2K");
                    let _ = std::io::stderr().flush();
                }
                return;
            }
            let due = last.is_none_or(|t| now.duration_since(t) >= Duration::from_millis(100));
            if now.duration_since(start) >= Duration::from_millis(500) && due {
                eprint!("\rcompiling: {done}/{total} functions");
                let _ = std::io::stderr().flush();
                *last = Some(now);
            }
        });
    }
    config
}

/// A config for the commands that write artifacts (`compile`, `bundle`):
/// they are kept, so they are always the optimizing tier's, whatever
/// `NYASH_LAZY` says.
fn artifact_config() -> Config {
    let mut config = config_with_progress();
    config.lazy_compilation(false);
    config
}

fn bundle(module: &Path, output: &Path) -> Result<(), Error> {
    let engine = Engine::new(&artifact_config())?;
    let artifact = if component::is_component_file(module) {
        component::artifact(&engine, module)?
    } else {
        Module::from_file(&engine, module)?.serialize()?
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::msg(format!("cannot find this executable: {e}")))?;
    let mut data =
        std::fs::read(&exe).map_err(|e| Error::msg(format!("{}: {e}", exe.display())))?;
    // A bundle of a bundle: start from the plain engine.
    if let Some((off, _)) = bundled_artifact(&exe) {
        data.truncate(off as usize);
    }
    data.resize(data.len().next_multiple_of(nyash_engine::ARTIFACT_ALIGN), 0);
    let off = data.len() as u64;
    data.extend_from_slice(&artifact);
    data.extend_from_slice(BUNDLE_MAGIC);
    data.extend_from_slice(&off.to_le_bytes());
    data.extend_from_slice(&(artifact.len() as u64).to_le_bytes());
    std::fs::write(output, &data).map_err(|e| Error::msg(format!("{}: {e}", output.display())))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(output, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::msg(format!("{}: {e}", output.display())))?;
    Ok(())
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
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is not a duration we can wait"))
}

fn main() -> ExitCode {
    if let Ok(exe) = std::env::current_exe()
        && let Some((off, len)) = bundled_artifact(&exe)
    {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let opts = RunOptions {
            invoke: None,
            dirs: Vec::new(),
            envs: Vec::new(),
            wasi_opts: Vec::new(),
            fuel: None,
            timeout: None,
            no_cache: true,
            allow_precompiled: false,
            bundle: Some((off, len)),
        };
        return finish(run(&exe, &opts, &args));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Compile { module, output } => finish((|| {
            let engine = Engine::new(&artifact_config())?;
            let bytes = if component::is_component_file(&module) {
                component::artifact(&engine, &module)?
            } else {
                Module::from_file(&engine, &module)?.serialize()?
            };
            std::fs::write(&output, bytes)
                .map_err(|e| Error::msg(format!("{}: {e}", output.display())))?;
            Ok(ExitCode::SUCCESS)
        })()),
        Command::Bundle { module, output } => {
            finish(bundle(&module, &output).map(|()| ExitCode::SUCCESS))
        }
        Command::Wast {
            keep_going,
            verbose,
            profile,
            files,
        } => finish(wast(&files, keep_going, verbose, profile.as_deref())),
        Command::Cache { action } => finish((|| {
            let cache = nyash_engine::cache::Cache::new(&Config::new())?;
            match action.as_str() {
                "dir" => println!("{}", cache.dir().display()),
                "stats" => {
                    let (n, bytes) = cache.stats()?;
                    println!("{}: {n} entries, {bytes} bytes", cache.dir().display());
                }
                _ => {
                    let n = cache.clear()?;
                    println!("removed {n} entries from {}", cache.dir().display());
                }
            }
            Ok(ExitCode::SUCCESS)
        })()),
        Command::Serve {
            addr,
            no_cache,
            envs,
            fuel,
            timeout,
            wasi,
            workers,
            component,
        } => finish(serve::serve(
            &component,
            serve::ServeOptions {
                addr,
                no_cache,
                fuel,
                timeout,
                envs,
                allow_http: wasi.iter().any(|o| o == "http"),
                workers,
            },
        )),
        Command::Run {
            no_cache,
            invoke,
            dirs,
            envs,
            wasi_opts,
            fuel,
            allow_precompiled,
            timeout,
            module_and_args,
        } => {
            let (module, args) = module_and_args
                .split_first()
                .expect("clap requires the module");
            let module = PathBuf::from(module);
            let opts = RunOptions {
                invoke,
                dirs,
                envs,
                wasi_opts,
                fuel,
                timeout,
                no_cache,
                allow_precompiled,
                bundle: None,
            };
            finish(run(&module, &opts, args))
        }
    }
}

/// `nyash-engine wast`: runs each script in a fresh context, all of them in
/// parallel, and reports them in the order given. Every action runs under
/// a deadline of 10 s (a script that loops forever fails, naming the
/// directive), as in the spec test.
fn wast(
    files: &[PathBuf],
    keep_going: bool,
    verbose: bool,
    profile: Option<&str>,
) -> Result<ExitCode, Error> {
    use nyash_wast::{
        DEFAULT_DEADLINE_TICKS, DIRECTIVE_WATCHDOG, Outcome, Profile, RunOptions, run_files,
        with_epochs,
    };
    let forced = profile.and_then(Profile::from_name);
    let mut scripts = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
        scripts.push((path.display().to_string(), text));
    }
    let opts = RunOptions {
        deadline_ticks: Some(DEFAULT_DEADLINE_TICKS),
        fail_fast: !keep_going,
        skip_lines: Vec::new(),
        record_all: verbose,
    };
    // The scripts by profile (indices into `scripts`), an engine each.
    let mut groups: Vec<(Profile, Engine, Vec<usize>)> = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let p = forced.unwrap_or_else(|| Profile::for_path(path));
        match groups.iter_mut().find(|(q, _, _)| *q == p) {
            Some((_, _, members)) => members.push(i),
            None => {
                let mut config = Config::new();
                config.epoch_interruption(true);
                p.apply(&mut config);
                groups.push((p, Engine::new(&config)?, vec![i]));
            }
        }
    }
    let engines: Vec<&Engine> = groups.iter().map(|(_, e, _)| e).collect();
    let mut outcomes: Vec<(usize, Outcome)> = with_epochs(&engines, DIRECTIVE_WATCHDOG, || {
        groups
            .iter()
            .flat_map(|(_, engine, members)| {
                let texts: Vec<(String, String)> =
                    members.iter().map(|&i| scripts[i].clone()).collect();
                let outcomes = run_files(engine, &texts, &|_| opts.clone());
                members.iter().copied().zip(outcomes).collect::<Vec<_>>()
            })
            .collect()
    });
    outcomes.sort_by_key(|(i, _)| *i);
    let mut failed = false;
    for (i, o) in outcomes {
        let name = &scripts[i].0;
        for d in o.directives.iter().filter(|d| d.failure.is_none()) {
            println!("{name}:{}:{}: {} ok", d.line, d.col, d.directive);
        }
        for f in &o.failures {
            eprintln!("{f}");
        }
        if o.failures.is_empty() {
            println!("{name}: {} passed", o.passed);
        } else {
            failed = true;
            if !keep_going {
                break;
            }
            println!("{name}: {} passed, {} failed", o.passed, o.failures.len());
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn finish(r: Result<ExitCode, Error>) -> ExitCode {
    match r {
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
    no_cache: bool,
    /// `--allow-precompiled`: a `.nwasm` artifact may be run.
    allow_precompiled: bool,
    /// Running as a bundle: the artifact inside this executable.
    bundle: Option<(u64, u64)>,
    invoke: Option<String>,
    dirs: Vec<String>,
    envs: Vec<String>,
    /// `-S OPT[=y|n]`: the network policy.
    wasi_opts: Vec<String>,
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
    apply_wasi_options(&mut b, &opts.wasi_opts)?;
    b.build()
}

/// Applies `run`'s `-S` options (wasmtime's names): `inherit-network`,
/// `allow-ip-name-lookup` and `http`, each `NAME`, `NAME=y` or `NAME=n`
/// (the last of each counts). An unknown name or value is an error naming
/// it.
fn apply_wasi_options(b: &mut nyash_wasi::WasiCtxBuilder, opts: &[String]) -> Result<(), Error> {
    let (mut inherit_network, mut ip_name_lookup, mut http) = (false, false, false);
    for o in opts {
        let (name, value) = o.split_once('=').unwrap_or((o, "y"));
        let on = match value {
            "y" | "yes" | "true" => true,
            "n" | "no" | "false" => false,
            _ => {
                return Err(Error::msg(format!(
                    "-S {o}: expected {name}, {name}=y or {name}=n"
                )));
            }
        };
        match name {
            "inherit-network" => inherit_network = on,
            "allow-ip-name-lookup" => ip_name_lookup = on,
            "http" => http = on,
            _ => {
                return Err(Error::msg(format!(
                    "-S {o}: unknown WASI option `{name}` (known: inherit-network, \
                     allow-ip-name-lookup, http)"
                )));
            }
        }
    }
    if inherit_network {
        b.inherit_network();
    }
    b.allow_ip_name_lookup(ip_name_lookup);
    b.allow_http(http);
    Ok(())
}

/// Whether the file at `path` starts like a `.nwasm` artifact.
fn is_precompiled_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    Module::is_precompiled(&head[..n])
}

/// Starts this command again, detached, with the same arguments and
/// NYASH_CACHE_FILL=1: it compiles the module with the optimizing tier at
/// low priority and stores it in the cache. Failing to start it only means
/// the next run compiles again.
fn spawn_cache_fill() {
    use std::process::{Command, Stdio};
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let _ = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("NYASH_CACHE_FILL", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// Modules at least this big (the file) run with lazy compilation on a
/// cache miss unless `NYASH_LAZY` says otherwise: their full compile takes
/// seconds (about 0.6 s per MB of code on two cores), and a run that uses
/// a small part of the code starts many times sooner (RATIONALE.md).
const LAZY_MIN_BYTES: u64 = 8 << 20;

/// Whether `run` compiles `path` lazily because of its size: a `.wasm`
/// file of [`LAZY_MIN_BYTES`] or more, with `NYASH_LAZY` unset (`1` and `0`
/// turn lazy compilation on and off for every module).
fn lazy_by_size(path: &Path, opts: &RunOptions) -> bool {
    std::env::var_os("NYASH_LAZY").is_none()
        && opts.bundle.is_none()
        && !is_precompiled_file(path)
        && std::fs::metadata(path).is_ok_and(|m| m.len() >= LAZY_MIN_BYTES)
}

fn run(path: &Path, opts: &RunOptions, args: &[String]) -> Result<ExitCode, Error> {
    let mut config = config_with_progress();
    config.consume_fuel(opts.fuel.is_some());
    config.epoch_interruption(opts.timeout.is_some());
    config.cache(!opts.no_cache);
    // Lazy compilation's optimizing compile runs in a detached process (this
    // command again, with NYASH_CACHE_FILL=1), so it finishes and fills the
    // cache even if the program ends first.
    let fill = std::env::var_os("NYASH_CACHE_FILL").is_some_and(|v| v == "1");
    if fill || lazy_by_size(path, opts) {
        config.lazy_compilation(true);
    }
    config.lazy_background_compile(false);
    let engine = Engine::new(&config)?;
    let component = match opts.bundle {
        Some((off, _)) => component::is_component_artifact_at(path, off),
        None => component::is_component_file(path),
    };
    if component {
        // A big component starts lazily and writes no cache entry then: as
        // for modules, a detached process compiles it whole at low
        // priority and stores it, so the next run loads it.
        if config.is_lazy() && !opts.no_cache && opts.bundle.is_none() && !is_precompiled_file(path)
        {
            let bytes =
                std::fs::read(path).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
            let cache = nyash_engine::cache::Cache::new(&config)?;
            if fill {
                if !cache.contains(&engine, &bytes) {
                    cache.fill_component(&engine, &bytes)?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            if !cache.contains(&engine, &bytes) && cache.claim_fill(&engine, &bytes) {
                spawn_cache_fill();
            }
        }
        return component::run(&engine, path, opts, args);
    }
    if config.is_lazy() && !opts.no_cache && opts.bundle.is_none() && !is_precompiled_file(path) {
        let bytes =
            std::fs::read(path).map_err(|e| Error::msg(format!("{}: {e}", path.display())))?;
        let cache = nyash_engine::cache::Cache::new(&config)?;
        if fill {
            // Another run's fill may have got there first.
            if !cache.contains(&engine, &bytes) {
                cache.fill(&engine, &bytes)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        // One fill at a time per module: runs started while it compiles
        // wait for its entry instead of compiling again.
        if !cache.contains(&engine, &bytes) && cache.claim_fill(&engine, &bytes) {
            spawn_cache_fill();
        }
    }
    let module = match opts.bundle {
        // SAFETY: the artifact is the one `bundle` appended to this very
        // executable, which the user chose to run.
        Some((off, len)) => unsafe { Module::deserialize_embedded(&engine, path, off, len)? },
        None if is_precompiled_file(path) => {
            if !opts.allow_precompiled {
                return Err(Error::msg(format!(
                    "{}: this is a precompiled .nwasm artifact, which is native code; \
                     run it with --allow-precompiled if you trust where it came from",
                    path.display()
                )));
            }
            // SAFETY: the user vouched for this artifact with --allow-precompiled.
            unsafe { Module::deserialize_file(&engine, path)? }
        }
        None => Module::from_file(&engine, path)?,
    };
    let is_wasi = wasi::is_wasi_module(&module);
    let wasi_args: &[String] = if opts.invoke.is_some() { &[] } else { args };
    let host = Host {
        wasi: wasi_ctx(path, opts, wasi_args)?,
        nyash: NyashHost::default(),
    };
    let mut store = Store::new(&engine, host);
    limit_store(&mut store, &engine, opts)?;
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
                // (A `main` without an i32 result exits with 0.)
                let status = results.first().and_then(Val::i32).unwrap_or(0);
                Ok(ExitCode::from(status as u8))
            }
            Ok(()) => {
                for r in results {
                    println!("{}", format_val(&mut store, &r));
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
        println!("{}", format_val(&mut store, &r));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--fuel` and `--timeout` on `store`: its fuel, and an epoch deadline
/// that a thread reaches after the timeout.
fn limit_store<T>(store: &mut Store<T>, engine: &Engine, opts: &RunOptions) -> Result<(), Error> {
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
    Ok(())
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
        ValType::V128 => Val::V128(
            match s.strip_prefix("0x").or(s.strip_prefix("0X")) {
                Some(hex) => u128::from_str_radix(&hex.replace('_', ""), 16),
                None => s.parse::<u128>(),
            }
            .map_err(|x| e(&x))?,
        ),
        other => {
            return Err(format!(
                "arguments of type {other} cannot be given on the command line"
            ));
        }
    })
}

/// A result as the command prints it; a function reference shows the
/// function's type (a typed reference's own type names other function
/// types by engine id, `#n`). GC objects show their contents: a struct
/// `(struct #5 2 fields: i32 7, i31 2)`, an array
/// `(array i32 len 10: 1 2 3 4 5 6 7 8 ...)`, each at most
/// `GC_SHOWN` fields or elements, objects inside objects by type and size
/// only; an extern object (`any.convert_extern`) `(extern)`.
fn format_val(store: &mut impl nyash_engine::AsContextMut, v: &Val) -> String {
    // Field reads root what they read: only until this result is printed.
    let mut scope = nyash_engine::RootScope::new(store);
    format_val_at(&mut scope, v, true)
}

/// How many fields or elements of a GC object are printed.
const GC_SHOWN: usize = 8;

/// [`format_val`]; `open` prints an object's contents (the outermost one).
fn format_val_at(store: &mut impl nyash_engine::AsContextMut, v: &Val, open: bool) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        Val::V128(x) => format!("{x:#034x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
            "null".into()
        }
        Val::AnyRef(Some(r)) => match r.as_i31() {
            Some(i) => format!("i31 {i}"),
            None => format_object(store, *r, open)
                .unwrap_or_else(|e| format!("(unreadable object: {e})")),
        },
        Val::FuncRef(Some(f)) => format!("funcref {}", f.ty(&*store)),
        Val::ExternRef(Some(_)) => "externref".into(),
        Val::ExnRef(Some(_)) => "exnref".into(),
    }
}

fn format_object(
    store: &mut impl nyash_engine::AsContextMut,
    r: nyash_engine::AnyRef,
    open: bool,
) -> nyash_engine::Result<String> {
    let more = |n: usize| if n > GC_SHOWN { ", ..." } else { "" };
    if let Some(s) = r.as_struct(&*store)? {
        let ty = s.ty(&*store)?;
        let n = ty.fields().len();
        let mut out = format!(
            "(struct #{} {n} field{}",
            ty.type_id(),
            if n == 1 { "" } else { "s" }
        );
        if open && n > 0 {
            let mut shown = Vec::new();
            for (i, f) in ty.fields().take(GC_SHOWN).enumerate() {
                let v = s.field(&mut *store, i)?;
                let v = format_val_at(store, &v, false);
                shown.push(match f.element_type() {
                    // Numbers with their type; references speak for themselves.
                    t @ nyash_engine::StorageType::I8
                    | t @ nyash_engine::StorageType::I16
                    | t @ nyash_engine::StorageType::ValType(
                        ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64 | ValType::V128,
                    ) => format!("{t} {v}"),
                    _ => v,
                });
            }
            out = format!("{out}: {}{}", shown.join(", "), more(n));
        }
        return Ok(out + ")");
    }
    if let Some(a) = r.as_array(&*store)? {
        let elem = a.ty(&*store)?.field_type().element_type();
        let len = a.len(&*store)?;
        let mut out = format!("(array {elem} len {len}");
        if open && len > 0 {
            let mut shown = Vec::new();
            for i in 0..len.min(GC_SHOWN as u32) {
                let v = a.get(&mut *store, i)?;
                shown.push(format_val_at(store, &v, false));
            }
            let tail = if len as usize > GC_SHOWN { " ..." } else { "" };
            out = format!("{out}: {}{tail}", shown.join(" "));
        }
        return Ok(out + ")");
    }
    Ok("(extern)".into())
}
