// SPDX-License-Identifier: GPL-2.0

//! Kernel threads that run a Rust closure.
//!
//! SCST runs commands on its own threads (one per CPU by default, plus
//! management threads), so the core needs `kthread_create*()` and
//! `kthread_stop()`. A [`KThread`] owns the thread: dropping it (or calling
//! [`KThread::stop`]) asks the thread to stop and waits until it has exited,
//! so a closure never outlives the object that owns its thread.
//!
//! The closure must return when [`should_stop`] becomes true. A closure that
//! sleeps on a wait queue must also be woken by its owner before the stop
//! (see `kthread_stop()`: it wakes the thread once, which is enough only if
//! the thread rechecks [`should_stop`] after every wake-up).
//!
//! C header: [`include/linux/kthread.h`](srctree/include/linux/kthread.h)

use crate::bindings;
use core::ptr::NonNull;
use kernel::{
    ffi::{
        c_int,
        c_void, //
    },
    prelude::*,
    sync::aref::ARef,
    task::Task,
};

/// Returns whether the current kernel thread has been asked to stop.
///
/// Only meaningful on a thread started by [`KThread`]; elsewhere it is false.
pub fn should_stop() -> bool {
    // SAFETY: `kthread_should_stop()` only reads the current task's flags and
    // returns false for tasks that are not kthreads.
    unsafe { bindings::kthread_should_stop() }
}

/// A running kernel thread executing a closure.
///
/// # Invariants
///
/// `task` is a kthread created by `kthread_create_*()` and woken, whose
/// thread function is [`trampoline::<F>`] with `data` as its argument; the
/// thread has not been stopped yet. `data` was produced by leaking a `KBox`
/// and is owned by the thread function once it starts running.
pub struct KThread {
    task: ARef<Task>,
    data: NonNull<c_void>,
    // Frees `data` if the thread is stopped before its function ran.
    drop_data: unsafe fn(NonNull<c_void>),
}

// SAFETY: The owner only stops the thread, which `kthread_stop()` allows from
// any context that may sleep; the closure is `Send`.
unsafe impl Send for KThread {}
// SAFETY: `&KThread` only exposes the task, which is `Sync`.
unsafe impl Sync for KThread {}

/// # Safety
///
/// `data` must come from a leaked `KBox<F>` and not be used afterwards.
unsafe extern "C" fn trampoline<F: FnOnce() + Send + 'static>(data: *mut c_void) -> c_int {
    // SAFETY: Per the contract (kthread passes the pointer it was given),
    // `data` came from a leaked `KBox<F>` and we are its only user.
    let f = unsafe { KBox::from_raw(data.cast::<F>()) };
    KBox::into_inner(f)();
    0
}

/// # Safety
///
/// `data` must come from a leaked `KBox<F>` and not be used afterwards.
unsafe fn drop_box<F>(data: NonNull<c_void>) {
    // SAFETY: Per the contract.
    drop(unsafe { KBox::from_raw(data.as_ptr().cast::<F>()) });
}

impl KThread {
    /// Starts a thread named `name` running `f`, bound to `cpu` if given.
    ///
    /// With a CPU, `name` may contain one `%u`, replaced by the CPU number
    /// (as `kthread_create_on_cpu()` does). Without one, `name` is used as is.
    pub fn spawn<F>(name: &CStr, cpu: Option<u32>, f: F) -> Result<Self>
    where
        F: FnOnce() + Send + 'static,
    {
        let data = NonNull::from(KBox::leak(KBox::new(f, GFP_KERNEL)?)).cast::<c_void>();
        let task = match cpu {
            // SAFETY: `trampoline::<F>` matches the thread function signature
            // and takes ownership of `data`; `name` is NUL-terminated and a
            // valid format for one unsigned CPU number.
            Some(cpu) => unsafe {
                bindings::kthread_create_on_cpu(
                    Some(trampoline::<F>),
                    data.as_ptr(),
                    cpu,
                    name.as_char_ptr(),
                )
            },
            // SAFETY: As above; the format is "%s" with a NUL-terminated
            // string argument, so `name` is never interpreted as a format.
            None => unsafe {
                bindings::kthread_create_on_node(
                    Some(trampoline::<F>),
                    data.as_ptr(),
                    bindings::NUMA_NO_NODE,
                    c"%s".as_char_ptr(),
                    name.as_char_ptr(),
                )
            },
        };
        let task = match kernel::error::from_err_ptr(task).map(NonNull::new) {
            Ok(Some(task)) => task,
            res => {
                // SAFETY: The thread was not created, so `data` is still ours
                // and was made from a `KBox<F>`.
                unsafe { drop_box::<F>(data) };
                return Err(res.err().unwrap_or(ENOMEM));
            }
        };
        // SAFETY: `Task` is a transparent wrapper of `task_struct`, and a
        // freshly created kthread is a valid task.
        let task_ref = unsafe { &*task.as_ptr().cast::<Task>() };
        // Our own reference: the thread may exit (and drop the creation
        // reference) before we stop it.
        let task = ARef::from(task_ref);
        task.wake_up();
        // INVARIANT: created with `trampoline::<F>` and `data`, woken, not stopped.
        Ok(Self {
            task,
            data,
            drop_data: drop_box::<F>,
        })
    }

    /// The thread's task.
    pub fn task(&self) -> &Task {
        &self.task
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the task is a live (we hold a
        // reference) kthread that was not stopped yet; this is the only stop.
        let ret = unsafe { bindings::kthread_stop(self.task.as_ptr()) };
        // `kthread_stop()` returns -EINTR only when the thread function never
        // ran (our trampoline always returns 0): then `data` is still ours.
        if ret == EINTR.to_errno() {
            // SAFETY: The thread function never ran, so nothing else owns
            // `data`, and `drop_data` matches the type it was created with.
            unsafe { (self.drop_data)(self.data) };
        }
    }
}

/// Returns whether `cpu` is online.
pub fn cpu_online(cpu: u32) -> bool {
    // SAFETY: `cpu_online()` only tests a bit of the online mask; any
    // number is accepted (out-of-range numbers are never online).
    cpu < kernel::cpu::nr_cpu_ids() && unsafe { bindings::scst_helper_cpu_online(cpu) }
}
