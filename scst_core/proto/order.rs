// SPDX-License-Identifier: GPL-2.0

//! Task attributes and command ordering of one task set (SAM-5 8.5, 8.6),
//! the QUEUE ALGORITHM MODIFIER of the Control mode page, and admission of
//! commands while an ACA condition exists (SAM-5 5.9).
//!
//! [`Sequencer`] decides, for a stream of commands of one task set (one
//! I_T_L nexus in SCST, which orders per `tgt_dev`), which may be dispatched
//! to the device now:
//!
//! - **SIMPLE** enters the enabled state once every older HEAD OF QUEUE and
//!   ORDERED command has completed.
//! - **ORDERED** enters the enabled state once every older command has
//!   completed; so nothing newer (but HEAD OF QUEUE) runs before it ends.
//! - **HEAD OF QUEUE** is enabled at once.
//! - **ACA** is enabled at once, and is accepted only while an ACA condition
//!   exists (at most one ACA command at a time).
//! - While ACA exists, no dormant command is enabled and only ACA commands
//!   are accepted; the others get ACA ACTIVE.
//! - QUEUE ALGORITHM MODIFIER 0 (restricted reordering) treats every SIMPLE
//!   command as ORDERED, as SCST does: the simplest way to keep data
//!   integrity for overlapping commands.
//!
//! NACA: a command whose CONTROL byte has NACA=1 and that ends with CHECK
//! CONDITION establishes ACA ([`Sequencer::establish_aca`]); with NACA=0 the
//! condition is a contingent allegiance that ends when the status is sent,
//! so nothing is held. [`check_control`] rejects NACA=1 on a logical unit
//! without ACA support, and the obsolete LINK bit.
//!
//! The sequencer keeps outstanding commands in arrival order in a fixed array
//! of `N` slots; each operation is O(N). Aborted commands leave the order
//! exactly like completed ones ([`Sequencer::complete`]).

use super::sense::{asc, Key, Sense};
use super::types::{PeripheralType, Status, TaskAttr};
use super::ua::ItNexus;

/// QUEUE ALGORITHM MODIFIER of the Control mode page (SPC-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum QueueAlg {
    /// 0h: restricted reordering; SIMPLE commands are run as ORDERED.
    Restricted,
    /// 1h: unrestricted reordering of SIMPLE commands (the vdisk default).
    #[default]
    Unrestricted,
}

impl QueueAlg {
    /// Decodes the four-bit field; reserved (2h-7h) and vendor specific
    /// (8h-Fh) values yield `None`.
    pub fn from_bits(v: u8) -> Option<Self> {
        match v & 0xf {
            0 => Some(Self::Restricted),
            1 => Some(Self::Unrestricted),
            _ => None,
        }
    }

    /// The four-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            Self::Restricted => 0,
            Self::Unrestricted => 1,
        }
    }

    /// Reads the field from a Control mode page (byte 3, bits 7..4); a page
    /// too short to hold it reads as 0h.
    pub fn from_control_page(page: &[u8]) -> Option<Self> {
        Self::from_bits(page.get(3).copied().unwrap_or(0) >> 4)
    }
}

/// Whether a submitted command may run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// Enabled: dispatch it now.
    Now,
    /// Dormant: a later [`Sequencer::complete`] (or
    /// [`Sequencer::clear_aca`]) releases it.
    Wait,
}

/// Why a command was not accepted into the task set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// No room in the task set: TASK SET FULL.
    TaskSetFull,
    /// The tag is already in use by an outstanding command of the task set
    /// (SAM-5 5.8.3 overlapped commands): the caller aborts the nexus's task
    /// set and returns CHECK CONDITION, ABORTED COMMAND, OVERLAPPED COMMANDS
    /// ATTEMPTED.
    Overlapped,
    /// ACA task attribute with no ACA condition: CHECK CONDITION, ILLEGAL
    /// REQUEST, INVALID MESSAGE ERROR.
    AcaNotEstablished,
    /// An ACA condition blocks the command: ACA ACTIVE.
    AcaActive,
}

impl Reject {
    /// The status the command completes with.
    pub fn status(self) -> Status {
        match self {
            Self::TaskSetFull => Status::TaskSetFull,
            Self::Overlapped | Self::AcaNotEstablished => Status::CheckCondition,
            Self::AcaActive => Status::AcaActive,
        }
    }

    /// The sense data that goes with CHECK CONDITION, if any.
    pub fn sense(self) -> Option<Sense> {
        match self {
            Self::Overlapped => Some(Sense::new(Key::AbortedCommand, asc::OVERLAPPED_COMMANDS)),
            Self::AcaNotEstablished => Some(Sense::new(Key::IllegalRequest, asc::INVALID_MESSAGE)),
            Self::TaskSetFull | Self::AcaActive => None,
        }
    }
}

/// Whether an outstanding command of attribute `attr` keeps newer SIMPLE
/// commands dormant (SAM-5: older HEAD OF QUEUE and ORDERED commands do; ACA
/// commands are treated like HEAD OF QUEUE).
fn blocks_simple(attr: TaskAttr) -> bool {
    !matches!(attr, TaskAttr::Simple)
}

/// Whether a command may be enabled given what is outstanding before it.
fn eligible(attr: TaskAttr, any_older: bool, blocker_older: bool) -> bool {
    match attr {
        TaskAttr::Simple => !blocker_older,
        TaskAttr::Ordered => !any_older,
        TaskAttr::HeadOfQueue | TaskAttr::Aca => true,
    }
}

