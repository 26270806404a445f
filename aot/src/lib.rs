//! `nyash-aot`: turns WebAssembly bytes into an [`Artifact`]: the module
//! environment plus one position-independent native code image, compiled with
//! Cranelift. This crate never touches the runtime: it does no I/O, maps no
//! memory executable and runs no code. The runtime (`nyash-engine`) reads the
//! layouts it defines ([`vmoffsets`]) and never invents its own.

pub mod abi;
pub mod artifact;
pub mod builtin;
pub mod compile;
pub mod component;
mod encoding;
pub mod gc_layout;
pub mod image;
pub mod inline;
mod jobs;
pub mod lazy;
pub mod module;
pub mod packed;
pub mod parse;
mod trampolines;
pub mod translate;
pub mod tunables;
pub mod types;
pub mod vmoffsets;

pub use compile::{Artifact, Compiler};
pub use image::{
    CallSiteHandlers, CompiledFunction, HandlerTable, ImageTables, StackMapTable, TrapSite,
    TrapTable,
};
pub use inline::InlineTable;
pub use module::{CompositeType, FuncType, HeapType, ModuleEnv, RefType, SubType, WasmType};
pub use tunables::{Tier, Tunables};
pub use vmoffsets::VMOffsets;
pub use wasmparser::WasmFeatures;

/// Why a module could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The bytes are not a well-formed or valid module. `offset` is the byte
    /// offset in the module where the problem was found; `func_index` (and
    /// `func_name`, if the name section names it) say which function body it
    /// is in, when it is in one.
    Invalid {
        message: String,
        offset: usize,
        func_index: Option<u32>,
        func_name: Option<String>,
    },
    /// The bytes are not a well-formed or valid component (a core module
    /// inside one that is invalid is [`Invalid`](CompileError::Invalid),
    /// with the component's offset). `offset` is the byte offset in the
    /// component.
    InvalidComponent { message: String, offset: usize },
    /// The module uses a feature this engine does not support yet.
    Unsupported(String),
    /// Cranelift failed on a function (an engine bug, never the module's fault).
    Codegen { func_index: u32, message: String },
    /// An invariant of the engine's own does not hold: an engine bug, never
    /// the module's fault and never a missing feature. Made by [`bug!`];
    /// the robustness test fails on it.
    Internal(String),
}

/// Returns `Err(CompileError::Internal(...))` from the enclosing function:
/// for invariants that validation or the engine's own construction
/// guarantee (an operand stack that disagrees with the validator's, a
/// validated heap type that cannot be encoded), which only an engine bug
/// can break. Such a failure must not read as "unsupported": the module is
/// fine, the engine is not. Use `bug_error!` where an error value, not a
/// return, is needed.
#[macro_export]
macro_rules! bug {
    ($($arg:tt)*) => {
        return Err($crate::CompileError::Internal(format!($($arg)*)).into())
    };
}

/// The [`CompileError::Internal`] value [`bug!`] returns, for
/// `ok_or_else` and `map_err`.
#[macro_export]
macro_rules! bug_error {
    ($($arg:tt)*) => {
        $crate::CompileError::Internal(format!($($arg)*))
    };
}

/// What wasmparser says when a module uses SIMD and the validator has it off.
const SIMD_DISABLED: &str = "SIMD support is not enabled";
/// Proposals that are standard WebAssembly (3.0) or finished and shipped by
/// other engines: a module that needs one we have off is unsupported, not
/// invalid.
const STANDARD_FEATURES: wasmparser::WasmFeatures = wasmparser::WasmFeatures::WASM3
    .union(wasmparser::WasmFeatures::SIMD)
    .union(wasmparser::WasmFeatures::CUSTOM_PAGE_SIZES)
    .union(wasmparser::WasmFeatures::WIDE_ARITHMETIC);

/// What wasmparser says when a module uses a proposal the validator has off
/// (for errors it does not tag with the missing feature).
const FEATURE_DISABLED: [&str; 4] = [
    "not enabled",
    "must be enabled",
    "proposal not enabled",
    "requires the",
];

impl CompileError {
    /// A module-level validation error (not inside a function body).
    pub fn invalid(message: impl Into<String>, offset: u64) -> Self {
        CompileError::Invalid {
            message: message.into(),
            offset: offset as usize,
            func_index: None,
            func_name: None,
        }
    }

    /// Whether the bytes were refused as invalid or malformed (a module or
    /// a component), as opposed to unsupported or an engine bug.
    pub fn is_invalid(&self) -> bool {
        matches!(
            self,
            CompileError::Invalid { .. } | CompileError::InvalidComponent { .. }
        )
    }

