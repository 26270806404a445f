//! Fault handling: the process-wide signal handlers, the per-thread
//! alternate signal stack, and the per-thread chain of active activations.
//!
//! Everything reachable from `handle_signal` is async-signal-safe in the
//! sense that matters here: no allocation, no lock but the registry's read
//! lock (never held by this thread while its wasm code runs, see
//! `registry::read_for_signal`), and thread-locals with constant
//! initialisers and no destructor (no lazy registration on first access).

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr;
use std::sync::{Once, OnceLock};

use corosensei::trap::{CoroutineTrapHandler, TrapHandlerRegs};
use libc::{c_int, siginfo_t};

use crate::pool::StackBounds;
use crate::registry;

/// Cranelift's `TrapCode::STACK_OVERFLOW.as_raw().get()`.
pub const STACK_OVERFLOW: u8 = 251;

/// Usable size of the alternate signal stack this crate installs.
const ALT_STACK_SIZE: usize = 64 * 1024;

const SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// One `run_on_stack` in progress on this thread. Lives on the caller's
/// (host) stack for the duration of the call.
pub(crate) struct Activation {
    /// How a trap leaves the wasm frames of this activation.
    pub(crate) kind: Kind,
    /// The stack the wasm code of this activation runs on.
    pub(crate) bounds: StackBounds,
    /// The lowest address wasm code of this activation may use. A
    /// synchronous call nested in this one on the same stack never gets a
    /// lower limit.
    pub(crate) limit: usize,
    /// The activation this one is nested in (wasm -> host -> wasm), or null.
    /// A fiber's activation is re-linked each time it is resumed.
    pub(crate) prev: Cell<*const Activation>,
    /// For a fiber: its `Yielder` (type-erased), so code on it can suspend.
    pub(crate) yielder: Cell<*const ()>,
    /// For a fiber being dropped while suspended: tells the suspended code to
    /// give up.
    pub(crate) cancelled: Cell<bool>,
    /// Written by the signal handler when it takes over the stack.
    pub(crate) trapped: Cell<bool>,
    pub(crate) code: Cell<u8>,
    pub(crate) pc: Cell<usize>,
    pub(crate) backtrace: *mut usize,
    pub(crate) backtrace_cap: usize,
    pub(crate) backtrace_len: Cell<usize>,
}

/// How a trap leaves an activation's wasm frames.
pub(crate) enum Kind {
    /// Wasm runs on an execution stack of its own (a coroutine): the trap
    /// ends the coroutine.
    Coroutine(CoroutineTrapHandler<()>),
    /// Wasm runs on the caller's stack (`call_here`): the trap resumes at the
    /// landing pad of the entry frame whose stack pointer `landing_sp` holds.
    Landing { landing_sp: Cell<usize> },
}

thread_local! {
    /// The innermost active `Activation` of this thread, or null.
    static CURRENT: Cell<*const Activation> = const { Cell::new(ptr::null()) };
}

#[inline]
pub(crate) fn current_activation() -> *const Activation {
    CURRENT.with(|c| c.get())
}

#[inline]
pub(crate) fn set_current_activation(act: *const Activation) {
    CURRENT.with(|c| c.set(act));
}

static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

/// Installs the process-wide SIGSEGV/SIGBUS/SIGILL/SIGFPE handlers. Only the
/// first call does anything; later and concurrent calls return once the
/// handlers are in place.
pub fn init_traps() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // The previous actions are recorded before any handler goes in, so the
        // handler can always chain, even for a fault during installation.
        let previous = SIGNALS.map(|sig| {
            // SAFETY: a zeroed sigaction is a valid out-parameter; a null new
            // action only queries.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, ptr::null(), &mut old) != 0 {
                    old.sa_sigaction = libc::SIG_DFL;
                }
                old
            }
        });
        let _ = PREVIOUS.set(previous);
        for sig in SIGNALS {
            // SAFETY: installs a handler with the signature SA_SIGINFO asks
            // for. Not SA_NODEFER: a fault inside the handler itself should
            // kill the process rather than recurse. The handler returns
            // normally, so the kernel restores the interrupted signal mask.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = signal_handler as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(sig, &action, ptr::null_mut()) != 0 {
                    // Without the handler a trap kills the process, which is
                    // what an unhandled fault did before: loud, not unsound.
                    continue;
                }
            }
        }
    });
}