/// One outstanding command as the sequencer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The command's tag.
    pub tag: u64,
    /// The effective attribute (SIMPLE becomes ORDERED under restricted
    /// reordering).
    pub attr: TaskAttr,
    /// Whether it was dispatched (enabled); `false`: dormant.
    pub running: bool,
}

const EMPTY: Entry = Entry {
    tag: 0,
    attr: TaskAttr::Simple,
    running: false,
};

/// The ordering state of one task set, at most `N` outstanding commands.
#[derive(Clone, Debug)]
pub struct Sequencer<const N: usize> {
    slots: [Entry; N],
    len: usize,
    alg: QueueAlg,
    aca: bool,
}

impl<const N: usize> Default for Sequencer<N> {
    fn default() -> Self {
        Self::new(QueueAlg::default())
    }
}

impl<const N: usize> Sequencer<N> {
    /// An empty task set using `alg`.
    pub const fn new(alg: QueueAlg) -> Self {
        Self {
            slots: [EMPTY; N],
            len: 0,
            alg,
            aca: false,
        }
    }

    /// The queue algorithm modifier in force.
    pub fn queue_alg(&self) -> QueueAlg {
        self.alg
    }

    /// Changes the queue algorithm modifier (MODE SELECT); it applies to
    /// commands submitted from now on.
    pub fn set_queue_alg(&mut self, alg: QueueAlg) {
        self.alg = alg;
    }

    /// Number of outstanding (dormant or running) commands.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no command is outstanding.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the task set is at capacity.
    pub fn is_full(&self) -> bool {
        self.len >= N
    }

    /// Outstanding commands in arrival order.
    pub fn entries(&self) -> &[Entry] {
        self.slots.get(..self.len).unwrap_or(&[])
    }

    /// Whether the command with `tag` is running (`Some(true)`), dormant
    /// (`Some(false)`) or not outstanding (`None`).
    pub fn is_running(&self, tag: u64) -> Option<bool> {
        self.find(tag)
            .and_then(|i| self.slots.get(i))
            .map(|e| e.running)
    }

    /// Whether an ACA condition exists for this task set.
    pub fn aca_established(&self) -> bool {
        self.aca
    }

    fn find(&self, tag: u64) -> Option<usize> {
        self.entries().iter().position(|e| e.tag == tag)
    }

    fn aca_task_present(&self) -> bool {
        self.entries().iter().any(|e| e.attr == TaskAttr::Aca)
    }

    /// Accepts a command with `tag` and task attribute `attr` (untagged
    /// commands are SIMPLE) and says whether it may run now.
    ///
    /// Rejections are checked in this order: overlapped tag, ACA rules,
    /// capacity.
    pub fn submit(&mut self, tag: u64, attr: TaskAttr) -> Result<Dispatch, Reject> {
        if self.find(tag).is_some() {
            return Err(Reject::Overlapped);
        }
        match (attr, self.aca) {
            (TaskAttr::Aca, false) => return Err(Reject::AcaNotEstablished),
            (TaskAttr::Aca, true) if self.aca_task_present() => return Err(Reject::AcaActive),
            (TaskAttr::Aca, true) => {}
            (_, true) => return Err(Reject::AcaActive),
            (_, false) => {}
        }
        if self.is_full() {
            return Err(Reject::TaskSetFull);
        }
        let attr = match (attr, self.alg) {
            (TaskAttr::Simple, QueueAlg::Restricted) => TaskAttr::Ordered,
            (a, _) => a,
        };
        let any_older = self.len > 0;
        let blocker_older = self.entries().iter().any(|e| blocks_simple(e.attr));
        let running = eligible(attr, any_older, blocker_older);
        if let Some(slot) = self.slots.get_mut(self.len) {
            *slot = Entry { tag, attr, running };
            self.len += 1;
        }
        Ok(if running {
            Dispatch::Now
        } else {
            Dispatch::Wait
        })
    }

    /// Removes a completed (or aborted) command and returns the commands it
    /// releases, or `None` if `tag` is not outstanding.
    ///
    /// The returned iterator marks each command it yields as running; a
    /// command not taken from it stays dormant until [`Sequencer::release`].
    pub fn complete(&mut self, tag: u64) -> Option<Released<'_, N>> {
        let i = self.find(tag)?;
        let end = self.len;
        if let Some(s) = self.slots.get_mut(i..end) {
            s.rotate_left(1);
        }
        self.len -= 1;
        Some(self.release())
    }

    /// The dormant commands that may run now, marked running as yielded.
    pub fn release(&mut self) -> Released<'_, N> {
        Released {
            seq: self,
            idx: 0,
            any_older: false,
            blocker_older: false,
        }
    }

    /// Establishes an ACA condition (a command of this task set ended with
    /// CHECK CONDITION and NACA=1): dormant commands stay dormant and only
    /// ACA commands are accepted until [`Sequencer::clear_aca`].
    pub fn establish_aca(&mut self) {
        self.aca = true;
    }

    /// Clears the ACA condition (CLEAR ACA, a reset, or loss of the faulted
    /// I_T nexus: SAM-5 5.9.5) and returns the dormant commands now
    /// released.
    pub fn clear_aca(&mut self) -> Released<'_, N> {
        self.aca = false;
        self.release()
    }

    /// Drops every outstanding command (LOGICAL UNIT RESET, I_T nexus loss)
    /// and the ACA condition; returns how many were dropped.
    pub fn abort_all(&mut self) -> usize {
        let n = self.len;
        self.len = 0;
        self.aca = false;
        n
    }
}

