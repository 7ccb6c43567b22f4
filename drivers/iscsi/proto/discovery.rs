// SPDX-License-Identifier: GPL-2.0

//! SendTargets responses (RFC 7143 13.3, appendix C) and iSCSI name
//! validation (RFC 7143 4.2.7, RFC 3720 3.2.6.3, RFC 3722, RFC 3980).
//!
//! # SendTargets
//!
//! [`send_targets`] answers the value of a `SendTargets` key:
//!
//! | session | value | answer |
//! |---|---|---|
//! | Discovery | `All` | every target the initiator may see |
//! | Discovery | `<name>` | that target, if it exists and is visible |
//! | Discovery | empty | nothing (there is no current target) |
//! | Normal | empty or the current target's name | the current target |
//! | Normal | another name | nothing |
//! | Normal | `All` | `SendTargets=Reject` |
//!
//! Each target is `TargetName=<name>` followed by one
//! `TargetAddress=<ip>:<port>,<tpgt>` per portal (IPv6 in brackets, RFC
//! 5952 text form).
//!
//! The answer may exceed one Text Response. [`send_targets`] produces the
//! bytes `[offset, offset + out.len())` of the whole answer and reports its
//! total length, so the kernel:
//! 1. answers the Text Request with the first chunk (offset 0, at most the
//!    initiator's `MaxRecvDataSegmentLength` bytes); if [`Chunk::more`], it
//!    sets C=1, F=0 and a Target Transfer Tag other than 0xffffffff, and
//!    remembers the offset `chunk.next_offset` with that TTT;
//! 2. on the initiator's empty Text Request carrying that TTT (RFC 7143
//!    11.10.4), sends the next chunk the same way;
//! 3. sends the last chunk with C=0, F=1, TTT 0xffffffff and forgets the
//!    offset. A new Text Request with TTT 0xffffffff, or one with a
//!    different ITT, restarts (RFC 7143 11.10.4: a new task resets it).
//!
//! Pairs may be split between Text Responses (RFC 7143 11.11.2: C bit).
//! The answer is recomputed for every chunk: a configuration change between
//! chunks can make the pieces inconsistent; the kernel may hold the
//! configuration lock across the sequence or accept that.

use core::fmt;

use super::text::{TextWriter, REJECT};

/// An IP address of a portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpAddr {
    /// IPv4, network order.
    V4([u8; 4]),
    /// IPv6, network order.
    V6([u8; 16]),
}

impl fmt::Display for IpAddr {
    /// Dotted quad, or RFC 5952 IPv6 text (lowercase, no leading zeros,
    /// the longest run of two or more zero groups as `::`), without
    /// brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpAddr::V4(a) => write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
            IpAddr::V6(a) => {
                let g = |i: usize| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
                // Longest run of zero groups (first one on ties), length >= 2.
                let (mut best, mut best_len, mut cur, mut cur_len) = (0, 0, 0, 0);
                for i in 0..8 {
                    if g(i) == 0 {
                        if cur_len == 0 {
                            cur = i;
                        }
                        cur_len += 1;
                        if cur_len > best_len {
                            best = cur;
                            best_len = cur_len;
                        }
                    } else {
                        cur_len = 0;
                    }
                }
                if best_len < 2 {
                    best_len = 0;
                    best = 8;
                }
                let mut i = 0;
                while i < 8 {
                    if i == best {
                        f.write_str("::")?;
                        i += best_len;
                        continue;
                    }
                    if i != 0 && i != best + best_len {
                        f.write_str(":")?;
                    }
                    write!(f, "{:x}", g(i))?;
                    i += 1;
                }
                Ok(())
            }
        }
    }
}

/// A portal of a target: address, TCP port, portal group tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Portal {
    /// Address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
    /// Target portal group tag.
    pub tpgt: u16,
}

