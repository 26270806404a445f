//! The one error type of the public API. Its kind says what went wrong, with
//! the context a user needs to find it.

use std::fmt;

#[doc(inline)]
pub use nyash_aot::CompileError;

/// Why a WebAssembly execution stopped abnormally. [`TrapCode::message`]
/// (and `Display`) gives the spec's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrapCode {
    /// The native stack ran out (unbounded recursion).
    StackOverflow,
    /// A load, store or bulk memory operation out of bounds.
    MemoryOutOfBounds,
    /// A table access (including `call_indirect`) out of bounds.
    TableOutOfBounds,
    /// `call_indirect` through a null table entry.
    IndirectCallToNull,
    /// `call_indirect` to a function of the wrong type.
    BadSignature,
    /// Signed division overflow or an out-of-range float-to-int conversion.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// Float-to-int conversion of a NaN.
    BadConversionToInteger,
    /// The `unreachable` instruction.
    UnreachableCodeReached,
    /// A null reference where one is not allowed.
    NullReference,
    /// `ref.cast` of a reference not of the target type.
    CastFailure,
    /// An index or range past the end of a GC array.
    ArrayOutOfBounds,
    /// The GC heap has no room for an allocation, even after a full
    /// collection ([`Config::gc_max_heap_bytes`](crate::Config::gc_max_heap_bytes)),
    /// or an array is larger than any heap can hold.
    AllocationFailure,
    /// The epoch deadline passed ([`Config::epoch_interruption`](crate::Config::epoch_interruption)).
    Interrupt,
    /// Fuel ran out ([`Config::consume_fuel`](crate::Config::consume_fuel)).
    OutOfFuel,
    /// A rule of the Component Model's canonical ABI was broken while
    /// values crossed a component boundary (a string out of bounds of
    /// memory, an invalid variant discriminant, ...).
    Component(ComponentTrap),
}

