//! Per-architecture assembly, in one place: every stub that generated
//! code or the runtime enters with a register or stack state no Rust
//! function can take. Each architecture has one file (`x86_64.rs`,
//! `aarch64.rs`) with the same items, selected here by `target_arch`;
//! callers name them through this module (`crate::vm::arch::throw`, ...)
//! and never see a `cfg`. A new architecture is a new file with the items
//! below, each keeping its contract (the synchronous entry frame and the
//! fibers are `nyash_asyncify`'s, not here).
//!
//! The contracts, the same on every architecture (the files say which
//! registers):
//!
//! - **`throw`, `throw_ref`** (the `Throw` and `ThrowRef` builtins' table
//!   entries). Generated code calls them in Cranelift's `tail` convention
//!   (`Builtin::unwinds`), as `try_call`s inside a `try_table`, with the
//!   builtin's arguments (`vmctx, tag, values` or `vmctx, exn`). The stub
//!   adds the caller's return address and frame pointer (the throw point
//!   the unwinder starts its walk from) after the arguments and enters
//!   `libcalls::throw_body` / `libcalls::throw_ref_body` (C convention). If
//!   the body returns (no wasm frame catches), its `u32` result is the
//!   stub's, in the `tail` convention's return register; if a handler
//!   catches, the body never returns ([`resume`]) and the stub's frame, if
//!   it has one, is abandoned with it.
//! - **`gc_stub!`** (the table entries of the builtins that may collect,
//!   `Builtin::may_gc`; invoked in `libcalls.rs` once per such builtin).
//!   Called in the C convention with the VMContext first. The stub writes
//!   the caller's return address and frame pointer (the innermost wasm
//!   frame) into the store context's exit record
//!   (`store_context::LAST_EXIT_PC`/`LAST_EXIT_FP`, reached through the
//!   VMContext's `STORE_CONTEXT` word), where the collector's stack walk
//!   starts, then tail-jumps to the Rust body with every argument register
//!   untouched, so the body returns straight to generated code.
//! - **`lazy_resolver_address`**: the address the lazy stubs
//!   (`nyash_aot::lazy`) jump to the first time their function is called,
//!   with the stack as the call left it plus two words (the module's
//!   `ModuleInner` at the top, then the defined function index). The
//!   resolver saves every register an argument (or the return-area
//!   pointer) of the `tail` convention may be in, calls
//!   `lazy::resolve_body(module, defined)` on an aligned stack, restores
//!   them, drops its two words and jumps to the address the body returned,
//!   so the callee starts exactly as if it had been called directly. `0`
//!   where there is no resolver (`Compiler::supports_lazy` is false there,
//!   so no lazy image is ever made).
//! - **[`resume`]**: the unwinder's jump to a handler
//!   (`unwind::resume`): stack pointer and frame pointer set to the
//!   handler frame's, the exception's payload words in the registers the
//!   `tail` convention's exception payload uses, then a jump to the handler.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::*;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::*;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("nyash-engine has assembly stubs for x86_64 and aarch64 only (engine/src/vm/arch/)");
