// SPDX-License-Identifier: GPL-2.0

//! The command grammar of SCST's classic `/proc/scsi_tgt` interface.
//!
//! Every writable file under `/proc/scsi_tgt` takes one command per `write()`.
//! This module turns such a write into a typed command, one entry point per
//! kind of file:
//!
//! | file | entry point | commands |
//! |---|---|---|
//! | `scsi_tgt` | [`parse_scsi_tgt`] | `assign`, `add_group`, `del_group`, `rename_group` |
//! | `groups/<G>/devices` | [`parse_group_devices`] | `add`, `del`, `replace`, `clear` |
//! | `groups/<G>/names` | [`parse_group_names`] | `add`, `del`, `move`, `clear` |
//! | `threads` | [`parse_threads`] | a thread count |
//! | `pr_dir` | [`parse_pr_dir`] | a directory, or `none` |
//! | `trace_level` | [`parse_core_trace_level`] | `all`, `none`, `default`, `value`, `set`, `add`, `del`, `dump_prs` |
//! | `<handler>/trace_level` | [`parse_trace_level`] | the same without `dump_prs` |
//! | `vdisk/vdisk` | [`parse_vdisk`] | `open`, `close`, `resync_size`, `set_t10_dev_id` |
//! | `vcdrom/vcdrom` | [`parse_vcdrom`] | `open`, `change`, `close` |
//!
//! The parsers allocate nothing: names and paths in the result borrow from the
//! input. They only check syntax and limits that do not depend on state; the
//! caller still looks the names up (does the group exist, is the LUN free).
//! Every rejected write yields an [`Error`] with the byte offset of the
//! offending input and what was expected there; the kernel side returns
//! [`Error::errno`] (`-EINVAL`, or `-EOVERFLOW` for an over-long write) and
//! logs [`Error::kind`]'s description.
//!
//! # Lexical rules (SCST 0.9.5 to 1.0: `scst_proc.c`, `scst_vdisk.c`)
//!
//! - A write is at most [`MAX_WRITE_LEN`] bytes; one trailing `\n` is dropped.
//! - Tokens are separated by runs of C `isspace()` characters (space, `\t`,
//!   `\n`, `\v`, `\f`, `\r`). Leading and trailing whitespace is ignored.
//! - Core keywords (`assign`, `add_group`, `add`, `clear`, `READ_ONLY`, `all`,
//!   `FLAT`, trace tokens, ...) are case-insensitive, as SCST's `strncasecmp()`.
//!   vdisk/vcdrom keywords and flags are case-sensitive, as SCST's `strncmp()`.
//! - Numbers (H:C:I:L parts, LUNs, thread counts, trace values, block sizes)
//!   follow `simple_strtoul(.., 0)`: `0x`/`0X` hex, a leading `0` octal,
//!   otherwise decimal. No sign.
//! - In `devices`, a device token that starts with a digit and contains `:` is
//!   an `H:C:I:L` address; anything else is a virtual device name.
//! - Group, initiator, handler and device names are compared exactly
//!   (`strcmp`), so they are returned as written.
//!
//! # Deliberate differences from SCST (SCST was lax; these fail loudly here)
//!
//! - SCST matched keywords as prefixes (`clearXYZ` was `clear`, flags could be
//!   glued together as `NV_CACHEREAD_ONLY`, vcdrom's `change` was matched on 5
//!   characters and then 7 skipped). Here every keyword is a whole token.
//! - SCST silently ignored extra arguments on most commands; here they are
//!   [`ErrorKind::TooManyArguments`]. The exception is `del` in `devices`:
//!   SCST's own help shows `add|del ... lun [READ_ONLY]`, so `del DEV LUN
//!   [READ_ONLY]` is accepted; the LUN is validated and returned in
//!   [`GroupDevicesCmd::Del::ignored_lun`] but, as in SCST, not used.
//! - `add DEV` without a LUN added LUN 0 in SCST (`simple_strtoul("")`); here
//!   it is [`ErrorKind::Missing`]`(`[`Field::Lun`]`)`.
//! - `simple_strtoul` wrapped on overflow and stopped at the first bad digit;
//!   here overflow is [`ErrorKind::OutOfRange`] and a bad digit
//!   [`ErrorKind::Invalid`] at that digit.
//! - Names must be printable ASCII (no control or 8-bit bytes): they end up in
//!   `/proc` directory names, kernel log lines and INQUIRY data. Group names
//!   cannot contain `/` or be `.`/`..` (they become directories).
//!
//! Later additions accepted too (SCST 1.0.1 and the 2.0 procfs build):
//! `add_group NAME [FLAT|LUN]`, `rename_group`, `replace` in `devices`, `move`
//! in `names`, `dump_prs` in the core `trace_level`, vdisk `resync_size` and
//! `set_t10_dev_id`, the vdisk `REMOVABLE` flag.

use super::bytes::Writer;

/// Largest write a `/proc/scsi_tgt` file accepts: SCST's `SCST_PROC_BLOCK_SIZE`
/// (`PAGE_SIZE - 512` with 4 KiB pages). Longer writes fail with `-EOVERFLOW`.
pub const MAX_WRITE_LEN: usize = 4096 - 512;
/// Largest LUN a group can map: 14 bits, the flat space addressing limit of
/// the two-byte LUN encoding SCST uses (`SCST_MAX_LUN`, SAM-5 4.7.7).
pub const MAX_LUN: u64 = 0x3fff;
/// Longest group, initiator, handler or `devices` device name (a `/proc`
/// entry name is at most 255 bytes).
pub const MAX_NAME_LEN: usize = 255;
/// Longest vdisk/vcdrom device name: it becomes the 16-byte INQUIRY PRODUCT
/// IDENTIFICATION (SPC-4 6.6.2).
pub const MAX_VDISK_NAME_LEN: usize = 16;
/// Longest T10 device id for `set_t10_dev_id` (SCST's `t10_dev_id[16+8+2]`
/// including the terminating NUL).
pub const MAX_T10_DEV_ID_LEN: usize = 25;
/// The vdisk block size when `open` gives none.
pub const DEFAULT_BLOCK_SIZE: u32 = 512;
/// The smallest vdisk block size; it must also be a power of two.
pub const MIN_BLOCK_SIZE: u32 = 512;
/// The largest thread count `threads` accepts (SCST stores it in an `int`).
pub const MAX_THREADS: u32 = i32::MAX as u32;
/// The predefined group, which cannot be added, deleted or renamed.
pub const DEFAULT_GROUP: &str = "Default";
/// Linux `EINVAL`, returned (negated) for every rejected command.
pub const EINVAL: i32 = 22;
/// Linux `EOVERFLOW`, returned (negated) for a write over [`MAX_WRITE_LEN`].
pub const EOVERFLOW: i32 = 75;

// ---------------------------------------------------------------------------
// Errors

/// The part of a command an [`Error`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The whole write.
    Line,
    /// An `H:C:I:L` SCSI address.
    Hctl,
    /// A device in `devices`: `H:C:I:L` or a virtual device name.
    Device,
    /// A LUN in `devices`.
    Lun,
    /// The option after the LUN in `devices` (`READ_ONLY`).
    Option,
    /// A group name.
    GroupName,
    /// The new name of a group in `rename_group`.
    NewGroupName,
    /// An initiator name in `names`.
    InitiatorName,
    /// A device handler name in `assign`.
    HandlerName,
    /// The LUN addressing method of `add_group` (`FLAT` or `LUN`).
    AddrMethod,
    /// The number written to `threads`.
    ThreadCount,
    /// A trace token (`debug`, `mgmt`, ...).
    TraceToken,
    /// The number of `value` in `trace_level`.
    TraceValue,
    /// A vdisk/vcdrom device name.
    VdiskName,
    /// The backing file of a vdisk/vcdrom.
    FileName,
    /// The vdisk block size.
    BlockSize,
    /// A vdisk flag (`WRITE_THROUGH`, `NV_CACHE`, ...).
    Flag,
    /// The T10 device id of `set_t10_dev_id`.
    T10DevId,
    /// The directory written to `pr_dir`.
    Directory,
}

impl Field {
    /// A short English name for log messages.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Line => "command",
            Field::Hctl => "H:C:I:L",
            Field::Device => "device (H:C:I:L or name)",
            Field::Lun => "LUN",
            Field::Option => "option",
            Field::GroupName => "group name",
            Field::NewGroupName => "new group name",
            Field::InitiatorName => "initiator name",
            Field::HandlerName => "handler name",
            Field::AddrMethod => "address method (FLAT or LUN)",
            Field::ThreadCount => "thread count",
            Field::TraceToken => "trace token",
            Field::TraceValue => "trace value",
            Field::VdiskName => "device name",
            Field::FileName => "file name",
            Field::BlockSize => "block size",
            Field::Flag => "flag",
            Field::T10DevId => "T10 device id",
            Field::Directory => "directory",
        }
    }
}

/// Why a command was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing but whitespace was written.
    Empty,
    /// The first word is not a command of this file (SCST: "Unknown action").
    UnknownAction,
    /// The command ended where this was required.
    Missing(Field),
    /// A complete command is followed by more tokens ("Too many arguments").
    TooManyArguments,
    /// This is malformed: a bad digit, a bad character, a missing `:`.
    Invalid(Field),
    /// This is a well-formed number outside the allowed range (or overflows).
    OutOfRange(Field),
    /// The write (`Field::Line`, `-EOVERFLOW`) or this name is too long.
    TooLong(Field),
    /// This keyword (option, flag, trace token, address method) is unknown.
    UnknownKeyword(Field),
    /// The vdisk block size is not a power of two.
    NotPowerOfTwo,
    /// The name is the predefined `Default` group, which is fixed.
    Reserved(Field),
    /// The backing file path is not absolute (only `NULLIO` allows that).
    RelativePath,
}

impl ErrorKind {
    /// A short English description for log messages (SCST's wording where
    /// there was one).
    pub const fn description(self) -> &'static str {
        match self {
            ErrorKind::Empty => "empty command",
            ErrorKind::UnknownAction => "unknown action",
            ErrorKind::Missing(_) => "missing argument",
            ErrorKind::TooManyArguments => "too many arguments",
            ErrorKind::Invalid(_) => "syntax error",
            ErrorKind::OutOfRange(_) => "value out of range",
            ErrorKind::TooLong(_) => "too long",
            ErrorKind::UnknownKeyword(_) => "unknown keyword",
            ErrorKind::NotPowerOfTwo => "block size is not a power of 2",
            ErrorKind::Reserved(_) => "predefined group cannot be changed",
            ErrorKind::RelativePath => "file path is not absolute",
        }
    }

    /// The part of the command this error is about.
    pub const fn field(self) -> Field {
        match self {
            ErrorKind::Missing(f)
            | ErrorKind::Invalid(f)
            | ErrorKind::OutOfRange(f)
            | ErrorKind::TooLong(f)
            | ErrorKind::UnknownKeyword(f)
            | ErrorKind::Reserved(f) => f,
            ErrorKind::NotPowerOfTwo => Field::BlockSize,
            ErrorKind::RelativePath => Field::FileName,
            ErrorKind::Empty | ErrorKind::UnknownAction | ErrorKind::TooManyArguments => {
                Field::Line
            }
        }
    }
}

/// A rejected command: what is wrong and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Byte offset in the written buffer of the offending token or byte (the
    /// end of the command for [`ErrorKind::Missing`]).
    pub offset: usize,
}

impl Error {
    const fn new(kind: ErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// The positive errno the write returns, negated: [`EOVERFLOW`] for an
    /// over-long write (as SCST), [`EINVAL`] for everything else.
    pub const fn errno(&self) -> i32 {
        match self.kind {
            ErrorKind::TooLong(Field::Line) => EOVERFLOW,
            _ => EINVAL,
        }
    }
}

// ---------------------------------------------------------------------------
// Lexer

/// C `isspace()` in the "C" locale, which is what SCST's parsers use.
const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// One whitespace-delimited token and its offset in the write.
#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    off: usize,
    text: &'a [u8],
}

impl Token<'_> {
    /// The offset of byte `i` of this token.
    fn at(&self, i: usize) -> usize {
        self.off.saturating_add(i)
    }
}

/// Splits one write into tokens. Offsets are those of the original buffer.
struct Lexer<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a [u8]) -> Result<Self, Error> {
        if input.len() > MAX_WRITE_LEN {
            return Err(Error::new(ErrorKind::TooLong(Field::Line), MAX_WRITE_LEN));
        }
        let line = input.strip_suffix(b"\n").unwrap_or(input);
        Ok(Self { line, pos: 0 })
    }

    fn next(&mut self) -> Option<Token<'a>> {
        while self.line.get(self.pos).is_some_and(|&b| is_space(b)) {
            self.pos += 1;
        }
        let start = self.pos;
        while self.line.get(self.pos).is_some_and(|&b| !is_space(b)) {
            self.pos += 1;
        }
        let text = self.line.get(start..self.pos)?;
        if text.is_empty() {
            None
        } else {
            Some(Token { off: start, text })
        }
    }

    /// The next token, which the grammar requires to be `field`.
    fn require(&mut self, field: Field) -> Result<Token<'a>, Error> {
        self.next()
            .ok_or(Error::new(ErrorKind::Missing(field), self.line.len()))
    }

    /// Succeeds if nothing but whitespace is left.
    fn finish(&mut self) -> Result<(), Error> {
        match self.next() {
            None => Ok(()),
            Some(t) => Err(Error::new(ErrorKind::TooManyArguments, t.off)),
        }
    }

    /// Reads the action word and looks it up in `table`.
    fn action<A: Copy>(&mut self, table: &[(&str, A)], fold_case: bool) -> Result<A, Error> {
        let Some(tok) = self.next() else {
            return Err(Error::new(ErrorKind::Empty, 0));
        };
        lookup(tok.text, table, fold_case).ok_or(Error::new(ErrorKind::UnknownAction, tok.off))
    }
}

/// Compares a token with a keyword, ASCII-case-insensitively if `fold_case`.
fn keyword_eq(text: &[u8], kw: &str, fold_case: bool) -> bool {
    if fold_case {
        text.eq_ignore_ascii_case(kw.as_bytes())
    } else {
        text == kw.as_bytes()
    }
}

fn lookup<A: Copy>(text: &[u8], table: &[(&str, A)], fold_case: bool) -> Option<A> {
    table
        .iter()
        .find(|(kw, _)| keyword_eq(text, kw, fold_case))
        .map(|&(_, a)| a)
}

// ---------------------------------------------------------------------------
// Numbers and names

