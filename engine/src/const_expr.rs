//! Constant expressions: global initialisers, segment offsets and element
//! items, evaluated at instantiation in the context of the new instance.

use nyash_aot::module::{ConstExpr, ConstOp};

use crate::instance::wasm_func;
use crate::runtime::vm::ValRaw;
use crate::store::StoreOpaque;
use crate::values::{AnyRef, I31};

/// Evaluates a constant expression in the context of an instance.
pub(crate) fn eval_const(store: &mut StoreOpaque, instance: u32, expr: &ConstExpr) -> ValRaw {
    let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
    for op in &expr.0 {
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
                let idx = store.instances[instance as usize].globals[g as usize];
                // SAFETY: `def` points at the live storage of that global.
                unsafe { (*store.globals[idx as usize].def).to_raw() }
            }
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or_default(),
                    stack.pop().unwrap_or_default(),
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
                let x = unsafe { stack.pop().unwrap_or_default().i32 };
                // Zero-extended, as `Val::to_raw` writes an `any` reference.
                let r = AnyRef::to_raw(Some(AnyRef::from_i31(I31::new_i32(x))));
                ValRaw { r#ref: r as usize }
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or_default(),
                    stack.pop().unwrap_or_default(),
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
        stack.push(v);
    }
    stack.pop().unwrap_or_default()
}
