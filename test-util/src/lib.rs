//! Helpers the project's tests share, kept in one place instead of copied
//! between test crates: deterministic randomness ([`SplitMix64`],
//! [`seed_bytes`]), the wasm-smith configuration every generator starts
//! from ([`smith_base_config`]), temporary directories ([`TmpDir`]), the
//! engine configurations tests run under ([`Variant`], [`engines`]) and the
//! x86-64 CPU features above SSE4.1 ([`ABOVE_SSE41`]).
//!
//! A dev-dependency only (the `differential` binary of `nyash-benches`,
//! itself a test, uses it too); never published.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use nyash_engine::{Config, Engine};

/// The splitmix64 generator: 64-bit state, a fixed increment, a mixing
/// function. Deterministic for a seed, so a failing case is reproduced
/// from its seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

/// splitmix64's increment (the golden ratio, 2^64 / phi).
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    /// A generator whose state starts at `state` (the first number comes
    /// from `state + GOLDEN`). Callers derive `state` from their seed as
    /// they always have, so that their streams stay what they were.
    pub fn from_state(state: u64) -> SplitMix64 {
        SplitMix64(state)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform (up to modulo bias) in `0..n`; 0 if `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// True with probability 1/`n` (`n > 0`).
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A byte (the low one of the next number).
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// A byte in `1..=255`.
    pub fn nonzero_byte(&mut self) -> u8 {
        (self.below(255) + 1) as u8
    }

    /// `n` bytes, one number each.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// `len` (rounded up to 8) deterministic bytes for `seed`: splitmix64
/// started at `seed * GOLDEN ^ 0xD1B5_4A32_D192_ED03`, each number's bytes
/// little-endian. The input of wasm-smith's `Unstructured` in the
/// differential tests.
pub fn seed_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = SplitMix64::from_state(seed.wrapping_mul(GOLDEN) ^ 0xD1B5_4A32_D192_ED03);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out
}

/// The wasm-smith configuration every generator starts from: the features
/// nyash-engine supports on (SIMD, relaxed SIMD, tail calls, exceptions,
/// memory64, custom page sizes, wide arithmetic, extended constants, bulk
/// memory, reference types, multi-value, sign extension, saturating
/// conversions), those it does not off (threads, shared-everything threads,
/// custom descriptors; GC too: wasm-smith's GC modules define struct and
/// array types that generators turn on deliberately), and the limits they
/// share (4 memories, 2 tables, 20 functions, everything exported, a start
/// function allowed to be exported). Each generator then sets what it
/// needs on top (imports, sizes, NaN canonicalization, ...).
// One assignment per line reads as a list of switches, easy to diff.
#[allow(clippy::field_reassign_with_default)]
pub fn smith_base_config() -> wasm_smith::Config {
    let mut c = wasm_smith::Config::default();
    c.simd_enabled = true;
    c.relaxed_simd_enabled = true;
    c.gc_enabled = false;
    c.tail_call_enabled = true;
    c.exceptions_enabled = true;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.memory64_enabled = true;
    c.custom_page_sizes_enabled = true;
    c.wide_arithmetic_enabled = true;
    c.extended_const_enabled = true;
    c.custom_descriptors_enabled = false;
    c.bulk_memory_enabled = true;
    c.reference_types_enabled = true;
    c.multi_value_enabled = true;
    c.sign_extension_ops_enabled = true;
    c.saturating_float_to_int_enabled = true;
    c.max_memories = 4;
    c.max_tables = 2;
    c.max_funcs = 20;
    c.export_everything = true;
    c.allow_start_export = true;
    c
}

/// A fresh, empty directory under the system's temporary directory,
/// removed when dropped (kept if the thread is panicking, for a look at
/// what a failing test left).
#[derive(Debug)]
pub struct TmpDir(PathBuf);

impl TmpDir {
    /// `$TMPDIR/nyash-<prefix>-<pid>-<name>`, emptied if it was there.
    ///
    /// # Panics
    /// If the directory cannot be made (a test cannot go on without it).
    pub fn new(prefix: &str, name: &str) -> TmpDir {
        let d = std::env::temp_dir().join(format!("nyash-{prefix}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        if let Err(e) = std::fs::create_dir_all(&d) {
            panic!("cannot make {}: {e}", d.display());
        }
        TmpDir(d)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// One engine configuration of a test matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// `Config::new()` (inlining on; `NYASH_GC_STRESS`/`NYASH_LAZY` as the
    /// environment says).
    Default,
    /// Inlining off.
    NoInlining,
    /// Every function compiled on its first call.
    Lazy,
    /// A small (64 KiB) nursery, so that collections happen often, and
    /// explicitly not in GC stress mode, whatever `NYASH_GC_STRESS` says.
    SmallNursery,
    /// GC stress mode: a moving collection at every allocation, the heap
    /// verified after each.
    GcStress,
}

impl Variant {
    /// The variant's name, for failure messages.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Default => "default",
            Variant::NoInlining => "no inlining",
            Variant::Lazy => "lazy",
            Variant::SmallNursery => "small nursery",
            Variant::GcStress => "stress",
        }
    }

    /// The variant's configuration.
    pub fn config(self) -> Config {
        let mut c = Config::new();
        match self {
            Variant::Default => {}
            Variant::NoInlining => {
                c.inlining(false);
            }
            Variant::Lazy => {
                c.lazy_compilation(true);
            }
            Variant::SmallNursery => {
                c.gc_nursery_bytes(64 << 10).gc_stress(false);
            }
            Variant::GcStress => {
                c.gc_stress(true);
            }
        }
        c
    }
}

/// An engine per variant, with its name.
///
/// # Panics
/// If an engine cannot be made (the test cannot run).
pub fn engines(variants: &[Variant]) -> Vec<(&'static str, Engine)> {
    variants
        .iter()
        .map(|v| match Engine::new(&v.config()) {
            Ok(e) => (v.name(), e),
            Err(e) => panic!("engine `{}`: {e}", v.name()),
        })
        .collect()
}

/// Where the native stack is now, near enough: the address of a local of
/// this function, which is never inlined. A host function called from
/// wasm compares it with one taken before the call to see how deep the
/// wasm frames in between go (the frames an inlined function no longer
/// has, say).
#[inline(never)]
pub fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// The x86-64 features above SSE4.1, the least SIMD needs (names of
/// `Config::disable_cpu_feature`): with them off, Cranelift picks its
/// SSE4.1 lowerings instead of AVX/AVX-512 ones.
pub const ABOVE_SSE41: &[&str] = &[
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
];

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64's output for state 1234567 as the algorithm's C code
    /// gives it (checked against an independent implementation).
    #[test]
    fn splitmix64_matches_the_reference() {
        let mut r = SplitMix64::from_state(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn seed_bytes_are_deterministic_and_differ_by_seed() {
        assert_eq!(seed_bytes(7, 20), seed_bytes(7, 20));
        assert_eq!(seed_bytes(7, 20).len(), 24);
        assert_ne!(seed_bytes(7, 16), seed_bytes(8, 16));
    }
}
