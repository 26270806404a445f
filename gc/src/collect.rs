//! Minor and major collections: Cheney-style copying with the forwarding
//! mark in the type word.
//!
//! A minor collection copies the nursery's live objects (reachable from the
//! roots or from old-space slots on dirty cards) to the end of the old
//! space, then reuses the nursery from its start. A major collection copies
//! everything live, nursery and old space, into the other old semi-space.
//! Everything read from the heap is checked before it is used: a reference
//! must lie in the range being evacuated (or, in a major collection, in the
//! copies already made), a header must decode against the type table, an
//! object must end inside its space, and the copies must fit the space
//! reserved for them. Anything else is [`GcError::HeapCorrupt`].

use crate::GcError;
use crate::heap::{CollectionKind, GcHeap, POISON_BYTE, RootSource, note_object};
use crate::layout::{Shape, Types};
use crate::mem::{Cards, Mem};
use crate::vm::{CARD_SHIFT, EXTERN_TYPE_WORD, FORWARDED, HEADER_BYTES};

/// The copying engine shared by both collections.
struct Evacuator<'a> {
    mem: Mem,
    types: &'a Types,
    /// In-use ranges `[start, end)` whose objects move.
    from: [(u32, u32); 2],
    /// Copies made in this collection: `[to_start, to_top)`.
    to_start: u32,
    to_top: u32,
    /// Copies must end at or below this.
    to_end: u32,
    /// Crossing map of the half being copied into, based at `cross_base`.
    crossing: &'a mut Vec<u32>,
    cross_base: u32,
    /// Major collection: every reference must be in `from` or the copies.
    strict: bool,
}

impl Evacuator<'_> {
    #[inline(always)]
    fn source_end(&self, v: u32) -> Option<u32> {
        let [(s0, e0), (s1, e1)] = self.from;
        if v >= s0 && v < e0 {
            Some(e0)
        } else if v >= s1 && v < e1 {
            Some(e1)
        } else {
            None
        }
    }

    /// The new value of a reference.
    #[inline(always)]
    fn update(&mut self, v: u32) -> Result<u32, GcError> {
        if v == 0 || v & 1 != 0 {
            return Ok(v);
        }
        if let Some(end) = self.source_end(v) {
            return self.forward(v, end);
        }
        if self.strict && !(v >= self.to_start && v < self.to_top && v.is_multiple_of(8)) {
            return Err(GcError::corrupt(v, "reference to no object in use"));
        }
        Ok(v)
    }

    #[inline(always)]
    fn update_slot(&mut self, slot: u32) -> Result<(), GcError> {
        let v = self.mem.r32(slot);
        let n = self.update(v)?;
        if n != v {
            self.mem.w32(slot, n);
        }
        Ok(())
    }

    /// Copies the object at `v` (in a from range ending at `end`) unless it
    /// was copied already, and returns its new reference.
    fn forward(&mut self, v: u32, end: u32) -> Result<u32, GcError> {
        if !v.is_multiple_of(8) {
            return Err(GcError::corrupt(v, "misaligned reference"));
        }
        if u64::from(v) + u64::from(HEADER_BYTES) > u64::from(end) {
            return Err(GcError::corrupt(
                v,
                "object header past the end of its space",
            ));
        }
        let w0 = self.mem.r32(v);
        if w0 & FORWARDED != 0 {
            let n = w0 & !FORWARDED;
            if n < self.to_start || n >= self.to_top || !n.is_multiple_of(8) {
                return Err(GcError::corrupt(v, "forwarding mark to no copy"));
            }
            return Ok(n);
        }
        let w1 = self.mem.r32(v + 4);
        let (size, _) = self
            .types
            .decode(w0, w1)
            .map_err(|what| GcError::corrupt(v, what))?;
        if u64::from(v) + u64::from(size) > u64::from(end) {
            return Err(GcError::corrupt(
                v,
                "object extends past the end of its space",
            ));
        }
        let new = self.to_top;
        if u64::from(new) + u64::from(size) > u64::from(self.to_end) {
            return Err(GcError::corrupt(v, "more to copy than the space in use"));
        }
        if size <= 64 {
            // Most objects are small: a few word moves beat a memmove call.
            // `v` and `new` are in different spaces, so no overlap.
            let mut k = 0;
            while k < size {
                self.mem.w64(new + k, self.mem.r64(v + k));
                k += 8;
            }
        } else {
            self.mem.copy(v, new, size);
        }
        note_object(self.crossing, self.cross_base, new, size);
        self.to_top = new + size;
        self.mem.w32(v, new | FORWARDED);
        Ok(new)
    }

    /// Updates the reference slots of the object at `obj` that lie in
    /// `[lo, hi)`.
    #[inline(always)]
    fn trace(&mut self, obj: u32, shape: Shape<'_>, lo: u32, hi: u32) -> Result<(), GcError> {
        match shape {
            Shape::Refs(offsets) => {
                for &o in offsets {
                    let slot = obj + o;
                    if slot >= lo && slot < hi {
                        self.update_slot(slot)?;
                    }
                }
            }
            Shape::RefArray(len) => {
                let first = (obj + HEADER_BYTES).max(lo);
                let end = (obj + HEADER_BYTES + len * 4).min(hi);
                let mut slot = first;
                while slot < end {
                    self.update_slot(slot)?;
                    slot += 4;
                }
            }
            Shape::NoRefs => {}
        }
        Ok(())
    }

    /// Cheney scan: traces the copies from `scan` until no new ones appear.
    fn scan(&mut self, mut scan: u32) -> Result<(), GcError> {
        let types = self.types;
        while scan < self.to_top {
            let (w0, w1) = (self.mem.r32(scan), self.mem.r32(scan + 4));
            let (size, shape) = types
                .decode(w0, w1)
                .map_err(|what| GcError::corrupt(scan, what))?;
            self.trace(scan, shape, 0, u32::MAX)?;
            scan += size;
        }
        Ok(())
    }

    /// Updates the roots.
    fn roots(&mut self, roots: &mut dyn RootSource) -> Result<(), GcError> {
        let mut err = None;
        roots.visit_roots(&mut |slot: &mut u32| {
            if err.is_none() {
                match self.update(*slot) {
                    Ok(n) => *slot = n,
                    Err(e) => err = Some(e),
                }
            }
        });
        err.map_or(Ok(()), Err)
    }

    /// Minor collection: updates the slots on dirty cards of the old space
    /// `[half, old_end)` and cleans those cards. The crossing map gives the
    /// object covering each card's first byte.
    fn dirty_cards(&mut self, cards: &mut Cards, half: u32, old_end: u32) -> Result<(), GcError> {
        const CARD: u32 = 1 << CARD_SHIFT;
        let types = self.types;
        let first_card = half >> CARD_SHIFT;
        let table = cards.range(half, old_end);
        let mut i = 0;
        while i < table.len() {
            // Skip clean cards eight at a time.
            if i + 8 <= table.len() {
                let word = u64::from_ne_bytes(table[i..i + 8].try_into().unwrap_or([0; 8]));
                if word == 0 {
                    i += 8;
                    continue;
                }
            }
            if table[i] == 0 {
                i += 1;
                continue;
            }
            table[i] = 0;
            let lo = (first_card + i as u32) << CARD_SHIFT;
            let hi = lo.saturating_add(CARD).min(old_end);
            let mut obj = self
                .crossing
                .get(((lo - half) >> CARD_SHIFT) as usize)
                .copied()
                .unwrap_or(0);
            if obj < half || obj > lo {
                return Err(GcError::corrupt(lo, "crossing map does not cover the card"));
            }
            while obj < hi {
                if u64::from(obj) + u64::from(HEADER_BYTES) > u64::from(old_end) {
                    return Err(GcError::corrupt(obj, "object header past the old space"));
                }
                let (w0, w1) = (self.mem.r32(obj), self.mem.r32(obj + 4));
                let (size, shape) = types
                    .decode(w0, w1)
                    .map_err(|what| GcError::corrupt(obj, what))?;
                if u64::from(obj) + u64::from(size) > u64::from(old_end) {
                    return Err(GcError::corrupt(obj, "object extends past the old space"));
                }
                self.trace(obj, shape, lo, hi)?;
                obj += size;
            }
            i += 1;
        }
        Ok(())
    }
}

