//! What changes the generated code beyond the ISA's flags: the code
//! quality [`Tier`] and the [`Tunables`].

/// How hard Cranelift works on the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// `opt_level=speed` and the backtracking register allocator: what
    /// artifacts and the cache hold.
    Optimized,
    /// The quick tier of lazy compilation (`Config::lazy_compilation`):
    /// code for a first run, compiled in a fraction of the time (see
    /// RATIONALE.md, "Why compile each function on its first call, and how?").
    Baseline,
}

/// The baseline tier's Cranelift `opt_level` and `regalloc_algorithm`.
/// `NYASH_BASELINE=opt,regalloc` overrides them, for measuring.
pub(crate) fn baseline_settings() -> (&'static str, &'static str) {
    let v = std::env::var("NYASH_BASELINE").unwrap_or_default();
    let mut it = v.split(',');
    let opt = match it.next() {
        Some("speed") => "speed",
        _ => "none",
    };
    // Not `single_pass` by default: it gives each value a stack slot of its
    // own, and frames of big recursive functions grow so much that real
    // programs (ruby.wasm's parser) exhaust the stack where optimized code
    // does not (RATIONALE.md).
    let regalloc = match it.next() {
        Some("single_pass") => "single_pass",
        _ => "backtracking",
    };
    (opt, regalloc)
}

/// Choices that change the generated code beyond the ISA's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunables {
    /// Check the epoch deadline at function entries and loop headers.
    pub epoch_interruption: bool,
    /// Count fuel and check it at function entries and loop headers.
    pub consume_fuel: bool,
    /// Inline small functions into their direct callers (see [`crate::inline`]).
    pub inlining: bool,
    /// Supported proposals this configuration turns off: a module that
    /// uses one is invalid (not unsupported), as for the standard before it.
    pub disabled_features: wasmparser::WasmFeatures,
    /// Relaxed SIMD gives the same results on every CPU: `relaxed_madd` and
    /// `relaxed_nmadd` are an unfused multiply and add even where the CPU
    /// has FMA (every other relaxed operator is deterministic in both
    /// modes; see RATIONALE.md).
    pub relaxed_simd_deterministic: bool,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            epoch_interruption: false,
            consume_fuel: false,
            inlining: true,
            disabled_features: wasmparser::WasmFeatures::empty(),
            relaxed_simd_deterministic: false,
        }
    }
}
