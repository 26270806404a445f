//! Compiled fused adapters ("FACT": fused adapter compiler of
//! trampolines): for a call from one component instance into a function
//! another instance of the same root lifted, a small core wasm module whose
//! one export does the canonical ABI's `canon_lower` + `canon_lift` for a
//! synchronous call in plain wasm, so the call never leaves compiled code.
//! The engine compiles these modules with the component's own and
//! instantiates one per adapter; an adapter this layer does not compile
//! keeps the engine's dynamic adapter (the host function of
//! `engine/src/component/call.rs`).
//!
//! What is compiled: functions whose parameters flatten to at most 16 core
//! values and whose result to at most one (nothing spilled to memory), of
//! any type made of scalars (`bool`, the integers, floats, `char`),
//! records, tuples, fixed-length lists, variants, enums, options,
//! results and flags, and parameters that are lists of plain integers or
//! strings (of the same encoding on both sides), with the same type on
//! both sides. Strings between encodings, strings and lists elsewhere,
//! other lists, maps and resource handles need transcoding, element loops
//! or the handle tables and stay dynamic.
//!
//! The adapter's body, in the dynamic path's order (so traps and the
//! instances they close are the same):
//!
//! 1. trap "cannot leave component instance" unless the caller's flags
//!    have [`FLAG_MAY_LEAVE`];
//! 2. the arguments lifted out of the caller's core values and lowered
//!    into the callee's, with every check of the spec's lift: `bool`
//!    normalised to 0/1, narrow integers masked or sign-extended, NaNs made
//!    canonical, `char` checked (surrogates and past U+10FFFF trap),
//!    discriminants checked against their case count, flag bits past the
//!    type's flags cleared, a variant's unused payload slots zeroed;
//! 3. the entering set (the callee and its ancestors the caller is not in,
//!    known statically from the inliner's `parents`): trap "cannot enter
//!    component instance" if one lacks [`FLAG_MAY_ENTER`], then clear it
//!    in each;
//! 4. the callee's core function called — with the exceptions proposal
//!    on, inside a `try_table` whose `catch_all` traps "uncaught exception
//!    propagated out of component" (the canonical ABI's
//!    `call_and_trap_on_throw`; the same for `post-return` and `realloc`),
//!    so an exception never reaches the caller's handlers;
//! 5. the result lifted and lowered back the same way as the arguments;
//! 6. the callee's `post-return` with its [`FLAG_MAY_LEAVE`] cleared;
//! 7. the entering set opened again. A trap anywhere past step 3 unwinds
//!    without it, so the instances stay closed for good (the spec's
//!    poisoning), as in the dynamic path.
//!
//! Traps with a component-model message go through one imported host
//! function, `trap(code, a, b, c, d)` ([`TRAP_CANNOT_LEAVE`] ...), which
//! never returns.
//!
//! Lists of plain integers (`list<u8>` ... `list<s64>`) as top-level
//! parameters are compiled too: their range in the caller's memory
//! checked as `load_list_from_range` does (length limit, alignment,
//! bounds), then, once the call has entered the callee, the callee's
//! `realloc(0, 0, align, bytes)` called with its `may_leave` cleared, the
//! result checked (alignment, bounds) and the bytes copied with one
//! multi-memory `memory.copy`. Lists elsewhere (in results, in records or
//! variants, of other elements) stay dynamic.
//!
//! Strings as top-level parameters, when the caller lowers and the callee
//! lifts with the same `string-encoding`: checked as
//! `load_string_from_range` does (the length limit, alignment 2 for
//! `utf16` and `latin1+utf16`, the bounds), their code units checked by
//! the imported host function `validate(kind, ptr, bytes) -> i32`
//! ([`VALIDATE_UTF8`], [`VALIDATE_UTF16`]; bound to the caller's memory),
//! then stored as `store_string_copy` does: `realloc(0, 0, align, bytes)`
//! with the callee's `may_leave` cleared, its result checked, one
//! `memory.copy`. A `latin1+utf16` string tagged UTF-16 whose units all
//! fit Latin-1 is then narrowed as `store_probably_utf16_to_latin1_or_utf16`
//! does: the low bytes moved down in place, `realloc(ptr, 2n, 1, n)`, its
//! result checked against the bounds, the length untagged.
//!
//! Imports of an adapter module, in this order: functions `fact.trap`
//! (`(code, a, b, c, d)`), `fact.callee`, `fact.post_return` (if the
//! callee has one), `fact.realloc` (the callee's, if a parameter is a
//! list or string), `fact.validate` (if a parameter is a string); memories
//! `fact.caller_memory`, `fact.callee_memory` (if a parameter is a list or
//! string); mutable `i32` globals `fact.caller_flags`,
//! `fact.callee_flags`, then one `fact.enter` per instance of
//! [`AdapterPlan::entering`]. Export: `adapter`.

use serde::{Deserialize, Serialize};
use wasm_encoder::{
    BlockType, CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    GlobalType, ImportSection, Instruction, Module, TypeSection, ValType,
};

use super::inline::{ComponentInstanceId, GlobalInitializer, InlinedComponent};
use super::translate::StringEncoding;
use super::types::{ComponentTypes, DefinedType, FuncType, InterfaceType};

/// The bit of an instance's flags word set while it may call out.
pub const FLAG_MAY_LEAVE: i32 = 1;
/// The bit of an instance's flags word set while it may be entered.
pub const FLAG_MAY_ENTER: i32 = 2;

/// `trap`'s codes: "cannot leave component instance".
pub const TRAP_CANNOT_LEAVE: i32 = 0;
/// "cannot enter component instance".
pub const TRAP_CANNOT_ENTER: i32 = 1;
/// An invalid `char` (`a` = its bits).
pub const TRAP_INVALID_CHAR: i32 = 2;
/// A discriminant past the case count (`a` = it, `b` = the count).
pub const TRAP_INVALID_DISCRIMINANT: i32 = 3;

/// A list longer than the canonical ABI allows (`a` = count, `b` = element
/// size, `c` = pointer).
pub const TRAP_LIST_TOO_LONG: i32 = 4;
/// A list pointer not aligned to its element (`a` = pointer, `b` = alignment).
pub const TRAP_LIST_UNALIGNED: i32 = 5;
/// A list's elements past the caller's memory (`a` = count, `b` = element
/// size, `c` = pointer, `d` = the memory's pages).
pub const TRAP_LIST_OUT_OF_BOUNDS: i32 = 6;
/// The callee's `realloc` returned an unaligned pointer (`a` = alignment,
/// `b` = size, `c` = pointer).
pub const TRAP_REALLOC_UNALIGNED: i32 = 7;
/// The callee's `realloc` returned a list area past its memory (`a` =
/// alignment, `b` = size, `c` = pointer, `d` = the memory's pages).
pub const TRAP_REALLOC_LIST_OUT_OF_BOUNDS: i32 = 8;
/// A core exception escaped the callee or its `post-return` (the
/// canonical ABI's `call_and_trap_on_throw`).
pub const TRAP_UNCAUGHT_EXCEPTION: i32 = 9;
/// A string longer than the canonical ABI allows (`a` = code units, `b` =
/// bytes per unit, `c` = pointer).
pub const TRAP_STRING_TOO_LONG: i32 = 10;
/// A string pointer not aligned (`a` = pointer, `b` = alignment).
pub const TRAP_STRING_UNALIGNED: i32 = 11;
/// A string past the caller's memory (`a` = code units, `b` = bytes per
/// unit, `c` = pointer, `d` = the memory's pages).
pub const TRAP_STRING_OUT_OF_BOUNDS: i32 = 12;
/// The callee's `realloc(0, 0, a, b)` returned a string area past its
/// memory (`c` = pointer, `d` = the memory's pages).
pub const TRAP_REALLOC_STRING_OUT_OF_BOUNDS: i32 = 13;
/// The callee's `realloc(a, 2 * b, 1, b)` that shrinks a `latin1+utf16`
/// string to Latin-1 returned an area past its memory (`c` = pointer, `d`
/// = the memory's pages).
pub const TRAP_REALLOC_SHRINK_OUT_OF_BOUNDS: i32 = 14;

