//! Async calls: wasm runs on a fiber (an execution stack that can suspend);
//! when an async host function's future is pending, or an epoch or fuel yield
//! is due, the fiber suspends and the call's future returns `Pending`; the
//! next poll resumes the fiber where it stopped. Dropping the future cancels
//! the call: the suspended host function drops its future and fails, and the
//! resulting trap unwinds the wasm frames; the stack goes back to the pool.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::task::{Context, Poll};

use nyash_asyncify::{Fiber, Resume};

use crate::error::{Error, Result, TrapCode};
use crate::func::{Caller, Func};
use crate::vm::invoke::trap_to_error;
use crate::vm::store_opaque::{FuncKind, StoreInner, StoreOpaque};
use crate::vm::vmcontext::ValRaw;

thread_local! {
    /// The task context of the async call being polled on this thread, while
    /// its fiber runs. Code in a synchronous call nested in it must not use
    /// it: read it through `current_cx`.
    static ASYNC_CX: Cell<*mut Context<'static>> = const { Cell::new(ptr::null_mut()) };
}

/// The task context of the async call this code runs in directly, or null
/// if it is not in one, or a synchronous call is in between (the innermost
/// activation is then not a fiber): such code cannot suspend.
fn current_cx() -> *mut Context<'static> {
    if !nyash_asyncify::can_suspend() {
        return ptr::null_mut();
    }
    ASYNC_CX.with(|c| c.get())
}

