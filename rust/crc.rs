// SPDX-License-Identifier: GPL-2.0

//! The kernel's CRC32C (Castagnoli), which uses the CPU's CRC instructions
//! where there are some. iSCSI header and data digests are CRC32C.
//!
//! C header: [`include/linux/crc32.h`](srctree/include/linux/crc32.h)

use crate::bindings;

/// Continues a CRC32C over `data` from the register value `crc`, as the
/// kernel's `crc32c()` does: no inversion on entry or exit (a standard
/// CRC32C starts from `!0` and inverts the result).
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `data` is valid for reads of its length.
    unsafe { bindings::crc32c(crc, data.as_ptr().cast(), data.len()) }
}
