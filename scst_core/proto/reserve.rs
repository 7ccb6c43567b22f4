// SPDX-License-Identifier: GPL-2.0

//! SPC-2 RESERVE / RELEASE logical unit reservations (SPC-2 5.5.1, 7.21,
//! 7.12), as a state model for one logical unit.
//!
//! The holder is an opaque I_T nexus handle chosen by the caller (any
//! `Copy + Eq` type, e.g. a session id). The model covers:
//!
//! * RESERVE(6)/(10): the holder may re-reserve (GOOD); another nexus gets
//!   RESERVATION CONFLICT. Third-party (3RDPTY, LONGID) and extent
//!   reservations are not supported and are rejected with ILLEGAL REQUEST,
//!   INVALID FIELD IN CDB, with the field pointer on the offending bit.
//! * RELEASE(6)/(10): the holder releases; any other nexus gets GOOD and
//!   nothing changes (SPC-2 7.12).
//! * LOGICAL UNIT RESET, TARGET RESET, power on and loss of the holder's I_T
//!   nexus clear the reservation ([`Spc2Reservation::reset`],
//!   [`Spc2Reservation::nexus_loss`]).
//! * The conflict table ([`spc2_allowed_for_non_holder`]): which commands a
//!   nexus that does not hold the reservation may still run.
//!
//! Interplay with persistent reservations (SPC-3 5.6.3 / SPC-4 5.13.3,
//! "Exceptions to SPC-2 RESERVE and RELEASE behavior", CRH = 1): while any
//! I_T nexus is registered for persistent reservations, RESERVE and RELEASE
//! do not touch SPC-2 state. They complete with GOOD and no effect when they
//! come from a persistent reservation holder (or from a registrant while a
//! registrants-only or all-registrants reservation exists) and are rejected
//! with RESERVATION CONFLICT otherwise. The persistent reservation module
//! computes that decision (`pr::PrState::spc2_interplay`) and hands it in as
//! a [`PrInterplay`]. The reverse rule (SPC-3 6.11 / 6.12): while an SPC-2
//! reservation is active, PERSISTENT RESERVE IN and OUT conflict for every
//! nexus, the holder included ([`Spc2Reservation::check`]).

use super::bytes::{get_u16, get_u8};
use super::sense::Sense;
use super::types::Status;

/// RESERVE(6) operation code.
pub const RESERVE_6: u8 = 0x16;
/// RELEASE(6) operation code.
pub const RELEASE_6: u8 = 0x17;
/// RESERVE(10) operation code.
pub const RESERVE_10: u8 = 0x56;
/// RELEASE(10) operation code.
pub const RELEASE_10: u8 = 0x57;
/// PERSISTENT RESERVE IN operation code.
pub const PERSISTENT_RESERVE_IN: u8 = 0x5e;
/// PERSISTENT RESERVE OUT operation code.
pub const PERSISTENT_RESERVE_OUT: u8 = 0x5f;

const TEST_UNIT_READY: u8 = 0x00;
const REQUEST_SENSE: u8 = 0x03;
const INQUIRY: u8 = 0x12;
const PREVENT_ALLOW: u8 = 0x1e;
const LOG_SENSE: u8 = 0x4d;
const REPORT_LUNS: u8 = 0xa0;
const MAINTENANCE_IN: u8 = 0xa3;

/// MAINTENANCE IN service actions that only report target/port state
/// (SPC-4 6.7, 6.29, 6.31, 6.35, 6.36).
const MI_REPORT_IDENTIFYING_INFORMATION: u8 = 0x05;
const MI_REPORT_TARGET_PORT_GROUPS: u8 = 0x0a;
const MI_REPORT_ALIASES: u8 = 0x0b;
const MI_REPORT_PRIORITY: u8 = 0x0e;
const MI_REPORT_TIMESTAMP: u8 = 0x0f;

/// Whether a command may run or conflicts with a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The command may proceed.
    Allowed,
    /// The command must complete with RESERVATION CONFLICT status.
    Conflict,
}

impl Access {
    /// The status a conflicting command completes with, if any.
    pub fn status(self) -> Option<Status> {
        match self {
            Access::Allowed => None,
            Access::Conflict => Some(Status::ReservationConflict),
        }
    }
}