unsafe extern "C" fn signal_handler(signum: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    // The code we interrupt may be about to read errno.
    // SAFETY: __errno_location returns this thread's errno slot.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: the kernel passes a valid siginfo and ucontext.
    let handled = unsafe { handle_signal(signum, info, ctx) };
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
    if !handled {
        // SAFETY: the arguments are the kernel's, passed on unchanged.
        unsafe { chain(signum, info, ctx) };
    }
}

/// Turns the fault into a trap of the innermost activation if it is one;
/// returns false if it is not ours.
unsafe fn handle_signal(signum: c_int, info: *mut siginfo_t, ctx: *mut c_void) -> bool {
    // SAFETY: (the whole function) `info` and `ctx` come from the kernel; the
    // activation pointer is valid while it is CURRENT (run_on_stack clears it
    // before the activation goes away).
    unsafe {
        // Signals sent by kill/tgkill/sigqueue are not faults of the code at
        // the interrupted pc, whatever that pc is.
        if (*info).si_code <= 0 {
            return false;
        }
        let act = CURRENT.with(|c| c.get());
        if act.is_null() {
            return false;
        }
        let act = &*act;
        let regs = arch::read(ctx);
        let sp_ok = match &act.kind {
            Kind::Coroutine(handler) => handler.stack_ptr_in_bounds(regs.sp),
            // Below the entry frame, and not below the stack's guard.
            Kind::Landing { landing_sp } => {
                regs.sp >= act.bounds.guard && regs.sp < landing_sp.get()
            }
        };
        if !sp_ok {
            return false;
        }
        let Some(images) = registry::read_for_signal() else {
            return false;
        };
        let Some(entry) = registry::find(&images, regs.pc) else {
            return false;
        };
        let code = match entry.info.trap_code(regs.pc) {
            Some(code) => code,
            None => {
                // A fault at an ordinary instruction of a wasm function is a
                // stack overflow if it touched the guard page (the prologue's
                // limit check normally traps first; this is the backstop).
                let addr = if signum == libc::SIGSEGV || signum == libc::SIGBUS {
                    (*info).si_addr() as usize
                } else {
                    0
                };
                let in_guard = addr >= act.bounds.guard && addr < act.bounds.bottom;
                if in_guard && entry.info.is_wasm_function(regs.pc) {
                    STACK_OVERFLOW
                } else {
                    return false;
                }
            }
        };
        let len = walk_frames(&images, act, regs.pc, regs.fp);
        drop(images);
        act.code.set(code);
        act.pc.set(regs.pc);
        act.backtrace_len.set(len);
        act.trapped.set(true);
        match &act.kind {
            Kind::Coroutine(handler) => {
                // Once the handler returns, the coroutine restarts at a
                // function that returns () at once: the coroutine finishes
                // and `resume` returns.
                let new_regs = handler.setup_trap_handler(|| ());
                arch::write(ctx, new_regs);
            }
            Kind::Landing { landing_sp } => {
                // Once the handler returns, the thread continues in the
                // landing pad with the entry frame's stack pointer: it
                // restores the host's callee-saved registers from that frame
                // and returns "trapped" from `enter`.
                crate::direct::resume_at_landing(ctx, landing_sp.get());
            }
        }
        true
    }
}

