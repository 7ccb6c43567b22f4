// SPDX-License-Identifier: GPL-2.0

//! Data-transfer sequencing of the iSCSI full feature phase (RFC 7143).
//!
//! Pure state machines for moving the data of one SCSI command: no PDU
//! parsing (the codec hands over plain field values), no buffers, no time.
//!
//! - [`WriteXfer`]: the target side of a write (Data-Out reception, RFC 7143
//!   sections 11.3, 11.7, 11.8, 13.10-13.19): validates immediate data, tracks the
//!   unsolicited burst, issues R2Ts and checks every Data-Out PDU.
//! - [`DataInPlan`]: segmentation of read data into Data-In PDUs (11.7).
//! - [`residual`] / [`bidi_residual`]: the U/O and u/o bits and residual
//!   counts of the SCSI Response and of a status-carrying Data-In (11.4.5).
//!
//! # Session assumptions (documented choices)
//!
//! - `DataPDUInOrder=Yes` and `DataSequenceInOrder=Yes`: the target always
//!   offers Yes and the result function is OR, so the session always runs
//!   with Yes (RFC 7143 13.18, 13.19). Inside one sequence (one R2T or the
//!   unsolicited burst) each Data-Out must start exactly where the previous
//!   one ended. R2Ts are issued in increasing buffer offset order. When more
//!   than one R2T is outstanding, PDUs of different outstanding R2Ts may be
//!   interleaved (SCST accepts this, LIO does not); every byte still lands
//!   in exactly one sequence, so nothing is weakened.
//! - `ErrorRecoveryLevel=0`: there is no recovery R2T, no SNACK and no
//!   within-command recovery (RFC 7143 section 7); R2T retransmission belongs
//!   to ERL 1 and is out of scope. A SNACK at ERL 0 is rejected with reason
//!   0x04 "Protocol Error", as LIO does ([`snack_at_erl0`]).
//! - The A bit of Data-In is never set (it is for ERL >= 1).
//!
//! # What the target does on an error ([`XferError::action`])
//!
//! - A bad SCSI Command PDU (immediate data not allowed or too long, F=0 with
//!   no unsolicited burst possible): [`ErrorAction::Reject`] the command PDU
//!   with reason 0x04 "Protocol Error" (LIO does the same). The task is never
//!   created; any unsolicited Data-Out that follows for that ITT is discarded
//!   by the caller like data for an unknown task.
//! - A bad Data-Out PDU (wrong TTT, DataSN, buffer offset, length, F bit,
//!   data past the burst or past EDTL): [`ErrorAction::RejectAndDrop`]. The
//!   Reject carries 0x09 "Invalid PDU field" for a field that describes the
//!   transfer (TTT, DataSN, buffer offset: the examples RFC 7143 11.17.1
//!   gives) and 0x04 "Protocol Error" for a broken negotiated limit or F bit.
//!   Then the connection is dropped: at ERL 0 a hole in a sequence cannot be
//!   refilled (no recovery R2T), DataPDUInOrder=Yes forbids placing later
//!   data, and the only recovery the initiator has is session recovery. LIO
//!   also fails the connection on DataSN gaps, offset mismatches, wrong F
//!   bits and burst overruns (`DATAOUT_CANNOT_RECOVER`), and rejects data
//!   past EDTL; old SCST closed the connection on data past the buffer. The
//!   alternative RFC 7143 section 7 allows for digest errors (swallow every remaining PDU, then end
//!   the task with CHECK CONDITION) gains nothing at ERL 0 and would require
//!   trusting the broken sender to close its sequences; it is not used.
//! - After an error the [`WriteXfer`] is dead: every later call fails with
//!   [`XferError::TransferFailed`] and it never reports completion.
//!
//! # Overflow and underflow
//!
//! An initiator that sends more data than EDTL is caught by
//! [`XferError::BeyondEdtl`] (and a Data-Out after the last sequence closed
//! by [`XferError::UnknownTtt`] / [`XferError::UnexpectedUnsolicited`]).
//! When the CDB's transfer length differs from EDTL, the SCSI layer decides;
//! [`WriteXfer::set_wanted_len`] stops soliciting at what the device wants
//! (never beyond EDTL: the initiator will not send more), [`data_in_len`]
//! caps read data at EDTL, and [`residual`] gives the numbers for the
//! response.

/// The reserved Target Transfer Tag: unsolicited Data-Out carries it, and a
/// target never puts it in an R2T (RFC 7143 11.7, 11.8).
pub const RESERVED_TTT: u32 = 0xffff_ffff;

/// Most R2Ts one [`WriteXfer`] keeps outstanding, whatever MaxOutstandingR2T
/// says. Issuing fewer than negotiated is allowed ("at most"); the bound keeps
/// the state fixed-size.
pub const MAX_TRACKED_R2TS: usize = 16;

/// Smallest legal MaxRecvDataSegmentLength, MaxBurstLength and
/// FirstBurstLength (RFC 7143 13.12-13.14).
pub const MIN_LENGTH_PARAM: u32 = 512;

/// Largest legal MaxRecvDataSegmentLength, MaxBurstLength and
/// FirstBurstLength: 2**24 - 1 (RFC 7143 13.12-13.14).
pub const MAX_LENGTH_PARAM: u32 = (1 << 24) - 1;

/// Largest legal MaxOutstandingR2T (RFC 7143 13.17).
pub const MAX_OUTSTANDING_R2T_PARAM: u32 = 65535;

/// Data-In flags byte: F, the last PDU of a sequence (RFC 7143 11.7).
pub const DATA_IN_F: u8 = 0x80;
/// Data-In flags byte: A, acknowledge request (ERL >= 1 only; never set here).
pub const DATA_IN_A: u8 = 0x40;
/// Data-In flags byte: O, residual overflow (valid only with S).
pub const DATA_IN_O: u8 = 0x04;
/// Data-In flags byte: U, residual underflow (valid only with S).
pub const DATA_IN_U: u8 = 0x02;
/// Data-In flags byte: S, status is carried in this PDU.
pub const DATA_IN_S: u8 = 0x01;

/// SCSI Response flags byte: o, bidirectional read residual overflow
/// (RFC 7143 11.4.1).
pub const RESP_BIDI_O: u8 = 0x10;
/// SCSI Response flags byte: u, bidirectional read residual underflow.
pub const RESP_BIDI_U: u8 = 0x08;
/// SCSI Response flags byte: O, residual overflow.
pub const RESP_O: u8 = 0x04;
/// SCSI Response flags byte: U, residual underflow.
pub const RESP_U: u8 = 0x02;

/// The Reject reasons this module asks for: 0x04 Protocol Error (a
/// negotiated rule or limit was broken) and 0x09 Invalid PDU Field (a field
/// describing the transfer has a wrong value), RFC 7143 11.17.1.
pub use super::pdu::RejectReason;

/// What the target does about an [`XferError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorAction {
    /// Send a Reject with this reason (carrying the offending header); the
    /// connection stays up. For a SCSI Command PDU the task is not created.
    Reject(RejectReason),
    /// Send a Reject with this reason, then drop the connection (ERL 0: the
    /// task cannot complete; the initiator recovers the session).
    RejectAndDrop(RejectReason),
    /// Drop the connection without a further Reject (the transfer already
    /// failed and a Reject was already asked for).
    Drop,
    /// Not caused by the wire: the caller passed parameters outside RFC 7143
    /// ranges (a negotiation bug). Refuse the command internally.
    Internal,
}

/// A data-transfer error. See the module documentation for the policy;
/// [`XferError::action`] gives the target's reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XferError {
    /// [`XferParams`] or [`DataInPlan`] parameters are outside RFC 7143 ranges.
    InvalidParams,
    /// The command carries immediate data but ImmediateData=No.
    ImmediateDataNotAllowed {
        /// DataSegmentLength of the command.
        len: u32,
    },
    /// More immediate data than the Expected Data Transfer Length.
    ImmediateExceedsEdtl {
        /// DataSegmentLength of the command.
        len: u32,
        /// Expected Data Transfer Length.
        edtl: u32,
    },
    /// More immediate data than FirstBurstLength.
    ImmediateExceedsFirstBurst {
        /// DataSegmentLength of the command.
        len: u32,
        /// Negotiated FirstBurstLength.
        first_burst: u32,
    },
    /// More immediate data than the target's MaxRecvDataSegmentLength.
    ImmediateExceedsSegment {
        /// DataSegmentLength of the command.
        len: u32,
        /// The target's MaxRecvDataSegmentLength.
        max: u32,
    },
    /// F=0 on a write command while InitialR2T=Yes: unsolicited Data-Out
    /// is not allowed.
    UnsolicitedNotAllowed,
    /// F=0 on a write command but immediate data already fills
    /// min(FirstBurstLength, EDTL): no unsolicited Data-Out can follow.
    NoUnsolicitedRoom,
    /// A Data-Out longer than the target's MaxRecvDataSegmentLength.
    SegmentTooLong {
        /// DataSegmentLength of the Data-Out.
        len: u32,
        /// The target's MaxRecvDataSegmentLength.
        max: u32,
    },
    /// A Data-Out reaching past EDTL: the initiator sends more than it
    /// announced (overflow).
    BeyondEdtl {
        /// Buffer Offset of the Data-Out.
        offset: u32,
        /// DataSegmentLength of the Data-Out.
        len: u32,
        /// Expected Data Transfer Length.
        edtl: u32,
    },
    /// An unsolicited Data-Out (TTT 0xffffffff) when none is expected:
    /// InitialR2T=Yes, the command had F=1, or the burst already ended.
    UnexpectedUnsolicited,
    /// A TTT that names no outstanding R2T of this command.
    UnknownTtt {
        /// The Target Transfer Tag received.
        ttt: u32,
    },
    /// DataSN is not the next one of its sequence.
    DataSnMismatch {
        /// The DataSN the sequence expects.
        expected: u32,
        /// The DataSN received.
        got: u32,
    },
    /// Buffer Offset is not where the sequence continues (a gap, an overlap
    /// or a reordering: DataPDUInOrder=Yes).
    OffsetMismatch {
        /// The offset the sequence expects.
        expected: u32,
        /// The offset received.
        got: u32,
    },
    /// The Data-Out runs past the end of its sequence (R2T desired length or
    /// the unsolicited burst).
    BeyondBurst {
        /// Buffer Offset of the Data-Out.
        offset: u32,
        /// DataSegmentLength of the Data-Out.
        len: u32,
        /// End offset (exclusive) of the sequence.
        burst_end: u32,
    },
    /// F=1 before the end of the sequence.
    FinalTooEarly {
        /// End offset of the Data-Out.
        end: u32,
        /// End offset (exclusive) of the sequence.
        burst_end: u32,
    },
    /// The Data-Out ends the sequence but F=0.
    FinalMissing {
        /// End offset (exclusive) of the sequence.
        burst_end: u32,
    },
    /// The transfer already failed; nothing more is accepted.
    TransferFailed,
}

