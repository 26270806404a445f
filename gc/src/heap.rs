//! The heap: reservation layout, configuration, allocation, the host-side
//! field accessors with the write barrier, and the sizing policy. The
//! collections themselves are in `collect.rs`, verification in `verify.rs`.

use crate::GcError;
use crate::layout::{TypeLayout, Types};
use crate::mem::{Cards, Mapping, Mem, page_size};
use crate::vm::{
    CARD_SHIFT, CARD_TABLE_BYTES, EXTERN_SLOT_OFFSET, EXTERN_TYPE_WORD, HEADER_BYTES, Kind,
    NULL_GUARD_BYTES, RESERVATION_BYTES, TYPE_ID_SHIFT, VMGcHeapData, type_word,
};

/// Where the engine's roots are: every slot that may hold a heap reference
/// (stack-map slots of wasm frames, globals, tables, the host root table).
/// The collector reads each slot and, since it moves objects, rewrites it.
/// Slots holding 0 (null) or an odd value (`i31ref`) are left alone.
pub trait RootSource {
    /// Calls `visit` once for every root slot.
    fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32));
}

/// A borrowed slice (`&mut [u32]` itself is unsized, so pass `&mut slice`).
impl RootSource for &mut [u32] {
    fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32)) {
        self.iter_mut().for_each(visit);
    }
}

impl RootSource for Vec<u32> {
    fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32)) {
        self.iter_mut().for_each(visit);
    }
}

impl<const N: usize> RootSource for [u32; N] {
    fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32)) {
        self.iter_mut().for_each(visit);
    }
}

/// No roots at all.
impl RootSource for () {
    fn visit_roots(&mut self, _: &mut dyn FnMut(&mut u32)) {}
}

/// Which collection to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionKind {
    /// Evacuate the nursery's live objects into the old space.
    Minor,
    /// Copy every live object (nursery and old space) into the other old
    /// semi-space; collects everything unreachable, cycles included.
    Major,
}

/// Heap settings.
#[derive(Clone, Debug)]
pub struct GcConfig {
    /// Size of the nursery, rounded up to 64 KiB (at least 64 KiB, at most
    /// 256 MiB). Default 4 MiB (see RATIONALE.md); only the pages the
    /// bump pointer has passed are ever touched.
    pub nursery_bytes: u32,
    /// Limit on the old space (live data after a full collection plus what
    /// is allocated into it). The nursery comes on top, and a full
    /// collection temporarily needs a second copy of the live data.
    /// Clamped to what the reservation allows (about 2 GiB).
    pub max_heap_bytes: u64,
    /// Objects larger than this are allocated directly in the old space
    /// (at most `nursery_bytes`). Default 32 KiB.
    pub pretenure_bytes: u32,
    /// Stress mode: every allocation takes the slow path and collects
    /// (minor and major alternately), the heap is verified after each
    /// collection, the freed nursery is poisoned and the old semi-space
    /// left by a major collection is made inaccessible.
    pub zeal: bool,
    /// Verify the heap after every collection (implied by `zeal`).
    pub verify_after_gc: bool,
}

impl Default for GcConfig {
    fn default() -> GcConfig {
        GcConfig {
            nursery_bytes: 4 << 20,
            max_heap_bytes: u64::MAX,
            pretenure_bytes: 32 << 10,
            zeal: false,
            verify_after_gc: false,
        }
    }
}

/// Counters since the heap was created.
#[derive(Clone, Debug, Default)]
pub struct GcStats {
    /// Minor collections run (not counting those that became major).
    pub minor_collections: u64,
    /// Major collections run.
    pub major_collections: u64,
    /// Bytes copied from the nursery into the old space by minor collections.
    pub promoted_bytes: u64,
    /// Bytes allocated directly in the old space (large objects).
    pub pretenured_bytes: u64,
    /// Bytes in the old space after the last major collection.
    pub live_bytes_after_major: u64,
}

