// SPDX-License-Identifier: GPL-2.0

//! `iscsi-hostile`: a deliberately misbehaving iSCSI initiator.
//!
//! ```text
//! iscsi-hostile <ip:port> <target-iqn> <scenario> [N]
//! ```
//!
//! Each scenario opens its own connection(s), does something an initiator
//! must not do (or a stress pattern), and then proves the target's state: the
//! connection was closed by the target within a bounded time, or it still
//! answers a NOP-Out ping, whichever RFC 7143 (and `Documentation/iscsi.md`)
//! prescribes. One line per check is printed (`ok: ...` or `FAIL: ...`); the
//! exit status is 0 only when every check passed.
//!
//! The minimal initiator (login, NOP-Out, SCSI commands, Data-Out, task
//! management, logout) uses the `iscsi_proto` codec that the target itself is
//! built on, so every response PDU, including its digests, is parsed.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use iscsi_proto::digest;
use iscsi_proto::pdu::{
    self, DataOut, LoginRequest, LogoutReason, LogoutRequest, NopOut, Pdu, ScsiCommand,
    SnackRequest, SnackType, Stage, TaskAttr, TaskMgmtRequest, TmfFunction, BHS_LEN, RESERVED_TAG,
};
use iscsi_proto::text::{TextIter, TextWriter};

mod qerr;
mod storm;

/// The initiator name every login uses.
const INITIATOR: &str = "iqn.2026-11.org.scst-rs:hostile";
/// What we declare as our MaxRecvDataSegmentLength.
const OUR_MRDSL: u32 = 262_144;
/// Block size of the LUN the VM case exports.
const BLOCK: u32 = 512;
/// SCSI status codes.
const GOOD: u8 = 0x00;
const CHECK_CONDITION: u8 = 0x02;
/// How long a well-behaved answer may take (TCG guests are slow).
const ANSWER: Duration = Duration::from_secs(10);
/// How long the target may take to close a connection after a fatal error.
const CLOSE: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

/// Collects check results and prints one line per check.
struct Report {
    scenario: &'static str,
    passed: u32,
    failed: u32,
}

impl Report {
    fn ok(&mut self, what: &str, detail: &str) {
        if detail.is_empty() {
            println!("ok: {}: {what}", self.scenario);
        } else {
            println!("ok: {}: {what} -- {detail}", self.scenario);
        }
        self.passed += 1;
    }

    fn fail(&mut self, what: &str, why: &str) {
        println!("FAIL: {}: {what} -- {why}", self.scenario);
        self.failed += 1;
    }

    fn check<T: Detail>(&mut self, what: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => {
                self.ok(what, &v.detail());
                Some(v)
            }
            Err(e) => {
                self.fail(what, &e);
                None
            }
        }
    }
}

/// What a successful check prints after its name.
trait Detail {
    fn detail(&self) -> String {
        String::new()
    }
}

impl Detail for String {
    fn detail(&self) -> String {
        self.clone()
    }
}

impl Detail for () {}
impl Detail for u8 {}
impl Detail for Vec<u8> {}
impl Detail for TcpStream {}
impl Detail for Conn {}
impl Detail for (u32, u32, u32) {}

// ---------------------------------------------------------------------------
// A connection
// ---------------------------------------------------------------------------

/// Why a receive ended without a PDU.
#[derive(Debug)]
enum RecvErr {
    /// The target closed the connection (EOF, reset).
    Closed(String),
    /// Nothing (complete) arrived before the deadline.
    Timeout,
    /// The target sent something malformed.
    Proto(String),
}

impl RecvErr {
    fn text(&self) -> String {
        match self {
            Self::Closed(w) => format!("connection closed ({w})"),
            Self::Timeout => "no answer".into(),
            Self::Proto(w) => format!("bad PDU from the target: {w}"),
        }
    }
}

/// One received PDU.
struct Rx {
    bhs: [u8; BHS_LEN],
    pdu: Pdu,
    data: Vec<u8>,
}

/// Result of a SCSI command.
struct CmdResult {
    status: u8,
    sense: Vec<u8>,
    data: Vec<u8>,
}

impl CmdResult {
    /// (sense key, ASC, ASCQ) of fixed or descriptor sense data.
    fn key_asc(&self) -> (u8, u8, u8) {
        let s = &self.sense;
        let g = |i: usize| s.get(i).copied().unwrap_or(0);
        match g(0) & 0x7f {
            0x72 | 0x73 => (g(1) & 0x0f, g(2), g(3)),
            _ => (g(2) & 0x0f, g(12), g(13)),
        }
    }

    fn describe(&self) -> String {
        if self.status == GOOD {
            return "GOOD".into();
        }
        let (k, a, q) = self.key_asc();
        format!(
            "status 0x{:02x} sense key 0x{k:x} {a:02x}/{q:02x}",
            self.status
        )
    }
}

/// Login options.
#[derive(Clone, Copy, Default)]
struct LoginOpts {
    /// Ask for CRC32C header and data digests.
    digests: bool,
    /// Log in with this ISID (reinstating its session) instead of a new one.
    isid: Option<[u8; 6]>,
}

/// Every connection of this process gets its own ISID, so that no login
/// reinstates the session of another scenario.
static ISID_QUALIFIER: AtomicU16 = AtomicU16::new(1);

/// A new ISID (random-qualifier format, unique in this process).
fn new_isid() -> [u8; 6] {
    let q = ISID_QUALIFIER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id().to_be_bytes();
    [0x80, pid[1], pid[2], pid[3], (q >> 8) as u8, q as u8]
}

struct Conn {
    s: TcpStream,
    hd: bool,
    dd: bool,
    next_itt: u32,
    cmd_sn: u32,
    exp_stat_sn: u32,
    exp_cmd_sn: u32,
    max_cmd_sn: u32,
    /// The target's declared MaxRecvDataSegmentLength.
    target_mrdsl: u32,
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    // Best effort: only affects latency.
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Waits until the target closes `s`, discarding whatever it sends. Returns
/// a description of what arrived before the close.
fn wait_eof(s: &mut TcpStream, limit: Duration) -> Result<String, String> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut got = 0usize;
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(format!(
                "still open after {:.1} s ({got} bytes received)",
                limit.as_secs_f64()
            ));
        }
        s.set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => {
                return Ok(format!(
                    "closed after {:.1} s, {got} bytes before",
                    start.elapsed().as_secs_f64()
                ))
            }
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Ok(format!(
                    "reset after {:.1} s ({e}), {got} bytes before",
                    start.elapsed().as_secs_f64()
                ))
            }
        }
    }
}

impl Conn {
    fn new(s: TcpStream, cmd_sn: u32) -> Self {
        Conn {
            s,
            hd: false,
            dd: false,
            next_itt: 0x100,
            cmd_sn,
            exp_stat_sn: 0,
            exp_cmd_sn: cmd_sn,
            max_cmd_sn: cmd_sn,
            target_mrdsl: 8192,
        }
    }

    fn itt(&mut self) -> u32 {
        self.next_itt = self.next_itt.wrapping_add(1);
        self.next_itt
    }

    // ------------------------------------------------------------- sending

