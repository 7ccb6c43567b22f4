// SPDX-License-Identifier: GPL-2.0

//! UNIT ATTENTION conditions of one I_T_L nexus (SAM-5 5.14, SPC-4 Control
//! mode page UA_INTLCK_CTRL).
//!
//! A [`UaQueue`] is the fixed-capacity list of unit attention conditions a
//! logical unit holds for one I_T nexus. The rules it implements:
//!
//! - **Reset class supersedes.** The SAM-5 event codes 29/00..29/04 and 29/07
//!   (power on, hard reset, LOGICAL UNIT RESET, I_T nexus loss) clear every UA
//!   queued before them: the reset made those conditions moot. Only one reset
//!   class UA is ever queued; when a second one arrives the higher priority
//!   one (SAM-5 table of event priorities: 29/01 and 29/04 highest, then 29/02,
//!   29/03, 29/07, and 29/00 lowest) is kept.
//! - **No duplicates.** A UA with the same ASC/ASCQ as one already queued is
//!   not queued again (SCST `scst_check_set_UA`).
//! - **Oldest first.** Conditions are reported in the order they were
//!   established; a reset class UA, when present, is always the oldest.
//! - **Overflow.** When the queue is full a new (non-reset) UA is dropped and
//!   the queue remembers that it overflowed; the next UA reported carries the
//!   OVERFLOW bit of the unit attention sense-key-specific data (SPC-4
//!   4.5.2.4.6), telling the initiator that conditions were lost and it must
//!   rediscover state. The overflow mark clears once reported.
//!
//! Which commands report or clear a UA (SAM-5 5.14), see [`UaClass`]:
//! INQUIRY neither reports nor clears; REPORT LUNS does not report but clears
//! a pending REPORTED LUNS DATA HAS CHANGED; REQUEST SENSE returns the UA as
//! its sense data and clears it; every other command is terminated with
//! CHECK CONDITION carrying the UA, which is cleared unless UA_INTLCK_CTRL is
//! 10b or 11b.

use super::sense::{asc, Asc, Format, Key, Sense, Specific};
use super::types::Status;

/// 2C/07 PREVIOUS BUSY STATUS (UA_INTLCK_CTRL 11b).
pub const PREVIOUS_BUSY_STATUS: Asc = Asc(0x2c, 0x07);
/// 2C/08 PREVIOUS TASK SET FULL STATUS (UA_INTLCK_CTRL 11b).
pub const PREVIOUS_TASK_SET_FULL_STATUS: Asc = Asc(0x2c, 0x08);
/// 2C/09 PREVIOUS RESERVATION CONFLICT STATUS (UA_INTLCK_CTRL 11b).
pub const PREVIOUS_RESERVATION_CONFLICT_STATUS: Asc = Asc(0x2c, 0x09);
/// 3F/01 MICROCODE HAS BEEN CHANGED.
pub const MICROCODE_CHANGED: Asc = Asc(0x3f, 0x01);

/// INQUIRY operation code.
const OP_INQUIRY: u8 = 0x12;
/// REQUEST SENSE operation code.
const OP_REQUEST_SENSE: u8 = 0x03;
/// REPORT LUNS operation code.
const OP_REPORT_LUNS: u8 = 0xa0;

/// Identifies one I_T nexus (an initiator port / target port pair, i.e. one
/// session in SCST terms). The value is the caller's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItNexus(pub u64);

/// SAM-5 priority of a reset class UA: `Some(1)` is the highest, `Some(5)`
/// the lowest; `None` for any other code.
///
/// The ranks follow SAM-5's table of UA codes for events detected by SCSI
/// target devices: power on / device internal reset, then hard reset, then
/// LOGICAL UNIT RESET, then I_T nexus loss, then the generic 29/00.
pub fn reset_rank(code: Asc) -> Option<u8> {
    match (code.0, code.1) {
        (0x29, 0x01) | (0x29, 0x04) => Some(1),
        (0x29, 0x02) => Some(2),
        (0x29, 0x03) => Some(3),
        (0x29, 0x07) => Some(4),
        (0x29, 0x00) => Some(5),
        _ => None,
    }
}

/// Whether `code` is a reset class UA (see [`reset_rank`]).
pub fn is_reset_class(code: Asc) -> bool {
    reset_rank(code).is_some()
}

/// One unit attention condition: its ASC/ASCQ and an optional
/// sense-key-specific field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ua {
    /// The additional sense code and qualifier.
    pub asc: Asc,
    /// The sense-key-specific field to report with it, if any.
    pub specific: Option<Specific>,
}

impl Ua {
    /// A UA with no sense-key-specific field.
    pub const fn new(code: Asc) -> Self {
        Self {
            asc: code,
            specific: None,
        }
    }
}

/// What [`UaQueue::push`] did with a new condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Appended to the queue.
    Queued,
    /// A reset class UA that cleared `cleared` older conditions and took
    /// their place.
    Superseded {
        /// How many queued conditions it removed.
        cleared: usize,
    },
    /// Already queued (same ASC/ASCQ): nothing changed.
    Duplicate,
    /// A reset class UA of lower priority than the one already queued: the
    /// queued one stands for both.
    Subsumed,
    /// The queue was full: dropped, and the overflow mark set.
    Overflowed,
}

/// A UA taken from the queue for reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UaReport {
    /// The condition.
    pub ua: Ua,
    /// Whether the queue overflowed since the last report (OVERFLOW bit).
    pub overflow: bool,
}

impl UaReport {
    /// The UNIT ATTENTION sense condition (without the OVERFLOW bit, which
    /// [`Sense`] cannot carry; use [`UaReport::encode`] for the wire form).
    pub fn sense(&self) -> Sense {
        let mut s = Sense::unit_attention(self.ua.asc);
        s.specific = self.ua.specific;
        s
    }

    /// Encodes the sense data into `buf` (truncated to fit) and returns its
    /// full length. With `overflow` set, the sense-key-specific field is the
    /// SPC-4 unit attention format: SKSV=1 and OVERFLOW (bit 0 of its first
    /// byte) = 1.
    pub fn encode(&self, format: Format, buf: &mut [u8]) -> usize {
        let mut s = self.sense();
        if self.overflow {
            // Progress(0) yields SKSV=1 and zero bytes: the overflow bit is
            // then set in place, as sense.rs has no unit attention variant.
            s.specific = Some(Specific::Progress(0));
        }
        let mut full = [0u8; super::sense::MAX_LEN];
        let n = s.encode(format, false, &mut full);
        if self.overflow {
            if let Some(at) = sks_offset(format, &full[..n.min(full.len())]) {
                if let Some(b) = full.get_mut(at) {
                    *b |= 0x01;
                }
            }
        }
        let stored = n.min(full.len()).min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..stored), full.get(..stored)) {
            dst.copy_from_slice(src);
        }
        n
    }
}

