// SPDX-License-Identifier: GPL-2.0

//! Task management semantics (SAM-5 clause 7, 5.6, 5.9; SPC-4 Control mode
//! page TST / TAS / QErr; SPC-4 REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS).
//!
//! Given a task management request, the Control mode page settings, the
//! state of the addressed logical unit and the list of outstanding tasks, a
//! [`TmPlan`] computes:
//!
//! - the response ([`TmPlan::outcome`]): FUNCTION COMPLETE, FUNCTION
//!   SUCCEEDED (queries that found something), TASK NOT IN TASK SET (ABORT
//!   TASK on an unknown tag, as iSCSI and SCST report it), INCORRECT LOGICAL
//!   UNIT NUMBER, FUNCTION REJECTED or NOT SUPPORTED; plus what the caller must
//!   reset (ACA, LU state, nexus state);
//! - which tasks to abort, and whether each one's initiator gets TASK
//!   ABORTED status or nothing ([`TmPlan::affected`]);
//! - the UNIT ATTENTIONs owed ([`TmPlan::unit_attentions`]).
//!
//! [`QerrPlan`] does the same for the tasks a CHECK CONDITION aborts under
//! QErr. Everything is computed by iterating over the caller's task slice;
//! nothing is allocated.
//!
//! Rules applied (SAM-5):
//!
//! - ABORT TASK / ABORT TASK SET / QUERY TASK / QUERY TASK SET only see tasks
//!   of the requesting I_T nexus; CLEAR TASK SET sees every nexus's tasks of
//!   the LU when TST=000b (one shared task set) and only the requester's with
//!   TST=001b.
//! - A task aborted on behalf of another I_T nexus is completed with TASK
//!   ABORTED if TAS=1; with TAS=0 it is aborted silently and, for CLEAR TASK
//!   SET, that nexus is owed 2F/00 COMMANDS CLEARED BY ANOTHER INITIATOR.
//!   Resets owe their own 29/xx codes instead.
//! - LOGICAL UNIT RESET owes 29/03 BUS DEVICE RESET FUNCTION OCCURRED to
//!   every I_T nexus of the LU (the requester included); TARGET RESET owes
//!   29/00 POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (the generic code
//!   SCST uses) on every LU; I_T NEXUS RESET owes 29/07 I_T NEXUS LOSS
//!   OCCURRED on every LU of that nexus.

use super::bytes::{get_u32, get_u8, Writer};
use super::sense::{asc, Asc, Sense};
use super::types::{TaskAttr, TmFunction, TmResponse};
use super::ua::{ItNexus, PendingEvent};

/// TST field of the Control mode page (SPC-4): task set type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tst {
    /// 000b: one task set shared by all I_T nexuses of the LU.
    Shared,
    /// 001b: a separate task set per I_T nexus (the vdisk default).
    PerNexus,
}

impl Tst {
    /// Decodes the three-bit field; other values are reserved.
    pub fn from_bits(v: u8) -> Option<Self> {
        match v & 7 {
            0 => Some(Self::Shared),
            1 => Some(Self::PerNexus),
            _ => None,
        }
    }

    /// The three-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            Self::Shared => 0,
            Self::PerNexus => 1,
        }
    }
}

/// QErr field of the Control mode page (SPC-4): what a CHECK CONDITION (CA
/// or ACA) does to the other tasks of the task set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QErr {
    /// 00b: other tasks continue.
    Continue,
    /// 01b: every other task of the task set is aborted; other nexuses get
    /// TASK ABORTED (TAS=1) or 2F/02 COMMANDS CLEARED BY DEVICE SERVER
    /// (TAS=0).
    AbortAll,
    /// 11b: every other task of the faulted I_T nexus is aborted.
    AbortNexus,
}

impl QErr {
    /// Decodes the two-bit field; 10b is reserved.
    pub fn from_bits(v: u8) -> Option<Self> {
        match v & 3 {
            0 => Some(Self::Continue),
            1 => Some(Self::AbortAll),
            3 => Some(Self::AbortNexus),
            _ => None,
        }
    }

    /// The two-bit field value.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continue => 0,
            Self::AbortAll => 1,
            Self::AbortNexus => 3,
        }
    }
}

/// The Control mode page settings task management depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmConfig {
    /// Task set type.
    pub tst: Tst,
    /// TAS: tasks aborted for another nexus get TASK ABORTED status.
    pub tas: bool,
    /// Queue error management.
    pub qerr: QErr,
    /// Whether the LU supports ACA (NormACA=1 in INQUIRY, CLEAR ACA).
    pub aca_supported: bool,
}

impl Default for TmConfig {
    /// SCST vdisk defaults: TST=001b, TAS=0, QErr=00b, no ACA.
    fn default() -> Self {
        Self {
            tst: Tst::PerNexus,
            tas: false,
            qerr: QErr::Continue,
            aca_supported: false,
        }
    }
}

impl TmConfig {
    /// Reads TST (byte 2 bits 7..5), QErr (byte 3 bits 2..1) and TAS (byte 5
    /// bit 6) from a Control mode page; `None` if the page is shorter than 6
    /// bytes or a field holds a reserved value.
    pub fn from_control_page(page: &[u8], aca_supported: bool) -> Option<Self> {
        if page.len() < 6 {
            return None;
        }
        Some(Self {
            tst: Tst::from_bits(get_u8(page, 2) >> 5)?,
            qerr: QErr::from_bits(get_u8(page, 3) >> 1)?,
            tas: get_u8(page, 5) & 0x40 != 0,
            aca_supported,
        })
    }

    fn shared(&self) -> bool {
        self.tst == Tst::Shared
    }
}

/// Where an outstanding task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Accepted, waiting for its turn (dormant or blocked).
    Dormant,
    /// Dispatched / being processed.
    Enabled,
    /// Processing done, status not yet delivered: no longer abortable (SCST
    /// answers FUNCTION COMPLETE for ABORT TASK on it).
    Finished,
    /// Already aborted, waiting to be freed.
    Aborted,
}

impl TaskState {
    /// Whether the task is still in the task set and can be aborted.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Dormant | Self::Enabled)
    }
}

/// One outstanding task as seen by task management.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// Task tag.
    pub tag: u64,
    /// The I_T nexus it came from.
    pub nexus: ItNexus,
    /// The LUN it addresses.
    pub lun: u64,
    /// Its task attribute.
    pub attr: TaskAttr,
    /// Its state.
    pub state: TaskState,
}

/// A task management request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmRequest {
    /// The function.
    pub function: TmFunction,
    /// The I_T nexus it arrived on.
    pub nexus: ItNexus,
    /// The addressed LUN (ignored by target-wide and nexus-wide functions).
    pub lun: u64,
    /// The referenced task tag (ABORT TASK, QUERY TASK).
    pub tag: u64,
}

impl TmRequest {
    /// A request with no referenced tag.
    pub const fn new(function: TmFunction, nexus: ItNexus, lun: u64) -> Self {
        Self {
            function,
            nexus,
            lun,
            tag: 0,
        }
    }

    /// Sets the referenced task tag.
    pub const fn with_tag(mut self, tag: u64) -> Self {
        self.tag = tag;
        self
    }
}

/// What the caller knows about the addressed logical unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LuContext {
    /// Whether the LUN addresses an existing LU for this nexus.
    pub exists: bool,
    /// The I_T nexus whose CHECK CONDITION established ACA, if any.
    pub aca_faulted: Option<ItNexus>,
    /// The requesting nexus's next pending UA or deferred error (for QUERY
    /// ASYNCHRONOUS EVENT; see [`super::ua::UaQueue::pending_event`]).
    pub pending: Option<PendingEvent>,
}

impl LuContext {
    /// An existing LU with no ACA and nothing pending.
    pub const fn present() -> Self {
        Self {
            exists: true,
            aca_faulted: None,
            pending: None,
        }
    }
}

/// Whether a function addresses one logical unit (and so fails with
/// INCORRECT LOGICAL UNIT NUMBER when it does not exist).
pub fn addresses_lu(f: TmFunction) -> bool {
    matches!(
        f,
        TmFunction::AbortTask
            | TmFunction::AbortTaskSet
            | TmFunction::ClearAca
            | TmFunction::ClearTaskSet
            | TmFunction::LunReset
            | TmFunction::QueryTask
            | TmFunction::QueryTaskSet
            | TmFunction::QueryAsyncEvent
    )
}

