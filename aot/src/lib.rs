//! `nyash-aot`: turns WebAssembly bytes into an [`Artifact`]: the module
//! environment plus one position-independent native code image, compiled with
//! Cranelift. This crate never touches the runtime: it does no I/O, maps no
//! memory executable and runs no code. The runtime (`nyash-engine`) reads the
//! layouts it defines ([`vmoffsets`]) and never invents its own.

pub mod abi;
pub mod artifact;
pub mod compile;
pub mod inline;
pub mod module;
pub mod packed;
pub mod translate;
pub mod vmoffsets;

pub use compile::{Artifact, CompiledFunction, Compiler, TrapSite, TrapTable, Tunables};
pub use inline::InlineTable;
pub use module::{FuncType, ModuleEnv, WasmType};
pub use vmoffsets::VMOffsets;

/// Why a module could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The bytes are not a well-formed or valid module. `offset` is the byte
    /// offset in the module where the problem was found.
    Invalid { message: String, offset: usize },
    /// The module uses a feature this engine does not support yet.
    Unsupported(String),
    /// Cranelift failed on a function (an engine bug, never the module's fault).
    Codegen { func_index: u32, message: String },
}

impl CompileError {
    pub fn from_wasmparser(e: wasmparser::BinaryReaderError) -> Self {
        let mut message = e.message().to_string();
        if message.contains("SIMD support is not enabled") {
            message = "SIMD is not supported yet (WebAssembly 2.0 without SIMD)".to_string();
        }
        CompileError::Invalid {
            message,
            offset: e.offset() as usize,
        }
    }
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Invalid { message, offset } => {
                write!(f, "invalid module: {message} (at byte offset {offset:#x})")
            }
            CompileError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CompileError::Codegen {
                func_index,
                message,
            } => write!(
                f,
                "code generation failed for function {func_index}: {message}"
            ),
        }
    }
}

impl std::error::Error for CompileError {}
