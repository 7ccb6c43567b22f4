// SPDX-License-Identifier: GPL-2.0

//! CRC32C (Castagnoli) header and data digests (RFC 7143 section 13.1).
//!
//! The iSCSI digest is the CRC with generator polynomial 0x11EDC6F41,
//! processed least significant bit first (the reflected polynomial is
//! 0x82F63B78), with the register initialised to all ones and the result
//! complemented. The value computed that way is put on the wire least
//! significant byte first: RFC 3720 appendix B.4 lists 32 zero bytes with the
//! CRC bytes `aa 36 91 8a`, i.e. the value 0x8A9136AA sent as
//! `0x8A9136AAu32.to_le_bytes()`. [`to_wire`] and [`from_wire`] do this
//! conversion so callers never have to think about it.
//!
//! The implementation is slicing-by-8 with the eight 256-entry tables built by
//! a `const fn` at compile time; [`crc32c_bitwise`] is the one-bit-at-a-time
//! reference it is tested against.
//!
//! A header digest covers the BHS and the AHS; a data digest covers the data
//! segment and its zero padding to a 4-byte boundary (RFC 7143 section 13.1:
//! "Padding bytes ... are included in the CRC"). [`Crc32c`] is incremental so
//! the data of one PDU can be fed in pieces (e.g. page by page) and the
//! padding appended with [`Crc32c::update_zeros`].

/// Length in bytes of a header or data digest on the wire.
pub const DIGEST_LEN: usize = 4;

/// The reflected Castagnoli polynomial (0x1EDC6F41 bit-reversed).
pub const POLY_REFLECTED: u32 = 0x82F6_3B78;

/// The standard CRC-32C check value: the CRC of the ASCII bytes "123456789".
pub const CHECK_VALUE: u32 = 0xE306_9283;

/// Builds the slicing-by-8 tables: `t[0]` is the classic byte table and
/// `t[k][i]` is the CRC of byte `i` followed by `k` zero bytes.
const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ POLY_REFLECTED
            } else {
                c >> 1
            };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

/// The tables, computed at compile time (8 KiB of read-only data).
static TABLES: [[u32; 256]; 8] = make_tables();

/// Looks up `TABLES[k][b]`; `b` is a byte so the index is always in range.
#[inline(always)]
fn tab(k: usize, b: u32) -> u32 {
    TABLES[k & 7][(b & 0xff) as usize]
}

/// Advances the raw (non-complemented) CRC register over `data`.
fn update_raw(mut crc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        if let [b0, b1, b2, b3, b4, b5, b6, b7] = *chunk {
            let lo = u32::from_le_bytes([b0, b1, b2, b3]) ^ crc;
            let hi = u32::from_le_bytes([b4, b5, b6, b7]);
            crc = tab(7, lo)
                ^ tab(6, lo >> 8)
                ^ tab(5, lo >> 16)
                ^ tab(4, lo >> 24)
                ^ tab(3, hi)
                ^ tab(2, hi >> 8)
                ^ tab(1, hi >> 16)
                ^ tab(0, hi >> 24);
        }
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ tab(0, crc ^ u32::from(b));
    }
    crc
}

/// Incremental CRC32C: feed the bytes with [`Crc32c::update`] in any split,
/// then read the digest with [`Crc32c::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32c {
    /// The CRC register before the final complement.
    state: u32,
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32c {
    /// Starts a digest (register initialised to all ones).
    pub const fn new() -> Self {
        Self { state: 0xFFFF_FFFF }
    }

    /// Adds `data` to the digest.
    pub fn update(&mut self, data: &[u8]) {
        self.state = update_raw(self.state, data);
    }

    /// Adds `n` zero bytes (at most 3 are needed for iSCSI padding, but any
    /// count works).
    pub fn update_zeros(&mut self, mut n: usize) {
        const ZEROS: [u8; 64] = [0; 64];
        while n > 0 {
            let k = if n < ZEROS.len() { n } else { ZEROS.len() };
            self.update(ZEROS.get(..k).unwrap_or(&[]));
            n -= k;
        }
    }

    /// Adds the zero padding that follows a data segment of `data_len` bytes
    /// (0 to 3 bytes, RFC 7143 section 11.1).
    pub fn update_padding(&mut self, data_len: usize) {
        self.update_zeros((4 - data_len % 4) % 4);
    }

    /// Returns the digest value (complemented register); the digest can still
    /// be updated afterwards.
    pub const fn finish(&self) -> u32 {
        self.state ^ 0xFFFF_FFFF
    }

    /// Returns the digest in iSCSI wire byte order.
    pub const fn finish_wire(&self) -> [u8; DIGEST_LEN] {
        to_wire(self.finish())
    }
}

