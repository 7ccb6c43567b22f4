// SPDX-License-Identifier: GPL-2.0

//! iSCSI text: `key=value\0` pairs of Login and Text PDUs (RFC 7143 6.1).
//!
//! - [`TextIter`] walks a complete data segment (or the concatenation of a
//!   C-bit sequence, see [`TextAccumulator`]) and yields `(key, value)`
//!   byte slices, or one typed [`TextError`] after which it stops.
//! - [`TextWriter`] appends `key=value\0` pairs to a caller buffer and fails
//!   without writing anything when a pair does not fit.
//! - Value helpers decode the RFC 7143 6.1 data types: numbers
//!   ([`parse_number`], [`parse_regular_binary`]), binary items
//!   ([`decode_binary`], [`encode_hex`]), booleans ([`parse_bool`]) and
//!   comma lists ([`list_items`]).
//!
//! Lexical rules enforced here (RFC 7143 6.1):
//! - a key is 1..=[`MAX_KEY_LEN`] bytes of letters, digits, `.`, `-`, `+`,
//!   `@`, `_`. `#` is accepted as well because the public extension keys
//!   of RFC 7143 13.22 are spelled `X#name` (RFC 4850). The "begins with a
//!   capital letter" rule of RFC 3720 is not enforced: RFC 7144's own
//!   `iSCSIProtocolLevel` breaks it.
//! - a value is at most [`MAX_VALUE_LEN`] bytes, except the CHAP binary
//!   items `CHAP_C`/`CHAP_R` ([`MAX_CHAP_VALUE_LEN`], see
//!   [`max_value_len`]);
//! - every pair ends with a NUL, including the last one;
//! - a key appears at most once in one text (RFC 7143 6.2: renegotiating or
//!   redeclaring a key is a protocol error).

use core::fmt;

/// Longest key name (RFC 7143 6.1: "MUST NOT exceed 63 characters").
pub const MAX_KEY_LEN: usize = 63;
/// Longest value of most keys (RFC 7143 6.1: "the maximum length of a
/// simple-value ... is 255 bytes, not including the delimiter").
pub const MAX_VALUE_LEN: usize = 255;
/// Longest CHAP challenge or response in binary form (RFC 7143 12.1.3
/// limits CHAP_C to 1024 bytes).
pub const MAX_CHAP_BINARY_LEN: usize = 1024;
/// Longest encoded `CHAP_C`/`CHAP_R` value: `0x` plus two hex digits per
/// byte of a [`MAX_CHAP_BINARY_LEN`] binary value.
pub const MAX_CHAP_VALUE_LEN: usize = 2 + 2 * MAX_CHAP_BINARY_LEN;

/// The reserved value "NotUnderstood" (RFC 7143 6.2).
pub const NOT_UNDERSTOOD: &[u8] = b"NotUnderstood";
/// The reserved value "Reject" (RFC 7143 6.2).
pub const REJECT: &[u8] = b"Reject";
/// The reserved value "Irrelevant" (RFC 7143 6.2).
pub const IRRELEVANT: &[u8] = b"Irrelevant";
/// The reserved value "None" (RFC 7143 6.2).
pub const NONE: &[u8] = b"None";
/// Boolean true (RFC 7143 6.1 boolean-value).
pub const YES: &[u8] = b"Yes";
/// Boolean false (RFC 7143 6.1 boolean-value).
pub const NO: &[u8] = b"No";

/// Largest value a key may carry: [`MAX_CHAP_VALUE_LEN`] for the CHAP
/// large-binary items, [`MAX_VALUE_LEN`] for everything else.
pub fn max_value_len(key: &[u8]) -> usize {
    match key {
        b"CHAP_C" | b"CHAP_R" => MAX_CHAP_VALUE_LEN,
        _ => MAX_VALUE_LEN,
    }
}

/// Whether `c` may appear in a key name (RFC 7143 6.1 key-name, plus `#`).
pub fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'@' | b'_' | b'#')
}

/// What is wrong with a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextErrorKind {
    /// A pair has no `=`.
    MissingEquals,
    /// A pair starts with `=`.
    EmptyKey,
    /// The key is longer than [`MAX_KEY_LEN`].
    KeyTooLong,
    /// The key contains a character outside the key-name set.
    BadKeyChar,
    /// The value is longer than [`max_value_len`] allows for its key.
    ValueTooLong,
    /// The text does not end with a NUL.
    MissingNul,
    /// The key was already seen earlier in the same text.
    DuplicateKey,
}

/// A malformed text: what is wrong and the offset of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextError {
    /// What is wrong.
    pub kind: TextErrorKind,
    /// Byte offset of the start of the offending pair in the text.
    pub offset: usize,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TextErrorKind::MissingEquals => "key=value pair without '='",
            TextErrorKind::EmptyKey => "empty key",
            TextErrorKind::KeyTooLong => "key longer than 63 bytes",
            TextErrorKind::BadKeyChar => "invalid character in key",
            TextErrorKind::ValueTooLong => "value too long",
            TextErrorKind::MissingNul => "text does not end with NUL",
            TextErrorKind::DuplicateKey => "key given twice",
        };
        write!(f, "{what} at offset {}", self.offset)
    }
}

