// SPDX-License-Identifier: GPL-2.0

//! Devices: the logical units the core exports.
//!
//! A device handler creates devices (vdisk: `open NAME FILE` in
//! `/proc/scsi_tgt/vdisk/vdisk`) and registers them with the core under a
//! unique name; groups then map them at LUNs. A [`DeviceRegistration`] keeps
//! a device registered; dropping it unmaps the device from every group and
//! removes it.

use crate::reservation::ResState;
use crate::{
    proto::{
        cdb,
        order::QueueAlg,
        sense::{
            Asc,
            Sense, //
        },
        tm::TmConfig,
        types::{
            PeripheralType,
            Status, //
        },
        xcopy::Designator, //
    },
    Core, //
};
use kernel::{
    prelude::*,
    str::CString,
    sync::{
        Arc,
        CondVar,
        Mutex,
        SpinLock, //
    },
};

/// Whether a command was aborted by task management while it executes:
/// long commands (WRITE SAME, EXTENDED COPY) look between chunks and stop
/// early, since their result is not reported anyway.
#[derive(Clone, Copy)]
pub struct AbortFlag<'a> {
    ctl: Option<&'a crate::tm::TaskCtl>,
}

impl<'a> AbortFlag<'a> {
    /// I/O that no task management reaches.
    pub const NONE: AbortFlag<'static> = AbortFlag { ctl: None };

    pub(crate) fn new(ctl: &'a crate::tm::TaskCtl) -> Self {
        Self { ctl: Some(ctl) }
    }

    /// Whether the command was aborted.
    pub fn is_aborted(&self) -> bool {
        self.ctl.is_some_and(|c| c.is_aborted())
    }
}

/// A command a device executes: the decoded CDB, the data-out bytes and a
/// zeroed data-in buffer of the CDB's transfer length.
pub struct ExecCmd<'a> {
    /// The CDB.
    pub cdb: &'a [u8],
    /// The CDB decoded for the device's type and block size.
    pub decoded: &'a cdb::Decoded,
    /// The data-out bytes (exactly the CDB's transfer length).
    pub data_out: &'a [u8],
    /// The data-in buffer (the CDB's transfer length, zeroed).
    pub data_in: &'a mut [u8],
    /// The LUN is read-only for this initiator.
    pub read_only: bool,
    /// The I_T nexus the command came from.
    pub nexus: u64,
    /// Whether task management aborted the command meanwhile.
    pub abort: AbortFlag<'a>,
    /// Set by the device: a UNIT ATTENTION the core queues on the device's
    /// other I_T_L nexuses once the command succeeded (e.g. MODE
    /// PARAMETERS CHANGED after MODE SELECT).
    pub ua_for_others: Option<Asc>,
    /// Set by the device: the status of a command that did not fail with
    /// CHECK CONDITION (a pass-through device's BUSY, TASK SET FULL,
    /// CONDITION MET, ...); GOOD unless set.
    pub status: Status,
}

/// What a handler implements for each of its devices (SCST's `exec`).
pub trait DeviceOps: Send + Sync + 'static {
    /// The logical block size, for decoding transfer lengths.
    fn block_size(&self) -> u32;

    /// Checks the CDB as the device would (SCST's `parse`): field values,
    /// LBA ranges. Runs before the core's write protection and data length
    /// checks, so that a bad CDB is reported as such on a read-only LU.
    fn parse(&self, cdb: &[u8]) -> core::result::Result<(), Sense> {
        let _ = cdb;
        Ok(())
    }

    /// Whether the medium refuses writes (read-only device, or software
    /// write protect). The core then fails medium-modifying commands with
    /// DATA PROTECT before looking at their data.
    fn write_protected(&self) -> bool {
        false
    }

    /// The task management settings of the device's Control mode page
    /// (TST, TAS, QErr).
    fn tm_config(&self) -> TmConfig {
        TmConfig::default()
    }

    /// The QUEUE ALGORITHM MODIFIER of the device's Control mode page:
    /// with restricted reordering SIMPLE commands run as ORDERED.
    fn queue_alg(&self) -> QueueAlg {
        QueueAlg::Unrestricted
    }

    /// Whether `d` is one of the device's logical unit designators (its
    /// Device Identification VPD page): how EXTENDED COPY names it.
    fn names(&self, d: &Designator) -> bool {
        let _ = d;
        false
    }

    /// The capacity in logical blocks (for EXTENDED COPY range checks).
    fn num_blocks(&self) -> u64 {
        0
    }

    /// Executes a command that passed the core's checks (LUN, UNIT
    /// ATTENTION, write protection, CDB decoding). Returns the number of
    /// data-in bytes, or the sense of a CHECK CONDITION. Runs in a command
    /// thread and may sleep.
    fn exec(&self, cmd: &mut ExecCmd<'_>) -> core::result::Result<usize, Sense>;
}

