// SPDX-License-Identifier: GPL-2.0

//! One iSCSI connection: its receiving thread (login, then the full feature
//! phase) and the sending side used by the core's command threads.
//!
//! Threads: the connection's thread reads every PDU, runs the login, answers
//! NOP-Out, Text, Logout and task management itself, collects write data
//! (immediate, unsolicited and R2T-solicited Data-Out) and hands complete
//! commands to the core. Responses are sent by the core's command thread
//! that finished the command (Data-In with status in the last PDU, or a SCSI
//! Response), under the connection's send lock, so a command never waits for
//! another thread to be scheduled. Sessions have one connection
//! (MaxConnections=1) and ErrorRecoveryLevel 0: any connection failure ends
//! the session.
//!
//! Teardown: when the thread leaves its loop (peer closed, protocol error,
//! logout, module unload) it shuts the socket down, waits until every
//! command it handed to the core has come back through
//! [`xmit_response`], then closes the SCST session.

use crate::{
    login,
    proto::{
        digest,
        pdu::{self, Pdu, RejectReason, TmfFunction, TmfResponse, BHS_LEN, RESERVED_TAG},
        serial,
        xfer::{self, WriteXfer},
    },
    Driver, State,
};
use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, CondVar, Mutex,
    },
    time::{Instant, Monotonic},
};
use scst_core::{
    proto::{
        lun,
        tm::AbortNotice,
        types::{
            TaskAttr,
            TmFunction,
            TmResponse, //
        },
    },
    NewCmd, Response, Session,
};
use scst_sys::{
    kthread::{self, KThread},
    net::Socket,
};

/// Largest write a command may carry (the core's buffers are in memory).
const MAX_TRANSFER: u32 = 32 << 20;
/// How long a blocked receive waits before the thread looks at its timers.
const RX_POLL_MS: u32 = 1000;
/// How long a login may take in total (LIO's default).
pub(crate) const LOGIN_TIMEOUT_MS: u32 = 15_000;
/// How long a peer may stall in the middle of a PDU.
const MID_PDU_TIMEOUT_MS: u32 = 30_000;
/// How long a send may wait for room in the socket buffer before the
/// connection is dropped (seconds).
const SEND_TIMEOUT_S: u32 = 30;
/// SCSI status TASK SET FULL.
const TASK_SET_FULL: u8 = 0x28;

/// What the login negotiated: everything the full feature phase needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Negotiated {
    pub(crate) header_digest: bool,
    pub(crate) data_digest: bool,
    /// What we accept per PDU (our MaxRecvDataSegmentLength).
    pub(crate) max_recv: u32,
    /// What we send per PDU (the initiator's, capped by our
    /// MaxXmitDataSegmentLength).
    pub(crate) max_xmit: u32,
    pub(crate) xfer: xfer::XferParams,
    pub(crate) max_burst: u32,
    pub(crate) queued_commands: u32,
    pub(crate) nop_in_interval_ms: u32,
    pub(crate) nop_in_timeout_ms: u32,
    pub(crate) time2wait: u16,
    pub(crate) time2retain: u16,
}

impl Negotiated {
    /// Login-phase values (RFC 7143 defaults, 8 KiB segments).
    pub(crate) const LOGIN: Self = Self {
        header_digest: false,
        data_digest: false,
        max_recv: 8192,
        max_xmit: 8192,
        xfer: xfer::XferParams::DEFAULT,
        max_burst: 262_144,
        queued_commands: 1,
        nop_in_interval_ms: 0,
        nop_in_timeout_ms: 30_000,
        time2wait: 2,
        time2retain: 20,
    };
}

/// What a finished login tells the connection.
pub(crate) struct LoginDone {
    pub(crate) discovery: bool,
    pub(crate) initiator: KVec<u8>,
    pub(crate) target: KVec<u8>,
    pub(crate) isid: [u8; 6],
    pub(crate) tsih: u16,
    pub(crate) params: Negotiated,
    /// The CmdSN the initiator starts with.
    pub(crate) exp_cmd_sn: u32,
}

/// Sending state, under the send lock.
struct Tx {
    stat_sn: u32,
    exp_cmd_sn: u32,
    max_cmd_sn: u32,
    header_digest: bool,
    data_digest: bool,
    max_xmit: u32,
    max_burst: u32,
}

/// The session details shown in `/proc/scsi_tgt/iscsi/session`.
#[derive(Default)]
struct Info {
    logged_in: bool,
    discovery: bool,
    initiator: KVec<u8>,
    target: KVec<u8>,
    isid: [u8; 6],
    tsih: u16,
    params: Option<Negotiated>,
}

/// An iSCSI connection (and, with MaxConnections=1, its session).
#[pin_data]
pub(crate) struct Conn {
    id: u32,
    state: Arc<State>,
    sock: Socket,
    closing: Atomic<bool>,
    finished: Atomic<bool>,
    #[pin]
    tx: Mutex<Tx>,
    #[pin]
    info: Mutex<Info>,
    /// The commands in the core.
    #[pin]
    inflight: Mutex<KVec<Inflight>>,
    #[pin]
    idle: CondVar,
}

/// A command the core is working on.
#[derive(Clone, Copy)]
struct Inflight {
    itt: u32,
}

/// The driver's handle of a command in the core.
pub(crate) struct CmdHandle {
    conn: Arc<Conn>,
    itt: u32,
    lun: u64,
    edtl: u32,
    read: bool,
    immediate: bool,
    exp_data_sn: u32,
    answered: bool,
}

/// What a SCSI Response needs to know of its task.
#[derive(Clone, Copy)]
struct Task {
    itt: u32,
    immediate: bool,
    /// R2Ts and Data-Ins sent for the task (the response's ExpDataSN).
    exp_data_sn: u32,
}

impl CmdHandle {
    fn task(&self) -> Task {
        Task {
            itt: self.itt,
            immediate: self.immediate,
            exp_data_sn: self.exp_data_sn,
        }
    }
}

impl Drop for CmdHandle {
    fn drop(&mut self) {
        if !self.answered {
            // The core could not take the command (out of memory): the
            // initiator gets TASK SET FULL and may retry.
            let c = self.conn.clone();
            let _ = c.send_status(self.task(), TASK_SET_FULL, &[], xfer::Residual::NONE);
            c.retire(self.itt);
        }
    }
}

/// Delivers a command's response (the core's `xmit_response`).
pub(crate) fn xmit_response(mut cmd: CmdHandle, rsp: Response<'_>) {
    cmd.answered = true;
    let conn = cmd.conn.clone();
    if rsp.aborted == Some(AbortNotice::Silent) {
        // No response for a task aborted by this initiator's TMF or
        // silently for another one (RFC 7143 4.2.3.3); its window slot is
        // free again.
        if !cmd.immediate {
            let mut tx = conn.tx.lock();
            tx.max_cmd_sn = tx.max_cmd_sn.wrapping_add(1);
        }
    } else if let Err(e) = conn.send_response(&cmd, &rsp) {
        pr_debug!("iscsi: conn {}: response not sent: {:?}\n", conn.id, e);
        conn.close();
    }
    conn.retire(cmd.itt);
}

