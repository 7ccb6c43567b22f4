// SPDX-License-Identifier: GPL-2.0

//! Target side of the iSCSI login phase of one connection (RFC 7143 6.3,
//! 11.12, 11.13, 12.1.3).
//!
//! The state machine does not touch PDUs: the kernel decodes a Login
//! Request into a [`LoginRequest`] plus its data segment, calls
//! [`LoginState::step`], and encodes the returned [`LoginReply`] (flags,
//! stages, status, and the first [`LoginReply::text_len`] bytes of the
//! caller's text buffer as the data segment) into a Login Response. The
//! environment (configuration, ACLs, CHAP accounts, randomness) comes in
//! through the [`LoginEnv`] trait.
//!
//! # Flow
//!
//! - The first request text must carry `InitiatorName` and, for a Normal
//!   session, `TargetName` (0x0207 otherwise). `SessionType` defaults to
//!   Normal; an unknown value or a disabled Discovery is 0x0209; an unknown
//!   target 0x0203; an ACL refusal 0x0202. Version-min above 0x00 is 0x0205.
//! - The first response of a Normal session declares `TargetAlias` (if
//!   configured) and `TargetPortalGroupTag`.
//! - Security stage (CSG 0): `AuthMethod` is answered with `None` or
//!   `CHAP` according to [`LoginEnv::auth_policy`]; CHAP runs through
//!   [`super::chap::ChapTarget`] (CHAP_A -> CHAP_A/CHAP_I/CHAP_C; CHAP_N/
//!   CHAP_R [+ CHAP_I/CHAP_C for mutual] -> [CHAP_N/CHAP_R]). The target
//!   transits (T=1) only once authentication is complete, and always to the
//!   Operational stage (NSG=1, also when the initiator asked for Full
//!   Feature Phase) so that it can declare its `MaxRecvDataSegmentLength`.
//!   Starting in the Operational stage when authentication is required is
//!   0x0201.
//! - Operational stage (CSG 1): keys go to [`Negotiator`]; the first
//!   response declares `MaxRecvDataSegmentLength`. When the initiator asks
//!   to transit, keys where the target needs a non-default value are offered
//!   first (T=0 response); the initiator answers and asks again, and the
//!   final response has T=1, NSG=3 and status 0: [`LoginReply::complete`].
//! - C bit: a request with C=1 is accumulated (up to [`LOGIN_TEXT_MAX`]
//!   bytes) and answered with an empty response (T=0, C=0).
//! - ISID, TSIH, CID, ITT and the version range must be the same in every
//!   request of the login; T and C together, a reserved or backwards stage,
//!   or a stage change the target did not grant are initiator errors.
//! - Limits: at most [`MAX_LOGIN_PDUS`] requests and [`MAX_LOGIN_BYTES`]
//!   data bytes per login; the kernel also applies a timeout
//!   ([`LOGIN_TIMEOUT_SECS`] suggested).
//!
//! Any failure gives a reply with a non-zero status, `close` set, and an
//! empty text; the state is then failed and further steps are refused.

use core::fmt;

use super::chap::{ChapState, ChapTarget, CHALLENGE_LEN, RESPONSE_HEX_LEN};
use super::params::{
    ConnParams, Key, KeyDisposition, NegError, Negotiator, SessionParams, SessionType, TargetLimits,
};
use super::text::{self, TextAccumulator, TextIter, TextWriter};

/// Largest request text of one login step (the data segments of a C-bit
/// sequence together). LIO accepts the same.
pub const LOGIN_TEXT_MAX: usize = 8192;
/// Most Login Requests one login may take (a CHAP login with target offers
/// needs 5; continuation PDUs count too).
pub const MAX_LOGIN_PDUS: u32 = 64;
/// Most data-segment bytes one login may send in total.
pub const MAX_LOGIN_BYTES: usize = 64 * 1024;
/// Suggested limit, in seconds, for a whole login (enforced by the kernel).
pub const LOGIN_TIMEOUT_SECS: u32 = 30;
/// Longest iSCSI name (RFC 7143 4.2.7.1: 223 bytes).
pub const MAX_NAME_LEN: usize = 223;

/// Login stage codes of the CSG/NSG fields (RFC 7143 11.12.3).
pub mod stage {
    /// SecurityNegotiation.
    pub const SECURITY: u8 = 0;
    /// LoginOperationalNegotiation.
    pub const OPERATIONAL: u8 = 1;
    /// FullFeaturePhase.
    pub const FULL_FEATURE: u8 = 3;
}

/// Login response status, `class << 8 | detail` (RFC 7143 11.13.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginStatus(pub u16);

impl LoginStatus {
    /// Success.
    pub const SUCCESS: Self = Self(0x0000);
    /// Target moved temporarily (redirect; not produced here).
    pub const TARGET_MOVED_TEMPORARILY: Self = Self(0x0101);
    /// Target moved permanently (redirect; not produced here).
    pub const TARGET_MOVED_PERMANENTLY: Self = Self(0x0102);
    /// Initiator error (protocol error, malformed text).
    pub const INITIATOR_ERROR: Self = Self(0x0200);
    /// Authentication failure.
    pub const AUTH_FAILURE: Self = Self(0x0201);
    /// Authorization failure (ACL).
    pub const AUTHORIZATION_FAILURE: Self = Self(0x0202);
    /// Target not found.
    pub const NOT_FOUND: Self = Self(0x0203);
    /// Target removed.
    pub const TARGET_REMOVED: Self = Self(0x0204);
    /// Unsupported version.
    pub const UNSUPPORTED_VERSION: Self = Self(0x0205);
    /// Too many connections.
    pub const TOO_MANY_CONNECTIONS: Self = Self(0x0206);
    /// Missing parameter.
    pub const MISSING_PARAMETER: Self = Self(0x0207);
    /// Can't include in session.
    pub const CANT_INCLUDE_IN_SESSION: Self = Self(0x0208);
    /// Session type not supported.
    pub const SESSION_TYPE_NOT_SUPPORTED: Self = Self(0x0209);
    /// Session does not exist.
    pub const SESSION_DOES_NOT_EXIST: Self = Self(0x020a);
    /// Invalid during login (also for non-Login PDUs during login, which the
    /// kernel detects).
    pub const INVALID_DURING_LOGIN: Self = Self(0x020b);
    /// Target error.
    pub const TARGET_ERROR: Self = Self(0x0300);
    /// Service unavailable.
    pub const SERVICE_UNAVAILABLE: Self = Self(0x0301);
    /// Out of resources.
    pub const OUT_OF_RESOURCES: Self = Self(0x0302);

    /// Status-Class byte.
    pub const fn class(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Status-Detail byte.
    pub const fn detail(self) -> u8 {
        self.0 as u8
    }

    /// Whether this is [`LoginStatus::SUCCESS`].
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// A short description for the kernel log.
    pub const fn description(self) -> &'static str {
        match self.0 {
            0x0000 => "success",
            0x0101 => "target moved temporarily",
            0x0102 => "target moved permanently",
            0x0200 => "initiator error",
            0x0201 => "authentication failure",
            0x0202 => "authorization failure",
            0x0203 => "target not found",
            0x0204 => "target removed",
            0x0205 => "unsupported version",
            0x0206 => "too many connections",
            0x0207 => "missing parameter",
            0x0208 => "can't include in session",
            0x0209 => "session type not supported",
            0x020a => "session does not exist",
            0x020b => "invalid during login",
            0x0300 => "target error",
            0x0301 => "service unavailable",
            0x0302 => "out of resources",
            _ => "unknown status",
        }
    }
}

impl fmt::Display for LoginStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x} ({})", self.0, self.description())
    }
}

/// The fields of a Login Request header the state machine needs (RFC 7143
/// 11.12).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginRequest {
    /// T bit.
    pub transit: bool,
    /// C bit.
    pub cont: bool,
    /// Current stage (2 bits).
    pub csg: u8,
    /// Next stage (2 bits).
    pub nsg: u8,
    /// Version-max.
    pub version_max: u8,
    /// Version-min.
    pub version_min: u8,
    /// ISID.
    pub isid: [u8; 6],
    /// TSIH (0 for a new session).
    pub tsih: u16,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Connection ID.
    pub cid: u16,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
}

/// What to send back (RFC 7143 11.13). ISID, ITT, StatSN, ExpCmdSN and
/// MaxCmdSN are the kernel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginReply {
    /// T bit.
    pub transit: bool,
    /// C bit (always 0: responses are never continued).
    pub cont: bool,
    /// Current stage.
    pub csg: u8,
    /// Next stage (meaningful when `transit`; 0 otherwise).
    pub nsg: u8,
    /// Version-max (0x00).
    pub version_max: u8,
    /// Version-active (0x00).
    pub version_active: u8,
    /// TSIH: the request's. On the final response of a new session
    /// ([`LoginState::new_session`]) the kernel puts the TSIH it allocates.
    pub tsih: u16,
    /// Status.
    pub status: LoginStatus,
    /// Length of the response text at the start of the caller's buffer.
    pub text_len: usize,
    /// The login succeeded: after sending this reply the connection is in
    /// Full Feature Phase; the results are in [`LoginState`].
    pub complete: bool,
    /// The login failed: close the connection after sending this reply.
    pub close: bool,
}

