// SPDX-License-Identifier: GPL-2.0

//! EXTENDED COPY (LID1) and RECEIVE COPY RESULTS for block-to-block copies
//! between logical units of one target (SPC-4 6.4, 6.18), and the
//! Third-party Copy VPD page (SPC-4 7.8.17): what VMware's copy offload
//! (VAAI XCOPY) uses.
//!
//! [`parse_list`] checks a parameter list in the order initiators (and
//! libiscsi's tests) expect: lengths first (PARAMETER LIST LENGTH ERROR),
//! then descriptor counts (TOO MANY ... DESCRIPTORS), then each descriptor
//! (UNSUPPORTED ... TYPE CODE, INVALID FIELD IN PARAMETER LIST). Only
//! identification CSCD descriptors (E4h, a logical unit named by a
//! designator from its Device Identification VPD page) and block device to
//! block device segment descriptors (02h) are supported.
//!
//! [`plan`] then resolves the CSCD descriptors to devices through the
//! caller's lookup and checks every segment against the devices' sizes; a
//! problem found there is COPY ABORTED, as the copy manager's own failure.
//! Nothing is copied here: the core reads and writes through the devices.

use super::bytes::{get_u16, get_u32, get_u64, get_u8, Writer};
use super::sense::{asc, Key, Sense, Specific};

/// EXTENDED COPY operation code.
pub const EXTENDED_COPY: u8 = 0x83;
/// RECEIVE COPY RESULTS operation code.
pub const RECEIVE_COPY_RESULTS: u8 = 0x84;
/// RECEIVE COPY RESULTS service action COPY STATUS (LID1).
pub const SA_COPY_STATUS: u8 = 0x00;
/// RECEIVE COPY RESULTS service action OPERATING PARAMETERS.
pub const SA_OPERATING_PARAMETERS: u8 = 0x03;

/// Bytes of the parameter list header.
pub const HEADER_LEN: usize = 16;
/// Bytes of a CSCD descriptor.
pub const CSCD_LEN: usize = 32;
/// Bytes of a block-to-block segment descriptor.
pub const B2B_LEN: usize = 28;
/// Identification descriptor CSCD type code.
pub const CSCD_IDENTIFICATION: u8 = 0xe4;
/// Block device to block device segment descriptor type code.
pub const SEG_BLOCK_TO_BLOCK: u8 = 0x02;
/// Longest designator an identification descriptor holds.
pub const MAX_DESIGNATOR_LEN: usize = 20;

/// At most this many CSCD descriptors per list.
pub const MAX_CSCDS: usize = 8;
/// At most this many segment descriptors per list.
pub const MAX_SEGMENTS: usize = 8;
/// At most this many bytes of CSCD and segment descriptors.
pub const MAX_DESC_LIST_LEN: u32 = 1024;
/// At most this many bytes one segment copies (NUMBER OF BLOCKS is 16 bits,
/// so 65535 blocks of up to 4 KiB fit).
pub const MAX_SEGMENT_LEN: u32 = 65535 * 4096;

/// A designation descriptor naming a logical unit (SPC-4 7.8.6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Designator {
    /// CODE SET.
    pub code_set: u8,
    /// ASSOCIATION (0: the logical unit).
    pub association: u8,
    /// DESIGNATOR TYPE (3: NAA, 1: T10 vendor ID, ...).
    pub kind: u8,
    len: u8,
    bytes: [u8; MAX_DESIGNATOR_LEN],
}

impl Designator {
    /// A designator of `bytes` (at most [`MAX_DESIGNATOR_LEN`]).
    pub fn new(code_set: u8, association: u8, kind: u8, bytes: &[u8]) -> Option<Self> {
        let mut b = [0u8; MAX_DESIGNATOR_LEN];
        b.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self {
            code_set,
            association,
            kind,
            len: bytes.len() as u8,
            bytes: b,
        })
    }

    /// The designator's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// An identification CSCD descriptor: a block device named by designator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cscd {
    /// NUL: a null device (nothing can be copied to or from it).
    pub nul: bool,
    /// RELATIVE INITIATOR PORT IDENTIFIER.
    pub rel_port: u16,
    /// The logical unit.
    pub designator: Designator,
    /// DISK BLOCK LENGTH (0: the device's own).
    pub block_len: u32,
}

/// A block-to-block segment descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Source CSCD index.
    pub src: u16,
    /// Destination CSCD index.
    pub dst: u16,
    /// BLOCK DEVICE NUMBER OF BLOCKS.
    pub blocks: u16,
    /// Source LBA.
    pub src_lba: u64,
    /// Destination LBA.
    pub dst_lba: u64,
}

