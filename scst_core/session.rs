// SPDX-License-Identifier: GPL-2.0

//! Target drivers, sessions (I_T nexuses) and the command state machine.
//!
//! A target driver implements [`TargetDriver`] and opens a [`Session`] per
//! initiator. The session joins a security group (see
//! [`crate::proto::acl`]) and sees that group's LUN map as its own table of
//! I_T_L nexuses ([`TgtDev`]). Every command the driver receives goes to
//! [`Session::rx_cmd`]; a command thread then runs it through the stages of
//! SCST's state machine:
//!
//! 1. init: find the I_T_L nexus of the LUN (REPORT LUNS, and INQUIRY and
//!    REQUEST SENSE for LUNs without a device, are answered here);
//! 2. parse: decode the CDB for the device type (bad CDBs end here);
//! 3. local checks: UNIT ATTENTIONs, REQUEST SENSE, write protection;
//! 4. exec: the device handler executes the command;
//! 5. xmit: the driver gets the status, sense and data
//!    ([`TargetDriver::xmit_response`]); the command is then finished.
//!
//! Data buffers are allocated per command for now (the sgv cache comes
//! later) and limited to [`MAX_XFER`] bytes.

use crate::{
    config::Config,
    device::{
        AbortFlag,
        Device,
        ExecCmd, //
    },
    proto::{
        acl, cdb, lun,
        order::{
            self,
            Dispatch,
            QueueAlg,
            Sequencer, //
        },
        pr,
        reserve::Access,
        sense::{
            Format,
            Sense, //
        },
        spc,
        tm::AbortNotice,
        types::{
            DataDirection,
            Status,
            TaskAttr,
            TmFunction,
            TmResponse, //
        },
        ua::{
            UaAction,
            UaIntlck,
            UaQueue, //
        },
    },
    reservation::{
        self,
        ResOutcome, //
    },
    threads::Work,
    tm::{
        self,
        TaskCtl,
        TmResult, //
    },
    Core,
};
use kernel::{
    alloc::KVVec,
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        CondVar,
        Mutex, //
    },
};

/// The largest data transfer of one command.
pub const MAX_XFER: usize = 8 << 20;

/// Unit attentions kept per I_T_L nexus.
const UA_DEPTH: usize = 8;

/// Commands one I_T_L nexus may have outstanding (iSCSI's largest command
/// window; more get TASK SET FULL).
const ORDER_DEPTH: usize = 128;

/// Task attribute ordering of one I_T_L nexus (SCST orders per `tgt_dev`):
/// the sequencer, and the commands it holds back until older ones finish.
pub(crate) struct Order {
    seq: KBox<Sequencer<ORDER_DEPTH>>,
    /// Dormant commands by tag, resubmitted to the command threads when
    /// the sequencer releases them.
    parked: KVec<(u64, KBox<dyn Work>)>,
}

/// One I_T_L nexus: a LUN of a session (SCST's `tgt_dev`).
#[pin_data]
pub(crate) struct TgtDev {
    pub(crate) lun: u64,
    pub(crate) dev: Arc<Device>,
    pub(crate) read_only: bool,
    #[pin]
    pub(crate) ua: Mutex<UaQueue<UA_DEPTH>>,
    #[pin]
    order: Mutex<Order>,
}

impl TgtDev {
    fn new(lun: u64, dev: Arc<Device>, read_only: bool) -> Result<Arc<Self>> {
        let order = Order {
            seq: KBox::new(Sequencer::new(QueueAlg::Unrestricted), GFP_KERNEL)?,
            parked: KVec::new(),
        };
        Arc::pin_init(
            pin_init!(Self {
                lun,
                dev,
                read_only,
                // A new nexus starts with a power-on/reset condition.
                ua <- kernel::new_mutex!(UaQueue::with(crate::proto::sense::asc::POWER_ON_RESET), "scst::TgtDev::ua"),
                order <- kernel::new_mutex!(order, "scst::TgtDev::order"),
            }),
            GFP_KERNEL,
        )
    }
}

/// The driver-independent part of a session, kept in the configuration.
#[pin_data]
pub(crate) struct SessionCore {
    /// The I_T nexus identifier.
    pub(crate) id: u64,
    /// The I_T nexus as persistent reservations see it (initiator
    /// TransportID, relative target port).
    pub(crate) nexus: pr::ItNexus,
    pub(crate) initiator: CString,
    pub(crate) target: CString,
    /// The group the session belongs to and its LUN table.
    #[pin]
    pub(crate) state: Mutex<SessState>,
    /// Commands received (for `/proc/scsi_tgt/sessions`).
    pub(crate) cmd_count: Atomic<u64>,
    /// The session's tasks: commands from [`Session::rx_cmd`] until their
    /// response went through `xmit_response` (task management's view).
    #[pin]
    pub(crate) tasks: Mutex<KVec<Arc<TaskCtl>>>,
    /// Signalled whenever a task leaves `tasks`.
    #[pin]
    task_gone: CondVar,
    /// EXTENDED COPY results held for RECEIVE COPY RESULTS.
    #[pin]
    pub(crate) copy_results: Mutex<crate::xcopy::Held>,
    /// The transport's asynchronous event reporting, while the session is
    /// open (taken while a report is sent, so closing waits for it).
    #[pin]
    aen: Mutex<Option<Arc<dyn AenSink>>>,
}

