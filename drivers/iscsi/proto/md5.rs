// SPDX-License-Identifier: GPL-2.0

//! MD5 message digest (RFC 1321), as needed by iSCSI CHAP.
//!
//! RFC 7143 section 12.1.3 makes CHAP with MD5 (`CHAP_A=5`, RFC 1994) the one
//! authentication method every iSCSI implementation must support. CHAP only
//! ever hashes a few hundred bytes (identifier, secret, challenge), so this is
//! a small, portable, allocation-free implementation of the RFC 1321
//! algorithm: [`Md5`] for incremental hashing and [`md5`] for one shot.
//!
//! MD5 is broken as a collision-resistant hash; CHAP uses it as the RFC
//! mandates, and nothing else in the iSCSI target should.

/// Length of an MD5 digest in bytes.
pub const DIGEST_LEN: usize = 16;

/// Length of one MD5 input block in bytes.
const BLOCK_LEN: usize = 64;

/// Per-round left-rotation amounts (RFC 1321 section 3.4).
const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, //
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, //
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, //
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// The table T[i] = floor(2^32 * abs(sin(i + 1))) of RFC 1321 section 3.4.
const T: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// Initial chaining value A, B, C, D (RFC 1321 section 3.3).
const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// Incremental MD5 hasher.
///
/// Feed data with [`Md5::update`] in pieces of any size, then take the digest
/// with [`Md5::finish`]. The result equals [`md5`] of the concatenation.
#[derive(Clone, Debug)]
pub struct Md5 {
    /// Chaining state A, B, C, D.
    state: [u32; 4],
    /// Bytes of a partial block not yet compressed.
    buf: [u8; BLOCK_LEN],
    /// How many bytes of `buf` are in use (always < 64).
    buf_len: usize,
    /// Total message length in bytes, modulo 2^64 (the RFC keeps the length
    /// in bits modulo 2^64; it is multiplied by 8 with wrapping at the end).
    len: u64,
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5 {
    /// A hasher for an empty message.
    pub const fn new() -> Self {
        Self {
            state: INIT,
            buf: [0; BLOCK_LEN],
            buf_len: 0,
            len: 0,
        }
    }

    /// Appends `data` to the message.
    pub fn update(&mut self, data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        let mut rest = data;
        if self.buf_len > 0 {
            let want = BLOCK_LEN - self.buf_len;
            let take = want.min(rest.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dst) = self.buf.get_mut(self.buf_len..self.buf_len + take) {
                dst.copy_from_slice(head);
            }
            self.buf_len += take;
            rest = tail;
            if self.buf_len < BLOCK_LEN {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buf_len = 0;
        }
        let mut blocks = rest.chunks_exact(BLOCK_LEN);
        for block in &mut blocks {
            if let Ok(block) = <&[u8; BLOCK_LEN]>::try_from(block) {
                compress(&mut self.state, block);
            }
        }
        let tail = blocks.remainder();
        if let Some(dst) = self.buf.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.buf_len = tail.len();
    }

    /// Pads the message (RFC 1321 sections 3.1 and 3.2) and returns the
    /// 16-byte digest, low-order byte of A first.
    pub fn finish(mut self) -> [u8; DIGEST_LEN] {
        let bit_len = self.len.wrapping_mul(8);
        // One 0x80 byte, zeros up to 56 mod 64, then the 64-bit length.
        let pad_len = if self.buf_len < 56 {
            56 - self.buf_len
        } else {
            120 - self.buf_len
        };
        let mut pad = [0u8; BLOCK_LEN + 8];
        pad[0] = 0x80;
        // `update` adds to `len`, so save and restore it around the padding.
        let len = self.len;
        self.update(pad.get(..pad_len).unwrap_or(&[]));
        self.update(&bit_len.to_le_bytes());
        self.len = len;
        debug_assert_eq!(self.buf_len, 0);
        let mut out = [0u8; DIGEST_LEN];
        for (i, word) in self.state.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

/// MD5 digest of `data` in one call.
pub fn md5(data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Md5::new();
    h.update(data);
    h.finish()
}

/// Processes one 64-byte block (RFC 1321 section 3.4).
fn compress(state: &mut [u32; 4], block: &[u8; BLOCK_LEN]) {
    let mut x = [0u32; 16];
    for (i, word) in x.iter_mut().enumerate() {
        let b = 4 * i;
        *word = u32::from_le_bytes([block[b], block[b + 1], block[b + 2], block[b + 3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        // Round function and message word index per round (RFC 1321 3.4).
        let (f, g) = match i / 16 {
            0 => ((b & c) | (!b & d), i),
            1 => ((b & d) | (c & !d), (5 * i + 1) % 16),
            2 => (b ^ c ^ d, (3 * i + 5) % 16),
            _ => (c ^ (b | !d), (7 * i) % 16),
        };
        let sum = a.wrapping_add(f).wrapping_add(T[i]).wrapping_add(x[g]);
        let new_b = b.wrapping_add(sum.rotate_left(S[i]));
        a = d;
        d = c;
        c = b;
        b = new_b;
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Parses 32 hex digits (test helper).
    fn hex16(s: &str) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// RFC 1321 appendix A.5 test suite (also checked with `md5sum`).
    const RFC1321: &[(&str, &str)] = &[
        ("", "d41d8cd98f00b204e9800998ecf8427e"),
        ("a", "0cc175b9c0f1b6a831c399e269772661"),
        ("abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
        (
            "abcdefghijklmnopqrstuvwxyz",
            "c3fcd3d76192e4007dfb496cca67e13b",
        ),
        (
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "d174ab98d277d9f5a5611c2c9f419d9f",
        ),
        (
            "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            "57edf4a22be3c955ac49da2e2107b67a",
        ),
    ];

    #[test]
    fn rfc1321_test_suite() {
        for (input, digest) in RFC1321 {
            assert_eq!(md5(input.as_bytes()), hex16(digest), "MD5({input:?})");
        }
    }

    #[test]
    fn rfc1321_test_suite_byte_at_a_time() {
        for (input, digest) in RFC1321 {
            let mut h = Md5::new();
            for b in input.as_bytes() {
                h.update(core::slice::from_ref(b));
            }
            assert_eq!(h.finish(), hex16(digest), "MD5({input:?})");
        }
    }

    /// Lengths around the padding boundaries (55/56 bytes: the length still
    /// fits / no longer fits in the last block; 64: exact block), computed
    /// with `head -c N /dev/zero | tr '\0' a | md5sum`.
    #[test]
    fn padding_boundaries() {
        let table: &[(usize, &str)] = &[
            (55, "ef1772b6dff9a122358552954ad0df65"),
            (56, "3b0c8ac703f828b04c6c197006d17218"),
            (63, "b06521f39153d618550606be297466d5"),
            (64, "014842d480b571495a4a0363793f7367"),
            (65, "c743a45e0d2e6a95cb859adae0248435"),
            (119, "8a7bd0732ed6a28ce75f6dabc90e1613"),
            (120, "5f61c0ccad4cac44c75ff505e1f1e537"),
            (127, "020406e1d05cdc2aa287641f7ae2cc39"),
            (128, "e510683b3f5ffe4093d021808bc6ff70"),
            (129, "b325dc1c6f5e7a2b7cf465b9feab7948"),
            (192, "234c07907df5019d5f40f03936939bce"),
            (1000, "cabe45dcc9ae5b66ba86600cca6b8ba8"),
        ];
        for (n, digest) in table {
            let data = std::vec![b'a'; *n];
            assert_eq!(md5(&data), hex16(digest), "{n} x 'a'");
        }
    }

    /// One million 'a' (`head -c 1000000 /dev/zero | tr '\0' a | md5sum`),
    /// fed in uneven pieces.
    #[test]
    fn million_a() {
        let data = std::vec![b'a'; 1_000_000];
        assert_eq!(md5(&data), hex16("7707d6ae4e027c70eea2a935c2296f21"));
        let mut h = Md5::new();
        for piece in data.chunks(997) {
            h.update(piece);
        }
        assert_eq!(h.finish(), hex16("7707d6ae4e027c70eea2a935c2296f21"));
    }

    #[test]
    fn whole_blocks_then_tail() {
        let data = std::vec![b'a'; 192];
        let mut h = Md5::new();
        h.update(&data[..64]);
        h.update(&data[64..128]);
        h.update(&data[128..]);
        assert_eq!(h.finish(), hex16("234c07907df5019d5f40f03936939bce"));
    }

    #[test]
    fn default_is_new() {
        assert_eq!(Md5::default().finish(), md5(b""));
    }

    #[test]
    fn empty_updates_change_nothing() {
        let mut h = Md5::new();
        h.update(b"");
        h.update(b"abc");
        h.update(b"");
        assert_eq!(h.finish(), md5(b"abc"));
    }

    #[test]
    fn clone_mid_stream() {
        let mut h = Md5::new();
        h.update(b"message ");
        let mut h2 = h.clone();
        h.update(b"digest");
        h2.update(b"digest");
        assert_eq!(h.finish(), h2.finish());
    }

    #[test]
    fn digest_len_constant() {
        assert_eq!(DIGEST_LEN, md5(b"x").len());
    }

    proptest! {
        #[test]
        fn incremental_equals_one_shot(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut cuts: Vec<usize> =
                cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            let mut h = Md5::new();
            let mut start = 0;
            for c in cuts {
                h.update(&data[start..c]);
                start = c;
            }
            h.update(&data[start..]);
            prop_assert_eq!(h.finish(), md5(&data));
        }

        #[test]
        fn different_inputs_differ(a in proptest::collection::vec(any::<u8>(), 0..100),
                                   b in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assume!(a != b);
            prop_assert_ne!(md5(&a), md5(&b));
        }
    }
}
