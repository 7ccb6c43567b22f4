// SPDX-License-Identifier: GPL-2.0

//! scst-rs pass-through disk handler `dev_disk`: exports real SCSI disks
//! of the local SCSI midlayer (SCST's `scst_disk`).
//!
//! `echo "assign H:C:I:L dev_disk" >/proc/scsi_tgt/scsi_tgt` attaches the
//! midlayer's disk at that address as a device named `H:C:I:L`, which
//! groups then map at LUNs like any other. The core answers what it owns
//! for every device (REPORT LUNS, REQUEST SENSE, UNIT ATTENTIONs, SPC-2 and
//! persistent reservations, EXTENDED COPY, task management); everything
//! else goes to the real disk as it came, and its status, sense data and
//! data come back as they are. `/proc/scsi_tgt/dev_disk/dev_disk` lists
//! the attached disks; unloading the module detaches them.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};
use scst_core::{
    device::ExecCmd,
    handler::Registration,
    proto::{
        cdb::OpFlags,
        mgmt::Hctl,
        sense::{
            asc,
            Key,
            Sense, //
        },
        types::{
            DataDirection,
            PeripheralType,
            Status, //
        },
    },
    DevHandler,
    DeviceOps,
    DeviceRegistration, //
};
use scst_sys::{
    procfs::{
        self,
        File, //
    },
    scsi_dev::{
        Data,
        ExecResult,
        ScsiDevice, //
    },
};

module! {
    type: ScstDisk,
    name: "scst_disk",
    authors: ["scst-rs developers"],
    description: "Pass-through disk handler for scst-rs (dev_disk)",
    license: "GPL",
}

/// Time-outs of SCST's `dev_disk`: most commands, and the long ones
/// (FORMAT UNIT, WRITE SAME, VERIFY, SYNCHRONIZE CACHE, ...).
const TIMEOUT_MS: u32 = 60_000;
const LONG_TIMEOUT_MS: u32 = 3_600_000;

/// One attached disk.
struct PassDisk {
    sdev: ScsiDevice,
    block_size: u32,
    blocks: u64,
}

/// Why a command did not reach the disk or came back without a SCSI
/// status: the midlayer gave up (the device is gone, offline, timed out).
fn transport_failure() -> Sense {
    Sense::new(Key::HardwareError, asc::LU_COMMUNICATION_FAILURE)
}

/// The sense data of a CHECK CONDITION from the disk, as the core's type.
fn device_sense(r: &ExecResult) -> Sense {
    Sense::decode(&r.sense).map_or_else(Sense::internal_failure, |(s, _)| s)
}

impl PassDisk {
    /// Attaches the disk at `hctl`, reading its capacity.
    fn attach(hctl: Hctl) -> Result<Self> {
        // Not there is a wrong address: EINVAL, like any bad argument.
        let sdev =
            ScsiDevice::lookup(hctl.host, hctl.channel, hctl.id, hctl.lun).map_err(|_| {
                pr_warn!(
                    "dev_disk: no SCSI device {}:{}:{}:{}\n",
                    hctl.host,
                    hctl.channel,
                    hctl.id,
                    hctl.lun
                );
                EINVAL
            })?;
        let t = sdev.dev_type();
        if t != PeripheralType::Disk as u8 {
            pr_warn!(
                "dev_disk: {}:{}:{}:{} is of SCSI type {}, not a disk\n",
                hctl.host,
                hctl.channel,
                hctl.id,
                hctl.lun,
                t
            );
            return Err(EINVAL);
        }
        let (blocks, block_size) = read_capacity(&sdev)?;
        if !(512..=65536).contains(&block_size) || !block_size.is_power_of_two() {
            pr_warn!("dev_disk: unusable block size {}\n", block_size);
            return Err(EINVAL);
        }
        Ok(Self {
            sdev,
            block_size,
            blocks,
        })
    }
}

/// READ CAPACITY(10), then (16) for a disk beyond 2^32 blocks; retried a
/// few times for a UNIT ATTENTION or a disk becoming ready.
fn read_capacity(sdev: &ScsiDevice) -> Result<(u64, u32)> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut d = [0u8; 8];
        let r = sdev.execute(
            &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            Data::In(&mut d),
            10_000,
            1,
        )?;
        if r.result == 0 {
            let last = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
            let bs = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
            if last != u32::MAX {
                return Ok((u64::from(last) + 1, bs));
            }
            let mut d = [0u8; 32];
            let mut c = [0u8; 16];
            c[0] = 0x9e;
            c[1] = 0x10;
            c[13] = 32;
            let r = sdev.execute(&c, Data::In(&mut d), 10_000, 1)?;
            if r.result == 0 {
                let mut l = [0u8; 8];
                l.copy_from_slice(&d[..8]);
                let last = u64::from_be_bytes(l);
                let bs = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
                return Ok((last.checked_add(1).ok_or(EINVAL)?, bs));
            }
        }
        if tries >= 3 {
            pr_warn!("dev_disk: READ CAPACITY failed (result {:#x})\n", r.result);
            return Err(EIO);
        }
    }
}