/// Why the canonical ABI trapped: what a core module handed over (or
/// returned from `realloc`) is not a valid value of the interface type.
/// [`ComponentTrap::message`] gives the wording; where the reference
/// tests and other engines use two wordings for one check (the host's
/// path and a compiled adapter's), the message holds both, so the
/// more general one comes first. The error's context says where (which
/// argument or result, the pointer and length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ComponentTrap {
    /// A pointer (a spilled argument or result area, a return pointer, a
    /// string or list) not aligned to its type's alignment.
    UnalignedPointer,
    /// A spilled argument or result area, or a return pointer's area, not
    /// within the memory.
    PointerOutOfBounds,
    /// A string's bytes not within the memory.
    StringOutOfBounds,
    /// A list's elements not within the memory.
    ListOutOfBounds,
    /// A string longer than the canonical ABI allows (2^28 - 1 bytes).
    StringTooLong,
    /// A list longer than the canonical ABI allows (2^28 - 1 bytes).
    ListTooLong,
    /// `realloc` returned a pointer not aligned as asked.
    ReallocUnaligned,
    /// `realloc` returned a pointer whose allocation (of spilled arguments
    /// or results) is not within the memory.
    ReallocOutOfBounds,
    /// `realloc` returned a pointer whose allocation for a list's elements
    /// is not within the memory.
    ReallocListOutOfBounds,
    /// `realloc` returned a pointer whose allocation for a string's bytes
    /// is not within the memory.
    ReallocStringOutOfBounds,
    /// A variant's (enum's, option's, result's) discriminant not below its
    /// number of cases.
    InvalidDiscriminant,
    /// A `char` that is a surrogate or above U+10FFFF.
    InvalidChar,
    /// A UTF-8 string with an invalid byte sequence.
    InvalidUtf8,
    /// A UTF-8 string that ends in the middle of a sequence.
    IncompleteUtf8,
    /// A UTF-16 string with an unpaired surrogate.
    InvalidUtf16,
    /// A resource handle index not in the component instance's table.
    UnknownHandle,
    /// A resource handle used as a handle to another resource type.
    WrongHandleType,
    /// A borrowed handle given where an owned one is needed.
    NotOwned,
    /// An owned handle dropped or moved while it is lent to a call.
    OwnedWhileBorrowed,
    /// A call returned while a handle borrowed for it is still in a table.
    BorrowsRemain,
    /// A component instance called out while its `realloc` or
    /// `post-return` ran.
    CannotLeave,
    /// A component instance entered while a call into it is in progress,
    /// or after it trapped.
    CannotEnter,
    /// A component instance's handle table is full (2^28 handles).
    TooManyHandles,
    /// A resource of another store, or of another type than the function
    /// takes, passed by the host.
    ResourceMismatch,
    /// The lists and strings of one lifted value overlap so much that
    /// their contents add up to more than twice the memory they are in (a
    /// limit of the engine's, not the specification's: it keeps the host's
    /// allocations in proportion to the guest's memory).
    LiftTooLarge,
    /// A task whose function type is not `async` would block before returning (waiting on a waitable set, a synchronous stream or future copy that cannot complete at once, `thread.suspend`).
    CannotBlockSyncTask,
    /// An async-lifted function finished without calling `task.return`.
    NoAsyncResult,
    /// An async task waits for an event nothing can produce any more.
    AsyncDeadlock,
    /// `task.return` called in a task that was not lifted `async`, or with another result type or other options than the task's.
    TaskReturnInvalid,
    /// `task.return` or `task.cancel` called again after the task resolved.
    TaskReturnTwice,
    /// `task.cancel` called by a task that was not cancelled.
    TaskCancelNotCancelled,
    /// A waitable set dropped while waitables are in it or a task waits on it.
    WaitableSetHasWaiters,
    /// A subtask dropped before it resolved.
    SubtaskDropNotResolved,
    /// `backpressure.inc` past the 16-bit counter.
    BackpressureOverflow,
    /// `backpressure.dec` below zero.
    BackpressureUnderflow,
    /// A `callback` (or the async-lifted function) returned a code that is not EXIT, YIELD or WAIT.
    UnsupportedCallbackCode,
    /// A thread that is not suspended given to `thread.resume-later` or `thread.*-then-resume`.
    CannotResumeThread,
    /// A synchronous copy, cancel or subtask cancel on a waitable that is in a waitable set.
    WaitableInSet,
    /// A stream's readable end dropped or moved while a copy is in progress.
    RemoveBusyStream,
    /// A stream's writable end dropped while a copy is in progress.
    DropBusyStream,
    /// A future's readable end dropped or moved while a read is in progress.
    RemoveBusyFuture,
    /// A future's writable end dropped while a write is in progress.
    DropBusyFuture,
    /// A future's writable end dropped before a value was written (or the reader dropped).
    FutureWriteEndNoValue,
    /// A read from a stream whose writable end was reported dropped.
    StreamReadAfterDrop,
    /// A write to a stream whose readable end was reported dropped.
    StreamWriteAfterDrop,
    /// A read from a future that already delivered its value.
    FutureReadAfterRead,
    /// A write to a future that was written or whose readable end dropped.
    FutureWriteAfterWrite,
    /// A copy started on a stream or future end while one is in progress, or a cancel asked of an end with no copy in progress.
    CopyInProgress,
    /// Both ends of a stream of a type other than numbers read and written in one component instance.
    IntraComponentStream,
    /// Both ends of a future of a type other than numbers read and written in one component instance.
    IntraComponentFuture,
    /// A core exception escaped a lifted function, its `post-return` or a
    /// `realloc` (the canonical ABI's `call_and_trap_on_throw`): it never
    /// crosses a component boundary.
    UncaughtException,
}

