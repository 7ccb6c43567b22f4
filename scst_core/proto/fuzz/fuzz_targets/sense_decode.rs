// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `scst_proto::sense::Sense::decode` on arbitrary bytes.
//!
//! Checks that decoding never panics and that whatever decodes survives an
//! encode/decode round trip: always in descriptor format (ILI is a
//! fixed-format bit), and in fixed format when the input was fixed format.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::sense::{self, Format, Sense, MAX_LEN};

fn round_trip(s: &Sense, format: Format, deferred: bool) -> (Sense, bool) {
    let mut buf = [0u8; MAX_LEN];
    let n = s.encode(format, deferred, &mut buf);
    assert!(n <= MAX_LEN);
    Sense::decode(&buf[..n]).expect("encoded sense must decode")
}

fuzz_target!(|data: &[u8]| {
    let Some((s, deferred)) = Sense::decode(data) else {
        assert!(sense::key_asc(data).is_none());
        return;
    };
    assert_eq!(sense::key_asc(data), Some((s.key, s.asc)));

    let mut no_ili = s;
    no_ili.ili = false;
    assert_eq!(
        round_trip(&no_ili, Format::Descriptor, deferred),
        (no_ili, deferred)
    );

    let fixed_input = matches!(data.first().map(|b| b & 0x7f), Some(0x70 | 0x71));
    if fixed_input {
        assert_eq!(round_trip(&s, Format::Fixed, deferred), (s, deferred));
    }
});