/// `validate`'s kinds: the bytes must be UTF-8; the result is 0.
pub const VALIDATE_UTF8: i32 = 0;
/// The bytes must be UTF-16 (little-endian, no unpaired surrogate); the
/// result is 1 if a code unit is past Latin-1 (>= 0x100), else 0.
pub const VALIDATE_UTF16: i32 = 1;

/// The top bit of a `latin1+utf16` string's length: its units are UTF-16.
const UTF16_TAG: i32 = i32::MIN;

/// The adapter module's type indices: the callee's type (its parameters
/// to its results), the post-return's (the results to nothing),
/// `realloc`'s, and as block types the callee's and `realloc`'s
/// parameters to nothing.
const CALLEE_TYPE: u32 = 1;
const POST_RETURN_TYPE: u32 = 2;
const REALLOC_TYPE: u32 = 3;
const CALLEE_VOID_TYPE: u32 = 4;
const REALLOC_VOID_TYPE: u32 = 5;
const VALIDATE_TYPE: u32 = 6;

/// The canonical ABI's limit on a list's byte length.
const MAX_LIST_BYTE_LENGTH: i64 = (1 << 28) - 1;

/// The most flat parameters passed as core values (past it, memory).
const MAX_FLAT_PARAMS: usize = 16;
/// The most flat results returned as core values.
const MAX_FLAT_RESULTS: usize = 1;

/// How one adapter is compiled: which module, which flags it imports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterPlan {
    /// The module's index among the component's core modules (the
    /// engine appends the adapter modules after the component's own).
    pub module: u32,
    /// The instances the call enters (their flags imported as
    /// `fact.enter`, in this order).
    pub entering: Vec<ComponentInstanceId>,
    /// The caller (the lowering instance) and the callee (the lifting one).
    pub caller: ComponentInstanceId,
    pub callee: ComponentInstanceId,
    /// Whether the callee has a `post-return` (imported as
    /// `fact.post_return`).
    pub post_return: bool,
    /// Whether a parameter is a list or string copied between the two
    /// memories: then the adapter imports the callee's `realloc`
    /// (`fact.realloc`) and the memories `fact.caller_memory`,
    /// `fact.callee_memory`.
    pub memories: bool,
    /// Whether a parameter is a string whose code units the host checks
    /// (UTF-8 or UTF-16): then the adapter imports `fact.validate`
    /// (`(kind, ptr, bytes) -> i32`, [`VALIDATE_UTF8`], [`VALIDATE_UTF16`]),
    /// a host function reading the caller's memory.
    pub validate: bool,
}

/// The compiled adapters of a component: module bytes (identical modules
/// shared) and, by adapter index, the plan of each compiled one (`None`:
/// the dynamic adapter).
#[derive(Clone, Debug, Default)]
pub struct CompiledAdapters {
    pub modules: Vec<Vec<u8>>,
    pub plans: Vec<Option<AdapterPlan>>,
}

/// The core proposals the engine has on, which the generated code may
/// use: with `exceptions`, the callee's call and its `post-return` are
/// inside a `try_table` that turns an escaping exception into a trap (the
/// canonical ABI's `call_and_trap_on_throw`; without them nothing can
/// throw); without `multi_memory`, adapters that copy between two
/// memories (lists) stay dynamic.
#[derive(Clone, Copy, Debug)]
pub struct AdapterFeatures {
    pub exceptions: bool,
    pub multi_memory: bool,
}

/// Generates the adapter modules of `inl`; module indices start at
/// `first_module` (the number of the component's own core modules).
pub fn compile_adapters(
    inl: &InlinedComponent,
    types: &ComponentTypes,
    first_module: u32,
    features: AdapterFeatures,
) -> CompiledAdapters {
    let mut out = CompiledAdapters {
        modules: Vec::new(),
        plans: vec![None; inl.num_adapters as usize],
    };
    // A compiled adapter calls the callee without the runtime's `enter`,
    // so no task of the async ABI is made for the call: where a component
    // can see tasks (it has an async built-in such as `context.get` or
    // `task.return`, or lifts or lowers with the async ABI), every adapter
    // stays dynamic.
    if uses_async_abi(inl) {
        return out;
    }
    for init in &inl.initializers {
        let GlobalInitializer::Adapter {
            index,
            lift,
            lower_ty,
            lower_instance,
            lower_options,
        } = init
        else {
            continue;
        };
        let lower = types.func(*lower_ty);
        let lifted = types.func(lift.ty);
        if lower.async_ || lifted.async_ || !same_func(types, lower, lifted) {
            continue;
        }
        let entering = entering_set(&inl.parents, lift.instance, *lower_instance);
        let post_return = lift.options.post_return.is_some();
        let strings = lifted
            .params
            .iter()
            .any(|(_, t)| matches!(resolve(types, *t), Ok(InterfaceType::String)));
        // Strings are copied as they are between the same encodings only;
        // transcoding stays dynamic.
        let encoding = lift.options.string_encoding;
        if strings && lower_options.string_encoding != encoding {
            continue;
        }
        let memories = strings
            || lifted
                .params
                .iter()
                .any(|(_, t)| list_layout(types, *t).is_some());
        // Every encoding may hold UTF-16 or UTF-8 units to check
        // (`latin1+utf16` its tagged strings).
        let validate = strings;
        if memories
            && (!features.multi_memory
                || lift.options.realloc.is_none()
                || lift.options.memory.is_none())
        {
            continue;
        }
        let Some(bytes) = generate(
            types,
            lifted,
            encoding,
            entering.len(),
            post_return,
            features.exceptions,
        ) else {
            continue;
        };
        let module = match out.modules.iter().position(|m| *m == bytes) {
            Some(i) => i as u32,
            None => {
                out.modules.push(bytes);
                out.modules.len() as u32 - 1
            }
        } + first_module;
        if let Some(slot) = out.plans.get_mut(index.0 as usize) {
            *slot = Some(AdapterPlan {
                module,
                entering,
                caller: *lower_instance,
                callee: lift.instance,
                post_return,
                memories,
                validate,
            });
        }
    }
    out
}

/// Whether the root uses the async ABI anywhere: an async built-in given
/// to a core instance, or a lift or lower with the `async` or `callback`
/// option. Where it does not, nothing can observe the tasks of its calls
/// (the runtime makes none: a sync call pays nothing for the async ABI).
pub fn uses_async_abi(inl: &InlinedComponent) -> bool {
    let is_async = |o: &super::inline::Options| o.async_ || o.callback.is_some();
    inl.initializers.iter().any(|init| match init {
        GlobalInitializer::InstantiateModule { args, .. } => args
            .iter()
            .any(|a| matches!(a, super::inline::CoreDef::AsyncBuiltin(_))),
        GlobalInitializer::LowerImport { options, .. } => is_async(options),
        GlobalInitializer::Adapter {
            lift,
            lower_options,
            ..
        } => is_async(&lift.options) || is_async(lower_options),
        GlobalInitializer::Resource { .. } => false,
    })
}