/// Sets the task context for the duration of a resumption and restores the
/// previous one after.
pub(crate) struct CxGuard(*mut Context<'static>);

impl CxGuard {
    pub(crate) fn set(cx: *mut Context<'_>) -> CxGuard {
        CxGuard(ASYNC_CX.with(|c| c.replace(cx.cast())))
    }
}

impl Drop for CxGuard {
    fn drop(&mut self) {
        ASYNC_CX.with(|c| c.set(self.0));
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Yield {
    /// Suspended and resumed.
    Yielded,
    /// Not in an async call: nothing to yield to.
    NotAsync,
    /// The call is being cancelled.
    Cancelled,
}

/// Yields the running async call to its executor once (waking it at once).
pub(crate) fn yield_now() -> Yield {
    let cx = current_cx();
    if cx.is_null() {
        return Yield::NotAsync;
    }
    // SAFETY: the context is live while the poll that set it runs.
    unsafe { (*cx).waker().wake_by_ref() };
    match nyash_asyncify::suspend() {
        Ok(()) => Yield::Yielded,
        Err(_) => Yield::Cancelled,
    }
}

/// Drives `future` from code running on a fiber: polls it with the current
/// task context, suspending the fiber while it is pending.
pub(crate) fn block_on_fiber<R>(
    mut future: Pin<&mut (dyn Future<Output = Result<R>> + Send + '_)>,
) -> Result<R> {
    loop {
        let cx = current_cx();
        if cx.is_null() {
            return Err(Error::msg(
                "an async host function was called from a synchronous call; use `call_async`",
            ));
        }
        // SAFETY: the context is live while the poll that set it runs.
        match future.as_mut().poll(unsafe { &mut *cx }) {
            Poll::Ready(r) => return r,
            Poll::Pending => {
                if nyash_asyncify::suspend().is_err() {
                    return Err(Error::msg("the async call was cancelled"));
                }
            }
        }
    }
}

/// A raw pointer that may cross threads with the future that owns its target.
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: only used for pointers into a store whose future is being polled;
// the store is `Send` when its data is.
unsafe impl<T> Send for SendPtr<T> {}

/// Runs `f` on a fiber, polled by the returned future.
async fn run_fiber<R: Send>(store: &mut StoreOpaque, f: impl FnOnce() -> R + Send) -> Result<R> {
    if !store.engine.config().async_support {
        return Err(Error::msg(
            "async support is not enabled in the engine's Config",
        ));
    }
    let engine = store.engine.clone();
    let limit = SendPtr(&mut store.vmstore.stack_limit as *mut usize);
    // SAFETY: the stack limit lives in the store, which outlives the fiber
    // (the fiber is dropped in this function); `f` holds only plain values
    // and pointers.
    let fiber = unsafe { Fiber::new(&engine.inner.stacks, limit.0, f) };
    let Some(mut fiber) = fiber else {
        return Err(TrapCode::StackOverflow.into());
    };
    let result = std::future::poll_fn(|cx| {
        let _guard = CxGuard::set(cx);
        match fiber.resume() {
            Resume::Suspended => Poll::Pending,
            Resume::Done(r) => Poll::Ready(r),
        }
    })
    .await;
    drop(fiber);
    result.map_err(|trap| trap_to_error(store, trap))
}

/// Calls `func` on a fiber: the async counterpart of `Func::call_raw`.
pub(crate) async fn call_raw_async<T: Send + 'static>(
    func: &Func,
    store: &mut StoreInner<T>,
    values: &mut [ValRaw],
) -> Result<()> {
    let values_ptr = SendPtr(values.as_mut_ptr());
    let len = values.len();
    let store_ptr = SendPtr(store as *mut StoreInner<T>);
    match &store.opaque.func(func).kind {
        FuncKind::Host { ctx } => {
            // SAFETY: `StoreOpaque::func` made sure the function is this
            // store's, so its closure is for this `T`.
            let call = unsafe { crate::vm::invoke::host_fn_of::<T>(ctx) }.clone();
            let r = run_fiber(&mut store.opaque, move || {
                let (s, v) = (store_ptr, values_ptr);
                // SAFETY: the store and values outlive the fiber, and
                // nothing else touches them while it runs.
                let (store, values) =
                    unsafe { (&mut *s.0, std::slice::from_raw_parts_mut(v.0, len)) };
                call(
                    Caller {
                        store,
                        caller: None,
                    },
                    values,
                )
                .map_err(SendError)
            })
            .await?;
            r.map_err(|e| e.0)
        }
        FuncKind::Wasm {
            instance,
            func_index,
            ..
        } => {
            let inst = &store.opaque.instances[*instance];
            let entry = SendPtr(inst.module.entry_trampoline(*func_index) as *mut u8);
            let wasm_call = SendPtr(inst.module.wasm_call(*func_index) as *mut u8);
            let vmctx = SendPtr(inst.vmctx_ptr());
            // As in `vm::invoke::invoke`: this call's exit record starts
            // empty, the enclosing one's is kept for the collector
            // until this call ends, also when it ends by being dropped.
            let _exit = ExitGuard::enter(&mut store.opaque);
            run_fiber(&mut store.opaque, move || {
                let (entry, wasm_call, vmctx, values) = (entry, wasm_call, vmctx, values_ptr);
                type Entry = unsafe extern "C" fn(*mut u8, *mut u8, *const u8, *mut ValRaw);
                // SAFETY: an entry trampoline for this function's type,
                // with a live instance's VMContext and a sized array.
                unsafe {
                    let entry: Entry = std::mem::transmute::<*mut u8, Entry>(entry.0);
                    entry(vmctx.0, vmctx.0, wasm_call.0, values.0)
                }
            })
            .await
        }
    }
}

/// Keeps a call's place in `StoreOpaque::exits` and restores the
/// enclosing call's exit record when dropped (when the call returns,
/// traps, or its future is dropped).
struct ExitGuard {
    store: SendPtr<StoreOpaque>,
    depth: usize,
}

impl ExitGuard {
    fn enter(store: &mut StoreOpaque) -> ExitGuard {
        let vm = &mut *store.vmstore;
        store.exits.push([vm.last_exit_pc, vm.last_exit_fp]);
        (vm.last_exit_pc, vm.last_exit_fp) = (0, 0);
        ExitGuard {
            depth: store.exits.len() - 1,
            store: SendPtr(store),
        }
    }
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        // SAFETY: the store outlives the call's future, which holds this
        // guard; nothing else uses the store while the future is dropped.
        let store = unsafe { &mut *self.store.0 };
        if let Some(&[pc, fp]) = store.exits.get(self.depth) {
            (store.vmstore.last_exit_pc, store.vmstore.last_exit_fp) = (pc, fp);
            store.exits.truncate(self.depth);
        }
    }
}

/// An error moved out of a fiber.
struct SendError(Error);
// SAFETY: `Error` holds only `Send` parts except `ErrorKind::Host`'s boxed
// error, which is `Send + Sync` too.
unsafe impl Send for SendError {}

/// Whether code here runs in an async call that can suspend.
pub(crate) fn in_async_call() -> bool {
    !current_cx().is_null()
}

/// Waits until `deadline`: in an async call the call suspends (the
/// engine's timer thread wakes it, so no particular executor is needed);
/// otherwise the thread sleeps.
pub(crate) fn sleep_until(deadline: std::time::Instant) -> Result<()> {
    if !in_async_call() {
        std::thread::sleep(deadline.saturating_duration_since(std::time::Instant::now()));
        return Ok(());
    }
    block_on(crate::host::sleep(deadline))
}

/// Drives `future` to completion: on the fiber in an async call,
/// otherwise by parking this thread until the future wakes it.
pub(crate) fn block_on<F: Future + Send>(future: F) -> Result<F::Output> {
    let mut future = std::pin::pin!(future);
    if in_async_call() {
        let mut ok = std::future::poll_fn(|cx| future.as_mut().poll(cx).map(Ok));
        // SAFETY: `ok` is not moved while pinned here.
        let pinned = unsafe {
            Pin::new_unchecked(&mut ok as &mut (dyn Future<Output = Result<F::Output>> + Send))
        };
        return block_on_fiber(pinned);
    }
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(r) = future.as_mut().poll(&mut cx) {
            return Ok(r);
        }
        std::thread::park();
    }
}

/// Runs blocking `f`: in an async call on a helper thread while the call
/// suspends, otherwise right here. `Err` if the async call was cancelled.
pub(crate) fn run_blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    if !in_async_call() {
        return Ok(f());
    }
    type Slot<R> = std::sync::Arc<std::sync::Mutex<(Option<R>, Option<std::task::Waker>)>>;
    struct Blocking<R> {
        slot: Slot<R>,
        job: Option<Box<dyn FnOnce() -> R + Send>>,
    }
    impl<R: Send + 'static> Future for Blocking<R> {
        type Output = Result<R>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
            let mut g = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(r) = g.0.take() {
                return Poll::Ready(Ok(r));
            }
            g.1 = Some(cx.waker().clone());
            drop(g);
            if let Some(job) = self.job.take() {
                let slot = self.slot.clone();
                std::thread::spawn(move || {
                    let r = job();
                    let mut g = slot.lock().unwrap_or_else(|e| e.into_inner());
                    g.0 = Some(r);
                    if let Some(w) = g.1.take() {
                        w.wake();
                    }
                });
            }
            Poll::Pending
        }
    }
    let mut fut = Blocking {
        slot: std::sync::Arc::new(std::sync::Mutex::new((None, None))),
        job: Some(Box::new(f)),
    };
    // SAFETY: `fut` is not moved while pinned here.
    let pinned =
        unsafe { Pin::new_unchecked(&mut fut as &mut (dyn Future<Output = Result<R>> + Send)) };
    block_on_fiber(pinned)
}
