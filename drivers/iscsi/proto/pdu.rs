// SPDX-License-Identifier: GPL-2.0

//! iSCSI PDU codec (RFC 7143 section 11, RFC 7144 for the SAM-5 task
//! management functions).
//!
//! Every PDU starts with a 48-byte Basic Header Segment (BHS). This module
//! turns a BHS into one plain struct per PDU type and back
//! (`decode(&[u8; BHS_LEN])` / `encode(&self, &mut [u8; BHS_LEN])`), computes
//! the layout of the rest of the PDU (AHS, header digest, data segment,
//! padding, data digest), parses the AHS area and assembles CDBs longer than
//! 16 bytes, and builds/parses the small data segments the codec owns (SCSI
//! Response sense data, Reject payload).
//!
//! Decoding is structural: any 48 bytes with a known opcode decode, reserved
//! bits are ignored, and code fields with reserved values decode to an
//! `Other`/`Reserved` variant so the layer that owns the semantics (login,
//! task management, ...) chooses the RFC reaction. Encoding writes every
//! field and zeroes every reserved bit, so `decode(encode(x)) == x` for every
//! decoded `x`.
//!
//! Errors carry the reaction the RFC prescribes, see [`PduError::action`].

use super::digest::DIGEST_LEN;

/// Length of the Basic Header Segment (RFC 7143 section 11.2).
pub const BHS_LEN: usize = 48;

/// The I (immediate delivery) bit in byte 0 of request PDUs.
pub const IMMEDIATE_BIT: u8 = 0x40;

/// The F (final) bit in byte 1.
pub const FINAL_BIT: u8 = 0x80;

/// Mask of the 6-bit opcode in byte 0.
pub const OPCODE_MASK: u8 = 0x3f;

/// The reserved tag value 0xffffffff (ITT/TTT "not used").
pub const RESERVED_TAG: u32 = 0xffff_ffff;

/// Largest value of the 24-bit DataSegmentLength field.
pub const MAX_DATA_SEGMENT_LEN: u32 = 0x00ff_ffff;

/// Largest AHS area: TotalAHSLength is one byte counting 4-byte words.
pub const MAX_AHS_LEN: usize = 255 * 4;

/// Length of the CDB field in the SCSI Command BHS.
pub const BHS_CDB_LEN: usize = 16;

/// Largest CDB a PDU can carry: 16 bytes in the BHS plus an Extended CDB AHS
/// filling the whole AHS area (1020 bytes minus its 4-byte header).
pub const MAX_CDB_LEN: usize = BHS_CDB_LEN + MAX_AHS_LEN - 4;

// ---------------------------------------------------------------------------
// Byte access that never panics (offsets are constants, but stay safe anyway).
// ---------------------------------------------------------------------------

fn rd<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    b.get(off..off.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

fn rd8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

fn rd16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes(rd(b, off))
}

fn rd24(b: &[u8], off: usize) -> u32 {
    let [x, y, z] = rd::<3>(b, off);
    u32::from_be_bytes([0, x, y, z])
}

fn rd32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes(rd(b, off))
}

fn rd64(b: &[u8], off: usize) -> u64 {
    u64::from_be_bytes(rd(b, off))
}

fn wr(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off.saturating_add(v.len())) {
        d.copy_from_slice(v);
    }
}

fn wr8(b: &mut [u8], off: usize, v: u8) {
    if let Some(x) = b.get_mut(off) {
        *x = v;
    }
}

fn wr16(b: &mut [u8], off: usize, v: u16) {
    wr(b, off, &v.to_be_bytes());
}

fn wr24(b: &mut [u8], off: usize, v: u32) {
    let [_, x, y, z] = v.to_be_bytes();
    wr(b, off, &[x, y, z]);
}

fn wr32(b: &mut [u8], off: usize, v: u32) {
    wr(b, off, &v.to_be_bytes());
}

fn wr64(b: &mut [u8], off: usize, v: u64) {
    wr(b, off, &v.to_be_bytes());
}

/// The first `n` bytes of a caller's output buffer, or `BufferTooSmall`.
fn prefix(out: &mut [u8], n: usize) -> Result<&mut [u8], PduError> {
    let have = out.len();
    out.get_mut(..n)
        .ok_or(PduError::BufferTooSmall { need: n, have })
}

fn bit(b: u8, mask: u8) -> bool {
    b & mask != 0
}

fn flag(on: bool, mask: u8) -> u8 {
    if on {
        mask
    } else {
        0
    }
}

// ---------------------------------------------------------------------------
// Opcodes and errors
// ---------------------------------------------------------------------------

/// PDU opcodes (RFC 7143 section 11.2.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// NOP-Out (initiator).
    NopOut = 0x00,
    /// SCSI Command (initiator).
    ScsiCommand = 0x01,
    /// SCSI Task Management Function Request (initiator).
    TaskMgmtRequest = 0x02,
    /// Login Request (initiator).
    LoginRequest = 0x03,
    /// Text Request (initiator).
    TextRequest = 0x04,
    /// SCSI Data-Out (initiator).
    DataOut = 0x05,
    /// Logout Request (initiator).
    LogoutRequest = 0x06,
    /// SNACK Request (initiator).
    SnackRequest = 0x10,
    /// NOP-In (target).
    NopIn = 0x20,
    /// SCSI Response (target).
    ScsiResponse = 0x21,
    /// SCSI Task Management Function Response (target).
    TaskMgmtResponse = 0x22,
    /// Login Response (target).
    LoginResponse = 0x23,
    /// Text Response (target).
    TextResponse = 0x24,
    /// SCSI Data-In (target).
    DataIn = 0x25,
    /// Logout Response (target).
    LogoutResponse = 0x26,
    /// Ready To Transfer (target).
    R2t = 0x31,
    /// Asynchronous Message (target).
    AsyncMessage = 0x32,
    /// Reject (target).
    Reject = 0x3f,
}

impl Opcode {
    /// All defined opcodes, initiator ones first.
    pub const ALL: [Opcode; 18] = [
        Opcode::NopOut,
        Opcode::ScsiCommand,
        Opcode::TaskMgmtRequest,
        Opcode::LoginRequest,
        Opcode::TextRequest,
        Opcode::DataOut,
        Opcode::LogoutRequest,
        Opcode::SnackRequest,
        Opcode::NopIn,
        Opcode::ScsiResponse,
        Opcode::TaskMgmtResponse,
        Opcode::LoginResponse,
        Opcode::TextResponse,
        Opcode::DataIn,
        Opcode::LogoutResponse,
        Opcode::R2t,
        Opcode::AsyncMessage,
        Opcode::Reject,
    ];

    /// Decodes the low 6 bits of BHS byte 0; `None` for an undefined opcode.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v & OPCODE_MASK {
            0x00 => Self::NopOut,
            0x01 => Self::ScsiCommand,
            0x02 => Self::TaskMgmtRequest,
            0x03 => Self::LoginRequest,
            0x04 => Self::TextRequest,
            0x05 => Self::DataOut,
            0x06 => Self::LogoutRequest,
            0x10 => Self::SnackRequest,
            0x20 => Self::NopIn,
            0x21 => Self::ScsiResponse,
            0x22 => Self::TaskMgmtResponse,
            0x23 => Self::LoginResponse,
            0x24 => Self::TextResponse,
            0x25 => Self::DataIn,
            0x26 => Self::LogoutResponse,
            0x31 => Self::R2t,
            0x32 => Self::AsyncMessage,
            0x3f => Self::Reject,
            _ => return None,
        })
    }

    /// The opcode value.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }

    /// True for opcodes an initiator sends (0x00-0x1f); target opcodes have
    /// bit 5 set.
    pub const fn is_initiator(self) -> bool {
        (self as u8) & 0x20 == 0
    }
}

/// Reject reason codes (RFC 7143 section 11.17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// 0x02 Data (payload) digest error; the PDU may be resent.
    DataDigestError,
    /// 0x03 SNACK Reject; the PDU may be resent.
    SnackReject,
    /// 0x04 Protocol Error (e.g. SNACK for an acknowledged status).
    ProtocolError,
    /// 0x05 Command not supported.
    CommandNotSupported,
    /// 0x06 Immediate command reject: too many immediate commands.
    ImmediateCommandReject,
    /// 0x07 Task in progress.
    TaskInProgress,
    /// 0x08 Invalid data ack.
    InvalidDataAck,
    /// 0x09 Invalid PDU field.
    InvalidPduField,
    /// 0x0a Long op reject: cannot generate Target Transfer Tag, out of
    /// resources.
    LongOpReject,
    /// 0x0b Deprecated (Negotiation Reset in RFC 3720); MUST NOT be sent.
    Deprecated,
    /// 0x0c Waiting for Logout.
    WaitingForLogout,
    /// Any other value (0x01 is reserved, 0x0d-0xff unassigned).
    Other(u8),
}

impl RejectReason {
    /// Decodes the Reason byte.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0x02 => Self::DataDigestError,
            0x03 => Self::SnackReject,
            0x04 => Self::ProtocolError,
            0x05 => Self::CommandNotSupported,
            0x06 => Self::ImmediateCommandReject,
            0x07 => Self::TaskInProgress,
            0x08 => Self::InvalidDataAck,
            0x09 => Self::InvalidPduField,
            0x0a => Self::LongOpReject,
            0x0b => Self::Deprecated,
            0x0c => Self::WaitingForLogout,
            x => Self::Other(x),
        }
    }

    /// The Reason byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::DataDigestError => 0x02,
            Self::SnackReject => 0x03,
            Self::ProtocolError => 0x04,
            Self::CommandNotSupported => 0x05,
            Self::ImmediateCommandReject => 0x06,
            Self::TaskInProgress => 0x07,
            Self::InvalidDataAck => 0x08,
            Self::InvalidPduField => 0x09,
            Self::LongOpReject => 0x0a,
            Self::Deprecated => 0x0b,
            Self::WaitingForLogout => 0x0c,
            Self::Other(x) => x,
        }
    }
}

/// What the receiver of a bad PDU must do (RFC 7143 sections 7 and 11.17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorAction {
    /// Discard the PDU (its AHS/data are still framed by the BHS, so the
    /// connection stays in sync) and answer with a Reject PDU carrying this
    /// reason and the offending BHS as data. Full Feature Phase only: during
    /// login the login layer answers with a Login Response instead (status
    /// class 0x02 Initiator Error).
    Reject(RejectReason),
    /// The PDU stream can no longer be framed: close the connection
    /// (RFC 7143 section 7.6 format error / connection recovery).
    DropConnection,
    /// Not a property of received data (a caller buffer too small, a struct
    /// decoder called with the wrong opcode): a programming error to log.
    Local,
}

/// Errors of the PDU codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduError {
    /// The opcode is not defined by RFC 7143 in the initiator range
    /// (0x00-0x1f, e.g. a vendor-specific 0x1c-0x1e). Reject reason 0x05
    /// "Command not supported".
    UnknownOpcode(u8),
    /// A target opcode (bit 5 set, 0x20-0x3f) received by the target: an
    /// initiator MUST NOT use target opcodes (RFC 7143 section 11.2.1.2), so
    /// this is Reject reason 0x04 "Protocol Error".
    TargetOpcode(u8),
    /// A per-PDU `decode` was handed a BHS of another opcode (caller error).
    OpcodeMismatch {
        /// The opcode the decoder handles.
        expected: Opcode,
        /// The opcode found in byte 0.
        found: u8,
    },
    /// DataSegmentLength exceeds the receiver's MaxRecvDataSegmentLength
    /// (RFC 7143 section 13.12 forbids sending it). Answered with Reject
    /// 0x04 "Protocol Error" after skipping the segment, as Linux LIO does;
    /// the RFC names no specific reaction.
    DataSegmentTooLong {
        /// DataSegmentLength from the BHS.
        len: u32,
        /// The receiver's MaxRecvDataSegmentLength.
        max: u32,
    },
    /// A value does not fit its wire field (encoder side, e.g. a
    /// DataSegmentLength above 2^24-1 or a sense buffer above 65535 bytes).
    FieldTooLarge,
    /// The AHS area ends in the middle of an AHS (Reject 0x09).
    AhsTruncated,
    /// An AHS with a reserved AHSType 0 or 3-59 (Reject 0x09).
    AhsReservedType(u8),
    /// An AHS whose AHSLength is wrong for its type: an Extended CDB AHS
    /// needs at least 2 (reserved byte + 1 CDB byte), a Bidirectional Read
    /// Expected Data Transfer Length AHS exactly 5 (Reject 0x09).
    AhsBadLength {
        /// The AHSType code.
        ahs_type: u8,
        /// The AHSLength field.
        len: u16,
    },
    /// The same AHS type twice in one PDU (Reject 0x09).
    AhsDuplicate(u8),
    /// The SCSI Response data segment's SenseLength runs past the segment.
    SenseTruncated {
        /// SenseLength from the segment.
        sense_len: u16,
        /// Bytes available after the 2-byte SenseLength.
        available: usize,
    },
    /// The data segment is shorter than a structure it must hold.
    SegmentTooShort,
    /// A caller-provided output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes provided.
        have: usize,
    },
    /// Checked arithmetic on a wire length overflowed.
    Overflow,
}

