// SPDX-License-Identifier: GPL-2.0

//! MODE SENSE(6/10) and MODE SELECT(6/10) (SPC-4 6.11-6.14) with the mode
//! pages of SCST's vdisk: Read-Write Error Recovery (01h), Disconnect-Reconnect
//! (02h), Format Device (03h), Rigid Disk Geometry (04h), Caching (08h),
//! Control (0Ah) and Informational Exceptions Control (1Ch).
//!
//! The changeable parameters live in [`ModeState`]. What MODE SELECT accepts
//! is exactly what the changeable mask (page control 01b) reports: a mask bit
//! is set only where some accepted value differs, so multi-valued fields with
//! only two legal values (TST, QUEUE ALGORITHM MODIFIER) expose just their
//! low bit. Every other bit must equal the current value, else INVALID FIELD
//! IN PARAMETER LIST points at that byte and bit. Saved parameters are not
//! supported (39/00 for MODE SENSE with PC=11b; SP=1 is INVALID FIELD IN CDB).

use super::bytes::{get_u16, get_u24, get_u32, get_u64, get_u8, Writer};
use super::sense::{asc, Format, Key, Sense};
use super::spc::DataIn;
use super::types::PeripheralType;

/// MODE SELECT(6) operation code.
pub const MODE_SELECT_6: u8 = 0x15;
/// MODE SENSE(6) operation code.
pub const MODE_SENSE_6: u8 = 0x1A;
/// MODE SELECT(10) operation code.
pub const MODE_SELECT_10: u8 = 0x55;
/// MODE SENSE(10) operation code.
pub const MODE_SENSE_10: u8 = 0x5A;

/// Page code: Read-Write Error Recovery (SBC-3 6.4.7).
pub const PAGE_RW_ERROR_RECOVERY: u8 = 0x01;
/// Page code: Disconnect-Reconnect (SPC-4 7.5.9).
pub const PAGE_DISCONNECT: u8 = 0x02;
/// Page code: Format Device (SBC-2 6.3.4, obsolete in SBC-3).
pub const PAGE_FORMAT: u8 = 0x03;
/// Page code: Rigid Disk Geometry (SBC-2 6.3.5, obsolete in SBC-3).
pub const PAGE_GEOMETRY: u8 = 0x04;
/// Page code: Caching (SBC-3 6.4.5).
pub const PAGE_CACHING: u8 = 0x08;
/// Page code: Control (SPC-4 7.5.8).
pub const PAGE_CONTROL: u8 = 0x0A;
/// Page code: Informational Exceptions Control (SPC-4 7.5.13).
pub const PAGE_IEC: u8 = 0x1C;
/// Page code: return all pages.
pub const PAGE_ALL: u8 = 0x3F;

/// Largest page built here (Format Device / Rigid Disk Geometry).
pub const MAX_PAGE_LEN: usize = 24;

/// Heads reported by the (fictitious) disk geometry.
const GEOMETRY_HEADS: u8 = 64;
/// Sectors per track reported by the (fictitious) disk geometry.
const GEOMETRY_SECTORS: u16 = 32;

/// The current values of the changeable mode parameters of one LU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeState {
    /// Caching page WCE: write-back cache enabled.
    pub wce: bool,
    /// Caching page RCD: read cache disabled.
    pub rcd: bool,
    /// Control page TST: 0 one task set, 1 a task set per I_T nexus.
    pub tst: u8,
    /// Control page TMF_ONLY: only TMFs while ACA is active.
    pub tmf_only: bool,
    /// Control page D_SENSE: descriptor-format sense data.
    pub d_sense: bool,
    /// Control page QUEUE ALGORITHM MODIFIER: 0 restricted, 1 unrestricted.
    pub qam: u8,
    /// Control page QErr: 0, 1 (abort all) or 3 (abort this nexus's tasks).
    pub qerr: u8,
    /// Control page SWP: software write protect.
    pub swp: bool,
    /// Control page TAS: report TASK ABORTED status to other nexuses.
    pub tas: bool,
}

impl ModeState {
    /// SCST vdisk defaults: write back, per-nexus task sets, unrestricted
    /// reordering, fixed sense, QErr 0, TAS 0, SWP 0.
    pub const SCST_DEFAULT: Self = Self {
        wce: true,
        rcd: false,
        tst: 1,
        tmf_only: false,
        d_sense: false,
        qam: 1,
        qerr: 0,
        swp: false,
        tas: false,
    };

    /// The sense data format D_SENSE selects.
    pub fn sense_format(&self) -> Format {
        if self.d_sense {
            Format::Descriptor
        } else {
            Format::Fixed
        }
    }
}

impl Default for ModeState {
    fn default() -> Self {
        Self::SCST_DEFAULT
    }
}

/// The fixed properties of an LU that mode data reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeParams {
    /// Peripheral device type; Format Device and Rigid Disk Geometry and the
    /// WP/DPOFUA bits are for direct-access devices only.
    pub peripheral_type: PeripheralType,
    /// Number of logical blocks (capacity).
    pub nblocks: u64,
    /// Logical block length in bytes.
    pub block_size: u32,
    /// The LU is read-only (WP bit).
    pub read_only: bool,
    /// DPO and FUA are supported (DPOFUA bit).
    pub dpofua: bool,
    /// MEDIUM ROTATION RATE of the Rigid Disk Geometry page.
    pub rotation_rate: u16,
    /// Default values (page control 10b).
    pub defaults: ModeState,
}

impl ModeParams {
    /// Parameters of a disk of `nblocks` blocks of `block_size` bytes.
    pub fn disk(nblocks: u64, block_size: u32) -> Self {
        Self {
            peripheral_type: PeripheralType::Disk,
            nblocks,
            block_size,
            read_only: false,
            dpofua: true,
            rotation_rate: 1,
            defaults: ModeState::SCST_DEFAULT,
        }
    }

    fn is_disk(&self) -> bool {
        self.peripheral_type == PeripheralType::Disk
    }

    /// The pages this LU has, in page code order.
    fn pages(&self) -> &'static [u8] {
        if self.is_disk() {
            &[
                PAGE_RW_ERROR_RECOVERY,
                PAGE_DISCONNECT,
                PAGE_FORMAT,
                PAGE_GEOMETRY,
                PAGE_CACHING,
                PAGE_CONTROL,
                PAGE_IEC,
            ]
        } else {
            &[
                PAGE_RW_ERROR_RECOVERY,
                PAGE_DISCONNECT,
                PAGE_CACHING,
                PAGE_CONTROL,
                PAGE_IEC,
            ]
        }
    }

    fn has_page(&self, code: u8) -> bool {
        self.pages().contains(&code)
    }
}

/// The PC field of MODE SENSE (SPC-4 6.11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageControl {
    /// 00b: current values.
    Current,
    /// 01b: changeable values (mask).
    Changeable,
    /// 10b: default values.
    Default,
    /// 11b: saved values (not supported).
    Saved,
}

impl PageControl {
    fn from_bits(v: u8) -> Self {
        match v & 3 {
            0 => Self::Current,
            1 => Self::Changeable,
            2 => Self::Default,
            _ => Self::Saved,
        }
    }
}

/// One mode page: bytes and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// The page bytes (only `len` used).
    pub bytes: [u8; MAX_PAGE_LEN],
    /// The page length including the two header bytes.
    pub len: usize,
}

impl Page {
    fn new(code: u8, len: usize) -> Self {
        let mut bytes = [0u8; MAX_PAGE_LEN];
        bytes[0] = code;
        bytes[1] = (len - 2) as u8;
        Self { bytes, len }
    }