/// The canonical ABI's `entering_set` of a call from `caller` into
/// `callee` (both of one root): the callee's chain of ancestors up to (not
/// including) the first instance the caller's chain has.
pub fn entering_set(
    parents: &[Option<ComponentInstanceId>],
    callee: ComponentInstanceId,
    caller: ComponentInstanceId,
) -> Vec<ComponentInstanceId> {
    let chain = |from: ComponentInstanceId| {
        let mut v = Vec::new();
        let mut i = Some(from);
        // A parent has a smaller id than its child; the bound only guards
        // against a malformed table.
        while let Some(x) = i {
            if v.len() > parents.len() {
                break;
            }
            v.push(x);
            i = parents.get(x.0 as usize).copied().flatten();
        }
        v
    };
    let callers = chain(caller);
    chain(callee)
        .into_iter()
        .take_while(|x| !callers.contains(x))
        .collect()
}

/// A type with its `Primitive` aliases looked through.
fn resolve(types: &ComponentTypes, mut t: InterfaceType) -> Result<InterfaceType, ()> {
    for _ in 0..100 {
        match t {
            InterfaceType::Defined(i) => match types.defined(i) {
                DefinedType::Primitive(p) => t = *p,
                _ => return Ok(t),
            },
            _ => return Ok(t),
        }
    }
    Err(())
}

/// The cases of a variant-like type (payload per case), if it is one.
fn cases(d: &DefinedType) -> Option<Vec<Option<InterfaceType>>> {
    Some(match d {
        DefinedType::Variant(cs) => cs.iter().map(|(_, p)| *p).collect(),
        DefinedType::Enum(names) => vec![None; names.len()],
        DefinedType::Option(t) => vec![None, Some(*t)],
        DefinedType::Result { ok, err } => vec![*ok, *err],
        _ => return None,
    })
}

/// Whether two function types are the same (names, types, structure).
fn same_func(types: &ComponentTypes, a: &FuncType, b: &FuncType) -> bool {
    a.params.len() == b.params.len()
        && a.params
            .iter()
            .zip(&b.params)
            .all(|((na, ta), (nb, tb))| na == nb && same(types, *ta, *tb, 0))
        && match (a.result, b.result) {
            (Some(x), Some(y)) => same(types, x, y, 0),
            (None, None) => true,
            _ => false,
        }
}

/// Whether two interface types are structurally the same.
fn same(types: &ComponentTypes, a: InterfaceType, b: InterfaceType, depth: u32) -> bool {
    use InterfaceType as T;
    if depth > 100 {
        return false;
    }
    let (Ok(a), Ok(b)) = (resolve(types, a), resolve(types, b)) else {
        return false;
    };
    let same_opt = |x: Option<InterfaceType>, y: Option<InterfaceType>| match (x, y) {
        (Some(x), Some(y)) => same(types, x, y, depth + 1),
        (None, None) => true,
        _ => false,
    };
    match (a, b) {
        (T::Defined(x), T::Defined(y)) => match (types.defined(x), types.defined(y)) {
            (DefinedType::Record(f), DefinedType::Record(g)) => {
                f.len() == g.len()
                    && f.iter()
                        .zip(g)
                        .all(|((n, s), (m, t))| n == m && same(types, *s, *t, depth + 1))
            }
            (DefinedType::Variant(f), DefinedType::Variant(g)) => {
                f.len() == g.len()
                    && f.iter()
                        .zip(g)
                        .all(|((n, s), (m, t))| n == m && same_opt(*s, *t))
            }
            (DefinedType::Tuple(f), DefinedType::Tuple(g)) => {
                f.len() == g.len() && f.iter().zip(g).all(|(s, t)| same(types, *s, *t, depth + 1))
            }
            (
                DefinedType::FixedLengthList { element: e, len: n },
                DefinedType::FixedLengthList { element: f, len: m },
            ) => n == m && same(types, *e, *f, depth + 1),
            (DefinedType::Flags(f), DefinedType::Flags(g)) => f == g,
            (DefinedType::Enum(f), DefinedType::Enum(g)) => f == g,
            (DefinedType::Option(s), DefinedType::Option(t)) => same(types, *s, *t, depth + 1),
            (DefinedType::Result { ok: o, err: e }, DefinedType::Result { ok: p, err: f }) => {
                same_opt(*o, *p) && same_opt(*e, *f)
            }
            // Lists of plain integers (copied with `memory.copy`; only as
            // parameters, `flatten` refuses them elsewhere); other lists,
            // maps and handles are not compiled yet.
            (DefinedType::List(e), DefinedType::List(f)) => {
                same(types, *e, *f, depth + 1) && int_layout(types, *e).is_some()
            }
            _ => false,
        },
        // Strings: only as top-level parameters (`flatten` refuses them
        // elsewhere), and only between the same encodings.
        (T::String, T::String) => true,
        (T::Defined(_), _) | (_, T::Defined(_)) | (T::String, _) => false,
        (x, y) => x == y,
    }
}

/// The size (= alignment) of an integer type whose bytes cross as they
/// are (no check, no normalisation).
fn int_layout(types: &ComponentTypes, t: InterfaceType) -> Option<u32> {
    use InterfaceType as T;
    match resolve(types, t).ok()? {
        T::S8 | T::U8 => Some(1),
        T::S16 | T::U16 => Some(2),
        T::S32 | T::U32 => Some(4),
        T::S64 | T::U64 => Some(8),
        _ => None,
    }
}

/// The element size of a list of plain integers, if `t` is one.
fn list_layout(types: &ComponentTypes, t: InterfaceType) -> Option<u32> {
    match resolve(types, t).ok()? {
        InterfaceType::Defined(i) => match types.defined(i) {
            DefinedType::List(e) => int_layout(types, *e),
            _ => None,
        },
        _ => None,
    }
}

/// Joins two flat types into a variant slot's type (`join`).
fn join(a: ValType, b: ValType) -> ValType {
    match (a, b) {
        (a, b) if a == b => a,
        (ValType::I32, ValType::F32) | (ValType::F32, ValType::I32) => ValType::I32,
        _ => ValType::I64,
    }
}

/// The flat core types of `t`, appended to `out`; `Err` for what this
/// layer does not compile here (strings and lists, compiled only as
/// top-level parameters; maps, handles).
fn flatten(
    types: &ComponentTypes,
    t: InterfaceType,
    out: &mut Vec<ValType>,
    depth: u32,
) -> Result<(), ()> {
    use InterfaceType as T;
    if depth > 100 || out.len() > MAX_FLAT_PARAMS {
        return Err(());
    }
    match resolve(types, t)? {
        T::Bool | T::S8 | T::U8 | T::S16 | T::U16 | T::S32 | T::U32 | T::Char => {
            out.push(ValType::I32)
        }
        T::S64 | T::U64 => out.push(ValType::I64),
        T::F32 => out.push(ValType::F32),
        T::F64 => out.push(ValType::F64),
        T::String | T::ErrorContext => return Err(()),
        T::Defined(i) => match types.defined(i) {
            DefinedType::Record(fs) => {
                for (_, f) in fs {
                    flatten(types, *f, out, depth + 1)?;
                }
            }
            DefinedType::Tuple(ts) => {
                for f in ts {
                    flatten(types, *f, out, depth + 1)?;
                }
            }
            DefinedType::FixedLengthList { element, len } => {
                if *len as usize > MAX_FLAT_PARAMS {
                    return Err(());
                }
                for _ in 0..*len {
                    flatten(types, *element, out, depth + 1)?;
                }
            }
            DefinedType::Flags(_) => out.push(ValType::I32),
            d => {
                let cs = cases(d).ok_or(())?;
                out.push(ValType::I32);
                let mut joined: Vec<ValType> = Vec::new();
                for p in cs.into_iter().flatten() {
                    let mut v = Vec::new();
                    flatten(types, p, &mut v, depth + 1)?;
                    for (j, t) in v.into_iter().enumerate() {
                        match joined.get_mut(j) {
                            Some(s) => *s = join(*s, t),
                            None => joined.push(t),
                        }
                    }
                }
                out.extend(joined);
            }
        },
    }
    Ok(())
}

