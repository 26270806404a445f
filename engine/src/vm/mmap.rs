//! Reserved address space with an accessible prefix: the backing of linear
//! memories (and of loaded code).

use std::io;
use std::ptr;

/// A `mmap`ed region, `PROT_NONE` except for what `make_accessible` opened.
#[derive(Debug)]
pub struct Mmap {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the region is plain memory owned by this value; synchronisation of
// its contents is the owner's business, as for a Vec<u8>.
unsafe impl Send for Mmap {}
// SAFETY: as for Send: `&Mmap` gives no access to the contents.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// An empty region (nothing mapped, nothing to unmap).
    pub const fn empty() -> Mmap {
        Mmap {
            ptr: ptr::NonNull::dangling().as_ptr(),
            len: 0,
        }
    }

    /// Reserves `len` bytes of inaccessible address space.
    pub fn reserve(len: usize) -> io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap::empty());
        }
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap {
            ptr: ptr.cast(),
            len,
        })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Makes `[start, start + len)` readable and writable (zero-filled if new).
    pub fn make_accessible(&self, start: usize, len: usize) -> io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above).
        let r = unsafe {
            libc::mprotect(
                self.ptr.add(start).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The reservation's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Makes `[start, start + len)` inaccessible again (`PROT_NONE`): the
    /// pages past a reused memory's new end, so accesses there fault as
    /// in a fresh reservation.
    pub fn make_inaccessible(&self, start: usize, len: usize) -> io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above);
        // its owner no longer hands out references into it.
        let r = unsafe { libc::mprotect(self.ptr.add(start).cast(), len, libc::PROT_NONE) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Gives the pages of `[start, start + len)` back to the kernel
    /// (`MADV_DONTNEED`): a private anonymous mapping reads as zeros
    /// afterwards, and the next touch of a page faults in a zeroed one.
    /// The protection and the reservation stay as they are.
    pub fn discard(&self, start: usize, len: usize) -> io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above);
        // its owner no longer hands out references into it, so replacing
        // the contents with zeros breaks no borrow.
        let r = unsafe { libc::madvise(self.ptr.add(start).cast(), len, libc::MADV_DONTNEED) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Maps the first `len` bytes of file `fd` over `[start, start + len)`,
    /// readable, writable and private (copy-on-write: writes never reach the
    /// file). `start` and `len` must be page-aligned. On failure the range
    /// may be left unmapped (a hole in the reservation), so the caller must
    /// not reuse the reservation.
    pub fn map_file_private(&self, start: usize, len: usize, fd: libc::c_int) -> io::Result<()> {
        self.map_fixed(start, len, libc::MAP_PRIVATE, fd)
    }

    /// Replaces `[start, start + len)` with fresh zero pages, readable and
    /// writable, not backed by any file (undoing [`Mmap::map_file_private`]).
    /// The same failure caveat applies.
    pub fn replace_with_zeros(&self, start: usize, len: usize) -> io::Result<()> {
        self.map_fixed(
            start,
            len,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
        )
    }

    fn map_fixed(
        &self,
        start: usize,
        len: usize,
        flags: libc::c_int,
        fd: libc::c_int,
    ) -> io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        if !start.is_multiple_of(page_size()) || !len.is_multiple_of(page_size()) {
            return Err(io::Error::other("an unaligned fixed mapping"));
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the range lies inside our own mapping (asserted above),
        // so MAP_FIXED replaces only pages we own; their owner hands out no
        // references into them across this call.
        let p = unsafe {
            libc::mmap(
                self.ptr.add(start).cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags | libc::MAP_FIXED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Copies `code` to `start` (page-aligned, in pages nothing runs in)
    /// and makes the pages it covers readable and executable: writable
    /// first, executable after, never both.
    pub fn write_code(&self, start: usize, code: &[u8]) -> io::Result<()> {
        let len = code.len().max(1).next_multiple_of(page_size());
        if !start.is_multiple_of(page_size()) || start.checked_add(len).is_none_or(|e| e > self.len)
        {
            return Err(io::Error::other("code outside its mapping"));
        }
        self.make_accessible(start, len)?;
        // SAFETY: `[start, start + len)` lies inside our mapping (checked
        // above) and is writable; `len >= code.len()`.
        unsafe { ptr::copy_nonoverlapping(code.as_ptr(), self.ptr.add(start), code.len()) };
        self.make_executable(start, len)
    }

    /// Makes `[start, start + len)` readable and executable.
    pub fn make_executable(&self, start: usize, len: usize) -> io::Result<()> {
        assert!(start.checked_add(len).is_some_and(|end| end <= self.len));
        // SAFETY: the range lies inside our own mapping (asserted above).
        let r = unsafe {
            libc::mprotect(
                self.ptr.add(start).cast(),
                len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: we own the mapping and nothing refers to it any more.
            unsafe {
                libc::munmap(self.ptr.cast(), self.len);
            }
        }
    }
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}
