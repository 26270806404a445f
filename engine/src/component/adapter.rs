//! Compiled fused adapters at instantiation: the adapter module the
//! compiler generated for a call between two component instances
//! (`nyash_aot::component::fact`) instantiated with what it imports: the
//! trap intrinsic, the callee's core function and `post-return`, the
//! callee's and the caller's `realloc`, the string intrinsics over both
//! memories (`validate`, `transcode`), the memories, and the flags globals
//! of the caller, the callee and the instances the call enters. Its export
//! is the core function the caller imports; a call through it stays in
//! compiled code unless it traps (and for a string, the intrinsics' host
//! calls).

use nyash_aot::component::fact::{
    AdapterPlan, TRAP_CANNOT_ENTER, TRAP_CANNOT_LEAVE, TRAP_INVALID_CHAR,
    TRAP_INVALID_DISCRIMINANT, TRAP_INVALID_DISCRIMINANT_AT, TRAP_LIFT_TOO_LARGE,
    TRAP_LIST_OUT_OF_BOUNDS, TRAP_LIST_TOO_LONG, TRAP_LIST_UNALIGNED, TRAP_POINTER_OUT_OF_BOUNDS,
    TRAP_POINTER_UNALIGNED, TRAP_REALLOC_LIST_OUT_OF_BOUNDS, TRAP_REALLOC_OUT_OF_BOUNDS,
    TRAP_REALLOC_STRING_OUT_OF_BOUNDS, TRAP_REALLOC_UNALIGNED, TRAP_STRING_OUT_OF_BOUNDS,
    TRAP_STRING_TOO_LONG, TRAP_STRING_UNALIGNED, TRAP_UNCAUGHT_EXCEPTION, VALIDATE_UTF8,
    VALIDATE_UTF16, WHAT_RESULT_AREA, WHAT_RETURN_AREA, WHAT_SPILLED_ARGS, XC_ASCII_LATIN1,
    XC_ASCII_UTF16, XC_LATIN1_TO_UTF16, XC_LATIN1_UTF8, XC_LATIN1_UTF16, XC_UTF8_REST_LATIN1,
    XC_UTF8_REST_UTF16, XC_UTF8_TO_UTF16, XC_UTF16_REST_UTF8, XC_UTF16_REST_UTF16,
};

use nyash_aot::component::inline::ComponentInstanceId;

use super::resources::trap;
use super::store::{LiftedFunc, ResolvedOptions};
use crate::store::StoreContextMut;
use crate::vm::invoke::HostFn;
use crate::vm::store_opaque::StoreInner;
use crate::vm::vmcontext::ValRaw;
use crate::{
    Caller, ComponentTrap, Error, Extern, Func as CoreFunc, FuncType as CoreFuncType, Result,
    Val as CoreVal, ValType,
};