/// The flat types of `t`, or `Err`.
fn flat(types: &ComponentTypes, t: InterfaceType) -> Result<Vec<ValType>, ()> {
    let mut v = Vec::new();
    flatten(types, t, &mut v, 0)?;
    Ok(v)
}

/// A core local holding one flat value, with the local's own type (a
/// variant's joined slot type, which may differ from the value's).
#[derive(Clone, Copy)]
struct Slot {
    local: u32,
    ty: ValType,
}

/// The function body being generated.
struct Body<'a> {
    types: &'a ComponentTypes,
    params: u32,
    locals: Vec<ValType>,
    code: Vec<Instruction<'static>>,
}

/// How a top-level parameter crosses: as flat values, as a list of plain
/// integers (its element size), or as a string.
#[derive(Clone, Copy)]
enum Param {
    Flat,
    List(u32),
    String,
}

/// A copy into the callee's memory made once the call has entered.
enum Copy {
    /// A list: the caller's pointer, the byte length (`i64`), the element
    /// size, the callee's pointer's local.
    List {
        ptr: u32,
        bytes: u32,
        size: u32,
        out: u32,
    },
    String(StringCopy),
}

/// A string checked in the caller's memory, to be stored into the
/// callee's (locals of the adapter's body).
struct StringCopy {
    encoding: StringEncoding,
    /// The caller's pointer, its tagged length (as the caller passed it),
    /// the code units (tag cleared), the byte length (`i64`).
    ptr: u32,
    tagged: u32,
    units: u32,
    bytes: u32,
    /// `latin1+utf16`: whether a UTF-16 string has a unit past Latin-1.
    wide: Option<u32>,
    /// The callee's pointer and length.
    out_ptr: u32,
    out_len: u32,
}

/// Function indices of the imports.
const TRAP_FUNC: u32 = 0;
const CALLEE_FUNC: u32 = 1;
const POST_RETURN_FUNC: u32 = 2;
/// Memory indices of the imports (adapters with list parameters).
const CALLER_MEMORY: u32 = 0;
const CALLEE_MEMORY: u32 = 1;
/// Global indices of the imports.
const CALLER_FLAGS: u32 = 0;
const CALLEE_FLAGS: u32 = 1;
const FIRST_ENTER: u32 = 2;

