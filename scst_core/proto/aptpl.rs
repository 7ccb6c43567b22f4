// SPDX-License-Identifier: GPL-2.0

//! The file that keeps a device's persistent reservations across power
//! loss (APTPL, SPC-4 5.13.6), written so that a crash never loses both the
//! old and the new state.
//!
//! The file holds two slots of [`slot_len`] bytes. Each slot is a header,
//! then a [`super::pr::PrState::save`] image:
//!
//! ```text
//!   0   8  magic "SCSTAPSL"
//!   8   8  sequence number (the newest valid slot wins)
//!  16   4  image length
//!  20   4  CRC-32 of bytes 0..20 and the image
//!  24   .  the image
//! ```
//!
//! A save writes the slot that does not hold the newest state, with the
//! next sequence number, and syncs the file: a write torn by a crash fails
//! its CRC and the other slot, the previous state, is used. Turning APTPL
//! off is a save too (an image with APTPL off restores to nothing), so the
//! file is never deleted.

use super::bytes::{get_u32, get_u64, put_u32};
use super::pr::{crc32_parts, max_saved_len, PersistError};

/// Magic at the start of a slot.
pub const SLOT_MAGIC: [u8; 8] = *b"SCSTAPSL";

/// Bytes of a slot header.
pub const SLOT_HEADER_LEN: usize = 24;

/// The slot size for a state of `max_regs` registrations: the largest
/// image plus the header, rounded up to 4 KiB.
pub const fn slot_len(max_regs: usize) -> usize {
    (SLOT_HEADER_LEN + max_saved_len(max_regs)).div_ceil(4096) * 4096
}

/// The CRC of a slot: its first 20 header bytes, then the image.
fn slot_crc(head: &[u8], image: &[u8]) -> u32 {
    crc32_parts(&[head, image])
}

/// Writes a slot with sequence number `seq` holding `image` into `out`;
/// returns the bytes used (the rest of the slot is left as it is).
pub fn encode_slot(seq: u64, image: &[u8], out: &mut [u8]) -> Result<usize, PersistError> {
    let end = SLOT_HEADER_LEN
        .checked_add(image.len())
        .ok_or(PersistError::BadLength)?;
    out.get_mut(SLOT_HEADER_LEN..end)
        .ok_or(PersistError::BufferTooSmall)?
        .copy_from_slice(image);
    seal_slot(seq, image.len(), out)
}

/// Writes the header of a slot whose image (`image_len` bytes) is already
/// in place at [`SLOT_HEADER_LEN`]; returns the bytes used.
pub fn seal_slot(seq: u64, image_len: usize, out: &mut [u8]) -> Result<usize, PersistError> {
    let total = SLOT_HEADER_LEN
        .checked_add(image_len)
        .ok_or(PersistError::BadLength)?;
    let len = u32::try_from(image_len).map_err(|_| PersistError::BadLength)?;
    let buf = out.get_mut(..total).ok_or(PersistError::BufferTooSmall)?;
    buf[..8].copy_from_slice(&SLOT_MAGIC);
    buf[8..16].copy_from_slice(&seq.to_be_bytes());
    buf[16..20].copy_from_slice(&len.to_be_bytes());
    let crc = slot_crc(&buf[..20], &buf[SLOT_HEADER_LEN..]);
    put_u32(buf, 20, crc);
    Ok(total)
}

/// Reads a slot: its sequence number and image, or `None` when the slot is
/// empty, torn or not a slot at all.
pub fn decode_slot(slot: &[u8]) -> Option<(u64, &[u8])> {
    if slot.get(..8)? != SLOT_MAGIC {
        return None;
    }
    let seq = get_u64(slot, 8);
    let len = usize::try_from(get_u32(slot, 16)).ok()?;
    let end = SLOT_HEADER_LEN.checked_add(len)?;
    let image = slot.get(SLOT_HEADER_LEN..end)?;
    if slot_crc(slot.get(..20)?, image) != get_u32(slot, 20) {
        return None;
    }
    Some((seq, image))
}

/// The newest valid slot of a file's contents (`data`, two slots of
/// `slot` bytes, possibly short): its index, sequence number and image.
pub fn newest(data: &[u8], slot: usize) -> Option<(usize, u64, &[u8])> {
    let mut best: Option<(usize, u64, &[u8])> = None;
    for i in 0..2 {
        let start = slot.checked_mul(i)?;
        let end = start.checked_add(slot)?.min(data.len());
        let Some(s) = data.get(start..end) else {
            continue;
        };
        if let Some((seq, image)) = decode_slot(s) {
            if best.is_none_or(|(_, b, _)| seq > b) {
                best = Some((i, seq, image));
            }
        }
    }
    best
}

