//! The contract between generated code and the heap: reference encoding,
//! object header, the reservation's shape, the card table, and the
//! `#[repr(C)]` block ([`VMGcHeapData`]) that inline allocation and the write
//! barrier read and write. Code generation must take every number from here.
//!
//! ```text
//! VMGcHeapData (8-byte aligned, at a stable address for the heap's lifetime)
//!   +0   base: *mut u8           heap reservation; an object is at base + ref
//!   +8   card_table: *mut u8     one byte per 2^CARD_SHIFT bytes of heap offset
//!   +16  nursery_top: u32        next free nursery offset (8-aligned)
//!   +20  nursery_limit: u32      allocate inline only while top + size <= limit
//! ```
//!
//! Inline allocation of `size` bytes (a multiple of 8):
//! `new = zext64(top) + size; if new > zext64(limit) { slow path } else { top = new; ... }`,
//! then store the header words and every field (the nursery is not zeroed;
//! an initialising store needs no barrier as long as no call separates it
//! from the allocation). The slow path is [`crate::GcHeap::alloc_raw`]
//! (it takes the two header words, derives the size from the registered
//! type, zeroes the body); a limit of 0 sends every allocation there (GC
//! requests, stress mode). Any object fits the inline path as far as the
//! collector is concerned, but arrays above `GcConfig::pretenure_bytes`
//! should take the slow path, which allocates them in the old space with
//! their cards dirty (so their initialising stores need no barrier either).
//! Objects move only inside the heap's calls (allocation slow path,
//! collection), so a reference held across one must be in a root slot.
//!
//! Write barrier, after a reference store at `obj + off` (any object, young
//! or old, any value):
//! `card_table[((obj + off) as u32 wrapping) >> CARD_SHIFT] = 1`.
//! The index is a `u32` shifted right, so it is always inside the table.

/// Heap references are `u32` offsets from `VMGcHeapData::base`. 0 is null.
pub const NULL_REF: u32 = 0;
/// A reference with this bit set is an unboxed `i31ref`: `(value << 1) | 1`.
/// The collector never follows it.
pub const I31_TAG: u32 = 1;

/// Bytes reserved per heap: the heap proper is the low 4 GiB, and the rest is
/// a `PROT_NONE` guard, so any `base + zext(u32 ref) + zext(u32 offset)` access
/// of up to 64 KiB lands inside the reservation (generated code may compute an
/// array element offset in wrapping `i32` arithmetic and add no bounds check).
pub const RESERVATION_BYTES: u64 = (8 << 30) + (64 << 10);
/// The lowest offsets are `PROT_NONE` forever: a load or store through a null
/// reference (plus a field offset below this) faults, an implicit null check.
pub const NULL_GUARD_BYTES: u32 = 64 << 10;

/// Every object starts with two `u32` header words and is 8-aligned.
pub const HEADER_BYTES: u32 = 8;
/// Objects start at multiples of this.
pub const OBJECT_ALIGN: u32 = 8;
/// Word 0: the type word, `(type_id << TYPE_ID_SHIFT) | (kind << 1)`; bit 0 is
/// clear, so the collector's forwarding mark `new_offset | FORWARDED` is
/// distinguishable while it copies.
pub const TYPE_WORD_OFFSET: u32 = 0;
/// Word 1: the length of an array, the host-data slot id of an extern object,
/// collector bits (currently always 0) of a struct.
pub const ARRAY_LEN_OFFSET: u32 = 4;
/// Word 1 of an extern object: see [`ARRAY_LEN_OFFSET`].
pub const EXTERN_SLOT_OFFSET: u32 = 4;
/// Bit 0 of a type word set by the collector only, while it copies.
pub const FORWARDED: u32 = 1;
/// The type id occupies bits 3..32 of the type word.
pub const TYPE_ID_SHIFT: u32 = 3;
/// Largest registrable type id.
pub const MAX_TYPE_ID: u32 = (1 << (32 - TYPE_ID_SHIFT)) - 1;
/// Mask of the kind bits (1..3) in a type word.
pub const KIND_MASK: u32 = 0b110;

/// What an object is; the bits 1..3 of its type word, so abstract casts
/// (`structref`, `arrayref`) test the header without the type table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Kind {
    /// A struct: word 1 holds collector bits, fields follow.
    Struct = 0,
    /// An array: word 1 holds the length, elements follow.
    Array = 1,
    /// An externref: word 1 holds the embedder's host-data slot id; type id 0.
    Extern = 2,
}

impl Kind {
    /// The kind encoded in a type word, if any.
    pub const fn from_type_word(word: u32) -> Option<Kind> {
        match (word & KIND_MASK) >> 1 {
            0 => Some(Kind::Struct),
            1 => Some(Kind::Array),
            2 => Some(Kind::Extern),
            _ => None,
        }
    }
}

/// The type word of an object of type `type_id` (at most [`MAX_TYPE_ID`]).
pub const fn type_word(type_id: u32, kind: Kind) -> u32 {
    (type_id << TYPE_ID_SHIFT) | ((kind as u32) << 1)
}

/// The type word of every extern object.
pub const EXTERN_TYPE_WORD: u32 = type_word(0, Kind::Extern);

/// One card byte covers `1 << CARD_SHIFT` bytes of heap offsets.
pub const CARD_SHIFT: u32 = 9;
/// Size of the card table: one byte for every card of the 4 GiB offset range.
pub const CARD_TABLE_BYTES: usize = 1 << (32 - CARD_SHIFT);

/// The block generated code shares with the heap. Lives in a `Box` owned by
/// the heap, so its address ([`crate::GcHeap::vm_data`]) is stable.
#[repr(C)]
#[derive(Debug)]
pub struct VMGcHeapData {
    /// Start of the reservation; never changes.
    pub base: *mut u8,
    /// Start of the card table; never changes.
    pub card_table: *mut u8,
    /// Next free nursery offset.
    pub nursery_top: u32,
    /// Inline allocation limit (0 forces the slow path).
    pub nursery_limit: u32,
}

/// Field offsets of [`VMGcHeapData`], for code generation.
pub mod offsets {
    /// `base: *mut u8`.
    pub const BASE: u32 = 0;
    /// `card_table: *mut u8`.
    pub const CARD_TABLE: u32 = 8;
    /// `nursery_top: u32`.
    pub const NURSERY_TOP: u32 = 16;
    /// `nursery_limit: u32`.
    pub const NURSERY_LIMIT: u32 = 20;
    /// Size of the block.
    pub const SIZE: u32 = 24;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_offsets() {
        assert_eq!(offset_of!(VMGcHeapData, base) as u32, offsets::BASE);
        assert_eq!(
            offset_of!(VMGcHeapData, card_table) as u32,
            offsets::CARD_TABLE
        );
        assert_eq!(
            offset_of!(VMGcHeapData, nursery_top) as u32,
            offsets::NURSERY_TOP
        );
        assert_eq!(
            offset_of!(VMGcHeapData, nursery_limit) as u32,
            offsets::NURSERY_LIMIT
        );
        assert_eq!(size_of::<VMGcHeapData>() as u32, offsets::SIZE);
    }

    #[test]
    fn type_words_round_trip() {
        for kind in [Kind::Struct, Kind::Array, Kind::Extern] {
            for id in [0, 1, 77, MAX_TYPE_ID] {
                let w = type_word(id, kind);
                assert_eq!(w & FORWARDED, 0);
                assert_eq!(w >> TYPE_ID_SHIFT, id);
                assert_eq!(Kind::from_type_word(w), Some(kind));
            }
        }
        assert_eq!(Kind::from_type_word(0b110), None);
    }
}
