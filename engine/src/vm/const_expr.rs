//! Constant expressions: global initialisers, segment offsets and element
//! items, evaluated at instantiation in the context of the new instance.

use nyash_aot::gc_layout::{self, ArrayLayout};
use nyash_aot::module::{CompositeType, ConstExpr, ConstOp, FieldType, StorageType};
use nyash_gc::vm::{Kind, type_word};

use crate::error::{Result, TrapCode};
use crate::gc::{AnyRef, I31};
use crate::vm::instantiate::wasm_func;
use crate::vm::store_opaque::{InstanceId, StoreOpaque};
use crate::vm::vmcontext::ValRaw;

/// Evaluates a constant expression in the context of an instance. Fails
/// only when a GC allocation finds no room (`AllocationFailure`).
pub(crate) fn eval_const(
    store: &mut StoreOpaque,
    instance: InstanceId,
    expr: &ConstExpr,
) -> Result<ValRaw> {
    // Each value with whether it is a heap reference (rooted while a later
    // operator allocates).
    let mut stack: Vec<(ValRaw, bool)> = Vec::with_capacity(2);
    for op in &expr.0 {
        let mut is_ref = false;
        let v = match *op {
            ConstOp::I32Const(v) => ValRaw {
                i64: v as u32 as i64,
            },
            ConstOp::I64Const(v) => ValRaw { i64: v },
            ConstOp::F32Const(v) => ValRaw { i64: v as i64 },
            ConstOp::F64Const(v) => ValRaw { f64: v },
            ConstOp::V128Const(v) => ValRaw {
                v128: v.to_le_bytes(),
            },
            ConstOp::RefNull(_) => ValRaw { r#ref: 0 },
            ConstOp::RefFunc(f) => {
                let func = wasm_func(store, instance, f);
                ValRaw {
                    r#ref: store.funcs[func.index as usize].func_ref as usize,
                }
            }
            ConstOp::GlobalGet(g) => {
                let idx = store.instances[instance].globals[g as usize];
                let global = &store.globals[idx as usize];
                is_ref = global.ty.content.is_traced(|h| store.heap_top(h));
                // SAFETY: `def` points at the live storage of that global.
                unsafe { (*global.def).to_raw() }
            }
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or_default().0,
                    stack.pop().unwrap_or_default().0,
                );
                // SAFETY: validation typed both operands i32.
                let (a, b) = unsafe { (a.i32, b.i32) };
                let r = match *op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                };
                ValRaw {
                    i64: r as u32 as i64,
                }
            }
            ConstOp::RefI31 => {
                // SAFETY: validation typed the operand i32.
                let x = unsafe { stack.pop().unwrap_or_default().0.i32 };
                // Zero-extended, as `Val::to_raw` writes an `any` reference.
                let r = AnyRef::to_raw(store, Some(AnyRef::from_i31(I31::new_i32(x))));
                ValRaw { r#ref: r as usize }
            }
            ConstOp::StructNew(t)
            | ConstOp::StructNewDefault(t)
            | ConstOp::ArrayNew(t)
            | ConstOp::ArrayNewDefault(t)
            | ConstOp::ArrayNewFixed(t, _) => {
                is_ref = true;
                ValRaw {
                    r#ref: alloc(store, instance, &mut stack, op, t)? as usize,
                }
            }
            ConstOp::AnyConvertExtern => {
                // SAFETY: validation typed the operand externref.
                let e = unsafe { stack.pop().unwrap_or_default().0.r#ref };
                is_ref = true;
                let r = crate::vm::gc_heap::any_from_extern(store, e)
                    .map_err(|_| crate::Error::from(TrapCode::AllocationFailure))?;
                ValRaw { r#ref: r as usize }
            }
            ConstOp::ExternConvertAny => {
                // SAFETY: validation typed the operand an `any` reference.
                let r = unsafe { stack.pop().unwrap_or_default().0.i32 as u32 };
                ValRaw {
                    r#ref: crate::vm::gc_heap::extern_from_any(store, r),
                }
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or_default().0,
                    stack.pop().unwrap_or_default().0,
                );
                // SAFETY: validation typed both operands i64.
                let (a, b) = unsafe { (a.i64, b.i64) };
                let r = match *op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                };
                ValRaw { i64: r }
            }
        };
        stack.push((v, is_ref));
    }
    Ok(stack.pop().unwrap_or_default().0)
}

