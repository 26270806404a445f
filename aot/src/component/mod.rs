//! The Component Model, first layer: components are parsed, validated and
//! translated ([`translate`]) into per-component lists of initializers with
//! their types in the engine's own words ([`types`]), and the inliner
//! ([`inline`]) interprets those at compile time into one flat description
//! of the root: core instances to create, lowered host imports, fused
//! adapters, resources, exports. Nothing here compiles or runs code yet;
//! the canonical ABI's trampolines and adapters will build on these.

pub mod artifact;
pub mod inline;
pub mod translate;
pub mod types;

pub use translate::{ComponentTranslation, translate};
