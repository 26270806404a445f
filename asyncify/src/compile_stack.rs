//! A large stack of each thread's own for work that must not run on the
//! stack it is asked from: compiling a function the first time wasm code
//! calls it (lazy compilation) happens in the middle of that code, with no
//! more below it than the stack's host slack.

use std::cell::Cell;

use corosensei::stack::{DefaultStack, Stack, StackPointer};

/// Usable bytes of a compile stack (committed only as touched).
const COMPILE_STACK_SIZE: usize = 8 << 20;

thread_local! {
    /// The thread's compile stack while it is not in use.
    static STACK: Cell<Option<DefaultStack>> = const { Cell::new(None) };
}

/// Runs `f` on this thread's compile stack (made on first use), and returns
/// its result; a panic of `f` is propagated. If the stack is already in use
/// (`f` nested in another such call) or cannot be made, `f` runs on a new
/// stack, or failing that on this one.
pub fn on_compile_stack<R>(f: impl FnOnce() -> R) -> R {
    let stack = STACK
        .with(|s| s.take())
        .or_else(|| DefaultStack::new(COMPILE_STACK_SIZE).ok());
    let Some(stack) = stack else { return f() };
    let result = corosensei::on_stack(Borrowed(&stack), f);
    STACK.with(|s| s.set(Some(stack)));
    result
}

/// A stack lent to `on_stack`, which takes its stack by value.
struct Borrowed<'a>(&'a DefaultStack);

// SAFETY: the same stack as the one it borrows, which outlives the call.
unsafe impl Stack for Borrowed<'_> {
    fn base(&self) -> StackPointer {
        self.0.base()
    }

    fn limit(&self) -> StackPointer {
        self.0.limit()
    }
}
