// SPDX-License-Identifier: GPL-2.0

//! Memory shrinkers: caches that give memory back when the kernel needs it.
//!
//! C header: [`include/linux/shrinker.h`](srctree/include/linux/shrinker.h)

use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::{
        c_ulong,
        c_void, //
    },
    prelude::*,
    sync::Arc,
};

/// A cache that a [`Shrinker`] can shrink.
///
/// Both callbacks run in memory reclaim, possibly on behalf of an
/// allocation made anywhere in the kernel: they must not allocate memory
/// or wait for a lock whose holder may allocate (use `try_lock`).
pub trait ShrinkerOps: Send + Sync + 'static {
    /// How many objects could be freed now.
    fn count(&self) -> u64;

    /// Frees up to `nr` objects and returns how many it freed, or `None`
    /// if it cannot make progress now (`SHRINK_STOP`).
    fn scan(&self, nr: u64) -> Option<u64>;
}

/// A registered shrinker; unregistered on drop.
///
/// # Invariants
///
/// `ptr` came from `shrinker_alloc`, was registered with `shrinker_register`
/// and has not been freed; its `private_data` is `Arc::as_ptr(&data)`.
pub struct Shrinker<T: ShrinkerOps> {
    ptr: NonNull<bindings::shrinker>,
    data: Arc<T>,
}

// SAFETY: The shrinker is only registered and freed through this handle;
// the kernel's callbacks reach `T`, which is `Send + Sync`.
unsafe impl<T: ShrinkerOps> Send for Shrinker<T> {}
// SAFETY: `&Shrinker` gives access to nothing but `&T`.
unsafe impl<T: ShrinkerOps> Sync for Shrinker<T> {}

impl<T: ShrinkerOps> Shrinker<T> {
    /// Registers a shrinker named `name` (as shown by the shrinker debugfs)
    /// for `data`.
    pub fn register(name: &CStr, data: Arc<T>) -> Result<Self> {
        // SAFETY: The format is a valid C string with one `%s`, matched by
        // `name`, a valid C string.
        let raw = unsafe { bindings::shrinker_alloc(0, c"%s".as_char_ptr(), name.as_char_ptr()) };
        let ptr = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: `ptr` was just allocated and is not registered yet: we
        // are its only user.
        unsafe {
            let s = ptr.as_ptr();
            (*s).count_objects = Some(Self::count_objects);
            (*s).scan_objects = Some(Self::scan_objects);
            (*s).seeks = bindings::DEFAULT_SEEKS as i32;
            (*s).private_data = Arc::as_ptr(&data).cast_mut().cast::<c_void>();
            bindings::shrinker_register(s);
        }
        // INVARIANT: `ptr` is allocated and registered, with `private_data`
        // pointing at `data`.
        Ok(Self { ptr, data })
    }

    /// The shrinker's cache.
    pub fn data(&self) -> &Arc<T> {
        &self.data
    }

    /// # Safety
    ///
    /// `s` is a shrinker registered by [`Shrinker::register`] for a `T`
    /// that is still alive.
    unsafe fn ops<'a>(s: *mut bindings::shrinker) -> &'a T {
        // SAFETY: Per the contract, `private_data` points at the `T` the
        // registration keeps alive until `shrinker_free`, which waits for
        // running callbacks.
        unsafe { &*(*s).private_data.cast::<T>() }
    }

    /// # Safety
    ///
    /// Called by the kernel for a shrinker that [`Shrinker::register`]
    /// registered and that is not freed yet.
    unsafe extern "C" fn count_objects(
        s: *mut bindings::shrinker,
        _sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: The kernel calls this only for a registered shrinker,
        // which is one of ours: `Shrinker::register` set this callback.
        let ops = unsafe { Self::ops(s) };
        c_ulong::try_from(ops.count()).unwrap_or(c_ulong::MAX - 1)
    }

    /// # Safety
    ///
    /// As for `count_objects`; `sc` is a valid shrink control.
    unsafe extern "C" fn scan_objects(
        s: *mut bindings::shrinker,
        sc: *mut bindings::shrink_control,
    ) -> c_ulong {
        // SAFETY: As in `count_objects`.
        let ops = unsafe { Self::ops(s) };
        // SAFETY: The kernel passes a valid shrink control.
        let nr = unsafe { (*sc).nr_to_scan };
        match ops.scan(u64::try_from(nr).unwrap_or(u64::MAX)) {
            Some(freed) => c_ulong::try_from(freed).unwrap_or(c_ulong::MAX - 1),
            // SHRINK_STOP is `~0UL`.
            None => c_ulong::MAX,
        }
    }
}

impl<T: ShrinkerOps> Drop for Shrinker<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `ptr` is registered and not freed.
        // `shrinker_free` unregisters it and waits until no callback runs,
        // so `data` may be dropped afterwards.
        unsafe { bindings::shrinker_free(self.ptr.as_ptr()) };
    }
}