/// A parsed EXTENDED COPY parameter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyList {
    /// LIST IDENTIFIER.
    pub list_id: u8,
    /// LIST ID USAGE (00b, 10b: results held; 11b: none held).
    pub list_id_usage: u8,
    cscds: [Option<Cscd>; MAX_CSCDS],
    segments: [Option<Segment>; MAX_SEGMENTS],
}

impl CopyList {
    fn empty() -> Self {
        Self {
            list_id: 0,
            list_id_usage: 0,
            cscds: [None; MAX_CSCDS],
            segments: [None; MAX_SEGMENTS],
        }
    }

    /// The CSCD descriptors, in list order.
    pub fn cscds(&self) -> impl Iterator<Item = &Cscd> {
        self.cscds.iter().flatten()
    }

    /// The segment descriptors, in list order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().flatten()
    }
}

fn param(byte: usize, bit: Option<u8>) -> Sense {
    Sense::invalid_field_in_param(u16::try_from(byte).unwrap_or(u16::MAX), bit)
}

fn with_pointer(asc: super::sense::Asc, byte: usize) -> Sense {
    Sense::new(Key::IllegalRequest, asc).with_specific(Specific::FieldPointer {
        in_cdb: false,
        byte: u16::try_from(byte).unwrap_or(u16::MAX),
        bit: None,
    })
}

/// The copy manager could not do what a valid list asks (SPC-4 5.17.7).
pub fn copy_aborted(code: super::sense::Asc) -> Sense {
    Sense::new(Key::CopyAborted, code)
}

