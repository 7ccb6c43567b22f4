// SPDX-License-Identifier: GPL-2.0

//! The CmdSN command window of an iSCSI session (RFC 7143 sections 3.2.2.1
//! and 4.2.2.1).
//!
//! Every non-immediate command carries a CmdSN; the target delivers commands
//! to SCSI in CmdSN order across all connections of the session, and
//! advertises in every response the window it accepts: ExpCmdSN (the next
//! CmdSN it expects) through MaxCmdSN (the last it will accept). The rules:
//!
//! - A non-immediate command with CmdSN = ExpCmdSN is delivered and ExpCmdSN
//!   advances by one ([`Verdict::InOrder`]).
//! - ExpCmdSN < CmdSN <= MaxCmdSN: out of order but inside the window; it is
//!   held until the gap before it fills ([`Verdict::Hold`], [`Reorder`]).
//! - Anything else is outside the window, and "the target MUST silently
//!   ignore any non-immediate command outside of this range or non-immediate
//!   duplicates within the range" ([`Verdict::Drop`] with a [`DropReason`]).
//!   CmdSN < ExpCmdSN is a command already delivered: with ErrorRecoveryLevel
//!   0 there is no retransmission, so it is a duplicate and discarded.
//! - Immediate commands (I bit) carry the current CmdSN, do not advance it,
//!   may lie outside the window and are delivered at once
//!   ([`Verdict::Immediate`]).
//! - MaxCmdSN = ExpCmdSN + depth - 1 for a configurable queue depth. The
//!   target may shrink the window (a smaller depth, down to 0: MaxCmdSN =
//!   ExpCmdSN - 1 closes it), but MaxCmdSN never moves backwards, because
//!   initiators ignore a MaxCmdSN below the one they already have; a smaller
//!   depth takes effect as ExpCmdSN advances.
//!
//! All comparisons use serial arithmetic (RFC 1982, [`super::serial`]): the
//! window wraps at 2^32. The depth is at most [`MAX_DEPTH`] (2^30) so the
//! window is always far smaller than the 2^31 distance at which serial
//! comparison is undefined; a CmdSN exactly 2^31 from ExpCmdSN counts as
//! beyond the window.
//!
//! [`CmdSequencer`] combines a [`CmdWindow`] with a [`Reorder`] buffer: submit
//! each command as it arrives, deliver what it hands back, then drain
//! [`CmdSequencer::next_ready`].
//!
//! With ErrorRecoveryLevel > 0, a retransmitted command keeps its CmdSN and
//! must be recognized by its Initiator Task Tag before ordering (RFC 7143
//! section 4.2.2.1); that check belongs to the caller.

use super::serial;

/// Largest queue depth (window size): 2^30, well below the 2^31 limit of
/// serial comparison.
pub const MAX_DEPTH: u32 = 1 << 30;

/// Why a non-immediate command is silently ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// CmdSN < ExpCmdSN: a command with this CmdSN was already delivered
    /// (a duplicate; at ErrorRecoveryLevel 0 never a legitimate retry).
    Duplicate,
    /// CmdSN > MaxCmdSN (or not comparable with ExpCmdSN, 2^31 away): beyond
    /// the window the target advertised, including any CmdSN while the
    /// window is closed.
    BeyondWindow,
    /// A command with this CmdSN is already held waiting for a gap to fill
    /// (a "non-immediate duplicate within the range").
    DuplicateHeld,
    /// The reorder buffer has no room. Cannot happen with [`CmdSequencer`],
    /// whose depth is capped at the buffer's capacity.
    ReorderFull,
}

/// What to do with an incoming command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Immediate command: deliver now; ExpCmdSN does not change.
    Immediate,
    /// CmdSN = ExpCmdSN: deliver now; ExpCmdSN advances.
    InOrder,
    /// Inside the window but ahead of ExpCmdSN: hold until the gap fills.
    Hold,
    /// Outside the window: ignore silently (RFC 7143 section 4.2.2.1).
    Drop(DropReason),
}

/// ExpCmdSN/MaxCmdSN of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmdWindow {
    exp: u32,
    max: u32,
    depth: u32,
}

