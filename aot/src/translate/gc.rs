//! GC operators that need no heap: `i31` references, `ref.eq`, and casts
//! (`ref.test`, `ref.cast`, `br_on_cast`, `br_on_cast_fail`) to abstract
//! types. A reference of the `any` hierarchy is an `I32`
//! (`nyash_gc::vm`: 0 null, odd an `i31` `(x << 1) | 1`, even a heap
//! offset).
//!
//! Casts decide on the bits: null, then the `i31` tag. No struct or array
//! object can exist until allocation lands, and `any.convert_extern` is not
//! supported, so every non-null `any` value is an `i31` or (later) a struct
//! or array: `eq` passes every non-null one. A target whose answer for a
//! heap object needs the object's header (`struct`, `array`, a concrete
//! type) is refused as unsupported until then. A function type target is
//! `call_indirect`'s type check on the funcref (`FuncEnv::func_ref_has_type`).

use cranelift_codegen::ir::{self, InstBuilder, condcodes::IntCC, types::I32};

use super::Translator;
use crate::CompileError;
use crate::module::{HeapType, RefType, WasmType};
use crate::vmoffsets::trap_codes;

/// Which non-null references of a hierarchy pass a cast to a heap type.
enum NonNull {
    /// All of them (the target is its hierarchy's top, or `eq`).
    All,
    /// None (the target is a bottom type: only null can pass).
    None,
    /// Those with the `i31` tag.
    I31,
}

impl Translator<'_, '_> {
    /// `ref.i31`: `(x << 1) | 1`, the top bit of `x` dropped.
    pub(super) fn ref_i31(&mut self) {
        let x = self.pop();
        let shifted = self.builder.ins().ishl_imm_u(x, 1);
        let r = self
            .builder
            .ins()
            .bor_imm_u(shifted, i64::from(nyash_gc::vm::I31_TAG));
        self.push(r);
    }

    /// `i31.get_s` / `i31.get_u`: traps with `NULL_REFERENCE` on null.
    pub(super) fn i31_get(&mut self, signed: bool) {
        let r = self.pop();
        self.builder.ins().trapz(r, trap_codes::NULL_REFERENCE);
        let v = if signed {
            self.builder.ins().sshr_imm_u(r, 1)
        } else {
            self.builder.ins().ushr_imm_u(r, 1)
        };
        self.push(v);
    }

    /// `ref.eq`: the same reference bits (null, the same `i31`, or the
    /// same object).
    pub(super) fn ref_eq(&mut self) {
        let (a, b) = self.pop2();
        let c = self.builder.ins().icmp(IntCC::Equal, a, b);
        let c = self.builder.ins().uextend(I32, c);
        self.push(c);
    }

    /// `ref.test`: 1 if the operand is of type `(ref null? hty)`.
    pub(super) fn ref_test(
        &mut self,
        hty: wasmparser::HeapType,
        nullable: bool,
    ) -> Result<(), CompileError> {
        let target = cast_target(hty, nullable)?;
        let r = self.pop();
        let c = self.cast_test(r, target)?;
        let c = self.builder.ins().uextend(I32, c);
        self.push(c);
        Ok(())
    }

    /// `ref.cast`: traps with `CAST_FAILURE` unless the operand is of type
    /// `(ref null? hty)`.
    pub(super) fn ref_cast(
        &mut self,
        hty: wasmparser::HeapType,
        nullable: bool,
    ) -> Result<(), CompileError> {
        let target = cast_target(hty, nullable)?;
        let r = *self.stack.last().expect("validation guarantees operands");
        let c = self.cast_test(r, target)?;
        self.builder.ins().trapz(c, trap_codes::CAST_FAILURE);
        Ok(())
    }

    /// `br_on_cast` (`on_success`) / `br_on_cast_fail`: branches with the
    /// reference (the label's last value) if the cast succeeds (fails),
    /// else keeps it.
    pub(super) fn br_on_cast(
        &mut self,
        relative_depth: u32,
        to: wasmparser::RefType,
        on_success: bool,
    ) -> Result<(), CompileError> {
        let target = cast_target(to.heap_type(), to.is_nullable())?;
        self.flush_fuel();
        let n = self.stack.len();
        let r = self.stack[n - 1];
        let c = self.cast_test(r, target)?;
        let (label, arity) = self.branch_info(relative_depth);
        let branch_args = super::control::args(&self.stack[n - arity..]);
        let next = self.builder.create_block();
        if on_success {
            self.builder.ins().brif(c, label, &branch_args, next, &[]);
        } else {
            self.builder.ins().brif(c, next, &[], label, &branch_args);
        }
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
        Ok(())
    }

    /// Whether reference `r` is of type `target` (an `I8` 0 or 1).
    fn cast_test(&mut self, r: ir::Value, target: RefType) -> Result<ir::Value, CompileError> {
        if let HeapType::Concrete(i) = target.heap
            && self
                .env
                .module
                .types
                .get(i as usize)
                .is_some_and(|t| t.as_func().is_some())
        {
            return Ok(self
                .env
                .func_ref_has_type(&mut self.builder, r, i, target.nullable));
        }
        let b = &mut self.builder;
        Ok(match (non_null_passing(target.heap)?, target.nullable) {
            (NonNull::All, true) => b.ins().iconst(ir::types::I8, 1),
            (NonNull::All, false) => b.ins().icmp_imm_u(IntCC::NotEqual, r, 0),
            (NonNull::None, true) => b.ins().icmp_imm_u(IntCC::Equal, r, 0),
            (NonNull::None, false) => b.ins().iconst(ir::types::I8, 0),
            (NonNull::I31, nullable) => {
                let tag = b.ins().band_imm_u(r, i64::from(nyash_gc::vm::I31_TAG));
                let is_i31 = b.ins().icmp_imm_u(IntCC::NotEqual, tag, 0);
                if nullable {
                    let is_null = b.ins().icmp_imm_u(IntCC::Equal, r, 0);
                    b.ins().bor(is_i31, is_null)
                } else {
                    is_i31
                }
            }
        })
    }
}

fn cast_target(hty: wasmparser::HeapType, nullable: bool) -> Result<RefType, CompileError> {
    let r = wasmparser::RefType::new(nullable, hty)
        .ok_or_else(|| CompileError::Unsupported(format!("heap type {hty:?} cannot be encoded")))?;
    match WasmType::from_wasmparser_pub(wasmparser::ValType::Ref(r))? {
        WasmType::Ref(r) => Ok(r),
        other => Err(CompileError::Unsupported(format!(
            "cast target {other} is not a reference type"
        ))),
    }
}

fn non_null_passing(h: HeapType) -> Result<NonNull, CompileError> {
    use HeapType::*;
    Ok(match h {
        Any | Eq | Func | Extern | Exn => NonNull::All,
        None | NoFunc | NoExtern | NoExn => NonNull::None,
        I31 => NonNull::I31,
        Struct | Array | Concrete(_) | Engine(_) => {
            return Err(CompileError::Unsupported(format!(
                "a cast to a struct, array or concrete struct/array type (here `{h}`) \
                 needs GC heap objects (it reads the object's header), which are not \
                 supported yet"
            )));
        }
    })
}
