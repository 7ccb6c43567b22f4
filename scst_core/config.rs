// SPDX-License-Identifier: GPL-2.0

//! The core's configuration: devices, security groups and their LUN maps.
//!
//! Everything here is protected by one mutex (`Core::config`, SCST's
//! `scst_mutex`). Procfs entries of groups are kept in the groups but are
//! always dropped *after* the mutex is released: removing a procfs entry
//! waits for its running callbacks, which may be waiting for the mutex.

use crate::{
    device::Device,
    proc::GroupDir,
    proto::{
        acl,
        mgmt::{
            DeviceRef,
            GroupDevicesCmd,
            GroupNamesCmd, //
        },
        sense::{
            asc,
            Asc, //
        },
    },
    session::{
        AenWork,
        SessionCore, //
    },
    Core,
};
use kernel::{
    prelude::*,
    sync::Arc, //
};

/// One LUN of a group's map.
pub(crate) struct LunEntry {
    pub(crate) lun: u64,
    pub(crate) dev: Arc<Device>,
    pub(crate) read_only: bool,
}

/// A security group (SCST's ACG): initiator names and a LUN map.
pub(crate) struct Group {
    /// Stable identity used by the group's procfs files.
    pub(crate) id: u64,
    pub(crate) name: KVec<u8>,
    /// Initiator names or patterns (see [`acl`]), in the order added.
    pub(crate) names: KVec<KVec<u8>>,
    /// The LUN map, in the order added.
    pub(crate) luns: KVec<LunEntry>,
    /// `/proc/scsi_tgt/groups/<name>/`; `None` once torn down.
    pub(crate) dir: Option<GroupDir>,
}

