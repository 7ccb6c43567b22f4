// SPDX-License-Identifier: GPL-2.0

//! Login/text keys and the target side of operational parameter negotiation
//! (RFC 7143 6.2, 13; RFC 7144 13.x for `iSCSIProtocolLevel`).
//!
//! - [`KEYS`] / [`lookup`]: the key table (result function, scope, use,
//!   sender, stage, range, default) of every key RFC 7143 and RFC 7144
//!   define, including the security keys and the obsoleted marker keys.
//! - [`TargetLimits`]: what the administrator configures, with
//!   [`TargetLimits::validate`] and RFC defaults.
//! - [`Negotiator`]: answers the initiator's operational keys, declares our
//!   `MaxRecvDataSegmentLength`, offers the keys where we need a
//!   non-default value ([`Negotiator::target_offers`]), checks the
//!   initiator's answers to those offers, and yields the negotiated
//!   [`SessionParams`] and [`ConnParams`] ([`Negotiator::finish`]).
//!
//! Answering rules (RFC 7143 6.2):
//! - unknown keys, including `X-` and `X#` extension keys, are answered
//!   `NotUnderstood`;
//! - a value that does not parse, is out of range or is a reserved constant
//!   used as an offer is answered `Reject`, and the key keeps its default;
//! - session-wide keys in a Discovery session are answered `Irrelevant`
//!   where RFC 7143 13 says "Irrelevant when: SessionType=Discovery", and
//!   `FirstBurstLength` is `Irrelevant` when `InitialR2T=Yes` and
//!   `ImmediateData=No`;
//! - leading-only keys on a connection added to an existing session are
//!   answered `Reject`;
//! - `OFMarker`/`IFMarker` are answered `No` (RFC 7143 13.26 allows it and
//!   RFC 3720 initiators expect it), `OFMarkInt`/`IFMarkInt` `Reject`;
//! - `DataPDUInOrder`/`DataSequenceInOrder` are answered `Yes` (OR function,
//!   so the result is always in order);
//! - a key sent twice in one login, other than as the answer to our own
//!   offer, is a protocol error ([`NegError::Protocol`]), as is a key only
//!   the target may send (`TargetAlias`, `TargetAddress`,
//!   `TargetPortalGroupTag`) or an answer that violates the result function.

use core::fmt;

use super::text::{self, TextFull, TextWriter, IRRELEVANT, NOT_UNDERSTOOD, REJECT};

/// Result function / kind of a key (RFC 7143 6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// List negotiation: the responder picks the first offered value it
    /// supports.
    List,
    /// Boolean, result is the AND of both values.
    And,
    /// Boolean, result is the OR of both values.
    Or,
    /// Numerical, result is the minimum.
    Min,
    /// Numerical, result is the maximum.
    Max,
    /// Declarative: no answer expected.
    Declarative,
}

/// Scope of a key (RFC 7143 13: "Scope: SW / CO").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Session-wide.
    Session,
    /// Per connection.
    Connection,
}

/// When a key may be used (RFC 7143 13: "Use").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// LO: only on the leading connection's login.
    LeadingOnly,
    /// IO: only during login.
    InitializeOnly,
    /// ALL: login and Full Feature Phase.
    All,
    /// FFPO: only in Full Feature Phase.
    FullFeatureOnly,
}

/// Who may send a key (RFC 7143 13: "Senders").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The initiator only.
    Initiator,
    /// The target only.
    Target,
    /// Either side.
    Both,
}

/// The login stage a key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Security negotiation only (`AuthMethod`, `CHAP_*`).
    Security,
    /// Operational negotiation (also accepted in the security stage, see
    /// the login module).
    Operational,
    /// A declaration allowed in any stage.
    Any,
}

/// Every key this module knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// `HeaderDigest`.
    HeaderDigest,
    /// `DataDigest`.
    DataDigest,
    /// `MaxConnections`.
    MaxConnections,
    /// `SendTargets`.
    SendTargets,
    /// `TargetName`.
    TargetName,
    /// `InitiatorName`.
    InitiatorName,
    /// `TargetAlias`.
    TargetAlias,
    /// `InitiatorAlias`.
    InitiatorAlias,
    /// `TargetAddress`.
    TargetAddress,
    /// `TargetPortalGroupTag`.
    TargetPortalGroupTag,
    /// `InitialR2T`.
    InitialR2T,
    /// `ImmediateData`.
    ImmediateData,
    /// `MaxRecvDataSegmentLength`.
    MaxRecvDataSegmentLength,
    /// `MaxBurstLength`.
    MaxBurstLength,
    /// `FirstBurstLength`.
    FirstBurstLength,
    /// `DefaultTime2Wait`.
    DefaultTime2Wait,
    /// `DefaultTime2Retain`.
    DefaultTime2Retain,
    /// `MaxOutstandingR2T`.
    MaxOutstandingR2T,
    /// `DataPDUInOrder`.
    DataPduInOrder,
    /// `DataSequenceInOrder`.
    DataSequenceInOrder,
    /// `ErrorRecoveryLevel`.
    ErrorRecoveryLevel,
    /// `SessionType`.
    SessionType,
    /// `AuthMethod`.
    AuthMethod,
    /// `CHAP_A`.
    ChapA,
    /// `CHAP_I`.
    ChapI,
    /// `CHAP_C`.
    ChapC,
    /// `CHAP_N`.
    ChapN,
    /// `CHAP_R`.
    ChapR,
    /// `OFMarker`.
    OfMarker,
    /// `IFMarker`.
    IfMarker,
    /// `OFMarkInt`.
    OfMarkInt,
    /// `IFMarkInt`.
    IfMarkInt,
    /// `iSCSIProtocolLevel`.
    IscsiProtocolLevel,
    /// `TaskReporting`.
    TaskReporting,
}

impl Key {
    /// The table entry of this key.
    pub fn info(self) -> &'static KeyInfo {
        // KEYS is in Key order (checked by a test); fall back to a search.
        match KEYS.get(self as usize) {
            Some(i) if i.key == self => i,
            _ => KEYS.iter().find(|i| i.key == self).unwrap_or(&KEYS[0]),
        }
    }

    /// The key name on the wire.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    fn bit(self) -> u64 {
        1u64 << (self as u32)
    }
}

/// One row of the key table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key.
    pub key: Key,
    /// Name on the wire (case-sensitive).
    pub name: &'static str,
    /// Result function.
    pub kind: KeyType,
    /// Session-wide or per connection.
    pub scope: Scope,
    /// When it may be used.
    pub usage: Use,
    /// Who may send it.
    pub sender: Sender,
    /// Login stage.
    pub stage: Stage,
    /// Smallest numerical value (numerical keys only, else 0).
    pub min: u64,
    /// Largest numerical value (numerical keys only, else 0).
    pub max: u64,
    /// Default value as text ("" if none).
    pub default: &'static str,
    /// "Irrelevant when: SessionType=Discovery".
    pub irrelevant_in_discovery: bool,
}

const MAX_24: u64 = (1 << 24) - 1;

// One argument per table column keeps the table readable.
#[allow(clippy::too_many_arguments)]
const fn k(
    key: Key,
    name: &'static str,
    kind: KeyType,
    scope: Scope,
    usage: Use,
    sender: Sender,
    stage: Stage,
    range: (u64, u64),
    default: &'static str,
    irrelevant_in_discovery: bool,
) -> KeyInfo {
    KeyInfo {
        key,
        name,
        kind,
        scope,
        usage,
        sender,
        stage,
        min: range.0,
        max: range.1,
        default,
        irrelevant_in_discovery,
    }
}

use KeyType::{And, Declarative as Decl, List, Max, Min, Or};
use Scope::{Connection as CO, Session as SW};
use Sender::{Both, Initiator as I, Target as T};
use Stage::{Any, Operational as Op, Security as Sec};
use Use::{All, FullFeatureOnly as Ffpo, InitializeOnly as Io, LeadingOnly as Lo};

