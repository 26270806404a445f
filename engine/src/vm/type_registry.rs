//! The engine-wide type registry: every defined type of every module an
//! engine loads, and every host function's type, gets one engine type id,
//! equal ids for equal types.
//!
//! Types are canonicalized **iso-recursively, by whole rec groups**
//! (WebAssembly 3.0): a group's key is its types with each reference
//! *inside* the group written as the group-relative index
//! ([`HeapType::Concrete`] in the key) and each reference *outside* it as
//! the engine id of the type it names ([`HeapType::Engine`]); two groups
//! with equal keys are the same types. A group registered once keeps its
//! ids for the engine's life (ids are append-only, never recycled), so
//! generated code and the runtime can read them without a lock.
//!
//! Each type also keeps its **supertype display**: the chain of declared
//! supertypes from the root down to the type itself. `a <: b` is then one
//! lookup, `display(a)[depth(b)] == b` (iso-recursive subtyping between
//! defined types is exactly declared subtyping, after canonicalization).
//! The displays are fixed-size records in one reserved region that never
//! moves (`vmoffsets::type_display`), so generated code reads them too,
//! through the VMContext, without a lock: `call_indirect` to a non-final
//! type checks a subtype's function with one load.

use std::collections::HashMap;
use std::sync::Arc;

use nyash_aot::vmoffsets::type_display;

use nyash_aot::module::CompositeType;
use nyash_aot::{FuncType, HeapType, ModuleEnv, SubType, WasmType};

use crate::vm::code::CodeMemory;
use crate::vm::mmap::{Mmap, page_size};

/// The most types one engine registers: its display region is reserved for
/// them up front (256 MiB of address space, committed as types come).
const MAX_TYPES: u32 = 1 << 20;

/// A rec group as the hash-consing key sees it: per type, finality, the
/// supertype (`Concrete(rel)` inside the group, `Engine(id)` outside) and
/// the composite type with references written the same way.
type GroupKey = Vec<(bool, Option<HeapType>, CompositeType)>;

pub(crate) struct TypeRegistry {
    groups: HashMap<GroupKey, u32>,
    /// Engine id -> the type, every reference an engine id
    /// ([`HeapType::Engine`]), the supertype an engine id.
    types: Vec<SubType>,
    /// Engine id -> depth in its supertype chain (0: no supertype).
    depths: Vec<u8>,
    /// Engine id -> display record (`type_display::ENTRIES` `u32`s): root
    /// first, the type itself at its depth, `type_display::NONE` after.
    displays: Mmap,
    /// Bytes of `displays` made accessible.
    displays_committed: usize,
    /// Host-call trampolines by type id, with the code that holds them.
    pub(crate) host_trampolines: HashMap<u32, (usize, Arc<CodeMemory>)>,
}

impl TypeRegistry {
    pub(crate) fn new() -> std::io::Result<TypeRegistry> {
        Ok(TypeRegistry {
            groups: HashMap::new(),
            types: Vec::new(),
            depths: Vec::new(),
            displays: Mmap::reserve(MAX_TYPES as usize * type_display::SIZE as usize)?,
            displays_committed: 0,
            host_trampolines: HashMap::new(),
        })
    }

    /// The display records, for VMContexts.
    pub(crate) fn displays_ptr(&self) -> *const u32 {
        self.displays.as_ptr().cast()
    }

    /// Registers every rec group of `env`'s type section; returns the
    /// engine id of each module type index. Fails only when the engine
    /// has no room for more types.
    pub(crate) fn register_module(&mut self, env: &ModuleEnv) -> Result<Box<[u32]>, String> {
        let mut ids: Vec<u32> = Vec::with_capacity(env.types.len());
        for group in env.rec_group_ranges() {
            let start = group.start;
            let to_key = |i: u32| {
                if group.contains(&i) {
                    HeapType::Concrete(i - start)
                } else {
                    // Validation: a type outside the group is an earlier one.
                    HeapType::Engine(ids.get(i as usize).copied().unwrap_or(u32::MAX))
                }
            };
            let key: GroupKey = group
                .clone()
                .map(|i| {
                    let t = &env.types[i as usize];
                    (
                        t.is_final,
                        t.supertype.map(to_key),
                        map_composite(&t.composite, to_key),
                    )
                })
                .collect();
            let base = self.register_group(key)?;
            ids.extend(base..base + group.len() as u32);
        }
        Ok(ids.into_boxed_slice())
    }

