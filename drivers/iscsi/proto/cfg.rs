// SPDX-License-Identifier: GPL-2.0

//! The command grammar of `/proc/scsi_tgt/iscsi/iscsi`.
//!
//! SCST's iSCSI target kept its configuration in a user-space daemon
//! (`iscsi-scstd.conf`); scst-rs logs initiators in inside the kernel, so the
//! same settings are written into `/proc`, one command per `write()`, in the
//! style of the core's `/proc/scsi_tgt` files:
//!
//! ```text
//! add_target IQN                       a target (an SCST target of that name)
//! del_target IQN                       refused while it has sessions
//! add_portal ADDR                      listen: 10.0.0.1, 10.0.0.1:3261, [::1]:3260, 0.0.0.0
//! del_portal ADDR
//! set IQN|discovery KEY VALUE          an iSCSI parameter (see [`Key`])
//! add_user IQN|discovery IncomingUser|OutgoingUser NAME SECRET
//! del_user IQN|discovery IncomingUser|OutgoingUser NAME
//! allow IQN PATTERN                    only matching initiators see and log in to IQN
//! disallow IQN PATTERN                 removes a pattern (none left: everyone may)
//! ```
//!
//! Keywords and parameter names are case-insensitive (as iscsi-scstd.conf's
//! parameter names); `Yes`/`No`, digest names, target names, user names and
//! secrets are taken as written. A rejected write yields an [`Error`] with the
//! byte offset and a description; nothing is changed.

/// Largest write accepted (the core's limit, `PAGE_SIZE - 512`).
pub const MAX_WRITE_LEN: usize = 4096 - 512;
/// The iSCSI port (RFC 7143 section 13.x, IANA "iscsi-target").
pub const DEFAULT_PORT: u16 = 3260;
/// Longest iSCSI name (RFC 7143 section 4.2.7.1).
pub const MAX_NAME_LEN: usize = 223;
/// Longest CHAP user name accepted.
pub const MAX_USER_LEN: usize = 255;
/// Shortest CHAP secret accepted: 12 bytes (96 bits, RFC 7143 section
/// 12.1.3; Microsoft's initiator enforces the same).
pub const MIN_SECRET_LEN: usize = 12;
/// Longest CHAP secret accepted.
pub const MAX_SECRET_LEN: usize = 255;

/// A portal address: where the target listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Portal {
    /// IPv4 address (network order bytes) and port.
    V4([u8; 4], u16),
    /// IPv6 address (network order bytes) and port.
    V6([u8; 16], u16),
}

/// The object a `set`, `add_user` or `del_user` applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Discovery sessions (the `discovery` keyword).
    Discovery,
    /// The target with this name.
    Target(&'a str),
}

/// Which CHAP account list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `IncomingUser`: initiators authenticate with it (one-way CHAP).
    Incoming,
    /// `OutgoingUser`: the target authenticates itself (mutual CHAP).
    Outgoing,
}

/// Digest choice, in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digests {
    /// `None` only.
    None,
    /// `CRC32C` only.
    Crc32c,
    /// `CRC32C,None`: CRC32C preferred.
    Crc32cOrNone,
    /// `None,CRC32C`: none preferred.
    NoneOrCrc32c,
}

/// A settable parameter with its validated value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// `HeaderDigest`.
    HeaderDigest(Digests),
    /// `DataDigest`.
    DataDigest(Digests),
    /// `InitialR2T` (Yes/No).
    InitialR2T(bool),
    /// `ImmediateData` (Yes/No).
    ImmediateData(bool),
    /// `MaxRecvDataSegmentLength`: what the target receives per PDU.
    MaxRecvDataSegmentLength(u32),
    /// `MaxXmitDataSegmentLength`: an upper bound on what the target sends
    /// per PDU, whatever the initiator declares (SCST extension).
    MaxXmitDataSegmentLength(u32),
    /// `MaxBurstLength`.
    MaxBurstLength(u32),
    /// `FirstBurstLength`.
    FirstBurstLength(u32),
    /// `MaxOutstandingR2T`.
    MaxOutstandingR2T(u32),
    /// `DefaultTime2Wait` (seconds).
    DefaultTime2Wait(u32),
    /// `DefaultTime2Retain` (seconds).
    DefaultTime2Retain(u32),
    /// `QueuedCommands`: the CmdSN window (commands per session).
    QueuedCommands(u32),
    /// `NopInInterval`: seconds of silence before the target pings (0: never).
    NopInInterval(u32),
    /// `NopInTimeout`: seconds a ping may stay unanswered before the
    /// connection is dropped.
    NopInTimeout(u32),
}

