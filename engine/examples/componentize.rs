//! Makes a component of a core module and a WIT world, as `wasm-tools
//! component embed` + `component new` would, with wit-component (a
//! dev-dependency, so this is an example rather than a binary):
//! `cargo run --release -p nyash-engine --example componentize -- CORE.wasm
//! WORLD.wit OUT.wasm`. `tests/components/run.sh` uses it on modules built
//! by real toolchains (zig's clang) to check components no one here
//! assembled by hand.
//!
//! `componentize --adapt ADAPTER.wasm CORE.wasm OUT.wasm` makes a WASI 0.2
//! component of a WASI preview-1 command module, as `wasm-tools component
//! new --adapt wasi_snapshot_preview1=ADAPTER.wasm` does: ADAPTER is the
//! standard preview-1 adapter (`wasi_snapshot_preview1.command.wasm`,
//! shipped in jco's npm package), which implements preview 1's imports on
//! WASI 0.2's.

use std::process::ExitCode;

fn run(core: &str, wit: &str, out: &str) -> Result<(), String> {
    let mut module = std::fs::read(core).map_err(|e| format!("reading {core}: {e}"))?;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_path(wit)
        .map_err(|e| format!("parsing {wit}: {e:#}"))?
        .0;
    let world = resolve
        .select_world(&[pkg], None)
        .map_err(|e| format!("{wit}: {e:#}"))?;
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .map_err(|e| format!("embedding {wit} into {core}: {e:#}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .map_err(|e| format!("{core}: {e:#}"))?
        .validate(true)
        .encode()
        .map_err(|e| format!("making a component of {core}: {e:#}"))?;
    std::fs::write(out, component).map_err(|e| format!("writing {out}: {e}"))
}

fn adapt(adapter: &str, core: &str, out: &str) -> Result<(), String> {
    let module = std::fs::read(core).map_err(|e| format!("reading {core}: {e}"))?;
    let adapter_bytes = std::fs::read(adapter).map_err(|e| format!("reading {adapter}: {e}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .map_err(|e| format!("{core}: {e:#}"))?
        .adapter("wasi_snapshot_preview1", &adapter_bytes)
        .map_err(|e| format!("{adapter}: {e:#}"))?
        .validate(true)
        .encode()
        .map_err(|e| format!("making a component of {core} with {adapter}: {e:#}"))?;
    std::fs::write(out, component).map_err(|e| format!("writing {out}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match &args[..] {
        [flag, adapter, core, out] if flag == "--adapt" => adapt(adapter, core, out),
        [core, wit, out] => run(core, wit, out),
        _ => {
            eprintln!(
                "usage: componentize CORE.wasm WORLD.wit OUT.wasm\n       componentize --adapt ADAPTER.wasm CORE.wasm OUT.wasm"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("componentize: {e}");
            ExitCode::FAILURE
        }
    }
}
