//! The WebAssembly type system in the engine's own words: value, reference
//! and heap types, defined (function, struct, array) types with their
//! subtyping declarations, and the types of memories, tables and globals.
//! What a module's type section and imports say, kept in its
//! [`ModuleEnv`](crate::module::ModuleEnv) and its artifact; the
//! conversions from wasmparser's types are the parser's
//! ([`crate::parse`]).

/// A WebAssembly value type, in the engine's own words (WebAssembly 3.0:
/// numbers, vectors and references).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmType {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A reference: `funcref`, `(ref $t)`, `(ref null extern)`, ...
    Ref(RefType),
}

#[allow(non_upper_case_globals)]
impl WasmType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FuncRef: WasmType = WasmType::Ref(RefType::FUNCREF);
    /// `externref`, i.e. `(ref null extern)`.
    pub const ExternRef: WasmType = WasmType::Ref(RefType::EXTERNREF);
    /// `exnref`, i.e. `(ref null exn)`.
    pub const ExnRef: WasmType = WasmType::Ref(RefType::EXNREF);
    /// `anyref`, i.e. `(ref null any)`.
    pub const AnyRef: WasmType = WasmType::Ref(RefType::ANYREF);
}

impl WasmType {
    pub fn is_ref(self) -> bool {
        matches!(self, WasmType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            WasmType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether a value of this type is a reference the collector traces:
    /// [`RefType::is_traced`] for a reference, `false` for anything else.
    pub fn is_traced(self, hierarchy: impl Fn(HeapType) -> HeapType) -> bool {
        self.as_ref().is_some_and(|r| r.is_traced(hierarchy))
    }

    /// Whether the type has a default value (zero or null): every type
    /// but the non-nullable references.
    pub fn is_defaultable(self) -> bool {
        !matches!(self, WasmType::Ref(r) if !r.nullable)
    }

    /// The same type with each concrete type index mapped by `f` (module
    /// index to engine id, for instance).
    pub fn map_concrete(self, f: impl FnOnce(u32) -> HeapType) -> WasmType {
        match self {
            WasmType::Ref(r) => WasmType::Ref(r.map_concrete(f)),
            other => other,
        }
    }
}

impl std::fmt::Display for WasmType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
            WasmType::V128 => "v128",
            WasmType::Ref(r) => return r.fmt(f),
        })
    }
}

/// A reference type: a heap type, and whether null is a value of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RefType {
    pub nullable: bool,
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`: `(ref null func)`.
    pub const FUNCREF: RefType = RefType::nullable(HeapType::Func);
    /// `externref`: `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType::nullable(HeapType::Extern);
    /// `exnref`: `(ref null exn)`.
    pub const EXNREF: RefType = RefType::nullable(HeapType::Exn);
    /// `anyref`: `(ref null any)`.
    pub const ANYREF: RefType = RefType::nullable(HeapType::Any);

    /// `(ref null heap)`.
    pub const fn nullable(heap: HeapType) -> RefType {
        RefType {
            nullable: true,
            heap,
        }
    }

    /// `(ref heap)`.
    pub const fn non_null(heap: HeapType) -> RefType {
        RefType {
            nullable: false,
            heap,
        }
    }

    /// Whether a reference of this type is a GC reference the collector
    /// traces (and may move), by [`HeapType::is_traced_in`]. `hierarchy`
    /// gives the top of a concrete type's hierarchy (module type index or
    /// engine id: whoever holds the types; [`HeapType::top_with`]).
    ///
    /// The compiler asks this of locals, operands and globals (a stack map
    /// while live across a call; a load never merged across one) and of
    /// struct fields and array elements (`gc_layout::storage`: traced
    /// slots and write barriers); the engine of its roots (globals,
    /// tables, element segments, exception payloads).
    pub fn is_traced(self, hierarchy: impl Fn(HeapType) -> HeapType) -> bool {
        self.heap.is_traced_in(self.heap.top_with(hierarchy))
    }

    /// The same type with its concrete type index (if any) mapped by `f`.
    pub fn map_concrete(self, f: impl FnOnce(u32) -> HeapType) -> RefType {
        RefType {
            nullable: self.nullable,
            heap: match self.heap {
                HeapType::Concrete(i) => f(i),
                other => other,
            },
        }
    }
}

impl std::fmt::Display for RefType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = match self.heap {
            HeapType::Func => Some("funcref"),
            HeapType::Extern => Some("externref"),
            HeapType::Any => Some("anyref"),
            HeapType::Eq => Some("eqref"),
            HeapType::I31 => Some("i31ref"),
            HeapType::Struct => Some("structref"),
            HeapType::Array => Some("arrayref"),
            HeapType::Exn => Some("exnref"),
            HeapType::None => Some("nullref"),
            HeapType::NoExtern => Some("nullexternref"),
            HeapType::NoFunc => Some("nullfuncref"),
            HeapType::NoExn => Some("nullexnref"),
            HeapType::Concrete(_) | HeapType::Engine(_) => None,
        };
        match (self.nullable, short) {
            (true, Some(s)) => f.write_str(s),
            (true, None) => write!(f, "(ref null {})", self.heap),
            (false, _) => write!(f, "(ref {})", self.heap),
        }
    }
}