impl XferError {
    /// What the target does (see the module documentation for why).
    pub const fn action(self) -> ErrorAction {
        use RejectReason::{InvalidPduField, ProtocolError};
        match self {
            Self::InvalidParams => ErrorAction::Internal,
            Self::ImmediateDataNotAllowed { .. }
            | Self::ImmediateExceedsEdtl { .. }
            | Self::ImmediateExceedsFirstBurst { .. }
            | Self::ImmediateExceedsSegment { .. }
            | Self::UnsolicitedNotAllowed
            | Self::NoUnsolicitedRoom => ErrorAction::Reject(ProtocolError),
            Self::BeyondEdtl { .. }
            | Self::UnknownTtt { .. }
            | Self::DataSnMismatch { .. }
            | Self::OffsetMismatch { .. } => ErrorAction::RejectAndDrop(InvalidPduField),
            Self::SegmentTooLong { .. }
            | Self::UnexpectedUnsolicited
            | Self::BeyondBurst { .. }
            | Self::FinalTooEarly { .. }
            | Self::FinalMissing { .. } => ErrorAction::RejectAndDrop(ProtocolError),
            Self::TransferFailed => ErrorAction::Drop,
        }
    }

    /// The Reject reason to send, if any.
    pub const fn reject_reason(self) -> Option<RejectReason> {
        match self.action() {
            ErrorAction::Reject(r) | ErrorAction::RejectAndDrop(r) => Some(r),
            ErrorAction::Drop | ErrorAction::Internal => None,
        }
    }

    /// Whether the connection must be dropped.
    pub const fn drops_connection(self) -> bool {
        matches!(
            self.action(),
            ErrorAction::RejectAndDrop(_) | ErrorAction::Drop
        )
    }
}

/// What the target does with a SNACK Request at ErrorRecoveryLevel 0: reject
/// it with 0x04 "Protocol Error" and keep the connection (SNACK exists only
/// for ERL >= 1, RFC 7143 11.16; LIO uses the same reason). The target never
/// offers ERL > 0, so SNACK support is out of scope.
pub const fn snack_at_erl0() -> ErrorAction {
    ErrorAction::Reject(RejectReason::ProtocolError)
}

/// The negotiated session and connection parameters that shape a write.
///
/// DataPDUInOrder and DataSequenceInOrder are not fields: the target always
/// negotiates them to Yes (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XferParams {
    /// InitialR2T (RFC 7143 13.10): Yes forbids unsolicited Data-Out.
    pub initial_r2t: bool,
    /// ImmediateData (13.11): Yes allows data in the SCSI Command PDU.
    pub immediate_data: bool,
    /// FirstBurstLength (13.14): limit of all unsolicited data, immediate
    /// data included.
    pub first_burst_length: u32,
    /// MaxBurstLength (13.13): limit of one solicited sequence (R2T).
    pub max_burst_length: u32,
    /// MaxOutstandingR2T (13.17): R2Ts outstanding per task.
    pub max_outstanding_r2t: u32,
    /// The target's declared MaxRecvDataSegmentLength (13.12): limit of the
    /// data segment of every PDU the initiator sends.
    pub target_mrdsl: u32,
}

impl XferParams {
    /// The RFC 7143 defaults: InitialR2T=Yes, ImmediateData=Yes,
    /// FirstBurstLength=65536, MaxBurstLength=262144, MaxOutstandingR2T=1,
    /// MaxRecvDataSegmentLength=8192.
    pub const DEFAULT: Self = Self {
        initial_r2t: true,
        immediate_data: true,
        first_burst_length: 65536,
        max_burst_length: 262_144,
        max_outstanding_r2t: 1,
        target_mrdsl: 8192,
    };

    /// Checks the RFC 7143 ranges: lengths in 512..=2**24-1,
    /// FirstBurstLength <= MaxBurstLength (only when relevant, i.e. unless
    /// InitialR2T=Yes and ImmediateData=No), MaxOutstandingR2T in 1..=65535.
    pub const fn validate(&self) -> Result<(), XferError> {
        if !len_ok(self.target_mrdsl) || !len_ok(self.max_burst_length) {
            return Err(XferError::InvalidParams);
        }
        if self.max_outstanding_r2t == 0 || self.max_outstanding_r2t > MAX_OUTSTANDING_R2T_PARAM {
            return Err(XferError::InvalidParams);
        }
        let fbl_relevant = !self.initial_r2t || self.immediate_data;
        if fbl_relevant
            && (!len_ok(self.first_burst_length) || self.first_burst_length > self.max_burst_length)
        {
            return Err(XferError::InvalidParams);
        }
        Ok(())
    }
}

/// Whether a length parameter is in RFC 7143's 512..=2**24-1.
const fn len_ok(v: u32) -> bool {
    v >= MIN_LENGTH_PARAM && v <= MAX_LENGTH_PARAM
}

impl Default for XferParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A Ready To Transfer to send (RFC 7143 11.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct R2t {
    /// Target Transfer Tag; never [`RESERVED_TTT`].
    pub ttt: u32,
    /// R2TSN, counting from 0 per command.
    pub r2t_sn: u32,
    /// Buffer Offset of the solicited data.
    pub buffer_offset: u32,
    /// Desired Data Transfer Length: 1..=MaxBurstLength.
    pub desired_len: u32,
}

/// What an accepted Data-Out did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The sequence goes on.
    Continue,
    /// The PDU closed its sequence (the unsolicited burst or an R2T); call
    /// [`WriteXfer::next_r2t`] for more R2Ts.
    SequenceDone,
    /// Every byte has arrived: the command can be executed.
    Complete,
}

/// One data sequence being received: the unsolicited burst or one R2T.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seq {
    ttt: u32,
    end: u32,
    next_offset: u32,
    next_data_sn: u32,
}

impl Seq {
    const fn new(ttt: u32, start: u32, end: u32) -> Self {
        Self {
            ttt,
            end,
            next_offset: start,
            next_data_sn: 0,
        }
    }
}

/// TTT number `sn` of a command whose tags start at `base`: counts modulo
/// 2**32 - 1, so it is never 0xffffffff and distinct for 2**32 - 1 values.
fn derive_ttt(base: u32, sn: u32) -> u32 {
    let t = (u64::from(base) + u64::from(sn)) % u64::from(RESERVED_TTT);
    // `t < RESERVED_TTT`, so the conversion never fails.
    u32::try_from(t).unwrap_or(0)
}

/// Target side of one command's write data (Data-Out reception).
///
/// Regions of `[0, EDTL)`: immediate data `[0, immediate_len)`, then the
/// unsolicited Data-Out burst `[immediate_len, unsolicited_end)` (only when
/// InitialR2T=No and the command had F=0), then R2T-solicited data up to the
/// wanted length (EDTL unless [`WriteXfer::set_wanted_len`] lowered it).
/// R2Ts are issued only after the unsolicited burst ended, like LIO and SCST.
#[derive(Clone, Debug)]
pub struct WriteXfer {
    edtl: u32,
    immediate_len: u32,
    unsolicited_end: u32,
    wanted_end: u32,
    next_r2t_offset: u32,
    next_r2t_sn: u32,
    ttt_base: u32,
    max_outstanding: usize,
    max_burst: u32,
    mrdsl: u32,
    received: u32,
    unsolicited: Option<Seq>,
    r2ts: [Option<Seq>; MAX_TRACKED_R2TS],
    failed: bool,
}

impl WriteXfer {
    /// Starts a write: `edtl` is the command's Expected Data Transfer Length
    /// (for a bidirectional command, the write part), `immediate_len` its
    /// DataSegmentLength, `command_final` its F bit. Errors reject the
    /// command PDU ([`XferError::action`]).
    pub fn new(
        edtl: u32,
        immediate_len: u32,
        command_final: bool,
        params: &XferParams,
    ) -> Result<Self, XferError> {
        params.validate()?;
        if immediate_len > 0 && !params.immediate_data {
            return Err(XferError::ImmediateDataNotAllowed { len: immediate_len });
        }
        if immediate_len > edtl {
            return Err(XferError::ImmediateExceedsEdtl {
                len: immediate_len,
                edtl,
            });
        }
        if immediate_len > params.target_mrdsl {
            return Err(XferError::ImmediateExceedsSegment {
                len: immediate_len,
                max: params.target_mrdsl,
            });
        }
        if immediate_len > params.first_burst_length {
            return Err(XferError::ImmediateExceedsFirstBurst {
                len: immediate_len,
                first_burst: params.first_burst_length,
            });
        }
        let mut unsolicited = None;
        let mut unsolicited_end = immediate_len;
        if !command_final {
            if params.initial_r2t {
                return Err(XferError::UnsolicitedNotAllowed);
            }
            let end = if edtl < params.first_burst_length {
                edtl
            } else {
                params.first_burst_length
            };
            if end <= immediate_len {
                return Err(XferError::NoUnsolicitedRoom);
            }
            unsolicited = Some(Seq::new(RESERVED_TTT, immediate_len, end));
            unsolicited_end = end;
        }
        let max_outstanding = match usize::try_from(params.max_outstanding_r2t) {
            Ok(n) if n < MAX_TRACKED_R2TS => n,
            _ => MAX_TRACKED_R2TS,
        };
        Ok(Self {
            edtl,
            immediate_len,
            unsolicited_end,
            wanted_end: edtl,
            next_r2t_offset: unsolicited_end,
            next_r2t_sn: 0,
            ttt_base: 0,
            max_outstanding,
            max_burst: params.max_burst_length,
            mrdsl: params.target_mrdsl,
            received: immediate_len,
            unsolicited,
            r2ts: [None; MAX_TRACKED_R2TS],
            failed: false,
        })
    }

    /// Sets the first TTT: R2T number n gets `(base + n) mod (2**32 - 1)`,
    /// never 0xffffffff. Use a per-connection counter if TTTs must be unique
    /// across commands; within one command they always are.
    #[must_use]
    pub fn with_ttt_base(mut self, base: u32) -> Self {
        self.ttt_base = base;
        self
    }

    /// Lowers the amount of data to solicit to what the device wants when
    /// the CDB asks for less than EDTL (an underflow; the residual is the
    /// SCSI layer's, see [`residual`]). Never raises it above EDTL and never
    /// below data already solicited or sent unsolicited. Returns the new end.
    pub fn set_wanted_len(&mut self, wanted: u32) -> u32 {
        let capped = if wanted < self.edtl {
            wanted
        } else {
            self.edtl
        };
        self.wanted_end = if capped < self.next_r2t_offset {
            self.next_r2t_offset
        } else {
            capped
        };
        self.wanted_end
    }