impl scst_core::AenSink for Conn {
    /// An Asynchronous Message with the SCSI event (RFC 7143 11.9.1).
    fn report_aen(&self, lun: u64, sense: &[u8]) -> bool {
        if self.closing.load(Relaxed) {
            return false;
        }
        let mut seg = [0u8; 2 + 252];
        let Ok(len) = pdu::build_sense_segment(sense, &mut seg) else {
            return false;
        };
        let lun_field = u16::try_from(lun)
            .ok()
            .and_then(lun::encode_u64)
            .unwrap_or(0);
        let r = self.send_with_status(
            |sn, exp, max, out| {
                pdu::AsyncMessage {
                    total_ahs_len: 0,
                    data_segment_len: len as u32,
                    lun: lun_field,
                    stat_sn: sn,
                    exp_cmd_sn: exp,
                    max_cmd_sn: max,
                    event: pdu::AsyncEvent::ScsiEvent,
                    vcode: 0,
                    param1: 0,
                    param2: 0,
                    param3: 0,
                }
                .encode(out)
            },
            &seg[..len],
        );
        match r {
            Ok(()) => {
                pr_info!("iscsi: conn {}: reported LUN inventory change\n", self.id);
                true
            }
            Err(_) => {
                self.close();
                false
            }
        }
    }
}

/// The driver's handle of a task management function in the core.
pub(crate) struct TmfHandle {
    conn: Arc<Conn>,
    itt: u32,
    /// The core's function (`None`: answered by the driver).
    f: Option<TmFunction>,
    /// The referenced task was still collecting Data-Out in the driver.
    pending_hit: bool,
}

impl TmfHandle {
    /// Sends the Task Management Function Response.
    fn respond(&self, response: TmfResponse, info: [u8; 3]) -> Result {
        let itt = self.itt;
        self.conn.send_with_status(
            |sn, exp, max, out| {
                pdu::TaskMgmtResponse {
                    response,
                    total_ahs_len: 0,
                    data_segment_len: 0,
                    itt,
                    stat_sn: sn,
                    exp_cmd_sn: exp,
                    max_cmd_sn: max,
                    additional_response_info: info,
                }
                .encode(out)
            },
            &[],
        )
    }
}

/// The iSCSI response of the core's result of `f`.
fn tmf_response(f: TmFunction, pending_hit: bool, r: TmResponse) -> TmfResponse {
    match r {
        // The task was still collecting data in the driver.
        TmResponse::TaskNotExist if pending_hit => TmfResponse::FunctionComplete,
        TmResponse::Complete
            if pending_hit && matches!(f, TmFunction::QueryTask | TmFunction::QueryTaskSet) =>
        {
            TmfResponse::FunctionSucceeded
        }
        TmResponse::Complete => TmfResponse::FunctionComplete,
        TmResponse::Succeeded => TmfResponse::FunctionSucceeded,
        TmResponse::TaskNotExist => TmfResponse::TaskDoesNotExist,
        TmResponse::LunNotExist => TmfResponse::LunDoesNotExist,
        TmResponse::NotSupported => TmfResponse::NotSupported,
        TmResponse::Rejected | TmResponse::Failed => TmfResponse::Rejected,
    }
}

/// Delivers the result of a task management function (the core's
/// `task_mgmt_fn_done`).
pub(crate) fn task_mgmt_fn_done(h: TmfHandle, r: scst_core::TmResult) {
    let resp = match h.f {
        Some(f) => tmf_response(f, h.pending_hit, r.response),
        None => TmfResponse::Rejected,
    };
    if let Err(e) = h.respond(resp, r.additional_info) {
        pr_debug!(
            "iscsi: conn {}: TMF response not sent: {:?}\n",
            h.conn.id,
            e
        );
        h.conn.close();
    }
    h.conn.retire(h.itt);
}

/// The core's task attribute of an iSCSI ATTR field (untagged and reserved
/// values are SIMPLE).
fn task_attr(a: pdu::TaskAttr) -> TaskAttr {
    match a {
        pdu::TaskAttr::Ordered => TaskAttr::Ordered,
        pdu::TaskAttr::HeadOfQueue => TaskAttr::HeadOfQueue,
        pdu::TaskAttr::Aca => TaskAttr::Aca,
        pdu::TaskAttr::Untagged | pdu::TaskAttr::Simple | pdu::TaskAttr::Reserved(_) => {
            TaskAttr::Simple
        }
    }
}

/// Starts a connection's thread for an accepted socket.
pub(crate) fn start(state: &Arc<State>, sock: Socket) -> Result {
    sock.set_rcv_timeout(Some(RX_POLL_MS));
    // Responses are sent by the core's command threads, which serve every
    // session: a peer that stops reading must not block one for long.
    sock.set_snd_timeout(SEND_TIMEOUT_S);
    sock.set_nodelay();
    let conn = Arc::pin_init(
        pin_init!(Conn {
            id: state.next_id(),
            state: state.clone(),
            sock,
            closing: Atomic::new(false),
            finished: Atomic::new(false),
            tx <- kernel::new_mutex!(Tx {
                stat_sn: 0,
                exp_cmd_sn: 0,
                max_cmd_sn: 0,
                header_digest: false,
                data_digest: false,
                max_xmit: 8192,
                max_burst: 262_144,
            }, "iscsi::Conn::tx"),
            info <- kernel::new_mutex!(Info::default(), "iscsi::Conn::info"),
            inflight <- kernel::new_mutex!(KVec::new(), "iscsi::Conn::inflight"),
            idle <- kernel::new_condvar!("iscsi::Conn::idle"),
        }),
        GFP_KERNEL,
    )?;
    if let Ok(peer) = conn.sock.peer() {
        pr_debug!("iscsi: conn {}: connection from {}\n", conn.id, peer);
    }
    let c = conn.clone();
    let thread = KThread::spawn(c"iscsi_conn", None, move || run(c))?;
    state.add_conn(conn, thread)
}

/// Why receiving stopped.
#[derive(Debug)]
pub(crate) enum RxError {
    /// The peer closed, the connection is being closed, or a time-out.
    Closed,
    /// A fatal protocol error: the connection is dropped.
    Fatal(&'static str),
}

impl From<Error> for RxError {
    fn from(_: Error) -> Self {
        RxError::Closed
    }
}

impl From<kernel::alloc::AllocError> for RxError {
    fn from(_: kernel::alloc::AllocError) -> Self {
        RxError::Fatal("out of memory")
    }
}

/// A received PDU: header, AHS and data segment.
pub(crate) struct Rx {
    pub(crate) bhs: [u8; BHS_LEN],
    pub(crate) ahs: KVec<u8>,
    pub(crate) data: KVVec<u8>,
    pub(crate) data_len: usize,
    /// Milliseconds since the last complete PDU.
    idle_ms: u32,
    /// Milliseconds since our unanswered NOP-In ping, if one is out.
    ping_ms: Option<u32>,
    /// Full feature phase: pings may be sent.
    pub(crate) ff: bool,
    /// Milliseconds the login may still take.
    /// When the login started (its deadline is [`LOGIN_TIMEOUT_MS`]).
    login_start: Instant<Monotonic>,
    /// When the first byte of the PDU being received arrived.
    pdu_start: Option<Instant<Monotonic>>,
}

impl Rx {
    pub(crate) fn new() -> Self {
        Self {
            bhs: [0; BHS_LEN],
            ahs: KVec::new(),
            data: KVVec::new(),
            data_len: 0,
            idle_ms: 0,
            ping_ms: None,
            ff: false,
            login_start: Instant::now(),
            pdu_start: None,
        }
    }

