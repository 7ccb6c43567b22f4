// SPDX-License-Identifier: GPL-2.0

//! scst-rs virtual disk handler: `vdisk` (file, block device and NULLIO
//! backed disks) and `vcdrom` (ISO images).
//!
//! For now the handler registers itself with the core; the I/O backends
//! arrive with the command engine.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    sync::Arc, //
};
use scst_core::{
    handler::Registration,
    proto::types::PeripheralType,
    DevHandler, //
};

module! {
    type: ScstVdisk,
    name: "scst_vdisk",
    authors: ["scst-rs developers"],
    description: "Virtual disk and CD-ROM device handler for scst-rs",
    license: "GPL",
}

/// The `vdisk` handler: virtual disks.
struct Vdisk;

impl DevHandler for Vdisk {
    const NAME: &'static CStr = c"vdisk";
    const TYPE: PeripheralType = PeripheralType::Disk;
}

/// The `vcdrom` handler: virtual CD-ROMs.
struct Vcdrom;

impl DevHandler for Vcdrom {
    const NAME: &'static CStr = c"vcdrom";
    const TYPE: PeripheralType = PeripheralType::Cdrom;
}

struct ScstVdisk {
    _vdisk: Registration<Vdisk>,
    _vcdrom: Registration<Vcdrom>,
}

impl kernel::Module for ScstVdisk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _vdisk: Registration::new(Arc::new(Vdisk, GFP_KERNEL)?)?,
            _vcdrom: Registration::new(Arc::new(Vcdrom, GFP_KERNEL)?)?,
        })
    }
}