/// Whether a function only queries (aborts nothing, owes nothing).
pub fn is_query(f: TmFunction) -> bool {
    matches!(
        f,
        TmFunction::QueryTask | TmFunction::QueryTaskSet | TmFunction::QueryAsyncEvent
    )
}

/// How the initiator of an aborted task learns of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbortNotice {
    /// No status is sent (its own nexus asked, TAS=0, or the nexus is gone).
    Silent,
    /// The task completes with TASK ABORTED status (TAS=1, other nexus).
    TaskAborted,
}

/// One task to abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Abort<'a> {
    /// Its index in the caller's task slice.
    pub index: usize,
    /// The task.
    pub task: &'a Task,
    /// How its initiator is told.
    pub notice: AbortNotice,
}

/// Which queues a UA goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UaTarget {
    /// Every I_T nexus of this LU.
    Lu(u64),
    /// Every I_T nexus on every LU of the target (SCST: the LUs visible to
    /// the session's group).
    Target,
    /// Every LU of this I_T nexus.
    Nexus(ItNexus),
    /// One I_T_L nexus.
    Itl(ItNexus, u64),
}

/// A UA owed by a task management function or QErr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UaGrant {
    /// Where it goes.
    pub to: UaTarget,
    /// The code.
    pub asc: Asc,
}

/// The result of a task management function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmOutcome {
    /// The response.
    pub response: TmResponse,
    /// ADDITIONAL RESPONSE INFORMATION (QUERY ASYNCHRONOUS EVENT when it
    /// succeeds: UADE DEPTH and sense key, ASC, ASCQ; zeros otherwise).
    pub additional_info: [u8; 3],
    /// Clear the ACA condition (of the addressed LU, or of every LU for
    /// target-wide functions).
    pub clear_aca: bool,
    /// Return the LU(s) to their reset state: release SPC-2 reservations,
    /// drop pending UAs before queuing the reset UA (the UA queue does the
    /// latter by itself), reset mode parameters.
    pub reset_lu: bool,
    /// Perform I_T nexus loss processing for the requesting nexus (or for
    /// every nexus, for [`TmFunction::NexusLoss`]): release its SPC-2
    /// reservation, drop its UAs before queuing 29/07.
    pub nexus_loss: bool,
}

/// ADDITIONAL RESPONSE INFORMATION of a successful QUERY ASYNCHRONOUS EVENT
/// (SAM-5): byte 0 UADE DEPTH (bits 5..4: 01b one condition pending, 10b
/// more than one) and SENSE KEY (bits 3..0); byte 1 ASC; byte 2 ASCQ.
pub fn query_async_event_info(p: &PendingEvent) -> [u8; 3] {
    let depth: u8 = if p.more { 2 } else { 1 };
    [(depth << 4) | (p.key as u8 & 0x0f), p.asc.0, p.asc.1]
}

/// Which tasks a function or QErr event reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Nothing,
    Task { nexus: ItNexus, lun: u64, tag: u64 },
    NexusLu { nexus: ItNexus, lun: u64 },
    Lu { lun: u64 },
    AcaTasks { nexus: ItNexus, lun: u64 },
    Nexus { nexus: ItNexus },
    All,
}

/// A scope plus how aborted tasks are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Selector {
    scope: Scope,
    /// The nexus on whose behalf tasks are aborted.
    origin: ItNexus,
    /// Whether TAS decides the notice for other nexuses' tasks.
    tas_applies: bool,
    tas: bool,
    /// A task (nexus, tag) that is excluded: the faulted command under QErr.
    except: Option<(ItNexus, u64)>,
    /// Select tasks in scope whatever their state.
    any_state: bool,
}

impl Selector {
    const NONE: Self = Self {
        scope: Scope::Nothing,
        origin: ItNexus(0),
        tas_applies: false,
        tas: false,
        except: None,
        any_state: false,
    };

    fn selects(&self, t: &Task) -> bool {
        if !(self.any_state || t.state.is_live()) {
            return false;
        }
        if self.except == Some((t.nexus, t.tag)) {
            return false;
        }
        match self.scope {
            Scope::Nothing => false,
            Scope::Task { nexus, lun, tag } => t.nexus == nexus && t.lun == lun && t.tag == tag,
            Scope::NexusLu { nexus, lun } => t.nexus == nexus && t.lun == lun,
            Scope::Lu { lun } => t.lun == lun,
            Scope::AcaTasks { nexus, lun } => {
                t.nexus == nexus && t.lun == lun && t.attr == TaskAttr::Aca
            }
            Scope::Nexus { nexus } => t.nexus == nexus,
            Scope::All => true,
        }
    }

    fn notice(&self, t: &Task) -> AbortNotice {
        if self.tas_applies && self.tas && t.nexus != self.origin {
            AbortNotice::TaskAborted
        } else {
            AbortNotice::Silent
        }
    }
}

/// Tasks to abort, in the order of the caller's slice.
#[derive(Clone, Debug)]
pub struct Affected<'a> {
    tasks: &'a [Task],
    idx: usize,
    sel: Selector,
}

impl<'a> Iterator for Affected<'a> {
    type Item = Abort<'a>;

    fn next(&mut self) -> Option<Abort<'a>> {
        while let Some(t) = self.tasks.get(self.idx) {
            let index = self.idx;
            self.idx += 1;
            if self.sel.selects(t) {
                return Some(Abort {
                    index,
                    task: t,
                    notice: self.sel.notice(t),
                });
            }
        }
        None
    }
}

/// UAs owed: at most one fixed grant, then (for CLEAR TASK SET and QErr
/// with TAS=0) one per other I_T nexus that lost tasks.
#[derive(Clone, Debug)]
pub struct UaGrants<'a> {
    single: Option<UaGrant>,
    per_nexus: Option<(Selector, Asc)>,
    tasks: &'a [Task],
    idx: usize,
}

impl UaGrants<'_> {
    fn empty() -> Self {
        Self {
            single: None,
            per_nexus: None,
            tasks: &[],
            idx: 0,
        }
    }
}

impl Iterator for UaGrants<'_> {
    type Item = UaGrant;

    fn next(&mut self) -> Option<UaGrant> {
        if let Some(g) = self.single.take() {
            return Some(g);
        }
        let (sel, code) = self.per_nexus?;
        while let Some(t) = self.tasks.get(self.idx) {
            let i = self.idx;
            self.idx += 1;
            if !sel.selects(t) || t.nexus == sel.origin {
                continue;
            }
            // One UA per I_T_L nexus: skip if an earlier aborted task of the
            // same nexus and LU already produced it.
            let seen = self
                .tasks
                .get(..i)
                .unwrap_or(&[])
                .iter()
                .any(|p| sel.selects(p) && p.nexus == t.nexus && p.lun == t.lun);
            if !seen {
                return Some(UaGrant {
                    to: UaTarget::Itl(t.nexus, t.lun),
                    asc: code,
                });
            }
        }
        None
    }
}

/// A task management function evaluated against the current state.
#[derive(Clone, Copy, Debug)]
pub struct TmPlan<'a> {
    req: TmRequest,
    cfg: TmConfig,
    lu: LuContext,
    tasks: &'a [Task],
}

impl<'a> TmPlan<'a> {
    /// Evaluates `req` under `cfg` for the LU described by `lu`, with the
    /// outstanding `tasks` (for target-wide functions: the tasks of every LU
    /// the function covers).
    pub fn new(req: TmRequest, cfg: TmConfig, lu: LuContext, tasks: &'a [Task]) -> Self {
        Self {
            req,
            cfg,
            lu,
            tasks,
        }
    }

