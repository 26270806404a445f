//! The `.nwasm` format of a compiled component: one file holding the
//! component's types and inlined description and, at aligned offsets,
//! one module artifact ([`crate::artifact`]) per core module, each mapped
//! in place when the file is loaded.
//!
//! ```text
//! 0..8     MAGIC "NYASHCMP"
//! 8..12    FORMAT_VERSION (u32 le)
//! 12..32   the engine version, NUL-padded
//! 32..40   number of core modules
//! 40..48   metadata offset    48..56  metadata length
//! 56..72   xxh3-128 of the module table and the metadata
//! 128..    the module table: (offset, length) per module, u64 le each
//! then     the metadata (postcard of `ComponentArtifactMeta`)
//! then     the module artifacts, each at a multiple of CODE_ALIGN
//! ```
//!
//! Each module artifact keeps its own checks (fingerprint, checksums), so
//! the header only guards the metadata and the table, and the file must
//! end where the last module's artifact ends.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use super::fact::AdapterPlan;
use super::inline::InlinedComponent;
use super::types::ComponentTypes;
use crate::artifact::{ArtifactError, CODE_ALIGN, ENGINE_VERSION};

pub const MAGIC: &[u8; 8] = b"NYASHCMP";
/// 1: the first component artifact. 2: the async ABI's types, canonical
/// options and built-ins in the inlined description. 3: compiled adapters
/// (their plans in the metadata, their modules after the component's
/// own). 4: string parameters in compiled adapters (the plan's
/// `validate`). 5: compiled adapters for every value but handles (the
/// plan's `callee_realloc`, `caller_realloc`, `strings`; a 7-argument trap
/// intrinsic). An artifact of another version is refused, not misread.
pub const FORMAT_VERSION: u32 = 5;
const HEADER_SIZE: usize = 128;

/// Everything of a compiled component but its modules' artifacts.
#[derive(Serialize, Deserialize, Debug)]
pub struct ComponentArtifactMeta {
    pub types: ComponentTypes,
    pub inlined: InlinedComponent,
    /// By adapter index, how each compiled adapter is instantiated
    /// (`None`: the dynamic adapter).
    pub adapters: Vec<Option<AdapterPlan>>,
}

/// Whether `bytes` start like a component artifact.
pub fn is_component_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Writes a component artifact from its metadata and its modules'
/// artifacts.
pub fn write(meta: &ComponentArtifactMeta, modules: &[Vec<u8>]) -> Vec<u8> {
    let metadata = postcard::to_allocvec(meta).expect("component metadata serialises");
    let table_off = HEADER_SIZE;
    let meta_off = table_off + 16 * modules.len();
    let mut offsets = Vec::with_capacity(modules.len());
    let mut end = meta_off + metadata.len();
    for m in modules {
        let off = end.next_multiple_of(CODE_ALIGN);
        offsets.push((off, m.len()));
        end = off + m.len();
    }
    let mut out = vec![0u8; end];
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let v = ENGINE_VERSION.as_bytes();
    out[12..12 + v.len().min(20)].copy_from_slice(&v[..v.len().min(20)]);
    out[32..40].copy_from_slice(&(modules.len() as u64).to_le_bytes());
    out[40..48].copy_from_slice(&(meta_off as u64).to_le_bytes());
    out[48..56].copy_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (i, (off, len)) in offsets.iter().enumerate() {
        let at = table_off + 16 * i;
        out[at..at + 8].copy_from_slice(&(*off as u64).to_le_bytes());
        out[at + 8..at + 16].copy_from_slice(&(*len as u64).to_le_bytes());
        out[*off..*off + len].copy_from_slice(&modules[i]);
    }
    out[meta_off..meta_off + metadata.len()].copy_from_slice(&metadata);
    let sum = xxh3_128(&out[table_off..meta_off + metadata.len()]);
    out[56..72].copy_from_slice(&sum.to_le_bytes());
    out
}

/// A checked component artifact header: its metadata and where each
/// module's artifact is (byte ranges of the file).
pub struct ParsedComponent {
    pub meta: ComponentArtifactMeta,
    pub modules: Vec<(u64, u64)>,
}

/// How many bytes of the file [`parse`] needs at least: the header, the
/// table and the metadata (read this much, then parse).
pub fn header_len(bytes: &[u8]) -> Result<usize, ArtifactError> {
    if bytes.len() < 8 || &bytes[0..8] != MAGIC {
        return Err(ArtifactError::NotAnArtifact);
    }
    if bytes.len() < HEADER_SIZE {
        return Err(ArtifactError::Truncated);
    }
    let meta_off = u64_at(bytes, 40);
    let meta_len = u64_at(bytes, 48);
    meta_off
        .checked_add(meta_len)
        .and_then(|e| usize::try_from(e).ok())
        .ok_or(ArtifactError::Truncated)
}

/// Checks a component artifact's header (`bytes` is at least
/// [`header_len`] bytes of the file; `file_len` its whole length) and
/// reads its metadata.
pub fn parse(bytes: &[u8], file_len: u64) -> Result<ParsedComponent, ArtifactError> {
    let end = header_len(bytes)?;
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(ArtifactError::FormatVersion(version));
    }
    let engine = String::from_utf8_lossy(&bytes[12..32])
        .trim_end_matches('\0')
        .to_string();
    if engine != ENGINE_VERSION {
        return Err(ArtifactError::EngineVersion(engine));
    }
    if bytes.len() < end {
        return Err(ArtifactError::Truncated);
    }
    let n = u64_at(bytes, 32);
    let meta_off = u64_at(bytes, 40) as usize;
    let table_end = (n as usize)
        .checked_mul(16)
        .and_then(|t| t.checked_add(HEADER_SIZE))
        .filter(|t| *t == meta_off)
        .ok_or_else(|| {
            ArtifactError::Metadata("module table does not end at the metadata".into())
        })?;
    let sum = u128::from_le_bytes(bytes[56..72].try_into().expect("16 bytes"));
    if xxh3_128(&bytes[HEADER_SIZE..end]) != sum {
        return Err(ArtifactError::Checksum);
    }
    let mut modules = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let at = HEADER_SIZE + 16 * i;
        let (off, len) = (u64_at(bytes, at), u64_at(bytes, at + 8));
        if off % CODE_ALIGN as u64 != 0
            || off < end as u64
            || off.checked_add(len).is_none_or(|e| e > file_len)
        {
            return Err(ArtifactError::Truncated);
        }
        modules.push((off, len));
    }
    // The file is exactly what `write` wrote: nothing after the last
    // module's artifact (or after the metadata, with no modules).
    let written = modules
        .iter()
        .map(|(off, len)| off + len)
        .max()
        .unwrap_or(end as u64);
    if written != file_len {
        return Err(ArtifactError::Metadata(format!(
            "{} bytes after the last module's artifact",
            file_len.saturating_sub(written)
        )));
    }
    let meta = postcard::from_bytes(&bytes[table_end..end])
        .map_err(|e| ArtifactError::Metadata(e.to_string()))?;
    Ok(ParsedComponent { meta, modules })
}
