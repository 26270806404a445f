//! Per-type trace information registered by the engine, and decoding an
//! object's size and reference slots from its header words. Header words
//! come from the heap (wasm-controlled), so every decoding step is checked
//! against the table: an unknown type id, a kind that does not match the
//! registered type or a size that does not fit is an error.

use crate::GcError;
use crate::vm::{HEADER_BYTES, Kind, MAX_TYPE_ID, OBJECT_ALIGN, TYPE_ID_SHIFT};

/// How objects of one type are laid out, as the engine registers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeLayout {
    /// A struct of `size` bytes in all, header included (rounded up to 8).
    /// `ref_offsets` are the offsets from the object start of its reference
    /// fields (`u32` each, 4-aligned, at least [`HEADER_BYTES`]).
    Struct {
        /// Object size in bytes, header included.
        size: u32,
        /// Offsets of reference fields from the object start.
        ref_offsets: Vec<u32>,
    },
    /// An array: the length is header word 1, elements of `elem_size` bytes
    /// (1, 2, 4, 8 or 16) start at offset [`HEADER_BYTES`]. Reference
    /// elements are `u32`s (`elem_size` 4).
    Array {
        /// Bytes per element.
        elem_size: u32,
        /// Whether elements are references.
        elem_is_ref: bool,
    },
}

#[derive(Clone, Debug)]
pub(crate) enum TypeInfo {
    Unregistered,
    Struct { size: u32, refs: Box<[u32]> },
    Array { elem_size: u32, elem_is_ref: bool },
}

/// Which slots of an object hold references.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape<'a> {
    /// Offsets from the object start.
    Refs(&'a [u32]),
    /// `len` `u32` reference elements from offset 8.
    RefArray(u32),
    /// No reference slots.
    NoRefs,
}

/// The type table, indexed by type id.
#[derive(Clone, Debug, Default)]
pub(crate) struct Types {
    table: Vec<TypeInfo>,
}

/// Largest object: sizes and object ends must fit in a `u32`, with room.
pub(crate) const MAX_OBJECT_BYTES: u64 = 1 << 31;

impl Types {
    pub(crate) fn register(&mut self, id: u32, layout: TypeLayout) -> Result<(), GcError> {
        let invalid = |why: &'static str| Err(GcError::InvalidType { type_id: id, why });
        if id > MAX_TYPE_ID {
            return invalid("type id too large");
        }
        let info = match layout {
            TypeLayout::Struct { size, ref_offsets } => {
                if size < HEADER_BYTES || u64::from(size) > MAX_OBJECT_BYTES {
                    return invalid("struct size out of range");
                }
                let size = size.next_multiple_of(OBJECT_ALIGN);
                for &o in &ref_offsets {
                    if o < HEADER_BYTES || o % 4 != 0 || u64::from(o) + 4 > u64::from(size) {
                        return invalid("reference offset outside the struct or misaligned");
                    }
                }
                let mut refs = ref_offsets;
                refs.sort_unstable();
                refs.dedup();
                TypeInfo::Struct {
                    size,
                    refs: refs.into(),
                }
            }
            TypeLayout::Array {
                elem_size,
                elem_is_ref,
            } => {
                if !matches!(elem_size, 1 | 2 | 4 | 8 | 16) || (elem_is_ref && elem_size != 4) {
                    return invalid("bad array element size");
                }
                TypeInfo::Array {
                    elem_size,
                    elem_is_ref,
                }
            }
        };
        let slot = id as usize;
        if self.table.len() <= slot {
            self.table.resize(slot + 1, TypeInfo::Unregistered);
        }
        match (&self.table[slot], &info) {
            (TypeInfo::Unregistered, _) => {
                self.table[slot] = info;
                Ok(())
            }
            (TypeInfo::Struct { size: a, refs: ra }, TypeInfo::Struct { size: b, refs: rb })
                if a == b && ra == rb =>
            {
                Ok(())
            }
            (
                TypeInfo::Array {
                    elem_size: a,
                    elem_is_ref: ra,
                },
                TypeInfo::Array {
                    elem_size: b,
                    elem_is_ref: rb,
                },
            ) if a == b && ra == rb => Ok(()),
            _ => invalid("already registered with another layout"),
        }
    }

    /// Size of an array of `len` elements of `elem_size` bytes, if allowed.
    pub(crate) fn array_size(elem_size: u32, len: u32) -> Option<u32> {
        let bytes = u64::from(HEADER_BYTES) + u64::from(elem_size) * u64::from(len);
        let bytes = bytes.next_multiple_of(u64::from(OBJECT_ALIGN));
        (bytes <= MAX_OBJECT_BYTES).then_some(bytes as u32)
    }

