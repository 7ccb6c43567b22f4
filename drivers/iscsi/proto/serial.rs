// SPDX-License-Identifier: GPL-2.0

//! Serial number arithmetic (RFC 1982) for iSCSI sequence numbers.
//!
//! CmdSN, ExpCmdSN, MaxCmdSN, StatSN, ExpStatSN, DataSN, R2TSN and friends
//! are 32-bit counters that wrap, and RFC 7143 section 4.2.2 requires them to
//! be compared "in serial arithmetic sense" (RFC 1982 with `SERIAL_BITS` =
//! 32). `a < b` then means "b is less than 2^31 steps ahead of a", so `0xffff_ffff
//! < 0` and `0 < 0x7fff_ffff`.
//!
//! # The undefined case
//!
//! RFC 1982 section 3.2 leaves the comparison of two numbers exactly 2^31
//! apart undefined (each is "ahead" of the other by the same distance). Here
//! such a pair is neither [`lt`] nor [`gt`] (nor [`le`]/[`ge`], they are not
//! equal), [`cmp`] returns `None` and [`diff`] returns `None`. Callers treat
//! "not comparable" as "not in any window": the command window
//! (`super::window`) never spans more than 2^30 numbers, so such a number is
//! always outside it and ignored.
//!
//! These relations are not transitive over the whole number space (`0 < 2^30
//! < 2^31 < 3 * 2^30 < 0`), which is why there is no `PartialOrd` type here:
//! compare only numbers known to be close to each other.
//!
//! Addition (RFC 1982 section 3.1) is defined for `n` in 0..=2^31 - 1
//! ([`MAX_ADD`]); [`add`] wraps for any `n`, [`checked_add`] refuses larger
//! `n`.

use core::cmp::Ordering;

/// `SERIAL_BITS` for iSCSI sequence numbers.
pub const SERIAL_BITS: u32 = 32;

/// Half the number space, 2^31: the distance at which comparison is
/// undefined.
pub const HALF: u32 = 1 << (SERIAL_BITS - 1);

/// The largest increment RFC 1982 section 3.1 defines: 2^31 - 1.
pub const MAX_ADD: u32 = HALF - 1;

/// `s + n` modulo 2^32 (RFC 1982 section 3.1). The RFC defines it only for
/// `n <= MAX_ADD`; this wraps for any `n` and never panics.
pub const fn add(s: u32, n: u32) -> u32 {
    s.wrapping_add(n)
}

/// `s + n` if `n <= MAX_ADD` (where RFC 1982 defines addition), else `None`.
pub const fn checked_add(s: u32, n: u32) -> Option<u32> {
    if n <= MAX_ADD {
        Some(s.wrapping_add(n))
    } else {
        None
    }
}

/// The forward distance from `from` to `to`: how many increments of 1 take
/// `from` to `to` (always defined, 0..2^32).
pub const fn distance(from: u32, to: u32) -> u32 {
    to.wrapping_sub(from)
}

/// `a < b` in serial arithmetic: `b` is 1..2^31 - 1 steps ahead of `a`.
pub const fn lt(a: u32, b: u32) -> bool {
    let d = distance(a, b);
    d != 0 && d < HALF
}

/// `a > b` in serial arithmetic: `a` is 1..2^31 - 1 steps ahead of `b`.
pub const fn gt(a: u32, b: u32) -> bool {
    lt(b, a)
}

/// `a <= b`: equal or [`lt`]. False when the two are 2^31 apart.
pub const fn le(a: u32, b: u32) -> bool {
    a == b || lt(a, b)
}

/// `a >= b`: equal or [`gt`]. False when the two are 2^31 apart.
pub const fn ge(a: u32, b: u32) -> bool {
    a == b || gt(a, b)
}

/// The serial comparison of `a` with `b`, `None` when they are exactly 2^31
/// apart (undefined in RFC 1982 section 3.2).
pub const fn cmp(a: u32, b: u32) -> Option<Ordering> {
    if a == b {
        Some(Ordering::Equal)
    } else if lt(a, b) {
        Some(Ordering::Less)
    } else if gt(a, b) {
        Some(Ordering::Greater)
    } else {
        None
    }
}

/// The signed distance `a - b` in serial arithmetic: positive when `a` is
/// ahead of `b` ([`gt`]), negative when behind ([`lt`]), `None` when the two
/// are 2^31 apart (undefined). `diff(add(b, n), b) == Some(n)` for `n <=
/// MAX_ADD`.
pub const fn diff(a: u32, b: u32) -> Option<i32> {
    let d = a.wrapping_sub(b);
    if d == HALF {
        None
    } else {
        // Reinterpreting the two's complement distance is the intent here.
        Some(d as i32)
    }
}

/// Whether `x` lies in the serial range `lo..=hi`, i.e. `lo <= x <= hi` with
/// the range measured forward from `lo`. The caller keeps ranges shorter than
/// 2^31 (windows); `hi == lo - 1` is the empty range.
pub const fn in_range(x: u32, lo: u32, hi: u32) -> bool {
    let len = distance(lo, hi.wrapping_add(1));
    distance(lo, x) < len
}