/// Parses the EXTENDED COPY (LID1) CDB: the PARAMETER LIST LENGTH.
pub fn parse_cdb(cdb: &[u8]) -> Result<u32, Sense> {
    if get_u8(cdb, 0) != EXTENDED_COPY {
        return Err(Sense::invalid_opcode());
    }
    if get_u8(cdb, 1) & 0x1f != 0 {
        // LID4 and the other service actions are not supported.
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    Ok(get_u32(cdb, 10))
}

/// Parses an EXTENDED COPY (LID1) parameter list. An empty list is valid
/// and copies nothing.
pub fn parse_list(p: &[u8]) -> Result<CopyList, Sense> {
    let mut list = CopyList::empty();
    if p.is_empty() {
        return Ok(list);
    }
    if p.len() < HEADER_LEN {
        return Err(Sense::param_list_length_error());
    }
    list.list_id = get_u8(p, 0);
    let b1 = get_u8(p, 1);
    list.list_id_usage = (b1 >> 3) & 3;
    let cscd_len = usize::from(get_u16(p, 2));
    let seg_len = get_u32(p, 8);
    let inline_len = get_u32(p, 12);
    if inline_len != 0 {
        return Err(param(12, None));
    }
    // LIST ID USAGE 01b is reserved; 11b (nothing held) needs LIST ID 0.
    if list.list_id_usage == 1 {
        return Err(param(1, Some(4)));
    }
    if list.list_id_usage == 3 && list.list_id != 0 {
        return Err(param(0, None));
    }
    let total = u32::try_from(cscd_len)
        .ok()
        .and_then(|c| c.checked_add(seg_len))
        .ok_or_else(Sense::param_list_length_error)?;
    if total > MAX_DESC_LIST_LEN {
        return Err(Sense::param_list_length_error());
    }
    let seg_len = seg_len as usize;
    let cscd_end = HEADER_LEN + cscd_len;
    let seg_end = cscd_end + seg_len;
    if seg_end > p.len() {
        return Err(Sense::param_list_length_error());
    }
    if cscd_len % CSCD_LEN != 0 {
        return Err(param(2, None));
    }
    let n_cscd = cscd_len / CSCD_LEN;
    if n_cscd > MAX_CSCDS {
        return Err(with_pointer(asc::TOO_MANY_TARGET_DESCRIPTORS, 2));
    }
    // Count the segments first: too many is reported before their contents.
    let mut off = cscd_end;
    let mut n_seg = 0usize;
    while off < seg_end {
        let dlen = usize::from(get_u16(p, off + 2));
        let next = off + 4 + dlen;
        if dlen == 0 || next > seg_end {
            return Err(Sense::param_list_length_error());
        }
        n_seg += 1;
        off = next;
    }
    if n_seg > MAX_SEGMENTS {
        return Err(with_pointer(asc::TOO_MANY_SEGMENT_DESCRIPTORS, 8));
    }
    for i in 0..n_cscd {
        let o = HEADER_LEN + i * CSCD_LEN;
        let d = p
            .get(o..o + CSCD_LEN)
            .ok_or_else(Sense::param_list_length_error)?;
        list.cscds[i] = Some(parse_cscd(d, o)?);
    }
    let mut off = cscd_end;
    for slot in list.segments.iter_mut().take(n_seg) {
        let dlen = usize::from(get_u16(p, off + 2));
        let d = p
            .get(off..off + 4 + dlen)
            .ok_or_else(Sense::param_list_length_error)?;
        *slot = Some(parse_segment(d, off)?);
        off += 4 + dlen;
    }
    Ok(list)
}

fn parse_cscd(d: &[u8], o: usize) -> Result<Cscd, Sense> {
    if get_u8(d, 0) != CSCD_IDENTIFICATION {
        return Err(with_pointer(asc::UNSUPPORTED_TARGET_DESCRIPTOR, o));
    }
    let b1 = get_u8(d, 1);
    // LU ID TYPE 00b: the designator names the LU (proxy tokens and the
    // other types are not supported).
    if b1 >> 6 != 0 {
        return Err(param(o + 1, Some(7)));
    }
    // PERIPHERAL DEVICE TYPE: block devices only.
    if b1 & 0x1f != 0 {
        return Err(param(o + 1, Some(4)));
    }
    let len = usize::from(get_u8(d, 7));
    let bytes = d
        .get(8..8 + len)
        .filter(|_| len <= MAX_DESIGNATOR_LEN)
        .ok_or_else(|| param(o + 7, None))?;
    let designator = Designator::new(
        get_u8(d, 4) & 0x0f,
        (get_u8(d, 5) >> 4) & 3,
        get_u8(d, 5) & 0x0f,
        bytes,
    )
    .ok_or_else(|| param(o + 7, None))?;
    let block_len = get_u32(d, 28) & 0x00ff_ffff;
    Ok(Cscd {
        nul: b1 & 0x20 != 0,
        rel_port: get_u16(d, 2),
        designator,
        block_len,
    })
}

fn parse_segment(d: &[u8], o: usize) -> Result<Segment, Sense> {
    if get_u8(d, 0) != SEG_BLOCK_TO_BLOCK {
        return Err(with_pointer(asc::UNSUPPORTED_SEGMENT_DESCRIPTOR, o));
    }
    if d.len() != B2B_LEN {
        return Err(param(o + 2, None));
    }
    // CAT and DC change how residues and block counts are handled; only
    // the default (DC=0: NUMBER OF BLOCKS counts destination blocks, which
    // equal source blocks here) is supported.
    if get_u8(d, 1) & 0x02 != 0 {
        return Err(param(o + 1, Some(1)));
    }
    Ok(Segment {
        src: get_u16(d, 4),
        dst: get_u16(d, 6),
        blocks: get_u16(d, 10),
        src_lba: get_u64(d, 12),
        dst_lba: get_u64(d, 20),
    })
}

/// Whether a Device Identification VPD page (83h, as INQUIRY returns it)
/// holds a logical unit designator equal to `d`: what a copy manager uses to
/// find the device an identification CSCD descriptor names.
pub fn page83_names(page: &[u8], d: &Designator) -> bool {
    let end = (4 + usize::from(get_u16(page, 2))).min(page.len());
    let mut off = 4;
    while off + 4 <= end {
        let len = usize::from(get_u8(page, off + 3));
        let Some(bytes) = page.get(off + 4..off + 4 + len) else {
            return false;
        };
        let code_set = get_u8(page, off) & 0x0f;
        let b1 = get_u8(page, off + 1);
        if code_set == d.code_set
            && (b1 >> 4) & 3 == d.association
            && b1 & 0x0f == d.kind
            && bytes == d.as_bytes()
        {
            return true;
        }
        off += 4 + len;
    }
    false
}

/// What the caller knows of a device a designator names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// The caller's handle for the device (an index into its own table).
    pub handle: usize,
    /// Its logical block size.
    pub block_size: u32,
    /// Its capacity in blocks.
    pub num_blocks: u64,
}

/// One byte range to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyRange {
    /// The source device's handle.
    pub src: usize,
    /// Byte offset on the source.
    pub src_pos: u64,
    /// The destination device's handle.
    pub dst: usize,
    /// Byte offset on the destination.
    pub dst_pos: u64,
    /// Bytes to copy.
    pub len: u64,
}

