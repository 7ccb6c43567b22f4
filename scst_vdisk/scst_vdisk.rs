// SPDX-License-Identifier: GPL-2.0

//! scst-rs virtual disk handler: `vdisk` (file, block device and NULLIO
//! backed disks) and `vcdrom` (ISO images).
//!
//! Devices are created and removed through `/proc/scsi_tgt/vdisk/vdisk` and
//! `/proc/scsi_tgt/vcdrom/vcdrom` (see `Documentation/vdisk.md`) and
//! registered with the core, where groups map them at LUNs. Command
//! execution arrives with the core's command engine.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};
use scst_core::{
    disk::{
        DiskConfig,
        Media,
        VirtualDisk, //
    },
    handler::Registration,
    parse_error,
    proto::{
        mgmt,
        types::PeripheralType, //
    },
    DevHandler,
    DeviceRegistration, //
};
use scst_sys::{
    bdev::BlockDev,
    kfile::{
        KFile,
        OpenOptions, //
    },
    procfs::{
        self,
        File, //
    },
};

module! {
    type: ScstVdisk,
    name: "scst_vdisk",
    authors: ["scst-rs developers"],
    description: "Virtual disk and CD-ROM device handler for scst-rs",
    license: "GPL",
}

/// The size of a NULLIO disk, as in SCST: 1.5 TiB.
const NULLIO_SIZE: u64 = 3 << 39;

/// The largest block size vdisk accepts.
const MAX_BLOCK_SIZE: u32 = 4096;

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

/// Where a virtual device's data lives.
enum Kind {
    /// No I/O: reads return zeroes, writes are dropped (NULLIO).
    Null,
    /// A regular file or a block device, through kernel file I/O (FILEIO).
    File(KFile),
    /// A block device, with bios straight from the command's buffer
    /// (BLOCKIO): no page cache, so every write is on the device (in its
    /// cache, which FUA and SYNCHRONIZE CACHE flush) when it completes.
    Block(BlockDev),
    /// A CD-ROM drive without a medium.
    Empty,
}

/// The medium of a virtual device.
#[pin_data]
struct Backing {
    /// The current medium; swapped by vcdrom `change`. I/O takes a reference
    /// and runs without the lock.
    #[pin]
    kind: Mutex<Arc<Kind>>,
    /// The size in bytes, as of `open` or the last `resync_size`.
    size: Atomic<u64>,
}

impl Backing {
    fn new(kind: Kind, size: u64) -> Result<impl PinInit<Self, Error>> {
        let kind = Arc::new(kind, GFP_KERNEL)?;
        Ok(try_pin_init!(Self {
            kind <- kernel::new_mutex!(kind, "vdisk::Backing::kind"),
            size: Atomic::new(size),
        }))
    }

    fn kind(&self) -> Arc<Kind> {
        self.kind.lock().clone()
    }

    /// Swaps the medium (vcdrom `change`).
    fn replace(&self, kind: Kind, size: u64) -> Result {
        let kind = Arc::new(kind, GFP_KERNEL)?;
        let old = core::mem::replace(&mut *self.kind.lock(), kind);
        self.size.store(size, Relaxed);
        // The old file closes when the last running I/O drops it.
        drop(old);
        Ok(())
    }
}

impl Media for Backing {
    fn read(&self, buf: &mut [u8], pos: u64) -> Result {
        match &*self.kind() {
            Kind::Null => {
                buf.fill(0);
                Ok(())
            }
            Kind::File(f) => {
                let n = f.read_at(buf, pos)?;
                // A file shorter than the device reads as zeroes.
                if let Some(rest) = buf.get_mut(n..) {
                    rest.fill(0);
                }
                Ok(())
            }
            Kind::Block(b) => b.read_at(buf, pos),
            Kind::Empty => Err(ENOMEDIUM),
        }
    }

