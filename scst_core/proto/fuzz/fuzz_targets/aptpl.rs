// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the APTPL file format (`scst_proto::aptpl`): the two-slot file a
//! device's persistent reservations are kept in across power loss.
//!
//! The input is an arbitrary file (what a crash, a full disk or another
//! program may have left), read as the core reads it on device
//! registration: the newest valid slot, then `PrState::load` of its image.
//! Neither may panic. Then, from the state that loaded (or an empty one),
//! it saves into the other slot as the core does and checks:
//! - the file then restores exactly the saved state (save/restore round
//!   trip through `encode_slot`, `newest` and `load`);
//! - a save torn at any byte (the input picks where) over an older save
//!   restores either the new state or the previous one, never anything
//!   else;
//! - the file name of a device name (the input's tail) stays inside the
//!   directory: no `/`, no leading `.`, and distinct names give distinct
//!   files.

#![no_main]

use libfuzzer_sys::fuzz_target;
use scst_proto::{
    aptpl::{decode_slot, encode_slot, file_name, newest, next_slot, slot_len},
    pr::{self, PrState},
};

const N: usize = 4;
const SLOT: usize = slot_len(N);

/// The state a file restores to, as the core restores it: nothing unless
/// the newest valid slot loads.
fn restore(file: &[u8]) -> Option<(usize, u64, PrState<N>)> {
    let (i, seq, image) = newest(file, SLOT)?;
    let mut s = PrState::<N>::new();
    s.load(image).ok()?;
    Some((i, seq, s))
}

fn saved(s: &PrState<N>) -> Vec<u8> {
    let mut b = vec![0u8; pr::max_saved_len(N)];
    let n = s
        .save(&mut b)
        .expect("a state always saves into max_saved_len");
    b.truncate(n);
    b
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose where a save is torn; the next one how
    // much of the input is the device name.
    let (tear, name_len, file) = match data {
        [a, b, c, rest @ ..] => (
            usize::from(u16::from_be_bytes([*a, *b])),
            usize::from(*c),
            rest,
        ),
        _ => return,
    };
    let split = file.len().saturating_sub(name_len.min(64));
    let (file, name) = file.split_at(split);

    // Whatever the file holds, reading it does not panic; each slot decodes
    // on its own the same way.
    let old = restore(file);
    for i in 0..2 {
        if let Some(s) = file.get(i * SLOT..((i + 1) * SLOT).min(file.len())) {
            let _ = decode_slot(s);
        }
    }

    // Save a state (the one that loaded, so a loaded state round-trips)
    // into the slot the core would use.
    let state = old
        .as_ref()
        .map_or_else(PrState::<N>::new, |(_, _, s)| s.clone());
    let image = saved(&state);
    let mut disk = file.to_vec();
    disk.resize(2 * SLOT, 0);
    let (slot, seq) = next_slot(old.as_ref().map(|(i, seq, _)| (*i, *seq)));
    let mut new_slot = vec![0u8; SLOT];
    encode_slot(seq, &image, &mut new_slot).expect("the image fits a slot");
    disk[slot * SLOT..(slot + 1) * SLOT].copy_from_slice(&new_slot);
    match restore(&disk) {
        Some((i, s_seq, s)) => {
            assert_eq!(i, slot, "the new slot is the newest");
            assert_eq!(s_seq, seq);
            assert_eq!(saved(&s), image, "restore returns what was saved");
        }
        None => panic!("a completed save does not restore"),
    }

    // A save torn after `tear` bytes. The slot it overwrites holds an
    // older save of ours (of the empty state), the other slot the state
    // before (also the empty state): the file restores the empty state or
    // the new one, never anything else.
    let empty = saved(&PrState::<N>::new());
    let mut base = vec![0u8; 2 * SLOT];
    encode_slot(1, &empty, &mut base[..SLOT]).expect("fits");
    encode_slot(2, &empty, &mut base[SLOT..]).expect("fits");
    let mut fresh = vec![0u8; SLOT];
    let (slot, seq) = next_slot(Some((1, 2)));
    let n = encode_slot(seq, &image, &mut fresh).expect("fits");
    let cut = tear % (n + 1);
    let mut torn = base.clone();
    torn[slot * SLOT..slot * SLOT + cut].copy_from_slice(&fresh[..cut]);
    let got = restore(&torn).map(|(_, _, s)| saved(&s));
    assert!(
        got.as_ref() == Some(&empty) || got.as_ref() == Some(&image),
        "a save torn at byte {cut} of {n} restored something never saved"
    );
    if cut == n {
        assert_eq!(got.as_ref(), Some(&image), "a whole save restores");
    }

    // Device names map to safe, distinct file names.
    let mut out = [0u8; 64 * 3];
    if let Some(len) = file_name(name, &mut out) {
        let f = &out[..len];
        assert!(!f.contains(&b'/'), "a file name with a slash");
        assert!(f.first() != Some(&b'.'), "a hidden or relative file name");
        assert!(
            f.iter().all(|b| b.is_ascii_graphic()),
            "a non-printable file name"
        );
        // Injective: decoding %XX gives the name back.
        let mut back = Vec::new();
        let mut i = 0;
        while i < f.len() {
            if f[i] == b'%' {
                let hex = core::str::from_utf8(&f[i + 1..i + 3]).unwrap();
                back.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                back.push(f[i]);
                i += 1;
            }
        }
        assert_eq!(back, name, "the file name decodes back to the device name");
    } else {
        assert!(name.is_empty(), "a non-empty name without a file name");
    }
});
