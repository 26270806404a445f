//! Synchronous calls on the caller's own stack.
//!
//! [`call_here`] runs a host -> wasm call without switching stacks. The entry
//! frame is a small assembly routine (`enter`) that saves the host's
//! callee-saved registers in its own frame, records its stack pointer in the
//! call's [`Activation`], and calls the entry trampoline. A trap in the wasm
//! code below makes the signal handler rewrite the interrupted context: the
//! stack pointer goes back to the recorded one and the pc to `landing`,
//! which restores the callee-saved registers from that same frame and returns
//! from `enter` as if the call had returned, with a "trapped" result. Only
//! the entry trampoline and wasm frames lie between `enter` and the fault, so
//! nothing that owns anything is skipped.

use std::cell::Cell;
use std::mem::MaybeUninit;

use crate::Trap;
use crate::pool::{MAX_BACKTRACE_FRAMES, StackBounds, StackPool, page_size};
use crate::signals::{self, Activation, Kind};

/// An entry trampoline: `extern "C" fn(a0, a1, a2, a3)` with four
/// pointer-sized arguments.
pub type EntryFn = unsafe extern "C" fn(usize, usize, usize, usize);

/// This thread's own stack, found once.
#[derive(Clone, Copy)]
enum ThreadStack {
    Unchecked,
    /// Its bounds could not be found: calls go to an execution stack.
    Unknown,
    Known(StackBounds),
}

thread_local! {
    static THREAD_STACK: Cell<ThreadStack> = const { Cell::new(ThreadStack::Unchecked) };
}

/// This thread's stack bounds; the first call on a thread also installs the
/// signal handlers and the alternate signal stack.
#[inline]
fn thread_stack() -> Option<StackBounds> {
    match THREAD_STACK.with(|s| s.get()) {
        ThreadStack::Known(b) => Some(b),
        ThreadStack::Unknown => None,
        ThreadStack::Unchecked => first_call_on_thread(),
    }
}

#[cold]
#[inline(never)]
fn first_call_on_thread() -> Option<StackBounds> {
    crate::init_traps();
    signals::ensure_alt_stack();
    let found = query_thread_stack();
    let state = match found {
        Some(b) => ThreadStack::Known(b),
        None => ThreadStack::Unknown,
    };
    THREAD_STACK.with(|s| s.set(state));
    found
}

/// The calling thread's stack from `pthread_getattr_np`: `[bottom, top)` is
/// the stack, `[guard, bottom)` the guard area below it (at least a page).
fn query_thread_stack() -> Option<StackBounds> {
    // SAFETY: plain pthread calls on this thread with valid out-parameters;
    // the attribute object is destroyed after use.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let mut guard: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0
            && libc::pthread_attr_getguardsize(&attr, &mut guard) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !ok || addr.is_null() || size == 0 {
            return None;
        }
        let bottom = addr as usize;
        let top = bottom.checked_add(size)?;
        let bounds = StackBounds {
            guard: bottom.saturating_sub(guard.max(page_size())),
            bottom,
            top,
        };
        // The stack we are running on must be the one reported.
        let here = approximate_sp();
        bounds.contains(here).then_some(bounds)
    }
}

#[inline(always)]
fn approximate_sp() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

