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
//! What is compiled: functions with the same type on both sides made of
//! scalars (`bool`, the integers, floats, `char`), strings (in any pair of
//! `string-encoding`s), records, tuples, variants, enums, options,
//! results, flags, lists and fixed-length lists of any of these, and maps;
//! with parameters past 16 flat values passed in memory (the caller's
//! pointer, the callee's `realloc`) and results past one flat value
//! through the return pointer (the callee's pointer into its memory, the
//! caller's return area). Resource handles (`own`, `borrow`: the two
//! instances' handle tables), `error-context`, streams and futures, types
//! that differ structurally between the two sides and roots that use the
//! async ABI stay dynamic.
//!
//! The adapter's body, in the dynamic path's order (so traps and the
//! instances they close are the same):
//!
//! 1. trap "cannot leave component instance" unless the caller's flags
//!    have [`FLAG_MAY_LEAVE`];
//! 2. the arguments lifted out of the caller (its core values, or past 16
//!    of them its memory at the pointer it passed, checked for alignment
//!    and bounds): every check of the spec's lift, with nothing written
//!    yet — `char`s (surrogates and past U+10FFFF trap), discriminants
//!    against their case count, strings (`load_string_from_range`: the
//!    length limit, the alignment, the bounds, then the code units by the
//!    host's `validate`), lists and maps (`load_list_from_range`: the
//!    length limit, alignment, bounds, then each element), with the
//!    dynamic path's lift budget (twice the memory and 1 MiB of list and
//!    string contents, `LiftTooLarge` past it) charged where it charges;
//! 3. the entering set (the callee and its ancestors the caller is not in,
//!    known statically from the inliner's `parents`): trap "cannot enter
//!    component instance" if one lacks [`FLAG_MAY_ENTER`], then clear it
//!    in each;
//! 4. the arguments lowered into the callee: scalars normalised (`bool`
//!    to 0/1, narrow integers masked or sign-extended, NaNs canonical,
//!    flag bits past the type's flags cleared, a variant's unused payload
//!    slots zeroed), past 16 flat values into the area of the callee's
//!    `realloc(0, 0, align, size)`; strings and lists into areas of the
//!    callee's `realloc` called with its `may_leave` cleared, each result
//!    checked (alignment, bounds) — lists as one multi-memory
//!    `memory.copy` when their elements cross as their bytes, an element
//!    loop otherwise; strings with the spec's exact `realloc` sequence
//!    for the two encodings (`store_string_copy`, `store_utf16_to_utf8`,
//!    `store_latin1_to_utf8`, `store_utf8_to_utf16`,
//!    `store_string_to_latin1_or_utf16`,
//!    `store_probably_utf16_to_latin1_or_utf16`), the code units
//!    converted by the host's `transcode` between the `realloc` calls;
//! 5. the callee's core function called — with the exceptions proposal
//!    on, inside a `try_table` whose `catch_all` traps "uncaught exception
//!    propagated out of component" (the canonical ABI's
//!    `call_and_trap_on_throw`; the same for `post-return` and `realloc`),
//!    so an exception never reaches the caller's handlers;
//! 6. the result lifted out of the callee (its core value, or its pointer
//!    checked as "the result area") and lowered into the caller the same
//!    way (a return pointer checked as "the return pointer's area", the
//!    caller's `realloc` with the caller's `may_leave` cleared) — before
//!    the callee's `post-return`, as the spec's `canon_lift` returns its
//!    value (the callee's memory the result points into is still its
//!    own until `post-return` frees it);
//! 7. the callee's `post-return` with its [`FLAG_MAY_LEAVE`] cleared;
//! 8. the entering set opened again. A trap anywhere past step 3 unwinds
//!    without it, so the instances stay closed for good (the spec's
//!    poisoning), as in the dynamic path.
//!
//! Traps with a component-model message go through one imported host
//! function, `trap(code, a, b, c, d, e, f)` ([`TRAP_CANNOT_LEAVE`] ...),
//! which never returns.
//!
//! Imports of an adapter module, in this order: functions `fact.trap`,
//! `fact.callee`, `fact.post_return` (if the callee has one),
//! `fact.realloc` (the callee's, if the arguments use its memory),
//! `fact.caller_realloc` (the caller's, if the result holds strings or
//! lists), `fact.validate` and `fact.transcode` (if a string crosses);
//! memories `fact.caller_memory`, `fact.callee_memory` (if a value uses
//! memory); mutable `i32` globals `fact.caller_flags`, `fact.callee_flags`,
//! then one `fact.enter` per instance of [`AdapterPlan::entering`].
//! Export: `adapter`.

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

/// How many `i32` arguments `trap` takes after its code.
pub const TRAP_ARGS: usize = 6;

/// `trap`'s codes: "cannot leave component instance".
pub const TRAP_CANNOT_LEAVE: i32 = 0;
/// "cannot enter component instance".
pub const TRAP_CANNOT_ENTER: i32 = 1;
/// An invalid `char` (`a` = its bits).
pub const TRAP_INVALID_CHAR: i32 = 2;
/// A discriminant past the case count (`a` = it, `b` = the count), of a
/// value passed as core values.
pub const TRAP_INVALID_DISCRIMINANT: i32 = 3;
/// A list longer than the canonical ABI allows (`a` = count, `b` = element
/// size, `c` = pointer).
pub const TRAP_LIST_TOO_LONG: i32 = 4;
/// A list pointer not aligned to its element (`a` = pointer, `b` = alignment).
pub const TRAP_LIST_UNALIGNED: i32 = 5;
/// A list's elements past the source's memory (`a` = count, `b` = element
/// size, `c` = pointer, `d` = the memory's pages).
pub const TRAP_LIST_OUT_OF_BOUNDS: i32 = 6;
/// A `realloc(a, b, c, d)` returned a pointer `e` not aligned to `c`.
pub const TRAP_REALLOC_UNALIGNED: i32 = 7;
/// A `realloc(a, b, c, d)` for a list returned `e`, an area past its
/// memory of `f` pages.
pub const TRAP_REALLOC_LIST_OUT_OF_BOUNDS: i32 = 8;
/// A core exception escaped the callee, its `post-return` or a `realloc`
/// (the canonical ABI's `call_and_trap_on_throw`).
pub const TRAP_UNCAUGHT_EXCEPTION: i32 = 9;
/// A string longer than the canonical ABI allows (`a` = code units, `b` =
/// bytes per unit, `c` = pointer).
pub const TRAP_STRING_TOO_LONG: i32 = 10;
/// A string pointer not aligned (`a` = pointer, `b` = alignment).
pub const TRAP_STRING_UNALIGNED: i32 = 11;
/// A string past the source's memory (`a` = code units, `b` = bytes per
/// unit, `c` = pointer, `d` = the memory's pages).
pub const TRAP_STRING_OUT_OF_BOUNDS: i32 = 12;
/// A `realloc(a, b, c, d)` for a string returned `e`, an area past its
/// memory of `f` pages.
pub const TRAP_REALLOC_STRING_OUT_OF_BOUNDS: i32 = 13;
/// A `realloc(a, b, c, d)` for spilled arguments returned `e`, an area
/// past its memory of `f` pages.
pub const TRAP_REALLOC_OUT_OF_BOUNDS: i32 = 14;
/// A discriminant in memory past the case count (`a` = it, `b` = the
/// count, `c` = its address).
pub const TRAP_INVALID_DISCRIMINANT_AT: i32 = 15;
/// A pointer to a value not aligned (`a` = what: [`WHAT_SPILLED_ARGS`]
/// ..., `b` = pointer, `c` = alignment).
pub const TRAP_POINTER_UNALIGNED: i32 = 16;
/// A value past its memory (`a` = what, `b` = its size, `c` = pointer,
/// `d` = the memory's pages).
pub const TRAP_POINTER_OUT_OF_BOUNDS: i32 = 17;
/// The lift budget is spent (`a` = the bytes asked for).
pub const TRAP_LIFT_TOO_LARGE: i32 = 18;

/// What a pointer checked by [`TRAP_POINTER_UNALIGNED`] and
/// [`TRAP_POINTER_OUT_OF_BOUNDS`] points to: the caller's spilled
/// arguments, the callee's result, the caller's return area.
pub const WHAT_SPILLED_ARGS: i32 = 0;
pub const WHAT_RESULT_AREA: i32 = 1;
pub const WHAT_RETURN_AREA: i32 = 2;

/// `validate(mem, kind, ptr, bytes) -> i32`'s kinds (`mem`: 0 the
/// caller's memory, 1 the callee's): the bytes must be UTF-8; the result
/// is 0.
pub const VALIDATE_UTF8: i32 = 0;
/// The bytes must be UTF-16 (little-endian, no unpaired surrogate); the
/// result is 1 if a code unit is past Latin-1 (>= 0x100), else 0.
pub const VALIDATE_UTF16: i32 = 1;

/// `transcode(dir, op, src, n, dst, at) -> i32`'s operations, over a
/// checked source string of `n` code units at `src` (in the caller's
/// memory for `dir` 0, the callee's for 1) into the other memory at
/// `dst`, an area the adapter allocated and checked. Latin-1 to UTF-16
/// (`2n` bytes); the result `n`.
pub const XC_LATIN1_TO_UTF16: i32 = 0;
/// UTF-8 to UTF-16 (at most `2n` bytes); the result: the UTF-16 units.
pub const XC_UTF8_TO_UTF16: i32 = 1;
/// UTF-16 (Latin-1) to UTF-8: the leading ASCII characters copied (at
/// most `n` bytes); the result: how many.
pub const XC_ASCII_UTF16: i32 = 2;
pub const XC_ASCII_LATIN1: i32 = 3;
/// UTF-16 (Latin-1) to UTF-8: the characters from unit `at` on encoded at
/// `dst + at` (the first `at` were ASCII); the result: the whole
/// encoding's length.
pub const XC_UTF8_REST_UTF16: i32 = 4;
pub const XC_UTF8_REST_LATIN1: i32 = 5;
/// UTF-8 (UTF-16) to Latin-1: the leading characters below U+0100 written
/// as bytes; the result: how many, with the top bit set if a character
/// past Latin-1 stopped it.
pub const XC_LATIN1_UTF8: i32 = 6;
pub const XC_LATIN1_UTF16: i32 = 7;
/// UTF-8 (UTF-16) to UTF-16 after `at` Latin-1 bytes were written at
/// `dst`: those inflated in place to UTF-16, the characters after them
/// encoded after them; the result: the UTF-16 units.
pub const XC_UTF16_REST_UTF8: i32 = 8;
pub const XC_UTF16_REST_UTF16: i32 = 9;

/// The top bit of a `latin1+utf16` string's length: its units are UTF-16.
const UTF16_TAG: i32 = i32::MIN;

/// The adapter module's type indices: the trap intrinsic's, the callee's
/// (its parameters to its results), the post-return's (the results to
/// nothing), `realloc`'s, as block types the callee's and `realloc`'s
/// parameters to nothing, the intrinsics', the adapter's own.
const CALLEE_TYPE: u32 = 1;
const POST_RETURN_TYPE: u32 = 2;
const REALLOC_TYPE: u32 = 3;
const CALLEE_VOID_TYPE: u32 = 4;
const REALLOC_VOID_TYPE: u32 = 5;
const VALIDATE_TYPE: u32 = 6;
const TRANSCODE_TYPE: u32 = 7;
const ADAPTER_TYPE: u32 = 8;

