//! The async ABI's runtime (🔀 async, 🧵 threading, 📝 error-context), the
//! part of it that runs without switching tasks: tasks (one per call into a
//! lifted function, with its context slots and the result `task.return`
//! gives), waitable sets, stream and future ends, error contexts and each
//! component instance's backpressure counter, and the core functions of
//! every async built-in ([`builtin`]). The rules and the order of their
//! checks are `definitions.py`'s (the component-model repository's
//! `design/mvp/canonical-abi/`); the trap messages are the ones the
//! reference tests expect.
//!
//! Waitable sets, stream and future ends and error contexts are entries of
//! the component instance's handle table, beside resources
//! ([`Slot::Async`]), so their handles share one index space as the spec
//! says; the objects themselves live here, in [`ConcurrentState`].
//!
//! What this layer does not do is run more than one task at a time: a call
//! runs to its end before the caller goes on (an `async`-lowered call
//! whose callee returns returns `RETURNED` at once, so no subtask handle is
//! ever made), and whatever would block waits for nothing else to run. So a
//! task that would block traps ("cannot block a synchronous task before
//! returning" in a task of a function type that is not `async`; a deadlock
//! when no other task could make progress) or, where another task could
//! (an `async`-lowered caller up the stack), fails with an error naming
//! what is missing: task switching, which issue 25 ("Native async across
//! the component boundary") builds on fibers. `thread.new-indirect` (a new
//! thread needs a stack of its own) and moving stream, future and
//! error-context handles across a call (`abi.rs`) are the same issue's.

use std::collections::HashMap;

use nyash_aot::component::builtins::AsyncBuiltin;
use nyash_aot::component::inline::{ComponentInstanceId, InlinedBuiltin};
use nyash_aot::component::translate::StringEncoding;
use nyash_aot::component::types::{
    ComponentTypes, DefinedType, FuncType, FuncTypeIndex, InterfaceType, TypeIndex,
};

use super::abi::{Abi, CoreTy, Flat, MAX_FLAT_PARAMS};
use super::component::Component;
use super::resources::{Slot, trap};
use super::store::{ComponentStore, LiftedFunc, ResolvedOptions};
use super::val::Val;
use crate::store::StoreContextMut;
use crate::vm::store_opaque::StoreInner;
use crate::{Caller, ComponentTrap, Error, Func as CoreFunc, Memory, Result, Val as CoreVal};

/// What an async copy or cancel returns when it cannot complete at once.
const BLOCKED: u32 = 0xffff_ffff;
/// A subtask's state `RETURNED`: what an `async`-lowered call returns when
/// the callee finished before the call returned.
pub(crate) const SUBTASK_RETURNED: i32 = 2;
/// The most elements one stream copy may name (the spec's
/// `Buffer.MAX_LENGTH`).
const MAX_BUFFER_LENGTH: u32 = (1 << 28) - 1;

/// Event codes (`EventCode`).
const EVENT_NONE: u32 = 0;
const EVENT_STREAM_READ: u32 = 2;
const EVENT_STREAM_WRITE: u32 = 3;
const EVENT_FUTURE_READ: u32 = 4;
const EVENT_FUTURE_WRITE: u32 = 5;

/// How a copy ended (`CopyResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CopyResult {
    Completed = 0,
    Dropped = 1,
    Cancelled = 2,
}

/// A stream or future end's state (`CopyState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CopyState {
    Idle,
    Copying,
    Cancelling,
    Done,
}

/// Which end of what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EndKind {
    StreamRead,
    StreamWrite,
    FutureRead,
    FutureWrite,
}

impl EndKind {
    fn is_stream(self) -> bool {
        matches!(self, EndKind::StreamRead | EndKind::StreamWrite)
    }

    fn event_code(self) -> u32 {
        match self {
            EndKind::StreamRead => EVENT_STREAM_READ,
            EndKind::StreamWrite => EVENT_STREAM_WRITE,
            EndKind::FutureRead => EVENT_FUTURE_READ,
            EndKind::FutureWrite => EVENT_FUTURE_WRITE,
        }
    }

    fn what(self) -> &'static str {
        match self {
            EndKind::StreamRead => "the readable end of a stream",
            EndKind::StreamWrite => "the writable end of a stream",
            EndKind::FutureRead => "the readable end of a future",
            EndKind::FutureWrite => "the writable end of a future",
        }
    }
}

/// The guest memory of a copy in progress: `len` elements of `elem_size`
/// bytes at `ptr`, `progress` of them copied.
#[derive(Clone, Copy, Debug)]
struct Buffer {
    memory: Option<Memory>,
    ptr: u32,
    len: u32,
    progress: u32,
    elem_size: u32,
}

impl Buffer {
    fn remain(&self) -> u32 {
        self.len - self.progress
    }
}

/// One end of a stream or a future.
#[derive(Debug)]
struct End {
    kind: EndKind,
    /// The stream or future both ends share (an index into
    /// [`ConcurrentState::shared`]).
    shared: u32,
    state: CopyState,
    /// Its handle in its component instance's table (events name it).
    handle: u32,
    /// The copy in progress.
    buffer: Option<Buffer>,
    /// The event waiting to be delivered: how the copy ended, and whether
    /// delivering it takes the buffer back from the shared state.
    pending: Option<(CopyResult, bool)>,
    /// The waitable set it is in (an object index).
    wset: Option<u32>,
}

/// What a stream or future's two ends share.
#[derive(Debug)]
struct Shared {
    /// The `stream<T>`/`future<T>` type (in the component's types: both
    /// ends stay in one instance's table in this layer).
    ty: TypeIndex,
    /// Whether `T` is absent or a number (the only element types one
    /// component instance may both read and write).
    number: bool,
    dropped: bool,
    /// The end whose copy waits for the other end (an object index).
    pending: Option<u32>,
    /// How many of its ends are still in a table.
    ends: u8,
}

/// A waitable set.
#[derive(Debug, Default)]
struct WaitableSet {
    /// Its waitables (object indices), in the order they joined.
    elems: Vec<u32>,
}

#[derive(Debug)]
enum Object {
    Set(WaitableSet),
    End(End),
    ErrorContext(String),
}

impl Object {
    fn what(&self) -> &'static str {
        match self {
            Object::Set(_) => "a waitable set",
            Object::End(e) => e.kind.what(),
            Object::ErrorContext(_) => "an error context",
        }
    }
}

/// A call into a lifted function in progress.
#[derive(Debug)]
pub(crate) struct Task {
    data: u32,
    inst: ComponentInstanceId,
    ty: FuncTypeIndex,
    /// The function type is `async` (the task may block).
    func_async: bool,
    /// Lifted with `async` (it returns through `task.return`).
    lift_async: bool,
    /// The lift's memory and string encoding (`task.return`'s options must
    /// be the same).
    memory: Option<Memory>,
    encoding: StringEncoding,
    /// Entered through an `async`-lowered call: its caller could go on
    /// while it waits.
    async_caller: bool,
    /// The implicit thread's context slots.
    context: [u64; 2],
    /// The result `task.return` gave; set once the task resolved.
    result: Option<Vec<Val>>,
    /// The implicit thread's index in the instance's thread table.
    thread: u32,
}