/// Largest `QueuedCommands`.
pub const MAX_QUEUED_COMMANDS: u32 = 128;

/// A parsed command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd<'a> {
    /// `add_target NAME`.
    AddTarget(&'a str),
    /// `del_target NAME`.
    DelTarget(&'a str),
    /// `add_portal ADDR`.
    AddPortal(Portal),
    /// `del_portal ADDR`.
    DelPortal(Portal),
    /// `set SCOPE KEY VALUE`.
    Set(Scope<'a>, Key),
    /// `add_user SCOPE DIR NAME SECRET`.
    AddUser {
        /// Discovery or a target.
        scope: Scope<'a>,
        /// Incoming or outgoing.
        dir: Direction,
        /// CHAP name.
        name: &'a str,
        /// CHAP secret.
        secret: &'a [u8],
    },
    /// `allow TARGET PATTERN`: initiator names (the core's group name
    /// patterns: `*`, `?`, `!`, comma lists) that may see and log in to the
    /// target.
    Allow(&'a str, &'a str),
    /// `disallow TARGET PATTERN`.
    Disallow(&'a str, &'a str),
    /// `del_user SCOPE DIR NAME`.
    DelUser {
        /// Discovery or a target.
        scope: Scope<'a>,
        /// Incoming or outgoing.
        dir: Direction,
        /// CHAP name.
        name: &'a str,
    },
}

/// A rejected write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// Byte offset in the write where the problem is.
    pub offset: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl Error {
    /// The errno the write fails with (positive): `EOVERFLOW` (75) for an
    /// over-long write, else `EINVAL` (22).
    pub fn errno(&self) -> i32 {
        if self.what == TOO_LONG {
            75
        } else {
            22
        }
    }
}

const TOO_LONG: &str = "write too long";

fn err<T>(offset: usize, what: &'static str) -> Result<T, Error> {
    Err(Error { offset, what })
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
        let start = self.pos;
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| !c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
        let tok = self.s.get(start..self.pos)?;
        (!tok.is_empty()).then_some((start, tok))
    }

    fn need(&mut self, what: &'static str) -> Result<(usize, &'a [u8]), Error> {
        match self.next() {
            Some(t) => Ok(t),
            None => err(self.s.len(), what),
        }
    }

    fn end(&mut self) -> Result<(), Error> {
        match self.next() {
            Some((off, _)) => err(off, "too many arguments"),
            None => Ok(()),
        }
    }
}

fn name<'a>(off: usize, tok: &'a [u8], max: usize, what: &'static str) -> Result<&'a str, Error> {
    if tok.len() > max {
        return err(off, what);
    }
    if let Some(i) = tok.iter().position(|c| !c.is_ascii_graphic()) {
        return err(off + i, "not printable ASCII");
    }
    core::str::from_utf8(tok).or(err(off, "not printable ASCII"))
}

/// Checks an iSCSI name as a target name: printable ASCII and a valid
/// `iqn.`, `eui.` or `naa.` name of at most 223 bytes, lower case (RFC 3722
/// normalises names to lower case, so an upper-case name could never match
/// a login); the format rules are [`super::discovery::validate_iscsi_name`]'s.
pub fn check_iscsi_name(off: usize, tok: &[u8]) -> Result<&str, Error> {
    let s = name(off, tok, MAX_NAME_LEN, "iSCSI name longer than 223 bytes")?;
    super::discovery::validate_iscsi_name(tok).map_err(|e| Error {
        offset: off,
        what: e.description(),
    })?;
    Ok(s)
}

fn scope(off: usize, tok: &[u8]) -> Result<Scope<'_>, Error> {
    if tok.eq_ignore_ascii_case(b"discovery") {
        Ok(Scope::Discovery)
    } else {
        check_iscsi_name(off, tok).map(Scope::Target)
    }
}