/// Poison written over freed nursery memory in stress mode: as a type word
/// its kind bits are invalid, as a reference it is misaligned, so a stale
/// reference into it is reported at once.
pub(crate) const POISON_BYTE: u8 = 0xB6;

/// The old space gets `live * HEADROOM_LIVE_FACTOR` bytes of headroom after
/// a major collection (amortised copying work per promoted byte at most
/// 1 / factor), and at least `HEADROOM_NURSERIES` nurseries' worth (so at
/// least that many minor collections pass between major ones, whatever the
/// allocation rate).
pub(crate) const HEADROOM_LIVE_FACTOR: u64 = 1;
pub(crate) const HEADROOM_NURSERIES: u64 = 4;

/// Granularity of committing old-space memory.
const COMMIT_CHUNK: u64 = 1 << 20;

/// A WebAssembly GC heap: a 4 GiB offset space in an 8 GiB + 64 KiB
/// reservation, with a nursery and two old semi-spaces. See the crate
/// documentation for the design.
pub struct GcHeap {
    pub(crate) mem: Mem,
    pub(crate) cards: Cards,
    pub(crate) reservation: Mapping,
    _card_mapping: Mapping,
    /// Shared with generated code: allocated once (`Box::into_raw`) so its
    /// address is stable, and only ever accessed through this raw pointer
    /// (generated code writes it while the heap is borrowed elsewhere).
    vm: *mut VMGcHeapData,
    pub(crate) types: Types,
    pub(crate) config: GcConfig,
    pub(crate) nursery_start: u32,
    pub(crate) nursery_end: u32,
    pub(crate) half_start: [u32; 2],
    pub(crate) half_bytes: u32,
    /// Bytes committed (read-write) from the start of each half.
    pub(crate) committed: [u32; 2],
    /// The half that holds the old space.
    pub(crate) cur: usize,
    pub(crate) old_top: u32,
    /// The old space may hold this many bytes before a major collection.
    pub(crate) old_capacity: u64,
    pub(crate) max_heap_bytes: u64,
    /// For each card of the old space (by `(offset - half start) >> CARD_SHIFT`):
    /// the start of the object covering the card's first byte.
    pub(crate) crossing: Vec<u32>,
    pub(crate) spare_crossing: Vec<u32>,
    /// `(offset, host slot)` of the extern objects in the nursery / old space.
    pub(crate) young_externs: Vec<(u32, u32)>,
    pub(crate) old_externs: Vec<(u32, u32)>,
    pub(crate) dead_externs: Vec<u32>,
    pub(crate) stats: GcStats,
    pub(crate) poisoned: Option<GcError>,
    pub(crate) gc_requested: bool,
    pub(crate) zeal_count: u64,
}

// SAFETY: the heap exclusively owns its mappings; the raw pointers in it
// (and in `vm`) point into them. Moving the heap to another thread moves that
// ownership; `&GcHeap` allows only reads.
unsafe impl Send for GcHeap {}

