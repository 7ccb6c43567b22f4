// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `scst_proto::cdb::decode` for every peripheral type and a few block
//! sizes, and `scst_proto::sbc::parse` with a geometry taken from the input.
//!
//! Input: a 32-byte geometry header (missing bytes read as 0), then the CDB.
//!
//! Checks that nothing panics and that:
//! - a decoded CDB is consistent with its table entry, its length follows
//!   from the operation code group, the data direction matches the data
//!   length, and bytes past the command do not matter;
//! - a parsed block command lies inside the LU and within the limits, its
//!   data length follows from the block count, and it agrees with
//!   `cdb::decode` on LBA, block count and data length;
//! - every error sense encodes and decodes back to its key and ASC.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::{
    bytes::{get_u16, get_u32, get_u64, get_u8},
    cdb,
    sbc::{self, BlockLimits, Geometry, Request, RwOp},
    sense::{self, Format, Sense},
    types::{DataDirection, PeripheralType},
};

const TYPES: [PeripheralType; 11] = [
    PeripheralType::Disk,
    PeripheralType::Tape,
    PeripheralType::Printer,
    PeripheralType::Processor,
    PeripheralType::Worm,
    PeripheralType::Cdrom,
    PeripheralType::OpticalMemory,
    PeripheralType::Changer,
    PeripheralType::Raid,
    PeripheralType::Enclosure,
    PeripheralType::Unknown,
];

const HDR: usize = 32;

fn check_sense(s: &Sense) {
    for f in [Format::Fixed, Format::Descriptor] {
        let (buf, n) = sense::to_array(s, f);
        assert!(n <= buf.len());
        assert_eq!(sense::key_asc(&buf[..n]), Some((s.key, s.asc)));
    }
}

fn check_decode(c: &[u8], t: PeripheralType, bs: u32) {
    let d = match cdb::decode(c, t, bs) {
        Ok(d) => d,
        Err(s) => return check_sense(&s),
    };
    assert_eq!(d.opcode, c[0]);
    assert_eq!(d.info.opcode, d.opcode);
    assert_eq!(d.service_action, d.info.sa);
    assert_eq!(d.flags, d.info.flags);
    assert!(d.cdb_len <= c.len());
    if let Some(n) = cdb::group_len(d.opcode) {
        assert_eq!(d.cdb_len, n, "{}", d.info.name);
    }
    let found = cdb::lookup(d.opcode, d.service_action, t).expect("decoded op not in table");
    assert!(core::ptr::eq(found, d.info));
    if d.data_len == 0 {
        assert_eq!(d.direction, DataDirection::None);
    } else {
        assert_ne!(d.direction, DataDirection::None);
        assert_eq!(d.direction, d.info.dir);
    }
    if d.direction == DataDirection::Bidi {
        assert_eq!(d.bidi_in_len, d.data_len);
    } else {
        assert_eq!(d.bidi_in_len, 0);
    }
    // iSCSI pads CDBs: bytes past the command are ignored.
    assert_eq!(cdb::decode(&c[..d.cdb_len], t, bs), Ok(d));
}

/// A geometry from the 32-byte header.
fn geometry(h: &[u8]) -> Geometry {
    let sel = get_u8(h, 0);
    let block_size = match sel & 7 {
        0 | 1 => 512,
        2 => 4096,
        3 => 2048,
        4 => 0,
        5 => 1,
        _ => get_u32(h, 1),
    };
    let num_blocks = match (sel >> 3) & 3 {
        0 => u64::from(get_u16(h, 5)),
        1 => 0x10_0000,
        2 => u64::MAX - u64::from(get_u8(h, 5)),
        _ => get_u64(h, 5),
    };
    let flags = get_u8(h, 13);
    let opt = |bit: u8, v: u64| if flags & bit != 0 { v } else { 0 };
    Geometry {
        block_size,
        num_blocks,
        lb_per_pb_exp: get_u8(h, 14) & 0x0f,
        lowest_aligned_lba: get_u16(h, 15) & 0x3fff,
        thin_provisioned: flags & 0x01 != 0,
        lbprz: flags & 0x02 != 0,
        limits: BlockLimits {
            max_transfer_blocks: opt(0x04, u64::from(get_u32(h, 17))) as u32,
            max_compare_write_blocks: if flags & 0x08 != 0 {
                get_u8(h, 21)
            } else {
                255
            },
            max_write_same_blocks: opt(0x10, get_u64(h, 22)),
            max_unmap_lba_count: if flags & 0x20 != 0 {
                get_u32(h, 26)
            } else {
                u32::MAX
            },
            max_unmap_descriptors: u32::MAX,
            wsnz: flags & 0x40 != 0,
        },
    }
}

fn in_lu(geo: &Geometry, lba: u64, blocks: u64) {
    let end = lba.checked_add(blocks).expect("range overflows");
    assert!(
        end <= geo.num_blocks,
        "range {lba}+{blocks} beyond {}",
        geo.num_blocks
    );
}

