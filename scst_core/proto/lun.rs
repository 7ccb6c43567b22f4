// SPDX-License-Identifier: GPL-2.0

//! SAM-5 logical unit numbers and the REPORT LUNS command (SPC-4 6.33).
//!
//! A LUN travels as eight bytes (SAM-5 4.7). scst-rs uses single-level LUNs
//! only, in two address methods:
//! - peripheral device addressing (00b) for LUN 0..=255: `00 LL 00 00 00 00 00 00`;
//! - flat space addressing (01b) for LUN 256..=16383: `4H LL 00 00 00 00 00 00`.
//!
//! Decoding accepts both (a flat-space LUN below 256 is the same LU as the
//! peripheral one, as in SCST), plus the REPORT LUNS well-known LUN
//! (`C1 01 00..`, SPC-4 8.2). Logical unit addressing (10b), the other
//! extended forms (11b), a non-zero bus identifier and multi-level LUNs are not
//! supported and decode to LOGICAL UNIT NOT SUPPORTED.

use super::bytes::{get_u32, get_u8, Writer};
use super::sense::Sense;
use super::spc::DataIn;

/// Length of a SAM LUN on the wire.
pub const LUN_LEN: usize = 8;

/// Largest LUN number that can be encoded (14-bit flat space addressing).
pub const MAX_LUN: u16 = 16383;

/// Largest LUN encoded with peripheral device addressing.
pub const MAX_PERIPHERAL_LUN: u16 = 255;

/// The well-known LUN of the REPORT LUNS well-known logical unit (SPC-4 8.2),
/// as its first two bytes `C1 01`.
pub const REPORT_LUNS_WLUN: u16 = 0xC101;

/// REPORT LUNS operation code.
pub const REPORT_LUNS: u8 = 0xA0;

/// Smallest allocation length REPORT LUNS accepts (SPC-3 6.21; SPC-4 keeps
/// the "at least 16" recommendation and SCST/LIO enforce it).
pub const REPORT_LUNS_MIN_ALLOC: u32 = 16;

/// What an eight-byte LUN addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LunAddr {
    /// An ordinary logical unit, 0..=[`MAX_LUN`].
    Lun(u16),
    /// The REPORT LUNS well-known logical unit.
    ReportLunsWlun,
}

/// Encodes `lun` as eight SAM bytes: peripheral addressing below 256, flat
/// space addressing up to [`MAX_LUN`]; `None` if it cannot be encoded.
pub fn encode(lun: u16) -> Option<[u8; LUN_LEN]> {
    let mut b = [0u8; LUN_LEN];
    if lun <= MAX_PERIPHERAL_LUN {
        b[1] = lun as u8;
    } else if lun <= MAX_LUN {
        let [hi, lo] = lun.to_be_bytes();
        b[0] = 0x40 | hi;
        b[1] = lo;
    } else {
        return None;
    }
    Some(b)
}

/// Encodes a [`LunAddr`] as eight SAM bytes.
pub fn encode_addr(addr: LunAddr) -> Option<[u8; LUN_LEN]> {
    match addr {
        LunAddr::Lun(l) => encode(l),
        LunAddr::ReportLunsWlun => {
            let mut b = [0u8; LUN_LEN];
            let [hi, lo] = REPORT_LUNS_WLUN.to_be_bytes();
            b[0] = hi;
            b[1] = lo;
            Some(b)
        }
    }
}

/// Encodes `lun` as the 64-bit big-endian value some transports carry (iSCSI
/// BHS bytes 8..16 read as a `u64`).
pub fn encode_u64(lun: u16) -> Option<u64> {
    encode(lun).map(u64::from_be_bytes)
}

