//! Pure numeric operators: constants, arithmetic, comparisons, conversions.
//! They only pop operands and push results. `visit.rs` maps each operator
//! to one of these shapes with the Cranelift instruction it needs.

use cranelift_codegen::ir::{
    self, InstBuilder, MemFlagsData,
    condcodes::{FloatCC, IntCC},
    types::I32,
};
use cranelift_frontend::FunctionBuilder;

use super::Translator;
use crate::vmoffsets::trap_codes;

impl Translator<'_, '_> {
    /// Pushes the result of `f` on the top operand.
    pub(super) fn unary(
        &mut self,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value) -> ir::Value,
    ) {
        let a = self.pop();
        let v = f(&mut self.builder, a);
        self.push(v);
    }

    /// Pushes the result of `f` on the top two operands (`x` below `y`).
    pub(super) fn binary(
        &mut self,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value, ir::Value) -> ir::Value,
    ) {
        let (x, y) = self.pop2();
        let v = f(&mut self.builder, x, y);
        self.push(v);
    }

    /// A division or remainder: traps on a zero divisor first (Cranelift's
    /// own trap for it is not the one wasm reports for every case).
    pub(super) fn division(
        &mut self,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value, ir::Value) -> ir::Value,
    ) {
        let (x, y) = self.pop2();
        self.builder
            .ins()
            .trapz(y, trap_codes::INTEGER_DIVISION_BY_ZERO);
        let v = f(&mut self.builder, x, y);
        self.push(v);
    }

    pub(super) fn icmp(&mut self, cc: IntCC) {
        let (x, y) = self.pop2();
        let c = self.builder.ins().icmp(cc, x, y);
        let v = self.builder.ins().uextend(I32, c);
        self.push(v);
    }

    pub(super) fn fcmp(&mut self, cc: FloatCC) {
        let (x, y) = self.pop2();
        let c = self.builder.ins().fcmp(cc, x, y);
        let v = self.builder.ins().uextend(I32, c);
        self.push(v);
    }

    pub(super) fn eqz(&mut self) {
        let x = self.pop();
        let c = self.builder.ins().icmp_imm_s(IntCC::Equal, x, 0);
        let v = self.builder.ins().uextend(I32, c);
        self.push(v);
    }

    /// Sign-extends the low `narrow` bits of the operand to `wide`.
    pub(super) fn sign_extend_from(&mut self, narrow: ir::Type, wide: ir::Type) {
        let a = self.pop();
        let n = self.builder.ins().ireduce(narrow, a);
        let v = self.builder.ins().sextend(wide, n);
        self.push(v);
    }

    pub(super) fn reinterpret(&mut self, ty: ir::Type) {
        let a = self.pop();
        let v = self.builder.ins().bitcast(ty, MemFlagsData::new(), a);
        self.push(v);
    }

    /// `i64.add128` / `i64.sub128` (wide arithmetic): two 128-bit operands,
    /// each a (low, high) pair of i64s, give one such pair.
    pub(super) fn wide_add_sub(&mut self, sub: bool) {
        let (b_lo, b_hi) = self.pop2();
        let (a_lo, a_hi) = self.pop2();
        let a = self.builder.ins().iconcat(a_lo, a_hi);
        let b = self.builder.ins().iconcat(b_lo, b_hi);
        let r = if sub {
            self.builder.ins().isub(a, b)
        } else {
            self.builder.ins().iadd(a, b)
        };
        let (lo, hi) = self.builder.ins().isplit(r);
        self.push(lo);
        self.push(hi);
    }

    /// `i64.mul_wide_s` / `i64.mul_wide_u`: the full 128-bit product of two
    /// i64s, as its low and high halves.
    pub(super) fn wide_mul(&mut self, signed: bool) {
        let (x, y) = self.pop2();
        let lo = self.builder.ins().imul(x, y);
        let hi = if signed {
            self.builder.ins().smulhi(x, y)
        } else {
            self.builder.ins().umulhi(x, y)
        };
        self.push(lo);
        self.push(hi);
    }
}