/// The key table, in [`Key`] order (RFC 7143 13.1-13.26, 12.1.3; RFC 7144).
#[rustfmt::skip]
pub static KEYS: [KeyInfo; 34] = [
    k(Key::HeaderDigest, "HeaderDigest", List, CO, Io, Both, Op, (0, 0), "None", false),
    k(Key::DataDigest, "DataDigest", List, CO, Io, Both, Op, (0, 0), "None", false),
    k(Key::MaxConnections, "MaxConnections", Min, SW, Lo, Both, Op, (1, 65535), "1", true),
    k(Key::SendTargets, "SendTargets", Decl, SW, Ffpo, I, Any, (0, 0), "", false),
    k(Key::TargetName, "TargetName", Decl, SW, Io, Both, Any, (0, 0), "", false),
    k(Key::InitiatorName, "InitiatorName", Decl, SW, Io, I, Any, (0, 0), "", false),
    k(Key::TargetAlias, "TargetAlias", Decl, SW, All, T, Any, (0, 0), "", false),
    k(Key::InitiatorAlias, "InitiatorAlias", Decl, SW, All, I, Any, (0, 0), "", false),
    k(Key::TargetAddress, "TargetAddress", Decl, SW, All, T, Any, (0, 0), "", false),
    k(Key::TargetPortalGroupTag, "TargetPortalGroupTag", Decl, SW, Io, T, Any, (0, 65535), "", false),
    k(Key::InitialR2T, "InitialR2T", Or, SW, Lo, Both, Op, (0, 0), "Yes", true),
    k(Key::ImmediateData, "ImmediateData", And, SW, Lo, Both, Op, (0, 0), "Yes", true),
    k(Key::MaxRecvDataSegmentLength, "MaxRecvDataSegmentLength", Decl, CO, All, Both, Op, (512, MAX_24), "8192", false),
    k(Key::MaxBurstLength, "MaxBurstLength", Min, SW, Lo, Both, Op, (512, MAX_24), "262144", true),
    k(Key::FirstBurstLength, "FirstBurstLength", Min, SW, Lo, Both, Op, (512, MAX_24), "65536", true),
    k(Key::DefaultTime2Wait, "DefaultTime2Wait", Max, SW, Lo, Both, Op, (0, 3600), "2", false),
    k(Key::DefaultTime2Retain, "DefaultTime2Retain", Min, SW, Lo, Both, Op, (0, 3600), "20", false),
    k(Key::MaxOutstandingR2T, "MaxOutstandingR2T", Min, SW, Lo, Both, Op, (1, 65535), "1", true),
    k(Key::DataPduInOrder, "DataPDUInOrder", Or, SW, Lo, Both, Op, (0, 0), "Yes", true),
    k(Key::DataSequenceInOrder, "DataSequenceInOrder", Or, SW, Lo, Both, Op, (0, 0), "Yes", true),
    k(Key::ErrorRecoveryLevel, "ErrorRecoveryLevel", Min, SW, Lo, Both, Op, (0, 2), "0", false),
    k(Key::SessionType, "SessionType", Decl, SW, Lo, I, Any, (0, 0), "Normal", false),
    k(Key::AuthMethod, "AuthMethod", List, CO, Io, Both, Sec, (0, 0), "None", false),
    k(Key::ChapA, "CHAP_A", List, CO, Io, Both, Sec, (0, 0), "", false),
    k(Key::ChapI, "CHAP_I", Decl, CO, Io, Both, Sec, (0, 255), "", false),
    k(Key::ChapC, "CHAP_C", Decl, CO, Io, Both, Sec, (0, 0), "", false),
    k(Key::ChapN, "CHAP_N", Decl, CO, Io, Both, Sec, (0, 0), "", false),
    k(Key::ChapR, "CHAP_R", Decl, CO, Io, Both, Sec, (0, 0), "", false),
    k(Key::OfMarker, "OFMarker", And, CO, Io, Both, Op, (0, 0), "No", false),
    k(Key::IfMarker, "IFMarker", And, CO, Io, Both, Op, (0, 0), "No", false),
    k(Key::OfMarkInt, "OFMarkInt", Decl, CO, Io, Both, Op, (1, 65535), "2048", false),
    k(Key::IfMarkInt, "IFMarkInt", Decl, CO, Io, Both, Op, (1, 65535), "2048", false),
    k(Key::IscsiProtocolLevel, "iSCSIProtocolLevel", Min, SW, Lo, Both, Op, (0, 31), "1", true),
    k(Key::TaskReporting, "TaskReporting", List, SW, Lo, Both, Op, (0, 0), "RFC3720", true),
];

/// The table entry of a key name (case-sensitive, RFC 7143 6.1).
pub fn lookup(name: &[u8]) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|i| i.name.as_bytes() == name)
}

/// Whether `name` is a private (`X-`) or public (`X#`) extension key (RFC
/// 7143 13.22). We understand none of them.
pub fn is_extension_key(name: &[u8]) -> bool {
    matches!(name, [b'X', b'-' | b'#', ..])
}

/// `SessionType` (RFC 7143 13.21).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionType {
    /// Discovery session: only Text (SendTargets) and Logout.
    Discovery,
    /// Normal session.
    #[default]
    Normal,
}

impl SessionType {
    /// Parses `Discovery` / `Normal`.
    pub fn parse(v: &[u8]) -> Option<Self> {
        match v {
            b"Discovery" => Some(SessionType::Discovery),
            b"Normal" => Some(SessionType::Normal),
            _ => None,
        }
    }
}

/// A digest (RFC 7143 13.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Digest {
    /// No digest.
    #[default]
    None,
    /// CRC32C.
    Crc32c,
}

impl Digest {
    /// The value on the wire.
    pub fn name(self) -> &'static [u8] {
        match self {
            Digest::None => b"None",
            Digest::Crc32c => b"CRC32C",
        }
    }

    fn parse(v: &[u8]) -> Option<Self> {
        match v {
            b"None" => Some(Digest::None),
            b"CRC32C" => Some(Digest::Crc32c),
            _ => None,
        }
    }
}

/// Which digests the administrator allows on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestPolicy {
    /// `None` only.
    NoneOnly,
    /// `CRC32C` only.
    Crc32cOnly,
    /// Either; the initiator's order of preference decides.
    Either,
}

impl DigestPolicy {
    /// Whether `d` is allowed.
    pub fn allows(self, d: Digest) -> bool {
        matches!(
            (self, d),
            (DigestPolicy::Either, _)
                | (DigestPolicy::NoneOnly, Digest::None)
                | (DigestPolicy::Crc32cOnly, Digest::Crc32c)
        )
    }
}

/// `TaskReporting` (RFC 7143 13.23).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskReporting {
    /// RFC 3720 semantics (the default).
    #[default]
    Rfc3720,
    /// Response fence semantics.
    ResponseFence,
    /// FastAbort multi-task abort semantics.
    FastAbort,
}

impl TaskReporting {
    /// The value on the wire.
    pub fn name(self) -> &'static [u8] {
        match self {
            TaskReporting::Rfc3720 => b"RFC3720",
            TaskReporting::ResponseFence => b"ResponseFence",
            TaskReporting::FastAbort => b"FastAbort",
        }
    }

    fn parse(v: &[u8]) -> Option<Self> {
        match v {
            b"RFC3720" => Some(TaskReporting::Rfc3720),
            b"ResponseFence" => Some(TaskReporting::ResponseFence),
            b"FastAbort" => Some(TaskReporting::FastAbort),
            _ => None,
        }
    }
}

/// What the administrator configures for a target (or for discovery).
///
/// Values are "our side" of each negotiation; [`TargetLimits::validate`]
/// checks them against the RFC ranges and our implementation limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetLimits {
    /// Our `MaxRecvDataSegmentLength`: largest data segment we receive
    /// (declared to the initiator), 512..=2^24-1.
    pub max_recv_data_segment_length: u32,
    /// Cap on what we send per PDU, whatever the initiator declares
    /// (SCST's `MaxXmitDataSegmentLength`), 512..=2^24-1.
    pub max_xmit_data_segment_length: u32,
    /// Our `MaxBurstLength`, 512..=2^24-1.
    pub max_burst_length: u32,
    /// Our `FirstBurstLength`, 512..=max_burst_length.
    pub first_burst_length: u32,
    /// Our `MaxOutstandingR2T`, 1..=65535.
    pub max_outstanding_r2t: u16,
    /// Our `InitialR2T` (Yes: we never accept unsolicited Data-Out).
    pub initial_r2t: bool,
    /// Our `ImmediateData`.
    pub immediate_data: bool,
    /// Allowed header digests.
    pub header_digest: DigestPolicy,
    /// Allowed data digests.
    pub data_digest: DigestPolicy,
    /// Our `MaxConnections`, 1..=65535.
    pub max_connections: u16,
    /// Our `ErrorRecoveryLevel`: only 0 is supported.
    pub error_recovery_level: u8,
    /// Our `DefaultTime2Wait` (seconds), 0..=3600.
    pub default_time2wait: u16,
    /// Our `DefaultTime2Retain` (seconds), 0..=3600.
    pub default_time2retain: u16,
    /// Our `iSCSIProtocolLevel`: 1 (RFC 7143) or 2 (RFC 7144 TMFs).
    pub protocol_level: u8,
    /// Accept `TaskReporting=ResponseFence`.
    pub response_fence: bool,
    /// Accept `TaskReporting=FastAbort`.
    pub fast_abort: bool,
    /// Commands per session the target queues (the CmdSN window
    /// MaxCmdSN - ExpCmdSN + 1); not a key, used by the kernel, 1..=65536.
    pub queue_depth: u32,
}

impl Default for TargetLimits {
    fn default() -> Self {
        Self::RFC_DEFAULTS
    }
}