/// Decodes a LUN of 2, 4, 6 or 8 bytes (shorter forms are the leading bytes
/// of the eight-byte LUN, as SCST accepts). Bytes 2 and on must be zero:
/// multi-level LUNs are not supported.
///
/// Errors: ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25/00).
pub fn decode(lun: &[u8]) -> Result<LunAddr, Sense> {
    if !matches!(lun.len(), 2 | 4 | 6 | 8) {
        return Err(Sense::lun_not_supported());
    }
    // Second and later levels (bytes 2..) must be empty.
    if lun.iter().skip(2).any(|&b| b != 0) {
        return Err(Sense::lun_not_supported());
    }
    let b0 = get_u8(lun, 0);
    let b1 = get_u8(lun, 1);
    match b0 >> 6 {
        // Peripheral device addressing: a non-zero BUS IDENTIFIER names a
        // different bus behind this target, which does not exist here.
        0 if b0 & 0x3f == 0 => Ok(LunAddr::Lun(u16::from(b1))),
        // Flat space addressing: 14-bit LUN.
        1 => Ok(LunAddr::Lun(u16::from_be_bytes([b0 & 0x3f, b1]))),
        // Extended addressing, length 00b, method 1h: a well-known LUN.
        3 if u16::from_be_bytes([b0, b1]) == REPORT_LUNS_WLUN => Ok(LunAddr::ReportLunsWlun),
        _ => Err(Sense::lun_not_supported()),
    }
}

/// Decodes the 64-bit form of a LUN (see [`encode_u64`]).
pub fn decode_u64(lun: u64) -> Result<LunAddr, Sense> {
    decode(&lun.to_be_bytes())
}

/// The SELECT REPORT field of REPORT LUNS (SPC-4 table 284).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectReport {
    /// 00h: the logical units, without well-known LUs.
    Normal,
    /// 01h: only the well-known logical units.
    WellKnown,
    /// 02h: all logical units, well-known ones included.
    All,
}

/// A parsed REPORT LUNS CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportLunsCdb {
    /// Which LUs to list.
    pub select: SelectReport,
    /// ALLOCATION LENGTH (bytes 6..10).
    pub alloc_len: u32,
}

/// Parses a REPORT LUNS CDB (SPC-4 6.33).
///
/// SELECT REPORT 00h/01h/02h are accepted. 10h..12h (administrative
/// LU/conglomerate reports, SPC-5) are reserved in SPC-4 and rejected like any
/// other value with INVALID FIELD IN CDB at byte 2. An allocation length below
/// 16 is INVALID FIELD IN CDB at byte 6.
pub fn parse_report_luns(cdb: &[u8]) -> Result<ReportLunsCdb, Sense> {
    let select = match get_u8(cdb, 2) {
        0x00 => SelectReport::Normal,
        0x01 => SelectReport::WellKnown,
        0x02 => SelectReport::All,
        _ => return Err(Sense::invalid_field_in_cdb(2, None)),
    };
    let alloc_len = get_u32(cdb, 6);
    if alloc_len < REPORT_LUNS_MIN_ALLOC {
        return Err(Sense::invalid_field_in_cdb(6, None));
    }
    Ok(ReportLunsCdb { select, alloc_len })
}

/// Options for building the REPORT LUNS parameter data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReportLunsOptions {
    /// The REPORT LUNS well-known LU is implemented and gets listed for
    /// SELECT REPORT 01h/02h.
    pub wlun: bool,
    /// List LUN 0 when no LU at all is mapped (SELECT REPORT 00h/02h), so the
    /// initiator still finds a LUN to send INQUIRY to: SCST answers there with
    /// its "dummy LUN 0" (PQ=1) inquiry data, LIO does the same.
    pub lun0_if_empty: bool,
}

