// SPDX-License-Identifier: GPL-2.0

//! Table-driven review of the response layouts against SPC-4 and SBC-4.
//!
//! Each table row names a field as the standard does, says where it lives
//! (byte, bit mask, or a multi-byte big-endian range) and what scst-rs must
//! put there for the configuration built above the table, with the clause
//! it comes from. The builders' own unit tests check behaviour (allocation
//! lengths, errors, truncation); these tables check that every field is
//! where the standard puts it. Clause numbers are SPC-4 r37 and SBC-4 r15.

use std::{format, vec, vec::Vec};

use super::{
    lun::{report_luns, ReportLunsOptions},
    mode::{mode_sense, ModeParams, ModeState},
    sbc::{read_capacity10, read_capacity16, Geometry},
    sense::{asc, Format, Key, Sense, Specific},
    spc::{inquiry, report_supported_tmfs, DeviceIdentity, NaaId, TmfSupport},
    types::PeripheralType,
};

/// Where a field is.
#[derive(Clone, Copy)]
enum At {
    /// Bits of one byte: (byte, mask); the value is shifted down.
    Bits(usize, u8),
    /// A big-endian unsigned field of `len` bytes at `off`.
    Be(usize, usize),
}

/// One field of a layout.
struct Field {
    name: &'static str,
    at: At,
    want: u64,
}

const fn bits(name: &'static str, byte: usize, mask: u8, want: u64) -> Field {
    Field {
        name,
        at: At::Bits(byte, mask),
        want,
    }
}

const fn be(name: &'static str, off: usize, len: usize, want: u64) -> Field {
    Field {
        name,
        at: At::Be(off, len),
        want,
    }
}

fn value(d: &[u8], at: At) -> Option<u64> {
    match at {
        At::Bits(b, mask) => d
            .get(b)
            .map(|&v| u64::from((v & mask) >> mask.trailing_zeros())),
        At::Be(off, len) => d
            .get(off..off + len)
            .map(|s| s.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))),
    }
}

/// Checks every field of `table` in `data`, reporting all mismatches.
fn check(what: &str, clause: &str, data: &[u8], table: &[Field]) {
    let mut bad = Vec::new();
    for f in table {
        match value(data, f.at) {
            Some(v) if v == f.want => {}
            got => bad.push(format!("{}: want {:#x}, got {:x?}", f.name, f.want, got)),
        }
    }
    assert!(
        bad.is_empty(),
        "{what} ({clause}), {} bytes:\n  {}",
        data.len(),
        bad.join("\n  ")
    );
}

/// An ASCII field (SPC-4 4.4.1): printable, left-aligned, space padded.
fn check_ascii(what: &str, d: &[u8], want: &[u8]) {
    assert!(
        d.iter().all(|&b| (0x20..0x7f).contains(&b)),
        "{what}: not printable ASCII: {d:x?}"
    );
    let mut padded = want.to_vec();
    padded.resize(d.len(), b' ');
    assert_eq!(d, &padded[..], "{what}");
}

fn disk() -> DeviceIdentity {
    let mut id = DeviceIdentity::new(PeripheralType::Disk);
    id.product = super::spc::Ascii::new(b"disk1");
    id.unit_serial = super::spc::Ascii::new(b"1234abcd");
    id.t10_dev_id = super::spc::Ascii::new(b"disk1");
    id.naa = Some(NaaId::Local {
        value: 0x0123_4567_89ab_cdef,
    });
    id.port_group = Some(1);
    id.relative_port = 2;
    id
}

fn inq(id: &DeviceIdentity, evpd: bool, page: u8) -> Vec<u8> {
    let cdb = [0x12, u8::from(evpd), page, 0x10, 0x00, 0];
    let mut buf = vec![0u8; 4096];
    let d = inquiry(&cdb, id, &mut buf).expect("INQUIRY");
    buf.truncate(d.len);
    buf
}

