// SPDX-License-Identifier: GPL-2.0

//! `abort-storm`: several sessions keep up to 64 commands outstanding each
//! (one-block writes with immediate data, eight-block reads, each session
//! in its own region of the LU) while every session in turn sends ABORT
//! TASK SET, LOGICAL UNIT RESET or TARGET WARM RESET, or drops its
//! connection and logs in again with the same ISID (session
//! reinstatement). TAS is set first, so a task aborted for another session
//! ends with TASK ABORTED.
//!
//! Checked, per session: no task gets two responses, none gets a response
//! after its own session's TMF response said it was aborted, every task
//! not aborted by its own session is answered (nothing is lost), each TMF
//! answers FUNCTION COMPLETE. Afterwards every block holds the complete
//! payload of a write that may have run last: the last one acknowledged
//! GOOD, or one issued after it that was aborted or failed (its fate is
//! unknown). A block has at most one write outstanding, and a write is
//! only reissued once its predecessor is known to be finished, so this is
//! exact.

use super::{describe, Conn, Ctx, LoginOpts, Report, BLOCK, CHECK_CONDITION, GOOD};
use iscsi_proto::pdu::{Pdu, TaskAttr, TmfFunction, RESERVED_TAG};
use std::collections::{HashMap, HashSet};
use std::net::Shutdown;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Sessions running at once.
const SESSIONS: u32 = 3;
/// Commands each session keeps outstanding (when the window allows).
const DEPTH: usize = 64;
/// Blocks per session region.
const REGION: u32 = 256;
/// First block of the first region (clear of the other scenarios).
const BASE: u32 = 4096;
/// Commands each session sends.
const COMMANDS: u32 = 2400;
/// Commands between two events of one session.
const EVENT_EVERY: u32 = 150;
/// How long a drain may take.
const DRAIN: Duration = Duration::from_secs(60);
/// TASK ABORTED status.
const TASK_ABORTED: u8 = 0x40;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
}

/// The payload of write `seq` of session `sess` to `lba`: a header and a
/// pattern derived from it, so a torn or misplaced block is recognised.
fn payload(sess: u32, lba: u32, seq: u64) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK as usize];
    b[..6].copy_from_slice(b"STORM\0");
    b[6..10].copy_from_slice(&sess.to_be_bytes());
    b[10..14].copy_from_slice(&lba.to_be_bytes());
    b[14..22].copy_from_slice(&seq.to_be_bytes());
    let mut x = seq ^ (u64::from(lba) << 32) ^ u64::from(sess);
    for c in b[22..].chunks_mut(8) {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let v = x.to_be_bytes();
        c.copy_from_slice(&v[..c.len()]);
    }
    b
}

/// The write sequence number a block holds, if its payload is intact.
fn decode(sess: u32, lba: u32, b: &[u8]) -> Result<u64, String> {
    if b.len() != BLOCK as usize || &b[..6] != b"STORM\0" {
        return Err(format!("block {lba}: not a storm payload"));
    }
    let seq = u64::from_be_bytes(b[14..22].try_into().unwrap_or_default());
    if b != payload(sess, lba, seq).as_slice() {
        return Err(format!(
            "block {lba}: torn or misplaced payload (seq {seq})"
        ));
    }
    Ok(seq)
}

enum Kind {
    Write { lba: u32, seq: u64 },
    Read,
}

/// What one session saw.
#[derive(Default)]
struct Stats {
    commands: u32,
    good: u32,
    task_aborted: u32,
    own_aborted: u32,
    other_status: u32,
    tmfs: u32,
    reconnects: u32,
}

struct Session<'a> {
    ctx: &'a Ctx,
    index: u32,
    isid: [u8; 6],
    c: Conn,
    rng: Rng,
    seq: u64,
    /// Outstanding tasks by ITT.
    out: HashMap<u32, Kind>,
    /// Tasks answered, or aborted by this session's own TMF.
    answered: HashSet<u32>,
    aborted: HashSet<u32>,
    /// Per block of the region: the payloads it may hold.
    possible: Vec<Vec<u64>>,
    busy: Vec<bool>,
    stats: Stats,
}

impl<'a> Session<'a> {
    fn first_lba(&self) -> u32 {
        BASE + self.index * REGION
    }

    fn login(ctx: &Ctx, isid: [u8; 6]) -> Result<Conn, String> {
        Conn::login(
            ctx.addr,
            &ctx.target,
            LoginOpts {
                isid: Some(isid),
                ..LoginOpts::default()
            },
        )
    }

    fn write_cdb(lba: u32) -> [u8; 10] {
        let l = lba.to_be_bytes();
        [0x2a, 0, l[0], l[1], l[2], l[3], 0, 0, 1, 0]
    }

    /// Sends a one-block WRITE(10) of `data` at `lba`, all immediate.
    fn send_write(&mut self, lba: u32, data: &[u8]) -> Result<u32, String> {
        self.c.send_cmd(
            &Self::write_cdb(lba),
            BLOCK,
            false,
            true,
            data,
            true,
            None,
            TaskAttr::Simple,
        )
    }