    /// The received data segment.
    pub(crate) fn data(&self) -> &[u8] {
        self.data.get(..self.data_len).unwrap_or(&[])
    }
}

impl Conn {
    /// Whether the connection's thread has ended.
    pub(crate) fn finished(&self) -> bool {
        self.finished.load(Relaxed)
    }

    /// Starts closing: the thread wakes up and ends, pending sends fail.
    pub(crate) fn close(&self) {
        self.closing.store(true, Relaxed);
        self.sock.shutdown();
    }

    /// Whether this connection's session is logged in to target `name`.
    pub(crate) fn target_is(&self, name: &[u8]) -> bool {
        let info = self.info.lock();
        info.logged_in && !info.discovery && &info.target[..] == name
    }

    /// Whether this is the session `initiator` + `isid` on `target`.
    pub(crate) fn is_session(&self, initiator: &[u8], isid: &[u8; 6], target: &[u8]) -> bool {
        let info = self.info.lock();
        info.logged_in
            && !info.discovery
            && &info.initiator[..] == initiator
            && &info.isid == isid
            && &info.target[..] == target
    }

    /// Whether this is the session `initiator` + `isid` with `tsih`.
    pub(crate) fn has_tsih(&self, initiator: &[u8], isid: &[u8; 6], tsih: u16) -> bool {
        let info = self.info.lock();
        info.logged_in
            && info.tsih == tsih
            && &info.isid == isid
            && &info.initiator[..] == initiator
    }

    /// The local address of the connection.
    pub(crate) fn local_addr(&self) -> Option<scst_sys::net::SockAddr> {
        self.sock.local().ok()
    }

    /// Waits until the thread has ended (after [`Conn::close`]).
    pub(crate) fn wait_finished(&self) {
        let mut n = self.inflight.lock();
        while !self.finished() {
            let _ = self.idle.wait_interruptible_timeout(&mut n, 10);
        }
    }

    /// Prints the session (`/proc/scsi_tgt/iscsi/session`).
    pub(crate) fn show(&self, m: &SeqFile) {
        let info = self.info.lock();
        if !info.logged_in {
            return;
        }
        fn s(v: &[u8]) -> &str {
            core::str::from_utf8(v).unwrap_or("?")
        }
        let i = info.isid;
        seq_print!(
            m,
            "session tsih {} isid {:02x}{:02x}{:02x}{:02x}{:02x}{:02x} initiator {} target {}\n",
            info.tsih,
            i[0],
            i[1],
            i[2],
            i[3],
            i[4],
            i[5],
            s(&info.initiator),
            if info.discovery {
                "(discovery)"
            } else {
                s(&info.target)
            }
        );
        if let Ok(peer) = self.sock.peer() {
            seq_print!(m, "\tconnection {} from {}\n", self.id, peer);
        }
        if let Some(p) = info.params {
            let d = |b: bool| if b { "CRC32C" } else { "None" };
            let yn = |b: bool| if b { "Yes" } else { "No" };
            seq_print!(
                m,
                "\tHeaderDigest {} DataDigest {} InitialR2T {} ImmediateData {}\n",
                d(p.header_digest),
                d(p.data_digest),
                yn(p.xfer.initial_r2t),
                yn(p.xfer.immediate_data)
            );
            seq_print!(
                m,
                "\tMaxRecvDataSegmentLength {} MaxXmitDataSegmentLength {} MaxBurstLength {} FirstBurstLength {} MaxOutstandingR2T {}\n",
                p.max_recv,
                p.max_xmit,
                p.max_burst,
                p.xfer.first_burst_length,
                p.xfer.max_outstanding_r2t
            );
        }
        seq_print!(
            m,
            "\tcommands in the core: {}\n",
            self.inflight.lock().len()
        );
    }

    /// A command came back from the core.
    fn retire(&self, itt: u32) {
        let mut v = self.inflight.lock();
        if let Some(i) = v.iter().position(|c| c.itt == itt) {
            let _ = v.remove(i);
        }
        drop(v);
        self.idle.notify_all();
    }

    /// Waits until no command of this connection is in the core.
    fn wait_inflight(&self) {
        let mut v = self.inflight.lock();
        while !v.is_empty() {
            let _ = self.idle.wait_interruptible_timeout(&mut v, 100);
        }
    }

    // ---------------------------------------------------------- receiving

    /// Fills `buf` from the socket. `boundary`: nothing of the PDU was read
    /// yet, so idle time and pings are accounted.
    fn recv_exact(&self, buf: &mut [u8], rx_ms: &mut RxTimers<'_>) -> Result<(), RxError> {
        let mut got = 0;
        while got < buf.len() {
            if self.closing.load(Relaxed) || kthread::should_stop() {
                return Err(RxError::Closed);
            }
            let r = self.sock.recv(&mut buf[got..]);
            // Deadlines are absolute: a peer trickling one byte at a time
            // gets no more time than a silent one.
            let rx = &mut *rx_ms.rx;
            if !rx.ff && rx.login_start.elapsed().as_millis() >= i64::from(LOGIN_TIMEOUT_MS) {
                return Err(RxError::Fatal("login timed out"));
            }
            if rx
                .pdu_start
                .is_some_and(|t| t.elapsed().as_millis() >= i64::from(MID_PDU_TIMEOUT_MS))
            {
                return Err(RxError::Fatal("peer stalled inside a PDU"));
            }
            match r {
                Ok(0) => return Err(RxError::Closed),
                Ok(n) => {
                    if rx.pdu_start.is_none() {
                        rx.pdu_start = Some(Instant::now());
                    }
                    got += n;
                }
                Err(e) if e == EAGAIN => {
                    if rx.pdu_start.is_none() && rx_ms.boundary {
                        self.tick_idle(rx_ms)?;
                    }
                }
                Err(_) => return Err(RxError::Closed),
            }
        }
        Ok(())
    }

