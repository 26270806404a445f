//! The pool of execution stacks.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use corosensei::stack::{DefaultStack, Stack};

/// The most frames a trap's backtrace records.
pub const MAX_BACKTRACE_FRAMES: usize = 256;

/// Idle stacks kept for reuse; more than this are unmapped when returned, so
/// a burst of deep wasm -> host -> wasm nesting does not pin memory forever.
const MAX_IDLE: usize = 64;

/// One execution stack and the buffer a trap on it writes its backtrace to
/// (the signal handler must not allocate).
pub(crate) struct PooledStack {
    pub(crate) stack: DefaultStack,
    pub(crate) backtrace: Box<[usize]>,
}

/// A pool of execution stacks: mmap'd, with a guard page below, reused across
/// calls and threads.
pub struct StackPool {
    stack_size: usize,
    idle: Mutex<Vec<PooledStack>>,
    /// Stacks currently mapped, idle or in use.
    live: AtomicUsize,
}

impl std::fmt::Debug for StackPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackPool")
            .field("stack_size", &self.stack_size)
            .field("live", &self.live_stacks())
            .field("idle", &self.idle_stacks())
            .finish()
    }
}

impl StackPool {
    /// A pool whose stacks have at least `stack_size` usable bytes (rounded up
    /// to whole pages). Wasm may use all but the lowest [`crate::host_slack`]
    /// bytes, so pass the wasm stack budget plus `host_slack()`. Stacks are
    /// mapped lazily, on first use.
    pub fn new(stack_size: usize) -> StackPool {
        StackPool {
            stack_size,
            idle: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
        }
    }

    /// The usable size requested for each stack.
    pub fn stack_size(&self) -> usize {
        self.stack_size
    }

    /// Stacks currently mapped by this pool (idle plus in use).
    pub fn live_stacks(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Stacks waiting in the pool for reuse.
    pub fn idle_stacks(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PooledStack>> {
        // The vector is consistent after any panic (push/pop only).
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle stack, or a new one; `None` if the mapping failed.
    pub(crate) fn take(&self) -> Option<PooledStack> {
        if let Some(s) = self.lock().pop() {
            return Some(s);
        }
        let stack = DefaultStack::new(self.stack_size).ok()?;
        self.live.fetch_add(1, Ordering::Relaxed);
        Some(PooledStack {
            stack,
            backtrace: vec![0; MAX_BACKTRACE_FRAMES].into_boxed_slice(),
        })
    }

    pub(crate) fn give_back(&self, stack: PooledStack) {
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE {
            idle.push(stack);
        } else {
            drop(idle);
            drop(stack);
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Bounds of a stack: `[guard, bottom)` is the guard page, `[bottom, top)`
/// the usable memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StackBounds {
    pub(crate) guard: usize,
    pub(crate) bottom: usize,
    pub(crate) top: usize,
}

impl StackBounds {
    pub(crate) fn of(stack: &DefaultStack) -> StackBounds {
        // DefaultStack maps exactly one guard page at its limit.
        let guard = stack.limit().get();
        StackBounds {
            guard,
            bottom: guard + page_size(),
            top: stack.base().get(),
        }
    }
}

impl StackBounds {
    /// The lowest address wasm code may use on this stack: [`host_slack`]
    /// bytes above the bottom are kept for host functions.
    ///
    /// [`host_slack`]: crate::host_slack
    #[inline]
    pub(crate) fn wasm_limit(&self) -> usize {
        self.bottom
            .saturating_add(crate::host_slack())
            .min(self.top)
    }

    /// Whether `addr` lies in the usable part of this stack.
    #[inline]
    pub(crate) fn contains(&self, addr: usize) -> bool {
        addr >= self.bottom && addr < self.top
    }
}

pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let cached = PAGE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = usize::try_from(page)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096);
    PAGE.store(page, Ordering::Relaxed);
    page
}

// StackPool is shared by every thread of an engine.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StackPool>();
};
