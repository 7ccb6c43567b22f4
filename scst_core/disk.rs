// SPDX-License-Identifier: GPL-2.0

//! SPC/SBC emulation for virtual disks and CD-ROMs.
//!
//! A handler supplies the medium ([`Media`]: read, write, flush at byte
//! offsets) and [`VirtualDisk`] answers every command a virtual block device
//! needs from the pure protocol library: INQUIRY and its VPD pages, READ
//! CAPACITY, MODE SENSE/SELECT, READ/WRITE/VERIFY, SYNCHRONIZE CACHE, WRITE
//! SAME, COMPARE AND WRITE, ORWRITE, START STOP UNIT, PREVENT ALLOW MEDIUM
//! REMOVAL, READ TOC, LOG SENSE and the REPORT SUPPORTED ... commands.
//! vdisk is the first user; scst_user and pass-through handlers use only
//! what they need.

use crate::proto::extent::Mode::{
    Exclusive,
    Shared, //
};
use crate::{
    device::{
        DeviceOps,
        ExecCmd, //
    },
    proto::{
        mode::{
            self,
            ModeParams,
            ModeState, //
        },
        order::QueueAlg,
        sbc::{
            self,
            Geometry,
            Request,
            RwOp, //
        },
        sense::{
            asc,
            Key,
            Sense, //
        },
        spc::{
            self,
            DeviceIdentity,
            MediumState, //
        },
        tm::{
            QErr,
            TmConfig,
            Tst, //
        },
        types::PeripheralType,
        xcopy::{
            self,
            Designator, //
        },
    },
    range_lock::RangeLocks,
};
use kernel::{
    alloc::KVVec,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
};

/// The backing store of a virtual disk, addressed in bytes.
pub trait Media: Send + Sync + 'static {
    /// Reads `buf.len()` bytes at `pos`.
    fn read(&self, buf: &mut [u8], pos: u64) -> Result;
    /// Writes `buf` at `pos`; with `fua`, to stable storage.
    fn write(&self, buf: &[u8], pos: u64, fua: bool) -> Result;
    /// Makes `len` bytes at `pos` (everything if `len` is 0) stable.
    fn flush(&self, pos: u64, len: u64) -> Result;
    /// The current size in bytes (0 when there is no medium).
    fn size(&self) -> u64;

    /// Deallocates `len` bytes at `pos` (thin provisioning); they must read
    /// back as zeroes afterwards.
    fn unmap(&self, pos: u64, len: u64) -> Result {
        let _ = (pos, len);
        Err(EOPNOTSUPP)
    }

    /// The provisioning of the extent that starts at `pos`: whether it is
    /// mapped, and its length in bytes (at least 1 byte, up to the end).
    fn extent(&self, pos: u64) -> Result<(bool, u64)> {
        Ok((true, self.size().saturating_sub(pos)))
    }
}

/// How a virtual disk is set up.
#[derive(Clone, Copy, Debug)]
pub struct DiskConfig {
    /// Peripheral type: disk or CD-ROM.
    pub dev_type: PeripheralType,
    /// Logical block size.
    pub block_size: u32,
    /// Refuse writes (DATA PROTECT) and report WP.
    pub read_only: bool,
    /// Report RMB=1.
    pub removable: bool,
    /// The medium has a non-volatile cache: SYNCHRONIZE CACHE does nothing.
    pub nv_cache: bool,
    /// Writes go to stable storage before completing (no write-back cache).
    pub write_through: bool,
    /// Thin provisioned: UNMAP, WRITE SAME with UNMAP, GET LBA STATUS and
    /// the Logical Block Provisioning VPD page (the medium must implement
    /// [`Media::unmap`] and [`Media::extent`]).
    pub thin: bool,
}

/// A virtual disk or CD-ROM over a [`Media`].
#[pin_data]
pub struct VirtualDisk<M: Media> {
    #[pin]
    media: M,
    cfg: DiskConfig,
    id: KBox<DeviceIdentity>,
    #[pin]
    mode: Mutex<ModeState>,
    /// PREVENT ALLOW MEDIUM REMOVAL count (non-zero: prevented).
    prevent: Atomic<u32>,
    /// The blocks being written: COMPARE AND WRITE and ORWRITE hold theirs
    /// exclusively, so their read-modify-write is atomic.
    #[pin]
    ranges: RangeLocks,
}

fn io_error(e: Error) -> Sense {
    if e == ENOSPC {
        Sense::new(Key::DataProtect, asc::WRITE_PROTECTED)
    } else {
        Sense::new(Key::MediumError, asc::WRITE_ERROR)
    }
}