    fn write(&self, buf: &[u8], pos: u64, fua: bool) -> Result {
        match &*self.kind() {
            Kind::Null => Ok(()),
            Kind::File(f) => {
                f.write_at(buf, pos)?;
                if fua {
                    f.sync_range(pos, buf.len() as u64, true)?;
                }
                Ok(())
            }
            Kind::Block(b) => b.write_at(buf, pos, fua),
            Kind::Empty => Err(ENOMEDIUM),
        }
    }

    fn flush(&self, pos: u64, len: u64) -> Result {
        match &*self.kind() {
            Kind::File(f) => f.sync_range(pos, len, false),
            // A device cache has no ranges: all of it.
            Kind::Block(b) => b.flush(),
            Kind::Null | Kind::Empty => Ok(()),
        }
    }

    fn size(&self) -> u64 {
        self.size.load(Relaxed)
    }

    fn unmap(&self, pos: u64, len: u64) -> Result {
        match &*self.kind() {
            Kind::File(f) => f.punch_hole(pos, len),
            Kind::Block(b) => b.zero_out(pos, len),
            Kind::Null => Ok(()),
            Kind::Empty => Err(ENOMEDIUM),
        }
    }

    fn extent(&self, pos: u64) -> Result<(bool, u64)> {
        let end = self.size();
        let rest = end.saturating_sub(pos);
        let kind = self.kind();
        let Kind::File(f) = &*kind else {
            return Ok((true, rest));
        };
        // A block device has no holes: SEEK_DATA answers `pos` itself.
        match f.seek(pos, true)? {
            None => Ok((false, rest)),
            Some(d) if d > pos => Ok((false, d.min(end).saturating_sub(pos))),
            Some(_) => {
                let h = f.seek(pos, false)?.unwrap_or(end);
                Ok((true, h.min(end).saturating_sub(pos).max(1)))
            }
        }
    }
}

/// A virtual disk or CD-ROM.
struct VDev {
    name: CString,
    path: CString,
    block_size: u32,
    flags: mgmt::VdiskFlags,
    disk: Arc<VirtualDisk<Backing>>,
}

impl VDev {
    /// Opens the backing store of a new device.
    fn open(
        name: &str,
        path: &[u8],
        dev_type: PeripheralType,
        block_size: u32,
        flags: mgmt::VdiskFlags,
    ) -> Result<Self> {
        let path = CString::try_from_fmt(fmt!("{}", core::str::from_utf8(path)?))?;
        let (kind, size, vendor) = if flags.nullio {
            (Kind::Null, NULLIO_SIZE, "SCST_NIO")
        } else if path.to_bytes().is_empty() {
            (Kind::Empty, 0, "SCST_FIO")
        } else if flags.blockio {
            let bdev = BlockDev::open(&path, flags.read_only).map_err(|e| {
                pr_warn!(
                    "vdisk {}: cannot open block device {} for BLOCKIO: error {}\n",
                    name,
                    path.to_str().unwrap_or("?"),
                    e.to_errno()
                );
                // Not a block device: a wrong argument, as for every other
                // bad field of the command.
                if e == ENOTBLK {
                    EINVAL
                } else {
                    e
                }
            })?;
            let lbs = bdev.logical_block_size();
            if block_size < lbs {
                pr_warn!(
                    "vdisk {}: block size {} is below the {}-byte blocks of {}\n",
                    name,
                    block_size,
                    lbs,
                    path.to_str().unwrap_or("?")
                );
                return Err(EINVAL);
            }
            let size = bdev.size();
            (Kind::Block(bdev), size, "SCST_BIO")
        } else {
            let opts = OpenOptions {
                read_only: flags.read_only,
                sync: flags.write_through,
                direct: flags.o_direct,
                ..Default::default()
            };
            let file = KFile::open(&path, opts).inspect_err(|e| {
                pr_warn!(
                    "vdisk {}: cannot open {}: error {}\n",
                    name,
                    path.to_str().unwrap_or("?"),
                    e.to_errno()
                );
            })?;
            let size = file.size();
            (Kind::File(file), size, "SCST_FIO")
        };
        let backing = Backing::new(kind, size)?;
        let cfg = DiskConfig {
            dev_type,
            block_size,
            read_only: flags.read_only,
            removable: flags.removable,
            nv_cache: flags.nv_cache,
            write_through: flags.write_through,
            thin: flags.thin_provisioned,
        };
        Ok(Self {
            name: CString::try_from_fmt(fmt!("{name}"))?,
            path,
            block_size,
            flags,
            disk: VirtualDisk::new(name, vendor, backing, cfg)?,
        })
    }

