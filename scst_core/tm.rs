// SPDX-License-Identifier: GPL-2.0

//! Task management in the core (SCST's `scst_rx_mgmt_fn`): ABORT TASK,
//! ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, TARGET RESET, I_T
//! NEXUS RESET, CLEAR ACA and the QUERY functions, over the pure
//! [`crate::proto::tm`] model.
//!
//! Every command a session hands to the core is a task with a [`TaskCtl`]
//! in its session's task list from [`crate::Session::rx_cmd`] until its
//! response went through the driver's `xmit_response`. A function:
//!
//! 1. collects the tasks it may concern (its own session's, or every
//!    session's on the addressed devices) and lets [`TmPlan`] decide which
//!    to abort and how their initiators learn of it (TAS);
//! 2. marks them aborted: a task that has not started executing never
//!    does; one that is executing finishes its I/O, and in both cases its
//!    response becomes "aborted" (nothing, or TASK ABORTED), which still
//!    goes through `xmit_response` so the driver can clean up;
//! 3. queues the UNIT ATTENTIONs owed (29/xx for resets, 2F/00 for CLEAR
//!    TASK SET with TAS=0) and releases SPC-2 reservations on resets;
//! 4. waits until every aborted task has really finished, and every task
//!    in scope that had finished but was not yet answered has been
//!    answered, then answers.
//!
//! Steps 1 to 3 run in the caller's thread (the driver's receiving or
//! error handling thread, which may sleep), so the function sees exactly
//! the tasks the initiator sent before it. Step 4 runs there too for
//! [`crate::Session::task_mgmt`]; for [`crate::Session::rx_mgmt_fn`] it
//! runs in the task management thread, which then hands the result to the
//! driver's `task_mgmt_fn_done`, and the receiving thread goes on (answering
//! NOP-Outs, collecting data) while aborted commands finish. A task never
//! waits for task management, so the wait always ends.

use crate::{
    device::Device,
    proto::{
        tm::{
            AbortNotice,
            LuContext,
            QErr,
            QerrPlan,
            Task,
            TaskState,
            TmPlan,
            TmRequest,
            UaTarget, //
        },
        types::{
            TaskAttr,
            TmFunction,
            TmResponse, //
        },
        ua::ItNexus,
    },
    session::{
        SessionCore,
        TgtDev, //
    },
    Core,
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        Arc,
    },
};

const DORMANT: u32 = 0;
const ENABLED: u32 = 1;
const FINISHED: u32 = 2;
const ABORTED_SILENT: u32 = 3;
const ABORTED_STATUS: u32 = 4;

/// The task management view of one command.
pub(crate) struct TaskCtl {
    /// The transport's task tag.
    pub(crate) tag: u64,
    /// The LUN as the session addresses it.
    pub(crate) lun: u64,
    /// The task attribute.
    pub(crate) attr: TaskAttr,
    state: Atomic<u32>,
}

fn aborted(state: u32) -> Option<AbortNotice> {
    match state {
        ABORTED_SILENT => Some(AbortNotice::Silent),
        ABORTED_STATUS => Some(AbortNotice::TaskAborted),
        _ => None,
    }
}

impl TaskCtl {
    /// A task that waits for its turn.
    pub(crate) fn new(tag: u64, lun: u64, attr: TaskAttr) -> Self {
        Self {
            tag,
            lun,
            attr,
            state: Atomic::new(DORMANT),
        }
    }

    /// The task is about to execute: `Some` if it was aborted before.
    pub(crate) fn start(&self) -> Option<AbortNotice> {
        match self.state.cmpxchg(DORMANT, ENABLED, Full) {
            Ok(_) => None,
            Err(s) => aborted(s),
        }
    }

    /// The task executed: `Some` if it was aborted meanwhile (its result
    /// must not reach the initiator).
    pub(crate) fn finish(&self) -> Option<AbortNotice> {
        match self.state.cmpxchg(ENABLED, FINISHED, Full) {
            Ok(_) => None,
            Err(s) => aborted(s),
        }
    }

    /// Aborts a task that has not finished; false if it had.
    fn abort(&self, notice: AbortNotice) -> bool {
        let to = match notice {
            AbortNotice::Silent => ABORTED_SILENT,
            AbortNotice::TaskAborted => ABORTED_STATUS,
        };
        for from in [DORMANT, ENABLED] {
            if self.state.cmpxchg(from, to, Full).is_ok() {
                return true;
            }
        }
        false
    }

