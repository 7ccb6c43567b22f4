// SPDX-License-Identifier: GPL-2.0

//! Procfs directories and files with `seq_file` reads and command writes.
//!
//! The classic SCST interface lives in `/proc/scsi_tgt`: files that print a
//! table when read and take one command per `write()`. [`Dir`] and [`File`]
//! give that model a safe, owned shape:
//!
//! - a [`Dir`] keeps its parent alive, so children are always removed before
//!   their parent (the kernel frees a whole subtree on removal);
//! - a [`File`] owns a reference to its handler; dropping it removes the entry,
//!   and `proc_remove()` waits for every running callback and closes open
//!   files before it returns, so the handler is never used after it is freed.
//!
//! C header: [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h)

use crate::bindings;
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    error::from_result,
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
    seq_file::SeqFile,
    sync::Arc,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// The largest command accepted by one `write()`, as in SCST: `PAGE_SIZE - 512`.
pub const MAX_WRITE: usize = kernel::page::PAGE_SIZE - 512;

/// The contents of a procfs file: what a read shows and what a write does.
pub trait Handler: Send + Sync + 'static {
    /// Prints the file's contents.
    fn show(&self, m: &SeqFile) -> Result;

    /// Carries out one command written to the file.
    ///
    /// `cmd` is the written bytes with one trailing newline removed; it is at
    /// most [`MAX_WRITE`] bytes. The default rejects writes.
    fn write(&self, cmd: &[u8]) -> Result {
        let _ = cmd;
        Err(EPERM)
    }
}

/// An owned procfs directory entry, removed (with anything left below it) on drop.
///
/// # Invariants
///
/// `pde` points to a live directory entry created by `proc_mkdir()` and owned
/// by this object; `parent`, if any, is the directory it was created in.
struct DirInner {
    pde: NonNull<bindings::proc_dir_entry>,
    // Keeps the parent directory alive for as long as this entry exists.
    _parent: Option<Arc<DirInner>>,
}

// SAFETY: A `proc_dir_entry` pointer may be used and removed from any thread;
// procfs does its own locking.
unsafe impl Send for DirInner {}
// SAFETY: `&DirInner` only allows creating entries below it, which procfs
// serialises internally.
unsafe impl Sync for DirInner {}

impl Drop for DirInner {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `pde` is live and owned by us. All
        // children hold a reference to `self`, so they are already removed.
        unsafe { bindings::proc_remove(self.pde.as_ptr()) };
    }
}

/// A directory under `/proc`.
#[derive(Clone)]
pub struct Dir(Arc<DirInner>);

impl Dir {
    /// Creates `/proc/<name>`.
    pub fn new_root(name: &CStr) -> Result<Self> {
        Self::mkdir(name, None)
    }

    /// Creates a subdirectory `name` of `self`.
    pub fn subdir(&self, name: &CStr) -> Result<Self> {
        Self::mkdir(name, Some(self.0.clone()))
    }

    fn mkdir(name: &CStr, parent: Option<Arc<DirInner>>) -> Result<Self> {
        let parent_ptr = parent
            .as_ref()
            .map_or(core::ptr::null_mut(), |p| p.pde.as_ptr());
        // SAFETY: `name` is a valid NUL-terminated string and `parent_ptr` is
        // null (the /proc root) or a live directory kept alive by `parent`.
        let pde = unsafe { bindings::proc_mkdir(name.as_char_ptr(), parent_ptr) };
        // `proc_mkdir` returns NULL if the name exists or memory ran out.
        let pde = NonNull::new(pde).ok_or(EEXIST)?;
        // INVARIANT: `pde` was just created by `proc_mkdir` in `parent`.
        let inner = DirInner {
            pde,
            _parent: parent,
        };
        Ok(Self(Arc::new(inner, GFP_KERNEL)?))
    }

    /// Creates a file `name` in this directory with permissions `mode`,
    /// served by `handler`.
    pub fn file<T: Handler>(&self, name: &CStr, mode: u16, handler: Arc<T>) -> Result<File<T>> {
        let data = Arc::as_ptr(&handler).cast_mut().cast::<c_void>();
        // SAFETY: `name` is NUL-terminated; the parent is live (owned by
        // `self.0`); the ops table is `'static`; `data` stays valid until the
        // entry is removed, because `File` holds `handler` until after
        // `proc_remove` returns.
        let pde = unsafe {
            bindings::proc_create_data(
                name.as_char_ptr(),
                mode,
                self.0.pde.as_ptr(),
                OpsTable::<T>::build(),
                data,
            )
        };
        let pde = NonNull::new(pde).ok_or(EEXIST)?;
        // INVARIANT: `pde` was just created with `handler` as its data.
        Ok(File {
            pde,
            handler,
            _parent: self.0.clone(),
        })
    }
}