/// A [`TargetLimits`] field is out of range: the field's key name and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitsError {
    /// The offending field (its key name).
    pub field: &'static str,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl TargetLimits {
    /// The RFC 7143 defaults for every key, all digests allowed, no cap on
    /// the send size beyond the RFC's, a queue depth of 32.
    pub const RFC_DEFAULTS: TargetLimits = TargetLimits {
        max_recv_data_segment_length: 8192,
        max_xmit_data_segment_length: MAX_24 as u32,
        max_burst_length: 262144,
        first_burst_length: 65536,
        max_outstanding_r2t: 1,
        initial_r2t: true,
        immediate_data: true,
        header_digest: DigestPolicy::Either,
        data_digest: DigestPolicy::Either,
        max_connections: 1,
        error_recovery_level: 0,
        default_time2wait: 2,
        default_time2retain: 20,
        protocol_level: 1,
        response_fence: false,
        fast_abort: false,
        queue_depth: 32,
    };

    /// Checks every field against its RFC range and our limits.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let e = |field, reason| Err(LimitsError { field, reason });
        let len_ok = |v: u32| (512..=MAX_24 as u32).contains(&v);
        if !len_ok(self.max_recv_data_segment_length) {
            return e("MaxRecvDataSegmentLength", "must be 512..16777215");
        }
        if !len_ok(self.max_xmit_data_segment_length) {
            return e("MaxXmitDataSegmentLength", "must be 512..16777215");
        }
        if !len_ok(self.max_burst_length) {
            return e("MaxBurstLength", "must be 512..16777215");
        }
        if !len_ok(self.first_burst_length) {
            return e("FirstBurstLength", "must be 512..16777215");
        }
        if self.first_burst_length > self.max_burst_length {
            return e("FirstBurstLength", "must not exceed MaxBurstLength");
        }
        if self.max_outstanding_r2t == 0 {
            return e("MaxOutstandingR2T", "must be 1..65535");
        }
        if self.max_connections == 0 {
            return e("MaxConnections", "must be 1..65535");
        }
        if self.error_recovery_level != 0 {
            return e("ErrorRecoveryLevel", "only 0 is supported");
        }
        if self.default_time2wait > 3600 {
            return e("DefaultTime2Wait", "must be 0..3600");
        }
        if self.default_time2retain > 3600 {
            return e("DefaultTime2Retain", "must be 0..3600");
        }
        if !(1..=2).contains(&self.protocol_level) {
            return e("iSCSIProtocolLevel", "must be 1 or 2");
        }
        if !(1..=65536).contains(&self.queue_depth) {
            return e("QueuedCommands", "must be 1..65536");
        }
        Ok(())
    }
}

/// The negotiated session-wide parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionParams {
    /// Discovery or Normal.
    pub session_type: SessionType,
    /// `MaxConnections`.
    pub max_connections: u16,
    /// `InitialR2T`: Yes means no unsolicited Data-Out.
    pub initial_r2t: bool,
    /// `ImmediateData`.
    pub immediate_data: bool,
    /// `MaxBurstLength`.
    pub max_burst_length: u32,
    /// `FirstBurstLength` (never above `max_burst_length`).
    pub first_burst_length: u32,
    /// `DefaultTime2Wait`.
    pub default_time2wait: u16,
    /// `DefaultTime2Retain`.
    pub default_time2retain: u16,
    /// `MaxOutstandingR2T`.
    pub max_outstanding_r2t: u16,
    /// `DataPDUInOrder` (always Yes with this target).
    pub data_pdu_in_order: bool,
    /// `DataSequenceInOrder` (always Yes with this target).
    pub data_sequence_in_order: bool,
    /// `ErrorRecoveryLevel`.
    pub error_recovery_level: u8,
    /// `iSCSIProtocolLevel`.
    pub protocol_level: u8,
    /// `TaskReporting`.
    pub task_reporting: TaskReporting,
}

impl Default for SessionParams {
    /// The RFC 7143 defaults (a Normal session).
    fn default() -> Self {
        SessionParams {
            session_type: SessionType::Normal,
            max_connections: 1,
            initial_r2t: true,
            immediate_data: true,
            max_burst_length: 262144,
            first_burst_length: 65536,
            default_time2wait: 2,
            default_time2retain: 20,
            max_outstanding_r2t: 1,
            data_pdu_in_order: true,
            data_sequence_in_order: true,
            error_recovery_level: 0,
            protocol_level: 1,
            task_reporting: TaskReporting::Rfc3720,
        }
    }
}

/// The negotiated per-connection parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnParams {
    /// `HeaderDigest`.
    pub header_digest: Digest,
    /// `DataDigest`.
    pub data_digest: Digest,
    /// Largest data segment we accept: our declared
    /// `MaxRecvDataSegmentLength`.
    pub max_recv_data_segment_length: u32,
    /// Largest data segment we send: the initiator's declared
    /// `MaxRecvDataSegmentLength` (8192 if it declared none), capped by
    /// [`TargetLimits::max_xmit_data_segment_length`].
    pub max_xmit_data_segment_length: u32,
}

impl Default for ConnParams {
    /// The RFC 7143 defaults.
    fn default() -> Self {
        ConnParams {
            header_digest: Digest::None,
            data_digest: Digest::None,
            max_recv_data_segment_length: 8192,
            max_xmit_data_segment_length: 8192,
        }
    }
}

/// Why negotiation cannot go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegError {
    /// The initiator broke the negotiation rules for this key (sent it
    /// twice, sent a target-only key, answered an offer against the result
    /// function, or left an offer unanswered): login status 0x0200.
    Protocol(Key),
    /// The negotiated value of this key is one the target's configuration
    /// does not allow (the initiator rejected our offer): login status
    /// 0x0200.
    Unacceptable(Key),
    /// The response does not fit the caller's buffer: login status 0x0302.
    Full,
}

impl From<TextFull> for NegError {
    fn from(_: TextFull) -> Self {
        NegError::Full
    }
}

impl fmt::Display for NegError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegError::Protocol(k) => write!(f, "negotiation protocol error on {}", k.name()),
            NegError::Unacceptable(k) => write!(f, "unacceptable result for {}", k.name()),
            NegError::Full => f.write_str("response text too long"),
        }
    }
}

/// What [`Negotiator::key`] did with a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyDisposition {
    /// Answered (or absorbed, for declarations and answers to our offers).
    Handled,
    /// A security or login-declarative key (`InitiatorName`, `TargetName`,
    /// `SessionType`, `InitiatorAlias`, `AuthMethod`, `CHAP_*`): the caller
    /// handles it.
    NotOperational(Key),
}

/// The FirstBurstLength offer is answered after the rest of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deferred {
    No,
    Value(u64),
    Reject,
}

/// Target side of the operational negotiation of one connection's login.
#[derive(Clone, Debug)]
pub struct Negotiator {
    limits: TargetLimits,
    leading: bool,
    sess: SessionParams,
    conn: ConnParams,
    /// Keys the initiator sent (offers or answers).
    received: u64,
    /// Keys we offered.
    offered: u64,
    /// Offered keys the initiator answered.
    answered: u64,
    /// Offered values, for checking the answers.
    offer_value: [u32; 8],
    declared: bool,
    fbl: Deferred,
}

/// Keys the target may offer, and the slot of the offered value.
const OFFERABLE: [Key; 7] = [
    Key::HeaderDigest,
    Key::DataDigest,
    Key::MaxBurstLength,
    Key::FirstBurstLength,
    Key::ImmediateData,
    Key::DefaultTime2Wait,
    Key::DefaultTime2Retain,
];

fn offer_slot(key: Key) -> usize {
    OFFERABLE.iter().position(|&k| k == key).unwrap_or(7)
}

impl Negotiator {
    /// Starts a negotiation with `limits` (assumed [validated]) for a
    /// session of `session_type`; `leading` is false for a connection added
    /// to an existing session (leading-only keys are then refused).
    ///
    /// [validated]: TargetLimits::validate
    pub fn new(limits: &TargetLimits, session_type: SessionType, leading: bool) -> Self {
        let conn = ConnParams {
            max_xmit_data_segment_length: 8192.min(limits.max_xmit_data_segment_length),
            ..ConnParams::default()
        };
        Negotiator {
            limits: *limits,
            leading,
            sess: SessionParams {
                session_type,
                ..SessionParams::default()
            },
            conn,
            received: 0,
            offered: 0,
            answered: 0,
            offer_value: [0; 8],
            declared: false,
            fbl: Deferred::No,
        }
    }

    /// Changes the session type (the login learns it from the first text).
    pub fn set_session_type(&mut self, t: SessionType) {
        self.sess.session_type = t;
    }

    /// The session type.
    pub fn session_type(&self) -> SessionType {
        self.sess.session_type
    }

    fn discovery(&self) -> bool {
        self.sess.session_type == SessionType::Discovery
    }

    /// Whether the initiator sent `key` in this login.
    pub fn received(&self, key: Key) -> bool {
        self.received & key.bit() != 0
    }

    /// Handles one key of the initiator's text, writing any answer to `w`.
    ///
    /// Keys the login state machine owns are returned as
    /// [`KeyDisposition::NotOperational`] without being recorded.
    pub fn key(
        &mut self,
        name: &[u8],
        value: &[u8],
        w: &mut TextWriter<'_>,
    ) -> Result<KeyDisposition, NegError> {
        let Some(info) = lookup(name) else {
            w.push(name, NOT_UNDERSTOOD)?;
            return Ok(KeyDisposition::Handled);
        };
        let key = info.key;
        match key {
            Key::InitiatorName
            | Key::TargetName
            | Key::SessionType
            | Key::InitiatorAlias
            | Key::AuthMethod
            | Key::ChapA
            | Key::ChapI
            | Key::ChapC
            | Key::ChapN
            | Key::ChapR => return Ok(KeyDisposition::NotOperational(key)),
            _ => {}
        }
        if info.sender == Sender::Target {
            return Err(NegError::Protocol(key));
        }
        if self.offered & key.bit() != 0 && self.answered & key.bit() == 0 {
            self.answered |= key.bit();
            self.received |= key.bit();
            self.answer(key, value)?;
            return Ok(KeyDisposition::Handled);
        }
        if self.received & key.bit() != 0 || self.offered & key.bit() != 0 {
            return Err(NegError::Protocol(key));
        }
        self.received |= key.bit();
        if info.usage == Use::FullFeatureOnly
            || (info.usage == Use::LeadingOnly && !self.leading)
            || text::is_reserved_answer(value)
        {
            w.push(name, REJECT)?;
            return Ok(KeyDisposition::Handled);
        }
        if self.discovery() && info.irrelevant_in_discovery {
            w.push(name, IRRELEVANT)?;
            return Ok(KeyDisposition::Handled);
        }
        self.offer(info, value, w)?;
        Ok(KeyDisposition::Handled)
    }

