//! The Component Model, first layer: components are parsed, validated and
//! translated ([`translate`]) into per-component lists of initializers with
//! their types in the engine's own words ([`types`]). Nothing here runs or
//! compiles code yet; the inliner and the canonical ABI's trampolines and
//! adapters build on these.

pub mod translate;
pub mod types;

pub use translate::{ComponentTranslation, translate};