impl ComponentTrap {
    /// The trap's wording.
    pub fn message(self) -> &'static str {
        match self {
            ComponentTrap::UnalignedPointer => "unaligned pointer",
            ComponentTrap::PointerOutOfBounds => "pointer out of bounds of memory",
            ComponentTrap::StringOutOfBounds => {
                "string content out-of-bounds: string pointer/length out of bounds of memory"
            }
            ComponentTrap::ListOutOfBounds => {
                "list content out-of-bounds: list pointer/length out of bounds of memory"
            }
            ComponentTrap::StringTooLong => "string too long: more than 2^28 - 1 bytes",
            ComponentTrap::ListTooLong => "list too long: more than 2^28 - 1 bytes",
            ComponentTrap::ReallocUnaligned => {
                "unaligned pointer: realloc return: result not aligned"
            }
            ComponentTrap::ReallocOutOfBounds => "realloc return: beyond end of memory",
            ComponentTrap::ReallocListOutOfBounds => {
                "list content out-of-bounds: realloc return: beyond end of memory"
            }
            ComponentTrap::ReallocStringOutOfBounds => {
                "string content out-of-bounds: realloc return: beyond end of memory"
            }
            ComponentTrap::InvalidDiscriminant => "invalid variant discriminant",
            ComponentTrap::InvalidChar => "invalid `char` bit pattern",
            ComponentTrap::InvalidUtf8 => "invalid utf-8",
            ComponentTrap::IncompleteUtf8 => "incomplete utf-8 byte sequence",
            ComponentTrap::InvalidUtf16 => "invalid utf-16: unpaired surrogate",
            ComponentTrap::UnknownHandle => "unknown handle index",
            ComponentTrap::WrongHandleType => "handle used with the wrong type",
            ComponentTrap::NotOwned => "borrowed handle used where an owned one is needed",
            ComponentTrap::OwnedWhileBorrowed => "cannot remove owned resource while borrowed",
            ComponentTrap::BorrowsRemain => "borrow handles still remain at the end of the call",
            ComponentTrap::CannotLeave => "cannot leave component instance",
            ComponentTrap::CannotEnter => "cannot enter component instance",
            ComponentTrap::UncaughtException => "uncaught exception propagated out of component",
            ComponentTrap::TooManyHandles => "too many resource handles",
            ComponentTrap::ResourceMismatch => "resource of the wrong type or store",
            ComponentTrap::LiftTooLarge => {
                "lifted value too large: its lists and strings overlap, adding up to more than twice the memory"
            }
            ComponentTrap::CannotBlockSyncTask => {
                "cannot block a synchronous task before returning"
            }
            ComponentTrap::NoAsyncResult => "async-lifted export failed to produce a result",
            ComponentTrap::AsyncDeadlock => {
                "deadlock detected: event loop cannot make further progress"
            }
            ComponentTrap::TaskReturnInvalid => {
                "invalid `task.return` signature and/or options for current task"
            }
            ComponentTrap::TaskReturnTwice => {
                "`task.return` or `task.cancel` called more than once for current task"
            }
            ComponentTrap::TaskCancelNotCancelled => {
                "`task.cancel` called by task which has not been cancelled"
            }
            ComponentTrap::WaitableSetHasWaiters => "cannot drop waitable set with waiters",
            ComponentTrap::SubtaskDropNotResolved => {
                "cannot drop a subtask which has not yet resolved"
            }
            ComponentTrap::BackpressureOverflow => "backpressure counter overflow",
            ComponentTrap::BackpressureUnderflow => "backpressure counter underflow",
            ComponentTrap::UnsupportedCallbackCode => "unsupported callback code",
            ComponentTrap::CannotResumeThread => "cannot resume thread which is not suspended",
            ComponentTrap::WaitableInSet => {
                "waitable cannot be used synchronously while added to a waitable set"
            }
            ComponentTrap::RemoveBusyStream => "cannot remove busy stream",
            ComponentTrap::DropBusyStream => "cannot drop busy stream",
            ComponentTrap::RemoveBusyFuture => "cannot remove busy future",
            ComponentTrap::DropBusyFuture => "cannot drop busy future",
            ComponentTrap::FutureWriteEndNoValue => {
                "cannot drop future write end without first writing a value"
            }
            ComponentTrap::StreamReadAfterDrop => {
                "cannot read from stream after being notified that the writable end dropped"
            }
            ComponentTrap::StreamWriteAfterDrop => {
                "cannot write to stream after being notified that the readable end dropped"
            }
            ComponentTrap::FutureReadAfterRead => {
                "cannot read from future after previous read succeeded"
            }
            ComponentTrap::FutureWriteAfterWrite => {
                "cannot write to future after previous write succeeded or readable end dropped"
            }
            ComponentTrap::CopyInProgress => {
                "cannot have concurrent operations active on a future/stream"
            }
            ComponentTrap::IntraComponentStream => {
                "cannot read from and write to intra-component stream"
            }
            ComponentTrap::IntraComponentFuture => {
                "cannot read from and write to intra-component future"
            }
        }
    }

    /// Whether an expected trap message (an `assert_trap`'s, with or
    /// without the `wasm trap: ` that `Display` puts first) is this trap:
    /// it is one of the wordings the message holds.
    pub fn matches(self, expected: &str) -> bool {
        let expected = expected.strip_prefix("wasm trap: ").unwrap_or(expected);
        !expected.is_empty() && self.message().contains(expected)
    }
}

