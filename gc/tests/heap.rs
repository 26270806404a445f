//! Targeted tests: the write barrier, the heap limit, extern objects, the
//! inline-allocation contract, large objects, and corrupted heaps.

mod model;

use model::{BYTES, Mutator, NODE, REFS, Rng, register};
use nyash_gc::vm::{self, Kind, offsets, type_word};
use nyash_gc::{CollectionKind, GcConfig, GcError, GcHeap, RootSource};

fn heap(config: GcConfig) -> GcHeap {
    let mut h = GcHeap::new(config).unwrap();
    register(&mut h);
    h
}

fn config() -> GcConfig {
    GcConfig {
        nursery_bytes: 256 << 10,
        ..GcConfig::default()
    }
}

/// An old node and a young node; returns `(old, young)` in `roots[0..2]`.
fn old_and_young(h: &mut GcHeap, roots: &mut [u32; 2]) {
    roots[0] = h.alloc_struct(NODE, roots).unwrap();
    h.collect(CollectionKind::Minor, roots).unwrap();
    roots[1] = h.alloc_struct(NODE, roots).unwrap();
    h.write_u32(roots[1], 8, 4242).unwrap();
    let [young, old] = h.in_use();
    assert!(roots[0] >= old.0 && roots[0] < old.1, "promoted");
    assert!(roots[1] >= young.0 && roots[1] < young.1, "young");
}

#[test]
fn old_to_young_edges_survive_minor_collections_through_the_barrier() {
    let mut h = heap(config());
    let mut roots = [0; 2];
    old_and_young(&mut h, &mut roots);
    h.write_ref(roots[0], 12, roots[1]).unwrap();
    let census = h.verify(&mut roots).unwrap();
    assert_eq!(census.old_to_young, 1);
    roots[1] = 0;
    h.collect(CollectionKind::Minor, &mut roots).unwrap();
    h.verify(&mut roots).unwrap();
    let child = h.read_ref(roots[0], 12).unwrap();
    assert_eq!(h.read_u32(child, 8).unwrap(), 4242);
    assert_eq!(
        h.used_bytes().0,
        0,
        "nursery empty after the minor collection"
    );
}

#[test]
fn a_store_without_the_barrier_is_caught() {
    let mut h = heap(config());
    let mut roots = [0; 2];
    old_and_young(&mut h, &mut roots);
    // A reference store that skips the card mark (a codegen bug).
    h.write_u32(roots[0], 12, roots[1]).unwrap();
    let err = h.verify(&mut roots).unwrap_err();
    assert!(
        matches!(err, GcError::HeapCorrupt { what, .. } if what.contains("clean card")),
        "{err}"
    );
    // And the minor collection really does miss the edge: the old node
    // then points at reused nursery memory.
    roots[1] = 0;
    h.collect(CollectionKind::Minor, &mut roots).unwrap();
    let stale = h.read_ref(roots[0], 12).unwrap();
    assert!(h.read_u32(stale, 8).is_err() || h.verify(&mut roots).is_err());
}

#[test]
fn pretenured_arrays_record_initialising_stores() {
    let mut h = heap(config());
    let mut roots = [0u32; 3];
    // 20,000 references: 80 KB, above the 32 KiB pretenuring threshold.
    roots[0] = h.alloc_array(REFS, 20_000, &mut roots).unwrap();
    let [young, old] = h.in_use();
    assert!(roots[0] >= old.0 && roots[0] < old.1);
    assert!(young.0 == young.1);
    for i in 0..20_000u32 {
        if i % 1000 == 7 {
            let n = h.alloc_struct(NODE, &mut roots).unwrap();
            h.write_u32(n, 8, i).unwrap();
            // An initialising store: no barrier.
            h.write_u32(roots[0], 8 + 4 * i, n).unwrap();
        }
    }
    h.verify(&mut roots).unwrap();
    h.collect(CollectionKind::Minor, &mut roots).unwrap();
    h.verify(&mut roots).unwrap();
    for i in (7..20_000u32).step_by(1000) {
        let n = h.read_ref(roots[0], 8 + 4 * i).unwrap();
        assert_eq!(h.read_u32(n, 8).unwrap(), i);
    }
    // Cards were cleaned: the next stores need the barrier again.
    let census = h.verify(&mut roots).unwrap();
    assert_eq!(census.old_to_young, 0);
}

