// SPDX-License-Identifier: GPL-2.0

//! SPC-4 emulation: INQUIRY (standard data and VPD pages), REQUEST SENSE,
//! TEST UNIT READY, LOG SENSE, REPORT SUPPORTED OPERATION CODES and REPORT
//! SUPPORTED TASK MANAGEMENT FUNCTIONS.
//!
//! Every builder writes into a caller buffer and honours the allocation
//! length: the response is built completely, truncated to
//! `min(allocation length, buffer length)`, and its length fields report the
//! full, untruncated length (SPC-4 4.2.5.6). Builders return a [`DataIn`].
//!
//! CDB errors are reported the way SCST/SPC-4 do: ILLEGAL REQUEST, INVALID
//! FIELD IN CDB with a field pointer at the offending byte (and bit).

use super::bytes::{get_u16, get_u32, get_u8, put_ascii_padded, put_u16, Writer};
use super::sense::{asc, Format, Key, Sense};
use super::types::PeripheralType;

/// Size of the produced Data-In of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataIn {
    /// Bytes actually stored in the buffer (what to transfer).
    pub len: usize,
    /// The full length of the response before truncation.
    pub full_len: usize,
}

/// The part of `buf` an allocation length lets a response use.
fn limit(buf: &mut [u8], alloc_len: usize) -> &mut [u8] {
    let n = buf.len().min(alloc_len);
    buf.get_mut(..n).unwrap_or_default()
}

/// Finishes a response written with `w`.
fn done(w: &Writer<'_>) -> DataIn {
    DataIn {
        len: w.stored(),
        full_len: w.len(),
    }
}

/// A fixed-capacity, space-padded ASCII field (SPC-4 4.3.1).
///
/// Bytes outside 0x20..=0x7E are replaced by spaces so INQUIRY data is always
/// printable ASCII, whatever configuration text it was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ascii<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Ascii<N> {
    /// An empty field.
    pub const fn empty() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// Copies `s` (truncated to `N` bytes, non-printables made spaces).
    pub fn new(s: &[u8]) -> Self {
        let mut a = Self::empty();
        for (d, &c) in a.buf.iter_mut().zip(s.iter()) {
            *d = if (0x20..=0x7e).contains(&c) { c } else { b' ' };
        }
        a.len = s.len().min(N);
        a
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for Ascii<N> {
    fn default() -> Self {
        Self::empty()
    }
}

/// Version descriptor: SAM-5 (no version claimed) (SPC-4 table 32).
pub const VERSION_SAM5: u16 = 0x00A0;
/// Version descriptor: SPC-4 (no version claimed).
pub const VERSION_SPC4: u16 = 0x0460;
/// Version descriptor: SBC-3 (no version claimed).
pub const VERSION_SBC3: u16 = 0x04C0;
/// Version descriptor: MMC-5 (no version claimed).
pub const VERSION_MMC5: u16 = 0x02A0;
/// Version descriptor: iSCSI (no version claimed).
pub const VERSION_ISCSI: u16 = 0x0960;

/// The version descriptors scst-rs claims for a device type.
pub fn default_version_descriptors(ptype: PeripheralType) -> [u16; 8] {
    let cmd_set = match ptype {
        PeripheralType::Disk => VERSION_SBC3,
        PeripheralType::Cdrom => VERSION_MMC5,
        _ => 0,
    };
    [
        VERSION_SAM5,
        VERSION_SPC4,
        cmd_set,
        VERSION_ISCSI,
        0,
        0,
        0,
        0,
    ]
}

/// A Network Address Authority designator (SPC-4 7.8.6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NaaId {
    /// NAA Locally Assigned (3h): a 60-bit value unique where it is used
    /// (no IEEE company id needed).
    Local {
        /// The value, low 60 bits used.
        value: u64,
    },
    /// NAA IEEE Registered (5h): 24-bit IEEE company id and a 36-bit
    /// vendor-specific identifier.
    Registered {
        /// IEEE company id (OUI), low 24 bits used.
        company_id: u32,
        /// Vendor-specific identifier, low 36 bits used.
        vendor_id: u64,
    },
    /// NAA IEEE Registered Extended (6h): as 5h plus a 64-bit vendor-specific
    /// identifier extension.
    RegisteredExtended {
        /// IEEE company id (OUI), low 24 bits used.
        company_id: u32,
        /// Vendor-specific identifier, low 36 bits used.
        vendor_id: u64,
        /// Vendor-specific identifier extension.
        extension: u64,
    },
}

impl NaaId {
    /// The designator bytes and their count (8 or 16).
    pub fn encode(&self) -> ([u8; 16], usize) {
        let mut b = [0u8; 16];
        if let NaaId::Local { value } = *self {
            let v = (3u64 << 60) | (value & 0x0fff_ffff_ffff_ffff);
            b[..8].copy_from_slice(&v.to_be_bytes());
            return (b, 8);
        }
        let (naa, company_id, vendor_id) = match *self {
            NaaId::Local { .. } => return (b, 0),
            NaaId::Registered {
                company_id,
                vendor_id,
            } => (5u64, company_id, vendor_id),
            NaaId::RegisteredExtended {
                company_id,
                vendor_id,
                ..
            } => (6u64, company_id, vendor_id),
        };
        let hi =
            (naa << 60) | ((u64::from(company_id) & 0xff_ffff) << 36) | (vendor_id & 0xf_ffff_ffff);
        b[..8].copy_from_slice(&hi.to_be_bytes());
        match *self {
            NaaId::Local { .. } | NaaId::Registered { .. } => (b, 8),
            NaaId::RegisteredExtended { extension, .. } => {
                b[8..].copy_from_slice(&extension.to_be_bytes());
                (b, 16)
            }
        }
    }
}

/// Block Limits VPD values (SBC-3 6.5.3). Lengths are in logical blocks;
/// 0 means "not reported / no limit" as the standard defines per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BlockLimits {
    /// WSNZ: WRITE SAME with NUMBER OF BLOCKS 0 is rejected.
    pub wsnz: bool,
    /// MAXIMUM COMPARE AND WRITE LENGTH (0: COMPARE AND WRITE unsupported).
    pub max_compare_write_len: u8,
    /// OPTIMAL TRANSFER LENGTH GRANULARITY.
    pub opt_xfer_granularity: u16,
    /// MAXIMUM TRANSFER LENGTH.
    pub max_xfer_len: u32,
    /// OPTIMAL TRANSFER LENGTH.
    pub opt_xfer_len: u32,
    /// MAXIMUM UNMAP LBA COUNT (reported only when thin provisioned).
    pub max_unmap_lba_count: u32,
    /// MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT (reported only when thin provisioned).
    pub max_unmap_descriptors: u32,
    /// OPTIMAL UNMAP GRANULARITY.
    pub unmap_granularity: u32,
    /// UNMAP GRANULARITY ALIGNMENT; `Some` sets UGAVALID.
    pub unmap_granularity_alignment: Option<u32>,
    /// MAXIMUM WRITE SAME LENGTH.
    pub max_write_same_len: u64,
}

/// Logical Block Provisioning VPD flags (SBC-3 6.5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Provisioning {
    /// LBPU: UNMAP supported.
    pub lbpu: bool,
    /// LBPWS: WRITE SAME(16) with UNMAP supported.
    pub lbpws: bool,
    /// LBPWS10: WRITE SAME(10) with UNMAP supported.
    pub lbpws10: bool,
    /// LBPRZ: unmapped blocks read as zeros.
    pub lbprz: bool,
    /// ANC_SUP: ANCHOR supported.
    pub anc_sup: bool,
    /// THRESHOLD EXPONENT.
    pub threshold_exponent: u8,
}

/// Identity and capabilities of one logical unit, as INQUIRY reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Peripheral device type.
    pub peripheral_type: PeripheralType,
    /// RMB: removable medium.
    pub removable: bool,
    /// T10 VENDOR IDENTIFICATION (8 bytes, space padded).
    pub vendor: Ascii<8>,
    /// PRODUCT IDENTIFICATION (16 bytes, space padded).
    pub product: Ascii<16>,
    /// PRODUCT REVISION LEVEL (4 bytes, space padded).
    pub revision: Ascii<4>,
    /// Vendor specific bytes 36..56 of standard INQUIRY data.
    pub vendor_specific: Ascii<20>,
    /// Vendor part of the T10 vendor ID designator (VPD 0x83); usually the
    /// same as `vendor`.
    pub t10_vendor: Ascii<8>,
    /// Vendor-specific part of the T10 vendor ID designator (SCST `t10_dev_id`).
    pub t10_dev_id: Ascii<32>,
    /// PRODUCT SERIAL NUMBER of VPD 0x80 (SCST `usn`).
    pub unit_serial: Ascii<32>,
    /// NAA designator of the LU, if any.
    pub naa: Option<NaaId>,
    /// Relative target port identifier (association 1); 0 omits it.
    pub relative_port: u16,
    /// Target port group (association 1), if ALUA groups are configured.
    pub port_group: Option<u16>,
    /// PROTOCOL IDENTIFIER for association-1 designators (iSCSI = 5); `Some`
    /// sets PIV.
    pub protocol_id: Option<u8>,
    /// SCSI name string of the target device (association 2); empty omits it.
    pub device_name: Ascii<224>,
    /// TPGS field of standard INQUIRY data (0: no ALUA, 1: implicit, ...).
    pub tpgs: u8,
    /// The LU is read-only (used by MODE SENSE's WP bit).
    pub read_only: bool,
    /// Thin provisioned: VPD 0xB2 offered, unmap limits reported.
    pub thin_provisioned: bool,
    /// Provisioning flags of VPD 0xB2.
    pub provisioning: Provisioning,
    /// Block Limits VPD values.
    pub block_limits: BlockLimits,
    /// MEDIUM ROTATION RATE of VPD 0xB1 (1: non-rotating, 0: not reported).
    pub rotation_rate: u16,
    /// PROTECT: protection information supported.
    pub protect: bool,
    /// 3PC: third-party copy supported.
    pub tpc: bool,
    /// CMDQUE: command queuing.
    pub cmdque: bool,
    /// HISUP: hierarchical LUNs addressing.
    pub hisup: bool,
    /// V_SUP of the Extended INQUIRY page: a volatile write cache exists.
    pub volatile_cache: bool,
    /// Version descriptors (zeros are unused slots).
    pub version_descriptors: [u16; 8],
}

