// SPDX-License-Identifier: GPL-2.0

//! SPC-4 persistent reservations (SPC-4 5.13, 6.15, 6.16) for one logical
//! unit, as a fixed-capacity state machine.
//!
//! * [`PrState`] holds up to `N` registrations (default
//!   [`DEFAULT_MAX_REGISTRATIONS`]); a registration that does not fit fails
//!   with ILLEGAL REQUEST, INSUFFICIENT REGISTRATION RESOURCES (55/04).
//! * A registrant is an I_T nexus pattern ([`NexusPattern`]): the initiator
//!   port TransportID ([`TransportId`], iSCSI format 0/1 or a 24-byte
//!   generic one), the relative target port identifier, and whether it was
//!   registered on all target ports (ALL_TG_PT).
//! * [`PrState::prout`] executes PERSISTENT RESERVE OUT (REGISTER, REGISTER
//!   AND IGNORE EXISTING KEY, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND
//!   ABORT, REGISTER AND MOVE) and fills a [`Notices`] list: the UNIT
//!   ATTENTIONs owed to other nexuses (2A/03, 2A/04, 2A/05) and, for
//!   PREEMPT AND ABORT, whose tasks the core must abort.
//! * [`PrState::prin`] answers PERSISTENT RESERVE IN (READ KEYS, READ
//!   RESERVATION, REPORT CAPABILITIES, READ FULL STATUS), truncated to the
//!   allocation length.
//! * [`PrState::access`] is the conflict check for other commands
//!   (SPC-4 table 66 "SPC commands that are allowed in the presence of
//!   various reservations", SBC-3 table 13), with [`classify`] as a small
//!   local opcode classification.
//! * APTPL state is saved with [`PrState::save`] and restored with
//!   [`PrState::load`] in the versioned, checksummed format described at
//!   [`PERSIST_MAGIC`].
//!
//! Persistent reservations survive I_T nexus loss, LOGICAL UNIT RESET and
//! TARGET RESET (SPC-4 5.13.1): only power loss (without APTPL) or CLEAR /
//! PREEMPT remove them, so this module has no reset hooks besides
//! [`PrState::clear`].

use super::bytes::{get_u16, get_u32, get_u64, get_u8, put_u32, Writer};
use super::reserve::{Access, PrInterplay, PERSISTENT_RESERVE_IN, PERSISTENT_RESERVE_OUT};
use super::sense::{asc, Asc, Key, Sense};
use super::types::Status;

/// Default registration capacity of a [`PrState`].
pub const DEFAULT_MAX_REGISTRATIONS: usize = 64;

/// Largest TransportID accepted: an iSCSI format 1 TransportID with a
/// 223-byte iSCSI name, ",i,0x", 12 ISID digits and the NUL, padded to a
/// multiple of four (SPC-4 7.6.4.6), plus the 4-byte header.
pub const MAX_TID_LEN: usize = 248;

/// Length of every non-iSCSI TransportID (FC, SAS, SRP, SPI, 1394, ...).
pub const GENERIC_TID_LEN: usize = 24;

/// PROTOCOL IDENTIFIER of iSCSI (SPC-4 table 362).
pub const PROTOCOL_ISCSI: u8 = 0x5;

/// Length of the basic PERSISTENT RESERVE OUT parameter list (SPC-4 6.16.3).
pub const PROUT_BASIC_LEN: usize = 24;

/// Largest PERSISTENT RESERVE OUT parameter list accepted: longer lists are
/// rejected at CDB decode with PARAMETER LIST LENGTH ERROR, so the core never
/// has to transfer more than this.
pub const PROUT_MAX_PARAM_LEN: u32 = 16384;

/// ALLOW COMMANDS value reported by REPORT CAPABILITIES (SPC-4 6.15.4):
/// 011b, TEST UNIT READY is allowed through Write Exclusive and Exclusive
/// Access reservations and MODE SENSE, READ ATTRIBUTE, READ BUFFER, RECEIVE
/// COPY RESULTS, RECEIVE DIAGNOSTIC RESULTS, REPORT SUPPORTED OPERATION
/// CODES / TASK MANAGEMENT FUNCTIONS and READ DEFECT DATA are allowed
/// through Write Exclusive ones. [`classify`] implements exactly that.
pub const ALLOW_COMMANDS: u8 = 0b011;

/// Persistent reservation types (SPC-4 table 210).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PrType {
    /// Write Exclusive.
    WriteExclusive = 0x1,
    /// Exclusive Access.
    ExclusiveAccess = 0x3,
    /// Write Exclusive – Registrants Only.
    WriteExclusiveRegistrantsOnly = 0x5,
    /// Exclusive Access – Registrants Only.
    ExclusiveAccessRegistrantsOnly = 0x6,
    /// Write Exclusive – All Registrants.
    WriteExclusiveAllRegistrants = 0x7,
    /// Exclusive Access – All Registrants.
    ExclusiveAccessAllRegistrants = 0x8,
}

impl PrType {
    /// Decodes a TYPE field value.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x1 => Self::WriteExclusive,
            0x3 => Self::ExclusiveAccess,
            0x5 => Self::WriteExclusiveRegistrantsOnly,
            0x6 => Self::ExclusiveAccessRegistrantsOnly,
            0x7 => Self::WriteExclusiveAllRegistrants,
            0x8 => Self::ExclusiveAccessAllRegistrants,
            _ => return None,
        })
    }

    /// All-registrants types: every registrant is a reservation holder.
    pub fn all_registrants(self) -> bool {
        matches!(
            self,
            Self::WriteExclusiveAllRegistrants | Self::ExclusiveAccessAllRegistrants
        )
    }

    /// Registrants-only types.
    pub fn registrants_only(self) -> bool {
        matches!(
            self,
            Self::WriteExclusiveRegistrantsOnly | Self::ExclusiveAccessRegistrantsOnly
        )
    }

    /// Exclusive Access types (reads conflict too), as opposed to Write
    /// Exclusive ones.
    pub fn exclusive_access(self) -> bool {
        matches!(
            self,
            Self::ExclusiveAccess
                | Self::ExclusiveAccessRegistrantsOnly
                | Self::ExclusiveAccessAllRegistrants
        )
    }
}

/// Where a TransportID is malformed, relative to its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TidError {
    /// Offset of the offending field within the TransportID.
    pub byte: usize,
    /// Bit of the offending field, if it is a bit field.
    pub bit: Option<u8>,
}

const TID_BAD_FORMAT: TidError = TidError {
    byte: 0,
    bit: Some(7),
};
const TID_BAD_LENGTH: TidError = TidError { byte: 2, bit: None };
const TID_BAD_NAME: TidError = TidError { byte: 4, bit: None };
const TID_TRUNCATED: TidError = TidError { byte: 0, bit: None };

/// Longest iSCSI name (RFC 7143 4.2.7.1: 223 bytes).
const ISCSI_NAME_MAX: usize = 223;

/// The iSCSI initiator port separator of format 1 TransportIDs.
const ISID_SEPARATOR: &[u8] = b",i,0x";

/// An initiator port TransportID (SPC-4 7.6.4), validated, of bounded size.
#[derive(Clone, Copy)]
pub struct TransportId {
    len: u16,
    buf: [u8; MAX_TID_LEN],
}

impl PartialEq for TransportId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for TransportId {}

impl core::fmt::Debug for TransportId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.protocol() == PROTOCOL_ISCSI {
            f.write_str("TransportId(iscsi:")?;
            for &c in self.iscsi_string() {
                let c = if c.is_ascii_graphic() { c } else { b'?' };
                core::fmt::Write::write_char(f, char::from(c))?;
            }
            f.write_str(")")
        } else {
            write!(f, "TransportId({:02x?})", self.as_bytes())
        }
    }
}

impl TransportId {
    /// An empty placeholder (length 0); never matches anything.
    pub const EMPTY: Self = Self {
        len: 0,
        buf: [0; MAX_TID_LEN],
    };

    /// Parses one TransportID at the start of `b`; returns it and the number
    /// of bytes it takes.
    ///
    /// iSCSI (protocol 5): FORMAT CODE 00b (name) or 01b (initiator port,
    /// `name,i,0x<ISID>`), ADDITIONAL LENGTH a multiple of 4 and at least 20,
    /// a NUL-terminated non-empty name, and for format 01b a separator
    /// followed by hexadecimal ISID digits. Other protocols: FORMAT CODE 00b
    /// and 24 bytes.
    pub fn parse(b: &[u8]) -> Result<(Self, usize), TidError> {
        let Some(&b0) = b.first() else {
            return Err(TID_TRUNCATED);
        };
        let fmt = b0 >> 6;
        let total = if b0 & 0x0f == PROTOCOL_ISCSI {
            if fmt > 1 {
                return Err(TID_BAD_FORMAT);
            }
            if b.len() < 4 {
                return Err(TID_TRUNCATED);
            }
            let addl = usize::from(get_u16(b, 2));
            if addl < 20 || addl % 4 != 0 || addl + 4 > MAX_TID_LEN {
                return Err(TID_BAD_LENGTH);
            }
            let total = addl + 4;
            let body = b.get(4..total).ok_or(TID_TRUNCATED)?;
            let nul = body.iter().position(|&c| c == 0).ok_or(TID_BAD_NAME)?;
            let s = body.get(..nul).ok_or(TID_BAD_NAME)?;
            match split_isid(s) {
                Some((name, isid)) if fmt == 1 => {
                    if name.is_empty() || isid.is_empty() || !isid.iter().all(u8::is_ascii_hexdigit)
                    {
                        return Err(TID_BAD_NAME);
                    }
                }
                None if fmt == 0 => {
                    if s.is_empty() {
                        return Err(TID_BAD_NAME);
                    }
                }
                _ => return Err(TID_BAD_NAME),
            }
            total
        } else {
            if fmt != 0 {
                return Err(TID_BAD_FORMAT);
            }
            if b.len() < GENERIC_TID_LEN {
                return Err(TID_TRUNCATED);
            }
            GENERIC_TID_LEN
        };
        let mut t = Self::EMPTY;
        let src = b.get(..total).ok_or(TID_TRUNCATED)?;
        let dst = t.buf.get_mut(..total).ok_or(TID_BAD_LENGTH)?;
        dst.copy_from_slice(src);
        t.len = total as u16;
        Ok((t, total))
    }

    /// Parses `b`, which must be exactly one valid TransportID.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        match Self::parse(b) {
            Ok((t, n)) if n == b.len() => Some(t),
            _ => None,
        }
    }

    /// Builds an iSCSI format 00b TransportID (initiator device name only).
    pub fn iscsi_name(name: &[u8]) -> Option<Self> {
        Self::iscsi_build(0x00, name, None)
    }

    /// Builds an iSCSI format 01b TransportID for initiator port
    /// `name,i,0x<isid>` (the ISID is the low 48 bits of `isid`).
    pub fn iscsi_port(name: &[u8], isid: u64) -> Option<Self> {
        Self::iscsi_build(0x40, name, Some(isid))
    }

    fn iscsi_build(fmt: u8, name: &[u8], isid: Option<u64>) -> Option<Self> {
        if name.is_empty()
            || name.len() > ISCSI_NAME_MAX
            || name.contains(&0)
            || split_isid(name).is_some()
        {
            return None;
        }
        let mut s = [0u8; MAX_TID_LEN];
        let mut n = 0usize;
        let mut push = |c: u8| -> Option<()> {
            *s.get_mut(n)? = c;
            n += 1;
            Some(())
        };
        for &c in name {
            push(c)?;
        }
        if let Some(isid) = isid {
            for &c in ISID_SEPARATOR {
                push(c)?;
            }
            for i in (0..12).rev() {
                let d = ((isid >> (i * 4)) & 0xf) as u8;
                push(if d < 10 { b'0' + d } else { b'a' + d - 10 })?;
            }
        }
        // NUL terminator and padding to a multiple of four, at least 20.
        let addl = (n + 1).div_ceil(4).checked_mul(4)?.max(20);
        let total = addl.checked_add(4)?;
        if total > MAX_TID_LEN {
            return None;
        }
        let mut t = Self::EMPTY;
        t.buf[0] = fmt | PROTOCOL_ISCSI;
        t.buf[2] = (addl >> 8) as u8;
        t.buf[3] = addl as u8;
        t.buf.get_mut(4..4 + n)?.copy_from_slice(s.get(..n)?);
        t.len = total as u16;
        Some(t)
    }

    /// Builds a 24-byte TransportID of a protocol other than iSCSI.
    pub fn generic(raw: &[u8; GENERIC_TID_LEN]) -> Option<Self> {
        if raw[0] & 0x0f == PROTOCOL_ISCSI {
            return None;
        }
        Self::from_bytes(raw)
    }

    /// The encoded TransportID.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether this is the [`TransportId::EMPTY`] placeholder.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// PROTOCOL IDENTIFIER.
    pub fn protocol(&self) -> u8 {
        self.buf[0] & 0x0f
    }

    /// FORMAT CODE.
    pub fn format(&self) -> u8 {
        self.buf[0] >> 6
    }

    /// The NUL-terminated iSCSI string (name, or "name,i,0x<ISID>").
    fn iscsi_string(&self) -> &[u8] {
        let body = self.as_bytes().get(4..).unwrap_or(&[]);
        let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
        body.get(..end).unwrap_or(&[])
    }

    /// Whether two TransportIDs name the same initiator port.
    ///
    /// iSCSI names compare case-insensitively; when either side is a format
    /// 00b (name-only) TransportID, it names every port of that initiator,
    /// so only the names are compared (SPC-4 7.6.4.6). Other protocols
    /// compare all 24 bytes.
    pub fn matches(&self, other: &Self) -> bool {
        if self.is_empty() || other.is_empty() || self.protocol() != other.protocol() {
            return false;
        }
        if self.protocol() != PROTOCOL_ISCSI {
            return self.as_bytes() == other.as_bytes();
        }
        let a = self.iscsi_string();
        let b = other.iscsi_string();
        match (split_isid(a), split_isid(b)) {
            (Some((na, ia)), Some((nb, ib))) => {
                na.eq_ignore_ascii_case(nb) && ia.eq_ignore_ascii_case(ib)
            }
            (Some((na, _)), None) => na.eq_ignore_ascii_case(b),
            (None, Some((nb, _))) => a.eq_ignore_ascii_case(nb),
            (None, None) => a.eq_ignore_ascii_case(b),
        }
    }
}

/// Splits "name,i,0x<ISID>" at the separator (case-insensitive).
fn split_isid(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = ISID_SEPARATOR.len();
    let pos = s
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(ISID_SEPARATOR))?;
    Some((s.get(..pos)?, s.get(pos + n..)?))
}

/// An I_T nexus as seen by the device server: the initiator port's
/// TransportID and the relative target port identifier it came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ItNexus {
    /// Initiator port TransportID.
    pub tid: TransportId,
    /// RELATIVE TARGET PORT IDENTIFIER of the target port.
    pub rtpi: u16,
}

/// The set of I_T nexuses one registration stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NexusPattern {
    /// Initiator port TransportID (format 00b iSCSI covers all its ports).
    pub tid: TransportId,
    /// Relative target port identifier (ignored when `all_tg_pt`).
    pub rtpi: u16,
    /// Registered through every target port (ALL_TG_PT).
    pub all_tg_pt: bool,
}

impl NexusPattern {
    const EMPTY: Self = Self {
        tid: TransportId::EMPTY,
        rtpi: 0,
        all_tg_pt: false,
    };

    /// Whether the I_T nexus `n` belongs to this pattern.
    pub fn matches(&self, n: &ItNexus) -> bool {
        (self.all_tg_pt || self.rtpi == n.rtpi) && self.tid.matches(&n.tid)
    }

    /// Whether some I_T nexus belongs to both patterns.
    fn overlaps(&self, o: &Self) -> bool {
        (self.all_tg_pt || o.all_tg_pt || self.rtpi == o.rtpi) && self.tid.matches(&o.tid)
    }

    /// Whether the pattern is exactly the single nexus `n`'s own port.
    fn is_exactly(&self, n: &ItNexus) -> bool {
        !self.all_tg_pt && self.rtpi == n.rtpi && self.tid.matches(&n.tid)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reg {
    id: NexusPattern,
    key: u64,
    /// Holder of a non-all-registrants reservation.
    holder: bool,
}

impl Reg {
    const EMPTY: Self = Self {
        id: NexusPattern::EMPTY,
        key: 0,
        holder: false,
    };
}

/// A read-only view of one registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationView<'a> {
    /// The registered I_T nexus (pattern).
    pub nexus: &'a NexusPattern,
    /// Its reservation key.
    pub key: u64,
    /// Whether it is a persistent reservation holder.
    pub holder: bool,
}

/// One action the core owes an I_T nexus after a PERSISTENT RESERVE OUT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The I_T nexus(es) concerned: every session matching the pattern.
    pub nexus: NexusPattern,
    /// UNIT ATTENTION to establish (2A/03, 2A/04 or 2A/05), if any.
    pub ua: Option<Asc>,
    /// PREEMPT AND ABORT: abort every task of the nexus, except the
    /// PERSISTENT RESERVE OUT command itself (SPC-4 5.13.11.4.5).
    pub abort: bool,
}