fn check_sbc(c: &[u8], geo: &Geometry) {
    let req = match sbc::parse(c, geo) {
        Ok(r) => r,
        Err(s) => return check_sense(&s),
    };
    let bs = u64::from(geo.block_size);
    let dec = cdb::decode(c, PeripheralType::Disk, geo.block_size).ok();
    match req {
        Request::Rw(r) => {
            in_lu(geo, r.lba, u64::from(r.blocks));
            let max = geo.limits.max_transfer_blocks;
            assert!(max == 0 || r.blocks <= max);
            let data_blocks = match (r.op, r.bytchk) {
                (RwOp::Verify, 0) => 0,
                (RwOp::Verify, 3) => u64::from(r.blocks.min(1)),
                _ => u64::from(r.blocks),
            };
            assert_eq!(Some(r.data_len), data_blocks.checked_mul(bs));
            assert!(r.group < 32 && r.bytchk <= 3 && r.bytchk != 2);
            if let Some(d) = dec {
                assert_eq!(d.lba, Some(r.lba));
                assert_eq!(d.nblocks, Some(u64::from(r.blocks)));
                assert_eq!(d.data_len, r.data_len, "{}", d.info.name);
            }
        }
        Request::WriteSame(w) => {
            in_lu(geo, w.lba, w.blocks);
            let max = geo.limits.max_write_same_blocks;
            assert!(max == 0 || w.blocks <= max);
            assert!(!w.unmap || geo.thin_provisioned);
            assert_eq!(w.data_len, if w.ndob { 0 } else { bs });
            if let Some(d) = dec {
                assert_eq!(d.lba, Some(w.lba));
                assert_eq!(d.data_len, w.data_len, "{}", d.info.name);
            }
        }
        Request::Unmap(_) => assert!(geo.thin_provisioned),
        Request::SyncCache(s) => in_lu(geo, s.lba, s.blocks),
        Request::PreFetch(p) => in_lu(geo, p.lba, p.blocks),
        Request::CompareAndWrite(cw) => {
            in_lu(geo, cw.lba, u64::from(cw.blocks));
            assert!(cw.blocks <= geo.limits.max_compare_write_blocks);
            assert_eq!(
                Some(cw.data_len),
                (u64::from(cw.blocks) * 2).checked_mul(bs)
            );
            if let Some(d) = dec {
                assert_eq!(d.data_len, cw.data_len);
            }
        }
        Request::ReadCapacity10 => {
            let mut b = [0u8; 8];
            assert_eq!(sbc::read_capacity10(geo, &mut b), 8);
            assert_eq!(get_u32(&b, 4), geo.block_size);
        }
        Request::ReadCapacity16 { alloc_len } => {
            let mut full = [0u8; sbc::READ_CAPACITY16_LEN];
            assert_eq!(
                sbc::read_capacity16(geo, &mut full),
                sbc::READ_CAPACITY16_LEN
            );
            assert_eq!(get_u64(&full, 0), geo.last_lba());
            let n = (alloc_len as usize).min(full.len());
            let mut part = [0u8; sbc::READ_CAPACITY16_LEN];
            sbc::read_capacity16(geo, &mut part[..n]);
            assert_eq!(part[..n], full[..n]);
        }
        Request::GetLbaStatus(g) => {
            assert!(g.lba < geo.num_blocks);
            let st = sbc::LbaStatus::to_end(geo, g.lba, sbc::Provisioning::Mapped);
            assert!(u64::from(st.blocks) <= geo.num_blocks - g.lba);
            let mut b = [0u8; 24];
            let n = (g.alloc_len as usize).min(b.len());
            assert_eq!(sbc::get_lba_status(&[st], &mut b[..n]), 24);
        }
        Request::FormatUnit(f) => {
            let _ = sbc::parse_format_params(c, f.longlist);
        }
        Request::StartStop(s) => {
            let _ = s.action();
        }
        Request::PreventAllow(_) => {}
        Request::ReadToc(t) => {
            let mut full = [0u8; 64];
            let len = sbc::read_toc(&t, geo, &mut full);
            assert!(len <= 20 && usize::from(get_u16(&full, 0)) + 2 == len);
            let n = usize::from(t.alloc_len).min(len);
            let mut part = [0u8; 64];
            assert_eq!(sbc::read_toc(&t, geo, &mut part[..n]), len);
            assert_eq!(part[..n], full[..n]);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (hdr, c) = data.split_at(data.len().min(HDR));
    let geo = geometry(hdr);
    if c.is_empty() {
        assert!(cdb::decode(c, PeripheralType::Disk, 512).is_err());
        return;
    }
    for t in TYPES {
        for bs in [512, 4096, geo.block_size] {
            check_decode(c, t, bs);
        }
    }
    check_sbc(c, &geo);
});