impl fmt::Display for Portal {
    /// The `TargetAddress` value: `ip:port,tpgt`, `[ipv6]:port,tpgt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(_) => write!(f, "{}:{},{}", self.addr, self.port, self.tpgt),
            IpAddr::V6(_) => write!(f, "[{}]:{},{}", self.addr, self.port, self.tpgt),
        }
    }
}

/// The targets and portals the kernel knows.
pub trait TargetDirectory {
    /// Calls `f` with the name of every target (in a stable order: the
    /// chunks of one answer must see the same sequence).
    fn for_each_target(&self, f: &mut dyn FnMut(&[u8]));
    /// Calls `f` for every portal of `target` (stable order).
    fn for_each_portal(&self, target: &[u8], f: &mut dyn FnMut(&Portal));
    /// Whether `target` exists and `initiator` may see it.
    fn visible(&self, target: &[u8], initiator: &[u8]) -> bool;
}

/// The session a SendTargets request arrives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind<'a> {
    /// A Discovery session.
    Discovery,
    /// A Normal session logged in to this target.
    Normal(&'a [u8]),
}

/// What a `SendTargets` value asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query<'a> {
    /// `All`.
    All,
    /// Empty: the current target.
    Current,
    /// A target name.
    Target(&'a [u8]),
}

impl<'a> Query<'a> {
    /// Classifies a `SendTargets` value.
    pub fn parse(value: &'a [u8]) -> Self {
        match value {
            b"All" => Query::All,
            b"" => Query::Current,
            name => Query::Target(name),
        }
    }
}

/// One chunk of a SendTargets answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Bytes written to the caller's buffer.
    pub len: usize,
    /// Length of the whole answer.
    pub total: usize,
    /// Offset of the next chunk (`offset + len`).
    pub next_offset: usize,
    /// Whether bytes remain after this chunk (send with C=1).
    pub more: bool,
}

/// Copies the part of a virtual byte stream that falls in a window.
struct Window<'o> {
    out: &'o mut [u8],
    offset: usize,
    pos: usize,
    written: usize,
}

impl Window<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let start = self.pos;
        let end = start.saturating_add(bytes.len());
        self.pos = end;
        let win_end = self.offset.saturating_add(self.out.len());
        let lo = start.max(self.offset);
        let hi = end.min(win_end);
        if lo >= hi {
            return;
        }
        let (Some(src), Some(dst)) = (
            bytes.get(lo - start..hi - start),
            self.out.get_mut(lo - self.offset..hi - self.offset),
        ) else {
            return;
        };
        dst.copy_from_slice(src);
        self.written = self.written.max(hi - self.offset);
    }

    /// Emits one `key=value\0` pair formatted by `f`.
    fn pair(&mut self, f: impl FnOnce(&mut TextWriter<'_>) -> Result<(), super::text::TextFull>) {
        let mut tmp = [0u8; 512];
        let mut w = TextWriter::new(&mut tmp);
        // Names are at most 255 bytes and addresses short: this fits.
        if f(&mut w).is_ok() {
            let n = w.len();
            self.put(tmp.get(..n).unwrap_or(&[]));
        }
    }

    fn target<D: TargetDirectory + ?Sized>(&mut self, dir: &D, name: &[u8]) {
        self.pair(|w| w.push(b"TargetName", name));
        dir.for_each_portal(name, &mut |p| {
            self.pair(|w| w.push_fmt(b"TargetAddress", format_args!("{p}")));
        });
    }
}