/// Parses a number: decimal, or `0x` hex. No sign, no octal (parameter
/// values in iSCSI are decimal or hex).
fn number(off: usize, tok: &[u8]) -> Result<u32, Error> {
    let (digits, radix, skip) = match tok {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16, 2),
        _ => (tok, 10, 0),
    };
    if digits.is_empty() {
        return err(off + skip, "number expected");
    }
    let mut v: u32 = 0;
    for (i, &c) in digits.iter().enumerate() {
        let d = match (c as char).to_digit(radix) {
            Some(d) => d,
            None => return err(off + skip + i, "not a digit"),
        };
        v = match v.checked_mul(radix).and_then(|v| v.checked_add(d)) {
            Some(v) => v,
            None => return err(off, "number too large"),
        };
    }
    Ok(v)
}

fn ranged(off: usize, tok: &[u8], lo: u32, hi: u32) -> Result<u32, Error> {
    let v = number(off, tok)?;
    if v < lo || v > hi {
        return err(off, "value out of range");
    }
    Ok(v)
}

fn yes_no(off: usize, tok: &[u8]) -> Result<bool, Error> {
    match tok {
        b"Yes" => Ok(true),
        b"No" => Ok(false),
        _ => err(off, "Yes or No expected"),
    }
}

fn digests(off: usize, tok: &[u8]) -> Result<Digests, Error> {
    match tok {
        b"None" => Ok(Digests::None),
        b"CRC32C" => Ok(Digests::Crc32c),
        b"CRC32C,None" => Ok(Digests::Crc32cOrNone),
        b"None,CRC32C" => Ok(Digests::NoneOrCrc32c),
        _ => err(off, "None, CRC32C, CRC32C,None or None,CRC32C expected"),
    }
}

/// Largest data segment or burst length (2^24 - 1, RFC 7143 section 13).
const MAX_24: u32 = 0xff_ffff;

fn key(koff: usize, k: &[u8], voff: usize, v: &[u8]) -> Result<Key, Error> {
    let is = |name: &str| k.eq_ignore_ascii_case(name.as_bytes());
    Ok(if is("HeaderDigest") {
        Key::HeaderDigest(digests(voff, v)?)
    } else if is("DataDigest") {
        Key::DataDigest(digests(voff, v)?)
    } else if is("InitialR2T") {
        Key::InitialR2T(yes_no(voff, v)?)
    } else if is("ImmediateData") {
        Key::ImmediateData(yes_no(voff, v)?)
    } else if is("MaxRecvDataSegmentLength") {
        Key::MaxRecvDataSegmentLength(ranged(voff, v, 512, MAX_24)?)
    } else if is("MaxXmitDataSegmentLength") {
        Key::MaxXmitDataSegmentLength(ranged(voff, v, 512, MAX_24)?)
    } else if is("MaxBurstLength") {
        Key::MaxBurstLength(ranged(voff, v, 512, MAX_24)?)
    } else if is("FirstBurstLength") {
        Key::FirstBurstLength(ranged(voff, v, 512, MAX_24)?)
    } else if is("MaxOutstandingR2T") {
        Key::MaxOutstandingR2T(ranged(voff, v, 1, 65535)?)
    } else if is("DefaultTime2Wait") {
        Key::DefaultTime2Wait(ranged(voff, v, 0, 3600)?)
    } else if is("DefaultTime2Retain") {
        Key::DefaultTime2Retain(ranged(voff, v, 0, 3600)?)
    } else if is("QueuedCommands") {
        Key::QueuedCommands(ranged(voff, v, 1, MAX_QUEUED_COMMANDS)?)
    } else if is("NopInInterval") {
        Key::NopInInterval(ranged(voff, v, 0, 3600)?)
    } else if is("NopInTimeout") {
        Key::NopInTimeout(ranged(voff, v, 1, 3600)?)
    } else {
        return err(koff, "unknown parameter");
    })
}

fn portal(off: usize, tok: &[u8]) -> Result<Portal, Error> {
    let (host, port) = if let Some(rest) = tok.strip_prefix(b"[") {
        let close = match rest.iter().position(|&c| c == b']') {
            Some(i) => i,
            None => return err(off, "missing ]"),
        };
        let after = &rest[close + 1..];
        let port = match after {
            [] => DEFAULT_PORT,
            [b':', p @ ..] => port(off + close + 3, p)?,
            _ => return err(off + close + 2, ": expected after ]"),
        };
        return Ok(Portal::V6(ipv6(off + 1, &rest[..close])?, port));
    } else {
        match tok.iter().position(|&c| c == b':') {
            Some(i) => (&tok[..i], port(off + i + 1, &tok[i + 1..])?),
            None => (tok, DEFAULT_PORT),
        }
    };
    Ok(Portal::V4(ipv4(off, host)?, port))
}