#[test]
fn heap_limit_is_a_clean_error_and_the_heap_stays_usable() {
    let limit = 2 << 20;
    let mut h = heap(GcConfig {
        nursery_bytes: 128 << 10,
        max_heap_bytes: limit,
        verify_after_gc: true,
        ..GcConfig::default()
    });
    // A linked list kept alive through root 0 until allocation fails.
    let mut roots = [0u32; 2];
    let mut n = 0u64;
    let err = loop {
        match h.alloc_struct(NODE, &mut roots) {
            Ok(r) => {
                h.write_ref(r, 12, roots[0]).unwrap();
                roots[0] = r;
                n += 1;
            }
            Err(e) => break e,
        }
        assert!(n < 1 << 20, "no limit");
    };
    assert!(matches!(err, GcError::OutOfMemory { .. }), "{err}");
    assert!(n * 24 > limit / 2, "{n} nodes");
    h.verify(&mut roots).unwrap();
    // Everything allocated so far is still there.
    let mut len = 0;
    let mut r = roots[0];
    while r != 0 {
        len += 1;
        r = h.read_ref(r, 12).unwrap();
    }
    assert_eq!(len, n);
    // Drop the list: allocation works again, many times over the limit.
    roots[0] = 0;
    for _ in 0..(4 * limit / 24) {
        h.alloc_struct(NODE, &mut roots).unwrap();
    }
    h.collect(CollectionKind::Major, &mut roots).unwrap();
    assert!(h.used_bytes().1 <= limit);
    // An array larger than the limit fails cleanly too.
    assert!(matches!(
        h.alloc_array(BYTES, 3 << 20, &mut roots),
        Err(GcError::OutOfMemory { .. })
    ));
    h.alloc_array(BYTES, 100, &mut roots).unwrap();
}

#[test]
fn dead_externs_are_reported_once() {
    let mut h = heap(config());
    let mut roots = vec![0u32; 10];
    for i in 0..10 {
        roots[i as usize] = h.alloc_extern(100 + i, &mut roots).unwrap();
    }
    // Externs 0..5 die young, 5..8 die old, 8 and 9 live.
    for r in &mut roots[0..5] {
        *r = 0;
    }
    h.collect(CollectionKind::Minor, &mut roots).unwrap();
    let mut dead: Vec<u32> = h.drain_dead_externs().collect();
    dead.sort();
    assert_eq!(dead, vec![100, 101, 102, 103, 104]);
    for r in &mut roots[5..8] {
        *r = 0;
    }
    h.collect(CollectionKind::Minor, &mut roots).unwrap();
    assert_eq!(
        h.drain_dead_externs().count(),
        0,
        "old externs wait for a major GC"
    );
    h.collect(CollectionKind::Major, &mut roots).unwrap();
    let mut dead: Vec<u32> = h.drain_dead_externs().collect();
    dead.sort();
    assert_eq!(dead, vec![105, 106, 107]);
    assert_eq!(h.extern_slot(roots[8]).unwrap(), 108);
    assert_eq!(h.extern_slot(roots[9]).unwrap(), 109);
}

/// Allocates the way generated code will: through the shared block.
fn inline_alloc(h: &mut GcHeap, size: u32, w0: u32, w1: u32) -> Option<u32> {
    let vm = h.vm_data().cast::<u8>();
    // SAFETY: reading and writing the documented fields of the live block.
    unsafe {
        let top_p = vm.add(offsets::NURSERY_TOP as usize).cast::<u32>();
        let limit_p = vm.add(offsets::NURSERY_LIMIT as usize).cast::<u32>();
        let base = *vm.add(offsets::BASE as usize).cast::<*mut u8>();
        let top = *top_p;
        if u64::from(top) + u64::from(size) > u64::from(*limit_p) {
            return None;
        }
        *top_p = top + size;
        let obj = base.add(top as usize);
        obj.cast::<u32>().write(w0);
        obj.add(4).cast::<u32>().write(w1);
        std::ptr::write_bytes(obj.add(8), 0, size as usize - 8);
        Some(top)
    }
}

