// SPDX-License-Identifier: GPL-2.0

//! Fuzzes the persistent reservation state machine `scst_proto::pr::PrState`
//! with sequences of PERSISTENT RESERVE OUT / IN commands from three I_T
//! nexuses, and `PrState::load` on arbitrary (or header-fixed) images.
//!
//! The input is read as a stream of operations (see `step`). The state has
//! room for only four registrations so that resource exhaustion is reached.
//!
//! After every operation it checks the state invariants (registration count,
//! non-zero keys, no two registrations for one nexus, holders match the
//! reservation type), that a command ending in an error or RESERVATION
//! CONFLICT changed nothing, that PRgeneration moves as SPC-4 6.15.2 says,
//! that PR IN data agrees with the state and truncates to a prefix, and that
//! `save` / `load` round-trip the state exactly.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use scst_proto::{
    bytes::{get_u32, get_u64},
    pr::{
        self, CmdClass, ItNexus, NexusPattern, Notices, PrState, PrinAction, PrinCdb, ProutAction,
        TransportId,
    },
    reserve::{Access, PERSISTENT_RESERVE_IN, PERSISTENT_RESERVE_OUT},
    sense::{self, Format, Sense},
    types::Status,
};

const N: usize = 4;
const SAVE_MAX: usize = pr::max_saved_len(N);
const KEYS: [u64; 4] = [0, 0x1111, 0x2222, 0xffff_ffff_ffff_ffff];
const TYPES: [u8; 6] = [1, 3, 5, 6, 7, 8];

struct World {
    nexus: [ItNexus; 3],
    /// TransportIDs offered to SPEC_I_PT and REGISTER AND MOVE.
    tids: [TransportId; 5],
}

fn world() -> World {
    let a = TransportId::iscsi_port(b"iqn.2026-11.test:host-a", 0x23d0_0000_0001).unwrap();
    let b = TransportId::iscsi_port(b"iqn.2026-11.test:host-a", 0x23d0_0000_0002).unwrap();
    let c = TransportId::iscsi_port(b"iqn.2026-11.test:host-c", 0x0000_0000_0001).unwrap();
    let a_all = TransportId::iscsi_name(b"IQN.2026-11.TEST:HOST-A").unwrap();
    let mut fc = [0u8; pr::GENERIC_TID_LEN];
    fc[8..16].copy_from_slice(&0x2100_0024_ff00_0001u64.to_be_bytes());
    let fc = TransportId::generic(&fc).unwrap();
    World {
        nexus: [
            ItNexus { tid: a, rtpi: 1 },
            ItNexus { tid: b, rtpi: 2 },
            ItNexus { tid: c, rtpi: 1 },
        ],
        tids: [a, b, c, a_all, fc],
    }
}

fn check_sense(s: &Sense) {
    for f in [Format::Fixed, Format::Descriptor] {
        let (buf, n) = sense::to_array(s, f);
        assert_eq!(sense::key_asc(&buf[..n]), Some((s.key, s.asc)));
    }
}

fn overlaps(a: &NexusPattern, b: &NexusPattern) -> bool {
    (a.all_tg_pt || b.all_tg_pt || a.rtpi == b.rtpi) && a.tid.matches(&b.tid)
}

/// Everything observable about the state except PRgeneration.
fn image(s: &PrState<N>) -> Vec<u8> {
    let mut b = vec![0u8; SAVE_MAX];
    let n = s.save(&mut b).expect("save failed");
    assert_eq!(n, s.saved_len());
    b.truncate(n);
    b
}