    fn find_task(&self) -> Option<&'a Task> {
        let r = &self.req;
        self.tasks
            .iter()
            .find(|t| t.nexus == r.nexus && t.lun == r.lun && t.tag == r.tag)
    }

    /// The response and the state the caller must reset.
    pub fn outcome(&self) -> TmOutcome {
        let mut o = TmOutcome {
            response: TmResponse::Complete,
            additional_info: [0; 3],
            clear_aca: false,
            reset_lu: false,
            nexus_loss: false,
        };
        let f = self.req.function;
        if addresses_lu(f) && !self.lu.exists {
            o.response = TmResponse::LunNotExist;
            return o;
        }
        let r = &self.req;
        match f {
            TmFunction::AbortTask => {
                if self.find_task().is_none() {
                    o.response = TmResponse::TaskNotExist;
                }
            }
            TmFunction::ClearAca => match self.clear_aca_response() {
                Ok(clear) => o.clear_aca = clear,
                Err(resp) => o.response = resp,
            },
            TmFunction::LunReset | TmFunction::TargetReset => {
                o.clear_aca = true;
                o.reset_lu = true;
            }
            TmFunction::NexusLossSess => {
                o.nexus_loss = true;
                o.clear_aca = self.lu.aca_faulted == Some(r.nexus);
            }
            TmFunction::NexusLoss => {
                o.nexus_loss = true;
                o.clear_aca = true;
            }
            TmFunction::QueryTask => {
                if self.find_task().is_some_and(|t| t.state.is_live()) {
                    o.response = TmResponse::Succeeded;
                }
            }
            TmFunction::QueryTaskSet => {
                let any = self
                    .tasks
                    .iter()
                    .any(|t| t.nexus == r.nexus && t.lun == r.lun && t.state.is_live());
                if any {
                    o.response = TmResponse::Succeeded;
                }
            }
            TmFunction::QueryAsyncEvent => {
                if let Some(p) = self.lu.pending {
                    o.response = TmResponse::Succeeded;
                    o.additional_info = query_async_event_info(&p);
                }
            }
            TmFunction::AbortTaskSet
            | TmFunction::ClearTaskSet
            | TmFunction::AbortAllTasksSess
            | TmFunction::AbortAllTasks => {}
        }
        o
    }

    /// CLEAR ACA: `Ok(true)` clears it, `Ok(false)` is a no-op, `Err` the
    /// failure response.
    fn clear_aca_response(&self) -> Result<bool, TmResponse> {
        if !self.cfg.aca_supported {
            return Err(TmResponse::NotSupported);
        }
        match self.lu.aca_faulted {
            None => Ok(false),
            Some(f) if f == self.req.nexus => Ok(true),
            // Another nexus's ACA: in a shared task set only the faulted
            // nexus may clear it; with per-nexus task sets the requester's
            // own task set has no ACA.
            Some(_) if self.cfg.shared() => Err(TmResponse::Rejected),
            Some(_) => Ok(false),
        }
    }

    fn selector(&self) -> Selector {
        let o = self.outcome();
        if !matches!(o.response, TmResponse::Complete) {
            return Selector::NONE;
        }
        let r = &self.req;
        let (scope, tas_applies) = match r.function {
            TmFunction::AbortTask => (
                Scope::Task {
                    nexus: r.nexus,
                    lun: r.lun,
                    tag: r.tag,
                },
                false,
            ),
            TmFunction::AbortTaskSet => (
                Scope::NexusLu {
                    nexus: r.nexus,
                    lun: r.lun,
                },
                false,
            ),
            TmFunction::ClearTaskSet if self.cfg.shared() => (Scope::Lu { lun: r.lun }, true),
            TmFunction::ClearTaskSet => (
                Scope::NexusLu {
                    nexus: r.nexus,
                    lun: r.lun,
                },
                false,
            ),
            TmFunction::ClearAca if o.clear_aca => (
                Scope::AcaTasks {
                    nexus: r.nexus,
                    lun: r.lun,
                },
                false,
            ),
            TmFunction::ClearAca => (Scope::Nothing, false),
            TmFunction::LunReset => (Scope::Lu { lun: r.lun }, true),
            TmFunction::TargetReset => (Scope::All, true),
            TmFunction::NexusLossSess | TmFunction::AbortAllTasksSess => {
                (Scope::Nexus { nexus: r.nexus }, false)
            }
            // Every nexus is lost, or SCST's internal abort: no status goes out.
            TmFunction::NexusLoss | TmFunction::AbortAllTasks => (Scope::All, false),
            TmFunction::QueryTask | TmFunction::QueryTaskSet | TmFunction::QueryAsyncEvent => {
                (Scope::Nothing, false)
            }
        };
        Selector {
            scope,
            origin: r.nexus,
            tas_applies,
            tas: self.cfg.tas,
            except: None,
            any_state: false,
        }
    }

    /// The tasks to abort (none unless the response is FUNCTION COMPLETE).
    pub fn affected(&self) -> Affected<'a> {
        Affected {
            tasks: self.tasks,
            idx: 0,
            sel: self.selector(),
        }
    }

    /// The tasks in the function's scope whose status is still to be
    /// delivered, whatever their state (aborted now, finished before, or
    /// aborted earlier by another function whose TASK ABORTED is still on
    /// its way): the function's response must follow theirs (SAM-5 7.1,
    /// RFC 7143 4.2.3.3: no response of an affected task may come after
    /// it). ABORT TASK always follows the referenced task's own response,
    /// whatever the function's response: the initiator then knows the tag
    /// is free.
    pub fn awaited(&self) -> Affected<'a> {
        let r = &self.req;
        let sel = if r.function == TmFunction::AbortTask {
            Selector {
                scope: Scope::Task {
                    nexus: r.nexus,
                    lun: r.lun,
                    tag: r.tag,
                },
                any_state: true,
                ..Selector::NONE
            }
        } else {
            Selector {
                any_state: true,
                ..self.selector()
            }
        };
        Affected {
            tasks: self.tasks,
            idx: 0,
            sel,
        }
    }

    /// The UNIT ATTENTIONs owed.
    pub fn unit_attentions(&self) -> UaGrants<'a> {
        let sel = self.selector();
        if sel.scope == Scope::Nothing {
            return UaGrants::empty();
        }
        let r = &self.req;
        let single = match r.function {
            TmFunction::LunReset => Some(UaGrant {
                to: UaTarget::Lu(r.lun),
                asc: asc::BUS_DEVICE_RESET,
            }),
            TmFunction::TargetReset => Some(UaGrant {
                to: UaTarget::Target,
                asc: asc::POWER_ON_RESET,
            }),
            TmFunction::NexusLossSess => Some(UaGrant {
                to: UaTarget::Nexus(r.nexus),
                asc: asc::I_T_NEXUS_LOSS,
            }),
            TmFunction::NexusLoss => Some(UaGrant {
                to: UaTarget::Target,
                asc: asc::I_T_NEXUS_LOSS,
            }),
            _ => None,
        };
        let per_nexus = (r.function == TmFunction::ClearTaskSet && sel.tas_applies && !sel.tas)
            .then_some((sel, asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR));
        UaGrants {
            single,
            per_nexus,
            tasks: self.tasks,
            idx: 0,
        }
    }
}

/// The effect of QErr when a command ends with CHECK CONDITION (SPC-4
/// Control mode page, SAM-5 5.9): which other tasks are aborted and which
/// UAs are owed.
#[derive(Clone, Copy, Debug)]
pub struct QerrPlan<'a> {
    sel: Selector,
    tasks: &'a [Task],
}

impl<'a> QerrPlan<'a> {
    /// The command `failed_tag` of `faulted` on `lun` is being terminated
    /// with CHECK CONDITION; `tasks` are the outstanding tasks.
    pub fn new(
        cfg: TmConfig,
        faulted: ItNexus,
        lun: u64,
        failed_tag: u64,
        tasks: &'a [Task],
    ) -> Self {
        let scope = match cfg.qerr {
            QErr::Continue => Scope::Nothing,
            // The task set: every nexus's tasks when shared, else only the
            // faulted nexus's.
            QErr::AbortAll if cfg.shared() => Scope::Lu { lun },
            QErr::AbortAll | QErr::AbortNexus => Scope::NexusLu {
                nexus: faulted,
                lun,
            },
        };
        Self {
            sel: Selector {
                scope,
                origin: faulted,
                tas_applies: true,
                tas: cfg.tas,
                except: Some((faulted, failed_tag)),
                any_state: false,
            },
            tasks,
        }
    }

    /// The tasks to abort.
    pub fn affected(&self) -> Affected<'a> {
        Affected {
            tasks: self.tasks,
            idx: 0,
            sel: self.sel,
        }
    }

    /// With QErr=01b and TAS=0: 2F/02 COMMANDS CLEARED BY DEVICE SERVER to
    /// every other I_T nexus that lost tasks.
    pub fn unit_attentions(&self) -> UaGrants<'a> {
        if self.sel.tas {
            return UaGrants::empty();
        }
        UaGrants {
            single: None,
            per_nexus: Some((self.sel, asc::COMMANDS_CLEARED_BY_DEVICE_SERVER)),
            tasks: self.tasks,
            idx: 0,
        }
    }
}