pub(crate) struct SessState {
    pub(crate) group: u64,
    pub(crate) luns: KVec<Arc<TgtDev>>,
    /// The LUN table was built once: later changes are reported with
    /// REPORTED LUNS DATA HAS CHANGED (a new session only gets 29/00).
    pub(crate) built: bool,
}

impl SessionCore {
    /// A session's core part, not yet in the configuration. Not generic
    /// over the driver: lock classes are statics of the function that
    /// initialises the locks, and a generic function's statics are shared
    /// by its instances in different modules.
    fn new(
        id: u64,
        nexus: pr::ItNexus,
        initiator: CString,
        target: CString,
        group: u64,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(SessionCore {
                id,
                nexus,
                initiator,
                target,
                state <- kernel::new_mutex!(SessState { group, luns: KVec::new(), built: false }, "scst::Session"),
                cmd_count: Atomic::new(0),
                tasks <- kernel::new_mutex!(KVec::new(), "scst::Session::tasks"),
                task_gone <- kernel::new_condvar!("scst::Session::task_gone"),
                copy_results <- kernel::new_mutex!([None; crate::xcopy::HELD_RESULTS], "scst::Session::copy_results"),
                aen <- kernel::new_mutex!(None, "scst::Session::aen"),
            }),
            GFP_KERNEL,
        )
    }

    /// Queues a UNIT ATTENTION on this session's I_T_L nexuses of `dev`.
    pub(crate) fn raise_ua(&self, dev: &Arc<Device>, asc: crate::proto::sense::Asc) {
        for t in self
            .state
            .lock()
            .luns
            .iter()
            .filter(|t| Arc::ptr_eq(&t.dev, dev))
        {
            t.ua.lock().push(asc);
        }
    }

    pub(crate) fn lookup(&self, lun: u64) -> Option<Arc<TgtDev>> {
        self.state
            .lock()
            .luns
            .iter()
            .find(|t| t.lun == lun)
            .cloned()
    }

    /// Removes a finished task and wakes task management waiting for it.
    fn remove_task(&self, ctl: &Arc<TaskCtl>) {
        let mut v = self.tasks.lock();
        if let Some(i) = v.iter().position(|t| Arc::ptr_eq(t, ctl)) {
            let _ = v.remove(i);
        }
        drop(v);
        self.task_gone.notify_all();
    }

    /// Waits until `ctl` has left the task list.
    pub(crate) fn wait_task_gone(&self, ctl: &Arc<TaskCtl>) {
        let mut v = self.tasks.lock();
        while v.iter().any(|t| Arc::ptr_eq(t, ctl)) {
            self.task_gone.wait(&mut v);
        }
    }

    /// Finds the I_T_L nexus of `lun` and marks a command as executing on
    /// its device, atomically with respect to LUN table updates: a device
    /// being unregistered is either not found or waited for.
    fn lookup_enter(&self, lun: u64) -> Option<(Arc<TgtDev>, crate::device::InflightGuard)> {
        let st = self.state.lock();
        let t = st.luns.iter().find(|t| t.lun == lun)?.clone();
        let g = t.dev.enter();
        Some((t, g))
    }

    /// Rebuilds the LUN table from the session's group in `config`: kept
    /// nexuses keep their state, new ones start with a reset UA, and a
    /// changed table is reported with REPORTED LUNS DATA CHANGED: as a UA
    /// on every nexus, or, `Ok(true)`, owed as an asynchronous event.
    pub(crate) fn refresh(&self, config: &Config) -> Result<bool> {
        let aen = self.aen.lock().is_some();
        let mut st = self.state.lock();
        let Some(g) = config.groups.iter().find(|g| g.id == st.group) else {
            st.luns.clear();
            return Ok(false);
        };
        let mut luns = KVec::with_capacity(g.luns.len(), GFP_KERNEL)?;
        let mut changed = g.luns.len() != st.luns.len();
        for l in g.luns.iter() {
            let kept = st
                .luns
                .iter()
                .find(|t| {
                    t.lun == l.lun && Arc::ptr_eq(&t.dev, &l.dev) && t.read_only == l.read_only
                })
                .cloned();
            let t = match kept {
                Some(t) => t,
                None => {
                    changed = true;
                    TgtDev::new(l.lun, l.dev.clone(), l.read_only)?
                }
            };
            luns.push(t, GFP_KERNEL)?;
        }
        let report = changed && st.built;
        if report && !aen {
            for t in luns.iter() {
                t.ua.lock()
                    .push(crate::proto::sense::asc::REPORTED_LUNS_DATA_CHANGED);
            }
        }
        st.luns = luns;
        st.built = true;
        Ok(report && aen)
    }

    /// Reports the UNIT ATTENTION `asc` of the session's LUNs through the
    /// transport (SCST's `scst_gen_aen_or_ua`), or, if it cannot, queues it
    /// on every nexus. Outside every core lock (may sleep).
    pub(crate) fn report_aen(&self, asc: crate::proto::sense::Asc) {
        // The event is the target's, not one LU's: the lowest LUN carries it.
        let lun = self
            .state
            .lock()
            .luns
            .iter()
            .map(|t| t.lun)
            .min()
            .unwrap_or(0);
        let (sense, n) = crate::proto::sense::to_array(&Sense::unit_attention(asc), Format::Fixed);
        let sent = match &*self.aen.lock() {
            Some(sink) => sink.report_aen(lun, &sense[..n]),
            None => false,
        };
        if !sent {
            for t in self.state.lock().luns.iter() {
                t.ua.lock().push(asc);
            }
        }
    }
}