impl DeviceIdentity {
    /// An identity with scst-rs defaults for `ptype`; callers fill in names.
    pub fn new(ptype: PeripheralType) -> Self {
        Self {
            peripheral_type: ptype,
            removable: matches!(ptype, PeripheralType::Cdrom),
            vendor: Ascii::new(b"SCST_FIO"),
            product: Ascii::empty(),
            revision: Ascii::new(b" 400"),
            vendor_specific: Ascii::empty(),
            t10_vendor: Ascii::new(b"SCST_FIO"),
            t10_dev_id: Ascii::empty(),
            unit_serial: Ascii::empty(),
            naa: None,
            relative_port: 1,
            port_group: None,
            protocol_id: None,
            device_name: Ascii::empty(),
            tpgs: 0,
            read_only: false,
            thin_provisioned: false,
            provisioning: Provisioning::default(),
            block_limits: BlockLimits::default(),
            rotation_rate: 1,
            protect: false,
            tpc: false,
            cmdque: true,
            hisup: true,
            volatile_cache: false,
            version_descriptors: default_version_descriptors(ptype),
        }
    }

    /// Whether the disk-only (SBC) VPD pages apply.
    fn is_disk(&self) -> bool {
        self.peripheral_type == PeripheralType::Disk
    }

    /// Byte 0 of INQUIRY data and VPD pages: qualifier 000b plus the type.
    fn byte0(&self) -> u8 {
        self.peripheral_type as u8 & 0x1f
    }
}

/// INQUIRY operation code.
pub const INQUIRY: u8 = 0x12;
/// VPD page: Supported VPD Pages.
pub const VPD_SUPPORTED: u8 = 0x00;
/// VPD page: Unit Serial Number.
pub const VPD_SERIAL: u8 = 0x80;
/// VPD page: Device Identification.
pub const VPD_DEVICE_ID: u8 = 0x83;
/// VPD page: Extended INQUIRY Data.
pub const VPD_EXTENDED: u8 = 0x86;
/// Third-party Copy VPD page (offered with 3PC).
pub const VPD_THIRD_PARTY_COPY: u8 = 0x8F;
/// VPD page: Block Limits (SBC).
pub const VPD_BLOCK_LIMITS: u8 = 0xB0;
/// VPD page: Block Device Characteristics (SBC).
pub const VPD_BLOCK_CHARACTERISTICS: u8 = 0xB1;
/// VPD page: Logical Block Provisioning (SBC).
pub const VPD_LBP: u8 = 0xB2;

/// Length of the standard INQUIRY data built here.
pub const STD_INQUIRY_LEN: usize = 96;

/// The VPD pages offered for `id`, in ascending order (SPC-4 7.8.14).
pub fn supported_vpd_pages(id: &DeviceIdentity) -> ([u8; 8], usize) {
    let mut p = [0u8; 8];
    let mut n = 0;
    let mut add = |c: u8| {
        if let Some(s) = p.get_mut(n) {
            *s = c;
            n += 1;
        }
    };
    add(VPD_SUPPORTED);
    add(VPD_SERIAL);
    add(VPD_DEVICE_ID);
    add(VPD_EXTENDED);
    if id.is_disk() && id.tpc {
        add(VPD_THIRD_PARTY_COPY);
    }
    if id.is_disk() {
        add(VPD_BLOCK_LIMITS);
        add(VPD_BLOCK_CHARACTERISTICS);
        if id.thin_provisioned {
            add(VPD_LBP);
        }
    }
    (p, n)
}

/// Validates an INQUIRY CDB (SPC-4 6.6) and returns `(evpd, page, alloc)`.
fn parse_inquiry(cdb: &[u8]) -> Result<(bool, u8, usize), Sense> {
    let b1 = get_u8(cdb, 1);
    // CMDDT (SPC-2) is obsolete: a set bit is an invalid field.
    if b1 & 0x02 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(1)));
    }
    let evpd = b1 & 0x01 != 0;
    let page = get_u8(cdb, 2);
    if !evpd && page != 0 {
        return Err(Sense::invalid_field_in_cdb(2, None));
    }
    Ok((evpd, page, usize::from(get_u16(cdb, 3))))
}

/// Executes INQUIRY (SPC-4 6.6) for an existing LU.
pub fn inquiry(cdb: &[u8], id: &DeviceIdentity, buf: &mut [u8]) -> Result<DataIn, Sense> {
    let (evpd, page, alloc) = parse_inquiry(cdb)?;
    let out = limit(buf, alloc);
    if !evpd {
        return Ok(write_standard_inquiry(id, out));
    }
    match page {
        VPD_SUPPORTED => Ok(write_vpd_supported(id, out)),
        VPD_SERIAL => Ok(write_vpd_serial(id, out)),
        VPD_DEVICE_ID => Ok(write_vpd_device_id(id, out)),
        VPD_EXTENDED => Ok(write_vpd_extended(id, out)),
        VPD_BLOCK_LIMITS if id.is_disk() => Ok(write_vpd_block_limits(id, out)),
        VPD_BLOCK_CHARACTERISTICS if id.is_disk() => Ok(write_vpd_block_characteristics(id, out)),
        VPD_LBP if id.is_disk() && id.thin_provisioned => Ok(write_vpd_lbp(id, out)),
        VPD_THIRD_PARTY_COPY if id.is_disk() && id.tpc => {
            let full_len = super::xcopy::vpd_third_party_copy(id.byte0(), out);
            Ok(DataIn {
                len: full_len.min(out.len()),
                full_len,
            })
        }
        _ => Err(Sense::invalid_field_in_cdb(2, None)),
    }
}

/// Peripheral qualifier for INQUIRY on a LUN without a usable LU (SPC-4 6.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    /// 001b: an LU could be connected here but is not (SCST's dummy LUN 0).
    NotConnected = 1,
    /// 011b: no LU can be addressed by this LUN.
    NotSupported = 3,
}

/// Executes INQUIRY for a LUN that has no LU: standard data with the given
/// qualifier and type 1Fh; VPD page 00h lists only itself, other pages are
/// INVALID FIELD IN CDB.
pub fn inquiry_no_lu(cdb: &[u8], qualifier: Qualifier, buf: &mut [u8]) -> Result<DataIn, Sense> {
    let (evpd, page, alloc) = parse_inquiry(cdb)?;
    let b0 = ((qualifier as u8) << 5) | PeripheralType::Unknown as u8;
    let mut w = Writer::new(limit(buf, alloc));
    if !evpd {
        w.u8(b0);
        w.u8(0);
        w.u8(0x06);
        w.u8(0x02);
        w.u8(31);
        w.zeros(31);
        return Ok(done(&w));
    }
    if page != VPD_SUPPORTED {
        return Err(Sense::invalid_field_in_cdb(2, None));
    }
    w.u8(b0);
    w.u8(VPD_SUPPORTED);
    w.u16(1);
    w.u8(VPD_SUPPORTED);
    Ok(done(&w))
}

/// Writes standard INQUIRY data (SPC-4 6.6.2), 96 bytes.
pub fn write_standard_inquiry(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let mut b = [0u8; STD_INQUIRY_LEN];
    b[0] = id.byte0();
    if id.removable {
        b[1] = 0x80;
    }
    // VERSION 06h: SPC-4.
    b[2] = 0x06;
    // NORMACA 0, HISUP, RESPONSE DATA FORMAT 2.
    b[3] = 0x02 | if id.hisup { 0x10 } else { 0 };
    b[4] = (STD_INQUIRY_LEN - 5) as u8;
    b[5] = ((id.tpgs & 3) << 4) | if id.tpc { 0x08 } else { 0 } | u8::from(id.protect);
    b[7] = if id.cmdque { 0x02 } else { 0 };
    put_ascii_padded(&mut b, 8, 8, id.vendor.as_bytes());
    put_ascii_padded(&mut b, 16, 16, id.product.as_bytes());
    put_ascii_padded(&mut b, 32, 4, id.revision.as_bytes());
    put_ascii_padded(&mut b, 36, 20, id.vendor_specific.as_bytes());
    // VERSION DESCRIPTORs at 58..74, unused slots skipped.
    let mut off = 58;
    for &v in id.version_descriptors.iter().filter(|&&v| v != 0) {
        put_u16(&mut b, off, v);
        off += 2;
    }
    let mut w = Writer::new(out);
    w.bytes(&b);
    done(&w)
}

/// Starts a VPD page; the PAGE LENGTH is patched by [`end_vpd`].
fn begin_vpd(w: &mut Writer<'_>, id: &DeviceIdentity, page: u8) {
    w.u8(id.byte0());
    w.u8(page);
    w.u16(0);
}

/// Patches the PAGE LENGTH of a VPD page and returns the sizes.
fn end_vpd(mut w: Writer<'_>) -> DataIn {
    let page_len = u16::try_from(w.len().saturating_sub(4)).unwrap_or(u16::MAX);
    w.patch_u16(2, page_len);
    done(&w)
}

/// Writes VPD page 00h, Supported VPD Pages (SPC-4 7.8.14).
pub fn write_vpd_supported(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_SUPPORTED);
    let (pages, n) = supported_vpd_pages(id);
    w.bytes(pages.get(..n).unwrap_or_default());
    end_vpd(w)
}