fn read_error(_e: Error) -> Sense {
    Sense::new(Key::MediumError, asc::UNRECOVERED_READ_ERROR)
}

/// A 64-bit FNV-1a hash, for the NAA designator derived from the name.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Copies `s` into a space-padded ASCII field.
fn ascii<const N: usize>(s: &[u8]) -> spc::Ascii<N> {
    spc::Ascii::new(s)
}

/// A 32-bit FNV-1a hash, for serial numbers derived from names.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl<M: Media> VirtualDisk<M> {
    /// Creates the emulation for a device named `name` (at most 16 bytes:
    /// it becomes the INQUIRY product identification, as in SCST).
    pub fn new(
        name: &str,
        vendor: &str,
        media: impl PinInit<M, Error>,
        cfg: DiskConfig,
    ) -> Result<Arc<Self>> {
        let mut id = KBox::new(DeviceIdentity::new(cfg.dev_type), GFP_KERNEL)?;
        id.vendor = ascii(vendor.as_bytes());
        id.t10_vendor = ascii(vendor.as_bytes());
        id.product = ascii(name.as_bytes());
        id.t10_dev_id = ascii(name.as_bytes());
        let mut serial = [0u8; 8];
        let h = fnv1a(name.as_bytes());
        for (i, d) in serial.iter_mut().enumerate() {
            let nib = (h >> (28 - 4 * i)) & 0xf;
            *d = b"0123456789abcdef"[nib as usize];
        }
        id.unit_serial = ascii(&serial);
        // An NAA designator (locally assigned, from the name): what
        // VMware and copy managers use to tell LUs apart.
        id.naa = Some(spc::NaaId::Local {
            value: fnv1a64(name.as_bytes()),
        });
        id.removable = cfg.removable;
        id.read_only = cfg.read_only;
        id.volatile_cache = !cfg.write_through && !cfg.nv_cache;
        if cfg.dev_type == PeripheralType::Disk {
            id.block_limits.max_compare_write_len = CAW_MAX_BLOCKS;
            // The largest transfer the core accepts, and WRITE SAME no
            // larger: initiators size their commands by these.
            let max = max_xfer_blocks(cfg.block_size);
            id.block_limits.max_xfer_len = max;
            id.block_limits.max_write_same_len = u64::from(max);
            // The core's copy manager serves EXTENDED COPY for disks.
            id.tpc = true;
        }
        if cfg.thin {
            id.thin_provisioned = true;
            id.provisioning = spc::Provisioning {
                lbpu: true,
                lbpws: true,
                lbpws10: true,
                lbprz: true,
                ..Default::default()
            };
            id.block_limits.max_unmap_lba_count = UNMAP_MAX_BLOCKS;
            id.block_limits.max_unmap_descriptors = UNMAP_MAX_DESCRIPTORS;
            id.block_limits.unmap_granularity = 1;
        }
        let mut state = ModeState::SCST_DEFAULT;
        state.wce = !cfg.write_through;
        Arc::pin_init(
            try_pin_init!(Self {
                media <- media,
                cfg,
                id,
                mode <- kernel::new_mutex!(state, "scst::VirtualDisk::mode"),
                prevent: Atomic::new(0),
                ranges <- RangeLocks::new(),
            }),
            GFP_KERNEL,
        )
    }

    /// The medium.
    pub fn media(&self) -> &M {
        &self.media
    }

    /// Whether PREVENT MEDIUM REMOVAL is in effect.
    pub fn removal_prevented(&self) -> bool {
        self.prevent.load(Relaxed) != 0
    }

    fn geometry(&self) -> Geometry {
        let bs = self.cfg.block_size.max(1);
        let mut g = Geometry::new(bs, self.media.size() / u64::from(bs));
        g.limits.max_compare_write_blocks = CAW_MAX_BLOCKS;
        if self.cfg.dev_type == PeripheralType::Disk {
            g.limits.max_transfer_blocks = max_xfer_blocks(bs);
            g.limits.max_write_same_blocks = u64::from(max_xfer_blocks(bs));
        }
        if self.cfg.thin {
            g.thin_provisioned = true;
            g.lbprz = true;
            g.limits.max_unmap_lba_count = UNMAP_MAX_BLOCKS;
            g.limits.max_unmap_descriptors = UNMAP_MAX_DESCRIPTORS;
        }
        g
    }

    /// Deallocates `blocks` blocks from `lba`.
    fn unmap(&self, geo: &Geometry, lba: u64, blocks: u64) -> core::result::Result<(), Sense> {
        let pos = Self::pos(geo, lba)?;
        let len = blocks
            .checked_mul(u64::from(geo.block_size))
            .ok_or_else(Sense::lba_out_of_range)?;
        if len == 0 {
            return Ok(());
        }
        let _held = self.ranges.lock(lba, blocks, Shared);
        self.media.unmap(pos, len).map_err(io_error)
    }

    /// Mode parameters as seen by one initiator (`read_only`: its LUN is
    /// mapped read-only, which MODE SENSE reports as WP).
    fn mode_params(&self, geo: &Geometry, read_only: bool) -> ModeParams {
        let mut p = ModeParams::disk(geo.num_blocks, geo.block_size);
        p.peripheral_type = self.cfg.dev_type;
        p.read_only = self.cfg.read_only || read_only;
        p
    }

    fn medium_state(&self) -> MediumState {
        if self.media.size() == 0 {
            MediumState::NoMedium
        } else {
            MediumState::Ready
        }
    }

    fn pos(geo: &Geometry, lba: u64) -> core::result::Result<u64, Sense> {
        lba.checked_mul(u64::from(geo.block_size))
            .ok_or_else(Sense::lba_out_of_range)
    }

    fn block(&self, cmd: &mut ExecCmd<'_>, geo: &Geometry) -> core::result::Result<usize, Sense> {
        let read_only = cmd.read_only || self.write_protected();
        match sbc::parse(cmd.cdb, geo)? {
            Request::Rw(rw) => {
                let pos = Self::pos(geo, rw.lba)?;
                let len = usize::try_from(rw.data_len).map_err(|_| Sense::lba_out_of_range())?;
                match rw.op {
                    RwOp::Read => {
                        let buf = cmd
                            .data_in
                            .get_mut(..len)
                            .ok_or_else(Sense::lba_out_of_range)?;
                        self.media.read(buf, pos).map_err(read_error)?;
                        Ok(len)
                    }
                    RwOp::Write | RwOp::WriteAndVerify => {
                        // Writing no blocks changes nothing: GOOD even when
                        // write-protected (SBC-3; libiscsi's ZeroBlocks tests).
                        if rw.blocks == 0 {
                            return Ok(0);
                        }
                        if read_only {
                            return Err(Sense::write_protected());
                        }
                        // A transport may have delivered less than the CDB
                        // asks for (an iSCSI expected length below it): what
                        // came is written, nothing more.
                        let data = cmd.data_out.get(..len).unwrap_or(cmd.data_out);
                        let fua = rw.fua || self.cfg.write_through;
                        let _held = self.ranges.lock(rw.lba, u64::from(rw.blocks), Shared);
                        self.media.write(data, pos, fua).map_err(io_error)?;
                        Ok(0)
                    }
                    RwOp::Verify => {
                        if rw.bytchk == 0 {
                            return Ok(0);
                        }
                        let mut have = alloc_buf(len)?;
                        self.media.read(&mut have, pos).map_err(read_error)?;
                        let want = cmd.data_out.get(..len).unwrap_or(&[]);
                        sbc::compare(want, &have)?;
                        Ok(0)
                    }
                    RwOp::OrWrite => {
                        if rw.blocks == 0 {
                            return Ok(0);
                        }
                        if read_only {
                            return Err(Sense::write_protected());
                        }
                        let data = cmd
                            .data_out
                            .get(..len)
                            .ok_or_else(Sense::invalid_field_in_iu)?;
                        // Read, OR, write back: atomic with respect to the
                        // device's other writes (SBC-4 5.15).
                        let _held = self.ranges.lock(rw.lba, u64::from(rw.blocks), Exclusive);
                        let mut have = alloc_buf(len)?;
                        self.media.read(&mut have, pos).map_err(read_error)?;
                        for (h, &d) in have.iter_mut().zip(data) {
                            *h |= d;
                        }
                        let fua = rw.fua || self.cfg.write_through;
                        self.media.write(&have, pos, fua).map_err(io_error)?;
                        Ok(0)
                    }
                }
            }
            Request::SyncCache(s) => {
                if !self.cfg.nv_cache {
                    let pos = Self::pos(geo, s.lba)?;
                    let len = s
                        .blocks
                        .checked_mul(u64::from(geo.block_size))
                        .ok_or_else(Sense::lba_out_of_range)?;
                    self.media.flush(pos, len).map_err(io_error)?;
                }
                Ok(0)
            }
            Request::WriteSame(ws) => {
                if read_only {
                    return Err(Sense::write_protected());
                }
                let bs = geo.block_size as usize;
                let block = if ws.ndob {
                    None
                } else {
                    Some(
                        cmd.data_out
                            .get(..bs)
                            .ok_or_else(Sense::param_list_length_error)?,
                    )
                };
                // UNMAP=1 on a thin LU deallocates whatever the pattern
                // (SBC-4 4.7.3.4.2); the blocks then read as zeroes
                // (LBPRZ), as libiscsi's UnmapUntilEnd checks.
                if ws.unmap && self.cfg.thin {
                    self.unmap(geo, ws.lba, ws.blocks)?;
                    return Ok(0);
                }
                // Write in chunks of up to 64 blocks of the pattern.
                let per = 64usize;
                let mut chunk = alloc_buf(bs * per)?;
                if let Some(b) = block {
                    for c in chunk.chunks_mut(bs) {
                        c.copy_from_slice(b);
                    }
                }
                let _held = self.ranges.lock(ws.lba, ws.blocks, Shared);
                let mut lba = ws.lba;
                let mut left = ws.blocks;
                while left > 0 {
                    if cmd.abort.is_aborted() {
                        pr_info!(
                            "aborted WRITE SAME at LBA {} stopped after {} of {} blocks\n",
                            ws.lba,
                            ws.blocks - left,
                            ws.blocks
                        );
                        return Err(Sense::aborted(asc::NO_ADDITIONAL));
                    }
                    let n = left.min(per as u64);
                    let bytes = n as usize * bs;
                    self.media
                        .write(
                            &chunk[..bytes],
                            Self::pos(geo, lba)?,
                            self.cfg.write_through,
                        )
                        .map_err(io_error)?;
                    lba += n;
                    left -= n;
                }
                Ok(0)
            }
            Request::ReadCapacity10 => Ok(sbc::read_capacity10(geo, cmd.data_in)),
            Request::ReadCapacity16 { .. } => Ok(sbc::read_capacity16(geo, cmd.data_in)),
            Request::StartStop(_) | Request::PreFetch(_) => Ok(0),
            Request::PreventAllow(p) => {
                self.prevent.store(u32::from(p.prevent), Relaxed);
                Ok(0)
            }
            Request::ReadToc(t) => {
                if self.cfg.dev_type != PeripheralType::Cdrom {
                    return Err(Sense::invalid_opcode());
                }
                Ok(sbc::read_toc(&t, geo, cmd.data_in))
            }
            Request::Unmap(_) => {
                if read_only {
                    return Err(Sense::write_protected());
                }
                let list = sbc::parse_unmap_params(cmd.data_out, geo)?;
                for r in list.iter() {
                    self.unmap(geo, r.lba, u64::from(r.blocks))?;
                }
                Ok(0)
            }
            Request::GetLbaStatus(g) => {
                let pos = Self::pos(geo, g.lba)?;
                let (mapped, len) = self.media.extent(pos).map_err(read_error)?;
                let bs = u64::from(geo.block_size);
                // At least one block; never past the end of the LU.
                let blocks = len
                    .div_ceil(bs)
                    .max(1)
                    .min(geo.num_blocks.saturating_sub(g.lba))
                    .min(u64::from(u32::MAX)) as u32;
                let d = sbc::LbaStatus {
                    lba: g.lba,
                    blocks,
                    status: if mapped {
                        sbc::Provisioning::Mapped
                    } else {
                        sbc::Provisioning::Deallocated
                    },
                };
                let mut full = [0u8; 24];
                let n = sbc::get_lba_status(&[d], &mut full).min(full.len());
                let out = cmd.data_in.len().min(n);
                cmd.data_in[..out].copy_from_slice(&full[..out]);
                Ok(out)
            }
            Request::CompareAndWrite(c) => {
                if c.blocks == 0 {
                    return Ok(0);
                }
                if read_only {
                    return Err(Sense::write_protected());
                }
                let pos = Self::pos(geo, c.lba)?;
                let half =
                    usize::try_from(c.data_len / 2).map_err(|_| Sense::lba_out_of_range())?;
                // The verify data, then the data to write; the core passes
                // exactly the CDB's transfer length.
                let (verify, write) = cmd
                    .data_out
                    .split_at_checked(half)
                    .ok_or_else(Sense::invalid_field_in_iu)?;
                let write = write.get(..half).ok_or_else(Sense::invalid_field_in_iu)?;
                // SBC-4 5.3: compare and write are one uninterrupted action
                // for these blocks.
                let _held = self.ranges.lock(c.lba, u64::from(c.blocks), Exclusive);
                let mut have = alloc_buf(half)?;
                self.media.read(&mut have, pos).map_err(read_error)?;
                // MISCOMPARE: INFORMATION is the offset of the first
                // differing byte in the Data-Out buffer (the verify half
                // comes first, so the offsets are the same).
                sbc::compare(verify, &have)?;
                let fua = c.fua || self.cfg.write_through;
                self.media.write(write, pos, fua).map_err(io_error)?;
                Ok(0)
            }
            Request::FormatUnit(_) => Err(Sense::invalid_opcode()),
        }
    }
}

