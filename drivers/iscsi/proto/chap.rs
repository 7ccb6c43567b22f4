// SPDX-License-Identifier: GPL-2.0

//! CHAP authentication for the iSCSI login (RFC 7143 section 12.1.3, RFC 1994).
//!
//! CHAP with MD5 (`CHAP_A=5`) is the authentication method every iSCSI
//! implementation must support. The exchange in the login's security
//! negotiation stage, as seen by the target:
//!
//! ```text
//! initiator -> target   CHAP_A=<A1,A2,...>          ChapTarget::start
//! target -> initiator   CHAP_A=5 CHAP_I=<I> CHAP_C=<C>  ChapTarget::write_challenge_keys
//! initiator -> target   CHAP_N=<N> CHAP_R=<R>       ChapTarget::verify_initiator
//!                       [CHAP_I=<I2> CHAP_C=<C2>]   ChapTarget::mutual_response
//! target -> initiator   [CHAP_N=<our name> CHAP_R=<R2>]
//! ```
//!
//! `N` is a text-value, `A` and `I` are numbers (RFC 7143 section 6.1
//! numerical-value: a decimal-constant or a hex-constant), `C` and `R` are
//! binary-values in hex (`0x`/`0X`) or base64 (`0b`/`0B`) encoding whose
//! binary length must not exceed [`MAX_BINARY_LEN`] (1024) bytes. The response
//! is `MD5(I || secret || C)` (RFC 1994 section 4.1), see [`response`].
//!
//! This module does only the CHAP arithmetic and checks; the login state
//! machine splits the key=value text and maps each [`ChapError`] to a Login
//! response status with [`ChapError::login_status`] (RFC 7143 section
//! 11.13.5): `0x0201` authentication failure, `0x0207` missing parameter,
//! `0x0200` initiator error (malformed values, keys out of sequence), or
//! closes the connection when [`ChapError::closes_connection`] says so.
//!
//! # Security rules enforced (RFC 7143 section 9.2.1, "CHAP Considerations")
//!
//! - An initiator challenge equal to the one the target sent (a reflection
//!   attack on mutual CHAP) is refused with [`ChapError::ReflectedChallenge`],
//!   and the connection must be closed.
//! - Challenges and responses longer than 1024 bytes, empty values and
//!   responses that are not exactly 16 bytes are refused.
//! - Responses are compared in constant time.
//! - One attempt per login: after any error the [`ChapTarget`] stays failed.
//! - [`check_secret`] and [`check_secret_pair`] implement the configuration
//!   rules (96-bit minimum without IPsec, distinct secrets per direction); the
//!   configuration interface should apply them when secrets are set.
//!
//! The target's challenge and identifier come from the caller (the kernel
//! fills them from `get_random_bytes()`), so this module has no entropy source
//! of its own. Use [`CHALLENGE_LEN`] (16) bytes of fresh randomness and a fresh
//! identifier for every login.

use super::md5::{Md5, DIGEST_LEN};

/// `CHAP_A` value of CHAP with MD5, the one algorithm supported (RFC 1994).
pub const CHAP_MD5: u8 = 5;

/// Largest binary length of `CHAP_C` and `CHAP_R` (RFC 7143 section 12.1.3:
/// "Their binary length ... MUST NOT exceed 1024 bytes").
pub const MAX_BINARY_LEN: usize = 1024;

/// Recommended length of the target's challenge in bytes (128 random bits,
/// the same length as the MD5 response; LIO also sends 16).
pub const CHALLENGE_LEN: usize = 16;

/// Longest own challenge a [`ChapTarget`] accepts from its caller.
pub const MAX_TARGET_CHALLENGE_LEN: usize = 64;

const _: () = assert!(CHALLENGE_LEN <= MAX_TARGET_CHALLENGE_LEN);

/// Minimum CHAP secret length in bytes (96 bits).
///
/// RFC 7143 section 9.2.1 (referenced from 12.1.3): an administrative entity
/// that uses CHAP with a secret of fewer than 96 random bits MUST enforce
/// IPsec encryption on the connection; implementations MUST support random
/// secrets of up to 128 bits. See [`check_secret`].
pub const MIN_SECRET_LEN: usize = 12;

/// Length of a CHAP/MD5 response in bytes.
pub const RESPONSE_LEN: usize = DIGEST_LEN;

/// Length of a response in the hex text form `0x` + 32 digits, the size of
/// the output buffer [`ChapTarget::mutual_response`] needs.
pub const RESPONSE_HEX_LEN: usize = 2 + 2 * RESPONSE_LEN;

/// Longest value [`ChapTarget::write_challenge_keys`] writes: the three keys
/// with a [`MAX_TARGET_CHALLENGE_LEN`]-byte challenge in hex.
pub const MAX_CHALLENGE_KEYS_LEN: usize =
    b"CHAP_A=5\0CHAP_I=255\0CHAP_C=0x\0".len() + 2 * MAX_TARGET_CHALLENGE_LEN;

/// Login status "Initiator error" (class 2, detail 0x00; RFC 7143 11.13.5).
pub const STATUS_INITIATOR_ERROR: u16 = 0x0200;
/// Login status "Authentication failure" (class 2, detail 0x01).
pub const STATUS_AUTH_FAILURE: u16 = 0x0201;
/// Login status "Missing parameter" (class 2, detail 0x07).
pub const STATUS_MISSING_PARAMETER: u16 = 0x0207;
/// Login status "Target error" (class 3, detail 0x00).
pub const STATUS_TARGET_ERROR: u16 = 0x0300;

/// The CHAP text keys (RFC 7143 section 12.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChapKey {
    /// `CHAP_A`: algorithm list / selected algorithm.
    A,
    /// `CHAP_I`: identifier.
    I,
    /// `CHAP_C`: challenge.
    C,
    /// `CHAP_N`: name.
    N,
    /// `CHAP_R`: response.
    R,
}

impl ChapKey {
    /// The key name as it appears on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Self::A => "CHAP_A",
            Self::I => "CHAP_I",
            Self::C => "CHAP_C",
            Self::N => "CHAP_N",
            Self::R => "CHAP_R",
        }
    }
}

/// Why a CHAP value or step was refused.
///
/// [`ChapError::login_status`] gives the Login response status to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChapError {
    /// The value is empty or has no digits after its `0x`/`0b` prefix, or the
    /// binary value decodes to zero bytes. Initiator error.
    Empty,
    /// A binary-value that does not start with `0x`, `0X`, `0b` or `0B`
    /// (decimal is not allowed for `CHAP_C`/`CHAP_R`). Initiator error.
    BadPrefix,
    /// A character that is not a hex or base64 digit. Initiator error.
    BadDigit,
    /// Malformed base64 padding: misplaced or too many `=`, a length that
    /// cannot come from whole bytes, or non-zero unused trailing bits (RFC
    /// 4648 section 3.5). Initiator error.
    BadPadding,
    /// The decoded value does not fit the output buffer, or a challenge is
    /// longer than [`MAX_BINARY_LEN`]. Initiator error.
    TooLong,
    /// `CHAP_I` is not a numerical-value in 0..=255 (RFC 7143 section 6.1:
    /// decimal without leading zeros, or `0x` hex). Initiator error.
    BadNumber,
    /// A required key is absent. Missing parameter (0x0207).
    Missing(ChapKey),
    /// A CHAP step arrived out of sequence (e.g. `CHAP_R` before `CHAP_A`),
    /// or after the exchange already failed or finished. Initiator error.
    OutOfOrder,
    /// The initiator's `CHAP_A` list does not offer MD5 (5). Authentication
    /// failure.
    NoAlgorithm,
    /// `CHAP_N` is not the expected name. Authentication failure.
    NameMismatch,
    /// `CHAP_R` does not decode to exactly 16 bytes. Authentication failure.
    BadResponseLength,
    /// `CHAP_R` is not the expected response. Authentication failure.
    ResponseMismatch,
    /// The initiator asked for target authentication (mutual CHAP) but no
    /// target secret is configured: RFC 7143 section 12.1.3 "target
    /// authentication is not supported" is an authentication failure.
    MutualNotConfigured,
    /// The initiator's `CHAP_C` equals the challenge the target sent (RFC
    /// 7143 section 9.2.1: responders MUST check for this and close the TCP
    /// connection). Authentication failure, and close the connection.
    ReflectedChallenge,
    /// A configured secret is shorter than allowed ([`check_secret`]; an
    /// empty secret is always refused). Authentication failure.
    SecretTooShort,
    /// The same secret is configured for both directions ([`check_secret_pair`]).
    /// Authentication failure.
    SameSecret,
    /// A caller-supplied output buffer is too small, or there is nothing to
    /// encode. Target error (a bug on our side, not the initiator's).
    BufferTooSmall,
    /// The challenge given to [`ChapTarget::new`] is empty or longer than
    /// [`MAX_TARGET_CHALLENGE_LEN`]. Target error.
    BadLocalChallenge,
}