/// Writes VPD page 80h, Unit Serial Number (SPC-4 7.8.15).
pub fn write_vpd_serial(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_SERIAL);
    w.bytes(id.unit_serial.as_bytes());
    end_vpd(w)
}

/// Code sets of designation descriptors.
const CODE_SET_BINARY: u8 = 1;
const CODE_SET_ASCII: u8 = 2;
const CODE_SET_UTF8: u8 = 3;

/// Designator types (SPC-4 table 459).
const DESIG_T10_VENDOR: u8 = 1;
const DESIG_NAA: u8 = 3;
const DESIG_REL_PORT: u8 = 4;
const DESIG_TPG: u8 = 5;
const DESIG_SCSI_NAME: u8 = 8;

/// Writes one designation descriptor header (SPC-4 7.8.6.1).
fn designator(w: &mut Writer<'_>, id: &DeviceIdentity, code_set: u8, assoc: u8, ty: u8, len: u8) {
    let (proto, piv) = match (assoc, id.protocol_id) {
        // PIV only means something for port and target device associations.
        (1 | 2, Some(p)) => ((p & 0xf) << 4, 0x80),
        _ => (0, 0),
    };
    w.u8(proto | code_set);
    w.u8(piv | ((assoc & 3) << 4) | ty);
    w.u8(0);
    w.u8(len);
}

/// Writes VPD page 83h, Device Identification (SPC-4 7.8.6).
pub fn write_vpd_device_id(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_DEVICE_ID);
    // T10 vendor ID based designator, LU association.
    let dev_id = id.t10_dev_id.as_bytes();
    designator(
        &mut w,
        id,
        CODE_SET_ASCII,
        0,
        DESIG_T10_VENDOR,
        (8 + dev_id.len()) as u8,
    );
    let mut vend = [b' '; 8];
    put_ascii_padded(&mut vend, 0, 8, id.t10_vendor.as_bytes());
    w.bytes(&vend);
    w.bytes(dev_id);
    if let Some(naa) = id.naa {
        let (b, n) = naa.encode();
        designator(&mut w, id, CODE_SET_BINARY, 0, DESIG_NAA, n as u8);
        w.bytes(b.get(..n).unwrap_or_default());
    }
    if id.relative_port != 0 {
        designator(&mut w, id, CODE_SET_BINARY, 1, DESIG_REL_PORT, 4);
        w.u16(0);
        w.u16(id.relative_port);
    }
    if let Some(tpg) = id.port_group {
        designator(&mut w, id, CODE_SET_BINARY, 1, DESIG_TPG, 4);
        w.u16(0);
        w.u16(tpg);
    }
    if !id.device_name.is_empty() {
        // Null terminated and null padded to a multiple of four (7.8.6.11).
        let name = id.device_name.as_bytes();
        let padded = (name.len() + 1).next_multiple_of(4);
        designator(&mut w, id, CODE_SET_UTF8, 2, DESIG_SCSI_NAME, padded as u8);
        w.bytes(name);
        w.zeros(padded - name.len());
    }
    end_vpd(w)
}

/// Writes VPD page 86h, Extended INQUIRY Data (SPC-4 7.8.7).
pub fn write_vpd_extended(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_EXTENDED);
    let mut p = [0u8; 60];
    // HEADSUP, ORDSUP, SIMPSUP: all task attributes are supported.
    p[1] = 0x07;
    // V_SUP: a volatile cache that SYNCHRONIZE CACHE flushes.
    p[2] = u8::from(id.volatile_cache);
    // LUICLR: SPC-4 requires it set.
    p[3] = 0x01;
    w.bytes(&p);
    end_vpd(w)
}

/// Writes VPD page B0h, Block Limits (SBC-3 6.5.3). The unmap limits are
/// reported as zero unless the LU is thin provisioned (libiscsi checks this).
pub fn write_vpd_block_limits(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let bl = &id.block_limits;
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_BLOCK_LIMITS);
    w.u8(u8::from(bl.wsnz));
    w.u8(bl.max_compare_write_len);
    w.u16(bl.opt_xfer_granularity);
    w.u32(bl.max_xfer_len);
    w.u32(bl.opt_xfer_len);
    // MAXIMUM PREFETCH LENGTH: not limited separately.
    w.u32(0);
    let thin = id.thin_provisioned;
    w.u32(if thin { bl.max_unmap_lba_count } else { 0 });
    w.u32(if thin { bl.max_unmap_descriptors } else { 0 });
    w.u32(if thin { bl.unmap_granularity } else { 0 });
    match bl.unmap_granularity_alignment {
        Some(a) if thin => w.u32(0x8000_0000 | (a & 0x7fff_ffff)),
        _ => w.u32(0),
    }
    w.u64(bl.max_write_same_len);
    w.zeros(20);
    end_vpd(w)
}

/// Writes VPD page B1h, Block Device Characteristics (SBC-3 6.5.2).
pub fn write_vpd_block_characteristics(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_BLOCK_CHARACTERISTICS);
    w.u16(id.rotation_rate);
    w.zeros(58);
    end_vpd(w)
}

/// Writes VPD page B2h, Logical Block Provisioning (SBC-3 6.5.4).
pub fn write_vpd_lbp(id: &DeviceIdentity, out: &mut [u8]) -> DataIn {
    let p = &id.provisioning;
    let mut w = Writer::new(out);
    begin_vpd(&mut w, id, VPD_LBP);
    w.u8(p.threshold_exponent);
    let mut f = 0u8;
    if p.lbpu {
        f |= 0x80;
    }
    if p.lbpws {
        f |= 0x40;
    }
    if p.lbpws10 {
        f |= 0x20;
    }
    if p.lbprz {
        f |= 0x04;
    }
    if p.anc_sup {
        f |= 0x02;
    }
    w.u8(f);
    // PROVISIONING TYPE: 2 = thin provisioned, 0 = fully provisioned.
    w.u8(if id.thin_provisioned { 0x02 } else { 0x00 });
    w.u8(0);
    end_vpd(w)
}

/// REQUEST SENSE operation code.
pub const REQUEST_SENSE: u8 = 0x03;

/// Executes REQUEST SENSE (SPC-4 6.29): returns `pending` sense data (or NO
/// SENSE, 00/00) in fixed format, or descriptor format if DESC is set.
pub fn request_sense(cdb: &[u8], pending: Option<&Sense>, buf: &mut [u8]) -> DataIn {
    let format = if get_u8(cdb, 1) & 0x01 != 0 {
        Format::Descriptor
    } else {
        Format::Fixed
    };
    let no_sense = Sense::new(Key::NoSense, asc::NO_ADDITIONAL);
    let s = pending.unwrap_or(&no_sense);
    let out = limit(buf, usize::from(get_u8(cdb, 4)));
    let mut tmp = [0u8; super::sense::MAX_LEN];
    let full = s.encode(format, false, &mut tmp).min(tmp.len());
    let mut w = Writer::new(out);
    w.bytes(tmp.get(..full).unwrap_or_default());
    done(&w)
}

/// Medium state of an LU, for TEST UNIT READY and the media-access checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediumState {
    /// Ready for media access.
    Ready,
    /// No medium loaded (vcdrom without a file).
    NoMedium,
    /// No medium, tray open.
    TrayOpen,
    /// Becoming ready (e.g. opening the backing store).
    BecomingReady,
    /// Not ready, cause not reportable.
    NotReady,
}

/// Executes TEST UNIT READY (SPC-4 6.37): GOOD if ready, else NOT READY with
/// the reason.
pub fn test_unit_ready(state: MediumState) -> Result<(), Sense> {
    let code = match state {
        MediumState::Ready => return Ok(()),
        MediumState::NoMedium => asc::MEDIUM_NOT_PRESENT,
        MediumState::TrayOpen => asc::MEDIUM_NOT_PRESENT_TRAY_OPEN,
        MediumState::BecomingReady => asc::BECOMING_READY,
        MediumState::NotReady => asc::NOT_READY,
    };
    Err(Sense::new(Key::NotReady, code))
}

/// LOG SENSE operation code.
pub const LOG_SENSE: u8 = 0x4D;

/// Executes LOG SENSE (SPC-4 6.7). Only the Supported Log Pages page (00h,
/// subpage 00h) and Supported Log Pages and Subpages (00h/FFh) exist.
///
/// Errors: PPC set → INVALID FIELD IN CDB byte 1 bit 1; SP set (saving not
/// supported) → byte 1 bit 0; another page → byte 2 bit 5; another subpage →
/// byte 3; a non-zero PARAMETER POINTER → byte 5.
pub fn log_sense(cdb: &[u8], buf: &mut [u8]) -> Result<DataIn, Sense> {
    let b1 = get_u8(cdb, 1);
    if b1 & 0x02 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(1)));
    }
    if b1 & 0x01 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    let page = get_u8(cdb, 2) & 0x3f;
    let subpage = get_u8(cdb, 3);
    if page != 0 {
        return Err(Sense::invalid_field_in_cdb(2, Some(5)));
    }
    if subpage != 0 && subpage != 0xff {
        return Err(Sense::invalid_field_in_cdb(3, None));
    }
    if get_u16(cdb, 5) != 0 {
        return Err(Sense::invalid_field_in_cdb(5, None));
    }
    let mut w = Writer::new(limit(buf, usize::from(get_u16(cdb, 7))));
    if subpage == 0 {
        w.u8(0x00);
        w.u8(0x00);
        w.u16(1);
        w.u8(0x00);
    } else {
        // SPF set: list (page, subpage) pairs.
        w.u8(0x40);
        w.u8(0xff);
        w.u16(4);
        w.bytes(&[0x00, 0x00, 0x00, 0xff]);
    }
    Ok(done(&w))
}