impl Body<'_> {
    fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.params + self.locals.len() as u32 - 1
    }

    fn i(&mut self, i: Instruction<'static>) {
        self.code.push(i);
    }

    /// Pushes a slot's value as the value type `view` (`lift_flat_variant`'s
    /// coercion from the joined slot type).
    fn read(&mut self, s: Slot, view: ValType) {
        use Instruction as I;
        self.i(I::LocalGet(s.local));
        match (s.ty, view) {
            (ValType::I32, ValType::F32) => self.i(I::F32ReinterpretI32),
            (ValType::I64, ValType::I32) => self.i(I::I32WrapI64),
            (ValType::I64, ValType::F32) => {
                self.i(I::I32WrapI64);
                self.i(I::F32ReinterpretI32);
            }
            (ValType::I64, ValType::F64) => self.i(I::F64ReinterpretI64),
            _ => {}
        }
    }

    /// Pops a value of type `view` into a slot (`lower_flat_variant`'s
    /// coercion to the joined slot type).
    fn write(&mut self, s: Slot, view: ValType) {
        use Instruction as I;
        match (view, s.ty) {
            (ValType::F32, ValType::I32) => self.i(I::I32ReinterpretF32),
            (ValType::I32, ValType::I64) => self.i(I::I64ExtendI32U),
            (ValType::F32, ValType::I64) => {
                self.i(I::I32ReinterpretF32);
                self.i(I::I64ExtendI32U);
            }
            (ValType::F64, ValType::I64) => self.i(I::I64ReinterpretF64),
            _ => {}
        }
        self.i(I::LocalSet(s.local));
    }

    /// Calls the trap intrinsic with `code` and the values `args` push
    /// (the rest zero); never returns.
    fn trap(&mut self, code: i32, args: &[Instruction<'static>]) {
        self.i(Instruction::I32Const(code));
        for k in 0..4 {
            self.i(args.get(k).cloned().unwrap_or(Instruction::I32Const(0)));
        }
        self.i(Instruction::Call(TRAP_FUNC));
        self.i(Instruction::Unreachable);
    }

    /// Calls `func` (its arguments on the stack; `ty` its type index,
    /// `ty_void` the index of its parameters to no results), with `catch`
    /// inside a `try_table` whose `catch_all` traps
    /// ([`TRAP_UNCAUGHT_EXCEPTION`]): an exception never crosses the
    /// adapter.
    ///
    /// ```text
    /// block $done (type ty)          ;; params -> results
    ///   block $caught (type ty_void) ;; params -> []
    ///     try_table (type ty) (catch_all $caught)
    ///       call func
    ///     end
    ///     br $done
    ///   end
    ///   trap(TRAP_UNCAUGHT_EXCEPTION)
    /// end
    /// ```
    fn call_no_throw(&mut self, func: u32, ty: u32, ty_void: u32, catch: bool) {
        use Instruction as I;
        if !catch {
            self.i(I::Call(func));
            return;
        }
        self.i(I::Block(BlockType::FunctionType(ty)));
        self.i(I::Block(BlockType::FunctionType(ty_void)));
        self.i(I::TryTable(
            BlockType::FunctionType(ty),
            std::borrow::Cow::Owned(vec![wasm_encoder::Catch::All { label: 0 }]),
        ));
        self.i(I::Call(func));
        self.i(I::End);
        self.i(I::Br(1));
        self.i(I::End);
        self.trap(TRAP_UNCAUGHT_EXCEPTION, &[]);
        self.i(I::End);
    }

    /// Pushes the byte length of memory `mem` as an `i64`.
    fn mem_bytes(&mut self, mem: u32) {
        self.i(Instruction::MemorySize(mem));
        self.i(Instruction::I64ExtendI32U);
        self.i(Instruction::I64Const(16));
        self.i(Instruction::I64Shl);
    }

    /// The memory argument of a byte access to the callee's memory.
    fn callee_byte() -> wasm_encoder::MemArg {
        wasm_encoder::MemArg {
            offset: 0,
            align: 0,
            target: wasm_encoder::MemArgTarget::Memory(CALLEE_MEMORY),
            ordering: None,
        }
    }

    /// Calls the callee's `realloc` (its arguments on the stack) with its
    /// `may_leave` cleared; the result in a new local.
    fn call_realloc(&mut self, realloc: u32, catch: bool) -> u32 {
        use Instruction as I;
        let p = self.local(ValType::I32);
        self.i(I::GlobalGet(CALLEE_FLAGS));
        self.i(I::I32Const(!FLAG_MAY_LEAVE));
        self.i(I::I32And);
        self.i(I::GlobalSet(CALLEE_FLAGS));
        self.call_no_throw(realloc, REALLOC_TYPE, REALLOC_VOID_TYPE, catch);
        self.i(I::LocalSet(p));
        self.i(I::GlobalGet(CALLEE_FLAGS));
        self.i(I::I32Const(FLAG_MAY_LEAVE));
        self.i(I::I32Or);
        self.i(I::GlobalSet(CALLEE_FLAGS));
        p
    }

    /// A string parameter (`src` its pointer and tagged length) lifted out
    /// of the caller's memory as `load_string_from_range` does, in the
    /// dynamic path's order: the length limit, the alignment (2 for
    /// `utf16` and `latin1+utf16`), the bounds, then the code units
    /// checked by the host's `validate` (`validate`: its function index).
    fn check_string(
        &mut self,
        encoding: StringEncoding,
        src: &[Slot],
        dst: &[Slot],
        validate: u32,
    ) -> Copy {
        use Instruction as I;
        let (ptr, tagged) = (src[0].local, src[1].local);
        let units = self.local(ValType::I32);
        let unit = self.local(ValType::I32);
        let bytes = self.local(ValType::I64);
        self.i(I::LocalGet(tagged));
        if encoding == StringEncoding::Latin1Utf16 {
            self.i(I::I32Const(!UTF16_TAG));
            self.i(I::I32And);
        }
        self.i(I::LocalSet(units));
        match encoding {
            StringEncoding::Utf8 => self.i(I::I32Const(1)),
            StringEncoding::Utf16 => self.i(I::I32Const(2)),
            StringEncoding::Latin1Utf16 => {
                // The tag bit is the sign bit: 2 bytes a unit if set.
                self.i(I::LocalGet(tagged));
                self.i(I::I32Const(31));
                self.i(I::I32ShrU);
                self.i(I::I32Const(1));
                self.i(I::I32Add);
            }
        }
        self.i(I::LocalSet(unit));
        self.i(I::LocalGet(units));
        self.i(I::I64ExtendI32U);
        self.i(I::LocalGet(unit));
        self.i(I::I64ExtendI32U);
        self.i(I::I64Mul);
        self.i(I::LocalTee(bytes));
        self.i(I::I64Const(MAX_LIST_BYTE_LENGTH));
        self.i(I::I64GtU);
        self.i(I::If(BlockType::Empty));
        self.trap(
            TRAP_STRING_TOO_LONG,
            &[I::LocalGet(units), I::LocalGet(unit), I::LocalGet(ptr)],
        );
        self.i(I::End);
        if encoding != StringEncoding::Utf8 {
            self.i(I::LocalGet(ptr));
            self.i(I::I32Const(1));
            self.i(I::I32And);
            self.i(I::If(BlockType::Empty));
            self.trap(TRAP_STRING_UNALIGNED, &[I::LocalGet(ptr), I::I32Const(2)]);
            self.i(I::End);
        }
        self.i(I::LocalGet(ptr));
        self.i(I::I64ExtendI32U);
        self.i(I::LocalGet(bytes));
        self.i(I::I64Add);
        self.mem_bytes(CALLER_MEMORY);
        self.i(I::I64GtU);
        self.i(I::If(BlockType::Empty));
        self.trap(
            TRAP_STRING_OUT_OF_BOUNDS,
            &[
                I::LocalGet(units),
                I::LocalGet(unit),
                I::LocalGet(ptr),
                I::MemorySize(CALLER_MEMORY),
            ],
        );
        self.i(I::End);
        let validate_call = |b: &mut Self, kind: i32| {
            b.i(I::I32Const(kind));
            b.i(I::LocalGet(ptr));
            b.i(I::LocalGet(bytes));
            b.i(I::I32WrapI64);
            b.i(I::Call(validate));
        };
        let mut wide = None;
        match encoding {
            StringEncoding::Utf8 => {
                validate_call(self, VALIDATE_UTF8);
                self.i(I::Drop);
            }
            StringEncoding::Utf16 => {
                validate_call(self, VALIDATE_UTF16);
                self.i(I::Drop);
            }
            StringEncoding::Latin1Utf16 => {
                // Latin-1 needs no check; UTF-16 does, and whether it
                // fits Latin-1 decides how it is stored.
                let w = self.local(ValType::I32);
                self.i(I::LocalGet(tagged));
                self.i(I::I32Const(0));
                self.i(I::I32LtS);
                self.i(I::If(BlockType::Empty));
                validate_call(self, VALIDATE_UTF16);
                self.i(I::LocalSet(w));
                self.i(I::End);
                wide = Some(w);
            }
        }
        Copy::String(StringCopy {
            encoding,
            ptr,
            tagged,
            units,
            bytes,
            wide,
            out_ptr: dst[0].local,
            out_len: dst[1].local,
        })
    }

    /// A checked string stored into the callee's memory as the spec's
    /// `store_string_copy` does: `realloc(0, 0, align, bytes)` (alignment
    /// 1 for `utf8`, 2 for `utf16` and `latin1+utf16`), the result's
    /// alignment and bounds checked, the bytes copied. A `latin1+utf16`
    /// string tagged UTF-16 whose units all fit Latin-1 is then narrowed
    /// as `store_probably_utf16_to_latin1_or_utf16` does: each unit's low
    /// byte moved down in place and the area shrunk with
    /// `realloc(ptr, 2 * n, 1, n)`, its result checked against the bounds.
    fn store_string(&mut self, st: &StringCopy, realloc: u32, catch: bool) {
        use Instruction as I;
        let align = if st.encoding == StringEncoding::Utf8 {
            1
        } else {
            2
        };
        let b32 = self.local(ValType::I32);
        self.i(I::LocalGet(st.bytes));
        self.i(I::I32WrapI64);
        self.i(I::LocalSet(b32));
        self.i(I::I32Const(0));
        self.i(I::I32Const(0));
        self.i(I::I32Const(align));
        self.i(I::LocalGet(b32));
        let p = self.call_realloc(realloc, catch);
        if align > 1 {
            self.i(I::LocalGet(p));
            self.i(I::I32Const(align - 1));
            self.i(I::I32And);
            self.i(I::If(BlockType::Empty));
            self.trap(
                TRAP_REALLOC_UNALIGNED,
                &[I::I32Const(align), I::LocalGet(b32), I::LocalGet(p)],
            );
            self.i(I::End);
        }
        self.i(I::LocalGet(p));
        self.i(I::I64ExtendI32U);
        self.i(I::LocalGet(st.bytes));
        self.i(I::I64Add);
        self.mem_bytes(CALLEE_MEMORY);
        self.i(I::I64GtU);
        self.i(I::If(BlockType::Empty));
        self.trap(
            TRAP_REALLOC_STRING_OUT_OF_BOUNDS,
            &[
                I::I32Const(align),
                I::LocalGet(b32),
                I::LocalGet(p),
                I::MemorySize(CALLEE_MEMORY),
            ],
        );
        self.i(I::End);
        self.i(I::LocalGet(p));
        self.i(I::LocalGet(st.ptr));
        self.i(I::LocalGet(b32));
        self.i(I::MemoryCopy {
            src_mem: CALLER_MEMORY,
            dst_mem: CALLEE_MEMORY,
        });
        self.i(I::LocalGet(p));
        self.i(I::LocalSet(st.out_ptr));
        self.i(I::LocalGet(st.tagged));
        self.i(I::LocalSet(st.out_len));
        let Some(wide) = st.wide else { return };
        // Tagged UTF-16 with every unit in Latin-1: narrowed.
        self.i(I::LocalGet(st.tagged));
        self.i(I::I32Const(0));
        self.i(I::I32LtS);
        self.i(I::LocalGet(wide));
        self.i(I::I32Eqz);
        self.i(I::I32And);
        self.i(I::If(BlockType::Empty));
        let k = self.local(ValType::I32);
        self.i(I::I32Const(0));
        self.i(I::LocalSet(k));
        self.i(I::Block(BlockType::Empty));
        self.i(I::Loop(BlockType::Empty));
        self.i(I::LocalGet(k));
        self.i(I::LocalGet(st.units));
        self.i(I::I32GeU);
        self.i(I::BrIf(1));
        self.i(I::LocalGet(p));
        self.i(I::LocalGet(k));
        self.i(I::I32Add);
        self.i(I::LocalGet(p));
        self.i(I::LocalGet(k));
        self.i(I::I32Const(1));
        self.i(I::I32Shl);
        self.i(I::I32Add);
        self.i(I::I32Load8U(Self::callee_byte()));
        self.i(I::I32Store8(Self::callee_byte()));
        self.i(I::LocalGet(k));
        self.i(I::I32Const(1));
        self.i(I::I32Add);
        self.i(I::LocalSet(k));
        self.i(I::Br(0));
        self.i(I::End);
        self.i(I::End);
        self.i(I::LocalGet(p));
        self.i(I::LocalGet(b32));
        self.i(I::I32Const(1));
        self.i(I::LocalGet(st.units));
        let q = self.call_realloc(realloc, catch);
        self.i(I::LocalGet(q));
        self.i(I::I64ExtendI32U);
        self.i(I::LocalGet(st.units));
        self.i(I::I64ExtendI32U);
        self.i(I::I64Add);
        self.mem_bytes(CALLEE_MEMORY);
        self.i(I::I64GtU);
        self.i(I::If(BlockType::Empty));
        self.trap(
            TRAP_REALLOC_SHRINK_OUT_OF_BOUNDS,
            &[
                I::LocalGet(p),
                I::LocalGet(st.units),
                I::LocalGet(q),
                I::MemorySize(CALLEE_MEMORY),
            ],
        );
        self.i(I::End);
        self.i(I::LocalGet(q));
        self.i(I::LocalSet(st.out_ptr));
        self.i(I::LocalGet(st.units));
        self.i(I::LocalSet(st.out_len));
        self.i(I::End);
    }

    /// Lifts a value of type `t` out of `src` and lowers it into `dst`
    /// (both `t`'s flat slots, in their locals' types).
    fn copy(&mut self, t: InterfaceType, src: &[Slot], dst: &[Slot]) -> Result<(), ()> {
        use Instruction as I;
        use InterfaceType as T;
        let (Some(&s), Some(&d)) = (src.first(), dst.first()) else {
            return Err(());
        };
        match resolve(self.types, t)? {
            T::Bool => {
                self.read(s, ValType::I32);
                self.i(I::I32Const(0));
                self.i(I::I32Ne);
                self.write(d, ValType::I32);
            }
            T::S8 | T::S16 => {
                self.read(s, ValType::I32);
                self.i(if matches!(resolve(self.types, t)?, T::S8) {
                    I::I32Extend8S
                } else {
                    I::I32Extend16S
                });
                self.write(d, ValType::I32);
            }
            T::U8 | T::U16 => {
                self.read(s, ValType::I32);
                let mask = if matches!(resolve(self.types, t)?, T::U8) {
                    0xff
                } else {
                    0xffff
                };
                self.i(I::I32Const(mask));
                self.i(I::I32And);
                self.write(d, ValType::I32);
            }
            T::S32 | T::U32 => {
                self.read(s, ValType::I32);
                self.write(d, ValType::I32);
            }
            T::S64 | T::U64 => {
                self.read(s, ValType::I64);
                self.write(d, ValType::I64);
            }
            T::F32 => {
                // NaNs lift as the canonical NaN.
                let tmp = self.local(ValType::F32);
                self.read(s, ValType::F32);
                self.i(I::LocalSet(tmp));
                self.i(I::F32Const(f32::from_bits(0x7fc0_0000).into()));
                self.i(I::LocalGet(tmp));
                self.i(I::LocalGet(tmp));
                self.i(I::LocalGet(tmp));
                self.i(I::F32Ne);
                self.i(I::Select);
                self.write(d, ValType::F32);
            }
            T::F64 => {
                let tmp = self.local(ValType::F64);
                self.read(s, ValType::F64);
                self.i(I::LocalSet(tmp));
                self.i(I::F64Const(f64::from_bits(0x7ff8_0000_0000_0000).into()));
                self.i(I::LocalGet(tmp));
                self.i(I::LocalGet(tmp));
                self.i(I::LocalGet(tmp));
                self.i(I::F64Ne);
                self.i(I::Select);
                self.write(d, ValType::F64);
            }
            T::Char => {
                // A surrogate or past U+10FFFF traps.
                let tmp = self.local(ValType::I32);
                self.read(s, ValType::I32);
                self.i(I::LocalTee(tmp));
                self.i(I::I32Const(0x11_0000));
                self.i(I::I32GeU);
                self.i(I::LocalGet(tmp));
                self.i(I::I32Const(0xd800));
                self.i(I::I32Sub);
                self.i(I::I32Const(0x800));
                self.i(I::I32LtU);
                self.i(I::I32Or);
                self.i(I::If(BlockType::Empty));
                self.trap(TRAP_INVALID_CHAR, &[I::LocalGet(tmp)]);
                self.i(I::End);
                self.i(I::LocalGet(tmp));
                self.write(d, ValType::I32);
            }
            T::String | T::ErrorContext => return Err(()),
            T::Defined(i) => match self.types.defined(i) {
                DefinedType::Record(fs) => {
                    let fs: Vec<_> = fs.iter().map(|(_, t)| *t).collect();
                    self.copy_fields(&fs, src, dst)?;
                }
                DefinedType::Tuple(ts) => {
                    let ts = ts.clone();
                    self.copy_fields(&ts, src, dst)?;
                }
                DefinedType::FixedLengthList { element, len } => {
                    let ts = vec![*element; *len as usize];
                    self.copy_fields(&ts, src, dst)?;
                }
                DefinedType::Flags(names) => {
                    // Bits past the type's flags are ignored.
                    self.read(s, ValType::I32);
                    if names.len() < 32 {
                        self.i(I::I32Const(((1u32 << names.len()) - 1) as i32));
                        self.i(I::I32And);
                    }
                    self.write(d, ValType::I32);
                }
                other => {
                    let cs = cases(other).ok_or(())?;
                    self.copy_variant(&cs, src, dst)?;
                }
            },
        }
        Ok(())
    }

    /// Record, tuple and fixed-length list fields, one after the other.
    fn copy_fields(&mut self, ts: &[InterfaceType], src: &[Slot], dst: &[Slot]) -> Result<(), ()> {
        let mut at = 0;
        for t in ts {
            let n = flat(self.types, *t)?.len();
            let (s, d) = (
                src.get(at..at + n).ok_or(())?,
                dst.get(at..at + n).ok_or(())?,
            );
            self.copy(*t, s, d)?;
            at += n;
        }
        Ok(())
    }

    /// A variant: the discriminant checked and copied, the payload slots
    /// zeroed, then the case's payload copied.
    fn copy_variant(
        &mut self,
        cs: &[Option<InterfaceType>],
        src: &[Slot],
        dst: &[Slot],
    ) -> Result<(), ()> {
        use Instruction as I;
        let disc = self.local(ValType::I32);
        self.read(src[0], ValType::I32);
        self.i(I::LocalTee(disc));
        self.i(I::I32Const(cs.len() as i32));
        self.i(I::I32GeU);
        self.i(I::If(BlockType::Empty));
        self.trap(
            TRAP_INVALID_DISCRIMINANT,
            &[I::LocalGet(disc), I::I32Const(cs.len() as i32)],
        );
        self.i(I::End);
        self.i(I::LocalGet(disc));
        self.write(dst[0], ValType::I32);
        for d in &dst[1..] {
            self.i(match d.ty {
                ValType::I32 => I::I32Const(0),
                ValType::I64 => I::I64Const(0),
                ValType::F32 => I::F32Const(0.0f32.into()),
                ValType::F64 => I::F64Const(0.0f64.into()),
                _ => return Err(()),
            });
            self.i(I::LocalSet(d.local));
        }
        for (k, p) in cs.iter().enumerate() {
            let Some(p) = p else { continue };
            let n = flat(self.types, *p)?.len();
            if n == 0 {
                continue;
            }
            self.i(I::LocalGet(disc));
            self.i(I::I32Const(k as i32));
            self.i(I::I32Eq);
            self.i(I::If(BlockType::Empty));
            let (s, d) = (src.get(1..1 + n).ok_or(())?, dst.get(1..1 + n).ok_or(())?);
            self.copy(*p, s, d)?;
            self.i(I::End);
        }
        Ok(())
    }
}