fn invariants(s: &PrState<N>, w: &World) {
    let regs: Vec<_> = s.registrations().collect();
    assert_eq!(regs.len(), s.registration_count());
    assert!(regs.len() <= N);
    for (i, r) in regs.iter().enumerate() {
        assert_ne!(r.key, 0, "registration with key 0");
        assert!(!r.nexus.tid.is_empty());
        for q in &regs[..i] {
            assert!(
                !overlaps(q.nexus, r.nexus),
                "two registrations for one nexus: {regs:?}"
            );
        }
    }
    let holders = regs.iter().filter(|r| r.holder).count();
    match s.reservation() {
        None => assert_eq!(holders, 0, "holder without reservation"),
        Some(t) if t.all_registrants() => {
            assert!(
                !regs.is_empty(),
                "all-registrants reservation without registrants"
            );
            assert_eq!(holders, regs.len());
        }
        Some(_) => assert_eq!(holders, 1, "not one holder: {regs:?}"),
    }
    assert_eq!(s.is_reserved(), s.reservation().is_some());
    for n in &w.nexus {
        assert_eq!(s.is_registered(n), s.key_of(n).is_some());
        assert!(!s.is_holder(n) || s.is_registered(n));
        for c in [
            CmdClass::Unrestricted,
            CmdClass::Read,
            CmdClass::Write,
            CmdClass::PrIn,
            CmdClass::PrOut,
            CmdClass::Spc2,
        ] {
            let a = s.access(n, c);
            if s.reservation().is_none() || s.is_holder(n) {
                assert_eq!(a, Access::Allowed);
            }
        }
        let _ = s.spc2_interplay(n);
    }

    // PR IN data agrees with the state.
    let mut out = [0u8; 2048];
    let cdb = |action| PrinCdb {
        action,
        alloc_len: 0xffff,
    };
    let len = s.prin(&cdb(PrinAction::ReadKeys), &mut out);
    assert_eq!(get_u32(&out, 0), s.generation());
    assert_eq!(get_u32(&out, 4) as usize, 8 * regs.len());
    assert_eq!(len, 8 + 8 * regs.len());
    for (i, r) in regs.iter().enumerate() {
        assert_eq!(get_u64(&out, 8 + 8 * i), r.key);
    }
    let len = s.prin(&cdb(PrinAction::ReadReservation), &mut out);
    match s.reservation() {
        None => assert_eq!((len, get_u32(&out, 4)), (8, 0)),
        Some(t) => {
            assert_eq!((len, get_u32(&out, 4)), (24, 16));
            assert_eq!(out[21], t as u8);
            let key = if t.all_registrants() {
                0
            } else {
                regs.iter().find(|r| r.holder).unwrap().key
            };
            assert_eq!(get_u64(&out, 8), key);
        }
    }
    let len = s.prin(&cdb(PrinAction::ReportCapabilities), &mut out);
    assert_eq!(len, 8);
    assert_eq!(out[3] & 1 != 0, s.aptpl());
    let len = s.prin(&cdb(PrinAction::ReadFullStatus), &mut out);
    assert_eq!(get_u32(&out, 4) as usize, len - 8);
    let mut off = 8;
    for r in &regs {
        assert_eq!(get_u64(&out, off), r.key);
        assert_eq!(out[off + 12] & 1 != 0, r.holder);
        assert_eq!(out[off + 12] & 2 != 0, r.nexus.all_tg_pt);
        let tl = get_u32(&out, off + 20) as usize;
        assert_eq!(&out[off + 24..off + 24 + tl], r.nexus.tid.as_bytes());
        off += 24 + tl;
    }
    assert_eq!(off, len);

    // save / load round trip.
    let img = image(s);
    let mut l = PrState::<N>::new();
    l.load(&img).expect("saved image does not load");
    assert_eq!(l.generation(), 0);
    if s.aptpl() {
        assert_eq!(image(&l), img);
        assert_eq!(l.reservation(), s.reservation());
    } else {
        assert_eq!(l.registration_count(), 0);
        assert!(!l.is_reserved() && !l.aptpl());
    }
}

fn key(u: &mut Unstructured<'_>) -> Result<u64> {
    let i: u8 = u.arbitrary()?;
    Ok(match i % 5 {
        4 => u.arbitrary()?,
        k => KEYS[usize::from(k)],
    })
}

fn tid(u: &mut Unstructured<'_>, w: &World) -> Result<Vec<u8>> {
    let i: u8 = u.arbitrary()?;
    Ok(match usize::from(i) % (w.tids.len() + 1) {
        k if k < w.tids.len() => w.tids[k].as_bytes().to_vec(),
        _ => {
            let n = u.int_in_range(0..=64)?;
            u.bytes(n)?.to_vec()
        }
    })
}