/// The canonical ABI's limit on a list's (and a string's) byte length.
const MAX_LIST_BYTE_LENGTH: i64 = (1 << 28) - 1;

/// The most flat parameters passed as core values (past it, memory).
const MAX_FLAT_PARAMS: usize = 16;
/// The most flat results returned as core values.
const MAX_FLAT_RESULTS: usize = 1;

/// How one adapter is compiled: which module, what it imports.
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
    /// Whether the arguments are written into the callee's memory (strings,
    /// lists, spilled parameters): the adapter imports the callee's
    /// `realloc` (`fact.realloc`).
    pub callee_realloc: bool,
    /// Whether the result holds strings or lists: the adapter imports the
    /// caller's `realloc` (`fact.caller_realloc`).
    pub caller_realloc: bool,
    /// Whether a string crosses: the adapter imports the host's
    /// `fact.validate` and `fact.transcode`, over both memories.
    pub strings: bool,
    /// Whether a value uses memory: the adapter imports
    /// `fact.caller_memory` and `fact.callee_memory`.
    pub memories: bool,
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
/// use: with `exceptions`, the callee's call, its `post-return` and
/// `realloc` are inside a `try_table` that turns an escaping exception
/// into a trap (the canonical ABI's `call_and_trap_on_throw`; without
/// them nothing can throw); without `multi_memory`, adapters whose values
/// use memory stay dynamic.
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
        let Some(shape) = Shape::of(types, lifted) else {
            continue;
        };
        let entering = entering_set(&inl.parents, lift.instance, *lower_instance);
        let post_return = lift.options.post_return.is_some();
        // What the values need of the two sides' options (validation
        // makes sure they are there; a missing one keeps the dynamic
        // adapter, which reports it).
        if shape.memories
            && (!features.multi_memory
                || lift.options.memory.is_none()
                || lower_options.memory.is_none())
        {
            continue;
        }
        if (shape.callee_realloc && lift.options.realloc.is_none())
            || (shape.caller_realloc && lower_options.realloc.is_none())
        {
            continue;
        }
        let Some(bytes) = generate(
            types,
            &shape,
            (lower_options.string_encoding, lift.options.string_encoding),
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
                callee_realloc: shape.callee_realloc,
                caller_realloc: shape.caller_realloc,
                strings: shape.strings,
                memories: shape.memories,
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

/// Whether two function types are the same (names, types, structure) and
/// made only of types this layer compiles.
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

/// Whether two interface types are structurally the same and compiled
/// here (everything but resource handles, `error-context`, streams and
/// futures).
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
            (DefinedType::List(e), DefinedType::List(f)) => same(types, *e, *f, depth + 1),
            (DefinedType::Map { key: k, value: v }, DefinedType::Map { key: l, value: w }) => {
                same(types, *k, *l, depth + 1) && same(types, *v, *w, depth + 1)
            }
            // Handles (the two instances' tables), streams and futures
            // stay dynamic.
            _ => false,
        },
        (T::String, T::String) => true,
        (T::ErrorContext, _) | (_, T::ErrorContext) => false,
        (T::Defined(_), _) | (_, T::Defined(_)) | (T::String, _) | (_, T::String) => false,
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

/// Joins two flat types into a variant slot's type (`join`).
fn join(a: ValType, b: ValType) -> ValType {
    match (a, b) {
        (a, b) if a == b => a,
        (ValType::I32, ValType::F32) | (ValType::F32, ValType::I32) => ValType::I32,
        _ => ValType::I64,
    }
}

