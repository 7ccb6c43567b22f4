// SPDX-License-Identifier: GPL-2.0

//! A throwaway module that triggers a kernel warning on load.
//!
//! The VM harness must fail a run whose kernel log shows a splat; the suite
//! loads this module in a dedicated run and checks that the harness reports
//! the failure (see `tests/vm/selftest.sh`). It is never loaded otherwise.

#![forbid(unsafe_code)]

use kernel::prelude::*;

module! {
    type: ScstSplat,
    name: "scst_splat",
    authors: ["scst-rs developers"],
    description: "Harness self-test: WARNs on load",
    license: "GPL",
}

struct ScstSplat;

impl kernel::Module for ScstSplat {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // A real WARN splat with a backtrace, the way a buggy driver causes one.
        kernel::warn_on!(true);
        Ok(ScstSplat)
    }
}