    /// Handles one Data-Out PDU of this command, given its Target Transfer
    /// Tag, DataSN, Buffer Offset, DataSegmentLength and F bit.
    pub fn on_data_out(
        &mut self,
        ttt: u32,
        data_sn: u32,
        buffer_offset: u32,
        len: u32,
        final_f: bool,
    ) -> Result<Progress, XferError> {
        if self.failed {
            return Err(XferError::TransferFailed);
        }
        let r = self.accept(ttt, data_sn, buffer_offset, len, final_f);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn accept(
        &mut self,
        ttt: u32,
        data_sn: u32,
        offset: u32,
        len: u32,
        final_f: bool,
    ) -> Result<Progress, XferError> {
        if len > self.mrdsl {
            return Err(XferError::SegmentTooLong {
                len,
                max: self.mrdsl,
            });
        }
        let end = match offset.checked_add(len) {
            Some(e) if e <= self.edtl => e,
            _ => {
                return Err(XferError::BeyondEdtl {
                    offset,
                    len,
                    edtl: self.edtl,
                })
            }
        };
        // None: the unsolicited burst; Some(i): R2T slot i.
        let slot = if ttt == RESERVED_TTT {
            if self.unsolicited.is_none() {
                return Err(XferError::UnexpectedUnsolicited);
            }
            None
        } else {
            let i = self
                .r2ts
                .iter()
                .position(|s| matches!(s, Some(s) if s.ttt == ttt))
                .ok_or(XferError::UnknownTtt { ttt })?;
            Some(i)
        };
        let seq = match slot {
            None => self.unsolicited.as_mut(),
            Some(i) => self.r2ts.get_mut(i).and_then(Option::as_mut),
        }
        .ok_or(XferError::UnknownTtt { ttt })?;
        if data_sn != seq.next_data_sn {
            return Err(XferError::DataSnMismatch {
                expected: seq.next_data_sn,
                got: data_sn,
            });
        }
        if offset != seq.next_offset {
            return Err(XferError::OffsetMismatch {
                expected: seq.next_offset,
                got: offset,
            });
        }
        if end > seq.end {
            return Err(XferError::BeyondBurst {
                offset,
                len,
                burst_end: seq.end,
            });
        }
        let at_end = end == seq.end;
        if final_f && !at_end {
            return Err(XferError::FinalTooEarly {
                end,
                burst_end: seq.end,
            });
        }
        if !final_f && at_end {
            return Err(XferError::FinalMissing { burst_end: seq.end });
        }
        seq.next_offset = end;
        // Zero-length PDUs could push DataSN round; serial arithmetic.
        seq.next_data_sn = seq.next_data_sn.wrapping_add(1);
        // Every accepted byte is a distinct byte of [0, EDTL): no overflow.
        self.received = self.received.saturating_add(len);
        if !at_end {
            return Ok(Progress::Continue);
        }
        match slot {
            None => self.unsolicited = None,
            Some(i) => {
                if let Some(s) = self.r2ts.get_mut(i) {
                    *s = None;
                }
            }
        }
        Ok(if self.is_complete() {
            Progress::Complete
        } else {
            Progress::SequenceDone
        })
    }

    /// The next R2T to send, if one may be sent now: none while the
    /// unsolicited burst is still arriving, at most min(MaxOutstandingR2T,
    /// [`MAX_TRACKED_R2TS`]) outstanding, each at most MaxBurstLength, in
    /// increasing offset order, R2TSN counting from 0. Call it in a loop
    /// after [`WriteXfer::new`] and after every [`Progress::SequenceDone`].
    pub fn next_r2t(&mut self) -> Option<R2t> {
        if self.failed || self.unsolicited.is_some() || self.next_r2t_offset >= self.wanted_end {
            return None;
        }
        if self.outstanding_r2ts() >= self.max_outstanding {
            return None;
        }
        let left = self.wanted_end.saturating_sub(self.next_r2t_offset);
        let desired_len = if left < self.max_burst {
            left
        } else {
            self.max_burst
        };
        let slot = self.r2ts.iter_mut().find(|s| s.is_none())?;
        let r2t_sn = self.next_r2t_sn;
        let ttt = derive_ttt(self.ttt_base, r2t_sn);
        let buffer_offset = self.next_r2t_offset;
        let end = buffer_offset.checked_add(desired_len)?;
        *slot = Some(Seq::new(ttt, buffer_offset, end));
        self.next_r2t_offset = end;
        self.next_r2t_sn = r2t_sn.wrapping_add(1);
        Some(R2t {
            ttt,
            r2t_sn,
            buffer_offset,
            desired_len,
        })
    }

    /// Whether every byte to be transferred arrived exactly once (and no
    /// error happened).
    pub fn is_complete(&self) -> bool {
        !self.failed
            && self.unsolicited.is_none()
            && self.outstanding_r2ts() == 0
            && self.next_r2t_offset >= self.wanted_end
    }

    /// Whether an error ended the transfer.
    pub const fn is_failed(&self) -> bool {
        self.failed
    }

    /// R2Ts sent whose sequence has not ended yet.
    pub fn outstanding_r2ts(&self) -> usize {
        self.r2ts.iter().flatten().count()
    }

    /// R2Ts sent so far (the next R2TSN). For a bidirectional command the
    /// Data-In DataSN continues from here (R2T and Data-In share the input
    /// PDU numbering, RFC 7143 11.8): see [`DataInPlan::with_first_data_sn`].
    pub const fn r2t_count(&self) -> u32 {
        self.next_r2t_sn
    }

    /// Bytes received so far, immediate data included.
    pub const fn received(&self) -> u32 {
        self.received
    }

    /// The command's Expected Data Transfer Length.
    pub const fn edtl(&self) -> u32 {
        self.edtl
    }

    /// Immediate data length (already received with the command).
    pub const fn immediate_len(&self) -> u32 {
        self.immediate_len
    }

    /// End of all unsolicited data (immediate plus unsolicited Data-Out):
    /// where solicited data starts.
    pub const fn unsolicited_end(&self) -> u32 {
        self.unsolicited_end
    }

    /// Whether unsolicited Data-Out PDUs are still expected.
    pub const fn awaiting_unsolicited(&self) -> bool {
        self.unsolicited.is_some()
    }

    /// Bytes the transfer will have moved when complete: EDTL, or less after
    /// [`WriteXfer::set_wanted_len`].
    pub const fn total_len(&self) -> u32 {
        self.wanted_end
    }
}

/// Bytes of read data to send: what the device produced, capped at the
/// (read) EDTL; the rest is an overflow residual ([`residual`]).
pub const fn data_in_len(edtl: u32, device_len: u64) -> u32 {
    if device_len < edtl as u64 {
        // Lossless: smaller than a u32.
        device_len as u32
    } else {
        edtl
    }
}

/// Whether status may ride in the last Data-In (S bit, RFC 7143 11.7):
/// only "good status" (GOOD 0x00, CONDITION MET 0x04,
/// INTERMEDIATE-CONDITION MET 0x14) and no sense data, which a Data-In cannot
/// carry. For bidirectional commands this module always answers no: a
/// Data-In has one residual field and the response must carry both the
/// write and the read residual, so a separate SCSI Response is sent
/// (always allowed: "targets MAY choose to send even non-exception status in
/// separate responses").
pub const fn status_in_data_in_allowed(status: u8, sense_len: usize, bidirectional: bool) -> bool {
    matches!(status, 0x00 | 0x04 | 0x14) && sense_len == 0 && !bidirectional
}

/// One Data-In PDU of a [`DataInPlan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataInSegment {
    /// Buffer Offset.
    pub offset: u32,
    /// DataSegmentLength (never 0).
    pub len: u32,
    /// DataSN.
    pub data_sn: u32,
    /// F: the last PDU of a sequence (MaxBurstLength bytes) and of the
    /// command.
    pub final_f: bool,
    /// S: status (and residual) ride in this PDU; only on the very last.
    pub status_s: bool,
}

impl DataInSegment {
    /// The flags byte: F, S and, with S only, the O/U bits of `residual`.
    /// A is never set (ERL 0).
    pub const fn flags(&self, residual: Residual) -> u8 {
        let mut f = 0;
        if self.final_f {
            f |= DATA_IN_F;
        }
        if self.status_s {
            f |= DATA_IN_S;
            if residual.overflow {
                f |= DATA_IN_O;
            }
            if residual.underflow {
                f |= DATA_IN_U;
            }
        }
        f
    }

    /// The Residual Count field: `residual.count` with S, otherwise 0.
    pub const fn residual_count(&self, residual: Residual) -> u32 {
        if self.status_s {
            residual.count
        } else {
            0
        }
    }
}

/// Segmentation of one command's read data into Data-In PDUs (RFC 7143
/// 11.7): each PDU at most the initiator's MaxRecvDataSegmentLength, each
/// sequence at most MaxBurstLength bytes and closed by F, DataSN counting on
/// across sequences, S only on the very last PDU when asked. Zero bytes give
/// no PDU (status then goes in a SCSI Response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataInPlan {
    total: u32,
    mrdsl: u32,
    max_burst: u32,
    status_in_last: bool,
    first_data_sn: u32,
    offset: u32,
    data_sn: u32,
    burst_left: u32,
}

impl DataInPlan {
    /// Plans `total_len` bytes. `initiator_mrdsl` is the MaxRecvDataSegmentLength
    /// the initiator declared, `max_burst_len` the session's MaxBurstLength;
    /// both must be in 512..=2**24-1. `status_in_last` sets S on the last
    /// PDU (check [`status_in_data_in_allowed`] first).
    pub const fn new(
        total_len: u32,
        initiator_mrdsl: u32,
        max_burst_len: u32,
        status_in_last: bool,
    ) -> Result<Self, XferError> {
        if initiator_mrdsl < MIN_LENGTH_PARAM
            || initiator_mrdsl > MAX_LENGTH_PARAM
            || max_burst_len < MIN_LENGTH_PARAM
            || max_burst_len > MAX_LENGTH_PARAM
        {
            return Err(XferError::InvalidParams);
        }
        Ok(Self {
            total: total_len,
            mrdsl: initiator_mrdsl,
            max_burst: max_burst_len,
            status_in_last,
            first_data_sn: 0,
            offset: 0,
            data_sn: 0,
            burst_left: 0,
        })
    }

    /// Starts DataSN at `first` instead of 0: for a bidirectional command,
    /// [`WriteXfer::r2t_count`] (R2T and Data-In share the numbering).
    #[must_use]
    pub const fn with_first_data_sn(mut self, first: u32) -> Self {
        // Only meaningful before iteration; keep the plan consistent anyway.
        self.data_sn = self
            .data_sn
            .wrapping_sub(self.first_data_sn)
            .wrapping_add(first);
        self.first_data_sn = first;
        self
    }

    /// Total bytes planned.
    pub const fn total_len(&self) -> u32 {
        self.total
    }

    /// Number of Data-In PDUs of the whole plan.
    pub const fn pdu_count(&self) -> u32 {
        let full = self.total / self.max_burst;
        let per_burst = self.max_burst.div_ceil(self.mrdsl);
        let rest = (self.total % self.max_burst).div_ceil(self.mrdsl);
        // At most total/1 PDUs, and full*per_burst <= total: no overflow.
        full.saturating_mul(per_burst).saturating_add(rest)
    }

    /// The DataSN the next PDU gets; after the last PDU, the first DataSN
    /// plus the PDU count (the input PDU number after this transfer).
    pub const fn next_data_sn(&self) -> u32 {
        self.data_sn
    }

    fn remaining_pdus(&self) -> u32 {
        if self.offset >= self.total {
            return 0;
        }
        let left = self.total.saturating_sub(self.offset);
        let in_burst = if self.burst_left < left {
            self.burst_left
        } else {
            left
        };
        let after = left.saturating_sub(in_burst);
        let rest = Self {
            total: after,
            ..self.clone()
        };
        in_burst
            .div_ceil(self.mrdsl)
            .saturating_add(rest.pdu_count())
    }
}

impl Iterator for DataInPlan {
    type Item = DataInSegment;

    fn next(&mut self) -> Option<DataInSegment> {
        if self.offset >= self.total {
            return None;
        }
        let left = self.total - self.offset;
        if self.burst_left == 0 {
            self.burst_left = if left < self.max_burst {
                left
            } else {
                self.max_burst
            };
        }
        let len = if self.burst_left < self.mrdsl {
            self.burst_left
        } else {
            self.mrdsl
        };
        self.burst_left -= len;
        let offset = self.offset;
        self.offset += len;
        let seg = DataInSegment {
            offset,
            len,
            data_sn: self.data_sn,
            final_f: self.burst_left == 0,
            status_s: self.status_in_last && self.offset == self.total,
        };
        self.data_sn = self.data_sn.wrapping_add(1);
        Some(seg)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining_pdus()).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

impl ExactSizeIterator for DataInPlan {}

impl core::iter::FusedIterator for DataInPlan {}

/// A residual (RFC 7143 11.4.5): underflow when fewer bytes moved than
/// expected, overflow when the device had more than EDTL allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Residual {
    /// U (or u): fewer bytes than EDTL were transferred.
    pub underflow: bool,
    /// O (or o): the device wanted more than EDTL.
    pub overflow: bool,
    /// Residual Count: |EDTL - actual|, saturated at 2**32-1; 0 when neither.
    pub count: u32,
}