/// Parses a `simple_strtoul(s, &end, 0)` number at the start of `s` and
/// returns it with the number of bytes it took. `off` is the offset of `s`.
fn number_prefix(s: &[u8], off: usize, field: Field) -> Result<(u64, usize), Error> {
    let at = |i: usize| off.saturating_add(i);
    let (radix, start) = match (s.first(), s.get(1)) {
        (Some(b'0'), Some(b'x' | b'X')) => {
            if !s.get(2).is_some_and(u8::is_ascii_hexdigit) {
                return Err(Error::new(ErrorKind::Invalid(field), at(2)));
            }
            (16u32, 2usize)
        }
        (Some(b'0'), _) => (8, 1),
        (Some(b), _) if b.is_ascii_digit() => (10, 0),
        _ => return Err(Error::new(ErrorKind::Invalid(field), off)),
    };
    let mut v = 0u64;
    let mut i = start;
    while let Some(d) = s.get(i).and_then(|&b| char::from(b).to_digit(radix)) {
        v = v
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(Error::new(ErrorKind::OutOfRange(field), off))?;
        i += 1;
    }
    Ok((v, i))
}

/// Parses a token that must be exactly one number.
fn number(tok: Token<'_>, field: Field) -> Result<u64, Error> {
    let (v, n) = number_prefix(tok.text, tok.off, field)?;
    if n == tok.text.len() {
        Ok(v)
    } else {
        Err(Error::new(ErrorKind::Invalid(field), tok.at(n)))
    }
}

/// Checks a name: at most `max` bytes of printable, non-space ASCII.
fn name(tok: Token<'_>, field: Field, max: usize) -> Result<&str, Error> {
    if tok.text.len() > max {
        return Err(Error::new(ErrorKind::TooLong(field), tok.off));
    }
    if let Some(i) = tok.text.iter().position(|b| !b.is_ascii_graphic()) {
        return Err(Error::new(ErrorKind::Invalid(field), tok.at(i)));
    }
    core::str::from_utf8(tok.text).map_err(|_| Error::new(ErrorKind::Invalid(field), tok.off))
}

/// Checks a group name, which also becomes a `/proc` directory name.
fn group_name(tok: Token<'_>, field: Field) -> Result<&str, Error> {
    let n = name(tok, field, MAX_NAME_LEN)?;
    if let Some(i) = n.bytes().position(|b| b == b'/') {
        return Err(Error::new(ErrorKind::Invalid(field), tok.at(i)));
    }
    if n == "." || n == ".." {
        return Err(Error::new(ErrorKind::Invalid(field), tok.off));
    }
    Ok(n)
}

/// A group name that must not be the predefined `Default` group.
fn changeable_group(tok: Token<'_>, field: Field) -> Result<&str, Error> {
    let n = group_name(tok, field)?;
    if n == DEFAULT_GROUP {
        return Err(Error::new(ErrorKind::Reserved(field), tok.off));
    }
    Ok(n)
}

/// Checks a backing file path: no control bytes (it is handed to the VFS as
/// a C string and logged); 8-bit bytes are allowed.
fn path(tok: Token<'_>) -> Result<&[u8], Error> {
    match tok.text.iter().position(|&b| b < 0x20 || b == 0x7f) {
        Some(i) => Err(Error::new(ErrorKind::Invalid(Field::FileName), tok.at(i))),
        None => Ok(tok.text),
    }
}

// ---------------------------------------------------------------------------
// Shared command pieces

/// A SCSI device address `host:channel:id:lun` of the Linux SCSI mid-level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hctl {
    /// Host (adapter) number.
    pub host: u32,
    /// Channel (bus) number.
    pub channel: u32,
    /// Target id.
    pub id: u32,
    /// LUN of the device on that target.
    pub lun: u64,
}

/// Parses a whole token as `H:C:I:L`, each part a base-0 number.
fn hctl(tok: Token<'_>) -> Result<Hctl, Error> {
    let s = tok.text;
    let mut parts = [(0u64, 0usize); 4];
    let mut i = 0usize;
    let last = parts.len() - 1;
    for (k, part) in parts.iter_mut().enumerate() {
        let rest = s.get(i..).unwrap_or_default();
        let (v, n) = number_prefix(rest, tok.at(i), Field::Hctl)?;
        *part = (v, tok.at(i));
        i += n;
        if k < last {
            if s.get(i) != Some(&b':') {
                return Err(Error::new(ErrorKind::Invalid(Field::Hctl), tok.at(i)));
            }
            i += 1;
        }
    }
    if i != s.len() {
        return Err(Error::new(ErrorKind::Invalid(Field::Hctl), tok.at(i)));
    }
    let [h, c, t, l] = parts;
    let narrow = |(v, at): (u64, usize)| {
        u32::try_from(v).map_err(|_| Error::new(ErrorKind::OutOfRange(Field::Hctl), at))
    };
    Ok(Hctl {
        host: narrow(h)?,
        channel: narrow(c)?,
        id: narrow(t)?,
        lun: l.0,
    })
}

/// A device as named in `groups/<G>/devices`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRef<'a> {
    /// A pass-through SCSI device by its mid-level address.
    Hctl(Hctl),
    /// A virtual device (vdisk, vcdrom, scst_user) by name.
    Virtual(&'a str),
}

/// SCST's rule: a token is an address if a `:` follows its first number. As
/// a whole token that is: it starts with a digit and contains a `:`.
fn device(tok: Token<'_>) -> Result<DeviceRef<'_>, Error> {
    if tok.text.first().is_some_and(u8::is_ascii_digit) && tok.text.contains(&b':') {
        hctl(tok).map(DeviceRef::Hctl)
    } else {
        name(tok, Field::Device, MAX_NAME_LEN).map(DeviceRef::Virtual)
    }
}

/// Parses a LUN token: a base-0 number up to [`MAX_LUN`].
fn lun(tok: Token<'_>) -> Result<u64, Error> {
    let v = number(tok, Field::Lun)?;
    if v > MAX_LUN {
        return Err(Error::new(ErrorKind::OutOfRange(Field::Lun), tok.off));
    }
    Ok(v)
}

/// Parses `LUN [READ_ONLY]` and the end of the command.
fn lun_and_option(lx: &mut Lexer<'_>) -> Result<(u64, bool), Error> {
    let l = lun(lx.require(Field::Lun)?)?;
    let read_only = match lx.next() {
        None => false,
        Some(t) if keyword_eq(t.text, "READ_ONLY", true) => true,
        Some(t) => return Err(Error::new(ErrorKind::UnknownKeyword(Field::Option), t.off)),
    };
    lx.finish()?;
    Ok((l, read_only))
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/scsi_tgt

/// The LUN addressing method of a group (`add_group NAME FLAT|LUN`, SCST 2.0
/// procfs; SAM-5 4.7). Without one, a group uses peripheral addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrMethod {
    /// Flat space addressing (method 01b).
    Flat,
    /// Logical unit addressing (method 10b).
    Lun,
}

/// A command written to `/proc/scsi_tgt/scsi_tgt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScsiTgtCmd<'a> {
    /// `assign H:C:I:L HANDLER`: attach a pass-through device to a handler.
    Assign {
        /// The device.
        hctl: Hctl,
        /// The handler name (matched exactly).
        handler: &'a str,
    },
    /// `add_group NAME [FLAT|LUN]`: create an access-control group.
    AddGroup {
        /// The new group's name (never `Default`).
        name: &'a str,
        /// The LUN addressing method, if given.
        addr_method: Option<AddrMethod>,
    },
    /// `del_group NAME`: delete a group.
    DelGroup {
        /// The group's name (never `Default`).
        name: &'a str,
    },
    /// `rename_group OLD NEW`: rename a group.
    RenameGroup {
        /// The current name (never `Default`).
        old: &'a str,
        /// The new name (never `Default`).
        new: &'a str,
    },
}

#[derive(Clone, Copy)]
enum ScsiTgtAction {
    Assign,
    AddGroup,
    DelGroup,
    RenameGroup,
}

/// Parses a write to `/proc/scsi_tgt/scsi_tgt`.
pub fn parse_scsi_tgt(line: &[u8]) -> Result<ScsiTgtCmd<'_>, Error> {
    const ACTIONS: &[(&str, ScsiTgtAction)] = &[
        ("assign", ScsiTgtAction::Assign),
        ("add_group", ScsiTgtAction::AddGroup),
        ("del_group", ScsiTgtAction::DelGroup),
        ("rename_group", ScsiTgtAction::RenameGroup),
    ];
    const METHODS: &[(&str, AddrMethod)] = &[("FLAT", AddrMethod::Flat), ("LUN", AddrMethod::Lun)];
    let mut lx = Lexer::new(line)?;
    let cmd = match lx.action(ACTIONS, true)? {
        ScsiTgtAction::Assign => {
            let tok = lx.require(Field::Hctl)?;
            // A virtual name here is a malformed address, not a name.
            let hctl = hctl(tok)?;
            let handler = name_field(&mut lx, Field::HandlerName, MAX_NAME_LEN)?;
            ScsiTgtCmd::Assign { hctl, handler }
        }
        ScsiTgtAction::AddGroup => {
            let name = changeable_group(lx.require(Field::GroupName)?, Field::GroupName)?;
            let addr_method = match lx.next() {
                None => None,
                Some(t) => Some(lookup(t.text, METHODS, true).ok_or(Error::new(
                    ErrorKind::UnknownKeyword(Field::AddrMethod),
                    t.off,
                ))?),
            };
            ScsiTgtCmd::AddGroup { name, addr_method }
        }
        ScsiTgtAction::DelGroup => ScsiTgtCmd::DelGroup {
            name: changeable_group(lx.require(Field::GroupName)?, Field::GroupName)?,
        },
        ScsiTgtAction::RenameGroup => {
            let old = changeable_group(lx.require(Field::GroupName)?, Field::GroupName)?;
            let new = changeable_group(lx.require(Field::NewGroupName)?, Field::NewGroupName)?;
            ScsiTgtCmd::RenameGroup { old, new }
        }
    };
    lx.finish()?;
    Ok(cmd)
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/groups/<G>/devices

/// A command written to `/proc/scsi_tgt/groups/<G>/devices`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupDevicesCmd<'a> {
    /// `add DEV LUN [READ_ONLY]`: map a device at a LUN of the group.
    Add {
        /// The device.
        dev: DeviceRef<'a>,
        /// The LUN, at most [`MAX_LUN`].
        lun: u64,
        /// Whether the LUN is read-only for the group's initiators.
        read_only: bool,
    },
    /// `del DEV`: unmap the device (its first mapping in the group).
    Del {
        /// The device.
        dev: DeviceRef<'a>,
        /// A LUN written after the device: validated, ignored as in SCST.
        ignored_lun: Option<u64>,
    },
    /// `replace DEV LUN [READ_ONLY]`: map a device at a LUN, replacing what
    /// was there (SCST 2.0 procfs; raises INQUIRY DATA HAS CHANGED).
    Replace {
        /// The device.
        dev: DeviceRef<'a>,
        /// The LUN, at most [`MAX_LUN`].
        lun: u64,
        /// Whether the LUN is read-only for the group's initiators.
        read_only: bool,
    },
    /// `clear`: unmap every device of the group.
    Clear,
}

#[derive(Clone, Copy)]
enum DevicesAction {
    Add,
    Del,
    Replace,
    Clear,
}

/// Parses a write to `/proc/scsi_tgt/groups/<G>/devices`.
pub fn parse_group_devices(line: &[u8]) -> Result<GroupDevicesCmd<'_>, Error> {
    const ACTIONS: &[(&str, DevicesAction)] = &[
        ("add", DevicesAction::Add),
        ("del", DevicesAction::Del),
        ("replace", DevicesAction::Replace),
        ("clear", DevicesAction::Clear),
    ];
    let mut lx = Lexer::new(line)?;
    match lx.action(ACTIONS, true)? {
        DevicesAction::Clear => {
            lx.finish()?;
            Ok(GroupDevicesCmd::Clear)
        }
        DevicesAction::Add => {
            let dev = device(lx.require(Field::Device)?)?;
            let (lun, read_only) = lun_and_option(&mut lx)?;
            Ok(GroupDevicesCmd::Add {
                dev,
                lun,
                read_only,
            })
        }
        DevicesAction::Replace => {
            let dev = device(lx.require(Field::Device)?)?;
            let (lun, read_only) = lun_and_option(&mut lx)?;
            Ok(GroupDevicesCmd::Replace {
                dev,
                lun,
                read_only,
            })
        }
        DevicesAction::Del => {
            let dev = device(lx.require(Field::Device)?)?;
            let ignored_lun = match lx.next() {
                None => None,
                Some(t) => {
                    let l = lun(t)?;
                    match lx.next() {
                        None => {}
                        Some(t) if keyword_eq(t.text, "READ_ONLY", true) => lx.finish()?,
                        Some(t) => {
                            return Err(Error::new(ErrorKind::UnknownKeyword(Field::Option), t.off))
                        }
                    }
                    Some(l)
                }
            };
            Ok(GroupDevicesCmd::Del { dev, ignored_lun })
        }
    }
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/groups/<G>/names

