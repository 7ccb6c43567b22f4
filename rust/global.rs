// SPDX-License-Identifier: GPL-2.0

//! A global slot that holds an [`Arc`] while a module is loaded.
//!
//! Modules that call each other need a way to find the state of the module
//! they depend on. [`Global`] is a `static`-friendly slot that a module fills
//! in its init function and empties in its exit function. Readers get a new
//! reference under RCU, and [`Global::take`] waits for a grace period before
//! handing the last reference back, so a reader never sees a freed object.

use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{
        AtomicPtr,
        Ordering, //
    },
};
use kernel::{
    prelude::*,
    sync::{
        rcu,
        Arc,
        ArcBorrow, //
    },
};

/// A slot holding an optional `Arc<T>`, usable as a `static`.
///
/// # Invariants
///
/// `ptr` is null or was obtained from [`Arc::into_raw`]; the slot owns that
/// reference until [`Global::take`] unpublishes it and waits for an RCU grace
/// period.
pub struct Global<T: Send + Sync> {
    ptr: AtomicPtr<T>,
    _p: PhantomData<Arc<T>>,
}

// SAFETY: The slot only hands out `Arc<T>` clones, which are `Send + Sync`
// when `T` is.
unsafe impl<T: Send + Sync> Sync for Global<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync> Send for Global<T> {}

impl<T: Send + Sync> Global<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        // INVARIANT: `ptr` is null.
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _p: PhantomData,
        }
    }

    /// Publishes `value`; fails with `EBUSY` if the slot is already set.
    pub fn set(&self, value: Arc<T>) -> Result {
        let raw = Arc::into_raw(value).cast_mut();
        match self
            .ptr
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
        {
            // INVARIANT: `raw` comes from `Arc::into_raw`.
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: `raw` came from `Arc::into_raw` above and was not published.
                drop(unsafe { Arc::from_raw(raw) });
                Err(EBUSY)
            }
        }
    }

    /// Returns a new reference to the published value, if any.
    pub fn get(&self) -> Option<Arc<T>> {
        let _guard = rcu::read_lock();
        let p = self.ptr.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: By the type invariant `p` came from `Arc::into_raw` and its
        // reference is not dropped before a grace period after it is
        // unpublished; we are inside an RCU read-side critical section.
        let borrow = unsafe { ArcBorrow::from_raw(p) };
        Some(borrow.into())
    }

    /// Unpublishes the value and returns the slot's reference to it once no
    /// reader can still be looking at the old pointer.
    ///
    /// May sleep.
    pub fn take(&self) -> Option<Arc<T>> {
        let p = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return None;
        }
        rcu::synchronize_rcu();
        // SAFETY: By the type invariant `p` came from `Arc::into_raw`; it is
        // unpublished and every reader that saw it has left its RCU section.
        Some(unsafe { Arc::from_raw(p) })
    }
}

impl<T: Send + Sync> Default for Global<T> {
    fn default() -> Self {
        Self::new()
    }
}