/// Resolves `list` against the caller's devices (`lookup` finds the device
/// a designator names) and checks every segment; returns the copies in
/// segment order. Unreachable targets and ranges beyond a device's end are
/// COPY ABORTED.
pub fn plan(
    list: &CopyList,
    lookup: impl Fn(&Designator) -> Option<Target>,
) -> Result<[Option<CopyRange>; MAX_SEGMENTS], Sense> {
    let mut targets: [Option<Target>; MAX_CSCDS] = [None; MAX_CSCDS];
    for (t, c) in targets.iter_mut().zip(list.cscds.iter()) {
        if let Some(c) = c {
            if c.nul {
                continue;
            }
            *t = lookup(&c.designator).filter(|t| c.block_len == 0 || c.block_len == t.block_size);
        }
    }
    let unreachable = || copy_aborted(asc::COPY_TARGET_NOT_REACHABLE);
    let mut out: [Option<CopyRange>; MAX_SEGMENTS] = [None; MAX_SEGMENTS];
    for (slot, s) in out.iter_mut().zip(list.segments.iter()) {
        let Some(s) = s else { continue };
        let src = targets
            .get(usize::from(s.src))
            .copied()
            .flatten()
            .ok_or_else(unreachable)?;
        let dst = targets
            .get(usize::from(s.dst))
            .copied()
            .flatten()
            .ok_or_else(unreachable)?;
        // Source and destination blocks must be the same size: a
        // block-to-block copy moves whole blocks.
        if src.block_size != dst.block_size || src.block_size == 0 {
            return Err(copy_aborted(asc::NO_ADDITIONAL));
        }
        let n = u64::from(s.blocks);
        let in_range = |lba: u64, t: &Target| lba.checked_add(n).is_some_and(|e| e <= t.num_blocks);
        if !in_range(s.src_lba, &src) || !in_range(s.dst_lba, &dst) {
            return Err(copy_aborted(asc::NO_ADDITIONAL));
        }
        let bs = u64::from(src.block_size);
        let len = n * bs;
        if len > u64::from(MAX_SEGMENT_LEN) {
            return Err(copy_aborted(asc::NO_ADDITIONAL));
        }
        *slot = Some(CopyRange {
            src: src.handle,
            src_pos: s.src_lba.checked_mul(bs).ok_or_else(unreachable)?,
            dst: dst.handle,
            dst_pos: s.dst_lba.checked_mul(bs).ok_or_else(unreachable)?,
            len,
        });
    }
    Ok(out)
}

/// The RECEIVE COPY RESULTS OPERATING PARAMETERS data (SPC-4 6.18.4),
/// truncated to `out`; returns the full length.
pub fn operating_parameters(out: &mut [u8]) -> usize {
    let mut w = Writer::new(out);
    let implemented = [SEG_BLOCK_TO_BLOCK, CSCD_IDENTIFICATION];
    let len = 44 + implemented.len();
    w.u32((len - 4) as u32);
    // SNLID: commands with LIST ID USAGE 11b are supported.
    w.u8(0x01);
    w.zeros(3);
    w.u16(MAX_CSCDS as u16);
    w.u16(MAX_SEGMENTS as u16);
    w.u32(MAX_DESC_LIST_LEN);
    w.u32(MAX_SEGMENT_LEN);
    // MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE
    // TRANSFER SIZE: none.
    w.u32(0);
    w.u32(0);
    w.u32(0);
    w.zeros(2);
    // TOTAL CONCURRENT COPIES, MAXIMUM CONCURRENT COPIES.
    w.u16(1);
    w.u8(1);
    // DATA SEGMENT GRANULARITY (log2 bytes: one 512-byte block), INLINE and
    // HELD DATA GRANULARITY.
    w.u8(9);
    w.u8(0);
    w.u8(0);
    w.zeros(3);
    w.u8(implemented.len() as u8);
    w.bytes(&implemented);
    len
}

/// How a finished copy ended, for RECEIVE COPY RESULTS COPY STATUS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyStatus {
    /// Completed without errors (else completed with errors).
    pub ok: bool,
    /// Segments processed.
    pub segments: u16,
    /// Bytes transferred.
    pub bytes: u64,
}

/// The RECEIVE COPY RESULTS COPY STATUS data (LID1, SPC-4 6.18.2),
/// truncated to `out`; returns the full length. Transfer counts above 4 GiB
/// are reported in KiB.
pub fn copy_status(s: &CopyStatus, out: &mut [u8]) -> usize {
    let mut w = Writer::new(out);
    w.u32(8);
    // HDD 0; COPY MANAGER STATUS 01h: completed without errors, 02h: with
    // errors.
    w.u8(if s.ok { 0x01 } else { 0x02 });
    w.u16(s.segments);
    let (unit, count) = match u32::try_from(s.bytes) {
        Ok(b) => (0u8, b),
        Err(_) => (1u8, u32::try_from(s.bytes / 1024).unwrap_or(u32::MAX)),
    };
    w.u8(unit);
    w.u32(count);
    12
}