/// MAINTENANCE IN operation code.
pub const MAINTENANCE_IN: u8 = 0xA3;
/// MAINTENANCE IN service action REPORT SUPPORTED OPERATION CODES.
pub const SA_REPORT_SUPPORTED_OPCODES: u8 = 0x0C;
/// MAINTENANCE IN service action REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS.
pub const SA_REPORT_SUPPORTED_TMFS: u8 = 0x0D;

/// One supported command, as REPORT SUPPORTED OPERATION CODES reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpcodeInfo<'a> {
    /// Operation code.
    pub opcode: u8,
    /// Service action, for commands that have them.
    pub service_action: Option<u16>,
    /// CDB length.
    pub cdb_len: u16,
    /// CDB USAGE DATA: bit masks of the CDB bits the device server looks at.
    /// Byte 0 is always reported as the operation code; bytes missing here
    /// are reported as zero.
    pub usage: &'a [u8],
    /// NOMINAL COMMAND PROCESSING TIMEOUT in seconds (0: not specified).
    pub nominal_timeout: u32,
    /// RECOMMENDED COMMAND TIMEOUT in seconds (0: not specified).
    pub recommended_timeout: u32,
}

/// Writes a command timeouts descriptor (SPC-4 6.35.4).
fn timeouts_descriptor(w: &mut Writer<'_>, c: &OpcodeInfo<'_>) {
    w.u16(0x0a);
    w.u8(0);
    w.u8(0);
    w.u32(c.nominal_timeout);
    w.u32(c.recommended_timeout);
}

/// Executes REPORT SUPPORTED OPERATION CODES (SPC-4 6.35) over `cmds`.
///
/// Reporting options: 000b all commands; 001b one command without service
/// action (an opcode with service actions → INVALID FIELD IN CDB byte 3);
/// 010b one command with service action (a listed opcode without → INVALID
/// FIELD IN CDB byte 3; an unlisted one is reported as not supported);
/// 011b one command, with or without service action. Other values →
/// INVALID FIELD IN CDB byte 2 bit 2. RCTD adds command timeouts
/// descriptors. The caller has already dispatched on MAINTENANCE IN and
/// service action 0Ch.
pub fn report_supported_opcodes(
    cdb: &[u8],
    cmds: &[OpcodeInfo<'_>],
    buf: &mut [u8],
) -> Result<DataIn, Sense> {
    let b2 = get_u8(cdb, 2);
    let rctd = b2 & 0x80 != 0;
    let options = b2 & 0x07;
    let req_op = get_u8(cdb, 3);
    let req_sa = get_u16(cdb, 4);
    let alloc = usize::try_from(get_u32(cdb, 6)).unwrap_or(usize::MAX);
    if options > 3 {
        return Err(Sense::invalid_field_in_cdb(2, Some(2)));
    }
    let mut w = Writer::new(limit(buf, alloc));
    if options == 0 {
        w.u32(0);
        for c in cmds {
            w.u8(c.opcode);
            w.u8(0);
            w.u16(c.service_action.unwrap_or(0));
            w.u8(0);
            let mut f = 0u8;
            if rctd {
                f |= 0x02;
            }
            if c.service_action.is_some() {
                f |= 0x01;
            }
            w.u8(f);
            w.u16(c.cdb_len);
            if rctd {
                timeouts_descriptor(&mut w, c);
            }
        }
        let total = u32::try_from(w.len().saturating_sub(4)).unwrap_or(u32::MAX);
        w.patch_u32(0, total);
        return Ok(done(&w));
    }
    let known = cmds.iter().any(|c| c.opcode == req_op);
    let has_sa = cmds
        .iter()
        .any(|c| c.opcode == req_op && c.service_action.is_some());
    // An opcode not in the table is reported as not supported (SUPPORT
    // 001b) whichever form was asked: whether it has service actions is
    // unknown to this device server.
    let use_sa = match options {
        1 if has_sa => return Err(Sense::invalid_field_in_cdb(3, None)),
        1 => false,
        2 if known && !has_sa => return Err(Sense::invalid_field_in_cdb(3, None)),
        2 => true,
        _ => has_sa,
    };
    let found = cmds
        .iter()
        .find(|c| c.opcode == req_op && (!use_sa || c.service_action == Some(req_sa)));
    w.u8(0);
    match found {
        None => {
            // SUPPORT 001b: not supported; no CDB usage data.
            w.u8(0x01);
            w.u16(0);
        }
        Some(c) => {
            // SUPPORT 011b: supported as the standard defines.
            w.u8(if rctd { 0x80 } else { 0 } | 0x03);
            w.u16(c.cdb_len);
            w.u8(c.opcode);
            for i in 1..usize::from(c.cdb_len) {
                w.u8(c.usage.get(i).copied().unwrap_or(0));
            }
            if rctd {
                timeouts_descriptor(&mut w, c);
            }
        }
    }
    Ok(done(&w))
}

/// The task management functions an LU supports (SPC-4 6.36).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TmfSupport {
    /// ATS: ABORT TASK.
    pub abort_task: bool,
    /// ATSS: ABORT TASK SET.
    pub abort_task_set: bool,
    /// CACAS: CLEAR ACA.
    pub clear_aca: bool,
    /// CTSS: CLEAR TASK SET.
    pub clear_task_set: bool,
    /// LURS: LOGICAL UNIT RESET.
    pub lun_reset: bool,
    /// QTS: QUERY TASK.
    pub query_task: bool,
    /// TRS: TARGET RESET.
    pub target_reset: bool,
    /// WAKES: WAKEUP.
    pub wakeup: bool,
    /// QUAS: QUERY UNIT ATTENTION (QUERY ASYNCHRONOUS EVENT).
    pub query_async_event: bool,
    /// QTSS: QUERY TASK SET.
    pub query_task_set: bool,
    /// ITNRS: I_T NEXUS RESET.
    pub it_nexus_reset: bool,
}

impl TmfSupport {
    /// What SCST implements.
    pub const SCST: Self = Self {
        abort_task: true,
        abort_task_set: true,
        clear_aca: true,
        clear_task_set: true,
        lun_reset: true,
        query_task: true,
        target_reset: true,
        wakeup: false,
        query_async_event: true,
        query_task_set: true,
        it_nexus_reset: true,
    };
}

/// Executes REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36). REPD
/// selects the 16-byte extended format (timeouts not reported).
///
/// Errors: ALLOCATION LENGTH below 4 → INVALID FIELD IN CDB byte 6.
pub fn report_supported_tmfs(
    cdb: &[u8],
    tmf: &TmfSupport,
    buf: &mut [u8],
) -> Result<DataIn, Sense> {
    let repd = get_u8(cdb, 2) & 0x80 != 0;
    let alloc = get_u32(cdb, 6);
    if alloc < 4 {
        return Err(Sense::invalid_field_in_cdb(6, None));
    }
    let mut w = Writer::new(limit(buf, usize::try_from(alloc).unwrap_or(usize::MAX)));
    let bit = |on: bool, b: u8| if on { 1u8 << b } else { 0 };
    w.u8(bit(tmf.abort_task, 7)
        | bit(tmf.abort_task_set, 6)
        | bit(tmf.clear_aca, 5)
        | bit(tmf.clear_task_set, 4)
        | bit(tmf.lun_reset, 3)
        | bit(tmf.query_task, 2)
        | bit(tmf.target_reset, 1)
        | bit(tmf.wakeup, 0));
    w.u8(bit(tmf.query_async_event, 2) | bit(tmf.query_task_set, 1) | bit(tmf.it_nexus_reset, 0));
    w.u8(0);
    if repd {
        // ADDITIONAL DATA LENGTH 0Ch; TMFTMOV and all timeouts zero.
        w.u8(0x0c);
        w.zeros(12);
    } else {
        w.u8(0);
    }
    Ok(done(&w))
}

#[cfg(test)]
mod tests {
    use super::super::sense::Specific;
    use super::*;
    use proptest::prelude::*;

    fn disk() -> DeviceIdentity {
        let mut id = DeviceIdentity::new(PeripheralType::Disk);
        id.product = Ascii::new(b"disk1");
        id.t10_dev_id = Ascii::new(b"abcd1234");
        id.unit_serial = Ascii::new(b"1a2b3c4d");
        id.naa = Some(NaaId::Registered {
            company_id: 0x001405,
            vendor_id: 0x1_2345_6789,
        });
        id.relative_port = 1;
        id.port_group = Some(7);
        id.protocol_id = Some(5);
        id.block_limits = BlockLimits {
            max_xfer_len: 2048,
            opt_xfer_len: 256,
            max_unmap_lba_count: 0x4000,
            max_unmap_descriptors: 64,
            unmap_granularity: 8,
            unmap_granularity_alignment: Some(0),
            max_write_same_len: 0x10000,
            ..BlockLimits::default()
        };
        id
    }

    fn thin() -> DeviceIdentity {
        let mut id = disk();
        id.thin_provisioned = true;
        id.provisioning = Provisioning {
            lbpu: true,
            lbpws: true,
            lbpws10: true,
            lbprz: true,
            ..Provisioning::default()
        };
        id
    }

    fn inq(evpd: bool, page: u8, alloc: u16) -> [u8; 6] {
        let [hi, lo] = alloc.to_be_bytes();
        [INQUIRY, u8::from(evpd), page, hi, lo, 0]
    }

    fn run(id: &DeviceIdentity, cdb: &[u8]) -> std::vec::Vec<u8> {
        let mut b = [0u8; 1024];
        let r = inquiry(cdb, id, &mut b).unwrap();
        b[..r.len].to_vec()
    }

    fn fp(s: &Sense) -> Option<(bool, u16, Option<u8>)> {
        match s.specific {
            Some(Specific::FieldPointer { in_cdb, byte, bit }) => Some((in_cdb, byte, bit)),
            _ => None,
        }
    }

    fn is_invalid_cdb(s: &Sense, byte: u16, bit: Option<u8>) -> bool {
        s.key == Key::IllegalRequest
            && s.asc == asc::INVALID_FIELD_IN_CDB
            && fp(s) == Some((true, byte, bit))
    }