/// The error of the trap intrinsic's `(code, a, b, c, d, e, f)`: the same
/// trap, with the same message, the dynamic path (`abi.rs`) raises for it.
fn trap_error(code: i32, [a, b, c, d, e, f]: [i32; 6]) -> Error {
    let (a, b, c, d, e) = (a as u32, b as u32, c as u32, d as u32, e as u32);
    let pages = |p: u32| u64::from(p) << 16;
    let what = |w: u32| match w as i32 {
        WHAT_SPILLED_ARGS => "the spilled arguments",
        WHAT_RESULT_AREA => "the result area",
        WHAT_RETURN_AREA => "the return pointer's area",
        _ => "a value",
    };
    let realloc = |kind: ComponentTrap| {
        super::abi::trap(
            kind,
            format!(
                "realloc({a:#x}, {b}, {c}, {d}) returned {e:#x}, past the memory's {} bytes",
                pages(f as u32)
            ),
        )
    };
    match code {
        TRAP_CANNOT_LEAVE => trap(
            ComponentTrap::CannotLeave,
            "cannot leave component instance",
        ),
        TRAP_CANNOT_ENTER => trap(
            ComponentTrap::CannotEnter,
            "cannot enter component instance",
        ),
        TRAP_INVALID_CHAR => super::abi::trap(ComponentTrap::InvalidChar, format!("char {a:#x}")),
        TRAP_INVALID_DISCRIMINANT => super::abi::trap(
            ComponentTrap::InvalidDiscriminant,
            format!("discriminant {a} of a type with {b} cases"),
        ),
        TRAP_INVALID_DISCRIMINANT_AT => super::abi::trap(
            ComponentTrap::InvalidDiscriminant,
            format!("discriminant {a} at {c:#x} of a type with {b} cases"),
        ),
        TRAP_LIST_TOO_LONG => super::abi::trap(
            ComponentTrap::ListTooLong,
            format!("list of {a} elements of {b} bytes at {c:#x}"),
        ),
        TRAP_LIST_UNALIGNED => super::abi::trap(
            ComponentTrap::UnalignedPointer,
            format!("list at {a:#x}, not aligned to {b}"),
        ),
        TRAP_LIST_OUT_OF_BOUNDS => super::abi::trap(
            ComponentTrap::ListOutOfBounds,
            format!(
                "list of {a} elements of {b} bytes at {c:#x}, past the memory's {} bytes",
                pages(d)
            ),
        ),
        TRAP_REALLOC_UNALIGNED => super::abi::trap(
            ComponentTrap::ReallocUnaligned,
            format!("realloc({a:#x}, {b}, {c}, {d}) returned {e:#x}"),
        ),
        TRAP_REALLOC_LIST_OUT_OF_BOUNDS => realloc(ComponentTrap::ReallocListOutOfBounds),
        TRAP_REALLOC_STRING_OUT_OF_BOUNDS => realloc(ComponentTrap::ReallocStringOutOfBounds),
        TRAP_REALLOC_OUT_OF_BOUNDS => realloc(ComponentTrap::ReallocOutOfBounds),
        TRAP_STRING_TOO_LONG => super::abi::trap(
            ComponentTrap::StringTooLong,
            format!("string of {} bytes at {c:#x}", u64::from(a) * u64::from(b)),
        ),
        TRAP_STRING_UNALIGNED => super::abi::trap(
            ComponentTrap::UnalignedPointer,
            format!("string at {a:#x}, not aligned to {b}"),
        ),
        TRAP_STRING_OUT_OF_BOUNDS => super::abi::trap(
            ComponentTrap::StringOutOfBounds,
            format!(
                "string of {} bytes at {c:#x}, past the memory's {} bytes",
                u64::from(a) * u64::from(b),
                pages(d)
            ),
        ),
        TRAP_POINTER_UNALIGNED => super::abi::trap(
            ComponentTrap::UnalignedPointer,
            format!("{} at {b:#x}, not aligned to {c}", what(a)),
        ),
        TRAP_POINTER_OUT_OF_BOUNDS => super::abi::trap(
            ComponentTrap::PointerOutOfBounds,
            format!(
                "{} of {b} bytes at {c:#x}, past the memory's {} bytes",
                what(a),
                pages(d)
            ),
        ),
        TRAP_LIFT_TOO_LARGE => super::abi::trap(
            ComponentTrap::LiftTooLarge,
            format!("{a} more bytes of list or string contents"),
        ),
        TRAP_UNCAUGHT_EXCEPTION => super::abi::trap(
            ComponentTrap::UncaughtException,
            "a core exception escaped the callee of a call between component instances".into(),
        ),
        other => nyash_aot::bug_error!("compiled adapter trapped with unknown code {other}").into(),
    }
}

/// The trap intrinsic: `(code, a, b, c, d, e, f) -> ()`, always an error.
fn trap_func<T: 'static>(store: &mut StoreInner<T>) -> Result<CoreFunc> {
    let ty = CoreFuncType {
        params: vec![ValType::I32; 7],
        results: vec![],
    };
    CoreFunc::new(
        StoreContextMut(store),
        ty,
        |_caller: Caller<'_, T>, params: &[CoreVal], _results: &mut [CoreVal]| {
            let arg = |i: usize| match params.get(i) {
                Some(CoreVal::I32(x)) => *x,
                _ => 0,
            };
            Err(trap_error(
                arg(0),
                [arg(1), arg(2), arg(3), arg(4), arg(5), arg(6)],
            ))
        },
    )
}