/// The task management functions a logical unit supports, as reported by
/// REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupportedTmfs {
    /// ABORT TASK (ATS).
    pub abort_task: bool,
    /// ABORT TASK SET (ATSS).
    pub abort_task_set: bool,
    /// CLEAR ACA (CACAS).
    pub clear_aca: bool,
    /// CLEAR TASK SET (CTSS).
    pub clear_task_set: bool,
    /// LOGICAL UNIT RESET (LURS).
    pub lun_reset: bool,
    /// QUERY TASK (QTS).
    pub query_task: bool,
    /// TARGET RESET (TRS, obsolete in SPC-4: reported only if set here).
    pub target_reset: bool,
    /// QUERY ASYNCHRONOUS EVENT (QAES).
    pub query_async_event: bool,
    /// QUERY TASK SET (QTSS).
    pub query_task_set: bool,
    /// I_T NEXUS RESET (ITNRS).
    pub it_nexus_reset: bool,
}

impl SupportedTmfs {
    /// What this implementation supports for an LU configured as `cfg`:
    /// everything, CLEAR ACA only with ACA support, and the obsolete TARGET
    /// RESET bit left clear (the function itself is still honoured).
    pub fn for_config(cfg: &TmConfig) -> Self {
        Self {
            abort_task: true,
            abort_task_set: true,
            clear_aca: cfg.aca_supported,
            clear_task_set: true,
            lun_reset: true,
            query_task: true,
            target_reset: false,
            query_async_event: true,
            query_task_set: true,
            it_nexus_reset: true,
        }
    }

    /// Whether `f` is reported as supported. SCST-internal functions map to
    /// the standard one they implement.
    pub fn supports(&self, f: TmFunction) -> bool {
        match f {
            TmFunction::AbortTask => self.abort_task,
            TmFunction::AbortTaskSet => self.abort_task_set,
            TmFunction::ClearAca => self.clear_aca,
            TmFunction::ClearTaskSet => self.clear_task_set,
            TmFunction::LunReset => self.lun_reset,
            TmFunction::TargetReset => self.target_reset,
            TmFunction::NexusLossSess => self.it_nexus_reset,
            TmFunction::QueryTask => self.query_task,
            TmFunction::QueryTaskSet => self.query_task_set,
            TmFunction::QueryAsyncEvent => self.query_async_event,
            TmFunction::AbortAllTasksSess | TmFunction::NexusLoss | TmFunction::AbortAllTasks => {
                true
            }
        }
    }

    /// The two flag bytes of the parameter data.
    pub fn flag_bytes(&self) -> [u8; 2] {
        let bit = |b: bool, m: u8| if b { m } else { 0 };
        [
            bit(self.abort_task, 0x80)
                | bit(self.abort_task_set, 0x40)
                | bit(self.clear_aca, 0x20)
                | bit(self.clear_task_set, 0x10)
                | bit(self.lun_reset, 0x08)
                | bit(self.query_task, 0x04)
                | bit(self.target_reset, 0x02),
            bit(self.query_async_event, 0x04)
                | bit(self.query_task_set, 0x02)
                | bit(self.it_nexus_reset, 0x01),
        ]
    }

    /// Writes the parameter data (4 bytes basic, 16 bytes with REPD=1 and no
    /// timeouts reported: TMFTMOV=0) into `buf`, truncated to fit, and
    /// returns its full length.
    pub fn encode(&self, repd: bool, buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        let [b0, b1] = self.flag_bytes();
        w.u8(b0);
        w.u8(b1);
        w.u8(0);
        if repd {
            w.u8(0x0c);
            w.zeros(12);
        } else {
            w.u8(0);
        }
        w.len()
    }
}

/// Parsed REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS CDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RstmfCdb {
    /// REPD: return the extended parameter data.
    pub repd: bool,
    /// ALLOCATION LENGTH.
    pub alloc_len: u32,
}

/// Parses a REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS CDB (MAINTENANCE IN,
/// A3h / 0Dh). An allocation length under four is INVALID FIELD IN CDB at
/// byte 6, as SPC-4 requires.
pub fn parse_rstmf_cdb(cdb: &[u8]) -> Result<RstmfCdb, Sense> {
    let alloc_len = get_u32(cdb, 6);
    if alloc_len < 4 {
        return Err(Sense::invalid_field_in_cdb(6, None));
    }
    Ok(RstmfCdb {
        repd: get_u8(cdb, 2) & 0x80 != 0,
        alloc_len,
    })
}

/// Executes REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS: writes the
/// parameter data into `buf` and returns how many bytes to transfer (the
/// parameter data length, limited by the allocation length and `buf`).
pub fn report_supported_tmfs(
    cdb: &[u8],
    support: &SupportedTmfs,
    buf: &mut [u8],
) -> Result<usize, Sense> {
    let c = parse_rstmf_cdb(cdb)?;
    let full = support.encode(c.repd, buf);
    let alloc = usize::try_from(c.alloc_len).unwrap_or(usize::MAX);
    Ok(full.min(alloc).min(buf.len()))
}

#[cfg(test)]
mod tests {
    use super::super::sense::{Format, Key};
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const A: ItNexus = ItNexus(1);
    const B: ItNexus = ItNexus(2);
    const C: ItNexus = ItNexus(3);

    fn task(tag: u64, nexus: ItNexus, lun: u64) -> Task {
        Task {
            tag,
            nexus,
            lun,
            attr: TaskAttr::Simple,
            state: TaskState::Enabled,
        }
    }

    fn shared(tas: bool) -> TmConfig {
        TmConfig {
            tst: Tst::Shared,
            tas,
            qerr: QErr::Continue,
            aca_supported: true,
        }
    }

    fn per_nexus(tas: bool) -> TmConfig {
        TmConfig {
            tst: Tst::PerNexus,
            tas,
            qerr: QErr::Continue,
            aca_supported: true,
        }
    }

    /// A mixed task list: nexus A and B on LUN 0 and 1, C on LUN 0.
    fn tasks() -> Vec<Task> {
        vec![
            task(10, A, 0),
            task(11, A, 0),
            task(12, A, 1),
            task(20, B, 0),
            task(21, B, 1),
            task(30, C, 0),
            task(31, C, 0),
        ]
    }