impl<M: Media> DeviceOps for VirtualDisk<M> {
    fn block_size(&self) -> u32 {
        self.cfg.block_size
    }

    fn parse(&self, cdb: &[u8]) -> core::result::Result<(), Sense> {
        // Block commands of a disk: fields and LBA range. Other commands
        // (and CD-ROMs, where NOT READY comes first) are checked in `exec`.
        // WRITE SAME is left to `exec`: on a write-protected LU it is DATA
        // PROTECT whatever its UNMAP bit says (libiscsi ReadOnlySBC).
        if self.cfg.dev_type != PeripheralType::Disk || matches!(cdb.first(), Some(0x41 | 0x93)) {
            return Ok(());
        }
        match sbc::parse(cdb, &self.geometry()) {
            Err(e) if e == Sense::invalid_opcode() => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }

    fn write_protected(&self) -> bool {
        // READ_ONLY devices, and software write protect (SWP in the
        // Control mode page, SPC-4 7.5.7) set by MODE SELECT.
        self.cfg.read_only || self.mode.lock().swp
    }

    fn names(&self, d: &Designator) -> bool {
        let mut page = [0u8; 512];
        let n = spc::write_vpd_device_id(&self.id, &mut page).len;
        xcopy::page83_names(page.get(..n).unwrap_or(&[]), d)
    }

    fn num_blocks(&self) -> u64 {
        self.geometry().num_blocks
    }

    fn queue_alg(&self) -> QueueAlg {
        QueueAlg::from_bits(self.mode.lock().qam).unwrap_or(QueueAlg::Unrestricted)
    }

    fn tm_config(&self) -> TmConfig {
        let m = self.mode.lock();
        TmConfig {
            tst: Tst::from_bits(m.tst).unwrap_or(Tst::PerNexus),
            tas: m.tas,
            qerr: QErr::from_bits(m.qerr).unwrap_or(QErr::Continue),
            aca_supported: false,
        }
    }

    fn exec(&self, cmd: &mut ExecCmd<'_>) -> core::result::Result<usize, Sense> {
        let opcode = cmd.cdb.first().copied().unwrap_or(0);
        match opcode {
            spc::INQUIRY => return Ok(spc::inquiry(cmd.cdb, &self.id, cmd.data_in)?.len),
            0x4d => return Ok(spc::log_sense(cmd.cdb, cmd.data_in)?.len),
            0xa3 => {
                let sa = cmd.cdb.get(1).map_or(0, |b| b & 0x1f);
                return match sa {
                    0x0c => {
                        let (ops, n) = supported_ops(self.cfg.dev_type);
                        Ok(spc::report_supported_opcodes(cmd.cdb, &ops[..n], cmd.data_in)?.len)
                    }
                    0x0d => Ok(spc::report_supported_tmfs(
                        cmd.cdb,
                        &spc::TmfSupport::SCST,
                        cmd.data_in,
                    )?
                    .len),
                    _ => Err(Sense::invalid_field_in_cdb(1, Some(4))),
                };
            }
            _ => {}
        }
        let geo = self.geometry();
        match opcode {
            0x00 => {
                spc::test_unit_ready(self.medium_state())?;
                Ok(0)
            }
            0x1a | 0x5a => {
                let state = *self.mode.lock();
                Ok(mode::mode_sense(
                    cmd.cdb,
                    &self.mode_params(&geo, cmd.read_only),
                    &state,
                    cmd.data_in,
                )?
                .len)
            }
            0x15 | 0x55 => {
                let mut state = self.mode.lock();
                let changes = mode::mode_select(
                    cmd.cdb,
                    cmd.data_out,
                    &self.mode_params(&geo, cmd.read_only),
                    &mut state,
                )?;
                // SPC-4 7.5: the other I_T nexuses learn of the change.
                if changes.any() {
                    cmd.ua_for_others = Some(asc::MODE_PARAMETERS_CHANGED);
                }
                Ok(0)
            }
            _ => {
                if self.cfg.dev_type == PeripheralType::Cdrom {
                    spc::test_unit_ready(self.medium_state())?;
                }
                self.block(cmd, &geo)
            }
        }
    }
}

/// MAXIMUM TRANSFER LENGTH in blocks of size `bs`: the core's largest
/// transfer.
fn max_xfer_blocks(bs: u32) -> u32 {
    u32::try_from(crate::session::MAX_XFER / bs.max(1) as usize).unwrap_or(u32::MAX)
}

/// MAXIMUM COMPARE AND WRITE LENGTH of disks (the largest the CDB allows).
const CAW_MAX_BLOCKS: u8 = 255;

/// A zeroed buffer for a read-modify-write; no memory is ABORTED COMMAND /
/// INSUFFICIENT RESOURCES, which the initiator may retry.
fn alloc_buf(len: usize) -> core::result::Result<KVVec<u8>, Sense> {
    KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| Sense::insufficient_resources())
}