/// Splits one pair (without its NUL) at the first `=` and checks it.
fn split_pair(pair: &[u8], offset: usize) -> Result<(&[u8], &[u8]), TextError> {
    let err = |kind| TextError { kind, offset };
    let eq = pair
        .iter()
        .position(|&c| c == b'=')
        .ok_or(err(TextErrorKind::MissingEquals))?;
    let (key, rest) = pair.split_at(eq);
    let value = rest.get(1..).unwrap_or(&[]);
    if key.is_empty() {
        return Err(err(TextErrorKind::EmptyKey));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(err(TextErrorKind::KeyTooLong));
    }
    if !key.iter().all(|&c| is_key_char(c)) {
        return Err(err(TextErrorKind::BadKeyChar));
    }
    if value.len() > max_value_len(key) {
        return Err(err(TextErrorKind::ValueTooLong));
    }
    Ok((key, value))
}

/// Iterator over the `key=value` pairs of a text.
///
/// Yields `Ok((key, value))` per pair, or a single `Err` at the first
/// problem and then `None`. Duplicate detection compares each key with the
/// keys before it, so a text of `n` pairs costs O(n^2) key comparisons;
/// callers bound the text length (8 KiB gives at most 2730 pairs).
#[derive(Clone, Debug)]
pub struct TextIter<'a> {
    text: &'a [u8],
    pos: usize,
    done: bool,
    allow_duplicates: bool,
}

impl<'a> TextIter<'a> {
    /// Iterates over `text` (a whole data segment or accumulated text).
    pub fn new(text: &'a [u8]) -> Self {
        TextIter {
            text,
            pos: 0,
            done: false,
            allow_duplicates: false,
        }
    }

    /// Accepts repeated keys (a SendTargets response repeats `TargetName`
    /// and `TargetAddress`, RFC 7143 13.3).
    pub fn allow_duplicates(mut self) -> Self {
        self.allow_duplicates = true;
        self
    }

    /// Whether `key` occurs in a pair that ends before `end`.
    fn seen_before(&self, key: &[u8], end: usize) -> bool {
        let head = self.text.get(..end).unwrap_or(&[]);
        head.split(|&c| c == 0)
            .filter_map(|p| p.iter().position(|&c| c == b'=').and_then(|e| p.get(..e)))
            .any(|k| k == key)
    }
}

impl<'a> Iterator for TextIter<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), TextError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.text.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let offset = self.pos;
        let Some(nul) = rest.iter().position(|&c| c == 0) else {
            self.done = true;
            return Some(Err(TextError {
                kind: TextErrorKind::MissingNul,
                offset,
            }));
        };
        let pair = rest.get(..nul).unwrap_or(&[]);
        let res = split_pair(pair, offset).and_then(|(k, v)| {
            if !self.allow_duplicates && self.seen_before(k, offset) {
                Err(TextError {
                    kind: TextErrorKind::DuplicateKey,
                    offset,
                })
            } else {
                Ok((k, v))
            }
        });
        match res {
            Ok(kv) => {
                // nul < rest.len() <= text.len() - pos, so this cannot overflow.
                self.pos = offset.saturating_add(nul).saturating_add(1);
                Some(Ok(kv))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Checks a whole text; returns the number of pairs.
pub fn validate(text: &[u8]) -> Result<usize, TextError> {
    let mut n = 0usize;
    for item in TextIter::new(text) {
        item?;
        n = n.saturating_add(1);
    }
    Ok(n)
}

/// Finds the value of `key` in a text that [`validate`] accepted (the first
/// occurrence; stops at the first malformed pair).
pub fn find<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    TextIter::new(text)
        .map_while(Result::ok)
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The output buffer of a [`TextWriter`] has no room for a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextFull;

impl fmt::Display for TextFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text buffer full")
    }
}

/// Appends `key=value\0` pairs to a caller buffer.
///
/// A pair is written completely or not at all: on [`TextFull`] the buffer
/// content and [`TextWriter::len`] are as before the call.
#[derive(Debug)]
pub struct TextWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

/// `core::fmt::Write` adapter that fails instead of truncating.
struct Bounded<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<'a> TextWriter<'a> {
    /// A writer that fills `buf` from the start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        TextWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes still free.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// The pairs written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Forgets everything written (the buffer bytes are left as they are).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Drops everything written after the first `len` bytes (to undo a
    /// partly written group of pairs); no effect if `len >= self.len()`.
    pub fn truncate_to(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Appends `key=value\0`.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), TextFull> {
        let total = key
            .len()
            .checked_add(value.len())
            .and_then(|n| n.checked_add(2))
            .ok_or(TextFull)?;
        let end = self.len.checked_add(total).ok_or(TextFull)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(TextFull)?;
        let (k, rest) = dst.split_at_mut(key.len());
        k.copy_from_slice(key);
        let (eq, rest) = rest.split_at_mut(1);
        eq[0] = b'=';
        let (v, nul) = rest.split_at_mut(value.len());
        v.copy_from_slice(value);
        nul[0] = 0;
        self.len = end;
        Ok(())
    }