/// A decoded RESERVE or RELEASE command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveCmd {
    /// RESERVE(6) or RESERVE(10) of the whole logical unit.
    Reserve,
    /// RELEASE(6) or RELEASE(10) of the whole logical unit.
    Release,
}

/// How persistent reservation state affects an SPC-2 RESERVE or RELEASE
/// (SPC-4 5.13.3, compatible reservation handling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrInterplay {
    /// No I_T nexus is registered: RESERVE/RELEASE follow SPC-2.
    NoRegistrations,
    /// Registrations exist and the nexus is a persistent reservation
    /// holder (or a registrant of a registrants-only / all-registrants
    /// reservation): complete with GOOD, change nothing.
    GoodNoOp,
    /// Registrations exist otherwise: RESERVATION CONFLICT.
    Conflict,
}

/// Decodes and validates a RESERVE(6)/(10) or RELEASE(6)/(10) CDB.
///
/// Missing CDB bytes read as zero. Unsupported features are rejected with
/// ILLEGAL REQUEST, INVALID FIELD IN CDB and a field pointer:
/// * 6-byte CDBs: byte 1 bit 4 (SCSI-2 3rdPty), byte 1 bit 0 (extent);
/// * 10-byte CDBs: byte 1 bit 4 (3RDPTY), byte 1 bit 1 (LONGID), byte 1
///   bit 0 (obsolete extent), and a non-zero PARAMETER LIST LENGTH (bytes
///   7-8), which only third-party reservations use.
///
/// Any other operation code yields INVALID COMMAND OPERATION CODE.
pub fn parse_cdb(cdb: &[u8]) -> Result<ReserveCmd, Sense> {
    let op = get_u8(cdb, 0);
    let cmd = match op {
        RESERVE_6 | RESERVE_10 => ReserveCmd::Reserve,
        RELEASE_6 | RELEASE_10 => ReserveCmd::Release,
        _ => return Err(Sense::invalid_opcode()),
    };
    let b1 = get_u8(cdb, 1);
    if b1 & 0x10 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(4)));
    }
    if op == RESERVE_10 || op == RELEASE_10 {
        if b1 & 0x02 != 0 {
            return Err(Sense::invalid_field_in_cdb(1, Some(1)));
        }
        if b1 & 0x01 != 0 {
            return Err(Sense::invalid_field_in_cdb(1, Some(0)));
        }
        if get_u16(cdb, 7) != 0 {
            return Err(Sense::invalid_field_in_cdb(7, None));
        }
    } else if b1 & 0x01 != 0 {
        return Err(Sense::invalid_field_in_cdb(1, Some(0)));
    }
    Ok(cmd)
}

/// Whether a command from a nexus that does NOT hold an SPC-2 reservation
/// may still run (SPC-2 5.5.1, SCSI-2 and SCST practice).
///
/// Allowed: INQUIRY, REQUEST SENSE, REPORT LUNS, LOG SENSE, RELEASE(6)/(10)
/// (a no-op for a non-holder), PREVENT ALLOW MEDIUM REMOVAL with PREVENT = 0,
/// and the MAINTENANCE IN reports that only describe the target (REPORT
/// IDENTIFYING INFORMATION, REPORT TARGET PORT GROUPS, REPORT ALIASES,
/// REPORT PRIORITY, REPORT TIMESTAMP), which multipath software polls on
/// every path. Everything else conflicts, notably TEST UNIT READY, MODE
/// SENSE, READ CAPACITY, media access, RESERVE and PERSISTENT RESERVE IN/OUT.
pub fn spc2_allowed_for_non_holder(cdb: &[u8]) -> bool {
    match get_u8(cdb, 0) {
        INQUIRY | REQUEST_SENSE | REPORT_LUNS | LOG_SENSE | RELEASE_6 | RELEASE_10 => true,
        PREVENT_ALLOW => get_u8(cdb, 4) & 0x03 == 0,
        MAINTENANCE_IN => matches!(
            get_u8(cdb, 1) & 0x1f,
            MI_REPORT_IDENTIFYING_INFORMATION
                | MI_REPORT_TARGET_PORT_GROUPS
                | MI_REPORT_ALIASES
                | MI_REPORT_PRIORITY
                | MI_REPORT_TIMESTAMP
        ),
        _ => false,
    }
}

/// Whether `op` is TEST UNIT READY (kept as a named helper so callers and
/// tests can state the SPC-2 rule "TEST UNIT READY conflicts" explicitly).
pub fn is_test_unit_ready(op: u8) -> bool {
    op == TEST_UNIT_READY
}

