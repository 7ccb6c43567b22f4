// SPDX-License-Identifier: GPL-2.0

//! Scenario `qerr`: the Control mode page's QErr=01b with one task set
//! shared by every I_T nexus (TST=000b). A CHECK CONDITION on one nexus
//! aborts every other task of the LU (SPC-4 7.5.8, SAM-5 5.9): the
//! faulting nexus's silently, another nexus's with TASK ABORTED if TAS=1,
//! or silently plus a COMMANDS CLEARED BY DEVICE SERVER (2F/02) UNIT
//! ATTENTION if TAS=0.
//!
//! To have tasks outstanding when the CHECK CONDITION goes out, each
//! session queues a chain of ORDERED WRITE SAMEs over the LU (each runs
//! alone, so the chain takes a while) and SIMPLE READs behind it (blocked
//! until the chain is done); then session A sends a HEAD OF QUEUE INQUIRY
//! for a VPD page that does not exist, which runs at once and fails.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{
    describe, Conn, Ctx, LoginOpts, Pdu, RecvErr, Report, TaskAttr, BLOCK, CHECK_CONDITION, GOOD,
};

/// SAM status TASK ABORTED.
const TASK_ABORTED: u8 = 0x40;
/// ORDERED WRITE SAMEs per session, each over 8 MiB.
const CHAIN: usize = 8;
/// Blocks per WRITE SAME (8 MiB of 512-byte blocks, the LU's maximum).
const WS_BLOCKS: u16 = 16384;
/// SIMPLE READs queued behind the chain.
const READS: usize = 4;
/// How long aborted tasks are given to (wrongly) answer.
const QUIET: Duration = Duration::from_secs(10);

/// The Control mode page fields this scenario changes.
#[derive(Clone, Copy)]
pub(super) struct Control {
    pub(super) tst: u8,
    pub(super) qerr: u8,
    pub(super) tas: bool,
}

impl Control {
    /// The target's defaults (TST=001b, QErr=00b, TAS=0).
    pub(super) const DEFAULT: Self = Self {
        tst: 1,
        qerr: 0,
        tas: false,
    };

    fn text(self) -> String {
        format!(
            "TST={} QErr={} TAS={}",
            self.tst,
            self.qerr,
            u8::from(self.tas)
        )
    }
}

/// Sets the Control mode page of LUN 0 (MODE SELECT(10) of what MODE
/// SENSE(10) reported, with `ctl` applied) and checks MODE SENSE shows it.
pub(super) fn set_control(ctx: &Ctx, ctl: Control) -> Result<String, String> {
    let mut c = Conn::login(ctx.addr, &ctx.target, LoginOpts::default())?;
    let sense_cdb = [0x5a, 0x08, 0x0a, 0, 0, 0, 0, 0, 0xff, 0];
    let (r, _) = c.command(&sense_cdb, 255, true)?;
    if r.status != GOOD || r.data.len() < 8 + 12 || r.data[8] & 0x3f != 0x0a {
        return Err(format!(
            "MODE SENSE(10) of the Control page: {}",
            r.describe()
        ));
    }
    let mut param = vec![0u8; 8];
    param.extend_from_slice(&r.data[8..8 + 12]);
    let p = &mut param[8..];
    p[0] &= 0x3f;
    p[2] = (p[2] & 0x1f) | (ctl.tst << 5);
    p[3] = (p[3] & !0x06) | (ctl.qerr << 1);
    p[5] = (p[5] & !0x40) | if ctl.tas { 0x40 } else { 0 };
    let cdb = [0x55, 0x10, 0, 0, 0, 0, 0, 0, param.len() as u8, 0];
    let itt = c.send_cmd(
        &cdb,
        param.len() as u32,
        false,
        true,
        &param,
        true,
        None,
        TaskAttr::Simple,
    )?;
    let r = c.wait_status(itt)?;
    if r.status != GOOD {
        return Err(format!("MODE SELECT(10) {}: {}", ctl.text(), r.describe()));
    }
    let (r, _) = c.command(&sense_cdb, 255, true)?;
    let got = r.data.get(8..8 + 12).unwrap_or(&[]);
    let now = (
        got.get(2).map(|b| b >> 5),
        got.get(3).map(|b| (b >> 1) & 3),
        got.get(5).map(|b| b & 0x40 != 0),
    );
    if now == (Some(ctl.tst), Some(ctl.qerr), Some(ctl.tas)) {
        Ok(ctl.text())
    } else {
        Err(format!("MODE SENSE does not show {}", ctl.text()))
    }
}

