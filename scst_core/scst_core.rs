// SPDX-License-Identifier: GPL-2.0

//! scst-rs core: the Generic SCSI Target Middle Level.
//!
//! `scst_core.ko` owns the target framework's objects and its configuration
//! interface, `/proc/scsi_tgt`. Device handlers (`scst_vdisk.ko`, ...) and
//! target drivers (`iscsi_scst.ko`, `scst_local.ko`, ...) are separate
//! modules that implement this crate's traits and register with it.
//!
//! This crate is safe Rust: all FFI lives in `scst_sys` (`rust/`), and the
//! SCSI protocol logic in [`proto`] is pure, host-tested `no_std` code.

#![forbid(unsafe_code)]

use kernel::{
    prelude::*,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};
use scst_sys::global::Global;

#[path = "proto/lib.rs"]
pub mod proto;

mod activity;
mod aptpl;
mod config;
pub mod device;
pub mod disk;
pub mod handler;
mod mem;
mod proc;
mod range_lock;
mod reservation;
pub mod session;
mod threads;
mod tm;
mod xcopy;

pub use activity::Suspended;
pub use device::{
    Device,
    DeviceOps,
    DeviceRegistration, //
};
pub use handler::DevHandler;
pub use proc::parse_error;
pub use session::{
    AenSink,
    NewCmd,
    Response,
    Session,
    TargetDriver, //
};
pub use tm::TmResult;

module! {
    type: ScstCore,
    name: "scst_core",
    authors: ["scst-rs developers"],
    description: "SCSI target middle level (scst-rs)",
    license: "GPL",
    params: {
        scst_max_cmd_mem: u32 {
            default: 0,
            description: "Memory for the data of commands in flight, in MiB (0: a quarter of RAM)",
        },
        scst_threads: u32 {
            default: 0,
            description: "Number of command threads (0: one per online CPU)",
        },
    },
}

/// The version reported in `/proc/scsi_tgt/version`.
pub const VERSION: &str = "0.1.0";

/// The core's state, shared by everything registered with it.
#[pin_data]
pub struct Core {
    /// Registered device handlers.
    #[pin]
    handlers: Mutex<KVec<handler::Entry>>,
    /// Devices, groups and LUN maps (SCST's `scst_mutex`).
    #[pin]
    config: Mutex<config::Config>,
    /// The command threads.
    pool: Arc<threads::Pool>,
    /// Suspends execution around configuration changes.
    activity: Arc<activity::Activity>,
    /// Command buffer memory against `scst_max_cmd_mem`.
    mem: mem::CmdMem,
    /// The reusing cache of command data buffers.
    bufs: scst_sys::shrinker::Shrinker<mem::BufCache>,
    /// The task management thread: functions waiting for aborted commands.
    tm_pool: Arc<threads::Pool>,
    /// The management thread: asynchronous event reports.
    mgmt_pool: Arc<threads::Pool>,
    /// Where devices keep persistent reservations with APTPL
    /// (`/proc/scsi_tgt/pr_dir`; `None`: APTPL is refused).
    #[pin]
    pr_dir: Mutex<Option<CString>>,
    /// The `/proc/scsi_tgt` directories (dropped last: declared last).
    dirs: proc::Dirs,
}

/// The core instance while `scst_core.ko` is loaded.
static CORE: Global<Core> = Global::new();

impl Core {
    /// Returns the running core.
    ///
    /// Every caller is a module that depends on `scst_core.ko`, so the core
    /// is loaded; `ENODEV` covers calls during its init or exit.
    pub fn get() -> Result<Arc<Core>> {
        CORE.get().ok_or(ENODEV)
    }
}

/// Suspends command execution for a configuration change that must be
/// atomic with respect to I/O (SCST's `scst_suspend_activity()`): waits
/// until no command executes; commands arriving meanwhile wait until the
/// returned guard is dropped. Fails with `EBUSY` when commands still
/// execute after a minute, `EINTR` on a signal. Take it before any lock
/// that commands take, and never wait for commands to complete (a session
/// to close, say) while holding it: those commands wait for it.
pub fn suspend_activity() -> Result<Suspended> {
    Core::get()?.activity.suspend()
}

/// A zeroed buffer of `len` bytes for a command's data, from the core's
/// reusing buffer cache (`/proc/scsi_tgt/sgv`). Target drivers allocate
/// data-out buffers with it; the core gives them back to the cache when
/// the command ends.
pub fn alloc_buf(len: usize) -> Result<kernel::alloc::KVVec<u8>> {
    Ok(Core::get()?.bufs.data().get(len)?)
}

struct ScstCore {
    files: Option<proc::RootFiles>,
}

impl kernel::Module for ScstCore {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let limit = match module_parameters::scst_max_cmd_mem.value() {
            0 => scst_sys::mm::total_ram() / 4,
            mib => u64::from(mib) << 20,
        };
        let pool = threads::Pool::new(c"scst_cmd%u", true)?;
        let core = Arc::pin_init(
            try_pin_init!(Core {
                handlers <- kernel::new_mutex!(KVec::new(), "Core::handlers"),
                config <- kernel::new_mutex!(config::Config::new(), "Core::config"),
                activity: activity::Activity::new(pool.clone())?,
                pool,
                mem: mem::CmdMem::new(limit),
                bufs: scst_sys::shrinker::Shrinker::register(
                    c"scst_sgv",
                    // Idle buffers: at most a quarter of the command memory.
                    mem::BufCache::new(limit / 4)?,
                )?,
                tm_pool: threads::Pool::new(c"scst_tm", false)?,
                mgmt_pool: threads::Pool::new(c"scst_mgmt", false)?,
                pr_dir <- kernel::new_mutex!(
                    Some(CString::try_from_fmt(fmt!("{}", aptpl::DEFAULT_DIR))?),
                    "Core::pr_dir"
                ),
                dirs: proc::Dirs::new()?,
            }),
            GFP_KERNEL,
        )?;
        core.config
            .lock()
            .add_group(proto::acl::DEFAULT_GROUP, |id| {
                core.dirs.group_dir("Default", id)
            })
            .map_err(|(e, _)| e)?;
        let n = match module_parameters::scst_threads.value() {
            0 => threads::online_cpus(),
            n => n,
        };
        let stop = |_: &Error| {
            core.pool.stop();
            core.tm_pool.stop();
            core.mgmt_pool.stop();
        };
        core.pool.resize(n as usize).inspect_err(stop)?;
        core.tm_pool.resize(1).inspect_err(stop)?;
        core.mgmt_pool.resize(1).inspect_err(stop)?;
        let files = proc::RootFiles::new(&core.dirs).inspect_err(stop)?;
        let mib = core.mem.stats().limit >> 20;
        CORE.set(core)?;
        pr_info!(
            "scst-rs {} loaded, {} command threads, {} MiB for commands\n",
            VERSION,
            n,
            mib
        );
        Ok(ScstCore { files: Some(files) })
    }
}

impl Drop for ScstCore {
    fn drop(&mut self) {
        // Dependent modules are gone (the module refcount guarantees it).
        // Remove every file first: that waits for running callbacks, which
        // may hold references to the core. Then the core's last reference
        // is ours, and dropping it removes the directories.
        drop(self.files.take());
        if let Some(core) = CORE.take() {
            // No sessions remain (their drivers are unloaded): the threads
            // have nothing left to do.
            core.mgmt_pool.stop();
            core.tm_pool.stop();
            core.pool.stop();
            let dirs = core.config.lock().take_dirs();
            drop(dirs);
            drop(core);
        }
        pr_info!("scst-rs unloaded\n");
    }
}