/// SPC-2 reservation state of one logical unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spc2Reservation<N> {
    holder: Option<N>,
}

impl<N: Copy + Eq> Default for Spc2Reservation<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N: Copy + Eq> Spc2Reservation<N> {
    /// A logical unit with no reservation.
    pub const fn new() -> Self {
        Self { holder: None }
    }

    /// The nexus holding the reservation, if any.
    pub fn holder(&self) -> Option<N> {
        self.holder
    }

    /// Whether a reservation is held.
    pub fn is_reserved(&self) -> bool {
        self.holder.is_some()
    }

    /// Whether `nexus` holds the reservation.
    pub fn is_holder(&self, nexus: N) -> bool {
        self.holder == Some(nexus)
    }

    /// RESERVE by `nexus`: GOOD if the unit is free or already reserved by
    /// `nexus` (re-reserving is allowed), RESERVATION CONFLICT otherwise.
    pub fn reserve(&mut self, nexus: N) -> Status {
        match self.holder {
            Some(h) if h != nexus => Status::ReservationConflict,
            _ => {
                self.holder = Some(nexus);
                Status::Good
            }
        }
    }

    /// RELEASE by `nexus`: always GOOD; only the holder's RELEASE has an
    /// effect (SPC-2 7.12: a RELEASE from another nexus is not an error).
    /// Returns GOOD and whether the reservation was released.
    pub fn release(&mut self, nexus: N) -> (Status, bool) {
        if self.is_holder(nexus) {
            self.holder = None;
            (Status::Good, true)
        } else {
            (Status::Good, false)
        }
    }

    /// Executes a RESERVE/RELEASE CDB from `nexus`.
    ///
    /// CDB errors come first (CHECK CONDITION); then the persistent
    /// reservation interplay `pr` (see [`PrInterplay`]); then SPC-2 rules.
    /// Returns GOOD or RESERVATION CONFLICT.
    pub fn execute(&mut self, nexus: N, cdb: &[u8], pr: PrInterplay) -> Result<Status, Sense> {
        let cmd = parse_cdb(cdb)?;
        match pr {
            PrInterplay::NoRegistrations => {}
            PrInterplay::GoodNoOp => return Ok(Status::Good),
            PrInterplay::Conflict => return Ok(Status::ReservationConflict),
        }
        Ok(match cmd {
            ReserveCmd::Reserve => self.reserve(nexus),
            ReserveCmd::Release => self.release(nexus).0,
        })
    }

    /// Access check for any command from `nexus` (run before the UNIT
    /// ATTENTION check, as SCST does).
    ///
    /// No reservation: everything is allowed. The holder may run anything
    /// except PERSISTENT RESERVE IN/OUT, which conflict for every nexus
    /// while an SPC-2 reservation is active (SPC-3 6.11, 6.12). Other nexuses
    /// may run only [`spc2_allowed_for_non_holder`] commands.
    pub fn check(&self, nexus: N, cdb: &[u8]) -> Access {
        let Some(holder) = self.holder else {
            return Access::Allowed;
        };
        let op = get_u8(cdb, 0);
        if op == PERSISTENT_RESERVE_IN || op == PERSISTENT_RESERVE_OUT {
            return Access::Conflict;
        }
        if holder == nexus || spc2_allowed_for_non_holder(cdb) {
            Access::Allowed
        } else {
            Access::Conflict
        }
    }

    /// LOGICAL UNIT RESET, TARGET RESET or power on: the reservation is
    /// cleared. Returns whether one was held.
    pub fn reset(&mut self) -> bool {
        self.holder.take().is_some()
    }

