//! The crate's one error type.

use std::fmt;

/// Why a heap operation failed.
#[derive(Debug)]
pub enum GcError {
    /// The allocation does not fit under the heap limit even after a full
    /// collection. The heap is intact and usable: drop roots and retry.
    OutOfMemory {
        /// Bytes asked for.
        requested: u64,
        /// Bytes of live old-space data after the full collection.
        live_bytes: u64,
        /// The configured limit on the old space.
        limit_bytes: u64,
    },
    /// The heap's contents (or a root, or the inline allocation pointer)
    /// are inconsistent: a code generation or collector bug. The heap is
    /// poisoned: every later operation fails with this error too.
    HeapCorrupt {
        /// Heap offset where the inconsistency was found.
        offset: u32,
        /// What was wrong.
        what: &'static str,
    },
    /// A type id, layout or header that the type table rejects (an engine
    /// error, not heap corruption).
    InvalidType {
        /// The type id concerned.
        type_id: u32,
        /// What was wrong.
        why: &'static str,
    },
    /// A field access through the host API that does not fit the object.
    BadAccess {
        /// The object reference.
        object: u32,
        /// The field offset.
        offset: u32,
        /// What was wrong.
        why: &'static str,
    },
    /// A configuration value out of range.
    BadConfig(&'static str),
    /// Reserving or protecting address space failed.
    Os(std::io::Error),
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::OutOfMemory {
                requested,
                live_bytes,
                limit_bytes,
            } => write!(
                f,
                "GC heap out of memory: {requested} bytes requested, {live_bytes} live, limit {limit_bytes}"
            ),
            GcError::HeapCorrupt { offset, what } => {
                write!(f, "GC heap corrupt at offset {offset:#x}: {what}")
            }
            GcError::InvalidType { type_id, why } => write!(f, "GC type {type_id}: {why}"),
            GcError::BadAccess {
                object,
                offset,
                why,
            } => write!(f, "GC object {object:#x} field {offset}: {why}"),
            GcError::BadConfig(why) => write!(f, "GC configuration: {why}"),
            GcError::Os(e) => write!(f, "GC heap memory: {e}"),
        }
    }
}

impl std::error::Error for GcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GcError::Os(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for GcError {
    fn from(e: std::io::Error) -> GcError {
        GcError::Os(e)
    }
}

impl GcError {
    pub(crate) fn corrupt(offset: u32, what: &'static str) -> GcError {
        GcError::HeapCorrupt { offset, what }
    }

    /// A copy for the poisoned heap to repeat (`io::Error` is not `Clone`).
    pub(crate) fn duplicate(&self) -> GcError {
        match self {
            GcError::HeapCorrupt { offset, what } => GcError::HeapCorrupt {
                offset: *offset,
                what,
            },
            _ => GcError::HeapCorrupt {
                offset: 0,
                what: "heap poisoned by an earlier failure",
            },
        }
    }
}
