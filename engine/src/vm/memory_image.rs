//! Copy-on-write images of a module's initial memory contents.
//!
//! A module whose active data segments all have constant offsets inside
//! its defined memories' initial sizes starts every instance with the same
//! bytes in those memories. For each such memory whose initialized span is
//! at least [`MIN_IMAGE_BYTES`], the span is written once (on the module's
//! first instantiation) to an anonymous in-memory file (`memfd`), and each
//! instance maps that file `MAP_PRIVATE` over the span instead of copying
//! the segments: pages it only reads are shared with every other instance,
//! a page it writes is copied on that first write, and nothing is copied
//! or faulted in at instantiation (RATIONALE.md, "Why copy-on-write memory
//! images, and only from 256 KiB?").
//!
//! Only when no data segment can trap: a segment of an imported memory
//! (whose size is known only at instantiation), an offset other than a
//! constant, or a segment past its memory's initial size makes the whole
//! module copy its segments as before, so the order in which segments
//! apply, and where a trap leaves them, stays WebAssembly's.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use nyash_aot::module::{ConstOp, DataMode, ModuleEnv};
use nyash_aot::vmoffsets::WASM_PAGE_SIZE;

use super::mmap::page_size;

/// A memory's initialized span smaller than this is copied. Mapping the
/// image makes instantiation independent of the data's size, but each page
/// an instance then reads costs a fault and each page it writes a fault and
/// a copy; copying a small span into the pages the memory pool keeps
/// resident is cheaper. With a 128 KiB segment an instance reading every
/// page paid 75 µs mapped against 109 µs copied, but one writing every page
/// 216 against 104; from 256 KiB on, reading was 2.7x faster mapped and
/// writing everything at most 1.5x slower (RATIONALE.md).
pub const MIN_IMAGE_BYTES: usize = 256 << 10;

/// The initial contents of `[start, start + len)` of one memory (whole OS
/// pages), in a file mapped into each new instance's memory.
#[derive(Debug)]
pub struct MemoryImage {
    file: File,
    /// Offset in the memory, a multiple of the OS page size.
    pub start: usize,
    /// Length, a multiple of the OS page size, at least 1 page.
    pub len: usize,
}

impl MemoryImage {
    /// The file descriptor to map.
    pub fn fd(&self) -> libc::c_int {
        self.file.as_raw_fd()
    }
}

/// The image of each of `env`'s memories (in the module's memory index
/// space; `None` for imported ones and those whose segments are copied).
/// All `None` unless every active data segment of the module qualifies
/// (see the module documentation), or if making a file fails.
pub fn images_of(env: &ModuleEnv) -> Box<[Option<Arc<MemoryImage>>]> {
    let none = || vec![None; env.memories.len()].into_boxed_slice();
    // Per memory: (offset, byte range in `data_bytes`) of each non-empty
    // active segment, in order.
    let mut segments: Vec<Vec<(usize, std::ops::Range<usize>)>> =
        vec![Vec::new(); env.memories.len()];
    for seg in &env.datas {
        let DataMode::Active { memory, offset } = &seg.mode else {
            continue;
        };
        if env.is_imported_memory(*memory) {
            return none();
        }
        let Some(ty) = env.memories.get(*memory as usize) else {
            return none();
        };
        if ty.shared || ty.page_size_log2() != 16 {
            return none();
        }
        let offset = match (offset.0.as_slice(), ty.memory64) {
            ([ConstOp::I32Const(v)], false) => u64::from(*v as u32),
            ([ConstOp::I64Const(v)], true) => *v as u64,
            _ => return none(),
        };
        let initial = ty.limits.min.checked_mul(WASM_PAGE_SIZE);
        let end = offset.checked_add(seg.range.len() as u64);
        match (initial, end) {
            (Some(initial), Some(end)) if end <= initial => {}
            _ => return none(),
        }
        if !seg.range.is_empty() {
            // Below the initial size, which fits the address space.
            segments[*memory as usize].push((offset as usize, seg.range.clone()));
        }
    }
    let page = page_size();
    segments
        .iter()
        .map(|segs| {
            let start = segs.iter().map(|(o, _)| *o).min()? / page * page;
            let end = segs
                .iter()
                .map(|(o, r)| o + r.len())
                .max()?
                .next_multiple_of(page);
            if end - start < MIN_IMAGE_BYTES {
                return None;
            }
            image(start, end - start, segs, &env.data_bytes)
                .ok()
                .map(Arc::new)
        })
        .collect()
}

