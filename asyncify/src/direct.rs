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

/// This thread's own stack, found on the first call: its bounds and the
/// lowest address wasm may use on it (`floor`, [`StackBounds::wasm_limit`]).
/// Until then, and on a thread whose stack cannot be found, the bounds are
/// empty (`bottom == top == 0`), so no stack pointer lies in them and a call
/// takes the cold path (`thread_stack_slow`). Separate cells, so a call reads
/// just the three words it needs.
struct ThreadStack {
    guard: Cell<usize>,
    bottom: Cell<usize>,
    top: Cell<usize>,
    floor: Cell<usize>,
    /// The bounds were asked for (found or not).
    checked: Cell<bool>,
}

thread_local! {
    static THREAD_STACK: ThreadStack = const {
        ThreadStack {
            guard: Cell::new(0),
            bottom: Cell::new(0),
            top: Cell::new(0),
            floor: Cell::new(0),
            checked: Cell::new(false),
        }
    };
}

/// The bounds and wasm floor of this thread's stack if it is known and `sp`
/// lies in it; otherwise see [`thread_stack_slow`].
#[inline(always)]
fn thread_stack(sp: usize) -> Option<(StackBounds, usize)> {
    THREAD_STACK.with(|t| {
        let (bottom, top) = (t.bottom.get(), t.top.get());
        (sp >= bottom && sp < top).then(|| {
            let bounds = StackBounds {
                guard: t.guard.get(),
                bottom,
                top,
            };
            (bounds, t.floor.get())
        })
    })
}

/// [`thread_stack`] for the first call on this thread, which finds the
/// thread's stack and installs the signal handlers and the alternate
/// signal stack; `None` if `sp` is on some other stack or the thread's
/// stack cannot be found.
fn thread_stack_slow(sp: usize) -> Option<(StackBounds, usize)> {
    if !THREAD_STACK.with(|t| t.checked.get()) {
        crate::init_traps();
        signals::ensure_alt_stack();
        let found = query_thread_stack();
        THREAD_STACK.with(|t| {
            t.checked.set(true);
            if let Some(b) = found {
                t.guard.set(b.guard);
                t.floor.set(b.wasm_limit());
                t.bottom.set(b.bottom);
                t.top.set(b.top);
            }
        });
    }
    THREAD_STACK.with(|t| {
        let bounds = StackBounds {
            guard: t.guard.get(),
            bottom: t.bottom.get(),
            top: t.top.get(),
        };
        bounds.contains(sp).then(|| (bounds, t.floor.get()))
    })
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
        bounds.contains(stack_pointer()).then_some(bounds)
    }
}

/// The stack pointer (of the caller, as this is always inlined).
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register, nothing else.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
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
    let sp = stack_pointer();
    let current = signals::current_activation();
    // SAFETY: the current activation is live while code runs inside it.
    let (bounds, floor) = match unsafe { current.as_ref() } {
        // Nested in a call or fiber on this stack. Its activation means
        // this thread has the signal handlers and its alternate stack
        // (`call_here`, `run_on_stack` and `Fiber::resume` install them
        // before they make one).
        Some(outer) if outer.bounds.contains(sp) => {
            (outer.bounds, outer.limit.max(outer.bounds.wasm_limit()))
        }
        _ => match thread_stack(sp) {
            Some(found) => found,
            None => {
                let [a0, a1, a2, a3] = args;
                // SAFETY: forwarded.
                return unsafe { call_here_slow(pool, stack_limit, max_stack, f, a0, a1, a2, a3) };
            }
        },
    };
    let limit = sp.saturating_sub(max_stack).max(floor);
    // SAFETY: forwarded; `bounds` is the stack this runs on.
    unsafe { run_here(current, bounds, limit, stack_limit, f, args) }
}

/// `call_here` when this thread's stack is not known yet (its first call),
/// or the call is on a stack other than the thread's (it then runs on an
/// execution stack from `pool`). The arguments come one by one, in
/// registers: an array would be written to memory on `call_here`'s fast
/// path too.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
unsafe fn call_here_slow(
    pool: &StackPool,
    stack_limit: *mut usize,
    max_stack: usize,
    f: EntryFn,
    a0: usize,
    a1: usize,
    a2: usize,
    a3: usize,
) -> Result<(), Trap> {
    let sp = stack_pointer();
    match thread_stack_slow(sp) {
        Some((bounds, floor)) => {
            let limit = sp.saturating_sub(max_stack).max(floor);
            let current = signals::current_activation();
            // SAFETY: forwarded; `bounds` is the stack this runs on.
            unsafe { run_here(current, bounds, limit, stack_limit, f, [a0, a1, a2, a3]) }
        }
        // SAFETY: the caller's guarantees cover run_on_stack's.
        None => unsafe { crate::run_on_stack(pool, stack_limit, move || f(a0, a1, a2, a3)) },
    }
}

/// The call of `call_here` once its stack and limit are known: an
/// activation on this frame, made current, and the `enter` frame.
///
/// # Safety
/// As for `call_here`; `bounds` is the stack this code runs on, `limit`
/// inside it, and `current` this thread's current activation.
#[inline(always)]
unsafe fn run_here(
    current: *const Activation,
    bounds: StackBounds,
    limit: usize,
    stack_limit: *mut usize,
    f: EntryFn,
    args: [usize; 4],
) -> Result<(), Trap> {
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
    let trapped = unsafe { enter(args[0], args[1], args[2], args[3], f, landing_sp.as_ptr()) };
    // SAFETY: as above.
    unsafe { stack_limit.write(old_limit) };
    signals::set_current_activation(current);

    // A trap of this activation always comes back through `landing`, which
    // returns 1 (the handler sets `act.trapped` first).
    if trapped == 0 {
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

    /// `enter(a0, a1, a2, a3, f, landing_sp) -> u32`: saves rbp, rbx,
    /// r12-r15 in its frame, stores its rsp to `*landing_sp`, calls
    /// `f(a0, a1, a2, a3)` and returns 0 (or 1 through `landing`). The
    /// arguments of `f` come first, so they are already in place.
    #[unsafe(naked)]
    pub(super) unsafe extern "C" fn enter(
        a0: usize,
        a1: usize,
        a2: usize,
        a3: usize,
        f: EntryFn,
        landing_sp: *mut usize,
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
            "mov [r9], rsp",
            "call r8",
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

    /// `enter(a0, a1, a2, a3, f, landing_sp) -> u32`: saves x29/x30,
    /// x19-x28 and d8-d15 in its frame, stores its sp to `*landing_sp`,
    /// calls `f(a0, a1, a2, a3)` and returns 0 (or 1 through `landing`).
    /// The arguments of `f` come first, so they are already in place.
    #[unsafe(naked)]
    pub(super) unsafe extern "C" fn enter(
        a0: usize,
        a1: usize,
        a2: usize,
        a3: usize,
        f: EntryFn,
        landing_sp: *mut usize,
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
            "str x9, [x5]",
            "blr x4",
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
