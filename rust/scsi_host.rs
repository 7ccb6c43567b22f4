// SPDX-License-Identifier: GPL-2.0

//! SCSI low-level drivers: a Linux SCSI host whose commands a Rust driver
//! executes (used by `scst_local` to show exported LUNs on the local machine).
//!
//! A [`Host`] registers a `Scsi_Host` under a [`RootDevice`] and scans it.
//! Every command the midlayer queues reaches [`HostOps::queue`] as a
//! [`CmdInfo`] (CDB, LUN, direction, a copy of the data-out buffer) and an
//! owned completion handle, [`ScsiCmd`]. The driver completes the handle
//! from any thread; dropping it unanswered fails the command.
//!
//! Error handling never leaves a dangling handle. Each command carries a
//! generation-tagged state word in its per-command private area. When the
//! midlayer's error handler gives up on commands (abort, device reset, host
//! reset), the driver is told first and the commands are then *revoked*: a
//! revoked handle's completion does nothing. The request memory that holds
//! the state word lives until the host is removed, and [`Host`]'s drop waits
//! for every handle to be gone before it removes the host.
//!
//! C headers: [`include/scsi/scsi_host.h`](srctree/include/scsi/scsi_host.h),
//! [`include/scsi/scsi_cmnd.h`](srctree/include/scsi/scsi_cmnd.h)

use crate::bindings;
use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicU64,
        Ordering, //
    },
};
use kernel::{
    alloc::KVVec,
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
    sync::{
        Arc,
        CondVar,
        SpinLock, //
    },
    ThisModule,
};

/// A device under `/sys/devices/` to parent SCSI hosts of virtual drivers.
///
/// # Invariants
///
/// `dev` was returned by `__root_device_register()` and is owned by us.
pub struct RootDevice {
    dev: NonNull<bindings::device>,
}

// SAFETY: A root device may be used and unregistered from any thread.
unsafe impl Send for RootDevice {}
// SAFETY: `&RootDevice` only passes the device as a parent, which the driver
// core serialises.
unsafe impl Sync for RootDevice {}

impl RootDevice {
    /// Registers `/sys/devices/<name>`, owned by `module`.
    pub fn new(name: &CStr, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated; `module` is the calling module.
        let dev = kernel::error::from_err_ptr(unsafe {
            bindings::__root_device_register(name.as_char_ptr(), module.as_ptr())
        })?;
        // INVARIANT: `dev` is a new root device owned by us.
        Ok(Self {
            dev: NonNull::new(dev).ok_or(ENOMEM)?,
        })
    }
}

impl Drop for RootDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the registration. Hosts
        // parented here hold a reference to it, so it is freed only after
        // them.
        unsafe { bindings::root_device_unregister(self.dev.as_ptr()) };
    }
}

/// The direction of a command's data transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataDir {
    /// No data.
    None,
    /// From the initiator to the device (WRITE).
    ToDevice,
    /// From the device to the initiator (READ).
    FromDevice,
    /// Both.
    Bidirectional,
}

/// The longest CDB the midlayer hands down (`SCSI_MAX_VARLEN_CDB_SIZE`).
pub const MAX_CDB_LEN: usize = 260;

/// What a queued command asks for, copied out of the `scsi_cmnd`.
pub struct CmdInfo {
    /// The CDB bytes (`cdb_len` of them are valid).
    pub cdb: [u8; 32],
    /// The CDB length (at most 32; longer CDBs are refused by the trampoline).
    pub cdb_len: usize,
    /// The LUN the command is addressed to.
    pub lun: u64,
    /// The transfer direction.
    pub dir: DataDir,
    /// The expected transfer length in bytes.
    pub data_len: u32,
    /// A tag unique among the host's outstanding commands.
    pub tag: u32,
    /// The data-out buffer, for WRITE-direction commands.
    pub data_out: Option<KVVec<u8>>,
}

impl CmdInfo {
    /// The CDB.
    pub fn cdb(&self) -> &[u8] {
        &self.cdb[..self.cdb_len.min(self.cdb.len())]
    }
}