    /// One receive time-out with nothing read: login deadline, NOP-In pings.
    fn tick_idle(&self, t: &mut RxTimers<'_>) -> Result<(), RxError> {
        let rx = &mut *t.rx;
        rx.idle_ms = rx.idle_ms.saturating_add(RX_POLL_MS);
        if !rx.ff {
            // The login deadline is checked by the receive loop.
            return Ok(());
        }
        if let Some(p) = rx.ping_ms.as_mut() {
            *p = p.saturating_add(RX_POLL_MS);
            if *p >= t.params.nop_in_timeout_ms {
                return Err(RxError::Fatal("no answer to NOP-In"));
            }
        } else if t.params.nop_in_interval_ms != 0 && rx.idle_ms >= t.params.nop_in_interval_ms {
            // A ping: ITT reserved, a TTT the initiator echoes.
            let mut tx = self.tx.lock();
            let nop = pdu::NopIn {
                total_ahs_len: 0,
                data_segment_len: 0,
                lun: 0,
                itt: RESERVED_TAG,
                ttt: self.id,
                stat_sn: tx.stat_sn,
                exp_cmd_sn: tx.exp_cmd_sn,
                max_cmd_sn: tx.max_cmd_sn,
            };
            let mut bhs = [0u8; BHS_LEN];
            nop.encode(&mut bhs);
            self.send_locked(&mut tx, &bhs, &[])?;
            rx.ping_ms = Some(0);
        }
        Ok(())
    }

    /// Reads one PDU into `rx`, checking digests and the data segment limit.
    pub(crate) fn read_pdu(&self, rx: &mut Rx, p: &Negotiated) -> Result<(), RxError> {
        let mut bhs = [0u8; BHS_LEN];
        self.recv_exact(
            &mut bhs,
            &mut RxTimers {
                rx,
                params: p,
                boundary: true,
            },
        )?;
        rx.bhs = bhs;
        let lay = pdu::layout_unchecked(&rx.bhs, p.header_digest, p.data_digest)
            .map_err(|_| RxError::Fatal("bad PDU lengths"))?;
        if lay.data_len > p.max_recv as usize {
            // Not worth skipping: the initiator broke the negotiated limit
            // (RFC 7143 7.x: a protocol error; at ERL 0 the connection ends).
            return Err(RxError::Fatal(
                "data segment longer than MaxRecvDataSegmentLength",
            ));
        }
        rx.ahs.clear();
        rx.ahs.resize(lay.ahs_len, 0, GFP_KERNEL)?;
        let mut t = RxTimers {
            rx,
            params: p,
            boundary: false,
        };
        let mut ahs = core::mem::take(&mut t.rx.ahs);
        self.recv_exact(&mut ahs, &mut t)?;
        t.rx.ahs = ahs;
        if lay.header_digest_len != 0 {
            let mut d = [0u8; 4];
            self.recv_exact(&mut d, &mut t)?;
            let crc = crc32c(&[&t.rx.bhs, &t.rx.ahs]);
            if !digest::verify(crc, &d) {
                // The header cannot be trusted, so neither can its lengths.
                return Err(RxError::Fatal("header digest error"));
            }
        }
        let area = lay.data_area_len();
        if t.rx.data.len() < area {
            t.rx.data.resize(area, 0, GFP_KERNEL)?;
        }
        let mut data = core::mem::take(&mut t.rx.data);
        let r = self.recv_exact(&mut data[..area], &mut t);
        t.rx.data = data;
        r?;
        rx.data_len = lay.data_len;
        if lay.data_digest_len != 0 {
            let padded = lay.data_len + lay.pad_len;
            let crc = crc32c(&[&rx.data[..padded]]);
            if !digest::verify(crc, &rx.data[padded..padded + 4]) {
                return Err(RxError::Fatal("data digest error"));
            }
        }
        rx.idle_ms = 0;
        rx.ping_ms = None;
        rx.pdu_start = None;
        Ok(())
    }

    // ------------------------------------------------------------ sending

    /// Sends one PDU: `bhs` (with its DataSegmentLength set) and `data`.
    fn send_locked(&self, tx: &mut Tx, bhs: &[u8; BHS_LEN], data: &[u8]) -> Result {
        if self.closing.load(Relaxed) {
            return Err(EPIPE);
        }
        let hd = crc32c(&[bhs]).to_le_bytes();
        let pad = pdu::pad_len(data.len());
        let mut tail = [0u8; 8];
        let mut tail_len = pad;
        if tx.data_digest && !data.is_empty() {
            let dd = crc32c(&[data, &tail[..pad]]).to_le_bytes();
            tail[pad..pad + 4].copy_from_slice(&dd);
            tail_len += 4;
        }
        let hd: &[u8] = if tx.header_digest { &hd } else { &[] };
        let r = self.sock.send(&[bhs, hd, data, &tail[..tail_len]]);
        if r.is_err() {
            self.close();
        }
        r
    }

    /// Sends a PDU that carries the next StatSN (and advances it); `make`
    /// builds the header from (StatSN, ExpCmdSN, MaxCmdSN).
    pub(crate) fn send_with_status(
        &self,
        make: impl FnOnce(u32, u32, u32, &mut [u8; BHS_LEN]),
        data: &[u8],
    ) -> Result {
        let mut tx = self.tx.lock();
        let mut bhs = [0u8; BHS_LEN];
        make(tx.stat_sn, tx.exp_cmd_sn, tx.max_cmd_sn, &mut bhs);
        tx.stat_sn = tx.stat_sn.wrapping_add(1);
        self.send_locked(&mut tx, &bhs, data)
    }

    /// Sends a Reject of the PDU in `bhs`.
    fn reject(&self, reason: RejectReason, bhs: &[u8; BHS_LEN]) -> Result {
        self.send_with_status(
            |sn, exp, max, out| pdu::reject_for(reason, sn, exp, max, 0).encode(out),
            bhs,
        )
    }

    /// Sends status without data (SCSI Response) for `cmd`.
    fn send_status(&self, cmd: Task, status: u8, sense: &[u8], res: xfer::Residual) -> Result {
        let mut seg = [0u8; 2 + 252];
        let seg_len = if sense.is_empty() {
            0
        } else {
            pdu::build_sense_segment(sense, &mut seg).map_err(|_| EINVAL)?
        };
        let mut tx = self.tx.lock();
        if !cmd.immediate {
            // The command's slot in the window is free again.
            tx.max_cmd_sn = tx.max_cmd_sn.wrapping_add(1);
        }
        let rsp = pdu::ScsiResponse {
            bidi_overflow: false,
            bidi_underflow: false,
            overflow: res.overflow,
            underflow: res.underflow,
            response: pdu::RESPONSE_COMPLETED,
            status,
            total_ahs_len: 0,
            data_segment_len: seg_len as u32,
            itt: cmd.itt,
            snack_tag: 0,
            stat_sn: tx.stat_sn,
            exp_cmd_sn: tx.exp_cmd_sn,
            max_cmd_sn: tx.max_cmd_sn,
            exp_data_sn: cmd.exp_data_sn,
            bidi_residual_count: 0,
            residual_count: res.count,
        };
        tx.stat_sn = tx.stat_sn.wrapping_add(1);
        let mut bhs = [0u8; BHS_LEN];
        rsp.encode(&mut bhs);
        self.send_locked(&mut tx, &bhs, &seg[..seg_len])
    }

