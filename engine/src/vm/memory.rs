//! Linear memories. A memory of 64 KiB pages reserves a 32-bit index's
//! whole addressable range plus a guard region up front, so generated code
//! needs no bounds checks (a 64-bit one: only a check that its index fits in
//! 32 bits, since no memory exceeds 4 GiB) and the base address never
//! moves; `grow` only opens more pages. A memory of 1-byte pages (custom
//! page sizes), whose accesses are bounds-checked as its end need not be on
//! an OS page boundary, reserves up to its maximum, so its base never moves
//! either.
//!
//! Reservations of 64 KiB-page memories come from the engine's
//! [`MemoryPool`] when it has one idle, and go back to it when the memory
//! is dropped (with its store): reserving, protecting and unmapping 8 GiB
//! of address space per instantiation is what instantiation cost before
//! (RATIONALE.md, "Why a pool of linear memories").

use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::memory_image::MemoryImage;
use super::mmap::{Mmap, page_size};
use super::vmcontext::VMMemoryDefinition;
use nyash_aot::module::MemoryType;
use nyash_aot::vmoffsets::{MAX_MEMORY_BYTES, WASM_PAGE_SIZE};

/// Address space reserved per 32-bit memory: any u32 index plus u32 offset
/// plus access size lands inside it.
pub const RESERVATION: usize = (8 << 30) + (64 << 10);

/// An engine's idle linear-memory reservations (each [`RESERVATION`]
/// bytes), at most `capacity` of them. An idle reservation reads as zeros
/// everywhere, is readable and writable on `[0, accessible)` and
/// inaccessible past it; a memory dropped by its store is reset to that
/// state (its first [`KEEP_RESIDENT`] bytes zeroed in place, the rest
/// given back to the kernel with [`Mmap::discard`]) before it is put here,
/// so nothing of the old store's contents survives into the next memory
/// made from it.
#[derive(Debug)]
pub struct MemoryPool {
    idle: Mutex<Vec<Idle>>,
    capacity: usize,
}

/// A dropped memory larger than this is unmapped rather than pooled: the
/// kernel keeps the page tables of a discarded range (4 KiB per 2 MiB
/// touched), so a pooled 4 GiB memory would hold 8 MiB of them while idle,
/// and one `munmap` is small next to filling that much memory.
const MAX_POOLED_ACCESSIBLE: usize = 256 << 20;

/// The first bytes of a dropped memory are zeroed in place (and stay
/// resident) rather than given back to the kernel: the start of a memory is
/// what nearly every instance touches (data segments, a C program's stack),
/// and zeroing 64 KiB that are in the cache costs less than the
/// `madvise` and the page faults of the next instance touching them again
/// (an instantiation of a 1-page memory with a data segment: 5.6 µs
/// discarding everything, 1.2 µs keeping 64 KiB; RATIONALE.md). An idle
/// reservation holds at most this much memory.
const KEEP_RESIDENT: usize = 64 << 10;

#[derive(Debug)]
struct Idle {
    mmap: Mmap,
    /// Bytes readable and writable from the start (whole OS pages).
    accessible: usize,
}

impl MemoryPool {
    /// A pool keeping at most `capacity` idle reservations (0: none, every
    /// memory is reserved and unmapped on its own).
    pub fn new(capacity: usize) -> MemoryPool {
        MemoryPool {
            idle: Mutex::new(Vec::new()),
            capacity,
        }
    }

    /// How many reservations are idle now.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // A panic while the lock was held left the list consistent (a push
        // or a pop), so a poisoned lock is still usable.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reservation with `[0, bytes)` accessible and zeroed and the rest
    /// inaccessible: an idle one if there is one, else a new one.
    fn take(&self, bytes: usize) -> std::io::Result<Mmap> {
        let idle = self.lock().pop();
        if let Some(Idle { mmap, accessible }) = idle {
            // Only the difference between the old and the new accessible
            // range changes protection.
            let r = if accessible > bytes {
                mmap.make_inaccessible(bytes, accessible - bytes)
            } else {
                mmap.make_accessible(accessible, bytes - accessible)
            };
            if r.is_ok() {
                return Ok(mmap);
            }
            // The reservation is dropped (unmapped); a new one follows.
        }
        let mmap = Mmap::reserve(RESERVATION)?;
        mmap.make_accessible(0, bytes)?;
        Ok(mmap)
    }