/// Collects the statuses of `itts` that arrive before `limit` passes; the
/// others are missing from the map.
fn collect(c: &mut Conn, itts: &[u32], limit: Duration) -> Result<HashMap<u32, u8>, String> {
    let deadline = Instant::now() + limit;
    let mut got = HashMap::new();
    while got.len() < itts.len() {
        let rx = match c.recv(deadline) {
            Ok(rx) => rx,
            Err(RecvErr::Timeout) => break,
            Err(e) => return Err(e.text()),
        };
        let (itt, status) = match rx.pdu {
            Pdu::DataIn(d) if d.status_present => (d.itt, d.status),
            Pdu::DataIn(_) => continue,
            Pdu::ScsiResponse(r) => (r.itt, r.status),
            _ => return Err(format!("waiting for statuses, got {}", describe(&rx))),
        };
        if !itts.contains(&itt) {
            return Err(format!("status for unknown ITT {itt:#x}"));
        }
        if got.insert(itt, status).is_some() {
            return Err(format!("two statuses for ITT {itt:#x}"));
        }
    }
    Ok(got)
}

/// Queues the ORDERED WRITE SAME chain and the SIMPLE READs behind it.
fn queue_chain(c: &mut Conn) -> Result<Vec<u32>, String> {
    let zero = vec![0u8; BLOCK as usize];
    let mut itts = vec![];
    for i in 0..CHAIN {
        let lba = ((i % 2) as u32 * u32::from(WS_BLOCKS)).to_be_bytes();
        let n = WS_BLOCKS.to_be_bytes();
        let cdb = [0x41, 0, lba[0], lba[1], lba[2], lba[3], 0, n[0], n[1], 0];
        itts.push(c.send_cmd(
            &cdb,
            BLOCK,
            false,
            true,
            &zero,
            true,
            None,
            TaskAttr::Ordered,
        )?);
    }
    for i in 0..READS {
        let cdb = [0x28, 0, 0, 0, 0, i as u8, 0, 0, 1, 0];
        itts.push(c.send_cmd(&cdb, BLOCK, true, false, &[], true, None, TaskAttr::Simple)?);
    }
    Ok(itts)
}

/// Sends a HEAD OF QUEUE INQUIRY for VPD page 0xEE, which does not exist:
/// it runs at once and ends with CHECK CONDITION.
fn send_bad_inquiry(c: &mut Conn) -> Result<u32, String> {
    let inq = [0x12, 0x01, 0xee, 0, 0xff, 0];
    c.send_cmd(
        &inq,
        255,
        true,
        false,
        &[],
        true,
        None,
        TaskAttr::HeadOfQueue,
    )
}

/// Checks what one session's chain got: every task either finished GOOD
/// before the CHECK CONDITION (then every older one in the chain did too)
/// or was aborted, reported as `aborted` (`None`: no status at all).
fn judge(itts: &[u32], got: &HashMap<u32, u8>, aborted: Option<u8>) -> Result<usize, String> {
    let mut n_aborted = 0;
    let mut chain_broken = false;
    for (i, itt) in itts.iter().enumerate() {
        match (got.get(itt).copied(), aborted) {
            (Some(GOOD), _) if chain_broken && i < CHAIN => {
                return Err(format!(
                    "ORDERED WRITE SAME {i} finished GOOD after an older one was aborted"
                ))
            }
            (Some(GOOD), _) => {}
            (None, None) => {
                n_aborted += 1;
                chain_broken = true;
            }
            (Some(s), Some(a)) if s == a => {
                n_aborted += 1;
                chain_broken = true;
            }
            (Some(s), _) => return Err(format!("task {i}: status 0x{s:02x}")),
            (None, Some(_)) => return Err(format!("task {i}: no status")),
        }
    }
    if got.values().filter(|&&s| s == GOOD).count() == itts.len() {
        return Err(
            "every task finished before the CHECK CONDITION: nothing was outstanding".into(),
        );
    }
    Ok(n_aborted)
}