/// Checks the code units of a string at `ptr` in `mem` (already checked
/// to be within it): [`VALIDATE_UTF8`] or [`VALIDATE_UTF16`], with the
/// dynamic path's traps and messages (`load_string_from_range`); for
/// UTF-16, whether a unit is past Latin-1.
///
/// A host function rather than a loop in the adapter: the standard
/// library's UTF-8 check reads a word at a time where a generated loop
/// would branch per byte, the traps and their messages come from one
/// place, and a check is one call per string, small next to the copy.
fn validate_units(mem: &[u8], kind: i32, ptr: u32, bytes: u32) -> Result<i32> {
    let b = usize::try_from(ptr)
        .ok()
        .zip(usize::try_from(bytes).ok())
        .and_then(|(p, n)| mem.get(p..p.checked_add(n)?))
        .ok_or_else(|| {
            Error::from(nyash_aot::bug_error!(
                "compiled adapter validates a string of {bytes} bytes at {ptr:#x} past its memory"
            ))
        })?;
    match kind {
        VALIDATE_UTF8 => match std::str::from_utf8(b) {
            Ok(_) => Ok(0),
            Err(e) => {
                let kind = if e.error_len().is_some() {
                    ComponentTrap::InvalidUtf8
                } else {
                    ComponentTrap::IncompleteUtf8
                };
                Err(super::abi::trap(kind, format!("string at {ptr:#x}: {e}")))
            }
        },
        VALIDATE_UTF16 => {
            let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
            let mut wide = 0;
            for (i, c) in char::decode_utf16(units).enumerate() {
                match c {
                    Ok(c) => wide |= i32::from(u32::from(c) >= 0x100),
                    Err(e) => {
                        return Err(super::abi::trap(
                            ComponentTrap::InvalidUtf16,
                            format!(
                                "string at {ptr:#x}: unpaired surrogate {:#06x} near code unit {i}",
                                e.unpaired_surrogate()
                            ),
                        ));
                    }
                }
            }
            Ok(wide)
        }
        other => Err(
            nyash_aot::bug_error!("compiled adapter validates with unknown kind {other}").into(),
        ),
    }
}

/// The two memories of an adapter: the caller's, the callee's.
type Memories = [crate::Memory; 2];

/// The validation intrinsic of an adapter: `(mem, kind, ptr, bytes) ->
/// i32` ([`validate_units`]) over the caller's memory (`mem` 0) or the
/// callee's (1). A raw host function (its `i32`s read from the core
/// slots, nothing allocated per call).
fn validate_func<T: 'static>(store: &mut StoreInner<T>, mems: Memories) -> Result<CoreFunc> {
    let ty = CoreFuncType {
        params: vec![ValType::I32; 4],
        results: vec![ValType::I32],
    };
    let raw = HostFn::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
        let arg = |i: usize| values.get(i).map_or(0, raw_i32);
        let mem = mems[usize::from(arg(0) != 0)];
        let (kind, ptr, bytes) = (arg(1), arg(2), arg(3));
        let r = validate_units(mem.data(&caller), kind, ptr as u32, bytes as u32)?;
        if let Some(out) = values.get_mut(0) {
            *out = ValRaw {
                i64: i64::from(r as u32),
            };
        }
        Ok(())
    });
    CoreFunc::new_raw(store, ty, raw)
}

/// The `i32` in a core slot.
fn raw_i32(v: &ValRaw) -> i32 {
    // SAFETY: every field of the union is plain data; any bits are an i32.
    unsafe { v.i32 }
}

