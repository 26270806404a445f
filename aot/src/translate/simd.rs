//! SIMD operators (`VisitSimdOperator`): the fixed-width 128-bit SIMD
//! proposal of WebAssembly 2.0, translated to Cranelift's vector types.
//!
//! Every `v128` on the operand stack, in a local, a global, a block
//! parameter or a call argument is an `I8X16` (`abi::clif_type`). An
//! operator bitcasts its operands to the lane type it works on (`I32X4`,
//! `F64X2`, ...) and its result back to `I8X16` ([`Translator::push_v`]),
//! so nothing else in the translator needs to know about lane types. The
//! bitcasts are free: vector registers have no lane type.
//!
//! Operators that take more than one Cranelift instruction are composed here
//! in the exact shape Cranelift's x86-64 backend pattern-matches (e.g.
//! `i32x4.trunc_sat_f64x2_s_zero` is `snarrow(fcvt_to_sint_sat, vconst 0)`);
//! the floating-point semantics wasm requires (NaN propagation, `-0 < +0` in
//! `min`/`max`, saturating conversions with NaN to 0) are Cranelift's own
//! for `fmin`, `fmax` and `fcvt_*_sat` on vectors. Relaxed SIMD (3.0) is
//! translated at the end: each operator has one behaviour, mostly its
//! non-relaxed counterpart's (RATIONALE.md).

