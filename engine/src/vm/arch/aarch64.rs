//! aarch64 assembly; the contracts are `arch/mod.rs`'s. On aarch64
//! Cranelift's `tail` convention reserves `x0` and `x1`, passes arguments
//! from `x2` on and returns in `x2`, so the throw stubs call their bodies
//! (C convention) through a frame of their own and move the result. There
//! is no lazy resolver yet (`Compiler::supports_lazy` is x86_64 only).

use crate::vm::libcalls::{throw_body, throw_ref_body};

/// `throw(vmctx, tag, values)`: `x2`-`x4` as called, moved to `x0`-`x2`;
/// the return address (`x30`) and frame pointer (`x29`) of the thrower go
/// in `x3` and `x4`. Its own frame record is abandoned with the body's on
/// a resume.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw(_vmctx: *mut u8, _tag: u32, _values: usize) -> u32 {
    core::arch::naked_asm!(
        "mov x5, x30",
        "mov x6, x29",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "mov x0, x2",
        "mov x1, x3",
        "mov x2, x4",
        "mov x3, x5",
        "mov x4, x6",
        "bl {body}",
        "mov x2, x0",
        "ldp x29, x30, [sp], #16",
        "ret",
        body = sym throw_body,
    )
}

/// `throw_ref(vmctx, exn)`: as [`throw`], the throw point in `x2` and `x3`.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw_ref(_vmctx: *mut u8, _exn: usize) -> u32 {
    core::arch::naked_asm!(
        "mov x4, x30",
        "mov x5, x29",
        "stp x29, x30, [sp, #-16]!",
        "mov x29, sp",
        "mov x0, x2",
        "mov x1, x3",
        "mov x2, x4",
        "mov x3, x5",
        "bl {body}",
        "mov x2, x0",
        "ldp x29, x30, [sp], #16",
        "ret",
        body = sym throw_ref_body,
    )
}

/// `gc_stub!(name, body, (args) -> ret)`: defines `name`, the stub in
/// front of `body` (same signature). The VMContext is in `x0`; `x16` (an
/// intra-procedure-call scratch register) holds the store context.
macro_rules! gc_stub {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[unsafe(naked)]
        unsafe extern "C" fn $name(_vmctx: *mut u8, $($arg: $ty),*) -> $ret {
            core::arch::naked_asm!(
                "ldr x16, [x0, #{store}]",
                "str x30, [x16, #{pc}]",
                "str x29, [x16, #{fp}]",
                "b {body}",
                store = const nyash_aot::vmoffsets::VMOffsets::STORE_CONTEXT,
                pc = const nyash_aot::vmoffsets::store_context::LAST_EXIT_PC,
                fp = const nyash_aot::vmoffsets::store_context::LAST_EXIT_FP,
                body = sym $body,
            )
        }
    };
}
pub(crate) use gc_stub;

/// No resolver: no lazy image is made on aarch64.
pub(crate) fn lazy_resolver_address() -> usize {
    0
}

/// Jumps to a handler: `sp` and `x29` set to the handler frame's, the
/// payload in `x0` (`exn`) and `x1` (`values`).
///
/// # Safety
/// `unwind::resume`'s: `(pc, sp, fp)` is a handler found for a frame
/// still on this stack, and nothing on the frames abandoned needs
/// dropping.
pub(crate) unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize, values: usize) -> ! {
    // SAFETY: as the caller vouches: the handler expects exactly this state.
    unsafe {
        core::arch::asm!(
            "mov sp, {sp}",
            "mov x29, {fp}",
            "br {pc}",
            sp = in(reg) sp,
            fp = in(reg) fp,
            pc = in(reg) pc,
            in("x0") exn,
            in("x1") values,
            options(noreturn, nostack),
        );
    }
}