impl CmdWindow {
    /// A window starting at `exp_cmd_sn` (the CmdSN of the leading Login
    /// request, which is immediate and does not advance it) with `depth`
    /// commands open (clamped to [`MAX_DEPTH`]; 0 opens a closed window).
    pub const fn new(exp_cmd_sn: u32, depth: u32) -> Self {
        let depth = if depth > MAX_DEPTH { MAX_DEPTH } else { depth };
        Self {
            exp: exp_cmd_sn,
            max: exp_cmd_sn.wrapping_add(depth).wrapping_sub(1),
            depth,
        }
    }

    /// The ExpCmdSN to advertise: the next CmdSN to deliver.
    pub const fn exp_cmd_sn(&self) -> u32 {
        self.exp
    }

    /// The MaxCmdSN to advertise: the last CmdSN accepted.
    pub const fn max_cmd_sn(&self) -> u32 {
        self.max
    }

    /// The configured queue depth.
    pub const fn depth(&self) -> u32 {
        self.depth
    }

    /// How many CmdSNs the window holds now (MaxCmdSN - ExpCmdSN + 1); 0 when
    /// closed.
    pub const fn size(&self) -> u32 {
        serial::distance(self.exp, self.max.wrapping_add(1))
    }

    /// Whether the window is closed (MaxCmdSN = ExpCmdSN - 1).
    pub const fn is_closed(&self) -> bool {
        self.size() == 0
    }

    /// Changes the queue depth (clamped to [`MAX_DEPTH`]). A larger depth
    /// opens the window at once; a smaller one takes effect as ExpCmdSN
    /// advances, since MaxCmdSN never moves backwards.
    pub fn set_depth(&mut self, depth: u32) {
        self.depth = depth.min(MAX_DEPTH);
        self.update_max();
    }

    /// MaxCmdSN = max(MaxCmdSN, ExpCmdSN + depth - 1) in serial terms.
    fn update_max(&mut self) {
        let want = self.exp.wrapping_add(self.depth).wrapping_sub(1);
        // Both lie within MAX_DEPTH of ExpCmdSN - 1, so compare distances
        // from there rather than relying on the 2^31 serial rule.
        let base = self.exp.wrapping_sub(1);
        if serial::distance(base, want) > serial::distance(base, self.max) {
            self.max = want;
        }
    }

    /// Classifies a command by its CmdSN and I bit (pure: nothing changes).
    pub const fn classify(&self, cmd_sn: u32, immediate: bool) -> Verdict {
        if immediate {
            return Verdict::Immediate;
        }
        let d = serial::distance(self.exp, cmd_sn);
        let len = self.size();
        if d < len {
            if d == 0 {
                Verdict::InOrder
            } else {
                Verdict::Hold
            }
        } else if serial::lt(cmd_sn, self.exp) {
            Verdict::Drop(DropReason::Duplicate)
        } else {
            Verdict::Drop(DropReason::BeyondWindow)
        }
    }

    /// Records delivery of the command with CmdSN = ExpCmdSN: ExpCmdSN
    /// advances and MaxCmdSN follows the depth. Returns false (and changes
    /// nothing) if `cmd_sn` is not ExpCmdSN or the window is closed.
    pub fn deliver(&mut self, cmd_sn: u32) -> bool {
        if cmd_sn != self.exp || self.is_closed() {
            return false;
        }
        self.exp = self.exp.wrapping_add(1);
        self.update_max();
        true
    }
}

/// Why [`Reorder::insert`] refused an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReorderError {
    /// CmdSN is not within `N` numbers ahead of ExpCmdSN.
    OutOfRange,
    /// An item with the same CmdSN is already held.
    Duplicate,
    /// The slot is taken by an item with another CmdSN (left over from an
    /// ExpCmdSN the caller skipped).
    Occupied,
}

/// A fixed-capacity buffer of out-of-order commands, released in CmdSN
/// order.
///
/// Holds at most `N` items whose CmdSN lies in ExpCmdSN..ExpCmdSN + N;
/// `N` must be a power of two (checked at compile time) so that `CmdSN mod N`
/// is a unique slot across the 2^32 wrap. Insertion and removal are O(1).
pub struct Reorder<T, const N: usize> {
    slots: [Option<(u32, T)>; N],
    len: usize,
}

impl<T, const N: usize> Default for Reorder<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Reorder<T, N> {
    const CAPACITY_OK: () = assert!(N.is_power_of_two() && N <= 1 << 16);