    /// Opens an ISO image, or makes an empty drive.
    fn open_cdrom(name: &str, path: Option<&[u8]>) -> Result<Self> {
        let flags = mgmt::VdiskFlags {
            read_only: true,
            removable: true,
            ..Default::default()
        };
        Self::open(
            name,
            path.unwrap_or(b""),
            PeripheralType::Cdrom,
            2048,
            flags,
        )
    }

    fn size(&self) -> u64 {
        self.disk.media().size()
    }

    /// Re-reads the size of the backing file (`resync_size`).
    fn resync_size(&self) -> Result<u64> {
        let b = self.disk.media();
        match &*b.kind() {
            Kind::File(f) => b.size.store(f.size(), Relaxed),
            Kind::Block(d) => b.size.store(d.size(), Relaxed),
            Kind::Null | Kind::Empty => {}
        }
        Ok(b.size())
    }

    fn options(&self) -> KVec<u8> {
        let mut o = KVec::new();
        let f = &self.flags;
        for (on, s) in [
            (f.write_through, "WT "),
            (f.nv_cache, "NV "),
            (f.read_only, "RO "),
            (f.o_direct, "DR "),
            (matches!(*self.disk.media().kind(), Kind::Null), "NIO "),
            (f.blockio, "BIO "),
            (f.removable, "RM "),
            (f.thin_provisioned, "TP "),
        ] {
            if on {
                // Allocation failure only shortens the options column.
                let _ = o.extend_from_slice(s.as_bytes(), GFP_KERNEL);
            }
        }
        o
    }
}

/// A device of this module and its registration with the core.
struct Entry {
    dev: Arc<VDev>,
    reg: DeviceRegistration,
}

/// The devices of one handler (`vdisk` or `vcdrom`).
#[pin_data]
struct Devices {
    handler: &'static CStr,
    dev_type: PeripheralType,
    #[pin]
    list: Mutex<KVec<Entry>>,
}