/// Records `pc` and the return addresses of the wasm frames above it into
/// the activation's buffer; returns how many were recorded.
///
/// # Safety
/// `act.backtrace` must point to `act.backtrace_cap` writable words.
unsafe fn walk_frames(images: &[registry::Entry], act: &Activation, pc: usize, fp: usize) -> usize {
    if act.backtrace_cap == 0 {
        return 0;
    }
    // SAFETY: index 0 < cap.
    unsafe { *act.backtrace = pc };
    let mut len = 1;
    let mut fp = fp;
    while len < act.backtrace_cap {
        // Only read frame records that lie wholly in the mapped part of the
        // stack: a garbage fp must end the walk, not fault in the handler.
        let in_stack = fp >= act.bounds.bottom
            && fp.checked_add(16).is_some_and(|end| end <= act.bounds.top)
            && fp.is_multiple_of(std::mem::size_of::<usize>());
        if !in_stack {
            break;
        }
        // SAFETY: [fp, fp + 16) is inside the usable (mapped, readable) stack.
        let (next_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if !registry::is_wasm_function(images, ret) {
            break;
        }
        // SAFETY: len < cap.
        unsafe { *act.backtrace.add(len) = ret };
        len += 1;
        // Frames get older towards higher addresses; anything else is a
        // corrupt chain (and could loop).
        if next_fp <= fp {
            break;
        }
        fp = next_fp;
    }
    len
}

/// Passes a fault that is not ours to whatever handled the signal before
/// `init_traps`.
unsafe fn chain(signum: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    let idx = SIGNALS.iter().position(|&s| s == signum);
    let previous = PREVIOUS.get().zip(idx).map(|(p, i)| p[i]);
    // SAFETY: (the whole function) the previous action was installed by someone
    // for this signal; calling it with the kernel's arguments is what the
    // kernel would have done.
    unsafe {
        let Some(previous) = previous else {
            reset_to_default(signum, info);
            return;
        };
        let handler = previous.sa_sigaction;
        let user_sent = (*info).si_code <= 0;
        if handler == libc::SIG_DFL {
            reset_to_default(signum, info);
        } else if handler == libc::SIG_IGN {
            // An ignored hardware fault re-executes and faults again; Linux then
            // forces the default action, as it would have without us.
            if !user_sent {
                libc::sigaction(signum, &previous, ptr::null_mut());
            }
        } else {
            if previous.sa_flags & libc::SA_RESETHAND != 0 {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signum, &dfl, ptr::null_mut());
            }
            if previous.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
                    std::mem::transmute(handler);
                f(signum, info, ctx);
            } else {
                let f: extern "C" fn(c_int) = std::mem::transmute(handler);
                f(signum);
            }
        }
    }
}

/// Restores the default action so the process dies as it would have without
/// our handler: a fault re-executes on return; a sent signal is re-raised
/// (it stays pending while this handler runs and is delivered on return).
unsafe fn reset_to_default(signum: c_int, info: *mut siginfo_t) {
    // SAFETY: plain libc calls with valid arguments.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(signum, &dfl, ptr::null_mut());
        if (*info).si_code <= 0 {
            libc::raise(signum);
        }
    }
}

/// This thread's alternate signal stack, if this crate installed it.
struct AltStack {
    /// Start of the mapping (guard page included) and its length.
    map: *mut c_void,
    map_len: usize,
    /// The alternate stack that was installed before ours.
    previous: libc::stack_t,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: queries and restores this thread's alternate stack, then
        // unmaps our mapping, which no longer is the alternate stack.
        unsafe {
            let ours = self
                .map
                .cast::<u8>()
                .add(crate::pool::page_size())
                .cast::<c_void>();
            let mut current: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(ptr::null(), &mut current) == 0
                && current.ss_flags & libc::SS_DISABLE == 0
                && current.ss_sp == ours
            {
                // Put back what was there (std's own alternate stack, usually;
                // its owner frees it later). If that fails, at least stop
                // using the memory about to be unmapped.
                if libc::sigaltstack(&self.previous, ptr::null_mut()) != 0 {
                    let disable = libc::stack_t {
                        ss_sp: ptr::null_mut(),
                        ss_flags: libc::SS_DISABLE,
                        ss_size: 0,
                    };
                    libc::sigaltstack(&disable, ptr::null_mut());
                }
            }
            libc::munmap(self.map, self.map_len);
        }
    }
}