    /// Whether task management aborted the task.
    pub(crate) fn is_aborted(&self) -> bool {
        aborted(self.state.load(Relaxed)).is_some()
    }

    fn task_state(&self) -> TaskState {
        match self.state.load(Relaxed) {
            DORMANT => TaskState::Dormant,
            ENABLED => TaskState::Enabled,
            FINISHED => TaskState::Finished,
            _ => TaskState::Aborted,
        }
    }
}

/// The result of a task management function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TmResult {
    /// The response.
    pub response: TmResponse,
    /// ADDITIONAL RESPONSE INFORMATION (QUERY ASYNCHRONOUS EVENT).
    pub additional_info: [u8; 3],
}

/// One task a function looks at, and where it lives.
struct Seen {
    sess: Arc<SessionCore>,
    ctl: Arc<TaskCtl>,
    /// Its I_T_L nexus (`None`: a LUN without a device).
    itl: Option<Arc<TgtDev>>,
}

/// Whether a function looks at other sessions' tasks.
fn all_sessions(f: TmFunction) -> bool {
    matches!(
        f,
        TmFunction::ClearTaskSet
            | TmFunction::LunReset
            | TmFunction::TargetReset
            | TmFunction::NexusLoss
            | TmFunction::AbortAllTasks
    )
}

/// Whether a function covers every device the session sees (not one LU).
fn target_wide(f: TmFunction) -> bool {
    matches!(
        f,
        TmFunction::TargetReset
            | TmFunction::NexusLoss
            | TmFunction::AbortAllTasks
            | TmFunction::NexusLossSess
            | TmFunction::AbortAllTasksSess
    )
}

/// The LUN number a task gets in the model: the requester's LUN for tasks
/// on the addressed device (another session may map it at another LUN), a
/// LUN of its own for other devices, so the model's LU scopes see devices.
fn model_lun(
    req_dev: Option<&Arc<Device>>,
    req_lun: u64,
    itl: Option<&Arc<TgtDev>>,
    i: usize,
) -> u64 {
    match (req_dev, itl) {
        (Some(d), Some(t)) if Arc::ptr_eq(d, &t.dev) => req_lun,
        // Beyond every SAM LUN: cannot collide with the requester's.
        _ => (1u64 << 63) | i as u64,
    }
}

/// A function whose aborts are done, waiting for the aborted tasks.
pub(crate) struct Pending {
    /// The aborted tasks (and the ABORT TASK target), with their sessions.
    wait: KVec<(Arc<SessionCore>, Arc<TaskCtl>)>,
    result: TmResult,
}

impl Pending {
    /// A function that failed before it aborted anything.
    fn failed() -> Self {
        Self {
            wait: KVec::new(),
            result: TmResult {
                response: TmResponse::Failed,
                additional_info: [0; 3],
            },
        }
    }

    /// Whether nothing is left to wait for.
    pub(crate) fn is_done(&self) -> bool {
        self.wait.is_empty()
    }

    /// Waits until every aborted task went through `xmit_response` (tasks
    /// never wait for task management, so this ends), then gives the
    /// function's result. May sleep.
    pub(crate) fn finish(self) -> TmResult {
        for (sess, ctl) in self.wait.iter() {
            sess.wait_task_gone(ctl);
        }
        self.result
    }
}

/// Starts `f` for session `sc` on `lun` (ABORT TASK, QUERY TASK: the task
/// `tag`): decides and marks what it aborts and queues the UNIT ATTENTIONs,
/// all before it returns, so commands the driver hands over afterwards are
/// not affected. What remains is waiting, [`Pending::finish`]. May sleep.
pub(crate) fn start(
    core: &Core,
    sc: &Arc<SessionCore>,
    f: TmFunction,
    lun: u64,
    tag: u64,
) -> Pending {
    run(core, sc, f, lun, tag).unwrap_or_else(|_| Pending::failed())
}

/// QErr (Control mode page): command `tag` of `sc` on `lun` is about to
/// be answered with CHECK CONDITION. With QErr=01b the other tasks of the
/// task set (every nexus's when TST=000b) are aborted, with QErr=11b those
/// of the faulting nexus; other nexuses learn of it by TASK ABORTED (TAS=1)
/// or a 2F/02 UNIT ATTENTION (TAS=0). Runs before the CHECK CONDITION goes
/// out and does not wait: aborted tasks finish on their own.
pub(crate) fn qerr(core: &Core, sc: &Arc<SessionCore>, lun: u64, tag: u64) {
    let Some(own) = sc.lookup(lun) else {
        return;
    };
    let cfg = own.dev.ops().map(|o| o.tm_config()).unwrap_or_default();
    if cfg.qerr == QErr::Continue {
        return;
    }
    match qerr_run(core, sc, &own, cfg, lun, tag) {
        Ok(0) => {}
        Ok(n) => pr_info!(
            "session {}: CHECK CONDITION with QErr={}: {} tasks of device {} aborted\n",
            sc.id,
            cfg.qerr.bits(),
            n,
            own.dev.name().to_str().unwrap_or("?")
        ),
        Err(_) => pr_warn!("QErr: out of memory, no tasks aborted\n"),
    }
}