/// A procfs file served by a [`Handler`]; removed on drop.
///
/// # Invariants
///
/// `pde` is a live entry created by `proc_create_data()` whose data pointer is
/// `Arc::as_ptr(&handler)`; it is owned by this object.
pub struct File<T: Handler> {
    pde: NonNull<bindings::proc_dir_entry>,
    handler: Arc<T>,
    _parent: Arc<DirInner>,
}

// SAFETY: See `DirInner`; the handler is `Send + Sync`.
unsafe impl<T: Handler> Send for File<T> {}
// SAFETY: See `DirInner`; the handler is `Send + Sync`.
unsafe impl<T: Handler> Sync for File<T> {}

impl<T: Handler> File<T> {
    /// The handler serving this file.
    pub fn handler(&self) -> &Arc<T> {
        &self.handler
    }
}

impl<T: Handler> Drop for File<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `pde` is live and owned by us.
        // `proc_remove` waits for running callbacks and releases open files,
        // so `handler` is unused once it returns and may then be dropped.
        unsafe { bindings::proc_remove(self.pde.as_ptr()) };
    }
}

/// The `proc_ops` table and trampolines for a handler type `T`.
struct OpsTable<T>(PhantomData<T>);

impl<T: Handler> OpsTable<T> {
    /// # Safety
    ///
    /// Called by procfs with a valid inode and file of an entry created by
    /// [`Dir::file`] for `T`.
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: `inode` belongs to a procfs entry; its data is the `T`.
        let data = unsafe { bindings::scst_helper_pde_data(inode) };
        // SAFETY: `file` is the file being opened; `show` matches the
        // `single_open` contract and `data` outlives the open file (procfs
        // closes open files before `proc_remove` returns).
        unsafe { bindings::single_open(file, Some(Self::show), data) }
    }

    /// # Safety
    ///
    /// Called by `seq_read` with the `seq_file` set up by [`Self::open`].
    unsafe extern "C" fn show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
        // SAFETY: `single_open` stored the handler pointer in `private`.
        let handler = unsafe { &*(*m).private.cast::<T>() };
        // SAFETY: `m` is valid and exclusively ours for this call.
        let seq = unsafe { SeqFile::from_raw(m) };
        from_result(|| {
            handler.show(seq)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by procfs with a valid file of an entry created for `T` and a
    /// user buffer of `count` bytes.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        _ppos: *mut bindings::loff_t,
    ) -> isize {
        if count > MAX_WRITE {
            return EOVERFLOW.to_errno() as isize;
        }
        // SAFETY: `file` is a live procfs file of an entry created for `T`.
        let inode = unsafe { bindings::scst_helper_file_inode(file) };
        // SAFETY: As in `open`, the entry's data is the handler, alive until
        // the entry is removed, which waits for this call to return.
        let handler = unsafe { &*bindings::scst_helper_pde_data(inode).cast::<T>() };
        let res = (|| -> Result<isize> {
            let mut cmd = KVec::with_capacity(count, GFP_KERNEL)?;
            UserSlice::new(UserPtr::from_ptr(buf.cast_mut().cast()), count)
                .read_all(&mut cmd, GFP_KERNEL)?;
            let mut line = &cmd[..];
            if let Some(stripped) = line.strip_suffix(b"\n") {
                line = stripped;
            }
            handler.write(line)?;
            // `count <= MAX_WRITE`, which fits in `isize`.
            Ok(count as isize)
        })();
        match res {
            Ok(n) => n,
            Err(e) => e.to_errno() as isize,
        }
    }

    const OPS: bindings::proc_ops = bindings::proc_ops {
        proc_open: Some(Self::open),
        proc_read: Some(bindings::seq_read),
        proc_write: Some(Self::write),
        proc_lseek: Some(bindings::seq_lseek),
        proc_release: Some(bindings::single_release),
        ..pin_init::zeroed()
    };

    const fn build() -> &'static bindings::proc_ops {
        &Self::OPS
    }
}
