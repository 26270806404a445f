//! The async ABI's canonical built-ins (🔀 async, 🧵 threading, 📝
//! error-context): `task.return`, `context.get/set`, `waitable-set.*`,
//! `stream.*`, `future.*` and the rest, as the translation and the inliner
//! carry them. Each is a core function the engine makes when the component
//! is instantiated (`engine/src/component/concurrent.rs`), like the resource
//! built-ins; what a built-in needs besides its kind (a memory, a string
//! encoding, a table) is in the [`CanonOptions`](super::translate::CanonOptions)
//! or table beside it.

use serde::{Deserialize, Serialize};
use wasmparser::CanonicalFunction;
use wasmparser::types::TypesRef;

use super::types::{InterfaceType, TypeConverter, TypeIndex};
use crate::CompileError;

/// One async ABI built-in. `TypeIndex`es name the `stream<T>` or
/// `future<T>` type a built-in is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AsyncBuiltin {
    /// `task.return`: the result type it lifts (checked against the task's).
    TaskReturn {
        result: Option<InterfaceType>,
    },
    TaskCancel,
    /// `context.get i32 slot` (`i64`: the 64-bit form).
    ContextGet {
        i64: bool,
        slot: u32,
    },
    ContextSet {
        i64: bool,
        slot: u32,
    },
    BackpressureInc,
    BackpressureDec,
    ThreadYield,
    ThreadIndex,
    /// `thread.new-indirect` (its table beside it).
    ThreadNewIndirect,
    ThreadResumeLater,
    ThreadSuspend,
    ThreadSuspendThenResume,
    ThreadYieldThenResume,
    ThreadSuspendThenPromote,
    ThreadYieldThenPromote,
    WaitableSetNew,
    WaitableSetWait,
    WaitableSetPoll,
    WaitableSetDrop,
    WaitableJoin,
    SubtaskCancel {
        async_: bool,
    },
    SubtaskDrop,
    StreamNew(TypeIndex),
    StreamRead(TypeIndex),
    StreamWrite(TypeIndex),
    StreamCancelRead {
        ty: TypeIndex,
        async_: bool,
    },
    StreamCancelWrite {
        ty: TypeIndex,
        async_: bool,
    },
    StreamDropReadable(TypeIndex),
    StreamDropWritable(TypeIndex),
    FutureNew(TypeIndex),
    FutureRead(TypeIndex),
    FutureWrite(TypeIndex),
    FutureCancelRead {
        ty: TypeIndex,
        async_: bool,
    },
    FutureCancelWrite {
        ty: TypeIndex,
        async_: bool,
    },
    FutureDropReadable(TypeIndex),
    FutureDropWritable(TypeIndex),
    ErrorContextNew,
    ErrorContextDebugMessage,
    ErrorContextDrop,
}

impl AsyncBuiltin {
    /// The built-in's name in the text format (for errors).
    pub fn name(&self) -> &'static str {
        use AsyncBuiltin as B;
        match self {
            B::TaskReturn { .. } => "task.return",
            B::TaskCancel => "task.cancel",
            B::ContextGet { .. } => "context.get",
            B::ContextSet { .. } => "context.set",
            B::BackpressureInc => "backpressure.inc",
            B::BackpressureDec => "backpressure.dec",
            B::ThreadYield => "thread.yield",
            B::ThreadIndex => "thread.index",
            B::ThreadNewIndirect => "thread.new-indirect",
            B::ThreadResumeLater => "thread.resume-later",
            B::ThreadSuspend => "thread.suspend",
            B::ThreadSuspendThenResume => "thread.suspend-then-resume",
            B::ThreadYieldThenResume => "thread.yield-then-resume",
            B::ThreadSuspendThenPromote => "thread.suspend-then-promote",
            B::ThreadYieldThenPromote => "thread.yield-then-promote",
            B::WaitableSetNew => "waitable-set.new",
            B::WaitableSetWait => "waitable-set.wait",
            B::WaitableSetPoll => "waitable-set.poll",
            B::WaitableSetDrop => "waitable-set.drop",
            B::WaitableJoin => "waitable.join",
            B::SubtaskCancel { .. } => "subtask.cancel",
            B::SubtaskDrop => "subtask.drop",
            B::StreamNew(_) => "stream.new",
            B::StreamRead(_) => "stream.read",
            B::StreamWrite(_) => "stream.write",
            B::StreamCancelRead { .. } => "stream.cancel-read",
            B::StreamCancelWrite { .. } => "stream.cancel-write",
            B::StreamDropReadable(_) => "stream.drop-readable",
            B::StreamDropWritable(_) => "stream.drop-writable",
            B::FutureNew(_) => "future.new",
            B::FutureRead(_) => "future.read",
            B::FutureWrite(_) => "future.write",
            B::FutureCancelRead { .. } => "future.cancel-read",
            B::FutureCancelWrite { .. } => "future.cancel-write",
            B::FutureDropReadable(_) => "future.drop-readable",
            B::FutureDropWritable(_) => "future.drop-writable",
            B::ErrorContextNew => "error-context.new",
            B::ErrorContextDebugMessage => "error-context.debug-message",
            B::ErrorContextDrop => "error-context.drop",
        }
    }
}

