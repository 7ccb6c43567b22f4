// SPDX-License-Identifier: GPL-2.0

//! Memory facts the core sizes its limits by.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)

use crate::bindings;

/// The RAM the kernel manages, in bytes (`totalram_pages()`).
pub fn total_ram() -> u64 {
    // SAFETY: Reads a counter; callable from any context.
    unsafe { bindings::scst_helper_totalram_bytes() }
}
