// SPDX-License-Identifier: GPL-2.0

//! CDB decoding: the per-peripheral-type operation code tables.
//!
//! [`decode`] turns a raw CDB into a [`Decoded`] command: its table entry
//! ([`OpInfo`]), the service action, the CDB length, the data direction and
//! the exact data buffer length derived from the CDB (never from the
//! initiator's expected length: SCST's security principle), the LBA and the
//! number of logical blocks where the command has them, and the behaviour
//! [`OpFlags`] the core needs (reservations, unit attentions, implicit HEAD OF
//! QUEUE, medium access).
//!
//! Errors are the sense data a target returns (SPC-4 4.2.5, 4.5):
//! - an opcode with no entry for the device type: ILLEGAL REQUEST, INVALID
//!   COMMAND OPERATION CODE (20/00), field pointer CDB byte 0;
//! - an unknown service action: INVALID FIELD IN CDB (24/00) pointing at the
//!   SERVICE ACTION field (byte 1 bit 4, or byte 8 bit 7 for variable-length
//!   CDBs);
//! - a CDB shorter than its operation code's length: INVALID FIELD IN CDB at
//!   byte 0, the operation code that implies the length (byte 7, the
//!   ADDITIONAL CDB LENGTH, for variable-length CDBs);
//! - NACA or LINK set in the CONTROL byte: INVALID FIELD IN CDB at the CONTROL
//!   byte, bit 2 or bit 0 (ACA and linked commands are not supported, as in
//!   SCST 2007; SAM-5 5.2, 5.8).
//!
//! Tables: one per command set; the one for the [`PeripheralType`] is
//! searched first and the SPC table shared by every type second, so a type
//! can redefine an SPC opcode (MMC's 0xA3/0xA4 are SEND KEY / REPORT KEY, not
//! MAINTENANCE IN/OUT). Write-once and optical memory devices use the block
//! (SBC) table, as SCST's `dev_modisk` uses the SBC parser; printers, storage
//! array controllers, enclosures and unknown types use only the SPC table.
//!
//! The 32-byte (variable-length) SBC commands decode here, but
//! [`super::sbc::parse`] refuses them with INVALID COMMAND OPERATION CODE
//! because they require type 2 protection, which is not supported.
//!
//! SBC-3 has no VERIFY(6): opcode 0x13 is SSC's VERIFY(6) and exists only in
//! the tape table.

use super::{
    bytes::{get_u16, get_u24, get_u8},
    sense::Sense,
    types::{DataDirection, PeripheralType},
};

/// Behaviour flags of an operation code (a set of bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OpFlags(pub u32);

impl OpFlags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// Modifies the medium: rejected with DATA PROTECT on a read-only LU.
    pub const WRITE_MEDIUM: Self = Self(1 << 0);
    /// Executes without reporting a pending UNIT ATTENTION (SAM-5 5.14:
    /// INQUIRY, REPORT LUNS, REQUEST SENSE).
    pub const SKIP_UA: Self = Self(1 << 1);
    /// Treated as HEAD OF QUEUE whatever its task attribute. SAM-5 leaves this
    /// to the implementation; like SCST, the discovery commands INQUIRY,
    /// REPORT LUNS and READ CAPACITY(10/16) bypass ordering so that a busy LU
    /// never looks dead. REQUEST SENSE is not: its sense data must reflect the
    /// commands that completed before it.
    pub const IMPLICIT_HOQ: Self = Self(1 << 2);
    /// Allowed from another I_T nexus while an SPC-2 RESERVE is held
    /// (SPC-2 5.5.1).
    pub const RESERVE_OK: Self = Self(1 << 3);
    /// Allowed for a non-registrant under a WRITE EXCLUSIVE persistent
    /// reservation (SPC-4 table 54, SBC-3 table 13).
    pub const PR_WE_OK: Self = Self(1 << 4);
    /// Allowed for a non-registrant under an EXCLUSIVE ACCESS persistent
    /// reservation.
    pub const PR_EA_OK: Self = Self(1 << 5);
    /// Accesses the medium: NOT READY, MEDIUM NOT PRESENT when there is none.
    pub const NEEDS_MEDIUM: Self = Self(1 << 6);
    /// Executed by the core itself rather than by the device handler.
    pub const LOCAL: Self = Self(1 << 7);
    /// Must run alone on the device (mode, log and format changes).
    pub const SERIALIZED: Self = Self(1 << 8);
    /// Short timeout class.
    pub const SMALL_TIMEOUT: Self = Self(1 << 9);
    /// Long timeout class (format, rewind, erase).
    pub const LONG_TIMEOUT: Self = Self(1 << 10);
    /// The transfer length counts logical blocks (scaled by the block size).
    pub const BLOCK_DATA: Self = Self(1 << 11);

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two flag sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Where the LOGICAL BLOCK ADDRESS lives in a CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbaField {
    /// No LBA.
    None,
    /// 6-byte CDB: 21 bits in bytes 1..=3 (SBC-3 5.13).
    Six,
    /// Big-endian field at `off`, `size` bytes.
    At {
        /// Byte offset.
        off: u8,
        /// Width in bytes.
        size: u8,
    },
}

/// Where the number of logical blocks (TRANSFER LENGTH, VERIFICATION LENGTH,
/// NUMBER OF LOGICAL BLOCKS...) lives in a CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountField {
    /// No block count.
    None,
    /// 6-byte READ/WRITE: byte 4, where 0 means 256 blocks (SBC-3 5.13).
    Six,
    /// Big-endian field at `off`, `size` bytes.
    At {
        /// Byte offset.
        off: u8,
        /// Width in bytes.
        size: u8,
    },
}

/// How the data buffer length follows from the CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Xfer {
    /// No data.
    None,
    /// An allocation or parameter list length in bytes at `off`.
    Bytes {
        /// Byte offset.
        off: u8,
        /// Width in bytes.
        size: u8,
    },
    /// A constant number of bytes (READ CAPACITY(10): 8).
    Fixed(u32),
    /// The block count times the block size.
    Blocks,
    /// WRITE SAME: one block; none if `ndob` and the NDOB bit (bit 0 of
    /// `byte`) is set (SBC-4 5.50).
    WriteSame {
        /// The byte holding NDOB.
        byte: u8,
        /// Whether this CDB has an NDOB bit (WRITE SAME(10) does not).
        ndob: bool,
    },
    /// VERIFY: BYTCHK (bits 2..1 of `byte`) 00b no data, 01b the blocks,
    /// 11b one block, 10b invalid (SBC-3 5.33).
    Verify {
        /// The byte holding BYTCHK.
        byte: u8,
    },
    /// COMPARE AND WRITE: twice the blocks (verify data, then write data,
    /// SBC-3 5.2).
    CompareAndWrite,
    /// SSC READ(6)/WRITE(6): 3-byte length at byte 2; in blocks of the
    /// current fixed block size if FIXED (byte 1 bit 0), else in bytes.
    TapeStream,
    /// SSC VERIFY(6): like [`Xfer::TapeStream`], with data only if BYTCMP
    /// (byte 1 bit 1) is set.
    TapeVerify,
    /// SSC READ POSITION: the length follows from the service action field
    /// (short form 20 bytes, long form 32, extended form allocation length).
    ReadPosition,
    /// SBC FORMAT UNIT: the parameter list header (4 bytes, 8 with LONGLIST)
    /// if FMTDATA is set.
    FormatUnit,
}

/// One operation code (and service action) of one command set.
#[derive(Debug, PartialEq, Eq)]
pub struct OpInfo {
    /// Operation code.
    pub opcode: u8,
    /// Service action, for commands that have one.
    pub sa: Option<u16>,
    /// Command name as in the standard.
    pub name: &'static str,
    /// CDB length in bytes.
    pub cdb_len: u8,
    /// Data direction when data is transferred.
    pub dir: DataDirection,
    /// Location of the LBA.
    pub lba: LbaField,
    /// Location of the block count.
    pub count: CountField,
    /// Derivation of the data length.
    pub xfer: Xfer,
    /// Behaviour flags.
    pub flags: OpFlags,
}

/// A decoded CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The table entry.
    pub info: &'static OpInfo,
    /// Operation code.
    pub opcode: u8,
    /// Service action, for commands that have one.
    pub service_action: Option<u16>,
    /// CDB length in bytes.
    pub cdb_len: usize,
    /// Data direction; [`DataDirection::None`] whenever no data moves (for
    /// example READ(10) of zero blocks).
    pub direction: DataDirection,
    /// Length of the data buffer in bytes: Data-In for reads, Data-Out for
    /// writes and for the Data-Out part of bidirectional commands.
    pub data_len: u64,
    /// Data-In length of a bidirectional command, otherwise 0.
    pub bidi_in_len: u64,
    /// The LBA, for commands with one.
    pub lba: Option<u64>,
    /// The block count (6-byte READ/WRITE: 0 already turned into 256).
    pub nblocks: Option<u64>,
    /// Behaviour flags.
    pub flags: OpFlags,
}

/// Length of a CDB from its operation code group (SPC-4 4.2.5.1); `None` for
/// group 3 (variable length: the length is in the CDB) and the vendor
/// specific groups 6 and 7.
pub const fn group_len(opcode: u8) -> Option<usize> {
    match opcode >> 5 {
        0 => Some(6),
        1 | 2 => Some(10),
        4 => Some(16),
        5 => Some(12),
        _ => None,
    }
}

/// The variable-length CDB operation code (SPC-4 4.2.5.3).
pub const VARIABLE_LENGTH_CDB: u8 = 0x7f;

/// ADDITIONAL CDB LENGTH of the 32-byte SBC commands (32 - 8).
const VARIABLE_ADDITIONAL_LEN: u8 = 0x18;