#[test]
fn standard_inquiry() {
    let d = inq(&disk(), false, 0);
    check(
        "standard INQUIRY data, disk",
        "SPC-4 6.6.2, table 140",
        &d,
        &[
            bits("PERIPHERAL QUALIFIER", 0, 0xe0, 0),
            bits("PERIPHERAL DEVICE TYPE", 0, 0x1f, 0),
            bits("RMB", 1, 0x80, 0),
            be("VERSION (SPC-4)", 2, 1, 0x06),
            bits("NORMACA (no ACA)", 3, 0x20, 0),
            bits("HISUP", 3, 0x10, 1),
            bits("RESPONSE DATA FORMAT", 3, 0x0f, 2),
            be("ADDITIONAL LENGTH", 4, 1, d.len() as u64 - 5),
            bits("SCCS", 5, 0x80, 0),
            bits("TPGS", 5, 0x30, 0),
            bits("3PC", 5, 0x08, 0),
            bits("PROTECT", 5, 0x01, 0),
            bits("ENCSERV", 6, 0x40, 0),
            bits("MULTIP", 6, 0x10, 0),
            bits("CMDQUE", 7, 0x02, 1),
            be("VERSION DESCRIPTOR 1 (SAM-5)", 58, 2, 0x00a0),
        ],
    );
    assert!(d.len() >= 36, "at least the 36 mandatory bytes");
    check_ascii("T10 VENDOR IDENTIFICATION", &d[8..16], b"SCST_FIO");
    check_ascii("PRODUCT IDENTIFICATION", &d[16..32], b"disk1");
    check_ascii("PRODUCT REVISION LEVEL", &d[32..36], b" 400");
    // Version descriptors: 8 two-byte codes from byte 58, unused ones zero.
    let codes: Vec<u16> = d[58..74]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let used = codes.iter().take_while(|&&c| c != 0).count();
    assert!(codes[used..].iter().all(|&c| c == 0), "{codes:x?}");
}

#[test]
fn standard_inquiry_cdrom_and_features() {
    let id = DeviceIdentity::new(PeripheralType::Cdrom);
    let d = inq(&id, false, 0);
    check(
        "standard INQUIRY data, CD-ROM",
        "SPC-4 6.6.2",
        &d,
        &[
            bits("PERIPHERAL DEVICE TYPE (MMC)", 0, 0x1f, 5),
            bits("RMB", 1, 0x80, 1),
        ],
    );
    let mut id = disk();
    id.tpgs = 1;
    id.tpc = true;
    id.removable = true;
    let d = inq(&id, false, 0);
    check(
        "standard INQUIRY data, ALUA and copy manager",
        "SPC-4 6.6.2",
        &d,
        &[
            bits("RMB", 1, 0x80, 1),
            bits("TPGS (implicit ALUA)", 5, 0x30, 1),
            bits("3PC", 5, 0x08, 1),
        ],
    );
}

#[test]
fn vpd_page_headers() {
    // Every VPD page: qualifier/type, page code, PAGE LENGTH = n - 4
    // (SPC-4 7.8.1, table 480), for every page the disk lists.
    let mut id = disk();
    id.thin_provisioned = true;
    id.tpc = true;
    let list = inq(&id, true, 0x00);
    check(
        "Supported VPD Pages",
        "SPC-4 7.8.16",
        &list,
        &[
            bits("PERIPHERAL DEVICE TYPE", 0, 0x1f, 0),
            be("PAGE CODE", 1, 1, 0x00),
            be("PAGE LENGTH", 2, 2, list.len() as u64 - 4),
        ],
    );
    let pages = &list[4..];
    assert!(
        pages.windows(2).all(|w| w[0] < w[1]),
        "pages in ascending order: {pages:x?}"
    );
    for &p in pages {
        let d = inq(&id, true, p);
        check(
            &format!("VPD page {p:#04x} header"),
            "SPC-4 7.8.1",
            &d,
            &[
                bits("PERIPHERAL QUALIFIER", 0, 0xe0, 0),
                bits("PERIPHERAL DEVICE TYPE", 0, 0x1f, 0),
                be("PAGE CODE", 1, 1, u64::from(p)),
                be("PAGE LENGTH", 2, 2, d.len() as u64 - 4),
            ],
        );
    }
}

#[test]
fn vpd_unit_serial() {
    let d = inq(&disk(), true, 0x80);
    check(
        "Unit Serial Number",
        "SPC-4 7.8.17",
        &d,
        &[be("PAGE LENGTH", 2, 2, 8)],
    );
    check_ascii("PRODUCT SERIAL NUMBER", &d[4..], b"1234abcd");
}