    /// Sends `bhs` (DataSegmentLength already set) and `data`, with the
    /// negotiated digests and padding. `bad_hd` corrupts the header digest,
    /// `bad_dd` the data digest.
    fn send_with(
        &mut self,
        bhs: &[u8; BHS_LEN],
        data: &[u8],
        bad_hd: bool,
        bad_dd: bool,
    ) -> Result<(), String> {
        let mut out = Vec::with_capacity(BHS_LEN + 8 + data.len() + 8);
        out.extend_from_slice(bhs);
        if self.hd {
            let mut c = digest::header_digest(bhs, &[]);
            if bad_hd {
                c ^= 0x1;
            }
            out.extend_from_slice(&digest::to_wire(c));
        }
        out.extend_from_slice(data);
        out.resize(out.len() + pdu::pad_len(data.len()), 0);
        if self.dd && !data.is_empty() {
            let mut c = digest::data_digest(data);
            if bad_dd {
                c ^= 0x8000_0000;
            }
            out.extend_from_slice(&digest::to_wire(c));
        }
        self.s
            .write_all(&out)
            .map_err(|e| format!("send failed: {e}"))
    }

    fn send(&mut self, bhs: &[u8; BHS_LEN], data: &[u8]) -> Result<(), String> {
        self.send_with(bhs, data, false, false)
    }

    // ----------------------------------------------------------- receiving

