//! Types of external values, as the public API shows them: the engine's
//! own, not the compiler's.
//!
//! `nyash_aot` has a type system of its own (`nyash_aot::types`): the types
//! a module's sections declare, in the words the compiler and the artifact
//! format use (serde types, a defined type named by the module's own type
//! index). The API's types below mirror the parts a user sees and are
//! converted to and from the compiler's in this file only (the
//! `pub(crate)` `to_aot` / `from_aot` functions), so the artifact format
//! can change without changing the API, and the API cannot name what only
//! the compiler may: there is no module type index here, a defined type is
//! always named by its engine-wide id ([`HeapType::Engine`]).

use std::fmt;

use nyash_aot::module::EntityIndex;
use nyash_aot::types as aot;

use crate::module::Module;
use crate::vm::store_opaque::StoreOpaque;

/// A WebAssembly value type: `i32`, `i64`, `f32`, `f64`, `v128`, or a
/// reference ([`ValType::Ref`] of a [`RefType`]; `ValType::FuncRef`,
/// `ValType::ExternRef`, `ValType::ExnRef` and `ValType::AnyRef` are the
/// constants for `funcref`, `externref`, `exnref` and `anyref`).
/// `Display` writes it in the text format's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
    /// A 32-bit IEEE 754 float.
    F32,
    /// A 64-bit IEEE 754 float.
    F64,
    /// A 128-bit vector.
    V128,
    /// A reference: `funcref`, `(ref $t)`, `(ref null extern)`, ...
    Ref(RefType),
}

#[allow(non_upper_case_globals)]
impl ValType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FuncRef: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`, i.e. `(ref null extern)`.
    pub const ExternRef: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`, i.e. `(ref null exn)`.
    pub const ExnRef: ValType = ValType::Ref(RefType::EXNREF);
    /// `anyref`, i.e. `(ref null any)`.
    pub const AnyRef: ValType = ValType::Ref(RefType::ANYREF);
}

impl ValType {
    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the type has a default value (zero or null): every type
    /// but the non-nullable references.
    pub fn is_defaultable(self) -> bool {
        !matches!(self, ValType::Ref(r) if !r.nullable)
    }

    /// The compiler's form of the type.
    pub(crate) fn to_aot(self) -> aot::WasmType {
        match self {
            ValType::I32 => aot::WasmType::I32,
            ValType::I64 => aot::WasmType::I64,
            ValType::F32 => aot::WasmType::F32,
            ValType::F64 => aot::WasmType::F64,
            ValType::V128 => aot::WasmType::V128,
            ValType::Ref(r) => aot::WasmType::Ref(r.to_aot()),
        }
    }

    /// The API's form of a type in engine form (defined types named by
    /// engine id: the type registry's types, and a module's types after
    /// [`Module::engine_type`]); see [`HeapType::from_aot`].
    pub(crate) fn from_aot(t: aot::WasmType) -> ValType {
        match t {
            aot::WasmType::I32 => ValType::I32,
            aot::WasmType::I64 => ValType::I64,
            aot::WasmType::F32 => ValType::F32,
            aot::WasmType::F64 => ValType::F64,
            aot::WasmType::V128 => ValType::V128,
            aot::WasmType::Ref(r) => ValType::Ref(RefType::from_aot(r)),
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One spelling: the compiler's (the text format's words).
        self.to_aot().fmt(f)
    }
}

/// A reference type: a [`HeapType`] and whether null is a value of it
/// (`nullable`). `RefType::FUNCREF` and `RefType::EXTERNREF` are the
/// WebAssembly 1.0 ones; `EXNREF` and `ANYREF` those of exceptions and GC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether null is a value of the type (`(ref null ...)`).
    pub nullable: bool,
    /// What a non-null reference points to.
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

    /// The compiler's form of the type.
    pub(crate) fn to_aot(self) -> aot::RefType {
        aot::RefType {
            nullable: self.nullable,
            heap: self.heap.to_aot(),
        }
    }

    /// The API's form of a type in engine form ([`HeapType::from_aot`]).
    pub(crate) fn from_aot(r: aot::RefType) -> RefType {
        RefType {
            nullable: r.nullable,
            heap: HeapType::from_aot(r.heap),
        }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_aot().fmt(f)
    }
}