    /// The engine id of a host function's type (a final type in a group of
    /// its own, as a module's `(type (func ...))` outside `rec` is).
    pub(crate) fn register_func(&mut self, ty: &FuncType) -> Result<u32, String> {
        self.register_group(vec![(
            true,
            None,
            CompositeType::Func(ty.map_concrete(HeapType::Engine)),
        )])
    }

    /// The engine id of a struct or array type made by the host: final,
    /// no supertype, in a rec group of its own (as a module's
    /// `(type (struct ...))` outside `rec` is, so such a module's type gets
    /// the same id). References in it are engine ids.
    pub(crate) fn register_final(&mut self, composite: CompositeType) -> Result<u32, String> {
        self.register_group(vec![(true, None, composite)])
    }

    fn register_group(&mut self, key: GroupKey) -> Result<u32, String> {
        if let Some(&base) = self.groups.get(&key) {
            return Ok(base);
        }
        let base = self.types.len() as u32;
        let end = base as usize + key.len();
        if end > MAX_TYPES as usize {
            return Err(format!(
                "the engine has no room for more types (it holds at most {MAX_TYPES})"
            ));
        }
        let need = (end * type_display::SIZE as usize).next_multiple_of(page_size());
        if need > self.displays_committed {
            self.displays
                .make_accessible(self.displays_committed, need - self.displays_committed)
                .map_err(|e| format!("cannot grow the type display table: {e}"))?;
            self.displays_committed = need;
        }
        let resolve = |h: HeapType| match h {
            HeapType::Concrete(rel) => HeapType::Engine(base + rel),
            other => other,
        };
        for (is_final, supertype, composite) in &key {
            let supertype = supertype.and_then(|s| match resolve(s) {
                HeapType::Engine(id) if id < self.types.len() as u32 => Some(id),
                _ => None,
            });
            let id = self.types.len() as u32;
            let mut record = [type_display::NONE; type_display::ENTRIES as usize];
            let depth = match supertype {
                Some(s) => {
                    let d = usize::from(self.depths[s as usize]);
                    record[..=d].copy_from_slice(&self.display(s)[..=d]);
                    // Validation bounds depths by 63; a deeper chain (an
                    // impossible input) keeps its root-most entries.
                    (d + 1).min(type_display::ENTRIES as usize - 1)
                }
                None => 0,
            };
            record[depth] = id;
            // SAFETY: record `id` lies in the committed part of the region
            // (checked above); nothing reads it before `id` is handed out,
            // and it is written once.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    record.as_ptr(),
                    self.displays
                        .as_ptr()
                        .add(id as usize * type_display::SIZE as usize)
                        .cast::<u32>(),
                    record.len(),
                );
            }
            self.depths.push(depth as u8);
            self.types.push(SubType {
                is_final: *is_final,
                supertype,
                composite: map_composite(composite, |i| match resolve(HeapType::Concrete(i)) {
                    h @ HeapType::Engine(_) => h,
                    _ => HeapType::Concrete(i),
                }),
            });
        }
        self.groups.insert(key, base);
        Ok(base)
    }

    /// The display record of registered type `id`.
    fn display(&self, id: u32) -> &[u32] {
        debug_assert!(id < self.types.len() as u32);
        // SAFETY: the records of registered ids are committed, written and
        // never written again.
        unsafe {
            std::slice::from_raw_parts(
                self.displays
                    .as_ptr()
                    .add(id as usize * type_display::SIZE as usize)
                    .cast::<u32>(),
                type_display::ENTRIES as usize,
            )
        }
    }

    /// The type of engine id `id`, if there is one.
    pub(crate) fn get(&self, id: u32) -> Option<&SubType> {
        self.types.get(id as usize)
    }

    /// Whether engine type `a` is `b` or a declared subtype of it: one
    /// lookup in `a`'s display at `b`'s depth.
    pub(crate) fn is_subtype(&self, a: u32, b: u32) -> bool {
        let n = self.types.len() as u32;
        a < n && b < n && self.display(a)[usize::from(self.depths[b as usize])] == b
    }

    /// The top of `h`'s hierarchy (`func`, `extern`, `exn` or `any`), an
    /// engine id resolved by what its type is. It decides how a value of
    /// the type is represented.
    pub(crate) fn top(&self, h: HeapType) -> HeapType {
        match h {
            HeapType::Engine(id) => self.get(id).map_or(HeapType::Func, |t| t.composite.top()),
            h => h.top(),
        }
    }

    /// Heap type subtyping, both in engine form.
    pub(crate) fn heap_matches(&self, a: HeapType, b: HeapType) -> bool {
        use HeapType::*;
        match (a, b) {
            (Engine(x), Engine(y)) => self.is_subtype(x, y),
            (Engine(x), Func) => self.get(x).is_some_and(|t| t.as_func().is_some()),
            (Engine(x), Any | Eq) => self.get(x).is_some_and(|t| {
                matches!(
                    t.composite,
                    CompositeType::Struct(_) | CompositeType::Array(_)
                )
            }),
            (Engine(x), Struct) => self
                .get(x)
                .is_some_and(|t| matches!(t.composite, CompositeType::Struct(_))),
            (Engine(x), Array) => self
                .get(x)
                .is_some_and(|t| matches!(t.composite, CompositeType::Array(_))),
            (NoFunc, Func | NoFunc | Engine(_)) => self.bottom_of(b) == Some(NoFunc),
            (NoExtern, Extern | NoExtern) => true,
            (NoExn, Exn | NoExn) => true,
            (None, Any | Eq | I31 | Struct | Array | None | Engine(_)) => {
                self.bottom_of(b) == Some(None)
            }
            (Eq | I31 | Struct | Array, Any) => true,
            (I31 | Struct | Array, Eq) => true,
            (a, b) => a == b,
        }
    }

    /// The bottom type of `h`'s hierarchy.
    fn bottom_of(&self, h: HeapType) -> Option<HeapType> {
        use HeapType::*;
        Some(match h {
            Func | NoFunc => NoFunc,
            Extern | NoExtern => NoExtern,
            Exn | NoExn => NoExn,
            Any | Eq | I31 | Struct | Array | None => None,
            Engine(x) => match self.get(x)?.composite {
                CompositeType::Func(_) => NoFunc,
                CompositeType::Struct(_) | CompositeType::Array(_) => None,
            },
            Concrete(_) => return Option::None,
        })
    }

    /// Value type subtyping, both in engine form.
    pub(crate) fn matches(&self, a: WasmType, b: WasmType) -> bool {
        match (a, b) {
            (WasmType::Ref(a), WasmType::Ref(b)) => {
                (b.nullable || !a.nullable) && self.heap_matches(a.heap, b.heap)
            }
            (a, b) => a == b,
        }
    }
}

