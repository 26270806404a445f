//! A random mutator over a `GcHeap` with a model of the object graph kept
//! outside the heap. Every object carries its model id in a non-reference
//! field (element 0 as an i31 for reference arrays, the host slot for
//! externs), so after any collection the graph reachable from the roots can
//! be compared with the model: same shape, same ids, same i31 values.

#![allow(dead_code)]

use nyash_gc::vm::Kind;
use nyash_gc::{CollectionKind, GcConfig, GcError, GcHeap, TypeLayout};
use std::collections::{HashMap, HashSet, VecDeque};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Type ids; 0 is left unregistered on purpose.
pub const NODE: u32 = 1; // id u32 @8, refs @12 @16, 24 bytes
pub const PAIR: u32 = 2; // refs @8 @12, id u64 @16, 24 bytes
pub const BIG: u32 = 7; // id u32 @8, 13 refs @12..64, 64 bytes
pub const REFS: u32 = 3; // array of refs, element 0 = i31(id)
pub const BYTES: u32 = 4; // array of u8, bytes 0..4 = id

pub fn register(heap: &mut GcHeap) {
    let s = |size, refs: Vec<u32>| TypeLayout::Struct {
        size,
        ref_offsets: refs,
    };
    heap.register_type(NODE, s(24, vec![12, 16])).unwrap();
    heap.register_type(PAIR, s(24, vec![8, 12])).unwrap();
    heap.register_type(BIG, s(64, (0..13).map(|i| 12 + 4 * i).collect()))
        .unwrap();
    heap.register_type(
        REFS,
        TypeLayout::Array {
            elem_size: 4,
            elem_is_ref: true,
        },
    )
    .unwrap();
    heap.register_type(
        BYTES,
        TypeLayout::Array {
            elem_size: 1,
            elem_is_ref: false,
        },
    )
    .unwrap();
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    Null,
    I31(u32),
    Obj(usize),
}