/// The store's async ABI state.
#[derive(Default)]
pub(crate) struct ConcurrentState {
    objects: Vec<Option<Object>>,
    free_objects: Vec<u32>,
    shared: Vec<Option<Shared>>,
    free_shared: Vec<u32>,
    /// The tasks in progress, innermost last.
    tasks: Vec<Task>,
    /// Each component instance's backpressure counter (absent: 0).
    backpressure: HashMap<(u32, ComponentInstanceId), u32>,
    /// Set by an `async`-lowered call while its callee is entered.
    next_async_caller: bool,
}

impl ConcurrentState {
    fn add_object(&mut self, o: Object) -> u32 {
        match self.free_objects.pop() {
            Some(i) => {
                self.objects[i as usize] = Some(o);
                i
            }
            None => {
                self.objects.push(Some(o));
                self.objects.len() as u32 - 1
            }
        }
    }

    fn remove_object(&mut self, i: u32) -> Option<Object> {
        let o = self.objects.get_mut(i as usize)?.take();
        if o.is_some() {
            self.free_objects.push(i);
        }
        o
    }

    fn object(&mut self, i: u32) -> Result<&mut Object> {
        match self.objects.get_mut(i as usize) {
            Some(Some(o)) => Ok(o),
            _ => Err(nyash_aot::bug_error!("async object {i} is gone").into()),
        }
    }

    fn end(&mut self, i: u32) -> Result<&mut End> {
        match self.object(i)? {
            Object::End(e) => Ok(e),
            _ => Err(nyash_aot::bug_error!("async object {i} is not an end").into()),
        }
    }

    fn shared(&mut self, i: u32) -> Result<&mut Shared> {
        match self.shared.get_mut(i as usize) {
            Some(Some(s)) => Ok(s),
            _ => Err(nyash_aot::bug_error!("stream or future {i} is gone").into()),
        }
    }

    /// Opens the task of a call into `f` (whose function type is `async` if
    /// `func_async`).
    pub(crate) fn push_task(&mut self, f: &LiftedFunc, func_async: bool) {
        let thread = 1 + self
            .tasks
            .iter()
            .filter(|t| t.data == f.data && t.inst == f.instance)
            .count() as u32;
        let async_caller = std::mem::take(&mut self.next_async_caller);
        self.tasks.push(Task {
            data: f.data,
            inst: f.instance,
            ty: f.ty,
            func_async,
            lift_async: f.options.async_,
            memory: f.options.memory,
            encoding: f.options.encoding,
            async_caller,
            context: [0; 2],
            result: None,
            thread,
        });
    }

    /// Closes the innermost task.
    pub(crate) fn pop_task(&mut self) {
        self.tasks.pop();
    }

    /// Marks the next task entered as entered through an `async`-lowered
    /// call (`on`), or not.
    pub(crate) fn set_async_caller(&mut self, on: bool) {
        self.next_async_caller = on;
    }

    /// Traps unless an `async`-typed call may enter `inst` now: with
    /// backpressure on, it would wait for the instance to turn it off.
    pub(crate) fn check_backpressure(
        &self,
        data: u32,
        inst: ComponentInstanceId,
        func_async: bool,
    ) -> Result<()> {
        if func_async && self.backpressure.get(&(data, inst)).is_some_and(|&n| n > 0) {
            return Err(self.blocked("entering a component instance with backpressure on"));
        }
        Ok(())
    }

    /// The innermost task, if it runs in `inst`.
    fn task(&mut self, data: u32, inst: ComponentInstanceId, name: &str) -> Result<&mut Task> {
        match self.tasks.last_mut() {
            Some(t) if t.data == data && t.inst == inst => Ok(t),
            _ => Err(Error::msg(format!(
                "`{name}` called outside a call into its component instance: there is no current task"
            ))),
        }
    }

    /// What happens when the innermost task would block on `what`: a trap
    /// in a task that may not block or that nothing else could wake, an
    /// error naming what is missing where another task could.
    fn blocked(&self, what: &str) -> Error {
        match self.tasks.last() {
            Some(t) if !t.func_async && t.result.is_none() => atrap(
                ComponentTrap::CannotBlockSyncTask,
                format!("{what} would block"),
            ),
            None => atrap(
                ComponentTrap::CannotBlockSyncTask,
                format!("{what} would block outside any task"),
            ),
            Some(_) if self.tasks.iter().any(|t| t.async_caller) => Error::msg(format!(
                "{what} would block while an async caller could go on: switching between tasks is not supported yet (the async ABI's event loop)"
            )),
            Some(_) => atrap(
                ComponentTrap::AsyncDeadlock,
                format!("{what} would block and no other task can run"),
            ),
        }
    }

    /// Traps unless the innermost task may block (its function type is
    /// `async`, or it has returned): what every potentially blocking
    /// operation checks first, whether or not it would block this time.
    pub(crate) fn check_may_block(&self, what: &str) -> Result<()> {
        match self.tasks.last() {
            Some(t) if t.func_async || t.result.is_some() => Ok(()),
            Some(_) => Err(atrap(ComponentTrap::CannotBlockSyncTask, what)),
            None => Err(atrap(
                ComponentTrap::CannotBlockSyncTask,
                format!("{what} outside any task"),
            )),
        }
    }

