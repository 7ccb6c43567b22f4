// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `scst_proto::sbc::parse_unmap_params` with arbitrary parameter
//! lists, capacities and limits.
//!
//! Input: a 16-byte header (capacity, limits, options; missing bytes read as
//! 0), then the parameter list. Option bit 0 rewrites the list's UNMAP DATA
//! LENGTH and BLOCK DESCRIPTOR DATA LENGTH to match what arrived, so that the
//! descriptors get checked.
//!
//! Checks that nothing panics and that an accepted list respects the limits,
//! lies inside the LU, iterates consistently and survives
//! `build_unmap_params` and a second parse unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::{
    bytes::{get_u16, get_u32, get_u8},
    sbc::{self, Geometry, UnmapRange},
    sense::{self, Format, Sense},
};

const HDR: usize = 16;

fn check_sense(s: &Sense) {
    for f in [Format::Fixed, Format::Descriptor] {
        let (buf, n) = sense::to_array(s, f);
        assert_eq!(sense::key_asc(&buf[..n]), Some((s.key, s.asc)));
    }
}

fn geometry(h: &[u8]) -> Geometry {
    let sel = get_u8(h, 0);
    let mut g = Geometry::new(512, 0);
    g.num_blocks = match (sel >> 1) & 3 {
        0 => u64::from(get_u16(h, 1)),
        1 => u64::from(get_u32(h, 1)),
        2 => u64::MAX,
        _ => u64::from_be_bytes(core::array::from_fn(|i| get_u8(h, 1 + i))),
    };
    g.thin_provisioned = true;
    if sel & 0x08 != 0 {
        g.limits.max_unmap_lba_count = get_u32(h, 9);
    }
    if sel & 0x10 != 0 {
        g.limits.max_unmap_descriptors = u32::from(get_u16(h, 13));
    }
    g
}

fuzz_target!(|data: &[u8]| {
    let (hdr, list) = data.split_at(data.len().min(HDR));
    let geo = geometry(hdr);
    let mut owned = list.to_vec();
    if get_u8(hdr, 0) & 1 != 0 && owned.len() >= 8 {
        let n = owned.len();
        owned[0..2].copy_from_slice(&((n - 2).min(0xffff) as u16).to_be_bytes());
        owned[2..4].copy_from_slice(&((n - 8).min(0xffff) as u16).to_be_bytes());
    }
    let data = &owned[..];

    let parsed = match sbc::parse_unmap_params(data, &geo) {
        Ok(l) => l,
        Err(s) => return check_sense(&s),
    };
    let ranges: Vec<UnmapRange> = parsed.iter().collect();
    assert_eq!(ranges.len(), parsed.len());
    assert_eq!(parsed.is_empty(), ranges.is_empty());
    if !data.is_empty() {
        assert!(data.len() >= 8);
        let bd_len = usize::from(get_u16(data, 2));
        assert!(usize::from(get_u16(data, 0)) >= bd_len + 6);
        assert!(ranges.len() * 16 <= bd_len.min(data.len() - 8));
    } else {
        assert!(ranges.is_empty());
    }
    assert!(ranges.len() as u64 <= u64::from(geo.limits.max_unmap_descriptors));
    let mut total = 0u64;
    for (i, r) in ranges.iter().enumerate() {
        let end = r
            .lba
            .checked_add(u64::from(r.blocks))
            .expect("range overflows");
        assert!(end <= geo.num_blocks, "range {i} {r:?} beyond the LU");
        // Descriptors are the list bytes in order.
        let at = 8 + 16 * i;
        assert_eq!(r.lba.to_be_bytes()[..], data[at..at + 8]);
        assert_eq!(r.blocks, get_u32(data, at + 8));
        total += u64::from(r.blocks);
    }
    assert_eq!(parsed.total_blocks(), total);
    if geo.limits.max_unmap_lba_count != u32::MAX {
        assert!(total <= u64::from(geo.limits.max_unmap_lba_count));
    }

    // Rebuild the list and parse it again.
    let mut buf = vec![0u8; 8 + 16 * ranges.len()];
    let n = sbc::build_unmap_params(&ranges, &mut buf);
    assert_eq!(n, buf.len());
    let again = sbc::parse_unmap_params(&buf, &geo).expect("rebuilt list rejected");
    assert!(again.iter().eq(ranges.iter().copied()));

    // A short output buffer must not panic either.
    let mut short = [0u8; 20];
    let k = usize::from(get_u8(hdr, 15)) % short.len();
    assert_eq!(sbc::build_unmap_params(&ranges, &mut short[..k]), n);
});
