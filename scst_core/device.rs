// SPDX-License-Identifier: GPL-2.0

//! Devices: the logical units the core exports.
//!
//! A device handler creates devices (vdisk: `open NAME FILE` in
//! `/proc/scsi_tgt/vdisk/vdisk`) and registers them with the core under a
//! unique name; groups then map them at LUNs. A [`DeviceRegistration`] keeps
//! a device registered; dropping it unmaps the device from every group and
//! removes it.

use crate::{
    proto::types::PeripheralType,
    Core, //
};
use kernel::{
    prelude::*,
    str::CString,
    sync::Arc, //
};

/// What a handler implements for each of its devices.
///
/// The command callbacks (parse, exec, dev_done, task management) arrive
/// with the command engine.
pub trait DeviceOps: Send + Sync + 'static {}

/// A registered device.
pub struct Device {
    /// The device's unique name (a virtual name, or H:C:I:L).
    pub(crate) name: CString,
    /// The name of the handler that owns it.
    pub(crate) handler: &'static CStr,
    /// Its SCSI peripheral type.
    pub(crate) dev_type: PeripheralType,
    /// The handler's per-device object.
    pub(crate) ops: Arc<dyn DeviceOps>,
}

impl Device {
    /// The device's name.
    pub fn name(&self) -> &CStr {
        &self.name
    }

    /// The name of the handler that owns the device.
    pub fn handler(&self) -> &'static CStr {
        self.handler
    }

    /// The device's SCSI peripheral type.
    pub fn dev_type(&self) -> PeripheralType {
        self.dev_type
    }

    /// The handler's per-device object.
    pub fn ops(&self) -> &Arc<dyn DeviceOps> {
        &self.ops
    }
}

/// Keeps a device registered with the core; unregisters it on drop.
pub struct DeviceRegistration {
    core: Arc<Core>,
    dev: Arc<Device>,
}

impl DeviceRegistration {
    /// Registers a device named `name` of handler `handler`.
    ///
    /// Fails with `EEXIST` if a device of that name exists.
    pub fn new(
        handler: &'static CStr,
        dev_type: PeripheralType,
        name: &str,
        ops: Arc<dyn DeviceOps>,
    ) -> Result<Self> {
        let core = Core::get()?;
        let dev = Arc::new(
            Device {
                name: CString::try_from_fmt(fmt!("{name}"))?,
                handler,
                dev_type,
                ops,
            },
            GFP_KERNEL,
        )?;
        core.config.lock().add_device(dev.clone())?;
        pr_info!(
            "registered device {} (handler {})\n",
            name,
            handler.to_str()?
        );
        Ok(Self { core, dev })
    }

    /// The registered device.
    pub fn device(&self) -> &Arc<Device> {
        &self.dev
    }
}

impl Drop for DeviceRegistration {
    fn drop(&mut self) {
        self.core.config.lock().remove_device(&self.dev);
        pr_info!(
            "unregistered device {}\n",
            self.dev.name.to_str().unwrap_or("?")
        );
    }
}