    /// Fails if a yield of the innermost task should let another task run:
    /// an `async` task with an `async`-lowered caller up the stack, which
    /// would go on while it yields.
    fn check_yield(&self, what: &str) -> Result<()> {
        match self.tasks.last() {
            Some(t) if t.func_async && self.tasks.iter().any(|t| t.async_caller) => {
                Err(Error::msg(format!(
                    "{what} would let an async caller go on: switching between tasks is not supported yet (the async ABI's event loop)"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Whether waitable `i` has an event to deliver.
    fn has_event(&mut self, i: u32) -> bool {
        matches!(self.objects.get(i as usize), Some(Some(Object::End(e))) if e.pending.is_some())
    }

    fn set_event(&mut self, end: u32, result: CopyResult, reclaim: bool) -> Result<()> {
        self.end(end)?.pending = Some((result, reclaim));
        Ok(())
    }

    /// Delivers the event of end `i` (`get_pending_event`): its state is
    /// updated, and the event is returned as (code, handle, payload).
    fn deliver(&mut self, i: u32) -> Result<(u32, u32, u32)> {
        let e = self.end(i)?;
        let Some((result, reclaim)) = e.pending.take() else {
            return Err(nyash_aot::bug_error!("no event to deliver").into());
        };
        let progress = e.buffer.take().map_or(0, |b| b.progress);
        let (kind, handle, shared) = (e.kind, e.handle, e.shared);
        let payload = if kind.is_stream() {
            e.state = if result == CopyResult::Dropped {
                CopyState::Done
            } else {
                CopyState::Idle
            };
            (result as u32) | (progress << 4)
        } else {
            e.state = if matches!(result, CopyResult::Dropped | CopyResult::Completed) {
                CopyState::Done
            } else {
                CopyState::Idle
            };
            result as u32
        };
        if reclaim {
            let s = self.shared(shared)?;
            if s.pending == Some(i) {
                s.pending = None;
            }
        }
        Ok((kind.event_code(), handle, payload))
    }

    /// The first waitable of set `set` with an event, if any.
    fn ready_in(&mut self, set: u32) -> Result<Option<u32>> {
        let Object::Set(s) = self.object(set)? else {
            return Err(nyash_aot::bug_error!("async object {set} is not a set").into());
        };
        let elems = s.elems.clone();
        Ok(elems.into_iter().find(|&w| self.has_event(w)))
    }

    /// Moves waitable `w` into set `set` (`None`: out of any).
    fn join(&mut self, w: u32, set: Option<u32>) -> Result<()> {
        let old = self.end(w)?.wset;
        if let Some(old) = old
            && let Object::Set(s) = self.object(old)?
        {
            s.elems.retain(|&x| x != w);
        }
        self.end(w)?.wset = set;
        if let Some(set) = set
            && let Object::Set(s) = self.object(set)?
        {
            s.elems.push(w);
        }
        Ok(())
    }
}

/// `e.shared.t != t`: whether two `stream`/`future` types of one
/// component have the same payload type.
fn same_payload(types: &ComponentTypes, a: TypeIndex, b: TypeIndex) -> bool {
    let payload = |t: TypeIndex| match types.defined(t) {
        DefinedType::Stream(p) | DefinedType::Future(p) => Some(*p),
        _ => None,
    };
    match (payload(a), payload(b)) {
        (Some(Some(x)), Some(Some(y))) => same_type(types, x, y, 0),
        (Some(None), Some(None)) => true,
        _ => false,
    }
}

/// Structural equality of two interface types of one component.
fn same_type(types: &ComponentTypes, a: InterfaceType, b: InterfaceType, depth: u32) -> bool {
    if a == b {
        return true;
    }
    if depth > 100 {
        return false;
    }
    let d = depth + 1;
    let resolve = |t: InterfaceType| {
        let mut t = t;
        for _ in 0..100 {
            match t {
                InterfaceType::Defined(i) => match types.defined(i) {
                    DefinedType::Primitive(p) => t = *p,
                    _ => break,
                },
                _ => break,
            }
        }
        t
    };
    let (a, b) = (resolve(a), resolve(b));
    let (InterfaceType::Defined(x), InterfaceType::Defined(y)) = (a, b) else {
        return a == b;
    };
    let same = |x: &InterfaceType, y: &InterfaceType| same_type(types, *x, *y, d);
    let same_opt = |x: &Option<InterfaceType>, y: &Option<InterfaceType>| match (x, y) {
        (Some(x), Some(y)) => same(x, y),
        (None, None) => true,
        _ => false,
    };
    use DefinedType as D;
    match (types.defined(x), types.defined(y)) {
        (D::Record(f), D::Record(g)) => {
            f.len() == g.len() && f.iter().zip(g).all(|(a, b)| a.0 == b.0 && same(&a.1, &b.1))
        }
        (D::Variant(f), D::Variant(g)) => {
            f.len() == g.len()
                && f.iter()
                    .zip(g)
                    .all(|(a, b)| a.0 == b.0 && same_opt(&a.1, &b.1))
        }
        (D::List(a), D::List(b)) | (D::Option(a), D::Option(b)) => same(a, b),
        (
            D::FixedLengthList { element, len },
            D::FixedLengthList {
                element: e2,
                len: l2,
            },
        ) => len == l2 && same(element, e2),
        (D::Map { key, value }, D::Map { key: k2, value: v2 }) => same(key, k2) && same(value, v2),
        (D::Tuple(a), D::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (D::Flags(a), D::Flags(b)) | (D::Enum(a), D::Enum(b)) => a == b,
        (D::Result { ok, err }, D::Result { ok: o2, err: e2 }) => {
            same_opt(ok, o2) && same_opt(err, e2)
        }
        (D::Own(a), D::Own(b)) | (D::Borrow(a), D::Borrow(b)) => a == b,
        (D::Stream(a), D::Stream(b)) | (D::Future(a), D::Future(b)) => same_opt(a, b),
        _ => false,
    }
}

/// Whether `t` is absent or a number type (`none_or_number_type`).
fn none_or_number(types: &ComponentTypes, t: Option<InterfaceType>) -> bool {
    let Some(mut t) = t else {
        return true;
    };
    for _ in 0..100 {
        match t {
            InterfaceType::Defined(i) => match types.defined(i) {
                DefinedType::Primitive(p) => t = *p,
                _ => return false,
            },
            _ => break,
        }
    }
    use InterfaceType as I;
    matches!(
        t,
        I::U8 | I::U16 | I::U32 | I::U64 | I::S8 | I::S16 | I::S32 | I::S64 | I::F32 | I::F64
    )
}

/// The payload type of a `stream`/`future` type.
fn payload_of(types: &ComponentTypes, t: TypeIndex) -> Option<InterfaceType> {
    match types.defined(t) {
        DefinedType::Stream(p) | DefinedType::Future(p) => *p,
        _ => None,
    }
}

/// The core signature of a built-in.
fn signature(types: &ComponentTypes, b: &AsyncBuiltin) -> (Vec<CoreTy>, Vec<CoreTy>) {
    use AsyncBuiltin as B;
    use CoreTy::{I32, I64};
    match b {
        B::TaskReturn { result } => {
            let ft = FuncType {
                params: result.iter().map(|t| (String::new(), *t)).collect(),
                result: None,
                async_: false,
            };
            let abi = Abi {
                types,
                encoding: StringEncoding::Utf8,
            };
            (abi.flat_params(&ft, super::abi::Context::Lift), Vec::new())
        }
        B::TaskCancel | B::BackpressureInc | B::BackpressureDec => (vec![], vec![]),
        B::ContextGet { i64, .. } => (vec![], vec![if *i64 { I64 } else { I32 }]),
        B::ContextSet { i64, .. } => (vec![if *i64 { I64 } else { I32 }], vec![]),
        B::ThreadYield | B::ThreadIndex | B::ThreadSuspend | B::WaitableSetNew => {
            (vec![], vec![I32])
        }
        B::ThreadNewIndirect => (vec![I32, I32], vec![I32]),
        B::ThreadResumeLater
        | B::WaitableSetDrop
        | B::SubtaskDrop
        | B::StreamDropReadable(_)
        | B::StreamDropWritable(_)
        | B::FutureDropReadable(_)
        | B::FutureDropWritable(_)
        | B::ErrorContextDrop => (vec![I32], vec![]),
        B::ThreadSuspendThenResume
        | B::ThreadYieldThenResume
        | B::ThreadSuspendThenPromote
        | B::ThreadYieldThenPromote
        | B::SubtaskCancel { .. }
        | B::StreamCancelRead { .. }
        | B::StreamCancelWrite { .. }
        | B::FutureCancelRead { .. }
        | B::FutureCancelWrite { .. } => (vec![I32], vec![I32]),
        B::WaitableSetWait | B::WaitableSetPoll | B::ErrorContextNew => (vec![I32, I32], vec![I32]),
        B::WaitableJoin | B::ErrorContextDebugMessage => (vec![I32, I32], vec![]),
        B::StreamNew(_) | B::FutureNew(_) => (vec![], vec![I64]),
        B::StreamRead(_) | B::StreamWrite(_) => (vec![I32, I32, I32], vec![I32]),
        B::FutureRead(_) | B::FutureWrite(_) => (vec![I32, I32], vec![I32]),
    }
}

/// The core function of the async built-in `b` of root instance `data`,
/// with its options and table resolved.
pub(crate) fn builtin<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    b: &InlinedBuiltin,
    options: ResolvedOptions,
    _table: Option<crate::Table>,
) -> Result<CoreFunc> {
    let component = store.opaque.components().data(data).component.clone();
    let (params, results) = signature(&component.inner.types, &b.builtin);
    let ty = super::call::core_func_type(&params, &results);
    let builtin = b.builtin.clone();
    let inst = b.instance;
    CoreFunc::new(
        StoreContextMut(store),
        ty,
        move |caller: Caller<'_, T>, params: &[CoreVal], results: &mut [CoreVal]| {
            let cx = Cx {
                data,
                inst,
                options,
                component: &component,
            };
            run(caller.store, &cx, &builtin, params, results)
        },
    )
}

/// Where a built-in runs.
struct Cx<'a> {
    data: u32,
    inst: ComponentInstanceId,
    options: ResolvedOptions,
    component: &'a Component,
}

impl Cx<'_> {
    fn types(&self) -> &ComponentTypes {
        &self.component.inner.types
    }

    /// The async object of handle `h`, or a trap naming what it is instead.
    fn object(&self, cs: &mut ComponentStore, h: u32, expected: &str) -> Result<u32> {
        match cs.table(self.data, self.inst).get(h)? {
            Slot::Async(o) => Ok(o),
            _ => Err(wrong_type(h, expected, "a resource")),
        }
    }

    /// The end of kind `kind` with handle `h`, checked to be of the type
    /// `ty` names.
    fn end(&self, cs: &mut ComponentStore, h: u32, kind: EndKind, ty: TypeIndex) -> Result<u32> {
        let o = self.object(cs, h, kind.what())?;
        let st = &mut cs.concurrent;
        let (ekind, shared) = match st.object(o)? {
            Object::End(e) => (e.kind, e.shared),
            other => return Err(wrong_type(h, kind.what(), other.what())),
        };
        if ekind != kind {
            return Err(wrong_type(h, kind.what(), ekind.what()));
        }
        let sty = st.shared(shared)?.ty;
        if !same_payload(self.types(), sty, ty) {
            return Err(wrong_type(
                h,
                &format!("{} of this type", kind.what()),
                "one of another payload type",
            ));
        }
        Ok(o)
    }
}

/// A trap of `kind`: its wording (what the reference tests match), then
/// what and where.
fn atrap(kind: ComponentTrap, detail: impl Into<String>) -> Error {
    let detail = detail.into();
    if detail.is_empty() {
        trap(kind, kind.message())
    } else {
        trap(kind, format!("{}: {detail}", kind.message()))
    }
}

fn wrong_type(h: u32, expected: &str, found: &str) -> Error {
    trap(
        ComponentTrap::WrongHandleType,
        format!("handle index {h} used with the wrong type, expected {expected} but found {found}"),
    )
}

fn arg(params: &[CoreVal], i: usize) -> Result<u32> {
    match params.get(i) {
        Some(CoreVal::I32(x)) => Ok(*x as u32),
        other => Err(nyash_aot::bug_error!("built-in argument {i} is {other:?}").into()),
    }
}

fn to_flat(v: &CoreVal) -> Result<Flat> {
    Ok(match v {
        CoreVal::I32(x) => Flat::I32(*x),
        CoreVal::I64(x) => Flat::I64(*x),
        CoreVal::F32(x) => Flat::F32(*x),
        CoreVal::F64(x) => Flat::F64(*x),
        other => {
            return Err(nyash_aot::bug_error!("core value {other:?} in a flat signature").into());
        }
    })
}

/// Runs built-in `b`.
fn run<T: 'static>(
    store: &mut StoreInner<T>,
    cx: &Cx<'_>,
    b: &AsyncBuiltin,
    params: &[CoreVal],
    results: &mut [CoreVal],
) -> Result<()> {
    use AsyncBuiltin as B;
    let (data, inst) = (cx.data, cx.inst);
    let cs = store.opaque.components();
    // Every built-in but `context.*` and `backpressure.*` first checks that
    // the instance may leave (not in its `realloc` or `post-return`).
    if !matches!(
        b,
        B::ContextGet { .. } | B::ContextSet { .. } | B::BackpressureInc | B::BackpressureDec
    ) {
        cs.check_may_leave(data, inst)?;
    }
    let may_block = match b {
        B::ThreadSuspend | B::ThreadSuspendThenPromote | B::WaitableSetWait => true,
        B::SubtaskCancel { async_ }
        | B::StreamCancelRead { async_, .. }
        | B::StreamCancelWrite { async_, .. }
        | B::FutureCancelRead { async_, .. }
        | B::FutureCancelWrite { async_, .. } => !async_,
        B::StreamRead(_) | B::StreamWrite(_) | B::FutureRead(_) | B::FutureWrite(_) => {
            !cx.options.async_
        }
        _ => false,
    };
    if may_block {
        cs.concurrent.check_may_block(&format!("`{}`", b.name()))?;
    }
    let ret = |results: &mut [CoreVal], v: u32| {
        if let Some(r) = results.first_mut() {
            *r = CoreVal::I32(v as i32);
        }
    };
    match b {
        B::ContextGet { i64, slot } => {
            let t = cs.concurrent.task(data, inst, b.name())?;
            let v = *t.context.get(*slot as usize).ok_or_else(|| {
                Error::from(nyash_aot::bug_error!("validated context slot {slot}"))
            })?;
            results[0] = if *i64 {
                CoreVal::I64(v as i64)
            } else {
                CoreVal::I32(v as u32 as i32)
            };
        }
        B::ContextSet { slot, .. } => {
            let v = match params.first() {
                Some(CoreVal::I32(x)) => u64::from(*x as u32),
                Some(CoreVal::I64(x)) => *x as u64,
                other => {
                    return Err(nyash_aot::bug_error!("context.set of {other:?}").into());
                }
            };
            let t = cs.concurrent.task(data, inst, b.name())?;
            let s = t.context.get_mut(*slot as usize).ok_or_else(|| {
                Error::from(nyash_aot::bug_error!("validated context slot {slot}"))
            })?;
            *s = v;
        }
        B::BackpressureInc => {
            let n = cs.concurrent.backpressure.entry((data, inst)).or_default();
            if *n + 1 >= 1 << 16 {
                return Err(atrap(ComponentTrap::BackpressureOverflow, "at 2^16"));
            }
            *n += 1;
        }
        B::BackpressureDec => {
            let n = cs.concurrent.backpressure.entry((data, inst)).or_default();
            if *n == 0 {
                return Err(atrap(ComponentTrap::BackpressureUnderflow, "below 0"));
            }
            *n -= 1;
        }
        B::TaskReturn { result } => return task_return(store, cx, *result, params),
        B::TaskCancel => {
            let t = cs.concurrent.task(data, inst, b.name())?;
            if !t.lift_async {
                return Err(atrap(
                    ComponentTrap::TaskReturnInvalid,
                    "`task.cancel` in a task that was not lifted `async`",
                ));
            }
            if t.result.is_some() {
                return Err(atrap(ComponentTrap::TaskReturnTwice, "`task.cancel`"));
            }
            // Nothing cancels a task in this layer (no caller can go on to
            // ask for it).
            return Err(atrap(ComponentTrap::TaskCancelNotCancelled, ""));
        }
        B::ThreadYield => {
            // With no caller that could go on, no other thread is ready to
            // run and nothing cancels the task: "not cancelled" at once.
            cs.concurrent.check_yield("`thread.yield`")?;
            ret(results, 0);
        }
        B::ThreadIndex => {
            let t = cs.concurrent.task(data, inst, b.name())?;
            let i = t.thread;
            ret(results, i);
        }
        B::ThreadNewIndirect => {
            return Err(Error::msg(
                "`thread.new-indirect` is not supported yet: a new thread needs a stack of its own (the async ABI's threads)",
            ));
        }
        B::ThreadSuspend => return Err(cs.concurrent.blocked("`thread.suspend`")),
        B::ThreadResumeLater | B::ThreadSuspendThenResume | B::ThreadYieldThenResume => {
            // Every thread is the implicit thread of a task on the stack,
            // running or in a call: none is suspended.
            let i = arg(params, 0)?;
            thread_exists(cs, data, inst, i)?;
            return Err(atrap(
                ComponentTrap::CannotResumeThread,
                format!("thread {i} is running"),
            ));
        }
        B::ThreadSuspendThenPromote => {
            let i = arg(params, 0)?;
            thread_exists(cs, data, inst, i)?;
            return Err(cs.concurrent.blocked("`thread.suspend-then-promote`"));
        }
        B::ThreadYieldThenPromote => {
            let i = arg(params, 0)?;
            thread_exists(cs, data, inst, i)?;
            cs.concurrent.check_yield("`thread.yield-then-promote`")?;
            ret(results, 0);
        }
        B::WaitableSetNew => {
            let o = cs
                .concurrent
                .add_object(Object::Set(WaitableSet::default()));
            let h = cs.table(data, inst).add(Slot::Async(o))?;
            ret(results, h);
        }
        B::WaitableSetWait | B::WaitableSetPoll => {
            let (si, ptr) = (arg(params, 0)?, arg(params, 1)?);
            let set = cx.object(cs, si, "a waitable set")?;
            if let Object::End(_) | Object::ErrorContext(_) = cs.concurrent.object(set)? {
                let what = cs.concurrent.object(set)?.what();
                return Err(wrong_type(si, "a waitable set", what));
            }
            let event = match cs.concurrent.ready_in(set)? {
                Some(w) => cs.concurrent.deliver(w)?,
                None if matches!(b, B::WaitableSetPoll) => (EVENT_NONE, 0, 0),
                None => return Err(cs.concurrent.blocked("`waitable-set.wait`")),
            };
            write_event(store, cx, ptr, event)?;
            ret(results, event.0);
        }
        B::WaitableSetDrop => {
            let si = arg(params, 0)?;
            let set = cx.object(cs, si, "a waitable set")?;
            let elems = match cs.concurrent.object(set)? {
                Object::Set(s) => s.elems.len(),
                other => return Err(wrong_type(si, "a waitable set", other.what())),
            };
            cs.table(data, inst).remove(si)?;
            cs.concurrent.remove_object(set);
            if elems > 0 {
                return Err(atrap(
                    ComponentTrap::WaitableSetHasWaiters,
                    // wasmtime's wording for this case, too.
                    format!("resource has children: {elems} waitables are in it"),
                ));
            }
        }
        B::WaitableJoin => {
            let (wi, si) = (arg(params, 0)?, arg(params, 1)?);
            let w = cx.object(cs, wi, "a waitable")?;
            if let Object::Set(_) | Object::ErrorContext(_) = cs.concurrent.object(w)? {
                let what = cs.concurrent.object(w)?.what();
                return Err(wrong_type(wi, "a waitable", what));
            }
            let set = if si == 0 {
                None
            } else {
                let set = cx.object(cs, si, "a waitable set")?;
                if let Object::End(_) | Object::ErrorContext(_) = cs.concurrent.object(set)? {
                    let what = cs.concurrent.object(set)?.what();
                    return Err(wrong_type(si, "a waitable set", what));
                }
                Some(set)
            };
            cs.concurrent.join(w, set)?;
        }
        B::SubtaskCancel { .. } | B::SubtaskDrop => {
            // A subtask is made only by an `async`-lowered call that has not
            // returned, which this layer never leaves behind.
            let i = arg(params, 0)?;
            let o = cx.object(cs, i, "a subtask")?;
            let what = cs.concurrent.object(o)?.what();
            return Err(wrong_type(i, "a subtask", what));
        }
        B::StreamNew(ty) | B::FutureNew(ty) => {
            let stream = matches!(b, B::StreamNew(_));
            let number = none_or_number(cx.types(), payload_of(cx.types(), *ty));
            let st = &mut cs.concurrent;
            let shared = Shared {
                ty: *ty,
                number,
                dropped: false,
                pending: None,
                ends: 2,
            };
            let s = match st.free_shared.pop() {
                Some(i) => {
                    st.shared[i as usize] = Some(shared);
                    i
                }
                None => {
                    st.shared.push(Some(shared));
                    st.shared.len() as u32 - 1
                }
            };
            let (rk, wk) = if stream {
                (EndKind::StreamRead, EndKind::StreamWrite)
            } else {
                (EndKind::FutureRead, EndKind::FutureWrite)
            };
            let mut handles = [0u32; 2];
            for (slot, kind) in handles.iter_mut().zip([rk, wk]) {
                let o = cs.concurrent.add_object(Object::End(End {
                    kind,
                    shared: s,
                    state: CopyState::Idle,
                    handle: 0,
                    buffer: None,
                    pending: None,
                    wset: None,
                }));
                let h = cs.table(data, inst).add(Slot::Async(o))?;
                cs.concurrent.end(o)?.handle = h;
                *slot = h;
            }
            results[0] =
                CoreVal::I64((u64::from(handles[0]) | (u64::from(handles[1]) << 32)) as i64);
        }
        B::StreamRead(ty) | B::StreamWrite(ty) | B::FutureRead(ty) | B::FutureWrite(ty) => {
            let kind = match b {
                B::StreamRead(_) => EndKind::StreamRead,
                B::StreamWrite(_) => EndKind::StreamWrite,
                B::FutureRead(_) => EndKind::FutureRead,
                _ => EndKind::FutureWrite,
            };
            let i = arg(params, 0)?;
            let ptr = arg(params, 1)?;
            let n = if kind.is_stream() { arg(params, 2)? } else { 1 };
            let r = copy(store, cx, kind, *ty, i, ptr, n)?;
            ret(results, r);
        }
        B::StreamCancelRead { ty, async_ }
        | B::StreamCancelWrite { ty, async_ }
        | B::FutureCancelRead { ty, async_ }
        | B::FutureCancelWrite { ty, async_ } => {
            let kind = match b {
                B::StreamCancelRead { .. } => EndKind::StreamRead,
                B::StreamCancelWrite { .. } => EndKind::StreamWrite,
                B::FutureCancelRead { .. } => EndKind::FutureRead,
                _ => EndKind::FutureWrite,
            };
            let i = arg(params, 0)?;
            let e = cx.end(cs, i, kind, *ty)?;
            let st = &mut cs.concurrent;
            let end = st.end(e)?;
            if end.state != CopyState::Copying {
                return Err(atrap(
                    ComponentTrap::CopyInProgress,
                    format!("cancel of handle {i}, which has no copy in progress"),
                ));
            }
            if end.wset.is_some() && !async_ {
                return Err(atrap(
                    ComponentTrap::WaitableInSet,
                    format!("synchronous cancel of handle {i}"),
                ));
            }
            end.state = CopyState::Cancelling;
            // A stream copy the other end took part of (its event is
            // pending, the buffer not yet reclaimed) ends as cancelled with
            // what was copied: `CANCELLED | n << 4`. `definitions.py` would
            // deliver the pending `COMPLETED` instead; the reference tests
            // (`big-interleaving-test.wast`, run against wasmtime) expect
            // this.
            if kind.is_stream() && end.pending == Some((CopyResult::Completed, true)) {
                end.pending = Some((CopyResult::Cancelled, true));
            }
            if end.pending.is_none() {
                // The copy waits for the other end: it is the shared
                // state's pending one, and cancelling it ends it.
                let shared = end.shared;
                let s = st.shared(shared)?;
                if let Some(p) = s.pending.take() {
                    st.set_event(p, CopyResult::Cancelled, false)?;
                }
            }
            if !st.has_event(e) {
                if !async_ {
                    return Err(st.blocked("a synchronous cancel"));
                }
                ret(results, BLOCKED);
                return Ok(());
            }
            let (_, _, payload) = st.deliver(e)?;
            ret(results, payload);
        }
        B::StreamDropReadable(ty)
        | B::StreamDropWritable(ty)
        | B::FutureDropReadable(ty)
        | B::FutureDropWritable(ty) => {
            let kind = match b {
                B::StreamDropReadable(_) => EndKind::StreamRead,
                B::StreamDropWritable(_) => EndKind::StreamWrite,
                B::FutureDropReadable(_) => EndKind::FutureRead,
                _ => EndKind::FutureWrite,
            };
            let i = arg(params, 0)?;
            let e = cx.end(cs, i, kind, *ty)?;
            cs.table(data, inst).remove(i)?;
            drop_end(&mut cs.concurrent, e, kind, i)?;
        }
        B::ErrorContextNew => {
            let (ptr, units) = (arg(params, 0)?, arg(params, 1)?);
            let message = super::call::with_abi(store, data, inst, cx.options, |abi, h| {
                let mut budget = abi.lift_budget(h)?;
                abi.load_string_from_range(h, &mut budget, ptr, units)
            })?;
            let cs = store.opaque.components();
            let o = cs.concurrent.add_object(Object::ErrorContext(message));
            let h = cs.table(data, inst).add(Slot::Async(o))?;
            ret(results, h);
        }
        B::ErrorContextDebugMessage => {
            let (i, ptr) = (arg(params, 0)?, arg(params, 1)?);
            let o = cx.object(cs, i, "an error context")?;
            let message = match cs.concurrent.object(o)? {
                Object::ErrorContext(m) => m.clone(),
                other => return Err(wrong_type(i, "an error context", other.what())),
            };
            super::call::with_abi(store, data, inst, cx.options, |abi, h| {
                let (p, n) = abi.store_string_into_range(h, &message)?;
                let l = super::abi::Layout { size: 8, align: 4 };
                abi.check_ptr(h, ptr, l, "the debug message's string")?;
                let mut bytes = [0u8; 8];
                bytes[..4].copy_from_slice(&p.to_le_bytes());
                bytes[4..].copy_from_slice(&n.to_le_bytes());
                abi.write(h, ptr.into(), &bytes)
            })?;
        }
        B::ErrorContextDrop => {
            let i = arg(params, 0)?;
            let o = cx.object(cs, i, "an error context")?;
            if let Object::Set(_) | Object::End(_) = cs.concurrent.object(o)? {
                let what = cs.concurrent.object(o)?.what();
                return Err(wrong_type(i, "an error context", what));
            }
            cs.table(data, inst).remove(i)?;
            cs.concurrent.remove_object(o);
        }
    }
    Ok(())
}

/// Traps unless `i` is a thread index of `inst` (the implicit thread of one
/// of its tasks in progress).
fn thread_exists(
    cs: &mut ComponentStore,
    data: u32,
    inst: ComponentInstanceId,
    i: u32,
) -> Result<()> {
    let n = cs
        .concurrent
        .tasks
        .iter()
        .filter(|t| t.data == data && t.inst == inst)
        .count() as u32;
    if i == 0 || i > n {
        return Err(trap(
            ComponentTrap::UnknownHandle,
            format!("unknown handle index {i} (a thread index)"),
        ));
    }
    Ok(())
}

/// Writes an event's two payload words at `ptr` of the built-in's memory.
fn write_event<T: 'static>(
    store: &mut StoreInner<T>,
    cx: &Cx<'_>,
    ptr: u32,
    (_, p1, p2): (u32, u32, u32),
) -> Result<()> {
    super::call::with_abi(store, cx.data, cx.inst, cx.options, |abi, h| {
        let l = super::abi::Layout { size: 8, align: 4 };
        abi.check_ptr(h, ptr, l, "the event's payload")?;
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&p1.to_le_bytes());
        bytes[4..].copy_from_slice(&p2.to_le_bytes());
        abi.write(h, ptr.into(), &bytes)
    })
}

