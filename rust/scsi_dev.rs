// SPDX-License-Identifier: GPL-2.0

//! Local SCSI devices as seen through the SCSI midlayer, for pass-through
//! device handlers: look one up by host, channel, id and LUN, and send it
//! commands.
//!
//! C headers: [`include/scsi/scsi_device.h`](srctree/include/scsi/scsi_device.h),
//! [`include/scsi/scsi_host.h`](srctree/include/scsi/scsi_host.h)

use crate::bindings;
use core::ptr::{
    self,
    NonNull, //
};
use kernel::{
    ffi::c_int,
    prelude::*, //
};

/// The sense buffer size of the midlayer (`SCSI_SENSE_BUFFERSIZE`).
pub const SENSE_LEN: usize = bindings::SCSI_SENSE_BUFFERSIZE as usize;

/// A reference to a SCSI device of the midlayer (`scsi_device_get`).
///
/// # Invariants
///
/// `ptr` is a `scsi_device` on which this object holds a reference taken
/// by `scsi_device_lookup` (which also pins its host driver's module).
pub struct ScsiDevice {
    ptr: NonNull<bindings::scsi_device>,
}

// SAFETY: A referenced `scsi_device` may be used and released from any
// thread; the midlayer synchronises its own state.
unsafe impl Send for ScsiDevice {}
// SAFETY: Every method takes `&self` and calls thread-safe midlayer
// functions.
unsafe impl Sync for ScsiDevice {}

/// A command's data buffer.
pub enum Data<'a> {
    /// No data.
    None,
    /// Data from the device, into this buffer (`REQ_OP_DRV_IN`).
    In(&'a mut [u8]),
    /// Data to the device, from this buffer (`REQ_OP_DRV_OUT`).
    Out(&'a [u8]),
}

/// The result of [`ScsiDevice::execute`].
pub struct ExecResult {
    /// The midlayer's result word: status byte in bits 0..7, host byte in
    /// bits 16..23; negative for an errno before the command was sent.
    pub result: i32,
    /// The sense data the device returned (up to [`SENSE_LEN`] bytes).
    pub sense: [u8; SENSE_LEN],
    /// Bytes of the buffer not transferred.
    pub resid: u32,
}

impl ExecResult {
    /// The SCSI status byte.
    pub fn status(&self) -> u8 {
        (self.result & 0xff) as u8
    }

    /// The host byte (`DID_OK` is 0).
    pub fn host_byte(&self) -> u8 {
        ((self.result >> 16) & 0xff) as u8
    }
}

impl ScsiDevice {
    /// The device at `host:channel:id:lun`, if the midlayer has one that
    /// is not being removed.
    pub fn lookup(host: u32, channel: u32, id: u32, lun: u64) -> Result<Self> {
        // SAFETY: Looks up a host by number; the result, if any, holds a
        // reference we drop below.
        let shost = unsafe { bindings::scsi_host_lookup(host) };
        if shost.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `shost` is a referenced host.
        let sdev = unsafe { bindings::scsi_device_lookup(shost, channel, id, lun) };
        // SAFETY: Drops the reference `scsi_host_lookup` took; the device,
        // if found, holds its own reference on the host.
        unsafe { bindings::scsi_host_put(shost) };
        let ptr = NonNull::new(sdev).ok_or(ENODEV)?;
        // INVARIANT: `scsi_device_lookup` returned the device with a
        // reference.
        Ok(Self { ptr })
    }

    /// The device's peripheral device type (INQUIRY byte 0, bits 0..4).
    pub fn dev_type(&self) -> u8 {
        // SAFETY: The device is referenced; `type` is set at scan time.
        let t = unsafe { (*self.ptr.as_ptr()).type_ };
        t & 0x1f
    }

    /// Sends `cdb` to the device with `data` and waits for it (may
    /// sleep). Gives up after `timeout_ms` and retries `retries` times on
    /// the midlayer's retryable errors.
    ///
    /// The CDB length must be the one its operation code group implies
    /// (the midlayer derives it from the opcode): variable-length CDBs
    /// (7Fh) are refused with `EINVAL`.
    pub fn execute(
        &self,
        cdb: &[u8],
        data: Data<'_>,
        timeout_ms: u32,
        retries: u32,
    ) -> Result<ExecResult> {
        let want = match cdb.first().map(|op| op >> 5) {
            Some(0) => 6,
            Some(1 | 2) => 10,
            Some(4) => 16,
            Some(5) => 12,
            _ => return Err(EINVAL),
        };
        // The midlayer copies `COMMAND_SIZE(cdb[0])` bytes: give it that many.
        let mut cmd = [0u8; 16];
        let src = cdb.get(..want).ok_or(EINVAL)?;
        if let Some(dst) = cmd.get_mut(..want) {
            dst.copy_from_slice(src);
        }
        let (opf, ptr, len) = match data {
            Data::None => (bindings::req_op_REQ_OP_DRV_IN, ptr::null_mut(), 0),
            Data::In(b) => (bindings::req_op_REQ_OP_DRV_IN, b.as_mut_ptr(), b.len()),
            // The midlayer only reads a DRV_OUT buffer.
            Data::Out(b) => (
                bindings::req_op_REQ_OP_DRV_OUT,
                b.as_ptr().cast_mut(),
                b.len(),
            ),
        };
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        let mut out = ExecResult {
            result: 0,
            sense: [0; SENSE_LEN],
            resid: 0,
        };
        let mut resid: c_int = 0;
        let args = bindings::scsi_exec_args {
            sense: out.sense.as_mut_ptr(),
            sense_len: SENSE_LEN as u32,
            sshdr: ptr::null_mut(),
            req_flags: 0,
            scmd_flags: 0,
            resid: &mut resid,
            failures: ptr::null_mut(),
        };
        let timeout = kernel::time::msecs_to_jiffies(timeout_ms);
        // SAFETY: The device is referenced; `cmd` holds the CDB bytes the
        // midlayer reads; `ptr` is null with `len` 0, or valid for `len`
        // bytes (written only for `Data::In`, whose buffer is borrowed
        // mutably) for the duration of the call, which waits for the
        // command; `args` and what it points to outlive the call.
        let r = unsafe {
            bindings::scsi_execute_cmd(
                self.ptr.as_ptr(),
                cmd.as_ptr(),
                opf,
                if len == 0 {
                    ptr::null_mut()
                } else {
                    ptr.cast()
                },
                len,
                c_int::try_from(timeout).unwrap_or(c_int::MAX),
                c_int::try_from(retries).unwrap_or(0),
                &args,
            )
        };
        out.result = r;
        out.resid = u32::try_from(resid).unwrap_or(0).min(len);
        Ok(out)
    }
}

impl Drop for ScsiDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold a reference to drop.
        unsafe { bindings::scsi_device_put(self.ptr.as_ptr()) };
    }
}