impl TrapCode {
    /// Maps a raw Cranelift trap code from the code image.
    pub(crate) fn from_raw(raw: u8) -> Option<TrapCode> {
        use nyash_aot::vmoffsets::trap_codes as c;
        let code = cranelift_trap(raw)?;
        Some(match code {
            x if x == c::STACK_OVERFLOW => TrapCode::StackOverflow,
            x if x == c::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
            x if x == c::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
            x if x == c::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
            x if x == c::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
            x if x == c::TABLE_OUT_OF_BOUNDS => TrapCode::TableOutOfBounds,
            x if x == c::INDIRECT_CALL_TO_NULL => TrapCode::IndirectCallToNull,
            x if x == c::BAD_SIGNATURE => TrapCode::BadSignature,
            x if x == c::UNREACHABLE => TrapCode::UnreachableCodeReached,
            x if x == c::NULL_REFERENCE => TrapCode::NullReference,
            x if x == c::CAST_FAILURE => TrapCode::CastFailure,
            x if x == c::ARRAY_OUT_OF_BOUNDS => TrapCode::ArrayOutOfBounds,
            x if x == c::ALLOCATION_FAILURE => TrapCode::AllocationFailure,
            x if x == c::INTERRUPT => TrapCode::Interrupt,
            x if x == c::OUT_OF_FUEL => TrapCode::OutOfFuel,
            _ => return None,
        })
    }

    /// The spec's wording for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::UnreachableCodeReached => "unreachable",
            TrapCode::NullReference => "null reference",
            TrapCode::CastFailure => "cast failure",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::AllocationFailure => "allocation failure: out of GC heap",
            TrapCode::Interrupt => "interrupted",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::Component(t) => t.message(),
        }
    }
}

pub(crate) fn cranelift_trap(raw: u8) -> Option<cranelift_codegen::ir::TrapCode> {
    std::num::NonZeroU8::new(raw).map(cranelift_codegen::ir::TrapCode::from_raw)
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// One wasm frame of a trap's backtrace. A function inlined into another
/// still has a frame of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The module's name from its name section, if it has one.
    pub module_name: Option<String>,
    /// The function's index in its module (imports counted first).
    pub func_index: u32,
    /// The function's name from the name section, if it has one.
    pub func_name: Option<String>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let module = self.module_name.as_deref().unwrap_or("<module>");
        match &self.func_name {
            Some(name) => write!(f, "{module}!{name} (func {})", self.func_index),
            None => write!(f, "{module}!<wasm function {}>", self.func_index),
        }
    }
}

/// A trap: its code and the wasm frames active when it happened, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// Why execution stopped.
    pub code: TrapCode,
    /// The wasm frames, innermost (where the trap happened) first; empty
    /// for a trap made by the host (`Error::from(TrapCode::...)`).
    pub backtrace: Vec<FrameInfo>,
    /// What exactly went wrong, when the code alone does not say (the
    /// canonical ABI's traps); `Display` shows it instead of the code's
    /// message.
    pub message: Option<String>,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "wasm trap: {m}")?,
            None => write!(f, "wasm trap: {}", self.code)?,
        }
        if !self.backtrace.is_empty() {
            write!(f, "\nwasm backtrace:")?;
            for (i, frame) in self.backtrace.iter().enumerate() {
                write!(f, "\n  {i:>3}: {frame}")?;
            }
        }
        Ok(())
    }
}

/// What went wrong: the kind of an [`Error`], from [`Error::kind`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The module is malformed, invalid, or uses an unsupported feature.
    Compile(CompileError),
    /// An import could not be satisfied.
    Link {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// Why it cannot be satisfied (not defined, or of another type).
        message: String,
    },
    /// Execution trapped.
    Trap(Trap),
    /// A wasm exception no wasm frame caught (see [`Exception`](crate::Exception)).
    Exception(crate::exceptions::Exception),
    /// Instantiation failed for a reason other than a trap (e.g. resources).
    Instantiation(String),
    /// A file could not be read or written.
    Io {
        /// The file, if the operation was on one.
        path: Option<std::path::PathBuf>,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// A `.nwasm` artifact cannot be used: damaged, or made by another engine
    /// build or for another CPU.
    Artifact(String),
    /// The program asked to exit with this status (WASI `proc_exit`).
    Exit(i32),
    /// A host function failed, or any other error with a message.
    Message(String),
    /// A host function failed with an error of its own type.
    Host(Box<dyn std::error::Error + Send + Sync>),
}