fn map_composite(c: &CompositeType, mut f: impl FnMut(u32) -> HeapType) -> CompositeType {
    use nyash_aot::module::{FieldType, StorageType};
    let mut field = |t: &FieldType| FieldType {
        storage: match t.storage {
            StorageType::Val(v) => StorageType::Val(v.map_concrete(&mut f)),
            other => other,
        },
        mutable: t.mutable,
    };
    match c {
        CompositeType::Func(ft) => CompositeType::Func(ft.map_concrete(f)),
        CompositeType::Struct(fields) => CompositeType::Struct(fields.iter().map(field).collect()),
        CompositeType::Array(t) => CompositeType::Array(field(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nyash_aot::RefType;

    fn func(params: Vec<WasmType>) -> CompositeType {
        CompositeType::Func(FuncType {
            params,
            results: vec![],
        })
    }

    fn env(types: Vec<SubType>, rec_groups: Vec<u32>) -> ModuleEnv {
        ModuleEnv {
            types,
            rec_groups,
            ..ModuleEnv::default()
        }
    }

    fn sub(is_final: bool, supertype: Option<u32>, composite: CompositeType) -> SubType {
        SubType {
            is_final,
            supertype,
            composite,
        }
    }

    #[test]
    fn equal_groups_share_ids_and_displays_decide_subtyping() {
        let r = |i| WasmType::Ref(RefType::nullable(HeapType::Concrete(i)));
        // Module A: $0 = (sub (func)), $1 = (sub $0 (func)), then a group
        // of two types that refer to each other.
        let a = env(
            vec![
                sub(false, None, func(vec![])),
                sub(true, Some(0), func(vec![])),
                sub(true, None, func(vec![r(3)])),
                sub(true, None, func(vec![r(2)])),
            ],
            vec![0, 1, 2],
        );
        // Module B: the same types, in another order of groups.
        let b = env(
            vec![
                sub(true, None, func(vec![r(1)])),
                sub(true, None, func(vec![r(0)])),
                sub(false, None, func(vec![])),
                sub(true, Some(2), func(vec![])),
            ],
            vec![0, 2, 3],
        );
        let mut reg = TypeRegistry::new().unwrap();
        let ia = reg.register_module(&a).unwrap();
        let ib = reg.register_module(&b).unwrap();
        assert_eq!(ia[0], ib[2]);
        assert_eq!(ia[1], ib[3]);
        assert_eq!((ia[2], ia[3]), (ib[0], ib[1]));
        assert_ne!(ia[2], ia[3], "two types of one group are distinct");
        // Stored types name every defined type by engine id, references
        // inside a group included (the API's `HeapType::from_aot` relies
        // on it: it has no module index to turn into one).
        let e = |id| WasmType::Ref(RefType::nullable(HeapType::Engine(id)));
        assert_eq!(
            reg.get(ia[2]).and_then(|t| t.as_func()).unwrap().params,
            [e(ia[3])]
        );
        assert_eq!(
            reg.get(ia[3]).and_then(|t| t.as_func()).unwrap().params,
            [e(ia[2])]
        );
        for id in 0..reg.types.len() as u32 {
            let f = reg.get(id).and_then(|t| t.as_func()).unwrap();
            assert!(
                f.params.iter().all(
                    |t| !matches!(t, WasmType::Ref(r) if matches!(r.heap, HeapType::Concrete(_)))
                ),
                "type #{id}: {f}"
            );
        }
        assert!(reg.is_subtype(ia[1], ia[0]));
        assert!(!reg.is_subtype(ia[0], ia[1]));
        assert!(reg.is_subtype(ia[0], ia[0]));
        assert!(!reg.is_subtype(ia[2], ia[0]));
        // A final (func) with no supertype is another type than (sub (func)).
        let plain = reg.register_func(&FuncType::default()).unwrap();
        assert_ne!(plain, ia[0]);
        assert!(!reg.is_subtype(ia[1], plain));
        // Reference subtyping in engine form.
        let e = |id| HeapType::Engine(id);
        assert!(reg.heap_matches(e(ia[1]), e(ia[0])));
        assert!(reg.heap_matches(e(ia[1]), HeapType::Func));
        assert!(reg.heap_matches(HeapType::NoFunc, e(ia[1])));
        assert!(!reg.heap_matches(HeapType::NoExtern, e(ia[1])));
        assert!(!reg.heap_matches(HeapType::Func, e(ia[1])));
        let nn = |h| WasmType::Ref(RefType::non_null(h));
        let n = |h| WasmType::Ref(RefType::nullable(h));
        assert!(reg.matches(nn(e(ia[1])), n(HeapType::Func)));
        assert!(!reg.matches(n(e(ia[1])), nn(HeapType::Func)));
        assert!(!reg.matches(WasmType::FuncRef, WasmType::ExternRef));
        // The records generated code reads: root first, then NONE.
        assert_eq!(&reg.display(ia[1])[..3], &[ia[0], ia[1], u32::MAX]);
        assert_eq!(&reg.display(ia[0])[..2], &[ia[0], u32::MAX]);
    }

    #[test]
    fn struct_and_array_types_canonicalize_and_subtype() {
        use nyash_aot::module::{FieldType, StorageType};
        let f = |storage, mutable| FieldType { storage, mutable };
        let i32f = f(StorageType::Val(WasmType::I32), false);
        let self_ref = f(
            StorageType::Val(WasmType::Ref(RefType::nullable(HeapType::Concrete(0)))),
            true,
        );
        // $0 = (sub (struct (field i32) (field (mut (ref null $0))))) in a
        // group of its own; $1 = (sub final $0 (struct ... (field i8)));
        // $2 = (array (mut i16)).
        let module = |extra_field| {
            env(
                vec![
                    sub(false, None, CompositeType::Struct(vec![i32f, self_ref])),
                    sub(
                        true,
                        Some(0),
                        CompositeType::Struct(vec![i32f, self_ref, extra_field]),
                    ),
                    sub(true, None, CompositeType::Array(f(StorageType::I16, true))),
                ],
                vec![0, 1, 2],
            )
        };
        let mut reg = TypeRegistry::new().unwrap();
        let a = reg
            .register_module(&module(f(StorageType::I8, false)))
            .unwrap();
        let b = reg
            .register_module(&module(f(StorageType::I8, false)))
            .unwrap();
        let c = reg
            .register_module(&module(f(StorageType::I16, false)))
            .unwrap();
        assert_eq!(a, b, "equal struct and array types share ids");
        assert_eq!(a[0], c[0]);
        assert_ne!(a[1], c[1], "a packed field's width is part of the type");
        let e = HeapType::Engine;
        use HeapType::{Any, Array, Eq, Extern, Func, I31, NoExtern, NoFunc, Struct};
        let none = HeapType::None;
        assert!(reg.heap_matches(e(a[1]), e(a[0])));
        assert!(!reg.heap_matches(e(a[0]), e(a[1])));
        assert!(!reg.heap_matches(e(c[1]), e(a[1])));
        for (sup, yes) in [
            (Struct, true),
            (Eq, true),
            (Any, true),
            (Array, false),
            (Func, false),
            (I31, false),
            (none, false),
        ] {
            assert_eq!(reg.heap_matches(e(a[1]), sup), yes, "struct <: {sup}");
        }
        assert!(reg.heap_matches(e(a[2]), Array));
        assert!(reg.heap_matches(e(a[2]), Eq));
        assert!(!reg.heap_matches(e(a[2]), Struct));
        // Bottoms: none is below every type of `any`'s hierarchy, nofunc
        // below none of it.
        for t in [Any, Eq, I31, Struct, Array, none, e(a[0]), e(a[2])] {
            assert!(reg.heap_matches(none, t), "none <: {t}");
            assert!(!reg.heap_matches(NoFunc, t), "nofunc </: {t}");
            assert!(!reg.heap_matches(NoExtern, t));
            assert!(reg.heap_matches(t, Any), "{t} <: any");
            assert!(!reg.heap_matches(t, Func));
            assert!(!reg.heap_matches(t, Extern));
        }
        for t in [I31, Struct, Array] {
            assert!(reg.heap_matches(t, Eq));
            assert!(!reg.heap_matches(Eq, t));
        }
        assert!(!reg.heap_matches(Any, Eq));
        assert!(!reg.heap_matches(I31, Struct));
        assert!(!reg.heap_matches(Struct, e(a[0])));
        assert!(!reg.heap_matches(none, Func));
    }
}
