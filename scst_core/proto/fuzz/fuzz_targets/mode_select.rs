// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `scst_proto::mode::mode_select` (and `mode_sense`) with arbitrary
//! CDBs and parameter lists.
//!
//! Input: byte 0 selects how the CDB is built, byte 1 the LU (disk or
//! CD-ROM, capacity, block size) and the starting state, bytes 2..12 are the
//! CDB, the rest is the parameter list.
//!
//! Checks that nothing panics and that:
//! - on error the state is untouched; on success the reported changes are
//!   exactly the fields that changed and the new state holds only supported
//!   values;
//! - MODE SENSE of the current values (10-byte with long block descriptor,
//!   and 6-byte with short one when the block size fits) selected back
//!   unchanged succeeds and changes nothing;
//! - MODE SENSE output in a small buffer is a prefix of the full output.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::{
    bytes::get_u8,
    mode::{self, ModeParams, ModeState},
    sense::{self, Format, Sense},
    types::PeripheralType,
};

fn check_sense(s: &Sense) {
    for f in [Format::Fixed, Format::Descriptor] {
        let (buf, n) = sense::to_array(s, f);
        assert_eq!(sense::key_asc(&buf[..n]), Some((s.key, s.asc)));
    }
}

fn valid(s: &ModeState) -> bool {
    s.tst <= 1 && s.qam <= 1 && matches!(s.qerr, 0 | 1 | 3)
}

fn params(sel: u8, extra: &[u8]) -> ModeParams {
    let (nblocks, bs) = match sel & 3 {
        0 => (0x10_0000, 512),
        1 => (1000, 4096),
        2 => (u64::MAX, 0x0100_0000),
        _ => (
            u64::from_be_bytes(core::array::from_fn(|i| get_u8(extra, i))),
            u32::from_be_bytes(core::array::from_fn(|i| get_u8(extra, 8 + i))),
        ),
    };
    let mut p = ModeParams::disk(nblocks, bs);
    if sel & 4 != 0 {
        p.peripheral_type = PeripheralType::Cdrom;
        p.dpofua = false;
    }
    p.read_only = sel & 8 != 0;
    p
}

fn state(sel: u8) -> ModeState {
    if sel & 0x10 == 0 {
        return ModeState::default();
    }
    let b = sel >> 5;
    ModeState {
        wce: b & 1 != 0,
        rcd: b & 2 != 0,
        tst: 0,
        tmf_only: b & 4 != 0,
        d_sense: b & 1 != 0,
        qam: 0,
        qerr: 3,
        swp: b & 2 != 0,
        tas: true,
    }
}

/// MODE SENSE of the current values of every page, then MODE SELECT of it.
fn round_trip(p: &ModeParams, st: &ModeState, ten: bool) {
    let mut buf = [0u8; 512];
    let sense_cdb: [u8; 10] = if ten {
        // LLBAA: long block descriptor, as the 64-bit capacity needs.
        [mode::MODE_SENSE_10, 0x10, 0x3f, 0, 0, 0, 0, 0x01, 0xff, 0]
    } else {
        [mode::MODE_SENSE_6, 0, 0x3f, 0, 0xff, 0, 0, 0, 0, 0]
    };
    let di = mode::mode_sense(&sense_cdb, p, st, &mut buf).expect("MODE SENSE failed");
    assert_eq!(di.len, di.full_len);
    let n = di.len;
    let mut sel = [0u8; 10];
    if ten {
        sel[0] = mode::MODE_SELECT_10;
        sel[7..9].copy_from_slice(&(n as u16).to_be_bytes());
    } else {
        sel[0] = mode::MODE_SELECT_6;
        sel[4] = u8::try_from(n).expect("MODE SENSE(6) data too long");
    }
    sel[1] = 0x10;
    let mut back = *st;
    let r = mode::mode_select(&sel, &buf[..n], p, &mut back);
    assert_eq!(
        r,
        Ok(mode::ModeChanges::default()),
        "MODE SENSE data does not select back: {:02x?}",
        &buf[..n]
    );
    assert_eq!(back, *st);
}

fuzz_target!(|data: &[u8]| {
    let how = get_u8(data, 0);
    let lu = get_u8(data, 1);
    let mut cdb = [0u8; 10];
    for (i, c) in cdb.iter_mut().enumerate() {
        *c = get_u8(data, 2 + i);
    }
    let list = data.get(12..).unwrap_or_default();
    let p = params(lu, list);
    let before = state(lu);
    let ten = match how & 3 {
        0 => get_u8(&cdb, 0) == mode::MODE_SELECT_10,
        1 => false,
        _ => true,
    };
    if how & 3 != 0 {
        cdb[0] = if ten {
            mode::MODE_SELECT_10
        } else {
            mode::MODE_SELECT_6
        };
    }
    if how & 4 != 0 {
        // PF = 1, SP = 0.
        cdb[1] = (cdb[1] | 0x10) & !0x01;
    }
    if how & 8 != 0 {
        // PARAMETER LIST LENGTH = what arrived.
        if ten {
            cdb[7..9].copy_from_slice(&(list.len().min(0xffff) as u16).to_be_bytes());
        } else {
            cdb[4] = list.len().min(0xff) as u8;
        }
    }
    let cdb_len = if ten { 10 } else { 6 };

    let mut st = before;
    match mode::mode_select(&cdb[..cdb_len], list, &p, &mut st) {
        Err(s) => {
            check_sense(&s);
            assert_eq!(st, before, "state changed on error");
        }
        Ok(ch) => {
            assert!(valid(&st), "unsupported value accepted: {st:?}");
            assert_eq!(ch.caching, st.wce != before.wce || st.rcd != before.rcd);
            assert_eq!(ch.any(), st != before);
            assert_eq!(ch.contains(mode::PAGE_CACHING), ch.caching);
            assert_eq!(ch.contains(mode::PAGE_CONTROL), ch.control);
            round_trip(&p, &st, true);
            if p.block_size <= 0xff_ffff {
                round_trip(&p, &st, false);
            }
        }
    }

    // MODE SENSE with the same CDB bytes (opcode forced): truncation.
    let mut sense_cdb = cdb;
    sense_cdb[0] = if ten {
        mode::MODE_SENSE_10
    } else {
        mode::MODE_SENSE_6
    };
    let mut full = [0u8; 1024];
    let mut small = [0u8; 64];
    let k = usize::from(how >> 4) * 4;
    let a = mode::mode_sense(&sense_cdb[..cdb_len], &p, &st, &mut full);
    let b = mode::mode_sense(&sense_cdb[..cdb_len], &p, &st, &mut small[..k]);
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.full_len, b.full_len);
            assert!(a.full_len <= full.len());
            assert_eq!(
                a.len,
                a.full_len
                    .min(mode::parse_mode_sense(&sense_cdb).unwrap().alloc_len)
            );
            assert_eq!(b.len, a.len.min(k));
            assert_eq!(small[..b.len], full[..b.len]);
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            check_sense(&a);
        }
        (a, b) => panic!("buffer size changed the outcome: {a:?} vs {b:?}"),
    }
});