    /// Answers an offer of the initiator.
    fn offer(
        &mut self,
        info: &KeyInfo,
        value: &[u8],
        w: &mut TextWriter<'_>,
    ) -> Result<(), NegError> {
        let name = info.name.as_bytes();
        let l = &self.limits;
        match info.key {
            Key::HeaderDigest | Key::DataDigest => {
                let (policy, slot) = if info.key == Key::HeaderDigest {
                    (l.header_digest, &mut self.conn.header_digest)
                } else {
                    (l.data_digest, &mut self.conn.data_digest)
                };
                match text::list_items(value)
                    .filter_map(Digest::parse)
                    .find(|&d| policy.allows(d))
                {
                    Some(d) => {
                        *slot = d;
                        w.push(name, d.name())?;
                    }
                    None => w.push(name, REJECT)?,
                }
            }
            Key::TaskReporting => {
                let allowed = |t: TaskReporting| match t {
                    TaskReporting::Rfc3720 => true,
                    TaskReporting::ResponseFence => l.response_fence,
                    TaskReporting::FastAbort => l.fast_abort,
                };
                match text::list_items(value)
                    .filter_map(TaskReporting::parse)
                    .find(|&t| allowed(t))
                {
                    Some(t) => {
                        self.sess.task_reporting = t;
                        w.push(name, t.name())?;
                    }
                    None => w.push(name, REJECT)?,
                }
            }
            Key::InitialR2T | Key::DataPduInOrder | Key::DataSequenceInOrder => {
                let Ok(theirs) = text::parse_bool(value) else {
                    return Ok(w.push(name, REJECT)?);
                };
                // OR function: our value for the in-order keys is Yes.
                let r = match info.key {
                    Key::InitialR2T => {
                        let r = theirs || l.initial_r2t;
                        self.sess.initial_r2t = r;
                        r
                    }
                    _ => true,
                };
                w.push_bool(name, r)?;
            }
            Key::ImmediateData | Key::OfMarker | Key::IfMarker => {
                let Ok(theirs) = text::parse_bool(value) else {
                    return Ok(w.push(name, REJECT)?);
                };
                let r = if info.key == Key::ImmediateData {
                    let r = theirs && l.immediate_data;
                    self.sess.immediate_data = r;
                    r
                } else {
                    false
                };
                w.push_bool(name, r)?;
            }
            Key::OfMarkInt | Key::IfMarkInt => w.push(name, REJECT)?,
            Key::MaxRecvDataSegmentLength => match text::parse_number(value) {
                Ok(v) if (info.min..=info.max).contains(&v) => {
                    // Declarative: no answer. v < 2^24, so the cast is exact.
                    self.conn.max_xmit_data_segment_length =
                        (v as u32).min(l.max_xmit_data_segment_length);
                }
                _ => w.push(name, REJECT)?,
            },
            Key::FirstBurstLength => {
                // Answered in end_of_text(), once MaxBurstLength, InitialR2T
                // and ImmediateData of the same text are known.
                self.fbl = match text::parse_number(value) {
                    Ok(v) if (info.min..=info.max).contains(&v) => Deferred::Value(v),
                    _ => Deferred::Reject,
                };
            }
            Key::MaxConnections
            | Key::MaxBurstLength
            | Key::DefaultTime2Wait
            | Key::DefaultTime2Retain
            | Key::MaxOutstandingR2T
            | Key::ErrorRecoveryLevel
            | Key::IscsiProtocolLevel => {
                let v = match text::parse_number(value) {
                    Ok(v) if (info.min..=info.max).contains(&v) => v,
                    _ => return Ok(w.push(name, REJECT)?),
                };
                let r = self.apply_numeric(info.key, v);
                w.push_u64(name, r)?;
            }
            // Handled by the caller or rejected before we get here.
            _ => w.push(name, REJECT)?,
        }
        Ok(())
    }

    /// Combines the initiator's offered number with ours and stores the
    /// result. `v` is within the key's range.
    fn apply_numeric(&mut self, key: Key, v: u64) -> u64 {
        let l = &self.limits;
        let s = &mut self.sess;
        // Every range fits the field types (checked by KEYS ranges).
        match key {
            Key::MaxConnections => {
                s.max_connections = (v as u16).min(l.max_connections);
                s.max_connections.into()
            }
            Key::MaxBurstLength => {
                s.max_burst_length = (v as u32).min(l.max_burst_length);
                s.max_burst_length.into()
            }
            Key::DefaultTime2Wait => {
                s.default_time2wait = (v as u16).max(l.default_time2wait);
                s.default_time2wait.into()
            }
            Key::DefaultTime2Retain => {
                s.default_time2retain = (v as u16).min(l.default_time2retain);
                s.default_time2retain.into()
            }
            Key::MaxOutstandingR2T => {
                s.max_outstanding_r2t = (v as u16).min(l.max_outstanding_r2t);
                s.max_outstanding_r2t.into()
            }
            Key::ErrorRecoveryLevel => {
                s.error_recovery_level = (v as u8).min(l.error_recovery_level);
                s.error_recovery_level.into()
            }
            Key::IscsiProtocolLevel => {
                s.protocol_level = (v as u8).min(l.protocol_level);
                s.protocol_level.into()
            }
            _ => v,
        }
    }

    /// Whether `FirstBurstLength` is irrelevant given the current values.
    fn fbl_irrelevant(&self) -> bool {
        self.discovery() || (self.sess.initial_r2t && !self.sess.immediate_data)
    }

    /// Finishes one text: writes the deferred `FirstBurstLength` answer.
    pub fn end_of_text(&mut self, w: &mut TextWriter<'_>) -> Result<(), NegError> {
        let name = Key::FirstBurstLength.name().as_bytes();
        match core::mem::replace(&mut self.fbl, Deferred::No) {
            Deferred::No => {}
            Deferred::Reject => w.push(name, REJECT)?,
            Deferred::Value(_) if self.fbl_irrelevant() => w.push(name, IRRELEVANT)?,
            Deferred::Value(v) => {
                let r = (v as u32)
                    .min(self.limits.first_burst_length)
                    .min(self.sess.max_burst_length);
                self.sess.first_burst_length = r;
                w.push_u64(name, r.into())?;
            }
        }
        Ok(())
    }

    /// Writes our declarations once: `MaxRecvDataSegmentLength`. Returns
    /// whether anything was written. Call it for the first Operational
    /// stage response.
    pub fn declarations(&mut self, w: &mut TextWriter<'_>) -> Result<bool, NegError> {
        if self.declared {
            return Ok(false);
        }
        w.push_u64(
            Key::MaxRecvDataSegmentLength.name().as_bytes(),
            self.limits.max_recv_data_segment_length.into(),
        )?;
        self.declared = true;
        self.conn.max_recv_data_segment_length = self.limits.max_recv_data_segment_length;
        Ok(true)
    }

    /// Offers the keys the initiator did not send where our configuration
    /// needs a non-default result (RFC 7143 6.2: the target may offer keys
    /// in the Operational stage; we do it when the initiator wants to leave
    /// it). Returns whether anything was offered; the initiator must answer
    /// in its next request ([`Negotiator::awaiting_answers`]).
    pub fn target_offers(&mut self, w: &mut TextWriter<'_>) -> Result<bool, NegError> {
        let mut any = false;
        let start = w.len();
        for key in OFFERABLE {
            if self.received(key) || self.offered & key.bit() != 0 {
                continue;
            }
            let l = &self.limits;
            let session_key = key.info().scope == Scope::Session;
            if session_key && (self.discovery() || !self.leading) {
                continue;
            }
            let name = key.name().as_bytes();
            let value: u32 = match key {
                Key::HeaderDigest | Key::DataDigest => {
                    let p = if key == Key::HeaderDigest {
                        l.header_digest
                    } else {
                        l.data_digest
                    };
                    if p.allows(Digest::None) {
                        continue;
                    }
                    if w.push(name, Digest::Crc32c.name()).is_err() {
                        w.truncate_to(start);
                        return Err(NegError::Full);
                    }
                    any = true;
                    self.offered |= key.bit();
                    continue;
                }
                Key::MaxBurstLength if l.max_burst_length < self.sess.max_burst_length => {
                    l.max_burst_length
                }
                Key::FirstBurstLength => {
                    let want = l.first_burst_length.min(self.sess.max_burst_length);
                    // Our ImmediateData=No offer (made below) makes it
                    // irrelevant too.
                    let no_immediate = !self.sess.immediate_data
                        || (!l.immediate_data && !self.received(Key::ImmediateData));
                    let irrelevant = self.discovery() || (self.sess.initial_r2t && no_immediate);
                    if want >= self.sess.first_burst_length || irrelevant {
                        continue;
                    }
                    want
                }
                Key::ImmediateData if !l.immediate_data && self.sess.immediate_data => 0,
                Key::DefaultTime2Wait if l.default_time2wait > self.sess.default_time2wait => {
                    l.default_time2wait.into()
                }
                Key::DefaultTime2Retain
                    if l.default_time2retain < self.sess.default_time2retain =>
                {
                    l.default_time2retain.into()
                }
                _ => continue,
            };
            let r = if key == Key::ImmediateData {
                w.push_bool(name, false)
            } else {
                w.push_u64(name, value.into())
            };
            if r.is_err() {
                w.truncate_to(start);
                return Err(NegError::Full);
            }
            if let Some(slot) = self.offer_value.get_mut(offer_slot(key)) {
                *slot = value;
            }
            self.offered |= key.bit();
            any = true;
        }
        Ok(any)
    }