    /// Appends `key=<decimal n>\0`.
    pub fn push_u64(&mut self, key: &[u8], n: u64) -> Result<(), TextFull> {
        let mut tmp = [0u8; 20];
        let digits = format_u64(n, &mut tmp);
        self.push(key, digits)
    }

    /// Appends `key=Yes\0` or `key=No\0`.
    pub fn push_bool(&mut self, key: &[u8], b: bool) -> Result<(), TextFull> {
        self.push(key, if b { YES } else { NO })
    }

    /// Appends `key=<formatted value>\0`, e.g.
    /// `w.push_fmt(b"TargetAddress", format_args!("{ip}:{port},{tag}"))`.
    pub fn push_fmt(&mut self, key: &[u8], args: fmt::Arguments<'_>) -> Result<(), TextFull> {
        let start = self.len;
        let mut b = Bounded {
            buf: &mut *self.buf,
            len: start,
        };
        let r = (|| {
            fmt::Write::write_str(&mut b, core::str::from_utf8(key).map_err(|_| fmt::Error)?)?;
            fmt::Write::write_str(&mut b, "=")?;
            fmt::write(&mut b, args)?;
            b.buf.get_mut(b.len).map(|c| *c = 0).ok_or(fmt::Error)?;
            b.len = b.len.checked_add(1).ok_or(fmt::Error)?;
            Ok::<usize, fmt::Error>(b.len)
        })();
        match r {
            Ok(end) => {
                self.len = end;
                Ok(())
            }
            Err(_) => Err(TextFull),
        }
    }
}

/// Writes `n` in decimal into `buf` and returns the digits.
pub fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// A value does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueError {
    /// The value is empty.
    Empty,
    /// The value is not of the expected syntax.
    Syntax,
    /// The number does not fit (64 bits, or the output buffer).
    Overflow,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueError::Empty => "empty value",
            ValueError::Syntax => "malformed value",
            ValueError::Overflow => "value too large",
        })
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits a `0x`/`0X` or `0b`/`0B` prefix off.
fn prefixed(v: &[u8], lower: u8) -> Option<&[u8]> {
    match v {
        [b'0', p, rest @ ..] if p.to_ascii_lowercase() == lower => Some(rest),
        _ => None,
    }
}

/// Decodes a decimal-constant: `0` or a digit 1-9 followed by digits
/// (RFC 7143 6.1: no sign, no leading zeros).
pub fn parse_decimal(v: &[u8]) -> Result<u64, ValueError> {
    match v {
        [] => Err(ValueError::Empty),
        [b'0'] => Ok(0),
        [b'0', ..] => Err(ValueError::Syntax),
        _ => v.iter().try_fold(0u64, |acc, &c| {
            if !c.is_ascii_digit() {
                return Err(ValueError::Syntax);
            }
            acc.checked_mul(10)
                .and_then(|a| a.checked_add(u64::from(c - b'0')))
                .ok_or(ValueError::Overflow)
        }),
    }
}

/// Decodes a numerical-value: a decimal-constant or a hex-constant (`0x`
/// followed by hex digits, any case), less than 2^64 (RFC 7143 6.1).
pub fn parse_number(v: &[u8]) -> Result<u64, ValueError> {
    if v.is_empty() {
        return Err(ValueError::Empty);
    }
    match prefixed(v, b'x') {
        Some([]) => Err(ValueError::Syntax),
        Some(hex) => hex.iter().try_fold(0u64, |acc, &c| {
            let d = hex_digit(c).ok_or(ValueError::Syntax)?;
            if acc >> 60 != 0 {
                return Err(ValueError::Overflow);
            }
            Ok(acc << 4 | u64::from(d))
        }),
        None => parse_decimal(v),
    }
}

/// Decodes a regular-binary-value (at most 64 bits) as a number: decimal,
/// hex or base64 (`0b`, big-endian bytes), RFC 7143 6.1. Used for
/// `TargetPortalGroupTag` and `CHAP_I`-like small binary items.
pub fn parse_regular_binary(v: &[u8]) -> Result<u64, ValueError> {
    if prefixed(v, b'b').is_some() {
        let mut out = [0u8; 8];
        let n = decode_binary(v, &mut out)?;
        let bytes = out.get(..n).unwrap_or(&[]);
        return Ok(bytes.iter().fold(0u64, |a, &b| a << 8 | u64::from(b)));
    }
    parse_number(v)
}