/// Where the next save goes after `last` (the newest slot's index and
/// sequence number, if any): the other slot, the next sequence number.
pub fn next_slot(last: Option<(usize, u64)>) -> (usize, u64) {
    match last {
        None => (0, 1),
        Some((i, seq)) => (1 - (i & 1), seq.wrapping_add(1).max(1)),
    }
}

/// The file name for a device: its name with every byte other than ASCII
/// letters, digits, `_`, `-` and a non-leading `.` written as `%XX`, so a
/// device name can never reach outside the directory. Returns the length
/// written to `out`, or `None` when `out` is too small.
pub fn file_name(dev: &[u8], out: &mut [u8]) -> Option<usize> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut n = 0usize;
    for (i, &b) in dev.iter().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            *out.get_mut(n)? = b;
            n += 1;
        } else {
            let dst = out.get_mut(n..n.checked_add(3)?)?;
            dst[0] = b'%';
            dst[1] = HEX[usize::from(b >> 4)];
            dst[2] = HEX[usize::from(b & 0xf)];
            n += 3;
        }
    }
    if n == 0 {
        return None;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::super::pr::crc32;
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const SLOT: usize = 4096;

    fn file(slots: &[(u64, &[u8])]) -> Vec<u8> {
        let mut f = vec![0u8; SLOT * 2];
        for (i, (seq, img)) in slots.iter().enumerate() {
            encode_slot(*seq, img, &mut f[i * SLOT..(i + 1) * SLOT]).unwrap();
        }
        f
    }

    #[test]
    fn slot_round_trip() {
        let mut s = vec![0u8; SLOT];
        let n = encode_slot(7, b"image bytes", &mut s).unwrap();
        assert_eq!(n, SLOT_HEADER_LEN + 11);
        assert_eq!(&s[..8], b"SCSTAPSL");
        assert_eq!(decode_slot(&s), Some((7, &b"image bytes"[..])));
    }

    #[test]
    fn slot_crc_matches_plain_crc32_of_the_bytes() {
        let mut s = vec![0u8; SLOT];
        let n = encode_slot(1, b"abc", &mut s).unwrap();
        let mut joined = Vec::new();
        joined.extend_from_slice(&s[..20]);
        joined.extend_from_slice(&s[SLOT_HEADER_LEN..n]);
        assert_eq!(get_u32(&s, 20), crc32(&joined));
    }

    #[test]
    fn sealing_in_place_equals_encoding() {
        let mut a = vec![0u8; 64];
        let mut b = vec![0u8; 64];
        encode_slot(9, b"state", &mut a).unwrap();
        b[SLOT_HEADER_LEN..SLOT_HEADER_LEN + 5].copy_from_slice(b"state");
        assert_eq!(seal_slot(9, 5, &mut b), Ok(SLOT_HEADER_LEN + 5));
        assert_eq!(a, b);
        assert_eq!(seal_slot(9, 41, &mut b), Err(PersistError::BufferTooSmall));
    }

    #[test]
    fn small_buffer_is_refused() {
        let mut s = [0u8; 30];
        assert_eq!(
            encode_slot(1, &[0u8; 7], &mut s),
            Err(PersistError::BufferTooSmall)
        );
        assert_eq!(encode_slot(1, &[0u8; 6], &mut s), Ok(30));
    }

    #[test]
    fn empty_and_garbage_slots_are_ignored() {
        assert_eq!(decode_slot(&[0u8; SLOT]), None);
        assert_eq!(decode_slot(b"SCSTAPSL"), None);
        assert_eq!(decode_slot(&[]), None);
        assert_eq!(newest(&[0u8; 2 * SLOT], SLOT), None);
        assert_eq!(newest(&[], SLOT), None);
    }

    #[test]
    fn every_torn_byte_is_detected() {
        let mut s = vec![0u8; 64];
        let n = encode_slot(3, b"0123456789", &mut s).unwrap();
        for i in 0..n {
            let mut t = s.clone();
            t[i] ^= 0x40;
            assert_eq!(decode_slot(&t), None, "flip at byte {i} not detected");
        }
    }

    #[test]
    fn an_image_length_beyond_the_slot_is_invalid() {
        let mut s = vec![0u8; 64];
        encode_slot(3, b"0123456789", &mut s).unwrap();
        s[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(decode_slot(&s), None);
        s[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode_slot(&s), None);
    }

    #[test]
    fn the_newest_valid_slot_wins() {
        let f = file(&[(4, b"old"), (5, b"new")]);
        assert_eq!(newest(&f, SLOT), Some((1, 5, &b"new"[..])));
        let f = file(&[(9, b"newer"), (8, b"older")]);
        assert_eq!(newest(&f, SLOT), Some((0, 9, &b"newer"[..])));
    }

    #[test]
    fn a_torn_newest_slot_falls_back_to_the_previous_state() {
        let mut f = file(&[(4, b"old"), (5, b"new")]);
        f[SLOT + SLOT_HEADER_LEN] ^= 1;
        assert_eq!(newest(&f, SLOT), Some((0, 4, &b"old"[..])));
    }

    #[test]
    fn a_file_with_only_the_first_slot_is_read() {
        // A file written once is one slot long (the second never written).
        let mut f = vec![0u8; 100];
        encode_slot(1, b"x", &mut f).unwrap();
        assert_eq!(newest(&f, SLOT), Some((0, 1, &b"x"[..])));
    }

    #[test]
    fn saves_alternate_slots_and_count_up() {
        assert_eq!(next_slot(None), (0, 1));
        assert_eq!(next_slot(Some((0, 1))), (1, 2));
        assert_eq!(next_slot(Some((1, 2))), (0, 3));
        // The counter never restarts at 0 (which an empty file would match).
        assert_eq!(next_slot(Some((0, u64::MAX))), (1, 1));
    }

    #[test]
    fn a_sequence_of_saves_always_reads_back_the_last() {
        let mut f = vec![0u8; 2 * SLOT];
        let mut last = None;
        for k in 0u8..10 {
            let (i, seq) = next_slot(last);
            let img = [k; 5];
            encode_slot(seq, &img, &mut f[i * SLOT..(i + 1) * SLOT]).unwrap();
            let (ni, nseq, nimg) = newest(&f, SLOT).unwrap();
            assert_eq!((ni, nseq, nimg), (i, seq, &img[..]));
            last = Some((ni, nseq));
        }
    }

    #[test]
    fn slot_len_fits_the_largest_image() {
        for n in [1usize, 16, 64] {
            let l = slot_len(n);
            assert_eq!(l % 4096, 0);
            assert!(l >= SLOT_HEADER_LEN + max_saved_len(n));
        }
    }

    fn name(s: &[u8]) -> std::string::String {
        let mut out = [0u8; 64];
        let n = file_name(s, &mut out).unwrap();
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn file_names_cannot_leave_the_directory() {
        assert_eq!(name(b"disk1"), "disk1");
        assert_eq!(name(b"my_disk-2.img"), "my_disk-2.img");
        assert_eq!(name(b"../etc"), "%2E.%2Fetc");
        assert_eq!(name(b".."), "%2E.");
        assert_eq!(name(b"a/b"), "a%2Fb");
        assert_eq!(name(b"1:0:0:0"), "1%3A0%3A0%3A0");
        assert_eq!(name(b"\xff"), "%FF");
        let mut small = [0u8; 4];
        assert_eq!(file_name(b"abcde", &mut small), None);
        assert_eq!(file_name(b"a/", &mut small), Some(4));
        assert_eq!(file_name(b"", &mut small), None);
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_slot(&data);
            let _ = newest(&data, 64);
            let _ = newest(&data, usize::MAX);
        }

        #[test]
        fn file_names_are_plain_and_distinct(
            a in proptest::collection::vec(any::<u8>(), 1..20),
            b in proptest::collection::vec(any::<u8>(), 1..20),
        ) {
            let mut oa = [0u8; 64];
            let mut ob = [0u8; 64];
            let na = file_name(&a, &mut oa).unwrap();
            let nb = file_name(&b, &mut ob).unwrap();
            let fa = &oa[..na];
            prop_assert!(!fa.contains(&b'/'));
            prop_assert!(fa[0] != b'.');
            prop_assert!(fa.iter().all(|c| c.is_ascii_graphic()));
            if a != b {
                prop_assert_ne!(fa, &ob[..nb]);
            }
        }

        #[test]
        fn slots_round_trip(seq in any::<u64>(), img in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut s = vec![0u8; 200];
            encode_slot(seq, &img, &mut s).unwrap();
            prop_assert_eq!(decode_slot(&s), Some((seq, &img[..])));
        }
    }
}
