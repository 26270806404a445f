//! Types of external values, as the public API shows them.

/// `params` and `results` are the value types in order; `Display` writes
/// the type as the text format does, `(func (param i32) (result i64))`.
#[doc(inline)]
pub use nyash_aot::FuncType;
/// What a reference points to: an abstract heap type (`func`, `extern`,
/// `any`, `eq`, `i31`, `struct`, `array`, `exn` and the bottom types) or a
/// defined type (a function, struct or array type).
/// The API names defined types by engine-wide id ([`HeapType::Engine`]:
/// equal ids, equal types, across modules), in module import and export
/// types and in the types of a store's functions, globals and tables; a
/// [`HeapType::Concrete`] (a module's own type index, the compiler's view)
/// given to the API is an error.
#[doc(inline)]
pub use nyash_aot::HeapType;
/// A reference type: a [`HeapType`] and whether null is a value of it
/// (`nullable`). `RefType::FUNCREF` and `RefType::EXTERNREF` are the
/// WebAssembly 1.0 ones.
#[doc(inline)]
pub use nyash_aot::RefType;
/// A WebAssembly value type: `i32`, `i64`, `f32`, `f64`, `v128`, or a
/// reference ([`ValType::Ref`] of a [`RefType`]; `ValType::FuncRef` and
/// `ValType::ExternRef` are the constants for `funcref` and `externref`).
/// `Display` writes it in the text format's words.
#[doc(inline)]
pub use nyash_aot::WasmType as ValType;
use nyash_aot::module::EntityIndex;
/// The type of a global: its value type and whether it is mutable.
#[doc(inline)]
pub use nyash_aot::module::GlobalType;
/// Size limits of a memory (in 64 KiB pages) or a table (in elements):
/// `min`, and an optional `max`.
#[doc(inline)]
pub use nyash_aot::module::Limits;
/// The type of a linear memory: its limits in pages, whether it is a 64-bit
/// memory (i64 addresses) or a shared one (not supported yet), and its page
/// size (`page_size_log2`: `None` for 64 KiB, `Some(0)` for 1 byte).
#[doc(inline)]
pub use nyash_aot::module::MemoryType;
/// The type of a table: its element type (a reference type), its
/// limits in elements, and whether it is indexed by i64 (`table64`).
#[doc(inline)]
pub use nyash_aot::module::TableType;

use crate::module::Module;

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
                    ..t
                })
            }
            EntityIndex::Memory(i) => ExternType::Memory(env.memories[i as usize]),
            EntityIndex::Global(i) => {
                let g = env.globals[i as usize];
                ExternType::Global(GlobalType {
                    content: module.engine_type(g.content),
                    ..g
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