/// Decodes a hex (`0x`) or base64 (`0b`) binary value into `out`; returns
/// the number of bytes. An odd number of hex digits has an implied leading
/// zero nibble. Base64 is RFC 4648 with optional `=` padding. (The decoder
/// is CHAP's, [`super::chap::decode_binary`], with the text module's errors.)
pub fn decode_binary(v: &[u8], out: &mut [u8]) -> Result<usize, ValueError> {
    if v.is_empty() {
        return Err(ValueError::Empty);
    }
    super::chap::decode_binary(v, out).map_err(value_error)
}

/// Encodes `bytes` as a hex-constant (`0x` + two lowercase digits per
/// byte) into `out`; returns the length.
pub fn encode_hex(bytes: &[u8], out: &mut [u8]) -> Result<usize, ValueError> {
    if bytes.is_empty() {
        // CHAP never sends an empty value; a text value may be one.
        out.get_mut(..2)
            .ok_or(ValueError::Overflow)?
            .copy_from_slice(b"0x");
        return Ok(2);
    }
    super::chap::encode_hex(bytes, out).map_err(value_error)
}

fn value_error(e: super::chap::ChapError) -> ValueError {
    use super::chap::ChapError;
    match e {
        ChapError::TooLong | ChapError::BufferTooSmall => ValueError::Overflow,
        _ => ValueError::Syntax,
    }
}

/// Decodes a boolean-value: exactly `Yes` or `No` (RFC 7143 6.1).
pub fn parse_bool(v: &[u8]) -> Result<bool, ValueError> {
    match v {
        b"Yes" => Ok(true),
        b"No" => Ok(false),
        [] => Err(ValueError::Empty),
        _ => Err(ValueError::Syntax),
    }
}

/// The items of a list-of-values (comma separated, RFC 7143 6.1). An empty
/// value yields one empty item.
pub fn list_items(v: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    v.split(|&c| c == b',')
}

/// Whether the list-of-values `v` contains `item`.
pub fn list_contains(v: &[u8], item: &[u8]) -> bool {
    list_items(v).any(|i| i == item)
}

/// Whether `v` is one of the reserved negotiation answers ("NotUnderstood",
/// "Reject", "Irrelevant"), which a party may send only as a response.
pub fn is_reserved_answer(v: &[u8]) -> bool {
    v == NOT_UNDERSTOOD || v == REJECT || v == IRRELEVANT
}

/// Text accumulation overflowed the accumulator's capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccumulatorFull;

/// Collects the data segments of a C-bit sequence (RFC 7143 11.10.2,
/// 11.12.2: a key=value pair may span PDUs) into one text of at most `N`
/// bytes.
#[derive(Clone, Debug)]
pub struct TextAccumulator<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for TextAccumulator<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TextAccumulator<N> {
    /// An empty accumulator.
    pub const fn new() -> Self {
        TextAccumulator {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends one data segment; on overflow nothing is appended.
    pub fn append(&mut self, segment: &[u8]) -> Result<(), AccumulatorFull> {
        let end = self.len.checked_add(segment.len()).ok_or(AccumulatorFull)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(AccumulatorFull)?;
        dst.copy_from_slice(segment);
        self.len = end;
        Ok(())
    }

    /// The text collected so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Starts a new text.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::vec;
    use std::vec::Vec;

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    fn pairs(t: &[u8]) -> Result<Pairs, TextError> {
        TextIter::new(t)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect()
    }

    fn err(t: &[u8]) -> (TextErrorKind, usize) {
        let e = pairs(t).unwrap_err();
        (e.kind, e.offset)
    }

    #[test]
    fn empty_text_has_no_pairs() {
        assert_eq!(pairs(b"").unwrap(), vec![]);
        assert_eq!(validate(b""), Ok(0));
    }

    #[test]
    fn single_pair() {
        assert_eq!(
            pairs(b"HeaderDigest=None\0").unwrap(),
            vec![(b"HeaderDigest".to_vec(), b"None".to_vec())]
        );
    }

    #[test]
    fn several_pairs_in_order() {
        let t = b"InitiatorName=iqn.a\0SessionType=Normal\0AuthMethod=CHAP,None\0";
        let p = pairs(t).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].1, b"CHAP,None");
        assert_eq!(validate(t), Ok(3));
    }

    #[test]
    fn empty_value_allowed() {
        assert_eq!(pairs(b"SendTargets=\0").unwrap()[0].1, b"");
    }

    #[test]
    fn value_may_contain_equals() {
        assert_eq!(pairs(b"X-a=b=c\0").unwrap()[0].1, b"b=c");
    }

    #[test]
    fn missing_equals() {
        assert_eq!(err(b"HeaderDigest\0"), (TextErrorKind::MissingEquals, 0));
        assert_eq!(err(b"A=1\0B\0"), (TextErrorKind::MissingEquals, 4));
    }

    #[test]
    fn empty_pair_is_missing_equals() {
        assert_eq!(err(b"\0"), (TextErrorKind::MissingEquals, 0));
        assert_eq!(err(b"A=1\0\0"), (TextErrorKind::MissingEquals, 4));
    }

    #[test]
    fn empty_key() {
        assert_eq!(err(b"=x\0"), (TextErrorKind::EmptyKey, 0));
    }