#[test]
fn inline_allocation_through_the_shared_block() {
    let mut h = heap(config());
    let mut roots = vec![0u32; 1];
    let w0 = type_word(NODE, Kind::Struct);
    let mut count = 0u32;
    let mut slow = 0;
    while count < 50_000 {
        let r = match inline_alloc(&mut h, 24, w0, 0) {
            Some(r) => r,
            None => {
                slow += 1;
                h.alloc_raw(w0, 0, &mut roots).unwrap()
            }
        };
        let vm = h.vm_data().cast::<u8>();
        // SAFETY: the documented barrier: card_table[(obj + off) >> CARD_SHIFT] = 1.
        unsafe {
            let base = *vm.add(offsets::BASE as usize).cast::<*mut u8>();
            let cards = *vm.add(offsets::CARD_TABLE as usize).cast::<*mut u8>();
            base.add(r as usize + 8).cast::<u32>().write(count);
            base.add(r as usize + 12).cast::<u32>().write(roots[0]);
            *cards.add(((r + 12) >> vm::CARD_SHIFT) as usize) = 1;
        }
        roots[0] = r;
        count += 1;
    }
    assert!(slow > 0 && slow < 20, "{slow} slow-path allocations");
    h.collect(CollectionKind::Major, &mut roots).unwrap();
    let mut r = roots[0];
    for expect in (0..count).rev() {
        assert_eq!(h.read_u32(r, 8).unwrap(), expect);
        r = h.read_ref(r, 12).unwrap();
    }
    assert_eq!(r, 0);
    // A GC request: the limit drops to 0, the next allocation collects.
    h.request_gc();
    assert!(inline_alloc(&mut h, 24, w0, 0).is_none());
    let minors = h.stats().minor_collections;
    h.alloc_raw(w0, 0, &mut roots).unwrap();
    assert_eq!(h.stats().minor_collections, minors + 1);
    assert!(inline_alloc(&mut h, 24, w0, 0).is_some());
}

#[test]
fn invalid_types_and_accesses_are_errors() {
    let mut h = heap(config());
    let mut roots = [0u32; 1];
    assert!(matches!(
        h.alloc_struct(99, &mut roots),
        Err(GcError::InvalidType { .. })
    ));
    assert!(matches!(
        h.alloc_struct(REFS, &mut roots),
        Err(GcError::InvalidType { .. })
    ));
    assert!(matches!(
        h.alloc_array(BYTES, u32::MAX, &mut roots),
        Err(GcError::InvalidType { .. })
    ));
    let n = h.alloc_struct(NODE, &mut roots).unwrap();
    assert!(h.read_u32(n, 24).is_err(), "past the end");
    assert!(h.write_u32(n, 4, 0).is_err(), "header");
    assert!(h.read_ref(n, 8).is_err(), "not a reference slot");
    assert!(
        h.write_ref(n, 12, n + 8).is_err(),
        "reference into an object"
    );
    assert!(h.read_u32(n + 8, 0).is_err() || h.read_u32(n + 8, 0).is_ok());
    assert!(h.read_u32(0, 0).is_err());
    assert!(h.read_u32(0x1234_5678, 0).is_err());
    assert!(h.array_len(n).is_err());
}

/// Roots visited twice (an engine could list a slot twice).
struct Twice<'a>(&'a mut [u32]);

impl RootSource for Twice<'_> {
    fn visit_roots(&mut self, visit: &mut dyn FnMut(&mut u32)) {
        for r in self.0.iter_mut() {
            visit(r);
        }
        for r in self.0.iter_mut() {
            visit(r);
        }
    }
}