/// Writes bytes `[offset, offset + out.len())` of the answer to
/// `SendTargets=<value>` (see the module documentation).
pub fn send_targets<D: TargetDirectory + ?Sized>(
    dir: &D,
    session: SessionKind<'_>,
    initiator: &[u8],
    value: &[u8],
    offset: usize,
    out: &mut [u8],
) -> Chunk {
    let mut win = Window {
        out,
        offset,
        pos: 0,
        written: 0,
    };
    match (session, Query::parse(value)) {
        (SessionKind::Discovery, Query::All) => {
            dir.for_each_target(&mut |name| {
                if dir.visible(name, initiator) {
                    win.target(dir, name);
                }
            });
        }
        (SessionKind::Discovery, Query::Target(name)) => {
            if dir.visible(name, initiator) {
                win.target(dir, name);
            }
        }
        (SessionKind::Discovery, Query::Current) => {}
        (SessionKind::Normal(_), Query::All) => win.pair(|w| w.push(b"SendTargets", REJECT)),
        (SessionKind::Normal(cur), Query::Current) => win.target(dir, cur),
        (SessionKind::Normal(cur), Query::Target(name)) => {
            if name == cur {
                win.target(dir, cur);
            }
        }
    }
    let total = win.pos;
    let len = win.written;
    let next_offset = offset.saturating_add(len);
    Chunk {
        len,
        total,
        next_offset,
        more: next_offset < total,
    }
}

/// Longest iSCSI name (RFC 7143 4.2.7.1).
pub const MAX_ISCSI_NAME_LEN: usize = 223;

/// The format of a valid iSCSI name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameFormat {
    /// `iqn.yyyy-mm.reversed.domain[:anything]`.
    Iqn,
    /// `eui.` + 16 hex digits (EUI-64).
    Eui,
    /// `naa.` + 16 or 32 hex digits (RFC 3980).
    Naa,
}

/// Why a name is not a valid iSCSI name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty.
    Empty,
    /// Longer than 223 bytes.
    TooLong,
    /// Does not start with `iqn.`, `eui.` or `naa.`.
    UnknownFormat,
    /// An uppercase ASCII letter (RFC 3722 maps names to lowercase; the
    /// hex digits of `eui.`/`naa.` names may be either case).
    Uppercase,
    /// A character not allowed in an iSCSI name, or invalid UTF-8.
    BadChar,
    /// The `yyyy-mm` date of an `iqn.` name is malformed.
    IqnDate,
    /// The naming authority of an `iqn.` name is missing or malformed.
    IqnAuthority,
    /// An `eui.` name without exactly 16 hex digits.
    EuiLength,
    /// A `naa.` name without 16 or 32 hex digits.
    NaaLength,
    /// A non-hex character in an `eui.`/`naa.` name.
    NotHex,
}