/// Asynchronous event reporting of a session (SCST's `report_aen`): a
/// transport that can tell an initiator of a UNIT ATTENTION condition
/// without waiting for its next command (iSCSI's Asynchronous Message).
/// The core uses it for REPORTED LUNS DATA HAS CHANGED (3F/0E), the event
/// initiators act on (open-iscsi rescans the session's LUNs).
pub trait AenSink: Send + Sync + 'static {
    /// Reports `sense` (fixed format, UNIT ATTENTION) for LUN `lun`. False
    /// if it could not be sent: the core then queues the UNIT ATTENTION.
    /// Runs in the core's management thread; may sleep; must not call
    /// into the core.
    fn report_aen(&self, lun: u64, sense: &[u8]) -> bool;
}

/// A session's owed asynchronous event, for the management thread.
pub(crate) struct AenWork {
    pub(crate) sess: Arc<SessionCore>,
    pub(crate) asc: crate::proto::sense::Asc,
}

impl Work for AenWork {
    fn run(self: KBox<Self>) {
        self.sess.report_aen(self.asc);
    }
}

/// A SCSI target driver (SCST's `struct scst_tgt_template`).
pub trait TargetDriver: Send + Sync + 'static {
    /// The driver's name.
    const NAME: &'static CStr;

    /// The driver's handle of one command (returned with its response).
    type Cmd: Send + 'static;

    /// Delivers the response of a finished command. May sleep.
    fn xmit_response(&self, cmd: Self::Cmd, rsp: Response<'_>);

    /// The driver's handle of one task management function queued with
    /// [`Session::rx_mgmt_fn`] (returned with its result). A driver that
    /// only uses the waiting [`Session::task_mgmt`] uses
    /// [`core::convert::Infallible`].
    type Mgmt: Send + 'static;

    /// Delivers the result of a function queued with
    /// [`Session::rx_mgmt_fn`] (SCST's `task_mgmt_fn_done`), after every
    /// command it aborted went through [`TargetDriver::xmit_response`].
    /// Runs in the task management thread, or in the caller's thread when
    /// nothing had to be waited for. May sleep.
    fn task_mgmt_fn_done(&self, mgmt: Self::Mgmt, result: TmResult);
}

/// The response of a command.
pub struct Response<'a> {
    /// SCSI status.
    pub status: u8,
    /// Sense data (for CHECK CONDITION), fixed or descriptor format.
    pub sense: &'a [u8],
    /// Data-in bytes.
    pub data: &'a [u8],
    /// Bytes of the initiator's expected transfer that were not transferred.
    pub resid: u32,
    /// Task management aborted the command: with [`AbortNotice::Silent`]
    /// the initiator must get no response (the driver only cleans up); with
    /// [`AbortNotice::TaskAborted`] the status is TASK ABORTED.
    pub aborted: Option<AbortNotice>,
    /// The command's own transfer length (SAM-5's SPDTL): the data-in bytes
    /// the device produced (before truncation to the expected length), or
    /// the data-out bytes the CDB describes; 0 if the command failed before
    /// its CDB was decoded. Transports with an expected length of their own
    /// (iSCSI) derive overflow and underflow residuals from it.
    pub transfer_len: u32,
}

/// Creates the directory `/proc/scsi_tgt/<name>/` of a target driver, for
/// its own files. It is removed when the last reference is dropped.
pub fn target_proc_dir(name: &CStr) -> Result<scst_sys::procfs::Dir> {
    Core::get()?.dirs.subdir(name)
}

/// What a target driver passes with a new command.
pub struct NewCmd<T: TargetDriver> {
    /// The LUN (already decoded from the transport's LUN field).
    pub lun: u64,
    /// The CDB.
    pub cdb: [u8; 32],
    /// The CDB length.
    pub cdb_len: usize,
    /// The initiator's expected data transfer length in bytes.
    pub expected_len: u32,
    /// The data-out buffer (WRITE direction), if any.
    pub data_out: Option<KVVec<u8>>,
    /// The transport's task tag (unique among the session's outstanding
    /// commands), for task management.
    pub tag: u64,
    /// The task attribute.
    pub attr: TaskAttr,
    /// The driver's handle.
    pub drv: T::Cmd,
}

/// An open session (I_T nexus) of a target driver; closed on drop.
pub struct Session<T: TargetDriver> {
    inner: Arc<SessionInner<T>>,
}

struct SessionInner<T: TargetDriver> {
    core: Arc<Core>,
    driver: Arc<T>,
    sc: Arc<SessionCore>,
}

impl<T: TargetDriver> Session<T> {
    /// Opens a session of `initiator` on the target `target`.
    pub fn new(driver: Arc<T>, target: &str, initiator: &str) -> Result<Self> {
        Self::open(driver, target, initiator, None)
    }

    /// Opens a session of the iSCSI initiator port `initiator`,`isid` on
    /// `target`: persistent reservations see the port's TransportID
    /// (`name,i,0x<ISID>`, SPC-4 7.6.4.6), so two sessions of one
    /// initiator with different ISIDs are different I_T nexuses.
    pub fn with_isid(driver: Arc<T>, target: &str, initiator: &str, isid: u64) -> Result<Self> {
        Self::open(driver, target, initiator, Some(isid))
    }

