// SPDX-License-Identifier: GPL-2.0

//! iscsi_scst: the iSCSI target driver of scst-rs (RFC 7143).
//!
//! Unlike SCST's iSCSI target, which logged initiators in from a user-space
//! daemon, the whole protocol runs in the kernel: portals accept TCP
//! connections, a thread per connection does the login (security and
//! operational negotiation, discovery with SendTargets) and then receives
//! PDUs of the full feature phase; responses are sent by the core's command
//! threads as commands finish. The protocol logic is the pure `proto`
//! library (host-tested and fuzzed); this crate wires it to sockets, threads
//! and the SCST core.
//!
//! Every iSCSI target is an SCST target of the same name, so the core's
//! security groups (`Default_<IQN>`, named groups with initiator names)
//! decide which LUNs a session sees. Configuration: `/proc/scsi_tgt/iscsi/`.

#![forbid(unsafe_code)]

#[path = "proto/lib.rs"]
pub mod proto;

mod config;
mod conn;
mod login;
mod portal;

use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
};
use scst_core::{session::target_proc_dir, TargetDriver};
use scst_sys::procfs::{self, Dir, File};

module! {
    type: IscsiScst,
    name: "iscsi_scst",
    authors: ["scst-rs developers"],
    description: "scst-rs iSCSI target driver",
    license: "GPL",
}

/// The SCST target driver: responses go back over the command's connection.
pub(crate) struct Driver;

impl TargetDriver for Driver {
    const NAME: &'static CStr = c"iscsi";
    type Cmd = conn::CmdHandle;

    fn xmit_response(&self, cmd: conn::CmdHandle, rsp: scst_core::Response<'_>) {
        conn::xmit_response(cmd, rsp);
    }

    type Mgmt = conn::TmfHandle;

    fn task_mgmt_fn_done(&self, mgmt: conn::TmfHandle, result: scst_core::TmResult) {
        conn::task_mgmt_fn_done(mgmt, result);
    }
}

/// A connection and its receiving thread.
struct ConnSlot {
    conn: Arc<conn::Conn>,
    // Dropped (stopped) after the connection is shut down.
    _thread: Option<scst_sys::kthread::KThread>,
}

/// The driver's state.
#[pin_data]
pub(crate) struct State {
    pub(crate) driver: Arc<Driver>,
    #[pin]
    pub(crate) config: Mutex<config::Config>,
    #[pin]
    portals: Mutex<KVec<portal::Portal>>,
    #[pin]
    conns: Mutex<KVec<ConnSlot>>,
    next_id: Atomic<u32>,
}

impl State {
    /// A new connection or session number (never 0: TSIH 0 means "new").
    pub(crate) fn next_id(&self) -> u32 {
        loop {
            let id = self.next_id.fetch_add(1, Relaxed);
            if id & 0xffff != 0 {
                return id;
            }
        }
    }