impl NameError {
    /// A short description (for `/proc` write errors).
    pub const fn description(self) -> &'static str {
        match self {
            NameError::Empty => "empty iSCSI name",
            NameError::TooLong => "iSCSI name longer than 223 bytes",
            NameError::UnknownFormat => "iSCSI name must start with iqn., eui. or naa.",
            NameError::Uppercase => "iSCSI names are lowercase",
            NameError::BadChar => "invalid character in iSCSI name",
            NameError::IqnDate => "iqn. name needs a yyyy-mm date",
            NameError::IqnAuthority => "iqn. name needs a naming authority after the date",
            NameError::EuiLength => "eui. name needs 16 hex digits",
            NameError::NaaLength => "naa. name needs 16 or 32 hex digits",
            NameError::NotHex => "eui./naa. name has a non-hex digit",
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Checks the characters of an `iqn.` name part: lowercase letters,
/// digits, `-`, `.`, `:` and non-ASCII UTF-8 (RFC 3722 stringprep output).
fn iqn_chars(s: &[u8]) -> Result<(), NameError> {
    if core::str::from_utf8(s).is_err() {
        return Err(NameError::BadChar);
    }
    for &c in s {
        match c {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b':' | 0x80..=0xff => {}
            b'A'..=b'Z' => return Err(NameError::Uppercase),
            _ => return Err(NameError::BadChar),
        }
    }
    Ok(())
}

fn hex_name(digits: &[u8], ok_len: &[usize], len_err: NameError) -> Result<(), NameError> {
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(NameError::NotHex);
    }
    if !ok_len.contains(&digits.len()) {
        return Err(len_err);
    }
    Ok(())
}

/// Validates an iSCSI name for configuration (RFC 7143 4.2.7.2, RFC 3720
/// 3.2.6.3, RFC 3722 as far as ASCII goes, RFC 3980 for `naa.`).
pub fn validate_iscsi_name(name: &[u8]) -> Result<NameFormat, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_ISCSI_NAME_LEN {
        return Err(NameError::TooLong);
    }
    let (prefix, rest) = name.split_at(name.len().min(4));
    match prefix {
        b"iqn." => {
            // yyyy-mm.
            let date = rest.get(..7).ok_or(NameError::IqnDate)?;
            let month = date.get(5..7).unwrap_or(&[]);
            let date_ok = date.iter().enumerate().all(|(i, c)| {
                if i == 4 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            }) && matches!(month, [b'0', b'1'..=b'9'] | [b'1', b'0'..=b'2']);
            if !date_ok {
                return Err(NameError::IqnDate);
            }
            let after = rest.get(7..).unwrap_or(&[]);
            let authority = match after {
                [b'.', a @ ..] => a,
                _ => return Err(NameError::IqnAuthority),
            };
            let end = authority
                .iter()
                .position(|&c| c == b':')
                .unwrap_or(authority.len());
            let (auth, tail) = authority.split_at(end);
            if auth.is_empty() || auth.first() == Some(&b'.') || auth.last() == Some(&b'.') {
                return Err(NameError::IqnAuthority);
            }
            iqn_chars(auth)?;
            iqn_chars(tail)?;
            Ok(NameFormat::Iqn)
        }
        b"eui." => hex_name(rest, &[16], NameError::EuiLength).map(|()| NameFormat::Eui),
        b"naa." => hex_name(rest, &[16, 32], NameError::NaaLength).map(|()| NameFormat::Naa),
        p if p.eq_ignore_ascii_case(b"iqn.")
            || p.eq_ignore_ascii_case(b"eui.")
            || p.eq_ignore_ascii_case(b"naa.") =>
        {
            Err(NameError::Uppercase)
        }
        _ => Err(NameError::UnknownFormat),
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::{validate, TextIter};
    use super::*;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    const T1: &[u8] = b"iqn.2024-01.org.example:disk1";
    const T2: &[u8] = b"iqn.2024-01.org.example:disk2";
    const T3: &[u8] = b"iqn.2024-01.org.example:hidden";

    struct Dir {
        portals: Vec<Portal>,
    }

    impl TargetDirectory for Dir {
        fn for_each_target(&self, f: &mut dyn FnMut(&[u8])) {
            for t in [T1, T2, T3] {
                f(t);
            }
        }
        fn for_each_portal(&self, _target: &[u8], f: &mut dyn FnMut(&Portal)) {
            for p in &self.portals {
                f(p);
            }
        }
        fn visible(&self, target: &[u8], _initiator: &[u8]) -> bool {
            target == T1 || target == T2
        }
    }

    fn dir() -> Dir {
        Dir {
            portals: vec![
                Portal {
                    addr: IpAddr::V4([10, 0, 0, 1]),
                    port: 3260,
                    tpgt: 1,
                },
                Portal {
                    addr: IpAddr::V6([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
                    port: 3261,
                    tpgt: 2,
                },
            ],
        }
    }

    fn full(session: SessionKind<'_>, value: &[u8]) -> Vec<(String, String)> {
        let mut out = [0u8; 4096];
        let c = send_targets(&dir(), session, b"iqn.i", value, 0, &mut out);
        assert!(!c.more);
        assert_eq!(c.len, c.total);
        TextIter::new(&out[..c.len])
            .allow_duplicates()
            .map(|r| {
                let (k, v) = r.unwrap();
                (
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn all_in_discovery() {
        let r = full(SessionKind::Discovery, b"All");
        assert_eq!(
            r,
            vec![
                kv("TargetName", "iqn.2024-01.org.example:disk1"),
                kv("TargetAddress", "10.0.0.1:3260,1"),
                kv("TargetAddress", "[fe80::1]:3261,2"),
                kv("TargetName", "iqn.2024-01.org.example:disk2"),
                kv("TargetAddress", "10.0.0.1:3260,1"),
                kv("TargetAddress", "[fe80::1]:3261,2"),
            ]
        );
    }

    #[test]
    fn one_target_in_discovery() {
        let r = full(SessionKind::Discovery, T2);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], kv("TargetName", "iqn.2024-01.org.example:disk2"));
    }

    #[test]
    fn hidden_or_unknown_target_gives_nothing() {
        assert!(full(SessionKind::Discovery, T3).is_empty());
        assert!(full(SessionKind::Discovery, b"iqn.2024-01.org.example:none").is_empty());
    }

    #[test]
    fn empty_value_in_discovery_gives_nothing() {
        assert!(full(SessionKind::Discovery, b"").is_empty());
    }

    #[test]
    fn normal_session_current_target() {
        let r = full(SessionKind::Normal(T1), b"");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].1, "iqn.2024-01.org.example:disk1");
        assert_eq!(full(SessionKind::Normal(T1), T1), r);
        assert!(full(SessionKind::Normal(T1), T2).is_empty());
    }

    #[test]
    fn normal_session_all_rejected() {
        assert_eq!(
            full(SessionKind::Normal(T1), b"All"),
            vec![kv("SendTargets", "Reject")]
        );
    }

    #[test]
    fn no_portals() {
        let d = Dir { portals: vec![] };
        let mut out = [0u8; 256];
        let c = send_targets(&d, SessionKind::Discovery, b"i", T1, 0, &mut out);
        assert_eq!(&out[..c.len], b"TargetName=iqn.2024-01.org.example:disk1\0");
    }

    #[test]
    fn chunks_reassemble() {
        let mut whole = [0u8; 4096];
        let c = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", 0, &mut whole);
        let whole = &whole[..c.total];
        for size in [1usize, 7, 30, 64, 100, c.total - 1] {
            let mut got = Vec::new();
            let mut off = 0;
            let mut n = 0;
            loop {
                let mut buf = vec![0u8; size];
                let ch = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", off, &mut buf);
                assert_eq!(ch.total, whole.len());
                assert!(ch.len <= size);
                got.extend_from_slice(&buf[..ch.len]);
                off = ch.next_offset;
                n += 1;
                if !ch.more {
                    break;
                }
                assert_eq!(ch.len, size, "only the last chunk is short");
            }
            assert_eq!(got, whole, "chunk size {size}");
            assert_eq!(n, whole.len().div_ceil(size));
        }
    }

    #[test]
    fn offset_past_end() {
        let mut out = [0u8; 16];
        let c = send_targets(
            &dir(),
            SessionKind::Discovery,
            b"i",
            b"All",
            100_000,
            &mut out,
        );
        assert_eq!(c.len, 0);
        assert!(!c.more);
        let c = send_targets(
            &dir(),
            SessionKind::Discovery,
            b"i",
            b"All",
            usize::MAX,
            &mut out,
        );
        assert_eq!(c.len, 0);
    }

    #[test]
    fn zero_sized_buffer() {
        let c = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", 0, &mut []);
        assert_eq!(c.len, 0);
        assert!(c.more);
    }

    #[test]
    fn response_is_valid_text() {
        let mut out = [0u8; 4096];
        let c = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", 0, &mut out);
        // TargetAddress legitimately repeats in responses (RFC 7143 13.8).
        assert!(validate(&out[..c.len]).is_err(), "TargetAddress repeats");
        assert_eq!(
            TextIter::new(&out[..c.len])
                .allow_duplicates()
                .filter(Result::is_ok)
                .count(),
            6
        );
    }

    #[test]
    fn query_parse() {
        assert_eq!(Query::parse(b"All"), Query::All);
        assert_eq!(Query::parse(b""), Query::Current);
        assert_eq!(Query::parse(b"all"), Query::Target(b"all"));
        assert_eq!(Query::parse(T1), Query::Target(T1));
    }

    fn ip6(s: [u16; 8]) -> String {
        let mut a = [0u8; 16];
        for (i, g) in s.iter().enumerate() {
            a[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
        }
        std::format!("{}", IpAddr::V6(a))
    }

    #[test]
    fn ipv6_text() {
        let cases: &[([u16; 8], &str)] = &[
            ([0; 8], "::"),
            ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            ([0xfe80, 0, 0, 0, 0, 0, 0, 1], "fe80::1"),
            ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], "2001:db8::"),
            ([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], "2001:db8:0:1::1"),
            ([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
            ([0x2001, 0xdb8, 1, 2, 3, 4, 5, 6], "2001:db8:1:2:3:4:5:6"),
            ([0x2001, 0, 1, 2, 3, 4, 5, 6], "2001:0:1:2:3:4:5:6"),
            (
                [0x2001, 0xDB8, 0xABCD, 0, 0, 0, 0, 0xffff],
                "2001:db8:abcd::ffff",
            ),
            ([1, 0, 0, 2, 0, 0, 0, 3], "1:0:0:2::3"),
        ];
        for (g, want) in cases {
            assert_eq!(ip6(*g), *want);
        }
    }

    #[test]
    fn ipv4_and_portal_text() {
        assert_eq!(
            std::format!("{}", IpAddr::V4([192, 168, 0, 255])),
            "192.168.0.255"
        );
        let p = Portal {
            addr: IpAddr::V6([0; 16]),
            port: 3260,
            tpgt: 65535,
        };
        assert_eq!(std::format!("{p}"), "[::]:3260,65535");
    }

    #[test]
    fn names_valid() {
        let ok: &[(&[u8], NameFormat)] = &[
            (b"iqn.2024-01.org.example:disk1", NameFormat::Iqn),
            (b"iqn.1993-08.org.debian:01:abcdef", NameFormat::Iqn),
            (b"iqn.2001-04.com.example", NameFormat::Iqn),
            (
                b"iqn.2001-12.com.example:storage.tape1.sys1.xyz",
                NameFormat::Iqn,
            ),
            (
                b"iqn.2001-04.com.example:\xc3\xa9t\xc3\xa9",
                NameFormat::Iqn,
            ),
            (b"eui.02004567a425678d", NameFormat::Eui),
            (b"eui.02004567A425678D", NameFormat::Eui),
            (b"naa.52004567ba64678d", NameFormat::Naa),
            (b"naa.62004567BA64678D0123456789ABCDEF", NameFormat::Naa),
        ];
        for (n, f) in ok {
            assert_eq!(validate_iscsi_name(n), Ok(*f), "{n:?}");
        }
    }

    #[test]
    fn names_invalid() {
        let bad: &[(&[u8], NameError)] = &[
            (b"", NameError::Empty),
            (b"foo", NameError::UnknownFormat),
            (b"iqn", NameError::UnknownFormat),
            (b"IQN.2024-01.org.example", NameError::Uppercase),
            (b"Eui.02004567a425678d", NameError::Uppercase),
            (b"iqn.2024-01.org.Example:x", NameError::Uppercase),
            (b"iqn.2024-01.org.example:X", NameError::Uppercase),
            (b"iqn.2024-01.org.example:a_b", NameError::BadChar),
            (b"iqn.2024-01.org.example:a b", NameError::BadChar),
            (b"iqn.2024-01.org.example:\xff", NameError::BadChar),
            (b"iqn.", NameError::IqnDate),
            (b"iqn.2024", NameError::IqnDate),
            (b"iqn.24-01.org.example", NameError::IqnDate),
            (b"iqn.2024-13.org.example", NameError::IqnDate),
            (b"iqn.2024-00.org.example", NameError::IqnDate),
            (b"iqn.2024_01.org.example", NameError::IqnDate),
            (b"iqn.2024-01", NameError::IqnAuthority),
            (b"iqn.2024-01.", NameError::IqnAuthority),
            (b"iqn.2024-01:org", NameError::IqnAuthority),
            (b"iqn.2024-01.:x", NameError::IqnAuthority),
            (b"iqn.2024-01..org", NameError::IqnAuthority),
            (b"iqn.2024-01.org.:x", NameError::IqnAuthority),
            (b"eui.02004567a425678", NameError::EuiLength),
            (b"eui.02004567a425678d0", NameError::EuiLength),
            (b"eui.02004567a425678g", NameError::NotHex),
            (b"naa.0123", NameError::NaaLength),
            (b"naa.0123456789abcdef0", NameError::NaaLength),
            (b"naa.0123456789abcdeX", NameError::NotHex),
        ];
        for (n, e) in bad {
            assert_eq!(
                validate_iscsi_name(n),
                Err(*e),
                "{:?}",
                String::from_utf8_lossy(n)
            );
        }
    }

    #[test]
    fn name_length_limit() {
        let mut n = b"iqn.2024-01.org.example:".to_vec();
        n.resize(223, b'a');
        assert_eq!(validate_iscsi_name(&n), Ok(NameFormat::Iqn));
        n.push(b'a');
        assert_eq!(validate_iscsi_name(&n), Err(NameError::TooLong));
    }

    #[test]
    fn name_error_text() {
        assert_eq!(
            std::format!("{}", NameError::TooLong),
            "iSCSI name longer than 223 bytes"
        );
        assert!(!NameError::NotHex.description().is_empty());
    }

    #[test]
    fn window_mid_pair() {
        let mut whole = [0u8; 4096];
        let c = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", 0, &mut whole);
        let mut part = [0u8; 10];
        let ch = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", 13, &mut part);
        assert_eq!(ch.len, 10);
        assert_eq!(&part, &whole[13..23]);
        assert_eq!(ch.next_offset, 23);
        assert!(ch.more);
        assert_eq!(ch.total, c.total);
    }

    #[test]
    fn last_chunk_exact() {
        let mut whole = [0u8; 4096];
        let c = send_targets(&dir(), SessionKind::Discovery, b"i", b"All", 0, &mut whole);
        let mut tail = [0u8; 5];
        let ch = send_targets(
            &dir(),
            SessionKind::Discovery,
            b"i",
            b"All",
            c.total - 5,
            &mut tail,
        );
        assert_eq!((ch.len, ch.next_offset, ch.more), (5, c.total, false));
        assert_eq!(tail[4], 0, "ends with the NUL of the last pair");
    }

    #[test]
    fn normal_session_ignores_visibility() {
        let r = full(SessionKind::Normal(T3), b"");
        assert_eq!(r[0], kv("TargetName", "iqn.2024-01.org.example:hidden"));
    }

    #[test]
    fn nothing_visible() {
        struct None_;
        impl TargetDirectory for None_ {
            fn for_each_target(&self, f: &mut dyn FnMut(&[u8])) {
                f(T1);
            }
            fn for_each_portal(&self, _t: &[u8], _f: &mut dyn FnMut(&Portal)) {}
            fn visible(&self, _t: &[u8], _i: &[u8]) -> bool {
                false
            }
        }
        let mut out = [0u8; 64];
        let c = send_targets(&None_, SessionKind::Discovery, b"i", b"All", 0, &mut out);
        assert_eq!((c.len, c.total, c.more), (0, 0, false));
    }

    #[test]
    fn ipv4_edges() {
        assert_eq!(std::format!("{}", IpAddr::V4([0, 0, 0, 0])), "0.0.0.0");
        assert_eq!(std::format!("{}", IpAddr::V4([255; 4])), "255.255.255.255");
        let p = Portal {
            addr: IpAddr::V4([127, 0, 0, 1]),
            port: 0,
            tpgt: 0,
        };
        assert_eq!(std::format!("{p}"), "127.0.0.1:0,0");
    }

    #[test]
    fn ipv6_no_single_group_compression() {
        assert_eq!(ip6([1, 0, 2, 3, 4, 5, 6, 7]), "1:0:2:3:4:5:6:7");
        assert_eq!(ip6([0xffff; 8]), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        assert_eq!(ip6([0, 0, 1, 0, 0, 0, 1, 0]), "0:0:1::1:0");
    }

    #[test]
    fn iqn_trailing_colon_and_empty_suffix() {
        assert_eq!(
            validate_iscsi_name(b"iqn.2024-01.org.example:"),
            Ok(NameFormat::Iqn)
        );
        assert_eq!(validate_iscsi_name(b"iqn.2024-01.a"), Ok(NameFormat::Iqn));
    }

    #[test]
    fn uppercase_prefixes() {
        for n in [
            &b"EUI.02004567a425678d"[..],
            b"NAA.52004567ba64678d",
            b"Iqn.2024-01.org.x",
        ] {
            assert_eq!(validate_iscsi_name(n), Err(NameError::Uppercase));
        }
    }

    #[test]
    fn every_name_error_has_text() {
        let all = [
            NameError::Empty,
            NameError::TooLong,
            NameError::UnknownFormat,
            NameError::Uppercase,
            NameError::BadChar,
            NameError::IqnDate,
            NameError::IqnAuthority,
            NameError::EuiLength,
            NameError::NaaLength,
            NameError::NotHex,
        ];
        let mut seen = std::collections::HashSet::new();
        for e in all {
            assert!(seen.insert(e.description()), "{e:?}");
        }
    }

    #[test]
    fn query_all_is_case_sensitive() {
        assert_eq!(full(SessionKind::Discovery, b"ALL"), vec![]);
    }

    proptest::proptest! {
        #[test]
        fn chunking_is_exact(size in 1usize..300, names in proptest::collection::vec("[a-z0-9.:-]{1,40}", 0..8)) {
            struct D(Vec<String>);
            impl TargetDirectory for D {
                fn for_each_target(&self, f: &mut dyn FnMut(&[u8])) {
                    for n in &self.0 { f(n.as_bytes()); }
                }
                fn for_each_portal(&self, _t: &[u8], f: &mut dyn FnMut(&Portal)) {
                    f(&Portal { addr: IpAddr::V4([1, 2, 3, 4]), port: 3260, tpgt: 1 });
                }
                fn visible(&self, _t: &[u8], _i: &[u8]) -> bool { true }
            }
            let d = D(names);
            let mut whole = vec![0u8; 8192];
            let c = send_targets(&d, SessionKind::Discovery, b"i", b"All", 0, &mut whole);
            proptest::prop_assert!(!c.more);
            let mut got = Vec::new();
            let mut off = 0;
            for _ in 0..10_000 {
                let mut buf = vec![0u8; size];
                let ch = send_targets(&d, SessionKind::Discovery, b"i", b"All", off, &mut buf);
                proptest::prop_assert!(ch.len <= size);
                got.extend_from_slice(&buf[..ch.len]);
                off = ch.next_offset;
                if !ch.more { break; }
            }
            proptest::prop_assert_eq!(&got[..], &whole[..c.total]);
        }

        #[test]
        fn name_validation_never_panics(n in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..260)) {
            if validate_iscsi_name(&n).is_ok() {
                proptest::prop_assert!(n.len() <= MAX_ISCSI_NAME_LEN);
            }
        }

        #[test]
        fn ipv6_roundtrip(a in proptest::prelude::any::<[u8; 16]>()) {
            let s = std::format!("{}", IpAddr::V6(a));
            let parsed: std::net::Ipv6Addr = s.parse().unwrap();
            proptest::prop_assert_eq!(parsed.octets(), a);
            // std prints IPv4-mapped addresses in dotted form; we do not.
            if a[..10] != [0; 10] || a[10..12] != [0xff, 0xff] {
                proptest::prop_assert_eq!(s, std::net::Ipv6Addr::from(a).to_string());
            }
        }
    }
}