/// What a reference points to: an abstract heap type (`func`, `extern`,
/// `any`, `eq`, `i31`, `struct`, `array`, `exn` and the bottom types `none`,
/// `noextern`, `nofunc`, `noexn`) or a defined type (a function, struct or
/// array type), named by engine-wide id.
///
/// An engine id ([`HeapType::Engine`]) names one type for the engine's
/// life: equal ids, equal types, across modules (iso-recursive
/// equivalence, whole rec groups). The API uses them in module import and
/// export types and in the types of a store's functions, globals and
/// tables; [`Engine::func_type_id`](crate::Engine::func_type_id),
/// [`StructType::heap_type`](crate::StructType::heap_type) and
/// [`ArrayType::heap_type`](crate::ArrayType::heap_type) give one for a
/// type made by the host. `Display` writes an engine id as `#id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// `func`: any function.
    Func,
    /// `extern`: a host reference (or an internalized one).
    Extern,
    /// `any`: the top of the GC hierarchy.
    Any,
    /// `eq`: GC references comparable with `ref.eq`.
    Eq,
    /// `i31`: unboxed 31-bit integers.
    I31,
    /// `struct`: any struct.
    Struct,
    /// `array`: any array.
    Array,
    /// `exn`: an exception.
    Exn,
    /// The bottom of `any`'s hierarchy (`nullref`'s).
    None,
    /// The bottom of `extern`'s hierarchy (`nullexternref`'s).
    NoExtern,
    /// The bottom of `func`'s hierarchy (`nullfuncref`'s).
    NoFunc,
    /// The bottom of `exn`'s hierarchy (`nullexnref`'s).
    NoExn,
    /// A defined type, by engine-wide type id (see above).
    Engine(u32),
}

impl HeapType {
    /// The compiler's form of the type.
    pub(crate) fn to_aot(self) -> aot::HeapType {
        use aot::HeapType as A;
        match self {
            HeapType::Func => A::Func,
            HeapType::Extern => A::Extern,
            HeapType::Any => A::Any,
            HeapType::Eq => A::Eq,
            HeapType::I31 => A::I31,
            HeapType::Struct => A::Struct,
            HeapType::Array => A::Array,
            HeapType::Exn => A::Exn,
            HeapType::None => A::None,
            HeapType::NoExtern => A::NoExtern,
            HeapType::NoFunc => A::NoFunc,
            HeapType::NoExn => A::NoExn,
            HeapType::Engine(id) => A::Engine(id),
        }
    }

    /// The API's form of a heap type in engine form. A module type index
    /// (`aot::HeapType::Concrete`) cannot reach here: the type registry
    /// stores every defined type with engine ids only (it resolves each
    /// index of a rec group as it registers it), and a module's own types
    /// go through [`Module::engine_type`] first. Should one come anyway
    /// (an engine bug), it is read the way the registry reads a stray
    /// index in a host function's type, as an engine id, which the API
    /// then reports as an unknown type rather than crashing on.
    pub(crate) fn from_aot(h: aot::HeapType) -> HeapType {
        use aot::HeapType as A;
        match h {
            A::Func => HeapType::Func,
            A::Extern => HeapType::Extern,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::Exn => HeapType::Exn,
            A::None => HeapType::None,
            A::NoExtern => HeapType::NoExtern,
            A::NoFunc => HeapType::NoFunc,
            A::NoExn => HeapType::NoExn,
            A::Engine(id) => HeapType::Engine(id),
            A::Concrete(i) => {
                debug_assert!(false, "module type index {i} where an engine id belongs");
                HeapType::Engine(i)
            }
        }
    }

    /// The top of an abstract type's hierarchy (`func`, `extern`, `any` or
    /// `exn`); a defined type answers `func` here, so callers that may
    /// meet a struct or array type use [`HeapType::top_in`].
    pub(crate) fn abstract_top(self) -> HeapType {
        HeapType::from_aot(self.to_aot().top())
    }

    /// The top of the type's hierarchy, an engine id resolved by the
    /// store's engine ([`StoreOpaque::heap_top`]). It decides how a value
    /// of the type is represented.
    pub(crate) fn top_in(self, store: &StoreOpaque) -> HeapType {
        HeapType::from_aot(store.heap_top(self.to_aot()))
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_aot().fmt(f)
    }
}

/// A function type: `params` and `results` are the value types in order;
/// `Display` writes the type as the text format does,
/// `(func (param i32) (result i64))`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    /// The parameter types, in order.
    pub params: Vec<ValType>,
    /// The result types, in order.
    pub results: Vec<ValType>,
}