impl PduError {
    /// The reaction the RFC prescribes for this error.
    pub const fn action(&self) -> ErrorAction {
        match self {
            Self::UnknownOpcode(_) => ErrorAction::Reject(RejectReason::CommandNotSupported),
            Self::TargetOpcode(_) | Self::DataSegmentTooLong { .. } => {
                ErrorAction::Reject(RejectReason::ProtocolError)
            }
            Self::AhsTruncated
            | Self::AhsReservedType(_)
            | Self::AhsBadLength { .. }
            | Self::AhsDuplicate(_)
            | Self::SenseTruncated { .. }
            | Self::SegmentTooShort => ErrorAction::Reject(RejectReason::InvalidPduField),
            Self::Overflow => ErrorAction::DropConnection,
            Self::OpcodeMismatch { .. } | Self::FieldTooLarge | Self::BufferTooSmall { .. } => {
                ErrorAction::Local
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Common header accessors (RFC 7143 section 11.2.1)
// ---------------------------------------------------------------------------

/// Raw 6-bit opcode of a BHS.
pub fn opcode_raw(bhs: &[u8; BHS_LEN]) -> u8 {
    rd8(bhs, 0) & OPCODE_MASK
}

/// Opcode of a BHS, or [`PduError::UnknownOpcode`].
pub fn opcode(bhs: &[u8; BHS_LEN]) -> Result<Opcode, PduError> {
    let raw = opcode_raw(bhs);
    Opcode::from_u8(raw).ok_or(PduError::UnknownOpcode(raw))
}

/// The I (immediate delivery) bit.
pub fn immediate(bhs: &[u8; BHS_LEN]) -> bool {
    bit(rd8(bhs, 0), IMMEDIATE_BIT)
}

/// The F (final) bit (byte 1 bit 7; the T bit for Login PDUs).
pub fn final_bit(bhs: &[u8; BHS_LEN]) -> bool {
    bit(rd8(bhs, 1), FINAL_BIT)
}

/// TotalAHSLength in 4-byte words.
pub fn total_ahs_len_words(bhs: &[u8; BHS_LEN]) -> u8 {
    rd8(bhs, 4)
}

/// TotalAHSLength in bytes (at most [`MAX_AHS_LEN`]).
pub fn total_ahs_len_bytes(bhs: &[u8; BHS_LEN]) -> usize {
    usize::from(total_ahs_len_words(bhs)) * 4
}

/// The 24-bit DataSegmentLength (payload bytes, excluding padding).
pub fn data_segment_len(bhs: &[u8; BHS_LEN]) -> u32 {
    rd24(bhs, 5)
}

/// The 8-byte LUN field (bytes 8-15) as a big-endian `u64`; meaningful
/// only for PDUs that carry a LUN there.
pub fn lun(bhs: &[u8; BHS_LEN]) -> u64 {
    rd64(bhs, 8)
}

/// The Initiator Task Tag (bytes 16-19).
pub fn itt(bhs: &[u8; BHS_LEN]) -> u32 {
    rd32(bhs, 16)
}

/// Sets TotalAHSLength (in 4-byte words).
pub fn set_total_ahs_len_words(bhs: &mut [u8; BHS_LEN], words: u8) {
    wr8(bhs, 4, words);
}

/// Sets DataSegmentLength; fails if it does not fit 24 bits.
pub fn set_data_segment_len(bhs: &mut [u8; BHS_LEN], len: u32) -> Result<(), PduError> {
    if len > MAX_DATA_SEGMENT_LEN {
        return Err(PduError::FieldTooLarge);
    }
    wr24(bhs, 5, len);
    Ok(())
}

/// Writes byte 0 (opcode + I bit), TotalAHSLength and DataSegmentLength,
/// zeroing the whole BHS first so every reserved byte is 0.
fn start(out: &mut [u8; BHS_LEN], op: Opcode, imm: bool, ahs_words: u8, dsl: u32) {
    *out = [0; BHS_LEN];
    wr8(out, 0, op.to_u8() | flag(imm, IMMEDIATE_BIT));
    wr8(out, 4, ahs_words);
    // The field is 24 bits: larger values are truncated (documented on the
    // structs; `set_data_segment_len` is the checked variant).
    wr24(out, 5, dsl & MAX_DATA_SEGMENT_LEN);
}

fn expect(bhs: &[u8; BHS_LEN], op: Opcode) -> Result<(), PduError> {
    let found = opcode_raw(bhs);
    if found == op.to_u8() {
        Ok(())
    } else {
        Err(PduError::OpcodeMismatch {
            expected: op,
            found,
        })
    }
}

// ---------------------------------------------------------------------------
// Code-field enums (total: every wire value decodes and re-encodes)
// ---------------------------------------------------------------------------

/// SCSI task attribute, ATTR field of the SCSI Command (RFC 7143 11.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskAttr {
    /// 0 Untagged.
    Untagged,
    /// 1 Simple.
    Simple,
    /// 2 Ordered.
    Ordered,
    /// 3 Head of queue.
    HeadOfQueue,
    /// 4 ACA.
    Aca,
    /// 5-7 reserved.
    Reserved(u8),
}

impl TaskAttr {
    /// Decodes the low 3 bits.
    pub const fn from_bits(v: u8) -> Self {
        match v & 7 {
            0 => Self::Untagged,
            1 => Self::Simple,
            2 => Self::Ordered,
            3 => Self::HeadOfQueue,
            4 => Self::Aca,
            x => Self::Reserved(x),
        }
    }

    /// The 3-bit value.
    pub const fn to_bits(self) -> u8 {
        match self {
            Self::Untagged => 0,
            Self::Simple => 1,
            Self::Ordered => 2,
            Self::HeadOfQueue => 3,
            Self::Aca => 4,
            Self::Reserved(x) => x & 7,
        }
    }
}

/// Login stage, CSG/NSG fields (RFC 7143 section 11.12.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// 0 SecurityNegotiation.
    SecurityNegotiation,
    /// 1 LoginOperationalNegotiation.
    LoginOperationalNegotiation,
    /// 2 reserved.
    Reserved,
    /// 3 FullFeaturePhase.
    FullFeaturePhase,
}

impl Stage {
    /// Decodes the low 2 bits.
    pub const fn from_bits(v: u8) -> Self {
        match v & 3 {
            0 => Self::SecurityNegotiation,
            1 => Self::LoginOperationalNegotiation,
            2 => Self::Reserved,
            _ => Self::FullFeaturePhase,
        }
    }

    /// The 2-bit value.
    pub const fn to_bits(self) -> u8 {
        match self {
            Self::SecurityNegotiation => 0,
            Self::LoginOperationalNegotiation => 1,
            Self::Reserved => 2,
            Self::FullFeaturePhase => 3,
        }
    }
}

/// Task management function codes (RFC 7143 section 11.5.1; 9-12 are the
/// SAM-5 functions RFC 7144 adds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TmfFunction {
    /// 1 ABORT TASK.
    AbortTask,
    /// 2 ABORT TASK SET.
    AbortTaskSet,
    /// 3 CLEAR ACA.
    ClearAca,
    /// 4 CLEAR TASK SET.
    ClearTaskSet,
    /// 5 LOGICAL UNIT RESET.
    LogicalUnitReset,
    /// 6 TARGET WARM RESET.
    TargetWarmReset,
    /// 7 TARGET COLD RESET.
    TargetColdReset,
    /// 8 TASK REASSIGN.
    TaskReassign,
    /// 9 QUERY TASK (RFC 7144).
    QueryTask,
    /// 10 QUERY TASK SET (RFC 7144).
    QueryTaskSet,
    /// 11 I_T NEXUS RESET (RFC 7144).
    ItNexusReset,
    /// 12 QUERY ASYNCHRONOUS EVENT (RFC 7144).
    QueryAsyncEvent,
    /// Any other 7-bit value: answered with "Function rejected" (255).
    Other(u8),
}

impl TmfFunction {
    /// Decodes the 7-bit Function field.
    pub const fn from_u8(v: u8) -> Self {
        match v & 0x7f {
            1 => Self::AbortTask,
            2 => Self::AbortTaskSet,
            3 => Self::ClearAca,
            4 => Self::ClearTaskSet,
            5 => Self::LogicalUnitReset,
            6 => Self::TargetWarmReset,
            7 => Self::TargetColdReset,
            8 => Self::TaskReassign,
            9 => Self::QueryTask,
            10 => Self::QueryTaskSet,
            11 => Self::ItNexusReset,
            12 => Self::QueryAsyncEvent,
            x => Self::Other(x),
        }
    }

    /// The 7-bit Function value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::AbortTask => 1,
            Self::AbortTaskSet => 2,
            Self::ClearAca => 3,
            Self::ClearTaskSet => 4,
            Self::LogicalUnitReset => 5,
            Self::TargetWarmReset => 6,
            Self::TargetColdReset => 7,
            Self::TaskReassign => 8,
            Self::QueryTask => 9,
            Self::QueryTaskSet => 10,
            Self::ItNexusReset => 11,
            Self::QueryAsyncEvent => 12,
            Self::Other(x) => x & 0x7f,
        }
    }
}

/// Task management response codes (RFC 7143 section 11.6.1, RFC 7144 adds
/// 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TmfResponse {
    /// 0 Function complete.
    FunctionComplete,
    /// 1 Task does not exist.
    TaskDoesNotExist,
    /// 2 LUN does not exist.
    LunDoesNotExist,
    /// 3 Task still allegiant.
    TaskStillAllegiant,
    /// 4 Task allegiance reassignment not supported.
    AllegianceReassignmentNotSupported,
    /// 5 Task management function not supported.
    NotSupported,
    /// 6 Function authorization failed.
    AuthorizationFailed,
    /// 7 Function succeeded (RFC 7144, QUERY functions).
    FunctionSucceeded,
    /// 255 Function rejected.
    Rejected,
    /// Any other (unassigned) value.
    Other(u8),
}

impl TmfResponse {
    /// Decodes the Response byte.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::FunctionComplete,
            1 => Self::TaskDoesNotExist,
            2 => Self::LunDoesNotExist,
            3 => Self::TaskStillAllegiant,
            4 => Self::AllegianceReassignmentNotSupported,
            5 => Self::NotSupported,
            6 => Self::AuthorizationFailed,
            7 => Self::FunctionSucceeded,
            255 => Self::Rejected,
            x => Self::Other(x),
        }
    }

    /// The Response byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::FunctionComplete => 0,
            Self::TaskDoesNotExist => 1,
            Self::LunDoesNotExist => 2,
            Self::TaskStillAllegiant => 3,
            Self::AllegianceReassignmentNotSupported => 4,
            Self::NotSupported => 5,
            Self::AuthorizationFailed => 6,
            Self::FunctionSucceeded => 7,
            Self::Rejected => 255,
            Self::Other(x) => x,
        }
    }
}

/// Logout reason codes (RFC 7143 section 11.14.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogoutReason {
    /// 0 Close the session.
    CloseSession,
    /// 1 Close the connection.
    CloseConnection,
    /// 2 Remove the connection for recovery.
    RemoveForRecovery,
    /// Any other 7-bit value (reserved).
    Other(u8),
}

impl LogoutReason {
    /// Decodes the 7-bit Reason Code field.
    pub const fn from_u8(v: u8) -> Self {
        match v & 0x7f {
            0 => Self::CloseSession,
            1 => Self::CloseConnection,
            2 => Self::RemoveForRecovery,
            x => Self::Other(x),
        }
    }

    /// The 7-bit value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::CloseSession => 0,
            Self::CloseConnection => 1,
            Self::RemoveForRecovery => 2,
            Self::Other(x) => x & 0x7f,
        }
    }
}

/// Logout response codes (RFC 7143 section 11.15.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogoutResponseCode {
    /// 0 Connection or session closed successfully.
    Closed,
    /// 1 CID not found.
    CidNotFound,
    /// 2 Connection recovery is not supported.
    RecoveryNotSupported,
    /// 3 Cleanup failed for various reasons.
    CleanupFailed,
    /// Any other value (reserved).
    Other(u8),
}

impl LogoutResponseCode {
    /// Decodes the Response byte.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Closed,
            1 => Self::CidNotFound,
            2 => Self::RecoveryNotSupported,
            3 => Self::CleanupFailed,
            x => Self::Other(x),
        }
    }

    /// The Response byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::CidNotFound => 1,
            Self::RecoveryNotSupported => 2,
            Self::CleanupFailed => 3,
            Self::Other(x) => x,
        }
    }
}

/// SNACK types (RFC 7143 section 11.16.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnackType {
    /// 0 Data/R2T SNACK.
    DataR2t,
    /// 1 Status SNACK.
    Status,
    /// 2 DataACK.
    DataAck,
    /// 3 R-Data SNACK.
    RData,
    /// Any other 4-bit value (reserved).
    Other(u8),
}

impl SnackType {
    /// Decodes the 4-bit Type field.
    pub const fn from_u8(v: u8) -> Self {
        match v & 0x0f {
            0 => Self::DataR2t,
            1 => Self::Status,
            2 => Self::DataAck,
            3 => Self::RData,
            x => Self::Other(x),
        }
    }

    /// The 4-bit value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::DataR2t => 0,
            Self::Status => 1,
            Self::DataAck => 2,
            Self::RData => 3,
            Self::Other(x) => x & 0x0f,
        }
    }
}

/// AsyncEvent codes (RFC 7143 section 11.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AsyncEvent {
    /// 0 SCSI asynchronous event; sense data in the data segment.
    ScsiEvent,
    /// 1 Target requests Logout (Parameter3: seconds before it drops).
    LogoutRequest,
    /// 2 Target will drop the connection (Parameter1 CID, Parameter2
    /// Time2Wait, Parameter3 Time2Retain).
    ConnectionDrop,
    /// 3 Target will drop all connections of the session (Parameter2
    /// Time2Wait, Parameter3 Time2Retain).
    SessionDrop,
    /// 4 Target requests parameter negotiation on this connection.
    NegotiationRequest,
    /// 255 Vendor-specific iSCSI event (AsyncVCode says which).
    VendorSpecific,
    /// Any other value (reserved).
    Other(u8),
}

impl AsyncEvent {
    /// Decodes the AsyncEvent byte.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::ScsiEvent,
            1 => Self::LogoutRequest,
            2 => Self::ConnectionDrop,
            3 => Self::SessionDrop,
            4 => Self::NegotiationRequest,
            255 => Self::VendorSpecific,
            x => Self::Other(x),
        }
    }

    /// The AsyncEvent byte.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::ScsiEvent => 0,
            Self::LogoutRequest => 1,
            Self::ConnectionDrop => 2,
            Self::SessionDrop => 3,
            Self::NegotiationRequest => 4,
            Self::VendorSpecific => 255,
            Self::Other(x) => x,
        }
    }
}

/// SCSI Response "Response" field: command completed at target.
pub const RESPONSE_COMPLETED: u8 = 0x00;
/// SCSI Response "Response" field: target failure.
pub const RESPONSE_TARGET_FAILURE: u8 = 0x01;

// ---------------------------------------------------------------------------
// Per-PDU structs
// ---------------------------------------------------------------------------

/// NOP-Out (0x00, RFC 7143 section 11.18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NopOut {
    /// I bit.
    pub immediate: bool,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (24 bits; ping data).
    pub data_segment_len: u32,
    /// LUN (bytes 8-15) or reserved.
    pub lun: u64,
    /// Initiator Task Tag, 0xffffffff when answering a NOP-In.
    pub itt: u32,
    /// Target Transfer Tag (echoes a NOP-In's TTT) or 0xffffffff.
    pub ttt: u32,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
}

impl NopOut {
    /// Decodes a NOP-Out BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::NopOut)?;
        Ok(Self {
            immediate: immediate(b),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            cmd_sn: rd32(b, 24),
            exp_stat_sn: rd32(b, 28),
        })
    }

    /// Encodes into `out` (F bit set, reserved bytes zero).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::NopOut,
            self.immediate,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 24, self.cmd_sn);
        wr32(out, 28, self.exp_stat_sn);
    }
}

/// NOP-In (0x20, RFC 7143 section 11.19).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NopIn {
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (24 bits; echoed ping data).
    pub data_segment_len: u32,
    /// LUN or reserved.
    pub lun: u64,
    /// ITT of the NOP-Out answered, or 0xffffffff for a target ping.
    pub itt: u32,
    /// TTT (a target ping that wants an answer) or 0xffffffff.
    pub ttt: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
}

impl NopIn {
    /// Decodes a NOP-In BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::NopIn)?;
        Ok(Self {
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::NopIn,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
    }
}

/// SCSI Command (0x01, RFC 7143 section 11.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScsiCommand {
    /// I bit.
    pub immediate: bool,
    /// F bit: no unsolicited Data-Out PDUs follow.
    pub final_bit: bool,
    /// R bit: data is expected from the target (read).
    pub read: bool,
    /// W bit: data is expected from the initiator (write).
    pub write: bool,
    /// ATTR task attribute.
    pub attr: TaskAttr,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (immediate data).
    pub data_segment_len: u32,
    /// LUN.
    pub lun: u64,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Expected Data Transfer Length.
    pub expected_data_len: u32,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
    /// The first 16 CDB bytes (longer CDBs continue in an Extended CDB AHS,
    /// see [`assemble_cdb`]).
    pub cdb: [u8; BHS_CDB_LEN],
}

impl ScsiCommand {
    /// Decodes a SCSI Command BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::ScsiCommand)?;
        let f = rd8(b, 1);
        Ok(Self {
            immediate: immediate(b),
            final_bit: bit(f, 0x80),
            read: bit(f, 0x40),
            write: bit(f, 0x20),
            attr: TaskAttr::from_bits(f),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            expected_data_len: rd32(b, 20),
            cmd_sn: rd32(b, 24),
            exp_stat_sn: rd32(b, 28),
            cdb: rd(b, 32),
        })
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::ScsiCommand,
            self.immediate,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(
            out,
            1,
            flag(self.final_bit, 0x80)
                | flag(self.read, 0x40)
                | flag(self.write, 0x20)
                | self.attr.to_bits(),
        );
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.expected_data_len);
        wr32(out, 24, self.cmd_sn);
        wr32(out, 28, self.exp_stat_sn);
        wr(out, 32, &self.cdb);
    }
}

/// SCSI Response (0x21, RFC 7143 section 11.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ScsiResponse {
    /// o bit: bidirectional read residual overflow.
    pub bidi_overflow: bool,
    /// u bit: bidirectional read residual underflow.
    pub bidi_underflow: bool,
    /// O bit: residual overflow.
    pub overflow: bool,
    /// U bit: residual underflow.
    pub underflow: bool,
    /// Response ([`RESPONSE_COMPLETED`], [`RESPONSE_TARGET_FAILURE`],
    /// 0x80-0xff vendor specific).
    pub response: u8,
    /// SCSI status (valid when response is 0).
    pub status: u8,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (sense/response data, see [`build_sense_segment`]).
    pub data_segment_len: u32,
    /// Initiator Task Tag.
    pub itt: u32,
    /// SNACK Tag or reserved.
    pub snack_tag: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// ExpDataSN (number of Data-In/R2T PDUs sent) or reserved.
    pub exp_data_sn: u32,
    /// Bidirectional Read Residual Count or reserved.
    pub bidi_residual_count: u32,
    /// Residual Count or reserved.
    pub residual_count: u32,
}

impl ScsiResponse {
    /// Decodes a SCSI Response BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::ScsiResponse)?;
        let f = rd8(b, 1);
        Ok(Self {
            bidi_overflow: bit(f, 0x10),
            bidi_underflow: bit(f, 0x08),
            overflow: bit(f, 0x04),
            underflow: bit(f, 0x02),
            response: rd8(b, 2),
            status: rd8(b, 3),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            itt: rd32(b, 16),
            snack_tag: rd32(b, 20),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            exp_data_sn: rd32(b, 36),
            bidi_residual_count: rd32(b, 40),
            residual_count: rd32(b, 44),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::ScsiResponse,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(
            out,
            1,
            FINAL_BIT
                | flag(self.bidi_overflow, 0x10)
                | flag(self.bidi_underflow, 0x08)
                | flag(self.overflow, 0x04)
                | flag(self.underflow, 0x02),
        );
        wr8(out, 2, self.response);
        wr8(out, 3, self.status);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.snack_tag);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr32(out, 36, self.exp_data_sn);
        wr32(out, 40, self.bidi_residual_count);
        wr32(out, 44, self.residual_count);
    }
}

