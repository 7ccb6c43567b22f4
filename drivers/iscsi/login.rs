// SPDX-License-Identifier: GPL-2.0

//! The login phase and Text requests of a connection: the pure state
//! machines of `proto::login` and `proto::discovery`, fed with PDUs from
//! the socket and with the configuration.

use crate::{
    config::{Auth, Config, Params},
    conn::{Conn, LoginDone, Negotiated, Rx, RxError},
    proto::{
        cfg::Digests,
        discovery::{self, IpAddr, Portal, TargetDirectory},
        login::{self, AuthPolicy, LoginEnv, LoginState, SessionLookup},
        params::{Digest, DigestPolicy, SessionType, TargetLimits},
        pdu::{self, Stage, BHS_LEN, RESERVED_TAG},
        text::{TextIter, TextWriter},
        xfer::XferParams,
    },
    State,
};
use kernel::{prelude::*, sync::Arc};
use scst_sys::net::{random_bytes, SockAddr};

/// The portal group tag of every portal (one portal group).
const TPGT: u16 = 1;

fn policy(d: Digests) -> DigestPolicy {
    match d {
        Digests::None => DigestPolicy::NoneOnly,
        Digests::Crc32c => DigestPolicy::Crc32cOnly,
        Digests::Crc32cOrNone | Digests::NoneOrCrc32c => DigestPolicy::Either,
    }
}

/// The negotiation limits of the administrator's parameters.
fn limits(p: &Params) -> TargetLimits {
    TargetLimits {
        max_recv_data_segment_length: p.max_recv_data_segment_length,
        max_xmit_data_segment_length: p.max_xmit_data_segment_length,
        max_burst_length: p.max_burst_length,
        first_burst_length: p.first_burst_length,
        max_outstanding_r2t: u16::try_from(p.max_outstanding_r2t).unwrap_or(u16::MAX),
        initial_r2t: p.initial_r2t,
        immediate_data: p.immediate_data,
        header_digest: policy(p.header_digest),
        data_digest: policy(p.data_digest),
        default_time2wait: u16::try_from(p.default_time2wait).unwrap_or(3600),
        default_time2retain: u16::try_from(p.default_time2retain).unwrap_or(3600),
        queue_depth: p.queued_commands,
        ..TargetLimits::RFC_DEFAULTS
    }
}

/// What a login sees of the driver: the configuration (locked for the
/// duration of one step) and the live sessions.
struct Env<'a> {
    cfg: &'a Config,
    state: &'a State,
}

impl Env<'_> {
    fn scope(&self, target: Option<&[u8]>) -> Option<(&Params, &Auth)> {
        match target {
            None => Some((&self.cfg.discovery_params, &self.cfg.discovery_auth)),
            Some(t) => self.cfg.target(t).map(|t| (&t.params, &t.auth)),
        }
    }
}

impl LoginEnv for Env<'_> {
    fn target_exists(&self, target: &[u8]) -> bool {
        self.cfg.target(target).is_some()
    }

    fn discovery_enabled(&self) -> bool {
        true
    }

    fn access_allowed(&self, target: Option<&[u8]>, initiator: &[u8]) -> bool {
        // Which LUNs an initiator sees is the core's group decision; the
        // target's allow list decides whether it may log in at all.
        match target {
            None => true,
            Some(t) => self.cfg.target(t).is_some_and(|t| t.allows(initiator)),
        }
    }

    fn auth_policy(&self, target: Option<&[u8]>) -> AuthPolicy {
        match self.scope(target) {
            Some((_, a)) if !a.incoming.is_empty() => AuthPolicy::Chap { mutual: false },
            _ => AuthPolicy::None,
        }
    }

    fn chap_secret(&self, target: Option<&[u8]>, chap_n: &[u8]) -> Option<&[u8]> {
        self.scope(target)?.1.incoming_secret(chap_n)
    }

    fn mutual_chap(&self, target: Option<&[u8]>) -> Option<(&[u8], &[u8])> {
        let u = self.scope(target)?.1.outgoing.as_ref()?;
        Some((u.name.to_bytes(), &u.secret[..]))
    }

    fn limits(&self, target: Option<&[u8]>) -> TargetLimits {
        self.scope(target)
            .map(|(p, _)| limits(p))
            .unwrap_or(TargetLimits::RFC_DEFAULTS)
    }

    fn portal_group_tag(&self) -> u16 {
        TPGT
    }

    fn target_alias(&self, _target: &[u8]) -> Option<&[u8]> {
        None
    }

    fn session(&self, initiator: &[u8], isid: &[u8; 6], tsih: u16) -> SessionLookup {
        // One connection per session: a second one is refused (0x0206).
        let mut found = false;
        self.state
            .for_each_conn(|c| found |= c.has_tsih(initiator, isid, tsih));
        if found {
            SessionLookup::Found {
                connections: 1,
                max_connections: 1,
            }
        } else {
            SessionLookup::NotFound
        }
    }

    fn random(&mut self, buf: &mut [u8]) {
        random_bytes(buf);
    }
}