#[test]
fn vpd_device_identification() {
    let d = inq(&disk(), true, 0x83);
    // Walk the designation descriptors (SPC-4 7.8.6.1, table 491).
    let mut seen = Vec::new();
    let mut off = 4;
    while off < d.len() {
        let len = usize::from(d[off + 3]);
        let desc = &d[off..off + 4 + len];
        let code_set = desc[0] & 0x0f;
        let piv = desc[1] >> 7;
        let assoc = (desc[1] >> 4) & 3;
        let dtype = desc[1] & 0x0f;
        match dtype {
            // T10 vendor ID based (7.8.6.4): ASCII, the LU, vendor first.
            1 => {
                check(
                    "T10 vendor ID designator",
                    "SPC-4 7.8.6.4",
                    desc,
                    &[
                        bits("CODE SET (ASCII)", 0, 0x0f, 2),
                        bits("ASSOCIATION", 1, 0x30, 0),
                    ],
                );
                check_ascii("T10 VENDOR IDENTIFICATION", &desc[4..12], b"SCST_FIO");
            }
            // NAA (7.8.6.6): binary; NAA 3h is 8 bytes.
            3 => {
                check(
                    "NAA designator",
                    "SPC-4 7.8.6.6",
                    desc,
                    &[
                        bits("CODE SET (binary)", 0, 0x0f, 1),
                        bits("ASSOCIATION (LU)", 1, 0x30, 0),
                        be("DESIGNATOR LENGTH", 3, 1, 8),
                        bits("NAA (locally assigned)", 4, 0xf0, 3),
                    ],
                );
            }
            // Relative target port (7.8.6.7): 4 bytes, the target port.
            4 => check(
                "Relative target port designator",
                "SPC-4 7.8.6.7",
                desc,
                &[
                    bits("CODE SET (binary)", 0, 0x0f, 1),
                    bits("ASSOCIATION (target port)", 1, 0x30, 1),
                    be("DESIGNATOR LENGTH", 3, 1, 4),
                    be("RELATIVE TARGET PORT IDENTIFIER", 6, 2, 2),
                ],
            ),
            // Target port group (7.8.6.8).
            5 => check(
                "Target port group designator",
                "SPC-4 7.8.6.8",
                desc,
                &[
                    bits("CODE SET (binary)", 0, 0x0f, 1),
                    bits("ASSOCIATION (target port)", 1, 0x30, 1),
                    be("DESIGNATOR LENGTH", 3, 1, 4),
                    be("TARGET PORT GROUP", 6, 2, 1),
                ],
            ),
            // SCSI name string (7.8.6.11): UTF-8, NUL-terminated, padded
            // to a multiple of four.
            8 => {
                assert_eq!(code_set, 3, "SCSI name string: UTF-8 code set");
                assert_eq!(len % 4, 0, "SCSI name string: length multiple of 4");
                assert!(desc[4..].contains(&0), "SCSI name string: NUL-terminated");
            }
            t => panic!("unexpected designator type {t}"),
        }
        // PIV is set only with a protocol identifier (none here).
        assert_eq!(piv, 0, "PIV without a PROTOCOL IDENTIFIER");
        let _ = assoc;
        seen.push(dtype);
        off += 4 + len;
    }
    assert_eq!(off, d.len(), "descriptors fill PAGE LENGTH exactly");
    for t in [1, 3, 4, 5] {
        assert!(seen.contains(&t), "designator type {t} present: {seen:?}");
    }
}

#[test]
fn vpd_extended_inquiry() {
    let d = inq(&disk(), true, 0x86);
    check(
        "Extended INQUIRY Data",
        "SPC-4 7.8.7, table 502",
        &d,
        &[
            be("PAGE LENGTH", 2, 2, 0x3c),
            bits("HEADSUP", 5, 0x04, 1),
            bits("ORDSUP", 5, 0x02, 1),
            bits("SIMPSUP", 5, 0x01, 1),
            bits("NV_SUP", 6, 0x02, 0),
            bits("V_SUP", 6, 0x01, 0),
        ],
    );
}

