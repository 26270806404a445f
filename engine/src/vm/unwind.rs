//! The exception unwinder: finds the wasm handler of a thrown exception by
//! walking the frame-pointer chain of the wasm frames above the throw, and
//! resumes there.
//!
//! Every `try_call` site's handlers are in its code image's
//! [`HandlerTable`](nyash_aot::HandlerTable), keyed by return address. A
//! frame's tags are module tag indices: they resolve to store tags through
//! the frame's instance, whose VMContext the frame keeps in a stack slot
//! (the exception table's dynamic context). Handlers resume with SP and FP
//! restored and the two payload words in the registers Cranelift's `tail`
//! convention names; its exceptional edges clobber every other register, so
//! nothing else is restored.
//!
//! Invariants: the walk reads only frames of generated code (it stops at the
//! first return address outside registered code, which is where the wasm
//! frames of this activation end, see [`next_frame`]); no Rust frame is ever
//! unwound through: the Rust frames between the throw and the resume (the
//! builtin's) hold nothing that needs dropping when the resume abandons
//! them.

use std::sync::Arc;

use nyash_aot::HandlerTable;
use nyash_asyncify::CodeInfo;

use super::code::CodeTables;
use crate::vm::store_opaque::InstanceId;
use crate::vm::vmcontext::{VMContextHeader, VMStoreContext};

/// Where to resume: a handler, with the SP and FP of its frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resume {
    pub(crate) pc: usize,
    pub(crate) sp: usize,
    pub(crate) fp: usize,
    /// The clause passes the exnref to wasm (`catch_ref`, `catch_all_ref`).
    pub(crate) with_ref: bool,
}

/// The code image of the frame being looked at: consecutive frames are
/// mostly in the same image, so the registry (a lock) is asked only when a
/// return address leaves it.
struct Image {
    code: Arc<dyn CodeInfo>,
    start: usize,
    len: usize,
}

impl Image {
    /// The image containing `pc`, reusing `cached` if it does; `None` if
    /// `pc` is in no registered image.
    fn of(cached: Option<Image>, pc: usize) -> Option<Image> {
        if let Some(img) = cached
            && pc.wrapping_sub(img.start) < img.len
        {
            return Some(img);
        }
        let code = nyash_asyncify::lookup_code(pc)?;
        let tables = code.as_any().downcast_ref::<CodeTables>()?;
        let (start, len) = (tables.start, tables.len);
        Some(Image { code, start, len })
    }

    fn tables(&self) -> Option<&CodeTables> {
        self.code.as_any().downcast_ref::<CodeTables>()
    }
}

/// The frame above the frame with frame pointer `fp` (the return address
/// into it, and its frame pointer) with its image, if that frame is
/// generated code; `None` where the wasm frames of this activation end: at
/// a return address outside every registered code image (the host code
/// that called the entry trampoline). The one place that decides how far
/// the unwinder walks.
///
/// # Safety
/// `fp` must be the frame pointer of a frame of generated code.
unsafe fn next_frame(fp: usize, image: Image) -> Option<(usize, usize, Image)> {
    // SAFETY: generated code keeps frame records ([fp] = caller's fp,
    // [fp + 8] = return address) on x86_64 and aarch64 alike.
    let (caller_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
    let image = Image::of(Some(image), ret)?;
    // Stacks grow down: a caller's frame is above its callee's.
    (caller_fp > fp && caller_fp % 16 == 0).then_some((ret, caller_fp, image))
}

/// Finds the handler for an exception of store tag `tag`, thrown by a call
/// whose return address is `pc` in the frame with frame pointer `fp`.
/// `vmstore` is the throwing instance's store context: frames of another
/// store never catch.
///
/// # Safety
/// `(pc, fp)` must be a return address into, and the frame pointer of, a
/// frame of generated code on the current stack, and `instance_tag` must
/// give the store tag of a module tag of an instance of that store, by
/// instance index.
pub(crate) unsafe fn find_handler(
    mut pc: usize,
    mut fp: usize,
    vmstore: *mut VMStoreContext,
    tag: u32,
    instance_tag: &dyn Fn(InstanceId, u32) -> Option<u32>,
) -> Option<Resume> {
    let mut image = Image::of(None, pc)?;
    loop {
        let tables = image.tables()?;
        let site = u32::try_from(pc - image.start)
            .ok()
            .and_then(|off| tables.handlers.lookup(off));
        if let Some(site) = site {
            let sp = fp.checked_sub(site.frame_offset as usize)?;
            // SAFETY: the compiler recorded the VMContext's slot in this
            // frame for this call site.
            let vmctx = unsafe { *((sp + site.vmctx_sp_offset as usize) as *const *const u8) };
            // SAFETY: a VMContext starts with its header.
            let header = unsafe { &*(vmctx as *const VMContextHeader) };
            if header.store_context == vmstore {
                for (&clause, &target) in site.tags.iter().zip(site.targets) {
                    let (t, with_ref) = HandlerTable::decode_clause(clause);
                    let hit = match t {
                        None => true,
                        Some(t) => {
                            instance_tag(InstanceId::from_header(header.instance), t) == Some(tag)
                        }
                    };
                    if hit {
                        return Some(Resume {
                            pc: image.start + target as usize,
                            sp,
                            fp,
                            with_ref,
                        });
                    }
                }
            }
        }
        // SAFETY: `fp` is a frame of generated code (the caller's promise for
        // the first, `next_frame`'s check for the others).
        (pc, fp, image) = unsafe { next_frame(fp, image) }?;
    }
}

/// Resumes at a handler with the payload words `exn` and `values`.
///
/// # Safety
/// `to` must come from [`find_handler`] for a frame still on this stack, and
/// every Rust frame below it (this function's callers up to the builtin
/// wasm called) must hold nothing that needs dropping.
pub(crate) unsafe fn resume(to: Resume, exn: usize, values: usize) -> ! {
    // SAFETY: as the caller vouches: the handler expects exactly this state
    // (SP, FP, payload in the `tail` convention's payload registers).
    unsafe { crate::vm::arch::resume(to.pc, to.sp, to.fp, exn, values) }
}

/// Calls `visit` for every stack-map slot of the wasm frames of one call in
/// progress, from the frame of the innermost wasm function (its frame
/// pointer `fp`, stopped at the call returning to `pc`) up to where the
/// call's wasm frames end (the same place the unwinder stops, see
/// [`next_frame`]). A frame stopped at a call with no stack map holds no
/// references (or is a trampoline).
///
/// # Safety
/// `(pc, fp)` must be an exit record of a call of this thread that is in
/// progress: the return address into, and the frame pointer of, a frame of
/// generated code whose frame chain is intact (the frames are suspended
/// in a call to the runtime or host, on any stack).
pub(crate) unsafe fn visit_frame_roots(pc: usize, fp: usize, visit: &mut dyn FnMut(&mut u32)) {
    let (mut pc, mut fp) = (pc, fp);
    let Some(mut image) = Image::of(None, pc) else {
        return;
    };
    loop {
        if let Some(tables) = image.tables()
            && let Some((span, slots)) = tables.stack_maps.lookup((pc - image.start) as u32)
        {
            let sp = fp - span as usize;
            for &off in slots {
                // SAFETY: the stack map names 4-byte slots of this live frame.
                visit(unsafe { &mut *((sp + off as usize) as *mut u32) });
            }
        }
        // SAFETY: `fp` is the frame pointer of a frame of generated code.
        match unsafe { next_frame(fp, image) } {
            Some((ret, caller_fp, next)) => {
                pc = ret;
                fp = caller_fp;
                image = next;
            }
            None => return,
        }
    }
}