    /// The used bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Disk geometry cylinders for `nblocks` (24-bit, saturating).
fn cylinders(nblocks: u64) -> u32 {
    let per_cyl = u64::from(GEOMETRY_HEADS) * u64::from(GEOMETRY_SECTORS);
    let c = nblocks.div_ceil(per_cyl);
    u32::try_from(c.min(0xff_ffff)).unwrap_or(0xff_ffff)
}

/// Builds mode page `code` for `pc` (not [`PageControl::Saved`]); `None` if
/// the LU has no such page.
pub fn mode_page(
    code: u8,
    pc: PageControl,
    params: &ModeParams,
    state: &ModeState,
) -> Option<Page> {
    if !params.has_page(code) || pc == PageControl::Saved {
        return None;
    }
    let s = match pc {
        PageControl::Default => &params.defaults,
        _ => state,
    };
    let mask = pc == PageControl::Changeable;
    let p = match code {
        PAGE_RW_ERROR_RECOVERY => {
            let mut p = Page::new(code, 12);
            if !mask {
                // AWRE, ARRE: the backing store reallocates on its own.
                p.bytes[2] = 0xc0;
            }
            p
        }
        PAGE_DISCONNECT => Page::new(code, 16),
        PAGE_FORMAT => {
            let mut p = Page::new(code, 24);
            if !mask {
                p.bytes[10..12].copy_from_slice(&GEOMETRY_SECTORS.to_be_bytes());
                let bs = u16::try_from(params.block_size).unwrap_or(0);
                p.bytes[12..14].copy_from_slice(&bs.to_be_bytes());
                p.bytes[14..16].copy_from_slice(&1u16.to_be_bytes());
                // HSEC: hard sectored.
                p.bytes[20] = 0x40;
            }
            p
        }
        PAGE_GEOMETRY => {
            let mut p = Page::new(code, 24);
            if !mask {
                let c = cylinders(params.nblocks).to_be_bytes();
                p.bytes[2..5].copy_from_slice(&c[1..4]);
                p.bytes[5] = GEOMETRY_HEADS;
                p.bytes[20..22].copy_from_slice(&params.rotation_rate.to_be_bytes());
            }
            p
        }
        PAGE_CACHING => {
            let mut p = Page::new(code, 20);
            if mask {
                p.bytes[2] = 0x05;
            } else {
                p.bytes[2] = (u8::from(s.wce) << 2) | u8::from(s.rcd);
                // DISABLE PRE-FETCH TRANSFER LENGTH, MAXIMUM PRE-FETCH and
                // its CEILING: no limits.
                p.bytes[4..6].copy_from_slice(&[0xff, 0xff]);
                p.bytes[8..12].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
            }
            p
        }
        PAGE_CONTROL => {
            let mut p = Page::new(code, 12);
            if mask {
                // TST and QAM take two values each: only their low bit can change.
                p.bytes[2] = 0x20 | 0x10 | 0x04;
                p.bytes[3] = 0x10 | 0x06;
                p.bytes[4] = 0x08;
                p.bytes[5] = 0x40;
            } else {
                p.bytes[2] =
                    ((s.tst & 7) << 5) | (u8::from(s.tmf_only) << 4) | (u8::from(s.d_sense) << 2);
                p.bytes[3] = ((s.qam & 0xf) << 4) | ((s.qerr & 3) << 1);
                p.bytes[4] = u8::from(s.swp) << 3;
                p.bytes[5] = u8::from(s.tas) << 6;
                // BUSY TIMEOUT PERIOD: unlimited.
                p.bytes[8..10].copy_from_slice(&[0xff, 0xff]);
            }
            p
        }
        PAGE_IEC => {
            let mut p = Page::new(code, 12);
            if !mask {
                // DEXCPT: informational exceptions are never reported.
                p.bytes[2] = 0x08;
            }
            p
        }
        _ => return None,
    };
    Some(p)
}

/// Reads the changeable fields of page `code` from `b` into `s`, rejecting
/// values this target does not implement; the error is the `(byte, bit)`
/// within the page.
fn apply_page(code: u8, b: &[u8], s: &mut ModeState) -> Result<(), (usize, u8)> {
    match code {
        PAGE_CACHING => {
            s.wce = get_u8(b, 2) & 0x04 != 0;
            s.rcd = get_u8(b, 2) & 0x01 != 0;
        }
        PAGE_CONTROL => {
            let b2 = get_u8(b, 2);
            let b3 = get_u8(b, 3);
            let tst = b2 >> 5;
            if tst > 1 {
                return Err((2, 7));
            }
            let qam = b3 >> 4;
            if qam > 1 {
                return Err((3, 7));
            }
            let qerr = (b3 >> 1) & 3;
            if qerr == 2 {
                return Err((3, 2));
            }
            s.tst = tst;
            s.tmf_only = b2 & 0x10 != 0;
            s.d_sense = b2 & 0x04 != 0;
            s.qam = qam;
            s.qerr = qerr;
            s.swp = get_u8(b, 4) & 0x08 != 0;
            s.tas = get_u8(b, 5) & 0x40 != 0;
        }
        _ => {}
    }
    Ok(())
}

/// A parsed MODE SENSE CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeSenseCdb {
    /// MODE SENSE(10) rather than (6).
    pub ten: bool,
    /// DBD: no block descriptors.
    pub dbd: bool,
    /// LLBAA (10 only): long LBA block descriptors allowed.
    pub llbaa: bool,
    /// Page control.
    pub pc: PageControl,
    /// Page code.
    pub page: u8,
    /// Subpage code.
    pub subpage: u8,
    /// Allocation length.
    pub alloc_len: usize,
}

/// Parses a MODE SENSE(6) or (10) CDB.
pub fn parse_mode_sense(cdb: &[u8]) -> Result<ModeSenseCdb, Sense> {
    let ten = match get_u8(cdb, 0) {
        MODE_SENSE_6 => false,
        MODE_SENSE_10 => true,
        _ => return Err(Sense::invalid_opcode()),
    };
    let b1 = get_u8(cdb, 1);
    let b2 = get_u8(cdb, 2);
    Ok(ModeSenseCdb {
        ten,
        dbd: b1 & 0x08 != 0,
        llbaa: ten && b1 & 0x10 != 0,
        pc: PageControl::from_bits(b2 >> 6),
        page: b2 & 0x3f,
        subpage: get_u8(cdb, 3),
        alloc_len: if ten {
            usize::from(get_u16(cdb, 7))
        } else {
            usize::from(get_u8(cdb, 4))
        },
    })
}

/// Device-specific parameter byte of the mode parameter header (SBC-3 6.4.1).
fn device_specific(params: &ModeParams, state: &ModeState) -> u8 {
    if !params.is_disk() {
        return 0;
    }
    let mut v = 0;
    if params.read_only || state.swp {
        v |= 0x80;
    }
    if params.dpofua {
        v |= 0x10;
    }
    v
}

