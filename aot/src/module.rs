//! The module environment: everything about a module except its function
//! bodies' machine code. Built by one pass of `wasmparser` over the bytes;
//! validation of the module-level sections happens here, validation of each
//! function body happens later, in parallel, in the compile workers.

use std::ops::Range;

use wasmparser::{
    BinaryReaderError, CompositeInnerType, ConstExpr as WpConstExpr, DataKind, ElementItems,
    ElementKind, ExternalKind, FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser,
    Payload, TypeRef, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

use crate::CompileError;
use crate::translate::encoding;

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

    pub(crate) fn from_wasmparser_pub(ty: wasmparser::ValType) -> Result<Self, CompileError> {
        Self::from_wasmparser(ty)
    }

    fn from_wasmparser(ty: wasmparser::ValType) -> Result<Self, CompileError> {
        use wasmparser::ValType;
        Ok(match ty {
            ValType::I32 => WasmType::I32,
            ValType::I64 => WasmType::I64,
            ValType::F32 => WasmType::F32,
            ValType::F64 => WasmType::F64,
            ValType::V128 => WasmType::V128,
            ValType::Ref(r) => WasmType::Ref(RefType::from_wasmparser(r)?),
        })
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

    fn from_wasmparser(r: wasmparser::RefType) -> Result<RefType, CompileError> {
        Ok(RefType {
            nullable: r.is_nullable(),
            heap: HeapType::from_wasmparser(r.heap_type())?,
        })
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
/// module's type index, in a [`ModuleEnv`] (what the compiler and an
/// artifact see); [`HeapType::Engine`], by the engine-wide id the engine
/// gives the type when it loads the module, everywhere in the engine's
/// public API (a module's import and export types, the types of a store's
/// functions, globals and tables). Two engine ids are equal exactly when
/// the types are (iso-recursive equivalence, whole rec groups).
///
/// Every abstract type runs; GC's struct and array objects cannot be
/// allocated yet, so references of the `any` hierarchy are null or `i31`
/// today.
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
    fn from_wasmparser(hty: wasmparser::HeapType) -> Result<HeapType, CompileError> {
        use wasmparser::AbstractHeapType as A;
        let needs = |what: &str, ty: &str| {
            Err(CompileError::Unsupported(format!(
                "heap type `{ty}` needs {what}, which is not supported yet"
            )))
        };
        Ok(match hty {
            wasmparser::HeapType::Abstract { shared: true, .. } => {
                return needs("shared-everything threads", "shared");
            }
            wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::Extern => HeapType::Extern,
                A::NoFunc => HeapType::NoFunc,
                A::NoExtern => HeapType::NoExtern,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                A::Cont | A::NoCont => return needs("stack switching", "cont"),
            },
            wasmparser::HeapType::Exact(_) => return needs("custom descriptors", "exact"),
            wasmparser::HeapType::Concrete(i) => match i.as_module_index() {
                Some(i) => HeapType::Concrete(i),
                None => {
                    crate::bug!("heap type {hty:?} is not a module type index");
                }
            },
        })
    }

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

    fn from_wasmparser(f: &wasmparser::FuncType) -> Result<FuncType, CompileError> {
        let list = |v: &[wasmparser::ValType]| {
            v.iter()
                .map(|t| WasmType::from_wasmparser(*t))
                .collect::<Result<_, _>>()
        };
        Ok(FuncType {
            params: list(f.params())?,
            results: list(f.results())?,
        })
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

impl FieldType {
    fn from_wasmparser(f: &wasmparser::FieldType) -> Result<FieldType, CompileError> {
        Ok(FieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => StorageType::I8,
                wasmparser::StorageType::I16 => StorageType::I16,
                wasmparser::StorageType::Val(v) => StorageType::Val(WasmType::from_wasmparser(v)?),
            },
            mutable: f.mutable,
        })
    }
}

/// [`ModuleEnv::heap_top`] over a module's `types`. An engine id
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

    fn from_wasmparser(sub: &wasmparser::SubType) -> Result<SubType, CompileError> {
        if sub.composite_type.shared {
            return Err(CompileError::Unsupported(
                "shared types need shared-everything threads, which is not supported yet".into(),
            ));
        }
        let composite = match &sub.composite_type.inner {
            CompositeInnerType::Func(f) => CompositeType::Func(FuncType::from_wasmparser(f)?),
            CompositeInnerType::Struct(st) => CompositeType::Struct(
                st.fields
                    .iter()
                    .map(FieldType::from_wasmparser)
                    .collect::<Result<_, _>>()?,
            ),
            CompositeInnerType::Array(at) => {
                CompositeType::Array(FieldType::from_wasmparser(&at.0)?)
            }
            CompositeInnerType::Cont(_) => {
                return Err(CompileError::Unsupported(
                    "a continuation type needs stack switching, which is not supported yet".into(),
                ));
            }
        };
        if sub.composite_type.descriptor_idx.is_some() || sub.composite_type.describes_idx.is_some()
        {
            return Err(CompileError::Unsupported(
                "custom descriptors are not supported yet".into(),
            ));
        }
        let supertype =
            match sub.supertype_idxs.first() {
                None => None,
                Some(i) => Some(i.as_module_index().ok_or_else(|| {
                    crate::bug_error!("supertype {i:?} is not a module type index")
                })?),
            };
        Ok(SubType {
            is_final: sub.is_final,
            supertype,
            composite,
        })
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

/// One operation of a constant expression. Evaluated by the runtime at
/// instantiation (global initialisers, segment offsets, element items).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ConstOp {
    I32Const(i32),
    I64Const(i64),
    F32Const(u32),
    F64Const(u64),
    V128Const(u128),
    RefNull(HeapType),
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
    /// `ref.i31` of the `i32` on the stack (GC).
    RefI31,
    /// `struct.new` of module type `.0`: pops its fields.
    StructNew(u32),
    /// `struct.new_default` of module type `.0`.
    StructNewDefault(u32),
    /// `array.new` of module type `.0`: pops the value and the length.
    ArrayNew(u32),
    /// `array.new_default` of module type `.0`: pops the length.
    ArrayNewDefault(u32),
    /// `array.new_fixed` of module type `.0` with `.1` elements.
    ArrayNewFixed(u32, u32),
    /// `any.convert_extern`.
    AnyConvertExtern,
    /// `extern.convert_any`.
    ExternConvertAny,
}

/// A constant expression as a sequence of stack-machine operations.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConstExpr(pub Vec<ConstOp>);

impl ConstExpr {
    fn parse(expr: &WpConstExpr<'_>) -> Result<Self, CompileError> {
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = reader.read().map_err(CompileError::from_wasmparser)?;
            ops.push(match op {
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                Operator::RefNull { hty } => ConstOp::RefNull(HeapType::from_wasmparser(hty)?),
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::RefI31 => ConstOp::RefI31,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
                Operator::ExternConvertAny => ConstOp::ExternConvertAny,
                Operator::End => continue,
                other => {
                    crate::bug!("validated constant expression operator {other:?}");
                }
            });
        }
        Ok(ConstExpr(ops))
    }

    /// The function indices a constant expression can reference.
    fn referenced_funcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().filter_map(|op| match op {
            ConstOp::RefFunc(i) => Some(*i),
            _ => None,
        })
    }
}