/// `task.return`: checks the task and its result type and options, lifts
/// the result and resolves the task.
fn task_return<T: 'static>(
    store: &mut StoreInner<T>,
    cx: &Cx<'_>,
    result: Option<InterfaceType>,
    params: &[CoreVal],
) -> Result<()> {
    let (data, inst) = (cx.data, cx.inst);
    let types = cx.types();
    let cs = store.opaque.components();
    let t = cs.concurrent.task(data, inst, "task.return")?;
    if !t.lift_async {
        return Err(atrap(
            ComponentTrap::TaskReturnInvalid,
            "`task.return` in a task that was not lifted `async`",
        ));
    }
    let expected = types.func(t.ty).result;
    let same = match (expected, result) {
        (Some(a), Some(b)) => same_type(types, a, b, 0),
        (None, None) => true,
        _ => false,
    };
    if !same {
        return Err(atrap(
            ComponentTrap::TaskReturnInvalid,
            "`task.return`'s result type is not the task's",
        ));
    }
    // The options must be the task's: the same string encoding, and the
    // same memory if `task.return` names one (the reference tests accept a
    // `task.return` without a memory in a task lifted with one).
    if t.encoding != cx.options.encoding
        || (cx.options.memory.is_some() && t.memory != cx.options.memory)
    {
        return Err(atrap(
            ComponentTrap::TaskReturnInvalid,
            "`task.return`'s string encoding or memory is not the task's",
        ));
    }
    if t.result.is_some() {
        return Err(atrap(ComponentTrap::TaskReturnTwice, "`task.return`"));
    }
    let ft = FuncType {
        params: result.iter().map(|t| ("result".to_string(), *t)).collect(),
        result: None,
        async_: false,
    };
    let flat = params.iter().map(to_flat).collect::<Result<Vec<_>>>()?;
    debug_assert!(flat.len() <= MAX_FLAT_PARAMS);
    let (vals, _) = super::call::with_abi(store, data, inst, cx.options, |abi, h| {
        abi.lift_args(h, &ft, &flat)
    })?;
    let cs = store.opaque.components();
    let t = cs.concurrent.task(data, inst, "task.return")?;
    t.result = Some(vals);
    Ok(())
}