impl DeviceOps for PassDisk {
    fn block_size(&self) -> u32 {
        self.block_size
    }

    fn num_blocks(&self) -> u64 {
        self.blocks
    }

    fn exec(&self, cmd: &mut ExecCmd<'_>) -> core::result::Result<usize, Sense> {
        let timeout = if cmd.decoded.flags.contains(OpFlags::LONG_TIMEOUT) {
            LONG_TIMEOUT_MS
        } else {
            TIMEOUT_MS
        };
        let (data, in_len) = match cmd.decoded.direction {
            DataDirection::None => (Data::None, 0),
            DataDirection::Read => {
                let n = cmd.data_in.len();
                (Data::In(&mut *cmd.data_in), n)
            }
            DataDirection::Write => (Data::Out(cmd.data_out), 0),
            // The midlayer's single-buffer path has no bidirectional form.
            DataDirection::Bidi => return Err(Sense::invalid_opcode()),
        };
        let r = self
            .sdev
            .execute(cmd.cdb, data, timeout, 0)
            .map_err(|_| Sense::invalid_opcode())?;
        if r.result < 0 || r.host_byte() != 0 {
            return Err(transport_failure());
        }
        let len = in_len.saturating_sub(r.resid as usize);
        match Status::from_u8(r.status()) {
            Some(Status::Good) => Ok(len),
            Some(Status::CheckCondition) => Err(device_sense(&r)),
            Some(s) => {
                cmd.status = s;
                Ok(len)
            }
            None => Err(Sense::internal_failure()),
        }
    }
}

/// An attached disk as the handler lists it.
struct Attached {
    name: CString,
    blocks: u64,
    block_size: u32,
    _reg: DeviceRegistration,
}

/// The `dev_disk` handler: its attached disks.
#[pin_data]
struct DevDisk {
    #[pin]
    disks: Mutex<KVec<Attached>>,
}

impl DevHandler for DevDisk {
    const NAME: &'static CStr = c"dev_disk";
    const TYPE: PeripheralType = PeripheralType::Disk;
    const PASS_THROUGH: bool = true;

    fn describe(&self) -> Option<&'static str> {
        Some("pass-through to local SCSI disks: assign H:C:I:L dev_disk")
    }

    fn assign(&self, hctl: Hctl) -> Result {
        let name = CString::try_from_fmt(fmt!(
            "{}:{}:{}:{}",
            hctl.host,
            hctl.channel,
            hctl.id,
            hctl.lun
        ))?;
        if self
            .disks
            .lock()
            .iter()
            .any(|a| a.name.to_bytes() == name.to_bytes())
        {
            pr_warn!("dev_disk: {} is already assigned\n", name.to_str()?);
            return Err(EEXIST);
        }
        let disk = PassDisk::attach(hctl).inspect_err(|e| {
            pr_warn!(
                "dev_disk: cannot attach {}: error {}\n",
                name.to_str().unwrap_or("?"),
                e.to_errno()
            );
        })?;
        let (blocks, block_size) = (disk.blocks, disk.block_size);
        let ops: Arc<dyn DeviceOps> = Arc::new(disk, GFP_KERNEL)?;
        let reg = DeviceRegistration::new(Self::NAME, Self::TYPE, name.to_str()?, ops)?;
        pr_info!(
            "dev_disk: attached {} ({} blocks of {} bytes)\n",
            name.to_str()?,
            blocks,
            block_size
        );
        self.disks.lock().push(
            Attached {
                name,
                blocks,
                block_size,
                _reg: reg,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }
}

/// `/proc/scsi_tgt/dev_disk/dev_disk`: the attached disks.
struct DiskList(Arc<Registration<DevDisk>>);

impl procfs::Handler for DiskList {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(
            m,
            "{:<24}{:>16}{:>12}\n",
            "Device (H:C:I:L)",
            "blocks",
            "block size"
        );
        for a in self.0.handler().disks.lock().iter() {
            seq_print!(
                m,
                "{:<24}{:>16}{:>12}\n",
                a.name.to_str()?,
                a.blocks,
                a.block_size
            );
        }
        Ok(())
    }
}

struct ScstDisk {
    file: Option<File<DiskList>>,
    reg: Arc<Registration<DevDisk>>,
}

impl kernel::Module for ScstDisk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let handler = Arc::pin_init(
            pin_init!(DevDisk {
                disks <- kernel::new_mutex!(KVec::new(), "dev_disk::disks"),
            }),
            GFP_KERNEL,
        )?;
        let reg = Arc::new(Registration::new(handler)?, GFP_KERNEL)?;
        let file = reg.proc_dir().file(
            c"dev_disk",
            0o444,
            Arc::new(DiskList(reg.clone()), GFP_KERNEL)?,
        )?;
        Ok(Self {
            file: Some(file),
            reg,
        })
    }
}

impl Drop for ScstDisk {
    fn drop(&mut self) {
        // The file first (waits for running reads), then the disks (each
        // waits for its commands), then the registration.
        drop(self.file.take());
        let disks = core::mem::take(&mut *self.reg.handler().disks.lock());
        drop(disks);
    }
}
