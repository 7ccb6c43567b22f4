// SPDX-License-Identifier: GPL-2.0

//! The `/proc/scsi_tgt` tree (the classic SCST interface).
//!
//! See `Documentation/proc-interface.md` for the files and their grammar. The
//! grammar itself is parsed by the pure [`crate::proto::mgmt`]; this module
//! only wires files to the configuration and formats tables.

use crate::{
    config::Refusal,
    handler,
    proto::mgmt,
    Core,
    VERSION, //
};
use kernel::{
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
};
use scst_sys::procfs::{
    self,
    Dir,
    File, //
};

/// Options compiled into this build, printed after the version like SCST does.
const BUILD_OPTIONS: &[(&str, bool)] = &[
    ("EXTRACHECKS", cfg!(CONFIG_RUST_OVERFLOW_CHECKS)),
    ("DEBUG", cfg!(CONFIG_RUST_DEBUG_ASSERTIONS)),
];

/// Logs why a write was refused and turns it into the write's error.
fn refuse(file: &str, line: &[u8], (err, why): Refusal) -> Error {
    let shown = core::str::from_utf8(line).unwrap_or("<not UTF-8>");
    pr_warn!("{}: {} (command \"{}\")\n", file, why, shown);
    err
}

/// Suspends command execution for a change written to `file`.
fn suspend(core: &Core, file: &str, line: &[u8]) -> Result<crate::Suspended> {
    core.activity.suspend().map_err(|e| {
        let why = if e == EINTR {
            "interrupted while waiting for executing commands"
        } else {
            "commands did not finish executing in time"
        };
        refuse(file, line, (e, why))
    })
}

/// Logs why a command written to `/proc/scsi_tgt/<file>` was not
/// understood and turns it into the write's error (`EINVAL`, or `EOVERFLOW`
/// for an over-long line). Handlers and target drivers use it for their
/// own files too, so every refusal is logged the same way.
pub fn parse_error(file: &str, line: &[u8], e: mgmt::Error) -> Error {
    let shown = core::str::from_utf8(line).unwrap_or("<not UTF-8>");
    pr_warn!(
        "{}: {} ({}) at byte {} of \"{}\"\n",
        file,
        e.kind.description(),
        e.kind.field().name(),
        e.offset,
        shown
    );
    Error::from_errno(-e.errno())
}

struct Version;

impl procfs::Handler for Version {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{}\n", VERSION);
        for (name, on) in BUILD_OPTIONS {
            if *on {
                seq_print!(m, "{}\n", name);
            }
        }
        Ok(())
    }
}

struct Help;

impl procfs::Handler for Help {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(m, "{}", mgmt::HELP);
        Ok(())
    }
}

/// `/proc/scsi_tgt/scsi_tgt`: the device table; `add_group`, `del_group`,
/// `rename_group`, `assign`.
struct ScsiTgt;