    /// Registers a started connection.
    fn add_conn(&self, conn: Arc<conn::Conn>, thread: scst_sys::kthread::KThread) -> Result {
        self.conns.lock().push(
            ConnSlot {
                conn,
                _thread: Some(thread),
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    /// Forgets connections whose threads have finished.
    pub(crate) fn reap(&self) {
        let mut done = KVec::new();
        {
            let mut conns = self.conns.lock();
            let mut i = 0;
            while i < conns.len() {
                if conns[i].conn.finished() {
                    if let Ok(slot) = conns.remove(i) {
                        // Stopping an exited thread only collects it; done
                        // outside the lock all the same.
                        let _ = done.push(slot, GFP_ATOMIC);
                    }
                } else {
                    i += 1;
                }
            }
        }
        drop(done);
    }

    /// Calls `f` on every live connection.
    pub(crate) fn for_each_conn(&self, mut f: impl FnMut(&Arc<conn::Conn>)) {
        for c in self.conns.lock().iter() {
            if !c.conn.finished() {
                f(&c.conn);
            }
        }
    }

    /// Calls `f` with the address of every portal.
    pub(crate) fn for_each_portal(&self, mut f: impl FnMut(proto::cfg::Portal)) {
        for p in self.portals.lock().iter() {
            f(p.addr);
        }
    }

    fn add_portal(self: &Arc<Self>, addr: proto::cfg::Portal) -> Result {
        let mut portals = self.portals.lock();
        if portals.iter().any(|p| p.addr == addr) {
            pr_warn!("iscsi: portal {} exists\n", portal::sockaddr(addr));
            return Err(EEXIST);
        }
        let p = portal::Portal::new(self, addr).inspect_err(|e| {
            pr_warn!(
                "iscsi: cannot listen on {}: {:?}\n",
                portal::sockaddr(addr),
                e
            );
        })?;
        portals.push(p, GFP_KERNEL)?;
        Ok(())
    }

    fn del_portal(&self, addr: proto::cfg::Portal) -> Result {
        let mut portals = self.portals.lock();
        let i = portals.iter().position(|p| p.addr == addr).ok_or_else(|| {
            pr_warn!("iscsi: no portal {}\n", portal::sockaddr(addr));
            ENOENT
        })?;
        let p = portals.remove(i).map_err(|_| ENOENT)?;
        drop(portals);
        drop(p);
        Ok(())
    }

    /// Deletes a target unless a session uses it.
    fn del_target(&self, name: &str) -> Result {
        let mut busy = false;
        self.for_each_conn(|c| busy |= c.target_is(name.as_bytes()));
        if busy {
            pr_warn!("iscsi: target {} has sessions\n", name);
            return Err(EBUSY);
        }
        self.config.lock().del_target(name)
    }
}

/// `/proc/scsi_tgt/iscsi/iscsi`: the configuration and its commands.
struct ConfigFile(Arc<State>);

impl procfs::Handler for ConfigFile {
    fn show(&self, m: &SeqFile) -> Result {
        for p in self.0.portals.lock().iter() {
            seq_print!(m, "Portal {}\n", portal::sockaddr(p.addr));
        }
        self.0.config.lock().show(m);
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        use proto::cfg::Cmd;
        let cmd = proto::cfg::parse(line).map_err(|e| {
            pr_warn!(
                "iscsi/iscsi: {} at byte {} of \"{}\"\n",
                e.what,
                e.offset,
                core::str::from_utf8(line).unwrap_or("<not UTF-8>")
            );
            Error::from_errno(-e.errno())
        })?;
        match cmd {
            Cmd::AddTarget(n) => self.0.config.lock().add_target(n),
            Cmd::DelTarget(n) => self.0.del_target(n),
            Cmd::AddPortal(p) => self.0.add_portal(p),
            Cmd::DelPortal(p) => self.0.del_portal(p),
            Cmd::Set(scope, key) => self.0.config.lock().set(scope, key),
            Cmd::AddUser {
                scope,
                dir,
                name,
                secret,
            } => self.0.config.lock().add_user(scope, dir, name, secret),
            Cmd::DelUser { scope, dir, name } => self.0.config.lock().del_user(scope, dir, name),
            Cmd::Allow(t, p) => self.0.config.lock().allow(t, p),
            Cmd::Disallow(t, p) => self.0.config.lock().disallow(t, p),
        }
    }
}

/// `/proc/scsi_tgt/iscsi/session`: sessions, connections and what they
/// negotiated.
struct SessionFile(Arc<State>);

impl procfs::Handler for SessionFile {
    fn show(&self, m: &SeqFile) -> Result {
        self.0.for_each_conn(|c| c.show(m));
        Ok(())
    }
}

/// `/proc/scsi_tgt/iscsi/help`.
struct HelpFile;

impl procfs::Handler for HelpFile {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{}", proto::cfg::HELP);
        Ok(())
    }
}

struct IscsiScst {
    files: Option<(File<ConfigFile>, File<SessionFile>, File<HelpFile>)>,
    _dir: Option<Dir>,
    state: Arc<State>,
}

impl kernel::Module for IscsiScst {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let state = Arc::pin_init(
            try_pin_init!(State {
                driver: Arc::new(Driver, GFP_KERNEL)?,
                config <- kernel::new_mutex!(config::Config::default(), "iscsi::config"),
                portals <- kernel::new_mutex!(KVec::new(), "iscsi::portals"),
                conns <- kernel::new_mutex!(KVec::new(), "iscsi::conns"),
                next_id: Atomic::new(1),
            }),
            GFP_KERNEL,
        )?;
        let dir = target_proc_dir(c"iscsi")?;
        let config = dir.file(
            c"iscsi",
            0o644,
            Arc::new(ConfigFile(state.clone()), GFP_KERNEL)?,
        )?;
        let session = dir.file(
            c"session",
            0o444,
            Arc::new(SessionFile(state.clone()), GFP_KERNEL)?,
        )?;
        let help = dir.file(c"help", 0o444, Arc::new(HelpFile, GFP_KERNEL)?)?;
        Ok(Self {
            files: Some((config, session, help)),
            _dir: Some(dir),
            state,
        })
    }
}

impl Drop for IscsiScst {
    fn drop(&mut self) {
        // No more configuration, then no more connections, then close the
        // existing ones: shut every socket down first so that all threads
        // wake at once, then stop (join) them.
        drop(self.files.take());
        let portals = core::mem::take(&mut *self.state.portals.lock());
        drop(portals);
        let conns = core::mem::take(&mut *self.state.conns.lock());
        for c in conns.iter() {
            c.conn.close();
        }
        drop(conns);
    }
}