    /// Whether we offered keys the initiator has not answered yet.
    pub fn awaiting_answers(&self) -> bool {
        self.offered & !self.answered != 0
    }

    /// Checks and records the initiator's answer to one of our offers.
    fn answer(&mut self, key: Key, value: &[u8]) -> Result<(), NegError> {
        let info = key.info();
        let bad = NegError::Protocol(key);
        if value == NOT_UNDERSTOOD {
            return Err(bad);
        }
        if value == REJECT || value == IRRELEVANT {
            // The key keeps its default; finish() checks it is acceptable.
            return Ok(());
        }
        let ours = self.offer_value.get(offer_slot(key)).copied().unwrap_or(0);
        match key {
            Key::HeaderDigest | Key::DataDigest => {
                // We offered CRC32C alone: that is the only valid choice.
                if Digest::parse(value) != Some(Digest::Crc32c) {
                    return Err(bad);
                }
                if key == Key::HeaderDigest {
                    self.conn.header_digest = Digest::Crc32c;
                } else {
                    self.conn.data_digest = Digest::Crc32c;
                }
            }
            Key::ImmediateData => {
                // AND with our No can only be No.
                if text::parse_bool(value) != Ok(false) {
                    return Err(bad);
                }
                self.sess.immediate_data = false;
            }
            _ => {
                let v = text::parse_number(value).map_err(|_| bad)?;
                let ours = u64::from(ours);
                let ok = (info.min..=info.max).contains(&v)
                    && match info.kind {
                        KeyType::Min => v <= ours,
                        _ => v >= ours,
                    };
                if !ok {
                    return Err(bad);
                }
                // In range, so the casts are exact.
                match key {
                    Key::MaxBurstLength => self.sess.max_burst_length = v as u32,
                    Key::FirstBurstLength => self.sess.first_burst_length = v as u32,
                    Key::DefaultTime2Wait => self.sess.default_time2wait = v as u16,
                    Key::DefaultTime2Retain => self.sess.default_time2retain = v as u16,
                    _ => return Err(bad),
                }
            }
        }
        Ok(())
    }