/// Task Management Function Request (0x02, RFC 7143 section 11.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskMgmtRequest {
    /// I bit.
    pub immediate: bool,
    /// Function code.
    pub function: TmfFunction,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (must be 0; checked by the TMF layer).
    pub data_segment_len: u32,
    /// LUN or reserved.
    pub lun: u64,
    /// Initiator Task Tag of this request.
    pub itt: u32,
    /// Referenced Task Tag or 0xffffffff.
    pub referenced_task_tag: u32,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
    /// RefCmdSN or reserved.
    pub ref_cmd_sn: u32,
    /// ExpDataSN (TASK REASSIGN) or reserved.
    pub exp_data_sn: u32,
}

impl TaskMgmtRequest {
    /// Decodes a TMF Request BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::TaskMgmtRequest)?;
        Ok(Self {
            immediate: immediate(b),
            function: TmfFunction::from_u8(rd8(b, 1)),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            referenced_task_tag: rd32(b, 20),
            cmd_sn: rd32(b, 24),
            exp_stat_sn: rd32(b, 28),
            ref_cmd_sn: rd32(b, 32),
            exp_data_sn: rd32(b, 36),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::TaskMgmtRequest,
            self.immediate,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT | self.function.to_u8());
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.referenced_task_tag);
        wr32(out, 24, self.cmd_sn);
        wr32(out, 28, self.exp_stat_sn);
        wr32(out, 32, self.ref_cmd_sn);
        wr32(out, 36, self.exp_data_sn);
    }
}

/// Task Management Function Response (0x22, RFC 7143 section 11.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskMgmtResponse {
    /// Response code.
    pub response: TmfResponse,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength.
    pub data_segment_len: u32,
    /// ITT of the TMF request.
    pub itt: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// Bytes 36-38: the SAM-5 "additional response information" a QUERY
    /// ASYNCHRONOUS EVENT returns (RFC 7144); reserved (zero) otherwise.
    /// Written from memory of RFC 7144, not re-checked against its text.
    pub additional_response_info: [u8; 3],
}

impl TaskMgmtResponse {
    /// Decodes a TMF Response BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::TaskMgmtResponse)?;
        Ok(Self {
            response: TmfResponse::from_u8(rd8(b, 2)),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            itt: rd32(b, 16),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            additional_response_info: rd(b, 36),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::TaskMgmtResponse,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr8(out, 2, self.response.to_u8());
        wr32(out, 16, self.itt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr(out, 36, &self.additional_response_info);
    }
}

/// Login Request (0x03, RFC 7143 section 11.12). The I bit is always 1 and
/// is not stored. Consistency rules (T and C not both set, NSG > CSG, ...)
/// belong to the login layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginRequest {
    /// T (transit) bit.
    pub transit: bool,
    /// C (continue) bit.
    pub cont: bool,
    /// Current stage.
    pub csg: Stage,
    /// Next stage (valid when T is set).
    pub nsg: Stage,
    /// Version-max.
    pub version_max: u8,
    /// Version-min.
    pub version_min: u8,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (text key=value pairs).
    pub data_segment_len: u32,
    /// ISID (6 bytes: T/A, B, C, D fields).
    pub isid: [u8; 6],
    /// TSIH (0 for a new session).
    pub tsih: u16,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Connection ID.
    pub cid: u16,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN or reserved.
    pub exp_stat_sn: u32,
}

impl LoginRequest {
    /// Decodes a Login Request BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::LoginRequest)?;
        let f = rd8(b, 1);
        Ok(Self {
            transit: bit(f, 0x80),
            cont: bit(f, 0x40),
            csg: Stage::from_bits(f >> 2),
            nsg: Stage::from_bits(f),
            version_max: rd8(b, 2),
            version_min: rd8(b, 3),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            isid: rd(b, 8),
            tsih: rd16(b, 14),
            itt: rd32(b, 16),
            cid: rd16(b, 20),
            cmd_sn: rd32(b, 24),
            exp_stat_sn: rd32(b, 28),
        })
    }

    /// Encodes into `out` (I bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::LoginRequest,
            true,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(
            out,
            1,
            flag(self.transit, 0x80)
                | flag(self.cont, 0x40)
                | (self.csg.to_bits() << 2)
                | self.nsg.to_bits(),
        );
        wr8(out, 2, self.version_max);
        wr8(out, 3, self.version_min);
        wr(out, 8, &self.isid);
        wr16(out, 14, self.tsih);
        wr32(out, 16, self.itt);
        wr16(out, 20, self.cid);
        wr32(out, 24, self.cmd_sn);
        wr32(out, 28, self.exp_stat_sn);
    }
}

/// Login Response (0x23, RFC 7143 section 11.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginResponse {
    /// T (transit) bit.
    pub transit: bool,
    /// C (continue) bit.
    pub cont: bool,
    /// Current stage.
    pub csg: Stage,
    /// Next stage.
    pub nsg: Stage,
    /// Version-max.
    pub version_max: u8,
    /// Version-active.
    pub version_active: u8,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength.
    pub data_segment_len: u32,
    /// ISID echoed from the request.
    pub isid: [u8; 6],
    /// TSIH.
    pub tsih: u16,
    /// Initiator Task Tag.
    pub itt: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// Status-Class.
    pub status_class: u8,
    /// Status-Detail.
    pub status_detail: u8,
}

impl LoginResponse {
    /// Decodes a Login Response BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::LoginResponse)?;
        let f = rd8(b, 1);
        Ok(Self {
            transit: bit(f, 0x80),
            cont: bit(f, 0x40),
            csg: Stage::from_bits(f >> 2),
            nsg: Stage::from_bits(f),
            version_max: rd8(b, 2),
            version_active: rd8(b, 3),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            isid: rd(b, 8),
            tsih: rd16(b, 14),
            itt: rd32(b, 16),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            status_class: rd8(b, 36),
            status_detail: rd8(b, 37),
        })
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::LoginResponse,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(
            out,
            1,
            flag(self.transit, 0x80)
                | flag(self.cont, 0x40)
                | (self.csg.to_bits() << 2)
                | self.nsg.to_bits(),
        );
        wr8(out, 2, self.version_max);
        wr8(out, 3, self.version_active);
        wr(out, 8, &self.isid);
        wr16(out, 14, self.tsih);
        wr32(out, 16, self.itt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr8(out, 36, self.status_class);
        wr8(out, 37, self.status_detail);
    }
}

/// Text Request (0x04, RFC 7143 section 11.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TextRequest {
    /// I bit.
    pub immediate: bool,
    /// F bit.
    pub final_bit: bool,
    /// C (continue) bit.
    pub cont: bool,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength.
    pub data_segment_len: u32,
    /// LUN or reserved.
    pub lun: u64,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Target Transfer Tag or 0xffffffff.
    pub ttt: u32,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
}

impl TextRequest {
    /// Decodes a Text Request BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::TextRequest)?;
        let f = rd8(b, 1);
        Ok(Self {
            immediate: immediate(b),
            final_bit: bit(f, 0x80),
            cont: bit(f, 0x40),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            cmd_sn: rd32(b, 24),
            exp_stat_sn: rd32(b, 28),
        })
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::TextRequest,
            self.immediate,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, flag(self.final_bit, 0x80) | flag(self.cont, 0x40));
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 24, self.cmd_sn);
        wr32(out, 28, self.exp_stat_sn);
    }
}

/// Text Response (0x24, RFC 7143 section 11.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TextResponse {
    /// F bit.
    pub final_bit: bool,
    /// C (continue) bit.
    pub cont: bool,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength.
    pub data_segment_len: u32,
    /// LUN or reserved.
    pub lun: u64,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Target Transfer Tag or 0xffffffff.
    pub ttt: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
}

impl TextResponse {
    /// Decodes a Text Response BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::TextResponse)?;
        let f = rd8(b, 1);
        Ok(Self {
            final_bit: bit(f, 0x80),
            cont: bit(f, 0x40),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
        })
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::TextResponse,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, flag(self.final_bit, 0x80) | flag(self.cont, 0x40));
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
    }
}

/// SCSI Data-Out (0x05, RFC 7143 section 11.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DataOut {
    /// F bit: last PDU of the sequence.
    pub final_bit: bool,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength.
    pub data_segment_len: u32,
    /// LUN or reserved.
    pub lun: u64,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Target Transfer Tag (from the R2T) or 0xffffffff (unsolicited).
    pub ttt: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
    /// DataSN.
    pub data_sn: u32,
    /// Buffer Offset.
    pub buffer_offset: u32,
}

impl DataOut {
    /// Decodes a Data-Out BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::DataOut)?;
        Ok(Self {
            final_bit: final_bit(b),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            exp_stat_sn: rd32(b, 28),
            data_sn: rd32(b, 36),
            buffer_offset: rd32(b, 40),
        })
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::DataOut,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, flag(self.final_bit, FINAL_BIT));
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 28, self.exp_stat_sn);
        wr32(out, 36, self.data_sn);
        wr32(out, 40, self.buffer_offset);
    }
}

/// SCSI Data-In (0x25, RFC 7143 section 11.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DataIn {
    /// F bit: last PDU of the sequence.
    pub final_bit: bool,
    /// A bit: acknowledge requested (ErrorRecoveryLevel > 0).
    pub ack: bool,
    /// O bit: residual overflow (valid with S).
    pub overflow: bool,
    /// U bit: residual underflow (valid with S).
    pub underflow: bool,
    /// S bit: the PDU carries the command status (phase collapse).
    pub status_present: bool,
    /// SCSI status (valid with S) or reserved.
    pub status: u8,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength.
    pub data_segment_len: u32,
    /// LUN (with A set) or reserved.
    pub lun: u64,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Target Transfer Tag (with A set) or 0xffffffff.
    pub ttt: u32,
    /// StatSN (with S) or reserved.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// DataSN.
    pub data_sn: u32,
    /// Buffer Offset.
    pub buffer_offset: u32,
    /// Residual Count (with S).
    pub residual_count: u32,
}

impl DataIn {
    /// Decodes a Data-In BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::DataIn)?;
        let f = rd8(b, 1);
        Ok(Self {
            final_bit: bit(f, 0x80),
            ack: bit(f, 0x40),
            overflow: bit(f, 0x04),
            underflow: bit(f, 0x02),
            status_present: bit(f, 0x01),
            status: rd8(b, 3),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            data_sn: rd32(b, 36),
            buffer_offset: rd32(b, 40),
            residual_count: rd32(b, 44),
        })
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::DataIn,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(
            out,
            1,
            flag(self.final_bit, 0x80)
                | flag(self.ack, 0x40)
                | flag(self.overflow, 0x04)
                | flag(self.underflow, 0x02)
                | flag(self.status_present, 0x01),
        );
        wr8(out, 3, self.status);
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr32(out, 36, self.data_sn);
        wr32(out, 40, self.buffer_offset);
        wr32(out, 44, self.residual_count);
    }
}

/// Ready To Transfer (0x31, RFC 7143 section 11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct R2t {
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (0).
    pub data_segment_len: u32,
    /// LUN.
    pub lun: u64,
    /// Initiator Task Tag.
    pub itt: u32,
    /// Target Transfer Tag.
    pub ttt: u32,
    /// StatSN (the next StatSN, not incremented).
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// R2TSN.
    pub r2t_sn: u32,
    /// Buffer Offset.
    pub buffer_offset: u32,
    /// Desired Data Transfer Length.
    pub desired_data_len: u32,
}

impl R2t {
    /// Decodes an R2T BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::R2t)?;
        Ok(Self {
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            r2t_sn: rd32(b, 36),
            buffer_offset: rd32(b, 40),
            desired_data_len: rd32(b, 44),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::R2t,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr32(out, 36, self.r2t_sn);
        wr32(out, 40, self.buffer_offset);
        wr32(out, 44, self.desired_data_len);
    }
}

/// Asynchronous Message (0x32, RFC 7143 section 11.9). The ITT is always
/// 0xffffffff and is not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsyncMessage {
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (sense data and/or iSCSI event data).
    pub data_segment_len: u32,
    /// LUN (SCSI events) or reserved.
    pub lun: u64,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// AsyncEvent.
    pub event: AsyncEvent,
    /// AsyncVCode (vendor code for event 255).
    pub vcode: u8,
    /// Parameter1 or reserved.
    pub param1: u16,
    /// Parameter2 or reserved.
    pub param2: u16,
    /// Parameter3 or reserved.
    pub param3: u16,
}

impl AsyncMessage {
    /// Decodes an Asynchronous Message BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::AsyncMessage)?;
        Ok(Self {
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            event: AsyncEvent::from_u8(rd8(b, 36)),
            vcode: rd8(b, 37),
            param1: rd16(b, 38),
            param2: rd16(b, 40),
            param3: rd16(b, 42),
        })
    }

    /// Encodes into `out` (F bit set, ITT 0xffffffff).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::AsyncMessage,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr64(out, 8, self.lun);
        wr32(out, 16, RESERVED_TAG);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr8(out, 36, self.event.to_u8());
        wr8(out, 37, self.vcode);
        wr16(out, 38, self.param1);
        wr16(out, 40, self.param2);
        wr16(out, 42, self.param3);
    }
}

/// Logout Request (0x06, RFC 7143 section 11.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogoutRequest {
    /// I bit.
    pub immediate: bool,
    /// Reason Code.
    pub reason: LogoutReason,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (0).
    pub data_segment_len: u32,
    /// Initiator Task Tag.
    pub itt: u32,
    /// CID (reasons 1 and 2) or reserved.
    pub cid: u16,
    /// CmdSN.
    pub cmd_sn: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
}

impl LogoutRequest {
    /// Decodes a Logout Request BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::LogoutRequest)?;
        Ok(Self {
            immediate: immediate(b),
            reason: LogoutReason::from_u8(rd8(b, 1)),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            itt: rd32(b, 16),
            cid: rd16(b, 20),
            cmd_sn: rd32(b, 24),
            exp_stat_sn: rd32(b, 28),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::LogoutRequest,
            self.immediate,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT | self.reason.to_u8());
        wr32(out, 16, self.itt);
        wr16(out, 20, self.cid);
        wr32(out, 24, self.cmd_sn);
        wr32(out, 28, self.exp_stat_sn);
    }
}

/// Logout Response (0x26, RFC 7143 section 11.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogoutResponse {
    /// Response code.
    pub response: LogoutResponseCode,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (0).
    pub data_segment_len: u32,
    /// Initiator Task Tag.
    pub itt: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// Time2Wait (seconds).
    pub time2wait: u16,
    /// Time2Retain (seconds).
    pub time2retain: u16,
}

impl LogoutResponse {
    /// Decodes a Logout Response BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::LogoutResponse)?;
        Ok(Self {
            response: LogoutResponseCode::from_u8(rd8(b, 2)),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            itt: rd32(b, 16),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            time2wait: rd16(b, 40),
            time2retain: rd16(b, 42),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::LogoutResponse,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr8(out, 2, self.response.to_u8());
        wr32(out, 16, self.itt);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr16(out, 40, self.time2wait);
        wr16(out, 42, self.time2retain);
    }
}

/// SNACK Request (0x10, RFC 7143 section 11.16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnackRequest {
    /// SNACK type.
    pub snack_type: SnackType,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (0).
    pub data_segment_len: u32,
    /// LUN or reserved.
    pub lun: u64,
    /// Initiator Task Tag or 0xffffffff.
    pub itt: u32,
    /// Target Transfer Tag, SNACK Tag or 0xffffffff.
    pub ttt: u32,
    /// ExpStatSN.
    pub exp_stat_sn: u32,
    /// BegRun.
    pub beg_run: u32,
    /// RunLength.
    pub run_length: u32,
}

impl SnackRequest {
    /// Decodes a SNACK Request BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::SnackRequest)?;
        Ok(Self {
            snack_type: SnackType::from_u8(rd8(b, 1)),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            lun: rd64(b, 8),
            itt: rd32(b, 16),
            ttt: rd32(b, 20),
            exp_stat_sn: rd32(b, 28),
            beg_run: rd32(b, 40),
            run_length: rd32(b, 44),
        })
    }

    /// Encodes into `out` (F bit set).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::SnackRequest,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT | self.snack_type.to_u8());
        wr64(out, 8, self.lun);
        wr32(out, 16, self.itt);
        wr32(out, 20, self.ttt);
        wr32(out, 28, self.exp_stat_sn);
        wr32(out, 40, self.beg_run);
        wr32(out, 44, self.run_length);
    }
}

