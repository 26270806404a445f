//! Running wasm for nyash-engine: on the caller's stack, or on execution
//! stacks.
//!
//! A synchronous host -> wasm call runs on the calling thread's own stack
//! ([`call_here`]): an assembly entry frame records where to resume, and a
//! trap resumes there. A call that may suspend runs on an *execution stack*
//! taken from a [`StackPool`] ([`Fiber`], or [`run_on_stack`] without
//! suspension). Generated wasm code that faults (a Cranelift trap
//! instruction, an access to a guard region, an x86 division fault, or a stack
//! overflow into a guard page) does not kill the process: the signal handler
//! installed by [`init_traps`] recognises the fault and leaves the wasm frames
//! (to the landing pad of `call_here`, or by ending the coroutine), so the call
//! returns `Err(Trap)`. Execution stacks go back to the pool and are reused.
//!
//! # Contract
//!
//! * **Code registry.** The engine registers every loaded code image with
//!   [`register_code`] (and removes it with [`unregister_code`] before
//!   unmapping it). A fault is a trap only if its pc lies in a registered
//!   image, this thread is inside `call_here`, `run_on_stack` or a fiber, and
//!   the stack pointer lies below the innermost activation's entry (its
//!   execution stack, or below the `call_here` entry frame down to the guard
//!   of the stack it runs on). Its code is what
//!   [`CodeInfo::trap_code`] says for the pc; a fault at a non-trap-site
//!   instruction of a wasm function that touched the guard page is reported as
//!   [`STACK_OVERFLOW`]. Any other fault is passed on to the handler that was
//!   installed before (by default: the process dies as it would have).
//! * **Abandoned frames.** A trap discards the frames between the entry and
//!   the fault without running destructors, like `longjmp`. For `call_here`
//!   those are the entry function's and the wasm frames only; for an execution
//!   stack, also the closure's own frames. That is sound only because those
//!   frames own nothing: the caller guarantees that whatever host code runs
//!   *while wasm can still trap* holds nothing whose `Drop` must run (no locks
//!   held, no pinned data, no owned allocations other than leaks the caller
//!   accepts). Host functions called from wasm must therefore finish (return
//!   or convert errors into a trap site) before wasm code resumes; panics must
//!   not unwind through wasm frames.
//! * **Stack limit.** `call_here`, `run_on_stack` and fibers store the lowest
//!   address wasm may use into the caller's stack-limit slot (the VMContext
//!   field the prologue check reads) and restore the previous value afterwards,
//!   so nested calls (wasm -> host -> wasm) see the right limit. On an
//!   execution stack that is its bottom plus [`host_slack`]; for `call_here`
//!   see its documentation (the caller's stack pointer minus the budget, never
//!   within `host_slack` of the stack's bottom nor below an enclosing call's
//!   limit on the same stack). A thread's stack bounds come from
//!   `pthread_getattr_np`, once per thread.
//! * **Signals.** Each thread that calls into wasm gets an alternate
//!   signal stack (64 KiB plus a guard page, unless it already has one at least
//!   that large), freed when the thread exits; without it a stack overflow
//!   could not be handled.
//! * **Handler safety.** `CodeInfo` methods are called from the signal
//!   handler: they must not allocate, lock or panic.
//!
//! # Backtraces
//!
//! A [`Trap`] carries the faulting pc followed by the return addresses of the
//! wasm frames above it, innermost first, found by walking the frame-pointer
//! chain (`[fp]` = caller's fp, `[fp + 8]` = return address, on x86_64 and
//! aarch64). The walk stops at the first return address outside a wasm
//! function, at an fp outside the stack, or after [`MAX_BACKTRACE_FRAMES`].
//! A fault in a function's prologue, before it has pushed its frame record,
//! misses that function's caller.
//!
//! # Targets
//!
//! Linux on x86_64 and aarch64. Other targets fail to compile (reading and
//! rewriting the interrupted register state is per OS and architecture).

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("nyash-asyncify supports Linux on x86_64 and aarch64 only");

mod compile_stack;
mod direct;
mod fiber;
mod pool;
mod registry;
mod signals;

use std::cell::Cell;
use std::convert::Infallible;
use std::panic::{self, AssertUnwindSafe};

use corosensei::{Coroutine, CoroutineResult, Yielder};

pub use compile_stack::on_compile_stack;
pub use direct::{EntryFn, call_here};
pub use fiber::{Cancelled, Fiber, Resume, can_suspend, suspend};
pub use pool::{MAX_BACKTRACE_FRAMES, StackPool};
pub use registry::{CodeInfo, lookup_code, register_code, unregister_code, unregister_code_within};
pub use signals::{STACK_OVERFLOW, init_traps};

use pool::StackBounds;
use signals::{Activation, Kind};

/// Bytes at the bottom of each execution stack that wasm code may not use,
/// kept for host functions and trampolines called from wasm.
pub fn host_slack() -> usize {
    128 * 1024
}