/// The bytes `[at, at + len)` of `mem`, or the engine bug of an adapter
/// reaching past an area it checked.
fn area(mem: &[u8], at: u32, len: u64) -> Result<&[u8]> {
    usize::try_from(at)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(p, n)| mem.get(p..p.checked_add(n)?))
        .ok_or_else(|| {
            Error::from(nyash_aot::bug_error!(
                "compiled adapter transcodes {len} bytes at {at:#x}, past the memory"
            ))
        })
}

fn area_mut(mem: &mut [u8], at: u64, len: usize) -> Result<&mut [u8]> {
    usize::try_from(at)
        .ok()
        .and_then(|p| mem.get_mut(p..p.checked_add(len)?))
        .ok_or_else(|| {
            Error::from(nyash_aot::bug_error!(
                "compiled adapter writes {len} bytes at {at:#x}, past the memory"
            ))
        })
}

/// The trap of a source string that no longer decodes: its units were
/// checked when it was lifted, so only a memory both sides share (changed
/// by the callee's `realloc`) gets here.
fn changed(kind: ComponentTrap, ptr: u32) -> Error {
    super::abi::trap(kind, format!("string at {ptr:#x} changed after its check"))
}

/// Little-endian UTF-16 code units.
fn units(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]))
}

/// Appends `c` to `out` as little-endian UTF-16.
fn push_utf16(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u16; 2];
    for u in c.encode_utf16(&mut buf) {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

/// A source string's characters, as the encoding of `op` reads them.
fn chars<'a>(
    b: &'a [u8],
    utf16: bool,
    ptr: u32,
) -> Result<Box<dyn Iterator<Item = Result<char>> + 'a>> {
    Ok(if utf16 {
        Box::new(
            char::decode_utf16(units(b))
                .map(move |c| c.map_err(|_| changed(ComponentTrap::InvalidUtf16, ptr))),
        )
    } else {
        let s = std::str::from_utf8(b).map_err(|_| changed(ComponentTrap::InvalidUtf8, ptr))?;
        Box::new(s.chars().map(Ok))
    })
}

