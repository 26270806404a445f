//! Tables of fixed-size records stored as one packed little-endian byte
//! string in artifact metadata, instead of one postcard value per field: a
//! load decodes them with a tight loop over bytes rather than a varint
//! decoder per element (modules have thousands of functions and trap sites).
//!
//! Use with `#[serde(with = "crate::packed")]` on a `Vec<T: Packed>`.

use serde::de::{Error as _, Visitor};
use serde::{Deserializer, Serializer};

use crate::image::CompiledFunction;
use crate::inline::InlineRange;

/// A record with a fixed little-endian encoding of `SIZE` bytes.
pub trait Packed: Sized {
    const SIZE: usize;
    fn write(&self, out: &mut Vec<u8>);
    /// `bytes` is exactly `SIZE` long.
    fn read(bytes: &[u8]) -> Self;
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Packed for u32 {
    const SIZE: usize = 4;
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    #[inline]
    fn read(b: &[u8]) -> Self {
        u32_at(b, 0)
    }
}

impl Packed for CompiledFunction {
    const SIZE: usize = 12;
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.func_index.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
    }
    #[inline]
    fn read(b: &[u8]) -> Self {
        CompiledFunction {
            func_index: u32_at(b, 0),
            offset: u32_at(b, 4),
            len: u32_at(b, 8),
        }
    }
}

impl Packed for InlineRange {
    const SIZE: usize = 12;
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.start.to_le_bytes());
        out.extend_from_slice(&self.end.to_le_bytes());
        out.extend_from_slice(&self.func_index.to_le_bytes());
    }
    #[inline]
    fn read(b: &[u8]) -> Self {
        InlineRange {
            start: u32_at(b, 0),
            end: u32_at(b, 4),
            func_index: u32_at(b, 8),
        }
    }
}

pub fn serialize<T: Packed, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    let mut out = Vec::with_capacity(v.len() * T::SIZE);
    for x in v {
        x.write(&mut out);
    }
    s.serialize_bytes(&out)
}

pub fn deserialize<'de, T: Packed, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct V<T>(std::marker::PhantomData<T>);
    impl<T: Packed> Visitor<'_> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a packed table of {}-byte records", T::SIZE)
        }
        fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Vec<T>, E> {
            if !b.len().is_multiple_of(T::SIZE) {
                return Err(E::invalid_length(b.len(), &self));
            }
            Ok(b.chunks_exact(T::SIZE).map(T::read).collect())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, b: Vec<u8>) -> Result<Vec<T>, E> {
            self.visit_bytes(&b)
        }
    }
    d.deserialize_bytes(V(std::marker::PhantomData))
        .map_err(|e: D::Error| D::Error::custom(format!("packed table: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super")]
        ranges: Vec<InlineRange>,
        #[serde(with = "super")]
        funcs: Vec<CompiledFunction>,
        #[serde(with = "super")]
        offsets: Vec<u32>,
    }

    #[test]
    fn round_trip_and_damage() {
        let t = T {
            ranges: vec![
                InlineRange {
                    start: 0,
                    end: 1,
                    func_index: 0,
                },
                InlineRange {
                    start: 7,
                    end: u32::MAX,
                    func_index: u32::MAX,
                },
            ],
            funcs: vec![CompiledFunction {
                func_index: 7,
                offset: 64,
                len: 1 << 20,
            }],
            offsets: vec![1, 2, 0xdead_beef],
        };
        let bytes = postcard::to_allocvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<T>(&bytes).unwrap(), t);
        // A table whose length is not a multiple of its record size is an
        // error, not a partial table.
        let mut bad = bytes.clone();
        bad[0] -= 1; // the first table's length prefix (24 -> 23)
        assert!(postcard::from_bytes::<T>(&bad).is_err());
    }
}