// Short names for the tables.
const R: DataDirection = DataDirection::Read;
const W: DataDirection = DataDirection::Write;
const N: DataDirection = DataDirection::None;
const B: DataDirection = DataDirection::Bidi;

const WM: u32 = OpFlags::WRITE_MEDIUM.0;
const SUA: u32 = OpFlags::SKIP_UA.0;
const HOQ: u32 = OpFlags::IMPLICIT_HOQ.0;
const RSV: u32 = OpFlags::RESERVE_OK.0;
const WE: u32 = OpFlags::PR_WE_OK.0;
const EA: u32 = OpFlags::PR_EA_OK.0;
const MED: u32 = OpFlags::NEEDS_MEDIUM.0;
const LOC: u32 = OpFlags::LOCAL.0;
const SER: u32 = OpFlags::SERIALIZED.0;
const SMALL: u32 = OpFlags::SMALL_TIMEOUT.0;
const LONG: u32 = OpFlags::LONG_TIMEOUT.0;
const BLK: u32 = OpFlags::BLOCK_DATA.0;

// PR IN is allowed for everyone; PR OUT always reaches the PR logic, which
// applies SPC-4 5.13's own rules.
const PRI: u32 = LOC | RSV | WE | EA;
const PRO: u32 = LOC | WE | EA;
// Block reads and writes.
const RD: u32 = WE | MED;
const WR: u32 = WM | MED;
// Discovery commands a reservation holder cannot block.
const DISC: u32 = SMALL | RSV | WE | EA;

/// CDB length of an opcode for the tables: the group length, 32 for the
/// variable-length commands.
const fn len_of(opcode: u8) -> u8 {
    match group_len(opcode) {
        Some(l) => l as u8,
        None => 32,
    }
}

/// Builds one table entry.
#[allow(clippy::too_many_arguments)]
const fn op(
    opcode: u8,
    sa: Option<u16>,
    name: &'static str,
    dir: DataDirection,
    lba: LbaField,
    count: CountField,
    xfer: Xfer,
    flags: u32,
) -> OpInfo {
    OpInfo {
        opcode,
        sa,
        name,
        cdb_len: len_of(opcode),
        dir,
        lba,
        count,
        xfer,
        flags: OpFlags(flags),
    }
}

/// A command without LBA or block count.
const fn simple(
    opcode: u8,
    sa: Option<u16>,
    name: &'static str,
    dir: DataDirection,
    xfer: Xfer,
    flags: u32,
) -> OpInfo {
    op(
        opcode,
        sa,
        name,
        dir,
        LbaField::None,
        CountField::None,
        xfer,
        flags,
    )
}

/// A block command: LBA and block count; data (if any) is the blocks.
const fn blk(
    opcode: u8,
    sa: Option<u16>,
    name: &'static str,
    dir: DataDirection,
    lba: LbaField,
    count: CountField,
    flags: u32,
) -> OpInfo {
    let (xfer, flags) = match dir {
        DataDirection::None => (Xfer::None, flags),
        _ => (Xfer::Blocks, flags | BLK),
    };
    op(opcode, sa, name, dir, lba, count, xfer, flags)
}

const fn by(off: u8, size: u8) -> Xfer {
    Xfer::Bytes { off, size }
}

const fn at(off: u8, size: u8) -> LbaField {
    LbaField::At { off, size }
}

const fn ct(off: u8, size: u8) -> CountField {
    CountField::At { off, size }
}

const NO_LBA: LbaField = LbaField::None;
const NO_CNT: CountField = CountField::None;

/// SPC-4 commands, valid for every device type. Sorted by opcode.
#[rustfmt::skip]
const SPC_OPS: &[OpInfo] = &[
    simple(0x00, None, "TEST UNIT READY", N, Xfer::None, SMALL | RSV | WE | EA | MED),
    simple(0x03, None, "REQUEST SENSE", R, by(4, 1), SMALL | SUA | LOC | RSV | WE | EA),
    simple(0x12, None, "INQUIRY", R, by(3, 2), SUA | HOQ | DISC),
    simple(0x15, None, "MODE SELECT(6)", W, by(4, 1), SER),
    simple(0x16, None, "RESERVE(6)", N, Xfer::None, SMALL | LOC | SER),
    simple(0x17, None, "RELEASE(6)", N, Xfer::None, SMALL | LOC | SER | RSV),
    simple(0x1a, None, "MODE SENSE(6)", R, by(4, 1), SMALL | WE),
    simple(0x1c, None, "RECEIVE DIAGNOSTIC RESULTS", R, by(3, 2), WE),
    simple(0x1d, None, "SEND DIAGNOSTIC", W, by(3, 2), 0),
    simple(0x3b, None, "WRITE BUFFER", W, by(6, 3), SER),
    simple(0x3c, None, "READ BUFFER", R, by(6, 3), WE),
    simple(0x4c, None, "LOG SELECT", W, by(7, 2), SER),
    simple(0x4d, None, "LOG SENSE", R, by(7, 2), DISC),
    simple(0x55, None, "MODE SELECT(10)", W, by(7, 2), SER),
    simple(0x56, None, "RESERVE(10)", W, by(7, 2), SMALL | LOC | SER),
    simple(0x57, None, "RELEASE(10)", W, by(7, 2), SMALL | LOC | SER | RSV),
    simple(0x5a, None, "MODE SENSE(10)", R, by(7, 2), SMALL | WE),
    simple(0x5e, Some(0x00), "PERSISTENT RESERVE IN/READ KEYS", R, by(7, 2), PRI),
    simple(0x5e, Some(0x01), "PERSISTENT RESERVE IN/READ RESERVATION", R, by(7, 2), PRI),
    simple(0x5e, Some(0x02), "PERSISTENT RESERVE IN/REPORT CAPABILITIES", R, by(7, 2), PRI),
    simple(0x5e, Some(0x03), "PERSISTENT RESERVE IN/READ FULL STATUS", R, by(7, 2), PRI),
    simple(0x5f, Some(0x00), "PERSISTENT RESERVE OUT/REGISTER", W, by(5, 4), PRO),
    simple(0x5f, Some(0x01), "PERSISTENT RESERVE OUT/RESERVE", W, by(5, 4), PRO),
    simple(0x5f, Some(0x02), "PERSISTENT RESERVE OUT/RELEASE", W, by(5, 4), PRO),
    simple(0x5f, Some(0x03), "PERSISTENT RESERVE OUT/CLEAR", W, by(5, 4), PRO),
    simple(0x5f, Some(0x04), "PERSISTENT RESERVE OUT/PREEMPT", W, by(5, 4), PRO),
    simple(0x5f, Some(0x05), "PERSISTENT RESERVE OUT/PREEMPT AND ABORT", W, by(5, 4), PRO),
    simple(0x5f, Some(0x06), "PERSISTENT RESERVE OUT/REGISTER AND IGNORE EXISTING KEY", W, by(5, 4), PRO),
    simple(0x5f, Some(0x07), "PERSISTENT RESERVE OUT/REGISTER AND MOVE", W, by(5, 4), PRO),
    simple(0x5f, Some(0x08), "PERSISTENT RESERVE OUT/REPLACE LOST RESERVATION", W, by(5, 4), PRO),
    simple(0x83, Some(0x00), "EXTENDED COPY(LID1)", W, by(10, 4), LOC),
    simple(0x84, Some(0x00), "RECEIVE COPY RESULTS/COPY STATUS(LID1)", R, by(10, 4), LOC | WE),
    simple(0x84, Some(0x01), "RECEIVE COPY RESULTS/RECEIVE DATA(LID1)", R, by(10, 4), LOC | WE),
    simple(0x84, Some(0x03), "RECEIVE COPY RESULTS/OPERATING PARAMETERS", R, by(10, 4), LOC | WE),
    simple(0x84, Some(0x04), "RECEIVE COPY RESULTS/FAILED SEGMENT DETAILS(LID1)", R, by(10, 4), LOC | WE),
    simple(0xa0, None, "REPORT LUNS", R, by(6, 4), SUA | HOQ | LOC | DISC),
    simple(0xa3, Some(0x05), "MAINTENANCE IN/REPORT IDENTIFYING INFORMATION", R, by(6, 4), DISC),
    simple(0xa3, Some(0x0a), "MAINTENANCE IN/REPORT TARGET PORT GROUPS", R, by(6, 4), LOC | DISC),
    simple(0xa3, Some(0x0c), "MAINTENANCE IN/REPORT SUPPORTED OPERATION CODES", R, by(6, 4), LOC | DISC),
    simple(0xa3, Some(0x0d), "MAINTENANCE IN/REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS", R, by(6, 4), LOC | DISC),
    simple(0xa3, Some(0x0f), "MAINTENANCE IN/REPORT TIMESTAMP", R, by(6, 4), DISC),
    simple(0xa4, Some(0x06), "MAINTENANCE OUT/SET IDENTIFYING INFORMATION", W, by(6, 4), SER),
    simple(0xa4, Some(0x0a), "MAINTENANCE OUT/SET TARGET PORT GROUPS", W, by(6, 4), LOC | SER),
    simple(0xa4, Some(0x0f), "MAINTENANCE OUT/SET TIMESTAMP", W, by(6, 4), SER),
];