/// A sealed-size memfd of `len` bytes holding `segments` (applied in
/// order, so a later one overwrites an earlier one where they overlap),
/// each at its offset minus `start`.
fn image(
    start: usize,
    len: usize,
    segments: &[(usize, std::ops::Range<usize>)],
    data: &[u8],
) -> std::io::Result<MemoryImage> {
    // SAFETY: a new anonymous file; the name is a NUL-terminated literal.
    let fd = unsafe {
        libc::memfd_create(
            c"nyash-memory-image".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(len as u64)?;
    for (offset, range) in segments {
        let bytes = data
            .get(range.clone())
            .ok_or_else(|| std::io::Error::other("a data segment outside the module's data"))?;
        file.write_all_at(bytes, (offset - start) as u64)?;
    }
    // The size can no longer change: a mapping of it never meets a page
    // past the file's end (SIGBUS).
    // SAFETY: fcntl on our own descriptor.
    let r = unsafe {
        libc::fcntl(
            file.as_raw_fd(),
            libc::F_ADD_SEALS,
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(MemoryImage { file, start, len })
}

#[cfg(all(test, feature = "wat"))]
mod tests {
    use super::*;

    fn env(wat: &str) -> ModuleEnv {
        let wasm = wat::parse_str(wat).unwrap();
        nyash_aot::module::parse(&wasm, nyash_aot::WasmFeatures::empty())
            .unwrap()
            .0
    }

    /// A module of a 1 MiB memory (16 pages) and `data` as its segments.
    fn images(data: &str) -> Vec<Option<(usize, usize)>> {
        images_of(&env(&format!("(module (memory 16) {data})")))
            .iter()
            .map(|i| i.as_ref().map(|i| (i.start, i.len)))
            .collect()
    }

    fn bytes(n: usize) -> String {
        "\\01".repeat(n)
    }

    #[test]
    fn images_only_where_no_segment_can_trap() {
        let big = bytes(MIN_IMAGE_BYTES);
        // The span, in whole pages around the segments.
        let page = page_size();
        assert_eq!(
            images(&format!(
                r#"(data (i32.const 5000) "{big}") (data (i32.const 100) "\01")"#
            )),
            [Some((0, (5000 + MIN_IMAGE_BYTES).next_multiple_of(page)))]
        );
        // Too small a span: copied.
        assert_eq!(
            images(&format!(r#"(data (i32.const 0) "{}")"#, bytes(1000))),
            [None]
        );
        // A segment past the initial size (it traps), an offset that is not
        // a constant, or a segment into an imported memory: no image at all.
        assert_eq!(
            images(&format!(
                r#"(data (i32.const 0) "{big}") (data (i32.const 1048575) "\01\01")"#
            )),
            [None]
        );
        assert_eq!(
            images_of(&env(&format!(
                r#"(module (import "g" "g" (global i32)) (memory 16)
                    (data (i32.const 0) "{big}") (data (global.get 0) "\01"))"#
            )))
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
            [false]
        );
        assert_eq!(
            images_of(&env(&format!(
                r#"(module (import "m" "m" (memory 1)) (memory 16)
                    (data (memory 1) (i32.const 0) "{big}") (data (memory 0) (i32.const 0) "\01"))"#
            )))
            .iter()
            .map(Option::is_some)
            .collect::<Vec<_>>(),
            [false, false]
        );
    }
}