#[test]
fn vpd_block_limits() {
    let mut id = disk();
    id.thin_provisioned = true;
    id.block_limits.max_compare_write_len = 1;
    id.block_limits.opt_xfer_granularity = 8;
    id.block_limits.max_xfer_len = 16384;
    id.block_limits.opt_xfer_len = 2048;
    id.block_limits.max_unmap_lba_count = 0x0010_0000;
    id.block_limits.max_unmap_descriptors = 256;
    id.block_limits.unmap_granularity = 8;
    id.block_limits.unmap_granularity_alignment = Some(0);
    id.block_limits.max_write_same_len = 16384;
    let d = inq(&id, true, 0xb0);
    check(
        "Block Limits",
        "SBC-4 6.6.4, table 236",
        &d,
        &[
            be("PAGE LENGTH", 2, 2, 0x3c),
            bits("WSNZ", 4, 0x01, 0),
            be("MAXIMUM COMPARE AND WRITE LENGTH", 5, 1, 1),
            be("OPTIMAL TRANSFER LENGTH GRANULARITY", 6, 2, 8),
            be("MAXIMUM TRANSFER LENGTH", 8, 4, 16384),
            be("OPTIMAL TRANSFER LENGTH", 12, 4, 2048),
            be("MAXIMUM UNMAP LBA COUNT", 20, 4, 0x0010_0000),
            be("MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT", 24, 4, 256),
            be("OPTIMAL UNMAP GRANULARITY", 28, 4, 8),
            bits("UGAVALID", 32, 0x80, 1),
            be("MAXIMUM WRITE SAME LENGTH", 36, 8, 16384),
        ],
    );
}

#[test]
fn vpd_block_characteristics() {
    let d = inq(&disk(), true, 0xb1);
    check(
        "Block Device Characteristics",
        "SBC-4 6.6.2, table 233",
        &d,
        &[
            be("PAGE LENGTH", 2, 2, 0x3c),
            be("MEDIUM ROTATION RATE (non-rotating)", 4, 2, 1),
        ],
    );
}

#[test]
fn vpd_logical_block_provisioning() {
    let mut id = disk();
    id.thin_provisioned = true;
    id.provisioning.lbpu = true;
    id.provisioning.lbpws = true;
    id.provisioning.lbpws10 = true;
    id.provisioning.lbprz = true;
    let d = inq(&id, true, 0xb2);
    check(
        "Logical Block Provisioning",
        "SBC-4 6.6.6, table 241",
        &d,
        &[
            be("PAGE LENGTH (no provisioning group descriptor)", 2, 2, 4),
            be("THRESHOLD EXPONENT", 4, 1, 0),
            bits("LBPU", 5, 0x80, 1),
            bits("LBPWS", 5, 0x40, 1),
            bits("LBPWS10", 5, 0x20, 1),
            bits("LBPRZ", 5, 0x1c, 1),
            bits("DP", 5, 0x01, 0),
            bits("PROVISIONING TYPE (thin)", 6, 0x07, 2),
        ],
    );
}

#[test]
fn read_capacity() {
    let mut g = Geometry::new(4096, 0x1_2345_6789);
    let mut b = [0u8; 8];
    assert_eq!(read_capacity10(&g, &mut b), 8);
    check(
        "READ CAPACITY (10) data, beyond 2^32 blocks",
        "SBC-4 5.20.2, table 120",
        &b,
        &[
            be(
                "RETURNED LOGICAL BLOCK ADDRESS (FFFFFFFFh: use 16)",
                0,
                4,
                0xffff_ffff,
            ),
            be("LOGICAL BLOCK LENGTH IN BYTES", 4, 4, 4096),
        ],
    );
    g.thin_provisioned = true;
    g.lbprz = true;
    g.lb_per_pb_exp = 3;
    let mut b = [0u8; 32];
    let n = read_capacity16(&g, &mut b);
    check(
        "READ CAPACITY (16) data",
        "SBC-4 5.21.2, table 123",
        &b[..n],
        &[
            be("RETURNED LOGICAL BLOCK ADDRESS", 0, 8, 0x1_2345_6788),
            be("LOGICAL BLOCK LENGTH IN BYTES", 8, 4, 4096),
            bits("PROT_EN", 12, 0x01, 0),
            bits("LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT", 13, 0x0f, 3),
            bits("LBPME", 14, 0x80, 1),
            bits("LBPRZ", 14, 0x40, 1),
            be("LOWEST ALIGNED LOGICAL BLOCK ADDRESS", 14, 2, 0xc000),
        ],
    );
    assert_eq!(n, 32, "READ CAPACITY (16) parameter data is 32 bytes");
}