/// Direct-access block devices (SBC-3). Sorted by opcode.
#[rustfmt::skip]
const DISK_OPS: &[OpInfo] = &[
    op(0x04, None, "FORMAT UNIT", W, NO_LBA, NO_CNT, Xfer::FormatUnit, WM | SER | LONG | MED),
    blk(0x08, None, "READ(6)", R, LbaField::Six, CountField::Six, RD),
    blk(0x0a, None, "WRITE(6)", W, LbaField::Six, CountField::Six, WR),
    simple(0x1b, None, "START STOP UNIT", N, Xfer::None, LONG),
    simple(0x1e, None, "PREVENT ALLOW MEDIUM REMOVAL", N, Xfer::None, 0),
    simple(0x25, None, "READ CAPACITY(10)", R, Xfer::Fixed(8), HOQ | DISC | MED),
    blk(0x28, None, "READ(10)", R, at(2, 4), ct(7, 2), RD),
    blk(0x2a, None, "WRITE(10)", W, at(2, 4), ct(7, 2), WR),
    blk(0x2e, None, "WRITE AND VERIFY(10)", W, at(2, 4), ct(7, 2), WR),
    op(0x2f, None, "VERIFY(10)", W, at(2, 4), ct(7, 2), Xfer::Verify { byte: 1 }, RD | BLK),
    blk(0x34, None, "PRE-FETCH(10)", N, at(2, 4), ct(7, 2), RD),
    blk(0x35, None, "SYNCHRONIZE CACHE(10)", N, at(2, 4), ct(7, 2), MED),
    simple(0x37, None, "READ DEFECT DATA(10)", R, by(7, 2), WE | MED),
    op(0x41, None, "WRITE SAME(10)", W, at(2, 4), ct(7, 2), Xfer::WriteSame { byte: 1, ndob: false }, WR | BLK),
    simple(0x42, None, "UNMAP", W, by(7, 2), WR),
    blk(0x53, None, "XDWRITEREAD(10)", B, at(2, 4), ct(7, 2), WR),
    blk(0x7f, Some(0x0009), "READ(32)", R, at(12, 8), ct(28, 4), RD),
    op(0x7f, Some(0x000a), "VERIFY(32)", W, at(12, 8), ct(28, 4), Xfer::Verify { byte: 10 }, RD | BLK),
    blk(0x7f, Some(0x000b), "WRITE(32)", W, at(12, 8), ct(28, 4), WR),
    blk(0x7f, Some(0x000c), "WRITE AND VERIFY(32)", W, at(12, 8), ct(28, 4), WR),
    op(0x7f, Some(0x000d), "WRITE SAME(32)", W, at(12, 8), ct(28, 4), Xfer::WriteSame { byte: 10, ndob: true }, WR | BLK),
    blk(0x7f, Some(0x000e), "ORWRITE(32)", W, at(12, 8), ct(28, 4), WR),
    blk(0x88, None, "READ(16)", R, at(2, 8), ct(10, 4), RD),
    op(0x89, None, "COMPARE AND WRITE", W, at(2, 8), ct(13, 1), Xfer::CompareAndWrite, WR | BLK),
    blk(0x8a, None, "WRITE(16)", W, at(2, 8), ct(10, 4), WR),
    blk(0x8b, None, "ORWRITE(16)", W, at(2, 8), ct(10, 4), WR),
    blk(0x8e, None, "WRITE AND VERIFY(16)", W, at(2, 8), ct(10, 4), WR),
    op(0x8f, None, "VERIFY(16)", W, at(2, 8), ct(10, 4), Xfer::Verify { byte: 1 }, RD | BLK),
    blk(0x90, None, "PRE-FETCH(16)", N, at(2, 8), ct(10, 4), RD),
    blk(0x91, None, "SYNCHRONIZE CACHE(16)", N, at(2, 8), ct(10, 4), MED),
    op(0x93, None, "WRITE SAME(16)", W, at(2, 8), ct(10, 4), Xfer::WriteSame { byte: 1, ndob: true }, WR | BLK),
    op(0x9e, Some(0x10), "SERVICE ACTION IN(16)/READ CAPACITY(16)", R, at(2, 8), NO_CNT, by(10, 4), HOQ | DISC | MED),
    op(0x9e, Some(0x12), "SERVICE ACTION IN(16)/GET LBA STATUS", R, at(2, 8), NO_CNT, by(10, 4), WE | MED),
    blk(0xa8, None, "READ(12)", R, at(2, 4), ct(6, 4), RD),
    blk(0xaa, None, "WRITE(12)", W, at(2, 4), ct(6, 4), WR),
    blk(0xae, None, "WRITE AND VERIFY(12)", W, at(2, 4), ct(6, 4), WR),
    op(0xaf, None, "VERIFY(12)", W, at(2, 4), ct(6, 4), Xfer::Verify { byte: 1 }, RD | BLK),
    simple(0xb7, None, "READ DEFECT DATA(12)", R, by(6, 4), WE | MED),
];

/// Sequential-access devices (SSC-3). Sorted by opcode.
#[rustfmt::skip]
const TAPE_OPS: &[OpInfo] = &[
    simple(0x01, None, "REWIND", N, Xfer::None, LONG | MED),
    simple(0x04, None, "FORMAT MEDIUM", W, by(3, 2), WM | SER | LONG | MED),
    simple(0x05, None, "READ BLOCK LIMITS", R, Xfer::Fixed(6), SMALL | RSV | WE | EA),
    simple(0x08, None, "READ(6)", R, Xfer::TapeStream, WE | MED),
    simple(0x0a, None, "WRITE(6)", W, Xfer::TapeStream, WM | MED),
    simple(0x10, None, "WRITE FILEMARKS(6)", N, Xfer::None, WM | MED),
    simple(0x11, None, "SPACE(6)", N, Xfer::None, LONG | WE | MED),
    simple(0x13, None, "VERIFY(6)", W, Xfer::TapeVerify, WE | MED),
    simple(0x19, None, "ERASE(6)", N, Xfer::None, WM | LONG | MED),
    simple(0x1b, None, "LOAD UNLOAD", N, Xfer::None, LONG),
    simple(0x1e, None, "PREVENT ALLOW MEDIUM REMOVAL", N, Xfer::None, 0),
    simple(0x2b, None, "LOCATE(10)", N, Xfer::None, LONG | WE | MED),
    simple(0x34, None, "READ POSITION", R, Xfer::ReadPosition, SMALL | WE | MED),
    simple(0x44, None, "REPORT DENSITY SUPPORT", R, by(7, 2), WE),
    simple(0x80, None, "WRITE FILEMARKS(16)", N, Xfer::None, WM | MED),
    simple(0x8c, None, "READ ATTRIBUTE", R, by(10, 4), WE),
    simple(0x8d, None, "WRITE ATTRIBUTE", W, by(10, 4), 0),
    simple(0x91, None, "SPACE(16)", N, Xfer::None, LONG | WE | MED),
    simple(0x92, None, "LOCATE(16)", N, Xfer::None, LONG | WE | MED),
    simple(0x93, None, "ERASE(16)", N, Xfer::None, WM | LONG | MED),
];

/// Processor devices (SPC-2 9). Sorted by opcode.
#[rustfmt::skip]
const PROCESSOR_OPS: &[OpInfo] = &[
    simple(0x08, None, "RECEIVE", R, by(2, 3), 0),
    simple(0x0a, None, "SEND(6)", W, by(2, 3), 0),
];

/// CD/DVD devices (MMC-5). Sorted by opcode.
#[rustfmt::skip]
const CDROM_OPS: &[OpInfo] = &[
    simple(0x1b, None, "START STOP UNIT", N, Xfer::None, LONG),
    simple(0x1e, None, "PREVENT ALLOW MEDIUM REMOVAL", N, Xfer::None, 0),
    simple(0x23, None, "READ FORMAT CAPACITIES", R, by(7, 2), WE),
    simple(0x25, None, "READ CAPACITY", R, Xfer::Fixed(8), HOQ | DISC | MED),
    blk(0x28, None, "READ(10)", R, at(2, 4), ct(7, 2), RD),
    blk(0x2a, None, "WRITE(10)", W, at(2, 4), ct(7, 2), WR),
    op(0x2b, None, "SEEK(10)", N, at(2, 4), NO_CNT, Xfer::None, RD),
    op(0x2f, None, "VERIFY(10)", W, at(2, 4), ct(7, 2), Xfer::Verify { byte: 1 }, RD | BLK),
    blk(0x35, None, "SYNCHRONIZE CACHE", N, at(2, 4), ct(7, 2), MED),
    simple(0x42, None, "READ SUB-CHANNEL", R, by(7, 2), WE | MED),
    simple(0x43, None, "READ TOC/PMA/ATIP", R, by(7, 2), WE | MED),
    simple(0x46, None, "GET CONFIGURATION", R, by(7, 2), SMALL | WE | EA),
    simple(0x4a, None, "GET EVENT STATUS NOTIFICATION", R, by(7, 2), SMALL | WE | EA),
    simple(0x51, None, "READ DISC INFORMATION", R, by(7, 2), WE | MED),
    simple(0x52, None, "READ TRACK INFORMATION", R, by(7, 2), WE | MED),
    simple(0xa3, None, "SEND KEY", W, by(8, 2), 0),
    simple(0xa4, None, "REPORT KEY", R, by(8, 2), WE),
    blk(0xa8, None, "READ(12)", R, at(2, 4), ct(6, 4), RD),
    blk(0xaa, None, "WRITE(12)", W, at(2, 4), ct(6, 4), WR),
    simple(0xad, None, "READ DISC STRUCTURE", R, by(8, 2), WE | MED),
    simple(0xbb, None, "SET CD SPEED", N, Xfer::None, 0),
    simple(0xbd, None, "MECHANISM STATUS", R, by(8, 2), SMALL | WE | EA),
];