/// `stream.read/write` and `future.read/write` of `n` elements at `ptr`
/// through the end with handle `i`: the copy completes at once if the
/// other end waits with a buffer (or was dropped), else waits (`BLOCKED`
/// for an `async` copy).
fn copy<T: 'static>(
    store: &mut StoreInner<T>,
    cx: &Cx<'_>,
    kind: EndKind,
    ty: TypeIndex,
    i: u32,
    ptr: u32,
    n: u32,
) -> Result<u32> {
    let (data, inst) = (cx.data, cx.inst);
    let cs = store.opaque.components();
    let e = cx.end(cs, i, kind, ty)?;
    let st = &mut cs.concurrent;
    let end = st.end(e)?;
    match end.state {
        CopyState::Idle => {}
        CopyState::Done => {
            let k = match kind {
                EndKind::StreamRead => ComponentTrap::StreamReadAfterDrop,
                EndKind::StreamWrite => ComponentTrap::StreamWriteAfterDrop,
                EndKind::FutureRead => ComponentTrap::FutureReadAfterRead,
                EndKind::FutureWrite => ComponentTrap::FutureWriteAfterWrite,
            };
            return Err(atrap(k, format!("handle {i}")));
        }
        CopyState::Copying | CopyState::Cancelling => {
            return Err(atrap(
                ComponentTrap::CopyInProgress,
                format!("a copy through handle {i} while one is in progress"),
            ));
        }
    }
    if end.wset.is_some() && !cx.options.async_ {
        return Err(atrap(
            ComponentTrap::WaitableInSet,
            format!("a synchronous copy through handle {i}"),
        ));
    }
    // The buffer (`BufferGuestImpl`): its length and, if there are elements
    // to copy, alignment and bounds are checked now.
    let payload = payload_of(cx.types(), ty);
    let abi = Abi {
        types: cx.types(),
        encoding: cx.options.encoding,
    };
    let (elem_size, align) = match payload {
        Some(t) => abi.size_align(t),
        None => (0, 1),
    };
    if n > MAX_BUFFER_LENGTH {
        return Err(atrap(
            ComponentTrap::ListTooLong,
            format!("a copy of {n} elements"),
        ));
    }
    if payload.is_some() && n > 0 {
        if !ptr.is_multiple_of(align) {
            return Err(atrap(
                ComponentTrap::UnalignedPointer,
                format!("a buffer at {ptr:#x}, not aligned to {align}"),
            ));
        }
        let len = match cx.options.memory {
            Some(m) => m.data(crate::store::StoreContext(&*store)).len() as u64,
            None => 0,
        };
        if u64::from(ptr) + u64::from(n) * u64::from(elem_size) > len {
            return Err(atrap(
                ComponentTrap::PointerOutOfBounds,
                format!("a buffer of {n} elements at {ptr:#x}, past the memory's {len} bytes"),
            ));
        }
    }
    let cs = store.opaque.components();
    let st = &mut cs.concurrent;
    let end = st.end(e)?;
    end.state = CopyState::Copying;
    end.buffer = Some(Buffer {
        memory: cx.options.memory,
        ptr,
        len: n,
        progress: 0,
        elem_size,
    });
    let shared = end.shared;
    let s = st.shared(shared)?;
    let writing = matches!(kind, EndKind::StreamWrite | EndKind::FutureWrite);
    if s.dropped {
        st.set_event(e, CopyResult::Dropped, false)?;
    } else if let Some(other) = s.pending {
        // Both ends of one stream or future are in this instance's table
        // (handles do not cross calls in this layer).
        if !s.number {
            let k = if kind.is_stream() {
                ComponentTrap::IntraComponentStream
            } else {
                ComponentTrap::IntraComponentFuture
            };
            return Err(atrap(k, format!("handle {i}")));
        }
        let other_buf = st
            .end(other)?
            .buffer
            .ok_or_else(|| Error::from(nyash_aot::bug_error!("pending end without a buffer")))?;
        let mine = Buffer {
            memory: cx.options.memory,
            ptr,
            len: n,
            progress: 0,
            elem_size,
        };
        if kind.is_stream() {
            if other_buf.remain() > 0 {
                if mine.remain() > 0 {
                    let k = mine.remain().min(other_buf.remain());
                    let (src, dst) = if writing {
                        (mine, other_buf)
                    } else {
                        (other_buf, mine)
                    };
                    move_elements(store, src, dst, k)?;
                    let st = &mut store.opaque.components().concurrent;
                    if let Some(b) = st.end(e)?.buffer.as_mut() {
                        b.progress += k;
                    }
                    if let Some(b) = st.end(other)?.buffer.as_mut() {
                        b.progress += k;
                    }
                    st.set_event(other, CopyResult::Completed, true)?;
                }
                let st = &mut store.opaque.components().concurrent;
                st.set_event(e, CopyResult::Completed, false)?;
            } else if writing && mine.len == 0 && other_buf.len == 0 {
                st.set_event(e, CopyResult::Completed, false)?;
            } else {
                st.shared(shared)?.pending = None;
                st.set_event(other, CopyResult::Completed, false)?;
                st.shared(shared)?.pending = Some(e);
            }
        } else {
            let (src, dst) = if writing {
                (mine, other_buf)
            } else {
                (other_buf, mine)
            };
            move_elements(store, src, dst, 1)?;
            let st = &mut store.opaque.components().concurrent;
            if let Some(b) = st.end(e)?.buffer.as_mut() {
                b.progress = 1;
            }
            if let Some(b) = st.end(other)?.buffer.as_mut() {
                b.progress = 1;
            }
            st.shared(shared)?.pending = None;
            st.set_event(other, CopyResult::Completed, false)?;
            st.set_event(e, CopyResult::Completed, false)?;
        }
    } else {
        s.pending = Some(e);
    }
    let st = &mut store.opaque.components().concurrent;
    if !st.has_event(e) {
        if !cx.options.async_ {
            return Err(st.blocked(&format!("a synchronous copy through handle {i}")));
        }
        return Ok(BLOCKED);
    }
    let _ = (data, inst);
    Ok(st.deliver(e)?.2)
}