impl Notice {
    const EMPTY: Self = Self {
        nexus: NexusPattern::EMPTY,
        ua: None,
        abort: false,
    };
}

/// The notices produced by one PERSISTENT RESERVE OUT; at most one per
/// registration that existed before the command, so capacity `N` suffices.
#[derive(Clone, Debug)]
pub struct Notices<const N: usize = DEFAULT_MAX_REGISTRATIONS> {
    items: [Notice; N],
    len: usize,
}

impl<const N: usize> Default for Notices<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Notices<N> {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            items: [Notice::EMPTY; N],
            len: 0,
        }
    }

    /// Empties the list.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Number of notices.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The notices.
    pub fn as_slice(&self) -> &[Notice] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// The notice for the nexus pattern `p`, if any.
    pub fn find(&self, p: &NexusPattern) -> Option<&Notice> {
        self.as_slice().iter().find(|n| n.nexus == *p)
    }

    /// Adds (or merges into an existing entry for the same pattern) a
    /// UNIT ATTENTION and/or abort request. The first UA recorded wins.
    fn add(&mut self, p: &NexusPattern, ua: Option<Asc>, abort: bool) {
        let len = self.len;
        if let Some(n) = self
            .items
            .get_mut(..len)
            .and_then(|s| s.iter_mut().find(|n| n.nexus == *p))
        {
            n.ua = n.ua.or(ua);
            n.abort |= abort;
            return;
        }
        if let Some(slot) = self.items.get_mut(len) {
            *slot = Notice {
                nexus: *p,
                ua,
                abort,
            };
            self.len = len + 1;
        }
    }
}

/// PERSISTENT RESERVE IN service actions (SPC-4 table 203).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrinAction {
    /// READ KEYS.
    ReadKeys,
    /// READ RESERVATION.
    ReadReservation,
    /// REPORT CAPABILITIES.
    ReportCapabilities,
    /// READ FULL STATUS.
    ReadFullStatus,
}

/// A decoded PERSISTENT RESERVE IN CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrinCdb {
    /// The service action.
    pub action: PrinAction,
    /// ALLOCATION LENGTH (bytes 7-8).
    pub alloc_len: u16,
}

/// Decodes a PERSISTENT RESERVE IN CDB (SPC-4 6.15.1).
pub fn parse_prin_cdb(cdb: &[u8]) -> Result<PrinCdb, Sense> {
    if get_u8(cdb, 0) != PERSISTENT_RESERVE_IN {
        return Err(Sense::invalid_opcode());
    }
    let action = match get_u8(cdb, 1) & 0x1f {
        0 => PrinAction::ReadKeys,
        1 => PrinAction::ReadReservation,
        2 => PrinAction::ReportCapabilities,
        3 => PrinAction::ReadFullStatus,
        _ => return Err(Sense::invalid_field_in_cdb(1, Some(4))),
    };
    Ok(PrinCdb {
        action,
        alloc_len: get_u16(cdb, 7),
    })
}

/// PERSISTENT RESERVE OUT service actions (SPC-4 table 214).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProutAction {
    /// REGISTER.
    Register,
    /// RESERVE.
    Reserve,
    /// RELEASE.
    Release,
    /// CLEAR.
    Clear,
    /// PREEMPT.
    Preempt,
    /// PREEMPT AND ABORT.
    PreemptAndAbort,
    /// REGISTER AND IGNORE EXISTING KEY.
    RegisterAndIgnore,
    /// REGISTER AND MOVE.
    RegisterAndMove,
}

impl ProutAction {
    /// Whether SCOPE and TYPE are used (and so validated).
    fn uses_type(self) -> bool {
        matches!(
            self,
            Self::Reserve | Self::Release | Self::Preempt | Self::PreemptAndAbort
        )
    }
}

/// A decoded PERSISTENT RESERVE OUT CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProutCdb {
    /// The service action.
    pub action: ProutAction,
    /// The reservation type; validated (and `Some`) for RESERVE, RELEASE,
    /// PREEMPT and PREEMPT AND ABORT, `None` for the others.
    pub pr_type: Option<PrType>,
    /// PARAMETER LIST LENGTH (bytes 5-8).
    pub param_len: u32,
}

/// Decodes a PERSISTENT RESERVE OUT CDB (SPC-4 6.16.1).
///
/// Errors: unknown service action → INVALID FIELD IN CDB (byte 1, bit 4);
/// for RESERVE/RELEASE/PREEMPT/PREEMPT AND ABORT a SCOPE other than LU_SCOPE
/// → INVALID FIELD IN CDB (byte 2, bit 7) and an unknown TYPE → INVALID
/// FIELD IN CDB (byte 2, bit 3); a parameter list longer than
/// [`PROUT_MAX_PARAM_LEN`] → PARAMETER LIST LENGTH ERROR.
pub fn parse_prout_cdb(cdb: &[u8]) -> Result<ProutCdb, Sense> {
    if get_u8(cdb, 0) != PERSISTENT_RESERVE_OUT {
        return Err(Sense::invalid_opcode());
    }
    let action = match get_u8(cdb, 1) & 0x1f {
        0 => ProutAction::Register,
        1 => ProutAction::Reserve,
        2 => ProutAction::Release,
        3 => ProutAction::Clear,
        4 => ProutAction::Preempt,
        5 => ProutAction::PreemptAndAbort,
        6 => ProutAction::RegisterAndIgnore,
        7 => ProutAction::RegisterAndMove,
        _ => return Err(Sense::invalid_field_in_cdb(1, Some(4))),
    };
    let b2 = get_u8(cdb, 2);
    let pr_type = if action.uses_type() {
        if b2 >> 4 != 0 {
            return Err(Sense::invalid_field_in_cdb(2, Some(7)));
        }
        Some(PrType::from_u8(b2 & 0x0f).ok_or(Sense::invalid_field_in_cdb(2, Some(3)))?)
    } else {
        None
    };
    let param_len = get_u32(cdb, 5);
    if param_len > PROUT_MAX_PARAM_LEN {
        return Err(Sense::param_list_length_error());
    }
    Ok(ProutCdb {
        action,
        pr_type,
        param_len,
    })
}

/// Conflict class of a command for the persistent reservation check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdClass {
    /// Never conflicts (INQUIRY, REPORT LUNS, REQUEST SENSE, LOG SENSE,
    /// READ CAPACITY, REPORT TARGET PORT GROUPS, TEST UNIT READY, ...).
    Unrestricted,
    /// Reads: allowed through Write Exclusive types, conflicts with
    /// Exclusive Access types for non-holders / non-registrants.
    Read,
    /// Writes and anything else that changes state: conflicts with every
    /// type for non-holders / non-registrants. Unknown commands land here.
    Write,
    /// PERSISTENT RESERVE IN: always allowed.
    PrIn,
    /// PERSISTENT RESERVE OUT: allowed here; [`PrState::prout`] applies the
    /// per-service-action rules (SPC-4 table 67).
    PrOut,
    /// RESERVE / RELEASE (6/10): allowed here; the core applies
    /// [`PrState::spc2_interplay`] instead.
    Spc2,
}

/// Classifies common SPC / SBC commands for [`PrState::access`]
/// (SPC-4 table 66 with ALLOW COMMANDS = 011b, SBC-3 table 13).
pub fn classify(cdb: &[u8]) -> CmdClass {
    use CmdClass::*;
    match get_u8(cdb, 0) {
        // TEST UNIT READY, REQUEST SENSE, INQUIRY, LOG SENSE, READ CAPACITY(10),
        // REPORT LUNS, ACCESS CONTROL IN/OUT.
        0x00 | 0x03 | 0x12 | 0x4d | 0x25 | 0xa0 | 0x86 | 0x87 => Unrestricted,
        PERSISTENT_RESERVE_IN => PrIn,
        PERSISTENT_RESERVE_OUT => PrOut,
        0x16 | 0x17 | 0x56 | 0x57 => Spc2,
        // PREVENT ALLOW MEDIUM REMOVAL: only PREVENT = 0 is allowed.
        0x1e => {
            if get_u8(cdb, 4) & 0x03 == 0 {
                Unrestricted
            } else {
                Write
            }
        }
        // START STOP UNIT: START = 1 with POWER CONDITION 0 is allowed.
        0x1b => {
            let b4 = get_u8(cdb, 4);
            if b4 & 0x01 != 0 && b4 >> 4 == 0 {
                Unrestricted
            } else {
                Write
            }
        }
        // READ(6/10/12/16), VERIFY(10/12/16), PRE-FETCH(10/16), READ LONG(10),
        // MODE SENSE(6/10), READ BUFFER, RECEIVE DIAGNOSTIC RESULTS,
        // READ DEFECT DATA(10/12), READ ATTRIBUTE, RECEIVE COPY RESULTS,
        // SECURITY PROTOCOL IN.
        0x08 | 0x28 | 0xa8 | 0x88 | 0x2f | 0xaf | 0x8f | 0x34 | 0x90 | 0x3e | 0x1a | 0x5a
        | 0x3c | 0x1c | 0x37 | 0xb7 | 0x8c | 0x84 | 0xa2 => Read,
        // SERVICE ACTION IN(16): READ CAPACITY(16) is unrestricted, GET LBA
        // STATUS, REPORT REFERRALS and READ LONG(16) read.
        0x9e => match get_u8(cdb, 1) & 0x1f {
            0x10 => Unrestricted,
            _ => Read,
        },
        // MAINTENANCE IN.
        0xa3 => match get_u8(cdb, 1) & 0x1f {
            0x05 | 0x0a | 0x0b | 0x0e | 0x0f => Unrestricted,
            0x0c | 0x0d => Read,
            _ => Write,
        },
        // SERVICE ACTION IN(12): READ MEDIA SERIAL NUMBER.
        0xab if get_u8(cdb, 1) & 0x1f == 0x01 => Unrestricted,
        // Variable length: READ(32), VERIFY(32).
        0x7f => match get_u16(cdb, 8) {
            0x0009 | 0x000a => Read,
            _ => Write,
        },
        _ => Write,
    }
}

/// Result of a PERSISTENT RESERVE OUT that did not end in CHECK CONDITION.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProutOutcome {
    /// GOOD or RESERVATION CONFLICT.
    pub status: Status,
    /// The state changed and APTPL is (or just stopped being) active: the
    /// core should [`PrState::save`] it (or remove the saved copy when
    /// [`PrState::aptpl`] is now false).
    pub persist: bool,
}

/// Why a saved state could not be written or read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersistError {
    /// The output buffer is smaller than [`PrState::saved_len`].
    BufferTooSmall,
    /// Not a PR state image (wrong magic or shorter than a header).
    BadMagic,
    /// A version this code does not understand.
    UnsupportedVersion,
    /// Header or record lengths are inconsistent with the data.
    BadLength,
    /// The CRC-32 does not match.
    BadChecksum,
    /// A field has an invalid value (type, flags, key, TransportID, holder).
    BadField,
    /// More registrations than this state's capacity.
    TooManyRegistrations,
}

/// Magic at the start of a saved PR state.
///
/// Format version 1, all integers big-endian:
///
/// ```text
/// header (24 bytes)
///   0   8  magic "SCSTRSPR"
///   8   2  version = 1
///  10   2  header length = 24
///  12   4  total length, CRC included
///  16   1  flags: bit 0 APTPL, others 0
///  17   1  reservation TYPE (0 = no reservation)
///  18   1  reservation SCOPE (0 = LU_SCOPE)
///  19   1  0
///  20   2  registration count
///  22   2  0
/// record (16 + TransportID length bytes), count times, in READ KEYS order
///   0   8  reservation key (non-zero)
///   8   2  relative target port identifier
///  10   1  flags: bit 0 ALL_TG_PT, bit 1 holder, others 0
///  11   1  0
///  12   2  TransportID length
///  14   2  0
///  16   n  TransportID
/// trailer
///   0   4  CRC-32 (IEEE 802.3, reflected, as zlib) of all preceding bytes
/// ```
///
/// PRgeneration is not saved: it restarts at zero on power on (SPC-4
/// 6.15.2). Loading validates everything and changes nothing on error.
pub const PERSIST_MAGIC: [u8; 8] = *b"SCSTRSPR";
/// Current saved-state format version.
pub const PERSIST_VERSION: u16 = 1;
const PERSIST_HEADER_LEN: usize = 24;
const PERSIST_RECORD_LEN: usize = 16;
const PERSIST_CRC_LEN: usize = 4;

/// The largest image [`PrState::save`] produces for capacity `n`.
pub const fn max_saved_len(n: usize) -> usize {
    PERSIST_HEADER_LEN + n * (PERSIST_RECORD_LEN + MAX_TID_LEN) + PERSIST_CRC_LEN
}

/// CRC-32 (IEEE 802.3 polynomial, reflected, initial and final XOR ~0).
pub fn crc32(data: &[u8]) -> u32 {
    crc32_parts(&[data])
}

