//! Linear memories. A memory of 64 KiB pages reserves a 32-bit index's
//! whole addressable range plus a guard region up front, so generated code
//! needs no bounds checks (a 64-bit one: only a check that its index fits in
//! 32 bits, since no memory exceeds 4 GiB) and the base address never
//! moves; `grow` only opens more pages. A memory of 1-byte pages (custom
//! page sizes), whose accesses are bounds-checked as its end need not be on
//! an OS page boundary, reserves up to its maximum, so its base never moves
//! either.

use super::mmap::{Mmap, page_size};
use super::vmcontext::VMMemoryDefinition;
use nyash_aot::module::MemoryType;
use nyash_aot::vmoffsets::{MAX_MEMORY_BYTES, WASM_PAGE_SIZE};

/// Address space reserved per 32-bit memory: any u32 index plus u32 offset
/// plus access size lands inside it.
pub const RESERVATION: usize = (8 << 30) + (64 << 10);

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
    /// `limit_pages` is the engine's configured ceiling for any memory, in
    /// 64 KiB pages (for a memory of smaller pages, the same number of bytes).
    pub fn new(ty: MemoryType, limit_pages: u64) -> Result<Self, String> {
        if ty.shared {
            return Err("shared memories are not supported yet".into());
        }
        if !matches!(ty.page_size_log2, None | Some(0 | 16)) {
            return Err(format!(
                "a page size of 2^{} bytes (only 1 and 65536 are defined)",
                ty.page_size_log2()
            ));
        }
        let page = ty.page_size();
        let limit = limit_pages.saturating_mul(WASM_PAGE_SIZE) / page;
        let max_pages = ty
            .limits
            .max
            .unwrap_or(u64::MAX)
            .min(ty.max_pages())
            .min(limit);
        if ty.limits.min > max_pages {
            return Err(format!(
                "memory minimum of {} pages exceeds the limit of {max_pages} pages",
                ty.limits.min
            ));
        }
        // A memory of 64 KiB pages reserves all a 32-bit index and offset
        // can reach (a 64-bit one too: it never exceeds 4 GiB, and generated
        // code checks that its index fits in 32 bits); one of 1-byte pages
        // up to its maximum, whole OS pages.
        if max_pages.saturating_mul(page) > MAX_MEMORY_BYTES {
            return Err(format!(
                "a memory of {max_pages} pages exceeds the engine's limit of {MAX_MEMORY_BYTES} bytes"
            ));
        }
        let reservation = if ty.page_size_log2() == 16 {
            RESERVATION
        } else {
            max_pages
                .checked_mul(page)
                .and_then(|r| usize::try_from(r).ok())
                .and_then(|r| r.checked_next_multiple_of(page_size()))
                .ok_or("a memory's maximum exceeds the address space")?
        };
        let mmap = Mmap::reserve(reservation)
            .map_err(|e| format!("cannot reserve address space for a memory: {e}"))?;
        let bytes = (ty.limits.min * page) as usize;
        mmap.make_accessible(0, os_pages(bytes))
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
        let page = self.ty.page_size();
        let old_bytes = (old * page) as usize;
        let new_bytes = (new * page) as usize;
        // Open the OS pages the memory did not reach yet.
        let (from, to) = (os_pages(old_bytes), os_pages(new_bytes));
        self.mmap.make_accessible(from, to - from).ok()?;
        self.pages = new;
        self.def.current_length = new_bytes;
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

/// `bytes` rounded up to whole OS pages.
fn os_pages(bytes: usize) -> usize {
    bytes.next_multiple_of(page_size())
}