/// Offset of the first sense-key-specific byte in encoded sense data.
fn sks_offset(format: Format, b: &[u8]) -> Option<usize> {
    match format {
        Format::Fixed => (b.len() >= 18).then_some(15),
        Format::Descriptor => {
            let mut pos = 8usize;
            while pos.checked_add(2)? <= b.len() {
                let ty = *b.get(pos)?;
                let len = usize::from(*b.get(pos + 1)?);
                if ty == 0x02 {
                    let at = pos.checked_add(4)?;
                    return (at < b.len()).then_some(at);
                }
                pos = pos.checked_add(2)?.checked_add(len)?;
            }
            None
        }
    }
}

/// UA_INTLCK_CTRL of the Control mode page (SPC-4 table "UA_INTLCK_CTRL
/// field"): whether reporting a UA with CHECK CONDITION clears it, and
/// whether BUSY, TASK SET FULL and RESERVATION CONFLICT establish one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UaIntlck {
    /// 00b: a UA reported with CHECK CONDITION is cleared.
    #[default]
    Clear,
    /// 10b: a UA reported with CHECK CONDITION is not cleared (only REQUEST
    /// SENSE clears it); no UA for BUSY and friends.
    Keep,
    /// 11b: as 10b, and terminating a command with BUSY, TASK SET FULL or
    /// RESERVATION CONFLICT establishes a PREVIOUS ... STATUS UA (once, until
    /// cleared).
    KeepAndEstablish,
}

impl UaIntlck {
    /// Decodes the two-bit field; 01b is reserved and yields `None`.
    pub fn from_bits(v: u8) -> Option<Self> {
        match v & 3 {
            0 => Some(Self::Clear),
            2 => Some(Self::Keep),
            3 => Some(Self::KeepAndEstablish),
            _ => None,
        }
    }

    /// The two-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            Self::Clear => 0,
            Self::Keep => 2,
            Self::KeepAndEstablish => 3,
        }
    }

    /// Reads the field from a Control mode page (byte 4, bits 5..4); a page
    /// too short to hold it reads as 00b.
    pub fn from_control_page(page: &[u8]) -> Option<Self> {
        Self::from_bits(page.get(4).copied().unwrap_or(0) >> 4)
    }

    /// Whether reporting a UA with CHECK CONDITION clears it.
    pub fn clears_on_report(self) -> bool {
        self == Self::Clear
    }
}

/// How a command interacts with a pending UA (SAM-5 5.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UaClass {
    /// INQUIRY: neither reports nor clears.
    Exempt,
    /// REPORT LUNS: does not report; clears REPORTED LUNS DATA HAS CHANGED.
    ReportLuns,
    /// REQUEST SENSE: returns the UA as sense data and clears it.
    RequestSense,
    /// Everything else: CHECK CONDITION with the UA.
    Reporting,
}

/// The [`UaClass`] of a command, by operation code.
pub fn ua_class(opcode: u8) -> UaClass {
    match opcode {
        OP_INQUIRY => UaClass::Exempt,
        OP_REPORT_LUNS => UaClass::ReportLuns,
        OP_REQUEST_SENSE => UaClass::RequestSense,
        _ => UaClass::Reporting,
    }
}

/// What a command must do about the UA queue (see [`UaQueue::on_command`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UaAction {
    /// Process the command normally.
    Proceed,
    /// Terminate the command with CHECK CONDITION and this UA as sense.
    CheckCondition(UaReport),
    /// REQUEST SENSE: return this UA as the sense data (GOOD status).
    SenseData(UaReport),
}

/// Answer for QUERY ASYNCHRONOUS EVENT (SAM-5): the next pending condition
/// and whether more follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingEvent {
    /// Sense key of the pending condition.
    pub key: Key,
    /// ASC/ASCQ of the pending condition.
    pub asc: Asc,
    /// Whether more than one condition is pending.
    pub more: bool,
}