/// A heap type: what a reference points to. The abstract types of
/// WebAssembly 3.0, and concrete (defined) types.
///
/// A concrete type is named two ways: [`HeapType::Concrete`], by the
/// module's type index, in a [`ModuleEnv`](crate::module::ModuleEnv) (what the compiler and an
/// artifact see); [`HeapType::Engine`], by the engine-wide id the engine
/// gives the type when it loads the module, everywhere in the engine's
/// public API (a module's import and export types, the types of a store's
/// functions, globals and tables). Two engine ids are equal exactly when
/// the types are (iso-recursive equivalence, whole rec groups).
///
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum HeapType {
    Func,
    Extern,
    Any,
    Eq,
    I31,
    Struct,
    Array,
    Exn,
    /// The bottom of `any`'s hierarchy (`nullref`'s).
    None,
    NoExtern,
    NoFunc,
    NoExn,
    /// A type of the module, by module type index.
    Concrete(u32),
    /// A type of the engine, by engine-wide type id (see above).
    Engine(u32),
}

impl HeapType {
    /// The top of the hierarchy this type is in: `func`, `extern`, `any`
    /// or `exn`. Which hierarchy a value is in decides its representation
    /// (a `funcref` is a `*const VMFuncRef`, an `externref` a store-local
    /// handle). A concrete type's hierarchy depends on what it is
    /// ([`CompositeType::top`]): this answers `func` for it, which callers
    /// that may meet a struct or array type must resolve first.
    pub fn top(self) -> HeapType {
        use HeapType::*;
        match self {
            Func | NoFunc | Concrete(_) | Engine(_) => Func,
            Extern | NoExtern => Extern,
            Exn | NoExn => Exn,
            Any | Eq | I31 | Struct | Array | None => Any,
        }
    }

    /// The top of this type's hierarchy, with `hierarchy` giving a
    /// concrete type's (a [`Concrete`](HeapType::Concrete) or
    /// [`Engine`](HeapType::Engine) one; abstract types answer for
    /// themselves, [`top`](Self::top)).
    pub fn top_with(self, hierarchy: impl Fn(HeapType) -> HeapType) -> HeapType {
        match self {
            HeapType::Concrete(_) | HeapType::Engine(_) => hierarchy(self),
            h => h.top(),
        }
    }

    /// The one rule for which references the collector traces: a
    /// reference to this heap type, in the hierarchy whose top is `top`, is
    /// traced exactly when it is in `any`'s hierarchy and the type is
    /// neither `i31` nor `none`. Such a reference is a `u32` GC heap
    /// offset that may point at an object; an `i31ref` or `nullref` never
    /// does (it is a tagged integer or null), and neither does a `funcref`
    /// (a `*const VMFuncRef`), an `externref` or an `exnref` (store
    /// handles). Tracing an `i31` slot anyway would be harmless (the
    /// collector skips tagged values), but nothing does: one answer
    /// everywhere.
    pub fn is_traced_in(self, top: HeapType) -> bool {
        top == HeapType::Any && !matches!(self, HeapType::I31 | HeapType::None)
    }
}

impl std::fmt::Display for HeapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeapType::Func => "func",
            HeapType::Extern => "extern",
            HeapType::Any => "any",
            HeapType::Eq => "eq",
            HeapType::I31 => "i31",
            HeapType::Struct => "struct",
            HeapType::Array => "array",
            HeapType::Exn => "exn",
            HeapType::None => "none",
            HeapType::NoExtern => "noextern",
            HeapType::NoFunc => "nofunc",
            HeapType::NoExn => "noexn",
            HeapType::Concrete(i) => return write!(f, "{i}"),
            HeapType::Engine(i) => return write!(f, "#{i}"),
        })
    }
}

/// A function type: parameters and results.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct FuncType {
    pub params: Vec<WasmType>,
    pub results: Vec<WasmType>,
}

impl FuncType {
    /// The same type with every concrete type index mapped by `f`.
    pub fn map_concrete(&self, mut f: impl FnMut(u32) -> HeapType) -> FuncType {
        let mut map = |t: &WasmType| t.map_concrete(&mut f);
        FuncType {
            params: self.params.iter().map(&mut map).collect(),
            results: self.results.iter().map(&mut map).collect(),
        }
    }
}

impl std::fmt::Display for FuncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[WasmType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

/// One defined type of a module's type section: a composite type, whether
/// it may have subtypes, and its declared supertype (WebAssembly 3.0's
/// `sub`). A type without `sub` is final and has no supertype.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SubType {
    pub is_final: bool,
    /// The declared supertype, a module type index (or an engine id once
    /// canonicalized: see [`HeapType`]).
    pub supertype: Option<u32>,
    pub composite: CompositeType,
}

/// The structure of a defined type. `Struct` and `Array` are GC's; their
/// object layout is [`crate::gc_layout`]'s.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CompositeType {
    Func(FuncType),
    Struct(Vec<FieldType>),
    Array(FieldType),
}