/// MAXIMUM UNMAP LBA COUNT of thin LUs (one UNMAP deallocates at most this).
const UNMAP_MAX_BLOCKS: u32 = 0x10_0000;

/// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT of thin LUs.
const UNMAP_MAX_DESCRIPTORS: u32 = 256;

/// The commands a virtual disk or CD-ROM implements, for REPORT SUPPORTED
/// OPERATION CODES: (opcode, service action, CDB length).
const DISK_OPS: &[(u8, Option<u16>, u16)] = &[
    (0x00, None, 6),
    (0x03, None, 6),
    (0x08, None, 6),
    (0x0a, None, 6),
    (0x12, None, 6),
    (0x15, None, 6),
    (0x16, None, 6),
    (0x17, None, 6),
    (0x1a, None, 6),
    (0x1b, None, 6),
    (0x1e, None, 6),
    (0x25, None, 10),
    (0x28, None, 10),
    (0x2a, None, 10),
    (0x2e, None, 10),
    (0x2f, None, 10),
    (0x34, None, 10),
    (0x35, None, 10),
    (0x41, None, 10),
    (0x42, None, 10),
    (0x4d, None, 10),
    (0x55, None, 10),
    (0x56, None, 10),
    (0x57, None, 10),
    (0x5a, None, 10),
    (0x83, Some(0x00), 16),
    (0x84, Some(0x00), 16),
    (0x84, Some(0x03), 16),
    (0x88, None, 16),
    (0x89, None, 16),
    (0x8a, None, 16),
    (0x8b, None, 16),
    (0x8e, None, 16),
    (0x8f, None, 16),
    (0x90, None, 16),
    (0x91, None, 16),
    (0x93, None, 16),
    (0x9e, Some(0x10), 16),
    (0x9e, Some(0x12), 16),
    (0xa0, None, 12),
    (0xa3, Some(0x0c), 12),
    (0xa3, Some(0x0d), 12),
    (0xa8, None, 12),
    (0xaa, None, 12),
    (0xae, None, 12),
    (0xaf, None, 12),
];