impl LoginReply {
    /// A failure reply to `req` with `status` (also for the kernel's own
    /// failures, e.g. no TSIH left: [`LoginStatus::OUT_OF_RESOURCES`]).
    pub fn failure(req: &LoginRequest, status: LoginStatus) -> Self {
        LoginReply {
            transit: false,
            cont: false,
            csg: req.csg & 3,
            nsg: 0,
            version_max: 0,
            version_active: 0,
            tsih: req.tsih,
            status,
            text_len: 0,
            complete: false,
            close: true,
        }
    }
}

/// Authentication the target requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No authentication (`AuthMethod=None`).
    None,
    /// CHAP; with `mutual` the initiator must also authenticate the target.
    Chap {
        /// Require mutual CHAP.
        mutual: bool,
    },
}

/// An existing session the initiator wants to add a connection to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLookup {
    /// No session with this initiator name, ISID and TSIH.
    NotFound,
    /// The session exists.
    Found {
        /// Its current connections.
        connections: u16,
        /// Its negotiated `MaxConnections`.
        max_connections: u16,
    },
}

/// What the state machine needs from the kernel. `target` is `None` for
/// Discovery sessions (the discovery configuration applies).
pub trait LoginEnv {
    /// Whether a target with this exact name exists.
    fn target_exists(&self, target: &[u8]) -> bool;
    /// Whether Discovery sessions are accepted.
    fn discovery_enabled(&self) -> bool;
    /// Whether the initiator may log in (ACL).
    fn access_allowed(&self, target: Option<&[u8]>, initiator: &[u8]) -> bool;
    /// The authentication the target requires.
    fn auth_policy(&self, target: Option<&[u8]>) -> AuthPolicy;
    /// The secret of the incoming CHAP account `chap_n`.
    fn chap_secret(&self, target: Option<&[u8]>, chap_n: &[u8]) -> Option<&[u8]>;
    /// The outgoing CHAP account (name, secret) for mutual CHAP.
    fn mutual_chap(&self, target: Option<&[u8]>) -> Option<(&[u8], &[u8])>;
    /// The negotiation limits (validated by the state machine; invalid
    /// limits fail the login with 0x0300).
    fn limits(&self, target: Option<&[u8]>) -> TargetLimits;
    /// The portal group tag of the portal the connection came in on.
    fn portal_group_tag(&self) -> u16;
    /// The target's alias, if any.
    fn target_alias(&self, target: &[u8]) -> Option<&[u8]>;
    /// Looks up the session of a login with a non-zero TSIH.
    fn session(&self, initiator: &[u8], isid: &[u8; 6], tsih: u16) -> SessionLookup;
    /// Fills `buf` with random bytes (CHAP identifier and challenge).
    fn random(&mut self, buf: &mut [u8]);
}

/// A name of at most `N` bytes, stored inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for NameBuf<N> {
    fn default() -> Self {
        NameBuf {
            buf: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> NameBuf<N> {
    /// Copies `name`; `None` if it is longer than `N`.
    pub fn new(name: &[u8]) -> Option<Self> {
        let mut b = Self::default();
        b.buf.get_mut(..name.len())?.copy_from_slice(name);
        b.len = name.len();
        Some(b)
    }

    /// The name.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Whether the name is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Whether an initiator-supplied name is acceptable at login: 1..=223
/// bytes, no control characters or spaces. The format rules
/// ([`super::discovery::validate_iscsi_name`]) are for configuration; real
/// initiators are not always strict.
pub fn plausible_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.iter().all(|&c| c > b' ' && c != 0x7f)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Start,
    Security,
    Operational,
    Complete,
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// AuthMethod not (successfully) negotiated yet.
    Pending,
    None,
    Chap,
}

/// The header fields that must not change during a login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fixed {
    isid: [u8; 6],
    tsih: u16,
    itt: u32,
    cid: u16,
    version_max: u8,
    version_min: u8,
}

/// Everything but the text accumulator (so the text can be borrowed while
/// the rest is updated).
#[derive(Clone, Debug)]
struct Core {
    phase: Phase,
    fixed: Option<Fixed>,
    /// CSG of a C-bit sequence in progress.
    cont_csg: Option<u8>,
    pdus: u32,
    bytes: usize,
    initiator: NameBuf<MAX_NAME_LEN>,
    target: NameBuf<MAX_NAME_LEN>,
    session_type: SessionType,
    leading: bool,
    policy: AuthPolicy,
    method: Method,
    chap: Option<ChapTarget>,
    neg: Negotiator,
    result: Option<(SessionParams, ConnParams)>,
    cmd_sn: u32,
    exp_stat_sn: u32,
}

/// The security keys of one text.
#[derive(Default)]
struct SecKeys<'t> {
    auth_method: Option<&'t [u8]>,
    a: Option<&'t [u8]>,
    i: Option<&'t [u8]>,
    c: Option<&'t [u8]>,
    n: Option<&'t [u8]>,
    r: Option<&'t [u8]>,
}

impl SecKeys<'_> {
    fn any_chap(&self) -> bool {
        self.a.is_some()
            || self.i.is_some()
            || self.c.is_some()
            || self.n.is_some()
            || self.r.is_some()
    }
}

type Step<T> = Result<T, LoginStatus>;

fn neg_status(e: NegError) -> LoginStatus {
    match e {
        NegError::Protocol(_) | NegError::Unacceptable(_) => LoginStatus::INITIATOR_ERROR,
        NegError::Full => LoginStatus::OUT_OF_RESOURCES,
    }
}

fn full(_: text::TextFull) -> LoginStatus {
    LoginStatus::OUT_OF_RESOURCES
}

/// The login state of one connection.
///
/// About 9 KiB (the [`LOGIN_TEXT_MAX`] accumulator): the kernel allocates
/// it rather than putting it on the stack.
#[derive(Clone, Debug)]
pub struct LoginState {
    core: Core,
    text: TextAccumulator<LOGIN_TEXT_MAX>,
}

impl Default for LoginState {
    fn default() -> Self {
        Self::new()
    }
}

impl LoginState {
    /// A connection that has not sent a Login Request yet.
    pub fn new() -> Self {
        LoginState {
            core: Core {
                phase: Phase::Start,
                fixed: None,
                cont_csg: None,
                pdus: 0,
                bytes: 0,
                initiator: NameBuf::default(),
                target: NameBuf::default(),
                session_type: SessionType::Normal,
                leading: true,
                policy: AuthPolicy::None,
                method: Method::Pending,
                chap: None,
                neg: Negotiator::new(&TargetLimits::RFC_DEFAULTS, SessionType::Normal, true),
                result: None,
                cmd_sn: 0,
                exp_stat_sn: 0,
            },
            text: TextAccumulator::new(),
        }
    }

    /// Handles one Login Request with its data segment; writes the response
    /// text to `out` (give it at most 8192 bytes: the initiator's
    /// `MaxRecvDataSegmentLength` during login is the default 8192).
    pub fn step<E: LoginEnv + ?Sized>(
        &mut self,
        env: &mut E,
        req: &LoginRequest,
        data: &[u8],
        out: &mut [u8],
    ) -> LoginReply {
        let r = self.core.step(&mut self.text, env, req, data, out);
        match r {
            Ok(reply) => reply,
            Err(status) => {
                self.core.phase = Phase::Failed;
                self.text.clear();
                LoginReply::failure(req, status)
            }
        }
    }

    /// Whether the login completed successfully.
    pub fn is_complete(&self) -> bool {
        self.core.phase == Phase::Complete
    }

    /// Whether the login failed.
    pub fn is_failed(&self) -> bool {
        self.core.phase == Phase::Failed
    }

    /// The initiator's name (empty before the first request is accepted).
    pub fn initiator_name(&self) -> &[u8] {
        self.core.initiator.as_bytes()
    }

    /// The target's name (`None` for Discovery sessions and before the
    /// first request is accepted).
    pub fn target_name(&self) -> Option<&[u8]> {
        if self.core.target.is_empty() || self.core.session_type == SessionType::Discovery {
            None
        } else {
            Some(self.core.target.as_bytes())
        }
    }

    /// The session type.
    pub fn session_type(&self) -> SessionType {
        self.core.session_type
    }

    /// ISID of the login (zero before the first request).
    pub fn isid(&self) -> [u8; 6] {
        self.core.fixed.map(|f| f.isid).unwrap_or_default()
    }

    /// TSIH the initiator sent (0: a new session).
    pub fn request_tsih(&self) -> u16 {
        self.core.fixed.map(|f| f.tsih).unwrap_or_default()
    }

    /// Whether this login creates a new session (TSIH 0): the kernel then
    /// allocates the TSIH for the final response (or reinstates an older
    /// session with the same initiator name and ISID, RFC 7143 6.3.5).
    pub fn new_session(&self) -> bool {
        self.request_tsih() == 0
    }

