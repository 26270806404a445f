//! x86_64 (System V) assembly; the contracts are `arch/mod.rs`'s. On
//! x86_64 Cranelift's `tail` convention passes arguments in the C
//! convention's registers (`rdi`, `rsi`, `rdx`, `rcx`, `r8`, `r9`, then
//! `xmm0`-`xmm7` and the stack) and returns in `rax`, which keeps the
//! throw stubs to three instructions.

use crate::vm::lazy::resolve_body;
use crate::vm::libcalls::{throw_body, throw_ref_body};

/// `throw(vmctx, tag, values)`: `rdi`, `esi`, `rdx` as called; the return
/// address (at `[rsp]`, the stub has no frame) goes in `rcx` and the frame
/// pointer in `r8`, the body's fourth and fifth arguments. A `jmp`, so
/// the body returns to the thrower itself.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw(_vmctx: *mut u8, _tag: u32, _values: usize) -> u32 {
    core::arch::naked_asm!(
        "mov rcx, [rsp]",
        "mov r8, rbp",
        "jmp {body}",
        body = sym throw_body,
    )
}

/// `throw_ref(vmctx, exn)`: as [`throw`], the throw point in `rdx` and
/// `rcx`.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn throw_ref(_vmctx: *mut u8, _exn: usize) -> u32 {
    core::arch::naked_asm!(
        "mov rdx, [rsp]",
        "mov rcx, rbp",
        "jmp {body}",
        body = sym throw_ref_body,
    )
}

/// `gc_stub!(name, body, (args) -> ret)`: defines `name`, the stub in
/// front of `body` (same signature). The VMContext is in `rdi`; `rax` and
/// `r11` are scratch in every convention and hold no argument.
macro_rules! gc_stub {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[unsafe(naked)]
        unsafe extern "C" fn $name(_vmctx: *mut u8, $($arg: $ty),*) -> $ret {
            core::arch::naked_asm!(
                "mov rax, [rdi + {store}]",
                "mov r11, [rsp]",
                "mov [rax + {pc}], r11",
                "mov [rax + {fp}], rbp",
                "jmp {body}",
                store = const nyash_aot::vmoffsets::VMOffsets::STORE_CONTEXT,
                pc = const nyash_aot::vmoffsets::store_context::LAST_EXIT_PC,
                fp = const nyash_aot::vmoffsets::store_context::LAST_EXIT_FP,
                body = sym $body,
            )
        }
    };
}
pub(crate) use gc_stub;

/// The lazy stubs' resolver.
pub(crate) fn lazy_resolver_address() -> usize {
    lazy_resolver as *const () as usize
}

/// The resolver, entered by a stub's `jmp`: `[rsp]` the module,
/// `[rsp + 8]` the defined function index, `[rsp + 16]` the caller's
/// return address. It saves every register the `tail` convention may pass
/// arguments in (and the return-area pointer): `rax`, `rcx`, `rdx`, `rsi`,
/// `rdi`, `r8`-`r10`, `xmm0`-`xmm15`. `rbp` and the callee-saved registers
/// are the body's to preserve; `r11` (a scratch register of every
/// convention, no argument) carries the target.
#[unsafe(naked)]
unsafe extern "C" fn lazy_resolver() {
    core::arch::naked_asm!(
        "push rax",
        "push rcx",
        "push rdx",
        "push rsi",
        "push rdi",
        "push r8",
        "push r9",
        "push r10",
        // 8 pushes after the two words: rsp = entry - 80, and the entry
        // rsp was 8 mod 16 (after a call), so 264 more bytes align it.
        "sub rsp, 264",
        "movdqu [rsp], xmm0",
        "movdqu [rsp + 16], xmm1",
        "movdqu [rsp + 32], xmm2",
        "movdqu [rsp + 48], xmm3",
        "movdqu [rsp + 64], xmm4",
        "movdqu [rsp + 80], xmm5",
        "movdqu [rsp + 96], xmm6",
        "movdqu [rsp + 112], xmm7",
        "movdqu [rsp + 128], xmm8",
        "movdqu [rsp + 144], xmm9",
        "movdqu [rsp + 160], xmm10",
        "movdqu [rsp + 176], xmm11",
        "movdqu [rsp + 192], xmm12",
        "movdqu [rsp + 208], xmm13",
        "movdqu [rsp + 224], xmm14",
        "movdqu [rsp + 240], xmm15",
        "mov rdi, [rsp + 328]",
        "mov rsi, [rsp + 336]",
        "call {body}",
        "mov [rsp + 336], rax",
        "movdqu xmm0, [rsp]",
        "movdqu xmm1, [rsp + 16]",
        "movdqu xmm2, [rsp + 32]",
        "movdqu xmm3, [rsp + 48]",
        "movdqu xmm4, [rsp + 64]",
        "movdqu xmm5, [rsp + 80]",
        "movdqu xmm6, [rsp + 96]",
        "movdqu xmm7, [rsp + 112]",
        "movdqu xmm8, [rsp + 128]",
        "movdqu xmm9, [rsp + 144]",
        "movdqu xmm10, [rsp + 160]",
        "movdqu xmm11, [rsp + 176]",
        "movdqu xmm12, [rsp + 192]",
        "movdqu xmm13, [rsp + 208]",
        "movdqu xmm14, [rsp + 224]",
        "movdqu xmm15, [rsp + 240]",
        "add rsp, 264",
        "pop r10",
        "pop r9",
        "pop r8",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop rcx",
        "pop rax",
        "add rsp, 8",
        "pop r11",
        "jmp r11",
        body = sym resolve_body,
    )
}

/// Jumps to a handler: `rsp` and `rbp` set to the handler frame's, the
/// payload in `rax` (`exn`) and `rdx` (`values`).
///
/// # Safety
/// `unwind::resume`'s: `(pc, sp, fp)` is a handler found for a frame
/// still on this stack, and nothing on the frames abandoned needs
/// dropping.
pub(crate) unsafe fn resume(pc: usize, sp: usize, fp: usize, exn: usize, values: usize) -> ! {
    // SAFETY: as the caller vouches: the handler expects exactly this state.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "mov rbp, {fp}",
            "jmp {pc}",
            sp = in(reg) sp,
            fp = in(reg) fp,
            pc = in(reg) pc,
            in("rax") exn,
            in("rdx") values,
            options(noreturn, nostack),
        );
    }
}