#[test]
fn a_root_visited_twice_is_updated_once() {
    let mut h = heap(config());
    let mut roots = [0u32; 2];
    roots[0] = h.alloc_struct(NODE, &mut roots).unwrap();
    h.write_u32(roots[0], 8, 5).unwrap();
    roots[1] = roots[0];
    h.collect(CollectionKind::Minor, &mut Twice(&mut roots))
        .unwrap();
    h.collect(CollectionKind::Major, &mut Twice(&mut roots))
        .unwrap();
    assert_eq!(roots[0], roots[1]);
    assert_eq!(h.read_u32(roots[0], 8).unwrap(), 5);
    h.verify(&mut roots).unwrap();
}

/// Random words written into a random heap: collections, verification,
/// accesses and allocations must return (errors or not), never panic or
/// fault. Every collector access is confined by construction (u32 offsets
/// in an 8 GiB reservation); this checks the in-use range checks on top.
#[test]
fn corrupted_heaps_give_errors_not_crashes() {
    let mut outcomes = [0u32; 2];
    for seed in 0..4_000u64 {
        let mut m = Mutator::new(
            GcConfig {
                nursery_bytes: 64 << 10,
                zeal: seed % 7 == 0,
                ..GcConfig::default()
            },
            seed,
            12,
        );
        m.big_arrays = seed % 4 == 0 && seed % 7 != 0;
        for _ in 0..300 {
            m.step().unwrap();
        }
        m.collect(CollectionKind::Minor);
        for _ in 0..300 {
            m.step().unwrap();
        }
        let mut rng = Rng::new(seed ^ 0xC0FFEE);
        let [young, old] = m.heap.in_use();
        let words = 1 + rng.below(6);
        for _ in 0..words {
            let (s, e) = if rng.chance(50) && young.1 > young.0 {
                young
            } else {
                old
            };
            if e <= s + 8 {
                continue;
            }
            let off = s + (rng.below(u64::from(e - s - 4)) as u32 & !3);
            let old_word = m.heap.peek_u32(off).unwrap();
            let value = match rng.below(6) {
                0 => rng.next() as u32,
                1 => old_word ^ (1 << rng.below(32)),
                2 => u32::MAX - rng.below(16) as u32,
                3 => s + (rng.below(u64::from(e - s)) as u32 & !7),
                4 => type_word(rng.below(8) as u32, Kind::Array),
                _ => rng.below(64) as u32,
            };
            assert!(m.heap.poke_u32(off, value));
        }
        let roots = &mut m.roots;
        let h = &mut m.heap;
        let result = match seed % 4 {
            0 => h.collect(CollectionKind::Minor, roots).map(|_| ()),
            1 => h.collect(CollectionKind::Major, roots).map(|_| ()),
            2 => h.verify(roots).map(|_| ()),
            _ => (0..2_000).try_for_each(|_| h.alloc_struct(NODE, roots).map(|_| ())),
        };
        outcomes[result.is_ok() as usize] += 1;
        // Whatever happened, keep using the heap.
        for &r in roots.iter() {
            let _ = h.object_type(r);
            let _ = h.read_ref(r, 12);
            let _ = h.array_len(r);
        }
        let _ = h.verify(roots);
        let _ = h.collect(CollectionKind::Minor, roots);
        let _ = h.collect(CollectionKind::Major, roots);
        let _ = h.alloc_array(REFS, 10, roots);
    }
    // Both outcomes occur: corruption is detected, and harmless writes
    // (into non-reference data) are not errors.
    assert!(outcomes[0] > 300 && outcomes[1] > 300, "{outcomes:?}");
}

