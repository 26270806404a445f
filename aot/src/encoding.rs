//! Binary-format rules that `wasmparser`'s operator reader, which reads every
//! proposal's encodings, does not enforce: a memarg's alignment field is a
//! 32-bit LEB128 number of at most five bytes, and so is its offset when it
//! addresses a 32-bit memory (a 64-bit memory's offset is a 64-bit number).
//! With multi-memory switched off (`Config::wasm_multi_memory(false)`), the
//! memory index of `memory.*` instructions is a single zero byte, as in 2.0;
//! with it on, a LEB128 number, which wasmparser reads.

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
/// `memory64(i)` says whether memory `i` is a 64-bit memory; without
/// `multi_memory` the memory index of `memory.*` instructions is a single
/// zero byte (WebAssembly 2.0).
pub(super) fn check_operator(
    op: &Operator<'_>,
    raw: &[u8],
    offset: u64,
    multi_memory: bool,
    memory64: impl Fn(u32) -> bool,
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
    if !multi_memory {
        match op {
            O::MemorySize { .. } | O::MemoryGrow { .. } if raw.len() != 2 || raw[1] != 0 => {
                return Err(malformed("zero byte expected", offset));
            }
            O::MemoryFill { .. } | O::MemoryInit { .. } => zero_bytes(1)?,
            O::MemoryCopy { .. } => zero_bytes(2)?,
            _ => {}
        }
    }
    if let Some(memarg) = memarg_of(op) {
        // The opcode (one byte, or SIMD's 0xfd prefix and a LEB128 number),
        // then flags-and-align, the memory index if flag bit 6 says so
        // (multi-memory), and the offset.
        let field = |at: usize| leb_len(raw.get(at..).unwrap_or_default());
        let opcode = if raw.first() == Some(&0xfd) {
            1 + field(1)
        } else {
            1
        };
        let align = field(opcode);
        let mut at = opcode + align;
        if leb_bit6(raw.get(opcode..).unwrap_or_default()) {
            at += field(at);
        }
        let off = field(at);
        let wide = match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => memory64(m),
            wasmparser::MemArgTarget::Array(_) => false,
        };
        if align > 5 || off > if wide { 10 } else { 5 } {
            return Err(malformed("integer representation too long", offset));
        }
    }
    Ok(())
}

/// Whether bit 6 of the LEB128 number at the start of `bytes` is set (in
/// its first byte's seven value bits).
fn leb_bit6(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| b & 0x40 != 0)
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

/// Checks a memory or table type's limits: they are 32-bit LEB128 numbers
/// unless flag bit 2 makes the type 64-bit (memory64, table64). `raw`
/// starts at the limits' flags byte.
pub(crate) fn check_limits(raw: &[u8], offset: u64) -> Result<usize, CompileError> {
    let Some(&flags) = raw.first() else {
        return Ok(0);
    };
    let mut at = 1;
    let widest = if flags & 4 != 0 { 10 } else { 5 };
    // Minimum, maximum if flag bit 0, page size (a 32-bit log2) if flag
    // bit 3 (custom page sizes).
    let fields = [true, flags & 1 != 0, flags & 8 != 0];
    let widths = [widest, widest, 5];
    for (width, _) in widths.into_iter().zip(fields).filter(|(_, f)| *f) {
        let n = leb_len(&raw[at.min(raw.len())..]);
        if n > width {
            return Err(malformed(
                "integer representation too long",
                offset + at as u64,
            ));
        }
        at += n;
    }
    Ok(at)
}