fn qerr_run(
    core: &Core,
    sc: &Arc<SessionCore>,
    own: &Arc<TgtDev>,
    cfg: crate::proto::tm::TmConfig,
    lun: u64,
    tag: u64,
) -> Result<usize> {
    // Every session's tasks on the faulting device, under the LUN the
    // faulting session knows it by.
    let mut seen: KVec<Seen> = KVec::new();
    let mut tasks: KVec<Task> = KVec::new();
    {
        let config = core.config.lock();
        for s in config.sessions.iter() {
            let mut ctls: KVec<Arc<TaskCtl>> = KVec::new();
            for ctl in s.tasks.lock().iter() {
                ctls.push(ctl.clone(), GFP_KERNEL)?;
            }
            for ctl in ctls {
                let Some(itl) = s.lookup(ctl.lun) else {
                    continue;
                };
                if !Arc::ptr_eq(&itl.dev, &own.dev) {
                    continue;
                }
                tasks.push(
                    Task {
                        tag: ctl.tag,
                        nexus: ItNexus(s.id),
                        lun,
                        attr: ctl.attr,
                        state: ctl.task_state(),
                    },
                    GFP_KERNEL,
                )?;
                seen.push(
                    Seen {
                        sess: s.clone(),
                        ctl,
                        itl: Some(itl),
                    },
                    GFP_KERNEL,
                )?;
            }
        }
    }
    let plan = QerrPlan::new(cfg, ItNexus(sc.id), lun, tag, &tasks);
    let mut n = 0;
    for a in plan.affected() {
        if seen.get(a.index).is_some_and(|s| s.ctl.abort(a.notice)) {
            n += 1;
        }
    }
    for g in plan.unit_attentions() {
        if let UaTarget::Itl(nexus, _) = g.to {
            if let Some(Seen { itl: Some(t), .. }) = seen.iter().find(|s| s.sess.id == nexus.0) {
                t.ua.lock().push(g.asc);
            }
        }
    }
    Ok(n)
}

