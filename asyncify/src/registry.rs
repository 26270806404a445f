//! The process-wide registry of generated code images.
//!
//! The signal handler consults it to decide whether a fault is ours, so the
//! lookup path takes only a read lock and allocates nothing.

use std::cell::Cell;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Lookup of generated code, implemented by the engine for each loaded code image.
///
/// Both methods are called from the signal handler, on the faulting thread,
/// while that thread's wasm code is interrupted: they must not allocate, lock
/// or panic (a binary search over tables built before registration is the
/// intended implementation).
pub trait CodeInfo: Send + Sync + 'static {
    /// The raw Cranelift trap code (`TrapCode::as_raw().get()`) if `pc` is a
    /// trap site of this image.
    fn trap_code(&self, pc: usize) -> Option<u8>;
    /// True if `pc` lies inside a compiled wasm function body of this image.
    /// Backtraces walk up through the frames of such functions only.
    fn is_wasm_function(&self, pc: usize) -> bool;
    /// The implementation, for the engine to reach its own tables (the
    /// exception unwinder's handler lookup; not called by the signal handler).
    fn as_any(&self) -> &dyn std::any::Any;
}

pub(crate) struct Entry {
    start: usize,
    end: usize,
    pub(crate) info: Arc<dyn CodeInfo>,
}

/// Sorted by `start`; ranges never overlap.
static REGISTRY: RwLock<Vec<Entry>> = RwLock::new(Vec::new());

thread_local! {
    /// Set while this thread holds the registry lock outside the signal
    /// handler. A fault in that window (a bug, but possible while a host
    /// function called from wasm loads a module) must not make the handler
    /// take the lock again: with a writer queued that would deadlock instead
    /// of crashing.
    static IN_REGISTRY: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as inside the registry for the lifetime of the value.
struct InRegistry;

impl InRegistry {
    fn enter() -> InRegistry {
        IN_REGISTRY.with(|f| f.set(true));
        InRegistry
    }
}

impl Drop for InRegistry {
    fn drop(&mut self) {
        IN_REGISTRY.with(|f| f.set(false));
    }
}

fn write() -> RwLockWriteGuard<'static, Vec<Entry>> {
    // A panic while holding the lock cannot leave the vector unsorted (every
    // mutation is a single insert or remove), so poisoning carries no meaning.
    REGISTRY.write().unwrap_or_else(|e| e.into_inner())
}

fn read() -> RwLockReadGuard<'static, Vec<Entry>> {
    REGISTRY.read().unwrap_or_else(|e| e.into_inner())
}

/// Registers the code image `[start, end)`. Registering the same `start`
/// again replaces the previous entry. An empty range is ignored.
pub fn register_code(start: usize, end: usize, info: Arc<dyn CodeInfo>) {
    if start >= end {
        return;
    }
    let _mark = InRegistry::enter();
    let replaced;
    {
        let mut images = write();
        let idx = images.partition_point(|e| e.start < start);
        let entry = Entry { start, end, info };
        if images.get(idx).is_some_and(|e| e.start == start) {
            replaced = Some(std::mem::replace(&mut images[idx], entry));
        } else {
            debug_assert!(
                idx == 0 || images[idx - 1].end <= start,
                "code image {start:#x}..{end:#x} overlaps its predecessor"
            );
            debug_assert!(
                images.get(idx).is_none_or(|e| end <= e.start),
                "code image {start:#x}..{end:#x} overlaps its successor"
            );
            images.insert(idx, entry);
            replaced = None;
        }
    }
    // The engine's CodeInfo may do anything on drop; not under the lock.
    drop(replaced);
}

/// Removes the code image registered as exactly `[start, end)`, if any.
/// Both ends must match, so a stale or mistaken call can never remove
/// another image that happens to start at the same address.
pub fn unregister_code(start: usize, end: usize) {
    let _mark = InRegistry::enter();
    let removed = {
        let mut images = write();
        let idx = images.partition_point(|e| e.start < start);
        if images
            .get(idx)
            .is_some_and(|e| e.start == start && e.end == end)
        {
            Some(images.remove(idx))
        } else {
            None
        }
    };
    drop(removed);
}

/// The image containing `pc`, for the engine's own use (backtraces, ...).
pub fn lookup_code(pc: usize) -> Option<Arc<dyn CodeInfo>> {
    let _mark = InRegistry::enter();
    let images = read();
    find(&images, pc).map(|e| e.info.clone())
}

pub(crate) fn find(images: &[Entry], pc: usize) -> Option<&Entry> {
    let idx = images.partition_point(|e| e.start <= pc);
    let entry = images.get(idx.checked_sub(1)?)?;
    (pc < entry.end).then_some(entry)
}

/// The registry for the signal handler, or `None` if this thread already
/// holds the lock (see `IN_REGISTRY`).
pub(crate) fn read_for_signal() -> Option<RwLockReadGuard<'static, Vec<Entry>>> {
    if IN_REGISTRY.with(|f| f.get()) {
        return None;
    }
    Some(read())
}

/// True if `pc` is inside a wasm function of any registered image.
pub(crate) fn is_wasm_function(images: &[Entry], pc: usize) -> bool {
    find(images, pc).is_some_and(|e| e.info.is_wasm_function(pc))
}

/// Removes every code image registered inside `[start, end)` (the pieces of
/// a region whose code was placed one function at a time), in one pass.
pub fn unregister_code_within(start: usize, end: usize) {
    let _mark = InRegistry::enter();
    let removed: Vec<Entry> = {
        let mut images = write();
        let first = images.partition_point(|e| e.start < start);
        let last = images.partition_point(|e| e.start < end);
        images.drain(first..last).filter(|e| e.end <= end).collect()
    };
    drop(removed);
}