impl Drop for GcHeap {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box::into_raw` in `new`, freed only here;
        // whoever holds the address must not use it after the heap is gone.
        drop(unsafe { Box::from_raw(self.vm) });
    }
}

impl std::fmt::Debug for GcHeap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcHeap")
            .field("nursery_top", &self.top())
            .field("old_top", &self.old_top)
            .field("old_capacity", &self.old_capacity)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl GcHeap {
    /// Reserves a heap. Commits only the nursery; the old space is committed
    /// as it fills.
    pub fn new(config: GcConfig) -> Result<GcHeap, GcError> {
        const GRAIN: u32 = 64 << 10;
        if page_size() > GRAIN as usize {
            return Err(GcError::BadConfig("pages larger than 64 KiB"));
        }
        if config.nursery_bytes < GRAIN || config.nursery_bytes > 256 << 20 {
            return Err(GcError::BadConfig("nursery_bytes not in 64 KiB..=256 MiB"));
        }
        let nursery_bytes = config.nursery_bytes.next_multiple_of(GRAIN);
        if config.pretenure_bytes > nursery_bytes {
            return Err(GcError::BadConfig(
                "pretenure_bytes larger than the nursery",
            ));
        }
        let reservation_bytes = usize::try_from(RESERVATION_BYTES)
            .map_err(|_| GcError::BadConfig("a GC heap needs a 64-bit address space"))?;
        let reservation = Mapping::new(reservation_bytes, libc::PROT_NONE)?;
        let card_mapping = Mapping::new(CARD_TABLE_BYTES, libc::PROT_READ | libc::PROT_WRITE)?;
        let nursery_start = NULL_GUARD_BYTES;
        let nursery_end = nursery_start + nursery_bytes;
        reservation.commit(nursery_start as usize, nursery_bytes as usize)?;
        // Old halves fill [nursery_end, 4 GiB - 64 KiB), so every object
        // end is a valid u32.
        let old_area = (1u64 << 32) - u64::from(GRAIN) - u64::from(nursery_end);
        let half_bytes = (old_area / 2) as u32 / GRAIN * GRAIN;
        let half_start = [nursery_end, nursery_end + half_bytes];
        let max_heap_bytes = config
            .max_heap_bytes
            .min(u64::from(half_bytes - nursery_bytes));
        let vm = Box::into_raw(Box::new(VMGcHeapData {
            base: reservation.as_ptr(),
            card_table: card_mapping.as_ptr(),
            nursery_top: nursery_start,
            nursery_limit: if config.zeal { 0 } else { nursery_end },
        }));
        let mut heap = GcHeap {
            mem: Mem::new(reservation.as_ptr()),
            cards: Cards::new(card_mapping.as_ptr()),
            reservation,
            _card_mapping: card_mapping,
            vm,
            types: Types::default(),
            config: GcConfig {
                nursery_bytes,
                ..config
            },
            nursery_start,
            nursery_end,
            half_start,
            half_bytes,
            committed: [0, 0],
            cur: 0,
            old_top: half_start[0],
            old_capacity: 0,
            max_heap_bytes,
            crossing: Vec::new(),
            spare_crossing: Vec::new(),
            young_externs: Vec::new(),
            old_externs: Vec::new(),
            dead_externs: Vec::new(),
            stats: GcStats::default(),
            poisoned: None,
            gc_requested: false,
            zeal_count: 0,
        };
        heap.old_capacity = heap.capacity_for(0);
        Ok(heap)
    }

    /// Registers the layout of type `type_id` (at most
    /// [`crate::vm::MAX_TYPE_ID`]). Registering the same layout again is a
    /// no-op; a different layout for a registered id is an error.
    pub fn register_type(&mut self, type_id: u32, layout: TypeLayout) -> Result<(), GcError> {
        self.types.register(type_id, layout)
    }

    /// The block generated code reads and writes (see [`crate::vm`]). Its
    /// address never changes while the heap lives.
    pub fn vm_data(&mut self) -> *mut VMGcHeapData {
        self.vm
    }

    /// The heap's base address: an object is at `base + reference`.
    pub fn base(&self) -> *mut u8 {
        self.vm_base()
    }

    /// Counters.
    pub fn stats(&self) -> &GcStats {
        &self.stats
    }

    /// Bytes in use in the nursery and the old space.
    pub fn used_bytes(&self) -> (u64, u64) {
        (
            u64::from(self.top().saturating_sub(self.nursery_start)),
            u64::from(self.old_top - self.half_start[self.cur]),
        )
    }

    /// Bytes of the reservation currently committed (readable and
    /// writable): the nursery and both old semi-spaces. Resident memory is
    /// at most this (pages never touched are not resident).
    pub fn committed_bytes(&self) -> u64 {
        u64::from(self.nursery_end - self.nursery_start)
            + u64::from(self.committed[0])
            + u64::from(self.committed[1])
    }

    /// The in-use offset ranges `[start, end)`: nursery, then old space.
    pub fn in_use(&self) -> [(u32, u32); 2] {
        [
            (
                self.nursery_start,
                self.top().clamp(self.nursery_start, self.nursery_end),
            ),
            (self.half_start[self.cur], self.old_top),
        ]
    }

    /// The old-space limit in effect (the configured one, clamped).
    pub fn max_heap_bytes(&self) -> u64 {
        self.max_heap_bytes
    }

    /// Makes the next allocation take the slow path and collect the
    /// nursery (for a GC requested from outside the mutator).
    pub fn request_gc(&mut self) {
        self.gc_requested = true;
        self.set_limit(0);
    }

    /// Host-data slot ids of extern objects found dead by the collections
    /// so far; the embedder drops their host data.
    pub fn drain_dead_externs(&mut self) -> std::vec::Drain<'_, u32> {
        self.dead_externs.drain(..)
    }

    pub(crate) fn check_poison(&self) -> Result<(), GcError> {
        match &self.poisoned {
            Some(e) => Err(e.duplicate()),
            None => Ok(()),
        }
    }

    /// The nursery top from the shared block, checked (generated code
    /// writes it).
    pub(crate) fn nursery_top(&self) -> Result<u32, GcError> {
        let top = self.top();
        if top < self.nursery_start || top > self.nursery_end || !top.is_multiple_of(8) {
            return Err(GcError::corrupt(top, "nursery top outside the nursery"));
        }
        Ok(top)
    }

    #[inline(always)]
    pub(crate) fn top(&self) -> u32 {
        // SAFETY: `vm` is valid for the heap's lifetime; single-threaded.
        unsafe { (*self.vm).nursery_top }
    }

    #[inline(always)]
    pub(crate) fn set_top(&mut self, top: u32) {
        // SAFETY: as in `top`.
        unsafe { (*self.vm).nursery_top = top }
    }

    #[inline(always)]
    fn limit(&self) -> u32 {
        // SAFETY: as in `top`.
        unsafe { (*self.vm).nursery_limit }
    }

    fn set_limit(&mut self, limit: u32) {
        // SAFETY: as in `top`.
        unsafe { (*self.vm).nursery_limit = limit }
    }

    fn vm_base(&self) -> *mut u8 {
        // SAFETY: as in `top`.
        unsafe { (*self.vm).base }
    }

    pub(crate) fn reset_limit(&mut self) {
        let limit = if self.config.zeal {
            0
        } else {
            self.nursery_end
        };
        self.set_limit(limit);
    }

    /// Old-space capacity after a major collection left `live` bytes.
    pub(crate) fn capacity_for(&self, live: u64) -> u64 {
        let headroom = (live * HEADROOM_LIVE_FACTOR)
            .max(HEADROOM_NURSERIES * u64::from(self.config.nursery_bytes));
        (live + headroom).min(self.max_heap_bytes).max(live)
    }

    /// Makes the first `bytes` of half `h` read-write.
    pub(crate) fn commit_half(&mut self, h: usize, bytes: u64) -> Result<(), GcError> {
        if bytes <= u64::from(self.committed[h]) {
            return Ok(());
        }
        if bytes > u64::from(self.half_bytes) {
            return Err(GcError::corrupt(
                self.half_start[h],
                "live data larger than a semi-space",
            ));
        }
        let new = bytes
            .next_multiple_of(COMMIT_CHUNK)
            .min(u64::from(self.half_bytes)) as u32;
        let start = self.half_start[h] + self.committed[h];
        self.reservation
            .commit(start as usize, (new - self.committed[h]) as usize)?;
        self.committed[h] = new;
        Ok(())
    }

    /// Grows the crossing map to cover `bytes` of the current half.
    pub(crate) fn grow_crossing(&mut self, bytes: u64) {
        let cards = (bytes >> CARD_SHIFT) as usize + 2;
        if self.crossing.len() < cards {
            self.crossing.resize(cards, 0);
        }
    }

    /// Allocates an object with header words `w0` (type word) and `w1`
    /// (array length, extern slot, or 0 for a struct), zeroes its body and
    /// returns its reference. This is the slow path of inline allocation:
    /// the size comes from the registered type, never from the caller.
    /// Collects as needed; `roots` must hold every live reference.
    pub fn alloc_raw(
        &mut self,
        w0: u32,
        w1: u32,
        roots: &mut dyn RootSource,
    ) -> Result<u32, GcError> {
        self.check_poison()?;
        let size = self.types.size_for_alloc(w0, w1)?;
        let top = self.top();
        let limit = self.limit();
        let off = if size <= self.config.pretenure_bytes
            && top >= self.nursery_start
            && limit <= self.nursery_end
            && u64::from(top) + u64::from(size) <= u64::from(limit)
        {
            self.set_top(top + size);
            top
        } else {
            self.alloc_slow(size, roots)?
        };
        self.mem.w32(off, w0);
        self.mem.w32(off + 4, w1);
        self.mem.fill(off + HEADER_BYTES, size - HEADER_BYTES, 0);
        if w0 == EXTERN_TYPE_WORD {
            if off < self.nursery_end {
                self.young_externs.push((off, w1));
            } else {
                self.old_externs.push((off, w1));
            }
        }
        Ok(off)
    }

    /// Allocates a zeroed struct of registered type `type_id`.
    pub fn alloc_struct(
        &mut self,
        type_id: u32,
        roots: &mut dyn RootSource,
    ) -> Result<u32, GcError> {
        self.alloc_raw(type_word(type_id, Kind::Struct), 0, roots)
    }

    /// Allocates a zeroed array of registered type `type_id`.
    pub fn alloc_array(
        &mut self,
        type_id: u32,
        len: u32,
        roots: &mut dyn RootSource,
    ) -> Result<u32, GcError> {
        self.alloc_raw(type_word(type_id, Kind::Array), len, roots)
    }

    /// Allocates an extern object for the embedder's host-data slot
    /// `host_slot`. When it dies, `drain_dead_externs` reports the slot.
    /// Extern objects are made here or by `alloc_raw`, never inline: the
    /// heap keeps a list of them so it can report the dead ones.
    pub fn alloc_extern(
        &mut self,
        host_slot: u32,
        roots: &mut dyn RootSource,
    ) -> Result<u32, GcError> {
        self.alloc_raw(EXTERN_TYPE_WORD, host_slot, roots)
    }

    /// Finds room for `size` bytes when the inline path cannot: collects,
    /// pretenures large objects, reports the heap limit.
    fn alloc_slow(&mut self, size: u32, roots: &mut dyn RootSource) -> Result<u32, GcError> {
        let mut ran = None;
        if self.config.zeal {
            self.zeal_count += 1;
            let kind = if self.zeal_count.is_multiple_of(2) {
                CollectionKind::Major
            } else {
                CollectionKind::Minor
            };
            ran = Some(self.collect(kind, roots)?);
        } else if self.gc_requested {
            ran = Some(self.collect(CollectionKind::Minor, roots)?);
        }
        if size > self.config.pretenure_bytes {
            return self.alloc_old(size, roots);
        }
        let top = self.nursery_top()?;
        if u64::from(top) + u64::from(size) > u64::from(self.nursery_end) {
            ran = Some(self.collect(CollectionKind::Minor, roots)?);
        }
        if ran == Some(CollectionKind::Major) {
            self.check_limit(size)?;
        }
        let top = self.nursery_top()?;
        if u64::from(top) + u64::from(size) > u64::from(self.nursery_end) {
            // Only a collection that left the nursery full (impossible
            // unless the shared block was tampered with) gets here.
            return Err(GcError::corrupt(top, "nursery full after a collection"));
        }
        self.set_top(top + size);
        Ok(top)
    }

    fn check_limit(&self, size: u32) -> Result<(), GcError> {
        let live = u64::from(self.old_top - self.half_start[self.cur]);
        if live + u64::from(size) > self.max_heap_bytes {
            return Err(GcError::OutOfMemory {
                requested: u64::from(size),
                live_bytes: live,
                limit_bytes: self.max_heap_bytes,
            });
        }
        Ok(())
    }

    /// Allocates `size` bytes directly in the old space, with its cards
    /// dirty, so that initialising stores without a barrier stay correct.
    fn alloc_old(&mut self, size: u32, roots: &mut dyn RootSource) -> Result<u32, GcError> {
        let used = |heap: &GcHeap| u64::from(heap.old_top - heap.half_start[heap.cur]);
        if used(self) + u64::from(size) > self.old_capacity {
            self.collect(CollectionKind::Major, roots)?;
            self.check_limit(size)?;
            if used(self) + u64::from(size) > self.old_capacity {
                self.old_capacity = self.capacity_for(used(self) + u64::from(size));
            }
        }
        let h = self.half_start[self.cur];
        let off = self.old_top;
        let end = u64::from(off - h) + u64::from(size);
        self.commit_half(self.cur, end)?;
        self.grow_crossing(end);
        self.old_top = off + size;
        note_object(&mut self.crossing, h, off, size);
        self.cards.range(off, off + size).fill(1);
        self.stats.pretenured_bytes += u64::from(size);
        Ok(off)
    }

    /// Checks that `r` is a reference to an object in use and returns its
    /// header words and size.
    fn object(&self, r: u32) -> Result<(u32, u32, u32), GcError> {
        let bad = |why| GcError::BadAccess {
            object: r,
            offset: 0,
            why,
        };
        if r == 0 || !r.is_multiple_of(8) {
            return Err(bad("null, i31 or misaligned reference"));
        }
        let end = self
            .space_end(r)
            .ok_or(bad("not a reference to an object in use"))?;
        if u64::from(r) + u64::from(HEADER_BYTES) > u64::from(end) {
            return Err(bad("not a reference to an object in use"));
        }
        let (w0, w1) = (self.mem.r32(r), self.mem.r32(r + 4));
        let (size, _) = self
            .types
            .decode(w0, w1)
            .map_err(|what| GcError::corrupt(r, what))?;
        if u64::from(r) + u64::from(size) > u64::from(end) {
            return Err(GcError::corrupt(r, "object extends past its space"));
        }
        Ok((w0, w1, size))
    }

    /// End of the in-use range containing `r`, if any.
    pub(crate) fn space_end(&self, r: u32) -> Option<u32> {
        self.in_use()
            .into_iter()
            .find(|&(s, e)| r >= s && r < e)
            .map(|(_, e)| e)
    }

    fn field(&self, r: u32, off: u32, width: u32) -> Result<(u32, u32, u32), GcError> {
        let (w0, w1, size) = self.object(r)?;
        if u64::from(off) + u64::from(width) > u64::from(size) {
            return Err(GcError::BadAccess {
                object: r,
                offset: off,
                why: "field outside the object",
            });
        }
        Ok((w0, w1, r + off))
    }

    fn body_field(&self, r: u32, off: u32, width: u32) -> Result<u32, GcError> {
        if off < HEADER_BYTES {
            return Err(GcError::BadAccess {
                object: r,
                offset: off,
                why: "the header is not writable",
            });
        }
        Ok(self.field(r, off, width)?.2)
    }

    /// Kind and type id of object `r`.
    pub fn object_type(&self, r: u32) -> Result<(Kind, u32), GcError> {
        let (w0, _, _) = self.object(r)?;
        let kind = Kind::from_type_word(w0).ok_or(GcError::corrupt(r, "invalid type word"))?;
        Ok((kind, w0 >> TYPE_ID_SHIFT))
    }

    /// Length of array `r`.
    pub fn array_len(&self, r: u32) -> Result<u32, GcError> {
        match self.object(r)? {
            (w0, w1, _) if Kind::from_type_word(w0) == Some(Kind::Array) => Ok(w1),
            _ => Err(GcError::BadAccess {
                object: r,
                offset: 4,
                why: "not an array",
            }),
        }
    }

    /// Host-data slot of extern object `r` (as stored in the heap: the
    /// embedder must check it against its own table).
    pub fn extern_slot(&self, r: u32) -> Result<u32, GcError> {
        match self.object(r)? {
            (EXTERN_TYPE_WORD, w1, _) => Ok(w1),
            _ => Err(GcError::BadAccess {
                object: r,
                offset: EXTERN_SLOT_OFFSET,
                why: "not an extern object",
            }),
        }
    }

    /// Reads the `u32` at `off` in object `r` (the header included).
    pub fn read_u32(&self, r: u32, off: u32) -> Result<u32, GcError> {
        Ok(self.mem.r32(self.field(r, off, 4)?.2))
    }

    /// Reads the `u64` at `off` in object `r`.
    pub fn read_u64(&self, r: u32, off: u32) -> Result<u64, GcError> {
        Ok(self.mem.r64(self.field(r, off, 8)?.2))
    }

    /// Writes a non-reference `u32` field. No barrier: writing a reference
    /// slot this way is a bug the verifier reports (tests use it so).
    pub fn write_u32(&mut self, r: u32, off: u32, v: u32) -> Result<(), GcError> {
        self.mem.w32(self.body_field(r, off, 4)?, v);
        Ok(())
    }

    /// Writes a non-reference `u64` field.
    pub fn write_u64(&mut self, r: u32, off: u32, v: u64) -> Result<(), GcError> {
        self.mem.w64(self.body_field(r, off, 8)?, v);
        Ok(())
    }

    /// Copies `bytes` into object `r` at `off` (a non-reference field or
    /// elements: no barrier, like [`write_u32`](Self::write_u32)).
    pub fn write_bytes(&mut self, r: u32, off: u32, bytes: &[u8]) -> Result<(), GcError> {
        let len = u32::try_from(bytes.len()).map_err(|_| GcError::BadAccess {
            object: r,
            offset: off,
            why: "field outside the object",
        })?;
        let at = self.body_field(r, off, len)?;
        for (i, b) in bytes.iter().enumerate() {
            self.mem.w8(at + i as u32, *b);
        }
        Ok(())
    }

    /// Copies `out.len()` bytes of object `r` from `off` into `out`.
    pub fn read_bytes(&self, r: u32, off: u32, out: &mut [u8]) -> Result<(), GcError> {
        let len = u32::try_from(out.len()).map_err(|_| GcError::BadAccess {
            object: r,
            offset: off,
            why: "field outside the object",
        })?;
        let at = self.field(r, off, len)?.2;
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.mem.r8(at + i as u32);
        }
        Ok(())
    }

    /// Stores `count` elements of `elem_size` bytes (1, 2, 4 or 8), each
    /// the low bytes of `value` (little-endian), into object `r` from
    /// `off`: 8 bytes at a time where it can. With `refs`, they are
    /// reference slots and their cards are marked.
    pub fn fill_elems(
        &mut self,
        r: u32,
        off: u32,
        value: u64,
        elem_size: u32,
        count: u32,
        refs: bool,
    ) -> Result<(), GcError> {
        let bad = GcError::BadAccess {
            object: r,
            offset: off,
            why: "fill outside the object",
        };
        if !matches!(elem_size, 1 | 2 | 4 | 8) {
            return Err(bad);
        }
        let len = count.checked_mul(elem_size).ok_or(bad)?;
        let at = self.body_field(r, off, len)?;
        let bytes = value.to_le_bytes();
        let es = elem_size as usize;
        let pattern: [u8; 8] = std::array::from_fn(|i| bytes[i % es]);
        let word = u64::from_le_bytes(pattern);
        // Elements are aligned to their size, which divides 8: the pattern
        // is in phase at every element start and every 8-aligned offset.
        let mut i = 0;
        while i < len && !(at + i).is_multiple_of(8) {
            self.mem.w8(at + i, pattern[(i % 8) as usize]);
            i += 1;
        }
        while i + 8 <= len {
            self.mem.w64(at + i, word);
            i += 8;
        }
        while i < len {
            self.mem.w8(at + i, pattern[(i % 8) as usize]);
            i += 1;
        }
        if refs && len > 0 {
            self.cards.range(at, at + len).fill(1);
        }
        Ok(())
    }

    /// Moves `len` bytes from object `src` at `src_off` to object `dst` at
    /// `dst_off` (the ranges may overlap); with `refs`, the moved bytes are
    /// reference slots and the destination's cards are marked. Both ranges
    /// must lie in the objects' bodies.
    pub fn copy_within(
        &mut self,
        dst: u32,
        dst_off: u32,
        src: u32,
        src_off: u32,
        len: u32,
        refs: bool,
    ) -> Result<(), GcError> {
        let to = self.body_field(dst, dst_off, len)?;
        let from = self.body_field(src, src_off, len)?;
        self.mem.copy(from, to, len);
        if refs && len > 0 {
            self.cards.range(to, to + len).fill(1);
        }
        Ok(())
    }

    /// Reads the reference slot at `off` of object `r`.
    pub fn read_ref(&self, r: u32, off: u32) -> Result<u32, GcError> {
        let (w0, w1, at) = self.field(r, off, 4)?;
        if !self.types.is_ref_slot(w0, w1, off) {
            return Err(GcError::BadAccess {
                object: r,
                offset: off,
                why: "not a reference slot",
            });
        }
        Ok(self.mem.r32(at))
    }

    /// Stores reference `v` (null, i31 or an object in use) into the
    /// reference slot at `off` of object `r`, with the write barrier.
    pub fn write_ref(&mut self, r: u32, off: u32, v: u32) -> Result<(), GcError> {
        let (w0, w1, at) = self.field(r, off, 4)?;
        if off < HEADER_BYTES || !self.types.is_ref_slot(w0, w1, off) {
            return Err(GcError::BadAccess {
                object: r,
                offset: off,
                why: "not a reference slot",
            });
        }
        if v != 0 && v & 1 == 0 {
            self.object(v)?;
        }
        self.mem.w32(at, v);
        self.cards.mark(at);
        Ok(())
    }

    /// Reads any word inside the in-use ranges (for tests and debugging).
    #[doc(hidden)]
    pub fn peek_u32(&self, offset: u32) -> Option<u32> {
        match self.space_end(offset) {
            Some(end) if u64::from(offset) + 4 <= u64::from(end) => Some(self.mem.r32(offset)),
            _ => None,
        }
    }

    /// Overwrites any word inside the in-use ranges, bypassing every check
    /// but the range: models a code generation bug, for corruption tests.
    /// Returns false (and writes nothing) outside the ranges.
    #[doc(hidden)]
    pub fn poke_u32(&mut self, offset: u32, value: u32) -> bool {
        match self.space_end(offset) {
            Some(end) if u64::from(offset) + 4 <= u64::from(end) => {
                self.mem.w32(offset, value);
                true
            }
            _ => false,
        }
    }
}

/// Records in `crossing` (for the half starting at `half`) that the object
/// `[start, start + size)` covers the first byte of each card starting in it.
#[inline]
pub(crate) fn note_object(crossing: &mut [u32], half: u32, start: u32, size: u32) {
    const CARD: u32 = 1 << CARD_SHIFT;
    let end = start + size;
    let mut card = start.next_multiple_of(CARD);
    while card < end {
        if let Some(c) = crossing.get_mut(((card - half) >> CARD_SHIFT) as usize) {
            *c = start;
        }
        card += CARD;
    }
}