    /// An empty buffer.
    pub fn new() -> Self {
        let () = Self::CAPACITY_OK;
        Self {
            slots: core::array::from_fn(|_| None),
            len: 0,
        }
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Number of items held.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slot index of a CmdSN (`N` is a power of two, so this is consistent
    /// across the 2^32 wrap).
    fn slot(cmd_sn: u32) -> usize {
        // u32 -> usize is lossless on every target the kernel supports; the
        // mask keeps the index in bounds regardless.
        (cmd_sn as usize) & (N - 1)
    }

    /// Holds `item` with `cmd_sn`, which must be 0..N ahead of `exp_cmd_sn`.
    /// On refusal the item is handed back with the reason.
    pub fn insert(
        &mut self,
        exp_cmd_sn: u32,
        cmd_sn: u32,
        item: T,
    ) -> Result<(), (ReorderError, T)> {
        if serial::distance(exp_cmd_sn, cmd_sn) as usize >= N {
            return Err((ReorderError::OutOfRange, item));
        }
        match self.slots.get_mut(Self::slot(cmd_sn)) {
            Some(slot @ None) => {
                *slot = Some((cmd_sn, item));
                self.len += 1;
                Ok(())
            }
            Some(Some((sn, _))) if *sn == cmd_sn => Err((ReorderError::Duplicate, item)),
            _ => Err((ReorderError::Occupied, item)),
        }
    }

    /// Whether an item with `cmd_sn` is held.
    pub fn contains(&self, cmd_sn: u32) -> bool {
        matches!(self.slots.get(Self::slot(cmd_sn)), Some(Some((sn, _))) if *sn == cmd_sn)
    }

    /// Takes the item with `cmd_sn` if held (normally `cmd_sn` is ExpCmdSN).
    pub fn take(&mut self, cmd_sn: u32) -> Option<T> {
        let slot = self.slots.get_mut(Self::slot(cmd_sn))?;
        match slot {
            Some((sn, _)) if *sn == cmd_sn => {
                self.len -= 1;
                slot.take().map(|(_, item)| item)
            }
            _ => None,
        }
    }

    /// Takes any held item with its CmdSN, for freeing everything when the
    /// session ends.
    pub fn take_any(&mut self) -> Option<(u32, T)> {
        let found = self.slots.iter_mut().find_map(Option::take)?;
        self.len -= 1;
        Some(found)
    }
}

/// The outcome of [`CmdSequencer::submit`].
#[derive(Debug, PartialEq, Eq)]
pub enum Submit<T> {
    /// Deliver this command now (immediate, or CmdSN = ExpCmdSN, in which
    /// case ExpCmdSN has advanced); afterwards drain
    /// [`CmdSequencer::next_ready`].
    Deliver(T),
    /// Held until the gap before it fills.
    Held,
    /// Outside the window: silently ignore; the command is handed back to be
    /// freed.
    Dropped(DropReason, T),
}

/// A session's command window with its reorder buffer of capacity `N`.
///
/// The depth is capped at `N`, so every command inside the window can be
/// held.
pub struct CmdSequencer<T, const N: usize> {
    window: CmdWindow,
    held: Reorder<T, N>,
}

impl<T, const N: usize> CmdSequencer<T, N> {
    /// A sequencer starting at `exp_cmd_sn` with `depth` (capped at `N`).
    pub fn new(exp_cmd_sn: u32, depth: u32) -> Self {
        Self {
            window: CmdWindow::new(exp_cmd_sn, Self::cap(depth)),
            held: Reorder::new(),
        }
    }

    /// The depth capped at the buffer capacity.
    fn cap(depth: u32) -> u32 {
        depth.min(u32::try_from(N).unwrap_or(MAX_DEPTH))
    }

    /// The window (ExpCmdSN and MaxCmdSN to advertise).
    pub fn window(&self) -> &CmdWindow {
        &self.window
    }

    /// Number of commands held out of order.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Changes the depth (capped at `N`); see [`CmdWindow::set_depth`].
    pub fn set_depth(&mut self, depth: u32) {
        self.window.set_depth(Self::cap(depth));
    }

    /// Submits an arriving command.
    pub fn submit(&mut self, cmd_sn: u32, immediate: bool, item: T) -> Submit<T> {
        match self.window.classify(cmd_sn, immediate) {
            Verdict::Immediate => Submit::Deliver(item),
            Verdict::InOrder => {
                self.window.deliver(cmd_sn);
                Submit::Deliver(item)
            }
            Verdict::Hold => match self.held.insert(self.window.exp_cmd_sn(), cmd_sn, item) {
                Ok(()) => Submit::Held,
                Err((ReorderError::Duplicate, item)) => {
                    Submit::Dropped(DropReason::DuplicateHeld, item)
                }
                Err((_, item)) => Submit::Dropped(DropReason::ReorderFull, item),
            },
            Verdict::Drop(reason) => Submit::Dropped(reason, item),
        }
    }

    /// The next held command that has become deliverable (its CmdSN is now
    /// ExpCmdSN), with its CmdSN; ExpCmdSN advances past it.
    pub fn next_ready(&mut self) -> Option<(u32, T)> {
        let sn = self.window.exp_cmd_sn();
        if self.window.is_closed() {
            return None;
        }
        let item = self.held.take(sn)?;
        self.window.deliver(sn);
        Some((sn, item))
    }

    /// Takes any held command, for freeing everything when the session ends.
    pub fn take_any(&mut self) -> Option<(u32, T)> {
        self.held.take_any()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    // ---------------- CmdWindow ----------------

    #[test]
    fn new_window() {
        let w = CmdWindow::new(10, 4);
        assert_eq!(w.exp_cmd_sn(), 10);
        assert_eq!(w.max_cmd_sn(), 13);
        assert_eq!(w.depth(), 4);
        assert_eq!(w.size(), 4);
        assert!(!w.is_closed());
    }

    #[test]
    fn new_closed_window() {
        let w = CmdWindow::new(10, 0);
        assert_eq!(w.max_cmd_sn(), 9, "MaxCmdSN = ExpCmdSN - 1");
        assert!(w.is_closed());
        assert_eq!(
            w.classify(10, false),
            Verdict::Drop(DropReason::BeyondWindow)
        );
        assert_eq!(w.classify(10, true), Verdict::Immediate);
        let w = CmdWindow::new(0, 0);
        assert_eq!(w.max_cmd_sn(), u32::MAX);
        assert!(w.is_closed());
    }

    #[test]
    fn depth_clamped() {
        let w = CmdWindow::new(0, u32::MAX);
        assert_eq!(w.depth(), MAX_DEPTH);
        assert_eq!(w.size(), MAX_DEPTH);
        let mut w = CmdWindow::new(0, 1);
        w.set_depth(u32::MAX);
        assert_eq!(w.depth(), MAX_DEPTH);
        assert_eq!(w.max_cmd_sn(), MAX_DEPTH - 1);
    }

    #[test]
    fn classify_table() {
        use DropReason::*;
        use Verdict::*;
        let w = CmdWindow::new(100, 8); // 100..=107
        let table: &[(u32, bool, Verdict)] = &[
            (100, false, InOrder),
            (101, false, Hold),
            (107, false, Hold),
            (108, false, Drop(BeyondWindow)),
            (99, false, Drop(Duplicate)),
            (0, false, Drop(Duplicate)),
            (100u32.wrapping_sub(0x7fff_ffff), false, Drop(Duplicate)),
            (100u32.wrapping_add(0x8000_0000), false, Drop(BeyondWindow)),
            (100u32.wrapping_add(0x7fff_ffff), false, Drop(BeyondWindow)),
            (u32::MAX, false, Drop(Duplicate)),
            (100, true, Immediate),
            (5, true, Immediate),
            (108, true, Immediate),
            (u32::MAX, true, Immediate),
        ];
        for &(sn, imm, want) in table {
            assert_eq!(w.classify(sn, imm), want, "CmdSN {sn:#x} I={imm}");
        }
    }

    #[test]
    fn classify_across_wrap() {
        use DropReason::*;
        use Verdict::*;
        let w = CmdWindow::new(u32::MAX - 1, 4); // MAX-1, MAX, 0, 1
        assert_eq!(w.max_cmd_sn(), 1);
        let table: &[(u32, Verdict)] = &[
            (u32::MAX - 1, InOrder),
            (u32::MAX, Hold),
            (0, Hold),
            (1, Hold),
            (2, Drop(BeyondWindow)),
            (u32::MAX - 2, Drop(Duplicate)),
        ];
        for &(sn, want) in table {
            assert_eq!(w.classify(sn, false), want, "CmdSN {sn:#x}");
        }
    }

    #[test]
    fn deliver_advances() {
        let mut w = CmdWindow::new(u32::MAX, 2);
        assert!(!w.deliver(0), "not ExpCmdSN");
        assert!(w.deliver(u32::MAX));
        assert_eq!(w.exp_cmd_sn(), 0);
        assert_eq!(w.max_cmd_sn(), 1);
        assert!(w.deliver(0));
        assert_eq!((w.exp_cmd_sn(), w.max_cmd_sn()), (1, 2));
    }

    #[test]
    fn deliver_refused_when_closed() {
        let mut w = CmdWindow::new(5, 0);
        assert!(!w.deliver(5));
        assert_eq!(w.exp_cmd_sn(), 5);
    }

    #[test]
    fn shrink_never_moves_max_backwards() {
        let mut w = CmdWindow::new(0, 8); // 0..=7
        w.set_depth(2);
        assert_eq!(w.max_cmd_sn(), 7, "MaxCmdSN kept");
        assert_eq!(w.size(), 8);
        for sn in 0..6 {
            assert!(w.deliver(sn));
            assert_eq!(w.max_cmd_sn(), 7, "after delivering {sn}");
        }
        // ExpCmdSN 6: 6 + 2 - 1 = 7, then the smaller depth governs.
        assert!(w.deliver(6));
        assert_eq!((w.exp_cmd_sn(), w.max_cmd_sn()), (7, 8));
        assert_eq!(w.size(), 2);
    }

    #[test]
    fn close_and_reopen() {
        let mut w = CmdWindow::new(0, 2); // 0..=1
        w.set_depth(0);
        assert!(w.deliver(0));
        assert!(w.deliver(1));
        assert!(w.is_closed());
        assert_eq!((w.exp_cmd_sn(), w.max_cmd_sn()), (2, 1));
        assert_eq!(
            w.classify(2, false),
            Verdict::Drop(DropReason::BeyondWindow)
        );
        assert!(!w.deliver(2));
        w.set_depth(3);
        assert_eq!((w.exp_cmd_sn(), w.max_cmd_sn()), (2, 4));
        assert_eq!(w.classify(2, false), Verdict::InOrder);
    }

    #[test]
    fn grow_applies_at_once() {
        let mut w = CmdWindow::new(10, 1);
        w.set_depth(16);
        assert_eq!(w.max_cmd_sn(), 25);
    }

    #[test]
    fn set_depth_same_is_noop() {
        let mut w = CmdWindow::new(u32::MAX - 3, 8);
        let before = w;
        w.set_depth(8);
        assert_eq!(w, before);
    }

    #[test]
    fn max_cmd_sn_never_below_exp_minus_one() {
        // RFC 7143 3.2.2.1: MaxCmdSN >= ExpCmdSN - 1 (serial).
        let mut w = CmdWindow::new(u32::MAX - 10, 5);
        for i in 0..40u32 {
            if i % 7 == 0 {
                w.set_depth(i % 3);
            }
            let exp = w.exp_cmd_sn();
            w.deliver(exp);
            assert!(serial::ge(w.max_cmd_sn(), w.exp_cmd_sn().wrapping_sub(1)));
        }
    }

    // ---------------- Reorder ----------------

    #[test]
    fn reorder_basic() {
        let mut r: Reorder<&str, 8> = Reorder::new();
        assert_eq!(r.capacity(), 8);
        assert!(r.is_empty());
        assert_eq!(r.insert(10, 12, "c"), Ok(()));
        assert_eq!(r.insert(10, 11, "b"), Ok(()));
        assert_eq!(r.len(), 2);
        assert!(r.contains(12) && r.contains(11) && !r.contains(10));
        assert_eq!(r.take(10), None);
        assert_eq!(r.take(11), Some("b"));
        assert_eq!(r.take(11), None);
        assert_eq!(r.take(12), Some("c"));
        assert!(r.is_empty());
    }

    #[test]
    fn reorder_errors() {
        let mut r: Reorder<u32, 4> = Reorder::new();
        assert_eq!(r.insert(10, 14, 1), Err((ReorderError::OutOfRange, 1)));
        assert_eq!(r.insert(10, 9, 2), Err((ReorderError::OutOfRange, 2)));
        assert_eq!(r.insert(10, 13, 3), Ok(()));
        assert_eq!(r.insert(10, 13, 4), Err((ReorderError::Duplicate, 4)));
        // 13 left behind when ExpCmdSN jumps to 14: slot of 17 is taken.
        assert_eq!(r.insert(14, 17, 5), Err((ReorderError::Occupied, 5)));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn reorder_across_wrap() {
        let mut r: Reorder<u32, 4> = Reorder::new();
        let exp = u32::MAX - 1;
        for sn in [1u32, 0, u32::MAX, u32::MAX - 1] {
            assert_eq!(r.insert(exp, sn, sn), Ok(()));
        }
        assert_eq!(r.len(), 4);
        let mut sn = exp;
        for _ in 0..4 {
            assert_eq!(r.take(sn), Some(sn));
            sn = sn.wrapping_add(1);
        }
        assert!(r.is_empty());
    }

    #[test]
    fn reorder_take_any_drains() {
        let mut r: Reorder<u32, 8> = Reorder::default();
        for sn in [3u32, 5, 7] {
            r.insert(1, sn, sn * 10).unwrap();
        }
        let mut got: Vec<(u32, u32)> = core::iter::from_fn(|| r.take_any()).collect();
        got.sort_unstable();
        assert_eq!(got, [(3, 30), (5, 50), (7, 70)]);
        assert!(r.is_empty());
        assert_eq!(r.take_any(), None);
    }

    // ---------------- CmdSequencer ----------------

    #[test]
    fn sequencer_in_order() {
        let mut s: CmdSequencer<u32, 8> = CmdSequencer::new(0, 8);
        for sn in 0..20 {
            assert_eq!(s.submit(sn, false, sn), Submit::Deliver(sn));
            assert_eq!(s.next_ready(), None);
        }
        assert_eq!(s.window().exp_cmd_sn(), 20);
        assert_eq!(s.window().max_cmd_sn(), 27);
    }

    #[test]
    fn sequencer_reorders() {
        let mut s: CmdSequencer<u32, 8> = CmdSequencer::new(100, 8);
        assert_eq!(s.submit(102, false, 102), Submit::Held);
        assert_eq!(s.submit(101, false, 101), Submit::Held);
        assert_eq!(s.held(), 2);
        assert_eq!(s.next_ready(), None);
        assert_eq!(s.submit(100, false, 100), Submit::Deliver(100));
        assert_eq!(s.next_ready(), Some((101, 101)));
        assert_eq!(s.next_ready(), Some((102, 102)));
        assert_eq!(s.next_ready(), None);
        assert_eq!(s.window().exp_cmd_sn(), 103);
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn sequencer_drops() {
        let mut s: CmdSequencer<u32, 4> = CmdSequencer::new(10, 4); // 10..=13
        assert_eq!(
            s.submit(14, false, 1),
            Submit::Dropped(DropReason::BeyondWindow, 1)
        );
        assert_eq!(
            s.submit(9, false, 2),
            Submit::Dropped(DropReason::Duplicate, 2)
        );
        assert_eq!(s.submit(12, false, 3), Submit::Held);
        assert_eq!(
            s.submit(12, false, 4),
            Submit::Dropped(DropReason::DuplicateHeld, 4)
        );
        assert_eq!(s.submit(10, false, 5), Submit::Deliver(5));
        assert_eq!(
            s.submit(10, false, 6),
            Submit::Dropped(DropReason::Duplicate, 6)
        );
        assert_eq!(s.next_ready(), None, "11 still missing");
        assert_eq!(s.submit(11, false, 7), Submit::Deliver(7));
        assert_eq!(s.next_ready(), Some((12, 3)));
    }

    #[test]
    fn sequencer_immediate_does_not_advance() {
        let mut s: CmdSequencer<u32, 4> = CmdSequencer::new(10, 4);
        assert_eq!(s.submit(10, true, 1), Submit::Deliver(1));
        assert_eq!(s.window().exp_cmd_sn(), 10);
        // Immediate commands outside the window are still delivered.
        assert_eq!(s.submit(500, true, 2), Submit::Deliver(2));
        assert_eq!(s.submit(9, true, 3), Submit::Deliver(3));
        assert_eq!(s.window().exp_cmd_sn(), 10);
        assert_eq!(s.submit(10, false, 4), Submit::Deliver(4));
        assert_eq!(s.window().exp_cmd_sn(), 11);
    }

    #[test]
    fn sequencer_depth_capped_at_capacity() {
        let mut s: CmdSequencer<u32, 4> = CmdSequencer::new(0, 100);
        assert_eq!(s.window().depth(), 4);
        assert_eq!(s.window().max_cmd_sn(), 3);
        s.set_depth(1000);
        assert_eq!(s.window().depth(), 4);
        s.set_depth(1);
        assert_eq!(s.window().depth(), 1);
        assert_eq!(s.window().max_cmd_sn(), 3, "never backwards");
    }

    #[test]
    fn sequencer_closed_window_holds_nothing() {
        let mut s: CmdSequencer<u32, 4> = CmdSequencer::new(0, 0);
        assert_eq!(
            s.submit(0, false, 1),
            Submit::Dropped(DropReason::BeyondWindow, 1)
        );
        assert_eq!(
            s.submit(1, false, 2),
            Submit::Dropped(DropReason::BeyondWindow, 2)
        );
        assert_eq!(s.next_ready(), None);
        assert_eq!(s.submit(0, true, 3), Submit::Deliver(3));
    }

    #[test]
    fn sequencer_shrink_while_holding() {
        let mut s: CmdSequencer<u32, 8> = CmdSequencer::new(0, 8);
        for sn in 1..8 {
            assert_eq!(s.submit(sn, false, sn), Submit::Held);
        }
        s.set_depth(0);
        assert_eq!(s.submit(0, false, 0), Submit::Deliver(0));
        let rest: Vec<u32> = core::iter::from_fn(|| s.next_ready().map(|(_, v)| v)).collect();
        assert_eq!(rest, [1, 2, 3, 4, 5, 6, 7]);
        assert!(s.window().is_closed());
        assert_eq!(s.window().exp_cmd_sn(), 8);
        assert_eq!(s.window().max_cmd_sn(), 7);
    }

    #[test]
    fn sequencer_take_any_on_teardown() {
        let mut s: CmdSequencer<u32, 8> = CmdSequencer::new(0, 8);
        s.submit(3, false, 3);
        s.submit(5, false, 5);
        let mut got: Vec<u32> = core::iter::from_fn(|| s.take_any().map(|(_, v)| v)).collect();
        got.sort_unstable();
        assert_eq!(got, [3, 5]);
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn reorder_capacity_one() {
        let mut r: Reorder<u8, 1> = Reorder::new();
        assert_eq!(r.insert(5, 6, 1), Err((ReorderError::OutOfRange, 1)));
        assert_eq!(r.insert(5, 5, 2), Ok(()));
        assert_eq!(r.take(5), Some(2));
        let mut s: CmdSequencer<u8, 1> = CmdSequencer::new(u32::MAX, 5);
        assert_eq!(s.window().depth(), 1);
        assert_eq!(
            s.submit(0, false, 1),
            Submit::Dropped(DropReason::BeyondWindow, 1)
        );
        assert_eq!(s.submit(u32::MAX, false, 2), Submit::Deliver(2));
        assert_eq!(s.submit(0, false, 3), Submit::Deliver(3));
        assert_eq!(s.window().exp_cmd_sn(), 1);
    }

    #[test]
    fn deliver_wrong_sn_changes_nothing() {
        let mut w = CmdWindow::new(7, 4);
        let before = w;
        for sn in [6, 8, 10, 11, u32::MAX] {
            assert!(!w.deliver(sn));
            assert_eq!(w, before);
        }
    }

    #[test]
    fn many_wraps_in_order() {
        // Two full trips round a small window across the 2^32 boundary.
        let start = u32::MAX - 100;
        let mut s: CmdSequencer<u32, 16> = CmdSequencer::new(start, 16);
        let mut out = Vec::new();
        for i in 0..300u32 {
            let sn = start.wrapping_add(i);
            // Submit pairs swapped: 1, 0, 3, 2, ...
            let swapped = if i % 2 == 0 {
                sn.wrapping_add(1)
            } else {
                sn.wrapping_sub(1)
            };
            pump(&mut s, swapped, &mut out);
        }
        let want: Vec<u32> = (0..300).map(|i| start.wrapping_add(i)).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn drop_reason_for_closed_window_after_delivery() {
        let mut s: CmdSequencer<u32, 4> = CmdSequencer::new(0, 1);
        s.set_depth(0);
        assert_eq!(s.submit(0, false, 0), Submit::Deliver(0));
        assert_eq!(
            s.submit(0, false, 1),
            Submit::Dropped(DropReason::Duplicate, 1)
        );
        assert_eq!(
            s.submit(1, false, 2),
            Submit::Dropped(DropReason::BeyondWindow, 2)
        );
    }

    /// Delivers everything a submission releases (test helper).
    fn pump<const N: usize>(s: &mut CmdSequencer<u32, N>, sn: u32, out: &mut Vec<u32>) {
        if let Submit::Deliver(v) = s.submit(sn, false, sn) {
            out.push(v);
            while let Some((_, v)) = s.next_ready() {
                out.push(v);
            }
        }
    }

    proptest! {
        #[test]
        fn permutation_comes_out_in_order(
            start in prop_oneof![Just(u32::MAX - 20), Just(0u32), any::<u32>()],
            perm in Just((0u32..64).collect::<Vec<u32>>()).prop_shuffle(),
        ) {
            let mut s: CmdSequencer<u32, 64> = CmdSequencer::new(start, 64);
            let mut out = Vec::new();
            for off in &perm {
                pump(&mut s, start.wrapping_add(*off), &mut out);
            }
            let want: Vec<u32> = (0..64).map(|i| start.wrapping_add(i)).collect();
            prop_assert_eq!(out, want);
            prop_assert_eq!(s.held(), 0);
            prop_assert_eq!(s.window().exp_cmd_sn(), start.wrapping_add(64));
        }

        #[test]
        fn arbitrary_stream_delivers_prefix_exactly_once(
            start in any::<u32>(),
            depth in 0u32..20,
            offs in proptest::collection::vec(-40i64..60, 0..200),
        ) {
            let mut s: CmdSequencer<u32, 16> = CmdSequencer::new(start, depth);
            let mut out = Vec::new();
            let mut prev_max = s.window().max_cmd_sn();
            for off in offs {
                let sn = (i64::from(start) + off).rem_euclid(1 << 32) as u32;
                pump(&mut s, sn, &mut out);
                let w = *s.window();
                // MaxCmdSN never goes backwards and never below ExpCmdSN - 1.
                prop_assert!(serial::ge(w.max_cmd_sn(), prev_max));
                prop_assert!(serial::ge(w.max_cmd_sn(), w.exp_cmd_sn().wrapping_sub(1)));
                prev_max = w.max_cmd_sn();
                prop_assert!(s.held() <= 16);
            }
            // Delivered exactly start, start+1, ... with no gap or repeat.
            for (i, v) in out.iter().enumerate() {
                prop_assert_eq!(*v, start.wrapping_add(i as u32));
            }
            prop_assert_eq!(s.window().exp_cmd_sn(), start.wrapping_add(out.len() as u32));
        }

        #[test]
        fn changing_depth_keeps_order(
            start in any::<u32>(),
            ops in proptest::collection::vec((0u32..40, any::<bool>(), 0u32..10), 0..200),
        ) {
            let mut s: CmdSequencer<u32, 8> = CmdSequencer::new(start, 8);
            let mut out = Vec::new();
            let mut prev_max = s.window().max_cmd_sn();
            for (off, set, d) in ops {
                if set {
                    s.set_depth(d);
                }
                pump(&mut s, start.wrapping_add(off), &mut out);
                prop_assert!(serial::ge(s.window().max_cmd_sn(), prev_max));
                prev_max = s.window().max_cmd_sn();
            }
            for (i, v) in out.iter().enumerate() {
                prop_assert_eq!(*v, start.wrapping_add(i as u32));
            }
        }

        #[test]
        fn classify_matches_serial(exp in any::<u32>(), depth in 0u32..100, sn in any::<u32>()) {
            let w = CmdWindow::new(exp, depth);
            let v = w.classify(sn, false);
            let inside = depth > 0 && serial::le(exp, sn) && serial::le(sn, w.max_cmd_sn());
            match v {
                Verdict::InOrder => prop_assert!(sn == exp && inside),
                Verdict::Hold => prop_assert!(sn != exp && inside),
                Verdict::Drop(DropReason::Duplicate) => prop_assert!(serial::lt(sn, exp)),
                Verdict::Drop(DropReason::BeyondWindow) => prop_assert!(!inside && !serial::lt(sn, exp)),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
            prop_assert_eq!(w.classify(sn, true), Verdict::Immediate);
        }
    }
}