    fn plan<'a>(req: TmRequest, cfg: TmConfig, t: &'a [Task]) -> TmPlan<'a> {
        TmPlan::new(req, cfg, LuContext::present(), t)
    }

    fn tags(p: &TmPlan<'_>) -> Vec<u64> {
        p.affected().map(|a| a.task.tag).collect()
    }

    fn grants(p: &TmPlan<'_>) -> Vec<UaGrant> {
        p.unit_attentions().collect()
    }

    #[test]
    fn abort_task_found() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(11),
            shared(true),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
        let a: Vec<Abort<'_>> = p.affected().collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].index, 1);
        assert_eq!(a[0].notice, AbortNotice::Silent);
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn awaited_includes_finished_and_aborted_tasks_in_scope() {
        // A's tasks on LUN 0: 1 enabled, 2 finished (status on its way),
        // 3 aborted earlier (by another nexus's reset, its TASK ABORTED on
        // its way); A on LUN 1 and B on LUN 0 are out of scope of A's
        // ABORT TASK SET with one task set per nexus.
        let mut t = vec![
            task(1, A, 0),
            task(2, A, 0),
            task(3, A, 0),
            task(4, A, 1),
            task(5, B, 0),
        ];
        t[1].state = TaskState::Finished;
        t[2].state = TaskState::Aborted;
        t[4].state = TaskState::Finished;
        let cfg = TmConfig {
            tst: Tst::PerNexus,
            ..shared(false)
        };
        let p = plan(TmRequest::new(TmFunction::AbortTaskSet, A, 0), cfg, &t);
        let aborted: Vec<usize> = p.affected().map(|a| a.index).collect();
        let awaited: Vec<usize> = p.awaited().map(|a| a.index).collect();
        assert_eq!(aborted, vec![0]);
        assert_eq!(awaited, vec![0, 1, 2]);
        // LUN RESET covers every nexus's tasks on the LU.
        let p = plan(TmRequest::new(TmFunction::LunReset, A, 0), cfg, &t);
        assert_eq!(p.affected().map(|a| a.index).collect::<Vec<_>>(), vec![0]);
        assert_eq!(
            p.awaited().map(|a| a.index).collect::<Vec<_>>(),
            vec![0, 1, 2, 4]
        );
        // A query waits for nothing.
        let p = plan(TmRequest::new(TmFunction::QueryTaskSet, A, 0), cfg, &t);
        assert_eq!(p.awaited().count(), 0);
    }

    #[test]
    fn abort_task_awaits_the_referenced_task_in_any_state() {
        let mut t = tasks();
        let req = |tag| TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(tag);
        let awaited = |t: &[Task], tag| {
            plan(req(tag), shared(false), t)
                .awaited()
                .map(|a| a.index)
                .collect::<Vec<_>>()
        };
        // Live: aborted and awaited.
        assert_eq!(awaited(&t, 11), vec![1]);
        // Finished (status on its way) or aborted earlier: nothing to
        // abort, but the response still comes after the task's.
        for state in [TaskState::Finished, TaskState::Aborted] {
            t[1].state = state;
            let p = plan(req(11), shared(false), &t);
            assert_eq!(p.affected().count(), 0, "{state:?}");
            assert_eq!(awaited(&t, 11), vec![1], "{state:?}");
        }
        // Another nexus's tag, or an unknown one: nothing.
        assert!(awaited(&t, 20).is_empty());
        assert!(awaited(&t, 99).is_empty());
        // Even when the LU is gone, the task's response comes first.
        let gone = LuContext {
            exists: false,
            ..LuContext::present()
        };
        let p = TmPlan::new(req(10), shared(false), gone, &t);
        assert_eq!(p.outcome().response, TmResponse::LunNotExist);
        assert_eq!(p.awaited().map(|a| a.index).collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn abort_task_unknown_tag() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(99),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::TaskNotExist);
        assert_eq!(p.affected().count(), 0);
    }

    #[test]
    fn abort_task_of_other_nexus_not_found() {
        // Tag 20 belongs to B: A cannot abort it.
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(20),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::TaskNotExist);
    }

    #[test]
    fn abort_task_wrong_lun_not_found() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 1).with_tag(10),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::TaskNotExist);
    }

    #[test]
    fn abort_finished_task_is_complete_noop() {
        let mut t = tasks();
        t[0].state = TaskState::Finished;
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(10),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
        assert_eq!(p.affected().count(), 0);
    }

    #[test]
    fn abort_already_aborted_task() {
        let mut t = tasks();
        t[0].state = TaskState::Aborted;
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(10),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
        assert_eq!(p.affected().count(), 0);
    }

    #[test]
    fn abort_dormant_task() {
        let mut t = tasks();
        t[1].state = TaskState::Dormant;
        let p = plan(
            TmRequest::new(TmFunction::AbortTask, A, 0).with_tag(11),
            per_nexus(false),
            &t,
        );
        assert_eq!(tags(&p), vec![11]);
    }

    #[test]
    fn abort_task_set_own_nexus_only() {
        let t = tasks();
        for cfg in [shared(true), per_nexus(false)] {
            let p = plan(TmRequest::new(TmFunction::AbortTaskSet, A, 0), cfg, &t);
            assert_eq!(p.outcome().response, TmResponse::Complete);
            assert_eq!(tags(&p), vec![10, 11]);
            assert!(p.affected().all(|a| a.notice == AbortNotice::Silent));
            assert!(grants(&p).is_empty());
        }
    }

    #[test]
    fn abort_task_set_empty_is_complete() {
        let t: Vec<Task> = Vec::new();
        let p = plan(
            TmRequest::new(TmFunction::AbortTaskSet, A, 0),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
    }

    #[test]
    fn clear_task_set_per_nexus_like_abort_task_set() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::ClearTaskSet, A, 0),
            per_nexus(false),
            &t,
        );
        assert_eq!(tags(&p), vec![10, 11]);
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn clear_task_set_shared_tas0() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::ClearTaskSet, A, 0),
            shared(false),
            &t,
        );
        assert_eq!(tags(&p), vec![10, 11, 20, 30, 31]);
        assert!(p.affected().all(|a| a.notice == AbortNotice::Silent));
        assert_eq!(
            grants(&p),
            vec![
                UaGrant {
                    to: UaTarget::Itl(B, 0),
                    asc: asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR
                },
                UaGrant {
                    to: UaTarget::Itl(C, 0),
                    asc: asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR
                },
            ]
        );
    }

    #[test]
    fn clear_task_set_shared_tas1() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::ClearTaskSet, A, 0),
            shared(true),
            &t,
        );
        let n: Vec<(u64, AbortNotice)> = p.affected().map(|a| (a.task.tag, a.notice)).collect();
        assert_eq!(
            n,
            vec![
                (10, AbortNotice::Silent),
                (11, AbortNotice::Silent),
                (20, AbortNotice::TaskAborted),
                (30, AbortNotice::TaskAborted),
                (31, AbortNotice::TaskAborted),
            ]
        );
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn clear_task_set_no_ua_for_nexus_without_tasks() {
        let t = vec![task(10, A, 0), task(30, C, 0)];
        let p = plan(
            TmRequest::new(TmFunction::ClearTaskSet, A, 0),
            shared(false),
            &t,
        );
        let g = grants(&p);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].to, UaTarget::Itl(C, 0));
    }

    #[test]
    fn clear_task_set_skips_finished_tasks_for_ua() {
        let mut t = tasks();
        t[3].state = TaskState::Finished; // B's only LUN 0 task
        let p = plan(
            TmRequest::new(TmFunction::ClearTaskSet, A, 0),
            shared(false),
            &t,
        );
        assert!(grants(&p).iter().all(|g| g.to != UaTarget::Itl(B, 0)));
    }

    #[test]
    fn lun_reset_all_nexuses_tas0() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::LunReset, A, 0),
            per_nexus(false),
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Complete);
        assert!(o.reset_lu && o.clear_aca && !o.nexus_loss);
        assert_eq!(tags(&p), vec![10, 11, 20, 30, 31]);
        assert!(p.affected().all(|a| a.notice == AbortNotice::Silent));
        assert_eq!(
            grants(&p),
            vec![UaGrant {
                to: UaTarget::Lu(0),
                asc: asc::BUS_DEVICE_RESET
            }]
        );
    }

    #[test]
    fn lun_reset_tas1_notifies_others() {
        let t = tasks();
        let p = plan(TmRequest::new(TmFunction::LunReset, B, 1), shared(true), &t);
        let n: Vec<(u64, AbortNotice)> = p.affected().map(|a| (a.task.tag, a.notice)).collect();
        assert_eq!(
            n,
            vec![(12, AbortNotice::TaskAborted), (21, AbortNotice::Silent)]
        );
    }

    #[test]
    fn lun_reset_missing_lun() {
        let t = tasks();
        let p = TmPlan::new(
            TmRequest::new(TmFunction::LunReset, A, 7),
            shared(false),
            LuContext::default(),
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::LunNotExist);
        assert!(!o.reset_lu);
        assert_eq!(p.affected().count(), 0);
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn every_lu_function_checks_lun() {
        let t = tasks();
        for f in [
            TmFunction::AbortTask,
            TmFunction::AbortTaskSet,
            TmFunction::ClearAca,
            TmFunction::ClearTaskSet,
            TmFunction::LunReset,
            TmFunction::QueryTask,
            TmFunction::QueryTaskSet,
            TmFunction::QueryAsyncEvent,
        ] {
            let p = TmPlan::new(
                TmRequest::new(f, A, 0),
                shared(false),
                LuContext::default(),
                &t,
            );
            assert_eq!(p.outcome().response, TmResponse::LunNotExist, "{f:?}");
            assert!(addresses_lu(f));
        }
    }

    #[test]
    fn target_wide_functions_ignore_lun() {
        let t = tasks();
        for f in [
            TmFunction::TargetReset,
            TmFunction::NexusLossSess,
            TmFunction::AbortAllTasksSess,
            TmFunction::NexusLoss,
            TmFunction::AbortAllTasks,
        ] {
            let p = TmPlan::new(
                TmRequest::new(f, A, 9),
                shared(false),
                LuContext::default(),
                &t,
            );
            assert_eq!(p.outcome().response, TmResponse::Complete, "{f:?}");
            assert!(!addresses_lu(f));
        }
    }

    #[test]
    fn target_reset_everything() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::TargetReset, A, 0),
            shared(true),
            &t,
        );
        assert_eq!(p.affected().count(), t.len());
        assert_eq!(
            p.affected()
                .filter(|a| a.notice == AbortNotice::TaskAborted)
                .count(),
            4
        );
        assert_eq!(
            grants(&p),
            vec![UaGrant {
                to: UaTarget::Target,
                asc: asc::POWER_ON_RESET
            }]
        );
        assert!(p.outcome().reset_lu);
    }

    #[test]
    fn it_nexus_reset() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::NexusLossSess, B, 0),
            shared(true),
            &t,
        );
        let o = p.outcome();
        assert!(o.nexus_loss && !o.reset_lu && !o.clear_aca);
        assert_eq!(tags(&p), vec![20, 21]);
        assert!(p.affected().all(|a| a.notice == AbortNotice::Silent));
        assert_eq!(
            grants(&p),
            vec![UaGrant {
                to: UaTarget::Nexus(B),
                asc: asc::I_T_NEXUS_LOSS
            }]
        );
    }

    #[test]
    fn it_nexus_reset_with_no_tasks_still_owes_ua() {
        let t: Vec<Task> = Vec::new();
        let p = plan(
            TmRequest::new(TmFunction::NexusLossSess, B, 0),
            shared(true),
            &t,
        );
        assert_eq!(grants(&p).len(), 1);
    }

    #[test]
    fn it_nexus_reset_clears_own_aca() {
        let t = tasks();
        let lu = LuContext {
            exists: true,
            aca_faulted: Some(B),
            pending: None,
        };
        let p = TmPlan::new(
            TmRequest::new(TmFunction::NexusLossSess, B, 0),
            shared(true),
            lu,
            &t,
        );
        assert!(p.outcome().clear_aca);
        let p = TmPlan::new(
            TmRequest::new(TmFunction::NexusLossSess, A, 0),
            shared(true),
            lu,
            &t,
        );
        assert!(!p.outcome().clear_aca);
    }

    #[test]
    fn abort_all_tasks_sess_no_ua() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::AbortAllTasksSess, C, 0),
            shared(true),
            &t,
        );
        assert_eq!(tags(&p), vec![30, 31]);
        assert!(grants(&p).is_empty());
        assert!(!p.outcome().nexus_loss);
    }

    #[test]
    fn nexus_loss_all_sessions() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::NexusLoss, A, 0),
            shared(true),
            &t,
        );
        assert_eq!(p.affected().count(), t.len());
        assert!(p.affected().all(|a| a.notice == AbortNotice::Silent));
        assert_eq!(
            grants(&p),
            vec![UaGrant {
                to: UaTarget::Target,
                asc: asc::I_T_NEXUS_LOSS
            }]
        );
        assert!(p.outcome().nexus_loss);
    }

    #[test]
    fn abort_all_tasks_silent_no_ua() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::AbortAllTasks, A, 0),
            shared(true),
            &t,
        );
        assert_eq!(p.affected().count(), t.len());
        assert!(p.affected().all(|a| a.notice == AbortNotice::Silent));
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn clear_aca_not_supported() {
        let t = tasks();
        let mut cfg = shared(false);
        cfg.aca_supported = false;
        let p = plan(TmRequest::new(TmFunction::ClearAca, A, 0), cfg, &t);
        assert_eq!(p.outcome().response, TmResponse::NotSupported);
    }

    #[test]
    fn clear_aca_by_faulted_nexus() {
        let mut t = tasks();
        t[1].attr = TaskAttr::Aca;
        let lu = LuContext {
            exists: true,
            aca_faulted: Some(A),
            pending: None,
        };
        let p = TmPlan::new(
            TmRequest::new(TmFunction::ClearAca, A, 0),
            shared(false),
            lu,
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Complete);
        assert!(o.clear_aca);
        assert_eq!(tags(&p), vec![11]);
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn clear_aca_by_other_nexus_shared_rejected() {
        let t = tasks();
        let lu = LuContext {
            exists: true,
            aca_faulted: Some(A),
            pending: None,
        };
        let p = TmPlan::new(
            TmRequest::new(TmFunction::ClearAca, B, 0),
            shared(false),
            lu,
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Rejected);
        assert!(!o.clear_aca);
        assert_eq!(p.affected().count(), 0);
    }

    #[test]
    fn clear_aca_by_other_nexus_per_nexus_noop() {
        let t = tasks();
        let lu = LuContext {
            exists: true,
            aca_faulted: Some(A),
            pending: None,
        };
        let p = TmPlan::new(
            TmRequest::new(TmFunction::ClearAca, B, 0),
            per_nexus(false),
            lu,
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Complete);
        assert!(!o.clear_aca);
        assert_eq!(p.affected().count(), 0);
    }

    #[test]
    fn clear_aca_without_aca_noop() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::ClearAca, A, 0),
            shared(false),
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Complete);
        assert!(!o.clear_aca);
    }

    #[test]
    fn query_task_found() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::QueryTask, A, 0).with_tag(10),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Succeeded);
        assert_eq!(p.affected().count(), 0);
        assert!(grants(&p).is_empty());
    }

    #[test]
    fn query_task_absent_or_finished() {
        let mut t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::QueryTask, A, 0).with_tag(77),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
        t[0].state = TaskState::Finished;
        let p = plan(
            TmRequest::new(TmFunction::QueryTask, A, 0).with_tag(10),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
    }

    #[test]
    fn query_task_other_nexus_not_seen() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::QueryTask, A, 0).with_tag(20),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
    }

    #[test]
    fn query_task_set() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::QueryTaskSet, B, 1),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Succeeded);
        let p = plan(
            TmRequest::new(TmFunction::QueryTaskSet, C, 1),
            shared(false),
            &t,
        );
        assert_eq!(p.outcome().response, TmResponse::Complete);
        assert_eq!(p.affected().count(), 0);
    }

    #[test]
    fn query_async_event_pending() {
        let t = tasks();
        let lu = LuContext {
            exists: true,
            aca_faulted: None,
            pending: Some(PendingEvent {
                key: Key::UnitAttention,
                asc: asc::POWER_ON_RESET,
                more: false,
            }),
        };
        let p = TmPlan::new(
            TmRequest::new(TmFunction::QueryAsyncEvent, A, 0),
            shared(false),
            lu,
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Succeeded);
        assert_eq!(o.additional_info, [0x16, 0x29, 0x00]);
    }

    #[test]
    fn query_async_event_depth_more() {
        let p = PendingEvent {
            key: Key::UnitAttention,
            asc: asc::MODE_PARAMETERS_CHANGED,
            more: true,
        };
        assert_eq!(query_async_event_info(&p), [0x26, 0x2a, 0x01]);
    }

    #[test]
    fn query_async_event_none() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::QueryAsyncEvent, A, 0),
            shared(false),
            &t,
        );
        let o = p.outcome();
        assert_eq!(o.response, TmResponse::Complete);
        assert_eq!(o.additional_info, [0; 3]);
    }

    #[test]
    fn query_async_event_from_ua_queue() {
        let mut q = super::super::ua::UaQueue::<4>::new();
        q.push(asc::CAPACITY_DATA_CHANGED);
        let lu = LuContext {
            exists: true,
            aca_faulted: None,
            pending: q.pending_event(),
        };
        let t: Vec<Task> = Vec::new();
        let p = TmPlan::new(
            TmRequest::new(TmFunction::QueryAsyncEvent, A, 0),
            shared(false),
            lu,
            &t,
        );
        assert_eq!(p.outcome().additional_info, [0x16, 0x2a, 0x09]);
    }

    #[test]
    fn is_query_set() {
        assert!(is_query(TmFunction::QueryTask));
        assert!(is_query(TmFunction::QueryTaskSet));
        assert!(is_query(TmFunction::QueryAsyncEvent));
        assert!(!is_query(TmFunction::AbortTask));
        assert!(!is_query(TmFunction::LunReset));
    }

    #[test]
    fn tst_bits() {
        assert_eq!(Tst::from_bits(0), Some(Tst::Shared));
        assert_eq!(Tst::from_bits(1), Some(Tst::PerNexus));
        assert_eq!(Tst::from_bits(2), None);
        assert_eq!(Tst::Shared.bits(), 0);
        assert_eq!(Tst::PerNexus.bits(), 1);
    }

    #[test]
    fn qerr_bits() {
        assert_eq!(QErr::from_bits(0), Some(QErr::Continue));
        assert_eq!(QErr::from_bits(1), Some(QErr::AbortAll));
        assert_eq!(QErr::from_bits(2), None);
        assert_eq!(QErr::from_bits(3), Some(QErr::AbortNexus));
        for q in [QErr::Continue, QErr::AbortAll, QErr::AbortNexus] {
            assert_eq!(QErr::from_bits(q.bits()), Some(q));
        }
    }

    #[test]
    fn config_from_control_page() {
        // TST=000b, QErr=01b, TAS=1.
        let page = [0x0a, 0x0a, 0x00, 0x12, 0x00, 0x40, 0, 0, 0xff, 0xff, 0, 0];
        let c = TmConfig::from_control_page(&page, true).unwrap();
        assert_eq!(c.tst, Tst::Shared);
        assert_eq!(c.qerr, QErr::AbortAll);
        assert!(c.tas);
        assert!(c.aca_supported);
        // TST=001b, QErr=11b, TAS=0.
        let page = [0x0a, 0x0a, 0x20, 0x06, 0x00, 0x00];
        let c = TmConfig::from_control_page(&page, false).unwrap();
        assert_eq!(
            (c.tst, c.qerr, c.tas),
            (Tst::PerNexus, QErr::AbortNexus, false)
        );
    }

    #[test]
    fn config_from_bad_page() {
        assert_eq!(
            TmConfig::from_control_page(&[0x0a, 0x0a, 0, 0], false),
            None
        );
        // TST=010b reserved.
        let page = [0x0a, 0x0a, 0x40, 0, 0, 0];
        assert_eq!(TmConfig::from_control_page(&page, false), None);
        // QErr=10b reserved.
        let page = [0x0a, 0x0a, 0x00, 0x04, 0, 0];
        assert_eq!(TmConfig::from_control_page(&page, false), None);
    }

    #[test]
    fn config_default_is_vdisk() {
        let c = TmConfig::default();
        assert_eq!(c.tst, Tst::PerNexus);
        assert!(!c.tas);
        assert_eq!(c.qerr, QErr::Continue);
        assert!(!c.aca_supported);
    }

    #[test]
    fn qerr_continue_aborts_nothing() {
        let t = tasks();
        let q = QerrPlan::new(shared(false), A, 0, 10, &t);
        assert_eq!(q.affected().count(), 0);
        assert_eq!(q.unit_attentions().count(), 0);
    }

    #[test]
    fn qerr_abort_all_shared_tas0() {
        let t = tasks();
        let mut cfg = shared(false);
        cfg.qerr = QErr::AbortAll;
        let q = QerrPlan::new(cfg, A, 0, 10, &t);
        let a: Vec<u64> = q.affected().map(|a| a.task.tag).collect();
        assert_eq!(a, vec![11, 20, 30, 31]);
        let g: Vec<UaGrant> = q.unit_attentions().collect();
        assert_eq!(
            g,
            vec![
                UaGrant {
                    to: UaTarget::Itl(B, 0),
                    asc: asc::COMMANDS_CLEARED_BY_DEVICE_SERVER
                },
                UaGrant {
                    to: UaTarget::Itl(C, 0),
                    asc: asc::COMMANDS_CLEARED_BY_DEVICE_SERVER
                },
            ]
        );
    }

    #[test]
    fn qerr_abort_all_shared_tas1() {
        let t = tasks();
        let mut cfg = shared(true);
        cfg.qerr = QErr::AbortAll;
        let q = QerrPlan::new(cfg, A, 0, 10, &t);
        let n: Vec<(u64, AbortNotice)> = q.affected().map(|a| (a.task.tag, a.notice)).collect();
        assert_eq!(
            n,
            vec![
                (11, AbortNotice::Silent),
                (20, AbortNotice::TaskAborted),
                (30, AbortNotice::TaskAborted),
                (31, AbortNotice::TaskAborted),
            ]
        );
        assert_eq!(q.unit_attentions().count(), 0);
    }

    #[test]
    fn qerr_abort_all_per_nexus_only_own() {
        let t = tasks();
        let mut cfg = per_nexus(false);
        cfg.qerr = QErr::AbortAll;
        let q = QerrPlan::new(cfg, C, 0, 31, &t);
        let a: Vec<u64> = q.affected().map(|a| a.task.tag).collect();
        assert_eq!(a, vec![30]);
        assert_eq!(q.unit_attentions().count(), 0);
    }

    #[test]
    fn qerr_abort_nexus() {
        let t = tasks();
        let mut cfg = shared(false);
        cfg.qerr = QErr::AbortNexus;
        let q = QerrPlan::new(cfg, A, 0, 11, &t);
        let a: Vec<u64> = q.affected().map(|a| a.task.tag).collect();
        assert_eq!(a, vec![10]);
        assert_eq!(q.unit_attentions().count(), 0);
    }

    #[test]
    fn supported_default_set() {
        let s = SupportedTmfs::for_config(&TmConfig::default());
        assert_eq!(s.flag_bytes(), [0xdc, 0x07]);
        let c = TmConfig {
            aca_supported: true,
            ..TmConfig::default()
        };
        assert_eq!(SupportedTmfs::for_config(&c).flag_bytes(), [0xfc, 0x07]);
    }

    #[test]
    fn supported_flag_bits_individually() {
        let none = SupportedTmfs {
            abort_task: false,
            abort_task_set: false,
            clear_aca: false,
            clear_task_set: false,
            lun_reset: false,
            query_task: false,
            target_reset: false,
            query_async_event: false,
            query_task_set: false,
            it_nexus_reset: false,
        };
        assert_eq!(none.flag_bytes(), [0, 0]);
        let mut s = none;
        s.target_reset = true;
        assert_eq!(s.flag_bytes(), [0x02, 0]);
        let mut s = none;
        s.query_async_event = true;
        assert_eq!(s.flag_bytes(), [0, 0x04]);
        let mut s = none;
        s.it_nexus_reset = true;
        assert_eq!(s.flag_bytes(), [0, 0x01]);
    }

    #[test]
    fn supports_maps_functions() {
        let s = SupportedTmfs::for_config(&TmConfig::default());
        assert!(s.supports(TmFunction::AbortTask));
        assert!(!s.supports(TmFunction::ClearAca));
        assert!(!s.supports(TmFunction::TargetReset));
        assert!(s.supports(TmFunction::NexusLossSess));
        assert!(s.supports(TmFunction::QueryAsyncEvent));
        assert!(s.supports(TmFunction::AbortAllTasks));
    }

    #[test]
    fn encode_basic() {
        let s = SupportedTmfs::for_config(&TmConfig::default());
        let mut b = [0xffu8; 8];
        assert_eq!(s.encode(false, &mut b), 4);
        assert_eq!(&b[..4], &[0xdc, 0x07, 0x00, 0x00]);
        assert_eq!(b[4], 0xff);
    }

    #[test]
    fn encode_extended() {
        let s = SupportedTmfs::for_config(&TmConfig::default());
        let mut b = [0xffu8; 16];
        assert_eq!(s.encode(true, &mut b), 16);
        assert_eq!(&b[..4], &[0xdc, 0x07, 0x00, 0x0c]);
        assert!(b[4..].iter().all(|&x| x == 0));
    }

    fn rstmf_cdb(repd: bool, alloc: u32) -> [u8; 12] {
        let mut c = [0u8; 12];
        c[0] = 0xa3;
        c[1] = 0x0d;
        if repd {
            c[2] = 0x80;
        }
        c[6..10].copy_from_slice(&alloc.to_be_bytes());
        c
    }

    #[test]
    fn parse_cdb_ok() {
        assert_eq!(
            parse_rstmf_cdb(&rstmf_cdb(true, 16)),
            Ok(RstmfCdb {
                repd: true,
                alloc_len: 16
            })
        );
        assert_eq!(parse_rstmf_cdb(&rstmf_cdb(false, 4)).unwrap().alloc_len, 4);
    }

    #[test]
    fn parse_cdb_short_alloc() {
        for n in 0..4 {
            let e = parse_rstmf_cdb(&rstmf_cdb(false, n)).unwrap_err();
            assert_eq!(e, Sense::invalid_field_in_cdb(6, None));
            let mut b = [0u8; 18];
            e.encode(Format::Fixed, false, &mut b);
            assert_eq!(&b[12..14], &[0x24, 0x00]);
            assert_eq!(&b[15..18], &[0xc0, 0x00, 0x06]);
        }
    }

    #[test]
    fn parse_truncated_cdb() {
        assert!(parse_rstmf_cdb(&[0xa3, 0x0d]).is_err());
        assert!(parse_rstmf_cdb(&[]).is_err());
    }

    #[test]
    fn report_truncates_to_alloc_len() {
        let s = SupportedTmfs::for_config(&TmConfig::default());
        let mut b = [0u8; 32];
        assert_eq!(
            report_supported_tmfs(&rstmf_cdb(true, 6), &s, &mut b),
            Ok(6)
        );
        assert_eq!(
            report_supported_tmfs(&rstmf_cdb(true, 64), &s, &mut b),
            Ok(16)
        );
        assert_eq!(
            report_supported_tmfs(&rstmf_cdb(false, 64), &s, &mut b),
            Ok(4)
        );
        let mut small = [0u8; 2];
        assert_eq!(
            report_supported_tmfs(&rstmf_cdb(false, 64), &s, &mut small),
            Ok(2)
        );
        assert_eq!(small, [0xdc, 0x07]);
    }

    #[test]
    fn grant_order_follows_task_order() {
        let t = vec![task(1, C, 0), task(2, B, 0), task(3, C, 0), task(4, A, 0)];
        let p = plan(
            TmRequest::new(TmFunction::ClearTaskSet, A, 0),
            shared(false),
            &t,
        );
        let to: Vec<UaTarget> = p.unit_attentions().map(|g| g.to).collect();
        assert_eq!(to, vec![UaTarget::Itl(C, 0), UaTarget::Itl(B, 0)]);
    }

    #[test]
    fn affected_indices_match_slice() {
        let t = tasks();
        let p = plan(
            TmRequest::new(TmFunction::LunReset, A, 1),
            shared(false),
            &t,
        );
        for a in p.affected() {
            assert_eq!(&t[a.index], a.task);
        }
        let idx: Vec<usize> = p.affected().map(|a| a.index).collect();
        assert_eq!(idx, vec![2, 4]);
    }

    // ---- Property tests ----

    fn any_fn() -> impl Strategy<Value = TmFunction> {
        prop_oneof![
            Just(TmFunction::AbortTask),
            Just(TmFunction::AbortTaskSet),
            Just(TmFunction::ClearAca),
            Just(TmFunction::ClearTaskSet),
            Just(TmFunction::LunReset),
            Just(TmFunction::TargetReset),
            Just(TmFunction::NexusLossSess),
            Just(TmFunction::AbortAllTasksSess),
            Just(TmFunction::NexusLoss),
            Just(TmFunction::AbortAllTasks),
            Just(TmFunction::QueryTask),
            Just(TmFunction::QueryTaskSet),
            Just(TmFunction::QueryAsyncEvent),
        ]
    }

    fn any_task() -> impl Strategy<Value = Task> {
        (0u64..6, 1u64..4, 0u64..3, 0u8..4, 0u8..4).prop_map(|(tag, n, lun, a, s)| Task {
            tag,
            nexus: ItNexus(n),
            lun,
            attr: [
                TaskAttr::Simple,
                TaskAttr::Ordered,
                TaskAttr::HeadOfQueue,
                TaskAttr::Aca,
            ][usize::from(a)],
            state: [
                TaskState::Dormant,
                TaskState::Enabled,
                TaskState::Finished,
                TaskState::Aborted,
            ][usize::from(s)],
        })
    }

    fn any_cfg() -> impl Strategy<Value = TmConfig> {
        (any::<bool>(), any::<bool>(), 0u8..3, any::<bool>()).prop_map(|(sh, tas, q, aca)| {
            TmConfig {
                tst: if sh { Tst::Shared } else { Tst::PerNexus },
                tas,
                qerr: [QErr::Continue, QErr::AbortAll, QErr::AbortNexus][usize::from(q)],
                aca_supported: aca,
            }
        })
    }

    proptest! {
        #[test]
        fn tm_invariants(f in any_fn(), n in 1u64..4, lun in 0u64..3, tag in 0u64..6,
                         cfg in any_cfg(), exists in any::<bool>(),
                         faulted in proptest::option::of(1u64..4),
                         ts in proptest::collection::vec(any_task(), 0..12)) {
            let req = TmRequest::new(f, ItNexus(n), lun).with_tag(tag);
            let lu = LuContext { exists, aca_faulted: faulted.map(ItNexus), pending: None };
            let p = TmPlan::new(req, cfg, lu, &ts);
            let o = p.outcome();
            let aff: Vec<Abort<'_>> = p.affected().collect();
            // Only FUNCTION COMPLETE aborts anything; queries never do.
            if o.response != TmResponse::Complete || is_query(f) {
                prop_assert!(aff.is_empty());
            }
            if addresses_lu(f) && !exists {
                prop_assert_eq!(o.response, TmResponse::LunNotExist);
                prop_assert_eq!(p.unit_attentions().count(), 0);
            }
            for a in &aff {
                prop_assert!(a.task.state.is_live());
                prop_assert_eq!(&ts[a.index], a.task);
                // Own-nexus tasks are never reported TASK ABORTED.
                if a.task.nexus == req.nexus {
                    prop_assert_eq!(a.notice, AbortNotice::Silent);
                }
                if a.notice == AbortNotice::TaskAborted {
                    prop_assert!(cfg.tas);
                }
                // Task-set scoped functions stay on their LU; nexus scoped
                // ones on their nexus.
                if addresses_lu(f) {
                    prop_assert_eq!(a.task.lun, lun);
                }
                if matches!(f, TmFunction::AbortTask | TmFunction::AbortTaskSet
                    | TmFunction::NexusLossSess | TmFunction::AbortAllTasksSess)
                    || (f == TmFunction::ClearTaskSet && cfg.tst == Tst::PerNexus) {
                    prop_assert_eq!(a.task.nexus, req.nexus);
                }
            }
            // UAs never go to the requester for CLEAR TASK SET; no duplicates.
            let g: Vec<UaGrant> = p.unit_attentions().collect();
            for (i, x) in g.iter().enumerate() {
                prop_assert!(!g[i + 1..].contains(x));
                if let UaTarget::Itl(nx, _) = x.to {
                    prop_assert_ne!(nx, req.nexus);
                    prop_assert_eq!(x.asc, asc::COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
                }
            }
            // LOGICAL UNIT RESET aborts every live task of its LU.
            if f == TmFunction::LunReset && exists {
                let live = ts.iter().filter(|t| t.lun == lun && t.state.is_live()).count();
                prop_assert_eq!(aff.len(), live);
            }
        }

        #[test]
        fn qerr_invariants(cfg in any_cfg(), n in 1u64..4, lun in 0u64..3, tag in 0u64..6,
                           ts in proptest::collection::vec(any_task(), 0..12)) {
            let q = QerrPlan::new(cfg, ItNexus(n), lun, tag, &ts);
            for a in q.affected() {
                prop_assert!(a.task.state.is_live());
                prop_assert_eq!(a.task.lun, lun);
                prop_assert!(!(a.task.nexus == ItNexus(n) && a.task.tag == tag));
                if cfg.qerr != QErr::AbortAll || cfg.tst == Tst::PerNexus {
                    prop_assert_eq!(a.task.nexus, ItNexus(n));
                }
            }
            if cfg.qerr == QErr::Continue {
                prop_assert_eq!(q.affected().count(), 0);
            }
            for g in q.unit_attentions() {
                prop_assert!(!cfg.tas);
                prop_assert_eq!(g.asc, asc::COMMANDS_CLEARED_BY_DEVICE_SERVER);
                match g.to {
                    UaTarget::Itl(nx, l) => { prop_assert_ne!(nx, ItNexus(n)); prop_assert_eq!(l, lun); }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }

        #[test]
        fn rstmf_never_panics(cdb in proptest::collection::vec(any::<u8>(), 0..20),
                              len in 0usize..32, aca in any::<bool>()) {
            let c = TmConfig {
                aca_supported: aca,
                ..TmConfig::default()
            };
            let s = SupportedTmfs::for_config(&c);
            let mut buf = [0u8; 32];
            match report_supported_tmfs(&cdb, &s, &mut buf[..len]) {
                Ok(n) => {
                    prop_assert!(n <= len && n <= 16);
                    prop_assert!(u64::from(get_u32(&cdb, 6)) >= n as u64);
                }
                Err(e) => prop_assert_eq!(e, Sense::invalid_field_in_cdb(6, None)),
            }
        }

        #[test]
        fn control_page_never_panics(page in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = TmConfig::from_control_page(&page, true);
        }
    }
}
