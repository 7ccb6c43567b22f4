// SPDX-License-Identifier: GPL-2.0

//! SBC-3 command parsing, range checks and response builders.
//!
//! [`parse`] turns the CDB of a block command into a typed [`Request`] for the
//! device handler, after every check that needs only the CDB and the LU's
//! [`Geometry`]: reserved protection fields (this target formats no protection
//! information), transfer and WRITE SAME limits from the Block Limits VPD page,
//! and the LBA range, including overflow of LBA + length. The handler then only
//! moves data. Parameter lists are checked the same way before anything is
//! done ([`parse_unmap_params`], [`parse_format_params`]), so a bad list never
//! leaves a command half executed.
//!
//! The CDB is expected to have passed [`super::cdb::decode`] (opcode, length,
//! CONTROL byte); parsing never panics on any input regardless, because short
//! CDBs read as zeros.
//!
//! Response builders ([`read_capacity10`], [`read_capacity16`],
//! [`get_lba_status`], [`read_toc`]) write into a caller buffer, truncating
//! to it (size it to the allocation length), and return the full length.

use super::{
    bytes::{get_u16, get_u24, get_u32, get_u64, get_u8, put_u16, put_u32, put_u64, put_u8},
    sense::Sense,
};

/// Block Limits VPD values (SBC-3 6.5.3) that bound what a command may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockLimits {
    /// MAXIMUM TRANSFER LENGTH in blocks; 0: no limit.
    pub max_transfer_blocks: u32,
    /// MAXIMUM COMPARE AND WRITE LENGTH in blocks; 0: COMPARE AND WRITE of
    /// any block is refused.
    pub max_compare_write_blocks: u8,
    /// MAXIMUM WRITE SAME LENGTH in blocks; 0: no limit.
    pub max_write_same_blocks: u64,
    /// MAXIMUM UNMAP LBA COUNT (all descriptors together); `u32::MAX`: no
    /// limit.
    pub max_unmap_lba_count: u32,
    /// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT; `u32::MAX`: no limit.
    pub max_unmap_descriptors: u32,
    /// WSNZ: a WRITE SAME of zero blocks (meaning "to the last LBA") is
    /// refused.
    pub wsnz: bool,
}

impl Default for BlockLimits {
    /// No transfer limits, COMPARE AND WRITE up to 255 blocks, unlimited
    /// UNMAP, WRITE SAME of zero blocks allowed.
    fn default() -> Self {
        Self {
            max_transfer_blocks: 0,
            max_compare_write_blocks: 255,
            max_write_same_blocks: 0,
            max_unmap_lba_count: u32::MAX,
            max_unmap_descriptors: u32::MAX,
            wsnz: false,
        }
    }
}

/// What a block LU looks like to the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Logical block size in bytes.
    pub block_size: u32,
    /// Capacity in logical blocks.
    pub num_blocks: u64,
    /// LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (0..=15).
    pub lb_per_pb_exp: u8,
    /// LOWEST ALIGNED LOGICAL BLOCK ADDRESS (14 bits).
    pub lowest_aligned_lba: u16,
    /// Thin provisioned: LBPME set, UNMAP and WRITE SAME with UNMAP allowed.
    pub thin_provisioned: bool,
    /// LBPRZ: unmapped blocks read as zeros (reported only when thin).
    pub lbprz: bool,
    /// Limits reported in the Block Limits VPD page.
    pub limits: BlockLimits,
}

impl Geometry {
    /// A fully provisioned LU with default limits.
    pub fn new(block_size: u32, num_blocks: u64) -> Self {
        Self {
            block_size,
            num_blocks,
            lb_per_pb_exp: 0,
            lowest_aligned_lba: 0,
            thin_provisioned: false,
            lbprz: false,
            limits: BlockLimits::default(),
        }
    }

    /// The last LBA (0 for an empty LU, as READ CAPACITY reports it).
    pub fn last_lba(&self) -> u64 {
        self.num_blocks.saturating_sub(1)
    }

    /// Checks that `blocks` blocks from `lba` lie inside the LU: LOGICAL
    /// BLOCK ADDRESS OUT OF RANGE otherwise, also when `lba + blocks`
    /// overflows (SBC-3 4.5). A zero-length range may start at the capacity
    /// but not beyond it.
    pub fn check_range(&self, lba: u64, blocks: u64) -> Result<(), Sense> {
        match lba.checked_add(blocks) {
            Some(end) if end <= self.num_blocks => Ok(()),
            _ => Err(Sense::lba_out_of_range()),
        }
    }

    /// `blocks * block_size`, checked.
    pub fn bytes(&self, blocks: u64) -> Result<u64, Sense> {
        blocks
            .checked_mul(u64::from(self.block_size))
            .ok_or(Sense::invalid_field_in_cdb(0, None))
    }

    /// The number of blocks from `lba` to the end of the LU, for "zero means
    /// to the last LBA" fields; LBA OUT OF RANGE if `lba` is beyond the
    /// capacity.
    fn blocks_from(&self, lba: u64) -> Result<u64, Sense> {
        self.num_blocks
            .checked_sub(lba)
            .ok_or(Sense::lba_out_of_range())
    }
}

/// The kind of a read/write-class command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RwOp {
    /// READ(6/10/12/16).
    Read,
    /// WRITE(6/10/12/16).
    Write,
    /// VERIFY(10/12/16).
    Verify,
    /// WRITE AND VERIFY(10/12/16).
    WriteAndVerify,
    /// ORWRITE(16).
    OrWrite,
}

/// A READ, WRITE, VERIFY, WRITE AND VERIFY or ORWRITE request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rw {
    /// The command kind.
    pub op: RwOp,
    /// First LBA.
    pub lba: u64,
    /// Number of blocks (6-byte CDBs: 0 already turned into 256).
    pub blocks: u32,
    /// FUA: write to / read from the medium, not the cache.
    pub fua: bool,
    /// DPO: do not keep the blocks in the cache.
    pub dpo: bool,
    /// BYTCHK: VERIFY 0 (medium only), 1 (compare the data), 3 (compare one
    /// block with each block); WRITE AND VERIFY 0 or 1.
    pub bytchk: u8,
    /// GROUP NUMBER.
    pub group: u8,
    /// Bytes of Data-In (READ) or Data-Out (the others).
    pub data_len: u64,
}

/// WRITE SAME(10/16) (SBC-3 5.41, 5.42).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteSame {
    /// First LBA.
    pub lba: u64,
    /// Number of blocks, zero ("to the last LBA") already resolved.
    pub blocks: u64,
    /// UNMAP: deallocate the blocks if possible.
    pub unmap: bool,
    /// NDOB: no Data-Out; the blocks become zeros.
    pub ndob: bool,
    /// Data-Out length: one block, or 0 with NDOB.
    pub data_len: u64,
}

/// UNMAP CDB (SBC-3 5.28).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unmap {
    /// PARAMETER LIST LENGTH.
    pub param_len: u16,
}

/// SYNCHRONIZE CACHE(10/16) (SBC-3 5.22, 5.23).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncCache {
    /// First LBA.
    pub lba: u64,
    /// Number of blocks, zero ("to the last LBA") already resolved.
    pub blocks: u64,
    /// IMMED: report GOOD before the cache is flushed.
    pub immed: bool,
}

/// PRE-FETCH(10/16) (SBC-3 5.9, 5.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreFetch {
    /// First LBA.
    pub lba: u64,
    /// Number of blocks, zero ("to the last LBA") already resolved.
    pub blocks: u64,
    /// IMMED: report status once the CDB is validated.
    pub immed: bool,
}

/// COMPARE AND WRITE (SBC-3 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompareAndWrite {
    /// First LBA.
    pub lba: u64,
    /// NUMBER OF LOGICAL BLOCKS (0: nothing to do).
    pub blocks: u8,
    /// FUA.
    pub fua: bool,
    /// DPO.
    pub dpo: bool,
    /// Data-Out length: the verify data then the write data, 2 x blocks.
    pub data_len: u64,
}

/// GET LBA STATUS (SBC-3 5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetLbaStatus {
    /// STARTING LOGICAL BLOCK ADDRESS.
    pub lba: u64,
    /// ALLOCATION LENGTH.
    pub alloc_len: u32,
}

/// FORMAT UNIT CDB (SBC-3 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatUnit {
    /// FMTDATA: a parameter list follows.
    pub fmtdata: bool,
    /// LONGLIST: the parameter list header is 8 bytes, not 4.
    pub longlist: bool,
}

/// Checked FORMAT UNIT parameter list header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormatParams {
    /// IMMED: report status before the format completes.
    pub immed: bool,
}

/// START STOP UNIT (SBC-3 5.25, MMC-5 6.39).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartStop {
    /// IMMED.
    pub immed: bool,
    /// POWER CONDITION (0: process START and LOEJ).
    pub power_condition: u8,
    /// POWER CONDITION MODIFIER.
    pub modifier: u8,
    /// NO_FLUSH.
    pub no_flush: bool,
    /// LOEJ: load or eject the medium.
    pub loej: bool,
    /// START.
    pub start: bool,
}

/// What a START STOP UNIT asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartStopAction {
    /// Make the LU ready.
    Start,
    /// Stop the LU.
    Stop,
    /// Load the medium and start.
    Load,
    /// Stop and eject the medium.
    Eject,
    /// Enter a power condition; START and LOEJ are ignored.
    Power(u8),
}

impl StartStop {
    /// The requested action (SBC-3 table 76: a non-zero POWER CONDITION
    /// overrides START and LOEJ).
    pub fn action(&self) -> StartStopAction {
        match (self.power_condition, self.loej, self.start) {
            (0, false, true) => StartStopAction::Start,
            (0, false, false) => StartStopAction::Stop,
            (0, true, true) => StartStopAction::Load,
            (0, true, false) => StartStopAction::Eject,
            (pc, _, _) => StartStopAction::Power(pc),
        }
    }
}

/// PREVENT ALLOW MEDIUM REMOVAL (SBC-3 5.8, MMC-5 6.28).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreventAllow {
    /// Prevent removal (PREVENT bit 0).
    pub prevent: bool,
    /// MMC persistent prevent (PREVENT bit 1).
    pub persistent: bool,
}

/// READ TOC/PMA/ATIP formats supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TocFormat {
    /// Format 0000b: the formatted TOC.
    Toc,
    /// Format 0001b: multi-session information.
    SessionInfo,
}

