//! Fibers: a call on an execution stack that can suspend itself and be
//! resumed later, from any thread. The engine's async calls are fibers: an
//! async host function whose future is pending suspends the fiber, and the
//! next poll of the call's future resumes it.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::pool::{self, StackBounds, StackPool};
use crate::signals::{self, Activation, Kind};
use crate::{STACK_OVERFLOW, Trap};

/// What a resumption of a fiber came to.
#[derive(Debug)]
pub enum Resume<R> {
    /// The fiber finished: its result, or the trap that ended it.
    Done(Result<R, Trap>),
    /// The fiber suspended itself; resume it again later.
    Suspended,
}

/// Returned by [`suspend`] when the fiber is being dropped: the suspended
/// code must give up (drop what it holds and return an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

type Co = Coroutine<(), (), (), corosensei::stack::DefaultStack>;

/// A call running on its own execution stack that may suspend.
pub struct Fiber<'p, R> {
    pool: &'p StackPool,
    co: Option<Co>,
    act: Box<Activation>,
    backtrace: Option<Box<[usize]>>,
    slot: Box<Option<R>>,
    stack_limit: *mut usize,
    wasm_limit: usize,
    finished: bool,
}

// SAFETY: a fiber is resumed by one thread at a time (`&mut self`), and every
// resumption re-links its activation into that thread's state. What runs on it
// must itself be fit to move between threads; the engine only creates fibers
// for stores whose data is `Send`.
unsafe impl<R: Send> Send for Fiber<'_, R> {}

impl<'p, R> Fiber<'p, R> {
    /// Prepares `f` to run on a stack from `pool`. Nothing runs until
    /// [`resume`](Self::resume). `None` if no stack could be mapped.
    ///
    /// # Safety
    /// As for [`run_on_stack`](crate::run_on_stack): `stack_limit` stays
    /// valid while the fiber lives, and `f` holds nothing whose `Drop` must
    /// run if a trap abandons the stack.
    pub unsafe fn new(
        pool: &'p StackPool,
        stack_limit: *mut usize,
        f: impl FnOnce() -> R + 'p,
    ) -> Option<Self> {
        let pool::PooledStack { stack, backtrace } = pool.take()?;
        let bounds = StackBounds::of(&stack);
        let mut slot: Box<Option<R>> = Box::new(None);
        let slot_ptr: *mut Option<R> = &mut *slot;
        // The activation and the coroutine refer to each other: allocate the
        // activation first, build the coroutine with its address, then fill it.
        let mut act: Box<std::mem::MaybeUninit<Activation>> =
            Box::new(std::mem::MaybeUninit::uninit());
        let act_ptr: *const Activation = act.as_ptr();
        // SAFETY: the coroutine borrows `slot` (boxed, so it does not move)
        // and `f`'s captures ('p); the fiber is run to completion or
        // cancelled before it is dropped. `act_ptr` is initialised before
        // the coroutine first runs.
        let co: Co = unsafe {
            Coroutine::with_stack_unchecked(stack, move |yielder: &Yielder<(), ()>, ()| {
                (*act_ptr)
                    .yielder
                    .set(yielder as *const Yielder<(), ()> as *const ());
                let r = f();
                *slot_ptr = Some(r);
            })
        };
        let mut backtrace = backtrace;
        act.write(Activation {
            kind: Kind::Coroutine(co.trap_handler()),
            bounds,
            limit: bounds.wasm_limit(),
            prev: Cell::new(std::ptr::null()),
            yielder: Cell::new(std::ptr::null()),
            cancelled: Cell::new(false),
            trapped: Cell::new(false),
            code: Cell::new(0),
            pc: Cell::new(0),
            backtrace: backtrace.as_mut_ptr(),
            backtrace_cap: backtrace.len(),
            backtrace_len: Cell::new(0),
        });
        // SAFETY: written just above.
        let act: Box<Activation> = unsafe { Box::from_raw(Box::into_raw(act).cast()) };
        let wasm_limit = bounds.wasm_limit();
        Some(Fiber {
            pool,
            co: Some(co),
            act,
            backtrace: Some(backtrace),
            slot,
            stack_limit,
            wasm_limit,
            finished: false,
        })
    }