/// The Third-party Copy VPD page (8Fh, SPC-4 7.8.17) of a block device:
/// the supported commands, the parameter data and the supported
/// descriptors. `peripheral` is byte 0 of the page. Returns the full
/// length.
pub fn vpd_third_party_copy(peripheral: u8, out: &mut [u8]) -> usize {
    // Supported Commands (0001h): EXTENDED COPY SA 00h; RECEIVE COPY
    // RESULTS SA 00h and 03h. 2 + 3 + 4 bytes of list, padded to 4.
    const CMDS: [u8; 7] = [
        EXTENDED_COPY,
        1,
        0x00,
        RECEIVE_COPY_RESULTS,
        2,
        SA_COPY_STATUS,
        SA_OPERATING_PARAMETERS,
    ];
    let cmds_len = 1 + CMDS.len();
    let cmds_desc = cmds_len.next_multiple_of(4);
    // Parameter Data (0008h): 28 bytes after its header.
    let param_desc = 28;
    // Supported Descriptors (0004h): count then codes, padded to 4.
    const DESCS: [u8; 2] = [SEG_BLOCK_TO_BLOCK, CSCD_IDENTIFICATION];
    let descs_desc = (1 + DESCS.len()).next_multiple_of(4);
    // Supported CSCD Descriptor IDs (000Ch): the LU-relative IDs 0000h-07FFh
    // are used; none of the special ones (FFFFh...).
    let ids_desc = 4;
    let page_len = 4 + cmds_desc + 4 + param_desc + 4 + descs_desc + 4 + ids_desc;
    let mut w = Writer::new(out);
    w.u8(peripheral);
    w.u8(0x8f);
    w.u16(page_len as u16);
    w.u16(0x0001);
    w.u16(cmds_desc as u16);
    w.u8(CMDS.len() as u8);
    w.bytes(&CMDS);
    w.zeros(cmds_desc - cmds_len);
    w.u16(0x0008);
    w.u16(param_desc as u16);
    w.zeros(4);
    w.u16(MAX_CSCDS as u16);
    w.u16(MAX_SEGMENTS as u16);
    w.u32(MAX_DESC_LIST_LEN);
    w.u32(0);
    w.zeros(12);
    w.u16(0x0004);
    w.u16(descs_desc as u16);
    w.u8(DESCS.len() as u8);
    w.bytes(&DESCS);
    w.zeros(descs_desc - 1 - DESCS.len());
    w.u16(0x000c);
    w.u16(ids_desc as u16);
    w.u16(0);
    w.zeros(2);
    4 + page_len
}

#[cfg(test)]
mod tests {
    use super::super::sense::Asc;
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const NAA: [u8; 16] = [0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    fn cscd(naa: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; CSCD_LEN];
        d[0] = CSCD_IDENTIFICATION;
        d[4] = 1; // binary
        d[5] = 3; // NAA, LU association
        d[7] = naa.len() as u8;
        d[8..8 + naa.len()].copy_from_slice(naa);
        d[29..32].copy_from_slice(&[0, 2, 0]); // 512-byte blocks
        d
    }

    fn seg(src: u16, dst: u16, blocks: u16, src_lba: u64, dst_lba: u64) -> Vec<u8> {
        let mut d = vec![0u8; B2B_LEN];
        d[0] = SEG_BLOCK_TO_BLOCK;
        d[2..4].copy_from_slice(&0x18u16.to_be_bytes());
        d[4..6].copy_from_slice(&src.to_be_bytes());
        d[6..8].copy_from_slice(&dst.to_be_bytes());
        d[10..12].copy_from_slice(&blocks.to_be_bytes());
        d[12..20].copy_from_slice(&src_lba.to_be_bytes());
        d[20..28].copy_from_slice(&dst_lba.to_be_bytes());
        d
    }

    fn list(cscds: &[Vec<u8>], segs: &[Vec<u8>]) -> Vec<u8> {
        let cl: usize = cscds.iter().map(Vec::len).sum();
        let sl: usize = segs.iter().map(Vec::len).sum();
        let mut p = vec![0u8; HEADER_LEN];
        p[0] = 1;
        p[2..4].copy_from_slice(&(cl as u16).to_be_bytes());
        p[8..12].copy_from_slice(&(sl as u32).to_be_bytes());
        for d in cscds.iter().chain(segs) {
            p.extend_from_slice(d);
        }
        p
    }