    /// Says that an `Invalid` error was found by a component's validator:
    /// the component is what is invalid.
    pub fn in_component(self) -> Self {
        match self {
            CompileError::Invalid {
                message,
                offset,
                func_index: None,
                ..
            } => CompileError::InvalidComponent { message, offset },
            other => other,
        }
    }

    /// wasmparser's error. A feature it knows but we have switched off is
    /// reported as unsupported, not as invalid: the module is valid
    /// WebAssembly 2.0.
    pub fn from_wasmparser(e: wasmparser::BinaryReaderError) -> Self {
        Self::from_wasmparser_with(e, wasmparser::WasmFeatures::empty())
    }

    /// [`from_wasmparser`](Self::from_wasmparser), for a configuration
    /// that turned the proposals in `disabled` off: a module that needs one
    /// of them is invalid, as it is for an engine of the standard before it.
    pub fn from_wasmparser_with(
        e: wasmparser::BinaryReaderError,
        disabled: wasmparser::WasmFeatures,
    ) -> Self {
        if e.missing_wasm_feature()
            .is_some_and(|f| disabled.intersects(f))
        {
            return Self::invalid(e.message(), e.offset());
        }
        // The legacy form of exception handling (`try`/`catch`/`delegate`/
        // `rethrow`) stays off: only the final form with `try_table` is.
        if e.missing_wasm_feature()
            .is_some_and(|f| f.intersects(wasmparser::WasmFeatures::LEGACY_EXCEPTIONS))
        {
            return CompileError::Unsupported(format!(
                "legacy exception handling (try/catch/delegate/rethrow) is not supported; \
                 use try_table (at byte offset {:#x})",
                e.offset()
            ));
        }
        // SIMD is off only when the compiler's CPU lacks the vector
        // instructions it needs (`Compiler::features`).
        let simd = match e.missing_wasm_feature() {
            Some(f) => f.intersects(
                wasmparser::WasmFeatures::SIMD | wasmparser::WasmFeatures::RELAXED_SIMD,
            ),
            None => e.message().starts_with(SIMD_DISABLED),
        };
        if simd {
            return CompileError::Unsupported(format!(
                "SIMD needs {} (first SIMD use at byte offset {:#x})",
                compile::SIMD_CPU_REQUIREMENT,
                e.offset()
            ));
        }
        // Another proposal the validator knows and we have off (tail calls,
        // GC, exceptions, threads, ...): unsupported when it is part of a
        // standard (3.0, or a finished proposal wasmtime ships), so the
        // module is valid WebAssembly we do not run yet. A feature outside
        // those (e.g. "multibyte array access", whose memarg flag 2.0 calls
        // malformed) leaves the module malformed or invalid.
        let standard = match e.missing_wasm_feature() {
            Some(f) => STANDARD_FEATURES.contains(f),
            None => FEATURE_DISABLED.iter().any(|m| e.message().contains(m)),
        };
        if standard {
            return CompileError::Unsupported(format!(
                "{} (WebAssembly 2.0 is supported; at byte offset {:#x})",
                e.message(),
                e.offset()
            ));
        }
        Self::invalid(e.message(), e.offset())
    }

    /// Says which function an error is in: adds the index and name to
    /// `Invalid`, and the index to `Unsupported`'s and `Internal`'s text.
    pub fn in_function(self, func_index: u32, func_name: Option<&str>) -> Self {
        match self {
            CompileError::Invalid {
                message,
                offset,
                func_index: None,
                ..
            } => CompileError::Invalid {
                message,
                offset,
                func_index: Some(func_index),
                func_name: func_name.map(str::to_string),
            },
            CompileError::Unsupported(what) => {
                let name = func_name.map_or(String::new(), |n| format!(" (`{n}`)"));
                CompileError::Unsupported(format!("{what} in function {func_index}{name}"))
            }
            CompileError::Internal(what) => {
                let name = func_name.map_or(String::new(), |n| format!(" (`{n}`)"));
                CompileError::Internal(format!("{what} in function {func_index}{name}"))
            }
            other => other,
        }
    }
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Invalid {
                message,
                offset,
                func_index,
                func_name,
            } => {
                write!(f, "invalid module: {message}")?;
                if let Some(i) = func_index {
                    write!(f, " in function {i}")?;
                    if let Some(name) = func_name {
                        write!(f, " (`{name}`)")?;
                    }
                }
                write!(f, " at byte offset {offset:#x}")
            }
            CompileError::InvalidComponent { message, offset } => {
                write!(f, "invalid component: {message} at byte offset {offset:#x}")
            }
            CompileError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CompileError::Internal(what) => write!(
                f,
                "internal error (an engine bug, please report it): {what}"
            ),
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
