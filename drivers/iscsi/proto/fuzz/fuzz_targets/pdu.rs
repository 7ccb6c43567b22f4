// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the iSCSI PDU codec (`iscsi_proto::pdu`) and the CRC32C digest.
//!
//! Input: a 48-byte BHS, one option byte (bit 0 HeaderDigest, bit 1
//! DataDigest, bits 2-7 select MaxRecvDataSegmentLength), then the bytes
//! that would follow the BHS on the wire. Checks that nothing panics, that
//! whatever decodes survives `decode(encode(x)) == x` with a stable
//! encoding, that the layout adds up, and that the AHS, CDB assembly, sense
//! segment and digest helpers agree with each other.

#![no_main]

use iscsi_proto::digest;
use iscsi_proto::pdu::{self, Layout, Pdu, PduError, BHS_LEN, MAX_CDB_LEN};
use libfuzzer_sys::fuzz_target;

fn check_layout(l: &Layout, bhs: &[u8; BHS_LEN], hd: bool, dd: bool) {
    let dsl = pdu::data_segment_len(bhs) as usize;
    assert_eq!(l.ahs_len, pdu::total_ahs_len_bytes(bhs));
    assert_eq!(l.data_len, dsl);
    assert_eq!((l.data_len + l.pad_len) % 4, 0);
    assert_eq!(l.header_digest_len, if hd { 4 } else { 0 });
    assert_eq!(l.data_digest_len, if dd && dsl > 0 { 4 } else { 0 });
    assert_eq!(l.total_len(), BHS_LEN + l.rest_len());
    assert_eq!(l.total_len() % 4, 0);
}

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<BHS_LEN>() else {
        return;
    };
    let bhs: &[u8; BHS_LEN] = head;
    let (opts, rest) = rest.split_first().map_or((0, &[][..]), |(o, r)| (*o, r));
    let hd = opts & 1 != 0;
    let dd = opts & 2 != 0;
    let max = [512u32, 8192, 65536, 262_144, 0xff_ffff, 0][usize::from(opts >> 2) % 6];

    // Decode, re-encode, decode again.
    match Pdu::decode(bhs) {
        Ok(p) => {
            let mut e = [0u8; BHS_LEN];
            p.encode(&mut e);
            let q = Pdu::decode(&e).expect("encoded PDU must decode");
            assert_eq!(p, q);
            let mut e2 = [0u8; BHS_LEN];
            q.encode(&mut e2);
            assert_eq!(e, e2);
            assert_eq!(pdu::opcode_raw(&e), p.opcode().to_u8());
        }
        Err(e) => assert_eq!(e, PduError::UnknownOpcode(pdu::opcode_raw(bhs))),
    }
    match Pdu::decode_request(bhs) {
        Ok(p) => assert!(p.opcode().is_initiator()),
        Err(e) => assert!(matches!(
            e,
            PduError::UnknownOpcode(_) | PduError::TargetOpcode(_)
        )),
    }

    // Layout of the rest.
    let unchecked = pdu::layout_unchecked(bhs, hd, dd).expect("layout cannot overflow");
    check_layout(&unchecked, bhs, hd, dd);
    match pdu::layout(bhs, hd, dd, max) {
        Ok(l) => assert_eq!(l, unchecked),
        Err(PduError::DataSegmentTooLong { len, max: m }) => {
            assert!(len > m && m == max);
        }
        Err(e) => panic!("unexpected layout error {e:?}"),
    }

    // AHS area (whatever part of it the input holds) and CDB assembly.
    let ahs_area = &rest[..unchecked.ahs_len.min(rest.len())];
    if let Ok(ahs) = pdu::parse_ahs(ahs_area) {
        let mut cdb = [0u8; MAX_CDB_LEN];
        let bhs_cdb: [u8; 16] = bhs[32..48].try_into().unwrap();
        let n = pdu::assemble_cdb(&bhs_cdb, ahs.extended_cdb, &mut cdb)
            .expect("MAX_CDB_LEN always suffices");
        assert_eq!(&cdb[..16], &bhs_cdb);
        if let Some(tail) = ahs.extended_cdb {
            assert_eq!(&cdb[16..n], tail);
            // Re-encoding the extended CDB AHS parses back to the same bytes.
            let mut area = [0u8; pdu::MAX_AHS_LEN];
            let m = pdu::encode_extended_cdb_ahs(tail, &mut area).unwrap();
            assert_eq!(pdu::parse_ahs(&area[..m]).unwrap().extended_cdb, Some(tail));
        }
    }

    // Data segment: sense segment parse and rebuild, digests.
    let data_start = unchecked.data_offset() - BHS_LEN;
    let seg = rest
        .get(data_start..)
        .map(|d| &d[..unchecked.data_len.min(d.len())])
        .unwrap_or(&[]);
    if let Ok(s) = pdu::parse_sense_segment(seg) {
        let mut out = [0u8; 70000];
        let n = pdu::build_sense_segment(s.sense, &mut out).unwrap();
        // An empty segment means "no sense data" and has no SenseLength.
        if !seg.is_empty() {
            assert_eq!(&out[..n], &seg[..n]);
            assert_eq!(n + s.response_data.len(), seg.len());
        }
    }
    let small = &seg[..seg.len().min(256)];
    assert_eq!(digest::crc32c(small), digest::crc32c_bitwise(small));
    let mut c = digest::Crc32c::new();
    let cut = usize::from(opts) % (seg.len() + 1);
    c.update(&seg[..cut]);
    c.update(&seg[cut..]);
    c.update_padding(seg.len());
    assert_eq!(c.finish(), digest::data_digest(seg));
    let hdig = digest::header_digest(bhs, ahs_area);
    assert!(digest::verify(hdig, &digest::to_wire(hdig)));
});