/// What a trap recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// The raw Cranelift trap code (see [`CodeInfo::trap_code`]).
    pub code: u8,
    /// The pc of the faulting instruction (0 if no stack could be mapped).
    pub pc: usize,
    /// `pc`, then the return addresses of the wasm frames above it, innermost
    /// first.
    pub backtrace: Vec<usize>,
}

/// Runs `f` on an execution stack from `pool` and returns its result, or the
/// trap that ended it.
///
/// Before `f` runs, `*stack_limit` is set to the lowest address wasm code may
/// use on that stack (its bottom plus [`host_slack`]); the previous value is
/// restored afterwards, whatever happens. A panic of `f` is re-raised on the
/// caller's stack. The stack returns to the pool in every case. If no stack
/// can be mapped, the result is a [`STACK_OVERFLOW`] trap with pc 0 and an
/// empty backtrace: the call stack cannot grow.
///
/// Installs the signal handlers ([`init_traps`]) and this thread's alternate
/// signal stack if not done yet.
///
/// # Safety
/// `stack_limit` must be valid for reads and writes for the whole call. If a
/// trap ends the call, the execution stack is abandoned without running
/// destructors: `f` (including its captures and every frame it has on the
/// stack while wasm code can trap) must hold nothing whose `Drop` has to run.
/// See the crate documentation.
pub unsafe fn run_on_stack<R>(
    pool: &StackPool,
    stack_limit: *mut usize,
    f: impl FnOnce() -> R,
) -> Result<R, Trap> {
    init_traps();
    signals::ensure_alt_stack();

    let Some(pooled) = pool.take() else {
        return Err(Trap {
            code: STACK_OVERFLOW,
            pc: 0,
            backtrace: Vec::new(),
        });
    };
    let pool::PooledStack {
        stack,
        mut backtrace,
    } = pooled;
    let bounds = StackBounds::of(&stack);

    let mut slot: Option<R> = None;
    let slot_ptr: *mut Option<R> = &mut slot;
    let body = move |_: &Yielder<(), Infallible>, ()| {
        let r = f();
        // SAFETY: `slot` outlives the coroutine and nothing else touches it
        // while the coroutine runs.
        unsafe { *slot_ptr = Some(r) };
    };
    // SAFETY: the coroutine borrows `slot` and `f`'s captures, and it is run
    // to completion (return, panic, or trap) before this function returns, so
    // nothing it borrows outlives the borrow.
    let mut co: Coroutine<(), Infallible, (), _> =
        unsafe { Coroutine::with_stack_unchecked(stack, body) };

    let act = Activation {
        kind: Kind::Coroutine(co.trap_handler()),
        bounds,
        limit: bounds.wasm_limit(),
        prev: Cell::new(signals::current_activation()),
        yielder: Cell::new(std::ptr::null()),
        cancelled: Cell::new(false),
        trapped: Cell::new(false),
        code: Cell::new(0),
        pc: Cell::new(0),
        backtrace: backtrace.as_mut_ptr(),
        backtrace_cap: backtrace.len(),
        backtrace_len: Cell::new(0),
    };
    signals::set_current_activation(&act);

    // SAFETY: the caller vouches for `stack_limit`.
    let old_limit = unsafe { stack_limit.read() };
    let wasm_limit = bounds.wasm_limit();
    // SAFETY: as above.
    unsafe { stack_limit.write(wasm_limit) };

    let outcome = panic::catch_unwind(AssertUnwindSafe(|| co.resume(())));

    signals::set_current_activation(act.prev.get());
    // SAFETY: as above.
    unsafe { stack_limit.write(old_limit) };

    // Read the trap before the buffer goes back to the pool.
    let trap = act.trapped.get().then(|| Trap {
        code: act.code.get(),
        pc: act.pc.get(),
        // SAFETY: the handler wrote `backtrace_len <= backtrace_cap` entries
        // and is done with the buffer.
        backtrace: unsafe { std::slice::from_raw_parts(act.backtrace, act.backtrace_len.get()) }
            .to_vec(),
    });

    // The coroutine is finished in every case: `f` returned, its panic came
    // out of `resume`, or the trap handler ended it (the yielder is never
    // used, so it cannot be suspended).
    debug_assert!(co.done());
    pool.give_back(pool::PooledStack {
        stack: co.into_stack(),
        backtrace,
    });

    match outcome {
        Ok(CoroutineResult::Yield(never)) => match never {},
        Err(payload) => panic::resume_unwind(payload),
        Ok(CoroutineResult::Return(())) => {}
    }
    match (trap, slot) {
        (Some(trap), _) => Err(trap),
        (None, Some(r)) => Ok(r),
        // Not reachable: the coroutine returned without trapping, so `f`
        // returned and filled the slot. Reported as a trap rather than a
        // panic because it would mean the stack was torn down under `f`.
        (None, None) => Err(Trap {
            code: STACK_OVERFLOW,
            pc: 0,
            backtrace: Vec::new(),
        }),
    }
}