/// Executes MODE SENSE(6/10) (SPC-4 6.11, 6.12).
///
/// Errors: PC=11b → ILLEGAL REQUEST, SAVING PARAMETERS NOT SUPPORTED (39/00)
/// at CDB byte 2 bit 7; unknown page → INVALID FIELD IN CDB byte 2 bit 5;
/// a subpage other than 00h/FFh → INVALID FIELD IN CDB byte 3.
pub fn mode_sense(
    cdb: &[u8],
    params: &ModeParams,
    state: &ModeState,
    buf: &mut [u8],
) -> Result<DataIn, Sense> {
    let c = parse_mode_sense(cdb)?;
    if c.pc == PageControl::Saved {
        return Err(
            Sense::new(Key::IllegalRequest, asc::SAVING_PARAMETERS_NOT_SUPPORTED).with_specific(
                super::sense::Specific::FieldPointer {
                    in_cdb: true,
                    byte: 2,
                    bit: Some(7),
                },
            ),
        );
    }
    if c.page != PAGE_ALL && !params.has_page(c.page) {
        return Err(Sense::invalid_field_in_cdb(2, Some(5)));
    }
    // No page has subpages: FFh ("all subpages") returns the page itself.
    if c.subpage != 0 && c.subpage != 0xff {
        return Err(Sense::invalid_field_in_cdb(3, None));
    }
    let n = buf.len().min(c.alloc_len);
    let mut w = Writer::new(buf.get_mut(..n).unwrap_or_default());
    let long = c.llbaa;
    let bd_len: usize = match (c.dbd, long) {
        (true, _) => 0,
        (false, true) => 16,
        (false, false) => 8,
    };
    let dsp = device_specific(params, state);
    if c.ten {
        w.u16(0);
        w.u8(0);
        w.u8(dsp);
        w.u8(u8::from(long && bd_len != 0));
        w.u8(0);
        w.u16(bd_len as u16);
    } else {
        w.u8(0);
        w.u8(0);
        w.u8(dsp);
        w.u8(bd_len as u8);
    }
    if bd_len != 0 {
        // Neither capacity nor block length is changeable.
        let (blocks, bs) = if c.pc == PageControl::Changeable {
            (0, 0)
        } else {
            (params.nblocks, params.block_size)
        };
        if long {
            w.u64(blocks);
            w.u32(0);
            w.u32(bs);
        } else {
            w.u32(u32::try_from(blocks).unwrap_or(u32::MAX));
            w.u8(0);
            let [_, b1, b2, b3] = bs.min(0xff_ffff).to_be_bytes();
            w.bytes(&[b1, b2, b3]);
        }
    }
    for &code in params.pages() {
        if c.page == PAGE_ALL || c.page == code {
            if let Some(p) = mode_page(code, c.pc, params, state) {
                w.bytes(p.as_bytes());
            }
        }
    }
    let total = w.len();
    if c.ten {
        w.patch_u16(
            0,
            u16::try_from(total.saturating_sub(2)).unwrap_or(u16::MAX),
        );
    } else {
        w.patch_u8(0, u8::try_from(total.saturating_sub(1)).unwrap_or(u8::MAX));
    }
    Ok(DataIn {
        len: w.stored(),
        full_len: total,
    })
}

/// Which pages a successful MODE SELECT changed, so the core can queue MODE
/// PARAMETERS CHANGED (2A/01) for the other I_T nexuses (SPC-4 6.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ModeChanges {
    /// The Caching page changed (WCE/RCD).
    pub caching: bool,
    /// The Control page changed.
    pub control: bool,
}

impl ModeChanges {
    /// Whether any parameter changed.
    pub fn any(&self) -> bool {
        self.caching || self.control
    }

    /// Whether page `code` changed.
    pub fn contains(&self, code: u8) -> bool {
        match code {
            PAGE_CACHING => self.caching,
            PAGE_CONTROL => self.control,
            _ => false,
        }
    }
}

/// ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST at `byte`/`bit`.
fn bad_param(byte: usize, bit: Option<u8>) -> Sense {
    Sense::invalid_field_in_param(u16::try_from(byte).unwrap_or(u16::MAX), bit)
}

/// Checks the block descriptor at `d` against the LU (SBC-3 6.4.2): the
/// number of blocks must be 0 or the current value, the block length 0 or
/// the current block size. `base` is the descriptor's offset in the list.
fn check_block_descriptor(
    d: &[u8],
    long: bool,
    base: usize,
    params: &ModeParams,
) -> Result<(), Sense> {
    if long {
        let blocks = get_u64(d, 0);
        if blocks != 0 && blocks != params.nblocks {
            return Err(bad_param(base, None));
        }
        if get_u32(d, 8) != 0 {
            return Err(bad_param(base + 8, None));
        }
        let bs = get_u32(d, 12);
        if bs != 0 && bs != params.block_size {
            return Err(bad_param(base + 12, None));
        }
    } else {
        let blocks = get_u32(d, 0);
        let reported = u32::try_from(params.nblocks).unwrap_or(u32::MAX);
        if blocks != 0 && blocks != reported {
            return Err(bad_param(base, None));
        }
        if get_u8(d, 4) != 0 {
            return Err(bad_param(base + 4, None));
        }
        let bs = get_u24(d, 5);
        if bs != 0 && bs != params.block_size {
            return Err(bad_param(base + 5, None));
        }
    }
    Ok(())
}

