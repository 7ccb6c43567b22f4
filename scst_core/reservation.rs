// SPDX-License-Identifier: GPL-2.0

//! Reservations of a device: SPC-2 RESERVE/RELEASE and SPC-4 persistent
//! reservations, enforced by the core for every device (SCST does this in
//! the core too, so handlers never see a conflicting command).
//!
//! The state machines are the pure [`crate::proto::reserve`] and
//! [`crate::proto::pr`]; this module keeps one of each per device, checks
//! every command against them, executes the reservation commands and hands
//! out the UNIT ATTENTIONs persistent reservation actions owe to other
//! nexuses. States with APTPL are kept in a file ([`crate::aptpl`]).

use crate::aptpl::PrFile;
use crate::proto::{
    pr::{
        self,
        ItNexus,
        Notices,
        PrState, //
    },
    reserve::{
        self,
        Access,
        Spc2Reservation, //
    },
    sense::{
        Asc,
        Sense, //
    },
    types::Status,
};
use kernel::prelude::*;

/// Registrations one device holds at most (INSUFFICIENT REGISTRATION
/// RESOURCES beyond).
pub(crate) const MAX_REGISTRATIONS: usize = 16;

/// The reservation state of one device.
pub(crate) struct ResState {
    spc2: Spc2Reservation<u64>,
    pr: KBox<PrState<MAX_REGISTRATIONS>>,
    /// Where an APTPL state is saved (`None`: APTPL is refused).
    file: Option<PrFile>,
}

/// What the core does with a command after the reservation stage.
pub(crate) enum ResOutcome {
    /// Not a reservation command and no conflict: go on.
    Proceed,
    /// Finished here with this status (GOOD or RESERVATION CONFLICT) and
    /// `len` bytes of data-in.
    Done(Status, usize),
}

/// A UNIT ATTENTION owed to the nexuses matching a registration.
pub(crate) struct OwedUa {
    pub(crate) pattern: pr::NexusPattern,
    pub(crate) asc: Asc,
}

impl ResState {
    /// The state of device `name`: what its APTPL file in `dir` holds, or
    /// nothing. Without a directory (or when the file cannot be read) the
    /// device starts without reservations and refuses APTPL.
    pub(crate) fn new(dir: Option<&CStr>, name: &str) -> Result<Self> {
        let mut pr = KBox::new(PrState::new(), GFP_KERNEL)?;
        let file = match dir {
            None => None,
            Some(dir) => match PrFile::open(dir, name, &mut pr) {
                Ok(f) => Some(f),
                Err(e) => {
                    pr_warn!(
                        "{}: cannot open a persistent reservation file in {} (error {}); APTPL refused\n",
                        name,
                        dir.to_str().unwrap_or("?"),
                        e.to_errno()
                    );
                    None
                }
            },
        };
        Ok(Self {
            spc2: Spc2Reservation::new(),
            pr,
            file,
        })
    }

    /// Saves the PR state if it has (or had) APTPL: `Err` means the state
    /// is not stable and must not be kept.
    fn persist(&mut self) -> core::result::Result<(), Sense> {
        match &mut self.file {
            // APTPL cannot be honoured (SPC-4 6.16.3: an APTPL the device
            // server does not support is INVALID FIELD IN PARAMETER LIST).
            None if self.pr.aptpl() => Err(Sense::invalid_field_in_param(20, Some(0))),
            None => Ok(()),
            Some(f) => f.save(&self.pr).map_err(|e| {
                pr_err!(
                    "cannot save persistent reservations to {}: error {}\n",
                    f.path().to_str().unwrap_or("?"),
                    e.to_errno()
                );
                Sense::write_error()
            }),
        }
    }

    /// Checks a command that is not a reservation command against both
    /// kinds of reservation (before UNIT ATTENTIONs, as SCST does).
    pub(crate) fn check(&self, id: u64, nexus: &ItNexus, cdb: &[u8]) -> Access {
        if self.spc2.check(id, cdb) == Access::Conflict {
            return Access::Conflict;
        }
        let op = cdb.first().copied().unwrap_or(0);
        if is_reservation_cmd(op) {
            return Access::Allowed;
        }
        self.pr.access(nexus, pr::classify(cdb))
    }