/// A field of a struct, or an array's element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FieldType {
    pub storage: StorageType,
    pub mutable: bool,
}

/// What a struct field or array element stores: a value, or a packed
/// integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum StorageType {
    I8,
    I16,
    Val(WasmType),
}

/// [`ModuleEnv::heap_top`](crate::module::ModuleEnv::heap_top) over a module's `types`. An engine id
/// ([`HeapType::Engine`]) cannot be resolved here: callers that hold engine
/// types erase them first ([`FuncType::map_concrete`] to the top).
pub fn heap_top(types: &[SubType], h: HeapType) -> HeapType {
    match h {
        HeapType::Concrete(i) => types
            .get(i as usize)
            .map_or(HeapType::Func, |t| t.composite.top()),
        h => h.top(),
    }
}

impl CompositeType {
    /// The top of the hierarchy references to this type are in: `func` for
    /// a function type, `any` for a struct or array type.
    pub fn top(&self) -> HeapType {
        match self {
            CompositeType::Func(_) => HeapType::Func,
            CompositeType::Struct(_) | CompositeType::Array(_) => HeapType::Any,
        }
    }
}

impl SubType {
    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.composite {
            CompositeType::Func(f) => Some(f),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub min: u64,
    pub max: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryType {
    /// In pages (64 KiB unless `page_size_log2` says otherwise).
    pub limits: Limits,
    pub memory64: bool,
    pub shared: bool,
    /// log2 of the page size in bytes (custom page sizes: 0 or 16); `None`
    /// is the default, 64 KiB.
    pub page_size_log2: Option<u32>,
}

impl MemoryType {
    /// log2 of the page size in bytes.
    pub fn page_size_log2(&self) -> u32 {
        self.page_size_log2.unwrap_or(16)
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2()
    }

    /// The most pages the address type allows: 2^32 or 2^64 bytes' worth
    /// (less one page of 1 byte, which the spec excludes so the size fits
    /// the address type).
    pub fn max_pages(&self) -> u64 {
        let bits = if self.memory64 { 64 } else { 32 };
        match bits - self.page_size_log2() {
            64.. => u64::MAX,
            n => (1u64 << n) - u64::from(self.page_size_log2() == 0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableType {
    pub element: WasmType,
    /// In elements.
    pub limits: Limits,
    /// Indexed by i64 (memory64's table64), not i32.
    #[serde(default)]
    pub table64: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GlobalType {
    pub content: WasmType,
    pub mutable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one rule, and the users that ask it, agree: `any`'s hierarchy
    /// but `i31` and `none` is traced, concrete types by their hierarchy,
    /// nothing outside it.
    #[test]
    fn which_references_are_traced() {
        use HeapType::*;
        // Concrete and engine type 0 are function types, 1 struct types.
        let hierarchy = |h| match h {
            Concrete(0) | Engine(0) => Func,
            _ => Any,
        };
        let all = [
            Func,
            Extern,
            Any,
            Eq,
            I31,
            Struct,
            Array,
            Exn,
            None,
            NoExtern,
            NoFunc,
            NoExn,
            Concrete(0),
            Concrete(1),
            Engine(0),
            Engine(1),
        ];
        let traced: Vec<HeapType> = all
            .into_iter()
            .filter(|&h| RefType::nullable(h).is_traced(hierarchy))
            .collect();
        assert_eq!(traced, [Any, Eq, Struct, Array, Concrete(1), Engine(1)]);
        for h in all {
            let r = RefType::non_null(h);
            assert_eq!(
                r.is_traced(hierarchy),
                RefType::nullable(h).is_traced(hierarchy)
            );
            assert_eq!(
                WasmType::Ref(r).is_traced(hierarchy),
                r.is_traced(hierarchy)
            );
            // A struct field or array element of the type: traced alike.
            let storage = StorageType::Val(WasmType::Ref(r));
            let (_, field_traced) = crate::gc_layout::storage(storage, &hierarchy);
            assert_eq!(field_traced, r.is_traced(hierarchy), "{r}");
        }
        for t in [
            WasmType::I32,
            WasmType::I64,
            WasmType::F32,
            WasmType::F64,
            WasmType::V128,
        ] {
            assert!(!t.is_traced(hierarchy));
        }
        // A module's own view: its type 0 a function type, 1 a struct type.
        let env = crate::module::ModuleEnv {
            types: vec![
                SubType {
                    is_final: true,
                    supertype: Option::None,
                    composite: CompositeType::Func(FuncType::default()),
                },
                SubType {
                    is_final: true,
                    supertype: Option::None,
                    composite: CompositeType::Struct(Vec::new()),
                },
            ],
            ..Default::default()
        };
        for h in all.into_iter().filter(|h| !matches!(h, Engine(_))) {
            let t = WasmType::Ref(RefType::nullable(h));
            assert_eq!(env.is_traced(t), t.is_traced(hierarchy), "{t}");
        }
    }
}
