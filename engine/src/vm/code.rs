//! Executable code images: a module's compiled code, mapped read-execute and
//! registered so the trap handler can recognise its program counters.

use std::sync::Arc;

use nyash_aot::image::{CompiledFunction, ImageTables};

use super::mmap::{Mmap, page_size};

/// Where one image is, and its tables (functions, traps, the exception
/// handlers of its `try_call` sites, the stack maps of its call sites),
/// shared with the trap handler, the unwinder and the collector's stack
/// walk. Derefs to the tables.
#[derive(Debug)]
pub struct CodeTables {
    pub start: usize,
    pub len: usize,
    pub image: ImageTables,
}

impl std::ops::Deref for CodeTables {
    type Target = ImageTables;

    fn deref(&self) -> &ImageTables {
        &self.image
    }
}

impl CodeTables {
    fn offset(&self, pc: usize) -> Option<u32> {
        pc.checked_sub(self.start)
            .filter(|o| *o < self.len)
            .map(|o| o as u32)
    }

    /// The defined function index whose body contains `pc`.
    pub fn func_index_at(&self, pc: usize) -> Option<u32> {
        let f = self.image.function_at(self.offset(pc)?)?;
        (f.func_index != CompiledFunction::TRAMPOLINE).then_some(f.func_index)
    }
}