fn negotiated(
    p: &Params,
    s: &crate::proto::params::SessionParams,
    c: &crate::proto::params::ConnParams,
) -> Negotiated {
    Negotiated {
        header_digest: c.header_digest == Digest::Crc32c,
        data_digest: c.data_digest == Digest::Crc32c,
        max_recv: c.max_recv_data_segment_length,
        max_xmit: c.max_xmit_data_segment_length,
        xfer: XferParams {
            initial_r2t: s.initial_r2t,
            immediate_data: s.immediate_data,
            first_burst_length: s.first_burst_length,
            max_burst_length: s.max_burst_length,
            max_outstanding_r2t: s.max_outstanding_r2t.into(),
            target_mrdsl: c.max_recv_data_segment_length,
        },
        max_burst: s.max_burst_length,
        queued_commands: p.queued_commands,
        nop_in_interval_ms: p.nop_in_interval.saturating_mul(1000),
        nop_in_timeout_ms: p.nop_in_timeout.saturating_mul(1000),
        time2wait: s.default_time2wait,
        time2retain: s.default_time2retain,
    }
}

/// Runs the login phase of `conn`: returns what the full feature phase
/// needs, or why the connection ends.
pub(crate) fn run(conn: &Arc<Conn>, rx: &mut Rx) -> Result<LoginDone, RxError> {
    let mut st = KBox::new(LoginState::new(), GFP_KERNEL)?;
    let mut out = KVec::new();
    out.resize(login::LOGIN_TEXT_MAX, 0u8, GFP_KERNEL)?;
    let state = conn.state().clone();
    let mut first = true;
    loop {
        conn.read_pdu(rx, &Negotiated::LOGIN)?;
        if pdu::opcode_raw(&rx.bhs) != pdu::Opcode::LoginRequest.to_u8() {
            // Only Login Requests until the login is complete (RFC 7143 6.3).
            return Err(RxError::Fatal("not a Login Request during login"));
        }
        let req =
            pdu::LoginRequest::decode(&rx.bhs).map_err(|_| RxError::Fatal("bad Login Request"))?;
        if first {
            // The first response starts StatSN; CmdSN is the initiator's.
            conn.set_login_window(req.cmd_sn, Some(req.exp_stat_sn));
            first = false;
        }
        let lr = login::LoginRequest {
            transit: req.transit,
            cont: req.cont,
            csg: req.csg.to_bits(),
            nsg: req.nsg.to_bits(),
            version_max: req.version_max,
            version_min: req.version_min,
            isid: req.isid,
            tsih: req.tsih,
            itt: req.itt,
            cid: req.cid,
            cmd_sn: req.cmd_sn,
            exp_stat_sn: req.exp_stat_sn,
        };
        let (mut reply, params) = {
            let cfg = state.config.lock();
            let mut env = Env {
                cfg: &cfg,
                state: &state,
            };
            let reply = st.step(&mut env, &lr, rx.data(), &mut out);
            let p = match st.target_name() {
                Some(t) => cfg.target(t).map(|t| t.params).unwrap_or_default(),
                None => cfg.discovery_params,
            };
            (reply, p)
        };
        let mut tsih = reply.tsih;
        let mut done = None;
        if reply.complete {
            let (s, c) = st
                .params()
                .ok_or(RxError::Fatal("login without parameters"))?;
            let discovery = s.session_type == SessionType::Discovery;
            let target = st.target_name().unwrap_or(&[]);
            if !discovery {
                // Session reinstatement: a new session with the ISID of a
                // live one replaces it (RFC 7143 6.3.5, ERL 0).
                reinstate(&state, st.initiator_name(), &st.isid(), target);
            }
            if st.new_session() {
                tsih = (state.next_id() & 0xffff) as u16;
            }
            let mut initiator = KVec::new();
            initiator.extend_from_slice(st.initiator_name(), GFP_KERNEL)?;
            let mut tname = KVec::new();
            tname.extend_from_slice(target, GFP_KERNEL)?;
            done = Some(LoginDone {
                discovery,
                initiator,
                target: tname,
                isid: st.isid(),
                tsih,
                params: negotiated(&params, &s, &c),
                exp_cmd_sn: req.cmd_sn,
            });
        }
        reply.tsih = tsih;
        let depth = done.as_ref().map_or(1, |d| d.params.queued_commands.max(1));
        let text = out.get(..reply.text_len).unwrap_or(&[]);
        let isid = req.isid;
        conn.send_with_status(
            |sn, exp, _max, bhs: &mut [u8; BHS_LEN]| {
                pdu::LoginResponse {
                    transit: reply.transit,
                    cont: reply.cont,
                    csg: Stage::from_bits(reply.csg),
                    nsg: Stage::from_bits(reply.nsg),
                    version_max: reply.version_max,
                    version_active: reply.version_active,
                    total_ahs_len: 0,
                    data_segment_len: text.len() as u32,
                    isid,
                    tsih: reply.tsih,
                    itt: req.itt,
                    stat_sn: sn,
                    exp_cmd_sn: exp,
                    // The final response opens the command window.
                    max_cmd_sn: exp.wrapping_add(depth - 1),
                    status_class: reply.status.class(),
                    status_detail: reply.status.detail(),
                }
                .encode(bhs)
            },
            text,
        )?;
        if reply.close {
            pr_info!(
                "iscsi: conn {}: login refused: {}\n",
                conn.id(),
                reply.status.description()
            );
            return Err(RxError::Closed);
        }
        if let Some(d) = done {
            return Ok(d);
        }
    }
}

