//! Allocation and collection through the heap's two entry points:
//!
//! - `inline`: what generated code will do, the bump allocation and the card
//!   mark through the `VMGcHeapData` block, `alloc_raw` only as the slow path;
//! - `api`: the checked Rust API (`alloc_struct`, `write_ref`, `read_ref`).
//!
//! A `Box` tree is the reference point for binary-trees. Run with
//! `cargo bench -p nyash-gc`; `GC_BENCH_DEPTH` sets the binary-trees depth
//! (default 16).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use nyash_gc::vm::{CARD_SHIFT, Kind, VMGcHeapData, type_word};
use nyash_gc::{CollectionKind, GcConfig, GcHeap, TypeLayout};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Binary-trees node: two references, 16 bytes.
const NODE: u32 = 1;
const NODE_WORD: u32 = type_word(NODE, Kind::Struct);
const REFS: u32 = 2;

fn heap(nursery_bytes: u32) -> GcHeap {
    let mut h = GcHeap::new(GcConfig {
        nursery_bytes,
        ..GcConfig::default()
    })
    .unwrap();
    h.register_type(
        NODE,
        TypeLayout::Struct {
            size: 16,
            ref_offsets: vec![8, 12],
        },
    )
    .unwrap();
    h.register_type(
        REFS,
        TypeLayout::Array {
            elem_size: 4,
            elem_is_ref: true,
        },
    )
    .unwrap();
    h
}

/// The code generated code will run, written in Rust over the shared block.
struct Inline {
    vm: *mut VMGcHeapData,
    base: *mut u8,
    cards: *mut u8,
}

impl Inline {
    fn new(h: &mut GcHeap) -> Inline {
        let vm = h.vm_data();
        // SAFETY: the block lives as long as the heap, which outlives this.
        unsafe {
            Inline {
                vm,
                base: (*vm).base,
                cards: (*vm).card_table,
            }
        }
    }

    #[inline(always)]
    fn alloc_node(&self, h: &mut GcHeap, mut roots: &mut [u32]) -> u32 {
        // SAFETY: reading and writing the documented fields of the block and
        // a fresh nursery object inside the heap.
        unsafe {
            let top = (*self.vm).nursery_top;
            let new = u64::from(top) + 16;
            if new <= u64::from((*self.vm).nursery_limit) {
                (*self.vm).nursery_top = new as u32;
                let p = self.base.add(top as usize).cast::<u32>();
                p.write(NODE_WORD);
                p.add(1).write(0);
                p.add(2).write(0);
                p.add(3).write(0);
                top
            } else {
                h.alloc_raw(NODE_WORD, 0, &mut roots).unwrap()
            }
        }
    }

    /// Bytes left for inline allocation.
    fn room(&self) -> u32 {
        // SAFETY: reading the block's fields.
        unsafe {
            (*self.vm)
                .nursery_limit
                .saturating_sub((*self.vm).nursery_top)
        }
    }

    #[inline(always)]
    fn set(&self, obj: u32, off: u32, v: u32) {
        // SAFETY: a reference field of a live object; the card index is a
        // u32 shifted right, inside the table.
        unsafe {
            let at = obj + off;
            self.base.add(at as usize).cast::<u32>().write(v);
            *self.cards.add((at >> CARD_SHIFT) as usize) = 1;
        }
    }

    #[inline(always)]
    fn get(&self, obj: u32, off: u32) -> u32 {
        // SAFETY: a reference field of a live object.
        unsafe { self.base.add((obj + off) as usize).cast::<u32>().read() }
    }

    /// A tree of `depth`; the stack is the root set (a shadow stack, as
    /// stack maps will be).
    fn make(&self, h: &mut GcHeap, stack: &mut Vec<u32>, depth: u32) -> u32 {
        if depth == 0 {
            return self.alloc_node(h, stack);
        }
        let l = self.make(h, stack, depth - 1);
        stack.push(l);
        let r = self.make(h, stack, depth - 1);
        stack.push(r);
        let n = self.alloc_node(h, stack);
        let r = stack.pop().unwrap();
        let l = stack.pop().unwrap();
        // Initialising stores into the newest object: no barrier needed.
        // SAFETY: fields of the node just allocated.
        unsafe {
            let p = self.base.add(n as usize).cast::<u32>();
            p.add(2).write(l);
            p.add(3).write(r);
        }
        n
    }

    fn check(&self, n: u32) -> u32 {
        let l = self.get(n, 8);
        if l == 0 {
            1
        } else {
            1 + self.check(l) + self.check(self.get(n, 12))
        }
    }
}

struct Api;

impl Api {
    fn make(h: &mut GcHeap, stack: &mut Vec<u32>, depth: u32) -> u32 {
        if depth == 0 {
            return h.alloc_struct(NODE, stack).unwrap();
        }
        let l = Self::make(h, stack, depth - 1);
        stack.push(l);
        let r = Self::make(h, stack, depth - 1);
        stack.push(r);
        let n = h.alloc_struct(NODE, stack).unwrap();
        let r = stack.pop().unwrap();
        let l = stack.pop().unwrap();
        h.write_ref(n, 8, l).unwrap();
        h.write_ref(n, 12, r).unwrap();
        n
    }