/// Copies `k` elements from `src`'s next ones to `dst`'s (both of numbers
/// or of no type: bytes as they are).
fn move_elements<T: 'static>(
    store: &mut StoreInner<T>,
    src: Buffer,
    dst: Buffer,
    k: u32,
) -> Result<()> {
    let size = u64::from(src.elem_size) * u64::from(k);
    if size == 0 {
        return Ok(());
    }
    let at = |b: &Buffer| u64::from(b.ptr) + u64::from(b.progress) * u64::from(b.elem_size);
    let (Some(sm), Some(dm)) = (src.memory, dst.memory) else {
        return Err(nyash_aot::bug_error!("a stream copy of values without a memory").into());
    };
    let bytes = {
        let mem = sm.data(crate::store::StoreContext(&*store));
        let from = at(&src) as usize;
        mem.get(from..from + size as usize)
            .ok_or_else(|| atrap(ComponentTrap::PointerOutOfBounds, "a stream buffer"))?
            .to_vec()
    };
    let mem = dm.data_mut(StoreContextMut(store));
    let to = at(&dst) as usize;
    mem.get_mut(to..to + size as usize)
        .ok_or_else(|| atrap(ComponentTrap::PointerOutOfBounds, "a stream buffer"))?
        .copy_from_slice(&bytes);
    Ok(())
}