    /// Takes back the reservation of a dropped memory whose first
    /// `accessible` bytes were readable and writable, with a memory image
    /// mapped over `image` if it had one: zeroes it and keeps it if there
    /// is room, else unmaps it.
    fn give(&self, mmap: Mmap, accessible: usize, image: Option<Range<usize>>) {
        debug_assert_eq!(mmap.len(), RESERVATION);
        if self.capacity == 0
            || accessible > MAX_POOLED_ACCESSIBLE
            || self.lock().len() >= self.capacity
        {
            return;
        }
        // Outside the lock: zeroing and discarding take time.
        let keep = accessible.min(KEEP_RESIDENT);
        // The image's pages go back to fresh zero pages (discarding a
        // private file mapping would bring back the file's contents); they
        // are not resident after that, so they are not zeroed in place.
        let image = image.unwrap_or(0..0);
        if mmap.replace_with_zeros(image.start, image.len()).is_err() {
            return;
        }
        for zero in [0..keep.min(image.start), image.end.min(keep)..keep] {
            // SAFETY: `zero` lies in `[0, keep)`, inside the reservation's
            // accessible range (`accessible <= mmap.len()`, whole OS pages),
            // and nothing refers to it any more (the memory that owned it
            // is being dropped).
            unsafe { std::ptr::write_bytes(mmap.as_ptr().add(zero.start), 0, zero.len()) };
        }
        if mmap.discard(keep, accessible - keep).is_err() {
            return;
        }
        let mut idle = self.lock();
        if idle.len() < self.capacity {
            idle.push(Idle { mmap, accessible });
        }
    }
}

#[derive(Debug)]
pub struct LinearMemory {
    mmap: Mmap,
    /// Where the reservation goes when the memory is dropped: the engine's
    /// pool, for a memory of 64 KiB pages whose reservation came from it.
    pool: Option<Arc<MemoryPool>>,
    /// Where a memory image is mapped ([`LinearMemory::map_image`]).
    image: Option<Range<usize>>,
    /// Whether the reservation may have a hole (a failed fixed mapping):
    /// then it is neither reused nor unmapped.
    leak: bool,
    /// Boxed so its address is stable: VMContexts point at it.
    def: Box<VMMemoryDefinition>,
    pages: u64,
    max_pages: u64,
    pub ty: MemoryType,
}

