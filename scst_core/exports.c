// SPDX-License-Identifier: GPL-2.0
/*
 * Exports the Rust symbols of scst_core.ko (crates scst_sys and scst_core) to
 * the other scst-rs modules, which are compiled against their metadata.
 * The list is generated from the objects at build time (see Kbuild).
 */
#include <linux/export.h>

#define EXPORT_SYMBOL_RUST_GPL(sym) extern int sym; EXPORT_SYMBOL_GPL(sym)

#include "exports_generated.h"