    /// Sends one command of the storm.
    fn send_one(&mut self) -> Result<(), String> {
        let first = self.first_lba();
        if self.rng.below(4) == 0 {
            let lba = first + self.rng.below(REGION - 8);
            let l = lba.to_be_bytes();
            let cdb = [0x28, 0, l[0], l[1], l[2], l[3], 0, 0, 8, 0];
            let itt = self.c.send_cmd(
                &cdb,
                8 * BLOCK,
                true,
                false,
                &[],
                true,
                None,
                TaskAttr::Simple,
            )?;
            self.out.insert(itt, Kind::Read);
        } else {
            // A block without a write in flight.
            let mut i = self.rng.below(REGION) as usize;
            for _ in 0..REGION {
                if !self.busy[i] {
                    break;
                }
                i = (i + 1) % REGION as usize;
            }
            if self.busy[i] {
                return Ok(());
            }
            let lba = first + i as u32;
            self.seq += 1;
            let seq = self.seq;
            let data = payload(self.index, lba, seq);
            let itt = self.send_write(lba, &data)?;
            self.busy[i] = true;
            self.out.insert(itt, Kind::Write { lba, seq });
        }
        self.stats.commands += 1;
        Ok(())
    }

    /// The end of task `itt`: `Some(status)` answered, `None` fate unknown.
    fn settle(&mut self, itt: u32, status: Option<u8>) -> Result<(), String> {
        let Some(kind) = self.out.remove(&itt) else {
            return Err(if self.aborted.contains(&itt) {
                format!("ITT {itt:#x}: a response after its TMF said it was aborted")
            } else if self.answered.contains(&itt) {
                format!("ITT {itt:#x}: a second response")
            } else {
                format!("ITT {itt:#x}: a response for a task never sent")
            });
        };
        match status {
            Some(GOOD) => self.stats.good += 1,
            Some(TASK_ABORTED) => self.stats.task_aborted += 1,
            Some(_) => self.stats.other_status += 1,
            None => self.stats.own_aborted += 1,
        }
        if status.is_some() {
            self.answered.insert(itt);
        }
        if let Kind::Write { lba, seq } = kind {
            let i = (lba - self.first_lba()) as usize;
            self.busy[i] = false;
            if status == Some(GOOD) {
                self.possible[i] = vec![seq];
            } else {
                // Aborted while executing, or refused: it may or may not
                // have been written.
                self.possible[i].push(seq);
            }
        }
        Ok(())
    }

    /// Handles one received PDU; returns the response of TMF `tmf`.
    fn handle(&mut self, tmf: Option<u32>) -> Result<Option<u8>, String> {
        let rx = self
            .c
            .recv(Instant::now() + super::ANSWER)
            .map_err(|e| e.text())?;
        match rx.pdu {
            Pdu::DataIn(d) if d.status_present => self.settle(d.itt, Some(d.status))?,
            Pdu::DataIn(d) => {
                if !self.out.contains_key(&d.itt) {
                    return Err(format!("Data-In for ITT {:#x}, not outstanding", d.itt));
                }
            }
            Pdu::ScsiResponse(r) => self.settle(r.itt, Some(r.status))?,
            Pdu::TaskMgmtResponse(t) if Some(t.itt) == tmf => {
                return Ok(Some(t.response.to_u8()));
            }
            _ => return Err(format!("unexpected {}", describe(&rx))),
        }
        Ok(None)
    }

    /// Sends TMF `f` and waits for its response; the tasks still
    /// outstanding then were aborted (no response may follow).
    fn tmf(&mut self, f: TmfFunction) -> Result<(), String> {
        let itt = self.c.send_tmf(f, RESERVED_TAG)?;
        let deadline = Instant::now() + DRAIN;
        let response = loop {
            if Instant::now() > deadline {
                return Err(format!("{f:?}: no response"));
            }
            if let Some(r) = self.handle(Some(itt))? {
                break r;
            }
        };
        if response != 0 {
            return Err(format!("{f:?}: response {response}, not FUNCTION COMPLETE"));
        }
        let left: Vec<u32> = self.out.keys().copied().collect();
        for t in left {
            self.settle(t, None)?;
            self.aborted.insert(t);
        }
        self.stats.tmfs += 1;
        Ok(())
    }

    /// Drops the connection without a logout and reinstates the session.
    fn reconnect(&mut self) -> Result<(), String> {
        let _ = self.c.s.shutdown(Shutdown::Both);
        let left: Vec<u32> = self.out.keys().copied().collect();
        for t in left {
            self.settle(t, None)?;
        }
        // A new connection numbers its tasks afresh.
        self.answered.clear();
        self.aborted.clear();
        self.c = Self::login(self.ctx, self.isid)?;
        self.stats.reconnects += 1;
        Ok(())
    }

    /// Waits until every outstanding task is answered.
    fn drain(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + DRAIN;
        while !self.out.is_empty() {
            if Instant::now() > deadline {
                return Err(format!("{} tasks never answered (lost)", self.out.len()));
            }
            self.handle(None)?;
        }
        Ok(())
    }