    fn open(driver: Arc<T>, target: &str, initiator: &str, isid: Option<u64>) -> Result<Self> {
        let core = Core::get()?;
        let mut config = core.config.lock();
        let group = match acl::choose_group(
            config
                .groups
                .iter()
                .map(|g| (g.name.as_slice(), g.names.iter().map(|n| n.as_slice()))),
            initiator.as_bytes(),
            target.as_bytes(),
        ) {
            acl::Choice::Named(i) | acl::Choice::TargetDefault(i) => config.groups[i].id,
            acl::Choice::Default => config.groups[0].id,
        };
        let id = config.next_session_id();
        let initiator_c = CString::try_from_fmt(fmt!("{initiator}"))?;
        let target_c = CString::try_from_fmt(fmt!("{target}"))?;
        // Initiators are identified by an iSCSI-style TransportID: the name
        // alone (scst_local), or the port (iSCSI: name and ISID).
        let tid = match isid {
            Some(isid) => pr::TransportId::iscsi_port(initiator.as_bytes(), isid),
            None => pr::TransportId::iscsi_name(initiator.as_bytes()),
        }
        .ok_or(EINVAL)?;
        let nexus = pr::ItNexus { tid, rtpi: 1 };
        let sc = SessionCore::new(id, nexus, initiator_c, target_c, group)?;
        // A new table: nothing to report.
        sc.refresh(&config)?;
        config.sessions.push(sc.clone(), GFP_KERNEL)?;
        drop(config);
        pr_info!(
            "session {}: initiator {} on target {}\n",
            id,
            initiator,
            target
        );
        Ok(Self {
            inner: Arc::new(SessionInner { core, driver, sc }, GFP_KERNEL)?,
        })
    }

    /// Queues a command for execution. The response comes back through
    /// [`TargetDriver::xmit_response`], also on failure to queue.
    pub fn rx_cmd(&self, cmd: NewCmd<T>) {
        self.inner.sc.cmd_count.fetch_add(1, Relaxed);
        // Out of memory: the command is dropped with its driver handle,
        // which fails it towards the initiator (the handle's contract).
        if self.queue(cmd).is_err() {
            pr_warn!("out of memory queueing a command\n");
        }
    }

    /// [`Session::rx_cmd`] without the logging.
    fn queue(&self, cmd: NewCmd<T>) -> Result {
        let sc = &self.inner.sc;
        let ctl = Arc::new(TaskCtl::new(cmd.tag, cmd.lun, cmd.attr), GFP_KERNEL)?;
        sc.tasks.lock().push(ctl.clone(), GFP_KERNEL)?;
        // From here on `Cmd`'s drop takes the task off the list.
        // What its data will hold: the data-out buffer, or the data-in one.
        let need =
            u64::from(cmd.expected_len).max(cmd.data_out.as_ref().map_or(0, |d| d.len() as u64));
        let mut work = KBox::new(
            Cmd {
                sess: self.inner.clone(),
                ctl,
                new: Some(cmd),
                itl: None,
                refused: None,
                mem: 0,
            },
            GFP_KERNEL,
        )?;
        if !self.inner.core.mem.reserve(need) {
            // Over scst_max_cmd_mem: TASK SET FULL while this session has
            // other commands whose end makes room, else BUSY. It never
            // enters its task set.
            let others = sc.tasks.lock().len() > 1;
            let status = if others {
                Status::TaskSetFull
            } else {
                Status::Busy
            };
            work.refused = Some((status, None));
            let w: KBox<dyn Work> = work;
            return self.inner.core.pool.submit(w);
        }
        work.mem = need;
        // Ordering is decided here, in the driver's thread, so commands
        // enter their task set in the order the initiator sent them.
        let work = match work.admit() {
            Admit::Run(w) => w,
            Admit::Parked => return Ok(()),
            Admit::Refuse(mut w, status, sense) => {
                w.refused = Some((status, sense));
                w
            }
        };
        let w: KBox<dyn Work> = work;
        self.inner.core.pool.submit(w)
    }
}

impl<T: TargetDriver> Session<T> {
    /// Enables asynchronous event reporting through `sink` until the
    /// session closes (closing waits for a report being sent).
    pub fn set_aen(&self, sink: Arc<dyn AenSink>) {
        *self.inner.sc.aen.lock() = Some(sink);
    }

    /// A task management function from this session's initiator (SCST's
    /// `scst_rx_mgmt_fn`): `lun` is the addressed LUN, `tag` the referenced
    /// task of ABORT TASK and QUERY TASK. Aborted commands still come back
    /// through [`TargetDriver::xmit_response`] (with [`Response::aborted`]),
    /// all of them before this returns. See [`crate::tm`]. May sleep.
    pub fn task_mgmt(&self, f: TmFunction, lun: u64, tag: u64) -> TmResult {
        tm::start(&self.inner.core, &self.inner.sc, f, lun, tag).finish()
    }