/// The serial maximum of two numbers (`a` if they are not comparable).
pub const fn max(a: u32, b: u32) -> u32 {
    if gt(b, a) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 1982 section 5.2 examples for SERIAL_BITS = 8, scaled to 32 bits
    /// (multiplying by 2^24 keeps every serial relation).
    fn s8(x: u32) -> u32 {
        x << 24
    }

    #[test]
    fn rfc1982_section_5_2_examples() {
        // "1 < 44, 44 < 100, 100 < 200, 200 < 255, 255 < 0, 0 < 100,
        // 100 > 255, 0 > 200, and 44 > 200" (the last three written as
        // "less" pairs the other way round).
        let less = [
            (1, 44),
            (44, 100),
            (100, 200),
            (200, 255),
            (255, 0),
            (0, 100),
            (255, 100),
            (200, 0),
            (200, 44),
        ];
        for (a, b) in less {
            assert!(lt(s8(a), s8(b)), "{a} < {b}");
            assert!(gt(s8(b), s8(a)), "{b} > {a}");
            assert!(!lt(s8(b), s8(a)));
            assert!(le(s8(a), s8(b)));
            assert!(ge(s8(b), s8(a)));
        }
        // 0 and 128 are 2^7 apart: undefined.
        assert_eq!(cmp(s8(0), s8(128)), None);
    }

    #[test]
    fn rfc1982_section_5_1_two_bits_scaled() {
        // SERIAL_BITS = 2: 0 < 1, 1 < 2, 2 < 3, 3 < 0; 0/2 and 1/3 undefined.
        let q = |x: u32| x << 30;
        for (a, b) in [(0, 1), (1, 2), (2, 3), (3, 0)] {
            assert!(lt(q(a), q(b)));
            assert!(gt(q(b), q(a)));
        }
        for (a, b) in [(0, 2), (1, 3), (2, 0), (3, 1)] {
            assert_eq!(cmp(q(a), q(b)), None);
            assert!(!lt(q(a), q(b)) && !gt(q(a), q(b)));
        }
    }

    #[test]
    fn comparison_table() {
        use Ordering::*;
        let table: &[(u32, u32, Option<Ordering>)] = &[
            (0, 0, Some(Equal)),
            (0, 1, Some(Less)),
            (1, 0, Some(Greater)),
            (u32::MAX, 0, Some(Less)),
            (0, u32::MAX, Some(Greater)),
            (u32::MAX - 5, 5, Some(Less)),
            (0, 0x7fff_ffff, Some(Less)),
            (0, 0x8000_0000, None),
            (0x8000_0000, 0, None),
            (0, 0x8000_0001, Some(Greater)),
            (0x8000_0001, 0, Some(Less)),
            (0x7fff_ffff, 0x8000_0000, Some(Less)),
            (0x7fff_ffff, u32::MAX, None),
            (0x7fff_ffff, 0xffff_fffe, Some(Less)),
            (0x8000_0000, u32::MAX, Some(Less)),
            (0x8000_0000, 0x7fff_ffff, Some(Greater)),
            (u32::MAX, 0x7fff_ffff, None),
            (u32::MAX, 0x7fff_fffe, Some(Less)),
            (u32::MAX, 0x8000_0000, Some(Greater)),
            (12345, 12345, Some(Equal)),
        ];
        for &(a, b, want) in table {
            assert_eq!(cmp(a, b), want, "cmp({a:#x}, {b:#x})");
            assert_eq!(lt(a, b), want == Some(Less));
            assert_eq!(gt(a, b), want == Some(Greater));
            assert_eq!(le(a, b), matches!(want, Some(Less | Equal)));
            assert_eq!(ge(a, b), matches!(want, Some(Greater | Equal)));
        }
    }

    #[test]
    fn diff_table() {
        let table: &[(u32, u32, Option<i32>)] = &[
            (0, 0, Some(0)),
            (1, 0, Some(1)),
            (0, 1, Some(-1)),
            (0, u32::MAX, Some(1)),
            (u32::MAX, 0, Some(-1)),
            (0x7fff_ffff, 0, Some(i32::MAX)),
            (0x8000_0001, 0, Some(-0x7fff_ffff)),
            (0x8000_0000, 0, None),
            (0, 0x8000_0000, None),
            (5, u32::MAX - 4, Some(10)),
        ];
        for &(a, b, want) in table {
            assert_eq!(diff(a, b), want, "diff({a:#x}, {b:#x})");
        }
    }

    #[test]
    fn add_table() {
        assert_eq!(add(u32::MAX, 1), 0);
        assert_eq!(add(u32::MAX, 2), 1);
        assert_eq!(add(5, 0), 5);
        assert_eq!(add(0, u32::MAX), u32::MAX);
        assert_eq!(checked_add(u32::MAX, 1), Some(0));
        assert_eq!(checked_add(1, MAX_ADD), Some(0x8000_0000));
        assert_eq!(checked_add(1, HALF), None);
        assert_eq!(checked_add(1, u32::MAX), None);
        assert_eq!(MAX_ADD, 0x7fff_ffff);
        assert_eq!(HALF, 0x8000_0000);
        assert_eq!(SERIAL_BITS, 32);
    }

    #[test]
    fn distance_table() {
        assert_eq!(distance(0, 0), 0);
        assert_eq!(distance(u32::MAX, 0), 1);
        assert_eq!(distance(0, u32::MAX), u32::MAX);
        assert_eq!(distance(10, 3), u32::MAX - 6);
    }

    #[test]
    fn in_range_table() {
        let table: &[(u32, u32, u32, bool)] = &[
            (5, 5, 5, true),
            (4, 5, 5, false),
            (6, 5, 5, false),
            (5, 5, 4, false), // empty range (hi = lo - 1)
            (0, 0, u32::MAX, false),
            (u32::MAX, u32::MAX - 1, 1, true), // wraps
            (0, u32::MAX - 1, 1, true),
            (1, u32::MAX - 1, 1, true),
            (2, u32::MAX - 1, 1, false),
            (u32::MAX - 2, u32::MAX - 1, 1, false),
            (10, 1, 100, true),
            (100, 1, 100, true),
            (101, 1, 100, false),
        ];
        for &(x, lo, hi, want) in table {
            assert_eq!(in_range(x, lo, hi), want, "{x:#x} in {lo:#x}..={hi:#x}");
        }
    }

    #[test]
    fn max_table() {
        assert_eq!(max(1, 2), 2);
        assert_eq!(max(2, 1), 2);
        assert_eq!(max(u32::MAX, 1), 1);
        assert_eq!(max(1, u32::MAX), 1);
        assert_eq!(max(0, 0x8000_0000), 0, "incomparable keeps the first");
        assert_eq!(max(0x8000_0000, 0), 0x8000_0000);
    }

    #[test]
    fn non_transitive_cycle() {
        let q = 1u32 << 30;
        assert!(lt(0, q) && lt(q, 2 * q) && lt(2 * q, 3 * q) && lt(3 * q, 0));
    }

    #[test]
    fn const_usable() {
        const _: () = assert!(lt(u32::MAX, 0));
        const D: Option<i32> = diff(3, 1);
        assert_eq!(D, Some(2));
    }

    #[test]
    fn le_ge_on_equal() {
        for x in [0, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX] {
            assert!(le(x, x) && ge(x, x) && !lt(x, x) && !gt(x, x));
            assert_eq!(diff(x, x), Some(0));
        }
    }

    #[test]
    fn stat_sn_wrap_sequence() {
        // StatSN counting through the wrap stays strictly increasing.
        let mut sn = u32::MAX - 3;
        for _ in 0..8 {
            let next = add(sn, 1);
            assert!(lt(sn, next) && gt(next, sn));
            assert_eq!(diff(next, sn), Some(1));
            sn = next;
        }
        assert_eq!(sn, 4);
    }

    proptest! {
        #[test]
        fn ahead_by_n_is_greater(s in any::<u32>(), n in 1u32..=MAX_ADD) {
            let t = add(s, n);
            prop_assert!(lt(s, t));
            prop_assert!(gt(t, s));
            prop_assert!(!gt(s, t) && !lt(t, s));
            prop_assert_eq!(diff(t, s), Some(n as i32));
            prop_assert_eq!(diff(s, t), Some(-(n as i32)));
            prop_assert_eq!(checked_add(s, n), Some(t));
            prop_assert_eq!(distance(s, t), n);
        }

        #[test]
        fn exactly_half_is_undefined(s in any::<u32>()) {
            let t = add(s, HALF);
            prop_assert_eq!(cmp(s, t), None);
            prop_assert_eq!(cmp(t, s), None);
            prop_assert!(!le(s, t) && !ge(s, t));
            prop_assert_eq!(diff(s, t), None);
        }

        #[test]
        fn trichotomy(a in any::<u32>(), b in any::<u32>()) {
            let n = [a == b, lt(a, b), gt(a, b)].iter().filter(|&&x| x).count();
            if distance(a, b) == HALF {
                prop_assert_eq!(n, 0);
            } else {
                prop_assert_eq!(n, 1);
            }
            prop_assert_eq!(lt(a, b), gt(b, a));
            prop_assert_eq!(cmp(a, b).map(Ordering::reverse), cmp(b, a));
        }

        #[test]
        fn diff_matches_cmp(a in any::<u32>(), b in any::<u32>()) {
            match (diff(a, b), cmp(a, b)) {
                (None, None) => {}
                (Some(d), Some(o)) => prop_assert_eq!(d.cmp(&0), o),
                (d, o) => prop_assert!(false, "diff {:?} cmp {:?}", d, o),
            }
        }

        #[test]
        fn in_range_window(lo in any::<u32>(), len in 0u32..1000, off in 0u32..2000) {
            let hi = lo.wrapping_add(len).wrapping_sub(1);
            let x = lo.wrapping_add(off);
            prop_assert_eq!(in_range(x, lo, hi), off < len);
        }

        #[test]
        fn shifting_preserves_order(a in any::<u32>(), b in any::<u32>(), k in any::<u32>()) {
            prop_assert_eq!(cmp(a, b), cmp(add(a, k), add(b, k)));
        }
    }
}