    /// Fills `buf` before `deadline`.
    fn read_full(&mut self, buf: &mut [u8], deadline: Instant) -> Result<(), RecvErr> {
        let mut got = 0;
        while got < buf.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(RecvErr::Timeout);
            }
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .map_err(|e| RecvErr::Closed(e.to_string()))?;
            match self.s.read(&mut buf[got..]) {
                Ok(0) => return Err(RecvErr::Closed("EOF".into())),
                Ok(n) => got += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(RecvErr::Closed(e.to_string())),
            }
        }
        Ok(())
    }

    /// Reads one PDU (checking digests), updates the sequence numbers, and
    /// answers target pings by itself.
    fn recv(&mut self, deadline: Instant) -> Result<Rx, RecvErr> {
        loop {
            let rx = self.recv_one(deadline)?;
            if let Pdu::NopIn(n) = rx.pdu {
                if n.itt == RESERVED_TAG {
                    // A target ping: echo its TTT (immediate, no CmdSN use).
                    let mut b = [0u8; BHS_LEN];
                    NopOut {
                        immediate: true,
                        total_ahs_len: 0,
                        data_segment_len: 0,
                        lun: 0,
                        itt: RESERVED_TAG,
                        ttt: n.ttt,
                        cmd_sn: self.cmd_sn,
                        exp_stat_sn: self.exp_stat_sn,
                    }
                    .encode(&mut b);
                    self.send(&b, &[]).map_err(RecvErr::Closed)?;
                    continue;
                }
            }
            if let Pdu::AsyncMessage(_) = rx.pdu {
                continue;
            }
            return Ok(rx);
        }
    }

    fn recv_one(&mut self, deadline: Instant) -> Result<Rx, RecvErr> {
        let mut bhs = [0u8; BHS_LEN];
        self.read_full(&mut bhs, deadline)?;
        let ahs_len = pdu::total_ahs_len_bytes(&bhs);
        let mut ahs = vec![0u8; ahs_len];
        self.read_full(&mut ahs, deadline)?;
        if self.hd {
            let mut d = [0u8; 4];
            self.read_full(&mut d, deadline)?;
            if !digest::verify(digest::header_digest(&bhs, &ahs), &d) {
                return Err(RecvErr::Proto("header digest mismatch".into()));
            }
        }
        let len = pdu::data_segment_len(&bhs) as usize;
        if len > OUR_MRDSL as usize {
            return Err(RecvErr::Proto(format!(
                "data segment of {len} bytes above our MaxRecvDataSegmentLength"
            )));
        }
        let mut data = vec![0u8; len + pdu::pad_len(len)];
        self.read_full(&mut data, deadline)?;
        if self.dd && len > 0 {
            let mut d = [0u8; 4];
            self.read_full(&mut d, deadline)?;
            if !digest::verify(digest::data_digest(&data[..len]), &d) {
                return Err(RecvErr::Proto("data digest mismatch".into()));
            }
        }
        data.truncate(len);
        let p = Pdu::decode(&bhs).map_err(|e| RecvErr::Proto(format!("{e:?}")))?;
        self.track(&p);
        Ok(Rx { bhs, pdu: p, data })
    }

    /// Follows StatSN, ExpCmdSN and MaxCmdSN of a received PDU.
    fn track(&mut self, p: &Pdu) {
        let (stat, exp, max) = match p {
            Pdu::NopIn(n) if n.itt != RESERVED_TAG => (Some(n.stat_sn), n.exp_cmd_sn, n.max_cmd_sn),
            Pdu::NopIn(n) => (None, n.exp_cmd_sn, n.max_cmd_sn),
            Pdu::ScsiResponse(r) => (Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::TaskMgmtResponse(r) => (Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::LoginResponse(r) => (Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::TextResponse(r) => (Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::LogoutResponse(r) => (Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::Reject(r) => (Some(r.stat_sn), r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::DataIn(d) => (
                d.status_present.then_some(d.stat_sn),
                d.exp_cmd_sn,
                d.max_cmd_sn,
            ),
            Pdu::R2t(r) => (None, r.exp_cmd_sn, r.max_cmd_sn),
            Pdu::AsyncMessage(a) => (None, a.exp_cmd_sn, a.max_cmd_sn),
            _ => return,
        };
        if let Some(s) = stat {
            self.exp_stat_sn = s.wrapping_add(1);
        }
        // RFC 7143 4.2.2.1: MaxCmdSN < ExpCmdSN - 1 (serial) is ignored.
        if max.wrapping_sub(exp).wrapping_add(1) as i32 >= 0 {
            self.exp_cmd_sn = exp;
            self.max_cmd_sn = max;
        }
    }

    /// Open slots of the CmdSN window for our next command.
    fn window(&self) -> i64 {
        i64::from(self.max_cmd_sn.wrapping_sub(self.cmd_sn) as i32) + 1
    }

    /// Waits until the target closes the connection; `Ok` describes what
    /// arrived before, `Err` says it stayed open.
    fn expect_closed(&mut self, limit: Duration) -> Result<String, String> {
        let deadline = Instant::now() + limit;
        let mut seen = String::new();
        loop {
            match self.recv(deadline) {
                Ok(rx) => {
                    let _ = write!(seen, "{}; ", describe(&rx));
                }
                Err(RecvErr::Closed(w)) => {
                    return Ok(format!("closed ({w}); before: {}", none_if_empty(&seen)))
                }
                Err(RecvErr::Timeout) => {
                    return Err(format!(
                        "still open after {} s; received: {}",
                        limit.as_secs(),
                        none_if_empty(&seen)
                    ))
                }
                Err(RecvErr::Proto(w)) => {
                    // Framing is lost; look for the close anyway.
                    let _ = write!(seen, "garbage ({w}); ");
                    return wait_eof(
                        &mut self.s,
                        deadline.saturating_duration_since(Instant::now()),
                    )
                    .map(|c| format!("{c}; before: {seen}"))
                    .map_err(|e| format!("{e}; before: {seen}"));
                }
            }
        }
    }

    /// Waits for a Reject of the PDU `sent`; returns its reason.
    fn expect_reject(&mut self, sent: &[u8; BHS_LEN]) -> Result<u8, String> {
        let rx = self.recv(Instant::now() + ANSWER).map_err(|e| e.text())?;
        let Pdu::Reject(r) = rx.pdu else {
            return Err(format!("expected a Reject, got {}", describe(&rx)));
        };
        let bhs = pdu::parse_reject_data(&rx.data)
            .map_err(|_| "Reject without the rejected BHS".to_string())?;
        if bhs != sent {
            return Err(format!(
                "Reject (0x{:02x}) carries another BHS (opcode 0x{:02x})",
                r.reason.to_u8(),
                pdu::opcode_raw(bhs)
            ));
        }
        Ok(r.reason.to_u8())
    }

    /// Expects `expected` reject reason.
    fn expect_reject_reason(
        &mut self,
        sent: &[u8; BHS_LEN],
        expected: u8,
    ) -> Result<String, String> {
        let r = self.expect_reject(sent)?;
        if r == expected {
            Ok(format!("Reject 0x{r:02x}"))
        } else {
            Err(format!(
                "Reject reason 0x{r:02x}, expected 0x{expected:02x}"
            ))
        }
    }

    // ---------------------------------------------------------------- login

    /// Logs in to `target` (Normal session) and reaches the full feature
    /// phase.
    fn login(addr: SocketAddr, target: &str, opts: LoginOpts) -> Result<Self, String> {
        let s = connect(addr)?;
        let cmd_sn = 0x1000_0000u32.wrapping_add(u32::from(std::process::id() as u16) << 8);
        let mut c = Conn::new(s, cmd_sn);
        c.login_on(target, opts)?;
        Ok(c)
    }

    fn login_on(&mut self, target: &str, opts: LoginOpts) -> Result<(), String> {
        let isid = opts.isid.unwrap_or_else(new_isid);
        let itt = 0x4c4f_4749; // "LOGI"
        let dg = if opts.digests { "CRC32C" } else { "None" };
        let mut buf = vec![0u8; 8192];

        // Security stage.
        let mut w = TextWriter::new(&mut buf);
        for (k, v) in [
            ("InitiatorName", INITIATOR),
            ("TargetName", target),
            ("SessionType", "Normal"),
            ("AuthMethod", "None"),
        ] {
            w.push(k.as_bytes(), v.as_bytes())
                .map_err(|_| "login text too long")?;
        }
        let mut text = w.as_bytes().to_vec();
        let mut csg = Stage::SecurityNegotiation;
        let mut nsg = Stage::LoginOperationalNegotiation;
        let mut sent_keys: Vec<String> = vec![];
        for _round in 0..10 {
            let req = LoginRequest {
                transit: true,
                cont: false,
                csg,
                nsg,
                version_max: 0,
                version_min: 0,
                total_ahs_len: 0,
                data_segment_len: text.len() as u32,
                isid,
                tsih: 0,
                itt,
                cid: 0,
                cmd_sn: self.cmd_sn,
                exp_stat_sn: self.exp_stat_sn,
            };
            let mut b = [0u8; BHS_LEN];
            req.encode(&mut b);
            self.send(&b, &text)?;
            for (k, _) in TextIter::new(&text).map_while(Result::ok) {
                sent_keys.push(String::from_utf8_lossy(k).into_owned());
            }
            let rx = self
                .recv(Instant::now() + ANSWER)
                .map_err(|e| format!("login: {}", e.text()))?;
            let Pdu::LoginResponse(r) = rx.pdu else {
                return Err(format!(
                    "login: expected a Login Response, got {}",
                    describe(&rx)
                ));
            };
            if r.status_class != 0 {
                return Err(format!(
                    "login refused: status 0x{:02x}{:02x}",
                    r.status_class, r.status_detail
                ));
            }
            if r.itt != itt {
                return Err(format!("login: response ITT 0x{:08x}", r.itt));
            }
            let mut answer: Vec<(String, String)> = vec![];
            for kv in TextIter::new(&rx.data) {
                let (k, v) = kv.map_err(|e| format!("login: bad response text: {e}"))?;
                let (k, v) = (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                );
                match k.as_str() {
                    "MaxRecvDataSegmentLength" => {
                        self.target_mrdsl = v
                            .parse()
                            .map_err(|_| format!("login: MaxRecvDataSegmentLength={v}"))?;
                    }
                    "HeaderDigest" => self.hd = v == "CRC32C",
                    "DataDigest" => self.dd = v == "CRC32C",
                    "TargetPortalGroupTag" | "TargetAlias" | "TargetAddress" => {}
                    _ if sent_keys.contains(&k) => {}
                    // A target offer: accept it as is.
                    _ => answer.push((k, v)),
                }
            }
            if r.transit && r.nsg == Stage::FullFeaturePhase {
                if opts.digests && !(self.hd && self.dd) {
                    return Err("login: the target did not accept CRC32C digests".into());
                }
                return Ok(());
            }
            // Next request.
            csg = if r.transit { r.nsg } else { r.csg };
            nsg = if csg == Stage::SecurityNegotiation {
                Stage::LoginOperationalNegotiation
            } else {
                Stage::FullFeaturePhase
            };
            let mut w = TextWriter::new(&mut buf);
            if csg == Stage::LoginOperationalNegotiation
                && !sent_keys.iter().any(|k| k == "MaxBurstLength")
            {
                let ours: [(&str, String); 13] = [
                    ("HeaderDigest", dg.into()),
                    ("DataDigest", dg.into()),
                    ("MaxRecvDataSegmentLength", OUR_MRDSL.to_string()),
                    ("InitialR2T", "No".into()),
                    ("ImmediateData", "Yes".into()),
                    ("MaxBurstLength", "1048576".into()),
                    ("FirstBurstLength", "262144".into()),
                    ("MaxOutstandingR2T", "1".into()),
                    ("DefaultTime2Wait", "2".into()),
                    ("DefaultTime2Retain", "0".into()),
                    ("DataPDUInOrder", "Yes".into()),
                    ("DataSequenceInOrder", "Yes".into()),
                    ("ErrorRecoveryLevel", "0".into()),
                ];
                for (k, v) in &ours {
                    w.push(k.as_bytes(), v.as_bytes())
                        .map_err(|_| "login text too long")?;
                }
            }
            for (k, v) in &answer {
                w.push(k.as_bytes(), v.as_bytes())
                    .map_err(|_| "login text too long")?;
            }
            text = w.as_bytes().to_vec();
        }
        Err("login: no full feature phase after 10 rounds".into())
    }

    // ------------------------------------------------------- full feature

    /// A NOP-Out ping (non-immediate, with data) must come back as a NOP-In
    /// with the same ITT and data.
    fn ping(&mut self) -> Result<String, String> {
        if self.window() <= 0 {
            return Err(format!(
                "CmdSN window closed: CmdSN {} ExpCmdSN {} MaxCmdSN {}",
                self.cmd_sn, self.exp_cmd_sn, self.max_cmd_sn
            ));
        }
        let itt = self.itt();
        let payload = b"hostile-ping";
        let mut b = [0u8; BHS_LEN];
        NopOut {
            immediate: false,
            total_ahs_len: 0,
            data_segment_len: payload.len() as u32,
            lun: 0,
            itt,
            ttt: RESERVED_TAG,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
        }
        .encode(&mut b);
        self.cmd_sn = self.cmd_sn.wrapping_add(1);
        self.send(&b, payload)?;
        let rx = self
            .recv(Instant::now() + ANSWER)
            .map_err(|e| format!("NOP-Out ping: {}", e.text()))?;
        match rx.pdu {
            Pdu::NopIn(n) if n.itt == itt && rx.data == payload => Ok("NOP-In".into()),
            Pdu::NopIn(n) if n.itt == itt => Err("NOP-In with other data".into()),
            _ => Err(format!("NOP-Out ping answered by {}", describe(&rx))),
        }
    }

    /// Sends a SCSI command with task attribute `attr`; returns its ITT.
    #[expect(clippy::too_many_arguments)]
    fn send_cmd(
        &mut self,
        cdb: &[u8],
        edtl: u32,
        read: bool,
        write: bool,
        imm: &[u8],
        final_bit: bool,
        cmd_sn: Option<u32>,
        attr: TaskAttr,
    ) -> Result<u32, String> {
        let itt = self.itt();
        let mut c = [0u8; 16];
        c[..cdb.len()].copy_from_slice(cdb);
        let sn = match cmd_sn {
            Some(sn) => sn,
            None => {
                if self.window() <= 0 {
                    return Err(format!(
                        "CmdSN window closed: CmdSN {} ExpCmdSN {} MaxCmdSN {}",
                        self.cmd_sn, self.exp_cmd_sn, self.max_cmd_sn
                    ));
                }
                let sn = self.cmd_sn;
                self.cmd_sn = sn.wrapping_add(1);
                sn
            }
        };
        let mut b = [0u8; BHS_LEN];
        ScsiCommand {
            immediate: false,
            final_bit,
            read,
            write,
            attr,
            total_ahs_len: 0,
            data_segment_len: imm.len() as u32,
            lun: 0,
            itt,
            expected_data_len: edtl,
            cmd_sn: sn,
            exp_stat_sn: self.exp_stat_sn,
            cdb: c,
        }
        .encode(&mut b);
        self.send(&b, imm)?;
        Ok(itt)
    }

    /// Waits for the status of command `itt`.
    fn wait_status(&mut self, itt: u32) -> Result<CmdResult, String> {
        let deadline = Instant::now() + ANSWER;
        let mut data = vec![];
        loop {
            let rx = self.recv(deadline).map_err(|e| e.text())?;
            match rx.pdu {
                Pdu::DataIn(d) if d.itt == itt => {
                    let off = d.buffer_offset as usize;
                    if data.len() < off + rx.data.len() {
                        data.resize(off + rx.data.len(), 0);
                    }
                    data[off..off + rx.data.len()].copy_from_slice(&rx.data);
                    if d.status_present {
                        return Ok(CmdResult {
                            status: d.status,
                            sense: vec![],
                            data,
                        });
                    }
                }
                Pdu::ScsiResponse(r) if r.itt == itt => {
                    let seg = pdu::parse_sense_segment(&rx.data)
                        .map_err(|e| format!("SCSI Response with bad sense segment: {e:?}"))?;
                    if r.response != 0 {
                        return Err(format!("SCSI Response with response 0x{:02x}", r.response));
                    }
                    return Ok(CmdResult {
                        status: r.status,
                        sense: seg.sense.to_vec(),
                        data,
                    });
                }
                _ => return Err(format!("waiting for a status, got {}", describe(&rx))),
            }
        }
    }

    /// Waits for the statuses of the commands `itts`, in whatever order
    /// they come; returns them in the order of `itts`.
    fn wait_statuses(&mut self, itts: &[u32]) -> Result<Vec<CmdResult>, String> {
        let deadline = Instant::now() + ANSWER;
        let mut data: Vec<Vec<u8>> = vec![vec![]; itts.len()];
        let mut done: Vec<Option<CmdResult>> = itts.iter().map(|_| None).collect();
        while done.iter().any(Option::is_none) {
            let rx = self.recv(deadline).map_err(|e| e.text())?;
            let slot = |itt: u32| itts.iter().position(|&i| i == itt);
            match rx.pdu {
                Pdu::DataIn(d) if slot(d.itt).is_some() => {
                    let k = slot(d.itt).unwrap_or(0);
                    let off = d.buffer_offset as usize;
                    let buf = &mut data[k];
                    if buf.len() < off + rx.data.len() {
                        buf.resize(off + rx.data.len(), 0);
                    }
                    buf[off..off + rx.data.len()].copy_from_slice(&rx.data);
                    if d.status_present {
                        done[k] = Some(CmdResult {
                            status: d.status,
                            sense: vec![],
                            data: std::mem::take(buf),
                        });
                    }
                }
                Pdu::ScsiResponse(r) if slot(r.itt).is_some() => {
                    let k = slot(r.itt).unwrap_or(0);
                    let seg = pdu::parse_sense_segment(&rx.data)
                        .map_err(|e| format!("SCSI Response with bad sense segment: {e:?}"))?;
                    done[k] = Some(CmdResult {
                        status: r.status,
                        sense: seg.sense.to_vec(),
                        data: std::mem::take(&mut data[k]),
                    });
                }
                _ => return Err(format!("waiting for statuses, got {}", describe(&rx))),
            }
        }
        Ok(done.into_iter().flatten().collect())
    }

    /// Runs a command to completion, retrying after UNIT ATTENTIONs (a new
    /// session gets 29/00, a LUN reset 29/03); returns the final result and
    /// the UNIT ATTENTIONs seen.
    fn command(
        &mut self,
        cdb: &[u8],
        edtl: u32,
        read: bool,
    ) -> Result<(CmdResult, Vec<String>), String> {
        let mut uas = vec![];
        for _ in 0..4 {
            let itt = self.send_cmd(cdb, edtl, read, false, &[], true, None, TaskAttr::Simple)?;
            let r = self.wait_status(itt)?;
            if r.status == CHECK_CONDITION && r.key_asc().0 == 0x6 {
                let (_, a, q) = r.key_asc();
                uas.push(format!("{a:02x}/{q:02x}"));
                continue;
            }
            return Ok((r, uas));
        }
        Err(format!("UNIT ATTENTION after UNIT ATTENTION: {uas:?}"))
    }

    /// TEST UNIT READY must end GOOD (after at most a few UNIT ATTENTIONs).
    fn tur(&mut self) -> Result<String, String> {
        let (r, uas) = self.command(&[0u8; 6], 0, false)?;
        if r.status == GOOD {
            Ok(if uas.is_empty() {
                "GOOD".into()
            } else {
                format!("GOOD after UNIT ATTENTION {}", uas.join(", "))
            })
        } else {
            Err(r.describe())
        }
    }

    /// READ(10) of one block.
    fn read10(&mut self, lba: u32) -> Result<Vec<u8>, String> {
        let l = lba.to_be_bytes();
        let cdb = [0x28, 0, l[0], l[1], l[2], l[3], 0, 0, 1, 0];
        let (r, _) = self.command(&cdb, BLOCK, true)?;
        if r.status != GOOD {
            return Err(r.describe());
        }
        if r.data.len() != BLOCK as usize {
            return Err(format!("READ(10) returned {} bytes", r.data.len()));
        }
        Ok(r.data)
    }

    /// Sends an immediate TMF request `f` for LUN 0 referencing task
    /// `rtt`; returns its ITT (the response is the caller's to read).
    fn send_tmf(&mut self, f: TmfFunction, rtt: u32) -> Result<u32, String> {
        let itt = self.itt();
        let mut b = [0u8; BHS_LEN];
        TaskMgmtRequest {
            immediate: true,
            function: f,
            total_ahs_len: 0,
            data_segment_len: 0,
            lun: 0,
            itt,
            referenced_task_tag: rtt,
            cmd_sn: self.cmd_sn,
            exp_stat_sn: self.exp_stat_sn,
            ref_cmd_sn: self.cmd_sn,
            exp_data_sn: 0,
        }
        .encode(&mut b);
        self.send(&b, &[])?;
        Ok(itt)
    }

    fn tmf(&mut self, f: TmfFunction, rtt: u32) -> Result<u8, String> {
        let itt = self.send_tmf(f, rtt)?;
        let rx = self.recv(Instant::now() + ANSWER).map_err(|e| e.text())?;
        match rx.pdu {
            Pdu::TaskMgmtResponse(r) if r.itt == itt => Ok(r.response.to_u8()),
            _ => Err(format!("expected a TMF Response, got {}", describe(&rx))),
        }
    }

    fn data_out(
        &mut self,
        itt: u32,
        ttt: u32,
        data_sn: u32,
        offset: u32,
        data: &[u8],
    ) -> Result<[u8; BHS_LEN], String> {
        let mut b = [0u8; BHS_LEN];
        DataOut {
            final_bit: true,
            total_ahs_len: 0,
            data_segment_len: data.len() as u32,
            lun: 0,
            itt,
            ttt,
            exp_stat_sn: self.exp_stat_sn,
            data_sn,
            buffer_offset: offset,
        }
        .encode(&mut b);
        self.send(&b, data)?;
        Ok(b)
    }

    /// WRITE(10) of `nblocks` at `lba` without unsolicited data: waits for
    /// the R2T; returns (ITT, TTT, desired length).
    fn write_wait_r2t(&mut self, lba: u32, nblocks: u16) -> Result<(u32, u32, u32), String> {
        let l = lba.to_be_bytes();
        let n = nblocks.to_be_bytes();
        let cdb = [0x2a, 0, l[0], l[1], l[2], l[3], 0, n[0], n[1], 0];
        let edtl = u32::from(nblocks) * BLOCK;
        let itt = self.send_cmd(&cdb, edtl, false, true, &[], true, None, TaskAttr::Simple)?;
        let rx = self
            .recv(Instant::now() + ANSWER)
            .map_err(|e| format!("waiting for R2T: {}", e.text()))?;
        match rx.pdu {
            Pdu::R2t(r) if r.itt == itt && r.buffer_offset == 0 => {
                Ok((itt, r.ttt, r.desired_data_len))
            }
            _ => Err(format!("expected an R2T, got {}", describe(&rx))),
        }
    }
}

fn none_if_empty(s: &str) -> &str {
    if s.is_empty() {
        "nothing"
    } else {
        s
    }
}

/// One-line description of a received PDU.
fn describe(rx: &Rx) -> String {
    match &rx.pdu {
        Pdu::Reject(r) => format!("Reject 0x{:02x}", r.reason.to_u8()),
        Pdu::ScsiResponse(r) => format!("SCSI Response status 0x{:02x}", r.status),
        Pdu::NopIn(n) => format!("NOP-In ITT 0x{:08x}", n.itt),
        Pdu::LoginResponse(r) => format!(
            "Login Response status 0x{:02x}{:02x}",
            r.status_class, r.status_detail
        ),
        Pdu::LogoutResponse(r) => format!("Logout Response {}", r.response.to_u8()),
        Pdu::TaskMgmtResponse(r) => format!("TMF Response {}", r.response.to_u8()),
        Pdu::R2t(r) => format!("R2T ITT 0x{:08x}", r.itt),
        Pdu::DataIn(d) => format!("Data-In ITT 0x{:08x}", d.itt),
        _ => format!("PDU opcode 0x{:02x}", pdu::opcode_raw(&rx.bhs)),
    }
}

/// The target either closed the connection or still answers a ping.
fn closed_or_alive(c: &mut Conn) -> Result<String, String> {
    match c.ping() {
        Ok(_) => Ok("connection continues (NOP answered)".into()),
        Err(e) => {
            if e.contains("closed") {
                Ok(format!("connection closed ({e})"))
            } else {
                c.expect_closed(CLOSE).map_err(|x| format!("{e}; {x}"))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

struct Ctx {
    addr: SocketAddr,
    target: String,
}

impl Ctx {
    fn login(&self, r: &mut Report, opts: LoginOpts) -> Option<Conn> {
        r.check("login", Conn::login(self.addr, &self.target, opts))
    }
}

/// A Login Request BHS as the first PDU of a connection would carry it.
fn login_bhs(dsl: u32) -> [u8; BHS_LEN] {
    let mut b = [0u8; BHS_LEN];
    LoginRequest {
        transit: true,
        cont: false,
        csg: Stage::SecurityNegotiation,
        nsg: Stage::LoginOperationalNegotiation,
        version_max: 0,
        version_min: 0,
        total_ahs_len: 0,
        data_segment_len: dsl,
        isid: [0x80, 0, 0, 0, 0xff, 0xfe],
        tsih: 0,
        itt: 1,
        cid: 0,
        cmd_sn: 1,
        exp_stat_sn: 0,
    }
    .encode(&mut b);
    b
}

fn login_stall(ctx: &Ctx, r: &mut Report) {
    let Some(mut s) = r.check("connect", connect(ctx.addr)) else {
        return;
    };
    r.check(
        "a silent connection is closed by the login timeout (15 s)",
        wait_eof(&mut s, Duration::from_secs(25)),
    );
}

fn login_trickle(ctx: &Ctx, r: &mut Report) {
    let Some(mut s) = r.check("connect", connect(ctx.addr)) else {
        return;
    };
    // One byte of a Login Request every 2 s: the whole login must still end
    // at the login timeout, not whenever the PDU is complete.
    let bhs = login_bhs(0);
    let start = Instant::now();
    let limit = Duration::from_secs(30);
    let mut i = 0;
    let res = loop {
        if start.elapsed() >= limit {
            break Err(format!(
                "still open after {} s of one byte every 2 s (login timeout not enforced inside a PDU)",
                limit.as_secs()
            ));
        }
        if i < bhs.len() && s.write_all(&bhs[i..=i]).is_err() {
            break Ok(format!(
                "closed after {:.1} s (send failed)",
                start.elapsed().as_secs_f64()
            ));
        }
        i += 1;
        match wait_eof(&mut s, Duration::from_secs(2)) {
            Ok(w) => {
                break Ok(format!(
                    "{w} (total {:.1} s)",
                    start.elapsed().as_secs_f64()
                ))
            }
            Err(_) => continue,
        }
    };
    r.check(
        "a login trickling in byte by byte is closed by the login timeout",
        res,
    );
}

fn login_garbage(ctx: &Ctx, r: &mut Report) {
    let Some(s) = r.check("connect", connect(ctx.addr)) else {
        return;
    };
    let mut c = Conn::new(s, 1);
    let mut b = [0u8; BHS_LEN];
    ScsiCommand {
        immediate: false,
        final_bit: true,
        read: false,
        write: false,
        attr: TaskAttr::Simple,
        total_ahs_len: 0,
        data_segment_len: 0,
        lun: 0,
        itt: 1,
        expected_data_len: 0,
        cmd_sn: 1,
        exp_stat_sn: 0,
        cdb: [0; 16],
    }
    .encode(&mut b);
    if r.check("send a SCSI Command as the first PDU", c.send(&b, &[]))
        .is_some()
    {
        r.check(
            "a non-Login first PDU closes the connection",
            c.expect_closed(CLOSE),
        );
    }
    // And 4 KiB of noise whose first byte is a target opcode.
    if let Some(s) = r.check("connect", connect(ctx.addr)) {
        let mut c = Conn::new(s, 1);
        let mut noise = vec![0u8; 4096];
        let mut x = 0x1234_5678u32;
        for b in noise.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        noise[0] = 0x3f;
        if r.check(
            "send 4 KiB of noise",
            c.s.write_all(&noise).map_err(|e| e.to_string()),
        )
        .is_some()
        {
            r.check("noise closes the connection", c.expect_closed(CLOSE));
        }
    }
}

fn login_oversize(ctx: &Ctx, r: &mut Report) {
    let Some(s) = r.check("connect", connect(ctx.addr)) else {
        return;
    };
    let mut c = Conn::new(s, 1);
    let b = login_bhs(pdu::MAX_DATA_SEGMENT_LEN);
    if r.check(
        "send a Login Request announcing 16 MiB of text",
        c.send(&b, &[]),
    )
    .is_some()
    {
        // Only the header was sent: a prompt close proves the target did not
        // wait for (or allocate) the 16 MiB.
        r.check("the connection is closed at once", c.expect_closed(CLOSE));
    }
}

fn unknown_opcode(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    for (op, reason, name) in [
        (
            0x1c,
            0x05,
            "vendor opcode 0x1c: Reject 0x05 (command not supported)",
        ),
        (
            0x21,
            0x04,
            "target opcode 0x21: Reject 0x04 (protocol error)",
        ),
        (
            0x43,
            0x04,
            "Login Request in full feature phase: Reject 0x04 (protocol error)",
        ),
    ] {
        let mut b = [0u8; BHS_LEN];
        b[0] = op;
        b[1] = 0x80;
        b[16..20].copy_from_slice(&c.itt().to_be_bytes());
        b[24..28].copy_from_slice(&c.cmd_sn.to_be_bytes());
        b[28..32].copy_from_slice(&c.exp_stat_sn.to_be_bytes());
        if c.send(&b, &[]).is_err() {
            r.fail(name, "send failed");
            return;
        }
        r.check(name, c.expect_reject_reason(&b, reason));
        r.check("then a NOP-Out is answered", c.ping());
    }
}

fn cmdsn_window(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    let sn = c.cmd_sn;
    for (bad, what) in [
        (
            sn.wrapping_add(1000),
            "a command with CmdSN far beyond MaxCmdSN is ignored",
        ),
        (sn.wrapping_sub(5), "a command with an old CmdSN is ignored"),
    ] {
        if c.send_cmd(
            &[0u8; 6],
            0,
            false,
            false,
            &[],
            true,
            Some(bad),
            TaskAttr::Simple,
        )
        .is_err()
        {
            r.fail(what, "send failed");
            return;
        }
        let res = match c.recv(Instant::now() + Duration::from_secs(2)) {
            Err(RecvErr::Timeout) => Ok("no answer in 2 s".to_string()),
            Ok(rx) => Err(format!("answered by {}", describe(&rx))),
            Err(e) => Err(e.text()),
        };
        r.check(what, res);
    }
    r.check(
        "then TEST UNIT READY with the right CmdSN is answered",
        c.tur(),
    );
    r.check("and a NOP-Out is answered", c.ping());
}

fn nop_flood(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    let w0 = c.window();
    let mut res = Ok(());
    for i in 0..100 {
        if let Err(e) = c.ping() {
            res = Err(format!("NOP-Out #{i}: {e}"));
            break;
        }
    }
    r.check(
        "100 non-immediate NOP-Outs in a row are all answered",
        res.map(|()| format!("window {w0} before, {} after", c.window())),
    );
    let w = c.window();
    r.check(
        "the CmdSN window did not shrink",
        if w >= w0 {
            Ok(format!("{w} slots"))
        } else {
            Err(format!(
                "{w0} slots after login, {w} now (ExpCmdSN {} MaxCmdSN {}): answered NOP-Outs do not give their slot back",
                c.exp_cmd_sn, c.max_cmd_sn
            ))
        },
    );
    r.check("TEST UNIT READY works", c.tur());
}

fn dataout_unknown_itt(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    let what = "Data-Out for an unknown ITT: Reject 0x09 (invalid PDU field)";
    match c.data_out(0x0077_7777, RESERVED_TAG, 0, 0, &[0xa5; 512]) {
        Ok(b) => {
            r.check(what, c.expect_reject_reason(&b, 0x09));
            r.check("the connection continues (NOP answered)", c.ping());
        }
        Err(e) => r.fail(what, &e),
    }
}

fn oversize_pdu(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    r.check("NOP-Out answered", c.ping());
    let len = c.target_mrdsl + 4;
    let itt = c.itt();
    let mut b = [0u8; BHS_LEN];
    NopOut {
        immediate: true,
        total_ahs_len: 0,
        data_segment_len: len,
        lun: 0,
        itt,
        ttt: RESERVED_TAG,
        cmd_sn: c.cmd_sn,
        exp_stat_sn: c.exp_stat_sn,
    }
    .encode(&mut b);
    // Only the header: the target must not wait for the data.
    if c.send(&b, &[]).is_err() {
        r.fail("send", "send failed");
        return;
    }
    r.check(
        &format!(
            "a NOP-Out of {len} bytes (target's MaxRecvDataSegmentLength {}) closes the connection",
            c.target_mrdsl
        ),
        c.expect_closed(CLOSE),
    );
}

fn bad_header_digest(ctx: &Ctx, r: &mut Report) {
    let opts = LoginOpts {
        digests: true,
        ..LoginOpts::default()
    };
    if let Some(mut c) = ctx.login(r, opts) {
        r.check(
            "CRC32C digests: NOP-Out with good digests answered",
            c.ping(),
        );
        r.check("TEST UNIT READY with digests", c.tur());
        let itt = c.itt();
        let mut b = [0u8; BHS_LEN];
        NopOut {
            immediate: true,
            total_ahs_len: 0,
            data_segment_len: 0,
            lun: 0,
            itt,
            ttt: RESERVED_TAG,
            cmd_sn: c.cmd_sn,
            exp_stat_sn: c.exp_stat_sn,
        }
        .encode(&mut b);
        if c.send_with(&b, &[], true, false).is_ok() {
            r.check(
                "a wrong header digest closes the connection",
                c.expect_closed(CLOSE),
            );
        } else {
            r.fail("send", "send failed");
        }
    }
    // A wrong data digest: RFC 7143 7.8 allows a Reject 0x02 (the PDU may
    // be resent) or, at ErrorRecoveryLevel 0, ending the connection.
    if let Some(mut c) = ctx.login(r, opts) {
        let itt = c.itt();
        let payload = [0x5au8; 100];
        let mut b = [0u8; BHS_LEN];
        NopOut {
            immediate: true,
            total_ahs_len: 0,
            data_segment_len: payload.len() as u32,
            lun: 0,
            itt,
            ttt: RESERVED_TAG,
            cmd_sn: c.cmd_sn,
            exp_stat_sn: c.exp_stat_sn,
        }
        .encode(&mut b);
        if c.send_with(&b, &payload, false, true).is_err() {
            r.fail("send", "send failed");
            return;
        }
        let res = match c.recv(Instant::now() + CLOSE) {
            Err(RecvErr::Closed(w)) => Ok(format!("connection closed ({w})")),
            Ok(rx) => match rx.pdu {
                Pdu::Reject(x) if x.reason.to_u8() == 0x02 => {
                    closed_or_alive(&mut c).map(|s| format!("Reject 0x02, then {s}"))
                }
                Pdu::NopIn(_) => Err("a NOP-Out with a wrong data digest was answered".into()),
                _ => Err(format!("answered by {}", describe(&rx))),
            },
            Err(e) => Err(e.text()),
        };
        r.check(
            "a wrong data digest: Reject 0x02 or the connection closed",
            res,
        );
    }
}

fn bad_datasn(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    r.check("TEST UNIT READY", c.tur());
    // First a correct solicited write.
    let data = vec![0x3cu8; 2 * BLOCK as usize];
    if let Some((itt, ttt, len)) = r.check(
        "WRITE(10) of 2 blocks, F=1 without data: R2T",
        c.write_wait_r2t(200, 2),
    ) {
        let res = if len != 2 * BLOCK {
            Err(format!("R2T desired length {len}"))
        } else {
            c.data_out(itt, ttt, 0, 0, &data)
                .and_then(|_| c.wait_status(itt))
                .and_then(|s| {
                    if s.status == GOOD {
                        Ok("GOOD".to_string())
                    } else {
                        Err(s.describe())
                    }
                })
        };
        r.check("the solicited Data-Out completes the write", res);
    }
    r.check(
        "READ(10) returns the written data",
        c.read10(200).and_then(|d| {
            if d == data[..BLOCK as usize] {
                Ok("same data".to_string())
            } else {
                Err("other data".into())
            }
        }),
    );
    // Then a Data-Out with a DataSN the sequence does not expect.
    if let Some((itt, ttt, _)) = r.check("second WRITE(10): R2T", c.write_wait_r2t(202, 2)) {
        match c.data_out(itt, ttt, 5, 0, &data) {
            Ok(b) => {
                r.check(
                    "Data-Out with DataSN 5: Reject 0x09",
                    c.expect_reject_reason(&b, 0x09),
                );
                r.check(
                    "and the connection is closed (ERL 0)",
                    c.expect_closed(CLOSE),
                );
            }
            Err(e) => r.fail("send", &e),
        }
    }
}

fn caw_length(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    r.check("TEST UNIT READY", c.tur());
    let before = r.check("READ(10) of LBA 10", c.read10(10));
    let mut cdb = [0u8; 16];
    cdb[0] = 0x89;
    cdb[2..10].copy_from_slice(&10u64.to_be_bytes());
    cdb[13] = 1;
    let half = vec![0xeeu8; BLOCK as usize];
    let res = c
        .send_cmd(
            &cdb,
            BLOCK,
            false,
            true,
            &half,
            true,
            None,
            TaskAttr::Simple,
        )
        .and_then(|itt| c.wait_status(itt))
        .and_then(|s| {
            if s.status == CHECK_CONDITION {
                Ok(s.describe())
            } else {
                Err(format!(
                    "{} (a COMPARE AND WRITE with half its data was accepted)",
                    s.describe()
                ))
            }
        });
    r.check(
        "COMPARE AND WRITE of 1 block with EDTL 512 (needs 1024): CHECK CONDITION",
        res,
    );
    r.check("then TEST UNIT READY works", c.tur());
    let after = r.check("and READ(10) of LBA 10 works", c.read10(10));
    if let (Some(b), Some(a)) = (before, after) {
        r.check(
            "LBA 10 was not changed",
            if a == b {
                Ok(String::new())
            } else {
                Err("the block changed".into())
            },
        );
    }
    r.check("and a NOP-Out is answered", c.ping());
}

fn snack(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    for (t, name) in [
        (SnackType::DataR2t, "Data/R2T SNACK: Reject"),
        (SnackType::Status, "Status SNACK: Reject"),
    ] {
        let mut b = [0u8; BHS_LEN];
        SnackRequest {
            snack_type: t,
            total_ahs_len: 0,
            data_segment_len: 0,
            lun: 0,
            itt: if t == SnackType::Status {
                RESERVED_TAG
            } else {
                0x0066_6666
            },
            ttt: RESERVED_TAG,
            exp_stat_sn: c.exp_stat_sn,
            beg_run: 0,
            run_length: 0,
        }
        .encode(&mut b);
        if c.send(&b, &[]).is_err() {
            r.fail(name, "send failed");
            return;
        }
        r.check(
            name,
            c.expect_reject(&b).map(|x| format!("reason 0x{x:02x}")),
        );
        r.check("the connection continues (NOP answered)", c.ping());
    }
}

fn tmf(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    r.check("TEST UNIT READY", c.tur());
    // (function, referenced task tag, expected response, what is checked)
    let cases = [
        (
            TmfFunction::AbortTask,
            0x0055_5555,
            1,
            "ABORT TASK of an unknown ITT: 1 (task does not exist)",
        ),
        (
            TmfFunction::LogicalUnitReset,
            RESERVED_TAG,
            0,
            "LOGICAL UNIT RESET of LUN 0: 0 (function complete)",
        ),
        (
            TmfFunction::QueryTask,
            0x0055_5555,
            0,
            "QUERY TASK of an unknown ITT: 0 (function complete)",
        ),
        (
            TmfFunction::QueryTaskSet,
            RESERVED_TAG,
            0,
            "QUERY TASK SET of an idle LUN: 0 (function complete)",
        ),
        (
            TmfFunction::AbortTaskSet,
            RESERVED_TAG,
            0,
            "ABORT TASK SET: 0 (function complete)",
        ),
        (
            TmfFunction::ClearTaskSet,
            RESERVED_TAG,
            0,
            "CLEAR TASK SET: 0 (function complete)",
        ),
        (
            TmfFunction::ClearAca,
            RESERVED_TAG,
            5,
            "CLEAR ACA (ACA is not supported): 5 (function not supported)",
        ),
    ];
    for (f, rtt, want, name) in cases {
        r.check(
            name,
            c.tmf(f, rtt).and_then(|x| {
                if x == want {
                    Ok(String::new())
                } else {
                    Err(format!("response {x}"))
                }
            }),
        );
    }
    r.check("then TEST UNIT READY works", c.tur());
    r.check("and a NOP-Out is answered", c.ping());
}

/// SAM-5 8.6: an ORDERED command starts only after every older command
/// completed. A WRITE of a new pattern and an ORDERED READ of the same
/// block are sent back to back, without waiting; the READ must see the
/// pattern every time (with two command threads a SIMPLE READ can run
/// before the WRITE). A SIMPLE WRITE after the ORDERED READ must not pass
/// it either.
fn ordered(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    r.check("TEST UNIT READY", c.tur());
    const LBA: u8 = 30;
    const ROUNDS: u8 = 40;
    let write = [0x2a, 0, 0, 0, 0, LBA, 0, 0, 1, 0];
    let read = [0x28, 0, 0, 0, 0, LBA, 0, 0, 1, 0];
    let mut stale = 0u32;
    let mut errors = vec![];
    for k in 1..=ROUNDS {
        let pat = vec![k; BLOCK as usize];
        let next = vec![k.wrapping_add(100); BLOCK as usize];
        let sent = c
            .send_cmd(
                &write,
                BLOCK,
                false,
                true,
                &pat,
                true,
                None,
                TaskAttr::Simple,
            )
            .and_then(|w| {
                let rd = c.send_cmd(
                    &read,
                    BLOCK,
                    true,
                    false,
                    &[],
                    true,
                    None,
                    TaskAttr::Ordered,
                )?;
                let w2 = c.send_cmd(
                    &write,
                    BLOCK,
                    false,
                    true,
                    &next,
                    true,
                    None,
                    TaskAttr::Simple,
                )?;
                Ok([w, rd, w2])
            })
            .and_then(|itts| c.wait_statuses(&itts));
        match sent {
            Ok(res) => {
                if res.iter().any(|x| x.status != GOOD) {
                    errors.push(format!(
                        "round {k}: {}",
                        res.iter()
                            .map(|x| x.describe())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                } else if res[1].data != pat {
                    stale += 1;
                }
            }
            Err(e) => {
                errors.push(format!("round {k}: {e}"));
                break;
            }
        }
    }
    r.check(
        "WRITE, ORDERED READ, WRITE of one block, 40 times: every command GOOD",
        if errors.is_empty() {
            Ok(String::new())
        } else {
            Err(errors.join("; "))
        },
    );
    r.check(
        "the ORDERED READ always saw the older WRITE and never the newer one",
        if stale == 0 {
            Ok(format!("{ROUNDS} rounds"))
        } else {
            Err(format!("{stale} of {ROUNDS} READs saw other data"))
        },
    );
    r.check("and a NOP-Out is answered", c.ping());
}

fn logout(ctx: &Ctx, r: &mut Report) {
    let Some(mut c) = ctx.login(r, LoginOpts::default()) else {
        return;
    };
    r.check("TEST UNIT READY", c.tur());
    let itt = c.itt();
    let mut b = [0u8; BHS_LEN];
    LogoutRequest {
        immediate: true,
        reason: LogoutReason::CloseSession,
        total_ahs_len: 0,
        data_segment_len: 0,
        itt,
        cid: 0,
        cmd_sn: c.cmd_sn,
        exp_stat_sn: c.exp_stat_sn,
    }
    .encode(&mut b);
    if c.send(&b, &[]).is_err() {
        r.fail("send Logout", "send failed");
        return;
    }
    let res = c
        .recv(Instant::now() + ANSWER)
        .map_err(|e| e.text())
        .and_then(|rx| match rx.pdu {
            Pdu::LogoutResponse(l) if l.itt == itt && l.response.to_u8() == 0 => Ok(String::new()),
            _ => Err(format!("got {}", describe(&rx))),
        });
    r.check("Logout (close session): Logout Response 0", res);
    r.check(
        "then the target closes the connection",
        c.expect_closed(CLOSE),
    );
}

fn conn_storm(ctx: &Ctx, r: &mut Report, n: u32) {
    let start = Instant::now();
    let mut res = Ok(());
    let half = login_bhs(0);
    for i in 0..n {
        let s = match connect(ctx.addr) {
            Ok(s) => s,
            Err(e) => {
                res = Err(format!("connection #{i}: {e}"));
                break;
            }
        };
        if i % 4 == 1 {
            // Half a BHS, then gone.
            let _ = (&s).write_all(&half[..24]);
        } else if i % 4 == 2 {
            let _ = s.shutdown(Shutdown::Write);
        }
        drop(s);
    }
    r.check(
        &format!("open and drop {n} connections (some after half a BHS)"),
        res.map(|()| format!("{:.1} s", start.elapsed().as_secs_f64())),
    );
    // Many at once, held open, then dropped together.
    let mut held = vec![];
    let mut res = Ok(());
    for i in 0..64 {
        match connect(ctx.addr) {
            Ok(s) => {
                if i % 2 == 0 {
                    let _ = (&s).write_all(&half[..10]);
                }
                held.push(s);
            }
            Err(e) => {
                res = Err(format!("connection #{i}: {e}"));
                break;
            }
        }
    }
    r.check(
        "hold 64 connections open at once",
        res.map(|()| String::new()),
    );
    drop(held);
    // A normal initiator still gets in.
    if let Some(mut c) = ctx.login(r, LoginOpts::default()) {
        r.check("after the storm: TEST UNIT READY", c.tur());
        r.check("after the storm: NOP-Out answered", c.ping());
    }
}

const SCENARIOS: &[&str] = &[
    "login-stall",
    "login-trickle",
    "login-garbage",
    "login-oversize",
    "unknown-opcode",
    "cmdsn-window",
    "nop-flood",
    "dataout-unknown-itt",
    "oversize-pdu",
    "bad-header-digest",
    "bad-datasn",
    "caw-length",
    "snack",
    "tmf",
    "ordered",
    "logout",
    "abort-storm",
    "qerr",
    "conn-storm",
];

fn run(ctx: &Ctx, name: &'static str, n: u32) -> Report {
    let mut r = Report {
        scenario: name,
        passed: 0,
        failed: 0,
    };
    match name {
        "login-stall" => login_stall(ctx, &mut r),
        "login-trickle" => login_trickle(ctx, &mut r),
        "login-garbage" => login_garbage(ctx, &mut r),
        "login-oversize" => login_oversize(ctx, &mut r),
        "unknown-opcode" => unknown_opcode(ctx, &mut r),
        "cmdsn-window" => cmdsn_window(ctx, &mut r),
        "nop-flood" => nop_flood(ctx, &mut r),
        "dataout-unknown-itt" => dataout_unknown_itt(ctx, &mut r),
        "oversize-pdu" => oversize_pdu(ctx, &mut r),
        "bad-header-digest" => bad_header_digest(ctx, &mut r),
        "bad-datasn" => bad_datasn(ctx, &mut r),
        "caw-length" => caw_length(ctx, &mut r),
        "snack" => snack(ctx, &mut r),
        "tmf" => tmf(ctx, &mut r),
        "ordered" => ordered(ctx, &mut r),
        "logout" => logout(ctx, &mut r),
        "conn-storm" => conn_storm(ctx, &mut r, n),
        "abort-storm" => storm::abort_storm(ctx, &mut r),
        "qerr" => qerr::qerr(ctx, &mut r),
        _ => r.fail("scenario", "unknown"),
    }
    r
}

fn usage() -> ExitCode {
    eprintln!("usage: iscsi-hostile <ip:port> <target-iqn> <scenario> [N]");
    eprintln!("scenarios: {} all", SCENARIOS.join(" "));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 || args.len() > 5 {
        return usage();
    }
    let Some(addr) = args[1].to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        eprintln!("iscsi-hostile: bad address {}", args[1]);
        return usage();
    };
    let n = match args.get(4).map(|s| s.parse::<u32>()) {
        None => 1000,
        Some(Ok(n)) => n,
        Some(Err(_)) => return usage(),
    };
    let ctx = Ctx {
        addr,
        target: args[2].clone(),
    };
    let list: Vec<&'static str> = if args[3] == "all" {
        SCENARIOS.to_vec()
    } else if let Some(s) = SCENARIOS.iter().find(|s| **s == args[3]) {
        vec![*s]
    } else {
        return usage();
    };
    let (mut passed, mut failed) = (0, 0);
    for name in list {
        let t = Instant::now();
        let r = run(&ctx, name, n);
        println!(
            "-- {name}: {} ok, {} failed ({:.1} s)",
            r.passed,
            r.failed,
            t.elapsed().as_secs_f64()
        );
        passed += r.passed;
        failed += r.failed;
        // Let the target finish tearing the connections down.
        sleep(Duration::from_millis(200));
    }
    println!("iscsi-hostile: {passed} ok, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
