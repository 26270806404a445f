//! Makes a component of a core module and a WIT world, as `wasm-tools
//! component embed` + `component new` would, with wit-component (a
//! dev-dependency, so this is an example rather than a binary):
//! `cargo run --release -p nyash-engine --example componentize -- CORE.wasm
//! WORLD.wit OUT.wasm`. `tests/components/run.sh` uses it on modules built
//! by real toolchains (zig's clang) to check components no one here
//! assembled by hand.

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [core, wit, out] = &args[..] else {
        eprintln!("usage: componentize CORE.wasm WORLD.wit OUT.wasm");
        return ExitCode::from(2);
    };
    match run(core, wit, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("componentize: {e}");
            ExitCode::FAILURE
        }
    }
}