/// Allocates the object of `op` (of module type `type_index`), taking its
/// operands from `stack`. The heap references on `stack` are rooted while
/// it allocates and read back after, since a collection may move them.
fn alloc(
    store: &mut StoreOpaque,
    instance: InstanceId,
    stack: &mut Vec<(ValRaw, bool)>,
    op: &ConstOp,
    type_index: u32,
) -> Result<u32> {
    let module = store.instances[instance].module.clone();
    let env = module.env();
    let id = module.inner.type_ids[type_index as usize];
    let hierarchy = |h| env.heap_top(h);
    let (w0, w1, layout) = match (&env.types[type_index as usize].composite, op) {
        (CompositeType::Struct(fields), _) => (type_word(id, Kind::Struct), 0, Err(fields)),
        (CompositeType::Array(elem), _) => {
            let len = match *op {
                ConstOp::ArrayNewFixed(_, n) => n,
                // SAFETY: validation typed the length operand i32.
                _ => unsafe { stack.last().map_or(0, |v| v.0.i32 as u32) },
            };
            (
                type_word(id, Kind::Array),
                len,
                Ok((gc_layout::array_layout(*elem, hierarchy), *elem)),
            )
        }
        (CompositeType::Func(_), _) => return Err(TrapCode::AllocationFailure.into()),
    };
    let Some(gc) = store.gc.as_mut() else {
        return Err(TrapCode::AllocationFailure.into());
    };
    let base = gc.tmp.len();
    gc.tmp.extend(
        stack
            .iter()
            .filter(|v| v.1)
            // SAFETY: a value marked as a reference was written as one
            // (an `any` reference in the low 32 bits).
            .map(|v| unsafe { v.0.i32 as u32 }),
    );
    let r = crate::vm::gc_heap::alloc_raw(store, w0, w1);
    let gc = store.gc.as_mut().expect("checked above");
    let mut moved = gc.tmp.drain(base..);
    for v in stack.iter_mut().filter(|v| v.1) {
        v.0 = ValRaw {
            r#ref: moved.next().unwrap_or(0) as usize,
        };
    }
    drop(moved);
    let r = r.map_err(|_| crate::Error::from(TrapCode::AllocationFailure))?;
    let heap = &mut gc.heap;
    let mut write = |off: u32, f: FieldType, v: ValRaw| -> Result<()> {
        let (size, traced) = gc_layout::storage(f.storage, &hierarchy);
        // SAFETY: validation typed each operand as its field.
        let res = unsafe {
            match (f.storage, size, traced) {
                (_, _, true) => heap.write_ref(r, off, v.i32 as u32),
                (StorageType::I8, ..) => heap.write_bytes(r, off, &[v.i32 as u8]),
                (StorageType::I16, ..) => heap.write_bytes(r, off, &(v.i32 as u16).to_le_bytes()),
                (_, 16, _) => heap.write_bytes(r, off, &v.v128),
                (_, 8, _) => heap.write_u64(r, off, v.i64 as u64),
                _ => heap.write_u32(r, off, v.i32 as u32),
            }
        };
        res.map_err(|_| TrapCode::AllocationFailure.into())
    };
    match (layout, op) {
        (Err(fields), ConstOp::StructNew(_)) => {
            let l = gc_layout::struct_layout(fields, hierarchy);
            let values = stack.split_off(stack.len() - fields.len());
            for ((f, off), (v, _)) in fields.iter().zip(&l.field_offsets).zip(values) {
                write(*off, *f, v)?;
            }
        }
        (Err(_), _) => {}
        (Ok((l, elem)), ConstOp::ArrayNewFixed(_, n)) => {
            let values = stack.split_off(stack.len() - *n as usize);
            for (i, (v, _)) in values.into_iter().enumerate() {
                write(elem_off(l, i as u32), elem, v)?;
            }
        }
        (Ok((l, elem)), ConstOp::ArrayNew(_)) => {
            stack.pop();
            let (v, _) = stack.pop().unwrap_or_default();
            for i in 0..w1 {
                write(elem_off(l, i), elem, v)?;
            }
        }
        (Ok(_), _) => {
            stack.pop();
        }
    }
    Ok(r)
}

fn elem_off(l: ArrayLayout, i: u32) -> u32 {
    l.elems_offset + i * l.elem_size
}