/// A command written to `/proc/scsi_tgt/groups/<G>/names`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupNamesCmd<'a> {
    /// `add NAME`: bind an initiator name (or, from SCST 1.0.1, a pattern
    /// with `*`, `?` and a leading `!`) to the group.
    Add(&'a str),
    /// `del NAME`: unbind an initiator name.
    Del(&'a str),
    /// `move NAME GROUP`: move an initiator name to another group (SCST 2.0
    /// procfs).
    Move {
        /// The initiator name.
        name: &'a str,
        /// The destination group (may be `Default`).
        group: &'a str,
    },
    /// `clear`: unbind every initiator name of the group.
    Clear,
}

/// Parses a write to `/proc/scsi_tgt/groups/<G>/names`.
pub fn parse_group_names(line: &[u8]) -> Result<GroupNamesCmd<'_>, Error> {
    #[derive(Clone, Copy)]
    enum NamesAction {
        Add,
        Del,
        Move,
        Clear,
    }
    const ACTIONS: &[(&str, NamesAction)] = &[
        ("add", NamesAction::Add),
        ("del", NamesAction::Del),
        ("move", NamesAction::Move),
        ("clear", NamesAction::Clear),
    ];
    let mut lx = Lexer::new(line)?;
    let cmd = match lx.action(ACTIONS, true)? {
        NamesAction::Clear => GroupNamesCmd::Clear,
        NamesAction::Add => {
            GroupNamesCmd::Add(name_field(&mut lx, Field::InitiatorName, MAX_NAME_LEN)?)
        }
        NamesAction::Del => {
            GroupNamesCmd::Del(name_field(&mut lx, Field::InitiatorName, MAX_NAME_LEN)?)
        }
        NamesAction::Move => {
            let name = name_field(&mut lx, Field::InitiatorName, MAX_NAME_LEN)?;
            let group = group_name(lx.require(Field::GroupName)?, Field::GroupName)?;
            GroupNamesCmd::Move { name, group }
        }
    };
    lx.finish()?;
    Ok(cmd)
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/scst_local/scst_local

/// A command written to `/proc/scsi_tgt/scst_local/scst_local`: sessions of
/// the local target, each a SCSI host on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScstLocalCmd<'a> {
    /// `add_session INITIATOR_NAME`: open a session (a new SCSI host).
    AddSession(&'a str),
    /// `del_session INITIATOR_NAME`: close a session (removes its host).
    DelSession(&'a str),
}

/// Parses a write to `/proc/scsi_tgt/scst_local/scst_local` (keywords are
/// case-insensitive, like the core's).
pub fn parse_scst_local(line: &[u8]) -> Result<ScstLocalCmd<'_>, Error> {
    #[derive(Clone, Copy)]
    enum LocalAction {
        Add,
        Del,
    }
    const ACTIONS: &[(&str, LocalAction)] = &[
        ("add_session", LocalAction::Add),
        ("del_session", LocalAction::Del),
    ];
    let mut lx = Lexer::new(line)?;
    let action = lx.action(ACTIONS, true)?;
    let name = name_field(&mut lx, Field::InitiatorName, MAX_NAME_LEN)?;
    lx.finish()?;
    Ok(match action {
        LocalAction::Add => ScstLocalCmd::AddSession(name),
        LocalAction::Del => ScstLocalCmd::DelSession(name),
    })
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/threads

/// Parses a write to `/proc/scsi_tgt/threads`: the wanted number of command
/// threads, `1..=`[`MAX_THREADS`] (SCST: "Illegal threads num value" for 0).
pub fn parse_threads(line: &[u8]) -> Result<u32, Error> {
    let mut lx = Lexer::new(line)?;
    let tok = lx.next().ok_or(Error::new(ErrorKind::Empty, 0))?;
    let v = number(tok, Field::ThreadCount)?;
    lx.finish()?;
    match u32::try_from(v) {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(Error::new(
            ErrorKind::OutOfRange(Field::ThreadCount),
            tok.off,
        )),
    }
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/pr_dir

/// Longest directory accepted by `pr_dir` (device file names are appended).
pub const MAX_PR_DIR_LEN: usize = 200;

/// Parses a write to `/proc/scsi_tgt/pr_dir`: the absolute directory where
/// persistent reservations with APTPL are kept, or `none` (any case) to
/// refuse APTPL. Returns `None` for `none`.
pub fn parse_pr_dir(line: &[u8]) -> Result<Option<&[u8]>, Error> {
    let mut lx = Lexer::new(line)?;
    let tok = lx.next().ok_or(Error::new(ErrorKind::Empty, 0))?;
    lx.finish()?;
    if keyword_eq(tok.text, "none", true) {
        return Ok(None);
    }
    if tok.text.len() > MAX_PR_DIR_LEN {
        return Err(Error::new(ErrorKind::TooLong(Field::Directory), tok.off));
    }
    if let Some(i) = tok.text.iter().position(|&b| b < 0x20 || b == 0x7f) {
        return Err(Error::new(ErrorKind::Invalid(Field::Directory), tok.at(i)));
    }
    if tok.text.first() != Some(&b'/') {
        return Err(Error::new(ErrorKind::RelativePath, tok.off));
    }
    Ok(Some(tok.text))
}

// ---------------------------------------------------------------------------
// trace_level

/// A trace token and the bits of the trace mask it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceToken {
    /// The token as written (compared case-insensitively).
    pub name: &'static str,
    /// Its bits in the trace mask.
    pub mask: u32,
}

const fn tt(name: &'static str, mask: u32) -> TraceToken {
    TraceToken { name, mask }
}

/// `TRACE_ALL`: the mask `all` sets.
pub const TRACE_ALL: u32 = 0xffff_ffff;

/// The tokens every `trace_level` file accepts, in SCST's order, with the
/// bits of SCST 0.9.6/1.0 `scst_debug.h` (low 16 bits; the high 16 bits are
/// for module-local tokens).
pub const CORE_TRACE_TOKENS: &[TraceToken] = &[
    tt("out_of_mem", 0x0100),
    tt("minor", 0x0200),
    tt("sg", 0x0080),
    tt("mem", 0x0040),
    tt("buff", 0x0020),
    tt("entryexit", 0x0010),
    tt("pid", 0x0008),
    tt("line", 0x0004),
    tt("function", 0x0002),
    tt("debug", 0x0001),
    tt("special", 0x4000),
    tt("scsi", 0x2000),
    tt("mgmt", 0x0400),
    tt("mgmt_minor", 0x0800),
    tt("mgmt_dbg", 0x1000),
];

/// The extra tokens of `/proc/scsi_tgt/trace_level` (SCST core, `scst_priv.h`).
pub const SCSI_TGT_TRACE_TOKENS: &[TraceToken] = &[
    tt("retry", 0x8000_0000),
    tt("scsi_serializing", 0x4000_0000),
    tt("recv_bot", 0x0400_0000),
    tt("send_bot", 0x0800_0000),
    tt("recv_top", 0x0100_0000),
    tt("send_top", 0x2000_0000),
];

/// The extra token of `/proc/scsi_tgt/{vdisk,vcdrom}/trace_level`.
pub const VDISK_TRACE_TOKENS: &[TraceToken] = &[tt("order", 0x8000_0000)];

/// Looks a trace token up, in `local` first and then in
/// [`CORE_TRACE_TOKENS`], case-insensitively, as SCST does.
pub fn trace_mask(token: &[u8], local: &[TraceToken]) -> Option<u32> {
    local
        .iter()
        .chain(CORE_TRACE_TOKENS)
        .find(|t| token.eq_ignore_ascii_case(t.name.as_bytes()))
        .map(|t| t.mask)
}

/// A command written to a `trace_level` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceLevelCmd<'a> {
    /// `all`: set every bit ([`TRACE_ALL`]).
    All,
    /// `none` (or `null`): clear every bit.
    None,
    /// `default`: restore the module's default mask.
    Default,
    /// `value N`: set the mask to N.
    Value(u32),
    /// `set TOKEN`: set the mask to the token's bits.
    Set {
        /// The token as written.
        token: &'a str,
        /// Its bits.
        mask: u32,
    },
    /// `add TOKEN`: OR the token's bits into the mask.
    Add {
        /// The token as written.
        token: &'a str,
        /// Its bits.
        mask: u32,
    },
    /// `del TOKEN`: clear the token's bits from the mask.
    Del {
        /// The token as written.
        token: &'a str,
        /// Its bits.
        mask: u32,
    },
    /// `dump_prs DEVICE`: log the persistent reservations of a device (core
    /// `trace_level` only; SCST 2.0 procfs).
    DumpPrs {
        /// The virtual device name.
        device: &'a str,
    },
}

impl TraceLevelCmd<'_> {
    /// The new mask from the `old` one; `default` is the module's default.
    /// `None` for `dump_prs`, which does not change the mask.
    pub fn apply(&self, old: u32, default: u32) -> Option<u32> {
        Some(match *self {
            TraceLevelCmd::All => TRACE_ALL,
            TraceLevelCmd::None => 0,
            TraceLevelCmd::Default => default,
            TraceLevelCmd::Value(v) => v,
            TraceLevelCmd::Set { mask, .. } => mask,
            TraceLevelCmd::Add { mask, .. } => old | mask,
            TraceLevelCmd::Del { mask, .. } => old & !mask,
            TraceLevelCmd::DumpPrs { .. } => return None,
        })
    }
}

#[derive(Clone, Copy)]
enum TraceAction {
    All,
    None,
    Default,
    Value,
    Set,
    Add,
    Del,
    DumpPrs,
}

/// The actions of every `trace_level` file.
const TRACE_ACTIONS: &[(&str, TraceAction)] = &[
    ("all", TraceAction::All),
    ("none", TraceAction::None),
    ("null", TraceAction::None),
    ("default", TraceAction::Default),
    ("value", TraceAction::Value),
    ("set", TraceAction::Set),
    ("add", TraceAction::Add),
    ("del", TraceAction::Del),
];

/// The actions of `/proc/scsi_tgt/trace_level`.
const CORE_TRACE_ACTIONS: &[(&str, TraceAction)] = &[
    ("all", TraceAction::All),
    ("none", TraceAction::None),
    ("null", TraceAction::None),
    ("default", TraceAction::Default),
    ("value", TraceAction::Value),
    ("set", TraceAction::Set),
    ("add", TraceAction::Add),
    ("del", TraceAction::Del),
    ("dump_prs", TraceAction::DumpPrs),
];

/// Reads a trace token and resolves its bits.
fn trace_token<'a>(lx: &mut Lexer<'a>, local: &[TraceToken]) -> Result<(&'a str, u32), Error> {
    let t = lx.require(Field::TraceToken)?;
    let unknown = Error::new(ErrorKind::UnknownKeyword(Field::TraceToken), t.off);
    let mask = trace_mask(t.text, local).ok_or(unknown)?;
    // Every table entry is ASCII, so a matching token is valid UTF-8.
    let s = core::str::from_utf8(t.text).map_err(|_| unknown)?;
    Ok((s, mask))
}

fn parse_trace<'a>(
    line: &'a [u8],
    local: &[TraceToken],
    actions: &[(&str, TraceAction)],
) -> Result<TraceLevelCmd<'a>, Error> {
    let mut lx = Lexer::new(line)?;
    let action = lx.action(actions, true)?;
    let cmd = match action {
        TraceAction::All => TraceLevelCmd::All,
        TraceAction::None => TraceLevelCmd::None,
        TraceAction::Default => TraceLevelCmd::Default,
        TraceAction::Value => {
            let t = lx.require(Field::TraceValue)?;
            let v = number(t, Field::TraceValue)?;
            TraceLevelCmd::Value(
                u32::try_from(v)
                    .map_err(|_| Error::new(ErrorKind::OutOfRange(Field::TraceValue), t.off))?,
            )
        }
        TraceAction::Set => {
            let (token, mask) = trace_token(&mut lx, local)?;
            TraceLevelCmd::Set { token, mask }
        }
        TraceAction::Add => {
            let (token, mask) = trace_token(&mut lx, local)?;
            TraceLevelCmd::Add { token, mask }
        }
        TraceAction::Del => {
            let (token, mask) = trace_token(&mut lx, local)?;
            TraceLevelCmd::Del { token, mask }
        }
        TraceAction::DumpPrs => TraceLevelCmd::DumpPrs {
            device: name_field(&mut lx, Field::Device, MAX_NAME_LEN)?,
        },
    };
    lx.finish()?;
    Ok(cmd)
}

/// Parses a write to a handler's or driver's `trace_level` file; `local` are
/// its own tokens (e.g. [`VDISK_TRACE_TOKENS`]), tried before the core ones.
pub fn parse_trace_level<'a>(
    line: &'a [u8],
    local: &[TraceToken],
) -> Result<TraceLevelCmd<'a>, Error> {
    parse_trace(line, local, TRACE_ACTIONS)
}

/// Parses a write to `/proc/scsi_tgt/trace_level`: the core tokens plus
/// [`SCSI_TGT_TRACE_TOKENS`], and `dump_prs`.
pub fn parse_core_trace_level(line: &[u8]) -> Result<TraceLevelCmd<'_>, Error> {
    parse_trace(line, SCSI_TGT_TRACE_TOKENS, CORE_TRACE_ACTIONS)
}

/// Writes a mask as SCST's `trace_level` read does: the names of the set
/// tokens (core first, then `local`) joined by `" | "`, or `none`, then a
/// newline. Bits no token names are not shown.
pub fn write_trace_mask(mask: u32, local: &[TraceToken], w: &mut Writer<'_>) {
    let mut first = true;
    for t in CORE_TRACE_TOKENS.iter().chain(local) {
        if mask & t.mask != 0 {
            if !first {
                w.bytes(b" | ");
            }
            w.bytes(t.name.as_bytes());
            first = false;
        }
    }
    if first {
        w.bytes(b"none");
    }
    w.bytes(b"\n");
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/vdisk/vdisk

/// One vdisk `open` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VdiskFlag {
    /// `WRITE_THROUGH`: no write-back caching (the file is opened `O_SYNC`).
    WriteThrough,
    /// `READ_ONLY`: the device is read-only.
    ReadOnly,
    /// `O_DIRECT`: accepted, but SCST logs that it does not work and ignores it.
    ODirect,
    /// `NULLIO`: no I/O at all; every command succeeds.
    NullIo,
    /// `NV_CACHE`: the cache is non-volatile; cache syncs are skipped.
    NvCache,
    /// `BLOCKIO`: bio-based I/O on a block device, bypassing the page cache.
    BlockIo,
    /// `REMOVABLE`: INQUIRY reports RMB=1 (SCST 1.0).
    Removable,
    /// `THIN_PROVISIONED`: UNMAP, WRITE SAME with UNMAP and GET LBA STATUS
    /// (SCST's later `thin_provisioned` attribute, as a flag).
    ThinProvisioned,
}

impl VdiskFlag {
    /// Every flag, in the order of SCST's help text.
    pub const ALL: [VdiskFlag; 8] = [
        VdiskFlag::WriteThrough,
        VdiskFlag::ReadOnly,
        VdiskFlag::ODirect,
        VdiskFlag::NullIo,
        VdiskFlag::NvCache,
        VdiskFlag::BlockIo,
        VdiskFlag::Removable,
        VdiskFlag::ThinProvisioned,
    ];

    /// The keyword, exactly as it must be written.
    pub const fn keyword(self) -> &'static str {
        match self {
            VdiskFlag::WriteThrough => "WRITE_THROUGH",
            VdiskFlag::ReadOnly => "READ_ONLY",
            VdiskFlag::ODirect => "O_DIRECT",
            VdiskFlag::NullIo => "NULLIO",
            VdiskFlag::NvCache => "NV_CACHE",
            VdiskFlag::BlockIo => "BLOCKIO",
            VdiskFlag::Removable => "REMOVABLE",
            VdiskFlag::ThinProvisioned => "THIN_PROVISIONED",
        }
    }

    /// The flag a keyword names (case-sensitive, as SCST's `strncmp`).
    pub fn from_keyword(text: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| text == f.keyword().as_bytes())
    }
}

/// The flags of a vdisk `open`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VdiskFlags {
    /// `WRITE_THROUGH`.
    pub write_through: bool,
    /// `READ_ONLY`.
    pub read_only: bool,
    /// `O_DIRECT` (accepted and ignored by SCST, with a log message).
    pub o_direct: bool,
    /// `NULLIO`.
    pub nullio: bool,
    /// `NV_CACHE`.
    pub nv_cache: bool,
    /// `BLOCKIO`.
    pub blockio: bool,
    /// `REMOVABLE`.
    pub removable: bool,
    /// `THIN_PROVISIONED`.
    pub thin_provisioned: bool,
}