impl LinearMemory {
    /// `limit_pages` is the engine's configured ceiling for any memory, in
    /// 64 KiB pages (for a memory of smaller pages, the same number of bytes);
    /// `pool` the engine's pool of reservations (used for memories of
    /// 64 KiB pages).
    pub fn new(
        ty: MemoryType,
        limit_pages: u64,
        pool: Option<&Arc<MemoryPool>>,
    ) -> Result<Self, String> {
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
        let bytes = (ty.limits.min * page) as usize;
        let (mmap, pool) = if ty.page_size_log2() == 16 {
            match pool {
                Some(pool) => (
                    pool.take(os_pages(bytes))
                        .map_err(|e| format!("cannot reserve address space for a memory: {e}"))?,
                    Some(pool.clone()),
                ),
                None => (reserve(RESERVATION, bytes)?, None),
            }
        } else {
            let reservation = max_pages
                .checked_mul(page)
                .and_then(|r| usize::try_from(r).ok())
                .and_then(|r| r.checked_next_multiple_of(page_size()))
                .ok_or("a memory's maximum exceeds the address space")?;
            (reserve(reservation, bytes)?, None)
        };
        let def = Box::new(VMMemoryDefinition {
            base: mmap.as_ptr(),
            current_length: bytes,
        });
        debug_assert!(page_size() as u64 <= WASM_PAGE_SIZE);
        Ok(LinearMemory {
            mmap,
            pool,
            image: None,
            leak: false,
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

    /// Maps `image` over its span of this fresh (all-zero) memory instead
    /// of copying the data segments it holds there.
    pub fn map_image(&mut self, image: &MemoryImage) -> Result<(), String> {
        let end = image.start.checked_add(image.len);
        if self.image.is_some() || end.is_none_or(|end| end > self.def.current_length) {
            return Err("a memory image that does not fit its memory".into());
        }
        if let Err(e) = self
            .mmap
            .map_file_private(image.start, image.len, image.fd())
        {
            // A failed MAP_FIXED may leave the span unmapped, a hole
            // another mapping of the process could then take. Fill it with
            // zero pages again; if even that fails, never reuse or unmap the
            // reservation (unmapping it could take the other mapping with
            // it): it is leaked when the memory is dropped.
            self.pool = None;
            if self
                .mmap
                .replace_with_zeros(image.start, image.len)
                .is_err()
            {
                self.leak = true;
            }
            return Err(format!("cannot map the memory's initial image: {e}"));
        }
        self.image = Some(image.start..image.start + image.len);
        Ok(())
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

impl Drop for LinearMemory {
    fn drop(&mut self) {
        if self.leak {
            std::mem::forget(std::mem::replace(&mut self.mmap, Mmap::empty()));
            return;
        }
        if let Some(pool) = self.pool.take() {
            // The store that owned the memory is going away with it: no
            // VMContext, definition or borrow refers to the reservation any
            // more, so it can serve another store's memory.
            let mmap = std::mem::replace(&mut self.mmap, Mmap::empty());
            pool.give(mmap, os_pages(self.def.current_length), self.image.take());
        }
    }
}

/// A new reservation of `len` bytes whose first `bytes` (rounded up to OS
/// pages) are accessible.
fn reserve(len: usize, bytes: usize) -> Result<Mmap, String> {
    let mmap = Mmap::reserve(len)
        .map_err(|e| format!("cannot reserve address space for a memory: {e}"))?;
    mmap.make_accessible(0, os_pages(bytes))
        .map_err(|e| format!("cannot commit memory: {e}"))?;
    Ok(mmap)
}

// SAFETY: the definition's base points into `mmap`, owned by this value.
unsafe impl Send for LinearMemory {}
// SAFETY: as for Send: shared access only reads the mapping.
unsafe impl Sync for LinearMemory {}

/// `bytes` rounded up to whole OS pages.
fn os_pages(bytes: usize) -> usize {
    bytes.next_multiple_of(page_size())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nyash_aot::module::Limits;

    fn ty(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            limits: Limits { min, max },
            memory64: false,
            shared: false,
            page_size_log2: None,
        }
    }

    const LIMIT: u64 = 65536;

    #[test]
    fn a_dropped_memory_is_reused_zeroed() {
        let pool = Arc::new(MemoryPool::new(4));
        let mut m = LinearMemory::new(ty(1, None), LIMIT, Some(&pool)).unwrap();
        assert_eq!(m.grow(3), Some(1));
        m.data_mut().fill(0x5a);
        let base = m.data().as_ptr();
        drop(m);
        assert_eq!(pool.idle(), 1);
        let mut m = LinearMemory::new(ty(2, Some(5)), LIMIT, Some(&pool)).unwrap();
        assert_eq!(pool.idle(), 0);
        assert_eq!(m.data().as_ptr(), base, "the idle reservation was reused");
        assert_eq!(m.byte_len(), 2 << 16);
        assert!(m.data().iter().all(|&b| b == 0));
        assert_eq!(m.grow(4), None, "the new maximum holds");
        assert_eq!(m.grow(3), Some(2));
        assert!(m.data().iter().all(|&b| b == 0));
    }

    #[test]
    fn the_pool_keeps_at_most_its_capacity() {
        let pool = Arc::new(MemoryPool::new(2));
        let ms: Vec<_> = (0..4)
            .map(|_| LinearMemory::new(ty(1, None), LIMIT, Some(&pool)).unwrap())
            .collect();
        drop(ms);
        assert_eq!(pool.idle(), 2);
        // One too large to keep is unmapped.
        let big = (MAX_POOLED_ACCESSIBLE as u64 >> 16) + 1;
        let ms: Vec<_> = (0..2)
            .map(|_| LinearMemory::new(ty(big, None), LIMIT, Some(&pool)).unwrap())
            .collect();
        assert_eq!(pool.idle(), 0);
        drop(ms);
        assert_eq!(pool.idle(), 0);
        // A pool of capacity 0 keeps nothing.
        let none = Arc::new(MemoryPool::new(0));
        drop(LinearMemory::new(ty(1, None), LIMIT, Some(&none)).unwrap());
        assert_eq!(none.idle(), 0);
    }

    #[test]
    fn memories_of_one_byte_pages_are_not_pooled() {
        let pool = Arc::new(MemoryPool::new(2));
        let small = MemoryType {
            page_size_log2: Some(0),
            ..ty(100, Some(1000))
        };
        drop(LinearMemory::new(small, LIMIT, Some(&pool)).unwrap());
        assert_eq!(pool.idle(), 0);
    }
}