#[test]
fn sense_data() {
    let s = Sense::new(Key::IllegalRequest, asc::INVALID_FIELD_IN_CDB)
        .with_specific(Specific::FieldPointer {
            in_cdb: true,
            byte: 2,
            bit: Some(5),
        })
        .with_info(0x1234);
    let mut b = [0u8; 252];
    let n = s.encode(Format::Fixed, false, &mut b);
    check(
        "fixed format sense data",
        "SPC-4 4.5.3, table 48",
        &b[..n],
        &[
            bits("VALID", 0, 0x80, 1),
            bits("RESPONSE CODE (current)", 0, 0x7f, 0x70),
            bits("SENSE KEY", 2, 0x0f, 5),
            be("INFORMATION", 3, 4, 0x1234),
            be("ADDITIONAL SENSE LENGTH", 7, 1, n as u64 - 8),
            be("ADDITIONAL SENSE CODE", 12, 1, 0x24),
            be("ADDITIONAL SENSE CODE QUALIFIER", 13, 1, 0),
            bits("SKSV", 15, 0x80, 1),
            bits("C/D (in the CDB)", 15, 0x40, 1),
            bits("BPV", 15, 0x08, 1),
            bits("BIT POINTER", 15, 0x07, 5),
            be("FIELD POINTER", 16, 2, 2),
        ],
    );
    let n = s.encode(Format::Descriptor, false, &mut b);
    check(
        "descriptor format sense data",
        "SPC-4 4.5.2, table 27",
        &b[..n],
        &[
            bits("RESPONSE CODE (current)", 0, 0x7f, 0x72),
            bits("SENSE KEY", 1, 0x0f, 5),
            be("ADDITIONAL SENSE CODE", 2, 1, 0x24),
            be("ADDITIONAL SENSE CODE QUALIFIER", 3, 1, 0),
            be("ADDITIONAL SENSE LENGTH", 7, 1, n as u64 - 8),
        ],
    );
    // The descriptors (4.5.2.1): each type, ADDITIONAL LENGTH, and the
    // two the target uses.
    let mut off = 8;
    let mut types = Vec::new();
    while off < n {
        let (t, len) = (b[off], usize::from(b[off + 1]));
        let d = &b[off..off + 2 + len];
        match t {
            0x00 => check(
                "information descriptor",
                "SPC-4 4.5.2.2, table 29",
                d,
                &[
                    be("ADDITIONAL LENGTH", 1, 1, 0x0a),
                    bits("VALID", 2, 0x80, 1),
                    be("INFORMATION", 4, 8, 0x1234),
                ],
            ),
            0x02 => check(
                "sense key specific descriptor",
                "SPC-4 4.5.2.4, table 31",
                d,
                &[
                    be("ADDITIONAL LENGTH", 1, 1, 0x06),
                    bits("SKSV", 4, 0x80, 1),
                    bits("C/D", 4, 0x40, 1),
                    bits("BPV", 4, 0x08, 1),
                    bits("BIT POINTER", 4, 0x07, 5),
                    be("FIELD POINTER", 5, 2, 2),
                ],
            ),
            t => panic!("unexpected sense descriptor {t:#x}"),
        }
        types.push(t);
        off += 2 + len;
    }
    assert_eq!(off, n, "descriptors fill ADDITIONAL SENSE LENGTH");
    assert_eq!(types, vec![0x00, 0x02]);
}