    /// The negotiated parameters, after checking that they respect our
    /// configuration and that no offer is unanswered.
    pub fn finish(&self) -> Result<(SessionParams, ConnParams), NegError> {
        let l = &self.limits;
        let (s, c) = (&self.sess, &self.conn);
        for key in OFFERABLE {
            if self.offered & !self.answered & key.bit() != 0 {
                return Err(NegError::Protocol(key));
            }
        }
        let bad = |k| Err(NegError::Unacceptable(k));
        if !l.header_digest.allows(c.header_digest) {
            return bad(Key::HeaderDigest);
        }
        if !l.data_digest.allows(c.data_digest) {
            return bad(Key::DataDigest);
        }
        let mut s = *s;
        if s.session_type == SessionType::Normal && self.leading {
            if s.max_burst_length > l.max_burst_length {
                return bad(Key::MaxBurstLength);
            }
            if s.immediate_data && !l.immediate_data {
                return bad(Key::ImmediateData);
            }
            if s.initial_r2t != (s.initial_r2t || l.initial_r2t) {
                return bad(Key::InitialR2T);
            }
            if !self.fbl_irrelevant() {
                if s.first_burst_length > l.first_burst_length {
                    return bad(Key::FirstBurstLength);
                }
                if s.first_burst_length > s.max_burst_length {
                    return Err(NegError::Protocol(Key::FirstBurstLength));
                }
            }
        }
        // Keep the invariant even where FirstBurstLength is irrelevant.
        s.first_burst_length = s.first_burst_length.min(s.max_burst_length);
        Ok((s, *c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn answers(n: &mut Negotiator, text: &[u8]) -> Result<Vec<(String, String)>, NegError> {
        let mut buf = [0u8; 2048];
        let mut w = TextWriter::new(&mut buf);
        for kv in text::TextIter::new(text) {
            let (k, v) = kv.unwrap();
            n.key(k, v, &mut w)?;
        }
        n.end_of_text(&mut w)?;
        Ok(parse(w.as_bytes()))
    }

    use std::string::String;

    fn parse(t: &[u8]) -> Vec<(String, String)> {
        text::TextIter::new(t)
            .map(|r| {
                let (k, v) = r.unwrap();
                (
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn one(limits: &TargetLimits, text: &str) -> Vec<(String, String)> {
        let mut n = Negotiator::new(limits, SessionType::Normal, true);
        let t = text.replace('|', "\0");
        answers(&mut n, t.as_bytes()).unwrap()
    }

    fn ans(limits: &TargetLimits, kv: &str) -> String {
        let r = one(limits, &std::format!("{kv}|"));
        assert_eq!(r.len(), 1, "{kv}: {r:?}");
        r[0].1.clone()
    }

    const D: TargetLimits = TargetLimits::RFC_DEFAULTS;

    #[test]
    fn table_is_in_key_order() {
        for (i, info) in KEYS.iter().enumerate() {
            assert_eq!(info.key as usize, i, "{}", info.name);
            assert_eq!(info.key.info().name, info.name);
            assert_eq!(lookup(info.name.as_bytes()).unwrap().key, info.key);
        }
    }

    #[test]
    fn table_rfc_rows() {
        let r = |n: &str| lookup(n.as_bytes()).unwrap();
        assert_eq!(
            (r("MaxBurstLength").min, r("MaxBurstLength").max),
            (512, 16777215)
        );
        assert_eq!(r("MaxBurstLength").default, "262144");
        assert_eq!(r("FirstBurstLength").default, "65536");
        assert_eq!(r("MaxRecvDataSegmentLength").default, "8192");
        assert_eq!(r("MaxRecvDataSegmentLength").kind, KeyType::Declarative);
        assert_eq!(r("MaxRecvDataSegmentLength").scope, Scope::Connection);
        assert_eq!(r("DefaultTime2Wait").kind, KeyType::Max);
        assert_eq!(r("DefaultTime2Retain").default, "20");
        assert_eq!(r("ErrorRecoveryLevel").max, 2);
        assert_eq!(r("InitialR2T").kind, KeyType::Or);
        assert_eq!(r("ImmediateData").kind, KeyType::And);
        assert_eq!(r("MaxConnections").usage, Use::LeadingOnly);
        assert_eq!(r("SendTargets").usage, Use::FullFeatureOnly);
        assert_eq!(r("TargetPortalGroupTag").sender, Sender::Target);
        assert_eq!(r("AuthMethod").stage, Stage::Security);
        assert_eq!(r("iSCSIProtocolLevel").max, 31);
        assert_eq!(r("iSCSIProtocolLevel").default, "1");
        assert_eq!(r("TaskReporting").default, "RFC3720");
        assert!(r("MaxOutstandingR2T").irrelevant_in_discovery);
        assert!(!r("ErrorRecoveryLevel").irrelevant_in_discovery);
        assert!(lookup(b"headerdigest").is_none());
    }

    #[test]
    fn extension_keys() {
        assert!(is_extension_key(b"X-com.example.foo"));
        assert!(is_extension_key(b"X#NodeArchitecture"));
        assert!(!is_extension_key(b"XY"));
    }

    #[test]
    fn limits_defaults_valid() {
        assert_eq!(TargetLimits::default(), D);
        D.validate().unwrap();
    }

    type Mutation = (fn(&mut TargetLimits), &'static str);

    #[test]
    fn limits_validate_fields() {
        let cases: &[Mutation] = &[
            (
                |l| l.max_recv_data_segment_length = 511,
                "MaxRecvDataSegmentLength",
            ),
            (
                |l| l.max_recv_data_segment_length = 1 << 24,
                "MaxRecvDataSegmentLength",
            ),
            (
                |l| l.max_xmit_data_segment_length = 0,
                "MaxXmitDataSegmentLength",
            ),
            (|l| l.max_burst_length = 100, "MaxBurstLength"),
            (|l| l.first_burst_length = 100, "FirstBurstLength"),
            (|l| l.first_burst_length = 262145, "FirstBurstLength"),
            (|l| l.max_outstanding_r2t = 0, "MaxOutstandingR2T"),
            (|l| l.max_connections = 0, "MaxConnections"),
            (|l| l.error_recovery_level = 1, "ErrorRecoveryLevel"),
            (|l| l.default_time2wait = 3601, "DefaultTime2Wait"),
            (|l| l.default_time2retain = 3601, "DefaultTime2Retain"),
            (|l| l.protocol_level = 0, "iSCSIProtocolLevel"),
            (|l| l.protocol_level = 3, "iSCSIProtocolLevel"),
            (|l| l.queue_depth = 0, "QueuedCommands"),
        ];
        for (f, field) in cases {
            let mut l = D;
            f(&mut l);
            assert_eq!(l.validate().unwrap_err().field, *field);
        }
        let mut l = D;
        l.first_burst_length = l.max_burst_length;
        l.protocol_level = 2;
        l.max_recv_data_segment_length = (1 << 24) - 1;
        l.validate().unwrap();
        let e = LimitsError {
            field: "X",
            reason: "y",
        };
        assert_eq!(std::format!("{e}"), "X: y");
    }

    #[test]
    fn digests() {
        assert_eq!(ans(&D, "HeaderDigest=CRC32C,None"), "CRC32C");
        assert_eq!(ans(&D, "HeaderDigest=None,CRC32C"), "None");
        assert_eq!(ans(&D, "DataDigest=foo,CRC32C"), "CRC32C");
        assert_eq!(ans(&D, "DataDigest=foo"), "Reject");
        let l = TargetLimits {
            header_digest: DigestPolicy::NoneOnly,
            data_digest: DigestPolicy::Crc32cOnly,
            ..D
        };
        assert_eq!(ans(&l, "HeaderDigest=CRC32C,None"), "None");
        assert_eq!(ans(&l, "HeaderDigest=CRC32C"), "Reject");
        assert_eq!(ans(&l, "DataDigest=None,CRC32C"), "CRC32C");
        assert_eq!(ans(&l, "DataDigest=None"), "Reject");
    }

    #[test]
    fn digest_result_recorded() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        answers(&mut n, b"HeaderDigest=CRC32C\0DataDigest=None\0").unwrap();
        let (_, c) = n.finish().unwrap();
        assert_eq!(c.header_digest, Digest::Crc32c);
        assert_eq!(c.data_digest, Digest::None);
    }

    #[test]
    fn digest_rejected_then_policy_fails() {
        let l = TargetLimits {
            header_digest: DigestPolicy::Crc32cOnly,
            ..D
        };
        let mut n = Negotiator::new(&l, SessionType::Normal, true);
        answers(&mut n, b"HeaderDigest=None\0").unwrap();
        assert_eq!(n.finish(), Err(NegError::Unacceptable(Key::HeaderDigest)));
    }

    #[test]
    fn booleans_or() {
        assert_eq!(ans(&D, "InitialR2T=No"), "Yes");
        assert_eq!(ans(&D, "InitialR2T=Yes"), "Yes");
        let l = TargetLimits {
            initial_r2t: false,
            ..D
        };
        assert_eq!(ans(&l, "InitialR2T=No"), "No");
        assert_eq!(ans(&l, "InitialR2T=Yes"), "Yes");
        assert_eq!(ans(&D, "DataPDUInOrder=No"), "Yes");
        assert_eq!(ans(&D, "DataSequenceInOrder=No"), "Yes");
        assert_eq!(ans(&D, "DataSequenceInOrder=yes"), "Reject");
    }

    #[test]
    fn booleans_and() {
        assert_eq!(ans(&D, "ImmediateData=Yes"), "Yes");
        assert_eq!(ans(&D, "ImmediateData=No"), "No");
        let l = TargetLimits {
            immediate_data: false,
            ..D
        };
        assert_eq!(ans(&l, "ImmediateData=Yes"), "No");
        assert_eq!(ans(&D, "ImmediateData=1"), "Reject");
    }

    #[test]
    fn markers() {
        assert_eq!(ans(&D, "OFMarker=Yes"), "No");
        assert_eq!(ans(&D, "IFMarker=No"), "No");
        assert_eq!(ans(&D, "OFMarkInt=2048"), "Reject");
        assert_eq!(ans(&D, "IFMarkInt=1~65535"), "Reject");
    }

    #[test]
    fn numeric_min() {
        assert_eq!(ans(&D, "MaxBurstLength=1048576"), "262144");
        assert_eq!(ans(&D, "MaxBurstLength=16384"), "16384");
        assert_eq!(ans(&D, "MaxBurstLength=0x4000"), "16384");
        assert_eq!(ans(&D, "MaxBurstLength=511"), "Reject");
        assert_eq!(ans(&D, "MaxBurstLength=16777216"), "Reject");
        assert_eq!(ans(&D, "MaxBurstLength=abc"), "Reject");
        assert_eq!(ans(&D, "MaxConnections=8"), "1");
        assert_eq!(ans(&D, "MaxConnections=0"), "Reject");
        assert_eq!(ans(&D, "MaxOutstandingR2T=16"), "1");
        assert_eq!(ans(&D, "ErrorRecoveryLevel=2"), "0");
        assert_eq!(ans(&D, "ErrorRecoveryLevel=3"), "Reject");
        assert_eq!(ans(&D, "DefaultTime2Retain=0"), "0");
        assert_eq!(ans(&D, "DefaultTime2Retain=60"), "20");
        assert_eq!(ans(&D, "iSCSIProtocolLevel=2"), "1");
        assert_eq!(ans(&D, "iSCSIProtocolLevel=32"), "Reject");
        let l = TargetLimits {
            protocol_level: 2,
            ..D
        };
        assert_eq!(ans(&l, "iSCSIProtocolLevel=31"), "2");
        assert_eq!(ans(&l, "iSCSIProtocolLevel=0"), "0");
    }

    #[test]
    fn numeric_max() {
        assert_eq!(ans(&D, "DefaultTime2Wait=0"), "2");
        assert_eq!(ans(&D, "DefaultTime2Wait=10"), "10");
        assert_eq!(ans(&D, "DefaultTime2Wait=3601"), "Reject");
    }

    #[test]
    fn first_burst_bounded_by_max_burst() {
        let l = TargetLimits {
            first_burst_length: 262144,
            ..D
        };
        let r = one(
            &l,
            "FirstBurstLength=131072|MaxBurstLength=65536|ImmediateData=Yes|",
        );
        assert!(
            r.contains(&("FirstBurstLength".into(), "65536".into())),
            "{r:?}"
        );
        let r = one(&D, "FirstBurstLength=131072|");
        assert_eq!(r[0].1, "65536");
        let r = one(&D, "FirstBurstLength=4096|");
        assert_eq!(r[0].1, "4096");
        let r = one(&D, "FirstBurstLength=4|");
        assert_eq!(r[0].1, "Reject");
    }

    #[test]
    fn first_burst_irrelevant() {
        let r = one(&D, "InitialR2T=Yes|ImmediateData=No|FirstBurstLength=4096|");
        assert_eq!(r[2], ("FirstBurstLength".into(), "Irrelevant".into()));
        let r = one(&D, "FirstBurstLength=4096|ImmediateData=No|");
        assert_eq!(r[1], ("FirstBurstLength".into(), "Irrelevant".into()));
    }

    #[test]
    fn max_recv_declared_limits_send() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        assert!(answers(&mut n, b"MaxRecvDataSegmentLength=262144\0")
            .unwrap()
            .is_empty());
        assert_eq!(n.finish().unwrap().1.max_xmit_data_segment_length, 262144);
        let l = TargetLimits {
            max_xmit_data_segment_length: 65536,
            ..D
        };
        let mut n = Negotiator::new(&l, SessionType::Normal, true);
        answers(&mut n, b"MaxRecvDataSegmentLength=262144\0").unwrap();
        assert_eq!(n.finish().unwrap().1.max_xmit_data_segment_length, 65536);
        let n = Negotiator::new(&l, SessionType::Normal, true);
        assert_eq!(n.finish().unwrap().1.max_xmit_data_segment_length, 8192);
        let l = TargetLimits {
            max_xmit_data_segment_length: 4096,
            ..D
        };
        let n = Negotiator::new(&l, SessionType::Normal, true);
        assert_eq!(n.finish().unwrap().1.max_xmit_data_segment_length, 4096);
    }

    #[test]
    fn max_recv_out_of_range_rejected() {
        assert_eq!(ans(&D, "MaxRecvDataSegmentLength=100"), "Reject");
        assert_eq!(ans(&D, "MaxRecvDataSegmentLength=16777216"), "Reject");
    }

    #[test]
    fn declarations_once() {
        let l = TargetLimits {
            max_recv_data_segment_length: 65536,
            ..D
        };
        let mut n = Negotiator::new(&l, SessionType::Normal, true);
        let mut b = [0u8; 64];
        let mut w = TextWriter::new(&mut b);
        assert!(n.declarations(&mut w).unwrap());
        assert!(!n.declarations(&mut w).unwrap());
        assert_eq!(w.as_bytes(), b"MaxRecvDataSegmentLength=65536\0");
        assert_eq!(n.finish().unwrap().1.max_recv_data_segment_length, 65536);
    }

    #[test]
    fn unknown_and_extension_keys() {
        assert_eq!(ans(&D, "X-com.example.foo=1"), "NotUnderstood");
        assert_eq!(ans(&D, "X#NodeArchitecture=x"), "NotUnderstood");
        assert_eq!(ans(&D, "FooBar=1"), "NotUnderstood");
        assert_eq!(ans(&D, "headerdigest=None"), "NotUnderstood");
    }

    #[test]
    fn reserved_values_as_offers_rejected() {
        assert_eq!(ans(&D, "MaxBurstLength=Reject"), "Reject");
        assert_eq!(ans(&D, "InitialR2T=Irrelevant"), "Reject");
        assert_eq!(ans(&D, "HeaderDigest=NotUnderstood"), "Reject");
    }

    #[test]
    fn send_targets_in_login_rejected() {
        assert_eq!(ans(&D, "SendTargets=All"), "Reject");
    }

    #[test]
    fn target_only_keys_are_protocol_errors() {
        for k in [
            "TargetAlias=x",
            "TargetAddress=1.2.3.4",
            "TargetPortalGroupTag=1",
        ] {
            let mut n = Negotiator::new(&D, SessionType::Normal, true);
            let t = std::format!("{k}\0");
            assert!(
                matches!(answers(&mut n, t.as_bytes()), Err(NegError::Protocol(_))),
                "{k}"
            );
        }
    }

    #[test]
    fn login_keys_not_operational() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        let mut b = [0u8; 16];
        let mut w = TextWriter::new(&mut b);
        for (k, key) in [
            ("InitiatorName", Key::InitiatorName),
            ("TargetName", Key::TargetName),
            ("SessionType", Key::SessionType),
            ("InitiatorAlias", Key::InitiatorAlias),
            ("AuthMethod", Key::AuthMethod),
            ("CHAP_A", Key::ChapA),
            ("CHAP_R", Key::ChapR),
        ] {
            assert_eq!(
                n.key(k.as_bytes(), b"x", &mut w),
                Ok(KeyDisposition::NotOperational(key))
            );
        }
        assert!(w.is_empty());
    }

    #[test]
    fn renegotiation_is_protocol_error() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        answers(&mut n, b"MaxBurstLength=4096\0").unwrap();
        assert_eq!(
            answers(&mut n, b"MaxBurstLength=4096\0"),
            Err(NegError::Protocol(Key::MaxBurstLength))
        );
    }

    #[test]
    fn discovery_irrelevant_keys() {
        let mut n = Negotiator::new(&D, SessionType::Discovery, true);
        let r = answers(
            &mut n,
            b"MaxBurstLength=4096\0InitialR2T=No\0ImmediateData=Yes\0FirstBurstLength=512\0\
MaxConnections=1\0MaxOutstandingR2T=1\0DataPDUInOrder=Yes\0DataSequenceInOrder=Yes\0\
iSCSIProtocolLevel=1\0TaskReporting=RFC3720\0",
        )
        .unwrap();
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|(_, v)| v == "Irrelevant"), "{r:?}");
        let r = answers(
            &mut n,
            b"HeaderDigest=None\0ErrorRecoveryLevel=0\0DefaultTime2Wait=2\0",
        )
        .unwrap();
        assert_eq!(r[0].1, "None");
        assert_eq!(r[1].1, "0");
        assert_eq!(r[2].1, "2");
        let (s, _) = n.finish().unwrap();
        assert_eq!(s.session_type, SessionType::Discovery);
    }

    #[test]
    fn non_leading_connection_rejects_lo_keys() {
        let mut n = Negotiator::new(&D, SessionType::Normal, false);
        let r = answers(&mut n, b"MaxBurstLength=4096\0HeaderDigest=None\0").unwrap();
        assert_eq!(r[0].1, "Reject");
        assert_eq!(r[1].1, "None");
    }

    #[test]
    fn task_reporting() {
        assert_eq!(ans(&D, "TaskReporting=FastAbort,RFC3720"), "RFC3720");
        assert_eq!(ans(&D, "TaskReporting=FastAbort"), "Reject");
        let l = TargetLimits {
            fast_abort: true,
            response_fence: true,
            ..D
        };
        assert_eq!(ans(&l, "TaskReporting=FastAbort,RFC3720"), "FastAbort");
        assert_eq!(ans(&l, "TaskReporting=ResponseFence"), "ResponseFence");
    }

    #[test]
    fn no_offers_with_defaults() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        let mut b = [0u8; 256];
        let mut w = TextWriter::new(&mut b);
        assert!(!n.target_offers(&mut w).unwrap());
        assert!(w.is_empty());
        assert!(!n.awaiting_answers());
    }

    fn strict() -> TargetLimits {
        TargetLimits {
            max_burst_length: 65536,
            first_burst_length: 16384,
            immediate_data: false,
            initial_r2t: false,
            default_time2wait: 5,
            default_time2retain: 0,
            header_digest: DigestPolicy::Crc32cOnly,
            data_digest: DigestPolicy::Crc32cOnly,
            ..D
        }
    }

    fn offers(n: &mut Negotiator) -> Vec<(String, String)> {
        let mut b = [0u8; 512];
        let mut w = TextWriter::new(&mut b);
        n.target_offers(&mut w).unwrap();
        parse(w.as_bytes())
    }

    #[test]
    fn offers_for_non_defaults() {
        let mut n = Negotiator::new(&strict(), SessionType::Normal, true);
        let o = offers(&mut n);
        let names: Vec<&str> = o.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "HeaderDigest",
                "DataDigest",
                "MaxBurstLength",
                "ImmediateData",
                "DefaultTime2Wait",
                "DefaultTime2Retain"
            ]
        );
        // InitialR2T stays Yes (the default) and ImmediateData becomes No,
        // so FirstBurstLength is irrelevant and not offered.
        assert_eq!(o[2].1, "65536");
        assert_eq!(o[3].1, "No");
        assert!(n.awaiting_answers());
        assert_eq!(n.finish(), Err(NegError::Protocol(Key::HeaderDigest)));
        // Offers are made once.
        assert!(offers(&mut n).is_empty());
    }

    #[test]
    fn offers_answered() {
        let mut n = Negotiator::new(&strict(), SessionType::Normal, true);
        offers(&mut n);
        let r = answers(
            &mut n,
            b"HeaderDigest=CRC32C\0DataDigest=CRC32C\0MaxBurstLength=32768\0\
ImmediateData=No\0DefaultTime2Wait=5\0DefaultTime2Retain=0\0",
        )
        .unwrap();
        assert!(r.is_empty(), "answers are not answered: {r:?}");
        assert!(!n.awaiting_answers());
        let (s, c) = n.finish().unwrap();
        assert_eq!(s.max_burst_length, 32768);
        // Irrelevant, but kept within MaxBurstLength.
        assert_eq!(s.first_burst_length, 32768);
        assert!(!s.immediate_data);
        assert_eq!(s.default_time2wait, 5);
        assert_eq!(s.default_time2retain, 0);
        assert_eq!(c.header_digest, Digest::Crc32c);
        assert_eq!(c.data_digest, Digest::Crc32c);
    }

    #[test]
    fn bad_answers_are_protocol_errors() {
        let cases: &[&[u8]] = &[
            b"MaxBurstLength=131072\0",
            b"MaxBurstLength=100\0",
            b"MaxBurstLength=x\0",
            b"ImmediateData=Yes\0",
            b"HeaderDigest=None\0",
            b"DefaultTime2Wait=4\0",
            b"DefaultTime2Retain=1\0",
            b"DataDigest=NotUnderstood\0",
        ];
        for t in cases {
            let mut n = Negotiator::new(&strict(), SessionType::Normal, true);
            offers(&mut n);
            assert!(
                matches!(answers(&mut n, t), Err(NegError::Protocol(_))),
                "{t:?}"
            );
        }
    }

    #[test]
    fn first_burst_offer_and_answers() {
        let l = TargetLimits {
            first_burst_length: 16384,
            ..D
        };
        for (ans, ok) in [
            (&b"FirstBurstLength=8192\0"[..], true),
            (b"FirstBurstLength=32768\0", false),
        ] {
            let mut n = Negotiator::new(&l, SessionType::Normal, true);
            assert_eq!(
                offers(&mut n),
                vec![("FirstBurstLength".into(), "16384".into())]
            );
            let r = answers(&mut n, ans);
            assert_eq!(r.is_ok(), ok);
            if ok {
                assert_eq!(n.finish().unwrap().0.first_burst_length, 8192);
            }
        }
    }

    #[test]
    fn rejected_offers_fail_finish() {
        let mut n = Negotiator::new(&strict(), SessionType::Normal, true);
        offers(&mut n);
        answers(
            &mut n,
            b"HeaderDigest=CRC32C\0DataDigest=CRC32C\0MaxBurstLength=Reject\0\
ImmediateData=No\0DefaultTime2Wait=5\0DefaultTime2Retain=0\0",
        )
        .unwrap();
        assert_eq!(n.finish(), Err(NegError::Unacceptable(Key::MaxBurstLength)));
    }

    #[test]
    fn irrelevant_answer_keeps_default() {
        let l = TargetLimits {
            default_time2wait: 5,
            ..D
        };
        let mut n = Negotiator::new(&l, SessionType::Normal, true);
        offers(&mut n);
        answers(&mut n, b"DefaultTime2Wait=Irrelevant\0").unwrap();
        assert_eq!(n.finish().unwrap().0.default_time2wait, 2);
    }

    #[test]
    fn first_burst_offer_follows_small_max_burst() {
        // The initiator lowered MaxBurstLength below the default
        // FirstBurstLength: we must offer a FirstBurstLength that fits.
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        answers(&mut n, b"MaxBurstLength=16384\0").unwrap();
        let o = offers(&mut n);
        assert_eq!(o, vec![("FirstBurstLength".into(), "16384".into())]);
        answers(&mut n, b"FirstBurstLength=8192\0").unwrap();
        let (s, _) = n.finish().unwrap();
        assert_eq!((s.max_burst_length, s.first_burst_length), (16384, 8192));
    }

    #[test]
    fn no_first_burst_offer_when_irrelevant() {
        let l = TargetLimits {
            first_burst_length: 4096,
            immediate_data: false,
            ..D
        };
        let mut n = Negotiator::new(&l, SessionType::Normal, true);
        let o = offers(&mut n);
        assert_eq!(o, vec![("ImmediateData".into(), "No".into())]);
    }

    #[test]
    fn discovery_and_non_leading_offer_only_connection_keys() {
        for (t, lead) in [(SessionType::Discovery, true), (SessionType::Normal, false)] {
            let mut n = Negotiator::new(&strict(), t, lead);
            let o = offers(&mut n);
            let names: Vec<&str> = o.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, ["HeaderDigest", "DataDigest"]);
        }
    }

    #[test]
    fn offers_full_buffer_is_atomic() {
        let mut n = Negotiator::new(&strict(), SessionType::Normal, true);
        let mut b = [0u8; 40];
        let mut w = TextWriter::new(&mut b);
        assert_eq!(n.target_offers(&mut w), Err(NegError::Full));
        assert!(w.is_empty());
    }

    #[test]
    fn full_response_buffer() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        let mut b = [0u8; 10];
        let mut w = TextWriter::new(&mut b);
        assert_eq!(
            n.key(b"MaxBurstLength", b"4096", &mut w),
            Err(NegError::Full)
        );
    }

    #[test]
    fn finish_defaults() {
        let n = Negotiator::new(&D, SessionType::Normal, true);
        let (s, c) = n.finish().unwrap();
        assert_eq!(s, SessionParams::default());
        assert_eq!(c, ConnParams::default());
    }

    #[test]
    fn finish_fbl_le_mbl_across_texts() {
        let l = TargetLimits {
            first_burst_length: 262144,
            ..D
        };
        let mut n = Negotiator::new(&l, SessionType::Normal, true);
        answers(&mut n, b"FirstBurstLength=131072\0").unwrap();
        answers(&mut n, b"MaxBurstLength=65536\0").unwrap();
        assert_eq!(n.finish(), Err(NegError::Protocol(Key::FirstBurstLength)));
    }

    #[test]
    fn session_type_and_names() {
        assert_eq!(
            SessionType::parse(b"Discovery"),
            Some(SessionType::Discovery)
        );
        assert_eq!(SessionType::parse(b"Normal"), Some(SessionType::Normal));
        assert_eq!(SessionType::parse(b"normal"), None);
        assert_eq!(Digest::Crc32c.name(), b"CRC32C");
        assert_eq!(TaskReporting::FastAbort.name(), b"FastAbort");
        assert_eq!(Key::DataPduInOrder.name(), "DataPDUInOrder");
        assert!(DigestPolicy::Either.allows(Digest::None));
        assert!(!DigestPolicy::NoneOnly.allows(Digest::Crc32c));
    }

    #[test]
    fn neg_error_display() {
        assert_eq!(
            std::format!("{}", NegError::Protocol(Key::MaxBurstLength)),
            "negotiation protocol error on MaxBurstLength"
        );
        assert_eq!(std::format!("{}", NegError::Full), "response text too long");
    }

    #[test]
    fn table_defaults_match_session_defaults() {
        let s = SessionParams::default();
        let num = |k: Key| k.info().default.parse::<u64>().unwrap();
        assert_eq!(num(Key::MaxBurstLength), u64::from(s.max_burst_length));
        assert_eq!(num(Key::FirstBurstLength), u64::from(s.first_burst_length));
        assert_eq!(num(Key::DefaultTime2Wait), u64::from(s.default_time2wait));
        assert_eq!(
            num(Key::DefaultTime2Retain),
            u64::from(s.default_time2retain)
        );
        assert_eq!(
            num(Key::MaxOutstandingR2T),
            u64::from(s.max_outstanding_r2t)
        );
        assert_eq!(num(Key::MaxConnections), u64::from(s.max_connections));
        assert_eq!(
            num(Key::ErrorRecoveryLevel),
            u64::from(s.error_recovery_level)
        );
        assert_eq!(num(Key::IscsiProtocolLevel), u64::from(s.protocol_level));
        let c = ConnParams::default();
        assert_eq!(
            num(Key::MaxRecvDataSegmentLength),
            u64::from(c.max_recv_data_segment_length)
        );
        assert_eq!(
            Key::HeaderDigest.info().default.as_bytes(),
            c.header_digest.name()
        );
        assert_eq!(
            Key::TaskReporting.info().default.as_bytes(),
            s.task_reporting.name()
        );
        assert_eq!(Key::InitialR2T.info().default, "Yes");
        assert_eq!(Key::SessionType.info().default, "Normal");
    }

    #[test]
    fn limits_match_rfc_defaults() {
        let s = SessionParams::default();
        assert_eq!(D.max_burst_length, s.max_burst_length);
        assert_eq!(D.first_burst_length, s.first_burst_length);
        assert_eq!(D.default_time2wait, s.default_time2wait);
        assert_eq!(D.default_time2retain, s.default_time2retain);
        assert_eq!(D.initial_r2t, s.initial_r2t);
        assert_eq!(D.immediate_data, s.immediate_data);
    }

    #[test]
    fn max_connections_limit() {
        let l = TargetLimits {
            max_connections: 4,
            ..D
        };
        assert_eq!(ans(&l, "MaxConnections=8"), "4");
        assert_eq!(ans(&l, "MaxConnections=2"), "2");
        assert_eq!(ans(&l, "MaxConnections=65536"), "Reject");
    }

    #[test]
    fn hex_values_accepted() {
        assert_eq!(ans(&D, "ErrorRecoveryLevel=0x0"), "0");
        assert_eq!(ans(&D, "DefaultTime2Wait=0xa"), "10");
        assert_eq!(ans(&D, "MaxOutstandingR2T=0X1"), "1");
    }

    #[test]
    fn digest_policy_table() {
        let cases = [
            (DigestPolicy::NoneOnly, Digest::None, true),
            (DigestPolicy::NoneOnly, Digest::Crc32c, false),
            (DigestPolicy::Crc32cOnly, Digest::None, false),
            (DigestPolicy::Crc32cOnly, Digest::Crc32c, true),
            (DigestPolicy::Either, Digest::None, true),
            (DigestPolicy::Either, Digest::Crc32c, true),
        ];
        for (p, d, want) in cases {
            assert_eq!(p.allows(d), want, "{p:?} {d:?}");
        }
    }

    #[test]
    fn received_tracking() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        assert!(!n.received(Key::MaxBurstLength));
        answers(&mut n, b"MaxBurstLength=4096\0").unwrap();
        assert!(n.received(Key::MaxBurstLength));
        assert!(!n.received(Key::FirstBurstLength));
    }

    #[test]
    fn session_type_switch() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        n.set_session_type(SessionType::Discovery);
        assert_eq!(n.session_type(), SessionType::Discovery);
        assert_eq!(
            answers(&mut n, b"MaxBurstLength=4096\0").unwrap()[0].1,
            "Irrelevant"
        );
    }

    #[test]
    fn fbl_reject_is_deferred_once() {
        let mut n = Negotiator::new(&D, SessionType::Normal, true);
        let r = answers(&mut n, b"FirstBurstLength=0x\0").unwrap();
        assert_eq!(r, vec![("FirstBurstLength".into(), "Reject".into())]);
        // Nothing left for the next text.
        assert!(answers(&mut n, b"").unwrap().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn negotiation_never_panics_and_keeps_invariants(
            keys in proptest::collection::vec((0usize..40, "[0-9A-Za-z,~]{0,12}"), 0..30),
            strict_limits in proptest::prelude::any::<bool>(),
            disc in proptest::prelude::any::<bool>(),
        ) {
            let l = if strict_limits { strict() } else { D };
            let t = if disc { SessionType::Discovery } else { SessionType::Normal };
            let mut n = Negotiator::new(&l, t, true);
            let mut buf = [0u8; 4096];
            let mut w = TextWriter::new(&mut buf);
            let mut seen = std::collections::HashSet::new();
            for (i, v) in &keys {
                let name = KEYS.get(*i).map(|k| k.name).unwrap_or("X-foo");
                if !seen.insert(name) {
                    continue;
                }
                if n.key(name.as_bytes(), v.as_bytes(), &mut w).is_err() {
                    return Ok(());
                }
            }
            if n.end_of_text(&mut w).is_err() {
                return Ok(());
            }
            let _ = n.target_offers(&mut w);
            proptest::prop_assert!(text::validate(w.as_bytes()).is_ok());
            if let Ok((s, c)) = n.finish() {
                proptest::prop_assert!(s.first_burst_length <= s.max_burst_length);
                proptest::prop_assert!(s.max_burst_length <= l.max_burst_length.max(262144));
                proptest::prop_assert!(s.data_pdu_in_order && s.data_sequence_in_order);
                proptest::prop_assert_eq!(s.error_recovery_level, 0);
                proptest::prop_assert!(l.header_digest.allows(c.header_digest));
                proptest::prop_assert!(c.max_xmit_data_segment_length <= l.max_xmit_data_segment_length);
                proptest::prop_assert!(c.max_xmit_data_segment_length >= 512);
            }
        }
    }
}