/// Reject (0x3f, RFC 7143 section 11.17). The data segment is the rejected
/// BHS ([`build_reject_data`]). The ITT is always 0xffffffff and is not
/// stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Reason.
    pub reason: RejectReason,
    /// TotalAHSLength (4-byte words).
    pub total_ahs_len: u8,
    /// DataSegmentLength (48: the rejected header).
    pub data_segment_len: u32,
    /// StatSN.
    pub stat_sn: u32,
    /// ExpCmdSN.
    pub exp_cmd_sn: u32,
    /// MaxCmdSN.
    pub max_cmd_sn: u32,
    /// DataSN/R2TSN (for a rejected Data/R2T SNACK) or reserved.
    pub data_sn: u32,
}

impl Reject {
    /// Decodes a Reject BHS.
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        expect(b, Opcode::Reject)?;
        Ok(Self {
            reason: RejectReason::from_u8(rd8(b, 2)),
            total_ahs_len: rd8(b, 4),
            data_segment_len: rd24(b, 5),
            stat_sn: rd32(b, 24),
            exp_cmd_sn: rd32(b, 28),
            max_cmd_sn: rd32(b, 32),
            data_sn: rd32(b, 36),
        })
    }

    /// Encodes into `out` (F bit set, ITT 0xffffffff).
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        start(
            out,
            Opcode::Reject,
            false,
            self.total_ahs_len,
            self.data_segment_len,
        );
        wr8(out, 1, FINAL_BIT);
        wr8(out, 2, self.reason.to_u8());
        wr32(out, 16, RESERVED_TAG);
        wr32(out, 24, self.stat_sn);
        wr32(out, 28, self.exp_cmd_sn);
        wr32(out, 32, self.max_cmd_sn);
        wr32(out, 36, self.data_sn);
    }
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

/// Any decoded PDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu {
    /// NOP-Out.
    NopOut(NopOut),
    /// SCSI Command.
    ScsiCommand(ScsiCommand),
    /// Task Management Function Request.
    TaskMgmtRequest(TaskMgmtRequest),
    /// Login Request.
    LoginRequest(LoginRequest),
    /// Text Request.
    TextRequest(TextRequest),
    /// SCSI Data-Out.
    DataOut(DataOut),
    /// Logout Request.
    LogoutRequest(LogoutRequest),
    /// SNACK Request.
    SnackRequest(SnackRequest),
    /// NOP-In.
    NopIn(NopIn),
    /// SCSI Response.
    ScsiResponse(ScsiResponse),
    /// Task Management Function Response.
    TaskMgmtResponse(TaskMgmtResponse),
    /// Login Response.
    LoginResponse(LoginResponse),
    /// Text Response.
    TextResponse(TextResponse),
    /// SCSI Data-In.
    DataIn(DataIn),
    /// Logout Response.
    LogoutResponse(LogoutResponse),
    /// R2T.
    R2t(R2t),
    /// Asynchronous Message.
    AsyncMessage(AsyncMessage),
    /// Reject.
    Reject(Reject),
}

impl Pdu {
    /// Decodes any BHS with a defined opcode (both directions; for test
    /// tools and initiators). Undefined opcodes give
    /// [`PduError::UnknownOpcode`].
    pub fn decode(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        Ok(match opcode(b)? {
            Opcode::NopOut => Self::NopOut(NopOut::decode(b)?),
            Opcode::ScsiCommand => Self::ScsiCommand(ScsiCommand::decode(b)?),
            Opcode::TaskMgmtRequest => Self::TaskMgmtRequest(TaskMgmtRequest::decode(b)?),
            Opcode::LoginRequest => Self::LoginRequest(LoginRequest::decode(b)?),
            Opcode::TextRequest => Self::TextRequest(TextRequest::decode(b)?),
            Opcode::DataOut => Self::DataOut(DataOut::decode(b)?),
            Opcode::LogoutRequest => Self::LogoutRequest(LogoutRequest::decode(b)?),
            Opcode::SnackRequest => Self::SnackRequest(SnackRequest::decode(b)?),
            Opcode::NopIn => Self::NopIn(NopIn::decode(b)?),
            Opcode::ScsiResponse => Self::ScsiResponse(ScsiResponse::decode(b)?),
            Opcode::TaskMgmtResponse => Self::TaskMgmtResponse(TaskMgmtResponse::decode(b)?),
            Opcode::LoginResponse => Self::LoginResponse(LoginResponse::decode(b)?),
            Opcode::TextResponse => Self::TextResponse(TextResponse::decode(b)?),
            Opcode::DataIn => Self::DataIn(DataIn::decode(b)?),
            Opcode::LogoutResponse => Self::LogoutResponse(LogoutResponse::decode(b)?),
            Opcode::R2t => Self::R2t(R2t::decode(b)?),
            Opcode::AsyncMessage => Self::AsyncMessage(AsyncMessage::decode(b)?),
            Opcode::Reject => Self::Reject(Reject::decode(b)?),
        })
    }

    /// Decodes a PDU received by a target: only initiator opcodes are
    /// accepted. Any opcode with bit 5 set (0x20-0x3f) is
    /// [`PduError::TargetOpcode`] (Reject "Protocol Error"); any other
    /// undefined opcode is [`PduError::UnknownOpcode`] (Reject "Command not
    /// supported").
    pub fn decode_request(b: &[u8; BHS_LEN]) -> Result<Self, PduError> {
        let raw = opcode_raw(b);
        if raw & 0x20 != 0 {
            return Err(PduError::TargetOpcode(raw));
        }
        Self::decode(b)
    }

    /// The opcode of this PDU.
    pub const fn opcode(&self) -> Opcode {
        match self {
            Self::NopOut(_) => Opcode::NopOut,
            Self::ScsiCommand(_) => Opcode::ScsiCommand,
            Self::TaskMgmtRequest(_) => Opcode::TaskMgmtRequest,
            Self::LoginRequest(_) => Opcode::LoginRequest,
            Self::TextRequest(_) => Opcode::TextRequest,
            Self::DataOut(_) => Opcode::DataOut,
            Self::LogoutRequest(_) => Opcode::LogoutRequest,
            Self::SnackRequest(_) => Opcode::SnackRequest,
            Self::NopIn(_) => Opcode::NopIn,
            Self::ScsiResponse(_) => Opcode::ScsiResponse,
            Self::TaskMgmtResponse(_) => Opcode::TaskMgmtResponse,
            Self::LoginResponse(_) => Opcode::LoginResponse,
            Self::TextResponse(_) => Opcode::TextResponse,
            Self::DataIn(_) => Opcode::DataIn,
            Self::LogoutResponse(_) => Opcode::LogoutResponse,
            Self::R2t(_) => Opcode::R2t,
            Self::AsyncMessage(_) => Opcode::AsyncMessage,
            Self::Reject(_) => Opcode::Reject,
        }
    }

    /// Encodes into `out`.
    pub fn encode(&self, out: &mut [u8; BHS_LEN]) {
        match self {
            Self::NopOut(p) => p.encode(out),
            Self::ScsiCommand(p) => p.encode(out),
            Self::TaskMgmtRequest(p) => p.encode(out),
            Self::LoginRequest(p) => p.encode(out),
            Self::TextRequest(p) => p.encode(out),
            Self::DataOut(p) => p.encode(out),
            Self::LogoutRequest(p) => p.encode(out),
            Self::SnackRequest(p) => p.encode(out),
            Self::NopIn(p) => p.encode(out),
            Self::ScsiResponse(p) => p.encode(out),
            Self::TaskMgmtResponse(p) => p.encode(out),
            Self::LoginResponse(p) => p.encode(out),
            Self::TextResponse(p) => p.encode(out),
            Self::DataIn(p) => p.encode(out),
            Self::LogoutResponse(p) => p.encode(out),
            Self::R2t(p) => p.encode(out),
            Self::AsyncMessage(p) => p.encode(out),
            Self::Reject(p) => p.encode(out),
        }
    }
}

// ---------------------------------------------------------------------------
// Layout of the rest of the PDU (RFC 7143 section 11.1)
// ---------------------------------------------------------------------------

/// Number of zero bytes that pad `len` bytes to a multiple of 4.
pub const fn pad_len(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// `len` rounded up to a multiple of 4, or `None` on overflow.
pub const fn padded_len(len: usize) -> Option<usize> {
    len.checked_add(pad_len(len))
}

/// Zero bytes to send as padding (`&PAD[..pad_len(n)]`).
pub const PAD: [u8; 4] = [0; 4];

/// Layout of the bytes that follow a BHS:
/// `AHS | HeaderDigest | Data | Padding | DataDigest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Layout {
    /// AHS bytes (TotalAHSLength * 4).
    pub ahs_len: usize,
    /// Header digest bytes (0 or 4): covers BHS + AHS.
    pub header_digest_len: usize,
    /// DataSegmentLength (payload bytes).
    pub data_len: usize,
    /// Padding after the data (0-3 bytes).
    pub pad_len: usize,
    /// Data digest bytes (0 or 4; 0 when the data segment is empty):
    /// covers data + padding.
    pub data_digest_len: usize,
}

impl Layout {
    /// Offset of the AHS from the start of the PDU.
    pub const fn ahs_offset(&self) -> usize {
        BHS_LEN
    }

    /// Offset of the header digest from the start of the PDU.
    pub const fn header_digest_offset(&self) -> usize {
        BHS_LEN.saturating_add(self.ahs_len)
    }

    /// Offset of the data segment from the start of the PDU.
    pub const fn data_offset(&self) -> usize {
        self.header_digest_offset()
            .saturating_add(self.header_digest_len)
    }

    /// Offset of the data digest from the start of the PDU.
    pub const fn data_digest_offset(&self) -> usize {
        self.data_offset()
            .saturating_add(self.data_len)
            .saturating_add(self.pad_len)
    }

    /// Bytes to read after the BHS to complete the PDU.
    pub const fn rest_len(&self) -> usize {
        self.total_len().saturating_sub(BHS_LEN)
    }

    /// Bytes to read after the header digest (data + padding + digest).
    pub const fn data_area_len(&self) -> usize {
        self.data_len
            .saturating_add(self.pad_len)
            .saturating_add(self.data_digest_len)
    }

    /// Total PDU length including the BHS.
    pub const fn total_len(&self) -> usize {
        self.data_digest_offset()
            .saturating_add(self.data_digest_len)
    }
}

/// Computes the layout of the rest of the PDU without checking the data
/// length against a negotiated limit. Use it to skip the data of a PDU that
/// [`layout`] refused, so the connection stays in sync while it is rejected.
pub fn layout_unchecked(
    bhs: &[u8; BHS_LEN],
    header_digest: bool,
    data_digest: bool,
) -> Result<Layout, PduError> {
    let data_len = usize::try_from(data_segment_len(bhs)).map_err(|_| PduError::Overflow)?;
    let pad = pad_len(data_len);
    let l = Layout {
        ahs_len: total_ahs_len_bytes(bhs),
        header_digest_len: if header_digest { DIGEST_LEN } else { 0 },
        data_len,
        pad_len: pad,
        data_digest_len: if data_digest && data_len > 0 {
            DIGEST_LEN
        } else {
            0
        },
    };
    // Prove the sum cannot overflow (it cannot with usize >= 32 bits, but
    // the methods above saturate rather than trust that).
    BHS_LEN
        .checked_add(l.ahs_len)
        .and_then(|n| n.checked_add(l.header_digest_len))
        .and_then(|n| n.checked_add(l.data_len))
        .and_then(|n| n.checked_add(l.pad_len))
        .and_then(|n| n.checked_add(l.data_digest_len))
        .ok_or(PduError::Overflow)?;
    Ok(l)
}

/// Computes the layout of the rest of the PDU from its BHS, the negotiated
/// HeaderDigest/DataDigest (CRC32C or None) and the receiver's
/// MaxRecvDataSegmentLength (declared by the receiver, RFC 7143 section
/// 13.12; 8192 when not negotiated).
///
/// A DataSegmentLength above `max_recv_data_segment_len` is
/// [`PduError::DataSegmentTooLong`]: the target skips
/// [`layout_unchecked`]`(..).rest_len()` bytes and sends a Reject with
/// reason 0x04 Protocol Error.
pub fn layout(
    bhs: &[u8; BHS_LEN],
    header_digest: bool,
    data_digest: bool,
    max_recv_data_segment_len: u32,
) -> Result<Layout, PduError> {
    let len = data_segment_len(bhs);
    if len > max_recv_data_segment_len {
        return Err(PduError::DataSegmentTooLong {
            len,
            max: max_recv_data_segment_len,
        });
    }
    layout_unchecked(bhs, header_digest, data_digest)
}

// ---------------------------------------------------------------------------
// Additional Header Segments (RFC 7143 section 11.2.2)
// ---------------------------------------------------------------------------

/// AHSType 1: Extended CDB.
pub const AHS_EXTENDED_CDB: u8 = 1;
/// AHSType 2: Bidirectional Read Expected Data Transfer Length.
pub const AHS_BIDI_READ_EDTL: u8 = 2;
/// First AHSType of the non-iSCSI extension range (60-63).
pub const AHS_EXTENSION_FIRST: u8 = 60;

/// The AHS of one PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Ahs<'a> {
    /// CDB bytes beyond the first 16 (Extended CDB AHS), without the AHS
    /// header, reserved byte or padding.
    pub extended_cdb: Option<&'a [u8]>,
    /// Bidirectional Read Expected Data Transfer Length.
    pub bidi_read_edtl: Option<u32>,
}

/// Parses an AHS area (the TotalAHSLength * 4 bytes after the BHS). Each AHS
/// is `AHSLength(2) | AHSType(1) | AHS-Specific(AHSLength)` padded to a
/// multiple of 4. Extension types 60-63 are skipped; reserved types, bad
/// lengths, duplicates and truncation are errors (Reject 0x09).
pub fn parse_ahs(area: &[u8]) -> Result<Ahs<'_>, PduError> {
    let mut ahs = Ahs::default();
    let mut rest = area;
    while !rest.is_empty() {
        let [l0, l1, t, ..] = *rest else {
            return Err(PduError::AhsTruncated);
        };
        let len = u16::from_be_bytes([l0, l1]);
        let ahs_type = t & 0x3f;
        let body_end = 3usize
            .checked_add(usize::from(len))
            .ok_or(PduError::Overflow)?;
        let next = padded_len(body_end).ok_or(PduError::Overflow)?;
        let specific = rest.get(3..body_end).ok_or(PduError::AhsTruncated)?;
        // The padding must be inside the area too.
        let after = rest.get(next..).ok_or(PduError::AhsTruncated)?;
        match ahs_type {
            AHS_EXTENDED_CDB => {
                if ahs.extended_cdb.is_some() {
                    return Err(PduError::AhsDuplicate(ahs_type));
                }
                // A reserved byte, then at least one CDB byte.
                match specific {
                    [_, cdb @ ..] if !cdb.is_empty() => ahs.extended_cdb = Some(cdb),
                    _ => return Err(PduError::AhsBadLength { ahs_type, len }),
                }
            }
            AHS_BIDI_READ_EDTL => {
                if ahs.bidi_read_edtl.is_some() {
                    return Err(PduError::AhsDuplicate(ahs_type));
                }
                match *specific {
                    [_, a, b, c, d] => ahs.bidi_read_edtl = Some(u32::from_be_bytes([a, b, c, d])),
                    _ => return Err(PduError::AhsBadLength { ahs_type, len }),
                }
            }
            AHS_EXTENSION_FIRST..=63 => {}
            _ => return Err(PduError::AhsReservedType(ahs_type)),
        }
        rest = after;
    }
    Ok(ahs)
}

/// Writes an Extended CDB AHS holding `cdb_tail` (the CDB bytes beyond the
/// first 16) into `out`, padded; returns the bytes written (a multiple of 4).
pub fn encode_extended_cdb_ahs(cdb_tail: &[u8], out: &mut [u8]) -> Result<usize, PduError> {
    let ahs_len = cdb_tail.len().checked_add(1).ok_or(PduError::Overflow)?;
    let len16 = u16::try_from(ahs_len).map_err(|_| PduError::FieldTooLarge)?;
    let total =
        padded_len(ahs_len.checked_add(3).ok_or(PduError::Overflow)?).ok_or(PduError::Overflow)?;
    if total > MAX_AHS_LEN {
        return Err(PduError::FieldTooLarge);
    }
    let dst = prefix(out, total)?;
    dst.fill(0);
    wr16(dst, 0, len16);
    wr8(dst, 2, AHS_EXTENDED_CDB);
    wr(dst, 4, cdb_tail);
    Ok(total)
}