    /// Executes RESERVE/RELEASE and PERSISTENT RESERVE IN/OUT. UNIT
    /// ATTENTIONs for other nexuses are appended to `owed`.
    pub(crate) fn execute(
        &mut self,
        id: u64,
        nexus: &ItNexus,
        cdb: &[u8],
        data_out: &[u8],
        data_in: &mut [u8],
        owed: &mut KVec<OwedUa>,
    ) -> core::result::Result<ResOutcome, Sense> {
        let op = cdb.first().copied().unwrap_or(0);
        match op {
            reserve::RESERVE_6 | reserve::RESERVE_10 | reserve::RELEASE_6 | reserve::RELEASE_10 => {
                let interplay = self.pr.spc2_interplay(nexus);
                let status = self.spc2.execute(id, cdb, interplay)?;
                Ok(ResOutcome::Done(status, 0))
            }
            reserve::PERSISTENT_RESERVE_IN => {
                let c = pr::parse_prin_cdb(cdb)?;
                let n = self.pr.prin(&c, data_in);
                Ok(ResOutcome::Done(Status::Good, n))
            }
            reserve::PERSISTENT_RESERVE_OUT => {
                let c = pr::parse_prout_cdb(cdb)?;
                let mut notices = KBox::new(Notices::<MAX_REGISTRATIONS>::new(), GFP_KERNEL)
                    .map_err(|_| Sense::insufficient_resources())?;
                let before = KBox::new((*self.pr).clone(), GFP_KERNEL)
                    .map_err(|_| Sense::insufficient_resources())?;
                let outcome = self.pr.prout(nexus, &c, data_out, &mut notices)?;
                if outcome.persist {
                    if let Err(sense) = self.persist() {
                        // Not saved: as if the command never ran, and
                        // nobody is told of a change that did not happen.
                        self.pr = before;
                        return Err(sense);
                    }
                }
                for n in notices.as_slice() {
                    if let Some(asc) = n.ua {
                        // Without memory the UA is lost; the action stands.
                        let _ = owed.push(
                            OwedUa {
                                pattern: n.nexus,
                                asc,
                            },
                            GFP_KERNEL,
                        );
                    }
                }
                Ok(ResOutcome::Done(outcome.status, 0))
            }
            _ => Ok(ResOutcome::Proceed),
        }
    }

    /// LOGICAL UNIT RESET or TARGET RESET: the SPC-2 reservation ends
    /// (persistent reservations survive resets).
    pub(crate) fn reset(&mut self) {
        self.spc2.reset();
    }

    /// Logs the reservation state (`dump_prs` in `trace_level`).
    pub(crate) fn dump(&self, name: &str) {
        pr_info!(
            "{}: SPC-2 reservation: {}; PR generation {}, {} registrations, reservation {:?}, APTPL {}\n",
            name,
            match self.spc2.holder() {
                Some(_) => "held",
                None => "none",
            },
            self.pr.generation(),
            self.pr.registration_count(),
            self.pr.reservation(),
            self.pr.aptpl()
        );
        if let Some(f) = &self.file {
            pr_info!(
                "{}:   APTPL file {}\n",
                name,
                f.path().to_str().unwrap_or("?")
            );
        }
        for r in self.pr.registrations() {
            pr_info!(
                "{}:   key {:#x}{}\n",
                name,
                r.key,
                if r.holder { " (holder)" } else { "" }
            );
        }
    }

    /// The I_T nexus `id` is gone: its SPC-2 reservation ends
    /// (registrations persist, as SPC-4 requires).
    pub(crate) fn nexus_loss(&mut self, id: u64) {
        self.spc2.nexus_loss(id);
    }
}

/// Whether `op` is a reservation command the core executes itself.
pub(crate) fn is_reservation_cmd(op: u8) -> bool {
    matches!(
        op,
        reserve::RESERVE_6
            | reserve::RESERVE_10
            | reserve::RELEASE_6
            | reserve::RELEASE_10
            | reserve::PERSISTENT_RESERVE_IN
            | reserve::PERSISTENT_RESERVE_OUT
    )
}