impl Devices {
    fn new(handler: &'static CStr, dev_type: PeripheralType) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                handler,
                dev_type,
                list <- kernel::new_mutex!(KVec::new(), "vdisk::Devices"),
            }),
            GFP_KERNEL,
        )
    }

    /// Registers `dev` with the core and adds it to the list.
    fn add(&self, dev: VDev) -> Result {
        let mut list = self.list.lock();
        let dev = Arc::new(dev, GFP_KERNEL)?;
        let name = dev.name.to_str()?;
        if list
            .iter()
            .any(|e| e.dev.name.to_bytes() == name.as_bytes())
        {
            pr_warn!("{}: device {} exists\n", self.handler.to_str()?, name);
            return Err(EINVAL);
        }
        let reg = DeviceRegistration::new(self.handler, self.dev_type, name, dev.disk.clone())
            .map_err(|e| {
                pr_warn!(
                    "{}: cannot register {}: error {}\n",
                    self.handler.to_str().unwrap_or("?"),
                    name,
                    e.to_errno()
                );
                if e == EEXIST {
                    EINVAL
                } else {
                    e
                }
            })?;
        list.push(Entry { dev, reg }, GFP_KERNEL)?;
        Ok(())
    }

    /// Swaps the medium of a vcdrom device (`change NAME [ISO]`): refused
    /// while PREVENT MEDIUM REMOVAL is in effect; every initiator then gets
    /// MEDIUM MAY HAVE CHANGED (28/00) on its next command.
    fn change(&self, name: &str, path: Option<&[u8]>) -> Result {
        // The new medium is opened before I/O is suspended: opening may be
        // slow, the swap itself is not.
        let (kind, size) = match path {
            Some(p) => {
                let cpath = CString::try_from_fmt(fmt!("{}", core::str::from_utf8(p)?))?;
                let opts = OpenOptions {
                    read_only: true,
                    ..Default::default()
                };
                let file = KFile::open(&cpath, opts).inspect_err(|err| {
                    pr_warn!(
                        "vcdrom {}: cannot open {}: error {}\n",
                        name,
                        cpath.to_str().unwrap_or("?"),
                        err.to_errno()
                    );
                })?;
                let size = file.size();
                (Kind::File(file), size)
            }
            None => (Kind::Empty, 0),
        };
        // No command reads the old medium once this returns.
        let _suspended = scst_core::suspend_activity()?;
        let list = self.list.lock();
        let e = list
            .iter()
            .find(|e| e.dev.name.to_bytes() == name.as_bytes())
            .ok_or_else(|| {
                pr_warn!("vcdrom: no device {}\n", name);
                EINVAL
            })?;
        if e.dev.disk.removal_prevented() {
            pr_warn!(
                "vcdrom {}: medium removal is prevented by an initiator\n",
                name
            );
            return Err(EBUSY);
        }
        e.dev.disk.media().replace(kind, size)?;
        e.reg
            .raise_ua(scst_core::proto::sense::asc::MEDIUM_MAY_HAVE_CHANGED);
        pr_info!("vcdrom {}: medium changed\n", name);
        Ok(())
    }

    /// Finds a device by name.
    fn find(&self, name: &str) -> Option<Arc<VDev>> {
        self.list
            .lock()
            .iter()
            .find(|e| e.dev.name.to_bytes() == name.as_bytes())
            .map(|e| e.dev.clone())
    }

    /// Removes a device: unmaps it everywhere and closes its backing store.
    fn remove(&self, name: &str) -> Result {
        // Commands through the device end before it goes.
        let _suspended = scst_core::suspend_activity()?;
        let mut list = self.list.lock();
        let i = list
            .iter()
            .position(|e| e.dev.name.to_bytes() == name.as_bytes())
            .ok_or_else(|| {
                pr_warn!(
                    "{}: no device {}\n",
                    self.handler.to_str().unwrap_or("?"),
                    name
                );
                EINVAL
            })?;
        let entry = list.remove(i).map_err(|_| EINVAL)?;
        drop(list);
        drop(entry);
        Ok(())
    }

    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(
            m,
            "{:<17}{:<11}{:<12}{:<15}{}\n",
            "Name",
            "Size(MB)",
            "Block size",
            "Options",
            "File name"
        );
        for e in self.list.lock().iter() {
            let d = &e.dev;
            let opts = d.options();
            seq_print!(
                m,
                "{:<17}{:<11}{:<12}{:<15}{}\n",
                d.name.to_str()?,
                d.size() >> 20,
                d.block_size,
                core::str::from_utf8(&opts).unwrap_or(""),
                d.path.to_str()?
            );
        }
        Ok(())
    }
}

/// `/proc/scsi_tgt/vdisk/vdisk`.
struct VdiskFile(Arc<Devices>);

impl procfs::Handler for VdiskFile {
    fn show(&self, m: &SeqFile) -> Result {
        self.0.show(m)
    }

