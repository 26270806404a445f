//! Random valid modules (`wasm-smith`, the features we support, SIMD and
//! exceptions included) compile with Cranelift's verifier on, under every combination
//! of inlining, fuel and epoch checks, and for a CPU with SSE4.1 only: the
//! translator and the inliner never hand Cranelift IR it rejects. (A fuel +
//! inlining bug once made every real module panic.)

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
    wasm_smith::Config {
        simd_enabled: true,
        relaxed_simd_enabled: true,
        gc_enabled: false,
        tail_call_enabled: true,
        exceptions_enabled: true,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        memory64_enabled: true,
        custom_page_sizes_enabled: true,
        wide_arithmetic_enabled: true,
        extended_const_enabled: true,
        custom_descriptors_enabled: false,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        saturating_float_to_int_enabled: true,
        max_memories: 4,
        max_tables: 2,
        min_funcs: 4,
        max_funcs: 30,
        // Small bodies, so many are inlining candidates.
        max_instructions: 40,
        export_everything: true,
        ..wasm_smith::Config::default()
    }
}

/// On x86-64, also a compiler without the features above SSE4.1 (the least
/// SIMD needs): Cranelift lowers SIMD differently without AVX.
fn sse41_only() -> Option<(Tunables, Compiler)> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let off: Vec<(&str, &str)> = [
        "has_sse42",
        "has_avx",
        "has_avx2",
        "has_fma",
        "has_avx512f",
        "has_avx512vl",
        "has_avx512dq",
        "has_avx512bitalg",
        "has_avx512vbmi",
        "has_bmi1",
        "has_bmi2",
        "has_lzcnt",
        "has_popcnt",
    ]
    .into_iter()
    .map(|f| (f, "false"))
    .collect();
    let c = Compiler::native_with_isa_flags(true, &off)
        .unwrap()
        .with_parallelism(false);
    Some((Tunables::default(), c))
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
            ..Tunables::default()
        };
        let c = Compiler::native_with_verifier(true)
            .unwrap()
            .with_parallelism(false)
            .with_tunables(t);
        (t, c)
    })
    .chain(sse41_only())
    .collect();
    let mut compiled = 0;
    let mut with_try_table = 0;
    for seed in 0..COUNT {
        let bytes = seed_bytes(seed, 8192);
        // Every other module with GC on (allocation, access, casts, stack maps).
        let config = wasm_smith::Config {
            gc_enabled: seed % 2 == 1,
            ..smith_config()
        };
        let Ok(module) = wasm_smith::Module::new(config, &mut Unstructured::new(&bytes)) else {
            continue;
        };
        let wasm = module.to_bytes();
        with_try_table += usize::from(uses_try_table(&wasm));
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
    // The exception handling translation is exercised, not just enabled.
    assert!(
        with_try_table > 10,
        "{with_try_table} modules with try_table"
    );
}

/// Whether a function body of `wasm` has a `try_table`.
fn uses_try_table(wasm: &[u8]) -> bool {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(mut ops) = body.get_operators_reader() else {
            continue;
        };
        while !ops.eof() {
            match ops.read() {
                Ok(wasmparser::Operator::TryTable { .. }) => return true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    false
}