    /// Loss of the I_T nexus `nexus` (session logout or I_T NEXUS RESET):
    /// clears the reservation if `nexus` held it. Returns whether it did.
    pub fn nexus_loss(&mut self, nexus: N) -> bool {
        if self.is_holder(nexus) {
            self.holder = None;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sense::{asc, Key, Specific};
    use super::*;

    type R = Spc2Reservation<u64>;

    const RES6: [u8; 6] = [RESERVE_6, 0, 0, 0, 0, 0];
    const REL6: [u8; 6] = [RELEASE_6, 0, 0, 0, 0, 0];
    const RES10: [u8; 10] = [RESERVE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const REL10: [u8; 10] = [RELEASE_10, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    fn pointer(s: &Sense) -> (u16, Option<u8>) {
        match s.specific {
            Some(Specific::FieldPointer { in_cdb, byte, bit }) => {
                assert!(in_cdb);
                (byte, bit)
            }
            other => panic!("no field pointer: {other:?}"),
        }
    }

    fn assert_invalid_field(r: Result<ReserveCmd, Sense>, byte: u16, bit: Option<u8>) {
        let s = r.unwrap_err();
        assert_eq!(s.key, Key::IllegalRequest);
        assert_eq!(s.asc, asc::INVALID_FIELD_IN_CDB);
        assert_eq!(pointer(&s), (byte, bit));
    }

    #[test]
    fn parse_reserve6() {
        assert_eq!(parse_cdb(&RES6), Ok(ReserveCmd::Reserve));
    }

    #[test]
    fn parse_release6() {
        assert_eq!(parse_cdb(&REL6), Ok(ReserveCmd::Release));
    }

    #[test]
    fn parse_reserve10() {
        assert_eq!(parse_cdb(&RES10), Ok(ReserveCmd::Reserve));
    }

    #[test]
    fn parse_release10() {
        assert_eq!(parse_cdb(&REL10), Ok(ReserveCmd::Release));
    }

    #[test]
    fn parse_wrong_opcode() {
        let s = parse_cdb(&[0x00, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(s, Sense::invalid_opcode());
    }

    #[test]
    fn parse_empty_cdb_is_invalid_opcode() {
        assert_eq!(parse_cdb(&[]).unwrap_err().asc, asc::INVALID_OPCODE);
    }

    #[test]
    fn parse_short_cdb_reads_zeros() {
        assert_eq!(parse_cdb(&[RESERVE_10]), Ok(ReserveCmd::Reserve));
    }

    #[test]
    fn reserve6_third_party_rejected() {
        let mut c = RES6;
        c[1] = 0x10;
        assert_invalid_field(parse_cdb(&c), 1, Some(4));
    }

    #[test]
    fn reserve6_extent_rejected() {
        let mut c = RES6;
        c[1] = 0x01;
        assert_invalid_field(parse_cdb(&c), 1, Some(0));
    }

    #[test]
    fn reserve6_lun_bits_ignored() {
        // SCSI-2 LUN field in byte 1 bits 7-5 is ignored.
        let mut c = RES6;
        c[1] = 0xe0;
        assert_eq!(parse_cdb(&c), Ok(ReserveCmd::Reserve));
    }

    #[test]
    fn reserve6_reservation_id_ignored() {
        let mut c = RES6;
        c[2] = 0x55;
        assert_eq!(parse_cdb(&c), Ok(ReserveCmd::Reserve));
    }

    #[test]
    fn reserve10_third_party_rejected() {
        let mut c = RES10;
        c[1] = 0x10;
        c[3] = 7;
        assert_invalid_field(parse_cdb(&c), 1, Some(4));
    }

    #[test]
    fn reserve10_longid_rejected() {
        let mut c = RES10;
        c[1] = 0x02;
        assert_invalid_field(parse_cdb(&c), 1, Some(1));
    }

    #[test]
    fn reserve10_extent_rejected() {
        let mut c = RES10;
        c[1] = 0x01;
        assert_invalid_field(parse_cdb(&c), 1, Some(0));
    }

    #[test]
    fn reserve10_param_list_rejected() {
        let mut c = RES10;
        c[8] = 8;
        assert_invalid_field(parse_cdb(&c), 7, None);
    }

    #[test]
    fn release10_third_party_rejected() {
        let mut c = REL10;
        c[1] = 0x10;
        assert_invalid_field(parse_cdb(&c), 1, Some(4));
    }

    #[test]
    fn release6_extent_rejected() {
        let mut c = REL6;
        c[1] = 0x01;
        assert_invalid_field(parse_cdb(&c), 1, Some(0));
    }

    #[test]
    fn third_party_checked_before_extent() {
        let mut c = RES10;
        c[1] = 0x13;
        assert_invalid_field(parse_cdb(&c), 1, Some(4));
    }

    #[test]
    fn new_is_free() {
        let r = R::new();
        assert!(!r.is_reserved());
        assert_eq!(r.holder(), None);
        assert_eq!(R::default(), r);
    }

    #[test]
    fn reserve_free_unit() {
        let mut r = R::new();
        assert_eq!(r.reserve(1), Status::Good);
        assert_eq!(r.holder(), Some(1));
        assert!(r.is_holder(1));
        assert!(!r.is_holder(2));
    }

    #[test]
    fn holder_may_rereserve() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.reserve(1), Status::Good);
        assert_eq!(r.holder(), Some(1));
    }

    #[test]
    fn other_reserve_conflicts() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.reserve(2), Status::ReservationConflict);
        assert_eq!(r.holder(), Some(1));
    }

    #[test]
    fn release_by_holder() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.release(1), (Status::Good, true));
        assert!(!r.is_reserved());
    }