/// Calls `f(args[0], args[1], args[2], args[3])` on the calling thread's
/// current stack and returns, or returns the trap that ended it.
///
/// Wasm code may use the stack down to `max(sp - max_stack, floor)`, where
/// `sp` is the stack pointer at the call and `floor` is
/// [`host_slack`](crate::host_slack) bytes
/// above the bottom of the stack this code runs on (the thread's stack, or
/// the execution stack of the fiber or call this one is nested in), and
/// never below the limit of an enclosing call on the same stack. That limit
/// is written to `*stack_limit` for the call and the previous value restored
/// afterwards. If the stack this runs on cannot be identified (a stack
/// switched to by other code, or a thread whose bounds the C library does not
/// report), the call runs on an execution stack from `pool` instead
/// ([`run_on_stack`](crate::run_on_stack)).
///
/// # Safety
/// `stack_limit` must be valid for reads and writes for the whole call. `f`
/// must be generated code whose faults are traps of registered code, and
/// which lets no Rust panic or unwind out of it: a trap abandons the frames
/// between `f` and the fault without running anything, so they must be
/// frames of generated code only (host functions called from it run to
/// completion and report errors by return value).
#[inline]
pub unsafe fn call_here(
    pool: &StackPool,
    stack_limit: *mut usize,
    max_stack: usize,
    f: EntryFn,
    args: [usize; 4],
) -> Result<(), Trap> {
    let sp = approximate_sp();
    let current = signals::current_activation();
    // SAFETY: the current activation is live while code runs inside it.
    let nested = unsafe { current.as_ref() }.filter(|a| a.bounds.contains(sp));
    let (bounds, floor) = match nested {
        Some(outer) => (outer.bounds, outer.limit.max(outer.bounds.wasm_limit())),
        None => match thread_stack().filter(|b| b.contains(sp)) {
            Some(b) => (b, b.wasm_limit()),
            // SAFETY: the caller's guarantees cover run_on_stack's.
            None => return unsafe { call_elsewhere(pool, stack_limit, f, args) },
        },
    };
    if nested.is_some() {
        // A thread reached through a fiber, say, still needs the handlers
        // and its alternate stack (no-ops once done).
        let _ = thread_stack();
    }
    let limit = sp.saturating_sub(max_stack).max(floor);

    let mut backtrace = MaybeUninit::<[usize; MAX_BACKTRACE_FRAMES]>::uninit();
    let act = Activation {
        kind: Kind::Landing {
            landing_sp: Cell::new(0),
        },
        bounds,
        limit,
        prev: Cell::new(current),
        yielder: Cell::new(std::ptr::null()),
        cancelled: Cell::new(false),
        trapped: Cell::new(false),
        code: Cell::new(0),
        pc: Cell::new(0),
        backtrace: backtrace.as_mut_ptr().cast(),
        backtrace_cap: MAX_BACKTRACE_FRAMES,
        backtrace_len: Cell::new(0),
    };
    let Kind::Landing { landing_sp } = &act.kind else {
        unreachable!()
    };
    signals::set_current_activation(&act);
    // SAFETY: the caller vouches for `stack_limit`.
    let old_limit = unsafe { stack_limit.read() };
    // SAFETY: as above.
    unsafe { stack_limit.write(limit) };
    // SAFETY: `enter` calls `f` with the arguments and records its frame in
    // `landing_sp` before; the activation stays CURRENT until it returns.
    let trapped = unsafe { enter(landing_sp.as_ptr(), f, args[0], args[1], args[2], args[3]) };
    // SAFETY: as above.
    unsafe { stack_limit.write(old_limit) };
    signals::set_current_activation(current);

    if trapped == 0 && !act.trapped.get() {
        return Ok(());
    }
    Err(trap_of(&act))
}

#[cold]
#[inline(never)]
fn trap_of(act: &Activation) -> Trap {
    Trap {
        code: act.code.get(),
        pc: act.pc.get(),
        // SAFETY: the handler wrote `backtrace_len <= backtrace_cap` entries.
        backtrace: unsafe {
            std::slice::from_raw_parts(act.backtrace, act.backtrace_len.get()).to_vec()
        },
    }
}

/// `call_here` on an execution stack, for a stack that is not known.
#[cold]
#[inline(never)]
unsafe fn call_elsewhere(
    pool: &StackPool,
    stack_limit: *mut usize,
    f: EntryFn,
    args: [usize; 4],
) -> Result<(), Trap> {
    // SAFETY: forwarded from `call_here`.
    unsafe {
        crate::run_on_stack(pool, stack_limit, move || {
            f(args[0], args[1], args[2], args[3])
        })
    }
}

