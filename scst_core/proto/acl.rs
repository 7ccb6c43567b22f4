// SPDX-License-Identifier: GPL-2.0

//! Access control: which security group a new session (I_T nexus) joins.
//!
//! The classic SCST model: groups are global; each group has a list of
//! initiator names (`/proc/scsi_tgt/groups/<G>/names`). A new session's
//! initiator name is matched against every group's names in group creation
//! order and the first match wins. Without a match the session joins
//! `Default_<target name>` if that group exists, else `Default`.
//!
//! A name entry may be a pattern (SCST 1.0.1 and later): `*` matches any
//! run of characters, `?` exactly one, everything else itself (exact, case
//! sensitive, like SCST's `strcmp`). An entry may hold several patterns
//! separated by commas; a pattern with a leading `!` excludes. An entry
//! matches a name when no excluding pattern matches it and either some
//! including pattern matches it or the entry has no including patterns (so
//! `!iqn.bad*` alone means "everyone except iqn.bad...").

/// Name of the group every target falls back to.
pub const DEFAULT_GROUP: &[u8] = b"Default";

/// Prefix of a target's own fallback group, `Default_<target name>`.
pub const DEFAULT_TARGET_PREFIX: &[u8] = b"Default_";

/// Returns whether `name` matches the wildcard `pattern` (`*`, `?`).
///
/// Iterative with single-star backtracking: linear memory, `O(n * m)` time
/// in the worst case, no recursion (kernel stacks are small).
pub fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    // Position after the last `*` seen, and the name position it absorbed up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last `*` absorb one more character and retry.
                Some((sp, sn)) => {
                    p = sp;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// Returns whether a `names` entry (possibly a comma-separated pattern list
/// with `!` exclusions) matches `initiator`.
pub fn entry_matches(entry: &[u8], initiator: &[u8]) -> bool {
    let mut has_include = false;
    let mut has_exclude = false;
    let mut included = false;
    for pat in entry.split(|&c| c == b',').filter(|p| !p.is_empty()) {
        if let Some(neg) = pat.strip_prefix(b"!") {
            has_exclude = true;
            if wildcard_match(neg, initiator) {
                return false;
            }
        } else {
            has_include = true;
            included = included || wildcard_match(pat, initiator);
        }
    }
    included || !has_include && has_exclude
}

/// Returns whether `group` is the name of a group that cannot be added or
/// deleted (`Default`).
pub fn is_default_group(group: &[u8]) -> bool {
    group == DEFAULT_GROUP
}

/// Returns whether `group` is `Default_<target>`.
pub fn is_target_default(group: &[u8], target: &[u8]) -> bool {
    group.len() == DEFAULT_TARGET_PREFIX.len() + target.len()
        && group.starts_with(DEFAULT_TARGET_PREFIX)
        && group.ends_with(target)
}

/// What a session joins, as decided by [`choose_group`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// The group at this index of the caller's group list matched by name.
    Named(usize),
    /// The target's own `Default_<target>` group, at this index.
    TargetDefault(usize),
    /// `Default`.
    Default,
}