impl ChapError {
    /// The Login response status (class << 8 | detail, RFC 7143 11.13.5).
    pub const fn login_status(self) -> u16 {
        match self {
            Self::Empty
            | Self::BadPrefix
            | Self::BadDigit
            | Self::BadPadding
            | Self::TooLong
            | Self::BadNumber
            | Self::OutOfOrder => STATUS_INITIATOR_ERROR,
            Self::Missing(_) => STATUS_MISSING_PARAMETER,
            Self::NoAlgorithm
            | Self::NameMismatch
            | Self::BadResponseLength
            | Self::ResponseMismatch
            | Self::MutualNotConfigured
            | Self::ReflectedChallenge
            | Self::SecretTooShort
            | Self::SameSecret => STATUS_AUTH_FAILURE,
            Self::BufferTooSmall | Self::BadLocalChallenge => STATUS_TARGET_ERROR,
        }
    }

    /// Whether the RFC requires closing the TCP connection (after the Login
    /// reject, if one is sent at all).
    pub const fn closes_connection(self) -> bool {
        matches!(self, Self::ReflectedChallenge)
    }

    /// A short description for the kernel log.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Empty => "empty value",
            Self::BadPrefix => "binary value without 0x/0b prefix",
            Self::BadDigit => "invalid hex or base64 digit",
            Self::BadPadding => "malformed base64 padding",
            Self::TooLong => "value too long",
            Self::BadNumber => "invalid number",
            Self::Missing(_) => "missing CHAP key",
            Self::OutOfOrder => "CHAP key out of sequence",
            Self::NoAlgorithm => "CHAP_A does not offer MD5",
            Self::NameMismatch => "unknown CHAP_N",
            Self::BadResponseLength => "CHAP_R is not 16 bytes",
            Self::ResponseMismatch => "wrong CHAP_R",
            Self::MutualNotConfigured => "mutual CHAP requested but not configured",
            Self::ReflectedChallenge => "initiator reflected the target's CHAP_C",
            Self::SecretTooShort => "CHAP secret too short",
            Self::SameSecret => "same CHAP secret in both directions",
            Self::BufferTooSmall => "output buffer too small",
            Self::BadLocalChallenge => "bad target challenge length",
        }
    }
}

// ---------------------------------------------------------------------------
// Binary-value encodings (RFC 7143 section 6.1)
// ---------------------------------------------------------------------------

/// The encoding of a binary-value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Hex,
    Base64,
}

/// Splits the `0x`/`0X`/`0b`/`0B` prefix off a binary-value.
fn split_prefix(value: &[u8]) -> Result<(Encoding, &[u8]), ChapError> {
    match value {
        [] => Err(ChapError::Empty),
        [b'0', b'x' | b'X', rest @ ..] => Ok((Encoding::Hex, rest)),
        [b'0', b'b' | b'B', rest @ ..] => Ok((Encoding::Base64, rest)),
        _ => Err(ChapError::BadPrefix),
    }
}

/// Value of one hex digit.
const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Value of one base64 digit (RFC 4648 section 4, standard alphabet).
const fn b64_digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Lowercase hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";
/// The base64 alphabet (RFC 4648 section 4).
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Splits base64 digits into data digits and the number of `=` pad
/// characters, checking the padding rules.
fn b64_split(digits: &[u8]) -> Result<&[u8], ChapError> {
    let data_len = digits.iter().rposition(|&c| c != b'=').map_or(0, |p| p + 1);
    let (data, pad) = digits.split_at(data_len);
    if data.is_empty() {
        return Err(ChapError::Empty);
    }
    if pad.len() > 2 || data.contains(&b'=') {
        return Err(ChapError::BadPadding);
    }
    if data.iter().any(|&c| b64_digit(c).is_none()) {
        return Err(ChapError::BadDigit);
    }
    // Unpadded input is accepted (some initiators omit `=`); when padding is
    // present the whole must be a multiple of 4 characters.
    if data.len() % 4 == 1 || (!pad.is_empty() && (data.len() + pad.len()) % 4 != 0) {
        return Err(ChapError::BadPadding);
    }
    Ok(data)
}

/// Validates a binary-value completely and returns its decoded length.
///
/// Hex: `n` digits give `(n + 1) / 2` bytes, an odd count implying a leading
/// zero digit (RFC 7143 section 6.1). Base64: RFC 4648 section 4, standard
/// alphabet, padding optional but correct if present, unused trailing bits
/// must be zero.
pub fn decoded_len(value: &[u8]) -> Result<usize, ChapError> {
    let (enc, digits) = split_prefix(value)?;
    match enc {
        Encoding::Hex => {
            if digits.is_empty() {
                return Err(ChapError::Empty);
            }
            if digits.iter().any(|&c| hex_digit(c).is_none()) {
                return Err(ChapError::BadDigit);
            }
            Ok(digits.len() / 2 + digits.len() % 2)
        }
        Encoding::Base64 => {
            let data = b64_split(digits)?;
            let rem = data.len() % 4;
            // Bits of the last digit that carry no data must be zero.
            let last = data.last().and_then(|&c| b64_digit(c)).unwrap_or(0);
            let unused_mask = match rem {
                2 => 0x0f,
                3 => 0x03,
                _ => 0,
            };
            if last & unused_mask != 0 {
                return Err(ChapError::BadPadding);
            }
            Ok(data.len() / 4 * 3 + rem.saturating_sub(1))
        }
    }
}

/// Decodes a validated binary-value, passing each byte to `sink`; returns
/// the byte count.
fn decode_each(value: &[u8], mut sink: impl FnMut(u8)) -> Result<usize, ChapError> {
    let len = decoded_len(value)?;
    let (enc, digits) = split_prefix(value)?;
    match enc {
        Encoding::Hex => {
            let (first, rest) = digits.split_at(digits.len() % 2);
            if let Some(&c) = first.first() {
                sink(hex_digit(c).unwrap_or(0));
            }
            for pair in rest.chunks_exact(2) {
                if let [hi, lo] = *pair {
                    sink(hex_digit(hi).unwrap_or(0) << 4 | hex_digit(lo).unwrap_or(0));
                }
            }
        }
        Encoding::Base64 => {
            let data = b64_split(digits)?;
            for quad in data.chunks(4) {
                let mut acc: u32 = 0;
                for &c in quad {
                    acc = acc << 6 | u32::from(b64_digit(c).unwrap_or(0));
                }
                // A chunk of k digits holds k - 1 bytes (k = 4: 3 bytes).
                let bits = 6 * quad.len();
                let nbytes = quad.len().saturating_sub(1);
                for i in 0..nbytes {
                    let shift = bits - 8 * (i + 1);
                    sink((acc >> shift) as u8);
                }
            }
        }
    }
    Ok(len)
}

/// Decodes a binary-value (`0x`/`0X` hex or `0b`/`0B` base64, RFC 7143
/// section 6.1) into `out`, returning the byte count.
///
/// Odd hex digit counts are allowed (`0x123` is `01 23`). Errors: empty value
/// or no digits ([`ChapError::Empty`]), no prefix ([`ChapError::BadPrefix`],
/// decimal is not a binary encoding), a bad digit, bad base64 padding, or a
/// result longer than `out` ([`ChapError::TooLong`]); `out` is unchanged on
/// error.
pub fn decode_binary(value: &[u8], out: &mut [u8]) -> Result<usize, ChapError> {
    if decoded_len(value)? > out.len() {
        return Err(ChapError::TooLong);
    }
    let mut it = out.iter_mut();
    decode_each(value, |b| {
        if let Some(d) = it.next() {
            *d = b;
        }
    })
}