/// Medium changers (SMC-3). Sorted by opcode.
#[rustfmt::skip]
const CHANGER_OPS: &[OpInfo] = &[
    simple(0x07, None, "INITIALIZE ELEMENT STATUS", N, Xfer::None, LONG),
    simple(0x1e, None, "PREVENT ALLOW MEDIUM REMOVAL", N, Xfer::None, 0),
    simple(0x2b, None, "POSITION TO ELEMENT", N, Xfer::None, LONG),
    simple(0x37, None, "INITIALIZE ELEMENT STATUS WITH RANGE", N, Xfer::None, LONG),
    simple(0xa5, None, "MOVE MEDIUM", N, Xfer::None, LONG),
    simple(0xa6, None, "EXCHANGE MEDIUM", N, Xfer::None, LONG),
    simple(0xb8, None, "READ ELEMENT STATUS", R, by(7, 3), WE),
];

/// One command set: its entries (sorted by opcode, one opcode's entries
/// contiguous) and, per opcode, 1 + the index of its first entry (0: none).
struct Table {
    ops: &'static [OpInfo],
    index: [u8; 256],
}

/// Builds a table's opcode index at compile time.
const fn table(ops: &'static [OpInfo]) -> Table {
    let mut index = [0u8; 256];
    let mut i = ops.len();
    // Walk backwards so each opcode ends up pointing at its first entry.
    while i > 0 {
        i -= 1;
        index[ops[i].opcode as usize] = (i + 1) as u8;
    }
    Table { ops, index }
}

static SPC: Table = table(SPC_OPS);
static DISK: Table = table(DISK_OPS);
static TAPE: Table = table(TAPE_OPS);
static PROCESSOR: Table = table(PROCESSOR_OPS);
static CDROM: Table = table(CDROM_OPS);
static CHANGER: Table = table(CHANGER_OPS);
static NONE: Table = table(&[]);

impl Table {
    /// The entries of `opcode` (empty if none).
    fn entries(&self, opcode: u8) -> &'static [OpInfo] {
        let first = match self.index.get(usize::from(opcode)) {
            Some(&i) if i > 0 => usize::from(i - 1),
            _ => return &[],
        };
        let rest = self.ops.get(first..).unwrap_or(&[]);
        let n = rest.iter().take_while(|o| o.opcode == opcode).count();
        rest.get(..n).unwrap_or(&[])
    }
}

/// The device-type table of `ptype` (the SPC table is searched after it).
fn type_table(ptype: PeripheralType) -> &'static Table {
    match ptype {
        PeripheralType::Disk | PeripheralType::Worm | PeripheralType::OpticalMemory => &DISK,
        PeripheralType::Tape => &TAPE,
        PeripheralType::Processor => &PROCESSOR,
        PeripheralType::Cdrom => &CDROM,
        PeripheralType::Changer => &CHANGER,
        _ => &NONE,
    }
}

/// The entries of `opcode` for `ptype`: the type's own, else SPC's.
fn entries(opcode: u8, ptype: PeripheralType) -> &'static [OpInfo] {
    let own = type_table(ptype).entries(opcode);
    if own.is_empty() {
        SPC.entries(opcode)
    } else {
        own
    }
}

/// Looks up the table entry of an operation code (and service action, for
/// commands that have one) for a device type, as REPORT SUPPORTED OPERATION
/// CODES needs it.
pub fn lookup(opcode: u8, sa: Option<u16>, ptype: PeripheralType) -> Option<&'static OpInfo> {
    entries(opcode, ptype).iter().find(|o| o.sa == sa)
}

/// Every command supported for `ptype`, in opcode order per table (the device
/// type's commands first, then the SPC commands it does not redefine).
pub fn supported(ptype: PeripheralType) -> impl Iterator<Item = &'static OpInfo> {
    let own = type_table(ptype);
    own.ops.iter().chain(
        SPC.ops
            .iter()
            .filter(move |o| own.entries(o.opcode).is_empty()),
    )
}

/// Reads a big-endian field of 1 to 8 bytes (missing bytes read as 0).
fn field(cdb: &[u8], off: u8, size: u8) -> u64 {
    let mut v = 0u64;
    let mut i = 0u8;
    while i < size && i < 8 {
        v = (v << 8) | u64::from(get_u8(cdb, usize::from(off) + usize::from(i)));
        i += 1;
    }
    v
}

/// `blocks * block_size`, or HARDWARE ERROR when the LU has no block size
/// (a configuration error, not the initiator's).
fn blocks_to_bytes(blocks: u64, block_size: u32) -> Result<u64, Sense> {
    if block_size == 0 {
        return Err(Sense::internal_failure());
    }
    blocks
        .checked_mul(u64::from(block_size))
        .ok_or(Sense::invalid_field_in_cdb(0, None))
}

/// SSC fixed/variable transfer length (READ(6), WRITE(6), VERIFY(6)).
fn tape_len(cdb: &[u8], block_size: u32) -> Result<u64, Sense> {
    let len = u64::from(get_u24(cdb, 2));
    if get_u8(cdb, 1) & 0x01 == 0 {
        return Ok(len);
    }
    // FIXED with no fixed block size (variable-block mode) (SSC-3 7.2).
    if block_size == 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    blocks_to_bytes(len, block_size)
}

/// The data length of a command.
fn data_len(info: &OpInfo, cdb: &[u8], nblocks: u64, block_size: u32) -> Result<u64, Sense> {
    Ok(match info.xfer {
        Xfer::None => 0,
        Xfer::Bytes { off, size } => field(cdb, off, size),
        Xfer::Fixed(n) => u64::from(n),
        Xfer::Blocks if nblocks == 0 => 0,
        Xfer::Blocks => blocks_to_bytes(nblocks, block_size)?,
        Xfer::WriteSame { byte, ndob } => {
            if ndob && get_u8(cdb, usize::from(byte)) & 0x01 != 0 {
                0
            } else {
                blocks_to_bytes(1, block_size)?
            }
        }
        Xfer::Verify { byte } => match (get_u8(cdb, usize::from(byte)) >> 1) & 0x03 {
            0 => 0,
            // A VERIFICATION LENGTH of 0 verifies nothing and transfers
            // nothing, whatever BYTCHK says (as `sbc::parse_rw`).
            1 | 3 if nblocks == 0 => 0,
            1 => blocks_to_bytes(nblocks, block_size)?,
            3 => blocks_to_bytes(1, block_size)?,
            // BYTCHK 10b is reserved (SBC-3 5.33 table 93).
            _ => return Err(Sense::invalid_field_in_cdb(u16::from(byte), Some(2))),
        },
        Xfer::CompareAndWrite if nblocks == 0 => 0,
        Xfer::CompareAndWrite => blocks_to_bytes(nblocks, block_size)?
            .checked_mul(2)
            .ok_or(Sense::invalid_field_in_cdb(13, None))?,
        Xfer::TapeStream => tape_len(cdb, block_size)?,
        Xfer::TapeVerify => {
            if get_u8(cdb, 1) & 0x02 == 0 {
                0
            } else {
                tape_len(cdb, block_size)?
            }
        }
        Xfer::ReadPosition => match get_u8(cdb, 1) & 0x1f {
            0x00 | 0x01 => 20,
            0x06 => 32,
            0x08 => u64::from(get_u16(cdb, 7)),
            _ => return Err(Sense::invalid_field_in_cdb(1, Some(4))),
        },
        Xfer::FormatUnit => match get_u8(cdb, 1) & 0x30 {
            0x10 => 4,
            0x30 => 8,
            _ => 0,
        },
    })
}

/// Decodes a CDB for a device of type `ptype` whose logical block (or, for
/// tapes, fixed block) size is `block_size`.
///
/// `cdb` may be longer than the command (iSCSI pads CDBs to 16 bytes); bytes
/// beyond [`Decoded::cdb_len`] are ignored.
pub fn decode(cdb: &[u8], ptype: PeripheralType, block_size: u32) -> Result<Decoded, Sense> {
    let opcode = *cdb.first().ok_or(Sense::invalid_opcode())?;
    let ops = entries(opcode, ptype);
    let first = ops.first().ok_or(Sense::invalid_opcode())?;
    let variable = opcode == VARIABLE_LENGTH_CDB;

    let cdb_len = if variable {
        // SPC-4 4.2.5.3: 8 bytes, then ADDITIONAL CDB LENGTH more; the
        // service action is in bytes 8..=9.
        let total = 8 + usize::from(get_u8(cdb, 7));
        if cdb.len() < 8 || total < 10 || cdb.len() < total {
            return Err(Sense::invalid_field_in_cdb(7, None));
        }
        total
    } else {
        let len = usize::from(first.cdb_len);
        if cdb.len() < len {
            return Err(Sense::invalid_field_in_cdb(0, None));
        }
        len
    };

    let (info, service_action) = if first.sa.is_none() {
        (first, None)
    } else if variable {
        let sa = get_u16(cdb, 8);
        let info = ops
            .iter()
            .find(|o| o.sa == Some(sa))
            .ok_or(Sense::invalid_field_in_cdb(8, Some(7)))?;
        // Every 32-byte SBC command has ADDITIONAL CDB LENGTH 18h.
        if get_u8(cdb, 7) != VARIABLE_ADDITIONAL_LEN || usize::from(info.cdb_len) != cdb_len {
            return Err(Sense::invalid_field_in_cdb(7, None));
        }
        (info, Some(sa))
    } else {
        let sa = u16::from(get_u8(cdb, 1) & 0x1f);
        let info = ops
            .iter()
            .find(|o| o.sa == Some(sa))
            .ok_or(Sense::invalid_field_in_cdb(1, Some(4)))?;
        (info, Some(sa))
    };

    // CONTROL is the last byte, except in variable-length CDBs (byte 1).
    let ctl_at = if variable { 1 } else { cdb_len - 1 };
    let control = get_u8(cdb, ctl_at);
    if control & 0x04 != 0 {
        return Err(Sense::invalid_field_in_cdb(ctl_at as u16, Some(2)));
    }
    if control & 0x01 != 0 {
        return Err(Sense::invalid_field_in_cdb(ctl_at as u16, Some(0)));
    }

    let lba = match info.lba {
        LbaField::None => None,
        LbaField::Six => Some(u64::from(get_u24(cdb, 1) & 0x1f_ffff)),
        LbaField::At { off, size } => Some(field(cdb, off, size)),
    };
    let nblocks = match info.count {
        CountField::None => None,
        CountField::Six => match get_u8(cdb, 4) {
            0 => Some(256),
            n => Some(u64::from(n)),
        },
        CountField::At { off, size } => Some(field(cdb, off, size)),
    };
    let len = data_len(info, cdb, nblocks.unwrap_or(0), block_size)?;
    let (direction, bidi_in_len) = match info.dir {
        _ if len == 0 => (DataDirection::None, 0),
        DataDirection::Bidi => (DataDirection::Bidi, len),
        d => (d, 0),
    };

    Ok(Decoded {
        info,
        opcode,
        service_action,
        cdb_len,
        direction,
        data_len: len,
        bidi_in_len,
        lba,
        nblocks,
        flags: info.flags,
    })
}