    /// [`Session::task_mgmt`] without the wait (SCST's `scst_rx_mgmt_fn`):
    /// the function takes effect before this returns (commands received
    /// later are not affected), and its result goes to
    /// [`TargetDriver::task_mgmt_fn_done`] with `mgmt` once the aborted
    /// commands have gone through `xmit_response`. Like a command's, the
    /// driver must wait for that before it goes away. May sleep.
    pub fn rx_mgmt_fn(&self, f: TmFunction, lun: u64, tag: u64, mgmt: T::Mgmt) {
        let core = &self.inner.core;
        let pending = tm::start(core, &self.inner.sc, f, lun, tag);
        if pending.is_done() {
            self.inner.driver.task_mgmt_fn_done(mgmt, pending.finish());
            return;
        }
        let work = MgmtWork {
            sess: self.inner.clone(),
            pending,
            mgmt,
        };
        let w: KBox<dyn Work> = match KBox::<MgmtWork<T>>::new_uninit(GFP_KERNEL) {
            Ok(b) => {
                let w: KBox<dyn Work> = b.write(work);
                w
            }
            // Out of memory: wait here instead.
            Err(_) => return work.complete(),
        };
        if let Err(w) = core.tm_pool.try_submit(w) {
            w.run();
        }
    }

    /// LOGICAL UNIT RESET of `lun` (`Some`) or TARGET RESET (`None`: every
    /// LUN the session sees): [`Session::task_mgmt`] with the reset. The
    /// tasks of every session on the reset devices are aborted, SPC-2
    /// reservations end, and every I_T_L nexus of the devices gets 29/03
    /// (LUN reset) or 29/00 (target reset); persistent reservations are
    /// kept. `ENOENT`: no such LUN.
    pub fn reset(&self, lun: Option<u64>) -> Result {
        let r = match lun {
            Some(l) => self.task_mgmt(TmFunction::LunReset, l, 0),
            None => self.task_mgmt(TmFunction::TargetReset, 0, 0),
        };
        match r.response {
            TmResponse::Complete => Ok(()),
            TmResponse::LunNotExist => Err(ENOENT),
            _ => Err(EIO),
        }
    }
}

/// The wait of a function queued with [`Session::rx_mgmt_fn`], for the task
/// management thread.
struct MgmtWork<T: TargetDriver> {
    sess: Arc<SessionInner<T>>,
    pending: tm::Pending,
    mgmt: T::Mgmt,
}

impl<T: TargetDriver> MgmtWork<T> {
    fn complete(self) {
        let r = self.pending.finish();
        self.sess.driver.task_mgmt_fn_done(self.mgmt, r);
    }
}

impl<T: TargetDriver> Work for MgmtWork<T> {
    fn run(self: KBox<Self>) {
        KBox::into_inner(self).complete();
    }
}

impl<T: TargetDriver> Drop for Session<T> {
    fn drop(&mut self) {
        let mut config = self.inner.core.config.lock();
        let id = self.inner.sc.id;
        config.sessions.retain(|s| s.id != id);
        // Nexus loss: the session's SPC-2 reservations end.
        for t in self.inner.sc.state.lock().luns.iter() {
            t.dev.res.lock().nexus_loss(id);
        }
        drop(config);
        // No report after this: the sink may belong to a module going away.
        drop(self.inner.sc.aen.lock().take());
        pr_info!("session {} closed\n", id);
    }
}

/// A command on its way through the state machine.
struct Cmd<T: TargetDriver> {
    sess: Arc<SessionInner<T>>,
    ctl: Arc<TaskCtl>,
    new: Option<NewCmd<T>>,
    /// The I_T_L nexus whose sequencer holds the command (from its
    /// admission until it is dropped).
    itl: Option<Arc<TgtDev>>,
    /// Refused at admission (TASK SET FULL, ...): the response to send.
    refused: Option<(Status, Option<Sense>)>,
    /// Bytes reserved against `scst_max_cmd_mem`.
    mem: u64,
}

impl<T: TargetDriver> Drop for Cmd<T> {
    fn drop(&mut self) {
        // After the response went out (or the handle was dropped unanswered):
        // task management waiting for this task may go on, and if the
        // command never ran to its end, newer ones it held back may run.
        self.release_order();
        self.sess.core.mem.release(self.mem);
        self.sess.sc.remove_task(&self.ctl);
    }
}

/// Completes `tag` in `t`'s sequencer and resubmits the commands that may
/// run now, one at a time so that nothing is allocated or dropped under
/// the lock (a dropped command completes itself, which takes the lock).
fn release_ordered(core: &Core, t: &TgtDev, tag: u64) {
    let mut first = true;
    loop {
        let w = {
            let mut o = t.order.lock();
            let o = &mut *o;
            let next = if first {
                first = false;
                o.seq.complete(tag).and_then(|mut r| r.next())
            } else {
                o.seq.release().next()
            };
            next.and_then(|n| o.parked.iter().position(|(p, _)| *p == n))
                .and_then(|i| o.parked.remove(i).ok())
                .map(|(_, w)| w)
        };
        match w {
            Some(w) => {
                if core.pool.submit(w).is_err() {
                    pr_warn!("out of memory resubmitting an ordered command\n");
                }
            }
            None => break,
        }
    }
}

/// What ordering lets a new command do.
enum Admit<T: TargetDriver> {
    /// Run it now.
    Run(KBox<Cmd<T>>),
    /// It is parked: a release resubmits it.
    Parked,
    /// Refused: answer with this status (and sense).
    Refuse(KBox<Cmd<T>>, Status, Option<Sense>),
}