impl FuncType {
    /// The function type `params -> results`.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// The parameter types, in order.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The result types, in order.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    /// The compiler's form of the type.
    pub(crate) fn to_aot(&self) -> aot::FuncType {
        aot::FuncType {
            params: self.params.iter().map(|t| t.to_aot()).collect(),
            results: self.results.iter().map(|t| t.to_aot()).collect(),
        }
    }

    /// The API's form of a type in engine form ([`HeapType::from_aot`]).
    pub(crate) fn from_aot(t: &aot::FuncType) -> FuncType {
        FuncType {
            params: t.params.iter().map(|&t| ValType::from_aot(t)).collect(),
            results: t.results.iter().map(|&t| ValType::from_aot(t)).collect(),
        }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_aot().fmt(f)
    }
}

/// Size limits of a memory (in pages) or a table (in elements): `min`, and
/// an optional `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The initial (and least) size.
    pub min: u64,
    /// The most it may grow to, if bounded.
    pub max: Option<u64>,
}

impl Limits {
    pub(crate) fn to_aot(self) -> aot::Limits {
        aot::Limits {
            min: self.min,
            max: self.max,
        }
    }

    pub(crate) fn from_aot(l: aot::Limits) -> Limits {
        Limits {
            min: l.min,
            max: l.max,
        }
    }
}

/// The type of a linear memory: its limits in pages, whether it is a 64-bit
/// memory (i64 addresses) or a shared one (threads; not supported yet), and
/// its page size (`page_size_log2`: `None` for 64 KiB, `Some(0)` for 1
/// byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// In pages (64 KiB unless `page_size_log2` says otherwise).
    pub limits: Limits,
    /// Addressed by i64 (memory64), not i32.
    pub memory64: bool,
    /// Shared between threads.
    pub shared: bool,
    /// log2 of the page size in bytes (custom page sizes: 0 or 16); `None`
    /// is the default, 64 KiB.
    pub page_size_log2: Option<u32>,
}

impl MemoryType {
    /// log2 of the page size in bytes.
    pub fn page_size_log2(&self) -> u32 {
        self.to_aot().page_size_log2()
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        self.to_aot().page_size()
    }

    /// The most pages the address type allows: 2^32 or 2^64 bytes' worth
    /// (less one page of 1 byte, which the spec excludes so the size fits
    /// the address type).
    pub fn max_pages(&self) -> u64 {
        self.to_aot().max_pages()
    }

    pub(crate) fn to_aot(self) -> aot::MemoryType {
        aot::MemoryType {
            limits: self.limits.to_aot(),
            memory64: self.memory64,
            shared: self.shared,
            page_size_log2: self.page_size_log2,
        }
    }

    pub(crate) fn from_aot(m: aot::MemoryType) -> MemoryType {
        MemoryType {
            limits: Limits::from_aot(m.limits),
            memory64: m.memory64,
            shared: m.shared,
            page_size_log2: m.page_size_log2,
        }
    }
}

/// The type of a table: its element type (a reference type), its limits
/// in elements, and whether it is indexed by i64 (`table64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// The element type, a reference type.
    pub element: ValType,
    /// In elements.
    pub limits: Limits,
    /// Indexed by i64 (memory64's table64), not i32.
    pub table64: bool,
}

impl TableType {
    pub(crate) fn to_aot(self) -> aot::TableType {
        aot::TableType {
            element: self.element.to_aot(),
            limits: self.limits.to_aot(),
            table64: self.table64,
        }
    }

    /// From engine form ([`HeapType::from_aot`]).
    pub(crate) fn from_aot(t: aot::TableType) -> TableType {
        TableType {
            element: ValType::from_aot(t.element),
            limits: Limits::from_aot(t.limits),
            table64: t.table64,
        }
    }
}

/// The type of a global: its value type and whether it is mutable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// The value type.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

impl GlobalType {
    pub(crate) fn to_aot(self) -> aot::GlobalType {
        aot::GlobalType {
            content: self.content.to_aot(),
            mutable: self.mutable,
        }
    }