/// The unit attention conditions of one I_T_L nexus, at most `N` of them.
#[derive(Clone, Debug)]
pub struct UaQueue<const N: usize> {
    items: [Ua; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for UaQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> UaQueue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            items: [Ua::new(asc::NO_ADDITIONAL); N],
            len: 0,
            overflow: false,
        }
    }

    /// A queue for a new nexus, holding `code` (SCST queues 29/00 POWER ON,
    /// RESET, OR BUS DEVICE RESET OCCURRED for a new session or a LUN newly
    /// added to a session).
    pub fn with(code: Asc) -> Self {
        let mut q = Self::new();
        q.push(code);
        q
    }

    /// Number of queued conditions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no condition is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the queue is at capacity.
    pub fn is_full(&self) -> bool {
        self.len >= N
    }

    /// Whether a condition was dropped since the last report.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// The queued conditions, oldest first.
    pub fn as_slice(&self) -> &[Ua] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Whether a condition with this ASC/ASCQ is queued.
    pub fn contains(&self, code: Asc) -> bool {
        self.as_slice().iter().any(|u| u.asc == code)
    }

    /// Queues a UA with no sense-key-specific field.
    pub fn push(&mut self, code: Asc) -> PushOutcome {
        self.push_ua(Ua::new(code))
    }

    /// Queues a UA, applying the supersede / duplicate / overflow rules of
    /// the module documentation.
    pub fn push_ua(&mut self, ua: Ua) -> PushOutcome {
        if let Some(rank) = reset_rank(ua.asc) {
            // At most one reset class UA, always at the head.
            if let Some(head) = self.as_slice().first() {
                if let Some(old) = reset_rank(head.asc) {
                    if head.asc == ua.asc {
                        return PushOutcome::Duplicate;
                    }
                    if old <= rank {
                        return PushOutcome::Subsumed;
                    }
                }
            }
            if N == 0 {
                self.overflow = true;
                return PushOutcome::Overflowed;
            }
            let cleared = self.len;
            self.len = 0;
            // Whatever was dropped for lack of room predates the reset too.
            self.overflow = false;
            self.append(ua);
            return PushOutcome::Superseded { cleared };
        }
        if self.contains(ua.asc) {
            return PushOutcome::Duplicate;
        }
        if self.is_full() {
            self.overflow = true;
            return PushOutcome::Overflowed;
        }
        self.append(ua);
        PushOutcome::Queued
    }

    fn append(&mut self, ua: Ua) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = ua;
            self.len += 1;
        }
    }

    /// The condition that would be reported next, without removing it.
    pub fn peek(&self) -> Option<UaReport> {
        self.as_slice().first().map(|&ua| UaReport {
            ua,
            overflow: self.overflow,
        })
    }

    /// Removes and returns the next condition; clears the overflow mark,
    /// which the returned report carries.
    pub fn pop(&mut self) -> Option<UaReport> {
        let r = self.peek()?;
        self.remove_at(0);
        self.overflow = false;
        Some(r)
    }

    fn remove_at(&mut self, i: usize) {
        if i >= self.len {
            return;
        }
        let end = self.len;
        if let Some(s) = self.items.get_mut(i..end) {
            s.rotate_left(1);
        }
        self.len -= 1;
    }

    /// Removes every queued condition with this ASC/ASCQ; returns whether
    /// one was removed.
    pub fn clear_asc(&mut self, code: Asc) -> bool {
        self.retain(|u| u.asc != code) > 0
    }

    /// Keeps only the conditions for which `keep` is true; returns how many
    /// were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(&Ua) -> bool) -> usize {
        let mut w = 0usize;
        let mut r = 0usize;
        while r < self.len {
            if let Some(u) = self.items.get(r).copied() {
                if keep(&u) {
                    if let Some(slot) = self.items.get_mut(w) {
                        *slot = u;
                    }
                    w += 1;
                }
            }
            r += 1;
        }
        let removed = self.len - w;
        self.len = w;
        removed
    }

    /// Drops every condition and the overflow mark (e.g. when the nexus is
    /// torn down).
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Applies SAM-5 5.14 for a command about to enter the enabled state on
    /// this nexus: reports (and per `intlck` clears) the next UA, or lets the
    /// command proceed.
    ///
    /// REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED here; SAM-5 wants it
    /// cleared on every LU of the I_T nexus, so the caller does
    /// [`UaQueue::clear_asc`] on the other LUs' queues.
    pub fn on_command(&mut self, opcode: u8, intlck: UaIntlck) -> UaAction {
        match ua_class(opcode) {
            UaClass::Exempt => UaAction::Proceed,
            UaClass::ReportLuns => {
                self.clear_asc(asc::REPORTED_LUNS_DATA_CHANGED);
                UaAction::Proceed
            }
            UaClass::RequestSense => match self.pop() {
                Some(r) => UaAction::SenseData(r),
                None => UaAction::Proceed,
            },
            UaClass::Reporting => {
                let r = if intlck.clears_on_report() {
                    self.pop()
                } else {
                    self.peek()
                };
                match r {
                    Some(r) => UaAction::CheckCondition(r),
                    None => UaAction::Proceed,
                }
            }
        }
    }

    /// Records that a command on this nexus ended with `status`; with
    /// UA_INTLCK_CTRL 11b, BUSY, TASK SET FULL and RESERVATION CONFLICT
    /// establish the matching PREVIOUS ... STATUS UA (once until cleared,
    /// which the duplicate rule gives). Returns what was queued, if anything.
    pub fn on_status(&mut self, status: Status, intlck: UaIntlck) -> Option<PushOutcome> {
        if intlck != UaIntlck::KeepAndEstablish {
            return None;
        }
        let code = previous_status_asc(status)?;
        Some(self.push(code))
    }

    /// The QUERY ASYNCHRONOUS EVENT view of this queue.
    pub fn pending_event(&self) -> Option<PendingEvent> {
        self.as_slice().first().map(|u| PendingEvent {
            key: Key::UnitAttention,
            asc: u.asc,
            more: self.len > 1,
        })
    }
}

/// The PREVIOUS ... STATUS code for a status that UA_INTLCK_CTRL 11b
/// remembers, or `None`.
pub fn previous_status_asc(status: Status) -> Option<Asc> {
    match status {
        Status::Busy => Some(PREVIOUS_BUSY_STATUS),
        Status::TaskSetFull => Some(PREVIOUS_TASK_SET_FULL_STATUS),
        Status::ReservationConflict => Some(PREVIOUS_RESERVATION_CONFLICT_STATUS),
        _ => None,
    }
}

/// Which I_T nexuses a device-wide event owes a UA to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipients {
    /// Every I_T nexus, including the one whose command caused the event.
    All,
    /// Every I_T nexus except the one whose command caused it (all of them
    /// when the event had no originating command).
    AllButOrigin,
}

/// Which logical units' queues of a recipient get the UA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Only the LU the event happened on.
    ThisLu,
    /// Every LU the I_T nexus can access.
    AllLus,
}

/// A device or target event that establishes UAs on other nexuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The LU inventory changed (LUN added or removed): 3F/0E to every I_T
    /// nexus on every LU it can access (SPC-4 REPORT LUNS, SAM-5 5.14).
    ReportedLunsChanged,
    /// A shared mode page changed: 2A/01 to every other I_T nexus (SPC-4
    /// MODE SELECT).
    ModeParametersChanged,
    /// Log parameters changed: 2A/02 to every other I_T nexus (LOG SELECT).
    LogParametersChanged,
    /// The capacity changed: 2A/09 to every other I_T nexus (SBC-3); all of
    /// them when it changed by external resize.
    CapacityChanged,
    /// Standard INQUIRY or VPD data changed: 3F/03 to every other I_T nexus.
    InquiryDataChanged,
    /// The target port asymmetric access state changed: 2A/06 to every I_T
    /// nexus but the one that sent SET TARGET PORT GROUPS (SPC-4 5.16).
    AsymmetricAccessStateChanged,
    /// New microcode was activated: 3F/01 to every other I_T nexus (WRITE
    /// BUFFER).
    MicrocodeChanged,
    /// Removable medium may have changed: 28/00 to every I_T nexus.
    MediumChanged,
}

impl DeviceEvent {
    /// The UA code the event establishes.
    pub fn asc(self) -> Asc {
        match self {
            Self::ReportedLunsChanged => asc::REPORTED_LUNS_DATA_CHANGED,
            Self::ModeParametersChanged => asc::MODE_PARAMETERS_CHANGED,
            Self::LogParametersChanged => asc::LOG_PARAMETERS_CHANGED,
            Self::CapacityChanged => asc::CAPACITY_DATA_CHANGED,
            Self::InquiryDataChanged => asc::INQUIRY_DATA_CHANGED,
            Self::AsymmetricAccessStateChanged => asc::ALUA_STATE_CHANGED,
            Self::MicrocodeChanged => MICROCODE_CHANGED,
            Self::MediumChanged => asc::MEDIUM_MAY_HAVE_CHANGED,
        }
    }