/// READ TOC/PMA/ATIP (MMC-5 6.33).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadToc {
    /// MSF: addresses as minute/second/frame, not LBA.
    pub msf: bool,
    /// The response format.
    pub format: TocFormat,
    /// TRACK/SESSION NUMBER: the first track to report.
    pub track: u8,
    /// ALLOCATION LENGTH.
    pub alloc_len: u16,
}

/// A parsed block command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// READ, WRITE, VERIFY, WRITE AND VERIFY, ORWRITE.
    Rw(Rw),
    /// WRITE SAME(10/16).
    WriteSame(WriteSame),
    /// UNMAP (the parameter list is checked by [`parse_unmap_params`]).
    Unmap(Unmap),
    /// SYNCHRONIZE CACHE(10/16).
    SyncCache(SyncCache),
    /// PRE-FETCH(10/16).
    PreFetch(PreFetch),
    /// COMPARE AND WRITE.
    CompareAndWrite(CompareAndWrite),
    /// READ CAPACITY(10): answer with [`read_capacity10`].
    ReadCapacity10,
    /// READ CAPACITY(16): answer with [`read_capacity16`].
    ReadCapacity16 {
        /// ALLOCATION LENGTH.
        alloc_len: u32,
    },
    /// GET LBA STATUS: answer with [`get_lba_status`].
    GetLbaStatus(GetLbaStatus),
    /// FORMAT UNIT (the parameter list is checked by [`parse_format_params`]).
    FormatUnit(FormatUnit),
    /// START STOP UNIT.
    StartStop(StartStop),
    /// PREVENT ALLOW MEDIUM REMOVAL.
    PreventAllow(PreventAllow),
    /// READ TOC/PMA/ATIP (CD/DVD LUs): answer with [`read_toc`].
    ReadToc(ReadToc),
}

/// Parses a block command for an LU of the given geometry.
///
/// Opcodes that are not block commands handled here give INVALID COMMAND
/// OPERATION CODE. The 32-byte READ/WRITE/VERIFY/WRITE SAME variants exist
/// only for type 2 protection (SBC-3 5.16 and others), which is not
/// supported, so they give INVALID COMMAND OPERATION CODE too; so do UNMAP
/// and WRITE SAME with UNMAP on a fully provisioned LU (LBPU/LBPWS clear).
pub fn parse(cdb: &[u8], geo: &Geometry) -> Result<Request, Sense> {
    let opcode = get_u8(cdb, 0);
    Ok(match opcode {
        0x08 | 0x0a | 0x28 | 0x2a | 0x2e | 0x2f | 0x88 | 0x8a | 0x8b | 0x8e | 0x8f | 0xa8
        | 0xaa | 0xae | 0xaf => Request::Rw(parse_rw(cdb, geo)?),
        0x41 | 0x93 => Request::WriteSame(parse_write_same(cdb, geo)?),
        0x42 => Request::Unmap(parse_unmap(cdb, geo)?),
        0x35 | 0x91 => Request::SyncCache(parse_sync_cache(cdb, geo)?),
        0x34 | 0x90 => Request::PreFetch(parse_pre_fetch(cdb, geo)?),
        0x89 => Request::CompareAndWrite(parse_compare_and_write(cdb, geo)?),
        0x25 => {
            check_pmi(cdb, 8, 2, get_u32(cdb, 2) != 0)?;
            Request::ReadCapacity10
        }
        0x9e => match get_u8(cdb, 1) & 0x1f {
            0x10 => {
                check_pmi(cdb, 14, 2, get_u64(cdb, 2) != 0)?;
                Request::ReadCapacity16 {
                    alloc_len: get_u32(cdb, 10),
                }
            }
            0x12 => Request::GetLbaStatus(parse_get_lba_status(cdb, geo)?),
            _ => return Err(Sense::invalid_field_in_cdb(1, Some(4))),
        },
        0x04 => Request::FormatUnit(parse_format_unit(cdb)?),
        0x1b => Request::StartStop(parse_start_stop(cdb)?),
        0x1e => Request::PreventAllow(PreventAllow {
            prevent: get_u8(cdb, 4) & 0x01 != 0,
            persistent: get_u8(cdb, 4) & 0x02 != 0,
        }),
        0x43 => Request::ReadToc(parse_read_toc(cdb)?),
        _ => return Err(Sense::invalid_opcode()),
    })
}

/// Rejects a non-zero RDPROTECT/WRPROTECT/VRPROTECT/ORPROTECT (bits 7..5 of
/// byte 1): the LU is not formatted with protection information (SBC-3
/// 4.22, e.g. table 98).
fn check_no_protect(cdb: &[u8]) -> Result<(), Sense> {
    if get_u8(cdb, 1) & 0xe0 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(7)));
    }
    Ok(())
}

/// READ CAPACITY: with PMI clear the LBA field must be zero (SBC-3 5.15,
/// 5.16).
fn check_pmi(cdb: &[u8], pmi_byte: usize, lba_byte: u16, lba_set: bool) -> Result<(), Sense> {
    if get_u8(cdb, pmi_byte) & 0x01 == 0 && lba_set {
        return Err(Sense::invalid_field_in_cdb(lba_byte, None));
    }
    Ok(())
}

/// Parses READ/WRITE/VERIFY/WRITE AND VERIFY (6/10/12/16) and ORWRITE(16).
pub fn parse_rw(cdb: &[u8], geo: &Geometry) -> Result<Rw, Sense> {
    let opcode = get_u8(cdb, 0);
    let b1 = get_u8(cdb, 1);
    let op = match opcode {
        0x08 | 0x28 | 0xa8 | 0x88 => RwOp::Read,
        0x0a | 0x2a | 0xaa | 0x8a => RwOp::Write,
        0x2f | 0xaf | 0x8f => RwOp::Verify,
        0x2e | 0xae | 0x8e => RwOp::WriteAndVerify,
        0x8b => RwOp::OrWrite,
        _ => return Err(Sense::invalid_opcode()),
    };
    // (LBA, blocks, offset of the length field, group number).
    let (lba, blocks, len_at, group) = match opcode >> 5 {
        0 => {
            let n = match get_u8(cdb, 4) {
                0 => 256,
                n => u32::from(n),
            };
            (u64::from(get_u24(cdb, 1) & 0x1f_ffff), n, 4u16, 0)
        }
        1 => (
            u64::from(get_u32(cdb, 2)),
            u32::from(get_u16(cdb, 7)),
            7,
            get_u8(cdb, 6) & 0x1f,
        ),
        5 => (
            u64::from(get_u32(cdb, 2)),
            get_u32(cdb, 6),
            6,
            get_u8(cdb, 10) & 0x1f,
        ),
        _ => (
            get_u64(cdb, 2),
            get_u32(cdb, 10),
            10,
            get_u8(cdb, 14) & 0x1f,
        ),
    };
    let six = opcode >> 5 == 0;
    if !six {
        check_no_protect(cdb)?;
    }
    let bytchk = match op {
        RwOp::Verify => match (b1 >> 1) & 0x03 {
            // BYTCHK 10b is reserved (SBC-3 table 93).
            2 => return Err(Sense::invalid_field_in_cdb(1, Some(2))),
            v => v,
        },
        RwOp::WriteAndVerify => (b1 >> 1) & 0x01,
        _ => 0,
    };
    // FUA exists in READ/WRITE(10+) and ORWRITE; bit 3 is reserved elsewhere.
    let fua = !six && matches!(op, RwOp::Read | RwOp::Write | RwOp::OrWrite) && b1 & 0x08 != 0;
    let dpo = !six && b1 & 0x10 != 0;
    let max = geo.limits.max_transfer_blocks;
    if max != 0 && blocks > max {
        return Err(Sense::invalid_field_in_cdb(len_at, None));
    }
    geo.check_range(lba, u64::from(blocks))?;
    let data_blocks = match (op, bytchk) {
        (RwOp::Verify, 0) => 0,
        (RwOp::Verify, 3) if blocks > 0 => 1,
        (RwOp::Verify, 3) => 0,
        _ => u64::from(blocks),
    };
    Ok(Rw {
        op,
        lba,
        blocks,
        fua,
        dpo,
        bytchk,
        group,
        data_len: geo.bytes(data_blocks)?,
    })
}

/// Parses WRITE SAME(10) and WRITE SAME(16).
pub fn parse_write_same(cdb: &[u8], geo: &Geometry) -> Result<WriteSame, Sense> {
    let sixteen = get_u8(cdb, 0) == 0x93;
    let b1 = get_u8(cdb, 1);
    check_no_protect(cdb)?;
    // ANCHOR needs ANC_SUP, which is not reported (SBC-3 5.42).
    if b1 & 0x10 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    let unmap = b1 & 0x08 != 0;
    if unmap && !geo.thin_provisioned {
        return Err(Sense::invalid_field_in_cdb(1, Some(3)));
    }
    let ndob = sixteen && b1 & 0x01 != 0;
    let (lba, n, len_at) = if sixteen {
        (get_u64(cdb, 2), u64::from(get_u32(cdb, 10)), 10)
    } else {
        (u64::from(get_u32(cdb, 2)), u64::from(get_u16(cdb, 7)), 7)
    };
    let blocks = if n == 0 {
        if geo.limits.wsnz {
            return Err(Sense::invalid_field_in_cdb(len_at, None));
        }
        geo.blocks_from(lba)?
    } else {
        n
    };
    let max = geo.limits.max_write_same_blocks;
    if max != 0 && blocks > max {
        return Err(Sense::invalid_field_in_cdb(len_at, None));
    }
    geo.check_range(lba, blocks)?;
    Ok(WriteSame {
        lba,
        blocks,
        unmap,
        ndob,
        data_len: if ndob { 0 } else { geo.bytes(1)? },
    })
}

/// Parses the UNMAP CDB.
pub fn parse_unmap(cdb: &[u8], geo: &Geometry) -> Result<Unmap, Sense> {
    if !geo.thin_provisioned {
        return Err(Sense::invalid_opcode());
    }
    if get_u8(cdb, 1) & 0x01 != 0 {
        // ANCHOR without ANC_SUP.
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    Ok(Unmap {
        param_len: get_u16(cdb, 7),
    })
}

/// One UNMAP block descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmapRange {
    /// First LBA.
    pub lba: u64,
    /// Number of blocks (may be 0: nothing to do).
    pub blocks: u32,
}

/// A checked UNMAP parameter list: every range lies inside the LU and the
/// limits hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmapList<'a> {
    descriptors: &'a [u8],
}

impl<'a> UnmapList<'a> {
    /// Number of descriptors.
    pub fn len(&self) -> usize {
        self.descriptors.len() / UNMAP_DESCRIPTOR_LEN
    }

