// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the EXTENDED COPY parameter list parser and copy planner
//! (`scst_proto::xcopy`), the VPD 0x83 designator matcher, and the APTPL
//! file's slot decoder (`scst_proto::aptpl`).
//!
//! Input: one byte of options (bit 0: rewrite the header's list lengths to
//! match what arrived, so the descriptors get checked), one byte for the
//! known device's block size exponent, then the parameter list.
//!
//! Checks that nothing panics; that an accepted list stays within the
//! descriptor limits; that every planned copy lies inside the device and is
//! a whole number of blocks; that errors encode as sense data; and that an
//! APTPL slot decodes to an image inside the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::{
    aptpl,
    sense::{self, Format, Sense},
    xcopy::{self, Designator, Target},
};

const NAA: [u8; 8] = [0x30, 1, 2, 3, 4, 5, 6, 7];
const BLOCKS: u64 = 4096;

fn check_sense(s: &Sense) {
    for f in [Format::Fixed, Format::Descriptor] {
        let (buf, n) = sense::to_array(s, f);
        assert_eq!(sense::key_asc(&buf[..n]), Some((s.key, s.asc)));
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let opts = data[0];
    let bs = 512u32 << (data[1] % 4);
    let mut list = data[2..].to_vec();
    if opts & 1 != 0 && list.len() >= xcopy::HEADER_LEN {
        // Split what follows the header between the two descriptor lists.
        let rest = list.len() - xcopy::HEADER_LEN;
        let cscd = (rest.min(usize::from(data[1])) / xcopy::CSCD_LEN) * xcopy::CSCD_LEN;
        list[2..4].copy_from_slice(&(cscd as u16).to_be_bytes());
        list[8..12].copy_from_slice(&((rest - cscd) as u32).to_be_bytes());
        list[12..16].copy_from_slice(&[0; 4]);
    }
    let lookup = |d: &Designator| {
        (d.as_bytes() == NAA).then_some(Target {
            handle: 0,
            block_size: bs,
            num_blocks: BLOCKS,
        })
    };
    match xcopy::parse_list(&list) {
        Ok(l) => {
            assert!(l.cscds().count() <= xcopy::MAX_CSCDS);
            assert!(l.segments().count() <= xcopy::MAX_SEGMENTS);
            match xcopy::plan(&l, lookup) {
                Ok(copies) => {
                    let size = BLOCKS * u64::from(bs);
                    for c in copies.iter().flatten() {
                        assert_eq!(c.len % u64::from(bs), 0);
                        assert!(c.src_pos + c.len <= size);
                        assert!(c.dst_pos + c.len <= size);
                        assert!(c.len <= u64::from(xcopy::MAX_SEGMENT_LEN));
                    }
                }
                Err(e) => check_sense(&e),
            }
        }
        Err(e) => check_sense(&e),
    }
    // The same bytes as a VPD 0x83 page and as an APTPL file.
    if let Some(d) = Designator::new(1, 0, 3, &NAA) {
        let _ = xcopy::page83_names(&list, &d);
    }
    if let Some((_, seq, image)) = aptpl::newest(&list, 64) {
        assert!(image.len() <= list.len());
        let (slot, next) = aptpl::next_slot(Some((0, seq)));
        assert!(slot == 1 && next != 0);
    }
});