    /// Which I_T nexuses receive it.
    pub fn recipients(self) -> Recipients {
        match self {
            Self::ReportedLunsChanged | Self::MediumChanged => Recipients::All,
            _ => Recipients::AllButOrigin,
        }
    }

    /// Which LUs of a recipient receive it.
    pub fn reach(self) -> Reach {
        match self {
            Self::ReportedLunsChanged => Reach::AllLus,
            _ => Reach::ThisLu,
        }
    }

    /// The UA owed to `nexus` for this event caused by a command from
    /// `origin` (`None`: no command caused it), or `None` if it owes nothing.
    pub fn owed_to(self, nexus: ItNexus, origin: Option<ItNexus>) -> Option<Asc> {
        match self.recipients() {
            Recipients::All => Some(self.asc()),
            Recipients::AllButOrigin if origin == Some(nexus) => None,
            Recipients::AllButOrigin => Some(self.asc()),
        }
    }

    /// Pushes the owed UA (if any) into `queue`, the queue of `nexus` on an
    /// LU the event reaches.
    pub fn apply<const N: usize>(
        self,
        queue: &mut UaQueue<N>,
        nexus: ItNexus,
        origin: Option<ItNexus>,
    ) -> Option<PushOutcome> {
        self.owed_to(nexus, origin).map(|code| queue.push(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    type Q = UaQueue<4>;

    fn codes<const N: usize>(q: &UaQueue<N>) -> Vec<Asc> {
        q.as_slice().iter().map(|u| u.asc).collect()
    }

    #[test]
    fn new_is_empty() {
        let q = Q::new();
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert!(q.peek().is_none());
        assert!(!q.overflowed());
    }

    #[test]
    fn default_is_empty() {
        let q: Q = Default::default();
        assert!(q.is_empty());
    }

    #[test]
    fn with_queues_code() {
        let q = Q::with(asc::POWER_ON_RESET);
        assert_eq!(codes(&q), [asc::POWER_ON_RESET]);
    }

    #[test]
    fn push_queues_in_order() {
        let mut q = Q::new();
        assert_eq!(q.push(asc::MODE_PARAMETERS_CHANGED), PushOutcome::Queued);
        assert_eq!(q.push(asc::CAPACITY_DATA_CHANGED), PushOutcome::Queued);
        assert_eq!(
            codes(&q),
            [asc::MODE_PARAMETERS_CHANGED, asc::CAPACITY_DATA_CHANGED]
        );
    }

    #[test]
    fn duplicate_not_queued() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.push(asc::MODE_PARAMETERS_CHANGED), PushOutcome::Duplicate);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn duplicate_keeps_position() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.pop().unwrap().ua.asc, asc::MODE_PARAMETERS_CHANGED);
    }