    /// Sends a command's response: Data-In PDUs (status in the last one
    /// when allowed), else a SCSI Response.
    fn send_response(&self, cmd: &CmdHandle, rsp: &Response<'_>) -> Result {
        let data = if cmd.read {
            rsp.data
                .get(..(cmd.edtl as usize).min(rsp.data.len()))
                .unwrap_or(&[])
        } else {
            &[]
        };
        // Residuals compare the initiator's expected length with what the
        // command itself transfers (RFC 7143 11.4.5): overflow when the
        // CDB wants more, underflow when less.
        let res = xfer::residual(cmd.edtl, u64::from(rsp.transfer_len));
        if data.is_empty() {
            return self.send_status(cmd.task(), rsp.status, rsp.sense, res);
        }
        let with_status = xfer::status_in_data_in_allowed(rsp.status, rsp.sense.len(), false);
        let mut tx = self.tx.lock();
        let plan = xfer::DataInPlan::new(data.len() as u32, tx.max_xmit, tx.max_burst, with_status)
            .map_err(|_| EINVAL)?;
        let mut count = 0u32;
        for seg in plan {
            let status_here = seg.status_s;
            if status_here && !cmd.immediate {
                tx.max_cmd_sn = tx.max_cmd_sn.wrapping_add(1);
            }
            let din = pdu::DataIn {
                final_bit: seg.final_f,
                ack: false,
                overflow: status_here && res.overflow,
                underflow: status_here && res.underflow,
                status_present: status_here,
                status: if status_here { rsp.status } else { 0 },
                total_ahs_len: 0,
                data_segment_len: seg.len,
                lun: cmd.lun,
                itt: cmd.itt,
                ttt: RESERVED_TAG,
                stat_sn: if status_here { tx.stat_sn } else { 0 },
                exp_cmd_sn: tx.exp_cmd_sn,
                max_cmd_sn: tx.max_cmd_sn,
                data_sn: seg.data_sn,
                buffer_offset: seg.offset,
                residual_count: seg.residual_count(res),
            };
            if status_here {
                tx.stat_sn = tx.stat_sn.wrapping_add(1);
            }
            let mut bhs = [0u8; BHS_LEN];
            din.encode(&mut bhs);
            let start = seg.offset as usize;
            let part = data.get(start..start + seg.len as usize).ok_or(EINVAL)?;
            self.send_locked(&mut tx, &bhs, part)?;
            count += 1;
        }
        drop(tx);
        if !with_status {
            let t = Task {
                exp_data_sn: count,
                ..cmd.task()
            };
            self.send_status(t, rsp.status, rsp.sense, res)?;
        }
        Ok(())
    }
}

/// Standard CRC32C (iSCSI digests) of the concatenated slices, with the
/// kernel's accelerated implementation.
fn crc32c(parts: &[&[u8]]) -> u32 {
    let mut c = !0u32;
    for p in parts {
        c = scst_sys::crc::crc32c_update(c, p);
    }
    !c
}

/// What [`Conn::recv_exact`] needs to account idle time.
struct RxTimers<'a> {
    rx: &'a mut Rx,
    params: &'a Negotiated,
    boundary: bool,
}

/// A write command collecting its data.
struct PendingWrite {
    itt: u32,
    lun_raw: u64,
    lun: u64,
    cdb: [u8; 32],
    cdb_len: usize,
    edtl: u32,
    read: bool,
    immediate: bool,
    xfer: WriteXfer,
    /// `None`: the data is received and dropped (the command already failed).
    data: Option<KVVec<u8>>,
    r2ts: u32,
    attr: TaskAttr,
}

/// The full feature phase of a connection.
struct Ff<'a> {
    conn: &'a Arc<Conn>,
    session: Option<Session<Driver>>,
    params: Negotiated,
    discovery: bool,
    pending: KVec<PendingWrite>,
    target: &'a [u8],
    initiator: &'a [u8],
    ttt_base: u32,
    text_cont: Option<login::TextCont>,
}

/// The SAM LUN of the LUN field, or one that no group maps (the core then
/// answers LOGICAL UNIT NOT SUPPORTED).
fn sam_lun(raw: u64) -> u64 {
    match lun::decode_u64(raw) {
        Ok(lun::LunAddr::Lun(l)) => l.into(),
        _ => u64::MAX,
    }
}

/// What to do after a PDU.
enum Next {
    Continue,
    Stop,
}

