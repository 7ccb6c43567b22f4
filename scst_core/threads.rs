// SPDX-License-Identifier: GPL-2.0

//! The command threads: a pool of kernel threads, one per CPU by default,
//! that run queued work in arrival order.
//!
//! Target drivers hand commands to the core from their own context; the core
//! queues them here and a command thread runs each command's state machine
//! (SCST's `scst_cmd_thread`). Task management functions that must wait
//! for aborted commands do so in a pool of its own, the task management
//! thread (SCST's `scst_tm_thread`), so a driver's receiving thread never
//! blocks on them. Stopping a pool lets its threads drain the queue first,
//! so no command is ever dropped unanswered.

use kernel::{
    prelude::*,
    sync::{
        Arc,
        CondVar,
        Mutex, //
    },
};
use scst_sys::kthread::KThread;

/// A unit of work for the command threads.
pub(crate) trait Work: Send {
    /// Runs the work (in a command thread; may sleep).
    fn run(self: KBox<Self>);
}

struct Queue {
    work: KVec<KBox<dyn Work>>,
    /// Threads with an index at or above this exit (resizing, stopping).
    wanted: usize,
}

/// The command thread pool.
#[pin_data]
pub(crate) struct Pool {
    #[pin]
    queue: Mutex<Queue>,
    #[pin]
    more: CondVar,
    #[pin]
    threads: Mutex<KVec<KThread>>,
    /// The threads' name: with `%u` for the CPU when bound.
    name: &'static CStr,
    /// Whether thread `i` is bound to the `i`-th online CPU.
    bound: bool,
}

/// The number of online CPUs (at least 1).
pub(crate) fn online_cpus() -> u32 {
    (0..kernel::cpu::nr_cpu_ids())
        .filter(|&c| scst_sys::kthread::cpu_online(c))
        .count()
        .max(1) as u32
}

impl Pool {
    /// A pool without threads yet. `name` names them; `bound`: one per CPU
    /// (`name` then has `%u` for the CPU number).
    pub(crate) fn new(name: &'static CStr, bound: bool) -> Result<Arc<Self>> {
        Arc::pin_init(
            try_pin_init!(Self {
                queue <- kernel::new_mutex!(Queue { work: KVec::new(), wanted: 0 }, "scst::Pool::queue"),
                more <- kernel::new_condvar!("scst::Pool::more"),
                threads <- kernel::new_mutex!(KVec::new(), "scst::Pool::threads"),
                name,
                bound,
            }),
            GFP_KERNEL,
        )
    }

    /// Queues work for a command thread.
    pub(crate) fn submit(&self, w: KBox<dyn Work>) -> Result {
        self.try_submit(w).map_err(|_| ENOMEM)
    }

    /// Queues work for a thread; out of memory, the work comes back (for
    /// the caller to run itself, say).
    pub(crate) fn try_submit(&self, w: KBox<dyn Work>) -> Result<(), KBox<dyn Work>> {
        let mut q = self.queue.lock();
        if q.work.reserve(1, GFP_KERNEL).is_err() {
            return Err(w);
        }
        // Cannot fail: room was reserved.
        let _ = q.work.push(w, GFP_KERNEL);
        drop(q);
        self.more.notify_one();
        Ok(())
    }

    /// The number of running command threads.
    pub(crate) fn count(&self) -> usize {
        self.threads.lock().len()
    }

    /// Starts or stops threads until `n` run. Thread `i` is bound to the
    /// `i`-th online CPU (round robin), as SCST's `scsi_tgt%d` threads.
    pub(crate) fn resize(self: &Arc<Self>, n: usize) -> Result {
        let mut threads = self.threads.lock();
        if n < threads.len() {
            self.queue.lock().wanted = n;
            self.more.notify_all();
            // Dropping a `KThread` waits for it to exit.
            while threads.len() > n {
                drop(threads.pop());
            }
            return Ok(());
        }
        self.queue.lock().wanted = n;
        let cpus: KVec<u32> = {
            let mut v = KVec::new();
            for c in 0..kernel::cpu::nr_cpu_ids() {
                if scst_sys::kthread::cpu_online(c) {
                    v.push(c, GFP_KERNEL)?;
                }
            }
            v
        };
        while threads.len() < n {
            let index = threads.len();
            let cpu = if self.bound {
                cpus.get(index % cpus.len().max(1)).copied()
            } else {
                None
            };
            let pool = self.clone();
            let t = KThread::spawn(self.name, cpu, move || pool.thread_fn(index))?;
            threads.push(t, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Stops every thread after the queue is drained.
    pub(crate) fn stop(self: &Arc<Self>) {
        // Cannot fail: shrinking allocates nothing.
        let _ = self.resize(0);
    }

    fn thread_fn(&self, index: usize) {
        loop {
            let batch = {
                let mut q = self.queue.lock();
                loop {
                    if !q.work.is_empty() {
                        break core::mem::take(&mut q.work);
                    }
                    if index >= q.wanted || scst_sys::kthread::should_stop() {
                        return;
                    }
                    // Idle: an interruptible sleep, since an uninterruptible
                    // one counts as hung after 120 s (khungtaskd). Kernel
                    // threads get no signals, and the loop checks again
                    // after any wake-up.
                    let _ = self.more.wait_interruptible(&mut q);
                }
            };
            for w in batch {
                w.run();
            }
        }
    }
}
