// SPDX-License-Identifier: GPL-2.0

//! Block range locks: what makes COMPARE AND WRITE and ORWRITE atomic.
//!
//! SBC-4 5.3 requires COMPARE AND WRITE to read, compare and write its
//! blocks "as an uninterrupted series of actions": no other command may
//! change those blocks in between. ORWRITE's read-modify-write needs the
//! same. A [`RangeTable`] records the block ranges commands are modifying:
//! plain writes take a [`Mode::Shared`] range (they may overlap each other,
//! as the initiator asked), the read-modify-write commands a
//! [`Mode::Exclusive`] one.
//!
//! An exclusive request that conflicts with running writes is queued
//! ([`Acquire::Queued`]): from then on new overlapping requests are refused
//! until it ran, so a stream of writes cannot starve it. Two queued requests
//! never overlap (the second one is refused until the first is granted), so
//! granting cannot deadlock. The table has a fixed number of slots and
//! allocates nothing; a caller that gets [`Acquire::Busy`] waits until a
//! range is released and asks again.

/// How many ranges can be held or queued at once.
pub const MAX_RANGES: usize = 64;

/// How a range is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A write: overlaps other shared ranges, not exclusive ones.
    Shared,
    /// A read-modify-write: overlaps nothing.
    Exclusive,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    start: u64,
    /// One past the last block (saturating at `u64::MAX`).
    end: u64,
    mode: Mode,
    /// Granted (false: an exclusive request waiting for its turn).
    active: bool,
}

impl Entry {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        // Empty ranges overlap nothing.
        start < end && self.start < self.end && self.start < end && start < self.end
    }
}

/// A range held or queued in a [`RangeTable`]; give it back with
/// [`RangeTable::release`].
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket(usize);

/// The answer to [`RangeTable::acquire`].
#[derive(Debug, PartialEq, Eq)]
pub enum Acquire {
    /// The range is held.
    Granted(Ticket),
    /// An exclusive range is queued: call [`RangeTable::try_grant`] after
    /// every release until it returns true.
    Queued(Ticket),
    /// Not now (a conflict, or no free slot): ask again after a release.
    Busy,
}

/// The ranges of one device that commands are modifying.
#[derive(Debug)]
pub struct RangeTable {
    slots: [Option<Entry>; MAX_RANGES],
}

impl Default for RangeTable {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeTable {
    /// An empty table.
    pub const fn new() -> Self {
        Self {
            slots: [None; MAX_RANGES],
        }
    }

    fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(Option::is_none)
    }

    /// Asks for `blocks` blocks from `lba` in `mode`. An empty range
    /// conflicts with nothing.
    pub fn acquire(&mut self, lba: u64, blocks: u64, mode: Mode) -> Acquire {
        let end = lba.saturating_add(blocks);
        let mut conflict = false;
        let mut queued_overlap = false;
        for e in self.slots.iter().flatten() {
            if !e.overlaps(lba, end) {
                continue;
            }
            if !e.active {
                queued_overlap = true;
                conflict = true;
            } else if e.mode == Mode::Exclusive || mode == Mode::Exclusive {
                conflict = true;
            }
        }
        let Some(i) = self.free_slot() else {
            return Acquire::Busy;
        };
        let entry = |active| Entry {
            start: lba,
            end,
            mode,
            active,
        };
        if !conflict {
            self.slots[i] = Some(entry(true));
            Acquire::Granted(Ticket(i))
        } else if mode == Mode::Exclusive && !queued_overlap {
            self.slots[i] = Some(entry(false));
            Acquire::Queued(Ticket(i))
        } else {
            Acquire::Busy
        }
    }

    /// Grants a queued range once no granted range overlaps it; true when
    /// the range is held (also when it already was).
    pub fn try_grant(&mut self, t: &Ticket) -> bool {
        let Some(Some(me)) = self.slots.get(t.0).copied() else {
            return false;
        };
        if me.active {
            return true;
        }
        let blocked =
            self.slots.iter().enumerate().any(|(i, e)| {
                i != t.0 && e.is_some_and(|e| e.active && e.overlaps(me.start, me.end))
            });
        if blocked {
            return false;
        }
        if let Some(Some(e)) = self.slots.get_mut(t.0) {
            e.active = true;
        }
        true
    }

