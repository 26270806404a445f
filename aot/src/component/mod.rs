//! The Component Model, first layer: components are parsed, validated and
//! translated ([`translate`]) into per-component lists of initializers with
//! their types in the engine's own words ([`types`]), and the inliner
//! ([`inline`]) interprets those at compile time into one flat description
//! of the root: core instances to create, lowered host imports, fused
//! adapters, resources, exports; [`artifact`] is the `.nwasm` format of a
//! compiled component; [`fact`] generates the compiled fused adapters
//! (core wasm modules) for calls between the root's component instances.
//! The engine's runtime (`engine/src/component/`) instantiates and runs
//! what these describe (compiled trampolines for lowered host imports and
//! lifted exports are a later layer).

pub mod artifact;
pub mod builtins;
pub mod fact;
pub mod inline;
pub mod translate;
pub mod types;

pub use translate::{ComponentTranslation, translate};