    /// Decodes an object's header: its size and reference slots.
    #[inline]
    pub(crate) fn decode(&self, w0: u32, w1: u32) -> Result<(u32, Shape<'_>), &'static str> {
        let id = w0 >> TYPE_ID_SHIFT;
        match Kind::from_type_word(w0) {
            Some(Kind::Struct) => match self.table.get(id as usize) {
                Some(TypeInfo::Struct { size, refs }) => Ok((
                    *size,
                    if refs.is_empty() {
                        Shape::NoRefs
                    } else {
                        Shape::Refs(refs)
                    },
                )),
                _ => Err("struct header with an unregistered or non-struct type id"),
            },
            Some(Kind::Array) => match self.table.get(id as usize) {
                Some(TypeInfo::Array {
                    elem_size,
                    elem_is_ref,
                }) => {
                    let size = Self::array_size(*elem_size, w1).ok_or("array length too large")?;
                    Ok((
                        size,
                        if *elem_is_ref {
                            Shape::RefArray(w1)
                        } else {
                            Shape::NoRefs
                        },
                    ))
                }
                _ => Err("array header with an unregistered or non-array type id"),
            },
            Some(Kind::Extern) if id == 0 => Ok((HEADER_BYTES, Shape::NoRefs)),
            _ => Err("invalid type word"),
        }
    }

    /// Size of a new object with header words `w0`, `w1`; for allocation,
    /// so errors are the caller's, not heap corruption.
    pub(crate) fn size_for_alloc(&self, w0: u32, w1: u32) -> Result<u32, GcError> {
        self.decode(w0, w1)
            .map(|(size, _)| size)
            .map_err(|why| GcError::InvalidType {
                type_id: w0 >> TYPE_ID_SHIFT,
                why,
            })
    }

    /// Whether `off` is a reference slot of an object with this header.
    pub(crate) fn is_ref_slot(&self, w0: u32, w1: u32, off: u32) -> bool {
        match self.decode(w0, w1) {
            Ok((_, Shape::Refs(refs))) => refs.binary_search(&off).is_ok(),
            Ok((_, Shape::RefArray(len))) => {
                off >= HEADER_BYTES
                    && (off - HEADER_BYTES).is_multiple_of(4)
                    && u64::from(off - HEADER_BYTES) < u64::from(len) * 4
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::type_word;

    #[test]
    fn registration_checks_layouts() {
        let mut t = Types::default();
        let s = |size, refs: &[u32]| TypeLayout::Struct {
            size,
            ref_offsets: refs.to_vec(),
        };
        assert!(t.register(1, s(16, &[8, 12])).is_ok());
        assert!(t.register(1, s(16, &[12, 8])).is_ok(), "same layout again");
        assert!(t.register(1, s(24, &[8])).is_err(), "conflicting layout");
        assert!(t.register(2, s(16, &[14])).is_err(), "misaligned");
        assert!(t.register(2, s(16, &[4])).is_err(), "inside the header");
        assert!(t.register(2, s(16, &[16])).is_err(), "past the end");
        assert!(t.register(MAX_TYPE_ID + 1, s(16, &[])).is_err());
        let a = |elem_size, elem_is_ref| TypeLayout::Array {
            elem_size,
            elem_is_ref,
        };
        assert!(t.register(3, a(8, true)).is_err());
        assert!(t.register(3, a(3, false)).is_err());
        assert!(t.register(3, a(4, true)).is_ok());
        assert!(t.register(4, a(1, false)).is_ok());
        assert!(t.register(5, s(13, &[])).is_ok());
        assert_eq!(t.decode(type_word(5, Kind::Struct), 0).unwrap().0, 16);

        let arr = |id| type_word(id, Kind::Array);
        assert_eq!(t.decode(arr(4), 9).unwrap().0, 24);
        assert_eq!(t.decode(arr(3), 3).unwrap().0, 24);
        assert!(t.decode(arr(4), u32::MAX).is_err(), "2^32 bytes");
        assert!(t.decode(arr(1), 0).is_err(), "kind does not match");
        assert!(t.decode(type_word(3, Kind::Struct), 0).is_err());
        assert!(t.decode(type_word(99, Kind::Struct), 0).is_err());
        assert!(t.decode(type_word(1, Kind::Extern), 0).is_err());
        assert!(t.is_ref_slot(arr(3), 3, 16));
        assert!(!t.is_ref_slot(arr(3), 3, 20));
        assert!(t.is_ref_slot(type_word(1, Kind::Struct), 0, 12));
        assert!(!t.is_ref_slot(type_word(1, Kind::Struct), 0, 10));
    }
}