/// A PERSISTENT RESERVE OUT parameter list for `action`.
fn params(u: &mut Unstructured<'_>, w: &World, action: u8) -> Result<Vec<u8>> {
    let mode: u8 = u.arbitrary()?;
    if mode & 0x0f == 0 {
        let n = u.int_in_range(0..=96)?;
        return Ok(u.bytes(n)?.to_vec());
    }
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&key(u)?.to_be_bytes());
    p.extend_from_slice(&key(u)?.to_be_bytes());
    if action == 7 {
        // REGISTER AND MOVE: UNREG/APTPL, destination port, one TransportID.
        let flags: u8 = u.arbitrary()?;
        let rtpi: u16 = match u.arbitrary::<u8>()? % 4 {
            3 => u.arbitrary()?,
            k => u16::from(k),
        };
        let t = tid(u, w)?;
        p.extend_from_slice(&[0, flags & 0x03]);
        p.extend_from_slice(&rtpi.to_be_bytes());
        let tpdl = if mode & 0x10 != 0 {
            u.arbitrary()?
        } else {
            t.len() as u32
        };
        p.extend_from_slice(&tpdl.to_be_bytes());
        p.extend_from_slice(&t);
        return Ok(p);
    }
    p.extend_from_slice(&[0; 4]);
    // SPEC_I_PT, ALL_TG_PT, APTPL (and sometimes reserved bits).
    let mut flags: u8 = u.arbitrary()?;
    if mode & 0x20 == 0 {
        flags &= 0x0d;
    }
    p.extend_from_slice(&[flags, 0, 0, 0]);
    if flags & 0x08 != 0 {
        let count = u.int_in_range(0..=3)?;
        let mut list = Vec::new();
        for _ in 0..count {
            list.extend_from_slice(&tid(u, w)?);
        }
        let tpdl = if mode & 0x10 != 0 {
            u.arbitrary()?
        } else {
            list.len() as u32
        };
        p.extend_from_slice(&tpdl.to_be_bytes());
        p.extend_from_slice(&list);
    }
    Ok(p)
}

fn prout(u: &mut Unstructured<'_>, s: &mut PrState<N>, w: &World) -> Result<()> {
    let who = &w.nexus[usize::from(u.arbitrary::<u8>()? % 3)];
    let sa: u8 = u.arbitrary()?;
    let action = if sa & 0x80 != 0 { sa & 0x1f } else { sa % 8 };
    let ty: u8 = u.arbitrary()?;
    let scope_type = if ty & 0x80 != 0 {
        ty
    } else {
        TYPES[usize::from(ty % 6)]
    };
    let p = params(u, w, action)?;
    let fix: u8 = u.arbitrary()?;
    let pll = match fix % 8 {
        0 => u32::from(fix >> 3),
        1 => u.arbitrary()?,
        _ => p.len() as u32,
    };
    let mut cdb = [0u8; 10];
    cdb[0] = PERSISTENT_RESERVE_OUT;
    cdb[1] = action;
    cdb[2] = scope_type;
    cdb[5..9].copy_from_slice(&pll.to_be_bytes());
    let c = match pr::parse_prout_cdb(&cdb) {
        Ok(c) => c,
        Err(e) => {
            check_sense(&e);
            return Ok(());
        }
    };
    assert_eq!(pr::classify(&cdb), CmdClass::PrOut);

    let before = image(s);
    let gen = s.generation();
    let aptpl = s.aptpl();
    let mut notices = Notices::<N>::new();
    match s.prout(who, &c, &p, &mut notices) {
        Err(e) => {
            check_sense(&e);
            assert!(notices.is_empty(), "notices on error");
            assert_eq!(image(s), before, "state changed on error {e:?}");
            assert_eq!(s.generation(), gen);
        }
        Ok(o) if o.status == Status::ReservationConflict => {
            assert!(!o.persist);
            assert!(notices.is_empty(), "notices on conflict");
            assert_eq!(image(s), before, "state changed on conflict");
            assert_eq!(s.generation(), gen);
        }
        Ok(o) => {
            assert_eq!(o.status, Status::Good);
            assert!(!o.persist || aptpl || s.aptpl());
            // SPC-4 6.15.2: PRgeneration counts the successful registration,
            // CLEAR, PREEMPT (AND ABORT) and REGISTER AND MOVE commands, not
            // RESERVE and RELEASE.
            match c.action {
                ProutAction::Reserve | ProutAction::Release => assert_eq!(s.generation(), gen),
                _ => assert_eq!(s.generation(), gen.wrapping_add(1)),
            }
            // APTPL is only taken from the registration commands (SPC-4
            // 6.16.3).
            if !matches!(
                c.action,
                ProutAction::Register
                    | ProutAction::RegisterAndIgnore
                    | ProutAction::RegisterAndMove
            ) {
                assert_eq!(s.aptpl(), aptpl, "{:?} changed APTPL", c.action);
            }
            assert!(notices.len() <= N);
            for n in notices.as_slice() {
                assert!(!n.nexus.tid.is_empty());
                assert_eq!(notices.find(&n.nexus).map(|f| f.nexus), Some(n.nexus));
            }
            if image(s) != before && !o.persist {
                // Changed without asking to persist: only when APTPL is,
                // and was, off.
                assert!(!aptpl && !s.aptpl());
            }
        }
    }
    Ok(())
}