    /// CID of the connection.
    pub fn cid(&self) -> u16 {
        self.core.fixed.map(|f| f.cid).unwrap_or_default()
    }

    /// CmdSN of the last request (the session's first ExpCmdSN).
    pub fn cmd_sn(&self) -> u32 {
        self.core.cmd_sn
    }

    /// ExpStatSN of the last request.
    pub fn exp_stat_sn(&self) -> u32 {
        self.core.exp_stat_sn
    }

    /// The negotiated parameters, once the login is complete.
    pub fn params(&self) -> Option<(SessionParams, ConnParams)> {
        self.core.result
    }
}

impl Core {
    fn check_header(&mut self, req: &LoginRequest) -> Step<()> {
        let fixed = Fixed {
            isid: req.isid,
            tsih: req.tsih,
            itt: req.itt,
            cid: req.cid,
            version_max: req.version_max,
            version_min: req.version_min,
        };
        match self.fixed {
            None => {
                // We speak version 0x00 only (RFC 7143 11.12.4).
                if req.version_min != 0 {
                    return Err(LoginStatus::UNSUPPORTED_VERSION);
                }
                self.fixed = Some(fixed);
            }
            Some(f) if f != fixed => return Err(LoginStatus::INITIATOR_ERROR),
            Some(_) => {}
        }
        if req.transit && req.cont {
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        if req.csg > stage::OPERATIONAL {
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        if req.transit
            && !(req.nsg > req.csg && matches!(req.nsg, stage::OPERATIONAL | stage::FULL_FEATURE))
        {
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        let expected = match self.phase {
            Phase::Start => req.csg,
            Phase::Security => stage::SECURITY,
            Phase::Operational => stage::OPERATIONAL,
            Phase::Complete | Phase::Failed => return Err(LoginStatus::INVALID_DURING_LOGIN),
        };
        if req.csg != expected || self.cont_csg.is_some_and(|c| c != req.csg) {
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        Ok(())
    }

    fn step<E: LoginEnv + ?Sized>(
        &mut self,
        acc: &mut TextAccumulator<LOGIN_TEXT_MAX>,
        env: &mut E,
        req: &LoginRequest,
        data: &[u8],
        out: &mut [u8],
    ) -> Step<LoginReply> {
        if matches!(self.phase, Phase::Complete | Phase::Failed) {
            return Err(LoginStatus::INVALID_DURING_LOGIN);
        }
        self.pdus = self.pdus.saturating_add(1);
        self.bytes = self.bytes.saturating_add(data.len());
        if self.pdus > MAX_LOGIN_PDUS || self.bytes > MAX_LOGIN_BYTES {
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        self.check_header(req)?;
        self.cmd_sn = req.cmd_sn;
        self.exp_stat_sn = req.exp_stat_sn;
        acc.append(data).map_err(|_| LoginStatus::INITIATOR_ERROR)?;
        let mut reply = LoginReply {
            transit: false,
            cont: false,
            csg: req.csg,
            nsg: 0,
            version_max: 0,
            version_active: 0,
            tsih: req.tsih,
            status: LoginStatus::SUCCESS,
            text_len: 0,
            complete: false,
            close: false,
        };
        if req.cont {
            // RFC 7143 6.2: answer each continued part with an empty
            // response; the text is processed when it is complete.
            self.cont_csg = Some(req.csg);
            return Ok(reply);
        }
        self.cont_csg = None;
        let r = self.process(acc.as_bytes(), env, req, out, &mut reply);
        acc.clear();
        r.map(|()| reply)
    }

    /// Processes one complete request text.
    fn process<E: LoginEnv + ?Sized>(
        &mut self,
        t: &[u8],
        env: &mut E,
        req: &LoginRequest,
        out: &mut [u8],
        reply: &mut LoginReply,
    ) -> Step<()> {
        text::validate(t).map_err(|_| LoginStatus::INITIATOR_ERROR)?;
        let mut w = TextWriter::new(out);
        let first = self.phase == Phase::Start;
        if first {
            self.first_text(t, env, req, &mut w)?;
            if req.csg == stage::OPERATIONAL && self.policy != AuthPolicy::None {
                // The initiator skipped the security stage we require.
                return Err(LoginStatus::AUTH_FAILURE);
            }
        }
        let mut sec = SecKeys::default();
        for (k, v) in TextIter::new(t).map_while(Result::ok) {
            let key = match self.neg.key(k, v, &mut w).map_err(neg_status)? {
                KeyDisposition::Handled => continue,
                KeyDisposition::NotOperational(key) => key,
            };
            match key {
                Key::InitiatorName | Key::TargetName | Key::SessionType if !first => {
                    return Err(LoginStatus::INITIATOR_ERROR);
                }
                Key::InitiatorName | Key::TargetName | Key::SessionType | Key::InitiatorAlias => {}
                _ if req.csg != stage::SECURITY => return Err(LoginStatus::INITIATOR_ERROR),
                Key::AuthMethod => sec.auth_method = Some(v),
                Key::ChapA => sec.a = Some(v),
                Key::ChapI => sec.i = Some(v),
                Key::ChapC => sec.c = Some(v),
                Key::ChapN => sec.n = Some(v),
                Key::ChapR => sec.r = Some(v),
                _ => return Err(LoginStatus::INITIATOR_ERROR),
            }
        }
        self.neg.end_of_text(&mut w).map_err(neg_status)?;
        if req.csg == stage::SECURITY {
            self.phase = Phase::Security;
            self.security(&sec, env, req, &mut w, reply)?;
        } else {
            self.phase = Phase::Operational;
            self.operational(req, &mut w, reply)?;
        }
        reply.text_len = w.len();
        Ok(())
    }

    /// Checks the declarations of the first request text and writes the
    /// target's first declarations.
    fn first_text<E: LoginEnv + ?Sized>(
        &mut self,
        t: &[u8],
        env: &mut E,
        req: &LoginRequest,
        w: &mut TextWriter<'_>,
    ) -> Step<()> {
        let initiator = text::find(t, b"InitiatorName").ok_or(LoginStatus::MISSING_PARAMETER)?;
        if !plausible_name(initiator) {
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        self.initiator = NameBuf::new(initiator).ok_or(LoginStatus::INITIATOR_ERROR)?;
        self.session_type = match text::find(t, b"SessionType") {
            None => SessionType::Normal,
            Some(v) => SessionType::parse(v).ok_or(LoginStatus::SESSION_TYPE_NOT_SUPPORTED)?,
        };
        let target: Option<&[u8]> = match self.session_type {
            SessionType::Discovery => {
                if !env.discovery_enabled() {
                    return Err(LoginStatus::SESSION_TYPE_NOT_SUPPORTED);
                }
                None
            }
            SessionType::Normal => {
                let name = text::find(t, b"TargetName").ok_or(LoginStatus::MISSING_PARAMETER)?;
                if name.len() > MAX_NAME_LEN || !env.target_exists(name) {
                    return Err(LoginStatus::NOT_FOUND);
                }
                self.target = NameBuf::new(name).ok_or(LoginStatus::NOT_FOUND)?;
                Some(name)
            }
        };
        if !env.access_allowed(target, initiator) {
            return Err(LoginStatus::AUTHORIZATION_FAILURE);
        }
        if req.tsih != 0 {
            match env.session(initiator, &req.isid, req.tsih) {
                SessionLookup::NotFound => return Err(LoginStatus::SESSION_DOES_NOT_EXIST),
                SessionLookup::Found {
                    connections,
                    max_connections,
                } if connections >= max_connections => {
                    return Err(LoginStatus::TOO_MANY_CONNECTIONS)
                }
                SessionLookup::Found { .. } => self.leading = false,
            }
        }
        self.policy = env.auth_policy(target);
        let limits = env.limits(target);
        limits.validate().map_err(|_| LoginStatus::TARGET_ERROR)?;
        self.neg = Negotiator::new(&limits, self.session_type, self.leading);
        if let Some(name) = target {
            if let Some(alias) = env.target_alias(name) {
                w.push(b"TargetAlias", alias).map_err(full)?;
            }
            w.push_u64(b"TargetPortalGroupTag", env.portal_group_tag().into())
                .map_err(full)?;
        }
        Ok(())
    }

    fn security<E: LoginEnv + ?Sized>(
        &mut self,
        sec: &SecKeys<'_>,
        env: &mut E,
        req: &LoginRequest,
        w: &mut TextWriter<'_>,
        reply: &mut LoginReply,
    ) -> Step<()> {
        if let Some(list) = sec.auth_method {
            if self.method != Method::Pending {
                return Err(LoginStatus::INITIATOR_ERROR);
            }
            match self.policy {
                AuthPolicy::None if text::list_contains(list, b"None") => {
                    self.method = Method::None;
                    w.push(b"AuthMethod", b"None").map_err(full)?;
                }
                // Not agreed: the key keeps its default, None.
                AuthPolicy::None => w.push(b"AuthMethod", text::REJECT).map_err(full)?,
                AuthPolicy::Chap { .. } if text::list_contains(list, b"CHAP") => {
                    let mut rnd = [0u8; CHALLENGE_LEN + 1];
                    env.random(&mut rnd);
                    let chap = ChapTarget::new(rnd[0], &rnd[1..])
                        .map_err(|e| LoginStatus(e.login_status()))?;
                    self.chap = Some(chap);
                    self.method = Method::Chap;
                    w.push(b"AuthMethod", b"CHAP").map_err(full)?;
                }
                AuthPolicy::Chap { .. } => return Err(LoginStatus::AUTH_FAILURE),
            }
        }
        if sec.any_chap() {
            self.chap_step(sec, env, w)?;
        }
        let authenticated = match self.policy {
            AuthPolicy::None => true,
            AuthPolicy::Chap { .. } => self
                .chap
                .as_ref()
                .is_some_and(|c| c.state() == ChapState::Done),
        };
        if req.transit && !authenticated && self.method == Method::Pending {
            // CHAP is required and the initiator wants to leave the
            // security stage without even choosing a method.
            return Err(LoginStatus::AUTH_FAILURE);
        }
        if req.transit && authenticated {
            // Always through the Operational stage, to declare our keys.
            reply.transit = true;
            reply.nsg = stage::OPERATIONAL;
            self.phase = Phase::Operational;
        }
        Ok(())
    }

    fn chap_step<E: LoginEnv + ?Sized>(
        &mut self,
        sec: &SecKeys<'_>,
        env: &mut E,
        w: &mut TextWriter<'_>,
    ) -> Step<()> {
        let target = match self.session_type {
            SessionType::Discovery => None,
            SessionType::Normal => Some(self.target.as_bytes()),
        };
        let chap = match (self.method, self.chap.as_mut()) {
            (Method::Chap, Some(c)) => c,
            _ => return Err(LoginStatus::INITIATOR_ERROR),
        };
        let st = |e: super::chap::ChapError| LoginStatus(e.login_status());
        match chap.state() {
            ChapState::AwaitAlgorithm => {
                if sec.i.is_some() || sec.c.is_some() || sec.n.is_some() || sec.r.is_some() {
                    return Err(LoginStatus::INITIATOR_ERROR);
                }
                chap.start(sec.a).map_err(st)?;
                let mut tmp = [0u8; 2 + 2 * CHALLENGE_LEN];
                w.push(b"CHAP_A", chap.chap_a_value()).map_err(full)?;
                let n = chap.write_chap_i(&mut tmp).map_err(st)?;
                w.push(b"CHAP_I", tmp.get(..n).unwrap_or(&[]))
                    .map_err(full)?;
                let n = chap.write_chap_c(&mut tmp).map_err(st)?;
                w.push(b"CHAP_C", tmp.get(..n).unwrap_or(&[]))
                    .map_err(full)?;
            }
            ChapState::ChallengeSent => {
                if sec.a.is_some() {
                    return Err(LoginStatus::INITIATOR_ERROR);
                }
                let name = sec.n.ok_or(LoginStatus::MISSING_PARAMETER)?;
                let secret = env
                    .chap_secret(target, name)
                    .ok_or(LoginStatus::AUTH_FAILURE)?;
                chap.verify_initiator(sec.n, sec.r, name, secret)
                    .map_err(st)?;
                let mutual = env.mutual_chap(target);
                let mut resp = [0u8; RESPONSE_HEX_LEN];
                match chap
                    .mutual_response(sec.i, sec.c, mutual.map(|m| m.1), &mut resp)
                    .map_err(st)?
                {
                    None => {
                        if self.policy == (AuthPolicy::Chap { mutual: true }) {
                            return Err(LoginStatus::AUTH_FAILURE);
                        }
                    }
                    Some(n) => {
                        let user = mutual.map(|m| m.0).unwrap_or_default();
                        w.push(b"CHAP_N", user).map_err(full)?;
                        w.push(b"CHAP_R", resp.get(..n).unwrap_or(&[]))
                            .map_err(full)?;
                    }
                }
            }
            _ => return Err(LoginStatus::INITIATOR_ERROR),
        }
        Ok(())
    }

    fn operational(
        &mut self,
        req: &LoginRequest,
        w: &mut TextWriter<'_>,
        reply: &mut LoginReply,
    ) -> Step<()> {
        self.neg.declarations(w).map_err(neg_status)?;
        if !req.transit {
            return Ok(());
        }
        // check_header() made sure NSG is 3 here.
        if self.neg.awaiting_answers() {
            // We offered keys in the previous response and the initiator
            // wants to leave without answering them.
            return Err(LoginStatus::INITIATOR_ERROR);
        }
        if self.neg.target_offers(w).map_err(neg_status)? {
            // Stay (T=0) until the initiator answered our offers.
            return Ok(());
        }
        let params = self.neg.finish().map_err(neg_status)?;
        self.result = Some(params);
        self.phase = Phase::Complete;
        reply.transit = true;
        reply.nsg = stage::FULL_FEATURE;
        reply.complete = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::chap;
    use super::super::params::{Digest, DigestPolicy};
    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    const TGT: &[u8] = b"iqn.2024-01.org.example:disk1";
    const INI: &[u8] = b"iqn.1993-08.org.debian:01:abcdef";
    const SECRET: &[u8] = b"initiator-secret-1";
    const TSECRET: &[u8] = b"target-secret-123";

    struct Env {
        policy: AuthPolicy,
        discovery: bool,
        acl: bool,
        mutual: bool,
        limits: TargetLimits,
        alias: Option<&'static [u8]>,
        session: SessionLookup,
        rnd: u8,
    }

    impl Default for Env {
        fn default() -> Self {
            Env {
                policy: AuthPolicy::None,
                discovery: true,
                acl: true,
                mutual: false,
                limits: TargetLimits::RFC_DEFAULTS,
                alias: None,
                session: SessionLookup::NotFound,
                rnd: 7,
            }
        }
    }

    impl LoginEnv for Env {
        fn target_exists(&self, target: &[u8]) -> bool {
            target == TGT
        }
        fn discovery_enabled(&self) -> bool {
            self.discovery
        }
        fn access_allowed(&self, _target: Option<&[u8]>, _initiator: &[u8]) -> bool {
            self.acl
        }
        fn auth_policy(&self, _target: Option<&[u8]>) -> AuthPolicy {
            self.policy
        }
        fn chap_secret(&self, _target: Option<&[u8]>, chap_n: &[u8]) -> Option<&[u8]> {
            (chap_n == b"user1").then_some(SECRET)
        }
        fn mutual_chap(&self, _target: Option<&[u8]>) -> Option<(&[u8], &[u8])> {
            self.mutual.then_some((&b"tuser"[..], TSECRET))
        }
        fn limits(&self, _target: Option<&[u8]>) -> TargetLimits {
            self.limits
        }
        fn portal_group_tag(&self) -> u16 {
            1
        }
        fn target_alias(&self, _target: &[u8]) -> Option<&[u8]> {
            self.alias
        }
        fn session(&self, _i: &[u8], _isid: &[u8; 6], _tsih: u16) -> SessionLookup {
            self.session
        }
        fn random(&mut self, buf: &mut [u8]) {
            for b in buf {
                self.rnd = self.rnd.wrapping_mul(31).wrapping_add(17);
                *b = self.rnd;
            }
        }
    }

    fn req(csg: u8, nsg: u8, transit: bool) -> LoginRequest {
        LoginRequest {
            transit,
            cont: false,
            csg,
            nsg,
            version_max: 0,
            version_min: 0,
            isid: [0x80, 0, 0, 0x12, 0x34, 0],
            tsih: 0,
            itt: 0x1000,
            cid: 1,
            cmd_sn: 5,
            exp_stat_sn: 0,
        }
    }

    struct Run {
        st: LoginState,
        env: Env,
        out: [u8; 8192],
    }

    type Pairs = Vec<(String, String)>;

    impl Run {
        fn new(env: Env) -> Self {
            Run {
                st: LoginState::new(),
                env,
                out: [0; 8192],
            }
        }

        fn send(&mut self, r: &LoginRequest, text: &str) -> (LoginReply, Pairs) {
            let t = text.replace('|', "\0");
            let reply = self.st.step(&mut self.env, r, t.as_bytes(), &mut self.out);
            let pairs = text::TextIter::new(&self.out[..reply.text_len])
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect();
            (reply, pairs)
        }
    }

    fn get<'a>(p: &'a Pairs, k: &str) -> Option<&'a str> {
        p.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str())
    }

    const FIRST: &str = "InitiatorName=iqn.1993-08.org.debian:01:abcdef|SessionType=Normal|\
TargetName=iqn.2024-01.org.example:disk1|AuthMethod=None|";
    const OPS: &str = "HeaderDigest=None|DataDigest=None|DefaultTime2Wait=2|DefaultTime2Retain=0|\
IFMarker=No|OFMarker=No|ErrorRecoveryLevel=0|InitialR2T=No|ImmediateData=Yes|\
MaxBurstLength=16776192|FirstBurstLength=262144|MaxOutstandingR2T=1|MaxConnections=1|\
DataPDUInOrder=Yes|DataSequenceInOrder=Yes|MaxRecvDataSegmentLength=262144|";

    fn status(r: &LoginReply) -> u16 {
        r.status.0
    }

    fn fail(env: Env, steps: &[(LoginRequest, &str)], want: LoginStatus) {
        let mut run = Run::new(env);
        let mut last = None;
        for (r, t) in steps {
            let (rep, _) = run.send(r, t);
            last = Some(rep);
            if !rep.status.is_success() {
                break;
            }
        }
        let rep = last.unwrap();
        assert_eq!(rep.status, want, "{steps:?}");
        assert!(rep.close && !rep.complete && rep.text_len == 0 && !rep.transit);
        assert!(run.st.is_failed());
    }

    /// open-iscsi without authentication: security (T=1 -> NSG 1), then
    /// the operational keys with T=1 NSG=3.
    #[test]
    fn open_iscsi_no_auth() {
        let mut run = Run::new(Env::default());
        let (r, p) = run.send(&req(0, 1, true), FIRST);
        assert_eq!(status(&r), 0);
        assert!(r.transit && r.csg == 0 && r.nsg == 1 && !r.complete && !r.close);
        assert_eq!(get(&p, "AuthMethod"), Some("None"));
        assert_eq!(get(&p, "TargetPortalGroupTag"), Some("1"));
        assert_eq!(r.version_max, 0);
        assert_eq!(r.version_active, 0);
        let (r, p) = run.send(&req(1, 3, true), OPS);
        assert_eq!(status(&r), 0);
        assert!(r.transit && r.csg == 1 && r.nsg == 3 && r.complete);
        assert_eq!(get(&p, "MaxRecvDataSegmentLength"), Some("8192"));
        assert_eq!(get(&p, "InitialR2T"), Some("Yes"));
        assert_eq!(get(&p, "MaxBurstLength"), Some("262144"));
        assert_eq!(get(&p, "FirstBurstLength"), Some("65536"));
        assert_eq!(get(&p, "IFMarker"), Some("No"));
        assert!(run.st.is_complete());
        let (s, c) = run.st.params().unwrap();
        assert_eq!(s.max_burst_length, 262144);
        assert_eq!(s.first_burst_length, 65536);
        assert!(s.initial_r2t && s.immediate_data);
        assert_eq!(s.default_time2retain, 0);
        assert_eq!(c.max_xmit_data_segment_length, 262144);
        assert_eq!(c.max_recv_data_segment_length, 8192);
        assert_eq!(run.st.initiator_name(), INI);
        assert_eq!(run.st.target_name(), Some(TGT));
        assert_eq!(run.st.session_type(), SessionType::Normal);
        assert_eq!(run.st.isid(), [0x80, 0, 0, 0x12, 0x34, 0]);
        assert!(run.st.new_session());
        assert_eq!(run.st.cid(), 1);
        assert_eq!(run.st.cmd_sn(), 5);
    }

    #[test]
    fn security_transit_to_ffp_goes_through_operational() {
        let mut run = Run::new(Env::default());
        let (r, _) = run.send(&req(0, 3, true), FIRST);
        assert!(r.transit && r.nsg == 1);
        let (r, _) = run.send(&req(1, 3, true), "");
        assert!(r.complete);
    }

    #[test]
    fn security_without_transit_stays() {
        let mut run = Run::new(Env::default());
        let (r, _) = run.send(&req(0, 0, false), FIRST);
        assert!(!r.transit && r.csg == 0 && status(&r) == 0);
        let (r, p) = run.send(&req(0, 1, true), "");
        assert!(r.transit && r.nsg == 1);
        assert!(p.is_empty(), "TPGT only in the first response: {p:?}");
        let (r, _) = run.send(&req(1, 3, true), "");
        assert!(r.complete);
    }

    #[test]
    fn skip_security_when_not_required() {
        let mut run = Run::new(Env::default());
        let first = "InitiatorName=iqn.1993-08.org.debian:01:abcdef|TargetName=iqn.2024-01.org.example:disk1|";
        let (r, p) = run.send(&req(1, 3, true), first);
        assert!(r.complete, "{r:?}");
        assert_eq!(get(&p, "TargetPortalGroupTag"), Some("1"));
        assert_eq!(get(&p, "MaxRecvDataSegmentLength"), Some("8192"));
    }

    #[test]
    fn operational_without_transit_then_transit() {
        let mut run = Run::new(Env::default());
        run.send(&req(0, 1, true), FIRST);
        let (r, p) = run.send(&req(1, 0, false), "MaxBurstLength=65536|");
        assert!(!r.transit && !r.complete);
        assert_eq!(get(&p, "MaxBurstLength"), Some("65536"));
        assert_eq!(get(&p, "MaxRecvDataSegmentLength"), Some("8192"));
        let (r, p) = run.send(&req(1, 3, true), "MaxRecvDataSegmentLength=65536|");
        assert!(r.complete);
        assert_eq!(get(&p, "MaxRecvDataSegmentLength"), None, "declared once");
        assert_eq!(run.st.params().unwrap().0.max_burst_length, 65536);
    }

    #[test]
    fn target_alias_declared() {
        let env = Env {
            alias: Some(b"disk one"),
            ..Env::default()
        };
        let mut run = Run::new(env);
        let (_, p) = run.send(&req(0, 1, true), FIRST);
        assert_eq!(get(&p, "TargetAlias"), Some("disk one"));
    }

    #[test]
    fn target_offers_then_answers() {
        let env = Env {
            limits: TargetLimits {
                immediate_data: false,
                max_burst_length: 65536,
                max_recv_data_segment_length: 65536,
                ..TargetLimits::RFC_DEFAULTS
            },
            ..Env::default()
        };
        let mut run = Run::new(env);
        run.send(&req(0, 1, true), FIRST);
        let (r, p) = run.send(&req(1, 3, true), "HeaderDigest=None|");
        assert!(!r.transit && !r.complete && status(&r) == 0);
        assert_eq!(get(&p, "MaxRecvDataSegmentLength"), Some("65536"));
        assert_eq!(get(&p, "MaxBurstLength"), Some("65536"));
        assert_eq!(get(&p, "ImmediateData"), Some("No"));
        let (r, p) = run.send(&req(1, 3, true), "MaxBurstLength=65536|ImmediateData=No|");
        assert!(r.complete, "{r:?}");
        assert!(p.is_empty());
        let (s, c) = run.st.params().unwrap();
        assert!(!s.immediate_data);
        assert_eq!(s.max_burst_length, 65536);
        assert_eq!(c.max_recv_data_segment_length, 65536);
    }

    #[test]
    fn unanswered_offers_fail() {
        let env = Env {
            limits: TargetLimits {
                immediate_data: false,
                ..TargetLimits::RFC_DEFAULTS
            },
            ..Env::default()
        };
        fail(
            env,
            &[
                (req(0, 1, true), FIRST),
                (req(1, 3, true), ""),
                (req(1, 3, true), ""),
            ],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn unanswered_offers_may_wait_without_transit() {
        let env = Env {
            limits: TargetLimits {
                immediate_data: false,
                ..TargetLimits::RFC_DEFAULTS
            },
            ..Env::default()
        };
        let mut run = Run::new(env);
        run.send(&req(0, 1, true), FIRST);
        run.send(&req(1, 3, true), "");
        let (r, _) = run.send(&req(1, 0, false), "");
        assert_eq!(status(&r), 0);
        let (r, _) = run.send(&req(1, 3, true), "ImmediateData=No|");
        assert!(r.complete);
    }

    #[test]
    fn digest_policy_enforced() {
        let env = Env {
            limits: TargetLimits {
                header_digest: DigestPolicy::Crc32cOnly,
                ..TargetLimits::RFC_DEFAULTS
            },
            ..Env::default()
        };
        let mut run = Run::new(env);
        run.send(&req(0, 1, true), FIRST);
        let (r, p) = run.send(&req(1, 3, true), "HeaderDigest=CRC32C,None|");
        assert!(r.complete);
        assert_eq!(get(&p, "HeaderDigest"), Some("CRC32C"));
        assert_eq!(run.st.params().unwrap().1.header_digest, Digest::Crc32c);
        let env = Env {
            limits: TargetLimits {
                header_digest: DigestPolicy::Crc32cOnly,
                ..TargetLimits::RFC_DEFAULTS
            },
            ..Env::default()
        };
        fail(
            env,
            &[
                (req(0, 1, true), FIRST),
                (req(1, 3, true), "HeaderDigest=None|"),
            ],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn discovery_session() {
        let mut run = Run::new(Env::default());
        let first =
            "InitiatorName=iqn.1993-08.org.debian:01:abcdef|SessionType=Discovery|AuthMethod=None|";
        let (r, p) = run.send(&req(0, 1, true), first);
        assert!(r.transit);
        assert_eq!(get(&p, "TargetPortalGroupTag"), None);
        let (r, p) = run.send(&req(1, 3, true), "MaxBurstLength=4096|HeaderDigest=None|");
        assert!(r.complete);
        assert_eq!(get(&p, "MaxBurstLength"), Some("Irrelevant"));
        assert_eq!(run.st.session_type(), SessionType::Discovery);
        assert_eq!(run.st.target_name(), None);
    }

    #[test]
    fn discovery_disabled() {
        let env = Env {
            discovery: false,
            ..Env::default()
        };
        fail(
            env,
            &[(
                req(0, 1, true),
                "InitiatorName=iqn.x|SessionType=Discovery|",
            )],
            LoginStatus::SESSION_TYPE_NOT_SUPPORTED,
        );
    }

    #[test]
    fn unknown_session_type() {
        fail(
            Env::default(),
            &[(req(0, 1, true), "InitiatorName=iqn.x|SessionType=Boot|")],
            LoginStatus::SESSION_TYPE_NOT_SUPPORTED,
        );
    }

    #[test]
    fn missing_initiator_name() {
        fail(
            Env::default(),
            &[(req(0, 1, true), "TargetName=iqn.2024-01.org.example:disk1|")],
            LoginStatus::MISSING_PARAMETER,
        );
    }

    #[test]
    fn missing_target_name() {
        fail(
            Env::default(),
            &[(req(0, 1, true), "InitiatorName=iqn.x|")],
            LoginStatus::MISSING_PARAMETER,
        );
    }

    #[test]
    fn bad_initiator_name() {
        for t in [
            "InitiatorName=|",
            "InitiatorName=a b|",
            "InitiatorName=a\tb|",
        ] {
            fail(
                Env::default(),
                &[(req(0, 1, true), t)],
                LoginStatus::INITIATOR_ERROR,
            );
        }
        let long = std::format!("InitiatorName={}|TargetName=x|", "a".repeat(224));
        fail(
            Env::default(),
            &[(req(0, 1, true), &long)],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn target_not_found() {
        fail(
            Env::default(),
            &[(
                req(0, 1, true),
                "InitiatorName=iqn.x|TargetName=iqn.2024-01.org.example:nope|",
            )],
            LoginStatus::NOT_FOUND,
        );
        let long = std::format!("InitiatorName=iqn.x|TargetName={}|", "a".repeat(224));
        fail(
            Env::default(),
            &[(req(0, 1, true), &long)],
            LoginStatus::NOT_FOUND,
        );
    }

    #[test]
    fn acl_refused() {
        let env = Env {
            acl: false,
            ..Env::default()
        };
        fail(
            env,
            &[(req(0, 1, true), FIRST)],
            LoginStatus::AUTHORIZATION_FAILURE,
        );
    }

    #[test]
    fn unsupported_version() {
        let mut r = req(0, 1, true);
        r.version_min = 1;
        r.version_max = 2;
        fail(
            Env::default(),
            &[(r, FIRST)],
            LoginStatus::UNSUPPORTED_VERSION,
        );
        // Version-max above 0 with min 0 is fine: we answer 0.
        let mut r = req(0, 1, true);
        r.version_max = 5;
        let mut run = Run::new(Env::default());
        let (rep, _) = run.send(&r, FIRST);
        assert_eq!(status(&rep), 0);
        assert_eq!(rep.version_active, 0);
    }

    #[test]
    fn invalid_limits_are_target_error() {
        let env = Env {
            limits: TargetLimits {
                error_recovery_level: 2,
                ..TargetLimits::RFC_DEFAULTS
            },
            ..Env::default()
        };
        fail(env, &[(req(0, 1, true), FIRST)], LoginStatus::TARGET_ERROR);
    }

    #[test]
    fn header_fields_must_not_change() {
        let muts: &[fn(&mut LoginRequest)] = &[
            |r| r.isid[5] = 9,
            |r| r.tsih = 1,
            |r| r.itt = 2,
            |r| r.cid = 3,
            |r| r.version_max = 1,
        ];
        for m in muts {
            let mut r2 = req(1, 3, true);
            m(&mut r2);
            fail(
                Env::default(),
                &[(req(0, 1, true), FIRST), (r2, "")],
                LoginStatus::INITIATOR_ERROR,
            );
        }
    }

    #[test]
    fn cmd_sn_may_change() {
        let mut run = Run::new(Env::default());
        run.send(&req(0, 1, true), FIRST);
        let mut r = req(1, 3, true);
        r.cmd_sn = 6;
        r.exp_stat_sn = 1;
        assert!(run.send(&r, "").0.complete);
        assert_eq!(run.st.cmd_sn(), 6);
        assert_eq!(run.st.exp_stat_sn(), 1);
    }

    #[test]
    fn transit_and_continue_together() {
        let mut r = req(0, 1, true);
        r.cont = true;
        fail(Env::default(), &[(r, FIRST)], LoginStatus::INITIATOR_ERROR);
    }

    #[test]
    fn bad_stages() {
        let cases = [
            req(2, 3, true),
            req(3, 3, false),
            req(0, 0, true),
            req(0, 2, true),
            req(1, 1, true),
            req(1, 0, true),
        ];
        for r in cases {
            fail(Env::default(), &[(r, FIRST)], LoginStatus::INITIATOR_ERROR);
        }
    }

    #[test]
    fn stage_must_follow_target() {
        // Going to Operational without our T=1.
        fail(
            Env::default(),
            &[(req(0, 1, false), FIRST), (req(1, 3, true), "")],
            LoginStatus::INITIATOR_ERROR,
        );
        // Going back to Security.
        fail(
            Env::default(),
            &[(req(0, 1, true), FIRST), (req(0, 1, true), "")],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn continuation() {
        let mut run = Run::new(Env::default());
        let t = FIRST.replace('|', "\0");
        let (a, b) = t.as_bytes().split_at(20);
        let mut r = req(0, 1, false);
        r.cont = true;
        let rep = run.st.step(&mut run.env, &r, a, &mut run.out);
        assert_eq!(status(&rep), 0);
        assert_eq!(rep.text_len, 0);
        assert!(!rep.transit && !rep.cont && rep.csg == 0);
        let rep = run.st.step(&mut run.env, &req(0, 1, true), b, &mut run.out);
        assert!(rep.transit && rep.nsg == 1, "{rep:?}");
        assert_eq!(run.st.initiator_name(), INI);
    }

    #[test]
    fn continuation_stage_must_not_change() {
        let mut r = req(0, 1, false);
        r.cont = true;
        fail(
            Env::default(),
            &[(r, "InitiatorName=i"), (req(1, 3, true), "qn.x|")],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn continuation_overflow() {
        let mut run = Run::new(Env::default());
        let mut r = req(0, 1, false);
        r.cont = true;
        let chunk = [b'a'; 4096];
        assert_eq!(
            status(&run.st.step(&mut run.env, &r, &chunk, &mut run.out)),
            0
        );
        assert_eq!(
            status(&run.st.step(&mut run.env, &r, &chunk, &mut run.out)),
            0
        );
        let rep = run.st.step(&mut run.env, &r, b"x", &mut run.out);
        assert_eq!(rep.status, LoginStatus::INITIATOR_ERROR);
    }

    #[test]
    fn pdu_limit() {
        let mut run = Run::new(Env::default());
        let (r, _) = run.send(&req(0, 0, false), FIRST);
        assert_eq!(status(&r), 0);
        for _ in 1..MAX_LOGIN_PDUS {
            assert_eq!(status(&run.send(&req(0, 0, false), "").0), 0);
        }
        let (r, _) = run.send(&req(0, 0, false), "");
        assert_eq!(r.status, LoginStatus::INITIATOR_ERROR);
    }

    #[test]
    fn byte_limit() {
        let mut run = Run::new(Env::default());
        run.send(&req(0, 0, false), FIRST);
        let mut r = req(0, 0, false);
        r.cont = true;
        let mut last = LoginStatus::SUCCESS;
        // Continuations of 4 KiB that are then discarded by a bad text.
        for _ in 0..20 {
            let rep = run.st.step(&mut run.env, &r, &[b'a'; 4096], &mut run.out);
            last = rep.status;
            if !last.is_success() {
                break;
            }
        }
        assert_eq!(last, LoginStatus::INITIATOR_ERROR);
    }

    #[test]
    fn malformed_text() {
        for t in [
            "InitiatorName=iqn.x",
            "InitiatorName=iqn.x|InitiatorName=iqn.y|",
            "Foo|",
        ] {
            let t = t.replace('|', "\0");
            let mut run = Run::new(Env::default());
            let rep = run
                .st
                .step(&mut run.env, &req(0, 1, true), t.as_bytes(), &mut run.out);
            assert_eq!(rep.status, LoginStatus::INITIATOR_ERROR, "{t:?}");
        }
    }

    #[test]
    fn redeclaration_fails() {
        for k in [
            "InitiatorName=iqn.x|",
            "TargetName=iqn.2024-01.org.example:disk1|",
            "SessionType=Normal|",
        ] {
            fail(
                Env::default(),
                &[(req(0, 0, false), FIRST), (req(0, 1, true), k)],
                LoginStatus::INITIATOR_ERROR,
            );
        }
        fail(
            Env::default(),
            &[
                (req(0, 0, false), FIRST),
                (req(0, 1, true), "AuthMethod=None|"),
            ],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn initiator_alias_accepted() {
        let mut run = Run::new(Env::default());
        let (r, p) = run.send(
            &req(0, 1, true),
            &std::format!("{FIRST}InitiatorAlias=host|"),
        );
        assert_eq!(status(&r), 0);
        assert_eq!(get(&p, "InitiatorAlias"), None);
    }

    #[test]
    fn security_keys_in_operational_stage_fail() {
        fail(
            Env::default(),
            &[
                (req(0, 1, true), FIRST),
                (req(1, 3, true), "AuthMethod=None|"),
            ],
            LoginStatus::INITIATOR_ERROR,
        );
        fail(
            Env::default(),
            &[(req(0, 1, true), FIRST), (req(1, 3, true), "CHAP_A=5|")],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn unknown_keys_not_understood() {
        let mut run = Run::new(Env::default());
        let (r, p) = run.send(
            &req(0, 1, true),
            &std::format!("{FIRST}X-com.example.foo=1|"),
        );
        assert_eq!(status(&r), 0);
        assert_eq!(get(&p, "X-com.example.foo"), Some("NotUnderstood"));
    }

    #[test]
    fn auth_none_policy_rejects_chap_only_offer() {
        let mut run = Run::new(Env::default());
        let first = FIRST.replace("AuthMethod=None", "AuthMethod=CHAP");
        let (r, p) = run.send(&req(0, 1, true), &first);
        assert_eq!(get(&p, "AuthMethod"), Some("Reject"));
        // AuthMethod keeps its default None, which our policy accepts.
        assert!(r.transit);
    }

    #[test]
    fn after_completion_refused() {
        let mut run = Run::new(Env::default());
        run.send(&req(0, 1, true), FIRST);
        run.send(&req(1, 3, true), "");
        let (r, _) = run.send(&req(1, 3, true), "");
        assert_eq!(r.status, LoginStatus::INVALID_DURING_LOGIN);
        assert!(r.close);
    }

    #[test]
    fn after_failure_refused() {
        let mut run = Run::new(Env::default());
        run.send(&req(0, 1, true), "Foo|");
        let (r, _) = run.send(&req(0, 1, true), FIRST);
        assert_eq!(r.status, LoginStatus::INVALID_DURING_LOGIN);
    }

    #[test]
    fn add_connection_to_session() {
        let env = Env {
            session: SessionLookup::Found {
                connections: 1,
                max_connections: 2,
            },
            ..Env::default()
        };
        let mut run = Run::new(env);
        let mut r = req(0, 1, true);
        r.tsih = 0x55;
        let (rep, _) = run.send(&r, FIRST);
        assert_eq!(rep.tsih, 0x55);
        let mut r = req(1, 3, true);
        r.tsih = 0x55;
        let (rep, p) = run.send(&r, "MaxBurstLength=4096|HeaderDigest=None|");
        assert!(rep.complete);
        assert_eq!(get(&p, "MaxBurstLength"), Some("Reject"));
        assert!(!run.st.new_session());
        assert_eq!(run.st.request_tsih(), 0x55);
    }

    #[test]
    fn session_does_not_exist() {
        let mut r = req(0, 1, true);
        r.tsih = 0x55;
        fail(
            Env::default(),
            &[(r, FIRST)],
            LoginStatus::SESSION_DOES_NOT_EXIST,
        );
    }

    #[test]
    fn too_many_connections() {
        let env = Env {
            session: SessionLookup::Found {
                connections: 1,
                max_connections: 1,
            },
            ..Env::default()
        };
        let mut r = req(0, 1, true);
        r.tsih = 0x55;
        fail(env, &[(r, FIRST)], LoginStatus::TOO_MANY_CONNECTIONS);
    }

    #[test]
    fn response_buffer_too_small() {
        let mut st = LoginState::new();
        let mut env = Env::default();
        let t = FIRST.replace('|', "\0");
        let mut out = [0u8; 10];
        let rep = st.step(&mut env, &req(0, 1, true), t.as_bytes(), &mut out);
        assert_eq!(rep.status, LoginStatus::OUT_OF_RESOURCES);
    }

    // --- CHAP ---

    fn chap_env(mutual_policy: bool, mutual_cfg: bool) -> Env {
        Env {
            policy: AuthPolicy::Chap {
                mutual: mutual_policy,
            },
            mutual: mutual_cfg,
            ..Env::default()
        }
    }

    fn hex(b: &[u8]) -> String {
        let mut o = [0u8; 64];
        let n = text::encode_hex(b, &mut o).unwrap();
        String::from_utf8(o[..n].to_vec()).unwrap()
    }

    /// Runs the CHAP exchange up to the challenge; returns (id, challenge).
    fn chap_start(run: &mut Run) -> (u8, Vec<u8>) {
        let first = FIRST.replace("AuthMethod=None", "AuthMethod=CHAP,None");
        let (r, p) = run.send(&req(0, 1, false), &first);
        assert_eq!(status(&r), 0);
        assert_eq!(get(&p, "AuthMethod"), Some("CHAP"));
        let (r, p) = run.send(&req(0, 1, false), "CHAP_A=7,5|");
        assert_eq!(status(&r), 0);
        assert!(!r.transit);
        assert_eq!(get(&p, "CHAP_A"), Some("5"));
        let id: u8 = get(&p, "CHAP_I").unwrap().parse().unwrap();
        let c = get(&p, "CHAP_C").unwrap();
        let mut ch = [0u8; 64];
        let n = text::decode_binary(c.as_bytes(), &mut ch).unwrap();
        assert_eq!(n, CHALLENGE_LEN);
        (id, ch[..n].to_vec())
    }

    #[test]
    fn chap_one_way() {
        let mut run = Run::new(chap_env(false, false));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        let (r, p) = run.send(
            &req(0, 1, true),
            &std::format!("CHAP_N=user1|CHAP_R={}|", hex(&resp)),
        );
        assert_eq!(status(&r), 0);
        assert!(r.transit && r.nsg == 1);
        assert!(p.is_empty());
        assert!(run.send(&req(1, 3, true), OPS).0.complete);
    }

    #[test]
    fn chap_mutual() {
        let mut run = Run::new(chap_env(true, true));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        let my_ch = [0x11u8; 16];
        let t = std::format!(
            "CHAP_N=user1|CHAP_R={}|CHAP_I=77|CHAP_C={}|",
            hex(&resp),
            hex(&my_ch)
        );
        let (r, p) = run.send(&req(0, 1, true), &t);
        assert_eq!(status(&r), 0, "{r:?}");
        assert!(r.transit);
        assert_eq!(get(&p, "CHAP_N"), Some("tuser"));
        let want = chap::response(77, TSECRET, &my_ch);
        assert_eq!(get(&p, "CHAP_R"), Some(hex(&want).as_str()));
    }

    #[test]
    fn chap_wrong_response() {
        let mut run = Run::new(chap_env(false, false));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, b"wrong-secret-xx", &ch);
        let (r, _) = run.send(
            &req(0, 1, true),
            &std::format!("CHAP_N=user1|CHAP_R={}|", hex(&resp)),
        );
        assert_eq!(r.status, LoginStatus::AUTH_FAILURE);
        assert!(r.close);
    }

    #[test]
    fn chap_unknown_user() {
        let mut run = Run::new(chap_env(false, false));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        let (r, _) = run.send(
            &req(0, 1, true),
            &std::format!("CHAP_N=user2|CHAP_R={}|", hex(&resp)),
        );
        assert_eq!(r.status, LoginStatus::AUTH_FAILURE);
    }

    #[test]
    fn chap_missing_name_or_response() {
        let mut run = Run::new(chap_env(false, false));
        chap_start(&mut run);
        let (r, _) = run.send(&req(0, 1, true), "CHAP_R=0x00|");
        assert_eq!(r.status, LoginStatus::MISSING_PARAMETER);
        let mut run = Run::new(chap_env(false, false));
        chap_start(&mut run);
        let (r, _) = run.send(&req(0, 1, true), "CHAP_N=user1|");
        assert_eq!(r.status, LoginStatus::MISSING_PARAMETER);
    }

    #[test]
    fn chap_mutual_required_but_not_requested() {
        let mut run = Run::new(chap_env(true, true));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        let (r, _) = run.send(
            &req(0, 1, true),
            &std::format!("CHAP_N=user1|CHAP_R={}|", hex(&resp)),
        );
        assert_eq!(r.status, LoginStatus::AUTH_FAILURE);
    }

    #[test]
    fn chap_mutual_requested_but_not_configured() {
        let mut run = Run::new(chap_env(false, false));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        let t = std::format!("CHAP_N=user1|CHAP_R={}|CHAP_I=1|CHAP_C=0x0102|", hex(&resp));
        let (r, _) = run.send(&req(0, 1, true), &t);
        assert_eq!(r.status, LoginStatus::AUTH_FAILURE);
    }

    #[test]
    fn chap_reflected_challenge() {
        let mut run = Run::new(chap_env(true, true));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        let t = std::format!(
            "CHAP_N=user1|CHAP_R={}|CHAP_I=1|CHAP_C={}|",
            hex(&resp),
            hex(&ch)
        );
        let (r, _) = run.send(&req(0, 1, true), &t);
        assert_eq!(r.status, LoginStatus::AUTH_FAILURE);
        assert!(r.close);
    }

    #[test]
    fn chap_no_md5() {
        let mut run = Run::new(chap_env(false, false));
        let first = FIRST.replace("AuthMethod=None", "AuthMethod=CHAP");
        run.send(&req(0, 1, false), &first);
        let (r, _) = run.send(&req(0, 1, false), "CHAP_A=6,7|");
        assert_eq!(r.status, LoginStatus::AUTH_FAILURE);
    }

    #[test]
    fn chap_out_of_order() {
        let mut run = Run::new(chap_env(false, false));
        let first = FIRST.replace("AuthMethod=None", "AuthMethod=CHAP");
        run.send(&req(0, 1, false), &first);
        let (r, _) = run.send(&req(0, 1, false), "CHAP_N=user1|CHAP_R=0x00|");
        assert_eq!(r.status, LoginStatus::INITIATOR_ERROR);
        let mut run = Run::new(chap_env(false, false));
        chap_start(&mut run);
        let (r, _) = run.send(&req(0, 1, false), "CHAP_A=5|");
        assert_eq!(r.status, LoginStatus::INITIATOR_ERROR);
    }

    #[test]
    fn chap_keys_without_chap_method() {
        fail(
            Env::default(),
            &[(req(0, 1, false), &std::format!("{FIRST}CHAP_A=5|"))],
            LoginStatus::INITIATOR_ERROR,
        );
    }

    #[test]
    fn chap_required_but_none_offered() {
        fail(
            chap_env(false, false),
            &[(req(0, 1, true), FIRST)],
            LoginStatus::AUTH_FAILURE,
        );
    }

    #[test]
    fn chap_required_but_security_skipped() {
        let first = "InitiatorName=iqn.x|TargetName=iqn.2024-01.org.example:disk1|";
        fail(
            chap_env(false, false),
            &[(req(1, 3, true), first)],
            LoginStatus::AUTH_FAILURE,
        );
    }

    #[test]
    fn chap_required_transit_without_method() {
        let first = "InitiatorName=iqn.x|TargetName=iqn.2024-01.org.example:disk1|";
        fail(
            chap_env(false, false),
            &[(req(0, 1, true), first)],
            LoginStatus::AUTH_FAILURE,
        );
    }

    #[test]
    fn chap_transit_before_done_waits() {
        let mut run = Run::new(chap_env(false, false));
        let first = FIRST.replace("AuthMethod=None", "AuthMethod=CHAP");
        let (r, _) = run.send(&req(0, 1, true), &first);
        assert_eq!(status(&r), 0);
        assert!(!r.transit);
        let (r, _) = run.send(&req(0, 1, true), "CHAP_A=5|");
        assert!(!r.transit && status(&r) == 0);
    }

    #[test]
    fn chap_after_done_fails() {
        let mut run = Run::new(chap_env(false, false));
        let (id, ch) = chap_start(&mut run);
        let resp = chap::response(id, SECRET, &ch);
        run.send(
            &req(0, 1, false),
            &std::format!("CHAP_N=user1|CHAP_R={}|", hex(&resp)),
        );
        let (r, _) = run.send(&req(0, 1, true), "CHAP_A=5|");
        assert_eq!(r.status, LoginStatus::INITIATOR_ERROR);
    }

    #[test]
    fn chap_discovery() {
        let mut run = Run::new(chap_env(false, false));
        let first = "InitiatorName=iqn.x|SessionType=Discovery|AuthMethod=CHAP|";
        let (r, _) = run.send(&req(0, 1, false), first);
        assert_eq!(status(&r), 0);
        let (_, p) = run.send(&req(0, 1, false), "CHAP_A=5|");
        let id: u8 = get(&p, "CHAP_I").unwrap().parse().unwrap();
        let mut ch = [0u8; 16];
        text::decode_binary(get(&p, "CHAP_C").unwrap().as_bytes(), &mut ch).unwrap();
        let resp = chap::response(id, SECRET, &ch);
        let (r, _) = run.send(
            &req(0, 1, true),
            &std::format!("CHAP_N=user1|CHAP_R={}|", hex(&resp)),
        );
        assert!(r.transit);
    }

    #[test]
    fn status_codes() {
        assert_eq!(LoginStatus::AUTH_FAILURE.class(), 2);
        assert_eq!(LoginStatus::AUTH_FAILURE.detail(), 1);
        assert_eq!(LoginStatus::OUT_OF_RESOURCES.class(), 3);
        assert_eq!(LoginStatus::OUT_OF_RESOURCES.detail(), 2);
        assert_eq!(LoginStatus::INVALID_DURING_LOGIN.0, 0x020b);
        assert_eq!(LoginStatus::SESSION_DOES_NOT_EXIST.0, 0x020a);
        assert!(LoginStatus::SUCCESS.is_success());
        assert_eq!(
            std::format!("{}", LoginStatus::NOT_FOUND),
            "0x0203 (target not found)"
        );
        assert_eq!(LoginStatus(0x0999).description(), "unknown status");
    }

    #[test]
    fn name_buf() {
        let n = NameBuf::<4>::new(b"abcd").unwrap();
        assert_eq!(n.as_bytes(), b"abcd");
        assert!(NameBuf::<4>::new(b"abcde").is_none());
        assert!(NameBuf::<4>::default().is_empty());
    }

    #[test]
    fn plausible_names() {
        assert!(plausible_name(INI));
        assert!(plausible_name(b"iqn.1991-05.com.microsoft:Host"));
        assert!(!plausible_name(b""));
        assert!(!plausible_name(b"a b"));
        assert!(!plausible_name(b"a\x7f"));
        assert!(plausible_name(&[b'a'; 223]));
        assert!(!plausible_name(&[b'a'; 224]));
    }

    #[test]
    fn failure_reply_shape() {
        let r = LoginReply::failure(&req(1, 3, true), LoginStatus::OUT_OF_RESOURCES);
        assert_eq!(
            (r.csg, r.nsg, r.transit, r.close, r.text_len),
            (1, 0, false, true, 0)
        );
    }

    proptest::proptest! {
        #[test]
        fn random_logins_never_panic(
            steps in proptest::collection::vec(
                (0u8..16, proptest::collection::vec(
                    proptest::prop_oneof![
                        proptest::prelude::Just("InitiatorName=iqn.x\0".to_string()),
                        proptest::prelude::Just("TargetName=iqn.2024-01.org.example:disk1\0".to_string()),
                        proptest::prelude::Just("SessionType=Discovery\0".to_string()),
                        proptest::prelude::Just("AuthMethod=CHAP,None\0".to_string()),
                        proptest::prelude::Just("CHAP_A=5\0".to_string()),
                        proptest::prelude::Just("CHAP_N=user1\0CHAP_R=0x00\0".to_string()),
                        proptest::prelude::Just("MaxBurstLength=4096\0".to_string()),
                        proptest::prelude::Just("ImmediateData=No\0".to_string()),
                        "[A-Za-z=_0-9\\x00]{0,20}",
                    ], 0..4)),
                0..10),
            chap_pol in proptest::prelude::any::<bool>(),
        ) {
            let mut run = Run::new(if chap_pol { chap_env(false, true) } else { Env::default() });
            for (flags, parts) in steps {
                let mut r = req((flags >> 2) & 3, flags & 3, flags & 0x8 != 0);
                r.cont = flags & 0x4 != 0 && flags & 0x8 == 0;
                let t: String = parts.concat();
                let rep = run.st.step(&mut run.env, &r, t.as_bytes(), &mut run.out);
                proptest::prop_assert!(rep.text_len <= run.out.len());
                proptest::prop_assert!(text::validate(&run.out[..rep.text_len]).is_ok());
                if !rep.status.is_success() {
                    proptest::prop_assert!(rep.close && run.st.is_failed());
                    break;
                }
                if rep.complete {
                    proptest::prop_assert!(rep.transit && rep.nsg == 3 && rep.csg == 1);
                    let (s, _) = run.st.params().unwrap();
                    proptest::prop_assert!(s.first_burst_length <= s.max_burst_length);
                    if chap_pol {
                        proptest::prop_assert!(false, "CHAP login cannot succeed without the secret");
                    }
                    break;
                }
            }
        }
    }
}