impl Val {
    fn encode_i31(v: u32) -> u32 {
        (v << 1) | 1
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MKind {
    Node,
    Pair,
    Big,
    Refs(u32),
    Bytes(u32),
    Extern,
}

pub struct MObj {
    pub kind: MKind,
    pub slots: Vec<Val>,
}

impl MKind {
    /// Heap offsets of the reference slots the model tracks.
    pub fn slot_offsets(self) -> Vec<u32> {
        match self {
            MKind::Node => vec![12, 16],
            MKind::Pair => vec![8, 12],
            MKind::Big => (0..13).map(|i| 12 + 4 * i).collect(),
            // Element 0 holds the id.
            MKind::Refs(len) => (1..len).map(|i| 8 + 4 * i).collect(),
            MKind::Bytes(_) | MKind::Extern => vec![],
        }
    }
    pub fn size(self) -> u64 {
        match self {
            MKind::Node | MKind::Pair => 24,
            MKind::Big => 64,
            MKind::Refs(len) => (8 + 4 * u64::from(len)).next_multiple_of(8),
            MKind::Bytes(len) => (8 + u64::from(len)).next_multiple_of(8),
            MKind::Extern => 8,
        }
    }
}

pub struct Mutator {
    pub heap: GcHeap,
    pub roots: Vec<u32>,
    pub mroots: Vec<Val>,
    pub objs: Vec<MObj>,
    pub rng: Rng,
    /// Extern ids reported dead so far.
    pub dead_externs: HashSet<u32>,
    /// Allow objects big enough to be pretenured.
    pub big_arrays: bool,
    pub ops: u64,
}

impl Mutator {
    pub fn new(config: GcConfig, seed: u64, nroots: usize) -> Mutator {
        let mut heap = GcHeap::new(config).unwrap();
        register(&mut heap);
        Mutator {
            heap,
            roots: vec![0; nroots],
            mroots: vec![Val::Null; nroots],
            objs: Vec::new(),
            rng: Rng::new(seed),
            dead_externs: HashSet::new(),
            big_arrays: true,
            ops: 0,
        }
    }

    fn encode(&self, v: Val, heap_ref: u32) -> u32 {
        match v {
            Val::Null => 0,
            Val::I31(x) => Val::encode_i31(x),
            Val::Obj(_) => heap_ref,
        }
    }

    /// Allocates a random object into root `i`.
    pub fn alloc(&mut self, i: usize) -> Result<(), GcError> {
        let id = self.objs.len() as u32;
        let kind = match self.rng.below(100) {
            0..30 => MKind::Node,
            30..50 => MKind::Pair,
            50..58 => MKind::Big,
            58..75 => MKind::Refs(1 + self.rng.below(24) as u32),
            75..90 => {
                let len = if self.big_arrays && self.rng.chance(3) {
                    40_000 + self.rng.below(20_000) as u32
                } else {
                    4 + self.rng.below(60) as u32
                };
                MKind::Bytes(len)
            }
            _ => MKind::Extern,
        };
        let h = &mut self.heap;
        let r = match kind {
            MKind::Node => h.alloc_struct(NODE, &mut self.roots)?,
            MKind::Pair => h.alloc_struct(PAIR, &mut self.roots)?,
            MKind::Big => h.alloc_struct(BIG, &mut self.roots)?,
            MKind::Refs(len) => h.alloc_array(REFS, len, &mut self.roots)?,
            MKind::Bytes(len) => h.alloc_array(BYTES, len, &mut self.roots)?,
            MKind::Extern => h.alloc_extern(id, &mut self.roots)?,
        };
        match kind {
            MKind::Node | MKind::Big => h.write_u32(r, 8, id).unwrap(),
            MKind::Pair => h.write_u64(r, 16, u64::from(id) << 20).unwrap(),
            MKind::Refs(_) => h.write_ref(r, 8, Val::encode_i31(id)).unwrap(),
            MKind::Bytes(_) => h.write_u32(r, 8, id).unwrap(),
            MKind::Extern => {}
        }
        let slots = vec![Val::Null; kind.slot_offsets().len()];
        self.objs.push(MObj { kind, slots });
        self.roots[i] = r;
        self.mroots[i] = Val::Obj(id as usize);
        Ok(())
    }

    /// The model id stored in the heap object `r`.
    pub fn heap_id(&self, r: u32) -> u32 {
        let h = &self.heap;
        match h.object_type(r).unwrap() {
            (Kind::Struct, NODE) | (Kind::Struct, BIG) => h.read_u32(r, 8).unwrap(),
            (Kind::Struct, PAIR) => (h.read_u64(r, 16).unwrap() >> 20) as u32,
            (Kind::Array, REFS) => h.read_ref(r, 8).unwrap() >> 1,
            (Kind::Array, BYTES) => h.read_u32(r, 8).unwrap(),
            (Kind::Extern, _) => h.extern_slot(r).unwrap(),
            other => panic!("unexpected object {other:?}"),
        }
    }

    /// One random operation other than a collection.
    pub fn step(&mut self) -> Result<(), GcError> {
        self.ops += 1;
        let n = self.roots.len();
        let i = self.rng.below(n as u64) as usize;
        let j = self.rng.below(n as u64) as usize;
        match self.rng.below(100) {
            0..35 => self.alloc(i)?,
            35..65 => {
                // roots[i].slot = roots[j] (or an i31, or null)
                if let Val::Obj(o) = self.mroots[i] {
                    let offs = self.objs[o].kind.slot_offsets();
                    if !offs.is_empty() {
                        let k = self.rng.below(offs.len() as u64) as usize;
                        let v = match self.rng.below(10) {
                            0 => Val::Null,
                            1 => Val::I31(self.rng.below(1 << 31) as u32),
                            _ => self.mroots[j],
                        };
                        let raw = self.encode(v, self.roots[j]);
                        self.heap.write_ref(self.roots[i], offs[k], raw).unwrap();
                        self.objs[o].slots[k] = v;
                    }
                }
            }
            65..90 => {
                // roots[j] = roots[i].slot
                if let Val::Obj(o) = self.mroots[i] {
                    let offs = self.objs[o].kind.slot_offsets();
                    if !offs.is_empty() {
                        let k = self.rng.below(offs.len() as u64) as usize;
                        self.roots[j] = self.heap.read_ref(self.roots[i], offs[k]).unwrap();
                        self.mroots[j] = self.objs[o].slots[k];
                    }
                }
            }
            90..93 => {
                let x = self.rng.below(1 << 31) as u32;
                self.roots[i] = Val::encode_i31(x);
                self.mroots[i] = Val::I31(x);
            }
            _ => {
                self.roots[i] = 0;
                self.mroots[i] = Val::Null;
            }
        }
        Ok(())
    }

    /// Model ids reachable from the roots.
    pub fn reachable(&self) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut queue: VecDeque<usize> = self
            .mroots
            .iter()
            .filter_map(|v| match v {
                Val::Obj(o) => Some(*o),
                _ => None,
            })
            .collect();
        while let Some(o) = queue.pop_front() {
            if seen.insert(o) {
                for v in &self.objs[o].slots {
                    if let Val::Obj(t) = v {
                        queue.push_back(*t);
                    }
                }
            }
        }
        seen
    }

    /// Checks that the heap graph reachable from the roots is isomorphic
    /// to the model's, and that dead externs reported are really dead.
    /// After a major collection (`exact`), also that the heap holds exactly
    /// the reachable objects and every dead extern has been reported.
    pub fn check(&mut self, exact: bool) {
        self.heap.verify(&mut self.roots).expect("verify");
        let mut to_model: HashMap<u32, usize> = HashMap::new();
        let mut to_heap: HashMap<usize, u32> = HashMap::new();
        let mut queue = VecDeque::new();
        let pair = |hv: u32, mv: Val, queue: &mut VecDeque<(u32, usize)>| match mv {
            Val::Null => assert_eq!(hv, 0),
            Val::I31(x) => assert_eq!(hv, Val::encode_i31(x)),
            Val::Obj(o) => queue.push_back((hv, o)),
        };
        for (hv, mv) in self.roots.iter().zip(&self.mroots) {
            pair(*hv, *mv, &mut queue);
        }
        while let Some((r, o)) = queue.pop_front() {
            match (to_model.get(&r), to_heap.get(&o)) {
                (Some(&m), Some(&hr)) => {
                    assert_eq!((m, hr), (o, r), "graph not isomorphic");
                    continue;
                }
                (None, None) => {}
                _ => panic!("graph not isomorphic at heap {r:#x} / model {o}"),
            }
            to_model.insert(r, o);
            to_heap.insert(o, r);
            assert_eq!(self.heap_id(r) as usize, o, "object id");
            let obj = &self.objs[o];
            if let MKind::Refs(len) | MKind::Bytes(len) = obj.kind {
                assert_eq!(self.heap.array_len(r).unwrap(), len);
            }
            for (off, mv) in obj.kind.slot_offsets().into_iter().zip(&obj.slots) {
                let hv = self.heap.read_ref(r, off).unwrap();
                pair(hv, *mv, &mut queue);
            }
        }
        let live = self.reachable();
        assert_eq!(live.len(), to_heap.len());
        let dead: Vec<u32> = self.heap.drain_dead_externs().collect();
        for id in dead {
            assert!(
                !live.contains(&(id as usize)),
                "live extern {id} reported dead"
            );
            assert!(self.dead_externs.insert(id), "extern {id} reported twice");
        }
        if exact {
            let (young, old) = self.heap.used_bytes();
            assert_eq!(young, 0);
            let bytes: u64 = live.iter().map(|&o| self.objs[o].kind.size()).sum();
            assert_eq!(old, bytes, "old space holds exactly the live objects");
            let expect: HashSet<u32> = (0..self.objs.len())
                .filter(|o| self.objs[*o].kind == MKind::Extern && !live.contains(o))
                .map(|o| o as u32)
                .collect();
            assert_eq!(self.dead_externs, expect, "dead externs");
        }
    }

    pub fn collect(&mut self, kind: CollectionKind) -> CollectionKind {
        self.heap.collect(kind, &mut self.roots).expect("collect")
    }

    /// `steps` random operations with collections in between, checking
    /// the graph after each.
    pub fn run(&mut self, steps: u64) {
        for s in 0..steps {
            self.step().expect("step");
            if s % 97 == 96 {
                let ran = self.collect(CollectionKind::Minor);
                self.check(ran == CollectionKind::Major);
            } else if s % 389 == 388 {
                self.collect(CollectionKind::Major);
                self.check(true);
            } else if s % 31 == 0 {
                self.check(false);
            }
        }
        self.collect(CollectionKind::Major);
        self.check(true);
    }
}
