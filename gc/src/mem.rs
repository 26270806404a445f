//! Address space: the heap reservation and the card table, and [`Mem`], the
//! only way the collector touches heap bytes.
//!
//! Every heap access takes a `u32` offset (and, for copies, a `u32` length),
//! so whatever value a corrupted heap supplies, the address formed is below
//! `base + 8 GiB`, inside the reservation: no collector bug or forged length
//! can make Rust code write outside it. Callers additionally check that the
//! offsets lie in committed, in-use ranges, so reading a forged reference is
//! an error, never a fault.

use std::io;
use std::ptr;

/// An anonymous `MAP_NORESERVE` mapping, released on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes with protection `prot`.
    pub(crate) fn new(len: usize, prot: libc::c_int) -> io::Result<Mapping> {
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    fn check(&self, start: usize, len: usize) {
        // Only reachable through the heap's own bookkeeping (page-aligned
        // ranges of the reservation), never from heap contents.
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
    }

    /// Makes `[start, start + len)` readable and writable.
    pub(crate) fn commit(&self, start: usize, len: usize) -> io::Result<()> {
        self.protect(start, len, libc::PROT_READ | libc::PROT_WRITE)
    }

    /// Gives `[start, start + len)` back to the OS (it reads as zeros if
    /// committed again) and makes it inaccessible.
    pub(crate) fn decommit(&self, start: usize, len: usize) -> io::Result<()> {
        self.check(start, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (checked above).
        let r = unsafe { libc::madvise(self.ptr.add(start).cast(), len, libc::MADV_DONTNEED) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        self.protect(start, len, libc::PROT_NONE)
    }

    fn protect(&self, start: usize, len: usize, prot: libc::c_int) -> io::Result<()> {
        self.check(start, len);
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (checked above).
        let r = unsafe { libc::mprotect(self.ptr.add(start).cast(), len, prot) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; the heap that handed out pointers into
        // it is being dropped.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// Offset-based view of the heap reservation (which is at least
/// `crate::vm::RESERVATION_BYTES` long).
///
/// Soundness argument for every method: an offset is a `u32` and a length a
/// `u32` (or a width of at most 8), so the bytes touched lie below
/// `base + 2^33 + 8`, inside the 8 GiB + 64 KiB reservation. Whether those
/// pages are committed is the callers' business: they check offsets against
/// the in-use ranges first (an uncommitted page would fault, not corrupt).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mem {
    base: *mut u8,
}

impl Mem {
    pub(crate) fn new(base: *mut u8) -> Mem {
        Mem { base }
    }

    #[inline(always)]
    fn at(self, off: u32) -> *mut u8 {
        self.base.wrapping_add(off as usize)
    }

    #[inline(always)]
    pub(crate) fn r32(self, off: u32) -> u32 {
        // SAFETY: see the type's documentation.
        unsafe { self.at(off).cast::<u32>().read_unaligned() }
    }

    #[inline(always)]
    pub(crate) fn w32(self, off: u32, v: u32) {
        // SAFETY: see the type's documentation.
        unsafe { self.at(off).cast::<u32>().write_unaligned(v) }
    }

    #[inline(always)]
    pub(crate) fn r8(self, off: u32) -> u8 {
        // SAFETY: see the type's documentation.
        unsafe { self.at(off).read() }
    }

    #[inline(always)]
    pub(crate) fn w8(self, off: u32, v: u8) {
        // SAFETY: see the type's documentation.
        unsafe { self.at(off).write(v) }
    }

    #[inline(always)]
    pub(crate) fn r64(self, off: u32) -> u64 {
        // SAFETY: see the type's documentation.
        unsafe { self.at(off).cast::<u64>().read_unaligned() }
    }

    #[inline(always)]
    pub(crate) fn w64(self, off: u32, v: u64) {
        // SAFETY: see the type's documentation.
        unsafe { self.at(off).cast::<u64>().write_unaligned(v) }
    }

    /// Copies `len` bytes from `from` to `to` (ranges may overlap).
    #[inline(always)]
    pub(crate) fn copy(self, from: u32, to: u32, len: u32) {
        // SAFETY: see the type's documentation.
        unsafe { ptr::copy(self.at(from), self.at(to), len as usize) }
    }

    /// Sets `len` bytes at `off` to `byte`.
    pub(crate) fn fill(self, off: u32, len: u32, byte: u8) {
        // SAFETY: see the type's documentation.
        unsafe { ptr::write_bytes(self.at(off), byte, len as usize) }
    }
}

/// The card table: one byte per card, indexed by `offset >> CARD_SHIFT`.
/// Its length is `CARD_TABLE_BYTES`, so any `u32 >> CARD_SHIFT` is in bounds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cards {
    base: *mut u8,
}

impl Cards {
    pub(crate) fn new(base: *mut u8) -> Cards {
        Cards { base }
    }

    #[inline(always)]
    pub(crate) fn mark(self, off: u32) {
        // SAFETY: `off >> CARD_SHIFT < CARD_TABLE_BYTES`, the table's length.
        unsafe { *self.base.add((off >> crate::vm::CARD_SHIFT) as usize) = 1 }
    }

    #[inline(always)]
    pub(crate) fn is_marked(self, off: u32) -> bool {
        // SAFETY: as in `mark`.
        unsafe { *self.base.add((off >> crate::vm::CARD_SHIFT) as usize) != 0 }
    }

    /// The cards covering offsets `[lo, hi)` (`lo <= hi`).
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> &mut [u8] {
        let first = (lo >> crate::vm::CARD_SHIFT) as usize;
        let last = (hi as u64).div_ceil(1 << crate::vm::CARD_SHIFT) as usize;
        // SAFETY: `first <= last <= 2^(32 - CARD_SHIFT)`, the table's length;
        // the collector is the only user of the table while it holds `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(first), last - first) }
    }
}