/// Commands released by a completion; yields their tags in arrival order and
/// marks each running as it is yielded.
#[derive(Debug)]
pub struct Released<'a, const N: usize> {
    seq: &'a mut Sequencer<N>,
    idx: usize,
    any_older: bool,
    blocker_older: bool,
}

impl<const N: usize> Iterator for Released<'_, N> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        // Under ACA nothing dormant may be enabled; ACA commands never wait.
        if self.seq.aca {
            return None;
        }
        // Eligibility depends only on which commands are outstanding, which
        // this walk does not change, so one pass in arrival order suffices.
        while self.idx < self.seq.len {
            let i = self.idx;
            self.idx += 1;
            let e = self.seq.slots.get_mut(i)?;
            let ok = !e.running && eligible(e.attr, self.any_older, self.blocker_older);
            self.any_older = true;
            self.blocker_older |= blocks_simple(e.attr);
            if ok {
                e.running = true;
                return Some(e.tag);
            }
        }
        None
    }
}

/// SAM-5 5.9 admission of a new command on `nexus` to a logical unit whose
/// ACA condition (if any) was established by `faulted`.
///
/// `shared_task_set` is TST=000b (one task set for all I_T nexuses);
/// `aca_task_present` says an ACA command of the faulted nexus is
/// outstanding. With TST=001b each nexus has its own task set, so another
/// nexus is unaffected by the faulted one's ACA.
pub fn aca_admission(
    faulted: Option<ItNexus>,
    nexus: ItNexus,
    shared_task_set: bool,
    attr: TaskAttr,
    aca_task_present: bool,
) -> Result<(), Reject> {
    match faulted {
        None => match attr {
            TaskAttr::Aca => Err(Reject::AcaNotEstablished),
            _ => Ok(()),
        },
        Some(f) if f == nexus => match attr {
            TaskAttr::Aca if aca_task_present => Err(Reject::AcaActive),
            TaskAttr::Aca => Ok(()),
            _ => Err(Reject::AcaActive),
        },
        Some(_) if shared_task_set => Err(Reject::AcaActive),
        Some(_) => match attr {
            TaskAttr::Aca => Err(Reject::AcaNotEstablished),
            _ => Ok(()),
        },
    }
}

/// Offset of the CONTROL byte of a CDB, from the group code of its
/// operation code (SPC-4 4.2.5.1); `None` for the variable-length (7Fh),
/// reserved and vendor specific groups, or a CDB too short for its group.
pub fn control_offset(cdb: &[u8]) -> Option<usize> {
    let op = *cdb.first()?;
    let len = match op >> 5 {
        0 => 6,
        1 | 2 => 10,
        4 => 16,
        5 => 12,
        _ => return None,
    };
    (cdb.len() >= len).then_some(len - 1)
}

/// Checks the CONTROL byte `control` found at CDB offset `offset`: a set
/// LINK bit (bit 0; linked commands are obsolete in SAM-5) or a set NACA bit
/// (bit 2) on a logical unit without ACA support (NormACA=0) gives ILLEGAL
/// REQUEST, INVALID FIELD IN CDB pointing at that bit. Returns the NACA bit:
/// whether a CHECK CONDITION for this command establishes ACA.
pub fn check_control(control: u8, offset: usize, aca_supported: bool) -> Result<bool, Sense> {
    let byte = u16::try_from(offset).unwrap_or(u16::MAX);
    if control & 0x01 != 0 {
        return Err(Sense::invalid_field_in_cdb(byte, Some(0)));
    }
    let naca = control & 0x04 != 0;
    if naca && !aca_supported {
        return Err(Sense::invalid_field_in_cdb(byte, Some(2)));
    }
    Ok(naca)
}

/// Whether SCST runs this command as HEAD OF QUEUE whatever its tag says:
/// INQUIRY and REPORT LUNS always; READ CAPACITY(10) and READ CAPACITY(16)
/// (SERVICE ACTION IN(16), service action 10h) for direct-access devices.
pub fn implicit_head_of_queue(cdb: &[u8], ty: PeripheralType) -> bool {
    match cdb.first().copied() {
        Some(0x12) | Some(0xa0) => true,
        Some(0x25) => ty == PeripheralType::Disk,
        Some(0x9e) => ty == PeripheralType::Disk && cdb.get(1).copied().unwrap_or(0) & 0x1f == 0x10,
        _ => false,
    }
}