#[cfg(test)]
mod tests {
    use super::super::sense::{asc, Key, Specific};
    use super::*;

    const DISK: PeripheralType = PeripheralType::Disk;

    fn cdb16(bytes: &[u8]) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[..bytes.len()].copy_from_slice(bytes);
        c
    }

    fn dec(c: &[u8]) -> Decoded {
        decode(c, DISK, 512).unwrap()
    }

    fn err(c: &[u8], t: PeripheralType) -> Sense {
        decode(c, t, 512).unwrap_err()
    }

    fn fp(s: &Sense) -> (u16, Option<u8>) {
        match s.specific {
            Some(Specific::FieldPointer {
                in_cdb: true,
                byte,
                bit,
            }) => (byte, bit),
            other => panic!("no CDB field pointer: {other:?}"),
        }
    }

    fn is_invalid_field(s: &Sense, byte: u16, bit: Option<u8>) {
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
        assert_eq!(fp(s), (byte, bit));
    }

    fn is_invalid_opcode(s: &Sense) {
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_OPCODE);
        assert_eq!(fp(s), (0, None));
    }

    #[test]
    fn group_lengths() {
        assert_eq!(group_len(0x00), Some(6));
        assert_eq!(group_len(0x1f), Some(6));
        assert_eq!(group_len(0x28), Some(10));
        assert_eq!(group_len(0x5a), Some(10));
        assert_eq!(group_len(0x7f), None);
        assert_eq!(group_len(0x88), Some(16));
        assert_eq!(group_len(0xa8), Some(12));
        assert_eq!(group_len(0xc0), None);
        assert_eq!(group_len(0xff), None);
    }

    #[test]
    fn empty_cdb_is_invalid_opcode() {
        is_invalid_opcode(&err(&[], DISK));
    }

    #[test]
    fn unknown_opcode() {
        is_invalid_opcode(&err(&cdb16(&[0x02]), DISK));
        is_invalid_opcode(&err(&cdb16(&[0xc0]), DISK));
        is_invalid_opcode(&err(&cdb16(&[0xff]), DISK));
        is_invalid_opcode(&err(&cdb16(&[0x7e]), DISK));
    }

    #[test]
    fn unknown_opcode_checked_before_length() {
        // A one-byte CDB with an unknown opcode is an opcode error.
        is_invalid_opcode(&err(&[0x02], DISK));
    }

    #[test]
    fn read10_fields() {
        let d = dec(&[0x28, 0x18, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x00, 0]);
        assert_eq!(d.opcode, 0x28);
        assert_eq!(d.info.name, "READ(10)");
        assert_eq!(d.cdb_len, 10);
        assert_eq!(d.direction, DataDirection::Read);
        assert_eq!(d.lba, Some(0x1234_5678));
        assert_eq!(d.nblocks, Some(256));
        assert_eq!(d.data_len, 256 * 512);
        assert_eq!(d.service_action, None);
        assert!(d.flags.contains(OpFlags::BLOCK_DATA));
        assert!(!d.flags.contains(OpFlags::WRITE_MEDIUM));
    }

    #[test]
    fn read10_zero_blocks_has_no_data() {
        let d = dec(&[0x28, 0, 0, 0, 0, 9, 0, 0, 0, 0]);
        assert_eq!(d.nblocks, Some(0));
        assert_eq!(d.data_len, 0);
        assert_eq!(d.direction, DataDirection::None);
    }

    #[test]
    fn read6_zero_means_256() {
        let d = dec(&[0x08, 0, 0, 1, 0, 0]);
        assert_eq!(d.nblocks, Some(256));
        assert_eq!(d.data_len, 256 * 512);
        assert_eq!(d.lba, Some(1));
    }

    #[test]
    fn read6_lba_is_21_bits() {
        let d = dec(&[0x08, 0xff, 0xff, 0xff, 1, 0]);
        assert_eq!(d.lba, Some(0x1f_ffff));
        assert_eq!(d.nblocks, Some(1));
    }

    #[test]
    fn write6() {
        let d = dec(&[0x0a, 0x01, 0x02, 0x03, 8, 0]);
        assert_eq!(d.direction, DataDirection::Write);
        assert_eq!(d.lba, Some(0x01_0203));
        assert_eq!(d.data_len, 8 * 512);
        assert!(d.flags.contains(OpFlags::WRITE_MEDIUM));
    }

    #[test]
    fn write16_large_lba() {
        let d = dec(&[
            0x8a, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 2, 0, 0,
        ]);
        assert_eq!(d.lba, Some(0xffff_ffff_ffff_fffe));
        assert_eq!(d.nblocks, Some(2));
        assert_eq!(d.data_len, 1024);
        assert_eq!(d.cdb_len, 16);
    }

    #[test]
    fn read12_and_read16_max_length() {
        let d = dec(&[0xa8, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
        assert_eq!((d.lba, d.nblocks, d.cdb_len), (Some(1), Some(256), 12));
        let d = decode(
            &cdb16(&[0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            DISK,
            4096,
        )
        .unwrap();
        assert_eq!(d.data_len, 0xffff_ffff * 4096);
    }

    #[test]
    fn inquiry_flags_and_length() {
        let d = dec(&[0x12, 0, 0, 0x01, 0x00, 0]);
        assert_eq!(d.data_len, 256);
        assert_eq!(d.direction, DataDirection::Read);
        for f in [
            OpFlags::SKIP_UA,
            OpFlags::IMPLICIT_HOQ,
            OpFlags::RESERVE_OK,
            OpFlags::PR_WE_OK,
            OpFlags::PR_EA_OK,
        ] {
            assert!(d.flags.contains(f), "{f:?}");
        }
        assert!(!d.flags.contains(OpFlags::NEEDS_MEDIUM));
    }

    #[test]
    fn report_luns_flags() {
        let d = dec(&cdb16(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]));
        assert_eq!(d.cdb_len, 12);
        assert_eq!(d.data_len, 0x1000);
        assert!(d
            .flags
            .contains(OpFlags::SKIP_UA.union(OpFlags::IMPLICIT_HOQ)));
        assert!(d.flags.contains(OpFlags::LOCAL));
    }

    #[test]
    fn request_sense_is_not_hoq() {
        let d = dec(&[0x03, 0, 0, 0, 18, 0]);
        assert_eq!(d.data_len, 18);
        assert!(d.flags.contains(OpFlags::SKIP_UA));
        assert!(!d.flags.contains(OpFlags::IMPLICIT_HOQ));
    }

    #[test]
    fn only_discovery_commands_skip_ua() {
        for o in supported(DISK) {
            let skip = o.flags.contains(OpFlags::SKIP_UA);
            assert_eq!(skip, matches!(o.opcode, 0x03 | 0x12 | 0xa0), "{}", o.name);
        }
    }

    #[test]
    fn read_capacity10() {
        let d = dec(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(d.data_len, 8);
        assert!(d.flags.contains(OpFlags::IMPLICIT_HOQ));
        assert!(d.flags.contains(OpFlags::NEEDS_MEDIUM));
    }

    #[test]
    fn read_capacity16_service_action() {
        let d = dec(&cdb16(&[0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32]));
        assert_eq!(d.service_action, Some(0x10));
        assert_eq!(d.data_len, 32);
        assert_eq!(d.lba, Some(0));
        assert!(d.flags.contains(OpFlags::IMPLICIT_HOQ));
        // The 3 reserved bits above the SA are ignored.
        let d = dec(&cdb16(&[0x9e, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32]));
        assert_eq!(d.service_action, Some(0x10));
    }

    #[test]
    fn get_lba_status() {
        let d = dec(&cdb16(&[0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 24]));
        assert_eq!(d.info.name, "SERVICE ACTION IN(16)/GET LBA STATUS");
        assert_eq!((d.lba, d.data_len), (Some(5), 24));
        assert!(!d.flags.contains(OpFlags::IMPLICIT_HOQ));
    }

    #[test]
    fn unknown_service_action() {
        is_invalid_field(&err(&cdb16(&[0x9e, 0x11]), DISK), 1, Some(4));
        is_invalid_field(&err(&cdb16(&[0x5e, 0x04]), DISK), 1, Some(4));
        is_invalid_field(&err(&cdb16(&[0x5f, 0x09]), DISK), 1, Some(4));
        is_invalid_field(&err(&cdb16(&[0xa3, 0x1f]), DISK), 1, Some(4));
        is_invalid_field(&err(&cdb16(&[0xa4, 0x0c]), DISK), 1, Some(4));
    }

    #[test]
    fn pr_in_and_out() {
        let d = dec(&[0x5e, 0x01, 0, 0, 0, 0, 0, 0x20, 0x00, 0]);
        assert_eq!(d.service_action, Some(1));
        assert_eq!(d.data_len, 0x2000);
        assert!(d.flags.contains(OpFlags::RESERVE_OK));
        let d = dec(&[0x5f, 0x06, 0, 0, 0, 0, 0, 0, 24, 0]);
        assert_eq!(d.service_action, Some(6));
        assert_eq!(d.direction, DataDirection::Write);
        assert_eq!(d.data_len, 24);
    }

    #[test]
    fn maintenance_in_out() {
        let d = dec(&[0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(d.service_action, Some(0x0c));
        assert_eq!(d.data_len, 512);
        let d = dec(&[0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0]);
        assert_eq!(d.direction, DataDirection::Write);
        assert_eq!(d.data_len, 12);
        assert!(d.flags.contains(OpFlags::SERIALIZED));
    }

    #[test]
    fn naca_bit_rejected() {
        is_invalid_field(
            &err(&[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0x04], DISK),
            9,
            Some(2),
        );
        is_invalid_field(&err(&[0x00, 0, 0, 0, 0, 0x04], DISK), 5, Some(2));
        is_invalid_field(
            &err(
                &cdb16(&[0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04]),
                DISK,
            ),
            15,
            Some(2),
        );
        is_invalid_field(
            &err(&[0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04], DISK),
            11,
            Some(2),
        );
    }

    #[test]
    fn link_bit_rejected() {
        is_invalid_field(&err(&[0x00, 0, 0, 0, 0, 0x01], DISK), 5, Some(0));
        is_invalid_field(
            &err(&[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0x01], DISK),
            9,
            Some(0),
        );
        // NACA is reported first when both are set.
        is_invalid_field(&err(&[0x00, 0, 0, 0, 0, 0x05], DISK), 5, Some(2));
    }

    #[test]
    fn vendor_bits_of_control_are_ignored() {
        let d = dec(&[0x00, 0, 0, 0, 0, 0xc0]);
        assert_eq!(d.direction, DataDirection::None);
        // Padding after a 6-byte CDB is not the CONTROL byte.
        let mut c = cdb16(&[0x00]);
        c[15] = 0x05;
        assert!(decode(&c, DISK, 512).is_ok());
    }

    #[test]
    fn short_cdb_rejected() {
        is_invalid_field(&err(&[0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0], DISK), 0, None);
        is_invalid_field(&err(&[0x00, 0, 0, 0, 0], DISK), 0, None);
        is_invalid_field(&err(&[0x28, 0, 0, 0, 0, 0, 0, 0, 0], DISK), 0, None);
        is_invalid_field(&err(&[0xa0, 0], DISK), 0, None);
        is_invalid_field(&err(&[0x9e], DISK), 0, None);
    }

    fn var(sa: u16, ctl: u8) -> [u8; 32] {
        let mut c = [0u8; 32];
        c[0] = 0x7f;
        c[1] = ctl;
        c[7] = 0x18;
        c[8..10].copy_from_slice(&sa.to_be_bytes());
        c
    }

    #[test]
    fn variable_length_read32() {
        let mut c = var(0x0009, 0);
        c[12..20].copy_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        c[28..32].copy_from_slice(&3u32.to_be_bytes());
        let d = dec(&c);
        assert_eq!(d.info.name, "READ(32)");
        assert_eq!(d.cdb_len, 32);
        assert_eq!(d.service_action, Some(9));
        assert_eq!(d.lba, Some(0x0102_0304_0506_0708));
        assert_eq!(d.nblocks, Some(3));
        assert_eq!(d.data_len, 3 * 512);
        assert_eq!(d.direction, DataDirection::Read);
    }

    #[test]
    fn variable_length_bad_additional_length() {
        let mut c = var(0x0009, 0);
        c[7] = 0x10;
        is_invalid_field(&err(&c, DISK), 7, None);
        c[7] = 0x01; // total 9: too short to hold a service action
        is_invalid_field(&err(&c, DISK), 7, None);
    }

    #[test]
    fn variable_length_truncated() {
        let c = var(0x000b, 0);
        is_invalid_field(&err(&c[..16], DISK), 7, None);
        is_invalid_field(&err(&c[..4], DISK), 7, None);
        is_invalid_field(&err(&c[..31], DISK), 7, None);
    }

    #[test]
    fn variable_length_unknown_sa() {
        is_invalid_field(&err(&var(0x0001, 0), DISK), 8, Some(7));
        is_invalid_field(&err(&var(0x0900, 0), DISK), 8, Some(7));
    }

    #[test]
    fn variable_length_control_is_byte1() {
        is_invalid_field(&err(&var(0x000b, 0x04), DISK), 1, Some(2));
        is_invalid_field(&err(&var(0x000b, 0x01), DISK), 1, Some(0));
        let mut c = var(0x000b, 0);
        c[31] = 0x05; // the last byte is a transfer length byte
        assert_eq!(dec(&c).nblocks, Some(5));
    }

    #[test]
    fn variable_length_not_for_tape() {
        is_invalid_opcode(&err(&var(0x0009, 0), PeripheralType::Tape));
    }

    fn verify10(b1: u8) -> [u8; 10] {
        [0x2f, b1, 0, 0, 0, 1, 0, 0, 4, 0]
    }

    #[test]
    fn verify_bytchk_modes() {
        let d = dec(&verify10(0x00));
        assert_eq!((d.direction, d.data_len), (DataDirection::None, 0));
        assert_eq!(d.nblocks, Some(4));
        let d = dec(&verify10(0x02));
        assert_eq!((d.direction, d.data_len), (DataDirection::Write, 4 * 512));
        let d = dec(&verify10(0x06));
        assert_eq!((d.direction, d.data_len), (DataDirection::Write, 512));
        is_invalid_field(&err(&verify10(0x04), DISK), 1, Some(2));
        // Zero blocks with BYTCHK 11b: no data (found by the cdb_decode fuzzer's
        // cross-check with sbc::parse).
        let d = dec(&[0x2f, 0x06, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(d.data_len, 0);
        // DPO does not change the data.
        assert_eq!(dec(&verify10(0x12)).data_len, 4 * 512);
    }

    #[test]
    fn verify32_bytchk_in_byte10() {
        let mut c = var(0x000a, 0);
        c[31] = 2;
        assert_eq!(dec(&c).data_len, 0);
        c[10] = 0x02;
        assert_eq!(dec(&c).data_len, 1024);
        c[10] = 0x04;
        is_invalid_field(&err(&c, DISK), 10, Some(2));
    }

    #[test]
    fn write_same10_one_block() {
        let d = dec(&[0x41, 0x08, 0, 0, 0, 10, 0, 0x01, 0x00, 0]);
        assert_eq!(d.direction, DataDirection::Write);
        assert_eq!(d.data_len, 512);
        assert_eq!(d.nblocks, Some(256));
        assert_eq!(d.lba, Some(10));
        // Bit 0 of WRITE SAME(10) is not NDOB.
        let d = dec(&[0x41, 0x01, 0, 0, 0, 10, 0, 0, 1, 0]);
        assert_eq!(d.data_len, 512);
    }

    #[test]
    fn write_same16_ndob() {
        let mut c = cdb16(&[0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]);
        assert_eq!(dec(&c).data_len, 512);
        c[1] = 0x09;
        let d = dec(&c);
        assert_eq!((d.direction, d.data_len), (DataDirection::None, 0));
        assert_eq!(d.nblocks, Some(8));
        // Zero blocks still sends one block of data.
        let d = dec(&cdb16(&[0x93]));
        assert_eq!(d.data_len, 512);
    }

    #[test]
    fn write_same32() {
        let mut c = var(0x000d, 0);
        c[31] = 7;
        assert_eq!(dec(&c).data_len, 512);
        c[10] = 0x01;
        assert_eq!(dec(&c).data_len, 0);
    }

    #[test]
    fn unmap_parameter_length() {
        let d = dec(&[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0]);
        assert_eq!(d.data_len, 24);
        assert_eq!(d.direction, DataDirection::Write);
        assert!(d.flags.contains(OpFlags::WRITE_MEDIUM));
        assert_eq!(d.lba, None);
    }

    #[test]
    fn compare_and_write_doubles() {
        let d = dec(&cdb16(&[0x89, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2]));
        assert_eq!(d.nblocks, Some(2));
        assert_eq!(d.data_len, 2 * 2 * 512);
        let d = dec(&cdb16(&[0x89]));
        assert_eq!((d.direction, d.data_len), (DataDirection::None, 0));
    }

    #[test]
    fn xdwriteread_is_bidi() {
        let d = dec(&[0x53, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
        assert_eq!(d.direction, DataDirection::Bidi);
        assert_eq!((d.data_len, d.bidi_in_len), (1024, 1024));
    }

    #[test]
    fn sync_cache_and_prefetch_have_no_data() {
        let d = dec(&[0x35, 0x02, 0, 0, 0, 5, 0, 0, 9, 0]);
        assert_eq!((d.direction, d.data_len), (DataDirection::None, 0));
        assert_eq!((d.lba, d.nblocks), (Some(5), Some(9)));
        let d = dec(&cdb16(&[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4]));
        assert_eq!(
            (d.direction, d.lba, d.nblocks),
            (DataDirection::None, Some(3), Some(4))
        );
        assert_eq!(dec(&cdb16(&[0x91])).info.name, "SYNCHRONIZE CACHE(16)");
    }

    #[test]
    fn format_unit_header_length() {
        assert_eq!(dec(&[0x04, 0, 0, 0, 0, 0]).data_len, 0);
        assert_eq!(dec(&[0x04, 0x10, 0, 0, 0, 0]).data_len, 4);
        assert_eq!(dec(&[0x04, 0x30, 0, 0, 0, 0]).data_len, 8);
        // LONGLIST without FMTDATA: nothing is sent.
        assert_eq!(dec(&[0x04, 0x20, 0, 0, 0, 0]).data_len, 0);
        assert!(dec(&[0x04, 0, 0, 0, 0, 0])
            .flags
            .contains(OpFlags::LONG_TIMEOUT));
    }

    #[test]
    fn reserve10_and_mode_pages() {
        let d = dec(&[0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(d.direction, DataDirection::None);
        assert_eq!(dec(&[0x1a, 0x08, 0x3f, 0, 0xff, 0]).data_len, 255);
        assert_eq!(dec(&[0x5a, 0, 0x3f, 0, 0, 0, 0, 0x10, 0, 0]).data_len, 4096);
        assert!(dec(&[0x15, 0x10, 0, 0, 24, 0])
            .flags
            .contains(OpFlags::SERIALIZED));
    }

    #[test]
    fn tape_read6_fixed_and_variable() {
        let t = PeripheralType::Tape;
        let d = decode(&[0x08, 0x01, 0, 0, 4, 0], t, 1024).unwrap();
        assert_eq!(d.data_len, 4096);
        assert_eq!(d.lba, None);
        let d = decode(&[0x08, 0x00, 0x01, 0x00, 0x00, 0], t, 1024).unwrap();
        assert_eq!(d.data_len, 0x1_0000);
        let d = decode(&[0x0a, 0x00, 0, 0, 10, 0], t, 0).unwrap();
        assert_eq!((d.direction, d.data_len), (DataDirection::Write, 10));
        assert!(d.flags.contains(OpFlags::WRITE_MEDIUM));
    }

    #[test]
    fn tape_fixed_without_block_size() {
        let s = decode(&[0x08, 0x01, 0, 0, 4, 0], PeripheralType::Tape, 0).unwrap_err();
        is_invalid_field(&s, 1, Some(0));
    }

    #[test]
    fn tape_verify6() {
        let t = PeripheralType::Tape;
        let d = decode(&[0x13, 0x01, 0, 0, 2, 0], t, 512).unwrap();
        assert_eq!(d.direction, DataDirection::None);
        let d = decode(&[0x13, 0x03, 0, 0, 2, 0], t, 512).unwrap();
        assert_eq!((d.direction, d.data_len), (DataDirection::Write, 1024));
        // SBC has no VERIFY(6).
        is_invalid_opcode(&err(&[0x13, 0, 0, 0, 0, 0], DISK));
    }

    #[test]
    fn tape_read_position_forms() {
        let t = PeripheralType::Tape;
        let rp = |sa: u8| decode(&[0x34, sa, 0, 0, 0, 0, 0, 0, 40, 0], t, 0);
        assert_eq!(rp(0).unwrap().data_len, 20);
        assert_eq!(rp(1).unwrap().data_len, 20);
        assert_eq!(rp(6).unwrap().data_len, 32);
        assert_eq!(rp(8).unwrap().data_len, 40);
        is_invalid_field(&rp(2).unwrap_err(), 1, Some(4));
    }

    #[test]
    fn opcode_meaning_depends_on_type() {
        let t = PeripheralType::Tape;
        assert_eq!(
            decode(&cdb16(&[0x91]), t, 0).unwrap().info.name,
            "SPACE(16)"
        );
        assert_eq!(
            decode(&cdb16(&[0x93]), t, 0).unwrap().info.name,
            "ERASE(16)"
        );
        is_invalid_opcode(&err(&[0x01, 0, 0, 0, 0, 0], DISK));
        assert_eq!(
            decode(&[0x01, 0, 0, 0, 0, 0], t, 0).unwrap().info.name,
            "REWIND"
        );
        assert_eq!(decode(&[0x05, 0, 0, 0, 0, 0], t, 0).unwrap().data_len, 6);
    }

    #[test]
    fn cdrom_key_commands_shadow_maintenance() {
        let c = PeripheralType::Cdrom;
        let d = decode(&[0xa4, 0x1f, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0], c, 2048).unwrap();
        assert_eq!(d.info.name, "REPORT KEY");
        assert_eq!(d.service_action, None);
        assert_eq!(d.data_len, 8);
        let d = decode(&[0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0], c, 2048).unwrap();
        assert_eq!(d.info.name, "SEND KEY");
        assert_eq!(d.direction, DataDirection::Write);
    }

    #[test]
    fn cdrom_commands() {
        let c = PeripheralType::Cdrom;
        let d = decode(&[0x43, 0x02, 0, 0, 0, 0, 0, 0x03, 0x24, 0], c, 2048).unwrap();
        assert_eq!(d.data_len, 0x324);
        assert!(d.flags.contains(OpFlags::NEEDS_MEDIUM));
        let d = decode(&[0x28, 0, 0, 0, 0, 16, 0, 0, 2, 0], c, 2048).unwrap();
        assert_eq!(d.data_len, 4096);
        is_invalid_opcode(&err(&[0x08, 0, 0, 0, 1, 0], c));
        let d = decode(&[0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0], c, 2048).unwrap();
        assert!(!d.flags.contains(OpFlags::NEEDS_MEDIUM));
        assert!(decode(&[0x1b, 0, 0, 0, 2, 0], c, 2048).is_ok());
        is_invalid_opcode(&err(&cdb16(&[0x9e, 0x10]), c));
    }

    #[test]
    fn processor_commands() {
        let p = PeripheralType::Processor;
        let d = decode(&[0x0a, 0, 0x01, 0x00, 0x00, 0], p, 0).unwrap();
        assert_eq!((d.info.name, d.data_len), ("SEND(6)", 0x1_0000));
        let d = decode(&[0x08, 0, 0, 0, 0x40, 0], p, 0).unwrap();
        assert_eq!((d.direction, d.data_len), (DataDirection::Read, 0x40));
        is_invalid_opcode(&err(&[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], p));
        assert!(decode(&[0x12, 0, 0, 0, 36, 0], p, 0).is_ok());
    }

    #[test]
    fn changer_commands() {
        let ch = PeripheralType::Changer;
        let d = decode(&[0xb8, 0x10, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0, 0], ch, 0).unwrap();
        assert_eq!(d.data_len, 0x1_0000);
        let d = decode(&[0xa5, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0], ch, 0).unwrap();
        assert_eq!(
            (d.info.name, d.direction),
            ("MOVE MEDIUM", DataDirection::None)
        );
        is_invalid_opcode(&err(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], ch));
    }

    #[test]
    fn other_types_get_spc_only() {
        for t in [
            PeripheralType::Enclosure,
            PeripheralType::Raid,
            PeripheralType::Unknown,
        ] {
            assert!(decode(&[0x12, 0, 0, 0, 36, 0], t, 512).is_ok());
            assert!(decode(&[0x00, 0, 0, 0, 0, 0], t, 512).is_ok());
            is_invalid_opcode(&err(&[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], t));
            is_invalid_opcode(&err(&[0x1b, 0, 0, 0, 1, 0], t));
        }
    }

    #[test]
    fn optical_and_worm_use_sbc_table() {
        for t in [PeripheralType::OpticalMemory, PeripheralType::Worm] {
            let d = decode(&[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], t, 1024).unwrap();
            assert_eq!(d.data_len, 1024);
        }
    }

    #[test]
    fn write_medium_flags() {
        let writes = [
            0x0a, 0x2a, 0x2e, 0x41, 0x42, 0x89, 0x8a, 0x8b, 0x8e, 0x93, 0xaa, 0xae, 0x04,
        ];
        let reads = [
            0x08, 0x28, 0x2f, 0x88, 0x8f, 0xa8, 0xaf, 0x25, 0x35, 0x90, 0x34,
        ];
        for o in writes {
            let e = lookup(o, None, DISK).unwrap();
            assert!(e.flags.contains(OpFlags::WRITE_MEDIUM), "{}", e.name);
            assert!(!e.flags.contains(OpFlags::PR_WE_OK), "{}", e.name);
        }
        for o in reads {
            let e = lookup(o, None, DISK).unwrap();
            assert!(!e.flags.contains(OpFlags::WRITE_MEDIUM), "{}", e.name);
        }
    }

    #[test]
    fn block_size_scaling() {
        let c = [0x28, 0, 0, 0, 0, 0, 0, 0, 3, 0];
        assert_eq!(decode(&c, DISK, 4096).unwrap().data_len, 3 * 4096);
        assert_eq!(decode(&c, DISK, 520).unwrap().data_len, 3 * 520);
        let s = decode(&c, DISK, 0).unwrap_err();
        assert_eq!(s, Sense::internal_failure());
        // Zero blocks need no block size.
        assert!(decode(&[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0], DISK, 0).is_ok());
    }

    #[test]
    fn lookup_entries() {
        assert_eq!(lookup(0x28, None, DISK).unwrap().name, "READ(10)");
        assert_eq!(lookup(0x12, None, DISK).unwrap().name, "INQUIRY");
        assert!(lookup(0x9e, None, DISK).is_none());
        assert_eq!(lookup(0x9e, Some(0x10), DISK).unwrap().cdb_len, 16);
        assert_eq!(lookup(0x7f, Some(0x0b), DISK).unwrap().cdb_len, 32);
        assert!(lookup(0x28, None, PeripheralType::Tape).is_none());
        assert_eq!(
            lookup(0xa3, None, PeripheralType::Cdrom).unwrap().name,
            "SEND KEY"
        );
        assert!(lookup(0xa3, Some(0x0c), PeripheralType::Cdrom).is_none());
    }

    #[test]
    fn supported_lists_type_then_spc() {
        let disk: std::vec::Vec<_> = supported(DISK).collect();
        assert_eq!(disk.len(), DISK_OPS.len() + SPC_OPS.len());
        assert!(disk.iter().any(|o| o.name == "INQUIRY"));
        let cd: std::vec::Vec<_> = supported(PeripheralType::Cdrom).collect();
        assert!(cd.iter().any(|o| o.name == "REPORT KEY"));
        assert!(!cd.iter().any(|o| o.name.starts_with("MAINTENANCE")));
        let enc: std::vec::Vec<_> = supported(PeripheralType::Enclosure).collect();
        assert_eq!(enc.len(), SPC_OPS.len());
    }

    #[test]
    fn tables_are_consistent() {
        for ops in [
            SPC_OPS,
            DISK_OPS,
            TAPE_OPS,
            PROCESSOR_OPS,
            CDROM_OPS,
            CHANGER_OPS,
        ] {
            for (i, o) in ops.iter().enumerate() {
                assert!(!o.name.is_empty());
                // Sorted: an opcode's entries are contiguous for the index.
                if let Some(next) = ops.get(i + 1) {
                    assert!(
                        (o.opcode, o.sa) < (next.opcode, next.sa),
                        "{} / {}",
                        o.name,
                        next.name
                    );
                    if o.opcode == next.opcode {
                        assert_eq!(o.sa.is_some(), next.sa.is_some(), "{}", o.name);
                    }
                }
                match group_len(o.opcode) {
                    Some(l) => assert_eq!(usize::from(o.cdb_len), l, "{}", o.name),
                    None => assert_eq!(o.cdb_len, 32, "{}", o.name),
                }
                // Data-carrying commands have a direction and vice versa.
                assert_eq!(
                    o.xfer == Xfer::None,
                    o.dir == DataDirection::None,
                    "{}",
                    o.name
                );
                // Fields lie inside the CDB, before the CONTROL byte.
                let ctl = if o.opcode == 0x7f {
                    32
                } else {
                    usize::from(o.cdb_len) - 1
                };
                for (off, size) in [
                    match o.lba {
                        LbaField::At { off, size } => (off, size),
                        _ => (1, 0),
                    },
                    match o.count {
                        CountField::At { off, size } => (off, size),
                        _ => (1, 0),
                    },
                    match o.xfer {
                        Xfer::Bytes { off, size } => (off, size),
                        _ => (1, 0),
                    },
                ] {
                    assert!(usize::from(off) + usize::from(size) <= ctl, "{}", o.name);
                }
            }
        }
    }

    #[test]
    fn index_finds_every_entry() {
        for t in [
            DISK,
            PeripheralType::Tape,
            PeripheralType::Cdrom,
            PeripheralType::Changer,
            PeripheralType::Processor,
        ] {
            for o in supported(t) {
                assert!(
                    core::ptr::eq(lookup(o.opcode, o.sa, t).unwrap(), o),
                    "{}",
                    o.name
                );
            }
        }
    }

    #[test]
    fn every_disk_command_decodes_from_zeroed_cdb() {
        for o in supported(DISK) {
            let mut c = [0u8; 32];
            c[0] = o.opcode;
            if o.opcode == 0x7f {
                c[7] = 0x18;
                c[8..10].copy_from_slice(&o.sa.unwrap_or(0).to_be_bytes());
            } else if let Some(sa) = o.sa {
                c[1] = sa as u8;
            }
            let d = decode(&c, DISK, 512).unwrap();
            assert!(core::ptr::eq(d.info, o), "{}", o.name);
            assert_eq!(d.cdb_len, usize::from(o.cdb_len));
        }
    }

    #[test]
    fn flags_helpers() {
        let f = OpFlags::SKIP_UA.union(OpFlags::LOCAL);
        assert!(f.contains(OpFlags::SKIP_UA));
        assert!(f.contains(OpFlags::NONE));
        assert!(!f.contains(OpFlags::SKIP_UA.union(OpFlags::WRITE_MEDIUM)));
        assert_eq!(OpFlags::default(), OpFlags::NONE);
    }

    #[test]
    fn implicit_hoq_set() {
        let hoq: std::vec::Vec<_> = supported(DISK)
            .filter(|o| o.flags.contains(OpFlags::IMPLICIT_HOQ))
            .map(|o| o.name)
            .collect();
        assert_eq!(
            hoq,
            [
                "READ CAPACITY(10)",
                "SERVICE ACTION IN(16)/READ CAPACITY(16)",
                "INQUIRY",
                "REPORT LUNS"
            ]
        );
    }

    #[test]
    fn reservation_holder_cannot_block_discovery() {
        for o in [0x12u8, 0xa0, 0x03, 0x00, 0x25, 0x4d] {
            assert!(lookup(o, None, DISK)
                .unwrap()
                .flags
                .contains(OpFlags::RESERVE_OK));
        }
        for o in [0x28u8, 0x2a, 0x1a, 0x16] {
            assert!(!lookup(o, None, DISK)
                .unwrap()
                .flags
                .contains(OpFlags::RESERVE_OK));
        }
    }

    #[test]
    fn exclusive_access_blocks_reads_but_not_discovery() {
        let read = lookup(0x28, None, DISK).unwrap().flags;
        assert!(read.contains(OpFlags::PR_WE_OK) && !read.contains(OpFlags::PR_EA_OK));
        let tur = lookup(0x00, None, DISK).unwrap().flags;
        assert!(tur.contains(OpFlags::PR_WE_OK.union(OpFlags::PR_EA_OK)));
        let pro = lookup(0x5f, Some(0), DISK).unwrap().flags;
        assert!(pro.contains(OpFlags::PR_EA_OK));
    }

    #[test]
    fn receive_copy_results_and_xcopy() {
        let d = dec(&cdb16(&[0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64]));
        assert_eq!((d.direction, d.data_len), (DataDirection::Write, 64));
        let d = dec(&cdb16(&[0x84, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]));
        assert_eq!((d.direction, d.data_len), (DataDirection::Read, 256));
        is_invalid_field(&err(&cdb16(&[0x84, 0x02]), DISK), 1, Some(4));
    }

    #[test]
    fn buffer_and_diagnostic_lengths() {
        let d = dec(&[0x3c, 0x02, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0]);
        assert_eq!(d.data_len, 0x1_0000);
        let d = dec(&[0x1d, 0x04, 0, 0, 0, 0]);
        assert_eq!(d.direction, DataDirection::None);
        let d = dec(&[0x1c, 0x01, 0x00, 0x00, 0x40, 0]);
        assert_eq!(d.data_len, 0x40);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn ptype() -> impl Strategy<Value = PeripheralType> {
            prop_oneof![
                Just(PeripheralType::Disk),
                Just(PeripheralType::Tape),
                Just(PeripheralType::Processor),
                Just(PeripheralType::Cdrom),
                Just(PeripheralType::Changer),
                Just(PeripheralType::Enclosure),
                Just(PeripheralType::Unknown),
            ]
        }

        proptest! {
            #[test]
            fn never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..40),
                            t in ptype(), bs in any::<u32>()) {
                let _ = decode(&cdb, t, bs);
            }

            #[test]
            fn known_opcodes_never_panic(op in proptest::sample::select(
                    supported(PeripheralType::Disk).map(|o| o.opcode).collect::<std::vec::Vec<_>>()),
                    rest in proptest::collection::vec(any::<u8>(), 0..40),
                    bs in prop_oneof![Just(0u32), Just(512), Just(4096), any::<u32>()]) {
                let mut c = std::vec![op];
                c.extend_from_slice(&rest);
                let _ = decode(&c, PeripheralType::Disk, bs);
            }

            #[test]
            fn decoded_invariants(op in any::<u8>(), rest in proptest::collection::vec(any::<u8>(), 31),
                                  t in ptype(), bs in 1u32..=65536) {
                let mut c = std::vec![op];
                c.extend_from_slice(&rest);
                if let Ok(d) = decode(&c, t, bs) {
                    prop_assert!(d.cdb_len <= c.len());
                    prop_assert_eq!(d.opcode, op);
                    prop_assert_eq!(d.direction == DataDirection::None, d.data_len == 0);
                    prop_assert_eq!(d.bidi_in_len != 0, d.direction == DataDirection::Bidi);
                    let ctl = if op == 0x7f { c[1] } else { c[d.cdb_len - 1] };
                    prop_assert_eq!(ctl & 0x05, 0);
                    if d.info.xfer == Xfer::Blocks {
                        prop_assert_eq!(d.data_len, d.nblocks.unwrap() * u64::from(bs));
                    }
                    if d.info.count == CountField::Six {
                        let n = d.nblocks.unwrap();
                        prop_assert!((1..=256).contains(&n));
                        prop_assert!(d.lba.unwrap() <= 0x1f_ffff);
                    }
                    if d.direction == DataDirection::Write || d.direction == DataDirection::Bidi {
                        prop_assert!(d.info.dir != DataDirection::Read);
                    }
                }
            }

            #[test]
            fn service_action_errors_point_at_sa(sa in 0u8..32) {
                let mut c = [0u8; 16];
                c[0] = 0x9e;
                c[1] = sa;
                match decode(&c, PeripheralType::Disk, 512) {
                    Ok(d) => prop_assert!(sa == 0x10 || sa == 0x12, "{}", d.info.name),
                    Err(s) => {
                        prop_assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
                        prop_assert_eq!(s.specific, Some(Specific::FieldPointer { in_cdb: true, byte: 1, bit: Some(4) }));
                    }
                }
            }
        }
    }
}