/// Writes `bytes` as a hex-constant: `0x` and two lowercase digits per byte.
///
/// Returns the length written; [`ChapError::BufferTooSmall`] if `out` is
/// shorter than `2 + 2 * bytes.len()` or `bytes` is empty (`0x` alone is not a
/// valid value).
pub fn encode_hex(bytes: &[u8], out: &mut [u8]) -> Result<usize, ChapError> {
    let need = bytes
        .len()
        .checked_mul(2)
        .and_then(|n| n.checked_add(2))
        .ok_or(ChapError::BufferTooSmall)?;
    if bytes.is_empty() || need > out.len() {
        return Err(ChapError::BufferTooSmall);
    }
    let (prefix, digits) = out.split_at_mut(2);
    prefix.copy_from_slice(b"0x");
    // Index loops rather than zipped chunk iterators: the latter leave
    // panic paths that objtool flags in the kernel build.
    for (i, &b) in bytes.iter().enumerate() {
        digits[2 * i] = HEX[usize::from(b >> 4)];
        digits[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    Ok(need)
}

/// Writes `bytes` as a base64-constant: `0b` and padded RFC 4648 base64.
///
/// Returns the length written (`2 + 4 * ceil(len / 3)`);
/// [`ChapError::BufferTooSmall`] if `out` is too short or `bytes` is empty.
pub fn encode_base64(bytes: &[u8], out: &mut [u8]) -> Result<usize, ChapError> {
    let need = bytes
        .len()
        .div_ceil(3)
        .checked_mul(4)
        .and_then(|n| n.checked_add(2))
        .ok_or(ChapError::BufferTooSmall)?;
    if bytes.is_empty() || need > out.len() {
        return Err(ChapError::BufferTooSmall);
    }
    let (prefix, digits) = out.split_at_mut(2);
    prefix.copy_from_slice(b"0b");
    for (q, chunk) in bytes.chunks(3).enumerate() {
        let quad = &mut digits[4 * q..4 * q + 4];
        let mut acc = [0u8; 3];
        acc[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(acc[0]) << 16 | u32::from(acc[1]) << 8 | u32::from(acc[2]);
        for (i, d) in quad.iter_mut().enumerate() {
            *d = if i <= chunk.len() {
                B64[((n >> (18 - 6 * i)) & 0x3f) as usize]
            } else {
                b'='
            };
        }
    }
    Ok(need)
}

/// Parses a numerical-value (RFC 7143 section 6.1): a decimal-constant (`0`
/// or a non-zero digit followed by digits, so no leading zeros) or a
/// hex-constant (`0x`/`0X` and at least one digit). `None` if malformed or
/// larger than `max`.
fn parse_number(value: &[u8], max: u64) -> Option<u64> {
    let (radix, digits) = match value {
        [b'0', b'x' | b'X', rest @ ..] => (16, rest),
        [b'0'] => return Some(0),
        [b'1'..=b'9', ..] => (10, value),
        _ => return None,
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        let d = match radix {
            16 => hex_digit(c)?,
            _ if c.is_ascii_digit() => c - b'0',
            _ => return None,
        };
        n = n.checked_mul(radix)?.checked_add(u64::from(d))?;
        if n > max {
            return None;
        }
    }
    Some(n)
}

/// Parses a `CHAP_I` value: a decimal (no leading zeros) or `0x` hex number
/// in 0..=255. Anything else is [`ChapError::BadNumber`].
pub fn parse_id(value: &[u8]) -> Result<u8, ChapError> {
    parse_number(value, u64::from(u8::MAX))
        .and_then(|n| u8::try_from(n).ok())
        .ok_or(ChapError::BadNumber)
}

/// Picks the algorithm from an initiator's `CHAP_A` list.
///
/// The list is comma-separated numbers in order of preference; values we do
/// not know (other numbers, malformed or empty items) are skipped. Returns
/// `Some(`[`CHAP_MD5`]`)` if MD5 is offered (RFC 7143 section 12.1.3 requires
/// initiators to always offer it), else `None`.
pub fn select_algorithm(chap_a_value: &[u8]) -> Option<u8> {
    chap_a_value
        .split(|&c| c == b',')
        .any(|item| parse_number(item, u64::from(u8::MAX)) == Some(u64::from(CHAP_MD5)))
        .then_some(CHAP_MD5)
}

/// The CHAP/MD5 response `MD5(id || secret || challenge)` (RFC 1994 4.1).
pub fn response(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; RESPONSE_LEN] {
    let mut h = Md5::new();
    h.update(&[id]);
    h.update(secret);
    h.update(challenge);
    h.finish()
}

/// Compares two responses without an early exit, so the time taken does not
/// depend on where they first differ.
fn ct_eq(a: &[u8; RESPONSE_LEN], b: &[u8; RESPONSE_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

/// Checks an initiator's `CHAP_R` value against the expected response to
/// `(id, secret, challenge)`.
///
/// The value must decode ([`decode_binary`] errors pass through, except that
/// anything longer than 16 bytes is [`ChapError::BadResponseLength`]) to
/// exactly 16 bytes, which are compared in constant time
/// ([`ChapError::ResponseMismatch`]).
pub fn verify(
    id: u8,
    secret: &[u8],
    challenge: &[u8],
    chap_r_value: &[u8],
) -> Result<(), ChapError> {
    let mut got = [0u8; RESPONSE_LEN];
    let n = match decode_binary(chap_r_value, &mut got) {
        Err(ChapError::TooLong) => return Err(ChapError::BadResponseLength),
        r => r?,
    };
    if n != RESPONSE_LEN {
        return Err(ChapError::BadResponseLength);
    }
    if ct_eq(&got, &response(id, secret, challenge)) {
        Ok(())
    } else {
        Err(ChapError::ResponseMismatch)
    }
}

/// Checks a secret being configured: at least [`MIN_SECRET_LEN`] bytes
/// (RFC 7143 section 9.2.1: fewer than 96 random bits needs IPsec, which this
/// target does not provide). [`ChapError::SecretTooShort`] otherwise.
pub fn check_secret(secret: &[u8]) -> Result<(), ChapError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(ChapError::SecretTooShort);
    }
    Ok(())
}

/// Checks the secrets of both directions: each passes [`check_secret`] and
/// they differ (RFC 7143 section 9.2.1: a secret used to authenticate
/// initiators MUST NOT be configured to authenticate any target, which is
/// what makes a reflected exchange useless).
pub fn check_secret_pair(initiator_secret: &[u8], target_secret: &[u8]) -> Result<(), ChapError> {
    check_secret(initiator_secret)?;
    check_secret(target_secret)?;
    if initiator_secret == target_secret {
        return Err(ChapError::SameSecret);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Target-side exchange
// ---------------------------------------------------------------------------

/// Where a [`ChapTarget`] exchange stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChapState {
    /// Waiting for the initiator's `CHAP_A` ([`ChapTarget::start`]).
    AwaitAlgorithm,
    /// MD5 selected; `CHAP_A`/`CHAP_I`/`CHAP_C` are to be sent and the
    /// initiator's `CHAP_N`/`CHAP_R` are awaited.
    ChallengeSent,
    /// The initiator is authenticated; a mutual request may follow
    /// ([`ChapTarget::mutual_response`]).
    InitiatorVerified,
    /// The exchange is complete (with or without target authentication).
    Done,
    /// A step failed; the login must be rejected.
    Failed,
}

/// The target side of one CHAP exchange (one login).
#[derive(Clone, Debug)]
pub struct ChapTarget {
    state: ChapState,
    id: u8,
    challenge: [u8; MAX_TARGET_CHALLENGE_LEN],
    challenge_len: usize,
}

impl ChapTarget {
    /// A new exchange with the identifier and challenge the target will send
    /// (fresh random values from the caller; [`CHALLENGE_LEN`] bytes
    /// recommended). [`ChapError::BadLocalChallenge`] if the challenge is
    /// empty or longer than [`MAX_TARGET_CHALLENGE_LEN`].
    pub fn new(id: u8, challenge: &[u8]) -> Result<Self, ChapError> {
        if challenge.is_empty() || challenge.len() > MAX_TARGET_CHALLENGE_LEN {
            return Err(ChapError::BadLocalChallenge);
        }
        let mut buf = [0u8; MAX_TARGET_CHALLENGE_LEN];
        buf[..challenge.len()].copy_from_slice(challenge);
        Ok(Self {
            state: ChapState::AwaitAlgorithm,
            id,
            challenge: buf,
            challenge_len: challenge.len(),
        })
    }

    /// The current state.
    pub fn state(&self) -> ChapState {
        self.state
    }

    /// The identifier the target sends as `CHAP_I`.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The challenge the target sends as `CHAP_C` (binary).
    pub fn challenge(&self) -> &[u8] {
        self.challenge.get(..self.challenge_len).unwrap_or(&[])
    }

    /// Whether the initiator has been authenticated.
    pub fn initiator_verified(&self) -> bool {
        matches!(self.state, ChapState::InitiatorVerified | ChapState::Done)
    }

    /// Runs a step: on error the exchange becomes [`ChapState::Failed`].
    fn step<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ChapError>,
    ) -> Result<T, ChapError> {
        let r = f(self);
        if r.is_err() {
            self.state = ChapState::Failed;
        }
        r
    }

    /// Step 1: the initiator's `CHAP_A` (`None` if the key was absent).
    ///
    /// Returns the selected algorithm ([`CHAP_MD5`]); the target then sends
    /// [`ChapTarget::write_challenge_keys`]. Errors: absent key
    /// ([`ChapError::Missing`]`(A)`), MD5 not offered
    /// ([`ChapError::NoAlgorithm`]), called twice ([`ChapError::OutOfOrder`]).
    pub fn start(&mut self, chap_a: Option<&[u8]>) -> Result<u8, ChapError> {
        self.step(|s| {
            if s.state != ChapState::AwaitAlgorithm {
                return Err(ChapError::OutOfOrder);
            }
            let a = chap_a.ok_or(ChapError::Missing(ChapKey::A))?;
            let alg = select_algorithm(a).ok_or(ChapError::NoAlgorithm)?;
            s.state = ChapState::ChallengeSent;
            Ok(alg)
        })
    }

    /// The `CHAP_A` value to send: `5`.
    pub fn chap_a_value(&self) -> &'static [u8] {
        b"5"
    }

    /// Writes the `CHAP_I` value (decimal identifier); returns its length.
    pub fn write_chap_i(&self, out: &mut [u8]) -> Result<usize, ChapError> {
        let mut digits = [0u8; 3];
        let mut n = self.id;
        let mut len = 0;
        loop {
            digits[len] = b'0' + n % 10;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let dst = out.get_mut(..len).ok_or(ChapError::BufferTooSmall)?;
        for (d, s) in dst.iter_mut().zip(digits[..len].iter().rev()) {
            *d = *s;
        }
        Ok(len)
    }

    /// Writes the `CHAP_C` value (`0x` + lowercase hex); returns its length.
    pub fn write_chap_c(&self, out: &mut [u8]) -> Result<usize, ChapError> {
        encode_hex(self.challenge(), out)
    }

    /// Writes the target's answer to `CHAP_A`: `CHAP_A=5\0CHAP_I=<id>\0
    /// CHAP_C=0x<challenge>\0` (each key=value null-terminated, RFC 7143
    /// section 6.1). At most [`MAX_CHALLENGE_KEYS_LEN`] bytes; returns the
    /// length. Allowed in state [`ChapState::ChallengeSent`] only.
    pub fn write_challenge_keys(&self, out: &mut [u8]) -> Result<usize, ChapError> {
        if self.state != ChapState::ChallengeSent {
            return Err(ChapError::OutOfOrder);
        }
        let mut w = Writer { out, pos: 0 };
        w.put(b"CHAP_A=")?;
        w.put(self.chap_a_value())?;
        w.put(b"\0CHAP_I=")?;
        let n = self.write_chap_i(w.rest())?;
        w.pos += n;
        w.put(b"\0CHAP_C=")?;
        let n = self.write_chap_c(w.rest())?;
        w.pos += n;
        w.put(b"\0")?;
        Ok(w.pos)
    }

    /// Step 2: the initiator's `CHAP_N` and `CHAP_R` (`None` if absent).
    ///
    /// `expected_name` and `secret` are the account the target holds for this
    /// initiator (a target that looks accounts up by name passes `CHAP_N`
    /// itself after finding it). Errors: a key absent
    /// ([`ChapError::Missing`]`(N | R)`), wrong name
    /// ([`ChapError::NameMismatch`]), empty secret
    /// ([`ChapError::SecretTooShort`]), any [`verify`] error, not after
    /// [`ChapTarget::start`] ([`ChapError::OutOfOrder`]).
    pub fn verify_initiator(
        &mut self,
        chap_n: Option<&[u8]>,
        chap_r: Option<&[u8]>,
        expected_name: &[u8],
        secret: &[u8],
    ) -> Result<(), ChapError> {
        self.step(|s| {
            if s.state != ChapState::ChallengeSent {
                return Err(ChapError::OutOfOrder);
            }
            let n = chap_n.ok_or(ChapError::Missing(ChapKey::N))?;
            let r = chap_r.ok_or(ChapError::Missing(ChapKey::R))?;
            if secret.is_empty() {
                return Err(ChapError::SecretTooShort);
            }
            verify(s.id, secret, s.challenge(), r)?;
            // Checked after the response so that an unknown name and a wrong
            // response take the same path through the MD5.
            if n != expected_name {
                return Err(ChapError::NameMismatch);
            }
            s.state = ChapState::InitiatorVerified;
            Ok(())
        })
    }

    /// Step 3 (mutual CHAP): the initiator's `CHAP_I` and `CHAP_C`.
    ///
    /// Both absent: no target authentication was requested; returns
    /// `Ok(None)`. Both present: writes our `CHAP_R` value (`0x` + 32 hex
    /// digits, [`RESPONSE_HEX_LEN`] bytes) into `out` and returns its length;
    /// the caller sends it with `CHAP_N=<target user name>`. `secret` is the
    /// target's own secret (`None` if mutual CHAP is not configured).
    ///
    /// Errors: only one key present ([`ChapError::Missing`]), mutual CHAP not
    /// configured ([`ChapError::MutualNotConfigured`]), empty secret, a bad
    /// `CHAP_I` ([`ChapError::BadNumber`]), a malformed, empty or over-1024-byte
    /// challenge, our own challenge reflected
    /// ([`ChapError::ReflectedChallenge`], close the connection), `out` too
    /// small, or not after a successful [`ChapTarget::verify_initiator`].
    pub fn mutual_response(
        &mut self,
        chap_i: Option<&[u8]>,
        chap_c: Option<&[u8]>,
        secret: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<Option<usize>, ChapError> {
        self.step(|s| {
            if s.state != ChapState::InitiatorVerified {
                return Err(ChapError::OutOfOrder);
            }
            let (i, c) = match (chap_i, chap_c) {
                (None, None) => {
                    s.state = ChapState::Done;
                    return Ok(None);
                }
                (Some(_), None) => return Err(ChapError::Missing(ChapKey::C)),
                (None, Some(_)) => return Err(ChapError::Missing(ChapKey::I)),
                (Some(i), Some(c)) => (i, c),
            };
            let secret = secret.ok_or(ChapError::MutualNotConfigured)?;
            if secret.is_empty() {
                return Err(ChapError::SecretTooShort);
            }
            if out.len() < RESPONSE_HEX_LEN {
                return Err(ChapError::BufferTooSmall);
            }
            let id = parse_id(i)?;
            let len = decoded_len(c)?;
            if len > MAX_BINARY_LEN {
                return Err(ChapError::TooLong);
            }
            // Decode straight into the hash (no 1 KiB buffer on the kernel
            // stack) while comparing against our own challenge.
            let ours = s.challenge();
            let mut same = len == ours.len();
            let mut pos = 0usize;
            let mut h = Md5::new();
            h.update(&[id]);
            h.update(secret);
            decode_each(c, |b| {
                same &= ours.get(pos) == Some(&b);
                pos += 1;
                h.update(&[b]);
            })?;
            if same {
                return Err(ChapError::ReflectedChallenge);
            }
            let n = encode_hex(&h.finish(), out)?;
            s.state = ChapState::Done;
            Ok(Some(n))
        })
    }
}

/// A bounded writer into a caller's buffer.
struct Writer<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ChapError> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(ChapError::BufferTooSmall)?;
        let dst = self
            .out
            .get_mut(self.pos..end)
            .ok_or(ChapError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    fn rest(&mut self) -> &mut [u8] {
        self.out.get_mut(self.pos..).unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Parses hex text (test helper).
    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    fn dec(value: &[u8]) -> Result<Vec<u8>, ChapError> {
        let mut out = [0u8; 2048];
        let n = decode_binary(value, &mut out)?;
        Ok(out[..n].to_vec())
    }

    fn hex_of(bytes: &[u8]) -> Vec<u8> {
        let mut out = std::vec![0u8; 2 + 2 * bytes.len()];
        let n = encode_hex(bytes, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn b64_of(bytes: &[u8]) -> Vec<u8> {
        let mut out = std::vec![0u8; 2 + 4 * bytes.len().div_ceil(3)];
        let n = encode_base64(bytes, &mut out).unwrap();
        out.truncate(n);
        out
    }

    const CHALLENGE: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const SECRET: &[u8] = b"secretsecret";
    /// `printf '\x01secretsecret\x00\x01...\x0f' | md5sum`
    const KAT1: &str = "226dc576c33f04ff9c3a200ffe35f442";

    // ---------------- known answers (computed with md5sum) ----------------

    #[test]
    fn response_known_answers() {
        let table: &[(u8, &[u8], &[u8], &str)] = &[
            (1, SECRET, &CHALLENGE, KAT1),
            (0, b"abc", &[0xff; 16], "293e0b76148e366b1b9cc3fe92e26f32"),
            (
                0xff,
                b"0123456789abcdef",
                &[0xde, 0xad, 0xbe, 0xef],
                "64e7fc588fae54284dbb1d4b0437726a",
            ),
            (
                7,
                b"targetsecret12",
                &[0x11, 0x22, 0x33],
                "142ac6d345de259afe4edabe5fa91bb8",
            ),
        ];
        for (id, secret, challenge, want) in table {
            assert_eq!(response(*id, secret, challenge).to_vec(), unhex(want));
        }
    }

    #[test]
    fn response_is_md5_of_concatenation() {
        let mut msg = std::vec![9u8];
        msg.extend_from_slice(b"s3cr3t-s3cr3t");
        msg.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            response(9, b"s3cr3t-s3cr3t", &[1, 2, 3]),
            super::super::md5::md5(&msg)
        );
    }

    // ---------------- constants and mappings ----------------

    #[test]
    fn constants() {
        assert_eq!(CHAP_MD5, 5);
        assert_eq!(MAX_BINARY_LEN, 1024);
        assert_eq!(MIN_SECRET_LEN * 8, 96);
        assert_eq!(RESPONSE_LEN, 16);
        assert_eq!(RESPONSE_HEX_LEN, 34);
    }

    #[test]
    fn key_names() {
        let t = [
            (ChapKey::A, "CHAP_A"),
            (ChapKey::I, "CHAP_I"),
            (ChapKey::C, "CHAP_C"),
            (ChapKey::N, "CHAP_N"),
            (ChapKey::R, "CHAP_R"),
        ];
        for (k, n) in t {
            assert_eq!(k.name(), n);
        }
    }

    #[test]
    fn login_status_of_every_error() {
        use ChapError::*;
        let table = [
            (Empty, 0x0200, false),
            (BadPrefix, 0x0200, false),
            (BadDigit, 0x0200, false),
            (BadPadding, 0x0200, false),
            (TooLong, 0x0200, false),
            (BadNumber, 0x0200, false),
            (OutOfOrder, 0x0200, false),
            (Missing(ChapKey::A), 0x0207, false),
            (Missing(ChapKey::R), 0x0207, false),
            (NoAlgorithm, 0x0201, false),
            (NameMismatch, 0x0201, false),
            (BadResponseLength, 0x0201, false),
            (ResponseMismatch, 0x0201, false),
            (MutualNotConfigured, 0x0201, false),
            (ReflectedChallenge, 0x0201, true),
            (SecretTooShort, 0x0201, false),
            (SameSecret, 0x0201, false),
            (BufferTooSmall, 0x0300, false),
            (BadLocalChallenge, 0x0300, false),
        ];
        for (e, status, close) in table {
            assert_eq!(e.login_status(), status, "{e:?}");
            assert_eq!(e.closes_connection(), close, "{e:?}");
            assert!(!e.description().is_empty());
        }
    }

    // ---------------- CHAP_A ----------------

    #[test]
    fn select_algorithm_table() {
        let table: &[(&[u8], Option<u8>)] = &[
            (b"5", Some(5)),
            (b"5,6", Some(5)),
            (b"6,5", Some(5)),
            (b"7,6,5", Some(5)),
            (b"0x5", Some(5)),
            (b"0X05", Some(5)),
            (b"5,", Some(5)),
            (b",5", Some(5)),
            (b"Reject,5", Some(5)),
            (b"99999999999999999999999,5", Some(5)),
            (b"0x100000000000000000005,5", Some(5)),
            (b"", None),
            (b",", None),
            (b"6", None),
            (b"6,7,128", None),
            (b"15", None),
            (b"50", None),
            (b"05", None),
            (b" 5", None),
            (b"5 ", None),
            (b"None", None),
            (b"0b BQ==", None),
            (b"0x", None),
            (b"-5", None),
            (b"+5", None),
        ];
        for (v, want) in table {
            assert_eq!(select_algorithm(v), *want, "{:?}", core::str::from_utf8(v));
        }
    }

    // ---------------- CHAP_I ----------------

    #[test]
    fn parse_id_table() {
        let ok: &[(&[u8], u8)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"9", 9),
            (b"10", 10),
            (b"255", 255),
            (b"0x0", 0),
            (b"0xff", 255),
            (b"0XFF", 255),
            (b"0x00ff", 255),
            (b"0x1F", 31),
        ];
        for (v, want) in ok {
            assert_eq!(parse_id(v), Ok(*want), "{:?}", core::str::from_utf8(v));
        }
        let bad: &[&[u8]] = &[
            b"",
            b"256",
            b"1000",
            b"0x100",
            b"-1",
            b"+1",
            b"01",
            b"00",
            b"1a",
            b"0x",
            b"0X",
            b"0xg",
            b"0b/w==",
            b" 1",
            b"1 ",
            b"99999999999999999999999",
            b"0x10000000000000000000000",
            b"one",
        ];
        for v in bad {
            assert_eq!(
                parse_id(v),
                Err(ChapError::BadNumber),
                "{:?}",
                core::str::from_utf8(v)
            );
        }
    }

    // ---------------- binary values ----------------

    #[test]
    fn decode_hex_table() {
        let table: &[(&[u8], &[u8])] = &[
            (b"0x00", &[0]),
            (b"0x0", &[0]),
            (b"0x1", &[1]),
            (b"0x123", &[0x01, 0x23]),
            (b"0X0aFf", &[0x0a, 0xff]),
            (b"0xdeadBEEF", &[0xde, 0xad, 0xbe, 0xef]),
            (b"0x0000", &[0, 0]),
            // RFC 4648 section 10 base16 vector.
            (b"0x666F6F626172", b"foobar"),
        ];
        for (v, want) in table {
            assert_eq!(dec(v).unwrap(), *want, "{:?}", core::str::from_utf8(v));
            assert_eq!(decoded_len(v), Ok(want.len()));
        }
    }

    /// RFC 4648 section 10 test vectors (non-empty ones).
    const RFC4648: &[(&[u8], &[u8])] = &[
        (b"f", b"Zg=="),
        (b"fo", b"Zm8="),
        (b"foo", b"Zm9v"),
        (b"foob", b"Zm9vYg=="),
        (b"fooba", b"Zm9vYmE="),
        (b"foobar", b"Zm9vYmFy"),
    ];

    #[test]
    fn decode_base64_rfc4648() {
        for (plain, b64) in RFC4648 {
            for prefix in [&b"0b"[..], b"0B"] {
                let mut v = prefix.to_vec();
                v.extend_from_slice(b64);
                assert_eq!(dec(&v).unwrap(), *plain);
            }
        }
    }

    #[test]
    fn encode_base64_rfc4648() {
        for (plain, b64) in RFC4648 {
            let mut want = b"0b".to_vec();
            want.extend_from_slice(b64);
            assert_eq!(b64_of(plain), want);
        }
    }

    #[test]
    fn decode_base64_unpadded() {
        assert_eq!(dec(b"0bZg").unwrap(), b"f");
        assert_eq!(dec(b"0bZm8").unwrap(), b"fo");
        assert_eq!(dec(b"0bZm9vYg").unwrap(), b"foob");
        assert_eq!(dec(b"0bZm9vYmE").unwrap(), b"fooba");
    }

    #[test]
    fn decode_base64_full_alphabet() {
        // The whole alphabet: 64 digits, 48 bytes (checked with `base64 -d`).
        let mut v = b"0b".to_vec();
        v.extend_from_slice(B64);
        let got = dec(&v).unwrap();
        assert_eq!(got.len(), 48);
        assert_eq!(&got[..3], &[0x00, 0x10, 0x83]);
        assert_eq!(&got[45..], &[0xf3, 0xdf, 0xbf]);
    }

    #[test]
    fn decode_errors() {
        use ChapError::*;
        let table: &[(&[u8], ChapError)] = &[
            (b"", Empty),
            (b"0x", Empty),
            (b"0X", Empty),
            (b"0b", Empty),
            (b"0B", Empty),
            (b"0b=", Empty),
            (b"0b==", Empty),
            (b"0b====", Empty),
            (b"abc", BadPrefix),
            (b"12", BadPrefix),
            (b"0", BadPrefix),
            (b"x12", BadPrefix),
            (b"0o17", BadPrefix),
            (b" 0x12", BadPrefix),
            (b"0z1", BadPrefix),
            (b"0x1g", BadDigit),
            (b"0x 1", BadDigit),
            (b"0x12 ", BadDigit),
            (b"0x-1", BadDigit),
            (b"0xZZ", BadDigit),
            (b"0b Zg==", BadDigit),
            (b"0b-_", BadDigit),
            (b"0bZg\0\0", BadDigit),
            (b"0bZ", BadPadding),
            (b"0bZm9vY", BadPadding),
            (b"0bZg=", BadPadding),
            (b"0bZg===", BadPadding),
            (b"0bZm8==", BadPadding),
            (b"0bZm9v=", BadPadding),
            (b"0bZ=g=", BadPadding),
            (b"0bZg==Zg==", BadPadding),
            (b"0bZh==", BadPadding),
            (b"0bZm9=", BadPadding),
            (b"0bZh", BadPadding),
        ];
        for (v, want) in table {
            assert_eq!(dec(v), Err(*want), "{:?}", v);
            assert_eq!(decoded_len(v), Err(*want), "{:?}", v);
        }
    }

    #[test]
    fn decode_too_long_for_buffer() {
        let mut out = [0xaau8; 1];
        assert_eq!(decode_binary(b"0x0102", &mut out), Err(ChapError::TooLong));
        assert_eq!(out, [0xaa], "out untouched on error");
        assert_eq!(decode_binary(b"0x00", &mut []), Err(ChapError::TooLong));
        assert_eq!(
            decode_binary(b"0bZm9v", &mut [0; 2]),
            Err(ChapError::TooLong)
        );
        let mut out = [0u8; 3];
        assert_eq!(decode_binary(b"0bZm9v", &mut out), Ok(3));
        assert_eq!(&out, b"foo");
        let mut out = [0u8; 2];
        assert_eq!(decode_binary(b"0x102", &mut out), Ok(2));
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn encode_hex_table() {
        assert_eq!(hex_of(&[0]), b"0x00");
        assert_eq!(hex_of(&[0xde, 0xad, 0xbe, 0xef]), b"0xdeadbeef");
        assert_eq!(hex_of(b"foobar"), b"0x666f6f626172");
        assert_eq!(hex_of(&CHALLENGE), b"0x000102030405060708090a0b0c0d0e0f");
    }

    #[test]
    fn encode_errors() {
        let mut out = [0u8; 64];
        assert_eq!(encode_hex(&[], &mut out), Err(ChapError::BufferTooSmall));
        assert_eq!(encode_base64(&[], &mut out), Err(ChapError::BufferTooSmall));
        assert_eq!(
            encode_hex(&[1, 2], &mut out[..5]),
            Err(ChapError::BufferTooSmall)
        );
        assert_eq!(encode_hex(&[1, 2], &mut out[..6]), Ok(6));
        assert_eq!(
            encode_base64(b"f", &mut out[..5]),
            Err(ChapError::BufferTooSmall)
        );
        assert_eq!(encode_base64(b"f", &mut out[..6]), Ok(6));
        assert_eq!(&out[..6], b"0bZg==");
    }

    // ---------------- verify ----------------

    #[test]
    fn verify_accepts_every_encoding() {
        let r = response(1, SECRET, &CHALLENGE);
        let mut upper = b"0X".to_vec();
        upper.extend(KAT1.to_ascii_uppercase().bytes());
        let mut lower = b"0x".to_vec();
        lower.extend(KAT1.bytes());
        for v in [hex_of(&r), b64_of(&r), upper, lower] {
            assert_eq!(verify(1, SECRET, &CHALLENGE, &v), Ok(()), "{v:?}");
        }
    }

    #[test]
    fn verify_errors() {
        use ChapError::*;
        let r = response(1, SECRET, &CHALLENGE);
        let table: &[(Vec<u8>, ChapError)] = &[
            (hex_of(&response(2, SECRET, &CHALLENGE)), ResponseMismatch),
            (
                hex_of(&response(1, b"secretsecreT", &CHALLENGE)),
                ResponseMismatch,
            ),
            (
                hex_of(&response(1, SECRET, &CHALLENGE[1..])),
                ResponseMismatch,
            ),
            (hex_of(&[0; 16]), ResponseMismatch),
            (hex_of(&r[..15]), BadResponseLength),
            (hex_of(&[r.as_slice(), &[0]].concat()), BadResponseLength),
            (hex_of(&[0; 1024]), BadResponseLength),
            (hex_of(&[0; 1]), BadResponseLength),
            (b"".to_vec(), Empty),
            (b"0x".to_vec(), Empty),
            (KAT1.as_bytes().to_vec(), BadPrefix),
            (b"0x226dc576c33f04ff9c3a200ffe35f44g".to_vec(), BadDigit),
            (b"0bZh==".to_vec(), BadPadding),
        ];
        for (v, want) in table {
            assert_eq!(verify(1, SECRET, &CHALLENGE, v), Err(*want), "{v:?}");
        }
    }

    #[test]
    fn verify_odd_hex_with_leading_zero() {
        // A response whose first byte is < 0x10 may be sent with 31 digits.
        let secret = b"abcdefghijkl";
        let (id, r) = (0u8..=255)
            .map(|id| (id, response(id, secret, &CHALLENGE)))
            .find(|(_, r)| r[0] < 0x10)
            .unwrap();
        let full = hex_of(&r);
        let mut short = b"0x".to_vec();
        short.extend_from_slice(&full[3..]);
        assert_eq!(verify(id, secret, &CHALLENGE, &short), Ok(()));
    }

    // ---------------- secrets ----------------

    #[test]
    fn secret_checks() {
        assert_eq!(check_secret(b""), Err(ChapError::SecretTooShort));
        assert_eq!(check_secret(b"elevenbytes"), Err(ChapError::SecretTooShort));
        assert_eq!(check_secret(b"twelve bytes"), Ok(()));
        assert_eq!(check_secret(&[0; 16]), Ok(()));
        assert_eq!(
            check_secret_pair(b"twelve bytes", b"twelve bytes"),
            Err(ChapError::SameSecret)
        );
        assert_eq!(check_secret_pair(b"twelve bytes", b"other secret"), Ok(()));
        assert_eq!(
            check_secret_pair(b"short", b"other secret"),
            Err(ChapError::SecretTooShort)
        );
        assert_eq!(
            check_secret_pair(b"other secret", b"short"),
            Err(ChapError::SecretTooShort)
        );
    }

    // ---------------- ChapTarget ----------------

    const NAME: &[u8] = b"iqn.1994-05.com.example:host1";
    const TSECRET: &[u8] = b"targetsecret12";

    fn started() -> ChapTarget {
        let mut t = ChapTarget::new(1, &CHALLENGE).unwrap();
        assert_eq!(t.start(Some(b"7,5")), Ok(CHAP_MD5));
        t
    }

    fn verified() -> ChapTarget {
        let mut t = started();
        let r = hex_of(&response(1, SECRET, &CHALLENGE));
        assert_eq!(
            t.verify_initiator(Some(NAME), Some(&r), NAME, SECRET),
            Ok(())
        );
        t
    }

    #[test]
    fn target_new_checks_challenge() {
        assert_eq!(
            ChapTarget::new(0, &[]).unwrap_err(),
            ChapError::BadLocalChallenge
        );
        assert_eq!(
            ChapTarget::new(0, &[0; 65]).unwrap_err(),
            ChapError::BadLocalChallenge
        );
        let t = ChapTarget::new(200, &[7; 64]).unwrap();
        assert_eq!(t.challenge(), &[7; 64]);
        assert_eq!(t.id(), 200);
        assert_eq!(t.state(), ChapState::AwaitAlgorithm);
        assert!(!t.initiator_verified());
    }

    #[test]
    fn target_challenge_keys_text() {
        let t = started();
        let mut out = [0u8; MAX_CHALLENGE_KEYS_LEN];
        let n = t.write_challenge_keys(&mut out).unwrap();
        assert_eq!(
            &out[..n],
            b"CHAP_A=5\0CHAP_I=1\0CHAP_C=0x000102030405060708090a0b0c0d0e0f\0"
        );
        // The largest case fits MAX_CHALLENGE_KEYS_LEN exactly.
        let mut t = ChapTarget::new(255, &[0xab; MAX_TARGET_CHALLENGE_LEN]).unwrap();
        t.start(Some(b"5")).unwrap();
        assert_eq!(t.write_challenge_keys(&mut out), Ok(MAX_CHALLENGE_KEYS_LEN));
        assert!(out.starts_with(b"CHAP_A=5\0CHAP_I=255\0CHAP_C=0xabab"));
        assert_eq!(
            t.write_challenge_keys(&mut out[..MAX_CHALLENGE_KEYS_LEN - 1]),
            Err(ChapError::BufferTooSmall)
        );
        assert_eq!(
            t.write_challenge_keys(&mut out[..10]),
            Err(ChapError::BufferTooSmall)
        );
        assert_eq!(
            t.write_challenge_keys(&mut []),
            Err(ChapError::BufferTooSmall)
        );
    }

    #[test]
    fn target_challenge_keys_need_start() {
        let t = ChapTarget::new(1, &CHALLENGE).unwrap();
        assert_eq!(
            t.write_challenge_keys(&mut [0; 256]),
            Err(ChapError::OutOfOrder)
        );
    }

    #[test]
    fn target_chap_i_values() {
        for (id, want) in [
            (0u8, &b"0"[..]),
            (9, b"9"),
            (10, b"10"),
            (99, b"99"),
            (100, b"100"),
            (255, b"255"),
        ] {
            let t = ChapTarget::new(id, &CHALLENGE).unwrap();
            let mut out = [0u8; 3];
            let n = t.write_chap_i(&mut out).unwrap();
            assert_eq!(&out[..n], want);
            assert_eq!(parse_id(&out[..n]), Ok(id));
        }
        let t = ChapTarget::new(100, &CHALLENGE).unwrap();
        assert_eq!(t.write_chap_i(&mut [0; 2]), Err(ChapError::BufferTooSmall));
        assert_eq!(t.chap_a_value(), b"5");
        let mut out = [0u8; 34];
        assert_eq!(t.write_chap_c(&mut out), Ok(34));
        assert_eq!(
            t.write_chap_c(&mut out[..33]),
            Err(ChapError::BufferTooSmall)
        );
    }

    #[test]
    fn target_one_way_success() {
        let mut t = verified();
        assert_eq!(t.state(), ChapState::InitiatorVerified);
        assert!(t.initiator_verified());
        assert_eq!(
            t.mutual_response(None, None, Some(TSECRET), &mut [0; 34]),
            Ok(None)
        );
        assert_eq!(t.state(), ChapState::Done);
        assert!(t.initiator_verified());
        // Nothing more is accepted.
        assert_eq!(
            t.mutual_response(None, None, None, &mut [0; 34]),
            Err(ChapError::OutOfOrder)
        );
        assert_eq!(t.state(), ChapState::Failed);
    }

    #[test]
    fn target_base64_response_accepted() {
        let mut t = started();
        let r = b64_of(&response(1, SECRET, &CHALLENGE));
        assert_eq!(
            t.verify_initiator(Some(NAME), Some(&r), NAME, SECRET),
            Ok(())
        );
    }

    #[test]
    fn target_start_errors() {
        let mut t = ChapTarget::new(1, &CHALLENGE).unwrap();
        assert_eq!(t.start(None), Err(ChapError::Missing(ChapKey::A)));
        assert_eq!(t.state(), ChapState::Failed);
        let mut t = ChapTarget::new(1, &CHALLENGE).unwrap();
        assert_eq!(t.start(Some(b"6,7")), Err(ChapError::NoAlgorithm));
        assert_eq!(t.state(), ChapState::Failed);
        let mut t = started();
        assert_eq!(t.start(Some(b"5")), Err(ChapError::OutOfOrder));
    }

    #[test]
    fn target_verify_errors() {
        use ChapError::*;
        let good = hex_of(&response(1, SECRET, &CHALLENGE));
        let wrong = hex_of(&response(1, b"wrongsecret!", &CHALLENGE));
        type Row<'a> = (
            Option<&'a [u8]>,
            Option<&'a [u8]>,
            &'a [u8],
            &'a [u8],
            ChapError,
        );
        let table: &[Row<'_>] = &[
            (None, Some(&good), NAME, SECRET, Missing(ChapKey::N)),
            (Some(NAME), None, NAME, SECRET, Missing(ChapKey::R)),
            (None, None, NAME, SECRET, Missing(ChapKey::N)),
            (
                Some(b"someone-else"),
                Some(&good),
                NAME,
                SECRET,
                NameMismatch,
            ),
            (Some(NAME), Some(&wrong), NAME, SECRET, ResponseMismatch),
            (Some(NAME), Some(&good), NAME, b"", SecretTooShort),
            (Some(NAME), Some(b"0x00"), NAME, SECRET, BadResponseLength),
            (Some(NAME), Some(b"0xq"), NAME, SECRET, BadDigit),
            (Some(NAME), Some(b"garbage"), NAME, SECRET, BadPrefix),
        ];
        for (n, r, name, secret, want) in table {
            let mut t = started();
            assert_eq!(t.verify_initiator(*n, *r, name, secret), Err(*want));
            assert_eq!(t.state(), ChapState::Failed);
            assert!(!t.initiator_verified());
            // One attempt only.
            assert_eq!(
                t.verify_initiator(Some(NAME), Some(&good), NAME, SECRET),
                Err(OutOfOrder)
            );
        }
    }

    #[test]
    fn target_verify_before_start() {
        let mut t = ChapTarget::new(1, &CHALLENGE).unwrap();
        let good = hex_of(&response(1, SECRET, &CHALLENGE));
        assert_eq!(
            t.verify_initiator(Some(NAME), Some(&good), NAME, SECRET),
            Err(ChapError::OutOfOrder)
        );
        assert_eq!(t.state(), ChapState::Failed);
    }

    #[test]
    fn target_mutual_known_answer() {
        let mut t = verified();
        let mut out = [0u8; RESPONSE_HEX_LEN];
        let n = t.mutual_response(Some(b"7"), Some(b"0x112233"), Some(TSECRET), &mut out);
        assert_eq!(n, Ok(Some(RESPONSE_HEX_LEN)));
        assert_eq!(&out[..], b"0x142ac6d345de259afe4edabe5fa91bb8");
        assert_eq!(t.state(), ChapState::Done);
    }

    #[test]
    fn target_mutual_encodings_agree() {
        let c: Vec<u8> = (0..100u8).collect();
        let mut results = Vec::new();
        for i in [&b"7"[..], b"0x7", b"0X07"] {
            for cv in [hex_of(&c), b64_of(&c)] {
                let mut t = verified();
                let mut out = [0u8; 40];
                assert_eq!(
                    t.mutual_response(Some(i), Some(&cv), Some(TSECRET), &mut out),
                    Ok(Some(34))
                );
                results.push(out);
            }
        }
        let want = hex_of(&response(7, TSECRET, &c));
        for r in results {
            assert_eq!(&r[..34], &want[..]);
        }
    }

    #[test]
    fn target_mutual_limits() {
        let mut t = verified();
        let big = hex_of(&[0x5a; MAX_BINARY_LEN]);
        assert_eq!(
            t.mutual_response(Some(b"1"), Some(&big), Some(TSECRET), &mut [0; 34]),
            Ok(Some(34))
        );
        let mut t = verified();
        let too_big = hex_of(&[0x5a; MAX_BINARY_LEN + 1]);
        assert_eq!(
            t.mutual_response(Some(b"1"), Some(&too_big), Some(TSECRET), &mut [0; 34]),
            Err(ChapError::TooLong)
        );
        let mut t = verified();
        let one = hex_of(&[0x5a]);
        assert_eq!(
            t.mutual_response(Some(b"1"), Some(&one), Some(TSECRET), &mut [0; 34]),
            Ok(Some(34))
        );
    }

    #[test]
    fn target_mutual_errors() {
        use ChapError::*;
        let c = hex_of(&[9; 16]);
        type Row<'a> = (
            Option<&'a [u8]>,
            Option<&'a [u8]>,
            Option<&'a [u8]>,
            usize,
            ChapError,
        );
        let table: &[Row<'_>] = &[
            (Some(b"1"), None, Some(TSECRET), 34, Missing(ChapKey::C)),
            (None, Some(&c), Some(TSECRET), 34, Missing(ChapKey::I)),
            (Some(b"1"), Some(&c), None, 34, MutualNotConfigured),
            (Some(b"1"), Some(&c), Some(b""), 34, SecretTooShort),
            (Some(b"1"), Some(&c), Some(TSECRET), 33, BufferTooSmall),
            (Some(b"256"), Some(&c), Some(TSECRET), 34, BadNumber),
            (Some(b""), Some(&c), Some(TSECRET), 34, BadNumber),
            (Some(b"1"), Some(b"0x"), Some(TSECRET), 34, Empty),
            (Some(b"1"), Some(b"0b=="), Some(TSECRET), 34, Empty),
            (Some(b"1"), Some(b""), Some(TSECRET), 34, Empty),
            (Some(b"1"), Some(b"1234"), Some(TSECRET), 34, BadPrefix),
            (Some(b"1"), Some(b"0x12z4"), Some(TSECRET), 34, BadDigit),
            (Some(b"1"), Some(b"0bZh=="), Some(TSECRET), 34, BadPadding),
        ];
        for (i, cv, secret, out_len, want) in table {
            let mut t = verified();
            let mut out = std::vec![0u8; *out_len];
            assert_eq!(t.mutual_response(*i, *cv, *secret, &mut out), Err(*want));
            assert_eq!(t.state(), ChapState::Failed);
        }
    }

    #[test]
    fn target_mutual_before_verify() {
        let mut t = started();
        let c = hex_of(&[9; 16]);
        assert_eq!(
            t.mutual_response(Some(b"1"), Some(&c), Some(TSECRET), &mut [0; 34]),
            Err(ChapError::OutOfOrder)
        );
        let mut t = ChapTarget::new(1, &CHALLENGE).unwrap();
        assert_eq!(
            t.mutual_response(None, None, None, &mut [0; 34]),
            Err(ChapError::OutOfOrder)
        );
    }

    #[test]
    fn target_rejects_reflected_challenge() {
        for cv in [
            hex_of(&CHALLENGE),
            b64_of(&CHALLENGE),
            b"0X000102030405060708090A0B0C0D0E0F".to_vec(),
        ] {
            let mut t = verified();
            let e = t
                .mutual_response(Some(b"1"), Some(&cv), Some(TSECRET), &mut [0; 34])
                .unwrap_err();
            assert_eq!(e, ChapError::ReflectedChallenge);
            assert!(e.closes_connection());
            assert_eq!(e.login_status(), STATUS_AUTH_FAILURE);
        }
        // Odd-digit form of the same bytes (leading zero implied).
        let mut t = ChapTarget::new(1, &[0x01, 0x23]).unwrap();
        t.start(Some(b"5")).unwrap();
        let r = hex_of(&response(1, SECRET, &[0x01, 0x23]));
        t.verify_initiator(Some(NAME), Some(&r), NAME, SECRET)
            .unwrap();
        let e = t.mutual_response(Some(b"2"), Some(b"0x123"), Some(TSECRET), &mut [0; 34]);
        assert_eq!(e, Err(ChapError::ReflectedChallenge));
    }

    #[test]
    fn target_accepts_near_reflections() {
        // Prefix, extension and one-bit change of our challenge are not
        // reflections.
        let mut longer = CHALLENGE.to_vec();
        longer.push(0);
        let mut flipped = CHALLENGE;
        flipped[15] ^= 1;
        for c in [&CHALLENGE[..15], &longer[..], &flipped[..]] {
            let mut t = verified();
            let cv = hex_of(c);
            assert_eq!(
                t.mutual_response(Some(b"1"), Some(&cv), Some(TSECRET), &mut [0; 34]),
                Ok(Some(34))
            );
        }
    }

    #[test]
    fn target_challenge_keys_only_after_start() {
        let t = verified();
        assert_eq!(
            t.write_challenge_keys(&mut [0; 256]),
            Err(ChapError::OutOfOrder)
        );
        let mut t = ChapTarget::new(1, &CHALLENGE).unwrap();
        let _ = t.start(Some(b"6"));
        assert_eq!(
            t.write_challenge_keys(&mut [0; 256]),
            Err(ChapError::OutOfOrder)
        );
    }

    #[test]
    fn target_mutual_writes_exactly_34_bytes() {
        let mut t = verified();
        let mut out = [0xeeu8; 64];
        assert_eq!(
            t.mutual_response(Some(b"7"), Some(b"0x112233"), Some(TSECRET), &mut out),
            Ok(Some(34))
        );
        assert_eq!(&out[..34], b"0x142ac6d345de259afe4edabe5fa91bb8");
        assert!(out[34..].iter().all(|&b| b == 0xee));
    }

    #[test]
    fn target_mutual_response_verifies_on_initiator_side() {
        let mut t = verified();
        let ic = [0x42u8; 20];
        let mut out = [0u8; 34];
        t.mutual_response(Some(b"0x10"), Some(&b64_of(&ic)), Some(TSECRET), &mut out)
            .unwrap();
        assert_eq!(verify(16, TSECRET, &ic, &out), Ok(()));
        assert_eq!(
            verify(16, SECRET, &ic, &out),
            Err(ChapError::ResponseMismatch)
        );
    }

    #[test]
    fn target_accepts_unpadded_base64_response() {
        let mut t = started();
        let r = b64_of(&response(1, SECRET, &CHALLENGE));
        let unpadded: Vec<u8> = r.iter().copied().filter(|&c| c != b'=').collect();
        assert_ne!(unpadded.len(), r.len());
        assert_eq!(
            t.verify_initiator(Some(NAME), Some(&unpadded), NAME, SECRET),
            Ok(())
        );
    }

    #[test]
    fn descriptions_are_distinct() {
        use ChapError::*;
        let all = [
            Empty,
            BadPrefix,
            BadDigit,
            BadPadding,
            TooLong,
            BadNumber,
            Missing(ChapKey::A),
            OutOfOrder,
            NoAlgorithm,
            NameMismatch,
            BadResponseLength,
            ResponseMismatch,
            MutualNotConfigured,
            ReflectedChallenge,
            SecretTooShort,
            SameSecret,
            BufferTooSmall,
            BadLocalChallenge,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.description(), b.description(), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn decode_max_binary_len_both_encodings() {
        let x: Vec<u8> = (0..MAX_BINARY_LEN).map(|i| i as u8).collect();
        let mut out = [0u8; MAX_BINARY_LEN];
        assert_eq!(decode_binary(&hex_of(&x), &mut out), Ok(MAX_BINARY_LEN));
        assert_eq!(&out[..], &x[..]);
        assert_eq!(decode_binary(&b64_of(&x), &mut out), Ok(MAX_BINARY_LEN));
        assert_eq!(&out[..], &x[..]);
        let y = [0u8; MAX_BINARY_LEN + 1];
        assert_eq!(
            decode_binary(&hex_of(&y), &mut out),
            Err(ChapError::TooLong)
        );
    }

    // ---------------- properties ----------------

    proptest! {
        #[test]
        fn hex_round_trip(x in proptest::collection::vec(any::<u8>(), 1..300)) {
            prop_assert_eq!(dec(&hex_of(&x)).unwrap(), x);
        }

        #[test]
        fn base64_round_trip(x in proptest::collection::vec(any::<u8>(), 1..300)) {
            let enc = b64_of(&x);
            prop_assert_eq!(dec(&enc).unwrap(), x.clone());
            // Unpadded form decodes to the same bytes.
            let trimmed: Vec<u8> = enc.iter().copied().take_while(|&c| c != b'=').collect();
            prop_assert_eq!(dec(&trimmed).unwrap(), x);
        }

        #[test]
        fn decode_never_panics(v in proptest::collection::vec(any::<u8>(), 0..80), cap in 0usize..64) {
            let mut out = std::vec![0u8; cap];
            if let Ok(n) = decode_binary(&v, &mut out) {
                prop_assert!(n <= cap);
                prop_assert_eq!(decoded_len(&v), Ok(n));
            }
        }

        #[test]
        fn decode_prefixed_never_panics(
            p in prop_oneof![Just(&b"0x"[..]), Just(&b"0X"[..]), Just(&b"0b"[..]), Just(&b"0B"[..])],
            body in "[0-9a-zA-Z+/=]{0,40}",
        ) {
            let mut v = p.to_vec();
            v.extend_from_slice(body.as_bytes());
            let mut out = [0u8; 40];
            let r = decode_binary(&v, &mut out);
            prop_assert_eq!(r, decoded_len(&v));
        }

        #[test]
        fn odd_hex_is_leading_zero(digits in "[0-9a-f]{1,41}") {
            let mut a = b"0x".to_vec();
            a.extend_from_slice(digits.as_bytes());
            let mut b = b"0x".to_vec();
            if digits.len() % 2 == 1 {
                b.push(b'0');
            }
            b.extend_from_slice(digits.as_bytes());
            prop_assert_eq!(dec(&a).unwrap(), dec(&b).unwrap());
        }

        #[test]
        fn parse_id_decimal_and_hex(n in any::<u8>()) {
            prop_assert_eq!(parse_id(std::format!("{n}").as_bytes()), Ok(n));
            prop_assert_eq!(parse_id(std::format!("0x{n:x}").as_bytes()), Ok(n));
            prop_assert_eq!(parse_id(std::format!("0X{n:04X}").as_bytes()), Ok(n));
        }

        #[test]
        fn parse_id_rejects_large(n in 256u64..) {
            prop_assert_eq!(parse_id(std::format!("{n}").as_bytes()), Err(ChapError::BadNumber));
            prop_assert_eq!(parse_id(std::format!("0x{n:x}").as_bytes()), Err(ChapError::BadNumber));
        }

        #[test]
        fn arbitrary_values_never_panic(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_id(&v);
            let _ = select_algorithm(&v);
            let _ = verify(1, SECRET, &CHALLENGE, &v);
        }

        #[test]
        fn verify_accepts_own_response(
            id in any::<u8>(),
            secret in proptest::collection::vec(any::<u8>(), 0..40),
            challenge in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let r = response(id, &secret, &challenge);
            prop_assert_eq!(verify(id, &secret, &challenge, &hex_of(&r)), Ok(()));
            prop_assert_eq!(verify(id, &secret, &challenge, &b64_of(&r)), Ok(()));
            prop_assert_eq!(
                verify(id.wrapping_add(1), &secret, &challenge, &hex_of(&r)),
                Err(ChapError::ResponseMismatch)
            );
        }

        #[test]
        fn target_arbitrary_inputs_never_panic(
            id in any::<u8>(),
            ch in proptest::collection::vec(any::<u8>(), 0..70),
            a in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            n in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            r in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            i in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..5)),
            c in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            out_len in 0usize..40,
        ) {
            let Ok(mut t) = ChapTarget::new(id, &ch) else {
                prop_assert!(ch.is_empty() || ch.len() > MAX_TARGET_CHALLENGE_LEN);
                return Ok(());
            };
            let _ = t.start(a.as_deref());
            let _ = t.write_challenge_keys(&mut [0; 200]);
            let _ = t.verify_initiator(n.as_deref(), r.as_deref(), b"x", SECRET);
            let mut out = std::vec![0u8; out_len];
            if let Ok(Some(len)) =
                t.mutual_response(i.as_deref(), c.as_deref(), Some(TSECRET), &mut out)
            {
                prop_assert_eq!(len, RESPONSE_HEX_LEN);
            }
        }

        #[test]
        fn target_full_exchange(
            id in any::<u8>(),
            ch in proptest::collection::vec(any::<u8>(), 1..=MAX_TARGET_CHALLENGE_LEN),
            ic in proptest::collection::vec(any::<u8>(), 1..200),
            iid in any::<u8>(),
        ) {
            prop_assume!(ic != ch);
            let mut t = ChapTarget::new(id, &ch).unwrap();
            prop_assert_eq!(t.start(Some(b"5")), Ok(5));
            let r = hex_of(&response(id, SECRET, &ch));
            prop_assert_eq!(t.verify_initiator(Some(NAME), Some(&r), NAME, SECRET), Ok(()));
            let mut out = [0u8; 34];
            let iid_s = std::format!("{iid}");
            prop_assert_eq!(
                t.mutual_response(Some(iid_s.as_bytes()), Some(&b64_of(&ic)), Some(TSECRET), &mut out),
                Ok(Some(34))
            );
            prop_assert_eq!(verify(iid, TSECRET, &ic, &out), Ok(()));
        }
    }
}
