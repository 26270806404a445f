//! The `.nwasm` artifact format: a compiled module on disk.
//!
//! ```text
//! header (128 bytes, little-endian)
//!   0   magic "NYASHART"
//!   8   format version: u32
//!   12  engine version: [u8; 20], zero-padded
//!   32  compiler fingerprint hash: u64   (target triple, every Cranelift and
//!                                         ISA flag, tunables: CPU features included)
//!   40  wasm hash: [u8; 16]              (the module bytes the code came from)
//!   56  metadata offset: u64, 64 metadata length: u64
//!   72  code offset: u64 (page-aligned), 80 code length: u64
//!   88  checksum: [u8; 16]               (xxh3-128 of the metadata, then the code)
//!   104 reserved to 128
//! metadata (postcard: ModuleEnv, VMOffsets, the image tables, trampolines, fingerprint)
//! padding to a page boundary
//! code image (position-independent; mapped read-execute in place when loaded)
//! ```
//!
//! Every check happens before any byte of code can run: a truncated,
//! bit-flipped, foreign or mismatched file is an error naming what is wrong.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::image::ImageTables;
use crate::module::ModuleEnv;
use crate::vmoffsets::VMOffsets;

pub const MAGIC: &[u8; 8] = b"NYASHART";
/// 5: GC's struct and array types and `ref.i31` constants in the metadata,
/// `any` references as `I32` in code. 6: GC allocation and access, stack
/// maps, the VMContext's `gc_heap` field, the store context's exit record.
/// 7: the image's four tables as one value ([`ImageTables`]), after the
/// offsets.
pub const FORMAT_VERSION: u32 = 7;
pub const HEADER_SIZE: usize = 128;
/// Code is placed at a multiple of this, so it can be mapped in place on
/// hosts with pages up to 16 KiB (a host with larger pages gets an error, not a crash).
pub const CODE_ALIGN: usize = 16384;
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything of a compiled module except its code.
#[derive(Serialize, Deserialize, Debug)]
pub struct ArtifactMeta {
    pub env: ModuleEnv,
    pub offsets: VMOffsets,
    /// The code image's function, trap, exception handler and stack map
    /// tables.
    pub tables: ImageTables,
    #[serde(with = "crate::packed")]
    pub defined_func_offsets: Vec<u32>,
    pub entry_trampolines: Vec<Option<u32>>,
    pub host_trampolines: Vec<Option<u32>>,
    pub inlined: crate::inline::InlineTable,
    /// The compiler fingerprint in full, for error messages.
    pub fingerprint: String,
}

impl ArtifactMeta {
    /// A compiled module's metadata, and its code image, for the compiler
    /// whose fingerprint is `fingerprint`.
    pub fn split(artifact: crate::Artifact, fingerprint: &str) -> (ArtifactMeta, Vec<u8>) {
        let crate::Artifact {
            env,
            offsets,
            code,
            tables,
            defined_func_offsets,
            entry_trampolines,
            host_trampolines,
            inlined,
        } = artifact;
        let meta = ArtifactMeta {
            env,
            offsets,
            tables,
            defined_func_offsets,
            entry_trampolines,
            host_trampolines,
            inlined,
            fingerprint: fingerprint.to_string(),
        };
        (meta, code)
    }
}

/// Why an artifact cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactError {
    NotAnArtifact,
    Truncated,
    FormatVersion(u32),
    EngineVersion(String),
    /// Compiled for another target, CPU features or compiler settings.
    Fingerprint,
    Checksum,
    Metadata(String),
}

impl std::fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArtifactError::NotAnArtifact => write!(f, "not a nyash-engine artifact (bad magic)"),
            ArtifactError::Truncated => write!(f, "the artifact is truncated"),
            ArtifactError::FormatVersion(v) => write!(
                f,
                "artifact format version {v}, this engine reads version {FORMAT_VERSION}"
            ),
            ArtifactError::EngineVersion(v) => write!(
                f,
                "compiled by nyash-engine {v}, this is {ENGINE_VERSION}; recompile it"
            ),
            ArtifactError::Fingerprint => write!(
                f,
                "compiled for a different target, CPU features or compiler settings; recompile it"
            ),
            ArtifactError::Checksum => write!(f, "the artifact is damaged (checksum mismatch)"),
            ArtifactError::Metadata(m) => write!(f, "the artifact's metadata is damaged: {m}"),
        }
    }
}

impl std::error::Error for ArtifactError {}