impl procfs::Handler for ScsiTgt {
    fn show(&self, m: &SeqFile) -> Result {
        let core = Core::get()?;
        seq_print!(
            m,
            "{:<60}{}\n",
            "Device (host:ch:id:lun or name)",
            "Device handler"
        );
        let config = core.config.lock();
        for d in config.devices.iter() {
            seq_print!(m, "{:<60}{}\n", d.name.to_str()?, d.handler.to_str()?);
        }
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        const FILE: &str = "scsi_tgt";
        let cmd = mgmt::parse_scsi_tgt(line).map_err(|e| parse_error(FILE, line, e))?;
        let core = Core::get()?;
        match cmd {
            mgmt::ScsiTgtCmd::AddGroup { name, .. } => {
                let mut config = core.config.lock();
                config
                    .add_group(name.as_bytes(), |id| core.dirs.group_dir(name, id))
                    .map_err(|r| refuse(FILE, line, r))?;
                drop(config);
                pr_info!("added group {}\n", name);
            }
            mgmt::ScsiTgtCmd::DelGroup { name } => {
                let _suspended = suspend(&core, FILE, line)?;
                let group = core
                    .config
                    .lock()
                    .del_group(name.as_bytes())
                    .map_err(|r| refuse(FILE, line, r))?;
                // The lock is released: now the group's files may go.
                drop(group);
                pr_info!("deleted group {}\n", name);
            }
            mgmt::ScsiTgtCmd::RenameGroup { old, new } => {
                let mut config = core.config.lock();
                if config.group_index(new.as_bytes()).is_some() {
                    return Err(refuse(FILE, line, (EINVAL, "the new name exists")));
                }
                let i = config
                    .group_index(old.as_bytes())
                    .ok_or_else(|| refuse(FILE, line, (EINVAL, "no such group")))?;
                let g = &mut config.groups[i];
                let dir = core
                    .dirs
                    .group_dir(new, g.id)
                    .map_err(|e| refuse(FILE, line, (e, "cannot create the directory")))?;
                let mut name = KVec::new();
                name.extend_from_slice(new.as_bytes(), GFP_KERNEL)?;
                g.name = name;
                let old_dir = g.dir.replace(dir);
                drop(config);
                drop(old_dir);
                pr_info!("renamed group {} to {}\n", old, new);
            }
            mgmt::ScsiTgtCmd::Assign { hctl, handler } => {
                // Held while the handler attaches the device, so that its
                // module cannot unregister (and go) meanwhile. The handler
                // takes the configuration mutex, never the other way round.
                let handlers = core.handlers.lock();
                let h = handlers
                    .iter()
                    .find(|e| e.name.to_bytes() == handler.as_bytes())
                    .map(|e| e.handler.clone())
                    .ok_or_else(|| refuse(FILE, line, (EINVAL, "no such device handler")))?;
                if !h.pass_through() {
                    return Err(refuse(
                        FILE,
                        line,
                        (EINVAL, "the handler is not a pass-through handler"),
                    ));
                }
                h.assign(hctl)?;
                drop(handlers);
                pr_info!(
                    "assigned {}:{}:{}:{} to {}\n",
                    hctl.host,
                    hctl.channel,
                    hctl.id,
                    hctl.lun,
                    handler
                );
            }
        }
        Ok(())
    }
}

/// `/proc/scsi_tgt/sessions`.
struct Sessions;

impl procfs::Handler for Sessions {
    fn show(&self, m: &SeqFile) -> Result {
        seq_print!(
            m,
            "{:<20} {:<45} {:<20} {:<15}\n",
            "Target name",
            "Initiator name",
            "Group name",
            "Command Count"
        );
        let core = Core::get()?;
        let config = core.config.lock();
        for s in config.sessions.iter() {
            let gid = s.state.lock().group;
            let group = config
                .groups
                .iter()
                .find(|g| g.id == gid)
                .map_or("?", |g| core::str::from_utf8(&g.name).unwrap_or("?"));
            seq_print!(
                m,
                "{:<20} {:<45} {:<20} {:<15}\n",
                s.target.to_str()?,
                s.initiator.to_str()?,
                group,
                s.cmd_count.load(Relaxed)
            );
        }
        Ok(())
    }
}

/// `/proc/scsi_tgt/threads`: the number of command threads.
struct Threads;

impl procfs::Handler for Threads {
    fn show(&self, m: &SeqFile) -> Result {
        let core = Core::get()?;
        seq_print!(m, "{}\n", core.pool.count());
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        const FILE: &str = "threads";
        let n = mgmt::parse_threads(line).map_err(|e| parse_error(FILE, line, e))?;
        const MAX: u32 = 256;
        if n > MAX {
            return Err(refuse(FILE, line, (EINVAL, "at most 256 command threads")));
        }
        let core = Core::get()?;
        core.pool.resize(n as usize)?;
        pr_info!("{} command threads\n", n);
        Ok(())
    }
}