fn prin(u: &mut Unstructured<'_>, s: &PrState<N>) -> Result<()> {
    let mut cdb = [0u8; 10];
    cdb[0] = PERSISTENT_RESERVE_IN;
    cdb[1] = u.arbitrary::<u8>()? % 5;
    let alloc: u16 = u.arbitrary()?;
    cdb[7..9].copy_from_slice(&alloc.to_be_bytes());
    let c = match pr::parse_prin_cdb(&cdb) {
        Ok(c) => c,
        Err(e) => {
            check_sense(&e);
            return Ok(());
        }
    };
    assert_eq!(c.alloc_len, alloc);
    let mut full = [0u8; 4096];
    let n_full = s.prin(
        &PrinCdb {
            alloc_len: 0xffff,
            ..c
        },
        &mut full,
    );
    let mut part = [0u8; 256];
    let k = usize::from(u.arbitrary::<u8>()?);
    let n = s.prin(&c, &mut part[..k]);
    assert_eq!(n, n_full.min(k).min(usize::from(alloc)));
    assert_eq!(part[..n], full[..n]);
    Ok(())
}

/// Loads an image: raw bytes, or with magic, version, lengths and CRC fixed.
fn load(u: &mut Unstructured<'_>, s: &mut PrState<N>) -> Result<()> {
    let fix: u8 = u.arbitrary()?;
    let n = u.int_in_range(0..=512)?;
    let mut img = u.bytes(n)?.to_vec();
    if fix & 1 != 0 && img.len() >= 28 {
        let total = img.len();
        img[..8].copy_from_slice(&pr::PERSIST_MAGIC);
        img[8..10].copy_from_slice(&pr::PERSIST_VERSION.to_be_bytes());
        img[10..12].copy_from_slice(&24u16.to_be_bytes());
        img[12..16].copy_from_slice(&(total as u32).to_be_bytes());
        if fix & 2 != 0 {
            img[20..22].copy_from_slice(&u16::from(fix >> 6).to_be_bytes());
        }
        let crc = pr::crc32(&img[..total - 4]);
        img[total - 4..].copy_from_slice(&crc.to_be_bytes());
    }
    let before = image(s);
    let gen = s.generation();
    match s.load(&img) {
        Err(_) => {
            assert_eq!(image(s), before, "load error changed the state");
            assert_eq!(s.generation(), gen);
        }
        Ok(()) => {
            assert_eq!(s.generation(), 0);
            let total = get_u32(&img, 12) as usize;
            if s.aptpl() {
                assert_eq!(image(s), img[..total], "loaded image does not save back");
            } else {
                assert_eq!(s.registration_count(), 0);
                assert!(!s.is_reserved());
                assert_eq!(img[16] & 1, 0);
            }
        }
    }
    Ok(())
}

fn run(data: &[u8]) -> Result<()> {
    let w = world();
    let mut s = PrState::<N>::new();
    let mut u = Unstructured::new(data);
    // Also: PrState::load of the whole input, as is.
    let mut raw = PrState::<N>::new();
    if raw.load(data).is_ok() {
        invariants(&raw, &w);
    }
    while !u.is_empty() {
        match u.arbitrary::<u8>()? % 16 {
            0..=11 => prout(&mut u, &mut s, &w)?,
            12 | 13 => prin(&mut u, &s)?,
            14 => load(&mut u, &mut s)?,
            _ => {
                // Power cycle without APTPL.
                let g = u.arbitrary::<u8>()?;
                if g & 1 != 0 {
                    s.clear();
                }
            }
        }
        invariants(&s, &w);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
