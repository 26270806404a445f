//! The WebAssembly GC heap of nyash-engine (placeholder docs, replaced below).

mod collect;
mod error;
mod heap;
mod layout;
mod mem;
mod verify;
pub mod vm;

pub use error::GcError;
pub use heap::{CollectionKind, GcConfig, GcHeap, GcStats, RootSource};
pub use layout::TypeLayout;
pub use verify::HeapCensus;