/// A SCSI host driver's operations.
pub trait HostOps: Send + Sync + 'static {
    /// A new command. Called in process context (the host sets
    /// `queuecommand_may_block`); may sleep, should not block for long.
    fn queue(&self, info: CmdInfo, cmd: ScsiCmd);

    /// The error handler gave up on the command `tag` to `lun`: abort it if
    /// it is still running. On return its handle is revoked.
    fn abort(&self, tag: u32, lun: u64);

    /// The error handler resets `lun` (`Some`) or the whole host (`None`).
    /// On return every handle of the LUN (or host) is revoked.
    fn reset(&self, lun: Option<u64>);

    /// A buffer of `len` zeroed bytes for a command's data-out (a driver
    /// may take it from a cache of its own).
    fn alloc_data(&self, len: usize) -> Result<KVVec<u8>> {
        Ok(KVVec::from_elem(0u8, len, GFP_KERNEL)?)
    }
}

/// Parameters of a new host.
#[derive(Clone, Copy, Debug)]
pub struct HostParams {
    /// Commands the host accepts at once.
    pub can_queue: u32,
    /// Commands per LUN at once.
    pub cmd_per_lun: u16,
    /// Largest transfer, in 512-byte sectors.
    pub max_sectors: u32,
    /// Largest LUN + 1 that is scanned.
    pub max_lun: u64,
}

// Command states, in the low 2 bits of the per-command word; the rest is a
// generation number that tells one command on a request from the next.
const ST_IDLE: u64 = 0;
const ST_OWNED: u64 = 1;
const ST_COMPLETING: u64 = 2;
const ST_REVOKED: u64 = 3;
const ST_MASK: u64 = 3;

/// Counts live [`ScsiCmd`] handles of a host, so that the host outlives them.
#[pin_data]
struct Tracker {
    #[pin]
    state: SpinLock<TrackerState>,
    #[pin]
    idle: CondVar,
}

struct TrackerState {
    handles: usize,
    dying: bool,
}

impl Tracker {
    /// Counts a new handle; fails once the host is being removed.
    fn get(&self) -> bool {
        let mut s = self.state.lock();
        if s.dying {
            return false;
        }
        s.handles += 1;
        true
    }

    fn put(&self) {
        let mut s = self.state.lock();
        s.handles -= 1;
        if s.handles == 0 {
            self.idle.notify_all();
        }
    }

    /// Refuses new handles and waits until the existing ones are gone.
    fn drain(&self) {
        let mut s = self.state.lock();
        s.dying = true;
        while s.handles != 0 {
            self.idle.wait(&mut s);
        }
    }
}

/// The per-command state word.
///
/// # Safety
///
/// `cmd` must be a command of a host created by [`Host::new`] (whose
/// `cmd_size` reserves the word), and its host must not be removed yet.
unsafe fn state_of<'a>(cmd: *mut bindings::scsi_cmnd) -> &'a AtomicU64 {
    // SAFETY: Per the contract, the private area after the command holds an
    // `AtomicU64` (8-byte aligned: it follows a pointer-aligned struct) that
    // lives as long as the host's tag set.
    unsafe { &*bindings::scst_helper_scsi_cmd_priv(cmd).cast::<AtomicU64>() }
}

/// The completion handle of one SCSI command.
///
/// # Invariants
///
/// `cmd` is a command of a live host tracked by `tracker` (which counts this
/// handle); `gen` is the generation it was queued with. While the state
/// word holds `(gen, ST_OWNED)`, the command belongs to this handle.
pub struct ScsiCmd {
    cmd: NonNull<bindings::scsi_cmnd>,
    gen: u64,
    tracker: Arc<Tracker>,
}

// SAFETY: The handle only touches the command after winning the state word,
// which serialises it against the midlayer's error handler; any thread may
// complete a command.
unsafe impl Send for ScsiCmd {}

/// How a command ended.
pub struct Completion<'a> {
    /// The SCSI status byte.
    pub status: u8,
    /// Sense data (CHECK CONDITION), copied up to 96 bytes.
    pub sense: &'a [u8],
    /// Data for the initiator (READ direction).
    pub data_in: &'a [u8],
    /// Bytes of the expected transfer that were not transferred.
    pub resid: u32,
}