    fn asc_of(r: Result<CopyList, Sense>) -> (Key, Asc) {
        let s = r.unwrap_err();
        (s.key, s.asc)
    }

    fn lookup(d: &Designator) -> Option<Target> {
        (d.as_bytes() == NAA).then_some(Target {
            handle: 7,
            block_size: 512,
            num_blocks: 4096,
        })
    }

    #[test]
    fn designators_are_found_in_page_83() {
        // Two designators: T10 vendor ID "SCST_FIOdisk1", then NAA.
        let mut page = vec![0u8, 0x83, 0, 0];
        page.extend_from_slice(&[2, 1, 0, 13]);
        page.extend_from_slice(b"SCST_FIOdisk1");
        page.extend_from_slice(&[1, 3, 0, 16]);
        page.extend_from_slice(&NAA);
        let n = (page.len() - 4) as u16;
        page[2..4].copy_from_slice(&n.to_be_bytes());
        let naa = Designator::new(1, 0, 3, &NAA).unwrap();
        let t10 = Designator::new(2, 0, 1, b"SCST_FIOdisk1").unwrap();
        assert!(page83_names(&page, &naa));
        assert!(page83_names(&page, &t10));
        assert!(!page83_names(
            &page,
            &Designator::new(2, 0, 1, b"SCST_FIOdisk2").unwrap()
        ));
        assert!(
            !page83_names(&page, &Designator::new(1, 1, 3, &NAA).unwrap()),
            "port association"
        );
        assert!(
            !page83_names(&page, &Designator::new(1, 0, 2, &NAA).unwrap()),
            "other type"
        );
        // A truncated page never reads past its end.
        for cut in 0..page.len() {
            let _ = page83_names(&page[..cut], &naa);
        }
        assert!(!page83_names(&page[..page.len() - 1], &naa));
    }

    #[test]
    fn cdb() {
        let mut c = [0u8; 16];
        c[0] = 0x83;
        c[10..14].copy_from_slice(&76u32.to_be_bytes());
        assert_eq!(parse_cdb(&c), Ok(76));
        c[1] = 0x01;
        assert_eq!(parse_cdb(&c), Err(Sense::invalid_field_in_cdb(1, Some(4))));
    }

    #[test]
    fn one_segment_copy() {
        let p = list(&[cscd(&NAA)], &[seg(0, 0, 2048, 0, 2048)]);
        let l = parse_list(&p).unwrap();
        assert_eq!(l.list_id, 1);
        assert_eq!(l.cscds().count(), 1);
        let s = l.segments().next().unwrap();
        assert_eq!(
            (s.src, s.dst, s.blocks, s.src_lba, s.dst_lba),
            (0, 0, 2048, 0, 2048)
        );
        let plan = plan(&l, lookup).unwrap();
        assert_eq!(
            plan[0],
            Some(CopyRange {
                src: 7,
                src_pos: 0,
                dst: 7,
                dst_pos: 2048 * 512,
                len: 2048 * 512
            })
        );
        assert!(plan[1..].iter().all(Option::is_none));
    }

    #[test]
    fn empty_list_is_good() {
        let l = parse_list(&[]).unwrap();
        assert_eq!(l.segments().count(), 0);
        assert!(plan(&l, lookup).unwrap().iter().all(Option::is_none));
    }

