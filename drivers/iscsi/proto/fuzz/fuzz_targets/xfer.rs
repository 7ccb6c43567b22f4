// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `iscsi_proto::xfer`: arbitrary parameters and Data-Out streams
//! through `WriteXfer`, arbitrary `DataInPlan` parameters.
//!
//! Checks that nothing panics, that a `WriteXfer` never reports completion
//! unless the accepted PDUs (plus immediate data) cover the transfer exactly
//! once, that a compliant PDU is always accepted while the transfer has not
//! failed, that R2Ts respect MaxBurstLength and the outstanding limit, and
//! that Data-In plans tile their data with DataSN 0.. and S only last.

#![no_main]

use iscsi_proto::xfer::{
    DataInPlan, Progress, WriteXfer, XferParams, MAX_LENGTH_PARAM, MAX_TRACKED_R2TS,
    MIN_LENGTH_PARAM, RESERVED_TTT,
};
use libfuzzer_sys::fuzz_target;

/// Reads fuzz bytes; zeros once exhausted.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
    /// Mostly a legal length parameter, sometimes anything.
    fn len_param(&mut self) -> u32 {
        let raw = self.u32();
        if self.u8() < 240 {
            MIN_LENGTH_PARAM + raw % 8192
        } else if raw & 1 == 0 {
            MIN_LENGTH_PARAM + raw % (MAX_LENGTH_PARAM - MIN_LENGTH_PARAM + 1)
        } else {
            raw
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `imm` plus `acc` tile [0, total) exactly once.
fn exact_cover(imm: u32, total: u32, acc: &[(u32, u32)]) -> bool {
    let mut v: Vec<(u64, u64)> = acc
        .iter()
        .filter(|r| r.1 > 0)
        .map(|&(o, l)| (u64::from(o), u64::from(l)))
        .collect();
    if imm > 0 {
        v.push((0, u64::from(imm)));
    }
    v.sort_unstable();
    let mut at = 0u64;
    for (o, l) in v {
        if o != at {
            return false;
        }
        at = o + l;
    }
    at == u64::from(total)
}

/// The initiator's view of one open sequence.
struct Open {
    ttt: u32,
    next: u32,
    end: u32,
    sn: u32,
}

fn data_in(b: &mut Bytes<'_>) {
    let total = if b.bool() { b.u32() } else { b.u32() % 100_000 };
    let mrdsl = b.len_param();
    let mbl = b.len_param();
    let s = b.bool();
    let first = b.u32();
    let Ok(plan) = DataInPlan::new(total, mrdsl, mbl, s) else {
        assert!(
            !(MIN_LENGTH_PARAM..=MAX_LENGTH_PARAM).contains(&mrdsl)
                || !(MIN_LENGTH_PARAM..=MAX_LENGTH_PARAM).contains(&mbl)
        );
        return;
    };
    let plan = plan.with_first_data_sn(first);
    let n = plan.pdu_count();
    assert_eq!(plan.len(), n as usize);
    let full = n <= 4096;
    let (mut at, mut burst, mut k) = (0u32, 0u32, 0u32);
    for d in plan.take(4096) {
        assert_eq!(d.offset, at);
        assert!(d.len > 0 && d.len <= mrdsl);
        assert_eq!(d.data_sn, first.wrapping_add(k));
        burst += d.len;
        assert!(burst <= mbl);
        at += d.len;
        k += 1;
        let last = at == total;
        assert_eq!(d.status_s, s && last);
        assert!(!last || d.final_f);
        if d.final_f {
            assert!(burst == mbl || last);
            burst = 0;
        }
    }
    if full {
        assert_eq!(at, total);
        assert_eq!(k, n);
    }
}

fn write(b: &mut Bytes<'_>) {
    let p = XferParams {
        initial_r2t: b.bool(),
        immediate_data: b.bool(),
        first_burst_length: b.len_param(),
        max_burst_length: b.len_param(),
        max_outstanding_r2t: if b.bool() {
            b.u32()
        } else {
            u32::from(b.u8() % 20)
        },
        target_mrdsl: b.len_param(),
    };
    let edtl = if b.bool() { b.u32() } else { b.u32() % 200_000 };
    let imm = if b.bool() {
        b.u32()
    } else {
        u32::from(b.u16())
    };
    let cmd_final = b.bool();
    let base = b.u32();
    let Ok(x) = WriteXfer::new(edtl, imm, cmd_final, &p) else {
        return;
    };
    let mut x = x.with_ttt_base(base);
    let limit = (p.max_outstanding_r2t as usize).min(MAX_TRACKED_R2TS);
    let mut open: Vec<Open> = Vec::new();
    if x.awaiting_unsolicited() {
        open.push(Open {
            ttt: RESERVED_TTT,
            next: imm,
            end: x.unsolicited_end(),
            sn: 0,
        });
    }
    let mut issued: Vec<u32> = Vec::new();
    let mut r2t_sn = 0u32;
    let mut acc: Vec<(u32, u32)> = Vec::new();
    let mut drain = |x: &mut WriteXfer, open: &mut Vec<Open>, issued: &mut Vec<u32>| {
        while let Some(r) = x.next_r2t() {
            assert_ne!(r.ttt, RESERVED_TTT);
            assert!(r.desired_len > 0 && r.desired_len <= p.max_burst_length);
            assert_eq!(r.r2t_sn, r2t_sn);
            r2t_sn += 1;
            assert!(x.outstanding_r2ts() <= limit);
            assert!(!issued.contains(&r.ttt) || issued.len() >= 0xffff_fffe);
            issued.push(r.ttt);
            open.push(Open {
                ttt: r.ttt,
                next: r.buffer_offset,
                end: r.buffer_offset + r.desired_len,
                sn: 0,
            });
        }
    };
    drain(&mut x, &mut open, &mut issued);
    let mut steps = 0;
    while !b.is_empty() && steps < 20_000 {
        steps += 1;
        let op = b.u8();
        let failed_before = x.is_failed();
        let (ttt, sn, off, len, fin, honest) = match op % 8 {
            0..=4 if !open.is_empty() => {
                // A compliant PDU of one open sequence.
                let i = usize::from(b.u8()) % open.len();
                let s = &open[i];
                let room = s.end - s.next;
                let want = u32::from(b.u16()) % (p.target_mrdsl + 1);
                let len = want.min(room);
                (s.ttt, s.sn, s.next, len, s.next + len == s.end, true)
            }
            5 if !open.is_empty() => {
                // A compliant PDU with one field perturbed.
                let i = usize::from(b.u8()) % open.len();
                let s = &open[i];
                let room = s.end - s.next;
                let len = (1 + u32::from(b.u16()) % p.target_mrdsl).min(room);
                let (mut t, mut n, mut o, mut l, mut f) =
                    (s.ttt, s.sn, s.next, len, s.next + len == s.end);
                let d = b.u32();
                match b.u8() % 5 {
                    0 => t = t.wrapping_add(d),
                    1 => n = n.wrapping_add(d),
                    2 => o = o.wrapping_add(d),
                    3 => l = l.wrapping_add(d),
                    _ => f = !f,
                }
                (t, n, o, l, f, false)
            }
            6 => {
                let w = b.u32();
                let end = x.set_wanted_len(w);
                assert!(end <= edtl);
                drain(&mut x, &mut open, &mut issued);
                continue;
            }
            _ => {
                let sel = b.u8();
                let ttt = match sel % 3 {
                    0 => RESERVED_TTT,
                    1 if !issued.is_empty() => issued[usize::from(sel) % issued.len()],
                    _ => b.u32(),
                };
                (ttt, b.u32() % 8, b.u32(), b.u32() % 70_000, b.bool(), false)
            }
        };
        match x.on_data_out(ttt, sn, off, len, fin) {
            Ok(pr) => {
                acc.push((off, len));
                let i = open
                    .iter()
                    .position(|s| s.ttt == ttt)
                    .expect("accepted PDU belongs to an open sequence");
                let s = &mut open[i];
                assert_eq!((s.next, s.sn), (off, sn));
                s.next = off + len;
                s.sn += 1;
                if fin {
                    assert_eq!(s.next, s.end);
                    open.remove(i);
                    assert_ne!(pr, Progress::Continue);
                    drain(&mut x, &mut open, &mut issued);
                } else {
                    assert_eq!(pr, Progress::Continue);
                }
                if pr == Progress::Complete {
                    assert!(x.is_complete());
                }
            }
            Err(e) => {
                assert!(!honest || failed_before, "honest PDU rejected: {e:?}");
                assert!(x.is_failed());
                assert!(!x.is_complete());
                assert!(e.drops_connection());
            }
        }
    }
    if x.is_complete() {
        assert!(exact_cover(imm, x.total_len(), &acc));
        assert_eq!(x.received(), x.total_len());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    if b.bool() {
        data_in(&mut b);
    } else {
        write(&mut b);
    }
});