impl Ff<'_> {
    /// Accepts a non-immediate CmdSN (advancing ExpCmdSN) or says to
    /// ignore the PDU (outside the window: RFC 7143 4.2.2.1, silently).
    fn accept_cmd_sn(&self, cmd_sn: u32, immediate: bool) -> bool {
        let mut tx = self.conn.tx.lock();
        if immediate {
            return true;
        }
        if cmd_sn == tx.exp_cmd_sn && serial::le(cmd_sn, tx.max_cmd_sn) {
            tx.exp_cmd_sn = tx.exp_cmd_sn.wrapping_add(1);
            return true;
        }
        pr_debug!(
            "iscsi: conn {}: CmdSN {} outside [{}, {}], ignored\n",
            self.conn.id,
            cmd_sn,
            tx.exp_cmd_sn,
            tx.max_cmd_sn
        );
        false
    }

    /// Frees the window slot of a non-immediate PDU that is answered (or
    /// refused) without reaching the core: MaxCmdSN moves on by one.
    fn credit(&self, immediate: bool) {
        if !immediate {
            let mut tx = self.conn.tx.lock();
            tx.max_cmd_sn = tx.max_cmd_sn.wrapping_add(1);
        }
    }

    fn handle(&mut self, rx: &Rx) -> Result<Next, RxError> {
        let conn = self.conn;
        let p = match Pdu::decode_request(&rx.bhs) {
            Ok(p) => p,
            Err(e) => {
                return match e.action() {
                    pdu::ErrorAction::DropConnection => Err(RxError::Fatal("bad PDU")),
                    pdu::ErrorAction::Reject(r) => {
                        conn.reject(r, &rx.bhs)?;
                        Ok(Next::Continue)
                    }
                    pdu::ErrorAction::Local => {
                        conn.reject(RejectReason::ProtocolError, &rx.bhs)?;
                        Ok(Next::Continue)
                    }
                };
            }
        };
        match p {
            Pdu::NopOut(n) => self.nop_out(rx, &n),
            Pdu::ScsiCommand(c) => {
                if !self.accept_cmd_sn(c.cmd_sn, c.immediate) {
                    return Ok(Next::Continue);
                }
                if self.discovery {
                    // Discovery sessions carry no SCSI (RFC 7143 4.3).
                    self.credit(c.immediate);
                    conn.reject(RejectReason::ProtocolError, &rx.bhs)?;
                    return Ok(Next::Continue);
                }
                self.scsi_command(rx, &c)
            }
            Pdu::DataOut(d) => self.data_out(rx, &d),
            Pdu::TaskMgmtRequest(t) => {
                if !self.accept_cmd_sn(t.cmd_sn, t.immediate) {
                    return Ok(Next::Continue);
                }
                self.credit(t.immediate);
                self.task_mgmt(&t)
            }
            Pdu::TextRequest(t) => {
                if !self.accept_cmd_sn(t.cmd_sn, t.immediate) {
                    return Ok(Next::Continue);
                }
                self.credit(t.immediate);
                login::text_request(
                    conn,
                    &t,
                    rx.data(),
                    self.discovery,
                    self.target,
                    self.initiator,
                    self.params.max_xmit,
                    &mut self.text_cont,
                )?;
                Ok(Next::Continue)
            }
            Pdu::LogoutRequest(l) => {
                if !self.accept_cmd_sn(l.cmd_sn, l.immediate) {
                    return Ok(Next::Continue);
                }
                self.credit(l.immediate);
                self.logout(&l)
            }
            Pdu::SnackRequest(_) => {
                conn.reject(RejectReason::ProtocolError, &rx.bhs)?;
                Ok(Next::Continue)
            }
            _ => {
                // Login in the full feature phase, or a target opcode.
                conn.reject(RejectReason::ProtocolError, &rx.bhs)?;
                Ok(Next::Continue)
            }
        }
    }

    fn nop_out(&mut self, rx: &Rx, n: &pdu::NopOut) -> Result<Next, RxError> {
        if n.itt == RESERVED_TAG {
            // A ping answer (TTT set) or an unsolicited keep-alive; the
            // receive already cleared the ping timer.
            return Ok(Next::Continue);
        }
        if !self.accept_cmd_sn(n.cmd_sn, n.immediate) {
            return Ok(Next::Continue);
        }
        self.credit(n.immediate);
        let data = rx.data();
        let data = data
            .get(..data.len().min(self.params.max_xmit as usize))
            .unwrap_or(&[]);
        let (itt, lun) = (n.itt, n.lun);
        self.conn.send_with_status(
            |sn, exp, max, out| {
                pdu::NopIn {
                    total_ahs_len: 0,
                    data_segment_len: data.len() as u32,
                    lun,
                    itt,
                    ttt: RESERVED_TAG,
                    stat_sn: sn,
                    exp_cmd_sn: exp,
                    max_cmd_sn: max,
                }
                .encode(out)
            },
            data,
        )?;
        Ok(Next::Continue)
    }

    /// Sends CHECK CONDITION for a command the target refuses before the
    /// core sees it.
    fn fail_cmd(&self, c: &pdu::ScsiCommand, status: u8, sense: &[u8]) -> Result<(), RxError> {
        let t = Task {
            itt: c.itt,
            immediate: c.immediate,
            exp_data_sn: 0,
        };
        self.conn
            .send_status(t, status, sense, xfer::residual(c.expected_data_len, 0))?;
        Ok(())
    }

    fn scsi_command(&mut self, rx: &Rx, c: &pdu::ScsiCommand) -> Result<Next, RxError> {
        let conn = self.conn;
        let ahs = match pdu::parse_ahs(&rx.ahs) {
            Ok(a) => a,
            Err(_) => {
                self.credit(c.immediate);
                conn.reject(RejectReason::InvalidPduField, &rx.bhs)?;
                return Ok(Next::Continue);
            }
        };
        let mut cdb = [0u8; 32];
        let cdb_len = match pdu::assemble_cdb(&c.cdb, ahs.extended_cdb, &mut cdb) {
            Ok(n) => n,
            Err(_) => {
                // Longer than any CDB the core knows: INVALID FIELD IN CDB.
                self.fail_cmd(c, 0x02, &INVALID_CDB_SENSE)?;
                return Ok(Next::Continue);
            }
        };
        let imm = rx.data();
        if !c.write || c.expected_data_len == 0 {
            if !imm.is_empty() && !c.write {
                self.credit(c.immediate);
                conn.reject(RejectReason::ProtocolError, &rx.bhs)?;
                return Ok(Next::Continue);
            }
            self.submit(
                c.itt,
                c.lun,
                sam_lun(c.lun),
                cdb,
                cdb_len,
                c.expected_data_len,
                c.read,
                c.immediate,
                None,
                0,
                task_attr(c.attr),
            );
            return Ok(Next::Continue);
        }
        let xfer = match WriteXfer::new(
            c.expected_data_len,
            imm.len() as u32,
            c.final_bit,
            &self.params.xfer,
        ) {
            Ok(x) => x.with_ttt_base(self.ttt_base),
            Err(e) => {
                pr_debug!("iscsi: conn {}: write refused: {:?}\n", conn.id, e);
                self.credit(c.immediate);
                if let Some(r) = e.reject_reason() {
                    conn.reject(pdu_reason(r), &rx.bhs)?;
                }
                if e.drops_connection() {
                    return Err(RxError::Fatal("bad write command"));
                }
                return Ok(Next::Continue);
            }
        };
        self.ttt_base = self.ttt_base.wrapping_add(MAX_R2TS_PER_CMD);
        // From the core's buffer cache, which takes it back when the
        // command ends.
        let mut data = None;
        if c.expected_data_len <= MAX_TRANSFER {
            data = scst_core::alloc_buf(c.expected_data_len as usize).ok();
        }
        if let Some(d) = data.as_mut() {
            d[..imm.len()].copy_from_slice(imm);
        }
        let mut w = PendingWrite {
            itt: c.itt,
            lun_raw: c.lun,
            lun: sam_lun(c.lun),
            cdb,
            cdb_len,
            edtl: c.expected_data_len,
            read: c.read,
            immediate: c.immediate,
            xfer,
            data,
            r2ts: 0,
            attr: task_attr(c.attr),
        };
        if w.xfer.is_complete() {
            self.finish_write(w)?;
            return Ok(Next::Continue);
        }
        self.send_r2ts(&mut w)?;
        self.pending.push(w, GFP_KERNEL)?;
        Ok(Next::Continue)
    }

    fn send_r2ts(&self, w: &mut PendingWrite) -> Result<(), RxError> {
        while let Some(r) = w.xfer.next_r2t() {
            let tx_r2t = |sn: u32, exp: u32, max: u32, out: &mut [u8; BHS_LEN]| {
                pdu::R2t {
                    total_ahs_len: 0,
                    data_segment_len: 0,
                    lun: w.lun_raw,
                    itt: w.itt,
                    ttt: r.ttt,
                    stat_sn: sn,
                    exp_cmd_sn: exp,
                    max_cmd_sn: max,
                    r2t_sn: r.r2t_sn,
                    buffer_offset: r.buffer_offset,
                    desired_data_len: r.desired_len,
                }
                .encode(out)
            };
            // R2T carries the current StatSN without advancing it.
            let mut tx = self.conn.tx.lock();
            let mut bhs = [0u8; BHS_LEN];
            tx_r2t(tx.stat_sn, tx.exp_cmd_sn, tx.max_cmd_sn, &mut bhs);
            self.conn.send_locked(&mut tx, &bhs, &[])?;
            w.r2ts = w.r2ts.wrapping_add(1);
        }
        Ok(())
    }

    fn finish_write(&mut self, w: PendingWrite) -> Result<(), RxError> {
        match w.data {
            Some(d) => {
                self.submit(
                    w.itt,
                    w.lun_raw,
                    w.lun,
                    w.cdb,
                    w.cdb_len,
                    w.edtl,
                    w.read,
                    w.immediate,
                    Some(d),
                    w.r2ts,
                    w.attr,
                );
                Ok(())
            }
            None => {
                // No memory for the data, or too large: BUSY-like answer.
                let t = Task {
                    itt: w.itt,
                    immediate: w.immediate,
                    exp_data_sn: w.r2ts,
                };
                let sense: &[u8] = if w.edtl > MAX_TRANSFER {
                    &INVALID_CDB_SENSE
                } else {
                    &[]
                };
                let status = if w.edtl > MAX_TRANSFER {
                    0x02
                } else {
                    TASK_SET_FULL
                };
                self.conn
                    .send_status(t, status, sense, xfer::Residual::NONE)?;
                Ok(())
            }
        }
    }

    #[expect(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        itt: u32,
        lun_raw: u64,
        lun: u64,
        cdb: [u8; 32],
        cdb_len: usize,
        edtl: u32,
        read: bool,
        immediate: bool,
        data_out: Option<KVVec<u8>>,
        r2ts: u32,
        attr: TaskAttr,
    ) {
        let h = CmdHandle {
            conn: self.conn.clone(),
            itt,
            lun: lun_raw,
            edtl,
            read,
            immediate,
            exp_data_sn: r2ts,
            answered: false,
        };
        let entry = Inflight { itt };
        if self.conn.inflight.lock().push(entry, GFP_KERNEL).is_err() {
            // Dropping the handle answers TASK SET FULL.
            return;
        }
        match &self.session {
            Some(s) => s.rx_cmd(NewCmd {
                lun,
                cdb,
                cdb_len,
                expected_len: edtl,
                data_out,
                tag: u64::from(itt),
                attr,
                drv: h,
            }),
            None => drop(h),
        }
    }

    fn data_out(&mut self, rx: &Rx, d: &pdu::DataOut) -> Result<Next, RxError> {
        let conn = self.conn;
        let Some(i) = self.pending.iter().position(|w| w.itt == d.itt) else {
            // Not a write we wait data for (it may have been aborted).
            conn.reject(RejectReason::InvalidPduField, &rx.bhs)?;
            return Ok(Next::Continue);
        };
        let data = rx.data();
        let w = &mut self.pending[i];
        match w.xfer.on_data_out(
            d.ttt,
            d.data_sn,
            d.buffer_offset,
            data.len() as u32,
            d.final_bit,
        ) {
            Ok(progress) => {
                if let Some(buf) = w.data.as_mut() {
                    let off = d.buffer_offset as usize;
                    // The transfer checked offset + length against EDTL.
                    match buf.get_mut(off..off + data.len()) {
                        Some(dst) => dst.copy_from_slice(data),
                        None => return Err(RxError::Fatal("Data-Out beyond the buffer")),
                    }
                }
                match progress {
                    xfer::Progress::Continue => {}
                    xfer::Progress::SequenceDone => {
                        let mut w = self
                            .pending
                            .remove(i)
                            .map_err(|_| RxError::Fatal("pending list"))?;
                        let r = self.send_r2ts(&mut w);
                        self.pending.push(w, GFP_KERNEL)?;
                        r?;
                    }
                    xfer::Progress::Complete => {
                        let w = self
                            .pending
                            .remove(i)
                            .map_err(|_| RxError::Fatal("pending list"))?;
                        self.finish_write(w)?;
                    }
                }
                Ok(Next::Continue)
            }
            Err(e) => {
                pr_debug!("iscsi: conn {}: Data-Out refused: {:?}\n", conn.id, e);
                if let Some(r) = e.reject_reason() {
                    conn.reject(pdu_reason(r), &rx.bhs)?;
                }
                if e.drops_connection() {
                    return Err(RxError::Fatal("bad Data-Out"));
                }
                Ok(Next::Continue)
            }
        }
    }

    fn task_mgmt(&mut self, t: &pdu::TaskMgmtRequest) -> Result<Next, RxError> {
        let conn = self.conn;
        let lun = sam_lun(t.lun);
        let rtt = t.referenced_task_tag;
        let mut stop = false;
        // Writes still collecting Data-Out never reached the core: the
        // driver drops them itself, then the core does the rest.
        let (f, pending_hit) = match t.function {
            TmfFunction::AbortTask => {
                let hit = self.pending.iter().any(|w| w.itt == rtt);
                self.drop_pending(|w| w.itt == rtt);
                (Some(TmFunction::AbortTask), hit)
            }
            TmfFunction::AbortTaskSet => {
                self.drop_pending(|w| w.lun_raw == t.lun);
                (Some(TmFunction::AbortTaskSet), false)
            }
            TmfFunction::ClearTaskSet => {
                self.drop_pending(|w| w.lun_raw == t.lun);
                (Some(TmFunction::ClearTaskSet), false)
            }
            TmfFunction::LogicalUnitReset => {
                self.drop_pending(|w| w.lun_raw == t.lun);
                (Some(TmFunction::LunReset), false)
            }
            TmfFunction::TargetWarmReset | TmfFunction::TargetColdReset => {
                self.drop_pending(|_| true);
                // A cold reset also ends the connection (RFC 7143 11.5.1).
                stop = matches!(t.function, TmfFunction::TargetColdReset);
                (Some(TmFunction::TargetReset), false)
            }
            TmfFunction::ItNexusReset => {
                self.drop_pending(|_| true);
                (Some(TmFunction::NexusLossSess), false)
            }
            TmfFunction::ClearAca => (Some(TmFunction::ClearAca), false),
            TmfFunction::QueryTask => (
                Some(TmFunction::QueryTask),
                self.pending.iter().any(|w| w.itt == rtt),
            ),
            TmfFunction::QueryTaskSet => (
                Some(TmFunction::QueryTaskSet),
                self.pending.iter().any(|w| w.lun_raw == t.lun),
            ),
            TmfFunction::QueryAsyncEvent => (Some(TmFunction::QueryAsyncEvent), false),
            _ => (None, false),
        };
        let itt = t.itt;
        let h = TmfHandle {
            conn: conn.clone(),
            itt,
            f,
            pending_hit,
        };
        match (f, self.session.as_ref()) {
            // A cold reset ends the connection after its response: wait here.
            (Some(f), Some(s)) if stop => {
                let r = s.task_mgmt(f, lun, u64::from(rtt));
                h.respond(tmf_response(f, pending_hit, r.response), r.additional_info)?;
            }
            (Some(f), Some(s)) => {
                // Answered from the core's task management thread once the
                // aborted commands are gone; meanwhile this thread goes on
                // (NOP-Outs, Data-Outs). The connection's teardown waits for
                // the answer like for a command.
                if conn
                    .inflight
                    .lock()
                    .push(Inflight { itt }, GFP_KERNEL)
                    .is_err()
                {
                    h.respond(TmfResponse::Rejected, [0; 3])?;
                } else {
                    s.rx_mgmt_fn(f, lun, u64::from(rtt), h);
                }
            }
            (None, _) if t.function == TmfFunction::TaskReassign => {
                h.respond(TmfResponse::AllegianceReassignmentNotSupported, [0; 3])?
            }
            (None, _) | (Some(_), None) => h.respond(TmfResponse::NotSupported, [0; 3])?,
        }
        Ok(if stop { Next::Stop } else { Next::Continue })
    }

    fn drop_pending(&mut self, mut which: impl FnMut(&PendingWrite) -> bool) {
        let mut i = 0;
        while i < self.pending.len() {
            if which(&self.pending[i]) {
                let Ok(w) = self.pending.remove(i) else {
                    break;
                };
                if !w.immediate {
                    let mut tx = self.conn.tx.lock();
                    tx.max_cmd_sn = tx.max_cmd_sn.wrapping_add(1);
                }
            } else {
                i += 1;
            }
        }
    }

    fn logout(&mut self, l: &pdu::LogoutRequest) -> Result<Next, RxError> {
        let conn = self.conn;
        let (response, stop) = match l.reason {
            pdu::LogoutReason::CloseSession | pdu::LogoutReason::CloseConnection => {
                // Commands still running finish first (RFC 7143 11.14).
                self.drop_pending(|_| true);
                conn.wait_inflight();
                (pdu::LogoutResponseCode::Closed, true)
            }
            _ => (pdu::LogoutResponseCode::RecoveryNotSupported, false),
        };
        let (itt, t2w, t2r) = (l.itt, self.params.time2wait, self.params.time2retain);
        conn.send_with_status(
            |sn, exp, max, out| {
                pdu::LogoutResponse {
                    response,
                    total_ahs_len: 0,
                    data_segment_len: 0,
                    itt,
                    stat_sn: sn,
                    exp_cmd_sn: exp,
                    max_cmd_sn: max,
                    time2wait: t2w,
                    time2retain: t2r,
                }
                .encode(out)
            },
            &[],
        )?;
        Ok(if stop { Next::Stop } else { Next::Continue })
    }
}

