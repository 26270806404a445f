//! Random object graphs against a model, with and without stress mode.

mod model;

use model::{Mutator, Val};
use nyash_gc::{CollectionKind, GcConfig};

fn small() -> GcConfig {
    GcConfig {
        nursery_bytes: 256 << 10,
        verify_after_gc: true,
        ..GcConfig::default()
    }
}

#[test]
fn random_graphs_survive_minor_and_major_collections() {
    for seed in 1..=24 {
        let mut m = Mutator::new(small(), seed, 24);
        m.run(6_000);
        let s = m.heap.stats();
        assert!(s.minor_collections > 0 && s.major_collections > 0, "{s:?}");
        assert!(s.promoted_bytes > 0, "{s:?}");
    }
}

#[test]
fn collections_triggered_by_allocation_keep_the_graph() {
    // No explicit collections: the nursery filling up triggers them.
    let mut m = Mutator::new(
        GcConfig {
            nursery_bytes: 64 << 10,
            pretenure_bytes: 16 << 10,
            verify_after_gc: true,
            ..GcConfig::default()
        },
        7,
        32,
    );
    // Large arrays would trigger major collections before the nursery fills.
    m.big_arrays = false;
    for s in 0..100_000 {
        m.step().unwrap();
        if s % 2_000 == 0 {
            m.check(false);
        }
    }
    let s = m.heap.stats();
    assert!(s.minor_collections > 10, "{s:?}");
    m.collect(CollectionKind::Major);
    m.check(true);
}

#[test]
fn stress_mode_collects_on_every_allocation() {
    for seed in 100..106 {
        let mut m = Mutator::new(
            GcConfig {
                nursery_bytes: 64 << 10,
                zeal: true,
                ..GcConfig::default()
            },
            seed,
            16,
        );
        m.big_arrays = false;
        m.run(1_500);
        let s = m.heap.stats();
        assert!(s.minor_collections + s.major_collections >= 400, "{s:?}");
    }
}

#[test]
fn unreachable_cycles_are_reclaimed() {
    let mut m = Mutator::new(small(), 3, 8);
    m.big_arrays = false;
    // A ring of 1000 nodes through root 0 and root 1.
    m.alloc(0).unwrap();
    let first = m.roots[0];
    let first_m = m.mroots[0];
    m.roots[2] = first;
    m.mroots[2] = first_m;
    let mut count = 0;
    while count < 1000 {
        m.alloc(1).unwrap();
        // Link roots[2].slot0 -> roots[1] when both have slots.
        let Val::Obj(prev) = m.mroots[2] else {
            unreachable!()
        };
        let Val::Obj(new) = m.mroots[1] else {
            unreachable!()
        };
        let offs = m.objs[prev].kind.slot_offsets();
        if offs.is_empty() || m.objs[new].kind.slot_offsets().is_empty() {
            continue;
        }
        m.heap.write_ref(m.roots[2], offs[0], m.roots[1]).unwrap();
        m.objs[prev].slots[0] = m.mroots[1];
        m.roots[2] = m.roots[1];
        m.mroots[2] = m.mroots[1];
        count += 1;
        if count % 300 == 0 {
            m.collect(CollectionKind::Minor);
            m.check(false);
        }
    }
    // Close the ring back to the first object.
    let Val::Obj(last) = m.mroots[2] else {
        unreachable!()
    };
    let off = m.objs[last].kind.slot_offsets()[0];
    m.heap.write_ref(m.roots[2], off, m.roots[0]).unwrap();
    m.objs[last].slots[0] = m.mroots[0];
    m.collect(CollectionKind::Major);
    m.check(true);
    let ring_bytes = m.heap.used_bytes().1;
    assert!(ring_bytes >= 1000 * 24, "{ring_bytes}");
    for i in 0..m.roots.len() {
        m.roots[i] = 0;
        m.mroots[i] = Val::Null;
    }
    m.collect(CollectionKind::Major);
    m.check(true);
    assert_eq!(m.heap.used_bytes(), (0, 0));
}

#[test]
fn everything_pretenured() {
    // Every object goes straight to the old space, with dirty cards.
    for seed in 200..204 {
        let mut m = Mutator::new(
            GcConfig {
                pretenure_bytes: 0,
                ..small()
            },
            seed,
            16,
        );
        m.run(3_000);
        assert_eq!(m.heap.stats().promoted_bytes, 0);
    }
}

#[test]
fn small_live_set_with_high_allocation_rate_does_not_thrash() {
    // 2,000 live nodes (48 KB) replaced at random while 2 million die young:
    // the nursery absorbs the garbage, and the promoted nodes that die old
    // trigger a major collection at most once per HEADROOM_NURSERIES (4)
    // minor ones.
    let mut m = Mutator::new(
        GcConfig {
            nursery_bytes: 64 << 10,
            ..GcConfig::default()
        },
        9,
        2_000,
    );
    let mut rng = model::Rng::new(5);
    let mut scratch = [0u32; 1];
    for i in 0..2_000_000u32 {
        let n = m.heap.alloc_struct(model::NODE, &mut m.roots).unwrap();
        if i % 50 == 0 {
            let k = rng.below(2_000) as usize;
            m.roots[k] = n;
        } else {
            scratch[0] = n;
        }
    }
    let s = m.heap.stats().clone();
    assert!(s.minor_collections > 500, "{s:?}");
    assert!(s.major_collections * 4 <= s.minor_collections, "{s:?}");
    assert!(s.major_collections > 0, "{s:?}");
}