/// Drops end `e` (handle `i`, already out of its table): traps if a copy
/// is in progress or a future's writable end has not written; tells the
/// other end's waiting copy the end dropped.
fn drop_end(st: &mut ConcurrentState, e: u32, kind: EndKind, i: u32) -> Result<()> {
    let end = st.end(e)?;
    if matches!(end.state, CopyState::Copying | CopyState::Cancelling) {
        let k = match kind {
            EndKind::StreamRead => ComponentTrap::RemoveBusyStream,
            EndKind::StreamWrite => ComponentTrap::DropBusyStream,
            EndKind::FutureRead => ComponentTrap::RemoveBusyFuture,
            EndKind::FutureWrite => ComponentTrap::DropBusyFuture,
        };
        return Err(atrap(k, format!("handle {i}")));
    }
    if kind == EndKind::FutureWrite && end.state != CopyState::Done {
        return Err(atrap(
            ComponentTrap::FutureWriteEndNoValue,
            format!("handle {i}"),
        ));
    }
    let shared = end.shared;
    let s = st.shared(shared)?;
    if !s.dropped {
        s.dropped = true;
        if let Some(p) = s.pending.take() {
            st.set_event(p, CopyResult::Dropped, false)?;
        }
    }
    st.join(e, None)?;
    st.remove_object(e);
    let s = st.shared(shared)?;
    s.ends -= 1;
    if s.ends == 0 {
        st.shared[shared as usize] = None;
        st.free_shared.push(shared);
    }
    Ok(())
}

