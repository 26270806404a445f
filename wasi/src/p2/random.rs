//! `wasi:random`'s host side: `random` (the host's CSPRNG, as preview 1's
//! `random_get`), `insecure` (the same source: cheap enough) and
//! `insecure-seed` (fixed per context, as the interface asks).
//!
//! A guest names the length it wants as a `u64`; the host allocates it
//! before the guest's `realloc` sees it, so lengths past
//! [`MAX_RANDOM_BYTES`] trap instead of making the host allocate without
//! bound.

use nyash_engine::Error;

use super::wasi::random::{insecure, insecure_seed, random};
use crate::WasiCtx;
use crate::core::random::fill;

/// The most bytes one `get-random-bytes` or `get-insecure-random-bytes`
/// returns: 64 MiB, far more than a seed or a key needs; a larger request
/// traps.
pub const MAX_RANDOM_BYTES: u64 = 64 << 20;

/// `len` random bytes, or a trap naming `what` past the limit.
fn random_bytes(len: u64, what: &str) -> nyash_engine::Result<Vec<u8>> {
    if len > MAX_RANDOM_BYTES {
        return Err(Error::msg(format!(
            "{what}: {len} bytes asked for, more than the limit of {MAX_RANDOM_BYTES}"
        )));
    }
    let mut v = vec![0; len as usize];
    fill(&mut v).map_err(|e| Error::msg(format!("{what}: the host's getrandom failed: {e:?}")))?;
    Ok(v)
}

fn random_u64(what: &str) -> nyash_engine::Result<u64> {
    let b = random_bytes(8, what)?;
    Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}

impl random::Host for WasiCtx {
    fn get_random_bytes(&mut self, len: u64) -> nyash_engine::Result<Vec<u8>> {
        random_bytes(len, "wasi:random/random get-random-bytes")
    }

    fn get_random_u64(&mut self) -> nyash_engine::Result<u64> {
        random_u64("wasi:random/random get-random-u64")
    }
}

impl insecure::Host for WasiCtx {
    fn get_insecure_random_bytes(&mut self, len: u64) -> nyash_engine::Result<Vec<u8>> {
        random_bytes(len, "wasi:random/insecure get-insecure-random-bytes")
    }

    fn get_insecure_random_u64(&mut self) -> nyash_engine::Result<u64> {
        random_u64("wasi:random/insecure get-insecure-random-u64")
    }
}

impl insecure_seed::Host for WasiCtx {
    fn insecure_seed(&mut self) -> nyash_engine::Result<(u64, u64)> {
        // The same pair for every call of one context (the interface:
        // "the same value every time"), drawn when first asked for.
        if self.insecure_seed.is_none() {
            let a = random_u64("wasi:random/insecure-seed insecure-seed")?;
            let b = random_u64("wasi:random/insecure-seed insecure-seed")?;
            self.insecure_seed = Some((a, b));
        }
        Ok(self.insecure_seed.unwrap_or_default())
    }
}