/// Writes a Bidirectional Read Expected Data Transfer Length AHS (8 bytes)
/// into `out`; returns 8.
pub fn encode_bidi_read_edtl_ahs(edtl: u32, out: &mut [u8]) -> Result<usize, PduError> {
    let dst = prefix(out, 8)?;
    dst.fill(0);
    wr16(dst, 0, 5);
    wr8(dst, 2, AHS_BIDI_READ_EDTL);
    wr32(dst, 4, edtl);
    Ok(8)
}

/// Assembles the full CDB: the 16 BHS CDB bytes followed by the Extended
/// CDB AHS bytes, if any, into `out`; returns the CDB length. A buffer of
/// [`MAX_CDB_LEN`] bytes always suffices.
pub fn assemble_cdb(
    bhs_cdb: &[u8; BHS_CDB_LEN],
    extended_cdb: Option<&[u8]>,
    out: &mut [u8],
) -> Result<usize, PduError> {
    let tail = extended_cdb.unwrap_or(&[]);
    let total = BHS_CDB_LEN
        .checked_add(tail.len())
        .ok_or(PduError::Overflow)?;
    let dst = prefix(out, total)?;
    let (head, rest) = dst.split_at_mut(BHS_CDB_LEN);
    head.copy_from_slice(bhs_cdb);
    rest.copy_from_slice(tail);
    Ok(total)
}

// ---------------------------------------------------------------------------
// Data segments owned by the codec
// ---------------------------------------------------------------------------

/// Builds a SCSI Response data segment (RFC 7143 section 11.4.7):
/// `SenseLength(2) | Sense Data`. Returns the DataSegmentLength (unpadded;
/// send [`pad_len`] zero bytes after it).
pub fn build_sense_segment(sense: &[u8], out: &mut [u8]) -> Result<usize, PduError> {
    let sense_len = u16::try_from(sense.len()).map_err(|_| PduError::FieldTooLarge)?;
    let total = sense.len().checked_add(2).ok_or(PduError::Overflow)?;
    let dst = prefix(out, total)?;
    wr16(dst, 0, sense_len);
    wr(dst, 2, sense);
    Ok(total)
}

/// A parsed SCSI Response data segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenseSegment<'a> {
    /// The sense data (SenseLength bytes).
    pub sense: &'a [u8],
    /// Whatever follows the sense data (response data), possibly empty.
    pub response_data: &'a [u8],
}

/// Parses a SCSI Response data segment (pass DataSegmentLength bytes,
/// without padding). An empty segment has no sense data.
pub fn parse_sense_segment(seg: &[u8]) -> Result<SenseSegment<'_>, PduError> {
    match seg {
        [] => Ok(SenseSegment {
            sense: &[],
            response_data: &[],
        }),
        [h, l, rest @ ..] => {
            let sense_len = u16::from_be_bytes([*h, *l]);
            let n = usize::from(sense_len);
            if n > rest.len() {
                return Err(PduError::SenseTruncated {
                    sense_len,
                    available: rest.len(),
                });
            }
            let (sense, response_data) = rest.split_at(n);
            Ok(SenseSegment {
                sense,
                response_data,
            })
        }
        [_] => Err(PduError::SegmentTooShort),
    }
}

/// Writes the Reject data segment, the complete BHS of the rejected PDU
/// (RFC 7143 section 11.17), into `out`; returns its length (48, no padding
/// needed).
pub fn build_reject_data(rejected: &[u8; BHS_LEN], out: &mut [u8]) -> Result<usize, PduError> {
    let dst = prefix(out, BHS_LEN)?;
    dst.copy_from_slice(rejected);
    Ok(BHS_LEN)
}

/// Extracts the rejected BHS from a Reject data segment.
pub fn parse_reject_data(seg: &[u8]) -> Result<&[u8; BHS_LEN], PduError> {
    seg.get(..BHS_LEN)
        .and_then(|s| <&[u8; BHS_LEN]>::try_from(s).ok())
        .ok_or(PduError::SegmentTooShort)
}