/// Moves the extern objects of `list` that survived (their type word now
/// holds a forwarding mark to a copy in `[to_start, to_top)`) to
/// `survivors`, and the slots of the dead ones to `dead`.
fn sweep_externs(
    mem: Mem,
    (to_start, to_top): (u32, u32),
    list: &mut Vec<(u32, u32)>,
    survivors: &mut Vec<(u32, u32)>,
    dead: &mut Vec<u32>,
) -> Result<(), GcError> {
    for (off, slot) in list.drain(..) {
        let w0 = mem.r32(off);
        if w0 & FORWARDED == 0 {
            dead.push(slot);
            continue;
        }
        let new = w0 & !FORWARDED;
        if new < to_start
            || new >= to_top
            || !new.is_multiple_of(8)
            || mem.r32(new) != EXTERN_TYPE_WORD
        {
            return Err(GcError::corrupt(
                off,
                "extern object forwarded to no extern copy",
            ));
        }
        survivors.push((new, slot));
    }
    Ok(())
}

impl GcHeap {
    /// Runs a collection; returns the kind that ran (a minor collection
    /// becomes a major one when the old space cannot take the nursery's
    /// survivors). An error other than running out of memory poisons the
    /// heap.
    pub fn collect(
        &mut self,
        kind: CollectionKind,
        roots: &mut dyn RootSource,
    ) -> Result<CollectionKind, GcError> {
        self.check_poison()?;
        let result = match kind {
            CollectionKind::Minor => self.minor(roots),
            CollectionKind::Major => self.major(roots).map(|()| CollectionKind::Major),
        };
        let result = result.and_then(|ran| {
            if self.config.zeal || self.config.verify_after_gc {
                self.verify(roots)?;
            }
            Ok(ran)
        });
        match result {
            Err(e) => {
                self.poisoned = Some(e.duplicate());
                Err(e)
            }
            Ok(ran) => {
                self.gc_requested = false;
                self.reset_limit();
                Ok(ran)
            }
        }
    }