/// CDB usage masks: every bit of every byte but the reserved CONTROL bits.
const USAGE: [u8; 16] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

fn supported_ops(t: PeripheralType) -> ([spc::OpcodeInfo<'static>; DISK_OPS.len()], usize) {
    let empty = spc::OpcodeInfo {
        opcode: 0,
        service_action: None,
        cdb_len: 0,
        usage: &[],
        nominal_timeout: 0,
        recommended_timeout: 0,
    };
    let mut out = [empty; DISK_OPS.len()];
    let mut n = 0;
    for &(op, sa, len) in DISK_OPS {
        // CD-ROMs are read-only: no writes.
        if t == PeripheralType::Cdrom
            && matches!(
                op,
                0x0a | 0x2a
                    | 0x2e
                    | 0x41
                    | 0x83
                    | 0x84
                    | 0x89
                    | 0x8a
                    | 0x8b
                    | 0x8e
                    | 0x93
                    | 0xaa
                    | 0xae
            )
        {
            continue;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = spc::OpcodeInfo {
                opcode: op,
                service_action: sa,
                cdb_len: len,
                usage: USAGE.get(..usize::from(len)).unwrap_or(&USAGE),
                nominal_timeout: 0,
                recommended_timeout: 0,
            };
            n += 1;
        }
    }
    (out, n)
}