/// The flat core types of `t`, appended to `out`; `Err` past `cap` values
/// (the value is then passed in memory) or for a type this layer does not
/// compile.
fn flatten(
    types: &ComponentTypes,
    t: InterfaceType,
    out: &mut Vec<ValType>,
    cap: usize,
    depth: u32,
) -> Result<(), ()> {
    use InterfaceType as T;
    if depth > 100 || out.len() > cap {
        return Err(());
    }
    match resolve(types, t)? {
        T::Bool | T::S8 | T::U8 | T::S16 | T::U16 | T::S32 | T::U32 | T::Char => {
            out.push(ValType::I32)
        }
        T::S64 | T::U64 => out.push(ValType::I64),
        T::F32 => out.push(ValType::F32),
        T::F64 => out.push(ValType::F64),
        T::String => out.extend([ValType::I32, ValType::I32]),
        T::ErrorContext => return Err(()),
        T::Defined(i) => match types.defined(i) {
            DefinedType::Record(fs) => {
                for (_, f) in fs {
                    flatten(types, *f, out, cap, depth + 1)?;
                }
            }
            DefinedType::Tuple(ts) => {
                for f in ts {
                    flatten(types, *f, out, cap, depth + 1)?;
                }
            }
            DefinedType::FixedLengthList { element, len } => {
                if *len as usize > cap {
                    return Err(());
                }
                for _ in 0..*len {
                    flatten(types, *element, out, cap, depth + 1)?;
                }
            }
            DefinedType::List(_) | DefinedType::Map { .. } => {
                out.extend([ValType::I32, ValType::I32])
            }
            DefinedType::Flags(_) => out.push(ValType::I32),
            d => {
                let cs = cases(d).ok_or(())?;
                out.push(ValType::I32);
                let mut joined: Vec<ValType> = Vec::new();
                for p in cs.into_iter().flatten() {
                    let mut v = Vec::new();
                    flatten(types, p, &mut v, cap, depth + 1)?;
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
    if out.len() > cap {
        return Err(());
    }
    Ok(())
}

/// The flat types of `t` (at most [`MAX_FLAT_PARAMS`]), or `Err`.
fn flat(types: &ComponentTypes, t: InterfaceType) -> Result<Vec<ValType>, ()> {
    let mut v = Vec::new();
    flatten(types, t, &mut v, MAX_FLAT_PARAMS, 0)?;
    Ok(v)
}

/// The flat types of several values, or `None` past `cap` of them.
fn flat_all(types: &ComponentTypes, ts: &[InterfaceType], cap: usize) -> Option<Vec<ValType>> {
    let mut v = Vec::new();
    for t in ts {
        flatten(types, *t, &mut v, cap, 0).ok()?;
    }
    Some(v)
}

/// A value's size and alignment in memory (the spec's `elem_size` and
/// `alignment`); sizes past 2^31 are refused (`Err`: never compiled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    size: u32,
    align: u32,
}

fn align_to(x: u64, align: u32) -> u64 {
    x.div_ceil(u64::from(align)) * u64::from(align)
}

/// The bytes of a variant's discriminant (`discriminant_type`).
fn discriminant_size(n: usize) -> u32 {
    if n <= 1 << 8 {
        1
    } else if n <= 1 << 16 {
        2
    } else {
        4
    }
}

/// The bytes of a flags value.
fn flags_size(n: usize) -> u32 {
    if n <= 8 {
        1
    } else if n <= 16 {
        2
    } else {
        4
    }
}

const MAX_LAYOUT: u64 = 1 << 31;

fn layout(types: &ComponentTypes, t: InterfaceType, depth: u32) -> Result<Layout, ()> {
    use InterfaceType as T;
    if depth > 100 {
        return Err(());
    }
    let prim = |n: u32| Layout { size: n, align: n };
    Ok(match resolve(types, t)? {
        T::Bool | T::S8 | T::U8 => prim(1),
        T::S16 | T::U16 => prim(2),
        T::S32 | T::U32 | T::F32 | T::Char | T::ErrorContext => prim(4),
        T::S64 | T::U64 | T::F64 => prim(8),
        T::String => Layout { size: 8, align: 4 },
        T::Defined(i) => match types.defined(i) {
            DefinedType::Record(f) => {
                let ts: Vec<_> = f.iter().map(|f| f.1).collect();
                record_layout(types, &ts, depth)?.0
            }
            DefinedType::Tuple(ts) => record_layout(types, ts, depth)?.0,
            DefinedType::List(_) | DefinedType::Map { .. } => Layout { size: 8, align: 4 },
            DefinedType::FixedLengthList { element, len } => {
                let e = layout(types, *element, depth + 1)?;
                let size = u64::from(e.size) * u64::from(*len);
                if size > MAX_LAYOUT {
                    return Err(());
                }
                Layout {
                    size: size as u32,
                    align: e.align,
                }
            }
            DefinedType::Flags(n) => prim(flags_size(n.len())),
            d => match cases(d) {
                Some(c) => variant_layout(types, &c, depth)?.0,
                None => prim(4),
            },
        },
    })
}

/// A record's layout and its fields' offsets.
fn record_layout(
    types: &ComponentTypes,
    ts: &[InterfaceType],
    depth: u32,
) -> Result<(Layout, Vec<u32>), ()> {
    let (mut size, mut align) = (0u64, 1u32);
    let mut offs = Vec::with_capacity(ts.len());
    for t in ts {
        let l = layout(types, *t, depth + 1)?;
        size = align_to(size, l.align);
        offs.push(size as u32);
        size += u64::from(l.size);
        align = align.max(l.align);
        if size > MAX_LAYOUT {
            return Err(());
        }
    }
    Ok((
        Layout {
            size: align_to(size, align) as u32,
            align,
        },
        offs,
    ))
}

/// A variant's layout and its payload's offset.
fn variant_layout(
    types: &ComponentTypes,
    cs: &[Option<InterfaceType>],
    depth: u32,
) -> Result<(Layout, u32), ()> {
    let disc = discriminant_size(cs.len());
    let (mut case_size, mut case_align) = (0u32, 1u32);
    for t in cs.iter().flatten() {
        let l = layout(types, *t, depth + 1)?;
        case_size = case_size.max(l.size);
        case_align = case_align.max(l.align);
    }
    let offset = align_to(disc.into(), case_align);
    let align = disc.max(case_align);
    let size = align_to(offset + u64::from(case_size), align);
    if size > MAX_LAYOUT {
        return Err(());
    }
    Ok((
        Layout {
            size: size as u32,
            align,
        },
        offset as u32,
    ))
}

/// What a value of `t` holds that the adapter must look at: whether its
/// lift checks something (`char`, discriminants, strings, lists) and
/// whether it points into memory (strings, lists, maps).
fn needs(types: &ComponentTypes, t: InterfaceType, depth: u32) -> (bool, bool) {
    use InterfaceType as T;
    if depth > 100 {
        return (true, true);
    }
    let all = |ts: &mut dyn Iterator<Item = InterfaceType>| {
        ts.fold((false, false), |(c, m), t| {
            let (c2, m2) = needs(types, t, depth + 1);
            (c || c2, m || m2)
        })
    };
    match resolve(types, t) {
        Err(()) => (true, true),
        Ok(T::Char) => (true, false),
        Ok(T::String) => (true, true),
        Ok(T::Defined(i)) => match types.defined(i) {
            DefinedType::Record(f) => all(&mut f.iter().map(|f| f.1)),
            DefinedType::Tuple(ts) => all(&mut ts.iter().copied()),
            DefinedType::FixedLengthList { element, .. } => needs(types, *element, depth + 1),
            DefinedType::List(_) | DefinedType::Map { .. } => (true, true),
            DefinedType::Flags(_) => (false, false),
            d => match cases(d) {
                Some(cs) => {
                    let (_, m) = all(&mut cs.into_iter().flatten());
                    (true, m)
                }
                None => (true, true),
            },
        },
        Ok(_) => (false, false),
    }
}

/// Whether a value of `t` in memory crosses as its bytes (integers, and
/// records, tuples and fixed-length lists of them without padding).
fn plain(types: &ComponentTypes, t: InterfaceType, depth: u32) -> bool {
    if depth > 100 {
        return false;
    }
    if int_layout(types, t).is_some() {
        return true;
    }
    let fields = |ts: &[InterfaceType]| {
        ts.iter().all(|t| plain(types, *t, depth + 1))
            && match record_layout(types, ts, depth) {
                Ok((l, _)) => {
                    let sum: u64 = ts
                        .iter()
                        .map(|t| layout(types, *t, depth + 1).map_or(u64::MAX, |l| l.size.into()))
                        .sum();
                    sum == u64::from(l.size)
                }
                Err(()) => false,
            }
    };
    match resolve(types, t) {
        Ok(InterfaceType::Defined(i)) => match types.defined(i) {
            DefinedType::Record(f) => fields(&f.iter().map(|f| f.1).collect::<Vec<_>>()),
            DefinedType::Tuple(ts) => fields(ts),
            DefinedType::FixedLengthList { element, .. } => plain(types, *element, depth + 1),
            _ => false,
        },
        _ => false,
    }
}

/// A core local holding one flat value, with the local's own type (a
/// variant's joined slot type, which may differ from the value's).
#[derive(Clone, Copy)]
struct Slot {
    local: u32,
    ty: ValType,
}

/// Where a value is: in core locals (its flat slots), or in a memory at
/// the address in local `base` plus `off`.
#[derive(Clone, Copy)]
enum Loc<'a> {
    Stack(&'a [Slot]),
    Mem { mem: u32, base: u32, off: u32 },
}

/// One direction of a copy: the arguments from the caller into the
/// callee, or the result back.
#[derive(Clone, Copy)]
struct Dir {
    src_mem: u32,
    dst_mem: u32,
    src_enc: StringEncoding,
    dst_enc: StringEncoding,
    /// The destination's `realloc` (function index) and flags global
    /// (whose `may_leave` is cleared around it).
    realloc: u32,
    flags: u32,
    /// The transcoding intrinsic's direction argument.
    xdir: i32,
}

/// The function body being generated.
struct Body<'a> {
    types: &'a ComponentTypes,
    params: u32,
    locals: Vec<ValType>,
    code: Vec<Instruction<'static>>,
    /// Function indices of the intrinsics (`u32::MAX`: not imported).
    validate: u32,
    transcode: u32,
    catch: bool,
    /// The lift budget's local (`i64`), while a lift is checked.
    budget: u32,
}

/// Function indices of the imports.
const TRAP_FUNC: u32 = 0;
const CALLEE_FUNC: u32 = 1;
/// Memory indices of the imports (adapters whose values touch memory).
const CALLER_MEMORY: u32 = 0;
const CALLEE_MEMORY: u32 = 1;
/// Global indices of the imports.
const CALLER_FLAGS: u32 = 0;
const CALLEE_FLAGS: u32 = 1;
const FIRST_ENTER: u32 = 2;

/// A memory access's width.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    U8,
    S8,
    U16,
    S16,
    I32,
    I64,
    F32,
    F64,
}

impl Width {
    fn of_size(n: u32) -> Width {
        match n {
            1 => Width::U8,
            2 => Width::U16,
            _ => Width::I32,
        }
    }
}

impl Body<'_> {
    fn local(&mut self, t: ValType) -> u32 {
        self.locals.push(t);
        self.params + self.locals.len() as u32 - 1
    }

    fn i(&mut self, i: Instruction<'static>) {
        self.code.push(i);
    }

    fn memarg(mem: u32, off: u32) -> wasm_encoder::MemArg {
        wasm_encoder::MemArg {
            offset: off.into(),
            align: 0,
            target: wasm_encoder::MemArgTarget::Memory(mem),
            ordering: None,
        }
    }

    /// Loads a value of width `w` from `mem` at the address on the stack
    /// plus `off`.
    fn load(&mut self, mem: u32, off: u32, w: Width) {
        use Instruction as I;
        let m = Self::memarg(mem, off);
        self.i(match w {
            Width::U8 => I::I32Load8U(m),
            Width::S8 => I::I32Load8S(m),
            Width::U16 => I::I32Load16U(m),
            Width::S16 => I::I32Load16S(m),
            Width::I32 => I::I32Load(m),
            Width::I64 => I::I64Load(m),
            Width::F32 => I::F32Load(m),
            Width::F64 => I::F64Load(m),
        });
    }

    /// Stores a value of width `w` (address, value on the stack).
    fn store(&mut self, mem: u32, off: u32, w: Width) {
        use Instruction as I;
        let m = Self::memarg(mem, off);
        self.i(match w {
            Width::U8 | Width::S8 => I::I32Store8(m),
            Width::U16 | Width::S16 => I::I32Store16(m),
            Width::I32 => I::I32Store(m),
            Width::I64 => I::I64Store(m),
            Width::F32 => I::F32Store(m),
            Width::F64 => I::F64Store(m),
        });
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

    /// Pushes an `i32` of `size` bytes (1, 2, 4) at `loc`.
    fn get_u(&mut self, loc: Loc<'_>, size: u32) -> Result<(), ()> {
        match loc {
            Loc::Stack(s) => self.read(*s.first().ok_or(())?, ValType::I32),
            Loc::Mem { mem, base, off } => {
                self.i(Instruction::LocalGet(base));
                self.load(mem, off, Width::of_size(size));
            }
        }
        Ok(())
    }

    /// Stores the `i32` that `push` pushes, as `size` bytes, at `loc`.
    fn set_u(&mut self, loc: Loc<'_>, size: u32, push: &[Instruction<'static>]) -> Result<(), ()> {
        match loc {
            Loc::Stack(s) => {
                for p in push {
                    self.i(p.clone());
                }
                self.write(*s.first().ok_or(())?, ValType::I32);
            }
            Loc::Mem { mem, base, off } => {
                self.i(Instruction::LocalGet(base));
                for p in push {
                    self.i(p.clone());
                }
                self.store(mem, off, Width::of_size(size));
            }
        }
        Ok(())
    }

    /// A string's or list's pointer and length at `loc`, in new locals.
    fn get_pair(&mut self, loc: Loc<'_>) -> Result<(u32, u32), ()> {
        let (p, n) = (self.local(ValType::I32), self.local(ValType::I32));
        match loc {
            Loc::Stack(s) => {
                let (a, b) = (*s.first().ok_or(())?, *s.get(1).ok_or(())?);
                self.read(a, ValType::I32);
                self.i(Instruction::LocalSet(p));
                self.read(b, ValType::I32);
                self.i(Instruction::LocalSet(n));
            }
            Loc::Mem { mem, base, off } => {
                self.i(Instruction::LocalGet(base));
                self.load(mem, off, Width::I32);
                self.i(Instruction::LocalSet(p));
                self.i(Instruction::LocalGet(base));
                self.load(mem, off.checked_add(4).ok_or(())?, Width::I32);
                self.i(Instruction::LocalSet(n));
            }
        }
        Ok((p, n))
    }

    /// Stores a pointer and a length at `loc`.
    fn set_pair(&mut self, loc: Loc<'_>, p: u32, n: u32) -> Result<(), ()> {
        use Instruction as I;
        match loc {
            Loc::Stack(s) => {
                let (a, b) = (*s.first().ok_or(())?, *s.get(1).ok_or(())?);
                self.i(I::LocalGet(p));
                self.write(a, ValType::I32);
                self.i(I::LocalGet(n));
                self.write(b, ValType::I32);
            }
            Loc::Mem { mem, base, off } => {
                self.i(I::LocalGet(base));
                self.i(I::LocalGet(p));
                self.store(mem, off, Width::I32);
                self.i(I::LocalGet(base));
                self.i(I::LocalGet(n));
                self.store(mem, off.checked_add(4).ok_or(())?, Width::I32);
            }
        }
        Ok(())
    }

    /// The locations of fields `ts` of a record at `loc`.
    fn fields<'l>(&self, loc: Loc<'l>, ts: &[InterfaceType]) -> Result<Vec<Loc<'l>>, ()> {
        match loc {
            Loc::Stack(s) => {
                let mut at = 0;
                let mut out = Vec::with_capacity(ts.len());
                for t in ts {
                    let n = flat(self.types, *t)?.len();
                    out.push(Loc::Stack(s.get(at..at + n).ok_or(())?));
                    at += n;
                }
                Ok(out)
            }
            Loc::Mem { mem, base, off } => {
                let (_, offs) = record_layout(self.types, ts, 0)?;
                offs.into_iter()
                    .map(|o| {
                        Ok(Loc::Mem {
                            mem,
                            base,
                            off: off.checked_add(o).ok_or(())?,
                        })
                    })
                    .collect()
            }
        }
    }

    /// The location of a variant's payload of type `p` at `loc`.
    fn payload<'l>(
        &self,
        loc: Loc<'l>,
        cs: &[Option<InterfaceType>],
        p: InterfaceType,
    ) -> Result<Loc<'l>, ()> {
        match loc {
            Loc::Stack(s) => {
                let n = flat(self.types, p)?.len();
                Ok(Loc::Stack(s.get(1..1 + n).ok_or(())?))
            }
            Loc::Mem { mem, base, off } => {
                let (_, at) = variant_layout(self.types, cs, 0)?;
                Ok(Loc::Mem {
                    mem,
                    base,
                    off: off.checked_add(at).ok_or(())?,
                })
            }
        }
    }

    /// Calls the trap intrinsic with `code` and the values `args` push
    /// (the rest zero); never returns.
    fn trap(&mut self, code: i32, args: &[Instruction<'static>]) {
        self.i(Instruction::I32Const(code));
        for k in 0..TRAP_ARGS {
            self.i(args.get(k).cloned().unwrap_or(Instruction::I32Const(0)));
        }
        self.i(Instruction::Call(TRAP_FUNC));
        self.i(Instruction::Unreachable);
    }

    /// `if (cond on the stack) trap(code, args)`.
    fn trap_if(&mut self, code: i32, args: &[Instruction<'static>]) {
        self.i(Instruction::If(BlockType::Empty));
        self.trap(code, args);
        self.i(Instruction::End);
    }

    /// Calls `func` (its arguments on the stack; `ty` its type index,
    /// `ty_void` the index of its parameters to no results), with the
    /// exceptions proposal on inside a `try_table` whose `catch_all` traps
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
    fn call_no_throw(&mut self, func: u32, ty: u32, ty_void: u32) {
        use Instruction as I;
        if !self.catch {
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

    /// Pushes whether `[ptr, ptr + bytes)` (an `i32` and an `i64` local)
    /// is past memory `mem`.
    fn past(&mut self, mem: u32, ptr: u32, bytes: u32) {
        use Instruction as I;
        self.i(I::LocalGet(ptr));
        self.i(I::I64ExtendI32U);
        self.i(I::LocalGet(bytes));
        self.i(I::I64Add);
        self.mem_bytes(mem);
        self.i(I::I64GtU);
    }

    /// A string's `realloc` (its bounds trap is
    /// `TRAP_REALLOC_STRING_OUT_OF_BOUNDS`) whose result becomes the
    /// string's pointer `out`; the new pointer's local.
    fn string_realloc(
        &mut self,
        d: &Dir,
        out: u32,
        old: Instruction<'static>,
        old_size: Instruction<'static>,
        align: u32,
        new_size: u32,
    ) -> u32 {
        let p = self.realloc(
            d,
            old,
            old_size,
            align,
            new_size,
            TRAP_REALLOC_STRING_OUT_OF_BOUNDS,
        );
        self.i(Instruction::LocalGet(p));
        self.i(Instruction::LocalSet(out));
        p
    }

    /// Calls a `realloc(old, old_size, align, new_size)` (`new_size` an
    /// `i32` local) with the instance's `may_leave` cleared, and checks
    /// its result as the dynamic path's `Abi::realloc` does: aligned (if
    /// `align > 1`), `new_size` bytes within the memory (else trap
    /// `oob`). The pointer in a new local.
    fn realloc(
        &mut self,
        d: &Dir,
        old: Instruction<'static>,
        old_size: Instruction<'static>,
        align: u32,
        new_size: u32,
        oob: i32,
    ) -> u32 {
        use Instruction as I;
        let p = self.local(ValType::I32);
        self.i(I::GlobalGet(d.flags));
        self.i(I::I32Const(!FLAG_MAY_LEAVE));
        self.i(I::I32And);
        self.i(I::GlobalSet(d.flags));
        self.i(old.clone());
        self.i(old_size.clone());
        self.i(I::I32Const(align as i32));
        self.i(I::LocalGet(new_size));
        self.call_no_throw(d.realloc, REALLOC_TYPE, REALLOC_VOID_TYPE);
        self.i(I::LocalSet(p));
        self.i(I::GlobalGet(d.flags));
        self.i(I::I32Const(FLAG_MAY_LEAVE));
        self.i(I::I32Or);
        self.i(I::GlobalSet(d.flags));
        let args = |pages: Option<u32>| {
            let mut v = vec![
                old.clone(),
                old_size.clone(),
                I::I32Const(align as i32),
                I::LocalGet(new_size),
                I::LocalGet(p),
            ];
            v.extend(pages.map(I::MemorySize));
            v
        };
        if align > 1 {
            self.i(I::LocalGet(p));
            self.i(I::I32Const(align as i32 - 1));
            self.i(I::I32And);
            self.trap_if(TRAP_REALLOC_UNALIGNED, &args(None));
        }
        self.i(I::LocalGet(p));
        self.i(I::I64ExtendI32U);
        self.i(I::LocalGet(new_size));
        self.i(I::I64ExtendI32U);
        self.i(I::I64Add);
        self.mem_bytes(d.dst_mem);
        self.i(I::I64GtU);
        self.trap_if(oob, &args(Some(d.dst_mem)));
        p
    }

    /// `ptr` (an `i32` local) checked for a value of layout `l` in `mem`
    /// as `check_ptr` does (`what`: [`WHAT_SPILLED_ARGS`] ...).
    fn check_ptr(&mut self, mem: u32, ptr: u32, l: Layout, what: i32) {
        use Instruction as I;
        if l.align > 1 {
            self.i(I::LocalGet(ptr));
            self.i(I::I32Const(l.align as i32 - 1));
            self.i(I::I32And);
            self.trap_if(
                TRAP_POINTER_UNALIGNED,
                &[
                    I::I32Const(what),
                    I::LocalGet(ptr),
                    I::I32Const(l.align as i32),
                ],
            );
        }
        self.i(I::LocalGet(ptr));
        self.i(I::I64ExtendI32U);
        self.i(I::I64Const(l.size.into()));
        self.i(I::I64Add);
        self.mem_bytes(mem);
        self.i(I::I64GtU);
        self.trap_if(
            TRAP_POINTER_OUT_OF_BOUNDS,
            &[
                I::I32Const(what),
                I::I32Const(l.size as i32),
                I::LocalGet(ptr),
                I::MemorySize(mem),
            ],
        );
    }

    /// Starts a lift's budget (`Abi::lift_budget`): twice `mem`'s bytes
    /// and 1 MiB.
    fn start_budget(&mut self, mem: u32) {
        use Instruction as I;
        self.mem_bytes(mem);
        self.i(I::I64Const(1));
        self.i(I::I64Shl);
        self.i(I::I64Const(1 << 20));
        self.i(I::I64Add);
        self.i(I::LocalSet(self.budget));
    }

    /// Takes `bytes` (an `i64` local) out of the budget, trapping
    /// `LiftTooLarge` once it is spent (`charge`).
    fn charge(&mut self, bytes: u32) {
        use Instruction as I;
        let b32 = self.local(ValType::I32);
        self.i(I::LocalGet(bytes));
        self.i(I::I32WrapI64);
        self.i(I::LocalSet(b32));
        self.i(I::LocalGet(bytes));
        self.i(I::LocalGet(self.budget));
        self.i(I::I64GtU);
        self.trap_if(TRAP_LIFT_TOO_LARGE, &[I::LocalGet(b32)]);
        self.i(I::LocalGet(self.budget));
        self.i(I::LocalGet(bytes));
        self.i(I::I64Sub);
        self.i(I::LocalSet(self.budget));
    }

    /// A loop over `count` (an `i32` local): `f` gets the index's local.
    fn each(
        &mut self,
        count: u32,
        f: impl FnOnce(&mut Self, u32) -> Result<(), ()>,
    ) -> Result<(), ()> {
        use Instruction as I;
        let k = self.local(ValType::I32);
        self.i(I::I32Const(0));
        self.i(I::LocalSet(k));
        self.i(I::Block(BlockType::Empty));
        self.i(I::Loop(BlockType::Empty));
        self.i(I::LocalGet(k));
        self.i(I::LocalGet(count));
        self.i(I::I32GeU);
        self.i(I::BrIf(1));
        f(self, k)?;
        self.i(I::LocalGet(k));
        self.i(I::I32Const(1));
        self.i(I::I32Add);
        self.i(I::LocalSet(k));
        self.i(I::Br(0));
        self.i(I::End);
        self.i(I::End);
        Ok(())
    }

    /// A new local holding `ptr + k * size` (`ptr`, `k`: `i32` locals).
    fn elem_addr(&mut self, ptr: u32, k: u32, size: u32) -> u32 {
        use Instruction as I;
        let a = self.local(ValType::I32);
        self.i(I::LocalGet(ptr));
        self.i(I::LocalGet(k));
        self.i(I::I32Const(size as i32));
        self.i(I::I32Mul);
        self.i(I::I32Add);
        self.i(I::LocalSet(a));
        a
    }

    // ---------------------------------------------------------------
    // The lift's checks (before the call enters the callee)

    /// Checks a value of `t` at `loc` as the spec's lift does, in the
    /// dynamic path's order: `char`s, discriminants, strings (range,
    /// budget, code units), lists and maps (range, budget, elements).
    fn check(&mut self, t: InterfaceType, loc: Loc<'_>, d: &Dir) -> Result<(), ()> {
        use Instruction as I;
        use InterfaceType as T;
        if !needs(self.types, t, 0).0 {
            return Ok(());
        }
        match resolve(self.types, t)? {
            T::Char => {
                let tmp = self.local(ValType::I32);
                self.get_u(loc, 4)?;
                self.i(I::LocalTee(tmp));
                self.i(I::I32Const(0x11_0000));
                self.i(I::I32GeU);
                self.i(I::LocalGet(tmp));
                self.i(I::I32Const(0xd800));
                self.i(I::I32Sub);
                self.i(I::I32Const(0x800));
                self.i(I::I32LtU);
                self.i(I::I32Or);
                self.trap_if(TRAP_INVALID_CHAR, &[I::LocalGet(tmp)]);
            }
            T::String => {
                let (p, n) = self.get_pair(loc)?;
                self.check_string(d, p, n);
            }
            T::Defined(i) => match self.types.defined(i).clone() {
                DefinedType::Record(fs) => {
                    let ts: Vec<_> = fs.iter().map(|f| f.1).collect();
                    self.check_fields(&ts, loc, d)?;
                }
                DefinedType::Tuple(ts) => self.check_fields(&ts, loc, d)?,
                DefinedType::FixedLengthList { element, len } => {
                    self.fixed(element, len, loc, None, d, true)?;
                }
                DefinedType::List(e) => {
                    let (p, n) = self.get_pair(loc)?;
                    self.check_list(&[e], p, n, d)?;
                }
                DefinedType::Map { key, value } => {
                    let (p, n) = self.get_pair(loc)?;
                    self.check_list(&[key, value], p, n, d)?;
                }
                DefinedType::Flags(_) => {}
                other => {
                    let cs = cases(&other).ok_or(())?;
                    let disc = self.local(ValType::I32);
                    self.get_u(loc, discriminant_size(cs.len()))?;
                    self.i(I::LocalTee(disc));
                    self.i(I::I32Const(cs.len() as i32));
                    self.i(I::I32GeU);
                    match loc {
                        Loc::Stack(_) => self.trap_if(
                            TRAP_INVALID_DISCRIMINANT,
                            &[I::LocalGet(disc), I::I32Const(cs.len() as i32)],
                        ),
                        Loc::Mem { base, off, .. } => {
                            let at = self.local(ValType::I32);
                            self.i(I::LocalGet(base));
                            self.i(I::I32Const(off as i32));
                            self.i(I::I32Add);
                            self.i(I::LocalSet(at));
                            self.trap_if(
                                TRAP_INVALID_DISCRIMINANT_AT,
                                &[
                                    I::LocalGet(disc),
                                    I::I32Const(cs.len() as i32),
                                    I::LocalGet(at),
                                ],
                            );
                        }
                    }
                    for (k, p) in cs.iter().enumerate() {
                        let Some(p) = *p else { continue };
                        if !needs(self.types, p, 0).0 {
                            continue;
                        }
                        self.i(I::LocalGet(disc));
                        self.i(I::I32Const(k as i32));
                        self.i(I::I32Eq);
                        self.i(I::If(BlockType::Empty));
                        let pl = self.payload(loc, &cs, p)?;
                        self.check(p, pl, d)?;
                        self.i(I::End);
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }

    fn check_fields(&mut self, ts: &[InterfaceType], loc: Loc<'_>, d: &Dir) -> Result<(), ()> {
        let locs = self.fields(loc, ts)?;
        for (t, l) in ts.iter().zip(locs) {
            self.check(*t, l, d)?;
        }
        Ok(())
    }

    /// A fixed-length list's elements at `loc`, checked (`check`) or
    /// copied to `dst`: unrolled on the stack and for short lists, a loop
    /// in memory otherwise.
    fn fixed(
        &mut self,
        e: InterfaceType,
        len: u32,
        loc: Loc<'_>,
        dst: Option<Loc<'_>>,
        d: &Dir,
        check: bool,
    ) -> Result<(), ()> {
        let unrolled = matches!(loc, Loc::Stack(_)) || len <= 4;
        if unrolled {
            let ts = vec![e; len as usize];
            let src = self.fields(loc, &ts)?;
            let dsts = match dst {
                Some(dl) => self.fields(dl, &ts)?,
                None => src.clone(),
            };
            for (s, t) in src.into_iter().zip(dsts) {
                if check {
                    self.check(e, s, d)?;
                } else {
                    self.copy(e, s, t, d)?;
                }
            }
            return Ok(());
        }
        let (Loc::Mem { mem, base, off }, size) = (loc, layout(self.types, e, 0)?.size) else {
            return Err(());
        };
        let n = self.local(ValType::I32);
        self.i(Instruction::I32Const(len as i32));
        self.i(Instruction::LocalSet(n));
        let start = self.local(ValType::I32);
        self.i(Instruction::LocalGet(base));
        self.i(Instruction::I32Const(off as i32));
        self.i(Instruction::I32Add);
        self.i(Instruction::LocalSet(start));
        let dst_start = match dst {
            Some(Loc::Mem { base, off, .. }) => {
                let s = self.local(ValType::I32);
                self.i(Instruction::LocalGet(base));
                self.i(Instruction::I32Const(off as i32));
                self.i(Instruction::I32Add);
                self.i(Instruction::LocalSet(s));
                Some(s)
            }
            Some(Loc::Stack(_)) => return Err(()),
            None => None,
        };
        let dst_mem = match dst {
            Some(Loc::Mem { mem, .. }) => mem,
            _ => 0,
        };
        self.each(n, |b, k| {
            let a = b.elem_addr(start, k, size);
            let src = Loc::Mem {
                mem,
                base: a,
                off: 0,
            };
            match dst_start {
                Some(ds) => {
                    let da = b.elem_addr(ds, k, size);
                    b.copy(
                        e,
                        src,
                        Loc::Mem {
                            mem: dst_mem,
                            base: da,
                            off: 0,
                        },
                        d,
                    )
                }
                None => b.check(e, src, d),
            }
        })
    }

    /// A list (elements: the record of `fields`, one type for a list, the
    /// key and value for a map) at `ptr` with `count` elements, checked as
    /// `load_list_from_range` does: the length limit, the alignment, the
    /// bounds, the budget, then each element.
    fn check_list(
        &mut self,
        fields: &[InterfaceType],
        ptr: u32,
        count: u32,
        d: &Dir,
    ) -> Result<(), ()> {
        use Instruction as I;
        let (l, _) = record_layout(self.types, fields, 0)?;
        let bytes = self.local(ValType::I64);
        self.i(I::LocalGet(count));
        self.i(I::I64ExtendI32U);
        self.i(I::I64Const(l.size.into()));
        self.i(I::I64Mul);
        self.i(I::LocalTee(bytes));
        self.i(I::I64Const(MAX_LIST_BYTE_LENGTH));
        self.i(I::I64GtU);
        self.trap_if(
            TRAP_LIST_TOO_LONG,
            &[
                I::LocalGet(count),
                I::I32Const(l.size as i32),
                I::LocalGet(ptr),
            ],
        );
        if l.align > 1 {
            self.i(I::LocalGet(ptr));
            self.i(I::I32Const(l.align as i32 - 1));
            self.i(I::I32And);
            self.trap_if(
                TRAP_LIST_UNALIGNED,
                &[I::LocalGet(ptr), I::I32Const(l.align as i32)],
            );
        }
        self.past(d.src_mem, ptr, bytes);
        self.trap_if(
            TRAP_LIST_OUT_OF_BOUNDS,
            &[
                I::LocalGet(count),
                I::I32Const(l.size as i32),
                I::LocalGet(ptr),
                I::MemorySize(d.src_mem),
            ],
        );
        // The budget counts at least one byte an element.
        if l.size == 0 {
            self.i(I::LocalGet(count));
            self.i(I::I64ExtendI32U);
            self.i(I::LocalSet(bytes));
        }
        self.charge(bytes);
        let check = fields.iter().any(|t| needs(self.types, *t, 0).0);
        if check && l.size > 0 {
            let fields = fields.to_vec();
            let mem = d.src_mem;
            self.each(count, |b, k| {
                let a = b.elem_addr(ptr, k, l.size);
                b.check_fields(
                    &fields,
                    Loc::Mem {
                        mem,
                        base: a,
                        off: 0,
                    },
                    d,
                )
            })?;
        }
        Ok(())
    }

    /// A string at `ptr` with `tagged` code units in the source's
    /// encoding, checked as `load_string_from_range` does: the length
    /// limit, the alignment (2 for `utf16` and `latin1+utf16`), the
    /// bounds, the budget, then the code units (the host's `validate`).
    fn check_string(&mut self, d: &Dir, ptr: u32, tagged: u32) {
        use Instruction as I;
        let units = self.local(ValType::I32);
        let unit = self.local(ValType::I32);
        let bytes = self.local(ValType::I64);
        self.i(I::LocalGet(tagged));
        if d.src_enc == StringEncoding::Latin1Utf16 {
            self.i(I::I32Const(!UTF16_TAG));
            self.i(I::I32And);
        }
        self.i(I::LocalSet(units));
        match d.src_enc {
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
        self.trap_if(
            TRAP_STRING_TOO_LONG,
            &[I::LocalGet(units), I::LocalGet(unit), I::LocalGet(ptr)],
        );
        if d.src_enc != StringEncoding::Utf8 {
            self.i(I::LocalGet(ptr));
            self.i(I::I32Const(1));
            self.i(I::I32And);
            self.trap_if(TRAP_STRING_UNALIGNED, &[I::LocalGet(ptr), I::I32Const(2)]);
        }
        self.past(d.src_mem, ptr, bytes);
        self.trap_if(
            TRAP_STRING_OUT_OF_BOUNDS,
            &[
                I::LocalGet(units),
                I::LocalGet(unit),
                I::LocalGet(ptr),
                I::MemorySize(d.src_mem),
            ],
        );
        self.charge(bytes);
        let validate = |b: &mut Self, kind: i32| {
            b.i(I::I32Const(d.src_mem as i32));
            b.i(I::I32Const(kind));
            b.i(I::LocalGet(ptr));
            b.i(I::LocalGet(bytes));
            b.i(I::I32WrapI64);
            b.i(I::Call(b.validate));
            b.i(I::Drop);
        };
        match d.src_enc {
            StringEncoding::Utf8 => validate(self, VALIDATE_UTF8),
            StringEncoding::Utf16 => validate(self, VALIDATE_UTF16),
            StringEncoding::Latin1Utf16 => {
                // Latin-1 needs no check.
                self.i(I::LocalGet(tagged));
                self.i(I::I32Const(0));
                self.i(I::I32LtS);
                self.i(I::If(BlockType::Empty));
                validate(self, VALIDATE_UTF16);
                self.i(I::End);
            }
        }
    }

    // ---------------------------------------------------------------
    // The copy (once the call has entered the callee)

    /// Copies a value of `t` (checked) from `src` to `dst`: scalars
    /// normalised (`bool` to 0/1, narrow integers masked or
    /// sign-extended, NaNs canonical, unused flag bits cleared), strings
    /// and lists stored into the destination's memory through its
    /// `realloc`, in the order the spec's `store` and `lower_flat` call it.
    fn copy(&mut self, t: InterfaceType, src: Loc<'_>, dst: Loc<'_>, d: &Dir) -> Result<(), ()> {
        use Instruction as I;
        use InterfaceType as T;
        let rt = resolve(self.types, t)?;
        let scalar = match rt {
            T::Bool => Some((ValType::I32, Width::U8)),
            T::S8 => Some((ValType::I32, Width::S8)),
            T::U8 => Some((ValType::I32, Width::U8)),
            T::S16 => Some((ValType::I32, Width::S16)),
            T::U16 => Some((ValType::I32, Width::U16)),
            T::S32 | T::U32 | T::Char => Some((ValType::I32, Width::I32)),
            T::S64 | T::U64 => Some((ValType::I64, Width::I64)),
            T::F32 => Some((ValType::F32, Width::F32)),
            T::F64 => Some((ValType::F64, Width::F64)),
            _ => None,
        };
        if let Some((vt, w)) = scalar {
            if let Loc::Mem { base, .. } = dst {
                self.i(I::LocalGet(base));
            }
            match src {
                Loc::Stack(s) => self.read(*s.first().ok_or(())?, vt),
                Loc::Mem { mem, base, off } => {
                    self.i(I::LocalGet(base));
                    self.load(mem, off, w);
                }
            }
            // Normalised as the spec's lift does.
            match rt {
                T::Bool => {
                    self.i(I::I32Const(0));
                    self.i(I::I32Ne);
                }
                T::S8 if matches!(src, Loc::Stack(_)) => self.i(I::I32Extend8S),
                T::S16 if matches!(src, Loc::Stack(_)) => self.i(I::I32Extend16S),
                T::U8 if matches!(src, Loc::Stack(_)) => {
                    self.i(I::I32Const(0xff));
                    self.i(I::I32And);
                }
                T::U16 if matches!(src, Loc::Stack(_)) => {
                    self.i(I::I32Const(0xffff));
                    self.i(I::I32And);
                }
                T::F32 => {
                    let tmp = self.local(ValType::F32);
                    self.i(I::LocalSet(tmp));
                    self.i(I::F32Const(f32::from_bits(0x7fc0_0000).into()));
                    self.i(I::LocalGet(tmp));
                    self.i(I::LocalGet(tmp));
                    self.i(I::LocalGet(tmp));
                    self.i(I::F32Ne);
                    self.i(I::Select);
                }
                T::F64 => {
                    let tmp = self.local(ValType::F64);
                    self.i(I::LocalSet(tmp));
                    self.i(I::F64Const(f64::from_bits(0x7ff8_0000_0000_0000).into()));
                    self.i(I::LocalGet(tmp));
                    self.i(I::LocalGet(tmp));
                    self.i(I::LocalGet(tmp));
                    self.i(I::F64Ne);
                    self.i(I::Select);
                }
                _ => {}
            }
            match dst {
                Loc::Stack(s) => self.write(*s.first().ok_or(())?, vt),
                Loc::Mem { mem, off, .. } => self.store(mem, off, w),
            }
            return Ok(());
        }
        match rt {
            T::String => {
                let (p, n) = self.get_pair(src)?;
                let (q, m) = self.store_string(d, p, n);
                self.set_pair(dst, q, m)?;
            }
            T::Defined(i) => match self.types.defined(i).clone() {
                DefinedType::Record(fs) => {
                    let ts: Vec<_> = fs.iter().map(|f| f.1).collect();
                    self.copy_fields(&ts, src, dst, d)?;
                }
                DefinedType::Tuple(ts) => self.copy_fields(&ts, src, dst, d)?,
                DefinedType::FixedLengthList { element, len } => {
                    self.fixed(element, len, src, Some(dst), d, false)?;
                }
                DefinedType::List(e) => self.copy_list(&[e], src, dst, d)?,
                DefinedType::Map { key, value } => self.copy_list(&[key, value], src, dst, d)?,
                DefinedType::Flags(names) => {
                    // Bits past the type's flags are ignored.
                    let size = flags_size(names.len());
                    self.get_u(src, size)?;
                    let v = self.local(ValType::I32);
                    self.i(I::LocalSet(v));
                    let mut push = vec![I::LocalGet(v)];
                    if names.len() < 32 {
                        push.push(I::I32Const(((1u32 << names.len()) - 1) as i32));
                        push.push(I::I32And);
                    }
                    self.set_u(dst, size, &push)?;
                }
                other => {
                    let cs = cases(&other).ok_or(())?;
                    let size = discriminant_size(cs.len());
                    let disc = self.local(ValType::I32);
                    self.get_u(src, size)?;
                    self.i(I::LocalSet(disc));
                    self.set_u(dst, size, &[I::LocalGet(disc)])?;
                    if let Loc::Stack(slots) = dst {
                        // The unused payload slots are zero.
                        for s in slots.get(1..).ok_or(())? {
                            self.i(match s.ty {
                                ValType::I32 => I::I32Const(0),
                                ValType::I64 => I::I64Const(0),
                                ValType::F32 => I::F32Const(0.0f32.into()),
                                ValType::F64 => I::F64Const(0.0f64.into()),
                                _ => return Err(()),
                            });
                            self.i(I::LocalSet(s.local));
                        }
                    }
                    for (k, p) in cs.iter().enumerate() {
                        let Some(p) = *p else { continue };
                        if matches!(src, Loc::Stack(_)) && flat(self.types, p)?.is_empty() {
                            continue;
                        }
                        self.i(I::LocalGet(disc));
                        self.i(I::I32Const(k as i32));
                        self.i(I::I32Eq);
                        self.i(I::If(BlockType::Empty));
                        let (s, t) = (self.payload(src, &cs, p)?, self.payload(dst, &cs, p)?);
                        self.copy(p, s, t, d)?;
                        self.i(I::End);
                    }
                }
            },
            _ => return Err(()),
        }
        Ok(())
    }

    fn copy_fields(
        &mut self,
        ts: &[InterfaceType],
        src: Loc<'_>,
        dst: Loc<'_>,
        d: &Dir,
    ) -> Result<(), ()> {
        let (s, t) = (self.fields(src, ts)?, self.fields(dst, ts)?);
        for ((ty, s), t) in ts.iter().zip(s).zip(t) {
            self.copy(*ty, s, t, d)?;
        }
        Ok(())
    }

    /// A list (`store_list_into_range`): `realloc(0, 0, align, bytes)` in
    /// the destination, its result checked, then the elements copied —
    /// one `memory.copy` for elements that cross as their bytes, a loop
    /// otherwise.
    fn copy_list(
        &mut self,
        fields: &[InterfaceType],
        src: Loc<'_>,
        dst: Loc<'_>,
        d: &Dir,
    ) -> Result<(), ()> {
        use Instruction as I;
        let (l, _) = record_layout(self.types, fields, 0)?;
        let (p, n) = self.get_pair(src)?;
        let bytes = self.local(ValType::I32);
        self.i(I::LocalGet(n));
        self.i(I::I32Const(l.size as i32));
        self.i(I::I32Mul);
        self.i(I::LocalSet(bytes));
        let q = self.realloc(
            d,
            I::I32Const(0),
            I::I32Const(0),
            l.align,
            bytes,
            TRAP_REALLOC_LIST_OUT_OF_BOUNDS,
        );
        if fields.iter().all(|t| plain(self.types, *t, 0)) {
            self.i(I::LocalGet(q));
            self.i(I::LocalGet(p));
            self.i(I::LocalGet(bytes));
            self.i(I::MemoryCopy {
                src_mem: d.src_mem,
                dst_mem: d.dst_mem,
            });
        } else if l.size > 0 {
            let fields = fields.to_vec();
            self.each(n, |b, k| {
                let a = b.elem_addr(p, k, l.size);
                let z = b.elem_addr(q, k, l.size);
                b.copy_fields(
                    &fields,
                    Loc::Mem {
                        mem: d.src_mem,
                        base: a,
                        off: 0,
                    },
                    Loc::Mem {
                        mem: d.dst_mem,
                        base: z,
                        off: 0,
                    },
                    d,
                )
            })?;
        }
        self.set_pair(dst, q, n)
    }

    /// Calls the transcoding intrinsic: `op` over the source's `n` units
    /// at `src`, into the destination at `dst`, with `at`.
    fn transcode(
        &mut self,
        d: &Dir,
        op: i32,
        src: u32,
        n: u32,
        dst: u32,
        at: Instruction<'static>,
    ) {
        use Instruction as I;
        self.i(I::I32Const(d.xdir));
        self.i(I::I32Const(op));
        self.i(I::LocalGet(src));
        self.i(I::LocalGet(n));
        self.i(I::LocalGet(dst));
        self.i(at);
        self.i(I::Call(self.transcode));
    }

    /// A new `i32` local set to `x * n` (`n` a local).
    fn times(&mut self, n: u32, x: i32) -> u32 {
        use Instruction as I;
        let l = self.local(ValType::I32);
        self.i(I::LocalGet(n));
        self.i(I::I32Const(x));
        self.i(I::I32Mul);
        self.i(I::LocalSet(l));
        l
    }

    /// A checked string (`ptr`, `tagged` as the source passed them) stored
    /// into the destination's memory as the spec's
    /// `store_string_into_range` does for the two encodings: the pointer
    /// and the (tagged) length in new locals.
    fn store_string(&mut self, d: &Dir, ptr: u32, tagged: u32) -> (u32, u32) {
        use Instruction as I;
        use StringEncoding as E;
        let (out_p, out_n) = (self.local(ValType::I32), self.local(ValType::I32));
        let set = |b: &mut Self, p: u32, n: u32| {
            b.i(I::LocalGet(p));
            b.i(I::LocalSet(out_p));
            b.i(I::LocalGet(n));
            b.i(I::LocalSet(out_n));
        };
        match (d.src_enc, d.dst_enc) {
            (E::Utf8, E::Utf8) => {
                let (p, n) = self.string_copy(d, ptr, tagged, 1, 1, 1, None);
                set(self, p, n);
            }
            (E::Utf16, E::Utf16) => {
                let (p, n) = self.string_copy(d, ptr, tagged, 2, 2, 2, None);
                set(self, p, n);
            }
            (E::Utf16, E::Utf8) => {
                let (p, n) =
                    self.string_to_utf8(d, ptr, tagged, 3, XC_ASCII_UTF16, XC_UTF8_REST_UTF16);
                set(self, p, n);
            }
            (E::Utf8, E::Utf16) => {
                let (p, n) = self.utf8_to_utf16(d, ptr, tagged);
                set(self, p, n);
            }
            (E::Utf8, E::Latin1Utf16) => {
                let (p, n) =
                    self.store_latin1_or_utf16(d, ptr, tagged, XC_LATIN1_UTF8, XC_UTF16_REST_UTF8);
                set(self, p, n);
            }
            (E::Utf16, E::Latin1Utf16) => {
                let (p, n) = self.store_latin1_or_utf16(
                    d,
                    ptr,
                    tagged,
                    XC_LATIN1_UTF16,
                    XC_UTF16_REST_UTF16,
                );
                set(self, p, n);
            }
            (E::Latin1Utf16, dst) => {
                let units = self.local(ValType::I32);
                self.i(I::LocalGet(tagged));
                self.i(I::I32Const(!UTF16_TAG));
                self.i(I::I32And);
                self.i(I::LocalSet(units));
                self.i(I::LocalGet(tagged));
                self.i(I::I32Const(0));
                self.i(I::I32LtS);
                self.i(I::If(BlockType::Empty));
                // UTF-16.
                let (p, n) = match dst {
                    E::Utf8 => {
                        self.string_to_utf8(d, ptr, units, 3, XC_ASCII_UTF16, XC_UTF8_REST_UTF16)
                    }
                    E::Utf16 => self.string_copy(d, ptr, units, 2, 2, 2, None),
                    E::Latin1Utf16 => self.probably_utf16(d, ptr, units),
                };
                set(self, p, n);
                self.i(I::Else);
                // Latin-1.
                let (p, n) = match dst {
                    E::Utf8 => {
                        self.string_to_utf8(d, ptr, units, 2, XC_ASCII_LATIN1, XC_UTF8_REST_LATIN1)
                    }
                    E::Utf16 => self.string_copy(d, ptr, units, 2, 2, 1, Some(XC_LATIN1_TO_UTF16)),
                    E::Latin1Utf16 => self.string_copy(d, ptr, units, 1, 2, 1, None),
                };
                set(self, p, n);
                self.i(I::End);
            }
        }
        (out_p, out_n)
    }

    /// `store_string_copy`: `realloc(0, 0, align, unit * n)`, checked,
    /// the units copied (`memory.copy` when the source's units are the
    /// destination's, else the intrinsic `inflate`); `(ptr, n)`.
    #[allow(clippy::too_many_arguments)]
    fn string_copy(
        &mut self,
        d: &Dir,
        ptr: u32,
        n: u32,
        unit: i32,
        align: u32,
        src_unit: i32,
        inflate: Option<i32>,
    ) -> (u32, u32) {
        use Instruction as I;
        let bytes = self.times(n, unit);
        let p = self.realloc(
            d,
            I::I32Const(0),
            I::I32Const(0),
            align,
            bytes,
            TRAP_REALLOC_STRING_OUT_OF_BOUNDS,
        );
        match inflate {
            Some(op) => {
                self.transcode(d, op, ptr, n, p, I::I32Const(0));
                self.i(I::Drop);
            }
            None => {
                let src_bytes = self.times(n, src_unit);
                self.i(I::LocalGet(p));
                self.i(I::LocalGet(ptr));
                self.i(I::LocalGet(src_bytes));
                self.i(I::MemoryCopy {
                    src_mem: d.src_mem,
                    dst_mem: d.dst_mem,
                });
            }
        }
        (p, n)
    }

    /// `store_string_to_utf8` (from UTF-16 or Latin-1, `worst` bytes a
    /// unit): `realloc(0, 0, 1, n)`; the ASCII prefix written; at the first
    /// other character `realloc(p, n, 1, worst * n)` and the rest encoded,
    /// then shrunk to the encoded length if shorter.
    fn string_to_utf8(
        &mut self,
        d: &Dir,
        ptr: u32,
        n: u32,
        worst: i32,
        prefix: i32,
        rest: i32,
    ) -> (u32, u32) {
        use Instruction as I;
        let out = self.local(ValType::I32);
        let p = self.realloc(
            d,
            I::I32Const(0),
            I::I32Const(0),
            1,
            n,
            TRAP_REALLOC_STRING_OUT_OF_BOUNDS,
        );
        let i = self.local(ValType::I32);
        self.transcode(d, prefix, ptr, n, p, I::I32Const(0));
        self.i(I::LocalSet(i));
        self.i(I::LocalGet(p));
        self.i(I::LocalSet(out));
        let len = self.local(ValType::I32);
        self.i(I::LocalGet(n));
        self.i(I::LocalSet(len));
        self.i(I::LocalGet(i));
        self.i(I::LocalGet(n));
        self.i(I::I32LtU);
        self.i(I::If(BlockType::Empty));
        let w = self.times(n, worst);
        let q = self.realloc(
            d,
            I::LocalGet(p),
            I::LocalGet(n),
            1,
            w,
            TRAP_REALLOC_STRING_OUT_OF_BOUNDS,
        );
        self.transcode(d, rest, ptr, n, q, I::LocalGet(i));
        self.i(I::LocalSet(len));
        self.i(I::LocalGet(q));
        self.i(I::LocalSet(out));
        self.i(I::LocalGet(w));
        self.i(I::LocalGet(len));
        self.i(I::I32GtU);
        self.i(I::If(BlockType::Empty));
        self.string_realloc(d, out, I::LocalGet(q), I::LocalGet(w), 1, len);
        self.i(I::End);
        self.i(I::End);
        (out, len)
    }

    /// `store_utf8_to_utf16`: `realloc(0, 0, 2, 2n)`, the string encoded,
    /// shrunk to its UTF-16 length if shorter.
    fn utf8_to_utf16(&mut self, d: &Dir, ptr: u32, n: u32) -> (u32, u32) {
        use Instruction as I;
        let out = self.local(ValType::I32);
        let w = self.times(n, 2);
        let p = self.string_realloc(d, out, I::I32Const(0), I::I32Const(0), 2, w);
        let units = self.local(ValType::I32);
        self.transcode(d, XC_UTF8_TO_UTF16, ptr, n, p, I::I32Const(0));
        self.i(I::LocalSet(units));
        let len = self.times(units, 2);
        self.i(I::LocalGet(len));
        self.i(I::LocalGet(w));
        self.i(I::I32LtU);
        self.i(I::If(BlockType::Empty));
        self.string_realloc(d, out, I::LocalGet(p), I::LocalGet(w), 2, len);
        self.i(I::End);
        (out, units)
    }

    /// `store_string_to_latin1_or_utf16` (from UTF-8 or UTF-16 `n`
    /// units): `realloc(0, 0, 2, n)`, Latin-1 while the characters fit;
    /// at the first that does not, `realloc(p, n, 2, 2n)`, what was
    /// written inflated and the rest encoded as UTF-16, shrunk if shorter
    /// (the length tagged); all Latin-1: shrunk if shorter.
    fn store_latin1_or_utf16(
        &mut self,
        d: &Dir,
        ptr: u32,
        n: u32,
        prefix: i32,
        rest: i32,
    ) -> (u32, u32) {
        use Instruction as I;
        let (out, len) = (self.local(ValType::I32), self.local(ValType::I32));
        let p = self.string_realloc(d, out, I::I32Const(0), I::I32Const(0), 2, n);
        let r = self.local(ValType::I32);
        let written = self.local(ValType::I32);
        self.transcode(d, prefix, ptr, n, p, I::I32Const(0));
        self.i(I::LocalTee(r));
        self.i(I::I32Const(!UTF16_TAG));
        self.i(I::I32And);
        self.i(I::LocalSet(written));
        self.i(I::LocalGet(r));
        self.i(I::I32Const(0));
        self.i(I::I32LtS);
        self.i(I::If(BlockType::Empty));
        {
            let w = self.times(n, 2);
            let q = self.string_realloc(d, out, I::LocalGet(p), I::LocalGet(n), 2, w);
            let units = self.local(ValType::I32);
            self.transcode(d, rest, ptr, n, q, I::LocalGet(written));
            self.i(I::LocalSet(units));
            let bytes = self.times(units, 2);
            self.i(I::LocalGet(w));
            self.i(I::LocalGet(bytes));
            self.i(I::I32GtU);
            self.i(I::If(BlockType::Empty));
            self.string_realloc(d, out, I::LocalGet(q), I::LocalGet(w), 2, bytes);
            self.i(I::End);
            self.i(I::LocalGet(units));
            self.i(I::I32Const(UTF16_TAG));
            self.i(I::I32Or);
            self.i(I::LocalSet(len));
        }
        self.i(I::Else);
        {
            self.i(I::LocalGet(written));
            self.i(I::LocalSet(len));
            self.i(I::LocalGet(written));
            self.i(I::LocalGet(n));
            self.i(I::I32LtU);
            self.i(I::If(BlockType::Empty));
            self.string_realloc(d, out, I::LocalGet(p), I::LocalGet(n), 2, written);
            self.i(I::End);
        }
        self.i(I::End);
        (out, len)
    }

    /// `store_probably_utf16_to_latin1_or_utf16` (`n` UTF-16 units):
    /// `realloc(0, 0, 2, 2n)`, the units copied; if a character is past
    /// Latin-1 the length is tagged, else the low bytes are moved down in
    /// place and the area shrunk with `realloc(p, 2n, 1, n)`, checked
    /// against the bounds.
    fn probably_utf16(&mut self, d: &Dir, ptr: u32, n: u32) -> (u32, u32) {
        use Instruction as I;
        let (out, len) = (self.local(ValType::I32), self.local(ValType::I32));
        let (p, _) = self.string_copy(d, ptr, n, 2, 2, 2, None);
        self.i(I::LocalGet(p));
        self.i(I::LocalSet(out));
        self.i(I::LocalGet(n));
        self.i(I::I32Const(UTF16_TAG));
        self.i(I::I32Or);
        self.i(I::LocalSet(len));
        let b2 = self.times(n, 2);
        // Whether a unit is past Latin-1, from the copy.
        self.i(I::I32Const(d.dst_mem as i32));
        self.i(I::I32Const(VALIDATE_UTF16));
        self.i(I::LocalGet(p));
        self.i(I::LocalGet(b2));
        self.i(I::Call(self.validate));
        self.i(I::I32Eqz);
        self.i(I::If(BlockType::Empty));
        let mem = d.dst_mem;
        let _ = self.each(n, |b, k| {
            b.i(I::LocalGet(p));
            b.i(I::LocalGet(k));
            b.i(I::I32Add);
            b.i(I::LocalGet(p));
            b.i(I::LocalGet(k));
            b.i(I::I32Const(1));
            b.i(I::I32Shl);
            b.i(I::I32Add);
            b.load(mem, 0, Width::U8);
            b.store(mem, 0, Width::U8);
            Ok(())
        });
        self.string_realloc(d, out, I::LocalGet(p), I::LocalGet(b2), 1, n);
        self.i(I::LocalGet(n));
        self.i(I::LocalSet(len));
        self.i(I::End);
        (out, len)
    }
}

/// Whether a value of `t` holds a string.
fn has_string(types: &ComponentTypes, t: InterfaceType, depth: u32) -> bool {
    if depth > 100 {
        return true;
    }
    let any = |ts: &mut dyn Iterator<Item = InterfaceType>| {
        let mut found = false;
        for t in ts {
            found |= has_string(types, t, depth + 1);
        }
        found
    };
    match resolve(types, t) {
        Err(()) => true,
        Ok(InterfaceType::String) => true,
        Ok(InterfaceType::Defined(i)) => match types.defined(i) {
            DefinedType::Record(f) => any(&mut f.iter().map(|f| f.1)),
            DefinedType::Tuple(ts) => any(&mut ts.iter().copied()),
            DefinedType::FixedLengthList { element: e, .. } | DefinedType::List(e) => {
                has_string(types, *e, depth + 1)
            }
            DefinedType::Map { key, value } => any(&mut [*key, *value].into_iter()),
            d => cases(d).is_some_and(|cs| any(&mut cs.into_iter().flatten())),
        },
        Ok(_) => false,
    }
}

/// How a function's values cross, and what that needs of the two sides.
struct Shape {
    params: Vec<InterfaceType>,
    /// The parameters' flat types (`None`: past [`MAX_FLAT_PARAMS`], in
    /// memory).
    param_flat: Option<Vec<ValType>>,
    result: Option<InterfaceType>,
    /// The result's flat types (`None`: past [`MAX_FLAT_RESULTS`], through
    /// the return pointer).
    result_flat: Option<Vec<ValType>>,
    callee_realloc: bool,
    caller_realloc: bool,
    strings: bool,
    memories: bool,
}

impl Shape {
    fn of(types: &ComponentTypes, ft: &FuncType) -> Option<Shape> {
        let params: Vec<InterfaceType> = ft.params.iter().map(|p| p.1).collect();
        let param_flat = flat_all(types, &params, MAX_FLAT_PARAMS);
        let result_flat = match ft.result {
            Some(t) => flat_all(types, &[t], MAX_FLAT_RESULTS),
            None => Some(Vec::new()),
        };
        // Every value's layout must be known (and small enough).
        for t in params.iter().chain(&ft.result) {
            layout(types, *t, 0).ok()?;
        }
        record_layout(types, &params, 0).ok()?;
        let params_memory = param_flat.is_none() || params.iter().any(|t| needs(types, *t, 0).1);
        let result_memory = ft.result.is_some_and(|t| needs(types, t, 0).1);
        let strings = params
            .iter()
            .chain(&ft.result)
            .any(|t| has_string(types, *t, 0));
        Some(Shape {
            memories: params_memory || result_flat.is_none(),
            callee_realloc: params_memory,
            caller_realloc: result_memory,
            strings,
            params,
            param_flat,
            result: ft.result,
            result_flat,
        })
    }

    /// The callee's core parameters and results.
    fn lifted(&self) -> (Vec<ValType>, Vec<ValType>) {
        (
            self.param_flat.clone().unwrap_or(vec![ValType::I32]),
            self.result_flat.clone().unwrap_or(vec![ValType::I32]),
        )
    }

    /// The caller's core parameters (a return pointer last if the result
    /// is spilled) and results.
    fn lowered(&self) -> (Vec<ValType>, Vec<ValType>) {
        let mut p = self.param_flat.clone().unwrap_or(vec![ValType::I32]);
        let r = match &self.result_flat {
            Some(r) => r.clone(),
            None => {
                p.push(ValType::I32);
                Vec::new()
            }
        };
        (p, r)
    }
}

/// The adapter module of a function of shape `s` (the same type on both
/// sides) between the encodings `(caller, callee)`, entering `entering`
/// instances, or `None` if this layer does not compile it.
fn generate(
    types: &ComponentTypes,
    s: &Shape,
    (caller_enc, callee_enc): (StringEncoding, StringEncoding),
    entering: usize,
    post_return: bool,
    catch: bool,
) -> Option<Vec<u8>> {
    use Instruction as I;
    let (lifted_params, lifted_results) = s.lifted();
    let (lowered_params, lowered_results) = s.lowered();
    // Function indices of the optional imports.
    let mut next = CALLEE_FUNC + 1;
    let mut take = |yes: bool| {
        if yes {
            next += 1;
            next - 1
        } else {
            u32::MAX
        }
    };
    let post_return_func = take(post_return);
    let callee_realloc = take(s.callee_realloc);
    let caller_realloc = take(s.caller_realloc);
    let validate_func = take(s.strings);
    let transcode_func = take(s.strings);
    let adapter_func = next;

    let mut body = Body {
        types,
        params: lowered_params.len() as u32,
        locals: Vec::new(),
        code: Vec::new(),
        validate: validate_func,
        transcode: transcode_func,
        catch,
        budget: 0,
    };
    body.budget = body.local(ValType::I64);
    let args = Dir {
        src_mem: CALLER_MEMORY,
        dst_mem: CALLEE_MEMORY,
        src_enc: caller_enc,
        dst_enc: callee_enc,
        realloc: callee_realloc,
        flags: CALLEE_FLAGS,
        xdir: 0,
    };
    let back = Dir {
        src_mem: CALLEE_MEMORY,
        dst_mem: CALLER_MEMORY,
        src_enc: callee_enc,
        dst_enc: caller_enc,
        realloc: caller_realloc,
        flags: CALLER_FLAGS,
        xdir: 1,
    };

    // 1. The caller may leave.
    body.i(I::GlobalGet(CALLER_FLAGS));
    body.i(I::I32Const(FLAG_MAY_LEAVE));
    body.i(I::I32And);
    body.i(I::I32Eqz);
    body.trap_if(TRAP_CANNOT_LEAVE, &[]);
    // 2. The arguments' lift: every check, nothing written.
    let src_slots: Vec<Slot> = match &s.param_flat {
        Some(v) => v
            .iter()
            .enumerate()
            .map(|(i, t)| Slot {
                local: i as u32,
                ty: *t,
            })
            .collect(),
        None => Vec::new(),
    };
    let (tuple, _) = record_layout(types, &s.params, 0).ok()?;
    let src = match s.param_flat {
        Some(_) => Loc::Stack(&src_slots),
        None => {
            body.check_ptr(CALLER_MEMORY, 0, tuple, WHAT_SPILLED_ARGS);
            Loc::Mem {
                mem: CALLER_MEMORY,
                base: 0,
                off: 0,
            }
        }
    };
    if s.params.iter().any(|t| needs(types, *t, 0).1) {
        body.start_budget(CALLER_MEMORY);
    }
    let src_locs = body.fields(src, &s.params).ok()?;
    for (t, l) in s.params.iter().zip(&src_locs) {
        body.check(*t, *l, &args).ok()?;
    }
    // 3. Enter.
    let enter: Vec<u32> = (0..entering as u32).map(|i| FIRST_ENTER + i).collect();
    for &g in &enter {
        body.i(I::GlobalGet(g));
        body.i(I::I32Const(FLAG_MAY_ENTER));
        body.i(I::I32And);
        body.i(I::I32Eqz);
        body.trap_if(TRAP_CANNOT_ENTER, &[]);
    }
    for &g in &enter {
        body.i(I::GlobalGet(g));
        body.i(I::I32Const(!FLAG_MAY_ENTER));
        body.i(I::I32And);
        body.i(I::GlobalSet(g));
    }
    // 4. The arguments lowered into the callee.
    let dst_slots: Vec<Slot> = match &s.param_flat {
        Some(v) => v
            .iter()
            .map(|t| Slot {
                local: body.local(*t),
                ty: *t,
            })
            .collect(),
        None => Vec::new(),
    };
    let (dst, callee_args) = match s.param_flat {
        Some(_) => (
            Loc::Stack(&dst_slots),
            dst_slots.iter().map(|s| s.local).collect::<Vec<_>>(),
        ),
        None => {
            // `lower_flat_values`: the tuple's area from the callee's
            // `realloc`, then each value stored into it.
            let size = body.local(ValType::I32);
            body.i(I::I32Const(tuple.size as i32));
            body.i(I::LocalSet(size));
            let p = body.realloc(
                &args,
                I::I32Const(0),
                I::I32Const(0),
                tuple.align,
                size,
                TRAP_REALLOC_OUT_OF_BOUNDS,
            );
            (
                Loc::Mem {
                    mem: CALLEE_MEMORY,
                    base: p,
                    off: 0,
                },
                vec![p],
            )
        }
    };
    let dst_locs = body.fields(dst, &s.params).ok()?;
    for ((t, sl), dl) in s.params.iter().zip(&src_locs).zip(&dst_locs) {
        body.copy(*t, *sl, *dl, &args).ok()?;
    }
    // 5. The call.
    for a in &callee_args {
        body.i(I::LocalGet(*a));
    }
    body.call_no_throw(CALLEE_FUNC, CALLEE_TYPE, CALLEE_VOID_TYPE);
    let raw: Vec<Slot> = lifted_results
        .iter()
        .map(|t| Slot {
            local: body.local(*t),
            ty: *t,
        })
        .collect();
    for r in raw.iter().rev() {
        body.i(I::LocalSet(r.local));
    }
    // 6. The result: lifted out of the callee, lowered into the caller.
    let out: Vec<Slot> = lowered_results
        .iter()
        .map(|t| Slot {
            local: body.local(*t),
            ty: *t,
        })
        .collect();
    if let Some(t) = s.result {
        match &s.result_flat {
            Some(_) => {
                body.check(t, Loc::Stack(&raw), &back).ok()?;
                body.copy(t, Loc::Stack(&raw), Loc::Stack(&out), &back)
                    .ok()?;
            }
            None => {
                let l = layout(types, t, 0).ok()?;
                let rp = raw.first()?.local;
                body.check_ptr(CALLEE_MEMORY, rp, l, WHAT_RESULT_AREA);
                if needs(types, t, 0).1 {
                    body.start_budget(CALLEE_MEMORY);
                }
                let from = Loc::Mem {
                    mem: CALLEE_MEMORY,
                    base: rp,
                    off: 0,
                };
                body.check(t, from, &back).ok()?;
                let retptr = lowered_params.len() as u32 - 1;
                body.check_ptr(CALLER_MEMORY, retptr, l, WHAT_RETURN_AREA);
                let to = Loc::Mem {
                    mem: CALLER_MEMORY,
                    base: retptr,
                    off: 0,
                };
                body.copy(t, from, to, &back).ok()?;
            }
        }
    }
    // 7. post-return, not allowed to leave.
    if post_return {
        body.i(I::GlobalGet(CALLEE_FLAGS));
        body.i(I::I32Const(!FLAG_MAY_LEAVE));
        body.i(I::I32And);
        body.i(I::GlobalSet(CALLEE_FLAGS));
        for r in &raw {
            body.i(I::LocalGet(r.local));
        }
        body.call_no_throw(post_return_func, POST_RETURN_TYPE, POST_RETURN_TYPE);
        body.i(I::GlobalGet(CALLEE_FLAGS));
        body.i(I::I32Const(FLAG_MAY_LEAVE));
        body.i(I::I32Or);
        body.i(I::GlobalSet(CALLEE_FLAGS));
    }
    // 8. Leave.
    for &g in &enter {
        body.i(I::GlobalGet(g));
        body.i(I::I32Const(FLAG_MAY_ENTER));
        body.i(I::I32Or);
        body.i(I::GlobalSet(g));
    }
    for o in &out {
        body.i(I::LocalGet(o.local));
    }
    body.i(I::End);

    // The module.
    let mut module = Module::new();
    let mut tys = TypeSection::new();
    tys.ty().function([ValType::I32; 1 + TRAP_ARGS], []);
    tys.ty().function(
        lifted_params.iter().copied(),
        lifted_results.iter().copied(),
    );
    tys.ty().function(lifted_results.iter().copied(), []);
    tys.ty().function([ValType::I32; 4], [ValType::I32]);
    tys.ty().function(lifted_params.iter().copied(), []);
    tys.ty().function([ValType::I32; 4], []);
    tys.ty().function([ValType::I32; 4], [ValType::I32]);
    tys.ty().function([ValType::I32; 6], [ValType::I32]);
    tys.ty().function(
        lowered_params.iter().copied(),
        lowered_results.iter().copied(),
    );
    module.section(&tys);
    let mut imports = ImportSection::new();
    imports.import("fact", "trap", EntityType::Function(0));
    imports.import("fact", "callee", EntityType::Function(CALLEE_TYPE));
    if post_return {
        imports.import(
            "fact",
            "post_return",
            EntityType::Function(POST_RETURN_TYPE),
        );
    }
    if s.callee_realloc {
        imports.import("fact", "realloc", EntityType::Function(REALLOC_TYPE));
    }
    if s.caller_realloc {
        imports.import("fact", "caller_realloc", EntityType::Function(REALLOC_TYPE));
    }
    if s.strings {
        imports.import("fact", "validate", EntityType::Function(VALIDATE_TYPE));
        imports.import("fact", "transcode", EntityType::Function(TRANSCODE_TYPE));
    }
    if s.memories {
        let memory = EntityType::Memory(wasm_encoder::MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
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
    funcs.function(ADAPTER_TYPE);
    module.section(&funcs);
    let mut exports = ExportSection::new();
    exports.export("adapter", ExportKind::Func, adapter_func);
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

    fn gen_all(types: &ComponentTypes, ft: &FuncType) {
        let shape = Shape::of(types, ft).expect("a shape");
        use StringEncoding as E;
        for enc in [
            (E::Utf8, E::Utf8),
            (E::Utf8, E::Utf16),
            (E::Utf16, E::Latin1Utf16),
            (E::Latin1Utf16, E::Utf8),
            (E::Latin1Utf16, E::Latin1Utf16),
        ] {
            for (entering, post, catch) in [(0, false, false), (2, true, true), (1, false, true)] {
                let bytes = generate(types, &shape, enc, entering, post, catch)
                    .unwrap_or_else(|| panic!("{ft:?} compiles"));
                validate(&bytes);
            }
        }
    }

    #[test]
    fn adapters_validate() {
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
            T::String,
        ] {
            gen_all(
                &types,
                &FuncType {
                    params: vec![("a".into(), t), ("b".into(), t)],
                    result: Some(t),
                    async_: false,
                },
            );
        }
        // Lists of records of strings, maps, options of lists, fixed
        // lists; spilled parameters and results.
        let mut types = ComponentTypes::default();
        let def = |types: &mut ComponentTypes, d: DefinedType| {
            types.defined.push(d);
            T::Defined(super::super::types::TypeIndex(
                types.defined.len() as u32 - 1,
            ))
        };
        let rec = def(
            &mut types,
            DefinedType::Record(vec![
                ("s".into(), T::String),
                ("c".into(), T::Char),
                ("f".into(), T::F64),
            ]),
        );
        let list = def(&mut types, DefinedType::List(rec));
        let ints = def(&mut types, DefinedType::List(T::U16));
        let map = def(
            &mut types,
            DefinedType::Map {
                key: T::String,
                value: ints,
            },
        );
        let opt = def(&mut types, DefinedType::Option(list));
        let fixed = def(
            &mut types,
            DefinedType::FixedLengthList {
                element: rec,
                len: 9,
            },
        );
        for t in [rec, list, ints, map, opt, fixed] {
            gen_all(
                &types,
                &FuncType {
                    params: vec![("a".into(), t), ("b".into(), T::U8)],
                    result: Some(t),
                    async_: false,
                },
            );
        }
        let many = FuncType {
            params: (0..20).map(|i| (format!("p{i}"), T::U32)).collect(),
            result: Some(rec),
            async_: false,
        };
        let shape = Shape::of(&types, &many).expect("a shape");
        assert!(shape.param_flat.is_none() && shape.result_flat.is_none());
        gen_all(&types, &many);
    }
}