/// The error type of every fallible operation of the engine: a kind
/// ([`Error::kind`]) and lines of context that say where (a file, a
/// function), shown by `Display` before the error itself.
///
/// Host functions return it too: [`Error::msg`] for a message,
/// [`Error::host`] to wrap an error of their own type, which the call that
/// reached the host function then returns unchanged.
///
/// ```
/// use nyash_engine::{Error, ErrorKind, TrapCode};
///
/// let e = Error::msg("disk full").context("saving state");
/// assert_eq!(e.to_string(), "saving state: disk full");
/// assert!(matches!(e.kind(), ErrorKind::Message(m) if m == "disk full"));
///
/// let trap = Error::from(TrapCode::MemoryOutOfBounds);
/// assert_eq!(trap.trap_code(), Some(TrapCode::MemoryOutOfBounds));
/// assert_eq!(trap.to_string(), "wasm trap: out of bounds memory access");
/// ```
#[derive(Debug)]
pub struct Error {
    kind: Box<ErrorKind>,
    context: Vec<String>,
}

/// `Result` with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind`, without context.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind: Box::new(kind),
            context: Vec::new(),
        }
    }

    /// An error with just a message (for host functions).
    pub fn msg(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Message(message.into()))
    }

    /// Wraps any error (for host functions).
    pub fn host(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::new(ErrorKind::Host(Box::new(error)))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Adds a line of context, shown before the error itself.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context.push(context.into());
        self
    }

    /// The trap, if this error is one.
    pub fn trap(&self) -> Option<&Trap> {
        match &*self.kind {
            ErrorKind::Trap(t) => Some(t),
            _ => None,
        }
    }

    /// The exception, if this is an uncaught wasm exception (or one a host
    /// function throws).
    pub fn exception(&self) -> Option<&crate::exceptions::Exception> {
        match &*self.kind {
            ErrorKind::Exception(e) => Some(e),
            _ => None,
        }
    }

    /// The trap's code, if this error is a trap.
    pub fn trap_code(&self) -> Option<TrapCode> {
        self.trap().map(|t| t.code)
    }

    /// The exit status, if this error is a request to exit.
    pub fn exit_status(&self) -> Option<i32> {
        match &*self.kind {
            ErrorKind::Exit(code) => Some(*code),
            _ => None,
        }
    }

    /// An import `module`.`name` that cannot be satisfied, and why (for
    /// host libraries that define imports, such as WASI).
    pub fn link(module: &str, name: &str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Link {
            module: module.to_string(),
            name: name.to_string(),
            message: message.into(),
        })
    }

    /// A failed file operation, naming the file if there is one.
    pub fn io(path: Option<&std::path::Path>, error: std::io::Error) -> Self {
        Error::new(ErrorKind::Io {
            path: path.map(|p| p.to_path_buf()),
            error,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.context.iter().rev() {
            write!(f, "{c}: ")?;
        }
        match &*self.kind {
            ErrorKind::Compile(e) => write!(f, "{e}"),
            ErrorKind::Link {
                module,
                name,
                message,
            } if name.is_empty() => write!(
                f,
                "unknown import or incompatible import type: `{module}`: {message}"
            ),
            ErrorKind::Link {
                module,
                name,
                message,
            } => write!(
                f,
                "unknown import or incompatible import type: `{module}::{name}`: {message}"
            ),
            ErrorKind::Trap(t) => write!(f, "{t}"),
            ErrorKind::Exception(e) => write!(f, "{e}"),
            ErrorKind::Instantiation(m) => write!(f, "instantiation failed: {m}"),
            ErrorKind::Io {
                path: Some(p),
                error,
            } => write!(f, "{}: {error}", p.display()),
            ErrorKind::Io { path: None, error } => write!(f, "{error}"),
            ErrorKind::Artifact(m) => write!(f, "unusable artifact: {m}"),
            ErrorKind::Exit(code) => write!(f, "exited with status {code}"),
            ErrorKind::Message(m) => f.write_str(m),
            ErrorKind::Host(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            ErrorKind::Compile(e) => Some(e),
            ErrorKind::Io { error, .. } => Some(error),
            ErrorKind::Host(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Self {
        Error::new(ErrorKind::Compile(e))
    }
}

impl From<Trap> for Error {
    fn from(t: Trap) -> Self {
        Error::new(ErrorKind::Trap(t))
    }
}

impl From<TrapCode> for Error {
    fn from(code: TrapCode) -> Self {
        Error::new(ErrorKind::Trap(Trap {
            code,
            backtrace: Vec::new(),
            message: None,
        }))
    }
}

/// A [`TrapCode::Component`] trap with a message more exact than the
/// kind's (`unknown handle index 5`).
pub(crate) fn component_trap(kind: ComponentTrap, message: String) -> Error {
    Error::new(ErrorKind::Trap(Trap {
        code: TrapCode::Component(kind),
        backtrace: Vec::new(),
        message: Some(message),
    }))
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io(None, e)
    }
}
