//! Linear memories. A 32-bit memory reserves its whole addressable range plus
//! a guard region up front, so generated code needs no bounds checks and the
//! base address never moves; `grow` only opens more pages. A 64-bit memory,
//! whose accesses are bounds-checked, reserves up to its maximum (at most
//! the engine's page limit), so its base never moves either.

use super::mmap::{Mmap, page_size};
use super::vm::VMMemoryDefinition;
use nyash_aot::module::MemoryType;
use nyash_aot::vmoffsets::WASM_PAGE_SIZE;

/// Address space reserved per 32-bit memory: any u32 index plus u32 offset
/// plus access size lands inside it.
pub const RESERVATION: usize = (8 << 30) + (64 << 10);

/// The largest 32-bit memory, in pages.
pub const MAX_PAGES_32: u64 = 65536;

/// The largest 64-bit memory, in pages (2^64 bytes).
pub const MAX_PAGES_64: u64 = 1 << 48;

#[derive(Debug)]
pub struct LinearMemory {
    mmap: Mmap,
    /// Boxed so its address is stable: VMContexts point at it.
    def: Box<VMMemoryDefinition>,
    pages: u64,
    max_pages: u64,
    pub ty: MemoryType,
}

impl LinearMemory {
    /// `limit_pages` is the engine's configured ceiling for any memory.
    pub fn new(ty: MemoryType, limit_pages: u64) -> Result<Self, String> {
        if ty.shared {
            return Err("shared memories are not supported yet".into());
        }
        let max_pages = ty
            .limits
            .max
            .unwrap_or(u64::MAX)
            .min(if ty.memory64 {
                MAX_PAGES_64
            } else {
                MAX_PAGES_32
            })
            .min(limit_pages);
        if ty.limits.min > max_pages {
            return Err(format!(
                "memory minimum of {} pages exceeds the limit of {max_pages} pages",
                ty.limits.min
            ));
        }
        let reservation = if ty.memory64 {
            usize::try_from(max_pages * WASM_PAGE_SIZE)
                .map_err(|_| "a memory's maximum exceeds the address space".to_string())?
        } else {
            RESERVATION
        };
        let mmap = Mmap::reserve(reservation)
            .map_err(|e| format!("cannot reserve address space for a memory: {e}"))?;
        let bytes = (ty.limits.min * WASM_PAGE_SIZE) as usize;
        mmap.make_accessible(0, bytes)
            .map_err(|e| format!("cannot commit memory: {e}"))?;
        let def = Box::new(VMMemoryDefinition {
            base: mmap.as_ptr(),
            current_length: bytes,
        });
        debug_assert!(page_size() as u64 <= WASM_PAGE_SIZE);
        Ok(LinearMemory {
            mmap,
            def,
            pages: ty.limits.min,
            max_pages,
            ty,
        })
    }

    pub fn definition(&mut self) -> *mut VMMemoryDefinition {
        &mut *self.def
    }

    pub fn pages(&self) -> u64 {
        self.pages
    }

    pub fn byte_len(&self) -> usize {
        self.def.current_length
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` if the
    /// memory cannot grow that far.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages;
        let new = old.checked_add(delta)?;
        if new > self.max_pages {
            return None;
        }
        let old_bytes = (old * WASM_PAGE_SIZE) as usize;
        let delta_bytes = (delta * WASM_PAGE_SIZE) as usize;
        self.mmap.make_accessible(old_bytes, delta_bytes).ok()?;
        self.pages = new;
        self.def.current_length = old_bytes + delta_bytes;
        Some(old)
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: the first current_length bytes are mapped read-write and
        // owned by this memory.
        unsafe { std::slice::from_raw_parts(self.mmap.as_ptr(), self.def.current_length) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.mmap.as_ptr(), self.def.current_length) }
    }
}

// SAFETY: the definition's base points into `mmap`, owned by this value.
unsafe impl Send for LinearMemory {}
// SAFETY: as for Send: shared access only reads the mapping.
unsafe impl Sync for LinearMemory {}
