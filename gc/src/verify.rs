//! Heap verification: walks both spaces object by object and checks every
//! header, every reference (it must be null, an i31 or the start of an
//! object in use), every old-to-young edge (its card must be dirty), the
//! crossing map, the extern lists and the roots.

use crate::GcError;
use crate::heap::{GcHeap, RootSource};
use crate::layout::Shape;
use crate::vm::{CARD_SHIFT, EXTERN_TYPE_WORD, FORWARDED, HEADER_BYTES};

/// What a verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeapCensus {
    /// Objects in the nursery.
    pub nursery_objects: u64,
    /// Objects in the old space.
    pub old_objects: u64,
    /// Reference slots holding a non-null, non-i31 value.
    pub references: u64,
    /// Old-to-young references (each on a dirty card).
    pub old_to_young: u64,
}

/// One bit per 8-byte granule of a space: set where an object starts.
struct Starts {
    start: u32,
    end: u32,
    bits: Vec<u64>,
}

impl Starts {
    fn new(start: u32, end: u32) -> Starts {
        let granules = ((end - start) / 8) as usize;
        Starts {
            start,
            end,
            bits: vec![0; granules.div_ceil(64)],
        }
    }

    fn set(&mut self, off: u32) {
        let g = ((off - self.start) / 8) as usize;
        self.bits[g / 64] |= 1 << (g % 64);
    }

    fn contains(&self, off: u32) -> bool {
        if off < self.start || off >= self.end || !off.is_multiple_of(8) {
            return false;
        }
        let g = ((off - self.start) / 8) as usize;
        self.bits[g / 64] & (1 << (g % 64)) != 0
    }
}

impl GcHeap {
    /// Checks the whole heap and the roots; returns a census, or the first
    /// inconsistency as [`GcError::HeapCorrupt`]. Does not change the heap.
    pub fn verify(&self, roots: &mut dyn RootSource) -> Result<HeapCensus, GcError> {
        let top = self.nursery_top()?;
        let half = self.half_start[self.cur];
        let spaces = [(self.nursery_start, top), (half, self.old_top)];
        let mut census = HeapCensus::default();

        // Pass 1: parse each space as a sequence of objects.
        let mut starts = Vec::with_capacity(2);
        let mut externs = [0u64; 2];
        for (i, &(start, end)) in spaces.iter().enumerate() {
            let mut set = Starts::new(start, end);
            let mut obj = start;
            while obj < end {
                let (size, _) = self.checked_object(obj, end)?;
                set.set(obj);
                if self.mem.r32(obj) == EXTERN_TYPE_WORD {
                    externs[i] += 1;
                }
                if i == 1 {
                    census.old_objects += 1;
                    let mut card = obj.next_multiple_of(1 << CARD_SHIFT);
                    while card < obj + size {
                        let entry = self.crossing.get(((card - half) >> CARD_SHIFT) as usize);
                        if entry != Some(&obj) {
                            return Err(GcError::corrupt(card, "crossing map entry wrong"));
                        }
                        card += 1 << CARD_SHIFT;
                    }
                } else {
                    census.nursery_objects += 1;
                }
                obj += size;
            }
            starts.push(set);
        }
        let is_object = |v: u32| starts.iter().any(|s| s.contains(v));

        // Pass 2: every reference slot.
        for (i, &(start, end)) in spaces.iter().enumerate() {
            let mut obj = start;
            while obj < end {
                let (size, shape) = self.checked_object(obj, end)?;
                let mut check = |slot: u32| -> Result<(), GcError> {
                    let v = self.mem.r32(slot);
                    if v == 0 || v & 1 != 0 {
                        return Ok(());
                    }
                    if !is_object(v) {
                        return Err(GcError::corrupt(slot, "reference to no object start"));
                    }
                    census.references += 1;
                    if i == 1 && starts[0].contains(v) {
                        if !self.cards.is_marked(slot) {
                            return Err(GcError::corrupt(
                                slot,
                                "old-to-young reference on a clean card (missed write barrier)",
                            ));
                        }
                        census.old_to_young += 1;
                    }
                    Ok(())
                };
                match shape {
                    Shape::Refs(offsets) => {
                        for &o in offsets {
                            check(obj + o)?;
                        }
                    }
                    Shape::RefArray(len) => {
                        for k in 0..len {
                            check(obj + HEADER_BYTES + 4 * k)?;
                        }
                    }
                    Shape::NoRefs => {}
                }
                obj += size;
            }
        }

        // Extern lists: each entry is an extern object in its space.
        for (list, set) in [
            (&self.young_externs, &starts[0]),
            (&self.old_externs, &starts[1]),
        ] {
            for &(off, slot) in list {
                if !set.contains(off)
                    || self.mem.r32(off) != EXTERN_TYPE_WORD
                    || self.mem.r32(off + 4) != slot
                {
                    return Err(GcError::corrupt(
                        off,
                        "extern list entry is not that extern",
                    ));
                }
            }
        }
        if externs
            != [
                self.young_externs.len() as u64,
                self.old_externs.len() as u64,
            ]
        {
            return Err(GcError::corrupt(
                0,
                "extern objects missing from the extern lists",
            ));
        }

        let mut err = None;
        roots.visit_roots(&mut |slot: &mut u32| {
            let v = *slot;
            if err.is_none() && v != 0 && v & 1 == 0 && !is_object(v) {
                err = Some(GcError::corrupt(v, "root to no object start"));
            }
        });
        err.map_or(Ok(census), Err)
    }

    /// Decodes the object at `obj` in a space ending at `end`.
    fn checked_object(&self, obj: u32, end: u32) -> Result<(u32, Shape<'_>), GcError> {
        if u64::from(obj) + u64::from(HEADER_BYTES) > u64::from(end) {
            return Err(GcError::corrupt(
                obj,
                "object header past the end of its space",
            ));
        }
        let (w0, w1) = (self.mem.r32(obj), self.mem.r32(obj + 4));
        if w0 & FORWARDED != 0 {
            return Err(GcError::corrupt(
                obj,
                "forwarding mark outside a collection",
            ));
        }
        let (size, shape) = self
            .types
            .decode(w0, w1)
            .map_err(|what| GcError::corrupt(obj, what))?;
        if u64::from(obj) + u64::from(size) > u64::from(end) {
            return Err(GcError::corrupt(
                obj,
                "object extends past the end of its space",
            ));
        }
        Ok((size, shape))
    }
}