impl nyash_asyncify::CodeInfo for CodeTables {
    fn trap_code(&self, pc: usize) -> Option<u8> {
        self.image.trap_at(self.offset(pc)?)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn is_wasm_function(&self, pc: usize) -> bool {
        // Trampolines count too: a host function's failure traps inside its
        // trampoline, and the walk up the frames must go on through them.
        self.offset(pc).is_some()
    }
}

/// What holds a code image's pages (held only so dropping it unmaps them).
#[derive(Debug)]
#[allow(dead_code)]
enum Backing {
    /// Anonymous memory the code was copied into.
    Anonymous(Mmap),
    /// A private mapping of an artifact file; the code is used in place.
    File(memmap2::Mmap),
}

/// A code image mapped executable. Unregistered and unmapped on drop.
#[derive(Debug)]
pub struct CodeMemory {
    _backing: Backing,
    base: *const u8,
    pub tables: Arc<CodeTables>,
    /// For a lazy image ([`CodeMemory::lazy`]): the bytes reserved for it,
    /// whose code was registered piece by piece; 0 otherwise.
    reserved: usize,
}

// SAFETY: the image is immutable once mapped executable; a lazy image's
// later pieces are written only before they are made executable.
unsafe impl Send for CodeMemory {}
// SAFETY: as for Send: nothing writes to the image once it is shared.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    pub fn new(code: &[u8], tables: ImageTables) -> std::io::Result<Self> {
        let mmap = Mmap::reserve(code.len().max(1).next_multiple_of(page_size()))?;
        mmap.write_code(0, code)?;
        let base = mmap.as_ptr() as *const u8;
        Ok(Self::register(
            Backing::Anonymous(mmap),
            base,
            code.len(),
            tables,
        ))
    }

    /// Whether code at `offset` of a file mapping can be used in place: it
    /// must start on a page of this host (artifacts align code to 16 KiB,
    /// so a host with 64 KiB pages cannot map it in place).
    pub fn can_map_in_place(offset: usize) -> bool {
        offset.is_multiple_of(page_size())
    }

    /// Uses the code at `[offset, offset + len)` of a private file mapping in
    /// place: those pages become read-execute. An error if `offset` is not
    /// page-aligned (see [`can_map_in_place`](Self::can_map_in_place)) or
    /// the range is not inside the mapping.
    pub fn from_file_map(
        map: memmap2::Mmap,
        offset: usize,
        len: usize,
        tables: ImageTables,
    ) -> std::io::Result<Self> {
        if !Self::can_map_in_place(offset) {
            return Err(std::io::Error::other(format!(
                "code at file offset {offset:#x} does not start on a page of this host \
                 ({} bytes per page)",
                page_size()
            )));
        }
        if offset.checked_add(len).is_none_or(|end| end > map.len()) {
            return Err(std::io::Error::other(format!(
                "code range {offset:#x}+{len:#x} is outside the {:#x}-byte mapping",
                map.len()
            )));
        }
        // SAFETY: the pages lie inside our private mapping.
        let base = unsafe { map.as_ptr().add(offset) };
        if len > 0 {
            // SAFETY: as above; nothing writes to these pages afterwards.
            let r = unsafe {
                libc::mprotect(
                    base as *mut libc::c_void,
                    len.next_multiple_of(page_size()).min(map.len() - offset),
                    libc::PROT_READ | libc::PROT_EXEC,
                )
            };
            if r != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(Self::register(Backing::File(map), base, len, tables))
    }

    fn register(backing: Backing, base: *const u8, len: usize, tables: ImageTables) -> Self {
        let tables = Arc::new(CodeTables {
            start: base as usize,
            len,
            image: tables,
        });
        // An empty image has no code to find; registering it (even as one
        // byte) would claim the first byte of whatever is mapped next,
        // another module's code, and hide that module's traps.
        if len > 0 {
            nyash_asyncify::register_code(tables.start, tables.start + len, tables.clone());
        }
        CodeMemory {
            _backing: backing,
            base,
            tables,
            reserved: 0,
        }
    }

    /// A lazy image (`nyash_aot::lazy`): `reserve` bytes of address space
    /// whose first bytes, `code`, are mapped read-execute and registered,
    /// and whose `[layout.data, layout.area)` is read-write (the slots);
    /// functions compiled later are [`place`](Self::place)d from `area` on.
    pub fn lazy(
        code: &[u8],
        layout: &nyash_aot::lazy::LazyLayout,
        reserve: usize,
        tables: ImageTables,
    ) -> std::io::Result<Self> {
        let (data, area) = (layout.data as usize, layout.area as usize);
        let page = page_size();
        let code_pages = code.len().max(1).next_multiple_of(page);
        if code_pages > data || data > area || area > reserve || !data.is_multiple_of(page) {
            return Err(std::io::Error::other("lazy image layout does not fit"));
        }
        let mmap = Mmap::reserve(reserve)?;
        mmap.write_code(0, code)?;
        mmap.make_accessible(data, area - data)?;
        let base = mmap.as_ptr() as *const u8;
        let mut memory = Self::register(Backing::Anonymous(mmap), base, code.len(), tables);
        memory.reserved = reserve;
        Ok(memory)
    }

    /// The bytes reserved for a lazy image (0 for any other).
    pub fn reserved(&self) -> usize {
        self.reserved
    }

    /// Writes `code` at `offset` of a lazy image (page-aligned, in pages no
    /// code was placed in before, inside the reservation), makes those
    /// pages read-execute, and registers the code with its tables (offsets
    /// relative to `offset`) for the trap handler: one function compiled
    /// lazily, or a whole optimized image (tier-up).
    pub fn place(&self, offset: usize, code: &[u8], tables: ImageTables) -> std::io::Result<()> {
        let Backing::Anonymous(mmap) = &self._backing else {
            return Err(std::io::Error::other("not a lazy image"));
        };
        if self.reserved == 0 {
            return Err(std::io::Error::other("not a lazy image"));
        }
        // Callers place each range once, so no code runs there yet.
        mmap.write_code(offset, code)?;
        let start = self.base as usize + offset;
        let tables = Arc::new(CodeTables {
            start,
            len: code.len(),
            image: tables,
        });
        nyash_asyncify::register_code(start, start + code.len(), tables);
        Ok(())
    }

    pub fn base(&self) -> *const u8 {
        self.base
    }

    /// The code image's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the image is mapped readable for `len` bytes while we live.
        unsafe { std::slice::from_raw_parts(self.base, self.tables.len) }
    }

    /// Address of `offset` within the image.
    pub fn at(&self, offset: u32) -> *const u8 {
        // SAFETY: callers pass offsets from this image's own tables.
        unsafe { self.base.add(offset as usize) }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if self.reserved > 0 {
            let start = self.base as usize;
            nyash_asyncify::unregister_code_within(start, start + self.reserved);
        } else if self.tables.len > 0 {
            nyash_asyncify::unregister_code(self.tables.start, self.tables.start + self.tables.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_of(len: usize) -> memmap2::Mmap {
        let path = std::env::temp_dir().join(format!("nyash-code-map-{}", std::process::id()));
        std::fs::write(&path, vec![0xc3u8; len]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: a private read-only mapping of a file only this test writes.
        let map = unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) }.unwrap();
        std::fs::remove_file(&path).unwrap();
        map
    }

    #[test]
    fn code_off_a_page_boundary_or_outside_the_map_is_an_error() {
        let page = page_size();
        // Not on a page of this host: what an artifact's 16 KiB-aligned code
        // is on a host with 64 KiB pages.
        let e = CodeMemory::from_file_map(map_of(2 * page), page / 2, 16, ImageTables::default())
            .unwrap_err();
        assert!(e.to_string().contains("does not start on a page"), "{e}");
        assert!(!CodeMemory::can_map_in_place(page / 2));
        let e = CodeMemory::from_file_map(map_of(2 * page), page, 2 * page, ImageTables::default())
            .unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
        let e = CodeMemory::from_file_map(map_of(page), page, usize::MAX, ImageTables::default())
            .unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
        assert!(
            CodeMemory::from_file_map(map_of(2 * page), page, 16, ImageTables::default()).is_ok()
        );
    }
}