use cranelift_codegen::ir::{
    self, ConstantData, InstBuilder, MemFlagsData,
    condcodes::{FloatCC, IntCC},
    types::{F32X4, F64X2, I8X16, I16X8, I32, I32X4, I64X2},
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::{MemArg, VisitSimdOperator};

use super::Translator;
use crate::CompileError;

/// The one Cranelift type of a `v128` outside an operator.
const V128: ir::Type = I8X16;

/// A vector bitcast: lanes are reinterpreted in little-endian order.
fn bitcast(b: &mut FunctionBuilder<'_>, ty: ir::Type, v: ir::Value) -> ir::Value {
    if b.func.dfg.value_type(v) == ty {
        v
    } else {
        let flags = MemFlagsData::new().with_endianness(ir::Endianness::Little);
        b.ins().bitcast(ty, flags, v)
    }
}

fn vconst(b: &mut FunctionBuilder<'_>, ty: ir::Type, bytes: [u8; 16]) -> ir::Value {
    let c = b.func.dfg.constants.insert(ConstantData::from(&bytes[..]));
    b.ins().vconst(ty, c)
}

/// The sixteen products of two `i8x16`s' sign-extended lanes, exact in
/// 16 bits: those of the low eight lanes and those of the high eight.
fn dot_products(b: &mut FunctionBuilder<'_>, x: ir::Value, y: ir::Value) -> (ir::Value, ir::Value) {
    let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
    let lo = b.ins().imul(xl, yl);
    let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
    let hi = b.ins().imul(xh, yh);
    (lo, hi)
}

impl Translator<'_, '_> {
    /// `relaxed_madd` (`a * b + c`) or `relaxed_nmadd` (`-(a * b) + c`) on
    /// vectors of `ty`: one fused `fma` with `fused_madd`, else a rounded
    /// multiplication and then an addition.
    fn v_madd(&mut self, ty: ir::Type, negate: bool) -> Result<(), CompileError> {
        let c = self.pop_v(ty);
        let (a, b) = self.pop2_v(ty);
        let fused = self.fused_madd;
        let bld = &mut self.builder;
        let a = if negate { bld.ins().fneg(a) } else { a };
        let v = if fused {
            bld.ins().fma(a, b, c)
        } else {
            let p = bld.ins().fmul(a, b);
            bld.ins().fadd(p, c)
        };
        self.push_v(v);
        Ok(())
    }

    /// Pops a `v128` as a vector of `ty`.
    fn pop_v(&mut self, ty: ir::Type) -> ir::Value {
        let v = self.pop();
        bitcast(&mut self.builder, ty, v)
    }

    /// Pops two `v128`s (`x` below `y`) as vectors of `ty`.
    fn pop2_v(&mut self, ty: ir::Type) -> (ir::Value, ir::Value) {
        let y = self.pop_v(ty);
        let x = self.pop_v(ty);
        (x, y)
    }

    /// Pushes a vector of any lane type as a `v128`.
    fn push_v(&mut self, v: ir::Value) {
        let v = bitcast(&mut self.builder, V128, v);
        self.push(v);
    }

    /// `f` on the top operand, a vector of `ty`.
    fn v_unary(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value) -> ir::Value,
    ) -> Result<(), CompileError> {
        let a = self.pop_v(ty);
        let v = f(&mut self.builder, a);
        self.push_v(v);
        Ok(())
    }

    /// `f` on the top two operands, vectors of `ty`.
    fn v_binary(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value, ir::Value) -> ir::Value,
    ) -> Result<(), CompileError> {
        let (x, y) = self.pop2_v(ty);
        let v = f(&mut self.builder, x, y);
        self.push_v(v);
        Ok(())
    }

    fn v_icmp(&mut self, ty: ir::Type, cc: IntCC) -> Result<(), CompileError> {
        self.v_binary(ty, |b, x, y| b.ins().icmp(cc, x, y))
    }

    fn v_fcmp(&mut self, ty: ir::Type, cc: FloatCC) -> Result<(), CompileError> {
        self.v_binary(ty, |b, x, y| b.ins().fcmp(cc, x, y))
    }

    /// A shift of each lane of a vector of `ty` by an `i32` (Cranelift, like
    /// wasm, takes the amount modulo the lane width).
    fn v_shift(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value, ir::Value) -> ir::Value,
    ) -> Result<(), CompileError> {
        let amount = self.pop();
        let x = self.pop_v(ty);
        let v = f(&mut self.builder, x, amount);
        self.push_v(v);
        Ok(())
    }

    /// Lane-wise widening of both operands' low or high halves (`widen`),
    /// then `f` (multiplication, for `extmul`).
    fn v_widen_binary(
        &mut self,
        ty: ir::Type,
        widen: impl Fn(&mut FunctionBuilder<'_>, ir::Value) -> ir::Value,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value, ir::Value) -> ir::Value,
    ) -> Result<(), CompileError> {
        let (x, y) = self.pop2_v(ty);
        let x = widen(&mut self.builder, x);
        let y = widen(&mut self.builder, y);
        let v = f(&mut self.builder, x, y);
        self.push_v(v);
        Ok(())
    }

    /// `extadd_pairwise`: both halves widened, then adjacent lanes added.
    fn v_extadd_pairwise(&mut self, ty: ir::Type, signed: bool) -> Result<(), CompileError> {
        self.v_unary(ty, |b, x| {
            let (lo, hi) = if signed {
                (b.ins().swiden_low(x), b.ins().swiden_high(x))
            } else {
                (b.ins().uwiden_low(x), b.ins().uwiden_high(x))
            };
            b.ins().iadd_pairwise(lo, hi)
        })
    }

    /// `f` on the top operand, a vector of `ty`, giving a boolean (`i8`):
    /// pushed as an `i32`.
    fn v_test(
        &mut self,
        ty: ir::Type,
        f: impl FnOnce(&mut FunctionBuilder<'_>, ir::Value) -> ir::Value,
    ) -> Result<(), CompileError> {
        let a = self.pop_v(ty);
        let c = f(&mut self.builder, a);
        let v = self.builder.ins().uextend(I32, c);
        self.push(v);
        Ok(())
    }

    fn v_bitmask(&mut self, ty: ir::Type) -> Result<(), CompileError> {
        let a = self.pop_v(ty);
        let v = self.builder.ins().vhigh_bits(I32, a);
        self.push(v);
        Ok(())
    }

    /// Splat of a scalar of the stack (`i32` for the narrow lanes).
    fn v_splat(&mut self, ty: ir::Type) -> Result<(), CompileError> {
        let x = self.pop();
        let lane = ty.lane_type();
        let x = if self.builder.func.dfg.value_type(x) != lane {
            self.builder.ins().ireduce(lane, x)
        } else {
            x
        };
        let v = self.builder.ins().splat(ty, x);
        self.push_v(v);
        Ok(())
    }

    fn v_extract_lane(
        &mut self,
        ty: ir::Type,
        lane: u8,
        extend: Option<bool>,
    ) -> Result<(), CompileError> {
        let a = self.pop_v(ty);
        let mut v = self.builder.ins().extractlane(a, lane);
        match extend {
            Some(true) => v = self.builder.ins().sextend(I32, v),
            Some(false) => v = self.builder.ins().uextend(I32, v),
            None => {}
        }
        self.push(v);
        Ok(())
    }

    fn v_replace_lane(&mut self, ty: ir::Type, lane: u8) -> Result<(), CompileError> {
        let mut x = self.pop();
        let a = self.pop_v(ty);
        if self.builder.func.dfg.value_type(x) != ty.lane_type() {
            x = self.builder.ins().ireduce(ty.lane_type(), x);
        }
        let v = self.builder.ins().insertlane(a, x, lane);
        self.push_v(v);
        Ok(())
    }

    /// `pmin` (`pmax` with `max`): `y < x ? y : x` (`x < y ? y : x`), lane
    /// by lane, exactly as the spec defines them: no NaN or zero-sign rules
    /// beyond the comparison's. The shape is the one Cranelift's x86-64
    /// backend turns into `minps`/`maxps`.
    fn v_pminmax(&mut self, ty: ir::Type, max: bool) -> Result<(), CompileError> {
        self.v_binary(ty, |b, x, y| {
            let c = if max {
                b.ins().fcmp(FloatCC::LessThan, x, y)
            } else {
                b.ins().fcmp(FloatCC::LessThan, y, x)
            };
            let c = bitcast(b, ty, c);
            b.ins().bitselect(c, y, x)
        })
    }

    // --- memory -----------------------------------------------------------

    /// A load of 8 bytes, each half-lane widened (`v128.load8x8_s`, ...).
    fn v_load_extend(
        &mut self,
        memarg: &MemArg,
        f: impl FnOnce(&mut FunctionBuilder<'_>, MemFlagsData, ir::Value, i32) -> ir::Value,
    ) -> Result<(), CompileError> {
        let (addr, off) = self.heap_addr(memarg, 8);
        let flags = self.heap_flags();
        let v = f(&mut self.builder, flags, addr, off);
        self.push_v(v);
        Ok(())
    }

    /// A load of one lane's worth, splat to every lane of `ty`.
    fn v_load_splat(&mut self, memarg: &MemArg, ty: ir::Type) -> Result<(), CompileError> {
        let lane = ty.lane_type();
        let (addr, off) = self.heap_addr(memarg, lane.bytes());
        let flags = self.heap_flags();
        let x = self.builder.ins().load(lane, flags, addr, off);
        let v = self.builder.ins().splat(ty, x);
        self.push_v(v);
        Ok(())
    }

    /// A load of one lane's worth into lane 0 of `ty`, the others zero.
    fn v_load_zero(&mut self, memarg: &MemArg, ty: ir::Type) -> Result<(), CompileError> {
        let lane = ty.lane_type();
        let (addr, off) = self.heap_addr(memarg, lane.bytes());
        let flags = self.heap_flags();
        let x = self.builder.ins().load(lane, flags, addr, off);
        let v = self.builder.ins().scalar_to_vector(ty, x);
        self.push_v(v);
        Ok(())
    }

    /// A load of one lane's worth into lane `lane` of the vector operand.
    fn v_load_lane(&mut self, memarg: &MemArg, ty: ir::Type, lane: u8) -> Result<(), CompileError> {
        let a = self.pop_v(ty);
        let lt = ty.lane_type();
        let (addr, off) = self.heap_addr(memarg, lt.bytes());
        let flags = self.heap_flags();
        let x = self.builder.ins().load(lt, flags, addr, off);
        let v = self.builder.ins().insertlane(a, x, lane);
        self.push_v(v);
        Ok(())
    }

    /// A store of lane `lane` of the vector operand.
    fn v_store_lane(
        &mut self,
        memarg: &MemArg,
        ty: ir::Type,
        lane: u8,
    ) -> Result<(), CompileError> {
        let a = self.pop_v(ty);
        let x = self.builder.ins().extractlane(a, lane);
        let (addr, off) = self.heap_addr(memarg, ty.lane_type().bytes());
        let flags = self.heap_flags();
        self.builder.ins().store(flags, x, addr, off);
        Ok(())
    }
}

macro_rules! v_unary {
    ($($visit:ident => $ty:ident, $inst:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_unary($ty, |b, x| b.ins().$inst(x))
        })*
    };
}

macro_rules! v_binary {
    ($($visit:ident => $ty:ident, $inst:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_binary($ty, |b, x, y| b.ins().$inst(x, y))
        })*
    };
}