/// [`crc32`] of the concatenation of `parts`.
pub fn crc32_parts(parts: &[&[u8]]) -> u32 {
    let mut c = !0u32;
    for &b in parts.iter().flat_map(|p| p.iter()) {
        c ^= u32::from(b);
        for _ in 0..8 {
            let mask = (c & 1).wrapping_neg();
            c = (c >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !c
}

fn conflict() -> Result<(Status, bool), Sense> {
    Ok((Status::ReservationConflict, false))
}

fn insufficient_registration_resources() -> Sense {
    Sense::new(
        Key::IllegalRequest,
        asc::INSUFFICIENT_REGISTRATION_RESOURCES,
    )
}

/// The basic PERSISTENT RESERVE OUT parameter list (SPC-4 6.16.3).
struct Basic {
    key: u64,
    sa_key: u64,
    spec_i_pt: bool,
    all_tg_pt: bool,
    aptpl: bool,
}

impl Basic {
    fn parse(p: &[u8]) -> Self {
        let b20 = get_u8(p, 20);
        Self {
            key: get_u64(p, 0),
            sa_key: get_u64(p, 8),
            spec_i_pt: b20 & 0x08 != 0,
            all_tg_pt: b20 & 0x04 != 0,
            aptpl: b20 & 0x01 != 0,
        }
    }
}

/// Persistent reservation state of one logical unit, with room for `N`
/// registrations.
///
/// About `N * 270` bytes: allocate it on the heap in the kernel.
#[derive(Clone, Debug)]
pub struct PrState<const N: usize = DEFAULT_MAX_REGISTRATIONS> {
    regs: [Reg; N],
    count: usize,
    reservation: Option<PrType>,
    generation: u32,
    aptpl: bool,
}

impl<const N: usize> Default for PrState<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PrState<N> {
    /// No registrations, no reservation, PRgeneration 0, APTPL off.
    pub const fn new() -> Self {
        Self {
            regs: [Reg::EMPTY; N],
            count: 0,
            reservation: None,
            generation: 0,
            aptpl: false,
        }
    }

    /// Drops every registration and the reservation and zeroes PRgeneration
    /// (power on without APTPL).
    pub fn clear(&mut self) {
        self.count = 0;
        self.reservation = None;
        self.generation = 0;
        self.aptpl = false;
    }

    /// The PRgeneration counter (SPC-4 6.15.2).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The APTPL value of the last successful registration command.
    pub fn aptpl(&self) -> bool {
        self.aptpl
    }

    /// The current reservation type, if reserved (the scope is always
    /// LU_SCOPE).
    pub fn reservation(&self) -> Option<PrType> {
        self.reservation
    }

    /// Whether a persistent reservation exists.
    pub fn is_reserved(&self) -> bool {
        self.reservation.is_some()
    }

    /// Number of registrations.
    pub fn registration_count(&self) -> usize {
        self.count
    }

    fn regs(&self) -> &[Reg] {
        self.regs.get(..self.count).unwrap_or(&[])
    }

    /// The registrations in READ KEYS order.
    pub fn registrations(&self) -> impl Iterator<Item = RegistrationView<'_>> + '_ {
        let ar = self.reservation.is_some_and(PrType::all_registrants);
        self.regs().iter().map(move |r| RegistrationView {
            nexus: &r.id,
            key: r.key,
            holder: ar || r.holder,
        })
    }

    /// Index of the registration of `n`, preferring a registration through
    /// `n`'s own target port over an ALL_TG_PT one.
    fn find(&self, n: &ItNexus) -> Option<usize> {
        let regs = self.regs();
        regs.iter()
            .position(|r| r.id.is_exactly(n))
            .or_else(|| regs.iter().position(|r| r.id.matches(n)))
    }

    fn is_holder_at(&self, i: usize) -> bool {
        match (self.reservation, self.regs().get(i)) {
            (Some(t), Some(r)) => t.all_registrants() || r.holder,
            _ => false,
        }
    }

    /// The reservation key registered for `n`, if registered.
    pub fn key_of(&self, n: &ItNexus) -> Option<u64> {
        self.find(n).and_then(|i| self.regs().get(i)).map(|r| r.key)
    }

    /// Whether `n` is registered.
    pub fn is_registered(&self, n: &ItNexus) -> bool {
        self.find(n).is_some()
    }

    /// Whether `n` is a persistent reservation holder.
    pub fn is_holder(&self, n: &ItNexus) -> bool {
        self.find(n).is_some_and(|i| self.is_holder_at(i))
    }

    /// Access check of a command of class `class` from `n` (SPC-4 5.13.1,
    /// table 66; SBC-3 table 13). Fast when there is no reservation.
    pub fn access(&self, n: &ItNexus, class: CmdClass) -> Access {
        let Some(t) = self.reservation else {
            return Access::Allowed;
        };
        let restricted = match class {
            CmdClass::Unrestricted | CmdClass::PrIn | CmdClass::PrOut | CmdClass::Spc2 => {
                return Access::Allowed
            }
            CmdClass::Read => t.exclusive_access(),
            CmdClass::Write => true,
        };
        if !restricted {
            return Access::Allowed;
        }
        match self.find(n) {
            Some(i) if self.is_holder_at(i) || t.registrants_only() => Access::Allowed,
            _ => Access::Conflict,
        }
    }

    /// How an SPC-2 RESERVE / RELEASE from `n` is handled while
    /// registrations exist (SPC-4 5.13.3, CRH = 1): see [`PrInterplay`].
    pub fn spc2_interplay(&self, n: &ItNexus) -> PrInterplay {
        if self.count == 0 {
            return PrInterplay::NoRegistrations;
        }
        match (self.find(n), self.reservation) {
            (Some(i), Some(t)) if self.is_holder_at(i) || t.registrants_only() => {
                PrInterplay::GoodNoOp
            }
            _ => PrInterplay::Conflict,
        }
    }

    /// Executes PERSISTENT RESERVE IN into `out`, truncated to the
    /// allocation length; returns the number of bytes to transfer.
    pub fn prin(&self, cdb: &PrinCdb, out: &mut [u8]) -> usize {
        let lim = out.len().min(usize::from(cdb.alloc_len));
        let mut w = Writer::new(out.get_mut(..lim).unwrap_or(&mut []));
        match cdb.action {
            PrinAction::ReadKeys => {
                w.u32(self.generation);
                w.u32((self.count as u32).saturating_mul(8));
                for r in self.regs() {
                    w.u64(r.key);
                }
            }
            PrinAction::ReadReservation => {
                w.u32(self.generation);
                match self.reservation {
                    None => w.u32(0),
                    Some(t) => {
                        w.u32(16);
                        // All-registrants reservations report key 0.
                        let key = if t.all_registrants() {
                            0
                        } else {
                            self.regs().iter().find(|r| r.holder).map_or(0, |r| r.key)
                        };
                        w.u64(key);
                        w.u32(0);
                        w.u8(0);
                        w.u8(t as u8);
                        w.u16(0);
                    }
                }
            }
            PrinAction::ReportCapabilities => {
                w.u16(8);
                // CRH, SIP_C, ATP_C, PTPL_C.
                w.u8(0x10 | 0x08 | 0x04 | 0x01);
                // TMV, ALLOW COMMANDS, PTPL_A.
                w.u8(0x80 | (ALLOW_COMMANDS << 4) | u8::from(self.aptpl));
                // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; EX_AC_AR.
                w.u8(0x80 | 0x40 | 0x20 | 0x08 | 0x02);
                w.u8(0x01);
                w.u16(0);
            }
            PrinAction::ReadFullStatus => {
                w.u32(self.generation);
                w.u32(0);
                let ar = self.reservation.is_some_and(PrType::all_registrants);
                for r in self.regs() {
                    let holder = ar || r.holder;
                    w.u64(r.key);
                    w.u32(0);
                    w.u8((u8::from(r.id.all_tg_pt) << 1) | u8::from(holder));
                    w.u8(match self.reservation {
                        Some(t) if holder => t as u8,
                        _ => 0,
                    });
                    w.u32(0);
                    w.u16(if r.id.all_tg_pt { 0 } else { r.id.rtpi });
                    w.u32(r.id.tid.len() as u32);
                    w.bytes(r.id.tid.as_bytes());
                }
                let addl = w.len().saturating_sub(8);
                w.patch_u32(4, u32::try_from(addl).unwrap_or(u32::MAX));
            }
        }
        w.stored()
    }

    /// Executes PERSISTENT RESERVE OUT from `n` with parameter list
    /// `params` (at least `cdb.param_len` bytes; extra bytes are ignored).
    ///
    /// `notices` is cleared and receives the UNIT ATTENTIONs and aborts the
    /// core must carry out. Returns the status (GOOD or RESERVATION
    /// CONFLICT) or the CHECK CONDITION sense; on any error nothing changed.
    pub fn prout(
        &mut self,
        n: &ItNexus,
        cdb: &ProutCdb,
        params: &[u8],
        notices: &mut Notices<N>,
    ) -> Result<ProutOutcome, Sense> {
        notices.clear();
        let pll = usize::try_from(cdb.param_len).map_err(|_| Sense::param_list_length_error())?;
        let p = params.get(..pll).ok_or(Sense::param_list_length_error())?;
        let aptpl_before = self.aptpl;
        let res = if cdb.action == ProutAction::RegisterAndMove {
            self.register_and_move(n, p)
        } else {
            self.basic_action(n, cdb, p, notices)
        };
        let res = res.inspect_err(|_| notices.clear());
        let (status, changed) = res?;
        Ok(ProutOutcome {
            status,
            persist: changed && (aptpl_before || self.aptpl),
        })
    }

    fn basic_action(
        &mut self,
        n: &ItNexus,
        cdb: &ProutCdb,
        p: &[u8],
        notices: &mut Notices<N>,
    ) -> Result<(Status, bool), Sense> {
        if p.len() < PROUT_BASIC_LEN {
            return Err(Sense::param_list_length_error());
        }
        let b = Basic::parse(p);
        match cdb.action {
            ProutAction::Register if b.spec_i_pt => {
                let tpdl = get_u32(p, 24) as usize;
                if p.len() < PROUT_BASIC_LEN + 4 || tpdl.checked_add(28) != Some(p.len()) {
                    return Err(Sense::param_list_length_error());
                }
            }
            ProutAction::Register => {}
            ProutAction::RegisterAndIgnore => {
                if b.spec_i_pt {
                    return Err(Sense::invalid_field_in_param(20, Some(3)));
                }
            }
            _ => {
                if b.spec_i_pt {
                    return Err(Sense::invalid_field_in_param(20, Some(3)));
                }
                if b.all_tg_pt {
                    return Err(Sense::invalid_field_in_param(20, Some(2)));
                }
            }
        }
        if !b.spec_i_pt && p.len() != PROUT_BASIC_LEN {
            return Err(Sense::param_list_length_error());
        }
        let me = self.find(n);
        let ty = cdb.pr_type;
        match (cdb.action, ty) {
            (ProutAction::Register, _) => self.register(n, me, &b, p, false, notices),
            (ProutAction::RegisterAndIgnore, _) => self.register(n, me, &b, p, true, notices),
            (ProutAction::Reserve, Some(t)) => self.reserve(me, &b, t),
            (ProutAction::Release, Some(t)) => self.release(me, &b, t, notices),
            (ProutAction::Clear, _) => self.clear_action(me, &b, notices),
            (ProutAction::Preempt, Some(t)) => self.preempt(me, &b, t, false, notices),
            (ProutAction::PreemptAndAbort, Some(t)) => self.preempt(me, &b, t, true, notices),
            // A hand-built ProutCdb without a type for a typed action.
            _ => Err(Sense::invalid_field_in_cdb(2, Some(3))),
        }
    }

    /// Checks the registering nexus' key; `Ok(Some(i))` if registered with
    /// the right key, `Ok(None)` if it must conflict.
    fn keyed(&self, me: Option<usize>, key: u64) -> Option<usize> {
        let i = me?;
        (self.regs().get(i)?.key == key).then_some(i)
    }

    fn push(&mut self, r: Reg) -> Result<usize, Sense> {
        let i = self.count;
        let slot = self
            .regs
            .get_mut(i)
            .ok_or_else(insufficient_registration_resources)?;
        *slot = r;
        self.count = i + 1;
        Ok(i)
    }

    fn remove_at(&mut self, i: usize) {
        if i < self.count {
            self.regs.copy_within(i + 1..self.count, i);
            self.count -= 1;
        }
    }

    /// UA `code` to every registration except index `except`.
    fn ua_all(&self, except: Option<usize>, code: Asc, notices: &mut Notices<N>) {
        for (j, r) in self.regs().iter().enumerate() {
            if Some(j) != except {
                notices.add(&r.id, Some(code), false);
            }
        }
    }

    fn bump_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Removes the registrations selected by `pred` (SPC-4 5.13.11.3):
    /// a released holder of a registrants-only reservation owes the
    /// remaining registrants RESERVATIONS RELEASED; an all-registrants
    /// reservation ends with its last registrant.
    fn unregister_where(&mut self, pred: impl Fn(&Reg) -> bool, notices: &mut Notices<N>) {
        let ty = self.reservation;
        let mut released = false;
        let mut i = 0;
        while i < self.count {
            match self.regs.get(i) {
                Some(r) if pred(r) => {
                    released |= r.holder;
                    self.remove_at(i);
                }
                _ => i += 1,
            }
        }
        match ty {
            Some(t) if t.all_registrants() => {
                // The reservation ends with its last registrant.
                let left = self.count;
                self.reservation = self.reservation.filter(|_| left > 0);
            }
            Some(t) if released => {
                self.reservation = None;
                if t.registrants_only() {
                    self.ua_all(None, asc::RESERVATIONS_RELEASED, notices);
                }
            }
            _ => {}
        }
    }

    /// REGISTER and REGISTER AND IGNORE EXISTING KEY (SPC-4 5.13.7,
    /// table 215).
    fn register(
        &mut self,
        n: &ItNexus,
        me: Option<usize>,
        b: &Basic,
        p: &[u8],
        ignore: bool,
        notices: &mut Notices<N>,
    ) -> Result<(Status, bool), Sense> {
        let Some(i) = me else {
            if !ignore && b.key != 0 {
                return conflict();
            }
            if b.sa_key != 0 {
                self.register_new(n, b, p)?;
            }
            self.aptpl = b.aptpl;
            self.bump_generation();
            return Ok((Status::Good, true));
        };
        let Some(r) = self.regs().get(i).copied() else {
            return conflict();
        };
        if !ignore && r.key != b.key {
            return conflict();
        }
        if b.spec_i_pt {
            return Err(Sense::new(Key::IllegalRequest, asc::INVALID_FIELD_IN_CDB));
        }
        if b.sa_key == 0 {
            if b.all_tg_pt {
                // Unregister this initiator port on every target port.
                let tid = n.tid;
                self.unregister_where(|x| x.id.tid.matches(&tid), notices);
            } else {
                let id = r.id;
                self.unregister_where(|x| x.id == id, notices);
            }
        } else if let Some(x) = self.regs.get_mut(i) {
            x.key = b.sa_key;
        }
        self.aptpl = b.aptpl;
        self.bump_generation();
        Ok((Status::Good, true))
    }

    /// Registers the unregistered nexus `n` and, with SPEC_I_PT, the
    /// TransportIDs of the parameter list; all or nothing.
    fn register_new(&mut self, n: &ItNexus, b: &Basic, p: &[u8]) -> Result<(), Sense> {
        let me = NexusPattern {
            tid: n.tid,
            rtpi: n.rtpi,
            all_tg_pt: b.all_tg_pt,
        };
        if self.regs().iter().any(|r| r.id.overlaps(&me)) {
            // An ALL_TG_PT pattern of this port is partly registered.
            return Err(Sense::invalid_field_in_param(20, Some(2)));
        }
        let list = if b.spec_i_pt {
            p.get(PROUT_BASIC_LEN + 4..).unwrap_or(&[])
        } else {
            &[]
        };
        // Pass 1: validate every TransportID and count the new ones.
        let mut extra = 0usize;
        let mut off = 0usize;
        while off < list.len() {
            let at = PROUT_BASIC_LEN + 4 + off;
            let (pat, used) = Self::spec_tid(list, off, n.rtpi, b.all_tg_pt, at)?;
            let bad = || Sense::invalid_field_in_param(u16::try_from(at).unwrap_or(u16::MAX), None);
            if !pat.tid.matches(&n.tid) {
                if self.regs().iter().any(|r| r.id.overlaps(&pat)) {
                    return Err(bad());
                }
                // Duplicates within the list itself.
                let mut o2 = 0usize;
                while o2 < off {
                    let (q, u2) = Self::spec_tid(list, o2, n.rtpi, b.all_tg_pt, at)?;
                    if q.overlaps(&pat) && !q.tid.matches(&n.tid) {
                        return Err(bad());
                    }
                    o2 += u2;
                }
                extra += 1;
            }
            off += used;
        }
        let needed = extra
            .checked_add(1)
            .ok_or_else(insufficient_registration_resources)?;
        if self.count.checked_add(needed).is_none_or(|c| c > N) {
            return Err(insufficient_registration_resources());
        }
        // Pass 2: apply.
        self.push(Reg {
            id: me,
            key: b.sa_key,
            holder: false,
        })?;
        let mut off = 0usize;
        while off < list.len() {
            let (pat, used) = Self::spec_tid(list, off, n.rtpi, b.all_tg_pt, 0)?;
            if !pat.tid.matches(&n.tid) {
                self.push(Reg {
                    id: pat,
                    key: b.sa_key,
                    holder: false,
                })?;
            }
            off += used;
        }
        Ok(())
    }

    /// Parses the SPEC_I_PT TransportID at `off` of `list`; `at` is its
    /// offset in the parameter list, for the field pointer.
    fn spec_tid(
        list: &[u8],
        off: usize,
        rtpi: u16,
        all_tg_pt: bool,
        at: usize,
    ) -> Result<(NexusPattern, usize), Sense> {
        let rest = list.get(off..).unwrap_or(&[]);
        let (tid, used) = TransportId::parse(rest).map_err(|e| {
            let byte = u16::try_from(at.saturating_add(e.byte)).unwrap_or(u16::MAX);
            Sense::invalid_field_in_param(byte, e.bit)
        })?;
        Ok((
            NexusPattern {
                tid,
                rtpi,
                all_tg_pt,
            },
            used,
        ))
    }

    /// RESERVE (SPC-4 5.13.9).
    fn reserve(
        &mut self,
        me: Option<usize>,
        b: &Basic,
        t: PrType,
    ) -> Result<(Status, bool), Sense> {
        let Some(i) = self.keyed(me, b.key) else {
            return conflict();
        };
        match self.reservation {
            Some(cur) if cur == t && self.is_holder_at(i) => Ok((Status::Good, false)),
            Some(_) => conflict(),
            None => {
                self.reservation = Some(t);
                if !t.all_registrants() {
                    if let Some(r) = self.regs.get_mut(i) {
                        r.holder = true;
                    }
                }
                Ok((Status::Good, true))
            }
        }
    }

    fn drop_reservation(&mut self) {
        self.reservation = None;
        for r in self.regs.iter_mut() {
            r.holder = false;
        }
    }

    /// RELEASE (SPC-4 5.13.11.2).
    fn release(
        &mut self,
        me: Option<usize>,
        b: &Basic,
        t: PrType,
        notices: &mut Notices<N>,
    ) -> Result<(Status, bool), Sense> {
        let Some(i) = self.keyed(me, b.key) else {
            return conflict();
        };
        let Some(cur) = self.reservation else {
            return Ok((Status::Good, false));
        };
        if !self.is_holder_at(i) {
            return Ok((Status::Good, false));
        }
        if cur != t {
            return Err(Sense::new(Key::IllegalRequest, asc::INVALID_RELEASE_OF_PR));
        }
        self.drop_reservation();
        if cur.registrants_only() || cur.all_registrants() {
            self.ua_all(Some(i), asc::RESERVATIONS_RELEASED, notices);
        }
        Ok((Status::Good, true))
    }

    /// CLEAR (SPC-4 5.13.11.6).
    fn clear_action(
        &mut self,
        me: Option<usize>,
        b: &Basic,
        notices: &mut Notices<N>,
    ) -> Result<(Status, bool), Sense> {
        let Some(i) = self.keyed(me, b.key) else {
            return conflict();
        };
        self.ua_all(Some(i), asc::RESERVATIONS_PREEMPTED, notices);
        self.count = 0;
        self.reservation = None;
        self.bump_generation();
        Ok((Status::Good, true))
    }

    /// PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4, 5.13.11.5).
    fn preempt(
        &mut self,
        me: Option<usize>,
        b: &Basic,
        t: PrType,
        abort: bool,
        notices: &mut Notices<N>,
    ) -> Result<(Status, bool), Sense> {
        let Some(mut i) = self.keyed(me, b.key) else {
            return conflict();
        };
        let sa = b.sa_key;
        let old = self.reservation;
        // Does the service action key name the reservation holder(s)?
        let take_reservation = match old {
            None => false,
            Some(cur) if cur.all_registrants() => sa == 0,
            Some(_) => self.regs().iter().any(|r| r.holder && r.key == sa),
        };
        if !take_reservation {
            if sa == 0 {
                return Err(Sense::invalid_field_in_param(8, None));
            }
            if !self.regs().iter().any(|r| r.key == sa) {
                return conflict();
            }
        }
        let everyone = take_reservation && old.is_some_and(PrType::all_registrants);
        // Notices first, while the victims are still listed.
        let mut j = 0;
        while let Some(r) = self.regs().get(j) {
            if j == i {
                if abort && r.key == sa {
                    notices.add(&r.id, None, true);
                }
            } else if everyone || r.key == sa {
                notices.add(&r.id, Some(asc::REGISTRATIONS_PREEMPTED), abort);
            }
            j += 1;
        }
        // Remove the victims, keeping track of our own index.
        let mut j = 0;
        while j < self.count {
            let victim = j != i && self.regs.get(j).is_some_and(|r| everyone || r.key == sa);
            if victim {
                self.remove_at(j);
                if j < i {
                    i -= 1;
                }
            } else {
                j += 1;
            }
        }
        if take_reservation {
            self.drop_reservation();
            self.reservation = Some(t);
            if !t.all_registrants() {
                if let Some(r) = self.regs.get_mut(i) {
                    r.holder = true;
                }
            }
            if old != Some(t) {
                // Type changed: the survivors lost their old reservation.
                self.ua_all(Some(i), asc::RESERVATIONS_RELEASED, notices);
            }
        }
        self.bump_generation();
        Ok((Status::Good, true))
    }

    /// REGISTER AND MOVE (SPC-4 5.13.8, 6.16.4).
    fn register_and_move(&mut self, n: &ItNexus, p: &[u8]) -> Result<(Status, bool), Sense> {
        if p.len() < PROUT_BASIC_LEN {
            return Err(Sense::param_list_length_error());
        }
        let key = get_u64(p, 0);
        let sa_key = get_u64(p, 8);
        let b17 = get_u8(p, 17);
        let unreg = b17 & 0x02 != 0;
        let aptpl = b17 & 0x01 != 0;
        let dest_rtpi = get_u16(p, 18);
        let tpdl = get_u32(p, 20) as usize;
        if tpdl
            .checked_add(PROUT_BASIC_LEN)
            .is_none_or(|end| end > p.len())
        {
            return Err(Sense::param_list_length_error());
        }
        if tpdl < GENERIC_TID_LEN {
            return Err(Sense::invalid_field_in_param(20, None));
        }
        let Some(i) = self.keyed(self.find(n), key) else {
            return conflict();
        };
        let Some(t) = self.reservation else {
            return Err(Sense::new(Key::IllegalRequest, asc::INVALID_FIELD_IN_CDB));
        };
        if t.all_registrants() || !self.is_holder_at(i) {
            return conflict();
        }
        if sa_key == 0 {
            return Err(Sense::invalid_field_in_param(8, None));
        }
        let list = p
            .get(PROUT_BASIC_LEN..PROUT_BASIC_LEN + tpdl)
            .unwrap_or(&[]);
        let (tid, used) = TransportId::parse(list).map_err(|e| {
            let byte = u16::try_from(PROUT_BASIC_LEN.saturating_add(e.byte)).unwrap_or(u16::MAX);
            Sense::invalid_field_in_param(byte, e.bit)
        })?;
        if used > tpdl {
            return Err(Sense::invalid_field_in_param(20, None));
        }
        let dest = ItNexus {
            tid,
            rtpi: dest_rtpi,
        };
        let src = self
            .regs()
            .get(i)
            .map(|r| r.id)
            .unwrap_or(NexusPattern::EMPTY);
        if src.matches(&dest) {
            return Err(Sense::invalid_field_in_param(24, None));
        }
        let d = match self.find(&dest) {
            Some(d) => d,
            None => {
                if self.count >= N {
                    return Err(insufficient_registration_resources());
                }
                self.push(Reg {
                    id: NexusPattern {
                        tid,
                        rtpi: dest_rtpi,
                        all_tg_pt: false,
                    },
                    key: sa_key,
                    holder: false,
                })?
            }
        };
        for (j, r) in self.regs.iter_mut().enumerate().take(self.count) {
            if j == d {
                r.key = sa_key;
                r.holder = true;
            } else {
                r.holder = false;
            }
        }
        if unreg {
            self.remove_at(i);
        }
        self.aptpl = aptpl;
        self.bump_generation();
        Ok((Status::Good, true))
    }

    /// Bytes [`PrState::save`] will write.
    pub fn saved_len(&self) -> usize {
        let recs: usize = self
            .regs()
            .iter()
            .map(|r| PERSIST_RECORD_LEN + r.id.tid.len())
            .sum();
        PERSIST_HEADER_LEN + recs + PERSIST_CRC_LEN
    }

    /// Serializes the state (format at [`PERSIST_MAGIC`]) into `out`;
    /// returns the number of bytes written.
    pub fn save(&self, out: &mut [u8]) -> Result<usize, PersistError> {
        let total = self.saved_len();
        let buf = out.get_mut(..total).ok_or(PersistError::BufferTooSmall)?;
        let body = total - PERSIST_CRC_LEN;
        {
            let mut w = Writer::new(buf.get_mut(..body).unwrap_or(&mut []));
            w.bytes(&PERSIST_MAGIC);
            w.u16(PERSIST_VERSION);
            w.u16(PERSIST_HEADER_LEN as u16);
            w.u32(u32::try_from(total).map_err(|_| PersistError::BadLength)?);
            w.u8(u8::from(self.aptpl));
            w.u8(self.reservation.map_or(0, |t| t as u8));
            w.u8(0);
            w.u8(0);
            w.u16(u16::try_from(self.count).map_err(|_| PersistError::TooManyRegistrations)?);
            w.u16(0);
            for r in self.regs() {
                w.u64(r.key);
                w.u16(r.id.rtpi);
                w.u8(u8::from(r.id.all_tg_pt) | (u8::from(r.holder) << 1));
                w.u8(0);
                w.u16(r.id.tid.len() as u16);
                w.u16(0);
                w.bytes(r.id.tid.as_bytes());
            }
        }
        let crc = crc32(buf.get(..body).unwrap_or(&[]));
        put_u32(buf, body, crc);
        Ok(total)
    }

    /// Restores a saved state (power on with APTPL). Every field is
    /// validated first; on error `self` is unchanged. An image saved with
    /// APTPL off restores to an empty state. PRgeneration restarts at 0.
    pub fn load(&mut self, data: &[u8]) -> Result<(), PersistError> {
        let h = parse_header::<N>(data)?;
        let body = data
            .get(..h.total - PERSIST_CRC_LEN)
            .ok_or(PersistError::BadLength)?;
        // Pass 1: validate every record and the holder invariants.
        let mut off = PERSIST_HEADER_LEN;
        let mut holders = 0usize;
        for k in 0..h.count {
            let (r, next) = parse_record(body, off)?;
            holders += usize::from(r.holder);
            // No two registrations may stand for the same I_T nexus.
            let mut o2 = PERSIST_HEADER_LEN;
            for _ in 0..k {
                let (q, n2) = parse_record(body, o2)?;
                if q.id.overlaps(&r.id) {
                    return Err(PersistError::BadField);
                }
                o2 = n2;
            }
            off = next;
        }
        if off != body.len() {
            return Err(PersistError::BadLength);
        }
        match h.reservation {
            None if holders != 0 => return Err(PersistError::BadField),
            Some(t) if t.all_registrants() && (holders != 0 || h.count == 0) => {
                return Err(PersistError::BadField)
            }
            Some(t) if !t.all_registrants() && holders != 1 => return Err(PersistError::BadField),
            _ => {}
        }
        // Pass 2: apply.
        self.clear();
        if !h.aptpl {
            return Ok(());
        }
        let mut off = PERSIST_HEADER_LEN;
        for _ in 0..h.count {
            let (r, next) = parse_record(body, off)?;
            if let Some(slot) = self.regs.get_mut(self.count) {
                *slot = r;
                self.count += 1;
            }
            off = next;
        }
        self.reservation = h.reservation;
        self.aptpl = true;
        Ok(())
    }
}

struct Header {
    total: usize,
    aptpl: bool,
    reservation: Option<PrType>,
    count: usize,
}

fn parse_header<const N: usize>(d: &[u8]) -> Result<Header, PersistError> {
    if d.len() < PERSIST_HEADER_LEN + PERSIST_CRC_LEN || d.get(..8) != Some(&PERSIST_MAGIC[..]) {
        return Err(PersistError::BadMagic);
    }
    if get_u16(d, 8) != PERSIST_VERSION {
        return Err(PersistError::UnsupportedVersion);
    }
    let total = get_u32(d, 12) as usize;
    if usize::from(get_u16(d, 10)) != PERSIST_HEADER_LEN
        || total < PERSIST_HEADER_LEN + PERSIST_CRC_LEN
        || total > d.len()
    {
        return Err(PersistError::BadLength);
    }
    let body_len = total - PERSIST_CRC_LEN;
    let body = d.get(..body_len).ok_or(PersistError::BadLength)?;
    if crc32(body) != get_u32(d, body_len) {
        return Err(PersistError::BadChecksum);
    }
    let flags = get_u8(d, 16);
    let ty = get_u8(d, 17);
    if flags & !0x01 != 0 || get_u8(d, 18) != 0 || get_u8(d, 19) != 0 || get_u16(d, 22) != 0 {
        return Err(PersistError::BadField);
    }
    let reservation = match ty {
        0 => None,
        v => Some(PrType::from_u8(v).ok_or(PersistError::BadField)?),
    };
    let count = usize::from(get_u16(d, 20));
    if count > N {
        return Err(PersistError::TooManyRegistrations);
    }
    Ok(Header {
        total,
        aptpl: flags & 0x01 != 0,
        reservation,
        count,
    })
}

fn parse_record(body: &[u8], off: usize) -> Result<(Reg, usize), PersistError> {
    let hdr = off
        .checked_add(PERSIST_RECORD_LEN)
        .filter(|&e| e <= body.len())
        .ok_or(PersistError::BadLength)?;
    let key = get_u64(body, off);
    let rtpi = get_u16(body, off + 8);
    let flags = get_u8(body, off + 10);
    let tid_len = usize::from(get_u16(body, off + 12));
    if key == 0 || flags & !0x03 != 0 || get_u8(body, off + 11) != 0 || get_u16(body, off + 14) != 0
    {
        return Err(PersistError::BadField);
    }
    let end = hdr
        .checked_add(tid_len)
        .filter(|&e| e <= body.len())
        .ok_or(PersistError::BadLength)?;
    let tid = TransportId::from_bytes(body.get(hdr..end).ok_or(PersistError::BadLength)?)
        .ok_or(PersistError::BadField)?;
    Ok((
        Reg {
            id: NexusPattern {
                tid,
                rtpi,
                all_tg_pt: flags & 0x01 != 0,
            },
            key,
            holder: flags & 0x02 != 0,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::sense::Specific;
    use super::*;
    use std::vec::Vec;

    const CAP: usize = 8;
    type S = PrState<CAP>;
    type Ns = Notices<CAP>;

    const WE: u8 = 1;
    const EA: u8 = 3;
    const WE_RO: u8 = 5;
    const EA_RO: u8 = 6;
    const WE_AR: u8 = 7;
    const EA_AR: u8 = 8;

    const REGISTER: u8 = 0;
    const RESERVE: u8 = 1;
    const RELEASE: u8 = 2;
    const CLEAR: u8 = 3;
    const PREEMPT: u8 = 4;
    const PREEMPT_ABORT: u8 = 5;
    const REG_IGNORE: u8 = 6;
    const REG_MOVE: u8 = 7;

    fn nx(name: &str, isid: u64, rtpi: u16) -> ItNexus {
        ItNexus {
            tid: TransportId::iscsi_port(name.as_bytes(), isid).unwrap(),
            rtpi,
        }
    }
    fn a() -> ItNexus {
        nx("iqn.2000-01.com.example:a", 0x23d0_0000_0001, 1)
    }
    fn b() -> ItNexus {
        nx("iqn.2000-01.com.example:b", 0x23d0_0000_0002, 1)
    }
    fn c() -> ItNexus {
        nx("iqn.2000-01.com.example:c", 0x23d0_0000_0003, 2)
    }
    fn pat(n: &ItNexus) -> NexusPattern {
        NexusPattern {
            tid: n.tid,
            rtpi: n.rtpi,
            all_tg_pt: false,
        }
    }

    fn params(key: u64, sa: u64, flags: u8) -> Vec<u8> {
        let mut p = std::vec![0u8; 24];
        p[..8].copy_from_slice(&key.to_be_bytes());
        p[8..16].copy_from_slice(&sa.to_be_bytes());
        p[20] = flags;
        p
    }

    fn cdb(sa: u8, ty: u8, len: usize) -> [u8; 10] {
        let l = (len as u32).to_be_bytes();
        [0x5f, sa, ty, 0, 0, l[0], l[1], l[2], l[3], 0]
    }

    fn run(st: &mut S, n: &ItNexus, sa: u8, ty: u8, p: &[u8]) -> (Result<ProutOutcome, Sense>, Ns) {
        let mut ns = Ns::new();
        let c = parse_prout_cdb(&cdb(sa, ty, p.len())).unwrap();
        let r = st.prout(n, &c, p, &mut ns);
        (r, ns)
    }

    fn status(r: &Result<ProutOutcome, Sense>) -> Status {
        r.as_ref().unwrap().status
    }

    fn ok(st: &mut S, n: &ItNexus, sa: u8, ty: u8, key: u64, sak: u64) -> Ns {
        let (r, ns) = run(st, n, sa, ty, &params(key, sak, 0));
        assert_eq!(status(&r), Status::Good, "sa {sa} ty {ty}");
        ns
    }

    fn reg(st: &mut S, n: &ItNexus, key: u64) {
        ok(st, n, REGISTER, 0, 0, key);
    }

    fn conflicted(st: &mut S, n: &ItNexus, sa: u8, ty: u8, key: u64, sak: u64) {
        let before = st.clone();
        let (r, ns) = run(st, n, sa, ty, &params(key, sak, 0));
        assert_eq!(status(&r), Status::ReservationConflict);
        assert!(ns.is_empty());
        assert_eq!(st.generation(), before.generation());
        assert_eq!(rfs(st), rfs(&before));
    }

    fn sense_of(r: Result<ProutOutcome, Sense>) -> Sense {
        r.unwrap_err()
    }

    fn ptr(s: &Sense) -> (bool, u16, Option<u8>) {
        match s.specific {
            Some(Specific::FieldPointer { in_cdb, byte, bit }) => (in_cdb, byte, bit),
            _ => panic!("no field pointer in {s:?}"),
        }
    }

    fn prin(st: &S, sa: u8, alloc: u16) -> Vec<u8> {
        let c =
            parse_prin_cdb(&[0x5e, sa, 0, 0, 0, 0, 0, (alloc >> 8) as u8, alloc as u8, 0]).unwrap();
        let mut buf = std::vec![0xeeu8; 4096];
        let n = st.prin(&c, &mut buf);
        buf.truncate(n);
        buf
    }

    fn keys(st: &S) -> Vec<u64> {
        let d = prin(st, 0, 4096);
        d[8..].chunks(8).map(|c| get_u64(c, 0)).collect()
    }

    fn rfs(st: &S) -> Vec<u8> {
        prin(st, 3, 4096)
    }

    fn invariants(st: &S) {
        let regs: Vec<Reg> = st.regs().to_vec();
        assert!(regs.len() <= CAP);
        let holders = regs.iter().filter(|r| r.holder).count();
        match st.reservation() {
            None => assert_eq!(holders, 0),
            Some(t) if t.all_registrants() => {
                assert_eq!(holders, 0);
                assert!(!regs.is_empty());
            }
            Some(_) => assert_eq!(holders, 1),
        }
        for (i, r) in regs.iter().enumerate() {
            assert_ne!(r.key, 0);
            for q in &regs[i + 1..] {
                assert!(!q.id.overlaps(&r.id), "overlapping registrations");
            }
        }
    }

    // ---- TransportID ----

    #[test]
    fn iscsi_port_tid_layout() {
        let t = TransportId::iscsi_port(b"iqn.a", 0x0123_4567_89ab).unwrap();
        let mut want = std::vec![0x45u8, 0, 0, 24];
        want.extend_from_slice(b"iqn.a,i,0x0123456789ab\0\0");
        assert_eq!(t.as_bytes(), &want[..]);
        assert_eq!(t.len(), 28);
        assert_eq!(t.format(), 1);
        assert_eq!(t.protocol(), PROTOCOL_ISCSI);
    }

    #[test]
    fn iscsi_name_tid_minimum_length() {
        let t = TransportId::iscsi_name(b"iqn.a").unwrap();
        assert_eq!(t.len(), 24);
        assert_eq!(&t.as_bytes()[..4], &[0x05, 0, 0, 20]);
        assert_eq!(&t.as_bytes()[4..10], b"iqn.a\0");
        assert!(t.as_bytes()[10..].iter().all(|&c| c == 0));
    }

    #[test]
    fn tid_parse_round_trip_with_trailing_data() {
        let t = a().tid;
        let mut buf = t.as_bytes().to_vec();
        buf.extend_from_slice(&[1, 2, 3]);
        let (p, n) = TransportId::parse(&buf).unwrap();
        assert_eq!(n, t.len());
        assert_eq!(p, t);
        assert!(TransportId::from_bytes(&buf).is_none());
    }

    #[test]
    fn tid_bad_format_code() {
        let mut b = a().tid.as_bytes().to_vec();
        b[0] = 0x85;
        assert_eq!(
            TransportId::parse(&b).unwrap_err(),
            TidError {
                byte: 0,
                bit: Some(7)
            }
        );
    }

    #[test]
    fn tid_length_not_multiple_of_four() {
        let mut b = TransportId::iscsi_name(b"iqn.a")
            .unwrap()
            .as_bytes()
            .to_vec();
        b[3] = 21;
        b.push(0);
        assert_eq!(TransportId::parse(&b).unwrap_err().byte, 2);
    }

    #[test]
    fn tid_length_below_twenty() {
        let b = [
            0x05, 0, 0, 16, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(TransportId::parse(&b).unwrap_err().byte, 2);
    }

    #[test]
    fn tid_length_above_maximum() {
        let mut b = std::vec![0u8; 300];
        b[0] = 0x05;
        b[2] = 0x01;
        b[3] = 0x00;
        b[4] = b'x';
        assert_eq!(TransportId::parse(&b).unwrap_err().byte, 2);
    }

    #[test]
    fn tid_missing_nul() {
        let mut b = std::vec![b'x'; 24];
        b[0] = 0x05;
        b[1] = 0;
        b[2] = 0;
        b[3] = 20;
        assert_eq!(TransportId::parse(&b).unwrap_err().byte, 4);
    }

    #[test]
    fn tid_truncated() {
        let t = a().tid;
        let b = &t.as_bytes()[..t.len() - 1];
        assert!(TransportId::parse(b).is_err());
        assert!(TransportId::parse(&[]).is_err());
        assert!(TransportId::parse(&[0x05, 0]).is_err());
        assert!(TransportId::parse(&[0x06; 23]).is_err());
    }

    #[test]
    fn tid_format1_needs_separator() {
        let mut t = TransportId::iscsi_name(b"iqn.abc")
            .unwrap()
            .as_bytes()
            .to_vec();
        t[0] = 0x45;
        assert_eq!(TransportId::parse(&t).unwrap_err().byte, 4);
    }

    #[test]
    fn tid_format0_with_separator_rejected() {
        let mut t = a().tid.as_bytes().to_vec();
        t[0] = 0x05;
        assert!(TransportId::parse(&t).is_err());
    }

    #[test]
    fn tid_empty_name_rejected() {
        let b = [
            0x05u8, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(TransportId::parse(&b).is_err());
    }

    #[test]
    fn tid_bad_isid_digits() {
        let mut t = a().tid.as_bytes().to_vec();
        let pos = t.windows(5).position(|w| w == b",i,0x").unwrap();
        t[pos + 6] = b'z';
        assert!(TransportId::parse(&t).is_err());
    }

    #[test]
    fn tid_generic() {
        let mut raw = [0u8; 24];
        raw[0] = 0x06; // SAS
        raw[4..12].copy_from_slice(&[0x50, 0, 1, 2, 3, 4, 5, 6]);
        let t = TransportId::generic(&raw).unwrap();
        assert_eq!(t.len(), 24);
        assert_eq!(t.protocol(), 6);
        raw[0] = 0x46;
        assert!(TransportId::generic(&raw).is_none());
        raw[0] = 0x05;
        assert!(TransportId::generic(&raw).is_none());
    }

    #[test]
    fn tid_generic_matching_is_bytewise() {
        let mut raw = [0u8; 24];
        raw[0] = 0x00;
        raw[8] = 1;
        let x = TransportId::generic(&raw).unwrap();
        raw[8] = 2;
        let y = TransportId::generic(&raw).unwrap();
        assert!(x.matches(&x));
        assert!(!x.matches(&y));
    }

    #[test]
    fn tid_matches_case_insensitive() {
        let x = TransportId::iscsi_port(b"iqn.X:Host", 0xab).unwrap();
        let y = TransportId::iscsi_port(b"IQN.x:host", 0xAB).unwrap();
        assert!(x.matches(&y));
        assert_ne!(x, y);
    }

    #[test]
    fn tid_format0_matches_every_port() {
        let name = TransportId::iscsi_name(b"iqn.x").unwrap();
        let p1 = TransportId::iscsi_port(b"iqn.x", 1).unwrap();
        let p2 = TransportId::iscsi_port(b"iqn.x", 2).unwrap();
        assert!(name.matches(&p1) && p2.matches(&name));
        assert!(!p1.matches(&p2));
        assert!(!name.matches(&TransportId::iscsi_port(b"iqn.y", 1).unwrap()));
    }

    #[test]
    fn tid_different_protocols_never_match() {
        let mut raw = [0u8; 24];
        raw[0] = 0x04;
        let srp = TransportId::generic(&raw).unwrap();
        assert!(!srp.matches(&a().tid));
        assert!(!TransportId::EMPTY.matches(&TransportId::EMPTY));
        assert!(TransportId::EMPTY.is_empty());
    }

    #[test]
    fn tid_builder_limits() {
        assert!(TransportId::iscsi_port(&[b'n'; 223], 1).is_some());
        assert!(TransportId::iscsi_port(&[b'n'; 224], 1).is_none());
        assert!(TransportId::iscsi_name(b"").is_none());
        assert!(TransportId::iscsi_name(b"a\0b").is_none());
        assert!(TransportId::iscsi_name(b"x,i,0x1").is_none());
    }

    #[test]
    fn tid_debug_formats() {
        let s = std::format!("{:?}", a().tid);
        assert!(s.contains("iqn.2000-01.com.example:a,i,0x23d000000001"));
        let mut raw = [0u8; 24];
        raw[0] = 6;
        assert!(std::format!("{:?}", TransportId::generic(&raw).unwrap()).contains("06"));
    }

    // ---- CDB decoding ----

    #[test]
    fn prin_cdb_decoding() {
        for sa in 0..4u8 {
            let c = parse_prin_cdb(&[0x5e, sa, 0, 0, 0, 0, 0, 0x12, 0x34, 0]).unwrap();
            assert_eq!(c.alloc_len, 0x1234);
        }
        let c = parse_prin_cdb(&[0x5e, 3]).unwrap();
        assert_eq!(c.action, PrinAction::ReadFullStatus);
    }

    #[test]
    fn prin_invalid_service_action() {
        let s = parse_prin_cdb(&[0x5e, 4, 0, 0, 0, 0, 0, 0, 8, 0]).unwrap_err();
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
        assert_eq!(ptr(&s), (true, 1, Some(4)));
        assert_eq!(
            parse_prin_cdb(&[0x5f]).unwrap_err(),
            Sense::invalid_opcode()
        );
    }

    #[test]
    fn prout_invalid_service_action() {
        let s = parse_prout_cdb(&[0x5f, 8, 0, 0, 0, 0, 0, 0, 24, 0]).unwrap_err();
        assert_eq!(ptr(&s), (true, 1, Some(4)));
        assert_eq!(
            parse_prout_cdb(&[0x5e]).unwrap_err(),
            Sense::invalid_opcode()
        );
    }

    #[test]
    fn prout_invalid_scope() {
        for sa in [RESERVE, RELEASE, PREEMPT, PREEMPT_ABORT] {
            let s = parse_prout_cdb(&cdb(sa, 0x11, 24)).unwrap_err();
            assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
            assert_eq!(ptr(&s), (true, 2, Some(7)));
        }
    }

    #[test]
    fn prout_invalid_type() {
        for ty in [0u8, 2, 4, 9, 0xf] {
            let s = parse_prout_cdb(&cdb(RESERVE, ty, 24)).unwrap_err();
            assert_eq!(ptr(&s), (true, 2, Some(3)), "type {ty}");
        }
    }

    #[test]
    fn prout_register_ignores_scope_and_type() {
        for sa in [REGISTER, CLEAR, REG_IGNORE, REG_MOVE] {
            let c = parse_prout_cdb(&cdb(sa, 0xff, 24)).unwrap();
            assert_eq!(c.pr_type, None);
        }
    }

    #[test]
    fn prout_param_len_limit() {
        let s = parse_prout_cdb(&cdb(REGISTER, 0, PROUT_MAX_PARAM_LEN as usize + 1)).unwrap_err();
        assert_eq!(s.asc, asc::PARAMETER_LIST_LENGTH_ERROR);
        assert!(parse_prout_cdb(&cdb(REGISTER, 0, PROUT_MAX_PARAM_LEN as usize)).is_ok());
    }

    // ---- REGISTER ----

    #[test]
    fn register_new_key() {
        let mut st = S::new();
        let (r, ns) = run(&mut st, &a(), REGISTER, 0, &params(0, 0x11, 0));
        assert_eq!(
            r,
            Ok(ProutOutcome {
                status: Status::Good,
                persist: false
            })
        );
        assert!(ns.is_empty());
        assert_eq!(keys(&st), [0x11]);
        assert_eq!(st.generation(), 1);
        assert_eq!(st.key_of(&a()), Some(0x11));
        assert!(st.is_registered(&a()) && !st.is_registered(&b()));
    }

    #[test]
    fn register_unregistered_with_key_conflicts() {
        let mut st = S::new();
        conflicted(&mut st, &a(), REGISTER, 0, 5, 0x11);
        assert_eq!(st.registration_count(), 0);
    }

    #[test]
    fn register_zero_key_unregistered_does_nothing() {
        let mut st = S::new();
        ok(&mut st, &a(), REGISTER, 0, 0, 0);
        assert_eq!(st.registration_count(), 0);
        assert_eq!(st.generation(), 1);
    }

    #[test]
    fn register_changes_key() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), REGISTER, 0, 0x11, 0x12);
        assert_eq!(keys(&st), [0x12]);
        assert_eq!(st.generation(), 2);
    }

    #[test]
    fn register_wrong_key_conflicts() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        conflicted(&mut st, &a(), REGISTER, 0, 0x99, 0x12);
        conflicted(&mut st, &a(), REGISTER, 0, 0, 0x12);
    }

    #[test]
    fn register_and_ignore_existing_key() {
        let mut st = S::new();
        ok(&mut st, &a(), REG_IGNORE, 0, 0x77, 0x11);
        ok(&mut st, &a(), REG_IGNORE, 0, 0x99, 0x12);
        assert_eq!(keys(&st), [0x12]);
        ok(&mut st, &a(), REG_IGNORE, 0, 0x99, 0);
        assert_eq!(st.registration_count(), 0);
    }

    #[test]
    fn unregister() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        let ns = ok(&mut st, &a(), REGISTER, 0, 0x11, 0);
        assert!(ns.is_empty());
        assert_eq!(keys(&st), [0x22]);
    }

    #[test]
    fn register_param_length_must_be_24() {
        let mut st = S::new();
        let mut p = params(0, 0x11, 0);
        p.push(0);
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(s, Sense::param_list_length_error());
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p[..20]).0);
        assert_eq!(s, Sense::param_list_length_error());
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &[]).0);
        assert_eq!(s, Sense::param_list_length_error());
        assert_eq!(st.generation(), 0);
    }

    #[test]
    fn params_shorter_than_cdb_length() {
        let mut st = S::new();
        let mut ns = Ns::new();
        let c = parse_prout_cdb(&cdb(REGISTER, 0, 24)).unwrap();
        let s = st.prout(&a(), &c, &[0; 10], &mut ns).unwrap_err();
        assert_eq!(s.asc, asc::PARAMETER_LIST_LENGTH_ERROR);
    }

    #[test]
    fn register_registered_with_spec_i_pt_is_invalid_cdb() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let mut p = params(0x11, 0x12, 0x08);
        p.extend_from_slice(&0u32.to_be_bytes());
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
        assert_eq!(keys(&st), [0x11]);
    }

    #[test]
    fn register_and_ignore_spec_i_pt_invalid() {
        let mut st = S::new();
        let s = sense_of(run(&mut st, &a(), REG_IGNORE, 0, &params(0, 0x11, 0x08)).0);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_PARAM_LIST);
        assert_eq!(ptr(&s), (false, 20, Some(3)));
    }

    #[test]
    fn registration_capacity() {
        let mut st = S::new();
        for i in 0..CAP as u64 {
            reg(&mut st, &nx("iqn.x", i, 1), 0x100 + i);
        }
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &params(0, 0x11, 0)).0);
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INSUFFICIENT_REGISTRATION_RESOURCES);
        assert_eq!(st.registration_count(), CAP);
        assert_eq!(st.generation(), CAP as u32);
    }

    fn spec_params(key: u64, sa: u64, tids: &[&TransportId]) -> Vec<u8> {
        let mut p = params(key, sa, 0x08);
        let len: usize = tids.iter().map(|t| t.len()).sum();
        p.extend_from_slice(&(len as u32).to_be_bytes());
        for t in tids {
            p.extend_from_slice(t.as_bytes());
        }
        p
    }

    #[test]
    fn spec_i_pt_registers_listed_ports() {
        let mut st = S::new();
        let p = spec_params(0, 0x11, &[&b().tid, &c().tid]);
        let (r, _) = run(&mut st, &a(), REGISTER, 0, &p);
        assert_eq!(status(&r), Status::Good);
        assert_eq!(keys(&st), [0x11, 0x11, 0x11]);
        // Listed TransportIDs are registered through the receiving port.
        assert!(st.is_registered(&b()));
        assert!(st.is_registered(&ItNexus {
            tid: c().tid,
            rtpi: 1
        }));
        assert!(!st.is_registered(&c()));
        assert_eq!(st.generation(), 1);
    }

    #[test]
    fn spec_i_pt_own_tid_is_skipped() {
        let mut st = S::new();
        let p = spec_params(0, 0x11, &[&a().tid]);
        assert_eq!(status(&run(&mut st, &a(), REGISTER, 0, &p).0), Status::Good);
        assert_eq!(st.registration_count(), 1);
    }

    #[test]
    fn spec_i_pt_length_mismatch() {
        let mut st = S::new();
        let mut p = spec_params(0, 0x11, &[&b().tid]);
        p.push(0);
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(s.asc, asc::PARAMETER_LIST_LENGTH_ERROR);
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &params(0, 0x11, 0x08)).0);
        assert_eq!(s.asc, asc::PARAMETER_LIST_LENGTH_ERROR);
        assert_eq!(st.registration_count(), 0);
    }

    #[test]
    fn spec_i_pt_already_registered() {
        let mut st = S::new();
        reg(&mut st, &b(), 0x22);
        let p = spec_params(0, 0x11, &[&c().tid, &b().tid]);
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_PARAM_LIST);
        assert_eq!(ptr(&s), (false, 28 + c().tid.len() as u16, None));
        assert_eq!(keys(&st), [0x22]);
    }

    #[test]
    fn spec_i_pt_duplicate_in_list() {
        let mut st = S::new();
        let p = spec_params(0, 0x11, &[&b().tid, &b().tid]);
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(ptr(&s), (false, 28 + b().tid.len() as u16, None));
        assert_eq!(st.registration_count(), 0);
    }

    #[test]
    fn spec_i_pt_bad_tid_field_pointer() {
        let mut st = S::new();
        let mut p = spec_params(0, 0x11, &[&b().tid]);
        p[28 + 3] = 21; // ADDITIONAL LENGTH not a multiple of 4
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(ptr(&s), (false, 30, None));
        assert_eq!(st.registration_count(), 0);
    }

    #[test]
    fn spec_i_pt_capacity_is_all_or_nothing() {
        let mut st = S::new();
        for i in 0..(CAP as u64 - 2) {
            reg(&mut st, &nx("iqn.x", i, 1), 0x100 + i);
        }
        let p = spec_params(0, 0x11, &[&b().tid, &c().tid]);
        let s = sense_of(run(&mut st, &a(), REGISTER, 0, &p).0);
        assert_eq!(s.asc, asc::INSUFFICIENT_REGISTRATION_RESOURCES);
        assert_eq!(st.registration_count(), CAP - 2);
        assert!(!st.is_registered(&a()));
    }

    #[test]
    fn all_tg_pt_registration() {
        let mut st = S::new();
        ok_flags(&mut st, &a(), REGISTER, 0, 0, 0x11, 0x04);
        let other_port = ItNexus {
            tid: a().tid,
            rtpi: 9,
        };
        assert!(st.is_registered(&other_port));
        let d = rfs(&st);
        assert_eq!(d[8 + 12], 0x02, "ALL_TG_PT set, not a holder");
        assert_eq!(get_u16(&d, 8 + 18), 0, "RTPI not reported");
    }

    fn ok_flags(st: &mut S, n: &ItNexus, sa: u8, ty: u8, key: u64, sak: u64, fl: u8) -> Ns {
        let (r, ns) = run(st, n, sa, ty, &params(key, sak, fl));
        assert_eq!(status(&r), Status::Good);
        ns
    }

    #[test]
    fn unregister_all_target_ports() {
        let mut st = S::new();
        let a2 = ItNexus {
            tid: a().tid,
            rtpi: 2,
        };
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &a2, 0x11);
        reg(&mut st, &b(), 0x22);
        ok_flags(&mut st, &a(), REGISTER, 0, 0x11, 0, 0x04);
        assert_eq!(keys(&st), [0x22]);
    }

    #[test]
    fn aptpl_is_tracked_and_persist_reported() {
        let mut st = S::new();
        let (r, _) = run(&mut st, &a(), REGISTER, 0, &params(0, 0x11, 0x01));
        assert_eq!(
            r,
            Ok(ProutOutcome {
                status: Status::Good,
                persist: true
            })
        );
        assert!(st.aptpl());
        assert_eq!(prin(&st, 2, 8)[3] & 1, 1, "PTPL_A");
        let (r, _) = run(&mut st, &a(), RESERVE, WE, &params(0x11, 0, 0));
        assert!(r.unwrap().persist);
        // Turning APTPL off must still be saved once.
        let (r, _) = run(&mut st, &a(), REGISTER, 0, &params(0x11, 0x11, 0));
        assert!(r.unwrap().persist);
        assert!(!st.aptpl());
        let (r, _) = run(&mut st, &a(), RELEASE, WE, &params(0x11, 0, 0));
        assert!(!r.unwrap().persist);
    }

    // ---- RESERVE ----

    #[test]
    fn reserve_unregistered_conflicts() {
        let mut st = S::new();
        conflicted(&mut st, &a(), RESERVE, WE, 0, 0);
        reg(&mut st, &b(), 0x22);
        conflicted(&mut st, &a(), RESERVE, WE, 0x22, 0);
    }

    #[test]
    fn reserve_wrong_key_conflicts() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        conflicted(&mut st, &a(), RESERVE, WE, 0x12, 0);
        assert!(!st.is_reserved());
    }

    #[test]
    fn reserve_and_read_reservation() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let ns = ok(&mut st, &a(), RESERVE, EA, 0x11, 0);
        assert!(ns.is_empty());
        assert_eq!(st.generation(), 1, "RESERVE does not bump PRgeneration");
        let d = prin(&st, 1, 100);
        assert_eq!(
            d,
            [0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0x11, 0, 0, 0, 0, 0, EA, 0, 0]
        );
        assert!(st.is_holder(&a()));
        assert_eq!(st.reservation(), Some(PrType::ExclusiveAccess));
    }

    #[test]
    fn reserve_again_same_type_is_good() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        let (r, _) = run(&mut st, &a(), RESERVE, WE, &params(0x11, 0, 0));
        assert_eq!(
            r,
            Ok(ProutOutcome {
                status: Status::Good,
                persist: false
            })
        );
    }

    #[test]
    fn reserve_other_type_by_holder_conflicts() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        conflicted(&mut st, &a(), RESERVE, EA, 0x11, 0);
        assert_eq!(st.reservation(), Some(PrType::WriteExclusive));
    }

    #[test]
    fn reserve_by_other_registrant_conflicts() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        conflicted(&mut st, &b(), RESERVE, WE, 0x22, 0);
    }

    #[test]
    fn reserve_all_registrants_twice_by_other_registrant() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &a(), RESERVE, WE_AR, 0x11, 0);
        // Every registrant is a holder of an all-registrants reservation.
        ok(&mut st, &b(), RESERVE, WE_AR, 0x22, 0);
        assert!(st.is_holder(&b()));
        assert_eq!(prin(&st, 1, 24)[8..16], [0; 8], "key 0 for all registrants");
    }

    #[test]
    fn reserve_rejects_all_tg_pt_and_spec_i_pt() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let s = sense_of(run(&mut st, &a(), RESERVE, WE, &params(0x11, 0, 0x04)).0);
        assert_eq!(ptr(&s), (false, 20, Some(2)));
        let s = sense_of(run(&mut st, &a(), RESERVE, WE, &params(0x11, 0, 0x08)).0);
        assert_eq!(ptr(&s), (false, 20, Some(3)));
        assert!(!st.is_reserved());
    }

    #[test]
    fn reserve_param_length_error() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let mut p = params(0x11, 0, 0);
        p.extend_from_slice(&[0; 4]);
        assert_eq!(
            sense_of(run(&mut st, &a(), RESERVE, WE, &p).0),
            Sense::param_list_length_error()
        );
    }

    #[test]
    fn hand_built_cdb_without_type_is_rejected() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let c = ProutCdb {
            action: ProutAction::Reserve,
            pr_type: None,
            param_len: 24,
        };
        let s = st
            .prout(&a(), &c, &params(0x11, 0, 0), &mut Ns::new())
            .unwrap_err();
        assert_eq!(ptr(&s), (true, 2, Some(3)));
    }

    // ---- RELEASE ----

    #[test]
    fn release_by_holder_no_ua_for_we() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        let ns = ok(&mut st, &a(), RELEASE, WE, 0x11, 0);
        assert!(ns.is_empty());
        assert!(!st.is_reserved());
        assert_eq!(st.registration_count(), 2);
        assert_eq!(st.generation(), 2);
    }

    #[test]
    fn release_registrants_only_notifies_others() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        reg(&mut st, &c(), 0x33);
        ok(&mut st, &a(), RESERVE, EA_RO, 0x11, 0);
        let ns = ok(&mut st, &a(), RELEASE, EA_RO, 0x11, 0);
        assert_eq!(ns.len(), 2);
        for n in [b(), c()] {
            let x = ns.find(&pat(&n)).unwrap();
            assert_eq!(x.ua, Some(asc::RESERVATIONS_RELEASED));
            assert!(!x.abort);
        }
        assert!(ns.find(&pat(&a())).is_none());
    }

    #[test]
    fn release_all_registrants_by_any_registrant() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &a(), RESERVE, EA_AR, 0x11, 0);
        let ns = ok(&mut st, &b(), RELEASE, EA_AR, 0x22, 0);
        assert!(!st.is_reserved());
        assert_eq!(ns.as_slice().len(), 1);
        assert_eq!(ns.as_slice()[0].nexus, pat(&a()));
    }

    #[test]
    fn release_wrong_type_is_invalid_release() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        let s = sense_of(run(&mut st, &a(), RELEASE, EA, &params(0x11, 0, 0)).0);
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_RELEASE_OF_PR);
        assert!(st.is_reserved());
    }

    #[test]
    fn release_by_non_holder_is_good_noop() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        let (r, ns) = run(&mut st, &b(), RELEASE, EA, &params(0x22, 0, 0));
        assert_eq!(
            r,
            Ok(ProutOutcome {
                status: Status::Good,
                persist: false
            })
        );
        assert!(ns.is_empty());
        assert!(st.is_holder(&a()));
    }

    #[test]
    fn release_without_reservation_is_good() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), RELEASE, WE, 0x11, 0);
    }

    #[test]
    fn release_unregistered_or_bad_key_conflicts() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        conflicted(&mut st, &b(), RELEASE, WE, 0x11, 0);
        conflicted(&mut st, &a(), RELEASE, WE, 0x12, 0);
    }

    // ---- unregistering a holder (libiscsi ProutReserveOwnership) ----

    #[test]
    fn holder_unregisters_registrants_only() {
        for ty in [WE_RO, EA_RO] {
            let mut st = S::new();
            reg(&mut st, &a(), 0x11);
            reg(&mut st, &b(), 0x22);
            ok(&mut st, &a(), RESERVE, ty, 0x11, 0);
            let ns = ok(&mut st, &a(), REGISTER, 0, 0x11, 0);
            assert!(!st.is_reserved());
            assert_eq!(ns.len(), 1);
            assert_eq!(ns.as_slice()[0].nexus, pat(&b()));
            assert_eq!(ns.as_slice()[0].ua, Some(asc::RESERVATIONS_RELEASED));
        }
    }

    #[test]
    fn holder_unregisters_plain_type_no_ua() {
        for ty in [WE, EA] {
            let mut st = S::new();
            reg(&mut st, &a(), 0x11);
            reg(&mut st, &b(), 0x22);
            ok(&mut st, &a(), RESERVE, ty, 0x11, 0);
            let ns = ok(&mut st, &a(), REGISTER, 0, 0x11, 0);
            assert!(!st.is_reserved());
            assert!(ns.is_empty(), "no 2A/04 for type {ty}");
        }
    }

    #[test]
    fn all_registrants_survives_until_last_unregisters() {
        for ty in [WE_AR, EA_AR] {
            let mut st = S::new();
            reg(&mut st, &a(), 0x11);
            reg(&mut st, &b(), 0x22);
            ok(&mut st, &a(), RESERVE, ty, 0x11, 0);
            let ns = ok(&mut st, &a(), REGISTER, 0, 0x11, 0);
            assert!(ns.is_empty());
            assert_eq!(st.reservation().map(|t| t as u8), Some(ty));
            ok(&mut st, &b(), RELEASE, ty, 0x22, 0);
            ok(&mut st, &b(), REGISTER, 0, 0x22, 0);
            assert_eq!(st.registration_count(), 0);
            let mut st2 = S::new();
            reg(&mut st2, &a(), 0x11);
            ok(&mut st2, &a(), RESERVE, ty, 0x11, 0);
            ok(&mut st2, &a(), REGISTER, 0, 0x11, 0);
            assert!(!st2.is_reserved());
        }
    }

    // ---- CLEAR ----

    #[test]
    fn clear_removes_everything() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        reg(&mut st, &c(), 0x33);
        ok(&mut st, &b(), RESERVE, WE, 0x22, 0);
        let ns = ok(&mut st, &a(), CLEAR, 0, 0x11, 0);
        assert_eq!(st.registration_count(), 0);
        assert!(!st.is_reserved());
        assert_eq!(st.generation(), 4);
        assert_eq!(ns.len(), 2);
        assert!(ns
            .as_slice()
            .iter()
            .all(|n| n.ua == Some(asc::RESERVATIONS_PREEMPTED)));
        assert!(ns.find(&pat(&a())).is_none());
    }

    #[test]
    fn clear_needs_registration_and_key() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        conflicted(&mut st, &b(), CLEAR, 0, 0x11, 0);
        conflicted(&mut st, &a(), CLEAR, 0, 0x10, 0);
    }

    // ---- PREEMPT ----

    fn three_with_reservation(ty: u8) -> S {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        reg(&mut st, &c(), 0x33);
        ok(&mut st, &a(), RESERVE, ty, 0x11, 0);
        st
    }

    #[test]
    fn preempt_holder_same_type() {
        let mut st = three_with_reservation(WE);
        let ns = ok(&mut st, &b(), PREEMPT, WE, 0x22, 0x11);
        assert!(st.is_holder(&b()));
        assert!(!st.is_registered(&a()));
        assert_eq!(keys(&st), [0x22, 0x33]);
        assert_eq!(ns.len(), 1);
        let x = ns.find(&pat(&a())).unwrap();
        assert_eq!(x.ua, Some(asc::REGISTRATIONS_PREEMPTED));
        assert!(!x.abort);
        assert_eq!(st.generation(), 4);
    }

    #[test]
    fn preempt_holder_type_change_releases_others() {
        let mut st = three_with_reservation(WE);
        let ns = ok(&mut st, &b(), PREEMPT, EA, 0x22, 0x11);
        assert_eq!(st.reservation(), Some(PrType::ExclusiveAccess));
        assert_eq!(
            ns.find(&pat(&a())).unwrap().ua,
            Some(asc::REGISTRATIONS_PREEMPTED)
        );
        assert_eq!(
            ns.find(&pat(&c())).unwrap().ua,
            Some(asc::RESERVATIONS_RELEASED)
        );
        assert!(ns.find(&pat(&b())).is_none());
    }

    #[test]
    fn preempt_registration_only() {
        let mut st = three_with_reservation(WE);
        let ns = ok(&mut st, &b(), PREEMPT, EA, 0x22, 0x33);
        assert!(st.is_holder(&a()));
        assert_eq!(
            st.reservation(),
            Some(PrType::WriteExclusive),
            "type ignored"
        );
        assert_eq!(keys(&st), [0x11, 0x22]);
        assert_eq!(ns.len(), 1);
        assert_eq!(
            ns.find(&pat(&c())).unwrap().ua,
            Some(asc::REGISTRATIONS_PREEMPTED)
        );
    }

    #[test]
    fn preempt_zero_key_is_invalid() {
        let mut st = three_with_reservation(WE);
        let s = sense_of(run(&mut st, &b(), PREEMPT, WE, &params(0x22, 0, 0)).0);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_PARAM_LIST);
        assert_eq!(ptr(&s), (false, 8, None));
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let s = sense_of(run(&mut st, &a(), PREEMPT, WE, &params(0x11, 0, 0)).0);
        assert_eq!(ptr(&s), (false, 8, None));
    }

    #[test]
    fn preempt_unknown_key_conflicts() {
        let mut st = three_with_reservation(WE);
        conflicted(&mut st, &b(), PREEMPT, WE, 0x22, 0x99);
        conflicted(&mut st, &b(), PREEMPT, WE, 0x21, 0x11);
    }

    #[test]
    fn preempt_without_reservation_removes_registrations() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        reg(&mut st, &c(), 0x22);
        let ns = ok(&mut st, &a(), PREEMPT, WE, 0x11, 0x22);
        assert!(!st.is_reserved(), "no reservation is created");
        assert_eq!(keys(&st), [0x11]);
        assert_eq!(ns.len(), 2);
    }

    #[test]
    fn preempt_all_registrants_with_zero_key() {
        let mut st = three_with_reservation(EA_AR);
        let ns = ok(&mut st, &b(), PREEMPT, WE, 0x22, 0);
        assert_eq!(keys(&st), [0x22]);
        assert_eq!(st.reservation(), Some(PrType::WriteExclusive));
        assert!(st.is_holder(&b()));
        assert_eq!(ns.len(), 2);
        assert!(ns
            .as_slice()
            .iter()
            .all(|n| n.ua == Some(asc::REGISTRATIONS_PREEMPTED)));
    }

    #[test]
    fn preempt_all_registrants_with_key_removes_only_registrations() {
        let mut st = three_with_reservation(WE_AR);
        let ns = ok(&mut st, &b(), PREEMPT, EA, 0x22, 0x33);
        assert_eq!(keys(&st), [0x11, 0x22]);
        assert_eq!(st.reservation(), Some(PrType::WriteExclusiveAllRegistrants));
        assert_eq!(ns.len(), 1);
    }

    #[test]
    fn preempt_and_abort_lists_aborts() {
        let mut st = three_with_reservation(WE_RO);
        let ns = ok(&mut st, &b(), PREEMPT_ABORT, WE_RO, 0x22, 0x11);
        let x = ns.find(&pat(&a())).unwrap();
        assert!(x.abort);
        assert_eq!(x.ua, Some(asc::REGISTRATIONS_PREEMPTED));
        assert!(
            ns.find(&pat(&c())).is_none(),
            "same type: no UA for survivors"
        );
        assert!(st.is_holder(&b()));
    }

    #[test]
    fn preempt_and_abort_own_key_aborts_own_tasks() {
        let mut st = three_with_reservation(WE);
        ok(&mut st, &b(), REGISTER, 0, 0x22, 0x11); // b shares a's key
        let ns = ok(&mut st, &c(), PREEMPT_ABORT, EA, 0x33, 0x33);
        // c preempts its own key: no registrations removed, c has no
        // reservation, so only c's own tasks are aborted.
        assert_eq!(keys(&st), [0x11, 0x11, 0x33]);
        let x = ns.find(&pat(&c())).unwrap();
        assert!(x.abort && x.ua.is_none());
        assert_eq!(ns.len(), 1);
    }

    #[test]
    fn preempt_self_changes_type() {
        let mut st = three_with_reservation(WE);
        let ns = ok(&mut st, &a(), PREEMPT, EA_RO, 0x11, 0x11);
        assert_eq!(
            st.reservation(),
            Some(PrType::ExclusiveAccessRegistrantsOnly)
        );
        assert!(st.is_holder(&a()));
        assert_eq!(st.registration_count(), 3);
        assert_eq!(ns.len(), 2);
        assert!(ns
            .as_slice()
            .iter()
            .all(|n| n.ua == Some(asc::RESERVATIONS_RELEASED)));
    }

    #[test]
    fn preempt_removes_all_sharing_the_key() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x11);
        reg(&mut st, &c(), 0x33);
        ok(&mut st, &a(), RESERVE, EA, 0x11, 0);
        ok(&mut st, &c(), PREEMPT, EA, 0x33, 0x11);
        assert_eq!(keys(&st), [0x33]);
        assert!(st.is_holder(&c()));
    }

    #[test]
    fn preempt_unregistered_conflicts() {
        let mut st = three_with_reservation(WE);
        let d = nx("iqn.d", 4, 1);
        conflicted(&mut st, &d, PREEMPT, WE, 0, 0x11);
    }

    // ---- REGISTER AND MOVE ----

    fn move_params(key: u64, sa: u64, flags: u8, rtpi: u16, tid: &TransportId) -> Vec<u8> {
        let mut p = std::vec![0u8; 24];
        p[..8].copy_from_slice(&key.to_be_bytes());
        p[8..16].copy_from_slice(&sa.to_be_bytes());
        p[17] = flags;
        p[18..20].copy_from_slice(&rtpi.to_be_bytes());
        p[20..24].copy_from_slice(&(tid.len() as u32).to_be_bytes());
        p.extend_from_slice(tid.as_bytes());
        p
    }

    #[test]
    fn register_and_move_to_new_nexus() {
        let mut st = three_with_reservation(WE);
        let d = nx("iqn.d", 4, 3);
        let (r, ns) = run(
            &mut st,
            &a(),
            REG_MOVE,
            0,
            &move_params(0x11, 0x44, 0, 3, &d.tid),
        );
        assert_eq!(status(&r), Status::Good);
        assert!(ns.is_empty());
        assert!(st.is_holder(&d));
        assert_eq!(st.key_of(&d), Some(0x44));
        assert!(st.is_registered(&a()) && !st.is_holder(&a()));
        assert_eq!(st.reservation(), Some(PrType::WriteExclusive));
        assert_eq!(st.generation(), 4);
    }

    #[test]
    fn register_and_move_to_registered_with_unreg() {
        let mut st = three_with_reservation(EA_RO);
        let (r, _) = run(
            &mut st,
            &a(),
            REG_MOVE,
            0,
            &move_params(0x11, 0x55, 0x03, 1, &b().tid),
        );
        assert_eq!(status(&r), Status::Good);
        assert!(!st.is_registered(&a()));
        assert!(st.is_holder(&b()));
        assert_eq!(keys(&st), [0x55, 0x33]);
        assert!(st.aptpl());
    }

    #[test]
    fn register_and_move_requires_reservation() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let s = sense_of(
            run(
                &mut st,
                &a(),
                REG_MOVE,
                0,
                &move_params(0x11, 0x44, 0, 1, &b().tid),
            )
            .0,
        );
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
    }

    #[test]
    fn register_and_move_conflicts() {
        let mut st = three_with_reservation(WE);
        let p = move_params(0x22, 0x44, 0, 2, &c().tid);
        assert_eq!(
            status(&run(&mut st, &b(), REG_MOVE, 0, &p).0),
            Status::ReservationConflict
        );
        let p = move_params(0x12, 0x44, 0, 2, &c().tid);
        assert_eq!(
            status(&run(&mut st, &a(), REG_MOVE, 0, &p).0),
            Status::ReservationConflict
        );
        let d = nx("iqn.d", 4, 3);
        let p = move_params(0, 0x44, 0, 2, &c().tid);
        assert_eq!(
            status(&run(&mut st, &d, REG_MOVE, 0, &p).0),
            Status::ReservationConflict
        );
        let mut ar = three_with_reservation(WE_AR);
        let p = move_params(0x11, 0x44, 0, 2, &c().tid);
        assert_eq!(
            status(&run(&mut ar, &a(), REG_MOVE, 0, &p).0),
            Status::ReservationConflict
        );
    }

    #[test]
    fn register_and_move_to_self_invalid() {
        let mut st = three_with_reservation(WE);
        let s = sense_of(
            run(
                &mut st,
                &a(),
                REG_MOVE,
                0,
                &move_params(0x11, 0x44, 0, 1, &a().tid),
            )
            .0,
        );
        assert_eq!(ptr(&s), (false, 24, None));
        // The same initiator port through another target port is fine.
        let (r, _) = run(
            &mut st,
            &a(),
            REG_MOVE,
            0,
            &move_params(0x11, 0x44, 0, 7, &a().tid),
        );
        assert_eq!(status(&r), Status::Good);
        assert!(st.is_holder(&ItNexus {
            tid: a().tid,
            rtpi: 7
        }));
    }

    #[test]
    fn register_and_move_zero_key() {
        let mut st = three_with_reservation(WE);
        let s = sense_of(
            run(
                &mut st,
                &a(),
                REG_MOVE,
                0,
                &move_params(0x11, 0, 0, 2, &c().tid),
            )
            .0,
        );
        assert_eq!(ptr(&s), (false, 8, None));
    }

    #[test]
    fn register_and_move_length_checks() {
        let mut st = three_with_reservation(WE);
        let mut p = move_params(0x11, 0x44, 0, 2, &c().tid);
        p[23] += 4;
        let s = sense_of(run(&mut st, &a(), REG_MOVE, 0, &p).0);
        assert_eq!(s.asc, asc::PARAMETER_LIST_LENGTH_ERROR);
        let mut p = move_params(0x11, 0x44, 0, 2, &c().tid);
        p[20..24].copy_from_slice(&20u32.to_be_bytes());
        let s = sense_of(run(&mut st, &a(), REG_MOVE, 0, &p).0);
        assert_eq!(ptr(&s), (false, 20, None));
        let s = sense_of(run(&mut st, &a(), REG_MOVE, 0, &[0; 23]).0);
        assert_eq!(s.asc, asc::PARAMETER_LIST_LENGTH_ERROR);
        let mut p = move_params(0x11, 0x44, 0, 2, &c().tid);
        p[24] = 0x85;
        let s = sense_of(run(&mut st, &a(), REG_MOVE, 0, &p).0);
        assert_eq!(ptr(&s), (false, 24, Some(7)));
        assert!(st.is_holder(&a()));
    }

    #[test]
    fn register_and_move_capacity() {
        let mut st = S::new();
        for i in 0..CAP as u64 {
            reg(&mut st, &nx("iqn.x", i, 1), 0x100 + i);
        }
        let h = nx("iqn.x", 0, 1);
        ok(&mut st, &h, RESERVE, WE, 0x100, 0);
        let s = sense_of(
            run(
                &mut st,
                &h,
                REG_MOVE,
                0,
                &move_params(0x100, 0x44, 0, 1, &a().tid),
            )
            .0,
        );
        assert_eq!(s.asc, asc::INSUFFICIENT_REGISTRATION_RESOURCES);
        assert!(st.is_holder(&h));
    }

    // ---- PERSISTENT RESERVE IN ----

    #[test]
    fn read_keys_layout() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x0102_0304_0506_0708);
        reg(&mut st, &b(), 0x22);
        let d = prin(&st, 0, 100);
        assert_eq!(&d[..8], &[0, 0, 0, 2, 0, 0, 0, 16]);
        assert_eq!(&d[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(d.len(), 24);
    }

    #[test]
    fn read_keys_truncated_to_allocation_length() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        let d = prin(&st, 0, 8);
        assert_eq!(d, [0, 0, 0, 2, 0, 0, 0, 16], "ADDITIONAL LENGTH stays full");
        assert_eq!(prin(&st, 0, 0).len(), 0);
        assert_eq!(prin(&st, 0, 13).len(), 13);
    }

    #[test]
    fn read_reservation_none() {
        let st = S::new();
        assert_eq!(prin(&st, 1, 100), [0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn report_capabilities_layout() {
        let st = S::new();
        assert_eq!(prin(&st, 2, 100), [0, 8, 0x1d, 0xb0, 0xea, 0x01, 0, 0]);
        assert_eq!(prin(&st, 2, 4), [0, 8, 0x1d, 0xb0]);
    }

    #[test]
    fn read_full_status_layout() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &c(), 0x33);
        ok(&mut st, &c(), RESERVE, WE_RO, 0x33, 0);
        let d = rfs(&st);
        let la = a().tid.len();
        let lc = c().tid.len();
        assert_eq!(get_u32(&d, 0), 2);
        assert_eq!(get_u32(&d, 4) as usize, 24 + la + 24 + lc);
        assert_eq!(d.len(), 8 + 24 + la + 24 + lc);
        // First descriptor: a, not a holder.
        assert_eq!(get_u64(&d, 8), 0x11);
        assert_eq!(d[8 + 12], 0);
        assert_eq!(d[8 + 13], 0);
        assert_eq!(get_u16(&d, 8 + 18), 1);
        assert_eq!(get_u32(&d, 8 + 20) as usize, la);
        assert_eq!(&d[8 + 24..8 + 24 + la], a().tid.as_bytes());
        // Second: c, holder of WE-RO through port 2.
        let o = 8 + 24 + la;
        assert_eq!(get_u64(&d, o), 0x33);
        assert_eq!(d[o + 12], 0x01);
        assert_eq!(d[o + 13], WE_RO);
        assert_eq!(get_u16(&d, o + 18), 2);
        assert_eq!(&d[o + 24..], c().tid.as_bytes());
    }

    #[test]
    fn read_full_status_all_registrants_marks_everyone() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &b(), RESERVE, EA_AR, 0x22, 0);
        let d = rfs(&st);
        let o = 8 + 24 + a().tid.len();
        assert_eq!((d[8 + 12], d[8 + 13]), (1, EA_AR));
        assert_eq!((d[o + 12], d[o + 13]), (1, EA_AR));
        let v: Vec<_> = st.registrations().collect();
        assert!(v.iter().all(|r| r.holder));
    }

    #[test]
    fn read_full_status_truncated_keeps_full_length() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let full = rfs(&st);
        let d = prin(&st, 3, 10);
        assert_eq!(&d[..], &full[..10]);
        assert_eq!(get_u32(&d, 4) as usize, full.len() - 8);
    }

    #[test]
    fn prin_respects_small_output_buffer() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let c = parse_prin_cdb(&[0x5e, 0, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
        let mut buf = [0u8; 12];
        assert_eq!(st.prin(&c, &mut buf), 12);
        assert_eq!(buf, [0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0]);
    }

    // ---- access checks ----

    const READ10: [u8; 10] = [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    const WRITE10: [u8; 10] = [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0];

    fn access_matrix(ty: u8) -> [(Access, Access); 3] {
        // (read, write) for holder a, registered b, unregistered d.
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        ok(&mut st, &a(), RESERVE, ty, 0x11, 0);
        let d = nx("iqn.d", 4, 1);
        [a(), b(), d].map(|n| {
            (
                st.access(&n, classify(&READ10)),
                st.access(&n, classify(&WRITE10)),
            )
        })
    }

    use super::super::reserve::Access::{Allowed as A, Conflict as C};

    #[test]
    fn access_no_reservation() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        assert_eq!(st.access(&b(), CmdClass::Write), A);
    }

    #[test]
    fn access_write_exclusive() {
        // libiscsi ProutReserveAccessWE: registered and unregistered
        // initiators can read, neither can write.
        assert_eq!(access_matrix(WE), [(A, A), (A, C), (A, C)]);
    }

    #[test]
    fn access_exclusive_access() {
        assert_eq!(access_matrix(EA), [(A, A), (C, C), (C, C)]);
    }

    #[test]
    fn access_registrants_only() {
        assert_eq!(access_matrix(WE_RO), [(A, A), (A, A), (A, C)]);
        assert_eq!(access_matrix(EA_RO), [(A, A), (A, A), (C, C)]);
    }

    #[test]
    fn access_all_registrants() {
        assert_eq!(access_matrix(WE_AR), [(A, A), (A, A), (A, C)]);
        assert_eq!(access_matrix(EA_AR), [(A, A), (A, A), (C, C)]);
    }

    #[test]
    fn access_unrestricted_under_exclusive_access() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        ok(&mut st, &a(), RESERVE, EA, 0x11, 0);
        let d = nx("iqn.d", 4, 1);
        for cdb in [
            &[0x12u8, 0, 0, 0, 36, 0][..],
            &[0x00, 0, 0, 0, 0, 0],
            &[0x03, 0, 0, 0, 18, 0],
            &[0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
            &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0x9e, 0x10],
            &[0xa3, 0x0a],
            &[0x5e, 0x00],
            &[0x5f, 0x00],
            &[0x4d, 0],
        ] {
            assert_eq!(st.access(&d, classify(cdb)), A, "{cdb:02x?}");
        }
        assert_eq!(st.access(&d, classify(&[0x1a, 0, 0x3f, 0, 255, 0])), C);
    }

    #[test]
    fn classify_table() {
        use CmdClass::*;
        assert_eq!(classify(&[0x1e, 0, 0, 0, 0, 0]), Unrestricted);
        assert_eq!(classify(&[0x1e, 0, 0, 0, 1, 0]), Write);
        assert_eq!(classify(&[0x1b, 0, 0, 0, 0x01, 0]), Unrestricted);
        assert_eq!(classify(&[0x1b, 0, 0, 0, 0x00, 0]), Write);
        assert_eq!(classify(&[0x1b, 0, 0, 0, 0x31, 0]), Write);
        assert_eq!(classify(&[0x5a]), Read);
        assert_eq!(classify(&[0x8f]), Read);
        assert_eq!(classify(&[0x9e, 0x12]), Read);
        assert_eq!(classify(&[0xa3, 0x0c]), Read);
        assert_eq!(classify(&[0xa3, 0x0a]), Unrestricted);
        assert_eq!(classify(&[0xa4, 0x0a]), Write);
        assert_eq!(classify(&[0xab, 0x01]), Unrestricted);
        assert_eq!(classify(&[0x35]), Write);
        assert_eq!(classify(&[0x42]), Write);
        assert_eq!(classify(&[0x16]), Spc2);
        assert_eq!(classify(&[0x57]), Spc2);
        assert_eq!(classify(&[0x5e]), PrIn);
        assert_eq!(classify(&[0x5f]), PrOut);
        assert_eq!(classify(&[0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0, 0x09]), Read);
        assert_eq!(classify(&[0x7f, 0, 0, 0, 0, 0, 0, 0x18, 0, 0x0b]), Write);
        assert_eq!(classify(&[]), Unrestricted);
    }

    // ---- SPC-2 interplay (CRH) ----

    #[test]
    fn spc2_interplay_rules() {
        let mut st = S::new();
        assert_eq!(st.spc2_interplay(&a()), PrInterplay::NoRegistrations);
        reg(&mut st, &a(), 0x11);
        reg(&mut st, &b(), 0x22);
        let d = nx("iqn.d", 4, 1);
        // Registrations but no reservation: everyone conflicts.
        assert_eq!(st.spc2_interplay(&a()), PrInterplay::Conflict);
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        assert_eq!(st.spc2_interplay(&a()), PrInterplay::GoodNoOp);
        assert_eq!(st.spc2_interplay(&b()), PrInterplay::Conflict);
        assert_eq!(st.spc2_interplay(&d), PrInterplay::Conflict);
        ok(&mut st, &a(), PREEMPT, WE_RO, 0x11, 0x11);
        assert_eq!(st.spc2_interplay(&b()), PrInterplay::GoodNoOp);
        assert_eq!(st.spc2_interplay(&d), PrInterplay::Conflict);
    }

    // ---- notices ----

    #[test]
    fn notices_merge_and_capacity() {
        let mut ns: Notices<2> = Notices::new();
        let p1 = pat(&a());
        let p2 = pat(&b());
        ns.add(&p1, None, true);
        ns.add(&p1, Some(asc::REGISTRATIONS_PREEMPTED), false);
        ns.add(&p2, Some(asc::RESERVATIONS_RELEASED), false);
        ns.add(&pat(&c()), Some(asc::RESERVATIONS_RELEASED), false);
        assert_eq!(ns.len(), 2);
        let x = ns.find(&p1).unwrap();
        assert!(x.abort);
        assert_eq!(x.ua, Some(asc::REGISTRATIONS_PREEMPTED));
        ns.clear();
        assert!(ns.is_empty());
        assert!(Notices::<2>::default().as_slice().is_empty());
    }

    #[test]
    fn errors_leave_no_notices() {
        let mut st = three_with_reservation(EA_RO);
        let mut ns = Ns::new();
        ns.add(&pat(&a()), None, true);
        let c = parse_prout_cdb(&cdb(PREEMPT, WE, 24)).unwrap();
        let r = st.prout(&b(), &c, &params(0x22, 0, 0), &mut ns);
        assert!(r.is_err());
        assert!(ns.is_empty());
    }

    #[test]
    fn nexus_pattern_matching() {
        let p = NexusPattern {
            tid: TransportId::iscsi_name(b"iqn.2000-01.com.example:a").unwrap(),
            rtpi: 5,
            all_tg_pt: false,
        };
        assert!(!p.matches(&a()));
        assert!(p.matches(&ItNexus {
            tid: a().tid,
            rtpi: 5
        }));
        let q = NexusPattern {
            all_tg_pt: true,
            ..p
        };
        assert!(q.matches(&a()));
    }

    // ---- persistence ----

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    fn saved(st: &S) -> Vec<u8> {
        let mut buf = std::vec![0u8; max_saved_len(CAP)];
        let n = st.save(&mut buf).unwrap();
        assert_eq!(n, st.saved_len());
        buf.truncate(n);
        buf
    }

    fn aptpl_state() -> S {
        let mut st = S::new();
        ok_flags(&mut st, &a(), REGISTER, 0, 0, 0x11, 0x01);
        ok_flags(&mut st, &b(), REGISTER, 0, 0, 0x22, 0x05);
        ok(&mut st, &a(), RESERVE, EA_RO, 0x11, 0);
        st
    }

    #[test]
    fn save_layout() {
        let st = aptpl_state();
        let d = saved(&st);
        assert_eq!(&d[..8], b"SCSTRSPR");
        assert_eq!(get_u16(&d, 8), 1);
        assert_eq!(get_u16(&d, 10), 24);
        assert_eq!(get_u32(&d, 12) as usize, d.len());
        assert_eq!(&d[16..24], &[1, EA_RO, 0, 0, 0, 2, 0, 0]);
        assert_eq!(get_u64(&d, 24), 0x11);
        assert_eq!(get_u16(&d, 32), 1);
        assert_eq!(d[34], 0x02, "holder");
        assert_eq!(get_u16(&d, 36) as usize, a().tid.len());
        let n = d.len();
        assert_eq!(get_u32(&d, n - 4), crc32(&d[..n - 4]));
    }

    #[test]
    fn save_load_round_trip() {
        let st = aptpl_state();
        let d = saved(&st);
        let mut t = S::new();
        t.load(&d).unwrap();
        assert_eq!(t.generation(), 0);
        assert!(t.aptpl());
        assert_eq!(rfs(&t)[4..], rfs(&st)[4..]);
        assert_eq!(t.reservation(), st.reservation());
        assert!(t.is_holder(&a()));
        let other_port = ItNexus {
            tid: b().tid,
            rtpi: 42,
        };
        assert!(t.is_registered(&other_port), "ALL_TG_PT restored");
    }

    #[test]
    fn load_without_aptpl_is_empty() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11);
        let d = saved(&st);
        let mut t = aptpl_state();
        t.load(&d).unwrap();
        assert_eq!(t.registration_count(), 0);
        assert!(!t.aptpl() && !t.is_reserved());
    }

    #[test]
    fn load_rejects_corruption() {
        let d = saved(&aptpl_state());
        let mut t = S::new();
        assert_eq!(t.load(&d[..20]), Err(PersistError::BadMagic));
        let mut x = d.clone();
        x[0] = b'X';
        assert_eq!(t.load(&x), Err(PersistError::BadMagic));
        let mut x = d.clone();
        x[9] = 2;
        assert_eq!(t.load(&x), Err(PersistError::UnsupportedVersion));
        let mut x = d.clone();
        x[40] ^= 1;
        assert_eq!(t.load(&x), Err(PersistError::BadChecksum));
        assert_eq!(t.load(&d[..d.len() - 1]), Err(PersistError::BadLength));
        assert_eq!(t.registration_count(), 0);
    }

    /// Rewrites the CRC after a deliberate field change.
    fn refresh_crc(d: &mut [u8]) {
        let n = d.len();
        let c = crc32(&d[..n - 4]);
        d[n - 4..].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn load_validates_fields_behind_a_good_crc() {
        let d = saved(&aptpl_state());
        let mut t = S::new();
        let cases: [(usize, u8, PersistError); 6] = [
            (16, 0x03, PersistError::BadField),          // unknown flag
            (17, 0x02, PersistError::BadField),          // bad type
            (18, 0x01, PersistError::BadField),          // scope
            (34, 0x00, PersistError::BadField),          // no holder
            (24 + 7, 0x00, PersistError::BadField),      // key 0x11 -> 0x00
            (24 + 16 + 3, 0x99, PersistError::BadField), // TransportID length
        ];
        for (at, v, e) in cases {
            let mut x = d.clone();
            x[at] = v;
            refresh_crc(&mut x);
            assert_eq!(t.load(&x), Err(e), "byte {at}");
        }
        assert_eq!(t.registration_count(), 0);
    }

    #[test]
    fn load_rejects_two_holders_and_too_many() {
        let d = saved(&aptpl_state());
        let mut t = S::new();
        let second = 24 + 16 + a().tid.len();
        let mut x = d.clone();
        x[second + 10] |= 0x02;
        refresh_crc(&mut x);
        assert_eq!(t.load(&x), Err(PersistError::BadField));
        let mut small: PrState<1> = PrState::new();
        assert_eq!(small.load(&d), Err(PersistError::TooManyRegistrations));
        let mut x = d.clone();
        x[21] = 3;
        refresh_crc(&mut x);
        assert_eq!(t.load(&x), Err(PersistError::BadLength));
    }

    #[test]
    fn load_rejects_duplicate_registrations() {
        let d = saved(&aptpl_state());
        let rec_a = d[24..24 + 16 + a().tid.len()].to_vec();
        let mut x = d[..24].to_vec();
        x[17] = 0;
        x.extend_from_slice(&rec_a);
        x.extend_from_slice(&rec_a);
        x[24 + 10] = 0;
        x[24 + rec_a.len() + 10] = 0;
        x.extend_from_slice(&[0; 4]);
        let total = x.len() as u32;
        x[12..16].copy_from_slice(&total.to_be_bytes());
        refresh_crc(&mut x);
        let mut t = S::new();
        assert_eq!(t.load(&x), Err(PersistError::BadField));
    }

    #[test]
    fn save_needs_room() {
        let st = aptpl_state();
        let mut buf = std::vec![0u8; st.saved_len() - 1];
        assert_eq!(st.save(&mut buf), Err(PersistError::BufferTooSmall));
        assert_eq!(S::new().saved_len(), 28);
    }

    #[test]
    fn load_failure_keeps_existing_state() {
        let mut t = aptpl_state();
        let before = rfs(&t);
        assert!(t.load(&[0u8; 64]).is_err());
        assert_eq!(rfs(&t), before);
    }

    #[test]
    fn clear_resets_everything() {
        let mut st = aptpl_state();
        st.clear();
        assert_eq!(st.registration_count(), 0);
        assert_eq!(st.generation(), 0);
        assert!(!st.aptpl() && !st.is_reserved());
        assert_eq!(PrState::<4>::default().registration_count(), 0);
    }

    #[test]
    fn pr_type_predicates() {
        for v in 0..=15u8 {
            if let Some(t) = PrType::from_u8(v) {
                assert_eq!(t as u8, v);
                assert!(!(t.all_registrants() && t.registrants_only()));
            }
        }
        assert!(PrType::ExclusiveAccessAllRegistrants.exclusive_access());
        assert!(!PrType::WriteExclusiveRegistrantsOnly.exclusive_access());
        assert_eq!(PrType::from_u8(2), None);
    }

    #[test]
    fn generation_counts_only_registration_actions() {
        let mut st = S::new();
        reg(&mut st, &a(), 0x11); // 1
        reg(&mut st, &b(), 0x22); // 2
        ok(&mut st, &a(), RESERVE, WE, 0x11, 0);
        ok(&mut st, &a(), RELEASE, WE, 0x11, 0);
        assert_eq!(st.generation(), 2);
        ok(&mut st, &a(), PREEMPT, WE, 0x11, 0x22); // 3
        ok(&mut st, &a(), CLEAR, 0, 0x11, 0); // 4
        assert_eq!(st.generation(), 4);
        conflicted(&mut st, &a(), CLEAR, 0, 0x11, 0);
        assert_eq!(st.generation(), 4);
    }

    // ---- property tests ----

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn nexus(i: u8) -> ItNexus {
            match i % 4 {
                0 => a(),
                1 => b(),
                2 => c(),
                _ => ItNexus {
                    tid: a().tid,
                    rtpi: 2,
                },
            }
        }

        const KEYS: [u64; 4] = [0, 0x11, 0x22, 0x33];

        #[derive(Debug, Clone)]
        struct Op {
            who: u8,
            sa: u8,
            ty: u8,
            key: u8,
            sa_key: u8,
            flags: u8,
            target: u8,
        }

        fn op() -> impl Strategy<Value = Op> {
            (
                0u8..4,
                0u8..8,
                prop::sample::select(std::vec![1u8, 3, 5, 6, 7, 8, 0]),
                0u8..4,
                0u8..4,
                prop::sample::select(std::vec![0u8, 1, 4, 5, 8, 9]),
                0u8..4,
            )
                .prop_map(|(who, sa, ty, key, sa_key, flags, target)| Op {
                    who,
                    sa,
                    ty,
                    key,
                    sa_key,
                    flags,
                    target,
                })
        }

        fn apply(st: &mut S, o: &Op) -> Result<ProutOutcome, Sense> {
            let me = nexus(o.who);
            let t = nexus(o.target);
            let p = if o.sa == REG_MOVE {
                move_params(
                    KEYS[o.key as usize],
                    KEYS[o.sa_key as usize],
                    o.flags & 3,
                    t.rtpi,
                    &t.tid,
                )
            } else if o.flags & 0x08 != 0 {
                let mut p = spec_params(KEYS[o.key as usize], KEYS[o.sa_key as usize], &[&t.tid]);
                p[20] = o.flags;
                p
            } else {
                params(KEYS[o.key as usize], KEYS[o.sa_key as usize], o.flags)
            };
            let mut ns = Ns::new();
            match parse_prout_cdb(&cdb(o.sa, o.ty, p.len())) {
                Ok(c) => {
                    let before = st.clone();
                    let r = st.prout(&me, &c, &p, &mut ns);
                    if !matches!(
                        r,
                        Ok(ProutOutcome {
                            status: Status::Good,
                            ..
                        })
                    ) {
                        assert_eq!(rfs(st), rfs(&before), "failed command changed state");
                        assert!(ns.is_empty());
                    }
                    for n in ns.as_slice() {
                        assert!(n.ua.is_some() || n.abort);
                    }
                    r
                }
                Err(e) => Err(e),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn random_sequences_keep_invariants(ops in prop::collection::vec(op(), 0..30)) {
                let mut st = S::new();
                for o in &ops {
                    let _ = apply(&mut st, o);
                    invariants(&st);
                    // Save / load round trip.
                    let d = saved(&st);
                    let mut t = S::new();
                    prop_assert_eq!(t.load(&d), Ok(()));
                    if st.aptpl() {
                        prop_assert_eq!(&rfs(&t)[4..], &rfs(&st)[4..]);
                        prop_assert_eq!(t.reservation(), st.reservation());
                    } else {
                        prop_assert_eq!(t.registration_count(), 0);
                    }
                }
            }

            #[test]
            fn prin_is_prefix_of_full_response(
                ops in prop::collection::vec(op(), 0..20),
                sa in 0u8..4,
                alloc in 0u16..400,
            ) {
                let mut st = S::new();
                for o in &ops {
                    let _ = apply(&mut st, o);
                }
                let full = prin(&st, sa, 4096);
                let part = prin(&st, sa, alloc);
                prop_assert_eq!(part.len(), full.len().min(usize::from(alloc)));
                prop_assert_eq!(&full[..part.len()], &part[..]);
                if sa != 2 && full.len() >= 8 {
                    prop_assert_eq!(get_u32(&full, 4) as usize, full.len() - 8);
                }
            }

            #[test]
            fn prout_never_panics_on_arbitrary_input(
                cdb in prop::collection::vec(any::<u8>(), 0..12),
                params in prop::collection::vec(any::<u8>(), 0..120),
                who in 0u8..4,
                setup in prop::collection::vec(op(), 0..6),
            ) {
                let mut st = S::new();
                for o in &setup {
                    let _ = apply(&mut st, o);
                }
                let mut c = cdb.clone();
                c.resize(10, 0);
                c[0] = 0x5f;
                c[5..9].copy_from_slice(&(params.len() as u32).to_be_bytes());
                if let Ok(pc) = parse_prout_cdb(&c) {
                    let mut ns = Ns::new();
                    let _ = st.prout(&nexus(who), &pc, &params, &mut ns);
                    invariants(&st);
                }
                let _ = parse_prout_cdb(&cdb);
                let _ = parse_prin_cdb(&cdb);
                let _ = classify(&cdb);
            }

            #[test]
            fn tid_parse_never_panics(b in prop::collection::vec(any::<u8>(), 0..300)) {
                if let Ok((t, n)) = TransportId::parse(&b) {
                    prop_assert!(n <= b.len() && n <= MAX_TID_LEN);
                    prop_assert_eq!(t.as_bytes(), &b[..n]);
                    prop_assert!(t.matches(&t));
                    prop_assert_eq!(TransportId::from_bytes(&b[..n]), Some(t));
                }
            }

            #[test]
            fn iscsi_tid_build_parse(name in "[a-z0-9.:-]{1,223}", isid in any::<u64>()) {
                let t = TransportId::iscsi_port(name.as_bytes(), isid).unwrap();
                prop_assert_eq!(TransportId::from_bytes(t.as_bytes()), Some(t));
                prop_assert_eq!(t.len() % 4, 0);
                let n = TransportId::iscsi_name(name.as_bytes()).unwrap();
                prop_assert!(n.matches(&t));
            }

            #[test]
            fn load_never_panics(b in prop::collection::vec(any::<u8>(), 0..400)) {
                let mut t = S::new();
                let _ = t.load(&b);
                invariants(&t);
                // Arbitrary bytes behind a valid header and CRC.
                let mut x = b.clone();
                if x.len() >= 28 {
                    x[..8].copy_from_slice(&PERSIST_MAGIC);
                    x[8..12].copy_from_slice(&[0, 1, 0, 24]);
                    let n = x.len() as u32;
                    x[12..16].copy_from_slice(&n.to_be_bytes());
                    refresh_crc(&mut x);
                    let _ = t.load(&x);
                    invariants(&t);
                }
            }

            #[test]
            fn any_bit_flip_is_detected(ops in prop::collection::vec(op(), 0..10), bit in any::<usize>()) {
                let mut st = S::new();
                for o in &ops {
                    let _ = apply(&mut st, o);
                }
                let mut d = saved(&st);
                let i = bit % (d.len() * 8);
                d[i / 8] ^= 1 << (i % 8);
                let mut t = S::new();
                prop_assert!(t.load(&d).is_err());
            }
        }
    }
}