    fn write(&self, line: &[u8]) -> Result {
        const FILE: &str = "vdisk/vdisk";
        match mgmt::parse_vdisk(line).map_err(|e| parse_error(FILE, line, e))? {
            mgmt::VdiskCmd::Open(o) => {
                if o.block_size > MAX_BLOCK_SIZE {
                    pr_warn!(
                        "{}: block size {} is above {}\n",
                        FILE,
                        o.block_size,
                        MAX_BLOCK_SIZE
                    );
                    return Err(EINVAL);
                }
                if o.flags.blockio && o.flags.nullio {
                    pr_warn!("{}: BLOCKIO does not go with NULLIO\n", FILE);
                    return Err(EINVAL);
                }
                if o.flags.o_direct && (o.flags.blockio || o.flags.nullio) {
                    pr_warn!("{}: O_DIRECT is for FILEIO only\n", FILE);
                    return Err(EINVAL);
                }
                let dev = VDev::open(o.name, o.path, PeripheralType::Disk, o.block_size, o.flags)?;
                if dev.size() < u64::from(o.block_size) {
                    pr_warn!("{}: {} is smaller than one block\n", FILE, o.name);
                    return Err(EINVAL);
                }
                self.0.add(dev)?;
                pr_info!(
                    "vdisk: opened {} ({} bytes)\n",
                    o.name,
                    self.0.find(o.name).map_or(0, |d| d.size())
                );
                Ok(())
            }
            mgmt::VdiskCmd::Close { name } => self.0.remove(name),
            mgmt::VdiskCmd::ResyncSize { name } => {
                let dev = self.0.find(name).ok_or_else(|| {
                    pr_warn!("{}: no device {}\n", FILE, name);
                    EINVAL
                })?;
                let size = dev.resync_size()?;
                pr_info!("vdisk: {} is now {} bytes\n", name, size);
                Ok(())
            }
            mgmt::VdiskCmd::SetT10DevId { .. } => {
                pr_warn!("{}: this command is not supported yet\n", FILE);
                Err(EINVAL)
            }
        }
    }
}

/// `/proc/scsi_tgt/vcdrom/vcdrom`.
struct VcdromFile(Arc<Devices>);

impl procfs::Handler for VcdromFile {
    fn show(&self, m: &SeqFile) -> Result {
        self.0.show(m)
    }

    fn write(&self, line: &[u8]) -> Result {
        const FILE: &str = "vcdrom/vcdrom";
        match mgmt::parse_vcdrom(line).map_err(|e| parse_error(FILE, line, e))? {
            mgmt::VcdromCmd::Open { name, path } => self.0.add(VDev::open_cdrom(name, path)?),
            mgmt::VcdromCmd::Close { name } => self.0.remove(name),
            mgmt::VcdromCmd::Change { name, path } => self.0.change(name, path),
        }
    }
}

/// A `help` file with fixed text.
struct Help(&'static str);

impl procfs::Handler for Help {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{}", self.0);
        Ok(())
    }
}

/// One handler: its files, its devices and its registration, dropped in
/// that order (files first, so no command runs while devices go away).
struct HandlerState<H: DevHandler, F: procfs::Handler> {
    file: Option<File<F>>,
    help: Option<File<Help>>,
    devices: Arc<Devices>,
    _reg: Registration<H>,
}

impl<H: DevHandler, F: procfs::Handler> HandlerState<H, F> {
    fn new(handler: H, help: &'static str, file: impl FnOnce(Arc<Devices>) -> F) -> Result<Self> {
        let reg = Registration::new(Arc::new(handler, GFP_KERNEL)?)?;
        let devices = Devices::new(H::NAME, H::TYPE)?;
        let dir = reg.proc_dir();
        Ok(Self {
            file: Some(dir.file(H::NAME, 0o644, Arc::new(file(devices.clone()), GFP_KERNEL)?)?),
            help: Some(dir.file(c"help", 0o444, Arc::new(Help(help), GFP_KERNEL)?)?),
            devices,
            _reg: reg,
        })
    }
}

impl<H: DevHandler, F: procfs::Handler> Drop for HandlerState<H, F> {
    fn drop(&mut self) {
        // Files first (this waits for running writes), then the devices,
        // then (as a field) the handler registration.
        drop(self.file.take());
        drop(self.help.take());
        let list = core::mem::take(&mut *self.devices.list.lock());
        drop(list);
    }
}

struct ScstVdisk {
    _vdisk: HandlerState<Vdisk, VdiskFile>,
    _vcdrom: HandlerState<Vcdrom, VcdromFile>,
}

impl kernel::Module for ScstVdisk {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _vdisk: HandlerState::new(Vdisk, mgmt::VDISK_HELP, VdiskFile)?,
            _vcdrom: HandlerState::new(Vcdrom, mgmt::VCDROM_HELP, VcdromFile)?,
        })
    }
}
