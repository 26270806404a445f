//! The module environment: everything about a module except its function
//! bodies' machine code (its index spaces, imports and exports, segments,
//! constant expressions and names). The parser ([`crate::parse`]) builds it
//! in one pass of `wasmparser` over the bytes; the types it names are
//! [`crate::types`]'. Both are re-exported here, the paths other crates use.

use std::ops::Range;

pub use crate::parse::{
    FunctionBodyInput, function_references_features, parse, parse_with_features, supported_features,
};
pub use crate::types::{
    CompositeType, FieldType, FuncType, GlobalType, HeapType, Limits, MemoryType, RefType,
    StorageType, SubType, TableType, WasmType, heap_top,
};

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

    /// Whether a value of type `t` (module type indices) is a GC reference
    /// the collector traces (and may move): [`RefType::is_traced`]. Such a
    /// value must be in a stack map while live across a call, and a load of
    /// it must never be merged across one, even from an immutable global.
    pub fn is_traced(&self, t: WasmType) -> bool {
        t.is_traced(|h| self.heap_top(h))
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