/// The transcoding intrinsic's `(dir, op, src, n, dst, at) -> i32`
/// ([`XC_LATIN1_TO_UTF16`] ...): the code units of the string the adapter
/// checked, converted between the `realloc` calls the adapter makes in
/// the spec's order. `dir` 0 reads the caller's memory and writes the
/// callee's, 1 the other way.
///
/// Host code rather than loops in the adapter: the standard library's
/// UTF-8 and UTF-16 codecs, one place for what each of the spec's
/// `store_*` functions writes, and a call per string (the `realloc`
/// calls, their sizes and their checks, which the spec fixes, stay in the
/// generated code where they can be read in order).
fn transcode_units<T>(caller: &mut Caller<'_, T>, mems: Memories, args: [i32; 6]) -> Result<i32> {
    let [dir, op, src, n, dst, at] = args;
    let (src, n, dst, at) = (src as u32, n as u32, dst as u32, at as u32);
    let (from, to) = if dir == 0 {
        (mems[0], mems[1])
    } else {
        (mems[1], mems[0])
    };
    let utf16_src = matches!(
        op,
        XC_ASCII_UTF16 | XC_UTF8_REST_UTF16 | XC_LATIN1_UTF16 | XC_UTF16_REST_UTF16
    );
    let len = u64::from(n) * if utf16_src { 2 } else { 1 };
    let k = at as usize;
    // What to write where (an offset from `dst`), and the result; read
    // while the source is borrowed, written after.
    let (out, offset, result): (Vec<u8>, u64, u32) = {
        let b = area(from.data(&*caller), src, len)?;
        match op {
            XC_LATIN1_TO_UTF16 => (b.iter().flat_map(|&c| [c, 0]).collect(), 0, n),
            XC_UTF8_TO_UTF16 => {
                let s =
                    std::str::from_utf8(b).map_err(|_| changed(ComponentTrap::InvalidUtf8, src))?;
                let mut o = Vec::with_capacity(2 * b.len());
                for u in s.encode_utf16() {
                    o.extend_from_slice(&u.to_le_bytes());
                }
                let units = (o.len() / 2) as u32;
                (o, 0, units)
            }
            // Code units below 0x80 are ASCII characters in both.
            XC_ASCII_UTF16 => {
                let o: Vec<u8> = units(b)
                    .take_while(|u| *u < 0x80)
                    .map(|u| u as u8)
                    .collect();
                let k = o.len() as u32;
                (o, 0, k)
            }
            XC_ASCII_LATIN1 => {
                let o: Vec<u8> = b.iter().take_while(|c| c.is_ascii()).copied().collect();
                let k = o.len() as u32;
                (o, 0, k)
            }
            // The first `at` units were ASCII: the rest encoded after
            // them, the whole length the result.
            XC_UTF8_REST_UTF16 | XC_UTF8_REST_LATIN1 => {
                let mut rest = String::new();
                if utf16_src {
                    for c in chars(b.get(2 * k..).unwrap_or_default(), true, src)? {
                        rest.push(c?);
                    }
                } else {
                    rest.extend(
                        b.get(k..)
                            .unwrap_or_default()
                            .iter()
                            .map(|&c| char::from(c)),
                    );
                }
                let total = (k + rest.len()) as u32;
                (rest.into_bytes(), at.into(), total)
            }
            XC_LATIN1_UTF8 | XC_LATIN1_UTF16 => {
                let mut o = Vec::with_capacity(b.len());
                let mut wide = false;
                for c in chars(b, utf16_src, src)? {
                    let c = u32::from(c?);
                    if c >= 0x100 {
                        wide = true;
                        break;
                    }
                    o.push(c as u8);
                }
                let r = o.len() as u32 | if wide { 1 << 31 } else { 0 };
                (o, 0, r)
            }
            // After `at` Latin-1 characters: the rest as UTF-16.
            XC_UTF16_REST_UTF8 | XC_UTF16_REST_UTF16 => {
                let mut o = Vec::with_capacity(2 * b.len());
                for c in chars(b, utf16_src, src)?.skip(k) {
                    push_utf16(&mut o, c?);
                }
                let units = (k + o.len() / 2) as u32;
                (o, 2 * u64::from(at), units)
            }
            other => {
                return Err(nyash_aot::bug_error!(
                    "compiled adapter transcodes with unknown operation {other}"
                )
                .into());
            }
        }
    };
    let mem = to.data_mut(&mut *caller);
    if matches!(op, XC_UTF16_REST_UTF8 | XC_UTF16_REST_UTF16) {
        // What was written as Latin-1 inflated in place, from the last
        // byte to the first.
        let area = area_mut(mem, dst.into(), 2 * k)?;
        for j in (0..k).rev() {
            area[2 * j] = area[j];
            area[2 * j + 1] = 0;
        }
    }
    area_mut(mem, u64::from(dst) + offset, out.len())?.copy_from_slice(&out);
    Ok(result as i32)
}

/// The transcoding intrinsic of an adapter ([`transcode_units`]), a raw
/// host function like [`validate_func`].
fn transcode_func<T: 'static>(store: &mut StoreInner<T>, mems: Memories) -> Result<CoreFunc> {
    let ty = CoreFuncType {
        params: vec![ValType::I32; 6],
        results: vec![ValType::I32],
    };
    let raw = HostFn::new(move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| {
        let mut args = [0i32; 6];
        for (a, v) in args.iter_mut().zip(values.iter()) {
            *a = raw_i32(v);
        }
        let r = transcode_units(&mut caller, mems, args)?;
        if let Some(out) = values.get_mut(0) {
            *out = ValRaw {
                i64: i64::from(r as u32),
            };
        }
        Ok(())
    });
    CoreFunc::new_raw(store, ty, raw)
}