/// Closes a live session of `initiator` with `isid` on `target`, and waits
/// until it is gone.
fn reinstate(state: &Arc<State>, initiator: &[u8], isid: &[u8; 6], target: &[u8]) {
    let mut old = None;
    state.for_each_conn(|c| {
        if c.is_session(initiator, isid, target) {
            old = Some(c.clone());
        }
    });
    if let Some(c) = old {
        pr_info!(
            "iscsi: conn {}: session reinstated by a new login\n",
            c.id()
        );
        c.close();
        c.wait_finished();
    }
}

/// The targets and portals, for SendTargets.
struct Directory<'a> {
    cfg: &'a Config,
    state: &'a State,
    /// The address the initiator reached us on: the answer for wildcard
    /// portals.
    local: Option<SockAddr>,
}

impl TargetDirectory for Directory<'_> {
    fn for_each_target(&self, f: &mut dyn FnMut(&[u8])) {
        for t in self.cfg.targets.iter() {
            f(t.name.to_bytes());
        }
    }

    fn for_each_portal(&self, _target: &[u8], f: &mut dyn FnMut(&Portal)) {
        self.state.for_each_portal(|p| {
            let (addr, port) = match p {
                crate::proto::cfg::Portal::V4(a, port) => (IpAddr::V4(a), port),
                crate::proto::cfg::Portal::V6(a, port) => (IpAddr::V6(a), port),
            };
            let wildcard = match addr {
                IpAddr::V4(a) => a == [0; 4],
                IpAddr::V6(a) => a == [0; 16],
            };
            let addr = match (wildcard, self.local) {
                (true, Some(SockAddr::V4(a, _))) => IpAddr::V4(a),
                (true, Some(SockAddr::V6(a, _, _))) => IpAddr::V6(a),
                _ => addr,
            };
            f(&Portal {
                addr,
                port,
                tpgt: TPGT,
            });
        });
    }

    fn visible(&self, target: &[u8], initiator: &[u8]) -> bool {
        self.cfg.target(target).is_some_and(|t| t.allows(initiator))
    }
}