/// Builds a complete Reject header for `rejected`: reason, DataSegmentLength
/// 48 and the given sequence numbers. Send it followed by the rejected BHS
/// ([`build_reject_data`]).
pub fn reject_for(
    reason: RejectReason,
    stat_sn: u32,
    exp_cmd_sn: u32,
    max_cmd_sn: u32,
    data_sn: u32,
) -> Reject {
    Reject {
        reason,
        total_ahs_len: 0,
        data_segment_len: BHS_LEN as u32,
        stat_sn,
        exp_cmd_sn,
        max_cmd_sn,
        data_sn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    /// Parses whitespace-separated hex bytes into a BHS, zero-filling the tail.
    fn hx(s: &str) -> [u8; BHS_LEN] {
        let mut b = [0u8; BHS_LEN];
        for (i, t) in s.split_whitespace().enumerate() {
            b[i] = u8::from_str_radix(t, 16).unwrap();
        }
        b
    }

    fn enc(p: &Pdu) -> [u8; BHS_LEN] {
        let mut b = [0xa5u8; BHS_LEN];
        p.encode(&mut b);
        b
    }

    /// Checks that `p` encodes to exactly `want` and that `want` decodes to `p`.
    fn check(p: Pdu, want: &str) {
        let want = hx(want);
        assert_eq!(enc(&p), want, "{p:?}");
        assert_eq!(Pdu::decode(&want), Ok(p));
    }

    /// The SCSI READ(10) command PDU of RFC 3720 appendix B.4.
    const READ10: &str = "01 c0 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        14 00 00 00 00 00 04 00 00 00 00 14 00 00 00 18
        28 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00";

    // ---- opcodes ---------------------------------------------------------

    #[test]
    fn opcode_values_rfc7143() {
        let table = [
            (Opcode::NopOut, 0x00),
            (Opcode::ScsiCommand, 0x01),
            (Opcode::TaskMgmtRequest, 0x02),
            (Opcode::LoginRequest, 0x03),
            (Opcode::TextRequest, 0x04),
            (Opcode::DataOut, 0x05),
            (Opcode::LogoutRequest, 0x06),
            (Opcode::SnackRequest, 0x10),
            (Opcode::NopIn, 0x20),
            (Opcode::ScsiResponse, 0x21),
            (Opcode::TaskMgmtResponse, 0x22),
            (Opcode::LoginResponse, 0x23),
            (Opcode::TextResponse, 0x24),
            (Opcode::DataIn, 0x25),
            (Opcode::LogoutResponse, 0x26),
            (Opcode::R2t, 0x31),
            (Opcode::AsyncMessage, 0x32),
            (Opcode::Reject, 0x3f),
        ];
        for (op, v) in table {
            assert_eq!(op.to_u8(), v);
            assert_eq!(Opcode::from_u8(v), Some(op));
            assert_eq!(op.is_initiator(), v < 0x20, "{op:?}");
        }
        assert_eq!(Opcode::ALL.len(), table.len());
        for (a, (b, _)) in Opcode::ALL.iter().zip(table.iter()) {
            assert_eq!(a, b);
        }
    }

    #[test]
    fn opcode_undefined_values() {
        let defined: Vec<u8> = Opcode::ALL.iter().map(|o| o.to_u8()).collect();
        for v in 0..64u8 {
            assert_eq!(Opcode::from_u8(v).is_some(), defined.contains(&v), "{v:#x}");
        }
        // Vendor-specific codes are not decoded.
        for v in [0x1c, 0x1d, 0x1e, 0x3c, 0x3d, 0x3e] {
            assert_eq!(Opcode::from_u8(v), None);
        }
    }

    #[test]
    fn opcode_ignores_i_bit_and_reserved_bit7() {
        assert_eq!(Opcode::from_u8(0x41), Some(Opcode::ScsiCommand));
        assert_eq!(Opcode::from_u8(0xc1), Some(Opcode::ScsiCommand));
        assert_eq!(Opcode::from_u8(0x83), Some(Opcode::LoginRequest));
    }

    // ---- common header ---------------------------------------------------

    #[test]
    fn common_accessors() {
        let b = hx("43 87 00 00 0a 12 34 56 01 02 03 04 05 06 07 08 de ad be ef");
        assert_eq!(opcode_raw(&b), 0x03);
        assert_eq!(opcode(&b), Ok(Opcode::LoginRequest));
        assert!(immediate(&b));
        assert!(final_bit(&b));
        assert_eq!(total_ahs_len_words(&b), 10);
        assert_eq!(total_ahs_len_bytes(&b), 40);
        assert_eq!(data_segment_len(&b), 0x123456);
        assert_eq!(lun(&b), 0x0102_0304_0506_0708);
        assert_eq!(itt(&b), 0xdead_beef);
    }

    #[test]
    fn common_accessors_clear_bits() {
        let b = hx("01 00");
        assert!(!immediate(&b));
        assert!(!final_bit(&b));
        assert_eq!(total_ahs_len_words(&b), 0);
        assert_eq!(data_segment_len(&b), 0);
    }

    #[test]
    fn max_ahs_len_is_255_words() {
        let b = hx("01 00 00 00 ff");
        assert_eq!(total_ahs_len_bytes(&b), MAX_AHS_LEN);
        assert_eq!(MAX_AHS_LEN, 1020);
        assert_eq!(MAX_CDB_LEN, 1032);
    }

    #[test]
    fn set_lengths() {
        let mut b = [0u8; BHS_LEN];
        set_total_ahs_len_words(&mut b, 3);
        assert_eq!(set_data_segment_len(&mut b, 0xab_cdef), Ok(()));
        assert_eq!(&b[4..8], &[3, 0xab, 0xcd, 0xef]);
        assert_eq!(set_data_segment_len(&mut b, MAX_DATA_SEGMENT_LEN), Ok(()));
        assert_eq!(data_segment_len(&b), 0xff_ffff);
        assert_eq!(
            set_data_segment_len(&mut b, 0x100_0000),
            Err(PduError::FieldTooLarge)
        );
        // Unchanged by the failed call.
        assert_eq!(data_segment_len(&b), 0xff_ffff);
    }

    #[test]
    fn encode_truncates_dsl_to_24_bits() {
        let p = NopIn {
            data_segment_len: 0x1234_5678,
            ..NopIn::default()
        };
        let mut b = [0u8; BHS_LEN];
        p.encode(&mut b);
        assert_eq!(data_segment_len(&b), 0x34_5678);
        assert_eq!(b[4], 0);
    }

    // ---- byte layouts, one per PDU (RFC 7143 section 11) ------------------

    #[test]
    fn layout_nop_out() {
        check(
            Pdu::NopOut(NopOut {
                immediate: true,
                total_ahs_len: 2,
                data_segment_len: 0x030405,
                lun: 0x1112_1314_1516_1718,
                itt: 0x2122_2324,
                ttt: 0x3132_3334,
                cmd_sn: 0x4142_4344,
                exp_stat_sn: 0x5152_5354,
            }),
            "40 80 00 00 02 03 04 05 11 12 13 14 15 16 17 18
             21 22 23 24 31 32 33 34 41 42 43 44 51 52 53 54",
        );
    }

    #[test]
    fn layout_nop_in() {
        check(
            Pdu::NopIn(NopIn {
                total_ahs_len: 0,
                data_segment_len: 4,
                lun: 1,
                itt: RESERVED_TAG,
                ttt: 0x3132_3334,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
            }),
            "20 80 00 00 00 00 00 04 00 00 00 00 00 00 00 01
             ff ff ff ff 31 32 33 34 41 42 43 44 51 52 53 54
             61 62 63 64",
        );
    }

    #[test]
    fn layout_scsi_command() {
        let mut cdb = [0u8; 16];
        for (i, c) in cdb.iter_mut().enumerate() {
            *c = 0xc0 + i as u8;
        }
        check(
            Pdu::ScsiCommand(ScsiCommand {
                immediate: false,
                final_bit: true,
                read: false,
                write: true,
                attr: TaskAttr::Ordered,
                total_ahs_len: 1,
                data_segment_len: 0x200,
                lun: 0x0001_0000_0000_0000,
                itt: 0x2122_2324,
                expected_data_len: 0x3132_3334,
                cmd_sn: 0x4142_4344,
                exp_stat_sn: 0x5152_5354,
                cdb,
            }),
            "01 a2 00 00 01 00 02 00 00 01 00 00 00 00 00 00
             21 22 23 24 31 32 33 34 41 42 43 44 51 52 53 54
             c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 ca cb cc cd ce cf",
        );
    }

    #[test]
    fn scsi_command_flag_bits() {
        // byte 1: F=0x80 R=0x40 W=0x20, ATTR in bits 0-2.
        let table = [
            (0x80u8, (true, false, false, TaskAttr::Untagged)),
            (0x40, (false, true, false, TaskAttr::Untagged)),
            (0x20, (false, false, true, TaskAttr::Untagged)),
            (0x01, (false, false, false, TaskAttr::Simple)),
            (0x03, (false, false, false, TaskAttr::HeadOfQueue)),
            (0x04, (false, false, false, TaskAttr::Aca)),
            (0x07, (false, false, false, TaskAttr::Reserved(7))),
            (0xe5, (true, true, true, TaskAttr::Reserved(5))),
        ];
        for (byte1, (f, r, w, a)) in table {
            let mut b = hx("01");
            b[1] = byte1;
            let c = ScsiCommand::decode(&b).unwrap();
            assert_eq!(
                (c.final_bit, c.read, c.write, c.attr),
                (f, r, w, a),
                "{byte1:#x}"
            );
        }
    }

    #[test]
    fn scsi_command_reserved_byte1_bits_ignored() {
        let b = hx("01 18");
        let c = ScsiCommand::decode(&b).unwrap();
        assert_eq!(c.attr, TaskAttr::Untagged);
        let mut out = [0u8; BHS_LEN];
        c.encode(&mut out);
        assert_eq!(out[1], 0);
    }

    #[test]
    fn rfc3720_b4_read10_pdu_decodes() {
        let b = hx(READ10);
        let Pdu::ScsiCommand(c) = Pdu::decode(&b).unwrap() else {
            panic!("not a SCSI command");
        };
        assert!(!c.immediate);
        assert!(c.final_bit && c.read && !c.write);
        assert_eq!(c.attr, TaskAttr::Untagged);
        assert_eq!(c.total_ahs_len, 0);
        assert_eq!(c.data_segment_len, 0);
        assert_eq!(c.lun, 0);
        assert_eq!(c.itt, 0x1400_0000);
        assert_eq!(c.expected_data_len, 1024);
        assert_eq!(c.cmd_sn, 0x14);
        assert_eq!(c.exp_stat_sn, 0x18);
        assert_eq!(c.cdb[0], 0x28);
        // READ(10) transfer length 2 blocks * 512 = EDTL.
        assert_eq!(u16::from_be_bytes([c.cdb[7], c.cdb[8]]), 2);
        assert_eq!(enc(&Pdu::ScsiCommand(c)), b);
    }

    #[test]
    fn layout_scsi_response() {
        check(
            Pdu::ScsiResponse(ScsiResponse {
                bidi_overflow: true,
                bidi_underflow: false,
                overflow: false,
                underflow: true,
                response: RESPONSE_COMPLETED,
                status: 0x02,
                total_ahs_len: 0,
                data_segment_len: 0x14,
                itt: 0x2122_2324,
                snack_tag: 0x3132_3334,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                exp_data_sn: 0x7172_7374,
                bidi_residual_count: 0x8182_8384,
                residual_count: 0x9192_9394,
            }),
            "21 92 00 02 00 00 00 14 00 00 00 00 00 00 00 00
             21 22 23 24 31 32 33 34 41 42 43 44 51 52 53 54
             61 62 63 64 71 72 73 74 81 82 83 84 91 92 93 94",
        );
    }

    #[test]
    fn scsi_response_flag_bits() {
        // byte 1: o=0x10 u=0x08 O=0x04 U=0x02.
        for (byte1, flags) in [
            (0x90u8, (true, false, false, false)),
            (0x88, (false, true, false, false)),
            (0x84, (false, false, true, false)),
            (0x82, (false, false, false, true)),
        ] {
            let mut b = hx("21");
            b[1] = byte1;
            let r = ScsiResponse::decode(&b).unwrap();
            assert_eq!(
                (r.bidi_overflow, r.bidi_underflow, r.overflow, r.underflow),
                flags
            );
        }
    }

    #[test]
    fn scsi_response_target_failure() {
        let b = hx("21 80 01 00");
        let r = ScsiResponse::decode(&b).unwrap();
        assert_eq!(r.response, RESPONSE_TARGET_FAILURE);
        assert_eq!(r.status, 0);
    }

    #[test]
    fn layout_tmf_request() {
        check(
            Pdu::TaskMgmtRequest(TaskMgmtRequest {
                immediate: true,
                function: TmfFunction::AbortTask,
                total_ahs_len: 0,
                data_segment_len: 0,
                lun: 0x0002_0000_0000_0000,
                itt: 0x2122_2324,
                referenced_task_tag: 0x3132_3334,
                cmd_sn: 0x4142_4344,
                exp_stat_sn: 0x5152_5354,
                ref_cmd_sn: 0x6162_6364,
                exp_data_sn: 0x7172_7374,
            }),
            "42 81 00 00 00 00 00 00 00 02 00 00 00 00 00 00
             21 22 23 24 31 32 33 34 41 42 43 44 51 52 53 54
             61 62 63 64 71 72 73 74",
        );
    }

    #[test]
    fn tmf_function_codes() {
        let table = [
            (1u8, TmfFunction::AbortTask),
            (2, TmfFunction::AbortTaskSet),
            (3, TmfFunction::ClearAca),
            (4, TmfFunction::ClearTaskSet),
            (5, TmfFunction::LogicalUnitReset),
            (6, TmfFunction::TargetWarmReset),
            (7, TmfFunction::TargetColdReset),
            (8, TmfFunction::TaskReassign),
            (9, TmfFunction::QueryTask),
            (10, TmfFunction::QueryTaskSet),
            (11, TmfFunction::ItNexusReset),
            (12, TmfFunction::QueryAsyncEvent),
            (0, TmfFunction::Other(0)),
            (13, TmfFunction::Other(13)),
            (0x7f, TmfFunction::Other(0x7f)),
        ];
        for (v, f) in table {
            assert_eq!(TmfFunction::from_u8(v), f);
            assert_eq!(f.to_u8(), v);
            // Through the PDU (F bit set in byte 1).
            let b = hx(&std::format!("02 {:02x}", 0x80 | v));
            assert_eq!(TaskMgmtRequest::decode(&b).unwrap().function, f);
        }
    }

    #[test]
    fn layout_tmf_response() {
        check(
            Pdu::TaskMgmtResponse(TaskMgmtResponse {
                response: TmfResponse::FunctionSucceeded,
                total_ahs_len: 0,
                data_segment_len: 0,
                itt: 0x2122_2324,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                additional_response_info: [0x06, 0x29, 0x00],
            }),
            "22 80 07 00 00 00 00 00 00 00 00 00 00 00 00 00
             21 22 23 24 00 00 00 00 41 42 43 44 51 52 53 54
             61 62 63 64 06 29 00",
        );
    }

    #[test]
    fn tmf_response_codes() {
        let table = [
            (0u8, TmfResponse::FunctionComplete),
            (1, TmfResponse::TaskDoesNotExist),
            (2, TmfResponse::LunDoesNotExist),
            (3, TmfResponse::TaskStillAllegiant),
            (4, TmfResponse::AllegianceReassignmentNotSupported),
            (5, TmfResponse::NotSupported),
            (6, TmfResponse::AuthorizationFailed),
            (7, TmfResponse::FunctionSucceeded),
            (255, TmfResponse::Rejected),
            (8, TmfResponse::Other(8)),
            (254, TmfResponse::Other(254)),
        ];
        for (v, r) in table {
            assert_eq!(TmfResponse::from_u8(v), r);
            assert_eq!(r.to_u8(), v);
        }
    }

    #[test]
    fn layout_login_request() {
        check(
            Pdu::LoginRequest(LoginRequest {
                transit: true,
                cont: false,
                csg: Stage::LoginOperationalNegotiation,
                nsg: Stage::FullFeaturePhase,
                version_max: 0,
                version_min: 0,
                total_ahs_len: 0,
                data_segment_len: 0x1f9,
                isid: [0x80, 0x12, 0x34, 0x56, 0x78, 0x9a],
                tsih: 0xbcde,
                itt: 0x2122_2324,
                cid: 0x3132,
                cmd_sn: 0x4142_4344,
                exp_stat_sn: 0x5152_5354,
            }),
            "43 87 00 00 00 00 01 f9 80 12 34 56 78 9a bc de
             21 22 23 24 31 32 00 00 41 42 43 44 51 52 53 54",
        );
    }

    #[test]
    fn login_request_versions_and_flags() {
        let b = hx("43 48 02 01");
        let l = LoginRequest::decode(&b).unwrap();
        assert!(!l.transit && l.cont);
        assert_eq!(l.csg, Stage::Reserved);
        assert_eq!(l.nsg, Stage::SecurityNegotiation);
        assert_eq!((l.version_max, l.version_min), (2, 1));
    }

    #[test]
    fn login_request_always_sets_i_bit() {
        // An initiator that forgot the I bit still decodes; we re-encode with it.
        let b = hx("03 00");
        let l = LoginRequest::decode(&b).unwrap();
        let mut out = [0u8; BHS_LEN];
        l.encode(&mut out);
        assert_eq!(out[0], 0x43);
    }

    #[test]
    fn stage_codes() {
        for (v, s) in [
            (0u8, Stage::SecurityNegotiation),
            (1, Stage::LoginOperationalNegotiation),
            (2, Stage::Reserved),
            (3, Stage::FullFeaturePhase),
        ] {
            assert_eq!(Stage::from_bits(v), s);
            assert_eq!(Stage::from_bits(v | 0xfc), s);
            assert_eq!(s.to_bits(), v);
        }
    }

    #[test]
    fn layout_login_response() {
        check(
            Pdu::LoginResponse(LoginResponse {
                transit: false,
                cont: true,
                csg: Stage::SecurityNegotiation,
                nsg: Stage::SecurityNegotiation,
                version_max: 0,
                version_active: 0,
                total_ahs_len: 0,
                data_segment_len: 0x30,
                isid: [0x40, 1, 2, 3, 4, 5],
                tsih: 0x0001,
                itt: 0x2122_2324,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                status_class: 0x02,
                status_detail: 0x01,
            }),
            "23 40 00 00 00 00 00 30 40 01 02 03 04 05 00 01
             21 22 23 24 00 00 00 00 41 42 43 44 51 52 53 54
             61 62 63 64 02 01",
        );
    }

    #[test]
    fn login_response_stage_bits() {
        // T=1, CSG=1 (bits 2-3), NSG=3 (bits 0-1): 0x80 | 0x04 | 0x03.
        let b = hx("23 87 00 00");
        let r = LoginResponse::decode(&b).unwrap();
        assert!(r.transit && !r.cont);
        assert_eq!(r.csg, Stage::LoginOperationalNegotiation);
        assert_eq!(r.nsg, Stage::FullFeaturePhase);
    }

    #[test]
    fn layout_text_request() {
        check(
            Pdu::TextRequest(TextRequest {
                immediate: true,
                final_bit: true,
                cont: false,
                total_ahs_len: 0,
                data_segment_len: 0x10,
                lun: 0,
                itt: 0x2122_2324,
                ttt: RESERVED_TAG,
                cmd_sn: 0x4142_4344,
                exp_stat_sn: 0x5152_5354,
            }),
            "44 80 00 00 00 00 00 10 00 00 00 00 00 00 00 00
             21 22 23 24 ff ff ff ff 41 42 43 44 51 52 53 54",
        );
    }

    #[test]
    fn text_continue_bit() {
        let r = TextResponse::decode(&hx("24 40")).unwrap();
        assert!(r.cont && !r.final_bit);
        let q = TextRequest::decode(&hx("04 c0")).unwrap();
        assert!(q.cont && q.final_bit && !q.immediate);
    }

    #[test]
    fn layout_text_response() {
        check(
            Pdu::TextResponse(TextResponse {
                final_bit: false,
                cont: true,
                total_ahs_len: 0,
                data_segment_len: 0x2000,
                lun: 0x1112_1314_1516_1718,
                itt: 0x2122_2324,
                ttt: 0x3132_3334,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
            }),
            "24 40 00 00 00 00 20 00 11 12 13 14 15 16 17 18
             21 22 23 24 31 32 33 34 41 42 43 44 51 52 53 54
             61 62 63 64",
        );
    }

    #[test]
    fn layout_data_out() {
        check(
            Pdu::DataOut(DataOut {
                final_bit: true,
                total_ahs_len: 0,
                data_segment_len: 0x2000,
                lun: 0x1112_1314_1516_1718,
                itt: 0x2122_2324,
                ttt: 0x3132_3334,
                exp_stat_sn: 0x5152_5354,
                data_sn: 0x7172_7374,
                buffer_offset: 0x8182_8384,
            }),
            "05 80 00 00 00 00 20 00 11 12 13 14 15 16 17 18
             21 22 23 24 31 32 33 34 00 00 00 00 51 52 53 54
             00 00 00 00 71 72 73 74 81 82 83 84",
        );
    }

    #[test]
    fn layout_data_in() {
        check(
            Pdu::DataIn(DataIn {
                final_bit: true,
                ack: false,
                overflow: false,
                underflow: true,
                status_present: true,
                status: 0x00,
                total_ahs_len: 0,
                data_segment_len: 0x1000,
                lun: 0,
                itt: 0x2122_2324,
                ttt: RESERVED_TAG,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                data_sn: 0x7172_7374,
                buffer_offset: 0x8182_8384,
                residual_count: 0x9192_9394,
            }),
            "25 83 00 00 00 00 10 00 00 00 00 00 00 00 00 00
             21 22 23 24 ff ff ff ff 41 42 43 44 51 52 53 54
             61 62 63 64 71 72 73 74 81 82 83 84 91 92 93 94",
        );
    }

    #[test]
    fn data_in_flag_bits() {
        // byte 1: F=0x80 A=0x40 O=0x04 U=0x02 S=0x01; status in byte 3.
        for (byte1, flags) in [
            (0x80u8, (true, false, false, false, false)),
            (0x40, (false, true, false, false, false)),
            (0x04, (false, false, true, false, false)),
            (0x02, (false, false, false, true, false)),
            (0x01, (false, false, false, false, true)),
        ] {
            let mut b = hx("25 00 00 08");
            b[1] = byte1;
            let d = DataIn::decode(&b).unwrap();
            assert_eq!(
                (
                    d.final_bit,
                    d.ack,
                    d.overflow,
                    d.underflow,
                    d.status_present
                ),
                flags
            );
            assert_eq!(d.status, 0x08);
        }
    }

    #[test]
    fn layout_r2t() {
        check(
            Pdu::R2t(R2t {
                total_ahs_len: 0,
                data_segment_len: 0,
                lun: 0x1112_1314_1516_1718,
                itt: 0x2122_2324,
                ttt: 0x3132_3334,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                r2t_sn: 0x7172_7374,
                buffer_offset: 0x8182_8384,
                desired_data_len: 0x9192_9394,
            }),
            "31 80 00 00 00 00 00 00 11 12 13 14 15 16 17 18
             21 22 23 24 31 32 33 34 41 42 43 44 51 52 53 54
             61 62 63 64 71 72 73 74 81 82 83 84 91 92 93 94",
        );
    }

    #[test]
    fn layout_async_message() {
        check(
            Pdu::AsyncMessage(AsyncMessage {
                total_ahs_len: 0,
                data_segment_len: 0x16,
                lun: 0x1112_1314_1516_1718,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                event: AsyncEvent::ConnectionDrop,
                vcode: 0x00,
                param1: 0x8182,
                param2: 0x8384,
                param3: 0x8586,
            }),
            "32 80 00 00 00 00 00 16 11 12 13 14 15 16 17 18
             ff ff ff ff 00 00 00 00 41 42 43 44 51 52 53 54
             61 62 63 64 02 00 81 82 83 84 85 86",
        );
    }

    #[test]
    fn async_event_codes() {
        for (v, e) in [
            (0u8, AsyncEvent::ScsiEvent),
            (1, AsyncEvent::LogoutRequest),
            (2, AsyncEvent::ConnectionDrop),
            (3, AsyncEvent::SessionDrop),
            (4, AsyncEvent::NegotiationRequest),
            (255, AsyncEvent::VendorSpecific),
            (5, AsyncEvent::Other(5)),
            (254, AsyncEvent::Other(254)),
        ] {
            assert_eq!(AsyncEvent::from_u8(v), e);
            assert_eq!(e.to_u8(), v);
        }
    }

    #[test]
    fn async_vendor_code() {
        let b = hx("32 80 00 00 00 00 00 00 00 00 00 00 00 00 00 00
                    ff ff ff ff 00 00 00 00 00 00 00 00 00 00 00 00
                    00 00 00 00 ff 42");
        let a = AsyncMessage::decode(&b).unwrap();
        assert_eq!(a.event, AsyncEvent::VendorSpecific);
        assert_eq!(a.vcode, 0x42);
    }

    #[test]
    fn layout_logout_request() {
        check(
            Pdu::LogoutRequest(LogoutRequest {
                immediate: true,
                reason: LogoutReason::CloseConnection,
                total_ahs_len: 0,
                data_segment_len: 0,
                itt: 0x2122_2324,
                cid: 0x3132,
                cmd_sn: 0x4142_4344,
                exp_stat_sn: 0x5152_5354,
            }),
            "46 81 00 00 00 00 00 00 00 00 00 00 00 00 00 00
             21 22 23 24 31 32 00 00 41 42 43 44 51 52 53 54",
        );
    }

    #[test]
    fn logout_reason_codes() {
        for (v, r) in [
            (0u8, LogoutReason::CloseSession),
            (1, LogoutReason::CloseConnection),
            (2, LogoutReason::RemoveForRecovery),
            (3, LogoutReason::Other(3)),
            (0x7f, LogoutReason::Other(0x7f)),
        ] {
            assert_eq!(LogoutReason::from_u8(v), r);
            assert_eq!(LogoutReason::from_u8(v | 0x80), r);
            assert_eq!(r.to_u8(), v);
        }
    }

    #[test]
    fn layout_logout_response() {
        check(
            Pdu::LogoutResponse(LogoutResponse {
                response: LogoutResponseCode::CidNotFound,
                total_ahs_len: 0,
                data_segment_len: 0,
                itt: 0x2122_2324,
                stat_sn: 0x4142_4344,
                exp_cmd_sn: 0x5152_5354,
                max_cmd_sn: 0x6162_6364,
                time2wait: 0x0002,
                time2retain: 0x0014,
            }),
            "26 80 01 00 00 00 00 00 00 00 00 00 00 00 00 00
             21 22 23 24 00 00 00 00 41 42 43 44 51 52 53 54
             61 62 63 64 00 00 00 00 00 02 00 14",
        );
    }

    #[test]
    fn logout_response_codes() {
        for (v, r) in [
            (0u8, LogoutResponseCode::Closed),
            (1, LogoutResponseCode::CidNotFound),
            (2, LogoutResponseCode::RecoveryNotSupported),
            (3, LogoutResponseCode::CleanupFailed),
            (4, LogoutResponseCode::Other(4)),
        ] {
            assert_eq!(LogoutResponseCode::from_u8(v), r);
            assert_eq!(r.to_u8(), v);
        }
    }

    #[test]
    fn layout_snack() {
        check(
            Pdu::SnackRequest(SnackRequest {
                snack_type: SnackType::RData,
                total_ahs_len: 0,
                data_segment_len: 0,
                lun: 0x1112_1314_1516_1718,
                itt: 0x2122_2324,
                ttt: 0x3132_3334,
                exp_stat_sn: 0x5152_5354,
                beg_run: 0x8182_8384,
                run_length: 0x9192_9394,
            }),
            "10 83 00 00 00 00 00 00 11 12 13 14 15 16 17 18
             21 22 23 24 31 32 33 34 00 00 00 00 51 52 53 54
             00 00 00 00 00 00 00 00 81 82 83 84 91 92 93 94",
        );
    }

    #[test]
    fn snack_type_codes() {
        for (v, t) in [
            (0u8, SnackType::DataR2t),
            (1, SnackType::Status),
            (2, SnackType::DataAck),
            (3, SnackType::RData),
            (4, SnackType::Other(4)),
            (15, SnackType::Other(15)),
        ] {
            assert_eq!(SnackType::from_u8(v), t);
            assert_eq!(SnackType::from_u8(v | 0xf0), t);
            assert_eq!(t.to_u8(), v);
        }
    }

    #[test]
    fn layout_reject() {
        check(
            Pdu::Reject(reject_for(
                RejectReason::InvalidPduField,
                0x4142_4344,
                0x5152_5354,
                0x6162_6364,
                0,
            )),
            "3f 80 09 00 00 00 00 30 00 00 00 00 00 00 00 00
             ff ff ff ff 00 00 00 00 41 42 43 44 51 52 53 54
             61 62 63 64",
        );
    }

    #[test]
    fn reject_reason_codes() {
        let table = [
            (0x02u8, RejectReason::DataDigestError),
            (0x03, RejectReason::SnackReject),
            (0x04, RejectReason::ProtocolError),
            (0x05, RejectReason::CommandNotSupported),
            (0x06, RejectReason::ImmediateCommandReject),
            (0x07, RejectReason::TaskInProgress),
            (0x08, RejectReason::InvalidDataAck),
            (0x09, RejectReason::InvalidPduField),
            (0x0a, RejectReason::LongOpReject),
            (0x0b, RejectReason::Deprecated),
            (0x0c, RejectReason::WaitingForLogout),
            (0x01, RejectReason::Other(0x01)),
            (0x0d, RejectReason::Other(0x0d)),
        ];
        for (v, r) in table {
            assert_eq!(RejectReason::from_u8(v), r);
            assert_eq!(r.to_u8(), v);
        }
    }

    #[test]
    fn reject_data_sn_field() {
        let r = Reject::decode(&hx("3f 80 03 00 00 00 00 30 00 00 00 00 00 00 00 00
                                   ff ff ff ff 00 00 00 00 00 00 00 01 00 00 00 02
                                   00 00 00 03 00 00 00 07"))
        .unwrap();
        assert_eq!(r.reason, RejectReason::SnackReject);
        assert_eq!(
            (r.stat_sn, r.exp_cmd_sn, r.max_cmd_sn, r.data_sn),
            (1, 2, 3, 7)
        );
    }

    #[test]
    fn fixed_itt_for_async_and_reject_is_written() {
        let a = AsyncMessage::decode(&hx("32")).unwrap();
        let mut b = [0u8; BHS_LEN];
        a.encode(&mut b);
        assert_eq!(itt(&b), RESERVED_TAG);
        Reject::decode(&hx("3f")).unwrap().encode(&mut b);
        assert_eq!(itt(&b), RESERVED_TAG);
    }

    #[test]
    fn task_attr_codes() {
        for (v, a) in [
            (0u8, TaskAttr::Untagged),
            (1, TaskAttr::Simple),
            (2, TaskAttr::Ordered),
            (3, TaskAttr::HeadOfQueue),
            (4, TaskAttr::Aca),
            (5, TaskAttr::Reserved(5)),
            (6, TaskAttr::Reserved(6)),
            (7, TaskAttr::Reserved(7)),
        ] {
            assert_eq!(TaskAttr::from_bits(v), a);
            assert_eq!(a.to_bits(), v);
        }
    }

    #[test]
    fn encode_overwrites_stale_buffer() {
        // Every reserved byte is zeroed even if the buffer held garbage.
        let p = Pdu::NopIn(NopIn::default());
        let b = enc(&p);
        assert_eq!(b, hx("20 80"));
    }

    // ---- errors and dispatch -------------------------------------------

    #[test]
    fn struct_decoders_check_opcode() {
        let b = hx("00");
        assert_eq!(
            ScsiCommand::decode(&b),
            Err(PduError::OpcodeMismatch {
                expected: Opcode::ScsiCommand,
                found: 0
            })
        );
        let b = hx("01");
        assert!(NopOut::decode(&b).is_err());
        assert!(NopIn::decode(&b).is_err());
        assert!(ScsiResponse::decode(&b).is_err());
        assert!(TaskMgmtRequest::decode(&b).is_err());
        assert!(TaskMgmtResponse::decode(&b).is_err());
        assert!(LoginRequest::decode(&b).is_err());
        assert!(LoginResponse::decode(&b).is_err());
        assert!(TextRequest::decode(&b).is_err());
        assert!(TextResponse::decode(&b).is_err());
        assert!(DataOut::decode(&b).is_err());
        assert!(DataIn::decode(&b).is_err());
        assert!(R2t::decode(&b).is_err());
        assert!(AsyncMessage::decode(&b).is_err());
        assert!(LogoutRequest::decode(&b).is_err());
        assert!(LogoutResponse::decode(&b).is_err());
        assert!(SnackRequest::decode(&b).is_err());
        assert!(Reject::decode(&b).is_err());
        assert!(ScsiCommand::decode(&b).is_ok());
    }

    #[test]
    fn opcode_mismatch_is_local() {
        let e = PduError::OpcodeMismatch {
            expected: Opcode::NopIn,
            found: 1,
        };
        assert_eq!(e.action(), ErrorAction::Local);
    }

    #[test]
    fn unknown_opcode_rejected_command_not_supported() {
        for v in [0x07u8, 0x0f, 0x11, 0x1c, 0x1d, 0x1e, 0x1f] {
            let b = hx(&std::format!("{v:02x}"));
            assert_eq!(Pdu::decode(&b), Err(PduError::UnknownOpcode(v)));
            assert_eq!(Pdu::decode_request(&b), Err(PduError::UnknownOpcode(v)));
            assert_eq!(
                PduError::UnknownOpcode(v).action(),
                ErrorAction::Reject(RejectReason::CommandNotSupported)
            );
        }
    }

    #[test]
    fn target_opcode_to_target_is_protocol_error() {
        for v in [0x20u8, 0x21, 0x25, 0x27, 0x31, 0x3c, 0x3f] {
            let b = hx(&std::format!("{v:02x}"));
            assert_eq!(Pdu::decode_request(&b), Err(PduError::TargetOpcode(v)));
            assert_eq!(
                PduError::TargetOpcode(v).action(),
                ErrorAction::Reject(RejectReason::ProtocolError)
            );
        }
    }

    #[test]
    fn decode_request_accepts_all_initiator_opcodes() {
        for op in Opcode::ALL.iter().filter(|o| o.is_initiator()) {
            let mut b = [0u8; BHS_LEN];
            b[0] = op.to_u8();
            let p = Pdu::decode_request(&b).unwrap();
            assert_eq!(p.opcode(), *op);
        }
    }

    #[test]
    fn decode_dispatches_every_opcode() {
        for op in Opcode::ALL {
            let mut b = [0u8; BHS_LEN];
            b[0] = op.to_u8();
            let p = Pdu::decode(&b).unwrap();
            assert_eq!(p.opcode(), op);
            assert_eq!(opcode_raw(&enc(&p)), op.to_u8());
        }
    }

    #[test]
    fn error_actions() {
        let table = [
            (
                PduError::DataSegmentTooLong { len: 9, max: 8 },
                ErrorAction::Reject(RejectReason::ProtocolError),
            ),
            (
                PduError::AhsTruncated,
                ErrorAction::Reject(RejectReason::InvalidPduField),
            ),
            (
                PduError::AhsReservedType(3),
                ErrorAction::Reject(RejectReason::InvalidPduField),
            ),
            (
                PduError::AhsBadLength {
                    ahs_type: 2,
                    len: 4,
                },
                ErrorAction::Reject(RejectReason::InvalidPduField),
            ),
            (
                PduError::AhsDuplicate(1),
                ErrorAction::Reject(RejectReason::InvalidPduField),
            ),
            (PduError::Overflow, ErrorAction::DropConnection),
            (PduError::FieldTooLarge, ErrorAction::Local),
            (
                PduError::BufferTooSmall { need: 2, have: 1 },
                ErrorAction::Local,
            ),
        ];
        for (e, a) in table {
            assert_eq!(e.action(), a, "{e:?}");
        }
    }

    // ---- layout ---------------------------------------------------------

    fn bhs_with(ahs_words: u8, dsl: u32) -> [u8; BHS_LEN] {
        let mut b = hx("01");
        set_total_ahs_len_words(&mut b, ahs_words);
        set_data_segment_len(&mut b, dsl).unwrap();
        b
    }

    #[test]
    fn layout_table() {
        // (ahs words, dsl, hd, dd) -> (ahs, hdl, data, pad, ddl, total)
        let table = [
            (
                (0u8, 0u32, false, false),
                (0usize, 0usize, 0usize, 0usize, 0usize, 48usize),
            ),
            ((0, 0, true, true), (0, 4, 0, 0, 0, 52)),
            ((0, 1, false, false), (0, 0, 1, 3, 0, 52)),
            ((0, 2, false, true), (0, 0, 2, 2, 4, 56)),
            ((0, 3, true, false), (0, 4, 3, 1, 0, 56)),
            ((0, 4, true, true), (0, 4, 4, 0, 4, 60)),
            ((1, 5, true, true), (4, 4, 5, 3, 4, 68)),
            (
                (255, 8192, true, true),
                (1020, 4, 8192, 0, 4, 48 + 1020 + 4 + 8192 + 4),
            ),
        ];
        for ((w, dsl, hd, dd), (ahs, hdl, data, pad, ddl, total)) in table {
            let l = layout(&bhs_with(w, dsl), hd, dd, 8192).unwrap();
            assert_eq!(
                (
                    l.ahs_len,
                    l.header_digest_len,
                    l.data_len,
                    l.pad_len,
                    l.data_digest_len
                ),
                (ahs, hdl, data, pad, ddl),
                "{w} {dsl} {hd} {dd}"
            );
            assert_eq!(l.total_len(), total);
            assert_eq!(l.rest_len(), total - BHS_LEN);
        }
    }

    #[test]
    fn layout_offsets() {
        let l = layout(&bhs_with(2, 5), true, true, 8192).unwrap();
        assert_eq!(l.ahs_offset(), 48);
        assert_eq!(l.header_digest_offset(), 56);
        assert_eq!(l.data_offset(), 60);
        assert_eq!(l.data_digest_offset(), 68);
        assert_eq!(l.total_len(), 72);
        assert_eq!(l.data_area_len(), 12);
    }

    #[test]
    fn layout_no_data_digest_without_data() {
        let l = layout(&bhs_with(0, 0), false, true, 8192).unwrap();
        assert_eq!(l.data_digest_len, 0);
        assert_eq!(l.total_len(), BHS_LEN);
    }

    #[test]
    fn layout_rejects_over_max_recv() {
        let b = bhs_with(0, 8193);
        assert_eq!(
            layout(&b, false, false, 8192),
            Err(PduError::DataSegmentTooLong {
                len: 8193,
                max: 8192
            })
        );
        // The skip length is still available to stay in sync.
        let l = layout_unchecked(&b, false, true).unwrap();
        assert_eq!(l.rest_len(), 8193 + 3 + 4);
    }

    #[test]
    fn layout_accepts_exactly_max_recv() {
        assert!(layout(&bhs_with(0, 8192), false, false, 8192).is_ok());
        assert!(layout(&bhs_with(0, 0), false, false, 0).is_ok());
        assert!(layout(&bhs_with(0, 1), false, false, 0).is_err());
    }

    #[test]
    fn layout_max_dsl() {
        let l = layout(&bhs_with(255, MAX_DATA_SEGMENT_LEN), true, true, u32::MAX).unwrap();
        assert_eq!(l.data_len, 0xff_ffff);
        assert_eq!(l.pad_len, 1);
        assert_eq!(l.total_len(), 48 + 1020 + 4 + 0x100_0000 + 4);
    }

    #[test]
    fn layout_saturates_on_absurd_fields() {
        let l = Layout {
            ahs_len: usize::MAX,
            header_digest_len: 4,
            data_len: usize::MAX,
            pad_len: 3,
            data_digest_len: 4,
        };
        assert_eq!(l.total_len(), usize::MAX);
    }

    #[test]
    fn pad_lengths() {
        for (n, p) in [
            (0usize, 0usize),
            (1, 3),
            (2, 2),
            (3, 1),
            (4, 0),
            (5, 3),
            (48, 0),
        ] {
            assert_eq!(pad_len(n), p);
            assert_eq!(padded_len(n), Some(n + p));
            assert_eq!(PAD[..p].len(), p);
        }
        assert_eq!(padded_len(usize::MAX), None);
        assert_eq!(padded_len(usize::MAX - 3), Some(usize::MAX - 3));
    }

    // ---- AHS ------------------------------------------------------------

    #[test]
    fn ahs_empty_area() {
        assert_eq!(parse_ahs(&[]), Ok(Ahs::default()));
    }

    #[test]
    fn ahs_extended_cdb() {
        // 32-byte CDB: 16 extra bytes, AHSLength = 17, padded to 20+? 3+17=20.
        let mut area = vec![0x00, 0x11, 0x01, 0x00];
        area.extend(0x10..0x20u8);
        assert_eq!(area.len(), 20);
        let a = parse_ahs(&area).unwrap();
        assert_eq!(a.extended_cdb, Some(&area[4..20]));
        assert_eq!(a.bidi_read_edtl, None);
    }

    #[test]
    fn ahs_extended_cdb_with_padding() {
        // 18-byte CDB: 2 extra bytes, AHSLength = 3, 6 bytes padded to 8.
        let area = [0x00, 0x03, 0x01, 0x00, 0xaa, 0xbb, 0x00, 0x00];
        let a = parse_ahs(&area).unwrap();
        assert_eq!(a.extended_cdb, Some(&[0xaa, 0xbb][..]));
    }

    #[test]
    fn ahs_bidi_read_edtl() {
        let area = [0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00];
        let a = parse_ahs(&area).unwrap();
        assert_eq!(a.bidi_read_edtl, Some(0x1_0000));
        assert_eq!(a.extended_cdb, None);
    }

    #[test]
    fn ahs_both_types() {
        let area = [
            0x00, 0x02, 0x01, 0x00, 0x99, 0x00, 0x00, 0x00, // ext CDB, 1 byte
            0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x10, 0x00, // bidi EDTL
        ];
        let a = parse_ahs(&area).unwrap();
        assert_eq!(a.extended_cdb, Some(&[0x99][..]));
        assert_eq!(a.bidi_read_edtl, Some(0x1000));
    }

    #[test]
    fn ahs_type_reserved_bits_ignored() {
        let area = [0x00, 0x05, 0xc2, 0x00, 0x00, 0x00, 0x00, 0x08];
        assert_eq!(parse_ahs(&area).unwrap().bidi_read_edtl, Some(8));
    }

    #[test]
    fn ahs_extension_types_skipped() {
        for t in 60u8..=63 {
            let area = [0x00, 0x01, t, 0x00];
            assert_eq!(parse_ahs(&area), Ok(Ahs::default()), "type {t}");
        }
    }

    #[test]
    fn ahs_reserved_types_rejected() {
        for t in [0u8, 3, 4, 30, 59] {
            let area = [0x00, 0x01, t, 0x00];
            assert_eq!(parse_ahs(&area), Err(PduError::AhsReservedType(t)));
        }
    }

    #[test]
    fn ahs_truncated() {
        // header cut short
        assert_eq!(parse_ahs(&[0x00, 0x05]), Err(PduError::AhsTruncated));
        // specific data cut short
        assert_eq!(
            parse_ahs(&[0x00, 0x05, 0x02, 0x00, 0x00, 0x00]),
            Err(PduError::AhsTruncated)
        );
        // padding cut short: 3+2 = 5 bytes needs 8
        assert_eq!(
            parse_ahs(&[0x00, 0x02, 0x01, 0x00, 0x01]),
            Err(PduError::AhsTruncated)
        );
        // huge AHSLength
        assert_eq!(
            parse_ahs(&[0xff, 0xff, 0x01, 0x00]),
            Err(PduError::AhsTruncated)
        );
    }

    #[test]
    fn ahs_bad_lengths() {
        assert_eq!(
            parse_ahs(&[0x00, 0x04, 0x02, 0x00, 0, 0, 0, 0]),
            Err(PduError::AhsBadLength {
                ahs_type: 2,
                len: 4
            })
        );
        assert_eq!(
            parse_ahs(&[0x00, 0x01, 0x01, 0x00]),
            Err(PduError::AhsBadLength {
                ahs_type: 1,
                len: 1
            })
        );
        assert_eq!(
            parse_ahs(&[0x00, 0x00, 0x01, 0x00]),
            Err(PduError::AhsBadLength {
                ahs_type: 1,
                len: 0
            })
        );
    }

    #[test]
    fn ahs_duplicates() {
        let bidi = [0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
        let mut area = bidi.to_vec();
        area.extend(bidi);
        assert_eq!(parse_ahs(&area), Err(PduError::AhsDuplicate(2)));
        let ext = [0x00, 0x02, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00];
        let mut area = ext.to_vec();
        area.extend(ext);
        assert_eq!(parse_ahs(&area), Err(PduError::AhsDuplicate(1)));
    }

    #[test]
    fn ahs_encode_extended_cdb() {
        let mut out = [0xeeu8; 16];
        let n = encode_extended_cdb_ahs(&[1, 2, 3, 4, 5], &mut out).unwrap();
        // AHSLength 6, 3+6 = 9 padded to 12.
        assert_eq!(n, 12);
        assert_eq!(&out[..12], &[0, 6, 1, 0, 1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(
            parse_ahs(&out[..n]).unwrap().extended_cdb,
            Some(&[1, 2, 3, 4, 5][..])
        );
    }

    #[test]
    fn ahs_encode_extended_cdb_limits() {
        let mut out = [0u8; 2048];
        let tail = [0u8; MAX_CDB_LEN - BHS_CDB_LEN];
        assert_eq!(encode_extended_cdb_ahs(&tail, &mut out), Ok(MAX_AHS_LEN));
        let tail = [0u8; MAX_CDB_LEN - BHS_CDB_LEN + 1];
        assert_eq!(
            encode_extended_cdb_ahs(&tail, &mut out),
            Err(PduError::FieldTooLarge)
        );
        assert_eq!(
            encode_extended_cdb_ahs(&[1], &mut [0u8; 7]),
            Err(PduError::BufferTooSmall { need: 8, have: 7 })
        );
    }

    #[test]
    fn ahs_encode_bidi() {
        let mut out = [0xeeu8; 8];
        assert_eq!(encode_bidi_read_edtl_ahs(0x0102_0304, &mut out), Ok(8));
        assert_eq!(out, [0, 5, 2, 0, 1, 2, 3, 4]);
        assert_eq!(parse_ahs(&out).unwrap().bidi_read_edtl, Some(0x0102_0304));
        assert!(encode_bidi_read_edtl_ahs(1, &mut [0u8; 7]).is_err());
    }

    #[test]
    fn cdb_assembly() {
        let mut bhs_cdb = [0u8; 16];
        bhs_cdb[0] = 0x7f; // variable-length CDB
        let mut out = [0u8; MAX_CDB_LEN];
        assert_eq!(assemble_cdb(&bhs_cdb, None, &mut out), Ok(16));
        assert_eq!(&out[..16], &bhs_cdb);
        let tail: Vec<u8> = (1..=16).collect();
        assert_eq!(assemble_cdb(&bhs_cdb, Some(&tail), &mut out), Ok(32));
        assert_eq!(out[0], 0x7f);
        assert_eq!(&out[16..32], &tail[..]);
    }

    #[test]
    fn cdb_assembly_buffer_too_small() {
        let bhs_cdb = [0u8; 16];
        assert_eq!(
            assemble_cdb(&bhs_cdb, Some(&[1, 2]), &mut [0u8; 17]),
            Err(PduError::BufferTooSmall { need: 18, have: 17 })
        );
        assert!(assemble_cdb(&bhs_cdb, None, &mut [0u8; 15]).is_err());
    }

    #[test]
    fn cdb_from_command_pdu_with_ahs() {
        // A 32-byte CDB sent as BHS (16) + Extended CDB AHS (16 + 1 + 3 = 20 bytes).
        let cdb: Vec<u8> = (0..32u8).collect();
        let mut ahs = [0u8; 32];
        let n = encode_extended_cdb_ahs(&cdb[16..], &mut ahs).unwrap();
        assert_eq!(n, 20);
        let cmd = ScsiCommand {
            immediate: false,
            final_bit: true,
            read: true,
            write: false,
            attr: TaskAttr::Simple,
            total_ahs_len: (n / 4) as u8,
            data_segment_len: 0,
            lun: 0,
            itt: 1,
            expected_data_len: 512,
            cmd_sn: 1,
            exp_stat_sn: 1,
            cdb: cdb[..16].try_into().unwrap(),
        };
        let mut bhs = [0u8; BHS_LEN];
        cmd.encode(&mut bhs);
        let l = layout(&bhs, false, false, 8192).unwrap();
        assert_eq!(l.ahs_len, 20);
        let parsed = parse_ahs(&ahs[..l.ahs_len]).unwrap();
        let mut full = [0u8; MAX_CDB_LEN];
        let len = assemble_cdb(&cmd.cdb, parsed.extended_cdb, &mut full).unwrap();
        assert_eq!(&full[..len], &cdb[..]);
    }

    // ---- sense and reject data segments ----------------------------------

    #[test]
    fn sense_segment_build() {
        let sense = [
            0x70, 0, 0x05, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0,
        ];
        let mut out = [0u8; 64];
        let n = build_sense_segment(&sense, &mut out).unwrap();
        assert_eq!(n, 20);
        assert_eq!(&out[..2], &[0x00, 0x12]);
        assert_eq!(&out[2..20], &sense);
        assert_eq!(pad_len(n), 0);
    }

    #[test]
    fn sense_segment_round_trip() {
        let sense = [0x72, 0x06, 0x29, 0x00, 0, 0, 0, 0];
        let mut out = [0u8; 16];
        let n = build_sense_segment(&sense, &mut out).unwrap();
        let s = parse_sense_segment(&out[..n]).unwrap();
        assert_eq!(s.sense, &sense);
        assert!(s.response_data.is_empty());
    }

    #[test]
    fn sense_segment_with_response_data() {
        let seg = [0x00, 0x02, 0xaa, 0xbb, 0xcc, 0xdd];
        let s = parse_sense_segment(&seg).unwrap();
        assert_eq!(s.sense, &[0xaa, 0xbb]);
        assert_eq!(s.response_data, &[0xcc, 0xdd]);
    }

    #[test]
    fn sense_segment_empty_and_zero() {
        let s = parse_sense_segment(&[]).unwrap();
        assert!(s.sense.is_empty() && s.response_data.is_empty());
        let s = parse_sense_segment(&[0, 0]).unwrap();
        assert!(s.sense.is_empty());
        let mut out = [0u8; 2];
        assert_eq!(build_sense_segment(&[], &mut out), Ok(2));
        assert_eq!(out, [0, 0]);
    }

    #[test]
    fn sense_segment_errors() {
        assert_eq!(parse_sense_segment(&[0x00]), Err(PduError::SegmentTooShort));
        assert_eq!(
            parse_sense_segment(&[0x00, 0x03, 1, 2]),
            Err(PduError::SenseTruncated {
                sense_len: 3,
                available: 2
            })
        );
        assert_eq!(
            build_sense_segment(&[1, 2, 3], &mut [0u8; 4]),
            Err(PduError::BufferTooSmall { need: 5, have: 4 })
        );
        let big = vec![0u8; 65536];
        let mut out = vec![0u8; 65538];
        assert_eq!(
            build_sense_segment(&big, &mut out),
            Err(PduError::FieldTooLarge)
        );
        assert_eq!(build_sense_segment(&big[..65535], &mut out), Ok(65537));
    }

    #[test]
    fn reject_data_round_trip() {
        let rejected = hx(READ10);
        let mut out = [0u8; 64];
        assert_eq!(build_reject_data(&rejected, &mut out), Ok(48));
        assert_eq!(parse_reject_data(&out[..48]), Ok(&rejected));
        assert_eq!(
            parse_reject_data(&out[..47]),
            Err(PduError::SegmentTooShort)
        );
        assert!(build_reject_data(&rejected, &mut [0u8; 47]).is_err());
    }

    #[test]
    fn reject_for_sets_dsl_48() {
        let r = reject_for(RejectReason::CommandNotSupported, 1, 2, 3, 0);
        assert_eq!(r.data_segment_len, 48);
        assert_eq!(r.total_ahs_len, 0);
        let mut b = [0u8; BHS_LEN];
        r.encode(&mut b);
        assert_eq!(data_segment_len(&b), 48);
        assert_eq!(b[2], 0x05);
    }

    // ---- which bits each PDU carries (RFC 7143 section 11 figures) --------

    /// (first byte, end byte, meaningful bit mask, forced bits) per opcode:
    /// encode(decode(b)) must equal (b & mask) | forced, byte by byte.
    fn bit_spec(op: Opcode) -> Vec<(usize, usize, u8, u8)> {
        let mut v = match op {
            Opcode::NopOut => vec![(0, 1, 0x7f, 0), (1, 2, 0, 0x80), (4, 32, 0xff, 0)],
            Opcode::ScsiCommand => vec![(0, 1, 0x7f, 0), (1, 2, 0xe7, 0), (4, 48, 0xff, 0)],
            Opcode::TaskMgmtRequest => {
                vec![(0, 1, 0x7f, 0), (1, 2, 0x7f, 0x80), (4, 40, 0xff, 0)]
            }
            Opcode::LoginRequest => vec![
                (0, 1, 0x3f, 0x40),
                (1, 2, 0xcf, 0),
                (2, 22, 0xff, 0),
                (24, 32, 0xff, 0),
            ],
            Opcode::TextRequest => vec![(0, 1, 0x7f, 0), (1, 2, 0xc0, 0), (4, 32, 0xff, 0)],
            Opcode::DataOut => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0x80, 0),
                (4, 24, 0xff, 0),
                (28, 32, 0xff, 0),
                (36, 44, 0xff, 0),
            ],
            Opcode::LogoutRequest => vec![
                (0, 1, 0x7f, 0),
                (1, 2, 0x7f, 0x80),
                (4, 8, 0xff, 0),
                (16, 22, 0xff, 0),
                (24, 32, 0xff, 0),
            ],
            Opcode::SnackRequest => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0x0f, 0x80),
                (4, 24, 0xff, 0),
                (28, 32, 0xff, 0),
                (40, 48, 0xff, 0),
            ],
            Opcode::NopIn => vec![(0, 1, 0x3f, 0), (1, 2, 0, 0x80), (4, 36, 0xff, 0)],
            Opcode::ScsiResponse => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0x1e, 0x80),
                (2, 8, 0xff, 0),
                (16, 48, 0xff, 0),
            ],
            Opcode::TaskMgmtResponse => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0, 0x80),
                (2, 3, 0xff, 0),
                (4, 8, 0xff, 0),
                (16, 20, 0xff, 0),
                (24, 39, 0xff, 0),
            ],
            Opcode::LoginResponse => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0xcf, 0),
                (2, 20, 0xff, 0),
                (24, 38, 0xff, 0),
            ],
            Opcode::TextResponse => vec![(0, 1, 0x3f, 0), (1, 2, 0xc0, 0), (4, 36, 0xff, 0)],
            Opcode::DataIn => vec![(0, 1, 0x3f, 0), (1, 2, 0xc7, 0), (3, 48, 0xff, 0)],
            Opcode::LogoutResponse => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0, 0x80),
                (2, 3, 0xff, 0),
                (4, 8, 0xff, 0),
                (16, 20, 0xff, 0),
                (24, 36, 0xff, 0),
                (40, 44, 0xff, 0),
            ],
            Opcode::R2t => vec![(0, 1, 0x3f, 0), (1, 2, 0, 0x80), (4, 48, 0xff, 0)],
            Opcode::AsyncMessage => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0, 0x80),
                (4, 16, 0xff, 0),
                (16, 20, 0, 0xff),
                (24, 44, 0xff, 0),
            ],
            Opcode::Reject => vec![
                (0, 1, 0x3f, 0),
                (1, 2, 0, 0x80),
                (2, 3, 0xff, 0),
                (4, 8, 0xff, 0),
                (16, 20, 0, 0xff),
                (24, 40, 0xff, 0),
            ],
        };
        v.sort_unstable();
        v
    }

    fn expected_reencode(op: Opcode, b: &[u8; BHS_LEN]) -> [u8; BHS_LEN] {
        let mut want = [0u8; BHS_LEN];
        for (s, e, mask, forced) in bit_spec(op) {
            for i in s..e {
                want[i] = (b[i] & mask) | forced;
            }
        }
        want
    }

    #[test]
    fn bit_spec_all_ones() {
        // With every input bit set, re-encoding shows exactly the RFC fields.
        for op in Opcode::ALL {
            let mut b = [0xffu8; BHS_LEN];
            b[0] = 0xc0 | op.to_u8();
            let p = Pdu::decode(&b).unwrap();
            assert_eq!(enc(&p), expected_reencode(op, &b), "{op:?}");
        }
    }

    #[test]
    fn bit_spec_all_zeros() {
        for op in Opcode::ALL {
            let mut b = [0u8; BHS_LEN];
            b[0] = op.to_u8();
            let p = Pdu::decode(&b).unwrap();
            assert_eq!(enc(&p), expected_reencode(op, &b), "{op:?}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics_and_round_trips(bytes in proptest::array::uniform32(any::<u8>()),
                                               tail in proptest::array::uniform16(any::<u8>())) {
            let mut b = [0u8; BHS_LEN];
            b[..32].copy_from_slice(&bytes);
            b[32..].copy_from_slice(&tail);
            if let Ok(p) = Pdu::decode(&b) {
                let e = enc(&p);
                prop_assert_eq!(Pdu::decode(&e), Ok(p));
                prop_assert_eq!(enc(&Pdu::decode(&e).unwrap()), e);
            }
            let _ = Pdu::decode_request(&b);
        }

        #[test]
        fn reencode_keeps_exactly_rfc_fields(op_idx in 0usize..18,
                                             bytes in proptest::array::uniform32(any::<u8>()),
                                             tail in proptest::array::uniform16(any::<u8>())) {
            let op = Opcode::ALL[op_idx];
            let mut b = [0u8; BHS_LEN];
            b[..32].copy_from_slice(&bytes);
            b[32..].copy_from_slice(&tail);
            b[0] = (b[0] & 0xc0) | op.to_u8();
            let p = Pdu::decode(&b).unwrap();
            prop_assert_eq!(p.opcode(), op);
            prop_assert_eq!(enc(&p), expected_reencode(op, &b));
        }

        #[test]
        fn decode_request_only_initiator_pdus(bytes in proptest::array::uniform32(any::<u8>())) {
            let mut b = [0u8; BHS_LEN];
            b[..32].copy_from_slice(&bytes);
            match Pdu::decode_request(&b) {
                Ok(p) => prop_assert!(p.opcode().is_initiator()),
                Err(e) => prop_assert!(matches!(
                    e,
                    PduError::UnknownOpcode(_) | PduError::TargetOpcode(_)
                )),
            }
        }

        #[test]
        fn layout_invariants(w in any::<u8>(), dsl in 0u32..=MAX_DATA_SEGMENT_LEN,
                             hd in any::<bool>(), dd in any::<bool>(), max in any::<u32>()) {
            let b = bhs_with(w, dsl);
            match layout(&b, hd, dd, max) {
                Ok(l) => {
                    prop_assert!(dsl <= max);
                    prop_assert_eq!(l.ahs_len, usize::from(w) * 4);
                    prop_assert_eq!(l.data_len, dsl as usize);
                    prop_assert_eq!((l.data_len + l.pad_len) % 4, 0);
                    prop_assert!(l.pad_len < 4);
                    prop_assert_eq!(l.header_digest_len, if hd { 4 } else { 0 });
                    prop_assert_eq!(l.data_digest_len, if dd && dsl > 0 { 4 } else { 0 });
                    prop_assert_eq!(l.total_len() % 4, 0);
                    prop_assert_eq!(
                        l.total_len(),
                        48 + l.ahs_len + l.header_digest_len + l.data_len + l.pad_len
                            + l.data_digest_len
                    );
                }
                Err(e) => {
                    prop_assert!(dsl > max);
                    prop_assert_eq!(e, PduError::DataSegmentTooLong { len: dsl, max });
                }
            }
        }

        #[test]
        fn parse_ahs_never_panics(area in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(a) = parse_ahs(&area) {
                if let Some(c) = a.extended_cdb {
                    prop_assert!(!c.is_empty() && c.len() < area.len());
                }
            }
        }

        #[test]
        fn ahs_round_trip(tail in proptest::collection::vec(any::<u8>(), 1..300),
                          edtl in proptest::option::of(any::<u32>())) {
            let mut area = [0u8; MAX_AHS_LEN];
            let mut n = encode_extended_cdb_ahs(&tail, &mut area).unwrap();
            if let Some(e) = edtl {
                n += encode_bidi_read_edtl_ahs(e, &mut area[n..]).unwrap();
            }
            prop_assert_eq!(n % 4, 0);
            let a = parse_ahs(&area[..n]).unwrap();
            prop_assert_eq!(a.extended_cdb, Some(&tail[..]));
            prop_assert_eq!(a.bidi_read_edtl, edtl);
            let mut cdb = [0u8; MAX_CDB_LEN];
            let len = assemble_cdb(&[0x7f; 16], a.extended_cdb, &mut cdb).unwrap();
            prop_assert_eq!(len, 16 + tail.len());
            prop_assert_eq!(&cdb[16..len], &tail[..]);
        }

        #[test]
        fn sense_round_trip(sense in proptest::collection::vec(any::<u8>(), 0..260),
                            extra in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut out = vec![0u8; 300];
            let n = build_sense_segment(&sense, &mut out).unwrap();
            prop_assert_eq!(n, sense.len() + 2);
            out.truncate(n);
            out.extend(&extra);
            let s = parse_sense_segment(&out).unwrap();
            prop_assert_eq!(s.sense, &sense[..]);
            prop_assert_eq!(s.response_data, &extra[..]);
        }

        #[test]
        fn sense_parse_never_panics(seg in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(s) = parse_sense_segment(&seg) {
                prop_assert!(s.sense.len() + s.response_data.len() + 2 <= seg.len().max(2));
            }
        }
    }
}