    #[test]
    fn release_by_non_holder_is_noop_good() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.release(2), (Status::Good, false));
        assert_eq!(r.holder(), Some(1));
    }

    #[test]
    fn release_unreserved_is_good() {
        let mut r = R::new();
        assert_eq!(r.release(3), (Status::Good, false));
    }

    #[test]
    fn reserve_after_release_by_other() {
        let mut r = R::new();
        r.reserve(1);
        r.release(1);
        assert_eq!(r.reserve(2), Status::Good);
        assert_eq!(r.holder(), Some(2));
    }

    #[test]
    fn reset_clears() {
        let mut r = R::new();
        r.reserve(1);
        assert!(r.reset());
        assert!(!r.is_reserved());
        assert!(!r.reset());
    }

    #[test]
    fn nexus_loss_of_holder_clears() {
        let mut r = R::new();
        r.reserve(1);
        assert!(r.nexus_loss(1));
        assert!(!r.is_reserved());
    }

    #[test]
    fn nexus_loss_of_other_keeps() {
        let mut r = R::new();
        r.reserve(1);
        assert!(!r.nexus_loss(2));
        assert_eq!(r.holder(), Some(1));
    }

    #[test]
    fn execute_reserve_release_cycle() {
        let mut r = R::new();
        let no = PrInterplay::NoRegistrations;
        assert_eq!(r.execute(1, &RES10, no), Ok(Status::Good));
        assert_eq!(r.execute(2, &RES6, no), Ok(Status::ReservationConflict));
        assert_eq!(r.execute(2, &REL6, no), Ok(Status::Good));
        assert_eq!(r.holder(), Some(1));
        assert_eq!(r.execute(1, &REL10, no), Ok(Status::Good));
        assert!(!r.is_reserved());
    }

    #[test]
    fn execute_cdb_error_leaves_state() {
        let mut r = R::new();
        let mut c = RES10;
        c[1] = 0x10;
        let e = r.execute(1, &c, PrInterplay::NoRegistrations).unwrap_err();
        assert_eq!(e.asc, asc::INVALID_FIELD_IN_CDB);
        assert!(!r.is_reserved());
    }

    #[test]
    fn execute_cdb_error_before_pr_conflict() {
        let mut r = R::new();
        let mut c = RES6;
        c[1] = 1;
        assert!(r.execute(1, &c, PrInterplay::Conflict).is_err());
    }

    #[test]
    fn execute_with_registrations_conflicts() {
        let mut r = R::new();
        assert_eq!(
            r.execute(1, &RES6, PrInterplay::Conflict),
            Ok(Status::ReservationConflict)
        );
        assert!(!r.is_reserved());
        assert_eq!(
            r.execute(1, &REL6, PrInterplay::Conflict),
            Ok(Status::ReservationConflict)
        );
    }

    #[test]
    fn execute_pr_holder_gets_good_noop() {
        let mut r = R::new();
        assert_eq!(
            r.execute(1, &RES10, PrInterplay::GoodNoOp),
            Ok(Status::Good)
        );
        assert!(!r.is_reserved(), "no SPC-2 reservation is established");
    }

    #[test]
    fn execute_release_with_pr_noop_keeps_spc2() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.execute(1, &REL6, PrInterplay::GoodNoOp), Ok(Status::Good));
        assert_eq!(r.holder(), Some(1));
    }

    #[test]
    fn execute_non_reserve_opcode() {
        let mut r = R::new();
        let e = r
            .execute(
                1,
                &[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                PrInterplay::NoRegistrations,
            )
            .unwrap_err();
        assert_eq!(e.asc, asc::INVALID_OPCODE);
    }

    #[test]
    fn check_unreserved_allows_all() {
        let r = R::new();
        for op in 0..=255u8 {
            assert_eq!(r.check(5, &[op, 0, 0, 0, 0, 0]), Access::Allowed);
        }
    }

    #[test]
    fn check_holder_allowed_media() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(
            r.check(1, &[0x2a, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Access::Allowed
        );
        assert_eq!(
            r.check(1, &[0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Access::Allowed
        );
        assert_eq!(r.check(1, &[0x00, 0, 0, 0, 0, 0]), Access::Allowed);
    }

    #[test]
    fn check_holder_pr_in_conflicts() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.check(1, &[PERSISTENT_RESERVE_IN, 0]), Access::Conflict);
        assert_eq!(r.check(2, &[PERSISTENT_RESERVE_IN, 0]), Access::Conflict);
    }

    #[test]
    fn check_holder_pr_out_conflicts() {
        let mut r = R::new();
        r.reserve(1);
        assert_eq!(r.check(1, &[PERSISTENT_RESERVE_OUT, 0]), Access::Conflict);
        assert_eq!(r.check(2, &[PERSISTENT_RESERVE_OUT, 6]), Access::Conflict);
    }

    fn non_holder(cdb: &[u8]) -> Access {
        let mut r = R::new();
        r.reserve(1);
        r.check(2, cdb)
    }

    #[test]
    fn non_holder_inquiry_allowed() {
        assert_eq!(non_holder(&[INQUIRY, 0, 0, 0, 36, 0]), Access::Allowed);
    }

    #[test]
    fn non_holder_request_sense_allowed() {
        assert_eq!(
            non_holder(&[REQUEST_SENSE, 0, 0, 0, 18, 0]),
            Access::Allowed
        );
    }

    #[test]
    fn non_holder_report_luns_allowed() {
        assert_eq!(
            non_holder(&[REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            Access::Allowed
        );
    }

    #[test]
    fn non_holder_log_sense_allowed() {
        assert_eq!(
            non_holder(&[LOG_SENSE, 0, 0, 0, 0, 0, 0, 0, 255, 0]),
            Access::Allowed
        );
    }

    #[test]
    fn non_holder_release_allowed() {
        assert_eq!(non_holder(&REL6), Access::Allowed);
        assert_eq!(non_holder(&REL10), Access::Allowed);
    }

    #[test]
    fn non_holder_reserve_conflicts() {
        assert_eq!(non_holder(&RES6), Access::Conflict);
        assert_eq!(non_holder(&RES10), Access::Conflict);
    }

    #[test]
    fn non_holder_tur_conflicts() {
        assert!(is_test_unit_ready(0));
        assert_eq!(non_holder(&[0, 0, 0, 0, 0, 0]), Access::Conflict);
    }

    #[test]
    fn non_holder_mode_sense_conflicts() {
        // libiscsi Reserve6.2Initiators: MODE SENSE from the second
        // initiator must fail with RESERVATION CONFLICT.
        assert_eq!(non_holder(&[0x1a, 0, 0x3f, 0, 255, 0]), Access::Conflict);
        assert_eq!(
            non_holder(&[0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255, 0]),
            Access::Conflict
        );
    }

    #[test]
    fn non_holder_read_write_conflict() {
        assert_eq!(
            non_holder(&[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Access::Conflict
        );
        assert_eq!(
            non_holder(&[0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Access::Conflict
        );
        assert_eq!(non_holder(&[0x08, 0, 0, 0, 1, 0]), Access::Conflict);
    }

    #[test]
    fn non_holder_read_capacity_conflicts() {
        assert_eq!(
            non_holder(&[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Access::Conflict
        );
    }

    #[test]
    fn non_holder_prevent_zero_allowed() {
        assert_eq!(non_holder(&[PREVENT_ALLOW, 0, 0, 0, 0, 0]), Access::Allowed);
    }

    #[test]
    fn non_holder_prevent_one_conflicts() {
        assert_eq!(
            non_holder(&[PREVENT_ALLOW, 0, 0, 0, 1, 0]),
            Access::Conflict
        );
        assert_eq!(
            non_holder(&[PREVENT_ALLOW, 0, 0, 0, 2, 0]),
            Access::Conflict
        );
    }

    #[test]
    fn non_holder_rtpg_allowed() {
        let cdb = [MAINTENANCE_IN, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(non_holder(&cdb), Access::Allowed);
    }

    #[test]
    fn non_holder_report_identifying_info_allowed() {
        let cdb = [MAINTENANCE_IN, 0x05, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(non_holder(&cdb), Access::Allowed);
    }

    #[test]
    fn non_holder_report_timestamp_allowed() {
        let cdb = [MAINTENANCE_IN, 0x0f, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(non_holder(&cdb), Access::Allowed);
    }

    #[test]
    fn non_holder_report_opcodes_conflicts() {
        let cdb = [MAINTENANCE_IN, 0x0c, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(non_holder(&cdb), Access::Conflict);
    }

    #[test]
    fn non_holder_maintenance_out_conflicts() {
        let cdb = [0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(non_holder(&cdb), Access::Conflict);
    }

    #[test]
    fn non_holder_empty_cdb_conflicts() {
        // An empty CDB reads as TEST UNIT READY.
        assert_eq!(non_holder(&[]), Access::Conflict);
    }

    #[test]
    fn access_status() {
        assert_eq!(Access::Allowed.status(), None);
        assert_eq!(Access::Conflict.status(), Some(Status::ReservationConflict));
    }

    #[test]
    fn generic_holder_type() {
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        struct Sess(u16, u16);
        let mut r: Spc2Reservation<Sess> = Spc2Reservation::new();
        assert_eq!(r.reserve(Sess(1, 2)), Status::Good);
        assert_eq!(r.reserve(Sess(1, 3)), Status::ReservationConflict);
        assert!(r.nexus_loss(Sess(1, 2)));
    }

    #[test]
    fn libiscsi_reserve6_2initiators_sequence() {
        let mut r = R::new();
        let no = PrInterplay::NoRegistrations;
        assert_eq!(r.execute(1, &RES6, no), Ok(Status::Good));
        assert_eq!(r.execute(1, &RES6, no), Ok(Status::Good));
        assert_eq!(r.execute(2, &RES6, no), Ok(Status::ReservationConflict));
        assert_eq!(r.execute(2, &REL6, no), Ok(Status::Good));
        assert_eq!(r.check(1, &[0x1a, 0, 0x3f, 0, 255, 0]), Access::Allowed);
        assert_eq!(r.check(2, &[0x1a, 0, 0x3f, 0, 255, 0]), Access::Conflict);
        assert_eq!(r.execute(2, &RES6, no), Ok(Status::ReservationConflict));
        assert_eq!(r.execute(1, &REL6, no), Ok(Status::Good));
        assert_eq!(r.execute(2, &RES6, no), Ok(Status::Good));
        assert_eq!(r.execute(2, &REL6, no), Ok(Status::Good));
        assert!(!r.is_reserved());
    }

    #[test]
    fn lun_reset_then_other_can_reserve() {
        let mut r = R::new();
        r.reserve(1);
        r.reset();
        assert_eq!(r.reserve(2), Status::Good);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..20)) {
                let _ = parse_cdb(&cdb);
                let _ = spc2_allowed_for_non_holder(&cdb);
            }

            #[test]
            fn execute_never_panics_and_holder_consistent(
                ops in proptest::collection::vec((0u64..4, any::<[u8; 10]>(), 0u8..3), 0..40)
            ) {
                let mut r = R::new();
                for (n, cdb, pr) in ops {
                    let pr = match pr {
                        0 => PrInterplay::NoRegistrations,
                        1 => PrInterplay::GoodNoOp,
                        _ => PrInterplay::Conflict,
                    };
                    let before = r.holder();
                    let res = r.execute(n, &cdb, pr);
                    // Only a successful SPC-2 RESERVE/RELEASE changes the holder.
                    if r.holder() != before {
                        prop_assert_eq!(pr, PrInterplay::NoRegistrations);
                        prop_assert_eq!(res, Ok(Status::Good));
                    }
                    if let Some(h) = r.holder() {
                        prop_assert_eq!(r.check(h, &[0x2a]), Access::Allowed);
                    }
                }
            }

            #[test]
            fn non_holder_never_gets_reservation(a in 0u64..8, b in 0u64..8) {
                let mut r = R::new();
                r.reserve(a);
                let st = r.reserve(b);
                prop_assert_eq!(st == Status::Good, a == b);
                prop_assert_eq!(r.holder(), Some(a));
            }
        }
    }
}
