//! Binary-format rules of WebAssembly 2.0 that `wasmparser`, which also reads
//! later proposals' encodings, does not enforce: with multi-memory off the
//! memory index of `memory.*` instructions is a single zero byte, and with
//! memory64 off a memarg's fields are 32-bit LEB128 numbers of at most five bytes.

use wasmparser::Operator;

use crate::CompileError;

fn malformed(message: &str, offset: u64) -> CompileError {
    CompileError::invalid(message, offset)
}

/// Length in bytes of the LEB128 number at the start of `bytes`.
pub(crate) fn leb_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(bytes.len(), |i| i + 1)
}

/// Checks the raw encoding `raw` of `op`, which starts at `offset`.
pub(super) fn check_operator(
    op: &Operator<'_>,
    raw: &[u8],
    offset: u64,
) -> Result<(), CompileError> {
    use Operator as O;
    // Trailing reserved zero bytes, and the byte before them must end the
    // preceding LEB128 number (so the zeros are not part of a long encoding).
    let zero_bytes = |n: usize| -> Result<(), CompileError> {
        let ok = raw.len() > n
            && raw[raw.len() - n..].iter().all(|b| *b == 0)
            && raw[raw.len() - n - 1] & 0x80 == 0;
        if ok {
            Ok(())
        } else {
            Err(malformed("zero byte expected", offset))
        }
    };
    match op {
        O::MemorySize { .. } | O::MemoryGrow { .. } => {
            if raw.len() != 2 || raw[1] != 0 {
                return Err(malformed("zero byte expected", offset));
            }
        }
        O::MemoryFill { .. } | O::MemoryInit { .. } => zero_bytes(1)?,
        O::MemoryCopy { .. } => zero_bytes(2)?,
        _ => {
            if let Some(_memarg) = memarg_of(op) {
                // The opcode (one byte, or SIMD's 0xfd prefix and a LEB128
                // number), then align and offset.
                let opcode = if raw[0] == 0xfd {
                    1 + leb_len(&raw[1..])
                } else {
                    1
                };
                let align = leb_len(&raw[opcode..]);
                let off = leb_len(&raw[opcode + align..]);
                if align > 5 || off > 5 {
                    return Err(malformed("integer representation too long", offset));
                }
            }
        }
    }
    Ok(())
}

fn memarg_of<'a>(op: &'a Operator<'_>) -> Option<&'a wasmparser::MemArg> {
    use Operator as O;
    match op {
        O::I32Load { memarg }
        | O::I64Load { memarg }
        | O::F32Load { memarg }
        | O::F64Load { memarg }
        | O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg }
        | O::I64Load32S { memarg }
        | O::I64Load32U { memarg }
        | O::I32Store { memarg }
        | O::I64Store { memarg }
        | O::F32Store { memarg }
        | O::F64Store { memarg }
        | O::I32Store8 { memarg }
        | O::I32Store16 { memarg }
        | O::I64Store8 { memarg }
        | O::I64Store16 { memarg }
        | O::I64Store32 { memarg }
        | O::V128Load { memarg }
        | O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load8Splat { memarg }
        | O::V128Load16Splat { memarg }
        | O::V128Load32Splat { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load32Zero { memarg }
        | O::V128Load64Zero { memarg }
        | O::V128Store { memarg }
        | O::V128Load8Lane { memarg, .. }
        | O::V128Load16Lane { memarg, .. }
        | O::V128Load32Lane { memarg, .. }
        | O::V128Load64Lane { memarg, .. }
        | O::V128Store8Lane { memarg, .. }
        | O::V128Store16Lane { memarg, .. }
        | O::V128Store32Lane { memarg, .. }
        | O::V128Store64Lane { memarg, .. } => Some(memarg),
        _ => None,
    }
}

/// Checks a memory or table type's limits: with memory64 and table64 off
/// they are 32-bit LEB128 numbers. `raw` starts at the limits' flags byte.
pub(crate) fn check_limits(raw: &[u8], offset: u64) -> Result<usize, CompileError> {
    let Some(&flags) = raw.first() else {
        return Ok(0);
    };
    let mut at = 1;
    let fields = if flags & 1 != 0 { 2 } else { 1 };
    for _ in 0..fields {
        let n = leb_len(&raw[at.min(raw.len())..]);
        if n > 5 {
            return Err(malformed(
                "integer representation too long",
                offset + at as u64,
            ));
        }
        at += n;
    }
    Ok(at)
}