    /// Whether there are no descriptors.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of blocks to unmap.
    pub fn total_blocks(&self) -> u64 {
        self.iter()
            .fold(0u64, |t, r| t.saturating_add(u64::from(r.blocks)))
    }

    /// The descriptors, in list order.
    pub fn iter(&self) -> impl Iterator<Item = UnmapRange> + 'a {
        self.descriptors
            .chunks_exact(UNMAP_DESCRIPTOR_LEN)
            .map(|d| UnmapRange {
                lba: get_u64(d, 0),
                blocks: get_u32(d, 8),
            })
    }
}

/// Size of an UNMAP block descriptor.
const UNMAP_DESCRIPTOR_LEN: usize = 16;
/// Size of the UNMAP parameter list header.
const UNMAP_HEADER_LEN: usize = 8;

/// Field pointer value for a parameter list offset (lists are < 64 KiB).
fn param_ptr(off: usize) -> u16 {
    u16::try_from(off).unwrap_or(u16::MAX)
}

/// Checks an UNMAP parameter list (SBC-3 5.28.2): `data` is what arrived,
/// at most the PARAMETER LIST LENGTH.
///
/// - empty: nothing to do (GOOD);
/// - 1 to 7 bytes: PARAMETER LIST LENGTH ERROR;
/// - UNMAP DATA LENGTH must cover the descriptors announced by UNMAP BLOCK
///   DESCRIPTOR DATA LENGTH (INVALID FIELD IN PARAMETER LIST at byte 0);
/// - descriptors are taken from the announced length, limited to the bytes
///   received; a trailing partial descriptor is ignored (SBC-3);
/// - more descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT, or more
///   blocks in total than MAXIMUM UNMAP LBA COUNT: INVALID FIELD IN
///   PARAMETER LIST (at byte 2, or at the descriptor's block count);
/// - a range beyond the capacity: LOGICAL BLOCK ADDRESS OUT OF RANGE.
pub fn parse_unmap_params<'a>(data: &'a [u8], geo: &Geometry) -> Result<UnmapList<'a>, Sense> {
    if data.is_empty() {
        return Ok(UnmapList { descriptors: &[] });
    }
    if data.len() < UNMAP_HEADER_LEN {
        return Err(Sense::param_list_length_error());
    }
    let data_len = usize::from(get_u16(data, 0));
    let bd_len = usize::from(get_u16(data, 2));
    if data_len < bd_len + 6 {
        return Err(Sense::invalid_field_in_param(0, None));
    }
    let avail = bd_len.min(data.len() - UNMAP_HEADER_LEN);
    let n = avail / UNMAP_DESCRIPTOR_LEN;
    let end = UNMAP_HEADER_LEN + n * UNMAP_DESCRIPTOR_LEN;
    let descriptors = data.get(UNMAP_HEADER_LEN..end).unwrap_or(&[]);
    if u32::try_from(n).map_or(true, |n| n > geo.limits.max_unmap_descriptors) {
        return Err(Sense::invalid_field_in_param(2, None));
    }
    let list = UnmapList { descriptors };
    let max_lbas = geo.limits.max_unmap_lba_count;
    let mut total = 0u64;
    for (i, r) in list.iter().enumerate() {
        total = total.saturating_add(u64::from(r.blocks));
        if max_lbas != u32::MAX && total > u64::from(max_lbas) {
            let at = UNMAP_HEADER_LEN + i * UNMAP_DESCRIPTOR_LEN + 8;
            return Err(Sense::invalid_field_in_param(param_ptr(at), None));
        }
        geo.check_range(r.lba, u64::from(r.blocks))?;
    }
    Ok(list)
}

/// Builds an UNMAP parameter list of `ranges` into `buf`; returns its full
/// length (for initiator-side tools and tests).
pub fn build_unmap_params(ranges: &[UnmapRange], buf: &mut [u8]) -> usize {
    let bd = ranges.len().saturating_mul(UNMAP_DESCRIPTOR_LEN);
    let total = bd.saturating_add(UNMAP_HEADER_LEN);
    put_u16(buf, 0, u16::try_from(total - 2).unwrap_or(u16::MAX));
    put_u16(buf, 2, u16::try_from(bd).unwrap_or(u16::MAX));
    put_u32(buf, 4, 0);
    for (i, r) in ranges.iter().enumerate() {
        let at = UNMAP_HEADER_LEN + i * UNMAP_DESCRIPTOR_LEN;
        put_u64(buf, at, r.lba);
        put_u32(buf, at + 8, r.blocks);
        put_u32(buf, at + 12, 0);
    }
    total
}

/// Parses SYNCHRONIZE CACHE(10/16).
pub fn parse_sync_cache(cdb: &[u8], geo: &Geometry) -> Result<SyncCache, Sense> {
    let (lba, blocks) = lba_and_len(cdb, geo)?;
    Ok(SyncCache {
        lba,
        blocks,
        immed: get_u8(cdb, 1) & 0x02 != 0,
    })
}

/// Parses PRE-FETCH(10/16).
pub fn parse_pre_fetch(cdb: &[u8], geo: &Geometry) -> Result<PreFetch, Sense> {
    let (lba, blocks) = lba_and_len(cdb, geo)?;
    Ok(PreFetch {
        lba,
        blocks,
        immed: get_u8(cdb, 1) & 0x02 != 0,
    })
}

/// LBA and block count of a 10- or 16-byte cache command, where a count of
/// zero means "to the last LBA"; range checked.
fn lba_and_len(cdb: &[u8], geo: &Geometry) -> Result<(u64, u64), Sense> {
    let (lba, n) = if get_u8(cdb, 0) >> 5 == 4 {
        (get_u64(cdb, 2), u64::from(get_u32(cdb, 10)))
    } else {
        (u64::from(get_u32(cdb, 2)), u64::from(get_u16(cdb, 7)))
    };
    let blocks = if n == 0 { geo.blocks_from(lba)? } else { n };
    geo.check_range(lba, blocks)?;
    Ok((lba, blocks))
}

/// Parses COMPARE AND WRITE (SBC-3 5.2): NUMBER OF LOGICAL BLOCKS above
/// MAXIMUM COMPARE AND WRITE LENGTH gives INVALID FIELD IN CDB at byte 13.
pub fn parse_compare_and_write(cdb: &[u8], geo: &Geometry) -> Result<CompareAndWrite, Sense> {
    check_no_protect(cdb)?;
    let b1 = get_u8(cdb, 1);
    let lba = get_u64(cdb, 2);
    let blocks = get_u8(cdb, 13);
    if blocks > geo.limits.max_compare_write_blocks {
        return Err(Sense::invalid_field_in_cdb(13, None));
    }
    geo.check_range(lba, u64::from(blocks))?;
    let data_len = geo
        .bytes(u64::from(blocks))?
        .checked_mul(2)
        .ok_or(Sense::invalid_field_in_cdb(13, None))?;
    Ok(CompareAndWrite {
        lba,
        blocks,
        fua: b1 & 0x08 != 0,
        dpo: b1 & 0x10 != 0,
        data_len,
    })
}

/// Parses GET LBA STATUS: the starting LBA must be a valid LBA.
pub fn parse_get_lba_status(cdb: &[u8], geo: &Geometry) -> Result<GetLbaStatus, Sense> {
    let lba = get_u64(cdb, 2);
    if lba >= geo.num_blocks {
        return Err(Sense::lba_out_of_range());
    }
    Ok(GetLbaStatus {
        lba,
        alloc_len: get_u32(cdb, 10),
    })
}

/// Parses FORMAT UNIT. FMTPINFO must be zero (no protection information);
/// with FMTDATA clear, CMPLST and DEFECT LIST FORMAT are not used.
pub fn parse_format_unit(cdb: &[u8]) -> Result<FormatUnit, Sense> {
    let b1 = get_u8(cdb, 1);
    if b1 & 0xc0 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(7)));
    }
    Ok(FormatUnit {
        fmtdata: b1 & 0x10 != 0,
        longlist: b1 & 0x20 != 0,
    })
}

/// Checks a FORMAT UNIT parameter list header (SBC-3 5.3.2): no protection
/// field usage, no initialization pattern, DPRY/DCRT/STPF only with FOV, and
/// an empty defect list. Returns IMMED.
pub fn parse_format_params(data: &[u8], longlist: bool) -> Result<FormatParams, Sense> {
    let hdr = if longlist { 8 } else { 4 };
    if data.len() < hdr {
        return Err(Sense::param_list_length_error());
    }
    if get_u8(data, 0) & 0x07 != 0 {
        return Err(Sense::invalid_field_in_param(0, Some(2)));
    }
    let b1 = get_u8(data, 1);
    let fov = b1 & 0x80 != 0;
    if !fov && b1 & 0x70 != 0 {
        let bit = 7 - (b1 & 0x70).leading_zeros() as u8;
        return Err(Sense::invalid_field_in_param(1, Some(bit)));
    }
    if b1 & 0x08 != 0 {
        return Err(Sense::invalid_field_in_param(1, Some(3)));
    }
    let (dl, at) = if longlist {
        (get_u32(data, 4), 4)
    } else {
        (u32::from(get_u16(data, 2)), 2)
    };
    if dl != 0 {
        return Err(Sense::invalid_field_in_param(at, None));
    }
    Ok(FormatParams {
        immed: b1 & 0x02 != 0,
    })
}

/// Parses START STOP UNIT. Valid POWER CONDITION values: 0 (START_VALID),
/// 1 ACTIVE, 2 IDLE, 3 STANDBY, 7 LU_CONTROL, Ah FORCE_IDLE_0, Bh
/// FORCE_STANDBY_0 (SBC-3 table 76); others give INVALID FIELD IN CDB.
pub fn parse_start_stop(cdb: &[u8]) -> Result<StartStop, Sense> {
    let b4 = get_u8(cdb, 4);
    let pc = b4 >> 4;
    if !matches!(pc, 0x0 | 0x1 | 0x2 | 0x3 | 0x7 | 0xa | 0xb) {
        return Err(Sense::invalid_field_in_cdb(4, Some(7)));
    }
    Ok(StartStop {
        immed: get_u8(cdb, 1) & 0x01 != 0,
        power_condition: pc,
        modifier: get_u8(cdb, 3) & 0x0f,
        no_flush: b4 & 0x04 != 0,
        loej: b4 & 0x02 != 0,
        start: b4 & 0x01 != 0,
    })
}

/// Lead-out track number.
const LEAD_OUT: u8 = 0xaa;

