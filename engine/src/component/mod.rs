//! The Component Model's runtime (placeholder module root: the lead's
//! runtime replaces this file).

pub(crate) mod abi;
pub mod val;

pub use val::{ResourceAny, Val};
