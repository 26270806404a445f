//! Compiled fused adapters at instantiation: the adapter module the
//! compiler generated for a call between two component instances
//! (`nyash_aot::component::fact`) instantiated with what it imports: the
//! trap intrinsic, the callee's core function and `post-return`, the
//! callee's `realloc` and both memories (lists and strings), the string
//! validation intrinsic over the caller's memory (strings), and the
//! flags globals of the caller, the callee and the instances the call
//! enters. Its export is the core function the caller imports; a call
//! through it stays in compiled code unless it traps.

use nyash_aot::component::fact::{
    AdapterPlan, TRAP_CANNOT_ENTER, TRAP_CANNOT_LEAVE, TRAP_INVALID_CHAR,
    TRAP_INVALID_DISCRIMINANT, TRAP_LIST_OUT_OF_BOUNDS, TRAP_LIST_TOO_LONG, TRAP_LIST_UNALIGNED,
    TRAP_REALLOC_LIST_OUT_OF_BOUNDS, TRAP_REALLOC_SHRINK_OUT_OF_BOUNDS,
    TRAP_REALLOC_STRING_OUT_OF_BOUNDS, TRAP_REALLOC_UNALIGNED, TRAP_STRING_OUT_OF_BOUNDS,
    TRAP_STRING_TOO_LONG, TRAP_STRING_UNALIGNED, TRAP_UNCAUGHT_EXCEPTION, VALIDATE_UTF8,
    VALIDATE_UTF16,
};

use nyash_aot::component::inline::ComponentInstanceId;

use super::resources::trap;
use super::store::LiftedFunc;
use crate::store::StoreContextMut;
use crate::vm::store_opaque::StoreInner;
use crate::{
    Caller, ComponentTrap, Error, Extern, Func as CoreFunc, FuncType as CoreFuncType, Result,
    Val as CoreVal, ValType,
};

/// The error of the trap intrinsic's `(code, a, b, c, d)`: the same trap,
/// with the same message, the dynamic path (`abi.rs`) raises for it.
fn trap_error(code: i32, [a, b, c, d]: [i32; 4]) -> Error {
    let (a, b, c) = (a as u32, b as u32, c as u32);
    let len = u64::from(d as u32) << 16;
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
            format!("list of {a} elements of {b} bytes at {c:#x}, past the memory's {len} bytes"),
        ),
        TRAP_REALLOC_UNALIGNED => super::abi::trap(
            ComponentTrap::ReallocUnaligned,
            format!("realloc(0x0, 0, {a}, {b}) returned {c:#x}"),
        ),
        TRAP_REALLOC_LIST_OUT_OF_BOUNDS => super::abi::trap(
            ComponentTrap::ReallocListOutOfBounds,
            format!("realloc(0x0, 0, {a}, {b}) returned {c:#x}, past the memory's {len} bytes"),
        ),
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
                "string of {} bytes at {c:#x}, past the memory's {len} bytes",
                u64::from(a) * u64::from(b)
            ),
        ),
        TRAP_REALLOC_STRING_OUT_OF_BOUNDS => super::abi::trap(
            ComponentTrap::ReallocStringOutOfBounds,
            format!("realloc(0x0, 0, {a}, {b}) returned {c:#x}, past the memory's {len} bytes"),
        ),
        TRAP_REALLOC_SHRINK_OUT_OF_BOUNDS => super::abi::trap(
            ComponentTrap::ReallocStringOutOfBounds,
            format!(
                "realloc({a:#x}, {}, 1, {b}) returned {c:#x}, past the memory's {len} bytes",
                u64::from(b) * 2
            ),
        ),
        TRAP_UNCAUGHT_EXCEPTION => super::abi::trap(
            ComponentTrap::UncaughtException,
            "a core exception escaped the callee of a call between component instances".into(),
        ),
        other => nyash_aot::bug_error!("compiled adapter trapped with unknown code {other}").into(),
    }
}

/// The trap intrinsic: `(code, a, b, c, d) -> ()`, always an error.
fn trap_func<T: 'static>(store: &mut StoreInner<T>) -> Result<CoreFunc> {
    let ty = CoreFuncType {
        params: vec![ValType::I32; 5],
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
            Err(trap_error(arg(0), [arg(1), arg(2), arg(3), arg(4)]))
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

/// The validation intrinsic of an adapter whose caller's memory is `mem`:
/// `(kind, ptr, bytes) -> i32` ([`validate_units`]).
fn validate_func<T: 'static>(store: &mut StoreInner<T>, mem: crate::Memory) -> Result<CoreFunc> {
    let ty = CoreFuncType {
        params: vec![ValType::I32; 3],
        results: vec![ValType::I32],
    };
    CoreFunc::new(
        StoreContextMut(store),
        ty,
        move |caller: Caller<'_, T>, params: &[CoreVal], results: &mut [CoreVal]| {
            let arg = |i: usize| match params.get(i) {
                Some(CoreVal::I32(x)) => *x,
                _ => 0,
            };
            let r = validate_units(mem.data(&caller), arg(0), arg(1) as u32, arg(2) as u32)?;
            if let Some(out) = results.get_mut(0) {
                *out = CoreVal::I32(r);
            }
            Ok(())
        },
    )
}

/// The core function of the compiled adapter `plan` calling `callee` from
/// the root instance `data` (whose canonical options have the memory
/// `caller_memory`), checked to have the caller's core type `expected`;
/// `None` where the memories are of a kind the adapter does not handle.
pub(crate) fn compiled_adapter<T: 'static>(
    store: &mut StoreInner<T>,
    data: u32,
    plan: &AdapterPlan,
    callee: &LiftedFunc,
    caller_memory: Option<crate::Memory>,
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
    if plan.memories {
        let (Some(realloc), Some(callee_mem), Some(caller_mem)) =
            (callee.options.realloc, callee.options.memory, caller_memory)
        else {
            return Err(nyash_aot::bug_error!(
                "compiled adapter with lists or strings but no memory or realloc"
            )
            .into());
        };
        // The adapter reads the memories' sizes in 64 KiB pages of 32-bit
        // memories; any other memory keeps the dynamic adapter.
        for m in [caller_mem, callee_mem] {
            let ty = m.ty(crate::store::StoreContext(&*store));
            if ty.memory64 || ty.shared || ty.page_size_log2() != 16 {
                return Ok(None);
            }
        }
        externs.push(Extern::Func(realloc));
        if plan.validate {
            externs.push(Extern::Func(validate_func(store, caller_mem)?));
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