/// `/proc/scsi_tgt/sgv`: command buffer memory (SCST shows its buffer
/// pools here; scst-rs allocates per command and shows what commands hold
/// against `scst_max_cmd_mem`).
struct Sgv;

impl procfs::Handler for Sgv {
    fn show(&self, m: &SeqFile) -> Result {
        let core = Core::get()?;
        let s = core.mem.stats();
        seq_print!(m, "{:<36}{}\n", "limit (scst_max_cmd_mem, bytes)", s.limit);
        seq_print!(m, "{:<36}{}\n", "in use by commands (bytes)", s.used);
        seq_print!(m, "{:<36}{}\n", "peak (bytes)", s.peak);
        seq_print!(m, "{:<36}{}\n", "commands admitted", s.admitted);
        seq_print!(
            m,
            "{:<36}{}\n",
            "commands refused over the limit",
            s.refused
        );
        let c = core.bufs.data().stats();
        seq_print!(
            m,
            "{:<36}{}
",
            "cache limit (bytes)",
            c.cap
        );
        seq_print!(
            m,
            "{:<36}{}
",
            "cache idle buffers",
            c.buffers
        );
        seq_print!(
            m,
            "{:<36}{}
",
            "cache idle bytes",
            c.bytes
        );
        seq_print!(
            m,
            "{:<36}{}
",
            "cache hits",
            c.hits
        );
        seq_print!(
            m,
            "{:<36}{}
",
            "cache misses",
            c.misses
        );
        seq_print!(
            m,
            "{:<36}{}
",
            "cache buffers freed by the shrinker",
            c.shrunk
        );
        Ok(())
    }
}

/// Which file of a group directory.
#[derive(Clone, Copy)]
enum GroupFileKind {
    Devices,
    Names,
}

/// `groups/<G>/devices` and `groups/<G>/names`.
pub(crate) struct GroupFile {
    group: u64,
    kind: GroupFileKind,
}

impl procfs::Handler for GroupFile {
    fn show(&self, m: &SeqFile) -> Result {
        let core = Core::get()?;
        let mut config = core.config.lock();
        let g = config.group_by_id(self.group).ok_or(ENOENT)?;
        match self.kind {
            GroupFileKind::Devices => {
                seq_print!(
                    m,
                    "{:<60}{:<16}{}\n",
                    "Device (host:ch:id:lun or name)",
                    "Virtual lun",
                    "Options"
                );
                for l in g.luns.iter() {
                    seq_print!(
                        m,
                        "{:<60}{:<16}{}\n",
                        l.dev.name.to_str()?,
                        l.lun,
                        if l.read_only { "RO" } else { "" }
                    );
                }
            }
            GroupFileKind::Names => {
                for n in g.names.iter() {
                    seq_print!(m, "{}\n", core::str::from_utf8(n).map_err(|_| EINVAL)?);
                }
            }
        }
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        let core = Core::get()?;
        match self.kind {
            GroupFileKind::Devices => {
                const FILE: &str = "groups/*/devices";
                let cmd =
                    mgmt::parse_group_devices(line).map_err(|e| parse_error(FILE, line, e))?;
                let _suspended = suspend(&core, FILE, line)?;
                core.config
                    .lock()
                    .group_devices(self.group, cmd)
                    .map_err(|r| refuse(FILE, line, r))
            }
            GroupFileKind::Names => {
                const FILE: &str = "groups/*/names";
                let cmd = mgmt::parse_group_names(line).map_err(|e| parse_error(FILE, line, e))?;
                let _suspended = suspend(&core, FILE, line)?;
                core.config
                    .lock()
                    .group_names(self.group, cmd)
                    .map_err(|r| refuse(FILE, line, r))
            }
        }
    }
}

/// The default trace mask (SCST's `SCST_DEFAULT_LOG_FLAGS`: out_of_mem,
/// minor, pid, line, function, special, mgmt, mgmt_minor).
const DEFAULT_TRACE: u32 = 0x0100 | 0x0200 | 0x0008 | 0x0004 | 0x0002 | 0x1000 | 0x2000 | 0x0800;