#[test]
fn mode_sense_header_and_pages() {
    let mut params = ModeParams::disk(0x1000, 512);
    params.read_only = true;
    let state = ModeState::SCST_DEFAULT;
    // MODE SENSE(6), all pages, current values, block descriptors.
    let cdb = [0x1a, 0x00, 0x3f, 0x00, 0xff, 0x00];
    let mut b = [0u8; 255];
    let n = mode_sense(&cdb, &params, &state, &mut b)
        .expect("MODE SENSE")
        .len;
    let d = &b[..n];
    check(
        "mode parameter header (6) and block descriptor",
        "SPC-4 7.5.5 table 453, SBC-4 6.5.1 / 6.5.2 table 214",
        d,
        &[
            be("MODE DATA LENGTH", 0, 1, n as u64 - 1),
            be("MEDIUM TYPE", 1, 1, 0),
            bits("WP (read-only LU)", 2, 0x80, 1),
            bits("DPOFUA", 2, 0x10, u64::from(params.dpofua)),
            be("BLOCK DESCRIPTOR LENGTH", 3, 1, 8),
            be("NUMBER OF LOGICAL BLOCKS", 4, 4, 0x1000),
            be("LOGICAL BLOCK LENGTH", 9, 3, 512),
        ],
    );
    // Walk the pages: PAGE CODE, PAGE LENGTH, in ascending order (SPC-4
    // 7.5.7: page_0 format, SPF = 0).
    let mut off = 12;
    let mut codes = Vec::new();
    while off < n {
        let code = d[off] & 0x3f;
        assert_eq!(d[off] & 0x40, 0, "SPF clear in page {code:#x}");
        let len = usize::from(d[off + 1]);
        let page = &d[off..off + 2 + len];
        match code {
            0x08 => check(
                "Caching mode page",
                "SBC-4 6.5.5, table 225",
                page,
                &[
                    be("PAGE LENGTH", 1, 1, 0x12),
                    bits("WCE", 2, 0x04, u64::from(state.wce)),
                    bits("RCD", 2, 0x01, u64::from(state.rcd)),
                ],
            ),
            0x0a => check(
                "Control mode page",
                "SPC-4 7.5.8, table 456",
                page,
                &[
                    be("PAGE LENGTH", 1, 1, 0x0a),
                    bits("TST", 2, 0xe0, u64::from(state.tst)),
                    bits("TMF_ONLY", 2, 0x10, u64::from(state.tmf_only)),
                    bits("D_SENSE", 2, 0x04, u64::from(state.d_sense)),
                    bits("QUEUE ALGORITHM MODIFIER", 3, 0xf0, u64::from(state.qam)),
                    bits("QERR", 3, 0x06, u64::from(state.qerr)),
                    bits("SWP", 4, 0x08, u64::from(state.swp)),
                    bits("TAS", 5, 0x40, u64::from(state.tas)),
                    be("BUSY TIMEOUT PERIOD", 8, 2, 0xffff),
                ],
            ),
            _ => {}
        }
        codes.push(code);
        off += 2 + len;
    }
    assert_eq!(off, n, "pages fill MODE DATA LENGTH");
    assert!(
        codes.windows(2).all(|w| w[0] < w[1]),
        "ascending: {codes:x?}"
    );
    for c in [0x08, 0x0a] {
        assert!(codes.contains(&c), "page {c:#x} present: {codes:x?}");
    }
}

#[test]
fn report_luns_data() {
    let cdb = [0xa0, 0, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0, 0];
    let mut b = [0u8; 4096];
    let opts = ReportLunsOptions {
        wlun: false,
        lun0_if_empty: true,
    };
    let n = report_luns(&cdb, [0u16, 5, 300], opts, &mut b)
        .expect("REPORT LUNS")
        .len;
    check(
        "REPORT LUNS parameter data",
        "SPC-4 6.33, table 290; SAM-5 4.7.7",
        &b[..n],
        &[
            be("LUN LIST LENGTH", 0, 4, 24),
            be("LUN 0 (peripheral device addressing)", 8, 8, 0),
            be(
                "LUN 5 (peripheral device addressing)",
                16,
                8,
                0x0005_0000_0000_0000,
            ),
            be(
                "LUN 300 (flat space addressing, 01b)",
                24,
                8,
                0x412c_0000_0000_0000,
            ),
        ],
    );
}

#[test]
fn report_supported_tmfs_data() {
    let t = TmfSupport {
        abort_task: true,
        abort_task_set: true,
        clear_aca: false,
        clear_task_set: true,
        lun_reset: true,
        query_task: true,
        target_reset: true,
        wakeup: false,
        query_async_event: true,
        query_task_set: true,
        ..TmfSupport::default()
    };
    let cdb = [0xa3, 0x0d, 0x80, 0, 0, 0, 0, 0, 0, 16, 0, 0];
    let mut b = [0u8; 16];
    let n = report_supported_tmfs(&cdb, &t, &mut b).expect("RSTMF").len;
    check(
        "REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS extended data",
        "SPC-4 6.40, tables 319 and 320",
        &b[..n],
        &[
            bits("ATS", 0, 0x80, 1),
            bits("ATSS", 0, 0x40, 1),
            bits("CACAS", 0, 0x20, 0),
            bits("CTSS", 0, 0x10, 1),
            bits("LURS", 0, 0x08, 1),
            bits("QTS", 0, 0x04, 1),
            bits("TRS", 0, 0x02, 1),
            bits("WAKES", 0, 0x01, 0),
            bits("QUAS", 1, 0x04, 1),
            bits("QTSS", 1, 0x02, 1),
            be("ADDITIONAL DATA LENGTH", 3, 1, 0x0c),
        ],
    );
    assert_eq!(n, 16, "extended parameter data is 16 bytes");
}