    fn check(h: &GcHeap, n: u32) -> u32 {
        let l = h.read_ref(n, 8).unwrap();
        if l == 0 {
            1
        } else {
            1 + Self::check(h, l) + Self::check(h, h.read_ref(n, 12).unwrap())
        }
    }
}

/// What binary-trees asks of a tree implementation.
enum Op {
    /// Build a tree of this depth, check it, drop it.
    Temp(u32),
    /// Build the long-lived tree.
    Keep(u32),
    /// Check the long-lived tree.
    CheckKept,
}

/// The benchmarks-game program: a stretch tree, a long-lived tree, and
/// `2^(max - d + 4)` short-lived trees of each depth `d = 4, 6, .., max`.
fn binary_trees(max: u32, mut run: impl FnMut(Op) -> u32) -> u32 {
    let mut total = run(Op::Temp(max + 1));
    run(Op::Keep(max));
    for d in (4..=max).step_by(2) {
        for _ in 0..1u32 << (max - d + 4) {
            total = total.wrapping_add(run(Op::Temp(d)));
        }
    }
    total.wrapping_add(run(Op::CheckKept))
}

/// Binary-trees on the GC heap; the long-lived tree is root 0.
fn gc_binary_trees(nursery: u32, max: u32, api: bool) -> u32 {
    let mut h = heap(nursery);
    let inline = Inline::new(&mut h);
    let mut stack: Vec<u32> = Vec::with_capacity(64);
    let sum = binary_trees(max, |op| {
        let make = |h: &mut GcHeap, stack: &mut Vec<u32>, d| {
            if api {
                Api::make(h, stack, d)
            } else {
                inline.make(h, stack, d)
            }
        };
        let check = |h: &GcHeap, t| {
            if api {
                Api::check(h, t)
            } else {
                inline.check(t)
            }
        };
        match op {
            Op::Keep(d) => {
                let t = make(&mut h, &mut stack, d);
                stack.push(t);
                0
            }
            Op::Temp(d) => {
                let t = make(&mut h, &mut stack, d);
                check(&h, t)
            }
            Op::CheckKept => check(&h, stack[0]),
        }
    });
    if std::env::var_os("GC_BENCH_STATS").is_some() {
        eprintln!(
            "binary-trees {max}, nursery {} KiB: {:?}, committed {} MiB",
            nursery >> 10,
            h.stats(),
            h.committed_bytes() >> 20
        );
    }
    sum
}

struct BoxNode {
    kids: Option<(Box<BoxNode>, Box<BoxNode>)>,
}

fn box_make(d: u32) -> Box<BoxNode> {
    Box::new(BoxNode {
        kids: (d > 0).then(|| (box_make(d - 1), box_make(d - 1))),
    })
}

fn box_check(n: &BoxNode) -> u32 {
    match &n.kids {
        None => 1,
        Some((l, r)) => 1 + box_check(l) + box_check(r),
    }
}

fn box_binary_trees(max: u32) -> u32 {
    let mut kept = None;
    binary_trees(max, |op| match op {
        Op::Keep(d) => {
            kept = Some(box_make(d));
            0
        }
        Op::Temp(d) => box_check(&box_make(d)),
        Op::CheckKept => kept.as_deref().map_or(0, box_check),
    })
}

fn depth() -> u32 {
    std::env::var("GC_BENCH_DEPTH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
}

fn bench_binary_trees(c: &mut Criterion) {
    let max = depth();
    let expect = box_binary_trees(max);
    for mib in [1, 4, 16] {
        assert_eq!(gc_binary_trees(mib << 20, max, false), expect);
    }
    assert_eq!(
        gc_binary_trees(4 << 20, max.min(12), true),
        box_binary_trees(max.min(12))
    );
    let mut g = c.benchmark_group(format!("binary_trees_{max}"));
    g.sample_size(10);
    g.bench_function("box", |b| b.iter(|| box_binary_trees(black_box(max))));
    for mib in [1u32, 2, 4, 8, 16] {
        g.bench_function(BenchmarkId::new("inline", format!("{mib}MiB")), |b| {
            b.iter(|| gc_binary_trees(mib << 20, black_box(max), false))
        });
    }
    g.bench_function(BenchmarkId::new("api", "4MiB"), |b| {
        b.iter(|| gc_binary_trees(4 << 20, black_box(max), true))
    });
    g.finish();
}

/// A minor collection of a full 4 MiB nursery of 16-byte nodes of which
/// `percent` survive (each survivor rooted, pointing at the previous one).
fn bench_minor(c: &mut Criterion) {
    let mut g = c.benchmark_group("minor_gc_4MiB_nursery");
    for percent in [0u32, 1, 10, 50] {
        g.bench_function(BenchmarkId::new("survivors", format!("{percent}%")), |b| {
            b.iter_custom(|iters| {
                let mut h = heap(4 << 20);
                let inline = Inline::new(&mut h);
                let mut roots: Vec<u32> = Vec::new();
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    roots.clear();
                    let mut k = 0u32;
                    let mut prev = 0;
                    // Fill the nursery without collecting.
                    while inline.room() >= 16 {
                        let n = inline.alloc_node(&mut h, &mut roots);
                        k = k.wrapping_add(1);
                        if k % 100 < percent {
                            inline.set(n, 8, prev);
                            prev = n;
                            roots.push(n);
                        }
                    }
                    let t = Instant::now();
                    h.collect(CollectionKind::Minor, &mut roots).unwrap();
                    total += t.elapsed();
                    if i % 8 == 7 {
                        roots.clear();
                        h.collect(CollectionKind::Major, &mut roots).unwrap();
                    }
                }
                total
            })
        });
    }
    g.finish();
}