enum AltState {
    Unchecked,
    /// The thread already had a large enough alternate stack, or we could not
    /// map one (then a guard-page overflow kills the process, as before).
    Foreign,
    Ours(#[allow(dead_code)] AltStack),
}

thread_local! {
    static ALT_STACK: RefCell<AltState> = const { RefCell::new(AltState::Unchecked) };
}

/// Makes sure this thread has an alternate signal stack, so a stack overflow
/// on an execution stack can still be handled. Called outside signal context.
pub(crate) fn ensure_alt_stack() {
    // Fails only during thread teardown, after the destructor ran; then
    // whatever alternate stack is left stays in use.
    let _ = ALT_STACK.try_with(|state| {
        let mut state = state.borrow_mut();
        if matches!(*state, AltState::Unchecked) {
            *state = install_alt_stack();
        }
    });
}

fn install_alt_stack() -> AltState {
    // SAFETY: queries the alternate stack, maps fresh memory and installs it
    // as this thread's alternate stack; on failure everything is undone.
    unsafe {
        let mut previous: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(ptr::null(), &mut previous) != 0 {
            return AltState::Foreign;
        }
        if previous.ss_flags & libc::SS_DISABLE == 0 && previous.ss_size >= ALT_STACK_SIZE {
            return AltState::Foreign;
        }
        let page = crate::pool::page_size();
        let map_len = ALT_STACK_SIZE + page;
        let map = libc::mmap(
            ptr::null_mut(),
            map_len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if map == libc::MAP_FAILED {
            return AltState::Foreign;
        }
        let stack = map.cast::<u8>().add(page).cast::<c_void>();
        if libc::mprotect(stack, ALT_STACK_SIZE, libc::PROT_READ | libc::PROT_WRITE) != 0 {
            libc::munmap(map, map_len);
            return AltState::Foreign;
        }
        let new = libc::stack_t {
            ss_sp: stack,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        if libc::sigaltstack(&new, ptr::null_mut()) != 0 {
            libc::munmap(map, map_len);
            return AltState::Foreign;
        }
        AltState::Ours(AltStack {
            map,
            map_len,
            previous,
        })
    }
}

/// Registers of the interrupted context.
struct Regs {
    pc: usize,
    sp: usize,
    fp: usize,
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) mod arch {
    use super::{Regs, TrapHandlerRegs};
    use libc::{REG_RBP, REG_RDI, REG_RIP, REG_RSI, REG_RSP, ucontext_t};

    pub(super) unsafe fn read(ctx: *mut libc::c_void) -> Regs {
        // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers.
        let gregs = unsafe { &(*ctx.cast::<ucontext_t>()).uc_mcontext.gregs };
        Regs {
            pc: gregs[REG_RIP as usize] as usize,
            sp: gregs[REG_RSP as usize] as usize,
            fp: gregs[REG_RBP as usize] as usize,
        }
    }

    pub(super) unsafe fn write(ctx: *mut libc::c_void, regs: TrapHandlerRegs) {
        // SAFETY: as in `read`; the kernel reloads these on sigreturn.
        let gregs = unsafe { &mut (*ctx.cast::<ucontext_t>()).uc_mcontext.gregs };
        gregs[REG_RIP as usize] = regs.rip as i64;
        gregs[REG_RSP as usize] = regs.rsp as i64;
        gregs[REG_RBP as usize] = regs.rbp as i64;
        gregs[REG_RDI as usize] = regs.rdi as i64;
        gregs[REG_RSI as usize] = regs.rsi as i64;
    }
}

#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
pub(crate) mod arch {
    use super::{Regs, TrapHandlerRegs};
    use libc::ucontext_t;

    pub(super) unsafe fn read(ctx: *mut libc::c_void) -> Regs {
        // SAFETY: the kernel passes a ucontext_t to SA_SIGINFO handlers.
        let mc = unsafe { &(*ctx.cast::<ucontext_t>()).uc_mcontext };
        Regs {
            pc: mc.pc as usize,
            sp: mc.sp as usize,
            fp: mc.regs[29] as usize,
        }
    }

    pub(super) unsafe fn write(ctx: *mut libc::c_void, regs: TrapHandlerRegs) {
        // SAFETY: as in `read`; the kernel reloads these on sigreturn.
        let mc = unsafe { &mut (*ctx.cast::<ucontext_t>()).uc_mcontext };
        mc.pc = regs.pc;
        mc.sp = regs.sp;
        mc.regs[0] = regs.x0;
        mc.regs[1] = regs.x1;
        mc.regs[29] = regs.x29;
        mc.regs[30] = regs.lr;
    }
}