/// A SendTargets answer that did not fit in one Text Response.
pub(crate) struct TextCont {
    itt: u32,
    ttt: u32,
    offset: usize,
    value: KVec<u8>,
}

/// Answers a Text Request of the full feature phase: SendTargets (in
/// chunks of the initiator's MaxRecvDataSegmentLength), anything else
/// NotUnderstood.
#[expect(clippy::too_many_arguments)]
pub(crate) fn text_request(
    conn: &Arc<Conn>,
    t: &pdu::TextRequest,
    data: &[u8],
    discovery: bool,
    target: &[u8],
    initiator: &[u8],
    max_xmit: u32,
    cont: &mut Option<TextCont>,
) -> Result<(), RxError> {
    let state = conn.state().clone();
    let mut out = KVec::new();
    out.resize((max_xmit as usize).min(64 * 1024), 0u8, GFP_KERNEL)?;
    // A continuation: the initiator's empty request echoes our TTT.
    let resume = match cont.take() {
        Some(c) if t.ttt != RESERVED_TAG && c.ttt == t.ttt && c.itt == t.itt => Some(c),
        _ => None,
    };
    let (value, offset) = match &resume {
        Some(c) => (Some(&c.value[..]), c.offset),
        None => {
            let mut v = None;
            for (k, val) in TextIter::new(data).flatten() {
                if k == b"SendTargets" {
                    v = Some(val);
                }
            }
            (v, 0)
        }
    };
    let (len, more, next) = match value {
        Some(v) => {
            let cfg = state.config.lock();
            let dir = Directory {
                cfg: &cfg,
                state: &state,
                local: conn.local_addr(),
            };
            let kind = if discovery {
                discovery::SessionKind::Discovery
            } else {
                discovery::SessionKind::Normal(target)
            };
            let c = discovery::send_targets(&dir, kind, initiator, v, offset, &mut out);
            (c.len, c.more, c.next_offset)
        }
        None => {
            // Keys other than SendTargets are not negotiated after login.
            let mut w = TextWriter::new(&mut out);
            for (k, _) in TextIter::new(data).flatten() {
                let _ = w.push(k, b"NotUnderstood");
            }
            (w.len(), false, 0)
        }
    };
    let ttt = if more {
        conn.id() | 0x8000_0000
    } else {
        RESERVED_TAG
    };
    if more {
        let mut v = KVec::new();
        v.extend_from_slice(value.unwrap_or(&[]), GFP_KERNEL)?;
        *cont = Some(TextCont {
            itt: t.itt,
            ttt,
            offset: next,
            value: v,
        });
    }
    let (itt, lun) = (t.itt, t.lun);
    let text = out.get(..len).unwrap_or(&[]);
    conn.send_with_status(
        |sn, exp, max, bhs| {
            pdu::TextResponse {
                final_bit: !more,
                cont: more,
                total_ahs_len: 0,
                data_segment_len: text.len() as u32,
                lun,
                itt,
                ttt,
                stat_sn: sn,
                exp_cmd_sn: exp,
                max_cmd_sn: max,
            }
            .encode(bhs)
        },
        text,
    )?;
    Ok(())
}