fn port(off: usize, tok: &[u8]) -> Result<u16, Error> {
    let v = number(off, tok)?;
    match u16::try_from(v) {
        Ok(p) if p != 0 => Ok(p),
        _ => err(off, "port out of range (1 to 65535)"),
    }
}

fn ipv4(off: usize, s: &[u8]) -> Result<[u8; 4], Error> {
    let mut out = [0u8; 4];
    let mut n = 0;
    let mut pos = 0;
    for part in s.split(|&c| c == b'.') {
        let slot = match out.get_mut(n) {
            Some(s) => s,
            None => return err(off + pos, "IPv4 address has more than 4 parts"),
        };
        if part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return err(off + pos, "bad IPv4 address");
        }
        let v = part.iter().fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'));
        *slot = match u8::try_from(v) {
            Ok(b) => b,
            Err(_) => return err(off + pos, "IPv4 part above 255"),
        };
        n += 1;
        pos += part.len() + 1;
    }
    if n != 4 {
        return err(off, "IPv4 address needs 4 parts");
    }
    Ok(out)
}

fn ipv6(off: usize, s: &[u8]) -> Result<[u8; 16], Error> {
    // Groups before and after a single "::".
    let mut head = [0u16; 8];
    let mut tail = [0u16; 8];
    let (mut nh, mut nt) = (0usize, 0usize);
    let (left, right) = match s.windows(2).position(|w| w == b"::") {
        Some(i) => (&s[..i], Some(&s[i + 2..])),
        None => (s, None),
    };
    let groups = |part: &[u8], base: usize, out: &mut [u16; 8], n: &mut usize| {
        if part.is_empty() {
            return Ok(());
        }
        let mut pos = 0;
        for g in part.split(|&c| c == b':') {
            if g.is_empty() || g.len() > 4 {
                return err(base + pos, "bad IPv6 group");
            }
            let mut v = 0u16;
            for &c in g {
                match (c as char).to_digit(16) {
                    Some(d) => v = (v << 4) | d as u16,
                    None => return err(base + pos, "bad IPv6 digit"),
                }
            }
            match out.get_mut(*n) {
                Some(slot) => *slot = v,
                None => return err(base + pos, "IPv6 address too long"),
            }
            *n += 1;
            pos += g.len() + 1;
        }
        Ok(())
    };
    groups(left, off, &mut head, &mut nh)?;
    if let Some(r) = right {
        groups(r, off + left.len() + 2, &mut tail, &mut nt)?;
        if nh + nt > 7 {
            return err(off, "IPv6 address too long");
        }
    } else if nh != 8 {
        return err(off, "IPv6 address needs 8 groups or ::");
    }
    let mut words = [0u16; 8];
    words[..nh].copy_from_slice(&head[..nh]);
    words[8 - nt..].copy_from_slice(&tail[..nt]);
    let mut out = [0u8; 16];
    for (i, w) in words.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&w.to_be_bytes());
    }
    Ok(out)
}

fn direction(off: usize, tok: &[u8]) -> Result<Direction, Error> {
    if tok.eq_ignore_ascii_case(b"IncomingUser") {
        Ok(Direction::Incoming)
    } else if tok.eq_ignore_ascii_case(b"OutgoingUser") {
        Ok(Direction::Outgoing)
    } else {
        err(off, "IncomingUser or OutgoingUser expected")
    }
}