/// The adapter module of a function of type `ft` (the same on both sides)
/// entering `entering` instances, or `None` if this layer does not compile
/// it.
fn generate(
    types: &ComponentTypes,
    ft: &FuncType,
    encoding: StringEncoding,
    entering: usize,
    post_return: bool,
    catch: bool,
) -> Option<Vec<u8>> {
    use Instruction as I;
    // Each parameter: its type, its flat count, how it crosses.
    let mut params = Vec::new();
    let mut param_tys = Vec::new();
    for (_, t) in &ft.params {
        if let Some(size) = list_layout(types, *t) {
            params.push((*t, 2, Param::List(size)));
            param_tys.extend([ValType::I32, ValType::I32]);
            continue;
        }
        if let Ok(InterfaceType::String) = resolve(types, *t) {
            params.push((*t, 2, Param::String));
            param_tys.extend([ValType::I32, ValType::I32]);
            continue;
        }
        let v = flat(types, *t).ok()?;
        params.push((*t, v.len(), Param::Flat));
        param_tys.extend(v);
    }
    let strings = params.iter().any(|p| matches!(p.2, Param::String));
    let lists = strings || params.iter().any(|p| matches!(p.2, Param::List(_)));
    let realloc_func = POST_RETURN_FUNC + u32::from(post_return);
    let validate_func = realloc_func + u32::from(lists);
    let results = match ft.result {
        Some(t) => flat(types, t).ok()?,
        None => Vec::new(),
    };
    if param_tys.len() > MAX_FLAT_PARAMS || results.len() > MAX_FLAT_RESULTS {
        return None;
    }

    let mut body = Body {
        types,
        params: param_tys.len() as u32,
        locals: Vec::new(),
        code: Vec::new(),
    };
    let src: Vec<Slot> = param_tys
        .iter()
        .enumerate()
        .map(|(i, t)| Slot {
            local: i as u32,
            ty: *t,
        })
        .collect();
    let dst: Vec<Slot> = param_tys
        .iter()
        .map(|t| Slot {
            local: body.local(*t),
            ty: *t,
        })
        .collect();

    // 1. The caller may leave.
    body.i(I::GlobalGet(CALLER_FLAGS));
    body.i(I::I32Const(FLAG_MAY_LEAVE));
    body.i(I::I32And);
    body.i(I::I32Eqz);
    body.i(I::If(BlockType::Empty));
    body.trap(TRAP_CANNOT_LEAVE, &[]);
    body.i(I::End);
    // 2. The arguments. A list's or string's range in the caller's memory
    // is checked here (`load_list_from_range`, `load_string_from_range`:
    // length, alignment, bounds; a string's code units too); its copy
    // into the callee's memory is made once the call has entered (4).
    let mut at = 0;
    let mut copies = Vec::new();
    for &(t, n, kind) in &params {
        let (s, d) = (&src[at..at + n], &dst[at..at + n]);
        at += n;
        let size = match kind {
            Param::Flat => {
                body.copy(t, s, d).ok()?;
                continue;
            }
            Param::String => {
                copies.push(body.check_string(encoding, s, d, validate_func));
                continue;
            }
            Param::List(size) => size,
        };
        let (ptr, count) = (s[0].local, s[1].local);
        let bytes = body.local(ValType::I64);
        body.i(I::LocalGet(count));
        body.i(I::I64ExtendI32U);
        body.i(I::I64Const(i64::from(size)));
        body.i(I::I64Mul);
        body.i(I::LocalTee(bytes));
        body.i(I::I64Const(MAX_LIST_BYTE_LENGTH));
        body.i(I::I64GtU);
        body.i(I::If(BlockType::Empty));
        body.trap(
            TRAP_LIST_TOO_LONG,
            &[
                I::LocalGet(count),
                I::I32Const(size as i32),
                I::LocalGet(ptr),
            ],
        );
        body.i(I::End);
        if size > 1 {
            body.i(I::LocalGet(ptr));
            body.i(I::I32Const(size as i32 - 1));
            body.i(I::I32And);
            body.i(I::If(BlockType::Empty));
            body.trap(
                TRAP_LIST_UNALIGNED,
                &[I::LocalGet(ptr), I::I32Const(size as i32)],
            );
            body.i(I::End);
        }
        body.i(I::LocalGet(ptr));
        body.i(I::I64ExtendI32U);
        body.i(I::LocalGet(bytes));
        body.i(I::I64Add);
        body.mem_bytes(CALLER_MEMORY);
        body.i(I::I64GtU);
        body.i(I::If(BlockType::Empty));
        body.trap(
            TRAP_LIST_OUT_OF_BOUNDS,
            &[
                I::LocalGet(count),
                I::I32Const(size as i32),
                I::LocalGet(ptr),
                I::MemorySize(CALLER_MEMORY),
            ],
        );
        body.i(I::End);
        body.i(I::LocalGet(count));
        body.i(I::LocalSet(d[1].local));
        copies.push(Copy::List {
            ptr,
            bytes,
            size,
            out: d[0].local,
        });
    }
    // 3. Enter.
    let enter: Vec<u32> = (0..entering as u32).map(|i| FIRST_ENTER + i).collect();
    for &g in &enter {
        body.i(I::GlobalGet(g));
        body.i(I::I32Const(FLAG_MAY_ENTER));
        body.i(I::I32And);
        body.i(I::I32Eqz);
        body.i(I::If(BlockType::Empty));
        body.trap(TRAP_CANNOT_ENTER, &[]);
        body.i(I::End);
    }
    for &g in &enter {
        body.i(I::GlobalGet(g));
        body.i(I::I32Const(!FLAG_MAY_ENTER));
        body.i(I::I32And);
        body.i(I::GlobalSet(g));
    }
    // The lists lowered into the callee (`store_list_into_range`):
    // `realloc(0, 0, align, bytes)` with the callee's `may_leave` cleared,
    // its result checked, the bytes copied between the memories.
    for c in &copies {
        let (ptr, bytes, size, out) = match *c {
            Copy::List {
                ptr,
                bytes,
                size,
                out,
            } => (ptr, bytes, size, out),
            Copy::String(ref st) => {
                body.store_string(st, realloc_func, catch);
                continue;
            }
        };
        let p = body.local(ValType::I32);
        body.i(I::GlobalGet(CALLEE_FLAGS));
        body.i(I::I32Const(!FLAG_MAY_LEAVE));
        body.i(I::I32And);
        body.i(I::GlobalSet(CALLEE_FLAGS));
        body.i(I::I32Const(0));
        body.i(I::I32Const(0));
        body.i(I::I32Const(size as i32));
        body.i(I::LocalGet(bytes));
        body.i(I::I32WrapI64);
        body.call_no_throw(realloc_func, REALLOC_TYPE, REALLOC_VOID_TYPE, catch);
        body.i(I::LocalSet(p));
        body.i(I::GlobalGet(CALLEE_FLAGS));
        body.i(I::I32Const(FLAG_MAY_LEAVE));
        body.i(I::I32Or);
        body.i(I::GlobalSet(CALLEE_FLAGS));
        let b32 = body.local(ValType::I32);
        body.i(I::LocalGet(bytes));
        body.i(I::I32WrapI64);
        body.i(I::LocalSet(b32));
        let realloc_args = |mem: Option<u32>| {
            let mut v = vec![I::I32Const(size as i32), I::LocalGet(b32), I::LocalGet(p)];
            v.extend(mem.map(I::MemorySize));
            v
        };
        if size > 1 {
            body.i(I::LocalGet(p));
            body.i(I::I32Const(size as i32 - 1));
            body.i(I::I32And);
            body.i(I::If(BlockType::Empty));
            body.trap(TRAP_REALLOC_UNALIGNED, &realloc_args(None));
            body.i(I::End);
        }
        body.i(I::LocalGet(p));
        body.i(I::I64ExtendI32U);
        body.i(I::LocalGet(bytes));
        body.i(I::I64Add);
        body.mem_bytes(CALLEE_MEMORY);
        body.i(I::I64GtU);
        body.i(I::If(BlockType::Empty));
        body.trap(
            TRAP_REALLOC_LIST_OUT_OF_BOUNDS,
            &realloc_args(Some(CALLEE_MEMORY)),
        );
        body.i(I::End);
        body.i(I::LocalGet(p));
        body.i(I::LocalGet(ptr));
        body.i(I::LocalGet(bytes));
        body.i(I::I32WrapI64);
        body.i(I::MemoryCopy {
            src_mem: CALLER_MEMORY,
            dst_mem: CALLEE_MEMORY,
        });
        body.i(I::LocalGet(p));
        body.i(I::LocalSet(out));
    }
    // 4. The call.
    for d in &dst {
        body.i(I::LocalGet(d.local));
    }
    body.call_no_throw(CALLEE_FUNC, CALLEE_TYPE, CALLEE_VOID_TYPE, catch);
    // 5. The result.
    let result = match (ft.result, results.first()) {
        (Some(t), Some(&rt)) => {
            let raw = Slot {
                local: body.local(rt),
                ty: rt,
            };
            let out = Slot {
                local: body.local(rt),
                ty: rt,
            };
            body.i(I::LocalSet(raw.local));
            body.copy(t, &[raw], &[out]).ok()?;
            Some((raw, out))
        }
        _ => None,
    };
    // 6. post-return, not allowed to leave.
    if post_return {
        body.i(I::GlobalGet(CALLEE_FLAGS));
        body.i(I::I32Const(!FLAG_MAY_LEAVE));
        body.i(I::I32And);
        body.i(I::GlobalSet(CALLEE_FLAGS));
        if let Some((raw, _)) = result {
            body.i(I::LocalGet(raw.local));
        }
        body.call_no_throw(POST_RETURN_FUNC, POST_RETURN_TYPE, POST_RETURN_TYPE, catch);
        body.i(I::GlobalGet(CALLEE_FLAGS));
        body.i(I::I32Const(FLAG_MAY_LEAVE));
        body.i(I::I32Or);
        body.i(I::GlobalSet(CALLEE_FLAGS));
    }
    // 7. Leave.
    for &g in &enter {
        body.i(I::GlobalGet(g));
        body.i(I::I32Const(FLAG_MAY_ENTER));
        body.i(I::I32Or);
        body.i(I::GlobalSet(g));
    }
    if let Some((_, out)) = result {
        body.i(I::LocalGet(out.local));
    }
    body.i(I::End);

    // The module.
    let mut module = Module::new();
    let mut tys = TypeSection::new();
    tys.ty().function([ValType::I32; 5], []);
    tys.ty()
        .function(param_tys.iter().copied(), results.iter().copied());
    tys.ty().function(results.iter().copied(), []);
    tys.ty().function([ValType::I32; 4], [ValType::I32]);
    tys.ty().function(param_tys.iter().copied(), []);
    tys.ty().function([ValType::I32; 4], []);
    tys.ty().function([ValType::I32; 3], [ValType::I32]);
    module.section(&tys);
    let mut imports = ImportSection::new();
    imports.import("fact", "trap", EntityType::Function(0));
    imports.import("fact", "callee", EntityType::Function(1));
    if post_return {
        imports.import("fact", "post_return", EntityType::Function(2));
    }
    if lists {
        imports.import("fact", "realloc", EntityType::Function(REALLOC_TYPE));
        let memory = EntityType::Memory(wasm_encoder::MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        if strings {
            imports.import("fact", "validate", EntityType::Function(VALIDATE_TYPE));
        }
        imports.import("fact", "caller_memory", memory);
        imports.import("fact", "callee_memory", memory);
    }
    let flags = EntityType::Global(GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    });
    imports.import("fact", "caller_flags", flags);
    imports.import("fact", "callee_flags", flags);
    for _ in 0..entering {
        imports.import("fact", "enter", flags);
    }
    module.section(&imports);
    let mut funcs = FunctionSection::new();
    funcs.function(1);
    module.section(&funcs);
    let mut exports = ExportSection::new();
    let adapter = validate_func + u32::from(strings);
    exports.export("adapter", ExportKind::Func, adapter);
    module.section(&exports);
    let mut code = CodeSection::new();
    let mut f = Function::new_with_locals_types(body.locals.iter().copied());
    for i in &body.code {
        f.instruction(i);
    }
    code.function(&f);
    module.section(&code);
    Some(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(bytes: &[u8]) {
        wasmparser::Validator::new()
            .validate_all(bytes)
            .expect("a generated adapter module validates");
    }

    #[test]
    fn entering_sets() {
        let c = ComponentInstanceId;
        // 0 <- 1 <- 2, 0 <- 3
        let parents = vec![None, Some(c(0)), Some(c(1)), Some(c(0))];
        assert_eq!(entering_set(&parents, c(3), c(2)), vec![c(3)]);
        assert_eq!(entering_set(&parents, c(2), c(3)), vec![c(2), c(1)]);
        // A child calling its parent enters nothing.
        assert_eq!(entering_set(&parents, c(1), c(2)), vec![]);
        assert_eq!(entering_set(&parents, c(2), c(1)), vec![c(2)]);
    }

    #[test]
    fn scalar_adapters_validate() {
        use InterfaceType as T;
        let types = ComponentTypes::default();
        for t in [
            T::Bool,
            T::S8,
            T::U8,
            T::S16,
            T::U16,
            T::S32,
            T::U32,
            T::S64,
            T::U64,
            T::F32,
            T::F64,
            T::Char,
        ] {
            let ft = FuncType {
                params: vec![("a".into(), t), ("b".into(), t)],
                result: Some(t),
                async_: false,
            };
            for (entering, post, catch) in [(0, false, false), (2, true, true), (1, false, true)] {
                let bytes = generate(&types, &ft, StringEncoding::Utf8, entering, post, catch)
                    .expect("scalars compile");
                validate(&bytes);
            }
        }
        let s = FuncType {
            params: vec![("s".into(), T::String)],
            result: None,
            async_: false,
        };
        // Strings as parameters, in each encoding; not as the result.
        for enc in [
            StringEncoding::Utf8,
            StringEncoding::Utf16,
            StringEncoding::Latin1Utf16,
        ] {
            for (post, catch) in [(false, false), (true, true)] {
                let bytes = generate(&types, &s, enc, 1, post, catch).expect("strings compile");
                validate(&bytes);
            }
        }
        let r = FuncType {
            params: vec![],
            result: Some(T::String),
            async_: false,
        };
        assert!(generate(&types, &r, StringEncoding::Utf8, 1, false, true).is_none());
        // Lists of integers as parameters (two memories, realloc); not as
        // the result.
        let mut types = ComponentTypes::default();
        types.defined.push(DefinedType::List(T::U16));
        let list = T::Defined(super::super::types::TypeIndex(0));
        let ft = FuncType {
            params: vec![("a".into(), list), ("b".into(), T::U8), ("c".into(), list)],
            result: Some(T::U32),
            async_: false,
        };
        for catch in [false, true] {
            let bytes = generate(&types, &ft, StringEncoding::Utf8, 1, true, catch)
                .expect("integer lists compile");
            validate(&bytes);
        }
        let ft = FuncType {
            params: vec![],
            result: Some(list),
            async_: false,
        };
        assert!(generate(&types, &ft, StringEncoding::Utf8, 1, true, true).is_none());
    }
}