/// Rewrites the interrupted context `ctx` so that the thread continues in
/// `landing` with the stack pointer `landing_sp` recorded by `enter`.
///
/// # Safety
/// `ctx` is the kernel's ucontext of a fault below the `enter` frame whose
/// stack pointer is `landing_sp`, on this thread.
pub(crate) unsafe fn resume_at_landing(ctx: *mut libc::c_void, landing_sp: usize) {
    // SAFETY: as the caller vouches.
    unsafe { arch::set_landing(ctx, landing_sp) }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::EntryFn;

    /// Bytes from the recorded stack pointer up to the saved frame pointer
    /// (five callee-saved registers and 8 bytes of alignment).
    const FP_OFFSET: usize = 48;

    /// `enter(landing_sp, f, a0, a1, a2, a3) -> u32`: saves rbp, rbx,
    /// r12-r15 in its frame, stores its rsp to `*landing_sp`, calls
    /// `f(a0, a1, a2, a3)` and returns 0 (or 1 through `landing`).
    #[unsafe(naked)]
    pub(super) unsafe extern "C" fn enter(
        landing_sp: *mut usize,
        f: EntryFn,
        a0: usize,
        a1: usize,
        a2: usize,
        a3: usize,
    ) -> u32 {
        core::arch::naked_asm!(
            ".cfi_startproc",
            "push rbp",
            ".cfi_def_cfa_offset 16",
            ".cfi_offset rbp, -16",
            "mov rbp, rsp",
            ".cfi_def_cfa_register rbp",
            "push rbx",
            "push r12",
            "push r13",
            "push r14",
            "push r15",
            ".cfi_offset rbx, -24",
            ".cfi_offset r12, -32",
            ".cfi_offset r13, -40",
            ".cfi_offset r14, -48",
            ".cfi_offset r15, -56",
            "sub rsp, 8",
            "mov [rdi], rsp",
            "mov rax, rsi",
            "mov rdi, rdx",
            "mov rsi, rcx",
            "mov rdx, r8",
            "mov rcx, r9",
            "call rax",
            "xor eax, eax",
            "add rsp, 8",
            "pop r15",
            "pop r14",
            "pop r13",
            "pop r12",
            "pop rbx",
            "pop rbp",
            ".cfi_def_cfa rsp, 8",
            "ret",
            ".cfi_endproc",
        )
    }

    /// Entered from the signal handler with rsp = the recorded stack pointer
    /// of an `enter` frame: finishes that frame, returning 1.
    #[unsafe(naked)]
    pub(super) unsafe extern "C" fn landing() {
        core::arch::naked_asm!(
            "mov eax, 1",
            "add rsp, 8",
            "pop r15",
            "pop r14",
            "pop r13",
            "pop r12",
            "pop rbx",
            "pop rbp",
            "ret",
        )
    }

    pub(super) unsafe fn set_landing(ctx: *mut libc::c_void, landing_sp: usize) {
        use libc::{REG_RBP, REG_RIP, REG_RSP, ucontext_t};
        // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers and
        // reloads these registers on sigreturn.
        let gregs = unsafe { &mut (*ctx.cast::<ucontext_t>()).uc_mcontext.gregs };
        gregs[REG_RIP as usize] = landing as *const () as usize as i64;
        gregs[REG_RSP as usize] = landing_sp as i64;
        gregs[REG_RBP as usize] = (landing_sp + FP_OFFSET) as i64;
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use super::EntryFn;

    /// Bytes from the recorded stack pointer up to the saved frame record
    /// (x19-x28 and d8-d15).
    const FP_OFFSET: usize = 144;

    /// `enter(landing_sp, f, a0, a1, a2, a3) -> u32`: saves x29/x30, x19-x28
    /// and d8-d15 in its frame, stores its sp to `*landing_sp`, calls
    /// `f(a0, a1, a2, a3)` and returns 0 (or 1 through `landing`).
    #[unsafe(naked)]
    pub(super) unsafe extern "C" fn enter(
        landing_sp: *mut usize,
        f: EntryFn,
        a0: usize,
        a1: usize,
        a2: usize,
        a3: usize,
    ) -> u32 {
        core::arch::naked_asm!(
            ".cfi_startproc",
            "stp x29, x30, [sp, #-16]!",
            ".cfi_def_cfa_offset 16",
            ".cfi_offset x30, -8",
            ".cfi_offset x29, -16",
            "mov x29, sp",
            ".cfi_def_cfa x29, 16",
            "stp x19, x20, [sp, #-16]!",
            "stp x21, x22, [sp, #-16]!",
            "stp x23, x24, [sp, #-16]!",
            "stp x25, x26, [sp, #-16]!",
            "stp x27, x28, [sp, #-16]!",
            "stp d8, d9, [sp, #-16]!",
            "stp d10, d11, [sp, #-16]!",
            "stp d12, d13, [sp, #-16]!",
            "stp d14, d15, [sp, #-16]!",
            "mov x9, sp",
            "str x9, [x0]",
            "mov x9, x1",
            "mov x0, x2",
            "mov x1, x3",
            "mov x2, x4",
            "mov x3, x5",
            "blr x9",
            "mov w0, #0",
            "ldp d14, d15, [sp], #16",
            "ldp d12, d13, [sp], #16",
            "ldp d10, d11, [sp], #16",
            "ldp d8, d9, [sp], #16",
            "ldp x27, x28, [sp], #16",
            "ldp x25, x26, [sp], #16",
            "ldp x23, x24, [sp], #16",
            "ldp x21, x22, [sp], #16",
            "ldp x19, x20, [sp], #16",
            "ldp x29, x30, [sp], #16",
            "ret",
            ".cfi_endproc",
        )
    }

    /// Entered from the signal handler with sp = the recorded stack pointer
    /// of an `enter` frame: finishes that frame, returning 1.
    #[unsafe(naked)]
    pub(super) unsafe extern "C" fn landing() {
        core::arch::naked_asm!(
            "mov w0, #1",
            "ldp d14, d15, [sp], #16",
            "ldp d12, d13, [sp], #16",
            "ldp d10, d11, [sp], #16",
            "ldp d8, d9, [sp], #16",
            "ldp x27, x28, [sp], #16",
            "ldp x25, x26, [sp], #16",
            "ldp x23, x24, [sp], #16",
            "ldp x21, x22, [sp], #16",
            "ldp x19, x20, [sp], #16",
            "ldp x29, x30, [sp], #16",
            "ret",
        )
    }

    pub(super) unsafe fn set_landing(ctx: *mut libc::c_void, landing_sp: usize) {
        // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers and
        // reloads these registers on sigreturn.
        let mc = unsafe { &mut (*ctx.cast::<libc::ucontext_t>()).uc_mcontext };
        mc.pc = landing as *const () as usize as u64;
        mc.sp = landing_sp as u64;
        mc.regs[29] = (landing_sp + FP_OFFSET) as u64;
    }
}

use arch::enter;