/// R2Ts one command may issue before TTTs could repeat across commands.
const MAX_R2TS_PER_CMD: u32 = 1 << 16;

/// Fixed sense ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00).
const INVALID_CDB_SENSE: [u8; 18] = [
    0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0,
];

fn pdu_reason(r: RejectReason) -> RejectReason {
    r
}

/// The connection's thread.
fn run(conn: Arc<Conn>) {
    let mut rx = Rx::new();
    let outcome = login::run(&conn, &mut rx);
    match outcome {
        Ok(done) => full_feature(&conn, &mut rx, done),
        Err(RxError::Fatal(why)) => pr_info!("iscsi: conn {}: login failed: {}\n", conn.id, why),
        Err(RxError::Closed) => {}
    }
    conn.close();
    conn.wait_inflight();
    conn.info.lock().logged_in = false;
    conn.finished.store(true, Relaxed);
    conn.idle.notify_all();
}

impl Conn {
    /// Records a finished login and sets the sending parameters.
    pub(crate) fn logged_in(&self, d: &LoginDone) -> Result {
        {
            let mut tx = self.tx.lock();
            tx.exp_cmd_sn = d.exp_cmd_sn;
            tx.max_cmd_sn = d
                .exp_cmd_sn
                .wrapping_add(d.params.queued_commands.max(1) - 1);
            tx.header_digest = d.params.header_digest;
            tx.data_digest = d.params.data_digest;
            tx.max_xmit = d.params.max_xmit;
            tx.max_burst = d.params.max_burst;
        }
        let mut info = self.info.lock();
        info.initiator.clear();
        info.initiator.extend_from_slice(&d.initiator, GFP_KERNEL)?;
        info.target.clear();
        info.target.extend_from_slice(&d.target, GFP_KERNEL)?;
        info.isid = d.isid;
        info.tsih = d.tsih;
        info.discovery = d.discovery;
        info.params = Some(d.params);
        info.logged_in = true;
        Ok(())
    }