/// The core's trace mask. Set through `/proc/scsi_tgt/trace_level`, kept
/// for compatibility with SCST scripts; scst-rs logs through `pr_*` and
/// dynamic debug, which the mask does not yet gate.
static TRACE: Atomic<u32> = Atomic::new(DEFAULT_TRACE);

/// `/proc/scsi_tgt/trace_level`.
struct TraceLevel;

impl procfs::Handler for TraceLevel {
    fn show(&self, m: &SeqFile) -> Result {
        let mut buf = [0u8; 512];
        let mut w = crate::proto::bytes::Writer::new(&mut buf);
        mgmt::write_trace_mask(TRACE.load(Relaxed), mgmt::SCSI_TGT_TRACE_TOKENS, &mut w);
        let n = w.len().min(512);
        seq_print!(m, "{}", core::str::from_utf8(&buf[..n]).unwrap_or("?\n"));
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        const FILE: &str = "trace_level";
        let cmd = mgmt::parse_core_trace_level(line).map_err(|e| parse_error(FILE, line, e))?;
        if let mgmt::TraceLevelCmd::DumpPrs { device } = cmd {
            let core = Core::get()?;
            let config = core.config.lock();
            let dev = config
                .find_device(device.as_bytes())
                .ok_or_else(|| refuse(FILE, line, (EINVAL, "no such device")))?;
            dev.res.lock().dump(device);
            return Ok(());
        }
        let old = TRACE.load(Relaxed);
        if let Some(new) = cmd.apply(old, DEFAULT_TRACE) {
            TRACE.store(new, Relaxed);
            pr_info!(
                "Changed trace level for \"scsi_tgt\": old {:#010x}, new {:#010x}\n",
                old,
                new
            );
        }
        Ok(())
    }
}

/// `/proc/scsi_tgt/pr_dir`: where persistent reservations with APTPL are
/// kept. A change applies to devices registered afterwards.
struct PrDir;

impl procfs::Handler for PrDir {
    fn show(&self, m: &SeqFile) -> Result {
        let core = Core::get()?;
        let dir = core.pr_dir.lock();
        match dir.as_deref() {
            Some(d) => seq_print!(m, "{}\n", d.to_str().unwrap_or("?")),
            None => seq_print!(m, "none\n"),
        }
        Ok(())
    }

    fn write(&self, line: &[u8]) -> Result {
        const FILE: &str = "pr_dir";
        let new = mgmt::parse_pr_dir(line).map_err(|e| parse_error(FILE, line, e))?;
        let new = match new {
            None => None,
            Some(p) => {
                let p = core::str::from_utf8(p)
                    .map_err(|_| refuse(FILE, line, (EINVAL, "directory is not UTF-8")))?;
                // "/var/lib/scst/pr/" and "/var/lib/scst/pr" are the same.
                let p = match p.trim_end_matches('/') {
                    "" => "/",
                    t => t,
                };
                Some(CString::try_from_fmt(fmt!("{}", p))?)
            }
        };
        let core = Core::get()?;
        match new.as_deref() {
            Some(d) => pr_info!(
                "persistent reservations with APTPL are kept in {} (for devices registered from now on)\n",
                d.to_str().unwrap_or("?")
            ),
            None => pr_info!("APTPL is refused for devices registered from now on\n"),
        }
        *core.pr_dir.lock() = new;
        Ok(())
    }
}

/// The directories of `/proc/scsi_tgt` that the core keeps for its lifetime.
///
/// The files are held elsewhere ([`RootFiles`] by the module, group and
/// handler files by their owners): a [`Dir`] may be dropped anywhere, but a
/// [`File`] must never be dropped from one of its own callbacks.
pub(crate) struct Dirs {
    groups: Dir,
    root: Dir,
}

