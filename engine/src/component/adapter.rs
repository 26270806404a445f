//! Compiled fused adapters at instantiation: the adapter module the
//! compiler generated for a call between two component instances
//! (`nyash_aot::component::fact`) instantiated with what it imports: the
//! trap intrinsic, the callee's core function and `post-return`, and the
//! flags globals of the caller, the callee and the instances the call
//! enters. Its export is the core function the caller imports; a call
//! through it stays in compiled code unless it traps.

use nyash_aot::component::fact::{
    AdapterPlan, TRAP_CANNOT_ENTER, TRAP_CANNOT_LEAVE, TRAP_INVALID_CHAR,
    TRAP_INVALID_DISCRIMINANT, TRAP_LIST_OUT_OF_BOUNDS, TRAP_LIST_TOO_LONG, TRAP_LIST_UNALIGNED,
    TRAP_REALLOC_LIST_OUT_OF_BOUNDS, TRAP_REALLOC_UNALIGNED, TRAP_UNCAUGHT_EXCEPTION,
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
                "compiled adapter with lists but no memory or realloc"
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