impl VdiskFlags {
    fn slot(&mut self, f: VdiskFlag) -> &mut bool {
        match f {
            VdiskFlag::WriteThrough => &mut self.write_through,
            VdiskFlag::ReadOnly => &mut self.read_only,
            VdiskFlag::ODirect => &mut self.o_direct,
            VdiskFlag::NullIo => &mut self.nullio,
            VdiskFlag::NvCache => &mut self.nv_cache,
            VdiskFlag::BlockIo => &mut self.blockio,
            VdiskFlag::Removable => &mut self.removable,
            VdiskFlag::ThinProvisioned => &mut self.thin_provisioned,
        }
    }

    /// Sets one flag.
    pub fn set(&mut self, f: VdiskFlag) {
        *self.slot(f) = true;
    }

    /// Whether a flag is set.
    pub fn contains(&self, f: VdiskFlag) -> bool {
        match f {
            VdiskFlag::WriteThrough => self.write_through,
            VdiskFlag::ReadOnly => self.read_only,
            VdiskFlag::ODirect => self.o_direct,
            VdiskFlag::NullIo => self.nullio,
            VdiskFlag::NvCache => self.nv_cache,
            VdiskFlag::BlockIo => self.blockio,
            VdiskFlag::Removable => self.removable,
            VdiskFlag::ThinProvisioned => self.thin_provisioned,
        }
    }
}

/// The arguments of vdisk `open NAME FILE [BLOCK_SIZE] [FLAG...]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VdiskOpen<'a> {
    /// The device name, at most [`MAX_VDISK_NAME_LEN`] bytes.
    pub name: &'a str,
    /// The backing file or block device; absolute unless `flags.nullio`.
    pub path: &'a [u8],
    /// The block size: a power of two, at least [`MIN_BLOCK_SIZE`]
    /// ([`DEFAULT_BLOCK_SIZE`] if not given).
    pub block_size: u32,
    /// The flags.
    pub flags: VdiskFlags,
}

/// A command written to `/proc/scsi_tgt/vdisk/vdisk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VdiskCmd<'a> {
    /// `open NAME FILE [BLOCK_SIZE] [FLAG...]`: create a virtual disk.
    Open(VdiskOpen<'a>),
    /// `close NAME`: remove a virtual disk.
    Close {
        /// The device name.
        name: &'a str,
    },
    /// `resync_size NAME`: re-read the size of the backing file (SCST 1.0.1).
    ResyncSize {
        /// The device name.
        name: &'a str,
    },
    /// `set_t10_dev_id NAME ID`: set the T10 vendor id designator of VPD
    /// page 0x83 (SCST 2.0 procfs).
    SetT10DevId {
        /// The device name.
        name: &'a str,
        /// The id, printable ASCII, at most [`MAX_T10_DEV_ID_LEN`] bytes.
        t10_dev_id: &'a str,
    },
}

#[derive(Clone, Copy)]
enum VdiskAction {
    Open,
    Close,
    ResyncSize,
    SetT10DevId,
}

fn vdisk_name<'a>(lx: &mut Lexer<'a>) -> Result<&'a str, Error> {
    name(
        lx.require(Field::VdiskName)?,
        Field::VdiskName,
        MAX_VDISK_NAME_LEN,
    )
}

/// Parses a block size token: a base-0 power of two, at least 512.
fn block_size(tok: Token<'_>) -> Result<u32, Error> {
    let v = number(tok, Field::BlockSize)?;
    let v = u32::try_from(v)
        .ok()
        .filter(|&v| v >= MIN_BLOCK_SIZE)
        .ok_or(Error::new(ErrorKind::OutOfRange(Field::BlockSize), tok.off))?;
    if !v.is_power_of_two() {
        return Err(Error::new(ErrorKind::NotPowerOfTwo, tok.off));
    }
    Ok(v)
}

fn vdisk_open<'a>(lx: &mut Lexer<'a>) -> Result<VdiskOpen<'a>, Error> {
    let name = vdisk_name(lx)?;
    let path_tok = lx.require(Field::FileName)?;
    let path = path(path_tok)?;
    let mut block = DEFAULT_BLOCK_SIZE;
    let mut flags = VdiskFlags::default();
    let mut first = true;
    while let Some(t) = lx.next() {
        // As in SCST, only the token right after the file name may be the
        // block size, and it is one if it starts with a digit.
        if first && t.text.first().is_some_and(u8::is_ascii_digit) {
            block = block_size(t)?;
        } else {
            let f = VdiskFlag::from_keyword(t.text)
                .ok_or(Error::new(ErrorKind::UnknownKeyword(Field::Flag), t.off))?;
            flags.set(f);
        }
        first = false;
    }
    if !flags.nullio && path.first() != Some(&b'/') {
        return Err(Error::new(ErrorKind::RelativePath, path_tok.off));
    }
    Ok(VdiskOpen {
        name,
        path,
        block_size: block,
        flags,
    })
}

/// Parses a write to `/proc/scsi_tgt/vdisk/vdisk` (SCST 0.9.5's
/// `disk_fileio/disk_fileio` takes the same commands without `BLOCKIO`).
pub fn parse_vdisk(line: &[u8]) -> Result<VdiskCmd<'_>, Error> {
    const ACTIONS: &[(&str, VdiskAction)] = &[
        ("open", VdiskAction::Open),
        ("close", VdiskAction::Close),
        ("resync_size", VdiskAction::ResyncSize),
        ("set_t10_dev_id", VdiskAction::SetT10DevId),
    ];
    let mut lx = Lexer::new(line)?;
    let cmd = match lx.action(ACTIONS, false)? {
        VdiskAction::Open => return vdisk_open(&mut lx).map(VdiskCmd::Open),
        VdiskAction::Close => VdiskCmd::Close {
            name: vdisk_name(&mut lx)?,
        },
        VdiskAction::ResyncSize => VdiskCmd::ResyncSize {
            name: vdisk_name(&mut lx)?,
        },
        VdiskAction::SetT10DevId => {
            let name = vdisk_name(&mut lx)?;
            let t10_dev_id = name_field(&mut lx, Field::T10DevId, MAX_T10_DEV_ID_LEN)?;
            VdiskCmd::SetT10DevId { name, t10_dev_id }
        }
    };
    lx.finish()?;
    Ok(cmd)
}

fn name_field<'a>(lx: &mut Lexer<'a>, field: Field, max: usize) -> Result<&'a str, Error> {
    name(lx.require(field)?, field, max)
}

// ---------------------------------------------------------------------------
// /proc/scsi_tgt/vcdrom/vcdrom

/// A command written to `/proc/scsi_tgt/vcdrom/vcdrom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcdromCmd<'a> {
    /// `open NAME [FILE]`: create a virtual CD-ROM, empty without a file.
    Open {
        /// The device name.
        name: &'a str,
        /// The ISO image (absolute path), if any.
        path: Option<&'a [u8]>,
    },
    /// `change NAME [FILE]`: swap the medium; no file ejects it.
    Change {
        /// The device name.
        name: &'a str,
        /// The new ISO image (absolute path), if any.
        path: Option<&'a [u8]>,
    },
    /// `close NAME`: remove a virtual CD-ROM.
    Close {
        /// The device name.
        name: &'a str,
    },
}

/// An optional absolute path (vcdrom media).
fn optional_abs_path<'a>(lx: &mut Lexer<'a>) -> Result<Option<&'a [u8]>, Error> {
    let Some(t) = lx.next() else {
        return Ok(None);
    };
    let p = path(t)?;
    if p.first() != Some(&b'/') {
        return Err(Error::new(ErrorKind::RelativePath, t.off));
    }
    Ok(Some(p))
}

/// Parses a write to `/proc/scsi_tgt/vcdrom/vcdrom` (SCST 0.9.5's
/// `cdrom_fileio/cdrom_fileio` takes the same commands).
pub fn parse_vcdrom(line: &[u8]) -> Result<VcdromCmd<'_>, Error> {
    #[derive(Clone, Copy)]
    enum VcdromAction {
        Open,
        Change,
        Close,
    }
    const ACTIONS: &[(&str, VcdromAction)] = &[
        ("open", VcdromAction::Open),
        ("change", VcdromAction::Change),
        ("close", VcdromAction::Close),
    ];
    let mut lx = Lexer::new(line)?;
    let action = lx.action(ACTIONS, false)?;
    let name = vdisk_name(&mut lx)?;
    let cmd = match action {
        VcdromAction::Open => VcdromCmd::Open {
            name,
            path: optional_abs_path(&mut lx)?,
        },
        VcdromAction::Change => VcdromCmd::Change {
            name,
            path: optional_abs_path(&mut lx)?,
        },
        VcdromAction::Close => VcdromCmd::Close { name },
    };
    lx.finish()?;
    Ok(cmd)
}

// ---------------------------------------------------------------------------
// Help texts

/// `/proc/scsi_tgt/help`: the core grammar this module accepts, in SCST's
/// format.
pub const HELP: &str = "\
Usage:
       echo \"assign H:C:I:L HANDLER_NAME\" >/proc/scsi_tgt/scsi_tgt

       echo \"add_group GROUP [FLAT|LUN]\" >/proc/scsi_tgt/scsi_tgt
       echo \"del_group GROUP\" >/proc/scsi_tgt/scsi_tgt
       echo \"rename_group OLD_NAME NEW_NAME\" >/proc/scsi_tgt/scsi_tgt

       echo \"add|replace H:C:I:L lun [READ_ONLY]\" >/proc/scsi_tgt/groups/GROUP/devices
       echo \"add|replace V_NAME lun [READ_ONLY]\" >/proc/scsi_tgt/groups/GROUP/devices
       echo \"del H:C:I:L|V_NAME\" >/proc/scsi_tgt/groups/GROUP/devices
       echo \"clear\" >/proc/scsi_tgt/groups/GROUP/devices

       echo \"add|del NAME\" >/proc/scsi_tgt/groups/GROUP/names
       echo \"move NAME NEW_GROUP\" >/proc/scsi_tgt/groups/GROUP/names
       echo \"clear\" >/proc/scsi_tgt/groups/GROUP/names

       echo \"DEC|0xHEX|0OCT\" >/proc/scsi_tgt/threads

       echo \"all|none|default\" >/proc/scsi_tgt/[DEV_HANDLER_NAME/]trace_level
       echo \"value DEC|0xHEX|0OCT\" >/proc/scsi_tgt/[DEV_HANDLER_NAME/]trace_level
       echo \"set|add|del TOKEN\" >/proc/scsi_tgt/[DEV_HANDLER_NAME/]trace_level
         where TOKEN is one of [debug,function,line,pid,entryexit,
                                buff,mem,sg,out_of_mem,special,scsi,mgmt,minor,
                                mgmt_minor,mgmt_dbg]
         Additionally for /proc/scsi_tgt/trace_level there are these TOKENs
           [scsi_serializing,retry,recv_bot,send_bot,recv_top,send_top]
       echo \"dump_prs V_NAME\" >/proc/scsi_tgt/trace_level
";

/// `/proc/scsi_tgt/vdisk/help`.
pub const VDISK_HELP: &str = "\
echo \"open|close|resync_size NAME [FILE_NAME [BLOCK_SIZE] [WRITE_THROUGH READ_ONLY O_DIRECT NULLIO NV_CACHE BLOCKIO REMOVABLE THIN_PROVISIONED]]\" >/proc/scsi_tgt/vdisk/vdisk
echo \"set_t10_dev_id NAME t10_dev_id\" >/proc/scsi_tgt/vdisk/vdisk
";