    /// Writes every block once and waits for GOOD (retrying after UNIT
    /// ATTENTIONs and TASK ABORTED from the other sessions' resets).
    fn fill(&mut self) -> Result<(), String> {
        for i in 0..REGION {
            let lba = self.first_lba() + i;
            let mut tries = 0;
            loop {
                self.seq += 1;
                let data = payload(self.index, lba, self.seq);
                let itt = self.send_write(lba, &data)?;
                let r = self.c.wait_status(itt)?;
                if r.status == GOOD {
                    self.possible[i as usize] = vec![self.seq];
                    break;
                }
                tries += 1;
                if tries > 8 || !(r.status == CHECK_CONDITION || r.status == TASK_ABORTED) {
                    return Err(format!("fill of block {lba}: {}", r.describe()));
                }
            }
        }
        Ok(())
    }

    /// Reads the region back and checks every block.
    fn verify(&mut self) -> Result<u32, String> {
        let mut unknown_won = 0;
        for i in 0..REGION {
            let lba = self.first_lba() + i;
            let data = self.c.read10(lba)?;
            let seq = decode(self.index, lba, &data)?;
            let p = &self.possible[i as usize];
            if !p.contains(&seq) {
                return Err(format!(
                    "block {lba} holds write {seq}, expected one of {p:?}"
                ));
            }
            if p.first() != Some(&seq) {
                unknown_won += 1;
            }
        }
        Ok(unknown_won)
    }

    fn storm(&mut self) -> Result<(), String> {
        let mut sent = 0;
        let mut event = self.index;
        while sent < COMMANDS {
            while self.out.len() < DEPTH && self.c.window() > 0 && sent < COMMANDS {
                self.send_one()?;
                sent += 1;
                if sent % EVENT_EVERY == 0 {
                    event += 1;
                    match event % 5 {
                        0 => self.tmf(TmfFunction::AbortTaskSet)?,
                        1 => self.tmf(TmfFunction::LogicalUnitReset)?,
                        2 => self.tmf(TmfFunction::TargetWarmReset)?,
                        3 => self.reconnect()?,
                        _ => {}
                    }
                }
            }
            if !self.out.is_empty() {
                self.handle(None)?;
            }
        }
        self.drain()
    }
}

/// Runs one session: fill, storm, drain, verify; returns its summary.
fn run_session(ctx: &Ctx, index: u32, done: &Barrier) -> Result<String, String> {
    let isid = super::new_isid();
    let c = Session::login(ctx, isid)?;
    let mut s = Session {
        ctx,
        index,
        isid,
        c,
        rng: Rng(0x9e37_79b9_7f4a_7c15 ^ (u64::from(index) << 17) ^ u64::from(std::process::id())),
        seq: 0,
        out: HashMap::new(),
        answered: HashSet::new(),
        aborted: HashSet::new(),
        possible: vec![vec![]; REGION as usize],
        busy: vec![false; REGION as usize],
        stats: Stats::default(),
    };
    let _ = s.c.tur();
    // Every session waits for the others at the barrier, also on failure,
    // so no thread is left waiting.
    let stormed = s.fill().and_then(|()| s.storm());
    done.wait();
    stormed?;
    // The others' resets are over: no TASK ABORTED now, only their UAs.
    let won = s.verify()?;
    let st = &s.stats;
    Ok(format!(
        "{} commands: {} GOOD, {} TASK ABORTED, {} other status, {} aborted by own TMF or drop; {} TMFs, {} reconnects; {} blocks hold a write of unknown fate",
        st.commands,
        st.good,
        st.task_aborted,
        st.other_status,
        st.own_aborted,
        st.tmfs,
        st.reconnects,
        won
    ))
}

/// Sets or clears TAS in the Control mode page; set, aborts for another
/// session are reported with TASK ABORTED.
fn set_tas(ctx: &Ctx, on: bool) -> Result<String, String> {
    super::qerr::set_control(
        ctx,
        super::qerr::Control {
            tas: on,
            ..super::qerr::Control::DEFAULT
        },
    )
}

pub(super) fn abort_storm(ctx: &Ctx, r: &mut Report) {
    if r.check("set TAS in the Control mode page", set_tas(ctx, true))
        .is_none()
    {
        return;
    }
    let done = Barrier::new(SESSIONS as usize);
    let results: Vec<Result<String, String>> = std::thread::scope(|sc| {
        let done = &done;
        let hs: Vec<_> = (0..SESSIONS)
            .map(|i| sc.spawn(move || run_session(ctx, i, done)))
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("session thread panicked".into()))
            })
            .collect()
    });
    for (i, res) in results.into_iter().enumerate() {
        r.check(
            &format!("session {i}: QD{DEPTH} under TMFs and drops, nothing lost or doubled, data verifies"),
            res,
        );
    }
    // Back to the default for the scenarios after this one.
    r.check("clear TAS again", set_tas(ctx, false));
    let mut c = match Conn::login(ctx.addr, &ctx.target, LoginOpts::default()) {
        Ok(c) => c,
        Err(e) => return r.fail("log in after the storm", &e),
    };
    r.check("TEST UNIT READY after the storm", c.tur());
    r.check("a NOP-Out is answered after the storm", c.ping());
}
