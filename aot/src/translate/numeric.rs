//! Pure numeric operators: constants, arithmetic, comparisons, conversions.
//! They only pop operands and push results.

use cranelift_codegen::ir::{
    self, InstBuilder, MemFlagsData,
    condcodes::{FloatCC, IntCC},
    immediates::{Ieee32, Ieee64},
    types::{F32, F64, I8, I16, I32, I64},
};
use cranelift_frontend::FunctionBuilder;
use wasmparser::Operator;

use crate::vmoffsets::trap_codes;

/// Translates a pure numeric operator. Returns false (touching nothing) if
/// `op` is not one.
pub(super) fn translate_numeric(
    op: &Operator<'_>,
    b: &mut FunctionBuilder<'_>,
    stack: &mut Vec<ir::Value>,
) -> bool {
    use Operator as O;
    macro_rules! pop {
        () => {
            stack.pop().expect("validated")
        };
    }
    macro_rules! unop {
        ($f:ident) => {{
            let a = pop!();
            let v = b.ins().$f(a);
            stack.push(v);
        }};
    }
    macro_rules! binop {
        ($f:ident) => {{
            let y = pop!();
            let x = pop!();
            let v = b.ins().$f(x, y);
            stack.push(v);
        }};
    }
    macro_rules! icmp {
        ($cc:ident) => {{
            let y = pop!();
            let x = pop!();
            let c = b.ins().icmp(IntCC::$cc, x, y);
            let v = b.ins().uextend(I32, c);
            stack.push(v);
        }};
    }
    macro_rules! fcmp {
        ($cc:ident) => {{
            let y = pop!();
            let x = pop!();
            let c = b.ins().fcmp(FloatCC::$cc, x, y);
            let v = b.ins().uextend(I32, c);
            stack.push(v);
        }};
    }
    macro_rules! eqz {
        () => {{
            let x = pop!();
            let c = b.ins().icmp_imm_s(IntCC::Equal, x, 0);
            let v = b.ins().uextend(I32, c);
            stack.push(v);
        }};
    }
    macro_rules! div {
        ($f:ident) => {{
            let y = pop!();
            let x = pop!();
            b.ins().trapz(y, trap_codes::INTEGER_DIVISION_BY_ZERO);
            let v = b.ins().$f(x, y);
            stack.push(v);
        }};
    }
    macro_rules! cvt {
        ($f:ident, $ty:expr) => {{
            let a = pop!();
            let v = b.ins().$f($ty, a);
            stack.push(v);
        }};
    }
    macro_rules! sext_from {
        ($narrow:expr, $wide:expr) => {{
            let a = pop!();
            let n = b.ins().ireduce($narrow, a);
            let v = b.ins().sextend($wide, n);
            stack.push(v);
        }};
    }
    macro_rules! bitcast {
        ($ty:expr) => {{
            let a = pop!();
            let v = b.ins().bitcast($ty, MemFlagsData::new(), a);
            stack.push(v);
        }};
    }

    match *op {
        O::I32Const { value } => {
            let v = b.ins().iconst(I32, value as i64);
            stack.push(v);
        }
        O::I64Const { value } => {
            let v = b.ins().iconst(I64, value);
            stack.push(v);
        }
        O::F32Const { value } => {
            let v = b.ins().f32const(Ieee32::with_bits(value.bits()));
            stack.push(v);
        }
        O::F64Const { value } => {
            let v = b.ins().f64const(Ieee64::with_bits(value.bits()));
            stack.push(v);
        }

        O::I32Eqz | O::I64Eqz => eqz!(),
        O::I32Eq | O::I64Eq => icmp!(Equal),
        O::I32Ne | O::I64Ne => icmp!(NotEqual),
        O::I32LtS | O::I64LtS => icmp!(SignedLessThan),
        O::I32LtU | O::I64LtU => icmp!(UnsignedLessThan),
        O::I32GtS | O::I64GtS => icmp!(SignedGreaterThan),
        O::I32GtU | O::I64GtU => icmp!(UnsignedGreaterThan),
        O::I32LeS | O::I64LeS => icmp!(SignedLessThanOrEqual),
        O::I32LeU | O::I64LeU => icmp!(UnsignedLessThanOrEqual),
        O::I32GeS | O::I64GeS => icmp!(SignedGreaterThanOrEqual),
        O::I32GeU | O::I64GeU => icmp!(UnsignedGreaterThanOrEqual),

        O::F32Eq | O::F64Eq => fcmp!(Equal),
        O::F32Ne | O::F64Ne => fcmp!(NotEqual),
        O::F32Lt | O::F64Lt => fcmp!(LessThan),
        O::F32Gt | O::F64Gt => fcmp!(GreaterThan),
        O::F32Le | O::F64Le => fcmp!(LessThanOrEqual),
        O::F32Ge | O::F64Ge => fcmp!(GreaterThanOrEqual),

        O::I32Clz | O::I64Clz => unop!(clz),
        O::I32Ctz | O::I64Ctz => unop!(ctz),
        O::I32Popcnt | O::I64Popcnt => unop!(popcnt),
        O::I32Add | O::I64Add => binop!(iadd),
        O::I32Sub | O::I64Sub => binop!(isub),
        O::I32Mul | O::I64Mul => binop!(imul),
        O::I32DivS | O::I64DivS => div!(sdiv),
        O::I32DivU | O::I64DivU => div!(udiv),
        O::I32RemS | O::I64RemS => div!(srem),
        O::I32RemU | O::I64RemU => div!(urem),
        O::I32And | O::I64And => binop!(band),
        O::I32Or | O::I64Or => binop!(bor),
        O::I32Xor | O::I64Xor => binop!(bxor),
        O::I32Shl | O::I64Shl => binop!(ishl),
        O::I32ShrS | O::I64ShrS => binop!(sshr),
        O::I32ShrU | O::I64ShrU => binop!(ushr),
        O::I32Rotl | O::I64Rotl => binop!(rotl),
        O::I32Rotr | O::I64Rotr => binop!(rotr),

        O::F32Abs | O::F64Abs => unop!(fabs),
        O::F32Neg | O::F64Neg => unop!(fneg),
        O::F32Ceil | O::F64Ceil => unop!(ceil),
        O::F32Floor | O::F64Floor => unop!(floor),
        O::F32Trunc | O::F64Trunc => unop!(trunc),
        O::F32Nearest | O::F64Nearest => unop!(nearest),
        O::F32Sqrt | O::F64Sqrt => unop!(sqrt),
        O::F32Add | O::F64Add => binop!(fadd),
        O::F32Sub | O::F64Sub => binop!(fsub),
        O::F32Mul | O::F64Mul => binop!(fmul),
        O::F32Div | O::F64Div => binop!(fdiv),
        O::F32Min | O::F64Min => binop!(fmin),
        O::F32Max | O::F64Max => binop!(fmax),
        O::F32Copysign | O::F64Copysign => binop!(fcopysign),

        O::I32WrapI64 => cvt!(ireduce, I32),
        O::I64ExtendI32S => cvt!(sextend, I64),
        O::I64ExtendI32U => cvt!(uextend, I64),
        O::I32TruncF32S | O::I32TruncF64S => cvt!(fcvt_to_sint, I32),
        O::I32TruncF32U | O::I32TruncF64U => cvt!(fcvt_to_uint, I32),
        O::I64TruncF32S | O::I64TruncF64S => cvt!(fcvt_to_sint, I64),
        O::I64TruncF32U | O::I64TruncF64U => cvt!(fcvt_to_uint, I64),
        O::I32TruncSatF32S | O::I32TruncSatF64S => cvt!(fcvt_to_sint_sat, I32),
        O::I32TruncSatF32U | O::I32TruncSatF64U => cvt!(fcvt_to_uint_sat, I32),
        O::I64TruncSatF32S | O::I64TruncSatF64S => cvt!(fcvt_to_sint_sat, I64),
        O::I64TruncSatF32U | O::I64TruncSatF64U => cvt!(fcvt_to_uint_sat, I64),
        O::F32ConvertI32S | O::F32ConvertI64S => cvt!(fcvt_from_sint, F32),
        O::F32ConvertI32U | O::F32ConvertI64U => cvt!(fcvt_from_uint, F32),
        O::F64ConvertI32S | O::F64ConvertI64S => cvt!(fcvt_from_sint, F64),
        O::F64ConvertI32U | O::F64ConvertI64U => cvt!(fcvt_from_uint, F64),
        O::F32DemoteF64 => cvt!(fdemote, F32),
        O::F64PromoteF32 => cvt!(fpromote, F64),
        O::I32ReinterpretF32 => bitcast!(I32),
        O::I64ReinterpretF64 => bitcast!(I64),
        O::F32ReinterpretI32 => bitcast!(F32),
        O::F64ReinterpretI64 => bitcast!(F64),

        O::I32Extend8S => sext_from!(I8, I32),
        O::I32Extend16S => sext_from!(I16, I32),
        O::I64Extend8S => sext_from!(I8, I64),
        O::I64Extend16S => sext_from!(I16, I64),
        O::I64Extend32S => sext_from!(I32, I64),
        _ => return false,
    }
    true
}
