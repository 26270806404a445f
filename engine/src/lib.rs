//! `nyash-engine`: a WebAssembly engine that compiles modules ahead of time
//! to native code with Cranelift and runs them on its own execution stacks.
//!
//! ```
//! use nyash_engine::{Engine, Instance, Module, Store, Val};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module (func (export "add") (param i32 i32) (result i32)
//!         local.get 0 local.get 1 i32.add))
//! "#)?;
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &module, &[])?;
//! let add = instance.get_func(&mut store, "add").unwrap();
//! let mut results = [Val::I32(0)];
//! add.call(&mut store, &[Val::I32(2), Val::I32(3)], &mut results)?;
//! assert_eq!(results[0], Val::I32(5));
//! # Ok::<(), nyash_engine::Error>(())
//! ```

mod async_call;
pub mod cache;
mod const_expr;
mod engine;
mod error;
mod externals;
mod func;
mod instance;
mod libcalls;
mod linker;
mod module;
pub mod nyash;
mod runtime;
mod store;
mod typed;
mod types;
mod values;
pub mod wasi;

pub use engine::{Config, Engine};
/// Alignment an artifact embedded in another file must start at.
pub const ARTIFACT_ALIGN: usize = nyash_aot::artifact::CODE_ALIGN;
pub use error::{CompileError, Error, ErrorKind, FrameInfo, Result, Trap, TrapCode};
pub use externals::{Extern, Global, Memory, Table};
pub use func::{Caller, Func};
pub use instance::Instance;
pub use linker::Linker;
pub use module::Module;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use typed::{HostResult, IntoFunc, TypedFunc, WasmList, WasmTy};
pub use types::{ExternType, FuncType, GlobalType, Limits, MemoryType, TableType, ValType};
pub use values::{ExternRef, Val};