/// The write barrier's collector side: a minor collection after `stores`
/// old-to-young stores into random slots of a 1M-element old array
/// (4 MiB, 8,192 cards), nursery otherwise garbage. The cost is the card
/// table scan plus one card (512 bytes of slots) per dirty card.
fn bench_cards(c: &mut Criterion) {
    let mut g = c.benchmark_group("minor_gc_after_old_to_young_stores");
    for stores in [0u32, 100, 1_000, 10_000] {
        g.bench_function(BenchmarkId::new("stores", stores), |b| {
            b.iter_custom(|iters| {
                let mut h = heap(4 << 20);
                let inline = Inline::new(&mut h);
                let mut roots: Vec<u32> = vec![0];
                roots[0] = h.alloc_array(REFS, 1 << 20, &mut roots).unwrap();
                h.collect(CollectionKind::Minor, &mut roots).unwrap();
                let mut seed = 0x1234_5678_u32;
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    for _ in 0..stores {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        let n = inline.alloc_node(&mut h, &mut roots);
                        inline.set(roots[0], 8 + 4 * (seed % (1 << 20)), n);
                    }
                    let t = Instant::now();
                    h.collect(CollectionKind::Minor, &mut roots).unwrap();
                    total += t.elapsed();
                    if i % 16 == 15 {
                        // Drop the promoted nodes: clear the array.
                        for k in 0..1u32 << 20 {
                            inline.set(roots[0], 8 + 4 * k, 0);
                        }
                        h.collect(CollectionKind::Major, &mut roots).unwrap();
                    }
                }
                total
            })
        });
    }
    g.finish();
}

/// The write barrier's mutator side: one million reference stores into an
/// old array, with the unconditional card mark, with a filtering
/// remembered-set barrier (record the slot only for an old object and a
/// young value, V8-style), and with none.
fn bench_barrier(c: &mut Criterion) {
    let mut h = heap(4 << 20);
    let inline = Inline::new(&mut h);
    let mut roots: Vec<u32> = vec![0, 0];
    roots[0] = h.alloc_array(REFS, 1 << 20, &mut roots).unwrap();
    roots[1] = inline.alloc_node(&mut h, &mut roots);
    let [young, _] = h.in_use();
    let arr = roots[0];
    let val = roots[1];
    let mut g = c.benchmark_group("barrier_1M_stores");
    g.bench_function("none", |b| {
        b.iter(|| {
            for k in 0..1u32 << 20 {
                // SAFETY: an element of the live array.
                unsafe {
                    inline
                        .base
                        .add((arr + 8 + 4 * k) as usize)
                        .cast::<u32>()
                        .write(black_box(val))
                }
            }
        })
    });
    g.bench_function("card_mark", |b| {
        b.iter(|| {
            for k in 0..1u32 << 20 {
                inline.set(arr, 8 + 4 * k, black_box(val));
            }
        })
    });
    let mut remembered: Vec<u32> = Vec::with_capacity(1 << 20);
    g.bench_function("remembered_set", |b| {
        b.iter(|| {
            remembered.clear();
            for k in 0..1u32 << 20 {
                let slot = arr + 8 + 4 * k;
                let v = black_box(val);
                // SAFETY: an element of the live array.
                unsafe { inline.base.add(slot as usize).cast::<u32>().write(v) };
                let obj_old = !(arr >= young.0 && arr < young.0 + (4 << 20));
                let val_young = v >= young.0 && v < young.0 + (4 << 20);
                if obj_old && val_young {
                    remembered.push(slot);
                }
            }
            black_box(remembered.len())
        })
    });
    g.bench_function("remembered_set_filtered_out", |b| {
        b.iter(|| {
            remembered.clear();
            for k in 0..1u32 << 20 {
                let slot = arr + 8 + 4 * k;
                let v = black_box(arr);
                // SAFETY: an element of the live array.
                unsafe { inline.base.add(slot as usize).cast::<u32>().write(v) };
                let obj_old = !(arr >= young.0 && arr < young.0 + (4 << 20));
                let val_young = v >= young.0 && v < young.0 + (4 << 20);
                if obj_old && val_young {
                    remembered.push(slot);
                }
            }
            black_box(remembered.len())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_binary_trees,
    bench_minor,
    bench_cards,
    bench_barrier
);
criterion_main!(benches);