    // ---- Ascii ----

    #[test]
    fn ascii_truncates_and_sanitizes() {
        let a = Ascii::<4>::new(b"ab\x01cdef");
        assert_eq!(a.as_bytes(), b"ab c");
        assert!(Ascii::<4>::empty().is_empty());
        assert_eq!(Ascii::<4>::default().as_bytes(), b"");
    }

    // ---- standard INQUIRY ----

    #[test]
    fn std_inquiry_layout() {
        let d = run(&disk(), &inq(false, 0, 255));
        assert_eq!(d.len(), 96);
        assert_eq!(d[0], 0x00);
        assert_eq!(d[1], 0x00);
        assert_eq!(d[2], 0x06);
        assert_eq!(d[3], 0x12);
        assert_eq!(d[4], 91);
        assert_eq!(d[5], 0x00);
        assert_eq!(d[6], 0x00);
        assert_eq!(d[7], 0x02);
        assert_eq!(&d[8..16], b"SCST_FIO");
        assert_eq!(&d[16..32], b"disk1           ");
        assert_eq!(&d[32..36], b" 400");
    }

    #[test]
    fn std_inquiry_version_descriptors() {
        let d = run(&disk(), &inq(false, 0, 255));
        assert_eq!(
            &d[58..66],
            &[0x00, 0xa0, 0x04, 0x60, 0x04, 0xc0, 0x09, 0x60]
        );
        assert_eq!(&d[66..96], &[0u8; 30][..]);
    }

    #[test]
    fn std_inquiry_cdrom() {
        let id = DeviceIdentity::new(PeripheralType::Cdrom);
        let d = run(&id, &inq(false, 0, 255));
        assert_eq!(d[0], 0x05);
        assert_eq!(d[1], 0x80);
        assert_eq!(&d[62..64], &[0x02, 0xa0]);
    }

    #[test]
    fn std_inquiry_flags() {
        let mut id = disk();
        id.removable = true;
        id.tpgs = 1;
        id.tpc = true;
        id.protect = true;
        id.hisup = false;
        id.cmdque = false;
        let d = run(&id, &inq(false, 0, 255));
        assert_eq!(d[1], 0x80);
        assert_eq!(d[3], 0x02);
        assert_eq!(d[5], 0x19);
        assert_eq!(d[7], 0x00);
    }

    #[test]
    fn std_inquiry_truncated() {
        let mut b = [0xeeu8; 100];
        let r = inquiry(&inq(false, 0, 5), &disk(), &mut b).unwrap();
        assert_eq!(
            r,
            DataIn {
                len: 5,
                full_len: 96
            }
        );
        assert_eq!(b[4], 91);
        assert_eq!(b[5], 0xee);
    }

    #[test]
    fn std_inquiry_alloc_zero() {
        let mut b = [0u8; 100];
        let r = inquiry(&inq(false, 0, 0), &disk(), &mut b).unwrap();
        assert_eq!(r.len, 0);
    }

    #[test]
    fn std_inquiry_16bit_alloc() {
        let mut a = [0u8; 600];
        let mut b = [0u8; 600];
        let ra = inquiry(&inq(false, 0, 511), &disk(), &mut a).unwrap();
        let rb = inquiry(&inq(false, 0, 512), &disk(), &mut b).unwrap();
        assert_eq!(ra, rb);
        assert_eq!(a, b);
    }

    #[test]
    fn std_inquiry_vendor_specific() {
        let mut id = disk();
        id.vendor_specific = Ascii::new(b"hello");
        let d = run(&id, &inq(false, 0, 255));
        assert_eq!(&d[36..56], b"hello               ");
    }

    #[test]
    fn inquiry_page_without_evpd() {
        let e = inquiry(&inq(false, 0x80, 255), &disk(), &mut [0u8; 64]).unwrap_err();
        assert!(is_invalid_cdb(&e, 2, None));
    }

    #[test]
    fn inquiry_cmddt() {
        let c = [INQUIRY, 0x02, 0, 0, 255, 0];
        let e = inquiry(&c, &disk(), &mut [0u8; 64]).unwrap_err();
        assert!(is_invalid_cdb(&e, 1, Some(1)));
        let c = [INQUIRY, 0x03, 0, 0, 255, 0];
        let e = inquiry(&c, &disk(), &mut [0u8; 64]).unwrap_err();
        assert!(is_invalid_cdb(&e, 1, Some(1)));
    }

    #[test]
    fn inquiry_unknown_vpd() {
        for p in [0x01u8, 0x81, 0x85, 0x87, 0xb3, 0xc0, 0xff] {
            let e = inquiry(&inq(true, p, 255), &disk(), &mut [0u8; 64]).unwrap_err();
            assert!(is_invalid_cdb(&e, 2, None), "page {p:#x}");
        }
    }

    #[test]
    fn inquiry_short_cdb_no_panic() {
        let r = inquiry(&[INQUIRY], &disk(), &mut [0u8; 64]).unwrap();
        assert_eq!(r.len, 0);
    }

    // ---- no LU ----

    #[test]
    fn no_lu_not_supported() {
        let mut b = [0u8; 64];
        let r = inquiry_no_lu(&inq(false, 0, 64), Qualifier::NotSupported, &mut b).unwrap();
        assert_eq!(r.len, 36);
        assert_eq!(b[0], 0x7f);
        assert_eq!(b[2], 0x06);
        assert_eq!(b[4], 31);
    }

    #[test]
    fn no_lu_dummy_lun0() {
        let mut b = [0u8; 64];
        inquiry_no_lu(&inq(false, 0, 64), Qualifier::NotConnected, &mut b).unwrap();
        assert_eq!(b[0], 0x3f);
    }

    #[test]
    fn no_lu_vpd() {
        let mut b = [0u8; 64];
        let r = inquiry_no_lu(&inq(true, 0, 64), Qualifier::NotSupported, &mut b).unwrap();
        assert_eq!(&b[..r.len], &[0x7f, 0, 0, 1, 0]);
        let e = inquiry_no_lu(&inq(true, 0x83, 64), Qualifier::NotSupported, &mut b).unwrap_err();
        assert!(is_invalid_cdb(&e, 2, None));
        let e =
            inquiry_no_lu(&[INQUIRY, 2, 0, 0, 9, 0], Qualifier::NotSupported, &mut b).unwrap_err();
        assert!(is_invalid_cdb(&e, 1, Some(1)));
    }

    // ---- VPD 00 ----

    #[test]
    fn vpd_supported_disk() {
        let d = run(&disk(), &inq(true, 0, 255));
        assert_eq!(d, [0, 0, 0, 6, 0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1]);
    }

    #[test]
    fn vpd_supported_thin() {
        let d = run(&thin(), &inq(true, 0, 255));
        assert_eq!(d, [0, 0, 0, 7, 0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2]);
    }

    #[test]
    fn vpd_supported_cdrom() {
        let id = DeviceIdentity::new(PeripheralType::Cdrom);
        let d = run(&id, &inq(true, 0, 255));
        assert_eq!(d, [5, 0, 0, 4, 0x00, 0x80, 0x83, 0x86]);
    }

    #[test]
    fn vpd_third_party_copy_with_3pc() {
        let mut id = disk();
        id.tpc = true;
        let d = run(&id, &inq(true, 0, 255));
        assert_eq!(d, [0, 0, 0, 7, 0x00, 0x80, 0x83, 0x86, 0x8f, 0xb0, 0xb1]);
        let d = run(&id, &inq(true, 0x8f, 255));
        assert_eq!(&d[..2], &[0, 0x8f]);
        assert_eq!(usize::from(get_u16(&d, 2)) + 4, d.len());
        let d = run(&id, &inq(false, 0, 255));
        assert_eq!(d[5] & 0x08, 0x08, "3PC in standard INQUIRY");
        // Truncated to the allocation length.
        assert_eq!(run(&id, &inq(true, 0x8f, 6)).len(), 6);
        // Without 3PC the page does not exist.
        let e = inquiry(&inq(true, 0x8f, 255), &disk(), &mut [0u8; 128]).unwrap_err();
        assert!(is_invalid_cdb(&e, 2, None));
    }

    #[test]
    fn cdrom_rejects_disk_pages() {
        let id = DeviceIdentity::new(PeripheralType::Cdrom);
        for p in [0xb0u8, 0xb1, 0xb2] {
            let e = inquiry(&inq(true, p, 255), &id, &mut [0u8; 128]).unwrap_err();
            assert!(is_invalid_cdb(&e, 2, None));
        }
    }

    #[test]
    fn lbp_page_only_when_thin() {
        let e = inquiry(&inq(true, 0xb2, 255), &disk(), &mut [0u8; 128]).unwrap_err();
        assert!(is_invalid_cdb(&e, 2, None));
        assert!(inquiry(&inq(true, 0xb2, 255), &thin(), &mut [0u8; 128]).is_ok());
    }

    #[test]
    fn every_listed_page_works() {
        for id in [disk(), thin(), DeviceIdentity::new(PeripheralType::Cdrom)] {
            let (p, n) = supported_vpd_pages(&id);
            for &page in &p[..n] {
                let d = run(&id, &inq(true, page, 1024));
                assert_eq!(d[1], page);
                assert_eq!(usize::from(get_u16(&d, 2)) + 4, d.len());
            }
        }
    }

    // ---- VPD 80 ----

    #[test]
    fn vpd_serial() {
        let d = run(&disk(), &inq(true, 0x80, 255));
        assert_eq!(&d[..4], &[0, 0x80, 0, 8]);
        assert_eq!(&d[4..], b"1a2b3c4d");
    }

    #[test]
    fn vpd_serial_empty() {
        let mut id = disk();
        id.unit_serial = Ascii::empty();
        assert_eq!(run(&id, &inq(true, 0x80, 255)), [0, 0x80, 0, 0]);
    }