/// Parses one write to `/proc/scsi_tgt/iscsi/iscsi`.
pub fn parse(input: &[u8]) -> Result<Cmd<'_>, Error> {
    if input.len() > MAX_WRITE_LEN {
        return err(MAX_WRITE_LEN, TOO_LONG);
    }
    let s = input.strip_suffix(b"\n").unwrap_or(input);
    let mut lx = Lexer { s, pos: 0 };
    let (off, verb) = lx.need("command expected")?;
    let is = |k: &str| verb.eq_ignore_ascii_case(k.as_bytes());
    let cmd = if is("add_target") || is("del_target") {
        let (o, t) = lx.need("target name expected")?;
        let n = check_iscsi_name(o, t)?;
        if is("add_target") {
            Cmd::AddTarget(n)
        } else {
            Cmd::DelTarget(n)
        }
    } else if is("add_portal") || is("del_portal") {
        let (o, t) = lx.need("portal address expected")?;
        let p = portal(o, t)?;
        if is("add_portal") {
            Cmd::AddPortal(p)
        } else {
            Cmd::DelPortal(p)
        }
    } else if is("set") {
        let (o, t) = lx.need("target name or discovery expected")?;
        let sc = scope(o, t)?;
        let (ko, k) = lx.need("parameter name expected")?;
        let (vo, v) = lx.need("value expected")?;
        Cmd::Set(sc, key(ko, k, vo, v)?)
    } else if is("allow") || is("disallow") {
        let (o, t) = lx.need("target name expected")?;
        let n = check_iscsi_name(o, t)?;
        let (po, pt) = lx.need("initiator name pattern expected")?;
        let pat = name(po, pt, MAX_USER_LEN, "pattern too long")?;
        if is("allow") {
            Cmd::Allow(n, pat)
        } else {
            Cmd::Disallow(n, pat)
        }
    } else if is("add_user") || is("del_user") {
        let (o, t) = lx.need("target name or discovery expected")?;
        let sc = scope(o, t)?;
        let (d_o, d) = lx.need("IncomingUser or OutgoingUser expected")?;
        let dir = direction(d_o, d)?;
        let (no, n) = lx.need("user name expected")?;
        let name = name(no, n, MAX_USER_LEN, "user name too long")?;
        if is("add_user") {
            let (so, sec) = lx.need("secret expected")?;
            if sec.len() < MIN_SECRET_LEN {
                return err(so, "CHAP secret shorter than 12 bytes (RFC 7143 12.1.3)");
            }
            if sec.len() > MAX_SECRET_LEN {
                return err(so, "CHAP secret too long");
            }
            if let Some(i) = sec.iter().position(|c| !c.is_ascii_graphic()) {
                return err(so + i, "not printable ASCII");
            }
            Cmd::AddUser {
                scope: sc,
                dir,
                name,
                secret: sec,
            }
        } else {
            Cmd::DelUser {
                scope: sc,
                dir,
                name,
            }
        }
    } else {
        return err(off, "unknown command");
    };
    lx.end()?;
    Ok(cmd)
}

/// The grammar, for `/proc/scsi_tgt/iscsi/help`.
pub const HELP: &str = "\
Usage: echo \"add_target IQN\" >/proc/scsi_tgt/iscsi/iscsi
       echo \"del_target IQN\" >/proc/scsi_tgt/iscsi/iscsi
       echo \"add_portal ADDR[:PORT]\" >/proc/scsi_tgt/iscsi/iscsi   (IPv6: [ADDR]:PORT; port 3260)
       echo \"del_portal ADDR[:PORT]\" >/proc/scsi_tgt/iscsi/iscsi
       echo \"set IQN|discovery KEY VALUE\" >/proc/scsi_tgt/iscsi/iscsi
       echo \"add_user IQN|discovery IncomingUser|OutgoingUser NAME SECRET\" >/proc/scsi_tgt/iscsi/iscsi
       echo \"del_user IQN|discovery IncomingUser|OutgoingUser NAME\" >/proc/scsi_tgt/iscsi/iscsi
       echo \"allow IQN PATTERN\" >/proc/scsi_tgt/iscsi/iscsi      (only matching initiators see IQN)
       echo \"disallow IQN PATTERN\" >/proc/scsi_tgt/iscsi/iscsi

KEY: HeaderDigest, DataDigest (None, CRC32C, CRC32C,None, None,CRC32C),
     InitialR2T, ImmediateData (Yes, No),
     MaxRecvDataSegmentLength, MaxXmitDataSegmentLength, MaxBurstLength,
     FirstBurstLength (512 to 16777215), MaxOutstandingR2T (1 to 65535),
     DefaultTime2Wait, DefaultTime2Retain (0 to 3600),
     QueuedCommands (1 to 128), NopInInterval (0 to 3600, 0: off),
     NopInTimeout (1 to 3600)