/// The core function of the compiled adapter `plan` calling `callee` from
/// the root instance `data` (the caller lowers with `caller_options`),
/// checked to have the caller's core type `expected`;
/// `None` where the memories are of a kind the adapter does not handle.
pub(crate) fn compiled_adapter<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    plan: &AdapterPlan,
    callee: &LiftedFunc,
    caller_options: &ResolvedOptions,
    expected: &CoreFuncType,
) -> Result<Option<CoreFunc>> {
    let cs = store.opaque.components();
    let d = cs.data(data);
    let module = d
        .component
        .inner
        .modules
        .get(plan.module as usize)
        .cloned()
        .ok_or_else(|| {
            Error::from(nyash_aot::bug_error!(
                "compiled adapter module {} out of range",
                plan.module
            ))
        })?;
    if plan.callee != callee.instance {
        return Err(nyash_aot::bug_error!(
            "compiled adapter's callee {:?} is not the lifting instance {:?}",
            plan.callee,
            callee.instance
        )
        .into());
    }
    let global = |i: ComponentInstanceId| -> Result<Extern> {
        d.flag_globals
            .get(i.0 as usize)
            .map(|g| Extern::Global(*g))
            .ok_or_else(|| {
                Error::from(nyash_aot::bug_error!(
                    "component instance {i:?} of a compiled adapter out of range"
                ))
            })
    };
    let mut flags = vec![global(plan.caller)?, global(plan.callee)?];
    for e in &plan.entering {
        flags.push(global(*e)?);
    }
    let trap = match store.opaque.components().data(data).adapter_trap {
        Some(f) => f,
        None => {
            let f = trap_func(store)?;
            store.opaque.components().data(data).adapter_trap = Some(f);
            f
        }
    };
    let mut externs = vec![Extern::Func(trap), Extern::Func(callee.core)];
    if plan.post_return {
        let Some(post) = callee.options.post_return else {
            return Err(
                nyash_aot::bug_error!("compiled adapter without the callee's post-return").into(),
            );
        };
        externs.push(Extern::Func(post));
    }
    let missing = |what: &str| -> Error {
        nyash_aot::bug_error!("compiled adapter without the {what}").into()
    };
    if plan.callee_realloc {
        externs.push(Extern::Func(
            callee
                .options
                .realloc
                .ok_or_else(|| missing("callee's realloc"))?,
        ));
    }
    if plan.caller_realloc {
        externs.push(Extern::Func(
            caller_options
                .realloc
                .ok_or_else(|| missing("caller's realloc"))?,
        ));
    }
    if plan.memories || plan.strings {
        let (Some(caller_mem), Some(callee_mem)) = (caller_options.memory, callee.options.memory)
        else {
            return Err(missing("memories"));
        };
        // The adapter reads the memories' sizes in 64 KiB pages of 32-bit
        // memories; any other memory keeps the dynamic adapter.
        for m in [caller_mem, callee_mem] {
            let ty = m.ty(crate::store::StoreContext(&*store));
            if ty.memory64 || ty.shared || ty.page_size_log2() != 16 {
                return Ok(None);
            }
        }
        let mems = [caller_mem, callee_mem];
        if plan.strings {
            externs.push(Extern::Func(validate_func(store, mems)?));
            externs.push(Extern::Func(transcode_func(store, mems)?));
        }
        externs.push(Extern::Memory(caller_mem));
        externs.push(Extern::Memory(callee_mem));
    }
    externs.extend(flags);
    let instance = crate::Instance::new(StoreContextMut(&mut *store), &module, &externs)
        .map_err(|e| Error::from(nyash_aot::bug_error!("compiled adapter does not link: {e}")))?;
    let f = instance
        .get_func(StoreContextMut(&mut *store), "adapter")
        .ok_or_else(|| Error::from(nyash_aot::bug_error!("compiled adapter has no export")))?;
    let ty = f.ty(crate::store::StoreContext(&*store));
    if ty.params != expected.params || ty.results != expected.results {
        return Err(nyash_aot::bug_error!(
            "compiled adapter of type {ty:?} where the caller imports {expected:?}"
        )
        .into());
    }
    Ok(Some(f))
}
