// SPDX-License-Identifier: GPL-2.0

//! scst_local: a target driver whose initiators are SCSI hosts on the same
//! machine. Every session is a Linux SCSI host (`hostN`); the LUNs the
//! session's group maps appear as `/dev/sdX` and `/dev/sgX`.
//!
//! Sessions are added and removed through
//! `/proc/scsi_tgt/scst_local/scst_local` (`add_session NAME`,
//! `del_session NAME`); one session, `scst_local_host`, is opened at load
//! unless `add_default_session=0`.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};
use scst_core::{
    parse_error,
    proto::{
        mgmt,
        tm::AbortNotice,
        types::{
            TaskAttr,
            TmFunction, //
        },
    },
    session::target_proc_dir,
    NewCmd,
    Response,
    Session,
    TargetDriver, //
};
use scst_sys::{
    procfs::{
        self,
        Dir,
        File, //
    },
    scsi_host::{
        CmdInfo,
        Completion,
        Host,
        HostOps,
        HostParams,
        RootDevice,
        ScsiCmd, //
    },
};

module! {
    type: ScstLocal,
    name: "scst_local",
    authors: ["scst-rs developers"],
    description: "scst-rs local target driver: exported LUNs as local SCSI devices",
    license: "GPL",
    params: {
        add_default_session: bool {
            default: true,
            description: "Open the session scst_local_host at load",
        },
    },
}

/// The target name of this driver's only target.
const TARGET_NAME: &str = "scst_local_tgt";

/// The default session's initiator name.
const DEFAULT_SESSION: &str = "scst_local_host";

/// The target driver: responses go back to the SCSI midlayer.
struct Local;

impl TargetDriver for Local {
    const NAME: &'static CStr = c"scst_local";
    type Cmd = ScsiCmd;
    // The midlayer's error handler waits for its functions (task_mgmt).
    type Mgmt = core::convert::Infallible;

    fn xmit_response(&self, cmd: ScsiCmd, rsp: Response<'_>) {
        if rsp.aborted == Some(AbortNotice::Silent) {
            // Aborted without status (by this host's error handler, which
            // owns the command now, or for another initiator with TAS=0):
            // a retryable host error, so the midlayer does not wait for a
            // time-out.
            let _ = cmd.fail();
            return;
        }
        // `false`: the midlayer's error handler took the command back.
        let _ = cmd.complete(Completion {
            status: rsp.status,
            sense: rsp.sense,
            data_in: rsp.data,
            resid: rsp.resid,
        });
    }

    fn task_mgmt_fn_done(&self, mgmt: Self::Mgmt, _: scst_core::TmResult) {
        match mgmt {}
    }
}

/// Linux LUN numbers (`scsilun_to_int()`) to SAM LUNs: peripheral LUNs are
/// equal; flat-space LUNs (`01b` in the top bits of the first byte) come as
/// `0x4000 | lun`.
fn sam_lun(linux: u64) -> Option<u64> {
    match linux {
        0..=0xff => Some(linux),
        0x4000..=0x7fff => Some(linux & 0x3fff),
        _ => None,
    }
}

/// The SCSI host side of one session.
struct LocalHost {
    session: Session<Local>,
}

impl HostOps for LocalHost {
    fn queue(&self, info: CmdInfo, cmd: ScsiCmd) {
        let Some(lun) = sam_lun(info.lun) else {
            // Not a LUN we report: the command fails at the host level.
            let _ = cmd.fail();
            return;
        };
        self.session.rx_cmd(NewCmd {
            lun,
            cdb: info.cdb,
            cdb_len: info.cdb_len,
            expected_len: info.data_len,
            data_out: info.data_out,
            tag: u64::from(info.tag),
            // The midlayer sends every command SIMPLE.
            attr: TaskAttr::Simple,
            drv: cmd,
        });
    }

    fn abort(&self, tag: u32, lun: u64) {
        // ABORT TASK in the core; it returns once the command is done. The
        // midlayer revokes the handle after this returns, so a completion
        // that raced with it is harmless.
        pr_warn!("abort of command {:#x} to LUN {} (timed out)\n", tag, lun);
        if let Some(sam) = sam_lun(lun) {
            let r = self
                .session
                .task_mgmt(TmFunction::AbortTask, sam, u64::from(tag));
            pr_info!("abort of command {:#x}: {:?}\n", tag, r.response);
        }
    }