    #[test]
    fn key_length_limit() {
        let mut t = vec![b'K'; 63];
        t.extend_from_slice(b"=1\0");
        assert!(pairs(&t).is_ok());
        let mut t = vec![b'K'; 64];
        t.extend_from_slice(b"=1\0");
        assert_eq!(err(&t), (TextErrorKind::KeyTooLong, 0));
    }

    #[test]
    fn key_characters() {
        for ok in [
            &b"a.b-c+d@e_f#9=1\0"[..],
            b"iSCSIProtocolLevel=1\0",
            b"X#NodeArchitecture=x\0",
        ] {
            assert!(pairs(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            &b"A B=1\0"[..],
            b"A/B=1\0",
            b"A:B=1\0",
            b"\xc3\xa9=1\0",
            b"A\tB=1\0",
        ] {
            assert_eq!(err(bad).0, TextErrorKind::BadKeyChar, "{bad:?}");
        }
    }

    #[test]
    fn value_length_limit() {
        let mut t = b"TargetAlias=".to_vec();
        t.extend(std::iter::repeat_n(b'a', 255));
        t.push(0);
        assert!(pairs(&t).is_ok());
        let mut t = b"TargetAlias=".to_vec();
        t.extend(std::iter::repeat_n(b'a', 256));
        t.push(0);
        assert_eq!(err(&t), (TextErrorKind::ValueTooLong, 0));
    }

    #[test]
    fn chap_values_may_be_long() {
        for key in ["CHAP_C", "CHAP_R"] {
            let mut t = format!("{key}=0x").into_bytes();
            t.extend(std::iter::repeat_n(b'a', 2048));
            t.push(0);
            assert!(pairs(&t).is_ok());
            let mut t = format!("{key}=0x").into_bytes();
            t.extend(std::iter::repeat_n(b'a', 2049));
            t.push(0);
            assert_eq!(err(&t).0, TextErrorKind::ValueTooLong);
        }
        let mut t = b"CHAP_N=".to_vec();
        t.extend(std::iter::repeat_n(b'a', 256));
        t.push(0);
        assert_eq!(err(&t).0, TextErrorKind::ValueTooLong);
    }

    #[test]
    fn max_value_len_table() {
        assert_eq!(max_value_len(b"CHAP_C"), 2050);
        assert_eq!(max_value_len(b"CHAP_R"), 2050);
        assert_eq!(max_value_len(b"CHAP_N"), 255);
        assert_eq!(max_value_len(b"InitiatorName"), 255);
    }

    #[test]
    fn missing_final_nul() {
        assert_eq!(err(b"A=1"), (TextErrorKind::MissingNul, 0));
        assert_eq!(err(b"A=1\0B=2"), (TextErrorKind::MissingNul, 4));
    }

    #[test]
    fn pairs_before_error_are_yielded() {
        let mut it = TextIter::new(b"A=1\0B=2");
        assert_eq!(it.next(), Some(Ok((&b"A"[..], &b"1"[..]))));
        assert!(matches!(it.next(), Some(Err(_))));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn duplicate_key() {
        assert_eq!(err(b"A=1\0B=2\0A=3\0"), (TextErrorKind::DuplicateKey, 8));
        assert_eq!(err(b"A=1\0A=1\0"), (TextErrorKind::DuplicateKey, 4));
    }

    #[test]
    fn duplicates_allowed_on_request() {
        let t = b"A=1\0A=2\0";
        let v: Vec<_> = TextIter::new(t)
            .allow_duplicates()
            .map(|r| r.unwrap().1)
            .collect();
        assert_eq!(v, vec![&b"1"[..], b"2"]);
    }

    #[test]
    fn keys_are_case_sensitive() {
        assert!(pairs(b"A=1\0a=1\0").is_ok());
        assert!(pairs(b"AB=1\0A=1\0").is_ok());
    }

    #[test]
    fn find_value() {
        let t = b"A=1\0B=2\0";
        assert_eq!(find(t, b"B"), Some(&b"2"[..]));
        assert_eq!(find(t, b"C"), None);
        assert_eq!(find(b"A=1\0X", b"X"), None);
    }

    #[test]
    fn error_display() {
        let e = TextError {
            kind: TextErrorKind::DuplicateKey,
            offset: 7,
        };
        assert_eq!(std::format!("{e}"), "key given twice at offset 7");
    }

    #[test]
    fn writer_push() {
        let mut b = [0u8; 32];
        let mut w = TextWriter::new(&mut b);
        assert!(w.is_empty());
        w.push(b"A", b"1").unwrap();
        w.push(b"Bb", b"").unwrap();
        assert_eq!(w.as_bytes(), b"A=1\0Bb=\0");
        assert_eq!(w.len(), 8);
        assert_eq!(w.remaining(), 24);
    }

    #[test]
    fn writer_full_is_atomic() {
        let mut b = [0xaau8; 8];
        let mut w = TextWriter::new(&mut b);
        w.push(b"A", b"1").unwrap();
        assert_eq!(w.push(b"B", b"22"), Err(TextFull));
        assert_eq!(w.len(), 4);
        w.push(b"B", b"2").unwrap();
        assert_eq!(w.as_bytes(), b"A=1\0B=2\0");
        assert_eq!(w.push(b"", b""), Err(TextFull));
    }

    #[test]
    fn writer_exact_fit() {
        let mut b = [0u8; 4];
        let mut w = TextWriter::new(&mut b);
        w.push(b"A", b"1").unwrap();
        assert_eq!(w.remaining(), 0);
    }

    #[test]
    fn writer_numbers_and_bools() {
        let mut b = [0u8; 64];
        let mut w = TextWriter::new(&mut b);
        w.push_u64(b"N", 0).unwrap();
        w.push_u64(b"M", u64::MAX).unwrap();
        w.push_bool(b"Y", true).unwrap();
        w.push_bool(b"Z", false).unwrap();
        assert_eq!(w.as_bytes(), b"N=0\0M=18446744073709551615\0Y=Yes\0Z=No\0");
    }

    #[test]
    fn writer_fmt() {
        let mut b = [0u8; 40];
        let mut w = TextWriter::new(&mut b);
        w.push_fmt(
            b"TargetAddress",
            format_args!("{}:{},{}", "10.0.0.1", 3260, 1),
        )
        .unwrap();
        assert_eq!(w.as_bytes(), b"TargetAddress=10.0.0.1:3260,1\0");
    }

    #[test]
    fn writer_fmt_full_is_atomic() {
        let mut b = [0u8; 16];
        let mut w = TextWriter::new(&mut b);
        w.push(b"A", b"1").unwrap();
        assert_eq!(
            w.push_fmt(b"TargetAddress", format_args!("{}", 1)),
            Err(TextFull)
        );
        assert_eq!(w.as_bytes(), b"A=1\0");
        // Exactly fitting: "K=123456789\0" is 12 bytes.
        w.push_fmt(b"K", format_args!("{}", 123456789)).unwrap();
        assert_eq!(w.remaining(), 0);
        assert_eq!(w.push_fmt(b"K", format_args!("")), Err(TextFull));
    }

    #[test]
    fn writer_clear() {
        let mut b = [0u8; 8];
        let mut w = TextWriter::new(&mut b);
        w.push(b"A", b"1").unwrap();
        w.clear();
        assert!(w.is_empty());
        assert_eq!(w.as_bytes(), b"");
    }

    #[test]
    fn format_u64_values() {
        let mut t = [0u8; 20];
        assert_eq!(format_u64(0, &mut t), b"0");
        assert_eq!(format_u64(8192, &mut t), b"8192");
        assert_eq!(format_u64(u64::MAX, &mut t), b"18446744073709551615");
    }

    #[test]
    fn decimal() {
        let cases: &[(&[u8], Result<u64, ValueError>)] = &[
            (b"0", Ok(0)),
            (b"1", Ok(1)),
            (b"8192", Ok(8192)),
            (b"18446744073709551615", Ok(u64::MAX)),
            (b"18446744073709551616", Err(ValueError::Overflow)),
            (b"", Err(ValueError::Empty)),
            (b"01", Err(ValueError::Syntax)),
            (b"00", Err(ValueError::Syntax)),
            (b"-1", Err(ValueError::Syntax)),
            (b"+1", Err(ValueError::Syntax)),
            (b"1a", Err(ValueError::Syntax)),
            (b" 1", Err(ValueError::Syntax)),
        ];
        for (v, want) in cases {
            assert_eq!(parse_decimal(v), *want, "{v:?}");
        }
    }

    #[test]
    fn numbers() {
        let cases: &[(&[u8], Result<u64, ValueError>)] = &[
            (b"262144", Ok(262144)),
            (b"0x10", Ok(16)),
            (b"0X10", Ok(16)),
            (b"0xfF", Ok(255)),
            (b"0x0000000000000000001", Ok(1)),
            (b"0xffffffffffffffff", Ok(u64::MAX)),
            (b"0x10000000000000000", Err(ValueError::Overflow)),
            (b"0x", Err(ValueError::Syntax)),
            (b"0xg", Err(ValueError::Syntax)),
            (b"0b", Err(ValueError::Syntax)),
            (b"0bAQ==", Err(ValueError::Syntax)),
            (b"Yes", Err(ValueError::Syntax)),
            (b"", Err(ValueError::Empty)),
        ];
        for (v, want) in cases {
            assert_eq!(parse_number(v), *want, "{v:?}");
        }
    }

    #[test]
    fn regular_binary() {
        let cases: &[(&[u8], Result<u64, ValueError>)] = &[
            (b"1", Ok(1)),
            (b"0x0101", Ok(257)),
            (b"0bAQ==", Ok(1)),
            (b"0bAQE=", Ok(257)),
            (b"0bAQE", Ok(257)),
            (b"0b//////////8=", Ok(u64::MAX)),
            (b"0bAAAAAAAAAAAA", Err(ValueError::Overflow)),
            (b"0b", Err(ValueError::Syntax)),
            (b"0b*", Err(ValueError::Syntax)),
        ];
        for (v, want) in cases {
            assert_eq!(parse_regular_binary(v), *want, "{v:?}");
        }
    }

    #[test]
    fn binary_hex() {
        let mut o = [0u8; 4];
        assert_eq!(decode_binary(b"0x0aFf", &mut o), Ok(2));
        assert_eq!(&o[..2], &[0x0a, 0xff]);
        assert_eq!(decode_binary(b"0xabc", &mut o), Ok(2));
        assert_eq!(&o[..2], &[0x0a, 0xbc]);
        assert_eq!(decode_binary(b"0x1", &mut o), Ok(1));
        assert_eq!(o[0], 1);
        assert_eq!(
            decode_binary(b"0x0102030405", &mut o),
            Err(ValueError::Overflow)
        );
        assert_eq!(decode_binary(b"0x01g2", &mut o), Err(ValueError::Syntax));
        assert_eq!(decode_binary(b"0x", &mut o), Err(ValueError::Syntax));
        assert_eq!(decode_binary(b"", &mut o), Err(ValueError::Empty));
        assert_eq!(decode_binary(b"1234", &mut o), Err(ValueError::Syntax));
    }

    #[test]
    fn binary_base64() {
        let mut o = [0u8; 16];
        // RFC 4648 10 test vectors.
        let cases: &[(&[u8], &[u8])] = &[
            (b"0bZg==", b"f"),
            (b"0bZm8=", b"fo"),
            (b"0bZm9v", b"foo"),
            (b"0bZm9vYg==", b"foob"),
            (b"0bZm9vYmE=", b"fooba"),
            (b"0bZm9vYmFy", b"foobar"),
            (b"0BZm9vYmFy", b"foobar"),
            (b"0bZm9vYg", b"foob"),
        ];
        for (v, want) in cases {
            let n = decode_binary(v, &mut o).unwrap();
            assert_eq!(&o[..n], *want, "{v:?}");
        }
        for bad in [
            &b"0bZ"[..],
            b"0bZg=",
            b"0bZ===",
            b"0b====",
            b"0bZg==Zg==",
            b"0bZm9v!",
        ] {
            assert_eq!(
                decode_binary(bad, &mut o),
                Err(ValueError::Syntax),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode_binary(b"0bZm9vYmFy", &mut o[..5]),
            Err(ValueError::Overflow)
        );
    }

    #[test]
    fn hex_encode() {
        let mut o = [0u8; 8];
        assert_eq!(encode_hex(&[0x01, 0xab, 0xff], &mut o), Ok(8));
        assert_eq!(&o, b"0x01abff");
        assert_eq!(encode_hex(&[], &mut o), Ok(2));
        assert_eq!(encode_hex(&[1, 2, 3, 4], &mut o), Err(ValueError::Overflow));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(b"Yes"), Ok(true));
        assert_eq!(parse_bool(b"No"), Ok(false));
        assert_eq!(parse_bool(b"yes"), Err(ValueError::Syntax));
        assert_eq!(parse_bool(b"NO"), Err(ValueError::Syntax));
        assert_eq!(parse_bool(b""), Err(ValueError::Empty));
    }

    #[test]
    fn lists() {
        let v: Vec<&[u8]> = list_items(b"CRC32C,None").collect();
        assert_eq!(v, vec![&b"CRC32C"[..], b"None"]);
        assert_eq!(list_items(b"").count(), 1);
        assert_eq!(list_items(b"a,,b").count(), 3);
        assert!(list_contains(b"CHAP,None", b"None"));
        assert!(!list_contains(b"CHAP,None", b"Non"));
    }

    #[test]
    fn reserved_answers() {
        assert!(is_reserved_answer(b"Reject"));
        assert!(is_reserved_answer(b"Irrelevant"));
        assert!(is_reserved_answer(b"NotUnderstood"));
        assert!(!is_reserved_answer(b"None"));
    }

    #[test]
    fn accumulator() {
        let mut a = TextAccumulator::<8>::new();
        assert!(a.is_empty());
        a.append(b"A=1").unwrap();
        a.append(b"\0B=").unwrap();
        assert_eq!(a.append(b"123"), Err(AccumulatorFull));
        assert_eq!(a.as_bytes(), b"A=1\0B=");
        a.append(b"1\0").unwrap();
        assert_eq!(a.len(), 8);
        assert_eq!(a.capacity(), 8);
        assert_eq!(validate(a.as_bytes()), Ok(2));
        a.clear();
        assert!(a.is_empty());
        assert_eq!(TextAccumulator::<4>::default().len(), 0);
    }

    #[test]
    fn pair_split_across_segments() {
        let mut a = TextAccumulator::<64>::new();
        for seg in [&b"Initia"[..], b"torName=iqn.x", b"\0"] {
            a.append(seg).unwrap();
        }
        assert_eq!(find(a.as_bytes(), b"InitiatorName"), Some(&b"iqn.x"[..]));
    }

    #[test]
    fn key_char_table() {
        for c in b"azAZ09.-+@_#" {
            assert!(is_key_char(*c), "{c}");
        }
        for c in b" =\0/:,;[]\x80" {
            assert!(!is_key_char(*c), "{c}");
        }
    }

    #[test]
    fn error_offset_of_later_pair() {
        let mut t = b"A=1\0".to_vec();
        t.extend(std::iter::repeat_n(b'K', 64));
        t.extend_from_slice(b"=1\0");
        assert_eq!(err(&t), (TextErrorKind::KeyTooLong, 4));
        assert_eq!(err(b"A=1\0B?=2\0"), (TextErrorKind::BadKeyChar, 4));
    }

    #[test]
    fn hex_numbers_with_leading_zeros() {
        assert_eq!(parse_number(b"0x00ff"), Ok(255));
        assert_eq!(parse_number(b"0x0"), Ok(0));
        assert_eq!(parse_number(b"0x00000000000000000"), Ok(0));
    }

    #[test]
    fn format_u64_powers_of_ten() {
        let mut t = [0u8; 20];
        let mut n = 1u64;
        for digits in 1..=20 {
            assert_eq!(format_u64(n, &mut t).len(), digits);
            n = n.saturating_mul(10);
        }
    }

    #[test]
    fn binary_value_errors_display() {
        assert_eq!(format!("{}", ValueError::Overflow), "value too large");
        assert_eq!(format!("{}", ValueError::Empty), "empty value");
        assert_eq!(format!("{}", TextFull), "text buffer full");
    }

    #[test]
    fn truncate_to() {
        let mut b = [0u8; 16];
        let mut w = TextWriter::new(&mut b);
        w.push(b"A", b"1").unwrap();
        let mark = w.len();
        w.push(b"B", b"2").unwrap();
        w.truncate_to(mark);
        assert_eq!(w.as_bytes(), b"A=1\0");
        w.truncate_to(100);
        assert_eq!(w.len(), 4);
    }

    #[test]
    fn validate_counts_pairs() {
        assert_eq!(validate(b"A=\0B=\0C=\0"), Ok(3));
        assert_eq!(
            validate(b"A=\0A=\0").unwrap_err().kind,
            TextErrorKind::DuplicateKey
        );
    }

    proptest::proptest! {
        #[test]
        fn iter_never_panics(t in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let mut n = 0;
            for r in TextIter::new(&t) {
                if let Ok((k, v)) = r {
                    proptest::prop_assert!(!k.is_empty() && k.len() <= MAX_KEY_LEN);
                    proptest::prop_assert!(v.len() <= max_value_len(k));
                    proptest::prop_assert!(!v.contains(&0));
                }
                n += 1;
                proptest::prop_assert!(n <= t.len());
            }
        }

        #[test]
        fn writer_roundtrip(
            kv in proptest::collection::vec(("[A-Za-z0-9._@+-]{1,20}", "[ -~]{0,40}"), 0..20),
            cap in 0usize..400,
        ) {
            let mut buf = std::vec![0u8; cap];
            let mut w = TextWriter::new(&mut buf);
            let mut written = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (k, v) in &kv {
                if !seen.insert(k.clone()) { continue; }
                if w.push(k.as_bytes(), v.as_bytes()).is_ok() {
                    written.push((k.as_bytes().to_vec(), v.as_bytes().to_vec()));
                }
                proptest::prop_assert!(w.len() <= cap);
            }
            let got = pairs(w.as_bytes()).unwrap();
            proptest::prop_assert_eq!(got, written);
        }

        #[test]
        fn number_roundtrip(n in proptest::prelude::any::<u64>()) {
            let mut t = [0u8; 20];
            proptest::prop_assert_eq!(parse_number(format_u64(n, &mut t)), Ok(n));
            let h = std::format!("0x{n:x}");
            proptest::prop_assert_eq!(parse_number(h.as_bytes()), Ok(n));
        }

        #[test]
        fn hex_roundtrip(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut enc = [0u8; 130];
            let n = encode_hex(&b, &mut enc).unwrap();
            let mut dec = [0u8; 64];
            if b.is_empty() {
                proptest::prop_assert_eq!(decode_binary(&enc[..n], &mut dec), Err(ValueError::Syntax));
            } else {
                let m = decode_binary(&enc[..n], &mut dec).unwrap();
                proptest::prop_assert_eq!(&dec[..m], &b[..]);
            }
        }

        #[test]
        fn value_parsers_never_panic(v in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let mut o = [0u8; 8];
            let _ = parse_number(&v);
            let _ = parse_regular_binary(&v);
            if let Ok(n) = decode_binary(&v, &mut o) {
                proptest::prop_assert!(n <= 8);
            }
            let _ = parse_bool(&v);
        }
    }
}