impl Residual {
    /// No residual.
    pub const NONE: Self = Self {
        underflow: false,
        overflow: false,
        count: 0,
    };

    /// O/U bits of the SCSI Response flags byte (unidirectional, or the
    /// write part of a bidirectional command).
    pub const fn response_flags(self) -> u8 {
        (if self.overflow { RESP_O } else { 0 }) | (if self.underflow { RESP_U } else { 0 })
    }

    /// o/u bits of the SCSI Response flags byte (the read part of a
    /// bidirectional command).
    pub const fn bidi_read_flags(self) -> u8 {
        (if self.overflow { RESP_BIDI_O } else { 0 })
            | (if self.underflow { RESP_BIDI_U } else { 0 })
    }

    /// Whether there is a residual.
    pub const fn is_none(self) -> bool {
        !self.underflow && !self.overflow
    }
}

/// The residual of one direction: `edtl` is the Expected Data Transfer
/// Length, `actual` what the device transferred or expected (the CDB's
/// transfer length, or the bytes actually moved).
pub const fn residual(edtl: u32, actual: u64) -> Residual {
    let e = edtl as u64;
    if actual < e {
        Residual {
            underflow: true,
            overflow: false,
            // Lossless: e - actual <= edtl.
            count: (e - actual) as u32,
        }
    } else if actual > e {
        let d = actual - e;
        Residual {
            underflow: false,
            overflow: true,
            count: if d > u32::MAX as u64 {
                u32::MAX
            } else {
                d as u32
            },
        }
    } else {
        Residual::NONE
    }
}

/// Residuals of a bidirectional command: the Residual Count field and O/U
/// carry the write residual, Bidirectional Read Residual Count and o/u the
/// read residual (RFC 7143 11.4.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BidiResidual {
    /// Write residual: O/U and Residual Count.
    pub write: Residual,
    /// Read residual: o/u and Bidirectional Read Residual Count.
    pub read: Residual,
}

impl BidiResidual {
    /// The o/u/O/U bits of the SCSI Response flags byte.
    pub const fn response_flags(self) -> u8 {
        self.write.response_flags() | self.read.bidi_read_flags()
    }
}