    #[test]
    fn truncated_lists_are_parameter_list_length_errors() {
        let p = list(&[cscd(&NAA)], &[seg(0, 0, 1, 0, 1)]);
        for cut in [1, HEADER_LEN - 1, HEADER_LEN + CSCD_LEN - 1, p.len() - 1] {
            assert_eq!(
                asc_of(parse_list(&p[..cut])),
                (Key::IllegalRequest, asc::PARAMETER_LIST_LENGTH_ERROR),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn descriptor_counts() {
        let nine: Vec<Vec<u8>> = (0..9).map(|_| cscd(&NAA)).collect();
        assert_eq!(
            asc_of(parse_list(&list(&nine, &[seg(0, 0, 1, 0, 1)]))),
            (Key::IllegalRequest, asc::TOO_MANY_TARGET_DESCRIPTORS)
        );
        let segs: Vec<Vec<u8>> = (0..9).map(|_| seg(0, 0, 1, 0, 1)).collect();
        assert_eq!(
            asc_of(parse_list(&list(&[cscd(&NAA)], &segs))),
            (Key::IllegalRequest, asc::TOO_MANY_SEGMENT_DESCRIPTORS)
        );
        let eight: Vec<Vec<u8>> = (0..8).map(|_| seg(0, 0, 1, 0, 1)).collect();
        assert_eq!(
            parse_list(&list(&[cscd(&NAA)], &eight))
                .unwrap()
                .segments()
                .count(),
            8
        );
    }

    #[test]
    fn a_descriptor_list_beyond_the_maximum_length() {
        // 20 CSCDs: 640 bytes, and 20 segments: 560 bytes > 1024.
        let c: Vec<Vec<u8>> = (0..20).map(|_| cscd(&NAA)).collect();
        let s: Vec<Vec<u8>> = (0..20).map(|_| seg(0, 0, 1, 0, 1)).collect();
        assert_eq!(
            asc_of(parse_list(&list(&c, &s))),
            (Key::IllegalRequest, asc::PARAMETER_LIST_LENGTH_ERROR)
        );
    }

    #[test]
    fn unsupported_descriptor_types() {
        let mut c = cscd(&NAA);
        c[0] = 0xe0;
        assert_eq!(
            asc_of(parse_list(&list(&[c], &[seg(0, 0, 1, 0, 1)]))),
            (Key::IllegalRequest, asc::UNSUPPORTED_TARGET_DESCRIPTOR)
        );
        let mut s = seg(0, 0, 1, 0, 1);
        s[0] = 0x0e;
        assert_eq!(
            asc_of(parse_list(&list(&[cscd(&NAA)], &[s]))),
            (Key::IllegalRequest, asc::UNSUPPORTED_SEGMENT_DESCRIPTOR)
        );
    }

    #[test]
    fn bad_fields_are_invalid_field_in_parameter_list() {
        let inv = (Key::IllegalRequest, asc::INVALID_FIELD_IN_PARAM_LIST);
        let ok_seg = seg(0, 0, 1, 0, 1);
        // LU ID TYPE 01b (proxy token).
        let mut c = cscd(&NAA);
        c[1] = 0x40;
        assert_eq!(
            asc_of(parse_list(&list(&[c], core::slice::from_ref(&ok_seg)))),
            inv
        );
        // A tape (peripheral type 1).
        let mut c = cscd(&NAA);
        c[1] = 0x01;
        assert_eq!(
            asc_of(parse_list(&list(&[c], core::slice::from_ref(&ok_seg)))),
            inv
        );
        // A designator longer than 20 bytes.
        let mut c = cscd(&NAA);
        c[7] = 21;
        assert_eq!(
            asc_of(parse_list(&list(&[c], core::slice::from_ref(&ok_seg)))),
            inv
        );
        // Inline data.
        let mut p = list(&[cscd(&NAA)], core::slice::from_ref(&ok_seg));
        p[12..16].copy_from_slice(&4u32.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        assert_eq!(asc_of(parse_list(&p)), inv);
        // LIST ID USAGE 11b with a LIST ID.
        let mut p = list(&[cscd(&NAA)], core::slice::from_ref(&ok_seg));
        p[1] = 0x18;
        assert_eq!(asc_of(parse_list(&p)), inv);
        p[0] = 0;
        assert!(parse_list(&p).is_ok());
        // A segment of the wrong length, DC=1.
        let mut s = seg(0, 0, 1, 0, 1);
        s[3] = 0x1c;
        s.extend_from_slice(&[0; 4]);
        assert_eq!(asc_of(parse_list(&list(&[cscd(&NAA)], &[s]))), inv);
        let mut s = seg(0, 0, 1, 0, 1);
        s[1] = 0x02;
        assert_eq!(asc_of(parse_list(&list(&[cscd(&NAA)], &[s]))), inv);
    }

    #[test]
    fn execution_problems_are_copy_aborted() {
        let aborted = |p: &[u8]| {
            let e = plan(&parse_list(p).unwrap(), lookup).unwrap_err();
            assert_eq!(e.key, Key::CopyAborted);
            e.asc
        };
        // Destination index 1 with one CSCD.
        assert_eq!(
            aborted(&list(&[cscd(&NAA)], &[seg(0, 1, 1, 0, 1)])),
            asc::COPY_TARGET_NOT_REACHABLE
        );
        // An unknown LU.
        assert_eq!(
            aborted(&list(&[cscd(&[0x60; 16])], &[seg(0, 0, 1, 0, 1)])),
            asc::COPY_TARGET_NOT_REACHABLE
        );
        // NUL.
        let mut c = cscd(&NAA);
        c[1] = 0x20;
        assert_eq!(
            aborted(&list(&[c], &[seg(0, 0, 1, 0, 1)])),
            asc::COPY_TARGET_NOT_REACHABLE
        );
        // A block length that is not the device's.
        let mut c = cscd(&NAA);
        c[29..32].copy_from_slice(&[0, 0x10, 0]);
        assert_eq!(
            aborted(&list(&[c], &[seg(0, 0, 1, 0, 1)])),
            asc::COPY_TARGET_NOT_REACHABLE
        );
        // Beyond the end, on either side, and at the end of u64.
        assert_eq!(
            aborted(&list(&[cscd(&NAA)], &[seg(0, 0, 2048, 0, 4095)])),
            asc::NO_ADDITIONAL
        );
        assert_eq!(
            aborted(&list(&[cscd(&NAA)], &[seg(0, 0, 2, 4095, 0)])),
            asc::NO_ADDITIONAL
        );
        assert_eq!(
            aborted(&list(&[cscd(&NAA)], &[seg(0, 0, 1, u64::MAX, 0)])),
            asc::NO_ADDITIONAL
        );
        // Up to the last block is fine.
        assert!(plan(
            &parse_list(&list(&[cscd(&NAA)], &[seg(0, 0, 2048, 0, 2048)])).unwrap(),
            lookup
        )
        .is_ok());
    }

    #[test]
    fn operating_parameters_layout() {
        let mut b = [0u8; 64];
        let n = operating_parameters(&mut b);
        assert_eq!(n, 46);
        assert_eq!(get_u32(&b, 0), 42);
        assert_eq!(b[4] & 1, 1);
        assert_eq!(get_u16(&b, 8), MAX_CSCDS as u16);
        assert_eq!(get_u16(&b, 10), MAX_SEGMENTS as u16);
        assert_eq!(get_u32(&b, 12), MAX_DESC_LIST_LEN);
        assert_eq!(get_u32(&b, 16), MAX_SEGMENT_LEN);
        assert_eq!(b[43], 2);
        assert_eq!(&b[44..46], &[0x02, 0xe4]);
        // Truncation to the allocation length.
        let mut small = [0u8; 10];
        assert_eq!(operating_parameters(&mut small), 46);
        assert_eq!(get_u32(&small, 0), 42);
    }

    #[test]
    fn copy_status_layout() {
        let mut b = [0u8; 12];
        copy_status(
            &CopyStatus {
                ok: true,
                segments: 1,
                bytes: 1 << 20,
            },
            &mut b,
        );
        assert_eq!(b, [0, 0, 0, 8, 1, 0, 1, 0, 0, 0x10, 0, 0]);
        copy_status(
            &CopyStatus {
                ok: false,
                segments: 2,
                bytes: 8 << 30,
            },
            &mut b,
        );
        assert_eq!(b[4], 2);
        assert_eq!(b[7], 1, "KiB units above 4 GiB");
        assert_eq!(get_u32(&b, 8), 8 << 20);
    }

    #[test]
    fn vpd_page_layout() {
        let mut b = [0u8; 128];
        let n = vpd_third_party_copy(0, &mut b);
        assert_eq!(b[1], 0x8f);
        assert_eq!(usize::from(get_u16(&b, 2)) + 4, n);
        // Walk the descriptors: types in order, lengths multiples of 4.
        let mut off = 4;
        let mut types = vec![];
        while off < n {
            types.push(get_u16(&b, off));
            let l = usize::from(get_u16(&b, off + 2));
            assert_eq!(l % 4, 0);
            off += 4 + l;
        }
        assert_eq!(off, n);
        assert_eq!(types, [0x0001, 0x0008, 0x0004, 0x000c]);
        // Supported commands: 83h/00h, 84h/00h,03h.
        assert_eq!(&b[8..16], &[7, 0x83, 1, 0, 0x84, 2, 0, 3]);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(p in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(l) = parse_list(&p) {
                prop_assert!(l.cscds().count() <= MAX_CSCDS);
                prop_assert!(l.segments().count() <= MAX_SEGMENTS);
                let _ = plan(&l, lookup);
            }
        }

        #[test]
        fn valid_lists_round_trip(
            blocks in 0u16..4096, src in 0u64..8192, dst in 0u64..8192,
        ) {
            let p = list(&[cscd(&NAA)], &[seg(0, 0, blocks, src, dst)]);
            let l = parse_list(&p).unwrap();
            let s = *l.segments().next().unwrap();
            prop_assert_eq!((s.blocks, s.src_lba, s.dst_lba), (blocks, src, dst));
            let fits = src + u64::from(blocks) <= 4096 && dst + u64::from(blocks) <= 4096;
            prop_assert_eq!(plan(&l, lookup).is_ok(), fits);
        }
    }
}
