// SPDX-License-Identifier: GPL-2.0

//! Files opened by the kernel itself: the backing store of file-backed and
//! block-device-backed virtual disks (vdisk FILEIO).
//!
//! A [`KFile`] is opened by path with `filp_open()` and closed on drop. Reads
//! and writes go through `kernel_read()`/`kernel_write()` at explicit
//! offsets, so one `KFile` may be used by several threads at once.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use crate::{
    bdev,
    bindings, //
};
use core::ptr::NonNull;
use kernel::{
    error::{
        from_err_ptr,
        to_result, //
    },
    prelude::*,
};

/// How to open a [`KFile`].
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions {
    /// Open read-only (else read-write).
    pub read_only: bool,
    /// Every write reaches stable storage before it completes (`O_DSYNC`).
    pub sync: bool,
    /// Bypass the page cache (`O_DIRECT`).
    pub direct: bool,
    /// Create the file, readable and writable by its owner only, if it
    /// does not exist (`O_CREAT`, mode 0600).
    pub create: bool,
}

/// A file opened by the kernel.
///
/// # Invariants
///
/// `file` is a file opened by `filp_open()` that this object owns (holds
/// the reference that `filp_close()` releases).
pub struct KFile {
    file: NonNull<bindings::file>,
    /// Opened `O_DIRECT`: buffers must be sector aligned.
    direct: bool,
}

// SAFETY: A `struct file` may be used and closed from any thread; reads and
// writes at explicit offsets need no external locking.
unsafe impl Send for KFile {}
// SAFETY: See above: every method takes `&self` and is safe to call
// concurrently.
unsafe impl Sync for KFile {}

fn to_pos(pos: u64) -> Result<bindings::loff_t> {
    bindings::loff_t::try_from(pos).map_err(|_| EINVAL)
}

impl KFile {
    /// Opens `path` (absolute, resolved in the caller's mount namespace).
    pub fn open(path: &CStr, opts: OpenOptions) -> Result<Self> {
        let mut flags = bindings::O_LARGEFILE;
        flags |= if opts.read_only {
            bindings::O_RDONLY
        } else {
            bindings::O_RDWR
        };
        if opts.sync {
            flags |= bindings::O_DSYNC;
        }
        if opts.direct {
            flags |= bindings::O_DIRECT;
        }
        let mode = if opts.create {
            flags |= bindings::O_CREAT;
            0o600
        } else {
            0
        };
        let flags = i32::try_from(flags).map_err(|_| EINVAL)?;
        // SAFETY: `path` is a valid NUL-terminated string; `filp_open`
        // returns a new file reference or an error pointer.
        let file = from_err_ptr(unsafe { bindings::filp_open(path.as_char_ptr(), flags, mode) })?;
        let file = NonNull::new(file).ok_or(ENOENT)?;
        // INVARIANT: `file` was just opened and is owned by us.
        Ok(Self {
            file,
            direct: opts.direct,
        })
    }

    /// The size in bytes: the file size, or the device size for a block device.
    pub fn size(&self) -> u64 {
        // SAFETY: By the type invariant `file` is a live open file.
        let size = unsafe { bindings::scst_helper_file_size(self.file.as_ptr()) };
        u64::try_from(size).unwrap_or(0)
    }

    /// Whether the file is a block device node.
    pub fn is_block_device(&self) -> bool {
        // SAFETY: By the type invariant `file` is a live open file.
        unsafe { bindings::scst_helper_file_is_bdev(self.file.as_ptr()) }
    }

    /// Whether `buf` must go through an aligned bounce buffer: direct I/O
    /// from a buffer that is not sector aligned.
    fn needs_bounce(&self, buf: &[u8]) -> bool {
        self.direct && buf.as_ptr() as usize % bdev::ALIGN != 0
    }

    /// Reads into `buf` from offset `pos`; returns the number of bytes read
    /// (short only at the end of the file). With `O_DIRECT`, `pos` and the
    /// length must be multiples of the file system's block size.
    pub fn read_at(&self, buf: &mut [u8], pos: u64) -> Result<usize> {
        if self.needs_bounce(buf) {
            let mut b = bdev::aligned_buf(buf.len())?;
            let n = self.read_at_raw(&mut b, pos)?;
            buf[..n].copy_from_slice(&b[..n]);
            return Ok(n);
        }
        self.read_at_raw(buf, pos)
    }