/// Writes the REPORT LUNS parameter data into `buf`, truncated to
/// `min(alloc_len, buf.len())`; the LUN LIST LENGTH field always reports the
/// full list. LUN numbers above [`MAX_LUN`] are skipped (they cannot be
/// encoded and so cannot be addressed either).
///
/// REPORT LUNS works whether or not LUN 0 exists: the core runs it for any
/// LUN of the session, and [`ReportLunsOptions::lun0_if_empty`] keeps the list
/// non-empty.
pub fn write_report_luns<I>(
    select: SelectReport,
    luns: I,
    opts: ReportLunsOptions,
    alloc_len: u32,
    buf: &mut [u8],
) -> DataIn
where
    I: IntoIterator<Item = u16>,
{
    let limit = usize::try_from(alloc_len).unwrap_or(usize::MAX);
    let n = buf.len().min(limit);
    let mut w = Writer::new(buf.get_mut(..n).unwrap_or_default());
    // Header: LUN LIST LENGTH (patched once known) and four reserved bytes.
    w.u32(0);
    w.u32(0);
    let mut count: u32 = 0;
    if matches!(select, SelectReport::Normal | SelectReport::All) {
        for lun in luns {
            if let Some(b) = encode(lun) {
                w.bytes(&b);
                count = count.saturating_add(1);
            }
        }
        if count == 0 && opts.lun0_if_empty {
            w.bytes(&[0u8; LUN_LEN]);
            count = 1;
        }
    }
    if opts.wlun && matches!(select, SelectReport::WellKnown | SelectReport::All) {
        if let Some(b) = encode_addr(LunAddr::ReportLunsWlun) {
            w.bytes(&b);
            count = count.saturating_add(1);
        }
    }
    w.patch_u32(0, count.saturating_mul(LUN_LEN as u32));
    DataIn {
        len: w.stored(),
        full_len: w.len(),
    }
}

/// Parses the CDB and builds the response in one call.
pub fn report_luns<I>(
    cdb: &[u8],
    luns: I,
    opts: ReportLunsOptions,
    buf: &mut [u8],
) -> Result<DataIn, Sense>
where
    I: IntoIterator<Item = u16>,
{
    let c = parse_report_luns(cdb)?;
    Ok(write_report_luns(c.select, luns, opts, c.alloc_len, buf))
}

#[cfg(test)]
mod tests {
    use super::super::sense::{asc, Key, Specific};
    use super::*;
    use proptest::prelude::*;

    fn cdb(select: u8, alloc: u32) -> [u8; 12] {
        let mut c = [0u8; 12];
        c[0] = REPORT_LUNS;
        c[2] = select;
        c[6..10].copy_from_slice(&alloc.to_be_bytes());
        c
    }

    fn field(s: &Sense) -> Option<(bool, u16, Option<u8>)> {
        match s.specific {
            Some(Specific::FieldPointer { in_cdb, byte, bit }) => Some((in_cdb, byte, bit)),
            _ => None,
        }
    }

    #[test]
    fn encode_lun0() {
        assert_eq!(encode(0), Some([0; 8]));
    }