/// Residuals of a bidirectional command from the write EDTL (the command's
/// EDTL field) and the read EDTL (the Bidirectional Read Expected Data
/// Transfer Length AHS) and what the device moved or expected each way.
pub const fn bidi_residual(
    write_edtl: u32,
    write_actual: u64,
    read_edtl: u32,
    read_actual: u64,
) -> BidiResidual {
    BidiResidual {
        write: residual(write_edtl, write_actual),
        read: residual(read_edtl, read_actual),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const KI: u32 = 1024;
    const MI: u32 = 1024 * 1024;

    fn params(
        initial_r2t: bool,
        immediate_data: bool,
        fbl: u32,
        mbl: u32,
        mor: u32,
        mrdsl: u32,
    ) -> XferParams {
        XferParams {
            initial_r2t,
            immediate_data,
            first_burst_length: fbl,
            max_burst_length: mbl,
            max_outstanding_r2t: mor,
            target_mrdsl: mrdsl,
        }
    }

    /// Small tiny-burst parameters used by the error-path tests:
    /// FBL 4096, MBL 8192, MRDSL 1024, InitialR2T=No, MOR 2.
    fn small() -> XferParams {
        params(false, true, 4096, 8192, 2, 1024)
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Pdu {
        ttt: u32,
        data_sn: u32,
        offset: u32,
        len: u32,
        final_f: bool,
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            // xorshift64*
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u32) -> u32 {
            u32::try_from(self.next() % u64::from(n.max(1))).unwrap()
        }
    }

    struct Active {
        ttt: u32,
        next: u32,
        end: u32,
        sn: u32,
    }

    struct Honest {
        pdus: Vec<Pdu>,
        r2ts: Vec<R2t>,
    }

    /// A compliant initiator: sends the unsolicited burst, then answers every
    /// R2T, with random PDU sizes (<= MRDSL, sometimes zero-length) and, if
    /// `interleave`, PDUs of outstanding R2Ts mixed.
    fn honest(
        x: &mut WriteXfer,
        cmd_final: bool,
        p: &XferParams,
        seed: u64,
        interleave: bool,
    ) -> Honest {
        let mut rng = Rng(seed | 1);
        let mut active: Vec<Active> = Vec::new();
        let mut out = Honest {
            pdus: Vec::new(),
            r2ts: Vec::new(),
        };
        if !cmd_final {
            let end = x.edtl().min(p.first_burst_length);
            active.push(Active {
                ttt: RESERVED_TTT,
                next: x.immediate_len(),
                end,
                sn: 0,
            });
        }
        let limit = usize::try_from(p.max_outstanding_r2t)
            .unwrap()
            .min(MAX_TRACKED_R2TS);
        loop {
            while let Some(r) = x.next_r2t() {
                assert!(x.outstanding_r2ts() <= limit);
                out.r2ts.push(r);
                active.push(Active {
                    ttt: r.ttt,
                    next: r.buffer_offset,
                    end: r.buffer_offset + r.desired_len,
                    sn: 0,
                });
            }
            if active.is_empty() {
                break;
            }
            let i = if interleave {
                usize::try_from(rng.below(u32::try_from(active.len()).unwrap())).unwrap()
            } else {
                0
            };
            let s = &mut active[i];
            let room = s.end - s.next;
            let len = if rng.below(40) == 0 {
                0
            } else {
                (1 + rng.below(p.target_mrdsl)).min(room)
            };
            let pdu = Pdu {
                ttt: s.ttt,
                data_sn: s.sn,
                offset: s.next,
                len,
                final_f: s.next + len == s.end,
            };
            let r = x.on_data_out(pdu.ttt, pdu.data_sn, pdu.offset, pdu.len, pdu.final_f);
            assert!(r.is_ok(), "{pdu:?} -> {r:?}");
            out.pdus.push(pdu);
            s.next += len;
            s.sn += 1;
            if pdu.final_f {
                active.remove(i);
            }
        }
        out
    }

    /// Replays a Data-Out stream the way the driver does (next_r2t after
    /// new and after every closed sequence); returns the accepted ranges.
    fn replay(x: &mut WriteXfer, pdus: &[Pdu]) -> Vec<(u32, u32)> {
        let mut acc = Vec::new();
        while x.next_r2t().is_some() {}
        for p in pdus {
            if let Ok(prog) = x.on_data_out(p.ttt, p.data_sn, p.offset, p.len, p.final_f) {
                acc.push((p.offset, p.len));
                if prog == Progress::SequenceDone {
                    while x.next_r2t().is_some() {}
                }
            }
        }
        acc
    }

    /// Whether immediate data plus `acc` tile [0, total) exactly once.
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

    // ---- parameters ----

    #[test]
    fn default_params_are_rfc_defaults_and_valid() {
        let d = XferParams::default();
        assert_eq!(d, XferParams::DEFAULT);
        assert!(d.initial_r2t);
        assert!(d.immediate_data);
        assert_eq!(d.first_burst_length, 65536);
        assert_eq!(d.max_burst_length, 262_144);
        assert_eq!(d.max_outstanding_r2t, 1);
        assert_eq!(d.target_mrdsl, 8192);
        assert_eq!(d.validate(), Ok(()));
    }

    #[test]
    fn param_validation_table() {
        let ok = Ok(());
        let bad = Err(XferError::InvalidParams);
        let cases = [
            (params(true, true, 512, 512, 1, 512), ok),
            (
                params(
                    true,
                    true,
                    MAX_LENGTH_PARAM,
                    MAX_LENGTH_PARAM,
                    65535,
                    MAX_LENGTH_PARAM,
                ),
                ok,
            ),
            (params(true, true, 65536, 262_144, 1, 511), bad),
            (params(true, true, 65536, 262_144, 1, 1 << 24), bad),
            (params(true, true, 512, 511, 1, 8192), bad),
            (params(true, true, 65536, 1 << 24, 1, 8192), bad),
            (params(true, true, 65536, 262_144, 0, 8192), bad),
            (params(true, true, 65536, 262_144, 65536, 8192), bad),
            // FirstBurstLength > MaxBurstLength while relevant.
            (params(false, false, 262_145, 262_144, 1, 8192), bad),
            (params(true, true, 262_145, 262_144, 1, 8192), bad),
            (params(false, true, 511, 262_144, 1, 8192), bad),
            // Irrelevant when InitialR2T=Yes and ImmediateData=No.
            (params(true, false, 0, 262_144, 1, 8192), ok),
            (params(true, false, u32::MAX, 262_144, 1, 8192), ok),
        ];
        for (i, (p, want)) in cases.iter().enumerate() {
            assert_eq!(p.validate(), *want, "case {i}: {p:?}");
            if want.is_err() {
                assert_eq!(
                    WriteXfer::new(4096, 0, true, p).unwrap_err(),
                    XferError::InvalidParams
                );
            }
        }
    }

    // ---- command (immediate data / unsolicited) validation ----

    #[test]
    fn command_errors_table() {
        let p_no_imm = params(false, false, 4096, 8192, 1, 1024);
        let p_r2t = params(true, true, 4096, 8192, 1, 1024);
        let p_big_seg = params(false, true, 4096, 8192, 1, 8192);
        let s = small();
        let cases: [(u32, u32, bool, XferParams, XferError); 8] = [
            (
                4096,
                1,
                true,
                p_no_imm,
                XferError::ImmediateDataNotAllowed { len: 1 },
            ),
            (
                100,
                101,
                true,
                s,
                XferError::ImmediateExceedsEdtl {
                    len: 101,
                    edtl: 100,
                },
            ),
            (
                9000,
                1025,
                true,
                s,
                XferError::ImmediateExceedsSegment {
                    len: 1025,
                    max: 1024,
                },
            ),
            (
                9000,
                4097,
                true,
                p_big_seg,
                XferError::ImmediateExceedsFirstBurst {
                    len: 4097,
                    first_burst: 4096,
                },
            ),
            (9000, 0, false, p_r2t, XferError::UnsolicitedNotAllowed),
            (9000, 512, false, p_r2t, XferError::UnsolicitedNotAllowed),
            // Immediate data already covers min(FBL, EDTL).
            (1000, 1000, false, s, XferError::NoUnsolicitedRoom),
            (0, 0, false, s, XferError::NoUnsolicitedRoom),
        ];
        for (i, (edtl, imm, f, p, want)) in cases.iter().enumerate() {
            let e = WriteXfer::new(*edtl, *imm, *f, p).unwrap_err();
            assert_eq!(e, *want, "case {i}");
            assert_eq!(e.action(), ErrorAction::Reject(RejectReason::ProtocolError));
            assert!(!e.drops_connection());
        }
        // Immediate fills FirstBurstLength exactly with EDTL larger: no room.
        let p = params(false, true, 4096, 8192, 1, 4096);
        assert_eq!(
            WriteXfer::new(9000, 4096, false, &p).unwrap_err(),
            XferError::NoUnsolicitedRoom
        );
    }

    #[test]
    fn command_acceptance_table() {
        // (edtl, imm, F, params, unsolicited_end, awaiting, complete)
        let s = small();
        let p_r2t = params(true, true, 4096, 8192, 1, 1024);
        let cases = [
            (20000, 0, false, s, 4096, true, false),
            (20000, 1000, false, s, 4096, true, false),
            (20000, 1000, true, s, 1000, false, false),
            (3000, 1000, false, s, 3000, true, false),
            (1000, 1000, true, s, 1000, false, true),
            (0, 0, true, s, 0, false, true),
            (20000, 0, true, p_r2t, 0, false, false),
            (20000, 1024, true, p_r2t, 1024, false, false),
            (4096, 1024, false, s, 4096, true, false),
        ];
        for (i, (edtl, imm, f, p, uend, awaiting, complete)) in cases.iter().enumerate() {
            let x = WriteXfer::new(*edtl, *imm, *f, p).unwrap();
            assert_eq!(x.unsolicited_end(), *uend, "case {i}");
            assert_eq!(x.awaiting_unsolicited(), *awaiting, "case {i}");
            assert_eq!(x.is_complete(), *complete, "case {i}");
            assert_eq!(x.received(), *imm);
            assert_eq!(x.immediate_len(), *imm);
            assert_eq!(x.edtl(), *edtl);
            assert_eq!(x.total_len(), *edtl);
            assert!(!x.is_failed());
        }
    }

    #[test]
    fn zero_length_write_needs_nothing() {
        let mut x = WriteXfer::new(0, 0, true, &XferParams::DEFAULT).unwrap();
        assert!(x.is_complete());
        assert_eq!(x.next_r2t(), None);
        assert_eq!(x.r2t_count(), 0);
    }

    // ---- the 1 MiB table from the brief ----

    #[test]
    fn one_mib_write_table() {
        // (InitialR2T, ImmediateData, immediate bytes, command F, MOR,
        //  expected unsolicited end, expected R2Ts (offset KiB, len KiB))
        type Case = (bool, bool, u32, bool, u32, u32, &'static [(u32, u32)]);
        let from0: &[(u32, u32)] = &[(0, 256), (256, 256), (512, 256), (768, 256)];
        let from8: &[(u32, u32)] = &[(8, 256), (264, 256), (520, 256), (776, 248)];
        let from64: &[(u32, u32)] = &[(64, 256), (320, 256), (576, 256), (832, 192)];
        let cases: [Case; 12] = [
            (true, false, 0, true, 1, 0, from0),
            (true, false, 0, true, 4, 0, from0),
            (true, true, 0, true, 1, 0, from0),
            (true, true, 8, true, 1, 8, from8),
            (true, true, 8, true, 4, 8, from8),
            (false, true, 8, true, 1, 8, from8),
            (false, true, 8, false, 1, 64, from64),
            (false, true, 8, false, 4, 64, from64),
            (false, true, 0, false, 1, 64, from64),
            (false, false, 0, false, 4, 64, from64),
            (false, false, 0, true, 4, 0, from0),
            (false, true, 0, true, 1, 0, from0),
        ];
        for (i, &(ir2t, imm_ok, imm_k, f, mor, uend_k, want)) in cases.iter().enumerate() {
            let p = params(ir2t, imm_ok, 64 * KI, 256 * KI, mor, 8 * KI);
            let mut x = WriteXfer::new(MI, imm_k * KI, f, &p).unwrap();
            assert_eq!(x.unsolicited_end(), uend_k * KI, "case {i}");
            let h = honest(&mut x, f, &p, 7 + i as u64, false);
            assert!(x.is_complete(), "case {i}");
            assert_eq!(x.received(), MI);
            let got: Vec<(u32, u32)> = h
                .r2ts
                .iter()
                .map(|r| (r.buffer_offset / KI, r.desired_len / KI))
                .collect();
            assert_eq!(got, want, "case {i}");
            for (n, r) in h.r2ts.iter().enumerate() {
                assert_eq!(r.r2t_sn, u32::try_from(n).unwrap());
                assert_ne!(r.ttt, RESERVED_TTT);
            }
            assert_eq!(x.r2t_count(), 4);
        }
    }

    #[test]
    fn max_outstanding_r2t_limits_issue() {
        for (mor, first_batch) in [(1u32, 1usize), (2, 2), (4, 4), (16, 4), (65535, 4)] {
            let p = params(true, true, 64 * KI, 256 * KI, mor, 8 * KI);
            let mut x = WriteXfer::new(MI, 0, true, &p).unwrap();
            let mut n = 0;
            while x.next_r2t().is_some() {
                n += 1;
            }
            assert_eq!(n, first_batch, "mor {mor}");
            assert_eq!(x.outstanding_r2ts(), first_batch);
        }
    }

    #[test]
    fn tracked_r2ts_are_capped() {
        let p = params(true, true, 512, 512, 65535, 512);
        let mut x = WriteXfer::new(MI, 0, true, &p).unwrap();
        let mut n = 0;
        while x.next_r2t().is_some() {
            n += 1;
        }
        assert_eq!(n, MAX_TRACKED_R2TS);
    }

    #[test]
    fn no_r2t_while_unsolicited_burst_pending() {
        let mut x = WriteXfer::new(20000, 0, false, &small()).unwrap();
        assert_eq!(x.next_r2t(), None);
        for k in 0..4u32 {
            let last = k == 3;
            let r = x
                .on_data_out(RESERVED_TTT, k, k * 1024, 1024, last)
                .unwrap();
            assert_eq!(
                r,
                if last {
                    Progress::SequenceDone
                } else {
                    Progress::Continue
                }
            );
            if !last {
                assert_eq!(x.next_r2t(), None);
            }
        }
        let r = x.next_r2t().unwrap();
        assert_eq!(
            r,
            R2t {
                ttt: 0,
                r2t_sn: 0,
                buffer_offset: 4096,
                desired_len: 8192
            }
        );
    }

    #[test]
    fn data_sn_restarts_per_r2t_and_progress_values() {
        let p = params(true, true, 512, 2048, 1, 1024);
        let mut x = WriteXfer::new(4096, 0, true, &p).unwrap();
        let r0 = x.next_r2t().unwrap();
        assert_eq!(x.next_r2t(), None);
        assert_eq!(
            x.on_data_out(r0.ttt, 0, 0, 1024, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(r0.ttt, 1, 1024, 1024, true),
            Ok(Progress::SequenceDone)
        );
        let r1 = x.next_r2t().unwrap();
        assert_eq!(
            (r1.r2t_sn, r1.buffer_offset, r1.desired_len),
            (1, 2048, 2048)
        );
        assert_ne!(r1.ttt, r0.ttt);
        assert_eq!(
            x.on_data_out(r1.ttt, 0, 2048, 1024, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(r1.ttt, 1, 3072, 1024, true),
            Ok(Progress::Complete)
        );
        assert!(x.is_complete());
        assert_eq!(x.next_r2t(), None);
        assert_eq!(x.r2t_count(), 2);
        assert_eq!(x.received(), 4096);
    }

    #[test]
    fn ttt_derivation_skips_reserved() {
        assert_eq!(derive_ttt(0, 0), 0);
        assert_eq!(derive_ttt(0, 5), 5);
        assert_eq!(derive_ttt(0xffff_fffe, 0), 0xffff_fffe);
        assert_eq!(derive_ttt(0xffff_fffe, 1), 0);
        assert_eq!(derive_ttt(0xffff_fffe, 2), 1);
        assert_eq!(derive_ttt(u32::MAX, 0), 0);
        assert_eq!(derive_ttt(u32::MAX, u32::MAX), 0);
        assert_eq!(derive_ttt(1, 0xffff_fffd), 0xffff_fffe);
        let p = params(true, true, 512, 512, 4, 512);
        let mut x = WriteXfer::new(4096, 0, true, &p)
            .unwrap()
            .with_ttt_base(0xffff_fffd);
        let ttts: Vec<u32> = core::iter::from_fn(|| x.next_r2t())
            .map(|r| r.ttt)
            .collect();
        assert_eq!(ttts, [0xffff_fffd, 0xffff_fffe, 0, 1]);
    }

    #[test]
    fn interleaved_r2t_data_is_accepted() {
        let p = params(true, true, 512, 1024, 2, 512);
        let mut x = WriteXfer::new(2048, 0, true, &p).unwrap();
        let a = x.next_r2t().unwrap();
        let b = x.next_r2t().unwrap();
        assert_eq!(
            x.on_data_out(b.ttt, 0, 1024, 512, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(a.ttt, 0, 0, 512, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(b.ttt, 1, 1536, 512, true),
            Ok(Progress::SequenceDone)
        );
        assert_eq!(
            x.on_data_out(a.ttt, 1, 512, 512, true),
            Ok(Progress::Complete)
        );
    }

    #[test]
    fn zero_length_data_out_counts_data_sn() {
        let mut x = WriteXfer::new(2048, 0, false, &small()).unwrap();
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 0, 0, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 1, 0, 1024, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 2, 1024, 0, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 3, 1024, 1024, true),
            Ok(Progress::Complete)
        );
    }

    #[test]
    fn immediate_plus_unsolicited_completes_without_r2t() {
        let mut x = WriteXfer::new(3000, 1000, false, &small()).unwrap();
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 1000, 1024, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 1, 2024, 976, true),
            Ok(Progress::Complete)
        );
        assert_eq!(x.r2t_count(), 0);
        assert_eq!(x.received(), 3000);
    }

    // ---- Data-Out error paths ----

    /// Setup: EDTL 20000, InitialR2T=No, F=0, no immediate data: the
    /// unsolicited burst is [0, 4096).
    fn unsol() -> WriteXfer {
        WriteXfer::new(20000, 0, false, &small()).unwrap()
    }

    /// Setup: unsolicited burst done, two R2Ts outstanding:
    /// TTT 100 = [4096, 12288), TTT 101 = [12288, 20000).
    fn solicited() -> WriteXfer {
        let mut x = unsol().with_ttt_base(100);
        for k in 0..4u32 {
            x.on_data_out(RESERVED_TTT, k, k * 1024, 1024, k == 3)
                .unwrap();
        }
        assert_eq!(x.next_r2t().map(|r| r.ttt), Some(100));
        assert_eq!(
            x.next_r2t().map(|r| (r.ttt, r.desired_len)),
            Some((101, 7712))
        );
        assert_eq!(x.next_r2t(), None);
        x
    }

    #[test]
    fn data_out_error_table() {
        use RejectReason::{InvalidPduField as Ipf, ProtocolError as Pe};
        type Setup = fn() -> WriteXfer;
        // (setup, ttt, datasn, offset, len, F, error, reject reason)
        type Case = (Setup, u32, u32, u32, u32, bool, XferError, RejectReason);
        let cases: [Case; 18] = [
            (
                unsol,
                RESERVED_TTT,
                0,
                0,
                1025,
                false,
                XferError::SegmentTooLong {
                    len: 1025,
                    max: 1024,
                },
                Pe,
            ),
            (
                unsol,
                RESERVED_TTT,
                0,
                19999,
                2,
                false,
                XferError::BeyondEdtl {
                    offset: 19999,
                    len: 2,
                    edtl: 20000,
                },
                Ipf,
            ),
            (
                unsol,
                RESERVED_TTT,
                0,
                u32::MAX,
                1,
                false,
                XferError::BeyondEdtl {
                    offset: u32::MAX,
                    len: 1,
                    edtl: 20000,
                },
                Ipf,
            ),
            (
                unsol,
                5,
                0,
                0,
                1024,
                false,
                XferError::UnknownTtt { ttt: 5 },
                Ipf,
            ),
            (
                unsol,
                RESERVED_TTT,
                1,
                0,
                1024,
                false,
                XferError::DataSnMismatch {
                    expected: 0,
                    got: 1,
                },
                Ipf,
            ),
            (
                unsol,
                RESERVED_TTT,
                0,
                512,
                512,
                false,
                XferError::OffsetMismatch {
                    expected: 0,
                    got: 512,
                },
                Ipf,
            ),
            (
                unsol,
                RESERVED_TTT,
                0,
                0,
                1024,
                true,
                XferError::FinalTooEarly {
                    end: 1024,
                    burst_end: 4096,
                },
                Pe,
            ),
            (
                solicited,
                RESERVED_TTT,
                4,
                4096,
                1024,
                false,
                XferError::UnexpectedUnsolicited,
                Pe,
            ),
            (
                solicited,
                102,
                0,
                4096,
                1024,
                false,
                XferError::UnknownTtt { ttt: 102 },
                Ipf,
            ),
            (
                solicited,
                100,
                1,
                4096,
                1024,
                false,
                XferError::DataSnMismatch {
                    expected: 0,
                    got: 1,
                },
                Ipf,
            ),
            (
                solicited,
                100,
                u32::MAX,
                4096,
                1024,
                false,
                XferError::DataSnMismatch {
                    expected: 0,
                    got: u32::MAX,
                },
                Ipf,
            ),
            (
                solicited,
                100,
                0,
                4095,
                1024,
                false,
                XferError::OffsetMismatch {
                    expected: 4096,
                    got: 4095,
                },
                Ipf,
            ),
            (
                solicited,
                100,
                0,
                5120,
                1024,
                false,
                XferError::OffsetMismatch {
                    expected: 4096,
                    got: 5120,
                },
                Ipf,
            ),
            // PDU of R2T 101 sent under R2T 100's tag.
            (
                solicited,
                100,
                0,
                12288,
                1024,
                false,
                XferError::OffsetMismatch {
                    expected: 4096,
                    got: 12288,
                },
                Ipf,
            ),
            (
                solicited,
                101,
                0,
                12288,
                1024,
                true,
                XferError::FinalTooEarly {
                    end: 13312,
                    burst_end: 20000,
                },
                Pe,
            ),
            (
                solicited,
                100,
                0,
                4096,
                1024,
                true,
                XferError::FinalTooEarly {
                    end: 5120,
                    burst_end: 12288,
                },
                Pe,
            ),
            (
                solicited,
                101,
                0,
                12288,
                1025,
                false,
                XferError::SegmentTooLong {
                    len: 1025,
                    max: 1024,
                },
                Pe,
            ),
            (
                solicited,
                101,
                0,
                19000,
                1001,
                true,
                XferError::BeyondEdtl {
                    offset: 19000,
                    len: 1001,
                    edtl: 20000,
                },
                Ipf,
            ),
        ];
        for (i, &(setup, ttt, sn, off, len, f, want, reason)) in cases.iter().enumerate() {
            let mut x = setup();
            let before = x.received();
            let e = x.on_data_out(ttt, sn, off, len, f).unwrap_err();
            assert_eq!(e, want, "case {i}");
            assert_eq!(e.action(), ErrorAction::RejectAndDrop(reason), "case {i}");
            assert_eq!(e.reject_reason(), Some(reason));
            assert!(e.drops_connection());
            assert!(x.is_failed());
            assert!(!x.is_complete());
            assert_eq!(x.received(), before, "case {i}: nothing accepted");
            assert_eq!(x.next_r2t(), None);
            assert_eq!(
                x.on_data_out(ttt, sn, off, len, f),
                Err(XferError::TransferFailed)
            );
        }
    }

    #[test]
    fn burst_overrun_and_missing_final() {
        // R2T of 1536 bytes with MRDSL 1024.
        let p = params(true, true, 512, 1536, 1, 1024);
        let mut x = WriteXfer::new(3072, 0, true, &p).unwrap();
        let r = x.next_r2t().unwrap();
        x.on_data_out(r.ttt, 0, 0, 1024, false).unwrap();
        let mut y = x.clone();
        assert_eq!(
            x.on_data_out(r.ttt, 1, 1024, 1024, true),
            Err(XferError::BeyondBurst {
                offset: 1024,
                len: 1024,
                burst_end: 1536
            })
        );
        assert_eq!(
            y.on_data_out(r.ttt, 1, 1024, 512, false),
            Err(XferError::FinalMissing { burst_end: 1536 })
        );
        assert_eq!(
            XferError::FinalMissing { burst_end: 0 }.action(),
            ErrorAction::RejectAndDrop(RejectReason::ProtocolError)
        );
        assert_eq!(
            XferError::BeyondBurst {
                offset: 0,
                len: 0,
                burst_end: 0
            }
            .action(),
            ErrorAction::RejectAndDrop(RejectReason::ProtocolError)
        );
    }

    #[test]
    fn unsolicited_missing_final_at_first_burst_end() {
        let mut x = unsol();
        for k in 0..3u32 {
            x.on_data_out(RESERVED_TTT, k, k * 1024, 1024, false)
                .unwrap();
        }
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 3, 3072, 1024, false),
            Err(XferError::FinalMissing { burst_end: 4096 })
        );
    }

    #[test]
    fn unsolicited_data_rejected_with_initial_r2t_or_f1() {
        let p = params(true, true, 4096, 8192, 1, 1024);
        let mut x = WriteXfer::new(8192, 0, true, &p).unwrap();
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 0, 1024, false),
            Err(XferError::UnexpectedUnsolicited)
        );
        // InitialR2T=No but command F=1: no unsolicited Data-Out either.
        let mut x = WriteXfer::new(8192, 1024, true, &small()).unwrap();
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 1024, 1024, false),
            Err(XferError::UnexpectedUnsolicited)
        );
    }

    #[test]
    fn duplicate_pdu_is_caught() {
        let mut x = unsol();
        x.on_data_out(RESERVED_TTT, 0, 0, 1024, false).unwrap();
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 0, 1024, false),
            Err(XferError::DataSnMismatch {
                expected: 1,
                got: 0
            })
        );
    }

    #[test]
    fn data_after_completion_is_overflow() {
        let p = params(true, true, 512, 1024, 1, 1024);
        let mut x = WriteXfer::new(1024, 0, true, &p).unwrap();
        let r = x.next_r2t().unwrap();
        assert_eq!(
            x.on_data_out(r.ttt, 0, 0, 1024, true),
            Ok(Progress::Complete)
        );
        let mut y = x.clone();
        assert_eq!(
            x.on_data_out(r.ttt, 1, 1024, 1, true),
            Err(XferError::BeyondEdtl {
                offset: 1024,
                len: 1,
                edtl: 1024
            })
        );
        assert_eq!(
            y.on_data_out(r.ttt, 1, 1023, 1, true),
            Err(XferError::UnknownTtt { ttt: r.ttt })
        );
        assert!(!y.is_complete());
    }

    #[test]
    fn initiator_sending_more_than_edtl_in_last_pdu() {
        let p = params(true, true, 512, 4096, 1, 4096);
        let mut x = WriteXfer::new(3000, 0, true, &p).unwrap();
        let r = x.next_r2t().unwrap();
        assert_eq!(r.desired_len, 3000);
        assert_eq!(
            x.on_data_out(r.ttt, 0, 0, 4096, true),
            Err(XferError::BeyondEdtl {
                offset: 0,
                len: 4096,
                edtl: 3000
            })
        );
    }

    #[test]
    fn segment_of_exactly_mrdsl_is_accepted() {
        let p = params(false, true, 2048, 2048, 1, 1024);
        let mut x = WriteXfer::new(4096, 1024, false, &p).unwrap();
        assert_eq!(x.received(), 1024);
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 1024, 1024, true),
            Ok(Progress::SequenceDone)
        );
        let r = x.next_r2t().unwrap();
        assert_eq!((r.buffer_offset, r.desired_len), (2048, 2048));
        assert_eq!(
            x.on_data_out(r.ttt, 0, 2048, 1024, false),
            Ok(Progress::Continue)
        );
        assert_eq!(
            x.on_data_out(r.ttt, 1, 3072, 1024, true),
            Ok(Progress::Complete)
        );
    }

    #[test]
    fn zero_length_final_at_sequence_start_is_too_early() {
        let mut x = unsol();
        assert_eq!(
            x.on_data_out(RESERVED_TTT, 0, 0, 0, true),
            Err(XferError::FinalTooEarly {
                end: 0,
                burst_end: 4096
            })
        );
    }

    #[test]
    fn outstanding_count_follows_sequences() {
        let p = params(true, true, 512, 512, 3, 512);
        let mut x = WriteXfer::new(2048, 0, true, &p).unwrap();
        let r: Vec<R2t> = core::iter::from_fn(|| x.next_r2t()).collect();
        assert_eq!(r.len(), 3);
        assert_eq!(x.outstanding_r2ts(), 3);
        x.on_data_out(r[1].ttt, 0, 512, 512, true).unwrap();
        assert_eq!(x.outstanding_r2ts(), 2);
        let r3 = x.next_r2t().unwrap();
        assert_eq!((r3.r2t_sn, r3.buffer_offset), (3, 1536));
        assert_eq!(x.next_r2t(), None);
        x.on_data_out(r[0].ttt, 0, 0, 512, true).unwrap();
        x.on_data_out(r3.ttt, 0, 1536, 512, true).unwrap();
        assert!(!x.is_complete());
        assert_eq!(
            x.on_data_out(r[2].ttt, 0, 1024, 512, true),
            Ok(Progress::Complete)
        );
        assert_eq!(x.outstanding_r2ts(), 0);
    }

    #[test]
    fn stale_ttt_of_finished_r2t_is_unknown() {
        let p = params(true, true, 512, 512, 1, 512);
        let mut x = WriteXfer::new(1024, 0, true, &p).unwrap();
        let r0 = x.next_r2t().unwrap();
        x.on_data_out(r0.ttt, 0, 0, 512, true).unwrap();
        let _r1 = x.next_r2t().unwrap();
        assert_eq!(
            x.on_data_out(r0.ttt, 1, 512, 512, true),
            Err(XferError::UnknownTtt { ttt: r0.ttt })
        );
    }

    #[test]
    fn data_in_exact_multiple_of_burst() {
        let v = plan(2048, 1024, 1024, true);
        assert_eq!(
            v,
            [seg(0, 1024, 0, true, false), seg(1024, 1024, 1, true, true)]
        );
    }

    // ---- wanted length (EDTL vs CDB transfer length) ----

    #[test]
    fn set_wanted_len_table() {
        // (edtl, imm, F, wanted, resulting end, R2T lens)
        let p = params(false, true, 4096, 8192, 4, 1024);
        type Case = (u32, u32, bool, u32, u32, &'static [u32]);
        let cases: [Case; 6] = [
            (20000, 0, true, 10000, 10000, &[8192, 1808]),
            (20000, 0, true, 30000, 20000, &[8192, 8192, 3616]),
            (20000, 1000, true, 500, 1000, &[]),
            (20000, 0, false, 100, 4096, &[]),
            (20000, 0, false, 5000, 5000, &[904]),
            (20000, 1024, true, 0, 1024, &[]),
        ];
        for (i, &(edtl, imm, f, wanted, end, lens)) in cases.iter().enumerate() {
            let mut x = WriteXfer::new(edtl, imm, f, &p).unwrap();
            assert_eq!(x.set_wanted_len(wanted), end, "case {i}");
            assert_eq!(x.total_len(), end);
            let h = honest(&mut x, f, &p, 3, false);
            let got: Vec<u32> = h.r2ts.iter().map(|r| r.desired_len).collect();
            assert_eq!(got, lens, "case {i}");
            assert!(x.is_complete(), "case {i}");
            assert_eq!(x.received(), end);
        }
    }

    #[test]
    fn set_wanted_len_never_below_solicited() {
        let p = params(true, true, 512, 1024, 1, 1024);
        let mut x = WriteXfer::new(4096, 0, true, &p).unwrap();
        let r = x.next_r2t().unwrap();
        assert_eq!(x.set_wanted_len(0), 1024);
        x.on_data_out(r.ttt, 0, 0, 1024, true).unwrap();
        assert!(x.is_complete());
    }

    // ---- error policy ----

    #[test]
    fn action_table_for_every_variant() {
        use ErrorAction::{Drop, Internal, Reject, RejectAndDrop};
        use RejectReason::{InvalidPduField as Ipf, ProtocolError as Pe};
        let cases = [
            (XferError::InvalidParams, Internal),
            (XferError::ImmediateDataNotAllowed { len: 1 }, Reject(Pe)),
            (
                XferError::ImmediateExceedsEdtl { len: 1, edtl: 0 },
                Reject(Pe),
            ),
            (
                XferError::ImmediateExceedsFirstBurst {
                    len: 1,
                    first_burst: 0,
                },
                Reject(Pe),
            ),
            (
                XferError::ImmediateExceedsSegment { len: 1, max: 0 },
                Reject(Pe),
            ),
            (XferError::UnsolicitedNotAllowed, Reject(Pe)),
            (XferError::NoUnsolicitedRoom, Reject(Pe)),
            (
                XferError::SegmentTooLong { len: 1, max: 0 },
                RejectAndDrop(Pe),
            ),
            (
                XferError::BeyondEdtl {
                    offset: 0,
                    len: 1,
                    edtl: 0,
                },
                RejectAndDrop(Ipf),
            ),
            (XferError::UnexpectedUnsolicited, RejectAndDrop(Pe)),
            (XferError::UnknownTtt { ttt: 0 }, RejectAndDrop(Ipf)),
            (
                XferError::DataSnMismatch {
                    expected: 0,
                    got: 1,
                },
                RejectAndDrop(Ipf),
            ),
            (
                XferError::OffsetMismatch {
                    expected: 0,
                    got: 1,
                },
                RejectAndDrop(Ipf),
            ),
            (
                XferError::BeyondBurst {
                    offset: 0,
                    len: 1,
                    burst_end: 0,
                },
                RejectAndDrop(Pe),
            ),
            (
                XferError::FinalTooEarly {
                    end: 0,
                    burst_end: 1,
                },
                RejectAndDrop(Pe),
            ),
            (XferError::FinalMissing { burst_end: 1 }, RejectAndDrop(Pe)),
            (XferError::TransferFailed, Drop),
        ];
        for (e, a) in cases {
            assert_eq!(e.action(), a, "{e:?}");
            let dropped = matches!(a, RejectAndDrop(_) | Drop);
            assert_eq!(e.drops_connection(), dropped, "{e:?}");
            let reason = match a {
                Reject(r) | RejectAndDrop(r) => Some(r),
                _ => None,
            };
            assert_eq!(e.reject_reason(), reason);
        }
    }

    #[test]
    fn reject_reason_codes_match_rfc() {
        assert_eq!(RejectReason::ProtocolError.to_u8(), 0x04);
        assert_eq!(RejectReason::InvalidPduField.to_u8(), 0x09);
    }

    #[test]
    fn snack_at_erl0_is_protocol_error_reject() {
        assert_eq!(
            snack_at_erl0(),
            ErrorAction::Reject(RejectReason::ProtocolError)
        );
    }

    #[test]
    fn flag_constants_match_rfc_layout() {
        // Data-In byte 1: F A 0 0 0 O U S (RFC 7143 11.7).
        assert_eq!(
            [DATA_IN_F, DATA_IN_A, DATA_IN_O, DATA_IN_U, DATA_IN_S],
            [0x80, 0x40, 0x04, 0x02, 0x01]
        );
        // SCSI Response byte 1: 1 . . o u O U . (RFC 7143 11.4).
        assert_eq!(
            [RESP_BIDI_O, RESP_BIDI_U, RESP_O, RESP_U],
            [0x10, 0x08, 0x04, 0x02]
        );
        assert_eq!(RESERVED_TTT, 0xffff_ffff);
    }

    // ---- Data-In ----

    fn plan(total: u32, mrdsl: u32, mbl: u32, s: bool) -> Vec<DataInSegment> {
        DataInPlan::new(total, mrdsl, mbl, s).unwrap().collect()
    }

    fn seg(offset: u32, len: u32, data_sn: u32, final_f: bool, status_s: bool) -> DataInSegment {
        DataInSegment {
            offset,
            len,
            data_sn,
            final_f,
            status_s,
        }
    }

    #[test]
    fn data_in_zero_length_sends_nothing() {
        let p = DataInPlan::new(0, 8192, 262_144, true).unwrap();
        assert_eq!(p.pdu_count(), 0);
        assert_eq!(p.len(), 0);
        assert!(plan(0, 8192, 262_144, true).is_empty());
    }

    #[test]
    fn data_in_single_pdu() {
        assert_eq!(plan(100, 8192, 262_144, true), [seg(0, 100, 0, true, true)]);
        assert_eq!(
            plan(8192, 8192, 262_144, false),
            [seg(0, 8192, 0, true, false)]
        );
    }

    #[test]
    fn data_in_f_closes_each_burst() {
        // MBL 1024, MRDSL 512: F every second PDU; DataSN continues.
        assert_eq!(
            plan(2560, 512, 1024, true),
            [
                seg(0, 512, 0, false, false),
                seg(512, 512, 1, true, false),
                seg(1024, 512, 2, false, false),
                seg(1536, 512, 3, true, false),
                seg(2048, 512, 4, true, true),
            ]
        );
    }

    #[test]
    fn data_in_burst_not_multiple_of_segment() {
        // MRDSL 600, MBL 1000: 600 + 400 per burst.
        assert_eq!(
            plan(2300, 600, 1000, false),
            [
                seg(0, 600, 0, false, false),
                seg(600, 400, 1, true, false),
                seg(1000, 600, 2, false, false),
                seg(1600, 400, 3, true, false),
                seg(2000, 300, 4, true, false),
            ]
        );
    }

    #[test]
    fn data_in_mrdsl_larger_than_burst() {
        assert_eq!(
            plan(2048, 8192, 1024, true),
            [seg(0, 1024, 0, true, false), seg(1024, 1024, 1, true, true)]
        );
    }

    #[test]
    fn data_in_first_data_sn_for_bidi() {
        let v: Vec<_> = DataInPlan::new(1024, 512, 512, false)
            .unwrap()
            .with_first_data_sn(3)
            .collect();
        assert_eq!(
            v,
            [seg(0, 512, 3, true, false), seg(512, 512, 4, true, false)]
        );
        let mut p = DataInPlan::new(1024, 512, 512, false)
            .unwrap()
            .with_first_data_sn(7);
        assert_eq!(p.next_data_sn(), 7);
        p.by_ref().for_each(drop);
        assert_eq!(p.next_data_sn(), 9);
        assert_eq!(p.next(), None);
    }

    #[test]
    fn data_in_invalid_params() {
        for (m, b) in [
            (511, 262_144),
            (1 << 24, 262_144),
            (8192, 511),
            (8192, 1 << 24),
            (0, 0),
        ] {
            assert_eq!(
                DataInPlan::new(100, m, b, false),
                Err(XferError::InvalidParams),
                "{m} {b}"
            );
        }
        assert!(DataInPlan::new(100, 512, MAX_LENGTH_PARAM, false).is_ok());
    }

    #[test]
    fn data_in_pdu_count_table() {
        let cases = [
            (0u32, 512u32, 512u32, 0u32),
            (1, 512, 512, 1),
            (512, 512, 512, 1),
            (513, 512, 512, 2),
            (2300, 600, 1000, 5),
            (MI, 8 * KI, 256 * KI, 128),
            (MI + 1, 8 * KI, 256 * KI, 129),
            (u32::MAX, 512, 512, 8_388_608),
            (u32::MAX, 600, 1000, 8_589_935),
        ];
        for (total, m, b, n) in cases {
            let p = DataInPlan::new(total, m, b, false).unwrap();
            assert_eq!(p.pdu_count(), n, "{total} {m} {b}");
            assert_eq!(p.len(), usize::try_from(n).unwrap());
            if n < 10_000 {
                assert_eq!(p.count(), usize::try_from(n).unwrap());
            }
        }
    }

    #[test]
    fn data_in_size_hint_tracks_progress() {
        let mut p = DataInPlan::new(2300, 600, 1000, false).unwrap();
        for left in (0..5).rev() {
            assert!(p.next().is_some());
            assert_eq!(p.len(), left);
        }
        assert_eq!(p.next(), None);
        assert_eq!(p.next(), None);
        assert_eq!(p.total_len(), 2300);
    }

    #[test]
    fn data_in_flags_and_residual_fields() {
        let under = residual(1000, 600);
        let over = residual(1000, 1500);
        let last = seg(0, 600, 0, true, true);
        let mid = seg(0, 600, 0, true, false);
        let plain = seg(0, 600, 0, false, false);
        assert_eq!(last.flags(under), 0x80 | 0x02 | 0x01);
        assert_eq!(last.flags(over), 0x80 | 0x04 | 0x01);
        assert_eq!(last.flags(Residual::NONE), 0x81);
        assert_eq!(mid.flags(under), 0x80);
        assert_eq!(plain.flags(over), 0);
        assert_eq!(last.residual_count(under), 400);
        assert_eq!(mid.residual_count(under), 0);
    }

    #[test]
    fn data_in_len_table() {
        assert_eq!(data_in_len(1000, 0), 0);
        assert_eq!(data_in_len(1000, 600), 600);
        assert_eq!(data_in_len(1000, 1000), 1000);
        assert_eq!(data_in_len(1000, 5000), 1000);
        assert_eq!(data_in_len(0, 5000), 0);
        assert_eq!(data_in_len(u32::MAX, u64::MAX), u32::MAX);
    }

    #[test]
    fn status_in_data_in_table() {
        let cases = [
            (0x00u8, 0usize, false, true),
            (0x04, 0, false, true),
            (0x14, 0, false, true),
            (0x00, 18, false, false),
            (0x02, 0, false, false),
            (0x02, 18, false, false),
            (0x08, 0, false, false),
            (0x10, 0, false, false),
            (0x18, 0, false, false),
            (0x28, 0, false, false),
            (0x30, 0, false, false),
            (0x40, 0, false, false),
            (0x00, 0, true, false),
        ];
        for (st, sense, bidi, want) in cases {
            assert_eq!(status_in_data_in_allowed(st, sense, bidi), want, "{st:#x}");
        }
    }

    // ---- residuals ----

    #[test]
    fn residual_table() {
        let r = |u, o, c| Residual {
            underflow: u,
            overflow: o,
            count: c,
        };
        let cases = [
            (1000u32, 1000u64, r(false, false, 0), 0u8, 0u8),
            (1000, 600, r(true, false, 400), RESP_U, RESP_BIDI_U),
            (1000, 0, r(true, false, 1000), RESP_U, RESP_BIDI_U),
            (1000, 1500, r(false, true, 500), RESP_O, RESP_BIDI_O),
            (0, 0, r(false, false, 0), 0, 0),
            (0, 512, r(false, true, 512), RESP_O, RESP_BIDI_O),
            (0, u64::MAX, r(false, true, u32::MAX), RESP_O, RESP_BIDI_O),
            (u32::MAX, 0, r(true, false, u32::MAX), RESP_U, RESP_BIDI_U),
        ];
        for (edtl, actual, want, f, bf) in cases {
            let got = residual(edtl, actual);
            assert_eq!(got, want, "{edtl} {actual}");
            assert_eq!(got.response_flags(), f);
            assert_eq!(got.bidi_read_flags(), bf);
            assert_eq!(got.is_none(), f == 0);
        }
    }

    #[test]
    fn bidi_residual_table() {
        let b = bidi_residual(1000, 1000, 2000, 1500);
        assert_eq!(b.write, Residual::NONE);
        assert_eq!(b.read.count, 500);
        assert_eq!(b.response_flags(), RESP_BIDI_U);
        let b = bidi_residual(1000, 400, 2000, 2500);
        assert_eq!(b.write.count, 600);
        assert_eq!(b.read.count, 500);
        assert_eq!(b.response_flags(), RESP_U | RESP_BIDI_O);
        let b = bidi_residual(1000, 1200, 2000, 0);
        assert_eq!(b.response_flags(), RESP_O | RESP_BIDI_U);
        assert_eq!(bidi_residual(5, 5, 6, 6), BidiResidual::default());
        assert_eq!(BidiResidual::default().response_flags(), 0);
    }

    #[test]
    fn bidirectional_r2t_and_data_in_share_numbering() {
        let p = params(true, true, 512, 512, 1, 512);
        let mut x = WriteXfer::new(1024, 0, true, &p).unwrap();
        let h = honest(&mut x, true, &p, 1, false);
        assert_eq!(h.r2ts.len(), 2);
        let d: Vec<_> = DataInPlan::new(1024, 512, 512, false)
            .unwrap()
            .with_first_data_sn(x.r2t_count())
            .map(|s| s.data_sn)
            .collect();
        assert_eq!(d, [2, 3]);
    }

    // ---- property tests ----

    fn arb_params() -> impl Strategy<Value = XferParams> {
        (
            any::<bool>(),
            any::<bool>(),
            512u32..=8192,
            512u32..=2048,
            1u32..=20,
        )
            .prop_flat_map(|(ir2t, imm, mbl, mrdsl, mor)| {
                (512u32..=mbl).prop_map(move |fbl| params(ir2t, imm, fbl, mbl, mor, mrdsl))
            })
    }

    /// (params, edtl, immediate length, command F) that `new` accepts.
    fn arb_command() -> impl Strategy<Value = (XferParams, u32, u32, bool)> {
        (arb_params(), 0u32..=40_000, any::<bool>(), any::<u32>()).prop_filter_map(
            "command must be valid",
            |(p, edtl, f, r)| {
                let max_imm = if p.immediate_data {
                    edtl.min(p.target_mrdsl).min(p.first_burst_length)
                } else {
                    0
                };
                let imm = r % (max_imm + 1);
                let f = f || p.initial_r2t || imm >= edtl.min(p.first_burst_length);
                WriteXfer::new(edtl, imm, f, &p)
                    .ok()
                    .map(|_| (p, edtl, imm, f))
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn prop_plan_covers_edtl_exactly_once(
            (p, edtl, imm, f) in arb_command(),
            seed in any::<u64>(),
            interleave in any::<bool>(),
            base in any::<u32>(),
        ) {
            let mut x = WriteXfer::new(edtl, imm, f, &p).unwrap().with_ttt_base(base);
            let h = honest(&mut x, f, &p, seed, interleave);
            prop_assert!(x.is_complete());
            prop_assert_eq!(x.received(), edtl);
            // Unsolicited region + R2Ts tile [0, EDTL).
            let mut ranges: Vec<(u32, u32)> =
                h.r2ts.iter().map(|r| (r.buffer_offset, r.desired_len)).collect();
            if x.unsolicited_end() > imm {
                ranges.push((imm, x.unsolicited_end() - imm));
            }
            prop_assert!(exact_cover(imm, edtl, &ranges));
            let mut ttts: Vec<u32> = Vec::new();
            for (n, r) in h.r2ts.iter().enumerate() {
                prop_assert!(r.desired_len > 0 && r.desired_len <= p.max_burst_length);
                prop_assert_eq!(r.r2t_sn, u32::try_from(n).unwrap());
                prop_assert_ne!(r.ttt, RESERVED_TTT);
                prop_assert!(!ttts.contains(&r.ttt));
                ttts.push(r.ttt);
                prop_assert!(r.buffer_offset >= x.unsolicited_end());
            }
            // The data PDUs themselves tile it too.
            let acc: Vec<(u32, u32)> = h.pdus.iter().map(|p| (p.offset, p.len)).collect();
            prop_assert!(exact_cover(imm, edtl, &acc));
            for d in &h.pdus {
                prop_assert!(d.len <= p.target_mrdsl);
            }
        }

        #[test]
        fn prop_mutated_stream_never_completes_with_hole_or_overlap(
            (p, edtl, imm, f) in arb_command(),
            seed in any::<u64>(),
            interleave in any::<bool>(),
            kind in 0u8..9,
            at in any::<usize>(),
            delta in 1u32..5000,
        ) {
            let mut x = WriteXfer::new(edtl, imm, f, &p).unwrap();
            let h = honest(&mut x, f, &p, seed, interleave);
            let mut pdus = h.pdus.clone();
            // The unmutated replay completes.
            let mut y = WriteXfer::new(edtl, imm, f, &p).unwrap();
            let acc = replay(&mut y, &pdus);
            prop_assert!(y.is_complete());
            prop_assert!(exact_cover(imm, edtl, &acc));
            if !pdus.is_empty() {
                let i = at % pdus.len();
                let q = &mut pdus[i];
                match kind {
                    0 => { pdus.remove(i); }
                    1 => { let d = pdus[i]; pdus.insert(i, d); }
                    2 => { if i + 1 < pdus.len() { pdus.swap(i, i + 1); } else { pdus.swap(0, i); } }
                    3 => q.offset = q.offset.wrapping_add(delta),
                    4 => q.offset = q.offset.wrapping_sub(delta),
                    5 => q.data_sn = q.data_sn.wrapping_add(delta),
                    6 => q.len = q.len.wrapping_add(delta),
                    7 => q.final_f = !q.final_f,
                    _ => q.ttt = q.ttt.wrapping_add(delta),
                }
            }
            let changed = pdus != h.pdus;
            let mut z = WriteXfer::new(edtl, imm, f, &p).unwrap();
            let acc = replay(&mut z, &pdus);
            if z.is_complete() {
                prop_assert!(exact_cover(imm, edtl, &acc));
            }
            // Losing or duplicating a non-empty PDU is always noticed.
            if changed && (kind == 0 || kind == 1) && h.pdus[at % h.pdus.len()].len > 0 {
                prop_assert!(!z.is_complete());
            }
        }

        #[test]
        fn prop_arbitrary_data_out_never_panics_or_lies(
            p in arb_params(),
            edtl in any::<u32>(),
            imm in any::<u32>(),
            f in any::<bool>(),
            ops in proptest::collection::vec(
                (any::<u8>(), any::<u32>(), 0u32..8, any::<u32>(), 0u32..3000, any::<bool>()),
                0..64,
            ),
        ) {
            let Ok(mut x) = WriteXfer::new(edtl, imm, f, &p) else { return Ok(()); };
            let mut ttts: Vec<u32> = Vec::new();
            let mut acc: Vec<(u32, u32)> = Vec::new();
            while let Some(r) = x.next_r2t() { ttts.push(r.ttt); }
            for (sel, raw_ttt, sn, raw_off, len, fin) in ops {
                let ttt = match sel % 3 {
                    0 => RESERVED_TTT,
                    1 if !ttts.is_empty() => ttts[usize::from(sel) % ttts.len()],
                    _ => raw_ttt,
                };
                let off = if sel & 0x80 != 0 { raw_off } else { raw_off % (edtl.max(1)) };
                if let Ok(pr) = x.on_data_out(ttt, sn, off, len, fin) {
                    acc.push((off, len));
                    if pr == Progress::SequenceDone {
                        while let Some(r) = x.next_r2t() { ttts.push(r.ttt); }
                    }
                }
                prop_assert!(x.outstanding_r2ts() <= MAX_TRACKED_R2TS);
            }
            if x.is_complete() {
                prop_assert!(exact_cover(imm, x.total_len(), &acc));
            }
        }

        #[test]
        fn prop_data_in_plan_invariants(
            total in 0u32..200_000,
            mrdsl in 512u32..=20_000,
            mbl in 512u32..=40_000,
            s in any::<bool>(),
            first in any::<u32>(),
        ) {
            let p = DataInPlan::new(total, mrdsl, mbl, s).unwrap().with_first_data_sn(first);
            let n = p.pdu_count();
            prop_assert_eq!(p.len(), usize::try_from(n).unwrap());
            let v: Vec<_> = p.collect();
            prop_assert_eq!(v.len(), usize::try_from(n).unwrap());
            let mut at = 0u32;
            let mut burst = 0u32;
            for (k, d) in v.iter().enumerate() {
                prop_assert_eq!(d.offset, at);
                prop_assert!(d.len > 0 && d.len <= mrdsl);
                prop_assert_eq!(d.data_sn, first.wrapping_add(u32::try_from(k).unwrap()));
                burst += d.len;
                prop_assert!(burst <= mbl);
                let last = k + 1 == v.len();
                prop_assert_eq!(d.status_s, s && last);
                if d.final_f {
                    // A sequence closes at MaxBurstLength or at the end.
                    prop_assert!(burst == mbl || last);
                    burst = 0;
                } else {
                    prop_assert!(!last);
                    prop_assert!(burst < mbl);
                }
                at += d.len;
            }
            prop_assert_eq!(at, total);
        }

        #[test]
        fn prop_data_in_never_panics(
            total in any::<u32>(),
            mrdsl in any::<u32>(),
            mbl in any::<u32>(),
            s in any::<bool>(),
            take in 0usize..64,
        ) {
            if let Ok(p) = DataInPlan::new(total, mrdsl, mbl, s) {
                let n = p.len();
                let got = p.take(take).count();
                prop_assert_eq!(got, n.min(take));
            }
        }

        #[test]
        fn prop_residual_invariants(edtl in any::<u32>(), actual in any::<u64>()) {
            let r = residual(edtl, actual);
            prop_assert!(!(r.underflow && r.overflow));
            let diff = u64::from(edtl).abs_diff(actual);
            prop_assert_eq!(u64::from(r.count), diff.min(u64::from(u32::MAX)));
            prop_assert_eq!(r.is_none(), diff == 0);
            prop_assert_eq!(r.underflow, actual < u64::from(edtl));
            prop_assert_eq!(r.overflow, actual > u64::from(edtl));
            prop_assert!(r.response_flags() & !(RESP_O | RESP_U) == 0);
            prop_assert!(r.bidi_read_flags() & !(RESP_BIDI_O | RESP_BIDI_U) == 0);
            prop_assert!(data_in_len(edtl, actual) <= edtl);
            prop_assert_eq!(u64::from(data_in_len(edtl, actual)), actual.min(u64::from(edtl)));
        }
    }
}