    /// Runs the fiber until it finishes or suspends. Resuming a finished
    /// fiber reports a stack-overflow trap with pc 0 (never happens when the
    /// caller stops at `Done`).
    pub fn resume(&mut self) -> Resume<R> {
        let Some(co) = self.co.as_mut() else {
            return Resume::Done(Err(Trap {
                code: STACK_OVERFLOW,
                pc: 0,
                backtrace: Vec::new(),
            }));
        };
        crate::init_traps();
        signals::ensure_alt_stack();
        self.act.prev.set(signals::current_activation());
        signals::set_current_activation(&*self.act);
        // SAFETY: the caller of `new` vouched for `stack_limit`.
        let old_limit = unsafe { self.stack_limit.read() };
        // SAFETY: as above; the old limit is written back after the resume.
        unsafe { self.stack_limit.write(self.wasm_limit) };

        let outcome = panic::catch_unwind(AssertUnwindSafe(|| co.resume(())));

        signals::set_current_activation(self.act.prev.get());
        // SAFETY: as above.
        unsafe { self.stack_limit.write(old_limit) };

        match outcome {
            Ok(CoroutineResult::Yield(())) => Resume::Suspended,
            Ok(CoroutineResult::Return(())) => Resume::Done(self.finish()),
            Err(payload) => {
                let _ = self.finish();
                panic::resume_unwind(payload)
            }
        }
    }

    fn finish(&mut self) -> Result<R, Trap> {
        self.finished = true;
        let trap = self.act.trapped.get().then(|| Trap {
            code: self.act.code.get(),
            pc: self.act.pc.get(),
            // SAFETY: the handler wrote that many entries and is done.
            backtrace: unsafe {
                std::slice::from_raw_parts(self.act.backtrace, self.act.backtrace_len.get())
            }
            .to_vec(),
        });
        if let (Some(co), Some(backtrace)) = (self.co.take(), self.backtrace.take()) {
            self.pool.give_back(pool::PooledStack {
                stack: co.into_stack(),
                backtrace,
            });
        }
        match (trap, self.slot.take()) {
            (Some(t), _) => Err(t),
            (None, Some(r)) => Ok(r),
            (None, None) => Err(Trap {
                code: STACK_OVERFLOW,
                pc: 0,
                backtrace: Vec::new(),
            }),
        }
    }

    /// Whether the fiber has finished (or never will run again).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl<R> Drop for Fiber<'_, R> {
    fn drop(&mut self) {
        let Some(co) = self.co.as_ref() else { return };
        if !co.started() {
            // Never ran: nothing on its stack.
            let co = self.co.take().expect("present");
            if let Some(backtrace) = self.backtrace.take() {
                self.pool.give_back(pool::PooledStack {
                    stack: co.into_stack(),
                    backtrace,
                });
            }
            return;
        }
        // Suspended: let the code on it see the cancellation and unwind
        // itself (its host frames drop what they hold, then wasm traps).
        self.act.cancelled.set(true);
        for _ in 0..16 {
            if let Resume::Done(_) = self.resume() {
                return;
            }
        }
        // It ignored the cancellation: abandon the stack (leaking what is on
        // it) rather than unwind through frames that cannot be unwound.
        if let Some(mut co) = self.co.take() {
            // SAFETY: nothing will run on this stack again.
            unsafe { co.force_reset() };
            if let Some(backtrace) = self.backtrace.take() {
                self.pool.give_back(pool::PooledStack {
                    stack: co.into_stack(),
                    backtrace,
                });
            }
        }
    }
}

/// Whether code here runs directly on a fiber, with no synchronous call in
/// between, so that [`suspend`] can suspend it (unless it is cancelled).
#[inline]
pub fn can_suspend() -> bool {
    // SAFETY: the current activation is live while code runs inside it.
    unsafe { signals::current_activation().as_ref() }.is_some_and(|a| !a.yielder.get().is_null())
}

/// Suspends the fiber this code runs on, returning to whoever resumed it;
/// returns when it is resumed. `Err(Cancelled)` if the fiber is being
/// dropped, or if this code is not running directly on a fiber (a
/// synchronous call is in between): then it cannot suspend.
pub fn suspend() -> Result<(), Cancelled> {
    let act = signals::current_activation();
    if act.is_null() {
        return Err(Cancelled);
    }
    // SAFETY: the current activation is live while code runs on its stack.
    let act = unsafe { &*act };
    let yielder = act.yielder.get() as *const Yielder<(), ()>;
    if yielder.is_null() || act.cancelled.get() {
        return Err(Cancelled);
    }
    // SAFETY: the yielder belongs to the coroutine we are running on.
    unsafe { (*yielder).suspend(()) };
    if act.cancelled.get() {
        Err(Cancelled)
    } else {
        Ok(())
    }
}
