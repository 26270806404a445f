//! `nyash-gc`: the WebAssembly GC heap of nyash-engine. It owns the heap
//! reservation, the object layout, allocation, collection, tracing and heap
//! verification. It knows nothing of modules or instances: the engine
//! registers a layout per canonical type id and hands the collector its
//! roots as `u32` slots ([`RootSource`]).
//!
//! # References and the reservation
//!
//! A reference is a `u32` offset from the heap base: 0 is null, an odd value
//! is an `i31ref` (`(v << 1) | 1`) and is never traced, an object reference
//! is 8-aligned. Each heap reserves 8 GiB + 64 KiB of address space
//! ([`vm::RESERVATION_BYTES`]), `PROT_NONE` except what is committed. Objects
//! live in the low 4 GiB; the rest is guard, so generated code may form
//! `base + zext(ref) + zext(off32)` with a wrapping 32-bit element offset and
//! still never reach outside the reservation. The lowest 64 KiB are never
//! committed: a field access through null faults (an implicit null check).
//!
//! ```text
//! 0          64 KiB            64 KiB + nursery                              4 GiB - 64 KiB    8 GiB + 64 KiB
//! | null guard | nursery (reused) | old semi-space A     | old semi-space B     | guard ...         |
//! ```
//!
//! # Objects
//!
//! Every object has an 8-byte header. Word 0 is the type word
//! `(type_id << 3) | (kind << 1)` (kinds: struct, array, extern; bit 0 is
//! clear, so the collector's forwarding mark `new | 1` is distinguishable).
//! Word 1 is the array length, the extern object's host-data slot, or 0 for
//! a struct (collector bits, unused so far). Fields start at offset 8, at
//! natural alignment. A struct of two references is 16 bytes; an extern
//! object is 8. The engine registers each type's [`TypeLayout`] (struct size
//! and reference offsets, or array element size and whether elements are
//! references) in a table indexed by type id; header words read from the
//! heap are checked against that table before anything is trusted.
//!
//! # Allocation and collection
//!
//! Objects are bump-allocated in a fixed nursery whose `top`/`limit` live
//! in [`vm::VMGcHeapData`], a `#[repr(C)]` block at a stable address, so
//! generated code allocates inline; [`GcHeap::alloc_raw`] is the slow path.
//! Objects over [`GcConfig::pretenure_bytes`] go straight to the old space.
//!
//! - A **minor collection** copies the nursery objects reachable from the
//!   roots and from old-space slots on dirty cards to the end of the old
//!   space (promotion on first survival), then reuses the nursery from its
//!   start: the same addresses every cycle, cache-warm, no page faults.
//! - A **major collection** copies everything live (nursery and old space)
//!   into the other old semi-space (Cheney scan), so unreachable cycles are
//!   collected. The old semi-space stays resident for the next major
//!   collection (the part beyond twice what that can need is returned to
//!   the OS); in stress mode all of it is returned and made inaccessible,
//!   so a stale reference into it faults.
//! - The old space's capacity after a major collection is live data plus
//!   headroom of `max(live, 4 nurseries)`, capped by
//!   [`GcConfig::max_heap_bytes`]. When even a full collection leaves no
//!   room, allocation returns [`GcError::OutOfMemory`] and the heap stays
//!   usable.
//!
//! # Write barrier
//!
//! Card marking: after storing a reference at `obj + off`, generated code
//! sets `card_table[(obj + off) >> 9] = 1`, unconditionally (no branch). A
//! minor collection scans the dirty cards of the old space, finding the
//! objects on a card through a crossing map kept by old-space allocation.
//! Stores that initialise a fresh nursery object need no barrier; a
//! pretenured object's cards start dirty so its initialising stores need
//! none either. [`GcHeap::write_ref`] is the Rust-side store with the
//! barrier.
//!
//! # Safety against a corrupted heap
//!
//! The heap's contents are wasm-controlled. The collector touches heap
//! bytes only through `u32` offsets (and `u32` lengths) from the base, so no
//! value read from the heap can make it access memory outside the
//! reservation; on top of that every reference, header, length, forwarding
//! mark and copy is checked against the in-use ranges and the type table, so
//! a corrupted heap gives [`GcError::HeapCorrupt`] (and poisons the heap)
//! rather than a fault or a panic.
//!
//! # Verification and stress mode
//!
//! [`GcHeap::verify`] checks every header, every reference (null, i31 or an
//! object start), the card of every old-to-young edge, the crossing map,
//! the extern lists and the roots. [`GcConfig::zeal`] sends every allocation
//! to the slow path, collects there (minor and major alternately), verifies
//! after each collection, poisons the freed nursery and makes the old
//! semi-space inaccessible after each flip.
//!
//! # Example
//!
//! ```
//! use nyash_gc::{CollectionKind, GcConfig, GcHeap, TypeLayout};
//!
//! let mut heap = GcHeap::new(GcConfig::default())?;
//! // Type 1: a struct with an i32 at offset 8 and a reference at 12.
//! heap.register_type(1, TypeLayout::Struct { size: 16, ref_offsets: vec![12] })?;
//!
//! let mut roots = vec![0u32; 2];
//! roots[0] = heap.alloc_struct(1, &mut roots)?;
//! heap.write_u32(roots[0], 8, 42)?;
//! roots[1] = heap.alloc_struct(1, &mut roots)?;
//! heap.write_ref(roots[1], 12, roots[0])?; // a reference store, with the barrier
//! roots[0] = 0;
//!
//! heap.collect(CollectionKind::Major, &mut roots)?; // objects move; roots are updated
//! let child = heap.read_ref(roots[1], 12)?;
//! assert_eq!(heap.read_u32(child, 8)?, 42);
//! heap.verify(&mut roots)?;
//! # Ok::<(), nyash_gc::GcError>(())
//! ```

#![warn(missing_docs)]

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
