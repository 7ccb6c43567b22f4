// SPDX-License-Identifier: GPL-2.0

//! Fuzz target `chap`: arbitrary bytes split into CHAP_A/CHAP_I/CHAP_C/CHAP_N/
//! CHAP_R values and driven through `ChapTarget`, `decode_binary` and friends.
//! Nothing may panic; decoders must respect their output buffers.

#![no_main]

use iscsi_proto::chap::{self, ChapState, ChapTarget, RESPONSE_HEX_LEN};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"initiator-secret";
const TSECRET: &[u8] = b"target-secret-12";
const NAME: &[u8] = b"iqn.2024-01.org.example:init";

/// Checks the decoders on one value.
fn decoders(v: &[u8]) {
    let mut small = [0u8; 16];
    let mut big = [0u8; chap::MAX_BINARY_LEN];
    let len = chap::decoded_len(v);
    match chap::decode_binary(v, &mut small) {
        Ok(n) => {
            assert!(n <= small.len());
            assert_eq!(len, Ok(n));
        }
        Err(chap::ChapError::TooLong) => assert!(len.map_or(false, |n| n > small.len())),
        Err(e) => assert_eq!(len, Err(e)),
    }
    if let Ok(n) = chap::decode_binary(v, &mut big) {
        // Round trip through both encoders.
        let bytes = &big[..n];
        let mut enc = [0u8; 2 + 4 * chap::MAX_BINARY_LEN];
        let mut back = [0u8; chap::MAX_BINARY_LEN];
        let m = chap::encode_hex(bytes, &mut enc).expect("encode_hex");
        assert_eq!(chap::decode_binary(&enc[..m], &mut back), Ok(n));
        assert_eq!(&back[..n], bytes);
        let m = chap::encode_base64(bytes, &mut enc).expect("encode_base64");
        assert_eq!(chap::decode_binary(&enc[..m], &mut back), Ok(n));
        assert_eq!(&back[..n], bytes);
    }
    let _ = chap::parse_id(v);
    let _ = chap::select_algorithm(v);
    let _ = chap::verify(1, SECRET, b"challenge", v);
}

fuzz_target!(|data: &[u8]| {
    let (head, rest) = data.split_at(data.len().min(2));
    let id = head.first().copied().unwrap_or(0);
    let flags = head.get(1).copied().unwrap_or(0);
    // Fields: own challenge, CHAP_A, CHAP_N, CHAP_R, CHAP_I, CHAP_C.
    let mut fields = rest.splitn(6, |&b| b == 0);
    let mut next = |present_bit: u8| {
        let f = fields.next().unwrap_or(&[]);
        (flags & present_bit == 0).then_some(f)
    };
    let own = next(0).unwrap_or(&[]);
    let a = next(0x01);
    let n = next(0x02);
    let r = next(0x04);
    let i = next(0x08);
    let c = next(0x10);

    for v in [Some(own), a, n, r, i, c].into_iter().flatten() {
        decoders(v);
    }

    let mut t = match ChapTarget::new(id, own) {
        Ok(t) => t,
        Err(_) => ChapTarget::new(id, b"0123456789abcdef").expect("valid challenge"),
    };
    let _ = t.start(a);
    let mut keys = [0u8; chap::MAX_CHALLENGE_KEYS_LEN];
    if let Ok(k) = t.write_challenge_keys(&mut keys) {
        assert!(k <= keys.len());
    }
    // Sometimes answer correctly so the mutual step is reached.
    let mut good = [0u8; RESPONSE_HEX_LEN];
    let r = if flags & 0x20 != 0 {
        let resp = chap::response(t.id(), SECRET, t.challenge());
        let m = chap::encode_hex(&resp, &mut good).expect("encode");
        Some(&good[..m])
    } else {
        r
    };
    let n = if flags & 0x40 != 0 { Some(NAME) } else { n };
    let verified = t.verify_initiator(n, r, NAME, SECRET).is_ok();
    assert_eq!(verified, t.state() == ChapState::InitiatorVerified);
    let secret = (flags & 0x80 == 0).then_some(TSECRET);
    let mut out = [0u8; RESPONSE_HEX_LEN];
    match t.mutual_response(i, c, secret, &mut out) {
        Ok(Some(m)) => {
            assert_eq!(m, RESPONSE_HEX_LEN);
            assert_eq!(t.state(), ChapState::Done);
        }
        Ok(None) => assert_eq!(t.state(), ChapState::Done),
        Err(e) => {
            assert_eq!(t.state(), ChapState::Failed);
            let _ = (e.login_status(), e.closes_connection(), e.description());
        }
    }
});