/// Parses READ TOC/PMA/ATIP: formats 0 (TOC) and 1 (session information);
/// the pre-MMC format in CONTROL bits 7..6 is honoured when FORMAT is 0. A
/// starting track other than 0, 1 or AAh (lead-out) does not exist on a
/// single-track disc.
pub fn parse_read_toc(cdb: &[u8]) -> Result<ReadToc, Sense> {
    let mut format = get_u8(cdb, 2) & 0x0f;
    if format == 0 {
        format = get_u8(cdb, 9) >> 6;
    }
    let track = get_u8(cdb, 6);
    let format = match format {
        0 => TocFormat::Toc,
        1 => TocFormat::SessionInfo,
        _ => return Err(Sense::invalid_field_in_cdb(2, Some(3))),
    };
    if format == TocFormat::Toc && track > 1 && track != LEAD_OUT {
        return Err(Sense::invalid_field_in_cdb(6, None));
    }
    Ok(ReadToc {
        msf: get_u8(cdb, 1) & 0x02 != 0,
        format,
        track,
        alloc_len: get_u16(cdb, 7),
    })
}

/// Builds READ CAPACITY(10) data (8 bytes): the last LBA, or FFFFFFFFh when
/// it does not fit (the initiator must use READ CAPACITY(16)), and the block
/// size.
pub fn read_capacity10(geo: &Geometry, buf: &mut [u8]) -> usize {
    let last = u32::try_from(geo.last_lba()).unwrap_or(u32::MAX);
    put_u32(buf, 0, last);
    put_u32(buf, 4, geo.block_size);
    8
}

/// Length of READ CAPACITY(16) data.
pub const READ_CAPACITY16_LEN: usize = 32;

/// Builds READ CAPACITY(16) data (32 bytes, SBC-3 5.16.2): last LBA, block
/// size, no protection, the physical block exponent, LBPME/LBPRZ for thin
/// LUs and the lowest aligned LBA.
pub fn read_capacity16(geo: &Geometry, buf: &mut [u8]) -> usize {
    let mut b = [0u8; READ_CAPACITY16_LEN];
    put_u64(&mut b, 0, geo.last_lba());
    put_u32(&mut b, 8, geo.block_size);
    b[13] = geo.lb_per_pb_exp & 0x0f;
    let mut aligned = geo.lowest_aligned_lba & 0x3fff;
    if geo.thin_provisioned {
        aligned |= 0x8000;
        if geo.lbprz {
            aligned |= 0x4000;
        }
    }
    put_u16(&mut b, 14, aligned);
    copy_out(buf, &b)
}

/// Provisioning status of an LBA extent (SBC-3 table 41).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Provisioning {
    /// Mapped (or unknown).
    Mapped = 0,
    /// Deallocated.
    Deallocated = 1,
    /// Anchored.
    Anchored = 2,
}

/// One LBA status descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbaStatus {
    /// First LBA of the extent.
    pub lba: u64,
    /// Number of blocks in the extent.
    pub blocks: u32,
    /// The extent's provisioning status.
    pub status: Provisioning,
}

impl LbaStatus {
    /// One extent from `lba` to the end of the LU (at most `u32::MAX`
    /// blocks), e.g. "all mapped" on a fully provisioned LU.
    pub fn to_end(geo: &Geometry, lba: u64, status: Provisioning) -> Self {
        let n = geo.num_blocks.saturating_sub(lba);
        Self {
            lba,
            blocks: u32::try_from(n).unwrap_or(u32::MAX),
            status,
        }
    }
}

/// Builds GET LBA STATUS data (SBC-3 5.4.2): an 8-byte header whose
/// PARAMETER DATA LENGTH counts the bytes after it, then 16-byte descriptors.
pub fn get_lba_status(descriptors: &[LbaStatus], buf: &mut [u8]) -> usize {
    let total = descriptors.len().saturating_mul(16).saturating_add(8);
    put_u32(buf, 0, u32::try_from(total - 4).unwrap_or(u32::MAX));
    put_u32(buf, 4, 0);
    for (i, d) in descriptors.iter().enumerate() {
        let at = 8usize.saturating_add(i.saturating_mul(16));
        put_u64(buf, at, d.lba);
        put_u32(buf, at.saturating_add(8), d.blocks);
        put_u8(buf, at.saturating_add(12), d.status as u8);
        put_u8(buf, at.saturating_add(13), 0);
        put_u16(buf, at.saturating_add(14), 0);
    }
    total
}

/// Frames before LBA 0 in MSF addressing (2 seconds, MMC-5 4.2.3.4).
const MSF_OFFSET: u64 = 150;

/// Writes a TOC address: LBA, or 0/M/S/F (minutes saturate at 255).
fn toc_address(buf: &mut [u8], at: usize, lba: u64, msf: bool) {
    if msf {
        let frames = lba.saturating_add(MSF_OFFSET);
        let m = u8::try_from(frames / (60 * 75)).unwrap_or(u8::MAX);
        put_u8(buf, at, 0);
        put_u8(buf, at + 1, m);
        put_u8(buf, at + 2, ((frames / 75) % 60) as u8);
        put_u8(buf, at + 3, (frames % 75) as u8);
    } else {
        put_u32(buf, at, u32::try_from(lba).unwrap_or(u32::MAX));
    }
}

/// ADR 1 (Q sub-channel position) and CONTROL 4 (data track).
const ADR_CONTROL_DATA: u8 = 0x14;

/// Builds READ TOC data for a single-session disc with one data track
/// starting at LBA 0 and the lead-out at the capacity (MMC-5 6.33.3).
pub fn read_toc(req: &ReadToc, geo: &Geometry, buf: &mut [u8]) -> usize {
    let mut b = [0u8; 20];
    let len = match req.format {
        TocFormat::Toc => {
            let mut at = 4;
            if req.track <= 1 {
                b[at + 1] = ADR_CONTROL_DATA;
                b[at + 2] = 1;
                toc_address(&mut b, at + 4, 0, req.msf);
                at += 8;
            }
            b[at + 1] = ADR_CONTROL_DATA;
            b[at + 2] = LEAD_OUT;
            toc_address(&mut b, at + 4, geo.num_blocks, req.msf);
            at + 8
        }
        TocFormat::SessionInfo => {
            b[5] = ADR_CONTROL_DATA;
            b[6] = 1;
            toc_address(&mut b, 8, 0, req.msf);
            12
        }
    };
    put_u16(&mut b, 0, (len - 2) as u16);
    b[2] = 1;
    b[3] = 1;
    copy_out(buf, &b[..len])
}