    /// The connection's number.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The driver state.
    pub(crate) fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Sets the window during login (before the full feature phase).
    pub(crate) fn set_login_window(&self, exp_cmd_sn: u32, stat_sn: Option<u32>) {
        let mut tx = self.tx.lock();
        tx.exp_cmd_sn = exp_cmd_sn;
        tx.max_cmd_sn = exp_cmd_sn;
        if let Some(s) = stat_sn {
            tx.stat_sn = s;
        }
    }
}

fn full_feature(conn: &Arc<Conn>, rx: &mut Rx, done: LoginDone) {
    let session = if done.discovery {
        None
    } else {
        let target = core::str::from_utf8(&done.target).unwrap_or("");
        let initiator = core::str::from_utf8(&done.initiator).unwrap_or("");
        let isid = done.isid.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        match Session::with_isid(conn.state.driver.clone(), target, initiator, isid) {
            Ok(s) => Some(s),
            Err(e) => {
                pr_warn!(
                    "iscsi: conn {}: cannot open the SCST session: {:?}\n",
                    conn.id,
                    e
                );
                return;
            }
        }
    };
    if let Err(e) = conn.logged_in(&done) {
        pr_warn!("iscsi: conn {}: {:?}\n", conn.id, e);
        return;
    }
    if let Some(s) = &session {
        let sink: Arc<dyn scst_core::AenSink> = conn.clone();
        s.set_aen(sink);
    }
    pr_info!(
        "iscsi: conn {}: {} session of {} logged in\n",
        conn.id,
        if done.discovery {
            "discovery"
        } else {
            "normal"
        },
        core::str::from_utf8(&done.initiator).unwrap_or("?")
    );
    rx.ff = true;
    let params = done.params;
    let mut ff = Ff {
        conn,
        session,
        params,
        discovery: done.discovery,
        pending: KVec::new(),
        target: &done.target,
        initiator: &done.initiator,
        ttt_base: 1,
        text_cont: None,
    };
    loop {
        if let Err(e) = conn.read_pdu(rx, &params) {
            if let RxError::Fatal(why) = e {
                pr_info!("iscsi: conn {}: dropped: {}\n", conn.id, why);
            }
            break;
        }
        match ff.handle(rx) {
            Ok(Next::Continue) => {}
            Ok(Next::Stop) => break,
            Err(RxError::Fatal(why)) => {
                pr_info!("iscsi: conn {}: dropped: {}\n", conn.id, why);
                break;
            }
            Err(RxError::Closed) => break,
        }
    }
    // Nexus loss: the socket goes first so nothing else arrives, running
    // commands finish, then the SCST session closes.
    conn.close();
    conn.wait_inflight();
    drop(ff.session.take());
    pr_info!("iscsi: conn {}: closed\n", conn.id);
}
