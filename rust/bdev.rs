// SPDX-License-Identifier: GPL-2.0

//! Block devices opened by the kernel for direct bio I/O: the backing store
//! of vdisk BLOCKIO, which bypasses the page cache and the file layer.
//!
//! A [`BlockDev`] is opened by path with `bdev_file_open_by_path()` (shared,
//! not exclusive, as a FILEIO open of the same node would be) and closed on
//! drop. Reads and writes build bios straight from the caller's buffer and
//! wait for them, so one `BlockDev` may be used by several threads at once.
//!
//! C header: [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h)

use crate::bindings;
use core::ptr::NonNull;
use kernel::{
    error::{
        from_err_ptr,
        to_result, //
    },
    page::PAGE_SIZE,
    prelude::*,
};

/// The alignment bios get from this module: buffer addresses, lengths and
/// offsets, in bytes (one sector; every device's DMA alignment is at most
/// this unless it says otherwise, which [`BlockDev::open`] checks).
pub(crate) const ALIGN: usize = 512;

/// A zeroed buffer of `len` bytes aligned to [`ALIGN`], for I/O that must
/// bypass the page cache from a buffer that is not (kvmalloc gives sizes of
/// 512 bytes and more their natural or page alignment; `EINVAL` if not).
pub(crate) fn aligned_buf(len: usize) -> Result<KVVec<u8>> {
    let b = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
    if b.as_ptr() as usize % ALIGN != 0 {
        return Err(EINVAL);
    }
    Ok(b)
}

/// A block device opened by the kernel.
///
/// # Invariants
///
/// `file` is a block device file opened by `bdev_file_open_by_path()` that
/// this object owns (holds the reference `fput()` releases), and `bdev` is
/// its block device, live as long as `file` is.
pub struct BlockDev {
    file: NonNull<bindings::file>,
    bdev: NonNull<bindings::block_device>,
}

// SAFETY: A block device file may be used and released from any thread;
// bio submission needs no external locking.
unsafe impl Send for BlockDev {}
// SAFETY: Every method takes `&self` and is safe to call concurrently.
unsafe impl Sync for BlockDev {}

/// Whether `buf` (at `addr`, `len` bytes, device offset `pos`) can go into
/// bios as it is.
fn aligned(addr: usize, len: usize, pos: u64) -> bool {
    addr % ALIGN == 0 && len % ALIGN == 0 && pos % ALIGN as u64 == 0
}