/// Offset of the first differing byte of `a` and `b`; a length difference
/// counts as a difference at the end of the shorter one.
pub fn first_mismatch(a: &[u8], b: &[u8]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

/// Compares the expected data with what the medium holds: MISCOMPARE
/// DURING VERIFY OPERATION with the offset of the first differing byte in
/// INFORMATION (SBC-3 5.2 COMPARE AND WRITE, 5.33 VERIFY).
pub fn compare(expected: &[u8], actual: &[u8]) -> Result<(), Sense> {
    match first_mismatch(expected, actual) {
        Some(off) => Err(Sense::miscompare(off as u64)),
        None => Ok(()),
    }
}

/// Copies `src` into `dst` as far as it fits and returns `src.len()`.
fn copy_out(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
    src.len()
}

#[cfg(test)]
mod tests {
    use super::super::sense::{asc, Key, Specific};
    use super::*;

    /// 1000 blocks of 512 bytes.
    fn geo() -> Geometry {
        Geometry::new(512, 1000)
    }

    fn thin() -> Geometry {
        Geometry {
            thin_provisioned: true,
            lbprz: true,
            ..geo()
        }
    }

    fn c10(op: u8, b1: u8, lba: u32, len: u16) -> [u8; 10] {
        let mut c = [0u8; 10];
        c[0] = op;
        c[1] = b1;
        c[2..6].copy_from_slice(&lba.to_be_bytes());
        c[7..9].copy_from_slice(&len.to_be_bytes());
        c
    }

    fn c12(op: u8, b1: u8, lba: u32, len: u32) -> [u8; 12] {
        let mut c = [0u8; 12];
        c[0] = op;
        c[1] = b1;
        c[2..6].copy_from_slice(&lba.to_be_bytes());
        c[6..10].copy_from_slice(&len.to_be_bytes());
        c
    }

    fn c16(op: u8, b1: u8, lba: u64, len: u32) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[0] = op;
        c[1] = b1;
        c[2..10].copy_from_slice(&lba.to_be_bytes());
        c[10..14].copy_from_slice(&len.to_be_bytes());
        c
    }

    fn rw(c: &[u8]) -> Rw {
        match parse(c, &geo()).unwrap() {
            Request::Rw(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn err(c: &[u8], g: &Geometry) -> Sense {
        parse(c, g).unwrap_err()
    }

    fn invalid_cdb(s: &Sense, byte: u16, bit: Option<u8>) {
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
        assert_eq!(
            s.specific,
            Some(Specific::FieldPointer {
                in_cdb: true,
                byte,
                bit
            })
        );
    }

    fn invalid_param(s: &Sense, byte: u16, bit: Option<u8>) {
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_PARAM_LIST);
        assert_eq!(
            s.specific,
            Some(Specific::FieldPointer {
                in_cdb: false,
                byte,
                bit
            })
        );
    }

    fn oob(s: &Sense) {
        assert_eq!(*s, Sense::lba_out_of_range());
    }

    // READ / WRITE

    #[test]
    fn read10_basic() {
        let r = rw(&c10(0x28, 0, 10, 4));
        assert_eq!(r.op, RwOp::Read);
        assert_eq!((r.lba, r.blocks, r.data_len), (10, 4, 2048));
        assert!(!r.fua && !r.dpo);
    }

    #[test]
    fn read10_flags() {
        let r = rw(&c10(0x28, 0x18, 0, 1));
        assert!(r.fua && r.dpo);
        // FUA_NV and RARC are accepted and ignored.
        let r = rw(&c10(0x28, 0x06, 0, 1));
        assert!(!r.fua && !r.dpo);
    }

    #[test]
    fn write10_flags_and_group() {
        let mut c = c10(0x2a, 0x08, 5, 1);
        c[6] = 0x3f;
        let r = rw(&c);
        assert_eq!(r.op, RwOp::Write);
        assert!(r.fua);
        assert_eq!(r.group, 0x1f);
    }

    #[test]
    fn read6_and_write6() {
        let r = rw(&[0x08, 0x00, 0x01, 0x00, 0, 0]);
        assert_eq!((r.lba, r.blocks), (256, 256));
        let g = geo();
        oob(&parse(&[0x08, 0x00, 0x03, 0x00, 0, 0], &g).unwrap_err());
        let r = rw(&[0x0a, 0xe0, 0, 1, 2, 0]);
        // Bits 7..5 of byte 1 are reserved in 6-byte CDBs (no WRPROTECT):
        // ignored, not taken as LBA bits.
        assert_eq!((r.op, r.lba, r.blocks), (RwOp::Write, 1, 2));
        assert!(!r.fua);
    }

    #[test]
    fn read12_and_read16() {
        let r = rw(&c12(0xa8, 0, 100, 900));
        assert_eq!((r.lba, r.blocks), (100, 900));
        let mut c = c16(0x88, 0x10, 999, 1);
        c[14] = 7;
        let r = rw(&c);
        assert_eq!((r.lba, r.blocks, r.group, r.dpo), (999, 1, 7, true));
        let r = rw(&c16(0x8a, 0x08, 0, 1000));
        assert_eq!((r.op, r.data_len, r.fua), (RwOp::Write, 512_000, true));
    }

    #[test]
    fn zero_length_is_good_up_to_capacity() {
        let g = geo();
        assert_eq!(rw(&c10(0x28, 0, 0, 0)).data_len, 0);
        assert!(parse(&c10(0x28, 0, 1000, 0), &g).is_ok());
        oob(&err(&c10(0x28, 0, 1001, 0), &g));
        oob(&err(&c10(0x28, 0, 0x8000_0000, 0), &g));
        oob(&err(&c10(0x28, 0, u32::MAX, 0), &g));
    }

    #[test]
    fn range_end_exact_and_beyond() {
        let g = geo();
        assert!(parse(&c10(0x28, 0, 999, 1), &g).is_ok());
        assert!(parse(&c10(0x2a, 0, 0, 1000), &g).is_ok());
        oob(&err(&c10(0x28, 0, 999, 2), &g));
        oob(&err(&c10(0x2a, 0, 1000, 1), &g));
        oob(&err(&c12(0xa8, 0, 1, 1000), &g));
    }

    #[test]
    fn lba_plus_length_overflow() {
        let g = Geometry::new(512, u64::MAX);
        oob(&err(&c16(0x88, 0, u64::MAX, 2), &g));
        oob(&err(&c16(0x8a, 0, u64::MAX - 1, 2), &g));
        assert!(parse(&c16(0x88, 0, u64::MAX - 2, 2), &g).is_ok());
        oob(&err(&c16(0x88, 0, 1 << 63, 1), &geo()));
    }

    #[test]
    fn rdprotect_rejected() {
        let g = geo();
        for b1 in [0x20, 0x40, 0x60, 0x80, 0xe0] {
            invalid_cdb(&err(&c10(0x28, b1, 0, 1), &g), 1, Some(7));
            invalid_cdb(&err(&c12(0xa8, b1, 0, 1), &g), 1, Some(7));
            invalid_cdb(&err(&c16(0x88, b1, 0, 1), &g), 1, Some(7));
        }
    }

    #[test]
    fn wrprotect_rejected() {
        let g = geo();
        for op in [0x2a, 0x2e] {
            invalid_cdb(&err(&c10(op, 0x20, 0, 1), &g), 1, Some(7));
        }
        for op in [0x8a, 0x8e, 0x8b] {
            invalid_cdb(&err(&c16(op, 0xa0, 0, 1), &g), 1, Some(7));
        }
        invalid_cdb(&err(&c12(0xaa, 0x40, 0, 1), &g), 1, Some(7));
    }

    #[test]
    fn protect_checked_before_range() {
        invalid_cdb(&err(&c10(0x28, 0x20, u32::MAX, 1), &geo()), 1, Some(7));
    }

    #[test]
    fn max_transfer_length() {
        let mut g = geo();
        g.limits.max_transfer_blocks = 8;
        assert!(parse(&c10(0x28, 0, 0, 8), &g).is_ok());
        invalid_cdb(&err(&c10(0x28, 0, 0, 9), &g), 7, None);
        invalid_cdb(&err(&c12(0xaa, 0, 0, 9), &g), 6, None);
        invalid_cdb(&err(&c16(0x8f, 0, 0, 9), &g), 10, None);
        invalid_cdb(&err(&[0x08, 0, 0, 0, 0, 0], &g), 4, None);
        // The limit is checked before the range.
        invalid_cdb(&err(&c10(0x28, 0, 5000, 9), &g), 7, None);
    }

    // VERIFY / WRITE AND VERIFY / ORWRITE

    #[test]
    fn verify_bytchk() {
        let r = rw(&c10(0x2f, 0x00, 0, 4));
        assert_eq!((r.op, r.bytchk, r.data_len), (RwOp::Verify, 0, 0));
        let r = rw(&c10(0x2f, 0x02, 0, 4));
        assert_eq!((r.bytchk, r.data_len), (1, 2048));
        let r = rw(&c16(0x8f, 0x06, 0, 4));
        assert_eq!((r.bytchk, r.data_len), (3, 512));
        invalid_cdb(&err(&c12(0xaf, 0x04, 0, 4), &geo()), 1, Some(2));
    }

    #[test]
    fn verify_has_no_fua() {
        let r = rw(&c10(0x2f, 0x18, 0, 1));
        assert!(r.dpo && !r.fua);
    }

    #[test]
    fn verify_out_of_range_and_vrprotect() {
        oob(&err(&c10(0x2f, 0x02, 999, 2), &geo()));
        invalid_cdb(&err(&c10(0x2f, 0x20, 0, 1), &geo()), 1, Some(7));
    }

    #[test]
    fn write_and_verify() {
        let r = rw(&c10(0x2e, 0x02, 1, 2));
        assert_eq!(
            (r.op, r.bytchk, r.data_len),
            (RwOp::WriteAndVerify, 1, 1024)
        );
        let r = rw(&c16(0x8e, 0x00, 1, 2));
        assert_eq!((r.bytchk, r.data_len), (0, 1024));
        oob(&err(&c12(0xae, 0, 999, 2), &geo()));
    }

    #[test]
    fn orwrite() {
        let r = rw(&c16(0x8b, 0x18, 7, 3));
        assert_eq!(
            (r.op, r.lba, r.blocks, r.fua, r.dpo),
            (RwOp::OrWrite, 7, 3, true, true)
        );
        oob(&err(&c16(0x8b, 0, 998, 3), &geo()));
    }

    #[test]
    fn thirty_two_byte_commands_need_type2_protection() {
        let mut c = [0u8; 32];
        c[0] = 0x7f;
        c[7] = 0x18;
        c[9] = 0x09;
        assert_eq!(err(&c, &geo()), Sense::invalid_opcode());
    }

    #[test]
    fn unknown_opcode() {
        assert_eq!(
            err(&[0x12, 0, 0, 0, 36, 0], &geo()),
            Sense::invalid_opcode()
        );
        assert_eq!(err(&[], &geo()), Sense::invalid_opcode());
        assert_eq!(
            parse_rw(&[0x41], &geo()).unwrap_err(),
            Sense::invalid_opcode()
        );
    }

    // WRITE SAME

    fn ws(c: &[u8], g: &Geometry) -> WriteSame {
        match parse(c, g).unwrap() {
            Request::WriteSame(w) => w,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn write_same10_basic() {
        let w = ws(&c10(0x41, 0, 10, 20), &geo());
        assert_eq!(
            (w.lba, w.blocks, w.unmap, w.ndob, w.data_len),
            (10, 20, false, false, 512)
        );
    }

    #[test]
    fn write_same_zero_blocks_means_to_end() {
        let w = ws(&c10(0x41, 0, 10, 0), &geo());
        assert_eq!(w.blocks, 990);
        let w = ws(&c16(0x93, 0, 1000, 0), &geo());
        assert_eq!(w.blocks, 0);
        oob(&err(&c10(0x41, 0, 1001, 0), &geo()));
        oob(&err(&c10(0x41, 0, u32::MAX, 0), &geo()));
        oob(&err(&c16(0x93, 0, u64::MAX, 0), &geo()));
    }

    #[test]
    fn write_same_wsnz() {
        let mut g = geo();
        g.limits.wsnz = true;
        invalid_cdb(&err(&c10(0x41, 0, 0, 0), &g), 7, None);
        invalid_cdb(&err(&c16(0x93, 0, 0, 0), &g), 10, None);
        assert!(parse(&c10(0x41, 0, 0, 1), &g).is_ok());
    }

    #[test]
    fn write_same_max_length() {
        let mut g = geo();
        g.limits.max_write_same_blocks = 16;
        assert_eq!(ws(&c10(0x41, 0, 0, 16), &g).blocks, 16);
        invalid_cdb(&err(&c10(0x41, 0, 0, 17), &g), 7, None);
        invalid_cdb(&err(&c16(0x93, 0, 0, 17), &g), 10, None);
        // "To the end" resolves to 1000 blocks, above the limit.
        invalid_cdb(&err(&c16(0x93, 0, 0, 0), &g), 10, None);
        assert_eq!(ws(&c16(0x93, 0, 990, 0), &g).blocks, 10);
    }

    #[test]
    fn write_same_beyond_end() {
        oob(&err(&c10(0x41, 0, 999, 2), &geo()));
        oob(&err(&c16(0x93, 0, u64::MAX, 1), &geo()));
    }

    #[test]
    fn write_same_unmap_needs_thin() {
        invalid_cdb(&err(&c10(0x41, 0x08, 0, 1), &geo()), 1, Some(3));
        invalid_cdb(&err(&c16(0x93, 0x08, 0, 1), &geo()), 1, Some(3));
        let w = ws(&c16(0x93, 0x08, 0, 8), &thin());
        assert!(w.unmap);
    }

    #[test]
    fn write_same_anchor_rejected() {
        invalid_cdb(&err(&c16(0x93, 0x18, 0, 1), &thin()), 1, Some(4));
        invalid_cdb(&err(&c10(0x41, 0x10, 0, 1), &thin()), 1, Some(4));
    }

    #[test]
    fn write_same_wrprotect() {
        invalid_cdb(&err(&c10(0x41, 0x20, 0, 1), &geo()), 1, Some(7));
        invalid_cdb(&err(&c16(0x93, 0xe0, 0, 1), &geo()), 1, Some(7));
    }

    #[test]
    fn write_same16_ndob() {
        let w = ws(&c16(0x93, 0x09, 0, 8), &thin());
        assert!(w.ndob && w.unmap);
        assert_eq!(w.data_len, 0);
        let w = ws(&c16(0x93, 0x01, 0, 8), &geo());
        assert!(w.ndob && !w.unmap);
        // WRITE SAME(10) has no NDOB.
        let w = ws(&c10(0x41, 0x01, 0, 8), &geo());
        assert!(!w.ndob);
        assert_eq!(w.data_len, 512);
    }

    // UNMAP

    #[test]
    fn unmap_cdb() {
        assert_eq!(err(&c10(0x42, 0, 0, 24), &geo()), Sense::invalid_opcode());
        match parse(&c10(0x42, 0, 0, 24), &thin()).unwrap() {
            Request::Unmap(u) => assert_eq!(u.param_len, 24),
            other => panic!("{other:?}"),
        }
        invalid_cdb(&err(&c10(0x42, 0x01, 0, 24), &thin()), 1, Some(0));
    }

    fn list(ranges: &[(u64, u32)]) -> std::vec::Vec<u8> {
        let r: std::vec::Vec<_> = ranges
            .iter()
            .map(|&(lba, blocks)| UnmapRange { lba, blocks })
            .collect();
        let mut buf = std::vec![0u8; 8 + 16 * r.len()];
        assert_eq!(build_unmap_params(&r, &mut buf), buf.len());
        buf
    }

    #[test]
    fn unmap_params_layout() {
        let b = list(&[(0x0102_0304_0506_0708, 0x0a0b_0c0d)]);
        assert_eq!(&b[..8], &[0, 22, 0, 16, 0, 0, 0, 0]);
        assert_eq!(&b[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&b[16..24], &[0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 0]);
    }

    #[test]
    fn unmap_params_iterate() {
        let b = list(&[(1, 2), (10, 0), (998, 2)]);
        let l = parse_unmap_params(&b, &thin()).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.total_blocks(), 4);
        let v: std::vec::Vec<_> = l.iter().collect();
        assert_eq!(v[0], UnmapRange { lba: 1, blocks: 2 });
        assert_eq!(
            v[2],
            UnmapRange {
                lba: 998,
                blocks: 2
            }
        );
    }

    #[test]
    fn unmap_params_empty_and_header_only() {
        assert!(parse_unmap_params(&[], &thin()).unwrap().is_empty());
        let b = list(&[]);
        assert!(parse_unmap_params(&b, &thin()).unwrap().is_empty());
    }

    #[test]
    fn unmap_params_short_header() {
        for n in 1..8 {
            let b = [0u8; 8];
            assert_eq!(
                parse_unmap_params(&b[..n], &thin()).unwrap_err(),
                Sense::param_list_length_error()
            );
        }
    }

    #[test]
    fn unmap_params_zero_blocks_at_capacity() {
        let b = list(&[(1000, 0)]);
        assert!(parse_unmap_params(&b, &thin()).is_ok());
        let b = list(&[(1001, 0)]);
        oob(&parse_unmap_params(&b, &thin()).unwrap_err());
    }

    #[test]
    fn unmap_params_range_checks() {
        oob(&parse_unmap_params(&list(&[(0, 1), (999, 2)]), &thin()).unwrap_err());
        oob(&parse_unmap_params(&list(&[(u64::MAX, 1)]), &thin()).unwrap_err());
        oob(&parse_unmap_params(&list(&[(u64::MAX - 1, u32::MAX)]), &thin()).unwrap_err());
        assert!(parse_unmap_params(&list(&[(0, 1000)]), &thin()).is_ok());
    }

    #[test]
    fn unmap_params_descriptor_limit() {
        let mut g = thin();
        g.limits.max_unmap_descriptors = 2;
        assert!(parse_unmap_params(&list(&[(0, 1), (1, 1)]), &g).is_ok());
        invalid_param(
            &parse_unmap_params(&list(&[(0, 1), (1, 1), (2, 1)]), &g).unwrap_err(),
            2,
            None,
        );
    }

    #[test]
    fn unmap_params_lba_count_limit() {
        let mut g = thin();
        g.limits.max_unmap_lba_count = 10;
        assert!(parse_unmap_params(&list(&[(0, 5), (100, 5)]), &g).is_ok());
        // The second descriptor's NUMBER OF LOGICAL BLOCKS (byte 8+16+8).
        invalid_param(
            &parse_unmap_params(&list(&[(0, 5), (100, 6)]), &g).unwrap_err(),
            32,
            None,
        );
        invalid_param(
            &parse_unmap_params(&list(&[(0, 11)]), &g).unwrap_err(),
            16,
            None,
        );
    }

    #[test]
    fn unmap_params_inconsistent_header() {
        let mut b = list(&[(0, 1)]);
        b[1] = 21; // UNMAP DATA LENGTH smaller than the descriptors
        invalid_param(&parse_unmap_params(&b, &thin()).unwrap_err(), 0, None);
    }

    #[test]
    fn unmap_params_partial_descriptor_ignored() {
        let mut b = list(&[(0, 1), (5000, 1)]);
        // Announce 1.5 descriptors: the incomplete one is ignored.
        b[3] = 24;
        let l = parse_unmap_params(&b, &thin()).unwrap();
        assert_eq!(l.len(), 1);
        // Announce two but send only 1.5.
        let b2 = list(&[(0, 1), (5000, 1)]);
        let l = parse_unmap_params(&b2[..8 + 24], &thin()).unwrap();
        assert_eq!(l.iter().count(), 1);
    }

    #[test]
    fn unmap_params_validated_before_use() {
        // A bad last descriptor fails the whole list.
        let b = list(&[(0, 1), (1, 1), (2000, 1)]);
        assert!(parse_unmap_params(&b, &thin()).is_err());
    }

    // SYNCHRONIZE CACHE / PRE-FETCH

    #[test]
    fn sync_cache10_and_16() {
        match parse(&c10(0x35, 0x02, 10, 5), &geo()).unwrap() {
            Request::SyncCache(s) => assert_eq!((s.lba, s.blocks, s.immed), (10, 5, true)),
            other => panic!("{other:?}"),
        }
        match parse(&c16(0x91, 0, 10, 0), &geo()).unwrap() {
            Request::SyncCache(s) => assert_eq!((s.lba, s.blocks, s.immed), (10, 990, false)),
            other => panic!("{other:?}"),
        }
        oob(&err(&c10(0x35, 0, 999, 2), &geo()));
        oob(&err(&c16(0x91, 0, 1001, 0), &geo()));
        oob(&err(&c16(0x91, 0, u64::MAX, 2), &geo()));
    }

    #[test]
    fn pre_fetch10_and_16() {
        match parse(&c10(0x34, 0x02, 0, 0), &geo()).unwrap() {
            Request::PreFetch(p) => assert_eq!((p.lba, p.blocks, p.immed), (0, 1000, true)),
            other => panic!("{other:?}"),
        }
        match parse(&c16(0x90, 0, 999, 1), &geo()).unwrap() {
            Request::PreFetch(p) => assert_eq!((p.lba, p.blocks), (999, 1)),
            other => panic!("{other:?}"),
        }
        oob(&err(&c10(0x34, 0, 1001, 0), &geo()));
        oob(&err(&c16(0x90, 0, 0x8000_0000_0000_0000, 0), &geo()));
        oob(&err(&c16(0x90, 0, 1000, 1), &geo()));
    }

    // COMPARE AND WRITE

    fn caw(b1: u8, lba: u64, n: u8) -> [u8; 16] {
        let mut c = c16(0x89, b1, lba, 0);
        c[13] = n;
        c
    }

    #[test]
    fn compare_and_write_basic() {
        match parse(&caw(0x18, 5, 1), &geo()).unwrap() {
            Request::CompareAndWrite(w) => {
                assert_eq!((w.lba, w.blocks, w.data_len), (5, 1, 1024));
                assert!(w.fua && w.dpo);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn compare_and_write_limits() {
        let mut g = geo();
        g.limits.max_compare_write_blocks = 1;
        invalid_cdb(&err(&caw(0, 0, 2), &g), 13, None);
        assert!(parse(&caw(0, 0, 1), &g).is_ok());
        g.limits.max_compare_write_blocks = 255;
        match parse(&caw(0, 0, 255), &g).unwrap() {
            Request::CompareAndWrite(w) => assert_eq!(w.data_len, 2 * 255 * 512),
            other => panic!("{other:?}"),
        }
        g.limits.max_compare_write_blocks = 0;
        invalid_cdb(&err(&caw(0, 0, 1), &g), 13, None);
    }

    #[test]
    fn compare_and_write_zero_and_range() {
        match parse(&caw(0, 0, 0), &geo()).unwrap() {
            Request::CompareAndWrite(w) => assert_eq!(w.data_len, 0),
            other => panic!("{other:?}"),
        }
        oob(&err(&caw(0, 1000, 1), &geo()));
        oob(&err(&caw(0, u64::MAX, 1), &geo()));
        invalid_cdb(&err(&caw(0x20, 0, 1), &geo()), 1, Some(7));
    }

    // READ CAPACITY

    #[test]
    fn read_capacity10_data() {
        assert_eq!(
            parse(&c10(0x25, 0, 0, 0), &geo()).unwrap(),
            Request::ReadCapacity10
        );
        let mut b = [0u8; 8];
        assert_eq!(read_capacity10(&geo(), &mut b), 8);
        assert_eq!(b, [0, 0, 0x03, 0xe7, 0, 0, 0x02, 0]);
    }

    #[test]
    fn read_capacity10_too_big() {
        let mut b = [0u8; 8];
        read_capacity10(&Geometry::new(4096, 0x1_0000_0001), &mut b);
        assert_eq!(&b[..4], &[0xff; 4]);
        read_capacity10(&Geometry::new(4096, 0x1_0000_0000), &mut b);
        assert_eq!(&b[..4], &[0xff; 4]);
        read_capacity10(&Geometry::new(4096, 0xffff_ffff), &mut b);
        assert_eq!(&b[..4], &[0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(&b[4..], &[0, 0, 0x10, 0]);
    }

    #[test]
    fn read_capacity_pmi() {
        let mut c = c10(0x25, 0, 5, 0);
        invalid_cdb(&err(&c, &geo()), 2, None);
        c[8] = 1;
        assert!(parse(&c, &geo()).is_ok());
        let mut c = c16(0x9e, 0x10, 5, 32);
        invalid_cdb(&err(&c, &geo()), 2, None);
        c[14] = 1;
        assert!(parse(&c, &geo()).is_ok());
    }

    #[test]
    fn read_capacity16_request() {
        assert_eq!(
            parse(&c16(0x9e, 0x10, 0, 32), &geo()).unwrap(),
            Request::ReadCapacity16 { alloc_len: 32 }
        );
        invalid_cdb(&err(&c16(0x9e, 0x11, 0, 32), &geo()), 1, Some(4));
    }

    #[test]
    fn read_capacity16_data() {
        let g = Geometry {
            lb_per_pb_exp: 3,
            lowest_aligned_lba: 0x1234,
            ..thin()
        };
        let mut b = [0xffu8; 40];
        assert_eq!(read_capacity16(&g, &mut b), 32);
        assert_eq!(&b[..8], &[0, 0, 0, 0, 0, 0, 0x03, 0xe7]);
        assert_eq!(&b[8..12], &[0, 0, 2, 0]);
        assert_eq!(b[12], 0);
        assert_eq!(b[13], 3);
        assert_eq!(&b[14..16], &[0xd2, 0x34]);
        assert_eq!(&b[16..32], &[0; 16]);
        assert_eq!(&b[32..], &[0xff; 8]);
    }

    #[test]
    fn read_capacity16_flags() {
        let mut b = [0u8; 32];
        read_capacity16(&geo(), &mut b);
        assert_eq!(b[14], 0);
        // LBPRZ is reported only together with LBPME.
        let g = Geometry {
            lbprz: true,
            ..geo()
        };
        read_capacity16(&g, &mut b);
        assert_eq!(b[14], 0);
        let g = Geometry {
            lbprz: false,
            ..thin()
        };
        read_capacity16(&g, &mut b);
        assert_eq!(b[14], 0x80);
    }

    #[test]
    fn read_capacity16_truncates() {
        let mut b = [0u8; 12];
        assert_eq!(read_capacity16(&Geometry::new(512, 1 << 40), &mut b), 32);
        assert_eq!(&b[..8], &[0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&b[8..], &[0, 0, 2, 0]);
    }

    #[test]
    fn empty_lu_capacity() {
        let g = Geometry::new(512, 0);
        let mut b = [0u8; 8];
        read_capacity10(&g, &mut b);
        assert_eq!(&b[..4], &[0; 4]);
        oob(&err(&c10(0x28, 0, 0, 1), &g));
        assert!(parse(&c10(0x28, 0, 0, 0), &g).is_ok());
    }

    // GET LBA STATUS

    #[test]
    fn get_lba_status_request() {
        match parse(&c16(0x9e, 0x12, 999, 24), &geo()).unwrap() {
            Request::GetLbaStatus(s) => assert_eq!((s.lba, s.alloc_len), (999, 24)),
            other => panic!("{other:?}"),
        }
        oob(&err(&c16(0x9e, 0x12, 1000, 24), &geo()));
        oob(&err(&c16(0x9e, 0x12, 1001, 24), &geo()));
        oob(&err(&c16(0x9e, 0x12, 1 << 63, 24), &geo()));
        oob(&err(&c16(0x9e, 0x12, u64::MAX, 24), &geo()));
    }

    #[test]
    fn get_lba_status_data() {
        let d = [
            LbaStatus {
                lba: 0,
                blocks: 10,
                status: Provisioning::Mapped,
            },
            LbaStatus {
                lba: 10,
                blocks: 0x0102_0304,
                status: Provisioning::Deallocated,
            },
        ];
        let mut b = [0xeeu8; 40];
        assert_eq!(get_lba_status(&d, &mut b), 40);
        assert_eq!(&b[..8], &[0, 0, 0, 36, 0, 0, 0, 0]);
        assert_eq!(
            &b[8..24],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0]
        );
        assert_eq!(&b[24..36], &[0, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3, 4]);
        assert_eq!(&b[36..40], &[1, 0, 0, 0]);
    }

    #[test]
    fn get_lba_status_truncates_and_to_end() {
        let g = Geometry::new(512, 1 << 40);
        let d = [LbaStatus::to_end(&g, 5, Provisioning::Anchored)];
        assert_eq!(d[0].blocks, u32::MAX);
        let d2 = LbaStatus::to_end(&geo(), 990, Provisioning::Mapped);
        assert_eq!(d2.blocks, 10);
        let mut b = [0u8; 10];
        assert_eq!(get_lba_status(&d, &mut b), 24);
        assert_eq!(&b[..4], &[0, 0, 0, 20]);
        assert_eq!(&b[8..10], &[0, 0]);
        assert_eq!(get_lba_status(&[], &mut b), 8);
    }

    // FORMAT UNIT

    #[test]
    fn format_unit_cdb() {
        assert_eq!(
            parse(&[0x04, 0, 0, 0, 0, 0], &geo()).unwrap(),
            Request::FormatUnit(FormatUnit {
                fmtdata: false,
                longlist: false
            })
        );
        assert_eq!(
            parse_format_unit(&[0x04, 0x30, 0, 0, 0, 0]).unwrap(),
            FormatUnit {
                fmtdata: true,
                longlist: true
            }
        );
        invalid_cdb(&err(&[0x04, 0x40, 0, 0, 0, 0], &geo()), 1, Some(7));
        invalid_cdb(&err(&[0x04, 0x80, 0, 0, 0, 0], &geo()), 1, Some(7));
    }

    #[test]
    fn format_params_simple() {
        assert_eq!(
            parse_format_params(&[0, 0x02, 0, 0], false).unwrap(),
            FormatParams { immed: true }
        );
        assert_eq!(
            parse_format_params(&[0, 0xf0, 0, 0, 0, 0, 0, 0], true).unwrap(),
            FormatParams { immed: false }
        );
    }

    #[test]
    fn format_params_errors() {
        assert_eq!(
            parse_format_params(&[0, 0, 0], false).unwrap_err(),
            Sense::param_list_length_error()
        );
        assert_eq!(
            parse_format_params(&[0, 0, 0, 0], true).unwrap_err(),
            Sense::param_list_length_error()
        );
        invalid_param(
            &parse_format_params(&[1, 0, 0, 0], false).unwrap_err(),
            0,
            Some(2),
        );
        invalid_param(
            &parse_format_params(&[0, 0x40, 0, 0], false).unwrap_err(),
            1,
            Some(6),
        );
        invalid_param(
            &parse_format_params(&[0, 0x10, 0, 0], false).unwrap_err(),
            1,
            Some(4),
        );
        invalid_param(
            &parse_format_params(&[0, 0x88, 0, 0], false).unwrap_err(),
            1,
            Some(3),
        );
        invalid_param(
            &parse_format_params(&[0, 0, 0, 8], false).unwrap_err(),
            2,
            None,
        );
        invalid_param(
            &parse_format_params(&[0, 0, 0, 0, 0, 0, 0, 8], true).unwrap_err(),
            4,
            None,
        );
    }

    // START STOP UNIT / PREVENT ALLOW

    fn ssu(b1: u8, b3: u8, b4: u8) -> StartStop {
        match parse(&[0x1b, b1, 0, b3, b4, 0], &geo()).unwrap() {
            Request::StartStop(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn start_stop_actions() {
        assert_eq!(ssu(0, 0, 0x01).action(), StartStopAction::Start);
        assert_eq!(ssu(0, 0, 0x00).action(), StartStopAction::Stop);
        assert_eq!(ssu(0, 0, 0x03).action(), StartStopAction::Load);
        assert_eq!(ssu(0, 0, 0x02).action(), StartStopAction::Eject);
        let s = ssu(0x01, 0x05, 0x04);
        assert!(s.immed && s.no_flush);
        assert_eq!(s.modifier, 5);
    }

    #[test]
    fn start_stop_power_condition_overrides() {
        // LOEJ is ignored with a power condition: no eject.
        assert_eq!(ssu(0, 0, 0x12).action(), StartStopAction::Power(1));
        assert_eq!(ssu(0, 0, 0x30).action(), StartStopAction::Power(3));
        for pc in [0x7u8, 0xa, 0xb, 0x2] {
            assert_eq!(ssu(0, 0, pc << 4).action(), StartStopAction::Power(pc));
        }
    }

    #[test]
    fn start_stop_bad_power_condition() {
        for pc in [4u8, 5, 6, 8, 9, 0xc, 0xd, 0xe, 0xf] {
            invalid_cdb(&err(&[0x1b, 0, 0, 0, pc << 4, 0], &geo()), 4, Some(7));
        }
    }

    #[test]
    fn prevent_allow() {
        let p = |b4| parse(&[0x1e, 0, 0, 0, b4, 0], &geo()).unwrap();
        assert_eq!(
            p(1),
            Request::PreventAllow(PreventAllow {
                prevent: true,
                persistent: false
            })
        );
        assert_eq!(
            p(0),
            Request::PreventAllow(PreventAllow {
                prevent: false,
                persistent: false
            })
        );
        assert_eq!(
            p(3),
            Request::PreventAllow(PreventAllow {
                prevent: true,
                persistent: true
            })
        );
    }

    // READ TOC

    fn toc(b1: u8, b2: u8, track: u8, alloc: u16, b9: u8) -> Result<ReadToc, Sense> {
        let mut c = [0x43, b1, b2, 0, 0, 0, track, 0, 0, b9];
        c[7..9].copy_from_slice(&alloc.to_be_bytes());
        match parse(&c, &geo())? {
            Request::ReadToc(t) => Ok(t),
            other => panic!("{other:?}"),
        }
    }

    fn cd() -> Geometry {
        // 0x12345 blocks of 2048 bytes.
        Geometry::new(2048, 0x12345)
    }

    #[test]
    fn read_toc_parse() {
        let t = toc(0x02, 0, 1, 100, 0).unwrap();
        assert_eq!(
            t,
            ReadToc {
                msf: true,
                format: TocFormat::Toc,
                track: 1,
                alloc_len: 100
            }
        );
        assert_eq!(toc(0, 1, 0, 12, 0).unwrap().format, TocFormat::SessionInfo);
        // Pre-MMC format in CONTROL bits 7..6.
        assert_eq!(
            toc(0, 0, 0, 12, 0x40).unwrap().format,
            TocFormat::SessionInfo
        );
        invalid_cdb(&toc(0, 2, 0, 12, 0).unwrap_err(), 2, Some(3));
        invalid_cdb(&toc(0, 0, 0, 12, 0x80).unwrap_err(), 2, Some(3));
        invalid_cdb(&toc(0, 0, 2, 12, 0).unwrap_err(), 6, None);
        assert!(toc(0, 0, 0xaa, 12, 0).is_ok());
        // The track number is not used by session information.
        assert!(toc(0, 1, 5, 12, 0).is_ok());
    }

    #[test]
    fn read_toc_lba() {
        let t = toc(0, 0, 0, 0xffff, 0).unwrap();
        let mut b = [0u8; 32];
        assert_eq!(read_toc(&t, &cd(), &mut b), 20);
        assert_eq!(&b[..4], &[0, 18, 1, 1]);
        assert_eq!(&b[4..12], &[0, 0x14, 1, 0, 0, 0, 0, 0]);
        assert_eq!(&b[12..20], &[0, 0x14, 0xaa, 0, 0, 0x01, 0x23, 0x45]);
        assert_eq!(&b[20..], &[0; 12]);
    }

    #[test]
    fn read_toc_msf() {
        let t = toc(0x02, 0, 1, 0xffff, 0).unwrap();
        let mut b = [0u8; 20];
        read_toc(&t, &cd(), &mut b);
        // Track 1 at 00:02:00.
        assert_eq!(&b[8..12], &[0, 0, 2, 0]);
        // Lead-out: 0x12345 + 150 = 74715 frames = 16:36:15.
        assert_eq!(&b[16..20], &[0, 16, 36, 15]);
    }

    #[test]
    fn read_toc_lead_out_only() {
        let t = toc(0, 0, 0xaa, 0xffff, 0).unwrap();
        let mut b = [0u8; 20];
        assert_eq!(read_toc(&t, &cd(), &mut b), 12);
        assert_eq!(&b[..4], &[0, 10, 1, 1]);
        assert_eq!(&b[4..12], &[0, 0x14, 0xaa, 0, 0, 0x01, 0x23, 0x45]);
    }

    #[test]
    fn read_toc_session_info() {
        let t = toc(0, 1, 0, 0xffff, 0).unwrap();
        let mut b = [0u8; 12];
        assert_eq!(read_toc(&t, &cd(), &mut b), 12);
        assert_eq!(b, [0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0]);
        let t = toc(0x02, 1, 0, 0xffff, 0).unwrap();
        read_toc(&t, &cd(), &mut b);
        assert_eq!(&b[8..12], &[0, 0, 2, 0]);
    }

    #[test]
    fn read_toc_truncates_and_saturates() {
        let t = toc(0x02, 0, 0, 4, 0).unwrap();
        let mut b = [0u8; 4];
        assert_eq!(read_toc(&t, &cd(), &mut b), 20);
        assert_eq!(b, [0, 18, 1, 1]);
        // A huge medium saturates the minutes in MSF.
        let mut b = [0u8; 20];
        read_toc(&t, &Geometry::new(2048, u64::MAX), &mut b);
        assert_eq!(b[17], 0xff);
    }

    // Miscompare

    #[test]
    fn miscompare_offsets() {
        assert_eq!(first_mismatch(b"abcd", b"abcd"), None);
        assert_eq!(first_mismatch(b"abcd", b"abXd"), Some(2));
        assert_eq!(first_mismatch(b"", b""), None);
        assert_eq!(first_mismatch(b"ab", b"abc"), Some(2));
        assert_eq!(first_mismatch(b"x", b"y"), Some(0));
    }

    #[test]
    fn compare_gives_miscompare_sense() {
        assert!(compare(&[1, 2, 3], &[1, 2, 3]).is_ok());
        let s = compare(&[0; 600], &{
            let mut v = [0u8; 600];
            v[513] = 1;
            v
        })
        .unwrap_err();
        assert_eq!(s.key, Key::Miscompare);
        assert_eq!(s.asc, asc::MISCOMPARE_DURING_VERIFY);
        assert_eq!(s.info, Some(513));
    }

    #[test]
    fn geometry_helpers() {
        let g = geo();
        assert_eq!(g.last_lba(), 999);
        assert!(g.check_range(0, 1000).is_ok());
        assert!(g.check_range(1000, 0).is_ok());
        oob(&g.check_range(1000, 1).unwrap_err());
        oob(&g.check_range(u64::MAX, 1).unwrap_err());
        assert_eq!(g.bytes(3).unwrap(), 1536);
        assert!(g.bytes(u64::MAX).is_err());
        assert_eq!(BlockLimits::default().max_compare_write_blocks, 255);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_geo() -> impl Strategy<Value = Geometry> {
            (
                prop_oneof![Just(512u32), Just(4096), Just(2048), any::<u32>()],
                prop_oneof![Just(0u64), 1u64..100_000, any::<u64>()],
                any::<bool>(),
                any::<bool>(),
                any::<u32>(),
                any::<u8>(),
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
            )
                .prop_map(|(bs, n, thin, wsnz, mt, cw, ws, ul, ud)| Geometry {
                    block_size: bs,
                    num_blocks: n,
                    lb_per_pb_exp: 0,
                    lowest_aligned_lba: 0,
                    thin_provisioned: thin,
                    lbprz: thin,
                    limits: BlockLimits {
                        max_transfer_blocks: mt % 4096,
                        max_compare_write_blocks: cw,
                        max_write_same_blocks: ws % 8192,
                        max_unmap_lba_count: ul,
                        max_unmap_descriptors: ud,
                        wsnz,
                    },
                })
        }

        fn sbc_opcode() -> impl Strategy<Value = u8> {
            prop_oneof![
                proptest::sample::select(std::vec![
                    0x04u8, 0x08, 0x0a, 0x1b, 0x1e, 0x25, 0x28, 0x2a, 0x2e, 0x2f, 0x34, 0x35, 0x41,
                    0x42, 0x43, 0x7f, 0x88, 0x89, 0x8a, 0x8b, 0x8e, 0x8f, 0x90, 0x91, 0x93, 0x9e,
                    0xa8, 0xaa, 0xae, 0xaf
                ]),
                any::<u8>(),
            ]
        }

        proptest! {
            #[test]
            fn parse_never_panics(op in sbc_opcode(),
                                  rest in proptest::collection::vec(any::<u8>(), 0..32),
                                  g in any_geo()) {
                let mut c = std::vec![op];
                c.extend_from_slice(&rest);
                let _ = parse(&c, &g);
            }

            #[test]
            fn accepted_ranges_fit(op in sbc_opcode(),
                                   rest in proptest::collection::vec(any::<u8>(), 31),
                                   g in any_geo()) {
                let mut c = std::vec![op];
                c.extend_from_slice(&rest);
                match parse(&c, &g) {
                    Ok(Request::Rw(r)) => {
                        prop_assert!(r.lba.checked_add(u64::from(r.blocks)).unwrap() <= g.num_blocks);
                        prop_assert!(r.data_len <= u64::from(r.blocks) * u64::from(g.block_size));
                        let max = g.limits.max_transfer_blocks;
                        prop_assert!(max == 0 || r.blocks <= max);
                    }
                    Ok(Request::WriteSame(w)) => {
                        prop_assert!(w.lba.checked_add(w.blocks).unwrap() <= g.num_blocks);
                        prop_assert!(!w.unmap || g.thin_provisioned);
                    }
                    Ok(Request::SyncCache(s)) => {
                        prop_assert!(s.lba.checked_add(s.blocks).unwrap() <= g.num_blocks);
                    }
                    Ok(Request::PreFetch(p)) => {
                        prop_assert!(p.lba.checked_add(p.blocks).unwrap() <= g.num_blocks);
                    }
                    Ok(Request::CompareAndWrite(w)) => {
                        prop_assert!(w.blocks <= g.limits.max_compare_write_blocks);
                        prop_assert_eq!(w.data_len, 2 * u64::from(w.blocks) * u64::from(g.block_size));
                    }
                    Ok(Request::GetLbaStatus(s)) => prop_assert!(s.lba < g.num_blocks),
                    _ => {}
                }
            }

            #[test]
            fn unmap_params_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200),
                                        g in any_geo()) {
                if let Ok(l) = parse_unmap_params(&data, &g) {
                    prop_assert!(l.len() <= data.len() / 16);
                    for r in l.iter() {
                        prop_assert!(r.lba.checked_add(u64::from(r.blocks)).unwrap() <= g.num_blocks);
                    }
                }
            }

            #[test]
            fn unmap_round_trip(ranges in proptest::collection::vec((0u64..1000, 0u32..1000), 0..20)) {
                let r: std::vec::Vec<_> = ranges.iter().map(|&(lba, blocks)| UnmapRange { lba, blocks }).collect();
                let mut buf = std::vec![0u8; 8 + 16 * r.len()];
                build_unmap_params(&r, &mut buf);
                let g = Geometry { thin_provisioned: true, ..Geometry::new(512, 2000) };
                let l = parse_unmap_params(&buf, &g).unwrap();
                prop_assert_eq!(l.iter().collect::<std::vec::Vec<_>>(), r);
            }

            #[test]
            fn format_params_never_panic(data in proptest::collection::vec(any::<u8>(), 0..12),
                                         long in any::<bool>()) {
                let _ = parse_format_params(&data, long);
            }

            #[test]
            fn builders_truncate(n in any::<u64>(), bs in any::<u32>(), alloc in 0usize..40,
                                 track in prop_oneof![Just(0u8), Just(1), Just(0xaa)],
                                 msf in any::<bool>(), session in any::<bool>()) {
                let g = Geometry::new(bs, n);
                let mut full = [0u8; 40];
                let mut part = std::vec![0u8; alloc];
                let len = read_capacity16(&g, &mut full);
                prop_assert_eq!(read_capacity16(&g, &mut part), len);
                prop_assert_eq!(&part[..alloc.min(len)], &full[..alloc.min(len)]);
                let t = ReadToc {
                    msf,
                    format: if session { TocFormat::SessionInfo } else { TocFormat::Toc },
                    track,
                    alloc_len: 0,
                };
                let len = read_toc(&t, &g, &mut full);
                prop_assert_eq!(read_toc(&t, &g, &mut part), len);
                prop_assert_eq!(&part[..alloc.min(len)], &full[..alloc.min(len)]);
                prop_assert_eq!(usize::from(u16::from_be_bytes([full[0], full[1]])) + 2, len);
            }

            #[test]
            fn compare_matches_first_mismatch(a in proptest::collection::vec(any::<u8>(), 0..64),
                                              flip in any::<proptest::sample::Index>()) {
                prop_assert!(compare(&a, &a).is_ok());
                if !a.is_empty() {
                    let i = flip.index(a.len());
                    let mut b = a.clone();
                    b[i] ^= 0xff;
                    let s = compare(&a, &b).unwrap_err();
                    prop_assert_eq!(s.info, Some(i as u64));
                }
            }
        }
    }
}
