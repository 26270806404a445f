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
//!   its exported functions ([`Func`]) are called with [`Val`]s, or with
//!   Rust values as a [`TypedFunc`] ([`Instance::get_typed_func`]).
//! - Host functions are given with dynamic [`Val`]s
//!   ([`LinkerInstance::func_new`]) or as typed closures
//!   ([`LinkerInstance::func_wrap`]), either of them async
//!   ([`LinkerInstance::func_new_async`], [`LinkerInstance::func_wrap_async`]).
//! - An [`InstancePre`] ([`Linker::instantiate_pre`]) is a component with
//!   its imports resolved and checked once, to instantiate many times.
//! - Host resources are Rust values the host keeps (in a
//!   [`ResourceTable`]), named by typed handles [`Resource<T>`]
//!   (`own<T>`; [`Borrow<Resource<T>>`](Borrow) for `borrow<T>`); a
//!   component's own resources are [`ResourceAny`]s.
//! - A [`Type`] is the type of a [`Val`] ([`Func::params`],
//!   [`Func::results`], [`Component::exports`]; the rest of
//!   [`types`]). Both speak WAVE, the text form of component values in
//!   the `wasm-wave` crate: `wasm_wave::from_str::<Val>(&ty, "[1, 2]")`,
//!   `wasm_wave::to_string(&val)`.
//!
//! Typed values ([`ComponentType`], [`Lift`], [`Lower`], derived for
//! records, variants, enums and flags) are lowered straight into core
//! values and memory and lifted straight out. Dynamic calls go through
//! [`Val`]s; calls between two component instances of one component go
//! through compiled fused adapters (core wasm the compiler generated,
//! [`Component::compiled_adapters`]) where their types allow, else
//! through [`Val`]s too.
//! [`bindgen!`](bindgen) generates all of these for a WIT world: Rust types,
//! host traits with `add_to_linker`, typed wrappers of the exports, host
//! and guest resources, `<World>Pre`.
//! Compiled trampolines for host imports and exports are the next layer.

mod abi;
mod adapter;
mod call;
#[allow(clippy::module_inception)]
mod component;
mod concurrent;
mod func;
mod instance;
mod linker;
mod pre;
mod resource_table;
mod resources;
pub(crate) mod store;
mod typed;
mod typed_resource;
pub mod types;
mod val;
mod wave;

pub use component::{Component, is_component};
pub use func::Func;
pub use instance::{ComponentExportIndex, Instance, InstanceExportLookup};
pub use linker::{Linker, LinkerInstance};
pub use pre::InstancePre;
pub use resource_table::{ResourceTable, ResourceTableError};
pub use resources::{ResourceAny, ResourceType};
pub use typed::{
    ComponentNamedList, ComponentType, Lift, LiftContext, Lower, LowerContext, TypedFunc,
};
pub use typed_resource::{Borrow, Resource};
pub use types::Type;
pub use val::Val;

/// `#[derive(ComponentType, Lift, Lower)]` for records
/// (`#[component(record)] struct`), variants (`#[component(variant)]
/// enum`, each case with no payload or one) and enums
/// (`#[component(enum)] enum`); field and case names become kebab-case
/// WIT names unless `#[component(name = "...")]` says otherwise.
pub use nyash_component_macro::{ComponentType, Lift, Lower, bindgen, flags};

#[doc(hidden)]
pub use typed::__internal;