    /// From engine form ([`HeapType::from_aot`]).
    pub(crate) fn from_aot(g: aot::GlobalType) -> GlobalType {
        GlobalType {
            content: ValType::from_aot(g.content),
            mutable: g.mutable,
        }
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternType {
    /// A function of this type.
    Func(FuncType),
    /// A table of this type.
    Table(TableType),
    /// A memory of this type.
    Memory(MemoryType),
    /// A global of this type.
    Global(GlobalType),
    /// An exception tag of this type.
    Tag(crate::exceptions::TagType),
}

impl ExternType {
    /// The type of `module`'s import or export `index`, defined types
    /// named by engine id (as the store's functions, tables and globals
    /// have them), so it can be used to make a matching definition.
    pub(crate) fn of(module: &Module, index: EntityIndex) -> ExternType {
        let env = module.env();
        match index {
            EntityIndex::Function(i) => ExternType::Func(
                module
                    .engine()
                    .type_of(module.inner.type_ids[env.funcs[i as usize] as usize]),
            ),
            EntityIndex::Table(i) => {
                let t = env.tables[i as usize];
                ExternType::Table(TableType {
                    element: module.engine_type(t.element),
                    limits: Limits::from_aot(t.limits),
                    table64: t.table64,
                })
            }
            EntityIndex::Memory(i) => {
                ExternType::Memory(MemoryType::from_aot(env.memories[i as usize]))
            }
            EntityIndex::Global(i) => {
                let g = env.globals[i as usize];
                ExternType::Global(GlobalType {
                    content: module.engine_type(g.content),
                    mutable: g.mutable,
                })
            }
            EntityIndex::Tag(i) => ExternType::Tag(crate::exceptions::TagType::of(module, i)),
        }
    }

    /// The kind in a word, for messages: `"function"`, `"table"`,
    /// `"memory"`, `"global"` or `"tag"`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "function",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
            ExternType::Global(_) => "global",
            ExternType::Tag(_) => "tag",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAPS: [HeapType; 14] = [
        HeapType::Func,
        HeapType::Extern,
        HeapType::Any,
        HeapType::Eq,
        HeapType::I31,
        HeapType::Struct,
        HeapType::Array,
        HeapType::Exn,
        HeapType::None,
        HeapType::NoExtern,
        HeapType::NoFunc,
        HeapType::NoExn,
        HeapType::Engine(0),
        HeapType::Engine(7),
    ];

    /// Every public type goes to the compiler's form and back unchanged,
    /// to the variant of the same name, and is written as the compiler
    /// writes it (the text format's words).
    #[test]
    fn conversions_round_trip_and_display_agrees() {
        let mut vals = vec![
            ValType::I32,
            ValType::I64,
            ValType::F32,
            ValType::F64,
            ValType::V128,
        ];
        for h in HEAPS {
            assert_eq!(HeapType::from_aot(h.to_aot()), h);
            assert_eq!(format!("{h:?}"), format!("{:?}", h.to_aot()));
            assert_eq!(h.to_string(), h.to_aot().to_string());
            vals.push(ValType::Ref(RefType::nullable(h)));
            vals.push(ValType::Ref(RefType::non_null(h)));
        }
        for t in &vals {
            assert_eq!(ValType::from_aot(t.to_aot()), *t);
            assert_eq!(t.to_string(), t.to_aot().to_string());
            assert_eq!(t.is_defaultable(), t.to_aot().is_defaultable());
        }
        assert_eq!(ValType::FuncRef.to_string(), "funcref");
        assert_eq!(
            ValType::Ref(RefType::non_null(HeapType::Engine(3))).to_string(),
            "(ref #3)"
        );
        let f = FuncType::new(vals.iter().copied(), [ValType::I64, ValType::ExnRef]);
        assert_eq!(FuncType::from_aot(&f.to_aot()), f);
        assert_eq!(f.to_string(), f.to_aot().to_string());
        assert_eq!(f.params(), &vals[..]);

        let limits = Limits {
            min: 1,
            max: Some(9),
        };
        let m = MemoryType {
            limits,
            memory64: true,
            shared: false,
            page_size_log2: Some(0),
        };
        assert_eq!(MemoryType::from_aot(m.to_aot()), m);
        assert_eq!((m.page_size(), m.max_pages()), (1, u64::MAX));
        let t = TableType {
            element: ValType::Ref(RefType::non_null(HeapType::Engine(2))),
            limits,
            table64: true,
        };
        assert_eq!(TableType::from_aot(t.to_aot()), t);
        let g = GlobalType {
            content: ValType::AnyRef,
            mutable: true,
        };
        assert_eq!(GlobalType::from_aot(g.to_aot()), g);
    }
}