impl Dirs {
    /// Creates `/proc/scsi_tgt` and `/proc/scsi_tgt/groups`.
    pub(crate) fn new() -> Result<Self> {
        let root = Dir::new_root(c"scsi_tgt").inspect_err(|_| {
            pr_err!("cannot create /proc/scsi_tgt (does it exist already?)\n");
        })?;
        Ok(Self {
            groups: root.subdir(c"groups")?,
            root,
        })
    }

    /// Creates `/proc/scsi_tgt/groups/<name>/` with `devices` and `names`.
    pub(crate) fn group_dir(&self, name: &str, id: u64) -> Result<GroupDir> {
        let cname = CString::try_from_fmt(fmt!("{name}"))?;
        let dir = self.groups.subdir(&cname)?;
        let file = |kind| Arc::new(GroupFile { group: id, kind }, GFP_KERNEL);
        Ok(GroupDir {
            _devices: dir.file(c"devices", 0o644, file(GroupFileKind::Devices)?)?,
            _names: dir.file(c"names", 0o644, file(GroupFileKind::Names)?)?,
            _dir: dir,
        })
    }

    /// Creates `/proc/scsi_tgt/<name>/` (for a target driver).
    pub(crate) fn subdir(&self, name: &CStr) -> Result<Dir> {
        self.root.subdir(name)
    }

    /// Creates `/proc/scsi_tgt/<name>/` with a `type` file for a handler.
    pub(crate) fn handler_dir(&self, name: &CStr, h: Arc<dyn handler::Dyn>) -> Result<HandlerDir> {
        let dir = self.root.subdir(name)?;
        let type_file = dir.file(c"type", 0o444, Arc::new(handler::TypeFile(h), GFP_KERNEL)?)?;
        Ok(HandlerDir {
            _type: type_file,
            dir,
        })
    }
}

/// The files directly in `/proc/scsi_tgt`, owned by the module object so
/// that they are removed (waiting for running callbacks) before the core's
/// state is released.
pub(crate) struct RootFiles {
    _version: File<Version>,
    _help: File<Help>,
    _scsi_tgt: File<ScsiTgt>,
    _sessions: File<Sessions>,
    _threads: File<Threads>,
    _trace_level: File<TraceLevel>,
    _pr_dir: File<PrDir>,
    _sgv: File<Sgv>,
}

impl RootFiles {
    /// Creates the files in `dirs.root`.
    pub(crate) fn new(dirs: &Dirs) -> Result<Self> {
        let dir = &dirs.root;
        Ok(Self {
            _version: dir.file(c"version", 0o444, Arc::new(Version, GFP_KERNEL)?)?,
            _help: dir.file(c"help", 0o444, Arc::new(Help, GFP_KERNEL)?)?,
            _scsi_tgt: dir.file(c"scsi_tgt", 0o644, Arc::new(ScsiTgt, GFP_KERNEL)?)?,
            _sessions: dir.file(c"sessions", 0o444, Arc::new(Sessions, GFP_KERNEL)?)?,
            _threads: dir.file(c"threads", 0o644, Arc::new(Threads, GFP_KERNEL)?)?,
            _trace_level: dir.file(c"trace_level", 0o644, Arc::new(TraceLevel, GFP_KERNEL)?)?,
            _pr_dir: dir.file(c"pr_dir", 0o644, Arc::new(PrDir, GFP_KERNEL)?)?,
            _sgv: dir.file(c"sgv", 0o444, Arc::new(Sgv, GFP_KERNEL)?)?,
        })
    }
}

/// A group's directory in `/proc/scsi_tgt/groups`.
pub(crate) struct GroupDir {
    _devices: File<GroupFile>,
    _names: File<GroupFile>,
    _dir: Dir,
}

/// A handler's directory in `/proc/scsi_tgt`.
pub(crate) struct HandlerDir {
    _type: File<handler::TypeFile>,
    pub(crate) dir: Dir,
}