    #[test]
    fn encode_peripheral_255() {
        assert_eq!(encode(255), Some([0, 0xff, 0, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn encode_flat_256() {
        assert_eq!(encode(256), Some([0x41, 0x00, 0, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn encode_flat_max() {
        assert_eq!(encode(16383), Some([0x7f, 0xff, 0, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn encode_too_big() {
        assert_eq!(encode(16384), None);
        assert_eq!(encode(u16::MAX), None);
    }

    #[test]
    fn encode_u64_form() {
        assert_eq!(encode_u64(1), Some(0x0001_0000_0000_0000));
        assert_eq!(encode_u64(300), Some(0x412c_0000_0000_0000));
        assert_eq!(encode_u64(20000), None);
    }

    #[test]
    fn encode_wlun() {
        assert_eq!(
            encode_addr(LunAddr::ReportLunsWlun),
            Some([0xc1, 0x01, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(encode_addr(LunAddr::Lun(7)), encode(7));
    }

    #[test]
    fn decode_peripheral() {
        assert_eq!(decode(&[0, 5, 0, 0, 0, 0, 0, 0]), Ok(LunAddr::Lun(5)));
    }

    #[test]
    fn decode_flat() {
        assert_eq!(
            decode(&[0x41, 0x2c, 0, 0, 0, 0, 0, 0]),
            Ok(LunAddr::Lun(300))
        );
    }

    #[test]
    fn decode_flat_small_is_same_lu() {
        assert_eq!(decode(&[0x40, 0x05, 0, 0, 0, 0, 0, 0]), Ok(LunAddr::Lun(5)));
    }

    #[test]
    fn decode_wlun() {
        assert_eq!(
            decode(&[0xc1, 0x01, 0, 0, 0, 0, 0, 0]),
            Ok(LunAddr::ReportLunsWlun)
        );
    }

    #[test]
    fn decode_other_wlun_rejected() {
        // C1 03 = the SECURITY PROTOCOL well-known LU, not implemented.
        assert_eq!(
            decode(&[0xc1, 0x03, 0, 0, 0, 0, 0, 0]),
            Err(Sense::lun_not_supported())
        );
    }

    #[test]
    fn decode_logical_unit_addressing_rejected() {
        let e = decode(&[0x80, 0x01, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.key, Key::IllegalRequest);
        assert_eq!(e.asc, asc::LUN_NOT_SUPPORTED);
    }

    #[test]
    fn decode_extended_rejected() {
        assert!(decode(&[0xd2, 0x00, 0x01, 0, 0, 0, 0, 0]).is_err());
        assert!(decode(&[0xe2, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn decode_bus_id_rejected() {
        assert!(decode(&[0x01, 0x00, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn decode_multilevel_rejected() {
        assert!(decode(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0]).is_err());
        assert!(decode(&[0x00, 0x01, 0, 0, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn decode_short_forms() {
        assert_eq!(decode(&[0, 3]), Ok(LunAddr::Lun(3)));
        assert_eq!(decode(&[0x41, 0, 0, 0]), Ok(LunAddr::Lun(256)));
        assert_eq!(decode(&[0, 9, 0, 0, 0, 0]), Ok(LunAddr::Lun(9)));
    }

    #[test]
    fn decode_bad_lengths() {
        for n in [0usize, 1, 3, 5, 7, 9, 16] {
            let v = [0u8; 16];
            assert!(decode(&v[..n]).is_err(), "len {n}");
        }
    }

    #[test]
    fn decode_u64_form() {
        assert_eq!(decode_u64(0x0001_0000_0000_0000), Ok(LunAddr::Lun(1)));
        assert_eq!(
            decode_u64(0xc101_0000_0000_0000),
            Ok(LunAddr::ReportLunsWlun)
        );
        assert!(decode_u64(0x8001_0000_0000_0000).is_err());
    }

    #[test]
    fn parse_select_values() {
        assert_eq!(
            parse_report_luns(&cdb(0, 16)).unwrap().select,
            SelectReport::Normal
        );
        assert_eq!(
            parse_report_luns(&cdb(1, 16)).unwrap().select,
            SelectReport::WellKnown
        );
        assert_eq!(
            parse_report_luns(&cdb(2, 16)).unwrap().select,
            SelectReport::All
        );
    }

    #[test]
    fn parse_select_reserved() {
        for sel in [3u8, 0x0f, 0x10, 0x11, 0x12, 0x13, 0xff] {
            let e = parse_report_luns(&cdb(sel, 4096)).unwrap_err();
            assert_eq!(e.asc, asc::INVALID_FIELD_IN_CDB);
            assert_eq!(field(&e), Some((true, 2, None)), "select {sel:#x}");
        }
    }

    #[test]
    fn parse_alloc_too_small() {
        for a in [0u32, 1, 8, 15] {
            let e = parse_report_luns(&cdb(0, a)).unwrap_err();
            assert_eq!(e.key, Key::IllegalRequest);
            assert_eq!(e.asc, asc::INVALID_FIELD_IN_CDB);
            assert_eq!(field(&e), Some((true, 6, None)));
        }
    }

    #[test]
    fn parse_alloc_values() {
        assert_eq!(parse_report_luns(&cdb(0, 16)).unwrap().alloc_len, 16);
        assert_eq!(
            parse_report_luns(&cdb(0, 0xffff_ffff)).unwrap().alloc_len,
            0xffff_ffff
        );
    }

    #[test]
    fn parse_select_checked_before_alloc() {
        let e = parse_report_luns(&cdb(9, 0)).unwrap_err();
        assert_eq!(field(&e), Some((true, 2, None)));
    }

    #[test]
    fn parse_short_cdb_is_error_not_panic() {
        assert!(parse_report_luns(&[REPORT_LUNS]).is_err());
        assert!(parse_report_luns(&[]).is_err());
    }

    #[test]
    fn response_two_luns() {
        let mut b = [0xaau8; 64];
        let r = write_report_luns(
            SelectReport::Normal,
            [0u16, 1],
            ReportLunsOptions::default(),
            64,
            &mut b,
        );
        assert_eq!(
            r,
            DataIn {
                len: 24,
                full_len: 24
            }
        );
        assert_eq!(&b[..8], &[0, 0, 0, 16, 0, 0, 0, 0]);
        assert_eq!(&b[8..16], &[0; 8]);
        assert_eq!(&b[16..24], &[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(b[24], 0xaa);
    }

    #[test]
    fn response_flat_lun() {
        let mut b = [0u8; 32];
        write_report_luns(
            SelectReport::Normal,
            [1000u16],
            ReportLunsOptions::default(),
            32,
            &mut b,
        );
        assert_eq!(&b[8..10], &[0x43, 0xe8]);
    }

    #[test]
    fn response_truncated_reports_full_length() {
        let mut b = [0u8; 64];
        let r = write_report_luns(
            SelectReport::Normal,
            0u16..4,
            ReportLunsOptions::default(),
            16,
            &mut b,
        );
        assert_eq!(
            r,
            DataIn {
                len: 16,
                full_len: 40
            }
        );
        assert_eq!(&b[..4], &[0, 0, 0, 32]);
        assert_eq!(&b[16..], &[0u8; 48][..]);
    }

    #[test]
    fn response_truncated_by_buffer() {
        let mut b = [0u8; 12];
        let r = write_report_luns(
            SelectReport::Normal,
            [3u16],
            ReportLunsOptions::default(),
            100,
            &mut b,
        );
        assert_eq!(
            r,
            DataIn {
                len: 12,
                full_len: 16
            }
        );
        assert_eq!(&b[8..12], &[0, 3, 0, 0]);
    }

    #[test]
    fn response_empty_list() {
        let mut b = [0u8; 16];
        let r = write_report_luns(
            SelectReport::Normal,
            [],
            ReportLunsOptions::default(),
            16,
            &mut b,
        );
        assert_eq!(r.full_len, 8);
        assert_eq!(&b[..4], &[0, 0, 0, 0]);
    }

    #[test]
    fn response_lun0_if_empty() {
        let opts = ReportLunsOptions {
            lun0_if_empty: true,
            wlun: false,
        };
        let mut b = [0xffu8; 16];
        let r = write_report_luns(SelectReport::Normal, [], opts, 16, &mut b);
        assert_eq!(r.full_len, 16);
        assert_eq!(&b[..4], &[0, 0, 0, 8]);
        assert_eq!(&b[8..16], &[0; 8]);
    }

    #[test]
    fn response_lun0_if_empty_not_when_list_has_luns() {
        // LUN 0 absent but LUN 5 present: report only LUN 5.
        let opts = ReportLunsOptions {
            lun0_if_empty: true,
            wlun: false,
        };
        let mut b = [0u8; 32];
        let r = write_report_luns(SelectReport::Normal, [5u16], opts, 32, &mut b);
        assert_eq!(r.full_len, 16);
        assert_eq!(&b[8..10], &[0, 5]);
    }

    #[test]
    fn response_wlun_only() {
        let opts = ReportLunsOptions {
            lun0_if_empty: true,
            wlun: true,
        };
        let mut b = [0u8; 32];
        let r = write_report_luns(SelectReport::WellKnown, [0u16, 1, 2], opts, 32, &mut b);
        assert_eq!(r.full_len, 16);
        assert_eq!(&b[..4], &[0, 0, 0, 8]);
        assert_eq!(&b[8..10], &[0xc1, 0x01]);
    }

    #[test]
    fn response_wlun_not_supported_select1_empty() {
        let mut b = [0u8; 32];
        let r = write_report_luns(
            SelectReport::WellKnown,
            [0u16, 1],
            ReportLunsOptions::default(),
            32,
            &mut b,
        );
        assert_eq!(r.full_len, 8);
        assert_eq!(&b[..4], &[0; 4]);
    }

    #[test]
    fn response_all_includes_wlun_last() {
        let opts = ReportLunsOptions {
            lun0_if_empty: false,
            wlun: true,
        };
        let mut b = [0u8; 64];
        let r = write_report_luns(SelectReport::All, [0u16, 7], opts, 64, &mut b);
        assert_eq!(r.full_len, 32);
        assert_eq!(&b[..4], &[0, 0, 0, 24]);
        assert_eq!(&b[16..18], &[0, 7]);
        assert_eq!(&b[24..26], &[0xc1, 0x01]);
    }

    #[test]
    fn response_normal_excludes_wlun() {
        let opts = ReportLunsOptions {
            lun0_if_empty: false,
            wlun: true,
        };
        let mut b = [0u8; 64];
        let r = write_report_luns(SelectReport::Normal, [0u16], opts, 64, &mut b);
        assert_eq!(r.full_len, 16);
    }

    #[test]
    fn response_skips_unencodable() {
        let mut b = [0u8; 64];
        let r = write_report_luns(
            SelectReport::Normal,
            [1u16, 20000, 2],
            ReportLunsOptions::default(),
            64,
            &mut b,
        );
        assert_eq!(r.full_len, 24);
        assert_eq!(&b[..4], &[0, 0, 0, 16]);
    }

    #[test]
    fn response_zero_buffer() {
        let mut b = [0u8; 0];
        let r = write_report_luns(
            SelectReport::Normal,
            [1u16],
            ReportLunsOptions::default(),
            16,
            &mut b,
        );
        assert_eq!(
            r,
            DataIn {
                len: 0,
                full_len: 16
            }
        );
    }

    #[test]
    fn report_luns_end_to_end() {
        let mut b = [0u8; 64];
        let r = report_luns(
            &cdb(0, 64),
            [0u16, 1, 2],
            ReportLunsOptions::default(),
            &mut b,
        )
        .unwrap();
        assert_eq!(r.len, 32);
        assert_eq!(&b[..4], &[0, 0, 0, 24]);
    }

    #[test]
    fn report_luns_end_to_end_error() {
        let mut b = [0u8; 64];
        let e =
            report_luns(&cdb(0x10, 64), [0u16], ReportLunsOptions::default(), &mut b).unwrap_err();
        assert_eq!(field(&e), Some((true, 2, None)));
        assert_eq!(b, [0u8; 64]);
    }

    #[test]
    fn report_luns_many() {
        let mut b = [0u8; 8 + 8 * 300];
        let r = report_luns(
            &cdb(2, 100_000),
            0u16..300,
            ReportLunsOptions::default(),
            &mut b,
        )
        .unwrap();
        assert_eq!(r.len, 8 + 8 * 300);
        assert_eq!(&b[..4], &(8u32 * 300).to_be_bytes());
        // Entry for LUN 299 uses flat addressing.
        assert_eq!(&b[8 + 8 * 299..8 + 8 * 299 + 2], &[0x41, 0x2b]);
        // Entry for LUN 255 is the last peripheral one.
        assert_eq!(&b[8 + 8 * 255..8 + 8 * 255 + 2], &[0x00, 0xff]);
    }

    #[test]
    fn wlun_constant_matches_spc() {
        assert_eq!(REPORT_LUNS_WLUN.to_be_bytes(), [0xc1, 0x01]);
    }

    #[test]
    fn response_alloc_smaller_than_header() {
        // write_report_luns itself does not enforce >= 16; it truncates.
        let mut b = [0xeeu8; 16];
        let r = write_report_luns(
            SelectReport::Normal,
            [1u16],
            ReportLunsOptions::default(),
            3,
            &mut b,
        );
        assert_eq!(
            r,
            DataIn {
                len: 3,
                full_len: 16
            }
        );
        assert_eq!(&b[..4], &[0, 0, 0, 0xee]);
    }

    #[test]
    fn encode_all_peripheral() {
        for l in 0..=255u16 {
            assert_eq!(encode(l), Some([0, l as u8, 0, 0, 0, 0, 0, 0]));
        }
    }

    #[test]
    fn peripheral_flat_boundary() {
        assert_eq!(encode(255).unwrap()[0], 0x00);
        assert_eq!(encode(256).unwrap()[0], 0x41);
    }

    #[test]
    fn decode_flat_max() {
        assert_eq!(
            decode(&[0x7f, 0xff, 0, 0, 0, 0, 0, 0]),
            Ok(LunAddr::Lun(16383))
        );
    }

    #[test]
    fn decode_flat_zero_is_lun0() {
        assert_eq!(decode(&[0x40, 0, 0, 0, 0, 0, 0, 0]), Ok(LunAddr::Lun(0)));
    }

    #[test]
    fn decode_short_form_second_level_rejected() {
        assert!(decode(&[0, 1, 0, 1]).is_err());
        assert!(decode(&[0, 1, 0, 0, 0x40, 0]).is_err());
    }

    #[test]
    fn decode_wlun_with_trailing_bytes_rejected() {
        assert!(decode(&[0xc1, 0x01, 0, 0, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn encode_addr_unencodable() {
        assert_eq!(encode_addr(LunAddr::Lun(20000)), None);
    }

    #[test]
    fn parse_ignores_control_and_reserved() {
        let mut c = cdb(0, 64);
        c[1] = 0xff;
        c[11] = 0x04;
        assert_eq!(
            parse_report_luns(&c),
            Ok(ReportLunsCdb {
                select: SelectReport::Normal,
                alloc_len: 64
            })
        );
    }

    #[test]
    fn parse_short_cdb_points_at_alloc() {
        let e = parse_report_luns(&[REPORT_LUNS, 0, 0]).unwrap_err();
        assert_eq!(field(&e), Some((true, 6, None)));
    }

    #[test]
    fn options_default_off() {
        let o = ReportLunsOptions::default();
        assert!(!o.wlun);
        assert!(!o.lun0_if_empty);
    }

    #[test]
    fn lun0_if_empty_not_for_wellknown_select() {
        let opts = ReportLunsOptions {
            wlun: false,
            lun0_if_empty: true,
        };
        let mut b = [0u8; 32];
        let r = write_report_luns(SelectReport::WellKnown, [], opts, 32, &mut b);
        assert_eq!(r.full_len, 8);
    }

    #[test]
    fn select_all_without_wlun_equals_normal() {
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        let ra = write_report_luns(
            SelectReport::All,
            [0u16, 4, 9],
            ReportLunsOptions::default(),
            64,
            &mut a,
        );
        let rb = write_report_luns(
            SelectReport::Normal,
            [0u16, 4, 9],
            ReportLunsOptions::default(),
            64,
            &mut b,
        );
        assert_eq!(ra, rb);
        assert_eq!(a, b);
    }

    #[test]
    fn response_header_only_alloc() {
        let mut b = [0u8; 64];
        let r = write_report_luns(
            SelectReport::Normal,
            [0u16, 1],
            ReportLunsOptions::default(),
            8,
            &mut b,
        );
        assert_eq!(
            r,
            DataIn {
                len: 8,
                full_len: 24
            }
        );
        assert_eq!(&b[..8], &[0, 0, 0, 16, 0, 0, 0, 0]);
    }

    #[test]
    fn response_keeps_caller_order() {
        let mut b = [0u8; 64];
        write_report_luns(
            SelectReport::Normal,
            [9u16, 2, 300],
            ReportLunsOptions::default(),
            64,
            &mut b,
        );
        assert_eq!(&b[8..10], &[0, 9]);
        assert_eq!(&b[16..18], &[0, 2]);
        assert_eq!(&b[24..26], &[0x41, 0x2c]);
    }

    #[test]
    fn response_reserved_header_bytes_zero() {
        let mut b = [0xffu8; 16];
        write_report_luns(
            SelectReport::Normal,
            [1u16],
            ReportLunsOptions::default(),
            16,
            &mut b,
        );
        assert_eq!(&b[4..8], &[0, 0, 0, 0]);
    }

    #[test]
    fn decode_all_flat_roundtrip_sample() {
        for l in (256..=MAX_LUN).step_by(97) {
            assert_eq!(decode(&encode(l).unwrap()), Ok(LunAddr::Lun(l)));
        }
    }

    #[test]
    fn decode_extended_length_bits_rejected() {
        // Extended addressing with LENGTH 01b/10b/11b (4, 6, 8 byte forms).
        for b0 in [0xd1u8, 0xe1, 0xf1, 0xc2] {
            assert!(decode(&[b0, 0x01, 0, 0, 0, 0, 0, 0]).is_err(), "{b0:#x}");
        }
    }

    #[test]
    fn report_luns_wlun_via_cdb() {
        let opts = ReportLunsOptions {
            wlun: true,
            lun0_if_empty: false,
        };
        let mut b = [0u8; 64];
        let r = report_luns(&cdb(1, 64), [0u16, 1], opts, &mut b).unwrap();
        assert_eq!(r.len, 16);
        assert_eq!(decode(&b[8..16]), Ok(LunAddr::ReportLunsWlun));
    }

    proptest! {
        #[test]
        fn prop_roundtrip(lun in 0u16..=MAX_LUN) {
            let b = encode(lun).unwrap();
            prop_assert_eq!(decode(&b), Ok(LunAddr::Lun(lun)));
            prop_assert_eq!(decode_u64(encode_u64(lun).unwrap()), Ok(LunAddr::Lun(lun)));
            // Address method chosen by range.
            prop_assert_eq!(b[0] >> 6, u8::from(lun > 255));
        }

        #[test]
        fn prop_decode_never_panics(v in proptest::collection::vec(any::<u8>(), 0..20)) {
            let _ = decode(&v);
        }

        #[test]
        fn prop_decode_ok_reencodes(v in any::<[u8; 8]>()) {
            match decode(&v) {
                Ok(LunAddr::Lun(l)) => {
                    // Canonical re-encoding decodes to the same LU.
                    prop_assert_eq!(decode(&encode(l).unwrap()), Ok(LunAddr::Lun(l)));
                    prop_assert!(v[0] >> 6 <= 1);
                }
                Ok(LunAddr::ReportLunsWlun) => prop_assert_eq!(&v[..2], &[0xc1, 0x01]),
                Err(e) => prop_assert_eq!(e, Sense::lun_not_supported()),
            }
        }

        #[test]
        fn prop_parse_never_panics(v in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = parse_report_luns(&v);
        }

        #[test]
        fn prop_truncation(
            luns in proptest::collection::vec(0u16..20000, 0..40),
            alloc in 0u32..400,
            buflen in 0usize..400,
            sel in 0u8..3,
            wlun: bool,
            lun0: bool,
        ) {
            let select = [SelectReport::Normal, SelectReport::WellKnown, SelectReport::All][usize::from(sel)];
            let opts = ReportLunsOptions { wlun, lun0_if_empty: lun0 };
            let mut full = [0u8; 8 + 8 * 41];
            let rf = write_report_luns(select, luns.iter().copied(), opts, u32::MAX, &mut full);
            prop_assert_eq!(rf.len, rf.full_len);
            let mut b = std::vec![0u8; buflen];
            let r = write_report_luns(select, luns.iter().copied(), opts, alloc, &mut b);
            prop_assert_eq!(r.full_len, rf.full_len);
            prop_assert_eq!(r.len, rf.full_len.min(alloc as usize).min(buflen));
            prop_assert_eq!(&b[..r.len], &full[..r.len]);
            // LUN LIST LENGTH reports the full list.
            prop_assert_eq!(get_u32(&full, 0) as usize, rf.full_len - 8);
        }
    }
}