/// An index space entry: what an import or export refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntityIndex {
    Function(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    /// An exception tag (exception handling).
    Tag(u32),
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// The index this import occupies in its index space.
    pub index: EntityIndex,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Export {
    pub name: String,
    pub index: EntityIndex,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum ElemMode {
    Passive,
    Active { table: u32, offset: ConstExpr },
    Declared,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ElemSegment {
    pub mode: ElemMode,
    pub element: WasmType,
    pub items: Vec<ConstExpr>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum DataMode {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DataSegment {
    pub mode: DataMode,
    /// Byte range into [`ModuleEnv::data_bytes`].
    pub range: Range<usize>,
}

/// A defined function's body still to be validated and compiled.
pub struct FunctionBodyInput {
    pub func_index: u32,
    /// Byte range of the body within the module bytes.
    pub range: Range<usize>,
    pub validator: FuncToValidate<ValidatorResources>,
}

/// Everything the compiler and the runtime need to know about a module,
/// apart from machine code.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ModuleEnv {
    pub name: Option<String>,
    /// Whether some function body touches the GC heap or converts between
    /// `extern` and `any` (set by the compiler): instances of such a
    /// module need the store's heap even if no declared type names the
    /// `any` hierarchy.
    pub code_uses_gc: bool,
    /// Module type index -> defined type (function types only, until GC).
    pub types: Vec<SubType>,
    /// The type section's rec groups: the first type index of each, in
    /// order (a type outside an explicit `rec` is a group of one). Engine
    /// type ids are given per whole group (see the engine's registry).
    pub rec_groups: Vec<u32>,
    /// Function index -> module type index. Imported functions come first.
    #[serde(with = "crate::packed")]
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    pub tables: Vec<TableType>,
    pub num_imported_tables: u32,
    /// Initialisers of the defined tables (index = table index - imported):
    /// `None` fills the table with null.
    pub table_inits: Vec<Option<ConstExpr>>,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub num_imported_globals: u32,
    /// Initialisers of the defined globals (index = global index - imported).
    pub global_inits: Vec<ConstExpr>,
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    /// All data segments' bytes, concatenated.
    #[serde(with = "serde_bytes")]
    pub data_bytes: Vec<u8>,
    /// Function names from the name section.
    pub func_names: FuncNames,
    /// For each function index: its slot in the VMContext's funcref array, if
    /// the function can be referenced as a value (exported, in an element
    /// segment, or named by `ref.func` in a constant expression). Only
    /// defined functions get a slot; imported ones use the exporter's.
    pub func_ref_slots: Vec<Option<u32>>,
    pub num_func_ref_slots: u32,
    /// Tag index -> module type index of the tag's (result-less) function
    /// type. Imported tags come first.
    pub tags: Vec<u32>,
    pub num_imported_tags: u32,
}

/// Function names from the name section, in one string: two allocations
/// however many functions there are, since an artifact load decodes them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FuncNames {
    text: String,
    /// (function index, end of its name in `text`), sorted by index; a name
    /// starts where the previous one ends.
    ends: Vec<(u32, u32)>,
}

impl<'a> FromIterator<(u32, &'a str)> for FuncNames {
    /// Names in any order (the name section should list indices in
    /// increasing order, but names are advisory and not validated); for a
    /// repeated index the later name wins. One sort, however the input is
    /// ordered.
    fn from_iter<I: IntoIterator<Item = (u32, &'a str)>>(names: I) -> Self {
        let mut names: Vec<(u32, &str)> = names.into_iter().collect();
        names.sort_by_key(|&(i, _)| i); // stable: repeats keep their order
        let mut out = FuncNames::default();
        for (k, &(i, name)) in names.iter().enumerate() {
            if names.get(k + 1).is_some_and(|&(next, _)| next == i) {
                continue; // a later entry names this function again
            }
            out.text.push_str(name);
            out.ends.push((i, out.text.len() as u32));
        }
        out
    }
}

impl FuncNames {
    pub fn get(&self, func_index: u32) -> Option<&str> {
        let k = self
            .ends
            .binary_search_by_key(&func_index, |&(i, _)| i)
            .ok()?;
        self.text.get(self.span(k))
    }

    fn span(&self, k: usize) -> std::ops::Range<usize> {
        let start = if k == 0 {
            0
        } else {
            self.ends[k - 1].1 as usize
        };
        start..self.ends[k].1 as usize
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        (0..self.ends.len()).filter_map(|k| Some((self.ends[k].0, self.text.get(self.span(k))?)))
    }
}

impl ModuleEnv {
    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }

    pub fn is_imported_func(&self, index: u32) -> bool {
        index < self.num_imported_funcs
    }

    pub fn is_imported_memory(&self, index: u32) -> bool {
        index < self.num_imported_memories
    }

    pub fn is_imported_table(&self, index: u32) -> bool {
        index < self.num_imported_tables
    }

    pub fn is_imported_global(&self, index: u32) -> bool {
        index < self.num_imported_globals
    }

    pub fn func_type(&self, func_index: u32) -> &FuncType {
        self.func_type_at(self.funcs[func_index as usize])
    }

    /// The top of `h`'s hierarchy, a concrete type resolved by what it is
    /// (module type index; [`HeapType::top`] for abstract types). Decides a
    /// reference's representation: see [`crate::abi::clif_type`].
    pub fn heap_top(&self, h: HeapType) -> HeapType {
        heap_top(&self.types, h)
    }

    /// Whether a value of type `t` is a GC reference the collector traces
    /// (and may move): a reference in the `any` hierarchy other than `i31`
    /// and `none`, which never point at an object. Such a value must be in
    /// a stack map while live across a call, and a load of it must never be
    /// merged across one, even from an immutable global.
    pub fn is_traced(&self, t: WasmType) -> bool {
        match t {
            WasmType::Ref(r) => {
                !matches!(r.heap, HeapType::I31 | HeapType::None)
                    && self.heap_top(r.heap) == HeapType::Any
            }
            _ => false,
        }
    }

    /// Function type `type_index` with every concrete reference type
    /// replaced by the top of its hierarchy: all a trampoline needs to know
    /// of it (the representation of each value; see
    /// [`crate::abi::clif_type`]).
    pub fn representation_of(&self, type_index: u32) -> FuncType {
        self.func_type_at(type_index)
            .map_concrete(|i| self.heap_top(HeapType::Concrete(i)))
    }

    /// The function type at module type index `type_index`.
    pub fn func_type_at(&self, type_index: u32) -> &FuncType {
        self.types[type_index as usize]
            .as_func()
            .expect("validation: every type index that names a function's, block's, call's or tag's type names a function type")
    }

    /// The depth of type `type_index` in its declared supertype chain (0:
    /// no supertype). Validation bounds it by 63 and orders supertypes
    /// before their subtypes; the walk is bounded anyway.
    pub fn type_depth(&self, type_index: u32) -> u32 {
        let mut depth = 0;
        let mut t = type_index;
        while let Some(s) = self.types.get(t as usize).and_then(|t| t.supertype) {
            if s >= t || depth >= self.types.len() as u32 {
                break;
            }
            depth += 1;
            t = s;
        }
        depth
    }

    /// The rec group of each type section entry: `(first type index, len)`.
    pub fn rec_group_ranges(&self) -> impl Iterator<Item = std::ops::Range<u32>> + '_ {
        let n = self.types.len() as u32;
        self.rec_groups.iter().enumerate().map(move |(k, &start)| {
            let end = self.rec_groups.get(k + 1).copied().unwrap_or(n);
            start..end
        })
    }

    /// The function type of tag `tag_index` (its parameters are the
    /// exception's payload; it has no results).
    pub fn tag_type(&self, tag_index: u32) -> &FuncType {
        self.func_type_at(self.tags[tag_index as usize])
    }

    pub fn func_name(&self, func_index: u32) -> Option<&str> {
        self.func_names.get(func_index)
    }

    pub fn export(&self, name: &str) -> Option<EntityIndex> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
    }
}