    fn minor(&mut self, roots: &mut dyn RootSource) -> Result<CollectionKind, GcError> {
        let top = self.nursery_top()?;
        let n0 = self.nursery_start;
        let young = top - n0;
        let half = self.half_start[self.cur];
        let old_used = u64::from(self.old_top - half);
        if old_used + u64::from(young) > self.old_capacity {
            self.major(roots)?;
            return Ok(CollectionKind::Major);
        }
        self.commit_half(self.cur, old_used + u64::from(young))?;
        self.grow_crossing(old_used + u64::from(young));
        let scan_start = self.old_top;
        let mut ev = Evacuator {
            mem: self.mem,
            types: &self.types,
            from: [(n0, top), (0, 0)],
            to_start: scan_start,
            to_top: scan_start,
            to_end: scan_start + young,
            crossing: &mut self.crossing,
            cross_base: half,
            strict: false,
        };
        ev.roots(roots)?;
        ev.dirty_cards(&mut self.cards, half, scan_start)?;
        ev.scan(scan_start)?;
        let new_top = ev.to_top;
        let mut survivors = std::mem::take(&mut self.old_externs);
        let result = sweep_externs(
            self.mem,
            (scan_start, new_top),
            &mut self.young_externs,
            &mut survivors,
            &mut self.dead_externs,
        );
        self.old_externs = survivors;
        result?;
        self.stats.promoted_bytes += u64::from(new_top - scan_start);
        self.stats.minor_collections += 1;
        self.old_top = new_top;
        self.cards.range(n0, top).fill(0);
        self.reset_nursery(top);
        Ok(CollectionKind::Minor)
    }

    fn major(&mut self, roots: &mut dyn RootSource) -> Result<(), GcError> {
        let top = self.nursery_top()?;
        let n0 = self.nursery_start;
        let from_half = self.half_start[self.cur];
        let old_top = self.old_top;
        let to = 1 - self.cur;
        let to_start = self.half_start[to];
        let need = u64::from(old_top - from_half) + u64::from(top - n0);
        self.commit_half(to, need)?;
        let mut crossing = std::mem::take(&mut self.spare_crossing);
        crossing.clear();
        crossing.resize((need >> CARD_SHIFT) as usize + 2, 0);
        let mut ev = Evacuator {
            mem: self.mem,
            types: &self.types,
            from: [(n0, top), (from_half, old_top)],
            to_start,
            to_top: to_start,
            to_end: to_start + need as u32,
            crossing: &mut crossing,
            cross_base: to_start,
            strict: true,
        };
        ev.roots(roots)?;
        ev.scan(to_start)?;
        let new_top = ev.to_top;
        let mut survivors = Vec::with_capacity(self.old_externs.len());
        sweep_externs(
            self.mem,
            (to_start, new_top),
            &mut self.young_externs,
            &mut survivors,
            &mut self.dead_externs,
        )?;
        sweep_externs(
            self.mem,
            (to_start, new_top),
            &mut self.old_externs,
            &mut survivors,
            &mut self.dead_externs,
        )?;
        self.old_externs = survivors;

        // Flip. Of the old from-space, as much as the next major collection
        // is expected to copy (today's live data plus a nursery) stays
        // committed and resident, so copying into it costs neither page
        // faults nor protection changes; the rest goes back to the OS (peak
        // RSS: binary-trees at depth 18 needs 54 MB instead of 63 MB with
        // twice the capacity kept, for 5% more time; RATIONALE.md). In
        // stress mode all of it becomes inaccessible instead, so a stale
        // reference into it faults at once.
        self.cards.range(n0, top).fill(0);
        self.cards.range(from_half, old_top).fill(0);
        self.spare_crossing = std::mem::replace(&mut self.crossing, crossing);
        let from = self.cur;
        self.cur = to;
        self.old_top = new_top;
        let live = u64::from(new_top - to_start);
        self.old_capacity = self.capacity_for(live);
        let committed = u64::from(self.committed[from]);
        let keep = if self.config.zeal {
            0
        } else {
            (live + u64::from(self.config.nursery_bytes))
                .next_multiple_of(1 << 20)
                .min(committed)
        };
        self.reservation.decommit(
            (u64::from(from_half) + keep) as usize,
            (committed - keep) as usize,
        )?;
        self.committed[from] = keep as u32;
        self.stats.live_bytes_after_major = live;
        self.stats.major_collections += 1;
        self.reset_nursery(top);
        Ok(())
    }

    /// Empties the nursery (used up to `top`) for reuse from its start.
    fn reset_nursery(&mut self, top: u32) {
        let n0 = self.nursery_start;
        if self.config.zeal {
            self.mem.fill(n0, top - n0, POISON_BYTE);
        }
        self.set_top(n0);
    }
}