macro_rules! v_icmp {
    ($($visit:ident => $ty:ident, $cc:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_icmp($ty, IntCC::$cc)
        })*
    };
}

macro_rules! v_fcmp {
    ($($visit:ident => $ty:ident, $cc:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_fcmp($ty, FloatCC::$cc)
        })*
    };
}

macro_rules! v_shift {
    ($($visit:ident => $ty:ident, $inst:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_shift($ty, |b, x, y| b.ins().$inst(x, y))
        })*
    };
}

/// `extend_low`/`extend_high`: half of the lanes of `$ty`, widened.
macro_rules! v_extend {
    ($($visit:ident => $ty:ident, $inst:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_unary($ty, |b, x| b.ins().$inst(x))
        })*
    };
}

/// `extmul_low`/`extmul_high`: half of the lanes of both operands of `$ty`,
/// widened and multiplied.
macro_rules! v_extmul {
    ($($visit:ident => $ty:ident, $widen:ident;)*) => {
        $(fn $visit(&mut self) -> Self::Output {
            self.v_widen_binary($ty, |b, x| b.ins().$widen(x), |b, x, y| b.ins().imul(x, y))
        })*
    };
}

macro_rules! v_lanes {
    ($($extract:ident, $replace:ident => $ty:ident, $extend:expr;)*) => {
        $(
            fn $extract(&mut self, lane: u8) -> Self::Output {
                self.v_extract_lane($ty, lane, $extend)
            }
            fn $replace(&mut self, lane: u8) -> Self::Output {
                self.v_replace_lane($ty, lane)
            }
        )*
    };
}

impl<'a> VisitSimdOperator<'a> for Translator<'_, '_> {
    // --- memory -----------------------------------------------------------

