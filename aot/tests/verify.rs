//! Random valid modules (`wasm-smith`, the features we support) compile with
//! Cranelift's verifier on, under every combination of inlining, fuel and
//! epoch checks: the translator and the inliner never hand Cranelift IR it
//! rejects. (A fuel + inlining bug once made every real module panic.)

use arbitrary::Unstructured;
use nyash_aot::{CompileError, Compiler, Tunables};

const COUNT: u64 = 500;

/// Deterministic bytes for a seed (splitmix64).
fn seed_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

fn smith_config() -> wasm_smith::Config {
    let mut c = wasm_smith::Config::default();
    c.simd_enabled = false;
    c.relaxed_simd_enabled = false;
    c.gc_enabled = false;
    c.tail_call_enabled = false;
    c.exceptions_enabled = false;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.memory64_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.extended_const_enabled = false;
    c.custom_descriptors_enabled = false;
    c.bulk_memory_enabled = true;
    c.reference_types_enabled = true;
    c.multi_value_enabled = true;
    c.sign_extension_ops_enabled = true;
    c.saturating_float_to_int_enabled = true;
    c.max_memories = 1;
    c.max_tables = 2;
    c.min_funcs = 4;
    c.max_funcs = 30;
    // Small bodies, so many are inlining candidates.
    c.max_instructions = 40;
    c.export_everything = true;
    c
}

#[test]
fn random_modules_pass_the_verifier() {
    let compilers: Vec<(Tunables, Compiler)> = [
        (true, false, false),
        (true, true, false),
        (true, false, true),
        (true, true, true),
        (false, true, true),
    ]
    .into_iter()
    .map(|(inlining, consume_fuel, epoch_interruption)| {
        let t = Tunables {
            inlining,
            consume_fuel,
            epoch_interruption,
        };
        let c = Compiler::native_with_verifier(true)
            .unwrap()
            .with_parallelism(false)
            .with_tunables(t);
        (t, c)
    })
    .collect();
    let mut compiled = 0;
    for seed in 0..COUNT {
        let bytes = seed_bytes(seed, 8192);
        let Ok(module) = wasm_smith::Module::new(smith_config(), &mut Unstructured::new(&bytes))
        else {
            continue;
        };
        let wasm = module.to_bytes();
        for (t, c) in &compilers {
            match c.compile(&wasm) {
                Ok(_) => compiled += 1,
                Err(e @ CompileError::Codegen { .. }) => {
                    panic!("seed {seed}, {t:?}: Cranelift rejected our IR: {e}")
                }
                Err(e) => panic!("seed {seed}, {t:?}: a valid module was refused: {e}"),
            }
        }
    }
    assert!(compiled > COUNT as usize, "most seeds give a module");
}