/// Executes MODE SELECT(6/10) (SPC-4 6.13, 6.14) with the parameter list
/// `data` (the Data-Out buffer). On success `state` holds the new values and
/// the result says which pages changed; on error `state` is untouched.
///
/// Errors, in order: PF=0 → INVALID FIELD IN CDB byte 1 bit 4; SP=1 → byte 1
/// bit 0; fewer bytes than PARAMETER LIST LENGTH, a list shorter than the
/// header plus block descriptors, or a truncated page → PARAMETER LIST LENGTH
/// ERROR; a non-zero medium type, bad block descriptor length, block
/// descriptor values, unsupported page, wrong page length, a change to a
/// non-changeable bit or an unsupported value → INVALID FIELD IN PARAMETER
/// LIST at that byte (and bit).
pub fn mode_select(
    cdb: &[u8],
    data: &[u8],
    params: &ModeParams,
    state: &mut ModeState,
) -> Result<ModeChanges, Sense> {
    let ten = match get_u8(cdb, 0) {
        MODE_SELECT_6 => false,
        MODE_SELECT_10 => true,
        _ => return Err(Sense::invalid_opcode()),
    };
    let b1 = get_u8(cdb, 1);
    if b1 & 0x10 == 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    if b1 & 0x01 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    let plen = if ten {
        usize::from(get_u16(cdb, 7))
    } else {
        usize::from(get_u8(cdb, 4))
    };
    if plen == 0 {
        return Ok(ModeChanges::default());
    }
    let list = data
        .get(..plen)
        .ok_or_else(Sense::param_list_length_error)?;
    let hdr_len = if ten { 8 } else { 4 };
    if plen < hdr_len {
        return Err(Sense::param_list_length_error());
    }
    let (medium_off, bdl_off) = if ten { (2, 6) } else { (1, 3) };
    if get_u8(list, medium_off) != 0 {
        return Err(bad_param(medium_off, None));
    }
    let long = ten && get_u8(list, 4) & 0x01 != 0;
    let bd_len = if ten {
        usize::from(get_u16(list, 6))
    } else {
        usize::from(get_u8(list, 3))
    };
    let one_bd = if long { 16 } else { 8 };
    if bd_len != 0 && bd_len != one_bd {
        return Err(bad_param(bdl_off, None));
    }
    let pages_off = hdr_len
        .checked_add(bd_len)
        .ok_or_else(Sense::param_list_length_error)?;
    if pages_off > plen {
        return Err(Sense::param_list_length_error());
    }
    if bd_len != 0 {
        let d = list.get(hdr_len..pages_off).unwrap_or_default();
        check_block_descriptor(d, long, hdr_len, params)?;
    }

    let mut work = *state;
    let mut off = pages_off;
    while off < plen {
        let rest = list.get(off..).unwrap_or_default();
        if rest.len() < 2 {
            return Err(Sense::param_list_length_error());
        }
        let b0 = get_u8(rest, 0);
        let code = b0 & 0x3f;
        if !params.has_page(code) {
            return Err(bad_param(off, Some(5)));
        }
        // None of these pages has subpages.
        if b0 & 0x40 != 0 {
            return Err(bad_param(off, Some(6)));
        }
        let cur = mode_page(code, PageControl::Current, params, &work)
            .ok_or_else(|| bad_param(off, Some(5)))?;
        let mask = mode_page(code, PageControl::Changeable, params, &work)
            .ok_or_else(|| bad_param(off, Some(5)))?;
        let page_len = usize::from(get_u8(rest, 1)) + 2;
        if page_len != cur.len {
            return Err(bad_param(off + 1, None));
        }
        let new = rest
            .get(..page_len)
            .ok_or_else(Sense::param_list_length_error)?;
        for i in 2..page_len {
            let m = mask.bytes.get(i).copied().unwrap_or(0);
            let diff = (get_u8(new, i) ^ cur.bytes.get(i).copied().unwrap_or(0)) & !m;
            if diff != 0 {
                let bit = 7 - diff.leading_zeros() as u8;
                return Err(bad_param(off + i, Some(bit)));
            }
        }
        apply_page(code, new, &mut work).map_err(|(i, bit)| bad_param(off + i, Some(bit)))?;
        off += page_len;
    }

    let changes = ModeChanges {
        caching: work.wce != state.wce || work.rcd != state.rcd,
        control: work.tst != state.tst
            || work.tmf_only != state.tmf_only
            || work.d_sense != state.d_sense
            || work.qam != state.qam
            || work.qerr != state.qerr
            || work.swp != state.swp
            || work.tas != state.tas,
    };
    *state = work;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::super::sense::Specific;
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn params() -> ModeParams {
        ModeParams::disk(0x10_0000, 512)
    }

    fn cdrom() -> ModeParams {
        ModeParams {
            peripheral_type: PeripheralType::Cdrom,
            dpofua: false,
            ..ModeParams::disk(1000, 2048)
        }
    }

    fn ms6(dbd: bool, pc: u8, page: u8, sub: u8, alloc: u8) -> [u8; 6] {
        [
            MODE_SENSE_6,
            if dbd { 8 } else { 0 },
            (pc << 6) | page,
            sub,
            alloc,
            0,
        ]
    }

    fn ms10(llbaa: bool, dbd: bool, pc: u8, page: u8, sub: u8, alloc: u16) -> [u8; 10] {
        let [h, l] = alloc.to_be_bytes();
        let b1 = if dbd { 8 } else { 0 } | if llbaa { 0x10 } else { 0 };
        [MODE_SENSE_10, b1, (pc << 6) | page, sub, 0, 0, 0, h, l, 0]
    }

    fn sense(c: &[u8], p: &ModeParams, s: &ModeState) -> Result<Vec<u8>, Sense> {
        let mut b = [0u8; 512];
        let r = mode_sense(c, p, s, &mut b)?;
        Ok(b[..r.len].to_vec())
    }

    fn fp(s: &Sense) -> Option<(bool, u16, Option<u8>)> {
        match s.specific {
            Some(Specific::FieldPointer { in_cdb, byte, bit }) => Some((in_cdb, byte, bit)),
            _ => None,
        }
    }

    fn param_err(s: &Sense) -> Option<(u16, Option<u8>)> {
        if s.key != Key::IllegalRequest || s.asc != asc::INVALID_FIELD_IN_PARAM_LIST {
            return None;
        }
        match fp(s) {
            Some((false, byte, bit)) => Some((byte, bit)),
            _ => None,
        }
    }

    fn cdb_err(s: &Sense) -> Option<(u16, Option<u8>)> {
        if s.key != Key::IllegalRequest || s.asc != asc::INVALID_FIELD_IN_CDB {
            return None;
        }
        match fp(s) {
            Some((true, byte, bit)) => Some((byte, bit)),
            _ => None,
        }
    }

    fn sel6(len: u8) -> [u8; 6] {
        [MODE_SELECT_6, 0x10, 0, 0, len, 0]
    }

    fn sel10(len: u16) -> [u8; 10] {
        let [h, l] = len.to_be_bytes();
        [MODE_SELECT_10, 0x10, 0, 0, 0, 0, 0, h, l, 0]
    }

    /// MODE SELECT(6) list: header without block descriptor + pages.
    fn list6(pages: &[&[u8]]) -> Vec<u8> {
        let mut v = std::vec![0u8, 0, 0, 0];
        for p in pages {
            v.extend_from_slice(p);
        }
        v
    }

    fn select6(list: &[u8], p: &ModeParams, s: &mut ModeState) -> Result<ModeChanges, Sense> {
        mode_select(&sel6(list.len() as u8), list, p, s)
    }

    fn cur(code: u8, s: &ModeState) -> Page {
        mode_page(code, PageControl::Current, &params(), s).unwrap()
    }

    // ---- MODE SENSE header / block descriptors ----

    #[test]
    fn sense6_caching_layout() {
        let s = ModeState::SCST_DEFAULT;
        let d = sense(&ms6(false, 0, 8, 0, 255), &params(), &s).unwrap();
        assert_eq!(d.len(), 4 + 8 + 20);
        assert_eq!(&d[..4], &[31, 0, 0x10, 8]);
        assert_eq!(&d[4..12], &[0, 0x10, 0, 0, 0, 0, 2, 0]);
        assert_eq!(&d[12..16], &[0x08, 0x12, 0x04, 0]);
    }

    #[test]
    fn sense6_dbd() {
        let d = sense(&ms6(true, 0, 8, 0, 255), &params(), &ModeState::default()).unwrap();
        assert_eq!(&d[..4], &[23, 0, 0x10, 0]);
        assert_eq!(d[4], 0x08);
    }

    #[test]
    fn sense6_read_only_wp() {
        let mut p = params();
        p.read_only = true;
        let d = sense(&ms6(true, 0, 8, 0, 255), &p, &ModeState::default()).unwrap();
        assert_eq!(d[2], 0x90);
    }

    #[test]
    fn sense6_swp_sets_wp() {
        let s = ModeState {
            swp: true,
            ..ModeState::default()
        };
        let d = sense(&ms6(true, 0, 8, 0, 255), &params(), &s).unwrap();
        assert_eq!(d[2] & 0x80, 0x80);
    }

    #[test]
    fn sense6_no_dpofua() {
        let mut p = params();
        p.dpofua = false;
        let d = sense(&ms6(true, 0, 8, 0, 255), &p, &ModeState::default()).unwrap();
        assert_eq!(d[2], 0);
    }

    #[test]
    fn sense_short_descriptor_caps_blocks() {
        let p = ModeParams::disk(0x1_0000_0005, 4096);
        let d = sense(&ms6(false, 0, 8, 0, 255), &p, &ModeState::default()).unwrap();
        assert_eq!(&d[4..12], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0]);
    }

    #[test]
    fn sense10_header() {
        let d = sense(
            &ms10(false, false, 0, 0x0a, 0, 512),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(d.len(), 8 + 8 + 12);
        assert_eq!(&d[..8], &[0, 26, 0, 0x10, 0, 0, 0, 8]);
        assert_eq!(d[16], 0x0a);
    }

    #[test]
    fn sense10_llbaa() {
        let p = ModeParams::disk(0x1_0000_0005, 512);
        let d = sense(
            &ms10(true, false, 0, 0x0a, 0, 512),
            &p,
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(&d[..8], &[0, 34, 0, 0x10, 1, 0, 0, 16]);
        assert_eq!(&d[8..24], &[0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 2, 0]);
    }

    #[test]
    fn sense10_llbaa_with_dbd() {
        let d = sense(
            &ms10(true, true, 0, 0x0a, 0, 512),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(&d[..8], &[0, 18, 0, 0x10, 0, 0, 0, 0]);
    }

    #[test]
    fn sense6_ignores_llbaa_bit() {
        let mut c = ms6(false, 0, 8, 0, 255);
        c[1] |= 0x10;
        let d = sense(&c, &params(), &ModeState::default()).unwrap();
        assert_eq!(d[3], 8);
    }

    #[test]
    fn sense_changeable_block_descriptor_zero() {
        let d = sense(&ms6(false, 1, 8, 0, 255), &params(), &ModeState::default()).unwrap();
        assert_eq!(&d[4..12], &[0; 8]);
    }

    // ---- pages ----

    #[test]
    fn page_rw_error_recovery() {
        let d = sense(&ms6(true, 0, 1, 0, 255), &params(), &ModeState::default()).unwrap();
        assert_eq!(&d[4..], &[1, 0x0a, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn page_disconnect() {
        let d = sense(&ms6(true, 0, 2, 0, 255), &params(), &ModeState::default()).unwrap();
        assert_eq!(d.len(), 4 + 16);
        assert_eq!(&d[4..6], &[2, 0x0e]);
        assert!(d[6..].iter().all(|&b| b == 0));
    }

    #[test]
    fn page_format() {
        let d = sense(&ms6(true, 0, 3, 0, 255), &params(), &ModeState::default()).unwrap();
        assert_eq!(d.len(), 4 + 24);
        let p = &d[4..];
        assert_eq!(&p[..2], &[3, 0x16]);
        assert_eq!(&p[10..16], &[0, 32, 2, 0, 0, 1]);
        assert_eq!(p[20], 0x40);
    }

    #[test]
    fn page_geometry() {
        let mut pr = params();
        pr.rotation_rate = 10000;
        let d = sense(&ms6(true, 0, 4, 0, 255), &pr, &ModeState::default()).unwrap();
        let p = &d[4..];
        assert_eq!(&p[..2], &[4, 0x16]);
        // 0x100000 blocks / (64 * 32) = 512 cylinders.
        assert_eq!(&p[2..6], &[0, 2, 0, 64]);
        assert_eq!(get_u16(p, 20), 10000);
    }

    #[test]
    fn geometry_cylinders_round_up_and_saturate() {
        assert_eq!(cylinders(0), 0);
        assert_eq!(cylinders(1), 1);
        assert_eq!(cylinders(2049), 2);
        assert_eq!(cylinders(u64::MAX), 0xff_ffff);
    }

    #[test]
    fn page_caching_values() {
        let s = ModeState {
            wce: false,
            rcd: true,
            ..ModeState::default()
        };
        let d = sense(&ms6(true, 0, 8, 0, 255), &params(), &s).unwrap();
        assert_eq!(
            &d[4..],
            &[8, 0x12, 0x01, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn page_control_values() {
        let s = ModeState {
            tst: 1,
            tmf_only: true,
            d_sense: true,
            qam: 1,
            qerr: 3,
            swp: true,
            tas: true,
            ..ModeState::default()
        };
        let d = sense(&ms6(true, 0, 0x0a, 0, 255), &params(), &s).unwrap();
        assert_eq!(
            &d[4..],
            &[0x0a, 0x0a, 0x34, 0x16, 0x08, 0x40, 0, 0, 0xff, 0xff, 0, 0]
        );
    }

    #[test]
    fn page_control_default_scst() {
        let d = sense(
            &ms6(true, 0, 0x0a, 0, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(&d[6..10], &[0x20, 0x10, 0, 0]);
    }

    #[test]
    fn page_iec() {
        let d = sense(
            &ms6(true, 0, 0x1c, 0, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(&d[4..], &[0x1c, 0x0a, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn all_pages_disk() {
        let d = sense(
            &ms6(true, 0, 0x3f, 0, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        let mut off = 4;
        let mut codes = Vec::new();
        while off < d.len() {
            codes.push(d[off] & 0x3f);
            off += usize::from(d[off + 1]) + 2;
        }
        assert_eq!(off, d.len());
        assert_eq!(codes, [1, 2, 3, 4, 8, 0x0a, 0x1c]);
        assert_eq!(usize::from(d[0]) + 1, d.len());
    }

    #[test]
    fn all_pages_cdrom() {
        let d = sense(&ms6(true, 0, 0x3f, 0, 255), &cdrom(), &ModeState::default()).unwrap();
        let mut off = 4;
        let mut codes = Vec::new();
        while off < d.len() {
            codes.push(d[off]);
            off += usize::from(d[off + 1]) + 2;
        }
        assert_eq!(codes, [1, 2, 8, 0x0a, 0x1c]);
        // No WP/DPOFUA for non-disk devices.
        assert_eq!(d[2], 0);
    }

    #[test]
    fn cdrom_has_no_format_page() {
        let e = sense(&ms6(true, 0, 3, 0, 255), &cdrom(), &ModeState::default()).unwrap_err();
        assert_eq!(cdb_err(&e), Some((2, Some(5))));
    }

    #[test]
    fn all_pages_all_subpages() {
        let a = sense(
            &ms6(true, 0, 0x3f, 0, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        let b = sense(
            &ms6(true, 0, 0x3f, 0xff, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn page_all_subpages_is_page() {
        let a = sense(&ms6(true, 0, 8, 0, 255), &params(), &ModeState::default()).unwrap();
        let b = sense(
            &ms6(true, 0, 8, 0xff, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_subpage() {
        for sub in [1u8, 2, 0x10, 0xfe] {
            let e =
                sense(&ms6(true, 0, 8, sub, 255), &params(), &ModeState::default()).unwrap_err();
            assert_eq!(cdb_err(&e), Some((3, None)));
        }
    }

    #[test]
    fn bad_page() {
        for page in [0u8, 5, 7, 0x09, 0x19, 0x2a, 0x3e] {
            let e = sense(
                &ms6(true, 0, page, 0, 255),
                &params(),
                &ModeState::default(),
            )
            .unwrap_err();
            assert_eq!(cdb_err(&e), Some((2, Some(5))), "page {page:#x}");
        }
    }

    #[test]
    fn saved_values_not_supported() {
        for c in [
            &ms6(true, 3, 8, 0, 255)[..],
            &ms10(false, false, 3, 0x3f, 0, 255)[..],
        ] {
            let e = sense(c, &params(), &ModeState::default()).unwrap_err();
            assert_eq!(e.key, Key::IllegalRequest);
            assert_eq!(e.asc, asc::SAVING_PARAMETERS_NOT_SUPPORTED);
            assert_eq!(fp(&e), Some((true, 2, Some(7))));
        }
    }

    #[test]
    fn saved_checked_before_page() {
        let e = sense(
            &ms6(true, 3, 0x05, 0, 255),
            &params(),
            &ModeState::default(),
        )
        .unwrap_err();
        assert_eq!(e.asc, asc::SAVING_PARAMETERS_NOT_SUPPORTED);
    }

    #[test]
    fn changeable_masks() {
        let s = ModeState::default();
        let d = sense(&ms6(true, 1, 8, 0, 255), &params(), &s).unwrap();
        assert_eq!(&d[4..8], &[8, 0x12, 0x05, 0]);
        assert!(d[8..].iter().all(|&b| b == 0));
        let d = sense(&ms6(true, 1, 0x0a, 0, 255), &params(), &s).unwrap();
        assert_eq!(
            &d[4..],
            &[0x0a, 0x0a, 0x34, 0x16, 0x08, 0x40, 0, 0, 0, 0, 0, 0]
        );
        for page in [1u8, 2, 3, 4, 0x1c] {
            let d = sense(&ms6(true, 1, page, 0, 255), &params(), &s).unwrap();
            assert!(d[6..].iter().all(|&b| b == 0), "page {page:#x}");
        }
    }

    #[test]
    fn default_values_come_from_params() {
        let mut p = params();
        p.defaults.wce = false;
        let s = ModeState::default();
        let d = sense(&ms6(true, 2, 8, 0, 255), &p, &s).unwrap();
        assert_eq!(d[6], 0x00);
        let d = sense(&ms6(true, 0, 8, 0, 255), &p, &s).unwrap();
        assert_eq!(d[6], 0x04);
    }

    #[test]
    fn sense_truncation_keeps_full_length() {
        let mut b = [0u8; 255];
        let r = mode_sense(
            &ms6(false, 0, 0x3f, 0, 10),
            &params(),
            &ModeState::default(),
            &mut b,
        )
        .unwrap();
        assert_eq!(r.len, 10);
        assert_eq!(usize::from(b[0]) + 1, r.full_len);
        assert_eq!(b[10], 0);
    }

    #[test]
    fn sense10_alloc_16bit() {
        let mut b = [0u8; 512];
        let r = mode_sense(
            &ms10(false, false, 0, 0x3f, 0, 300),
            &params(),
            &ModeState::default(),
            &mut b,
        )
        .unwrap();
        assert_eq!(r.len, r.full_len);
        assert_eq!(usize::from(get_u16(&b, 0)) + 2, r.full_len);
    }

    #[test]
    fn sense_alloc_zero() {
        let mut b = [0u8; 8];
        let r = mode_sense(
            &ms6(false, 0, 0x3f, 0, 0),
            &params(),
            &ModeState::default(),
            &mut b,
        )
        .unwrap();
        assert_eq!(r.len, 0);
    }

    #[test]
    fn sense_wrong_opcode() {
        let e = mode_sense(
            &[0x12, 0, 0, 0, 0, 0],
            &params(),
            &ModeState::default(),
            &mut [0u8; 8],
        )
        .unwrap_err();
        assert_eq!(e, Sense::invalid_opcode());
    }

    #[test]
    fn sense_format_follows_d_sense() {
        assert_eq!(ModeState::default().sense_format(), Format::Fixed);
        let s = ModeState {
            d_sense: true,
            ..ModeState::default()
        };
        assert_eq!(s.sense_format(), Format::Descriptor);
    }

    // ---- MODE SELECT ----

    #[test]
    fn select_pf_required() {
        let mut s = ModeState::default();
        let e = mode_select(&[MODE_SELECT_6, 0, 0, 0, 0, 0], &[], &params(), &mut s).unwrap_err();
        assert_eq!(cdb_err(&e), Some((1, Some(4))));
    }

    #[test]
    fn select_sp_rejected() {
        let mut s = ModeState::default();
        let e =
            mode_select(&[MODE_SELECT_6, 0x11, 0, 0, 0, 0], &[], &params(), &mut s).unwrap_err();
        assert_eq!(cdb_err(&e), Some((1, Some(0))));
        let e = mode_select(
            &[MODE_SELECT_10, 0x11, 0, 0, 0, 0, 0, 0, 0, 0],
            &[],
            &params(),
            &mut s,
        )
        .unwrap_err();
        assert_eq!(cdb_err(&e), Some((1, Some(0))));
    }

    #[test]
    fn select_zero_length_is_noop() {
        let mut s = ModeState::default();
        let r = mode_select(&sel6(0), &[], &params(), &mut s).unwrap();
        assert!(!r.any());
        assert_eq!(s, ModeState::default());
    }

    #[test]
    fn select_header_only() {
        let mut s = ModeState::default();
        assert!(!select6(&[0, 0, 0, 0], &params(), &mut s).unwrap().any());
    }

    #[test]
    fn select_short_header() {
        let mut s = ModeState::default();
        let e = select6(&[0, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(e, Sense::param_list_length_error());
        let e = mode_select(&sel10(7), &[0; 7], &params(), &mut s).unwrap_err();
        assert_eq!(e, Sense::param_list_length_error());
    }

    #[test]
    fn select_data_shorter_than_plen() {
        let mut s = ModeState::default();
        let e = mode_select(&sel6(24), &[0; 10], &params(), &mut s).unwrap_err();
        assert_eq!(e, Sense::param_list_length_error());
    }

    #[test]
    fn select_medium_type() {
        let mut s = ModeState::default();
        let e = select6(&[0, 1, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((1, None)));
        let e = mode_select(&sel10(8), &[0, 0, 5, 0, 0, 0, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((2, None)));
    }

    #[test]
    fn select_ignores_mode_data_length_and_dsp() {
        let mut s = ModeState::default();
        assert!(select6(&[0x55, 0, 0x90, 0], &params(), &mut s).is_ok());
    }

    #[test]
    fn select_clear_wce() {
        let mut s = ModeState::default();
        let mut p = cur(PAGE_CACHING, &s);
        p.bytes[2] &= !0x04;
        let r = select6(&list6(&[p.as_bytes()]), &params(), &mut s).unwrap();
        assert_eq!(
            r,
            ModeChanges {
                caching: true,
                control: false
            }
        );
        assert!(r.contains(PAGE_CACHING));
        assert!(!r.contains(PAGE_CONTROL));
        assert!(!s.wce);
    }

    #[test]
    fn select_same_values_no_change() {
        let mut s = ModeState::default();
        let a = cur(PAGE_CACHING, &s);
        let b = cur(PAGE_CONTROL, &s);
        let r = select6(&list6(&[a.as_bytes(), b.as_bytes()]), &params(), &mut s).unwrap();
        assert!(!r.any());
    }

    #[test]
    fn select_unchangeable_page_unchanged_ok() {
        let mut s = ModeState::default();
        let pages: Vec<Page> = [1u8, 2, 3, 4, 0x1c].iter().map(|&c| cur(c, &s)).collect();
        let refs: Vec<&[u8]> = pages.iter().map(|p| p.as_bytes()).collect();
        assert!(!select6(&list6(&refs), &params(), &mut s).unwrap().any());
    }

    #[test]
    fn select_control_fields() {
        let mut s = ModeState::default();
        let p = [0x0a, 0x0a, 0x14, 0x06, 0x08, 0x40, 0, 0, 0xff, 0xff, 0, 0];
        let r = select6(&list6(&[&p]), &params(), &mut s).unwrap();
        assert_eq!(
            r,
            ModeChanges {
                caching: false,
                control: true
            }
        );
        assert_eq!(
            s,
            ModeState {
                wce: true,
                rcd: false,
                tst: 0,
                tmf_only: true,
                d_sense: true,
                qam: 0,
                qerr: 3,
                swp: true,
                tas: true,
            }
        );
    }

    #[test]
    fn select_control_reserved_values() {
        let mut s = ModeState::default();
        // QErr = 2 is reserved.
        let p = [0x0a, 0x0a, 0x20, 0x14, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
        let e = select6(&list6(&[&p]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((4 + 3, Some(2))));
        assert_eq!(s, ModeState::default());
    }

    #[test]
    fn select_tst_high_bits_not_changeable() {
        let mut s = ModeState::default();
        // TST = 3: bit 6 is not changeable.
        let p = [0x0a, 0x0a, 0x60, 0x10, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
        let e = select6(&list6(&[&p]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((4 + 2, Some(6))));
    }

    #[test]
    fn select_non_changeable_bit_pointer() {
        let mut s = ModeState::default();
        // GLTSD (byte 2 bit 1) of the Control page.
        let mut p = cur(PAGE_CONTROL, &s);
        p.bytes[2] |= 0x02;
        let e = select6(&list6(&[p.as_bytes()]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((6, Some(1))));
        // ATO (byte 5 bit 7).
        let mut p = cur(PAGE_CONTROL, &s);
        p.bytes[5] |= 0x80;
        let e = select6(&list6(&[p.as_bytes()]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((9, Some(7))));
        // BUSY TIMEOUT PERIOD.
        let mut p = cur(PAGE_CONTROL, &s);
        p.bytes[9] = 0;
        let e = select6(&list6(&[p.as_bytes()]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((13, Some(7))));
    }

    #[test]
    fn select_caching_non_changeable() {
        let mut s = ModeState::default();
        let mut p = cur(PAGE_CACHING, &s);
        p.bytes[12] = 0x20; // DRA
        let e = select6(&list6(&[p.as_bytes()]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((16, Some(5))));
    }

    #[test]
    fn select_second_page_pointer_offset() {
        let mut s = ModeState::default();
        let a = cur(PAGE_CACHING, &s);
        let mut b = cur(PAGE_IEC, &s);
        b.bytes[3] = 0x06; // MRIE
        let e = select6(&list6(&[a.as_bytes(), b.as_bytes()]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((4 + 20 + 3, Some(2))));
    }

    #[test]
    fn select_atomic_on_error() {
        let mut s = ModeState::default();
        let mut a = cur(PAGE_CACHING, &s);
        a.bytes[2] = 0;
        let mut b = cur(PAGE_CONTROL, &s);
        b.bytes[3] = 0x20; // QAM 2
        let e = select6(&list6(&[a.as_bytes(), b.as_bytes()]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((4 + 20 + 3, Some(5))));
        assert_eq!(s, ModeState::default());
    }

    #[test]
    fn select_unsupported_page() {
        let mut s = ModeState::default();
        let e = select6(
            &list6(&[&[0x19, 0x06, 0, 0, 0, 0, 0, 0]]),
            &params(),
            &mut s,
        )
        .unwrap_err();
        assert_eq!(param_err(&e), Some((4, Some(5))));
        let e = select6(&list6(&[&[0x03, 0x16]]), &cdrom(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((4, Some(5))));
    }

    #[test]
    fn select_subpage_format_rejected() {
        let mut s = ModeState::default();
        let e = select6(
            &list6(&[&[0x4a, 0x01, 0x00, 0x04, 0, 0, 0, 0]]),
            &params(),
            &mut s,
        )
        .unwrap_err();
        assert_eq!(param_err(&e), Some((4, Some(6))));
    }

    #[test]
    fn select_ps_bit_ignored() {
        let mut s = ModeState::default();
        let mut p = cur(PAGE_CACHING, &s);
        p.bytes[0] |= 0x80;
        assert!(select6(&list6(&[p.as_bytes()]), &params(), &mut s).is_ok());
    }

    #[test]
    fn select_wrong_page_length() {
        let mut s = ModeState::default();
        let mut p = cur(PAGE_CACHING, &s);
        p.bytes[1] = 0x0a;
        let e = select6(&list6(&[&p.bytes[..12]]), &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((5, None)));
    }

    #[test]
    fn select_truncated_page() {
        let mut s = ModeState::default();
        let p = cur(PAGE_CACHING, &s);
        let e = select6(&list6(&[&p.bytes[..10]]), &params(), &mut s).unwrap_err();
        assert_eq!(e, Sense::param_list_length_error());
    }

    #[test]
    fn select_trailing_byte() {
        let mut s = ModeState::default();
        let p = cur(PAGE_CACHING, &s);
        let e = select6(&list6(&[p.as_bytes(), &[0x08]]), &params(), &mut s).unwrap_err();
        assert_eq!(e, Sense::param_list_length_error());
    }

    #[test]
    fn select_block_descriptor_ok() {
        let mut s = ModeState::default();
        let mut v = std::vec![0u8, 0, 0, 8, 0, 0x10, 0, 0, 0, 0, 2, 0];
        let mut p = cur(PAGE_CACHING, &s);
        p.bytes[2] = 0;
        v.extend_from_slice(p.as_bytes());
        assert!(select6(&v, &params(), &mut s).unwrap().caching);
    }

    #[test]
    fn select_block_descriptor_zeros_ok() {
        let mut s = ModeState::default();
        assert!(select6(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0], &params(), &mut s).is_ok());
    }

    #[test]
    fn select_block_length_mismatch() {
        let mut s = ModeState::default();
        let e = select6(&[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x10, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((9, None)));
    }

    #[test]
    fn select_block_count_mismatch() {
        let mut s = ModeState::default();
        let e = select6(&[0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 2, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((4, None)));
    }

    #[test]
    fn select_density_code() {
        let mut s = ModeState::default();
        let e = select6(&[0, 0, 0, 8, 0, 0, 0, 0, 1, 0, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((8, None)));
    }

    #[test]
    fn select_bad_bd_length() {
        let mut s = ModeState::default();
        let e = select6(&[0, 0, 0, 4, 0, 0, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((3, None)));
        let e = select6(&[0, 0, 0, 16, 0, 0, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((3, None)));
    }

    #[test]
    fn select_bd_past_end() {
        let mut s = ModeState::default();
        let e = select6(&[0, 0, 0, 8, 0, 0, 0, 0], &params(), &mut s).unwrap_err();
        assert_eq!(e, Sense::param_list_length_error());
    }

    #[test]
    fn select10_long_descriptor() {
        let mut s = ModeState::default();
        let mut v = std::vec![0u8, 0, 0, 0, 1, 0, 0, 16];
        v.extend_from_slice(&0x10_0000u64.to_be_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 2, 0]);
        let mut p = cur(PAGE_CONTROL, &s);
        p.bytes[2] |= 0x04;
        v.extend_from_slice(p.as_bytes());
        let r = mode_select(&sel10(v.len() as u16), &v, &params(), &mut s).unwrap();
        assert!(r.control);
        assert!(s.d_sense);
    }

    #[test]
    fn select10_long_descriptor_bad_length() {
        let mut s = ModeState::default();
        let mut v = std::vec![0u8, 0, 0, 0, 1, 0, 0, 16];
        v.extend_from_slice(&[0; 12]);
        v.extend_from_slice(&[0, 0, 0x10, 0]);
        let e = mode_select(&sel10(v.len() as u16), &v, &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((8 + 12, None)));
        // LONGLBA clear: 16 is not a valid descriptor length.
        let mut v = std::vec![0u8, 0, 0, 0, 0, 0, 0, 16];
        v.extend_from_slice(&[0; 16]);
        let e = mode_select(&sel10(v.len() as u16), &v, &params(), &mut s).unwrap_err();
        assert_eq!(param_err(&e), Some((6, None)));
    }

    #[test]
    fn select10_short_descriptor() {
        let mut s = ModeState::default();
        let v = [0u8, 0, 0, 0, 0, 0, 0, 8, 0, 0x10, 0, 0, 0, 0, 2, 0];
        assert!(mode_select(&sel10(16), &v, &params(), &mut s).is_ok());
    }

    #[test]
    fn select_wrong_opcode() {
        let mut s = ModeState::default();
        assert_eq!(
            mode_select(&[0x1a, 0x10, 0, 0, 4, 0], &[0; 4], &params(), &mut s),
            Err(Sense::invalid_opcode())
        );
    }

    #[test]
    fn select_then_sense_round_trip() {
        let mut s = ModeState::default();
        let p = [0x0a, 0x0a, 0x04, 0x12, 0x00, 0x40, 0, 0, 0xff, 0xff, 0, 0];
        select6(&list6(&[&p]), &params(), &mut s).unwrap();
        let d = sense(&ms6(true, 0, 0x0a, 0, 255), &params(), &s).unwrap();
        assert_eq!(&d[4..], &p);
    }

    #[test]
    fn select_uses_mode_sense_output_echo() {
        // Linux sd echoes a MODE SENSE(6) response back, header included.
        let mut s = ModeState::default();
        let mut d = sense(&ms6(false, 0, 8, 0, 255), &params(), &s).unwrap();
        d[0] = 0;
        d[2] = 0;
        d[12 + 2] &= !0x04;
        let r = select6(&d, &params(), &mut s).unwrap();
        assert!(r.caching);
        assert!(!s.wce);
    }

    #[test]
    fn changes_helpers() {
        assert!(!ModeChanges::default().any());
        assert!(ModeChanges {
            caching: false,
            control: true
        }
        .any());
        assert!(!ModeChanges {
            caching: true,
            control: true
        }
        .contains(PAGE_IEC));
    }

    /// Every changeable mask bit can be changed by some accepted MODE SELECT:
    /// for each page byte, trying all values of its masked bits, the accepted
    /// values together differ from the current value in exactly the mask.
    #[test]
    fn every_mask_bit_is_changeable() {
        let p = params();
        for &code in p.pages() {
            let base_state = ModeState::default();
            let base = cur(code, &base_state);
            let mask = mode_page(code, PageControl::Changeable, &p, &base_state).unwrap();
            for i in 2..base.len {
                let m = mask.bytes[i];
                let mut reached = 0u8;
                for v in 0..=255u8 {
                    if v & !m != 0 {
                        continue;
                    }
                    let mut pg = base;
                    pg.bytes[i] = (base.bytes[i] & !m) | v;
                    let mut s = base_state;
                    if select6(&list6(&[pg.as_bytes()]), &p, &mut s).is_ok() {
                        reached |= pg.bytes[i] ^ base.bytes[i];
                    }
                }
                assert_eq!(reached, m, "page {code:#x} byte {i}");
            }
        }
    }

    fn arb_state() -> impl Strategy<Value = ModeState> {
        (
            any::<[bool; 6]>(),
            0u8..2,
            0u8..2,
            prop_oneof![Just(0u8), Just(1u8), Just(3u8)],
        )
            .prop_map(|(f, tst, qam, qerr)| ModeState {
                wce: f[0],
                rcd: f[1],
                tst,
                tmf_only: f[2],
                d_sense: f[3],
                qam,
                qerr,
                swp: f[4],
                tas: f[5],
            })
    }

    fn arb_params() -> impl Strategy<Value = ModeParams> {
        (
            any::<bool>(),
            any::<u64>(),
            prop_oneof![Just(512u32), Just(4096u32), Just(2048u32)],
            any::<bool>(),
            arb_state(),
        )
            .prop_map(|(cd, nblocks, bs, ro, defaults)| ModeParams {
                peripheral_type: if cd {
                    PeripheralType::Cdrom
                } else {
                    PeripheralType::Disk
                },
                nblocks,
                block_size: bs,
                read_only: ro,
                dpofua: !cd,
                rotation_rate: 1,
                defaults,
            })
    }

    proptest! {
        #[test]
        fn prop_sense_never_panics(
            cdb in proptest::collection::vec(any::<u8>(), 0..12),
            buflen in 0usize..300,
            p in arb_params(),
            s in arb_state(),
        ) {
            let mut b = std::vec![0u8; buflen];
            if let Ok(r) = mode_sense(&cdb, &p, &s, &mut b) {
                prop_assert!(r.len <= buflen);
                prop_assert!(r.len <= r.full_len);
            }
        }

        #[test]
        fn prop_select_never_panics(
            cdb in proptest::collection::vec(any::<u8>(), 0..12),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            p in arb_params(),
            s in arb_state(),
        ) {
            let mut st = s;
            match mode_select(&cdb, &data, &p, &mut st) {
                Ok(_) => {}
                Err(_) => prop_assert_eq!(st, s),
            }
        }

        #[test]
        fn prop_select_structured_never_panics(
            ten: bool,
            pages in proptest::collection::vec((prop_oneof![Just(1u8), Just(2), Just(3), Just(4), Just(8), Just(0x0a), Just(0x1c), any::<u8>()], proptest::collection::vec(any::<u8>(), 0..30)), 0..5),
            s in arb_state(),
        ) {
            let mut v: Vec<u8> = if ten { std::vec![0; 8] } else { std::vec![0; 4] };
            for (code, body) in &pages {
                v.push(*code);
                v.push(body.len() as u8);
                v.extend_from_slice(body);
            }
            let mut st = s;
            let c: Vec<u8> = if ten { sel10(v.len() as u16).to_vec() } else { sel6(v.len().min(255) as u8).to_vec() };
            let _ = mode_select(&c, &v, &params(), &mut st);
        }

        #[test]
        fn prop_sense_truncation(
            ten: bool,
            dbd: bool,
            llbaa: bool,
            pc in 0u8..3,
            page_idx in 0usize..8,
            alloc in 0u16..300,
            p in arb_params(),
            s in arb_state(),
        ) {
            let pages = p.pages();
            let page = pages.get(page_idx).copied().unwrap_or(PAGE_ALL);
            let full_cdb: Vec<u8> = if ten { ms10(llbaa, dbd, pc, page, 0, 1024).to_vec() } else { ms6(dbd, pc, page, 0, 255).to_vec() };
            let mut full = [0u8; 1024];
            let rf = mode_sense(&full_cdb, &p, &s, &mut full).unwrap();
            prop_assert_eq!(rf.len, rf.full_len);
            let a = if ten { alloc } else { alloc.min(255) };
            let cdb: Vec<u8> = if ten { ms10(llbaa, dbd, pc, page, 0, a).to_vec() } else { ms6(dbd, pc, page, 0, a as u8).to_vec() };
            let mut b = [0u8; 1024];
            let r = mode_sense(&cdb, &p, &s, &mut b).unwrap();
            prop_assert_eq!(r.full_len, rf.full_len);
            prop_assert_eq!(r.len, rf.full_len.min(usize::from(a)));
            prop_assert_eq!(&b[..r.len], &full[..r.len]);
            let mdl = if ten { usize::from(get_u16(&full, 0)) + 2 } else { usize::from(full[0]) + 1 };
            prop_assert_eq!(mdl, rf.full_len);
        }

        /// MODE SELECT accepts a change iff it stays inside the changeable
        /// mask (and uses supported values), and the change is then exactly
        /// what MODE SENSE reports back.
        #[test]
        fn prop_select_changes_exactly_mask(
            page_idx in 0usize..7,
            r in any::<[u8; MAX_PAGE_LEN]>(),
            outside: bool,
            s in arb_state(),
        ) {
            let p = params();
            let pages = p.pages();
            let code = pages[page_idx % pages.len()];
            let cur_p = mode_page(code, PageControl::Current, &p, &s).unwrap();
            let mask = mode_page(code, PageControl::Changeable, &p, &s).unwrap();
            let mut new = cur_p;
            for (i, &ri) in r.iter().enumerate().take(cur_p.len).skip(2) {
                let m = if outside { 0xff } else { mask.bytes[i] };
                new.bytes[i] = (cur_p.bytes[i] & !m) | (ri & m);
            }
            let first_bad = (2..cur_p.len).find_map(|i| {
                let d = (new.bytes[i] ^ cur_p.bytes[i]) & !mask.bytes[i];
                (d != 0).then(|| (i, 7 - d.leading_zeros() as u8))
            });
            let mut st = s;
            let res = select6(&list6(&[new.as_bytes()]), &p, &mut st);
            match (first_bad, res) {
                (Some((i, bit)), Err(e)) => {
                    prop_assert_eq!(param_err(&e), Some(((4 + i) as u16, Some(bit))));
                    prop_assert_eq!(st, s);
                }
                (Some(_), Ok(_)) => prop_assert!(false, "change outside the mask accepted"),
                (None, Ok(ch)) => {
                    let after = mode_page(code, PageControl::Current, &p, &st).unwrap();
                    prop_assert_eq!(after.as_bytes(), new.as_bytes());
                    prop_assert_eq!(ch.any(), st != s);
                    prop_assert_eq!(ch.contains(code), st != s);
                }
                (None, Err(e)) => {
                    // Only an unsupported value of a changeable field.
                    let (byte, bit) = param_err(&e).unwrap();
                    let i = usize::from(byte) - 4;
                    let bit = bit.unwrap();
                    prop_assert!(code == PAGE_CONTROL);
                    prop_assert!(mask.bytes[i] != 0);
                    prop_assert!((i, bit) == (3, 2));
                    prop_assert_eq!(st, s);
                }
            }
        }

        /// MODE SENSE of the current page, sent back with MODE SELECT, is
        /// accepted and changes nothing.
        #[test]
        fn prop_echo_is_noop(p in arb_params(), s in arb_state(), ten: bool) {
            let mut d = [0u8; 512];
            let c: Vec<u8> = if ten { ms10(false, false, 0, PAGE_ALL, 0, 512).to_vec() } else { ms6(false, 0, PAGE_ALL, 0, 255).to_vec() };
            let r = mode_sense(&c, &p, &s, &mut d).unwrap();
            // Mode data length and device-specific parameter are reserved / ignored.
            let mut st = s;
            let sel: Vec<u8> = if ten { sel10(r.len as u16).to_vec() } else { sel6(r.len as u8).to_vec() };
            let ch = mode_select(&sel, &d[..r.len], &p, &mut st).unwrap();
            prop_assert!(!ch.any());
            prop_assert_eq!(st, s);
        }
    }
}