/// The attribute a command is sequenced with: SIMPLE commands that are
/// implicitly HEAD OF QUEUE become HEAD OF QUEUE; an explicit ORDERED, HEAD
/// OF QUEUE or ACA attribute is kept.
pub fn effective_attr(attr: TaskAttr, cdb: &[u8], ty: PeripheralType) -> TaskAttr {
    if attr == TaskAttr::Simple && implicit_head_of_queue(cdb, ty) {
        TaskAttr::HeadOfQueue
    } else {
        attr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    use TaskAttr::{Aca, HeadOfQueue as Hoq, Ordered, Simple};

    type S = Sequencer<8>;

    fn seq() -> S {
        S::new(QueueAlg::Unrestricted)
    }

    fn done(s: &mut S, tag: u64) -> Vec<u64> {
        s.complete(tag).expect("outstanding").collect()
    }

    #[test]
    fn simple_runs_immediately() {
        let mut s = seq();
        assert_eq!(s.submit(1, Simple), Ok(Dispatch::Now));
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Now));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn ordered_on_empty_runs() {
        let mut s = seq();
        assert_eq!(s.submit(1, Ordered), Ok(Dispatch::Now));
    }

    #[test]
    fn ordered_waits_for_older_simple() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.submit(2, Simple).unwrap();
        assert_eq!(s.submit(3, Ordered), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), Vec::<u64>::new());
        assert_eq!(done(&mut s, 2), vec![3]);
    }

    #[test]
    fn simple_after_ordered_waits() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Wait));
        assert_eq!(s.submit(3, Simple), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), vec![2, 3]);
    }

    #[test]
    fn ordered_chain_runs_one_at_a_time() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        assert_eq!(s.submit(2, Ordered), Ok(Dispatch::Wait));
        assert_eq!(s.submit(3, Ordered), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), vec![2]);
        assert_eq!(done(&mut s, 2), vec![3]);
        assert_eq!(done(&mut s, 3), Vec::<u64>::new());
        assert!(s.is_empty());
    }

    #[test]
    fn simple_between_ordered() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.submit(2, Ordered).unwrap();
        s.submit(3, Simple).unwrap();
        s.submit(4, Simple).unwrap();
        s.submit(5, Ordered).unwrap();
        s.submit(6, Simple).unwrap();
        assert_eq!(done(&mut s, 1), vec![2]);
        assert_eq!(done(&mut s, 2), vec![3, 4]);
        assert_eq!(done(&mut s, 4), Vec::<u64>::new());
        assert_eq!(done(&mut s, 3), vec![5]);
        assert_eq!(done(&mut s, 5), vec![6]);
    }

    #[test]
    fn head_of_queue_bypasses_ordered() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        assert_eq!(s.submit(3, Hoq), Ok(Dispatch::Now));
    }

    #[test]
    fn head_of_queue_blocks_newer_simple() {
        let mut s = seq();
        s.submit(1, Hoq).unwrap();
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), vec![2]);
    }

    #[test]
    fn head_of_queue_blocks_newer_ordered() {
        let mut s = seq();
        s.submit(1, Hoq).unwrap();
        assert_eq!(s.submit(2, Ordered), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), vec![2]);
    }

    #[test]
    fn several_head_of_queue_all_run() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        assert_eq!(s.submit(2, Hoq), Ok(Dispatch::Now));
        assert_eq!(s.submit(3, Hoq), Ok(Dispatch::Now));
    }

    #[test]
    fn older_simple_do_not_block_simple_after_ordered_done() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.submit(2, Ordered).unwrap();
        s.submit(3, Simple).unwrap();
        // Ordered 2 waits for 1; 3 waits for 2.
        assert_eq!(s.is_running(2), Some(false));
        assert_eq!(s.is_running(3), Some(false));
        assert_eq!(done(&mut s, 1), vec![2]);
        assert_eq!(done(&mut s, 2), vec![3]);
    }

    #[test]
    fn completing_dormant_command_releases_followers() {
        // An aborted dormant ORDERED leaves the order like a completed one.
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.submit(2, Ordered).unwrap();
        s.submit(3, Simple).unwrap();
        assert_eq!(done(&mut s, 2), vec![3]);
        assert_eq!(s.is_running(1), Some(true));
    }

    #[test]
    fn complete_unknown_tag() {
        let mut s = seq();
        assert!(s.complete(9).is_none());
    }

    #[test]
    fn overlapped_tag_rejected() {
        let mut s = seq();
        s.submit(7, Simple).unwrap();
        assert_eq!(s.submit(7, Ordered), Err(Reject::Overlapped));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn tag_reusable_after_completion() {
        let mut s = seq();
        s.submit(7, Simple).unwrap();
        done(&mut s, 7);
        assert_eq!(s.submit(7, Simple), Ok(Dispatch::Now));
    }

    #[test]
    fn task_set_full() {
        let mut s = Sequencer::<2>::new(QueueAlg::Unrestricted);
        s.submit(1, Simple).unwrap();
        s.submit(2, Simple).unwrap();
        assert_eq!(s.submit(3, Simple), Err(Reject::TaskSetFull));
        assert!(s.is_full());
    }

    #[test]
    fn zero_capacity_rejects() {
        let mut s = Sequencer::<0>::new(QueueAlg::Unrestricted);
        assert_eq!(s.submit(1, Simple), Err(Reject::TaskSetFull));
        assert_eq!(s.release().count(), 0);
    }

    #[test]
    fn restricted_turns_simple_into_ordered() {
        let mut s = S::new(QueueAlg::Restricted);
        assert_eq!(s.submit(1, Simple), Ok(Dispatch::Now));
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Wait));
        assert_eq!(s.entries()[1].attr, Ordered);
        assert_eq!(done(&mut s, 1), vec![2]);
    }

    #[test]
    fn restricted_keeps_head_of_queue() {
        let mut s = S::new(QueueAlg::Restricted);
        s.submit(1, Simple).unwrap();
        assert_eq!(s.submit(2, Hoq), Ok(Dispatch::Now));
    }

    #[test]
    fn queue_alg_change_applies_to_new_commands() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.set_queue_alg(QueueAlg::Restricted);
        assert_eq!(s.queue_alg(), QueueAlg::Restricted);
        assert_eq!(s.entries()[0].attr, Simple);
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Wait));
    }

    #[test]
    fn queue_alg_bits() {
        assert_eq!(QueueAlg::from_bits(0), Some(QueueAlg::Restricted));
        assert_eq!(QueueAlg::from_bits(1), Some(QueueAlg::Unrestricted));
        assert_eq!(QueueAlg::from_bits(2), None);
        assert_eq!(QueueAlg::from_bits(8), None);
        assert_eq!(QueueAlg::Restricted.bits(), 0);
        assert_eq!(QueueAlg::Unrestricted.bits(), 1);
        assert_eq!(QueueAlg::default(), QueueAlg::Unrestricted);
    }

    #[test]
    fn queue_alg_from_control_page() {
        let mut page = [0u8; 12];
        page[0] = 0x0a;
        page[1] = 0x0a;
        page[3] = 0x10 | 0x02; // QAM 1, QErr 01b
        assert_eq!(
            QueueAlg::from_control_page(&page),
            Some(QueueAlg::Unrestricted)
        );
        page[3] = 0x02;
        assert_eq!(
            QueueAlg::from_control_page(&page),
            Some(QueueAlg::Restricted)
        );
        page[3] = 0xf0;
        assert_eq!(QueueAlg::from_control_page(&page), None);
        assert_eq!(
            QueueAlg::from_control_page(&[0x0a]),
            Some(QueueAlg::Restricted)
        );
    }

    #[test]
    fn aca_attr_without_aca_rejected() {
        let mut s = seq();
        assert_eq!(s.submit(1, Aca), Err(Reject::AcaNotEstablished));
        assert!(s.is_empty());
    }

    #[test]
    fn aca_blocks_non_aca() {
        let mut s = seq();
        s.establish_aca();
        assert!(s.aca_established());
        for a in [Simple, Ordered, Hoq] {
            assert_eq!(s.submit(10, a), Err(Reject::AcaActive));
        }
    }

    #[test]
    fn aca_task_runs_immediately() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        s.establish_aca();
        assert_eq!(s.submit(3, Aca), Ok(Dispatch::Now));
    }

    #[test]
    fn only_one_aca_task() {
        let mut s = seq();
        s.establish_aca();
        s.submit(1, Aca).unwrap();
        assert_eq!(s.submit(2, Aca), Err(Reject::AcaActive));
        done(&mut s, 1);
        assert_eq!(s.submit(2, Aca), Ok(Dispatch::Now));
    }

    #[test]
    fn aca_holds_dormant_until_cleared() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        s.establish_aca();
        // The faulted command completes: nothing is released under ACA.
        assert_eq!(done(&mut s, 1), Vec::<u64>::new());
        assert_eq!(s.is_running(2), Some(false));
        let rel: Vec<u64> = s.clear_aca().collect();
        assert_eq!(rel, vec![2]);
        assert!(!s.aca_established());
    }

    #[test]
    fn overlapped_checked_before_aca() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.establish_aca();
        assert_eq!(s.submit(1, Simple), Err(Reject::Overlapped));
    }

    #[test]
    fn aca_checked_before_capacity() {
        let mut s = Sequencer::<1>::new(QueueAlg::Unrestricted);
        s.submit(1, Simple).unwrap();
        s.establish_aca();
        assert_eq!(s.submit(2, Simple), Err(Reject::AcaActive));
        assert_eq!(s.submit(2, Aca), Err(Reject::TaskSetFull));
    }

    #[test]
    fn aca_task_blocks_newer_simple_after_clear() {
        let mut s = seq();
        s.establish_aca();
        s.submit(1, Aca).unwrap();
        let _ = s.clear_aca().count();
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), vec![2]);
    }

    #[test]
    fn abort_all_empties_and_clears_aca() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        s.submit(2, Ordered).unwrap();
        s.establish_aca();
        assert_eq!(s.abort_all(), 2);
        assert!(s.is_empty());
        assert!(!s.aca_established());
        assert_eq!(s.submit(3, Ordered), Ok(Dispatch::Now));
    }

    #[test]
    fn partially_consumed_release_resumes() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        s.submit(3, Simple).unwrap();
        {
            let mut it = s.complete(1).unwrap();
            assert_eq!(it.next(), Some(2));
        }
        assert_eq!(s.is_running(3), Some(false));
        let rest: Vec<u64> = s.release().collect();
        assert_eq!(rest, vec![3]);
        assert_eq!(s.release().count(), 0);
    }

    #[test]
    fn is_running_reports_state() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        assert_eq!(s.is_running(1), Some(true));
        assert_eq!(s.is_running(2), Some(false));
        assert_eq!(s.is_running(3), None);
    }

    #[test]
    fn entries_in_arrival_order() {
        let mut s = seq();
        s.submit(5, Simple).unwrap();
        s.submit(3, Ordered).unwrap();
        s.submit(9, Hoq).unwrap();
        let tags: Vec<u64> = s.entries().iter().map(|e| e.tag).collect();
        assert_eq!(tags, vec![5, 3, 9]);
    }

    #[test]
    fn reject_status_and_sense() {
        assert_eq!(Reject::TaskSetFull.status(), Status::TaskSetFull);
        assert_eq!(Reject::AcaActive.status(), Status::AcaActive);
        assert_eq!(Reject::Overlapped.status(), Status::CheckCondition);
        assert_eq!(Reject::AcaNotEstablished.status(), Status::CheckCondition);
        let s = Reject::Overlapped.sense().unwrap();
        assert_eq!((s.key, s.asc), (Key::AbortedCommand, Asc(0x4e, 0x00)));
        let s = Reject::AcaNotEstablished.sense().unwrap();
        assert_eq!((s.key, s.asc), (Key::IllegalRequest, Asc(0x49, 0x00)));
        assert!(Reject::TaskSetFull.sense().is_none());
        assert!(Reject::AcaActive.sense().is_none());
    }

    use super::super::sense::Asc;

    #[test]
    fn admission_without_aca() {
        let n = ItNexus(1);
        assert_eq!(aca_admission(None, n, true, Simple, false), Ok(()));
        assert_eq!(aca_admission(None, n, false, Ordered, false), Ok(()));
        assert_eq!(
            aca_admission(None, n, true, Aca, false),
            Err(Reject::AcaNotEstablished)
        );
    }

    #[test]
    fn admission_faulted_nexus() {
        let f = ItNexus(1);
        assert_eq!(aca_admission(Some(f), f, true, Aca, false), Ok(()));
        assert_eq!(
            aca_admission(Some(f), f, true, Aca, true),
            Err(Reject::AcaActive)
        );
        assert_eq!(
            aca_admission(Some(f), f, false, Simple, false),
            Err(Reject::AcaActive)
        );
        assert_eq!(
            aca_admission(Some(f), f, false, Hoq, false),
            Err(Reject::AcaActive)
        );
    }

    #[test]
    fn admission_other_nexus_shared_task_set() {
        let f = ItNexus(1);
        let o = ItNexus(2);
        assert_eq!(
            aca_admission(Some(f), o, true, Simple, false),
            Err(Reject::AcaActive)
        );
        assert_eq!(
            aca_admission(Some(f), o, true, Aca, false),
            Err(Reject::AcaActive)
        );
    }

    #[test]
    fn admission_other_nexus_separate_task_sets() {
        let f = ItNexus(1);
        let o = ItNexus(2);
        assert_eq!(aca_admission(Some(f), o, false, Simple, true), Ok(()));
        assert_eq!(
            aca_admission(Some(f), o, false, Aca, false),
            Err(Reject::AcaNotEstablished)
        );
    }

    #[test]
    fn control_offset_by_group() {
        assert_eq!(control_offset(&[0x00; 6]), Some(5));
        assert_eq!(control_offset(&[0x28; 10]), Some(9));
        assert_eq!(control_offset(&[0x5a; 10]), Some(9));
        assert_eq!(control_offset(&[0x88; 16]), Some(15));
        assert_eq!(control_offset(&[0xa0; 12]), Some(11));
        assert_eq!(control_offset(&[0x7f; 32]), None);
        assert_eq!(control_offset(&[0xc0; 16]), None);
        assert_eq!(control_offset(&[0x28; 6]), None);
        assert_eq!(control_offset(&[]), None);
    }

    #[test]
    fn check_control_clean() {
        assert_eq!(check_control(0x00, 5, false), Ok(false));
        assert_eq!(check_control(0x04, 9, true), Ok(true));
        // Vendor specific bits 7..6 are ignored here.
        assert_eq!(check_control(0xc0, 9, false), Ok(false));
    }

    #[test]
    fn check_control_link_rejected() {
        let e = check_control(0x01, 9, true).unwrap_err();
        assert_eq!(e, Sense::invalid_field_in_cdb(9, Some(0)));
    }

    #[test]
    fn check_control_naca_unsupported() {
        let e = check_control(0x04, 5, false).unwrap_err();
        assert_eq!(e, Sense::invalid_field_in_cdb(5, Some(2)));
        let mut b = [0u8; 18];
        e.encode(super::super::sense::Format::Fixed, false, &mut b);
        assert_eq!(&b[15..18], &[0xca, 0x00, 0x05]);
    }

    #[test]
    fn implicit_hoq_commands() {
        let d = PeripheralType::Disk;
        let t = PeripheralType::Tape;
        assert!(implicit_head_of_queue(&[0x12, 0, 0, 0, 36, 0], t));
        assert!(implicit_head_of_queue(&[0xa0; 12], t));
        assert!(implicit_head_of_queue(&[0x25; 10], d));
        assert!(!implicit_head_of_queue(&[0x25; 10], t));
        let mut rc16 = [0u8; 16];
        rc16[0] = 0x9e;
        rc16[1] = 0x10;
        assert!(implicit_head_of_queue(&rc16, d));
        rc16[1] = 0x12; // GET LBA STATUS
        assert!(!implicit_head_of_queue(&rc16, d));
        assert!(!implicit_head_of_queue(&[0x28; 10], d));
        assert!(!implicit_head_of_queue(&[], d));
        assert!(!implicit_head_of_queue(&[0x9e], d));
    }

    #[test]
    fn effective_attr_rules() {
        let d = PeripheralType::Disk;
        assert_eq!(effective_attr(Simple, &[0x12; 6], d), Hoq);
        assert_eq!(effective_attr(Ordered, &[0x12; 6], d), Ordered);
        assert_eq!(effective_attr(Simple, &[0x28; 10], d), Simple);
        assert_eq!(effective_attr(Aca, &[0xa0; 12], d), Aca);
    }

    #[test]
    fn inquiry_overtakes_ordered_write() {
        let d = PeripheralType::Disk;
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        let a = effective_attr(Simple, &[0x12, 0, 0, 0, 36, 0], d);
        assert_eq!(s.submit(3, a), Ok(Dispatch::Now));
    }

    #[test]
    fn default_sequencer_unrestricted() {
        let s: Sequencer<4> = Default::default();
        assert_eq!(s.queue_alg(), QueueAlg::Unrestricted);
        assert!(s.is_empty());
    }

    #[test]
    fn release_on_empty_yields_nothing() {
        let mut s = seq();
        assert_eq!(s.release().count(), 0);
    }

    #[test]
    fn release_is_idempotent() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        assert_eq!(s.release().count(), 0);
        assert_eq!(done(&mut s, 1), vec![2]);
        assert_eq!(s.release().count(), 0);
    }

    #[test]
    fn hoq_then_ordered_then_simple() {
        let mut s = seq();
        s.submit(1, Hoq).unwrap();
        s.submit(2, Ordered).unwrap();
        s.submit(3, Simple).unwrap();
        assert_eq!(done(&mut s, 1), vec![2]);
        assert_eq!(done(&mut s, 2), vec![3]);
    }

    #[test]
    fn completing_hoq_behind_running_ordered() {
        // HoQ overtook a running ORDERED; its completion releases nothing
        // while the ORDERED still runs.
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        s.submit(3, Hoq).unwrap();
        assert_eq!(done(&mut s, 3), Vec::<u64>::new());
        assert_eq!(done(&mut s, 1), vec![2]);
    }

    #[test]
    fn simple_after_hoq_waits_for_both_blockers() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Hoq).unwrap();
        s.submit(3, Simple).unwrap();
        assert_eq!(done(&mut s, 1), Vec::<u64>::new());
        assert_eq!(done(&mut s, 2), vec![3]);
    }

    #[test]
    fn release_under_aca_is_empty() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        s.establish_aca();
        s.complete(1).unwrap().for_each(drop);
        assert_eq!(s.release().count(), 0);
    }

    #[test]
    fn aca_task_completion_releases_nothing_under_aca() {
        let mut s = seq();
        s.submit(1, Ordered).unwrap();
        s.submit(2, Simple).unwrap();
        s.establish_aca();
        s.submit(3, Aca).unwrap();
        assert_eq!(done(&mut s, 3), Vec::<u64>::new());
        assert_eq!(s.is_running(2), Some(false));
    }

    #[test]
    fn clear_aca_when_not_established() {
        let mut s = seq();
        s.submit(1, Simple).unwrap();
        assert_eq!(s.clear_aca().count(), 0);
        assert!(!s.aca_established());
    }

    #[test]
    fn full_then_complete_makes_room() {
        let mut s = Sequencer::<2>::new(QueueAlg::Unrestricted);
        s.submit(1, Simple).unwrap();
        s.submit(2, Simple).unwrap();
        assert_eq!(s.submit(3, Hoq), Err(Reject::TaskSetFull));
        done_n(&mut s, 1);
        assert_eq!(s.submit(3, Hoq), Ok(Dispatch::Now));
    }

    fn done_n<const N: usize>(s: &mut Sequencer<N>, tag: u64) {
        s.complete(tag).unwrap().for_each(drop);
    }

    #[test]
    fn overlapped_checked_before_full() {
        let mut s = Sequencer::<1>::new(QueueAlg::Unrestricted);
        s.submit(1, Simple).unwrap();
        assert_eq!(s.submit(1, Simple), Err(Reject::Overlapped));
    }

    #[test]
    fn restricted_hoq_then_simple_waits() {
        let mut s = S::new(QueueAlg::Restricted);
        s.submit(1, Hoq).unwrap();
        assert_eq!(s.submit(2, Simple), Ok(Dispatch::Wait));
        assert_eq!(done(&mut s, 1), vec![2]);
    }

    #[test]
    fn control_offset_reserved_group() {
        assert_eq!(control_offset(&[0x60; 16]), None);
        assert_eq!(control_offset(&[0xe0; 16]), None);
    }

    #[test]
    fn check_control_link_reported_before_naca() {
        let e = check_control(0x05, 15, false).unwrap_err();
        assert_eq!(e, Sense::invalid_field_in_cdb(15, Some(0)));
    }

    #[test]
    fn check_control_huge_offset_saturates() {
        let e = check_control(0x01, usize::MAX, true).unwrap_err();
        assert_eq!(e, Sense::invalid_field_in_cdb(u16::MAX, Some(0)));
    }

    // ---- Property tests: a shadow model checks every dispatch. ----

    #[derive(Clone, Debug)]
    enum Op {
        Submit(u8, u8),
        Complete(usize),
        Aca,
        ClearAca,
    }

    fn attr_of(v: u8) -> TaskAttr {
        match v % 4 {
            0 => Simple,
            1 => Ordered,
            2 => Hoq,
            _ => Aca,
        }
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (0u8..24, any::<u8>()).prop_map(|(t, a)| Op::Submit(t, a)),
            4 => (0usize..16).prop_map(Op::Complete),
            1 => Just(Op::Aca),
            1 => Just(Op::ClearAca),
        ]
    }

    #[derive(Clone, Copy, Debug)]
    struct Shadow {
        tag: u64,
        attr: TaskAttr,
        running: bool,
    }

    /// Checks that `tag` may legally be enabled now, per SAM-5 8.6.
    fn legal_dispatch(model: &[Shadow], tag: u64) -> bool {
        let i = model.iter().position(|m| m.tag == tag).unwrap();
        let older = &model[..i];
        match model[i].attr {
            Ordered => older.is_empty(),
            Simple => older.iter().all(|m| m.attr == Simple),
            Hoq | Aca => true,
        }
    }

    fn dispatch(model: &mut [Shadow], tags: &[u64]) -> Result<(), TestCaseError> {
        for &t in tags {
            prop_assert!(legal_dispatch(model, t), "illegal dispatch of {}", t);
            let m = model.iter_mut().find(|m| m.tag == t).unwrap();
            prop_assert!(!m.running);
            m.running = true;
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn ordering_invariants(ops in proptest::collection::vec(any_op(), 0..80),
                               restricted in any::<bool>()) {
            let alg = if restricted { QueueAlg::Restricted } else { QueueAlg::Unrestricted };
            let mut s = Sequencer::<6>::new(alg);
            let mut model: Vec<Shadow> = Vec::new();
            let mut aca = false;
            for op in ops {
                match op {
                    Op::Submit(t, a) => {
                        let tag = u64::from(t);
                        let attr = attr_of(a);
                        let r = s.submit(tag, attr);
                        let eff = if attr == Simple && restricted { Ordered } else { attr };
                        match r {
                            Ok(d) => {
                                prop_assert!(!model.iter().any(|m| m.tag == tag));
                                prop_assert!(model.len() < 6);
                                prop_assert!(!aca || attr == Aca);
                                model.push(Shadow { tag, attr: eff, running: false });
                                if matches!(attr, Hoq | Aca) {
                                    prop_assert_eq!(d, Dispatch::Now);
                                }
                                if d == Dispatch::Now {
                                    dispatch(&mut model, &[tag])?;
                                }
                            }
                            Err(Reject::Overlapped) => {
                                prop_assert!(model.iter().any(|m| m.tag == tag));
                            }
                            Err(Reject::AcaNotEstablished) => {
                                prop_assert!(!aca && attr == Aca);
                            }
                            Err(Reject::AcaActive) => prop_assert!(aca),
                            Err(Reject::TaskSetFull) => prop_assert_eq!(model.len(), 6),
                        }
                    }
                    Op::Complete(i) => {
                        if model.is_empty() { continue; }
                        let tag = model[i % model.len()].tag;
                        let rel: Vec<u64> = s.complete(tag).unwrap().collect();
                        model.retain(|m| m.tag != tag);
                        prop_assert!(!aca || rel.is_empty());
                        dispatch(&mut model, &rel)?;
                    }
                    Op::Aca => { s.establish_aca(); aca = true; }
                    Op::ClearAca => {
                        let rel: Vec<u64> = s.clear_aca().collect();
                        aca = false;
                        dispatch(&mut model, &rel)?;
                    }
                }
                // The sequencer mirrors the model.
                prop_assert_eq!(s.len(), model.len());
                for (e, m) in s.entries().iter().zip(&model) {
                    prop_assert_eq!((e.tag, e.attr, e.running), (m.tag, m.attr, m.running));
                }
                // Eagerness: with no ACA, nothing dormant is dispatchable.
                if !aca {
                    for m in &model {
                        if !m.running {
                            prop_assert!(!legal_dispatch(&model, m.tag));
                        }
                    }
                }
            }
            // Liveness: completing running commands drains the task set.
            let _ = s.clear_aca().count();
            for m in model.iter_mut() { m.running = s.is_running(m.tag).unwrap(); }
            let mut rounds = 0;
            while !s.is_empty() {
                rounds += 1;
                prop_assert!(rounds <= 6);
                let running: Vec<u64> = s.entries().iter().filter(|e| e.running).map(|e| e.tag).collect();
                prop_assert!(!running.is_empty(), "deadlock");
                for t in running {
                    let rel: Vec<u64> = s.complete(t).unwrap().collect();
                    model.retain(|m| m.tag != t);
                    dispatch(&mut model, &rel)?;
                }
            }
        }

        #[test]
        fn hoq_always_immediate_when_room(pre in proptest::collection::vec((0u8..3, any::<bool>()), 0..7)) {
            let mut s = Sequencer::<8>::new(QueueAlg::Unrestricted);
            for (i, (a, _)) in pre.iter().enumerate() {
                let _ = s.submit(i as u64, attr_of(*a));
            }
            prop_assert_eq!(s.submit(1000, Hoq), Ok(Dispatch::Now));
        }

        #[test]
        fn helpers_never_panic(cdb in proptest::collection::vec(any::<u8>(), 0..40),
                               ctl in any::<u8>(), off in any::<usize>(), sup in any::<bool>()) {
            let _ = control_offset(&cdb);
            let _ = implicit_head_of_queue(&cdb, PeripheralType::Disk);
            let _ = effective_attr(Simple, &cdb, PeripheralType::Cdrom);
            match check_control(ctl, off, sup) {
                Ok(naca) => prop_assert_eq!(naca, ctl & 4 != 0),
                Err(e) => prop_assert_eq!(e.key, Key::IllegalRequest),
            }
            if let Some(o) = control_offset(&cdb) {
                prop_assert!(o < cdb.len());
            }
        }
    }
}