/// A registered device.
#[pin_data]
pub struct Device {
    /// The device's unique name (a virtual name, or H:C:I:L).
    pub(crate) name: CString,
    /// The name of the handler that owns it.
    pub(crate) handler: &'static CStr,
    /// Its SCSI peripheral type.
    pub(crate) dev_type: PeripheralType,
    /// The handler's per-device object.
    /// `None` once unregistered: the handler's object is dropped by the
    /// registration, in the handler module's context, never later.
    #[pin]
    ops: SpinLock<Option<Arc<dyn DeviceOps>>>,
    /// SPC-2 and persistent reservations.
    #[pin]
    pub(crate) res: Mutex<ResState>,
    /// Commands executing on the device right now.
    #[pin]
    inflight: Mutex<usize>,
    #[pin]
    idle: CondVar,
}

/// Counts one command executing on a device (see [`Device::enter`]).
pub(crate) struct InflightGuard {
    dev: Arc<Device>,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        let mut n = self.dev.inflight.lock();
        *n -= 1;
        if *n == 0 {
            self.dev.idle.notify_all();
        }
    }
}

impl Device {
    /// Marks a command as executing on the device until the guard drops.
    /// Unregistration waits for these (the handler's code must not run
    /// after its module is gone).
    pub(crate) fn enter(self: &Arc<Self>) -> InflightGuard {
        *self.inflight.lock() += 1;
        InflightGuard { dev: self.clone() }
    }

    /// Waits until no command executes on the device.
    fn wait_idle(&self) {
        let mut n = self.inflight.lock();
        while *n != 0 {
            self.idle.wait(&mut n);
        }
    }

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

    /// The handler's per-device object, unless the device is unregistered.
    /// Callers must drop it before their [`InflightGuard`].
    pub(crate) fn ops(&self) -> Option<Arc<dyn DeviceOps>> {
        self.ops.lock().clone()
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
        let cname = CString::try_from_fmt(fmt!("{name}"))?;
        let res = ResState::new(core.pr_dir.lock().as_deref(), name)?;
        let dev = Arc::pin_init(
            pin_init!(Device {
                name: cname,
                handler,
                dev_type,
                ops <- kernel::new_spinlock!(Some(ops), "scst::Device::ops"),
                res <- kernel::new_mutex!(res, "scst::Device::res"),
                inflight <- kernel::new_mutex!(0, "scst::Device::inflight"),
                idle <- kernel::new_condvar!("scst::Device::idle"),
            }),
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

    /// Queues the UNIT ATTENTION `asc` on every I_T_L nexus of the device
    /// (e.g. 28/00 after a medium change, 2A/09 after a capacity change).
    pub fn raise_ua(&self, asc: Asc) {
        self.core.config.lock().raise_ua(&self.dev, asc, |_| true);
    }
}

impl Drop for DeviceRegistration {
    fn drop(&mut self) {
        let mut config = self.core.config.lock();
        config.remove_device(&self.dev);
        config.refresh_all_sessions();
        drop(config);
        // No new command can find the device now; let the running ones end.
        self.dev.wait_idle();
        // Commands drop their reference to the handler's object before
        // leaving, so this is the last one: it is freed here, while the
        // handler's module is certainly loaded.
        let ops = self.dev.ops.lock().take();
        drop(ops);
        pr_info!(
            "unregistered device {}\n",
            self.dev.name.to_str().unwrap_or("?")
        );
    }
}