/// Typed function references with the type system GC brought into
/// WebAssembly 3.0: wasmparser's `GC` feature validates rec groups, `sub`
/// types, subtyping between function types and the abstract heap types.
/// GC itself does not run: `parse` rejects struct and array types and the
/// GC heap types as unsupported, and the translator every GC operator.
pub fn function_references_features() -> WasmFeatures {
    WasmFeatures::FUNCTION_REFERENCES.union(WasmFeatures::GC)
}

/// The WebAssembly features the engine accepts: WebAssembly 2.0 with SIMD
/// (a compiler for a CPU without the vector instructions SIMD needs turns
/// it off: see `Compiler::features`), and the 3.0 proposals listed one per
/// line.
pub fn supported_features() -> WasmFeatures {
    WasmFeatures::WASM2
        .union(function_references_features())
        .union(WasmFeatures::MULTI_MEMORY)
        .union(WasmFeatures::MEMORY64)
        .union(WasmFeatures::CUSTOM_PAGE_SIZES)
        .union(WasmFeatures::EXTENDED_CONST)
        .union(WasmFeatures::WIDE_ARITHMETIC)
        .union(WasmFeatures::TAIL_CALL)
        .union(WasmFeatures::RELAXED_SIMD)
        .union(WasmFeatures::EXCEPTIONS)
}