/// `/proc/scsi_tgt/vcdrom/help`.
pub const VCDROM_HELP: &str = "\
echo \"open|change|close NAME [FILE_NAME]\" >/proc/scsi_tgt/vcdrom/vcdrom
";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::{format, string::String, vec, vec::Vec};

    fn e<T: core::fmt::Debug>(r: Result<T, Error>) -> (ErrorKind, usize) {
        let err = r.unwrap_err();
        (err.kind, err.offset)
    }

    fn hctl4(host: u32, channel: u32, id: u32, lun: u64) -> Hctl {
        Hctl {
            host,
            channel,
            id,
            lun,
        }
    }

    // ---- pr_dir ------------------------------------------------------------

    #[test]
    fn pr_dir() {
        assert_eq!(
            parse_pr_dir(b"/var/lib/scst/pr\n"),
            Ok(Some(&b"/var/lib/scst/pr"[..]))
        );
        assert_eq!(parse_pr_dir(b"  /x  "), Ok(Some(&b"/x"[..])));
        assert_eq!(parse_pr_dir(b"none"), Ok(None));
        assert_eq!(parse_pr_dir(b"NONE\n"), Ok(None));
        assert_eq!(e(parse_pr_dir(b"")), (ErrorKind::Empty, 0));
        assert_eq!(e(parse_pr_dir(b"var/lib")), (ErrorKind::RelativePath, 0));
        assert_eq!(e(parse_pr_dir(b"/a /b")), (ErrorKind::TooManyArguments, 3));
        assert_eq!(
            e(parse_pr_dir(b"/a\x01b")),
            (ErrorKind::Invalid(Field::Directory), 2)
        );
        let mut long = vec![b'/'];
        long.resize(MAX_PR_DIR_LEN, b'a');
        assert!(parse_pr_dir(&long).is_ok());
        long.push(b'a');
        assert_eq!(
            e(parse_pr_dir(&long)),
            (ErrorKind::TooLong(Field::Directory), 0)
        );
    }

    // ---- scst_local ------------------------------------------------------

    #[test]
    fn scst_local_sessions() {
        assert_eq!(
            parse_scst_local(b"add_session iqn.x:host1\n"),
            Ok(ScstLocalCmd::AddSession("iqn.x:host1"))
        );
        assert_eq!(
            parse_scst_local(b"DEL_SESSION h"),
            Ok(ScstLocalCmd::DelSession("h"))
        );
        assert_eq!(
            e(parse_scst_local(b"add_session")).0,
            ErrorKind::Missing(Field::InitiatorName)
        );
        assert_eq!(
            e(parse_scst_local(b"add_session a b")).0,
            ErrorKind::TooManyArguments
        );
        assert_eq!(e(parse_scst_local(b"open a")).0, ErrorKind::UnknownAction);
        assert_eq!(e(parse_scst_local(b"")).0, ErrorKind::Empty);
    }

    // ---- lexer, numbers, generic rules --------------------------------

    #[test]
    fn empty_writes() {
        assert_eq!(e(parse_scsi_tgt(b"")), (ErrorKind::Empty, 0));
        assert_eq!(e(parse_scsi_tgt(b"\n")), (ErrorKind::Empty, 0));
        assert_eq!(e(parse_group_devices(b"  \t \n")), (ErrorKind::Empty, 0));
        assert_eq!(e(parse_threads(b"")), (ErrorKind::Empty, 0));
        assert_eq!(e(parse_vdisk(b"\r\n")), (ErrorKind::Empty, 0));
    }

    #[test]
    fn over_long_write_is_eoverflow() {
        let mut v = Vec::from(&b"add_group "[..]);
        v.resize(MAX_WRITE_LEN + 1, b'a');
        let err = parse_scsi_tgt(&v).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLong(Field::Line));
        assert_eq!(err.offset, MAX_WRITE_LEN);
        assert_eq!(err.errno(), EOVERFLOW);
    }

    #[test]
    fn max_length_write_is_parsed() {
        // Exactly MAX_WRITE_LEN bytes: accepted, the name is then too long.
        let mut v = Vec::from(&b"add_group "[..]);
        v.resize(MAX_WRITE_LEN, b'a');
        let err = parse_scsi_tgt(&v).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooLong(Field::GroupName));
        assert_eq!(err.offset, 10);
        assert_eq!(err.errno(), EINVAL);
    }

    #[test]
    fn only_one_trailing_newline_is_stripped_others_are_space() {
        assert_eq!(
            parse_group_names(b"add iqn.x\n\n"),
            Ok(GroupNamesCmd::Add("iqn.x"))
        );
        // A second command on a new line is an extra argument.
        assert_eq!(
            e(parse_group_names(b"add a\nadd b\n")),
            (ErrorKind::TooManyArguments, 6)
        );
    }

    #[test]
    fn all_c_isspace_characters_separate_tokens() {
        assert_eq!(
            parse_group_devices(b"\tadd\x0bdisk1\x0c7\rREAD_ONLY \n"),
            Ok(GroupDevicesCmd::Add {
                dev: DeviceRef::Virtual("disk1"),
                lun: 7,
                read_only: true
            })
        );
    }

    #[test]
    fn numbers_decimal_hex_octal() {
        for (text, v) in [
            (&b"0"[..], 0u64),
            (b"7", 7),
            (b"10", 10),
            (b"0x10", 16),
            (b"0X1f", 31),
            (b"0xABCdef", 0xabcdef),
            (b"010", 8),
            (b"00", 0),
            (b"0777", 511),
            (b"18446744073709551615", u64::MAX),
            (b"0xffffffffffffffff", u64::MAX),
        ] {
            let tok = Token { off: 3, text };
            assert_eq!(number(tok, Field::Lun), Ok(v), "{text:?}");
        }
    }

    #[test]
    fn number_errors_point_at_the_bad_byte() {
        let t = |text: &'static [u8]| number(Token { off: 10, text }, Field::Lun);
        assert_eq!(e(t(b"08")), (ErrorKind::Invalid(Field::Lun), 11));
        assert_eq!(e(t(b"12a")), (ErrorKind::Invalid(Field::Lun), 12));
        assert_eq!(e(t(b"0x")), (ErrorKind::Invalid(Field::Lun), 12));
        assert_eq!(e(t(b"0xg")), (ErrorKind::Invalid(Field::Lun), 12));
        assert_eq!(e(t(b"-1")), (ErrorKind::Invalid(Field::Lun), 10));
        assert_eq!(e(t(b"+1")), (ErrorKind::Invalid(Field::Lun), 10));
        assert_eq!(e(t(b"x1")), (ErrorKind::Invalid(Field::Lun), 10));
        assert_eq!(
            e(t(b"18446744073709551616")),
            (ErrorKind::OutOfRange(Field::Lun), 10)
        );
        assert_eq!(
            e(t(b"0x10000000000000000")),
            (ErrorKind::OutOfRange(Field::Lun), 10)
        );
    }

    #[test]
    fn error_descriptions_and_fields() {
        assert_eq!(ErrorKind::UnknownAction.description(), "unknown action");
        assert_eq!(ErrorKind::Missing(Field::Lun).field(), Field::Lun);
        assert_eq!(ErrorKind::NotPowerOfTwo.field(), Field::BlockSize);
        assert_eq!(ErrorKind::RelativePath.field(), Field::FileName);
        assert_eq!(ErrorKind::TooManyArguments.field(), Field::Line);
        assert_eq!(Field::Hctl.name(), "H:C:I:L");
        assert_eq!(Error::new(ErrorKind::UnknownAction, 0).errno(), EINVAL);
        assert_eq!(
            Error::new(ErrorKind::TooLong(Field::GroupName), 0).errno(),
            EINVAL
        );
    }

    // ---- scsi_tgt ----------------------------------------------------

    #[test]
    fn assign_readme_example() {
        assert_eq!(
            parse_scsi_tgt(b"assign 1:0:1:0 dev_disk\n"),
            Ok(ScsiTgtCmd::Assign {
                hctl: hctl4(1, 0, 1, 0),
                handler: "dev_disk"
            })
        );
    }

    #[test]
    fn assign_keyword_is_case_insensitive_and_numbers_base0() {
        assert_eq!(
            parse_scsi_tgt(b"ASSIGN 0x2:010:0:0x1f dev_tape_perf"),
            Ok(ScsiTgtCmd::Assign {
                hctl: hctl4(2, 8, 0, 31),
                handler: "dev_tape_perf"
            })
        );
        assert!(parse_scsi_tgt(b"AsSiGn 0:0:0:0 x").is_ok());
    }

    #[test]
    fn assign_handler_name_is_case_preserved() {
        assert_eq!(
            parse_scsi_tgt(b"assign 0:0:0:0 Dev_Disk"),
            Ok(ScsiTgtCmd::Assign {
                hctl: hctl4(0, 0, 0, 0),
                handler: "Dev_Disk"
            })
        );
    }

    #[test]
    fn assign_large_lun() {
        assert_eq!(
            parse_scsi_tgt(b"assign 4294967295:1:2:0xffffffffffffffff h"),
            Ok(ScsiTgtCmd::Assign {
                hctl: hctl4(u32::MAX, 1, 2, u64::MAX),
                handler: "h"
            })
        );
    }

    #[test]
    fn assign_errors() {
        assert_eq!(
            e(parse_scsi_tgt(b"assign")),
            (ErrorKind::Missing(Field::Hctl), 6)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:0:1:0")),
            (ErrorKind::Missing(Field::HandlerName), 14)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:0:1:0 \n")),
            (ErrorKind::Missing(Field::HandlerName), 15)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:0:1:0 dev_disk extra")),
            (ErrorKind::TooManyArguments, 24)
        );
    }

    #[test]
    fn assign_bad_addresses() {
        // A virtual name is not an address.
        assert_eq!(
            e(parse_scsi_tgt(b"assign disk1 dev_disk")),
            (ErrorKind::Invalid(Field::Hctl), 7)
        );
        // Too few parts: the ':' is missing where the token ends.
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:0:1 dev_disk")),
            (ErrorKind::Invalid(Field::Hctl), 12)
        );
        // Too many parts.
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:0:1:0:5 dev_disk")),
            (ErrorKind::Invalid(Field::Hctl), 14)
        );
        // Empty part.
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1::1:0 dev_disk")),
            (ErrorKind::Invalid(Field::Hctl), 9)
        );
        // Bad octal digit in the channel.
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:09:1:0 dev_disk")),
            (ErrorKind::Invalid(Field::Hctl), 10)
        );
        // Host does not fit in 32 bits: points at the host.
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:4294967296:0:0 d")),
            (ErrorKind::OutOfRange(Field::Hctl), 9)
        );
        // Trailing colon.
        assert_eq!(
            e(parse_scsi_tgt(b"assign 1:0:0:0: d")),
            (ErrorKind::Invalid(Field::Hctl), 14)
        );
    }

    #[test]
    fn assign_bad_handler_name() {
        assert_eq!(
            e(parse_scsi_tgt(b"assign 0:0:0:0 dev\x01disk")),
            (ErrorKind::Invalid(Field::HandlerName), 18)
        );
        let mut v = Vec::from(&b"assign 0:0:0:0 "[..]);
        v.resize(v.len() + MAX_NAME_LEN + 1, b'h');
        assert_eq!(
            e(parse_scsi_tgt(&v)),
            (ErrorKind::TooLong(Field::HandlerName), 15)
        );
    }

    #[test]
    fn add_group_plain() {
        assert_eq!(
            parse_scsi_tgt(b"add_group Storage1\n"),
            Ok(ScsiTgtCmd::AddGroup {
                name: "Storage1",
                addr_method: None
            })
        );
        assert_eq!(
            parse_scsi_tgt(b"ADD_GROUP   Default_iqn.2007-05.com.example:t1  "),
            Ok(ScsiTgtCmd::AddGroup {
                name: "Default_iqn.2007-05.com.example:t1",
                addr_method: None
            })
        );
    }

    #[test]
    fn add_group_addr_methods() {
        assert_eq!(
            parse_scsi_tgt(b"add_group g FLAT"),
            Ok(ScsiTgtCmd::AddGroup {
                name: "g",
                addr_method: Some(AddrMethod::Flat)
            })
        );
        assert_eq!(
            parse_scsi_tgt(b"add_group g lun"),
            Ok(ScsiTgtCmd::AddGroup {
                name: "g",
                addr_method: Some(AddrMethod::Lun)
            })
        );
        assert_eq!(
            e(parse_scsi_tgt(b"add_group g PERIPHERAL")),
            (ErrorKind::UnknownKeyword(Field::AddrMethod), 12)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"add_group g FLAT x")),
            (ErrorKind::TooManyArguments, 17)
        );
    }

    #[test]
    fn group_names_are_case_sensitive() {
        // "default" is not the predefined group: strcmp.
        assert_eq!(
            parse_scsi_tgt(b"add_group default"),
            Ok(ScsiTgtCmd::AddGroup {
                name: "default",
                addr_method: None
            })
        );
    }

    #[test]
    fn default_group_is_reserved() {
        assert_eq!(
            e(parse_scsi_tgt(b"add_group Default")),
            (ErrorKind::Reserved(Field::GroupName), 10)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"del_group Default\n")),
            (ErrorKind::Reserved(Field::GroupName), 10)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"rename_group Default x")),
            (ErrorKind::Reserved(Field::GroupName), 13)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"rename_group x Default")),
            (ErrorKind::Reserved(Field::NewGroupName), 15)
        );
    }

    #[test]
    fn group_name_must_be_a_directory_name() {
        assert_eq!(
            e(parse_scsi_tgt(b"add_group a/b")),
            (ErrorKind::Invalid(Field::GroupName), 11)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"add_group .")),
            (ErrorKind::Invalid(Field::GroupName), 10)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"add_group ..")),
            (ErrorKind::Invalid(Field::GroupName), 10)
        );
        assert!(parse_scsi_tgt(b"add_group ...").is_ok());
        assert_eq!(
            e(parse_scsi_tgt(b"add_group gr\xc3\xbcn")),
            (ErrorKind::Invalid(Field::GroupName), 12)
        );
        let mut v = Vec::from(&b"add_group "[..]);
        v.resize(10 + MAX_NAME_LEN, b'g');
        assert!(parse_scsi_tgt(&v).is_ok());
        v.push(b'g');
        assert_eq!(
            e(parse_scsi_tgt(&v)),
            (ErrorKind::TooLong(Field::GroupName), 10)
        );
    }

    #[test]
    fn add_group_missing_name() {
        assert_eq!(
            e(parse_scsi_tgt(b"add_group")),
            (ErrorKind::Missing(Field::GroupName), 9)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"add_group   \n")),
            (ErrorKind::Missing(Field::GroupName), 12)
        );
    }

    #[test]
    fn del_group() {
        assert_eq!(
            parse_scsi_tgt(b"del_group Storage1"),
            Ok(ScsiTgtCmd::DelGroup { name: "Storage1" })
        );
        assert_eq!(
            e(parse_scsi_tgt(b"del_group a b")),
            (ErrorKind::TooManyArguments, 12)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"del_group")),
            (ErrorKind::Missing(Field::GroupName), 9)
        );
    }

    #[test]
    fn rename_group() {
        assert_eq!(
            parse_scsi_tgt(b"rename_group old new\n"),
            Ok(ScsiTgtCmd::RenameGroup {
                old: "old",
                new: "new"
            })
        );
        assert_eq!(
            e(parse_scsi_tgt(b"rename_group old")),
            (ErrorKind::Missing(Field::NewGroupName), 16)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"rename_group a b c")),
            (ErrorKind::TooManyArguments, 17)
        );
        assert_eq!(
            e(parse_scsi_tgt(b"rename_group a b/c")),
            (ErrorKind::Invalid(Field::NewGroupName), 16)
        );
    }

    #[test]
    fn scsi_tgt_unknown_actions() {
        assert_eq!(
            e(parse_scsi_tgt(b"assignx 0:0:0:0 d")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(e(parse_scsi_tgt(b"  add g")), (ErrorKind::UnknownAction, 2));
        assert_eq!(
            e(parse_scsi_tgt(b"add_groupfoo")),
            (ErrorKind::UnknownAction, 0)
        );
        // Devices-file commands are not scsi_tgt commands.
        assert_eq!(e(parse_scsi_tgt(b"clear")), (ErrorKind::UnknownAction, 0));
    }

    // ---- groups/G/devices ----------------------------------------------

    #[test]
    fn devices_add_hctl_readme_example() {
        assert_eq!(
            parse_group_devices(b"add 1:0:1:0 0\n"),
            Ok(GroupDevicesCmd::Add {
                dev: DeviceRef::Hctl(hctl4(1, 0, 1, 0)),
                lun: 0,
                read_only: false
            })
        );
    }

    #[test]
    fn devices_add_virtual_readme_example() {
        assert_eq!(
            parse_group_devices(b"add disk1 1\n"),
            Ok(GroupDevicesCmd::Add {
                dev: DeviceRef::Virtual("disk1"),
                lun: 1,
                read_only: false
            })
        );
    }

    #[test]
    fn devices_add_read_only_case_insensitive() {
        for ro in [&b"READ_ONLY"[..], b"read_only", b"Read_Only"] {
            let mut v = Vec::from(&b"Add disk1 0x10 "[..]);
            v.extend_from_slice(ro);
            assert_eq!(
                parse_group_devices(&v),
                Ok(GroupDevicesCmd::Add {
                    dev: DeviceRef::Virtual("disk1"),
                    lun: 16,
                    read_only: true
                })
            );
        }
    }

    #[test]
    fn devices_device_token_classification() {
        let dev = |line: &'static [u8]| match parse_group_devices(line) {
            Ok(GroupDevicesCmd::Add { dev, .. }) => dev,
            other => panic!("{other:?}"),
        };
        // Starts with a digit, no colon: a name.
        assert_eq!(dev(b"add 12 0"), DeviceRef::Virtual("12"));
        assert_eq!(dev(b"add 1disk 0"), DeviceRef::Virtual("1disk"));
        // Colon, but not starting with a digit: a name.
        assert_eq!(dev(b"add a:b 0"), DeviceRef::Virtual("a:b"));
        // Hex parts are fine.
        assert_eq!(
            dev(b"add 0x1:0:0x2:0 0"),
            DeviceRef::Hctl(hctl4(1, 0, 2, 0))
        );
    }

    #[test]
    fn devices_bad_hctl_is_an_error_not_a_name() {
        assert_eq!(
            e(parse_group_devices(b"add 1:0:x:0 0")),
            (ErrorKind::Invalid(Field::Hctl), 8)
        );
        assert_eq!(
            e(parse_group_devices(b"add 1:0 0")),
            (ErrorKind::Invalid(Field::Hctl), 7)
        );
    }

    #[test]
    fn devices_add_lun_limits() {
        assert!(matches!(
            parse_group_devices(b"add d 16383"),
            Ok(GroupDevicesCmd::Add { lun: 16383, .. })
        ));
        assert!(matches!(
            parse_group_devices(b"add d 0x3fff"),
            Ok(GroupDevicesCmd::Add { lun: 0x3fff, .. })
        ));
        assert_eq!(
            e(parse_group_devices(b"add d 16384")),
            (ErrorKind::OutOfRange(Field::Lun), 6)
        );
        assert_eq!(
            e(parse_group_devices(b"add d 99999999999999999999999")),
            (ErrorKind::OutOfRange(Field::Lun), 6)
        );
    }

    #[test]
    fn devices_add_lun_errors() {
        assert_eq!(
            e(parse_group_devices(b"add disk1")),
            (ErrorKind::Missing(Field::Lun), 9)
        );
        assert_eq!(
            e(parse_group_devices(b"add disk1 one")),
            (ErrorKind::Invalid(Field::Lun), 10)
        );
        assert_eq!(
            e(parse_group_devices(b"add disk1 019")),
            (ErrorKind::Invalid(Field::Lun), 12)
        );
        assert_eq!(
            e(parse_group_devices(b"add disk1 1,")),
            (ErrorKind::Invalid(Field::Lun), 11)
        );
    }

    #[test]
    fn devices_add_option_errors() {
        assert_eq!(
            e(parse_group_devices(b"add disk1 1 RO")),
            (ErrorKind::UnknownKeyword(Field::Option), 12)
        );
        assert_eq!(
            e(parse_group_devices(b"add disk1 1 READ_ONLYX")),
            (ErrorKind::UnknownKeyword(Field::Option), 12)
        );
        assert_eq!(
            e(parse_group_devices(b"add disk1 1 READ_ONLY READ_ONLY")),
            (ErrorKind::TooManyArguments, 22)
        );
    }

    #[test]
    fn devices_add_missing_device() {
        assert_eq!(
            e(parse_group_devices(b"add")),
            (ErrorKind::Missing(Field::Device), 3)
        );
        assert_eq!(
            e(parse_group_devices(b"add  \n")),
            (ErrorKind::Missing(Field::Device), 5)
        );
    }

    #[test]
    fn devices_bad_device_name() {
        assert_eq!(
            e(parse_group_devices(b"add di\x7fsk 0")),
            (ErrorKind::Invalid(Field::Device), 6)
        );
        assert_eq!(
            e(parse_group_devices(b"add d\x00 0")),
            (ErrorKind::Invalid(Field::Device), 5)
        );
    }

    #[test]
    fn devices_del_takes_no_lun() {
        assert_eq!(
            parse_group_devices(b"del disk1\n"),
            Ok(GroupDevicesCmd::Del {
                dev: DeviceRef::Virtual("disk1"),
                ignored_lun: None
            })
        );
        assert_eq!(
            parse_group_devices(b"DEL 1:0:1:0"),
            Ok(GroupDevicesCmd::Del {
                dev: DeviceRef::Hctl(hctl4(1, 0, 1, 0)),
                ignored_lun: None
            })
        );
    }

    #[test]
    fn devices_del_accepts_and_ignores_the_help_lines_lun() {
        assert_eq!(
            parse_group_devices(b"del disk1 5"),
            Ok(GroupDevicesCmd::Del {
                dev: DeviceRef::Virtual("disk1"),
                ignored_lun: Some(5)
            })
        );
        assert_eq!(
            parse_group_devices(b"del disk1 5 read_only"),
            Ok(GroupDevicesCmd::Del {
                dev: DeviceRef::Virtual("disk1"),
                ignored_lun: Some(5)
            })
        );
    }

    #[test]
    fn devices_del_errors() {
        assert_eq!(
            e(parse_group_devices(b"del")),
            (ErrorKind::Missing(Field::Device), 3)
        );
        assert_eq!(
            e(parse_group_devices(b"del disk1 x")),
            (ErrorKind::Invalid(Field::Lun), 10)
        );
        assert_eq!(
            e(parse_group_devices(b"del disk1 99999")),
            (ErrorKind::OutOfRange(Field::Lun), 10)
        );
        assert_eq!(
            e(parse_group_devices(b"del disk1 1 RW")),
            (ErrorKind::UnknownKeyword(Field::Option), 12)
        );
        assert_eq!(
            e(parse_group_devices(b"del disk1 1 READ_ONLY z")),
            (ErrorKind::TooManyArguments, 22)
        );
    }

    #[test]
    fn devices_replace() {
        assert_eq!(
            parse_group_devices(b"replace 2:0:0:0 3 READ_ONLY"),
            Ok(GroupDevicesCmd::Replace {
                dev: DeviceRef::Hctl(hctl4(2, 0, 0, 0)),
                lun: 3,
                read_only: true
            })
        );
        assert_eq!(
            e(parse_group_devices(b"replace disk1")),
            (ErrorKind::Missing(Field::Lun), 13)
        );
    }

    #[test]
    fn devices_clear() {
        assert_eq!(parse_group_devices(b"clear\n"), Ok(GroupDevicesCmd::Clear));
        assert_eq!(parse_group_devices(b"CLEAR"), Ok(GroupDevicesCmd::Clear));
        assert_eq!(
            e(parse_group_devices(b"clear all")),
            (ErrorKind::TooManyArguments, 6)
        );
        assert_eq!(
            e(parse_group_devices(b"clearall")),
            (ErrorKind::UnknownAction, 0)
        );
    }

    #[test]
    fn devices_unknown_actions() {
        assert_eq!(
            e(parse_group_devices(b"move a b")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(
            e(parse_group_devices(b"ad disk1 0")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(
            e(parse_group_devices(b"assign 0:0:0:0 d")),
            (ErrorKind::UnknownAction, 0)
        );
    }

    // ---- groups/G/names ------------------------------------------------

    #[test]
    fn names_add_del() {
        assert_eq!(
            parse_group_names(b"add iqn.1993-08.org.debian:01:abc\n"),
            Ok(GroupNamesCmd::Add("iqn.1993-08.org.debian:01:abc"))
        );
        assert_eq!(
            parse_group_names(b"Del 21:00:00:e0:8b:05:05:04"),
            Ok(GroupNamesCmd::Del("21:00:00:e0:8b:05:05:04"))
        );
    }

    #[test]
    fn names_patterns_are_plain_names_here() {
        assert_eq!(
            parse_group_names(b"add !iqn.*:host?"),
            Ok(GroupNamesCmd::Add("!iqn.*:host?"))
        );
    }

    #[test]
    fn names_are_case_preserved() {
        assert_eq!(
            parse_group_names(b"ADD IQN.X"),
            Ok(GroupNamesCmd::Add("IQN.X"))
        );
    }

    #[test]
    fn names_move() {
        assert_eq!(
            parse_group_names(b"move iqn.x Storage2"),
            Ok(GroupNamesCmd::Move {
                name: "iqn.x",
                group: "Storage2"
            })
        );
        // Moving to Default is allowed.
        assert_eq!(
            parse_group_names(b"move iqn.x Default"),
            Ok(GroupNamesCmd::Move {
                name: "iqn.x",
                group: "Default"
            })
        );
        assert_eq!(
            e(parse_group_names(b"move iqn.x")),
            (ErrorKind::Missing(Field::GroupName), 10)
        );
        assert_eq!(
            e(parse_group_names(b"move iqn.x a/b")),
            (ErrorKind::Invalid(Field::GroupName), 12)
        );
        assert_eq!(
            e(parse_group_names(b"move a b c")),
            (ErrorKind::TooManyArguments, 9)
        );
    }

    #[test]
    fn names_clear() {
        assert_eq!(parse_group_names(b"clear"), Ok(GroupNamesCmd::Clear));
        assert_eq!(parse_group_names(b"Clear \n"), Ok(GroupNamesCmd::Clear));
        assert_eq!(
            e(parse_group_names(b"clear x")),
            (ErrorKind::TooManyArguments, 6)
        );
    }

    #[test]
    fn names_errors() {
        assert_eq!(
            e(parse_group_names(b"add")),
            (ErrorKind::Missing(Field::InitiatorName), 3)
        );
        assert_eq!(
            e(parse_group_names(b"del")),
            (ErrorKind::Missing(Field::InitiatorName), 3)
        );
        assert_eq!(
            e(parse_group_names(b"add a b")),
            (ErrorKind::TooManyArguments, 6)
        );
        assert_eq!(
            e(parse_group_names(b"add in\xffit")),
            (ErrorKind::Invalid(Field::InitiatorName), 6)
        );
        assert_eq!(
            e(parse_group_names(b"replace a")),
            (ErrorKind::UnknownAction, 0)
        );
        let mut v = Vec::from(&b"add "[..]);
        v.resize(4 + MAX_NAME_LEN + 1, b'i');
        assert_eq!(
            e(parse_group_names(&v)),
            (ErrorKind::TooLong(Field::InitiatorName), 4)
        );
    }

    // ---- threads -------------------------------------------------------

    #[test]
    fn threads_bases() {
        assert_eq!(parse_threads(b"8\n"), Ok(8));
        assert_eq!(parse_threads(b"0x10"), Ok(16));
        assert_eq!(parse_threads(b"010"), Ok(8));
        assert_eq!(parse_threads(b"  4  "), Ok(4));
        assert_eq!(parse_threads(b"2147483647"), Ok(MAX_THREADS));
    }

    #[test]
    fn threads_errors() {
        assert_eq!(
            e(parse_threads(b"0")),
            (ErrorKind::OutOfRange(Field::ThreadCount), 0)
        );
        assert_eq!(
            e(parse_threads(b"00")),
            (ErrorKind::OutOfRange(Field::ThreadCount), 0)
        );
        assert_eq!(
            e(parse_threads(b"2147483648")),
            (ErrorKind::OutOfRange(Field::ThreadCount), 0)
        );
        assert_eq!(
            e(parse_threads(b" 99999999999999999999")),
            (ErrorKind::OutOfRange(Field::ThreadCount), 1)
        );
        assert_eq!(
            e(parse_threads(b"-1")),
            (ErrorKind::Invalid(Field::ThreadCount), 0)
        );
        assert_eq!(
            e(parse_threads(b"4x")),
            (ErrorKind::Invalid(Field::ThreadCount), 1)
        );
        assert_eq!(
            e(parse_threads(b"four")),
            (ErrorKind::Invalid(Field::ThreadCount), 0)
        );
        assert_eq!(e(parse_threads(b"4 5")), (ErrorKind::TooManyArguments, 2));
    }

    // ---- trace_level ----------------------------------------------------

    #[test]
    fn trace_simple_actions() {
        assert_eq!(parse_core_trace_level(b"all\n"), Ok(TraceLevelCmd::All));
        assert_eq!(parse_core_trace_level(b"ALL"), Ok(TraceLevelCmd::All));
        assert_eq!(parse_core_trace_level(b"none"), Ok(TraceLevelCmd::None));
        assert_eq!(parse_core_trace_level(b"null"), Ok(TraceLevelCmd::None));
        assert_eq!(
            parse_core_trace_level(b"Default"),
            Ok(TraceLevelCmd::Default)
        );
        assert_eq!(
            e(parse_core_trace_level(b"all x")),
            (ErrorKind::TooManyArguments, 4)
        );
        assert_eq!(
            e(parse_core_trace_level(b"allx")),
            (ErrorKind::UnknownAction, 0)
        );
    }

    #[test]
    fn trace_value() {
        assert_eq!(
            parse_core_trace_level(b"value 0x1f"),
            Ok(TraceLevelCmd::Value(0x1f))
        );
        assert_eq!(
            parse_core_trace_level(b"VALUE 17"),
            Ok(TraceLevelCmd::Value(17))
        );
        assert_eq!(
            parse_core_trace_level(b"value 017"),
            Ok(TraceLevelCmd::Value(15))
        );
        assert_eq!(
            parse_core_trace_level(b"value 0xffffffff"),
            Ok(TraceLevelCmd::Value(u32::MAX))
        );
        assert_eq!(
            e(parse_core_trace_level(b"value 0x100000000")),
            (ErrorKind::OutOfRange(Field::TraceValue), 6)
        );
        assert_eq!(
            e(parse_core_trace_level(b"value")),
            (ErrorKind::Missing(Field::TraceValue), 5)
        );
        assert_eq!(
            e(parse_core_trace_level(b"value 12q")),
            (ErrorKind::Invalid(Field::TraceValue), 8)
        );
    }

    #[test]
    fn trace_tokens_set_add_del() {
        assert_eq!(
            parse_core_trace_level(b"add scsi"),
            Ok(TraceLevelCmd::Add {
                token: "scsi",
                mask: 0x2000
            })
        );
        assert_eq!(
            parse_core_trace_level(b"del MGMT_DBG"),
            Ok(TraceLevelCmd::Del {
                token: "MGMT_DBG",
                mask: 0x1000
            })
        );
        assert_eq!(
            parse_core_trace_level(b"set debug\n"),
            Ok(TraceLevelCmd::Set {
                token: "debug",
                mask: 1
            })
        );
    }

    #[test]
    fn trace_local_tokens() {
        // Core file: its own tokens.
        assert_eq!(
            parse_core_trace_level(b"add retry"),
            Ok(TraceLevelCmd::Add {
                token: "retry",
                mask: 0x8000_0000
            })
        );
        // A handler file does not know them...
        assert_eq!(
            e(parse_trace_level(b"add retry", &[])),
            (ErrorKind::UnknownKeyword(Field::TraceToken), 4)
        );
        // ...but knows its own, which win over the core table.
        assert_eq!(
            parse_trace_level(b"add order", VDISK_TRACE_TOKENS),
            Ok(TraceLevelCmd::Add {
                token: "order",
                mask: 0x8000_0000
            })
        );
        assert_eq!(
            parse_trace_level(b"add mgmt", VDISK_TRACE_TOKENS),
            Ok(TraceLevelCmd::Add {
                token: "mgmt",
                mask: 0x0400
            })
        );
    }

    #[test]
    fn trace_token_errors() {
        assert_eq!(
            e(parse_core_trace_level(b"add")),
            (ErrorKind::Missing(Field::TraceToken), 3)
        );
        assert_eq!(
            e(parse_core_trace_level(b"set bogus")),
            (ErrorKind::UnknownKeyword(Field::TraceToken), 4)
        );
        assert_eq!(
            e(parse_core_trace_level(b"add scsi mgmt")),
            (ErrorKind::TooManyArguments, 9)
        );
        assert_eq!(
            e(parse_core_trace_level(b"clear scsi")),
            (ErrorKind::UnknownAction, 0)
        );
    }

    #[test]
    fn trace_dump_prs_only_in_core_file() {
        assert_eq!(
            parse_core_trace_level(b"dump_prs disk1\n"),
            Ok(TraceLevelCmd::DumpPrs { device: "disk1" })
        );
        assert_eq!(
            e(parse_core_trace_level(b"dump_prs")),
            (ErrorKind::Missing(Field::Device), 8)
        );
        assert_eq!(
            e(parse_trace_level(b"dump_prs disk1", VDISK_TRACE_TOKENS)),
            (ErrorKind::UnknownAction, 0)
        );
    }

    #[test]
    fn every_documented_token_is_known() {
        for t in [
            "debug",
            "function",
            "line",
            "pid",
            "entryexit",
            "buff",
            "mem",
            "sg",
            "out_of_mem",
            "special",
            "scsi",
            "mgmt",
            "minor",
            "mgmt_dbg",
            "mgmt_minor",
        ] {
            assert!(trace_mask(t.as_bytes(), &[]).is_some(), "{t}");
        }
        for t in [
            "scsi_serializing",
            "retry",
            "recv_bot",
            "send_bot",
            "recv_top",
            "send_top",
        ] {
            assert!(trace_mask(t.as_bytes(), &[]).is_none(), "{t}");
            assert!(
                trace_mask(t.as_bytes(), SCSI_TGT_TRACE_TOKENS).is_some(),
                "{t}"
            );
        }
    }

    #[test]
    fn trace_masks_are_distinct_single_bits() {
        let mut seen = 0u32;
        for t in CORE_TRACE_TOKENS.iter().chain(SCSI_TGT_TRACE_TOKENS) {
            assert_eq!(t.mask.count_ones(), 1, "{}", t.name);
            assert_eq!(seen & t.mask, 0, "{}", t.name);
            seen |= t.mask;
        }
        // Core tokens stay in the low 16 bits, local ones in the high 16.
        for t in CORE_TRACE_TOKENS {
            assert!(t.mask <= 0xffff);
        }
    }

    #[test]
    fn trace_apply() {
        let add = TraceLevelCmd::Add {
            token: "scsi",
            mask: 0x2000,
        };
        assert_eq!(add.apply(0x1, 0), Some(0x2001));
        let del = TraceLevelCmd::Del {
            token: "debug",
            mask: 1,
        };
        assert_eq!(del.apply(0x2001, 0), Some(0x2000));
        let set = TraceLevelCmd::Set {
            token: "debug",
            mask: 1,
        };
        assert_eq!(set.apply(0xff, 0), Some(1));
        assert_eq!(TraceLevelCmd::All.apply(0, 0), Some(TRACE_ALL));
        assert_eq!(TraceLevelCmd::None.apply(7, 0), Some(0));
        assert_eq!(TraceLevelCmd::Default.apply(7, 0x104), Some(0x104));
        assert_eq!(TraceLevelCmd::Value(9).apply(7, 0), Some(9));
        assert_eq!(TraceLevelCmd::DumpPrs { device: "d" }.apply(7, 0), None);
    }

    fn mask_text(mask: u32, local: &[TraceToken]) -> String {
        let mut b = [0u8; 512];
        let mut w = Writer::new(&mut b);
        write_trace_mask(mask, local, &mut w);
        let n = w.stored();
        String::from_utf8(b[..n].to_vec()).unwrap()
    }

    #[test]
    fn trace_mask_read_format() {
        assert_eq!(mask_text(0, &[]), "none\n");
        assert_eq!(mask_text(0x0300, &[]), "out_of_mem | minor\n");
        assert_eq!(
            mask_text(0x8000_2000, SCSI_TGT_TRACE_TOKENS),
            "scsi | retry\n"
        );
        // Unnamed bits are not shown.
        assert_eq!(mask_text(0x0001_0000, &[]), "none\n");
    }

    #[test]
    fn trace_mask_write_truncates_safely() {
        let mut b = [0u8; 4];
        let mut w = Writer::new(&mut b);
        write_trace_mask(TRACE_ALL, SCSI_TGT_TRACE_TOKENS, &mut w);
        assert!(w.len() > 4);
        assert_eq!(&b, b"out_");
    }

    // ---- vdisk ---------------------------------------------------------

    fn open(line: &[u8]) -> VdiskOpen<'_> {
        match parse_vdisk(line) {
            Ok(VdiskCmd::Open(o)) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn vdisk_open_minimal() {
        let o = open(b"open disk1 /vdisks/disk1\n");
        assert_eq!(o.name, "disk1");
        assert_eq!(o.path, b"/vdisks/disk1");
        assert_eq!(o.block_size, DEFAULT_BLOCK_SIZE);
        assert_eq!(o.flags, VdiskFlags::default());
    }

    #[test]
    fn vdisk_open_block_size_and_flags() {
        let o = open(b"open disk1 /dev/sdb 4096 WRITE_THROUGH NV_CACHE BLOCKIO");
        assert_eq!(o.block_size, 4096);
        assert!(o.flags.write_through && o.flags.nv_cache && o.flags.blockio);
        assert!(!o.flags.read_only && !o.flags.nullio && !o.flags.o_direct);
        assert!(!o.flags.removable);
    }

    #[test]
    fn vdisk_open_block_size_bases() {
        assert_eq!(open(b"open d /f 0x1000").block_size, 4096);
        assert_eq!(open(b"open d /f 01000").block_size, 512);
        assert_eq!(open(b"open d /f 2147483648").block_size, 1 << 31);
    }

    #[test]
    fn vdisk_open_every_flag() {
        for f in VdiskFlag::ALL {
            let line = format!("open d /f {}", f.keyword());
            let o = open(line.as_bytes());
            for g in VdiskFlag::ALL {
                assert_eq!(o.flags.contains(g), f == g, "{f:?} {g:?}");
            }
        }
        let o = open(
            b"open d /f 512 WRITE_THROUGH READ_ONLY O_DIRECT NULLIO NV_CACHE BLOCKIO REMOVABLE THIN_PROVISIONED",
        );
        for g in VdiskFlag::ALL {
            assert!(o.flags.contains(g), "{g:?}");
        }
    }

    #[test]
    fn vdisk_open_flags_without_block_size_and_repeated() {
        let o = open(b"open d /f READ_ONLY READ_ONLY");
        assert_eq!(o.block_size, 512);
        assert!(o.flags.read_only);
    }

    #[test]
    fn vdisk_flags_are_case_sensitive() {
        assert_eq!(
            e(parse_vdisk(b"open d /f read_only")),
            (ErrorKind::UnknownKeyword(Field::Flag), 10)
        );
        assert_eq!(
            VdiskFlag::from_keyword(b"NV_CACHE"),
            Some(VdiskFlag::NvCache)
        );
        assert_eq!(VdiskFlag::from_keyword(b"nv_cache"), None);
    }

    #[test]
    fn vdisk_glued_flags_are_rejected() {
        assert_eq!(
            e(parse_vdisk(b"open d /f NV_CACHEREAD_ONLY")),
            (ErrorKind::UnknownKeyword(Field::Flag), 10)
        );
    }

    #[test]
    fn vdisk_block_size_only_right_after_the_path() {
        assert_eq!(
            e(parse_vdisk(b"open d /f NV_CACHE 4096")),
            (ErrorKind::UnknownKeyword(Field::Flag), 19)
        );
        assert_eq!(
            e(parse_vdisk(b"open d /f 4096 4096")),
            (ErrorKind::UnknownKeyword(Field::Flag), 15)
        );
    }

    #[test]
    fn vdisk_block_size_errors() {
        assert_eq!(
            e(parse_vdisk(b"open d /f 256")),
            (ErrorKind::OutOfRange(Field::BlockSize), 10)
        );
        assert_eq!(
            e(parse_vdisk(b"open d /f 0")),
            (ErrorKind::OutOfRange(Field::BlockSize), 10)
        );
        assert_eq!(
            e(parse_vdisk(b"open d /f 1000")),
            (ErrorKind::NotPowerOfTwo, 10)
        );
        assert_eq!(
            e(parse_vdisk(b"open d /f 4294967296")),
            (ErrorKind::OutOfRange(Field::BlockSize), 10)
        );
        assert_eq!(
            e(parse_vdisk(b"open d /f 4k")),
            (ErrorKind::Invalid(Field::BlockSize), 11)
        );
    }

    #[test]
    fn vdisk_path_must_be_absolute_unless_nullio() {
        assert_eq!(
            e(parse_vdisk(b"open d disk.img")),
            (ErrorKind::RelativePath, 7)
        );
        let o = open(b"open d none NULLIO");
        assert_eq!(o.path, b"none");
        assert!(o.flags.nullio);
        // The check happens after the flags, but points at the path.
        assert_eq!(
            e(parse_vdisk(b"open d rel 4096 BLOCKIO")),
            (ErrorKind::RelativePath, 7)
        );
    }

    #[test]
    fn vdisk_path_may_hold_8bit_but_no_control_bytes() {
        assert_eq!(open(b"open d /t\xc3\xa9st").path, b"/t\xc3\xa9st");
        assert_eq!(
            e(parse_vdisk(b"open d /a\x01b")),
            (ErrorKind::Invalid(Field::FileName), 9)
        );
        assert_eq!(
            e(parse_vdisk(b"open d /a\x00b")),
            (ErrorKind::Invalid(Field::FileName), 9)
        );
    }

    #[test]
    fn vdisk_open_missing_arguments() {
        assert_eq!(
            e(parse_vdisk(b"open")),
            (ErrorKind::Missing(Field::VdiskName), 4)
        );
        assert_eq!(
            e(parse_vdisk(b"open disk1\n")),
            (ErrorKind::Missing(Field::FileName), 10)
        );
    }

    #[test]
    fn vdisk_name_length_limit() {
        assert_eq!(open(b"open abcdefghijklmnop /f").name, "abcdefghijklmnop");
        assert_eq!(
            e(parse_vdisk(b"open abcdefghijklmnopq /f")),
            (ErrorKind::TooLong(Field::VdiskName), 5)
        );
        assert_eq!(
            e(parse_vdisk(b"close abcdefghijklmnopq")),
            (ErrorKind::TooLong(Field::VdiskName), 6)
        );
        assert_eq!(
            e(parse_vdisk(b"open d\x80 /f")),
            (ErrorKind::Invalid(Field::VdiskName), 6)
        );
    }

    #[test]
    fn vdisk_close_and_resync() {
        assert_eq!(
            parse_vdisk(b"close disk1\n"),
            Ok(VdiskCmd::Close { name: "disk1" })
        );
        assert_eq!(
            parse_vdisk(b"resync_size disk1"),
            Ok(VdiskCmd::ResyncSize { name: "disk1" })
        );
        assert_eq!(
            e(parse_vdisk(b"close")),
            (ErrorKind::Missing(Field::VdiskName), 5)
        );
        assert_eq!(
            e(parse_vdisk(b"close d /f")),
            (ErrorKind::TooManyArguments, 8)
        );
        assert_eq!(
            e(parse_vdisk(b"resync_size d x")),
            (ErrorKind::TooManyArguments, 14)
        );
    }

    #[test]
    fn vdisk_set_t10_dev_id() {
        assert_eq!(
            parse_vdisk(b"set_t10_dev_id disk1 abc-123\n"),
            Ok(VdiskCmd::SetT10DevId {
                name: "disk1",
                t10_dev_id: "abc-123"
            })
        );
        assert_eq!(
            e(parse_vdisk(b"set_t10_dev_id disk1")),
            (ErrorKind::Missing(Field::T10DevId), 20)
        );
        assert_eq!(
            e(parse_vdisk(b"set_t10_dev_id d 12345678901234567890123456")),
            (ErrorKind::TooLong(Field::T10DevId), 17)
        );
        assert!(parse_vdisk(b"set_t10_dev_id d 1234567890123456789012345").is_ok());
    }

    #[test]
    fn vdisk_keywords_are_case_sensitive() {
        assert_eq!(e(parse_vdisk(b"OPEN d /f")), (ErrorKind::UnknownAction, 0));
        assert_eq!(e(parse_vdisk(b"Close d")), (ErrorKind::UnknownAction, 0));
        assert_eq!(
            e(parse_vdisk(b"change d /f")),
            (ErrorKind::UnknownAction, 0)
        );
    }

    // ---- vcdrom --------------------------------------------------------

    #[test]
    fn vcdrom_open() {
        assert_eq!(
            parse_vcdrom(b"open cd1 /isos/x.iso\n"),
            Ok(VcdromCmd::Open {
                name: "cd1",
                path: Some(b"/isos/x.iso")
            })
        );
        assert_eq!(
            parse_vcdrom(b"open cd1"),
            Ok(VcdromCmd::Open {
                name: "cd1",
                path: None
            })
        );
    }

    #[test]
    fn vcdrom_change() {
        assert_eq!(
            parse_vcdrom(b"change cd1 /isos/y.iso"),
            Ok(VcdromCmd::Change {
                name: "cd1",
                path: Some(b"/isos/y.iso")
            })
        );
        // No path ejects the medium.
        assert_eq!(
            parse_vcdrom(b"change cd1\n"),
            Ok(VcdromCmd::Change {
                name: "cd1",
                path: None
            })
        );
    }

    #[test]
    fn vcdrom_change_is_a_whole_word() {
        // SCST matched "chang" then skipped 7 bytes; here it must be exact.
        assert_eq!(
            e(parse_vcdrom(b"changX cd1")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(e(parse_vcdrom(b"chang cd1")), (ErrorKind::UnknownAction, 0));
    }

    #[test]
    fn vcdrom_close() {
        assert_eq!(
            parse_vcdrom(b"close cd1"),
            Ok(VcdromCmd::Close { name: "cd1" })
        );
        assert_eq!(
            e(parse_vcdrom(b"close cd1 /x")),
            (ErrorKind::TooManyArguments, 10)
        );
    }

    #[test]
    fn vcdrom_errors() {
        assert_eq!(
            e(parse_vcdrom(b"open cd1 x.iso")),
            (ErrorKind::RelativePath, 9)
        );
        assert_eq!(
            e(parse_vcdrom(b"change cd1 x.iso")),
            (ErrorKind::RelativePath, 11)
        );
        assert_eq!(
            e(parse_vcdrom(b"open")),
            (ErrorKind::Missing(Field::VdiskName), 4)
        );
        assert_eq!(
            e(parse_vcdrom(b"change")),
            (ErrorKind::Missing(Field::VdiskName), 6)
        );
        assert_eq!(
            e(parse_vcdrom(b"open cd1 /a.iso 2048")),
            (ErrorKind::TooManyArguments, 16)
        );
        assert_eq!(
            e(parse_vcdrom(b"open cd1 /a\x1b.iso")),
            (ErrorKind::Invalid(Field::FileName), 11)
        );
        assert_eq!(
            e(parse_vcdrom(b"resync_size cd1")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(e(parse_vcdrom(b"Open cd1")), (ErrorKind::UnknownAction, 0));
        assert_eq!(e(parse_vcdrom(b"")), (ErrorKind::Empty, 0));
    }

    // ---- help ----------------------------------------------------------

    #[test]
    fn help_lines_parse() {
        // Every concrete example we document parses with its parser.
        assert!(parse_scsi_tgt(b"add_group GROUP FLAT").is_ok());
        assert!(parse_scsi_tgt(b"rename_group OLD_NAME NEW_NAME").is_ok());
        assert!(parse_group_devices(b"add V_NAME 0 READ_ONLY").is_ok());
        assert!(parse_group_names(b"move NAME NEW_GROUP").is_ok());
        assert!(HELP.contains("dump_prs"));
        for f in VdiskFlag::ALL {
            assert!(VDISK_HELP.contains(f.keyword()), "{f:?}");
        }
        for t in CORE_TRACE_TOKENS.iter().chain(SCSI_TGT_TRACE_TOKENS) {
            assert!(HELP.contains(t.name), "{}", t.name);
        }
        assert!(VCDROM_HELP.contains("open|change|close"));
    }

    // ---- more edge cases ----------------------------------------------

    #[test]
    fn nul_in_action_is_unknown_action() {
        assert_eq!(
            e(parse_scsi_tgt(b"assign\0 1:0:0:0 d")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(
            e(parse_vdisk(b"\0open d /f")),
            (ErrorKind::UnknownAction, 0)
        );
    }

    #[test]
    fn missing_offset_is_end_of_line_without_newline() {
        assert_eq!(
            e(parse_scsi_tgt(b"add_group\n")),
            (ErrorKind::Missing(Field::GroupName), 9)
        );
    }

    #[test]
    fn leading_whitespace_is_ignored() {
        assert_eq!(parse_group_devices(b"   clear"), Ok(GroupDevicesCmd::Clear));
        assert_eq!(
            parse_scsi_tgt(b"\t del_group g"),
            Ok(ScsiTgtCmd::DelGroup { name: "g" })
        );
    }

    #[test]
    fn del_group_bad_character() {
        assert_eq!(
            e(parse_scsi_tgt(b"del_group a\x7f")),
            (ErrorKind::Invalid(Field::GroupName), 11)
        );
    }

    #[test]
    fn devices_hctl_lun_overflow() {
        assert_eq!(
            e(parse_group_devices(b"add 1:0:0:99999999999999999999 0")),
            (ErrorKind::OutOfRange(Field::Hctl), 10)
        );
    }

    #[test]
    fn threads_with_crlf() {
        assert_eq!(parse_threads(b"8\r\n"), Ok(8));
    }

    #[test]
    fn trace_extra_arguments() {
        assert_eq!(
            e(parse_core_trace_level(b"none scsi")),
            (ErrorKind::TooManyArguments, 5)
        );
        assert_eq!(
            e(parse_core_trace_level(b"value 1 2")),
            (ErrorKind::TooManyArguments, 8)
        );
        assert_eq!(
            e(parse_core_trace_level(b"dump_prs d x")),
            (ErrorKind::TooManyArguments, 11)
        );
    }

    #[test]
    fn vdisk_flags_set_and_contains() {
        let mut f = VdiskFlags::default();
        for (i, flag) in VdiskFlag::ALL.into_iter().enumerate() {
            assert!(!f.contains(flag));
            f.set(flag);
            assert!(f.contains(flag));
            assert_eq!(
                VdiskFlag::from_keyword(flag.keyword().as_bytes()),
                Some(flag)
            );
            // Flags set earlier stay set.
            for g in &VdiskFlag::ALL[..i] {
                assert!(f.contains(*g));
            }
        }
    }

    #[test]
    fn vdisk_unknown_actions() {
        assert_eq!(e(parse_vdisk(b"delete d")), (ErrorKind::UnknownAction, 0));
        assert_eq!(
            e(parse_vdisk(b"opendisk /f")),
            (ErrorKind::UnknownAction, 0)
        );
        assert_eq!(
            parse_vdisk(b"open\td\t/f"),
            Ok(VdiskCmd::Open(VdiskOpen {
                name: "d",
                path: b"/f",
                block_size: 512,
                flags: VdiskFlags::default()
            }))
        );
    }

    #[test]
    fn vcdrom_name_limits() {
        assert_eq!(
            e(parse_vcdrom(b"open abcdefghijklmnopq")),
            (ErrorKind::TooLong(Field::VdiskName), 5)
        );
        assert_eq!(
            e(parse_vcdrom(b"close c\x01")),
            (ErrorKind::Invalid(Field::VdiskName), 7)
        );
    }

    #[test]
    fn vdisk_o_direct_is_reported_for_the_handler_to_ignore() {
        let o = open(b"open d /f O_DIRECT");
        assert!(o.flags.o_direct);
        assert_eq!(
            o.flags,
            VdiskFlags {
                o_direct: true,
                ..VdiskFlags::default()
            }
        );
    }

    #[test]
    fn vdisk_nullio_still_requires_a_file_name() {
        assert_eq!(
            e(parse_vdisk(b"open d NULLIO")),
            // "NULLIO" is taken as the file name, so it is relative.
            (ErrorKind::RelativePath, 7)
        );
        assert_eq!(
            e(parse_vdisk(b"open d")),
            (ErrorKind::Missing(Field::FileName), 6)
        );
    }

    // ---- property tests ------------------------------------------------

    /// Every parser on one input: none may panic, every error offset must lie
    /// within the input (or be MAX_WRITE_LEN for an over-long write).
    fn check_all(input: &[u8]) {
        let check = |r: Result<(), Error>| {
            if let Err(err) = r {
                match err.kind {
                    ErrorKind::TooLong(Field::Line) => {
                        assert!(input.len() > MAX_WRITE_LEN);
                        assert_eq!(err.offset, MAX_WRITE_LEN);
                    }
                    _ => assert!(err.offset <= input.len(), "{err:?} {input:?}"),
                }
            }
        };
        check(parse_scsi_tgt(input).map(drop));
        check(parse_group_devices(input).map(drop));
        check(parse_group_names(input).map(drop));
        check(parse_threads(input).map(drop));
        check(parse_core_trace_level(input).map(drop));
        check(parse_trace_level(input, VDISK_TRACE_TOKENS).map(drop));
        check(parse_vdisk(input).map(drop));
        check(parse_vcdrom(input).map(drop));
    }

    /// Lines made of the grammar's own words, to reach deep paths.
    fn soup() -> impl Strategy<Value = Vec<u8>> {
        let word = prop::sample::select(vec![
            "assign",
            "add_group",
            "del_group",
            "rename_group",
            "add",
            "del",
            "replace",
            "clear",
            "move",
            "open",
            "close",
            "change",
            "resync_size",
            "set_t10_dev_id",
            "value",
            "set",
            "all",
            "none",
            "default",
            "dump_prs",
            "READ_ONLY",
            "FLAT",
            "LUN",
            "NV_CACHE",
            "NULLIO",
            "BLOCKIO",
            "4096",
            "1000",
            "0x",
            "0x3fff",
            "16384",
            "1:0:0:0",
            "1:0",
            "0:0:0:0:0",
            "disk1",
            "Default",
            "/f",
            "rel",
            "scsi",
            "order",
            "retry",
            "08",
            "a/b",
            "..",
            "\x01",
            "\u{e9}",
        ]);
        let sep = prop::sample::select(vec![" ", "  ", "\t", "\n", "\r\n", ""]);
        prop::collection::vec((word, sep), 0..8).prop_map(|v| {
            let mut s = String::new();
            for (w, sp) in v {
                s.push_str(w);
                s.push_str(sp);
            }
            s.into_bytes()
        })
    }

    fn fmt_num(v: u64, base: u8) -> String {
        match base {
            0 => format!("{v}"),
            1 => format!("0x{v:x}"),
            2 => format!("0X{v:X}"),
            _ => format!("0{v:o}"),
        }
    }

    fn case_mix(kw: &str, mask: u64) -> String {
        kw.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    fn ws() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![' ', '\t', '\x0b', '\x0c', '\r']),
            1..4,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    const NAME_RE: &str = "[a-zA-Z_][!-~]{0,15}";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_bytes(input in prop::collection::vec(any::<u8>(), 0..300)) {
            check_all(&input);
        }

        #[test]
        fn never_panics_on_long_bytes(
            input in prop::collection::vec(any::<u8>(), MAX_WRITE_LEN - 2..MAX_WRITE_LEN + 3)
        ) {
            check_all(&input);
        }

        #[test]
        fn never_panics_on_word_soup(input in soup()) {
            check_all(&input);
        }

        #[test]
        fn numbers_round_trip_in_every_base(v in any::<u64>(), base in 0u8..4) {
            let s = fmt_num(v, base);
            prop_assert_eq!(number(Token { off: 0, text: s.as_bytes() }, Field::Lun), Ok(v));
        }

        #[test]
        fn devices_add_round_trips(
            kw_case in any::<u64>(),
            hctl in prop::option::of((any::<u32>(), any::<u32>(), any::<u32>(), any::<u64>())),
            vname in NAME_RE,
            bases in prop::array::uniform5(0u8..4),
            lun in 0u64..=MAX_LUN,
            ro in any::<bool>(),
            s1 in ws(), s2 in ws(), s3 in ws(),
            newline in any::<bool>(),
        ) {
            let (dev_text, dev) = match hctl {
                Some((h, c, i, l)) => (
                    format!(
                        "{}:{}:{}:{}",
                        fmt_num(h.into(), bases[0]),
                        fmt_num(c.into(), bases[1]),
                        fmt_num(i.into(), bases[2]),
                        fmt_num(l, bases[3])
                    ),
                    DeviceRef::Hctl(hctl4(h, c, i, l)),
                ),
                None => (vname.clone(), DeviceRef::Virtual(vname.as_str())),
            };
            let mut line = format!(
                "{}{s1}{dev_text}{s2}{}",
                case_mix("add", kw_case),
                fmt_num(lun, bases[4])
            );
            if ro {
                line.push_str(&s3);
                line.push_str(&case_mix("read_only", kw_case >> 3));
            }
            if newline {
                line.push('\n');
            }
            prop_assert_eq!(
                parse_group_devices(line.as_bytes()),
                Ok(GroupDevicesCmd::Add { dev, lun, read_only: ro })
            );
        }

        #[test]
        fn devices_lun_over_max_is_rejected(lun in MAX_LUN + 1.., base in 0u8..4) {
            let line = format!("add d {}", fmt_num(lun, base));
            prop_assert_eq!(
                e(parse_group_devices(line.as_bytes())),
                (ErrorKind::OutOfRange(Field::Lun), 6)
            );
        }

        #[test]
        fn vdisk_open_round_trips(
            name in NAME_RE,
            path in "/[!-~]{0,40}",
            shift in prop::option::of(9u32..32),
            base in 0u8..4,
            flags in prop::collection::vec(0usize..7, 0..10),
            s in ws(),
        ) {
            let mut line = format!("open{s}{name}{s}{path}");
            if let Some(sh) = shift {
                line.push_str(&s);
                line.push_str(&fmt_num(1u64 << sh, base));
            }
            let mut want = VdiskFlags::default();
            for &i in &flags {
                let f = VdiskFlag::ALL[i];
                want.set(f);
                line.push_str(&s);
                line.push_str(f.keyword());
            }
            let got = open(line.as_bytes());
            prop_assert_eq!(got.name, name.as_str());
            prop_assert_eq!(got.path, path.as_bytes());
            prop_assert_eq!(got.block_size, shift.map_or(DEFAULT_BLOCK_SIZE, |sh| 1 << sh));
            prop_assert_eq!(got.flags, want);
        }

        #[test]
        fn vdisk_block_size_accepts_exactly_powers_of_two(v in 0u64..=u64::from(u32::MAX)) {
            let line = format!("open d /f {v}");
            let r = parse_vdisk(line.as_bytes());
            let ok = v >= 512 && v.is_power_of_two();
            prop_assert_eq!(r.is_ok(), ok);
        }

        #[test]
        fn threads_round_trip(n in 1u32..=MAX_THREADS, base in 0u8..4, nl in any::<bool>()) {
            let mut line = fmt_num(n.into(), base);
            if nl {
                line.push('\n');
            }
            prop_assert_eq!(parse_threads(line.as_bytes()), Ok(n));
        }

        #[test]
        fn core_keywords_ignore_case(mask in any::<u64>(), name in NAME_RE) {
            prop_assume!(name != DEFAULT_GROUP && !name.contains('/'));
            let line = format!("{} {name}", case_mix("del_group", mask));
            prop_assert_eq!(
                parse_scsi_tgt(line.as_bytes()),
                Ok(ScsiTgtCmd::DelGroup { name: name.as_str() })
            );
            let line = format!("{} {name}", case_mix("add", mask));
            prop_assert_eq!(parse_group_names(line.as_bytes()), Ok(GroupNamesCmd::Add(name.as_str())));
        }

        #[test]
        fn trace_tokens_ignore_case(i in 0..CORE_TRACE_TOKENS.len(), mask in any::<u64>()) {
            let t = CORE_TRACE_TOKENS[i];
            let word = case_mix(t.name, mask);
            let line = format!("add {word}");
            prop_assert_eq!(
                parse_trace_level(line.as_bytes(), &[]),
                Ok(TraceLevelCmd::Add { token: word.as_str(), mask: t.mask })
            );
        }

        #[test]
        fn trace_value_round_trips(v in any::<u32>(), base in 0u8..4) {
            let line = format!("value {}", fmt_num(v.into(), base));
            prop_assert_eq!(parse_core_trace_level(line.as_bytes()), Ok(TraceLevelCmd::Value(v)));
        }

        #[test]
        fn trailing_garbage_is_always_rejected(name in NAME_RE, junk in "[!-~]{1,8}") {
            prop_assume!(name != DEFAULT_GROUP && !name.contains('/'));
            let line = format!("del_group {name} {junk}");
            prop_assert_eq!(
                e(parse_scsi_tgt(line.as_bytes())),
                (ErrorKind::TooManyArguments, 11 + name.len())
            );
        }
    }
}