/// One-shot CRC32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.finish()
}

/// Bit-at-a-time CRC32C: slow, obviously correct, the reference the table
/// implementation is tested (and fuzzed) against.
pub fn crc32c_bitwise(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
        }
    }
    crc ^ 0xFFFF_FFFF
}

/// Converts a digest value to the 4 bytes iSCSI transmits (least
/// significant byte first, see the module documentation).
pub const fn to_wire(crc: u32) -> [u8; DIGEST_LEN] {
    crc.to_le_bytes()
}

/// Converts 4 received digest bytes to the digest value.
pub const fn from_wire(b: [u8; DIGEST_LEN]) -> u32 {
    u32::from_le_bytes(b)
}

/// Header digest: covers the 48-byte BHS followed by the AHS area (RFC 7143
/// section 11.1; the AHS length is already a multiple of 4).
pub fn header_digest(bhs: &[u8], ahs: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(bhs);
    c.update(ahs);
    c.finish()
}

/// Data digest: covers the data segment plus its zero padding to a multiple
/// of 4 bytes. Pass the unpadded data; the padding is added here.
pub fn data_digest(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.update_padding(data.len());
    c.finish()
}

/// Checks received digest bytes against the computed value.
pub fn verify(computed: u32, received: &[u8]) -> bool {
    match received {
        [a, b, c, d] => from_wire([*a, *b, *c, *d]) == computed,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    /// The SCSI READ(10) command PDU of RFC 3720 appendix B.4.
    const READ10_PDU: [u8; 48] = [
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
        0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00,
    ];

    fn incrementing() -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        b
    }

    fn decrementing() -> [u8; 32] {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = 31 - i as u8;
        }
        b
    }

    /// RFC 3720 appendix B.4: (input, CRC bytes as sent on the wire).
    fn rfc3720_vectors() -> [(Vec<u8>, [u8; 4]); 5] {
        [
            (vec![0u8; 32], [0xaa, 0x36, 0x91, 0x8a]),
            (vec![0xffu8; 32], [0x43, 0xab, 0xa8, 0x62]),
            (incrementing().to_vec(), [0x4e, 0x79, 0xdd, 0x46]),
            (decrementing().to_vec(), [0x5c, 0xdb, 0x3f, 0x11]),
            (READ10_PDU.to_vec(), [0x56, 0x3a, 0x96, 0xd9]),
        ]
    }

    #[test]
    fn rfc3720_b4_vectors_wire_bytes() {
        for (data, wire) in rfc3720_vectors() {
            assert_eq!(to_wire(crc32c(&data)), wire, "{data:02x?}");
        }
    }

    #[test]
    fn rfc3720_b4_vectors_bitwise_reference() {
        for (data, wire) in rfc3720_vectors() {
            assert_eq!(to_wire(crc32c_bitwise(&data)), wire);
        }
    }

    #[test]
    fn rfc3720_b4_zeros_value() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn rfc3720_b4_ones_value() {
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
    }

    #[test]
    fn rfc3720_b4_incrementing_value() {
        assert_eq!(crc32c(&incrementing()), 0x46DD_794E);
    }

    #[test]
    fn rfc3720_b4_decrementing_value() {
        assert_eq!(crc32c(&decrementing()), 0x113F_DB5C);
    }

    #[test]
    fn rfc3720_b4_read_pdu_value() {
        assert_eq!(crc32c(&READ10_PDU), 0xD996_3A56);
    }

    #[test]
    fn read_pdu_as_header_digest() {
        // The B.4 PDU has no AHS: its CRC is its header digest.
        assert_eq!(header_digest(&READ10_PDU, &[]), 0xD996_3A56);
        assert_eq!(
            header_digest(&READ10_PDU[..20], &READ10_PDU[20..]),
            0xD996_3A56
        );
    }

    #[test]
    fn check_value_123456789() {
        assert_eq!(crc32c(b"123456789"), CHECK_VALUE);
        assert_eq!(CHECK_VALUE, 0xE306_9283);
        assert_eq!(crc32c_bitwise(b"123456789"), CHECK_VALUE);
    }

    #[test]
    fn empty_input() {
        assert_eq!(crc32c(&[]), 0);
        assert_eq!(crc32c_bitwise(&[]), 0);
        assert_eq!(Crc32c::new().finish(), 0);
        assert_eq!(Crc32c::default(), Crc32c::new());
    }

    #[test]
    fn single_bytes_match_reference() {
        for b in 0..=255u8 {
            assert_eq!(crc32c(&[b]), crc32c_bitwise(&[b]), "byte {b:#x}");
        }
    }

    #[test]
    fn table_zero_is_classic_table() {
        // Well-known entries of the CRC-32C byte table.
        assert_eq!(TABLES[0][0], 0);
        assert_eq!(TABLES[0][1], 0xF26B_8303);
        assert_eq!(TABLES[0][128], POLY_REFLECTED);
        assert_eq!(TABLES[0][255], 0xAD7D_5351);
    }

    #[test]
    fn higher_tables_are_zero_extensions() {
        // t[k][i] is the raw CRC update of byte i followed by k zero bytes.
        for (k, table) in TABLES.iter().enumerate().skip(1) {
            for i in [0usize, 1, 2, 0x55, 0x80, 0xaa, 0xfe, 0xff] {
                let mut crc = TABLES[0][i];
                for _ in 0..k {
                    crc = (crc >> 8) ^ TABLES[0][(crc & 0xff) as usize];
                }
                assert_eq!(table[i], crc, "k={k} i={i}");
            }
        }
    }

    #[test]
    fn all_lengths_0_to_64_match_reference() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 37 + 11) as u8).collect();
        for n in 0..=data.len() {
            assert_eq!(crc32c(&data[..n]), crc32c_bitwise(&data[..n]), "len {n}");
        }
    }

    #[test]
    fn unaligned_start_matches_reference() {
        let data: Vec<u8> = (0..100u32).map(|i| (i * 13) as u8).collect();
        for start in 0..8 {
            assert_eq!(crc32c(&data[start..]), crc32c_bitwise(&data[start..]));
        }
    }

    #[test]
    fn incremental_byte_by_byte() {
        let mut c = Crc32c::new();
        for b in b"123456789" {
            c.update(&[*b]);
        }
        assert_eq!(c.finish(), CHECK_VALUE);
    }

    #[test]
    fn finish_does_not_consume() {
        let mut c = Crc32c::new();
        c.update(b"1234");
        let _ = c.finish();
        c.update(b"56789");
        assert_eq!(c.finish(), CHECK_VALUE);
    }

    #[test]
    fn finish_wire_is_le() {
        let mut c = Crc32c::new();
        c.update(&[0u8; 32]);
        assert_eq!(c.finish_wire(), [0xaa, 0x36, 0x91, 0x8a]);
    }

    #[test]
    fn wire_round_trip() {
        for v in [0u32, 1, 0x1234_5678, 0xffff_ffff, CHECK_VALUE] {
            assert_eq!(from_wire(to_wire(v)), v);
        }
        assert_eq!(to_wire(0x0102_0304), [4, 3, 2, 1]);
    }

    #[test]
    fn update_zeros_equals_explicit_zeros() {
        for n in [0usize, 1, 3, 63, 64, 65, 200] {
            let mut a = Crc32c::new();
            a.update(b"abc");
            a.update_zeros(n);
            let mut data = b"abc".to_vec();
            data.extend(std::iter::repeat_n(0u8, n));
            assert_eq!(a.finish(), crc32c(&data), "n={n}");
        }
    }

    #[test]
    fn padding_lengths() {
        // data length -> number of pad bytes included in the digest
        for (len, pad) in [(0usize, 0usize), (1, 3), (2, 2), (3, 1), (4, 0), (5, 3)] {
            let data = vec![0x5au8; len];
            let mut padded = data.clone();
            padded.extend(std::iter::repeat_n(0u8, pad));
            assert_eq!(data_digest(&data), crc32c(&padded), "len {len}");
            assert_eq!(padded.len() % 4, 0);
        }
    }

    #[test]
    fn data_digest_of_aligned_data_has_no_padding() {
        assert_eq!(data_digest(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(data_digest(&READ10_PDU), 0xD996_3A56);
    }

    #[test]
    fn data_digest_pads_123456789() {
        // "123456789" is 9 bytes: 3 zero bytes of padding are covered.
        let mut p = b"123456789".to_vec();
        p.extend([0, 0, 0]);
        assert_eq!(data_digest(b"123456789"), crc32c(&p));
        assert_ne!(data_digest(b"123456789"), CHECK_VALUE);
    }

    #[test]
    fn verify_accepts_and_rejects() {
        let v = crc32c(&[0u8; 32]);
        assert!(verify(v, &[0xaa, 0x36, 0x91, 0x8a]));
        assert!(!verify(v, &[0x8a, 0x91, 0x36, 0xaa]));
        assert!(!verify(v, &[0xaa, 0x36, 0x91]));
        assert!(!verify(v, &[0xaa, 0x36, 0x91, 0x8a, 0]));
        assert!(!verify(v, &[]));
    }

    #[test]
    fn single_bit_flip_changes_digest() {
        let base = crc32c(&READ10_PDU);
        for byte in 0..48 {
            for bit in 0..8 {
                let mut p = READ10_PDU;
                p[byte] ^= 1 << bit;
                assert_ne!(crc32c(&p), base, "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn residue_of_message_plus_wire_crc() {
        // A message followed by its CRC in wire order leaves the register at
        // the fixed CRC-32C residue 0xB798B438 (reveng catalogue), whatever
        // the message: this is what makes the LSB-first wire order right.
        for (data, _) in rfc3720_vectors() {
            let mut m = data.clone();
            m.extend(to_wire(crc32c(&data)));
            let mut c = Crc32c::new();
            c.update(&m);
            assert_eq!(c.state, 0xB798_B438);
            assert_eq!(c.finish(), 0x4867_4BC7);
        }
    }

    #[test]
    fn ips_list_64_byte_vectors() {
        // The 64-byte cases posted to the IETF IPS list with the B.4 set.
        assert_eq!(to_wire(crc32c(&[0u8; 64])), [0x67, 0xeb, 0xc8, 0x03]);
        assert_eq!(to_wire(crc32c(&[0xffu8; 64])), [0x66, 0x4e, 0xcd, 0x2f]);
    }

    #[test]
    fn well_known_text_vectors() {
        let table: [(&[u8], u32); 5] = [
            (b"a", 0xC1D0_4330),
            (b"abc", 0x364B_3FB7),
            (b"message digest", 0x02BD_79D0),
            (b"abcdefghijklmnopqrstuvwxyz", 0x9EE6_EF25),
            (b"The quick brown fox jumps over the lazy dog", 0x2262_0404),
        ];
        for (data, want) in table {
            assert_eq!(crc32c(data), want);
            assert_eq!(crc32c_bitwise(data), want);
        }
    }

    #[test]
    fn polynomial_is_reflected_generator() {
        // RFC 7143 section 13.1: generator 0x11EDC6F41.
        let generator: u64 = 0x1_1EDC_6F41;
        assert_eq!((generator as u32).reverse_bits(), POLY_REFLECTED);
    }

    #[test]
    fn tables_map_zero_to_zero() {
        for t in TABLES.iter() {
            assert_eq!(t[0], 0);
        }
    }

    #[test]
    fn tables_are_distinct_per_slice() {
        for k in 1..8 {
            assert_ne!(TABLES[k][1], TABLES[k - 1][1]);
        }
    }

    #[test]
    fn update_with_empty_slice_is_noop() {
        let mut c = Crc32c::new();
        c.update(b"12345");
        let before = c;
        c.update(&[]);
        c.update_zeros(0);
        assert_eq!(c, before);
    }

    #[test]
    fn update_padding_per_residue() {
        for len in 0..8usize {
            let data = vec![0x33u8; len];
            let mut c = Crc32c::new();
            c.update(&data);
            c.update_padding(len);
            let mut p = data.clone();
            p.resize(len.div_ceil(4) * 4, 0);
            assert_eq!(c.finish(), crc32c(&p), "len {len}");
        }
    }

    #[test]
    fn copy_forks_the_state() {
        let mut a = Crc32c::new();
        a.update(b"1234");
        let mut b = a;
        a.update(b"56789");
        b.update(b"xxxxx");
        assert_eq!(a.finish(), CHECK_VALUE);
        assert_ne!(b.finish(), CHECK_VALUE);
    }

    #[test]
    fn large_buffer_matches_reference() {
        let data: Vec<u8> = (0..65536u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert_eq!(crc32c(&data), crc32c_bitwise(&data));
    }

    #[test]
    fn page_sized_pieces_match_one_shot() {
        let data: Vec<u8> = (0..10000u32).map(|i| (i % 251) as u8).collect();
        let mut c = Crc32c::new();
        for piece in data.chunks(4096) {
            c.update(piece);
        }
        assert_eq!(c.finish(), crc32c(&data));
    }

    #[test]
    fn header_digest_covers_ahs() {
        let bhs = READ10_PDU;
        let ahs = [0u8, 5, 2, 0, 0, 0, 0x10, 0];
        let mut all = bhs.to_vec();
        all.extend(ahs);
        assert_eq!(header_digest(&bhs, &ahs), crc32c(&all));
        assert_ne!(header_digest(&bhs, &ahs), header_digest(&bhs, &[]));
    }

    #[test]
    fn data_digest_of_empty_segment() {
        // Never sent (no data digest without data), but well defined.
        assert_eq!(data_digest(&[]), 0);
    }

    #[test]
    fn wire_bytes_of_check_value() {
        assert_eq!(to_wire(CHECK_VALUE), [0x83, 0x92, 0x06, 0xe3]);
        assert_eq!(from_wire([0x83, 0x92, 0x06, 0xe3]), CHECK_VALUE);
    }

    #[test]
    fn verify_rfc_vectors_in_wire_order() {
        for (data, wire) in rfc3720_vectors() {
            assert!(verify(crc32c(&data), &wire));
            let mut swapped = wire;
            swapped.reverse();
            assert!(!verify(crc32c(&data), &swapped));
        }
    }

    #[test]
    fn detects_swapped_words() {
        let mut p = READ10_PDU;
        p.swap(24, 28);
        p.swap(25, 29);
        p.swap(26, 30);
        p.swap(27, 31);
        assert_ne!(crc32c(&p), crc32c(&READ10_PDU));
    }

    #[test]
    fn detects_all_burst_errors_up_to_32_bits() {
        // A CRC of degree 32 detects every burst of length <= 32.
        let base = crc32c(&READ10_PDU);
        for start in 0..(48 * 8 - 32) {
            for pattern in [
                1u64 | (1 << 31),
                0xffff_ffff,
                0x8000_0001,
                0xdead_beef | 1 | (1 << 31),
            ] {
                let mut p = READ10_PDU;
                for bit in 0..32 {
                    if pattern >> bit & 1 == 1 {
                        let pos = start + bit;
                        p[pos / 8] ^= 1 << (pos % 8);
                    }
                }
                assert_ne!(crc32c(&p), base, "start {start} pattern {pattern:#x}");
            }
        }
    }

    #[test]
    fn default_equals_new() {
        let mut a = Crc32c::default();
        a.update(b"123456789");
        assert_eq!(a.finish_wire(), to_wire(CHECK_VALUE));
    }

    #[test]
    fn digest_len_constant() {
        assert_eq!(DIGEST_LEN, 4);
        assert_eq!(to_wire(0).len(), DIGEST_LEN);
    }

    #[test]
    fn remainder_paths_of_slicing() {
        // Lengths 8k + r for r in 0..8 exercise both loops.
        let data = [0xa5u8; 23];
        for n in 0..=23 {
            assert_eq!(update_raw(!0, &data[..n]), {
                let mut c = !0u32;
                for &b in &data[..n] {
                    c = (c >> 8) ^ TABLES[0][((c ^ u32::from(b)) & 0xff) as usize];
                }
                c
            });
        }
    }

    proptest! {
        #[test]
        fn slicing_equals_bitwise(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            prop_assert_eq!(crc32c(&data), crc32c_bitwise(&data));
        }

        #[test]
        fn incremental_any_split_equals_one_shot(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            points.sort_unstable();
            let mut c = Crc32c::new();
            let mut prev = 0;
            for p in points {
                c.update(&data[prev..p]);
                prev = p;
            }
            c.update(&data[prev..]);
            prop_assert_eq!(c.finish(), crc32c(&data));
        }

        #[test]
        fn data_digest_equals_manual_padding(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut p = data.clone();
            while p.len() % 4 != 0 {
                p.push(0);
            }
            prop_assert_eq!(data_digest(&data), crc32c_bitwise(&p));
        }

        #[test]
        fn crc_is_affine(a in proptest::collection::vec(any::<u8>(), 0..64), seed in any::<u8>()) {
            // crc(a ^ b) == crc(a) ^ crc(b) ^ crc(zeros) for equal lengths.
            let b: Vec<u8> = a.iter().map(|x| x.wrapping_mul(seed) ^ seed).collect();
            let x: Vec<u8> = a.iter().zip(&b).map(|(p, q)| p ^ q).collect();
            let z = vec![0u8; a.len()];
            prop_assert_eq!(crc32c(&x), crc32c(&a) ^ crc32c(&b) ^ crc32c(&z));
        }

        #[test]
        fn appending_wire_crc_gives_residue(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let mut c = Crc32c::new();
            c.update(&data);
            let w = c.finish_wire();
            c.update(&w);
            prop_assert_eq!(c.finish(), 0x4867_4BC7);
        }

        #[test]
        fn verify_own_digest(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let v = crc32c(&data);
            prop_assert!(verify(v, &to_wire(v)));
            prop_assert!(!verify(v, &to_wire(v ^ 1)));
        }
    }
}