/// One round: both sessions queue chains, A fails an INQUIRY, then each
/// session's outcome is judged.
fn round(ctx: &Ctx, tas: bool) -> Result<String, String> {
    let mut a = Conn::login(ctx.addr, &ctx.target, LoginOpts::default())?;
    let mut b = Conn::login(ctx.addr, &ctx.target, LoginOpts::default())?;
    // The new nexuses' power-on UNIT ATTENTIONs first.
    a.tur()?;
    b.tur()?;
    let bi = queue_chain(&mut b)?;
    let ai = queue_chain(&mut a)?;
    let bad = send_bad_inquiry(&mut a)?;
    let mut all = ai.clone();
    all.push(bad);
    let ga = collect(&mut a, &all, QUIET)?;
    match ga.get(&bad) {
        Some(&CHECK_CONDITION) => {}
        Some(s) => return Err(format!("the bad INQUIRY got status 0x{s:02x}")),
        None => return Err("the bad INQUIRY got no status".into()),
    }
    let na = judge(&ai, &ga, None).map_err(|e| format!("session A: {e}"))?;
    let gb = collect(&mut b, &bi, QUIET)?;
    let nb = judge(&bi, &gb, tas.then_some(TASK_ABORTED)).map_err(|e| format!("session B: {e}"))?;
    // The faulting nexus gets no UNIT ATTENTION; B gets 2F/02 if TAS=0.
    let (r, uas) = a.command(&[0u8; 6], 0, false)?;
    if r.status != GOOD || !uas.is_empty() {
        return Err(format!(
            "session A afterwards: {} after {uas:?}",
            r.describe()
        ));
    }
    let (r, uas) = b.command(&[0u8; 6], 0, false)?;
    let want: Vec<String> = if tas { vec![] } else { vec!["2f/02".into()] };
    if r.status != GOOD || uas != want {
        return Err(format!(
            "session B afterwards: {} after UNIT ATTENTIONs {uas:?}, expected {want:?}",
            r.describe()
        ));
    }
    a.ping()?;
    b.ping()?;
    Ok(format!(
        "A: {na} of {} tasks aborted silently; B: {nb} of {} {}",
        ai.len(),
        bi.len(),
        if tas {
            "TASK ABORTED"
        } else {
            "aborted silently, then 2F/02"
        }
    ))
}

pub(super) fn qerr(ctx: &Ctx, r: &mut Report) {
    for tas in [true, false] {
        let ctl = Control {
            tst: 0,
            qerr: 1,
            tas,
        };
        if r.check("set the Control mode page", set_control(ctx, ctl))
            .is_none()
        {
            return;
        }
        r.check(
            &format!(
                "QErr=1 TAS={}: a CHECK CONDITION aborts every nexus's tasks",
                u8::from(tas)
            ),
            round(ctx, tas),
        );
    }
    r.check(
        "Control mode page back to the defaults",
        set_control(ctx, Control::DEFAULT),
    );
    // With QErr=0 a CHECK CONDITION leaves the other tasks alone.
    r.check("QErr=0: a CHECK CONDITION aborts nothing", quiet_round(ctx));
}

/// QErr=00b: the failing INQUIRY leaves everything queued to finish GOOD.
fn quiet_round(ctx: &Ctx) -> Result<String, String> {
    let mut a = Conn::login(ctx.addr, &ctx.target, LoginOpts::default())?;
    a.tur()?;
    let ai = queue_chain(&mut a)?;
    let bad = send_bad_inquiry(&mut a)?;
    let mut all = ai.clone();
    all.push(bad);
    let got = collect(&mut a, &all, Duration::from_secs(120))?;
    if got.get(&bad) != Some(&CHECK_CONDITION) {
        return Err("the bad INQUIRY did not get CHECK CONDITION".into());
    }
    let good = ai.iter().filter(|i| got.get(i) == Some(&GOOD)).count();
    if good != ai.len() {
        return Err(format!("{good} of {} tasks finished GOOD", ai.len()));
    }
    Ok(format!("{good} tasks GOOD"))
}