/// After the core function of an `async`-lifted call returned: runs the
/// `callback` loop (EXIT ends it, YIELD calls back at once with no event,
/// WAIT delivers an event of the waitable set named, if it has one), then
/// takes the result `task.return` gave, which the innermost task must have.
pub(crate) fn finish_async_lift<T: 'static>(
    store: &mut StoreInner<T>,
    f: &LiftedFunc,
    core_results: &[CoreVal],
) -> Result<Vec<Val>> {
    if let Some(cb) = f.options.callback {
        let mut packed = match core_results.first() {
            Some(CoreVal::I32(x)) => *x as u32,
            other => {
                return Err(nyash_aot::bug_error!("callback code {other:?}").into());
            }
        };
        loop {
            let (code, si) = (packed & 0xf, packed >> 4);
            let event = match code {
                0 => break,
                1 => {
                    let cs = store.opaque.components();
                    cs.concurrent.check_yield("the callback's YIELD")?;
                    (EVENT_NONE, 0, 0)
                }
                2 => {
                    let cs = store.opaque.components();
                    let set = match cs.table(f.data, f.instance).get(si)? {
                        Slot::Async(o) => o,
                        _ => return Err(wrong_type(si, "a waitable set", "a resource")),
                    };
                    if let Object::End(_) | Object::ErrorContext(_) = cs.concurrent.object(set)? {
                        let what = cs.concurrent.object(set)?.what();
                        return Err(wrong_type(si, "a waitable set", what));
                    }
                    match cs.concurrent.ready_in(set)? {
                        Some(w) => cs.concurrent.deliver(w)?,
                        None => return Err(cs.concurrent.blocked("the callback's WAIT")),
                    }
                }
                _ => {
                    return Err(atrap(
                        ComponentTrap::UnsupportedCallbackCode,
                        format!("code {code}"),
                    ));
                }
            };
            let mut out = [CoreVal::I32(0)];
            let args = [event.0, event.1, event.2].map(|x| CoreVal::I32(x as i32));
            cb.call(StoreContextMut(&mut *store), &args, &mut out)
                .map_err(super::call::throw_to_trap)?;
            packed = match out[0] {
                CoreVal::I32(x) => x as u32,
                _ => return Err(nyash_aot::bug_error!("callback result").into()),
            };
        }
    }
    let cs = store.opaque.components();
    match cs.concurrent.tasks.last_mut().and_then(|t| t.result.take()) {
        Some(v) => Ok(v),
        None => Err(atrap(
            ComponentTrap::NoAsyncResult,
            "it returned without calling `task.return`",
        )),
    }
}