/// Hands a command back to its driver without data: refused before it
/// executed (`status`, `sense`), or aborted by task management
/// (TASK ABORTED, `aborted`).
fn xmit_without_data<T: TargetDriver>(
    driver: &T,
    n: NewCmd<T>,
    status: Status,
    sense: Option<Sense>,
    aborted: Option<AbortNotice>,
) {
    let mut sense_buf = [0u8; crate::proto::sense::BUFFER_SIZE];
    let sense_len = sense.map_or(0, |s| s.encode(Format::Fixed, false, &mut sense_buf));
    driver.xmit_response(
        n.drv,
        Response {
            status: status as u8,
            sense: &sense_buf[..sense_len.min(sense_buf.len())],
            data: &[],
            resid: n.expected_len,
            aborted,
            transfer_len: 0,
        },
    );
}

/// Hands an aborted command back to its driver.
fn xmit_aborted<T: TargetDriver>(driver: &T, n: NewCmd<T>, notice: AbortNotice) {
    xmit_without_data(driver, n, Status::TaskAborted, None, Some(notice));
}

impl<T: TargetDriver> Cmd<T> {
    /// Answers a command refused at admission.
    fn refuse(mut self: KBox<Self>) {
        if let (Some(n), Some((status, sense))) = (self.new.take(), self.refused.take()) {
            xmit_without_data(&*self.sess.driver, n, status, sense, None);
        }
    }

    /// Takes the command out of its sequencer (once) and resubmits what
    /// that releases.
    fn release_order(&mut self) {
        if let Some(t) = self.itl.take() {
            release_ordered(&self.sess.core, &t, self.ctl.tag);
        }
    }

    /// Enters the command into its I_T_L nexus's sequencer (SAM-5 8.6:
    /// SIMPLE after older ORDERED and HEAD OF QUEUE commands, ORDERED
    /// after everything older, HEAD OF QUEUE at once; INQUIRY, REPORT
    /// LUNS and READ CAPACITY are implicitly HEAD OF QUEUE). A command
    /// that must wait is parked, in the same critical section as the
    /// decision, so no release can be missed.
    fn admit(mut self: KBox<Self>) -> Admit<T> {
        let Some(n) = self.new.as_ref() else {
            return Admit::Run(self);
        };
        let Some(t) = self.sess.sc.lookup(n.lun) else {
            // No device: nothing to order against.
            return Admit::Run(self);
        };
        let cdb = &n.cdb[..n.cdb_len.min(n.cdb.len())];
        let attr = order::effective_attr(n.attr, cdb, t.dev.dev_type);
        let alg = t
            .dev
            .ops()
            .map_or(QueueAlg::Unrestricted, |o| o.queue_alg());
        let mut o = t.order.lock();
        // Room to park it, so that parking cannot fail under the lock.
        if o.parked.reserve(1, GFP_KERNEL).is_err() {
            return Admit::Refuse(self, Status::Busy, None);
        }
        o.seq.set_queue_alg(alg);
        match o.seq.submit(self.ctl.tag, attr) {
            Ok(Dispatch::Now) => {
                drop(o);
                self.itl = Some(t);
                Admit::Run(self)
            }
            Ok(Dispatch::Wait) => {
                self.itl = Some(t.clone());
                let tag = self.ctl.tag;
                let w: KBox<dyn Work> = self;
                // Capacity was reserved: this cannot fail.
                let _ = o.parked.push((tag, w), GFP_KERNEL);
                Admit::Parked
            }
            Err(r) => Admit::Refuse(self, r.status(), r.sense()),
        }
    }
}

/// The outcome of the local stages and execution.
struct Outcome {
    status: Status,
    sense: Option<Sense>,
    /// Bytes of `buf` that are data-in.
    len: usize,
}

impl Outcome {
    fn good(len: usize) -> Self {
        Self {
            status: Status::Good,
            sense: None,
            len,
        }
    }

    fn status(status: Status) -> Self {
        Self {
            status,
            sense: None,
            len: 0,
        }
    }

    fn check(s: Sense) -> Self {
        Self {
            status: Status::CheckCondition,
            sense: Some(s),
            len: 0,
        }
    }
}