/// Parses and validates the module-level structure of `wasm` with the
/// [`supported_features`], less the proposals in `disabled`. Function
/// bodies are returned unvalidated, for the compile workers.
pub fn parse(
    wasm: &[u8],
    disabled: WasmFeatures,
) -> Result<(ModuleEnv, Vec<FunctionBodyInput>), CompileError> {
    parse_with_features(wasm, supported_features(), disabled)
}

/// [`parse`], accepting the proposals in `features` only, less those in
/// `disabled` (which make a module invalid rather than unsupported).
pub fn parse_with_features(
    wasm: &[u8],
    features: WasmFeatures,
    disabled: WasmFeatures,
) -> Result<(ModuleEnv, Vec<FunctionBodyInput>), CompileError> {
    let mut validator = Validator::new_with_features(features.difference(disabled));
    let from_wasmparser = |e| CompileError::from_wasmparser_with(e, disabled);
    let mut env = ModuleEnv::default();
    let mut bodies = Vec::new();
    let mut escaping: Vec<u32> = Vec::new();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(from_wasmparser)?;
        let valid = validator.payload(&payload).map_err(from_wasmparser)?;
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group.map_err(from_wasmparser)?;
                    env.rec_groups.push(env.types.len() as u32);
                    for sub in group.into_types() {
                        env.types.push(SubType::from_wasmparser(&sub)?);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(from_wasmparser)?;
                    let index = match import.ty {
                        TypeRef::Func(ty) => {
                            env.funcs.push(ty);
                            env.num_imported_funcs += 1;
                            EntityIndex::Function(env.funcs.len() as u32 - 1)
                        }
                        TypeRef::Table(t) => {
                            env.tables.push(table_type(t)?);
                            env.num_imported_tables += 1;
                            EntityIndex::Table(env.tables.len() as u32 - 1)
                        }
                        TypeRef::Memory(m) => {
                            env.memories.push(memory_type(m));
                            env.num_imported_memories += 1;
                            EntityIndex::Memory(env.memories.len() as u32 - 1)
                        }
                        TypeRef::Global(g) => {
                            env.globals.push(global_type(g)?);
                            env.num_imported_globals += 1;
                            EntityIndex::Global(env.globals.len() as u32 - 1)
                        }
                        TypeRef::Tag(t) => {
                            env.tags.push(t.func_type_idx);
                            env.num_imported_tags += 1;
                            EntityIndex::Tag(env.tags.len() as u32 - 1)
                        }
                        other => {
                            crate::bug!("validated import of kind {other:?}");
                        }
                    };
                    env.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    env.funcs.push(ty.map_err(from_wasmparser)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table.map_err(from_wasmparser)?;
                    env.tables.push(table_type(table.ty)?);
                    env.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => {
                            let init = ConstExpr::parse(&e)?;
                            escaping.extend(init.referenced_funcs());
                            Some(init)
                        }
                    });
                }
            }
            Payload::MemorySection(reader) => {
                let range = reader.range();
                let raw = &wasm[range.start as usize..range.end as usize];
                let mut at = encoding::leb_len(raw);
                for m in reader {
                    let m = m.map_err(from_wasmparser)?;
                    at +=
                        encoding::check_limits(&raw[at.min(raw.len())..], range.start + at as u64)?;
                    env.memories.push(memory_type(m));
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g.map_err(from_wasmparser)?;
                    env.globals.push(global_type(g.ty)?);
                    let init = ConstExpr::parse(&g.init_expr)?;
                    escaping.extend(init.referenced_funcs());
                    env.global_inits.push(init);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(from_wasmparser)?;
                    let index = match e.kind {
                        ExternalKind::Func => {
                            escaping.push(e.index);
                            EntityIndex::Function(e.index)
                        }
                        ExternalKind::Table => EntityIndex::Table(e.index),
                        ExternalKind::Memory => EntityIndex::Memory(e.index),
                        ExternalKind::Global => EntityIndex::Global(e.index),
                        ExternalKind::Tag => EntityIndex::Tag(e.index),
                        other => {
                            crate::bug!("validated export of kind {other:?}");
                        }
                    };
                    env.exports.push(Export {
                        name: e.name.to_string(),
                        index,
                    });
                }
            }
            Payload::TagSection(reader) => {
                for t in reader {
                    env.tags.push(t.map_err(from_wasmparser)?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => env.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem.map_err(from_wasmparser)?;
                    let mode = match elem.kind {
                        ElementKind::Passive => ElemMode::Passive,
                        ElementKind::Declared => ElemMode::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: table_index.unwrap_or(0),
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    let (element, items) = match elem.items {
                        ElementItems::Functions(funcs) => {
                            let mut items = Vec::new();
                            for f in funcs {
                                let f = f.map_err(from_wasmparser)?;
                                escaping.push(f);
                                items.push(ConstExpr(vec![ConstOp::RefFunc(f)]));
                            }
                            (WasmType::Ref(RefType::non_null(HeapType::Func)), items)
                        }
                        ElementItems::Expressions(ty, exprs) => {
                            let element = WasmType::Ref(RefType::from_wasmparser(ty)?);
                            let mut items = Vec::new();
                            for e in exprs {
                                let e = ConstExpr::parse(&e.map_err(from_wasmparser)?)?;
                                escaping.extend(e.referenced_funcs());
                                items.push(e);
                            }
                            (element, items)
                        }
                    };
                    env.elems.push(ElemSegment {
                        mode,
                        element,
                        items,
                    });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(from_wasmparser)?;
                    let start = env.data_bytes.len();
                    env.data_bytes.extend_from_slice(data.data);
                    let mode = match data.kind {
                        DataKind::Passive => DataMode::Passive,
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: memory_index,
                            offset: ConstExpr::parse(&offset_expr)?,
                        },
                    };
                    env.datas.push(DataSegment {
                        mode,
                        range: start..env.data_bytes.len(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let ValidPayload::Func(func, _) = valid else {
                    unreachable!("wasmparser returns Func for every code section entry")
                };
                bodies.push(body_input(&body, func));
            }
            Payload::CustomSection(reader) => {
                if let KnownCustom::Name(names) = reader.as_known() {
                    // A malformed name section is ignored, as the spec asks.
                    let _ = read_names(names, &mut env);
                }
            }
            _ => {}
        }
    }

    let mut slots = vec![None; env.funcs.len()];
    let mut next = 0u32;
    for f in escaping {
        if let Some(slot) = slots.get_mut(f as usize)
            && slot.is_none()
            && f >= env.num_imported_funcs
        {
            *slot = Some(next);
            next += 1;
        }
    }
    env.func_ref_slots = slots;
    env.num_func_ref_slots = next;
    Ok((env, bodies))
}

fn body_input(
    body: &FunctionBody<'_>,
    func: FuncToValidate<ValidatorResources>,
) -> FunctionBodyInput {
    FunctionBodyInput {
        func_index: func.index,
        range: {
            let r = body.range();
            r.start as usize..r.end as usize
        },
        validator: func,
    }
}

fn read_names(
    names: wasmparser::NameSectionReader<'_>,
    env: &mut ModuleEnv,
) -> Result<(), BinaryReaderError> {
    let mut funcs = Vec::new();
    for name in names {
        match name? {
            Name::Module { name, .. } => env.name = Some(name.to_string()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    funcs.push((naming.index, naming.name));
                }
            }
            _ => {}
        }
    }
    env.func_names = funcs.into_iter().collect();
    Ok(())
}

fn table_type(t: wasmparser::TableType) -> Result<TableType, CompileError> {
    Ok(TableType {
        element: WasmType::Ref(RefType::from_wasmparser(t.element_type)?),
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        table64: t.table64,
    })
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        limits: Limits {
            min: m.initial,
            max: m.maximum,
        },
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2: m.page_size_log2,
    }
}

fn global_type(g: wasmparser::GlobalType) -> Result<GlobalType, CompileError> {
    Ok(GlobalType {
        content: WasmType::from_wasmparser(g.content_type)?,
        mutable: g.mutable,
    })
}

#[cfg(test)]
mod tests {
    use super::FuncNames;

    #[test]
    fn func_names_in_order_out_of_order_and_repeated() {
        let in_order = [(2, "two"), (5, "five"), (9, "")];
        let n: FuncNames = in_order.into_iter().collect();
        assert_eq!(n.get(2), Some("two"));
        assert_eq!(n.get(5), Some("five"));
        assert_eq!(n.get(9), Some(""));
        assert_eq!(n.get(3), None);
        // Out of order and a repeat: still found, the later name wins.
        let n: FuncNames = in_order
            .into_iter()
            .chain([(1, "one"), (5, "FIVE")])
            .collect();
        let all: Vec<_> = n.iter().collect();
        assert_eq!(all, [(1, "one"), (2, "two"), (5, "FIVE"), (9, "")]);
        let bytes = postcard::to_allocvec(&n).unwrap();
        let back: FuncNames = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, n);
        assert_eq!(back.get(1), Some("one"));
    }
}