impl ScsiCmd {
    /// Completes the command. Returns false if the error handler had
    /// already taken it back (then nothing is done).
    pub fn complete(self, c: Completion<'_>) -> bool {
        self.finish(bindings::scsi_host_status_DID_OK, Some(c))
    }

    /// Fails the command with a host error (`DID_ERROR`).
    pub fn fail(self) -> bool {
        self.finish(bindings::scsi_host_status_DID_ERROR, None)
    }

    fn finish(self, host_byte: u32, c: Option<Completion<'_>>) -> bool {
        let cmd = self.cmd.as_ptr();
        // SAFETY: By the type invariant the host is live (we are counted).
        let state = unsafe { state_of(cmd) };
        let owned = (self.gen << 2) | ST_OWNED;
        let completing = (self.gen << 2) | ST_COMPLETING;
        if state
            .compare_exchange(owned, completing, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Revoked by the error handler: the command is not ours anymore.
            drop(self);
            return false;
        }
        // SAFETY: We won the state word: the midlayer does not touch the
        // command until `scsi_done()`; the error handler waits for
        // `ST_COMPLETING` to end.
        unsafe {
            let status = c.as_ref().map_or(0, |c| u32::from(c.status));
            (*cmd).result = ((host_byte << 16) | status) as c_int;
            if let Some(c) = &c {
                let sense = (*cmd).sense_buffer;
                let n = c.sense.len().min(bindings::SCSI_SENSE_BUFFERSIZE as usize);
                if !sense.is_null() && n > 0 {
                    core::ptr::copy_nonoverlapping(c.sense.as_ptr(), sense, n);
                }
                if !c.data_in.is_empty() {
                    bindings::sg_copy_from_buffer(
                        bindings::scst_helper_scsi_sglist(cmd),
                        bindings::scst_helper_scsi_sg_count(cmd),
                        c.data_in.as_ptr().cast(),
                        c.data_in.len(),
                    );
                }
                bindings::scst_helper_scsi_set_resid(cmd, c.resid);
            }
        }
        // SAFETY: The command is ours and fully set up. The state word is
        // released only afterwards, so the error handler cannot hand the
        // request to a new command before this completion is delivered.
        unsafe { bindings::scsi_done(cmd) };
        // Fails harmlessly if the request already carries a new command.
        let _ = state.compare_exchange(
            completing,
            (self.gen << 2) | ST_IDLE,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        drop(self);
        true
    }
}

impl Drop for ScsiCmd {
    fn drop(&mut self) {
        let cmd = self.cmd.as_ptr();
        // SAFETY: The host is live while we are counted.
        let state = unsafe { state_of(cmd) };
        let owned = (self.gen << 2) | ST_OWNED;
        // Dropped unanswered: fail it, so the initiator never waits forever.
        if state.load(Ordering::Acquire) == owned
            && state
                .compare_exchange(
                    owned,
                    (self.gen << 2) | ST_COMPLETING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            // SAFETY: We own the command (state word won), as in `finish`.
            unsafe {
                (*cmd).result = (bindings::scsi_host_status_DID_ERROR << 16) as c_int;
                bindings::scsi_done(cmd);
            }
            let _ = state.compare_exchange(
                (self.gen << 2) | ST_COMPLETING,
                (self.gen << 2) | ST_IDLE,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        self.tracker.put();
    }
}

/// Takes a command back from its handle (error handling). Waits while a
/// completion is in progress. Returns whether the command was outstanding.
///
/// # Safety
///
/// `cmd` is a started command of a live host created by [`Host::new`].
unsafe fn revoke(cmd: *mut bindings::scsi_cmnd) -> bool {
    // SAFETY: Per the contract.
    let state = unsafe { state_of(cmd) };
    loop {
        let v = state.load(Ordering::Acquire);
        match v & ST_MASK {
            ST_OWNED => {
                let revoked = (v & !ST_MASK) | ST_REVOKED;
                if state
                    .compare_exchange(v, revoked, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return true;
                }
            }
            // A completion is copying its result: it ends soon.
            ST_COMPLETING => core::hint::spin_loop(),
            _ => return false,
        }
    }
}

/// The state shared by a host's callbacks (stored in `hostdata`).
struct Shared<T: HostOps> {
    ops: Arc<T>,
    tracker: Arc<Tracker>,
}

/// A registered SCSI host served by `T`.
///
/// # Invariants
///
/// `shost` was allocated by `scsi_host_alloc()` with `template` and added
/// with `scsi_add_host()`; its `hostdata` points to `shared`. We own one
/// reference to it.
pub struct Host<T: HostOps> {
    shost: NonNull<bindings::Scsi_Host>,
    shared: KBox<Shared<T>>,
    // The midlayer keeps a pointer to the template until the host is freed.
    template: KBox<bindings::scsi_host_template>,
}

// SAFETY: A `Scsi_Host` may be removed from any thread; `T` is `Send + Sync`.
unsafe impl<T: HostOps> Send for Host<T> {}
// SAFETY: `&Host` only reads the host number.
unsafe impl<T: HostOps> Sync for Host<T> {}

impl<T: HostOps> Host<T> {
    /// Creates, adds and scans a host named `name` under `parent`.
    pub fn new(
        module: &'static ThisModule,
        name: &'static CStr,
        parent: &RootDevice,
        params: HostParams,
        ops: Arc<T>,
    ) -> Result<Self> {
        let tracker = Arc::pin_init(
            pin_init!(Tracker {
                state <- kernel::new_spinlock!(TrackerState { handles: 0, dying: false }),
                idle <- kernel::new_condvar!(),
            }),
            GFP_KERNEL,
        )?;
        let shared = KBox::new(Shared { ops, tracker }, GFP_KERNEL)?;
        let mut t: bindings::scsi_host_template = pin_init::zeroed();
        t.module = module.as_ptr();
        t.name = name.as_char_ptr();
        t.proc_name = name.as_char_ptr();
        t.queuecommand = Some(Self::queuecommand);
        t.eh_abort_handler = Some(Self::eh_abort);
        t.eh_device_reset_handler = Some(Self::eh_device_reset);
        t.eh_host_reset_handler = Some(Self::eh_host_reset);
        t.can_queue = i32::try_from(params.can_queue).map_err(|_| EINVAL)?;
        t.this_id = -1;
        t.sg_tablesize = 256;
        t.max_sectors = params.max_sectors;
        t.cmd_per_lun = i16::try_from(params.cmd_per_lun).map_err(|_| EINVAL)?;
        t.cmd_size = core::mem::size_of::<AtomicU64>() as u32;
        t.set_queuecommand_may_block(1);
        t.set_skip_settle_delay(1);
        let template = KBox::new(t, GFP_KERNEL)?;
        let privsize = core::mem::size_of::<*const Shared<T>>() as c_int;
        // SAFETY: `template` is a valid template that outlives the host (we
        // keep it until after the host is freed).
        let shost = unsafe { bindings::scsi_host_alloc(&*template, privsize) };
        let shost = NonNull::new(shost).ok_or(ENOMEM)?;
        let sp: *const Shared<T> = &*shared;
        // SAFETY: `shost` is a new host with `privsize` bytes of hostdata;
        // nothing calls into it before it is added.
        unsafe {
            bindings::scst_helper_shost_priv(shost.as_ptr())
                .cast::<*const Shared<T>>()
                .write(sp);
            let s = shost.as_ptr();
            (*s).max_id = 1;
            (*s).max_channel = 0;
            (*s).max_lun = params.max_lun;
            (*s).max_cmd_len = 32;
        }
        // SAFETY: `shost` is allocated and not added; `parent` is a live device.
        let err =
            unsafe { bindings::scst_helper_scsi_add_host(shost.as_ptr(), parent.dev.as_ptr()) };
        if err != 0 {
            // SAFETY: The host was allocated by us and never added.
            unsafe { bindings::scsi_host_put(shost.as_ptr()) };
            return Err(Error::from_errno(err));
        }
        // INVARIANT: allocated with `template`, added, hostdata points to `shared`.
        let host = Self {
            shost,
            shared,
            template,
        };
        // SAFETY: The host is added.
        unsafe { bindings::scsi_scan_host(host.shost.as_ptr()) };
        Ok(host)
    }

    /// The host number (`hostN` in sysfs, `H` of `H:C:I:L`).
    pub fn host_no(&self) -> u32 {
        // SAFETY: By the type invariant `shost` is live.
        unsafe { (*self.shost.as_ptr()).host_no }
    }

    /// # Safety
    ///
    /// `shost` is a host created by [`Host::new`] for `T`, not yet freed.
    unsafe fn shared<'a>(shost: *mut bindings::Scsi_Host) -> &'a Shared<T> {
        // SAFETY: Per the contract, hostdata holds a pointer to the host's
        // `Shared`, which lives until the host is freed.
        unsafe { &**bindings::scst_helper_shost_priv(shost).cast::<*const Shared<T>>() }
    }

    /// # Safety
    ///
    /// Called by the midlayer with a host created for `T` and a new command.
    unsafe extern "C" fn queuecommand(
        shost: *mut bindings::Scsi_Host,
        cmd: *mut bindings::scsi_cmnd,
    ) -> bindings::scsi_qc_status {
        // SAFETY: Per the contract.
        let shared = unsafe { Self::shared(shost) };
        // SAFETY: The midlayer owns `cmd` during this call and gave it to us.
        let info = match unsafe { Self::cmd_info(cmd, &*shared.ops) } {
            Ok(info) => info,
            Err(e) if e == ENOMEM => return bindings::scsi_qc_status_SCSI_MLQUEUE_HOST_BUSY,
            Err(_) => {
                // SAFETY: As above; an unusable command is failed at once.
                unsafe {
                    (*cmd).result = (bindings::scsi_host_status_DID_ERROR << 16) as c_int;
                    bindings::scsi_done(cmd);
                }
                return 0;
            }
        };
        if !shared.tracker.get() {
            // SAFETY: As above: the host is going away.
            unsafe {
                (*cmd).result = (bindings::scsi_host_status_DID_NO_CONNECT << 16) as c_int;
                bindings::scsi_done(cmd);
            }
            return 0;
        }
        // SAFETY: The host is live (this callback runs) and `cmd` is ours.
        let state = unsafe { state_of(cmd) };
        let gen = (state.load(Ordering::Acquire) >> 2).wrapping_add(1) & (u64::MAX >> 2);
        state.store((gen << 2) | ST_OWNED, Ordering::Release);
        // INVARIANT: the tracker counted this handle; the word holds (gen, OWNED).
        let handle = ScsiCmd {
            cmd: NonNull::from(
                // SAFETY: `cmd` is non-null (the midlayer passed it).
                unsafe { &mut *cmd },
            ),
            gen,
            tracker: shared.tracker.clone(),
        };
        shared.ops.queue(info, handle);
        0
    }

    /// # Safety
    ///
    /// `cmd` is a command the midlayer is handing to us.
    unsafe fn cmd_info(cmd: *mut bindings::scsi_cmnd, ops: &T) -> Result<CmdInfo> {
        // SAFETY: Per the contract `cmd` and its device are valid.
        let (len, lun, dir, data_len, tag) = unsafe {
            let c = &*cmd;
            let dir = match c.sc_data_direction {
                bindings::dma_data_direction::DMA_TO_DEVICE => DataDir::ToDevice,
                bindings::dma_data_direction::DMA_FROM_DEVICE => DataDir::FromDevice,
                bindings::dma_data_direction::DMA_BIDIRECTIONAL => DataDir::Bidirectional,
                _ => DataDir::None,
            };
            (
                usize::from(c.cmd_len),
                (*c.device).lun,
                dir,
                bindings::scst_helper_scsi_bufflen(cmd),
                bindings::scst_helper_scsi_tag(cmd),
            )
        };
        let mut cdb = [0u8; 32];
        if len > cdb.len() {
            return Err(EINVAL);
        }
        // SAFETY: `cmnd` points to `cmd_len` valid CDB bytes.
        unsafe { core::ptr::copy_nonoverlapping((*cmd).cmnd.as_ptr(), cdb.as_mut_ptr(), len) };
        let data_out = if matches!(dir, DataDir::ToDevice | DataDir::Bidirectional) && data_len > 0
        {
            let n = data_len as usize;
            let mut buf = ops.alloc_data(n)?;
            if buf.len() != n {
                return Err(EINVAL);
            }
            // SAFETY: The scatterlist describes `data_len` bytes of the
            // command's buffer; `buf` has room for `n` bytes.
            unsafe {
                bindings::sg_copy_to_buffer(
                    bindings::scst_helper_scsi_sglist(cmd),
                    bindings::scst_helper_scsi_sg_count(cmd),
                    buf.as_mut_ptr().cast(),
                    n,
                )
            };
            Some(buf)
        } else {
            None
        };
        Ok(CmdInfo {
            cdb,
            cdb_len: len,
            lun,
            dir,
            data_len,
            tag,
            data_out,
        })
    }

    /// # Safety
    ///
    /// Called by the error handler with a timed-out command of our host.
    unsafe extern "C" fn eh_abort(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: Per the contract `cmd`, its device and host are valid.
        let (shared, tag, lun) = unsafe {
            (
                Self::shared((*(*cmd).device).host),
                bindings::scst_helper_scsi_tag(cmd),
                (*(*cmd).device).lun,
            )
        };
        shared.ops.abort(tag, lun);
        // SAFETY: As above; the host is live during error handling.
        unsafe { revoke(cmd) };
        bindings::scsi_disposition_SUCCESS as c_int
    }

    /// # Safety
    ///
    /// Called by the error handler with a command of the device to reset.
    unsafe extern "C" fn eh_device_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: Per the contract.
        let (shost, sdev, lun) =
            unsafe { ((*(*cmd).device).host, (*cmd).device, (*(*cmd).device).lun) };
        // SAFETY: `shost` is our live host.
        unsafe { Self::shared(shost) }.ops.reset(Some(lun));
        // SAFETY: `shost` is live; the callback only revokes commands of `sdev`.
        unsafe { bindings::scsi_host_busy_iter(shost, Some(revoke_if_dev), sdev.cast()) };
        bindings::scsi_disposition_SUCCESS as c_int
    }

    /// # Safety
    ///
    /// Called by the error handler with a command of the host to reset.
    unsafe extern "C" fn eh_host_reset(cmd: *mut bindings::scsi_cmnd) -> c_int {
        // SAFETY: Per the contract.
        let shost = unsafe { (*(*cmd).device).host };
        // SAFETY: `shost` is our live host.
        unsafe { Self::shared(shost) }.ops.reset(None);
        // SAFETY: `shost` is live; a null filter revokes every command.
        unsafe { bindings::scsi_host_busy_iter(shost, Some(revoke_if_dev), core::ptr::null_mut()) };
        bindings::scsi_disposition_SUCCESS as c_int
    }
}

/// `scsi_host_busy_iter` callback: revokes `cmd` if it belongs to the device
/// `data` (or to any device if `data` is null).
///
/// # Safety
///
/// Called by `scsi_host_busy_iter` on a host created by [`Host::new`].
unsafe extern "C" fn revoke_if_dev(cmd: *mut bindings::scsi_cmnd, data: *mut c_void) -> bool {
    // SAFETY: Per the contract `cmd` is a started command of a live host.
    unsafe {
        if data.is_null() || (*cmd).device.cast::<c_void>() == data {
            revoke(cmd);
        }
    }
    true
}

impl<T: HostOps> Drop for Host<T> {
    fn drop(&mut self) {
        // No new handles; wait for the driver to finish the ones it has, so
        // that none outlives the request memory freed by the removal.
        self.shared.tracker.drain();
        // SAFETY: By the type invariant the host is added and ours. After
        // removal no callback runs; `put` drops our reference (the template
        // and `shared` are freed after it, as fields, once the host no longer
        // uses them: a removed host's release does not read its template).
        unsafe {
            bindings::scsi_remove_host(self.shost.as_ptr());
            bindings::scsi_host_put(self.shost.as_ptr());
        }
        let _ = &self.template;
    }
}