    // ---- VPD 83 ----

    #[test]
    fn vpd_devid_layout() {
        let d = run(&disk(), &inq(true, 0x83, 255));
        assert_eq!(&d[..4], &[0, 0x83, 0, (d.len() - 4) as u8]);
        // T10 vendor id designator.
        assert_eq!(&d[4..8], &[0x02, 0x01, 0, 16]);
        assert_eq!(&d[8..16], b"SCST_FIO");
        assert_eq!(&d[16..24], b"abcd1234");
        // NAA 5.
        assert_eq!(&d[24..28], &[0x01, 0x03, 0, 8]);
        assert_eq!(
            &d[28..36],
            &[0x50, 0x01, 0x40, 0x51, 0x23, 0x45, 0x67, 0x89]
        );
        // Relative target port, iSCSI protocol id, PIV.
        assert_eq!(&d[36..44], &[0x51, 0x94, 0, 4, 0, 0, 0, 1]);
        // Target port group.
        assert_eq!(&d[44..52], &[0x51, 0x95, 0, 4, 0, 0, 0, 7]);
        assert_eq!(d.len(), 52);
    }

    #[test]
    fn vpd_devid_naa6() {
        let mut id = disk();
        id.naa = Some(NaaId::RegisteredExtended {
            company_id: 0xabcdef,
            vendor_id: 0xf_ffff_ffff,
            extension: 0x0102_0304_0506_0708,
        });
        let d = run(&id, &inq(true, 0x83, 255));
        assert_eq!(&d[24..28], &[0x01, 0x03, 0, 16]);
        assert_eq!(
            &d[28..44],
            &[0x6a, 0xbc, 0xde, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn naa_masks_fields() {
        let n = NaaId::Registered {
            company_id: 0xffff_ffff,
            vendor_id: u64::MAX,
        };
        let (b, len) = n.encode();
        assert_eq!(len, 8);
        assert_eq!(b[0] >> 4, 5);
        assert_eq!(&b[..8], &[0x5f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn naa_local_is_eight_bytes_with_naa_3() {
        let (b, len) = NaaId::Local { value: u64::MAX }.encode();
        assert_eq!(len, 8);
        assert_eq!(&b[..8], &[0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        let (b, _) = NaaId::Local { value: 0x1234 }.encode();
        assert_eq!(&b[..8], &[0x30, 0, 0, 0, 0, 0, 0x12, 0x34]);
        // In VPD 0x83: binary code set, LU association, type NAA, 8 bytes.
        let mut id = DeviceIdentity::new(PeripheralType::Disk);
        id.t10_dev_id = Ascii::new(b"d");
        id.naa = Some(NaaId::Local { value: 0x1234 });
        let d = run(&id, &inq(true, 0x83, 255));
        let naa_at = d.windows(4).position(|w| w == [1, 3, 0, 8]).unwrap();
        assert_eq!(
            &d[naa_at + 4..naa_at + 12],
            &[0x30, 0, 0, 0, 0, 0, 0x12, 0x34]
        );
    }

    #[test]
    fn vpd_devid_minimal() {
        let mut id = DeviceIdentity::new(PeripheralType::Disk);
        id.relative_port = 0;
        let d = run(&id, &inq(true, 0x83, 255));
        assert_eq!(d.len(), 4 + 4 + 8);
        assert_eq!(&d[4..8], &[0x02, 0x01, 0, 8]);
    }

    #[test]
    fn vpd_devid_no_piv_without_protocol() {
        let mut id = disk();
        id.protocol_id = None;
        let d = run(&id, &inq(true, 0x83, 255));
        assert_eq!(&d[36..40], &[0x01, 0x14, 0, 4]);
    }

    #[test]
    fn vpd_devid_scsi_name() {
        let mut id = disk();
        id.device_name = Ascii::new(b"iqn.2024-01.x:t1");
        let d = run(&id, &inq(true, 0x83, 255));
        // 16 chars + NUL padded to 20.
        assert_eq!(&d[52..56], &[0x53, 0xa8, 0, 20]);
        assert_eq!(&d[56..72], b"iqn.2024-01.x:t1");
        assert_eq!(&d[72..76], &[0, 0, 0, 0]);
        assert_eq!(d.len(), 76);
    }

    #[test]
    fn vpd_devid_long_name_fits_length_byte() {
        let mut id = disk();
        id.device_name = Ascii::new(&[b'a'; 300]);
        let d = run(&id, &inq(true, 0x83, 1024));
        assert_eq!(d[55], 228);
        assert_eq!(usize::from(get_u16(&d, 2)) + 4, d.len());
    }

    #[test]
    fn vpd_devid_truncated() {
        let mut b = [0u8; 10];
        let r = inquiry(&inq(true, 0x83, 10), &disk(), &mut b).unwrap();
        assert_eq!(
            r,
            DataIn {
                len: 10,
                full_len: 52
            }
        );
        assert_eq!(b[3], 48);
    }

    // ---- VPD 86 ----

    #[test]
    fn vpd_extended() {
        let d = run(&disk(), &inq(true, 0x86, 255));
        assert_eq!(d.len(), 64);
        assert_eq!(&d[..4], &[0, 0x86, 0, 0x3c]);
        assert_eq!(d[4], 0);
        assert_eq!(d[5], 0x07);
        assert_eq!(d[6], 0);
        assert_eq!(d[7], 0x01);
        let mut id = disk();
        id.volatile_cache = true;
        assert_eq!(run(&id, &inq(true, 0x86, 255))[6], 0x01);
    }

    // ---- VPD B0 ----

    #[test]
    fn vpd_block_limits_thick() {
        let d = run(&disk(), &inq(true, 0xb0, 255));
        assert_eq!(d.len(), 64);
        assert_eq!(&d[..4], &[0, 0xb0, 0, 0x3c]);
        assert_eq!(get_u32(&d, 8), 2048);
        assert_eq!(get_u32(&d, 12), 256);
        assert_eq!(get_u32(&d, 20), 0);
        assert_eq!(get_u32(&d, 24), 0);
        assert_eq!(get_u32(&d, 28), 0);
        assert_eq!(get_u32(&d, 32), 0);
        assert_eq!(super::super::bytes::get_u64(&d, 36), 0x10000);
    }

    #[test]
    fn vpd_block_limits_thin() {
        let d = run(&thin(), &inq(true, 0xb0, 255));
        assert_eq!(get_u32(&d, 20), 0x4000);
        assert_eq!(get_u32(&d, 24), 64);
        assert_eq!(get_u32(&d, 28), 8);
        assert_eq!(get_u32(&d, 32), 0x8000_0000);
    }

    #[test]
    fn vpd_block_limits_flags() {
        let mut id = disk();
        id.block_limits.wsnz = true;
        id.block_limits.max_compare_write_len = 1;
        id.block_limits.opt_xfer_granularity = 8;
        let d = run(&id, &inq(true, 0xb0, 255));
        assert_eq!(d[4], 1);
        assert_eq!(d[5], 1);
        assert_eq!(get_u16(&d, 6), 8);
    }

    // ---- VPD B1 ----

    #[test]
    fn vpd_block_characteristics() {
        let d = run(&disk(), &inq(true, 0xb1, 255));
        assert_eq!(d.len(), 64);
        assert_eq!(&d[..6], &[0, 0xb1, 0, 0x3c, 0, 1]);
        let mut id = disk();
        id.rotation_rate = 7200;
        assert_eq!(get_u16(&run(&id, &inq(true, 0xb1, 255)), 4), 7200);
    }

    // ---- VPD B2 ----

    #[test]
    fn vpd_lbp() {
        let d = run(&thin(), &inq(true, 0xb2, 255));
        assert_eq!(d, [0, 0xb2, 0, 4, 0, 0xe4, 0x02, 0]);
    }

    #[test]
    fn vpd_lbp_partial_flags() {
        let mut id = thin();
        id.provisioning = Provisioning {
            lbpws: true,
            anc_sup: true,
            threshold_exponent: 3,
            ..Provisioning::default()
        };
        let d = run(&id, &inq(true, 0xb2, 255));
        assert_eq!(&d[4..7], &[3, 0x42, 0x02]);
    }

    // ---- REQUEST SENSE ----

    #[test]
    fn request_sense_no_sense_fixed() {
        let mut b = [0xffu8; 32];
        let r = request_sense(&[REQUEST_SENSE, 0, 0, 0, 252, 0], None, &mut b);
        assert_eq!(r.len, 18);
        assert_eq!(
            &b[..18],
            &[0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn request_sense_no_sense_descriptor() {
        let mut b = [0xffu8; 32];
        let r = request_sense(&[REQUEST_SENSE, 1, 0, 0, 252, 0], None, &mut b);
        assert_eq!(r.len, 8);
        assert_eq!(&b[..8], &[0x72, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn request_sense_pending() {
        let s = Sense::unit_attention(asc::POWER_ON_RESET);
        let mut b = [0u8; 32];
        let r = request_sense(&[REQUEST_SENSE, 0, 0, 0, 18, 0], Some(&s), &mut b);
        assert_eq!(r.len, 18);
        assert_eq!(b[2], 0x06);
        assert_eq!(&b[12..14], &[0x29, 0x00]);
    }

    #[test]
    fn request_sense_truncated() {
        let s = Sense::invalid_field_in_cdb(2, None);
        let mut b = [0u8; 32];
        let r = request_sense(&[REQUEST_SENSE, 0, 0, 0, 4, 0], Some(&s), &mut b);
        assert_eq!(
            r,
            DataIn {
                len: 4,
                full_len: 18
            }
        );
        assert_eq!(b[4], 0);
    }

    #[test]
    fn request_sense_lun_not_supported() {
        let s = Sense::lun_not_supported();
        let mut b = [0u8; 32];
        let r = request_sense(&[REQUEST_SENSE, 1, 0, 0, 32, 0], Some(&s), &mut b);
        assert_eq!(&b[..4], &[0x72, 0x05, 0x25, 0x00]);
        assert_eq!(r.len, 8);
    }

    // ---- TEST UNIT READY ----

    #[test]
    fn tur_states() {
        assert_eq!(test_unit_ready(MediumState::Ready), Ok(()));
        assert_eq!(
            test_unit_ready(MediumState::NoMedium),
            Err(Sense::medium_not_present())
        );
        let e = test_unit_ready(MediumState::TrayOpen).unwrap_err();
        assert_eq!(
            (e.key, e.asc),
            (Key::NotReady, asc::MEDIUM_NOT_PRESENT_TRAY_OPEN)
        );
        let e = test_unit_ready(MediumState::BecomingReady).unwrap_err();
        assert_eq!(e.asc, asc::BECOMING_READY);
        let e = test_unit_ready(MediumState::NotReady).unwrap_err();
        assert_eq!((e.key, e.asc), (Key::NotReady, asc::NOT_READY));
    }

    // ---- LOG SENSE ----

    fn ls(b1: u8, b2: u8, sub: u8, ptr: u16, alloc: u16) -> [u8; 10] {
        let [ph, pl] = ptr.to_be_bytes();
        let [ah, al] = alloc.to_be_bytes();
        [LOG_SENSE, b1, b2, sub, 0, ph, pl, ah, al, 0]
    }

    #[test]
    fn log_sense_supported_pages() {
        let mut b = [0u8; 16];
        let r = log_sense(&ls(0, 0x40, 0, 0, 16), &mut b).unwrap();
        assert_eq!(&b[..r.len], &[0, 0, 0, 1, 0]);
    }

    #[test]
    fn log_sense_supported_subpages() {
        let mut b = [0u8; 16];
        let r = log_sense(&ls(0, 0x00, 0xff, 0, 16), &mut b).unwrap();
        assert_eq!(&b[..r.len], &[0x40, 0xff, 0, 4, 0, 0, 0, 0xff]);
    }

    #[test]
    fn log_sense_truncated() {
        let mut b = [0u8; 16];
        let r = log_sense(&ls(0, 0, 0, 0, 2), &mut b).unwrap();
        assert_eq!(
            r,
            DataIn {
                len: 2,
                full_len: 5
            }
        );
    }

    #[test]
    fn log_sense_errors() {
        let mut b = [0u8; 16];
        assert!(is_invalid_cdb(
            &log_sense(&ls(2, 0, 0, 0, 16), &mut b).unwrap_err(),
            1,
            Some(1)
        ));
        assert!(is_invalid_cdb(
            &log_sense(&ls(1, 0, 0, 0, 16), &mut b).unwrap_err(),
            1,
            Some(0)
        ));
        assert!(is_invalid_cdb(
            &log_sense(&ls(0, 0x0d, 0, 0, 16), &mut b).unwrap_err(),
            2,
            Some(5)
        ));
        assert!(is_invalid_cdb(
            &log_sense(&ls(0, 0x7f, 0, 0, 16), &mut b).unwrap_err(),
            2,
            Some(5)
        ));
        assert!(is_invalid_cdb(
            &log_sense(&ls(0, 0, 1, 0, 16), &mut b).unwrap_err(),
            3,
            None
        ));
        assert!(is_invalid_cdb(
            &log_sense(&ls(0, 0, 0, 1, 16), &mut b).unwrap_err(),
            5,
            None
        ));
    }

    #[test]
    fn log_sense_pc_any() {
        let mut b = [0u8; 16];
        for pc in 0..4u8 {
            assert!(log_sense(&ls(0, pc << 6, 0, 0, 16), &mut b).is_ok());
        }
    }

    // ---- REPORT SUPPORTED OPERATION CODES ----

    const CMDS: &[OpcodeInfo<'static>] = &[
        OpcodeInfo {
            opcode: 0x00,
            service_action: None,
            cdb_len: 6,
            usage: &[0x00, 0, 0, 0, 0, 0x07],
            nominal_timeout: 0,
            recommended_timeout: 30,
        },
        OpcodeInfo {
            opcode: 0x12,
            service_action: None,
            cdb_len: 6,
            usage: &[0xff, 0x01, 0xff, 0xff, 0xff, 0x07],
            nominal_timeout: 1,
            recommended_timeout: 30,
        },
        OpcodeInfo {
            opcode: 0xa3,
            service_action: Some(0x0c),
            cdb_len: 12,
            usage: &[
                0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x07,
            ],
            nominal_timeout: 0,
            recommended_timeout: 0,
        },
        OpcodeInfo {
            opcode: 0xa3,
            service_action: Some(0x0d),
            cdb_len: 12,
            usage: &[0xa3, 0x0d, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x07],
            nominal_timeout: 0,
            recommended_timeout: 0,
        },
    ];

    fn rsoc(b2: u8, op: u8, sa: u16, alloc: u32) -> [u8; 12] {
        let mut c = [0u8; 12];
        c[0] = MAINTENANCE_IN;
        c[1] = SA_REPORT_SUPPORTED_OPCODES;
        c[2] = b2;
        c[3] = op;
        c[4..6].copy_from_slice(&sa.to_be_bytes());
        c[6..10].copy_from_slice(&alloc.to_be_bytes());
        c
    }

    fn run_rsoc(c: &[u8]) -> Result<std::vec::Vec<u8>, Sense> {
        let mut b = [0u8; 1024];
        let r = report_supported_opcodes(c, CMDS, &mut b)?;
        Ok(b[..r.len].to_vec())
    }

    #[test]
    fn rsoc_all() {
        let d = run_rsoc(&rsoc(0, 0, 0, 1024)).unwrap();
        assert_eq!(d.len(), 4 + 4 * 8);
        assert_eq!(get_u32(&d, 0), 32);
        assert_eq!(&d[4..12], &[0x00, 0, 0, 0, 0, 0x00, 0, 6]);
        assert_eq!(&d[12..20], &[0x12, 0, 0, 0, 0, 0x00, 0, 6]);
        assert_eq!(&d[20..28], &[0xa3, 0, 0, 0x0c, 0, 0x01, 0, 12]);
        assert_eq!(&d[28..36], &[0xa3, 0, 0, 0x0d, 0, 0x01, 0, 12]);
    }

    #[test]
    fn rsoc_all_rctd() {
        let d = run_rsoc(&rsoc(0x80, 0, 0, 1024)).unwrap();
        assert_eq!(d.len(), 4 + 4 * 20);
        assert_eq!(get_u32(&d, 0), 80);
        assert_eq!(&d[4..12], &[0x00, 0, 0, 0, 0, 0x02, 0, 6]);
        assert_eq!(&d[12..24], &[0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 30]);
        assert_eq!(d[24 + 5], 0x02);
        assert_eq!(get_u32(&d, 24 + 12), 1);
        // Every descriptor has CTDP.
        for i in 0..4 {
            assert_eq!(d[4 + i * 20 + 5] & 0x02, 0x02);
        }
    }

    #[test]
    fn rsoc_all_truncated() {
        let mut b = [0u8; 1024];
        let r = report_supported_opcodes(&rsoc(0, 0, 0, 10), CMDS, &mut b).unwrap();
        assert_eq!(
            r,
            DataIn {
                len: 10,
                full_len: 36
            }
        );
        assert_eq!(get_u32(&b, 0), 32);
    }

    #[test]
    fn rsoc_all_empty_table() {
        let mut b = [0u8; 16];
        let r = report_supported_opcodes(&rsoc(0, 0, 0, 16), &[], &mut b).unwrap();
        assert_eq!(&b[..r.len], &[0, 0, 0, 0]);
    }

    #[test]
    fn rsoc_one_no_sa() {
        let d = run_rsoc(&rsoc(1, 0x12, 0, 1024)).unwrap();
        assert_eq!(&d, &[0, 0x03, 0, 6, 0x12, 0x01, 0xff, 0xff, 0xff, 0x07]);
    }

    #[test]
    fn rsoc_one_usage_byte0_is_opcode() {
        // The table's usage byte 0 for TEST UNIT READY is 0 but must be reported as the opcode.
        let d = run_rsoc(&rsoc(1, 0x00, 0, 1024)).unwrap();
        assert_eq!(&d, &[0, 0x03, 0, 6, 0x00, 0, 0, 0, 0, 0x07]);
    }

    #[test]
    fn rsoc_one_not_supported() {
        let d = run_rsoc(&rsoc(1, 0x28, 0, 1024)).unwrap();
        assert_eq!(&d, &[0, 0x01, 0, 0]);
    }

    #[test]
    fn rsoc_one_rejects_sa_opcode() {
        let e = run_rsoc(&rsoc(1, 0xa3, 0x0c, 1024)).unwrap_err();
        assert!(is_invalid_cdb(&e, 3, None));
    }

    #[test]
    fn rsoc_sa_form() {
        let d = run_rsoc(&rsoc(2, 0xa3, 0x0c, 1024)).unwrap();
        assert_eq!(&d[..4], &[0, 0x03, 0, 12]);
        assert_eq!(&d[4..16], CMDS[2].usage);
    }

    #[test]
    fn rsoc_sa_form_unknown_sa() {
        let d = run_rsoc(&rsoc(2, 0xa3, 0x0a, 1024)).unwrap();
        assert_eq!(&d, &[0, 0x01, 0, 0]);
    }

    #[test]
    fn rsoc_sa_form_rejects_plain_opcode() {
        let e = run_rsoc(&rsoc(2, 0x12, 0, 1024)).unwrap_err();
        assert!(is_invalid_cdb(&e, 3, None));
        // An opcode outside the table is simply not supported.
        let d = run_rsoc(&rsoc(2, 0x99, 0, 1024)).unwrap();
        assert_eq!(&d, &[0, 0x01, 0, 0]);
    }

    #[test]
    fn rsoc_option3() {
        let d = run_rsoc(&rsoc(3, 0x12, 0x55, 1024)).unwrap();
        assert_eq!(&d[..4], &[0, 0x03, 0, 6]);
        let d = run_rsoc(&rsoc(3, 0xa3, 0x0d, 1024)).unwrap();
        assert_eq!(&d[4..6], &[0xa3, 0x0d]);
    }

    #[test]
    fn rsoc_one_rctd() {
        let d = run_rsoc(&rsoc(0x81, 0x12, 0, 1024)).unwrap();
        assert_eq!(d.len(), 4 + 6 + 12);
        assert_eq!(d[1], 0x83);
        assert_eq!(&d[10..14], &[0, 0x0a, 0, 0]);
        assert_eq!(get_u32(&d, 14), 1);
        assert_eq!(get_u32(&d, 18), 30);
    }

    #[test]
    fn rsoc_bad_option() {
        for o in 4..8u8 {
            let e = run_rsoc(&rsoc(o, 0, 0, 1024)).unwrap_err();
            assert!(is_invalid_cdb(&e, 2, Some(2)));
        }
    }

    #[test]
    fn rsoc_short_usage_padded() {
        let cmds = [OpcodeInfo {
            opcode: 0x35,
            service_action: None,
            cdb_len: 10,
            usage: &[0x35, 0x02],
            nominal_timeout: 0,
            recommended_timeout: 0,
        }];
        let mut b = [0u8; 64];
        let r = report_supported_opcodes(&rsoc(1, 0x35, 0, 64), &cmds, &mut b).unwrap();
        assert_eq!(
            &b[..r.len],
            &[0, 3, 0, 10, 0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    // ---- REPORT SUPPORTED TMFs ----

    fn rstmf(repd: bool, alloc: u32) -> [u8; 12] {
        let mut c = [0u8; 12];
        c[0] = MAINTENANCE_IN;
        c[1] = SA_REPORT_SUPPORTED_TMFS;
        c[2] = if repd { 0x80 } else { 0 };
        c[6..10].copy_from_slice(&alloc.to_be_bytes());
        c
    }

    #[test]
    fn rstmf_basic() {
        let mut b = [0u8; 16];
        let r = report_supported_tmfs(&rstmf(false, 16), &TmfSupport::SCST, &mut b).unwrap();
        assert_eq!(&b[..r.len], &[0xfe, 0x07, 0, 0]);
    }

    #[test]
    fn rstmf_extended() {
        let mut b = [0u8; 32];
        let r = report_supported_tmfs(&rstmf(true, 32), &TmfSupport::SCST, &mut b).unwrap();
        assert_eq!(r.len, 16);
        assert_eq!(&b[..4], &[0xfe, 0x07, 0, 0x0c]);
        assert_eq!(&b[4..16], &[0u8; 12]);
    }

    #[test]
    fn rstmf_individual_bits() {
        let mut b = [0u8; 4];
        let t = TmfSupport {
            wakeup: true,
            lun_reset: true,
            ..TmfSupport::default()
        };
        report_supported_tmfs(&rstmf(false, 4), &t, &mut b).unwrap();
        assert_eq!(b, [0x09, 0, 0, 0]);
        let t = TmfSupport {
            it_nexus_reset: true,
            ..TmfSupport::default()
        };
        report_supported_tmfs(&rstmf(false, 4), &t, &mut b).unwrap();
        assert_eq!(b, [0, 0x01, 0, 0]);
    }

    #[test]
    fn rstmf_alloc_too_small() {
        let e =
            report_supported_tmfs(&rstmf(false, 3), &TmfSupport::SCST, &mut [0u8; 4]).unwrap_err();
        assert!(is_invalid_cdb(&e, 6, None));
    }

    #[test]
    fn rstmf_truncated_extended() {
        let mut b = [0u8; 32];
        let r = report_supported_tmfs(&rstmf(true, 4), &TmfSupport::SCST, &mut b).unwrap();
        assert_eq!(
            r,
            DataIn {
                len: 4,
                full_len: 16
            }
        );
    }

    #[test]
    fn version_descriptor_defaults() {
        assert_eq!(
            default_version_descriptors(PeripheralType::Tape),
            [0x00a0, 0x0460, 0, 0x0960, 0, 0, 0, 0]
        );
    }

    fn arb_identity() -> impl Strategy<Value = DeviceIdentity> {
        (
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..300),
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            proptest::option::of(0u8..16),
            any::<bool>(),
            any::<u8>(),
        )
            .prop_map(|(cd, tp, serial, name, rp, tpg, proto, naa6, tpgs)| {
                let mut id = if cd {
                    DeviceIdentity::new(PeripheralType::Cdrom)
                } else {
                    disk()
                };
                id.thin_provisioned = tp;
                id.unit_serial = Ascii::new(&serial);
                id.t10_dev_id = Ascii::new(&serial);
                id.device_name = Ascii::new(&name);
                id.relative_port = rp;
                id.port_group = tpg;
                id.protocol_id = proto;
                id.tpgs = tpgs;
                if naa6 {
                    id.naa = Some(NaaId::RegisteredExtended {
                        company_id: 1,
                        vendor_id: 2,
                        extension: 3,
                    });
                }
                id
            })
    }

    proptest! {
        #[test]
        fn prop_inquiry_never_panics(
            cdb in proptest::collection::vec(any::<u8>(), 0..16),
            buflen in 0usize..300,
            id in arb_identity(),
        ) {
            let mut b = std::vec![0u8; buflen];
            if let Ok(r) = inquiry(&cdb, &id, &mut b) {
                prop_assert!(r.len <= buflen);
                prop_assert!(r.len <= r.full_len);
            }
        }

        #[test]
        fn prop_inquiry_truncation(
            id in arb_identity(),
            page_idx in 0usize..8,
            evpd: bool,
            alloc in 0u16..600,
        ) {
            let (pages, n) = supported_vpd_pages(&id);
            let page = if evpd { pages[page_idx % n] } else { 0 };
            let mut full = [0u8; 1024];
            let rf = inquiry(&inq(evpd, page, 1024), &id, &mut full).unwrap();
            prop_assert_eq!(rf.len, rf.full_len);
            let mut b = [0u8; 1024];
            let r = inquiry(&inq(evpd, page, alloc), &id, &mut b).unwrap();
            prop_assert_eq!(r.full_len, rf.full_len);
            prop_assert_eq!(r.len, rf.full_len.min(usize::from(alloc)));
            prop_assert_eq!(&b[..r.len], &full[..r.len]);
            // The length field describes the full response.
            if evpd {
                prop_assert_eq!(usize::from(get_u16(&full, 2)) + 4, rf.full_len);
            } else {
                prop_assert_eq!(usize::from(full[4]) + 5, rf.full_len);
            }
        }

        #[test]
        fn prop_devid_designators_walk(id in arb_identity()) {
            let mut b = [0u8; 1024];
            let r = inquiry(&inq(true, 0x83, 1024), &id, &mut b).unwrap();
            let mut off = 4usize;
            let mut count = 0;
            while off < r.len {
                let len = usize::from(b[off + 3]);
                off += 4 + len;
                count += 1;
            }
            prop_assert_eq!(off, r.len);
            prop_assert!(count >= 1);
        }

        #[test]
        fn prop_std_inquiry_ascii(id in arb_identity(), v in proptest::collection::vec(any::<u8>(), 0..20)) {
            let mut id = id;
            id.vendor = Ascii::new(&v);
            id.product = Ascii::new(&v);
            id.revision = Ascii::new(&v);
            let mut b = [0u8; 96];
            inquiry(&inq(false, 0, 96), &id, &mut b).unwrap();
            prop_assert!(b[8..36].iter().all(|&c| (0x20..=0x7e).contains(&c)));
        }

        #[test]
        fn prop_request_sense_never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..8), buflen in 0usize..64) {
            let mut b = std::vec![0u8; buflen];
            let s = Sense::miscompare(5);
            let r = request_sense(&cdb, Some(&s), &mut b);
            prop_assert!(r.len <= buflen);
            let r = request_sense(&cdb, None, &mut b);
            prop_assert!(r.len <= r.full_len);
        }

        #[test]
        fn prop_log_sense_never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..12), buflen in 0usize..64) {
            let mut b = std::vec![0u8; buflen];
            let _ = log_sense(&cdb, &mut b);
        }

        #[test]
        fn prop_rsoc_never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..14), buflen in 0usize..300) {
            let mut b = std::vec![0u8; buflen];
            if let Ok(r) = report_supported_opcodes(&cdb, CMDS, &mut b) {
                prop_assert!(r.len <= buflen);
            }
            let _ = report_supported_tmfs(&cdb, &TmfSupport::SCST, &mut b);
        }

        #[test]
        fn prop_rsoc_truncation(opts in 0u8..4, rctd: bool, idx in 0usize..4, alloc in 0u32..200) {
            let c = &CMDS[idx];
            let b2 = opts | if rctd { 0x80 } else { 0 };
            let op = c.opcode;
            let sa = c.service_action.unwrap_or(0);
            let mut full = [0u8; 512];
            let rf = report_supported_opcodes(&rsoc(b2, op, sa, 512), CMDS, &mut full);
            let mut b = [0u8; 512];
            let r = report_supported_opcodes(&rsoc(b2, op, sa, alloc), CMDS, &mut b);
            match (rf, r) {
                (Ok(rf), Ok(r)) => {
                    prop_assert_eq!(r.full_len, rf.full_len);
                    prop_assert_eq!(r.len, rf.len.min(alloc as usize));
                    prop_assert_eq!(&b[..r.len], &full[..r.len]);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                _ => prop_assert!(false, "truncation changed the outcome"),
            }
        }
    }
}