/// Chooses the group of a new session.
///
/// `groups` yields, in creation order, each group's name and its `names`
/// entries. The first group with an entry matching `initiator` wins;
/// otherwise `Default_<target>` if it exists; otherwise `Default`.
pub fn choose_group<'a, G, N>(groups: G, initiator: &[u8], target: &[u8]) -> Choice
where
    G: IntoIterator<Item = (&'a [u8], N)>,
    N: IntoIterator<Item = &'a [u8]>,
{
    let mut target_default = None;
    for (i, (name, entries)) in groups.into_iter().enumerate() {
        if entries.into_iter().any(|e| entry_matches(e, initiator)) {
            return Choice::Named(i);
        }
        if target_default.is_none() && is_target_default(name, target) {
            target_default = Some(i);
        }
    }
    target_default.map_or(Choice::Default, Choice::TargetDefault)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn exact_names() {
        assert!(wildcard_match(
            b"iqn.1993-08.org.debian:01:abc",
            b"iqn.1993-08.org.debian:01:abc"
        ));
        assert!(!wildcard_match(b"iqn.a", b"iqn.b"));
        assert!(!wildcard_match(b"iqn", b"iqn.a"));
        assert!(!wildcard_match(b"iqn.a", b"iqn"));
        assert!(
            !wildcard_match(b"IQN.A", b"iqn.a"),
            "case sensitive like strcmp"
        );
        assert!(wildcard_match(b"", b""));
        assert!(!wildcard_match(b"", b"a"));
    }

    #[test]
    fn star_and_question() {
        assert!(wildcard_match(b"*", b""));
        assert!(wildcard_match(b"*", b"anything"));
        assert!(wildcard_match(b"iqn.*", b"iqn.2024-01.com.example:host"));
        assert!(!wildcard_match(b"iqn.*", b"eui.0011"));
        assert!(wildcard_match(b"*:host?", b"iqn.x:host1"));
        assert!(!wildcard_match(b"*:host?", b"iqn.x:host12"));
        assert!(wildcard_match(b"a*b*c", b"aXXbYYc"));
        assert!(wildcard_match(b"a*b*c", b"abc"));
        assert!(!wildcard_match(b"a*b*c", b"acb"));
        assert!(wildcard_match(b"a**c", b"ac"));
        assert!(wildcard_match(b"*a*a*a", b"aaaa"));
        assert!(!wildcard_match(b"?", b""));
        assert!(wildcard_match(b"???", b"abc"));
        assert!(wildcard_match(b"*abc", b"ababc"), "needs backtracking");
    }

    #[test]
    fn entries_with_lists_and_negation() {
        assert!(entry_matches(b"iqn.a,iqn.b", b"iqn.b"));
        assert!(!entry_matches(b"iqn.a,iqn.b", b"iqn.c"));
        assert!(entry_matches(b"iqn.*,!iqn.bad*", b"iqn.good"));
        assert!(!entry_matches(b"iqn.*,!iqn.bad*", b"iqn.bad1"));
        assert!(
            entry_matches(b"!iqn.bad*", b"eui.1234"),
            "exclusion only: all others"
        );
        assert!(!entry_matches(b"!iqn.bad*", b"iqn.bad"));
        assert!(!entry_matches(b"", b"iqn.a"));
        assert!(!entry_matches(b",", b"iqn.a"));
        assert!(entry_matches(b"!*x", b"abc"));
    }

    #[test]
    fn default_groups() {
        assert!(is_default_group(b"Default"));
        assert!(!is_default_group(b"default"));
        assert!(is_target_default(b"Default_iqn.t1", b"iqn.t1"));
        assert!(!is_target_default(b"Default_iqn.t1", b"iqn.t"));
        assert!(!is_target_default(b"Default", b""));
        assert!(is_target_default(b"Default_", b""));
    }

    fn groups<'a>(
        g: &'a [(&'a [u8], Vec<&'a [u8]>)],
    ) -> impl Iterator<Item = (&'a [u8], Vec<&'a [u8]>)> + 'a {
        g.iter().map(|(n, e)| (*n, e.clone()))
    }

    #[test]
    fn choose_first_match_then_target_default_then_default() {
        let g: Vec<(&[u8], Vec<&[u8]>)> = std::vec![
            (b"Default_tgt1", Vec::new()),
            (b"hosts", std::vec![b"iqn.h1".as_slice(), b"iqn.h2"]),
            (b"wild", std::vec![b"iqn.*".as_slice()]),
        ];
        assert_eq!(
            choose_group(groups(&g), b"iqn.h2", b"tgt1"),
            Choice::Named(1)
        );
        assert_eq!(
            choose_group(groups(&g), b"iqn.zz", b"tgt1"),
            Choice::Named(2)
        );
        assert_eq!(
            choose_group(groups(&g), b"eui.1", b"tgt1"),
            Choice::TargetDefault(0)
        );
        assert_eq!(choose_group(groups(&g), b"eui.1", b"tgt2"), Choice::Default);
        assert_eq!(
            choose_group(groups(&[]), b"eui.1", b"tgt2"),
            Choice::Default
        );
    }

    // A reference matcher, exponential but obviously right, for small inputs.
    fn reference(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| reference(rest, &n[i..])),
            Some((&c, rest)) => match n.split_first() {
                Some((&d, nrest)) if c == b'?' || c == d => reference(rest, nrest),
                _ => false,
            },
        }
    }

    proptest! {
        #[test]
        fn matches_reference(p in "[ab*?]{0,8}", n in "[ab]{0,10}") {
            prop_assert_eq!(wildcard_match(p.as_bytes(), n.as_bytes()), reference(p.as_bytes(), n.as_bytes()));
        }

        #[test]
        fn never_panics(e in proptest::collection::vec(any::<u8>(), 0..64), n in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = entry_matches(&e, &n);
            let _ = wildcard_match(&e, &n);
        }

        #[test]
        fn literal_names_match_themselves(n in "[a-z0-9.:-]{1,40}") {
            prop_assert!(entry_matches(n.as_bytes(), n.as_bytes()));
        }
    }
}