fn run(core: &Core, sc: &Arc<SessionCore>, f: TmFunction, lun: u64, tag: u64) -> Result<Pending> {
    let own = sc.lookup(lun);
    let req_dev = if target_wide(f) {
        None
    } else {
        own.as_ref().map(|t| t.dev.clone())
    };
    // The devices the function covers.
    let mut devs: KVec<Arc<Device>> = KVec::new();
    if target_wide(f) {
        for t in sc.state.lock().luns.iter() {
            if !devs.iter().any(|d| Arc::ptr_eq(d, &t.dev)) {
                devs.push(t.dev.clone(), GFP_KERNEL)?;
            }
        }
    } else if let Some(d) = &req_dev {
        devs.push(d.clone(), GFP_KERNEL)?;
    }
    let cfg = req_dev
        .as_ref()
        .or(devs.first())
        .and_then(|d| d.ops())
        .map(|o| o.tm_config())
        .unwrap_or_default();

    // 1. The tasks concerned, and the model's view of them.
    let mut seen: KVec<Seen> = KVec::new();
    {
        let config = core.config.lock();
        let sessions: &[Arc<SessionCore>] = &config.sessions;
        for s in sessions.iter() {
            if !Arc::ptr_eq(s, sc) && !all_sessions(f) {
                continue;
            }
            // Copied out first: the session's state is not taken under its
            // task list.
            let mut ctls: KVec<Arc<TaskCtl>> = KVec::new();
            for ctl in s.tasks.lock().iter() {
                ctls.push(ctl.clone(), GFP_KERNEL)?;
            }
            for ctl in ctls {
                let itl = s.lookup(ctl.lun);
                let relevant = Arc::ptr_eq(s, sc)
                    || itl
                        .as_ref()
                        .is_some_and(|t| devs.iter().any(|d| Arc::ptr_eq(d, &t.dev)));
                if relevant {
                    seen.push(
                        Seen {
                            sess: s.clone(),
                            ctl,
                            itl,
                        },
                        GFP_KERNEL,
                    )?;
                }
            }
        }
    }
    let mut tasks: KVec<Task> = KVec::with_capacity(seen.len(), GFP_KERNEL)?;
    for (i, s) in seen.iter().enumerate() {
        let own_task = Arc::ptr_eq(&s.sess, sc);
        tasks.push(
            Task {
                tag: s.ctl.tag,
                nexus: ItNexus(s.sess.id),
                // The requester's own tasks keep their LUN, so ABORT TASK
                // and the nexus scopes find them even without a device.
                lun: if own_task && s.ctl.lun == lun {
                    lun
                } else {
                    model_lun(req_dev.as_ref(), lun, s.itl.as_ref(), i)
                },
                attr: s.ctl.attr,
                state: s.ctl.task_state(),
            },
            GFP_KERNEL,
        )?;
    }
    let lu = LuContext {
        exists: own.is_some(),
        aca_faulted: None,
        pending: own.as_ref().and_then(|t| t.ua.lock().pending_event()),
    };
    let req = TmRequest::new(f, ItNexus(sc.id), lun).with_tag(tag);
    let plan = TmPlan::new(req, cfg, lu, &tasks);
    let mut outcome = plan.outcome();

    // 2. Abort.
    let mut wait: KVec<usize> = KVec::new();
    let mut referenced_aborted = false;
    for a in plan.affected() {
        if let Some(s) = seen.get(a.index) {
            if s.ctl.abort(a.notice) {
                wait.push(a.index, GFP_KERNEL)?;
                referenced_aborted = true;
            }
        }
    }
    // Tasks in scope whose response is still on its way, whatever their
    // state (finished, or aborted before by another function, as when two
    // sessions reset the same LU at once): the function's response comes
    // after theirs.
    for a in plan.awaited() {
        if !wait.contains(&a.index) {
            wait.push(a.index, GFP_KERNEL)?;
        }
    }
    // ABORT TASK of a task that already finished (its status is on its
    // way, or sent): the initiator gets that status, so the task did not
    // exist for the abort (what initiators, and libiscsi's
    // AbortTaskSimpleAsync, expect; SCST answered FUNCTION COMPLETE).
    if f == TmFunction::AbortTask && outcome.response == TmResponse::Complete && !referenced_aborted
    {
        outcome.response = TmResponse::TaskNotExist;
    }

    // 3. Unit attentions and resets.
    if outcome.reset_lu {
        for d in devs.iter() {
            d.res.lock().reset();
        }
    }
    if outcome.nexus_loss {
        for d in devs.iter() {
            d.res.lock().nexus_loss(sc.id);
        }
    }
    {
        let config = core.config.lock();
        for g in plan.unit_attentions() {
            match g.to {
                UaTarget::Lu(_) | UaTarget::Target => {
                    for d in devs.iter() {
                        config.raise_ua(d, g.asc, |_| true);
                    }
                }
                UaTarget::Nexus(n) => {
                    if let Some(s) = config.sessions.iter().find(|s| s.id == n.0) {
                        for t in s.state.lock().luns.iter() {
                            t.ua.lock().push(g.asc);
                        }
                    }
                }
                UaTarget::Itl(n, l) => {
                    let hit = seen
                        .iter()
                        .zip(tasks.iter())
                        .find(|(_, t)| t.nexus == n && t.lun == l);
                    if let Some((Seen { itl: Some(t), .. }, _)) = hit {
                        t.ua.lock().push(g.asc);
                    }
                }
            }
        }
    }
    if f == TmFunction::LunReset || f == TmFunction::TargetReset {
        let what = if f == TmFunction::LunReset {
            "LUN reset"
        } else {
            "target reset"
        };
        for d in devs.iter() {
            pr_info!(
                "session {}: {} of device {}: {} tasks aborted\n",
                sc.id,
                what,
                d.name().to_str().unwrap_or("?"),
                wait.len()
            );
        }
    }

    // 4. What to wait for.
    let mut pending = Pending {
        wait: KVec::with_capacity(wait.len(), GFP_KERNEL)?,
        result: TmResult {
            response: outcome.response,
            additional_info: outcome.additional_info,
        },
    };
    for &i in wait.iter() {
        if let Some(s) = seen.get(i) {
            pending
                .wait
                .push((s.sess.clone(), s.ctl.clone()), GFP_KERNEL)?;
        }
    }
    Ok(pending)
}
