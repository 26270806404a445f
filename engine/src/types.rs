//! Types of external values, as the public API shows them.

use nyash_aot::module::{EntityIndex, ModuleEnv};
pub use nyash_aot::module::{GlobalType, Limits, MemoryType, TableType};
pub use nyash_aot::{FuncType, WasmType as ValType};

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternType {
    Func(FuncType),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

impl ExternType {
    pub(crate) fn of(env: &ModuleEnv, index: EntityIndex) -> ExternType {
        match index {
            EntityIndex::Function(i) => ExternType::Func(env.func_type(i).clone()),
            EntityIndex::Table(i) => ExternType::Table(env.tables[i as usize]),
            EntityIndex::Memory(i) => ExternType::Memory(env.memories[i as usize]),
            EntityIndex::Global(i) => ExternType::Global(env.globals[i as usize]),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "function",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
            ExternType::Global(_) => "global",
        }
    }
}