    fn read_at_raw(&self, buf: &mut [u8], pos: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let mut off = to_pos(pos.checked_add(done as u64).ok_or(EINVAL)?)?;
            let rest = &mut buf[done..];
            // SAFETY: `file` is live; `rest` is valid for writes of its
            // length; `off` is a valid pointer to a position.
            let n = unsafe {
                bindings::kernel_read(
                    self.file.as_ptr(),
                    rest.as_mut_ptr().cast(),
                    rest.len(),
                    &mut off,
                )
            };
            match n {
                0 => break,
                n if n < 0 => return Err(Error::from_errno(n as i32)),
                n => done += n as usize,
            }
        }
        Ok(done)
    }

    /// Writes all of `buf` at offset `pos` (alignment as for
    /// [`KFile::read_at`]).
    pub fn write_at(&self, buf: &[u8], pos: u64) -> Result {
        if self.needs_bounce(buf) {
            let mut b = bdev::aligned_buf(buf.len())?;
            b.copy_from_slice(buf);
            return self.write_at_raw(&b, pos);
        }
        self.write_at_raw(buf, pos)
    }

    fn write_at_raw(&self, buf: &[u8], pos: u64) -> Result {
        let mut done = 0;
        while done < buf.len() {
            let mut off = to_pos(pos.checked_add(done as u64).ok_or(EINVAL)?)?;
            let rest = &buf[done..];
            // SAFETY: `file` is live; `rest` is valid for reads of its
            // length; `off` is a valid pointer to a position.
            let n = unsafe {
                bindings::kernel_write(
                    self.file.as_ptr(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    &mut off,
                )
            };
            match n {
                0 => return Err(ENOSPC),
                n if n < 0 => return Err(Error::from_errno(n as i32)),
                n => done += n as usize,
            }
        }
        Ok(())
    }

    /// Writes back and waits for `len` bytes from `pos` (all if `len` is 0)
    /// to reach stable storage.
    pub fn sync_range(&self, pos: u64, len: u64, data_only: bool) -> Result {
        let start = to_pos(pos)?;
        let end = if len == 0 {
            bindings::loff_t::MAX
        } else {
            to_pos(pos.checked_add(len - 1).ok_or(EINVAL)?)?
        };
        // SAFETY: `file` is live; the range is valid.
        to_result(unsafe {
            bindings::vfs_fsync_range(self.file.as_ptr(), start, end, i32::from(data_only))
        })
    }
}

impl KFile {
    /// Deallocates `len` bytes at `pos` (`FALLOC_FL_PUNCH_HOLE`): they read
    /// back as zeroes and free their space. `EOPNOTSUPP` where the file
    /// system cannot.
    pub fn punch_hole(&self, pos: u64, len: u64) -> Result {
        let mode = (bindings::FALLOC_FL_PUNCH_HOLE | bindings::FALLOC_FL_KEEP_SIZE) as i32;
        // SAFETY: `file` is live; the range is checked by the callee.
        to_result(unsafe {
            bindings::vfs_fallocate(
                self.file.as_ptr(),
                mode,
                to_pos(pos)?,
                bindings::loff_t::try_from(len).map_err(|_| EINVAL)?,
            )
        })
    }

    /// The first offset at or after `pos` that holds data (`data`) or is a
    /// hole (`!data`), with `SEEK_DATA`/`SEEK_HOLE`; `None` when there is
    /// none before the end of the file. The end of the file counts as a hole.
    pub fn seek(&self, pos: u64, data: bool) -> Result<Option<u64>> {
        let whence = if data {
            bindings::SEEK_DATA
        } else {
            bindings::SEEK_HOLE
        } as i32;
        // SAFETY: `file` is live.
        let r = unsafe { bindings::vfs_llseek(self.file.as_ptr(), to_pos(pos)?, whence) };
        if r == -bindings::loff_t::from(bindings::ENXIO) {
            return Ok(None);
        }
        if r < 0 {
            return Err(Error::from_errno(r as i32));
        }
        Ok(Some(r as u64))
    }
}

impl Drop for KFile {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own this reference; no method can
        // run concurrently with drop.
        unsafe { bindings::filp_close(self.file.as_ptr(), core::ptr::null_mut()) };
    }
}