";

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "iqn.2026-11.org.example:disk1";

    fn e(input: &str) -> Error {
        parse(input.as_bytes()).unwrap_err()
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse(b"add_target iqn.2026-11.org.example:disk1\n"),
            Ok(Cmd::AddTarget(T))
        );
        assert_eq!(
            parse(b"  DEL_TARGET   iqn.2026-11.org.example:disk1 "),
            Ok(Cmd::DelTarget(T))
        );
        assert_eq!(
            parse(b"add_target eui.02004567a425678d"),
            Ok(Cmd::AddTarget("eui.02004567a425678d"))
        );
        assert_eq!(e("add_target").what, "target name expected");
        assert_eq!(
            e("add_target foo").what,
            "iSCSI name must start with iqn., eui. or naa."
        );
        let x = e("add_target iqn.2026-11.org.Example:x");
        assert_eq!((x.offset, x.what), (11, "iSCSI names are lowercase"));
        assert_eq!(
            e("add_target iqn.2026-11.a_b").what,
            "invalid character in iSCSI name"
        );
        assert_eq!(e("add_target iqn.").what, "iqn. name needs a yyyy-mm date");
        assert_eq!(
            e("add_target eui.0123").what,
            "eui. name needs 16 hex digits"
        );
        let long = std::format!("add_target iqn.{}", "a".repeat(220));
        assert_eq!(e(&long).what, "iSCSI name longer than 223 bytes");
        let x = e("add_target iqn.2026-11.org.example:disk1 extra");
        assert_eq!((x.offset, x.what), (41, "too many arguments"));
    }

    #[test]
    fn portals() {
        let p = |s: &str| match parse(std::format!("add_portal {s}").as_bytes()) {
            Ok(Cmd::AddPortal(p)) => p,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(p("127.0.0.1"), Portal::V4([127, 0, 0, 1], 3260));
        assert_eq!(p("0.0.0.0:3261"), Portal::V4([0; 4], 3261));
        assert_eq!(p("10.1.2.3:0x0cbc"), Portal::V4([10, 1, 2, 3], 3260));
        let mut lo = [0u8; 16];
        lo[15] = 1;
        assert_eq!(p("[::1]"), Portal::V6(lo, 3260));
        assert_eq!(p("[::1]:3262"), Portal::V6(lo, 3262));
        assert_eq!(p("[::]"), Portal::V6([0; 16], 3260));
        let mut ll = [0u8; 16];
        ll[0] = 0xfe;
        ll[1] = 0x80;
        ll[14] = 0xab;
        ll[15] = 0xcd;
        assert_eq!(p("[fe80::abcd]"), Portal::V6(ll, 3260));
        let full = p("[2001:db8:0:0:1:2:3:4]:1");
        let mut f = [0u8; 16];
        f[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        f[9] = 1;
        f[11] = 2;
        f[13] = 3;
        f[15] = 4;
        assert_eq!(full, Portal::V6(f, 1));
        assert_eq!(
            parse(b"del_portal 1.2.3.4:99"),
            Ok(Cmd::DelPortal(Portal::V4([1, 2, 3, 4], 99)))
        );
        for (bad, what) in [
            ("add_portal", "portal address expected"),
            ("add_portal 1.2.3", "IPv4 address needs 4 parts"),
            ("add_portal 1.2.3.4.5", "IPv4 address has more than 4 parts"),
            ("add_portal 1.2.3.256", "IPv4 part above 255"),
            ("add_portal 1.2..4", "bad IPv4 address"),
            ("add_portal 1.2.3.4:", "number expected"),
            ("add_portal 1.2.3.4:0", "port out of range (1 to 65535)"),
            ("add_portal 1.2.3.4:65536", "port out of range (1 to 65535)"),
            ("add_portal 1.2.3.4:99999999999", "number too large"),
            ("add_portal 1.2.3.4:12a", "not a digit"),
            ("add_portal [::1", "missing ]"),
            ("add_portal [::1]3260", ": expected after ]"),
            ("add_portal [1:2:3]", "IPv6 address needs 8 groups or ::"),
            ("add_portal [1:2:3:4:5:6:7:8:9]", "IPv6 address too long"),
            ("add_portal [1::2:3:4:5:6:7:8]", "IPv6 address too long"),
            ("add_portal [12345::]", "bad IPv6 group"),
            ("add_portal [g::]", "bad IPv6 digit"),
            ("add_portal [1:::2]", "bad IPv6 group"),
        ] {
            assert_eq!(e(bad).what, what, "{bad}");
        }
    }

    #[test]
    fn set_keys() {
        let s = |k: &str, v: &str| {
            let line = std::format!("set {T} {k} {v}");
            // Leak the line: the parsed command borrows from it.
            parse(std::boxed::Box::leak(line.into_boxed_str()).as_bytes())
        };
        let t = Scope::Target(T);
        assert_eq!(
            s("HeaderDigest", "CRC32C,None"),
            Ok(Cmd::Set(t, Key::HeaderDigest(Digests::Crc32cOrNone)))
        );
        assert_eq!(
            s("datadigest", "None"),
            Ok(Cmd::Set(t, Key::DataDigest(Digests::None)))
        );
        assert_eq!(
            s("DataDigest", "None,CRC32C"),
            Ok(Cmd::Set(t, Key::DataDigest(Digests::NoneOrCrc32c)))
        );
        assert_eq!(
            s("DataDigest", "CRC32C"),
            Ok(Cmd::Set(t, Key::DataDigest(Digests::Crc32c)))
        );
        assert_eq!(
            s("InitialR2T", "No"),
            Ok(Cmd::Set(t, Key::InitialR2T(false)))
        );
        assert_eq!(
            s("ImmediateData", "Yes"),
            Ok(Cmd::Set(t, Key::ImmediateData(true)))
        );
        assert_eq!(
            s("MaxRecvDataSegmentLength", "262144"),
            Ok(Cmd::Set(t, Key::MaxRecvDataSegmentLength(262144)))
        );
        assert_eq!(
            s("MaxXmitDataSegmentLength", "0x10000"),
            Ok(Cmd::Set(t, Key::MaxXmitDataSegmentLength(65536)))
        );
        assert_eq!(
            s("MaxBurstLength", "16777215"),
            Ok(Cmd::Set(t, Key::MaxBurstLength(16777215)))
        );
        assert_eq!(
            s("FirstBurstLength", "512"),
            Ok(Cmd::Set(t, Key::FirstBurstLength(512)))
        );
        assert_eq!(
            s("MaxOutstandingR2T", "65535"),
            Ok(Cmd::Set(t, Key::MaxOutstandingR2T(65535)))
        );
        assert_eq!(
            s("DefaultTime2Wait", "0"),
            Ok(Cmd::Set(t, Key::DefaultTime2Wait(0)))
        );
        assert_eq!(
            s("DefaultTime2Retain", "3600"),
            Ok(Cmd::Set(t, Key::DefaultTime2Retain(3600)))
        );
        assert_eq!(
            s("QueuedCommands", "128"),
            Ok(Cmd::Set(t, Key::QueuedCommands(128)))
        );
        assert_eq!(
            s("NopInInterval", "0"),
            Ok(Cmd::Set(t, Key::NopInInterval(0)))
        );
        assert_eq!(
            s("NopInTimeout", "30"),
            Ok(Cmd::Set(t, Key::NopInTimeout(30)))
        );
        assert_eq!(
            parse(b"set discovery HeaderDigest None"),
            Ok(Cmd::Set(Scope::Discovery, Key::HeaderDigest(Digests::None)))
        );
        for (k, v, what) in [
            (
                "HeaderDigest",
                "crc32c",
                "None, CRC32C, CRC32C,None or None,CRC32C expected",
            ),
            ("InitialR2T", "yes", "Yes or No expected"),
            ("MaxRecvDataSegmentLength", "511", "value out of range"),
            ("MaxBurstLength", "16777216", "value out of range"),
            ("MaxOutstandingR2T", "0", "value out of range"),
            ("QueuedCommands", "129", "value out of range"),
            ("NopInTimeout", "0", "value out of range"),
            ("DefaultTime2Wait", "3601", "value out of range"),
            ("FirstBurstLength", "-1", "not a digit"),
            ("FirstBurstLength", "0x", "number expected"),
            ("Bogus", "1", "unknown parameter"),
        ] {
            assert_eq!(s(k, v).unwrap_err().what, what, "{k} {v}");
        }
        assert_eq!(e("set").what, "target name or discovery expected");
        assert_eq!(e("set discovery").what, "parameter name expected");
        assert_eq!(e("set discovery HeaderDigest").what, "value expected");
        assert_eq!(
            e("set discovery HeaderDigest None x").what,
            "too many arguments"
        );
        assert_eq!(
            e("set bogus HeaderDigest None").what,
            "iSCSI name must start with iqn., eui. or naa."
        );
    }

    #[test]
    fn users() {
        assert_eq!(
            parse(std::format!("add_user {T} IncomingUser joe 12charsecret").as_bytes()),
            Ok(Cmd::AddUser {
                scope: Scope::Target(T),
                dir: Direction::Incoming,
                name: "joe",
                secret: b"12charsecret",
            })
        );
        assert_eq!(
            parse(b"del_user discovery outgoinguser tgt"),
            Ok(Cmd::DelUser {
                scope: Scope::Discovery,
                dir: Direction::Outgoing,
                name: "tgt",
            })
        );
        assert_eq!(
            e("add_user discovery IncomingUser joe short").what,
            "CHAP secret shorter than 12 bytes (RFC 7143 12.1.3)"
        );
        assert_eq!(
            e("add_user discovery IncomingUser joe").what,
            "secret expected"
        );
        assert_eq!(
            e("add_user discovery Sideways joe 12charsecret").what,
            "IncomingUser or OutgoingUser expected"
        );
        assert_eq!(
            e("del_user discovery IncomingUser").what,
            "user name expected"
        );
        assert_eq!(
            e("del_user discovery IncomingUser joe x").what,
            "too many arguments"
        );
        let long = std::format!("add_user discovery IncomingUser joe {}", "s".repeat(256));
        assert_eq!(e(&long).what, "CHAP secret too long");
    }

    #[test]
    fn allow() {
        assert_eq!(
            parse(std::format!("allow {T} iqn.1993-08.org.debian:*,!*:bad").as_bytes()),
            Ok(Cmd::Allow(T, "iqn.1993-08.org.debian:*,!*:bad"))
        );
        assert_eq!(
            parse(std::format!("DISALLOW {T} *").as_bytes()),
            Ok(Cmd::Disallow(T, "*"))
        );
        assert_eq!(e("allow").what, "target name expected");
        assert_eq!(
            e("allow iqn.2026-11.org.example:d").what,
            "initiator name pattern expected"
        );
        assert_eq!(
            e("allow nope *").what,
            "iSCSI name must start with iqn., eui. or naa."
        );
        assert_eq!(e(&std::format!("allow {T} a b")).what, "too many arguments");
        let long = std::format!("allow {T} {}", "a".repeat(256));
        assert_eq!(e(&long).what, "pattern too long");
        assert_eq!(
            e(&std::format!("allow {T} a\x7f")).what,
            "not printable ASCII"
        );
    }

    #[test]
    fn general() {
        assert_eq!(e("").what, "command expected");
        assert_eq!(e("\n").what, "command expected");
        assert_eq!(e("frobnicate").what, "unknown command");
        let long = [b'a'; MAX_WRITE_LEN + 1];
        let x = parse(&long).unwrap_err();
        assert_eq!((x.what, x.errno()), (TOO_LONG, 75));
        assert_eq!(e("bogus").errno(), 22);
        let x = e("add_user discovery IncomingUser jo\x01e 12charsecret");
        assert_eq!((x.offset, x.what), (34, "not printable ASCII"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse(&input);
        }

        #[test]
        fn portal_round_trip(a: [u8; 4], port in 1u16..) {
            let s = std::format!("add_portal {}.{}.{}.{}:{}", a[0], a[1], a[2], a[3], port);
            proptest::prop_assert_eq!(parse(s.as_bytes()), Ok(Cmd::AddPortal(Portal::V4(a, port))));
        }

        #[test]
        fn ipv6_round_trip(w: [u16; 8], port in 1u16..) {
            let s = std::format!(
                "add_portal [{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}]:{}",
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], port
            );
            let mut b = [0u8; 16];
            for (i, x) in w.iter().enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&x.to_be_bytes());
            }
            proptest::prop_assert_eq!(parse(s.as_bytes()), Ok(Cmd::AddPortal(Portal::V6(b, port))));
        }
    }
}
