//! The Component Model: components compiled ahead of time and run in a
//! store, in the shapes of wasmtime's `component` module.
//!
//! - A [`Component`] is a compiled component: every core module in it
//!   compiled, and what instantiating it does worked out at compile time
//!   (nested components inlined).
//! - A [`Linker`] gives a component its imports: host functions
//!   ([`LinkerInstance::func_new`]), host resource types, core modules, in
//!   instances named like `wasi:cli/stdout@0.2.3`.
//! - An [`Instance`] is a component instantiated in a [`Store`](crate::Store);
//!   its exported functions ([`Func`]) are called with [`Val`]s.
//! - A [`Type`] is the type of a [`Val`] ([`Func::params`],
//!   [`Func::results`], [`Component::exports`]; the rest of
//!   [`types`]). Both speak WAVE, the text form of component values in
//!   the `wasm-wave` crate: `wasm_wave::from_str::<Val>(&ty, "[1, 2]")`,
//!   `wasm_wave::to_string(&val)`.
//!
//! Calls cross the component boundary in a dynamic form for now: each
//! value is lifted into a [`Val`] and lowered again by the canonical ABI's
//! rules, also between two component instances of one component. Compiled
//! trampolines and fused adapters, typed functions and `bindgen!` are the
//! next layers.

mod abi;
mod call;
#[allow(clippy::module_inception)]
mod component;
mod func;
mod instance;
mod linker;
mod resources;
pub(crate) mod store;
pub mod types;
mod val;
mod wave;

pub use component::{Component, is_component};
pub use func::Func;
pub use instance::{ComponentExportIndex, Instance, InstanceExportLookup};
pub use linker::{Linker, LinkerInstance};
pub use resources::{ResourceAny, ResourceType};
pub use types::Type;
pub use val::Val;