impl<T: TargetDriver> Work for Cmd<T> {
    fn run(self: KBox<Self>) {
        if self.new.is_none() {
            return;
        }
        if self.refused.is_some() {
            return self.refuse();
        }
        // While a configuration change is in progress, the command is set
        // aside (and runs again on resume) before it counts as started.
        let activity = self.sess.core.activity.clone();
        let Some((mut this, active)) = activity.enter(self) else {
            return;
        };
        let Some(n) = this.new.take() else {
            return;
        };
        if let Some(notice) = this.ctl.start() {
            // Aborted while it waited: it never executes.
            this.release_order();
            return xmit_aborted(&*this.sess.driver, n, notice);
        }
        let cdb = &n.cdb[..n.cdb_len.min(n.cdb.len())];
        let mut buf = KVVec::new();
        // The data-out length the CDB describes, once decoded.
        let mut spdtl = None;
        let outcome = execute(
            &this.sess.core,
            &this.sess.sc,
            n.lun,
            cdb,
            n.expected_len,
            n.data_out.as_deref(),
            &mut buf,
            &mut spdtl,
            AbortFlag::new(&this.ctl),
        );
        // Executed: a configuration change may go on.
        drop(active);
        if let Some(notice) = this.ctl.finish() {
            // Aborted while it executed: the I/O is done, its result is
            // not reported.
            this.release_order();
            return xmit_aborted(&*this.sess.driver, n, notice);
        }
        if outcome.status == Status::CheckCondition {
            tm::qerr(&this.sess.core, &this.sess.sc, n.lun, this.ctl.tag);
        }
        // Done executing: newer commands may run now. This happens before
        // the response goes out, because the initiator may reuse the tag
        // as soon as it has the response.
        this.release_order();
        let mut sense_buf = [0u8; crate::proto::sense::BUFFER_SIZE];
        let sense_len = match &outcome.sense {
            Some(s) => s.encode(Format::Fixed, false, &mut sense_buf),
            None => 0,
        };
        let produced = outcome.len.min(buf.len());
        let len = produced.min(n.expected_len as usize);
        // Writes transfer everything the initiator sent; reads report what
        // they did not fill.
        let resid = if n.data_out.is_some() {
            0
        } else {
            n.expected_len.saturating_sub(len as u32)
        };
        this.sess.driver.xmit_response(
            n.drv,
            Response {
                status: outcome.status as u8,
                sense: &sense_buf[..sense_len.min(sense_buf.len())],
                data: &buf[..len],
                resid,
                aborted: None,
                transfer_len: spdtl.unwrap_or(u32::try_from(produced).unwrap_or(u32::MAX)),
            },
        );
        // The driver has sent or copied the data: both buffers may serve
        // other commands now.
        let bufs = this.sess.core.bufs.data();
        bufs.put(buf);
        if let Some(d) = n.data_out {
            bufs.put(d);
        }
    }
}

/// Allocates a zeroed data-in buffer of `len` bytes.
fn data_buf(core: &Core, buf: &mut KVVec<u8>, len: usize) -> core::result::Result<(), Sense> {
    *buf = core
        .bufs
        .data()
        .get(len)
        .map_err(|_| Sense::insufficient_resources())?;
    Ok(())
}

/// The local stages and execution of one command.
#[expect(clippy::too_many_arguments)]
fn execute(
    core: &Core,
    sc: &SessionCore,
    lun: u64,
    cdb: &[u8],
    expected: u32,
    data_out: Option<&[u8]>,
    buf: &mut KVVec<u8>,
    spdtl: &mut Option<u32>,
    abort: AbortFlag<'_>,
) -> Outcome {
    match execute_inner(core, sc, lun, cdb, expected, data_out, buf, spdtl, abort) {
        Ok(o) => o,
        Err(s) => Outcome::check(s),
    }
}