    fn reset(&self, lun: Option<u64>) {
        let sam = match lun {
            Some(l) => match sam_lun(l) {
                Some(s) => Some(s),
                None => return,
            },
            None => None,
        };
        if self.session.reset(sam).is_err() {
            pr_warn!("reset of an unknown LUN\n");
        }
    }

    fn alloc_data(&self, len: usize) -> Result<KVVec<u8>> {
        scst_core::alloc_buf(len)
    }
}

/// An open session: its SCSI host (dropped first) and its initiator name.
struct LocalSession {
    name: CString,
    host: Host<LocalHost>,
}

/// The driver's state.
#[pin_data]
struct State {
    module: &'static ThisModule,
    root: RootDevice,
    driver: Arc<Local>,
    #[pin]
    sessions: Mutex<KVec<LocalSession>>,
}

impl State {
    fn add_session(&self, name: &str) -> Result {
        let mut sessions = self.sessions.lock();
        if sessions
            .iter()
            .any(|s| s.name.to_bytes() == name.as_bytes())
        {
            pr_warn!("session {} exists\n", name);
            return Err(EINVAL);
        }
        let session = Session::new(self.driver.clone(), TARGET_NAME, name)?;
        let ops = Arc::new(LocalHost { session }, GFP_KERNEL)?;
        let params = HostParams {
            can_queue: 64,
            cmd_per_lun: 32,
            // 8 MiB, the core's largest transfer.
            max_sectors: 16384,
            max_lun: 0x8000,
        };
        let host = Host::new(self.module, c"scst_local", &self.root, params, ops)?;
        pr_info!("session {} is SCSI host {}\n", name, host.host_no());
        sessions.push(
            LocalSession {
                name: CString::try_from_fmt(fmt!("{name}"))?,
                host,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    fn del_session(&self, name: &str) -> Result {
        let mut sessions = self.sessions.lock();
        let i = sessions
            .iter()
            .position(|s| s.name.to_bytes() == name.as_bytes())
            .ok_or_else(|| {
                pr_warn!("no session {}\n", name);
                EINVAL
            })?;
        let s = sessions.remove(i).map_err(|_| EINVAL)?;
        drop(sessions);
        // Removes the host (waiting for its commands), then the session.
        drop(s);
        Ok(())
    }
}

/// `/proc/scsi_tgt/scst_local/scst_local`.
struct ControlFile(Arc<State>);

impl procfs::Handler for ControlFile {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{:<30}{}\n", "Session (initiator name)", "SCSI host");
        for s in self.0.sessions.lock().iter() {
            seq_print!(m, "{:<30}{}\n", s.name.to_str()?, s.host.host_no());
        }
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        match mgmt::parse_scst_local(line) {
            Ok(mgmt::ScstLocalCmd::AddSession(n)) => self.0.add_session(n),
            Ok(mgmt::ScstLocalCmd::DelSession(n)) => self.0.del_session(n),
            Err(e) => Err(parse_error("scst_local/scst_local", line, e)),
        }
    }
}

struct ScstLocal {
    file: Option<File<ControlFile>>,
    _dir: Dir,
    state: Arc<State>,
}

impl kernel::Module for ScstLocal {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let state = Arc::pin_init(
            try_pin_init!(State {
                module,
                root: RootDevice::new(c"scst_local", module)?,
                driver: Arc::new(Local, GFP_KERNEL)?,
                sessions <- kernel::new_mutex!(KVec::new(), "scst_local::sessions"),
            }),
            GFP_KERNEL,
        )?;
        let dir = target_proc_dir(c"scst_local")?;
        let file = dir.file(
            c"scst_local",
            0o644,
            Arc::new(ControlFile(state.clone()), GFP_KERNEL)?,
        )?;
        if module_parameters::add_default_session.value() {
            state.add_session(DEFAULT_SESSION)?;
        }
        Ok(Self {
            file: Some(file),
            _dir: dir,
            state,
        })
    }
}

impl Drop for ScstLocal {
    fn drop(&mut self) {
        // The control file first (waits for running writes), then every
        // session, each removing its host before closing its session.
        drop(self.file.take());
        let sessions = core::mem::take(&mut *self.state.sessions.lock());
        drop(sessions);
    }
}