/// What the translation keeps of a canonical built-in that is not a lift,
/// a lower or a resource built-in: the built-in, its canonical options (an
/// empty list for most), the memory `waitable-set.wait/poll` write their
/// event to, and the table `thread.new-indirect` takes its function from.
pub(crate) struct Translated<'a> {
    pub builtin: AsyncBuiltin,
    pub options: &'a [wasmparser::CanonicalOption],
    pub memory: Option<u32>,
    pub table: Option<u32>,
}

/// The `stream`/`future` type a built-in names by component type index.
fn payload_type(
    conv: &mut TypeConverter,
    types: TypesRef<'_>,
    index: u32,
) -> Result<TypeIndex, CompileError> {
    match types.component_any_type_at(index) {
        wasmparser::component_types::ComponentAnyTypeId::Defined(d) => conv.defined(types, d, 0),
        _ => crate::bug!("validated stream/future built-in on a non-defined type {index}"),
    }
}

/// Translates an async ABI built-in; `Ok(None)` for one the engine refuses
/// (shared-everything threads, the `forward` built-ins), which the caller
/// reports as unsupported.
pub(crate) fn translate<'a>(
    conv: &mut TypeConverter,
    types: TypesRef<'_>,
    f: &'a CanonicalFunction,
) -> Result<Option<Translated<'a>>, CompileError> {
    use AsyncBuiltin as B;
    use CanonicalFunction as C;
    let plain = |builtin| Translated {
        builtin,
        options: &[],
        memory: None,
        table: None,
    };
    let i64 = |ty: &wasmparser::ValType| matches!(ty, wasmparser::ValType::I64);
    Ok(Some(match f {
        C::TaskReturn { result, options } => Translated {
            builtin: B::TaskReturn {
                result: match result {
                    Some(t) => Some(component_val_type(conv, types, *t)?),
                    None => None,
                },
            },
            options,
            memory: None,
            table: None,
        },
        C::TaskCancel => plain(B::TaskCancel),
        C::ContextGet { ty, slot } => plain(B::ContextGet {
            i64: i64(ty),
            slot: *slot,
        }),
        C::ContextSet { ty, slot } => plain(B::ContextSet {
            i64: i64(ty),
            slot: *slot,
        }),
        C::BackpressureInc => plain(B::BackpressureInc),
        C::BackpressureDec => plain(B::BackpressureDec),
        C::ThreadYield => plain(B::ThreadYield),
        C::ThreadIndex => plain(B::ThreadIndex),
        C::ThreadNewIndirect { table_index, .. } => Translated {
            builtin: B::ThreadNewIndirect,
            options: &[],
            memory: None,
            table: Some(*table_index),
        },
        C::ThreadResumeLater => plain(B::ThreadResumeLater),
        C::ThreadSuspend => plain(B::ThreadSuspend),
        C::ThreadSuspendThenResume => plain(B::ThreadSuspendThenResume),
        C::ThreadYieldThenResume => plain(B::ThreadYieldThenResume),
        C::ThreadSuspendThenPromote => plain(B::ThreadSuspendThenPromote),
        C::ThreadYieldThenPromote => plain(B::ThreadYieldThenPromote),
        C::WaitableSetNew => plain(B::WaitableSetNew),
        C::WaitableSetWait { memory } => Translated {
            builtin: B::WaitableSetWait,
            options: &[],
            memory: Some(*memory),
            table: None,
        },
        C::WaitableSetPoll { memory } => Translated {
            builtin: B::WaitableSetPoll,
            options: &[],
            memory: Some(*memory),
            table: None,
        },
        C::WaitableSetDrop => plain(B::WaitableSetDrop),
        C::WaitableJoin => plain(B::WaitableJoin),
        C::SubtaskCancel { async_ } => plain(B::SubtaskCancel { async_: *async_ }),
        C::SubtaskDrop => plain(B::SubtaskDrop),
        C::StreamNew { ty } => plain(B::StreamNew(payload_type(conv, types, *ty)?)),
        C::StreamRead { ty, options } => Translated {
            builtin: B::StreamRead(payload_type(conv, types, *ty)?),
            options,
            memory: None,
            table: None,
        },
        C::StreamWrite { ty, options } => Translated {
            builtin: B::StreamWrite(payload_type(conv, types, *ty)?),
            options,
            memory: None,
            table: None,
        },
        C::StreamCancelRead { ty, async_ } => plain(B::StreamCancelRead {
            ty: payload_type(conv, types, *ty)?,
            async_: *async_,
        }),
        C::StreamCancelWrite { ty, async_ } => plain(B::StreamCancelWrite {
            ty: payload_type(conv, types, *ty)?,
            async_: *async_,
        }),
        C::StreamDropReadable { ty } => {
            plain(B::StreamDropReadable(payload_type(conv, types, *ty)?))
        }
        C::StreamDropWritable { ty } => {
            plain(B::StreamDropWritable(payload_type(conv, types, *ty)?))
        }
        C::FutureNew { ty } => plain(B::FutureNew(payload_type(conv, types, *ty)?)),
        C::FutureRead { ty, options } => Translated {
            builtin: B::FutureRead(payload_type(conv, types, *ty)?),
            options,
            memory: None,
            table: None,
        },
        C::FutureWrite { ty, options } => Translated {
            builtin: B::FutureWrite(payload_type(conv, types, *ty)?),
            options,
            memory: None,
            table: None,
        },
        C::FutureCancelRead { ty, async_ } => plain(B::FutureCancelRead {
            ty: payload_type(conv, types, *ty)?,
            async_: *async_,
        }),
        C::FutureCancelWrite { ty, async_ } => plain(B::FutureCancelWrite {
            ty: payload_type(conv, types, *ty)?,
            async_: *async_,
        }),
        C::FutureDropReadable { ty } => {
            plain(B::FutureDropReadable(payload_type(conv, types, *ty)?))
        }
        C::FutureDropWritable { ty } => {
            plain(B::FutureDropWritable(payload_type(conv, types, *ty)?))
        }
        C::ErrorContextNew { options } => Translated {
            builtin: B::ErrorContextNew,
            options,
            memory: None,
            table: None,
        },
        C::ErrorContextDebugMessage { options } => Translated {
            builtin: B::ErrorContextDebugMessage,
            options,
            memory: None,
            table: None,
        },
        C::ErrorContextDrop => plain(B::ErrorContextDrop),
        _ => return Ok(None),
    }))
}

/// A component value type as written in a built-in (`task.return`'s
/// result).
fn component_val_type(
    conv: &mut TypeConverter,
    types: TypesRef<'_>,
    t: wasmparser::ComponentValType,
) -> Result<InterfaceType, CompileError> {
    let vt = match t {
        wasmparser::ComponentValType::Primitive(p) => {
            wasmparser::component_types::ComponentValType::Primitive(p)
        }
        wasmparser::ComponentValType::Type(i) => match types.component_any_type_at(i) {
            wasmparser::component_types::ComponentAnyTypeId::Defined(d) => {
                wasmparser::component_types::ComponentValType::Type(d)
            }
            _ => crate::bug!("validated value type {i} is not a defined type"),
        },
    };
    conv.value(types, vt, 0)
}