    /// Gives a range (held or queued) back.
    pub fn release(&mut self, t: Ticket) {
        if let Some(s) = self.slots.get_mut(t.0) {
            *s = None;
        }
    }

    /// How many ranges are held or queued.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether no range is held or queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn granted(a: Acquire) -> Ticket {
        match a {
            Acquire::Granted(t) => t,
            other => panic!("expected Granted, got {other:?}"),
        }
    }

    fn queued(a: Acquire) -> Ticket {
        match a {
            Acquire::Queued(t) => t,
            other => panic!("expected Queued, got {other:?}"),
        }
    }

    #[test]
    fn shared_ranges_overlap() {
        let mut t = RangeTable::new();
        let a = granted(t.acquire(0, 8, Mode::Shared));
        let b = granted(t.acquire(4, 8, Mode::Shared));
        assert_eq!(t.len(), 2);
        t.release(a);
        t.release(b);
        assert!(t.is_empty());
    }

    #[test]
    fn disjoint_exclusive_ranges_are_granted() {
        let mut t = RangeTable::new();
        let _a = granted(t.acquire(0, 8, Mode::Exclusive));
        let _b = granted(t.acquire(8, 8, Mode::Exclusive));
        let _c = granted(t.acquire(16, 1, Mode::Shared));
    }

    #[test]
    fn adjacent_ranges_do_not_overlap() {
        let mut t = RangeTable::new();
        let _a = granted(t.acquire(10, 10, Mode::Exclusive));
        let _b = granted(t.acquire(0, 10, Mode::Exclusive));
        let _c = granted(t.acquire(20, 5, Mode::Exclusive));
        assert_eq!(t.acquire(19, 1, Mode::Shared), Acquire::Busy);
    }

    #[test]
    fn exclusive_waits_for_overlapping_write() {
        let mut t = RangeTable::new();
        let w = granted(t.acquire(0, 8, Mode::Shared));
        let x = queued(t.acquire(7, 2, Mode::Exclusive));
        assert!(!t.try_grant(&x));
        t.release(w);
        assert!(t.try_grant(&x));
        assert!(t.try_grant(&x), "granting twice is harmless");
    }

    #[test]
    fn write_waits_for_exclusive() {
        let mut t = RangeTable::new();
        let x = granted(t.acquire(100, 1, Mode::Exclusive));
        assert_eq!(t.acquire(100, 1, Mode::Shared), Acquire::Busy);
        assert_eq!(t.acquire(0, 200, Mode::Shared), Acquire::Busy);
        let _ok = granted(t.acquire(101, 1, Mode::Shared));
        t.release(x);
        let _w = granted(t.acquire(100, 1, Mode::Shared));
    }

    #[test]
    fn queued_exclusive_blocks_new_writes() {
        // A stream of writes cannot starve a COMPARE AND WRITE.
        let mut t = RangeTable::new();
        let w1 = granted(t.acquire(0, 4, Mode::Shared));
        let x = queued(t.acquire(0, 1, Mode::Exclusive));
        assert_eq!(t.acquire(0, 4, Mode::Shared), Acquire::Busy);
        assert_eq!(t.acquire(0, 1, Mode::Exclusive), Acquire::Busy);
        // Writes elsewhere go on.
        let _w2 = granted(t.acquire(4, 4, Mode::Shared));
        t.release(w1);
        assert!(t.try_grant(&x));
    }

    #[test]
    fn queued_exclusives_never_overlap() {
        let mut t = RangeTable::new();
        let a = granted(t.acquire(0, 10, Mode::Exclusive));
        let b = queued(t.acquire(5, 10, Mode::Exclusive));
        assert_eq!(t.acquire(12, 10, Mode::Exclusive), Acquire::Busy);
        // 0..2 conflicts with a but overlaps no queued request: queued.
        let c = queued(t.acquire(0, 2, Mode::Exclusive));
        assert!(!t.try_grant(&b));
        t.release(a);
        assert!(t.try_grant(&b));
        assert!(t.try_grant(&c));
    }

    #[test]
    fn empty_ranges_conflict_with_nothing() {
        let mut t = RangeTable::new();
        let _x = granted(t.acquire(0, u64::MAX, Mode::Exclusive));
        let _e = granted(t.acquire(5, 0, Mode::Shared));
        let _f = granted(t.acquire(5, 0, Mode::Exclusive));
    }

    #[test]
    fn ranges_at_the_end_of_u64_saturate() {
        let mut t = RangeTable::new();
        let _x = granted(t.acquire(u64::MAX - 1, 10, Mode::Exclusive));
        assert_eq!(t.acquire(u64::MAX - 1, 1, Mode::Shared), Acquire::Busy);
        let _w = granted(t.acquire(0, u64::MAX - 1, Mode::Shared));
    }

    #[test]
    fn full_table_is_busy_until_a_release() {
        let mut t = RangeTable::new();
        let mut held: Vec<Ticket> = (0..MAX_RANGES as u64)
            .map(|i| granted(t.acquire(i, 1, Mode::Shared)))
            .collect();
        assert_eq!(t.acquire(1000, 1, Mode::Shared), Acquire::Busy);
        assert_eq!(t.acquire(1000, 1, Mode::Exclusive), Acquire::Busy);
        t.release(held.pop().unwrap());
        let _ok = granted(t.acquire(1000, 1, Mode::Exclusive));
    }

    #[test]
    fn releasing_a_queued_request_forgets_it() {
        let mut t = RangeTable::new();
        let w = granted(t.acquire(0, 1, Mode::Shared));
        let x = queued(t.acquire(0, 1, Mode::Exclusive));
        t.release(x);
        let _w2 = granted(t.acquire(0, 1, Mode::Shared));
        t.release(w);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Acquire(u64, u64, bool),
        Release(usize),
        Grant(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..64, 0u64..16, any::<bool>()).prop_map(|(l, n, x)| Op::Acquire(l, n, x)),
            (0usize..80).prop_map(Op::Release),
            (0usize..80).prop_map(Op::Grant),
        ]
    }

    /// The table's promises: granted ranges never conflict, queued ones
    /// never overlap each other, and once everything else is released every
    /// queued request can be granted (no deadlock).
    fn check(t: &RangeTable) {
        let e: Vec<Entry> = t.slots.iter().flatten().copied().collect();
        for (i, a) in e.iter().enumerate() {
            for b in &e[i + 1..] {
                if !a.overlaps(b.start, b.end) {
                    continue;
                }
                if a.active && b.active {
                    assert!(
                        a.mode == Mode::Shared && b.mode == Mode::Shared,
                        "granted ranges conflict: {a:?} {b:?}"
                    );
                }
                assert!(a.active || b.active, "queued ranges overlap: {a:?} {b:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn invariants_hold(ops in proptest::collection::vec(op(), 1..200)) {
            let mut t = RangeTable::new();
            // (ticket, granted)
            let mut held: Vec<(Ticket, bool)> = Vec::new();
            for o in ops {
                match o {
                    Op::Acquire(l, n, x) => {
                        let m = if x { Mode::Exclusive } else { Mode::Shared };
                        match t.acquire(l, n, m) {
                            Acquire::Granted(tk) => held.push((tk, true)),
                            Acquire::Queued(tk) => held.push((tk, false)),
                            Acquire::Busy => {}
                        }
                    }
                    Op::Release(i) if !held.is_empty() => {
                        let (tk, _) = held.swap_remove(i % held.len());
                        t.release(tk);
                    }
                    Op::Grant(i) if !held.is_empty() => {
                        let k = i % held.len();
                        if t.try_grant(&held[k].0) {
                            held[k].1 = true;
                        }
                    }
                    _ => {}
                }
                check(&t);
                prop_assert_eq!(t.len(), held.len());
            }
            // Release every granted range: each queued one can then run.
            let (granted, waiting): (Vec<_>, Vec<_>) = held.into_iter().partition(|h| h.1);
            for (tk, _) in granted {
                t.release(tk);
            }
            for (tk, _) in &waiting {
                prop_assert!(t.try_grant(tk));
            }
            check(&t);
        }
    }
}