    #[test]
    fn same_asc_different_ascq_not_duplicate() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.push(asc::LOG_PARAMETERS_CHANGED), PushOutcome::Queued);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn reset_clears_earlier() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        assert_eq!(
            q.push(asc::BUS_DEVICE_RESET),
            PushOutcome::Superseded { cleared: 2 }
        );
        assert_eq!(codes(&q), [asc::BUS_DEVICE_RESET]);
    }

    #[test]
    fn reset_on_empty_queue() {
        let mut q = Q::new();
        assert_eq!(
            q.push(asc::POWER_ON_RESET),
            PushOutcome::Superseded { cleared: 0 }
        );
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn later_ua_follows_reset() {
        let mut q = Q::new();
        q.push(asc::I_T_NEXUS_LOSS);
        q.push(asc::REPORTED_LUNS_DATA_CHANGED);
        assert_eq!(
            codes(&q),
            [asc::I_T_NEXUS_LOSS, asc::REPORTED_LUNS_DATA_CHANGED]
        );
    }

    #[test]
    fn lower_priority_reset_subsumed() {
        let mut q = Q::new();
        q.push(asc::POWER_ON);
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.push(asc::BUS_DEVICE_RESET), PushOutcome::Subsumed);
        // The later UA stays: the lower reset did not supersede anything.
        assert_eq!(codes(&q), [asc::POWER_ON, asc::MODE_PARAMETERS_CHANGED]);
    }

    #[test]
    fn generic_reset_subsumed_by_specific() {
        let mut q = Q::new();
        q.push(asc::I_T_NEXUS_LOSS);
        assert_eq!(q.push(asc::POWER_ON_RESET), PushOutcome::Subsumed);
        assert_eq!(codes(&q), [asc::I_T_NEXUS_LOSS]);
    }

    #[test]
    fn higher_priority_reset_replaces() {
        let mut q = Q::new();
        q.push(asc::I_T_NEXUS_LOSS);
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(
            q.push(asc::POWER_ON),
            PushOutcome::Superseded { cleared: 2 }
        );
        assert_eq!(codes(&q), [asc::POWER_ON]);
    }

    #[test]
    fn same_reset_is_duplicate() {
        let mut q = Q::new();
        q.push(asc::BUS_DEVICE_RESET);
        assert_eq!(q.push(asc::BUS_DEVICE_RESET), PushOutcome::Duplicate);
    }

    #[test]
    fn equal_rank_reset_subsumed() {
        // 29/01 and 29/04 share the top rank: the first one stands.
        let mut q = Q::new();
        q.push(asc::POWER_ON);
        assert_eq!(q.push(asc::DEVICE_INTERNAL_RESET), PushOutcome::Subsumed);
        assert_eq!(codes(&q), [asc::POWER_ON]);
    }

    #[test]
    fn ranks_match_sam5() {
        assert_eq!(reset_rank(asc::POWER_ON), Some(1));
        assert_eq!(reset_rank(asc::DEVICE_INTERNAL_RESET), Some(1));
        assert_eq!(reset_rank(asc::BUS_RESET), Some(2));
        assert_eq!(reset_rank(asc::BUS_DEVICE_RESET), Some(3));
        assert_eq!(reset_rank(asc::I_T_NEXUS_LOSS), Some(4));
        assert_eq!(reset_rank(asc::POWER_ON_RESET), Some(5));
        assert_eq!(reset_rank(asc::TRANSCEIVER_SE), None);
        assert_eq!(reset_rank(asc::MODE_PARAMETERS_CHANGED), None);
    }

    #[test]
    fn transceiver_change_not_reset_class() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.push(asc::TRANSCEIVER_LVD), PushOutcome::Queued);
        assert_eq!(q.len(), 2);
        assert!(!is_reset_class(asc::TRANSCEIVER_LVD));
        assert!(is_reset_class(asc::I_T_NEXUS_LOSS));
    }

    #[test]
    fn overflow_drops_new_and_marks() {
        let mut q = UaQueue::<2>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::LOG_PARAMETERS_CHANGED);
        assert!(q.is_full());
        assert_eq!(q.push(asc::CAPACITY_DATA_CHANGED), PushOutcome::Overflowed);
        assert!(q.overflowed());
        assert_eq!(
            codes(&q),
            [asc::MODE_PARAMETERS_CHANGED, asc::LOG_PARAMETERS_CHANGED]
        );
    }

    #[test]
    fn overflow_duplicate_is_not_overflow() {
        let mut q = UaQueue::<1>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.push(asc::MODE_PARAMETERS_CHANGED), PushOutcome::Duplicate);
        assert!(!q.overflowed());
    }

    #[test]
    fn overflow_reported_once() {
        let mut q = UaQueue::<1>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::LOG_PARAMETERS_CHANGED);
        let r = q.pop().unwrap();
        assert!(r.overflow);
        assert!(!q.overflowed());
        q.push(asc::CAPACITY_DATA_CHANGED);
        assert!(!q.pop().unwrap().overflow);
    }

    #[test]
    fn reset_fits_when_full_and_clears_overflow() {
        let mut q = UaQueue::<1>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::LOG_PARAMETERS_CHANGED);
        assert!(q.overflowed());
        assert_eq!(
            q.push(asc::BUS_DEVICE_RESET),
            PushOutcome::Superseded { cleared: 1 }
        );
        assert!(!q.overflowed());
        assert_eq!(codes(&q), [asc::BUS_DEVICE_RESET]);
    }

    #[test]
    fn zero_capacity_never_panics() {
        let mut q = UaQueue::<0>::new();
        assert_eq!(q.push(asc::POWER_ON_RESET), PushOutcome::Overflowed);
        assert_eq!(
            q.push(asc::MODE_PARAMETERS_CHANGED),
            PushOutcome::Overflowed
        );
        assert!(q.pop().is_none());
        assert_eq!(q.on_command(0x00, UaIntlck::Clear), UaAction::Proceed);
    }

    #[test]
    fn pop_oldest_first() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        q.push(asc::INQUIRY_DATA_CHANGED);
        assert_eq!(q.pop().unwrap().ua.asc, asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.pop().unwrap().ua.asc, asc::CAPACITY_DATA_CHANGED);
        assert_eq!(q.pop().unwrap().ua.asc, asc::INQUIRY_DATA_CHANGED);
        assert!(q.pop().is_none());
    }

    #[test]
    fn peek_does_not_remove() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.peek().unwrap().ua.asc, asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn clear_asc_removes_match() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::REPORTED_LUNS_DATA_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        assert!(q.clear_asc(asc::REPORTED_LUNS_DATA_CHANGED));
        assert_eq!(
            codes(&q),
            [asc::MODE_PARAMETERS_CHANGED, asc::CAPACITY_DATA_CHANGED]
        );
        assert!(!q.clear_asc(asc::REPORTED_LUNS_DATA_CHANGED));
    }

    #[test]
    fn retain_counts_removed() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::LOG_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        assert_eq!(q.retain(|u| u.asc.0 != 0x2a), 3);
        assert!(q.is_empty());
    }

    #[test]
    fn clear_empties_and_resets_overflow() {
        let mut q = UaQueue::<1>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::LOG_PARAMETERS_CHANGED);
        q.clear();
        assert!(q.is_empty());
        assert!(!q.overflowed());
    }

    #[test]
    fn ua_class_table() {
        assert_eq!(ua_class(0x12), UaClass::Exempt);
        assert_eq!(ua_class(0xa0), UaClass::ReportLuns);
        assert_eq!(ua_class(0x03), UaClass::RequestSense);
        assert_eq!(ua_class(0x00), UaClass::Reporting);
        assert_eq!(ua_class(0x28), UaClass::Reporting);
        assert_eq!(ua_class(0x1a), UaClass::Reporting);
    }

    #[test]
    fn inquiry_neither_reports_nor_clears() {
        let mut q = Q::with(asc::POWER_ON_RESET);
        assert_eq!(q.on_command(0x12, UaIntlck::Clear), UaAction::Proceed);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn report_luns_clears_only_luns_changed() {
        let mut q = Q::new();
        q.push(asc::REPORTED_LUNS_DATA_CHANGED);
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(q.on_command(0xa0, UaIntlck::Clear), UaAction::Proceed);
        assert_eq!(codes(&q), [asc::MODE_PARAMETERS_CHANGED]);
    }

    #[test]
    fn report_luns_does_not_report_reset() {
        let mut q = Q::with(asc::POWER_ON_RESET);
        assert_eq!(q.on_command(0xa0, UaIntlck::Clear), UaAction::Proceed);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn request_sense_returns_and_clears() {
        let mut q = Q::with(asc::POWER_ON_RESET);
        match q.on_command(0x03, UaIntlck::Clear) {
            UaAction::SenseData(r) => assert_eq!(r.ua.asc, asc::POWER_ON_RESET),
            other => panic!("{other:?}"),
        }
        assert!(q.is_empty());
    }

    #[test]
    fn request_sense_clears_even_when_interlocked() {
        let mut q = Q::with(asc::POWER_ON_RESET);
        assert!(matches!(
            q.on_command(0x03, UaIntlck::Keep),
            UaAction::SenseData(_)
        ));
        assert!(q.is_empty());
    }

    #[test]
    fn request_sense_without_ua_proceeds() {
        let mut q = Q::new();
        assert_eq!(q.on_command(0x03, UaIntlck::Clear), UaAction::Proceed);
    }

    #[test]
    fn other_command_gets_check_condition_and_clears() {
        let mut q = Q::with(asc::POWER_ON_RESET);
        match q.on_command(0x00, UaIntlck::Clear) {
            UaAction::CheckCondition(r) => {
                assert_eq!(r.ua.asc, asc::POWER_ON_RESET);
                assert!(!r.overflow);
            }
            other => panic!("{other:?}"),
        }
        assert!(q.is_empty());
        assert_eq!(q.on_command(0x00, UaIntlck::Clear), UaAction::Proceed);
    }

    #[test]
    fn one_ua_per_command() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        assert!(matches!(
            q.on_command(0x28, UaIntlck::Clear),
            UaAction::CheckCondition(r) if r.ua.asc == asc::MODE_PARAMETERS_CHANGED
        ));
        assert!(matches!(
            q.on_command(0x28, UaIntlck::Clear),
            UaAction::CheckCondition(r) if r.ua.asc == asc::CAPACITY_DATA_CHANGED
        ));
        assert_eq!(q.on_command(0x28, UaIntlck::Clear), UaAction::Proceed);
    }

    #[test]
    fn interlocked_keeps_ua_until_request_sense() {
        for il in [UaIntlck::Keep, UaIntlck::KeepAndEstablish] {
            let mut q = Q::with(asc::POWER_ON_RESET);
            for _ in 0..3 {
                assert!(matches!(
                    q.on_command(0x00, il),
                    UaAction::CheckCondition(r) if r.ua.asc == asc::POWER_ON_RESET
                ));
            }
            assert!(matches!(q.on_command(0x03, il), UaAction::SenseData(_)));
            assert_eq!(q.on_command(0x00, il), UaAction::Proceed);
        }
    }

    #[test]
    fn intlck_bits_round_trip() {
        for il in [UaIntlck::Clear, UaIntlck::Keep, UaIntlck::KeepAndEstablish] {
            assert_eq!(UaIntlck::from_bits(il.bits()), Some(il));
        }
        assert_eq!(UaIntlck::from_bits(1), None);
        assert_eq!(UaIntlck::default(), UaIntlck::Clear);
    }

    #[test]
    fn intlck_from_control_page() {
        let mut page = [0u8; 12];
        page[0] = 0x0a;
        page[1] = 0x0a;
        page[4] = 0x30 | 0x08; // UA_INTLCK_CTRL 11b, SWP set
        assert_eq!(
            UaIntlck::from_control_page(&page),
            Some(UaIntlck::KeepAndEstablish)
        );
        page[4] = 0x20;
        assert_eq!(UaIntlck::from_control_page(&page), Some(UaIntlck::Keep));
        page[4] = 0x10;
        assert_eq!(UaIntlck::from_control_page(&page), None);
        assert_eq!(UaIntlck::from_control_page(&[]), Some(UaIntlck::Clear));
    }

    #[test]
    fn busy_establishes_previous_busy_with_11b() {
        let mut q = Q::new();
        assert_eq!(
            q.on_status(Status::Busy, UaIntlck::KeepAndEstablish),
            Some(PushOutcome::Queued)
        );
        assert_eq!(codes(&q), [PREVIOUS_BUSY_STATUS]);
    }

    #[test]
    fn previous_status_only_once() {
        let mut q = Q::new();
        q.on_status(Status::Busy, UaIntlck::KeepAndEstablish);
        assert_eq!(
            q.on_status(Status::Busy, UaIntlck::KeepAndEstablish),
            Some(PushOutcome::Duplicate)
        );
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn previous_status_codes() {
        let mut q = Q::new();
        q.on_status(Status::TaskSetFull, UaIntlck::KeepAndEstablish);
        q.on_status(Status::ReservationConflict, UaIntlck::KeepAndEstablish);
        assert_eq!(
            codes(&q),
            [
                PREVIOUS_TASK_SET_FULL_STATUS,
                PREVIOUS_RESERVATION_CONFLICT_STATUS
            ]
        );
        assert_eq!(previous_status_asc(Status::Good), None);
        assert_eq!(previous_status_asc(Status::CheckCondition), None);
    }

    #[test]
    fn busy_no_ua_without_11b() {
        let mut q = Q::new();
        assert_eq!(q.on_status(Status::Busy, UaIntlck::Clear), None);
        assert_eq!(q.on_status(Status::Busy, UaIntlck::Keep), None);
        assert!(q.is_empty());
    }

    #[test]
    fn good_status_never_establishes() {
        let mut q = Q::new();
        assert_eq!(q.on_status(Status::Good, UaIntlck::KeepAndEstablish), None);
        assert!(q.is_empty());
    }

    #[test]
    fn fixed_sense_bytes() {
        let r = UaReport {
            ua: Ua::new(asc::POWER_ON_RESET),
            overflow: false,
        };
        let mut b = [0xffu8; 18];
        assert_eq!(r.encode(Format::Fixed, &mut b), 18);
        assert_eq!(
            b,
            [0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0]
        );
    }

    #[test]
    fn fixed_sense_overflow_bit() {
        let r = UaReport {
            ua: Ua::new(asc::MODE_PARAMETERS_CHANGED),
            overflow: true,
        };
        let mut b = [0u8; 18];
        r.encode(Format::Fixed, &mut b);
        assert_eq!(&b[12..14], &[0x2a, 0x01]);
        assert_eq!(&b[15..18], &[0x81, 0, 0]);
    }

    #[test]
    fn descriptor_sense_bytes() {
        let r = UaReport {
            ua: Ua::new(asc::I_T_NEXUS_LOSS),
            overflow: false,
        };
        let mut b = [0u8; 32];
        assert_eq!(r.encode(Format::Descriptor, &mut b), 8);
        assert_eq!(&b[..8], &[0x72, 0x06, 0x29, 0x07, 0, 0, 0, 0]);
    }

    #[test]
    fn descriptor_sense_overflow_bit() {
        let r = UaReport {
            ua: Ua::new(asc::I_T_NEXUS_LOSS),
            overflow: true,
        };
        let mut b = [0u8; 32];
        assert_eq!(r.encode(Format::Descriptor, &mut b), 16);
        assert_eq!(&b[..8], &[0x72, 0x06, 0x29, 0x07, 0, 0, 0, 8]);
        assert_eq!(&b[8..16], &[0x02, 0x06, 0, 0, 0x81, 0, 0, 0]);
    }

    #[test]
    fn encode_truncates() {
        let r = UaReport {
            ua: Ua::new(asc::POWER_ON_RESET),
            overflow: true,
        };
        let mut b = [0u8; 5];
        assert_eq!(r.encode(Format::Fixed, &mut b), 18);
        assert_eq!(b, [0x70, 0, 0x06, 0, 0]);
        let mut e: [u8; 0] = [];
        assert_eq!(r.encode(Format::Descriptor, &mut e), 16);
    }

    #[test]
    fn sense_carries_specific() {
        let ua = Ua {
            asc: asc::MODE_PARAMETERS_CHANGED,
            specific: Some(Specific::Progress(7)),
        };
        let r = UaReport {
            ua,
            overflow: false,
        };
        let s = r.sense();
        assert!(s.is_unit_attention());
        assert_eq!(s.specific, Some(Specific::Progress(7)));
        let mut b = [0u8; 18];
        r.encode(Format::Fixed, &mut b);
        assert_eq!(&b[15..18], &[0x80, 0, 7]);
    }

    #[test]
    fn push_ua_keeps_specific() {
        let mut q = Q::new();
        let ua = Ua {
            asc: asc::MODE_PARAMETERS_CHANGED,
            specific: Some(Specific::Progress(1)),
        };
        q.push_ua(ua);
        assert_eq!(q.pop().unwrap().ua, ua);
    }

    #[test]
    fn pending_event_reports_head_and_depth() {
        let mut q = Q::new();
        assert_eq!(q.pending_event(), None);
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert_eq!(
            q.pending_event(),
            Some(PendingEvent {
                key: Key::UnitAttention,
                asc: asc::MODE_PARAMETERS_CHANGED,
                more: false
            })
        );
        q.push(asc::CAPACITY_DATA_CHANGED);
        assert!(q.pending_event().unwrap().more);
    }

    #[test]
    fn luns_changed_to_everyone() {
        let e = DeviceEvent::ReportedLunsChanged;
        assert_eq!(e.asc(), asc::REPORTED_LUNS_DATA_CHANGED);
        assert_eq!(e.reach(), Reach::AllLus);
        assert_eq!(
            e.owed_to(ItNexus(1), Some(ItNexus(1))),
            Some(asc::REPORTED_LUNS_DATA_CHANGED)
        );
        assert_eq!(
            e.owed_to(ItNexus(2), None),
            Some(asc::REPORTED_LUNS_DATA_CHANGED)
        );
    }

    #[test]
    fn mode_change_skips_origin() {
        let e = DeviceEvent::ModeParametersChanged;
        assert_eq!(e.reach(), Reach::ThisLu);
        assert_eq!(e.recipients(), Recipients::AllButOrigin);
        assert_eq!(e.owed_to(ItNexus(1), Some(ItNexus(1))), None);
        assert_eq!(
            e.owed_to(ItNexus(2), Some(ItNexus(1))),
            Some(asc::MODE_PARAMETERS_CHANGED)
        );
    }

    #[test]
    fn event_without_origin_reaches_all() {
        let e = DeviceEvent::CapacityChanged;
        assert_eq!(
            e.owed_to(ItNexus(1), None),
            Some(asc::CAPACITY_DATA_CHANGED)
        );
    }

    #[test]
    fn event_codes() {
        assert_eq!(
            DeviceEvent::LogParametersChanged.asc(),
            asc::LOG_PARAMETERS_CHANGED
        );
        assert_eq!(
            DeviceEvent::InquiryDataChanged.asc(),
            asc::INQUIRY_DATA_CHANGED
        );
        assert_eq!(
            DeviceEvent::AsymmetricAccessStateChanged.asc(),
            asc::ALUA_STATE_CHANGED
        );
        assert_eq!(DeviceEvent::MicrocodeChanged.asc(), Asc(0x3f, 0x01));
        assert_eq!(
            DeviceEvent::MediumChanged.asc(),
            asc::MEDIUM_MAY_HAVE_CHANGED
        );
        assert_eq!(DeviceEvent::MediumChanged.recipients(), Recipients::All);
    }

    #[test]
    fn event_apply_pushes() {
        let mut q = Q::new();
        let e = DeviceEvent::ModeParametersChanged;
        assert_eq!(e.apply(&mut q, ItNexus(1), Some(ItNexus(1))), None);
        assert!(q.is_empty());
        assert_eq!(
            e.apply(&mut q, ItNexus(2), Some(ItNexus(1))),
            Some(PushOutcome::Queued)
        );
        assert_eq!(
            e.apply(&mut q, ItNexus(2), Some(ItNexus(1))),
            Some(PushOutcome::Duplicate)
        );
    }

    #[test]
    fn event_then_reset_leaves_only_reset() {
        let mut q = Q::new();
        DeviceEvent::CapacityChanged.apply(&mut q, ItNexus(2), None);
        q.push(asc::BUS_DEVICE_RESET);
        assert_eq!(codes(&q), [asc::BUS_DEVICE_RESET]);
    }

    #[test]
    fn report_luns_then_request_sense_sequence() {
        // REPORT LUNS after a LUN change: the UA is gone for this nexus.
        let mut q = Q::new();
        q.push(asc::REPORTED_LUNS_DATA_CHANGED);
        q.on_command(0xa0, UaIntlck::Clear);
        assert_eq!(q.on_command(0x03, UaIntlck::Clear), UaAction::Proceed);
    }

    #[test]
    fn overflow_bit_on_check_condition() {
        let mut q = UaQueue::<1>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        match q.on_command(0x00, UaIntlck::Clear) {
            UaAction::CheckCondition(r) => assert!(r.overflow),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn interlocked_peek_keeps_overflow() {
        let mut q = UaQueue::<1>::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        q.push(asc::CAPACITY_DATA_CHANGED);
        q.on_command(0x00, UaIntlck::Keep);
        assert!(q.overflowed());
        q.on_command(0x03, UaIntlck::Keep);
        assert!(!q.overflowed());
    }

    #[test]
    fn capacity_exact_fill() {
        let mut q = Q::new();
        let list = [
            asc::MODE_PARAMETERS_CHANGED,
            asc::LOG_PARAMETERS_CHANGED,
            asc::CAPACITY_DATA_CHANGED,
            asc::INQUIRY_DATA_CHANGED,
        ];
        for c in list {
            assert_eq!(q.push(c), PushOutcome::Queued);
        }
        assert!(q.is_full());
        assert!(!q.overflowed());
        assert_eq!(codes(&q), list);
    }

    #[test]
    fn contains_works() {
        let mut q = Q::new();
        q.push(asc::MODE_PARAMETERS_CHANGED);
        assert!(q.contains(asc::MODE_PARAMETERS_CHANGED));
        assert!(!q.contains(asc::LOG_PARAMETERS_CHANGED));
    }

    #[test]
    fn decoded_sense_round_trip() {
        let r = UaReport {
            ua: Ua::new(asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR),
            overflow: false,
        };
        for f in [Format::Fixed, Format::Descriptor] {
            let mut b = [0u8; 40];
            let n = r.encode(f, &mut b);
            let (s, deferred) = Sense::decode(&b[..n]).unwrap();
            assert!(!deferred);
            assert_eq!(s.key, Key::UnitAttention);
            assert_eq!(s.asc, asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
        }
    }

    #[test]
    fn sks_offset_handles_garbage() {
        assert_eq!(sks_offset(Format::Fixed, &[0; 10]), None);
        assert_eq!(sks_offset(Format::Descriptor, &[0x72, 6, 0, 0]), None);
        // A descriptor whose length runs off the end.
        let b = [0x72, 6, 0, 0, 0, 0, 0, 4, 0x00, 0xff, 0, 0];
        assert_eq!(sks_offset(Format::Descriptor, &b), None);
        let b = [0x72, 6, 0, 0, 0, 0, 0, 8, 0x02, 6, 0, 0, 0x80, 0, 0, 0];
        assert_eq!(sks_offset(Format::Descriptor, &b), Some(12));
    }

    /// Codes used by the property tests: resets and ordinary ones.
    fn any_code() -> impl Strategy<Value = Asc> {
        prop_oneof![
            Just(asc::POWER_ON_RESET),
            Just(asc::POWER_ON),
            Just(asc::BUS_RESET),
            Just(asc::BUS_DEVICE_RESET),
            Just(asc::DEVICE_INTERNAL_RESET),
            Just(asc::I_T_NEXUS_LOSS),
            Just(asc::MODE_PARAMETERS_CHANGED),
            Just(asc::LOG_PARAMETERS_CHANGED),
            Just(asc::CAPACITY_DATA_CHANGED),
            Just(asc::REPORTED_LUNS_DATA_CHANGED),
            Just(asc::INQUIRY_DATA_CHANGED),
            Just(asc::ALUA_STATE_CHANGED),
            (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Asc(a, b)),
        ]
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(Asc),
        Cmd(u8, u8),
        Status(u8, u8),
        Clear(Asc),
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any_code().prop_map(Op::Push),
            2 => (prop_oneof![Just(0x00u8), Just(0x03), Just(0x12), Just(0xa0), any::<u8>()], any::<u8>())
                .prop_map(|(o, i)| Op::Cmd(o, i)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(s, i)| Op::Status(s, i)),
            1 => any_code().prop_map(Op::Clear),
        ]
    }

    fn check_invariants<const N: usize>(q: &UaQueue<N>) {
        let s = q.as_slice();
        assert!(s.len() <= N);
        // No duplicates.
        for (i, a) in s.iter().enumerate() {
            for b in &s[i + 1..] {
                assert_ne!(a.asc, b.asc);
            }
        }
        // At most one reset class UA, and only at the head.
        for (i, u) in s.iter().enumerate() {
            if is_reset_class(u.asc) {
                assert_eq!(i, 0);
            }
        }
    }

    proptest! {
        #[test]
        fn random_ops_keep_invariants(ops in proptest::collection::vec(any_op(), 0..64)) {
            let mut q = UaQueue::<4>::new();
            for op in ops {
                match op {
                    Op::Push(c) => { q.push(c); }
                    Op::Cmd(o, i) => {
                        let il = UaIntlck::from_bits(i).unwrap_or_default();
                        let before = q.len();
                        let act = q.on_command(o, il);
                        if o == 0x12 {
                            prop_assert_eq!(act, UaAction::Proceed);
                            prop_assert_eq!(q.len(), before);
                        }
                        if let UaAction::SenseData(_) = act {
                            prop_assert_eq!(q.len() + 1, before);
                        }
                    }
                    Op::Status(s, i) => {
                        if let (Some(st), Some(il)) = (Status::from_u8(s), UaIntlck::from_bits(i)) {
                            q.on_status(st, il);
                        }
                    }
                    Op::Clear(c) => {
                        q.clear_asc(c);
                        prop_assert!(!q.contains(c));
                    }
                }
                check_invariants(&q);
            }
        }

        #[test]
        fn pushed_code_is_present_unless_overflow_or_subsumed(
            pre in proptest::collection::vec(any_code(), 0..8), c in any_code()
        ) {
            let mut q = UaQueue::<4>::new();
            for p in pre { q.push(p); }
            match q.push(c) {
                PushOutcome::Queued | PushOutcome::Superseded { .. } | PushOutcome::Duplicate => {
                    prop_assert!(q.contains(c));
                }
                PushOutcome::Subsumed => {
                    let head = q.as_slice()[0].asc;
                    prop_assert!(reset_rank(head).unwrap() <= reset_rank(c).unwrap());
                }
                PushOutcome::Overflowed => prop_assert!(q.overflowed() && q.is_full()),
            }
        }

        #[test]
        fn reset_leaves_single_entry(pre in proptest::collection::vec(any_code(), 0..8)) {
            let mut q = UaQueue::<3>::new();
            for p in pre { q.push(p); }
            match q.push(asc::POWER_ON) {
                PushOutcome::Superseded { .. } => {
                    prop_assert_eq!(q.len(), 1);
                    prop_assert_eq!(q.as_slice()[0].asc, asc::POWER_ON);
                }
                // Only an equal-rank reset (29/04) or 29/01 itself stands.
                _ => prop_assert_eq!(reset_rank(q.as_slice()[0].asc), Some(1)),
            }
        }

        #[test]
        fn drain_order_is_fifo(pre in proptest::collection::vec(any_code(), 0..10)) {
            let mut q = UaQueue::<16>::new();
            for p in &pre { q.push(*p); }
            let snapshot: Vec<Asc> = q.as_slice().iter().map(|u| u.asc).collect();
            let mut drained = Vec::new();
            while let Some(r) = q.pop() { drained.push(r.ua.asc); }
            prop_assert_eq!(snapshot, drained);
        }

        #[test]
        fn encode_never_panics(a in any::<u8>(), b in any::<u8>(), ov in any::<bool>(),
                               len in 0usize..40, desc in any::<bool>()) {
            let r = UaReport { ua: Ua::new(Asc(a, b)), overflow: ov };
            let mut buf = [0u8; 40];
            let f = if desc { Format::Descriptor } else { Format::Fixed };
            let n = r.encode(f, &mut buf[..len]);
            prop_assert!(n >= 8);
            let mut full = [0u8; 40];
            let n2 = r.encode(f, &mut full);
            prop_assert_eq!(n, n2);
            let k = len.min(n);
            prop_assert_eq!(&buf[..k], &full[..k]);
            let (s, _) = Sense::decode(&full[..n2]).unwrap();
            prop_assert_eq!(s.asc, Asc(a, b));
        }

        #[test]
        fn sks_offset_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = sks_offset(Format::Descriptor, &bytes);
            let _ = sks_offset(Format::Fixed, &bytes);
        }
    }
}