#[expect(clippy::too_many_arguments)]
fn execute_inner(
    core: &Core,
    sc: &SessionCore,
    lun: u64,
    cdb: &[u8],
    expected: u32,
    data_out: Option<&[u8]>,
    buf: &mut KVVec<u8>,
    spdtl: &mut Option<u32>,
    abort: AbortFlag<'_>,
) -> core::result::Result<Outcome, Sense> {
    let opcode = cdb.first().copied().unwrap_or(0);
    let alloc = (expected as usize).min(MAX_XFER);
    // REPORT LUNS is answered by the core for any LUN.
    if opcode == lun::REPORT_LUNS {
        data_buf(core, buf, alloc)?;
        let luns: KVec<u64> = {
            let st = sc.state.lock();
            let mut v = KVec::with_capacity(st.luns.len(), GFP_KERNEL)
                .map_err(|_| Sense::insufficient_resources())?;
            for t in st.luns.iter() {
                v.push(t.lun, GFP_KERNEL)
                    .map_err(|_| Sense::insufficient_resources())?;
            }
            v
        };
        if let Some(t) = sc.lookup(lun) {
            let _ = t.ua.lock().on_command(opcode, UaIntlck::Clear);
        }
        let opts = lun::ReportLunsOptions {
            wlun: false,
            lun0_if_empty: true,
        };
        let d = lun::report_luns(
            cdb,
            luns.iter().filter_map(|&l| u16::try_from(l).ok()),
            opts,
            buf,
        )?;
        return Ok(Outcome::good(d.len));
    }
    let Some((t, _inflight)) = sc.lookup_enter(lun) else {
        return match opcode {
            spc::INQUIRY => {
                data_buf(core, buf, alloc)?;
                // LUN 0 is always "connectable" (SCST's dummy LUN 0), so that
                // initiators go on to REPORT LUNS.
                let q = if lun == 0 {
                    spc::Qualifier::NotConnected
                } else {
                    spc::Qualifier::NotSupported
                };
                let d = spc::inquiry_no_lu(cdb, q, buf)?;
                Ok(Outcome::good(d.len))
            }
            spc::REQUEST_SENSE => {
                data_buf(core, buf, alloc)?;
                let d = spc::request_sense(cdb, Some(&Sense::lun_not_supported()), buf);
                Ok(Outcome::good(d.len))
            }
            _ => Err(Sense::lun_not_supported()),
        };
    };
    let dev = &t.dev;
    // Declared after the in-flight guard, so dropped before it.
    let ops = dev.ops().ok_or_else(Sense::lun_not_supported)?;
    let decoded = cdb::decode(cdb, dev.dev_type, ops.block_size())?;
    // Reservations are checked before unit attentions, as SCST does.
    if dev.res.lock().check(sc.id, &sc.nexus, cdb) == Access::Conflict {
        return Ok(Outcome::status(Status::ReservationConflict));
    }
    // Unit attentions (SAM-5 5.14, SPC-4 5.14).
    match t.ua.lock().on_command(opcode, UaIntlck::Clear) {
        UaAction::Proceed => {}
        UaAction::CheckCondition(r) => return Err(r.sense()),
        UaAction::SenseData(r) => {
            data_buf(core, buf, alloc)?;
            let d = spc::request_sense(cdb, Some(&r.sense()), buf);
            return Ok(Outcome::good(d.len));
        }
    }
    if opcode == spc::REQUEST_SENSE {
        data_buf(core, buf, alloc)?;
        let d = spc::request_sense(cdb, None, buf);
        return Ok(Outcome::good(d.len));
    }
    // The device's own CDB checks (SCST's dev_parse: LBA range, fields).
    ops.parse(cdb)?;
    // Write protection comes after the CDB checks but before any check of
    // the data (a WRITE SAME to a read-only LU is DATA PROTECT, not a
    // parameter error). A WRITE, WRITE AND VERIFY or ORWRITE(16) of no
    // blocks changes nothing and is not refused.
    // WRITE(6) is not among them: its length 0 means 256 blocks.
    let plain_write = matches!(opcode, 0x2a | 0xaa | 0x8a | 0x2e | 0xae | 0x8e);
    let no_blocks = (plain_write || opcode == 0x8b) && decoded.data_len == 0;
    if (t.read_only || ops.write_protected())
        && decoded.flags.contains(cdb::OpFlags::WRITE_MEDIUM)
        && !no_blocks
    {
        return Err(Sense::write_protected());
    }
    let data_len =
        usize::try_from(decoded.data_len).map_err(|_| Sense::invalid_field_in_cdb(0, None))?;
    if data_len > MAX_XFER {
        return Err(Sense::invalid_field_in_cdb(0, None));
    }
    if opcode == 0x89 && data_out.map_or(0, |d| d.len()) != data_len {
        // COMPARE AND WRITE needs exactly its verify and write data: a
        // transport length that differs from the CDB's (also for a CDB of
        // no blocks) is refused before anything is compared or written.
        return Err(Sense::invalid_field_in_cdb(13, None));
    }
    let out: &[u8] = match decoded.direction {
        DataDirection::Write | DataDirection::Bidi => {
            // data_len <= MAX_XFER here, so it fits.
            *spdtl = Some(u32::try_from(data_len).unwrap_or(u32::MAX));
            let d = data_out.unwrap_or(&[]);
            if d.len() >= data_len {
                &d[..data_len]
            } else if plain_write || opcode == 0x0a {
                // A WRITE or WRITE AND VERIFY with less data than its CDB
                // (an iSCSI expected length below the transfer length):
                // the data that came is written and nothing beyond it, and
                // the transport reports the overflow (FCP-4 9.4.2 a; what
                // libiscsi's residual tests expect).
                d
            } else if decoded.flags.contains(cdb::OpFlags::WRITE_MEDIUM) {
                // Other medium writes (WRITE SAME, COMPARE AND WRITE, ...)
                // need all their data: refused before anything is written.
                return Err(Sense::invalid_field_in_iu());
            } else {
                // A parameter list shorter than the CDB describes.
                return Err(Sense::param_list_length_error());
            }
        }
        _ => &[],
    };
    let in_len = match decoded.direction {
        DataDirection::Read | DataDirection::Bidi => data_len,
        _ => 0,
    };
    data_buf(core, buf, in_len)?;
    // The copy manager (EXTENDED COPY between this session's LUs).
    if dev.dev_type == crate::proto::types::PeripheralType::Disk {
        match opcode {
            crate::proto::xcopy::EXTENDED_COPY => {
                crate::xcopy::extended_copy(sc, out, abort)?;
                return Ok(Outcome::good(0));
            }
            crate::proto::xcopy::RECEIVE_COPY_RESULTS => {
                let n = crate::xcopy::receive_copy_results(sc, cdb, buf)?;
                return Ok(Outcome::good(n));
            }
            _ => {}
        }
    }
    if reservation::is_reservation_cmd(opcode) {
        let mut owed = KVec::new();
        let r = dev
            .res
            .lock()
            .execute(sc.id, &sc.nexus, cdb, out, buf, &mut owed)?;
        deliver_uas(core, dev, &owed);
        return Ok(match r {
            ResOutcome::Done(status, len) => Outcome {
                status,
                sense: None,
                len,
            },
            ResOutcome::Proceed => Outcome::good(0),
        });
    }
    let mut ec = ExecCmd {
        cdb,
        decoded: &decoded,
        data_out: out,
        data_in: buf,
        read_only: t.read_only,
        nexus: sc.id,
        abort,
        ua_for_others: None,
        status: Status::Good,
    };
    let len = ops.exec(&mut ec)?;
    if let Some(asc) = ec.ua_for_others {
        core.config.lock().raise_ua(dev, asc, |s| s.id != sc.id);
    }
    Ok(Outcome {
        status: ec.status,
        sense: None,
        len,
    })
}

/// Queues the UNIT ATTENTIONs a persistent reservation action owes: to the
/// I_T_L nexus of `dev` in every session that matches a pattern.
fn deliver_uas(core: &Core, dev: &Arc<Device>, owed: &[reservation::OwedUa]) {
    if owed.is_empty() {
        return;
    }
    let config = core.config.lock();
    for o in owed {
        config.raise_ua(dev, o.asc, |s| o.pattern.matches(&s.nexus));
    }
}