impl BlockDev {
    /// Opens the block device node `path`, for reading only or for reading
    /// and writing.
    pub fn open(path: &CStr, read_only: bool) -> Result<Self> {
        // SAFETY: Only computes a mode value.
        let mode = unsafe { bindings::scst_helper_blk_mode(!read_only) };
        // SAFETY: `path` is a valid NUL-terminated string; a null holder
        // asks for a shared open, which takes no holder operations.
        let file = from_err_ptr(unsafe {
            bindings::bdev_file_open_by_path(
                path.as_char_ptr(),
                mode,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        })?;
        let file = NonNull::new(file).ok_or(ENODEV)?;
        // SAFETY: `file` is a live block device file.
        let bdev = unsafe { bindings::file_bdev(file.as_ptr()) };
        let Some(bdev) = NonNull::new(bdev) else {
            // SAFETY: We own the reference just taken.
            unsafe { bindings::fput(file.as_ptr()) };
            return Err(ENODEV);
        };
        // INVARIANT: `file` was just opened and is ours; `bdev` is its device.
        let this = Self { file, bdev };
        if this.logical_block_size() as usize > PAGE_SIZE {
            return Err(EINVAL);
        }
        Ok(this)
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        // SAFETY: By the type invariant `bdev` is live.
        let n = unsafe { bindings::scst_helper_bdev_nr_bytes(self.bdev.as_ptr()) };
        u64::try_from(n).unwrap_or(0)
    }

    /// The logical block size in bytes.
    pub fn logical_block_size(&self) -> u32 {
        // SAFETY: By the type invariant `bdev` is live.
        unsafe { bindings::scst_helper_bdev_logical_block_size(self.bdev.as_ptr()) }
    }

    /// Reads `buf.len()` bytes at `pos`. `pos` and the length must be
    /// multiples of 512; an unaligned buffer is read through a bounce
    /// buffer.
    pub fn read_at(&self, buf: &mut [u8], pos: u64) -> Result {
        if aligned(buf.as_ptr() as usize, buf.len(), pos) {
            // SAFETY: `buf` is valid for writes of its length for the whole
            // call, which waits for the I/O.
            return unsafe { self.rw(buf.as_mut_ptr(), buf.len(), pos, false, false) };
        }
        let mut b = self.bounce(buf.len(), pos)?;
        // SAFETY: As above, for the bounce buffer.
        unsafe { self.rw(b.as_mut_ptr(), b.len(), pos, false, false) }?;
        buf.copy_from_slice(&b);
        Ok(())
    }

    /// Writes `buf` at `pos`; with `fua`, to stable storage before it
    /// returns. Alignment as for [`BlockDev::read_at`].
    pub fn write_at(&self, buf: &[u8], pos: u64, fua: bool) -> Result {
        if aligned(buf.as_ptr() as usize, buf.len(), pos) {
            // SAFETY: `buf` is valid for reads of its length for the whole
            // call; a write only reads the buffer, so the mutable pointer is
            // never written through.
            return unsafe { self.rw(buf.as_ptr().cast_mut(), buf.len(), pos, true, fua) };
        }
        let mut b = self.bounce(buf.len(), pos)?;
        b.copy_from_slice(buf);
        // SAFETY: As above, for the bounce buffer.
        unsafe { self.rw(b.as_mut_ptr(), b.len(), pos, true, fua) }
    }

    /// An aligned buffer of `len` bytes; `EINVAL` if the request itself is
    /// not sector aligned.
    fn bounce(&self, len: usize, pos: u64) -> Result<KVVec<u8>> {
        if len % ALIGN != 0 || pos % ALIGN as u64 != 0 {
            return Err(EINVAL);
        }
        aligned_buf(len)
    }

    /// Sends `len` bytes at `addr` to (`write`) or from the device at `pos`
    /// in as many chained bios as it takes, and waits for all of them.
    ///
    /// # Safety
    ///
    /// `addr` must be valid for reads (writes if `!write`) of `len` bytes
    /// until this returns, in the kernel's linear map or in vmalloc space,
    /// and `addr`, `len` and `pos` multiples of 512.
    unsafe fn rw(&self, addr: *mut u8, len: usize, pos: u64, write: bool, fua: bool) -> Result {
        if len == 0 {
            return Ok(());
        }
        let end = pos.checked_add(len as u64).ok_or(EINVAL)?;
        if end > self.size() {
            return Err(EINVAL);
        }
        let size = i32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `addr` is a kernel address (function safety requirement).
        let vmalloc = unsafe { bindings::is_vmalloc_addr(addr.cast_const().cast()) };
        let mut opf = if write {
            bindings::req_op_REQ_OP_WRITE | 1 << bindings::req_flag_bits___REQ_SYNC
        } else {
            bindings::req_op_REQ_OP_READ
        };
        if fua {
            opf |= 1 << bindings::req_flag_bits___REQ_FUA;
        }
        if vmalloc && write {
            // SAFETY: The range is mapped (function safety requirement).
            unsafe { bindings::scst_helper_flush_kernel_vmap_range(addr.cast(), size) };
        }
        let pages = len.div_ceil(PAGE_SIZE) + 1;
        let nr = pages.min(bindings::BIO_MAX_VECS as usize) as u16;
        // SAFETY: `bdev` is live; `fs_bio_set` is the kernel's shared bio
        // set; with GFP_KERNEL the allocation waits instead of failing.
        let mut bio = unsafe {
            bindings::bio_alloc_bioset(
                self.bdev.as_ptr(),
                nr,
                opf,
                bindings::GFP_KERNEL,
                &raw mut bindings::fs_bio_set,
            )
        };
        if bio.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `bio` is a new bio that we own.
        unsafe { (*bio).bi_iter.bi_sector = pos >> 9 };
        let mut off = 0;
        while off < len {
            // SAFETY: `off < len`, so the pointer stays in the buffer.
            let p = unsafe { addr.add(off) };
            let in_page = p as usize % PAGE_SIZE;
            let n = (PAGE_SIZE - in_page).min(len - off);
            // SAFETY: `p` is a mapped kernel address of the kind tested
            // above; the page stays valid while the buffer does.
            let page = unsafe {
                if vmalloc {
                    bindings::vmalloc_to_page(p.cast_const().cast())
                } else {
                    bindings::scst_helper_virt_to_page(p.cast_const().cast())
                }
            };
            // SAFETY: `bio` is ours and not yet submitted; `page` holds `n`
            // bytes of the buffer from `in_page`.
            let added = unsafe { bindings::bio_add_page(bio, page, n as u32, in_page as u32) };
            if added as usize == n {
                off += n;
                continue;
            }
            // Full: the next bio continues where this one ends; the last
            // one completes only after every chained one did.
            // SAFETY: `bio` is ours and holds at least one page (a new bio
            // always takes one); `blk_next_bio` submits it and chains a new
            // one, which becomes ours.
            bio = unsafe {
                bindings::blk_next_bio(
                    bio,
                    self.bdev.as_ptr(),
                    u32::from(nr),
                    opf,
                    bindings::GFP_KERNEL,
                )
            };
            // SAFETY: `bio` is the new, unsubmitted bio.
            unsafe { (*bio).bi_iter.bi_sector = (pos + off as u64) >> 9 };
        }
        // SAFETY: `bio` is ours; the call waits for it and every bio
        // chained to it, then we drop our reference.
        let r = unsafe {
            let r = bindings::submit_bio_wait(bio);
            bindings::bio_put(bio);
            r
        };
        if vmalloc && !write {
            // SAFETY: The range is mapped (function safety requirement).
            unsafe { bindings::scst_helper_invalidate_kernel_vmap_range(addr.cast(), size) };
        }
        to_result(r)
    }

    /// Flushes the device's volatile write cache.
    pub fn flush(&self) -> Result {
        // SAFETY: By the type invariant `bdev` is live.
        to_result(unsafe { bindings::blkdev_issue_flush(self.bdev.as_ptr()) })
    }

    /// Makes `len` bytes at `pos` read as zeroes, deallocating them where
    /// the device can (WRITE ZEROES with unmap, or written zeroes).
    pub fn zero_out(&self, pos: u64, len: u64) -> Result {
        if pos % ALIGN as u64 != 0 || len % ALIGN as u64 != 0 {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant `bdev` is live; flags 0 allow unmap
        // and the fallback to writing zeroes.
        to_result(unsafe {
            bindings::blkdev_issue_zeroout(
                self.bdev.as_ptr(),
                pos >> 9,
                len >> 9,
                bindings::GFP_KERNEL,
                0,
            )
        })
    }
}

impl Drop for BlockDev {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own this reference; no method can
        // run concurrently with drop.
        unsafe { bindings::fput(self.file.as_ptr()) };
    }
}