    fn visit_v128_load(&mut self, memarg: MemArg) -> Self::Output {
        self.load(&memarg, V128, super::memory::Load::Full);
        Ok(())
    }
    fn visit_v128_store(&mut self, memarg: MemArg) -> Self::Output {
        self.store(&memarg, super::memory::Store::Full);
        Ok(())
    }
    fn visit_v128_load8x8_s(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_extend(&memarg, |b, f, a, o| b.ins().sload8x8(f, a, o))
    }
    fn visit_v128_load8x8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_extend(&memarg, |b, f, a, o| b.ins().uload8x8(f, a, o))
    }
    fn visit_v128_load16x4_s(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_extend(&memarg, |b, f, a, o| b.ins().sload16x4(f, a, o))
    }
    fn visit_v128_load16x4_u(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_extend(&memarg, |b, f, a, o| b.ins().uload16x4(f, a, o))
    }
    fn visit_v128_load32x2_s(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_extend(&memarg, |b, f, a, o| b.ins().sload32x2(f, a, o))
    }
    fn visit_v128_load32x2_u(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_extend(&memarg, |b, f, a, o| b.ins().uload32x2(f, a, o))
    }
    fn visit_v128_load8_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_splat(&memarg, I8X16)
    }
    fn visit_v128_load16_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_splat(&memarg, I16X8)
    }
    fn visit_v128_load32_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_splat(&memarg, I32X4)
    }
    fn visit_v128_load64_splat(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_splat(&memarg, I64X2)
    }
    fn visit_v128_load32_zero(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_zero(&memarg, I32X4)
    }
    fn visit_v128_load64_zero(&mut self, memarg: MemArg) -> Self::Output {
        self.v_load_zero(&memarg, I64X2)
    }
    fn visit_v128_load8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_load_lane(&memarg, I8X16, lane)
    }
    fn visit_v128_load16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_load_lane(&memarg, I16X8, lane)
    }
    fn visit_v128_load32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_load_lane(&memarg, I32X4, lane)
    }
    fn visit_v128_load64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_load_lane(&memarg, I64X2, lane)
    }
    fn visit_v128_store8_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_store_lane(&memarg, I8X16, lane)
    }
    fn visit_v128_store16_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_store_lane(&memarg, I16X8, lane)
    }
    fn visit_v128_store32_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_store_lane(&memarg, I32X4, lane)
    }
    fn visit_v128_store64_lane(&mut self, memarg: MemArg, lane: u8) -> Self::Output {
        self.v_store_lane(&memarg, I64X2, lane)
    }

    // --- constants, lanes, shuffles ---------------------------------------

    fn visit_v128_const(&mut self, value: wasmparser::V128) -> Self::Output {
        let v = vconst(&mut self.builder, V128, *value.bytes());
        self.push(v);
        Ok(())
    }
    fn visit_i8x16_shuffle(&mut self, lanes: [u8; 16]) -> Self::Output {
        // Lane indices are below 32: the validator checks them.
        self.v_binary(I8X16, |b, x, y| {
            let mask = b.func.dfg.immediates.push(ConstantData::from(&lanes[..]));
            b.ins().shuffle(x, y, mask)
        })
    }
    fn visit_i8x16_swizzle(&mut self) -> Self::Output {
        // Cranelift's `swizzle` gives 0 for an index out of range, as wasm's.
        self.v_binary(I8X16, |b, x, y| b.ins().swizzle(x, y))
    }
    fn visit_i8x16_splat(&mut self) -> Self::Output {
        self.v_splat(I8X16)
    }
    fn visit_i16x8_splat(&mut self) -> Self::Output {
        self.v_splat(I16X8)
    }
    fn visit_i32x4_splat(&mut self) -> Self::Output {
        self.v_splat(I32X4)
    }
    fn visit_i64x2_splat(&mut self) -> Self::Output {
        self.v_splat(I64X2)
    }
    fn visit_f32x4_splat(&mut self) -> Self::Output {
        self.v_splat(F32X4)
    }
    fn visit_f64x2_splat(&mut self) -> Self::Output {
        self.v_splat(F64X2)
    }
    v_lanes! {
        visit_i8x16_extract_lane_s, visit_i8x16_replace_lane => I8X16, Some(true);
        visit_i16x8_extract_lane_s, visit_i16x8_replace_lane => I16X8, Some(true);
        visit_i32x4_extract_lane, visit_i32x4_replace_lane => I32X4, None;
        visit_i64x2_extract_lane, visit_i64x2_replace_lane => I64X2, None;
        visit_f32x4_extract_lane, visit_f32x4_replace_lane => F32X4, None;
        visit_f64x2_extract_lane, visit_f64x2_replace_lane => F64X2, None;
    }
    fn visit_i8x16_extract_lane_u(&mut self, lane: u8) -> Self::Output {
        self.v_extract_lane(I8X16, lane, Some(false))
    }
    fn visit_i16x8_extract_lane_u(&mut self, lane: u8) -> Self::Output {
        self.v_extract_lane(I16X8, lane, Some(false))
    }

    // --- comparisons ------------------------------------------------------

    v_icmp! {
        visit_i8x16_eq => I8X16, Equal;
        visit_i8x16_ne => I8X16, NotEqual;
        visit_i8x16_lt_s => I8X16, SignedLessThan;
        visit_i8x16_lt_u => I8X16, UnsignedLessThan;
        visit_i8x16_gt_s => I8X16, SignedGreaterThan;
        visit_i8x16_gt_u => I8X16, UnsignedGreaterThan;
        visit_i8x16_le_s => I8X16, SignedLessThanOrEqual;
        visit_i8x16_le_u => I8X16, UnsignedLessThanOrEqual;
        visit_i8x16_ge_s => I8X16, SignedGreaterThanOrEqual;
        visit_i8x16_ge_u => I8X16, UnsignedGreaterThanOrEqual;
        visit_i16x8_eq => I16X8, Equal;
        visit_i16x8_ne => I16X8, NotEqual;
        visit_i16x8_lt_s => I16X8, SignedLessThan;
        visit_i16x8_lt_u => I16X8, UnsignedLessThan;
        visit_i16x8_gt_s => I16X8, SignedGreaterThan;
        visit_i16x8_gt_u => I16X8, UnsignedGreaterThan;
        visit_i16x8_le_s => I16X8, SignedLessThanOrEqual;
        visit_i16x8_le_u => I16X8, UnsignedLessThanOrEqual;
        visit_i16x8_ge_s => I16X8, SignedGreaterThanOrEqual;
        visit_i16x8_ge_u => I16X8, UnsignedGreaterThanOrEqual;
        visit_i32x4_eq => I32X4, Equal;
        visit_i32x4_ne => I32X4, NotEqual;
        visit_i32x4_lt_s => I32X4, SignedLessThan;
        visit_i32x4_lt_u => I32X4, UnsignedLessThan;
        visit_i32x4_gt_s => I32X4, SignedGreaterThan;
        visit_i32x4_gt_u => I32X4, UnsignedGreaterThan;
        visit_i32x4_le_s => I32X4, SignedLessThanOrEqual;
        visit_i32x4_le_u => I32X4, UnsignedLessThanOrEqual;
        visit_i32x4_ge_s => I32X4, SignedGreaterThanOrEqual;
        visit_i32x4_ge_u => I32X4, UnsignedGreaterThanOrEqual;
        visit_i64x2_eq => I64X2, Equal;
        visit_i64x2_ne => I64X2, NotEqual;
        visit_i64x2_lt_s => I64X2, SignedLessThan;
        visit_i64x2_gt_s => I64X2, SignedGreaterThan;
        visit_i64x2_le_s => I64X2, SignedLessThanOrEqual;
        visit_i64x2_ge_s => I64X2, SignedGreaterThanOrEqual;
    }
    v_fcmp! {
        visit_f32x4_eq => F32X4, Equal;
        visit_f32x4_ne => F32X4, NotEqual;
        visit_f32x4_lt => F32X4, LessThan;
        visit_f32x4_gt => F32X4, GreaterThan;
        visit_f32x4_le => F32X4, LessThanOrEqual;
        visit_f32x4_ge => F32X4, GreaterThanOrEqual;
        visit_f64x2_eq => F64X2, Equal;
        visit_f64x2_ne => F64X2, NotEqual;
        visit_f64x2_lt => F64X2, LessThan;
        visit_f64x2_gt => F64X2, GreaterThan;
        visit_f64x2_le => F64X2, LessThanOrEqual;
        visit_f64x2_ge => F64X2, GreaterThanOrEqual;
    }

    // --- bitwise and boolean ----------------------------------------------

    fn visit_v128_not(&mut self) -> Self::Output {
        self.v_unary(V128, |b, x| b.ins().bnot(x))
    }
    fn visit_v128_andnot(&mut self) -> Self::Output {
        // `x & !y`.
        self.v_binary(V128, |b, x, y| b.ins().band_not(x, y))
    }
    fn visit_v128_bitselect(&mut self) -> Self::Output {
        let c = self.pop_v(V128);
        let (x, y) = self.pop2_v(V128);
        // Bits of `x` where `c` is 1, of `y` where it is 0.
        let v = self.builder.ins().bitselect(c, x, y);
        self.push_v(v);
        Ok(())
    }
    fn visit_v128_any_true(&mut self) -> Self::Output {
        self.v_test(V128, |b, x| b.ins().vany_true(x))
    }
    fn visit_i8x16_all_true(&mut self) -> Self::Output {
        self.v_test(I8X16, |b, x| b.ins().vall_true(x))
    }
    fn visit_i16x8_all_true(&mut self) -> Self::Output {
        self.v_test(I16X8, |b, x| b.ins().vall_true(x))
    }
    fn visit_i32x4_all_true(&mut self) -> Self::Output {
        self.v_test(I32X4, |b, x| b.ins().vall_true(x))
    }
    fn visit_i64x2_all_true(&mut self) -> Self::Output {
        self.v_test(I64X2, |b, x| b.ins().vall_true(x))
    }
    fn visit_i8x16_bitmask(&mut self) -> Self::Output {
        self.v_bitmask(I8X16)
    }
    fn visit_i16x8_bitmask(&mut self) -> Self::Output {
        self.v_bitmask(I16X8)
    }
    fn visit_i32x4_bitmask(&mut self) -> Self::Output {
        self.v_bitmask(I32X4)
    }
    fn visit_i64x2_bitmask(&mut self) -> Self::Output {
        self.v_bitmask(I64X2)
    }

    // --- integer arithmetic -----------------------------------------------

    v_unary! {
        visit_i8x16_abs => I8X16, iabs;
        visit_i16x8_abs => I16X8, iabs;
        visit_i32x4_abs => I32X4, iabs;
        visit_i64x2_abs => I64X2, iabs;
        visit_i8x16_neg => I8X16, ineg;
        visit_i16x8_neg => I16X8, ineg;
        visit_i32x4_neg => I32X4, ineg;
        visit_i64x2_neg => I64X2, ineg;
        visit_i8x16_popcnt => I8X16, popcnt;
        visit_f32x4_ceil => F32X4, ceil;
        visit_f64x2_ceil => F64X2, ceil;
        visit_f32x4_floor => F32X4, floor;
        visit_f64x2_floor => F64X2, floor;
        visit_f32x4_trunc => F32X4, trunc;
        visit_f64x2_trunc => F64X2, trunc;
        visit_f32x4_nearest => F32X4, nearest;
        visit_f64x2_nearest => F64X2, nearest;
        visit_f32x4_abs => F32X4, fabs;
        visit_f64x2_abs => F64X2, fabs;
        visit_f32x4_neg => F32X4, fneg;
        visit_f64x2_neg => F64X2, fneg;
        visit_f32x4_sqrt => F32X4, sqrt;
        visit_f64x2_sqrt => F64X2, sqrt;
        visit_f64x2_promote_low_f32x4 => F32X4, fvpromote_low;
        visit_f32x4_demote_f64x2_zero => F64X2, fvdemote;
    }
    v_binary! {
        visit_v128_and => V128, band;
        visit_v128_or => V128, bor;
        visit_v128_xor => V128, bxor;
        visit_i8x16_add => I8X16, iadd;
        visit_i16x8_add => I16X8, iadd;
        visit_i32x4_add => I32X4, iadd;
        visit_i64x2_add => I64X2, iadd;
        visit_i8x16_sub => I8X16, isub;
        visit_i16x8_sub => I16X8, isub;
        visit_i32x4_sub => I32X4, isub;
        visit_i64x2_sub => I64X2, isub;
        visit_i16x8_mul => I16X8, imul;
        visit_i32x4_mul => I32X4, imul;
        visit_i64x2_mul => I64X2, imul;
        visit_i8x16_add_sat_s => I8X16, sadd_sat;
        visit_i16x8_add_sat_s => I16X8, sadd_sat;
        visit_i8x16_add_sat_u => I8X16, uadd_sat;
        visit_i16x8_add_sat_u => I16X8, uadd_sat;
        visit_i8x16_sub_sat_s => I8X16, ssub_sat;
        visit_i16x8_sub_sat_s => I16X8, ssub_sat;
        visit_i8x16_sub_sat_u => I8X16, usub_sat;
        visit_i16x8_sub_sat_u => I16X8, usub_sat;
        visit_i8x16_min_s => I8X16, smin;
        visit_i16x8_min_s => I16X8, smin;
        visit_i32x4_min_s => I32X4, smin;
        visit_i8x16_min_u => I8X16, umin;
        visit_i16x8_min_u => I16X8, umin;
        visit_i32x4_min_u => I32X4, umin;
        visit_i8x16_max_s => I8X16, smax;
        visit_i16x8_max_s => I16X8, smax;
        visit_i32x4_max_s => I32X4, smax;
        visit_i8x16_max_u => I8X16, umax;
        visit_i16x8_max_u => I16X8, umax;
        visit_i32x4_max_u => I32X4, umax;
        visit_i8x16_avgr_u => I8X16, avg_round;
        visit_i16x8_avgr_u => I16X8, avg_round;
        visit_i16x8_q15mulr_sat_s => I16X8, sqmul_round_sat;
        visit_i8x16_narrow_i16x8_s => I16X8, snarrow;
        visit_i8x16_narrow_i16x8_u => I16X8, unarrow;
        visit_i16x8_narrow_i32x4_s => I32X4, snarrow;
        visit_i16x8_narrow_i32x4_u => I32X4, unarrow;
        visit_f32x4_add => F32X4, fadd;
        visit_f64x2_add => F64X2, fadd;
        visit_f32x4_sub => F32X4, fsub;
        visit_f64x2_sub => F64X2, fsub;
        visit_f32x4_mul => F32X4, fmul;
        visit_f64x2_mul => F64X2, fmul;
        visit_f32x4_div => F32X4, fdiv;
        visit_f64x2_div => F64X2, fdiv;
        // Cranelift's vector `fmin`/`fmax` are wasm's: a NaN operand gives
        // a NaN, and -0 is less than +0.
        visit_f32x4_min => F32X4, fmin;
        visit_f64x2_min => F64X2, fmin;
        visit_f32x4_max => F32X4, fmax;
        visit_f64x2_max => F64X2, fmax;
    }
    v_shift! {
        visit_i8x16_shl => I8X16, ishl;
        visit_i16x8_shl => I16X8, ishl;
        visit_i32x4_shl => I32X4, ishl;
        visit_i64x2_shl => I64X2, ishl;
        visit_i8x16_shr_s => I8X16, sshr;
        visit_i16x8_shr_s => I16X8, sshr;
        visit_i32x4_shr_s => I32X4, sshr;
        visit_i64x2_shr_s => I64X2, sshr;
        visit_i8x16_shr_u => I8X16, ushr;
        visit_i16x8_shr_u => I16X8, ushr;
        visit_i32x4_shr_u => I32X4, ushr;
        visit_i64x2_shr_u => I64X2, ushr;
    }
    v_extend! {
        visit_i16x8_extend_low_i8x16_s => I8X16, swiden_low;
        visit_i16x8_extend_high_i8x16_s => I8X16, swiden_high;
        visit_i16x8_extend_low_i8x16_u => I8X16, uwiden_low;
        visit_i16x8_extend_high_i8x16_u => I8X16, uwiden_high;
        visit_i32x4_extend_low_i16x8_s => I16X8, swiden_low;
        visit_i32x4_extend_high_i16x8_s => I16X8, swiden_high;
        visit_i32x4_extend_low_i16x8_u => I16X8, uwiden_low;
        visit_i32x4_extend_high_i16x8_u => I16X8, uwiden_high;
        visit_i64x2_extend_low_i32x4_s => I32X4, swiden_low;
        visit_i64x2_extend_high_i32x4_s => I32X4, swiden_high;
        visit_i64x2_extend_low_i32x4_u => I32X4, uwiden_low;
        visit_i64x2_extend_high_i32x4_u => I32X4, uwiden_high;
    }
    v_extmul! {
        visit_i16x8_extmul_low_i8x16_s => I8X16, swiden_low;
        visit_i16x8_extmul_high_i8x16_s => I8X16, swiden_high;
        visit_i16x8_extmul_low_i8x16_u => I8X16, uwiden_low;
        visit_i16x8_extmul_high_i8x16_u => I8X16, uwiden_high;
        visit_i32x4_extmul_low_i16x8_s => I16X8, swiden_low;
        visit_i32x4_extmul_high_i16x8_s => I16X8, swiden_high;
        visit_i32x4_extmul_low_i16x8_u => I16X8, uwiden_low;
        visit_i32x4_extmul_high_i16x8_u => I16X8, uwiden_high;
        visit_i64x2_extmul_low_i32x4_s => I32X4, swiden_low;
        visit_i64x2_extmul_high_i32x4_s => I32X4, swiden_high;
        visit_i64x2_extmul_low_i32x4_u => I32X4, uwiden_low;
        visit_i64x2_extmul_high_i32x4_u => I32X4, uwiden_high;
    }
    fn visit_i16x8_extadd_pairwise_i8x16_s(&mut self) -> Self::Output {
        self.v_extadd_pairwise(I8X16, true)
    }
    fn visit_i16x8_extadd_pairwise_i8x16_u(&mut self) -> Self::Output {
        self.v_extadd_pairwise(I8X16, false)
    }
    fn visit_i32x4_extadd_pairwise_i16x8_s(&mut self) -> Self::Output {
        self.v_extadd_pairwise(I16X8, true)
    }
    fn visit_i32x4_extadd_pairwise_i16x8_u(&mut self) -> Self::Output {
        self.v_extadd_pairwise(I16X8, false)
    }
    fn visit_i32x4_dot_i16x8_s(&mut self) -> Self::Output {
        // Products of the low halves' lanes and of the high halves', then
        // adjacent pairs added: the shape Cranelift turns into `pmaddwd`.
        self.v_binary(I16X8, |b, x, y| {
            let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
            let lo = b.ins().imul(xl, yl);
            let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
            let hi = b.ins().imul(xh, yh);
            b.ins().iadd_pairwise(lo, hi)
        })
    }

    // --- floating point ---------------------------------------------------

    fn visit_f32x4_pmin(&mut self) -> Self::Output {
        self.v_pminmax(F32X4, false)
    }
    fn visit_f32x4_pmax(&mut self) -> Self::Output {
        self.v_pminmax(F32X4, true)
    }
    fn visit_f64x2_pmin(&mut self) -> Self::Output {
        self.v_pminmax(F64X2, false)
    }
    fn visit_f64x2_pmax(&mut self) -> Self::Output {
        self.v_pminmax(F64X2, true)
    }

    // --- conversions ------------------------------------------------------

    fn visit_i32x4_trunc_sat_f32x4_s(&mut self) -> Self::Output {
        self.v_unary(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
    }
    fn visit_i32x4_trunc_sat_f32x4_u(&mut self) -> Self::Output {
        self.v_unary(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
    }
    fn visit_i32x4_trunc_sat_f64x2_s_zero(&mut self) -> Self::Output {
        // Cranelift has no i64x2 -> i32x4 narrowing of its own; this exact
        // shape (saturating conversion to i64x2, narrowed with a zero
        // vector) is the one its x86-64 backend lowers.
        self.v_unary(F64X2, |b, x| {
            let wide = b.ins().fcvt_to_sint_sat(I64X2, x);
            let zero = vconst(b, I64X2, [0; 16]);
            b.ins().snarrow(wide, zero)
        })
    }
    fn visit_i32x4_trunc_sat_f64x2_u_zero(&mut self) -> Self::Output {
        // As the signed one: the shape the backend lowers.
        self.v_unary(F64X2, |b, x| {
            let wide = b.ins().fcvt_to_uint_sat(I64X2, x);
            let zero = vconst(b, I64X2, [0; 16]);
            b.ins().uunarrow(wide, zero)
        })
    }
    fn visit_f32x4_convert_i32x4_s(&mut self) -> Self::Output {
        self.v_unary(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x))
    }
    fn visit_f32x4_convert_i32x4_u(&mut self) -> Self::Output {
        self.v_unary(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x))
    }
    fn visit_f64x2_convert_low_i32x4_s(&mut self) -> Self::Output {
        self.v_unary(I32X4, |b, x| {
            let wide = b.ins().swiden_low(x);
            b.ins().fcvt_from_sint(F64X2, wide)
        })
    }
    fn visit_f64x2_convert_low_i32x4_u(&mut self) -> Self::Output {
        self.v_unary(I32X4, |b, x| {
            let wide = b.ins().uwiden_low(x);
            b.ins().fcvt_from_uint(F64X2, wide)
        })
    }

    // --- relaxed SIMD (3.0) -----------------------------------------------
    //
    // One behaviour per operator, the same on every CPU except `madd` and
    // `nmadd`, which are fused where `fused_madd` says so (RATIONALE.md,
    // "Which results does relaxed SIMD give?").

    fn visit_i8x16_relaxed_swizzle(&mut self) -> Self::Output {
        self.visit_i8x16_swizzle()
    }
    fn visit_i32x4_relaxed_trunc_f32x4_s(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f32x4_s()
    }
    fn visit_i32x4_relaxed_trunc_f32x4_u(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f32x4_u()
    }
    fn visit_i32x4_relaxed_trunc_f64x2_s_zero(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f64x2_s_zero()
    }
    fn visit_i32x4_relaxed_trunc_f64x2_u_zero(&mut self) -> Self::Output {
        self.visit_i32x4_trunc_sat_f64x2_u_zero()
    }
    fn visit_f32x4_relaxed_madd(&mut self) -> Self::Output {
        self.v_madd(F32X4, false)
    }
    fn visit_f32x4_relaxed_nmadd(&mut self) -> Self::Output {
        self.v_madd(F32X4, true)
    }
    fn visit_f64x2_relaxed_madd(&mut self) -> Self::Output {
        self.v_madd(F64X2, false)
    }
    fn visit_f64x2_relaxed_nmadd(&mut self) -> Self::Output {
        self.v_madd(F64X2, true)
    }
    fn visit_i8x16_relaxed_laneselect(&mut self) -> Self::Output {
        self.visit_v128_bitselect()
    }
    fn visit_i16x8_relaxed_laneselect(&mut self) -> Self::Output {
        self.visit_v128_bitselect()
    }
    fn visit_i32x4_relaxed_laneselect(&mut self) -> Self::Output {
        self.visit_v128_bitselect()
    }
    fn visit_i64x2_relaxed_laneselect(&mut self) -> Self::Output {
        self.visit_v128_bitselect()
    }
    fn visit_f32x4_relaxed_min(&mut self) -> Self::Output {
        self.visit_f32x4_min()
    }
    fn visit_f32x4_relaxed_max(&mut self) -> Self::Output {
        self.visit_f32x4_max()
    }
    fn visit_f64x2_relaxed_min(&mut self) -> Self::Output {
        self.visit_f64x2_min()
    }
    fn visit_f64x2_relaxed_max(&mut self) -> Self::Output {
        self.visit_f64x2_max()
    }
    fn visit_i16x8_relaxed_q15mulr_s(&mut self) -> Self::Output {
        self.visit_i16x8_q15mulr_sat_s()
    }
    fn visit_i16x8_relaxed_dot_i8x16_i7x16_s(&mut self) -> Self::Output {
        // Both operands sign-extended; each pair of products added with
        // wrapping (only -128 * -128 twice, which needs the second
        // operand's top bit, wraps).
        self.v_binary(I8X16, |b, x, y| {
            let (lo, hi) = dot_products(b, x, y);
            b.ins().iadd_pairwise(lo, hi)
        })
    }
    fn visit_i32x4_relaxed_dot_i8x16_i7x16_add_s(&mut self) -> Self::Output {
        // Both operands sign-extended; the four products of each lane added
        // exactly in 32 bits, then the accumulator (wrapping).
        let c = self.pop_v(I32X4);
        let (x, y) = self.pop2_v(I8X16);
        let b = &mut self.builder;
        let (lo, hi) = dot_products(b, x, y);
        let lo = {
            let (l, h) = (b.ins().swiden_low(lo), b.ins().swiden_high(lo));
            b.ins().iadd_pairwise(l, h)
        };
        let hi = {
            let (l, h) = (b.ins().swiden_low(hi), b.ins().swiden_high(hi));
            b.ins().iadd_pairwise(l, h)
        };
        let sum = b.ins().iadd_pairwise(lo, hi);
        let v = b.ins().iadd(sum, c);
        self.push_v(v);
        Ok(())
    }
}