pub fn fingerprint_hash(fingerprint: &str) -> u64 {
    xxh3_64(fingerprint.as_bytes())
}

pub fn wasm_hash(wasm: &[u8]) -> u128 {
    xxh3_128(wasm)
}

/// The checksum covers what is read: the metadata and the code, not the
/// padding between them (up to 16 KiB of zeros, which would cost page faults).
fn checksum(metadata: &[u8], code: &[u8]) -> u128 {
    // One-shot hashes of each part (several times faster than the streaming
    // hasher), combined by hashing the pair.
    let mut both = [0u8; 32];
    both[..16].copy_from_slice(&xxh3_128(metadata).to_le_bytes());
    both[16..].copy_from_slice(&xxh3_128(code).to_le_bytes());
    xxh3_128(&both)
}

/// Writes an artifact.
pub fn write(meta: &ArtifactMeta, code: &[u8], wasm_hash: u128) -> Vec<u8> {
    let metadata = postcard::to_allocvec(meta).expect("artifact metadata serialises");
    let meta_off = HEADER_SIZE;
    let code_off = (meta_off + metadata.len()).next_multiple_of(CODE_ALIGN);
    let mut out = vec![0u8; code_off + code.len()];
    out[meta_off..meta_off + metadata.len()].copy_from_slice(&metadata);
    out[code_off..].copy_from_slice(code);
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let v = ENGINE_VERSION.as_bytes();
    out[12..12 + v.len().min(20)].copy_from_slice(&v[..v.len().min(20)]);
    out[32..40].copy_from_slice(&fingerprint_hash(&meta.fingerprint).to_le_bytes());
    out[40..56].copy_from_slice(&wasm_hash.to_le_bytes());
    out[56..64].copy_from_slice(&(meta_off as u64).to_le_bytes());
    out[64..72].copy_from_slice(&(metadata.len() as u64).to_le_bytes());
    out[72..80].copy_from_slice(&(code_off as u64).to_le_bytes());
    out[80..88].copy_from_slice(&(code.len() as u64).to_le_bytes());
    let sum = checksum(&out[meta_off..meta_off + metadata.len()], &out[code_off..]);
    out[88..104].copy_from_slice(&sum.to_le_bytes());
    out
}

/// A checked artifact: its metadata and where its code is.
pub struct Parsed {
    pub meta: ArtifactMeta,
    pub code_offset: usize,
    pub code_len: usize,
    pub wasm_hash: u128,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Whether `bytes` start like an artifact.
pub fn is_artifact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Checks an artifact against the running compiler's fingerprint and reads its metadata.
pub fn parse(bytes: &[u8], fingerprint: &str) -> Result<Parsed, ArtifactError> {
    if bytes.len() < 8 || &bytes[0..8] != MAGIC {
        return Err(ArtifactError::NotAnArtifact);
    }
    if bytes.len() < HEADER_SIZE {
        return Err(ArtifactError::Truncated);
    }
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
    if u64_at(bytes, 32) != fingerprint_hash(fingerprint) {
        return Err(ArtifactError::Fingerprint);
    }
    let (meta_off, meta_len) = (u64_at(bytes, 56) as usize, u64_at(bytes, 64) as usize);
    let (code_off, code_len) = (u64_at(bytes, 72) as usize, u64_at(bytes, 80) as usize);
    let end = code_off
        .checked_add(code_len)
        .ok_or(ArtifactError::Truncated)?;
    if end != bytes.len()
        || meta_off < HEADER_SIZE
        || meta_off.checked_add(meta_len).is_none_or(|m| m > code_off)
    {
        return Err(ArtifactError::Truncated);
    }
    let sum = u128::from_le_bytes(bytes[88..104].try_into().expect("16 bytes"));
    if checksum(&bytes[meta_off..meta_off + meta_len], &bytes[code_off..]) != sum {
        return Err(ArtifactError::Checksum);
    }
    let meta: ArtifactMeta = postcard::from_bytes(&bytes[meta_off..meta_off + meta_len])
        .map_err(|e| ArtifactError::Metadata(e.to_string()))?;
    meta.tables
        .check()
        .map_err(|table| ArtifactError::Metadata(table.into()))?;
    if meta.fingerprint != fingerprint {
        return Err(ArtifactError::Fingerprint);
    }
    Ok(Parsed {
        meta,
        code_offset: code_off,
        code_len,
        wasm_hash: u128::from_le_bytes(bytes[40..56].try_into().expect("16 bytes")),
    })
}