/// Why a configuration command was refused, for the kernel log.
pub(crate) type Refusal = (Error, &'static str);

/// The configuration state.
pub(crate) struct Config {
    pub(crate) devices: KVec<Arc<Device>>,
    /// Groups in creation order; `Default` is always first.
    pub(crate) groups: KVec<Group>,
    /// Open sessions, in the order opened.
    pub(crate) sessions: KVec<Arc<SessionCore>>,
    next_group_id: u64,
    next_session_id: u64,
}

/// Queues `asc` as an asynchronous event of `s` for the management thread;
/// if that fails, it becomes a UNIT ATTENTION at once.
fn report_aen(s: &Arc<SessionCore>, asc: Asc) {
    let queued = Core::get().is_ok_and(|core| {
        KBox::new(
            AenWork {
                sess: s.clone(),
                asc,
            },
            GFP_KERNEL,
        )
        .is_ok_and(|w| core.mgmt_pool.submit(w).is_ok())
    });
    if !queued {
        for t in s.state.lock().luns.iter() {
            t.ua.lock().push(asc);
        }
    }
}

fn copy(bytes: &[u8]) -> Result<KVec<u8>> {
    let mut v = KVec::with_capacity(bytes.len(), GFP_KERNEL)?;
    v.extend_from_slice(bytes, GFP_KERNEL)?;
    Ok(v)
}

impl Config {
    pub(crate) fn new() -> Self {
        Self {
            devices: KVec::new(),
            groups: KVec::new(),
            sessions: KVec::new(),
            next_group_id: 0,
            next_session_id: 1,
        }
    }

    /// A new I_T nexus identifier.
    pub(crate) fn next_session_id(&mut self) -> u64 {
        let id = self.next_session_id;
        self.next_session_id += 1;
        id
    }

    /// Rebuilds the LUN tables of the sessions in group `id` (all if `None`).
    /// Changes owed as asynchronous events go to the management thread,
    /// which reports them outside this lock.
    pub(crate) fn refresh_sessions(&self, id: Option<u64>) {
        for s in self.sessions.iter() {
            if id.is_none_or(|id| s.state.lock().group == id) {
                match s.refresh(self) {
                    Ok(false) => {}
                    Ok(true) => report_aen(s, asc::REPORTED_LUNS_DATA_CHANGED),
                    Err(e) => pr_warn!(
                        "session {}: cannot update its LUNs: error {}\n",
                        s.id,
                        e.to_errno()
                    ),
                }
            }
        }
    }

    /// Queues the UNIT ATTENTION `asc` on the I_T_L nexuses of `dev` in
    /// every session that `to` accepts.
    pub(crate) fn raise_ua(&self, dev: &Arc<Device>, asc: Asc, to: impl Fn(&SessionCore) -> bool) {
        for s in self.sessions.iter().filter(|s| to(s)) {
            s.raise_ua(dev, asc);
        }
    }

    /// Rebuilds every session's LUN table.
    pub(crate) fn refresh_all_sessions(&self) {
        self.refresh_sessions(None);
    }

    pub(crate) fn find_device(&self, name: &[u8]) -> Option<&Arc<Device>> {
        self.devices.iter().find(|d| d.name.to_bytes() == name)
    }

    pub(crate) fn add_device(&mut self, dev: Arc<Device>) -> Result {
        if self.find_device(dev.name.to_bytes()).is_some() {
            return Err(EEXIST);
        }
        self.devices.push(dev, GFP_KERNEL)?;
        Ok(())
    }

    /// Removes a device and every LUN that maps it.
    pub(crate) fn remove_device(&mut self, dev: &Arc<Device>) {
        for g in self.groups.iter_mut() {
            g.luns.retain(|l| !Arc::ptr_eq(&l.dev, dev));
        }
        self.devices.retain(|d| !Arc::ptr_eq(d, dev));
    }

    pub(crate) fn group_index(&self, name: &[u8]) -> Option<usize> {
        self.groups.iter().position(|g| g.name == name)
    }

    pub(crate) fn group_by_id(&mut self, id: u64) -> Option<&mut Group> {
        self.groups.iter_mut().find(|g| g.id == id)
    }

    /// Adds an empty group; the caller creates its procfs directory.
    pub(crate) fn add_group(
        &mut self,
        name: &[u8],
        mkdir: impl FnOnce(u64) -> Result<GroupDir>,
    ) -> core::result::Result<(), Refusal> {
        if self.group_index(name).is_some() {
            return Err((EINVAL, "group already exists"));
        }
        let id = self.next_group_id;
        let dir = mkdir(id).map_err(|e| (e, "cannot create the group's /proc directory"))?;
        let group = Group {
            id,
            name: copy(name).map_err(|e| (e, "out of memory"))?,
            names: KVec::new(),
            luns: KVec::new(),
            dir: Some(dir),
        };
        self.groups
            .push(group, GFP_KERNEL)
            .map_err(|_| (ENOMEM, "out of memory"))?;
        self.next_group_id += 1;
        Ok(())
    }

    /// Removes a group and returns it, so that the caller drops its procfs
    /// entries after releasing the configuration mutex.
    pub(crate) fn del_group(&mut self, name: &[u8]) -> core::result::Result<Group, Refusal> {
        if acl::is_default_group(name) {
            return Err((EINVAL, "the Default group cannot be deleted"));
        }
        let i = self.group_index(name).ok_or((EINVAL, "no such group"))?;
        let g = self
            .groups
            .remove(i)
            .map_err(|_| (EINVAL, "no such group"))?;
        // Sessions of a deleted group fall back to Default (always first).
        if let Some(default) = self.groups.first().map(|d| d.id) {
            for s in self.sessions.iter() {
                let mut st = s.state.lock();
                if st.group == g.id {
                    st.group = default;
                }
            }
            self.refresh_all_sessions();
        }
        Ok(g)
    }

    /// Takes every group's procfs directory, for teardown outside the lock.
    pub(crate) fn take_dirs(&mut self) -> KVec<GroupDir> {
        let mut dirs = KVec::new();
        for g in self.groups.iter_mut() {
            if let Some(d) = g.dir.take() {
                // On allocation failure the directory is dropped here, under
                // the lock; teardown happens after all callbacks are gone.
                let _ = dirs.push(d, GFP_KERNEL);
            }
        }
        dirs
    }

    /// Carries out a command written to `groups/<G>/devices`.
    pub(crate) fn group_devices(
        &mut self,
        group: u64,
        cmd: GroupDevicesCmd<'_>,
    ) -> core::result::Result<(), Refusal> {
        // Resolve the device first: the borrow of `self.devices` must end
        // before the group is borrowed mutably.
        let dev = match cmd {
            GroupDevicesCmd::Add { dev, .. }
            | GroupDevicesCmd::Del { dev, .. }
            | GroupDevicesCmd::Replace { dev, .. } => Some(self.resolve(dev)?),
            GroupDevicesCmd::Clear => None,
        };
        let g = self
            .group_by_id(group)
            .ok_or((ENOENT, "the group was deleted"))?;
        match (cmd, dev) {
            (GroupDevicesCmd::Add { lun, read_only, .. }, Some(dev)) => {
                if g.luns.iter().any(|l| l.lun == lun) {
                    return Err((EINVAL, "the LUN exists in the group"));
                }
                g.luns
                    .push(
                        LunEntry {
                            lun,
                            dev,
                            read_only,
                        },
                        GFP_KERNEL,
                    )
                    .map_err(|_| (ENOMEM, "out of memory"))?;
            }
            (GroupDevicesCmd::Replace { lun, read_only, .. }, Some(dev)) => {
                let entry = LunEntry {
                    lun,
                    dev,
                    read_only,
                };
                match g.luns.iter_mut().find(|l| l.lun == lun) {
                    Some(l) => *l = entry,
                    None => g
                        .luns
                        .push(entry, GFP_KERNEL)
                        .map_err(|_| (ENOMEM, "out of memory"))?,
                }
            }
            (GroupDevicesCmd::Del { .. }, Some(dev)) => {
                let i = g
                    .luns
                    .iter()
                    .position(|l| Arc::ptr_eq(&l.dev, &dev))
                    .ok_or((EINVAL, "the device is not in the group"))?;
                // `i` is in bounds: it was just found.
                let _ = g.luns.remove(i);
            }
            (GroupDevicesCmd::Clear, _) => g.luns.clear(),
            _ => return Err((EINVAL, "internal: no device")),
        }
        self.refresh_sessions(Some(group));
        Ok(())
    }

    fn resolve(&self, dev: DeviceRef<'_>) -> core::result::Result<Arc<Device>, Refusal> {
        match dev {
            DeviceRef::Virtual(name) => self
                .find_device(name.as_bytes())
                .cloned()
                .ok_or((EINVAL, "no such device")),
            // A pass-through device is named after its address.
            DeviceRef::Hctl(h) => {
                let name = kernel::str::CString::try_from_fmt(fmt!(
                    "{}:{}:{}:{}",
                    h.host,
                    h.channel,
                    h.id,
                    h.lun
                ))
                .map_err(|_| (ENOMEM, "out of memory"))?;
                self.find_device(name.to_bytes()).cloned().ok_or((
                    EINVAL,
                    "no such device (assign it to a pass-through handler first)",
                ))
            }
        }
    }

    /// Carries out a command written to `groups/<G>/names`.
    pub(crate) fn group_names(
        &mut self,
        group: u64,
        cmd: GroupNamesCmd<'_>,
    ) -> core::result::Result<(), Refusal> {
        if let GroupNamesCmd::Move { name, group: to } = cmd {
            let to = self
                .group_index(to.as_bytes())
                .ok_or((EINVAL, "no such destination group"))?;
            let from = self
                .groups
                .iter()
                .position(|g| g.id == group)
                .ok_or((ENOENT, "the group was deleted"))?;
            let i = self.groups[from]
                .names
                .iter()
                .position(|n| n.as_slice() == name.as_bytes())
                .ok_or((EINVAL, "no such name in the group"))?;
            let moved = self.groups[from]
                .names
                .remove(i)
                .map_err(|_| (EINVAL, "no such name in the group"))?;
            return self.groups[to]
                .names
                .push(moved, GFP_KERNEL)
                .map_err(|_| (ENOMEM, "out of memory"));
        }
        let g = self
            .group_by_id(group)
            .ok_or((ENOENT, "the group was deleted"))?;
        match cmd {
            GroupNamesCmd::Add(name) => {
                if g.names.iter().any(|n| n.as_slice() == name.as_bytes()) {
                    return Err((EINVAL, "the name exists in the group"));
                }
                let n = copy(name.as_bytes()).map_err(|_| (ENOMEM, "out of memory"))?;
                g.names
                    .push(n, GFP_KERNEL)
                    .map_err(|_| (ENOMEM, "out of memory"))?;
            }
            GroupNamesCmd::Del(name) => {
                let i = g
                    .names
                    .iter()
                    .position(|n| n.as_slice() == name.as_bytes())
                    .ok_or((EINVAL, "no such name in the group"))?;
                let _ = g.names.remove(i);
            }
            GroupNamesCmd::Clear => g.names.clear(),
            GroupNamesCmd::Move { .. } => {}
        }
        Ok(())
    }
}
