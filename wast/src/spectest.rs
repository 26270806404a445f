//! The `spectest` host module the official scripts import from.

use nyash_engine::{
    Extern, Func, FuncType, Global, GlobalType, Limits, Linker, Memory, MemoryType, Result, Store,
    Table, TableType, Val, ValType,
};

/// Defines the `spectest` module in `linker`: the `print*` functions (they
/// print nothing), `global_i32`/`i64`/`f32`/`f64` (666, 666.6), `table` (10
/// to 20 funcrefs) and `memory` (1 to 2 pages).
pub fn define_spectest(store: &mut Store<()>, linker: &mut Linker<()>) -> Result<()> {
    use ValType::*;
    let print = |params: Vec<ValType>| FuncType {
        params,
        results: vec![],
    };
    for (name, params) in [
        ("print", vec![]),
        ("print_i32", vec![I32]),
        ("print_i64", vec![I64]),
        ("print_f32", vec![F32]),
        ("print_f64", vec![F64]),
        ("print_i32_f32", vec![I32, F32]),
        ("print_f64_f64", vec![F64, F64]),
    ] {
        let f = Func::new(&mut *store, print(params), |_, _, _| Ok(()))?;
        linker.define("spectest", name, f)?;
    }
    let global = |store: &mut Store<()>, content, val| {
        Global::new(
            store,
            GlobalType {
                content,
                mutable: false,
            },
            val,
        )
    };
    let g = global(store, I32, Val::I32(666))?;
    linker.define("spectest", "global_i32", g)?;
    let g = global(store, I64, Val::I64(666))?;
    linker.define("spectest", "global_i64", g)?;
    let g = global(store, F32, Val::F32(666.6f32.to_bits()))?;
    linker.define("spectest", "global_f32", g)?;
    let g = global(store, F64, Val::F64(666.6f64.to_bits()))?;
    linker.define("spectest", "global_f64", g)?;
    let table = Table::new(
        &mut *store,
        TableType {
            element: ValType::FuncRef,
            limits: Limits {
                min: 10,
                max: Some(20),
            },
            table64: false,
        },
        Val::FuncRef(None),
    )?;
    linker.define("spectest", "table", table)?;
    let memory = Memory::new(
        &mut *store,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(2),
            },
            memory64: false,
            shared: false,
            page_size_log2: None,
        },
    )?;
    linker.define("spectest", "memory", Extern::Memory(memory))?;
    Ok(())
}