#[test]
fn a_corrupt_nursery_top_is_an_error() {
    let mut h = heap(config());
    let mut roots = [0u32; 1];
    roots[0] = h.alloc_struct(NODE, &mut roots).unwrap();
    let vm = h.vm_data();
    // SAFETY: writing a field of the live block, as buggy code could.
    unsafe { (*vm).nursery_top = 0xFFFF_FFF0 };
    assert!(matches!(
        h.collect(CollectionKind::Minor, &mut roots),
        Err(GcError::HeapCorrupt { .. })
    ));
    assert!(h.alloc_struct(NODE, &mut roots).is_err(), "poisoned");
}

#[test]
fn the_nursery_is_reused_from_its_start_and_stale_references_are_refused() {
    let mut h = heap(config());
    let mut roots = [0u32; 1];
    let first = h.alloc_struct(NODE, &mut roots).unwrap();
    roots[0] = first;
    h.collect(CollectionKind::Minor, &mut roots).unwrap();
    assert_ne!(roots[0], first, "promoted");
    // The nursery starts over at the same address: cache-warm, no faults.
    let again = h.alloc_struct(NODE, &mut roots).unwrap();
    assert_eq!(again, first);
    // After a major collection the old copy's semi-space is gone.
    let promoted = roots[0];
    h.collect(CollectionKind::Major, &mut roots).unwrap();
    assert_ne!(roots[0], promoted);
    assert!(matches!(
        h.read_u32(promoted, 8),
        Err(GcError::BadAccess { .. })
    ));
    assert!(h.peek_u32(promoted).is_none());
    h.read_u32(roots[0], 8).unwrap();
}

#[test]
fn stress_mode_poisons_the_freed_nursery() {
    let mut h = heap(GcConfig {
        nursery_bytes: 64 << 10,
        zeal: true,
        ..GcConfig::default()
    });
    let mut roots = [0u32; 1];
    // Not rooted: dead at the next allocation's collection. The next
    // object (24 bytes) reuses the start of its 72 bytes.
    let stale = h.alloc_array(BYTES, 64, &mut roots).unwrap();
    h.write_u32(stale, 40, 77).unwrap();
    roots[0] = h.alloc_struct(NODE, &mut roots).unwrap();
    assert_eq!(roots[0], stale);
    let base = h.base();
    // SAFETY: the nursery stays committed; reading a word inside it.
    let word = unsafe { base.add(stale as usize + 40).cast::<u32>().read() };
    assert_eq!(word, u32::from_ne_bytes([0xB6; 4]));
    // A root left pointing into the freed part is caught.
    let mut bad = [stale + 24];
    assert!(h.verify(&mut bad).is_err());
    assert!(h.verify(&mut roots).is_ok());
}

#[test]
fn memory_is_reused_across_major_collections() {
    // Outside stress mode the old semi-space stays committed: many major
    // collections over a steady live set keep working (and the heap limit
    // still holds).
    let mut h = heap(GcConfig {
        nursery_bytes: 64 << 10,
        max_heap_bytes: 4 << 20,
        verify_after_gc: true,
        ..GcConfig::default()
    });
    // 64 chains of up to 1,000 nodes: at most 1.5 MB live.
    let mut roots = vec![0u32; 64];
    let mut lens = [0u32; 64];
    for i in 0..400_000u32 {
        let n = h.alloc_struct(NODE, &mut roots).unwrap();
        h.write_u32(n, 8, i).unwrap();
        let k = (i % 64) as usize;
        h.write_ref(n, 12, roots[k]).unwrap();
        lens[k] += 1;
        roots[k] = n;
        if lens[k] == 1_000 {
            roots[k] = 0;
            lens[k] = 0;
        }
    }
    assert!(h.stats().major_collections > 3, "{:?}", h.stats());
    h.collect(CollectionKind::Major, &mut roots).unwrap();
    h.verify(&mut roots).unwrap();
    // Nursery + two semi-spaces of at most 2 * (4 MiB limit + nursery)
    // each, in 1 MiB steps.
    let bound = (64 << 10) + 2 * (2 * ((4 << 20) + (64 << 10)) + (1 << 20));
    assert!(h.committed_bytes() <= bound, "{}", h.committed_bytes());
}
