//! Randomness from the host's CSPRNG.

use super::{ErrorCode, Result};

/// Fills `dst` with random bytes (`getrandom`).
pub(crate) fn fill(dst: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < dst.len() {
        // SAFETY: getrandom writes at most the given length into the slice.
        let n =
            unsafe { libc::getrandom(dst[filled..].as_mut_ptr().cast(), dst.len() - filled, 0) };
        if n < 0 {
            return Err(ErrorCode::from(std::io::Error::last_os_error()));
        }
        filled += n as usize;
    }
    Ok(())
}
